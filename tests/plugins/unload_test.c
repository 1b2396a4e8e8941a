/* Unloading the plugin that brought libparking in, while threads that parked live on
 * (docs/design.md section 3).
 *
 * This host does not link libparking.  It dlopen()s pl_plugin_shared (plugin.c, linked to
 * libparking.so.0.2), so the plugin is the only thing keeping libparking loaded.  A worker thread
 * (its code is here, in the host, so that it survives the unload) parks through the plugin: it
 * waits for a mutex that the main thread holds, until the main thread sees it queued and
 * unlocks.  Its first park created its parking data and registered the thread-exit hook, a
 * pthread key whose destructor is libparking code.  The worker then leaves the plugin's code and
 * waits in the host; the main thread dlclose()s the plugin and only then lets the worker exit.
 * The C library runs the key's destructor as the worker exits: if dlclose had unmapped
 * libparking, that is a call into unmapped memory (SIGSEGV).  Afterwards the plugin is loaded
 * again and a fresh worker parks through it, and exits, the same way.
 *
 * Each round runs in a child process (it may crash), bounded by alarm().  No sleep stands in for
 * synchronisation: "the worker is queued" is read through the plugin's `queued` (a counting
 * pl_unpark_filter), polled with a bound. */
#define _GNU_SOURCE
#include <check.h>
#include <dlfcn.h>
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

#define S 1000000000ull
#define LONG_WAIT (20 * S) /* far more than any step needs, below the alarm and Check timeouts */

static _Noreturn void child_fail(int code, const char *what)
{
    fprintf(stderr, "unload_test child: %s\n", what);
    fflush(stderr);
    _exit(code);
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * S + (uint64_t)ts.tv_nsec;
}

/* One poll step of a bounded wait for another thread: it needs the processor, not a delay. */
static void poll_step(uint64_t end, const char *what)
{
    if (now_ns() > end)
        child_fail(91, what);
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
}

struct worker {
    const struct pl_test_plugin *p;
    pl_mutex_t m;
    atomic_int got;      /* 1: the lock_for succeeded (after parking); 2: it timed out */
    atomic_int may_exit; /* set by the main thread after the dlclose */
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    bool ok = w->p->lock_for(&w->m, LONG_WAIT); /* parks: the main thread holds m */
    if (ok)
        w->p->unlock(&w->m);
    atomic_store(&w->got, ok ? 1 : 2);
    /* From here on no plugin code runs on this thread; wait in the host's code. */
    uint64_t end = now_ns() + LONG_WAIT;
    while (!atomic_load(&w->may_exit))
        poll_step(end, "the worker was never told to exit");
    return NULL; /* thread exit: the C library runs libparking's key destructor */
}

static bool libparking_loaded(void)
{
    void *h = dlopen(PL_LIBPARKING_PATH, RTLD_NOW | RTLD_NOLOAD);
    if (h != NULL)
        dlclose(h);
    return h != NULL;
}

/* Load the plugin, park a worker through it, unload the plugin, let the worker exit. */
static void park_unload_exit(void)
{
    void *h = dlopen(PL_PLUGIN_SHARED_PATH, RTLD_NOW | RTLD_LOCAL);
    if (h == NULL)
        child_fail(90, dlerror());
    union {
        void *p;
        pl_test_plugin_fn fn;
    } u;
    u.p = dlsym(h, PL_TEST_PLUGIN_SYMBOL);
    if (u.p == NULL)
        child_fail(90, "plugin without " PL_TEST_PLUGIN_SYMBOL);

    static struct worker w;
    memset(&w, 0, sizeof w); /* an unlocked mutex, flags clear */
    w.p = u.fn();
    w.p->lock(&w.m);
    pthread_t t;
    if (pthread_create(&t, NULL, worker_main, &w) != 0)
        child_fail(92, "pthread_create failed");
    uint64_t end = now_ns() + LONG_WAIT;
    while (w.p->queued(&w.m) != 1)
        poll_step(end, "the worker never parked");
    w.p->unlock(&w.m);
    end = now_ns() + LONG_WAIT;
    while (atomic_load(&w.got) == 0)
        poll_step(end, "the worker never got the mutex");
    if (atomic_load(&w.got) != 1)
        child_fail(93, "the worker was not woken by the unlock");

    w.p = NULL; /* the plugin's table of functions goes with it */
    if (dlclose(h) != 0)
        child_fail(94, dlerror());
    atomic_store(&w.may_exit, 1);
    if (pthread_join(t, NULL) != 0) /* the crash, if any, happens in the worker's exit */
        child_fail(95, "pthread_join failed");
}

static void two_rounds(void)
{
    if (libparking_loaded())
        child_fail(96, "libparking is loaded before the plugin is: the test would prove nothing");
    park_unload_exit();
    park_unload_exit(); /* loaded again after the unload: still works, and exits cleanly */
}

START_TEST(unload_plugin_while_parked_threads_live)
{
    fflush(NULL);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        alarm(60); /* a hung child dies instead of outliving the test */
        two_rounds();
        _exit(0);
    }
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(!WIFSIGNALED(status),
                  "the child died of signal %d (%s): a thread's exit ran "
                  "code that the plugin's dlclose unmapped",
                  WTERMSIG(status), strsignal(WTERMSIG(status)));
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "the child failed with status %#x (see its message above)", status);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("unload");
    TCase *tc = tcase_create("dlclose");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, unload_plugin_while_parked_threads_live);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
