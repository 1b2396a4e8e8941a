/* Process-level hazards: signals interrupting parked threads, 10,000 threads parked at once,
 * and no allocation anywhere on the park / unpark paths.
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
#include <parking/rwlock.h>

#include "test_util.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SANITIZED 1
#endif
#endif

/* ---- Counting allocator (plain builds on glibc; sanitizers own malloc) ---- */

#if !defined(SANITIZED) && defined(__GLIBC__)
#define COUNT_MALLOC 1
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
void *malloc(size_t n) { note(); return __libc_malloc(n); }
void *calloc(size_t n, size_t m) { note(); return __libc_calloc(n, m); }
void *realloc(void *p, size_t n) { note(); return __libc_realloc(p, n); }
void *memalign(size_t a, size_t n) { note(); return __libc_memalign(a, n); }
void *aligned_alloc(size_t a, size_t n) { note(); return __libc_memalign(a, n); }
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
static atomic_bool sig_timed_ok;

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
    return NULL;
}

START_TEST(signals_do_not_break_waits)
{
    /* No SA_RESTART: the futex wait really returns EINTR. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    ck_assert_int_eq(sigaction(SIGUSR1, &sa, NULL), 0);

    pl_mutex_lock(&sig_lock);
    pthread_t waiter, timed;
    tu_spawn(&waiter, sig_locker, NULL);
    tu_spawn(&timed, sig_timed_locker, NULL);
    /* Both queued on the mutex (see test_util.h for why counting the queue is enough). */
    unsigned polls = 0;
    while (tu_queued(&sig_lock, NULL, 0) < 2)
        tu_backoff(&polls);

    /* Signals rain on both while the mutex stays held: neither may return holding it. */
    for (int i = 0; i < 2000; i++) {
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
    for (size_t i = 0; i < SCALE_THREADS; i++) {
        tu_spawn(&threads[i], scale_main, &scale_keys[i]);
        order[i] = i;
    }
    ck_assert(tu_wait_count(&scale_parked, SCALE_THREADS));

    unsigned seed = (unsigned)pl_now();
    for (size_t i = SCALE_THREADS - 1; i > 0; i--) {
        size_t j = (size_t)rand_r(&seed) % (i + 1);
        size_t tmp = order[i];
        order[i] = order[j];
        order[j] = tmp;
    }
    for (size_t i = 0; i < SCALE_THREADS; i++) {
        size_t k = order[i];
        pl_unpark_result_t r = pl_unpark_one(&scale_keys[k], token_for_key, (void *)(k + 1));
        ck_assert_msg(r.unparked == 1 && !r.have_more, "key %zu: %zu woken", k, r.unparked);
    }
    for (size_t i = 0; i < SCALE_THREADS; i++)
        tu_join(threads[i]);
    ck_assert_uint_eq(atomic_load(&scale_woken), SCALE_THREADS);
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
    TCase *tc = tcase_create("signals");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, signals_do_not_break_waits);
    suite_add_tcase(s, tc);

    tc = tcase_create("scale");
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, ten_thousand_parked_then_woken_in_random_order);
    suite_add_tcase(s, tc);

#if defined(COUNT_MALLOC)
    tc = tcase_create("allocation");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, counting_allocator_counts);
    tcase_add_test(tc, no_malloc_on_park_paths);
    suite_add_tcase(s, tc);
#endif
    return s;
}

int main(void)
{
    return tu_run_suite(process_suite());
}
