/** @file
 * libparking: pl_mutex_t, a one-byte mutex.
 *
 * sizeof(pl_mutex_t) == 1 and all-zero bytes are an unlocked mutex: static, calloc'ed and
 * memset memory need no initialisation, and there is nothing to destroy.  Bit 0 (value 1) says
 * "locked", bit 1 (value 2) says "some thread may be parked on this mutex".
 *
 * Lock and unlock are one atomic read-modify-write each when uncontended.  A contended lock
 * spins briefly while nobody is parked, then parks in the global parking lot.  The lock is not
 * FIFO: an unlocking thread lets anyone take the lock ("barging"), which maximises throughput,
 * but at least about once per millisecond per queue the lock is handed directly to the oldest
 * waiter (eventual fairness), so nobody starves.  pl_mutex_unlock_fair always hands off.
 *
 * Memory: the byte belongs to the caller again as soon as the last unlock returns.  No unlock
 * reads or writes it after the point where another thread can see it released, so the thread
 * that takes it next (or the unlocker itself) may free or reuse the memory at once, as POSIX
 * allows for pthread mutexes.  The caller must only make sure that no other call on it is in
 * flight (a waiter still inside pl_mutex_lock_for, say).
 *
 * Not recursive: relocking from the owner deadlocks (see pl_remutex_t).  None of these calls is
 * async-signal-safe.  Lock functions give acquire ordering, unlock functions release ordering.
 * Misuse that the byte can reveal (unlocking a mutex that is not locked) prints
 * `libparking: <function>(<address>): <what>` and aborts; the check is on the slow path.
 *
 * Race detectors: ThreadSanitizer, Helgrind and DRD understand this lock, through the hooks of
 * parking/annotate.h (which says in which builds they are compiled in).
 */
#ifndef PARKING_MUTEX_H
#define PARKING_MUTEX_H

#include <stdbool.h>
#include <stdint.h>

#include <parking/annotate.h>
#include <parking/cas.h>
#include <parking/export.h>
#include <parking/thread_safety.h>
#include <parking/lot.h>

PARKING_BEGIN_DECLS

/** A one-byte mutex; all-zero bytes (PL_MUTEX_INIT) are unlocked.  Use the functions only. */
typedef struct PL_CAPABILITY("mutex") pl_mutex {
    uint8_t state;
} pl_mutex_t;
/** @var pl_mutex_t::state
 * PL_MUTEX_LOCKED_BIT | PL_MUTEX_PARKED_BIT; changed only by atomic operations. */

/** Initialiser of an unlocked pl_mutex_t (the same as zeroed memory). */
#define PL_MUTEX_INIT                                                                              \
  {                                                                                                \
    0                                                                                              \
  }
/** Bit of pl_mutex_t::state set while the mutex is held. */
#define PL_MUTEX_LOCKED_BIT PL__CAST(uint8_t, 1)
/** Bit of pl_mutex_t::state set while threads are (or may be) parked on the mutex. */
#define PL_MUTEX_PARKED_BIT PL__CAST(uint8_t, 2)

/* Slow paths, out of line.  Not for direct use.  The convention of every primitive
 * (docs/design.md, "From fast path to slow path"): one slow path per operation, an absolute
 * deadline (the _for functions compute it inline), flags rather than twins (`fair`), and the
 * public function's name `fn` wherever the slow path can abort on misuse. */
PARKING_API bool pl_mutex_lock_slow(pl_mutex_t *m, uint64_t deadline);
PARKING_API void pl_mutex_unlock_slow(pl_mutex_t *m, bool fair, const char *fn);

static inline bool pl_mutex__try_fast(pl_mutex_t *m)
{
    uint8_t expected = 0;
    return PL__CAS(&m->state, &expected, PL_MUTEX_LOCKED_BIT, true, __ATOMIC_ACQUIRE,
                   __ATOMIC_RELAXED);
}

/* The operations without annotations: the public functions below wrap them in the hooks of
 * parking/annotate.h, and pl_remutex_t uses them directly (it annotates itself, not its inner
 * mutex). */
static inline void pl_mutex__lock(pl_mutex_t *m)
{
    if (PARKING_UNLIKELY(!pl_mutex__try_fast(m)))
        (void)PL__ANN_SLOW_BOOL(m, pl_mutex_lock_slow(m, UINT64_MAX));
}

static inline bool pl_mutex__trylock(pl_mutex_t *m)
{
    uint8_t state = __atomic_load_n(&m->state, __ATOMIC_RELAXED);
    while (!(state & PL_MUTEX_LOCKED_BIT)) {
        if (PL__CAS(&m->state, &state, PL__CAST(uint8_t, state | PL_MUTEX_LOCKED_BIT), true,
                    __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
            return true;
    }
    return false;
}

static inline bool pl_mutex__lock_until(pl_mutex_t *m, uint64_t deadline)
{
    if (PARKING_LIKELY(pl_mutex__try_fast(m)))
        return true;
    return PL__ANN_SLOW_BOOL(m, pl_mutex_lock_slow(m, deadline));
}

static inline bool pl_mutex__lock_for(pl_mutex_t *m, uint64_t timeout_ns)
{
    if (PARKING_LIKELY(pl_mutex__try_fast(m)))
        return true;
    return PL__ANN_SLOW_BOOL(m, pl_mutex_lock_slow(m, pl_deadline_after(timeout_ns)));
}

static inline void pl_mutex__unlock(pl_mutex_t *m, bool fair, const char *fn)
{
    /* One compare-and-swap, and only from the state "locked, nobody parked".  With the parked
     * bit set the slow path releases, inside the parking lot's unpark callback, so that nothing
     * writes the byte after another thread can see it free: the caller's memory may be freed
     * the moment the lock is (an unlock by subtraction, releasing first and clearing the parked
     * bit after, wrote to freed memory; issue 10).  The fair unlock also hands off from there. */
    uint8_t expected = PL_MUTEX_LOCKED_BIT;
    if (PARKING_UNLIKELY(
            !PL__CAS(&m->state, &expected, 0, false, __ATOMIC_RELEASE, __ATOMIC_RELAXED)))
        PL__ANN_SLOW(m, pl_mutex_unlock_slow(m, fair, fn));
}

/** Blocks until the calling thread owns @p m.
 *
 * Blocks: yes (spins briefly, then parks).  Ordering: acquire.  Misuse: relocking a mutex the
 * caller holds deadlocks (undetected; see pl_remutex_t).  Async-signal-safe: no. */
static inline void pl_mutex_lock(pl_mutex_t *m) PL_ACQUIRE(*m);
static inline PL_NO_THREAD_SAFETY_ANALYSIS void pl_mutex_lock(pl_mutex_t *m)
{
    PL__ANN_LOCK_PRE(m, 0);
    pl_mutex__lock(m);
    PL__ANN_LOCK_POST(m, 0);
}

/** Takes @p m if it is free (even if threads are parked on it).
 *
 * Blocks: never.  Ordering: acquire when it returns true.  Misuse: none detectable (a trylock
 * by the holder just fails).  Async-signal-safe: no.
 * @return true if the caller now owns @p m. */
static inline bool pl_mutex_trylock(pl_mutex_t *m) PL_TRY_ACQUIRE(true, *m);
static inline PL_NO_THREAD_SAFETY_ANALYSIS bool pl_mutex_trylock(pl_mutex_t *m)
{
    PL__ANN_LOCK_PRE(m, PL__ANN_TRY | PL__ANN_NEVER_BLOCKS);
    bool ok = pl_mutex__trylock(m);
    PL__ANN_LOCK_POST(m, PL__ANN_RESULT(PL__ANN_TRY | PL__ANN_NEVER_BLOCKS, ok));
    return ok;
}

/** Blocks until @p m is taken or the absolute @p deadline (pl_now() ns; PL_FOREVER: none)
 * passes.  A deadline already past tries once (takes a free mutex) and returns at once, without
 * spinning.
 *
 * Blocks: until the deadline at most.  Ordering: acquire when it returns true.  Misuse: as
 * pl_mutex_lock (relocking by the holder times out).  Async-signal-safe: no.
 * @return true if taken; false only once pl_now() >= deadline. */
static inline bool pl_mutex_lock_until(pl_mutex_t *m, uint64_t deadline) PL_TRY_ACQUIRE(true, *m);
static inline PL_NO_THREAD_SAFETY_ANALYSIS bool pl_mutex_lock_until(pl_mutex_t *m,
                                                                    uint64_t deadline)
{
    PL__ANN_LOCK_PRE(m, PL__ANN_TRY);
    bool ok = pl_mutex__lock_until(m, deadline);
    PL__ANN_LOCK_POST(m, PL__ANN_RESULT(PL__ANN_TRY, ok));
    return ok;
}

/** As pl_mutex_lock_until with a deadline @p timeout_ns from now (saturating: a huge timeout
 * waits forever).  The clock is read only if the fast path fails.
 *
 * Blocks: up to @p timeout_ns.  Ordering: acquire when it returns true.  Misuse: as
 * pl_mutex_lock_until.  Async-signal-safe: no.
 * @return true if taken, false if the timeout expired first. */
static inline bool pl_mutex_lock_for(pl_mutex_t *m, uint64_t timeout_ns) PL_TRY_ACQUIRE(true, *m);
static inline PL_NO_THREAD_SAFETY_ANALYSIS bool pl_mutex_lock_for(pl_mutex_t *m,
                                                                  uint64_t timeout_ns)
{
    PL__ANN_LOCK_PRE(m, PL__ANN_TRY);
    bool ok = pl_mutex__lock_for(m, timeout_ns);
    PL__ANN_LOCK_POST(m, PL__ANN_RESULT(PL__ANN_TRY, ok));
    return ok;
}

/** Releases @p m and wakes one parked thread if any (which may then find the mutex taken by a
 * running thread: barging, see the file description).
 *
 * Blocks: never (apart from the parking lot's bucket lock when it wakes a thread).  Ordering:
 * release.  Misuse: aborts with a message if @p m is not locked; an unlock by a thread that does
 * not own @p m is not detected.  Async-signal-safe: no. */
static inline void pl_mutex_unlock(pl_mutex_t *m) PL_RELEASE(*m);
static inline PL_NO_THREAD_SAFETY_ANALYSIS void pl_mutex_unlock(pl_mutex_t *m)
{
    PL__ANN_UNLOCK_PRE(m, 0);
    pl_mutex__unlock(m, false, __func__);
    PL__ANN_UNLOCK_POST(m, 0);
}

/** Releases @p m by handing it directly to the oldest parked thread if there is one (FIFO
 * hand-off: the mutex stays locked and that thread returns owning it); otherwise as
 * pl_mutex_unlock.
 *
 * Blocks: never (apart from the bucket lock).  Ordering: release (the new owner acquires).
 * Misuse: as pl_mutex_unlock.  Async-signal-safe: no. */
static inline void pl_mutex_unlock_fair(pl_mutex_t *m) PL_RELEASE(*m);
static inline PL_NO_THREAD_SAFETY_ANALYSIS void pl_mutex_unlock_fair(pl_mutex_t *m)
{
    PL__ANN_UNLOCK_PRE(m, 0);
    pl_mutex__unlock(m, true, __func__);
    PL__ANN_UNLOCK_POST(m, 0);
}

/** Whether some thread holds @p m right now: a snapshot for assertions and statistics, stale at
 * once (it cannot tell whether the caller is the holder).
 *
 * Blocks: never.  Ordering: none (relaxed load).  Misuse: none.  Async-signal-safe: no. */
static inline bool pl_mutex_is_locked(const pl_mutex_t *m)
{
    return (__atomic_load_n(&m->state, __ATOMIC_RELAXED) & PL_MUTEX_LOCKED_BIT) != 0;
}

/** Aborts with `libparking: pl_mutex_assert_held(<address>): ...` unless the calling thread
 * holds @p m (Abseil's Mutex::AssertHeld, Linux's lockdep_assert_held).  For Clang's
 * thread-safety analysis the mutex is held after it returns (PL_ASSERT_CAPABILITY).
 *
 * Exact in debug mode (PARKING_DEBUG, parking/debug.h: the owner tables say whether this thread
 * holds it).  Otherwise the byte has no owner, so it checks only that SOME thread holds @p m:
 * one relaxed load and a branch, which catches a forgotten lock but not a lock held by another
 * thread.
 *
 * Blocks: never (debug mode: its internal mutex).  Ordering: none.  Misuse: the failed
 * assertion aborts.  Async-signal-safe: no. */
static inline void pl_mutex_assert_held(const pl_mutex_t *m) PL_ASSERT_CAPABILITY(*m);
static inline PL_NO_THREAD_SAFETY_ANALYSIS void pl_mutex_assert_held(const pl_mutex_t *m)
{
#if PL__DBG_ON
    pl_debug_assert_held(m, 0, __func__);
#endif
    if (PARKING_UNLIKELY(!pl_mutex_is_locked(m)))
        pl_lock_not_held(m, __func__, "assertion failed: the mutex is not locked");
}

PARKING_END_DECLS

#endif /* PARKING_MUTEX_H */
