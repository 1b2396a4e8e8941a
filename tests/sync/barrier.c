/* Tests of pl_barrier_t: include/parking/barrier.h.
 *
 * Knowing that a waiter sleeps: tu_queued() counts the threads queued on the barrier's address
 * (test_util.h); the last arrival's wake takes the same bucket lock and finds it. */
#include "test_util.h"

#include <parking/barrier.h>
#include <parking/semaphore.h>

#include <errno.h>

_Static_assert(sizeof(pl_barrier_t) == 8, "pl_barrier_t is one 64-bit word");

static void count_calls(void *arg) { ++*(int *)arg; }

START_TEST(single_thread_phases)
{
    pl_barrier_t b;
    ck_assert_int_eq(pl_barrier_init(&b, 0), EINVAL);
    ck_assert_int_eq(pl_barrier_init(&b, PL_BARRIER_MAX + 1u), EINVAL);
    ck_assert_int_eq(pl_barrier_init(&b, 1), 0);
    int calls = 0;
    for (int i = 0; i < 5; i++)
        ck_assert(pl_barrier_arrive_and_wait(&b, count_calls, &calls)); /* always the last */
    ck_assert_int_eq(calls, 5);
    pl_barrier_t two = PL_BARRIER_INIT(2);
    pl_barrier_token_t t = pl_barrier_arrive(&two, count_calls, &calls);
    ck_assert(!pl_barrier_wait_until(&two, t, 0)); /* one arrival of two: not ended */
    ck_assert(!pl_barrier_wait_for(&two, t, 2 * TU_MS));
    ck_assert_uint_eq(two.state & PL_BARRIER_PARKED_BIT, 0);
    (void)pl_barrier_arrive(&two, count_calls, &calls); /* the last: runs the completion */
    ck_assert_int_eq(calls, 6);
    ck_assert(pl_barrier_wait_until(&two, t, 0));
    pl_barrier_wait(&two, t);
    ck_assert_uint_eq(two.state, ((uint64_t)2 << 33) | ((uint64_t)2 << 2) | PL_BARRIER_PHASE_BIT);
}
END_TEST

static void arrive_on_zeroed(void *arg) { (void)pl_barrier_arrive(arg, NULL, NULL); }

START_TEST(too_many_arrivals_abort)
{
    pl_barrier_t b;
    memset(&b, 0, sizeof b);
    char addr[32];
    const char *needles[] = {"libparking: pl_barrier_arrive(", tu_addr_text(&b, addr, sizeof addr),
                             "more arrivals than the barrier's count", NULL};
    tu_expect_abort_message(arrive_on_zeroed, &b, needles);
}
END_TEST

START_TEST(too_many_arrivals_raise_sigabrt)
{
    pl_barrier_t b = PL_BARRIER_INIT(1);
    (void)pl_barrier_arrive(&b, NULL, NULL);
    pl_barrier_arrive_and_drop(&b, NULL, NULL); /* phase 2 of a barrier for one: fine */
    arrive_on_zeroed(&b);                       /* count 0 now: one arrival too many */
}
END_TEST

/* T threads, R phases: the completion runs once per phase, after every arrival of the phase and
 * before anyone leaves it; exactly one thread per phase is the serial one. */
enum { THREADS = 4, PHASES = 300 };

typedef struct phases {
    pl_barrier_t b;
    atomic_int arrived[PHASES];
    int completed; /* written only by completions */
    int serial[PHASES];
    atomic_int bad;
} phases_t;

typedef struct completion_arg {
    phases_t *p;
} completion_arg_t;

static void complete(void *arg)
{
    phases_t *p = arg;
    int phase = p->completed;
    if (atomic_load(&p->arrived[phase]) != THREADS)
        atomic_fetch_add(&p->bad, 1);
    p->completed = phase + 1;
}

static void *phase_thread(void *arg)
{
    phases_t *p = arg;
    for (int i = 0; i < PHASES; i++) {
        atomic_fetch_add(&p->arrived[i], 1);
        if (pl_barrier_arrive_and_wait(&p->b, complete, p))
            __atomic_fetch_add(&p->serial[i], 1, __ATOMIC_RELAXED);
        if (p->completed < i + 1) /* left before its phase's completion */
            atomic_fetch_add(&p->bad, 1);
    }
    return NULL;
}

START_TEST(phases_complete_in_order)
{
    phases_t *p = calloc(1, sizeof *p);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(pl_barrier_init(&p->b, THREADS), 0);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        tu_spawn(&t[i], phase_thread, p);
    for (int i = 0; i < THREADS; i++)
        tu_join(t[i]);
    ck_assert_int_eq(atomic_load(&p->bad), 0);
    ck_assert_int_eq(p->completed, PHASES);
    for (int i = 0; i < PHASES; i++)
        ck_assert_int_eq(p->serial[i], 1);
    free(p);
}
END_TEST

/* A dropped thread no longer counts from the next phase on. */
typedef struct drop {
    pl_barrier_t b;
    int calls;
} drop_t;

static void *dropper(void *arg)
{
    drop_t *d = arg;
    pl_barrier_arrive_and_drop(&d->b, count_calls, &d->calls);
    return NULL;
}

static void *stayer(void *arg)
{
    drop_t *d = arg;
    for (int i = 0; i < 3; i++)
        (void)pl_barrier_arrive_and_wait(&d->b, count_calls, &d->calls);
    return NULL;
}

START_TEST(arrive_and_drop)
{
    drop_t d = {PL_BARRIER_INIT(3), 0};
    pthread_t t[3];
    tu_spawn(&t[0], dropper, &d);
    tu_spawn(&t[1], stayer, &d);
    tu_spawn(&t[2], stayer, &d);
    for (int i = 0; i < 3; i++)
        tu_join(t[i]);
    ck_assert_int_eq(d.calls, 3);
    ck_assert_uint_eq(d.b.state >> 33, 2);
}
END_TEST

/* Waiters parked on the barrier all leave when the last arrives. */
typedef struct parked {
    pl_barrier_t *b;
    bool serial;
    pthread_t thread;
} parked_t;

static void *parked_main(void *arg)
{
    parked_t *w = arg;
    w->serial = pl_barrier_arrive_and_wait(w->b, NULL, NULL);
    return NULL;
}

START_TEST(last_arrival_wakes_parked)
{
    pl_barrier_t b = PL_BARRIER_INIT(3);
    parked_t w[2];
    for (int i = 0; i < 2; i++) {
        w[i].b = &b;
        tu_spawn(&w[i].thread, parked_main, &w[i]);
    }
    tu_wait_queued(&b, 2);
    ck_assert(b.state & PL_BARRIER_PARKED_BIT);
    ck_assert(pl_barrier_arrive_and_wait(&b, NULL, NULL));
    ck_assert_uint_eq(b.state & PL_BARRIER_PARKED_BIT, 0);
    for (int i = 0; i < 2; i++) {
        tu_join(w[i].thread);
        ck_assert(!w[i].serial);
    }
}
END_TEST

/* The first thread arrives and waits, then frees the barrier as soon as its wait returns; the
 * last arrival (the main thread) must not touch it after its phase change (AddressSanitizer
 * reports a write to freed memory).  One first thread serves every round. */
typedef struct uaf {
    pl_sem_t go, arrived, done;
    pl_barrier_t *_Atomic slot;
    size_t rounds;
} uaf_t;

static void *first_main(void *arg)
{
    uaf_t *u = arg;
    for (size_t i = 0; i < u->rounds; i++) {
        pl_sem_wait(&u->go);
        pl_barrier_t *b = atomic_load(&u->slot);
        pl_barrier_token_t t = pl_barrier_arrive(b, NULL, NULL);
        if (pl_sem_post(&u->arrived) != 0)
            abort(); /* helper thread: no Check assertion here */
        pl_barrier_wait(b, t);
        free(b);
        if (pl_sem_post(&u->done) != 0)
            abort(); /* helper thread: no Check assertion here */
    }
    return NULL;
}

START_TEST(waiter_frees_after_wait)
{
    uaf_t u;
    memset(&u, 0, sizeof u);
    u.rounds = tu_scaled(300, 20);
    pthread_t t;
    tu_spawn(&t, first_main, &u);
    for (size_t i = 0; i < u.rounds; i++) {
        pl_barrier_t *b = malloc(sizeof *b);
        ck_assert_ptr_nonnull(b);
        ck_assert_int_eq(pl_barrier_init(b, 2), 0);
        atomic_store(&u.slot, b);
        ck_assert_int_eq(pl_sem_post(&u.go), 0);
        pl_sem_wait(&u.arrived);
        if (i % 2 == 0)
            tu_wait_queued(b, 1); /* the wake-up path; else any path */
        (void)pl_barrier_arrive(b, NULL, NULL);
        pl_sem_wait(&u.done);
    }
    tu_join(t);
}
END_TEST

Suite *barrier_suite(void);

Suite *barrier_suite(void)
{
    Suite *s = suite_create("barrier");
    TCase *tc = tu_tcase(s, "barrier", 60);
    tcase_add_test(tc, single_thread_phases);
    tcase_add_test(tc, too_many_arrivals_abort);
    tcase_add_test(tc, phases_complete_in_order);
    tcase_add_test(tc, arrive_and_drop);
    tcase_add_test(tc, last_arrival_wakes_parked);
    tcase_add_test(tc, waiter_frees_after_wait);
    tc = tu_tcase(s, "misuse", 30);
    tcase_add_test_raise_signal(tc, too_many_arrivals_raise_sigabrt, SIGABRT);
    return s;
}
