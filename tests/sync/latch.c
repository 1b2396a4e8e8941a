/* Tests of pl_latch_t: include/parking/latch.h.
 *
 * Knowing that a waiter sleeps: tu_queued() counts the threads queued on the latch's address
 * (test_util.h); the last count_down's wake takes the same bucket lock and finds it. */
#include "test_util.h"

#include <parking/latch.h>
#include <parking/semaphore.h>

#include <errno.h>

_Static_assert(sizeof(pl_latch_t) == 4, "pl_latch_t is one 32-bit word");

START_TEST(count_down_to_zero)
{
    pl_latch_t z;
    memset(&z, 0, sizeof z);
    ck_assert(pl_latch_try_wait(&z)); /* zeroed: open */
    pl_latch_wait(&z);
    pl_latch_t l = PL_LATCH_INIT(3);
    ck_assert_uint_eq(pl_latch_count(&l), 3);
    ck_assert(!pl_latch_try_wait(&l));
    ck_assert(!pl_latch_wait_until(&l, 0));
    pl_latch_count_down(&l, 0);
    pl_latch_count_down(&l, 2);
    ck_assert_uint_eq(pl_latch_count(&l), 1);
    ck_assert(!pl_latch_wait_for(&l, 0));
    pl_latch_arrive_and_wait(&l, 1); /* the last arrival returns at once */
    ck_assert(pl_latch_try_wait(&l));
    ck_assert_uint_eq(l.state, 0);
    ck_assert_int_eq(pl_latch_init(&l, PL_LATCH_MAX + 1u), EINVAL);
    ck_assert_int_eq(pl_latch_init(&l, PL_LATCH_MAX), 0);
    ck_assert_uint_eq(pl_latch_count(&l), PL_LATCH_MAX);
}
END_TEST

static void underflow(void *arg)
{
    pl_latch_t *l = arg;
    pl_latch_count_down(l, 2);
}

START_TEST(underflow_aborts)
{
    pl_latch_t l = PL_LATCH_INIT(1);
    char addr[32];
    const char *needles[] = {"libparking: pl_latch_count_down(",
                             tu_addr_text(&l, addr, sizeof addr), "count_down below zero", NULL};
    tu_expect_abort_message(underflow, &l, needles);
    ck_assert_uint_eq(pl_latch_count(&l), 1);
}
END_TEST

START_TEST(underflow_raises_sigabrt)
{
    pl_latch_t l = PL_LATCH_INIT(1);
    underflow(&l);
}
END_TEST

typedef struct waiter {
    pl_latch_t *l;
    uint64_t deadline;
    bool got;
    atomic_bool done;
    pthread_t thread;
} waiter_t;

static void *waiter_main(void *arg)
{
    waiter_t *w = arg;
    w->got = pl_latch_wait_until(w->l, w->deadline);
    atomic_store(&w->done, true);
    return NULL;
}

/* A wake-up by address while the count is above zero (a late wake-up of an earlier latch at
 * this address) must not open the latch: the waiter parks again until the real zero. */
START_TEST(stale_wake_does_not_open)
{
    pl_latch_t l = PL_LATCH_INIT(1);
    waiter_t w = {.l = &l, .deadline = PL_FOREVER};
    tu_spawn(&w.thread, waiter_main, &w);
    for (int i = 0; i < 3; i++) {
        tu_wait_queued(&l, 1);
        ck_assert_uint_eq(pl_unpark_all(&l, PL_DEFAULT_UNPARK_TOKEN), 1);
    }
    tu_wait_queued(&l, 1);
    ck_assert(!atomic_load(&w.done));
    pl_latch_count_down(&l, 1);
    tu_join(w.thread);
    ck_assert(w.got);
}
END_TEST

START_TEST(waiters_released_only_at_zero)
{
    pl_latch_t l = PL_LATCH_INIT(2);
    waiter_t w[2];
    for (int i = 0; i < 2; i++) {
        w[i] = (waiter_t){.l = &l, .deadline = i ? pl_now() + 10 * TU_S : PL_FOREVER};
        tu_spawn(&w[i].thread, waiter_main, &w[i]);
    }
    tu_wait_queued(&l, 2);
    pl_latch_count_down(&l, 1);
    ck_assert_uint_eq(tu_queued(&l, NULL, 0), 2); /* not yet */
    ck_assert(!atomic_load(&w[0].done) && !atomic_load(&w[1].done));
    pl_latch_count_down(&l, 1);
    ck_assert_uint_eq(l.state, 0); /* the last count_down's one write cleared the bit */
    for (int i = 0; i < 2; i++) {
        tu_join(w[i].thread);
        ck_assert(w[i].got);
    }
}
END_TEST

START_TEST(timed_wait_times_out)
{
    pl_latch_t l = PL_LATCH_INIT(1);
    uint64_t start = pl_now();
    ck_assert(!pl_latch_wait_for(&l, 5 * TU_MS));
    ck_assert_uint_ge(pl_now() - start, 5 * TU_MS);
    ck_assert_uint_eq(l.state, 2); /* count 1, the parked bit cleared by the last to leave */
}
END_TEST

/* Workers go through a sequence of fresh latches, each publishing its part of a round and then
 * counting down; waiters wait on each latch and must see every part of its round (no early
 * release), and none may be left asleep.  Threads are made once: creating them costs
 * milliseconds under Wine and valgrind. */
enum { WORKERS = 4, WAITERS = 2, ROUNDS = 200 };

typedef struct job {
    pl_latch_t l[ROUNDS];
    int part[ROUNDS][WORKERS];
    atomic_int bad;
} job_t;

typedef struct worker_arg {
    job_t *j;
    int i;
} worker_arg_t;

static void *worker_main(void *arg)
{
    worker_arg_t *a = arg;
    for (int r = 0; r < ROUNDS; r++) {
        a->j->part[r][a->i] = r + 1;
        if ((r + a->i) % 4 == 0)
            sched_yield();
        pl_latch_count_down(&a->j->l[r], 1);
    }
    return NULL;
}

static void *job_waiter(void *arg)
{
    job_t *j = arg;
    for (int r = 0; r < ROUNDS; r++) {
        pl_latch_wait(&j->l[r]);
        for (int i = 0; i < WORKERS; i++)
            if (j->part[r][i] != r + 1)
                atomic_fetch_add(&j->bad, 1);
    }
    return NULL;
}

START_TEST(no_early_release)
{
    job_t *j = calloc(1, sizeof *j);
    ck_assert_ptr_nonnull(j);
    for (int r = 0; r < ROUNDS; r++)
        ck_assert_int_eq(pl_latch_init(&j->l[r], WORKERS), 0);
    pthread_t wt[WAITERS], kt[WORKERS];
    worker_arg_t a[WORKERS];
    for (int i = 0; i < WAITERS; i++)
        tu_spawn(&wt[i], job_waiter, j);
    for (int i = 0; i < WORKERS; i++) {
        a[i] = (worker_arg_t){j, i};
        tu_spawn(&kt[i], worker_main, &a[i]);
    }
    for (int i = 0; i < WORKERS; i++)
        tu_join(kt[i]);
    for (int i = 0; i < WAITERS; i++)
        tu_join(wt[i]);
    ck_assert_int_eq(atomic_load(&j->bad), 0);
    for (int r = 0; r < ROUNDS; r++)
        ck_assert_uint_eq(j->l[r].state, 0);
    free(j);
}
END_TEST

/* The waiter frees the latch as soon as its wait returns; the last count_down must not touch it
 * after (AddressSanitizer reports a write to freed memory).  Two counting threads serve every
 * round, each count_down started by a permit of `go`. */
typedef struct counter {
    pl_sem_t go;
    pl_latch_t *_Atomic slot;
    size_t count_downs;
} counter_t;

static void *count_down_main(void *arg)
{
    counter_t *c = arg;
    for (size_t i = 0; i < c->count_downs; i++) {
        pl_sem_wait(&c->go);
        pl_latch_count_down(atomic_load(&c->slot), 1);
    }
    return NULL;
}

START_TEST(waiter_frees_after_wait)
{
    counter_t c;
    memset(&c, 0, sizeof c);
    size_t rounds = tu_scaled(300, 20);
    c.count_downs = rounds; /* each of the two threads; two per round */
    pthread_t t[2];
    tu_spawn(&t[0], count_down_main, &c);
    tu_spawn(&t[1], count_down_main, &c);
    for (size_t i = 0; i < rounds; i++) {
        pl_latch_t *l = malloc(sizeof *l);
        ck_assert_ptr_nonnull(l);
        ck_assert_int_eq(pl_latch_init(l, 2), 0);
        atomic_store(&c.slot, l);
        ck_assert_int_eq(pl_sem_post(&c.go), 0);
        ck_assert_int_eq(pl_sem_post(&c.go), 0);
        pl_latch_wait(l);
        free(l);
    }
    tu_join(t[0]);
    tu_join(t[1]);
}
END_TEST

Suite *latch_suite(void);

Suite *latch_suite(void)
{
    Suite *s = suite_create("latch");
    TCase *tc = tu_tcase(s, "latch", 60);
    tcase_add_test(tc, count_down_to_zero);
    tcase_add_test(tc, underflow_aborts);
    tcase_add_test(tc, waiters_released_only_at_zero);
    tcase_add_test(tc, stale_wake_does_not_open);
    tcase_add_test(tc, timed_wait_times_out);
    tcase_add_test(tc, no_early_release);
    tcase_add_test(tc, waiter_frees_after_wait);
    tc = tu_tcase(s, "misuse", 30);
    tcase_add_test_raise_signal(tc, underflow_raises_sigabrt, SIGABRT);
    return s;
}
