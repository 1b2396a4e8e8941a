/* Tests of pl_wait / pl_wake_one / pl_wake_all: include/parking/wait.h.
 *
 * Knowing that a waiter sleeps: pl_wait queues the thread in the parking lot under the address
 * it waits on.  tu_queued() counts the threads queued there with pl_unpark_filter and a filter
 * that only returns PL_FILTER_SKIP (wakes nobody); once a waiter is counted, a wake (which takes
 * the same bucket lock) is guaranteed to find it.  No test sleeps to "let a thread block". */
#ifndef _GNU_SOURCE
#  define _GNU_SOURCE
#endif
#include "test_util.h"

#include <parking/wait.h>

#include <errno.h>
#include <stdlib.h>

/* One value of each width, aligned for the largest. */
typedef union word {
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;
} word_t;

static void store_value(void *addr, size_t size, uint64_t v)
{
    switch (size) {
    case 1: __atomic_store_n((uint8_t *)addr, (uint8_t)v, __ATOMIC_RELEASE); break;
    case 2: __atomic_store_n((uint16_t *)addr, (uint16_t)v, __ATOMIC_RELEASE); break;
    case 4: __atomic_store_n((uint32_t *)addr, (uint32_t)v, __ATOMIC_RELEASE); break;
    default: __atomic_store_n((uint64_t *)addr, v, __ATOMIC_RELEASE); break;
    }
}

static uint64_t load_value(const void *addr, size_t size)
{
    switch (size) {
    case 1: return __atomic_load_n((const uint8_t *)addr, __ATOMIC_ACQUIRE);
    case 2: return __atomic_load_n((const uint16_t *)addr, __ATOMIC_ACQUIRE);
    case 4: return __atomic_load_n((const uint32_t *)addr, __ATOMIC_ACQUIRE);
    default: return __atomic_load_n((const uint64_t *)addr, __ATOMIC_ACQUIRE);
    }
}

/* The size-byte representation of v at p (any alignment). */
static void put_value(void *p, size_t size, uint64_t v)
{
    uint8_t v1 = (uint8_t)v;
    uint16_t v2 = (uint16_t)v;
    uint32_t v4 = (uint32_t)v;
    switch (size) {
    case 1: memcpy(p, &v1, 1); break;
    case 2: memcpy(p, &v2, 2); break;
    case 4: memcpy(p, &v4, 4); break;
    default: memcpy(p, &v, 8); break;
    }
}

static const size_t sizes[4] = {1, 2, 4, 8};

/* A value that differs from `base` only in the top byte of a size-byte word: a comparison of
 * too few bytes would miss the difference. */
static uint64_t top_byte_differs(uint64_t base, size_t size)
{
    return base ^ ((uint64_t)0x80 << (8 * (size - 1)));
}

/* ---- Single waiter per size ---- */

typedef struct waiter {
    const void *addr;
    uint64_t expected; /* copied into an unaligned buffer before the call */
    size_t size;
    uint64_t deadline;
    int rc;
    uint64_t seen; /* value read right after the return */
    uint64_t returned_at;
    atomic_bool done;
    pthread_t thread;
} waiter_t;

static void *waiter_main(void *arg)
{
    waiter_t *w = arg;
    unsigned char buf[16];
    put_value(buf + 1, w->size, w->expected); /* `expected` needs no alignment */
    w->rc = pl_wait(w->addr, buf + 1, w->size, w->deadline);
    w->returned_at = pl_now();
    w->seen = load_value(w->addr, w->size);
    atomic_store(&w->done, true);
    return NULL;
}

static void waiter_start(waiter_t *w, const void *addr, size_t size, uint64_t expected,
                         uint64_t deadline)
{
    memset(w, 0, sizeof *w);
    w->addr = addr;
    w->size = size;
    w->expected = expected;
    w->deadline = deadline;
    tu_spawn(&w->thread, waiter_main, w);
}

START_TEST(wait_each_size_woken_by_store_and_wake)
{
    for (int i = 0; i < 4; i++) {
        size_t size = sizes[i];
        word_t word = {.u64 = 0};
        uint64_t initial = 0x0102030405060708ull & (size == 8 ? ~0ull : (1ull << (8 * size)) - 1);
        store_value(&word, size, initial);
        waiter_t w;
        waiter_start(&w, &word, size, initial, PL_FOREVER);
        tu_wait_queued(&word, 1);
        ck_assert(!atomic_load(&w.done));
        uint64_t next = top_byte_differs(initial, size);
        store_value(&word, size, next);
        ck_assert_uint_eq(pl_wake_one(&word), 1);
        tu_join(w.thread);
        ck_assert_int_eq(w.rc, 0);
        ck_assert_uint_eq(w.seen, next);
        ck_assert_uint_eq(tu_queued(&word, NULL, 0), 0);
    }
}
END_TEST

START_TEST(wait_returns_at_once_when_value_differs)
{
    for (int i = 0; i < 4; i++) {
        size_t size = sizes[i];
        word_t word = {.u64 = 0};
        store_value(&word, size, 5);
        /* Only the top byte differs; FOREVER would hang if the comparison were wrong. */
        unsigned char expected[8];
        put_value(expected, size, top_byte_differs(5, size));
        ck_assert_int_eq(pl_wait(&word, expected, size, PL_FOREVER), 0);
        /* Also with a past deadline: the value check comes first. */
        ck_assert_int_eq(pl_wait(&word, expected, size, 0), 0);
        ck_assert_int_eq(pl_wait_for(&word, expected, size, 0), 0);
    }
}
END_TEST

/* Bytes around a narrow value do not take part in the comparison. */
START_TEST(wait_compares_only_size_bytes)
{
    uint64_t big = 0;
    unsigned char *bytes = (unsigned char *)&big;
    for (int i = 0; i < 8; i++)
        bytes[i] = (unsigned char)(0x10 + i);
    uint8_t expected1 = bytes[0];
    uint16_t expected2;
    uint32_t expected4;
    memcpy(&expected2, bytes, 2);
    memcpy(&expected4, bytes, 4);
    /* Equal in the first size bytes, so each would block: use a deadline just ahead. */
    ck_assert_int_eq(pl_wait(&big, &expected1, 1, pl_now() + TU_MS), ETIMEDOUT);
    ck_assert_int_eq(pl_wait(&big, &expected2, 2, pl_now() + TU_MS), ETIMEDOUT);
    ck_assert_int_eq(pl_wait(&big, &expected4, 4, pl_now() + TU_MS), ETIMEDOUT);
}
END_TEST

/* ---- Time-outs ---- */

START_TEST(timeout_not_before_deadline)
{
    for (int i = 0; i < 4; i++) {
        size_t size = sizes[i];
        word_t word = {.u64 = 0};
        uint64_t expected = 0;
        uint64_t deadline = pl_now() + 10 * TU_MS;
        ck_assert_int_eq(pl_wait(&word, &expected, size, deadline), ETIMEDOUT);
        ck_assert_uint_ge(pl_now(), deadline);
        uint64_t start = pl_now();
        ck_assert_int_eq(pl_wait_for(&word, &expected, size, 5 * TU_MS), ETIMEDOUT);
        ck_assert_uint_ge(pl_now() - start, 5 * TU_MS);
        ck_assert_uint_eq(tu_queued(&word, NULL, 0), 0); /* left the queue */
    }
}
END_TEST

START_TEST(past_deadline_times_out_at_once)
{
    uint32_t word = 9, expected = 9;
    ck_assert_int_eq(pl_wait(&word, &expected, 4, 0), ETIMEDOUT);
    ck_assert_int_eq(pl_wait(&word, &expected, 4, pl_now()), ETIMEDOUT);
    ck_assert_int_eq(pl_wait_for(&word, &expected, 4, 0), ETIMEDOUT);
}
END_TEST

START_TEST(wake_before_deadline_returns_zero)
{
    uint16_t word = 1;
    waiter_t w;
    waiter_start(&w, &word, 2, 1, pl_now() + 10 * TU_S);
    tu_wait_queued(&word, 1);
    ck_assert_uint_eq(pl_wake_all(&word), 1); /* a wake with no change: a "spurious" return */
    tu_join(w.thread);
    ck_assert_int_eq(w.rc, 0);
    ck_assert_uint_lt(w.returned_at, w.deadline);
}
END_TEST

/* ---- Invalid arguments ---- */

START_TEST(invalid_arguments)
{
    /* Each of these would block forever if it did anything but fail. */
    uint64_t storage[2] = {0, 0};
    unsigned char *base = (unsigned char *)storage;
    uint64_t zero = 0;
    ck_assert_int_eq(pl_wait(base, &zero, 3, PL_FOREVER), EINVAL);
    ck_assert_int_eq(pl_wait(base, &zero, 0, PL_FOREVER), EINVAL);
    ck_assert_int_eq(pl_wait(base, &zero, 16, PL_FOREVER), EINVAL);
    ck_assert_int_eq(pl_wait(base, &zero, 5, PL_FOREVER), EINVAL);
    ck_assert_int_eq(pl_wait(base + 1, &zero, 2, PL_FOREVER), EINVAL);
    ck_assert_int_eq(pl_wait(base + 2, &zero, 4, PL_FOREVER), EINVAL);
    ck_assert_int_eq(pl_wait(base + 4, &zero, 8, PL_FOREVER), EINVAL);
    ck_assert_int_eq(pl_wait(base + 1, &zero, 8, PL_FOREVER), EINVAL);
    ck_assert_int_eq(pl_wait(NULL, &zero, 4, PL_FOREVER), EINVAL);
    ck_assert_int_eq(pl_wait(base, NULL, 4, PL_FOREVER), EINVAL);
    ck_assert_int_eq(pl_wait_for(base, &zero, 3, UINT64_MAX), EINVAL);
    ck_assert_int_eq(pl_wait_for(base + 1, &zero, 4, UINT64_MAX), EINVAL);
    /* Size 1 accepts any address. */
    ck_assert_int_eq(pl_wait(base + 3, &zero, 1, 0), ETIMEDOUT);
    ck_assert_uint_eq(tu_queued(base, NULL, 0), 0);
    ck_assert_uint_eq(tu_queued(base + 1, NULL, 0), 0);
    ck_assert_uint_eq(pl_wake_one(NULL), 0);
    ck_assert_uint_eq(pl_wake_all(NULL), 0);
}
END_TEST

/* ---- Wake counts ---- */

enum { COUNT_WAITERS = 8 };

START_TEST(wake_counts)
{
    uint64_t word = 77, other = 77;
    ck_assert_uint_eq(pl_wake_one(&word), 0);
    ck_assert_uint_eq(pl_wake_all(&word), 0);

    waiter_t w[COUNT_WAITERS], bystander;
    for (int i = 0; i < COUNT_WAITERS; i++)
        waiter_start(&w[i], &word, 8, 77, PL_FOREVER);
    waiter_start(&bystander, &other, 8, 77, PL_FOREVER);
    tu_wait_queued(&word, COUNT_WAITERS);
    tu_wait_queued(&other, 1);

    ck_assert_uint_eq(pl_wake_one(&word), 1);
    ck_assert_uint_eq(tu_queued(&word, NULL, 0), COUNT_WAITERS - 1);
    ck_assert_uint_eq(pl_wake_one(&word), 1);
    ck_assert_uint_eq(tu_queued(&word, NULL, 0), COUNT_WAITERS - 2);
    /* The value did not change: the woken ones still return 0 (spurious for them). */
    ck_assert_uint_eq(pl_wake_all(&word), COUNT_WAITERS - 2);
    ck_assert_uint_eq(tu_queued(&word, NULL, 0), 0);
    ck_assert_uint_eq(pl_wake_one(&word), 0);
    ck_assert_uint_eq(pl_wake_all(&word), 0);
    for (int i = 0; i < COUNT_WAITERS; i++) {
        tu_join(w[i].thread);
        ck_assert_int_eq(w[i].rc, 0);
    }
    /* A wake of one address leaves waiters of another alone. */
    ck_assert_uint_eq(tu_queued(&other, NULL, 0), 1);
    ck_assert(!atomic_load(&bystander.done));
    ck_assert_uint_eq(pl_wake_all(&other), 1);
    tu_join(bystander.thread);
    ck_assert_int_eq(bystander.rc, 0);
}
END_TEST

/* ---- Lost wake-up race: ping-pong ---- */

enum { PINGPONG_ROUNDS = 100000 };

typedef struct pingpong {
    word_t word; /* the turn counter, truncated to `size` bytes */
    size_t size;
    unsigned rounds;
    atomic_int stuck; /* a wait timed out with the turn not come: a lost wake-up */
} pingpong_t;

/* Waits until the counter reaches `turn` (mod 2^(8*size)), re-checking after every return. */
static bool wait_turn(pingpong_t *p, uint64_t turn)
{
    uint64_t mask = p->size == 8 ? ~0ull : (1ull << (8 * p->size)) - 1;
    turn &= mask;
    uint64_t deadline = pl_now() + 10 * TU_S; /* far beyond any scheduling delay */
    for (;;) {
        uint64_t v = load_value(&p->word, p->size);
        if (v == turn)
            return true;
        unsigned char seen[8];
        put_value(seen, p->size, v);
        if (pl_wait(&p->word, seen, p->size, deadline) == ETIMEDOUT &&
            load_value(&p->word, p->size) != turn)
            return false;
    }
}

/* Player `who` (0 or 1) moves on even / odd turns: store the next turn, then wake.  The store
 * and the wake are separate steps with no lock around them; the other player may check the value
 * between them and go to sleep, and must then be found by the wake. */
static void play(pingpong_t *p, unsigned who)
{
    for (unsigned i = who; i < 2 * p->rounds; i += 2) {
        if (!wait_turn(p, i)) {
            atomic_store(&p->stuck, 1);
            return;
        }
        store_value(&p->word, p->size, i + 1);
        (void)pl_wake_one(&p->word);
    }
}

static void *player_one(void *arg)
{
    play(arg, 1);
    return NULL;
}

static void run_pingpong(size_t size, unsigned rounds)
{
    pingpong_t *p = calloc(1, sizeof *p);
    ck_assert_ptr_nonnull(p);
    p->size = size;
    p->rounds = rounds;
    pthread_t t;
    tu_spawn(&t, player_one, p);
    play(p, 0);
    if (atomic_load(&p->stuck))
        store_value(&p->word, size, ~0ull); /* release the other player so join returns */
    (void)pl_wake_all(&p->word);
    tu_join(t);
    ck_assert_msg(!atomic_load(&p->stuck), "size %zu: a wake-up was lost", size);
    uint64_t mask = size == 8 ? ~0ull : (1ull << (8 * size)) - 1;
    ck_assert_uint_eq(load_value(&p->word, size), (2ull * rounds) & mask);
    free(p);
}

START_TEST(no_lost_wakeup_100k) { run_pingpong(4, PINGPONG_ROUNDS); }
END_TEST

START_TEST(no_lost_wakeup_each_size)
{
    run_pingpong(1, 20000);
    run_pingpong(2, 20000);
    run_pingpong(8, 20000);
}
END_TEST

/* ---- Suite ---- */

static Suite *wait_suite(void)
{
    Suite *s = suite_create("wait");
    TCase *tc = tu_tcase(s, "basic", 30);
    tcase_add_test(tc, wait_each_size_woken_by_store_and_wake);
    tcase_add_test(tc, wait_returns_at_once_when_value_differs);
    tcase_add_test(tc, wait_compares_only_size_bytes);
    tcase_add_test(tc, invalid_arguments);
    tcase_add_test(tc, wake_counts);

    tc = tu_tcase(s, "timed", 30);
    tcase_add_test(tc, timeout_not_before_deadline);
    tcase_add_test(tc, past_deadline_times_out_at_once);
    tcase_add_test(tc, wake_before_deadline_returns_zero);

    tc = tu_tcase(s, "race", 120);
    tcase_add_test(tc, no_lost_wakeup_100k);
    tcase_add_test(tc, no_lost_wakeup_each_size);
    return s;
}

int main(void) { return tu_run_suite(wait_suite()); }
