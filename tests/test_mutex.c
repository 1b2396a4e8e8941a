/* Tests of pl_mutex_t: include/parking/mutex.h.
 *
 * Check runs each test in a forked child (CK_FORK, the default), which the abort tests need. */
#include "test_util.h"

#include <parking/mutex.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

/* Waits until some thread is queued on the mutex.  pl_mutex parks on its own address (the key
 * lot.h describes as "the lock"); unlike the parked bit, which is set before the waiter is
 * queued, being seen in the queue proves that an unlock's pl_unpark_one will find it. */
static bool mutex_has_waiter(void *m) { return tu_queued(m, NULL, 0) > 0; }

/* ---- Layout and initialisation ---- */

static pl_mutex_t static_mutex; /* zero-initialised: must be a valid unlocked mutex */

START_TEST(layout_is_one_byte)
{
    ck_assert_uint_eq(sizeof(pl_mutex_t), 1);
    ck_assert_uint_eq(_Alignof(pl_mutex_t), 1);
    typedef struct {
        pl_mutex_t a, b, c;
    } three_t;
    ck_assert_uint_eq(sizeof(three_t), 3);
}
END_TEST

START_TEST(init_lock_unlock)
{
    pl_mutex_t m = PL_MUTEX_INIT;
    pl_mutex_t *ms[2] = {&m, &static_mutex};
    for (int i = 0; i < 2; i++) {
        ck_assert_uint_eq(ms[i]->state, 0);
        ck_assert(!pl_mutex_is_locked(ms[i]));
        pl_mutex_lock(ms[i]);
        ck_assert(pl_mutex_is_locked(ms[i]));
        pl_mutex_unlock(ms[i]);
        ck_assert(!pl_mutex_is_locked(ms[i]));
        ck_assert_uint_eq(ms[i]->state, 0); /* uncontended: back to all-zero bytes */
    }
}
END_TEST

static void *trylock_thread(void *m) { return pl_mutex_trylock(m) ? (void *)1 : NULL; }

START_TEST(trylock_fails_when_held)
{
    pl_mutex_t m = PL_MUTEX_INIT;
    ck_assert(pl_mutex_trylock(&m));
    ck_assert(pl_mutex_is_locked(&m));
    ck_assert(!pl_mutex_trylock(&m)); /* the owner too: not recursive, and never blocks */
    pthread_t t;
    void *got = (void *)1;
    tu_spawn(&t, trylock_thread, &m);
    ck_assert_int_eq(pthread_join(t, &got), 0);
    ck_assert_ptr_null(got);
    pl_mutex_unlock(&m);
    tu_spawn(&t, trylock_thread, &m);
    ck_assert_int_eq(pthread_join(t, &got), 0);
    ck_assert_ptr_nonnull(got); /* taken by the other thread, which exited holding it */
    ck_assert(pl_mutex_is_locked(&m));
    /* Left locked: a pl_mutex_t needs no destroy, and an unlock here would be by a thread that
     * does not own it, which debug mode rightly reports (parking/debug.h). */
}
END_TEST

START_TEST(trylock_takes_free_mutex_with_parked_bit)
{
    /* "Takes m if it is free (even if threads are parked on it)": a parked bit left set with
     * nobody parked is a state the lock can be in; trylock and lock_until(past) must take it. */
    pl_mutex_t m = {PL_MUTEX_PARKED_BIT};
    ck_assert(pl_mutex_trylock(&m));
    ck_assert(pl_mutex_is_locked(&m));
    pl_mutex_unlock(&m); /* slow path: finds nobody and clears the bit */
    ck_assert_uint_eq(m.state, 0);

    m.state = PL_MUTEX_PARKED_BIT;
    ck_assert(pl_mutex_lock_until(&m, 0));
    ck_assert(pl_mutex_is_locked(&m));
    pl_mutex_unlock(&m);
    ck_assert_uint_eq(m.state, 0);
}
END_TEST

/* ---- Mutual exclusion ---- */

enum { EXCL_ITERS = 20000 };

typedef struct excl {
    pl_mutex_t m;
    bool mixed;        /* use every lock and unlock flavour, not just lock/unlock */
    atomic_int inside; /* threads inside the critical section: must be 1 there */
    atomic_size_t violations;
    unsigned long counter; /* plain, guarded by m only */
} excl_t;

static void excl_lock(excl_t *e, unsigned i)
{
    if (!e->mixed) {
        pl_mutex_lock(&e->m);
        return;
    }
    switch (i % 4) {
    case 0: pl_mutex_lock(&e->m); break;
    case 1:
        while (!pl_mutex_trylock(&e->m))
            sched_yield();
        break;
    case 2:
        while (!pl_mutex_lock_for(&e->m, 100000)) {
        }
        break;
    default:
        while (!pl_mutex_lock_until(&e->m, pl_now() + 10000)) {
        }
        break;
    }
}

static void *excl_thread(void *arg)
{
    excl_t *e = arg;
    for (unsigned i = 0; i < EXCL_ITERS; i++) {
        excl_lock(e, i);
        if (atomic_fetch_add(&e->inside, 1) != 0 || !pl_mutex_is_locked(&e->m))
            atomic_fetch_add(&e->violations, 1);
        unsigned long c = e->counter; /* a torn read-modify-write shows as a lost update */
        if ((i & 7) == 0)
            sched_yield(); /* sometimes get preempted while holding the lock */
        e->counter = c + 1;
        atomic_fetch_sub(&e->inside, 1);
        if (e->mixed && i % 3 == 0)
            pl_mutex_unlock_fair(&e->m);
        else
            pl_mutex_unlock(&e->m);
    }
    return NULL;
}

static void run_exclusion(bool mixed)
{
    long n = tu_ncpu() * 4;
    excl_t *e = calloc(1, sizeof *e);
    pthread_t *t = calloc((size_t)n, sizeof *t);
    ck_assert(e && t);
    e->mixed = mixed;
    for (long i = 0; i < n; i++)
        tu_spawn(&t[i], excl_thread, e);
    for (long i = 0; i < n; i++)
        tu_join(t[i]);
    ck_assert_uint_eq(atomic_load(&e->violations), 0);
    ck_assert_uint_eq(e->counter, (unsigned long)n * EXCL_ITERS);
    ck_assert(!pl_mutex_is_locked(&e->m));
    ck_assert_uint_eq(e->m.state, 0); /* nobody left parked, bit cleared */
    free(e);
    free(t);
}

START_TEST(exclusion_lock_unlock) { run_exclusion(false); }
END_TEST

START_TEST(exclusion_mixed_api) { run_exclusion(true); }
END_TEST

/* ---- Timed locking ---- */

typedef struct timed {
    pl_mutex_t *m;
    uint64_t deadline; /* for lock_until */
    uint64_t timeout;  /* for lock_for, when deadline is 0 */
    bool use_for;
    bool result;
    uint64_t returned_at;
    atomic_bool done;
} timed_t;

static void *timed_thread(void *arg)
{
    timed_t *t = arg;
    t->result =
        t->use_for ? pl_mutex_lock_for(t->m, t->timeout) : pl_mutex_lock_until(t->m, t->deadline);
    t->returned_at = pl_now();
    if (t->result)
        pl_mutex_unlock(t->m);
    atomic_store(&t->done, true);
    return NULL;
}

/* The timed locker is queued on the mutex, or it already returned (a bug the caller reports). */
static bool waiting_or_done(void *arg)
{
    timed_t *t = arg;
    return atomic_load(&t->done) || mutex_has_waiter(t->m);
}

START_TEST(lock_until_times_out_not_before_deadline)
{
    pl_mutex_t m = PL_MUTEX_INIT;
    pl_mutex_lock(&m);
    uint64_t timeouts[] = {0, 1, 100000, TU_MS, 10 * TU_MS, 50 * TU_MS};
    for (size_t i = 0; i < sizeof timeouts / sizeof timeouts[0]; i++) {
        uint64_t start = pl_now();
        timed_t t = {.m = &m, .deadline = timeouts[i] ? start + timeouts[i] : 0};
        pthread_t th;
        tu_spawn(&th, timed_thread, &t);
        tu_join(th);
        ck_assert(!t.result);
        ck_assert_msg(t.returned_at >= t.deadline, "returned false %llu ns before the deadline",
                      (unsigned long long)(t.deadline - t.returned_at));
        /* and not much later */
        ck_assert_uint_lt(t.returned_at - (t.deadline ? t.deadline : start), 5 * TU_S);
        /* The last waiter leaving on time-out clears the parked bit (a hint that may err
         * towards "set", but a stale one would send every later unlock down the slow path). */
        ck_assert_uint_eq(m.state, PL_MUTEX_LOCKED_BIT);
    }
    /* Time-outs must leave no stale waiter behind: the unlock makes the mutex all-zero. */
    pl_mutex_unlock(&m);
    ck_assert_uint_eq(m.state, 0);
}
END_TEST

START_TEST(lock_until_succeeds_when_freed_before_deadline)
{
    pl_mutex_t m = PL_MUTEX_INIT;
    pl_mutex_lock(&m);
    timed_t t = {.m = &m, .deadline = pl_now() + 60 * TU_S};
    pthread_t th;
    tu_spawn(&th, timed_thread, &t);
    ck_assert(tu_wait_until(waiting_or_done, &t));
    ck_assert(!atomic_load(&t.done));
    pl_mutex_unlock(&m);
    tu_join(th);
    ck_assert(t.result);
    ck_assert_uint_lt(t.returned_at, t.deadline);
    ck_assert_uint_eq(m.state, 0);
}
END_TEST

START_TEST(past_deadline_takes_free_mutex)
{
    pl_mutex_t m = PL_MUTEX_INIT;
    ck_assert(pl_mutex_lock_until(&m, 0));
    ck_assert(pl_mutex_is_locked(&m));
    ck_assert(!pl_mutex_lock_until(&m, 0)); /* held: a past deadline fails at once */
    ck_assert(!pl_mutex_lock_for(&m, 0));
    pl_mutex_unlock(&m);
    ck_assert(pl_mutex_lock_for(&m, 0));
    pl_mutex_unlock(&m);
}
END_TEST

START_TEST(lock_for_huge_timeout_acts_like_lock)
{
    /* If now + timeout overflowed, the deadline would be in the past and lock_for would fail
     * at once instead of waiting for the unlock. */
    uint64_t timeouts[] = {UINT64_MAX, UINT64_MAX - 1, UINT64_MAX / 2 + 1};
    for (size_t i = 0; i < 3; i++) {
        pl_mutex_t m = PL_MUTEX_INIT;
        pl_mutex_lock(&m);
        timed_t t = {.m = &m, .use_for = true, .timeout = timeouts[i]};
        pthread_t th;
        tu_spawn(&th, timed_thread, &t);
        ck_assert(tu_wait_until(waiting_or_done, &t));
        ck_assert_msg(!atomic_load(&t.done), "lock_for(%llu) returned %d without waiting",
                      (unsigned long long)timeouts[i], t.result);
        pl_mutex_unlock(&m);
        tu_join(th);
        ck_assert(t.result);
    }
}
END_TEST

/* ---- Fair unlock ---- */

typedef struct handoff {
    pl_mutex_t m;
    atomic_bool got, checked;
} handoff_t;

static void *handoff_waiter(void *arg)
{
    handoff_t *h = arg;
    pl_mutex_lock(&h->m);
    atomic_store(&h->got, true);
    /* Hold the lock until the unlocker has tried to take it back. */
    unsigned polls = 0;
    while (!atomic_load(&h->checked))
        tu_backoff(&polls);
    pl_mutex_unlock(&h->m);
    return NULL;
}

/* Repeated: an ordinary unlock also hands off when the bucket's fairness deadline has passed
 * (always the case for the first unlock on a fresh bucket), so a single round could pass even if
 * unlock_fair did not hand off; back-to-back rounds mostly fall within the 1 ms window. */
START_TEST(unlock_fair_hands_off)
{
    for (int round = 0; round < 20; round++) {
        handoff_t h = {PL_MUTEX_INIT, false, false};
        pl_mutex_lock(&h.m);
        pthread_t th;
        tu_spawn(&th, handoff_waiter, &h);
        tu_wait_queued(&h.m, 1);
        pl_mutex_unlock_fair(&h.m);
        bool barged = pl_mutex_trylock(&h.m); /* must fail: the lock belongs to the waiter */
        bool locked = barged || pl_mutex_is_locked(&h.m);
        if (barged)
            pl_mutex_unlock(&h.m); /* let the waiter finish before failing */
        atomic_store(&h.checked, true);
        tu_join(th);
        ck_assert_msg(!barged, "round %d: unlock_fair left the mutex free to the unlocker", round);
        ck_assert(locked);
        ck_assert(atomic_load(&h.got));
        ck_assert_uint_eq(h.m.state, 0);
    }
}
END_TEST

START_TEST(unlock_fair_without_waiter)
{
    pl_mutex_t m = PL_MUTEX_INIT;
    pl_mutex_lock(&m);
    pl_mutex_unlock_fair(&m);
    ck_assert_uint_eq(m.state, 0);
    ck_assert(pl_mutex_trylock(&m));
    pl_mutex_unlock(&m);
}
END_TEST

/* Eventual fairness: a thread that relocks in a tight loop cannot starve a waiter, because at
 * least about once per millisecond an unlock hands the lock to the oldest waiter. */
static void *starved_waiter(void *arg)
{
    handoff_t *h = arg;
    pl_mutex_lock(&h->m);
    atomic_store(&h->got, true);
    pl_mutex_unlock(&h->m);
    return NULL;
}

START_TEST(no_starvation)
{
    handoff_t h = {PL_MUTEX_INIT, false, false};
    pl_mutex_lock(&h.m);
    pthread_t th;
    tu_spawn(&th, starved_waiter, &h);
    tu_wait_queued(&h.m, 1);
    uint64_t deadline = pl_now() + 10 * TU_S;
    unsigned long rounds = 0;
    while (!atomic_load(&h.got) && pl_now() < deadline) {
        pl_mutex_unlock(&h.m);
        pl_mutex_lock(&h.m);
        rounds++;
    }
    pl_mutex_unlock(&h.m);
    tu_join(th);
    ck_assert_msg(atomic_load(&h.got), "waiter starved for 10 s (%lu rounds)", rounds);
}
END_TEST

/* ---- Misuse aborts ---- */

static pl_mutex_t misuse_m; /* unlocked; the same address in the child after fork */

static void unlock_unlocked(void *m) { pl_mutex_unlock(m); }
static void unlock_fair_unlocked(void *m) { pl_mutex_unlock_fair(m); }

static const tu_misuse_t misuses[] = {
    {"unlock",
     unlock_unlocked,
     &misuse_m,
     {&misuse_m},
     {"libparking: pl_mutex_unlock(%p): unlock of a lock that is not locked"}},
    {"unlock_fair",
     unlock_fair_unlocked,
     &misuse_m,
     {&misuse_m},
     {"libparking: pl_mutex_unlock_fair(%p): unlock of a lock that is not locked"}},
};

START_TEST(unlock_unlocked_aborts) { misuses[_i].fn(misuses[_i].arg); }
END_TEST

START_TEST(unlock_with_only_parked_bit_aborts)
{
    pl_mutex_t m = {PL_MUTEX_PARKED_BIT}; /* not locked: unlocking is still a misuse */
    pl_mutex_unlock(&m);
}
END_TEST

START_TEST(unlock_abort_message) { tu_expect_misuse(&misuses[_i]); }
END_TEST

/* ---- Memory needing no initialisation ---- */

enum { ADJ = 4, ADJ_ITERS = 20000 };

typedef struct adjacent {
    pl_mutex_t *m;          /* ADJ + 1 adjacent one-byte mutexes; m[ADJ] is shared */
    unsigned long own[ADJ]; /* guarded by m[i] */
    unsigned long shared;   /* guarded by m[ADJ] */
    atomic_size_t violations;
} adjacent_t;

typedef struct adjacent_arg {
    adjacent_t *a;
    int i;
} adjacent_arg_t;

static void *adjacent_thread(void *arg)
{
    adjacent_arg_t *x = arg;
    adjacent_t *a = x->a;
    for (unsigned k = 0; k < ADJ_ITERS; k++) {
        /* Each thread's own mutex is a neighbouring byte of the others: a lock operation that
         * wrote more than its byte would corrupt a neighbour's state. */
        pl_mutex_lock(&a->m[x->i]);
        a->own[x->i]++;
        pl_mutex_lock(&a->m[ADJ]);
        a->shared++;
        pl_mutex_unlock(&a->m[ADJ]);
        if (!pl_mutex_is_locked(&a->m[x->i]))
            atomic_fetch_add(&a->violations, 1);
        pl_mutex_unlock(&a->m[x->i]);
    }
    return NULL;
}

static void run_adjacent(pl_mutex_t *m)
{
    adjacent_t a = {.m = m};
    adjacent_arg_t args[ADJ];
    pthread_t t[ADJ];
    for (int i = 0; i < ADJ; i++) {
        args[i] = (adjacent_arg_t){&a, i};
        tu_spawn(&t[i], adjacent_thread, &args[i]);
    }
    for (int i = 0; i < ADJ; i++)
        tu_join(t[i]);
    ck_assert_uint_eq(atomic_load(&a.violations), 0);
    ck_assert_uint_eq(a.shared, (unsigned long)ADJ * ADJ_ITERS);
    for (int i = 0; i <= ADJ; i++) {
        if (i < ADJ)
            ck_assert_uint_eq(a.own[i], ADJ_ITERS);
        ck_assert_uint_eq(m[i].state, 0);
    }
}

START_TEST(calloc_memory_needs_no_init)
{
    pl_mutex_t *m = calloc(ADJ + 1, sizeof *m);
    ck_assert_ptr_nonnull(m);
    run_adjacent(m);
    free(m);
}
END_TEST

START_TEST(memset_memory_needs_no_init)
{
    unsigned char *raw = malloc(64);
    ck_assert_ptr_nonnull(raw);
    memset(raw, 0xa5, 64);
    memset(raw + 3, 0, ADJ + 1); /* an odd offset: alignment 1 */
    run_adjacent((pl_mutex_t *)(raw + 3));
    ck_assert_uint_eq(raw[2], 0xa5); /* the bytes around were not touched */
    ck_assert_uint_eq(raw[3 + ADJ + 1], 0xa5);
    free(raw);
}
END_TEST

/* ---- Suite ---- */

static Suite *mutex_suite(void)
{
    Suite *s = suite_create("mutex");
    TCase *tc = tu_tcase(s, "basic", 10);
    tcase_add_test(tc, layout_is_one_byte);
    tcase_add_test(tc, init_lock_unlock);
    tcase_add_test(tc, trylock_fails_when_held);
    tcase_add_test(tc, trylock_takes_free_mutex_with_parked_bit);
    tcase_add_test(tc, unlock_fair_without_waiter);

    tc = tu_tcase(s, "contended", 60);
    tcase_add_test(tc, exclusion_lock_unlock);
    tcase_add_test(tc, exclusion_mixed_api);
    tcase_add_test(tc, calloc_memory_needs_no_init);
    tcase_add_test(tc, memset_memory_needs_no_init);

    tc = tu_tcase(s, "timed", 30);
    tcase_add_test(tc, lock_until_times_out_not_before_deadline);
    tcase_add_test(tc, lock_until_succeeds_when_freed_before_deadline);
    tcase_add_test(tc, past_deadline_takes_free_mutex);
    tcase_add_test(tc, lock_for_huge_timeout_acts_like_lock);

    tc = tu_tcase(s, "fair", 30);
    tcase_add_test(tc, unlock_fair_hands_off);
    tcase_add_test(tc, no_starvation);

    tc = tu_tcase(s, "misuse", 10);
    tcase_add_loop_test_raise_signal(tc, unlock_unlocked_aborts, SIGABRT, 0, TU_LEN(misuses));
    tcase_add_test_raise_signal(tc, unlock_with_only_parked_bit_aborts, SIGABRT);
    tcase_add_loop_test(tc, unlock_abort_message, 0, TU_LEN(misuses));
    return s;
}

int main(void) { return tu_run_suite(mutex_suite()); }
