/* <sys/wait.h> for the Windows build of the tests (mingw-w64 has none): just enough for the
 * fork()-based tests to compile.  They never get this far on Windows: their pipe() or fork()
 * ends the test as skipped first (tests/windows/posix_compat.h). */
#ifndef PARKING_TESTS_WINDOWS_SYS_WAIT_H
#define PARKING_TESTS_WINDOWS_SYS_WAIT_H

#include "../../posix_compat.h"

#define WNOHANG 1
#define WIFEXITED(s) (((s)&0x7f) == 0)
#define WEXITSTATUS(s) (((s) >> 8) & 0xff)
#define WIFSIGNALED(s) (((s)&0x7f) != 0 && ((s)&0x7f) != 0x7f)
#define WTERMSIG(s) ((s)&0x7f)

#endif /* PARKING_TESTS_WINDOWS_SYS_WAIT_H */
