/* Tests of pl_rwlock_t: include/parking/rwlock.h.
 *
 * Check runs each test in a forked child (CK_FORK, the default), which the abort tests need.
 *
 * Knowing that a thread is blocked: never by sleeping.  The rwlock parks waiters on two keys,
 * the lock's address (threads waiting to add their share to the word) and the address + 1 (the
 * writer-bit holder waiting for readers to leave).  tu_queued() scans a key's queue with
 * pl_unpark_filter and a filter that only counts (PL_FILTER_SKIP), waking nobody; once it sees
 * the expected number of waiters, any later unlock (which takes the same bucket lock) finds them.
 * The park tokens it collects say what each waiter wants (reader, writer, upgradable). */
#include "test_util.h"

#include <parking/rwlock.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#define MAIN_KEY(l) ((const void *)(l))
#define WRITER_KEY(l) ((const void *)((const char *)(l) + 1))

#define ONE PL_RWLOCK_ONE_READER
#define WRITER PL_RWLOCK_WRITER_BIT
#define UPG PL_RWLOCK_UPGRADABLE_BIT
#define PARKED PL_RWLOCK_PARKED_BIT
#define WPARKED PL_RWLOCK_WRITER_PARKED_BIT

static uintptr_t state_of(pl_rwlock_t *l) { return __atomic_load_n(&l->state, __ATOMIC_SEQ_CST); }

/* ---- Queue observation ---- */

/* ---- Locker threads: one operation, recorded; optionally held until released ---- */

typedef enum op {
    OP_RD,
    OP_RD_REC,
    OP_TRYRD,
    OP_RD_UNTIL,
    OP_RD_FOR,
    OP_WR,
    OP_TRYWR,
    OP_WR_UNTIL,
    OP_WR_FOR,
    OP_UP,
    OP_TRYUP,
    OP_UP_UNTIL,
    OP_UP_FOR
} op_t;

static char op_mode(op_t op) { return op <= OP_RD_FOR ? 'r' : op <= OP_WR_FOR ? 'w' : 'u'; }

static bool do_op(pl_rwlock_t *l, op_t op, uint64_t arg)
{
    switch (op) {
    case OP_RD: pl_rwlock_rdlock(l); return true;
    case OP_RD_REC: pl_rwlock_rdlock_recursive(l); return true;
    case OP_TRYRD: return pl_rwlock_tryrdlock(l);
    case OP_RD_UNTIL: return pl_rwlock_rdlock_until(l, arg);
    case OP_RD_FOR: return pl_rwlock_rdlock_for(l, arg);
    case OP_WR: pl_rwlock_wrlock(l); return true;
    case OP_TRYWR: return pl_rwlock_trywrlock(l);
    case OP_WR_UNTIL: return pl_rwlock_wrlock_until(l, arg);
    case OP_WR_FOR: return pl_rwlock_wrlock_for(l, arg);
    case OP_UP: pl_rwlock_uplock(l); return true;
    case OP_TRYUP: return pl_rwlock_tryuplock(l);
    case OP_UP_UNTIL: return pl_rwlock_uplock_until(l, arg);
    default: return pl_rwlock_uplock_for(l, arg);
    }
}

static void unlock_mode(pl_rwlock_t *l, char mode)
{
    if (mode == 'r')
        pl_rwlock_rdunlock(l);
    else if (mode == 'w')
        pl_rwlock_wrunlock(l);
    else
        pl_rwlock_upunlock(l);
}

typedef struct locker {
    pl_rwlock_t *l;
    op_t op;
    uint64_t arg; /* deadline or timeout of the timed ops */
    bool hold;    /* on success keep the lock until `release` */
    bool result;  /* valid once `done` */
    uint64_t returned_at;
    atomic_bool done, release;
    pthread_t thread;
} locker_t;

static void *locker_main(void *arg)
{
    locker_t *k = arg;
    k->result = do_op(k->l, k->op, k->arg);
    k->returned_at = pl_now();
    atomic_store(&k->done, true);
    if (k->result) {
        unsigned polls = 0;
        while (k->hold && !atomic_load(&k->release))
            tu_backoff(&polls);
        unlock_mode(k->l, op_mode(k->op));
    }
    return NULL;
}

static void locker_start(locker_t *k, pl_rwlock_t *l, op_t op, uint64_t arg, bool hold)
{
    k->l = l;
    k->op = op;
    k->arg = arg;
    k->hold = hold;
    k->result = false;
    k->returned_at = 0;
    atomic_init(&k->done, false);
    atomic_init(&k->release, false);
    tu_spawn(&k->thread, locker_main, k);
}

static bool locker_done(void *k) { return atomic_load(&((locker_t *)k)->done); }

static void wait_done(locker_t *k)
{
    ck_assert_msg(tu_wait_until(locker_done, k), "locker (op %d) never returned", (int)k->op);
}

/* Lets the locker unlock and exit; returns its result. */
static bool locker_finish(locker_t *k)
{
    atomic_store(&k->release, true);
    tu_join(k->thread);
    return k->result;
}

/* ---- Layout and single-thread semantics ---- */

static pl_rwlock_t static_lock; /* zero-initialised: must be a valid unlocked lock */

START_TEST(layout_is_one_word)
{
    ck_assert_uint_eq(sizeof(pl_rwlock_t), sizeof(uintptr_t));
    ck_assert_uint_eq(_Alignof(pl_rwlock_t), _Alignof(uintptr_t));
    pl_rwlock_t l = PL_RWLOCK_INIT;
    ck_assert_uint_eq(l.state, 0);
    ck_assert(!pl_rwlock_is_locked(&static_lock));
    ck_assert(!pl_rwlock_is_locked(&l));
}
END_TEST

START_TEST(each_mode_round_trip)
{
    pl_rwlock_t *ls[2] = {&static_lock, calloc(1, sizeof(pl_rwlock_t))};
    ck_assert_ptr_nonnull(ls[1]);
    for (int i = 0; i < 2; i++) {
        pl_rwlock_t *l = ls[i];
        pl_rwlock_rdlock(l);
        ck_assert(pl_rwlock_is_locked(l) && !pl_rwlock_is_write_locked(l));
        ck_assert_uint_eq(pl_rwlock_reader_count(l), 1);
        pl_rwlock_rdlock(l);
        pl_rwlock_rdlock_recursive(l);
        ck_assert_uint_eq(pl_rwlock_reader_count(l), 3);
        pl_rwlock_rdunlock(l);
        pl_rwlock_rdunlock_fair(l);
        pl_rwlock_rdunlock(l);
        ck_assert_uint_eq(state_of(l), 0);

        pl_rwlock_wrlock(l);
        ck_assert(pl_rwlock_is_write_locked(l) && pl_rwlock_is_locked(l));
        ck_assert_uint_eq(pl_rwlock_reader_count(l), 0);
        pl_rwlock_wrunlock(l);
        ck_assert_uint_eq(state_of(l), 0);
        pl_rwlock_wrlock(l);
        pl_rwlock_wrunlock_fair(l);
        ck_assert_uint_eq(state_of(l), 0);

        pl_rwlock_uplock(l);
        ck_assert(pl_rwlock_is_upgradable_locked(l) && !pl_rwlock_is_write_locked(l));
        ck_assert_uint_eq(pl_rwlock_reader_count(l), 1);
        pl_rwlock_upunlock(l);
        ck_assert_uint_eq(state_of(l), 0);
        pl_rwlock_uplock(l);
        pl_rwlock_upunlock_fair(l);
        ck_assert_uint_eq(state_of(l), 0);
    }
    free(ls[1]);
}
END_TEST

START_TEST(trylocks_fail_when_they_must)
{
    pl_rwlock_t l = PL_RWLOCK_INIT;
    /* Read-locked: readers and one upgradable holder may join, writers may not. */
    ck_assert(pl_rwlock_tryrdlock(&l));
    ck_assert(pl_rwlock_tryrdlock(&l));
    ck_assert(!pl_rwlock_trywrlock(&l));
    ck_assert(pl_rwlock_tryuplock(&l));
    /* ... and with an upgradable holder, no second one. */
    ck_assert(!pl_rwlock_tryuplock(&l));
    ck_assert(!pl_rwlock_trywrlock(&l));
    ck_assert(pl_rwlock_tryrdlock(&l));
    ck_assert_uint_eq(pl_rwlock_reader_count(&l), 4);
    ck_assert_uint_eq(state_of(&l), 4 * ONE | UPG);
    pl_rwlock_rdunlock(&l);
    pl_rwlock_rdunlock(&l);
    pl_rwlock_rdunlock(&l);
    pl_rwlock_upunlock(&l);
    ck_assert_uint_eq(state_of(&l), 0);

    /* Upgradable alone: readers yes, writers and upgradable no. */
    ck_assert(pl_rwlock_tryuplock(&l));
    ck_assert(!pl_rwlock_tryuplock(&l));
    ck_assert(!pl_rwlock_trywrlock(&l));
    ck_assert(pl_rwlock_tryrdlock(&l));
    pl_rwlock_rdunlock(&l);
    pl_rwlock_upunlock(&l);

    /* Write-locked: nothing. */
    ck_assert(pl_rwlock_trywrlock(&l));
    ck_assert(!pl_rwlock_tryrdlock(&l));
    ck_assert(!pl_rwlock_trywrlock(&l));
    ck_assert(!pl_rwlock_tryuplock(&l));
    ck_assert_uint_eq(state_of(&l), WRITER);
    pl_rwlock_wrunlock(&l);
    ck_assert_uint_eq(state_of(&l), 0);
}
END_TEST

START_TEST(trylocks_take_free_lock_with_stale_bits)
{
    /* A parked bit with nobody queued is a state the lock can be in (the woken have not run
     * yet); a free lock must still be taken by every try and past-deadline acquire. */
    pl_rwlock_t l = {PARKED};
    ck_assert(pl_rwlock_trywrlock(&l));
    pl_rwlock_wrunlock(&l); /* slow path: finds nobody queued and clears the bit */
    ck_assert_uint_eq(state_of(&l), 0);

    l.state = PARKED;
    ck_assert(pl_rwlock_tryuplock(&l));
    pl_rwlock_upunlock(&l);
    ck_assert_uint_eq(state_of(&l), 0);

    l.state = PARKED;
    ck_assert(pl_rwlock_tryrdlock(&l));
    ck_assert(pl_rwlock_rdlock_until(&l, 0));
    ck_assert_uint_eq(pl_rwlock_reader_count(&l), 2);
    pl_rwlock_rdunlock(&l);
    pl_rwlock_rdunlock(&l);

    l.state = PARKED;
    ck_assert(pl_rwlock_wrlock_until(&l, 0));
    pl_rwlock_wrunlock(&l);
    l.state = PARKED;
    ck_assert(pl_rwlock_uplock_for(&l, 0));
    pl_rwlock_upunlock(&l);
    ck_assert_uint_eq(state_of(&l), 0);
}
END_TEST

START_TEST(upgrade_and_downgrade_single_thread)
{
    pl_rwlock_t l = PL_RWLOCK_INIT;
    pl_rwlock_uplock(&l);
    ck_assert(pl_rwlock_tryupgrade(&l)); /* alone: upgrades */
    ck_assert(pl_rwlock_is_write_locked(&l));
    ck_assert_uint_eq(state_of(&l), WRITER);
    pl_rwlock_downgrade_to_upgradable(&l);
    ck_assert_uint_eq(state_of(&l), ONE | UPG);
    ck_assert(!pl_rwlock_tryuplock(&l));
    ck_assert(!pl_rwlock_trywrlock(&l));

    ck_assert(pl_rwlock_tryrdlock(&l)); /* another reader: tryupgrade must fail and keep it */
    ck_assert(!pl_rwlock_tryupgrade(&l));
    ck_assert_uint_eq(state_of(&l), 2 * ONE | UPG);
    ck_assert(!pl_rwlock_upgrade_until(&l, 0)); /* past deadline, readers inside: fails */
    ck_assert(!pl_rwlock_upgrade_for(&l, 1000));
    ck_assert_uint_eq(state_of(&l), 2 * ONE | UPG);
    pl_rwlock_rdunlock(&l);
    ck_assert(pl_rwlock_upgrade_until(&l, 0)); /* past deadline, alone: succeeds */
    ck_assert_uint_eq(state_of(&l), WRITER);

    pl_rwlock_downgrade(&l);
    ck_assert_uint_eq(state_of(&l), ONE);
    ck_assert(!pl_rwlock_trywrlock(&l));
    ck_assert(pl_rwlock_tryuplock(&l));
    pl_rwlock_downgrade_upgradable(&l);
    ck_assert_uint_eq(state_of(&l), 2 * ONE);
    ck_assert(pl_rwlock_tryuplock(&l));       /* the upgradable slot is free again */
    ck_assert(!pl_rwlock_upgrade_for(&l, 0)); /* other readers inside */
    pl_rwlock_upunlock(&l);
    pl_rwlock_rdunlock(&l);
    pl_rwlock_rdunlock(&l);
    ck_assert_uint_eq(state_of(&l), 0);

    pl_rwlock_uplock(&l);
    pl_rwlock_upgrade(&l);
    ck_assert_uint_eq(state_of(&l), WRITER);
    pl_rwlock_wrunlock(&l);
    ck_assert_uint_eq(state_of(&l), 0);
}
END_TEST

/* ---- Policy: pending writers, recursive reads ---- */

START_TEST(pending_writer_blocks_readers_recursive_read_enters)
{
    pl_rwlock_t l = PL_RWLOCK_INIT;
    pl_rwlock_rdlock(&l); /* thread A (this one) holds a read lock */
    locker_t w;
    locker_start(&w, &l, OP_WR, 0, true); /* writer B */
    /* B owns the writer bit and is parked on the second key waiting for us. */
    tu_wait_queued(WRITER_KEY(&l), 1);
    ck_assert_uint_eq(state_of(&l), ONE | WRITER | WPARKED);
    ck_assert(!atomic_load(&w.done));

    /* New readers are held back by the queued writer... */
    ck_assert(!pl_rwlock_tryrdlock(&l));
    locker_t r;
    uint64_t start = pl_now();
    locker_start(&r, &l, OP_RD_FOR, 20 * TU_MS, false);
    tu_join(r.thread);
    ck_assert(!r.result);
    ck_assert_uint_ge(r.returned_at, start + 20 * TU_MS);
    ck_assert(!pl_rwlock_tryuplock(&l));

    /* ...but a recursive read from A enters, otherwise A and B would wait for each other. */
    pl_rwlock_rdlock_recursive(&l);
    ck_assert_uint_eq(pl_rwlock_reader_count(&l), 2);
    ck_assert(!atomic_load(&w.done));
    pl_rwlock_rdunlock(&l);
    ck_assert(!atomic_load(&w.done));
    pl_rwlock_rdunlock(&l); /* last reader: hands over to B */
    wait_done(&w);
    ck_assert(w.result);
    ck_assert(pl_rwlock_is_write_locked(&l));
    ck_assert(locker_finish(&w));
    ck_assert_uint_eq(state_of(&l), 0);
}
END_TEST

START_TEST(recursive_read_blocks_while_writer_holds)
{
    pl_rwlock_t l = PL_RWLOCK_INIT;
    pl_rwlock_wrlock(&l);
    locker_t r;
    locker_start(&r, &l, OP_RD_REC, 0, false);
    tu_wait_queued(MAIN_KEY(&l), 1);
    ck_assert(!atomic_load(&r.done));
    pl_rwlock_wrunlock(&l);
    ck_assert(locker_finish(&r));
    ck_assert_uint_eq(state_of(&l), 0);
}
END_TEST

/* A continuous stream of overlapping readers (each yields while inside, so the reader count
 * hardly ever drops to zero by itself) must not keep a writer out: the writer's bit stops new
 * readers and the present ones drain.  The bound is the TU_WAIT_NS poll limit. */
typedef struct stream {
    pl_rwlock_t l;
    atomic_bool stop;
    atomic_size_t rounds;
    atomic_int writer_in;
    atomic_size_t violations;
} stream_t;

static void *stream_reader(void *arg)
{
    stream_t *s = arg;
    while (!atomic_load(&s->stop)) {
        pl_rwlock_rdlock(&s->l);
        if (atomic_load(&s->writer_in))
            atomic_fetch_add(&s->violations, 1);
        atomic_fetch_add(&s->rounds, 1);
        sched_yield();
        pl_rwlock_rdunlock(&s->l);
    }
    return NULL;
}

START_TEST(writer_not_starved_by_reader_stream)
{
    long n = tu_ncpu() * 4 - 1;
    stream_t *s = calloc(1, sizeof *s);
    pthread_t *t = calloc((size_t)n, sizeof *t);
    ck_assert(s && t);
    for (long i = 0; i < n; i++)
        tu_spawn(&t[i], stream_reader, s);
    for (int k = 0; k < 5; k++) {
        ck_assert(tu_wait_count(&s->rounds, atomic_load(&s->rounds) + 1000));
        uint64_t start = pl_now();
        ck_assert(pl_rwlock_wrlock_for(&s->l, TU_WAIT_NS));
        uint64_t waited = pl_now() - start;
        atomic_store(&s->writer_in, 1);
        sched_yield();
        atomic_store(&s->writer_in, 0);
        pl_rwlock_wrunlock(&s->l);
        ck_assert_uint_lt(waited, TU_WAIT_NS);
    }
    atomic_store(&s->stop, true);
    for (long i = 0; i < n; i++)
        tu_join(t[i]);
    ck_assert_uint_eq(atomic_load(&s->violations), 0);
    ck_assert_uint_eq(state_of(&s->l), 0);
    free(s);
    free(t);
}
END_TEST

/* ---- Unlocks wake all readers and at most one writer / upgradable ---- */

typedef struct crowd {
    pl_rwlock_t l;
    size_t n;
    atomic_size_t inside;
    atomic_size_t together; /* readers that saw all n inside at once */
    atomic_bool checked;    /* the main thread has looked at the word: readers may leave */
} crowd_t;

static void *crowd_reader(void *arg)
{
    crowd_t *c = arg;
    pl_rwlock_rdlock(&c->l);
    atomic_fetch_add(&c->inside, 1);
    /* Stay inside until every reader is: proves they all share the lock at the same time. */
    if (tu_wait_count(&c->inside, c->n))
        atomic_fetch_add(&c->together, 1);
    unsigned polls = 0;
    while (!atomic_load(&c->checked))
        tu_backoff(&polls);
    pl_rwlock_rdunlock(&c->l);
    return NULL;
}

static void run_crowd(bool fair)
{
    crowd_t *c = calloc(1, sizeof *c);
    ck_assert_ptr_nonnull(c);
    c->n = (size_t)tu_ncpu() * 4;
    pthread_t *t = calloc(c->n, sizeof *t);
    ck_assert_ptr_nonnull(t);
    pl_rwlock_wrlock(&c->l);
    for (size_t i = 0; i < c->n; i++)
        tu_spawn(&t[i], crowd_reader, c);
    tu_wait_queued(MAIN_KEY(&c->l), c->n);
    if (fair) {
        pl_rwlock_wrunlock_fair(&c->l);
        /* Handed off: the readers' shares are in the word before any of them runs. */
        uintptr_t s = state_of(&c->l);
        ck_assert_uint_eq(s & ~(uintptr_t)(PARKED | WPARKED), c->n * ONE);
    } else {
        pl_rwlock_wrunlock(&c->l);
    }
    /* One unlock dequeued them all, in the same pass. */
    ck_assert_uint_eq(tu_queued(MAIN_KEY(&c->l), NULL, 0), 0);
    atomic_store(&c->checked, true);
    for (size_t i = 0; i < c->n; i++)
        tu_join(t[i]);
    ck_assert_uint_eq(atomic_load(&c->together), c->n);
    ck_assert_uint_eq(state_of(&c->l), 0);
    free(t);
    free(c);
}

START_TEST(many_readers_woken_by_one_unlock) { run_crowd(false); }
END_TEST

START_TEST(many_readers_handed_off_by_fair_unlock) { run_crowd(true); }
END_TEST

/* Queue order R1 W1 R2 W2: an unlock takes R1, then W1, and stops there. */
START_TEST(unlock_stops_at_first_writer)
{
    pl_rwlock_t l = PL_RWLOCK_INIT;
    pl_rwlock_wrlock(&l);
    locker_t k[4];
    op_t ops[4] = {OP_RD, OP_WR, OP_RD, OP_WR};
    for (int i = 0; i < 4; i++) {
        locker_start(&k[i], &l, ops[i], 0, true);
        tu_wait_queued(MAIN_KEY(&l), (size_t)i + 1);
    }
    uintptr_t tokens[4];
    ck_assert_uint_eq(tu_queued(MAIN_KEY(&l), tokens, 4), 4);
    ck_assert_uint_eq(tokens[0], ONE);
    ck_assert_uint_eq(tokens[1], WRITER);

    pl_rwlock_wrunlock_fair(&l);
    /* Handed to R1 (a read share) and W1 (the writer bit, to wait for R1); R2, W2 stay. */
    ck_assert_uint_eq(state_of(&l) & ~(uintptr_t)WPARKED, ONE | WRITER | PARKED);
    ck_assert_uint_eq(tu_queued(MAIN_KEY(&l), tokens, 4), 2);
    ck_assert_uint_eq(tokens[0], ONE);
    ck_assert_uint_eq(tokens[1], WRITER);
    wait_done(&k[0]);
    ck_assert(k[0].result);
    ck_assert(!pl_rwlock_tryrdlock(&l)); /* W1 owns the writer bit */
    tu_wait_queued(WRITER_KEY(&l), 1);   /* W1 waits for R1 */
    ck_assert(locker_finish(&k[0]));
    wait_done(&k[1]);
    ck_assert(pl_rwlock_is_write_locked(&l));
    ck_assert(locker_finish(&k[1]));
    /* R2 and W2 now race; let both go before joining either. */
    atomic_store(&k[2].release, true);
    atomic_store(&k[3].release, true);
    ck_assert(locker_finish(&k[2]));
    ck_assert(locker_finish(&k[3]));
    ck_assert_uint_eq(state_of(&l), 0);
}
END_TEST

/* Queue order U1 W1 R1 U2 R2: U1 is chosen, so W1 and U2 are skipped but R1 and R2 still go. */
START_TEST(unlock_takes_one_upgradable_and_all_readers)
{
    pl_rwlock_t l = PL_RWLOCK_INIT;
    pl_rwlock_wrlock(&l);
    locker_t k[5];
    op_t ops[5] = {OP_UP, OP_WR, OP_RD, OP_UP, OP_RD};
    for (int i = 0; i < 5; i++) {
        locker_start(&k[i], &l, ops[i], 0, true);
        tu_wait_queued(MAIN_KEY(&l), (size_t)i + 1);
    }
    pl_rwlock_wrunlock_fair(&l);
    ck_assert_uint_eq(state_of(&l), 3 * ONE | UPG | PARKED);
    uintptr_t tokens[2];
    ck_assert_uint_eq(tu_queued(MAIN_KEY(&l), tokens, 2), 2);
    ck_assert_uint_eq(tokens[0], WRITER);
    ck_assert_uint_eq(tokens[1], ONE | UPG);
    wait_done(&k[0]);
    wait_done(&k[2]);
    wait_done(&k[4]);
    ck_assert(locker_finish(&k[2]));
    ck_assert(locker_finish(&k[4]));
    ck_assert(locker_finish(&k[0])); /* upunlock wakes W1 (first in line) */
    ck_assert(locker_finish(&k[1]));
    ck_assert(locker_finish(&k[3]));
    ck_assert_uint_eq(state_of(&l), 0);
}
END_TEST

/* ---- Fair unlocks hand off ---- */

START_TEST(wrunlock_fair_hands_off_to_writer)
{
    /* Repeated: an ordinary unlock also hands off when the bucket's fairness time has come,
     * so one round alone would not prove that the fair unlock always does. */
    for (int round = 0; round < 20; round++) {
        pl_rwlock_t l = PL_RWLOCK_INIT;
        pl_rwlock_wrlock(&l);
        locker_t w;
        locker_start(&w, &l, OP_WR, 0, true);
        tu_wait_queued(MAIN_KEY(&l), 1);
        pl_rwlock_wrunlock_fair(&l);
        bool barged = pl_rwlock_trywrlock(&l);
        if (barged)
            pl_rwlock_wrunlock(&l);
        bool read = pl_rwlock_tryrdlock(&l);
        if (read)
            pl_rwlock_rdunlock(&l);
        bool up = pl_rwlock_tryuplock(&l);
        if (up)
            pl_rwlock_upunlock(&l);
        ck_assert_msg(!barged && !read && !up, "round %d: fair unlock left the lock free", round);
        ck_assert(pl_rwlock_is_write_locked(&l));
        ck_assert(locker_finish(&w));
        ck_assert_uint_eq(state_of(&l), 0);
    }
}
END_TEST

START_TEST(upunlock_fair_hands_off)
{
    for (int round = 0; round < 20; round++) {
        pl_rwlock_t l = PL_RWLOCK_INIT;
        pl_rwlock_uplock(&l);
        locker_t w;
        /* Alternate: a writer or an upgradable waiter blocked by our upgradable bit. */
        locker_start(&w, &l, round % 2 ? OP_WR : OP_UP, 0, true);
        tu_wait_queued(MAIN_KEY(&l), 1);
        pl_rwlock_upunlock_fair(&l);
        bool barged = pl_rwlock_tryuplock(&l);
        if (barged)
            pl_rwlock_upunlock(&l);
        ck_assert_msg(!barged, "round %d: upunlock_fair let the unlocker back in", round);
        ck_assert_uint_eq(state_of(&l), round % 2 ? WRITER : ONE | UPG);
        ck_assert(locker_finish(&w));
        ck_assert_uint_eq(state_of(&l), 0);
    }
}
END_TEST

START_TEST(rdunlock_fair_hands_writer_the_lock)
{
    pl_rwlock_t l = PL_RWLOCK_INIT;
    pl_rwlock_rdlock(&l);
    locker_t w;
    locker_start(&w, &l, OP_WR, 0, true);
    tu_wait_queued(WRITER_KEY(&l), 1);
    pl_rwlock_rdunlock_fair(&l);
    ck_assert(!pl_rwlock_tryrdlock(&l));
    ck_assert(!pl_rwlock_trywrlock(&l));
    wait_done(&w);
    ck_assert(locker_finish(&w));
    ck_assert_uint_eq(state_of(&l), 0);
}
END_TEST

/* ---- Downgrades and upgrades with waiters ---- */

START_TEST(downgrade_lets_readers_in)
{
    pl_rwlock_t l = PL_RWLOCK_INIT;
    pl_rwlock_wrlock(&l);
    locker_t r, u;
    locker_start(&r, &l, OP_RD, 0, true);
    tu_wait_queued(MAIN_KEY(&l), 1);
    pl_rwlock_downgrade(&l);
    wait_done(&r); /* entered while we still hold our read lock */
    ck_assert_uint_eq(pl_rwlock_reader_count(&l), 2);
    ck_assert(locker_finish(&r));
    pl_rwlock_rdunlock(&l);
    ck_assert_uint_eq(state_of(&l), 0);

    /* Write -> upgradable: the reader gets in, the upgradable waiter stays queued. */
    pl_rwlock_wrlock(&l);
    locker_start(&u, &l, OP_UP, 0, true);
    tu_wait_queued(MAIN_KEY(&l), 1);
    locker_start(&r, &l, OP_RD, 0, true);
    tu_wait_queued(MAIN_KEY(&l), 2);
    pl_rwlock_downgrade_to_upgradable(&l);
    wait_done(&r);
    uintptr_t token;
    ck_assert_uint_eq(tu_queued(MAIN_KEY(&l), &token, 1), 1);
    ck_assert_uint_eq(token, ONE | UPG);
    ck_assert(!atomic_load(&u.done));
    ck_assert(locker_finish(&r));
    pl_rwlock_upunlock(&l);
    wait_done(&u);
    ck_assert(locker_finish(&u));
    ck_assert_uint_eq(state_of(&l), 0);
}
END_TEST

START_TEST(downgrade_upgradable_lets_writer_take_its_turn)
{
    pl_rwlock_t l = PL_RWLOCK_INIT;
    pl_rwlock_uplock(&l);
    locker_t w;
    locker_start(&w, &l, OP_WR, 0, true);
    tu_wait_queued(MAIN_KEY(&l), 1); /* blocked by our upgradable bit */
    pl_rwlock_downgrade_upgradable(&l);
    /* Woken, the writer takes the writer bit and now waits for us, a plain reader. */
    tu_wait_queued(WRITER_KEY(&l), 1);
    ck_assert(!pl_rwlock_tryrdlock(&l));
    ck_assert(!atomic_load(&w.done));
    pl_rwlock_rdunlock(&l);
    wait_done(&w);
    ck_assert(locker_finish(&w));
    ck_assert_uint_eq(state_of(&l), 0);
}
END_TEST

/* A multi-field record: readers must never see it half updated. */
typedef struct record {
    pl_rwlock_t l;
    unsigned long a, b, c; /* always equal outside a write section */
    atomic_bool upgraded;
} record_t;

static void *upgrader(void *arg)
{
    record_t *r = arg;
    pl_rwlock_uplock(&r->l);
    unsigned long seen = r->a;
    pl_rwlock_upgrade(&r->l);
    atomic_store(&r->upgraded, true);
    r->a = seen + 1;
    sched_yield();
    r->b = seen + 1;
    r->c = seen + 1;
    pl_rwlock_downgrade(&r->l);
    /* Nobody could write between our upgrade and now: we read back our own value. */
    bool ok = r->a == seen + 1 && r->b == seen + 1 && r->c == seen + 1;
    pl_rwlock_rdunlock(&r->l);
    return ok ? (void *)1 : NULL;
}

START_TEST(upgrade_waits_for_readers_and_blocks_new_ones)
{
    record_t *r = calloc(1, sizeof *r);
    ck_assert_ptr_nonnull(r);
    pl_rwlock_rdlock(&r->l);
    pthread_t t;
    tu_spawn(&t, upgrader, r);
    tu_wait_queued(WRITER_KEY(&r->l), 1); /* upgraded to the writer bit, waiting for us */
    ck_assert(!atomic_load(&r->upgraded));
    ck_assert(!pl_rwlock_tryrdlock(&r->l));
    ck_assert(!pl_rwlock_tryuplock(&r->l));
    ck_assert_uint_eq(r->a, 0);
    pl_rwlock_rdunlock(&r->l);
    void *ok = NULL;
    ck_assert_int_eq(pthread_join(t, &ok), 0);
    ck_assert_ptr_nonnull(ok);
    pl_rwlock_rdlock(&r->l);
    ck_assert(r->a == 1 && r->b == 1 && r->c == 1);
    pl_rwlock_rdunlock(&r->l);
    ck_assert_uint_eq(state_of(&r->l), 0);
    free(r);
}
END_TEST

/* ---- Timed acquisition ---- */

typedef struct timed_case {
    char held; /* mode the main thread holds: 'r', 'w', 'u' */
    op_t op;   /* a timed op that must fail against it */
} timed_case_t;

START_TEST(timed_locks_fail_not_before_deadline)
{
    static const timed_case_t cases[] = {
        {'w', OP_RD_UNTIL}, {'w', OP_RD_FOR}, {'w', OP_WR_UNTIL}, {'w', OP_WR_FOR},
        {'w', OP_UP_UNTIL}, {'w', OP_UP_FOR}, {'u', OP_WR_UNTIL}, {'u', OP_WR_FOR},
        {'u', OP_UP_UNTIL}, {'u', OP_UP_FOR}, {'r', OP_WR_UNTIL}, {'r', OP_WR_FOR},
    };
    static const uint64_t timeouts[] = {0, 1, 100000, TU_MS, 10 * TU_MS};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        for (size_t i = 0; i < sizeof timeouts / sizeof timeouts[0]; i++) {
            pl_rwlock_t l = PL_RWLOCK_INIT;
            (void)do_op(&l, cases[c].held == 'r' ? OP_RD : cases[c].held == 'w' ? OP_WR : OP_UP, 0);
            uintptr_t before = state_of(&l);
            uint64_t start = pl_now();
            bool is_for =
                cases[c].op == OP_RD_FOR || cases[c].op == OP_WR_FOR || cases[c].op == OP_UP_FOR;
            uint64_t deadline = timeouts[i] ? start + timeouts[i] : 0;
            locker_t k;
            locker_start(&k, &l, cases[c].op, is_for ? timeouts[i] : deadline, false);
            tu_join(k.thread);
            ck_assert_msg(!k.result, "case %zu timeout %zu: acquired a held lock", c, i);
            ck_assert_msg(k.returned_at >= deadline,
                          "case %zu: returned false %llu ns before the deadline", c,
                          (unsigned long long)(deadline - k.returned_at));
            ck_assert_uint_lt(k.returned_at - start, 5 * TU_S);
            /* Giving up leaves nothing behind: no writer bit, no stale parked bits. */
            ck_assert_uint_eq(state_of(&l), before);
            unlock_mode(&l, cases[c].held);
            ck_assert_uint_eq(state_of(&l), 0);
        }
    }
}
END_TEST

START_TEST(timed_locks_succeed_when_freed_before_deadline)
{
    static const struct {
        char held;
        op_t op;
    } cases[] = {
        {'w', OP_RD_UNTIL}, {'w', OP_WR_FOR}, {'w', OP_UP_UNTIL},
        {'r', OP_WR_UNTIL}, {'u', OP_UP_FOR}, {'u', OP_WR_UNTIL},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        pl_rwlock_t l = PL_RWLOCK_INIT;
        (void)do_op(&l, cases[c].held == 'r' ? OP_RD : cases[c].held == 'w' ? OP_WR : OP_UP, 0);
        bool is_for = cases[c].op == OP_WR_FOR || cases[c].op == OP_UP_FOR;
        uint64_t deadline = pl_now() + 60 * TU_S;
        locker_t k;
        locker_start(&k, &l, cases[c].op, is_for ? 60 * TU_S : deadline, true);
        /* A writer facing readers waits on the second key; everyone else on the main one. */
        tu_wait_queued(cases[c].held == 'r' ? WRITER_KEY(&l) : MAIN_KEY(&l), 1);
        ck_assert(!atomic_load(&k.done));
        unlock_mode(&l, cases[c].held);
        wait_done(&k);
        ck_assert(k.result);
        ck_assert_uint_lt(k.returned_at, deadline);
        ck_assert(locker_finish(&k));
        ck_assert_uint_eq(state_of(&l), 0);
    }
}
END_TEST

START_TEST(past_deadline_takes_free_lock)
{
    pl_rwlock_t l = PL_RWLOCK_INIT;
    ck_assert(pl_rwlock_rdlock_until(&l, 0));
    ck_assert(pl_rwlock_rdlock_for(&l, 0));
    ck_assert(!pl_rwlock_wrlock_until(&l, 0)); /* read-held: a past deadline fails at once */
    ck_assert(!pl_rwlock_wrlock_for(&l, 0));
    ck_assert(pl_rwlock_uplock_until(&l, 0));
    ck_assert(!pl_rwlock_uplock_for(&l, 0));
    pl_rwlock_upunlock(&l);
    pl_rwlock_rdunlock(&l);
    pl_rwlock_rdunlock(&l);
    ck_assert_uint_eq(state_of(&l), 0);

    ck_assert(pl_rwlock_wrlock_for(&l, 0));
    ck_assert(!pl_rwlock_rdlock_until(&l, 0));
    ck_assert(!pl_rwlock_rdlock_for(&l, 0));
    ck_assert(!pl_rwlock_uplock_until(&l, 0));
    pl_rwlock_wrunlock(&l);
    ck_assert(pl_rwlock_wrlock_until(&l, 0));
    pl_rwlock_wrunlock(&l);
    ck_assert(pl_rwlock_uplock_for(&l, 0));
    ck_assert(pl_rwlock_upgrade_for(&l, 0));
    pl_rwlock_wrunlock(&l);
    ck_assert_uint_eq(state_of(&l), 0);
}
END_TEST

/* A writer with a deadline already past must not hold the writer bit, which turns new readers
 * away, while it looks at the readers inside (issue 10: it held it for its whole ~10 us spin).
 * A reader thread keeps trying tryrdlock meanwhile: with only readers inside and no writer bit,
 * it can never fail. */
typedef struct try_reader {
    pl_rwlock_t *l;
    atomic_int stop;
    atomic_ulong tries, failures;
} try_reader_t;

static void *try_reader_main(void *arg)
{
    try_reader_t *t = arg;
    while (!atomic_load(&t->stop)) {
        if (pl_rwlock_tryrdlock(t->l))
            pl_rwlock_rdunlock(t->l);
        else
            atomic_fetch_add(&t->failures, 1);
        atomic_fetch_add(&t->tries, 1);
    }
    return NULL;
}

START_TEST(past_deadline_writer_never_blocks_readers)
{
    pl_rwlock_t l = PL_RWLOCK_INIT;
    pl_rwlock_rdlock(&l);
    try_reader_t t = {.l = &l};
    pthread_t th;
    tu_spawn(&th, try_reader_main, &t);
    while (atomic_load(&t.tries) < 10) /* the reader runs */
        sched_yield();
    for (int i = 0; i < 2000; i++) {
        ck_assert(!pl_rwlock_wrlock_until(&l, 0));
        ck_assert(!pl_rwlock_wrlock_for(&l, 0));
        ck_assert(!pl_rwlock_wrlock_until(&l, pl_now()));
    }
    pl_rwlock_uplock(&l);
    for (int i = 0; i < 2000; i++) /* the upgrade waits for readers the same way */
        ck_assert(!pl_rwlock_upgrade_for(&l, 0));
    atomic_store(&t.stop, 1);
    tu_join(th);
    ck_assert_msg(atomic_load(&t.failures) == 0,
                  "tryrdlock failed %lu times out of %lu: a past-deadline writer held the "
                  "writer bit",
                  (unsigned long)atomic_load(&t.failures), (unsigned long)atomic_load(&t.tries));
    pl_rwlock_upunlock(&l);
    pl_rwlock_rdunlock(&l);
    ck_assert_uint_eq(state_of(&l), 0);
}
END_TEST

START_TEST(huge_timeouts_wait)
{
    /* If now + timeout overflowed, the deadline would be in the past and the call would fail
     * at once instead of waiting for the unlock. */
    static const uint64_t timeouts[] = {UINT64_MAX, UINT64_MAX - 1, UINT64_MAX / 2 + 1};
    static const op_t ops[] = {OP_RD_FOR, OP_WR_FOR, OP_UP_FOR};
    for (size_t i = 0; i < 3; i++) {
        for (size_t j = 0; j < 3; j++) {
            pl_rwlock_t l = PL_RWLOCK_INIT;
            pl_rwlock_wrlock(&l);
            locker_t k;
            locker_start(&k, &l, ops[j], timeouts[i], false);
            tu_wait_queued(MAIN_KEY(&l), 1);
            pl_rwlock_wrunlock(&l);
            tu_join(k.thread);
            ck_assert(k.result);
            ck_assert_uint_eq(state_of(&l), 0);
        }
    }
}
END_TEST

/* A writer that gives up while waiting for readers must drop its writer bit and wake the
 * readers it was holding back. */
START_TEST(writer_timeout_releases_held_back_readers)
{
    pl_rwlock_t l = PL_RWLOCK_INIT;
    pl_rwlock_rdlock(&l);
    locker_t w, r;
    locker_start(&w, &l, OP_WR_FOR, TU_S, true);
    tu_wait_queued(WRITER_KEY(&l), 1);
    locker_start(&r, &l, OP_RD, 0, true);
    tu_wait_queued(MAIN_KEY(&l), 1); /* blocked by the pending writer */
    wait_done(&w);
    ck_assert(!w.result);
    wait_done(&r); /* the writer's give-up woke it */
    ck_assert_uint_eq(state_of(&l), 2 * ONE);
    ck_assert(locker_finish(&r));
    tu_join(w.thread);
    pl_rwlock_rdunlock(&l);
    ck_assert_uint_eq(state_of(&l), 0);
}
END_TEST

typedef struct up_timeout {
    pl_rwlock_t *l;
    bool upgraded;
    atomic_bool tried, release;
    bool still_upgradable;
} up_timeout_t;

static void *upgrade_for_thread(void *arg)
{
    up_timeout_t *u = arg;
    pl_rwlock_uplock(u->l);
    u->upgraded = pl_rwlock_upgrade_for(u->l, TU_S);
    u->still_upgradable = pl_rwlock_is_upgradable_locked(u->l);
    atomic_store(&u->tried, true);
    unsigned polls = 0;
    while (!atomic_load(&u->release))
        tu_backoff(&polls);
    if (u->upgraded)
        pl_rwlock_wrunlock(u->l);
    else
        pl_rwlock_upunlock(u->l);
    return NULL;
}

static bool upgrade_tried(void *u) { return atomic_load(&((up_timeout_t *)u)->tried); }

START_TEST(upgrade_timeout_keeps_upgradable)
{
    pl_rwlock_t l = PL_RWLOCK_INIT;
    pl_rwlock_rdlock(&l);
    up_timeout_t u = {&l, false, false, false, false};
    pthread_t t;
    tu_spawn(&t, upgrade_for_thread, &u);
    tu_wait_queued(WRITER_KEY(&l), 1); /* upgrading: holds the writer bit, waits for us */
    locker_t r;
    locker_start(&r, &l, OP_RD, 0, true);
    tu_wait_queued(MAIN_KEY(&l), 1);
    ck_assert(tu_wait_until(upgrade_tried, &u));
    ck_assert(!u.upgraded);
    ck_assert(u.still_upgradable);
    wait_done(&r); /* the failed upgrade woke the reader it held back */
    /* Us, the reader and the upgradable holder; no writer bit. */
    ck_assert_uint_eq(state_of(&l), 3 * ONE | UPG);
    ck_assert(!pl_rwlock_tryuplock(&l));
    ck_assert(!pl_rwlock_trywrlock(&l));
    ck_assert(locker_finish(&r));
    atomic_store(&u.release, true);
    tu_join(t);
    pl_rwlock_rdunlock(&l);
    ck_assert_uint_eq(state_of(&l), 0);
}
END_TEST

/* ---- Exclusion under contention ---- */

enum { MIX_ITERS = 20000 };

typedef struct mix {
    pl_rwlock_t l;
    atomic_int readers_in, writers_in, upgraders_in;
    atomic_size_t violations;
    atomic_ulong writes; /* write sections performed */
    unsigned long a, b;  /* plain, written under the write lock only: always equal */
} mix_t;

static unsigned next_rand(unsigned *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

static void violation_if(mix_t *m, bool bad)
{
    if (bad)
        atomic_fetch_add(&m->violations, 1);
}

/* Read section for a plain reader (also after downgrades). */
static void read_section(mix_t *m, unsigned long expect)
{
    atomic_fetch_add(&m->readers_in, 1);
    violation_if(m, atomic_load(&m->writers_in) != 0);
    unsigned long a = m->a;
    sched_yield();
    unsigned long b = m->b;
    violation_if(m, a != b || (expect && a != expect));
    atomic_fetch_sub(&m->readers_in, 1);
}

/* Write section; returns the value written. */
static unsigned long write_section(mix_t *m, unsigned r)
{
    violation_if(m, atomic_fetch_add(&m->writers_in, 1) != 0);
    violation_if(m, atomic_load(&m->readers_in) != 0 || atomic_load(&m->upgraders_in) != 0);
    unsigned long v = m->a + 1;
    m->a = v;
    if (r & 1)
        sched_yield(); /* readers would see a != b if they could get in now */
    m->b = v;
    atomic_fetch_add(&m->writes, 1);
    atomic_fetch_sub(&m->writers_in, 1);
    return v;
}

static void enter_upgradable_section(mix_t *m)
{
    violation_if(m, atomic_fetch_add(&m->upgraders_in, 1) != 0);
    violation_if(m, atomic_load(&m->writers_in) != 0);
    violation_if(m, m->a != m->b);
}

/* After write_section: leave the write lock one of five ways. */
static void leave_write(mix_t *m, unsigned r, unsigned long v)
{
    switch ((r >> 3) % 5) {
    case 0: pl_rwlock_wrunlock(&m->l); break;
    case 1: pl_rwlock_wrunlock_fair(&m->l); break;
    case 2:
        pl_rwlock_downgrade(&m->l);
        read_section(m, v); /* no writer could get in between */
        pl_rwlock_rdunlock(&m->l);
        break;
    case 3:
        pl_rwlock_downgrade_to_upgradable(&m->l);
        enter_upgradable_section(m);
        violation_if(m, m->a != v);
        atomic_fetch_sub(&m->upgraders_in, 1);
        pl_rwlock_upunlock_fair(&m->l);
        break;
    default:
        pl_rwlock_downgrade_to_upgradable(&m->l);
        enter_upgradable_section(m);
        pl_rwlock_upgrade(&m->l);
        atomic_fetch_sub(&m->upgraders_in, 1);
        (void)write_section(m, r);
        pl_rwlock_wrunlock(&m->l);
        break;
    }
}

static void mix_read(mix_t *m, unsigned r)
{
    switch ((r >> 4) % 5) {
    case 0: pl_rwlock_rdlock(&m->l); break;
    case 1:
        while (!pl_rwlock_tryrdlock(&m->l))
            sched_yield();
        break;
    case 2:
        while (!pl_rwlock_rdlock_for(&m->l, 100000)) {
        }
        break;
    case 3:
        while (!pl_rwlock_rdlock_until(&m->l, pl_now() + 10000)) {
        }
        break;
    default: pl_rwlock_rdlock_recursive(&m->l); break;
    }
    read_section(m, 0);
    if (r & 2) {
        pl_rwlock_rdlock_recursive(&m->l); /* nested read while writers may queue */
        read_section(m, 0);
        pl_rwlock_rdunlock(&m->l);
    }
    if (r & 4)
        pl_rwlock_rdunlock_fair(&m->l);
    else
        pl_rwlock_rdunlock(&m->l);
}

static void mix_write(mix_t *m, unsigned r)
{
    switch ((r >> 4) % 4) {
    case 0: pl_rwlock_wrlock(&m->l); break;
    case 1:
        while (!pl_rwlock_trywrlock(&m->l))
            sched_yield();
        break;
    case 2:
        while (!pl_rwlock_wrlock_for(&m->l, 100000)) {
        }
        break;
    default:
        while (!pl_rwlock_wrlock_until(&m->l, pl_now() + 10000)) {
        }
        break;
    }
    leave_write(m, r, write_section(m, r));
}

static void mix_upgradable(mix_t *m, unsigned r)
{
    switch ((r >> 4) % 4) {
    case 0: pl_rwlock_uplock(&m->l); break;
    case 1:
        while (!pl_rwlock_tryuplock(&m->l))
            sched_yield();
        break;
    case 2:
        while (!pl_rwlock_uplock_for(&m->l, 100000)) {
        }
        break;
    default:
        while (!pl_rwlock_uplock_until(&m->l, pl_now() + 10000)) {
        }
        break;
    }
    enter_upgradable_section(m);
    bool upgraded;
    switch ((r >> 8) % 6) {
    case 0: upgraded = false; break;
    case 1:
        pl_rwlock_upgrade(&m->l);
        upgraded = true;
        break;
    case 2: upgraded = pl_rwlock_tryupgrade(&m->l); break;
    case 3: upgraded = pl_rwlock_upgrade_for(&m->l, 50000); break;
    case 4: upgraded = pl_rwlock_upgrade_until(&m->l, pl_now() + 50000); break;
    default:
        atomic_fetch_sub(&m->upgraders_in, 1);
        pl_rwlock_downgrade_upgradable(&m->l);
        read_section(m, 0);
        pl_rwlock_rdunlock(&m->l);
        return;
    }
    if (upgraded) {
        atomic_fetch_sub(&m->upgraders_in, 1);
        leave_write(m, r, write_section(m, r));
        return;
    }
    /* Not upgraded (by choice or time-out): still the only upgradable holder. */
    violation_if(m, atomic_load(&m->upgraders_in) != 1 || atomic_load(&m->writers_in) != 0);
    atomic_fetch_sub(&m->upgraders_in, 1);
    if (r & 4)
        pl_rwlock_upunlock_fair(&m->l);
    else
        pl_rwlock_upunlock(&m->l);
}

typedef struct mix_arg {
    mix_t *m;
    unsigned seed;
} mix_arg_t;

static void *mix_thread(void *arg)
{
    mix_arg_t *x = arg;
    unsigned r = x->seed;
    for (unsigned i = 0; i < MIX_ITERS; i++) {
        next_rand(&r);
        switch (r % 8) {
        case 0:
        case 1:
        case 2:
        case 3: mix_read(x->m, r >> 3); break;
        case 4:
        case 5: mix_write(x->m, r >> 3); break;
        default: mix_upgradable(x->m, r >> 3); break;
        }
    }
    return NULL;
}

START_TEST(exclusion_mixed_modes)
{
    long n = tu_ncpu() * 4;
    mix_t *m = calloc(1, sizeof *m);
    pthread_t *t = calloc((size_t)n, sizeof *t);
    mix_arg_t *args = calloc((size_t)n, sizeof *args);
    ck_assert(m && t && args);
    for (long i = 0; i < n; i++) {
        args[i] = (mix_arg_t){m, 0x9e3779b9u * (unsigned)(i + 1)};
        tu_spawn(&t[i], mix_thread, &args[i]);
    }
    for (long i = 0; i < n; i++)
        tu_join(t[i]);
    ck_assert_uint_eq(atomic_load(&m->violations), 0);
    ck_assert_uint_gt(atomic_load(&m->writes), 0);
    ck_assert_uint_eq(m->a, atomic_load(&m->writes)); /* no lost update */
    ck_assert_uint_eq(m->b, m->a);
    ck_assert_uint_eq(state_of(&m->l), 0); /* nobody left queued, no stale bit */
    free(args);
    free(t);
    free(m);
}
END_TEST

/* ---- Misuse aborts ---- */

START_TEST(overflow_is_not_a_false_alarm)
{
    /* One below full still works: the checks fire only on a real overflow. */
    pl_rwlock_t l = {PL_RWLOCK_READERS_MASK - ONE};
    ck_assert(pl_rwlock_tryrdlock(&l));
    ck_assert_uint_eq(state_of(&l), PL_RWLOCK_READERS_MASK);
    pl_rwlock_rdunlock(&l);
    ck_assert_uint_eq(state_of(&l), PL_RWLOCK_READERS_MASK - ONE);
}
END_TEST

static pl_rwlock_t misuse_l; /* the same address in the child after fork */

static void m_rdunlock(void *arg) { pl_rwlock_rdunlock(arg); }
static void m_wrunlock(void *arg) { pl_rwlock_wrunlock(arg); }
static void m_wrunlock_fair(void *arg) { pl_rwlock_wrunlock_fair(arg); }
static void m_upunlock(void *arg) { pl_rwlock_upunlock(arg); }
static void m_upgrade(void *arg) { pl_rwlock_upgrade(arg); }
static void m_downgrade(void *arg) { pl_rwlock_downgrade(arg); }
static void m_downgrade_upgradable(void *arg) { pl_rwlock_downgrade_upgradable(arg); }
static void m_overflow(void *arg)
{
    pl_rwlock_t *l = arg;
    l->state = PL_RWLOCK_READERS_MASK;
    pl_rwlock_rdlock(l);
}
static void m_overflow_try(void *arg)
{
    pl_rwlock_t *l = arg;
    l->state = PL_RWLOCK_READERS_MASK;
    (void)pl_rwlock_tryrdlock(l);
}
static void m_overflow_recursive(void *arg)
{
    pl_rwlock_t *l = arg;
    l->state = PL_RWLOCK_READERS_MASK | PARKED;
    pl_rwlock_rdlock_recursive(l);
}
static void m_overflow_uplock(void *arg)
{
    pl_rwlock_t *l = arg;
    l->state = PL_RWLOCK_READERS_MASK;
    (void)pl_rwlock_uplock_for(l, TU_MS);
}
static void m_upunlock_fair(void *arg) { pl_rwlock_upunlock_fair(arg); }
static void m_tryupgrade(void *arg) { (void)pl_rwlock_tryupgrade(arg); }
static void m_upgrade_for(void *arg)
{
    pl_rwlock_wrlock(arg);
    (void)pl_rwlock_upgrade_for(arg, TU_MS);
}
static void m_downgrade_to_upgradable(void *arg) { pl_rwlock_downgrade_to_upgradable(arg); }
static void m_rdunlock_write_locked(void *arg)
{
    pl_rwlock_wrlock(arg);
    pl_rwlock_rdunlock(arg);
}
static void m_wrunlock_read_locked(void *arg)
{
    pl_rwlock_rdlock(arg);
    pl_rwlock_wrunlock(arg);
}
static void m_rdunlock_fair_write_locked(void *arg)
{
    pl_rwlock_wrlock(arg);
    pl_rwlock_rdunlock_fair(arg);
}
static void m_wrunlock_fair_upgradable_locked(void *arg)
{
    pl_rwlock_uplock(arg);
    pl_rwlock_wrunlock_fair(arg);
}
static void m_wrunlock_parked_bit_only(void *arg)
{
    pl_rwlock_t *l = arg;
    l->state = PARKED;
    pl_rwlock_wrunlock(l);
}
static void m_upunlock_read_locked(void *arg)
{
    pl_rwlock_rdlock(arg);
    pl_rwlock_upunlock(arg);
}
static void m_upunlock_fair_write_locked(void *arg)
{
    pl_rwlock_wrlock(arg);
    pl_rwlock_upunlock_fair(arg);
}
static void m_upgrade_read_locked(void *arg)
{
    pl_rwlock_rdlock(arg);
    pl_rwlock_upgrade(arg);
}
static void m_downgrade_read_locked(void *arg)
{
    pl_rwlock_rdlock(arg);
    pl_rwlock_downgrade(arg);
}
static void m_downgrade_upgradable_read_locked(void *arg)
{
    pl_rwlock_rdlock(arg);
    pl_rwlock_downgrade_upgradable(arg);
}

/* fn(&misuse_l) aborts saying "libparking: <name>(<address>): " and, anywhere after, what. */
#define MISUSE(fn, name, what)                                                                     \
  {                                                                                                \
    name, fn, &misuse_l, {&misuse_l}, { "libparking: " name "(%p): ", what }                       \
  }

static const tu_misuse_t misuses[] = {
    MISUSE(m_rdunlock, "pl_rwlock_rdunlock", "no readers"),
    MISUSE(m_wrunlock, "pl_rwlock_wrunlock", "not write-locked"),
    MISUSE(m_wrunlock_fair, "pl_rwlock_wrunlock_fair", "not write-locked"),
    MISUSE(m_upunlock, "pl_rwlock_upunlock", "no upgradable holder"),
    MISUSE(m_upgrade, "pl_rwlock_upgrade", "no upgradable holder"),
    MISUSE(m_downgrade, "pl_rwlock_downgrade", "not write-locked"),
    MISUSE(m_downgrade_upgradable, "pl_rwlock_downgrade_upgradable", "no upgradable holder"),
    MISUSE(m_overflow, "pl_rwlock_rdlock", "reader count overflow"),
    /* The other entry points of each check, and the mode mismatches. */
    MISUSE(m_overflow_try, "pl_rwlock_tryrdlock", "reader count overflow"),
    MISUSE(m_overflow_recursive, "pl_rwlock_rdlock_recursive", "reader count overflow"),
    MISUSE(m_overflow_uplock, "pl_rwlock_uplock_for", "reader count overflow"),
    MISUSE(m_upunlock_fair, "pl_rwlock_upunlock_fair", "no upgradable holder"),
    MISUSE(m_tryupgrade, "pl_rwlock_tryupgrade", "no upgradable holder"),
    MISUSE(m_upgrade_for, "pl_rwlock_upgrade_for", "no upgradable holder"),
    MISUSE(m_downgrade_to_upgradable, "pl_rwlock_downgrade_to_upgradable", "not write-locked"),
    MISUSE(m_rdunlock_write_locked, "pl_rwlock_rdunlock", "no readers"),
    MISUSE(m_wrunlock_read_locked, "pl_rwlock_wrunlock", "not write-locked"),
    MISUSE(m_rdunlock_fair_write_locked, "pl_rwlock_rdunlock_fair", "no readers"),
    MISUSE(m_wrunlock_fair_upgradable_locked, "pl_rwlock_wrunlock_fair", "not write-locked"),
    MISUSE(m_wrunlock_parked_bit_only, "pl_rwlock_wrunlock", "not write-locked"),
    MISUSE(m_upunlock_read_locked, "pl_rwlock_upunlock", "no upgradable holder"),
    MISUSE(m_upunlock_fair_write_locked, "pl_rwlock_upunlock_fair", "no upgradable holder"),
    MISUSE(m_upgrade_read_locked, "pl_rwlock_upgrade", "no upgradable holder"),
    MISUSE(m_downgrade_read_locked, "pl_rwlock_downgrade", "not write-locked"),
    MISUSE(m_downgrade_upgradable_read_locked, "pl_rwlock_downgrade_upgradable",
           "no upgradable holder"),
};

/* Each misuse aborts (SIGABRT, in Check's forked child); misuse_messages checks the text. */
START_TEST(misuse_aborts) { misuses[_i].fn(misuses[_i].arg); }
END_TEST

START_TEST(misuse_messages) { tu_expect_misuse(&misuses[_i]); }
END_TEST

/* ---- Suite ---- */

static Suite *rwlock_suite(void)
{
    Suite *s = suite_create("rwlock");
    TCase *tc = tu_tcase(s, "basic", 10);
    tcase_add_test(tc, layout_is_one_word);
    tcase_add_test(tc, each_mode_round_trip);
    tcase_add_test(tc, trylocks_fail_when_they_must);
    tcase_add_test(tc, trylocks_take_free_lock_with_stale_bits);
    tcase_add_test(tc, upgrade_and_downgrade_single_thread);

    tc = tu_tcase(s, "policy", 60);
    tcase_add_test(tc, pending_writer_blocks_readers_recursive_read_enters);
    tcase_add_test(tc, recursive_read_blocks_while_writer_holds);
    tcase_add_test(tc, writer_not_starved_by_reader_stream);
    tcase_add_test(tc, many_readers_woken_by_one_unlock);
    tcase_add_test(tc, many_readers_handed_off_by_fair_unlock);
    tcase_add_test(tc, unlock_stops_at_first_writer);
    tcase_add_test(tc, unlock_takes_one_upgradable_and_all_readers);
    tcase_add_test(tc, downgrade_lets_readers_in);
    tcase_add_test(tc, downgrade_upgradable_lets_writer_take_its_turn);
    tcase_add_test(tc, upgrade_waits_for_readers_and_blocks_new_ones);

    tc = tu_tcase(s, "fair", 30);
    tcase_add_test(tc, wrunlock_fair_hands_off_to_writer);
    tcase_add_test(tc, upunlock_fair_hands_off);
    tcase_add_test(tc, rdunlock_fair_hands_writer_the_lock);

    tc = tu_tcase(s, "timed", 60);
    tcase_add_test(tc, timed_locks_fail_not_before_deadline);
    tcase_add_test(tc, timed_locks_succeed_when_freed_before_deadline);
    tcase_add_test(tc, past_deadline_takes_free_lock);
    tcase_add_test(tc, past_deadline_writer_never_blocks_readers);
    tcase_add_test(tc, huge_timeouts_wait);
    tcase_add_test(tc, writer_timeout_releases_held_back_readers);
    tcase_add_test(tc, upgrade_timeout_keeps_upgradable);

    tc = tu_tcase(s, "contended", 120);
    tcase_add_test(tc, exclusion_mixed_modes);

    tc = tu_tcase(s, "misuse", 10);
    tcase_add_loop_test_raise_signal(tc, misuse_aborts, SIGABRT, 0, TU_LEN(misuses));
    tcase_add_test(tc, overflow_is_not_a_false_alarm);
    tcase_add_loop_test(tc, misuse_messages, 0, TU_LEN(misuses));
    return s;
}

int main(void) { return tu_run_suite(rwlock_suite()); }
