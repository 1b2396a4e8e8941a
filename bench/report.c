/* pl-bench: output.  A legend, an aligned table per workload as results come in (stdout), one
 * CSV row per contender and configuration, the summary table at the end (our ratio to pthread
 * and to the best peer), and gnuplot plots of every thread sweep. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bench.h"

/* Everything reported, kept for the summary and the plots. */
typedef struct record {
    size_t first, count; /* rows[first .. first + count) */
} record_t;

typedef struct row {
    const char *name;
    pb_role_t role;
    size_t bytes;
    pb_summary_t s;
    double ratio; /* speed relative to the baseline, > 1: faster */
} row_t;

static pb_case_t *cases; /* cases[i] goes with records[i] */
static size_t cap_cases;
static record_t *records;
static size_t nrecords, cap_records;
static row_t *rows;
static size_t nrows, cap_rows;
static FILE *csv;
static const char *last_title;
static unsigned wide_spreads; /* figures flagged as too spread to trust */

/* A median whose repetitions differ by more than this share of it is flagged: the machine was
 * not steady enough for the figure to say which lock is faster by less than that. */
#define SPREAD_FLAG_PCT 10.0

void pb_report_legend(void)
{
    printf("\ncolumns: contender = the lock (\"(inline)\": our fast path inlined into the loop, "
           "an extra figure;\n"
           "           every other row, ours included, is one out-of-line call per operation); "
           "bytes = sizeof the lock;\n"
           "         the figure = median of the repetitions (ops/s: higher is better; ns: lower);"
           "\n"
           "         fairness = min/max of per-thread operation counts (1 even, 0 a thread "
           "starved);\n"
           "         vs pthread = speed relative to the pthread row (> 1: faster); spread = "
           "(max - min) / median,\n"
           "         \"!\" when over %.0f%%: too unsteady to trust.\n",
           SPREAD_FLAG_PCT);
}

bool pb_report_open_csv(const char *path)
{
    csv = fopen(path, "w");
    if (!csv) {
        fprintf(stderr, "pl-bench: %s: %s\n", path, strerror(errno));
        return false;
    }
    fputs("workload,config,threads,contender,role,lock_bytes,unit,median,min,max,spread_pct,"
          "fairness,extra_label,extra,vs_pthread,reps,duration_ms\n",
          csv);
    return true;
}

bool pb_report_close(void)
{
    bool ok = true;
    if (csv && fclose(csv) != 0)
        ok = false;
    csv = NULL;
    return ok;
}

static void format_value(char *buf, size_t size, double v, bool lower_is_better)
{
    if (lower_is_better)
        snprintf(buf, size, v < 100 ? "%.2f" : "%.0f", v);
    else if (v >= 1e9)
        snprintf(buf, size, "%.2fG", v / 1e9);
    else if (v >= 1e6)
        snprintf(buf, size, "%.2fM", v / 1e6);
    else if (v >= 1e3)
        snprintf(buf, size, "%.1fk", v / 1e3);
    else
        snprintf(buf, size, "%.0f", v);
}

static const char *role_name(pb_role_t r)
{
    return r == PB_OURS          ? "ours"
           : r == PB_OURS_INLINE ? "ours-inline"
           : r == PB_BASELINE    ? "baseline"
                                 : "peer";
}

static void *grow(void *p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return p;
    size_t n = *cap ? *cap * 2 : 64;
    while (n < need)
        n *= 2;
    p = realloc(p, n * size);
    if (!p)
        pb_fatal("out of memory");
    *cap = n;
    return p;
}

void pb_report_case(const pb_case_t *cs, const pb_entry_t *entries, size_t n,
                    const pb_summary_t *sums, unsigned reps, unsigned duration_ms)
{
    size_t base = n;
    for (size_t k = 0; k < n; k++)
        if (entries[k].role == PB_BASELINE)
            base = k;
    /* base == n: the baseline was left out (--contenders); no ratios then. */

    records = grow(records, &cap_records, nrecords + 1, sizeof *records);
    cases = grow(cases, &cap_cases, nrecords + 1, sizeof *cases);
    rows = grow(rows, &cap_rows, nrows + n, sizeof *rows);
    cases[nrecords] = *cs;
    records[nrecords].first = nrows;
    records[nrecords].count = n;
    nrecords++;

    if (!last_title || strcmp(last_title, cs->title) != 0) {
        last_title = cs->title;
        printf("\n== %s ==\n", cs->title);
        printf("%-26s %5s  %-10s %7s %10s %8s %8s %10s %7s\n", "contender", "bytes", "config",
               "threads", cs->unit, "fairness", cs->extra_label ? cs->extra_label : "",
               "vs pthread", "spread");
    }
    for (size_t k = 0; k < n; k++) {
        const pb_summary_t *s = &sums[k];
        row_t *r = &rows[nrows++];
        r->name = entries[k].name;
        r->role = entries[k].role;
        r->bytes = entries[k].bytes;
        r->s = *s;
        r->ratio = base == n             ? NAN
                   : cs->lower_is_better ? sums[base].median / s->median
                                         : s->median / sums[base].median;
        double spread = 100.0 * (s->max - s->min) / s->median;
        char fig[24], fair[16] = "-", extra[16] = "", threads[16] = "-";
        format_value(fig, sizeof fig, s->median, cs->lower_is_better);
        if (s->fairness >= 0)
            snprintf(fair, sizeof fair, "%.2f", s->fairness);
        if (cs->extra_label && s->extra >= 0)
            snprintf(extra, sizeof extra, "%.1f", s->extra);
        if (cs->threads)
            snprintf(threads, sizeof threads, "%u", cs->threads);
        char ratio[16] = "-";
        if (!isnan(r->ratio))
            snprintf(ratio, sizeof ratio, "%.2fx", r->ratio);
        bool wide = spread > SPREAD_FLAG_PCT;
        wide_spreads += wide;
        printf("%-26s %5zu  %-10s %7s %10s %8s %8s %10s %6.1f%%%s\n", r->name, r->bytes,
               cs->config[0] ? cs->config : "-", threads, fig, fair, extra, ratio, spread,
               wide ? " !" : "");
        if (csv)
            /* Configs such as "(1,0)" hold commas: text fields are quoted (RFC 4180). */
            fprintf(csv,
                    "%s,\"%s\",%u,\"%s\",%s,%zu,%s,%.6g,%.6g,%.6g,%.2f,%.4f,%s,%.6g,%.4f,%u,"
                    "%u\n",
                    cs->workload, cs->config, cs->threads, r->name, role_name(r->role), r->bytes,
                    cs->unit, s->median, s->min, s->max, spread, s->fairness,
                    cs->extra_label ? cs->extra_label : "", s->extra, r->ratio, reps, duration_ms);
    }
    fflush(stdout);
    if (csv)
        fflush(csv);
}

/* ---- summary ---- */

void pb_report_summary(void)
{
    if (!nrecords)
        return;
    printf("\n== summary: speed relative to pthread (median; > 1 = faster; ns figures compare "
           "times) ==\n");
    printf("ours = our locks called out of line like every peer; inline = our fast path "
           "inlined; best peer = the fastest\nother library or pthread flavour; ours/peer = "
           "ours relative to it (> 1: ours is faster)\n");
    printf("%-12s %-12s %7s  %-15s %7s  %-34s %9s\n", "workload", "config", "threads",
           "ours (fairness)", "inline", "best peer", "ours/peer");
    for (size_t i = 0; i < nrecords; i++) {
        const pb_case_t *cs = &cases[i];
        const row_t *ours = NULL, *inl = NULL, *peer = NULL;
        for (size_t k = 0; k < records[i].count; k++) {
            const row_t *r = &rows[records[i].first + k];
            if (r->role == PB_OURS && !ours)
                ours = r;
            if (r->role == PB_OURS_INLINE && !inl)
                inl = r;
            if (r->role == PB_PEER && (!peer || r->ratio > peer->ratio))
                peer = r;
        }
        if (!ours || isnan(ours->ratio))
            continue;
        char o[32], in[16] = "-", p[64] = "-", vs[16] = "-", threads[16] = "-";
        if (ours->s.fairness >= 0)
            snprintf(o, sizeof o, "%.2fx (%.2f)", ours->ratio, ours->s.fairness);
        else
            snprintf(o, sizeof o, "%.2fx", ours->ratio);
        if (inl && !isnan(inl->ratio))
            snprintf(in, sizeof in, "%.2fx", inl->ratio);
        if (peer) {
            snprintf(p, sizeof p, "%.2fx %s", peer->ratio, peer->name);
            snprintf(vs, sizeof vs, "%.2fx", ours->ratio / peer->ratio);
        }
        if (cs->threads)
            snprintf(threads, sizeof threads, "%u", cs->threads);
        printf("%-12s %-12s %7s  %-15s %7s  %-34s %9s\n", cs->workload,
               cs->config[0] ? cs->config : "-", threads, o, in, p, vs);
    }
    if (wide_spreads)
        printf("%u figure%s flagged \"!\": spread over %.0f%% of the median; rerun those with "
               "more --reps, or on a quieter machine\n",
               wide_spreads, wide_spreads == 1 ? "" : "s", SPREAD_FLAG_PCT);
    fflush(stdout);
}

/* ---- plots ---- */

static void slug(char *out, size_t size, const char *a, const char *b)
{
    size_t j = 0;
    for (const char *s = a; *s && j + 1 < size; s++)
        out[j++] = isalnum((unsigned char)*s) ? *s : '-';
    if (*b && j + 1 < size)
        out[j++] = '-';
    for (const char *s = b; *s && j + 1 < size; s++) {
        char c = isalnum((unsigned char)*s) ? *s : '-';
        if (c == '-' && j && out[j - 1] == '-')
            continue; /* "(1,0)" -> "1-0", not "-1-0-" */
        out[j++] = c;
    }
    while (j && out[j - 1] == '-')
        j--;
    out[j] = '\0';
    for (size_t i = 0; out[i]; i++)
        out[i] = (char)tolower((unsigned char)out[i]);
}

/* One plot: every case with this workload and config and a thread count. */
static bool plot_one(const char *dir, size_t first_case)
{
    const pb_case_t *c0 = &cases[first_case];
    size_t idx[64], m = 0;
    for (size_t i = first_case; i < nrecords && m < 64; i++)
        if (cases[i].threads && strcmp(cases[i].workload, c0->workload) == 0 &&
            strcmp(cases[i].config, c0->config) == 0)
            idx[m++] = i;
    if (m < 2)
        return true;
    char name[96], path[512];
    slug(name, sizeof name, c0->workload, c0->config);
    snprintf(path, sizeof path, "%s/%s.dat", dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        return false;
    /* Contenders are the same for every case of a sweep; columns: threads, then one each. */
    const record_t *r0 = &records[idx[0]];
    fprintf(f, "# threads");
    for (size_t k = 0; k < r0->count; k++)
        fprintf(f, " \"%s\"", rows[r0->first + k].name);
    fputc('\n', f);
    for (size_t j = 0; j < m; j++) {
        const record_t *r = &records[idx[j]];
        fprintf(f, "%u", cases[idx[j]].threads);
        for (size_t k = 0; k < r->count && k < r0->count; k++)
            fprintf(f, " %.6g", rows[r->first + k].s.median);
        fputc('\n', f);
    }
    fclose(f);

    snprintf(path, sizeof path, "%s/%s.gp", dir, name);
    FILE *g = fopen(path, "w");
    if (!g)
        return false;
    fprintf(g, "set terminal pngcairo size 720,420 font ',10'\n");
    fprintf(g, "set output '%s/%s.png'\n", dir, name);
    fprintf(g, "set title \"%s %s (median of each configuration)\" noenhanced\n", c0->workload,
            c0->config);
    fprintf(g, "set xlabel 'threads'\nset ylabel '%s'\n", c0->unit);
    fprintf(g, "set logscale x 2\nset xtics (");
    for (size_t j = 0; j < m; j++)
        fprintf(g, "%s%u", j ? ", " : "", cases[idx[j]].threads);
    fprintf(g, ")\nset yrange [0:*]\nset grid\nset key below noenhanced\n");
    fprintf(g, "set format y '%%.2s%%c'\n");
    fprintf(g, "plot");
    for (size_t k = 0; k < r0->count; k++)
        fprintf(g, "%s '%s/%s.dat' using 1:%zu with linespoints lw 2 title '%s'", k ? "," : "", dir,
                name, k + 2, rows[r0->first + k].name);
    fputc('\n', g);
    fclose(g);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "gnuplot '%s'", path);
    if (system(cmd) != 0) {
        fprintf(stderr, "pl-bench: gnuplot failed on %s\n", path);
        return false;
    }
    printf("plot: %s/%s.png\n", dir, name);
    return true;
}

bool pb_report_plots(const char *dir)
{
    if (system("command -v gnuplot >/dev/null 2>&1") != 0) {
        printf("plots: skipped, gnuplot is not installed (Debian: gnuplot-nox)\n");
        return false;
    }
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "pl-bench: %s: %s\n", dir, strerror(errno));
        return false;
    }
    bool ok = true;
    for (size_t i = 0; i < nrecords; i++) {
        if (!cases[i].threads)
            continue;
        /* The first case of each (workload, config) draws the plot. */
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = cases[j].threads && strcmp(cases[j].workload, cases[i].workload) == 0 &&
                   strcmp(cases[j].config, cases[i].config) == 0;
        if (!seen)
            ok = plot_one(dir, i) && ok;
    }
    return ok;
}
