/* pl-bench: how busy the machine was.  The load average before and after the run, and, on
 * Linux, the share of the processors that other processes used during it (all CPU time in
 * /proc/stat minus this process's own in /proc/self/stat), which says what the load average
 * cannot: the bench's own threads raise the load average, other programs' CPU time is what
 * skews the figures. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

/* Busy and total clock ticks of all processors (the "cpu" line of /proc/stat). */
static bool read_cpu_ticks(double *busy, double *total)
{
    FILE *f = fopen("/proc/stat", "r");
    if (!f)
        return false;
    unsigned long long v[8] = {0};
    int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                   &v[4], &v[5], &v[6], &v[7]);
    fclose(f);
    if (n < 4)
        return false;
    *total = 0;
    for (int i = 0; i < 8; i++)
        *total += (double)v[i];
    *busy = *total - (double)v[3] - (double)v[4]; /* minus idle and iowait */
    return true;
}

/* This process's user + system clock ticks, all threads (fields 14 and 15 of /proc/self/stat;
 * the command name in field 2 may hold spaces, so parse from its closing parenthesis). */
static bool read_self_ticks(double *ticks)
{
    FILE *f = fopen("/proc/self/stat", "r");
    if (!f)
        return false;
    char buf[1024];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    unsigned long long utime, stime;
    if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
                     &stime) != 2)
        return false;
    *ticks = (double)utime + (double)stime;
    return true;
}

void pb_machine_sample(pb_machine_t *m)
{
    memset(m, 0, sizeof *m);
    m->load1 = -1;
    double l[1];
    if (getloadavg(l, 1) == 1)
        m->load1 = l[0];
    m->have_ticks = read_cpu_ticks(&m->busy, &m->total) && read_self_ticks(&m->self);
}

bool pb_machine_report(const pb_machine_t *before, const pb_machine_t *after)
{
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    bool busy = false;
    printf("\nmachine: load average %.2f before the run, %.2f after (this run's own threads count "
           "in the second)",
           before->load1, after->load1);
    if (before->have_ticks && after->have_ticks && after->total > before->total) {
        double others = (after->busy - before->busy) - (after->self - before->self);
        double share = others > 0 ? others / (after->total - before->total) : 0.0;
        printf("; other processes used %.0f%% of the %ld CPUs during it", 100 * share, ncpu);
        busy = share > 0.05;
    }
    printf("\n");
    if (before->load1 > 0.5 * (double)ncpu)
        busy = true;
    if (busy)
        printf("WARNING: the machine was busy with other work during this run: its figures are "
               "skewed (for load on purpose, use --background); rerun on a quiet machine\n");
    return busy;
}
