/* pl_event_t slow paths: park until set, and the wake-up of a set that found waiters.
 *
 * Waiters park on the event's address only while, under its bucket lock, they still see PARKED
 * without SET.  The setter's exchange (SET, PARKED cleared) either comes before that check (the
 * waiter does not sleep) or after the waiter is queued, and then the setter saw PARKED and its
 * pl_unpark_all finds it. */
#include <parking/event.h>

#include <parking/cas.h>
#include <parking/lot.h>
#include "chaos.h"
#include "contention.h"
#include "probes.h"

static bool validate_unset(void *vctx)
{
    pl_event_t *e = vctx;
    return (__atomic_load_n(&e->state, __ATOMIC_RELAXED) &
            (PL_EVENT_SET_BIT | PL_EVENT_PARKED_BIT)) == PL_EVENT_PARKED_BIT;
}

/* Under the bucket lock: a waiter about to park re-validates under it and sets the bit again. */
static void timed_out_clear(void *vctx, const void *key, bool was_last_thread)
{
    (void)key;
    pl_event_t *e = vctx;
    if (was_last_thread)
        (void)__atomic_fetch_and(&e->state, ~PL_EVENT_PARKED_BIT, __ATOMIC_RELAXED);
}

static bool wait_set(pl_event_t *e, uint64_t deadline, uint32_t *parks)
{
    if (deadline != PL_FOREVER && (deadline == 0 || pl_now() >= deadline))
        return (__atomic_load_n(&e->state, __ATOMIC_ACQUIRE) & PL_EVENT_SET_BIT) != 0;
    pl_spin_t spin = PL_SPIN_INIT;
    uint32_t s = __atomic_load_n(&e->state, __ATOMIC_ACQUIRE);
    for (;;) {
        if (s & PL_EVENT_SET_BIT)
            return true;
        if (!(s & PL_EVENT_PARKED_BIT) && pl_spin(&spin)) {
            s = __atomic_load_n(&e->state, __ATOMIC_ACQUIRE);
            continue;
        }
        if (deadline != PL_FOREVER && pl_now() >= deadline)
            return false;
        PL_CHAOS_POINT(); /* the setter may come before we mark the event parked */
        if (!(s & PL_EVENT_PARKED_BIT) && !PL__CAS(&e->state, &s, s | PL_EVENT_PARKED_BIT, true,
                                                   __ATOMIC_ACQUIRE, __ATOMIC_ACQUIRE))
            continue;
        PL_CHAOS_POINT(); /* marked parked, not yet validated */
        pl_park_result_t r =
            pl_park(e, validate_unset, NULL, timed_out_clear, e, PL_DEFAULT_PARK_TOKEN, deadline);
        *parks += r.status != PL_PARK_INVALID;
        /* Only a set wakes us, but maybe the set of an earlier event at this address (one on
         * a stack frame or in memory freed and reused) whose wake-up came late: the word is read
         * again, so such a wake-up cannot pass for a set of this event.  The price: a set that
         * is reset before its woken waiter runs is missed by it (use a semaphore for pulses);
         * and the event may be freed once every waiter has returned, not the first one. */
        if (r.status == PL_PARK_UNPARKED) {
            s = __atomic_load_n(&e->state, __ATOMIC_ACQUIRE);
            if (s & PL_EVENT_SET_BIT)
                return true;
            pl_spin_reset(&spin);
            continue;
        }
        if (r.status == PL_PARK_TIMED_OUT)
            return (__atomic_load_n(&e->state, __ATOMIC_ACQUIRE) & PL_EVENT_SET_BIT) != 0;
        pl_spin_reset(&spin);
        s = __atomic_load_n(&e->state, __ATOMIC_ACQUIRE);
    }
}

typedef struct watched_wait {
    pl_event_t *e;
    uint64_t deadline;
} watched_wait_t;

static bool run_wait(void *ctx, uint32_t *parks)
{
    const watched_wait_t *w = ctx;
    return wait_set(w->e, w->deadline, parks);
}

bool pl_event_wait_slow(pl_event_t *e, uint64_t deadline)
{
    PL_PROBE3(slow_begin, e, PL_PRIM_EVENT, PL_MODE_WAIT);
    if (PL_CONTENTION_WATCHED())
        return pl_contention_run(e, PL_PRIM_EVENT, PL_MODE_WAIT, __builtin_return_address(0),
                                 run_wait, &(watched_wait_t){e, deadline});
    uint32_t parks = 0;
    return wait_set(e, deadline, &parks);
}

void pl_event_wake_slow(pl_event_t *e)
{
    PL_CHAOS_POINT(); /* set: waiters may return and free the event before the wake */
    (void)pl_unpark_all(e, PL_DEFAULT_UNPARK_TOKEN);
}
