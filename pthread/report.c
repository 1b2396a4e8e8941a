/* PARKING_PTHREAD_REPORT=1 (standard error) or =<file>: at exit, what was interposed and what
 * was delegated to glibc, and why.
 *
 * Initialisations and delegations are counted always (they are not on a fast path); lock
 * operations only while the report is on (pt_count_op: one load of a read-mostly flag).  No
 * constructor (the project has none): the environment is read at the first counted operation or
 * initialisation, which is also the first moment there is anything to report. */
#include "pt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

unsigned char pt_report_state;
uint64_t pt_counters[PT_COUNTERS];

static const char *const names[PT_COUNTERS] = {
    [PT_MUTEX_INIT_NORMAL] = "mutexes initialised, normal",
    [PT_MUTEX_INIT_RECURSIVE] = "mutexes initialised, recursive",
    [PT_MUTEX_INIT_ERRORCHECK] = "mutexes initialised, error-checking",
    [PT_MUTEX_INIT_ADAPTIVE] = "mutexes initialised, adaptive",
    [PT_MUTEX_DELEGATED_PSHARED] = "mutexes delegated: process-shared",
    [PT_MUTEX_DELEGATED_ROBUST] = "mutexes delegated: robust",
    [PT_MUTEX_DELEGATED_PI] = "mutexes delegated: priority inheritance",
    [PT_MUTEX_DELEGATED_PP] = "mutexes delegated: priority protection",
    [PT_MUTEX_LOCKS] = "mutex locks on the parking lot",
    [PT_MUTEX_DELEGATED_OPS] = "mutex operations delegated",
    [PT_COND_INIT] = "condvars initialised",
    [PT_COND_DELEGATED_PSHARED] = "condvars delegated: process-shared",
    [PT_COND_DELEGATED_BY_MUTEX] = "condvars delegated: used with a delegated mutex",
    [PT_COND_WAITS] = "condvar waits on the parking lot",
    [PT_COND_DELEGATED_WAITS] = "condvar waits delegated",
    [PT_COND_MIXED_EINVAL] = "condvar waits refused (delegated condvar, our mutex): EINVAL",
    [PT_COND_CANCEL_WAKES] = "condvar waiters woken by pthread_cancel",
    [PT_RWLOCK_INIT] = "rwlocks initialised",
    [PT_RWLOCK_DELEGATED_PSHARED] = "rwlocks delegated: process-shared",
    [PT_RWLOCK_LOCKS] = "rwlock locks on the parking lot",
    [PT_RWLOCK_DELEGATED_OPS] = "rwlock operations delegated",
};

static char report_path[4096];

static void report(void)
{
    FILE *out = stderr;
    bool close_it = false;
    if (report_path[0] != '\0') {
        out = fopen(report_path, "a");
        if (out == NULL)
            out = stderr;
        else
            close_it = true;
    }
    bool any = false;
    for (int i = 0; i < PT_COUNTERS; i++)
        any |= __atomic_load_n(&pt_counters[i], __ATOMIC_RELAXED) != 0;
    /* Nothing counted: only when the process's few operations all raced with the setup. */
    fprintf(out, "libparking-pthread report (pid %ld)%s\n", (long)getpid(),
            any ? "" : ": no pthread lock used");
    for (int i = 0; any && i < PT_COUNTERS; i++)
        fprintf(out, "  %-64s %llu\n", names[i],
                (unsigned long long)__atomic_load_n(&pt_counters[i], __ATOMIC_RELAXED));
    if (close_it)
        fclose(out);
    else
        fflush(out);
}

void pt_report_setup(void)
{
    if (__atomic_load_n(&pt_report_state, __ATOMIC_ACQUIRE) != PT_REPORT_UNKNOWN)
        return;
    /* Threads may race here at their first operation: the one that claims the setup reads the
     * environment; the others count nothing until it has decided (a few operations at most). */
    static unsigned char claimed;
    if (__atomic_exchange_n(&claimed, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    const char *v = getenv("PARKING_PTHREAD_REPORT");
    if (v == NULL || v[0] == '\0' || strcmp(v, "0") == 0) {
        __atomic_store_n(&pt_report_state, PT_REPORT_OFF, __ATOMIC_RELEASE);
        return;
    }
    if (strcmp(v, "1") != 0 && strlen(v) < sizeof report_path)
        memcpy(report_path, v, strlen(v) + 1);
    (void)atexit(report);
    __atomic_store_n(&pt_report_state, PT_REPORT_ON, __ATOMIC_RELEASE);
}

void pt_count_op_slow(enum pt_counter c)
{
    pt_report_setup();
    if (__atomic_load_n(&pt_report_state, __ATOMIC_ACQUIRE) == PT_REPORT_ON)
        pt_count(c);
}

/* For the tests (tests/pthread): a counter's value, whether or not the report is on. */
PT_EXPORT uint64_t pl_pthread_counter(unsigned i);
PT_EXPORT uint64_t pl_pthread_counter(unsigned i)
{
    return i < PT_COUNTERS ? __atomic_load_n(&pt_counters[i], __ATOMIC_RELAXED) : 0;
}
