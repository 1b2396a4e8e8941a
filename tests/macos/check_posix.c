/* A runner behind tests/windows/check.h for POSIX systems without Check: macOS, cross-compiled
 * here with zig cc (tools/test-macos, docs/macos-bsd.md), where no Check is packaged for the
 * target.  Check's fork mode, with fork() itself: every test (every loop iteration) runs in a
 * child, the parent judges it by how the child ended, and kills it at its TCase's timeout.
 *
 * Exit codes of a child: CK_EXIT_RETURNED when the test function returned, CK_EXIT_FAILED after
 * a failed assertion (the child printed it), CK_EXIT_SKIPPED from ck_win_skip, any other value
 * from the test's own exit(); a signal is the signal, as Check sees it. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

enum {
    CK_EXIT_FAILED = 71,
    CK_EXIT_RETURNED = 72, /* not 0: a test that calls exit(0) halfway must not pass */
    CK_EXIT_SKIPPED = 77,
};

typedef struct test_entry {
    const TTest *ttest;
    int signal;
    int allowed_exit;
    int start, end;
} test_entry_t;

struct TCase {
    char *name;
    double timeout; /* seconds, before CK_TIMEOUT_MULTIPLIER; 0 = none */
    test_entry_t *tests;
    size_t ntests, cap;
    TCase *next;
};

struct Suite {
    char *name;
    TCase *first, *last;
    Suite *next;
};

struct SRunner {
    Suite *first, *last;
    int checks, failures, errors, skipped;
};

static const char *g_tcase_name = "?";
static const char *g_test_name = "?";
static int g_iteration;

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (p == NULL) {
        fputs("check_posix: out of memory\n", stderr);
        abort();
    }
    return p;
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(xcalloc(n, 1), s, n);
}

static double env_double(const char *name, double fallback)
{
    const char *v = getenv(name);
    if (v == NULL || *v == '\0')
        return fallback;
    char *end;
    double d = strtod(v, &end);
    return (*end == '\0' && d >= 0) ? d : fallback;
}

Suite *suite_create(const char *name)
{
    Suite *s = xcalloc(1, sizeof *s);
    s->name = xstrdup(name ? name : "");
    return s;
}

void suite_add_tcase(Suite *s, TCase *tc)
{
    if (s == NULL || tc == NULL)
        return;
    if (s->last)
        s->last->next = tc;
    else
        s->first = tc;
    s->last = tc;
}

TCase *tcase_create(const char *name)
{
    TCase *tc = xcalloc(1, sizeof *tc);
    tc->name = xstrdup(name ? name : "");
    tc->timeout = env_double("CK_DEFAULT_TIMEOUT", 4.0);
    return tc;
}

void tcase_set_timeout(TCase *tc, double timeout)
{
    if (timeout >= 0)
        tc->timeout = timeout;
}

void _tcase_add_test(TCase *tc, const TTest *ttest, int signal, int allowed_exit_value, int start,
                     int end)
{
    if (tc == NULL || ttest == NULL)
        return;
    if (tc->ntests == tc->cap) {
        size_t cap = tc->cap ? 2 * tc->cap : 16;
        test_entry_t *t = realloc(tc->tests, cap * sizeof *t);
        if (t == NULL) {
            fputs("check_posix: out of memory\n", stderr);
            abort();
        }
        tc->tests = t;
        tc->cap = cap;
    }
    tc->tests[tc->ntests++] = (test_entry_t){ttest, signal, allowed_exit_value, start, end};
}

SRunner *srunner_create(Suite *s)
{
    SRunner *sr = xcalloc(1, sizeof *sr);
    srunner_add_suite(sr, s);
    return sr;
}

void srunner_add_suite(SRunner *sr, Suite *s)
{
    if (s == NULL)
        return;
    if (sr->last)
        sr->last->next = s;
    else
        sr->first = s;
    sr->last = s;
}

void srunner_set_fork_status(SRunner *sr, enum fork_status fstat)
{
    (void)sr;
    if (fstat == CK_NOFORK)
        fputs("check_posix: CK_NOFORK is not supported; every test runs in a child process\n",
              stderr);
}

int srunner_ntests_failed(SRunner *sr) { return sr->failures + sr->errors; }
int srunner_ntests_run(SRunner *sr) { return sr->checks; }

void ck_win_counts(SRunner *sr, int *failures, int *errors, int *skipped)
{
    *failures = sr->failures;
    *errors = sr->errors;
    *skipped = sr->skipped;
}

void srunner_free(SRunner *sr)
{
    for (Suite *s = sr->first, *snext; s; s = snext) {
        snext = s->next;
        for (TCase *tc = s->first, *tnext; tc; tc = tnext) {
            tnext = tc->next;
            free(tc->tests);
            free(tc->name);
            free(tc);
        }
        free(s->name);
        free(s);
    }
    free(sr);
}

/* ---- The child ---- */

void _mark_point(const char *file, int line)
{
    (void)file;
    (void)line;
}

static CK_ATTRIBUTE_NORETURN void child_exit(int code)
{
    fflush(stdout);
    fflush(stderr);
    _exit(code); /* not exit(): other test threads may still run, even hold stdio's locks */
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
    child_exit(CK_EXIT_FAILED);
}

void ck_win_skip(const char *why)
{
    fprintf(stderr, "%s:%s:%d: SKIPPED: %s\n", g_tcase_name, g_test_name, g_iteration, why);
    child_exit(CK_EXIT_SKIPPED);
}

/* ---- The parent ---- */

enum verdict { V_PASS, V_FAIL, V_ERROR, V_SKIP };

/* Runs one test in a child; fills why (empty when there is nothing to say). */
static enum verdict run_one(const TCase *tc, const test_entry_t *e, int i, double timeout,
                            char *why, size_t why_size)
{
    why[0] = '\0';
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(why, why_size, "fork failed: %s", strerror(errno));
        return V_ERROR;
    }
    if (pid == 0) {
        setpgid(0, 0); /* its own group: a timeout kills whatever it started too */
        g_tcase_name = tc->name;
        g_test_name = e->ttest->name;
        g_iteration = i;
        e->ttest->fn(i);
        child_exit(CK_EXIT_RETURNED);
    }
    struct timespec start, now, nap = {0, 1000000};
    clock_gettime(CLOCK_MONOTONIC, &start);
    int status;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            break;
        if (r < 0 && errno != EINTR) {
            snprintf(why, why_size, "waitpid failed: %s", strerror(errno));
            return V_ERROR;
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        double t = (double)(now.tv_sec - start.tv_sec) + (now.tv_nsec - start.tv_nsec) / 1e9;
        if (timeout > 0 && t >= timeout) {
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
            }
            snprintf(why, why_size, "Test timeout expired");
            return V_ERROR;
        }
        nanosleep(&nap, NULL);
    }

    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        if (e->signal == sig)
            return V_PASS;
        if (e->signal != 0)
            snprintf(why, why_size, "Received signal %d (%s), expected %d (%s)", sig,
                     strsignal(sig), e->signal, strsignal(e->signal));
        else
            snprintf(why, why_size, "Received signal %d (%s)", sig, strsignal(sig));
        return V_ERROR;
    }
    int code = WEXITSTATUS(status);
    if (code == CK_EXIT_SKIPPED)
        return V_SKIP;
    if (code == CK_EXIT_FAILED)
        return V_FAIL; /* the child printed the assertion */
    if (e->signal != 0) {
        snprintf(why, why_size, "%s but signal %d (%s) was expected",
                 code == CK_EXIT_RETURNED ? "Test returned" : "Early exit", e->signal,
                 strsignal(e->signal));
        return V_FAIL;
    }
    if (code == CK_EXIT_RETURNED && e->allowed_exit == 0)
        return V_PASS;
    if (e->allowed_exit != 0 && code == e->allowed_exit)
        return V_PASS;
    if (code == CK_EXIT_RETURNED)
        snprintf(why, why_size, "Test returned but exit value %d was expected", e->allowed_exit);
    else
        snprintf(why, why_size, "Early exit with return value %d", code);
    return V_ERROR;
}

void srunner_run_all(SRunner *sr, enum print_output print_mode)
{
    const char *v = getenv("CK_VERBOSITY");
    enum print_output mode = print_mode == CK_ENV ? CK_NORMAL : print_mode;
    if (v != NULL && *v != '\0')
        mode = strcmp(v, "silent") == 0    ? CK_SILENT
               : strcmp(v, "minimal") == 0 ? CK_MINIMAL
               : strcmp(v, "verbose") == 0 ? CK_VERBOSE
                                           : CK_NORMAL;
    const char *only_suite = getenv("CK_RUN_SUITE");
    const char *only_case = getenv("CK_RUN_CASE");
    double multiplier = env_double("CK_TIMEOUT_MULTIPLIER", 1.0);

    if (mode >= CK_NORMAL) {
        printf("Running suite(s):");
        for (Suite *s = sr->first; s; s = s->next)
            printf(" %s", s->name);
        printf("\n");
    }
    for (Suite *s = sr->first; s; s = s->next) {
        if (only_suite && *only_suite && strcmp(only_suite, s->name) != 0)
            continue;
        for (TCase *tc = s->first; tc; tc = tc->next) {
            if (only_case && *only_case && strcmp(only_case, tc->name) != 0)
                continue;
            for (size_t k = 0; k < tc->ntests; k++) {
                const test_entry_t *e = &tc->tests[k];
                for (int i = e->start; i < e->end; i++) {
                    char why[256];
                    enum verdict verdict =
                        run_one(tc, e, i, tc->timeout * multiplier, why, sizeof why);
                    const char *tag = "P";
                    sr->checks++;
                    switch (verdict) {
                    case V_PASS: break;
                    case V_FAIL: sr->failures++, tag = "F"; break;
                    case V_ERROR: sr->errors++, tag = "E"; break;
                    case V_SKIP: sr->skipped++, tag = "S"; break;
                    }
                    if (why[0] != '\0')
                        fprintf(stderr, "%s:%d:%s:%s:%s:%d: %s\n", e->ttest->file, e->ttest->line,
                                tag, tc->name, e->ttest->name, i, why);
                    else if (mode >= CK_VERBOSE)
                        printf("%s:%d:%s:%s:%s:%d: %s\n", e->ttest->file, e->ttest->line, tag,
                               tc->name, e->ttest->name, i, verdict == V_PASS ? "Passed" : "-");
                }
            }
        }
    }
    if (mode >= CK_MINIMAL) {
        int bad = sr->failures + sr->errors;
        int pct = sr->checks ? (sr->checks - bad) * 100 / sr->checks : 0;
        printf("%d%%: Checks: %d, Failures: %d, Errors: %d\n", pct, sr->checks, sr->failures,
               sr->errors);
    }
    fflush(stdout);
    fflush(stderr);
}
