/** @file
 * libparking: the version of the headers (macros) and of the library in use (functions).
 *
 * The macros say which release the headers come from, at compile time; pl_version() and
 * pl_version_number() say which library the program runs with, which can be a later one with
 * the same major number (the SONAME is `libparking.so.<major>`).  A program that needs a feature
 * of release X.Y checks PARKING_VERSION_AT_LEAST(X, Y, 0) at compile time and, if it may run
 * with an older shared library, pl_version_number() >= PARKING_VERSION_ENCODE(X, Y, 0) at run
 * time.
 *
 * The numbers are kept equal to project(VERSION) of the top-level CMakeLists.txt: configuring
 * fails if they differ (cmake/ParkingVersion.cmake).
 */
#ifndef PARKING_VERSION_H
#define PARKING_VERSION_H

#include <parking/export.h>

PARKING_BEGIN_DECLS

/** Major version: a new one breaks the ABI and changes the SONAME (libparking.so.MAJOR). */
#define PARKING_VERSION_MAJOR 0
/** Minor version: additions. */
#define PARKING_VERSION_MINOR 2
/** Patch version: fixes. */
#define PARKING_VERSION_PATCH 0
/** "major.minor.patch". */
#define PARKING_VERSION_STRING "0.2.0"

/** One comparable number: major * 1000000 + minor * 1000 + patch (minor and patch < 1000). */
#define PARKING_VERSION_ENCODE(major, minor, patch) ((major)*1000000UL + (minor)*1000UL + (patch))
/** The headers' version as one number (PARKING_VERSION_ENCODE). */
#define PARKING_VERSION_NUMBER                                                                     \
  PARKING_VERSION_ENCODE(PARKING_VERSION_MAJOR, PARKING_VERSION_MINOR, PARKING_VERSION_PATCH)
/** Whether the headers are release major.minor.patch or later (a preprocessor expression). */
#define PARKING_VERSION_AT_LEAST(major, minor, patch)                                              \
  (PARKING_VERSION_NUMBER >= PARKING_VERSION_ENCODE(major, minor, patch))

/** pl_version: the library's version as "major.minor.patch", a static string (never NULL, never
 * freed).  Never blocks; touches no shared state, so it orders nothing; cannot be misused;
 * async-signal-safe. */
PARKING_API const char *pl_version(void);

/** pl_version_number: the library's version encoded as PARKING_VERSION_ENCODE does, to compare
 * with PARKING_VERSION_NUMBER or PARKING_VERSION_ENCODE(...).  Never blocks; orders nothing;
 * cannot be misused; async-signal-safe. */
PARKING_API unsigned long pl_version_number(void);

PARKING_END_DECLS

#endif /* PARKING_VERSION_H */
