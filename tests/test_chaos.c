/* A time-bounded stress of every primitive at 2, 8 and 64 threads, checking invariants as it
 * goes: exclusion (counters of the threads inside each critical section), the reader / writer /
 * upgradable rules, no lost wake-up (every item produced is consumed, a token passed around a
 * ring of threads never stops), once-only initialisation, timed waits that never end before
 * their deadline, and the caller's bits of a bit lock word preserved.
 *
 * It runs in every build; it is also the suite that tools/test-chaos runs under chaos mode
 * (-DPARKING_CHAOS=ON), where random delays inside the library make rare interleavings common.
 *
 * Duration: PARKING_STRESS_MS per primitive and thread count (default 250 ms; 7 primitives x 3
 * thread counts).  A watchdog thread fails the run if no operation completes for
 * PARKING_STRESS_STALL_MS (default 10 s): it prints the parking lot (pl_lot_dump: who waits on
 * which address, for how long) and aborts, so a lost wake-up or a deadlock shows in the log
 * instead of hanging CI.  The random choices of the workers come from PARKING_CHAOS_SEED when set
 * (the library's chaos seed), so a replay makes the same choices. */
#include "test_util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <parking/parking.h>

/* ---- Settings ---- */

static const size_t thread_counts[] = {2, 8, 64};
enum { THREAD_COUNTS = sizeof thread_counts / sizeof thread_counts[0] };

static uint64_t env_ms(const char *name, uint64_t fallback)
{
    const char *v = getenv(name);
    if (v == NULL || *v == '\0')
        return fallback;
    char *end;
    unsigned long long ms = strtoull(v, &end, 10);
    return *end == '\0' && ms > 0 ? (uint64_t)ms : fallback;
}

static uint64_t stress_ns(void) { return env_ms("PARKING_STRESS_MS", 250) * TU_MS; }
static uint64_t stall_ns(void) { return env_ms("PARKING_STRESS_STALL_MS", 10000) * TU_MS; }

/* ---- Shared run state ---- */

static atomic_bool g_stop;       /* the time is up: workers finish their operation and leave */
static atomic_size_t g_progress; /* operations completed, for the watchdog */
static atomic_bool g_failed;     /* an invariant broke; g_failure says which, first one only */
static char g_failure[512];

static void violation(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void violation(const char *fmt, ...)
{
    bool expected = false;
    if (!atomic_compare_exchange_strong(&g_failed, &expected, true))
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_failure, sizeof g_failure, fmt, ap);
    va_end(ap);
}

static bool stopping(void) { return atomic_load_explicit(&g_stop, memory_order_relaxed); }

static void progressed(void) { atomic_fetch_add_explicit(&g_progress, 1, memory_order_relaxed); }

/* One worker thread's state.  Padded so workers do not share the cache lines they count in. */
enum { MAX_THREADS = 64 };
typedef struct worker {
    _Alignas(64) size_t index;
    size_t nthreads;
    uint64_t rng;
    uint64_t ops;      /* operations completed (a failed trylock or timed lock counts too) */
    uint64_t timeouts; /* timed operations that gave up (each checked against its deadline) */
    uint64_t mine[8];  /* per-lock successes, compared with the lock's own counter at the end */
    uint64_t sum;      /* cond: checksum of items produced or consumed */
    uint64_t last_seq[MAX_THREADS]; /* cond consumers: last sequence seen from each producer */
    pthread_t thread;
} worker_t;

static uint64_t rnd(worker_t *w)
{
    uint64_t x = w->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    w->rng = x;
    return x * UINT64_C(0x2545F4914F6CDD1D);
}

/* A timeout of 0 to 200 us: long enough to park, short enough to expire often. */
static uint64_t short_timeout(worker_t *w) { return rnd(w) % (200 * 1000); }

/* A timed operation gave up: it must not have done so before its deadline. */
static void check_timeout(worker_t *w, const char *what, uint64_t deadline)
{
    uint64_t now = pl_now();
    w->timeouts++;
    if (now < deadline)
        violation("%s gave up %" PRIu64 " ns before its deadline", what, deadline - now);
}

/* A little work inside a critical section; sometimes a yield, so that others queue up. */
static void dwell(worker_t *w)
{
    uint64_t r = rnd(w);
    if (r % 16 == 0)
        sched_yield();
    else
        for (volatile unsigned i = 0; i < r % 64; i++) {
        }
}

/* ---- Watchdog ---- */

typedef struct watchdog {
    const char *what;
    uint64_t stall;
    atomic_bool quit;
    pthread_t thread;
} watchdog_t;

static void *watchdog_main(void *arg)
{
    watchdog_t *wd = arg;
    size_t last = atomic_load(&g_progress);
    uint64_t last_change = pl_now();
    while (!atomic_load(&wd->quit)) {
        tu_sleep_ns(10 * TU_MS);
        size_t now_progress = atomic_load(&g_progress);
        uint64_t now = pl_now();
        if (now_progress != last) {
            last = now_progress;
            last_change = now;
            continue;
        }
        if (now - last_change >= wd->stall) {
            fprintf(stderr,
                    "test_chaos: %s: no progress for %" PRIu64 " ms (lost wake-up or deadlock); "
                    "the parked threads:\n",
                    wd->what, (uint64_t)((now - last_change) / TU_MS));
            fflush(stderr);
            pl_lot_dump(stderr);
            fprintf(stderr, "test_chaos: %s: stalled, aborting\n", wd->what);
            fflush(stderr);
            abort();
        }
    }
    return NULL;
}

static void watchdog_start(watchdog_t *wd, const char *what, uint64_t stall)
{
    wd->what = what;
    wd->stall = stall;
    atomic_init(&wd->quit, false);
    tu_spawn(&wd->thread, watchdog_main, wd);
}

static void watchdog_stop(watchdog_t *wd)
{
    atomic_store(&wd->quit, true);
    tu_join(wd->thread);
}

/* ---- A walker: pl_lot_walk and pl_lot_dump while everything parks, wakes and grows ---- */

typedef struct walker {
    uint64_t start; /* before any worker existed: no thread can have parked earlier */
    uint64_t walks; /* walks done */
    uint64_t seen;  /* parked threads visited, over all walks */
    atomic_bool quit;
    pthread_t thread;
} walker_t;

/* Under a bucket lock: only reads and arithmetic (violation() formats into a static buffer). */
static bool check_parked(const pl_parked_thread_t *t, void *ctx)
{
    walker_t *wk = ctx;
    uint64_t now = pl_now();
    if (t->key == NULL || t->parked_ns < wk->start || t->parked_ns > now)
        violation("pl_lot_walk: implausible record (key %p, parked %" PRIu64 " ns ago)", t->key,
                  now - t->parked_ns);
    wk->seen++;
    return true;
}

static void *walker_main(void *arg)
{
    walker_t *wk = arg;
    FILE *sink = tmpfile(); /* every 64th walk is a dump, rewound so the file stays small */
    while (!atomic_load(&wk->quit)) {
        (void)pl_lot_walk(check_parked, wk);
        if (sink != NULL && ++wk->walks % 64 == 0) {
            rewind(sink);
            (void)pl_lot_dump(sink);
        }
        tu_sleep_ns(200 * 1000); /* a walk now and then: the workers keep the processors */
    }
    if (sink != NULL)
        fclose(sink);
    return NULL;
}

/* ---- The harness ---- */

static uint64_t base_seed(void)
{
    const char *v = getenv("PARKING_CHAOS_SEED");
    return v != NULL ? strtoull(v, NULL, 10) : 0;
}

/* Runs fn on n workers for the stress duration, then stop_hook (which wakes whatever waits for
 * work that will not come), joins them, and fails the test on any recorded violation. */
static worker_t *run_stress(const char *name, size_t n, void *(*fn)(void *),
                            void (*stop_hook)(worker_t *, size_t))
{
    static worker_t workers[MAX_THREADS];
    ck_assert_uint_le(n, MAX_THREADS);
    memset(workers, 0, sizeof workers);
    atomic_store(&g_stop, false);
    atomic_store(&g_progress, 0);
    atomic_store(&g_failed, false);
    char what[64];
    snprintf(what, sizeof what, "%s with %u threads", name, (unsigned)n);
    watchdog_t wd;
    watchdog_start(&wd, what, stall_ns());
    walker_t wk;
    memset(&wk, 0, sizeof wk);
    wk.start = pl_now();
    atomic_init(&wk.quit, false);
    tu_spawn(&wk.thread, walker_main, &wk);
    uint64_t seed = base_seed();
    for (size_t i = 0; i < n; i++) {
        workers[i].index = i;
        workers[i].nthreads = n;
        workers[i].rng = (seed ^ (UINT64_C(0x9E3779B97F4A7C15) * (i + 1))) | 1;
        tu_spawn(&workers[i].thread, fn, &workers[i]);
    }
    uint64_t start = pl_now();
    tu_sleep_ns(stress_ns());
    atomic_store(&g_stop, true);
    if (stop_hook != NULL)
        stop_hook(workers, n);
    for (size_t i = 0; i < n; i++)
        tu_join(workers[i].thread);
    uint64_t elapsed = pl_now() - start;
    atomic_store(&wk.quit, true);
    tu_join(wk.thread);
    watchdog_stop(&wd);
    uint64_t ops = 0, timeouts = 0;
    for (size_t i = 0; i < n; i++) {
        ops += workers[i].ops;
        timeouts += workers[i].timeouts;
    }
    printf("test_chaos: %s: %" PRIu64 " operations, %" PRIu64 " timed out, in %" PRIu64
           " ms; %" PRIu64 " walks saw %" PRIu64 " parked threads\n",
           what, ops, timeouts, (uint64_t)(elapsed / TU_MS), wk.walks, wk.seen);
    fflush(stdout);
    ck_assert_msg(!atomic_load(&g_failed), "%s: %s", what, g_failure);
    ck_assert_msg(ops > 0, "%s: no operation completed", what);
    return workers;
}

/* ---- pl_mutex_t: lock, trylock, timed locks, fair and normal unlocks ---- */

enum { MUTEXES = 3 };
static struct {
    _Alignas(64) pl_mutex_t m;
    atomic_int inside;
    uint64_t count; /* only touched while holding m */
} g_mutexes[MUTEXES];

static void *mutex_worker(void *arg)
{
    worker_t *w = arg;
    while (!stopping()) {
        size_t k = rnd(w) % MUTEXES;
        pl_mutex_t *m = &g_mutexes[k].m;
        bool got = true;
        uint64_t deadline;
        switch (rnd(w) % 8) {
        case 0: got = pl_mutex_trylock(m); break;
        case 1: {
            uint64_t timeout = short_timeout(w), t0 = pl_now();
            got = pl_mutex_lock_for(m, timeout);
            if (!got)
                check_timeout(w, "pl_mutex_lock_for", t0 + timeout);
            break;
        }
        case 2:
            deadline = pl_now() + short_timeout(w);
            got = pl_mutex_lock_until(m, deadline);
            if (!got)
                check_timeout(w, "pl_mutex_lock_until", deadline);
            break;
        default: pl_mutex_lock(m); break;
        }
        if (got) {
            if (atomic_fetch_add(&g_mutexes[k].inside, 1) != 0)
                violation("mutex %u: two threads inside", (unsigned)k);
            g_mutexes[k].count++;
            w->mine[k]++;
            dwell(w);
            atomic_fetch_sub(&g_mutexes[k].inside, 1);
            if (rnd(w) % 8 == 0)
                pl_mutex_unlock_fair(m);
            else
                pl_mutex_unlock(m);
        }
        w->ops++;
        progressed();
    }
    return NULL;
}

START_TEST(stress_mutex)
{
    size_t n = thread_counts[_i];
    memset(g_mutexes, 0, sizeof g_mutexes);
    worker_t *w = run_stress("mutex", n, mutex_worker, NULL);
    for (size_t k = 0; k < MUTEXES; k++) {
        uint64_t sum = 0;
        for (size_t i = 0; i < n; i++)
            sum += w[i].mine[k];
        ck_assert_uint_eq(g_mutexes[k].count, sum);
        ck_assert(!pl_mutex_is_locked(&g_mutexes[k].m));
    }
}
END_TEST

/* ---- pl_rwlock_t: every mode, timed and try variants, upgrades and downgrades ---- */

static pl_rwlock_t g_rw;
static atomic_int rw_readers, rw_writers, rw_upgradables; /* threads inside, by mode */
static uint64_t rw_a, rw_b; /* written by writers only, always equal outside a write */
static atomic_size_t rw_writes;

static void rw_enter_read(void)
{
    atomic_fetch_add(&rw_readers, 1);
    if (atomic_load(&rw_writers) != 0)
        violation("rwlock: a reader inside with a writer");
    if (rw_a != rw_b)
        violation("rwlock: a reader saw a write half done");
}

static void rw_leave_read(worker_t *w)
{
    atomic_fetch_sub(&rw_readers, 1);
    if (rnd(w) % 2)
        pl_rwlock_rdunlock(&g_rw);
    else
        pl_rwlock_rdunlock_fair(&g_rw);
}

static void rw_enter_upgradable(void)
{
    if (atomic_fetch_add(&rw_upgradables, 1) != 0)
        violation("rwlock: two upgradable holders");
    if (atomic_load(&rw_writers) != 0)
        violation("rwlock: an upgradable holder inside with a writer");
}

static void rw_enter_write(void)
{
    if (atomic_fetch_add(&rw_writers, 1) != 0)
        violation("rwlock: two writers");
    if (atomic_load(&rw_readers) != 0 || atomic_load(&rw_upgradables) != 0)
        violation("rwlock: a writer inside with readers or an upgradable holder");
    rw_a++;
    rw_b++;
    atomic_fetch_add(&rw_writes, 1);
}

/* The caller holds the write lock (counted in rw_writers): leave by one of the four ways. */
static void rw_leave_write(worker_t *w)
{
    switch (rnd(w) % 5) {
    case 0:
        atomic_fetch_add(&rw_readers, 1);
        atomic_fetch_sub(&rw_writers, 1);
        pl_rwlock_downgrade(&g_rw);
        dwell(w);
        rw_leave_read(w);
        return;
    case 1:
        if (atomic_fetch_add(&rw_upgradables, 1) != 0)
            violation("rwlock: two upgradable holders");
        atomic_fetch_sub(&rw_writers, 1);
        pl_rwlock_downgrade_to_upgradable(&g_rw);
        dwell(w);
        atomic_fetch_sub(&rw_upgradables, 1);
        pl_rwlock_upunlock(&g_rw);
        return;
    case 2:
        atomic_fetch_sub(&rw_writers, 1);
        pl_rwlock_wrunlock_fair(&g_rw);
        return;
    default:
        atomic_fetch_sub(&rw_writers, 1);
        pl_rwlock_wrunlock(&g_rw);
        return;
    }
}

/* The caller holds the upgradable lock: upgrade, downgrade or leave. */
static void rw_from_upgradable(worker_t *w)
{
    bool upgraded = false;
    switch (rnd(w) % 6) {
    case 0:
        pl_rwlock_upgrade(&g_rw);
        upgraded = true;
        break;
    case 1: {
        uint64_t timeout = short_timeout(w), t0 = pl_now();
        upgraded = pl_rwlock_upgrade_for(&g_rw, timeout);
        if (!upgraded)
            check_timeout(w, "pl_rwlock_upgrade_for", t0 + timeout);
        break;
    }
    case 2: {
        uint64_t deadline = pl_now() + short_timeout(w);
        upgraded = pl_rwlock_upgrade_until(&g_rw, deadline);
        if (!upgraded)
            check_timeout(w, "pl_rwlock_upgrade_until", deadline);
        break;
    }
    case 3: upgraded = pl_rwlock_tryupgrade(&g_rw); break;
    case 4:
        atomic_fetch_add(&rw_readers, 1);
        atomic_fetch_sub(&rw_upgradables, 1);
        pl_rwlock_downgrade_upgradable(&g_rw);
        dwell(w);
        rw_leave_read(w);
        return;
    default: break;
    }
    if (upgraded) {
        /* A failed upgrade keeps the upgradable lock; a successful one excludes everyone. */
        if (atomic_fetch_add(&rw_writers, 1) != 0)
            violation("rwlock: an upgrade while another writer is inside");
        atomic_fetch_sub(&rw_upgradables, 1);
        if (atomic_load(&rw_readers) != 0)
            violation("rwlock: an upgrade returned with readers inside");
        rw_a++;
        rw_b++;
        atomic_fetch_add(&rw_writes, 1);
        dwell(w);
        rw_leave_write(w);
        return;
    }
    dwell(w);
    atomic_fetch_sub(&rw_upgradables, 1);
    if (rnd(w) % 4 == 0)
        pl_rwlock_upunlock_fair(&g_rw);
    else
        pl_rwlock_upunlock(&g_rw);
}

static void *rwlock_worker(void *arg)
{
    worker_t *w = arg;
    while (!stopping()) {
        bool got = true;
        uint64_t timeout, t0, deadline;
        unsigned op = (unsigned)(rnd(w) % 12);
        switch (op) {
        /* Readers. */
        case 0: pl_rwlock_rdlock(&g_rw); break;
        case 1: got = pl_rwlock_tryrdlock(&g_rw); break;
        case 2:
            timeout = short_timeout(w), t0 = pl_now();
            got = pl_rwlock_rdlock_for(&g_rw, timeout);
            if (!got)
                check_timeout(w, "pl_rwlock_rdlock_for", t0 + timeout);
            break;
        case 3: pl_rwlock_rdlock_recursive(&g_rw); break;
        case 4: pl_rwlock_rdlock(&g_rw); break;
        /* Writers. */
        case 5: pl_rwlock_wrlock(&g_rw); break;
        case 6: got = pl_rwlock_trywrlock(&g_rw); break;
        case 7:
            deadline = pl_now() + short_timeout(w);
            got = pl_rwlock_wrlock_until(&g_rw, deadline);
            if (!got)
                check_timeout(w, "pl_rwlock_wrlock_until", deadline);
            break;
        /* Upgradable. */
        case 8: pl_rwlock_uplock(&g_rw); break;
        case 9: got = pl_rwlock_tryuplock(&g_rw); break;
        case 10:
            timeout = short_timeout(w), t0 = pl_now();
            got = pl_rwlock_uplock_for(&g_rw, timeout);
            if (!got)
                check_timeout(w, "pl_rwlock_uplock_for", t0 + timeout);
            break;
        default: pl_rwlock_uplock(&g_rw); break;
        }
        if (got) {
            if (op <= 4) {
                rw_enter_read();
                dwell(w);
                rw_leave_read(w);
            } else if (op <= 7) {
                rw_enter_write();
                dwell(w);
                rw_leave_write(w);
            } else {
                rw_enter_upgradable();
                dwell(w);
                rw_from_upgradable(w);
            }
        }
        w->ops++;
        progressed();
    }
    return NULL;
}

START_TEST(stress_rwlock)
{
    size_t n = thread_counts[_i];
    memset(&g_rw, 0, sizeof g_rw);
    rw_a = rw_b = 0;
    atomic_store(&rw_writes, 0);
    (void)run_stress("rwlock", n, rwlock_worker, NULL);
    ck_assert_uint_eq(rw_a, atomic_load(&rw_writes));
    ck_assert_uint_eq(rw_b, rw_a);
    ck_assert(!pl_rwlock_is_locked(&g_rw));
    ck_assert_int_eq(
        atomic_load(&rw_readers) + atomic_load(&rw_writers) + atomic_load(&rw_upgradables), 0);
}
END_TEST

/* ---- pl_cond_t: a bounded queue between producers and consumers ---- */

enum { QUEUE_CAP = 4 };
static pl_mutex_t q_mutex;
static pl_cond_t q_not_empty, q_not_full;
static uint64_t q_items[QUEUE_CAP]; /* the rest of the queue's state is under q_mutex too */
static size_t q_head, q_len, q_producers_left;

/* Waits on c with one of the three calls; untimed three times in four, so that a lost signal
 * hangs (and the watchdog reports it) instead of being covered up by a time-out. */
static void q_wait(worker_t *w, pl_cond_t *c)
{
    uint64_t r = rnd(w) % 8;
    if (r < 6) {
        pl_cond_wait(c, &q_mutex);
    } else if (r == 6) {
        uint64_t timeout = short_timeout(w), t0 = pl_now();
        if (!pl_cond_wait_for(c, &q_mutex, timeout))
            check_timeout(w, "pl_cond_wait_for", t0 + timeout);
    } else {
        uint64_t deadline = pl_now() + short_timeout(w);
        if (!pl_cond_wait_until(c, &q_mutex, deadline))
            check_timeout(w, "pl_cond_wait_until", deadline);
    }
    if (!pl_mutex_is_locked(&q_mutex))
        violation("cond: a wait returned without the mutex");
}

/* Wakes one waiter of c (sometimes all), sometimes after unlocking the mutex. */
static void q_notify_and_unlock(worker_t *w, pl_cond_t *c)
{
    uint64_t r = rnd(w);
    bool all = r % 8 == 0, after = (r >> 8) % 4 == 0;
    if (!after)
        all ? (void)pl_cond_broadcast(c) : (void)pl_cond_signal(c);
    if ((r >> 16) % 8 == 0)
        pl_mutex_unlock_fair(&q_mutex);
    else
        pl_mutex_unlock(&q_mutex);
    if (after)
        all ? (void)pl_cond_broadcast(c) : (void)pl_cond_signal(c);
}

static void producer(worker_t *w)
{
    for (uint64_t seq = 1; !stopping(); seq++) {
        uint64_t item = ((uint64_t)w->index << 40) | seq;
        pl_mutex_lock(&q_mutex);
        while (q_len == QUEUE_CAP)
            q_wait(w, &q_not_full);
        q_items[(q_head + q_len) % QUEUE_CAP] = item;
        q_len++;
        q_notify_and_unlock(w, &q_not_empty);
        w->sum += item;
        w->ops++;
        progressed();
    }
    pl_mutex_lock(&q_mutex);
    if (--q_producers_left == 0)
        pl_cond_broadcast(&q_not_empty); /* consumers waiting for more: there is none */
    pl_mutex_unlock(&q_mutex);
}

static void consumer(worker_t *w)
{
    for (;;) {
        pl_mutex_lock(&q_mutex);
        while (q_len == 0 && q_producers_left > 0)
            q_wait(w, &q_not_empty);
        if (q_len == 0) {
            pl_mutex_unlock(&q_mutex);
            return;
        }
        uint64_t item = q_items[q_head];
        q_head = (q_head + 1) % QUEUE_CAP;
        q_len--;
        q_notify_and_unlock(w, &q_not_full);
        /* One queue, FIFO: each producer's items arrive in order, at every consumer. */
        size_t from = (size_t)(item >> 40);
        uint64_t seq = item & ((UINT64_C(1) << 40) - 1);
        if (from >= MAX_THREADS || seq <= w->last_seq[from])
            violation("cond: item %" PRIx64 " out of order or duplicated", item);
        else
            w->last_seq[from] = seq;
        w->sum += item;
        w->ops++;
        progressed();
    }
}

/* Even workers produce, odd ones consume. */
static void *cond_worker(void *arg)
{
    worker_t *w = arg;
    if (w->index % 2 == 0)
        producer(w);
    else
        consumer(w);
    return NULL;
}

START_TEST(stress_cond)
{
    size_t n = thread_counts[_i];
    memset(&q_mutex, 0, sizeof q_mutex);
    memset(&q_not_empty, 0, sizeof q_not_empty);
    memset(&q_not_full, 0, sizeof q_not_full);
    q_head = q_len = 0;
    q_producers_left = (n + 1) / 2;
    worker_t *w = run_stress("cond", n, cond_worker, NULL);
    uint64_t produced = 0, consumed = 0, nproduced = 0, nconsumed = 0;
    for (size_t i = 0; i < n; i++) {
        if (i % 2 == 0) {
            produced += w[i].sum;
            nproduced += w[i].ops;
        } else {
            consumed += w[i].sum;
            nconsumed += w[i].ops;
        }
    }
    ck_assert_uint_eq(q_len, 0);
    ck_assert_uint_eq(nconsumed, nproduced);
    ck_assert_uint_eq(consumed, produced);
    ck_assert(!pl_mutex_is_locked(&q_mutex));
}
END_TEST

/* ---- pl_once_t: many onces, every thread through each, some initialisers failing ---- */

enum { ONCES = 1 << 17 };
static pl_once_t *o_onces;
static atomic_int *o_runs;     /* successful runs of each initialiser: exactly one */
static atomic_int *o_attempts; /* runs of pl_call_once_try's initialiser, failed ones included */
static uint32_t *o_values;     /* written by the initialiser, read after the call: must be set */

typedef struct once_arg {
    worker_t *w;
    size_t i;
} once_arg_t;

static void once_body(once_arg_t *a)
{
    if (atomic_fetch_add(&o_runs[a->i], 1) != 0)
        violation("once %u: initialiser ran twice", (unsigned)a->i);
    /* Slow initialisers make the other callers park. */
    uint64_t r = rnd(a->w);
    if (r % 4 == 0)
        sched_yield();
    else if (r % 16 == 1)
        tu_sleep_ns(r % (20 * 1000));
    o_values[a->i] = (uint32_t)a->i + 1;
}

static void once_init(void *arg) { once_body(arg); }

static bool once_try_init(void *arg)
{
    once_arg_t *a = arg;
    /* The first two attempts on each once fail: the next caller in line must take over. */
    if (atomic_fetch_add(&o_attempts[a->i], 1) < 2) {
        if (rnd(a->w) % 2)
            sched_yield();
        return false;
    }
    once_body(a);
    return true;
}

static void *once_worker(void *arg)
{
    worker_t *w = arg;
    for (size_t i = 0; i < ONCES && !stopping(); i++) {
        once_arg_t a = {w, i};
        if (i % 2 == 0)
            pl_call_once(&o_onces[i], once_init, &a);
        else
            while (!pl_call_once_try(&o_onces[i], once_try_init, &a)) {
            }
        if (!pl_once_is_done(&o_onces[i]) || o_values[i] != (uint32_t)i + 1)
            violation("once %u: returned before the initialiser's result was visible", (unsigned)i);
        w->ops++;
        progressed();
    }
    return NULL;
}

START_TEST(stress_once)
{
    size_t n = thread_counts[_i];
    o_onces = calloc(ONCES, sizeof *o_onces);
    o_runs = calloc(ONCES, sizeof *o_runs);
    o_attempts = calloc(ONCES, sizeof *o_attempts);
    o_values = calloc(ONCES, sizeof *o_values);
    ck_assert(o_onces && o_runs && o_attempts && o_values);
    worker_t *w = run_stress("once", n, once_worker, NULL);
    size_t reached = 0;
    for (size_t i = 0; i < n; i++)
        reached = w[i].ops > reached ? w[i].ops : reached;
    for (size_t i = 0; i < reached; i++) {
        ck_assert_msg(atomic_load(&o_runs[i]) == 1, "once %zu ran %d times", i,
                      atomic_load(&o_runs[i]));
        ck_assert(pl_once_is_done(&o_onces[i]));
    }
    for (size_t i = reached; i < ONCES; i++)
        ck_assert_int_eq(atomic_load(&o_runs[i]), 0);
    free(o_onces);
    free(o_runs);
    free(o_attempts);
    free(o_values);
}
END_TEST

/* ---- pl_wait / pl_wake: one token passed around a ring of threads ----
 * Thread i waits until its word is non-zero, takes the token and passes it to thread i + 1 with
 * one wake.  With a single token, one lost wake-up stops the ring: the watchdog reports it.
 * Odd threads sometimes wait with a time-out (checked), even ones never do, so a lost wake-up
 * aimed at an even thread cannot be covered by a time-out. */

#define RING_STOP (UINT32_C(1) << 31)
static uint32_t ring_words[MAX_THREADS];

static void *wait_worker(void *arg)
{
    worker_t *w = arg;
    uint32_t *mine = &ring_words[w->index];
    uint32_t *next = &ring_words[(w->index + 1) % w->nthreads];
    for (;;) {
        uint32_t v = __atomic_load_n(mine, __ATOMIC_ACQUIRE);
        if (v & RING_STOP)
            return NULL;
        if (v == 0) {
            if (w->index % 2 == 1 && rnd(w) % 4 == 0) {
                uint64_t timeout = short_timeout(w), t0 = pl_now();
                int rc = pl_wait_for(mine, &v, sizeof v, timeout);
                if (rc == ETIMEDOUT)
                    check_timeout(w, "pl_wait_for", t0 + timeout);
                else if (rc != 0)
                    violation("pl_wait_for returned %d", rc);
            } else {
                int rc = pl_wait(mine, &v, sizeof v, PL_FOREVER);
                if (rc != 0)
                    violation("pl_wait returned %d", rc);
            }
            continue;
        }
        if (!__atomic_compare_exchange_n(mine, &v, v - 1, false, __ATOMIC_ACQ_REL,
                                         __ATOMIC_RELAXED))
            continue;
        __atomic_fetch_add(next, 1, __ATOMIC_RELEASE);
        if (rnd(w) % 4 == 0)
            (void)pl_wake_all(next);
        else
            (void)pl_wake_one(next);
        w->ops++;
        progressed();
    }
}

static void wait_stop(worker_t *w, size_t n)
{
    (void)w;
    for (size_t i = 0; i < n; i++) {
        __atomic_fetch_or(&ring_words[i], RING_STOP, __ATOMIC_RELEASE);
        (void)pl_wake_all(&ring_words[i]);
    }
}

START_TEST(stress_wait)
{
    size_t n = thread_counts[_i];
    memset(ring_words, 0, sizeof ring_words);
    ring_words[0] = 1;
    (void)run_stress("wait", n, wait_worker, wait_stop);
    uint32_t tokens = 0;
    for (size_t i = 0; i < n; i++)
        tokens += ring_words[i] & ~RING_STOP;
    ck_assert_uint_eq(tokens, 1);
}
END_TEST

/* ---- Bit locks: four locks in one byte, two in a word whose other bits change, a pointer
 * lock ---- */

enum { BYTE_LOCKS = 4, WORD_LOCKS = 2, BIT_LOCKS = BYTE_LOCKS + WORD_LOCKS + 1 };
enum { CALLER_BIT_SHIFT = 16, CALLER_BITS = 16 };
static uint8_t bl_byte;
static uint32_t bl_word;
static pl_ptrlock_t bl_ptr;
static uint64_t bl_targets[4];
static void *bl_ptr_expected; /* what pl_ptrlock_get must return; only under the lock */
static atomic_int bl_inside[BIT_LOCKS];
static uint64_t bl_count[BIT_LOCKS];

static bool bl_lock(worker_t *w, size_t k)
{
    uint64_t r = rnd(w) % 6, timeout = short_timeout(w);
    uint64_t deadline = pl_now() + timeout;
    bool got;
    if (k < BYTE_LOCKS) {
        uint8_t l = (uint8_t)(1u << (2 * k)), p = (uint8_t)(2u << (2 * k));
        if (r == 0)
            got = pl_bitlock8_trylock(&bl_byte, l, p);
        else if (r == 1)
            got = pl_bitlock8_lock_until(&bl_byte, l, p, deadline);
        else if (r == 2)
            got = pl_bitlock8_lock_for(&bl_byte, l, p, timeout);
        else
            got = (pl_bitlock8_lock(&bl_byte, l, p), true);
    } else if (k < BYTE_LOCKS + WORD_LOCKS) {
        size_t j = k - BYTE_LOCKS;
        uint32_t l = UINT32_C(1) << (2 * j), p = UINT32_C(2) << (2 * j);
        if (r == 0)
            got = pl_bitlock32_trylock(&bl_word, l, p);
        else if (r == 1)
            got = pl_bitlock32_lock_until(&bl_word, l, p, deadline);
        else
            got = (pl_bitlock32_lock(&bl_word, l, p), true);
    } else {
        if (r == 0)
            got = pl_ptrlock_trylock(&bl_ptr);
        else if (r == 1)
            got = pl_ptrlock_lock_until(&bl_ptr, deadline);
        else
            got = (pl_ptrlock_lock(&bl_ptr), true);
    }
    if (!got && r != 0)
        check_timeout(w, "a timed bit lock", deadline);
    return got;
}

static void bl_unlock(worker_t *w, size_t k)
{
    bool fair = rnd(w) % 8 == 0;
    if (k < BYTE_LOCKS) {
        uint8_t l = (uint8_t)(1u << (2 * k)), p = (uint8_t)(2u << (2 * k));
        fair ? pl_bitlock8_unlock_fair(&bl_byte, l, p) : pl_bitlock8_unlock(&bl_byte, l, p);
    } else if (k < BYTE_LOCKS + WORD_LOCKS) {
        size_t j = k - BYTE_LOCKS;
        uint32_t l = UINT32_C(1) << (2 * j), p = UINT32_C(2) << (2 * j);
        fair ? pl_bitlock32_unlock_fair(&bl_word, l, p) : pl_bitlock32_unlock(&bl_word, l, p);
    } else {
        fair ? pl_ptrlock_unlock_fair(&bl_ptr) : pl_ptrlock_unlock(&bl_ptr);
    }
}

/* Workers 0..15 each own one caller bit of bl_word and flip it while the locks in the same word
 * are taken and released: no lock operation may lose it. */
static void bl_flip_caller_bit(worker_t *w)
{
    if (w->index >= CALLER_BITS)
        return;
    uint32_t bit = UINT32_C(1) << (CALLER_BIT_SHIFT + w->index);
    uint32_t after = pl_bitlock32_update(&bl_word, 1, 2, 0, bit);
    if (!(after & bit) || (after & 3))
        violation("bitlock: update lost a caller bit or returned lock bits (0x%" PRIx32 ")", after);
    dwell(w);
    if (!(pl_bitlock32_load(&bl_word, 1, 2) & bit))
        violation("bitlock: a caller bit vanished while set");
    after = pl_bitlock32_update(&bl_word, 4, 8, bit, 0);
    if (after & bit)
        violation("bitlock: a caller bit stayed set after its clear");
}

static void *bitlock_worker(void *arg)
{
    worker_t *w = arg;
    while (!stopping()) {
        size_t k = rnd(w) % BIT_LOCKS;
        if (bl_lock(w, k)) {
            if (atomic_fetch_add(&bl_inside[k], 1) != 0)
                violation("bit lock %u: two threads inside", (unsigned)k);
            bl_count[k]++;
            w->mine[k]++;
            if (k == BIT_LOCKS - 1) {
                if (pl_ptrlock_get(&bl_ptr) != bl_ptr_expected)
                    violation("ptrlock: the pointer changed behind the lock");
                bl_ptr_expected = &bl_targets[rnd(w) % 4];
                pl_ptrlock_set(&bl_ptr, bl_ptr_expected);
            }
            dwell(w);
            atomic_fetch_sub(&bl_inside[k], 1);
            bl_unlock(w, k);
        }
        bl_flip_caller_bit(w);
        w->ops++;
        progressed();
    }
    return NULL;
}

START_TEST(stress_bitlock)
{
    size_t n = thread_counts[_i];
    bl_byte = 0;
    bl_word = 0;
    memset(&bl_ptr, 0, sizeof bl_ptr);
    bl_ptr_expected = NULL;
    memset(bl_count, 0, sizeof bl_count);
    worker_t *w = run_stress("bitlock", n, bitlock_worker, NULL);
    for (size_t k = 0; k < BIT_LOCKS; k++) {
        uint64_t sum = 0;
        for (size_t i = 0; i < n; i++)
            sum += w[i].mine[k];
        ck_assert_uint_eq(bl_count[k], sum);
    }
    /* Every lock released and every caller bit cleared by its owner; parked bits may stay. */
    ck_assert_uint_eq(bl_byte & 0x55, 0);
    ck_assert_uint_eq(bl_word & 0xFFFF0005u, 0);
    ck_assert(!pl_ptrlock_is_locked(&bl_ptr));
    ck_assert_ptr_eq(pl_ptrlock_get(&bl_ptr), bl_ptr_expected);
}
END_TEST

/* ---- pl_remutex_t: nested locking by the holder, exclusion between threads ---- */

static pl_remutex_t g_rm;
static atomic_int rm_inside;
static uint64_t rm_count;

static void *remutex_worker(void *arg)
{
    worker_t *w = arg;
    while (!stopping()) {
        bool got = true;
        uint64_t r = rnd(w) % 6, timeout, t0, deadline;
        if (r == 0) {
            got = pl_remutex_trylock(&g_rm);
        } else if (r == 1) {
            timeout = short_timeout(w), t0 = pl_now();
            got = pl_remutex_lock_for(&g_rm, timeout);
            if (!got)
                check_timeout(w, "pl_remutex_lock_for", t0 + timeout);
        } else if (r == 2) {
            deadline = pl_now() + short_timeout(w);
            got = pl_remutex_lock_until(&g_rm, deadline);
            if (!got)
                check_timeout(w, "pl_remutex_lock_until", deadline);
        } else {
            pl_remutex_lock(&g_rm);
        }
        if (got) {
            if (atomic_fetch_add(&rm_inside, 1) != 0)
                violation("remutex: two threads inside");
            rm_count++;
            w->mine[0]++;
            unsigned depth = 1 + (unsigned)(rnd(w) % 3);
            for (unsigned d = 1; d < depth; d++) {
                /* The holder never waits for itself, whichever call it uses. */
                bool again = d % 2 ? pl_remutex_trylock(&g_rm) : pl_remutex_lock_for(&g_rm, 0);
                if (!again)
                    violation("remutex: the holder failed to relock");
            }
            if (!pl_remutex_is_held(&g_rm))
                violation("remutex: held but not by the holder");
            dwell(w);
            for (unsigned d = 1; d < depth; d++)
                pl_remutex_unlock(&g_rm);
            atomic_fetch_sub(&rm_inside, 1);
            if (rnd(w) % 8 == 0)
                pl_remutex_unlock_fair(&g_rm);
            else
                pl_remutex_unlock(&g_rm);
            if (pl_remutex_is_held(&g_rm))
                violation("remutex: still held after the last unlock");
        }
        w->ops++;
        progressed();
    }
    return NULL;
}

START_TEST(stress_remutex)
{
    size_t n = thread_counts[_i];
    memset(&g_rm, 0, sizeof g_rm);
    rm_count = 0;
    worker_t *w = run_stress("remutex", n, remutex_worker, NULL);
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += w[i].mine[0];
    ck_assert_uint_eq(rm_count, sum);
    ck_assert(!pl_remutex_is_locked(&g_rm));
}
END_TEST

/* ---- The watchdog itself: a stall is reported with the parked threads, then aborts ---- */

static char stuck_key;

static void *stuck_main(void *arg)
{
    (void)arg;
    /* Nobody ever unparks this address. */
    (void)pl_park(&stuck_key, NULL, NULL, NULL, NULL, 0x5eed, PL_FOREVER);
    return NULL;
}

static void stall_for_the_watchdog(void *arg)
{
    (void)arg;
    pthread_t t;
    tu_spawn(&t, stuck_main, NULL);
    while (pl_lot_walk(NULL, NULL) == 0)
        sched_yield();
    watchdog_t wd;
    watchdog_start(&wd, "watchdog self-test", 200 * TU_MS);
    tu_join(t); /* never returns: the watchdog aborts first */
}

START_TEST(watchdog_reports_a_stall)
{
    char addr[64];
    snprintf(addr, sizeof addr, "addr 0x%" PRIxPTR " token 0x5eed", (uintptr_t)&stuck_key);
    const char *needles[] = {"test_chaos: watchdog self-test: no progress for",
                             "libparking: pl_lot_dump: 1 parked thread\n", addr,
                             "test_chaos: watchdog self-test: stalled, aborting", NULL};
    tu_expect_abort_message(stall_for_the_watchdog, NULL, needles);
}
END_TEST

static Suite *chaos_suite(void)
{
    Suite *s = suite_create("chaos");
    /* Each run lasts PARKING_STRESS_MS; the limit also leaves room for the watchdog's 10 s. */
    double limit = 60 + 4.0 * (double)stress_ns() / TU_S;
    tcase_add_loop_test(tu_tcase(s, "mutex", limit), stress_mutex, 0, THREAD_COUNTS);
    tcase_add_loop_test(tu_tcase(s, "rwlock", limit), stress_rwlock, 0, THREAD_COUNTS);
    tcase_add_loop_test(tu_tcase(s, "cond", limit), stress_cond, 0, THREAD_COUNTS);
    tcase_add_loop_test(tu_tcase(s, "once", limit), stress_once, 0, THREAD_COUNTS);
    tcase_add_loop_test(tu_tcase(s, "wait", limit), stress_wait, 0, THREAD_COUNTS);
    tcase_add_loop_test(tu_tcase(s, "bitlock", limit), stress_bitlock, 0, THREAD_COUNTS);
    tcase_add_loop_test(tu_tcase(s, "remutex", limit), stress_remutex, 0, THREAD_COUNTS);
    tcase_add_test(tu_tcase(s, "watchdog", 30), watchdog_reports_a_stall);
    return s;
}

int main(void) { return tu_run_suite(chaos_suite()); }
