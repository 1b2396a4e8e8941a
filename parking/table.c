/* The hash table of wait queues: creation, lookup, growth, fairness deadlines. */
#include "table.h"

#include <stdio.h>
#include <stdlib.h>
#include <utlist.h>

#include <parking/annotate.h>
#include <parking/cas.h>
#include <parking/lot.h>
#include "chaos.h"
#include "fork.h"
#include "invariant.h"
#include "os.h"
#include "probes.h"
#include "singleton.h"

enum { LOAD_FACTOR = 3, MIN_BUCKETS = 16 };

/* The current table.  Tables are never freed: a thread may have loaded the pointer and be about
 * to lock one of its buckets at any time.  Each one links to its predecessor (`prev`), so all
 * stay reachable from here. */
static pl_table_t *g_table;

static uint64_t hash_key(const void *key, unsigned bits)
{
    /* Fibonacci hashing: the multiply spreads the low, alignment-zero bits of an address over
     * the high bits, which are the ones kept. */
    return ((uint64_t)(uintptr_t)key * UINT64_C(0x9E3779B97F4A7C15)) >> (64 - bits);
}

static size_t table_bytes(size_t size) { return sizeof(pl_table_t) + size * sizeof(pl_bucket_t); }

/* Table memory comes straight from the OS, never from malloc: table growth happens while a
 * thread is about to park, and an application whose allocator is guarded by our locks must
 * not be re-entered from inside the parking lot. */
static pl_table_t *table_new(size_t threads)
{
    size_t size = MIN_BUCKETS;
    unsigned bits = 4;
    while (size < threads * LOAD_FACTOR) {
        size <<= 1;
        bits++;
    }
    pl_table_t *t = pl_os_pages_alloc(table_bytes(size));
    if (t == NULL) {
        fprintf(stderr, "libparking: cannot allocate a parking table of %zu buckets\n", size);
        abort();
    }
    /* The memory is zeroed: unlocked buckets, empty queues, fairness deadline 0 (so the first
     * dequeue of a bucket is fair).  xorshift needs a non-zero seed.
     * Helgrind and DRD (parking/annotate.h; no-op natively): the table is published, and its
     * buckets guarded, by atomics they do not understand; they do not check it.  (Not telling
     * them about the bucket locks keeps every client request off the paths that do not sleep;
     * the edges that matter to callers are the parkers' and those of the lock headers.) */
    PL__VG_RACY(t, table_bytes(size));
    t->size = size;
    t->hash_bits = bits;
    for (size_t i = 0; i < size; i++)
        t->buckets[i].seed = (uint32_t)i + 1;
    return t;
}

static void table_free_unpublished(pl_table_t *t) { pl_os_pages_free(t, table_bytes(t->size)); }

static pl_table_t *table_get(void)
{
    /* Acquire: the buckets' initial contents are visible before they are used. */
    pl_table_t *t = __atomic_load_n(&g_table, __ATOMIC_ACQUIRE);
    if (t != NULL)
        return t;
    /* This copy's first table: abort if another copy of libparking in the process has one
     * (parking/singleton.c, docs/design.md section 8).  Runs before anything is published. */
    pl_singleton_claim();
    /* The child's reset handler exists before the table does.  This may allocate, and so park
     * (on a nested call from that very allocation it returns at once and that park creates the
     * table): no bucket lock is held here, and every caller's thread data is already live. */
    pl_fork_register();
    PL__VG_RACY(&g_table, sizeof g_table); /* written by growth, read without a lock */
    pl_table_t *fresh = table_new(pl_thread_count());
    PL_CHAOS_POINT(); /* two threads creating the first table at once */
    if (PL__CAS(&g_table, &t, fresh, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        return fresh;
    table_free_unpublished(fresh); /* another thread won; nobody saw ours */
    return t;
}

pl_bucket_t *pl_bucket_lock(const void *key)
{
    for (;;) {
        pl_table_t *t = table_get();
        pl_bucket_t *b = &t->buckets[hash_key(key, t->hash_bits)];
        PL_CHAOS_POINT(); /* growth between loading the table and locking its bucket */
        pl_word_lock_lock(&b->lock);
        /* Growth locks every bucket before it publishes a new table, and we hold one: if the
         * table is still current now, it stays current until we unlock. */
        if (__atomic_load_n(&g_table, __ATOMIC_RELAXED) == t) {
            /* A queued thread sits in the bucket of its key's hash in this table. */
            PL_ASSERT(b->queue == NULL || &t->buckets[hash_key(b->queue->key, t->hash_bits)] == b);
            return b;
        }
        pl_word_lock_unlock(&b->lock);
    }
}

bool pl_table_exists(void) { return __atomic_load_n(&g_table, __ATOMIC_ACQUIRE) != NULL; }

pl_bucket_t *pl_bucket_lock_at(uint64_t pos, uint64_t *next, bool *last)
{
    for (;;) {
        pl_table_t *t = table_get();
        uint64_t index = pos >> (64 - t->hash_bits);
        pl_bucket_t *b = &t->buckets[index];
        PL_CHAOS_POINT(); /* a walk's next bucket: growth may publish a new table first */
        pl_word_lock_lock(&b->lock);
        if (__atomic_load_n(&g_table, __ATOMIC_RELAXED) == t) {
            *last = index + 1 == t->size;
            *next = *last ? 0 : (index + 1) << (64 - t->hash_bits);
            return b;
        }
        pl_word_lock_unlock(&b->lock);
    }
}

pl_bucket_t *pl_bucket_lock_thread(pl_thread_data_t *td, const void **key)
{
    for (;;) {
        const void *k = __atomic_load_n(&td->key, __ATOMIC_RELAXED);
        PL_CHAOS_POINT(); /* a requeue moving the thread after we read its key */
        pl_bucket_t *b = pl_bucket_lock(k);
        /* A requeue changes the key only while holding the old key's bucket lock. */
        if (__atomic_load_n(&td->key, __ATOMIC_RELAXED) == k) {
            *key = k;
            return b;
        }
        pl_bucket_unlock(b);
    }
}

void pl_bucket_lock_pair(const void *k1, const void *k2, pl_bucket_t **b1, pl_bucket_t **b2)
{
    for (;;) {
        pl_table_t *t = table_get();
        uint64_t h1 = hash_key(k1, t->hash_bits), h2 = hash_key(k2, t->hash_bits);
        /* Lower index first: the same order growth uses, so no two lockers can deadlock. */
        uint64_t lo = h1 < h2 ? h1 : h2, hi = h1 < h2 ? h2 : h1;
        pl_word_lock_lock(&t->buckets[lo].lock);
        if (__atomic_load_n(&g_table, __ATOMIC_RELAXED) != t) {
            pl_word_lock_unlock(&t->buckets[lo].lock);
            continue;
        }
        PL_CHAOS_POINT(); /* one bucket of the pair held */
        if (hi != lo)
            pl_word_lock_lock(&t->buckets[hi].lock);
        *b1 = &t->buckets[h1];
        *b2 = &t->buckets[h2];
        return;
    }
}

/* Whether b is a bucket of the table published now.  Only assertions call it, and under NDEBUG
 * theirs is an unevaluated sizeof, which clang reports as an unneeded function. */
__attribute__((unused)) static bool bucket_is_current(const pl_bucket_t *b)
{
    const pl_table_t *t = __atomic_load_n(&g_table, __ATOMIC_RELAXED);
    return b >= t->buckets && b < t->buckets + t->size;
}

void pl_bucket_unlock_pair(pl_bucket_t *b1, pl_bucket_t *b2)
{
    /* pl_bucket_lock_pair's promise: the table stays current while one of its buckets is held
     * (growth must lock them all before it publishes another). */
    PL_ASSERT(bucket_is_current(b1) && bucket_is_current(b2));
    pl_word_lock_unlock(&b1->lock);
    if (b2 != b1)
        pl_word_lock_unlock(&b2->lock);
}

bool pl_bucket_should_be_fair(pl_bucket_t *b)
{
    uint64_t now = pl_now();
    if (now <= b->fair_deadline)
        return false;
    uint32_t x = b->seed;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    b->seed = x;
    b->fair_deadline = now + x % 1000000u;
    return true;
}

void pl_table_reserve(size_t threads)
{
    for (;;) {
        pl_table_t *old = table_get();
        if (old->size >= threads * LOAD_FACTOR)
            return;
        /* Allocate before taking any bucket lock; size it for the threads counted now, which
         * may be more than the caller saw. */
        size_t now_threads = pl_thread_count();
        pl_table_t *fresh = table_new(now_threads > threads ? now_threads : threads);
        PL_CHAOS_POINT(); /* another thread growing it first */

        for (size_t i = 0; i < old->size; i++) {
            pl_word_lock_lock(&old->buckets[i].lock);
            /* Lookups and unparks blocked on the buckets held so far, mid-growth. */
            if (i == old->size / 2)
                PL_CHAOS_POINT();
        }
        if (__atomic_load_n(&g_table, __ATOMIC_RELAXED) != old) {
            /* Someone else grew it first; check again against the new table. */
            for (size_t i = 0; i < old->size; i++)
                pl_word_lock_unlock(&old->buckets[i].lock);
            table_free_unpublished(fresh);
            continue;
        }
        /* Walking buckets and queues in order keeps each key's waiters in FIFO order: all
         * waiters of one key sit in one old bucket and land in one new bucket. */
        for (size_t i = 0; i < old->size; i++) {
            pl_thread_data_t *td, *tmp;
            DL_FOREACH_SAFE (old->buckets[i].queue, td, tmp) {
                DL_DELETE(old->buckets[i].queue, td);
                pl_bucket_t *nb = &fresh->buckets[hash_key(td->key, fresh->hash_bits)];
                DL_APPEND(nb->queue, td);
            }
            /* Every lookup goes through a locked bucket of the current table, and we hold all
             * of old's: nobody can have queued behind our walk. */
            PL_ASSERT(old->buckets[i].queue == NULL);
        }
        fresh->prev = old;
        PL_CHAOS_POINT(); /* everything locked and moved, not yet published */
        /* Release publishes the rehashed queues; the unlocks below (release) then let waiting
         * lockers see the new pointer and retry. */
        __atomic_store_n(&g_table, fresh, __ATOMIC_RELEASE);
        PL_CHAOS_POINT(); /* published, old buckets still held: lookups must retry */
        for (size_t i = 0; i < old->size; i++)
            pl_word_lock_unlock(&old->buckets[i].lock);
        PL_PROBE2(table_grow, old->size, fresh->size);
        return;
    }
}

void pl_table_forget_waiters(void)
{
    /* Only the forking thread lives on in the child, and it was not inside the parking lot (the
     * API is not async-signal-safe, so fork cannot interrupt it there).  Every queued thread and
     * every bucket-lock holder or waiter was another thread: none exists here.  Whatever state
     * they left (a bucket locked mid-update, a half-linked queue, a growth that locked every old
     * bucket) is discarded by resetting each bucket of the table now current.  Older tables are
     * no longer reachable by lookups, which re-check the current pointer. */
    pl_table_t *t = __atomic_load_n(&g_table, __ATOMIC_RELAXED);
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->size; i++) {
        t->buckets[i].lock.state = 0;
        t->buckets[i].queue = NULL;
    }
}
