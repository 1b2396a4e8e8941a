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
 * thread at the time of the fork stays held in the child.
 *
 * POSIX only: Windows has no fork(), and parking/os_windows.c defines pl_fork_register empty. */
#include "fork.h"

#include <parking/annotate.h>
#include <parking/cas.h>
#include "table.h"
#include "thread_data.h"

#include "os.h"

#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>

/* Registering is done by one thread, the first to need a table; no pthread_once.
 *
 * pthread_atfork allocates (musl always, glibc once its 48 inline slots are used), and an
 * application allocator guarded by one of our locks may then park inside it, in the middle of
 * the thread's first park.  With pthread_once that nested park reached pthread_once again, on
 * the same thread, and waited for itself forever (and every other thread waited on the once).
 * So: the registering thread marks itself (tls_registering); when its allocation parks, the
 * nested park's table lookup finds no table, sees that this very thread is registering, does
 * not wait and creates the table (the thread's data is already live, parking/thread_data.c), and
 * the lock holder can then find and wake it.
 *
 * The state: REG_NONE, REG_DONE, or, while a thread registers, the pid of its process.  The pid
 * is what pthread_once's fork generation did: a fork while another thread registers leaves the
 * child with a registration that nobody in it will finish, and the child's first park would
 * wait for it forever; a state naming another process is such a leftover, and is taken over.
 * (A fork after the handler is registered runs in_child, which says REG_DONE.) */
enum { REG_NONE = 0, REG_DONE = -1 };
static pid_t g_reg_state;
/* Volatile: glibc declares pthread_atfork `leaf` (never calling back into the caller's file,
 * which an interposed malloc that parks does), so the compiler dropped the store of true as dead
 * (false is stored right after the call) and the nested park did not recognise its own thread. */
static _Thread_local volatile bool tls_registering;

static void in_child(void)
{
    __atomic_store_n(&g_reg_state, REG_DONE, __ATOMIC_RELAXED);
    pl_table_forget_waiters();
    pl_thread_data_after_fork();
}

void pl_fork_register(void)
{
    /* Helgrind and DRD (parking/annotate.h; no-op natively) take the atomics on the state for
     * plain accesses: the state is the whole of what they would report. */
    PL__VG_RACY(&g_reg_state, sizeof g_reg_state);
    /* Acquire: pairs with the release below, though nothing but the state is read after it. */
    pid_t state = __atomic_load_n(&g_reg_state, __ATOMIC_ACQUIRE);
    if (state == REG_DONE)
        return;
    if (tls_registering)
        return; /* our own pthread_atfork's allocation parked: see above */
    pid_t self = (pid_t)pl_os_process_id();
    for (;;) {
        if (state == REG_NONE || (state != self && state != REG_DONE)) {
            if (PL__CAS(&g_reg_state, &state, self, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
                tls_registering = true;
                /* Failure (ENOMEM) leaves fork() as unsafe as it is without us: say nothing,
                 * lose nothing in the parent. */
                (void)pthread_atfork(NULL, NULL, in_child);
                tls_registering = false;
                __atomic_store_n(&g_reg_state, REG_DONE, __ATOMIC_RELEASE);
                return;
            }
            continue; /* `state` holds what another thread stored: decide again */
        }
        if (state == REG_DONE)
            return;
        /* Another thread of this process is registering.  Wait until it is done, so that no
         * table exists before the child handler does (a fork in between would give the child a
         * table that other threads had locked buckets of), or until its own nested park
         * published the table: then it is parked, maybe on a lock we hold, and waiting on would
         * deadlock.  (In that case a fork can reach the table before the handler is registered
         * only where the C library lets fork run during pthread_atfork's allocation: glibc
         * holds its atfork lock across it, musl does not.)  A yield loop, not a park: parking
         * needs the table this is waiting for.  It is entered once per process at most, for the
         * length of one pthread_atfork call. */
        if (pl_table_exists())
            return;
        pl_os_yield();
        state = __atomic_load_n(&g_reg_state, __ATOMIC_ACQUIRE);
    }
}
