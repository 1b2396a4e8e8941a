/** @file
 * libparking: pl_rwlock_t, a one-word read-write lock with upgradable reads.
 *
 * sizeof(pl_rwlock_t) == sizeof(uintptr_t) and all-zero bytes are an unlocked lock: static,
 * calloc'ed and memset memory need no initialisation, and there is nothing to destroy.
 *
 * Three ways to hold it:
 * - shared (read): any number of readers together;
 * - exclusive (write): one writer, nobody else;
 * - upgradable: a read lock that at most one thread holds at a time; it coexists with plain
 *   readers, excludes writers and other upgradable holders, and can become a write lock
 *   (pl_rwlock_upgrade) without letting another writer in between.
 *
 * Policy: a writer that wants the lock sets the writer bit at once, even while readers are
 * inside, then waits for them to leave; from that moment new readers block (no writer
 * starvation).  So a thread that already holds a read lock must not call pl_rwlock_rdlock again
 * while a writer may come: it would wait for the writer, which waits for it.  Use
 * pl_rwlock_rdlock_recursive for nested reads.  An unlock wakes, in one pass over the queue, every
 * queued reader and at most one writer or upgradable waiter (the scan stops at the first writer
 * chosen), so a write unlock lets a whole crowd of readers in at once.  Unlocks let running
 * threads barge in ahead of the woken ones, which maximises throughput, but at least about once
 * per millisecond per queue an unlock hands the lock directly to the threads it wakes (eventual
 * fairness); the *_fair unlocks always do.
 *
 * Memory: the word belongs to the caller again as soon as the last unlock returns.  No release
 * (any unlock, fair or not, in any mode) reads or writes the word after another thread can see
 * the lock released: it is one compare-and-swap from a state with nobody waiting, or it happens
 * inside the parking lot's unpark callback, under its bucket lock.  A downgrade keeps a hold, so
 * the word stays the caller's until that hold's unlock.  The caller must only make sure that no
 * other call on the lock is in flight (a writer still inside wrlock_for, say).
 *
 * Deadlines already past (the *_until and *_for calls) try once and return at once: no spin,
 * and a writer does not hold the writer bit (which blocks new readers) to wait for readers.
 *
 * Orderings: every acquire (lock, successful trylock / timed lock, upgrade) is an acquire
 * operation, every release (unlock, downgrade) a release operation.  Misuse that the lock word
 * can reveal (unlocking a mode that is not held, reader count overflow) prints
 * `libparking: <function>(<address>): <what>` and aborts; these checks run only on slow paths.
 * Misuse it cannot reveal is not detected: an unlock by a thread that does not hold the mode
 * (while some other thread does), and relocking a write lock from its holder (deadlock).
 * None of these functions is async-signal-safe.
 *
 * Bit layout of `state` (for debuggers and tests; use the functions):
 * @verbatim
   bit 0  PARKED         threads are (or may be) queued on the lock's address
   bit 1  WRITER_PARKED  the writer-bit holder is queued on address + 1 waiting for readers
   bit 2  UPGRADABLE     an upgradable holder exists (it is also counted as a reader)
   bit 3  WRITER         a writer holds the lock, or holds its turn and waits for readers
   bits 4..              number of readers (upgradable holder included)
   @endverbatim
 *
 * Race detectors: ThreadSanitizer, Helgrind and DRD understand this lock in every mode, through the
 * hooks of parking/annotate.h (which says in which builds they are compiled in).
 */
#ifndef PARKING_RWLOCK_H
#define PARKING_RWLOCK_H

#include <stdbool.h>
#include <stdint.h>

#include <parking/annotate.h>
#include <parking/cas.h>
#include <parking/export.h>
#include <parking/thread_safety.h>
#include <parking/lot.h>

PARKING_BEGIN_DECLS

/** A one-word read-write lock; all-zero bytes (PL_RWLOCK_INIT) are unlocked. */
typedef struct PL_CAPABILITY("mutex") pl_rwlock {
    uintptr_t state;
} pl_rwlock_t;
/** @var pl_rwlock_t::state
 * The PL_RWLOCK_*_BIT flags and the reader count (see the file description); atomic only. */

/** Initialiser of an unlocked pl_rwlock_t (the same as zeroed memory). */
#define PL_RWLOCK_INIT                                                                             \
  {                                                                                                \
    0                                                                                              \
  }

/** pl_rwlock_t::state bit: threads are (or may be) parked on the lock's address. */
#define PL_RWLOCK_PARKED_BIT PL__CAST(uintptr_t, 1)
/** pl_rwlock_t::state bit: the writer-bit holder is parked on address + 1, waiting for readers. */
#define PL_RWLOCK_WRITER_PARKED_BIT PL__CAST(uintptr_t, 2)
/** pl_rwlock_t::state bit: an upgradable holder exists (it is also counted as a reader). */
#define PL_RWLOCK_UPGRADABLE_BIT PL__CAST(uintptr_t, 4)
/** pl_rwlock_t::state bit: a writer holds the lock, or holds its turn and waits for readers. */
#define PL_RWLOCK_WRITER_BIT PL__CAST(uintptr_t, 8)
/** One reader in pl_rwlock_t::state (the count starts at bit 4). */
#define PL_RWLOCK_ONE_READER PL__CAST(uintptr_t, 16)
/** The reader count bits of pl_rwlock_t::state. */
#define PL_RWLOCK_READERS_MASK (~PL__CAST(uintptr_t, 15))

/* Slow paths, out of line.  Not for direct use.  The convention of every primitive
 * (docs/design.md, "From fast path to slow path"): one slow path per kind of operation, with the
 * hold as a flag (`mode`, one of the four below) rather than a function per mode; an absolute
 * deadline (PL_FOREVER: none; one already past, 0 included, tries once), which the _for
 * functions compute inline; `fair` for the hand-off; and the public function's name `fn`, which
 * a misuse abort names. */
#define PL_RWLOCK__SHARED 0u
#define PL_RWLOCK__RECURSIVE 1u /* shared, entering past a writer waiting for its turn */
#define PL_RWLOCK__UPGRADABLE 2u
#define PL_RWLOCK__EXCLUSIVE 3u
PARKING_API bool pl_rwlock_lock_slow(pl_rwlock_t *l, unsigned mode, uint64_t deadline,
                                     const char *fn);
PARKING_API bool pl_rwlock_upgrade_slow(pl_rwlock_t *l, uint64_t deadline, const char *fn);
PARKING_API void pl_rwlock_unlock_slow(pl_rwlock_t *l, unsigned mode, bool fair, const char *fn);
/* from -> to: EXCLUSIVE -> SHARED, EXCLUSIVE -> UPGRADABLE, UPGRADABLE -> SHARED. */
PARKING_API void pl_rwlock_downgrade_slow(pl_rwlock_t *l, unsigned from, unsigned to,
                                          const char *fn);

#define PL_RWLOCK__UPGRADABLE_BLOCKERS (PL_RWLOCK_WRITER_BIT | PL_RWLOCK_UPGRADABLE_BIT)
#define PL_RWLOCK__ONE_UPGRADABLE (PL_RWLOCK_ONE_READER | PL_RWLOCK_UPGRADABLE_BIT)

static inline bool pl_rwlock__cas(pl_rwlock_t *l, uintptr_t from, uintptr_t to, int order)
{
    return PL__CAS(&l->state, &from, to, false, order, __ATOMIC_RELAXED);
}

/* What blocks a shared or upgradable hold, and what that hold adds to the word. */
static inline uintptr_t pl_rwlock__blockers(unsigned mode)
{
    return mode == PL_RWLOCK__UPGRADABLE ? PL_RWLOCK__UPGRADABLE_BLOCKERS : PL_RWLOCK_WRITER_BIT;
}

static inline uintptr_t pl_rwlock__share(unsigned mode)
{
    return mode == PL_RWLOCK__UPGRADABLE ? PL_RWLOCK__ONE_UPGRADABLE : PL_RWLOCK_ONE_READER;
}

/* The fast path's one attempt at `mode` (a constant: the other modes' code folds away).  A
 * writer needs the word at 0; a share is added if nothing blocks it and the count has room. */
static inline bool pl_rwlock__try_fast(pl_rwlock_t *l, unsigned mode)
{
    if (mode == PL_RWLOCK__EXCLUSIVE)
        return pl_rwlock__cas(l, 0, PL_RWLOCK_WRITER_BIT, __ATOMIC_ACQUIRE);
    uintptr_t s = __atomic_load_n(&l->state, __ATOMIC_RELAXED);
    return !(s & pl_rwlock__blockers(mode)) && s < PL_RWLOCK_READERS_MASK &&
           PL__CAS(&l->state, &s, s + pl_rwlock__share(mode), true, __ATOMIC_ACQUIRE,
                   __ATOMIC_RELAXED);
}

static inline bool pl_rwlock__lock(pl_rwlock_t *l, unsigned mode, uint64_t deadline, const char *fn)
{
    if (PARKING_LIKELY(pl_rwlock__try_fast(l, mode)))
        return true;
    return PL__ANN_SLOW_BOOL(l, pl_rwlock_lock_slow(l, mode, deadline, fn));
}

/* The clock is read only when the fast path fails. */
static inline bool pl_rwlock__lock_for(pl_rwlock_t *l, unsigned mode, uint64_t timeout_ns,
                                       const char *fn)
{
    if (PARKING_LIKELY(pl_rwlock__try_fast(l, mode)))
        return true;
    return PL__ANN_SLOW_BOOL(l, pl_rwlock_lock_slow(l, mode, pl_deadline_after(timeout_ns), fn));
}

/* tryrdlock and tryuplock: false at once if the hold is blocked; a lost race or a full count
 * goes to the slow path with a deadline already past, which retries (or aborts on overflow). */
static inline bool pl_rwlock__try_share(pl_rwlock_t *l, unsigned mode, const char *fn)
{
    uintptr_t s = __atomic_load_n(&l->state, __ATOMIC_RELAXED);
    if (s & pl_rwlock__blockers(mode))
        return false;
    if (PARKING_LIKELY(s < PL_RWLOCK_READERS_MASK &&
                       PL__CAS(&l->state, &s, s + pl_rwlock__share(mode), true, __ATOMIC_ACQUIRE,
                               __ATOMIC_RELAXED)))
        return true;
    return PL__ANN_SLOW_BOOL(l, pl_rwlock_lock_slow(l, mode, 0, fn));
}

static inline void pl_rwlock__rdunlock(pl_rwlock_t *l, const char *fn)
{
    /* A compare-and-swap, not a subtraction: the last reader out while a writer is parked
     * waiting for it must not release first and wake after (the writer could time out, find
     * no reader, unlock and free the lock in between, and the wake's write of WRITER_PARKED
     * would land in freed memory; issue 10).  That case, and no reader at all (misuse), go to
     * the slow path, which releases under the parking lot's bucket lock. */
    uintptr_t s = __atomic_load_n(&l->state, __ATOMIC_RELAXED);
    for (;;) {
        uintptr_t x = s & (PL_RWLOCK_READERS_MASK | PL_RWLOCK_WRITER_PARKED_BIT);
        if (PARKING_UNLIKELY(x <= (PL_RWLOCK_ONE_READER | PL_RWLOCK_WRITER_PARKED_BIT) &&
                             x != PL_RWLOCK_ONE_READER)) {
            PL__ANN_SLOW(l, pl_rwlock_unlock_slow(l, PL_RWLOCK__SHARED, false, fn));
            return;
        }
        if (PARKING_LIKELY(PL__CAS(&l->state, &s, s - PL_RWLOCK_ONE_READER, true, __ATOMIC_RELEASE,
                                   __ATOMIC_RELAXED)))
            return;
    }
}

static inline void pl_rwlock__wrunlock(pl_rwlock_t *l, bool fair, const char *fn)
{
    if (PARKING_UNLIKELY(!pl_rwlock__cas(l, PL_RWLOCK_WRITER_BIT, 0, __ATOMIC_RELEASE)))
        PL__ANN_SLOW(l, pl_rwlock_unlock_slow(l, PL_RWLOCK__EXCLUSIVE, fair, fn));
}

/* Releases the upgradable hold (`keep` 0) or keeps it as a plain read hold (`keep` one
 * reader): one CAS while nobody is parked; else the slow path wakes who can now get in. */
static inline bool pl_rwlock__drop_upgradable(pl_rwlock_t *l, uintptr_t keep)
{
    uintptr_t s = __atomic_load_n(&l->state, __ATOMIC_RELAXED);
    return (s & (PL_RWLOCK_PARKED_BIT | PL_RWLOCK_UPGRADABLE_BIT)) == PL_RWLOCK_UPGRADABLE_BIT &&
           PL__CAS(&l->state, &s, s - PL_RWLOCK__ONE_UPGRADABLE + keep, true, __ATOMIC_RELEASE,
                   __ATOMIC_RELAXED);
}

static inline void pl_rwlock__upunlock(pl_rwlock_t *l, bool fair, const char *fn)
{
    if (PARKING_UNLIKELY(!pl_rwlock__drop_upgradable(l, 0)))
        PL__ANN_SLOW(l, pl_rwlock_unlock_slow(l, PL_RWLOCK__UPGRADABLE, fair, fn));
}

static inline bool pl_rwlock__upgrade(pl_rwlock_t *l, uint64_t deadline, const char *fn)
{
    if (PARKING_LIKELY(
            pl_rwlock__cas(l, PL_RWLOCK__ONE_UPGRADABLE, PL_RWLOCK_WRITER_BIT, __ATOMIC_ACQUIRE)))
        return true;
    return PL__ANN_SLOW_BOOL(l, pl_rwlock_upgrade_slow(l, deadline, fn));
}

static inline bool pl_rwlock__upgrade_for(pl_rwlock_t *l, uint64_t timeout_ns, const char *fn)
{
    if (PARKING_LIKELY(
            pl_rwlock__cas(l, PL_RWLOCK__ONE_UPGRADABLE, PL_RWLOCK_WRITER_BIT, __ATOMIC_ACQUIRE)))
        return true;
    return PL__ANN_SLOW_BOOL(l, pl_rwlock_upgrade_slow(l, pl_deadline_after(timeout_ns), fn));
}

/* Write lock -> `to` (a shared or upgradable hold), atomically. */
static inline void pl_rwlock__downgrade(pl_rwlock_t *l, unsigned to, const char *fn)
{
    if (PARKING_UNLIKELY(
            !pl_rwlock__cas(l, PL_RWLOCK_WRITER_BIT, pl_rwlock__share(to), __ATOMIC_RELEASE)))
        PL__ANN_SLOW(l, pl_rwlock_downgrade_slow(l, PL_RWLOCK__EXCLUSIVE, to, fn));
}

/* Hook flags (parking/annotate.h) of the modes: the upgradable hold is a READ hold that debug
 * mode tells apart, and an upgrade first ends it (RELEASES_UP). */
#define PL_RWLOCK__ANN_R PL__ANN_READ
#define PL_RWLOCK__ANN_U (PL__ANN_READ | PL__ANN_UPGRADABLE)
#define PL_RWLOCK__ANN_TRY (PL__ANN_TRY | PL__ANN_NEVER_BLOCKS)

/* Annotations of an upgrade: the upgradable hold ends, a write acquisition (flags `f`) begins;
 * one that fails takes the upgradable hold back, which cannot block.  `c` is what debug mode
 * must know of the call: PL_RWLOCK__ANN_UPGRADE, plus NEVER_BLOCKS for tryupgrade. */
#define PL_RWLOCK__ANN_UPGRADE (PL__ANN_UPGRADABLE | PL__ANN_RELEASES_UP)
#define PL_RWLOCK__ANN_UPGRADE_PRE(l, f, c)                                                        \
  do {                                                                                             \
    PL__ANN_UNLOCK_PRE(l, PL__ANN_READ | (c));                                                     \
    PL__ANN_UNLOCK_POST(l, PL__ANN_READ | (c));                                                    \
    PL__ANN_LOCK_PRE(l, (f) | (c));                                                                \
  } while (0)
#define PL_RWLOCK__ANN_UPGRADE_POST(l, f, c, ok)                                                   \
  do {                                                                                             \
    PL__ANN_LOCK_POST(l, PL__ANN_RESULT((f) | (c), ok));                                           \
    if (!(ok)) {                                                                                   \
      PL__ANN_LOCK_PRE(l, PL__ANN_READ | PL__ANN_TRY | (c));                                       \
      PL__ANN_LOCK_POST(l, PL__ANN_READ | PL__ANN_TRY | (c));                                      \
    }                                                                                              \
  } while (0)
/* Annotations of a downgrade: the hold `from` ends and `to` (a READ hold) begins. */
#define PL_RWLOCK__ANN_DOWNGRADE(l, from, to, call)                                                \
  do {                                                                                             \
    PL__ANN_UNLOCK_PRE(l, from);                                                                   \
    call;                                                                                          \
    PL__ANN_UNLOCK_POST(l, from);                                                                  \
    PL__ANN_LOCK_PRE(l, (to) | PL__ANN_TRY);                                                       \
    PL__ANN_LOCK_POST(l, (to) | PL__ANN_TRY);                                                      \
  } while (0)

/* ---- Shared (read) ---- */

/** Blocks until the caller holds a read lock.  Waits while a writer holds the lock or waits for
 * its turn (see the policy in the file description: do not nest it).
 *
 * Blocks: yes.  Ordering: acquire.  Misuse: nesting it while a writer may come deadlocks
 * (undetected; use pl_rwlock_rdlock_recursive); aborts on reader count overflow.
 * Async-signal-safe: no. */
static inline void pl_rwlock_rdlock(pl_rwlock_t *l) PL_ACQUIRE_SHARED(*l);
static inline PL_NO_THREAD_SAFETY_ANALYSIS void pl_rwlock_rdlock(pl_rwlock_t *l)
{
    PL__ANN_LOCK_PRE(l, PL_RWLOCK__ANN_R);
    (void)pl_rwlock__lock(l, PL_RWLOCK__SHARED, PL_FOREVER, __func__);
    PL__ANN_LOCK_POST(l, PL_RWLOCK__ANN_R);
}

/** Takes a read lock unless a writer holds the lock or waits for it.
 *
 * Blocks: never.  Ordering: acquire on success.  Misuse: aborts on reader count overflow.
 * Async-signal-safe: no.
 * @return true if the caller now holds a read lock. */
static inline bool pl_rwlock_tryrdlock(pl_rwlock_t *l) PL_TRY_ACQUIRE_SHARED(true, *l);
static inline PL_NO_THREAD_SAFETY_ANALYSIS bool pl_rwlock_tryrdlock(pl_rwlock_t *l)
{
    PL__ANN_LOCK_PRE(l, PL_RWLOCK__ANN_R | PL_RWLOCK__ANN_TRY);
    bool ok = pl_rwlock__try_share(l, PL_RWLOCK__SHARED, __func__);
    PL__ANN_LOCK_POST(l, PL__ANN_RESULT(PL_RWLOCK__ANN_R | PL_RWLOCK__ANN_TRY, ok));
    return ok;
}

/** As pl_rwlock_rdlock, but gives up once the absolute @p deadline (pl_now() clock; PL_FOREVER:
 * none) passes.  A deadline already past still takes a free lock.
 *
 * Blocks: until the deadline at most.  Ordering: acquire on success.  Misuse: aborts on reader
 * count overflow.  Async-signal-safe: no.
 * @return true if taken; false only once the deadline has passed. */
static inline bool pl_rwlock_rdlock_until(pl_rwlock_t *l, uint64_t deadline)
    PL_TRY_ACQUIRE_SHARED(true, *l);
static inline PL_NO_THREAD_SAFETY_ANALYSIS bool pl_rwlock_rdlock_until(pl_rwlock_t *l,
                                                                       uint64_t deadline)
{
    PL__ANN_LOCK_PRE(l, PL_RWLOCK__ANN_R | PL__ANN_TRY);
    bool ok = pl_rwlock__lock(l, PL_RWLOCK__SHARED, deadline, __func__);
    PL__ANN_LOCK_POST(l, PL__ANN_RESULT(PL_RWLOCK__ANN_R | PL__ANN_TRY, ok));
    return ok;
}

/** As pl_rwlock_rdlock_until with a deadline @p timeout_ns from now (saturating: a huge timeout
 * waits forever instead of wrapping into the past).
 *
 * Blocks: up to @p timeout_ns.  Ordering: acquire on success.  Misuse: aborts on reader count
 * overflow.  Async-signal-safe: no.
 * @return true if taken, false if the timeout expired first. */
static inline bool pl_rwlock_rdlock_for(pl_rwlock_t *l, uint64_t timeout_ns)
    PL_TRY_ACQUIRE_SHARED(true, *l);
static inline PL_NO_THREAD_SAFETY_ANALYSIS bool pl_rwlock_rdlock_for(pl_rwlock_t *l,
                                                                     uint64_t timeout_ns)
{
    PL__ANN_LOCK_PRE(l, PL_RWLOCK__ANN_R | PL__ANN_TRY);
    bool ok = pl_rwlock__lock_for(l, PL_RWLOCK__SHARED, timeout_ns, __func__);
    PL__ANN_LOCK_POST(l, PL__ANN_RESULT(PL_RWLOCK__ANN_R | PL__ANN_TRY, ok));
    return ok;
}

/** Takes a read lock for a caller that may already hold one (read or upgradable) on @p l: enters
 * whenever other readers are inside, even past a writer waiting for its turn, so nested reads
 * never deadlock against a queued writer.  It still blocks while a writer holds the lock.
 *
 * Like Rust's read_recursive, it cannot tell whether the caller really holds a read lock, so a
 * steady stream of such calls can starve writers.
 *
 * Blocks: yes.  Ordering: acquire.  Misuse: aborts on reader count overflow.
 * Async-signal-safe: no. */
static inline void pl_rwlock_rdlock_recursive(pl_rwlock_t *l) PL_ACQUIRE_SHARED(*l);
static inline PL_NO_THREAD_SAFETY_ANALYSIS void pl_rwlock_rdlock_recursive(pl_rwlock_t *l)
{
    PL__ANN_LOCK_PRE(l, PL_RWLOCK__ANN_R | PL__ANN_RECURSIVE);
    /* The fast path is a plain reader's: the slow path decides whether to pass a writer. */
    if (PARKING_UNLIKELY(!pl_rwlock__try_fast(l, PL_RWLOCK__SHARED)))
        (void)PL__ANN_SLOW_BOOL(l,
                                pl_rwlock_lock_slow(l, PL_RWLOCK__RECURSIVE, PL_FOREVER, __func__));
    PL__ANN_LOCK_POST(l, PL_RWLOCK__ANN_R | PL__ANN_RECURSIVE);
}

/** Releases a read lock; the last reader out wakes a writer waiting for readers to leave.
 *
 * Blocks: never (apart from the parking lot's bucket lock).  Ordering: release.  Misuse: aborts
 * if @p l has no readers (the word is left as it was).  Async-signal-safe: no. */
static inline void pl_rwlock_rdunlock(pl_rwlock_t *l) PL_RELEASE_SHARED(*l);
static inline PL_NO_THREAD_SAFETY_ANALYSIS void pl_rwlock_rdunlock(pl_rwlock_t *l)
{
    PL__ANN_UNLOCK_PRE(l, PL_RWLOCK__ANN_R);
    pl_rwlock__rdunlock(l, __func__);
    PL__ANN_UNLOCK_POST(l, PL_RWLOCK__ANN_R);
}

/** Same as pl_rwlock_rdunlock: a reader leaving releases nothing that queued threads wait for
 * except a writer's wait for readers, and that writer already owns the writer bit, so the
 * release is always a direct hand-off.  Provided for symmetry.
 *
 * Blocks: never (apart from the bucket lock).  Ordering: release.  Misuse: as
 * pl_rwlock_rdunlock.  Async-signal-safe: no. */
static inline void pl_rwlock_rdunlock_fair(pl_rwlock_t *l) PL_RELEASE_SHARED(*l);
static inline PL_NO_THREAD_SAFETY_ANALYSIS void pl_rwlock_rdunlock_fair(pl_rwlock_t *l)
{
    PL__ANN_UNLOCK_PRE(l, PL_RWLOCK__ANN_R);
    pl_rwlock__rdunlock(l, __func__);
    PL__ANN_UNLOCK_POST(l, PL_RWLOCK__ANN_R);
}

/* ---- Exclusive (write) ---- */

/** Blocks until the caller holds the write lock: first takes the writer bit (waiting for other
 * writers and the upgradable holder), which stops new readers, then waits for readers inside to
 * leave.
 *
 * Blocks: yes.  Ordering: acquire.  Misuse: not recursive: relocking from the holder, or from a
 * thread holding a read lock, deadlocks (undetected).  Async-signal-safe: no. */
static inline void pl_rwlock_wrlock(pl_rwlock_t *l) PL_ACQUIRE(*l);
static inline PL_NO_THREAD_SAFETY_ANALYSIS void pl_rwlock_wrlock(pl_rwlock_t *l)
{
    PL__ANN_LOCK_PRE(l, 0);
    (void)pl_rwlock__lock(l, PL_RWLOCK__EXCLUSIVE, PL_FOREVER, __func__);
    PL__ANN_LOCK_POST(l, 0);
}

/** Takes the write lock if nobody holds @p l in any mode (even if threads are queued).
 *
 * Blocks: never.  Ordering: acquire on success.  Misuse: none detected.  Async-signal-safe: no.
 * @return true if the caller now holds the write lock. */
static inline bool pl_rwlock_trywrlock(pl_rwlock_t *l) PL_TRY_ACQUIRE(true, *l);
static inline PL_NO_THREAD_SAFETY_ANALYSIS bool pl_rwlock_trywrlock(pl_rwlock_t *l)
{
    PL__ANN_LOCK_PRE(l, PL_RWLOCK__ANN_TRY);
    uintptr_t s = 0;
    bool ok =
        PL__CAS(&l->state, &s, PL_RWLOCK_WRITER_BIT, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
    /* Only parked bits set (threads queued, the lock free): take it past them. */
    while (!ok && !(s & (PL_RWLOCK_READERS_MASK | PL_RWLOCK_UPGRADABLE_BIT | PL_RWLOCK_WRITER_BIT)))
        ok = PL__CAS(&l->state, &s, s | PL_RWLOCK_WRITER_BIT, true, __ATOMIC_ACQUIRE,
                     __ATOMIC_RELAXED);
    PL__ANN_LOCK_POST(l, PL__ANN_RESULT(PL_RWLOCK__ANN_TRY, ok));
    return ok;
}

/** As pl_rwlock_wrlock, but gives up once the absolute @p deadline passes; never before.
 * A writer that gave up while waiting for readers drops the writer bit and wakes the readers it
 * held back.  A deadline already past still takes a free lock.
 *
 * Blocks: until the deadline at most.  Ordering: acquire on success.  Misuse: as
 * pl_rwlock_wrlock (the self-deadlock times out).  Async-signal-safe: no.
 * @return true if taken, false once the deadline has passed. */
static inline bool pl_rwlock_wrlock_until(pl_rwlock_t *l, uint64_t deadline)
    PL_TRY_ACQUIRE(true, *l);
static inline PL_NO_THREAD_SAFETY_ANALYSIS bool pl_rwlock_wrlock_until(pl_rwlock_t *l,
                                                                       uint64_t deadline)
{
    PL__ANN_LOCK_PRE(l, PL__ANN_TRY);
    bool ok = pl_rwlock__lock(l, PL_RWLOCK__EXCLUSIVE, deadline, __func__);
    PL__ANN_LOCK_POST(l, PL__ANN_RESULT(PL__ANN_TRY, ok));
    return ok;
}

/** As pl_rwlock_wrlock_until with a deadline @p timeout_ns from now (saturating).
 *
 * Blocks: up to @p timeout_ns.  Ordering: acquire on success.  Misuse: as
 * pl_rwlock_wrlock_until.  Async-signal-safe: no.
 * @return true if taken, false if the timeout expired first. */
static inline bool pl_rwlock_wrlock_for(pl_rwlock_t *l, uint64_t timeout_ns)
    PL_TRY_ACQUIRE(true, *l);
static inline PL_NO_THREAD_SAFETY_ANALYSIS bool pl_rwlock_wrlock_for(pl_rwlock_t *l,
                                                                     uint64_t timeout_ns)
{
    PL__ANN_LOCK_PRE(l, PL__ANN_TRY);
    bool ok = pl_rwlock__lock_for(l, PL_RWLOCK__EXCLUSIVE, timeout_ns, __func__);
    PL__ANN_LOCK_POST(l, PL__ANN_RESULT(PL__ANN_TRY, ok));
    return ok;
}

/** Releases the write lock; wakes all queued readers and at most one writer or upgradable
 * waiter.
 *
 * Blocks: never (apart from the bucket lock).  Ordering: release.  Misuse: aborts if @p l is not
 * write-locked (free, read-locked, upgradable-locked, or a writer still waiting for readers).
 * Async-signal-safe: no. */
static inline void pl_rwlock_wrunlock(pl_rwlock_t *l) PL_RELEASE(*l);
static inline PL_NO_THREAD_SAFETY_ANALYSIS void pl_rwlock_wrunlock(pl_rwlock_t *l)
{
    PL__ANN_UNLOCK_PRE(l, 0);
    pl_rwlock__wrunlock(l, false, __func__);
    PL__ANN_UNLOCK_POST(l, 0);
}

/** As pl_rwlock_wrunlock, but if threads are queued the lock goes straight to the ones woken
 * (their shares are put in the word before they run), so neither the caller nor any other
 * running thread can take it first.
 *
 * Blocks: never (apart from the bucket lock).  Ordering: release.  Misuse: as
 * pl_rwlock_wrunlock.  Async-signal-safe: no. */
static inline void pl_rwlock_wrunlock_fair(pl_rwlock_t *l) PL_RELEASE(*l);
static inline PL_NO_THREAD_SAFETY_ANALYSIS void pl_rwlock_wrunlock_fair(pl_rwlock_t *l)
{
    PL__ANN_UNLOCK_PRE(l, 0);
    pl_rwlock__wrunlock(l, true, __func__);
    PL__ANN_UNLOCK_POST(l, 0);
}

/* ---- Upgradable ---- */

/** Blocks until the caller holds the upgradable lock: waits while a writer or another
 * upgradable holder exists; plain readers may be inside.
 *
 * Blocks: yes.  Ordering: acquire.  Misuse: relocking from the upgradable holder deadlocks
 * (undetected); aborts on reader count overflow.  Async-signal-safe: no. */
static inline void pl_rwlock_uplock(pl_rwlock_t *l) PL_ACQUIRE_SHARED(*l);
static inline PL_NO_THREAD_SAFETY_ANALYSIS void pl_rwlock_uplock(pl_rwlock_t *l)
{
    PL__ANN_LOCK_PRE(l, PL_RWLOCK__ANN_U);
    (void)pl_rwlock__lock(l, PL_RWLOCK__UPGRADABLE, PL_FOREVER, __func__);
    PL__ANN_LOCK_POST(l, PL_RWLOCK__ANN_U);
}

/** Takes the upgradable lock unless a writer or another upgradable holder exists.
 *
 * Blocks: never.  Ordering: acquire on success.  Misuse: aborts on reader count overflow.
 * Async-signal-safe: no.
 * @return true if the caller now holds the upgradable lock. */
static inline bool pl_rwlock_tryuplock(pl_rwlock_t *l) PL_TRY_ACQUIRE_SHARED(true, *l);
static inline PL_NO_THREAD_SAFETY_ANALYSIS bool pl_rwlock_tryuplock(pl_rwlock_t *l)
{
    PL__ANN_LOCK_PRE(l, PL_RWLOCK__ANN_U | PL_RWLOCK__ANN_TRY);
    bool ok = pl_rwlock__try_share(l, PL_RWLOCK__UPGRADABLE, __func__);
    PL__ANN_LOCK_POST(l, PL__ANN_RESULT(PL_RWLOCK__ANN_U | PL_RWLOCK__ANN_TRY, ok));
    return ok;
}

/** As pl_rwlock_uplock, but gives up once the absolute @p deadline passes; never before.
 * A deadline already past still takes a free lock.
 *
 * Blocks: until the deadline at most.  Ordering: acquire on success.  Misuse: aborts on reader
 * count overflow.  Async-signal-safe: no.
 * @return true if taken, false once the deadline has passed. */
static inline bool pl_rwlock_uplock_until(pl_rwlock_t *l, uint64_t deadline)
    PL_TRY_ACQUIRE_SHARED(true, *l);
static inline PL_NO_THREAD_SAFETY_ANALYSIS bool pl_rwlock_uplock_until(pl_rwlock_t *l,
                                                                       uint64_t deadline)
{
    PL__ANN_LOCK_PRE(l, PL_RWLOCK__ANN_U | PL__ANN_TRY);
    bool ok = pl_rwlock__lock(l, PL_RWLOCK__UPGRADABLE, deadline, __func__);
    PL__ANN_LOCK_POST(l, PL__ANN_RESULT(PL_RWLOCK__ANN_U | PL__ANN_TRY, ok));
    return ok;
}

/** As pl_rwlock_uplock_until with a deadline @p timeout_ns from now (saturating).
 *
 * Blocks: up to @p timeout_ns.  Ordering: acquire on success.  Misuse: aborts on reader count
 * overflow.  Async-signal-safe: no.
 * @return true if taken, false if the timeout expired first. */
static inline bool pl_rwlock_uplock_for(pl_rwlock_t *l, uint64_t timeout_ns)
    PL_TRY_ACQUIRE_SHARED(true, *l);
static inline PL_NO_THREAD_SAFETY_ANALYSIS bool pl_rwlock_uplock_for(pl_rwlock_t *l,
                                                                     uint64_t timeout_ns)
{
    PL__ANN_LOCK_PRE(l, PL_RWLOCK__ANN_U | PL__ANN_TRY);
    bool ok = pl_rwlock__lock_for(l, PL_RWLOCK__UPGRADABLE, timeout_ns, __func__);
    PL__ANN_LOCK_POST(l, PL__ANN_RESULT(PL_RWLOCK__ANN_U | PL__ANN_TRY, ok));
    return ok;
}

/** Releases the upgradable lock; if threads are queued, wakes all queued readers and at most
 * one writer or upgradable waiter.
 *
 * Blocks: never (apart from the bucket lock).  Ordering: release.  Misuse: aborts if nobody
 * holds the upgradable lock.  Async-signal-safe: no. */
static inline void pl_rwlock_upunlock(pl_rwlock_t *l) PL_RELEASE_SHARED(*l);
static inline PL_NO_THREAD_SAFETY_ANALYSIS void pl_rwlock_upunlock(pl_rwlock_t *l)
{
    PL__ANN_UNLOCK_PRE(l, PL__ANN_READ | PL__ANN_RELEASES_UP);
    pl_rwlock__upunlock(l, false, __func__);
    PL__ANN_UNLOCK_POST(l, PL__ANN_READ | PL__ANN_RELEASES_UP);
}

/** As pl_rwlock_upunlock, but hands the lock directly to the threads it wakes (see
 * pl_rwlock_wrunlock_fair).
 *
 * Blocks: never (apart from the bucket lock).  Ordering: release.  Misuse: as
 * pl_rwlock_upunlock.  Async-signal-safe: no. */
static inline void pl_rwlock_upunlock_fair(pl_rwlock_t *l) PL_RELEASE_SHARED(*l);
static inline PL_NO_THREAD_SAFETY_ANALYSIS void pl_rwlock_upunlock_fair(pl_rwlock_t *l)
{
    PL__ANN_UNLOCK_PRE(l, PL__ANN_READ | PL__ANN_RELEASES_UP);
    pl_rwlock__upunlock(l, true, __func__);
    PL__ANN_UNLOCK_POST(l, PL__ANN_READ | PL__ANN_RELEASES_UP);
}

/** Turns the caller's upgradable lock into the write lock: sets the writer bit at once (new
 * readers now block; no other writer can have slipped in) and waits until the other readers
 * leave.
 *
 * Blocks: yes, while other readers are inside.  Ordering: acquire.  Misuse: aborts if nobody
 * holds the upgradable lock.  Async-signal-safe: no. */
static inline void pl_rwlock_upgrade(pl_rwlock_t *l) PL_RELEASE_SHARED(*l) PL_ACQUIRE(*l);
static inline PL_NO_THREAD_SAFETY_ANALYSIS void pl_rwlock_upgrade(pl_rwlock_t *l)
{
    PL_RWLOCK__ANN_UPGRADE_PRE(l, 0, PL_RWLOCK__ANN_UPGRADE);
    (void)pl_rwlock__upgrade(l, PL_FOREVER, __func__);
    PL__ANN_LOCK_POST(l, PL_RWLOCK__ANN_UPGRADE);
}

/** Upgrades only if no other reader is inside.  On failure the caller still holds the
 * upgradable lock.
 *
 * Blocks: never.  Ordering: acquire on success.  Misuse: aborts if nobody holds the upgradable
 * lock.  Async-signal-safe: no.
 * @return true if the caller now holds the write lock. */
static inline bool pl_rwlock_tryupgrade(pl_rwlock_t *l)
{
    PL_RWLOCK__ANN_UPGRADE_PRE(l, PL__ANN_TRY, PL_RWLOCK__ANN_UPGRADE | PL__ANN_NEVER_BLOCKS);
    bool ok = pl_rwlock__upgrade(l, 0, __func__);
    PL_RWLOCK__ANN_UPGRADE_POST(l, PL__ANN_TRY, PL_RWLOCK__ANN_UPGRADE | PL__ANN_NEVER_BLOCKS, ok);
    return ok;
}

/** As pl_rwlock_upgrade, but gives up once the absolute @p deadline passes, never before;
 * then the caller still holds the upgradable lock, and readers held back meanwhile are woken.
 * A deadline already past still upgrades when no other reader is inside.
 *
 * Blocks: until the deadline at most.  Ordering: acquire on success.  Misuse: aborts if nobody
 * holds the upgradable lock.  Async-signal-safe: no.
 * @return true if upgraded, false once the deadline has passed. */
static inline bool pl_rwlock_upgrade_until(pl_rwlock_t *l, uint64_t deadline)
{
    PL_RWLOCK__ANN_UPGRADE_PRE(l, PL__ANN_TRY, PL_RWLOCK__ANN_UPGRADE);
    bool ok = pl_rwlock__upgrade(l, deadline, __func__);
    PL_RWLOCK__ANN_UPGRADE_POST(l, PL__ANN_TRY, PL_RWLOCK__ANN_UPGRADE, ok);
    return ok;
}

/** As pl_rwlock_upgrade_until with a deadline @p timeout_ns from now (saturating).
 *
 * Blocks: up to @p timeout_ns.  Ordering: acquire on success.  Misuse: aborts if nobody holds
 * the upgradable lock.  Async-signal-safe: no.
 * @return true if upgraded, false if the timeout expired first. */
static inline bool pl_rwlock_upgrade_for(pl_rwlock_t *l, uint64_t timeout_ns)
{
    PL_RWLOCK__ANN_UPGRADE_PRE(l, PL__ANN_TRY, PL_RWLOCK__ANN_UPGRADE);
    bool ok = pl_rwlock__upgrade_for(l, timeout_ns, __func__);
    PL_RWLOCK__ANN_UPGRADE_POST(l, PL__ANN_TRY, PL_RWLOCK__ANN_UPGRADE, ok);
    return ok;
}

/* ---- Downgrades: never block (apart from the bucket lock when waking); release ordering;
 * abort if the mode given up is not held. ---- */

/** Write lock -> read lock, atomically (no writer can get in between); wakes queued readers.
 *
 * Blocks: never (apart from the bucket lock).  Ordering: release.  Misuse: aborts if @p l is
 * not write-locked.  Async-signal-safe: no. */
static inline void pl_rwlock_downgrade(pl_rwlock_t *l) PL_RELEASE(*l) PL_ACQUIRE_SHARED(*l);
static inline PL_NO_THREAD_SAFETY_ANALYSIS void pl_rwlock_downgrade(pl_rwlock_t *l)
{
    PL_RWLOCK__ANN_DOWNGRADE(l, 0, PL_RWLOCK__ANN_R,
                             pl_rwlock__downgrade(l, PL_RWLOCK__SHARED, __func__));
}

/** Write lock -> upgradable lock, atomically; wakes queued readers.
 *
 * Blocks: never (apart from the bucket lock).  Ordering: release.  Misuse: aborts if @p l is
 * not write-locked.  Async-signal-safe: no. */
static inline void pl_rwlock_downgrade_to_upgradable(pl_rwlock_t *l) PL_RELEASE(*l)
    PL_ACQUIRE_SHARED(*l);
static inline PL_NO_THREAD_SAFETY_ANALYSIS void pl_rwlock_downgrade_to_upgradable(pl_rwlock_t *l)
{
    PL_RWLOCK__ANN_DOWNGRADE(l, PL_RWLOCK__ANN_UPGRADE, PL__ANN_READ | PL_RWLOCK__ANN_UPGRADE,
                             pl_rwlock__downgrade(l, PL_RWLOCK__UPGRADABLE, __func__));
}

/** Upgradable lock -> read lock, atomically; wakes at most one writer or upgradable waiter (and
 * any queued readers).
 *
 * Blocks: never (apart from the bucket lock).  Ordering: release.  Misuse: aborts if nobody
 * holds the upgradable lock.  Async-signal-safe: no. */
static inline void pl_rwlock_downgrade_upgradable(pl_rwlock_t *l)
{
    PL_RWLOCK__ANN_DOWNGRADE(
        l, PL__ANN_READ | PL__ANN_RELEASES_UP, PL__ANN_READ | PL__ANN_RELEASES_UP,
        if (PARKING_UNLIKELY(!pl_rwlock__drop_upgradable(l, PL_RWLOCK_ONE_READER))) PL__ANN_SLOW(
            l, pl_rwlock_downgrade_slow(l, PL_RWLOCK__UPGRADABLE, PL_RWLOCK__SHARED, __func__)));
}

/* ---- Snapshots (relaxed loads: for assertions and statistics; stale at once) ---- */

/** Whether some thread holds @p l in any mode (a snapshot).
 * Blocks: never.  Ordering: none (relaxed).  Misuse: none.  Async-signal-safe: no. */
static inline bool pl_rwlock_is_locked(const pl_rwlock_t *l)
{
    uintptr_t s = __atomic_load_n(&l->state, __ATOMIC_RELAXED);
    return (s & (PL_RWLOCK_READERS_MASK | PL_RWLOCK_WRITER_BIT)) != 0;
}

/** Whether a writer holds @p l (not merely waits for readers to leave); a snapshot.
 * Blocks: never.  Ordering: none (relaxed).  Misuse: none.  Async-signal-safe: no. */
static inline bool pl_rwlock_is_write_locked(const pl_rwlock_t *l)
{
    uintptr_t s = __atomic_load_n(&l->state, __ATOMIC_RELAXED);
    return (s & (PL_RWLOCK_READERS_MASK | PL_RWLOCK_WRITER_BIT)) == PL_RWLOCK_WRITER_BIT;
}

/** Whether some thread holds the upgradable lock (a snapshot).
 * Blocks: never.  Ordering: none (relaxed).  Misuse: none.  Async-signal-safe: no. */
static inline bool pl_rwlock_is_upgradable_locked(const pl_rwlock_t *l)
{
    return (__atomic_load_n(&l->state, __ATOMIC_RELAXED) & PL_RWLOCK_UPGRADABLE_BIT) != 0;
}

/** Number of read (and upgradable) holders now (a snapshot).
 * Blocks: never.  Ordering: none (relaxed).  Misuse: none.  Async-signal-safe: no. */
static inline uintptr_t pl_rwlock_reader_count(const pl_rwlock_t *l)
{
    return __atomic_load_n(&l->state, __ATOMIC_RELAXED) / PL_RWLOCK_ONE_READER;
}

/** Aborts with `libparking: pl_rwlock_assert_held(<address>): ...` unless the calling thread
 * holds the write lock of @p l (Abseil's Mutex::AssertHeld).  For Clang's thread-safety
 * analysis @p l is held exclusively after it returns (PL_ASSERT_CAPABILITY).
 *
 * Exact in debug mode (PARKING_DEBUG: the owner tables).  Otherwise it checks only that SOME
 * thread holds the write lock (pl_rwlock_is_write_locked): one relaxed load and a branch.
 *
 * Blocks: never (debug mode: its internal mutex).  Ordering: none.  Misuse: the failed
 * assertion aborts.  Async-signal-safe: no. */
static inline void pl_rwlock_assert_held(const pl_rwlock_t *l) PL_ASSERT_CAPABILITY(*l);
static inline PL_NO_THREAD_SAFETY_ANALYSIS void pl_rwlock_assert_held(const pl_rwlock_t *l)
{
#if PL__DBG_ON
    pl_debug_assert_held(l, 0, __func__);
#endif
    if (PARKING_UNLIKELY(!pl_rwlock_is_write_locked(l)))
        pl_lock_not_held(l, __func__, "assertion failed: the rwlock is not write-locked");
}

/** Aborts with `libparking: pl_rwlock_assert_shared_held(<address>): ...` unless the calling
 * thread holds @p l in some mode: read, upgradable or write (Abseil's
 * Mutex::AssertReaderHeld).  For Clang's analysis @p l is held shared after it returns
 * (PL_ASSERT_SHARED_CAPABILITY).
 *
 * Exact in debug mode (PARKING_DEBUG: the owner tables).  Otherwise it checks only that some
 * thread holds @p l in some mode: one relaxed load and a branch.
 *
 * Blocks: never (debug mode: its internal mutex).  Ordering: none.  Misuse: the failed
 * assertion aborts.  Async-signal-safe: no. */
static inline void pl_rwlock_assert_shared_held(const pl_rwlock_t *l)
    PL_ASSERT_SHARED_CAPABILITY(*l);
static inline PL_NO_THREAD_SAFETY_ANALYSIS void pl_rwlock_assert_shared_held(const pl_rwlock_t *l)
{
#if PL__DBG_ON
    pl_debug_assert_held(l, PL__ANN_READ, __func__);
#endif
    if (PARKING_UNLIKELY(!pl_rwlock_is_locked(l)))
        pl_lock_not_held(l, __func__, "assertion failed: the rwlock is not locked");
}

PARKING_END_DECLS

#endif /* PARKING_RWLOCK_H */
