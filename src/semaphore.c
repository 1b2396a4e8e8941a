/* pl_sem_t slow paths: park until a post hands over a permit, and the post that finds the
 * parked bit set.
 *
 * While a thread is queued the count is 0 and PARKED is set: a waiter parks only if it still sees
 * exactly that under the bucket lock, and every post made while PARKED is set takes the same
 * bucket lock and, finding a waiter, hands it the permit instead of adding it.  PARKED is cleared
 * only under that lock, by a post or a timed-out waiter that saw the last waiter leave; a thread
 * about to park re-validates under the lock, sees it clear and sets it again. */
#include <parking/semaphore.h>

#include <parking/cas.h>
#include <parking/lot.h>
#include "chaos.h"
#include "contention.h"
#include "lock_algorithm.h" /* PL_TOKEN_HANDOFF */
#include "probes.h"

static bool validate_empty(void *vctx)
{
    pl_sem_t *s = vctx;
    return __atomic_load_n(&s->state, __ATOMIC_RELAXED) == PL_SEM_PARKED_BIT;
}

static void timed_out_clear(void *vctx, const void *key, bool was_last_thread)
{
    (void)key;
    pl_sem_t *s = vctx;
    if (was_last_thread)
        (void)__atomic_fetch_and(&s->state, ~PL_SEM_PARKED_BIT, __ATOMIC_RELAXED);
}

static bool wait_permit(pl_sem_t *s, uint64_t deadline, uint32_t *parks)
{
    if (deadline != PL_FOREVER && (deadline == 0 || pl_now() >= deadline))
        return pl_sem__try(s);
    pl_spin_t spin = PL_SPIN_INIT;
    uint32_t v = __atomic_load_n(&s->state, __ATOMIC_RELAXED);
    for (;;) {
        if (v >= PL_SEM_ONE) {
            if (PL__CAS(&s->state, &v, v - PL_SEM_ONE, true, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
                return true;
            continue;
        }
        if (!(v & PL_SEM_PARKED_BIT) && pl_spin(&spin)) {
            v = __atomic_load_n(&s->state, __ATOMIC_RELAXED);
            continue;
        }
        if (deadline != PL_FOREVER && pl_now() >= deadline)
            return false;
        PL_CHAOS_POINT(); /* a post may come before we mark the semaphore parked */
        if (!(v & PL_SEM_PARKED_BIT) && !PL__CAS(&s->state, &v, v | PL_SEM_PARKED_BIT, true,
                                                 __ATOMIC_RELAXED, __ATOMIC_RELAXED))
            continue;
        PL_CHAOS_POINT(); /* marked parked, not yet validated: a post may find nobody */
        pl_park_result_t r =
            pl_park(s, validate_empty, NULL, timed_out_clear, s, PL_DEFAULT_PARK_TOKEN, deadline);
        *parks += r.status != PL_PARK_INVALID;
        if (r.status == PL_PARK_UNPARKED && r.token == PL_TOKEN_HANDOFF)
            return true; /* the poster gave us its permit; the count never showed it */
        if (r.status == PL_PARK_TIMED_OUT)
            return pl_sem__try(s); /* sem_timedwait: a permit there now is still taken */
        pl_spin_reset(&spin);
        v = __atomic_load_n(&s->state, __ATOMIC_RELAXED);
    }
}

typedef struct watched_wait {
    pl_sem_t *s;
    uint64_t deadline;
} watched_wait_t;

static bool run_wait(void *ctx, uint32_t *parks)
{
    const watched_wait_t *w = ctx;
    return wait_permit(w->s, w->deadline, parks);
}

bool pl_sem_wait_slow(pl_sem_t *s, uint64_t deadline)
{
    PL_PROBE3(slow_begin, s, PL_PRIM_SEMAPHORE, PL_MODE_WAIT);
    if (PL_CONTENTION_WATCHED())
        return pl_contention_run(s, PL_PRIM_SEMAPHORE, PL_MODE_WAIT, __builtin_return_address(0),
                                 run_wait, &(watched_wait_t){s, deadline});
    uint32_t parks = 0;
    return wait_permit(s, deadline, &parks);
}

typedef struct post_ctx {
    pl_sem_t *s;
    int rc;
} post_ctx_t;

/* Under the bucket lock: the post's only write to the word.  After it the poster only wakes the
 * thread it chose (by address), so a waiter may free the semaphore as soon as it returns. */
static uintptr_t post_decide(void *vctx, pl_unpark_result_t result)
{
    post_ctx_t *p = vctx;
    uint32_t clear = result.have_more ? 0 : PL_SEM_PARKED_BIT;
    PL_CHAOS_POINT(); /* under the bucket lock: waiters queue behind it, trywaits go on */
    if (result.unparked > 0) {
        if (clear)
            (void)__atomic_fetch_and(&p->s->state, ~clear, __ATOMIC_RELAXED);
        return PL_TOKEN_HANDOFF;
    }
    uint32_t v = __atomic_load_n(&p->s->state, __ATOMIC_RELAXED);
    for (;;) {
        uint32_t next = v & ~clear;
        p->rc = v >> 1 == PL_SEM_VALUE_MAX ? EOVERFLOW : 0;
        if (p->rc == 0)
            next += PL_SEM_ONE;
        if (PL__CAS(&p->s->state, &v, next, true, __ATOMIC_RELEASE, __ATOMIC_RELAXED))
            return PL_DEFAULT_UNPARK_TOKEN;
    }
}

int pl_sem_post_slow(pl_sem_t *s)
{
    post_ctx_t p = {s, 0};
    PL_CHAOS_POINT(); /* seen parked, not yet unparking: waiters may time out */
    (void)pl_unpark_one(s, post_decide, &p);
    return p.rc;
}
