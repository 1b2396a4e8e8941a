/* Debug mode: the internal mutex, the per-thread records (held locks, the lock being waited
 * for) and their registry, thread exit and fork.
 *
 * Nothing here runs until the first hook: the mutex, the thread-exit key and the fork handlers
 * are set up by pthread_once then, so a program that never uses debug mode pays nothing (no
 * constructor, no memory, no key).  A thread's record is allocated on its first hook and found
 * through one thread-local pointer. */
#include <parking/export.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "debug_internal.h"
#include "os.h"
#include "utlist.h"

/* Recursive: a fork handler of the program that runs after ours (it holds the mutex from the
 * prepare handler to the fork) may lock our locks, and its hooks must not deadlock on it. */
static pthread_mutex_t g_dbg_lock;
static pthread_once_t g_init_once = PTHREAD_ONCE_INIT;
static bool g_initialised;
static pthread_key_t g_exit_key;
static unsigned long g_next_id;
static __thread pl_dbg_thread_t *t_self;

pl_dbg_thread_t *pl_dbg_threads;
pl_dbg_lockdep_mode_t pl_dbg_lockdep_mode;

static void lock_init(void)
{
    pthread_mutexattr_t attr;
    if (pthread_mutexattr_init(&attr) != 0 ||
        pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE) != 0 ||
        pthread_mutex_init(&g_dbg_lock, &attr) != 0) {
        fprintf(stderr, "libparking: debug mode: cannot create its mutex\n");
        abort();
    }
    pthread_mutexattr_destroy(&attr);
}

static void record_free(pl_dbg_thread_t *t)
{
    if (t->held)
        pl_dbg_free(t->held, t->cap * sizeof *t->held);
    pl_dbg_free(t, sizeof *t);
}

/* Thread exit (the key's destructor): a record that holds nothing goes; one that still holds
 * locks stays, marked exited, so that messages about those locks can name it. */
static void thread_exit(void *arg)
{
    pl_dbg_thread_t *t = arg;
    pthread_mutex_lock(&g_dbg_lock);
    t->waiting = NULL;
    if (t->nheld == 0) {
        DL_DELETE(pl_dbg_threads, t);
        record_free(t);
    } else {
        t->exited = true;
    }
    pthread_mutex_unlock(&g_dbg_lock);
    /* A lock taken in a later thread-local destructor gets a fresh record (and the key's
     * destructor runs again for it). */
    t_self = NULL;
}

/* Fork: the child has only the forking thread.  The prepare handler takes the mutex so that no
 * table is half-updated in the child; the child then makes a fresh mutex (the old one's owner is
 * the parent's thread) and drops the other threads' records.  Locks they held stay held in the
 * child (see docs/design.md §9); messages name them "gone". */
static void fork_prepare(void) { pthread_mutex_lock(&g_dbg_lock); }
static void fork_parent(void) { pthread_mutex_unlock(&g_dbg_lock); }
static void fork_child(void)
{
    lock_init();
    pl_dbg_thread_t *t, *tmp;
    DL_FOREACH_SAFE (pl_dbg_threads, t, tmp) {
        if (t != t_self) {
            DL_DELETE(pl_dbg_threads, t);
            record_free(t);
        }
    }
    if (t_self)
        t_self->tid = (long)pl_os_thread_id();
}

static void init(void)
{
    lock_init();
    const char *mode = getenv("PARKING_DEBUG_LOCKDEP");
    if (mode == NULL || *mode == '\0' || strcmp(mode, "abort") == 0) {
        pl_dbg_lockdep_mode = PL_DBG_LOCKDEP_ABORT;
    } else if (strcmp(mode, "warn") == 0) {
        pl_dbg_lockdep_mode = PL_DBG_LOCKDEP_WARN;
    } else if (strcmp(mode, "off") == 0) {
        pl_dbg_lockdep_mode = PL_DBG_LOCKDEP_OFF;
    } else {
        fprintf(stderr,
                "libparking: debug mode: PARKING_DEBUG_LOCKDEP=%s is none of abort, warn, "
                "off\n",
                mode);
        abort();
    }
    if (pthread_key_create(&g_exit_key, thread_exit) != 0 ||
        pthread_atfork(fork_prepare, fork_parent, fork_child) != 0) {
        fprintf(stderr, "libparking: debug mode: cannot register its thread-exit or fork "
                        "handlers\n");
        abort();
    }
    __atomic_store_n(&g_initialised, true, __ATOMIC_RELEASE);
}

pl_dbg_thread_t *pl_dbg_enter(void)
{
    pthread_once(&g_init_once, init);
    pthread_mutex_lock(&g_dbg_lock);
    pl_dbg_thread_t *t = t_self;
    if (t == NULL) {
        t = pl_dbg_alloc(sizeof *t);
        t->id = ++g_next_id;
        t->tid = (long)pl_os_thread_id();
        DL_APPEND(pl_dbg_threads, t);
        /* Before setspecific, which may allocate, and an allocator may take our locks. */
        t_self = t;
        pthread_setspecific(g_exit_key, t);
    }
    return t;
}

void pl_dbg_leave(void) { pthread_mutex_unlock(&g_dbg_lock); }

bool pl_dbg_enter_if_used(void)
{
    if (!__atomic_load_n(&g_initialised, __ATOMIC_ACQUIRE))
        return false;
    pthread_mutex_lock(&g_dbg_lock);
    return true;
}

int pl_dbg_enter_existing(unsigned timeout_ms, FILE *out)
{
    if (!__atomic_load_n(&g_initialised, __ATOMIC_ACQUIRE))
        return 0;
    for (unsigned waited = 0;; waited++) {
        if (pthread_mutex_trylock(&g_dbg_lock) == 0)
            return 1;
        if (waited == timeout_ms)
            break;
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
    if (out)
        fprintf(out,
                "libparking: pl_deadlock_check: debug mode's internal mutex stayed taken "
                "for %u ms (a thread stopped inside a hook?); no check made\n",
                timeout_ms);
    return -1;
}

pl_dbg_held_t *pl_dbg_find_held(pl_dbg_thread_t *t, const void *lock, unsigned mode, bool any)
{
    for (size_t i = t->nheld; i-- > 0;) {
        pl_dbg_held_t *h = &t->held[i];
        if (h->lock == lock && (any || (h->flags & DBG_READ) == mode))
            return h;
    }
    return NULL;
}

void pl_dbg_push_held(pl_dbg_thread_t *t, const pl_dbg_held_t *h)
{
    if (t->nheld == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 8;
        pl_dbg_held_t *held = pl_dbg_alloc(cap * sizeof *held);
        if (t->nheld)
            memcpy(held, t->held, t->nheld * sizeof *held);
        if (t->held)
            pl_dbg_free(t->held, t->cap * sizeof *t->held);
        t->held = held;
        t->cap = cap;
    }
    t->held[t->nheld++] = *h;
}

void pl_dbg_remove_held(pl_dbg_thread_t *t, pl_dbg_held_t *h)
{
    size_t i = (size_t)(h - t->held);
    memmove(&t->held[i], &t->held[i + 1], (t->nheld - i - 1) * sizeof *h);
    t->nheld--;
}

pl_dbg_thread_t *pl_dbg_thread_by_id(unsigned long id)
{
    pl_dbg_thread_t *t;
    DL_FOREACH (pl_dbg_threads, t) {
        if (t->id == id)
            return t;
    }
    return NULL;
}
