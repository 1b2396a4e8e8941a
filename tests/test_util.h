/* Helpers shared by the libparking tests: threads, bounded polling, and "parker" fixtures
 * (a thread parked on an address whose arrival in the queue the test can observe).
 *
 * Waiting for "thread X is parked" never sleeps for a fixed time: the parker's validate callback
 * increments a counter just before it returns true.  validate runs under the bucket lock and the
 * thread is appended to the queue before that lock is released, so once the counter is seen, any
 * later unpark call (which must take the same bucket lock) finds the thread queued.  Whether the
 * thread already sleeps in the kernel does not matter for the result of an unpark.
 *
 * Assertions are made on the test's main thread only; helper threads record what they saw. */
#ifndef PARKING_TEST_UTIL_H
#define PARKING_TEST_UTIL_H

#include <check.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <parking/lot.h>

#define TU_MS 1000000ull
#define TU_S 1000000000ull

/* How long a poll waits for a condition that must become true before the test fails: far more
 * than needed even on an oversubscribed 2-core machine, below every Check timeout. */
#define TU_WAIT_NS (20ull * TU_S)

/* Small stacks: 1,000 live threads and 100,000 short-lived ones stay cheap. */
#define TU_STACK_SIZE ((size_t)128 * 1024)

/* Online CPUs, at least 1: the oversubscribed stress tests run a multiple of it. */
static inline long tu_ncpu(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? n : 1;
}

static inline void tu_spawn(pthread_t *t, void *(*fn)(void *), void *arg)
{
    pthread_attr_t attr;
    ck_assert_int_eq(pthread_attr_init(&attr), 0);
    ck_assert_int_eq(pthread_attr_setstacksize(&attr, TU_STACK_SIZE), 0);
    int rc = pthread_create(t, &attr, fn, arg);
    ck_assert_msg(rc == 0, "pthread_create failed: %s", strerror(rc));
    pthread_attr_destroy(&attr);
}

static inline void tu_join(pthread_t t) { ck_assert_int_eq(pthread_join(t, NULL), 0); }

static inline void tu_sleep_ns(uint64_t ns)
{
    struct timespec ts = {(time_t)(ns / TU_S), (long)(ns % TU_S)};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* One step of a polling loop: yield first (cheap when the other thread is runnable), then
 * back off to short sleeps so a long wait does not steal a core from the threads it waits for. */
static inline void tu_backoff(unsigned *polls)
{
    if (++*polls < 1000)
        sched_yield();
    else
        tu_sleep_ns(20000);
}

typedef bool (*tu_pred_fn)(void *ctx);

/* Polls pred(ctx) until true (returns true) or TU_WAIT_NS passes (returns false). */
static inline bool tu_wait_until(tu_pred_fn pred, void *ctx)
{
    uint64_t deadline = pl_now() + TU_WAIT_NS;
    unsigned polls = 0;
    while (!pred(ctx)) {
        if (pl_now() > deadline)
            return false;
        tu_backoff(&polls);
    }
    return true;
}

/* Polls until *counter >= n, or TU_WAIT_NS passes (false). */
static inline bool tu_wait_count(atomic_size_t *counter, size_t n)
{
    uint64_t deadline = pl_now() + TU_WAIT_NS;
    unsigned polls = 0;
    while (atomic_load(counter) < n) {
        if (pl_now() > deadline)
            return false;
        tu_backoff(&polls);
    }
    return true;
}

static inline bool tu_flag_set(void *flag) { return atomic_load((atomic_bool *)flag); }

/* Fails the test unless *flag becomes true within TU_WAIT_NS. */
static inline void tu_wait_flag(atomic_bool *flag, const char *what)
{
    ck_assert_msg(tu_wait_until(tu_flag_set, flag), "timed out waiting for %s", what);
}

/* ---- Queue inspection: pl_unpark_filter with SKIP for every thread wakes nobody. ---- */

typedef struct tu_scan {
    uintptr_t *tokens; /* park tokens in queue order (may be NULL) */
    size_t max;
    size_t n;
} tu_scan_t;

static inline pl_filter_op_t tu_scan_filter(void *ctx, uintptr_t park_token)
{
    tu_scan_t *s = ctx;
    if (s->tokens && s->n < s->max)
        s->tokens[s->n] = park_token;
    s->n++;
    return PL_FILTER_SKIP;
}

static inline uintptr_t tu_zero_callback(void *ctx, pl_unpark_result_t result)
{
    (void)ctx;
    (void)result;
    return 0;
}

/* Number of threads queued on addr now; their park tokens, oldest first, go to tokens[0..max). */
static inline size_t tu_queued(const void *addr, uintptr_t *tokens, size_t max)
{
    tu_scan_t s = {tokens, max, 0};
    pl_unpark_result_t r = pl_unpark_filter(addr, tu_scan_filter, tu_zero_callback, &s);
    ck_assert_uint_eq(r.unparked, 0);
    ck_assert(r.have_more == (s.n != 0));
    return s.n;
}

typedef struct tu_queued_ctx {
    const void *addr;
    size_t n;
} tu_queued_ctx_t;

static inline bool tu_has_queued(void *ctx)
{
    tu_queued_ctx_t *q = ctx;
    return tu_queued(q->addr, NULL, 0) >= q->n;
}

/* Fails the test unless n threads are queued on addr within TU_WAIT_NS.  Main thread only. */
static inline void tu_wait_queued(const void *addr, size_t n)
{
    tu_queued_ctx_t q = {addr, n};
    ck_assert_msg(tu_wait_until(tu_has_queued, &q), "never saw %zu threads queued on %p", n, addr);
}

static inline pl_filter_op_t tu_count_filter(void *ctx, uintptr_t park_token)
{
    (void)park_token;
    (*(size_t *)ctx)++;
    return PL_FILTER_SKIP;
}

/* tu_queued(addr, NULL, 0) without a Check assertion inside: usable off the main thread. */
static inline size_t tu_queued_quiet(const void *addr)
{
    size_t n = 0;
    (void)pl_unpark_filter(addr, tu_count_filter, NULL, &n);
    return n;
}

/* Polls until n threads are queued on addr; false after TU_WAIT_NS.  Asserts nothing: any
 * thread may call it. */
static inline bool tu_poll_queued(const void *addr, size_t n)
{
    uint64_t deadline = pl_now() + TU_WAIT_NS;
    unsigned polls = 0;
    while (tu_queued_quiet(addr) < n) {
        if (pl_now() > deadline)
            return false;
        tu_backoff(&polls);
    }
    return true;
}

/* ---- Parker fixture: one thread in pl_park(addr, counting validate, ..., deadline). ---- */

typedef struct tu_parker {
    const void *addr;
    uintptr_t park_token;
    uint64_t deadline;
    atomic_size_t *parked;   /* incremented by validate just before the thread is queued */
    pl_park_result_t result; /* valid once `done` is set */
    atomic_bool done;
    pthread_t thread;
} tu_parker_t;

static inline bool tu_count_validate(void *ctx)
{
    tu_parker_t *p = ctx;
    atomic_fetch_add(p->parked, 1);
    return true;
}

static inline void *tu_parker_main(void *arg)
{
    tu_parker_t *p = arg;
    p->result = pl_park(p->addr, tu_count_validate, NULL, NULL, p, p->park_token, p->deadline);
    atomic_store(&p->done, true);
    return NULL;
}

static inline void tu_parker_start(tu_parker_t *p, const void *addr, uintptr_t park_token,
                                   uint64_t deadline, atomic_size_t *parked)
{
    p->addr = addr;
    p->park_token = park_token;
    p->deadline = deadline;
    p->parked = parked;
    memset(&p->result, 0, sizeof p->result);
    atomic_init(&p->done, false);
    tu_spawn(&p->thread, tu_parker_main, p);
}

/* Parks n threads on addr one after the other, each queued before the next starts, so the
 * queue order is ps[0], ps[1], ...; thread i gets park token tokens[i] (or i when NULL). */
static inline void tu_park_in_order(tu_parker_t *ps, size_t n, const void *addr,
                                    const uintptr_t *tokens, atomic_size_t *parked)
{
    for (size_t i = 0; i < n; i++) {
        size_t before = atomic_load(parked);
        tu_parker_start(&ps[i], addr, tokens ? tokens[i] : i, PL_FOREVER, parked);
        ck_assert_msg(tu_wait_count(parked, before + 1), "parker %zu never parked", i);
    }
}

static inline pl_park_result_t tu_parker_join(tu_parker_t *p)
{
    tu_join(p->thread);
    ck_assert(atomic_load(&p->done));
    return p->result;
}

/* Unparks one thread on addr and checks that exactly one was queued there. */
static inline void tu_unpark_one_expect(const void *addr)
{
    pl_unpark_result_t r = pl_unpark_one(addr, NULL, NULL);
    ck_assert_uint_eq(r.unparked, 1);
}

/* ---- Misuse messages ---- */

/* Runs fn(arg) in a child whose stderr is a pipe, asserts that the child died of SIGABRT, and
 * asserts that what it printed contains every string of the NULL-terminated `needles`. */
static inline void tu_expect_abort_message(void (*fn)(void *), void *arg,
                                           const char *const *needles)
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    fflush(stderr);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(fds[1], 2);
        close(fds[0]);
        fn(arg);
        _exit(0);
    }
    close(fds[1]);
    char text[1024];
    size_t len = 0;
    ssize_t r;
    while (len < sizeof text - 1 && (r = read(fds[0], text + len, sizeof text - 1 - len)) > 0)
        len += (size_t)r;
    text[len] = '\0';
    close(fds[0]);
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT, "no SIGABRT: %s", text);
    for (; *needles; needles++)
        ck_assert_msg(strstr(text, *needles), "message \"%s\" lacks \"%s\"", text, *needles);
}

/* The address as the library prints it ("%p"), for a needle. */
static inline const char *tu_addr_text(const void *addr, char *buf, size_t size)
{
    snprintf(buf, size, "%p", addr);
    return buf;
}

/* One row of a misuse table: fn(arg) must abort, printing every needle.  The needles are
 * printf formats given addr[0] and addr[1], so "%p" stands for the address the library prints. */
#define TU_MISUSE_NEEDLES 12

typedef struct tu_misuse {
    const char *name; /* names the case when it fails */
    void (*fn)(void *arg);
    void *arg;
    const void *addr[2];
    const char *needles[TU_MISUSE_NEEDLES]; /* NULL-terminated */
} tu_misuse_t;

/* tu_expect_abort_message for one row, its needles formatted first. */
static inline void tu_expect_misuse(const tu_misuse_t *m)
{
    char text[TU_MISUSE_NEEDLES][256];
    const char *needles[TU_MISUSE_NEEDLES + 1];
    size_t n = 0;
    for (; n < TU_MISUSE_NEEDLES && m->needles[n]; n++) {
        snprintf(text[n], sizeof text[n], m->needles[n], m->addr[0], m->addr[1]);
        needles[n] = text[n];
    }
    needles[n] = NULL;
    ck_assert_msg(n > 0, "misuse case %s has no needle", m->name);
    tu_expect_abort_message(m->fn, m->arg, needles);
}

/* Number of rows of a table (an array, not a pointer), as a loop test's end. */
#define TU_LEN(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* ---- Heavy sizes under slow runtimes (valgrind) ---- */

/* valgrind.h is a header of client-request macros (no library); where it is missing (the
 * mingw build, systems without valgrind) the tests cannot be under valgrind either. */
#if defined(__has_include)
#  if __has_include(<valgrind/valgrind.h>)
#    include <valgrind/valgrind.h>
#    define TU_HAVE_VALGRIND_H 1
#  endif
#endif

/* Whether this process runs under valgrind, which serialises threads, runs code 20 to 50 times
 * slower, replaces malloc and caps live threads (--max-threads, 500 by default). */
static inline bool tu_under_valgrind(void)
{
#if defined(TU_HAVE_VALGRIND_H)
    return RUNNING_ON_VALGRIND != 0;
#else
    return false;
#endif
}

/* The fraction of the heavy stress sizes (thousands of threads) to run: PARKING_TEST_SCALE
 * (0 < x <= 1) when set, else 1/25 under valgrind, else 1.  Only sizes whose full value adds
 * nothing a smaller one does not check there are scaled; normal runs keep the full sizes. */
static inline double tu_scale_factor(void)
{
    const char *env = getenv("PARKING_TEST_SCALE");
    if (env != NULL && *env != '\0') {
        double x = strtod(env, NULL);
        if (x > 0 && x <= 1)
            return x;
    }
    return tu_under_valgrind() ? 1.0 / 25 : 1.0;
}

/* n scaled by tu_scale_factor(), but never below min (nor above n). */
static inline size_t tu_scaled(size_t n, size_t min)
{
    size_t s = (size_t)((double)n * tu_scale_factor());
    if (s < min)
        s = min;
    return s < n ? s : n;
}

/* The process's resident memory in KiB (VmRSS of /proc/self/status), or -1 where that file
 * does not exist or does not measure the program: under qemu-user (tools/test-cross sets
 * PARKING_TEST_EMULATED=1) it is the emulator's, which grows by about 3 KiB per thread created
 * even in a program that never calls libparking. */
static inline long tu_rss_kib(void)
{
    const char *emulated = getenv("PARKING_TEST_EMULATED");
    if (emulated != NULL && *emulated != '\0' && *emulated != '0')
        return -1;
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

/* ---- Suites ---- */

/* A test case with its Check time limit, added to s. */
static inline TCase *tu_tcase(Suite *s, const char *name, double timeout_s)
{
    TCase *tc = tcase_create(name);
    tcase_set_timeout(tc, timeout_s);
    suite_add_tcase(s, tc);
    return tc;
}

/* main() of every test program: runs the suite (each test in its own child) and exits non-zero
 * if any test failed. */
static inline int tu_run_suite(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif /* PARKING_TEST_UTIL_H */
