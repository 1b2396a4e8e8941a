/* libparking-pthread, linked in (cc app.c -lparking-pthread): every return code and behaviour
 * of docs/pthread.md, checked against what glibc does, and proof that the calls ran on our
 * locks (the library's counters, and where our state lies inside the objects). */
#include "test_util.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <threads.h>

/* pthread/report.c: the counters, indexed as pthread/pt.h's enum pt_counter. */
uint64_t pl_pthread_counter(unsigned i);
enum {
    C_MUTEX_INIT_NORMAL,
    C_MUTEX_INIT_RECURSIVE,
    C_MUTEX_INIT_ERRORCHECK,
    C_MUTEX_INIT_ADAPTIVE,
    C_MUTEX_DELEGATED_PSHARED,
    C_MUTEX_DELEGATED_ROBUST,
    C_MUTEX_DELEGATED_PI,
    C_MUTEX_DELEGATED_PP,
    C_MUTEX_LOCKS,
    C_MUTEX_DELEGATED_OPS,
    C_COND_INIT,
    C_COND_DELEGATED_PSHARED,
    C_COND_DELEGATED_BY_MUTEX,
    C_COND_WAITS,
    C_COND_DELEGATED_WAITS,
    C_COND_MIXED_EINVAL,
    C_COND_CANCEL_WAKES,
    C_RWLOCK_INIT,
    C_RWLOCK_DELEGATED_PSHARED
};

/* Ours: the owner of a recursive or error-checking mutex is pthread_self() in the 8 bytes at
 * offset 8 (glibc keeps its int thread id there). */
static uintptr_t owner_of(pthread_mutex_t *m) { return *(uintptr_t *)(void *)((char *)m + 8); }

static struct timespec in_ns(clockid_t clock, int64_t ns)
{
    struct timespec t;
    clock_gettime(clock, &t);
    int64_t total = (int64_t)t.tv_nsec + ns;
    t.tv_sec += (time_t)(total / 1000000000);
    t.tv_nsec = (long)(total % 1000000000);
    if (t.tv_nsec < 0) {
        t.tv_nsec += 1000000000;
        t.tv_sec--;
    }
    return t;
}

/* ---- mutexes ---- */

START_TEST(static_initialisers)
{
    pthread_mutex_t n = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_t r = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
    pthread_mutex_t e = PTHREAD_ERRORCHECK_MUTEX_INITIALIZER_NP;
    pthread_mutex_t a = PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP;
    ck_assert_int_eq(pthread_mutex_lock(&n), 0);
    ck_assert_int_eq(pthread_mutex_trylock(&n), EBUSY);
    ck_assert_int_eq(pthread_mutex_unlock(&n), 0);
    ck_assert_int_eq(pthread_mutex_lock(&r), 0);
    ck_assert_int_eq(pthread_mutex_lock(&r), 0);
    ck_assert_int_eq(pthread_mutex_trylock(&r), 0);
    ck_assert_uint_eq(owner_of(&r), (uintptr_t)pthread_self());
    ck_assert_uint_eq(r.__data.__count, 3);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(pthread_mutex_unlock(&r), 0);
    ck_assert_int_eq(pthread_mutex_unlock(&r), EPERM);
    ck_assert_int_eq(pthread_mutex_lock(&e), 0);
    ck_assert_uint_eq(owner_of(&e), (uintptr_t)pthread_self());
    ck_assert_int_eq(pthread_mutex_lock(&e), EDEADLK);
    ck_assert_int_eq(pthread_mutex_trylock(&e), EBUSY);
    ck_assert_int_eq(pthread_mutex_unlock(&e), 0);
    ck_assert_int_eq(pthread_mutex_unlock(&e), EPERM);
    ck_assert_int_eq(pthread_mutex_lock(&a), 0);
    ck_assert_int_eq(pthread_mutex_trylock(&a), EBUSY);
    ck_assert_int_eq(pthread_mutex_unlock(&a), 0);
    ck_assert_int_eq(pthread_mutex_destroy(&n), 0);
}
END_TEST

START_TEST(init_by_type_counted)
{
    static const int types[] = {PTHREAD_MUTEX_NORMAL, PTHREAD_MUTEX_RECURSIVE,
                                PTHREAD_MUTEX_ERRORCHECK, PTHREAD_MUTEX_ADAPTIVE_NP};
    for (unsigned i = 0; i < 4; i++) {
        uint64_t before = pl_pthread_counter(C_MUTEX_INIT_NORMAL + i);
        pthread_mutexattr_t attr;
        pthread_mutexattr_init(&attr);
        pthread_mutexattr_settype(&attr, types[i]);
        pthread_mutex_t m;
        ck_assert_int_eq(pthread_mutex_init(&m, &attr), 0);
        ck_assert_uint_eq(pl_pthread_counter(C_MUTEX_INIT_NORMAL + i), before + 1);
        ck_assert_int_eq(pthread_mutex_lock(&m), 0);
        ck_assert_int_eq(pthread_mutex_unlock(&m), 0);
        ck_assert_int_eq(pthread_mutex_destroy(&m), 0);
    }
}
END_TEST

START_TEST(recursive_overflow_eagain)
{
    pthread_mutex_t r = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
    ck_assert_int_eq(pthread_mutex_lock(&r), 0);
    r.__data.__count = UINT_MAX; /* as if locked UINT_MAX times */
    ck_assert_int_eq(pthread_mutex_lock(&r), EAGAIN);
    ck_assert_int_eq(pthread_mutex_trylock(&r), EAGAIN);
    r.__data.__count = 1;
    ck_assert_int_eq(pthread_mutex_unlock(&r), 0);
}
END_TEST

static void *unlock_other(void *m) { return (void *)(intptr_t)pthread_mutex_unlock(m); }
static void *trylock_other(void *m) { return (void *)(intptr_t)pthread_mutex_trylock(m); }

START_TEST(eperm_from_other_thread)
{
    pthread_mutex_t e = PTHREAD_ERRORCHECK_MUTEX_INITIALIZER_NP;
    pthread_mutex_t r = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
    ck_assert_int_eq(pthread_mutex_lock(&e), 0);
    ck_assert_int_eq(pthread_mutex_lock(&r), 0);
    void *rc;
    pthread_t t;
    tu_spawn(&t, unlock_other, &e);
    pthread_join(t, &rc);
    ck_assert_int_eq((int)(intptr_t)rc, EPERM);
    tu_spawn(&t, unlock_other, &r);
    pthread_join(t, &rc);
    ck_assert_int_eq((int)(intptr_t)rc, EPERM);
    tu_spawn(&t, trylock_other, &r);
    pthread_join(t, &rc);
    ck_assert_int_eq((int)(intptr_t)rc, EBUSY);
    ck_assert_int_eq(pthread_mutex_unlock(&e), 0);
    ck_assert_int_eq(pthread_mutex_unlock(&r), 0);
}
END_TEST

START_TEST(timed_and_clock_lock)
{
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    struct timespec bad = {0, 1000000000};
    struct timespec neg = {0, -1};
    /* A free mutex is taken without looking at the timespec (glibc, POSIX). */
    ck_assert_int_eq(pthread_mutex_timedlock(&m, &bad), 0);
    ck_assert_int_eq(pthread_mutex_timedlock(&m, &bad), EINVAL);
    ck_assert_int_eq(pthread_mutex_timedlock(&m, &neg), EINVAL);
    ck_assert_int_eq(pthread_mutex_clocklock(&m, CLOCK_PROCESS_CPUTIME_ID, &bad), EINVAL);
    struct timespec past = {-1, 0};
    ck_assert_int_eq(pthread_mutex_timedlock(&m, &past), ETIMEDOUT);
    for (int c = 0; c < 2; c++) {
        clockid_t clock = c ? CLOCK_MONOTONIC : CLOCK_REALTIME;
        uint64_t t0 = pl_now(); /* first: see condattr_clock_monotonic */
        struct timespec until = in_ns(clock, 30 * (int64_t)TU_MS);
        ck_assert_int_eq(pthread_mutex_clocklock(&m, clock, &until), ETIMEDOUT);
        ck_assert_uint_ge(pl_now() - t0, 29 * TU_MS);
        struct timespec now;
        clock_gettime(clock, &now);
        ck_assert(now.tv_sec > until.tv_sec ||
                  (now.tv_sec == until.tv_sec && now.tv_nsec >= until.tv_nsec));
    }
    struct timespec until = in_ns(CLOCK_REALTIME, 20 * (int64_t)TU_MS);
    ck_assert_int_eq(pthread_mutex_timedlock(&m, &until), ETIMEDOUT);
    ck_assert_int_eq(pthread_mutex_unlock(&m), 0);
    /* Error-checking: EDEADLK for a timed relock; recursive: counted. */
    pthread_mutex_t e = PTHREAD_ERRORCHECK_MUTEX_INITIALIZER_NP;
    pthread_mutex_t r = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
    ck_assert_int_eq(pthread_mutex_lock(&e), 0);
    ck_assert_int_eq(pthread_mutex_timedlock(&e, &until), EDEADLK);
    ck_assert_int_eq(pthread_mutex_unlock(&e), 0);
    ck_assert_int_eq(pthread_mutex_lock(&r), 0);
    ck_assert_int_eq(pthread_mutex_timedlock(&r, &until), 0);
    ck_assert_uint_eq(r.__data.__count, 2);
    ck_assert_int_eq(pthread_mutex_unlock(&r), 0);
    ck_assert_int_eq(pthread_mutex_unlock(&r), 0);
}
END_TEST

START_TEST(destroy_busy_and_consistent)
{
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    ck_assert_int_eq(pthread_mutex_lock(&m), 0);
#ifndef __SANITIZE_THREAD__ /* ThreadSanitizer reports the destroy of a locked mutex itself */
    ck_assert_int_eq(pthread_mutex_destroy(&m), EBUSY);
#endif
    ck_assert_int_eq(pthread_mutex_consistent(&m), EINVAL);
    ck_assert_int_eq(pthread_mutex_unlock(&m), 0);
    ck_assert_int_eq(pthread_mutex_destroy(&m), 0);
}
END_TEST

/* The thread that takes the mutex after the last unlock frees it at once: no release path may
 * touch it after (ASan and valgrind see a write into freed memory). */
typedef struct handoff {
    pthread_mutex_t *m;
    atomic_bool locked;
} handoff_t;

static void *take_and_free(void *arg)
{
    handoff_t *h = arg;
    while (!atomic_load(&h->locked))
        sched_yield();
    pthread_mutex_lock(h->m);
    pthread_mutex_unlock(h->m);
    pthread_mutex_destroy(h->m);
    free(h->m);
    return NULL;
}

START_TEST(destroy_right_after_last_unlock)
{
    for (int i = 0; i < 300; i++) {
        pthread_mutexattr_t attr;
        pthread_mutexattr_init(&attr);
        pthread_mutexattr_settype(&attr, i % 3 == 0   ? PTHREAD_MUTEX_NORMAL
                                         : i % 3 == 1 ? PTHREAD_MUTEX_RECURSIVE
                                                      : PTHREAD_MUTEX_ERRORCHECK);
        handoff_t h = {malloc(sizeof(pthread_mutex_t)), false};
        ck_assert_int_eq(pthread_mutex_init(h.m, &attr), 0);
        pthread_mutex_lock(h.m);
        pthread_t t;
        tu_spawn(&t, take_and_free, &h);
        atomic_store(&h.locked, true);
        if (i % 2)
            tu_sleep_ns(100000); /* sometimes let it park first */
        pthread_mutex_unlock(h.m);
        tu_join(t);
    }
}
END_TEST

/* ---- delegation ---- */

static void *lock_and_die(void *m)
{
    pthread_mutex_lock(m);
    return NULL;
}

START_TEST(robust_pi_pshared_delegated)
{
    uint64_t robust0 = pl_pthread_counter(C_MUTEX_DELEGATED_ROBUST);
    uint64_t pi0 = pl_pthread_counter(C_MUTEX_DELEGATED_PI);
    uint64_t ps0 = pl_pthread_counter(C_MUTEX_DELEGATED_PSHARED);
    pthread_mutexattr_t attr;
    pthread_mutex_t m;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    ck_assert_int_eq(pthread_mutex_init(&m, &attr), 0);
    ck_assert_uint_eq(pl_pthread_counter(C_MUTEX_DELEGATED_ROBUST), robust0 + 1);
    pthread_t t;
    tu_spawn(&t, lock_and_die, &m);
    tu_join(t);
    /* glibc's robust mutex: the owner died. */
    ck_assert_int_eq(pthread_mutex_lock(&m), EOWNERDEAD);
    ck_assert_int_eq(pthread_mutex_consistent(&m), 0);
    ck_assert_int_eq(pthread_mutex_unlock(&m), 0);
    ck_assert_int_eq(pthread_mutex_destroy(&m), 0);

    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setprotocol(&attr, PTHREAD_PRIO_INHERIT);
    ck_assert_int_eq(pthread_mutex_init(&m, &attr), 0);
    ck_assert_uint_eq(pl_pthread_counter(C_MUTEX_DELEGATED_PI), pi0 + 1);
    ck_assert_int_eq(pthread_mutex_lock(&m), 0);
    ck_assert_int_eq(pthread_mutex_trylock(&m), EBUSY);
    ck_assert_int_eq(pthread_mutex_unlock(&m), 0);

    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
    ck_assert_int_eq(pthread_mutex_init(&m, &attr), 0);
    ck_assert_uint_eq(pl_pthread_counter(C_MUTEX_DELEGATED_PSHARED), ps0 + 1);
    ck_assert_int_eq(pthread_mutex_lock(&m), 0);
    ck_assert_int_eq(pthread_mutex_lock(&m), EDEADLK);
    ck_assert_int_eq(m.__data.__owner, gettid()); /* glibc's own bookkeeping */
    ck_assert_int_eq(pthread_mutex_unlock(&m), 0);
}
END_TEST

/* ---- condition variables ---- */

typedef struct cv {
    pthread_mutex_t m;
    pthread_cond_t c;
    int ready;
    int result;
    atomic_bool started;
    atomic_bool handler_ran;
    int handler_unlock_rc;
} cv_t;

static void *wait_ready(void *arg)
{
    cv_t *v = arg;
    pthread_mutex_lock(&v->m);
    atomic_store(&v->started, true);
    while (!v->ready)
        pthread_cond_wait(&v->c, &v->m);
    v->result = 1;
    pthread_mutex_unlock(&v->m);
    return NULL;
}

START_TEST(signal_and_broadcast)
{
    static cv_t v = {.m = PTHREAD_MUTEX_INITIALIZER, .c = PTHREAD_COND_INITIALIZER};
    uint64_t waits0 = pl_pthread_counter(C_COND_WAITS);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        tu_spawn(&t[i], wait_ready, &v);
    tu_wait_queued((char *)&v.c + 16, 4); /* our pl_cond_t, inside the pthread_cond_t */
    pthread_mutex_lock(&v.m);
    v.ready = 1;
    pthread_cond_broadcast(&v.c);
    pthread_mutex_unlock(&v.m);
    for (int i = 0; i < 4; i++)
        tu_join(t[i]);
    ck_assert_uint_ge(pl_pthread_counter(C_COND_WAITS), waits0 + 4);
    ck_assert_int_eq(pthread_cond_signal(&v.c), 0);
    ck_assert_int_eq(pthread_cond_destroy(&v.c), 0);
}
END_TEST

START_TEST(cond_timeouts_and_einval)
{
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t c = PTHREAD_COND_INITIALIZER;
    pthread_mutex_lock(&m);
    struct timespec bad = {0, 1000000000};
    ck_assert_int_eq(pthread_cond_timedwait(&c, &m, &bad), EINVAL);
    ck_assert_int_eq(pthread_cond_clockwait(&c, &m, CLOCK_MONOTONIC, &bad), EINVAL);
    struct timespec ok = in_ns(CLOCK_MONOTONIC, TU_MS);
    ck_assert_int_eq(pthread_cond_clockwait(&c, &m, CLOCK_THREAD_CPUTIME_ID, &ok), EINVAL);
    ck_assert_int_eq(pthread_mutex_trylock(&m), EBUSY); /* still ours after EINVAL */
    struct timespec until = in_ns(CLOCK_REALTIME, 20 * (int64_t)TU_MS);
    int rc;
    while ((rc = pthread_cond_timedwait(&c, &m, &until)) == 0) {
    }
    ck_assert_int_eq(rc, ETIMEDOUT);
    ck_assert_int_eq(pthread_mutex_trylock(&m), EBUSY); /* relocked */
    until = in_ns(CLOCK_MONOTONIC, 20 * (int64_t)TU_MS);
    while ((rc = pthread_cond_clockwait(&c, &m, CLOCK_MONOTONIC, &until)) == 0) {
    }
    ck_assert_int_eq(rc, ETIMEDOUT);
    pthread_mutex_unlock(&m);
}
END_TEST

START_TEST(condattr_clock_monotonic)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_t c;
    ck_assert_int_eq(pthread_cond_init(&c, &ca), 0);
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&m);
    /* A monotonic deadline 30 ms ahead: read as realtime it would be decades past.  t0 is read
     * first: read after, a preemption between the two reads made the wait look 2.4 ms short
     * (seen once in the ASan build on a busy machine). */
    uint64_t t0 = pl_now();
    struct timespec until = in_ns(CLOCK_MONOTONIC, 30 * (int64_t)TU_MS);
    int rc;
    while ((rc = pthread_cond_timedwait(&c, &m, &until)) == 0) {
    }
    ck_assert_int_eq(rc, ETIMEDOUT);
    ck_assert_uint_ge(pl_now() - t0, 29 * TU_MS);
    ck_assert_uint_lt(pl_now() - t0, 10 * TU_S);
    pthread_mutex_unlock(&m);
}
END_TEST

START_TEST(cond_with_recursive_and_errorcheck)
{
    static cv_t v = {.m = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP, .c = PTHREAD_COND_INITIALIZER};
    pthread_mutex_t e = PTHREAD_ERRORCHECK_MUTEX_INITIALIZER_NP;
    ck_assert_int_eq(pthread_cond_wait(&v.c, &e), EPERM); /* not owned */
    pthread_mutex_lock(&v.m);
    pthread_mutex_lock(&v.m); /* held twice: the wait releases both holds */
    pthread_t t;
    tu_spawn(&t, wait_ready, &v); /* would block forever if the wait kept a hold */
    v.ready = 0;
    struct timespec until = in_ns(CLOCK_REALTIME, 50 * (int64_t)TU_MS);
    while (!atomic_load(&v.started))
        (void)pthread_cond_timedwait(&v.c, &v.m, &until), until = in_ns(CLOCK_REALTIME, TU_MS);
    ck_assert_uint_eq(v.m.__data.__count, 2);
    ck_assert_uint_eq(owner_of(&v.m), (uintptr_t)pthread_self());
    v.ready = 1;
    pthread_cond_broadcast(&v.c);
    pthread_mutex_unlock(&v.m);
    pthread_mutex_unlock(&v.m);
    tu_join(t);
    ck_assert_int_eq(v.result, 1);
}
END_TEST

/* A private condvar waited on with a robust (delegated) mutex is delegated for good. */
START_TEST(cond_delegated_by_mutex)
{
    static cv_t v = {.c = PTHREAD_COND_INITIALIZER};
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    ck_assert_int_eq(pthread_mutex_init(&v.m, &attr), 0);
    uint64_t by0 = pl_pthread_counter(C_COND_DELEGATED_BY_MUTEX);
    pthread_t t;
    tu_spawn(&t, wait_ready, &v);
    tu_wait_flag(&v.started, "the waiter");
    pthread_mutex_lock(&v.m); /* the waiter is inside glibc's wait once we get the mutex */
    v.ready = 1;
    ck_assert_int_eq(pthread_cond_signal(&v.c), 0);
    pthread_mutex_unlock(&v.m);
    tu_join(t);
    ck_assert_int_eq(v.result, 1);
    ck_assert_uint_eq(pl_pthread_counter(C_COND_DELEGATED_BY_MUTEX), by0 + 1);
    /* Now with one of our mutexes: refused. */
    pthread_mutex_t n = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&n);
    ck_assert_int_eq(pthread_cond_wait(&v.c, &n), EINVAL);
    pthread_mutex_unlock(&n);
    ck_assert_int_eq(pthread_cond_destroy(&v.c), 0);
}
END_TEST

START_TEST(cond_pshared_delegated)
{
    static cv_t v;
    pthread_mutexattr_t ma;
    pthread_condattr_t ca;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
    pthread_condattr_init(&ca);
    pthread_condattr_setpshared(&ca, PTHREAD_PROCESS_SHARED);
    uint64_t ps0 = pl_pthread_counter(C_COND_DELEGATED_PSHARED);
    ck_assert_int_eq(pthread_mutex_init(&v.m, &ma), 0);
    ck_assert_int_eq(pthread_cond_init(&v.c, &ca), 0);
    ck_assert_uint_eq(pl_pthread_counter(C_COND_DELEGATED_PSHARED), ps0 + 1);
    pthread_t t;
    tu_spawn(&t, wait_ready, &v);
    tu_wait_flag(&v.started, "the waiter");
    pthread_mutex_lock(&v.m);
    v.ready = 1;
    pthread_cond_broadcast(&v.c);
    pthread_mutex_unlock(&v.m);
    tu_join(t);
    ck_assert_int_eq(pthread_cond_destroy(&v.c), 0);
}
END_TEST

/* ---- cancellation ---- */

static void cleanup_unlock(void *arg)
{
    cv_t *v = arg;
    atomic_store(&v->handler_ran, true);
    /* An error-checking mutex: 0 only if this thread holds it again, as glibc guarantees. */
    v->handler_unlock_rc = pthread_mutex_unlock(&v->m);
}

static void *cancellable_wait(void *arg)
{
    cv_t *v = arg;
    pthread_mutex_lock(&v->m);
    pthread_cleanup_push(cleanup_unlock, v);
    atomic_store(&v->started, true);
    for (;;) {
        if (v->result) {
            struct timespec until = in_ns(CLOCK_REALTIME, 3600 * (int64_t)TU_S);
            pthread_cond_timedwait(&v->c, &v->m, &until);
        } else {
            pthread_cond_wait(&v->c, &v->m);
        }
    }
    pthread_cleanup_pop(0);
    return NULL;
}

START_TEST(cancel_blocked_waiter)
{
    uint64_t wakes0 = pl_pthread_counter(C_COND_CANCEL_WAKES);
    cv_t *v = calloc(1, sizeof *v);
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
    pthread_mutex_init(&v->m, &attr);
    pthread_cond_init(&v->c, NULL);
    v->result = _i; /* 0: pthread_cond_wait, 1: pthread_cond_timedwait */
    pthread_t t;
    tu_spawn(&t, cancellable_wait, v);
    tu_wait_queued((char *)&v->c + 16, 1);
    ck_assert_int_eq(pthread_cancel(t), 0);
    void *res;
    ck_assert_int_eq(pthread_join(t, &res), 0);
    ck_assert_ptr_eq(res, PTHREAD_CANCELED);
    ck_assert(atomic_load(&v->handler_ran));
    ck_assert_int_eq(v->handler_unlock_rc, 0);
    ck_assert_uint_gt(pl_pthread_counter(C_COND_CANCEL_WAKES), wakes0);
    ck_assert_int_eq(pthread_mutex_destroy(&v->m), 0);
    free(v);
}
END_TEST

static void *cancel_then_wait(void *arg)
{
    cv_t *v = arg;
    pthread_mutex_lock(&v->m);
    pthread_cleanup_push(cleanup_unlock, v);
    while (!atomic_load(&v->started)) /* cancelled meanwhile: pending at the wait's entry */
        sched_yield();
    pthread_cond_wait(&v->c, &v->m);
    pthread_cleanup_pop(0);
    return NULL;
}

START_TEST(cancel_pending_at_wait)
{
    static cv_t v = {.m = PTHREAD_ERRORCHECK_MUTEX_INITIALIZER_NP, .c = PTHREAD_COND_INITIALIZER};
    pthread_t t;
    tu_spawn(&t, cancel_then_wait, &v);
    ck_assert_int_eq(pthread_cancel(t), 0);
    atomic_store(&v.started, true);
    void *res;
    ck_assert_int_eq(pthread_join(t, &res), 0);
    ck_assert_ptr_eq(res, PTHREAD_CANCELED);
    ck_assert_int_eq(v.handler_unlock_rc, 0);
}
END_TEST

/* Cancellations at every moment of the wait's entry (before, during and after registering and
 * queueing): each must end the wait, none may leave the thread asleep (Check's timeout). */
START_TEST(cancel_at_any_moment)
{
    for (int i = 0; i < 200; i++) {
        cv_t *v = calloc(1, sizeof *v);
        pthread_mutexattr_t attr;
        pthread_mutexattr_init(&attr);
        pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
        pthread_mutex_init(&v->m, &attr);
        pthread_cond_init(&v->c, NULL);
        v->result = i % 2;
        pthread_t t;
        tu_spawn(&t, cancellable_wait, v);
        if (i % 3 == 1)
            sched_yield();
        else if (i % 3 == 2)
            tu_sleep_ns((uint64_t)(i % 7) * 10000);
        ck_assert_int_eq(pthread_cancel(t), 0);
        void *res;
        ck_assert_int_eq(pthread_join(t, &res), 0);
        ck_assert_ptr_eq(res, PTHREAD_CANCELED);
        /* Cancelled before it took the mutex: no handler; otherwise it ran holding it. */
        if (atomic_load(&v->handler_ran))
            ck_assert_int_eq(v->handler_unlock_rc, 0);
        ck_assert_int_eq(pthread_mutex_destroy(&v->m), 0);
        free(v);
    }
}
END_TEST

/* ---- fork ---- */

static pthread_mutex_t fork_m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t fork_c = PTHREAD_COND_INITIALIZER;
static pthread_mutex_t fork_e = PTHREAD_ERRORCHECK_MUTEX_INITIALIZER_NP;

static void *child_thread(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&fork_m);
    pthread_cond_signal(&fork_c);
    pthread_mutex_unlock(&fork_m);
    return NULL;
}

START_TEST(fork_child_locks_and_waits)
{
    /* A parent thread waits on the condvar across the fork: the child must not see it. */
    static cv_t v = {.m = PTHREAD_MUTEX_INITIALIZER, .c = PTHREAD_COND_INITIALIZER};
    pthread_t parent_waiter;
    tu_spawn(&parent_waiter, wait_ready, &v);
    tu_wait_queued((char *)&v.c + 16, 1);
    /* Queued is not yet asleep: the waiter releases v.m only after it is queued (the wait's
     * before-sleep step), and a fork in between would give the child v.m locked by a thread
     * that does not exist there.  Taking v.m here waits for that release; nothing signals v.c
     * before the child is done, so the waiter cannot take v.m back meanwhile. */
    pthread_mutex_lock(&v.m);
    pthread_mutex_unlock(&v.m);
    pthread_mutex_lock(&fork_e);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int ok = pthread_mutex_unlock(&fork_e) == 0;
        pthread_mutex_lock(&fork_m);
        pthread_t t;
        ok &= pthread_create(&t, NULL, child_thread, NULL) == 0;
        struct timespec until = in_ns(CLOCK_REALTIME, 10 * (int64_t)TU_S);
        ok &= pthread_cond_timedwait(&fork_c, &fork_m, &until) == 0;
        pthread_mutex_unlock(&fork_m);
        pthread_join(t, NULL);
        pthread_mutex_lock(&v.m); /* the parent's waiter is gone; its condvar works */
        until = in_ns(CLOCK_REALTIME, 5 * (int64_t)TU_MS);
        while (pthread_cond_timedwait(&v.c, &v.m, &until) == 0) {
        }
        pthread_mutex_unlock(&v.m);
        _exit(ok ? 0 : 1);
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    pthread_mutex_unlock(&fork_e);
    pthread_mutex_lock(&v.m);
    v.ready = 1;
    pthread_cond_signal(&v.c);
    pthread_mutex_unlock(&v.m);
    tu_join(parent_waiter);
}
END_TEST

/* ---- signal handlers that take no locks ---- */

/* A signal that lands while a thread sleeps in the parking lot interrupts its futex wait
 * (EINTR, with or without SA_RESTART: futex waits are never restarted by the kernel).  The
 * parker must treat that as "not woken": a mutex lock that returned on it would break
 * exclusion, a condvar wait that returned on it would be a spurious wake-up at best. */
static atomic_int sig_handled;
static void count_signal(int sig)
{
    (void)sig;
    atomic_fetch_add(&sig_handled, 1); /* async-signal-safe: a lock-free atomic, no lock */
}

typedef struct sig_lock {
    pthread_mutex_t m;
    bool timed;
    atomic_bool acquired;
} sig_lock_t;

static void *lock_then_flag(void *arg)
{
    sig_lock_t *l = arg;
    /* Timed: an interrupted wait taken for a time-out would return ETIMEDOUT long early. */
    struct timespec until = in_ns(CLOCK_REALTIME, 60 * (int64_t)TU_S);
    ck_assert_int_eq(l->timed ? pthread_mutex_timedlock(&l->m, &until) : pthread_mutex_lock(&l->m),
                     0);
    atomic_store(&l->acquired, true);
    ck_assert_int_eq(pthread_mutex_unlock(&l->m), 0);
    return NULL;
}

static void *timed_wait_ready(void *arg)
{
    cv_t *v = arg;
    struct timespec until = in_ns(CLOCK_REALTIME, 60 * (int64_t)TU_S);
    pthread_mutex_lock(&v->m);
    while (!v->ready && v->result == 0)
        if (pthread_cond_timedwait(&v->c, &v->m, &until) != 0)
            v->result = -1; /* ETIMEDOUT 60 s early */
    if (v->result == 0)
        v->result = 1;
    pthread_mutex_unlock(&v->m);
    return NULL;
}

/* Signals a parked thread `n` times, each time waiting until its handler ran. */
static void pelt(pthread_t t, int n)
{
    for (int i = 0; i < n; i++) {
        int before = atomic_load(&sig_handled);
        ck_assert_int_eq(pthread_kill(t, SIGUSR1), 0);
        uint64_t give_up = pl_now() + 10 * TU_S;
        while (atomic_load(&sig_handled) == before)
            ck_assert_msg(pl_now() < give_up, "signal %d was never handled", i);
    }
}

START_TEST(signals_do_not_end_waits)
{
    struct sigaction sa = {.sa_handler = count_signal}, old;
    /* Both: futex waits are not restarted either way.  The second round uses the timed calls. */
    sa.sa_flags = _i ? SA_RESTART : 0;
    sigemptyset(&sa.sa_mask);
    ck_assert_int_eq(sigaction(SIGUSR1, &sa, &old), 0);
    atomic_store(&sig_handled, 0);

    /* A parked mutex waiter, signalled while the mutex stays held: it must stay blocked. */
    static sig_lock_t l = {.m = PTHREAD_MUTEX_INITIALIZER};
    atomic_store(&l.acquired, false);
    l.timed = _i;
    ck_assert_int_eq(pthread_mutex_lock(&l.m), 0);
    pthread_t t;
    tu_spawn(&t, lock_then_flag, &l);
    tu_wait_queued(&l.m, 1); /* our pl_mutex_t byte is at offset 0 */
    pelt(t, 50);
    tu_wait_queued(&l.m, 1); /* parked again after every handler */
    ck_assert_msg(!atomic_load(&l.acquired), "a signal let a waiter into a held mutex");
    ck_assert_int_eq(pthread_mutex_unlock(&l.m), 0);
    tu_join(t);
    ck_assert(atomic_load(&l.acquired));

    /* A condvar waiter, signalled before its predicate holds: it goes back to waiting, and
     * the real signal that follows still reaches it (no wake-up lost to the interruptions). */
    static cv_t v = {.m = PTHREAD_MUTEX_INITIALIZER, .c = PTHREAD_COND_INITIALIZER};
    v.ready = 0;
    v.result = 0;
    tu_spawn(&t, _i ? timed_wait_ready : wait_ready, &v);
    tu_wait_queued((char *)&v.c + 16, 1);
    pelt(t, 50);
    tu_wait_queued((char *)&v.c + 16, 1);
    pthread_mutex_lock(&v.m);
    ck_assert_int_eq(v.result, 0);
    v.ready = 1;
    pthread_cond_signal(&v.c);
    pthread_mutex_unlock(&v.m);
    tu_join(t);
    ck_assert_int_eq(v.result, 1);
    ck_assert_int_eq(atomic_load(&sig_handled), 100);
    ck_assert_int_eq(sigaction(SIGUSR1, &old, NULL), 0);
}
END_TEST

/* ---- TLS destructors ---- */

static pthread_key_t tls_key;
static pthread_mutex_t tls_m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t tls_c = PTHREAD_COND_INITIALIZER;
static atomic_int tls_ok;

static void tls_destructor(void *p)
{
    (void)p;
    pthread_mutex_lock(&tls_m);
    struct timespec until = in_ns(CLOCK_MONOTONIC, TU_MS);
    int rc;
    while ((rc = pthread_cond_clockwait(&tls_c, &tls_m, CLOCK_MONOTONIC, &until)) == 0) {
    }
    pthread_mutex_unlock(&tls_m);
    if (rc == ETIMEDOUT)
        atomic_fetch_add(&tls_ok, 1);
}

static void *set_tls(void *arg)
{
    pthread_setspecific(tls_key, arg);
    return NULL;
}

START_TEST(tls_destructor_waits)
{
    ck_assert_int_eq(pthread_key_create(&tls_key, tls_destructor), 0);
    pthread_t t;
    tu_spawn(&t, set_tls, &tls_key);
    tu_join(t);
    ck_assert_int_eq(atomic_load(&tls_ok), 1);
}
END_TEST

/* ---- rwlocks ---- */

static void *wrlock_thread(void *l)
{
    pthread_rwlock_wrlock(l);
    pthread_rwlock_unlock(l);
    return NULL;
}

START_TEST(rwlock_codes)
{
    pthread_rwlock_t l = PTHREAD_RWLOCK_INITIALIZER;
    ck_assert_int_eq(pthread_rwlock_wrlock(&l), 0);
    ck_assert_int_eq(pthread_rwlock_wrlock(&l), EDEADLK);
    ck_assert_int_eq(pthread_rwlock_rdlock(&l), EDEADLK);
    struct timespec until = in_ns(CLOCK_REALTIME, 10 * (int64_t)TU_MS);
    ck_assert_int_eq(pthread_rwlock_timedwrlock(&l, &until), EDEADLK);
    ck_assert_int_eq(pthread_rwlock_trywrlock(&l), EBUSY);
    ck_assert_int_eq(pthread_rwlock_tryrdlock(&l), EBUSY);
    ck_assert_int_eq(pthread_rwlock_unlock(&l), 0);
    ck_assert_int_eq(pthread_rwlock_rdlock(&l), 0);
    ck_assert_int_eq(pthread_rwlock_tryrdlock(&l), 0);
    ck_assert_int_eq(pthread_rwlock_trywrlock(&l), EBUSY);
    struct timespec bad = {0, -5};
    ck_assert_int_eq(pthread_rwlock_timedwrlock(&l, &bad), EINVAL);
    ck_assert_int_eq(pthread_rwlock_clockwrlock(&l, CLOCK_PROCESS_CPUTIME_ID, &until), EINVAL);
    for (int c = 0; c < 2; c++) {
        clockid_t clock = c ? CLOCK_MONOTONIC : CLOCK_REALTIME;
        until = in_ns(clock, 20 * (int64_t)TU_MS);
        ck_assert_int_eq(pthread_rwlock_clockwrlock(&l, clock, &until), ETIMEDOUT);
        ck_assert_int_eq(pthread_rwlock_clockrdlock(&l, clock, &until), 0);
        ck_assert_int_eq(pthread_rwlock_unlock(&l), 0);
    }
    until = in_ns(CLOCK_REALTIME, 20 * (int64_t)TU_MS);
    ck_assert_int_eq(pthread_rwlock_timedrdlock(&l, &until), 0);
    ck_assert_int_eq(pthread_rwlock_timedwrlock(&l, &until), ETIMEDOUT);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(pthread_rwlock_unlock(&l), 0);
    ck_assert_int_eq(pthread_rwlock_trywrlock(&l), 0);
    ck_assert_int_eq(pthread_rwlock_unlock(&l), 0);
    ck_assert_int_eq(pthread_rwlock_destroy(&l), 0);
}
END_TEST

/* Reader-preferring (the default): a reader holding the lock takes it again while a writer
 * waits; the writer-nonrecursive kind holds new readers back behind the writer. */
START_TEST(rwlock_preference)
{
    pthread_rwlock_t l = PTHREAD_RWLOCK_INITIALIZER;
    pthread_rwlock_t w = PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP;
    pthread_rwlock_t *locks[2] = {&l, &w};
    for (int k = 0; k < 2; k++) {
        pthread_rwlock_t *x = locks[k];
        ck_assert_int_eq(pthread_rwlock_rdlock(x), 0);
        pthread_t t;
        tu_spawn(&t, wrlock_thread, x);
        tu_wait_queued((char *)x + 1, 1); /* the writer holds its turn, waits for readers */
        if (k == 0) {
            ck_assert_int_eq(pthread_rwlock_rdlock(x), 0);
            ck_assert_int_eq(pthread_rwlock_tryrdlock(x), 0);
            ck_assert_int_eq(pthread_rwlock_unlock(x), 0);
            ck_assert_int_eq(pthread_rwlock_unlock(x), 0);
        } else {
            ck_assert_int_eq(pthread_rwlock_tryrdlock(x), EBUSY);
        }
        ck_assert_int_eq(pthread_rwlock_unlock(x), 0);
        tu_join(t);
    }
}
END_TEST

START_TEST(rwlock_pshared_delegated)
{
    pthread_rwlockattr_t a;
    pthread_rwlockattr_init(&a);
    pthread_rwlockattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    pthread_rwlock_t l;
    uint64_t ps0 = pl_pthread_counter(C_RWLOCK_DELEGATED_PSHARED);
    ck_assert_int_eq(pthread_rwlock_init(&l, &a), 0);
    ck_assert_uint_eq(pl_pthread_counter(C_RWLOCK_DELEGATED_PSHARED), ps0 + 1);
    ck_assert_int_eq(pthread_rwlock_wrlock(&l), 0);
    ck_assert_int_eq(pthread_rwlock_rdlock(&l), EDEADLK);
    ck_assert_int_eq(pthread_rwlock_unlock(&l), 0);
    ck_assert_int_eq(pthread_rwlock_destroy(&l), 0);
}
END_TEST

/* ---- C11 ---- */

static mtx_t c11_m;
static cnd_t c11_c;
static int c11_ready;

static void *c11_waiter(void *arg)
{
    (void)arg;
    mtx_lock(&c11_m);
    while (!c11_ready)
        cnd_wait(&c11_c, &c11_m);
    mtx_unlock(&c11_m);
    return (void *)7;
}

START_TEST(c11_mtx_cnd)
{
    uint64_t waits0 = pl_pthread_counter(C_COND_WAITS);
    uint64_t rec0 = pl_pthread_counter(C_MUTEX_INIT_RECURSIVE);
    mtx_t r;
    ck_assert_int_eq(mtx_init(&r, mtx_plain | mtx_recursive), thrd_success);
    ck_assert_uint_eq(pl_pthread_counter(C_MUTEX_INIT_RECURSIVE), rec0 + 1);
    ck_assert_int_eq(mtx_lock(&r), thrd_success);
    ck_assert_int_eq(mtx_trylock(&r), thrd_success);
    ck_assert_int_eq(mtx_unlock(&r), thrd_success);
    ck_assert_int_eq(mtx_unlock(&r), thrd_success);
    mtx_destroy(&r);
    ck_assert_int_eq(mtx_init(&c11_m, mtx_timed), thrd_success);
    ck_assert_int_eq(cnd_init(&c11_c), thrd_success);
    ck_assert_int_eq(mtx_lock(&c11_m), thrd_success);
    ck_assert_int_eq(mtx_trylock(&c11_m), thrd_busy);
    struct timespec until = in_ns(CLOCK_REALTIME, 10 * (int64_t)TU_MS);
    ck_assert_int_eq(mtx_timedlock(&c11_m, &until), thrd_timedout);
    int rc;
    while ((rc = cnd_timedwait(&c11_c, &c11_m, &until)) == thrd_success) {
    }
    ck_assert_int_eq(rc, thrd_timedout);
    mtx_unlock(&c11_m);
    /* pthread_create, not thrd_create: ThreadSanitizer does not see glibc's thrd_create. */
    pthread_t t;
    tu_spawn(&t, c11_waiter, NULL);
    tu_wait_queued((char *)&c11_c + 16, 1);
    mtx_lock(&c11_m);
    c11_ready = 1;
    cnd_broadcast(&c11_c);
    mtx_unlock(&c11_m);
    void *res;
    ck_assert_int_eq(pthread_join(t, &res), 0);
    ck_assert_ptr_eq(res, (void *)7);
    ck_assert_uint_ge(pl_pthread_counter(C_COND_WAITS), waits0 + 2);
    cnd_destroy(&c11_c);
    mtx_destroy(&c11_m);
}
END_TEST

/* ---- stress: a bounded queue on a mutex and two condvars ---- */

enum { QCAP = 8, ITEMS = 20000, PRODUCERS = 3 };
static struct {
    pthread_mutex_t m;
    pthread_cond_t not_empty, not_full;
    int items[QCAP];
    int head, n;
    long sum;
} q = {.m = PTHREAD_MUTEX_INITIALIZER,
       .not_empty = PTHREAD_COND_INITIALIZER,
       .not_full = PTHREAD_COND_INITIALIZER};

static void *producer(void *arg)
{
    (void)arg;
    for (int i = 1; i <= ITEMS; i++) {
        pthread_mutex_lock(&q.m);
        while (q.n == QCAP)
            pthread_cond_wait(&q.not_full, &q.m);
        q.items[(q.head + q.n++) % QCAP] = i;
        pthread_cond_signal(&q.not_empty);
        pthread_mutex_unlock(&q.m);
    }
    return NULL;
}

START_TEST(queue_stress)
{
    pthread_t t[PRODUCERS];
    for (int i = 0; i < PRODUCERS; i++)
        tu_spawn(&t[i], producer, NULL);
    for (long got = 0; got < (long)ITEMS * PRODUCERS; got++) {
        pthread_mutex_lock(&q.m);
        while (q.n == 0)
            pthread_cond_wait(&q.not_empty, &q.m);
        q.sum += q.items[q.head];
        q.head = (q.head + 1) % QCAP;
        q.n--;
        pthread_cond_signal(&q.not_full);
        pthread_mutex_unlock(&q.m);
    }
    for (int i = 0; i < PRODUCERS; i++)
        tu_join(t[i]);
    ck_assert_int_eq(q.sum, (long)PRODUCERS * ITEMS * (ITEMS + 1) / 2);
}
END_TEST

static Suite *pthread_suite(void)
{
    Suite *s = suite_create("pthread");
    TCase *tc = tu_tcase(s, "mutex", 60);
    tcase_add_test(tc, static_initialisers);
    tcase_add_test(tc, init_by_type_counted);
    tcase_add_test(tc, recursive_overflow_eagain);
    tcase_add_test(tc, eperm_from_other_thread);
    tcase_add_test(tc, timed_and_clock_lock);
    tcase_add_test(tc, destroy_busy_and_consistent);
    tcase_add_test(tc, destroy_right_after_last_unlock);
    tcase_add_test(tc, robust_pi_pshared_delegated);
    tc = tu_tcase(s, "cond", 60);
    tcase_add_test(tc, signal_and_broadcast);
    tcase_add_test(tc, cond_timeouts_and_einval);
    tcase_add_test(tc, condattr_clock_monotonic);
#ifndef __SANITIZE_THREAD__
    /* ThreadSanitizer's model of a condvar wait releases one hold of a recursive mutex (glibc
     * releases none and deadlocks); ours releases them all. */
    tcase_add_test(tc, cond_with_recursive_and_errorcheck);
#else
    (void)cond_with_recursive_and_errorcheck;
#endif
    tcase_add_test(tc, cond_delegated_by_mutex);
    tcase_add_test(tc, cond_pshared_delegated);
    tc = tu_tcase(s, "cancel", 60);
    tcase_add_loop_test(tc, cancel_blocked_waiter, 0, 2);
    tcase_add_test(tc, cancel_pending_at_wait);
    tcase_add_test(tc, cancel_at_any_moment);
    tc = tu_tcase(s, "process", 60);
    /* ThreadSanitizer: no threads in a child of a threaded fork. */
#if !defined(__SANITIZE_THREAD__)
    tcase_add_test(tc, fork_child_locks_and_waits);
#else
    (void)fork_child_locks_and_waits;
#endif
    tcase_add_test(tc, tls_destructor_waits);
#ifndef __SANITIZE_THREAD__
    tcase_add_loop_test(tc, signals_do_not_end_waits, 0, 2);
#else
    /* ThreadSanitizer defers a handler until the thread next enters one of its interceptors; a
     * thread asleep in our futex (a raw syscall, which it does not intercept) only enters one
     * once woken, so the handler of a parked thread runs late there, by design of the tool. */
    (void)signals_do_not_end_waits;
#endif
    tc = tu_tcase(s, "rwlock", 60);
    tcase_add_test(tc, rwlock_codes);
    tcase_add_test(tc, rwlock_preference);
    tcase_add_test(tc, rwlock_pshared_delegated);
    tc = tu_tcase(s, "c11", 60);
    tcase_add_test(tc, c11_mtx_cnd);
    tc = tu_tcase(s, "stress", 120);
    tcase_add_test(tc, queue_stress);
    return s;
}

int main(void) { return tu_run_suite(pthread_suite()); }
