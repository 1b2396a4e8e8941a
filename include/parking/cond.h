/* libparking: pl_cond_t, a one-word condition variable for pl_mutex_t.
 *
 * sizeof(pl_cond_t) == sizeof(void *) and all-zero bytes are a condition variable with no
 * waiters: static, calloc'ed and memset memory need no initialisation, and there is nothing to
 * destroy.  The word holds the mutex its current waiters use, or NULL when nobody waits; the
 * waiters themselves sit in the parking lot under the condition variable's address.
 *
 * Semantics.
 * - No spurious wake-ups from the library: a wait returns before its deadline only because a
 *   signal or broadcast chose it.  (Callers should still loop on their predicate: another thread
 *   may change it between the wake-up and the return.)
 * - No thundering herd: when the mutex is held at the time of a signal or broadcast, the chosen
 *   waiters are not woken but moved onto the mutex's own queue (requeued), so each one wakes only
 *   when a mutex unlock lets it in.  A waiter the unlock hands the mutex to directly (eventual
 *   fairness, or pl_mutex_unlock_fair) returns owning it without touching the mutex word again.
 * - Every wait returns with the mutex locked by the caller, whatever its result.
 * - One condition variable serves one mutex at a time: waiting on it with a second mutex while
 *   threads still wait with the first aborts.  Once the last waiter has left, it may be used with
 *   any mutex.
 *
 * Orderings: the waits release the mutex (release) and take it again (acquire) as pl_mutex_unlock
 * and pl_mutex_lock do; signal and broadcast add no ordering of their own, so publish the state a
 * waiter tests under the mutex.  None of these functions is async-signal-safe.
 */
#ifndef PARKING_COND_H
#define PARKING_COND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parking/export.h"
#include "parking/lot.h" /* pl_now, pl_deadline_after, PL_FOREVER for deadlines */
#include "parking/mutex.h"

PARKING_BEGIN_DECLS

typedef struct pl_cond { pl_mutex_t *mutex; } pl_cond_t;

#define PL_COND_INIT {NULL}

/* Slow paths, out of line.  Not for direct use. */
PARKING_API bool pl_cond_signal_slow(pl_cond_t *c);
PARKING_API size_t pl_cond_broadcast_slow(pl_cond_t *c);

/* pl_cond_wait: atomically unlock m and sleep on c until a signal or broadcast chooses this
 * thread; returns with m locked again.  Blocking.  Aborts (message naming pl_cond_wait and c) if
 * m is not locked, or if other threads wait on c with a different mutex.  The caller must own m;
 * waiting with a mutex some other thread holds is undetected undefined behaviour. */
PARKING_API void pl_cond_wait(pl_cond_t *c, pl_mutex_t *m);

/* pl_cond_wait_until: as pl_cond_wait, but gives up at the absolute deadline (pl_now() clock;
 * PL_FOREVER: none).  Returns true if signalled, false if the deadline passed first; either way
 * m is locked again on return (relocking after a time-out waits for m with no deadline).  A
 * deadline already past still unlocks and relocks m.  A waiter that was signalled and moved onto
 * the mutex's queue before its deadline returns true even if it then waits past the deadline. */
PARKING_API bool pl_cond_wait_until(pl_cond_t *c, pl_mutex_t *m, uint64_t deadline);

/* pl_cond_wait_for: as pl_cond_wait_until with a deadline timeout_ns from now (saturating). */
PARKING_API bool pl_cond_wait_for(pl_cond_t *c, pl_mutex_t *m, uint64_t timeout_ns);

/* pl_cond_signal: choose the oldest waiter of c, if any.  If its mutex is locked (typically by
 * the caller), the waiter is moved onto the mutex's queue; otherwise it is woken.  Returns whether
 * a thread was woken or moved.  Non-blocking apart from the parking lot's bucket locks; with no
 * waiter it is one relaxed load.  May be called with or without the mutex held; a signal that
 * races with a thread that has not yet started waiting may find nobody (hold the mutex while
 * changing the predicate to avoid that). */
static inline bool pl_cond_signal(pl_cond_t *c)
{
    /* Relaxed suffices: a waiter stores its mutex here before unlocking that mutex, and a
     * signaller that changed the predicate under the mutex took it after that unlock. */
    if (__atomic_load_n(&c->mutex, __ATOMIC_RELAXED) == NULL)
        return false;
    return pl_cond_signal_slow(c);
}

/* pl_cond_broadcast: choose every waiter of c.  If their mutex is locked, all are moved onto its
 * queue; otherwise the oldest is woken and the rest moved behind it.  Returns how many threads
 * were woken or moved.  Non-blocking apart from bucket locks; one relaxed load with no waiter. */
static inline size_t pl_cond_broadcast(pl_cond_t *c)
{
    if (__atomic_load_n(&c->mutex, __ATOMIC_RELAXED) == NULL)
        return 0;
    return pl_cond_broadcast_slow(c);
}

PARKING_END_DECLS

#endif /* PARKING_COND_H */
