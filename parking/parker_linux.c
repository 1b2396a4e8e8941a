/* Linux parker backend: a private futex on the per-thread word. */
#include "parker.h"

#include <errno.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <parking/lot.h>

/* The futex operations are kernel ABI, the same on every architecture.  <linux/futex.h> is a
 * kernel header, which a C library's own compiler need not see: musl-gcc (Debian's musl-tools)
 * and Alpine without linux-headers have none, and the build failed there. */
#if defined(__has_include)
#  if __has_include(<linux/futex.h>)
#    include <linux/futex.h>
#  endif
#endif
#ifndef FUTEX_WAKE
#  define FUTEX_WAKE 1
#endif
#ifndef FUTEX_WAIT_BITSET
#  define FUTEX_WAIT_BITSET 9
#endif
#ifndef FUTEX_PRIVATE_FLAG
#  define FUTEX_PRIVATE_FLAG 128
#endif
#ifndef FUTEX_BITSET_MATCH_ANY
#  define FUTEX_BITSET_MATCH_ANY 0xffffffff
#endif

bool pl_os_wait(uint32_t *word, uint32_t expected, uint64_t deadline)
{
    /* FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC deadline (the clock of pl_now), so
     * retries after EINTR need no recomputation and cannot drift. */
    struct timespec ts, *tsp = NULL;
    if (deadline != PL_FOREVER) {
        ts.tv_sec = (time_t)(deadline / 1000000000u);
        ts.tv_nsec = (long)(deadline % 1000000000u);
        tsp = &ts;
    }
    long r = syscall(SYS_futex, word, FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG, expected, tsp, NULL,
                     FUTEX_BITSET_MATCH_ANY);
    /* EAGAIN: the word already changed; EINTR: a signal; both make the caller re-check. */
    return !(r == -1 && errno == ETIMEDOUT);
}

void pl_os_wake_one(uint32_t *word)
{
    /* A private futex key is (mm, address): waking an address whose owner already exited
     * touches no memory and at worst wakes a later waiter spuriously, which loops. */
    (void)syscall(SYS_futex, word, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, 1, NULL, NULL, 0);
}
