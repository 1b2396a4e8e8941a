/** @file
 * libparking: pl_cond_t, a one-word condition variable for pl_mutex_t.
 *
 * sizeof(pl_cond_t) == sizeof(void *) and all-zero bytes are a condition variable with no
 * waiters: static, calloc'ed and memset memory need no initialisation, and there is nothing to
 * destroy.  The word holds the mutex its current waiters use, or PL__NULL when nobody waits; the
 * waiters themselves sit in the parking lot under the condition variable's address.
 *
 * Semantics:
 * - No spurious wake-ups from the library: a wait returns before its deadline only because a
 *   signal or broadcast chose it.  (Callers should still loop on their predicate: another thread
 *   may change it between the wake-up and the return.)
 * - No thundering herd: when the mutex is held at the time of a signal or broadcast, the chosen
 *   waiters are not woken but moved onto the mutex's own queue (requeued), so each one wakes only
 *   when a mutex unlock lets it in (a broadcast wakes the first two of them at once, to run ahead
 *   of the chain of unlocks).  A waiter the unlock hands the mutex to directly (eventual
 *   fairness, or pl_mutex_unlock_fair) returns owning it without touching the mutex word again.
 * - Every wait returns with the mutex locked by the caller, whatever its result.
 * - One condition variable serves one mutex at a time: waiting on it with a second mutex while
 *   threads still wait with the first aborts.  Once the last waiter has left, it may be used with
 *   any mutex.
 * - fork(): the child may wait on, signal and broadcast any condition variable at once, with any
 *   mutex, including one the parent's other threads were waiting on (they do not exist in the
 *   child; the word left naming their mutex is found stale and cleared by the first wait).
 * - errno is left as it was (docs: parking/lot.h).
 *
 * Orderings: the waits release the mutex (release) and take it again (acquire) as pl_mutex_unlock
 * and pl_mutex_lock do; signal and broadcast add no ordering of their own, so publish the state a
 * waiter tests under the mutex.  None of these functions is async-signal-safe.
 *
 * Race detectors: ThreadSanitizer, Helgrind and DRD understand the waits' release and
 * re-acquisition of the mutex, through the hooks of parking/annotate.h (which says in which builds
 * they are compiled in).
 */
#ifndef PARKING_COND_H
#define PARKING_COND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <parking/annotate.h>
#include <parking/export.h>
#include <parking/thread_safety.h>
#include <parking/lot.h> /* pl_now, pl_deadline_after, PL_FOREVER for deadlines */
#include <parking/mutex.h>

PARKING_BEGIN_DECLS

/** A one-word condition variable; all-zero bytes (PL_COND_INIT) have no waiters. */
typedef struct pl_cond {
    pl_mutex_t *mutex;
} pl_cond_t;
/** @var pl_cond_t::mutex
 * The mutex of the current waiters, PL__NULL when nobody waits; changed only by atomic operations. */

/** Initialiser of a pl_cond_t with no waiters (the same as zeroed memory). */
#define PL_COND_INIT                                                                               \
  {                                                                                                \
    PL__NULL                                                                                       \
  }

/* Slow paths, out of line.  Not for direct use. */
PARKING_API bool pl_cond_signal_slow(pl_cond_t *c);
PARKING_API size_t pl_cond_broadcast_slow(pl_cond_t *c);

/* The waits: unlock, sleep, relock, with `fn` naming the public function in misuse messages.
 * Out of line; the public waits wrap it in the annotation hooks of the mutex's release and
 * re-acquisition, which must be compiled in the caller's translation unit.  (For Helgrind and
 * DRD, the wrappers also mark `mutex`, written by waiters and read without a lock by
 * pl_cond_signal, as not to be checked.) */
PARKING_API bool pl_cond_wait_slow(pl_cond_t *c, pl_mutex_t *m, uint64_t deadline, const char *fn);

/** Atomically unlocks @p m and sleeps on @p c until a signal or broadcast chooses this thread;
 * returns with @p m locked again.
 *
 * Blocks: yes.  Ordering: releases @p m and acquires it again, as pl_mutex_unlock and
 * pl_mutex_lock.  Misuse: aborts (message naming pl_cond_wait and @p c) if @p m is not locked,
 * or if other threads wait on @p c with a different mutex.  The caller must own @p m; waiting
 * with a mutex some other thread holds is undetected undefined behaviour.
 * Async-signal-safe: no. */
static inline void pl_cond_wait(pl_cond_t *c, pl_mutex_t *m) PL_REQUIRES(*m);
static inline PL_NO_THREAD_SAFETY_ANALYSIS void pl_cond_wait(pl_cond_t *c, pl_mutex_t *m)
{
    PL__ANN_UNLOCK_PRE(m, 0);
    PL__ANN_UNLOCK_POST(m, 0);
    PL__VG_RACY(&c->mutex, sizeof c->mutex);
    (void)pl_cond_wait_slow(c, m, PL_FOREVER, __func__);
    PL__ANN_LOCK_PRE(m, 0);
    PL__ANN_LOCK_POST(m, 0);
}

/** As pl_cond_wait, but gives up at the absolute @p deadline (pl_now() clock; PL_FOREVER:
 * none).
 *
 * Either way @p m is locked again on return (relocking after a time-out waits for @p m with no
 * deadline).  A deadline already past still unlocks and relocks @p m, without sleeping or
 * spinning in between.  A waiter that was
 * signalled and moved onto the mutex's queue before its deadline returns true even if it then
 * waits past the deadline.
 *
 * Blocks: until the deadline, then for @p m.  Ordering and misuse: as pl_cond_wait (the abort
 * names pl_cond_wait_until).  Async-signal-safe: no.
 * @return true if signalled, false if the deadline passed first. */
static inline bool pl_cond_wait_until(pl_cond_t *c, pl_mutex_t *m, uint64_t deadline)
    PL_REQUIRES(*m);
static inline PL_NO_THREAD_SAFETY_ANALYSIS bool pl_cond_wait_until(pl_cond_t *c, pl_mutex_t *m,
                                                                   uint64_t deadline)
{
    PL__ANN_UNLOCK_PRE(m, 0);
    PL__ANN_UNLOCK_POST(m, 0);
    PL__VG_RACY(&c->mutex, sizeof c->mutex);
    bool signalled = pl_cond_wait_slow(c, m, deadline, __func__);
    PL__ANN_LOCK_PRE(m, 0);
    PL__ANN_LOCK_POST(m, 0);
    return signalled;
}

/** As pl_cond_wait_until with a deadline @p timeout_ns from now (saturating).
 *
 * Blocks: up to @p timeout_ns, then for @p m.  Ordering and misuse: as pl_cond_wait.
 * Async-signal-safe: no.
 * @return true if signalled, false if the timeout expired first. */
static inline bool pl_cond_wait_for(pl_cond_t *c, pl_mutex_t *m, uint64_t timeout_ns)
    PL_REQUIRES(*m);
static inline PL_NO_THREAD_SAFETY_ANALYSIS bool pl_cond_wait_for(pl_cond_t *c, pl_mutex_t *m,
                                                                 uint64_t timeout_ns)
{
    PL__ANN_UNLOCK_PRE(m, 0);
    PL__ANN_UNLOCK_POST(m, 0);
    PL__VG_RACY(&c->mutex, sizeof c->mutex);
    bool signalled = pl_cond_wait_slow(c, m, pl_deadline_after(timeout_ns), __func__);
    PL__ANN_LOCK_PRE(m, 0);
    PL__ANN_LOCK_POST(m, 0);
    return signalled;
}

/** Chooses the oldest waiter of @p c, if any.  If its mutex is locked (typically by the
 * caller), the waiter is moved onto the mutex's queue; otherwise it is woken.
 *
 * May be called with or without the mutex held; a signal that races with a thread that has not
 * yet started waiting may find nobody (hold the mutex while changing the predicate to avoid
 * that).  With no waiter it is one relaxed load.
 *
 * Blocks: never (apart from the parking lot's bucket locks).  Ordering: none of its own (publish
 * the predicate under the mutex).  Misuse: none detected.  Async-signal-safe: no.
 * @return whether a thread was woken or moved. */
static inline bool pl_cond_signal(pl_cond_t *c)
{
    /* Relaxed suffices: a waiter stores its mutex here before unlocking that mutex, and a
     * signaller that changed the predicate under the mutex took it after that unlock. */
    if (__atomic_load_n(&c->mutex, __ATOMIC_RELAXED) == PL__NULL)
        return false;
    return pl_cond_signal_slow(c);
}

/** Chooses every waiter of @p c.  If their mutex is locked, all are moved onto its queue;
 * otherwise the oldest is woken and the rest moved behind it.  Then the first two moved are woken
 * ahead of the others (they spin for the mutex).  One relaxed load with no waiter.
 *
 * Blocks: never (apart from bucket locks).  Ordering: none of its own, as pl_cond_signal.
 * Misuse: none detected.  Async-signal-safe: no.
 * @return how many threads were woken or moved. */
static inline size_t pl_cond_broadcast(pl_cond_t *c)
{
    if (__atomic_load_n(&c->mutex, __ATOMIC_RELAXED) == PL__NULL)
        return 0;
    return pl_cond_broadcast_slow(c);
}

PARKING_END_DECLS

#endif /* PARKING_COND_H */
