/* Debug mode: the four hooks that the lock headers call around every acquisition and release
 * when PARKING_DEBUG is 1 (parking/annotate.h), and pl_debug_forget.  They keep each thread's
 * list of held locks and the owner table, check relocks and unlocks, feed the lock-order
 * checker, and mark a thread as waiting between the two lock hooks (pl_deadlock_check).
 *
 * Hold bookkeeping happens in LOCK_POST (after the lock granted it) and UNLOCK_PRE (before the
 * lock lets the next holder in), so the table never shows two exclusive holders at once. */
#include <parking/debug.h>

/* The functions themselves, not the macros that add the call site (or, in a build without
 * debug mode, make the annotations nothing). */
#undef pl_debug_lock_pre
#undef pl_debug_lock_post
#undef pl_debug_set_class
#undef pl_debug_nest

#include <string.h>

#include "debug_internal.h"

static void add_taken(pl_dbg_text_t *text, const pl_dbg_held_t *h)
{
    pl_dbg_text_add(text, "taken by %s", h->fn);
    pl_dbg_text_site(text, h->site);
}

/* A blocking acquisition of a lock the thread already holds, in a mode that must wait for
 * that very hold, never returns. */
static void check_relock(pl_dbg_thread_t *t, const void *lock, unsigned flags, const char *fn)
{
    if (flags & DBG_TRY)
        return;         /* a try-lock fails, a timed lock times out: documented behaviours */
    pl_dbg_text_t text; /* only its length is set: a message is rare, the buffer large */
    text.len = 0;
    pl_dbg_held_t *h = pl_dbg_find_held(t, lock, 0, false);
    if (flags & DBG_RECURSIVE) {
        /* A pl_remutex_t relock by its owner is fine; a recursive read lock waits only for a
         * writer that holds the lock, which is a deadlock if that writer is this thread. */
        if (!(flags & DBG_READ) || h == NULL)
            return;
        pl_dbg_text_add(&text, "would deadlock: this thread holds it for writing (");
        add_taken(&text, h);
        pl_dbg_text_add(&text, ")");
        pl_dbg_fail(fn, lock, &text);
    }
    if (h) {
        pl_dbg_text_add(&text, "would deadlock: already held by this thread (");
        add_taken(&text, h);
        pl_dbg_text_add(&text, ")");
        pl_dbg_fail(fn, lock, &text);
    }
    if (!(flags & DBG_READ)) {
        h = pl_dbg_find_held(t, lock, DBG_READ, false);
        if (h) {
            pl_dbg_text_add(&text, "would deadlock: this thread holds a read lock on it (");
            add_taken(&text, h);
            pl_dbg_text_add(&text, "), and a writer waits until every reader has left");
            pl_dbg_fail(fn, lock, &text);
        }
    } else if (flags & DBG_UPGRADABLE) {
        for (size_t i = 0; i < t->nheld; i++) {
            h = &t->held[i];
            if (h->lock == lock && (h->flags & DBG_HELD_UP)) {
                pl_dbg_text_add(&text, "would deadlock: this thread already holds its "
                                       "upgradable lock (");
                add_taken(&text, h);
                pl_dbg_text_add(&text, ")");
                pl_dbg_fail(fn, lock, &text);
            }
        }
    }
}

/* Takes the internal mutex (pl_dbg_enter) and finds the class of this acquisition of `lock`:
 * its lock class, at the nesting level that pl_debug_nest gave it (none while lockdep is off:
 * then nothing needs it).  A lock seen for the first time is looked up with dladdr, which takes
 * the dynamic loader's lock: that happens with the internal mutex released, or a thread
 * running a library's constructor inside dlopen (loader lock held) that takes a lock in debug
 * mode would deadlock with us. */
static pl_dbg_thread_t *enter_with_class(const void *lock, void *site, pl_dbg_class_t *cls)
{
    pl_dbg_thread_t *t = pl_dbg_enter();
    *cls = (pl_dbg_class_t){NULL, 0, 0};
    if (pl_dbg_lockdep_mode == PL_DBG_LOCKDEP_OFF)
        return t;
    if (!pl_dbg_class_find(lock, cls)) {
        pl_dbg_leave();
        bool in_static = pl_dbg_in_static_storage(lock);
        t = pl_dbg_enter();
        *cls = pl_dbg_class_add(lock, site, in_static);
    }
    if (t->nest_lock == lock && cls->kind) {
        /* A level is at most the number of the thread's other holds of the class: the lock
         * taken nested in a lock of another class (the first page of a walk, taken elsewhere
         * than the others) is the outer one of its class. */
        unsigned same = 0;
        for (size_t i = 0; i < t->nheld; i++)
            same += t->held[i].cls.kind && t->held[i].cls.key == cls->key;
        cls->sub = t->nest_sub < same ? t->nest_sub : same;
    }
    return t;
}

static void lock_pre(const void *lock, unsigned flags, const char *fn, void *site)
{
    pl_dbg_class_t cls;
    pl_dbg_thread_t *t = enter_with_class(lock, site, &cls);
    check_relock(t, lock, flags, fn);
    /* Kept for lock_post, so that the hold has this class even if the table of locks forgets
     * this lock while the thread blocks. */
    t->pending_lock = lock;
    t->pending_cls = cls;
    bool owner_relock = (flags & (DBG_RECURSIVE | DBG_READ)) == DBG_RECURSIVE;
    bool recursive_read = (flags & (DBG_RECURSIVE | DBG_READ)) == (DBG_RECURSIVE | DBG_READ);
    if (!(flags & DBG_TRY) && !owner_relock && !recursive_read)
        pl_dbg_lockdep_acquire(t, lock, &cls, flags, fn, site);
    /* Try-locks carry TRY (with the timed locks, which do wait). */
    if (!owner_relock && !(flags & DBG_NEVER_BLOCKS)) {
        t->waiting = lock;
        t->waiting_flags = flags;
        t->waiting_fn = fn;
        t->waiting_site = site;
    }
    pl_dbg_leave();
}

static void lock_post(const void *lock, unsigned flags, const char *fn, void *site)
{
    pl_dbg_thread_t *t = pl_dbg_enter();
    if (t->pending_lock != lock && !(flags & DBG_FAILED)) {
        /* A lock_post without its lock_pre (a lock of the program's own that calls only this
         * hook): find the class now. */
        pl_dbg_leave();
        t = enter_with_class(lock, site, &t->pending_cls);
        t->pending_lock = lock;
    }
    t->waiting = NULL;
    if (!(flags & DBG_FAILED)) {
        pl_dbg_held_t *h = NULL;
        if ((flags & (DBG_RECURSIVE | DBG_READ)) == DBG_RECURSIVE)
            h = pl_dbg_find_held(t, lock, 0, false);
        if (h) {
            h->depth++;
        } else {
            /* A relock whose first lock debug mode did not see starts a hold of its own. */
            unsigned mode = flags & DBG_READ;
            pl_dbg_held_t held = {lock, fn, site, mode, 1, t->pending_cls};
            if (mode && (flags & DBG_UPGRADABLE))
                held.flags |= DBG_HELD_UP;
            pl_dbg_push_held(t, &held);
            pl_dbg_owner_acquired(lock, mode, t->id);
        }
    }
    if (t->pending_lock == lock)
        t->pending_lock = NULL;
    if (t->nest_lock == lock)
        t->nest_lock = NULL; /* the annotation was for this attempt, whatever came of it */
    pl_dbg_leave();
}

void pl_debug_lock_pre(const void *lock, unsigned flags, const char *fn)
{
    lock_pre(lock, flags, fn, __builtin_return_address(0));
}

void pl_debug_lock_pre_at(const void *lock, unsigned flags, const char *fn, void *site)
{
    lock_pre(lock, flags, fn, site ? site : __builtin_return_address(0));
}

void pl_debug_lock_post(const void *lock, unsigned flags, const char *fn)
{
    lock_post(lock, flags, fn, __builtin_return_address(0));
}

void pl_debug_lock_post_at(const void *lock, unsigned flags, const char *fn, void *site)
{
    lock_post(lock, flags, fn, site ? site : __builtin_return_address(0));
}

/* The caller's hold that this release ends: for a read release, the upgradable hold if the
 * function releases that mode, else a plain read hold (either one if only that exists). */
static pl_dbg_held_t *hold_released(pl_dbg_thread_t *t, const void *lock, unsigned mode,
                                    unsigned flags)
{
    if (!mode)
        return pl_dbg_find_held(t, lock, 0, false);
    unsigned want_up = (flags & DBG_RELEASES_UP) ? DBG_HELD_UP : 0;
    pl_dbg_held_t *any = NULL;
    for (size_t i = t->nheld; i-- > 0;) {
        pl_dbg_held_t *h = &t->held[i];
        if (h->lock != lock || !(h->flags & DBG_READ))
            continue;
        if ((h->flags & DBG_HELD_UP) == want_up)
            return h;
        if (any == NULL)
            any = h;
    }
    return any;
}

/* Names the other holder of `lock` in a message: "thread N (taken by fn at site)". */
static void add_holder(pl_dbg_text_t *text, unsigned long id, const void *lock, unsigned mode)
{
    pl_dbg_text_thread(text, id);
    pl_dbg_thread_t *other = pl_dbg_thread_by_id(id);
    pl_dbg_held_t *h = other ? pl_dbg_find_held(other, lock, mode, false) : NULL;
    if (h) {
        pl_dbg_text_add(text, " (");
        add_taken(text, h);
        pl_dbg_text_add(text, ")");
    }
}

void pl_debug_unlock_pre(const void *lock, unsigned flags, const char *fn)
{
    pl_dbg_thread_t *t = pl_dbg_enter();
    unsigned mode = flags & DBG_READ;
    pl_dbg_held_t *h = hold_released(t, lock, mode, flags);
    if (h) {
        if (h->depth > 1) {
            h->depth--;
        } else {
            pl_dbg_class_t cls = h->cls;
            pl_dbg_remove_held(t, h);
            pl_dbg_owner_released(lock, mode);
            /* The thread's deeper holds of the class move up a level: after "take page i + 1
             * nested in page i, release page i", page i + 1 is the outer one. */
            for (size_t i = 0; cls.kind && i < t->nheld; i++) {
                pl_dbg_held_t *o = &t->held[i];
                if (o->cls.kind && o->cls.key == cls.key && o->cls.sub > cls.sub)
                    o->cls.sub--;
            }
        }
        pl_dbg_leave();
        return;
    }
    /* The caller does not hold it in this mode.  If nobody does as far as debug mode knows, the
     * lock's own check (an unlock of a lock that is not locked) or code compiled without debug
     * mode decides; if another thread does, this is the misuse to report. */
    unsigned long owner;
    size_t readers;
    pl_dbg_text_t text;
    text.len = 0;
    if (pl_dbg_owner_get(lock, &owner, &readers)) {
        if (!mode && owner && owner != t->id) {
            pl_dbg_text_add(&text, "not the owner; held by ");
            add_holder(&text, owner, lock, 0);
            pl_dbg_text_add(&text, ", unlocked by ");
            pl_dbg_text_thread(&text, t->id);
            pl_dbg_fail(fn, lock, &text);
        }
        if (mode && pl_dbg_find_held(t, lock, 0, true) == NULL) {
            pl_dbg_thread_t *reader = pl_dbg_find_reader(lock, t);
            if (owner && owner != t->id) {
                pl_dbg_text_add(&text, "not a reader: this thread holds no read lock on it, and "
                                       "it is write-locked by ");
                add_holder(&text, owner, lock, 0);
                pl_dbg_fail(fn, lock, &text);
            }
            if (readers && reader) {
                pl_dbg_text_add(&text,
                                "not a reader: this thread holds no read lock on it; "
                                "%zu other thread%s do%s, such as ",
                                readers, readers == 1 ? "" : "s", readers == 1 ? "es" : "");
                add_holder(&text, reader->id, lock, DBG_READ);
                pl_dbg_fail(fn, lock, &text);
            }
        }
    }
    pl_dbg_leave();
}

void pl_debug_unlock_post(const void *lock, unsigned flags, const char *fn)
{
    /* Nothing to record: the hold ended in pl_debug_unlock_pre, before the lock could be taken
     * by the next thread. */
    (void)lock, (void)flags, (void)fn;
}

void pl_debug_forget(const void *addr, size_t size)
{
    if (!pl_dbg_enter_if_used())
        return; /* debug mode never used: nothing recorded */
    pl_dbg_owner_forget(addr, size);
    pl_dbg_class_forget(addr, size);
    pl_dbg_lockdep_forget(addr, size);
    pl_dbg_leave();
}

void pl_debug_assert_held(const void *lock, unsigned flags, const char *fn)
{
    pl_dbg_thread_t *t = pl_dbg_enter();
    bool any = (flags & DBG_READ) != 0;
    if (pl_dbg_find_held(t, lock, 0, any)) {
        pl_dbg_leave();
        return;
    }
    pl_dbg_text_t text;
    text.len = 0;
    pl_dbg_text_add(&text, "assertion failed: not held by this thread%s",
                    !any && pl_dbg_find_held(t, lock, DBG_READ, false)
                        ? " for writing (only for reading)"
                        : "");
    unsigned long owner;
    size_t readers;
    if (pl_dbg_owner_get(lock, &owner, &readers)) {
        if (owner) {
            pl_dbg_text_add(&text, "; held by ");
            add_holder(&text, owner, lock, 0);
        } else if (readers) {
            pl_dbg_text_add(&text, "; %zu reader%s hold%s it", readers, readers == 1 ? "" : "s",
                            readers == 1 ? "s" : "");
        }
    } else {
        pl_dbg_text_add(&text, "; nobody holds it");
    }
    pl_dbg_fail(fn, lock, &text);
}

void pl_debug_set_class(const void *lock, const pl_debug_class_t *cls)
{
    (void)pl_dbg_enter();
    (void)pl_dbg_class_set(lock, cls);
    pl_dbg_leave();
}

void pl_debug_nest(const void *lock, unsigned subclass)
{
    pl_dbg_thread_t *t = pl_dbg_enter();
    if (subclass > PL_DEBUG_MAX_SUBCLASS)
        subclass = PL_DEBUG_MAX_SUBCLASS;
    pl_dbg_held_t *h = pl_dbg_find_held(t, lock, 0, true);
    if (h && h->cls.kind) {
        h->cls.sub = subclass;
    } else {
        t->nest_lock = lock;
        t->nest_sub = subclass;
    }
    pl_dbg_leave();
}

void pl_debug_get_stats(pl_debug_stats_t *stats)
{
    memset(stats, 0, sizeof *stats);
    if (!pl_dbg_enter_if_used())
        return;
    pl_dbg_class_stats(stats);
    pl_dbg_lockdep_stats(stats);
    stats->bytes = pl_dbg_mapped_bytes();
    pl_dbg_leave();
}
