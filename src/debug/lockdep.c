/* Debug mode: the lock-order checker, in the spirit of Linux lockdep.
 *
 * The graph has one node per lock class and nesting level (classes.c) and an edge A -> B the
 * first time some thread blocks for a lock of class B while holding one of class A (with the
 * locks, the functions and call sites of both acquisitions and the thread).  Two threads that
 * take locks of A and B in opposite orders can deadlock, and so can any longer cycle of orders;
 * a cycle can only appear when an edge is added, so checking each new edge A -> B for an
 * existing path B -> ... -> A finds every possible lock-order deadlock between classes the first
 * time the program shows it, whether or not the deadlock actually happens.  Blocking for a lock
 * of a class the thread holds at the same nesting level is an edge A -> A: "possible recursive
 * locking", as lockdep says, unless pl_debug_nest puts the inner lock one level deeper.
 *
 * Bounds: at most MAX_CLASSES nodes and MAX_ORDERS edges.  Past them a new class or order is
 * counted (pl_debug_get_stats), said once on stderr, and not recorded; orders already recorded
 * are still checked.  Linux lockdep has the same kind of limits (MAX_LOCKDEP_KEYS,
 * MAX_LOCKDEP_ENTRIES) and turns itself off when one is reached.
 *
 * Cost: an acquisition that adds no edge (the usual case once the program has run a while) is
 * two hash lookups per lock held.  A new edge costs a breadth-first search of the graph, which
 * also gives the shortest earlier chain for the message.
 *
 * Not edges: try-locks and timed locks (they cannot block forever), pl_rwlock_rdlock_recursive
 * (it waits only for a writer that holds the lock, never for readers or queued writers), and a
 * pl_remutex_t relock by its owner (it never waits). */
#include <parking/export.h>

#include <string.h>

#include "debug_internal.h"
#include "uthash.h"

#define MAX_CLASSES 16384u
#define MAX_ORDERS 262144u

typedef struct node node_t;

typedef struct edge {
    const node_t *to; /* the key in the source node's table */
    node_t *source, *target;
    const void *from_lock, *to_lock; /* the locks that showed the order */
    const char *from_fn, *to_fn;
    void *from_site, *to_site;
    unsigned from_flags, to_flags;
    unsigned long thread;
    UT_hash_handle hh;
} edge_t;

/* The key of a node: a class at one nesting level (no padding: uthash compares bytes). */
typedef struct node_key {
    const void *key;
    uintptr_t sub;
} node_key_t;

struct node {
    node_key_t id; /* the key */
    pl_dbg_class_t cls;
    edge_t *out;
    unsigned long mark; /* the search that reached it last */
    edge_t *via;        /* the edge that search reached it by */
    UT_hash_handle hh;
};

static node_t *g_nodes;
static unsigned long g_search;
static node_t **g_queue;
static size_t g_queue_cap;
static size_t g_orders, g_classes_dropped, g_orders_dropped;
static bool g_said_classes, g_said_orders;

static node_t *node_get(const pl_dbg_class_t *cls)
{
    node_key_t id = {cls->key, cls->sub};
    node_t *n;
    HASH_FIND(hh, g_nodes, &id, sizeof id, n);
    if (n == NULL) {
        if (HASH_COUNT(g_nodes) >= MAX_CLASSES) {
            g_classes_dropped++;
            pl_dbg_note_once(&g_said_classes,
                             "more than 16384 lock classes: the order of locks of new classes "
                             "is not checked (name classes with pl_debug_set_class)");
            return NULL;
        }
        n = pl_dbg_alloc(sizeof *n);
        n->id = id;
        n->cls = *cls;
        HASH_ADD(hh, g_nodes, id, sizeof n->id, n);
    }
    return n;
}

static void queue_reserve(size_t n)
{
    if (n <= g_queue_cap)
        return;
    size_t cap = g_queue_cap ? 2 * g_queue_cap : 64;
    while (cap < n)
        cap *= 2;
    if (g_queue)
        pl_dbg_free(g_queue, g_queue_cap * sizeof *g_queue);
    g_queue = pl_dbg_alloc(cap * sizeof *g_queue);
    g_queue_cap = cap;
}

/* Whether `to` can be reached from `from`; if so, following `via` back from `to` gives the
 * shortest path. */
static bool reachable(node_t *from, node_t *to)
{
    queue_reserve(HASH_COUNT(g_nodes));
    unsigned long search = ++g_search;
    size_t head = 0, tail = 0;
    from->mark = search;
    from->via = NULL;
    g_queue[tail++] = from;
    while (head < tail) {
        node_t *n = g_queue[head++];
        for (edge_t *e = n->out; e; e = e->hh.next) {
            node_t *m = e->target;
            if (m->mark == search)
                continue;
            m->mark = search;
            m->via = e;
            if (m == to)
                return true;
            g_queue[tail++] = m;
        }
    }
    return false;
}

static const char *mode_name(unsigned flags) { return (flags & DBG_READ) ? "for reading " : ""; }

static void add_lock(pl_dbg_text_t *text, const void *lock, const pl_dbg_class_t *cls,
                     unsigned flags, const char *by, const char *fn, void *site)
{
    pl_dbg_text_add(text, "%p", lock);
    pl_dbg_text_class(text, cls);
    pl_dbg_text_add(text, " %s(%s%s", mode_name(flags), by, fn);
    pl_dbg_text_site(text, site);
    pl_dbg_text_add(text, ")");
}

static void add_step(pl_dbg_text_t *text, const char *lead, unsigned long thread, const void *held,
                     const pl_dbg_class_t *held_cls, const char *held_fn, void *held_site,
                     unsigned held_flags, const void *took, const pl_dbg_class_t *took_cls,
                     const char *took_fn, void *took_site, unsigned took_flags,
                     const char *verb_held, const char *verb_take)
{
    pl_dbg_text_add(text, "\n  %s", lead);
    pl_dbg_text_thread(text, thread);
    pl_dbg_text_add(text, " %s ", verb_held);
    add_lock(text, held, held_cls, held_flags, "taken by ", held_fn, held_site);
    pl_dbg_text_add(text, "\n  %*sthen %s ", (int)strlen(lead), "", verb_take);
    add_lock(text, took, took_cls, took_flags, "", took_fn, took_site);
}

static void finish(pl_dbg_text_t *text, const char *fn, const void *lock, const char *what)
{
    if (pl_dbg_lockdep_mode == PL_DBG_LOCKDEP_WARN) {
        pl_dbg_text_add(text,
                        "\n  (PARKING_DEBUG_LOCKDEP=warn: going on; this %s is not "
                        "reported again)",
                        what);
        pl_dbg_warn(fn, lock, text);
        return;
    }
    pl_dbg_fail(fn, lock, text);
}

/* The message of an inversion: `t` blocks for B (`lock`) while holding `h`'s lock A, and the
 * search found B -> ... -> A. */
static void report(pl_dbg_thread_t *t, const pl_dbg_held_t *h, const void *lock,
                   const pl_dbg_class_t *cls, unsigned flags, const char *fn, void *site, node_t *a)
{
    pl_dbg_text_t text = {.len = 0};
    /* The path, B first: follow `via` back from A, then print it forwards. */
    size_t steps = 0;
    for (edge_t *e = a->via; e; e = e->source->via)
        steps++;
    const edge_t *first = a->via;
    while (first->source->via)
        first = first->source->via;
    /* The same locks at both ends as now: the message of lock-by-lock checking. */
    bool same_locks = first->from_lock == lock && a->via->to_lock == h->lock;
    if (steps == 1 && same_locks)
        pl_dbg_text_add(&text,
                        "lock order inversion: this thread takes it while holding %p, "
                        "but %p was taken while holding it earlier; the two orders can "
                        "deadlock",
                        h->lock, h->lock);
    else if (steps == 1)
        pl_dbg_text_add(&text,
                        "lock order inversion: this thread takes it while holding %p, "
                        "but a lock of the class of %p was taken while holding one of the class "
                        "of this one earlier; the two orders can deadlock",
                        h->lock, h->lock);
    else
        pl_dbg_text_add(&text,
                        "lock order inversion: this thread takes it while holding %p, "
                        "but a chain of %zu earlier orders leads from %s to %s%p; "
                        "the orders can deadlock",
                        h->lock, steps, same_locks ? "it" : "its class",
                        same_locks ? "" : "that of ", h->lock);
    add_step(&text, "now:     ", t->id, h->lock, &h->cls, h->fn, h->site, h->flags, lock, cls, fn,
             site, flags, "holds", "takes");
    for (size_t i = steps; i-- > 0;) {
        edge_t *e = a->via;
        for (size_t j = 0; j < i; j++)
            e = e->source->via;
        add_step(&text, i + 1 == steps ? "earlier: " : "and:     ", e->thread, e->from_lock,
                 &e->source->cls, e->from_fn, e->from_site, e->from_flags, e->to_lock,
                 &e->target->cls, e->to_fn, e->to_site, e->to_flags, "held", "took");
    }
    finish(&text, fn, lock, "pair");
}

/* The message of a lock taken while the thread holds one of its class at the same level. */
static void report_recursive(pl_dbg_thread_t *t, const pl_dbg_held_t *h, const void *lock,
                             const pl_dbg_class_t *cls, unsigned flags, const char *fn, void *site)
{
    pl_dbg_text_t text = {.len = 0};
    pl_dbg_text_add(&text,
                    "possible recursive locking: this thread holds %p of the same lock class; "
                    "two locks of one class taken one inside the other can deadlock against "
                    "the opposite nesting.  If the nesting is ordered (lock coupling: the inner "
                    "lock always after the outer), say so with pl_debug_nest(lock, 1) before "
                    "taking the inner one, or give the locks classes of their own "
                    "(pl_debug_set_class)",
                    h->lock);
    add_step(&text, "now:     ", t->id, h->lock, &h->cls, h->fn, h->site, h->flags, lock, cls, fn,
             site, flags, "holds", "takes");
    finish(&text, fn, lock, "class");
}

static void add_edge(pl_dbg_thread_t *t, const pl_dbg_held_t *h, node_t *a, node_t *b,
                     const void *lock, unsigned flags, const char *fn, void *site)
{
    if (g_orders >= MAX_ORDERS) {
        g_orders_dropped++;
        pl_dbg_note_once(&g_said_orders, "more than 262144 lock orders: new orders are not "
                                         "recorded (name classes with pl_debug_set_class)");
        return;
    }
    edge_t *e = pl_dbg_alloc(sizeof *e);
    e->to = b;
    e->source = a;
    e->target = b;
    e->from_lock = h->lock;
    e->to_lock = lock;
    e->from_fn = h->fn;
    e->from_site = h->site;
    e->from_flags = h->flags;
    e->to_fn = fn;
    e->to_site = site;
    e->to_flags = flags;
    e->thread = t->id;
    HASH_ADD_PTR(a->out, to, e);
    g_orders++;
}

void pl_dbg_lockdep_acquire(pl_dbg_thread_t *t, const void *lock, const pl_dbg_class_t *cls,
                            unsigned flags, const char *fn, void *site)
{
    if (pl_dbg_lockdep_mode == PL_DBG_LOCKDEP_OFF || t->nheld == 0 || cls->kind == 0)
        return;
    node_t *b = NULL;
    for (size_t i = 0; i < t->nheld; i++) {
        const pl_dbg_held_t *h = &t->held[i];
        if (h->lock == lock || h->cls.kind == 0)
            continue;
        node_t *a = node_get(&h->cls);
        if (a == NULL)
            continue;
        if (b == NULL && (b = node_get(cls)) == NULL)
            return;
        edge_t *e;
        HASH_FIND_PTR(a->out, &b, e);
        if (e)
            continue;
        /* A -> A: reported, then recorded (a self-edge reaches nothing new), so a warning
         * is printed once per class. */
        if (a == b)
            report_recursive(t, h, lock, cls, flags, fn, site);
        else if (reachable(b, a))
            report(t, h, lock, cls, flags, fn, site, a);
        add_edge(t, h, a, b, lock, flags, fn, site);
    }
}

static bool in_range(const void *p, const void *addr, size_t size)
{
    return (const char *)p >= (const char *)addr &&
           (size_t)((const char *)p - (const char *)addr) < size;
}

void pl_dbg_lockdep_forget(const void *addr, size_t size)
{
    node_t *n, *ntmp;
    edge_t *e, *etmp;
    /* Edges into the forgotten classes first, while every node is still there. */
    HASH_ITER (hh, g_nodes, n, ntmp) {
        HASH_ITER (hh, n->out, e, etmp) {
            if (in_range(e->target->id.key, addr, size) || in_range(n->id.key, addr, size)) {
                HASH_DEL(n->out, e);
                pl_dbg_free(e, sizeof *e);
                g_orders--;
            }
        }
    }
    HASH_ITER (hh, g_nodes, n, ntmp) {
        if (in_range(n->id.key, addr, size)) {
            HASH_DEL(g_nodes, n);
            pl_dbg_free(n, sizeof *n);
        }
    }
}

void pl_dbg_lockdep_stats(pl_debug_stats_t *stats)
{
    stats->classes = HASH_COUNT(g_nodes);
    stats->orders = g_orders;
    stats->classes_dropped = g_classes_dropped;
    stats->orders_dropped = g_orders_dropped;
}
