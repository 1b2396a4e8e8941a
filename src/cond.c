/* pl_cond_t slow paths: waiting, and signal / broadcast by requeue onto the mutex's queue.
 *
 * Invariant, under the bucket lock of the condition variable's address: c->mutex is non-NULL
 * exactly while threads are queued on that address.  A waiter's validate installs the mutex; the
 * calls that take the last waiter off the queue (signal with nothing left, broadcast, the last
 * waiter timing out) clear it.  Requeued waiters sit on the mutex's address and no longer count.
 * One exception: the child of a fork() inherits the word of a condition variable whose waiters
 * were the parent's other threads, and an empty queue (parking/fork.c).  Such a stale word is
 * harmless to signal and broadcast (they find nobody under their bucket locks and clear it) and
 * is cleared by the first wait that meets it with another mutex (pl_cond_wait_slow), so the
 * child needs no list of condition variables to reset.
 *
 * Waiters park with the mutex's condition-waiter token (pl_cond_waiter_token), which the mutex
 * unlock's filter accepts besides its ordinary waiters' token: requeued waiters must be woken by
 * it, and the unlock must know them apart.
 *
 * When a requeued waiter is woken, and why it matters (docs/benchmarks.md, "Tuning findings"):
 * - by the unlock inside a wait (wait_before_sleep), the mutex is released first, then the
 *   waiter woken: its signaller is going to sleep, so the waiter can have the mutex and the
 *   processor at once (ping-pong: one context switch per hand-off);
 * - by a plain pl_mutex_unlock, the waiter is woken while the lock bit is still set and the bit
 *   dropped right after the wake (PL_TOKEN_SPIN; the waiter spins for it).  Its signaller
 *   goes on running: a waiter that got the mutex at once would, on a busy processor, preempt the
 *   signaller as the wake returns, take one item and sleep again; woken before the release, it
 *   finds the mutex held and yields, and the signaller goes on producing (bounded queue: 0.28
 *   futex calls and 0.15 context switches per item at 2P:2C instead of 0.74 and 0.51). */
#include <parking/cond.h>
#include <parking/cond_any.h> /* pl_cond_wait_any_slow */

#include <stdio.h>

#include "cond_wait.h"
#include "contention.h"
#include "lock_algorithm.h"
#include <parking/lot.h>
#include "chaos.h"
#include "probes.h"

typedef struct wait_ctx {
    pl_cond_t *c;
    pl_mutex_t *m;
    const char *fn;
    /* Waits with any lock (pl_cond_wait_any_slow): m is &any_lock and these release it. */
    void *lock;
    void (*lock_fn)(void *);
    void (*unlock_fn)(void *);
} wait_ctx_t;

/* What c->mutex names while the waiters use locks other than a pl_mutex_t (cond_any.h): never
 * locked, never parked on.  Signal and broadcast recognise it and wake instead of requeueing,
 * since only a pl_mutex_t's unlock knows how to wake a condition waiter moved onto its queue. */
static pl_mutex_t any_lock;

static void misuse_unlocked(const char *fn, pl_cond_t *c, pl_mutex_t *m)
{
    char what[96];
    (void)snprintf(what, sizeof what, "mutex %p is not locked by the caller", (void *)m);
    pl_misuse(fn, c, what);
}

/* Under the condition variable's bucket lock.  Another mutex in the word is misuse only if
 * threads really wait with it: in the child of a fork() the word still names the mutex of the
 * parent's waiters, who are not there (the child's parking lot starts empty, and nothing resets
 * the condition variables scattered in memory).  So do not sleep, and let the caller look. */
static bool wait_validate(void *vctx)
{
    wait_ctx_t *w = vctx;
    pl_mutex_t *cur = __atomic_load_n(&w->c->mutex, __ATOMIC_RELAXED);
    if (cur == NULL)
        __atomic_store_n(&w->c->mutex, w->m, __ATOMIC_RELAXED);
    else if (cur != w->m)
        return false; /* PL_PARK_INVALID means this, and nothing else */
    return true;
}

/* Looking at the queue of the condition variable (a filter that stops at the first waiter) is
 * what a validate callback cannot do: it would re-enter the parking lot. */
static pl_filter_op_t any_waiter(void *vctx, uintptr_t park_token)
{
    (void)vctx;
    (void)park_token;
    return PL_FILTER_STOP;
}

typedef enum stale_verdict { STALE_RETRY, STALE_MISUSE } stale_verdict_t;

typedef struct stale_ctx {
    pl_cond_t *c;
    pl_mutex_t *m;
    stale_verdict_t verdict;
} stale_ctx_t;

/* Under the condition variable's bucket lock, which every change of c->mutex holds (wait
 * validate, time-out, signal, broadcast): nobody queued means the word is stale (its waiters are
 * gone: a fork) and the invariant at the top of the file says it must be NULL. */
static uintptr_t forget_stale_mutex(void *vctx, pl_unpark_result_t result)
{
    stale_ctx_t *s = vctx;
    pl_mutex_t *cur = __atomic_load_n(&s->c->mutex, __ATOMIC_RELAXED);
    if (!result.have_more)
        __atomic_store_n(&s->c->mutex, NULL, __ATOMIC_RELAXED);
    s->verdict = result.have_more && cur != NULL && cur != s->m ? STALE_MISUSE : STALE_RETRY;
    return PL_DEFAULT_UNPARK_TOKEN;
}

/* The thread is queued before the mutex is released, so a signal issued by whoever takes the
 * mutex next finds it: this is what makes "unlock and sleep" atomic.  pl_mutex_unlock, except
 * that a requeued waiter is woken after the release (see the top of the file). */
static void wait_before_sleep(void *vctx)
{
    wait_ctx_t *w = vctx;
    PL_CHAOS_POINT(); /* queued, mutex still held: signallers block on it */
    pl_lock_word_t lw = pl_mutex_lock_word(w->m);
    pl_unlock_before_wait(&lw, w->fn);
}

/* Woken with PL_TOKEN_SPIN: the mutex is about to be released (by the unlocker that woke us, or
 * by whoever holds it when a broadcast woke us ahead of the others), so spin for it, also while
 * the parked bit says others wait: parking now would need another wake. */
static void relock_spinning(pl_mutex_t *m)
{
    /* The raw operations: the caller's inline wrapper annotates the re-acquisition. */
    pl_spin_t spin = PL_SPIN_INIT;
    while (!pl_mutex__trylock(m)) {
        if (!pl_spin(&spin)) {
            pl_mutex__lock(m);
            return;
        }
    }
}

/* Under the bucket lock of `key`: the condition variable, or the mutex if this waiter had been
 * requeued there. */
static void wait_timed_out(void *vctx, const void *key, bool was_last_thread)
{
    wait_ctx_t *w = vctx;
    if (!was_last_thread)
        return;
    if (key == (const void *)w->c) {
        __atomic_store_n(&w->c->mutex, NULL, __ATOMIC_RELAXED);
    } else {
        pl_lock_word_t lw = pl_mutex_lock_word(w->m);
        pl_lock_last_waiter_left(&lw);
    }
}

/* Parks on the condition variable until chosen or timed out, retrying past a stale word. */
static pl_park_result_t park_on_cond(wait_ctx_t *w, pl_before_sleep_fn before_sleep,
                                     uintptr_t token, uint64_t deadline)
{
    pl_cond_t *c = w->c;
    pl_park_result_t r;
    for (;;) {
        r = pl_park(c, wait_validate, before_sleep, wait_timed_out, w, token, deadline);
        if (r.status != PL_PARK_INVALID)
            return r;
        /* The word named another mutex.  Abort only if threads really wait with it; a stale
         * word (fork) is cleared, and the wait tried again.  Each trip either waits or meets a
         * word changed by another waiter, which then is queued. */
        stale_ctx_t s = {c, w->m, STALE_RETRY};
        (void)pl_unpark_filter(c, any_waiter, forget_stale_mutex, &s);
        if (s.verdict == STALE_MISUSE)
            pl_misuse(w->fn, c, "one condvar used with two mutexes at the same time");
    }
}

static bool cond_wait(pl_cond_t *c, pl_mutex_t *m, uint64_t deadline, const char *fn);

typedef struct watched_wait {
    pl_cond_t *c;
    pl_mutex_t *m;
    uint64_t deadline;
    const char *fn;
} watched_wait_t;

/* The event is the wait for a signal: "acquired" means signalled, and the relock of the mutex,
 * if contended, is an event of the mutex's own (its site is inside this file). */
static bool run_wait(void *vctx, uint32_t *parks)
{
    const watched_wait_t *w = vctx;
    *parks += 1;
    return cond_wait(w->c, w->m, w->deadline, w->fn);
}

bool pl_cond_wait_at(pl_cond_t *c, pl_mutex_t *m, uint64_t deadline, const char *fn,
                     const void *site)
{
    PL_PROBE3(slow_begin, c, PL_PRIM_COND, PL_MODE_WAIT);
    if (PL_CONTENTION_WATCHED()) {
        watched_wait_t w = {c, m, deadline, fn};
        return pl_contention_run(c, PL_PRIM_COND, PL_MODE_WAIT, site, run_wait, &w);
    }
    return cond_wait(c, m, deadline, fn);
}

bool pl_cond_wait_slow(pl_cond_t *c, pl_mutex_t *m, uint64_t deadline, const char *fn)
{
    return pl_cond_wait_at(c, m, deadline, fn, __builtin_return_address(0));
}

static bool cond_wait(pl_cond_t *c, pl_mutex_t *m, uint64_t deadline, const char *fn)
{
    if (!pl_mutex_is_locked(m))
        misuse_unlocked(fn, c, m);
    wait_ctx_t w = {c, m, fn, NULL, NULL, NULL};
    pl_lock_word_t lw = pl_mutex_lock_word(m);
    pl_park_result_t r = park_on_cond(&w, wait_before_sleep, pl_cond_waiter_token(&lw), deadline);
    /* Only a signal or broadcast moves a waiter to the mutex: timing out there still means it
     * was signalled first. */
    bool signalled = r.status != PL_PARK_TIMED_OUT || r.key != (const void *)c;
    PL_CHAOS_POINT(); /* woken, mutex not yet retaken */
    if (r.status == PL_PARK_UNPARKED && r.token == PL_TOKEN_HANDOFF)
        return signalled; /* a mutex unlock handed m over: the lock bit stayed set for us */
    if (r.status == PL_PARK_UNPARKED && r.token == PL_TOKEN_SPIN)
        relock_spinning(m);
    else
        pl_mutex__lock(m);
    return signalled;
}

/* The wait with any lock: queued first, then the caller's unlock, as wait_before_sleep. */
static void any_before_sleep(void *vctx)
{
    wait_ctx_t *w = vctx;
    PL_CHAOS_POINT(); /* queued, lock still held: signallers that need it block on it */
    w->unlock_fn(w->lock);
}

static bool cond_wait_any(wait_ctx_t *w, uint64_t deadline)
{
    pl_park_result_t r = park_on_cond(w, any_before_sleep, PL_DEFAULT_PARK_TOKEN, deadline);
    PL_CHAOS_POINT(); /* woken, lock not yet retaken */
    w->lock_fn(w->lock);
    return r.status != PL_PARK_TIMED_OUT;
}

typedef struct watched_any {
    wait_ctx_t *w;
    uint64_t deadline;
} watched_any_t;

/* As run_wait: one park (park_on_cond returns only from one), and the relock, if contended and
 * reported at all, is the lock's own event. */
static bool run_wait_any(void *vctx, uint32_t *parks)
{
    const watched_any_t *a = vctx;
    *parks += 1;
    return cond_wait_any(a->w, a->deadline);
}

bool pl_cond_wait_any_at(pl_cond_t *c, void *lock, void (*lock_fn)(void *),
                         void (*unlock_fn)(void *), uint64_t deadline, const char *fn,
                         const void *site)
{
    if (lock_fn == NULL || unlock_fn == NULL)
        pl_misuse(fn, c, "lock_fn and unlock_fn must not be NULL");
    wait_ctx_t w = {c, &any_lock, fn, lock, lock_fn, unlock_fn};
    PL_PROBE3(slow_begin, c, PL_PRIM_COND, PL_MODE_WAIT);
    if (PL_CONTENTION_WATCHED())
        return pl_contention_run(c, PL_PRIM_COND, PL_MODE_WAIT, site, run_wait_any,
                                 &(watched_any_t){&w, deadline});
    return cond_wait_any(&w, deadline);
}

bool pl_cond_wait_any_slow(pl_cond_t *c, void *lock, void (*lock_fn)(void *),
                           void (*unlock_fn)(void *), uint64_t deadline, const char *fn)
{
    return pl_cond_wait_any_at(c, lock, lock_fn, unlock_fn, deadline, fn,
                               __builtin_return_address(0));
}

/* Under the condition variable's bucket lock, after waking one or all of its waiters. */
static uintptr_t any_woken(void *vctx, pl_unpark_result_t result)
{
    pl_cond_t *c = vctx;
    if (!result.have_more)
        __atomic_store_n(&c->mutex, NULL, __ATOMIC_RELAXED);
    return PL_TOKEN_NORMAL;
}

static pl_filter_op_t take_every_waiter(void *vctx, uintptr_t park_token)
{
    (void)vctx;
    (void)park_token;
    return PL_FILTER_UNPARK;
}

/* Waiters with other locks are woken, never requeued: their locks' unlocks would not wake them.
 * If the word changed meanwhile to a pl_mutex_t's waiters, waking them is still a correct
 * signal (they take the mutex themselves), only without the requeue's saving. */
static size_t any_notify(pl_cond_t *c, bool all)
{
    if (all)
        return pl_unpark_filter(c, take_every_waiter, any_woken, c).unparked;
    return pl_unpark_one(c, any_woken, c).unparked;
}

/* Under both bucket locks (pl_lock_mark_parked_if_locked): a held mutex gets the threads moved
 * onto it, and its holder's unlock, forced onto its slow path, takes the mutex's bucket lock,
 * which we hold until they are queued there, so it cannot miss them.  A free mutex has no unlock
 * coming, so a waiter must be woken instead. */
static bool mark_parked_if_locked(pl_mutex_t *m)
{
    pl_lock_word_t lw = pl_mutex_lock_word(m);
    return pl_lock_mark_parked_if_locked(&lw);
}

typedef struct notify_ctx {
    pl_cond_t *c;
    pl_mutex_t *m;
    bool stale; /* c->mutex changed between our load and the bucket locks */
} notify_ctx_t;

static pl_requeue_op_t signal_validate(void *vctx)
{
    notify_ctx_t *n = vctx;
    if (__atomic_load_n(&n->c->mutex, __ATOMIC_RELAXED) != n->m) {
        /* Every waiter we saw has left (the word went through NULL); the caller reloads. */
        n->stale = true;
        return PL_REQUEUE_ABORT;
    }
    PL_CHAOS_POINT(); /* both buckets held: the mutex holder may unlock meanwhile */
    return mark_parked_if_locked(n->m) ? PL_REQUEUE_REQUEUE_ONE : PL_REQUEUE_UNPARK_ONE;
}

static uintptr_t signal_done(void *vctx, pl_requeue_op_t op, pl_unpark_result_t result)
{
    notify_ctx_t *n = vctx;
    (void)op;
    if (!result.have_more)
        __atomic_store_n(&n->c->mutex, NULL, __ATOMIC_RELAXED);
    return PL_TOKEN_NORMAL; /* a directly woken waiter must still take the mutex */
}

bool pl_cond_signal_slow(pl_cond_t *c)
{
    for (;;) {
        pl_mutex_t *m = __atomic_load_n(&c->mutex, __ATOMIC_RELAXED);
        if (m == NULL)
            return false;
        if (m == &any_lock)
            return any_notify(c, false) > 0;
        notify_ctx_t n = {c, m, false};
        PL_CHAOS_POINT(); /* the waiters we saw may time out and c->mutex change */
        pl_unpark_result_t r = pl_unpark_requeue(c, m, signal_validate, signal_done, &n);
        if (!n.stale)
            return r.unparked + r.requeued > 0;
    }
}

static pl_requeue_op_t broadcast_validate(void *vctx)
{
    notify_ctx_t *n = vctx;
    if (__atomic_load_n(&n->c->mutex, __ATOMIC_RELAXED) != n->m) {
        n->stale = true;
        return PL_REQUEUE_ABORT;
    }
    /* Every waiter leaves the condition variable's queue in this call. */
    __atomic_store_n(&n->c->mutex, NULL, __ATOMIC_RELAXED);
    return mark_parked_if_locked(n->m) ? PL_REQUEUE_REQUEUE_ALL
                                       : PL_REQUEUE_UNPARK_ONE_REQUEUE_REST;
}

static uintptr_t broadcast_done(void *vctx, pl_requeue_op_t op, pl_unpark_result_t result)
{
    notify_ctx_t *n = vctx;
    /* The mutex was free at validate time, so its parked bit may be clear while we queue
     * threads on it.  Set it (still under its bucket lock): whichever thread holds the mutex
     * next, the woken one included, then unlocks through the slow path and wakes the next. */
    if (op == PL_REQUEUE_UNPARK_ONE_REQUEUE_REST && result.requeued > 0) {
        pl_lock_word_t lw = pl_mutex_lock_word(n->m);
        pl_lock_mark_parked(&lw);
    }
    return PL_TOKEN_NORMAL;
}

typedef struct ahead_ctx {
    size_t left; /* condition waiters still to wake */
    bool more;   /* a waiter of the mutex remains queued */
    pl_mutex_t *m;
} ahead_ctx_t;

static pl_filter_op_t ahead_filter(void *vctx, uintptr_t park_token)
{
    ahead_ctx_t *a = vctx;
    pl_lock_word_t lw = pl_mutex_lock_word(a->m);
    if (a->left > 0 && park_token == pl_cond_waiter_token(&lw)) {
        a->left--;
        return PL_FILTER_UNPARK;
    }
    a->more = true;
    return a->left > 0 ? PL_FILTER_SKIP : PL_FILTER_STOP;
}

static uintptr_t ahead_done(void *vctx, pl_unpark_result_t result)
{
    ahead_ctx_t *a = vctx;
    if (result.unparked > 0 && !a->more) {
        pl_lock_word_t lw = pl_mutex_lock_word(a->m);
        pl_lock_last_waiter_left(&lw);
    }
    return PL_TOKEN_SPIN;
}

/* How many broadcast waiters run ahead of the chain of unlocks: one to take the mutex when it is
 * released and one already awake behind it, so that no link of the chain waits for a wake-up
 * (docs/benchmarks.md, "Tuning findings"). */
enum { BROADCAST_AHEAD = 2 };

size_t pl_cond_broadcast_slow(pl_cond_t *c)
{
    for (;;) {
        pl_mutex_t *m = __atomic_load_n(&c->mutex, __ATOMIC_RELAXED);
        if (m == NULL)
            return 0;
        if (m == &any_lock)
            return any_notify(c, true);
        notify_ctx_t n = {c, m, false};
        PL_CHAOS_POINT();
        pl_unpark_result_t r = pl_unpark_requeue(c, m, broadcast_validate, broadcast_done, &n);
        if (n.stale)
            continue;
        /* Every waiter has left the condition variable, atomically; those moved onto the mutex
         * are all chosen.  Wake the first of them now, so that their wake-ups overlap the
         * critical sections of those ahead; the rest are let in one unlock at a time. */
        if (r.requeued > 0 && r.unparked < BROADCAST_AHEAD) {
            ahead_ctx_t a = {BROADCAST_AHEAD - r.unparked, false, m};
            if (a.left > r.requeued)
                a.left = r.requeued;
            (void)pl_unpark_filter(m, ahead_filter, ahead_done, &a);
        }
        return r.unparked + r.requeued;
    }
}
