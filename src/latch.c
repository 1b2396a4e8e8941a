/* pl_latch_t slow paths: park until the count reaches zero, the wake-up of the count_down that
 * reached it with threads parked, and the underflow report.
 *
 * Waiters park only while, under the latch's bucket lock, the count is above zero with PARKED
 * set.  The count_down that reaches zero writes 0 (PARKED cleared) in the compare-and-swap that
 * also tells it whether PARKED was set, then wakes by address: a waiter queued before that write
 * is found by the wake, one validating after it sees zero. */
#include <parking/latch.h>

#include <parking/cas.h>
#include <parking/lot.h>
#include "chaos.h"
#include "contention.h"
#include "lock_algorithm.h" /* pl_misuse */
#include "probes.h"

static bool validate_closed(void *vctx)
{
    pl_latch_t *l = vctx;
    uint32_t v = __atomic_load_n(&l->state, __ATOMIC_RELAXED);
    return (v & PL_LATCH_PARKED_BIT) && (v >> 1) != 0;
}

static void timed_out_clear(void *vctx, const void *key, bool was_last_thread)
{
    (void)key;
    pl_latch_t *l = vctx;
    if (was_last_thread)
        (void)__atomic_fetch_and(&l->state, ~PL_LATCH_PARKED_BIT, __ATOMIC_RELAXED);
}

static bool wait_open(pl_latch_t *l, uint64_t deadline, uint32_t *parks)
{
    if (deadline != PL_FOREVER && (deadline == 0 || pl_now() >= deadline))
        return (__atomic_load_n(&l->state, __ATOMIC_ACQUIRE) >> 1) == 0;
    pl_spin_t spin = PL_SPIN_INIT;
    uint32_t v = __atomic_load_n(&l->state, __ATOMIC_ACQUIRE);
    for (;;) {
        if ((v >> 1) == 0)
            return true;
        if (!(v & PL_LATCH_PARKED_BIT) && pl_spin(&spin)) {
            v = __atomic_load_n(&l->state, __ATOMIC_ACQUIRE);
            continue;
        }
        if (deadline != PL_FOREVER && pl_now() >= deadline)
            return false;
        PL_CHAOS_POINT(); /* the last count_down may come before we mark the latch parked */
        if (!(v & PL_LATCH_PARKED_BIT) && !PL__CAS(&l->state, &v, v | PL_LATCH_PARKED_BIT, true,
                                                   __ATOMIC_ACQUIRE, __ATOMIC_ACQUIRE))
            continue;
        PL_CHAOS_POINT(); /* marked parked, not yet validated */
        pl_park_result_t r =
            pl_park(l, validate_closed, NULL, timed_out_clear, l, PL_DEFAULT_PARK_TOKEN, deadline);
        *parks += r.status != PL_PARK_INVALID;
        /* Only a count_down that reached zero wakes us, but maybe one of an earlier latch at
         * this address (freed and reused, or re-initialised) whose wake-up came late: the count
         * is read again, so such a wake-up cannot open this latch early.  A waiter reads the
         * latch after its wake-up, so the latch may be freed once every waiter has returned
         * (the destructor precondition of C++'s std::latch), not when the first one has. */
        if (r.status == PL_PARK_UNPARKED) {
            v = __atomic_load_n(&l->state, __ATOMIC_ACQUIRE);
            if ((v >> 1) == 0)
                return true;
            pl_spin_reset(&spin);
            continue;
        }
        if (r.status == PL_PARK_TIMED_OUT)
            return (__atomic_load_n(&l->state, __ATOMIC_ACQUIRE) >> 1) == 0;
        pl_spin_reset(&spin);
        v = __atomic_load_n(&l->state, __ATOMIC_ACQUIRE);
    }
}

typedef struct watched_wait {
    pl_latch_t *l;
    uint64_t deadline;
} watched_wait_t;

static bool run_wait(void *ctx, uint32_t *parks)
{
    const watched_wait_t *w = ctx;
    return wait_open(w->l, w->deadline, parks);
}

bool pl_latch_wait_slow(pl_latch_t *l, uint64_t deadline)
{
    PL_PROBE3(slow_begin, l, PL_PRIM_LATCH, PL_MODE_WAIT);
    if (PL_CONTENTION_WATCHED())
        return pl_contention_run(l, PL_PRIM_LATCH, PL_MODE_WAIT, __builtin_return_address(0),
                                 run_wait, &(watched_wait_t){l, deadline});
    uint32_t parks = 0;
    return wait_open(l, deadline, &parks);
}

void pl_latch_wake_slow(pl_latch_t *l)
{
    PL_CHAOS_POINT(); /* at zero: waiters may return and free the latch before the wake */
    (void)pl_unpark_all(l, PL_DEFAULT_UNPARK_TOKEN);
}

void pl_latch_underflow(const pl_latch_t *l, const char *fn)
{
    pl_misuse(fn, l, "count_down below zero");
}
