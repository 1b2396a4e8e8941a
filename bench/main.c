/* pl-bench: options, the suite, and reporting (aligned tables on stdout, optional CSV). */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

enum { MAX_THREAD_COUNTS = 32, MAX_REPS = 101, MAX_THREADS = 1024 };

typedef struct inout { unsigned in, out; } inout_t;
static const inout_t inouts[] = {{1, 0}, {10, 40}, {1, 100}};
enum { NINOUTS = sizeof inouts / sizeof inouts[0] };

/* The quick suite is the default. */
#define QUICK_DURATION_MS 1000u
#define QUICK_REPS 3u
static const unsigned quick_threads[] = {1, 2, 4, 8};

typedef struct options {
    unsigned duration_ms;
    unsigned reps;
    unsigned threads[MAX_THREAD_COUNTS];
    unsigned nthreads;
    int uncontended, contended;
    const char *csv_path;
} options_t;

static void usage(FILE *f)
{
    fprintf(f,
"Usage: pl-bench [OPTION]...\n"
"Compare libparking's pl_mutex_t with pthread_mutex_t (the baseline).\n"
"\n"
"Workloads\n"
"  uncontended  One thread locks and unlocks the same mutex in a tight loop (the lock\n"
"               calls are inlined, as in user code).  Figure: ns/op, nanoseconds per\n"
"               lock+unlock pair, lower is better.  An idle extra thread lives for the\n"
"               whole program so that glibc does not take its single-threaded shortcuts.\n"
"  contended    The LockSpeedTest of WebKit and Rust parking_lot: T threads loop\n"
"                 { lock; `in` steps on shared data; unlock; `out` steps on private data }\n"
"               where a step is s += v; s *= 1.01; v = s on doubles, for a fixed\n"
"               duration, with the lock and its data alone on their cache lines.\n"
"               (in,out) = (1,0): pure lock hand-off;  (10,40): moderate contention;\n"
"               (1,100): light contention.  T from --threads.\n"
"               Figures: ops/s, critical sections per second over all threads, higher is\n"
"               better; fairness = min/max of the per-thread op counts (1 = perfectly\n"
"               even, 0 = some thread starved).\n"
"\n"
"Method\n"
"  Contenders run in the same process, interleaved (A B A B ...) over --reps\n"
"  repetitions; tables show the median over repetitions (fairness: its own median).\n"
"  vs pthread = speed relative to pthread_mutex_t in the same configuration (>1: faster).\n"
"  spread = (max - min) / median of the repetitions: the noise of the figure.\n"
"  Every run counts its critical sections in a plain counter inside the lock and aborts\n"
"  if it disagrees with the threads' op counts, or if the lock is not left clean.\n"
"\n"
"Options\n"
"  --duration-ms N   length of one run in ms (default %u)\n"
"  --reps N          repetitions per contender and configuration (default %u)\n"
"  --threads LIST    comma-separated thread counts for the contended workload\n"
"                    (default 1,2,4,8)\n"
"  --workload W      uncontended, contended or all (default all)\n"
"  --quick           the default suite (%u ms runs, %u reps, threads 1,2,4,8): about\n"
"                    80 s; other options given with it still apply\n"
"  --csv FILE        also write one row per contender and configuration to FILE\n"
"  -h, --help        this text\n",
            QUICK_DURATION_MS, QUICK_REPS, QUICK_DURATION_MS, QUICK_REPS);
}

static unsigned parse_uint(const char *opt, const char *s, unsigned min, unsigned max)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || *s == '-' || v < min || v > max) {
        fprintf(stderr, "pl-bench: %s: expected an integer in [%u, %u], got '%s'\n", opt, min,
                max, s);
        exit(2);
    }
    return (unsigned)v;
}

static void parse_threads(options_t *o, const char *list)
{
    char buf[256];
    if (strlen(list) >= sizeof buf) {
        fprintf(stderr, "pl-bench: --threads: list too long\n");
        exit(2);
    }
    strcpy(buf, list);
    o->nthreads = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        if (o->nthreads == MAX_THREAD_COUNTS) {
            fprintf(stderr, "pl-bench: --threads: at most %d counts\n", MAX_THREAD_COUNTS);
            exit(2);
        }
        o->threads[o->nthreads++] = parse_uint("--threads", tok, 1, MAX_THREADS);
    }
    if (o->nthreads == 0) {
        fprintf(stderr, "pl-bench: --threads: empty list\n");
        exit(2);
    }
}

static void parse_options(options_t *o, int argc, char **argv)
{
    enum { OPT_DURATION = 256, OPT_REPS, OPT_THREADS, OPT_WORKLOAD, OPT_QUICK, OPT_CSV };
    static const struct option longopts[] = {
        {"duration-ms", required_argument, NULL, OPT_DURATION},
        {"reps", required_argument, NULL, OPT_REPS},
        {"threads", required_argument, NULL, OPT_THREADS},
        {"workload", required_argument, NULL, OPT_WORKLOAD},
        {"quick", no_argument, NULL, OPT_QUICK},
        {"csv", required_argument, NULL, OPT_CSV},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    /* Start from the quick suite; explicit options override it whatever their order. */
    memset(o, 0, sizeof *o);
    o->duration_ms = QUICK_DURATION_MS;
    o->reps = QUICK_REPS;
    o->nthreads = sizeof quick_threads / sizeof quick_threads[0];
    memcpy(o->threads, quick_threads, sizeof quick_threads);
    o->uncontended = o->contended = 1;

    int c;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_DURATION: o->duration_ms = parse_uint("--duration-ms", optarg, 1, 3600000); break;
        case OPT_REPS: o->reps = parse_uint("--reps", optarg, 1, MAX_REPS); break;
        case OPT_THREADS: parse_threads(o, optarg); break;
        case OPT_WORKLOAD:
            if (strcmp(optarg, "uncontended") == 0) {
                o->uncontended = 1, o->contended = 0;
            } else if (strcmp(optarg, "contended") == 0) {
                o->uncontended = 0, o->contended = 1;
            } else if (strcmp(optarg, "all") == 0) {
                o->uncontended = o->contended = 1;
            } else {
                fprintf(stderr, "pl-bench: --workload: expected uncontended, contended or "
                                "all, got '%s'\n", optarg);
                exit(2);
            }
            break;
        case OPT_QUICK: break; /* the defaults are the quick suite */
        case OPT_CSV: o->csv_path = optarg; break;
        case 'h': usage(stdout); exit(0);
        default: usage(stderr); exit(2);
        }
    }
    if (optind < argc) {
        fprintf(stderr, "pl-bench: unexpected argument '%s'\n", argv[optind]);
        exit(2);
    }
}

/* ---- statistics and formatting ---- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct summary { double median, min, max, fairness; } summary_t;

static summary_t summarize(const pb_result_t *runs, unsigned n)
{
    double v[MAX_REPS], f[MAX_REPS];
    for (unsigned i = 0; i < n; i++) {
        v[i] = runs[i].value;
        f[i] = runs[i].fairness;
    }
    qsort(v, n, sizeof v[0], cmp_double);
    qsort(f, n, sizeof f[0], cmp_double);
    summary_t s;
    s.median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    s.fairness = n % 2 ? f[n / 2] : (f[n / 2 - 1] + f[n / 2]) / 2;
    s.min = v[0];
    s.max = v[n - 1];
    return s;
}

static void format_rate(char *buf, size_t size, double v)
{
    if (v >= 1e9)
        snprintf(buf, size, "%.2fG", v / 1e9);
    else if (v >= 1e6)
        snprintf(buf, size, "%.2fM", v / 1e6);
    else if (v >= 1e3)
        snprintf(buf, size, "%.2fk", v / 1e3);
    else
        snprintf(buf, size, "%.0f", v);
}

static FILE *csv;

static void table_header(const char *title, const char *figure)
{
    printf("\n== %s ==\n", title);
    printf("%-18s %7s  %-9s %9s %9s %11s %7s\n", "contender", "threads", "(in,out)", figure,
           "fairness", "vs pthread", "spread");
    fflush(stdout);
}

/* One row per contender; `lower_is_better` for ns/op (uncontended). */
static void table_rows(const char *workload, const options_t *o, unsigned threads,
                       const inout_t *io, pb_result_t runs[][MAX_REPS], int lower_is_better)
{
    summary_t sum[8];
    size_t base = 0;
    for (size_t k = 0; k < pb_ncontenders; k++) {
        sum[k] = summarize(runs[k], o->reps);
        if (pb_contenders[k] == pb_baseline())
            base = k;
    }
    for (size_t k = 0; k < pb_ncontenders; k++) {
        const summary_t *s = &sum[k];
        double ratio = lower_is_better ? sum[base].median / s->median
                                       : s->median / sum[base].median;
        double spread = s->median > 0 ? 100.0 * (s->max - s->min) / s->median : 0.0;
        char io_text[24] = "-", fig[24], fair[16] = "-";
        if (io)
            snprintf(io_text, sizeof io_text, "(%u,%u)", io->in, io->out);
        if (lower_is_better) {
            snprintf(fig, sizeof fig, "%.2f", s->median);
        } else {
            format_rate(fig, sizeof fig, s->median);
            snprintf(fair, sizeof fair, "%.2f", s->fairness);
        }
        printf("%-18s %7u  %-9s %9s %9s %10.2fx %6.1f%%\n", pb_contenders[k]->name, threads,
               io_text, fig, fair, ratio, spread);
        if (csv)
            fprintf(csv, "%s,%s,%zu,%u,%u,%u,%s,%.6g,%.6g,%.6g,%.4f,%.4f,%u,%u\n", workload,
                    pb_contenders[k]->name, pb_contenders[k]->bytes, threads, io ? io->in : 0,
                    io ? io->out : 0, lower_is_better ? "ns/op" : "ops/s", s->median, s->min,
                    s->max, lower_is_better ? 1.0 : s->fairness, ratio, o->reps,
                    o->duration_ms);
    }
    fflush(stdout);
    if (csv)
        fflush(csv);
}

/* ---- the suite ---- */

static void run_uncontended(const options_t *o)
{
    static pb_result_t runs[8][MAX_REPS];
    uint64_t ns = (uint64_t)o->duration_ms * 1000000u;
    table_header("uncontended lock+unlock, 1 thread (ns/op: ns per pair, lower is better)",
                 "ns/op");
    for (unsigned r = 0; r < o->reps; r++)
        for (size_t k = 0; k < pb_ncontenders; k++)
            runs[k][r] = pb_run_uncontended(pb_contenders[k], ns);
    table_rows("uncontended", o, 1, NULL, runs, 1);
}

static void run_contended(const options_t *o)
{
    static pb_result_t runs[8][MAX_REPS];
    uint64_t ns = (uint64_t)o->duration_ms * 1000000u;
    table_header("contended throughput, LockSpeedTest (ops/s: all threads, higher is better)",
                 "ops/s");
    for (unsigned i = 0; i < NINOUTS; i++) {
        for (unsigned t = 0; t < o->nthreads; t++) {
            for (unsigned r = 0; r < o->reps; r++)
                for (size_t k = 0; k < pb_ncontenders; k++)
                    runs[k][r] = pb_run_contended(pb_contenders[k], o->threads[t], inouts[i].in,
                                                  inouts[i].out, ns);
            table_rows("contended", o, o->threads[t], &inouts[i], runs, 0);
        }
    }
}

int main(int argc, char **argv)
{
    options_t o;
    parse_options(&o, argc, argv);
    if (pb_ncontenders > 8)
        pb_fatal("too many contenders");

    if (o.csv_path) {
        csv = fopen(o.csv_path, "w");
        if (!csv) {
            fprintf(stderr, "pl-bench: %s: %s\n", o.csv_path, strerror(errno));
            return 2;
        }
        fputs("workload,contender,lock_bytes,threads,in,out,unit,median,min,max,fairness,"
              "vs_pthread,reps,duration_ms\n", csv);
    }

    pb_idle_thread_start();
    uint64_t start = pb_now_ns();

    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    double runs = (double)o.reps * (double)pb_ncontenders *
                  ((o.uncontended ? 1.0 : 0.0) + (o.contended ? NINOUTS * o.nthreads : 0.0));
    printf("pl-bench: %ld online CPUs, %u ms per run, median of %u reps, about %.1f s\n", cpus,
           o.duration_ms, o.reps, runs * o.duration_ms / 1000.0);
    printf("contenders:");
    for (size_t k = 0; k < pb_ncontenders; k++)
        printf(" %s (%zu byte%s)%s", pb_contenders[k]->name, pb_contenders[k]->bytes,
               pb_contenders[k]->bytes == 1 ? "" : "s", k + 1 < pb_ncontenders ? "," : "");
    printf("\n");

    if (o.uncontended)
        run_uncontended(&o);
    if (o.contended)
        run_contended(&o);

    printf("\ntotal wall time: %.1f s\n", (double)(pb_now_ns() - start) / 1e9);
    pb_idle_thread_stop();
    if (csv && fclose(csv) != 0) {
        fprintf(stderr, "pl-bench: %s: write error\n", o.csv_path);
        return 1;
    }
    return 0;
}
