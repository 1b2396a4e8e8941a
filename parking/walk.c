/* The debug walk of the parking lot: pl_lot_walk and pl_lot_dump (include/parking/lot.h).
 *
 * The walk locks one bucket at a time, as every other operation does, and goes through the
 * table by hash position rather than bucket index: growth keeps a key's top hash bits, so after
 * a growth the walk goes on in the new table exactly where it left the old one. */
#include <parking/lot.h>

#include <errno.h>
#include <utlist.h>

#include "table.h"

/* Where a walk stands: the hash position of the next bucket, and, when a visitor stopped it
 * inside a bucket's queue (pl_lot_dump's rounds), that bucket, the queue stamp of the last
 * thread visited and the highest stamp the bucket held when the walk first locked it.
 *
 * Stamps increase along a queue (lot.c, enqueue), so the next round resumes after the last
 * thread visited by stamp, not by position: threads ahead of it that left meanwhile move the
 * others up the queue but not below that stamp.  (Resuming by position skipped, for each
 * thread that left, one thread that stayed parked.)  A thread parked in the bucket throughout
 * is in the queue at every round, in stamp order, at most `last` if an earlier round visited it
 * and above it otherwise; and its stamp is at most `end`, so the rounds stop there, which bounds
 * a busy bucket's listing to the threads queued when it began. */
typedef struct walk_pos {
    uint64_t hash;
    const pl_bucket_t *bucket;
    bool resume; /* stopped inside `bucket`: go on after stamp `last`, up to `end` */
    uint64_t last;
    uint64_t end;
    bool done;
} walk_pos_t;

static size_t walk_from(walk_pos_t *pos, pl_walk_fn fn, void *ctx)
{
    size_t n = 0;
    while (!pos->done) {
        uint64_t next;
        bool last;
        pl_bucket_t *b = pl_bucket_lock_at(pos->hash, &next, &last);
        /* The table grew since we stopped in this bucket: its threads are spread over several
         * new buckets, so list this one again from its start rather than miss any. */
        if (b != pos->bucket)
            pos->resume = false;
        if (!pos->resume)
            pos->end = b->queue != NULL ? b->queue->prev->queue_stamp : 0;
        bool stopped = false;
        pl_thread_data_t *td;
        DL_FOREACH (b->queue, td) {
            if (pos->resume && td->queue_stamp <= pos->last)
                continue; /* listed by an earlier round */
            if (pos->resume && td->queue_stamp > pos->end)
                break; /* queued after the walk reached this bucket */
            n++;
            if (fn == NULL)
                continue;
            pl_parked_thread_t t = {__atomic_load_n(&td->key, __ATOMIC_RELAXED), td->park_token,
                                    td->parked_ns, td->os_tid};
            if (!fn(&t, ctx)) {
                stopped = true;
                pos->last = td->queue_stamp;
                break;
            }
        }
        pl_bucket_unlock(b);
        if (stopped) {
            pos->bucket = b;
            pos->resume = true;
            return n;
        }
        pos->resume = false;
        pos->bucket = NULL;
        pos->hash = next;
        pos->done = last;
    }
    return n;
}

size_t pl_lot_walk(pl_walk_fn fn, void *ctx)
{
    /* No table yet: nobody has parked, and a walk must not create one. */
    int saved_errno = errno; /* a bucket lock may sleep: see pl_park (lot.c) */
    walk_pos_t pos = {0, NULL, false, 0, 0, !pl_table_exists()};
    size_t n = walk_from(&pos, fn, ctx);
    errno = saved_errno;
    return n;
}

/* ---- pl_lot_dump ---- */

/* Threads are copied under the bucket lock and printed after it: printing may allocate (a
 * stream's first buffer), and nothing may allocate under a bucket lock (docs/design.md §1). */
enum { BATCH = 64 };

typedef struct batch {
    pl_parked_thread_t t[BATCH];
    size_t n;
} batch_t;

static bool batch_add(const pl_parked_thread_t *t, void *ctx)
{
    batch_t *b = ctx;
    b->t[b->n++] = *t;
    return b->n < BATCH;
}

/* Number formatting by hand: the same output everywhere (mingw's printf is msvcrt's, without
 * %ju or %zu), no locale, no floating point. */
static size_t put_str(char *buf, size_t at, const char *s)
{
    while (*s)
        buf[at++] = *s++;
    return at;
}

static size_t put_num(char *buf, size_t at, uint64_t v, unsigned base, unsigned min_digits)
{
    char digits[64];
    unsigned n = 0;
    do {
        digits[n++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v != 0 || n < min_digits);
    while (n > 0)
        buf[at++] = digits[--n];
    return at;
}

static void print_thread(FILE *out, const pl_parked_thread_t *t, uint64_t now)
{
    uint64_t waited_us = now > t->parked_ns ? (now - t->parked_ns) / 1000u : 0;
    char line[160];
    size_t n = put_str(line, 0, "libparking:   addr 0x");
    n = put_num(line, n, (uintptr_t)t->key, 16, 1);
    n = put_str(line, n, " token 0x");
    n = put_num(line, n, t->park_token, 16, 1);
    n = put_str(line, n, " waited ");
    n = put_num(line, n, waited_us / 1000u, 10, 1);
    n = put_str(line, n, ".");
    n = put_num(line, n, waited_us % 1000u, 10, 3);
    n = put_str(line, n, " ms thread ");
    n = put_num(line, n, t->thread_id, 10, 1);
    line[n++] = '\n';
    fwrite(line, 1, n, out);
}

static void print_count(FILE *out, const char *before, size_t count, const char *after)
{
    char line[160];
    size_t n = put_str(line, 0, before);
    n = put_num(line, n, count, 10, 1);
    n = put_str(line, n, after);
    fwrite(line, 1, n, out);
}

size_t pl_lot_dump(FILE *out)
{
    if (out == NULL)
        out = stderr;
    int saved_errno = errno; /* see pl_park (lot.c); the stream's own calls are ours too */
    size_t counted = pl_lot_walk(NULL, NULL);
    print_count(out, "libparking: pl_lot_dump: ", counted,
                counted == 1 ? " parked thread\n" : " parked threads\n");
    walk_pos_t pos = {0, NULL, false, 0, 0, counted == 0};
    size_t listed = 0;
    while (!pos.done) {
        batch_t batch;
        batch.n = 0;
        (void)walk_from(&pos, batch_add, &batch);
        /* Read after the batch was taken, so no thread in it parked after `now`. */
        uint64_t now = pl_now();
        for (size_t i = 0; i < batch.n; i++)
            print_thread(out, &batch.t[i], now);
        listed += batch.n;
    }
    if (listed != counted)
        print_count(out, "libparking: pl_lot_dump: ", listed,
                    " listed (threads parked or left during the dump)\n");
    fflush(out);
    errno = saved_errno;
    return listed;
}
