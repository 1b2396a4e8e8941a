/* See posix_compat.h. */
#ifndef WIN32_LEAN_AND_MEAN
#  define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include <errno.h>

#include "check.h"
#include "posix_compat.h"

long sysconf(int name)
{
    if (name == _SC_NPROCESSORS_ONLN || name == _SC_NPROCESSORS_CONF) {
        SYSTEM_INFO info;
        GetSystemInfo(&info);
        return info.dwNumberOfProcessors > 0 ? (long)info.dwNumberOfProcessors : 1;
    }
    errno = EINVAL;
    return -1;
}

pid_t gettid(void) { return (pid_t)GetCurrentThreadId(); }

#define NEEDS_FORK                                                                                 \
  "needs fork() (it reads the misuse message of a forked child through a pipe); the abort "        \
  "itself is covered by the SIGABRT tests, the message by test_win.exe (misuse_message)"

int pipe(int fds[2])
{
    (void)fds;
    ck_win_skip("pipe(): " NEEDS_FORK);
}

pid_t fork(void) { ck_win_skip("fork(): " NEEDS_FORK); }

pid_t waitpid(pid_t pid, int *status, int options)
{
    (void)pid, (void)status, (void)options;
    ck_win_skip("waitpid(): " NEEDS_FORK);
}
