/* Debug mode: lock classes, and the bounded table that remembers which class each lock is in.
 *
 * Checking the order of every lock by address costs memory for every lock a program ever
 * touches (a walk down a million pages recorded a million nodes and orders: docs/design.md
 * §11).  Linux lockdep checks the order between classes instead, and so does debug mode: a lock
 * in static storage is its own class (lockdep does the same for static locks, which have no
 * init site), any other lock is in the class of the call site of its first lock, and the
 * program may name a class (pl_debug_set_class).
 *
 * A lock's class must stay the same from one lock to the next (taken at line 10 and later at
 * line 20, it is still the lock of line 10), so the table remembers it: open addressing, linear
 * probing, at most g_max locks in twice as many slots, allocated once.  When it is full, the
 * next remembered lock takes the place of one found by a moving cursor, never a named one (its
 * name cannot be found again); a forgotten lock gets its class again at its next lock, from that
 * call site.  Static locks are found again from their address, so forgetting them costs only a
 * dladdr. */
#include <parking/export.h>

#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "debug_internal.h"

typedef struct slot {
    const void *lock; /* NULL: empty */
    const void *key;
    unsigned kind;
} slot_t;

#define DEFAULT_MAX_LOCKS 65536u

static slot_t *g_slots;
static size_t g_mask, g_max, g_count, g_named, g_cursor;
static size_t g_forgotten, g_refused;
static bool g_said_refused;

static size_t home(const void *lock)
{
    uint64_t h = (uint64_t)(uintptr_t)lock * UINT64_C(0x9E3779B97F4A7C15);
    return (size_t)(h >> 32) & g_mask;
}

static void table_init(void)
{
    if (g_slots)
        return;
    g_max = DEFAULT_MAX_LOCKS;
    const char *env = getenv("PARKING_DEBUG_LOCKS");
    if (env && *env) {
        unsigned long long v = strtoull(env, NULL, 10);
        if (v >= 16 && v <= ((size_t)1 << 30))
            g_max = (size_t)v;
    }
    size_t slots = 16;
    while (slots < 2 * g_max)
        slots *= 2;
    g_mask = slots - 1;
    g_slots = pl_dbg_alloc(slots * sizeof *g_slots);
}

static slot_t *find(const void *lock)
{
    if (g_slots == NULL)
        return NULL;
    for (size_t i = home(lock);; i = (i + 1) & g_mask) {
        if (g_slots[i].lock == lock)
            return &g_slots[i];
        if (g_slots[i].lock == NULL)
            return NULL;
    }
}

/* Empties slot i, moving later entries of its run back so that every lookup still finds them
 * (linear probing's deletion, without tombstones). */
static void remove_at(size_t i)
{
    if (g_slots[i].kind == DBG_CLASS_USER)
        g_named--;
    g_count--;
    for (size_t j = i;;) {
        j = (j + 1) & g_mask;
        if (g_slots[j].lock == NULL)
            break;
        size_t k = home(g_slots[j].lock);
        /* The entry at j may stay if its home lies cyclically in (i, j]. */
        bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (stays)
            continue;
        g_slots[i] = g_slots[j];
        i = j;
    }
    g_slots[i].lock = NULL;
    g_slots[i].key = NULL;
    g_slots[i].kind = 0;
}

/* Makes room for one more entry; false if every entry is a named lock. */
static bool make_room(void)
{
    if (g_count < g_max)
        return true;
    if (g_named >= g_count)
        return false;
    for (;;) {
        g_cursor = (g_cursor + 1) & g_mask;
        slot_t *s = &g_slots[g_cursor];
        if (s->lock && s->kind != DBG_CLASS_USER) {
            remove_at(g_cursor);
            g_forgotten++;
            return true;
        }
    }
}

static slot_t *insert(const void *lock)
{
    size_t i = home(lock);
    while (g_slots[i].lock != NULL)
        i = (i + 1) & g_mask;
    g_slots[i].lock = lock;
    g_count++;
    return &g_slots[i];
}

bool pl_dbg_in_static_storage(const void *lock)
{
    Dl_info info;
    return dladdr(lock, &info) != 0;
}

bool pl_dbg_class_find(const void *lock, pl_dbg_class_t *cls)
{
    slot_t *s = find(lock);
    if (s)
        *cls = (pl_dbg_class_t){s->key, s->kind, 0};
    return s != NULL;
}

pl_dbg_class_t pl_dbg_class_add(const void *lock, void *site, bool in_static)
{
    table_init();
    pl_dbg_class_t cls;
    if (pl_dbg_class_find(lock, &cls))
        return cls; /* another thread added it meanwhile */
    cls = (pl_dbg_class_t){site, DBG_CLASS_SITE, 0};
    if (in_static)
        cls = (pl_dbg_class_t){lock, DBG_CLASS_STATIC, 0};
    if (make_room()) {
        slot_t *s = insert(lock);
        s->key = cls.key;
        s->kind = cls.kind;
    } else if (!in_static) {
        /* Every place is a named lock: a site class is still right for this acquisition, it
         * just will not be remembered. */
        g_forgotten++;
    }
    return cls;
}

bool pl_dbg_class_set(const void *lock, const void *user_class)
{
    table_init();
    slot_t *s = find(lock);
    if (user_class == NULL) {
        if (s)
            remove_at((size_t)(s - g_slots));
        return true;
    }
    if (s == NULL) {
        if (!make_room()) {
            g_refused++;
            pl_dbg_note_once(&g_said_refused,
                             "pl_debug_set_class: every remembered lock is a named one "
                             "(PARKING_DEBUG_LOCKS); this lock and later ones keep their "
                             "default class");
            return false;
        }
        s = insert(lock);
    }
    if (s->kind != DBG_CLASS_USER)
        g_named++;
    s->key = user_class;
    s->kind = DBG_CLASS_USER;
    return true;
}

static bool in_range(const void *p, const void *addr, size_t size)
{
    return (const char *)p >= (const char *)addr &&
           (size_t)((const char *)p - (const char *)addr) < size;
}

void pl_dbg_class_forget(const void *addr, size_t size)
{
    if (g_slots == NULL)
        return;
    for (size_t i = 0; i <= g_mask;) {
        const slot_t *s = &g_slots[i];
        /* The locks in the range, and the locks named with a class object in it. */
        if (s->lock && (in_range(s->lock, addr, size) ||
                        (s->kind == DBG_CLASS_USER && in_range(s->key, addr, size))))
            remove_at(i); /* an entry may have moved into slot i: look at it again */
        else
            i++;
    }
}

void pl_dbg_text_class(pl_dbg_text_t *t, const pl_dbg_class_t *cls)
{
    if (cls->kind == DBG_CLASS_USER) {
        const pl_debug_class_t *c = cls->key;
        pl_dbg_text_add(t, " (class \"%s\"", c->name ? c->name : "?");
    } else if (cls->kind == DBG_CLASS_SITE) {
        pl_dbg_text_add(t, " (class of the locks first taken");
        pl_dbg_text_site(t, (void *)(uintptr_t)cls->key);
    } else {
        if (cls->sub)
            pl_dbg_text_add(t, " (nesting level %u)", cls->sub);
        return;
    }
    if (cls->sub)
        pl_dbg_text_add(t, ", nesting level %u", cls->sub);
    pl_dbg_text_add(t, ")");
}

void pl_dbg_class_stats(pl_debug_stats_t *stats)
{
    stats->locks_known = g_count;
    stats->locks_forgotten = g_forgotten;
    stats->classes_refused = g_refused;
}

void pl_dbg_note_once(bool *said, const char *what)
{
    if (*said)
        return;
    *said = true;
    fprintf(stderr, "libparking: debug mode: %s\n", what);
}
