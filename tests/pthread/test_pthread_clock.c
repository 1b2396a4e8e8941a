/* CLOCK_REALTIME set backwards during a timed wait (docs/pthread.md, "Semantics"): the wait
 * must not end before the absolute time is reached on the realtime clock.  The program replaces
 * clock_gettime, so that libparking-pthread (which reads the caller's clock through the PLT) sees
 * a realtime clock the test moves; the monotonic clock stays the real one. */
#include "test_util.h"

#include <dlfcn.h>
#include <errno.h>

static _Atomic int64_t realtime_offset_ns; /* subtracted from the real CLOCK_REALTIME */

int clock_gettime(clockid_t clock, struct timespec *ts)
{
    static int (*real)(clockid_t, struct timespec *);
    if (real == NULL)
        *(void **)&real = dlsym(RTLD_NEXT, "clock_gettime");
    int rc = real(clock, ts);
    int64_t off = atomic_load(&realtime_offset_ns);
    if (rc == 0 && clock == CLOCK_REALTIME && off != 0) {
        int64_t ns = (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec - off;
        ts->tv_sec = (time_t)(ns / 1000000000);
        ts->tv_nsec = (long)(ns % 1000000000);
    }
    return rc;
}

static struct timespec realtime_in(int64_t ns)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    int64_t total = (int64_t)t.tv_sec * 1000000000 + t.tv_nsec + ns;
    t.tv_sec = (time_t)(total / 1000000000);
    t.tv_nsec = (long)(total % 1000000000);
    return t;
}

static atomic_bool waiting;

static void *set_clock_back(void *arg)
{
    (void)arg;
    while (!atomic_load(&waiting))
        sched_yield();
    tu_sleep_ns(20 * TU_MS);
    atomic_store(&realtime_offset_ns, (int64_t)(300 * TU_MS)); /* the clock goes 300 ms back */
    return NULL;
}

/* 0: pthread_mutex_timedlock, 1: pthread_rwlock_timedwrlock, 2: pthread_cond_timedwait. */
START_TEST(realtime_set_backwards)
{
    static pthread_mutex_t held = PTHREAD_MUTEX_INITIALIZER;
    static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
    static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
    static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    atomic_store(&realtime_offset_ns, 0);
    pthread_mutex_lock(&held); /* a normal mutex: our own relock just times out */
    pthread_rwlock_rdlock(&rw);
    pthread_mutex_lock(&m);
    pthread_t t;
    tu_spawn(&t, set_clock_back, NULL);
    uint64_t t0 = pl_now(); /* before the deadline is computed, so no preemption shortens it */
    struct timespec until = realtime_in(100 * (int64_t)TU_MS);
    atomic_store(&waiting, true);
    int rc;
    switch (_i) {
    case 0: rc = pthread_mutex_timedlock(&held, &until); break;
    case 1: rc = pthread_rwlock_timedwrlock(&rw, &until); break;
    default:
        /* A condvar wait returns 0 (a spurious wake-up) rather than time out early; the
         * caller's loop waits again with the same absolute time. */
        while ((rc = pthread_cond_timedwait(&c, &m, &until)) == 0) {
        }
        break;
    }
    uint64_t waited = pl_now() - t0;
    tu_join(t);
    ck_assert_int_eq(rc, ETIMEDOUT);
    /* 100 ms on the realtime clock that went 300 ms back: about 400 ms of real time. */
    ck_assert_uint_ge(waited, 380 * TU_MS);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    ck_assert(now.tv_sec > until.tv_sec ||
              (now.tv_sec == until.tv_sec && now.tv_nsec >= until.tv_nsec));
    pthread_mutex_unlock(&m);
    pthread_rwlock_unlock(&rw);
    pthread_mutex_unlock(&held);
}
END_TEST

static Suite *clock_suite(void)
{
    Suite *s = suite_create("pthread_clock");
    TCase *tc = tu_tcase(s, "realtime", 60);
    tcase_add_loop_test(tc, realtime_set_backwards, 0, 3);
    return s;
}

int main(void) { return tu_run_suite(clock_suite()); }
