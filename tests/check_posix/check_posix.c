/* The Check stand-in's runner for POSIX systems without a usable Check: musl, the
 * cross-compiled architectures run under qemu-user, and macOS (tools/test-musl,
 * tools/test-cross, tools/test-macos, docs/platforms.md).  Debian's Check is built for the
 * host's glibc only; the API is the subset
 * of tests/windows/check.h, the header the Windows runner (tests/windows/check_win.c) serves, so
 * tests/test_*.c compile unchanged against either.
 *
 * Check's fork mode, with fork itself: srunner_run_all forks once per test and loop iteration;
 * the child runs that one test and leaves with _exit, the parent reads the verdict from the wait
 * status:
 *   exit CK_POSIX_EXIT_RETURNED   the test function returned (passed);
 *   exit CK_POSIX_EXIT_FAILED     an assertion failed (the child printed where and why);
 *   exit CK_POSIX_EXIT_SKIPPED    the test called ck_win_skip (the child printed why);
 *   other exit values             the test called exit() itself: passed when that is the value
 *                                 tcase_add_exit_test allows, else an error ("early exit");
 *   a signal                      passed when it is the one tcase_add_test_raise_signal expects.
 * A child still running at its TCase's timeout (times CK_TIMEOUT_MULTIPLIER) is killed with its
 * process group and counted as an error, as Check does.  On Linux a child also dies with the
 * runner (PR_SET_PDEATHSIG), so ctest's own time-out leaves no test running. */
#define _GNU_SOURCE /* strsignal, sigtimedwait, setpgid, kill under -std=c11 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#  include <sys/prctl.h>
#endif

#include "check.h"

/* Exit values of a child (see the top of the file); not 0 for "returned": a test that calls
 * exit(0) halfway must not pass. */
enum {
    CK_POSIX_EXIT_INTERNAL = 70,
    CK_POSIX_EXIT_FAILED = 71,
    CK_POSIX_EXIT_RETURNED = 72,
    CK_POSIX_EXIT_SKIPPED = 77,
};

#define CK_RUNNER "check_posix"
#include "check_suite.h"

static CK_ATTRIBUTE_NORETURN void child_exit(int code)
{
    fflush(stdout);
    fflush(stderr);
    /* _exit, not exit: other test threads may still run, even hold stdio's locks. */
    _exit(code);
}

void _ck_assert_failed(const char *file, int line, const char *expr, const char *msg, ...)
{
    char text[2048];
    if (msg != NULL) {
        va_list ap;
        va_start(ap, msg);
        vsnprintf(text, sizeof text, msg, ap);
        va_end(ap);
    } else {
        snprintf(text, sizeof text, "%s", expr);
    }
    fprintf(stderr, "%s:%d:F:%s:%s:%d: %s\n", file, line, g_tcase_name, g_test_name, g_iteration,
            text);
    child_exit(CK_POSIX_EXIT_FAILED);
}

void ck_win_skip(const char *why)
{
    fprintf(stderr, "%s:%s:%d: SKIPPED: %s\n", g_tcase_name, g_test_name, g_iteration, why);
    child_exit(CK_POSIX_EXIT_SKIPPED);
}

static CK_ATTRIBUTE_NORETURN void run_child(const TCase *tc, const test_entry_t *e, int iteration,
                                            const sigset_t *mask)
{
    g_tcase_name = tc->name;
    g_test_name = e->ttest->name;
    g_iteration = iteration;
    /* Its own process group, so that a time-out kills whatever the test started too. */
    (void)setpgid(0, 0);
#ifdef __linux__
    (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() == 1)
        _exit(CK_POSIX_EXIT_INTERNAL); /* the runner died before the line above */
#endif
    sigprocmask(SIG_SETMASK, mask, NULL);
    e->ttest->fn(iteration);
    child_exit(CK_POSIX_EXIT_RETURNED);
}

/* ---- The parent: fork one child per test and iteration ---- */

typedef struct outcome {
    bool timed_out, internal;
    int status; /* waitpid's */
} outcome_t;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Waits at most `ts` for a SIGCHLD (blocked by the caller).  macOS has no sigtimedwait: there
 * it naps 10 ms, and the caller's loop looks again (the macOS build only compiles the tests). */
static void wait_chld(const sigset_t *chld, const struct timespec *ts)
{
#ifdef __APPLE__
    (void)chld;
    struct timespec nap = {0, 10000000};
    if (ts->tv_sec == 0 && ts->tv_nsec < nap.tv_nsec)
        nap = *ts;
    nanosleep(&nap, NULL);
#else
    (void)sigtimedwait(chld, NULL, ts);
#endif
}

/* Runs one test in a child and waits for it, at most `timeout` seconds (0: no limit).  SIGCHLD
 * is blocked here and waited for with sigtimedwait, so the end of a child is seen at once
 * without polling. */
static outcome_t run_test(const TCase *tc, const test_entry_t *e, int iteration, double timeout)
{
    outcome_t out = {false, false, 0};
    sigset_t chld, old;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, &old);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "check_posix: fork failed: %s\n", strerror(errno));
        sigprocmask(SIG_SETMASK, &old, NULL);
        out.internal = true;
        return out;
    }
    if (pid == 0)
        run_child(tc, e, iteration, &old);
    (void)setpgid(pid, pid); /* also here: no race with the kill below */

    double deadline = timeout > 0 ? now_s() + timeout : 0;
    for (;;) {
        pid_t r = waitpid(pid, &out.status, WNOHANG);
        if (r == pid)
            break;
        if (r < 0 && errno != EINTR) {
            fprintf(stderr, "check_posix: waitpid failed: %s\n", strerror(errno));
            out.internal = true;
            break;
        }
        if (r != 0)
            continue;
        if (deadline > 0) {
            double left = deadline - now_s();
            if (left <= 0) {
                kill(-pid, SIGKILL);
                kill(pid, SIGKILL);
                while (waitpid(pid, &out.status, 0) < 0 && errno == EINTR) {
                }
                out.timed_out = true;
                break;
            }
            /* At most a second per wait, to look again even if a SIGCHLD went astray. */
            if (left > 1.0)
                left = 1.0;
            struct timespec ts = {(time_t)left, (long)((left - (double)(time_t)left) * 1e9)};
            wait_chld(&chld, &ts);
        } else {
            struct timespec ts = {1, 0};
            wait_chld(&chld, &ts);
        }
    }
    /* Any process the test left behind in its group goes with it. */
    kill(-pid, SIGKILL);
    sigprocmask(SIG_SETMASK, &old, NULL);
    return out;
}

enum verdict { V_PASS, V_FAIL, V_ERROR, V_SKIP };

static const char *signal_name(int sig)
{
    const char *s = strsignal(sig);
    return s ? s : "?";
}

static enum verdict judge(const test_entry_t *e, outcome_t o, char *why, size_t why_size)
{
    why[0] = '\0';
    if (o.timed_out) {
        snprintf(why, why_size, "Test timeout expired");
        return V_ERROR;
    }
    if (o.internal) {
        snprintf(why, why_size, "the runner could not run the test");
        return V_ERROR;
    }
    if (WIFSIGNALED(o.status)) {
        int sig = WTERMSIG(o.status);
        if (e->signal == sig)
            return V_PASS;
        if (e->signal != 0)
            snprintf(why, why_size, "Received signal %d (%s), expected %d (%s)", sig,
                     signal_name(sig), e->signal, signal_name(e->signal));
        else
            snprintf(why, why_size, "Received signal %d (%s)", sig, signal_name(sig));
        return V_ERROR;
    }
    int code = WIFEXITED(o.status) ? WEXITSTATUS(o.status) : CK_POSIX_EXIT_INTERNAL;
    if (code == CK_POSIX_EXIT_SKIPPED)
        return V_SKIP;
    if (code == CK_POSIX_EXIT_FAILED)
        return V_FAIL; /* the child printed the assertion */
    if (code == CK_POSIX_EXIT_INTERNAL) {
        snprintf(why, why_size, "the runner could not run the test");
        return V_ERROR;
    }
    if (e->signal != 0) {
        if (code == CK_POSIX_EXIT_RETURNED)
            snprintf(why, why_size, "Test returned but signal %d (%s) was expected", e->signal,
                     signal_name(e->signal));
        else
            snprintf(why, why_size, "Exit value %d but signal %d (%s) was expected", code,
                     e->signal, signal_name(e->signal));
        return V_FAIL;
    }
    if (code == CK_POSIX_EXIT_RETURNED && e->allowed_exit == 0)
        return V_PASS;
    if (e->allowed_exit != 0 && code == e->allowed_exit)
        return V_PASS;
    if (code == CK_POSIX_EXIT_RETURNED)
        snprintf(why, why_size, "Test returned but exit value %d was expected", e->allowed_exit);
    else
        snprintf(why, why_size, "Early exit with return value %d", code);
    return V_ERROR;
}

/* CK_VERBOSITY, when set, wins over the program's mode (as with the Windows runner): the test
 * programs all pass CK_NORMAL, and one line per test with its time is what a slow emulated run
 * needs. */
static enum print_output verbosity(enum print_output mode)
{
    const char *v = getenv("CK_VERBOSITY");
    if (v == NULL || *v == '\0')
        return mode == CK_ENV ? CK_NORMAL : mode;
    if (strcmp(v, "silent") == 0)
        return CK_SILENT;
    if (strcmp(v, "minimal") == 0)
        return CK_MINIMAL;
    if (strcmp(v, "verbose") == 0)
        return CK_VERBOSE;
    return CK_NORMAL;
}

/* Whether `name` is in CK_RUN_CASE.  As an extension of Check's single name, a comma-separated
 * list: the reduced runs of tools/test-cross pick a few cases from several programs at once. */
static bool case_selected(const char *only_case, const char *name)
{
    if (only_case == NULL || *only_case == '\0')
        return true;
    size_t n = strlen(name);
    for (const char *p = only_case; p != NULL;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == n && strncmp(p, name, n) == 0)
            return true;
        p = comma ? comma + 1 : NULL;
    }
    return false;
}

void srunner_run_all(SRunner *sr, enum print_output print_mode)
{
    enum print_output mode = verbosity(print_mode);
    const char *only_suite = getenv("CK_RUN_SUITE");
    const char *only_case = getenv("CK_RUN_CASE");
    double multiplier = env_double("CK_TIMEOUT_MULTIPLIER", 1.0);
    const char *fork_env = getenv("CK_FORK");
    if (fork_env != NULL && strcmp(fork_env, "no") == 0)
        fputs("check_posix: CK_FORK=no is not supported; every test runs in a child process\n",
              stderr);

    if (mode >= CK_NORMAL && mode != CK_ENV) {
        printf("Running suite(s):");
        for (Suite *s = sr->first; s; s = s->next)
            printf(" %s", s->name);
        printf("\n");
    }
    for (Suite *s = sr->first; s; s = s->next) {
        if (only_suite && *only_suite && strcmp(only_suite, s->name) != 0)
            continue;
        for (TCase *tc = s->first; tc; tc = tc->next) {
            if (!case_selected(only_case, tc->name))
                continue;
            for (size_t ki = 0; ki < tc->ntests; ki++) {
                const test_entry_t *e = &tc->tests[ki];
                for (int i = e->start; i < e->end; i++) {
                    char why[256];
                    double t0 = now_s();
                    outcome_t o = run_test(tc, e, i, tc->timeout * multiplier);
                    long ms = (long)((now_s() - t0) * 1000.0);
                    enum verdict v = judge(e, o, why, sizeof why);
                    sr->checks++;
                    const char *tag = "P";
                    switch (v) {
                    case V_PASS: break;
                    case V_FAIL: sr->failures++, tag = "F"; break;
                    case V_ERROR: sr->errors++, tag = "E"; break;
                    case V_SKIP: sr->skipped++, tag = "S"; break;
                    }
                    if (why[0] != '\0')
                        fprintf(stderr, "%s:%d:%s:%s:%s:%d: %s\n", e->ttest->file, e->ttest->line,
                                tag, tc->name, e->ttest->name, i, why);
                    if (mode >= CK_VERBOSE && mode != CK_ENV)
                        printf("%s:%d:%s:%s:%s:%d: %s (%ld ms)\n", e->ttest->file, e->ttest->line,
                               tag, tc->name, e->ttest->name, i,
                               v == V_PASS   ? "Passed"
                               : v == V_SKIP ? "Skipped"
                                             : "Failed",
                               ms);
                }
            }
        }
    }
    if (mode >= CK_MINIMAL && mode != CK_ENV) {
        int bad = sr->failures + sr->errors;
        int pct = sr->checks ? (sr->checks - bad) * 100 / sr->checks : 0;
        printf("%d%%: Checks: %d, Failures: %d, Errors: %d\n", pct, sr->checks, sr->failures,
               sr->errors);
        /* One line the tools/ scripts collect for their summaries. */
        printf("check-posix: %s: %d checks, %d passed, %d failed, %d errors, %d skipped\n",
               sr->first ? sr->first->name : "?", sr->checks, sr->checks - bad - sr->skipped,
               sr->failures, sr->errors, sr->skipped);
    }
    fflush(stdout);
    fflush(stderr);
}
