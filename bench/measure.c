/* pl-bench: how a configuration is measured.
 *
 * Every contender of a configuration runs in the same process, interleaved across repetitions
 * (A B C A B C ...), so that a slow phase of the machine (another build, frequency changes)
 * lands on all of them rather than on whichever ran last; the median of the repetitions is
 * reported with its spread.  The suite is first walked in a dry run (the plan) that only counts
 * runs, which gives the time estimate and the progress line's denominator. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

enum { MAX_REPS = 101, MAX_ENTRIES = 16 };

static unsigned reps = 3, duration_ms = 1000;
static bool progress, dry;
static unsigned planned, done;
static double planned_seconds;
static uint64_t started_ns;

void pb_measure_setup(unsigned r, unsigned ms, bool show_progress)
{
    reps = r < MAX_REPS ? r : MAX_REPS;
    duration_ms = ms;
    progress = show_progress;
}

void pb_measure_begin_plan(void)
{
    dry = true;
    planned = 0;
    planned_seconds = 0;
}

void pb_measure_end_plan(double *seconds, unsigned *runs)
{
    dry = false;
    *seconds = planned_seconds;
    *runs = planned;
    done = 0;
    started_ns = pb_now_ns();
}

uint64_t pb_measure_duration_ns(void) { return (uint64_t)duration_ms * 1000000u; }

/* 0 only reads it.  For workloads that run shorter than the preset's (wl_sync.c). */
unsigned pb_measure_set_duration_ms(unsigned ms)
{
    unsigned old = duration_ms;
    if (ms != 0)
        duration_ms = ms;
    return old;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, unsigned n)
{
    qsort(v, n, sizeof v[0], cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void show_progress(const pb_case_t *cs, const pb_entry_t *e, unsigned rep)
{
    /* Remaining time: the planned total scaled by how far we are, which folds in the set-up
     * costs seen so far. */
    double elapsed = (double)(pb_now_ns() - started_ns) / 1e9;
    double left = done ? elapsed * (double)(planned - done) / (double)done : planned_seconds;
    char where[64] = "";
    if (cs->threads)
        snprintf(where, sizeof where, " T=%u", cs->threads);
    fprintf(stderr, "\r\033[K[%u/%u, ~%.0f s left] %s%s%s%s: %s rep %u/%u", done + 1, planned, left,
            cs->workload, cs->config[0] ? " " : "", cs->config, where, e->name, rep + 1, reps);
    fflush(stderr);
}

void pb_measure(const pb_case_t *cs, const pb_entry_t *entries, size_t n, pb_run_fn fn, void *ctx)
{
    if (n > MAX_ENTRIES)
        pb_fatal("too many contenders (%zu)", n);
    if (dry) {
        planned += (unsigned)n * reps;
        planned_seconds += (double)n * reps * duration_ms / 1000.0;
        return;
    }
    static pb_result_t runs[MAX_ENTRIES][MAX_REPS];
    uint64_t ns = pb_measure_duration_ns();
    for (unsigned r = 0; r < reps; r++) {
        for (size_t k = 0; k < n; k++) {
            if (progress)
                show_progress(cs, &entries[k], r);
            pb_result_t *res = &runs[k][r];
            /* A run in which no operation completed (on a loaded machine, every thread of a
             * short --smoke run can miss its turn on the processors) says nothing about the lock:
             * run it again, longer, a few times before calling it a failure. */
            for (unsigned attempt = 0;; attempt++) {
                res->fairness = -1;
                res->extra = -1;
                fn(ctx, k, ns << attempt, res);
                if (res->value != 0 || attempt == 3)
                    break;
            }
            if (!(res->value > 0) || !isfinite(res->value))
                pb_fatal("%s %s: %s produced no measurement (%g)", cs->workload, cs->config,
                         entries[k].name, res->value);
            done++;
        }
    }
    if (progress)
        fputs("\r\033[K", stderr);

    pb_summary_t sums[MAX_ENTRIES];
    for (size_t k = 0; k < n; k++) {
        double v[MAX_REPS], f[MAX_REPS], x[MAX_REPS];
        for (unsigned r = 0; r < reps; r++) {
            v[r] = runs[k][r].value;
            f[r] = runs[k][r].fairness;
            x[r] = runs[k][r].extra;
        }
        pb_summary_t *s = &sums[k];
        s->median = median(v, reps);
        s->min = v[0];
        s->max = v[reps - 1];
        s->fairness = median(f, reps);
        s->extra = median(x, reps);
    }
    pb_report_case(cs, entries, n, sums, reps, duration_ms);
}
