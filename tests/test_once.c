/* Tests of pl_once_t: include/parking/once.h.
 *
 * Knowing that callers sleep: threads waiting for an initialiser park in the parking lot under
 * the once's address.  The initialisers below count them with pl_unpark_filter and a filter that
 * only returns PL_FILTER_SKIP (wakes nobody) and return only once the expected number is queued,
 * so the tests prove the parked callers are woken, with no sleep that hides a race.
 *
 * Check runs each test in a forked child (CK_FORK, the default), which the abort test needs. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "test_util.h"

#include <parking/once.h>

#include <signal.h>
#include <stdlib.h>

static long ncpu(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? n : 1;
}

/* Counts the threads queued on addr without waking any; usable off the main thread (no Check
 * assertion inside). */
static pl_filter_op_t count_filter(void *ctx, uintptr_t park_token)
{
    (void)park_token;
    (*(size_t *)ctx)++;
    return PL_FILTER_SKIP;
}

static size_t queued_on(const void *addr)
{
    size_t n = 0;
    (void)pl_unpark_filter(addr, count_filter, NULL, &n);
    return n;
}

/* Polls until n threads are queued on addr; false after TU_WAIT_NS. */
static bool wait_queued(const void *addr, size_t n)
{
    uint64_t deadline = pl_now() + TU_WAIT_NS;
    unsigned polls = 0;
    while (queued_on(addr) < n) {
        if (pl_now() > deadline)
            return false;
        tu_backoff(&polls);
    }
    return true;
}

/* ---- Layout and sequential behaviour ---- */

static pl_once_t static_once; /* zero-initialised: not run */

START_TEST(layout_is_one_byte)
{
    ck_assert_uint_eq(sizeof(pl_once_t), 1);
    pl_once_t o = PL_ONCE_INIT;
    ck_assert_uint_eq(o.state, 0);
    ck_assert(!pl_once_is_done(&o));
    ck_assert(!pl_once_is_done(&static_once));
}
END_TEST

static void add_one(void *arg)
{
    (*(int *)arg)++;
}

START_TEST(runs_once_sequentially)
{
    int runs = 0;
    pl_call_once(&static_once, add_one, &runs);
    ck_assert_int_eq(runs, 1);
    ck_assert(pl_once_is_done(&static_once));
    ck_assert_uint_eq(static_once.state, PL_ONCE_DONE_BIT);
    for (int i = 0; i < 10; i++)
        pl_call_once(&static_once, add_one, &runs);
    ck_assert_int_eq(runs, 1);
}
END_TEST

static bool fail_count(void *arg)
{
    (*(int *)arg)++;
    return false;
}

static bool succeed_count(void *arg)
{
    (*(int *)arg)++;
    return true;
}

START_TEST(try_failure_leaves_not_done)
{
    pl_once_t o = PL_ONCE_INIT;
    int fails = 0, successes = 0;
    ck_assert(!pl_call_once_try(&o, fail_count, &fails));
    ck_assert(!pl_call_once_try(&o, fail_count, &fails));
    ck_assert_int_eq(fails, 2);
    ck_assert(!pl_once_is_done(&o));
    ck_assert_uint_eq(o.state, 0); /* back to "not run": nothing left behind */
    ck_assert(pl_call_once_try(&o, succeed_count, &successes));
    ck_assert_int_eq(successes, 1);
    ck_assert(pl_once_is_done(&o));
    /* Done: neither kind of initialiser runs again, and try reports done. */
    ck_assert(pl_call_once_try(&o, fail_count, &fails));
    pl_call_once(&o, add_one, &successes);
    ck_assert_int_eq(fails, 2);
    ck_assert_int_eq(successes, 1);
}
END_TEST

START_TEST(plain_call_after_failed_try)
{
    pl_once_t o = PL_ONCE_INIT;
    int fails = 0, runs = 0;
    ck_assert(!pl_call_once_try(&o, fail_count, &fails));
    pl_call_once(&o, add_one, &runs);
    ck_assert_int_eq(runs, 1);
    ck_assert(pl_once_is_done(&o));
}
END_TEST

/* An initialiser may run another once (only the same once from the same thread deadlocks). */
static pl_once_t inner_once;

static void outer_init(void *arg)
{
    pl_call_once(&inner_once, add_one, arg);
    (*(int *)arg) += 10;
}

START_TEST(nested_different_once)
{
    pl_once_t outer = PL_ONCE_INIT;
    int v = 0;
    pl_call_once(&outer, outer_init, &v);
    ck_assert_int_eq(v, 11);
    ck_assert(pl_once_is_done(&outer));
    ck_assert(pl_once_is_done(&inner_once));
}
END_TEST

/* ---- Racing callers ---- */

enum { RACERS = 64 };

typedef struct race {
    pl_once_t once;
    atomic_bool go;
    atomic_int runs;
    atomic_bool saw_all_parked;   /* the initialiser saw every other caller queued */
    int value;                    /* plain: written by the initialiser only */
    atomic_int bad_reads;         /* callers that returned without seeing `value` */
} race_t;

static void slow_init(void *arg)
{
    race_t *r = arg;
    atomic_fetch_add(&r->runs, 1);
    /* Every other caller must reach the parking lot while we run (they spin only briefly). */
    atomic_store(&r->saw_all_parked, wait_queued(&r->once, RACERS - 1));
    r->value = 42;
}

static void *racer_main(void *arg)
{
    race_t *r = arg;
    while (!atomic_load(&r->go))
        sched_yield();
    pl_call_once(&r->once, slow_init, r);
    /* A plain read: the thread sanitizer flags it if the once gave no happens-before. */
    if (r->value != 42 || !pl_once_is_done(&r->once))
        atomic_fetch_add(&r->bad_reads, 1);
    return NULL;
}

START_TEST(runs_exactly_once_with_racing_callers)
{
    race_t *r = calloc(1, sizeof *r);
    ck_assert_ptr_nonnull(r);
    pthread_t t[RACERS];
    for (int i = 0; i < RACERS; i++)
        tu_spawn(&t[i], racer_main, r);
    atomic_store(&r->go, true);
    for (int i = 0; i < RACERS; i++)
        tu_join(t[i]);
    ck_assert_int_eq(atomic_load(&r->runs), 1);
    ck_assert(atomic_load(&r->saw_all_parked));
    ck_assert_int_eq(atomic_load(&r->bad_reads), 0);
    ck_assert_uint_eq(r->once.state, PL_ONCE_DONE_BIT); /* parked bit gone with the wake-up */
    ck_assert_uint_eq(queued_on(&r->once), 0);
    free(r);
}
END_TEST

/* Many onces, each raced by 4x cores threads with no waiting inside: checks exactly-once and
 * visibility under interleavings the slow initialiser above does not produce. */
enum { MANY = 2000 };

typedef struct many {
    pl_once_t once[MANY];
    atomic_int runs[MANY];
    int value[MANY];
    atomic_int bad;
} many_t;

typedef struct many_arg {
    many_t *m;
    unsigned i;
} many_arg_t;

static void many_init(void *arg)
{
    many_arg_t *a = arg;
    atomic_fetch_add(&a->m->runs[a->i], 1);
    a->m->value[a->i] = (int)a->i + 1;
}

static void *many_main(void *arg)
{
    many_t *m = arg;
    for (unsigned i = 0; i < MANY; i++) {
        many_arg_t a = {m, i};
        pl_call_once(&m->once[i], many_init, &a);
        if (m->value[i] != (int)i + 1)
            atomic_fetch_add(&m->bad, 1);
    }
    return NULL;
}

START_TEST(many_onces_raced)
{
    size_t n = (size_t)ncpu() * 4;
    many_t *m = calloc(1, sizeof *m);
    pthread_t *t = calloc(n, sizeof *t);
    ck_assert(m && t);
    for (size_t i = 0; i < n; i++)
        tu_spawn(&t[i], many_main, m);
    for (size_t i = 0; i < n; i++)
        tu_join(t[i]);
    for (unsigned i = 0; i < MANY; i++) {
        ck_assert_int_eq(atomic_load(&m->runs[i]), 1);
        ck_assert_uint_eq(m->once[i].state, PL_ONCE_DONE_BIT);
    }
    ck_assert_int_eq(atomic_load(&m->bad), 0);
    free(t);
    free(m);
}
END_TEST

/* ---- Failing initialisers with parked waiters ---- */

enum { RETRY_THREADS = 8, RETRY_FAILURES = 3 };

typedef struct retry {
    pl_once_t once;
    atomic_int attempts;
    atomic_bool saw_waiters;      /* the first attempt saw every other thread queued */
    atomic_int returned_true, returned_false;
    atomic_bool go;
    int value;                    /* written by the successful attempt only */
    atomic_int bad_reads;
} retry_t;

/* Attempts 1..RETRY_FAILURES fail; the first also waits until everyone else is parked, so
 * the later attempts are made by callers that were asleep during a failed run. */
static bool flaky_init(void *arg)
{
    retry_t *r = arg;
    int attempt = atomic_fetch_add(&r->attempts, 1) + 1;
    if (attempt == 1)
        atomic_store(&r->saw_waiters, wait_queued(&r->once, RETRY_THREADS - 1));
    if (attempt <= RETRY_FAILURES)
        return false;
    r->value = 7;
    return true;
}

static void *retry_main(void *arg)
{
    retry_t *r = arg;
    while (!atomic_load(&r->go))
        sched_yield();
    bool done = pl_call_once_try(&r->once, flaky_init, r);
    atomic_fetch_add(done ? &r->returned_true : &r->returned_false, 1);
    if (done && (r->value != 7 || !pl_once_is_done(&r->once)))
        atomic_fetch_add(&r->bad_reads, 1);
    return NULL;
}

START_TEST(failed_run_wakes_a_waiter_to_retry)
{
    retry_t *r = calloc(1, sizeof *r);
    ck_assert_ptr_nonnull(r);
    pthread_t t[RETRY_THREADS];
    for (int i = 0; i < RETRY_THREADS; i++)
        tu_spawn(&t[i], retry_main, r);
    atomic_store(&r->go, true);
    for (int i = 0; i < RETRY_THREADS; i++)
        tu_join(t[i]);
    ck_assert(atomic_load(&r->saw_waiters));
    /* Each failure is one caller's false; the success ends it for everybody else. */
    ck_assert_int_eq(atomic_load(&r->attempts), RETRY_FAILURES + 1);
    ck_assert_int_eq(atomic_load(&r->returned_false), RETRY_FAILURES);
    ck_assert_int_eq(atomic_load(&r->returned_true), RETRY_THREADS - RETRY_FAILURES);
    ck_assert_int_eq(atomic_load(&r->bad_reads), 0);
    ck_assert(pl_once_is_done(&r->once));
    ck_assert_uint_eq(r->once.state, PL_ONCE_DONE_BIT);
    free(r);
}
END_TEST

/* A failure with nobody left to retry must leave the once clean: no stale PARKED bit. */
typedef struct lone {
    pl_once_t once;
    atomic_bool waiter_parked;
    atomic_int fails;
} lone_t;

static bool fail_after_one_waiter(void *arg)
{
    lone_t *l = arg;
    atomic_store(&l->waiter_parked, wait_queued(&l->once, 1));
    atomic_fetch_add(&l->fails, 1);
    return false;
}

static void *lone_failer(void *arg)
{
    lone_t *l = arg;
    return pl_call_once_try(&l->once, fail_after_one_waiter, l) ? (void *)1 : NULL;
}

START_TEST(failed_run_with_one_waiter_then_success)
{
    lone_t l = {PL_ONCE_INIT, false, 0};
    pthread_t t;
    tu_spawn(&t, lone_failer, &l);
    /* Main thread becomes the parked waiter once the failer runs; woken by the failure, it
     * runs its own initialiser, which succeeds. */
    while (!(__atomic_load_n(&l.once.state, __ATOMIC_ACQUIRE) & PL_ONCE_RUNNING_BIT))
        sched_yield();
    int successes = 0;
    ck_assert(pl_call_once_try(&l.once, succeed_count, &successes));
    void *res = (void *)1;
    ck_assert_int_eq(pthread_join(t, &res), 0);
    ck_assert_ptr_null(res);
    ck_assert(atomic_load(&l.waiter_parked));
    ck_assert_int_eq(atomic_load(&l.fails), 1);
    ck_assert_int_eq(successes, 1);
    ck_assert_uint_eq(l.once.state, PL_ONCE_DONE_BIT);
}
END_TEST

/* ---- Misuse ---- */

START_TEST(null_fn_aborts)
{
    pl_once_t o = PL_ONCE_INIT;
    pl_call_once(&o, NULL, NULL);
}
END_TEST

START_TEST(null_try_fn_aborts)
{
    pl_once_t o = PL_ONCE_INIT;
    (void)pl_call_once_try(&o, NULL, NULL);
}
END_TEST

static void call_null_fn(void *arg) { pl_call_once(arg, NULL, NULL); }
static void call_null_try_fn(void *arg) { (void)pl_call_once_try(arg, NULL, NULL); }

START_TEST(null_fn_messages)
{
    static pl_once_t o; /* same address in the child */
    char expect[128];
    snprintf(expect, sizeof expect, "libparking: pl_call_once(%p): fn is NULL", (void *)&o);
    const char *m1[] = {expect, NULL};
    tu_expect_abort_message(call_null_fn, &o, m1);
    snprintf(expect, sizeof expect, "libparking: pl_call_once_try(%p): fn is NULL", (void *)&o);
    const char *m2[] = {expect, NULL};
    tu_expect_abort_message(call_null_try_fn, &o, m2);
}
END_TEST

/* Recursion: an initialiser that calls pl_call_once on its own once aborts instead of waiting
 * for itself forever. */

static pl_once_t rec_a, rec_b; /* static: the same address in the forked child */

static void rec_self(void *arg)
{
    (void)arg;
    pl_call_once(&rec_a, rec_self, NULL);
}

static bool rec_self_try(void *arg)
{
    (void)arg;
    return pl_call_once_try(&rec_a, rec_self_try, NULL);
}

/* rec_a's initialiser runs rec_b's, which calls pl_call_once on rec_a. */
static void rec_via_b(void *arg);
static void rec_b_calls_a(void *arg)
{
    (void)arg;
    pl_call_once(&rec_a, rec_via_b, NULL);
}
static void rec_via_b(void *arg)
{
    (void)arg;
    pl_call_once(&rec_b, rec_b_calls_a, NULL);
}

/* A try initialiser that fails first: the plain call recursing from inside it names
 * pl_call_once, the function that found the once running. */
static bool rec_try_then_plain(void *arg)
{
    (void)arg;
    pl_call_once(&rec_a, rec_self, NULL);
    return true;
}

static void run_rec_self(void *arg) { (void)arg; pl_call_once(&rec_a, rec_self, NULL); }
static void run_rec_self_try(void *arg) { (void)arg; (void)pl_call_once_try(&rec_a, rec_self_try, NULL); }
static void run_rec_via_b(void *arg) { (void)arg; pl_call_once(&rec_a, rec_via_b, NULL); }
static void run_rec_try_then_plain(void *arg)
{
    (void)arg;
    (void)pl_call_once_try(&rec_a, rec_try_then_plain, NULL);
}

START_TEST(recursion_aborts)
{
    switch (_i) {
    case 0: run_rec_self(NULL); break;
    case 1: run_rec_self_try(NULL); break;
    case 2: run_rec_via_b(NULL); break;
    default: run_rec_try_then_plain(NULL); break;
    }
}
END_TEST

START_TEST(recursion_messages)
{
    char expect[160];
    static void (*const run[])(void *) = {run_rec_self, run_rec_self_try, run_rec_via_b,
                                          run_rec_try_then_plain};
    static const char *const fn[] = {"pl_call_once", "pl_call_once_try", "pl_call_once",
                                     "pl_call_once"};
    for (size_t i = 0; i < sizeof run / sizeof run[0]; i++) {
        snprintf(expect, sizeof expect,
                 "libparking: %s(%p): recursive call from its own initializer", fn[i],
                 (void *)&rec_a);
        const char *needles[] = {expect, NULL};
        tu_expect_abort_message(run[i], NULL, needles);
    }
}
END_TEST

/* The check must not fire for what is not recursion: this thread, inside an initialiser, waits
 * for a once that another thread runs. */

static pl_once_t wi_outer, wi_inner;
static atomic_bool wi_inner_running, wi_release;

static void wi_inner_init(void *arg)
{
    (void)arg;
    atomic_store(&wi_inner_running, true);
    unsigned polls = 0;
    while (!atomic_load(&wi_release))
        tu_backoff(&polls);
}

static void *wi_inner_runner(void *arg)
{
    (void)arg;
    pl_call_once(&wi_inner, wi_inner_init, NULL);
    return NULL;
}

/* Lets the inner initialiser finish once the main thread is parked waiting for it. */
static void *wi_releaser(void *arg)
{
    (void)arg;
    (void)wait_queued(&wi_inner, 1);
    atomic_store(&wi_release, true);
    return NULL;
}

static void wi_outer_init(void *arg)
{
    (*(int *)arg)++;
    pl_call_once(&wi_inner, wi_inner_init, NULL); /* running on the other thread: waits */
}

START_TEST(waiting_inside_an_initialiser_is_not_recursion)
{
    pthread_t runner, releaser;
    tu_spawn(&runner, wi_inner_runner, NULL);
    unsigned polls = 0;
    while (!atomic_load(&wi_inner_running))
        tu_backoff(&polls);
    tu_spawn(&releaser, wi_releaser, NULL);
    int ran = 0;
    pl_call_once(&wi_outer, wi_outer_init, &ran);
    tu_join(runner);
    tu_join(releaser);
    ck_assert_int_eq(ran, 1);
    ck_assert(atomic_load(&wi_release)); /* it really waited for the other thread */
    ck_assert(pl_once_is_done(&wi_outer));
    ck_assert(pl_once_is_done(&wi_inner));
}
END_TEST

/* Nesting deeper than the table of runners (64) works, and leaves the table empty: recursion
 * is still detected afterwards (a leaked entry would fill it, and the child would hang). */
enum { DEEP = 100 };
static pl_once_t deep[DEEP];

static void deep_init(void *arg)
{
    size_t i = (size_t)(uintptr_t)arg;
    if (i + 1 < DEEP)
        pl_call_once(&deep[i + 1], deep_init, (void *)(uintptr_t)(i + 1));
}

START_TEST(nesting_deeper_than_the_table)
{
    pl_call_once(&deep[0], deep_init, (void *)(uintptr_t)0);
    for (size_t i = 0; i < DEEP; i++)
        ck_assert(pl_once_is_done(&deep[i]));
    for (int round = 0; round < 3; round++) {
        char expect[160];
        snprintf(expect, sizeof expect,
                 "libparking: pl_call_once(%p): recursive call from its own initializer",
                 (void *)&rec_a);
        const char *needles[] = {expect, NULL};
        tu_expect_abort_message(run_rec_self, NULL, needles);
    }
}
END_TEST

/* ---- Suite ---- */

static Suite *once_suite(void)
{
    Suite *s = suite_create("once");
    TCase *tc = tu_tcase(s, "basic", 10);
    tcase_add_test(tc, layout_is_one_byte);
    tcase_add_test(tc, runs_once_sequentially);
    tcase_add_test(tc, try_failure_leaves_not_done);
    tcase_add_test(tc, plain_call_after_failed_try);
    tcase_add_test(tc, nested_different_once);

    tc = tu_tcase(s, "contended", 60);
    tcase_add_test(tc, runs_exactly_once_with_racing_callers);
    tcase_add_test(tc, many_onces_raced);
    tcase_add_test(tc, failed_run_wakes_a_waiter_to_retry);
    tcase_add_test(tc, failed_run_with_one_waiter_then_success);

    tc = tu_tcase(s, "misuse", 10);
    tcase_add_test_raise_signal(tc, null_fn_aborts, SIGABRT);
    tcase_add_test_raise_signal(tc, null_try_fn_aborts, SIGABRT);
    tcase_add_test(tc, null_fn_messages);
    tcase_add_loop_test_raise_signal(tc, recursion_aborts, SIGABRT, 0, 4);
    tcase_add_test(tc, recursion_messages);
    tcase_add_test(tc, waiting_inside_an_initialiser_is_not_recursion);
    tcase_add_test(tc, nesting_deeper_than_the_table);
    return s;
}

int main(void)
{
    return tu_run_suite(once_suite());
}
