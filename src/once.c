/* pl_once_t slow path: claim RUNNING and run the initialiser, or park until it finishes.
 *
 * Waiters park on the once's address and only while, under its bucket lock, they still see
 * RUNNING | PARKED.  The runner's final store either happens before that check (the waiter sees
 * it and does not sleep) or after the waiter is queued, where the runner's unpark finds it:
 * - success: exchange to DONE, then pl_unpark_all if PARKED was set;
 * - failure: if PARKED was set, RUNNING is cleared inside pl_unpark_one's callback, under the
 *   bucket lock, so the set of sleepers cannot change while we decide to keep PARKED for them. */
#include <parking/once.h>

#include "lock_algorithm.h"
#include <parking/cas.h>
#include <parking/lot.h>
#include "chaos.h"
#include "os.h" /* the per-thread head of the runs below */
#if defined(_MSC_VER)
#  include <intrin.h>
#endif

/* ---- Recursion: the initialisers a thread is running (slow paths only) ----
 *
 * An initialiser that calls pl_call_once on its own once, directly or through other onces,
 * finds the once RUNNING and would wait for itself forever.  One byte has no room for an owner,
 * so each thread keeps the list of the runs it is inside: a node in the frame of the slow path
 * that runs the initialiser, linked from a thread-local head.  A caller that finds a once RUNNING
 * looks for it in its own list once before it waits, and aborts if it is there.  The fast path
 * (a done once) never looks, and nothing is allocated.
 *
 * Why per thread and not a process-wide table of (once, thread) (the first design): a table has
 * a size, and entries of initialisers that never return (longjmp, thread exit, cancellation) are
 * never removed, so it fills up for good and recursion then deadlocks; such a stale entry also
 * matches a new once placed in the same memory, and a new thread given the identity
 * (pthread_self) of one that exited inside an initialiser, both false alarms.  A thread's own
 * list has neither problem: its storage dies with the thread (a new thread, whatever its
 * identity, starts empty), it grows with the stack, and nobody else reads it.
 *
 * The contract (once.h): a run belongs to the list while its slow-path frame is on the thread's
 * stack.  A thread exit or cancellation that unwinds the stack (glibc) ends it; one that does not
 * (ExitThread, musl) leaves the thread inside it, so a thread-exit handler calling that once
 * again is the recursion it looks like.  A longjmp cannot be seen when it happens; its runs are
 * recognised as gone by stack position at the thread's next look:
 * - Positions are the stack pointer of the slow path's caller (the canonical frame address), the
 *   same for pl_call_once_slow and pl_call_once_try_slow called from the same place whatever
 *   their frame layouts, and strictly outer for every enclosing run.  A run whose position is not
 *   strictly outer than the looking call's has been left: the looking call sits where it was.
 * - Only nodes at strictly outer positions are read.  The head's position is kept beside it in
 *   thread-local storage and each node holds its outer node's, so a node is never read to learn
 *   that it is dead: dead frames below the current one may already be reused or beyond the
 *   stack pointer.  A push links only to a head that is still outer, so a node never points at
 *   one that was dead when it was made.
 * - Runs found dead are forgotten at once (by a look or a run), so they cannot come back to life
 *   when the thread goes deeper again.
 * - Inexact in two ways, because the jump itself is invisible (documented in once.h): a run left
 *   by longjmp whose position is still outer because the thread went deeper again before its
 *   next look is read as running if its memory is intact (a seal detects memory overwritten
 *   since; the walk stops there); and after a longjmp from a nested initialiser into an enclosing
 *   one, the enclosing runs are no longer linked from the head until the one jumped into returns.
 * Stacks are assumed to be one per thread: an initialiser must return on the stack it started on
 * (a coroutine switching stacks inside one confuses the positions; fibers on Windows likewise).
 *
 * Thread-local storage: two per-thread words of the core's OS seam (os.h): C11 _Thread_local on
 * POSIX, Win32 TLS slots on Windows, where mingw-w64 emulates _Thread_local with malloc
 * (docs/windows.md) and an allocator initialised through pl_call_once would re-enter itself.  A
 * cycle across threads (A's initialiser waits for B while B's waits for A) is a deadlock no
 * per-thread record sees. */

/* Caller's stack pointer of the calling slow path: its canonical frame address. */
#if defined(__GNUC__) || defined(__clang__)
#  define RUN_POSITION() ((uintptr_t)__builtin_dwarf_cfa())
#elif defined(_MSC_VER)
#  define RUN_POSITION() ((uintptr_t)_AddressOfReturnAddress())
#else
#  error "once.c: no way to read the caller's stack pointer on this compiler"
#endif

/* AddressSanitizer is kept out of the walk, whose reads of a node left by longjmp may land in a
 * redzone of the frame now there (the seal decides what is valid), and out of the slow paths, so
 * that the node has no redzones: a cancellation unwinds without unpoisoning them
 * (google/sanitizers#1399) and would leave them poisoned on the thread's stack. */
#if defined(__GNUC__) || defined(__clang__)
#  define NO_ASAN __attribute__((no_sanitize_address))
#else
#  define NO_ASAN
#endif

/* Whether position a belongs to a frame strictly outside (older than) position b. */
static inline bool outer_than(uintptr_t a, uintptr_t b)
{
#if defined(__hppa__) || defined(__hppa)
    return a < b; /* the stack grows up */
#else
    return a > b;
#endif
}

typedef struct once_run {
    const pl_once_t *once;
    struct once_run *outer; /* the enclosing run of this thread, or NULL */
    uintptr_t outer_pos;    /* its position */
    uintptr_t seal;         /* seal_of(this node) while it is intact */
} once_run_t;

typedef struct runs_head {
    once_run_t *run; /* innermost run, or NULL */
    uintptr_t pos;   /* its position */
} runs_head_t;

/* A checksum of the node's fields and address: a frame that reused the memory of a node left by
 * longjmp passes it only by a 1 in 2^64 (2^32) chance, so its bytes are never followed. */
static uintptr_t seal_of(const once_run_t *r)
{
    uint64_t x = (uint64_t)(uintptr_t)r->once;
    x = (x ^ (uint64_t)(uintptr_t)r->outer) * UINT64_C(0x9E3779B97F4A7C15);
    x = (x ^ (uint64_t)r->outer_pos) * UINT64_C(0xBF58476D1CE4E5B9);
    x = (x ^ (uint64_t)(uintptr_t)r) * UINT64_C(0x94D049BB133111EB);
    return (uintptr_t)(x ^ (x >> 31));
}

/* Filled in place, word by word, rather than returned by value: GenMC (docs/model.md, "Weak
 * memory") reads a two-word struct returned in registers as one 128-bit access and stops. */
static void runs_get(runs_head_t *h)
{
    h->run = (once_run_t *)(uintptr_t)pl_os_word_get(PL_OS_WORD_ONCE_RUN);
    h->pos = (uintptr_t)pl_os_word_get(PL_OS_WORD_ONCE_POS);
}

static void runs_set(runs_head_t h)
{
    pl_os_word_set(PL_OS_WORD_ONCE_RUN, (uintptr_t)h.run);
    pl_os_word_set(PL_OS_WORD_ONCE_POS, h.pos);
}

/* Enters the run in `run` (a node in the caller's frame) at position `here`. */
static void run_enter(once_run_t *run, const pl_once_t *o, uintptr_t here)
{
    runs_head_t h;
    runs_get(&h);
    run->once = o;
    if (h.run != NULL && outer_than(h.pos, here)) {
        run->outer = h.run;
        run->outer_pos = h.pos;
    } else {
        /* Empty, or every recorded run was left by longjmp (none is outside this call). */
        run->outer = NULL;
        run->outer_pos = 0;
    }
    run->seal = seal_of(run);
    runs_set((runs_head_t){run, here});
}

/* The run returned: what it was nested in is innermost again (runs left by longjmp inside it
 * went with it). */
static void run_leave(const once_run_t *run)
{
    runs_set((runs_head_t){run->outer, run->outer_pos});
}

/* Whether the calling thread, at position `here`, is inside a run of o (so waiting for o would
 * be forever). */
NO_ASAN static bool running_here(const pl_once_t *o, uintptr_t here)
{
    runs_head_t h;
    runs_get(&h);
    if (h.run != NULL && !outer_than(h.pos, here)) {
        /* Every recorded run was left by longjmp (or, after one into an enclosing run, the
         * enclosing ones cannot be reached without reading dead frames): forget them now, so a
         * later call from deeper in the stack cannot mistake their intact memory for a run. */
        runs_set((runs_head_t){NULL, 0});
        return false;
    }
    const once_run_t *r = h.run;
    uintptr_t pos = h.pos;
    while (r != NULL && outer_than(pos, here)) {
        if (r->seal != seal_of(r))
            return false; /* a frame left by longjmp, reused: nothing beyond it is known */
        if (r->once == o)
            return true;
        here = pos; /* each next run strictly outer: the walk ends */
        pos = r->outer_pos;
        r = r->outer;
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
 * public function for the misuse message; `here` is the caller's run position. */
static bool claim_or_wait(pl_once_t *o, const char *fn, uintptr_t here)
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
            if (running_here(o, here))
                pl_misuse(fn, o, "recursive call from its own initializer");
        }
        if (!(state & PL_ONCE_RUNNING_BIT)) {
            /* Acquire: a retry after a failed run sees what the failed run wrote. */
            if (PL__CAS(&o->state, &state, (uint8_t)(state | PL_ONCE_RUNNING_BIT), true,
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
            if (!PL__CAS(&o->state, &state, (uint8_t)(state | PL_ONCE_PARKED_BIT), true,
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
    if (PL__CAS(&o->state, &expected, 0, false, __ATOMIC_RELEASE, __ATOMIC_RELAXED))
        return;
    PL_CHAOS_POINT(); /* failed with waiters: more may queue before we pass the turn */
    (void)pl_unpark_one(o, release_after_failure, o);
}

NO_ASAN void pl_call_once_slow(pl_once_t *o, void (*fn)(void *), void *arg)
{
    uintptr_t here = RUN_POSITION();
    if (fn == NULL)
        pl_misuse("pl_call_once", o, "fn is NULL");
    if (!claim_or_wait(o, "pl_call_once", here))
        return;
    once_run_t run;
    run_enter(&run, o, here);
    fn(arg);
    run_leave(&run);
    finish(o, true);
}

NO_ASAN bool pl_call_once_try_slow(pl_once_t *o, bool (*fn)(void *), void *arg)
{
    uintptr_t here = RUN_POSITION();
    if (fn == NULL)
        pl_misuse("pl_call_once_try", o, "fn is NULL");
    if (!claim_or_wait(o, "pl_call_once_try", here))
        return true;
    once_run_t run;
    run_enter(&run, o, here);
    bool ok = fn(arg);
    run_leave(&run);
    finish(o, ok);
    return ok;
}
