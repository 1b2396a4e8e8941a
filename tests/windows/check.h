/* A stand-in for Check (libcheck) <check.h> on Windows, where Debian packages no Check for
 * mingw-w64.  It implements the subset of the Check API the libparking tests use, with the same
 * names and the same meaning, so tests/test_*.c compile for Windows unchanged.  The runner is in
 * check_win.c; docs/windows.md says what runs and what is skipped.
 *
 * Check's default "fork mode" is kept: every test (every iteration of a loop test) runs in a
 * fresh child process, here the test program itself started again with CreateProcess and told
 * which test to run.  So a test still starts with an empty parking lot, a failing assertion in
 * any thread ends only that test, a test that hangs is killed at its TCase's timeout, and
 * tcase_add_test_raise_signal(..., SIGABRT) checks that the child really died of abort().
 *
 * Supported: START_TEST / END_TEST (with _i in loop tests), ck_assert, ck_assert_msg,
 * ck_abort, ck_abort_msg, ck_assert_{int,uint}_{eq,ne,lt,le,gt,ge}, ck_assert_ptr_{eq,ne},
 * ck_assert_ptr_{null,nonnull}, ck_assert_str_{eq,ne}, mark_point, suite_create,
 * suite_add_tcase, tcase_create, tcase_set_timeout, tcase_add_test, tcase_add_loop_test,
 * tcase_add_test_raise_signal, tcase_add_loop_test_raise_signal, tcase_add_exit_test,
 * srunner_create, srunner_add_suite, srunner_run_all, srunner_ntests_failed,
 * srunner_ntests_run, srunner_free, srunner_set_fork_status (CK_FORK only).
 * Environment, as with Check: CK_DEFAULT_TIMEOUT, CK_TIMEOUT_MULTIPLIER, CK_RUN_SUITE,
 * CK_RUN_CASE, CK_VERBOSITY (silent, minimal, normal, verbose; unlike Check, it applies whatever
 * mode the program passes to srunner_run_all).
 *
 * Not supported (no libparking test uses them): fixtures, tags, subunit/XML/TAP logs,
 * CK_NOFORK.  ck_win_skip() is an addition: it ends the running test as skipped (used by
 * posix_compat.h for the few tests that need fork()). */
#ifndef PARKING_TESTS_WINDOWS_CHECK_H
#define PARKING_TESTS_WINDOWS_CHECK_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#  define CK_ATTRIBUTE_UNUSED __attribute__((unused))
#  define CK_ATTRIBUTE_NORETURN __attribute__((noreturn))
/* The runner is built with mingw's C99 printf (%zu, %jd), not msvcrt's: GCC calls that format
 * gnu_printf (its plain printf means msvcrt's on Windows); clang knows only printf. */
#  if defined(__clang__)
#    define CK_ATTRIBUTE_FORMAT(a, b) __attribute__((format(printf, a, b)))
#  else
#    define CK_ATTRIBUTE_FORMAT(a, b) __attribute__((format(gnu_printf, a, b)))
#  endif
#else
#  define CK_ATTRIBUTE_UNUSED
#  define CK_ATTRIBUTE_NORETURN
#  define CK_ATTRIBUTE_FORMAT(a, b)
#endif

#define CHECK_MAJOR_VERSION 0
#define CHECK_MINOR_VERSION 15
#define CHECK_MICRO_VERSION 2

typedef struct TTest {
    const char *name;
    void (*fn)(int);
    const char *file;
    int line;
} TTest;

typedef struct Suite Suite;
typedef struct TCase TCase;
typedef struct SRunner SRunner;

enum print_output { CK_SILENT, CK_MINIMAL, CK_NORMAL, CK_VERBOSE, CK_ENV, CK_SUBUNIT, CK_LAST };
enum fork_status { CK_FORK_GETENV, CK_FORK, CK_NOFORK };

#define START_TEST(__testname)                                                                     \
  static void __testname##_fn(int _i CK_ATTRIBUTE_UNUSED);                                         \
  static const TTest __testname##_ttest = {"" #__testname, __testname##_fn, __FILE__, __LINE__};   \
  static const TTest *__testname = &__testname##_ttest;                                            \
  static void __testname##_fn(int _i CK_ATTRIBUTE_UNUSED)
#define END_TEST

Suite *suite_create(const char *name);
void suite_add_tcase(Suite *s, TCase *tc);
TCase *tcase_create(const char *name);
/* Seconds; 0 means no limit.  The default is 4 s (or CK_DEFAULT_TIMEOUT), and every value is
 * multiplied by CK_TIMEOUT_MULTIPLIER when set. */
void tcase_set_timeout(TCase *tc, double timeout);
void _tcase_add_test(TCase *tc, const TTest *ttest, int signal, int allowed_exit_value, int start,
                     int end);

#define tcase_add_test(tc, tf) tcase_add_test_raise_signal(tc, tf, 0)
#define tcase_add_test_raise_signal(tc, ttest, signal)                                             \
  _tcase_add_test((tc), (ttest), (signal), 0, 0, 1)
#define tcase_add_exit_test(tc, ttest, e) _tcase_add_test((tc), (ttest), 0, (e), 0, 1)
#define tcase_add_loop_test(tc, ttest, s, e) _tcase_add_test((tc), (ttest), 0, 0, (s), (e))
#define tcase_add_loop_test_raise_signal(tc, ttest, signal, s, e)                                  \
  _tcase_add_test((tc), (ttest), (signal), 0, (s), (e))

SRunner *srunner_create(Suite *s);
void srunner_add_suite(SRunner *sr, Suite *s);
void srunner_set_fork_status(SRunner *sr, enum fork_status fstat);
void srunner_run_all(SRunner *sr, enum print_output print_mode);
int srunner_ntests_failed(SRunner *sr);
int srunner_ntests_run(SRunner *sr);
void srunner_free(SRunner *sr);

/* Not in Check: the runner's counts by kind (srunner_ntests_failed is failures + errors). */
void ck_win_counts(SRunner *sr, int *failures, int *errors, int *skipped);

/* Called by the assertion macros. */
void _mark_point(const char *file, int line);
CK_ATTRIBUTE_NORETURN void _ck_assert_failed(const char *file, int line, const char *expr,
                                             const char *msg, ...) CK_ATTRIBUTE_FORMAT(4, 5);
/* Ends the running test as skipped (not failed), printing why. */
CK_ATTRIBUTE_NORETURN void ck_win_skip(const char *why);

#define mark_point() _mark_point(__FILE__, __LINE__)

#define ck_assert(expr) ck_assert_msg(expr, NULL)
#define ck_assert_msg(expr, ...)                                                                   \
  ((expr) ? _mark_point(__FILE__, __LINE__)                                                        \
          : _ck_assert_failed(__FILE__, __LINE__, "Assertion '" #expr "' failed", ##__VA_ARGS__))
#define ck_abort() ck_abort_msg(NULL)
#define ck_abort_msg(...) _ck_assert_failed(__FILE__, __LINE__, "Failed", ##__VA_ARGS__)

#define _ck_assert_int(X, OP, Y)                                                                   \
  do {                                                                                             \
    intmax_t _ck_x = (X);                                                                          \
    intmax_t _ck_y = (Y);                                                                          \
    ck_assert_msg(_ck_x OP _ck_y, "Assertion '%s' failed: %s == %jd, %s == %jd",                   \
                  #X " " #OP " " #Y, #X, _ck_x, #Y, _ck_y);                                        \
  } while (0)
#define ck_assert_int_eq(X, Y) _ck_assert_int(X, ==, Y)
#define ck_assert_int_ne(X, Y) _ck_assert_int(X, !=, Y)
#define ck_assert_int_lt(X, Y) _ck_assert_int(X, <, Y)
#define ck_assert_int_le(X, Y) _ck_assert_int(X, <=, Y)
#define ck_assert_int_gt(X, Y) _ck_assert_int(X, >, Y)
#define ck_assert_int_ge(X, Y) _ck_assert_int(X, >=, Y)

#define _ck_assert_uint(X, OP, Y)                                                                  \
  do {                                                                                             \
    uintmax_t _ck_x = (X);                                                                         \
    uintmax_t _ck_y = (Y);                                                                         \
    ck_assert_msg(_ck_x OP _ck_y, "Assertion '%s' failed: %s == %ju, %s == %ju",                   \
                  #X " " #OP " " #Y, #X, _ck_x, #Y, _ck_y);                                        \
  } while (0)
#define ck_assert_uint_eq(X, Y) _ck_assert_uint(X, ==, Y)
#define ck_assert_uint_ne(X, Y) _ck_assert_uint(X, !=, Y)
#define ck_assert_uint_lt(X, Y) _ck_assert_uint(X, <, Y)
#define ck_assert_uint_le(X, Y) _ck_assert_uint(X, <=, Y)
#define ck_assert_uint_gt(X, Y) _ck_assert_uint(X, >, Y)
#define ck_assert_uint_ge(X, Y) _ck_assert_uint(X, >=, Y)

#define _ck_assert_ptr(X, OP, Y)                                                                   \
  do {                                                                                             \
    const void *_ck_x = (X);                                                                       \
    const void *_ck_y = (Y);                                                                       \
    ck_assert_msg(_ck_x OP _ck_y, "Assertion '%s' failed: %s == %p, %s == %p", #X " " #OP " " #Y,  \
                  #X, _ck_x, #Y, _ck_y);                                                           \
  } while (0)
#define ck_assert_ptr_eq(X, Y) _ck_assert_ptr(X, ==, Y)
#define ck_assert_ptr_ne(X, Y) _ck_assert_ptr(X, !=, Y)
#define ck_assert_ptr_null(X) _ck_assert_ptr(X, ==, NULL)
#define ck_assert_ptr_nonnull(X) _ck_assert_ptr(X, !=, NULL)

#define _ck_assert_str(X, OP, Y)                                                                   \
  do {                                                                                             \
    const char *_ck_x = (X);                                                                       \
    const char *_ck_y = (Y);                                                                       \
    ck_assert_msg(_ck_x &&_ck_y &&strcmp(_ck_y, _ck_x) OP 0,                                       \
                  "Assertion '%s' failed: %s == \"%s\", %s == \"%s\"", #X " " #OP " " #Y, #X,      \
                  _ck_x ? _ck_x : "(null)", #Y, _ck_y ? _ck_y : "(null)");                         \
  } while (0)
#define ck_assert_str_eq(X, Y) _ck_assert_str(X, ==, Y)
#define ck_assert_str_ne(X, Y) _ck_assert_str(X, !=, Y)

#ifdef __cplusplus
}
#endif

#endif /* PARKING_TESTS_WINDOWS_CHECK_H */
