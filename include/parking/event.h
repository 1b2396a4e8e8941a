/** @file
 * libparking: pl_event_t, a one-word event (a notification: set once or reset, wait until set).
 *
 * sizeof(pl_event_t) == 4 and all-zero bytes are an event that is not set: static, calloc'ed
 * and memset memory need no initialisation, and there is nothing to destroy.  Abseil's
 * Notification is an event that is set once; a manual-reset event (Win32) is one that is also
 * reset.
 *
 * pl_event_set sets the event and wakes every waiter; a wait returns once the event is set.
 * Setting an event with no waiter is one atomic exchange, no system call; a wait on a set event
 * is one acquire load, inline.  A wait that finds the event not set spins briefly, then parks in
 * the parking lot under the event's address.  A woken waiter reads the event again and returns
 * only if it is set, so a late wake-up meant for an earlier event at the same address (a stack
 * frame, memory freed and reused) or for a set already reset cannot let it through: a set that
 * is reset before its woken waiter runs is missed by that waiter (for pulses, use pl_sem_t).
 *
 * Memory: the event belongs to the caller again as soon as a wait returns true: pl_event_set
 * writes the word once (the exchange that sets it) and then wakes the waiters by address only,
 * so a waiter may free the event at once (the Notification idiom: a thread waits for another's
 * result on an event on its own stack, then returns).  The caller must only make sure no other
 * call on it is in flight: with several waiters, once every one of them has returned.
 *
 * Orderings: everything the setter wrote before pl_event_set happens-before every wait (and
 * pl_event_is_set) that returns true because of that set.  None of these functions is
 * async-signal-safe.  errno is left as it was.
 *
 * Bit layout of `state` (for debuggers and tests; use the functions):
 * @verbatim
   bit 0  SET     the event is set
   bit 1  PARKED  threads are (or may be) queued on the event's address
   @endverbatim
 *
 * Race detectors: ThreadSanitizer, Helgrind and DRD see the edge from a set to the waits it ends,
 * through the hooks of parking/annotate.h.
 */
#ifndef PARKING_EVENT_H
#define PARKING_EVENT_H

#include <stdbool.h>
#include <stdint.h>

#include <parking/annotate.h>
#include <parking/export.h>
#include <parking/lot.h>

PARKING_BEGIN_DECLS

/** A one-word event; all-zero bytes (PL_EVENT_INIT) are not set.  Use the functions only. */
typedef struct pl_event {
    uint32_t state;
} pl_event_t;
/** @var pl_event_t::state
 * PL_EVENT_SET_BIT | PL_EVENT_PARKED_BIT; changed only by atomic operations. */

/** Initialiser of an event that is not set (the same as zeroed memory). */
#define PL_EVENT_INIT                                                                              \
  {                                                                                                \
    0                                                                                              \
  }
/** pl_event_t::state bit: the event is set. */
#define PL_EVENT_SET_BIT PL__CAST(uint32_t, 1)
/** pl_event_t::state bit: threads are (or may be) parked on the event's address. */
#define PL_EVENT_PARKED_BIT PL__CAST(uint32_t, 2)

/* Slow paths, out of line.  Not for direct use. */
PARKING_API bool pl_event_wait_slow(pl_event_t *e, uint64_t deadline);
PARKING_API void pl_event_wake_slow(pl_event_t *e);

/** Whether @p e is set now.
 *
 * Blocks: never.  Ordering: acquire when true (the set's writes are visible).  Misuse: none.
 * Async-signal-safe: no. */
static inline bool pl_event_is_set(const pl_event_t *e)
{
    PL__VG_RACY(&e->state, sizeof e->state);
    bool set = (__atomic_load_n(&e->state, __ATOMIC_ACQUIRE) & PL_EVENT_SET_BIT) != 0;
    if (set)
        PL__ANN_ACQUIRE(e);
    return set;
}

/** Sets @p e and wakes every thread waiting on it.  Setting a set event changes nothing.
 *
 * Blocks: never (apart from the parking lot's bucket lock when there are waiters).  Ordering:
 * release.  Misuse: none.  Async-signal-safe: no. */
static inline void pl_event_set(pl_event_t *e)
{
    PL__VG_RACY(&e->state, sizeof e->state);
    PL__ANN_RELEASE(e);
    /* The exchange is the set's only write: the wake-up that follows is by address. */
    uint32_t prev = __atomic_exchange_n(&e->state, PL_EVENT_SET_BIT, __ATOMIC_RELEASE);
    if (PARKING_UNLIKELY(prev & PL_EVENT_PARKED_BIT))
        pl_event_wake_slow(e);
}

/** Clears @p e: later waits block until the next pl_event_set.
 *
 * Blocks: never.  Ordering: none.  Misuse: none (resetting while another thread may free the
 * event is the caller's race).  Async-signal-safe: no.
 * @return whether it was set. */
static inline bool pl_event_reset(pl_event_t *e)
{
    PL__VG_RACY(&e->state, sizeof e->state);
    return (__atomic_fetch_and(&e->state, ~PL_EVENT_SET_BIT, __ATOMIC_RELAXED) &
            PL_EVENT_SET_BIT) != 0;
}

/** Blocks until @p e is set or the absolute @p deadline (pl_now() ns; PL_FOREVER: none) passes.
 * A deadline already past only looks.
 *
 * Blocks: until set or the deadline.  Ordering: acquire when true.  Misuse: none.
 * Async-signal-safe: no.
 * @return true if set, false once the deadline has passed. */
static inline bool pl_event_wait_until(pl_event_t *e, uint64_t deadline)
{
    if (PARKING_LIKELY(pl_event_is_set(e)))
        return true;
    bool set = pl_event_wait_slow(e, deadline);
    if (set)
        PL__ANN_ACQUIRE(e);
    return set;
}

/** Blocks until @p e is set.
 *
 * Blocks: until set.  Ordering: acquire.  Misuse: none.  Async-signal-safe: no. */
static inline void pl_event_wait(pl_event_t *e) { (void)pl_event_wait_until(e, PL_FOREVER); }

/** As pl_event_wait_until with a deadline @p timeout_ns from now (saturating).
 *
 * Blocks: up to @p timeout_ns.  Ordering: acquire when true.  Misuse: none.
 * Async-signal-safe: no.
 * @return true if set, false if the timeout expired first. */
static inline bool pl_event_wait_for(pl_event_t *e, uint64_t timeout_ns)
{
    if (PARKING_LIKELY(pl_event_is_set(e)))
        return true;
    return pl_event_wait_until(e, pl_deadline_after(timeout_ns));
}

PARKING_END_DECLS

#endif /* PARKING_EVENT_H */
