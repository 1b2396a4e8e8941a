/** @file
 * libparking: pl_barrier_t, a one-word reusable barrier with a completion step (C++20
 * std::barrier, pthread_barrier_t).
 *
 * sizeof(pl_barrier_t) == 8.  A barrier is made for a number of threads (PL_BARRIER_INIT(n) or
 * pl_barrier_init) and used in phases: each phase ends when that many arrivals have been made;
 * the thread making the last one runs the completion step (a function the arrivals pass, or
 * none), and then every thread waiting for the phase is released and the next phase begins with
 * the count restored.  All-zero bytes are a barrier for no thread (an arrival on it aborts);
 * there is nothing to destroy.
 *
 * Fast paths: an arrival that is not the last is one compare-and-swap, inline; a wait on a phase
 * that has already ended is one acquire load.  A waiter spins briefly, then parks.  The last
 * arrival runs the completion, then moves the phase on with one compare-and-swap (clearing the
 * parked bit), and wakes the parked waiters by address with pl_unpark_all only if that bit was
 * set.
 *
 * Every thread of a phase must pass the same completion (as in C++, where it is part of the
 * barrier's type; the barrier has no room to store one): the last to arrive runs its own, before
 * any waiter of the phase is released (pthread_barrier_wait's serial thread, which
 * pl_barrier_arrive_and_wait reports by returning true).  A completion must not arrive on the
 * same barrier.
 *
 * pl_barrier_arrive_and_drop arrives and lowers the count of every later phase by one (C++
 * arrive_and_drop).  Tokens: pl_barrier_arrive returns the phase it arrived in, and
 * pl_barrier_wait(token) waits for that phase to end; as in C++, a token is good for its own
 * phase and while the next one runs (the phase is kept as one bit).
 *
 * Memory: the barrier belongs to the caller again once every thread has returned from its last
 * call on it (as pthread_barrier_destroy requires): the phase change is the last arrival's last
 * write, and its wake-up is by address.
 *
 * Limits and misuse: at most PL_BARRIER_MAX threads.  More arrivals in one phase than its count
 * (an arrival during the completion step included) aborts with
 * `libparking: <function>(<address>): more arrivals than the barrier's count`.
 *
 * Orderings: everything every thread wrote before arriving happens-before the completion step,
 * and the completion's writes (and so the arrivals') happen-before the return of every wait for
 * that phase.  None of these functions is async-signal-safe.  errno is left as it was.
 *
 * Bit layout of `state` (for debuggers and tests; use the functions):
 * @verbatim
   bit 0       PARKED     threads are (or may be) queued on the barrier's address
   bit 1       PHASE      the parity of the current phase
   bits 2..32  remaining  arrivals still expected in this phase
   bits 33..63 count      arrivals expected in each later phase
   @endverbatim
 *
 * Race detectors: ThreadSanitizer, Helgrind and DRD see the edges from the arrivals to the
 * completion and to the waits, through the hooks of parking/annotate.h.
 */
#ifndef PARKING_BARRIER_H
#define PARKING_BARRIER_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include <parking/annotate.h>
#include <parking/cas.h>
#include <parking/export.h>
#include <parking/lot.h>

PARKING_BEGIN_DECLS

/** A one-word barrier; all-zero bytes are a barrier for no thread. */
typedef struct pl_barrier {
    uint64_t state;
} pl_barrier_t;
/** @var pl_barrier_t::state
 * The fields of the file description; changed only by atomic operations. */

/** The phase a thread arrived in (pl_barrier_arrive), for pl_barrier_wait. */
typedef uint32_t pl_barrier_token_t;

/** pl_barrier_t::state bit: threads are (or may be) parked on the barrier's address. */
#define PL_BARRIER_PARKED_BIT PL__CAST(uint64_t, 1)
/** pl_barrier_t::state bit: the parity of the current phase. */
#define PL_BARRIER_PHASE_BIT PL__CAST(uint64_t, 2)
/** The most threads a barrier is made for (2^31 - 1). */
#define PL_BARRIER_MAX PL__CAST(uint32_t, 0x7FFFFFFF)
/** One arrival in the remaining field of pl_barrier_t::state. */
#define PL_BARRIER_ONE PL__CAST(uint64_t, 4)
/** Initialiser of a barrier for @p n threads (1 <= n <= PL_BARRIER_MAX). */
#define PL_BARRIER_INIT(n)                                                                         \
  {                                                                                                \
    (PL__CAST(uint64_t, n) << 33) | (PL__CAST(uint64_t, n) << 2)                                   \
  }

/* Slow paths, out of line.  Not for direct use.  arrive_slow makes any arrival (the last one
 * runs `completion` and ends the phase); *serial says whether this one was the last. */
PARKING_API pl_barrier_token_t pl_barrier_arrive_slow(pl_barrier_t *b, bool drop,
                                                      void (*completion)(void *), void *arg,
                                                      bool *serial, const char *fn);
PARKING_API bool pl_barrier_wait_slow(pl_barrier_t *b, pl_barrier_token_t token, uint64_t deadline);

/** Makes @p b a barrier for @p n threads, as PL_BARRIER_INIT(n).  Not for a barrier in use.
 *
 * Blocks: never.  Ordering: none.  Misuse: none.  Async-signal-safe: no.
 * @return 0, or EINVAL if n is 0 or more than PL_BARRIER_MAX (then @p b is unchanged). */
static inline int pl_barrier_init(pl_barrier_t *b, uint32_t n)
{
    if (n == 0 || n > PL_BARRIER_MAX)
        return EINVAL;
    __atomic_store_n(&b->state, (PL__CAST(uint64_t, n) << 33) | (PL__CAST(uint64_t, n) << 2),
                     __ATOMIC_RELAXED);
    return 0;
}

/* Race detectors (parking/annotate.h): the completion runs inside the library, called through a
 * trampoline of the caller's translation unit that acquires what the arrivals released and
 * releases what the completion wrote.  Compiled only when such annotations are on. */
#if PL__ANN_EDGES
typedef struct pl_barrier__ann_ctx {
    pl_barrier_t *b;
    void (*fn)(void *);
    void *arg;
} pl_barrier__ann_ctx_t;

static inline void pl_barrier__ann_run(void *p)
{
    pl_barrier__ann_ctx_t *c = PL__CAST(pl_barrier__ann_ctx_t *, p);
    PL__ANN_ACQUIRE(c->b);
    c->fn(c->arg);
    PL__ANN_RELEASE(c->b);
}
#endif

static inline pl_barrier_token_t pl_barrier__arrive(pl_barrier_t *b, bool drop,
                                                    void (*completion)(void *), void *arg,
                                                    bool *serial, const char *fn)
{
    PL__VG_RACY(&b->state, sizeof b->state);
    PL__ANN_RELEASE(b);
    *serial = false;
    uint64_t v = __atomic_load_n(&b->state, __ATOMIC_RELAXED);
    /* Not the last arrival (at least two remaining): one compare-and-swap. */
    while (!drop && ((v >> 2) & PL_BARRIER_MAX) > 1) {
        if (PL__CAS(&b->state, &v, v - PL_BARRIER_ONE, true, __ATOMIC_RELEASE, __ATOMIC_RELAXED))
            return PL__CAST(pl_barrier_token_t, (v & PL_BARRIER_PHASE_BIT) >> 1);
    }
#if PL__ANN_EDGES
    pl_barrier__ann_ctx_t c = {b, completion, arg};
    if (completion != NULL) {
        completion = pl_barrier__ann_run;
        arg = &c;
    }
#endif
    return pl_barrier_arrive_slow(b, drop, completion, arg, serial, fn);
}

/** Arrives at @p b for the current phase without waiting (C++ arrive); the last arrival runs
 * completion(arg) (NULL: none) and ends the phase.
 *
 * Blocks: only the last arrival, for its completion.  Ordering: release (the last arrival:
 * acquire then release).  Misuse: aborts on more arrivals than the count.
 * Async-signal-safe: no.
 * @return the phase arrived in, for pl_barrier_wait. */
static inline pl_barrier_token_t pl_barrier_arrive(pl_barrier_t *b, void (*completion)(void *),
                                                   void *arg)
{
    bool serial;
    return pl_barrier__arrive(b, false, completion, arg, &serial, __func__);
}

/** Arrives for the current phase and lowers the count of every later phase by one (C++
 * arrive_and_drop); the last arrival runs completion(arg) and ends the phase.  Does not wait.
 *
 * Blocks: only the last arrival, for its completion.  Ordering: as pl_barrier_arrive.  Misuse:
 * as pl_barrier_arrive.  Async-signal-safe: no. */
static inline void pl_barrier_arrive_and_drop(pl_barrier_t *b, void (*completion)(void *),
                                              void *arg)
{
    bool serial;
    (void)pl_barrier__arrive(b, true, completion, arg, &serial, __func__);
}

/** Blocks until the phase @p token of @p b has ended, or the absolute @p deadline (pl_now() ns;
 * PL_FOREVER: none) passes.  A time-out leaves the arrival made: wait again with the same token.
 *
 * Blocks: until the phase ends or the deadline.  Ordering: acquire when true.  Misuse: a token
 * older than the previous phase may block until the next phase but one (undetected).
 * Async-signal-safe: no.
 * @return true once the phase has ended, false once the deadline has passed. */
static inline bool pl_barrier_wait_until(pl_barrier_t *b, pl_barrier_token_t token,
                                         uint64_t deadline)
{
    PL__VG_RACY(&b->state, sizeof b->state);
    uint64_t v = __atomic_load_n(&b->state, __ATOMIC_ACQUIRE);
    bool ended =
        ((v & PL_BARRIER_PHASE_BIT) >> 1) != token || pl_barrier_wait_slow(b, token, deadline);
    if (ended)
        PL__ANN_ACQUIRE(b);
    return ended;
}

/** Blocks until the phase @p token of @p b has ended (C++ wait).
 *
 * Blocks: until the phase ends.  Ordering: acquire.  Misuse: as pl_barrier_wait_until.
 * Async-signal-safe: no. */
static inline void pl_barrier_wait(pl_barrier_t *b, pl_barrier_token_t token)
{
    (void)pl_barrier_wait_until(b, token, PL_FOREVER);
}

/** As pl_barrier_wait_until with a deadline @p timeout_ns from now (saturating).
 *
 * Blocks: up to @p timeout_ns.  Ordering: acquire when true.  Misuse: as pl_barrier_wait_until.
 * Async-signal-safe: no.
 * @return true once the phase has ended, false if the timeout expired first. */
static inline bool pl_barrier_wait_for(pl_barrier_t *b, pl_barrier_token_t token,
                                       uint64_t timeout_ns)
{
    return pl_barrier_wait_until(b, token, pl_deadline_after(timeout_ns));
}

/** Arrives at @p b and waits for the phase to end (C++ arrive_and_wait, pthread_barrier_wait).
 * The last arrival runs completion(arg) (NULL: none) before anyone is released.
 *
 * Blocks: until the phase ends.  Ordering: see the file description.  Misuse: as
 * pl_barrier_arrive.  Async-signal-safe: no.
 * @return true in the one thread that made the last arrival and ran the completion (the
 * serial thread), false in the others. */
static inline bool pl_barrier_arrive_and_wait(pl_barrier_t *b, void (*completion)(void *),
                                              void *arg)
{
    bool serial;
    pl_barrier_token_t token = pl_barrier__arrive(b, false, completion, arg, &serial, __func__);
    if (!serial)
        pl_barrier_wait(b, token);
    return serial;
}

PARKING_END_DECLS

#endif /* PARKING_BARRIER_H */
