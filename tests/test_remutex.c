/* Tests of pl_remutex_t and pl_thread_id: include/parking/remutex.h.
 *
 * Knowing that a thread waits: a pl_remutex_t parks its waiters on its inner pl_mutex_t's
 * address (&m->mutex).  tu_queued() scans that queue with pl_unpark_filter and a filter that
 * only counts (PL_FILTER_SKIP); a waiter seen there will be found by the next unlock, which
 * takes the same bucket lock.  No test sleeps to let a thread "get there".
 *
 * The depth-overflow tests write the `count` field directly (the header documents the fields
 * for white-box tests): reaching PL_REMUTEX_MAX_DEPTH (2^32 - 1) by locking would take minutes.
 * Everything else goes through the public functions.
 *
 * Check runs each test in a forked child (CK_FORK, the default), which the abort tests need. */
#include "test_util.h"

#include <parking/remutex.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

/* Unlocked, unowned, depth 0, no parked bit: the state of PL_REMUTEX_INIT.  Only called when
 * no other thread uses m (or after joining them). */
static bool all_zero(const pl_remutex_t *m)
{
    return m->owner == 0 && m->count == 0 && m->mutex.state == 0;
}

/* ---- Layout, initialisation, identity ---- */

static pl_remutex_t static_remutex; /* zero-initialised: must be a valid unlocked mutex */

START_TEST(layout_and_init)
{
    ck_assert_uint_eq(sizeof(pl_remutex_t), sizeof(void *) == 8 ? 16 : 12);
    pl_remutex_t m = PL_REMUTEX_INIT;
    pl_remutex_t *ms[2] = {&m, &static_remutex};
    for (int i = 0; i < 2; i++) {
        ck_assert(all_zero(ms[i]));
        ck_assert(!pl_remutex_is_locked(ms[i]));
        ck_assert(!pl_remutex_is_held(ms[i]));
        pl_remutex_lock(ms[i]);
        ck_assert(pl_remutex_is_locked(ms[i]));
        ck_assert(pl_remutex_is_held(ms[i]));
        ck_assert_uint_eq(ms[i]->owner, pl_thread_id());
        ck_assert_uint_eq(ms[i]->count, 1);
        pl_remutex_unlock(ms[i]);
        ck_assert(all_zero(ms[i])); /* uncontended: back to all-zero */
    }
}
END_TEST

enum { ID_THREADS = 8 };

typedef struct id_probe {
    uintptr_t id, id_again;
    atomic_int *started;
} id_probe_t;

static void *id_thread(void *arg)
{
    id_probe_t *p = arg;
    p->id = pl_thread_id();
    /* Stay alive until every probe has its id: identities are only unique among live threads. */
    atomic_fetch_add(p->started, 1);
    while (atomic_load(p->started) < ID_THREADS)
        sched_yield();
    p->id_again = pl_thread_id();
    return NULL;
}

START_TEST(thread_ids_distinct_and_stable)
{
    uintptr_t me = pl_thread_id();
    ck_assert_uint_ne(me, 0);
    ck_assert_uint_eq(pl_thread_id(), me);
    atomic_int started;
    atomic_init(&started, 0);
    id_probe_t probes[ID_THREADS];
    pthread_t t[ID_THREADS];
    for (int i = 0; i < ID_THREADS; i++) {
        probes[i].started = &started;
        tu_spawn(&t[i], id_thread, &probes[i]);
    }
    for (int i = 0; i < ID_THREADS; i++)
        tu_join(t[i]);
    for (int i = 0; i < ID_THREADS; i++) {
        ck_assert_uint_ne(probes[i].id, 0);
        ck_assert_uint_eq(probes[i].id, probes[i].id_again);
        ck_assert_uint_ne(probes[i].id, me);
        for (int j = 0; j < i; j++)
            ck_assert_uint_ne(probes[i].id, probes[j].id);
    }
}
END_TEST

/* ---- Recursion ---- */

typedef struct other {
    pl_remutex_t *m;
    int mode; /* 0 trylock, 1 lock_until(deadline), 2 lock_for(timeout), 3 lock */
    uint64_t arg;
    bool result;
    bool held_inside; /* pl_remutex_is_held once it got the lock */
    uint32_t count_inside;
    bool nested_ok; /* a nested trylock succeeded */
    uint64_t started_at, returned_at;
    atomic_bool got, release, done;
    pthread_t thread;
} other_t;

static void *other_main(void *arg)
{
    other_t *o = arg;
    o->started_at = pl_now();
    switch (o->mode) {
    case 0: o->result = pl_remutex_trylock(o->m); break;
    case 1: o->result = pl_remutex_lock_until(o->m, o->arg); break;
    case 2: o->result = pl_remutex_lock_for(o->m, o->arg); break;
    default:
        pl_remutex_lock(o->m);
        o->result = true;
        break;
    }
    o->returned_at = pl_now();
    if (o->result) {
        o->held_inside = pl_remutex_is_held(o->m);
        o->count_inside = o->m->count;
        o->nested_ok = pl_remutex_trylock(o->m);
        if (o->nested_ok)
            pl_remutex_unlock(o->m);
        atomic_store(&o->got, true);
        unsigned polls = 0;
        while (!atomic_load(&o->release))
            tu_backoff(&polls);
        pl_remutex_unlock(o->m);
    }
    atomic_store(&o->done, true);
    return NULL;
}

static void other_start(other_t *o, pl_remutex_t *m, int mode, uint64_t arg)
{
    memset(o, 0, sizeof *o);
    o->m = m;
    o->mode = mode;
    o->arg = arg;
    atomic_init(&o->got, false);
    atomic_init(&o->release, false);
    atomic_init(&o->done, false);
    tu_spawn(&o->thread, other_main, o);
}

static void other_finish(other_t *o)
{
    atomic_store(&o->release, true);
    tu_join(o->thread);
    ck_assert(atomic_load(&o->done));
}

/* Another thread's trylock and already-expired timed locks fail, and never block. */
static void expect_others_fail(pl_remutex_t *m)
{
    for (int mode = 0; mode < 3; mode++) {
        other_t o;
        other_start(&o, m, mode, 0);
        tu_join(o.thread);
        ck_assert_msg(!o.result, "mode %d took a mutex another thread holds", mode);
    }
}

enum { DEPTH = 1000 };

START_TEST(recursion_depth_n)
{
    pl_remutex_t m = PL_REMUTEX_INIT;
    for (uint32_t d = 1; d <= DEPTH; d++) {
        switch (d % 4) { /* every acquire flavour nests; expired deadlines too */
        case 0: pl_remutex_lock(&m); break;
        case 1: ck_assert(pl_remutex_trylock(&m)); break;
        case 2: ck_assert(pl_remutex_lock_until(&m, 0)); break;
        default: ck_assert(pl_remutex_lock_for(&m, 0)); break;
        }
        ck_assert_uint_eq(m.count, d);
    }
    ck_assert(pl_remutex_is_held(&m));
    expect_others_fail(&m);
    for (uint32_t d = DEPTH; d > 1; d--) {
        if (d % 2)
            pl_remutex_unlock(&m);
        else
            pl_remutex_unlock_fair(&m); /* not the last: no hand-off, nothing released */
        ck_assert_uint_eq(m.count, d - 1);
        ck_assert(pl_remutex_is_held(&m));
        ck_assert(pl_remutex_is_locked(&m));
    }
    expect_others_fail(&m);
    pl_remutex_unlock(&m);
    ck_assert(!pl_remutex_is_held(&m));
    ck_assert(!pl_remutex_is_locked(&m));
    ck_assert(all_zero(&m));

    /* Free again: another thread takes it, and recurses inside. */
    other_t o;
    other_start(&o, &m, 0, 0);
    tu_wait_flag(&o.got, "the other thread's trylock");
    ck_assert(o.result && o.held_inside && o.nested_ok);
    ck_assert_uint_eq(o.count_inside, 1);
    ck_assert(!pl_remutex_is_held(&m)); /* held, but not by this thread */
    ck_assert(pl_remutex_is_locked(&m));
    ck_assert(!pl_remutex_trylock(&m));
    ck_assert(!pl_remutex_lock_for(&m, 0));
    other_finish(&o);
    ck_assert(all_zero(&m));
}
END_TEST

START_TEST(depth_limit_exact)
{
    /* White-box: start just below the limit (see the file comment). */
    pl_remutex_t m = PL_REMUTEX_INIT;
    pl_remutex_lock(&m);
    m.count = PL_REMUTEX_MAX_DEPTH - 1;
    pl_remutex_lock(&m); /* the deepest allowed */
    ck_assert_uint_eq(m.count, PL_REMUTEX_MAX_DEPTH);
    pl_remutex_unlock(&m);
    ck_assert(pl_remutex_trylock(&m));
    ck_assert_uint_eq(m.count, PL_REMUTEX_MAX_DEPTH);
    pl_remutex_unlock(&m);
    pl_remutex_unlock(&m);
    ck_assert_uint_eq(m.count, PL_REMUTEX_MAX_DEPTH - 2);
    m.count = 1;
    pl_remutex_unlock(&m);
    ck_assert(all_zero(&m));
}
END_TEST

/* ---- Timed locking ---- */

enum { TIMEOUT_NS = 30 * TU_MS };

START_TEST(timed_lock_never_early)
{
    pl_remutex_t m = PL_REMUTEX_INIT;
    pl_remutex_lock(&m);
    pl_remutex_lock(&m);
    for (int mode = 1; mode < 3; mode++) {
        other_t o;
        uint64_t deadline = pl_now() + TIMEOUT_NS;
        other_start(&o, &m, mode, mode == 1 ? deadline : TIMEOUT_NS);
        tu_join(o.thread);
        ck_assert(!o.result);
        if (mode == 1)
            ck_assert_uint_ge(o.returned_at, deadline);
        else
            ck_assert_uint_ge(o.returned_at - o.started_at, TIMEOUT_NS);
    }
    /* The owner is never made to wait, whatever the deadline. */
    ck_assert(pl_remutex_lock_until(&m, 0));
    ck_assert(pl_remutex_lock_for(&m, 0));
    ck_assert_uint_eq(m.count, 4);
    for (int i = 0; i < 4; i++)
        pl_remutex_unlock(&m);
    ck_assert(all_zero(&m)); /* the timed-out waiters cleared the parked bit */
}
END_TEST

START_TEST(waiter_gets_it_after_last_unlock)
{
    pl_remutex_t m = PL_REMUTEX_INIT;
    for (int mode = 1; mode < 5; mode++) {
        for (int d = 0; d < 3; d++)
            pl_remutex_lock(&m);
        other_t o;
        int omode = mode == 4 ? 3 : mode; /* 1 until, 2 for, 3 lock (plain unlock), 4 lock (fair) */
        other_start(&o, &m, omode, omode == 1 ? pl_now() + TU_WAIT_NS : TU_WAIT_NS);
        tu_wait_queued(&m.mutex, 1);
        pl_remutex_unlock(&m);
        pl_remutex_unlock(&m);
        ck_assert_uint_eq(tu_queued(&m.mutex, NULL, 0), 1); /* nested unlocks release nothing */
        ck_assert(!atomic_load(&o.got));
        if (mode == 4) {
            pl_remutex_unlock_fair(&m);
            /* Handed off: the mutex never became free, so this thread cannot retake it. */
            ck_assert(pl_remutex_is_locked(&m));
            ck_assert(!pl_remutex_trylock(&m));
        } else {
            pl_remutex_unlock(&m);
        }
        ck_assert(!pl_remutex_is_held(&m));
        tu_wait_flag(&o.got, "the waiter");
        ck_assert(o.result && o.held_inside && o.nested_ok);
        ck_assert_uint_eq(o.count_inside, 1);
        other_finish(&o);
        ck_assert(all_zero(&m));
    }
}
END_TEST

/* ---- Exclusion with recursion, oversubscribed ---- */

enum { EXCL_ITERS = 20000 };

typedef struct excl {
    pl_remutex_t m;
    atomic_int inside;
    unsigned long counter; /* plain, guarded by m only */
    atomic_int started, total;
    atomic_size_t violations;
    atomic_size_t saw_parked;
} excl_t;

static bool acquire(pl_remutex_t *m, unsigned how)
{
    switch (how % 4) {
    case 0: pl_remutex_lock(m); return true;
    case 1: return pl_remutex_trylock(m);
    case 2: return pl_remutex_lock_for(m, 100000);
    default: return pl_remutex_lock_until(m, pl_now() + 10000);
    }
}

static void *excl_thread(void *arg)
{
    excl_t *e = arg;
    atomic_fetch_add(&e->started, 1);
    while (atomic_load(&e->started) < atomic_load(&e->total))
        sched_yield();
    for (unsigned i = 0; i < EXCL_ITERS; i++) {
        while (!acquire(&e->m, i)) {
            if (i % 4 == 1)
                sched_yield();
        }
        bool bad =
            atomic_fetch_add(&e->inside, 1) != 0 || !pl_remutex_is_held(&e->m) || e->m.count != 1;
        unsigned depth = i % 4;
        for (unsigned d = 0; d < depth; d++) /* nested: every flavour succeeds at once */
            bad |= !acquire(&e->m, i + d + 1) || e->m.count != d + 2;
        unsigned long c = e->counter;
        if ((i & 255) == 0)
            tu_sleep_ns(20000); /* hold it long enough that the others park */
        else if ((i & 3) == 0)
            sched_yield();
        if (__atomic_load_n(&e->m.mutex.state, __ATOMIC_RELAXED) & PL_MUTEX_PARKED_BIT)
            atomic_fetch_add(&e->saw_parked, 1);
        e->counter = c + 1;
        for (unsigned d = 0; d < depth; d++)
            pl_remutex_unlock(&e->m);
        bad |= atomic_load(&e->inside) != 1 || e->m.count != 1 || !pl_remutex_is_held(&e->m);
        if (bad)
            atomic_fetch_add(&e->violations, 1);
        atomic_fetch_sub(&e->inside, 1);
        if (i % 3 == 0)
            pl_remutex_unlock_fair(&e->m);
        else
            pl_remutex_unlock(&e->m);
    }
    return NULL;
}

START_TEST(exclusion_with_recursion)
{
    long n = tu_ncpu() * 4;
    excl_t *e = calloc(1, sizeof *e);
    pthread_t *t = calloc((size_t)n, sizeof *t);
    ck_assert(e && t);
    atomic_init(&e->total, (int)n);
    for (long i = 0; i < n; i++)
        tu_spawn(&t[i], excl_thread, e);
    for (long i = 0; i < n; i++)
        tu_join(t[i]);
    ck_assert_uint_eq(atomic_load(&e->violations), 0);
    ck_assert_uint_eq(e->counter, (unsigned long)n * EXCL_ITERS);
    ck_assert(all_zero(&e->m));
    ck_assert_msg(atomic_load(&e->saw_parked) > 0, "the parking paths never ran");
    free(e);
    free(t);
}
END_TEST

/* ---- Misuse: each of these must abort (SIGABRT, in Check's forked child) ---- */

START_TEST(abort_unlock_not_locked)
{
    pl_remutex_t m = PL_REMUTEX_INIT;
    if (_i == 0)
        pl_remutex_unlock(&m);
    else
        pl_remutex_unlock_fair(&m);
}
END_TEST

START_TEST(abort_unlock_once_too_often)
{
    pl_remutex_t m = PL_REMUTEX_INIT;
    pl_remutex_lock(&m);
    pl_remutex_lock(&m);
    pl_remutex_unlock(&m);
    pl_remutex_unlock(&m);
    pl_remutex_unlock(&m);
}
END_TEST

static void *unlock_thread(void *m)
{
    pl_remutex_unlock(m);
    return NULL;
}

START_TEST(abort_unlock_by_other_thread)
{
    static pl_remutex_t m; /* outlives this function: the process aborts in the thread */
    pl_remutex_lock(&m);
    pthread_t t;
    tu_spawn(&t, unlock_thread, &m);
    tu_join(t);
}
END_TEST

START_TEST(abort_depth_overflow)
{
    pl_remutex_t m = PL_REMUTEX_INIT;
    pl_remutex_lock(&m);
    m.count = PL_REMUTEX_MAX_DEPTH; /* white-box, see the file comment */
    switch (_i) {
    case 0: pl_remutex_lock(&m); break;
    case 1: (void)pl_remutex_trylock(&m); break;
    case 2: (void)pl_remutex_lock_until(&m, PL_FOREVER); break;
    default: (void)pl_remutex_lock_for(&m, 0); break;
    }
}
END_TEST

static void do_unlock(void *m) { pl_remutex_unlock(m); }

static void do_unlock_other(void *m)
{
    pl_remutex_lock(m);
    pthread_t t;
    tu_spawn(&t, unlock_thread, m);
    tu_join(t);
}

static void do_overflow(void *m)
{
    pl_remutex_lock(m);
    ((pl_remutex_t *)m)->count = PL_REMUTEX_MAX_DEPTH;
    (void)pl_remutex_trylock(m);
}

static pl_remutex_t misuse_m; /* the same address in the child after fork */

static const tu_misuse_t misuses[] = {
    {"unlock",
     do_unlock,
     &misuse_m,
     {&misuse_m},
     {"libparking: pl_remutex_unlock", "(%p)", "not locked"}},
    {"unlock_other",
     do_unlock_other,
     &misuse_m,
     {&misuse_m},
     {"pl_remutex_unlock", "(%p)", "does not hold"}},
    {"overflow",
     do_overflow,
     &misuse_m,
     {&misuse_m},
     {"pl_remutex_trylock", "(%p)", "recursion depth"}},
};

START_TEST(abort_messages) { tu_expect_misuse(&misuses[_i]); }
END_TEST

static Suite *remutex_suite(void)
{
    Suite *s = suite_create("remutex");

    TCase *tc = tu_tcase(s, "basics", 60);
    tcase_add_test(tc, layout_and_init);
    tcase_add_test(tc, thread_ids_distinct_and_stable);
    tcase_add_test(tc, recursion_depth_n);
    tcase_add_test(tc, depth_limit_exact);

    tc = tu_tcase(s, "timed", 60);
    tcase_add_test(tc, timed_lock_never_early);
    tcase_add_test(tc, waiter_gets_it_after_last_unlock);

    tc = tu_tcase(s, "exclusion", 120);
    tcase_add_test(tc, exclusion_with_recursion);

    tc = tu_tcase(s, "misuse", 60);
    tcase_add_loop_test_raise_signal(tc, abort_unlock_not_locked, SIGABRT, 0, 2);
    tcase_add_test_raise_signal(tc, abort_unlock_once_too_often, SIGABRT);
    tcase_add_test_raise_signal(tc, abort_unlock_by_other_thread, SIGABRT);
    tcase_add_loop_test_raise_signal(tc, abort_depth_overflow, SIGABRT, 0, 4);
    tcase_add_loop_test(tc, abort_messages, 0, TU_LEN(misuses));
    return s;
}

int main(void) { return tu_run_suite(remutex_suite()); }
