/* The address-keyed hash table of wait queues.  Internal. */
#ifndef PARKING_TABLE_H
#define PARKING_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chaos.h"
#include "thread_data.h"
#include "word_lock.h"

#define PL_CACHE_LINE 64

/* One wait queue per bucket, holding every thread parked on any address hashing here, in
 * arrival order.  Padded to a cache line so that unrelated locks do not share one. */
typedef struct pl_bucket {
    _Alignas(PL_CACHE_LINE) pl_word_lock_t lock;
    pl_thread_data_t *queue; /* utlist DL list */
    uint64_t fair_deadline;  /* pl_now() value after which the next dequeue should be fair */
    uint32_t seed;           /* xorshift32 state for the random part of the fairness deadline */
} pl_bucket_t;

typedef struct pl_table {
    _Alignas(PL_CACHE_LINE) size_t size; /* buckets, a power of two */
    unsigned hash_bits;                  /* log2(size) */
    struct pl_table *prev;               /* the table this one replaced, kept reachable */
    pl_bucket_t buckets[];
} pl_table_t;

/* Lock the bucket of `key` in the current table (retrying if the table grows meanwhile). */
pl_bucket_t *pl_bucket_lock(const void *key);
/* Lock the bucket a queued thread is on now, whatever requeues moved it to; returns its key. */
pl_bucket_t *pl_bucket_lock_thread(pl_thread_data_t *td, const void **key);
/* Lock the buckets of two keys in a fixed order (once if they share one). */
void pl_bucket_lock_pair(const void *k1, const void *k2, pl_bucket_t **b1, pl_bucket_t **b2);
void pl_bucket_unlock_pair(pl_bucket_t *b1, pl_bucket_t *b2);

static inline void pl_bucket_unlock(pl_bucket_t *b)
{
    pl_word_lock_unlock(&b->lock);
    PL_CHAOS_POINT(); /* just released: another thread may take the bucket before we go on */
}

/* For pl_lot_walk.  Whether any table exists yet (before one does, nobody is parked). */
bool pl_table_exists(void);
/* Lock the bucket of the current table that covers hash position `pos` (the top bits of a
 * key's hash; 0 is the first bucket) and return it, with the position of the next bucket in
 * *next and whether this one is the last.  Growth keeps the top bits (Fibonacci hashing), so a
 * walk that goes on from *next after the table grew neither revisits nor skips a key. */
pl_bucket_t *pl_bucket_lock_at(uint64_t pos, uint64_t *next, bool *last);

/* Under the bucket lock, when a thread is being dequeued: true at most about once per
 * U[0, 1 ms) per bucket, which is when locks hand off directly (eventual fairness). */
bool pl_bucket_should_be_fair(pl_bucket_t *b);

/* In a child process after fork: empty every queue and unlock every bucket (fork.c). */
void pl_table_forget_waiters(void);

/* Make sure the table has at least 3 buckets per thread for `threads` threads. */
void pl_table_reserve(size_t threads);

#endif /* PARKING_TABLE_H */
