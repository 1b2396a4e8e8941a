/* The two-bit lock algorithm (see lock_algorithm.h), written once for every word size.
 *
 * States of (locked, parked) for one lock:
 *   (0,0) free, nobody waits        (1,0) held, nobody parked
 *   (0,1) free, threads parked      (1,1) held, threads parked
 * "parked" is a hint that only errs towards "set": it is set by a thread about to park, and
 * cleared only under the bucket lock of the word's address, by an unlock that saw the last
 * waiter leave or by the last waiter timing out.  A waiter parks only if it still sees (1,1)
 * under that same bucket lock, so an unlock can never miss a thread that is going to sleep. */
#include "lock_algorithm.h"

#include <stdio.h>
#include <stdlib.h>

#include <parking/cas.h>
#include <parking/lot.h>
#include "chaos.h"
#include "invariant.h"
#include "probes.h"

_Noreturn void pl_misuse(const char *fn, const void *addr, const char *what)
{
    fprintf(stderr, "libparking: %s(%p): %s\n", fn, addr, what);
    abort();
}

static uint64_t load(const pl_lock_word_t *lw, int order)
{
    switch (lw->size) {
    case 1: return __atomic_load_n((uint8_t *)lw->word, order);
    case 2: return __atomic_load_n((uint16_t *)lw->word, order);
    case 4: return __atomic_load_n((uint32_t *)lw->word, order);
    default: return __atomic_load_n((uint64_t *)lw->word, order);
    }
}

/* Weak CAS; on failure *expected is refreshed. */
static bool cas(const pl_lock_word_t *lw, uint64_t *expected, uint64_t desired, int order)
{
    bool ok;
    switch (lw->size) {
    case 1: {
        uint8_t e = (uint8_t)*expected;
        ok = PL__CAS((uint8_t *)lw->word, &e, (uint8_t)desired, true, order, __ATOMIC_RELAXED);
        *expected = e;
        break;
    }
    case 2: {
        uint16_t e = (uint16_t)*expected;
        ok = PL__CAS((uint16_t *)lw->word, &e, (uint16_t)desired, true, order, __ATOMIC_RELAXED);
        *expected = e;
        break;
    }
    case 4: {
        uint32_t e = (uint32_t)*expected;
        ok = PL__CAS((uint32_t *)lw->word, &e, (uint32_t)desired, true, order, __ATOMIC_RELAXED);
        *expected = e;
        break;
    }
    default:
        ok = PL__CAS((uint64_t *)lw->word, expected, desired, true, order, __ATOMIC_RELAXED);
        break;
    }
    return ok;
}

/* Returns the word before the operation. */
static uint64_t fetch_and(const pl_lock_word_t *lw, uint64_t mask, int order)
{
    switch (lw->size) {
    case 1: return __atomic_fetch_and((uint8_t *)lw->word, (uint8_t)mask, order);
    case 2: return __atomic_fetch_and((uint16_t *)lw->word, (uint16_t)mask, order);
    case 4: return __atomic_fetch_and((uint32_t *)lw->word, (uint32_t)mask, order);
    default: return __atomic_fetch_and((uint64_t *)lw->word, mask, order);
    }
}

/* Under the bucket lock: park only while the lock is still held and marked parked. */
static bool validate_parked(void *ctx)
{
    const pl_lock_word_t *lw = ctx;
    uint64_t both = lw->locked | lw->parked;
    return (load(lw, __ATOMIC_RELAXED) & both) == both;
}

static void timed_out_clear(void *ctx, const void *key, bool was_last_thread)
{
    (void)key;
    const pl_lock_word_t *lw = ctx;
    /* Other locks sharing the word may still have waiters on this key; then was_last_thread is
     * false and the bit stays set: a spare slow unlock, never a lost wake-up. */
    if (was_last_thread)
        pl_lock_last_waiter_left(lw);
}

/* The park token of this lock's waiters: its lock bit and its parked bit, so that an unlock
 * wakes only waiters of its own lock when several locks share a word (and so a key), and knows
 * which of the others share its parked bit.  Where uintptr_t has 32 bits and a bit lies above
 * it, the token spells the two bit indexes out under a marker (bits 31, 30 and 0 set, so at
 * least three bits: never a two-bit token). */
#define WIDE_MARKER (((uintptr_t)3 << 30) | 1u)
static uintptr_t waiter_token(const pl_lock_word_t *lw)
{
    uint64_t both = lw->locked | lw->parked;
#if UINTPTR_MAX < UINT64_MAX
    if (both > UINTPTR_MAX)
        return WIDE_MARKER | (uintptr_t)__builtin_ctzll(lw->locked) << 8 |
               (uintptr_t)__builtin_ctzll(lw->parked) << 1;
#endif
    return (uintptr_t)both;
}

/* Whether a thread queued on the word with this token (not one of ours) may rely on our parked
 * bit.  Errs towards yes (a condition waiter's token has most bits set): a parked bit left set
 * costs a spare slow unlock, one cleared under a sleeper loses its wake-up. */
static bool shares_parked_bit(const pl_lock_word_t *lw, uintptr_t token)
{
#if UINTPTR_MAX < UINT64_MAX
    if ((token & WIDE_MARKER) == WIDE_MARKER)
        return ((token >> 1) & 63) == (uintptr_t)__builtin_ctzll(lw->parked);
#endif
    return (token & (uintptr_t)lw->parked) != 0;
}

/* The complement of the waiter token: it has all bits but two set (all but at most 15 for a
 * wide token), so it is never any lock's waiter token, and two locks' condition tokens differ
 * because their waiter tokens do.  The earlier t | t << 1 lost the
 * shifted bit for a lock on the top bit (1 << 63), where the condition token became the waiter
 * token itself and every ordinary waiter was taken for a condition waiter (issue 17). */
uintptr_t pl_cond_waiter_token(const pl_lock_word_t *lw) { return ~waiter_token(lw); }

/* A deadline that has already passed tries once and returns: no spin, and nothing (the parked
 * bit) is left set for a wait that is not going to happen. */
static bool try_once(const pl_lock_word_t *lw)
{
    uint64_t state = load(lw, __ATOMIC_RELAXED);
    while (!(state & lw->locked)) {
        if (cas(lw, &state, state | lw->locked, __ATOMIC_ACQUIRE))
            return true;
    }
    return false;
}

bool pl_lock_slow(const pl_lock_word_t *lw, uint64_t deadline, uint32_t *parks)
{
    if (deadline != PL_FOREVER && (deadline == 0 || pl_now() >= deadline))
        return try_once(lw);
    pl_spin_t spin = PL_SPIN_INIT;
    uint64_t state = load(lw, __ATOMIC_RELAXED);
    for (;;) {
        if (!(state & lw->locked)) {
            /* Free, even with threads parked: take it (barging keeps the lock busy while the
             * woken thread is still getting scheduled). */
            if (cas(lw, &state, state | lw->locked, __ATOMIC_ACQUIRE))
                return true;
            continue;
        }
        /* Spinning is only worth it while nobody is parked: with a queue, the lock goes to a
         * parked thread's turn soon and spinning would only steal the core from the holder. */
        if (!(state & lw->parked) && pl_spin(&spin)) {
            state = load(lw, __ATOMIC_RELAXED);
            continue;
        }
        if (deadline != PL_FOREVER && pl_now() >= deadline)
            return false;
        PL_CHAOS_POINT(); /* the holder may unlock before we mark the lock parked */
        if (!(state & lw->parked)) {
            if (!cas(lw, &state, state | lw->parked, __ATOMIC_RELAXED))
                continue;
        }
        PL_CHAOS_POINT(); /* marked parked, not yet validated: an unlock may find nobody */
        pl_park_result_t r = pl_park(lw->word, validate_parked, NULL, timed_out_clear, (void *)lw,
                                     waiter_token(lw), deadline);
        *parks += r.status != PL_PARK_INVALID;
        PL_CHAOS_POINT(); /* woken: a barger may take the lock first */
        if (r.status == PL_PARK_UNPARKED && r.token == PL_TOKEN_HANDOFF)
            return true; /* the unlocker kept the lock bit set for us */
        if (r.status == PL_PARK_TIMED_OUT)
            return false;
        pl_spin_reset(&spin);
        state = load(lw, __ATOMIC_RELAXED);
    }
}

/* When an unlock wakes a condition waiter moved onto the lock: before the lock bit drops (a
 * plain unlock, whose caller runs on) or after (the unlock inside a wait, whose caller sleeps);
 * cond.c says why. */
typedef enum cond_wake { COND_WAKE_BEFORE_RELEASE, COND_WAKE_AFTER_RELEASE } cond_wake_t;

typedef struct unlock_ctx {
    const pl_lock_word_t *lw;
    bool fair;
    cond_wake_t cond_wake;
    bool found;        /* a waiter of this lock was chosen */
    bool handoff;      /* ... and handed the lock */
    bool cond_waiter;  /* ... and it is a condition waiter moved onto the lock */
    bool more;         /* another waiter of this lock remains */
    bool shared;       /* a waiter of another lock of the word uses our parked bit */
    bool late_release; /* the lock bit is still set: release it after the wake */
} unlock_ctx_t;

static pl_filter_op_t pick_one_waiter(void *vctx, uintptr_t park_token)
{
    unlock_ctx_t *c = vctx;
    bool cond_waiter = park_token == pl_cond_waiter_token(c->lw);
    if (park_token != waiter_token(c->lw) && !cond_waiter) {
        if (shares_parked_bit(c->lw, park_token))
            c->shared = true;
        return PL_FILTER_SKIP;
    }
    if (!c->found) {
        c->found = true;
        c->cond_waiter = cond_waiter;
        return PL_FILTER_UNPARK;
    }
    c->more = true;
    return PL_FILTER_STOP;
}

/* Under the bucket lock, with the lock bit still ours: this is where an unlock with waiters
 * releases.  Whatever it writes to the word here is its last access to the word: once the lock
 * bit is clear, another thread may take the lock, unlock it on its fast path and free the
 * memory (the contract of docs/design.md, "The memory of a released lock").  The bucket lock
 * is what makes that safe for the parked bit too: a thread that wants to sleep on this word
 * re-validates under the same bucket lock, so it sees the word as we leave it. */
static uintptr_t unlock_decide(void *vctx, pl_unpark_result_t result)
{
    unlock_ctx_t *c = vctx;
    const pl_lock_word_t *lw = c->lw;
    /* The unlocker still holds the lock: nothing before this point released it. */
    PL_ASSERT(load(lw, __ATOMIC_RELAXED) & lw->locked);
    /* The parked bit may be shared by several locks of one word (the same key): clear it only
     * when no waiter of this lock and none of another lock using the same bit stays queued, or
     * that lock's holder would unlock on its fast path and leave its waiter asleep (issue 10).
     * Every waiter ahead of our second one was seen; past it, `more` keeps the bit anyway. */
    uint64_t clear_parked = c->more || c->shared ? 0 : lw->parked;
    PL_CHAOS_POINT(); /* under the bucket lock: lockers spin or queue behind it */
    uintptr_t token = PL_TOKEN_NORMAL;
    bool keep = false; /* the lock bit stays set when this returns */
    if (result.unparked > 0 && (c->fair || result.be_fair)) {
        /* Hand-off: the lock stays held and now belongs to the woken thread; the release
         * ordering it needs comes with the wake (parker release / acquire). */
        keep = true;
        c->handoff = true;
        token = PL_TOKEN_HANDOFF;
    } else if (result.unparked > 0 && c->cond_waiter && c->cond_wake == COND_WAKE_BEFORE_RELEASE &&
               !c->more) {
        /* Hold the lock bit across the wake and drop it after (late_release), so that the
         * condition waiter cannot take the lock before its signaller has left the wake: see
         * cond.c.  The woken waiter is still inside pl_cond_wait on this mutex, so the word
         * stays valid until it has relocked, which the late release lets it do. */
        keep = true;
        c->late_release = true;
        token = PL_TOKEN_SPIN;
    }
    if (keep) {
        if (clear_parked)
            (void)fetch_and(lw, ~clear_parked, __ATOMIC_RELAXED);
    } else {
        (void)fetch_and(lw, ~(lw->locked | clear_parked), __ATOMIC_RELEASE);
    }
    return token;
}

static void release(const pl_lock_word_t *lw, bool fair, cond_wake_t cond_wake, const char *fn);

static void unlock_and_wake(const pl_lock_word_t *lw, bool fair, cond_wake_t cond_wake,
                            const char *fn)
{
    unlock_ctx_t c = {.lw = lw, .fair = fair, .cond_wake = cond_wake};
    PL_CHAOS_POINT(); /* seen parked, not yet unparking: waiters may time out */
    (void)pl_unpark_filter(lw->word, pick_one_waiter, unlock_decide, &c);
    if (c.handoff)
        PL_PROBE2(handoff, lw->word, fair);
    /* The late release is an unlock like any other, from a lock bit we still hold: a plain
     * compare-and-swap if nobody parked meanwhile, else a release under the bucket lock that
     * wakes the next.  Never a release first and a look at the parked bit after: the word may
     * belong to another object by then. */
    if (c.late_release) {
        PL_CHAOS_POINT(); /* woken waiter spinning for the lock we still hold */
        release(lw, false, COND_WAKE_AFTER_RELEASE, fn);
    }
}

/* Releases the lock bit, from a state where it is ours: a plain CAS while nobody is parked
 * (the caller's fast path failed only because other bits of the word changed, or the CAS failed
 * spuriously), else under the bucket lock, waking the next waiter. */
static void release(const pl_lock_word_t *lw, bool fair, cond_wake_t cond_wake, const char *fn)
{
    uint64_t state = load(lw, __ATOMIC_RELAXED);
    for (;;) {
        if (!(state & lw->locked))
            pl_misuse(fn, lw->word, "unlock of a lock that is not locked");
        if (state & lw->parked)
            break;
        if (cas(lw, &state, state & ~lw->locked, __ATOMIC_RELEASE))
            return;
    }
    unlock_and_wake(lw, fair, cond_wake, fn);
}

void pl_unlock_slow(const pl_lock_word_t *lw, bool fair, const char *fn)
{
    release(lw, fair, COND_WAKE_BEFORE_RELEASE, fn);
}

void pl_unlock_before_wait(const pl_lock_word_t *lw, const char *fn)
{
    release(lw, false, COND_WAKE_AFTER_RELEASE, fn);
}

bool pl_lock_mark_parked_if_locked(const pl_lock_word_t *lw)
{
    uint64_t state = load(lw, __ATOMIC_RELAXED);
    for (;;) {
        if (!(state & lw->locked))
            return false;
        if (state & lw->parked)
            return true;
        if (cas(lw, &state, state | lw->parked, __ATOMIC_RELAXED))
            return true;
    }
}

void pl_lock_mark_parked(const pl_lock_word_t *lw)
{
    uint64_t state = load(lw, __ATOMIC_RELAXED);
    while (!(state & lw->parked) && !cas(lw, &state, state | lw->parked, __ATOMIC_RELAXED)) {
    }
}

void pl_lock_last_waiter_left(const pl_lock_word_t *lw)
{
    (void)fetch_and(lw, ~lw->parked, __ATOMIC_RELAXED);
}
