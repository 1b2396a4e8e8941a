/* Lazy initialisation with pl_once_t: a table built on first use, by whichever thread needs it
 * first, exactly once, however many threads race for it.
 *
 * pl_once_t is one byte and zero-initialised, so it can sit next to the data it guards in any
 * static or calloc'ed structure.  Once the table is built, table_get() costs one acquire load and
 * a branch, inline.  Threads that arrive while it is being built sleep until it is done and then
 * see everything the initialiser wrote.
 *
 * The second half shows pl_call_once_try: an initialiser that may fail (here, the first two
 * attempts pretend to fail) leaves the once not done, and the next caller tries again.
 *
 * Exit status 0 means every check passed.
 */
#define _POSIX_C_SOURCE 200809L

#include <parking/once.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define THREADS 8
#define ROUNDS 200 /* fresh onces raced by all threads */
#define TABLE_SIZE 256

/* A CRC-32 table, built lazily. */
struct lazy_table {
    pl_once_t once;
    uint32_t entries[TABLE_SIZE];
};

static unsigned builds; /* how many times an initialiser ran; written only inside them */

static void build_table(void *arg)
{
    struct lazy_table *t = arg;
    for (uint32_t i = 0; i < TABLE_SIZE; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        t->entries[i] = c;
    }
    builds++; /* safe: pl_call_once runs at most one initialiser of a once at a time */
}

static const uint32_t *table_get(struct lazy_table *t)
{
    pl_call_once(&t->once, build_table, t);
    return t->entries;
}

static uint32_t crc32(struct lazy_table *t, const char *s)
{
    const uint32_t *table = table_get(t);
    uint32_t c = 0xFFFFFFFFu;
    while (*s)
        c = table[(c ^ (uint8_t)*s++) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

static struct lazy_table tables[ROUNDS]; /* ROUNDS independent lazy tables */
static pthread_barrier_t start;

static void *racer(void *arg)
{
    uintptr_t wrong = 0;
    (void)arg;
    for (unsigned r = 0; r < ROUNDS; r++) {
        pthread_barrier_wait(&start); /* everyone hits table r at the same moment */
        /* "123456789" is the standard check string of CRC-32. */
        wrong += crc32(&tables[r], "123456789") != 0xCBF43926u;
    }
    return (void *)wrong;
}

/* pl_call_once_try: a connection that fails twice before it succeeds. */
static pl_once_t connect_once;
static unsigned connect_attempts;
static bool connected;

static bool try_connect(void *arg)
{
    (void)arg;
    connect_attempts++; /* only one initialiser runs at a time */
    if (connect_attempts <= 2)
        return false; /* pretend the server is not up yet: the once stays not done */
    connected = true;
    return true;
}

int main(void)
{
    pthread_t threads[THREADS];
    pthread_barrier_init(&start, NULL, THREADS);
    for (unsigned i = 0; i < THREADS; i++)
        if (pthread_create(&threads[i], NULL, racer, NULL) != 0)
            return 1;
    uintptr_t wrong = 0;
    for (unsigned i = 0; i < THREADS; i++) {
        void *result;
        pthread_join(threads[i], &result);
        wrong += (uintptr_t)result;
    }
    pthread_barrier_destroy(&start);
    printf("lazy_init: %u threads raced for %u lazy tables: %u builds, %lu wrong checksums\n",
           THREADS, ROUNDS, builds, (unsigned long)wrong);

    unsigned failures = 0;
    while (!pl_call_once_try(&connect_once, try_connect, NULL))
        failures++;
    /* Done now: later calls return true at once without running anything. */
    bool again = pl_call_once_try(&connect_once, try_connect, NULL);
    printf("  pl_call_once_try: %u failed attempts, then connected after %u attempts\n", failures,
           connect_attempts);

    if (builds != ROUNDS || wrong != 0 || failures != 2 || connect_attempts != 3 || !connected ||
        !again || !pl_once_is_done(&connect_once)) {
        fprintf(stderr, "lazy_init: FAILED\n");
        return 1;
    }
    printf("lazy_init: OK\n");
    return 0;
}
