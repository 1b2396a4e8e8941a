/* An application allocator guarded by a libparking lock (docs/design.md sections 3 and 9).
 *
 * This executable replaces malloc and friends (glibc resolves every library's allocator calls,
 * the C library's own included, to the executable's definitions) with the C library's allocator
 * behind one pl_mutex_t, as an application whose allocator uses our locks would.  The library
 * itself never allocates (the no-allocator-imports test), but a thread's first park calls two
 * C library functions that may: pthread_atfork, when the process's first table is created (glibc
 * keeps 48 handlers inline and allocates past them; musl always allocates), and
 * pthread_setspecific, for the thread-exit hook (glibc allocates for keys past its first 32).
 * When the allocator's lock is contended there, the allocation parks, nested in the thread's
 * first park.  That nested park must work: the thread's data must be live, a table must exist or
 * be creatable, and nothing may wait for the allocating thread.  (Before the fix the nested park
 * reached the pthread_once that was registering the fork handler, on the same thread, and waited
 * for itself forever; every other thread that parked then waited on that once too.)
 *
 * Each scenario runs in a child process bounded by alarm(): first the C library is primed so
 * that the library's call allocates (the table of fork handlers filled to the brim, or keys past
 * the first 32 created, or both), then worker threads make their first park inside malloc while
 * the main thread holds the allocator lock.  The main thread keeps holding it until every worker
 * is queued on it, which it reads with a counting pl_unpark_filter: that call needs the table,
 * so on the old code it blocked too, and the child deterministically hung.  Then the workers
 * allocate and free under contention, and exit (their thread-exit hooks and the C library's TLS
 * teardown allocate and free under the same lock).  The allocator counts the allocations made
 * while the same thread was already waiting for its lock: at least one must have happened, or
 * the scenario did not test what it claims.
 *
 * Not under sanitizers or valgrind, which own malloc (nothing to interpose then). */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdlib.h>

/* The test's own lock operations stay plain in a debug-mode build: debug mode's hooks have a
 * first-use setup of their own (src/debug/thread.c), which is not what this test is about. */
#define PARKING_DEBUG 0
#include <parking/mutex.h>

#include "test_util.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#  define SANITIZED 1
#elif defined(__has_feature)
#  if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#    define SANITIZED 1
#  endif
#endif

#if !defined(SANITIZED) && defined(__GLIBC__)
#  define GUARDED_MALLOC 1

/* ---- The guarded allocator ---- */

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

static pl_mutex_t alloc_lock;
/* Non-zero while this thread waits for alloc_lock: an allocation then comes from inside that
 * wait, which is a park once the lock is contended. */
static _Thread_local unsigned waiting_depth;
static atomic_size_t nested_allocations;
/* Allocation count of this thread while `counting_here` is set (priming pthread_atfork).
 * Volatile: glibc declares pthread_atfork `leaf` (it never calls back into this file), so the
 * compiler may otherwise keep both in registers across the call that does call our malloc. */
static _Thread_local volatile bool counting_here;
static _Thread_local volatile size_t allocations_here;

static void alloc_enter(void)
{
    if (counting_here)
        allocations_here++;
    if (waiting_depth > 0)
        atomic_fetch_add(&nested_allocations, 1);
    waiting_depth++;
    pl_mutex_lock(&alloc_lock);
    waiting_depth--;
}

static void alloc_leave(void) { pl_mutex_unlock(&alloc_lock); }

void *malloc(size_t n)
{
    alloc_enter();
    void *p = __libc_malloc(n);
    alloc_leave();
    return p;
}

void *calloc(size_t n, size_t m)
{
    alloc_enter();
    void *p = __libc_calloc(n, m);
    alloc_leave();
    return p;
}

void *realloc(void *p, size_t n)
{
    alloc_enter();
    void *q = __libc_realloc(p, n);
    alloc_leave();
    return q;
}

void *memalign(size_t a, size_t n)
{
    alloc_enter();
    void *p = __libc_memalign(a, n);
    alloc_leave();
    return p;
}

void *aligned_alloc(size_t a, size_t n) { return memalign(a, n); }

int posix_memalign(void **p, size_t a, size_t n)
{
    *p = memalign(a, n);
    return *p ? 0 : ENOMEM;
}

void free(void *p)
{
    if (p == NULL)
        return;
    alloc_enter();
    __libc_free(p);
    alloc_leave();
}

/* ---- The scenario, in a child process ---- */

enum { WORKERS = 8, ROUNDS = 2000, CHILD_ALARM_S = 60 };
enum { PRIME_ATFORK = 1, PRIME_KEYS = 2 };

static _Noreturn void child_fail(int code, const char *what)
{
    /* write(2), not stdio: the allocator lock may be held by this very thread. */
    (void)!write(2, what, strlen(what));
    (void)!write(2, "\n", 1);
    _exit(code);
}

static void noop_child_handler(void) {}

/* One more handler; returns whether registering it allocated. */
static bool register_one_handler(void)
{
    allocations_here = 0;
    counting_here = true;
    int rc = pthread_atfork(NULL, NULL, noop_child_handler);
    counting_here = false;
    if (rc != 0)
        child_fail(80, "pthread_atfork failed");
    return allocations_here != 0;
}

/* Registers handlers until the next registration (the library's, at its first table) must
 * allocate.  glibc (register-atfork.c, a dynarray) keeps the first 48 inline, then grows a heap
 * array from capacity c to c + c/2 + 1: so the 49th registration allocates (capacity 73) and so
 * does the 74th.  The first allocating registration is found by counting, not assumed; from it
 * the array is filled to the next capacity.  Where every registration allocates (musl), the
 * next one does anyway; 49 handlers are registered all the same. */
static void prime_atfork(void)
{
    size_t registered = 0, first_allocating = 0;
    while (first_allocating == 0) {
        if (registered == 1000)
            child_fail(81, "no pthread_atfork call allocated in 1000: the scenario cannot arise");
        registered++;
        if (register_one_handler())
            first_allocating = registered;
    }
    size_t capacity = first_allocating - 1; /* handlers held before it allocated */
    if (capacity == 0) {
        while (registered < 49)
            (void)register_one_handler();
        return;
    }
    size_t next_capacity = capacity + capacity / 2 + 1;
    while (registered < next_capacity) {
        registered++;
        if (register_one_handler())
            child_fail(82, "pthread_atfork allocated before the array was full: the growth "
                           "policy is not glibc's, so the library's registration may not "
                           "allocate");
    }
}

/* Keys past glibc's first 32 make each thread's first pthread_setspecific on them allocate its
 * second-level block; the library's exit key is then one of them. */
static void prime_keys(void)
{
    static pthread_key_t keys[40];
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        if (pthread_key_create(&keys[i], NULL) != 0)
            child_fail(83, "pthread_key_create failed");
    }
}

static atomic_bool go;
static atomic_size_t done_workers;

static void *worker(void *arg)
{
    (void)arg;
    unsigned polls = 0;
    while (!atomic_load(&go))
        tu_backoff(&polls);
    /* The thread's first park: the main thread holds the allocator lock. */
    void *first = malloc(64);
    if (first == NULL)
        child_fail(84, "malloc failed");
    free(first);
    for (int i = 0; i < ROUNDS; i++) {
        void *p = malloc((size_t)(16 + i % 256));
        if (p == NULL)
            child_fail(84, "malloc failed");
        free(p);
    }
    atomic_fetch_add(&done_workers, 1);
    return NULL; /* the exit hook and the TLS teardown run under contention too */
}

static void poll_until(uint64_t end, const char *what, unsigned *polls)
{
    if (pl_now() > end)
        child_fail(85, what);
    tu_backoff(polls);
}

static void scenario(int prime)
{
    if (prime & PRIME_ATFORK)
        prime_atfork();
    if (prime & PRIME_KEYS)
        prime_keys();
    pthread_t t[WORKERS];
    for (int i = 0; i < WORKERS; i++) {
        if (pthread_create(&t[i], NULL, worker, NULL) != 0)
            child_fail(86, "pthread_create failed");
    }
    /* From here until the unlock this thread must not allocate (the lock is not recursive). */
    pl_mutex_lock(&alloc_lock);
    atomic_store(&go, true);
    uint64_t end = pl_now() + TU_WAIT_NS;
    unsigned polls = 0;
    /* A worker's park allocated and now waits for the lock, with this thread holding it.  Only
     * then may this thread use the parking lot: were it the first to need a table, its own
     * pthread_atfork would allocate and wait for the lock it holds. */
    while (atomic_load(&nested_allocations) == 0)
        poll_until(end, "no allocation from inside a park: the scenario did not arise", &polls);
    while (tu_queued_quiet(&alloc_lock) < WORKERS)
        poll_until(end, "the workers never all queued on the allocator lock", &polls);
    pl_mutex_unlock(&alloc_lock);
    for (int i = 0; i < WORKERS; i++) {
        if (pthread_join(t[i], NULL) != 0)
            child_fail(87, "pthread_join failed");
    }
    if (atomic_load(&done_workers) != WORKERS)
        child_fail(88, "a worker did not finish");
}

static void run_scenario(int prime)
{
    if (tu_under_valgrind())
        return; /* valgrind replaces the executable's malloc too: nothing is guarded */
    fflush(NULL);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        signal(SIGALRM, SIG_DFL);
        alarm(CHILD_ALARM_S); /* the old code hung here for good */
        scenario(prime);
        _exit(0);
    }
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(!(WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM),
                  "the child hung for %d s: a park inside the allocator deadlocked", CHILD_ALARM_S);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "the child failed: status %#x (see its message above)", status);
}

START_TEST(first_park_allocates_in_pthread_atfork) { run_scenario(PRIME_ATFORK); }
END_TEST

START_TEST(first_park_allocates_in_pthread_setspecific) { run_scenario(PRIME_KEYS); }
END_TEST

START_TEST(first_park_allocates_in_both) { run_scenario(PRIME_ATFORK | PRIME_KEYS); }
END_TEST
#endif /* GUARDED_MALLOC */

int main(void)
{
    Suite *s = suite_create("alloc_lock");
    /* 120 s per test: above the child's alarm. */
    TCase *tc = tu_tcase(s, "allocator guarded by pl_mutex_t", 120);
#if defined(GUARDED_MALLOC)
    tcase_add_test(tc, first_park_allocates_in_pthread_atfork);
    tcase_add_test(tc, first_park_allocates_in_pthread_setspecific);
    tcase_add_test(tc, first_park_allocates_in_both);
#else
    (void)tc; /* sanitizer builds replace malloc themselves: nothing to run here */
#endif
    return tu_run_suite(s);
}
