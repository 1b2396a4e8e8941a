/* Tests of pl_sem_t: include/parking/semaphore.h.
 *
 * Knowing that a waiter sleeps: tu_queued() counts the threads queued on the semaphore's address
 * (test_util.h); a post, which takes the same bucket lock, then finds it. */
#include "test_util.h"

#include <parking/semaphore.h>

#include <errno.h>

_Static_assert(sizeof(pl_sem_t) == 4, "pl_sem_t is one 32-bit word");

START_TEST(zeroed_has_no_permits)
{
    pl_sem_t s;
    memset(&s, 0, sizeof s);
    ck_assert(!pl_sem_trywait(&s));
    ck_assert_uint_eq(pl_sem_value(&s), 0);
    ck_assert(!pl_sem_wait_until(&s, 0));
    ck_assert_int_eq(pl_sem_post(&s), 0);
    ck_assert_uint_eq(pl_sem_value(&s), 1);
    ck_assert(pl_sem_trywait(&s));
    ck_assert(!pl_sem_trywait(&s));
    pl_sem_t i = PL_SEM_INIT(3);
    ck_assert_uint_eq(pl_sem_value(&i), 3);
    ck_assert(pl_sem_wait_for(&i, 0));
    pl_sem_wait(&i);
    ck_assert_uint_eq(pl_sem_value(&i), 1);
    ck_assert_uint_eq(i.state, 2); /* no parked bit left behind by the fast paths */
}
END_TEST

START_TEST(init_and_overflow)
{
    pl_sem_t s = PL_SEM_INIT(1);
    ck_assert_int_eq(pl_sem_init(&s, PL_SEM_VALUE_MAX + 1u), EINVAL);
    ck_assert_uint_eq(pl_sem_value(&s), 1);
    ck_assert_int_eq(pl_sem_init(&s, PL_SEM_VALUE_MAX), 0);
    ck_assert_int_eq(pl_sem_post(&s), EOVERFLOW);
    ck_assert_uint_eq(pl_sem_value(&s), PL_SEM_VALUE_MAX);
    /* The slow path (parked bit set, nobody queued) checks too, and clears the bit. */
    __atomic_fetch_or(&s.state, PL_SEM_PARKED_BIT, __ATOMIC_RELAXED);
    ck_assert_int_eq(pl_sem_post(&s), EOVERFLOW);
    ck_assert_uint_eq(s.state, (uint32_t)PL_SEM_VALUE_MAX << 1);
    ck_assert(pl_sem_trywait(&s));
    __atomic_fetch_or(&s.state, PL_SEM_PARKED_BIT, __ATOMIC_RELAXED);
    ck_assert_int_eq(pl_sem_post(&s), 0);
    ck_assert_uint_eq(s.state, (uint32_t)PL_SEM_VALUE_MAX << 1);
}
END_TEST

typedef struct waiter {
    pl_sem_t *s;
    uint64_t deadline;
    atomic_bool done;
    bool got;
    pthread_t thread;
} waiter_t;

static void *waiter_main(void *arg)
{
    waiter_t *w = arg;
    w->got = pl_sem_wait_until(w->s, w->deadline);
    atomic_store(&w->done, true);
    return NULL;
}

static void waiter_start(waiter_t *w, pl_sem_t *s, uint64_t deadline)
{
    w->s = s;
    w->deadline = deadline;
    w->got = false;
    atomic_init(&w->done, false);
    tu_spawn(&w->thread, waiter_main, w);
}

/* A post with a sleeper hands the permit over: the count never shows it. */
START_TEST(post_hands_permit_to_sleeper)
{
    pl_sem_t s = PL_SEM_INIT(0);
    waiter_t w[2];
    waiter_start(&w[0], &s, PL_FOREVER);
    tu_wait_queued(&s, 1);
    waiter_start(&w[1], &s, PL_FOREVER);
    tu_wait_queued(&s, 2);
    ck_assert_uint_eq(s.state, PL_SEM_PARKED_BIT);
    ck_assert_int_eq(pl_sem_post(&s), 0);
    tu_join(w[0].thread); /* FIFO: the oldest got it */
    ck_assert(w[0].got);
    ck_assert(!atomic_load(&w[1].done));
    ck_assert_uint_eq(s.state, PL_SEM_PARKED_BIT); /* one still queued: the bit stays */
    ck_assert_int_eq(pl_sem_post(&s), 0);
    tu_join(w[1].thread);
    ck_assert(w[1].got);
    ck_assert_uint_eq(s.state, 0); /* the last waiter gone, the bit with it */
    ck_assert_int_eq(pl_sem_post(&s), 0);
    ck_assert_uint_eq(s.state, PL_SEM_ONE);
}
END_TEST

START_TEST(timed_wait_times_out)
{
    pl_sem_t s = PL_SEM_INIT(0);
    uint64_t start = pl_now();
    ck_assert(!pl_sem_wait_for(&s, 5 * TU_MS));
    ck_assert_uint_ge(pl_now() - start, 5 * TU_MS);
    uint64_t deadline = pl_now() + 3 * TU_MS;
    ck_assert(!pl_sem_wait_until(&s, deadline));
    ck_assert_uint_ge(pl_now(), deadline);
    ck_assert_uint_eq(s.state, 0); /* the last timed-out waiter cleared the parked bit */
    ck_assert_uint_eq(tu_queued(&s, NULL, 0), 0);
    /* A waiter with a deadline is still woken by a post before it. */
    waiter_t w;
    waiter_start(&w, &s, pl_now() + 10 * TU_S);
    tu_wait_queued(&s, 1);
    ck_assert_int_eq(pl_sem_post(&s), 0);
    tu_join(w.thread);
    ck_assert(w.got);
    ck_assert_uint_eq(s.state, 0);
}
END_TEST

/* A pool of K permits: never more than K holders at once, and every permit comes back. */
enum { POOL = 3, POOL_THREADS = 8, POOL_ROUNDS = 400 };

typedef struct pool {
    pl_sem_t s;
    atomic_int inside, max_inside, timeouts;
} pool_t;

static void *pool_main(void *arg)
{
    pool_t *p = arg;
    for (int i = 0; i < POOL_ROUNDS; i++) {
        if (i % 8 == 7) {
            if (!pl_sem_wait_for(&p->s, 20000)) { /* 20 us: times out now and then */
                atomic_fetch_add(&p->timeouts, 1);
                continue;
            }
        } else if (i % 8 == 3) {
            if (!pl_sem_trywait(&p->s))
                continue;
        } else {
            pl_sem_wait(&p->s);
        }
        int n = atomic_fetch_add(&p->inside, 1) + 1;
        int m = atomic_load(&p->max_inside);
        while (n > m && !atomic_compare_exchange_weak(&p->max_inside, &m, n)) {
        }
        if (i % 4 == 0)
            sched_yield();
        atomic_fetch_sub(&p->inside, 1);
        if (pl_sem_post(&p->s) != 0)
            atomic_fetch_add(&p->timeouts, 1000000);
    }
    return NULL;
}

START_TEST(pool_conserves_permits)
{
    pool_t p;
    memset(&p, 0, sizeof p);
    ck_assert_int_eq(pl_sem_init(&p.s, POOL), 0);
    pthread_t t[POOL_THREADS];
    size_t n = tu_scaled(POOL_THREADS, 3);
    for (size_t i = 0; i < n; i++)
        tu_spawn(&t[i], pool_main, &p);
    for (size_t i = 0; i < n; i++)
        tu_join(t[i]);
    ck_assert_int_le(atomic_load(&p.max_inside), POOL);
    ck_assert_int_lt(atomic_load(&p.timeouts), 1000000); /* no post overflowed */
    ck_assert_uint_eq(pl_sem_value(&p.s), POOL);
    ck_assert_uint_eq(p.s.state, (uint32_t)POOL << 1);
}
END_TEST

/* Producers post, consumers wait: every permit posted is taken once, none invented. */
enum { PC_ITEMS = 3000 };

typedef struct pc {
    pl_sem_t s;
    atomic_int taken;
    int per_consumer;
} pc_t;

static void *producer_main(void *arg)
{
    pc_t *p = arg;
    for (int i = 0; i < PC_ITEMS / 2; i++)
        if (pl_sem_post(&p->s) != 0)
            abort(); /* helper thread: no Check assertion here */
    return NULL;
}

static void *consumer_main(void *arg)
{
    pc_t *p = arg;
    for (int i = 0; i < p->per_consumer; i++) {
        pl_sem_wait(&p->s);
        atomic_fetch_add(&p->taken, 1);
    }
    return NULL;
}

START_TEST(producers_consumers_no_lost_wakeup)
{
    pc_t p;
    memset(&p, 0, sizeof p);
    p.per_consumer = PC_ITEMS / 3;
    pthread_t prod[2], cons[3];
    for (int i = 0; i < 3; i++)
        tu_spawn(&cons[i], consumer_main, &p);
    for (int i = 0; i < 2; i++)
        tu_spawn(&prod[i], producer_main, &p);
    for (int i = 0; i < 2; i++)
        tu_join(prod[i]);
    for (int i = 0; i < 3; i++)
        tu_join(cons[i]);
    ck_assert_int_eq(atomic_load(&p.taken), PC_ITEMS);
    ck_assert_uint_eq(p.s.state, 0);
}
END_TEST

/* The waiter frees the semaphore as soon as its wait returns; the post that woke it must not
 * touch it afterwards (AddressSanitizer reports a write to freed memory).  One waiter thread
 * serves every round. */
typedef struct freer {
    pl_sem_t go, done;
    pl_sem_t *_Atomic slot;
    size_t rounds;
} freer_t;

static void *freer_main(void *arg)
{
    freer_t *f = arg;
    for (size_t i = 0; i < f->rounds; i++) {
        pl_sem_wait(&f->go);
        pl_sem_t *s = atomic_load(&f->slot);
        pl_sem_wait(s);
        free(s);
        if (pl_sem_post(&f->done) != 0)
            abort(); /* helper thread: no Check assertion here */
    }
    return NULL;
}

START_TEST(waiter_frees_after_wait)
{
    freer_t f;
    memset(&f, 0, sizeof f);
    f.rounds = tu_scaled(300, 20);
    pthread_t t;
    tu_spawn(&t, freer_main, &f);
    for (size_t i = 0; i < f.rounds; i++) {
        pl_sem_t *s = calloc(1, sizeof *s);
        ck_assert_ptr_nonnull(s);
        atomic_store(&f.slot, s);
        ck_assert_int_eq(pl_sem_post(&f.go), 0);
        if (i % 2 == 0)
            tu_wait_queued(s, 1); /* the hand-off path; else any path */
        ck_assert_int_eq(pl_sem_post(s), 0);
        pl_sem_wait(&f.done);
    }
    tu_join(t);
}
END_TEST

Suite *semaphore_suite(void);

Suite *semaphore_suite(void)
{
    Suite *s = suite_create("semaphore");
    TCase *tc = tu_tcase(s, "semaphore", 60);
    tcase_add_test(tc, zeroed_has_no_permits);
    tcase_add_test(tc, init_and_overflow);
    tcase_add_test(tc, post_hands_permit_to_sleeper);
    tcase_add_test(tc, timed_wait_times_out);
    tcase_add_test(tc, pool_conserves_permits);
    tcase_add_test(tc, producers_consumers_no_lost_wakeup);
    tcase_add_test(tc, waiter_frees_after_wait);
    return s;
}
