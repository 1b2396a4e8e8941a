/* Tests of the debug walk of the parking lot: pl_lot_walk and pl_lot_dump (include/parking/lot.h).
 *
 * Each test runs in a forked child (Check's fork mode), so the threads parked by a test are the
 * only ones in its parking lot and a walk must find exactly them. */
#include "test_util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A parked thread that records what the walk should report about it. */
typedef struct walker_parker {
    const void *key;
    uintptr_t token;
    uint64_t tid;          /* gettid() of the thread */
    uint64_t validated_ns; /* pl_now() in validate: parked_ns is read after it, under the lock */
    atomic_size_t *parked;
    pl_park_result_t result;
    pthread_t thread;
} walker_parker_t;

static bool walker_validate(void *ctx)
{
    walker_parker_t *p = ctx;
    p->validated_ns = pl_now();
    atomic_fetch_add(p->parked, 1);
    return true;
}

static void *walker_main(void *arg)
{
    walker_parker_t *p = arg;
    p->tid = (uint64_t)gettid();
    p->result = pl_park(p->key, walker_validate, NULL, NULL, p, p->token, PL_FOREVER);
    return NULL;
}

/* Parks n threads, thread i on keys + i with token 0x100 + i, waits until all are queued, and
 * returns a time after every one of them recorded its parked_ns. */
static uint64_t park_walkers(walker_parker_t *ps, size_t n, char *keys, atomic_size_t *parked)
{
    for (size_t i = 0; i < n; i++) {
        ps[i].key = keys + i;
        ps[i].token = 0x100 + i;
        ps[i].parked = parked;
        tu_spawn(&ps[i].thread, walker_main, &ps[i]);
    }
    ck_assert_msg(tu_wait_count(parked, n), "only %zu of %zu parked", atomic_load(parked), n);
    /* validate has run, but a thread still holds its bucket lock until it is queued with its
     * parked_ns set; a walk takes every bucket lock, so once it returns, all of that is done. */
    ck_assert_uint_eq(pl_lot_walk(NULL, NULL), n);
    return pl_now();
}

static void unpark_walkers(walker_parker_t *ps, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        tu_unpark_one_expect(ps[i].key);
        tu_join(ps[i].thread);
        ck_assert_int_eq(ps[i].result.status, PL_PARK_UNPARKED);
    }
}

/* Walk visitors. */
enum { MAX_SEEN = 256 };
typedef struct seen {
    pl_parked_thread_t t[MAX_SEEN];
    size_t n;
    size_t stop_after; /* 0: never stop */
} seen_t;

static bool record(const pl_parked_thread_t *t, void *ctx)
{
    seen_t *s = ctx;
    if (s->n < MAX_SEEN)
        s->t[s->n] = *t;
    s->n++;
    return s->stop_after == 0 || s->n < s->stop_after;
}

static const pl_parked_thread_t *find_key(const seen_t *s, const void *key, size_t *count)
{
    const pl_parked_thread_t *found = NULL;
    *count = 0;
    for (size_t i = 0; i < s->n && i < MAX_SEEN; i++) {
        if (s->t[i].key == key) {
            found = &s->t[i];
            ++*count;
        }
    }
    return found;
}

START_TEST(walk_of_an_empty_lot)
{
    /* A fresh process: no table yet, and the walk must not need one. */
    seen_t s = {.n = 0};
    ck_assert_uint_eq(pl_lot_walk(record, &s), 0);
    ck_assert_uint_eq(s.n, 0);
    ck_assert_uint_eq(pl_lot_walk(NULL, NULL), 0);
    /* A table with nobody in it. */
    ck_assert_int_eq(pl_park(&s, NULL, NULL, NULL, NULL, 0, 0).status, PL_PARK_TIMED_OUT);
    ck_assert_uint_eq(pl_lot_walk(record, &s), 0);
}
END_TEST

START_TEST(walk_finds_exactly_the_parked_threads)
{
    enum { N = 12 };
    static char keys[N];
    walker_parker_t ps[N];
    memset(ps, 0, sizeof ps);
    atomic_size_t parked = 0;
    uint64_t start = pl_now();
    uint64_t queued = park_walkers(ps, N, keys, &parked);
    tu_sleep_ns(20 * TU_MS); /* so that the waited time has a lower bound to check */

    seen_t s = {.n = 0};
    ck_assert_uint_eq(pl_lot_walk(record, &s), N);
    uint64_t after = pl_now();
    ck_assert_uint_eq(s.n, N);
    ck_assert_uint_eq(pl_lot_walk(NULL, NULL), N);
    for (size_t i = 0; i < N; i++) {
        size_t count;
        const pl_parked_thread_t *t = find_key(&s, ps[i].key, &count);
        ck_assert_msg(count == 1, "thread %zu seen %zu times", i, count);
        ck_assert_uint_eq(t->park_token, ps[i].token);
        ck_assert_uint_eq(t->thread_id, ps[i].tid);
        ck_assert_uint_ne(t->thread_id, 0);
        /* The clock is read under the bucket lock after validate and before the walk in
         * park_walkers; the thread has then waited for at least the 20 ms above. */
        ck_assert_uint_ge(t->parked_ns, ps[i].validated_ns);
        ck_assert_uint_ge(t->parked_ns, start);
        ck_assert_uint_le(t->parked_ns, queued);
        ck_assert_uint_le(t->parked_ns + 20 * TU_MS, after);
    }
    unpark_walkers(ps, N);
    ck_assert_uint_eq(pl_lot_walk(record, &s), 0);
}
END_TEST

START_TEST(walk_stops_when_told)
{
    enum { N = 5 };
    static char keys[N];
    walker_parker_t ps[N];
    memset(ps, 0, sizeof ps);
    atomic_size_t parked = 0;
    (void)park_walkers(ps, N, keys, &parked);
    for (size_t stop = 1; stop <= N; stop++) {
        seen_t s = {.n = 0, .stop_after = stop};
        ck_assert_uint_eq(pl_lot_walk(record, &s), stop);
        ck_assert_uint_eq(s.n, stop);
    }
    unpark_walkers(ps, N);
}
END_TEST

/* The walk reports where a thread is queued now, and when it first queued. */
static pl_requeue_op_t requeue_all(void *ctx)
{
    (void)ctx;
    return PL_REQUEUE_REQUEUE_ALL;
}

START_TEST(walk_sees_requeued_thread_on_its_new_key)
{
    static char keys[1], target;
    walker_parker_t p[1];
    memset(p, 0, sizeof p);
    atomic_size_t parked = 0;
    (void)park_walkers(p, 1, keys, &parked);
    seen_t s1 = {.n = 0};
    ck_assert_uint_eq(pl_lot_walk(record, &s1), 1);
    ck_assert_ptr_eq(s1.t[0].key, &keys[0]);

    pl_unpark_result_t r = pl_unpark_requeue(&keys[0], &target, requeue_all, NULL, NULL);
    ck_assert_uint_eq(r.requeued, 1);
    seen_t s2 = {.n = 0};
    ck_assert_uint_eq(pl_lot_walk(record, &s2), 1);
    ck_assert_ptr_eq(s2.t[0].key, &target);
    ck_assert_uint_eq(s2.t[0].park_token, p[0].token);
    ck_assert_uint_eq(s2.t[0].parked_ns, s1.t[0].parked_ns);
    ck_assert_uint_eq(s2.t[0].thread_id, p[0].tid);

    tu_unpark_one_expect(&target);
    tu_join(p[0].thread);
    ck_assert_ptr_eq(p[0].result.key, &target);
}
END_TEST

/* Threads whose first park grows the table, started from inside the walk's first visit: the
 * growth has to wait for the bucket the walk holds and then races the walk through the others,
 * so in some runs it lands between two buckets of the walk (the loop repeats the race).  Ten
 * parked threads fill the table of 32 buckets (3 per thread), so any grower seen parked by the
 * walk proves a growth completed during it. */
enum { GROW_PARKED = 10, GROWERS = 64, GROW_RUNS = 10 };
static char grow_keys[GROW_PARKED], grow_key;
static pthread_t growers[GROWERS];
static atomic_size_t growers_started, growers_parked;

static bool grower_validate(void *ctx)
{
    (void)ctx;
    atomic_fetch_add(&growers_parked, 1);
    return true;
}

static void *grower_main(void *arg)
{
    (void)arg;
    atomic_fetch_add(&growers_started, 1);
    (void)pl_park(&grow_key, grower_validate, NULL, NULL, NULL, 0x999, PL_FOREVER);
    return NULL;
}

typedef struct grow_walk {
    seen_t seen;
    bool spawned;
} grow_walk_t;

static bool grow_during_walk(const pl_parked_thread_t *t, void *ctx)
{
    grow_walk_t *g = ctx;
    (void)record(t, &g->seen);
    if (!g->spawned) {
        g->spawned = true;
        for (size_t i = 0; i < GROWERS; i++)
            tu_spawn(&growers[i], grower_main, NULL);
        /* Started; their first park counts them and grows the table, which needs the bucket
         * lock we hold until we return. */
        ck_assert(tu_wait_count(&growers_started, GROWERS));
    }
    return true;
}

START_TEST(walk_survives_table_growth)
{
    walker_parker_t ps[GROW_PARKED];
    memset(ps, 0, sizeof ps);
    atomic_size_t parked = 0;
    (void)park_walkers(ps, GROW_PARKED, grow_keys, &parked);
    grow_walk_t g;
    memset(&g, 0, sizeof g);
    size_t visited = pl_lot_walk(grow_during_walk, &g);
    ck_assert_uint_ge(visited, GROW_PARKED);
    ck_assert_uint_le(visited, GROW_PARKED + GROWERS);
    /* Every thread parked for the whole walk is seen exactly once; growers may or may not be. */
    for (size_t i = 0; i < GROW_PARKED; i++) {
        size_t count;
        const pl_parked_thread_t *t = find_key(&g.seen, ps[i].key, &count);
        ck_assert_msg(count == 1, "thread %zu seen %zu times", i, count);
        ck_assert_uint_eq(t->park_token, ps[i].token);
    }
    for (size_t i = 0; i < g.seen.n && i < MAX_SEEN; i++) {
        const pl_parked_thread_t *t = &g.seen.t[i];
        if (t->key == &grow_key)
            ck_assert_uint_eq(t->park_token, 0x999);
        else
            ck_assert(t->key >= (const void *)grow_keys &&
                      t->key < (const void *)(grow_keys + GROW_PARKED));
    }
    ck_assert(tu_wait_count(&growers_parked, GROWERS));
    ck_assert_uint_eq(pl_lot_walk(NULL, NULL), GROW_PARKED + GROWERS);
    ck_assert_uint_eq(pl_unpark_all(&grow_key, 0), GROWERS);
    for (size_t i = 0; i < GROWERS; i++)
        tu_join(growers[i]);
    unpark_walkers(ps, GROW_PARKED);
}
END_TEST

/* ---- pl_lot_dump ---- */

START_TEST(dump_lists_every_parked_thread)
{
    enum { N = 3 };
    static char keys[N];
    walker_parker_t ps[N];
    memset(ps, 0, sizeof ps);
    atomic_size_t parked = 0;
    (void)park_walkers(ps, N, keys, &parked);
    tu_sleep_ns(20 * TU_MS); /* every thread has waited at least this long */

    FILE *f = tmpfile();
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(pl_lot_dump(f), N);
    uint64_t after = pl_now();
    rewind(f);

    char line[256];
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    ck_assert_str_eq(line, "libparking: pl_lot_dump: 3 parked threads\n");
    bool found[N] = {false};
    for (size_t i = 0; i < N; i++) {
        ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
        uint64_t addr, token, ms, frac, tid;
        int end = 0;
        int got = sscanf(line,
                         "libparking:   addr 0x%" SCNx64 " token 0x%" SCNx64 " waited %" SCNu64
                         ".%3" SCNu64 " ms thread %" SCNu64 "%n",
                         &addr, &token, &ms, &frac, &tid, &end);
        ck_assert_msg(got == 5 && line[end] == '\n', "unexpected line: %s", line);
        size_t k = (size_t)(addr - (uint64_t)(uintptr_t)keys);
        ck_assert_msg(k < N && !found[k], "unexpected address in: %s", line);
        found[k] = true;
        ck_assert_uint_eq(token, ps[k].token);
        ck_assert_uint_eq(tid, ps[k].tid);
        uint64_t waited_us = ms * 1000 + frac;
        ck_assert_uint_ge(waited_us, 20000);
        ck_assert_uint_le(waited_us, (after - ps[k].validated_ns) / 1000 + 1);
    }
    ck_assert_ptr_null(fgets(line, sizeof line, f)); /* nothing else: the count did not change */
    fclose(f);

    /* NULL means stderr (the form to type in a debugger). */
    ck_assert_uint_eq(pl_lot_dump(NULL), N);
    unpark_walkers(ps, N);

    f = tmpfile();
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(pl_lot_dump(f), 0);
    rewind(f);
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    ck_assert_str_eq(line, "libparking: pl_lot_dump: 0 parked threads\n");
    ck_assert_ptr_null(fgets(line, sizeof line, f));
    fclose(f);
}
END_TEST

START_TEST(dump_of_more_threads_than_one_batch)
{
    /* More threads on one address (one bucket) than the dump copies per bucket lock. */
    enum { N = 150 };
    static char key;
    static tu_parker_t ps[N];
    atomic_size_t parked = 0;
    for (size_t i = 0; i < N; i++)
        tu_parker_start(&ps[i], &key, i, PL_FOREVER, &parked);
    ck_assert(tu_wait_count(&parked, N));
    FILE *f = tmpfile();
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(pl_lot_dump(f), N);
    rewind(f);
    char line[256];
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    static bool seen_token[N];
    for (size_t i = 0; i < N; i++) {
        ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
        uint64_t addr, token;
        ck_assert_int_eq(
            sscanf(line, "libparking:   addr 0x%" SCNx64 " token 0x%" SCNx64, &addr, &token), 2);
        ck_assert_uint_eq(addr, (uint64_t)(uintptr_t)&key);
        ck_assert(token < N && !seen_token[token]);
        seen_token[token] = true;
    }
    ck_assert_ptr_null(fgets(line, sizeof line, f));
    fclose(f);
    ck_assert_uint_eq(pl_unpark_all(&key, 0), N);
    for (size_t i = 0; i < N; i++)
        tu_parker_join(&ps[i]);
}
END_TEST

/* A thread ahead in a bucket that leaves between two rounds of the dump must not make it skip
 * one that stays parked.  The dump prints each round with no lock held, into a stream whose
 * write function (glibc's fopencookie) unparks the oldest thread on its first thread line, that
 * is after the first round was copied and before the second is.  The rounds used to resume by
 * position in the queue: everything behind the leaver moved up one, and the thread that took
 * the first place of the second round was never listed. */
#if defined(__GLIBC__)
enum { LEAVE_N = 100 }; /* more than one round of the dump (64) on one address */
static char leave_key;
static tu_parker_t leave_ps[LEAVE_N];

typedef struct leave_stream {
    char text[64 * 1024];
    size_t len;
    bool unparked;
    uintptr_t left_token; /* park token of the thread that left */
} leave_stream_t;

static pl_filter_op_t unpark_first(void *ctx, uintptr_t park_token)
{
    leave_stream_t *s = ctx;
    if (s->unparked)
        return PL_FILTER_STOP;
    s->unparked = true;
    s->left_token = park_token;
    return PL_FILTER_UNPARK;
}

static ssize_t leave_write(void *cookie, const char *buf, size_t size)
{
    leave_stream_t *s = cookie;
    if (!s->unparked && size > 0 && strncmp(buf, "libparking:   addr", 18) == 0) {
        /* The dump holds no lock while it prints: the oldest thread of the bucket leaves. */
        pl_unpark_result_t r = pl_unpark_filter(&leave_key, unpark_first, NULL, s);
        if (r.unparked != 1)
            return -1;
    }
    size_t n = size < sizeof s->text - s->len ? size : sizeof s->text - s->len;
    memcpy(s->text + s->len, buf, n);
    s->len += n;
    return (ssize_t)n;
}

START_TEST(dump_misses_nobody_when_one_ahead_leaves)
{
    atomic_size_t parked = 0;
    tu_park_in_order(leave_ps, LEAVE_N, &leave_key, NULL, &parked);
    static leave_stream_t s;
    cookie_io_functions_t io = {NULL, leave_write, NULL, NULL};
    FILE *f = fopencookie(&s, "w", io);
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(setvbuf(f, NULL, _IONBF, 0), 0); /* each line reaches leave_write at once */
    size_t listed = pl_lot_dump(f);
    fclose(f);
    ck_assert(s.unparked);
    ck_assert_uint_eq(s.left_token, 0); /* the oldest: listed in the first round */
    ck_assert_int_eq(tu_parker_join(&leave_ps[0]).status, PL_PARK_UNPARKED);

    static unsigned seen[LEAVE_N];
    s.text[s.len < sizeof s.text ? s.len : sizeof s.text - 1] = '\0';
    size_t lines = 0;
    for (char *line = strstr(s.text, "libparking:   addr"); line != NULL;
         line = strstr(line + 1, "libparking:   addr")) {
        uint64_t addr, token;
        ck_assert_int_eq(
            sscanf(line, "libparking:   addr 0x%" SCNx64 " token 0x%" SCNx64, &addr, &token), 2);
        ck_assert_uint_eq(addr, (uint64_t)(uintptr_t)&leave_key);
        ck_assert_uint_lt(token, LEAVE_N);
        seen[token]++;
        lines++;
    }
    ck_assert_uint_eq(lines, listed);
    /* Threads 1..N-1 stayed parked throughout: each listed (a repeat would be allowed). */
    for (size_t i = 1; i < LEAVE_N; i++)
        ck_assert_msg(seen[i] >= 1, "thread %zu (queued %zu of %d, parked throughout) not listed",
                      i, i + 1, (int)LEAVE_N);
    ck_assert_uint_eq(pl_unpark_all(&leave_key, 0), LEAVE_N - 1);
    for (size_t i = 1; i < LEAVE_N; i++)
        ck_assert_int_eq(tu_parker_join(&leave_ps[i]).status, PL_PARK_UNPARKED);
}
END_TEST
#endif

static Suite *walk_suite(void)
{
    Suite *s = suite_create("lot_walk");
    TCase *tc = tu_tcase(s, "walk", 30);
    tcase_add_test(tc, walk_of_an_empty_lot);
    tcase_add_test(tc, walk_finds_exactly_the_parked_threads);
    tcase_add_test(tc, walk_stops_when_told);
    tcase_add_test(tc, walk_sees_requeued_thread_on_its_new_key);
    tcase_add_loop_test(tc, walk_survives_table_growth, 0, GROW_RUNS);

    tc = tu_tcase(s, "dump", 30);
    tcase_add_test(tc, dump_lists_every_parked_thread);
    tcase_add_test(tc, dump_of_more_threads_than_one_batch);
#if defined(__GLIBC__)
    tcase_add_test(tc, dump_misses_nobody_when_one_ahead_leaves);
#endif
    return s;
}

int main(void) { return tu_run_suite(walk_suite()); }
