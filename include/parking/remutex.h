/** @file
 * libparking: pl_remutex_t, a reentrant (recursive) mutex.
 *
 * The thread that holds a pl_remutex_t may lock it again; it is released when every lock has
 * been matched by an unlock.  It is a pl_mutex_t plus the owner's thread identity and the
 * recursion depth: sizeof is 16 bytes where pointers are 8 bytes (8 owner + 4 depth + 1 mutex,
 * rounded up to the owner's alignment), 12 where they are 4.  All-zero bytes (PL_REMUTEX_INIT)
 * are an unlocked mutex; nothing needs destroying.  Policy (spinning, parking, eventual
 * fairness) is that of pl_mutex_t.
 *
 * Fast paths: the first lock is pl_mutex_t's one atomic read-modify-write plus two plain stores;
 * a nested lock or unlock is a relaxed load of the owner and an increment or decrement, no
 * atomic read-modify-write at all.  The thread identity comes from pl_thread_id(), inline (one
 * thread-local address) where the platform allows (see below).
 *
 * Orderings: the first lock acquires, the last unlock releases (those of the inner pl_mutex_t);
 * nested locks and unlocks order nothing, as the thread already holds the mutex.
 *
 * Misuse aborts with `libparking: <function>(<address>): <what>`: an unlock by a thread that
 * does not hold the mutex (including when nobody does), and a lock that would take the depth
 * past PL_REMUTEX_MAX_DEPTH.  A thread that exits while holding the mutex leaves it locked
 * forever, and a later thread may be given the same identity and then pass for its owner:
 * do not do that.  None of these functions is async-signal-safe.
 *
 * Fields (for debuggers and white-box tests; use the functions): `owner` is the holder's
 * pl_thread_id() or 0, written only by the holder and read by every locker (relaxed atomics);
 * `count` is the depth, touched only by the holder; `mutex` is the lock itself.
 *
 * Race detectors: ThreadSanitizer, Helgrind and DRD understand this lock, through the hooks of
 * parking/annotate.h (which says in which builds they are compiled in).
 */
#ifndef PARKING_REMUTEX_H
#define PARKING_REMUTEX_H

#include <stdbool.h>
#include <stdint.h>

#include <parking/annotate.h>
#include <parking/export.h>
#include <parking/thread_safety.h>
#include <parking/mutex.h>

PARKING_BEGIN_DECLS

/** A reentrant mutex; all-zero bytes (PL_REMUTEX_INIT) are unlocked.  Use the functions only. */
typedef struct PL_CAPABILITY("mutex") pl_remutex {
    uintptr_t owner;
    uint32_t count;
    pl_mutex_t mutex;
} pl_remutex_t;
/** @var pl_remutex_t::owner
 * The holder's pl_thread_id(), or 0; written only by the holder (relaxed atomics). */
/** @var pl_remutex_t::count
 * The recursion depth; touched only by the holder. */
/** @var pl_remutex_t::mutex
 * The lock itself. */

/** Initialiser of an unlocked pl_remutex_t (the same as zeroed memory). */
#define PL_REMUTEX_INIT                                                                            \
  {                                                                                                \
    0, 0, PL_MUTEX_INIT                                                                            \
  }
/** The deepest recursion: one more lock by the owner aborts. */
#define PL_REMUTEX_MAX_DEPTH UINT32_MAX

/** @fn uintptr_t pl_thread_id(void)
 * An identity of the calling thread, non-zero, distinct from that of every other live thread,
 * the same in every module (executable, shared libraries) of the process.  It is the address of
 * a one-byte thread-local variable of libparking; a thread that exits releases it, so a new
 * thread may get the same value.
 *
 * Where a shared library can export thread-local data (ELF, Mach-O, and any static build) the
 * variable is exported and pl_thread_id() is inline: in an executable, one or two instructions.
 * A Windows DLL cannot export thread-local data, so there pl_thread_id() is an exported
 * function.
 *
 * Blocks: never.  Ordering: none.  Misuse: none.  Async-signal-safe: not guaranteed (a thread's
 * first access to thread-local storage may allocate). */
#if defined(_WIN32) && !defined(PARKING_STATIC)
PARKING_API uintptr_t pl_thread_id(void);
#else
#  if defined(__GNUC__) || defined(__clang__)
#    define PL__THREAD_LOCAL                                                                       \
      __thread /* no C++ dynamic-initialisation wrapper, unlike thread_local */
#  elif defined(__cplusplus)
#    define PL__THREAD_LOCAL thread_local
#  else
#    define PL__THREAD_LOCAL _Thread_local
#  endif
/* Not for direct use: only its address matters. */
extern PARKING_API PL__THREAD_LOCAL char pl_thread_id_anchor;
static inline uintptr_t pl_thread_id(void) { return PL__PTOI(&pl_thread_id_anchor); }
#endif

/* Slow paths, out of line.  Not for direct use. */
PARKING_API PARKING_NORETURN void pl_remutex_overflow(const pl_remutex_t *m, const char *fn);
PARKING_API PARKING_NORETURN void pl_remutex_bad_unlock(const pl_remutex_t *m, const char *fn);

/* The owner's nested lock: only the owner reads or writes count. */
static inline void pl_remutex__relock(pl_remutex_t *m, const char *fn)
{
    if (PARKING_UNLIKELY(m->count == PL_REMUTEX_MAX_DEPTH))
        pl_remutex_overflow(m, fn);
    m->count++;
}

/* After the inner mutex was taken.  Relaxed suffices for owner: another thread compares it
 * only with its own identity, which it can never read here unless it stored it itself. */
static inline void pl_remutex__own(pl_remutex_t *m, uintptr_t me)
{
    /* Helgrind and DRD (parking/annotate.h): lockers read the owner without the lock. */
    PL__VG_RACY(&m->owner, sizeof m->owner);
    __atomic_store_n(&m->owner, me, __ATOMIC_RELAXED);
    m->count = 1;
}

static inline bool pl_remutex__mine(const pl_remutex_t *m, uintptr_t me)
{
    return __atomic_load_n(&m->owner, __ATOMIC_RELAXED) == me;
}

/* Annotations (parking/annotate.h) name the pl_remutex_t itself: its inner mutex is taken and
 * released with the unannotated pl_mutex__ operations.  The owner's writes of `count` come after
 * LOCK_POST and before UNLOCK_PRE, inside the critical section as a race detector sees it. */

/** Blocks until the calling thread holds @p m; returns at once (depth + 1) if it already does.
 *
 * Blocks: yes, unless the caller already holds @p m.  Ordering: acquire on the first lock;
 * nested locks order nothing.  Misuse: aborts if the depth would pass PL_REMUTEX_MAX_DEPTH.
 * Async-signal-safe: no. */
static inline void pl_remutex_lock(pl_remutex_t *m) PL_ACQUIRE(*m);
static inline PL_NO_THREAD_SAFETY_ANALYSIS void pl_remutex_lock(pl_remutex_t *m)
{
    uintptr_t me = pl_thread_id();
    if (pl_remutex__mine(m, me)) {
        PL__ANN_LOCK_PRE(m, PL__ANN_RECURSIVE);
        pl_remutex__relock(m, __func__);
        PL__ANN_LOCK_POST(m, PL__ANN_RECURSIVE);
        return;
    }
    PL__ANN_LOCK_PRE(m, 0);
    pl_mutex__lock(&m->mutex);
    PL__ANN_LOCK_POST(m, 0);
    pl_remutex__own(m, me);
}

/** Takes @p m if it is free or already held by the calling thread.
 *
 * Blocks: never.  Ordering: acquire when it takes @p m first.  Misuse: aborts if the depth
 * would pass PL_REMUTEX_MAX_DEPTH.  Async-signal-safe: no.
 * @return true if the caller now holds @p m (one level deeper). */
static inline bool pl_remutex_trylock(pl_remutex_t *m) PL_TRY_ACQUIRE(true, *m);
static inline PL_NO_THREAD_SAFETY_ANALYSIS bool pl_remutex_trylock(pl_remutex_t *m)
{
    uintptr_t me = pl_thread_id();
    if (pl_remutex__mine(m, me)) {
        PL__ANN_LOCK_PRE(m, PL__ANN_TRY | PL__ANN_NEVER_BLOCKS | PL__ANN_RECURSIVE);
        pl_remutex__relock(m, __func__);
        PL__ANN_LOCK_POST(m, PL__ANN_TRY | PL__ANN_NEVER_BLOCKS | PL__ANN_RECURSIVE);
        return true;
    }
    PL__ANN_LOCK_PRE(m, PL__ANN_TRY | PL__ANN_NEVER_BLOCKS);
    bool ok = pl_mutex__trylock(&m->mutex);
    PL__ANN_LOCK_POST(m, PL__ANN_RESULT(PL__ANN_TRY | PL__ANN_NEVER_BLOCKS, ok));
    if (ok)
        pl_remutex__own(m, me);
    return ok;
}

/** As pl_remutex_lock, but gives up once the absolute @p deadline (pl_now() ns; PL_FOREVER:
 * none) passes.  The owner always succeeds at once; a deadline already past still takes a free
 * mutex.
 *
 * Blocks: until the deadline at most.  Ordering: acquire when it takes @p m first.  Misuse:
 * aborts if the depth would pass PL_REMUTEX_MAX_DEPTH.  Async-signal-safe: no.
 * @return true if the caller now holds @p m, false once the deadline has passed. */
static inline bool pl_remutex_lock_until(pl_remutex_t *m, uint64_t deadline)
    PL_TRY_ACQUIRE(true, *m);
static inline PL_NO_THREAD_SAFETY_ANALYSIS bool pl_remutex_lock_until(pl_remutex_t *m,
                                                                      uint64_t deadline)
{
    uintptr_t me = pl_thread_id();
    if (pl_remutex__mine(m, me)) {
        PL__ANN_LOCK_PRE(m, PL__ANN_TRY | PL__ANN_RECURSIVE);
        pl_remutex__relock(m, __func__);
        PL__ANN_LOCK_POST(m, PL__ANN_TRY | PL__ANN_RECURSIVE);
        return true;
    }
    PL__ANN_LOCK_PRE(m, PL__ANN_TRY);
    bool ok = pl_mutex__lock_until(&m->mutex, deadline);
    PL__ANN_LOCK_POST(m, PL__ANN_RESULT(PL__ANN_TRY, ok));
    if (ok)
        pl_remutex__own(m, me);
    return ok;
}

/** As pl_remutex_lock_until with a deadline @p timeout_ns from now (saturating).
 *
 * Blocks: up to @p timeout_ns.  Ordering and misuse: as pl_remutex_lock_until.
 * Async-signal-safe: no.
 * @return true if the caller now holds @p m, false if the timeout expired first. */
static inline bool pl_remutex_lock_for(pl_remutex_t *m, uint64_t timeout_ns)
    PL_TRY_ACQUIRE(true, *m);
static inline PL_NO_THREAD_SAFETY_ANALYSIS bool pl_remutex_lock_for(pl_remutex_t *m,
                                                                    uint64_t timeout_ns)
{
    uintptr_t me = pl_thread_id();
    if (pl_remutex__mine(m, me)) {
        PL__ANN_LOCK_PRE(m, PL__ANN_TRY | PL__ANN_RECURSIVE);
        pl_remutex__relock(m, __func__);
        PL__ANN_LOCK_POST(m, PL__ANN_TRY | PL__ANN_RECURSIVE);
        return true;
    }
    PL__ANN_LOCK_PRE(m, PL__ANN_TRY);
    bool ok = pl_mutex__lock_for(&m->mutex, timeout_ns);
    PL__ANN_LOCK_POST(m, PL__ANN_RESULT(PL__ANN_TRY, ok));
    if (ok)
        pl_remutex__own(m, me);
    return ok;
}

/* The last unlock, by the owner, once count is 0. */
static inline void pl_remutex__release(pl_remutex_t *m, bool fair, const char *fn)
{
    /* Cleared before the release so that the next owner's store comes after ours. */
    __atomic_store_n(&m->owner, 0, __ATOMIC_RELAXED);
    pl_mutex__unlock(&m->mutex, fair, fn);
}

/** Undoes one lock of the calling thread; the last one releases @p m and wakes one waiter if
 * any.
 *
 * Blocks: never (apart from the bucket lock when waking).  Ordering: release on the last
 * unlock; nested unlocks order nothing.  Misuse: aborts if the calling thread does not hold
 * @p m (including when nobody does).  Async-signal-safe: no. */
static inline void pl_remutex_unlock(pl_remutex_t *m) PL_RELEASE(*m);
static inline PL_NO_THREAD_SAFETY_ANALYSIS void pl_remutex_unlock(pl_remutex_t *m)
{
    if (PARKING_UNLIKELY(!pl_remutex__mine(m, pl_thread_id())))
        pl_remutex_bad_unlock(m, __func__);
    if (--m->count != 0) {
        PL__ANN_UNLOCK_PRE(m, PL__ANN_RECURSIVE);
        PL__ANN_UNLOCK_POST(m, PL__ANN_RECURSIVE);
        return;
    }
    PL__ANN_UNLOCK_PRE(m, 0);
    pl_remutex__release(m, false, __func__);
    PL__ANN_UNLOCK_POST(m, 0);
}

/** As pl_remutex_unlock, but the last unlock hands @p m directly to the oldest waiter if any.
 *
 * Blocks: never (apart from the bucket lock).  Ordering and misuse: as pl_remutex_unlock.
 * Async-signal-safe: no. */
static inline void pl_remutex_unlock_fair(pl_remutex_t *m) PL_RELEASE(*m);
static inline PL_NO_THREAD_SAFETY_ANALYSIS void pl_remutex_unlock_fair(pl_remutex_t *m)
{
    if (PARKING_UNLIKELY(!pl_remutex__mine(m, pl_thread_id())))
        pl_remutex_bad_unlock(m, __func__);
    if (--m->count != 0) {
        PL__ANN_UNLOCK_PRE(m, PL__ANN_RECURSIVE);
        PL__ANN_UNLOCK_POST(m, PL__ANN_RECURSIVE);
        return;
    }
    PL__ANN_UNLOCK_PRE(m, 0);
    pl_remutex__release(m, true, __func__);
    PL__ANN_UNLOCK_POST(m, 0);
}

/** Whether the calling thread holds @p m (exact, not a snapshot: only this thread can change
 * that).  For assertions such as SQLite's xMutexHeld / xMutexNotheld.
 *
 * Blocks: never.  Ordering: none (relaxed load).  Misuse: none.  Async-signal-safe: no. */
static inline bool pl_remutex_is_held(const pl_remutex_t *m)
{
    return pl_remutex__mine(m, pl_thread_id());
}

/** Whether some thread holds @p m right now (a snapshot for assertions and statistics).
 *
 * Blocks: never.  Ordering: none (relaxed load).  Misuse: none.  Async-signal-safe: no. */
static inline bool pl_remutex_is_locked(const pl_remutex_t *m)
{
    return pl_mutex_is_locked(&m->mutex);
}

/** Aborts with `libparking: pl_remutex_assert_held(<address>): ...` unless the calling thread
 * holds @p m.  Exact in every build (the reentrant mutex records its owner); for Clang's
 * thread-safety analysis @p m is held after it returns (PL_ASSERT_CAPABILITY).
 *
 * Blocks: never.  Ordering: none.  Misuse: the failed assertion aborts.  Async-signal-safe: no. */
static inline void pl_remutex_assert_held(const pl_remutex_t *m) PL_ASSERT_CAPABILITY(*m);
static inline PL_NO_THREAD_SAFETY_ANALYSIS void pl_remutex_assert_held(const pl_remutex_t *m)
{
    if (PARKING_UNLIKELY(!pl_remutex_is_held(m)))
        pl_lock_not_held(m, __func__,
                         pl_remutex_is_locked(m)
                             ? "assertion failed: held by another thread, not by this one"
                             : "assertion failed: the reentrant mutex is not locked");
}

PARKING_END_DECLS

#endif /* PARKING_REMUTEX_H */
