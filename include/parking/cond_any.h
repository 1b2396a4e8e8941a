/** @file
 * libparking: waiting on a pl_cond_t with a lock other than pl_mutex_t.
 *
 * The same one-word pl_cond_t and the same pl_cond_signal / pl_cond_broadcast serve waiters that
 * hold a read-locked or write-locked pl_rwlock_t, a pl_remutex_t, a bit lock, a pointer lock, or
 * any lock given as a pair of lock / unlock callbacks (nsync's
 * nsync_cv_wait_with_deadline_generic, C++'s std::condition_variable_any).  Waiting under a read
 * lock is what a page latch waiting for I/O needs: many readers wait, the reader or writer that
 * finishes the I/O broadcasts.
 *
 * Requeue or plain wake:
 * - pl_cond_wait_remutex: requeue, as pl_cond_wait with a pl_mutex_t (cond.h), since the
 *   reentrant mutex is a pl_mutex_t inside: its waiters are moved onto the inner mutex's queue
 *   when it is held at the signal, and each wakes only when an unlock lets it in.  The whole
 *   recursion depth is released for the wait and restored after it.
 * - every other wait here: plain wake.  A signal wakes the oldest waiter, a broadcast wakes all;
 *   each then takes its lock with the lock's own lock call.  Requeueing onto a rwlock, a bit lock
 *   or a caller's lock would need that lock's unlock to know how to wake a condition waiter
 *   moved onto its queue, which only pl_mutex_t's does.  For readers a broadcast's herd is what
 *   is wanted anyway: they all get in together.
 *
 * Rules, as for cond.h: the wait atomically releases the lock and sleeps (the thread is queued on
 * the condition variable before the unlock, so a signal by whoever takes the lock next finds
 * it); every wait returns with the lock held again in the same mode, whatever its result; no
 * spurious wake-ups from the library (but loop on the predicate).  One condition variable serves
 * one kind of waiter at a time: waiters of this header (any mix of them) or waiters with one
 * pl_mutex_t, and a wait of the other kind while such waiters remain aborts with
 * `one condvar used with two mutexes at the same time`.  Once the last waiter has left it may be
 * used either way.  Deadlines are absolute pl_now() nanoseconds (PL_FOREVER: none; pass
 * pl_deadline_after(ns) for a timeout); a deadline already past still releases and retakes the
 * lock.  A time-out retakes the lock with no deadline.  errno is left as it was.
 *
 * Orderings: the wait releases the lock and acquires it again as that lock's own unlock and lock
 * do.  None of these functions is async-signal-safe.
 */
#ifndef PARKING_COND_ANY_H
#define PARKING_COND_ANY_H

#include <stdbool.h>
#include <stdint.h>

#include <parking/annotate.h>
#include <parking/bitlock.h>
#include <parking/cond.h>
#include <parking/export.h>
#include <parking/lot.h>
#include <parking/remutex.h>
#include <parking/rwlock.h>
#include <parking/thread_safety.h>

PARKING_BEGIN_DECLS

/* Slow paths, out of line.  Not for direct use.  `fn` names the public function in misuse
 * messages. */
PARKING_API bool pl_cond_wait_any_slow(pl_cond_t *c, void *lock, void (*lock_fn)(void *),
                                       void (*unlock_fn)(void *), uint64_t deadline,
                                       const char *fn);
PARKING_API bool pl_cond_wait_rwlock_slow(pl_cond_t *c, pl_rwlock_t *l, bool exclusive,
                                          uint64_t deadline, const char *fn);
PARKING_API bool pl_cond_wait_remutex_slow(pl_cond_t *c, pl_remutex_t *m, uint64_t deadline,
                                           const char *fn);
PARKING_API bool pl_cond_wait_bitlock_slow(pl_cond_t *c, void *word, unsigned size,
                                           uint64_t lock_bit, uint64_t parked_bit,
                                           uint64_t deadline, const char *fn);

/** Atomically calls unlock_fn(lock) and sleeps on @p c until a signal or broadcast chooses this
 * thread or the absolute @p deadline passes; then calls lock_fn(lock) and returns.
 *
 * unlock_fn runs once, on this thread, after it is queued on @p c; it may wake threads but must
 * not block (it runs where the parking lot does not allow this thread to park).  lock_fn runs
 * once, after the wake-up or time-out, and may block.  Plain wake (no requeue).  The caller's
 * callbacks carry the lock's race-detector annotations, if any.
 *
 * Blocks: until chosen or the deadline, then in lock_fn.  Ordering: that of the callbacks.
 * Misuse: aborts (message naming pl_cond_wait_with and @p c) if a callback is NULL, or if
 * threads wait on @p c with a pl_mutex_t (cond.h).  Async-signal-safe: no.
 * @return true if signalled, false if the deadline passed first. */
static inline bool pl_cond_wait_with(pl_cond_t *c, void *lock, void (*lock_fn)(void *),
                                     void (*unlock_fn)(void *), uint64_t deadline)
{
    PL__VG_RACY(&c->mutex, sizeof c->mutex);
    return pl_cond_wait_any_slow(c, lock, lock_fn, unlock_fn, deadline, __func__);
}

/* The rwlock waits: the hold's release and re-acquisition, annotated here in the caller. */
static inline bool pl_cond__wait_rwlock(pl_cond_t *c, pl_rwlock_t *l, bool exclusive,
                                        uint64_t deadline, const char *fn)
{
    unsigned f = exclusive ? 0u : PL__ANN_READ;
    (void)f; /* the hooks may compile to nothing */
    PL__ANN_UNLOCK_PRE(l, f);
    PL__ANN_UNLOCK_POST(l, f);
    PL__VG_RACY(&c->mutex, sizeof c->mutex);
    bool signalled = pl_cond_wait_rwlock_slow(c, l, exclusive, deadline, fn);
    PL__ANN_LOCK_PRE(l, f);
    PL__ANN_LOCK_POST(l, f);
    return signalled;
}

/** Atomically releases the caller's read lock on @p l and sleeps on @p c until chosen; returns
 * with a read lock on @p l again (taken as pl_rwlock_rdlock does: behind a waiting writer).
 *
 * Blocks: yes.  Ordering: as pl_rwlock_rdunlock, then pl_rwlock_rdlock.  Misuse: aborts if the
 * caller holds no read lock on @p l (as pl_rwlock_rdunlock does), or as pl_cond_wait_with.
 * Async-signal-safe: no. */
static inline void pl_cond_wait_read(pl_cond_t *c, pl_rwlock_t *l) PL_REQUIRES_SHARED(*l);
static inline PL_NO_THREAD_SAFETY_ANALYSIS void pl_cond_wait_read(pl_cond_t *c, pl_rwlock_t *l)
{
    (void)pl_cond__wait_rwlock(c, l, false, PL_FOREVER, __func__);
}

/** As pl_cond_wait_read, but gives up at the absolute @p deadline.
 *
 * Blocks: until the deadline, then for the read lock.  Ordering and misuse: as
 * pl_cond_wait_read.  Async-signal-safe: no.
 * @return true if signalled, false if the deadline passed first. */
static inline bool pl_cond_wait_read_until(pl_cond_t *c, pl_rwlock_t *l, uint64_t deadline)
    PL_REQUIRES_SHARED(*l);
static inline PL_NO_THREAD_SAFETY_ANALYSIS bool
pl_cond_wait_read_until(pl_cond_t *c, pl_rwlock_t *l, uint64_t deadline)
{
    return pl_cond__wait_rwlock(c, l, false, deadline, __func__);
}

/** Atomically releases the caller's write lock on @p l and sleeps on @p c until chosen; returns
 * with the write lock on @p l again.
 *
 * Blocks: yes.  Ordering: as pl_rwlock_wrunlock, then pl_rwlock_wrlock.  Misuse: aborts if
 * @p l is not write-locked, or as pl_cond_wait_with.  Async-signal-safe: no. */
static inline void pl_cond_wait_write(pl_cond_t *c, pl_rwlock_t *l) PL_REQUIRES(*l);
static inline PL_NO_THREAD_SAFETY_ANALYSIS void pl_cond_wait_write(pl_cond_t *c, pl_rwlock_t *l)
{
    (void)pl_cond__wait_rwlock(c, l, true, PL_FOREVER, __func__);
}

/** As pl_cond_wait_write, but gives up at the absolute @p deadline.
 *
 * Blocks: until the deadline, then for the write lock.  Ordering and misuse: as
 * pl_cond_wait_write.  Async-signal-safe: no.
 * @return true if signalled, false if the deadline passed first. */
static inline bool pl_cond_wait_write_until(pl_cond_t *c, pl_rwlock_t *l, uint64_t deadline)
    PL_REQUIRES(*l);
static inline PL_NO_THREAD_SAFETY_ANALYSIS bool
pl_cond_wait_write_until(pl_cond_t *c, pl_rwlock_t *l, uint64_t deadline)
{
    return pl_cond__wait_rwlock(c, l, true, deadline, __func__);
}

/* The remutex waits: the whole depth is released and taken again, so the hooks see every level
 * (race detectors see the first and last; debug mode counts them all).  Only the owner reads
 * count; a caller that is not the owner has depth 0 here and aborts in the slow path. */
static inline bool pl_cond__wait_remutex(pl_cond_t *c, pl_remutex_t *m, uint64_t deadline,
                                         const char *fn)
{
    uint32_t depth = pl_remutex_is_held(m) ? m->count : 0;
    for (uint32_t i = 1; i < depth; i++) {
        PL__ANN_UNLOCK_PRE(m, PL__ANN_RECURSIVE);
        PL__ANN_UNLOCK_POST(m, PL__ANN_RECURSIVE);
    }
    PL__ANN_UNLOCK_PRE(m, 0);
    PL__ANN_UNLOCK_POST(m, 0);
    PL__VG_RACY(&c->mutex, sizeof c->mutex);
    bool signalled = pl_cond_wait_remutex_slow(c, m, deadline, fn);
    PL__ANN_LOCK_PRE(m, 0);
    PL__ANN_LOCK_POST(m, 0);
    for (uint32_t i = 1; i < depth; i++) {
        PL__ANN_LOCK_PRE(m, PL__ANN_RECURSIVE);
        PL__ANN_LOCK_POST(m, PL__ANN_RECURSIVE);
    }
    return signalled;
}

/** Atomically releases @p m, whatever the caller's recursion depth, and sleeps on @p c until
 * chosen; returns holding @p m at the same depth.  Requeued like pl_cond_wait (see above).
 *
 * Blocks: yes.  Ordering: as the last pl_remutex_unlock, then pl_remutex_lock.  Misuse: aborts
 * if the caller does not hold @p m, or if threads wait on @p c with another mutex.
 * Async-signal-safe: no. */
static inline void pl_cond_wait_remutex(pl_cond_t *c, pl_remutex_t *m) PL_REQUIRES(*m);
static inline PL_NO_THREAD_SAFETY_ANALYSIS void pl_cond_wait_remutex(pl_cond_t *c, pl_remutex_t *m)
{
    (void)pl_cond__wait_remutex(c, m, PL_FOREVER, __func__);
}

/** As pl_cond_wait_remutex, but gives up at the absolute @p deadline.  A waiter signalled and
 * moved onto the mutex's queue before its deadline returns true.
 *
 * Blocks: until the deadline, then for @p m.  Ordering and misuse: as pl_cond_wait_remutex.
 * Async-signal-safe: no.
 * @return true if signalled, false if the deadline passed first. */
static inline bool pl_cond_wait_remutex_until(pl_cond_t *c, pl_remutex_t *m, uint64_t deadline)
    PL_REQUIRES(*m);
static inline PL_NO_THREAD_SAFETY_ANALYSIS bool
pl_cond_wait_remutex_until(pl_cond_t *c, pl_remutex_t *m, uint64_t deadline)
{
    return pl_cond__wait_remutex(c, m, deadline, __func__);
}

/* The bit lock waits of each width (bitlock.h): pl_cond_wait_bitlock8/16/32/64[_until].  Plain
 * wake.  Misuse: the masks' checks of bitlock.h, an unlock of a bit lock that is not locked, or
 * as pl_cond_wait_with. */
#define PL_COND__BITLOCK_WAITS(S, T)                                                               \
  static inline bool pl_cond_wait_bitlock##S##_until(pl_cond_t *c, T *word, T lock_bit,            \
                                                     T parked_bit, uint64_t deadline)              \
  {                                                                                                \
    PL__VG_RACY(&c->mutex, sizeof c->mutex);                                                       \
    return pl_cond_wait_bitlock_slow(c, word, sizeof(T), lock_bit, parked_bit, deadline,           \
                                     __func__);                                                    \
  }                                                                                                \
  static inline void pl_cond_wait_bitlock##S(pl_cond_t *c, T *word, T lock_bit, T parked_bit)      \
  {                                                                                                \
    PL__VG_RACY(&c->mutex, sizeof c->mutex);                                                       \
    (void)pl_cond_wait_bitlock_slow(c, word, sizeof(T), lock_bit, parked_bit, PL_FOREVER,          \
                                    __func__);                                                     \
  }
PL_COND__BITLOCK_WAITS(8, uint8_t)
PL_COND__BITLOCK_WAITS(16, uint16_t)
PL_COND__BITLOCK_WAITS(32, uint32_t)
PL_COND__BITLOCK_WAITS(64, uint64_t)

/** Atomically releases the pointer lock @p pl and sleeps on @p c until chosen or the absolute
 * @p deadline; returns with @p pl locked again (plain wake).
 *
 * Blocks: until chosen or the deadline, then for @p pl.  Ordering: as pl_ptrlock_unlock, then
 * pl_ptrlock_lock.  Misuse: aborts if @p pl is not locked, or as pl_cond_wait_with.
 * Async-signal-safe: no.
 * @return true if signalled, false if the deadline passed first. */
static inline bool pl_cond_wait_ptrlock_until(pl_cond_t *c, pl_ptrlock_t *pl, uint64_t deadline)
    PL_REQUIRES(*pl);
static inline PL_NO_THREAD_SAFETY_ANALYSIS bool
pl_cond_wait_ptrlock_until(pl_cond_t *c, pl_ptrlock_t *pl, uint64_t deadline)
{
    PL__VG_RACY(&c->mutex, sizeof c->mutex);
    return pl_cond_wait_bitlock_slow(c, &pl->word, sizeof pl->word, PL_PTRLOCK_LOCKED_BIT,
                                     PL_PTRLOCK_PARKED_BIT, deadline, __func__);
}

PARKING_END_DECLS

#endif /* PARKING_COND_ANY_H */
