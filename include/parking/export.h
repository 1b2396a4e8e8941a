/** @file
 * libparking: symbol visibility and C/C++ linkage helpers shared by every public header.
 *
 * Define PARKING_STATIC when linking the static library on Windows (the CMake target
 * parking::parking_static and pkg-config --static do it); elsewhere nothing needs defining.
 */
#ifndef PARKING_EXPORT_H
#define PARKING_EXPORT_H

/* The shared library is built with -fvisibility=hidden; only what carries PARKING_API is
 * exported.  PARKING_BUILDING is defined while the library itself is compiled. */
#if defined(_WIN32) && !defined(PARKING_STATIC)
#  ifdef PARKING_BUILDING
#    define PARKING_API __declspec(dllexport)
#  else
#    define PARKING_API __declspec(dllimport)
#  endif
#elif defined(__GNUC__) || defined(__clang__)
#  define PARKING_API __attribute__((visibility("default")))
#else
/** Marks a function or variable exported by libparking (visibility or dllimport/dllexport). */
#  define PARKING_API
#endif

#ifdef __cplusplus
#  define PARKING_BEGIN_DECLS extern "C" {
#  define PARKING_END_DECLS }
#else
/** Opens the C linkage block of a header (extern "C" { in C++, nothing in C). */
#  define PARKING_BEGIN_DECLS
/** Closes the block opened by PARKING_BEGIN_DECLS. */
#  define PARKING_END_DECLS
#endif

#if defined(__GNUC__) || defined(__clang__)
#  define PARKING_LIKELY(x) __builtin_expect(!!(x), 1)
#  define PARKING_UNLIKELY(x) __builtin_expect(!!(x), 0)
#  define PARKING_NOINLINE __attribute__((noinline))
#  define PARKING_NORETURN __attribute__((noreturn))
#else
/** Branch hint: @p x is usually true (fast paths). */
#  define PARKING_LIKELY(x) (x)
/** Branch hint: @p x is usually false (slow paths, misuse checks). */
#  define PARKING_UNLIKELY(x) (x)
/** Keeps a function out of line. */
#  define PARKING_NOINLINE
/** Marks a function that does not return (the abort helpers). */
#  define PARKING_NORETURN
#endif

/* Casts and the null pointer in the headers' inline code and macros: ISO C's in C, C++'s in
 * C++, so that a C++ user's -Wold-style-cast and -Wzero-as-null-pointer-constant stay quiet (the
 * headers are usually found with -I, not as system headers).  Not for direct use. */
#ifdef __cplusplus
#  define PL__CAST(T, v) (static_cast<T>(v))
#  define PL__ITOP(v) (reinterpret_cast<void *>(v))
#  define PL__PTOI(p) (reinterpret_cast<uintptr_t>(p))
#  define PL__NULL nullptr
#else
/** A value conversion to type T (static_cast in C++). */
#  define PL__CAST(T, v) ((T)(v))
/** An integer to a pointer (reinterpret_cast in C++). */
#  define PL__ITOP(v) ((void *)(v))
/** A pointer to uintptr_t (reinterpret_cast in C++). */
#  define PL__PTOI(p) ((uintptr_t)(p))
/** The null pointer (nullptr in C++). */
#  define PL__NULL ((void *)0)
#endif

#endif /* PARKING_EXPORT_H */
