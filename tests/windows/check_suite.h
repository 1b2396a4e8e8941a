/* The half of the Check stand-in that both runners share, Windows' (check_win.c) and POSIX's
 * (tests/check_posix/check_posix.c): the suites, test cases and runner that tests/test_*.c build
 * through check.h, the names the child reports under, and _mark_point.  How a test runs (a
 * child process, its verdict) is each runner's own.  Included once by each runner, after
 * check.h, with CK_RUNNER defined to the runner's name for its messages. */
#ifndef PARKING_CHECK_SUITE_H
#define PARKING_CHECK_SUITE_H

#ifndef CK_RUNNER
#  error "define CK_RUNNER (the runner's name) before including check_suite.h"
#endif

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

/* What the child is running, for its messages. */
static const char *g_tcase_name = "?";
static const char *g_test_name = "?";
static int g_iteration;

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n, size);
    if (p == NULL) {
        fputs(CK_RUNNER ": out of memory\n", stderr);
        abort();
    }
    return p;
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = xcalloc(n, 1);
    memcpy(d, s, n);
    return d;
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

/* ---- Building suites ---- */

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
            fputs(CK_RUNNER ": out of memory\n", stderr);
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
        fputs(CK_RUNNER ": CK_NOFORK is not supported; every test runs in a child process\n",
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
    Suite *s = sr->first;
    while (s) {
        Suite *snext = s->next;
        TCase *tc = s->first;
        while (tc) {
            TCase *tnext = tc->next;
            free(tc->tests);
            free(tc->name);
            free(tc);
            tc = tnext;
        }
        free(s->name);
        free(s);
        s = snext;
    }
    free(sr);
}

/* ---- The child: run one test ---- */

void _mark_point(const char *file, int line)
{
    (void)file;
    (void)line;
}

#endif /* PARKING_CHECK_SUITE_H */
