/* fork(): give the child an empty, unlocked parking lot.
 *
 * Threads other than the forking one do not exist in the child, but the memory they left does:
 * queue entries pointing at their (copied) thread data, bucket locks they held, their count in
 * the table sizing.  A child-side handler resets all of it.  No prepare handler takes the bucket
 * locks before the fork: that would only make the parent wait, since the child discards the
 * buckets' contents anyway, and it would deadlock any later-running prepare handler of the
 * application that has to park on one of our locks (prepare handlers run in reverse order of
 * registration, and ours is registered lazily, at the first contended lock).
 *
 * What stays the application's business, as with any lock: a libparking lock held by another
 * thread at the time of the fork stays held in the child. */
#include "parking/fork.h"

#include "parking/table.h"
#include "parking/thread_data.h"

#if defined(_WIN32)
void pl_fork_register(void) {}
#else
#include <pthread.h>

static pthread_once_t g_fork_once = PTHREAD_ONCE_INIT;

static void in_child(void)
{
    pl_table_forget_waiters();
    pl_thread_data_after_fork();
}

static void register_handler(void)
{
    /* Failure (ENOMEM) leaves fork() as unsafe as it is without us: say nothing, lose nothing
     * in the parent. */
    (void)pthread_atfork(NULL, NULL, in_child);
}

void pl_fork_register(void) { pthread_once(&g_fork_once, register_handler); }
#endif
