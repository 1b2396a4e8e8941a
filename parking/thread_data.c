/* Per-thread parking data: created on a thread's first park, released at its exit. */
#include "thread_data.h"

#include <parking/annotate.h>
#include "chaos.h"
#include "os.h"
#include "table.h"

/* Threads holding parking data, counted so the table can keep 3 buckets per thread. */
static size_t g_threads;

size_t pl_thread_count(void) { return __atomic_load_n(&g_threads, __ATOMIC_RELAXED); }

/* Fills in and counts the data; returns the thread count to pass to td_reserve.  Nothing here
 * can allocate or park. */
static size_t td_init(pl_thread_data_t *td)
{
    /* Helgrind and DRD (parking/annotate.h; no-op natively) do not check the data: other threads
     * edit it under bucket locks, which are atomics to them, and the key is read without one. */
    PL__VG_RACY(td, sizeof *td);
    pl_parker_init(&td->parker);
    td->key = NULL;
    td->prev = td->next = NULL;
    td->park_token = td->unpark_token = 0;
    td->parked_ns = 0;
    td->os_tid = pl_os_thread_id();
    return __atomic_add_fetch(&g_threads, 1, __ATOMIC_RELAXED);
}

/* Sizes the table for the thread just counted, creating the process's first table if there is
 * none.  Creating it registers the fork handler, and pthread_atfork allocates, so an allocator
 * guarded by our locks may park right here, nested in this thread's park (parking/fork.c).  So
 * it is called only once a nested pl_thread_data_acquire finds the data live (or, for stack
 * fallback data, builds fallback data of its own). */
static void td_reserve(size_t threads)
{
    /* Counted, not yet reserved for: another thread may grow the table meanwhile. */
    PL_CHAOS_POINT();
    pl_table_reserve(threads);
}

void pl_thread_data_exit(pl_thread_data_t *td)
{
    pl_parker_destroy(&td->parker);
    __atomic_sub_fetch(&g_threads, 1, __ATOMIC_RELAXED);
}

pl_thread_data_t *pl_thread_data_acquire(pl_thread_data_t *fallback)
{
    bool gone = false;
    pl_thread_data_t *td = pl_os_td_get(&gone);
    if (td != NULL)
        return td;
    if (!gone && (td = pl_os_td_new()) != NULL) {
        size_t threads = td_init(td);
        /* Live before anything that may allocate: creating the first table (pthread_atfork,
         * parking/fork.c) and registering the exit hook (pthread_setspecific allocates for keys
         * past glibc's first 32).  An allocator that uses our locks may park right there, nested
         * in this park; that nested park finds ready data instead of starting over (which
         * counted the thread twice and, before the fork handler was registered without
         * pthread_once, waited on its own pthread_once forever).  The outer park has not used
         * the data yet, so the nested one may. */
        pl_os_td_publish(td);
        td_reserve(threads);
        pl_os_td_at_exit(td);
        return td;
    }
    /* After the thread-exit hook ran, or no storage to be had (retried at the next park). */
    td_reserve(td_init(fallback));
    return fallback;
}

void pl_thread_data_after_fork(void)
{
    /* The child has one thread: the forking one.  Its data, if any, stays valid (the parker is
     * FREE: it was not parked while calling fork); every other thread's count is gone. */
    bool gone = false;
    pl_thread_data_t *td = pl_os_td_get(&gone);
    __atomic_store_n(&g_threads, td != NULL ? 1 : 0, __ATOMIC_RELAXED);
    if (td != NULL) {
        pl_parker_init(&td->parker);
        td->os_tid = pl_os_thread_id(); /* the child's thread has an id of its own */
    }
}

void pl_thread_data_release(pl_thread_data_t *td, pl_thread_data_t *fallback)
{
    if (td == fallback)
        pl_thread_data_exit(fallback);
}
