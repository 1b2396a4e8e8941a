/* macOS word backend: __ulock_wait / __ulock_wake with UL_COMPARE_AND_WAIT.
 *
 * UNTESTED at run time: written against the documented (reverse-engineered) interface;
 * compiled and linked for macOS arm64 and x86-64 with zig cc (tools/test-macos), never run on
 * macOS.
 *
 * The __ulock calls are private to libSystem (no header), but stable: libc++'s
 * std::atomic::wait and libdispatch are built on them.  The public replacement,
 * os_sync_wait_on_address, needs macOS 14.4, so we use __ulock_wait (macOS 10.12+).  The
 * state machine lives in parker_word.c; this file only sleeps on and wakes a 32-bit word.
 *
 * Edge cases handled here:
 * - The timeout of __ulock_wait is RELATIVE microseconds in a uint32_t, and 0 means "wait
 *   forever".  A finite wait must therefore never pass 0: the remaining time is rounded UP to
 *   whole microseconds (so it is >= 1 whenever the deadline is still ahead), and anything above
 *   UINT32_MAX us (about 71.6 minutes) is clamped; the call then returns ETIMEDOUT early, we
 *   report a spurious wake-up and the caller loops with what is left.
 * - The kernel times the wait on mach absolute time, which, like pl_now() on macOS
 *   (CLOCK_UPTIME_RAW / mach_absolute_time), stops while the machine sleeps.  ETIMEDOUT is
 *   still not trusted alone: false is returned only when pl_now() >= deadline.
 * - ULF_NO_ERRNO makes the calls return -errno instead of setting errno (no TLS access).
 * - Wait results: >= 0 woken (or *word != expected; the value is the number of other waiters);
 *   -EINTR a signal (or a spurious kernel wake-up); -EFAULT the kernel could not read the word
 *   without faulting while it held its locks (the word is our own live memory, so this is
 *   transient); -ETIMEDOUT.  All but a real time-out are spurious wake-ups: the caller
 *   re-reads the word.
 * - Wake results: 0 one thread woken; -ENOENT nobody waits (normal: the sleeper may not have
 *   reached the kernel yet, in which case it sees the new word value and does not sleep, or it
 *   has already left); -EINTR retry.  For the process-private UL_COMPARE_AND_WAIT the kernel
 *   keys waiters by (task, address) and never reads the word on wake, so a wake aimed at a
 *   parker whose thread has returned (dead memory) is harmless; at worst a later waiter on a
 *   reused address gets one spurious wake-up.  Any other error is dropped rather than retried,
 *   so a dead address can never make us loop.
 * - The operation code of wait and wake must match exactly (UL_COMPARE_AND_WAIT on both).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "parker.h"
#include <parking/lot.h>

#if !defined(PARKING_PARKER_MACOS)
#  error "parker_macos.c is the PARKING_PARKER_MACOS backend"
#endif

/* libSystem, declared by hand (see bsd/sys/ulock.h in the XNU sources). */
extern int __ulock_wait(uint32_t operation, void *addr, uint64_t value, uint32_t timeout_us);
extern int __ulock_wake(uint32_t operation, void *addr, uint64_t wake_value);

#define PL_UL_COMPARE_AND_WAIT 1u   /* 32-bit word, process-private */
#define PL_ULF_NO_ERRNO 0x01000000u /* return -errno instead of setting errno */
#define PL_ULOCK_OP (PL_UL_COMPARE_AND_WAIT | PL_ULF_NO_ERRNO)

bool pl_os_wait(uint32_t *word, uint32_t expected, uint64_t deadline)
{
    uint32_t timeout_us = 0; /* 0: no time-out, only for PL_FOREVER */
    int rc;

    if (deadline != PL_FOREVER) {
        uint64_t us;
        if (!pl_parker_time_left(deadline, 1000u, UINT32_MAX, &us))
            return false;
        timeout_us = (uint32_t)us; /* >= 1: never the "forever" 0 */
    }

    rc = __ulock_wait(PL_ULOCK_OP, (void *)word, (uint64_t)expected, timeout_us);
    if (rc >= 0)
        return true; /* woken, or the word already differed */
    if (rc == -ETIMEDOUT && deadline != PL_FOREVER && pl_now() >= deadline)
        return false;
    /* -EINTR, -EFAULT, an early -ETIMEDOUT (clamped or rounded timeout): spurious. */
    return true;
}

void pl_os_wake_one(uint32_t *word)
{
    for (;;) {
        int rc = __ulock_wake(PL_ULOCK_OP, (void *)word, 0);
        if (rc == -EINTR)
            continue; /* interrupted before anyone was woken: try again */
        /* 0: woke one; -ENOENT: nobody waits (harmless, see above); anything else cannot be
         * helped by retrying on a possibly dead address. */
        return;
    }
}
