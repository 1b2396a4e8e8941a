/** @file
 * libparking: bit locks and the pointer lock: a lock that lives in two bits of a word the
 * caller already has (a flags byte of a tree node, the low bits of an aligned pointer).
 *
 * A bit lock is named by a word and two masks: `lock_bit` (set while the lock is held) and
 * `parked_bit` (set while threads may be parked on it).  Each mask must have exactly one bit set
 * and the two must differ.  Every other bit of the word belongs to the caller: lock, unlock and
 * the parking machinery change only these two bits, with atomic read-modify-writes, so the
 * caller's bits are never lost, even when the caller changes them concurrently through
 * pl_bitlockN_update.  A word with both bits clear is an unlocked lock: zeroed memory needs no
 * initialisation and nothing needs destroying.
 *
 * Several bit locks may share one word (a byte can hold four of them); they are independent.
 * Their waiters all park under the word's address, each with its lock bit | parked bit as park
 * token, and an unlock wakes only waiters whose token is its own, so releasing one lock never
 * takes a wake-up meant for another.  Locks of one word may also share one parked bit (each with
 * its own lock bit): a parked bit is cleared only when no thread at all is left queued on the word,
 * so no lock's waiter is ever left asleep by another lock's unlock.  Giving each lock its own
 * parked bit is still faster when several locks of a word are contended at once (a shared bit stays
 * set while any of them has waiters, and sends the others' unlocks to the slow path). Any bit may
 * be a lock or parked bit, the top bit of a 64-bit word (a tagged pointer) included.
 *
 * Memory: the word belongs to the caller again as soon as the last unlock returns; no unlock
 * touches it after another thread can see the lock released (the release is a compare-and-swap
 * from "held, nobody parked", or happens inside the parking lot's unpark callback).  The caller
 * may free it then, provided no other call on the lock is in flight.
 *
 * The algorithm and policy are those of pl_mutex_t (which is this lock on bits 0 and 1 of a
 * byte): a contended lock spins briefly while nobody is parked, then parks; an unlock lets a
 * running thread barge in ahead of the woken one, except that about once per millisecond per
 * queue, and on every *_unlock_fair, the lock is handed directly to the oldest waiter.
 *
 * The families: every operation exists for five word types, named by the suffix N:
 * `pl_bitlock8_*` (uint8_t), `pl_bitlock16_*` (uint16_t), `pl_bitlock32_*` (uint32_t),
 * `pl_bitlock64_*` (uint64_t) and `pl_bitlockptr_*` (uintptr_t).  The word must be naturally
 * aligned (as any uintN_t object is) and, apart from the initialisation of memory not yet
 * shared, accessed only through these functions or other atomic operations.  With T the word
 * type, the operations are (each is static inline; none is async-signal-safe; each aborts on
 * bad masks, see Misuse below):
 *
 * - `void pl_bitlockN_lock(T *word, T lock_bit, T parked_bit)`:
 *   blocks until the caller holds the lock.  Acquire ordering.
 * - `bool pl_bitlockN_trylock(T *word, T lock_bit, T parked_bit)`:
 *   takes the lock if it is free (even if threads are parked on it); never blocks.  Acquire
 *   ordering when it returns true.
 * - `bool pl_bitlockN_lock_until(T *word, T lock_bit, T parked_bit, uint64_t deadline)`:
 *   as lock, but gives up and returns false once the absolute deadline (pl_now() ns,
 *   PL_FOREVER = none) has passed.  A deadline already past tries once (takes a free lock) and
 *   returns at once, without spinning.
 * - `bool pl_bitlockN_lock_for(T *word, T lock_bit, T parked_bit, uint64_t timeout_ns)`:
 *   as lock_until with the deadline timeout_ns from now (saturating).
 * - `void pl_bitlockN_unlock(T *word, T lock_bit, T parked_bit)`:
 *   releases the lock and wakes one of its waiters if any; never blocks (apart from the bucket
 *   lock).  Release ordering.  Aborts if the lock bit is not set.  Does not check which thread
 *   holds it (a bit lock has no owner): unlocking from another thread is allowed.
 * - `void pl_bitlockN_unlock_fair(T *word, T lock_bit, T parked_bit)`:
 *   as unlock, but if a thread waits for this lock, the lock is handed directly to the
 *   oldest one (it stays set and the woken thread returns holding it).
 * - `bool pl_bitlockN_is_locked(const T *word, T lock_bit, T parked_bit)`:
 *   whether the lock bit is set right now (a snapshot for assertions).  Never blocks.  Relaxed
 *   load.
 * - `T pl_bitlockN_load(const T *word, T lock_bit, T parked_bit)`:
 *   the word without its lock and parked bits: the caller's bits.  Never blocks.  Acquire load.
 * - `T pl_bitlockN_update(T *word, T lock_bit, T parked_bit, T clear_mask, T set_mask)`:
 *   atomically replaces the word w by (w & ~clear_mask) | set_mask, whether or not the lock
 *   is held, and returns the caller's bits of the new value (as load would).  A bit in
 *   both masks ends up set.  One read-modify-write with acquire and release ordering; it
 *   never blocks, and it retries only when another thread changed the word in between.
 *   Aborts if either mask touches the lock bit or the parked bit.
 *
 * Misuse aborts with `libparking: <function>(<word address>): <what>`: unlocking a lock whose
 * lock bit is clear, masks that are not one bit each or that coincide, update masks that touch
 * the lock's bits.  The mask checks are written in the inline functions but cost nothing when
 * the masks are compile-time constants (the intended use: the compiler folds them away); with
 * masks computed at run time they cost a few register operations and no memory access.
 * The exported slow paths check the masks again, and that the word is aligned.
 *
 * None of these functions is async-signal-safe.  Like pl_mutex_t, a bit lock is not recursive:
 * relocking it from the thread that holds it deadlocks (a lock_until then times out).
 */
#ifndef PARKING_BITLOCK_H
#define PARKING_BITLOCK_H

#include <stdbool.h>
#include <stdint.h>

#include <parking/cas.h>
#include <parking/export.h>
#include <parking/thread_safety.h>
#include <parking/lot.h>

PARKING_BEGIN_DECLS

/* Slow paths, out of line.  Not for direct use.  `size` is sizeof the word (1, 2, 4 or 8);
 * `fn` names the public function for misuse messages; the deadline is absolute (the _for
 * functions compute it inline: docs/design.md, "From fast path to slow path"). */
PARKING_API bool pl_bitlock_lock_slow(void *word, unsigned size, uint64_t lock_bit,
                                      uint64_t parked_bit, uint64_t deadline, const char *fn);
PARKING_API void pl_bitlock_unlock_slow(void *word, unsigned size, uint64_t lock_bit,
                                        uint64_t parked_bit, bool fair, const char *fn);
/* Aborts with a message saying which of the masks is wrong. */
PARKING_API PARKING_NORETURN void pl_bitlock_bad_masks(const void *word, uint64_t lock_bit,
                                                       uint64_t parked_bit, uint64_t clear_mask,
                                                       uint64_t set_mask, const char *fn);

/* One bit each, and different. */
static inline bool pl_bitlock__masks_ok(uint64_t lock_bit, uint64_t parked_bit)
{
    return lock_bit != 0 && (lock_bit & (lock_bit - 1)) == 0 && parked_bit != 0 &&
           (parked_bit & (parked_bit - 1)) == 0 && lock_bit != parked_bit;
}

/* The family for suffix S and word type T.  The internal functions (double underscore) take
 * the public name `fn` so that the pointer lock's misuse messages name its own functions. */
#define PL_BITLOCK__DEFINE(S, T)                                                                   \
  static inline void pl_bitlock##S##__check(const T *word, T l, T p, const char *fn)               \
  {                                                                                                \
    if (PARKING_UNLIKELY(!pl_bitlock__masks_ok(l, p)))                                             \
      pl_bitlock_bad_masks(word, l, p, 0, 0, fn);                                                  \
  }                                                                                                \
  /* fetch_or of a bit already set changes nothing, so no compare is needed: one RMW. */           \
  static inline bool pl_bitlock##S##__try(T * word, T l, T p, const char *fn)                      \
  {                                                                                                \
    pl_bitlock##S##__check(word, l, p, fn);                                                        \
    return (__atomic_fetch_or(word, l, __ATOMIC_ACQUIRE) & l) == 0;                                \
  }                                                                                                \
  static inline bool pl_bitlock##S##__lock_until(T *word, T l, T p, uint64_t deadline,             \
                                                 const char *fn)                                   \
  {                                                                                                \
    if (PARKING_LIKELY(pl_bitlock##S##__try(word, l, p, fn)))                                      \
      return true;                                                                                 \
    return pl_bitlock_lock_slow(word, sizeof(T), l, p, deadline, fn);                              \
  }                                                                                                \
  static inline bool pl_bitlock##S##__lock_for(T *word, T l, T p, uint64_t timeout_ns,             \
                                               const char *fn)                                     \
  {                                                                                                \
    if (PARKING_LIKELY(pl_bitlock##S##__try(word, l, p, fn)))                                      \
      return true;                                                                                 \
    return pl_bitlock_lock_slow(word, sizeof(T), l, p, pl_deadline_after(timeout_ns), fn);         \
  }                                                                                                \
  /* Only "held, nobody parked" is released here; the caller's bits ride along unchanged.    \
     * Anything else (parked waiters, lock bit clear, a concurrent change of another bit that  \
     * made the CAS fail) is sorted out by the slow path. */     \
  static inline void pl_bitlock##S##__unlock(T *word, T l, T p, bool fair, const char *fn)         \
  {                                                                                                \
    pl_bitlock##S##__check(word, l, p, fn);                                                        \
    T old = __atomic_load_n(word, __ATOMIC_RELAXED);                                               \
    if (PARKING_LIKELY(PL__CAST(T, old & PL__CAST(T, l | p)) == l) &&                              \
        PARKING_LIKELY(PL__CAS(word, &old, PL__CAST(T, old & PL__CAST(T, ~l)), true,               \
                               __ATOMIC_RELEASE, __ATOMIC_RELAXED)))                               \
      return;                                                                                      \
    pl_bitlock_unlock_slow(word, sizeof(T), l, p, fair, fn);                                       \
  }                                                                                                \
  static inline bool pl_bitlock##S##__is_locked(const T *word, T l, T p, const char *fn)           \
  {                                                                                                \
    pl_bitlock##S##__check(word, l, p, fn);                                                        \
    return (__atomic_load_n(word, __ATOMIC_RELAXED) & l) != 0;                                     \
  }                                                                                                \
                                                                                                   \
  static inline void pl_bitlock##S##_lock(T *word, T lock_bit, T parked_bit)                       \
  {                                                                                                \
    if (PARKING_UNLIKELY(!pl_bitlock##S##__try(word, lock_bit, parked_bit, __func__)))             \
      (void)pl_bitlock_lock_slow(word, sizeof(T), lock_bit, parked_bit, PL_FOREVER, __func__);     \
  }                                                                                                \
  static inline bool pl_bitlock##S##_trylock(T *word, T lock_bit, T parked_bit)                    \
  {                                                                                                \
    return pl_bitlock##S##__try(word, lock_bit, parked_bit, __func__);                             \
  }                                                                                                \
  static inline bool pl_bitlock##S##_lock_until(T *word, T lock_bit, T parked_bit,                 \
                                                uint64_t deadline)                                 \
  {                                                                                                \
    return pl_bitlock##S##__lock_until(word, lock_bit, parked_bit, deadline, __func__);            \
  }                                                                                                \
  static inline bool pl_bitlock##S##_lock_for(T *word, T lock_bit, T parked_bit,                   \
                                              uint64_t timeout_ns)                                 \
  {                                                                                                \
    return pl_bitlock##S##__lock_for(word, lock_bit, parked_bit, timeout_ns, __func__);            \
  }                                                                                                \
  static inline void pl_bitlock##S##_unlock(T *word, T lock_bit, T parked_bit)                     \
  {                                                                                                \
    pl_bitlock##S##__unlock(word, lock_bit, parked_bit, false, __func__);                          \
  }                                                                                                \
  static inline void pl_bitlock##S##_unlock_fair(T *word, T lock_bit, T parked_bit)                \
  {                                                                                                \
    pl_bitlock##S##__unlock(word, lock_bit, parked_bit, true, __func__);                           \
  }                                                                                                \
  static inline bool pl_bitlock##S##_is_locked(const T *word, T lock_bit, T parked_bit)            \
  {                                                                                                \
    return pl_bitlock##S##__is_locked(word, lock_bit, parked_bit, __func__);                       \
  }                                                                                                \
  static inline T pl_bitlock##S##_load(const T *word, T lock_bit, T parked_bit)                    \
  {                                                                                                \
    pl_bitlock##S##__check(word, lock_bit, parked_bit, __func__);                                  \
    return PL__CAST(T, __atomic_load_n(word, __ATOMIC_ACQUIRE) &                                   \
                           PL__CAST(T, ~PL__CAST(T, lock_bit | parked_bit)));                      \
  }                                                                                                \
  static inline T pl_bitlock##S##_update(T *word, T lock_bit, T parked_bit, T clear_mask,          \
                                         T set_mask)                                               \
  {                                                                                                \
    T ours = PL__CAST(T, lock_bit | parked_bit);                                                   \
    if (PARKING_UNLIKELY(!pl_bitlock__masks_ok(lock_bit, parked_bit) ||                            \
                         ((clear_mask | set_mask) & ours) != 0))                                   \
      pl_bitlock_bad_masks(word, lock_bit, parked_bit, clear_mask, set_mask, __func__);            \
    T old = __atomic_load_n(word, __ATOMIC_RELAXED);                                               \
    T next;                                                                                        \
    do {                                                                                           \
      next = PL__CAST(T, (old & PL__CAST(T, ~clear_mask)) | set_mask);                             \
    } while (!PL__CAS(word, &old, next, true, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED));                \
    return PL__CAST(T, next & PL__CAST(T, ~ours));                                                 \
  }

/* In C++ with GCC's -Wuseless-cast: the casts back to T that C's integer promotions need for
 * the 8 and 16-bit words are no-ops for the wider ones. */
#if defined(__cplusplus) && defined(__GNUC__) && !defined(__clang__)
#  pragma GCC diagnostic push
#  pragma GCC diagnostic ignored "-Wuseless-cast"
#endif
PL_BITLOCK__DEFINE(8, uint8_t)
PL_BITLOCK__DEFINE(16, uint16_t)
PL_BITLOCK__DEFINE(32, uint32_t)
PL_BITLOCK__DEFINE(64, uint64_t)
PL_BITLOCK__DEFINE(ptr, uintptr_t)
#if defined(__cplusplus) && defined(__GNUC__) && !defined(__clang__)
#  pragma GCC diagnostic pop
#endif

/** pl_ptrlock_t: a pointer whose two low bits are its lock.
 *
 * sizeof(pl_ptrlock_t) == sizeof(void *).  Bit 0 is the lock bit, bit 1 the parked bit, the
 * other bits are the pointer, which must therefore be 4-aligned (any object of alignment 4 or
 * more qualifies; NULL too).  All-zero bytes (PL_PTRLOCK_INIT) are an unlocked NULL.  The lock
 * is a bit lock on the word (pl_bitlockptr_* with the bit values 1 and 2, i.e. bits 0 and 1),
 * with the same policy; the
 * lock and unlock functions below are exactly those, with misuse messages naming pl_ptrlock_*.
 * The pointer can be read at any time without the lock (pl_ptrlock_get: an acquire load that
 * pairs with the release store of pl_ptrlock_set), and changed only while the lock is held.
 */
typedef struct PL_CAPABILITY("mutex") pl_ptrlock {
    uintptr_t word;
} pl_ptrlock_t;
/** @var pl_ptrlock_t::word
 * The pointer | PL_PTRLOCK_LOCKED_BIT | PL_PTRLOCK_PARKED_BIT; changed only atomically. */

/** Initialiser of an unlocked pl_ptrlock_t holding NULL (the same as zeroed memory). */
#define PL_PTRLOCK_INIT                                                                            \
  {                                                                                                \
    0                                                                                              \
  }
/** The lock bit of pl_ptrlock_t::word (bit 0). */
#define PL_PTRLOCK_LOCKED_BIT PL__CAST(uintptr_t, 1)
/** The parked bit of pl_ptrlock_t::word (bit 1). */
#define PL_PTRLOCK_PARKED_BIT PL__CAST(uintptr_t, 2)
/** Both lock bits: the bits of pl_ptrlock_t::word that are not the pointer. */
#define PL_PTRLOCK_BITS PL__CAST(uintptr_t, 3)

/* Aborts: pl_ptrlock_set with a misaligned pointer or on a lock that is not held. */
PARKING_API PARKING_NORETURN void pl_ptrlock_bad_set(const pl_ptrlock_t *pl, const void *ptr,
                                                     const char *fn);

/** Blocks until the caller holds @p pl.
 *
 * Blocks: yes.  Ordering: acquire.  Misuse: relocking from the holder deadlocks (undetected).
 * Async-signal-safe: no. */
static inline void pl_ptrlock_lock(pl_ptrlock_t *pl) PL_ACQUIRE(*pl);
static inline PL_NO_THREAD_SAFETY_ANALYSIS void pl_ptrlock_lock(pl_ptrlock_t *pl)
{
    if (PARKING_UNLIKELY(
            !pl_bitlockptr__try(&pl->word, PL_PTRLOCK_LOCKED_BIT, PL_PTRLOCK_PARKED_BIT, __func__)))
        (void)pl_bitlock_lock_slow(&pl->word, sizeof(uintptr_t), PL_PTRLOCK_LOCKED_BIT,
                                   PL_PTRLOCK_PARKED_BIT, PL_FOREVER, __func__);
}

/** Takes @p pl if it is free (even with threads parked on it).
 *
 * Blocks: never.  Ordering: acquire on success.  Misuse: none detected.  Async-signal-safe: no.
 * @return true if the caller now holds @p pl. */
static inline bool pl_ptrlock_trylock(pl_ptrlock_t *pl) PL_TRY_ACQUIRE(true, *pl);
static inline PL_NO_THREAD_SAFETY_ANALYSIS bool pl_ptrlock_trylock(pl_ptrlock_t *pl)
{
    return pl_bitlockptr__try(&pl->word, PL_PTRLOCK_LOCKED_BIT, PL_PTRLOCK_PARKED_BIT, __func__);
}

/** Blocks until @p pl is taken or the absolute @p deadline (pl_now() ns; PL_FOREVER: none)
 * passes.  A deadline already past still takes a free lock.
 *
 * Blocks: until the deadline at most.  Ordering: acquire on success.  Misuse: as
 * pl_ptrlock_lock (the self-deadlock times out).  Async-signal-safe: no.
 * @return true if taken, false once the deadline has passed. */
static inline bool pl_ptrlock_lock_until(pl_ptrlock_t *pl, uint64_t deadline)
    PL_TRY_ACQUIRE(true, *pl);
static inline PL_NO_THREAD_SAFETY_ANALYSIS bool pl_ptrlock_lock_until(pl_ptrlock_t *pl,
                                                                      uint64_t deadline)
{
    return pl_bitlockptr__lock_until(&pl->word, PL_PTRLOCK_LOCKED_BIT, PL_PTRLOCK_PARKED_BIT,
                                     deadline, __func__);
}

/** As pl_ptrlock_lock_until with a deadline @p timeout_ns from now (saturating).
 *
 * Blocks: up to @p timeout_ns.  Ordering: acquire on success.  Misuse: as
 * pl_ptrlock_lock_until.  Async-signal-safe: no.
 * @return true if taken, false if the timeout expired first. */
static inline bool pl_ptrlock_lock_for(pl_ptrlock_t *pl, uint64_t timeout_ns)
    PL_TRY_ACQUIRE(true, *pl);
static inline PL_NO_THREAD_SAFETY_ANALYSIS bool pl_ptrlock_lock_for(pl_ptrlock_t *pl,
                                                                    uint64_t timeout_ns)
{
    return pl_bitlockptr__lock_for(&pl->word, PL_PTRLOCK_LOCKED_BIT, PL_PTRLOCK_PARKED_BIT,
                                   timeout_ns, __func__);
}

/** Releases @p pl, waking one waiter if any.
 *
 * Blocks: never (apart from the bucket lock).  Ordering: release.  Misuse: aborts if @p pl is
 * not locked; an unlock from another thread than the holder is allowed (no owner is kept).
 * Async-signal-safe: no. */
static inline void pl_ptrlock_unlock(pl_ptrlock_t *pl) PL_RELEASE(*pl);
static inline PL_NO_THREAD_SAFETY_ANALYSIS void pl_ptrlock_unlock(pl_ptrlock_t *pl)
{
    pl_bitlockptr__unlock(&pl->word, PL_PTRLOCK_LOCKED_BIT, PL_PTRLOCK_PARKED_BIT, false, __func__);
}

/** As pl_ptrlock_unlock, but hands @p pl directly to the oldest waiter if there is one.
 *
 * Blocks: never (apart from the bucket lock).  Ordering: release.  Misuse: as
 * pl_ptrlock_unlock.  Async-signal-safe: no. */
static inline void pl_ptrlock_unlock_fair(pl_ptrlock_t *pl) PL_RELEASE(*pl);
static inline PL_NO_THREAD_SAFETY_ANALYSIS void pl_ptrlock_unlock_fair(pl_ptrlock_t *pl)
{
    pl_bitlockptr__unlock(&pl->word, PL_PTRLOCK_LOCKED_BIT, PL_PTRLOCK_PARKED_BIT, true, __func__);
}

/** Whether @p pl is locked right now (a snapshot for assertions).
 *
 * Blocks: never.  Ordering: none (relaxed load).  Misuse: none.  Async-signal-safe: no. */
static inline bool pl_ptrlock_is_locked(const pl_ptrlock_t *pl)
{
    return (__atomic_load_n(&pl->word, __ATOMIC_RELAXED) & PL_PTRLOCK_LOCKED_BIT) != 0;
}

/** The pointer, without the lock's bits; callable with or without the lock.
 *
 * Blocks: never.  Ordering: acquire load: what the setter wrote before pl_ptrlock_set is
 * visible through the returned pointer.  Misuse: none.  Async-signal-safe: no. */
static inline void *pl_ptrlock_get(const pl_ptrlock_t *pl)
{
    return PL__ITOP(__atomic_load_n(&pl->word, __ATOMIC_ACQUIRE) & ~PL_PTRLOCK_BITS);
}

/** Replaces the pointer; the caller must hold @p pl.
 *
 * Blocks: never (it retries only while a waiter sets or clears the parked bit at the same
 * moment).  Ordering: release.  Misuse: aborts if @p ptr is not 4-aligned or @p pl is not
 * locked; it cannot tell which thread holds the lock.  Async-signal-safe: no. */
static inline void pl_ptrlock_set(pl_ptrlock_t *pl, void *ptr) PL_REQUIRES(*pl);
static inline PL_NO_THREAD_SAFETY_ANALYSIS void pl_ptrlock_set(pl_ptrlock_t *pl, void *ptr)
{
    uintptr_t value = PL__PTOI(ptr);
    uintptr_t old = __atomic_load_n(&pl->word, __ATOMIC_RELAXED);
    if (PARKING_UNLIKELY((value & PL_PTRLOCK_BITS) != 0 || !(old & PL_PTRLOCK_LOCKED_BIT)))
        pl_ptrlock_bad_set(pl, ptr, __func__);
    /* The lock bit cannot change under us (we hold it); only the parked bit can. */
    while (!PL__CAS(&pl->word, &old, (old & PL_PTRLOCK_BITS) | value, true, __ATOMIC_RELEASE,
                    __ATOMIC_RELAXED)) {
    }
}

PARKING_END_DECLS

#endif /* PARKING_BITLOCK_H */
