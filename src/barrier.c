/* pl_barrier_t slow paths: an arrival that may be the last (it runs the completion and moves the
 * phase on), and the wait for a phase to end.
 *
 * Waiters park only while, under the barrier's bucket lock, the phase is still theirs and PARKED
 * is set.  The last arrival's phase change clears PARKED in the same compare-and-swap that tells
 * it whether the bit was set; a waiter queued before it is found by the pl_unpark_all that
 * follows, one validating after it sees the new phase. */
#include <parking/barrier.h>

#include <parking/cas.h>
#include <parking/lot.h>
#include "chaos.h"
#include "contention.h"
#include "lock_algorithm.h" /* pl_misuse */
#include "probes.h"

#define REMAINING(v) ((uint32_t)(((v) >> 2) & PL_BARRIER_MAX))
#define COUNT(v) ((uint32_t)((v) >> 33))
#define PHASE(v) ((pl_barrier_token_t)(((v)&PL_BARRIER_PHASE_BIT) >> 1))

pl_barrier_token_t pl_barrier_arrive_slow(pl_barrier_t *b, bool drop, void (*completion)(void *),
                                          void *arg, bool *serial, const char *fn)
{
    uint64_t v = __atomic_load_n(&b->state, __ATOMIC_RELAXED);
    uint64_t next;
    for (;;) {
        uint32_t remaining = REMAINING(v);
        if (remaining == 0 || (drop && COUNT(v) == 0))
            pl_misuse(fn, b, "more arrivals than the barrier's count");
        next = v - PL_BARRIER_ONE - (drop ? (uint64_t)1 << 33 : 0);
        /* Acquire-release: the last arrival sees what every arrival of the phase wrote. */
        if (PL__CAS(&b->state, &v, next, true, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
            break;
    }
    pl_barrier_token_t phase = PHASE(v);
    if (REMAINING(next) != 0)
        return phase;
    *serial = true;
    /* Remaining is 0 until the phase changes: nobody else can arrive, waiters keep waiting. */
    if (completion != NULL)
        completion(arg);
    v = next;
    for (;;) {
        uint64_t count = COUNT(v);
        uint64_t fresh =
            (count << 33) | (count << 2) | ((v & PL_BARRIER_PHASE_BIT) ^ PL_BARRIER_PHASE_BIT);
        /* The phase change is the arrival's last write: released waiters may free the barrier
         * once all have returned, and the wake below is by address. */
        if (PL__CAS(&b->state, &v, fresh, true, __ATOMIC_RELEASE, __ATOMIC_RELAXED))
            break;
    }
    if (v & PL_BARRIER_PARKED_BIT) {
        PL_CHAOS_POINT(); /* phase ended: waiters may return before the wake */
        (void)pl_unpark_all(b, PL_DEFAULT_UNPARK_TOKEN);
    }
    return phase;
}

typedef struct wait_ctx {
    pl_barrier_t *b;
    pl_barrier_token_t token;
} wait_ctx_t;

static bool validate_same_phase(void *vctx)
{
    wait_ctx_t *w = vctx;
    uint64_t v = __atomic_load_n(&w->b->state, __ATOMIC_RELAXED);
    return (v & PL_BARRIER_PARKED_BIT) && PHASE(v) == w->token;
}

static void timed_out_clear(void *vctx, const void *key, bool was_last_thread)
{
    (void)key;
    wait_ctx_t *w = vctx;
    if (was_last_thread)
        (void)__atomic_fetch_and(&w->b->state, ~PL_BARRIER_PARKED_BIT, __ATOMIC_RELAXED);
}

static bool wait_phase(pl_barrier_t *b, pl_barrier_token_t token, uint64_t deadline,
                       uint32_t *parks)
{
    if (deadline != PL_FOREVER && (deadline == 0 || pl_now() >= deadline))
        return PHASE(__atomic_load_n(&b->state, __ATOMIC_ACQUIRE)) != token;
    wait_ctx_t w = {b, token};
    pl_spin_t spin = PL_SPIN_INIT;
    uint64_t v = __atomic_load_n(&b->state, __ATOMIC_ACQUIRE);
    for (;;) {
        if (PHASE(v) != token)
            return true;
        if (!(v & PL_BARRIER_PARKED_BIT) && pl_spin(&spin)) {
            v = __atomic_load_n(&b->state, __ATOMIC_ACQUIRE);
            continue;
        }
        if (deadline != PL_FOREVER && pl_now() >= deadline)
            return false;
        PL_CHAOS_POINT(); /* the phase may end before we mark the barrier parked */
        if (!(v & PL_BARRIER_PARKED_BIT) && !PL__CAS(&b->state, &v, v | PL_BARRIER_PARKED_BIT, true,
                                                     __ATOMIC_ACQUIRE, __ATOMIC_ACQUIRE))
            continue;
        PL_CHAOS_POINT(); /* marked parked, not yet validated */
        pl_park_result_t r = pl_park(b, validate_same_phase, NULL, timed_out_clear, &w,
                                     PL_DEFAULT_PARK_TOKEN, deadline);
        *parks += r.status != PL_PARK_INVALID;
        /* Woken: look again.  The wake-up of a phase change is sent after the change, so it may
         * reach a thread that has already gone through the next arrival and parked for the
         * next phase (chaos mode showed it: that thread left its phase early and arrived twice
         * in the next).  The caller is inside a call on the barrier, so the word is still its
         * own. */
        if (r.status == PL_PARK_TIMED_OUT)
            return PHASE(__atomic_load_n(&b->state, __ATOMIC_ACQUIRE)) != token;
        pl_spin_reset(&spin);
        v = __atomic_load_n(&b->state, __ATOMIC_ACQUIRE);
    }
}

typedef struct watched_wait {
    pl_barrier_t *b;
    pl_barrier_token_t token;
    uint64_t deadline;
} watched_wait_t;

static bool run_wait(void *ctx, uint32_t *parks)
{
    const watched_wait_t *w = ctx;
    return wait_phase(w->b, w->token, w->deadline, parks);
}

bool pl_barrier_wait_slow(pl_barrier_t *b, pl_barrier_token_t token, uint64_t deadline)
{
    PL_PROBE3(slow_begin, b, PL_PRIM_BARRIER, PL_MODE_WAIT);
    if (PL_CONTENTION_WATCHED())
        return pl_contention_run(b, PL_PRIM_BARRIER, PL_MODE_WAIT, __builtin_return_address(0),
                                 run_wait, &(watched_wait_t){b, token, deadline});
    uint32_t parks = 0;
    return wait_phase(b, token, deadline, &parks);
}
