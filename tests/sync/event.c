/* Tests of pl_event_t: include/parking/event.h.
 *
 * Knowing that a waiter sleeps: tu_queued() counts the threads queued on the event's address
 * (test_util.h); a set, whose wake takes the same bucket lock, then finds it. */
#include "test_util.h"

#include <parking/event.h>
#include <parking/semaphore.h>

_Static_assert(sizeof(pl_event_t) == 4, "pl_event_t is one 32-bit word");

START_TEST(set_reset_is_set)
{
    pl_event_t e;
    memset(&e, 0, sizeof e);
    ck_assert(!pl_event_is_set(&e));
    ck_assert(!pl_event_wait_until(&e, 0));
    ck_assert(!pl_event_wait_for(&e, 0));
    pl_event_set(&e);
    ck_assert(pl_event_is_set(&e));
    pl_event_set(&e); /* twice: no change */
    ck_assert_uint_eq(e.state, PL_EVENT_SET_BIT);
    pl_event_wait(&e);
    ck_assert(pl_event_wait_until(&e, 0));
    ck_assert(pl_event_reset(&e));
    ck_assert(!pl_event_reset(&e));
    ck_assert(!pl_event_is_set(&e));
    ck_assert_uint_eq(e.state, 0);
}
END_TEST

typedef struct waiter {
    pl_event_t *e;
    uint64_t deadline;
    bool got;
    atomic_bool done;
    pthread_t thread;
} waiter_t;

static void *waiter_main(void *arg)
{
    waiter_t *w = arg;
    w->got = pl_event_wait_until(w->e, w->deadline);
    atomic_store(&w->done, true);
    return NULL;
}

static void waiter_start(waiter_t *w, pl_event_t *e, uint64_t deadline)
{
    w->e = e;
    w->deadline = deadline;
    w->got = false;
    atomic_init(&w->done, false);
    tu_spawn(&w->thread, waiter_main, w);
}

START_TEST(set_wakes_every_waiter)
{
    pl_event_t e = PL_EVENT_INIT;
    waiter_t w[3];
    for (int i = 0; i < 3; i++)
        waiter_start(&w[i], &e, i == 2 ? pl_now() + 10 * TU_S : PL_FOREVER);
    tu_wait_queued(&e, 3);
    ck_assert_uint_eq(e.state, PL_EVENT_PARKED_BIT);
    for (int i = 0; i < 3; i++)
        ck_assert(!atomic_load(&w[i].done));
    pl_event_set(&e);
    ck_assert_uint_eq(e.state, PL_EVENT_SET_BIT); /* the set's one write cleared the bit */
    for (int i = 0; i < 3; i++) {
        tu_join(w[i].thread);
        ck_assert(w[i].got);
    }
    ck_assert_uint_eq(tu_queued(&e, NULL, 0), 0);
}
END_TEST

/* A wake-up by address while the event is not set (what a late wake-up of an earlier event at
 * the same address, a reused stack frame or heap block, looks like) must not let a waiter
 * through: it parks again, and the real set still reaches it.  (A waiter that took any wake-up
 * for a set failed this, and let the chaos run's reused latch open early.) */
START_TEST(stale_wake_does_not_pass)
{
    pl_event_t e = PL_EVENT_INIT;
    waiter_t w;
    waiter_start(&w, &e, PL_FOREVER);
    for (int i = 0; i < 3; i++) {
        tu_wait_queued(&e, 1);
        ck_assert_uint_eq(pl_unpark_all(&e, PL_DEFAULT_UNPARK_TOKEN), 1);
    }
    tu_wait_queued(&e, 1); /* back in the queue, not returned */
    ck_assert(!atomic_load(&w.done));
    pl_event_set(&e);
    tu_join(w.thread);
    ck_assert(w.got);
}
END_TEST

START_TEST(timed_wait_times_out)
{
    pl_event_t e = PL_EVENT_INIT;
    uint64_t start = pl_now();
    ck_assert(!pl_event_wait_for(&e, 5 * TU_MS));
    ck_assert_uint_ge(pl_now() - start, 5 * TU_MS);
    uint64_t deadline = pl_now() + 3 * TU_MS;
    ck_assert(!pl_event_wait_until(&e, deadline));
    ck_assert_uint_ge(pl_now(), deadline);
    ck_assert_uint_eq(e.state, 0); /* the last timed-out waiter cleared the parked bit */
}
END_TEST

/* Waiters go through a sequence of fresh events that the main thread sets in order, at varied
 * moments: none is left asleep (a lost wake-up hangs the join and fails the test on its time
 * limit), and each sees what was written before its set.  Threads are made once: creating them
 * costs milliseconds under Wine and valgrind. */
enum { ROUND_WAITERS = 3, ROUNDS = 300 };

typedef struct rounds {
    pl_event_t e[ROUNDS];
    int data[ROUNDS];
    atomic_int seen_bad;
} rounds_t;

static void *round_waiter(void *arg)
{
    rounds_t *r = arg;
    for (int i = 0; i < ROUNDS; i++) {
        pl_event_wait(&r->e[i]);
        if (r->data[i] != i + 1)
            atomic_fetch_add(&r->seen_bad, 1);
    }
    return NULL;
}

START_TEST(no_lost_wakeup)
{
    rounds_t *r = calloc(1, sizeof *r);
    ck_assert_ptr_nonnull(r);
    pthread_t t[ROUND_WAITERS];
    for (int k = 0; k < ROUND_WAITERS; k++)
        tu_spawn(&t[k], round_waiter, r);
    for (int i = 0; i < ROUNDS; i++) {
        for (int k = 0; k < i % 3; k++)
            sched_yield();
        r->data[i] = i + 1;
        pl_event_set(&r->e[i]);
    }
    for (int k = 0; k < ROUND_WAITERS; k++)
        tu_join(t[k]);
    ck_assert_int_eq(atomic_load(&r->seen_bad), 0);
    free(r);
}
END_TEST

/* Abseil's Notification idiom: the waiter owns the event and frees it when its wait returns;
 * the set must not touch it after (AddressSanitizer reports a write to freed memory).  One
 * setter thread serves every round, started by a semaphore. */
typedef struct setter {
    pl_sem_t go;
    pl_event_t *_Atomic slot;
    size_t rounds;
} setter_t;

static void *setter_main(void *arg)
{
    setter_t *s = arg;
    for (size_t i = 0; i < s->rounds; i++) {
        pl_sem_wait(&s->go);
        pl_event_t *e = atomic_load(&s->slot);
        if (i % 2 == 0)
            (void)tu_poll_queued(e, 1); /* the wake-up path; else any path */
        pl_event_set(e);
    }
    return NULL;
}

START_TEST(waiter_frees_after_wait)
{
    setter_t s;
    memset(&s, 0, sizeof s);
    s.rounds = tu_scaled(300, 20);
    pthread_t t;
    tu_spawn(&t, setter_main, &s);
    for (size_t i = 0; i < s.rounds; i++) {
        pl_event_t *e = calloc(1, sizeof *e);
        ck_assert_ptr_nonnull(e);
        atomic_store(&s.slot, e);
        ck_assert_int_eq(pl_sem_post(&s.go), 0);
        pl_event_wait(e);
        free(e);
    }
    tu_join(t);
}
END_TEST

Suite *event_suite(void);

Suite *event_suite(void)
{
    Suite *s = suite_create("event");
    TCase *tc = tu_tcase(s, "event", 60);
    tcase_add_test(tc, set_reset_is_set);
    tcase_add_test(tc, set_wakes_every_waiter);
    tcase_add_test(tc, stale_wake_does_not_pass);
    tcase_add_test(tc, timed_wait_times_out);
    tcase_add_test(tc, no_lost_wakeup);
    tcase_add_test(tc, waiter_frees_after_wait);
    return s;
}
