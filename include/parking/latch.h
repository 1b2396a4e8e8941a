/** @file
 * libparking: pl_latch_t, a one-word latch (a countdown: C++20 std::latch, Abseil
 * BlockingCounter).
 *
 * sizeof(pl_latch_t) == 4.  A latch starts with a count (PL_LATCH_INIT(n) or pl_latch_init);
 * pl_latch_count_down lowers it, and waits return once it reaches zero, which is final (a latch
 * is used once; pl_latch_init starts a new one in the same memory when nobody uses it).
 * All-zero bytes are a latch already at zero, and there is nothing to destroy.
 *
 * Fast paths, inline: count_down is one compare-and-swap, no system call unless it reaches zero
 * with threads parked (then one pl_unpark_all of the latch's address); a wait on a latch at zero
 * is one acquire load.  A wait that finds the count above zero spins briefly, then parks.
 *
 * Memory: the latch belongs to the caller again as soon as a wait returns: the count_down that
 * reaches zero writes the word once (that compare-and-swap, which also clears the parked bit)
 * and then wakes by address only, so a waiter may free the latch at once (a thread that waits
 * for its workers on a latch on its own stack, then returns); with several waiters, once every
 * one has returned (a woken waiter reads the count again, so that a late wake-up meant for an
 * earlier latch at the same address cannot open this one early).
 *
 * Limits and misuse: the count is at most PL_LATCH_MAX; counting down below zero aborts with
 * `libparking: <function>(<address>): count_down below zero` (C++: undefined behaviour).
 *
 * Orderings: everything a thread wrote before its count_down happens-before the return of every
 * wait that sees zero (count_down is a release, the last one an acquire-release, a wait that
 * returns an acquire).  None of these functions is async-signal-safe.  errno is left as it was.
 *
 * Bit layout of `state` (for debuggers and tests; use the functions):
 * @verbatim
   bit 0      PARKED  threads are (or may be) queued on the latch's address
   bits 1..31 the count
   @endverbatim
 *
 * Race detectors: ThreadSanitizer, Helgrind and DRD see the edges from the count_downs to the
 * waits, through the hooks of parking/annotate.h.
 */
#ifndef PARKING_LATCH_H
#define PARKING_LATCH_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include <parking/annotate.h>
#include <parking/cas.h>
#include <parking/export.h>
#include <parking/lot.h>

PARKING_BEGIN_DECLS

/** A one-word latch; all-zero bytes are a latch at zero (open). */
typedef struct pl_latch {
    uint32_t state;
} pl_latch_t;
/** @var pl_latch_t::state
 * The count times 2, plus PL_LATCH_PARKED_BIT; changed only by atomic operations. */

/** pl_latch_t::state bit: threads are (or may be) parked on the latch's address. */
#define PL_LATCH_PARKED_BIT PL__CAST(uint32_t, 1)
/** The largest count (2^31 - 1). */
#define PL_LATCH_MAX PL__CAST(uint32_t, 0x7FFFFFFF)
/** Initialiser of a latch with count @p n (n <= PL_LATCH_MAX). */
#define PL_LATCH_INIT(n)                                                                           \
  {                                                                                                \
    PL__CAST(uint32_t, n) << 1                                                                     \
  }

/* Slow paths, out of line.  Not for direct use. */
PARKING_API bool pl_latch_wait_slow(pl_latch_t *l, uint64_t deadline);
PARKING_API void pl_latch_wake_slow(pl_latch_t *l);
PARKING_API PARKING_NORETURN void pl_latch_underflow(const pl_latch_t *l, const char *fn);

/** Starts @p l afresh with count @p n, as PL_LATCH_INIT(n).  Not for a latch in use.
 *
 * Blocks: never.  Ordering: none.  Misuse: none.  Async-signal-safe: no.
 * @return 0, or EINVAL if n > PL_LATCH_MAX (then @p l is unchanged). */
static inline int pl_latch_init(pl_latch_t *l, uint32_t n)
{
    if (n > PL_LATCH_MAX)
        return EINVAL;
    __atomic_store_n(&l->state, n << 1, __ATOMIC_RELAXED);
    return 0;
}

static inline void pl_latch__count_down(pl_latch_t *l, uint32_t n, const char *fn)
{
    PL__VG_RACY(&l->state, sizeof l->state);
    PL__ANN_RELEASE(l);
    uint32_t v = __atomic_load_n(&l->state, __ATOMIC_RELAXED);
    for (;;) {
        uint32_t count = v >> 1;
        if (PARKING_UNLIKELY(count < n))
            pl_latch_underflow(l, fn);
        /* Reaching zero clears the parked bit in the same write: it is the last one. */
        uint32_t next = count == n ? 0 : v - (n << 1);
        if (PARKING_LIKELY(
                PL__CAS(&l->state, &v, next, true, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))) {
            if (PARKING_UNLIKELY(next == 0 && (v & PL_LATCH_PARKED_BIT)))
                pl_latch_wake_slow(l);
            return;
        }
    }
}

/** Lowers the count of @p l by @p n (C++ count_down); the one that reaches zero wakes every
 * waiter.
 *
 * Blocks: never (apart from the bucket lock when it wakes waiters).  Ordering: release (and
 * acquire for the one that reaches zero).  Misuse: aborts if @p n is more than the count.
 * Async-signal-safe: no. */
static inline void pl_latch_count_down(pl_latch_t *l, uint32_t n)
{
    pl_latch__count_down(l, n, __func__);
}

/** Whether the count of @p l is zero (C++ try_wait).
 *
 * Blocks: never.  Ordering: acquire when true.  Misuse: none.  Async-signal-safe: no. */
static inline bool pl_latch_try_wait(const pl_latch_t *l)
{
    PL__VG_RACY(&l->state, sizeof l->state);
    bool open = (__atomic_load_n(&l->state, __ATOMIC_ACQUIRE) >> 1) == 0;
    if (open)
        PL__ANN_ACQUIRE(l);
    return open;
}

/** Blocks until the count of @p l is zero or the absolute @p deadline (pl_now() ns; PL_FOREVER:
 * none) passes.  A deadline already past only looks.
 *
 * Blocks: until zero or the deadline.  Ordering: acquire when true.  Misuse: none.
 * Async-signal-safe: no.
 * @return true at zero, false once the deadline has passed. */
static inline bool pl_latch_wait_until(pl_latch_t *l, uint64_t deadline)
{
    if (PARKING_LIKELY(pl_latch_try_wait(l)))
        return true;
    bool open = pl_latch_wait_slow(l, deadline);
    if (open)
        PL__ANN_ACQUIRE(l);
    return open;
}

/** Blocks until the count of @p l is zero (C++ wait).
 *
 * Blocks: until zero.  Ordering: acquire.  Misuse: none.  Async-signal-safe: no. */
static inline void pl_latch_wait(pl_latch_t *l) { (void)pl_latch_wait_until(l, PL_FOREVER); }

/** As pl_latch_wait_until with a deadline @p timeout_ns from now (saturating).
 *
 * Blocks: up to @p timeout_ns.  Ordering: acquire when true.  Misuse: none.
 * Async-signal-safe: no.
 * @return true at zero, false if the timeout expired first. */
static inline bool pl_latch_wait_for(pl_latch_t *l, uint64_t timeout_ns)
{
    if (PARKING_LIKELY(pl_latch_try_wait(l)))
        return true;
    return pl_latch_wait_until(l, pl_deadline_after(timeout_ns));
}

/** pl_latch_count_down(l, n), then pl_latch_wait(l) (C++ arrive_and_wait).  The thread whose
 * count_down reached zero returns at once, without touching @p l again.
 *
 * Blocks: until zero.  Ordering: as both.  Misuse: as pl_latch_count_down.
 * Async-signal-safe: no. */
static inline void pl_latch_arrive_and_wait(pl_latch_t *l, uint32_t n)
{
    pl_latch__count_down(l, n, __func__);
    pl_latch_wait(l);
}

/** The count of @p l now: a snapshot.
 *
 * Blocks: never.  Ordering: none (relaxed load).  Misuse: none.  Async-signal-safe: no. */
static inline uint32_t pl_latch_count(const pl_latch_t *l)
{
    return __atomic_load_n(&l->state, __ATOMIC_RELAXED) >> 1;
}

PARKING_END_DECLS

#endif /* PARKING_LATCH_H */
