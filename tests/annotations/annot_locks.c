/* Programs for race detectors: ThreadSanitizer, Helgrind and DRD (tests/annotations/CMakeLists.txt
 * builds this file several ways and runs it under them).
 *
 *   annot_locks <scenario> [percent]
 *
 * Every scenario but race-* is correctly synchronised by libparking alone, and shares
 * non-atomic data between threads: a race detector that reports anything there reports a false
 * race, which is what the annotations (include/parking/annotate.h) exist to prevent.  The
 * library is the plain one, not instrumented, so the happens-before its slow paths create is
 * visible to a detector only through the annotations.
 *
 * The *-handoff, once-parked and wait-wake scenarios make the library's slow paths the ONLY edge
 * between a write and a later read, deterministically: one thread is known to be parked
 * (counted on the parking lot with pl_unpark_filter, which wakes nobody) before the other
 * writes and hands the lock over, or finishes the initialiser, or wakes it.  The *-fastpath
 * scenarios do the same through the inline fast paths only (no contention, no parking).
 * Without annotations ThreadSanitizer reports the first kind (it sees the fast paths' atomics,
 * not the library's), Helgrind and DRD the second (they understand no atomics, and see the
 * library's slow paths through its own client requests); with annotations all are clean.  The
 * test threads poll with relaxed atomics only, so that the polling itself orders nothing.
 *
 * contended runs every lock, contended (so the parking slow paths, fair hand-offs, condition
 * variable requeues and timed paths all run), checking exclusion invariants: it exits 1 on a
 * broken invariant.  race-mutex and race-rwlock contain a deliberate unlocked access that a
 * detector must report; foreign-unlock (an unlock by a thread that does not hold the mutex) and
 * lock-order-inversion (A then B, later B then A) are misuse that a detector that knows the
 * locks reports.  `percent` scales contended's iteration counts (default 100). */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <parking/parking.h>

static unsigned percent = 100; /* of the default iteration counts */

static void fail(const char *what)
{
    fprintf(stderr, "annot_locks: FAILED: %s\n", what);
    exit(1);
}

static void start(pthread_t *t, void *(*fn)(void *), void *arg)
{
    if (pthread_create(t, NULL, fn, arg) != 0)
        fail("pthread_create");
}

static void join(pthread_t t)
{
    if (pthread_join(t, NULL) != 0)
        fail("pthread_join");
}

static pl_filter_op_t count_filter(void *ctx, uintptr_t token)
{
    (void)token;
    ++*(size_t *)ctx;
    return PL_FILTER_SKIP;
}

static uintptr_t zero_callback(void *ctx, pl_unpark_result_t r)
{
    (void)ctx;
    (void)r;
    return 0;
}

/* Threads parked on addr now (wakes nobody). */
static size_t queued(const void *addr)
{
    size_t n = 0;
    (void)pl_unpark_filter(addr, count_filter, zero_callback, &n);
    return n;
}

static void wait_queued(const void *addr, size_t n)
{
    while (queued(addr) < n)
        sched_yield();
}

/* ---- Deterministic hand-offs: the library is the only edge from writer to reader. ---- */

static int shared; /* non-atomic, on purpose */
static pl_mutex_t hm;
static pl_rwlock_t hl;
static pl_remutex_t hr;
static pl_cond_t hc;
static int ready;

static void check_shared(int want)
{
    if (shared != want)
        fail("the hand-off did not carry the write");
}

static void *mutex_taker(void *arg)
{
    (void)arg;
    pl_mutex_lock(&hm); /* parks: main holds it */
    check_shared(42);
    shared = 43;
    pl_mutex_unlock(&hm);
    return NULL;
}

static void mutex_handoff(void)
{
    pthread_t t;
    pl_mutex_lock(&hm);
    start(&t, mutex_taker, NULL);
    wait_queued(&hm, 1);
    shared = 42;
    pl_mutex_unlock_fair(&hm); /* the lock goes to the parked thread, still locked */
    join(t);
    check_shared(43);
}

static void *rwlock_reader(void *arg)
{
    (void)arg;
    pl_rwlock_rdlock(&hl); /* parks: main holds the write lock */
    check_shared(42);
    pl_rwlock_rdunlock(&hl);
    return NULL;
}

static void *rwlock_writer(void *arg)
{
    (void)arg;
    pl_rwlock_wrlock(&hl); /* parks: main holds the upgradable lock */
    check_shared(44);
    shared = 47;
    pl_rwlock_wrunlock(&hl);
    return NULL;
}

static void rwlock_handoff(void)
{
    pthread_t r, w;
    pl_rwlock_wrlock(&hl);
    start(&r, rwlock_reader, NULL);
    wait_queued(&hl, 1);
    shared = 42;
    pl_rwlock_wrunlock_fair(&hl); /* the reader gets its share before it runs */
    join(r);
    /* A writer parks behind the upgradable holder, which upgrades, writes, downgrades and
     * leaves: the writer gets in through the slow paths. */
    pl_rwlock_uplock(&hl);
    start(&w, rwlock_writer, NULL);
    wait_queued(&hl, 1);
    pl_rwlock_upgrade(&hl);
    shared = 44;
    pl_rwlock_downgrade(&hl);
    pl_rwlock_rdunlock(&hl);
    join(w);
    check_shared(47);
}

static void *remutex_taker(void *arg)
{
    (void)arg;
    pl_remutex_lock(&hr);
    pl_remutex_lock(&hr);
    check_shared(42);
    shared = 45;
    pl_remutex_unlock(&hr);
    pl_remutex_unlock(&hr);
    return NULL;
}

static void remutex_handoff(void)
{
    pthread_t t;
    pl_remutex_lock(&hr);
    pl_remutex_lock(&hr);
    start(&t, remutex_taker, NULL);
    wait_queued(&hr.mutex, 1);
    shared = 42;
    pl_remutex_unlock_fair(&hr); /* nested: still held */
    pl_remutex_unlock_fair(&hr);
    join(t);
    check_shared(45);
}

static void *cond_waiter(void *arg)
{
    (void)arg;
    pl_mutex_lock(&hm);
    while (!ready)
        pl_cond_wait(&hc, &hm);
    check_shared(42);
    shared = 46;
    pl_mutex_unlock(&hm);
    return NULL;
}

static void cond_handoff(void)
{
    pthread_t t;
    start(&t, cond_waiter, NULL);
    wait_queued(&hc, 1);
    pl_mutex_lock(&hm);
    shared = 42;
    ready = 1;
    (void)pl_cond_signal(&hc); /* the mutex is held: the waiter moves onto its queue */
    pl_mutex_unlock_fair(&hm); /* and is handed the mutex */
    join(t);
    check_shared(46);
}

static pl_once_t po;
static atomic_int once_runs;

static void *once_caller(void *arg);

static void once_init(void *arg)
{
    pthread_t *t = arg;
    atomic_fetch_add_explicit(&once_runs, 1, memory_order_relaxed);
    start(t, once_caller, NULL); /* it finds the once running and parks */
    wait_queued(&po, 1);
    shared = 42;
}

static void once_never(void *arg)
{
    (void)arg;
    fail("a second initialiser ran");
}

static void *once_caller(void *arg)
{
    (void)arg;
    pl_call_once(&po, once_never, NULL);
    check_shared(42);
    return NULL;
}

static void once_parked(void)
{
    pthread_t t;
    pl_call_once(&po, once_init, &t);
    join(t);
    if (atomic_load(&once_runs) != 1)
        fail("once ran twice");
}

static _Atomic uint32_t flag;

static void *wait_waiter(void *arg)
{
    (void)arg;
    uint32_t zero = 0;
    while (atomic_load_explicit(&flag, memory_order_relaxed) == 0)
        (void)pl_wait(&flag, &zero, sizeof zero, PL_FOREVER);
    check_shared(42);
    return NULL;
}

static void wait_wake(void)
{
    pthread_t t;
    start(&t, wait_waiter, NULL);
    wait_queued(&flag, 1);
    shared = 42;
    atomic_store_explicit(&flag, 1, memory_order_relaxed);
    (void)pl_wake_one(&flag);
    join(t);
}

/* ---- Fast paths only: one thread after the other, no contention, no parking.  The lock is
 * the only edge; the threads are sequenced by a relaxed flag (an exchange, which Helgrind and
 * DRD see as a read, so the flag itself is no race to them).  ThreadSanitizer sees the fast
 * paths' own atomics anyway; Helgrind and DRD see only the annotations. ---- */

static atomic_int step;

static void next_step(int s) { (void)atomic_exchange_explicit(&step, s, memory_order_relaxed); }

static void wait_step(int s)
{
    while (atomic_load_explicit(&step, memory_order_relaxed) != s)
        sched_yield();
}

static void *fast_mutex(void *arg)
{
    (void)arg;
    wait_step(1);
    pl_mutex_lock(&hm);
    check_shared(42);
    shared = 43;
    pl_mutex_unlock(&hm);
    return NULL;
}

static void *fast_rwlock(void *arg)
{
    (void)arg;
    wait_step(1);
    pl_rwlock_rdlock(&hl);
    check_shared(42);
    pl_rwlock_rdunlock(&hl);
    next_step(2);
    wait_step(3);
    pl_rwlock_wrlock(&hl);
    check_shared(44);
    shared = 45;
    pl_rwlock_wrunlock(&hl);
    return NULL;
}

static void *fast_remutex(void *arg)
{
    (void)arg;
    wait_step(1);
    pl_remutex_lock(&hr);
    check_shared(42);
    shared = 43;
    pl_remutex_unlock(&hr);
    return NULL;
}

static pl_once_t fo;

static void once_write(void *arg)
{
    (void)arg;
    shared = 42;
}

static void *fast_once(void *arg)
{
    (void)arg;
    wait_step(1);
    pl_call_once(&fo, once_never, NULL); /* done already: the inline fast path */
    check_shared(42);
    return NULL;
}

static void fastpath(void *(*fn)(void *))
{
    pthread_t t;
    start(&t, fn, NULL);
    if (fn == fast_once) {
        pl_call_once(&fo, once_write, NULL);
    } else if (fn == fast_remutex) {
        pl_remutex_lock(&hr);
        pl_remutex_lock(&hr);
        shared = 42;
        pl_remutex_unlock(&hr);
        pl_remutex_unlock(&hr);
    } else if (fn == fast_rwlock) {
        pl_rwlock_uplock(&hl);
        pl_rwlock_upgrade(&hl);
        shared = 42;
        pl_rwlock_downgrade(&hl); /* write -> read: the write is published */
        pl_rwlock_rdunlock(&hl);
    } else {
        pl_mutex_lock(&hm);
        shared = 42;
        pl_mutex_unlock(&hm);
    }
    next_step(1);
    if (fn == fast_rwlock) {
        wait_step(2);
        pl_rwlock_wrlock(&hl); /* after the reader: its read happens before this write */
        shared = 44;
        pl_rwlock_wrunlock(&hl);
        next_step(3);
    }
    join(t);
}

static void mutex_fastpath(void)
{
    fastpath(fast_mutex);
    check_shared(43);
}
static void rwlock_fastpath(void)
{
    fastpath(fast_rwlock);
    check_shared(45);
}
static void remutex_fastpath(void)
{
    fastpath(fast_remutex);
    check_shared(43);
}
static void once_fastpath(void)
{
    fastpath(fast_once);
    check_shared(42);
}

/* ---- Contended: every lock, with invariants. ---- */

enum { THREADS = 4, RING = 4 };

static struct {
    pl_mutex_t m;
    long counter; /* under m */
    int inside;   /* under m: must be 1 inside */

    pl_rwlock_t l;
    int cells[8]; /* under l: all equal whenever read-locked */
    long writes;

    pl_remutex_t r;
    long rcount;

    pl_mutex_t qm;
    pl_cond_t not_full, not_empty;
    int ring[RING];
    unsigned head, tail; /* under qm */
    long consumed_sum;

    pl_once_t once[4];
    int once_value[4];

    _Atomic uint32_t turn;
    long turn_data; /* touched only by the thread whose turn it is */
} c;

static unsigned iterations(unsigned n)
{
    unsigned k = (unsigned)((unsigned long)n * percent / 100);
    return k > 0 ? k : 1;
}

static void mutex_body(unsigned id, unsigned i)
{
    switch ((i + id) % 4) {
    case 0: pl_mutex_lock(&c.m); break;
    case 1:
        while (!pl_mutex_trylock(&c.m))
            sched_yield();
        break;
    case 2:
        while (!pl_mutex_lock_for(&c.m, 1000))
            ;
        break;
    default: (void)pl_mutex_lock_until(&c.m, PL_FOREVER); break;
    }
    if (++c.inside != 1)
        fail("two threads inside the mutex");
    c.counter++;
    c.inside--;
    if (i % 3 == 0)
        pl_mutex_unlock_fair(&c.m);
    else
        pl_mutex_unlock(&c.m);
}

static void check_cells(void)
{
    for (int k = 1; k < 8; k++)
        if (c.cells[k] != c.cells[0])
            fail("a reader saw a half-written state");
}

static void write_cells(void)
{
    for (int k = 0; k < 8; k++)
        c.cells[k]++;
    c.writes++;
}

static void rwlock_body(unsigned id, unsigned i)
{
    switch ((i + id) % 8) {
    case 0:
        pl_rwlock_wrlock(&c.l);
        write_cells();
        pl_rwlock_downgrade(&c.l);
        check_cells();
        pl_rwlock_rdunlock(&c.l);
        break;
    case 1:
        if (pl_rwlock_wrlock_for(&c.l, 1000000)) {
            write_cells();
            pl_rwlock_wrunlock_fair(&c.l);
        }
        break;
    case 2:
        pl_rwlock_uplock(&c.l);
        check_cells();
        pl_rwlock_upgrade(&c.l);
        write_cells();
        pl_rwlock_downgrade_to_upgradable(&c.l);
        check_cells();
        if (pl_rwlock_tryupgrade(&c.l)) {
            write_cells();
            pl_rwlock_wrunlock(&c.l);
        } else {
            pl_rwlock_downgrade_upgradable(&c.l);
            check_cells();
            pl_rwlock_rdunlock(&c.l);
        }
        break;
    case 3:
        if (pl_rwlock_trywrlock(&c.l)) {
            write_cells();
            pl_rwlock_wrunlock(&c.l);
        }
        break;
    case 4:
        pl_rwlock_rdlock_recursive(&c.l);
        check_cells();
        pl_rwlock_rdlock_recursive(&c.l);
        check_cells();
        pl_rwlock_rdunlock(&c.l);
        pl_rwlock_rdunlock_fair(&c.l);
        break;
    case 5:
        if (pl_rwlock_tryrdlock(&c.l)) {
            check_cells();
            pl_rwlock_rdunlock(&c.l);
        }
        break;
    case 6:
        if (pl_rwlock_uplock_for(&c.l, 1000000)) {
            check_cells();
            if (pl_rwlock_upgrade_for(&c.l, 1000000)) {
                write_cells();
                pl_rwlock_wrunlock(&c.l);
            } else {
                pl_rwlock_upunlock(&c.l);
            }
        }
        break;
    default:
        if (pl_rwlock_rdlock_for(&c.l, 1000000)) {
            check_cells();
            pl_rwlock_rdunlock(&c.l);
        }
        break;
    }
}

static void remutex_body(unsigned id, unsigned i)
{
    if ((i + id) % 2) {
        pl_remutex_lock(&c.r);
    } else {
        while (!pl_remutex_lock_for(&c.r, 1000))
            ;
    }
    c.rcount++;
    if (!pl_remutex_trylock(&c.r))
        fail("the owner's trylock failed");
    c.rcount++;
    pl_remutex_unlock(&c.r);
    if (i % 5 == 0)
        pl_remutex_unlock_fair(&c.r);
    else
        pl_remutex_unlock(&c.r);
}

static void produce(int v)
{
    pl_mutex_lock(&c.qm);
    while (c.tail - c.head == RING)
        pl_cond_wait(&c.not_full, &c.qm);
    c.ring[c.tail++ % RING] = v;
    (void)pl_cond_signal(&c.not_empty);
    pl_mutex_unlock(&c.qm);
}

static int consume(void)
{
    pl_mutex_lock(&c.qm);
    while (c.tail == c.head)
        (void)pl_cond_wait_for(&c.not_empty, &c.qm, 1000000);
    int v = c.ring[c.head++ % RING];
    (void)pl_cond_broadcast(&c.not_full);
    pl_mutex_unlock(&c.qm);
    return v;
}

static void once_init_value(void *arg)
{
    int *v = arg;
    *v = (int)(v - c.once_value) + 100;
}

#if !defined(ANNOT_VALGRIND)
static void turn_body(unsigned id, unsigned round)
{
    uint32_t want = (uint32_t)(round * THREADS + id);
    uint32_t now;
    /* Acquire and release on the word itself: a thread that sees its turn before it waits has
     * no other edge from the previous one (the wait-wake scenario tests the library's). */
    while ((now = atomic_load_explicit(&c.turn, memory_order_acquire)) != want)
        (void)pl_wait(&c.turn, &now, sizeof now, PL_FOREVER);
    if (c.turn_data != (long)want)
        fail("the turn's data is wrong");
    c.turn_data++;
    atomic_store_explicit(&c.turn, want + 1, memory_order_release);
    (void)pl_wake_all(&c.turn);
}
#endif

static void *contended_thread(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg;
    for (unsigned k = 0; k < 4; k++) {
        pl_call_once(&c.once[k], once_init_value, &c.once_value[k]);
        if (c.once_value[k] != (int)k + 100)
            fail("once value");
    }
    for (unsigned i = 0; i < iterations(2000); i++)
        mutex_body(id, i);
    for (unsigned i = 0; i < iterations(1000); i++)
        rwlock_body(id, i);
    for (unsigned i = 0; i < iterations(1000); i++)
        remutex_body(id, i);
    /* Half the threads produce, half consume, the same number of items. */
    for (unsigned i = 0; i < iterations(500); i++) {
        if (id % 2)
            produce((int)i);
        else
            __atomic_fetch_add(&c.consumed_sum, consume(), __ATOMIC_RELAXED);
    }
#if !defined(ANNOT_VALGRIND)
    /* Helgrind and DRD do not understand the turn word's own atomics, which order the turns
     * whenever a thread finds its turn without waiting: only under ThreadSanitizer. */
    for (unsigned round = 0; round < iterations(50); round++)
        turn_body(id, round);
#endif
    return NULL;
}

static void contended(void)
{
    pthread_t t[THREADS];
    for (unsigned i = 0; i < THREADS; i++)
        start(&t[i], contended_thread, (void *)(uintptr_t)i);
    for (unsigned i = 0; i < THREADS; i++)
        join(t[i]);
    if (c.counter != (long)THREADS * iterations(2000))
        fail("mutex counter");
    if (c.rcount != 2L * THREADS * iterations(1000))
        fail("remutex counter");
    for (int k = 0; k < 8; k++)
        if (c.cells[k] != (int)c.writes)
            fail("rwlock cells");
    long items = (long)iterations(500);
    if (c.consumed_sum != (THREADS / 2) * items * (items - 1) / 2)
        fail("condition variable queue sum");
#if !defined(ANNOT_VALGRIND)
    if (c.turn_data != (long)THREADS * iterations(50))
        fail("turns");
#endif
    printf("annot_locks contended: mutex %ld, rwlock writes %ld, remutex %ld, items %ld, "
           "turns %ld\n",
           c.counter, c.writes, c.rcount, (THREADS / 2) * items, c.turn_data);
}

/* ---- Deliberate races: a detector must report them. ---- */

static void *race_locked(void *arg)
{
    (void)arg;
    for (int i = 0; i < 1000; i++) {
        pl_mutex_lock(&hm);
        shared++;
        pl_mutex_unlock(&hm);
    }
    return NULL;
}

static void *race_unlocked(void *arg)
{
    (void)arg;
    for (int i = 0; i < 1000; i++)
        shared++; /* the bug: no lock */
    return NULL;
}

static void race_mutex(void)
{
    pthread_t a, b;
    start(&a, race_locked, NULL);
    start(&b, race_unlocked, NULL);
    join(a);
    join(b);
}

static void *race_reader_writes(void *arg)
{
    (void)arg;
    for (int i = 0; i < 1000; i++) {
        pl_rwlock_rdlock(&hl);
        shared++; /* the bug: a write under a read lock, concurrent with other readers */
        pl_rwlock_rdunlock(&hl);
    }
    return NULL;
}

static void race_rwlock(void)
{
    pthread_t a, b;
    start(&a, race_reader_writes, NULL);
    start(&b, race_reader_writes, NULL);
    join(a);
    join(b);
}

/* ---- Misuse that only a detector that knows the locks can see. ---- */

static void *lock_and_exit(void *arg)
{
    (void)arg;
    pl_mutex_lock(&hm); /* and never unlocks */
    return NULL;
}

static void foreign_unlock(void)
{
    pthread_t t;
    start(&t, lock_and_exit, NULL);
    join(t);
    pl_mutex_unlock(&hm); /* not the owner: the library cannot tell, a detector can */
}

static pl_mutex_t ma, mb;

static void lock_order_inversion(void)
{
    /* One thread suffices: the order A then B, later B then A, could deadlock two threads. */
    pl_mutex_lock(&ma);
    pl_mutex_lock(&mb);
    pl_mutex_unlock(&mb);
    pl_mutex_unlock(&ma);
    pl_mutex_lock(&mb);
    pl_mutex_lock(&ma);
    pl_mutex_unlock(&ma);
    pl_mutex_unlock(&mb);
}

static const struct {
    const char *name;
    void (*run)(void);
} scenarios[] = {
    {"mutex-handoff", mutex_handoff},
    {"rwlock-handoff", rwlock_handoff},
    {"remutex-handoff", remutex_handoff},
    {"cond-handoff", cond_handoff},
    {"once-parked", once_parked},
    {"wait-wake", wait_wake},
    {"mutex-fastpath", mutex_fastpath},
    {"rwlock-fastpath", rwlock_fastpath},
    {"remutex-fastpath", remutex_fastpath},
    {"once-fastpath", once_fastpath},
    {"contended", contended},
    {"race-mutex", race_mutex},
    {"race-rwlock", race_rwlock},
    {"foreign-unlock", foreign_unlock},
    {"lock-order-inversion", lock_order_inversion},
};

int main(int argc, char **argv)
{
    if (argc >= 3)
        percent = (unsigned)strtoul(argv[2], NULL, 10);
    for (size_t i = 0; argc >= 2 && i < sizeof scenarios / sizeof scenarios[0]; i++) {
        if (strcmp(argv[1], scenarios[i].name) == 0) {
            scenarios[i].run();
            return 0;
        }
    }
    fprintf(stderr, "usage: annot_locks <scenario> [percent]; scenarios:");
    for (size_t i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++)
        fprintf(stderr, " %s", scenarios[i].name);
    fprintf(stderr, "\n");
    return 2;
}
