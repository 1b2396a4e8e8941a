/* pl-bench: the pthread contenders, the baselines of every ratio: pthread_mutex_t (default and
 * PTHREAD_MUTEX_ADAPTIVE_NP, Linux C libraries only), pthread_rwlock_t, pthread_cond_t, a mutex
 * + condvar event (the closest pthread equivalent of waiting on an address) and pthread_once. */
#include <pthread.h>
#include <string.h>

#include "bench.h"
#include "kernels.h"

/* An enumerator in glibc, not a macro, so #ifdef cannot find it: macOS and the BSDs lack it. */
#if defined(__linux__)
#  define PB_HAVE_ADAPTIVE_MUTEX 1
#endif

/* Return codes are checked everywhere: a failing call must end the run, not post a number. */
#define PB_CHECK(call)                                                                             \
  do {                                                                                             \
    int rc_ = (call);                                                                              \
    if (rc_ != 0)                                                                                  \
      pb_fatal("%s failed: %s", #call, strerror(rc_));                                             \
  } while (0)

/* ---- pthread_mutex_t ---- */

static void ptm_init(void *lock, bool zeroed)
{
    (void)zeroed; /* pthread_mutex_init writes the whole object either way */
    PB_CHECK(pthread_mutex_init(lock, NULL));
}

#ifdef PB_HAVE_ADAPTIVE_MUTEX
static void ptm_init_adaptive(void *lock, bool zeroed)
{
    pthread_mutexattr_t attr;
    (void)zeroed;
    PB_CHECK(pthread_mutexattr_init(&attr));
    PB_CHECK(pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP));
    PB_CHECK(pthread_mutex_init(lock, &attr));
    PB_CHECK(pthread_mutexattr_destroy(&attr));
}
#endif

/* pthread_mutex_destroy fails with EBUSY on a locked mutex: our "left clean" check. */
static void ptm_destroy(void *lock) { PB_CHECK(pthread_mutex_destroy(lock)); }

/* The hot loops skip the return-code checks: a default mutex cannot fail to lock or unlock
 * when used correctly, and the counters catch a lock that lets two threads in. */
static void ptm_lock(void *lock) { pthread_mutex_lock(lock); }
static void ptm_unlock(void *lock) { pthread_mutex_unlock(lock); }
PB_MUTEX_KERNELS(ptm, ptm_lock, ptm_unlock)

static const pb_mutex_ops_t ptm = {
    .name = "pthread_mutex_t",
    .role = PB_BASELINE,
    .bytes = sizeof(pthread_mutex_t),
    .align = _Alignof(pthread_mutex_t),
    .init = ptm_init,
    .destroy = ptm_destroy,
    .lock = ptm_lock,
    .unlock = ptm_unlock,
    .pairs = ptm_pairs,
    .speed = ptm_speed,
    .many = ptm_many,
};

#ifdef PB_HAVE_ADAPTIVE_MUTEX
static const pb_mutex_ops_t ptm_adaptive = {
    .name = "pthread_mutex_t (adaptive)",
    .role = PB_PEER,
    .bytes = sizeof(pthread_mutex_t),
    .align = _Alignof(pthread_mutex_t),
    .init = ptm_init_adaptive,
    .destroy = ptm_destroy,
    .lock = ptm_lock,
    .unlock = ptm_unlock,
    .pairs = ptm_pairs,
    .speed = ptm_speed,
    .many = ptm_many,
};
#endif

/* ---- pthread_rwlock_t (default attributes: readers preferred, glibc's default) ---- */

static void ptrw_init(void *lock) { PB_CHECK(pthread_rwlock_init(lock, NULL)); }
static void ptrw_destroy(void *lock) { PB_CHECK(pthread_rwlock_destroy(lock)); }
static void ptrw_rdlock(void *l) { pthread_rwlock_rdlock(l); }
static void ptrw_wrlock(void *l) { pthread_rwlock_wrlock(l); }
static void ptrw_unlock(void *l) { pthread_rwlock_unlock(l); }
PB_RWLOCK_KERNELS(ptrw, ptrw_rdlock, ptrw_unlock, ptrw_wrlock, ptrw_unlock)

static const pb_rwlock_ops_t ptrw = {
    .name = "pthread_rwlock_t",
    .role = PB_BASELINE,
    .bytes = sizeof(pthread_rwlock_t),
    .align = _Alignof(pthread_rwlock_t),
    .init = ptrw_init,
    .destroy = ptrw_destroy,
    .run = ptrw_rw,
};

/* ---- pthread_cond_t with pthread_mutex_t ---- */

static void ptc_mutex_init(void *mutex) { PB_CHECK(pthread_mutex_init(mutex, NULL)); }
static void ptc_cond_init(void *cond) { PB_CHECK(pthread_cond_init(cond, NULL)); }
static void ptc_cond_destroy(void *cond) { PB_CHECK(pthread_cond_destroy(cond)); }

static void ptc_wait(void *cond, void *mutex) { PB_CHECK(pthread_cond_wait(cond, mutex)); }
static void ptc_signal(void *cond) { PB_CHECK(pthread_cond_signal(cond)); }
static void ptc_broadcast(void *cond) { PB_CHECK(pthread_cond_broadcast(cond)); }

static const pb_cond_ops_t ptc = {
    .name = "pthread_cond_t+mutex",
    .role = PB_BASELINE,
    .bytes = sizeof(pthread_cond_t),
    .mutex_bytes = sizeof(pthread_mutex_t),
    .mutex_init = ptc_mutex_init,
    .mutex_destroy = ptm_destroy,
    .cond_init = ptc_cond_init,
    .cond_destroy = ptc_cond_destroy,
    .lock = ptm_lock,
    .unlock = ptm_unlock,
    .wait = ptc_wait,
    .signal = ptc_signal,
    .broadcast = ptc_broadcast,
};

/* ---- an event: a word guarded by a mutex, waited for on a condvar ---- */

typedef struct ptev {
    uint32_t word;
    pthread_mutex_t mutex;
    pthread_cond_t cond;
} ptev_t;
_Static_assert(sizeof(ptev_t) <= PB_EVENT_BYTES, "pthread event too large");

static void ptev_init(void *ev)
{
    ptev_t *e = ev;
    e->word = 0;
    PB_CHECK(pthread_mutex_init(&e->mutex, NULL));
    PB_CHECK(pthread_cond_init(&e->cond, NULL));
}

static void ptev_destroy(void *ev)
{
    ptev_t *e = ev;
    PB_CHECK(pthread_cond_destroy(&e->cond));
    PB_CHECK(pthread_mutex_destroy(&e->mutex));
}

static uint32_t ptev_wait_while(void *ev, uint32_t expected)
{
    ptev_t *e = ev;
    pthread_mutex_lock(&e->mutex);
    while (e->word == expected)
        pthread_cond_wait(&e->cond, &e->mutex);
    uint32_t v = e->word;
    pthread_mutex_unlock(&e->mutex);
    return v;
}

static void ptev_set_and_wake(void *ev, uint32_t value)
{
    ptev_t *e = ev;
    pthread_mutex_lock(&e->mutex);
    e->word = value;
    pthread_cond_signal(&e->cond);
    pthread_mutex_unlock(&e->mutex);
}

static const pb_event_ops_t ptev = {
    .name = "pthread mutex+cond event",
    .role = PB_BASELINE,
    .init = ptev_init,
    .destroy = ptev_destroy,
    .wait_while = ptev_wait_while,
    .set_and_wake = ptev_set_and_wake,
};

/* ---- pthread_once ---- */

static void *pto_alloc(size_t count)
{
    pthread_once_t *o = pb_xcalloc(count, sizeof *o);
    for (size_t i = 0; i < count; i++)
        o[i] = (pthread_once_t)PTHREAD_ONCE_INIT;
    return o;
}

static void pto_call(void *onces, size_t index, void (*fn)(void))
{
    PB_CHECK(pthread_once((pthread_once_t *)onces + index, fn));
}

static uint64_t pto_runs;
static void pto_count(void) { pto_runs++; }

static uint64_t pto_fast(uint64_t n)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    uint64_t sum = 0;
    pthread_once(&once, pto_count);
    for (uint64_t i = 0; i < n; i++) {
        pthread_once(&once, pto_count);
        sum += *(volatile uint64_t *)&pto_runs;
    }
    return sum;
}

static const pb_once_ops_t pto = {
    .name = "pthread_once",
    .role = PB_BASELINE,
    .bytes = sizeof(pthread_once_t),
    .alloc = pto_alloc,
    .call = pto_call,
    .fast = pto_fast,
};

void pb_pthread_register(void)
{
#ifdef PB_HAVE_ADAPTIVE_MUTEX
    pb_register_mutex(&ptm_adaptive);
#endif
    pb_register_mutex(&ptm);
    pb_register_rwlock(&ptrw);
    pb_register_cond(&ptc);
    pb_register_event(&ptev);
    pb_register_once(&pto);
}
