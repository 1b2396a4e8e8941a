/* Tests of pl_cond_t: include/parking/cond.h.
 *
 * Knowing that a waiter sleeps: a condition variable's waiters are queued in the parking lot
 * under the condition variable's address, and requeued ones under the mutex's address.
 * tu_queued() counts them with pl_unpark_filter and a filter that only returns PL_FILTER_SKIP,
 * so it wakes nobody; once a waiter is counted there, a signal (which takes the same bucket lock)
 * is guaranteed to find it.  No test sleeps to "let a thread block".
 *
 * Check runs each test in a forked child (CK_FORK, the default), which the abort tests need. */
#ifndef _GNU_SOURCE
#  define _GNU_SOURCE
#endif
#include "test_util.h"

#include <parking/cond.h>
#include <parking/mutex.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

/* Polls until at least n threads are queued on addr; fails the test after TU_WAIT_NS. */
/* The park token of condition waiters (src/lock_algorithm.h, pl_cond_waiter_token): the
 * complement of the mutex's waiter token (its lock and parked bits), by which the unlock knows a
 * requeued condition waiter from a thread waiting in pl_mutex_lock. */
#define COND_WAITER_TOKEN (~(uintptr_t)(PL_MUTEX_LOCKED_BIT | PL_MUTEX_PARKED_BIT))
/* The park token of a thread waiting in pl_mutex_lock: the lock and parked bits. */
#define MUTEX_WAITER_TOKEN ((uintptr_t)(PL_MUTEX_LOCKED_BIT | PL_MUTEX_PARKED_BIT))

/* Every thread queued on addr parked with the condition-waiter token; returns how many there
 * are. */
static size_t queued_with_mutex_token(const void *addr)
{
    uintptr_t tokens[256];
    size_t n = tu_queued(addr, tokens, 256);
    ck_assert_uint_le(n, 256);
    for (size_t i = 0; i < n; i++)
        ck_assert_uint_eq(tokens[i], COND_WAITER_TOKEN);
    return n;
}

/* ---- Layout and the no-waiter fast path ---- */

static pl_cond_t static_cond; /* zero-initialised: a valid condition variable */

START_TEST(layout_is_one_word)
{
    ck_assert_uint_eq(sizeof(pl_cond_t), sizeof(void *));
    pl_cond_t c = PL_COND_INIT;
    ck_assert_ptr_null(c.mutex);
    ck_assert_ptr_null(static_cond.mutex);
}
END_TEST

START_TEST(notify_without_waiters)
{
    pl_cond_t c = PL_COND_INIT;
    pl_mutex_t m = PL_MUTEX_INIT;
    ck_assert(!pl_cond_signal(&c));
    ck_assert_uint_eq(pl_cond_broadcast(&c), 0);
    ck_assert(!pl_cond_signal(&static_cond));
    ck_assert_uint_eq(pl_cond_broadcast(&static_cond), 0);
    pl_mutex_lock(&m);
    ck_assert(!pl_cond_signal(&c));
    ck_assert_uint_eq(pl_cond_broadcast(&c), 0);
    pl_mutex_unlock(&m);
    ck_assert_ptr_null(c.mutex);
    ck_assert_uint_eq(m.state, 0); /* no parked bit set for nothing */
}
END_TEST

/* ---- Timed waits ---- */

START_TEST(wait_until_times_out_not_before_deadline)
{
    pl_cond_t c = PL_COND_INIT;
    pl_mutex_t m = PL_MUTEX_INIT;
    pl_mutex_lock(&m);
    for (int i = 0; i < 5; i++) {
        uint64_t deadline = pl_now() + 10 * TU_MS;
        ck_assert(!pl_cond_wait_until(&c, &m, deadline));
        ck_assert_uint_ge(pl_now(), deadline);
        ck_assert(pl_mutex_is_locked(&m));
        ck_assert_ptr_null(c.mutex); /* the last waiter leaving resets the word */
    }
    uint64_t start = pl_now();
    ck_assert(!pl_cond_wait_for(&c, &m, 10 * TU_MS));
    ck_assert_uint_ge(pl_now() - start, 10 * TU_MS);
    ck_assert(pl_mutex_is_locked(&m));
    /* A deadline already past: still unlocks and relocks, and reports a time-out. */
    ck_assert(!pl_cond_wait_until(&c, &m, 0));
    ck_assert(!pl_cond_wait_for(&c, &m, 0));
    ck_assert(pl_mutex_is_locked(&m));
    ck_assert_ptr_null(c.mutex);
    pl_mutex_unlock(&m);
    ck_assert_uint_eq(m.state, 0);
}
END_TEST

typedef struct one_waiter {
    pl_cond_t *c;
    pl_mutex_t *m;
    uint64_t timeout; /* for wait_for; PL_FOREVER: plain wait */
    bool result;
    bool owned; /* the mutex was locked when the wait returned */
    int seen;   /* `value` read under the mutex right after the wait */
    int *value;
    atomic_bool hold; /* keep the mutex after the wait until this is set */
    atomic_bool returned;
} one_waiter_t;

static void *one_waiter_main(void *arg)
{
    one_waiter_t *w = arg;
    pl_mutex_lock(w->m);
    if (w->timeout == PL_FOREVER) {
        pl_cond_wait(w->c, w->m);
        w->result = true;
    } else {
        w->result = pl_cond_wait_for(w->c, w->m, w->timeout);
    }
    w->owned = pl_mutex_is_locked(w->m);
    w->seen = w->value ? *w->value : 0;
    atomic_store(&w->returned, true);
    while (atomic_load(&w->hold))
        sched_yield();
    pl_mutex_unlock(w->m);
    return NULL;
}

static bool waiter_returned(void *vw)
{
    one_waiter_t *w = vw;
    return atomic_load(&w->returned);
}

static void one_waiter_start(one_waiter_t *w, pl_cond_t *c, pl_mutex_t *m, uint64_t timeout,
                             int *value, pthread_t *t)
{
    memset(w, 0, sizeof *w);
    w->c = c;
    w->m = m;
    w->timeout = timeout;
    w->value = value;
    tu_spawn(t, one_waiter_main, w);
}

START_TEST(wait_for_huge_timeout_is_signalled)
{
    pl_cond_t c = PL_COND_INIT;
    pl_mutex_t m = PL_MUTEX_INIT;
    one_waiter_t w;
    pthread_t t;
    one_waiter_start(&w, &c, &m, UINT64_MAX - 1, NULL, &t); /* saturates to no deadline */
    tu_wait_queued(&c, 1);
    ck_assert(pl_cond_signal(&c));
    tu_join(t);
    ck_assert(w.result);
    ck_assert(w.owned);
}
END_TEST

/* ---- Requeue and hand-off ---- */

START_TEST(signal_under_mutex_requeues)
{
    pl_cond_t c = PL_COND_INIT;
    pl_mutex_t m = PL_MUTEX_INIT;
    int value = 0;
    one_waiter_t w;
    pthread_t t;
    one_waiter_start(&w, &c, &m, PL_FOREVER, &value, &t);
    tu_wait_queued(&c, 1);
    ck_assert_ptr_eq(c.mutex, &m);
    ck_assert_uint_eq(queued_with_mutex_token(&c), 1);

    pl_mutex_lock(&m);
    ck_assert(pl_cond_signal(&c));
    /* Not woken: moved onto the mutex's queue, with the parked bit set for our unlock. */
    ck_assert_uint_eq(tu_queued(&c, NULL, 0), 0);
    ck_assert_uint_eq(queued_with_mutex_token(&m), 1);
    ck_assert_uint_eq(m.state, PL_MUTEX_LOCKED_BIT | PL_MUTEX_PARKED_BIT);
    ck_assert_ptr_null(c.mutex);
    ck_assert(!atomic_load(&w.returned));
    value = 42; /* under the mutex: the waiter must see it */
    pl_mutex_unlock(&m);

    tu_join(t);
    ck_assert(w.result);
    ck_assert(w.owned);
    ck_assert_int_eq(w.seen, 42);
    ck_assert_uint_eq(m.state, 0);
}
END_TEST

/* Repeated: whether an ordinary unlock hands off depends on the bucket's fairness clock, but
 * pl_mutex_unlock_fair always does.  The waiter keeps the mutex after its wait until told, so
 * the mutex must never be seen free after unlock_fair. */
START_TEST(handoff_leaves_waiter_owning_mutex)
{
    for (int round = 0; round < 20; round++) {
        pl_cond_t c = PL_COND_INIT;
        pl_mutex_t m = PL_MUTEX_INIT;
        one_waiter_t w;
        pthread_t t;
        one_waiter_start(&w, &c, &m, PL_FOREVER, NULL, &t);
        atomic_store(&w.hold, true);
        tu_wait_queued(&c, 1);
        pl_mutex_lock(&m);
        ck_assert(pl_cond_signal(&c));
        ck_assert_uint_eq(queued_with_mutex_token(&m), 1);
        pl_mutex_unlock_fair(&m);
        bool held = pl_mutex_is_locked(&m); /* at once: the lock bit never dropped */
        bool returned = tu_wait_until(waiter_returned, &w);
        /* The waiter now sits inside its critical section: nobody else may get in. */
        bool barged = pl_mutex_trylock(&m);
        if (barged)
            pl_mutex_unlock(&m);
        atomic_store(&w.hold, false);
        tu_join(t);
        ck_assert(returned);
        ck_assert_msg(held && !barged, "round %d: mutex was free after a hand-off", round);
        ck_assert(w.result);
        ck_assert(w.owned);
        ck_assert_uint_eq(m.state, 0);
    }
}
END_TEST

/* A locker that records when it got the mutex. */
typedef struct locker {
    pl_mutex_t *m;
    atomic_bool done;
} locker_t;

static void *locker_main(void *arg)
{
    locker_t *l = arg;
    pl_mutex_lock(l->m);
    pl_mutex_unlock(l->m);
    atomic_store(&l->done, true);
    return NULL;
}

/* A plain unlock wakes a requeued condition waiter before it drops the lock bit (cond.c); the
 * waiter must then get the mutex by spinning even though the parked bit stays set for a locker
 * queued behind it, and that locker must still be woken by the waiter's own unlock. */
START_TEST(plain_unlock_wakes_requeued_waiter_before_lockers)
{
    for (int round = 0; round < 20; round++) {
        pl_cond_t c = PL_COND_INIT;
        pl_mutex_t m = PL_MUTEX_INIT;
        int value = 0;
        one_waiter_t w;
        pthread_t tw, tl;
        one_waiter_start(&w, &c, &m, PL_FOREVER, &value, &tw);
        tu_wait_queued(&c, 1);
        pl_mutex_lock(&m);
        ck_assert(pl_cond_signal(&c));
        locker_t l = {&m, false};
        tu_spawn(&tl, locker_main, &l);
        tu_wait_queued(&m, 2);
        /* FIFO on the mutex: the requeued waiter first, with its own token, then the locker. */
        uintptr_t tokens[2];
        ck_assert_uint_eq(tu_queued(&m, tokens, 2), 2);
        ck_assert_uint_eq(tokens[0], COND_WAITER_TOKEN);
        ck_assert_uint_eq(tokens[1], MUTEX_WAITER_TOKEN);
        value = 42;
        pl_mutex_unlock(&m);
        tu_join(tw);
        tu_join(tl);
        ck_assert(w.result && w.owned);
        ck_assert_int_eq(w.seen, 42);
        ck_assert(atomic_load(&l.done));
        ck_assert_uint_eq(m.state, 0);
    }
}
END_TEST

/* Signal under the mutex, then a plain unlock, on both sides of a hand-shake, while lockers
 * hammer the mutex: the unlock holds the lock bit across the wake of the requeued waiter and
 * drops it after (cond.c); any locker, or the woken waiter itself, that parks in between must
 * still be woken.  A lost wake-up hangs the test (Check's time-out). */
/* 5,000 rounds: on 2 cores the three spinning lockers make a round's time depend on the
 * scheduler, and under ThreadSanitizer or debug mode 20,000 rounds took 7 to 46 s. */
enum { EW_ROUNDS = 5000, EW_LOCKERS = 3 };

typedef struct ew {
    pl_mutex_t m;
    pl_cond_t ready_cond, done_cond;
    bool ready;      /* guarded by m */
    unsigned rounds; /* set before the threads start */
    size_t served;   /* guarded by m */
    size_t locked;   /* guarded by m: lockers' critical sections */
    atomic_bool stop;
} ew_t;

static void *ew_waiter(void *arg)
{
    ew_t *e = arg;
    for (unsigned i = 0; i < e->rounds; i++) {
        pl_mutex_lock(&e->m);
        while (!e->ready)
            pl_cond_wait(&e->ready_cond, &e->m);
        e->ready = false;
        e->served++;
        pl_cond_signal(&e->done_cond);
        pl_mutex_unlock(&e->m);
    }
    return NULL;
}

static void *ew_locker(void *arg)
{
    ew_t *e = arg;
    while (!atomic_load(&e->stop)) {
        pl_mutex_lock(&e->m);
        e->locked++;
        pl_mutex_unlock(&e->m);
    }
    return NULL;
}

START_TEST(plain_unlock_after_signal_loses_no_wakeup)
{
    ew_t *e = calloc(1, sizeof *e);
    ck_assert_ptr_nonnull(e);
    e->rounds = (unsigned)tu_scaled(EW_ROUNDS, 200); /* fewer under valgrind */
    pthread_t w, l[EW_LOCKERS];
    tu_spawn(&w, ew_waiter, e);
    for (int i = 0; i < EW_LOCKERS; i++)
        tu_spawn(&l[i], ew_locker, e);
    for (unsigned i = 0; i < e->rounds; i++) {
        pl_mutex_lock(&e->m);
        e->ready = true;
        pl_cond_signal(&e->ready_cond);
        /* Hold on for 0 to ~20 us: lockers spinning meanwhile use up their spin budget (about
         * 10 us) at scattered moments, some of them while the unlock below is waking. */
        uint64_t until = pl_now() + (uint64_t)((i * 2654435761u) >> 27) * 600;
        while (pl_now() < until) {
        }
        pl_mutex_unlock(&e->m);
        pl_mutex_lock(&e->m);
        while (e->ready)
            pl_cond_wait(&e->done_cond, &e->m);
        pl_mutex_unlock(&e->m);
    }
    atomic_store(&e->stop, true);
    tu_join(w);
    for (int i = 0; i < EW_LOCKERS; i++)
        tu_join(l[i]);
    ck_assert_uint_eq(e->served, e->rounds);
    ck_assert_uint_eq(e->m.state, 0);
    ck_assert_ptr_null(e->ready_cond.mutex);
    ck_assert_ptr_null(e->done_cond.mutex);
    free(e);
}
END_TEST

/* Signal, then wait on another condition variable (ping-pong): the waiter requeued by the signal
 * is woken by the unlock inside the signaller's wait, after the signaller is queued.  Every turn
 * must pass, with no wait returning early (no spurious wake-ups from the library). */
enum { PP_ROUNDS = 10000 };

typedef struct pp {
    pl_mutex_t m;
    pl_cond_t c[2];
    unsigned turn;     /* guarded by m */
    size_t violations; /* guarded by m */
} pp_t;

typedef struct pp_arg {
    pp_t *p;
    unsigned me;
} pp_arg_t;

static void *pp_main(void *arg)
{
    pp_arg_t *a = arg;
    pp_t *p = a->p;
    pl_mutex_lock(&p->m);
    for (unsigned i = 0; i < PP_ROUNDS; i++) {
        while (p->turn != a->me) {
            pl_cond_wait(&p->c[a->me], &p->m);
            if (p->turn != a->me) /* woken without its turn: a spurious or stray wake-up */
                p->violations++;
        }
        if (!pl_mutex_is_locked(&p->m))
            p->violations++;
        p->turn = 1 - a->me;
        pl_cond_signal(&p->c[1 - a->me]);
    }
    pl_mutex_unlock(&p->m);
    return NULL;
}

START_TEST(signal_then_wait_ping_pong)
{
    pp_t *p = calloc(1, sizeof *p);
    ck_assert_ptr_nonnull(p);
    pp_arg_t a[2] = {{p, 0}, {p, 1}};
    pthread_t t[2];
    tu_spawn(&t[0], pp_main, &a[0]);
    tu_spawn(&t[1], pp_main, &a[1]);
    tu_join(t[0]);
    tu_join(t[1]);
    ck_assert_uint_eq(p->violations, 0);
    ck_assert_uint_eq(p->turn, 0);
    ck_assert_ptr_null(p->c[0].mutex);
    ck_assert_ptr_null(p->c[1].mutex);
    ck_assert_uint_eq(p->m.state, 0);
    free(p);
}
END_TEST

/* ---- Signal wakes exactly one ---- */

enum { SIG_WAITERS = 8 };

typedef struct crowd {
    pl_cond_t c;
    pl_mutex_t m;
    bool go;              /* predicate, guarded by m */
    int inside;           /* threads between wait return and unlock: must be 1 (guarded) */
    size_t violations;    /* guarded by m */
    size_t saw_predicate; /* guarded by m */
    size_t woken;         /* guarded by m */
    atomic_size_t returned;
} crowd_t;

/* One wait, no loop: the library promises no spurious wake-ups. */
static void *single_wait_main(void *arg)
{
    crowd_t *k = arg;
    pl_mutex_lock(&k->m);
    pl_cond_wait(&k->c, &k->m);
    if (k->inside++ != 0 || !pl_mutex_is_locked(&k->m))
        k->violations++;
    k->woken++;
    k->inside--;
    pl_mutex_unlock(&k->m);
    atomic_fetch_add(&k->returned, 1);
    return NULL;
}

START_TEST(signal_wakes_exactly_one)
{
    crowd_t *k = calloc(1, sizeof *k);
    ck_assert_ptr_nonnull(k);
    pthread_t t[SIG_WAITERS];
    for (int i = 0; i < SIG_WAITERS; i++)
        tu_spawn(&t[i], single_wait_main, k);
    tu_wait_queued(&k->c, SIG_WAITERS);
    for (size_t n = 1; n <= SIG_WAITERS; n++) {
        /* Alternate the two paths: requeue (mutex held) and direct wake (mutex free). */
        bool hold = n % 2 == 0;
        if (hold)
            pl_mutex_lock(&k->m);
        ck_assert(pl_cond_signal(&k->c));
        ck_assert_uint_eq(tu_queued(&k->c, NULL, 0), SIG_WAITERS - n);
        if (hold)
            pl_mutex_unlock(&k->m);
        ck_assert(tu_wait_count(&k->returned, n));
        /* Exactly n returned: everybody else is still queued on the condition variable. */
        ck_assert_uint_eq(tu_queued(&k->c, NULL, 0), SIG_WAITERS - n);
        pl_mutex_lock(&k->m);
        ck_assert_uint_eq(k->woken, n);
        pl_mutex_unlock(&k->m);
        ck_assert_uint_eq(atomic_load(&k->returned), n);
    }
    ck_assert(!pl_cond_signal(&k->c));
    ck_assert_ptr_null(k->c.mutex);
    for (int i = 0; i < SIG_WAITERS; i++)
        tu_join(t[i]);
    ck_assert_uint_eq(k->violations, 0);
    ck_assert_uint_eq(k->m.state, 0);
    free(k);
}
END_TEST

/* ---- Broadcast ---- */

enum { BCAST_WAITERS = 64 };

static void *predicate_wait_main(void *arg)
{
    crowd_t *k = arg;
    pl_mutex_lock(&k->m);
    while (!k->go)
        pl_cond_wait(&k->c, &k->m);
    if (k->inside++ != 0 || !pl_mutex_is_locked(&k->m))
        k->violations++;
    if (k->go)
        k->saw_predicate++;
    k->woken++;
    sched_yield(); /* let others try to get in while we hold the mutex */
    k->inside--;
    pl_mutex_unlock(&k->m);
    atomic_fetch_add(&k->returned, 1);
    return NULL;
}

static void run_broadcast(bool hold_mutex)
{
    crowd_t *k = calloc(1, sizeof *k);
    ck_assert_ptr_nonnull(k);
    pthread_t t[BCAST_WAITERS];
    for (int i = 0; i < BCAST_WAITERS; i++)
        tu_spawn(&t[i], predicate_wait_main, k);
    tu_wait_queued(&k->c, BCAST_WAITERS);
    ck_assert_uint_eq(queued_with_mutex_token(&k->c), BCAST_WAITERS);

    size_t n;
    if (hold_mutex) {
        pl_mutex_lock(&k->m);
        k->go = true;
        n = pl_cond_broadcast(&k->c);
        /* All moved to the mutex, to be let in one unlock at a time, except the first two, woken
         * ahead of the others (cond.c): they spin for the mutex, which we hold, then queue on
         * it as lockers.  Nobody gets in while we hold it. */
        ck_assert_uint_eq(tu_queued(&k->c, NULL, 0), 0);
        tu_wait_queued(&k->m, BCAST_WAITERS);
        uintptr_t tokens[BCAST_WAITERS];
        ck_assert_uint_eq(tu_queued(&k->m, tokens, BCAST_WAITERS), BCAST_WAITERS);
        size_t requeued = 0;
        for (size_t i = 0; i < BCAST_WAITERS; i++) {
            ck_assert(tokens[i] == COND_WAITER_TOKEN || tokens[i] == MUTEX_WAITER_TOKEN);
            requeued += tokens[i] == COND_WAITER_TOKEN;
        }
        ck_assert_uint_ge(requeued, BCAST_WAITERS - 2);
        ck_assert_uint_eq(k->m.state, PL_MUTEX_LOCKED_BIT | PL_MUTEX_PARKED_BIT);
        ck_assert_uint_eq(atomic_load(&k->returned), 0);
        pl_mutex_unlock(&k->m);
    } else {
        pl_mutex_lock(&k->m);
        k->go = true;
        pl_mutex_unlock(&k->m);
        /* Mutex free: the oldest is woken and the rest moved behind it onto the mutex, whose
         * parked bit must be set so that the chain of unlocks reaches all of them. */
        n = pl_cond_broadcast(&k->c);
        ck_assert_uint_eq(tu_queued(&k->c, NULL, 0), 0);
    }
    ck_assert_uint_eq(n, BCAST_WAITERS);
    ck_assert_ptr_null(k->c.mutex);
    ck_assert(tu_wait_count(&k->returned, BCAST_WAITERS));
    for (int i = 0; i < BCAST_WAITERS; i++)
        tu_join(t[i]);
    ck_assert_uint_eq(k->woken, BCAST_WAITERS);
    ck_assert_uint_eq(k->saw_predicate, BCAST_WAITERS);
    ck_assert_uint_eq(k->violations, 0);
    ck_assert_uint_eq(k->m.state, 0);
    ck_assert_uint_eq(pl_cond_broadcast(&k->c), 0);
    free(k);
}

START_TEST(broadcast_under_mutex_wakes_all) { run_broadcast(true); }
END_TEST

START_TEST(broadcast_without_mutex_wakes_all) { run_broadcast(false); }
END_TEST

/* ---- Time-outs racing with signals ---- */

enum { RACE_WAITERS = 4, RACE_SIGNALLERS = 2, RACE_ITERS = 20000 };

typedef struct race {
    pl_cond_t c;
    pl_mutex_t m;
    atomic_size_t waiters_left;
    atomic_size_t consumed; /* waits that returned true */
    atomic_size_t timeouts;
    atomic_size_t sent; /* signals that returned true */
    atomic_size_t violations;
} race_t;

static void *race_waiter(void *arg)
{
    race_t *r = arg;
    for (unsigned i = 0; i < RACE_ITERS; i++) {
        pl_mutex_lock(&r->m);
        /* Timeouts from 0 to ~30 us: many expire just as a signal arrives. */
        bool ok = pl_cond_wait_for(&r->c, &r->m, (uint64_t)(i % 16) * 2000);
        if (!pl_mutex_is_locked(&r->m))
            atomic_fetch_add(&r->violations, 1);
        pl_mutex_unlock(&r->m);
        atomic_fetch_add(ok ? &r->consumed : &r->timeouts, 1);
    }
    atomic_fetch_sub(&r->waiters_left, 1);
    return NULL;
}

static void *race_signaller(void *arg)
{
    race_t *r = arg;
    for (unsigned i = 0; atomic_load(&r->waiters_left) > 0; i++) {
        /* Both paths: a held mutex requeues (and the waiter may then time out on the mutex's
         * queue, which must still count as signalled); a free one wakes directly. */
        bool hold = (i & 1) != 0;
        if (hold)
            pl_mutex_lock(&r->m);
        if (pl_cond_signal(&r->c))
            atomic_fetch_add(&r->sent, 1);
        if (hold)
            pl_mutex_unlock(&r->m);
        /* Pause 0 to ~20 us between signals so that both outcomes stay frequent. */
        uint64_t until = pl_now() + (uint64_t)((i * 2654435761u) >> 27) * 700;
        while (pl_now() < until)
            sched_yield();
    }
    return NULL;
}

/* Invariant: each signal that returns true chose exactly one waiter, and that waiter's wait
 * returns true; a waiter that timed out had left the queue before any signal could choose it.
 * So, once everybody is done, signals that returned true == waits that returned true.  A signal
 * lost in a time-out race breaks the equality one way, a spurious wake-up the other. */
START_TEST(timeout_does_not_lose_signal)
{
    race_t *r = calloc(1, sizeof *r);
    ck_assert_ptr_nonnull(r);
    atomic_store(&r->waiters_left, RACE_WAITERS);
    pthread_t w[RACE_WAITERS], s[RACE_SIGNALLERS];
    for (int i = 0; i < RACE_WAITERS; i++)
        tu_spawn(&w[i], race_waiter, r);
    for (int i = 0; i < RACE_SIGNALLERS; i++)
        tu_spawn(&s[i], race_signaller, r);
    for (int i = 0; i < RACE_WAITERS; i++)
        tu_join(w[i]);
    for (int i = 0; i < RACE_SIGNALLERS; i++)
        tu_join(s[i]);
    size_t consumed = atomic_load(&r->consumed), sent = atomic_load(&r->sent);
    ck_assert_uint_eq(consumed + atomic_load(&r->timeouts), (size_t)RACE_WAITERS * RACE_ITERS);
    ck_assert_msg(sent == consumed, "signals that chose a waiter: %zu, waits signalled: %zu", sent,
                  consumed);
    ck_assert_uint_gt(consumed, 0);
    ck_assert_uint_eq(atomic_load(&r->violations), 0);
    ck_assert_ptr_null(r->c.mutex);
    ck_assert(!pl_cond_signal(&r->c));
    ck_assert_uint_eq(r->m.state, 0);
    free(r);
}
END_TEST

/* ---- Producer / consumer ---- */

enum { PC_CAP = 8, PC_PER_PRODUCER = 5000 };

typedef struct pc {
    pl_mutex_t m;
    pl_cond_t not_empty, not_full;
    unsigned buf[PC_CAP];
    size_t head, count;     /* guarded by m */
    size_t producers_left;  /* guarded by m */
    int inside;             /* guarded by m */
    size_t violations;      /* guarded by m */
    unsigned char *seen;    /* seen[id]: times item id was consumed (guarded by m) */
    unsigned next_producer; /* guarded by m */
} pc_t;

static void *producer_main(void *arg)
{
    pc_t *q = arg;
    pl_mutex_lock(&q->m);
    unsigned me = q->next_producer++;
    pl_mutex_unlock(&q->m);
    for (unsigned i = 0; i < PC_PER_PRODUCER; i++) {
        pl_mutex_lock(&q->m);
        while (q->count == PC_CAP)
            pl_cond_wait(&q->not_full, &q->m);
        if (q->inside++ != 0)
            q->violations++;
        q->buf[(q->head + q->count) % PC_CAP] = me * PC_PER_PRODUCER + i;
        q->count++;
        q->inside--;
        /* Signal while holding the mutex: exercises the requeue path. */
        pl_cond_signal(&q->not_empty);
        pl_mutex_unlock(&q->m);
    }
    pl_mutex_lock(&q->m);
    if (--q->producers_left == 0)
        pl_cond_broadcast(&q->not_empty); /* consumers waiting on an empty queue: finish */
    pl_mutex_unlock(&q->m);
    return NULL;
}

static void *consumer_main(void *arg)
{
    pc_t *q = arg;
    for (;;) {
        pl_mutex_lock(&q->m);
        while (q->count == 0 && q->producers_left > 0)
            pl_cond_wait(&q->not_empty, &q->m);
        if (q->count == 0) {
            pl_mutex_unlock(&q->m);
            return NULL;
        }
        if (q->inside++ != 0)
            q->violations++;
        unsigned id = q->buf[q->head];
        q->head = (q->head + 1) % PC_CAP;
        q->count--;
        q->seen[id]++;
        q->inside--;
        pl_mutex_unlock(&q->m);
        /* Signal after unlocking: exercises the direct-wake path. */
        pl_cond_signal(&q->not_full);
    }
}

START_TEST(producer_consumer_loses_nothing)
{
    size_t n = (size_t)tu_ncpu() * 4; /* oversubscribed: n producers and n consumers */
    pc_t *q = calloc(1, sizeof *q);
    ck_assert_ptr_nonnull(q);
    size_t total = n * PC_PER_PRODUCER;
    q->seen = calloc(total, 1);
    ck_assert_ptr_nonnull(q->seen);
    q->producers_left = n;
    pthread_t *t = calloc(2 * n, sizeof *t);
    ck_assert_ptr_nonnull(t);
    for (size_t i = 0; i < n; i++) {
        tu_spawn(&t[2 * i], consumer_main, q);
        tu_spawn(&t[2 * i + 1], producer_main, q);
    }
    for (size_t i = 0; i < 2 * n; i++)
        tu_join(t[i]);
    ck_assert_uint_eq(q->violations, 0);
    ck_assert_uint_eq(q->count, 0);
    for (size_t id = 0; id < total; id++)
        ck_assert_msg(q->seen[id] == 1, "item %zu consumed %u times", id, q->seen[id]);
    ck_assert_ptr_null(q->not_empty.mutex);
    ck_assert_ptr_null(q->not_full.mutex);
    ck_assert_uint_eq(q->m.state, 0);
    free(t);
    free(q->seen);
    free(q);
}
END_TEST

/* ---- Switching mutexes, and misuse ---- */

START_TEST(reusable_with_another_mutex_after_last_waiter)
{
    pl_cond_t c = PL_COND_INIT;
    pl_mutex_t m1 = PL_MUTEX_INIT, m2 = PL_MUTEX_INIT;
    /* Last waiter left by time-out. */
    pl_mutex_lock(&m1);
    ck_assert(!pl_cond_wait_for(&c, &m1, 1000));
    pl_mutex_unlock(&m1);
    ck_assert_ptr_null(c.mutex);
    /* Last waiter left by signal. */
    one_waiter_t w;
    pthread_t t;
    one_waiter_start(&w, &c, &m2, PL_FOREVER, NULL, &t);
    tu_wait_queued(&c, 1);
    ck_assert_ptr_eq(c.mutex, &m2);
    ck_assert(pl_cond_signal(&c));
    tu_join(t);
    ck_assert(w.result && w.owned);
    ck_assert_ptr_null(c.mutex);
    /* And by broadcast, back with the first mutex. */
    one_waiter_start(&w, &c, &m1, PL_FOREVER, NULL, &t);
    tu_wait_queued(&c, 1);
    ck_assert_ptr_eq(c.mutex, &m1);
    ck_assert_uint_eq(pl_cond_broadcast(&c), 1);
    tu_join(t);
    ck_assert(w.result && w.owned);
    ck_assert_ptr_null(c.mutex);
}
END_TEST

static pl_cond_t two_c;
static pl_mutex_t two_m1, two_m2;

/* Leaves a thread waiting on two_c with two_m1, then waits on it with two_m2. */
static void wait_with_second_mutex(void)
{
    static one_waiter_t w;
    pthread_t t;
    one_waiter_start(&w, &two_c, &two_m1, PL_FOREVER, NULL, &t);
    tu_wait_queued(&two_c, 1);
    pl_mutex_lock(&two_m2);
    pl_cond_wait(&two_c, &two_m2);
}

START_TEST(two_mutexes_at_once_abort) { wait_with_second_mutex(); }
END_TEST

static void second_mutex_wait(void *unused)
{
    (void)unused;
    wait_with_second_mutex();
}

START_TEST(wait_with_unlocked_mutex_aborts)
{
    pl_cond_t c = PL_COND_INIT;
    pl_mutex_t m = PL_MUTEX_INIT;
    (void)pl_cond_wait_for(&c, &m, TU_S);
}
END_TEST

static pl_cond_t unlocked_c; /* same addresses in the child after fork */
static pl_mutex_t unlocked_m;

static void wait_unlocked(void *arg)
{
    (void)arg;
    pl_cond_wait(&unlocked_c, &unlocked_m);
}
static void wait_until_unlocked(void *arg)
{
    (void)arg;
    (void)pl_cond_wait_until(&unlocked_c, &unlocked_m, PL_FOREVER);
}
static void wait_for_unlocked(void *arg)
{
    (void)arg;
    (void)pl_cond_wait_for(&unlocked_c, &unlocked_m, TU_S);
}

static const tu_misuse_t misuses[] = {
    {"two_mutexes", second_mutex_wait, NULL, {&two_c}, {"pl_cond_wait", "%p", "two mutexes"}},
    {"wait_unlocked",
     wait_unlocked,
     NULL,
     {&unlocked_c, &unlocked_m},
     {"libparking: pl_cond_wait(%p): mutex %p is not locked by the caller"}},
    {"wait_until_unlocked",
     wait_until_unlocked,
     NULL,
     {&unlocked_c, &unlocked_m},
     {"libparking: pl_cond_wait_until(%p): mutex %p is not locked by the caller"}},
    {"wait_for_unlocked",
     wait_for_unlocked,
     NULL,
     {&unlocked_c, &unlocked_m},
     {"libparking: pl_cond_wait_for(%p): mutex %p is not locked by the caller"}},
};

START_TEST(misuse_messages) { tu_expect_misuse(&misuses[_i]); }
END_TEST

/* ---- Suite ---- */

static Suite *cond_suite(void)
{
    Suite *s = suite_create("cond");
    TCase *tc = tu_tcase(s, "basic", 10);
    tcase_add_test(tc, layout_is_one_word);
    tcase_add_test(tc, notify_without_waiters);

    tc = tu_tcase(s, "timed", 30);
    tcase_add_test(tc, wait_until_times_out_not_before_deadline);
    tcase_add_test(tc, wait_for_huge_timeout_is_signalled);

    tc = tu_tcase(s, "requeue", 30);
    tcase_add_test(tc, signal_under_mutex_requeues);
    tcase_add_test(tc, handoff_leaves_waiter_owning_mutex);
    tcase_add_test(tc, plain_unlock_wakes_requeued_waiter_before_lockers);
    tcase_add_test(tc, signal_then_wait_ping_pong);
    tcase_add_test(tc, signal_wakes_exactly_one);
    tcase_add_test(tc, broadcast_under_mutex_wakes_all);
    tcase_add_test(tc, broadcast_without_mutex_wakes_all);
    tcase_add_test(tc, reusable_with_another_mutex_after_last_waiter);

    tc = tu_tcase(s, "contended", 120);
    tcase_add_test(tc, plain_unlock_after_signal_loses_no_wakeup);
    tcase_add_test(tc, timeout_does_not_lose_signal);
    tcase_add_test(tc, producer_consumer_loses_nothing);

    tc = tu_tcase(s, "misuse", 30);
    tcase_add_test_raise_signal(tc, two_mutexes_at_once_abort, SIGABRT);
    tcase_add_test_raise_signal(tc, wait_with_unlocked_mutex_aborts, SIGABRT);
    tcase_add_loop_test(tc, misuse_messages, 0, TU_LEN(misuses));
    return s;
}

int main(void) { return tu_run_suite(cond_suite()); }
