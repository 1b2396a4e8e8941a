/* Tests of the bit locks and the pointer lock: include/parking/bitlock.h.
 *
 * Every width runs the same tests through a table of function pointers (ops_t); the lock and
 * parked masks then reach the inline functions as run-time values, so the mask checks are the
 * ones a caller with computed masks gets.  A few tests call the functions directly with
 * constant masks, the intended use, where the compiler folds those checks away.
 *
 * Knowing that a thread waits for a lock: all waiters of a bit lock park on the word's address
 * with their lock bit | parked bit as park token.  tu_queued() scans that queue with
 * pl_unpark_filter and a filter that only counts (PL_FILTER_SKIP), so seeing a waiter there
 * proves that the next unlock's scan, which takes the same bucket lock, will find it.  No test
 * sleeps to let a thread "get there".
 *
 * Check runs each test in a forked child (CK_FORK, the default), which the abort tests need. */
#include "test_util.h"

#include <parking/bitlock.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static uint64_t bit(unsigned i) { return (uint64_t)1 << i; }

/* ---- One table of operations per width ---- */

typedef union word {
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;
    uintptr_t up;
} word_t;

typedef struct ops {
    const char *name;
    unsigned bits;
    void (*lock)(word_t *w, uint64_t l, uint64_t p);
    bool (*trylock)(word_t *w, uint64_t l, uint64_t p);
    bool (*lock_until)(word_t *w, uint64_t l, uint64_t p, uint64_t deadline);
    bool (*lock_for)(word_t *w, uint64_t l, uint64_t p, uint64_t timeout_ns);
    void (*unlock)(word_t *w, uint64_t l, uint64_t p);
    void (*unlock_fair)(word_t *w, uint64_t l, uint64_t p);
    bool (*is_locked)(const word_t *w, uint64_t l, uint64_t p);
    uint64_t (*load)(const word_t *w, uint64_t l, uint64_t p);
    uint64_t (*update)(word_t *w, uint64_t l, uint64_t p, uint64_t clear, uint64_t set);
    uint64_t (*raw)(const word_t *w);         /* the whole word, relaxed */
    void (*store)(word_t *w, uint64_t value); /* the whole word, for set-up */
} ops_t;

#define OPS(S, T, M)                                                                               \
  static void w##S##_lock(word_t *w, uint64_t l, uint64_t p)                                       \
  {                                                                                                \
    pl_bitlock##S##_lock(&w->M, (T)l, (T)p);                                                       \
  }                                                                                                \
  static bool w##S##_trylock(word_t *w, uint64_t l, uint64_t p)                                    \
  {                                                                                                \
    return pl_bitlock##S##_trylock(&w->M, (T)l, (T)p);                                             \
  }                                                                                                \
  static bool w##S##_lock_until(word_t *w, uint64_t l, uint64_t p, uint64_t d)                     \
  {                                                                                                \
    return pl_bitlock##S##_lock_until(&w->M, (T)l, (T)p, d);                                       \
  }                                                                                                \
  static bool w##S##_lock_for(word_t *w, uint64_t l, uint64_t p, uint64_t t)                       \
  {                                                                                                \
    return pl_bitlock##S##_lock_for(&w->M, (T)l, (T)p, t);                                         \
  }                                                                                                \
  static void w##S##_unlock(word_t *w, uint64_t l, uint64_t p)                                     \
  {                                                                                                \
    pl_bitlock##S##_unlock(&w->M, (T)l, (T)p);                                                     \
  }                                                                                                \
  static void w##S##_unlock_fair(word_t *w, uint64_t l, uint64_t p)                                \
  {                                                                                                \
    pl_bitlock##S##_unlock_fair(&w->M, (T)l, (T)p);                                                \
  }                                                                                                \
  static bool w##S##_is_locked(const word_t *w, uint64_t l, uint64_t p)                            \
  {                                                                                                \
    return pl_bitlock##S##_is_locked(&w->M, (T)l, (T)p);                                           \
  }                                                                                                \
  static uint64_t w##S##_load(const word_t *w, uint64_t l, uint64_t p)                             \
  {                                                                                                \
    return pl_bitlock##S##_load(&w->M, (T)l, (T)p);                                                \
  }                                                                                                \
  static uint64_t w##S##_update(word_t *w, uint64_t l, uint64_t p, uint64_t c, uint64_t s)         \
  {                                                                                                \
    return pl_bitlock##S##_update(&w->M, (T)l, (T)p, (T)c, (T)s);                                  \
  }                                                                                                \
  static uint64_t w##S##_raw(const word_t *w) { return __atomic_load_n(&w->M, __ATOMIC_RELAXED); } \
  static void w##S##_store(word_t *w, uint64_t v)                                                  \
  {                                                                                                \
    __atomic_store_n(&w->M, (T)v, __ATOMIC_RELAXED);                                               \
  }                                                                                                \
  static const ops_t ops_##S = {#S,                                                                \
                                8 * sizeof(T),                                                     \
                                w##S##_lock,                                                       \
                                w##S##_trylock,                                                    \
                                w##S##_lock_until,                                                 \
                                w##S##_lock_for,                                                   \
                                w##S##_unlock,                                                     \
                                w##S##_unlock_fair,                                                \
                                w##S##_is_locked,                                                  \
                                w##S##_load,                                                       \
                                w##S##_update,                                                     \
                                w##S##_raw,                                                        \
                                w##S##_store};

OPS(8, uint8_t, u8)
OPS(16, uint16_t, u16)
OPS(32, uint32_t, u32)
OPS(64, uint64_t, u64)
OPS(ptr, uintptr_t, up)

static const ops_t *const all_ops[] = {&ops_8, &ops_16, &ops_32, &ops_64, &ops_ptr};
enum { N_OPS = 5 };

static uint64_t width_mask(const ops_t *o) { return o->bits == 64 ? UINT64_MAX : bit(o->bits) - 1; }

/* Lock and parked bit placements tried on every width: low, top, and split. */
typedef struct placement {
    unsigned lock, parked;
} placement_t;

static placement_t placement(const ops_t *o, int k)
{
    unsigned w = o->bits;
    placement_t all[3] = {{0, 1}, {w - 1, w - 2}, {w / 2 + 1, 2}};
    return all[k];
}

/* ---- Single-threaded behaviour: every path that needs no second thread ---- */

START_TEST(basic_paths_keep_other_bits)
{
    const ops_t *o = all_ops[_i];
    for (int k = 0; k < 3; k++) {
        placement_t pl = placement(o, k);
        uint64_t l = bit(pl.lock), p = bit(pl.parked), ours = l | p;
        /* Two patterns of the caller's bits: all set, and alternating. */
        uint64_t patterns[2] = {width_mask(o) & ~ours,
                                0xA5A5A5A5A5A5A5A5ull & width_mask(o) & ~ours};
        for (int j = 0; j < 2; j++) {
            uint64_t pat = patterns[j];
            word_t w;
            memset(&w, 0, sizeof w);
            o->store(&w, pat);
            ck_assert(!o->is_locked(&w, l, p));
            ck_assert_uint_eq(o->load(&w, l, p), pat);

            o->lock(&w, l, p);
            ck_assert(o->is_locked(&w, l, p));
            ck_assert_uint_eq(o->raw(&w), pat | l);
            ck_assert_uint_eq(o->load(&w, l, p), pat); /* load hides the lock's bits */
            ck_assert(!o->trylock(&w, l, p));          /* not recursive, never blocks */
            ck_assert(!o->lock_until(&w, l, p, 0));    /* deadline past: one try */
            ck_assert(!o->lock_for(&w, l, p, 0));
            ck_assert_uint_eq(o->raw(&w), pat | l); /* failed tries leave no parked bit */
            o->unlock(&w, l, p);
            ck_assert_uint_eq(o->raw(&w), pat);

            ck_assert(o->trylock(&w, l, p));
            ck_assert_uint_eq(o->raw(&w), pat | l);
            o->unlock_fair(&w, l, p); /* nobody waits: a plain release */
            ck_assert_uint_eq(o->raw(&w), pat);

            ck_assert(o->lock_until(&w, l, p, 0)); /* past deadline, free lock: taken */
            o->unlock(&w, l, p);
            ck_assert(o->lock_for(&w, l, p, 0));
            o->unlock(&w, l, p);
            ck_assert(o->lock_until(&w, l, p, PL_FOREVER));
            o->unlock(&w, l, p);
            ck_assert(o->lock_for(&w, l, p, UINT64_MAX)); /* saturates, no overflow */
            o->unlock(&w, l, p);
            ck_assert_uint_eq(o->raw(&w), pat);

            /* A parked bit left set with nobody parked: every acquire takes the free lock and
             * the (slow) unlock finds nobody and clears the bit. */
            for (int a = 0; a < 4; a++) {
                o->store(&w, pat | p);
                bool got = a == 0   ? (o->lock(&w, l, p), true)
                           : a == 1 ? o->trylock(&w, l, p)
                           : a == 2 ? o->lock_until(&w, l, p, 0)
                                    : o->lock_for(&w, l, p, 0);
                ck_assert(got);
                ck_assert_uint_eq(o->raw(&w), pat | p | l);
                if (a & 1)
                    o->unlock_fair(&w, l, p);
                else
                    o->unlock(&w, l, p);
                ck_assert_uint_eq(o->raw(&w), pat);
            }
        }
    }
}
END_TEST

START_TEST(update_semantics)
{
    const ops_t *o = all_ops[_i];
    for (int k = 0; k < 3; k++) {
        placement_t pl = placement(o, k);
        uint64_t l = bit(pl.lock), p = bit(pl.parked), ours = l | p;
        uint64_t others = width_mask(o) & ~ours;
        word_t w;
        memset(&w, 0, sizeof w);

        /* Unlocked: the lock's bits stay clear. */
        ck_assert_uint_eq(o->update(&w, l, p, 0, others), others);
        ck_assert_uint_eq(o->raw(&w), others);
        ck_assert_uint_eq(o->update(&w, l, p, others, 0), 0);
        ck_assert_uint_eq(o->raw(&w), 0);

        /* Locked, and with a (stale) parked bit: both survive every update. */
        o->store(&w, p);
        o->lock(&w, l, p);
        uint64_t lo = others & (0 - others);                       /* the caller's lowest bit */
        uint64_t hi = bit(63 - (unsigned)__builtin_clzll(others)); /* and highest */
        ck_assert_uint_eq(o->update(&w, l, p, 0, lo | hi), lo | hi);
        ck_assert_uint_eq(o->raw(&w), lo | hi | l | p);
        ck_assert_uint_eq(o->update(&w, l, p, lo, 0), hi);
        ck_assert_uint_eq(o->update(&w, l, p, 0, 0), hi);   /* no change: returns current bits */
        ck_assert_uint_eq(o->update(&w, l, p, hi, hi), hi); /* in both masks: ends up set */
        ck_assert_uint_eq(o->update(&w, l, p, others, lo), lo);
        ck_assert_uint_eq(o->load(&w, l, p), lo);
        ck_assert_uint_eq(o->raw(&w), lo | l | p);
        ck_assert(o->is_locked(&w, l, p));
        o->unlock(&w, l, p);
        ck_assert_uint_eq(o->raw(&w), lo);
    }
}
END_TEST

START_TEST(constant_masks)
{
    /* The intended use: masks are constants and the inline checks fold away. */
    struct node {
        uint8_t flags;
        uint32_t hdr;
        uint64_t big;
        uintptr_t tagged;
    } n;
    memset(&n, 0, sizeof n);
    n.flags = 0x3f;
    pl_bitlock8_lock(&n.flags, 0x40, 0x80);
    ck_assert_uint_eq(n.flags, 0x7f);
    ck_assert_uint_eq(pl_bitlock8_update(&n.flags, 0x40, 0x80, 0x0f, 0x00), 0x30);
    ck_assert(pl_bitlock8_is_locked(&n.flags, 0x40, 0x80));
    pl_bitlock8_unlock(&n.flags, 0x40, 0x80);
    ck_assert_uint_eq(n.flags, 0x30);

    ck_assert(pl_bitlock16_trylock((uint16_t *)&n.hdr, 0x8000, 0x4000));
    pl_bitlock16_unlock_fair((uint16_t *)&n.hdr, 0x8000, 0x4000);

    ck_assert(pl_bitlock32_lock_for(&n.hdr, 1u << 31, 1u << 30, 1000));
    ck_assert_uint_eq(pl_bitlock32_update(&n.hdr, 1u << 31, 1u << 30, 0, 7), 7);
    pl_bitlock32_unlock(&n.hdr, 1u << 31, 1u << 30);
    ck_assert_uint_eq(n.hdr, 7);

    ck_assert(pl_bitlock64_lock_until(&n.big, bit(63), bit(62), pl_now()));
    ck_assert_uint_eq(n.big, bit(63));
    pl_bitlock64_unlock(&n.big, bit(63), bit(62));

    pl_bitlockptr_lock(&n.tagged, 1, 2);
    ck_assert_uint_eq(pl_bitlockptr_load(&n.tagged, 1, 2), 0);
    pl_bitlockptr_unlock(&n.tagged, 1, 2);
    ck_assert_uint_eq(n.tagged, 0);
}
END_TEST

/* ---- Threads that wait ---- */

typedef enum { W_LOCK, W_UNTIL, W_FOR, W_TRY } wmode_t;

typedef struct waiter {
    const ops_t *o;
    word_t *w;
    uint64_t l, p;
    wmode_t mode;
    uint64_t deadline; /* W_UNTIL */
    uint64_t timeout;  /* W_FOR */
    bool result;
    uint64_t started_at, returned_at;
    atomic_bool got;     /* holds the lock now */
    atomic_bool release; /* set by the test: unlock and exit */
    atomic_bool done;
    pthread_t thread;
} waiter_t;

static void *waiter_main(void *arg)
{
    waiter_t *x = arg;
    x->started_at = pl_now();
    switch (x->mode) {
    case W_LOCK:
        x->o->lock(x->w, x->l, x->p);
        x->result = true;
        break;
    case W_UNTIL: x->result = x->o->lock_until(x->w, x->l, x->p, x->deadline); break;
    case W_FOR: x->result = x->o->lock_for(x->w, x->l, x->p, x->timeout); break;
    default: x->result = x->o->trylock(x->w, x->l, x->p); break;
    }
    x->returned_at = pl_now();
    if (x->result) {
        atomic_store(&x->got, true);
        unsigned polls = 0;
        while (!atomic_load(&x->release))
            tu_backoff(&polls);
        x->o->unlock(x->w, x->l, x->p);
    }
    atomic_store(&x->done, true);
    return NULL;
}

/* `arg` is the deadline of W_UNTIL or the timeout of W_FOR. */
static void waiter_start(waiter_t *x, const ops_t *o, word_t *w, uint64_t l, uint64_t p,
                         wmode_t mode, uint64_t arg)
{
    memset(x, 0, sizeof *x);
    x->o = o;
    x->w = w;
    x->l = l;
    x->p = p;
    x->mode = mode;
    x->deadline = arg;
    x->timeout = arg;
    atomic_init(&x->got, false);
    atomic_init(&x->release, false);
    atomic_init(&x->done, false);
    tu_spawn(&x->thread, waiter_main, x);
}

/* Lets a waiter that holds the lock unlock it, and joins it. */
static void waiter_finish(waiter_t *x)
{
    atomic_store(&x->release, true);
    tu_join(x->thread);
    ck_assert(atomic_load(&x->done));
}

START_TEST(other_thread_trylock_fails_while_held)
{
    const ops_t *o = all_ops[_i];
    placement_t pl = placement(o, 1);
    uint64_t l = bit(pl.lock), p = bit(pl.parked);
    word_t w;
    memset(&w, 0, sizeof w);
    o->lock(&w, l, p);
    waiter_t x;
    waiter_start(&x, o, &w, l, p, W_TRY, 0);
    tu_wait_flag(&x.done, "trylock");
    tu_join(x.thread);
    ck_assert(!x.result);
    o->unlock(&w, l, p);
    waiter_start(&x, o, &w, l, p, W_TRY, 0);
    tu_wait_flag(&x.got, "trylock of a free lock");
    ck_assert(x.result);
    ck_assert(o->is_locked(&w, l, p));
    waiter_finish(&x);
    ck_assert_uint_eq(o->raw(&w), 0);
}
END_TEST

enum { TIMEOUT_NS = 30 * TU_MS };

START_TEST(timed_lock_times_out_never_early)
{
    const ops_t *o = all_ops[_i];
    placement_t pl = placement(o, 2);
    uint64_t l = bit(pl.lock), p = bit(pl.parked);
    uint64_t pat = width_mask(o) & ~(l | p);
    word_t w;
    memset(&w, 0, sizeof w);
    o->store(&w, pat);
    o->lock(&w, l, p);
    for (int mode = 0; mode < 2; mode++) {
        waiter_t x;
        uint64_t deadline = pl_now() + TIMEOUT_NS;
        waiter_start(&x, o, &w, l, p, mode == 0 ? W_UNTIL : W_FOR,
                     mode == 0 ? deadline : TIMEOUT_NS);
        tu_join(x.thread);
        ck_assert(!x.result);
        if (mode == 0)
            ck_assert_uint_ge(x.returned_at, deadline);
        else
            ck_assert_uint_ge(x.returned_at - x.started_at, TIMEOUT_NS);
        /* The timed-out waiter was the last one: it cleared the parked bit on its way out. */
        ck_assert_uint_eq(o->raw(&w), pat | l);
        ck_assert_uint_eq(tu_queued(&w, NULL, 0), 0);
    }
    o->unlock(&w, l, p);
    ck_assert_uint_eq(o->raw(&w), pat);
}
END_TEST

START_TEST(timed_lock_succeeds_when_released)
{
    const ops_t *o = all_ops[_i];
    placement_t pl = placement(o, 1);
    uint64_t l = bit(pl.lock), p = bit(pl.parked);
    word_t w;
    memset(&w, 0, sizeof w);
    for (int mode = 0; mode < 3; mode++) {
        o->lock(&w, l, p);
        waiter_t x;
        wmode_t m = mode == 0 ? W_LOCK : mode == 1 ? W_UNTIL : W_FOR;
        waiter_start(&x, o, &w, l, p, m, mode == 1 ? pl_now() + TU_WAIT_NS : TU_WAIT_NS);
        tu_wait_queued(&w, 1);
        uintptr_t token = 0;
        ck_assert_uint_eq(tu_queued(&w, &token, 1), 1);
        ck_assert_uint_eq(token, (uintptr_t)(l | p)); /* the park token: lock and parked bits */
        ck_assert_uint_eq(o->raw(&w), l | p);
        if (mode == 2)
            o->unlock_fair(&w, l, p);
        else
            o->unlock(&w, l, p);
        tu_wait_flag(&x.got, "the waiter to take the lock");
        ck_assert(x.result);
        ck_assert(o->is_locked(&w, l, p));
        waiter_finish(&x);
        ck_assert_uint_eq(o->raw(&w), 0); /* nobody parked any more: bit cleared */
    }
}
END_TEST

/* While a waiter is parked (parked bit set), update changes only the caller's bits, and the
 * unlock still finds the waiter. */
START_TEST(update_with_waiter_parked)
{
    const ops_t *o = all_ops[_i];
    placement_t pl = placement(o, 2);
    uint64_t l = bit(pl.lock), p = bit(pl.parked);
    uint64_t others = width_mask(o) & ~(l | p);
    word_t w;
    memset(&w, 0, sizeof w);
    o->lock(&w, l, p);
    waiter_t x;
    waiter_start(&x, o, &w, l, p, W_LOCK, 0);
    tu_wait_queued(&w, 1);
    ck_assert_uint_eq(o->update(&w, l, p, 0, others), others);
    ck_assert_uint_eq(o->raw(&w), others | l | p);
    ck_assert_uint_eq(o->update(&w, l, p, others, bit(3) & others), bit(3) & others);
    ck_assert_uint_eq(o->raw(&w), (bit(3) & others) | l | p);
    o->unlock(&w, l, p);
    tu_wait_flag(&x.got, "the waiter to take the lock");
    /* Not yet released by the waiter: update works while another thread holds it. */
    ck_assert_uint_eq(o->update(&w, l, p, others, others & 6), others & 6);
    waiter_finish(&x);
    ck_assert_uint_eq(o->raw(&w), others & 6);
}
END_TEST

/* A deadline already past tries once and returns (issue 10): on a held lock it fails without
 * marking the lock parked or queueing, and on a free lock it takes it. */
START_TEST(past_deadline_tries_once)
{
    const ops_t *o = all_ops[_i];
    placement_t pl = placement(o, 1);
    uint64_t l = bit(pl.lock), p = bit(pl.parked);
    word_t w;
    memset(&w, 0, sizeof w);
    ck_assert(o->lock_until(&w, l, p, 0));
    for (int i = 0; i < 100; i++) {
        ck_assert(!o->lock_until(&w, l, p, 0));
        ck_assert(!o->lock_until(&w, l, p, pl_now()));
        ck_assert(!o->lock_for(&w, l, p, 0));
        ck_assert_uint_eq(o->raw(&w), l);
    }
    o->unlock(&w, l, p);
    ck_assert(o->lock_for(&w, l, p, 0));
    o->unlock(&w, l, p);
    ck_assert_uint_eq(o->raw(&w), 0);
}
END_TEST

/* ---- Several locks in one word ---- */

/* Two locks of one word sharing one parked bit (A = lock la, B = lock lb, both parked p): when
 * A's last waiter is woken, B's waiter still sleeps on the same bit, so A's unlock must leave it
 * set; clearing it would let B's holder unlock on its fast path and B's waiter sleep forever
 * (issue 10). */
static void run_shared_parked_bit(const ops_t *o, uint64_t la, uint64_t lb, uint64_t p)
{
    word_t w;
    memset(&w, 0, sizeof w);
    o->lock(&w, la, p);
    o->lock(&w, lb, p);
    waiter_t a, b;
    waiter_start(&b, o, &w, lb, p, W_LOCK, 0);
    tu_wait_queued(&w, 1);
    waiter_start(&a, o, &w, la, p, W_LOCK, 0);
    tu_wait_queued(&w, 2);
    o->unlock(&w, la, p);
    tu_wait_flag(&a.got, "A's waiter to take A");
    ck_assert_uint_eq(tu_queued(&w, NULL, 0), 1); /* B's waiter, still asleep */
    ck_assert_msg(o->raw(&w) & p, "A's unlock cleared the parked bit B's waiter relies on");
    waiter_finish(&a);
    o->unlock(&w, lb, p);
    tu_wait_flag(&b.got, "B's waiter to take B");
    waiter_finish(&b);
    ck_assert_uint_eq(o->raw(&w), 0);
    ck_assert_uint_eq(tu_queued(&w, NULL, 0), 0);
}

START_TEST(shared_parked_bit_keeps_waiters)
{
    run_shared_parked_bit(&ops_8, 1, 2, 4);
    run_shared_parked_bit(&ops_8, 0x80, 0x01, 0x40);
    run_shared_parked_bit(&ops_64, bit(63), bit(0), bit(62));
    run_shared_parked_bit(&ops_32, bit(31), bit(1), bit(30));
    run_shared_parked_bit(&ops_16, bit(15), bit(2), bit(0));
    run_shared_parked_bit(&ops_ptr, bit(8 * sizeof(uintptr_t) - 1), bit(0), bit(1));
}
END_TEST

/* Queue [B, A, B] on one word; unlocking A must wake A's waiter (skipping the older B waiter),
 * and a fair unlock of B must hand B to the oldest B waiter, leaving the other queued. */
static void run_wake_targets(const ops_t *o, uint64_t la, uint64_t pa, uint64_t lb, uint64_t pb)
{
    word_t w;
    memset(&w, 0, sizeof w);
    o->lock(&w, la, pa);
    o->lock(&w, lb, pb);
    waiter_t b1, a, b2;
    waiter_start(&b1, o, &w, lb, pb, W_LOCK, 0);
    tu_wait_queued(&w, 1);
    waiter_start(&a, o, &w, la, pa, W_LOCK, 0);
    tu_wait_queued(&w, 2);
    waiter_start(&b2, o, &w, lb, pb, W_LOCK, 0);
    tu_wait_queued(&w, 3);
    uintptr_t tokens[4] = {0};
    ck_assert_uint_eq(tu_queued(&w, tokens, 4), 3);
    ck_assert_uint_eq(tokens[0], (uintptr_t)(lb | pb));
    ck_assert_uint_eq(tokens[1], (uintptr_t)(la | pa));
    ck_assert_uint_eq(tokens[2], (uintptr_t)(lb | pb));
    ck_assert_uint_eq(o->raw(&w), la | pa | lb | pb);

    o->unlock(&w, la, pa);
    tu_wait_flag(&a.got, "A's waiter to take A");
    /* Both B waiters still queued, in order; A's parked bit cleared (its last waiter left), B's
     * not. */
    ck_assert_uint_eq(tu_queued(&w, tokens, 4), 2);
    ck_assert_uint_eq(tokens[0], (uintptr_t)(lb | pb));
    ck_assert_uint_eq(tokens[1], (uintptr_t)(lb | pb));
    ck_assert_uint_eq(o->raw(&w), la | lb | pb);
    ck_assert(!atomic_load(&b1.got) && !atomic_load(&b2.got));
    waiter_finish(&a);
    ck_assert_uint_eq(o->raw(&w), lb | pb);

    /* Fair: the lock bit never drops, so nobody (not even this thread) can take B between. */
    o->unlock_fair(&w, lb, pb);
    ck_assert(o->is_locked(&w, lb, pb));
    ck_assert(!o->trylock(&w, lb, pb));
    tu_wait_flag(&b1.got, "the oldest B waiter to be handed B");
    ck_assert(!atomic_load(&b2.got));
    ck_assert_uint_eq(tu_queued(&w, tokens, 4), 1);
    ck_assert_uint_eq(tokens[0], (uintptr_t)(lb | pb));
    waiter_finish(&b1); /* its unlock wakes b2 */
    tu_wait_flag(&b2.got, "the second B waiter");
    waiter_finish(&b2);
    ck_assert_uint_eq(o->raw(&w), 0);
    ck_assert_uint_eq(tu_queued(&w, NULL, 0), 0);
}

START_TEST(wake_targets_own_lock_byte)
{
    run_wake_targets(&ops_8, 1, 2, 4, 8);
    run_wake_targets(&ops_8, 0x80, 0x10, 0x20, 0x01);
}
END_TEST

START_TEST(wake_targets_own_lock_wide)
{
    run_wake_targets(&ops_64, bit(63), bit(0), bit(33), bit(32));
    run_wake_targets(&ops_32, bit(5), bit(31), bit(30), bit(6));
    run_wake_targets(&ops_16, bit(15), bit(14), bit(0), bit(1));
    run_wake_targets(&ops_ptr, bit(8 * sizeof(uintptr_t) - 1), bit(2), bit(1), bit(0));
}
END_TEST

/* A waiter of A times out while a waiter of B stays queued on the same word: A's parked bit
 * may stay set (the core only says whether the *address* has waiters left), which must cost at
 * most a spare slow unlock of A: that unlock must clear it and must not wake B's waiter. */
START_TEST(timeout_with_other_lock_waiting)
{
    const ops_t *o = &ops_8;
    uint64_t la = 1, pa = 2, lb = 4, pb = 8;
    word_t w;
    memset(&w, 0, sizeof w);
    o->lock(&w, la, pa);
    o->lock(&w, lb, pb);
    waiter_t b, a;
    waiter_start(&b, o, &w, lb, pb, W_LOCK, 0);
    tu_wait_queued(&w, 1);
    waiter_start(&a, o, &w, la, pa, W_FOR, TIMEOUT_NS);
    tu_join(a.thread);
    ck_assert(!a.result);
    ck_assert_uint_ge(a.returned_at - a.started_at, TIMEOUT_NS);
    uintptr_t token = 0;
    ck_assert_uint_eq(tu_queued(&w, &token, 1), 1);
    ck_assert_uint_eq(token, (uintptr_t)(lb | pb));
    o->unlock(&w, la, pa);
    ck_assert_uint_eq(o->raw(&w), lb | pb); /* A fully clear, B untouched */
    ck_assert_uint_eq(tu_queued(&w, NULL, 0), 1);
    ck_assert(!atomic_load(&b.got));
    o->unlock(&w, lb, pb);
    tu_wait_flag(&b.got, "B's waiter");
    waiter_finish(&b);
    ck_assert_uint_eq(o->raw(&w), 0);
}
END_TEST

/* ---- Exclusion under oversubscription ---- */

enum { SHARED_ITERS = 20000, EXCL_ITERS = 20000 };

/* Every acquire flavour, in turn; the timed ones retry until they succeed. */
static void mixed_lock(const ops_t *o, word_t *w, uint64_t l, uint64_t p, unsigned i)
{
    switch (i % 4) {
    case 0: o->lock(w, l, p); break;
    case 1:
        while (!o->trylock(w, l, p))
            sched_yield();
        break;
    case 2:
        while (!o->lock_for(w, l, p, 100000)) {
        }
        break;
    default:
        while (!o->lock_until(w, l, p, pl_now() + 10000)) {
        }
        break;
    }
}

static void mixed_unlock(const ops_t *o, word_t *w, uint64_t l, uint64_t p, unsigned i)
{
    if (i % 3 == 0)
        o->unlock_fair(w, l, p);
    else
        o->unlock(w, l, p);
}

/* Every stress thread waits here until all have started, so that they really overlap instead
 * of each running its loop alone within its first time slice. */
static void start_gate(atomic_int *started, int total)
{
    atomic_fetch_add(started, 1);
    while (atomic_load(started) < total)
        sched_yield();
}

/* Inside a critical section: sometimes get preempted, and now and then stay long enough that
 * the other threads give up spinning and park (this exercises the parking paths; the checks do
 * not depend on it). */
static void hold_a_while(unsigned i)
{
    if ((i & 255) == 0)
        tu_sleep_ns(20000);
    else if ((i & 3) == 0)
        sched_yield();
}

enum { MAX_LOCKS = 4 };

typedef struct shared {
    const ops_t *o;
    word_t w;
    unsigned nlocks;
    uint64_t l[MAX_LOCKS], p[MAX_LOCKS];
    atomic_int inside[MAX_LOCKS];
    unsigned long counter[MAX_LOCKS]; /* plain, each guarded by its lock only */
    atomic_uint next_id;
    atomic_int started, total;
    atomic_size_t violations;
    atomic_size_t saw_parked; /* critical sections entered while the lock had waiters */
} shared_t;

static void *shared_thread(void *arg)
{
    shared_t *s = arg;
    unsigned id = atomic_fetch_add(&s->next_id, 1);
    start_gate(&s->started, atomic_load(&s->total));
    for (unsigned i = 0; i < SHARED_ITERS; i++) {
        unsigned k = (id + i) % s->nlocks; /* every thread contends on every lock */
        uint64_t l = s->l[k], p = s->p[k];
        mixed_lock(s->o, &s->w, l, p, i + id);
        if (atomic_fetch_add(&s->inside[k], 1) != 0 || !s->o->is_locked(&s->w, l, p))
            atomic_fetch_add(&s->violations, 1);
        unsigned long c = s->counter[k];
        hold_a_while(i);
        if (s->o->raw(&s->w) & p)
            atomic_fetch_add(&s->saw_parked, 1);
        s->counter[k] = c + 1;
        atomic_fetch_sub(&s->inside[k], 1);
        mixed_unlock(s->o, &s->w, l, p, i);
    }
    return NULL;
}

static void run_shared(const ops_t *o, unsigned nlocks, const unsigned (*bits)[2])
{
    long n = tu_ncpu() * 4;
    shared_t *s = calloc(1, sizeof *s);
    pthread_t *t = calloc((size_t)n, sizeof *t);
    ck_assert(s && t);
    s->o = o;
    s->nlocks = nlocks;
    for (unsigned k = 0; k < nlocks; k++) {
        s->l[k] = bit(bits[k][0]);
        s->p[k] = bit(bits[k][1]);
    }
    atomic_init(&s->total, (int)n);
    for (long i = 0; i < n; i++)
        tu_spawn(&t[i], shared_thread, s);
    for (long i = 0; i < n; i++)
        tu_join(t[i]);
    ck_assert_uint_eq(atomic_load(&s->violations), 0);
    unsigned long total = 0;
    for (unsigned k = 0; k < nlocks; k++)
        total += s->counter[k];
    ck_assert_uint_eq(total, (unsigned long)n * SHARED_ITERS);
    for (unsigned k = 0; k < nlocks; k++) /* each thread takes every lock in turn */
        ck_assert_uint_eq(s->counter[k], (unsigned long)n * SHARED_ITERS / nlocks);
    ck_assert_uint_eq(o->raw(&s->w), 0); /* every lock and parked bit clear */
    ck_assert_msg(atomic_load(&s->saw_parked) > 0, "the parking paths never ran");
    free(s);
    free(t);
}

START_TEST(four_locks_in_one_byte)
{
    static const unsigned bits[4][2] = {{0, 1}, {2, 3}, {4, 5}, {6, 7}};
    run_shared(&ops_8, 4, bits);
}
END_TEST

START_TEST(four_locks_in_one_u64)
{
    /* Unpaired positions, high bits (tokens above 32 bits), a lock bit below its parked bit. */
    static const unsigned bits[4][2] = {{0, 63}, {31, 32}, {40, 7}, {62, 20}};
    run_shared(&ops_64, 4, bits);
}
END_TEST

/* One lock per word, with the caller's bits in use: two "flipper" threads toggle a bit each
 * with update, without the lock, for as long as the lockers run; the lockers toggle a third bit
 * under the lock and check it against their counter; the remaining bits must never change. */
typedef struct excl {
    const ops_t *o;
    word_t w;
    uint64_t l, p;
    uint64_t flip[2]; /* owned by flipper 0 / 1 */
    uint64_t guarded; /* changed only under the lock */
    uint64_t fixed;   /* set at the start, never changed */
    atomic_int inside;
    unsigned long counter;
    atomic_int lockers_left;
    unsigned long flips[2];
    atomic_uint next_id, next_flipper;
    atomic_int started, total;
    atomic_size_t violations;
    atomic_size_t saw_parked;
} excl_t;

static void *excl_locker(void *arg)
{
    excl_t *e = arg;
    const ops_t *o = e->o;
    unsigned id = atomic_fetch_add(&e->next_id, 1);
    start_gate(&e->started, atomic_load(&e->total));
    for (unsigned i = 0; i < EXCL_ITERS; i++) {
        mixed_lock(o, &e->w, e->l, e->p, i + id);
        bool bad = atomic_fetch_add(&e->inside, 1) != 0 || !o->is_locked(&e->w, e->l, e->p);
        unsigned long c = e->counter;
        uint64_t v = o->load(&e->w, e->l, e->p);
        bad |= ((v & e->guarded) != 0) != (c & 1);
        bad |= (v & e->fixed) != e->fixed;
        v = (c & 1) ? o->update(&e->w, e->l, e->p, e->guarded, 0)
                    : o->update(&e->w, e->l, e->p, 0, e->guarded);
        bad |= ((v & e->guarded) != 0) == (c & 1);
        hold_a_while(i);
        if (o->raw(&e->w) & e->p)
            atomic_fetch_add(&e->saw_parked, 1);
        e->counter = c + 1;
        if (bad)
            atomic_fetch_add(&e->violations, 1);
        atomic_fetch_sub(&e->inside, 1);
        mixed_unlock(o, &e->w, e->l, e->p, i);
    }
    atomic_fetch_sub(&e->lockers_left, 1);
    return NULL;
}

static void *excl_flipper(void *arg)
{
    excl_t *e = arg;
    const ops_t *o = e->o;
    unsigned id = atomic_fetch_add(&e->next_flipper, 1);
    uint64_t mine = e->flip[id];
    unsigned long n = 0;
    start_gate(&e->started, atomic_load(&e->total));
    /* At least a few flips even if the lockers are done first. */
    while (atomic_load(&e->lockers_left) > 0 || n < 100) {
        bool was = (n & 1) != 0;
        uint64_t before = o->load(&e->w, e->l, e->p);
        uint64_t after =
            was ? o->update(&e->w, e->l, e->p, mine, 0) : o->update(&e->w, e->l, e->p, 0, mine);
        if (((before & mine) != 0) != was || ((after & mine) != 0) == was ||
            (after & e->fixed) != e->fixed)
            atomic_fetch_add(&e->violations, 1);
        if ((++n & 63) == 0)
            sched_yield();
    }
    e->flips[id] = n;
    return NULL;
}

START_TEST(exclusion_with_other_bits_in_use)
{
    const ops_t *o = all_ops[_i];
    long n = tu_ncpu() * 4;
    excl_t *e = calloc(1, sizeof *e);
    pthread_t *t = calloc((size_t)n + 2, sizeof *t);
    ck_assert(e && t);
    e->o = o;
    e->l = bit(o->bits - 1);
    e->p = bit(o->bits / 2);
    e->flip[0] = bit(1);
    e->flip[1] = bit(2);
    e->guarded = bit(3);
    e->fixed = bit(0) | bit(5);
    o->store(&e->w, e->fixed);
    atomic_init(&e->lockers_left, (int)n);
    atomic_init(&e->total, (int)n + 2);
    for (long i = 0; i < n; i++)
        tu_spawn(&t[i], excl_locker, e);
    tu_spawn(&t[n], excl_flipper, e);
    tu_spawn(&t[n + 1], excl_flipper, e);
    for (long i = 0; i < n + 2; i++)
        tu_join(t[i]);
    ck_assert_uint_eq(atomic_load(&e->violations), 0);
    ck_assert_uint_eq(e->counter, (unsigned long)n * EXCL_ITERS);
    uint64_t expect = e->fixed | ((e->counter & 1) ? e->guarded : 0) |
                      ((e->flips[0] & 1) ? e->flip[0] : 0) | ((e->flips[1] & 1) ? e->flip[1] : 0);
    ck_assert_uint_eq(o->raw(&e->w), expect); /* lock and parked bits clear, the rest exact */
    ck_assert_msg(atomic_load(&e->saw_parked) > 0, "the parking paths never ran");
    free(e);
    free(t);
}
END_TEST

/* ---- pl_ptrlock_t ---- */

typedef struct obj {
    _Alignas(8) unsigned long id;
} obj_t;
enum { N_OBJS = 16 };
static obj_t objs[N_OBJS];

static pl_ptrlock_t static_ptrlock; /* zero-initialised: an unlocked NULL */

START_TEST(ptrlock_layout_and_init)
{
    ck_assert_uint_eq(sizeof(pl_ptrlock_t), sizeof(void *));
    pl_ptrlock_t pl = PL_PTRLOCK_INIT;
    pl_ptrlock_t *pls[2] = {&pl, &static_ptrlock};
    for (int i = 0; i < 2; i++) {
        ck_assert_uint_eq(pls[i]->word, 0);
        ck_assert_ptr_null(pl_ptrlock_get(pls[i]));
        ck_assert(!pl_ptrlock_is_locked(pls[i]));
        pl_ptrlock_lock(pls[i]);
        ck_assert(pl_ptrlock_is_locked(pls[i]));
        ck_assert_ptr_null(pl_ptrlock_get(pls[i]));
        pl_ptrlock_unlock(pls[i]);
        ck_assert_uint_eq(pls[i]->word, 0);
    }
}
END_TEST

START_TEST(ptrlock_round_trips)
{
    pl_ptrlock_t pl = PL_PTRLOCK_INIT;
    /* Real objects, NULL, and the highest 4-aligned address: the lock's bits never leak. */
    void *ptrs[4] = {&objs[3], &objs[0].id, NULL, (void *)(UINTPTR_MAX & ~(uintptr_t)3)};
    for (int i = 0; i < 4; i++) {
        pl_ptrlock_lock(&pl);
        pl_ptrlock_set(&pl, ptrs[i]);
        ck_assert_ptr_eq(pl_ptrlock_get(&pl), ptrs[i]);
        ck_assert_uint_eq(pl.word, (uintptr_t)ptrs[i] | PL_PTRLOCK_LOCKED_BIT);
        pl_ptrlock_unlock(&pl);
        ck_assert_ptr_eq(pl_ptrlock_get(&pl), ptrs[i]);
        ck_assert_uint_eq(pl.word, (uintptr_t)ptrs[i]);
        ck_assert(!pl_ptrlock_is_locked(&pl));

        ck_assert(pl_ptrlock_trylock(&pl));
        ck_assert(!pl_ptrlock_trylock(&pl));
        ck_assert(!pl_ptrlock_lock_until(&pl, 0));
        ck_assert(!pl_ptrlock_lock_for(&pl, 0));
        ck_assert_ptr_eq(pl_ptrlock_get(&pl), ptrs[i]);
        pl_ptrlock_unlock_fair(&pl);
        ck_assert(pl_ptrlock_lock_until(&pl, 0));
        pl_ptrlock_unlock(&pl);
        ck_assert(pl_ptrlock_lock_for(&pl, 0));
        pl_ptrlock_unlock(&pl);
        ck_assert_uint_eq(pl.word, (uintptr_t)ptrs[i]);
    }
}
END_TEST

typedef struct ptr_waiter {
    pl_ptrlock_t *pl;
    int mode; /* 0 lock, 1 lock_until, 2 lock_for */
    uint64_t arg;
    bool result;
    void *seen; /* what get() returned once it held the lock */
    uint64_t started_at, returned_at;
    atomic_bool done;
} ptr_waiter_t;

static void *ptr_waiter_main(void *arg)
{
    ptr_waiter_t *x = arg;
    x->started_at = pl_now();
    x->result = x->mode == 0   ? (pl_ptrlock_lock(x->pl), true)
                : x->mode == 1 ? pl_ptrlock_lock_until(x->pl, x->arg)
                               : pl_ptrlock_lock_for(x->pl, x->arg);
    x->returned_at = pl_now();
    if (x->result) {
        x->seen = pl_ptrlock_get(x->pl);
        pl_ptrlock_set(x->pl, &objs[7]);
        pl_ptrlock_unlock(x->pl);
    }
    atomic_store(&x->done, true);
    return NULL;
}

START_TEST(ptrlock_set_while_waiter_parked)
{
    pl_ptrlock_t pl = PL_PTRLOCK_INIT;
    for (int mode = 0; mode < 3; mode++) {
        pl_ptrlock_lock(&pl);
        pl_ptrlock_set(&pl, &objs[1]);
        ptr_waiter_t x = {&pl, mode, mode == 1 ? pl_now() + TU_WAIT_NS : TU_WAIT_NS, false, NULL, 0,
                          0,   false};
        pthread_t t;
        tu_spawn(&t, ptr_waiter_main, &x);
        tu_wait_queued(&pl, 1);
        /* Parked bit set: get still returns the exact pointer, set keeps both bits. */
        ck_assert_uint_eq(pl.word & PL_PTRLOCK_BITS, PL_PTRLOCK_BITS);
        ck_assert_ptr_eq(pl_ptrlock_get(&pl), &objs[1]);
        pl_ptrlock_set(&pl, &objs[2]);
        ck_assert_uint_eq(pl.word, (uintptr_t)&objs[2] | PL_PTRLOCK_BITS);
        ck_assert_ptr_eq(pl_ptrlock_get(&pl), &objs[2]);
        pl_ptrlock_unlock(&pl);
        tu_join(t);
        ck_assert(x.result);
        ck_assert_ptr_eq(x.seen, &objs[2]);
        ck_assert_uint_eq(pl.word, (uintptr_t)&objs[7]);
    }
}
END_TEST

START_TEST(ptrlock_timed_never_early)
{
    pl_ptrlock_t pl = PL_PTRLOCK_INIT;
    pl_ptrlock_lock(&pl);
    pl_ptrlock_set(&pl, &objs[4]);
    for (int mode = 1; mode < 3; mode++) {
        uint64_t deadline = pl_now() + TIMEOUT_NS;
        ptr_waiter_t x = {&pl, mode, mode == 1 ? deadline : TIMEOUT_NS, false, NULL, 0, 0, false};
        pthread_t t;
        tu_spawn(&t, ptr_waiter_main, &x);
        tu_join(t);
        ck_assert(!x.result);
        if (mode == 1)
            ck_assert_uint_ge(x.returned_at, deadline);
        else
            ck_assert_uint_ge(x.returned_at - x.started_at, TIMEOUT_NS);
        ck_assert_uint_eq(pl.word, (uintptr_t)&objs[4] | PL_PTRLOCK_LOCKED_BIT);
    }
    pl_ptrlock_unlock(&pl);
}
END_TEST

/* Lockers move the pointer along objs[] under the lock, checking it is where they left it;
 * readers read it without the lock all the while and must only ever see one of objs[]. */
enum { PTR_ITERS = 20000 };

typedef struct ptr_stress {
    pl_ptrlock_t pl;
    unsigned long moves; /* guarded by pl */
    atomic_int lockers_left;
    atomic_int started, total;
    atomic_size_t violations;
    atomic_size_t reads;
    atomic_size_t saw_parked;
} ptr_stress_t;

static void *ptr_locker(void *arg)
{
    ptr_stress_t *s = arg;
    start_gate(&s->started, atomic_load(&s->total));
    for (unsigned i = 0; i < PTR_ITERS; i++) {
        switch (i % 4) {
        case 0: pl_ptrlock_lock(&s->pl); break;
        case 1:
            while (!pl_ptrlock_trylock(&s->pl))
                sched_yield();
            break;
        case 2:
            while (!pl_ptrlock_lock_for(&s->pl, 100000)) {
            }
            break;
        default:
            while (!pl_ptrlock_lock_until(&s->pl, pl_now() + 10000)) {
            }
            break;
        }
        obj_t *cur = pl_ptrlock_get(&s->pl);
        if (cur != &objs[s->moves % N_OBJS] || cur->id != s->moves % N_OBJS)
            atomic_fetch_add(&s->violations, 1);
        hold_a_while(i);
        if (__atomic_load_n(&s->pl.word, __ATOMIC_RELAXED) & PL_PTRLOCK_PARKED_BIT)
            atomic_fetch_add(&s->saw_parked, 1);
        s->moves++;
        pl_ptrlock_set(&s->pl, &objs[s->moves % N_OBJS]);
        if (i % 3 == 0)
            pl_ptrlock_unlock_fair(&s->pl);
        else
            pl_ptrlock_unlock(&s->pl);
    }
    atomic_fetch_sub(&s->lockers_left, 1);
    return NULL;
}

static void *ptr_reader(void *arg)
{
    ptr_stress_t *s = arg;
    size_t n = 0;
    start_gate(&s->started, atomic_load(&s->total));
    while (atomic_load(&s->lockers_left) > 0) {
        obj_t *cur = pl_ptrlock_get(&s->pl);
        uintptr_t off = (uintptr_t)cur - (uintptr_t)objs;
        if ((uintptr_t)cur < (uintptr_t)objs || off >= sizeof objs || off % sizeof(obj_t) != 0 ||
            cur->id != off / sizeof(obj_t))
            atomic_fetch_add(&s->violations, 1);
        if ((++n & 63) == 0)
            sched_yield();
    }
    atomic_fetch_add(&s->reads, n);
    return NULL;
}

START_TEST(ptrlock_exclusion_and_lockless_reads)
{
    long n = tu_ncpu() * 4;
    ptr_stress_t *s = calloc(1, sizeof *s);
    pthread_t *t = calloc((size_t)n + 2, sizeof *t);
    ck_assert(s && t);
    for (unsigned i = 0; i < N_OBJS; i++)
        objs[i].id = i;
    s->pl.word = (uintptr_t)&objs[0]; /* not yet shared: a plain store is fine */
    atomic_init(&s->lockers_left, (int)n);
    atomic_init(&s->total, (int)n + 2);
    for (long i = 0; i < n; i++)
        tu_spawn(&t[i], ptr_locker, s);
    tu_spawn(&t[n], ptr_reader, s);
    tu_spawn(&t[n + 1], ptr_reader, s);
    for (long i = 0; i < n + 2; i++)
        tu_join(t[i]);
    ck_assert_uint_eq(atomic_load(&s->violations), 0);
    ck_assert_uint_eq(s->moves, (unsigned long)n * PTR_ITERS);
    ck_assert_uint_eq(s->pl.word, (uintptr_t)&objs[s->moves % N_OBJS]);
    ck_assert_msg(atomic_load(&s->saw_parked) > 0, "the parking paths never ran");
    ck_assert_uint_gt(atomic_load(&s->reads), 0);
    free(s);
    free(t);
}
END_TEST

/* ---- Misuse: each of these must abort (SIGABRT, in Check's forked child) ---- */

START_TEST(abort_unlock_of_unlocked)
{
    const ops_t *o = all_ops[_i];
    word_t w;
    memset(&w, 0, sizeof w);
    o->store(&w, width_mask(o) & ~(uint64_t)3); /* the caller's bits set, lock bit clear */
    o->unlock(&w, 1, 2);
}
END_TEST

START_TEST(abort_unlock_fair_of_unlocked)
{
    const ops_t *o = all_ops[_i];
    word_t w;
    memset(&w, 0, sizeof w);
    o->store(&w, 2); /* only the parked bit: still not locked */
    o->unlock_fair(&w, 1, 2);
}
END_TEST

/* Bad (lock, parked) pairs, run-time values, each through a different operation. */
static const uint64_t bad_pairs[][2] = {{0, 2}, {3, 4}, {1, 0}, {1, 6}, {4, 4}};
enum { N_BAD = 5, N_BAD_OPS = 8 };

START_TEST(abort_bad_masks)
{
    const ops_t *o = all_ops[_i / (N_BAD * N_BAD_OPS)];
    int pair = (_i / N_BAD_OPS) % N_BAD, op = _i % N_BAD_OPS;
    uint64_t l = bad_pairs[pair][0], p = bad_pairs[pair][1];
    word_t w;
    memset(&w, 0, sizeof w);
    switch (op) {
    case 0: o->lock(&w, l, p); break;
    case 1: (void)o->trylock(&w, l, p); break;
    case 2: (void)o->lock_until(&w, l, p, 0); break;
    case 3: (void)o->lock_for(&w, l, p, 0); break;
    case 4: o->unlock(&w, l, p); break;
    case 5: (void)o->is_locked(&w, l, p); break;
    case 6: (void)o->load(&w, l, p); break;
    default: (void)o->update(&w, l, p, 0, 0); break;
    }
    /* Must not get here, and must not have touched the word. */
    fprintf(stderr, "op %d with masks %#llx/%#llx did not abort\n", op, (unsigned long long)l,
            (unsigned long long)p);
}
END_TEST

START_TEST(abort_bad_masks_constant)
{
    uint8_t b = 0;
    switch (_i) {
    case 0: pl_bitlock8_lock(&b, 3, 4); break;                /* two lock bits */
    case 1: pl_bitlock8_unlock(&b, 1, 1); break;              /* same bit */
    case 2: (void)pl_bitlock8_trylock(&b, 1, 0); break;       /* no parked bit */
    default: (void)pl_bitlock8_update(&b, 1, 2, 0, 1); break; /* sets the lock bit */
    }
}
END_TEST

START_TEST(abort_update_touching_lock_bits)
{
    const ops_t *o = all_ops[_i / 4];
    uint64_t l = bit(o->bits - 1), p = bit(1);
    word_t w;
    memset(&w, 0, sizeof w);
    switch (_i % 4) {
    case 0: (void)o->update(&w, l, p, l, 0); break;
    case 1: (void)o->update(&w, l, p, 0, l); break;
    case 2: (void)o->update(&w, l, p, p | 1, 0); break;
    default: (void)o->update(&w, l, p, 0, p | 4); break;
    }
}
END_TEST

START_TEST(abort_slow_path_checks)
{
    /* The exported slow paths re-check what inline callers cannot get wrong. */
    union {
        uint64_t u64;
        unsigned char b[16];
    } buf;
    memset(&buf, 0, sizeof buf);
    switch (_i) {
    case 0: (void)pl_bitlock_lock_slow(&buf, 3, 1, 2, 0, "test"); break;        /* size */
    case 1: (void)pl_bitlock_lock_slow(&buf.b[1], 4, 1, 2, 0, "test"); break;   /* alignment */
    case 2: (void)pl_bitlock_lock_slow(&buf, 1, 0x100, 2, 0, "test"); break;    /* beyond width */
    default: pl_bitlock_unlock_slow(&buf, 2, 1, bit(16), false, "test"); break; /* beyond width */
    }
}
END_TEST

START_TEST(abort_ptrlock)
{
    pl_ptrlock_t pl = PL_PTRLOCK_INIT;
    switch (_i) {
    case 0: pl_ptrlock_unlock(&pl); break;
    case 1: pl_ptrlock_unlock_fair(&pl); break;
    case 2: pl_ptrlock_set(&pl, &objs[0]); break; /* not locked */
    case 3:
        pl_ptrlock_lock(&pl);
        pl_ptrlock_set(&pl, (char *)&objs[0] + 1);
        break;
    default:
        pl_ptrlock_lock(&pl);
        pl_ptrlock_set(&pl, (char *)&objs[0] + 2);
        break;
    }
}
END_TEST

static void unlock_unlocked_32(void *w) { pl_bitlock32_unlock(w, 1u << 31, 1); }

static void update_touching(void *w) { (void)pl_bitlock16_update(w, 1, 2, 0, 3); }

static void set_unaligned(void *pl)
{
    pl_ptrlock_lock(pl);
    pl_ptrlock_set(pl, (char *)&objs[0] + 1);
}

static void set_unlocked(void *pl) { pl_ptrlock_set(pl, &objs[0]); }

static void lock_bad_masks(void *w)
{
    volatile uint64_t l = 6; /* not foldable: the run-time check */
    pl_bitlock64_lock(w, l, 1);
}

/* What only a direct caller of the exported slow paths can get wrong (abort_slow_path_checks). */
static union {
    uint64_t u64;
    unsigned char b[16];
} slow_buf;

static void slow_size(void *arg)
{
    (void)arg;
    (void)pl_bitlock_lock_slow(&slow_buf, 3, 1, 2, 0, "pl_x");
}
static void slow_align(void *arg)
{
    (void)arg;
    (void)pl_bitlock_lock_slow(&slow_buf.b[1], 4, 1, 2, 0, "pl_x");
}
static void slow_width(void *arg)
{
    (void)arg;
    (void)pl_bitlock_lock_slow(&slow_buf, 1, 0x100, 2, 0, "pl_x");
}

static uint16_t misuse_w16;
static uint32_t misuse_w32;
static uint64_t misuse_w64;
static pl_ptrlock_t misuse_pl; /* zero: PL_PTRLOCK_INIT */

static const tu_misuse_t misuses[] = {
    {"unlock_unlocked_32",
     unlock_unlocked_32,
     &misuse_w32,
     {&misuse_w32},
     {"libparking: pl_bitlock32_unlock", "(%p)", "not locked"}},
    {"update_touching",
     update_touching,
     &misuse_w16,
     {NULL},
     {"pl_bitlock16_update", "set_mask 0x3"}},
    {"set_unaligned", set_unaligned, &misuse_pl, {NULL}, {"pl_ptrlock_set", "not 4-aligned"}},
    {"lock_bad_masks",
     lock_bad_masks,
     &misuse_w64,
     {NULL},
     {"pl_bitlock64_lock", "lock_bit 0x6", "single bit"}},
    {"set_unlocked",
     set_unlocked,
     &misuse_pl,
     {&misuse_pl},
     {"libparking: pl_ptrlock_set", "(%p)", "not locked"}},
    {"slow_size",
     slow_size,
     NULL,
     {&slow_buf},
     {"libparking: pl_x(%p): word size must be 1, 2, 4 or 8 bytes"}},
    {"slow_align",
     slow_align,
     NULL,
     {&slow_buf.b[1]},
     {"libparking: pl_x(%p): the word is not naturally aligned"}},
    {"slow_width",
     slow_width,
     NULL,
     {&slow_buf},
     {"libparking: pl_x(%p): lock_bit 0x100 or parked_bit 0x2 lies outside the 1-byte word"}},
};

START_TEST(abort_messages) { tu_expect_misuse(&misuses[_i]); }
END_TEST

/* ---- The suite ---- */

static Suite *bitlock_suite(void)
{
    Suite *s = suite_create("bitlock");

    TCase *tc = tu_tcase(s, "single_thread", 30);
    tcase_add_loop_test(tc, basic_paths_keep_other_bits, 0, N_OPS);
    tcase_add_loop_test(tc, update_semantics, 0, N_OPS);
    tcase_add_test(tc, constant_masks);

    tc = tu_tcase(s, "waiting", 60);
    tcase_add_loop_test(tc, other_thread_trylock_fails_while_held, 0, N_OPS);
    tcase_add_loop_test(tc, timed_lock_times_out_never_early, 0, N_OPS);
    tcase_add_loop_test(tc, past_deadline_tries_once, 0, N_OPS);
    tcase_add_loop_test(tc, timed_lock_succeeds_when_released, 0, N_OPS);
    tcase_add_loop_test(tc, update_with_waiter_parked, 0, N_OPS);

    tc = tu_tcase(s, "shared_word", 120);
    tcase_add_test(tc, wake_targets_own_lock_byte);
    tcase_add_test(tc, wake_targets_own_lock_wide);
    tcase_add_test(tc, timeout_with_other_lock_waiting);
    tcase_add_test(tc, shared_parked_bit_keeps_waiters);
    tcase_add_test(tc, four_locks_in_one_byte);
    tcase_add_test(tc, four_locks_in_one_u64);

    tc = tu_tcase(s, "exclusion", 120);
    tcase_add_loop_test(tc, exclusion_with_other_bits_in_use, 0, N_OPS);

    tc = tu_tcase(s, "ptrlock", 120);
    tcase_add_test(tc, ptrlock_layout_and_init);
    tcase_add_test(tc, ptrlock_round_trips);
    tcase_add_test(tc, ptrlock_set_while_waiter_parked);
    tcase_add_test(tc, ptrlock_timed_never_early);
    tcase_add_test(tc, ptrlock_exclusion_and_lockless_reads);

    tc = tu_tcase(s, "misuse", 60);
    tcase_add_loop_test_raise_signal(tc, abort_unlock_of_unlocked, SIGABRT, 0, N_OPS);
    tcase_add_loop_test_raise_signal(tc, abort_unlock_fair_of_unlocked, SIGABRT, 0, N_OPS);
    tcase_add_loop_test_raise_signal(tc, abort_bad_masks, SIGABRT, 0, N_OPS * N_BAD * N_BAD_OPS);
    tcase_add_loop_test_raise_signal(tc, abort_bad_masks_constant, SIGABRT, 0, 4);
    tcase_add_loop_test_raise_signal(tc, abort_update_touching_lock_bits, SIGABRT, 0, N_OPS * 4);
    tcase_add_loop_test_raise_signal(tc, abort_slow_path_checks, SIGABRT, 0, 4);
    tcase_add_loop_test_raise_signal(tc, abort_ptrlock, SIGABRT, 0, 5);
    tcase_add_loop_test(tc, abort_messages, 0, TU_LEN(misuses));
    return s;
}

int main(void) { return tu_run_suite(bitlock_suite()); }
