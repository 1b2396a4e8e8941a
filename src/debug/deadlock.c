/* Debug mode: pl_deadlock_check, the cycles among threads blocked right now.
 *
 * The wait-for graph: thread T -> thread U when T is blocked on a lock L (between the lock
 * hooks of a blocking or timed acquisition) that U keeps it from taking: U holds L exclusively;
 * or T wants to write and U holds L for reading; or T wants the upgradable mode and U holds it;
 * or T wants a plain read lock and U is a writer queued on L (a queued writer stops new readers,
 * parking/rwlock.h).  Only blocked threads can be on a cycle, so only they are nodes.  A thread
 * on a cycle waits forever (or until its timed lock gives up); the count of such threads is
 * the result. */
#include <parking/debug.h>

#include <stdint.h>

#include "debug_internal.h"
#include "utlist.h"

typedef struct graph {
    pl_dbg_thread_t **threads; /* the blocked threads; threads[i]->index == i */
    size_t n;
    size_t *first; /* edges of i: to[first[i] .. first[i + 1]) */
    size_t *to;
    size_t nedges, cap;
    const char **why; /* per edge: how the target blocks the source */
} graph_t;

static void *alloc_array(size_t n, size_t size) { return pl_dbg_alloc((n ? n : 1) * size); }

static void free_array(void *p, size_t n, size_t size) { pl_dbg_free(p, (n ? n : 1) * size); }

static void add_edge(graph_t *g, size_t to, const char *why)
{
    if (g->nedges == g->cap) {
        size_t cap = g->cap ? 2 * g->cap : 16;
        size_t *t = alloc_array(cap, sizeof *t);
        const char **w = alloc_array(cap, sizeof *w);
        for (size_t i = 0; i < g->nedges; i++) {
            t[i] = g->to[i];
            w[i] = g->why[i];
        }
        if (g->cap) {
            free_array(g->to, g->cap, sizeof *g->to);
            free_array(g->why, g->cap, sizeof *g->why);
        }
        g->to = t;
        g->why = w;
        g->cap = cap;
    }
    g->to[g->nedges] = to;
    g->why[g->nedges] = why;
    g->nedges++;
}

static bool holds_up(pl_dbg_thread_t *u, const void *lock)
{
    for (size_t k = 0; k < u->nheld; k++)
        if (u->held[k].lock == lock && (u->held[k].flags & DBG_HELD_UP))
            return true;
    return false;
}

static void add_blockers(graph_t *g, size_t i)
{
    pl_dbg_thread_t *t = g->threads[i];
    const void *lock = t->waiting;
    unsigned long owner;
    size_t readers;
    (void)pl_dbg_owner_get(lock, &owner, &readers);
    bool read = (t->waiting_flags & DBG_READ) != 0;
    bool up = read && (t->waiting_flags & DBG_UPGRADABLE);
    bool plain_read = read && !up && !(t->waiting_flags & DBG_RECURSIVE);
    for (size_t j = 0; j < g->n; j++) {
        pl_dbg_thread_t *u = g->threads[j];
        const char *why = NULL;
        if (owner && u->id == owner)
            why = "which holds it";
        else if (!read && pl_dbg_find_held(u, lock, DBG_READ, false))
            why = "which holds it for reading";
        else if (up && holds_up(u, lock))
            why = "which holds its upgradable lock";
        else if (plain_read && u != t && u->waiting == lock && !(u->waiting_flags & DBG_READ))
            why = "which waits to write-lock it (a queued writer stops new readers)";
        if (why)
            add_edge(g, j, why);
    }
}

/* Whether s can reach itself; `stamp`/`stack` are scratch of g->n entries. */
static bool on_cycle(const graph_t *g, size_t s, size_t *stamp, size_t *stack)
{
    size_t top = 0;
    size_t mark = s + 1;
    for (size_t e = g->first[s]; e < g->first[s + 1]; e++) {
        if (g->to[e] == s)
            return true;
        if (stamp[g->to[e]] != mark) {
            stamp[g->to[e]] = mark;
            stack[top++] = g->to[e];
        }
    }
    while (top) {
        size_t u = stack[--top];
        for (size_t e = g->first[u]; e < g->first[u + 1]; e++) {
            size_t v = g->to[e];
            if (v == s)
                return true;
            if (stamp[v] != mark) {
                stamp[v] = mark;
                stack[top++] = v;
            }
        }
    }
    return false;
}

static void print_wait(pl_dbg_text_t *text, const graph_t *g, size_t i, size_t edge)
{
    pl_dbg_thread_t *t = g->threads[i];
    pl_dbg_thread_t *u = g->threads[g->to[edge]];
    pl_dbg_text_add(text, "\n  ");
    pl_dbg_text_thread(text, t->id);
    pl_dbg_text_add(text, " waits in %s(%p)", t->waiting_fn, t->waiting);
    pl_dbg_text_site(text, t->waiting_site);
    pl_dbg_text_add(text, "\n    for ");
    pl_dbg_text_thread(text, u->id);
    pl_dbg_text_add(text, ", %s", g->why[edge]);
    pl_dbg_held_t *h = pl_dbg_find_held(u, t->waiting, 0, true);
    if (h) {
        pl_dbg_text_add(text, " (taken by %s", h->fn);
        pl_dbg_text_site(text, h->site);
        pl_dbg_text_add(text, ")");
    }
}

/* Prints one cycle through s: a breadth-first search over cycle members back to s. */
static void print_cycle(FILE *out, const graph_t *g, size_t s, const bool *cyclic, bool *printed)
{
    const size_t none = SIZE_MAX;
    size_t *parent = alloc_array(g->n, sizeof *parent);      /* node that reached v */
    size_t *parent_edge = alloc_array(g->n, sizeof *parent); /* by which edge */
    size_t *queue = alloc_array(g->n, sizeof *queue);
    for (size_t i = 0; i < g->n; i++)
        parent[i] = none;
    size_t head = 0, tail = 0, last = none, last_edge = none;
    queue[tail++] = s;
    parent[s] = s;
    while (head < tail && last == none) {
        size_t u = queue[head++];
        for (size_t e = g->first[u]; e < g->first[u + 1]; e++) {
            size_t v = g->to[e];
            if (v == s) {
                last = u;
                last_edge = e;
                break;
            }
            if (cyclic[v] && parent[v] == none) {
                parent[v] = u;
                parent_edge[v] = e;
                queue[tail++] = v;
            }
        }
    }
    size_t len = 0;
    if (last == none) /* cannot happen: s is on a cycle, and so is every thread of it */
        goto done;
    /* The cycle is s -> ... -> last -> s; walk it backwards from last into `queue`. */
    for (size_t v = last; v != s; v = parent[v])
        queue[len++] = v;
    pl_dbg_text_t text = {.len = 0};
    if (len)
        pl_dbg_text_add(&text,
                        "libparking: pl_deadlock_check: deadlock: %zu threads wait for "
                        "each other:",
                        len + 1);
    else
        pl_dbg_text_add(&text, "libparking: pl_deadlock_check: deadlock: 1 thread waits for "
                               "itself:");
    /* s waits for queue[len - 1] (or for last = s itself when len == 0), and so on. */
    size_t u = s;
    for (size_t k = len; k-- > 0;) {
        size_t v = queue[k];
        print_wait(&text, g, u, parent_edge[v]);
        printed[u] = true;
        u = v;
    }
    print_wait(&text, g, last, last_edge);
    printed[last] = true;
    pl_dbg_text_add(&text, "\n");
    fwrite(text.buf, 1, text.len, out);
    fflush(out);
done:
    free_array(queue, g->n, sizeof *queue);
    free_array(parent_edge, g->n, sizeof *parent_edge);
    free_array(parent, g->n, sizeof *parent);
}

size_t pl_deadlock_check(FILE *out)
{
    int entered = pl_dbg_enter_existing(1000, out);
    if (entered <= 0)
        return entered == 0 ? 0 : SIZE_MAX;
    graph_t g = {0};
    pl_dbg_thread_t *t;
    DL_FOREACH (pl_dbg_threads, t) {
        if (t->waiting)
            g.n++;
    }
    size_t result = 0;
    if (g.n) {
        g.threads = alloc_array(g.n, sizeof *g.threads);
        size_t i = 0;
        DL_FOREACH (pl_dbg_threads, t) {
            if (t->waiting) {
                t->index = i;
                g.threads[i++] = t;
            }
        }
        g.first = alloc_array(g.n + 1, sizeof *g.first);
        for (i = 0; i < g.n; i++) {
            g.first[i] = g.nedges;
            add_blockers(&g, i);
        }
        g.first[g.n] = g.nedges;

        size_t *stamp = alloc_array(g.n, sizeof *stamp);
        size_t *stack = alloc_array(g.n + 1, sizeof *stack);
        bool *cyclic = alloc_array(g.n, sizeof *cyclic);
        bool *printed = alloc_array(g.n, sizeof *printed);
        for (i = 0; i < g.n; i++) {
            cyclic[i] = on_cycle(&g, i, stamp, stack);
            result += cyclic[i];
        }
        if (out) {
            for (i = 0; i < g.n; i++)
                if (cyclic[i] && !printed[i])
                    print_cycle(out, &g, i, cyclic, printed);
        }
        free_array(printed, g.n, sizeof *printed);
        free_array(cyclic, g.n, sizeof *cyclic);
        free_array(stack, g.n + 1, sizeof *stack);
        free_array(stamp, g.n, sizeof *stamp);
        free_array(g.first, g.n + 1, sizeof *g.first);
        free_array(g.threads, g.n, sizeof *g.threads);
        if (g.cap) {
            free_array(g.to, g.cap, sizeof *g.to);
            free_array(g.why, g.cap, sizeof *g.why);
        }
    }
    pl_dbg_leave();
    return result;
}
