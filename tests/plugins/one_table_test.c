/* Exactly one parking table per process (docs/design.md section 8, parking/singleton.c).
 *
 * This host does not link libparking.  It dlopen()s plugins built from plugin.c: pl_plugin_shared
 * and pl_plugin_shared2 are linked to the shared libparking.so.0.2, pl_plugin_static has its own
 * copy of libparking.a inside.  Every scenario runs in a child process whose stderr is captured,
 * because the expected outcome of some is an abort with a message:
 *
 * - Loaded with RTLD_LOCAL (a plugin's symbols stay private), the static plugin's calls reach
 *   its own copy.  When both copies are used on one mutex, one waiting in one copy's table and
 *   the other unlocking through the other's, the wake-up would be lost; the second copy to need
 *   a table must abort instead, naming both objects and the fix.  Either order, and both copies
 *   starting at once from two threads.
 * - Two copies loaded but only one used: no abort (the check is made at first use).
 * - With libparking.so loaded RTLD_GLOBAL first (as when the program itself links it), the
 *   static plugin's exported libparking functions are interposed by the shared library's, so
 *   only one copy is ever used: a lock handed between the two plugins works and nothing aborts.
 * - Two plugins linked to the shared library share it: a lock handed between them works.
 *
 * Knowing that a thread is queued on a mutex: the plugin's `queued` counts the threads on the
 * mutex's address with pl_unpark_filter and a filter that only counts (PL_FILTER_SKIP), polled
 * until the expected count shows, with a bound; no sleeps stand in for synchronisation.
 */
#define _GNU_SOURCE
#include <check.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "plugin.h"

#define MS 1000000ull
#define S 1000000000ull
#define LONG_WAIT (20 * S) /* far more than any step needs, below the Check timeouts */

/* ---- in the child: loading plugins and failing loudly ---- */

static _Noreturn void child_fail(int code, const char *what)
{
    fprintf(stderr, "one_table_test child: %s\n", what);
    fflush(stderr);
    _exit(code);
}

static const struct pl_test_plugin *load(const char *path, int flags)
{
    void *h = dlopen(path, flags);
    if (h == NULL) {
        fprintf(stderr, "dlopen(%s): %s\n", path, dlerror());
        child_fail(90, "cannot load a plugin");
    }
    union {
        void *p;
        pl_test_plugin_fn fn;
    } u;
    u.p = dlsym(h, PL_TEST_PLUGIN_SYMBOL);
    if (u.p == NULL)
        child_fail(90, "plugin without " PL_TEST_PLUGIN_SYMBOL);
    return u.fn();
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * S + (uint64_t)ts.tv_nsec;
}

static void pause_a_little(void)
{
    struct timespec ts = {0, 1000000}; /* 1 ms between polls */
    nanosleep(&ts, NULL);
}

/* Polls until plugin p sees `count` threads queued on m, or fails the child. */
static void wait_queued(const struct pl_test_plugin *p, pl_mutex_t *m, size_t count)
{
    uint64_t end = now_ns() + LONG_WAIT;
    while (p->queued(m) != count) {
        if (now_ns() > end)
            child_fail(91, "a waiter never showed up in the queue");
        pause_a_little();
    }
}

static void spawn(pthread_t *t, void *(*fn)(void *), void *arg)
{
    if (pthread_create(t, NULL, fn, arg) != 0)
        child_fail(92, "pthread_create failed");
}

/* ---- a lock handed between two plugins: holder locks through one, waiter through other ---- */

struct handoff {
    const struct pl_test_plugin *holder, *waiter;
    pl_mutex_t m;
    atomic_int held;    /* the holder has the mutex */
    atomic_int release; /* the holder may unlock */
    atomic_int got;     /* the waiter's lock_for result: 1 acquired, 2 timed out */
};

static void *holder_thread(void *arg)
{
    struct handoff *h = arg;
    h->holder->lock(&h->m);
    atomic_store(&h->held, 1);
    uint64_t end = now_ns() + LONG_WAIT;
    while (!atomic_load(&h->release)) {
        if (now_ns() > end)
            child_fail(93, "holder never told to release");
        pause_a_little();
    }
    h->holder->unlock(&h->m);
    return NULL;
}

static void *waiter_thread(void *arg)
{
    struct handoff *h = arg;
    bool ok = h->waiter->lock_for(&h->m, LONG_WAIT);
    atomic_store(&h->got, ok ? 1 : 2);
    if (ok)
        h->waiter->unlock(&h->m);
    return NULL;
}

/* The queue is watched through the waiter's plugin, so that until the holder unlocks only the
 * waiter's copy of the library has been asked for a table. */
static void handoff(const struct pl_test_plugin *holder, const struct pl_test_plugin *waiter)
{
    struct handoff h;
    memset(&h, 0, sizeof h); /* an unlocked mutex, flags clear */
    h.holder = holder;
    h.waiter = waiter;
    pthread_t th, tw;
    spawn(&th, holder_thread, &h);
    uint64_t end = now_ns() + LONG_WAIT;
    while (!atomic_load(&h.held)) {
        if (now_ns() > end)
            child_fail(93, "holder never got the mutex");
        pause_a_little();
    }
    spawn(&tw, waiter_thread, &h);
    wait_queued(waiter, &h.m, 1);
    atomic_store(&h.release, 1);
    pthread_join(th, NULL);
    pthread_join(tw, NULL);
    if (atomic_load(&h.got) != 1)
        child_fail(94, "the waiter was not woken by the unlock (lost wake-up)");
}

/* ---- scenarios, each the body of a child process ---- */

static void shared_holds_static_waits(void)
{
    const struct pl_test_plugin *sh = load(PL_PLUGIN_SHARED_PATH, RTLD_NOW | RTLD_LOCAL);
    const struct pl_test_plugin *st = load(PL_PLUGIN_STATIC_PATH, RTLD_NOW | RTLD_LOCAL);
    handoff(sh, st);
}

static void static_holds_shared_waits(void)
{
    const struct pl_test_plugin *sh = load(PL_PLUGIN_SHARED_PATH, RTLD_NOW | RTLD_LOCAL);
    const struct pl_test_plugin *st = load(PL_PLUGIN_STATIC_PATH, RTLD_NOW | RTLD_LOCAL);
    handoff(st, sh);
}

struct racer {
    const struct pl_test_plugin *p;
    atomic_int *start;
    pl_mutex_t key;
};

static void *race_thread(void *arg)
{
    struct racer *r = arg;
    while (!atomic_load(r->start)) {
    }
    (void)r->p->queued(&r->key); /* this copy's first use of its table */
    return NULL;
}

static void both_start_at_once(void)
{
    static atomic_int start;
    static struct racer a, b;
    a.p = load(PL_PLUGIN_SHARED_PATH, RTLD_NOW | RTLD_LOCAL);
    b.p = load(PL_PLUGIN_STATIC_PATH, RTLD_NOW | RTLD_LOCAL);
    a.start = b.start = &start;
    pthread_t ta, tb;
    spawn(&ta, race_thread, &a);
    spawn(&tb, race_thread, &b);
    atomic_store(&start, 1);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
}

struct counting {
    const struct pl_test_plugin *p;
    pl_mutex_t m;
    long counter; /* only under m */
};

static void *count_thread(void *arg)
{
    struct counting *c = arg;
    for (int i = 0; i < 20000; i++) {
        c->p->lock(&c->m);
        c->counter++;
        c->p->unlock(&c->m);
    }
    return NULL;
}

static void only_static_used(void)
{
    (void)load(PL_PLUGIN_SHARED_PATH, RTLD_NOW | RTLD_LOCAL); /* loaded, never used */
    static struct counting c;
    c.p = load(PL_PLUGIN_STATIC_PATH, RTLD_NOW | RTLD_LOCAL);
    (void)c.p->queued(&c.m); /* make sure the static copy has its table */
    pthread_t t[8];          /* 4x the 2 cores */
    for (int i = 0; i < 8; i++)
        spawn(&t[i], count_thread, &c);
    for (int i = 0; i < 8; i++)
        pthread_join(t[i], NULL);
    if (c.counter != 8 * 20000)
        child_fail(95, "counter wrong: the mutex let two threads in");
    handoff(c.p, c.p);
}

static void global_shared_interposes(void)
{
    void *lib = dlopen(PL_LIBPARKING_PATH, RTLD_NOW | RTLD_GLOBAL);
    if (lib == NULL)
        child_fail(90, dlerror());
    void *park = dlsym(lib, "pl_park");
    const struct pl_test_plugin *sh = load(PL_PLUGIN_SHARED_PATH, RTLD_NOW | RTLD_LOCAL);
    const struct pl_test_plugin *st = load(PL_PLUGIN_STATIC_PATH, RTLD_NOW | RTLD_LOCAL);
    if (park == NULL || sh->park_fn() != park || st->park_fn() != park)
        child_fail(96, "the static plugin's pl_park is not the shared library's");
    handoff(st, sh);
    handoff(sh, st);
}

static void two_shared_plugins(void)
{
    const struct pl_test_plugin *a = load(PL_PLUGIN_SHARED_PATH, RTLD_NOW | RTLD_LOCAL);
    const struct pl_test_plugin *b = load(PL_PLUGIN_SHARED2_PATH, RTLD_NOW | RTLD_LOCAL);
    if (a->park_fn() != b->park_fn())
        child_fail(96, "two plugins linked to libparking.so reach different pl_park");
    handoff(a, b);
    handoff(b, a);
}

/* ---- running a scenario in a child and judging it ---- */

struct outcome {
    int status;
    char err[16384]; /* the child's stderr */
};

static void run_child(void (*body)(void), struct outcome *o)
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    fflush(NULL);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        alarm(60); /* a hung child dies instead of outliving the test */
        dup2(fds[1], STDERR_FILENO);
        close(fds[0]);
        close(fds[1]);
        body();
        fflush(NULL);
        _exit(0);
    }
    close(fds[1]);
    size_t len = 0;
    for (;;) {
        char buf[512];
        ssize_t n = read(fds[0], buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        size_t keep = (size_t)n < sizeof o->err - 1 - len ? (size_t)n : sizeof o->err - 1 - len;
        memcpy(o->err + len, buf, keep);
        len += keep;
    }
    o->err[len] = '\0';
    close(fds[0]);
    ck_assert_int_eq(waitpid(pid, &o->status, 0), pid);
}

static void expect_abort_naming_both(const struct outcome *o)
{
    ck_assert_msg(WIFSIGNALED(o->status) && WTERMSIG(o->status) == SIGABRT,
                  "expected SIGABRT, got status %#x; child stderr:\n%s", o->status, o->err);
    ck_assert_msg(strstr(o->err, "libparking: fatal: two copies of libparking are in use") != NULL,
                  "no explanation on stderr:\n%s", o->err);
    ck_assert_msg(strstr(o->err, "pl_plugin_static") != NULL, "static copy not named:\n%s", o->err);
    ck_assert_msg(strstr(o->err, "libparking.so") != NULL, "shared copy not named:\n%s", o->err);
    ck_assert_msg(strstr(o->err, "link every module") != NULL &&
                      strstr(o->err, "against the shared library libparking.so") != NULL,
                  "the fix is not explained:\n%s", o->err);
}

static void expect_clean_exit(const struct outcome *o)
{
    ck_assert_msg(WIFEXITED(o->status) && WEXITSTATUS(o->status) == 0,
                  "expected exit 0, got status %#x; child stderr:\n%s", o->status, o->err);
    ck_assert_msg(strstr(o->err, "libparking") == NULL, "unexpected message:\n%s", o->err);
}

static struct outcome outcome;

START_TEST(test_shared_holds_static_waits_aborts)
{
    run_child(shared_holds_static_waits, &outcome);
    expect_abort_naming_both(&outcome);
}
END_TEST

START_TEST(test_static_holds_shared_waits_aborts)
{
    run_child(static_holds_shared_waits, &outcome);
    expect_abort_naming_both(&outcome);
}
END_TEST

START_TEST(test_both_start_at_once_aborts)
{
    for (int i = 0; i < 20; i++) {
        run_child(both_start_at_once, &outcome);
        expect_abort_naming_both(&outcome);
    }
}
END_TEST

START_TEST(test_only_one_copy_used_runs)
{
    run_child(only_static_used, &outcome);
    expect_clean_exit(&outcome);
}
END_TEST

START_TEST(test_global_shared_library_interposes)
{
    run_child(global_shared_interposes, &outcome);
    expect_clean_exit(&outcome);
}
END_TEST

START_TEST(test_two_plugins_share_the_shared_library)
{
    run_child(two_shared_plugins, &outcome);
    expect_clean_exit(&outcome);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("one_table");
    TCase *abort_cases = tcase_create("two copies in use");
    tcase_set_timeout(abort_cases, 120);
    tcase_add_test(abort_cases, test_shared_holds_static_waits_aborts);
    tcase_add_test(abort_cases, test_static_holds_shared_waits_aborts);
    tcase_add_test(abort_cases, test_both_start_at_once_aborts);
    suite_add_tcase(s, abort_cases);
    TCase *ok_cases = tcase_create("one copy in use");
    tcase_set_timeout(ok_cases, 120);
    tcase_add_test(ok_cases, test_only_one_copy_used_runs);
    tcase_add_test(ok_cases, test_global_shared_library_interposes);
    tcase_add_test(ok_cases, test_two_plugins_share_the_shared_library);
    suite_add_tcase(s, ok_cases);

    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
