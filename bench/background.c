/* pl-bench --background N: N busy threads of unrelated work during every measurement, so that
 * the figures include what a loaded server does to a lock: its holder is regularly preempted,
 * and spinning competes with runnable threads that are not waiting for it.  They only compute
 * (no memory traffic, no locks, no system calls), at the same priority as the workload. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

static pthread_t *threads;
static unsigned nthreads;
static int stop;
static double sinks[64];

static void *busy(void *p)
{
    double *sink = p, v = 1.0, acc = 0.0;
    while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
        /* A few microseconds of dependent arithmetic between looks at the flag. */
        for (unsigned i = 0; i < 4096; i++)
            PB_BUSY_STEP(acc, v);
    }
    *sink = acc;
    return NULL;
}

void pb_background_start(unsigned n)
{
    if (!n)
        return;
    threads = calloc(n, sizeof *threads);
    if (!threads)
        pb_fatal("out of memory");
    __atomic_store_n(&stop, 0, __ATOMIC_RELAXED);
    for (unsigned i = 0; i < n; i++) {
        int rc = pthread_create(&threads[i], NULL, busy, &sinks[i % 64]);
        if (rc != 0)
            pb_fatal("background thread: pthread_create: %s", strerror(rc));
    }
    nthreads = n;
}

void pb_background_stop(void)
{
    if (!nthreads)
        return;
    __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
    for (unsigned i = 0; i < nthreads; i++)
        pthread_join(threads[i], NULL);
    free(threads);
    threads = NULL;
    nthreads = 0;
}
