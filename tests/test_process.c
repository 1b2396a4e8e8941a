/* Process-level hazards: signals interrupting every kind of wait, 10,000 threads parked at
 * once, threads that exit while others park or wake them (and locks taken in thread-local
 * storage destructors), the clock, and no allocation anywhere on the park / unpark paths.
 *
 * The allocation check replaces malloc and friends in this executable (glibc resolves every
 * library's malloc calls to the executable's definition) and counts the calls made by threads
 * that have switched counting on. */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdlib.h>

#include <parking/cond.h>
#include <parking/mutex.h>
#include <parking/once.h>
#include <parking/remutex.h>
#include <parking/rwlock.h>
#include <parking/wait.h>

#include "test_util.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#  define SANITIZED 1
#elif defined(__has_feature)
#  if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#    define SANITIZED 1
#  endif
#endif

#if !defined(SANITIZED) && defined(__GLIBC__) &&                                                   \
    (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
#  define HAVE_MALLINFO2 1
#endif

/* ---- Counting allocator (plain builds on glibc; sanitizers own malloc) ---- */

#if !defined(SANITIZED) && defined(__GLIBC__)
#  define COUNT_MALLOC 1
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

static _Thread_local bool counting;
static atomic_size_t allocations;

static void note(void)
{
    if (counting)
        atomic_fetch_add(&allocations, 1);
}
void *malloc(size_t n)
{
    note();
    return __libc_malloc(n);
}
void *calloc(size_t n, size_t m)
{
    note();
    return __libc_calloc(n, m);
}
void *realloc(void *p, size_t n)
{
    note();
    return __libc_realloc(p, n);
}
void *memalign(size_t a, size_t n)
{
    note();
    return __libc_memalign(a, n);
}
void *aligned_alloc(size_t a, size_t n)
{
    note();
    return __libc_memalign(a, n);
}
int posix_memalign(void **p, size_t a, size_t n)
{
    note();
    *p = __libc_memalign(a, n);
    return *p ? 0 : ENOMEM;
}
void free(void *p) { __libc_free(p); }
#endif

/* ---- Signals: EINTR never acquires a lock spuriously, never loses the waiter ---- */

static void on_signal(int sig) { (void)sig; }

static pl_mutex_t sig_lock;
static atomic_bool sig_acquired;
static atomic_bool sig_timed_ok, sig_timed_done;

static void *sig_locker(void *arg)
{
    (void)arg;
    pl_mutex_lock(&sig_lock);
    atomic_store(&sig_acquired, true);
    pl_mutex_unlock(&sig_lock);
    return NULL;
}

static void *sig_timed_locker(void *arg)
{
    (void)arg;
    uint64_t deadline = pl_now() + 50 * TU_MS;
    bool got = pl_mutex_lock_until(&sig_lock, deadline);
    atomic_store(&sig_timed_ok, !got && pl_now() >= deadline);
    atomic_store(&sig_timed_done, true);
    return NULL;
}

static void install_signal_handler(void)
{
    /* No SA_RESTART: an interrupted futex wait really returns EINTR. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    ck_assert_int_eq(sigaction(SIGUSR1, &sa, NULL), 0);
}

START_TEST(signals_do_not_break_waits)
{
    install_signal_handler();

    pl_mutex_lock(&sig_lock);
    pthread_t waiter, timed;
    tu_spawn(&waiter, sig_locker, NULL);
    tu_spawn(&timed, sig_timed_locker, NULL);
    /* Both queued on the mutex (see test_util.h for why counting the queue is enough); on a
     * loaded machine (or under valgrind) the timed one may reach its deadline first. */
    uint64_t limit = pl_now() + TU_WAIT_NS;
    unsigned polls = 0;
    while (tu_queued(&sig_lock, NULL, 0) < 2 && !atomic_load(&sig_timed_done)) {
        ck_assert_msg(pl_now() < limit, "the lockers never queued");
        tu_backoff(&polls);
    }

    /* Signals rain on both while the mutex stays held: neither may return holding it. */
    const size_t rounds = tu_scaled(2000, 100);
    for (size_t i = 0; i < rounds; i++) {
        pthread_kill(waiter, SIGUSR1);
        pthread_kill(timed, SIGUSR1);
        ck_assert(!atomic_load(&sig_acquired));
        if (i % 64 == 0)
            sched_yield();
    }
    tu_join(timed); /* its deadline passes while the mutex is held */
    ck_assert_msg(atomic_load(&sig_timed_ok), "timed lock succeeded or gave up early");
    ck_assert(!atomic_load(&sig_acquired));
    ck_assert_uint_eq(tu_queued(&sig_lock, NULL, 0), 1); /* the waiter kept its place */

    pl_mutex_unlock(&sig_lock);
    tu_join(waiter);
    ck_assert(atomic_load(&sig_acquired));
}
END_TEST

/* ---- Signals: every kind of wait keeps its place and its deadline ---- */

/* Every blocking wait of the library, each in its own thread, parked (or spinning on its way
 * to park) while signals rain on all of them: none may return early or spuriously, none may
 * lose its place in its queue, and the timed ones return at their deadline, not before. */
enum sig_kind {
    SK_LOCK_FIRST,  /* pl_mutex_lock on sk_mutex, queued first */
    SK_LOCK_SECOND, /* ... queued second: gets the mutex after the first */
    SK_COND,        /* pl_cond_wait: returns only after the signal */
    SK_COND_UNTIL,  /* pl_cond_wait_until: times out, not before the deadline */
    SK_RDLOCK,      /* pl_rwlock_rdlock while the main thread holds the write lock */
    SK_WRLOCK,      /* pl_rwlock_wrlock while the main thread reads: waits for the reader */
    SK_WAIT,        /* pl_wait: returns only after the wake */
    SK_WAIT_UNTIL,  /* pl_wait with a deadline: ETIMEDOUT, not before the deadline */
    SK_ONCE,        /* pl_call_once while another thread runs the initialiser */
    SK_COUNT
};

static pl_mutex_t sk_mutex;
static pl_mutex_t sk_cond_mutex;
static pl_cond_t sk_cond;
static bool sk_cond_flag; /* under sk_cond_mutex */
static pl_rwlock_t sk_rw_written, sk_rw_read;
static uint32_t sk_word;
static pl_once_t sk_once;
static atomic_bool sk_once_running, sk_once_release;
static uint64_t sk_deadline;
static atomic_int sk_order;

typedef struct sk_waiter {
    enum sig_kind kind;
    pthread_t thread;
    atomic_bool returned;
    bool ok;   /* the expected outcome (each kind checks its own) */
    int order; /* the lockers: 1 for the first to get the mutex */
} sk_waiter_t;

static void sk_once_init(void *arg)
{
    (void)arg;
    atomic_store(&sk_once_running, true);
    unsigned polls = 0;
    while (!atomic_load(&sk_once_release))
        tu_backoff(&polls);
}

static void *sk_once_runner(void *arg)
{
    (void)arg;
    pl_call_once(&sk_once, sk_once_init, NULL);
    return NULL;
}

static void *sk_main(void *arg)
{
    sk_waiter_t *w = arg;
    const uint32_t zero = 0;
    int r;
    switch (w->kind) {
    case SK_LOCK_FIRST:
    case SK_LOCK_SECOND:
        pl_mutex_lock(&sk_mutex);
        w->order = atomic_fetch_add(&sk_order, 1) + 1;
        w->ok = true;
        pl_mutex_unlock_fair(&sk_mutex); /* hands it to the next in the queue */
        break;
    case SK_COND:
        pl_mutex_lock(&sk_cond_mutex);
        pl_cond_wait(&sk_cond, &sk_cond_mutex); /* no spurious wake-ups: no loop */
        w->ok = sk_cond_flag;
        pl_mutex_unlock(&sk_cond_mutex);
        break;
    case SK_COND_UNTIL:
        pl_mutex_lock(&sk_cond_mutex);
        w->ok =
            !pl_cond_wait_until(&sk_cond, &sk_cond_mutex, sk_deadline) && pl_now() >= sk_deadline;
        pl_mutex_unlock(&sk_cond_mutex);
        break;
    case SK_RDLOCK:
        pl_rwlock_rdlock(&sk_rw_written);
        w->ok = true;
        pl_rwlock_rdunlock(&sk_rw_written);
        break;
    case SK_WRLOCK:
        pl_rwlock_wrlock(&sk_rw_read);
        w->ok = true;
        pl_rwlock_wrunlock(&sk_rw_read);
        break;
    case SK_WAIT:
        r = pl_wait(&sk_word, &zero, sizeof sk_word, PL_FOREVER);
        w->ok = r == 0 && __atomic_load_n(&sk_word, __ATOMIC_ACQUIRE) == 1;
        break;
    case SK_WAIT_UNTIL:
        r = pl_wait(&sk_word, &zero, sizeof sk_word, sk_deadline);
        w->ok = r == ETIMEDOUT && pl_now() >= sk_deadline;
        break;
    default:
        pl_call_once(&sk_once, sk_once_init, NULL);
        w->ok = atomic_load(&sk_once_release);
        break;
    }
    atomic_store(&w->returned, true);
    return NULL;
}

/* Polls until n threads are queued on addr. */
static void expect_queued(const void *addr, size_t n, const char *what)
{
    uint64_t deadline = pl_now() + TU_WAIT_NS;
    unsigned polls = 0;
    while (tu_queued(addr, NULL, 0) < n) {
        ck_assert_msg(pl_now() < deadline, "%s: never %zu queued", what, n);
        tu_backoff(&polls);
    }
}

START_TEST(signals_never_end_any_wait_early)
{
    install_signal_handler();
    static sk_waiter_t w[SK_COUNT];
    for (int k = 0; k < SK_COUNT; k++) {
        w[k].kind = (enum sig_kind)k;
        atomic_init(&w[k].returned, false);
    }
    pl_mutex_lock(&sk_mutex);
    pl_rwlock_wrlock(&sk_rw_written);
    pl_rwlock_rdlock(&sk_rw_read);
    pthread_t runner;
    tu_spawn(&runner, sk_once_runner, NULL);
    unsigned polls = 0;
    while (!atomic_load(&sk_once_running))
        tu_backoff(&polls);

    /* The untimed waiters first, each seen queued (the lockers in a known order). */
    tu_spawn(&w[SK_LOCK_FIRST].thread, sk_main, &w[SK_LOCK_FIRST]);
    expect_queued(&sk_mutex, 1, "first locker");
    tu_spawn(&w[SK_LOCK_SECOND].thread, sk_main, &w[SK_LOCK_SECOND]);
    expect_queued(&sk_mutex, 2, "second locker");
    tu_spawn(&w[SK_COND].thread, sk_main, &w[SK_COND]);
    expect_queued(&sk_cond, 1, "condvar waiter");
    tu_spawn(&w[SK_RDLOCK].thread, sk_main, &w[SK_RDLOCK]);
    expect_queued(&sk_rw_written, 1, "reader");
    tu_spawn(&w[SK_WRLOCK].thread, sk_main, &w[SK_WRLOCK]);
    expect_queued((const char *)&sk_rw_read + 1, 1, "writer waiting for the reader");
    tu_spawn(&w[SK_WAIT].thread, sk_main, &w[SK_WAIT]);
    expect_queued(&sk_word, 1, "pl_wait");
    tu_spawn(&w[SK_ONCE].thread, sk_main, &w[SK_ONCE]);
    expect_queued(&sk_once, 1, "once waiter");
    /* Then the timed ones, whose deadline falls during the rain of signals. */
    sk_deadline = pl_now() + 100 * TU_MS;
    tu_spawn(&w[SK_COND_UNTIL].thread, sk_main, &w[SK_COND_UNTIL]);
    tu_spawn(&w[SK_WAIT_UNTIL].thread, sk_main, &w[SK_WAIT_UNTIL]);

    const size_t rounds = tu_scaled(2000, 100);
    for (size_t i = 0; i < rounds; i++) {
        for (int k = 0; k < SK_COUNT; k++)
            pthread_kill(w[k].thread, SIGUSR1); /* a timed one may have returned: harmless */
        for (int k = 0; k < SK_COUNT; k++)
            if (k != SK_COND_UNTIL && k != SK_WAIT_UNTIL)
                ck_assert_msg(!atomic_load(&w[k].returned), "wait %d returned early", k);
        if (i % 64 == 0)
            sched_yield();
    }
    tu_join(w[SK_COND_UNTIL].thread);
    tu_join(w[SK_WAIT_UNTIL].thread);
    ck_assert_msg(w[SK_COND_UNTIL].ok, "pl_cond_wait_until: signalled or early");
    ck_assert_msg(w[SK_WAIT_UNTIL].ok, "pl_wait with a deadline: woken or early");

    /* Everybody untimed is still where it was. */
    ck_assert_uint_eq(tu_queued(&sk_mutex, NULL, 0), 2);
    ck_assert_uint_eq(tu_queued(&sk_cond, NULL, 0), 1);
    ck_assert_uint_eq(tu_queued(&sk_rw_written, NULL, 0), 1);
    ck_assert_uint_eq(tu_queued((const char *)&sk_rw_read + 1, NULL, 0), 1);
    ck_assert_uint_eq(tu_queued(&sk_word, NULL, 0), 1);
    ck_assert_uint_eq(tu_queued(&sk_once, NULL, 0), 1);

    /* Release each wait the way its API does; the fair unlock hands the mutex to the oldest
     * waiter, so a locker that had lost its place would come second. */
    pl_mutex_unlock_fair(&sk_mutex);
    pl_mutex_lock(&sk_cond_mutex);
    sk_cond_flag = true;
    pl_cond_signal(&sk_cond);
    pl_mutex_unlock(&sk_cond_mutex);
    pl_rwlock_wrunlock(&sk_rw_written);
    pl_rwlock_rdunlock(&sk_rw_read);
    __atomic_store_n(&sk_word, 1, __ATOMIC_RELEASE);
    (void)pl_wake_all(&sk_word);
    atomic_store(&sk_once_release, true);
    tu_join(runner);
    for (int k = 0; k < SK_COUNT; k++) {
        if (k != SK_COND_UNTIL && k != SK_WAIT_UNTIL)
            tu_join(w[k].thread);
        ck_assert_msg(w[k].ok, "wait %d ended wrongly", k);
    }
    ck_assert_int_eq(w[SK_LOCK_FIRST].order, 1);
    ck_assert_int_eq(w[SK_LOCK_SECOND].order, 2);
}
END_TEST

/* ---- 10,000 threads parked at once, then woken by address in random order ---- */

#if defined(SANITIZED)
enum { SCALE_THREADS = 2000 }; /* sanitizer runtimes make each thread ~1 ms to create */
#else
enum { SCALE_THREADS = 10000 };
#endif

static char scale_keys[SCALE_THREADS];
static atomic_size_t scale_parked;
static atomic_size_t scale_woken;

static bool scale_validate(void *ctx)
{
    (void)ctx;
    atomic_fetch_add(&scale_parked, 1);
    return true;
}

static void *scale_main(void *arg)
{
    char *key = arg;
    pl_park_result_t r = pl_park(key, scale_validate, NULL, NULL, NULL, 0, PL_FOREVER);
    /* The unpark token is the key's index + 1: proves the wake-up reached the right thread. */
    if (r.status == PL_PARK_UNPARKED && r.token == (uintptr_t)(key - scale_keys) + 1)
        atomic_fetch_add(&scale_woken, 1);
    return NULL;
}

static uintptr_t token_for_key(void *ctx, pl_unpark_result_t result)
{
    (void)result;
    return (uintptr_t)ctx;
}

START_TEST(ten_thousand_parked_then_woken_in_random_order)
{
    static pthread_t threads[SCALE_THREADS];
    static size_t order[SCALE_THREADS];
    const size_t n = tu_scaled(SCALE_THREADS, 100);
    for (size_t i = 0; i < n; i++) {
        tu_spawn(&threads[i], scale_main, &scale_keys[i]);
        order[i] = i;
    }
    ck_assert(tu_wait_count(&scale_parked, n));

    unsigned seed = (unsigned)pl_now();
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = (size_t)rand_r(&seed) % (i + 1);
        size_t tmp = order[i];
        order[i] = order[j];
        order[j] = tmp;
    }
    for (size_t i = 0; i < n; i++) {
        size_t k = order[i];
        pl_unpark_result_t r = pl_unpark_one(&scale_keys[k], token_for_key, (void *)(k + 1));
        ck_assert_msg(r.unparked == 1 && !r.have_more, "key %zu: %zu woken", k, r.unparked);
    }
    for (size_t i = 0; i < n; i++)
        tu_join(threads[i]);
    ck_assert_uint_eq(atomic_load(&scale_woken), n);
}
END_TEST

/* ---- Thread exit ---- */

/* Threads that exit the moment they are woken, while the waker is still waking the others (the
 * unpark walks its list of claimed threads after releasing the bucket lock, and the POSIX parker
 * signals a thread's own mutex and condition variable, which that thread destroys at exit).
 * Half the threads park with a deadline that races the waker, so some leave by time-out, some
 * are claimed just as they time out.  Every thread must end exactly once, with the token meant
 * for it; no wake-up may hang. */
enum { EXIT_BATCH = 32 };

static char exit_key;
static atomic_size_t exit_parked, exit_ok, exit_bad;

static bool exit_validate(void *ctx)
{
    (void)ctx;
    atomic_fetch_add(&exit_parked, 1);
    return true;
}

static atomic_bool exit_wake_all; /* this round wakes with pl_unpark_all */
#define EXIT_ALL_TOKEN ((uintptr_t)0xa11)

static void *exit_at_once_main(void *arg)
{
    uintptr_t i = (uintptr_t)arg;
    uint64_t deadline = i % 2 ? PL_FOREVER : pl_now() + (uint64_t)(i % 7) * 10000;
    uintptr_t expect = atomic_load(&exit_wake_all) ? EXIT_ALL_TOKEN : i + 1;
    pl_park_result_t r = pl_park(&exit_key, exit_validate, NULL, NULL, NULL, i, deadline);
    bool ok = r.status == PL_PARK_UNPARKED
                  ? r.token == expect
                  : r.status == PL_PARK_TIMED_OUT && deadline != PL_FOREVER;
    atomic_fetch_add(ok ? &exit_ok : &exit_bad, 1);
    return NULL; /* exits at once */
}

/* Wakes the oldest thread only, with its own park token + 1 as unpark token. */
typedef struct first_pick {
    bool found;
    uintptr_t token;
} first_pick_t;

static pl_filter_op_t pick_first(void *ctx, uintptr_t park_token)
{
    first_pick_t *f = ctx;
    if (f->found)
        return PL_FILTER_STOP;
    f->found = true;
    f->token = park_token;
    return PL_FILTER_UNPARK;
}

static uintptr_t token_of_first(void *ctx, pl_unpark_result_t result)
{
    (void)result;
    return ((first_pick_t *)ctx)->token + 1;
}

START_TEST(threads_exit_the_moment_they_are_woken)
{
    const size_t rounds = tu_scaled(300, 12);
    for (size_t round = 0; round < rounds; round++) {
        pthread_t t[EXIT_BATCH];
        atomic_store(&exit_wake_all, round % 2 == 1);
        for (uintptr_t i = 0; i < EXIT_BATCH; i++)
            tu_spawn(&t[i], exit_at_once_main, (void *)i);
        /* Wake while they are still arriving: some are woken, some park after a wake, some
         * time out.  Keep waking until every thread of the round has ended. */
        uint64_t limit = pl_now() + TU_WAIT_NS;
        size_t target = (round + 1) * EXIT_BATCH;
        unsigned polls = 0;
        while (atomic_load(&exit_ok) + atomic_load(&exit_bad) < target) {
            ck_assert_msg(pl_now() < limit, "round %zu: threads never ended", round);
            if (round % 2 == 1) {
                (void)pl_unpark_all(&exit_key, EXIT_ALL_TOKEN);
            } else {
                first_pick_t f = {false, 0};
                (void)pl_unpark_filter(&exit_key, pick_first, token_of_first, &f);
            }
            tu_backoff(&polls);
        }
        for (size_t i = 0; i < EXIT_BATCH; i++)
            tu_join(t[i]);
    }
    ck_assert_uint_eq(atomic_load(&exit_bad), 0);
    ck_assert_uint_eq(atomic_load(&exit_ok), rounds * EXIT_BATCH);
    ck_assert_uint_gt(atomic_load(&exit_parked), 0);
    ck_assert_uint_eq(tu_queued(&exit_key, NULL, 0), 0);
}
END_TEST

/* Locks taken inside a thread-local-storage destructor, at thread exit: a contended mutex (it
 * parks), a condition variable wait that times out, and a write lock that waits for a reader.
 * glibc runs key destructors in key order, and the library's own per-thread cleanup may run
 * before or after ours: _i == 0 creates our key before the thread ever parks, _i == 1 after it
 * parked once (so the library's key, if it makes one then, comes first and has already run). */
static pthread_key_t dtor_key;
static pl_mutex_t dtor_mutex;
static pl_cond_t dtor_cond;
static pl_rwlock_t dtor_rw;
static atomic_int dtor_step; /* 1: got the mutex, 2: cond timed out, 3: got the write lock */

static void locking_dtor(void *value)
{
    (void)value;
    pl_mutex_lock(&dtor_mutex); /* held by the main thread: parks */
    atomic_store(&dtor_step, 1);
    uint64_t deadline = pl_now() + TU_MS;
    if (!pl_cond_wait_until(&dtor_cond, &dtor_mutex, deadline) && pl_now() >= deadline)
        atomic_store(&dtor_step, 2);
    pl_mutex_unlock(&dtor_mutex);
    if (atomic_load(&dtor_step) != 2)
        return;
    pl_rwlock_wrlock(&dtor_rw); /* read-held by the main thread: waits for it */
    atomic_store(&dtor_step, 3);
    pl_rwlock_wrunlock(&dtor_rw);
}

static void *dtor_thread(void *arg)
{
    bool key_after = arg != NULL;
    if (key_after) {
        (void)pl_park(&dtor_key, NULL, NULL, NULL, NULL, 0, 0); /* first park: times out */
        if (pthread_key_create(&dtor_key, locking_dtor) != 0)
            return (void *)1;
    }
    pthread_setspecific(dtor_key, &dtor_key);
    return NULL;
}

START_TEST(locks_inside_tls_destructors)
{
    bool key_after = _i == 1;
    if (!key_after)
        ck_assert_int_eq(pthread_key_create(&dtor_key, locking_dtor), 0);
    pl_mutex_lock(&dtor_mutex);
    pl_rwlock_rdlock(&dtor_rw);
    pthread_t t;
    tu_spawn(&t, dtor_thread, key_after ? (void *)1 : NULL);
    expect_queued(&dtor_mutex, 1, "destructor on the mutex");
    pl_mutex_unlock(&dtor_mutex);
    expect_queued((const char *)&dtor_rw + 1, 1, "destructor on the write lock");
    ck_assert_int_eq(atomic_load(&dtor_step), 2);
    pl_rwlock_rdunlock(&dtor_rw);
    void *ret = (void *)2;
    ck_assert_int_eq(pthread_join(t, &ret), 0);
    ck_assert_ptr_null(ret);
    ck_assert_int_eq(atomic_load(&dtor_step), 3);
    /* The process still locks normally afterwards. */
    ck_assert(pl_mutex_trylock(&dtor_mutex));
    pl_mutex_unlock(&dtor_mutex);
}
END_TEST

/* Threads created and destroyed continuously while other threads park all the time: long-lived
 * threads hammer a mutex and wait on a condition variable, and each short-lived thread takes
 * the same mutex once (often parking), parks once with a deadline, and exits.  Exclusion holds
 * throughout, and after a warm-up memory stays flat: a thread's parking state is released at
 * its exit whatever others are doing. */
enum { CHURN_HAMMERS = 4, CHURN_BATCH = 50, CHURN_WARMUP = 4 };
#if defined(SANITIZED)
enum { CHURN_THREADS = 4000 }; /* sanitizer runtimes make each thread ~1 ms to create */
#else
enum { CHURN_THREADS = 20000 };
#endif

static pl_mutex_t churn_mutex;
static pl_cond_t churn_cond;
static long churn_inside, churn_entries;
static atomic_bool churn_stop, churn_overlap;
static char churn_key;

static void churn_critical(void)
{
    if (++churn_inside != 1)
        atomic_store(&churn_overlap, true);
    churn_entries++;
    churn_inside--;
}

static void *churn_hammer(void *arg)
{
    (void)arg;
    for (unsigned i = 0; !atomic_load(&churn_stop); i++) {
        pl_mutex_lock(&churn_mutex);
        churn_critical();
        if (i % 32 == 0)
            (void)pl_cond_wait_for(&churn_cond, &churn_mutex, 20000);
        else if (i % 8 == 0)
            pl_cond_signal(&churn_cond);
        pl_mutex_unlock(&churn_mutex);
    }
    return NULL;
}

static void *churn_short(void *arg)
{
    (void)arg;
    pl_mutex_lock(&churn_mutex);
    churn_critical();
    pl_mutex_unlock(&churn_mutex);
    (void)pl_park(&churn_key, NULL, NULL, NULL, NULL, 0, pl_now() + 1000);
    return NULL;
}

static void churn_batch(void)
{
    pthread_t t[CHURN_BATCH];
    for (int i = 0; i < CHURN_BATCH; i++)
        tu_spawn(&t[i], churn_short, NULL);
    for (int i = 0; i < CHURN_BATCH; i++)
        tu_join(t[i]);
}

START_TEST(threads_churn_while_others_park)
{
    const size_t batches = tu_scaled(CHURN_THREADS, 16 * CHURN_BATCH) / CHURN_BATCH;
    pthread_t hammers[CHURN_HAMMERS];
    for (int i = 0; i < CHURN_HAMMERS; i++)
        tu_spawn(&hammers[i], churn_hammer, NULL);
    for (int b = 0; b < CHURN_WARMUP; b++)
        churn_batch();
    long rss0 = tu_rss_kib();
#if defined(HAVE_MALLINFO2)
    size_t heap0 = mallinfo2().uordblks;
#endif
    uint64_t t0 = pl_now();
    for (size_t b = CHURN_WARMUP; b < batches; b++)
        churn_batch();
    long rss1 = tu_rss_kib();
#if defined(HAVE_MALLINFO2)
    size_t heap1 = mallinfo2().uordblks;
#endif
    atomic_store(&churn_stop, true);
    for (int i = 0; i < CHURN_HAMMERS; i++)
        tu_join(hammers[i]);
    ck_assert(!atomic_load(&churn_overlap));
    ck_assert_int_ge(churn_entries, (long)(batches * CHURN_BATCH));
    fprintf(stderr,
            "threads_churn: %zu threads beside %d parking ones in %.2f s, "
            "VmRSS %ld -> %ld KiB\n",
            (batches - CHURN_WARMUP) * CHURN_BATCH, CHURN_HAMMERS, (double)(pl_now() - t0) / 1e9,
            rss0, rss1);
    /* Memory bounds mean nothing under a sanitizer or valgrind (their own per-thread memory);
     * there, the leak checkers stand in for them. */
#if !defined(SANITIZED)
    if (rss0 > 0 && !tu_under_valgrind())
        ck_assert_msg(rss1 - rss0 < 16 * 1024, "VmRSS grew by %ld KiB", rss1 - rss0);
#endif
#if defined(HAVE_MALLINFO2)
    if (!tu_under_valgrind())
        ck_assert_msg(heap1 < heap0 + 1024 * 1024, "heap in use grew by %zu bytes", heap1 - heap0);
#endif
}
END_TEST

/* ---- Clock: huge timeouts saturate to "no deadline" ---- */

/* The timed waits whose own tests do not already check it (mutex, rwlock, cond and bit locks
 * do): pl_wait_for and pl_remutex_lock_for with timeouts that would overflow now + timeout.
 * If the sum wrapped, the deadline would lie in the past and the call would fail at once
 * instead of waiting. */
static uint32_t huge_word;
static pl_remutex_t huge_remutex;
static atomic_int huge_results;

static void *huge_waiter(void *arg)
{
    uint64_t timeout = *(const uint64_t *)arg;
    const uint32_t zero = 0;
    if (pl_wait_for(&huge_word, &zero, sizeof huge_word, timeout) == 0)
        atomic_fetch_add(&huge_results, 1);
    return NULL;
}

static void *huge_locker(void *arg)
{
    uint64_t timeout = *(const uint64_t *)arg;
    if (pl_remutex_lock_for(&huge_remutex, timeout)) {
        atomic_fetch_add(&huge_results, 1);
        pl_remutex_unlock(&huge_remutex);
    }
    return NULL;
}

START_TEST(huge_timeouts_wait)
{
    static const uint64_t timeouts[] = {UINT64_MAX, UINT64_MAX - 1, UINT64_MAX / 2 + 1};
    for (size_t i = 0; i < 3; i++) {
        atomic_store(&huge_results, 0);
        __atomic_store_n(&huge_word, 0, __ATOMIC_RELAXED);
        pthread_t waiter, locker;
        pl_remutex_lock(&huge_remutex);
        tu_spawn(&waiter, huge_waiter, (void *)&timeouts[i]);
        tu_spawn(&locker, huge_locker, (void *)&timeouts[i]);
        expect_queued(&huge_word, 1, "pl_wait_for");
        expect_queued(&huge_remutex.mutex, 1, "pl_remutex_lock_for");
        __atomic_store_n(&huge_word, 1, __ATOMIC_RELEASE);
        ck_assert_uint_eq(pl_wake_all(&huge_word), 1);
        pl_remutex_unlock(&huge_remutex);
        tu_join(waiter);
        tu_join(locker);
        ck_assert_int_eq(atomic_load(&huge_results), 2);
    }
}
END_TEST

/* pl_now() is CLOCK_MONOTONIC itself, so every deadline (and the parkers' waits, which sleep
 * until an absolute CLOCK_MONOTONIC time) is immune to wall-clock changes. */
START_TEST(now_is_clock_monotonic)
{
    for (int i = 0; i < 1000; i++) {
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        uint64_t now = pl_now();
        clock_gettime(CLOCK_MONOTONIC, &b);
        uint64_t before = (uint64_t)a.tv_sec * TU_S + (uint64_t)a.tv_nsec;
        uint64_t after = (uint64_t)b.tv_sec * TU_S + (uint64_t)b.tv_nsec;
        ck_assert_msg(before <= now && now <= after, "pl_now %llu outside [%llu, %llu]",
                      (unsigned long long)now, (unsigned long long)before,
                      (unsigned long long)after);
    }
}
END_TEST

/* ---- No allocation on any park / unpark path once a thread has parked once ---- */

#if defined(COUNT_MALLOC)
enum { ALLOC_THREADS = 8, ALLOC_ROUNDS = 20000 };

static pl_mutex_t alloc_lock;
static pl_rwlock_t alloc_rw;
static pl_cond_t alloc_cond;
static long alloc_value;

static void *alloc_worker(void *arg)
{
    (void)arg;
    /* Warm up: the first park creates the thread's data (thread-local storage, no malloc, but
     * the C library may allocate for its own thread-specific data on first use). */
    (void)pl_park(&alloc_value, NULL, NULL, NULL, NULL, 0, 0);
    counting = true;
    for (int i = 0; i < ALLOC_ROUNDS; i++) {
        pl_mutex_lock(&alloc_lock);
        alloc_value++;
        if (i % 32 == 0)
            (void)pl_cond_wait_for(&alloc_cond, &alloc_lock, 10000);
        else
            pl_cond_signal(&alloc_cond);
        pl_mutex_unlock(&alloc_lock);
        if (i % 4 == 0) {
            pl_rwlock_wrlock(&alloc_rw);
            pl_rwlock_wrunlock(&alloc_rw);
        } else {
            pl_rwlock_rdlock(&alloc_rw);
            pl_rwlock_rdunlock(&alloc_rw);
        }
    }
    counting = false;
    return NULL;
}

START_TEST(no_malloc_on_park_paths)
{
    pthread_t t[ALLOC_THREADS];
    for (int i = 0; i < ALLOC_THREADS; i++)
        tu_spawn(&t[i], alloc_worker, NULL);
    for (int i = 0; i < ALLOC_THREADS; i++)
        tu_join(t[i]);
    ck_assert_int_eq(alloc_value, (long)ALLOC_THREADS * ALLOC_ROUNDS);
    /* The test must have parked for real, or it proves nothing: the mutex and the condvar
     * waits with a timeout both go through pl_park. */
    ck_assert_uint_eq(atomic_load(&allocations), 0);
}
END_TEST

START_TEST(counting_allocator_counts)
{
    /* The check above is only meaningful if the replacement is in effect for the library. */
    /* A call through the dynamic symbol, as a shared library's call arrives (out of the
     * optimiser's sight).  That libparking.so imports no allocator at all is checked
     * statically by the no-allocator-imports test (tests/CMakeLists.txt). */
    void *(*volatile alloc)(size_t) = malloc;
    counting = true;
    void *p = alloc(16);
    counting = false;
    free(p);
    ck_assert_uint_eq(atomic_load(&allocations), 1);
}
END_TEST
#endif

static Suite *process_suite(void)
{
    Suite *s = suite_create("process");
    TCase *tc = tu_tcase(s, "signals", 60);
    tcase_add_test(tc, signals_do_not_break_waits);
    tcase_add_test(tc, signals_never_end_any_wait_early);

    tc = tu_tcase(s, "thread_exit", 120);
    tcase_add_test(tc, threads_exit_the_moment_they_are_woken);
    tcase_add_loop_test(tc, locks_inside_tls_destructors, 0, 2);
    tcase_add_test(tc, threads_churn_while_others_park);

    tc = tu_tcase(s, "clock", 30);
    tcase_add_test(tc, now_is_clock_monotonic);
    tcase_add_test(tc, huge_timeouts_wait);

    tc = tu_tcase(s, "scale", 240);
    tcase_add_test(tc, ten_thousand_parked_then_woken_in_random_order);

#if defined(COUNT_MALLOC)
    /* valgrind replaces malloc in the executable too, so the counter would never run (and
     * no_malloc_on_park_paths would pass for nothing): the plain build runs these. */
    if (!tu_under_valgrind()) {
        tc = tu_tcase(s, "allocation", 60);
        tcase_add_test(tc, counting_allocator_counts);
        tcase_add_test(tc, no_malloc_on_park_paths);
    }
#endif
    return s;
}

int main(void) { return tu_run_suite(process_suite()); }
