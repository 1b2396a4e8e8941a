/* Debug mode: the owner table, lock address -> who holds it (the exclusive owner's thread
 * number, or how many readers).  An entry exists only while the lock is held, so the table stays
 * as small as the number of locks held at once, and a lock whose memory is reused starts clean.
 *
 * It answers "who else holds this lock" in O(1) for the unlock checks and for
 * pl_deadlock_check; which readers hold a lock is in the threads' own lists (pl_dbg_find_reader
 * walks them, only when a message or the deadlock check needs names). */
#include <parking/export.h>

#include "debug_internal.h"
#include "uthash.h"
#include "utlist.h"

struct pl_dbg_owner {
    const void *lock; /* the key */
    unsigned long owner;
    size_t readers;
    UT_hash_handle hh;
};

static pl_dbg_owner_t *g_owners;
/* Always in the table (key NULL, never a lock): uthash frees its bucket array when the last
 * entry goes, and a program that takes and releases one lock at a time would otherwise
 * allocate and clear that array on every lock. */
static pl_dbg_owner_t g_keep_table;

static pl_dbg_owner_t *find(const void *lock)
{
    pl_dbg_owner_t *o;
    HASH_FIND_PTR(g_owners, &lock, o);
    return o;
}

static void drop(pl_dbg_owner_t *o)
{
    HASH_DEL(g_owners, o);
    pl_dbg_free(o, sizeof *o);
}

void pl_dbg_owner_acquired(const void *lock, unsigned flags, unsigned long thread)
{
    if (g_owners == NULL)
        HASH_ADD_PTR(g_owners, lock, &g_keep_table);
    pl_dbg_owner_t *o = find(lock);
    if (o == NULL) {
        o = pl_dbg_alloc(sizeof *o);
        o->lock = lock;
        HASH_ADD_PTR(g_owners, lock, o);
    }
    /* The lock itself has just granted this: whatever the table said before came from
     * operations it did not see (code compiled without debug mode), so this wins. */
    if (flags & DBG_READ) {
        o->readers++;
    } else {
        o->owner = thread;
        o->readers = 0;
    }
}

void pl_dbg_owner_released(const void *lock, unsigned flags)
{
    pl_dbg_owner_t *o = find(lock);
    if (o == NULL)
        return;
    if (flags & DBG_READ) {
        if (o->readers)
            o->readers--;
    } else {
        o->owner = 0;
    }
    if (o->owner == 0 && o->readers == 0)
        drop(o);
}

bool pl_dbg_owner_get(const void *lock, unsigned long *owner, size_t *readers)
{
    pl_dbg_owner_t *o = find(lock);
    *owner = o ? o->owner : 0;
    *readers = o ? o->readers : 0;
    return o != NULL;
}

void pl_dbg_owner_forget(const void *addr, size_t size)
{
    pl_dbg_owner_t *o, *tmp;
    HASH_ITER (hh, g_owners, o, tmp) {
        if (o != &g_keep_table && (const char *)o->lock >= (const char *)addr &&
            (size_t)((const char *)o->lock - (const char *)addr) < size)
            drop(o);
    }
}

pl_dbg_thread_t *pl_dbg_find_reader(const void *lock, const pl_dbg_thread_t *except)
{
    pl_dbg_thread_t *t;
    DL_FOREACH (pl_dbg_threads, t) {
        if (t != except && pl_dbg_find_held(t, lock, DBG_READ, false))
            return t;
    }
    return NULL;
}
