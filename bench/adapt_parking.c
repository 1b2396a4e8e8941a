/* pl-bench: libparking's contenders, through the installed-style headers <parking/...>, linked
 * to the shared libparking exactly as a user links it.  Each lock comes twice:
 * - "pl_mutex_t" (role ours): one out-of-line call per operation into libpb-parking-calls.so
 *   (calls_parking.c), the way every other contender is reached; the ratios and the summary use
 *   this one;
 * - "pl_mutex_t (inline)" (role ours-inline): the fast path inlined into the workload loop from
 *   the header, as user code gets it; an extra, labelled column. */
#include <string.h>

#include "bench.h"
#include "calls_parking.h"
#include "kernels.h"
#include <parking/cond.h>
#include <parking/mutex.h>
#include <parking/once.h>
#include <parking/rwlock.h>
#include <parking/wait.h>

/* ---- pl_mutex_t ---- */

static void plm_init(void *lock, bool zeroed)
{
    /* Zeroed memory already is an unlocked mutex: leave fresh pages untouched, as a user with
     * calloc'ed memory would. */
    if (!zeroed)
        memset(lock, 0, sizeof(pl_mutex_t));
}

static void plm_destroy(void *lock)
{
    /* Nothing to free; but once every thread is gone the byte must be back to 0: a lingering
     * parked bit would send every later lock down the slow path. */
    uint8_t state = __atomic_load_n(&((pl_mutex_t *)lock)->state, __ATOMIC_ACQUIRE);
    if (state != 0)
        pb_fatal("pl_mutex_t %p: state 0x%02x after all threads finished (expected 0)", lock,
                 state);
}

static void plm_lock(void *lock) { pl_mutex_lock(lock); }
static void plm_unlock(void *lock) { pl_mutex_unlock(lock); }
PB_MUTEX_KERNELS(plm, plm_lock, plm_unlock)
PB_MUTEX_KERNELS(plm_call, pb_call_pl_mutex_lock, pb_call_pl_mutex_unlock)

static const pb_mutex_ops_t plm_call = {
    .name = "pl_mutex_t",
    .role = PB_OURS,
    .bytes = sizeof(pl_mutex_t),
    .align = _Alignof(pl_mutex_t),
    .init = plm_init,
    .destroy = plm_destroy,
    .lock = pb_call_pl_mutex_lock,
    .unlock = pb_call_pl_mutex_unlock,
    .pairs = plm_call_pairs,
    .speed = plm_call_speed,
    .many = plm_call_many,
};

static const pb_mutex_ops_t plm = {
    .name = "pl_mutex_t (inline)",
    .role = PB_OURS_INLINE,
    .bytes = sizeof(pl_mutex_t),
    .align = _Alignof(pl_mutex_t),
    .init = plm_init,
    .destroy = plm_destroy,
    .lock = plm_lock,
    .unlock = plm_unlock,
    .pairs = plm_pairs,
    .speed = plm_speed,
    .many = plm_many,
};

/* ---- pl_rwlock_t ---- */

static void plrw_init(void *lock) { memset(lock, 0, sizeof(pl_rwlock_t)); }

static void plrw_destroy(void *lock)
{
    uintptr_t state = __atomic_load_n(&((pl_rwlock_t *)lock)->state, __ATOMIC_ACQUIRE);
    if (state != 0)
        pb_fatal("pl_rwlock_t %p: state %#lx after all threads finished (expected 0)", lock,
                 (unsigned long)state);
}

static void plrw_rdlock(void *l) { pl_rwlock_rdlock(l); }
static void plrw_rdunlock(void *l) { pl_rwlock_rdunlock(l); }
static void plrw_wrlock(void *l) { pl_rwlock_wrlock(l); }
static void plrw_wrunlock(void *l) { pl_rwlock_wrunlock(l); }
PB_RWLOCK_KERNELS(plrw, plrw_rdlock, plrw_rdunlock, plrw_wrlock, plrw_wrunlock)
PB_RWLOCK_KERNELS(plrw_call, pb_call_pl_rwlock_rdlock, pb_call_pl_rwlock_rdunlock,
                  pb_call_pl_rwlock_wrlock, pb_call_pl_rwlock_wrunlock)

static const pb_rwlock_ops_t plrw_call = {
    .name = "pl_rwlock_t",
    .role = PB_OURS,
    .bytes = sizeof(pl_rwlock_t),
    .align = _Alignof(pl_rwlock_t),
    .init = plrw_init,
    .destroy = plrw_destroy,
    .run = plrw_call_rw,
};

static const pb_rwlock_ops_t plrw = {
    .name = "pl_rwlock_t (inline)",
    .role = PB_OURS_INLINE,
    .bytes = sizeof(pl_rwlock_t),
    .align = _Alignof(pl_rwlock_t),
    .init = plrw_init,
    .destroy = plrw_destroy,
    .run = plrw_rw,
};

/* ---- pl_cond_t with pl_mutex_t ---- */

static void plc_mutex_init(void *mutex) { memset(mutex, 0, sizeof(pl_mutex_t)); }
static void plc_cond_init(void *cond) { memset(cond, 0, sizeof(pl_cond_t)); }

static void plc_cond_destroy(void *cond)
{
    /* The word names the waiters' mutex while anyone waits, and must be back to NULL. */
    if (__atomic_load_n(&((pl_cond_t *)cond)->mutex, __ATOMIC_ACQUIRE) != NULL)
        pb_fatal("pl_cond_t %p still names a mutex after every waiter left", cond);
}

static void plc_wait(void *cond, void *mutex) { pl_cond_wait(cond, mutex); }
static void plc_signal(void *cond) { (void)pl_cond_signal(cond); }
static void plc_broadcast(void *cond) { (void)pl_cond_broadcast(cond); }

static const pb_cond_ops_t plc = {
    .name = "pl_cond_t+pl_mutex_t",
    .role = PB_OURS,
    .bytes = sizeof(pl_cond_t),
    .mutex_bytes = sizeof(pl_mutex_t),
    .mutex_init = plc_mutex_init,
    .mutex_destroy = plm_destroy,
    .cond_init = plc_cond_init,
    .cond_destroy = plc_cond_destroy,
    .lock = plm_lock,
    .unlock = plm_unlock,
    .wait = plc_wait,
    .signal = plc_signal,
    .broadcast = plc_broadcast,
};

/* ---- pl_wait / pl_wake_one on the word itself ---- */

static void plw_init(void *ev) { memset(ev, 0, PB_EVENT_BYTES); }
static void plw_destroy(void *ev) { (void)ev; }

static uint32_t plw_wait_while(void *ev, uint32_t expected)
{
    uint32_t *word = ev, v;
    while ((v = __atomic_load_n(word, __ATOMIC_ACQUIRE)) == expected)
        (void)pl_wait(word, &expected, sizeof expected, PL_FOREVER);
    return v;
}

static void plw_set_and_wake(void *ev, uint32_t value)
{
    __atomic_store_n((uint32_t *)ev, value, __ATOMIC_RELEASE);
    (void)pl_wake_one(ev);
}

static const pb_event_ops_t plw = {
    .name = "pl_wait/pl_wake_one",
    .role = PB_OURS,
    .init = plw_init,
    .destroy = plw_destroy,
    .wait_while = plw_wait_while,
    .set_and_wake = plw_set_and_wake,
};

/* ---- pl_once_t ---- */

static void *plo_alloc(size_t count) { return pb_xcalloc(count, sizeof(pl_once_t)); }

static void plo_trampoline(void *arg)
{
    void (**fn)(void) = arg;
    (*fn)();
}

static void plo_call(void *onces, size_t index, void (*fn)(void))
{
    pl_call_once((pl_once_t *)onces + index, plo_trampoline, &fn);
}

static void plo_count(void *arg) { ++*(uint64_t *)arg; }

static uint64_t plo_fast(uint64_t n)
{
    static pl_once_t once = PL_ONCE_INIT;
    static uint64_t runs;
    uint64_t sum = 0;
    pl_call_once(&once, plo_count, &runs);
    for (uint64_t i = 0; i < n; i++) {
        /* The inline done check, as callers of a lazily initialised global get it; the
         * volatile read after it keeps the compiler from hoisting the call out of the loop. */
        pl_call_once(&once, plo_count, &runs);
        sum += *(volatile uint64_t *)&runs;
    }
    return sum;
}

/* The out-of-line call of a done once, as pthread_once is reached. */
static uint64_t plo_call_fast(uint64_t n)
{
    static pl_once_t once = PL_ONCE_INIT;
    static uint64_t runs;
    uint64_t sum = 0;
    pb_call_pl_call_once(&once, plo_count, &runs);
    for (uint64_t i = 0; i < n; i++) {
        pb_call_pl_call_once(&once, plo_count, &runs);
        sum += *(volatile uint64_t *)&runs;
    }
    return sum;
}

static void plo_call_call(void *onces, size_t index, void (*fn)(void))
{
    pb_call_pl_call_once((pl_once_t *)onces + index, plo_trampoline, &fn);
}

static const pb_once_ops_t plo_out = {
    .name = "pl_call_once",
    .role = PB_OURS,
    .bytes = sizeof(pl_once_t),
    .alloc = plo_alloc,
    .call = plo_call_call,
    .fast = plo_call_fast,
};

static const pb_once_ops_t plo = {
    .name = "pl_call_once (inline)",
    .role = PB_OURS_INLINE,
    .bytes = sizeof(pl_once_t),
    .alloc = plo_alloc,
    .call = plo_call,
    .fast = plo_fast,
};

void pb_parking_register(void)
{
    pb_register_mutex(&plm_call);
    pb_register_mutex(&plm);
    pb_register_rwlock(&plrw_call);
    pb_register_rwlock(&plrw);
    pb_register_cond(&plc);
    pb_register_event(&plw);
    pb_register_once(&plo_out);
    pb_register_once(&plo);
}
