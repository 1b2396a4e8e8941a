/* FreeBSD word backend: _umtx_op(UMTX_OP_WAIT_UINT_PRIVATE / UMTX_OP_WAKE_PRIVATE).
 *
 * UNTESTED: written against _umtx_op(2); no FreeBSD compiler or machine was available when it
 * was written.
 *
 * The state machine lives in parker_word.c; this file only sleeps on and wakes a 32-bit word.
 * The _PRIVATE operations key waiters by (process, address) instead of the backing VM object:
 * cheaper, and right for a process-private parker.  UMTX_OP_WAIT_UINT_PRIVATE compares a
 * 32-bit u_int (UMTX_OP_WAIT would compare a u_long, 64 bits on LP64, reading past our word).
 *
 * Edge cases handled here:
 * - Time-out: _umtx_op accepts a `struct _umtx_time` (its size passed in uaddr, the pointer in
 *   uaddr2) with UMTX_ABSTIME and a clock id.  We pass an ABSOLUTE CLOCK_MONOTONIC deadline,
 *   which is exactly the caller's `deadline`, because pl_now() is CLOCK_MONOTONIC on FreeBSD
 *   (parking/clock.c; if that ever changes, this file must convert through pl_now()).  An
 *   absolute deadline does not drift when the call is restarted after a signal.
 * - A deadline whose seconds do not fit in time_t (i386 has a 32-bit time_t) is treated as no
 *   time-out; the caller loops, and such a deadline is decades away anyway.
 * - Return values: 0 when woken, when *word != expected (the kernel returns 0 at once, not
 *   EAGAIN), or spuriously; -1 with errno ETIMEDOUT on time-out, EINTR on a signal.  Only
 *   ETIMEDOUT with pl_now() >= deadline counts as a time-out; everything else is a spurious
 *   wake-up and the caller re-reads the word.
 * - Wake: UMTX_OP_WAKE_PRIVATE with count 1.  With a private key the kernel never touches the
 *   word's memory on wake, so a wake aimed at a parker whose thread has returned (dead memory)
 *   is harmless; at worst a later waiter on a reused address gets one spurious wake-up.
 *   Waking an address nobody waits on returns 0.
 */
#include <sys/types.h>
#include <sys/umtx.h>

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "parker.h"
#include <parking/lot.h>

#if !defined(PARKING_PARKER_FREEBSD)
#  error "parker_freebsd.c is the PARKING_PARKER_FREEBSD backend"
#endif

/* The largest value of the signed integer type time_t (32 or 64 bits). */
#define PL_TIME_T_MAX ((time_t)(sizeof(time_t) >= 8 ? (uint64_t)INT64_MAX : (uint64_t)INT32_MAX))

bool pl_os_wait(uint32_t *word, uint32_t expected, uint64_t deadline)
{
    struct _umtx_time ut;
    void *size_arg = NULL; /* uaddr: sizeof the time-out structure, or 0 for none */
    void *time_arg = NULL; /* uaddr2: the time-out structure, or NULL for none */
    int rc;

    if (deadline != PL_FOREVER) {
        uint64_t sec = deadline / 1000000000u;
        if (pl_now() >= deadline)
            return false;
        if (sec <= (uint64_t)PL_TIME_T_MAX) {
            ut._timeout.tv_sec = (time_t)sec;
            ut._timeout.tv_nsec = (long)(deadline % 1000000000u);
            ut._flags = UMTX_ABSTIME;
            ut._clockid = CLOCK_MONOTONIC;
            size_arg = (void *)(uintptr_t)sizeof ut;
            time_arg = &ut;
        }
    }

    rc = _umtx_op(word, UMTX_OP_WAIT_UINT_PRIVATE, (u_long)expected, size_arg, time_arg);
    if (rc == 0)
        return true; /* woken, value already different, or spurious */
    if (errno == ETIMEDOUT && deadline != PL_FOREVER && pl_now() >= deadline)
        return false;
    return true; /* EINTR, or a time-out the caller's clock does not confirm yet */
}

void pl_os_wake_one(uint32_t *word)
{
    /* Errors are ignored on purpose: there is nothing to retry on a possibly dead address. */
    (void)_umtx_op(word, UMTX_OP_WAKE_PRIVATE, 1, NULL, NULL);
}
