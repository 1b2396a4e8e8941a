/* A concurrent hash map with one pl_mutex_t per bucket, a million buckets.
 *
 * A lock per bucket lets threads that touch different buckets run in parallel; with
 * pthread_mutex_t that costs 40 bytes a bucket on x86-64 glibc, more than the bucket itself.
 * pl_mutex_t is one byte, fits in the bucket's padding, and calloc'ed buckets are already
 * unlocked: no init loop, no destroy loop.
 *
 * The program prints both bucket sizes, then runs THREADS threads that insert disjoint keys and
 * bump shared counters, and checks every key and every count at the end.  Exit status 0 means
 * every check passed.
 */
#define _POSIX_C_SOURCE 200809L

#include <parking/mutex.h>

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define BUCKETS (1u << 20) /* a million buckets */
#define THREADS 4
#define KEYS_PER_THREAD 50000 /* distinct keys inserted by each thread */
#define SHARED_KEYS 1000      /* keys every thread increments */
#define BUMPS 50000           /* increments per thread over the shared keys (<= KEYS_PER_THREAD) */

struct entry {
    struct entry *next;
    uint64_t key;
    uint64_t value;
};

/* 16 bytes: the lock and the chain length live in padding that the pointer's alignment leaves. */
struct bucket {
    pl_mutex_t lock;
    uint8_t length; /* entries in the chain, saturating (statistics only) */
    struct entry *head;
};

/* The same bucket with a pthread mutex, only to print its size. */
struct pthread_bucket {
    pthread_mutex_t lock;
    uint8_t length;
    struct entry *head;
};

static struct bucket *buckets;

static struct bucket *bucket_of(uint64_t key)
{
    key *= 0x9E3779B97F4A7C15u; /* Fibonacci hashing: the high bits mix every bit of the key */
    return &buckets[key >> (64 - 20)];
}

/* Adds `delta` to the value of `key`, inserting it (value 0) first if absent. */
static int map_add(uint64_t key, uint64_t delta)
{
    struct bucket *b = bucket_of(key);
    struct entry *fresh = NULL;
    pl_mutex_lock(&b->lock);
    struct entry *e = b->head;
    while (e && e->key != key)
        e = e->next;
    if (!e) {
        /* malloc under a one-byte lock is fine: nothing else waits on this bucket for long. */
        fresh = calloc(1, sizeof *fresh);
        if (!fresh) {
            pl_mutex_unlock(&b->lock);
            return -1;
        }
        fresh->key = key;
        fresh->next = b->head;
        b->head = e = fresh;
        if (b->length < UINT8_MAX)
            b->length++;
    }
    e->value += delta;
    pl_mutex_unlock(&b->lock);
    return 0;
}

static int map_get(uint64_t key, uint64_t *value)
{
    struct bucket *b = bucket_of(key);
    int found = 0;
    pl_mutex_lock(&b->lock);
    for (struct entry *e = b->head; e; e = e->next) {
        if (e->key == key) {
            *value = e->value;
            found = 1;
            break;
        }
    }
    pl_mutex_unlock(&b->lock);
    return found;
}

static uint64_t own_key(unsigned thread, unsigned i)
{
    return ((uint64_t)(thread + 1) << 32) | i; /* never collides with the shared keys */
}

static void *worker(void *arg)
{
    unsigned t = (unsigned)(uintptr_t)arg;
    for (unsigned i = 0; i < KEYS_PER_THREAD; i++) {
        if (map_add(own_key(t, i), i + 1) != 0)
            return (void *)1;
        /* Interleave the contended part: every thread hits the same SHARED_KEYS buckets. */
        if (i < BUMPS && map_add(i % SHARED_KEYS, 1) != 0)
            return (void *)1;
    }
    return NULL;
}

int main(void)
{
    printf("hashmap: %u buckets\n", BUCKETS);
    printf("  bucket with pl_mutex_t:      %2zu bytes -> %6.1f MiB (locks alone: %5.1f MiB)\n",
           sizeof(struct bucket), BUCKETS * sizeof(struct bucket) / 1048576.0,
           BUCKETS * sizeof(pl_mutex_t) / 1048576.0);
    printf("  bucket with pthread_mutex_t: %2zu bytes -> %6.1f MiB (locks alone: %5.1f MiB)\n",
           sizeof(struct pthread_bucket), BUCKETS * sizeof(struct pthread_bucket) / 1048576.0,
           BUCKETS * sizeof(pthread_mutex_t) / 1048576.0);

    buckets = calloc(BUCKETS, sizeof *buckets); /* zeroed: every lock is already unlocked */
    if (!buckets) {
        fprintf(stderr, "hashmap: out of memory\n");
        return 1;
    }

    pthread_t threads[THREADS];
    for (unsigned t = 0; t < THREADS; t++) {
        if (pthread_create(&threads[t], NULL, worker, (void *)(uintptr_t)t) != 0) {
            fprintf(stderr, "hashmap: pthread_create failed\n");
            return 1;
        }
    }
    int failed = 0;
    for (unsigned t = 0; t < THREADS; t++) {
        void *result;
        pthread_join(threads[t], &result);
        failed |= result != NULL;
    }
    if (failed) {
        fprintf(stderr, "hashmap: out of memory in a worker\n");
        return 1;
    }

    /* Every thread's keys are there with their values, and no increment was lost. */
    unsigned bad = 0;
    for (unsigned t = 0; t < THREADS; t++) {
        for (unsigned i = 0; i < KEYS_PER_THREAD; i++) {
            uint64_t v;
            if (!map_get(own_key(t, i), &v) || v != i + 1)
                bad++;
        }
    }
    uint64_t bumps = 0;
    for (unsigned k = 0; k < SHARED_KEYS; k++) {
        uint64_t v;
        if (map_get(k, &v))
            bumps += v;
    }
    size_t entries = 0, used = 0, longest = 0;
    for (size_t i = 0; i < BUCKETS; i++) {
        size_t n = 0;
        if (pl_mutex_is_locked(&buckets[i].lock))
            bad++; /* every lock must be free again */
        for (struct entry *e = buckets[i].head, *next; e; e = next, n++) {
            next = e->next;
            free(e);
        }
        entries += n;
        used += n != 0;
        longest = n > longest ? n : longest;
    }
    free(buckets);

    uint64_t expected_bumps = (uint64_t)THREADS * BUMPS;
    size_t expected_entries = (size_t)THREADS * KEYS_PER_THREAD + SHARED_KEYS;
    printf("  %u threads: %zu entries in %zu buckets (longest chain %zu), %llu increments\n",
           THREADS, entries, used, longest, (unsigned long long)bumps);
    if (bad || bumps != expected_bumps || entries != expected_entries) {
        fprintf(stderr,
                "hashmap: FAILED: %u bad keys or locks, %llu/%llu increments, "
                "%zu/%zu entries\n",
                bad, (unsigned long long)bumps, (unsigned long long)expected_bumps, entries,
                expected_entries);
        return 1;
    }
    printf("hashmap: OK\n");
    return 0;
}
