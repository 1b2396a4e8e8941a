/* pl_remutex_t: the thread identity and the misuse reports; locking itself is inline
 * (include/parking/remutex.h) on top of pl_mutex_t. */
#include <parking/remutex.h>

#include <stdio.h>

#include "lock_algorithm.h"

/* One byte per thread; its address is the identity, so its value never matters. */
#if defined(_WIN32) && !defined(PARKING_STATIC)
static _Thread_local char pl_thread_id_anchor;

uintptr_t pl_thread_id(void) { return (uintptr_t)&pl_thread_id_anchor; }
#else
PL__THREAD_LOCAL char pl_thread_id_anchor;
#endif

void pl_remutex_overflow(const pl_remutex_t *m, const char *fn)
{
    char what[120];
    snprintf(what, sizeof what, "recursion depth would exceed %lu (PL_REMUTEX_MAX_DEPTH)",
             (unsigned long)PL_REMUTEX_MAX_DEPTH);
    pl_misuse(fn, m, what);
}

void pl_remutex_bad_unlock(const pl_remutex_t *m, const char *fn)
{
    /* A snapshot: the mutex may change under us, but either way this thread does not own it. */
    if (!pl_mutex_is_locked(&m->mutex))
        pl_misuse(fn, m, "unlock of a reentrant mutex that is not locked");
    pl_misuse(fn, m, "unlock by a thread that does not hold the reentrant mutex");
}
