/* libparking: symbol visibility and C/C++ linkage helpers shared by every public header. */
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
#  define PARKING_API
#endif

#ifdef __cplusplus
#  define PARKING_BEGIN_DECLS extern "C" {
#  define PARKING_END_DECLS }
#else
#  define PARKING_BEGIN_DECLS
#  define PARKING_END_DECLS
#endif

#if defined(__GNUC__) || defined(__clang__)
#  define PARKING_LIKELY(x) __builtin_expect(!!(x), 1)
#  define PARKING_UNLIKELY(x) __builtin_expect(!!(x), 0)
#  define PARKING_NOINLINE __attribute__((noinline))
#  define PARKING_NORETURN __attribute__((noreturn))
#else
#  define PARKING_LIKELY(x) (x)
#  define PARKING_UNLIKELY(x) (x)
#  define PARKING_NOINLINE
#  define PARKING_NORETURN
#endif

#endif /* PARKING_EXPORT_H */
