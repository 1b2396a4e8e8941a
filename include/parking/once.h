/** @file
 * libparking: pl_once_t, one-byte one-time initialisation.
 *
 * sizeof(pl_once_t) == 1 and all-zero bytes are a once that has not run: static, calloc'ed and
 * memset memory need no initialisation, and there is nothing to destroy.
 *
 * The first caller runs the initialiser; callers that arrive meanwhile spin briefly, then park
 * until it finishes, and return only after it completed successfully (they see everything it
 * wrote).  Once done, pl_call_once is one acquire load and a branch, inline.
 *
 * An initialiser run through pl_call_once_try may fail (return false): the once stays not done,
 * and one thread waiting on it (if any) is woken to run its own initialiser; the failing caller
 * returns false.  Each waiter thus either sees the once done or gets a turn to try.
 *
 * Recursion: an initialiser that calls pl_call_once / pl_call_once_try on its own once, directly
 * or through the initialisers of other onces, would wait for itself forever; instead it aborts
 * with `libparking: pl_call_once(<address>): recursive call from its own initializer` (or
 * pl_call_once_try).  The check runs only when a call finds the once being initialised, never on
 * the fast path, and allocates nothing: each thread keeps, in the stack frames of the initialisers
 * it runs, the list of those still on its stack, so there is no limit to nesting nor to threads,
 * and nothing to mistake for another thread's.  Not detected: a cycle across threads (A's
 * initialiser waits for once B while B's, on another thread, waits for A) deadlocks.  Running
 * other onces from an initialiser is fine.
 *
 * An initialiser that never returns (left by longjmp, or ending its thread: pthread_exit,
 * cancellation, ExitThread) leaves its once running for good: no initialiser of it runs again,
 * and every later call on it blocks forever, on every thread.  The thread that left it is no
 * longer inside it, so its own later calls block too, and a new once later placed in the same
 * memory is an ordinary once for it (it waits for whoever initialises it).  Only code that runs
 * while the initialiser's frames are still on the stack (a thread-exit handler where thread exit
 * does not unwind: musl, Windows) is still inside it and aborts as a recursive call.  A longjmp
 * is seen only afterwards, from where the thread's next call on a once that is not done stands
 * on its stack, with two consequences (docs/reference/once.md): a call on that once's address
 * made from deeper in the stack than the call that was left, before any call on a once not done
 * from that level or higher (from setjmp's function, say), may still be taken for recursion;
 * and after a longjmp from a nested initialiser into one enclosing it, a recursive call of the
 * enclosing ones may deadlock instead of aborting until the one jumped into returns.  An
 * initialiser must return on the stack it started on (not resumed by a coroutine on another
 * stack or thread).
 *
 * Orderings: everything the successful initialiser wrote happens-before the return of every call
 * that returns with the once done, and before pl_once_is_done returns true.  None of these
 * functions is async-signal-safe.
 *
 * Bit layout of `state` (for debuggers and tests; use the functions):
 * @verbatim
   bit 0  DONE     an initialiser succeeded (then the byte is exactly DONE)
   bit 1  RUNNING  a thread runs an initialiser now
   bit 2  PARKED   threads are (or may be) queued on the once's address
   @endverbatim
 *
 * Race detectors: ThreadSanitizer, Helgrind and DRD understand the edge from the initialiser to
 * every return, through the hooks of parking/annotate.h (which says in which builds they are
 * compiled in).
 */
#ifndef PARKING_ONCE_H
#define PARKING_ONCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <parking/annotate.h>
#include <parking/export.h>

PARKING_BEGIN_DECLS

/** A one-byte once; all-zero bytes (PL_ONCE_INIT) have not run.  Use the functions only. */
typedef struct pl_once {
    uint8_t state;
} pl_once_t;
/** @var pl_once_t::state
 * PL_ONCE_DONE_BIT, PL_ONCE_RUNNING_BIT, PL_ONCE_PARKED_BIT; changed only atomically. */

/** Initialiser of a pl_once_t that has not run (the same as zeroed memory). */
#define PL_ONCE_INIT                                                                               \
  {                                                                                                \
    0                                                                                              \
  }

/** pl_once_t::state bit: an initialiser succeeded (then the byte is exactly this bit). */
#define PL_ONCE_DONE_BIT PL__CAST(uint8_t, 1)
/** pl_once_t::state bit: a thread runs an initialiser now. */
#define PL_ONCE_RUNNING_BIT PL__CAST(uint8_t, 2)
/** pl_once_t::state bit: threads are (or may be) parked on the once's address. */
#define PL_ONCE_PARKED_BIT PL__CAST(uint8_t, 4)

/* Slow paths, out of line.  Not for direct use. */
PARKING_API void pl_call_once_slow(pl_once_t *o, void (*fn)(void *), void *arg);
PARKING_API bool pl_call_once_try_slow(pl_once_t *o, bool (*fn)(void *), void *arg);

/** Whether an initialiser of @p o has succeeded.
 *
 * Blocks: never.  Ordering: acquire load, so a true result makes the initialiser's writes
 * visible.  Misuse: none.  Async-signal-safe: no. */
static inline bool pl_once_is_done(const pl_once_t *o)
{
    bool done = __atomic_load_n(&o->state, __ATOMIC_ACQUIRE) == PL_ONCE_DONE_BIT;
    if (done)
        PL__ANN_ACQUIRE(o);
    return done;
}

/* Race detectors (parking/annotate.h: ThreadSanitizer, Helgrind, DRD): the DONE store is made
 * by the library, which they do not see into (not instrumented, or synchronised by atomics the
 * Valgrind tools do not understand), so the fast path's acquire load alone gives them no edge
 * from the initialiser.  The initialiser runs inside a trampoline of the caller's translation
 * unit that acquires what an earlier failed run released and releases what this run wrote on
 * the once's address; every return acquires it.  Compiled only when such annotations are on. */
#if PL__ANN_EDGES
typedef struct pl_once__ann_ctx {
    pl_once_t *o;
    void (*fn)(void *);
    bool (*try_fn)(void *);
    void *arg;
} pl_once__ann_ctx_t;

static inline void pl_once__ann_run(void *p)
{
    pl_once__ann_ctx_t *c = PL__CAST(pl_once__ann_ctx_t *, p);
    PL__ANN_ACQUIRE(c->o);
    c->fn(c->arg);
    PL__ANN_RELEASE(c->o);
}

static inline bool pl_once__ann_try(void *p)
{
    pl_once__ann_ctx_t *c = PL__CAST(pl_once__ann_ctx_t *, p);
    PL__ANN_ACQUIRE(c->o);
    bool ok = c->try_fn(c->arg);
    PL__ANN_RELEASE(c->o);
    return ok;
}

static inline void pl_once__slow(pl_once_t *o, void (*fn)(void *), void *arg)
{
    pl_once__ann_ctx_t c = {o, fn, PL__NULL, arg};
    /* The library's store after a failed run is a plain write that fast paths read unlocked. */
    PL__VG_RACY(&o->state, sizeof o->state);
    /* NULL goes through as is: the library's misuse check names it. */
    pl_call_once_slow(o, fn != PL__NULL ? pl_once__ann_run : PL__NULL, &c);
    PL__ANN_ACQUIRE(o);
}

static inline bool pl_once__try_slow(pl_once_t *o, bool (*fn)(void *), void *arg)
{
    pl_once__ann_ctx_t c = {o, PL__NULL, fn, arg};
    PL__VG_RACY(&o->state, sizeof o->state);
    bool ok = pl_call_once_try_slow(o, fn != PL__NULL ? pl_once__ann_try : PL__NULL, &c);
    PL__ANN_ACQUIRE(o);
    return ok;
}
#else
#  define pl_once__slow pl_call_once_slow
#  define pl_once__try_slow pl_call_once_try_slow
#endif

/** Runs fn(arg) if no initialiser of @p o has succeeded yet, exactly once across all callers;
 * every call returns once @p o is done.  When done already: one acquire load and a branch.
 *
 * Blocks: while another thread runs an initialiser of @p o.  Ordering: everything the
 * successful initialiser wrote happens-before every return.  Misuse: aborts (message naming
 * pl_call_once and @p o) if fn is NULL and @p o is not done, or if fn, directly or through other
 * onces' initialisers, calls pl_call_once on @p o ("recursive call from its own initializer").
 * If fn does not return (longjmp, thread exit, cancellation), @p o stays "running" and every
 * later caller waits forever, the thread that left fn included (limits of the longjmp case: see
 * "An initialiser that never returns" above).  Async-signal-safe: no. */
static inline void pl_call_once(pl_once_t *o, void (*fn)(void *), void *arg)
{
    if (PARKING_LIKELY(pl_once_is_done(o)))
        return;
    pl_once__slow(o, fn, arg);
}

/** As pl_call_once, but fn reports success.  If fn returns false, @p o stays not done, one
 * waiting thread (if any) is woken to run its own fn, and this call returns false.
 *
 * Blocks: while another thread runs an initialiser of @p o.  Ordering: as pl_call_once when it
 * returns true.  Misuse: same recursion rule and NULL check as pl_call_once (the abort names
 * pl_call_once_try).  Async-signal-safe: no.
 * @return true when @p o is done on return (this fn or another caller's succeeded). */
static inline bool pl_call_once_try(pl_once_t *o, bool (*fn)(void *), void *arg)
{
    if (PARKING_LIKELY(pl_once_is_done(o)))
        return true;
    return pl_once__try_slow(o, fn, arg);
}

PARKING_END_DECLS

#endif /* PARKING_ONCE_H */
