/* The few POSIX (and Linux) calls of tests/test_*.c that mingw-w64 lacks.  Force-included
 * (-include) into
 * every test source by tests/windows/CMakeLists.txt, so the sources stay unchanged.
 *
 * sysconf(_SC_NPROCESSORS_ONLN) answers from GetSystemInfo.  pipe(), fork() and waitpid() cannot
 * be had on Windows: a test that calls one of them is ended as skipped (ck_win_skip) at that
 * point, with a message naming the call; docs/windows.md lists those tests. */
#ifndef PARKING_TESTS_WINDOWS_POSIX_COMPAT_H
#define PARKING_TESTS_WINDOWS_POSIX_COMPAT_H

#include <sys/types.h>

#ifndef _SC_NPROCESSORS_CONF
#  define _SC_NPROCESSORS_CONF 83
#endif
#ifndef _SC_NPROCESSORS_ONLN
#  define _SC_NPROCESSORS_ONLN 84
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Number of processors for _SC_NPROCESSORS_ONLN / _CONF; -1 (EINVAL) for anything else. */
long sysconf(int name);
/* The OS thread id, as glibc's gettid(): GetCurrentThreadId(), which pl_lot_walk reports. */
pid_t gettid(void);
/* Never return: they skip the calling test. */
__attribute__((noreturn)) int pipe(int fds[2]);
__attribute__((noreturn)) pid_t fork(void);
__attribute__((noreturn)) pid_t waitpid(pid_t pid, int *status, int options);

#ifdef __cplusplus
}
#endif

#endif /* PARKING_TESTS_WINDOWS_POSIX_COMPAT_H */
