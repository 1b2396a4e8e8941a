/** @file
 * libparking: wait on an address, wake by address (a portable futex / WaitOnAddress).
 *
 * pl_wait sleeps while the 1-, 2-, 4- or 8-byte value at an address equals an expected value;
 * pl_wake_one / pl_wake_all wake threads waiting on that address.  Any memory works: the waiting
 * threads sit in the parking lot under the address, and the value is only read, never written.
 *
 * No lost wake-ups: the comparison is made under the parking lot's bucket lock of the address,
 * the lock pl_wake_* also take, so a thread that changes the value and then calls pl_wake_* either
 * makes the waiter see the new value or finds it queued.  (The change must be made before the
 * wake call, by the waking thread or by one whose store the waker has seen.)
 *
 * Spurious returns: like a futex, pl_wait returns 0 when it is woken, whether or not the value
 * changed (for example after a change and a change back, or a wake with no change).  Callers
 * re-check their condition in a loop.
 *
 * Cost: pl_wake_* with no waiter takes and releases one bucket lock and makes no system call.
 * pl_wait on a value that already differs is one atomic load.
 *
 * The address is a parking key shared with every other user of the parking lot: do not wait on
 * the address of a libparking lock, condition variable or once (their wakes would end the wait,
 * and pl_wake_* would take their waiters away from them).
 *
 * Orderings: a return of 0 because the value differed comes after an acquire load of it; a return
 * after a wake happens after everything the waker did before its pl_wake_* call.  None of these
 * functions is async-signal-safe.
 *
 * errno: the result is the return value; errno is left as it was (a time-out returns ETIMEDOUT
 * and does not set it).
 *
 * Race detectors: ThreadSanitizer, Helgrind and DRD understand the edge from a wake to the wait it
 * ends, through the hooks of parking/annotate.h (which says in which builds they are compiled in).
 */
#ifndef PARKING_WAIT_H
#define PARKING_WAIT_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include <parking/annotate.h>
#include <parking/export.h>
#include <parking/lot.h> /* pl_now, pl_deadline_after, PL_FOREVER for deadlines */

PARKING_BEGIN_DECLS

/** Blocks while the value of @p size bytes at @p addr equals the one at @p expected, until a
 * pl_wake_one / pl_wake_all on @p addr or the absolute @p deadline.
 *
 * Blocks: yes (not at all when the value already differs).  Ordering: a return of 0 because the
 * value differed follows an acquire load of it; a return after a wake happens after everything
 * the waker did before its pl_wake_* call.  Misuse: bad arguments return EINVAL (nothing to
 * abort for); waiting on the address of a libparking lock is undetected and breaks that lock.
 * Async-signal-safe: no.
 * @param addr the value to watch; aligned to @p size; only read, never written.
 * @param expected @p size bytes to compare with; no alignment needed.
 * @param size 1, 2, 4 or 8.
 * @param deadline absolute pl_now() ns; PL_FOREVER: none.
 * @return 0 when woken or when the value differed (then it did not block); ETIMEDOUT when the
 * deadline passed (a past deadline with an equal value returns ETIMEDOUT at once, without
 * parking); EINVAL when size is not 1, 2, 4 or 8, addr is not aligned to it, or addr or expected
 * is NULL (then it does nothing else).  errno is left unchanged. */
PARKING_API int pl_wait(const void *addr, const void *expected, size_t size, uint64_t deadline);

/** As pl_wait with a deadline @p timeout_ns from now (saturating).
 *
 * Blocks: up to @p timeout_ns.  Ordering and misuse: as pl_wait.  Async-signal-safe: no.
 * @return as pl_wait. */
PARKING_API int pl_wait_for(const void *addr, const void *expected, size_t size,
                            uint64_t timeout_ns);

/** Wakes the oldest thread waiting on @p addr, if any.  Make the change the waiter looks for
 * before calling it.
 *
 * Blocks: never (beyond the bucket lock).  Ordering: release towards the woken thread.
 * Misuse: NULL wakes nobody and returns 0.  Async-signal-safe: no.
 * @return how many were woken (0 or 1). */
PARKING_API size_t pl_wake_one(const void *addr);

/** Wakes every thread waiting on @p addr.  Make the change the waiters look for before
 * calling it.
 *
 * Blocks: never (beyond the bucket lock).  Ordering: release towards the woken threads.
 * Misuse: NULL wakes nobody and returns 0.  Async-signal-safe: no.
 * @return how many were woken. */
PARKING_API size_t pl_wake_all(const void *addr);

/* Race detectors (parking/annotate.h: ThreadSanitizer, Helgrind, DRD): the edge from a pl_wake_*
 * to the wait it ends is made inside the library, which they do not see into.  When such
 * annotations are on, the four calls become wrappers, compiled in the caller, that release the
 * address before a wake and acquire it after a wait returning 0 (woken, or the value differed:
 * the latter is more ordering than the acquire load alone gives, never less).  For Helgrind and
 * DRD, which understand no atomics, the watched word itself is marked as not to be checked: it
 * is read by the library and written by wakers concurrently, by design.  The names stay
 * functions: (pl_wait)(...) or &pl_wait reach the library's own. */
#if PL__ANN_EDGES && !defined(PARKING_BUILDING)
static inline int pl_wait__ann(const void *addr, const void *expected, size_t size,
                               uint64_t deadline)
{
    PL__VG_RACY(addr, size);
    int r = (pl_wait)(addr, expected, size, deadline);
    if (r == 0)
        PL__ANN_ACQUIRE(addr);
    return r;
}

static inline int pl_wait_for__ann(const void *addr, const void *expected, size_t size,
                                   uint64_t timeout_ns)
{
    PL__VG_RACY(addr, size);
    int r = (pl_wait_for)(addr, expected, size, timeout_ns);
    if (r == 0)
        PL__ANN_ACQUIRE(addr);
    return r;
}

static inline size_t pl_wake_one__ann(const void *addr)
{
    PL__ANN_RELEASE(addr);
    return (pl_wake_one)(addr);
}

static inline size_t pl_wake_all__ann(const void *addr)
{
    PL__ANN_RELEASE(addr);
    return (pl_wake_all)(addr);
}

#  define pl_wait(addr, expected, size, deadline) pl_wait__ann(addr, expected, size, deadline)
#  define pl_wait_for(addr, expected, size, timeout_ns)                                            \
    pl_wait_for__ann(addr, expected, size, timeout_ns)
#  define pl_wake_one(addr) pl_wake_one__ann(addr)
#  define pl_wake_all(addr) pl_wake_all__ann(addr)
#endif

PARKING_END_DECLS

#endif /* PARKING_WAIT_H */
