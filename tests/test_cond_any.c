/* Tests of the pl_cond_t waits with other locks: include/parking/cond_any.h.
 *
 * Knowing that a waiter sleeps: tu_queued() counts the threads queued on the condition
 * variable's address (test_util.h); a signal or broadcast, which takes the same bucket lock,
 * then finds them. */
#include "test_util.h"

#include <parking/cond_any.h>

#include <errno.h>

/* ---- Readers waiting under a read lock (a page latch waiting for I/O) ---- */

enum { READERS = 4 };

typedef struct page {
    pl_rwlock_t latch;
    pl_cond_t io_done;
    int loaded; /* written under the write lock */
    atomic_int both_inside, woke_holding;
} page_t;

static void *reader_main(void *arg)
{
    page_t *p = arg;
    pl_rwlock_rdlock(&p->latch);
    while (!p->loaded)
        pl_cond_wait_read(&p->io_done, &p->latch);
    if (pl_rwlock_reader_count(&p->latch) >= 1 && !pl_rwlock_is_write_locked(&p->latch))
        atomic_fetch_add(&p->woke_holding, 1);
    pl_rwlock_rdunlock(&p->latch);
    return NULL;
}

START_TEST(readers_wait_under_read_lock)
{
    page_t p;
    memset(&p, 0, sizeof p);
    pthread_t t[READERS];
    for (int i = 0; i < READERS; i++)
        tu_spawn(&t[i], reader_main, &p);
    tu_wait_queued(&p.io_done, READERS);
    /* Every reader releases its read lock once queued (just after what tu_wait_queued sees): a
     * writer gets in, which it could not while any of them held it. */
    pl_rwlock_wrlock(&p.latch);
    p.loaded = 1;
    ck_assert_uint_eq(pl_cond_broadcast(&p.io_done), READERS);
    pl_rwlock_wrunlock(&p.latch);
    for (int i = 0; i < READERS; i++)
        tu_join(t[i]);
    ck_assert_int_eq(atomic_load(&p.woke_holding), READERS);
    ck_assert_ptr_null(p.io_done.mutex);
    ck_assert_uint_eq(p.latch.state, 0);
}
END_TEST

/* ---- A bounded queue under a write lock: no lost wake-ups ---- */

enum { QCAP = 4, ITEMS = 2000 };

typedef struct queue {
    pl_rwlock_t l;
    pl_cond_t not_empty, not_full;
    int items, produced, consumed;
} queue_t;

static void *producer_main(void *arg)
{
    queue_t *q = arg;
    for (int i = 0; i < ITEMS / 2; i++) {
        pl_rwlock_wrlock(&q->l);
        while (q->items == QCAP)
            pl_cond_wait_write(&q->not_full, &q->l);
        q->items++;
        q->produced++;
        pl_cond_signal(&q->not_empty);
        pl_rwlock_wrunlock(&q->l);
    }
    return NULL;
}

static void *consumer_main(void *arg)
{
    queue_t *q = arg;
    for (int i = 0; i < ITEMS / 2; i++) {
        pl_rwlock_wrlock(&q->l);
        /* A timed wait now and then: time-outs and wake-ups race. */
        while (q->items == 0)
            (void)pl_cond_wait_write_until(&q->not_empty, &q->l,
                                           i % 16 == 0 ? pl_now() + 50000 : PL_FOREVER);
        q->items--;
        q->consumed++;
        pl_cond_signal(&q->not_full);
        pl_rwlock_wrunlock(&q->l);
    }
    return NULL;
}

START_TEST(bounded_queue_under_write_lock)
{
    queue_t q;
    memset(&q, 0, sizeof q);
    pthread_t t[4];
    tu_spawn(&t[0], producer_main, &q);
    tu_spawn(&t[1], producer_main, &q);
    tu_spawn(&t[2], consumer_main, &q);
    tu_spawn(&t[3], consumer_main, &q);
    for (int i = 0; i < 4; i++)
        tu_join(t[i]);
    ck_assert_int_eq(q.produced, ITEMS);
    ck_assert_int_eq(q.consumed, ITEMS);
    ck_assert_int_eq(q.items, 0);
    ck_assert_ptr_null(q.not_empty.mutex);
    ck_assert_ptr_null(q.not_full.mutex);
}
END_TEST

/* ---- The reentrant mutex: whole depth released, restored, and requeued ---- */

typedef struct re {
    pl_remutex_t m;
    pl_cond_t c;
    int ready;
    int depth_ok;
} re_t;

static void *re_waiter(void *arg)
{
    re_t *r = arg;
    pl_remutex_lock(&r->m);
    pl_remutex_lock(&r->m);
    while (!r->ready)
        pl_cond_wait_remutex(&r->c, &r->m);
    r->depth_ok = pl_remutex_is_held(&r->m) && r->m.count == 2;
    pl_remutex_unlock(&r->m);
    pl_remutex_unlock(&r->m);
    return NULL;
}

START_TEST(remutex_depth_and_requeue)
{
    re_t r;
    memset(&r, 0, sizeof r);
    pthread_t t;
    tu_spawn(&t, re_waiter, &r);
    tu_wait_queued(&r.c, 1);
    /* Depth 2, all released (just after it shows queued): the lock gets in. */
    pl_remutex_lock(&r.m);
    r.ready = 1;
    ck_assert(pl_cond_signal(&r.c));
    /* The mutex is held: the waiter was moved onto its queue, not woken. */
    ck_assert_uint_eq(tu_queued(&r.c, NULL, 0), 0);
    ck_assert_uint_eq(tu_queued(&r.m.mutex, NULL, 0), 1);
    pl_remutex_unlock(&r.m);
    tu_join(t);
    ck_assert(r.depth_ok);
    ck_assert(!pl_remutex_is_locked(&r.m));
}
END_TEST

START_TEST(remutex_timed_wait)
{
    re_t r;
    memset(&r, 0, sizeof r);
    pl_remutex_lock(&r.m);
    pl_remutex_lock(&r.m);
    pl_remutex_lock(&r.m);
    ck_assert(!pl_cond_wait_remutex_until(&r.c, &r.m, pl_now() + TU_MS));
    ck_assert(pl_remutex_is_held(&r.m));
    ck_assert_uint_eq(r.m.count, 3);
    ck_assert(!pl_cond_wait_remutex_until(&r.c, &r.m, 0)); /* past: released and retaken */
    for (int i = 0; i < 3; i++)
        pl_remutex_unlock(&r.m);
    ck_assert(!pl_remutex_is_locked(&r.m));
}
END_TEST

/* ---- Bit locks, the pointer lock, and callbacks around a pthread mutex ---- */

typedef struct bits {
    uint32_t word; /* bit 31 the lock, bit 30 parked; the rest is the caller's flag */
    pl_ptrlock_t ptr;
    pthread_mutex_t pm;
    pl_cond_t c;
    int kind;
    atomic_int woke_locked;
} bits_t;

#define LOCK_BIT ((uint32_t)1 << 31)
#define PARKED_BIT ((uint32_t)1 << 30)

/* Called on helper threads too: no Check assertion (test_util.h), an abort fails the test. */
static void pm_lock(void *m)
{
    if (pthread_mutex_lock(m) != 0)
        abort();
}

static void pm_unlock(void *m)
{
    if (pthread_mutex_unlock(m) != 0)
        abort();
}

static void *bits_waiter(void *arg)
{
    bits_t *b = arg;
    switch (b->kind) {
    case 0:
        pl_bitlock32_lock(&b->word, LOCK_BIT, PARKED_BIT);
        while (!(pl_bitlock32_load(&b->word, LOCK_BIT, PARKED_BIT) & 1))
            pl_cond_wait_bitlock32(&b->c, &b->word, LOCK_BIT, PARKED_BIT);
        if (pl_bitlock32_is_locked(&b->word, LOCK_BIT, PARKED_BIT))
            atomic_fetch_add(&b->woke_locked, 1);
        pl_bitlock32_unlock(&b->word, LOCK_BIT, PARKED_BIT);
        break;
    case 1:
        pl_ptrlock_lock(&b->ptr);
        while (pl_ptrlock_get(&b->ptr) == NULL)
            (void)pl_cond_wait_ptrlock_until(&b->c, &b->ptr, PL_FOREVER);
        if (pl_ptrlock_is_locked(&b->ptr))
            atomic_fetch_add(&b->woke_locked, 1);
        pl_ptrlock_unlock(&b->ptr);
        break;
    default:
        pm_lock(&b->pm);
        while (!b->word)
            (void)pl_cond_wait_with(&b->c, &b->pm, pm_lock, pm_unlock, PL_FOREVER);
        if (pthread_mutex_trylock(&b->pm) == EBUSY)
            atomic_fetch_add(&b->woke_locked, 1);
        pm_unlock(&b->pm);
        break;
    }
    return NULL;
}

START_TEST(bitlock_ptrlock_and_callbacks)
{
    static int target;
    for (int kind = 0; kind < 3; kind++) {
        bits_t b;
        memset(&b, 0, sizeof b);
        pthread_mutex_init(&b.pm, NULL);
        b.kind = kind;
        pthread_t t[2];
        tu_spawn(&t[0], bits_waiter, &b);
        tu_spawn(&t[1], bits_waiter, &b);
        tu_wait_queued(&b.c, 2);
        switch (kind) {
        case 0:
            pl_bitlock32_lock(&b.word, LOCK_BIT, PARKED_BIT);
            (void)pl_bitlock32_update(&b.word, LOCK_BIT, PARKED_BIT, 0, 1);
            ck_assert_uint_eq(pl_cond_broadcast(&b.c), 2);
            pl_bitlock32_unlock(&b.word, LOCK_BIT, PARKED_BIT);
            break;
        case 1:
            pl_ptrlock_lock(&b.ptr);
            pl_ptrlock_set(&b.ptr, &target);
            ck_assert(pl_cond_signal(&b.c));
            ck_assert(pl_cond_signal(&b.c));
            pl_ptrlock_unlock(&b.ptr);
            break;
        default:
            pm_lock(&b.pm);
            b.word = 1;
            ck_assert_uint_eq(pl_cond_broadcast(&b.c), 2);
            pm_unlock(&b.pm);
            break;
        }
        tu_join(t[0]);
        tu_join(t[1]);
        ck_assert_int_eq(atomic_load(&b.woke_locked), 2);
        ck_assert_ptr_null(b.c.mutex);
        pthread_mutex_destroy(&b.pm);
    }
}
END_TEST

START_TEST(timed_waits_retake_the_lock)
{
    pl_rwlock_t l = PL_RWLOCK_INIT;
    pl_cond_t c = PL_COND_INIT;
    pl_rwlock_rdlock(&l);
    uint64_t start = pl_now();
    ck_assert(!pl_cond_wait_read_until(&c, &l, pl_now() + 3 * TU_MS));
    ck_assert_uint_ge(pl_now() - start, 3 * TU_MS);
    ck_assert_uint_eq(pl_rwlock_reader_count(&l), 1);
    ck_assert(!pl_cond_wait_read_until(&c, &l, 0));
    pl_rwlock_rdunlock(&l);
    pl_rwlock_wrlock(&l);
    ck_assert(!pl_cond_wait_write_until(&c, &l, pl_now() + TU_MS));
    ck_assert(pl_rwlock_is_write_locked(&l));
    pl_rwlock_wrunlock(&l);
    ck_assert_ptr_null(c.mutex); /* the last waiter to time out cleared the word */
    ck_assert_uint_eq(l.state, 0);
}
END_TEST

/* ---- Misuse: one condition variable, waiters of both kinds at once ---- */

typedef struct mixed {
    pl_cond_t c;
    pl_mutex_t m;
    pl_rwlock_t l;
} mixed_t;

static void *mutex_waiter(void *arg)
{
    mixed_t *x = arg;
    pl_mutex_lock(&x->m);
    pl_cond_wait(&x->c, &x->m);
    pl_mutex_unlock(&x->m);
    return NULL;
}

static void wait_read_on_mixed(void *arg)
{
    mixed_t *x = arg;
    pthread_t t;
    tu_spawn(&t, mutex_waiter, x);
    while (tu_queued_quiet(&x->c) < 1)
        sched_yield();
    pl_rwlock_rdlock(&x->l);
    pl_cond_wait_read(&x->c, &x->l);
}

START_TEST(mixed_kinds_abort)
{
    mixed_t x;
    memset(&x, 0, sizeof x);
    char addr[32];
    const char *needles[] = {"libparking: pl_cond_wait_read(",
                             tu_addr_text(&x.c, addr, sizeof addr),
                             "one condvar used with two mutexes", NULL};
    tu_expect_abort_message(wait_read_on_mixed, &x, needles);
}
END_TEST

START_TEST(mixed_kinds_raise_sigabrt)
{
    mixed_t x;
    memset(&x, 0, sizeof x);
    wait_read_on_mixed(&x);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cond_any");
    TCase *tc = tu_tcase(s, "cond_any", 60);
    tcase_add_test(tc, readers_wait_under_read_lock);
    tcase_add_test(tc, bounded_queue_under_write_lock);
    tcase_add_test(tc, remutex_depth_and_requeue);
    tcase_add_test(tc, remutex_timed_wait);
    tcase_add_test(tc, bitlock_ptrlock_and_callbacks);
    tcase_add_test(tc, timed_waits_retake_the_lock);
    tc = tu_tcase(s, "misuse", 30);
    tcase_add_test(tc, mixed_kinds_abort);
    tcase_add_test_raise_signal(tc, mixed_kinds_raise_sigabrt, SIGABRT);
    return tu_run_suite(s);
}
