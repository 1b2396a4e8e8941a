/* libparking: pl_once_t, one-byte one-time initialisation.
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
 * Recursion: an initialiser that calls pl_call_once / pl_call_once_try on the same once, from
 * the same thread, waits for itself forever (a self-deadlock; it is not detected: one byte has no
 * room for an owner).  Running other onces from an initialiser is fine.
 *
 * Orderings: everything the successful initialiser wrote happens-before the return of every call
 * that returns with the once done, and before pl_once_is_done returns true.  None of these
 * functions is async-signal-safe.
 *
 * Bit layout of `state` (for debuggers and tests; use the functions):
 *   bit 0  DONE     an initialiser succeeded (then the byte is exactly DONE)
 *   bit 1  RUNNING  a thread runs an initialiser now
 *   bit 2  PARKED   threads are (or may be) queued on the once's address
 */
#ifndef PARKING_ONCE_H
#define PARKING_ONCE_H

#include <stdbool.h>
#include <stdint.h>

#include "parking/export.h"

PARKING_BEGIN_DECLS

typedef struct pl_once { uint8_t state; } pl_once_t;

#define PL_ONCE_INIT {0}

#define PL_ONCE_DONE_BIT ((uint8_t)1)
#define PL_ONCE_RUNNING_BIT ((uint8_t)2)
#define PL_ONCE_PARKED_BIT ((uint8_t)4)

/* Slow paths, out of line.  Not for direct use. */
PARKING_API void pl_call_once_slow(pl_once_t *o, void (*fn)(void *), void *arg);
PARKING_API bool pl_call_once_try_slow(pl_once_t *o, bool (*fn)(void *), void *arg);

/* pl_once_is_done: whether an initialiser of o has succeeded.  Never blocks; acquire load, so a
 * true result makes the initialiser's writes visible. */
static inline bool pl_once_is_done(const pl_once_t *o)
{
    return __atomic_load_n(&o->state, __ATOMIC_ACQUIRE) == PL_ONCE_DONE_BIT;
}

/* pl_call_once: run fn(arg) if no initialiser of o has succeeded yet, exactly once across all
 * callers; every call returns once o is done.  Blocking while another thread runs an initialiser
 * of o.  fn must not call pl_call_once on o (self-deadlock).  If fn does not return (longjmp,
 * thread exit, cancellation), o stays "running" and every later caller waits forever.  Aborts
 * (message naming pl_call_once and o) if fn is NULL and o is not done. */
static inline void pl_call_once(pl_once_t *o, void (*fn)(void *), void *arg)
{
    if (PARKING_LIKELY(pl_once_is_done(o)))
        return;
    pl_call_once_slow(o, fn, arg);
}

/* pl_call_once_try: as pl_call_once, but fn reports success.  If fn returns false, o stays not
 * done, one waiting thread (if any) is woken to run its own fn, and this call returns false.
 * Returns true when o is done on return (this fn or another caller's succeeded).  Blocking while
 * another thread runs an initialiser of o.  Same recursion rule and NULL check as pl_call_once. */
static inline bool pl_call_once_try(pl_once_t *o, bool (*fn)(void *), void *arg)
{
    if (PARKING_LIKELY(pl_once_is_done(o)))
        return true;
    return pl_call_once_try_slow(o, fn, arg);
}

PARKING_END_DECLS

#endif /* PARKING_ONCE_H */
