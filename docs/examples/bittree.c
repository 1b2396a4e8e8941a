/* A binary search tree whose nodes carry their lock in two bits of a flags byte they already
 * have, locked hand over hand (lock coupling).
 *
 * Every operation locks the top of the tree (a sentinel above the root), then repeatedly locks
 * the next node down and only then unlocks the one above it.  A thread therefore always holds
 * the lock of the node whose child pointer it reads or writes, and threads working in different
 * subtrees run in parallel once their paths split.  The lock costs the node nothing: it is bits
 * 0 and 1 of `flags`, whose other bits keep their own meaning (here bit 2, SEEN, set by lookups
 * without taking the lock: pl_bitlock8_update changes it atomically while other threads lock and
 * unlock the same byte).
 *
 * THREADS threads insert disjoint keys and look up keys already inserted, concurrently; at the
 * end the program checks the search-tree order, the node count, every key and value, every SEEN
 * flag and that no lock is left held.  Exit status 0 means every check passed.
 */
#define _POSIX_C_SOURCE 200809L

#include <parking/bitlock.h>

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define THREADS 4
#define KEYS_PER_THREAD 20000

/* The flags byte: two bits for the lock, the rest ours. */
#define NODE_LOCK ((uint8_t)1)
#define NODE_PARKED ((uint8_t)2)
#define NODE_SEEN ((uint8_t)4) /* found by a lookup at least once */

struct node {
    uint32_t key;
    uint32_t value;
    uint8_t flags;         /* NODE_LOCK | NODE_PARKED | NODE_SEEN */
    struct node *child[2]; /* read and written only under this node's lock */
};

/* A sentinel above the real root (key 0, real keys are > 0 and go right), so that even the
 * root's parent pointer is protected by a node lock and an empty tree needs no special case. */
static struct node sentinel;

static void node_lock(struct node *n) { pl_bitlock8_lock(&n->flags, NODE_LOCK, NODE_PARKED); }
static void node_unlock(struct node *n) { pl_bitlock8_unlock(&n->flags, NODE_LOCK, NODE_PARKED); }

/* Inserts key -> value; returns 0, or 1 if the key was already there (its value replaced). */
static int tree_insert(uint32_t key, uint32_t value, struct node *fresh)
{
    struct node *cur = &sentinel;
    node_lock(cur);
    for (;;) {
        int dir = key > cur->key;
        struct node *next = cur->child[dir];
        if (!next) {
            fresh->key = key;
            fresh->value = value;
            cur->child[dir] = fresh; /* published under cur's lock: readers take it too */
            node_unlock(cur);
            return 0;
        }
        node_lock(next); /* hand over hand: take the child before letting go of the parent */
        node_unlock(cur);
        cur = next;
        if (cur->key == key) {
            cur->value = value;
            node_unlock(cur);
            return 1;
        }
    }
}

/* Looks key up; marks the node SEEN.  Returns whether it was found. */
static int tree_lookup(uint32_t key, uint32_t *value)
{
    struct node *cur = &sentinel;
    node_lock(cur);
    for (;;) {
        struct node *next = cur->child[key > cur->key];
        if (!next) {
            node_unlock(cur);
            return 0;
        }
        node_lock(next);
        node_unlock(cur);
        cur = next;
        if (cur->key == key) {
            *value = cur->value;
            node_unlock(cur);
            /* Outside the lock on purpose: the update is one atomic read-modify-write that
             * keeps the lock bits as they are, whoever holds the lock at that moment. */
            pl_bitlock8_update(&cur->flags, NODE_LOCK, NODE_PARKED, 0, NODE_SEEN);
            return 1;
        }
    }
}

/* Distinct non-zero keys in a scrambled order, so the tree stays shallow (about 2 ln n). */
static uint32_t key_of(unsigned thread, unsigned i)
{
    uint32_t n = thread * KEYS_PER_THREAD + i + 1;
    return n * 2654435761u; /* odd multiplier: a bijection on 32 bits, never 0 for n != 0 */
}

static struct node *nodes; /* preallocated, so the threads only lock and link */

static void *worker(void *arg)
{
    unsigned t = (unsigned)(uintptr_t)arg;
    uintptr_t failures = 0;
    for (unsigned i = 0; i < KEYS_PER_THREAD; i++) {
        failures += tree_insert(key_of(t, i), i, &nodes[t * KEYS_PER_THREAD + i]) != 0;
        /* Look up the key just inserted and an older one: both must be there whatever the
         * other threads insert meanwhile.  Between them they look up every key of ours. */
        uint32_t v;
        failures += !tree_lookup(key_of(t, i), &v) || v != i;
        failures += !tree_lookup(key_of(t, i / 2), &v) || v != i / 2;
    }
    return (void *)failures;
}

struct check {
    size_t nodes, unseen, locked, bad_order, bad_value;
    uint32_t last;
};

/* In-order walk after the threads are gone: keys strictly increase, no lock is held. */
static void walk(const struct node *n, struct check *c, unsigned depth, unsigned *max_depth)
{
    if (!n)
        return;
    if (depth > *max_depth)
        *max_depth = depth;
    walk(n->child[0], c, depth + 1, max_depth);
    c->nodes++;
    c->bad_order += c->nodes > 1 && n->key <= c->last;
    c->last = n->key;
    c->locked += pl_bitlock8_is_locked(&n->flags, NODE_LOCK, NODE_PARKED);
    walk(n->child[1], c, depth + 1, max_depth);
}

int main(void)
{
    nodes = calloc((size_t)THREADS * KEYS_PER_THREAD, sizeof *nodes);
    if (!nodes) {
        fprintf(stderr, "bittree: out of memory\n");
        return 1;
    }
    printf("bittree: node of %zu bytes, its lock in 2 bits of its flags byte\n",
           sizeof(struct node));

    pthread_t threads[THREADS];
    for (unsigned t = 0; t < THREADS; t++) {
        if (pthread_create(&threads[t], NULL, worker, (void *)(uintptr_t)t) != 0) {
            fprintf(stderr, "bittree: pthread_create failed\n");
            return 1;
        }
    }
    uintptr_t failures = 0;
    for (unsigned t = 0; t < THREADS; t++) {
        void *result;
        pthread_join(threads[t], &result);
        failures += (uintptr_t)result;
    }

    struct check c = {0};
    unsigned max_depth = 0;
    walk(sentinel.child[1], &c, 1, &max_depth);
    c.locked += pl_bitlock8_is_locked(&sentinel.flags, NODE_LOCK, NODE_PARKED);
    /* Every node holds the key and value its inserter gave it, and was looked up, so its SEEN
     * bit survived the lock traffic on the same byte. */
    for (unsigned t = 0; t < THREADS; t++) {
        for (unsigned i = 0; i < KEYS_PER_THREAD; i++) {
            const struct node *n = &nodes[t * KEYS_PER_THREAD + i];
            c.bad_value += n->key != key_of(t, i) || n->value != i;
            c.unseen += !(pl_bitlock8_load(&n->flags, NODE_LOCK, NODE_PARKED) & NODE_SEEN);
        }
    }

    size_t expected = (size_t)THREADS * KEYS_PER_THREAD;
    printf("  %u threads: %zu nodes, depth %u; %zu failed operations, %zu order errors, "
           "%zu wrong values, %zu locks held, %zu SEEN flags lost\n",
           THREADS, c.nodes, max_depth, (size_t)failures, c.bad_order, c.bad_value, c.locked,
           c.unseen);
    free(nodes);
    if (failures || c.nodes != expected || c.bad_order || c.bad_value || c.locked || c.unseen) {
        fprintf(stderr, "bittree: FAILED\n");
        return 1;
    }
    printf("bittree: OK\n");
    return 0;
}
