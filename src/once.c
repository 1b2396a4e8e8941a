/* pl_once_t slow path: claim RUNNING and run the initialiser, or park until it finishes.
 *
 * Waiters park on the once's address and only while, under its bucket lock, they still see
 * RUNNING | PARKED.  The runner's final store either happens before that check (the waiter sees
 * it and does not sleep) or after the waiter is queued, where the runner's unpark finds it:
 * - success: exchange to DONE, then pl_unpark_all if PARKED was set;
 * - failure: if PARKED was set, RUNNING is cleared inside pl_unpark_one's callback, under the
 *   bucket lock, so the set of sleepers cannot change while we decide to keep PARKED for them. */
#include "parking/once.h"

#include "lock_algorithm.h"
#include "parking/lot.h"
/* The one core header besides lot.h: the chaos test hook (docs/design.md, "Chaos mode"). */
#include "parking/chaos.h"

#if defined(_WIN32)
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#else
#include <pthread.h>
#endif

/* ---- Recursion: the runners of initialisers (slow paths only) ----
 *
 * An initialiser that calls pl_call_once on its own once, directly or through other onces,
 * finds the once RUNNING and would wait for itself forever.  One byte has no room for an owner,
 * so a small process-wide table records (once, thread) for every initialiser while it runs; a
 * caller that finds a once RUNNING looks for (once, itself) once before it waits, and aborts if
 * it is there.  The fast path (a done once) never looks, and nothing is allocated.
 *
 * Why a table and not a thread-local list of the onces a thread runs: thread-local storage is
 * emulated with malloc on mingw-w64 (docs/windows.md), which an allocator initialised through
 * pl_call_once would re-enter; and a list of nodes on the initialisers' stacks would dangle when
 * an initialiser is left by longjmp or an exception.  The table holds only values, never
 * dereferenced.
 *
 * No false alarm: a thread matches an entry only if the entry holds its own identity, which only
 * it writes.  It clears `thread` before `once` when it leaves, so it can never read back its own
 * old identity next to another thread's once (a thread always sees its own writes in order), and
 * nobody else may change `once` while it is set.  Relaxed accesses suffice for that.
 * Limits: with RUNNERS initialisers running at the same moment in the process, a further runner
 * goes unrecorded (its recursion deadlocks, as without the check); a cycle across threads (A's
 * initialiser waits for B while B's waits for A) is a deadlock no table of runners can see. */
enum { RUNNERS = 64 };

typedef struct runner {
    const pl_once_t *once; /* NULL: free */
    uintptr_t thread;      /* 0 while being claimed or released */
} runner_t;

static runner_t g_runners[RUNNERS];

/* Identifies the calling thread among the live ones, without thread-local storage. */
static uintptr_t this_thread(void)
{
#if defined(_WIN32)
    return (uintptr_t)GetCurrentThreadId(); /* never 0 */
#else
    /* A pointer or an integer on every platform here; never 0 for a live thread. */
    return (uintptr_t)pthread_self();
#endif
}

/* Records the caller as the runner of o; NULL if the table is full. */
static runner_t *runner_enter(const pl_once_t *o)
{
    /* The table is read and written with atomics and no lock, which Helgrind and DRD would
     * report as races; tell them it is racy by design (no-op outside valgrind). */
    PL__VG_RACY(g_runners, sizeof g_runners);
    size_t start = ((uintptr_t)o >> 3) % RUNNERS;
    for (size_t i = 0; i < RUNNERS; i++) {
        runner_t *r = &g_runners[(start + i) % RUNNERS];
        const pl_once_t *expected = NULL;
        if (__atomic_load_n(&r->once, __ATOMIC_RELAXED) == NULL &&
            __atomic_compare_exchange_n(&r->once, &expected, o, false, __ATOMIC_RELAXED,
                                        __ATOMIC_RELAXED)) {
            __atomic_store_n(&r->thread, this_thread(), __ATOMIC_RELAXED);
            return r;
        }
    }
    return NULL;
}

static void runner_leave(runner_t *r)
{
    if (r == NULL)
        return;
    __atomic_store_n(&r->thread, (uintptr_t)0, __ATOMIC_RELAXED);
    __atomic_store_n(&r->once, NULL, __ATOMIC_RELEASE);
}

/* Whether the caller is running an initialiser of o now (so waiting for o would be forever). */
static bool runner_is_me(const pl_once_t *o)
{
    uintptr_t me = this_thread();
    for (size_t i = 0; i < RUNNERS; i++) {
        runner_t *r = &g_runners[i];
        if (__atomic_load_n(&r->once, __ATOMIC_RELAXED) == o &&
            __atomic_load_n(&r->thread, __ATOMIC_RELAXED) == me)
            return true;
    }
    return false;
}

static bool validate_running(void *vctx)
{
    pl_once_t *o = vctx;
    uint8_t both = PL_ONCE_RUNNING_BIT | PL_ONCE_PARKED_BIT;
    return (__atomic_load_n(&o->state, __ATOMIC_RELAXED) & both) == both;
}

/* Under the bucket lock, after the failed run: wake one waiter to take its turn; PARKED stays
 * only for the ones still queued. */
static uintptr_t release_after_failure(void *vctx, pl_unpark_result_t result)
{
    pl_once_t *o = vctx;
    __atomic_store_n(&o->state, result.have_more ? PL_ONCE_PARKED_BIT : (uint8_t)0,
                     __ATOMIC_RELEASE);
    return PL_DEFAULT_UNPARK_TOKEN;
}

/* Returns with RUNNING claimed by the caller (true), or once o is done (false).  `fn` names the
 * public function for the misuse message. */
static bool claim_or_wait(pl_once_t *o, const char *fn)
{
    pl_spin_t spin = PL_SPIN_INIT;
    bool checked = false;
    uint8_t state = __atomic_load_n(&o->state, __ATOMIC_ACQUIRE);
    for (;;) {
        if (state == PL_ONCE_DONE_BIT)
            return false;
        /* RUNNING: if by this very thread it stays RUNNING for as long as we wait, so looking
         * once is enough. */
        if ((state & PL_ONCE_RUNNING_BIT) && !checked) {
            checked = true;
            if (runner_is_me(o))
                pl_misuse(fn, o, "recursive call from its own initializer");
        }
        if (!(state & PL_ONCE_RUNNING_BIT)) {
            /* Acquire: a retry after a failed run sees what the failed run wrote. */
            if (__atomic_compare_exchange_n(&o->state, &state,
                                            (uint8_t)(state | PL_ONCE_RUNNING_BIT), true,
                                            __ATOMIC_ACQUIRE, __ATOMIC_ACQUIRE))
                return true;
            continue;
        }
        if (!(state & PL_ONCE_PARKED_BIT) && pl_spin(&spin)) {
            state = __atomic_load_n(&o->state, __ATOMIC_ACQUIRE);
            continue;
        }
        PL_CHAOS_POINT(); /* the runner may finish before we mark the once parked */
        if (!(state & PL_ONCE_PARKED_BIT)) {
            if (!__atomic_compare_exchange_n(&o->state, &state,
                                             (uint8_t)(state | PL_ONCE_PARKED_BIT), true,
                                             __ATOMIC_ACQUIRE, __ATOMIC_ACQUIRE))
                continue;
        }
        PL_CHAOS_POINT(); /* marked parked, not yet validated */
        (void)pl_park(o, validate_running, NULL, NULL, o, PL_DEFAULT_PARK_TOKEN, PL_FOREVER);
        pl_spin_reset(&spin);
        state = __atomic_load_n(&o->state, __ATOMIC_ACQUIRE);
    }
}

static void finish(pl_once_t *o, bool ok)
{
    if (ok) {
        /* Release: publishes the initialiser's writes to the acquire fast path. */
        uint8_t prev = __atomic_exchange_n(&o->state, PL_ONCE_DONE_BIT, __ATOMIC_RELEASE);
        PL_CHAOS_POINT(); /* done, sleepers not yet woken */
        if (prev & PL_ONCE_PARKED_BIT)
            (void)pl_unpark_all(o, PL_DEFAULT_UNPARK_TOKEN);
        return;
    }
    /* While we run, others only ever add PARKED; with nobody parked, just step down. */
    uint8_t expected = PL_ONCE_RUNNING_BIT;
    if (__atomic_compare_exchange_n(&o->state, &expected, 0, false, __ATOMIC_RELEASE,
                                    __ATOMIC_RELAXED))
        return;
    PL_CHAOS_POINT(); /* failed with waiters: more may queue before we pass the turn */
    (void)pl_unpark_one(o, release_after_failure, o);
}

void pl_call_once_slow(pl_once_t *o, void (*fn)(void *), void *arg)
{
    if (fn == NULL)
        pl_misuse("pl_call_once", o, "fn is NULL");
    if (!claim_or_wait(o, "pl_call_once"))
        return;
    runner_t *r = runner_enter(o);
    fn(arg);
    runner_leave(r);
    finish(o, true);
}

bool pl_call_once_try_slow(pl_once_t *o, bool (*fn)(void *), void *arg)
{
    if (fn == NULL)
        pl_misuse("pl_call_once_try", o, "fn is NULL");
    if (!claim_or_wait(o, "pl_call_once_try"))
        return true;
    runner_t *r = runner_enter(o);
    bool ok = fn(arg);
    runner_leave(r);
    finish(o, ok);
    return ok;
}
