/* OpenBSD word backend: futex(2) with FUTEX_WAIT_PRIVATE / FUTEX_WAKE_PRIVATE (OpenBSD 6.2+).
 *
 * UNTESTED: written against futex(2) and <sys/futex.h>; no OpenBSD compiler or machine was
 * available when it was written.
 *
 * The state machine lives in parker_word.c; this file only sleeps on and wakes a 32-bit word.
 * The _PRIVATE operations key waiters by (process, address): cheaper than the shared key, and
 * right for a process-private parker.
 *
 * Edge cases handled here:
 * - OpenBSD's futex time-out is RELATIVE (there is no absolute variant), so it is recomputed
 *   from pl_now() on every call; the caller loops after a signal with what is left.  NULL
 *   means no time-out.  The remaining time is at least 1 ns when we get here (a zero timespec
 *   would only poll), and its seconds always fit OpenBSD's 64-bit time_t.  The kernel clamps
 *   very long sleeps itself and then reports ETIMEDOUT early, which we treat as spurious.
 * - Wait results: 0 when woken (or spuriously); -1 with errno EAGAIN when *word != expected
 *   (nothing to wait for: the caller re-reads the word), EINTR or ECANCELED when a signal
 *   interrupted the sleep (ECANCELED is what OpenBSD reports for a restartable signal), and
 *   ETIMEDOUT.  Only ETIMEDOUT confirmed by pl_now() >= deadline is a time-out; the rest are
 *   spurious wake-ups.
 * - Wake: FUTEX_WAKE_PRIVATE with count 1 returns how many threads were woken (0 when nobody
 *   waits).  With a private key the kernel does not touch the word's memory on wake, so a wake
 *   aimed at a parker whose thread has returned (dead memory) is harmless; at worst a later
 *   waiter on a reused address gets one spurious wake-up.
 */
#include <sys/types.h>
#include <sys/time.h>
#include <sys/futex.h>

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "parker.h"
#include <parking/lot.h>

#if !defined(PARKING_PARKER_OPENBSD)
#  error "parker_openbsd.c is the PARKING_PARKER_OPENBSD backend"
#endif

bool pl_os_wait(uint32_t *word, uint32_t expected, uint64_t deadline)
{
    struct timespec rel;
    const struct timespec *timeout = NULL;
    int rc;

    if (deadline != PL_FOREVER) {
        uint64_t remaining;
        if (!pl_parker_time_left(deadline, 1u, UINT64_MAX, &remaining))
            return false;
        rel.tv_sec = (time_t)(remaining / 1000000000u);
        rel.tv_nsec = (long)(remaining % 1000000000u);
        timeout = &rel;
    }

    /* futex takes the expected value as an int; the bit pattern is what gets compared. */
    rc = futex((volatile uint32_t *)word, FUTEX_WAIT_PRIVATE, (int)expected, timeout, NULL);
    if (rc == 0)
        return true;
    if (errno == ETIMEDOUT && deadline != PL_FOREVER && pl_now() >= deadline)
        return false;
    return true; /* EAGAIN, EINTR, ECANCELED, or an early time-out */
}

void pl_os_wake_one(uint32_t *word)
{
    /* Returns the number woken; errors are ignored on purpose (nothing to retry on a possibly
     * dead address). */
    (void)futex((volatile uint32_t *)word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL);
}
