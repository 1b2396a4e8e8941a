/* pl_once_t slow path: claim RUNNING and run the initialiser, or park until it finishes.
 *
 * Waiters park on the once's address and only while, under its bucket lock, they still see
 * RUNNING | PARKED.  The runner's final store either happens before that check (the waiter sees
 * it and does not sleep) or after the waiter is queued, where the runner's unpark finds it:
 * - success: exchange to DONE, then pl_unpark_all if PARKED was set;
 * - failure: if PARKED was set, RUNNING is cleared inside pl_unpark_one's callback, under the
 *   bucket lock, so the set of sleepers cannot change while we decide to keep PARKED for them. */
#include "parking/once.h"

#include "lock_algorithm.h"
#include "parking/lot.h"
/* The one core header besides lot.h: the chaos test hook (docs/design.md, "Chaos mode"). */
#include "parking/chaos.h"

static bool validate_running(void *vctx)
{
    pl_once_t *o = vctx;
    uint8_t both = PL_ONCE_RUNNING_BIT | PL_ONCE_PARKED_BIT;
    return (__atomic_load_n(&o->state, __ATOMIC_RELAXED) & both) == both;
}

/* Under the bucket lock, after the failed run: wake one waiter to take its turn; PARKED stays
 * only for the ones still queued. */
static uintptr_t release_after_failure(void *vctx, pl_unpark_result_t result)
{
    pl_once_t *o = vctx;
    __atomic_store_n(&o->state, result.have_more ? PL_ONCE_PARKED_BIT : (uint8_t)0,
                     __ATOMIC_RELEASE);
    return PL_DEFAULT_UNPARK_TOKEN;
}

/* Returns with RUNNING claimed by the caller (true), or once o is done (false). */
static bool claim_or_wait(pl_once_t *o)
{
    pl_spin_t spin = PL_SPIN_INIT;
    uint8_t state = __atomic_load_n(&o->state, __ATOMIC_ACQUIRE);
    for (;;) {
        if (state == PL_ONCE_DONE_BIT)
            return false;
        if (!(state & PL_ONCE_RUNNING_BIT)) {
            /* Acquire: a retry after a failed run sees what the failed run wrote. */
            if (__atomic_compare_exchange_n(&o->state, &state,
                                            (uint8_t)(state | PL_ONCE_RUNNING_BIT), true,
                                            __ATOMIC_ACQUIRE, __ATOMIC_ACQUIRE))
                return true;
            continue;
        }
        if (!(state & PL_ONCE_PARKED_BIT) && pl_spin(&spin)) {
            state = __atomic_load_n(&o->state, __ATOMIC_ACQUIRE);
            continue;
        }
        PL_CHAOS_POINT(); /* the runner may finish before we mark the once parked */
        if (!(state & PL_ONCE_PARKED_BIT)) {
            if (!__atomic_compare_exchange_n(&o->state, &state,
                                             (uint8_t)(state | PL_ONCE_PARKED_BIT), true,
                                             __ATOMIC_ACQUIRE, __ATOMIC_ACQUIRE))
                continue;
        }
        PL_CHAOS_POINT(); /* marked parked, not yet validated */
        (void)pl_park(o, validate_running, NULL, NULL, o, PL_DEFAULT_PARK_TOKEN, PL_FOREVER);
        pl_spin_reset(&spin);
        state = __atomic_load_n(&o->state, __ATOMIC_ACQUIRE);
    }
}

static void finish(pl_once_t *o, bool ok)
{
    if (ok) {
        /* Release: publishes the initialiser's writes to the acquire fast path. */
        uint8_t prev = __atomic_exchange_n(&o->state, PL_ONCE_DONE_BIT, __ATOMIC_RELEASE);
        PL_CHAOS_POINT(); /* done, sleepers not yet woken */
        if (prev & PL_ONCE_PARKED_BIT)
            (void)pl_unpark_all(o, PL_DEFAULT_UNPARK_TOKEN);
        return;
    }
    /* While we run, others only ever add PARKED; with nobody parked, just step down. */
    uint8_t expected = PL_ONCE_RUNNING_BIT;
    if (__atomic_compare_exchange_n(&o->state, &expected, 0, false, __ATOMIC_RELEASE,
                                    __ATOMIC_RELAXED))
        return;
    PL_CHAOS_POINT(); /* failed with waiters: more may queue before we pass the turn */
    (void)pl_unpark_one(o, release_after_failure, o);
}

void pl_call_once_slow(pl_once_t *o, void (*fn)(void *), void *arg)
{
    if (fn == NULL)
        pl_misuse("pl_call_once", o, "fn is NULL");
    if (!claim_or_wait(o))
        return;
    fn(arg);
    finish(o, true);
}

bool pl_call_once_try_slow(pl_once_t *o, bool (*fn)(void *), void *arg)
{
    if (fn == NULL)
        pl_misuse("pl_call_once_try", o, "fn is NULL");
    if (!claim_or_wait(o))
        return true;
    bool ok = fn(arg);
    finish(o, ok);
    return ok;
}
