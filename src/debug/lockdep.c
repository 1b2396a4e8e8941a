/* Debug mode: the lock-order checker, in the spirit of Linux lockdep.
 *
 * The graph has one node per lock address and an edge A -> B the first time some thread blocks
 * for B while holding A (with the functions and call sites of both acquisitions and the
 * thread).  Two threads that take A and B in opposite orders can deadlock, and so can any
 * longer cycle of orders; a cycle can only appear when an edge is added, so checking each new
 * edge A -> B for an existing path B -> ... -> A finds every possible lock-order deadlock the
 * first time the program shows it, whether or not the deadlock actually happens.
 *
 * Cost: an acquisition that adds no edge (the usual case once the program has run a while) is
 * one hash lookup per lock held.  A new edge costs a breadth-first search of the graph, which
 * also gives the shortest earlier chain for the message.
 *
 * Not edges: try-locks and timed locks (they cannot block forever), pl_rwlock_rdlock_recursive
 * (it waits only for a writer that holds the lock, never for readers or queued writers), and a
 * pl_remutex_t relock by its owner (it never waits). */
#include <parking/export.h>

#include <string.h>

#include "debug_internal.h"
#include "uthash.h"

typedef struct node node_t;

typedef struct edge {
    const void *to; /* the key in the source node's table */
    node_t *source, *target;
    const char *from_fn, *to_fn;
    void *from_site, *to_site;
    unsigned from_flags, to_flags;
    unsigned long thread;
    UT_hash_handle hh;
} edge_t;

struct node {
    const void *lock; /* the key */
    edge_t *out;
    unsigned long mark; /* the search that reached it last */
    edge_t *via;        /* the edge that search reached it by */
    UT_hash_handle hh;
};

static node_t *g_nodes;
static unsigned long g_search;
static node_t **g_queue;
static size_t g_queue_cap;

static node_t *node_get(const void *lock)
{
    node_t *n;
    HASH_FIND_PTR(g_nodes, &lock, n);
    if (n == NULL) {
        n = pl_dbg_alloc(sizeof *n);
        n->lock = lock;
        HASH_ADD_PTR(g_nodes, lock, n);
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

static void add_step(pl_dbg_text_t *text, const char *lead, unsigned long thread, const void *held,
                     const char *held_fn, void *held_site, unsigned held_flags, const void *took,
                     const char *took_fn, void *took_site, unsigned took_flags,
                     const char *verb_held, const char *verb_take)
{
    pl_dbg_text_add(text, "\n  %s", lead);
    pl_dbg_text_thread(text, thread);
    pl_dbg_text_add(text, " %s %p %s(taken by %s", verb_held, held, mode_name(held_flags), held_fn);
    pl_dbg_text_site(text, held_site);
    pl_dbg_text_add(text, ")\n  %*sthen %s %p %s(%s", (int)strlen(lead), "", verb_take, took,
                    mode_name(took_flags), took_fn);
    pl_dbg_text_site(text, took_site);
    pl_dbg_text_add(text, ")");
}

/* The message of an inversion: `t` blocks for B (`lock`) while holding `h`'s lock A, and the
 * search found B -> ... -> A. */
static void report(pl_dbg_thread_t *t, const pl_dbg_held_t *h, const void *lock, unsigned flags,
                   const char *fn, void *site, node_t *a)
{
    pl_dbg_text_t text = {.len = 0};
    /* The path, B first: follow `via` back from A, then print it forwards. */
    size_t steps = 0;
    for (edge_t *e = a->via; e; e = e->source->via)
        steps++;
    if (steps == 1)
        pl_dbg_text_add(&text,
                        "lock order inversion: this thread takes it while holding %p, "
                        "but %p was taken while holding it earlier; the two orders can "
                        "deadlock",
                        h->lock, h->lock);
    else
        pl_dbg_text_add(&text,
                        "lock order inversion: this thread takes it while holding %p, "
                        "but a chain of %zu earlier orders leads from it to %p; the orders "
                        "can deadlock",
                        h->lock, steps, h->lock);
    add_step(&text, "now:     ", t->id, h->lock, h->fn, h->site, h->flags, lock, fn, site, flags,
             "holds", "takes");
    for (size_t i = steps; i-- > 0;) {
        edge_t *e = a->via;
        for (size_t j = 0; j < i; j++)
            e = e->source->via;
        add_step(&text, i + 1 == steps ? "earlier: " : "and:     ", e->thread, e->source->lock,
                 e->from_fn, e->from_site, e->from_flags, e->to, e->to_fn, e->to_site, e->to_flags,
                 "held", "took");
    }
    if (pl_dbg_lockdep_mode == PL_DBG_LOCKDEP_WARN) {
        pl_dbg_text_add(&text, "\n  (PARKING_DEBUG_LOCKDEP=warn: going on; this pair is not "
                               "reported again)");
        pl_dbg_warn(fn, lock, &text);
        return;
    }
    pl_dbg_fail(fn, lock, &text);
}

void pl_dbg_lockdep_acquire(pl_dbg_thread_t *t, const void *lock, unsigned flags, const char *fn,
                            void *site)
{
    if (pl_dbg_lockdep_mode == PL_DBG_LOCKDEP_OFF || t->nheld == 0)
        return;
    node_t *b = NULL;
    for (size_t i = 0; i < t->nheld; i++) {
        const pl_dbg_held_t *h = &t->held[i];
        if (h->lock == lock)
            continue;
        node_t *a = node_get(h->lock);
        edge_t *e;
        HASH_FIND_PTR(a->out, &lock, e);
        if (e)
            continue;
        if (b == NULL)
            b = node_get(lock);
        if (reachable(b, a))
            report(t, h, lock, flags, fn, site, a);
        e = pl_dbg_alloc(sizeof *e);
        e->to = lock;
        e->source = a;
        e->target = b;
        e->from_fn = h->fn;
        e->from_site = h->site;
        e->from_flags = h->flags;
        e->to_fn = fn;
        e->to_site = site;
        e->to_flags = flags;
        e->thread = t->id;
        HASH_ADD_PTR(a->out, to, e);
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
    /* Edges into the forgotten locks first, while every node is still there. */
    HASH_ITER (hh, g_nodes, n, ntmp) {
        HASH_ITER (hh, n->out, e, etmp) {
            if (in_range(e->to, addr, size) || in_range(n->lock, addr, size)) {
                HASH_DEL(n->out, e);
                pl_dbg_free(e, sizeof *e);
            }
        }
    }
    HASH_ITER (hh, g_nodes, n, ntmp) {
        if (in_range(n->lock, addr, size)) {
            HASH_DEL(g_nodes, n);
            pl_dbg_free(n, sizeof *n);
        }
    }
}
