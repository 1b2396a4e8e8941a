/* pl_rwlock_t slow paths (include/parking/rwlock.h).
 *
 * The algorithm follows Rust parking_lot's RawRwLock.  Two parking keys per lock:
 * - the lock's address, the main queue: threads that cannot yet add their share to the word
 *   (readers blocked by the writer bit, writers and upgradable lockers blocked by the writer or
 *   upgradable bit).  Each parks with a token equal to what it would add to the word
 *   (TOKEN_*), so an unlock can sum the tokens of the threads it chooses into the state it hands
 *   over, and stop at the first writer.
 * - the lock's address + 1: at most one thread, the writer-bit holder waiting for the readers
 *   inside to leave.  Only the last reader out wakes it, so readers never wake the main queue.
 *
 * PARKED (main queue) follows the rule of lock_algorithm.c: set by a thread about to park,
 * cleared only under the bucket lock of the main key (by an unlock or downgrade that saw no
 * waiter left, or by the last waiter timing out), and a waiter parks only if validate, under
 * that bucket lock, still sees PARKED and a bit that blocks it.  Every operation that clears the
 * writer or upgradable bit while PARKED is set scans the main queue afterwards, under that lock,
 * so a waiter either is found by the scan or validates after the bit is gone.
 *
 * WRITER_PARKED is only set by the writer-bit holder, so whenever the writer bit goes, it may go
 * with it.  The last reader out, seeing it, does not decrement on its fast path: it takes the
 * bucket lock of the second key and, in the unpark callback, leaves and clears WRITER_PARKED in
 * one compare-and-swap, then wakes the writer.  Its release is therefore its last access to the
 * word (the writer may own the lock, unlock and free it the moment the count reads zero), and a
 * writer validating under the same bucket lock sees both changes or neither.
 *
 * No release path writes the word after another thread can see it released (docs/design.md,
 * "The memory of a released lock"): unlocks release by one CAS from a state with nobody queued,
 * or inside an unpark callback; downgrades and a timed-out writer's give-up keep a hold or are
 * still inside a call on the lock while they wake.
 */
#include <parking/rwlock.h>

#include "contention.h"
#include "lock_algorithm.h"
#include <parking/cas.h>
#include <parking/lot.h>
#include "chaos.h"
#include "probes.h"

#define PARKED PL_RWLOCK_PARKED_BIT
#define WRITER_PARKED PL_RWLOCK_WRITER_PARKED_BIT
#define UPGRADABLE PL_RWLOCK_UPGRADABLE_BIT
#define WRITER PL_RWLOCK_WRITER_BIT
#define ONE_READER PL_RWLOCK_ONE_READER
#define READERS PL_RWLOCK_READERS_MASK
#define ONE_UPGRADABLE (ONE_READER | UPGRADABLE)

/* Park tokens on the main key: what the waiter adds to the word once it gets the lock. */
#define TOKEN_SHARED ONE_READER
#define TOKEN_UPGRADABLE ONE_UPGRADABLE
#define TOKEN_EXCLUSIVE WRITER

static uintptr_t load(const pl_rwlock_t *l, int order) { return __atomic_load_n(&l->state, order); }

/* Weak CAS; on failure *expected is refreshed with a relaxed load. */
static bool cas(pl_rwlock_t *l, uintptr_t *expected, uintptr_t desired, int order)
{
    return PL__CAS(&l->state, expected, desired, true, order, __ATOMIC_RELAXED);
}

static const void *writer_key(const pl_rwlock_t *l) { return (const char *)l + 1; }

/* ---- Waking the main queue ---- */

typedef struct wake {
    pl_rwlock_t *l;
    uintptr_t initial; /* what the lock keeps held for the caller after its release */
    uintptr_t state;   /* initial plus the tokens of the threads chosen so far */
    uintptr_t release; /* unlocks: what the caller subtracts from the word */
    uintptr_t clear;   /* unlocks: stale bits of the caller's to clear with it */
    bool fair;
    bool handed; /* unlocks: the lock was handed to the woken threads */
} wake_t;

/* All readers, plus one writer or upgradable waiter: a chosen writer ends the scan (it
 * excludes everyone after it), a chosen upgradable waiter only excludes other writers and
 * upgradable waiters, so the readers queued behind them are still taken. */
static pl_filter_op_t choose_waiters(void *ctx, uintptr_t token)
{
    wake_t *w = ctx;
    if (w->state & WRITER)
        return PL_FILTER_STOP;
    if ((token & (WRITER | UPGRADABLE)) && (w->state & UPGRADABLE))
        return PL_FILTER_SKIP;
    if (token > UINTPTR_MAX - w->state)
        return PL_FILTER_STOP; /* reader count would overflow: leave the rest queued */
    w->state += token;
    return PL_FILTER_UNPARK;
}

/* Downgrades and give-ups: the caller keeps its (smaller) hold; the woken compete again. */
static uintptr_t after_wake(void *ctx, pl_unpark_result_t result)
{
    wake_t *w = ctx;
    if (!result.have_more)
        (void)__atomic_fetch_and(&w->l->state, ~PARKED, __ATOMIC_RELAXED);
    return PL_TOKEN_NORMAL;
}

/* Unlocks: release the caller's hold and, when handing off, install the chosen threads' hold
 * in the same atomic step, so no barger can slip in between. */
static uintptr_t after_unlock_wake(void *ctx, pl_unpark_result_t result)
{
    wake_t *w = ctx;
    uintptr_t grant = w->state - w->initial;
    PL_CHAOS_POINT(); /* under the bucket lock, before the release: lockers pile up */
    bool handoff = result.unparked > 0 && (w->fair || result.be_fair);
    uintptr_t s = load(w->l, __ATOMIC_RELAXED);
    for (;;) {
        uintptr_t n = (s - w->release) & ~(PARKED | w->clear);
        uintptr_t handed;
        bool give = handoff && !__builtin_add_overflow(n, grant, &handed);
        if (give)
            n = handed;
        if (result.have_more)
            n |= PARKED;
        /* Release for the barging case; on hand-off the wake itself orders our writes before
         * the woken threads' return. */
        if (cas(w->l, &s, n, __ATOMIC_RELEASE)) {
            w->handed = give;
            return give ? PL_TOKEN_HANDOFF : PL_TOKEN_NORMAL;
        }
    }
}

static void wake_waiters(pl_rwlock_t *l, uintptr_t initial)
{
    wake_t w = {l, initial, initial, 0, 0, false, false};
    (void)pl_unpark_filter(l, choose_waiters, after_wake, &w);
}

/* ---- Acquiring: the main queue ---- */

typedef enum rw_mode { MODE_SHARED, MODE_RECURSIVE, MODE_UPGRADABLE, MODE_EXCLUSIVE } rw_mode_t;

typedef struct waiter {
    pl_rwlock_t *l;
    rw_mode_t mode;
    const char *fn; /* the public function, for misuse messages */
} waiter_t;

static bool must_wait(rw_mode_t mode, uintptr_t s)
{
    switch (mode) {
    case MODE_SHARED: return (s & WRITER) != 0;
    /* With readers inside, the writer bit can only be a writer still waiting for them, and the
     * caller may be one of them: entering is the only way not to deadlock. */
    case MODE_RECURSIVE: return (s & WRITER) && !(s & READERS);
    default: return (s & (WRITER | UPGRADABLE)) != 0;
    }
}

static uintptr_t mode_token(rw_mode_t mode)
{
    switch (mode) {
    case MODE_SHARED:
    case MODE_RECURSIVE: return TOKEN_SHARED;
    case MODE_UPGRADABLE: return TOKEN_UPGRADABLE;
    default: return TOKEN_EXCLUSIVE;
    }
}

/* Takes the mode's share if nothing blocks it; *s is the caller's view, refreshed. */
static bool try_acquire(const waiter_t *w, uintptr_t *s)
{
    uintptr_t add = mode_token(w->mode);
    while (!must_wait(w->mode, *s)) {
        if (w->mode != MODE_EXCLUSIVE && *s >= READERS)
            pl_misuse(w->fn, w->l, "reader count overflow");
        if (cas(w->l, s, *s + add, __ATOMIC_ACQUIRE))
            return true;
    }
    return false;
}

static bool validate_blocked(void *ctx)
{
    const waiter_t *w = ctx;
    uintptr_t s = load(w->l, __ATOMIC_RELAXED);
    return (s & PARKED) && must_wait(w->mode, s);
}

static void timed_out_clear(void *ctx, const void *key, bool was_last_thread)
{
    (void)key;
    const waiter_t *w = ctx;
    if (was_last_thread)
        (void)__atomic_fetch_and(&w->l->state, ~PARKED, __ATOMIC_RELAXED);
}

/* Takes the mode's share, spinning then parking on the main key; false once the deadline
 * passed.  For MODE_EXCLUSIVE "taken" means the writer bit only: readers may still be in. */
static bool lock_common(const waiter_t *w, uint64_t deadline, uint32_t *parks)
{
    pl_spin_t spin = PL_SPIN_INIT;
    uintptr_t s = load(w->l, __ATOMIC_RELAXED);
    for (;;) {
        if (try_acquire(w, &s))
            return true;
        /* Spin only while nobody waits: with a queue (or a writer waiting for readers) the
         * lock will not be ours soon, and spinning would steal a core from its holders. */
        if (!(s & (PARKED | WRITER_PARKED)) && pl_spin(&spin)) {
            s = load(w->l, __ATOMIC_RELAXED);
            continue;
        }
        if (deadline != PL_FOREVER && pl_now() >= deadline)
            return false;
        PL_CHAOS_POINT(); /* the blocker may leave before we mark the lock parked */
        if (!(s & PARKED)) {
            if (!cas(w->l, &s, s | PARKED, __ATOMIC_RELAXED))
                continue;
        }
        PL_CHAOS_POINT(); /* marked parked, not yet validated */
        pl_park_result_t r = pl_park(w->l, validate_blocked, NULL, timed_out_clear, (void *)w,
                                     mode_token(w->mode), deadline);
        *parks += r.status != PL_PARK_INVALID;
        PL_CHAOS_POINT(); /* woken: bargers may get in first */
        if (r.status == PL_PARK_UNPARKED && r.token == PL_TOKEN_HANDOFF)
            return true; /* the unlocker added our share to the word for us */
        if (r.status == PL_PARK_TIMED_OUT)
            return false;
        pl_spin_reset(&spin);
        s = load(w->l, __ATOMIC_RELAXED);
    }
}

/* ---- Acquiring: the writer's wait for readers (second key) ---- */

static bool validate_readers(void *ctx)
{
    uintptr_t s = load(ctx, __ATOMIC_RELAXED);
    return (s & READERS) && (s & WRITER_PARKED);
}

/* The deadline passed while the caller held the writer bit waiting for readers: put back
 * `prev` (what the caller held before: nothing, or the upgradable lock) in place of the writer
 * bit, and wake the threads the writer bit held back.  True if the readers left meanwhile:
 * then the write lock is ours after all. */
static bool give_up_writer(pl_rwlock_t *l, uintptr_t prev, const char *fn)
{
    uintptr_t s = load(l, __ATOMIC_ACQUIRE);
    for (;;) {
        if (!(s & READERS))
            return true; /* the acquire load saw the last reader's release */
        uintptr_t n;
        if (__builtin_add_overflow(s & ~(WRITER | WRITER_PARKED), prev, &n))
            pl_misuse(fn, l, "reader count overflow");
        /* Clearing WRITER_PARKED here is a read-modify-write of the current word, so a last
         * reader's clear of the same bit, before or after, cannot make it wrong. */
        if (PL__CAS(&l->state, &s, n, true, __ATOMIC_ACQUIRE, __ATOMIC_ACQUIRE))
            break;
    }
    PL_CHAOS_POINT(); /* writer bit given up, held-back threads not yet woken */
    if (s & PARKED)
        wake_waiters(l, prev);
    return false;
}

/* The caller holds the writer bit; wait until no reader is inside. */
static bool wait_for_readers(pl_rwlock_t *l, uint64_t deadline, uintptr_t prev, const char *fn,
                             uint32_t *parks)
{
    pl_spin_t spin = PL_SPIN_INIT;
    /* Acquire loads: once the count reads zero, every reader's critical section (ended by its
     * release decrement) happens before ours. */
    uintptr_t s = load(l, __ATOMIC_ACQUIRE);
    while (s & READERS) {
        if (pl_spin(&spin)) {
            s = load(l, __ATOMIC_ACQUIRE);
            continue;
        }
        if (deadline != PL_FOREVER && pl_now() >= deadline)
            return give_up_writer(l, prev, fn);
        PL_CHAOS_POINT(); /* the last reader may leave before we mark WRITER_PARKED */
        if (!(s & WRITER_PARKED)) {
            if (!cas(l, &s, s | WRITER_PARKED, __ATOMIC_RELAXED)) {
                s = load(l, __ATOMIC_ACQUIRE);
                continue;
            }
        }
        pl_park_result_t r =
            pl_park(writer_key(l), validate_readers, NULL, NULL, l, TOKEN_EXCLUSIVE, deadline);
        *parks += r.status != PL_PARK_INVALID;
        PL_CHAOS_POINT();
        if (r.status == PL_PARK_TIMED_OUT)
            return give_up_writer(l, prev, fn);
        s = load(l, __ATOMIC_ACQUIRE);
    }
    return true;
}

/* ---- Public slow paths: acquiring ---- */

static bool expired(uint64_t deadline)
{
    return deadline != PL_FOREVER && (deadline == 0 || pl_now() >= deadline);
}

/* A deadline already past tries once: what the caller's mode needs must be free now.  A writer
 * takes the writer bit only together with "no readers", never to wait for them. */
static bool try_once(const waiter_t *w)
{
    uintptr_t s = load(w->l, __ATOMIC_RELAXED);
    if (w->mode != MODE_EXCLUSIVE)
        return try_acquire(w, &s);
    while (!(s & (WRITER | UPGRADABLE | READERS))) {
        if (cas(w->l, &s, s | WRITER, __ATOMIC_ACQUIRE))
            return true;
    }
    return false;
}

static bool lock_mode(pl_rwlock_t *l, rw_mode_t mode, uint64_t deadline, const char *fn,
                      uint32_t *parks)
{
    waiter_t w = {l, mode, fn};
    if (expired(deadline))
        return try_once(&w);
    if (!lock_common(&w, deadline, parks))
        return false;
    return mode != MODE_EXCLUSIVE || wait_for_readers(l, deadline, 0, fn, parks);
}

typedef struct watched {
    pl_rwlock_t *l;
    rw_mode_t mode;
    bool upgrade;
    uint64_t deadline;
    const char *fn;
} watched_t;

static bool upgrade(pl_rwlock_t *l, uint64_t deadline, const char *fn, uint32_t *parks);

static bool run_watched(void *ctx, uint32_t *parks)
{
    const watched_t *w = ctx;
    return w->upgrade ? upgrade(w->l, w->deadline, w->fn, parks)
                      : lock_mode(w->l, w->mode, w->deadline, w->fn, parks);
}

static pl_contention_mode_t contention_mode(rw_mode_t mode)
{
    switch (mode) {
    case MODE_SHARED:
    case MODE_RECURSIVE: return PL_MODE_SHARED;
    case MODE_UPGRADABLE: return PL_MODE_UPGRADABLE;
    default: return PL_MODE_EXCLUSIVE;
    }
}

_Static_assert(MODE_SHARED == PL_RWLOCK__SHARED && MODE_RECURSIVE == PL_RWLOCK__RECURSIVE &&
                   MODE_UPGRADABLE == PL_RWLOCK__UPGRADABLE &&
                   MODE_EXCLUSIVE == PL_RWLOCK__EXCLUSIVE,
               "rwlock.h's hold flags are rw_mode_t");

static void check_mode(unsigned mode, const pl_rwlock_t *l, const char *fn)
{
    if (mode > MODE_EXCLUSIVE)
        pl_misuse(fn, l, "not a hold of the rwlock (a caller built against other headers?)");
}

bool pl_rwlock_lock_slow(pl_rwlock_t *l, unsigned mode, uint64_t deadline, const char *fn)
{
    check_mode(mode, l, fn);
    PL_PROBE3(slow_begin, l, PL_PRIM_RWLOCK, contention_mode((rw_mode_t)mode));
    if (PL_CONTENTION_WATCHED()) {
        watched_t w = {l, (rw_mode_t)mode, false, deadline, fn};
        return pl_contention_run(l, PL_PRIM_RWLOCK, contention_mode((rw_mode_t)mode),
                                 __builtin_return_address(0), run_watched, &w);
    }
    uint32_t parks = 0;
    return lock_mode(l, (rw_mode_t)mode, deadline, fn, &parks);
}

static void check_upgradable(uintptr_t s, pl_rwlock_t *l, const char *fn)
{
    if (!(s & UPGRADABLE) || !(s & READERS))
        pl_misuse(fn, l, "the lock has no upgradable holder");
}

static bool try_upgrade(pl_rwlock_t *l, const char *fn)
{
    uintptr_t s = load(l, __ATOMIC_RELAXED);
    for (;;) {
        check_upgradable(s, l, fn);
        if ((s & READERS) != ONE_READER)
            return false;
        if (cas(l, &s, s - ONE_UPGRADABLE + WRITER, __ATOMIC_ACQUIRE))
            return true;
    }
}

static bool upgrade(pl_rwlock_t *l, uint64_t deadline, const char *fn, uint32_t *parks)
{
    if (expired(deadline))
        return try_upgrade(l, fn);
    uintptr_t s = load(l, __ATOMIC_RELAXED);
    for (;;) {
        check_upgradable(s, l, fn);
        /* The upgradable bit kept every other writer out, so the writer bit is free to take;
         * from here new readers block while we wait for the present ones. */
        if (cas(l, &s, s - ONE_UPGRADABLE + WRITER, __ATOMIC_ACQUIRE))
            break;
    }
    PL_CHAOS_POINT(); /* writer bit taken, readers still inside */
    return wait_for_readers(l, deadline, ONE_UPGRADABLE, fn, parks);
}

bool pl_rwlock_upgrade_slow(pl_rwlock_t *l, uint64_t deadline, const char *fn)
{
    PL_PROBE3(slow_begin, l, PL_PRIM_RWLOCK, PL_MODE_UPGRADE);
    if (PL_CONTENTION_WATCHED()) {
        watched_t w = {l, MODE_EXCLUSIVE, true, deadline, fn};
        return pl_contention_run(l, PL_PRIM_RWLOCK, PL_MODE_UPGRADE, __builtin_return_address(0),
                                 run_watched, &w);
    }
    uint32_t parks = 0;
    return upgrade(l, deadline, fn, &parks);
}

/* ---- Public slow paths: releasing ---- */

typedef struct last_reader {
    pl_rwlock_t *l;
    const char *fn;
} last_reader_t;

/* Under the bucket lock of the second key: the last reader's release.  A recursive reader may
 * have come in since the fast path looked (it may enter while the writer waits), so this is a
 * plain decrement when others remain, and clears WRITER_PARKED only with the count at zero.  A
 * writer woken with readers left sees them and parks again. */
static uintptr_t last_reader_leaves(void *ctx, pl_unpark_result_t result)
{
    (void)result;
    const last_reader_t *r = ctx;
    uintptr_t s = load(r->l, __ATOMIC_RELAXED);
    for (;;) {
        if (!(s & READERS))
            pl_misuse(r->fn, r->l, "read-unlock of a lock that has no readers");
        uintptr_t n = s - ONE_READER;
        if (!(n & READERS))
            n &= ~WRITER_PARKED;
        if (cas(r->l, &s, n, __ATOMIC_RELEASE))
            return PL_TOKEN_NORMAL;
    }
}

static void rdunlock(pl_rwlock_t *l, const char *fn)
{
    uintptr_t s = load(l, __ATOMIC_RELAXED);
    for (;;) {
        if (!(s & READERS))
            pl_misuse(fn, l, "read-unlock of a lock that has no readers");
        if ((s & (READERS | WRITER_PARKED)) == (ONE_READER | WRITER_PARKED))
            break;
        /* Another reader came in, or the writer gave up, since the fast path looked. */
        if (cas(l, &s, s - ONE_READER, __ATOMIC_RELEASE))
            return;
    }
    /* We are the last reader and the writer-bit holder is parked waiting for us. */
    PL_CHAOS_POINT(); /* the writer may time out before we wake it */
    last_reader_t r = {l, fn};
    (void)pl_unpark_one(writer_key(l), last_reader_leaves, &r);
}

static bool is_write_locked(uintptr_t s) { return (s & (WRITER | UPGRADABLE | READERS)) == WRITER; }

static void wrunlock(pl_rwlock_t *l, bool fair, const char *fn)
{
    uintptr_t s = load(l, __ATOMIC_RELAXED);
    for (;;) {
        if (!is_write_locked(s))
            pl_misuse(fn, l, "write-unlock of a lock that is not write-locked");
        if (s & PARKED)
            break;
        /* Nobody queued: the fast path failed on a spurious CAS failure or on a stale
         * WRITER_PARKED of ours (set just before the readers drained). */
        if (cas(l, &s, s & ~(WRITER | WRITER_PARKED), __ATOMIC_RELEASE))
            return;
    }
    wake_t w = {l, 0, 0, WRITER, WRITER_PARKED, fair, false};
    PL_CHAOS_POINT();
    (void)pl_unpark_filter(l, choose_waiters, after_unlock_wake, &w);
    if (w.handed)
        PL_PROBE2(handoff, l, fair);
}

static void upunlock(pl_rwlock_t *l, bool fair, const char *fn)
{
    uintptr_t s = load(l, __ATOMIC_RELAXED);
    for (;;) {
        check_upgradable(s, l, fn);
        if (s & PARKED)
            break;
        if (cas(l, &s, s - ONE_UPGRADABLE, __ATOMIC_RELEASE))
            return;
    }
    wake_t w = {l, 0, 0, ONE_UPGRADABLE, 0, fair, false};
    PL_CHAOS_POINT();
    (void)pl_unpark_filter(l, choose_waiters, after_unlock_wake, &w);
    if (w.handed)
        PL_PROBE2(handoff, l, fair);
}

/* A reader's release hands nothing off (the writer it may wake owns the writer bit already),
 * so `fair` matters only to the write and upgradable releases. */
void pl_rwlock_unlock_slow(pl_rwlock_t *l, unsigned mode, bool fair, const char *fn)
{
    switch (mode) {
    case MODE_SHARED: rdunlock(l, fn); break;
    case MODE_UPGRADABLE: upunlock(l, fair, fn); break;
    case MODE_EXCLUSIVE: wrunlock(l, fair, fn); break;
    default: pl_misuse(fn, l, "not a hold that an unlock releases");
    }
}

/* Write lock -> `keep` (a read or upgradable hold), waking who can now get in. */
static void downgrade_writer(pl_rwlock_t *l, uintptr_t keep, const char *fn)
{
    uintptr_t s = load(l, __ATOMIC_RELAXED);
    for (;;) {
        if (!is_write_locked(s))
            pl_misuse(fn, l, "downgrade of a lock that is not write-locked");
        if (cas(l, &s, (s & ~(WRITER | WRITER_PARKED)) + keep, __ATOMIC_RELEASE))
            break;
    }
    /* Anyone who validated before the CAS is queued and found here; anyone after sees the
     * writer bit gone and does not sleep. */
    PL_CHAOS_POINT();
    if (s & PARKED)
        wake_waiters(l, keep);
}

static void downgrade_upgradable(pl_rwlock_t *l, const char *fn)
{
    uintptr_t s = load(l, __ATOMIC_RELAXED);
    for (;;) {
        check_upgradable(s, l, fn);
        if (cas(l, &s, s - UPGRADABLE, __ATOMIC_RELEASE))
            break;
    }
    PL_CHAOS_POINT();
    if (s & PARKED)
        wake_waiters(l, ONE_READER);
}

void pl_rwlock_downgrade_slow(pl_rwlock_t *l, unsigned from, unsigned to, const char *fn)
{
    if (from == MODE_EXCLUSIVE && to == MODE_SHARED)
        downgrade_writer(l, ONE_READER, fn);
    else if (from == MODE_EXCLUSIVE && to == MODE_UPGRADABLE)
        /* Keeping the upgradable bit makes the scan skip writers and upgradable waiters. */
        downgrade_writer(l, ONE_UPGRADABLE, fn);
    else if (from == MODE_UPGRADABLE && to == MODE_SHARED)
        downgrade_upgradable(l, fn);
    else
        pl_misuse(fn, l, "not a downgrade of the rwlock");
}
