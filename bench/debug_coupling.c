/* pl-debug-coupling: the cost of debug mode at the scale programs work at (docs/design.md §11).
 *
 * Lock coupling (hand over hand) down N page locks, as a B-tree or list walk does: lock page
 * i + 1 while holding page i, then unlock page i.  Prints the wall time and the peak resident
 * set (getrusage's ru_maxrss: /usr/bin/time is not on a fresh Debian).  Built twice: with
 * debug mode (PL_COUPLING_DEBUG 1, whatever the build's PARKING_DEBUG) and without.
 *
 *   pl-debug-coupling [N]        default N = 1000000
 *
 * The pages are one heap array: in debug mode all of them are one lock class (the site of the
 * first lock), and the page taken while holding the previous one is annotated as nested
 * (pl_debug_nest), as lockdep's mutex_lock_nested is in the Linux kernel. */
#if PL_COUPLING_DEBUG
#  define PARKING_DEBUG 1
#else
#  define PARKING_DEBUG 0
#endif
#include <parking/debug.h>
#include <parking/mutex.h>

#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static long max_rss_kib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? (size_t)strtoull(argv[1], NULL, 10) : 1000000;
    if (n < 2)
        n = 2;
    pl_mutex_t *pages = calloc(n, sizeof *pages); /* PL_MUTEX_INIT is all zero */
    if (pages == NULL)
        return 1;
    long rss0 = max_rss_kib();
    double t0 = now_s();
    pl_mutex_lock(&pages[0]);
    for (size_t i = 0; i + 1 < n; i++) {
        pl_debug_nest(&pages[i + 1], 1); /* nothing without debug mode */
        pl_mutex_lock(&pages[i + 1]);
        pl_mutex_unlock(&pages[i]);
    }
    pl_mutex_unlock(&pages[n - 1]);
    double t1 = now_s();
    long rss1 = max_rss_kib();
    printf("%s: %zu locks coupled in %.3f s; peak RSS %ld KiB (%ld KiB before the walk, "
           "the pages %zu KiB)\n",
           PL_COUPLING_DEBUG ? "debug mode" : "no debug mode", n, t1 - t0, rss1, rss0,
           n * sizeof *pages / 1024);
#if PL_COUPLING_DEBUG
    pl_debug_stats_t st;
    pl_debug_get_stats(&st);
    printf("debug mode holds %zu classes, %zu orders, %zu locks remembered (%zu forgotten), "
           "%zu KiB mapped\n",
           st.classes, st.orders, st.locks_known, st.locks_forgotten, st.bytes / 1024);
#endif
    free(pages);
    return 0;
}
