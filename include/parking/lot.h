/** @file
 * libparking: the parking lot, a global table of wait queues keyed by address.
 *
 * A thread that must block "parks" on an address: it enqueues itself in the wait queue of that
 * address and sleeps on its own per-thread word.  Another thread "unparks" it by address.  The
 * address is only a key: the parking lot never reads or writes the memory it names, so any
 * address the caller owns works, including addresses one past a lock (a second queue per lock).
 *
 * Every lock in libparking is built on these calls; they are public so that users can build
 * their own one-byte primitives in the same way.
 *
 * Rules that hold for every function here:
 * - Callbacks run while the parking lot holds an internal bucket lock.  They must be short, must
 *   not block, and must not call any function of this header (no re-entry into the parking lot),
 *   nor take a libparking lock that could need to park.  `before_sleep` is the exception: it runs
 *   with no lock held and may unpark (but not park).
 * - None of these functions is async-signal-safe (except pl_now): do not call them from a
 *   signal handler, which could interrupt the thread while it holds a bucket lock.
 * - Memory ordering: everything a thread wrote before the unpark call that wakes a parked thread
 *   happens-before that thread's return from pl_park with PL_PARK_UNPARKED; callbacks on one
 *   address are ordered with each other by its bucket lock.
 * - Misuse (pl_unpark_requeue with from == to or no validate, pl_unpark_filter with no filter)
 *   prints `libparking: <function>(<address>): <what>` and aborts.
 * - Deadlines are absolute values of pl_now() (nanoseconds of the monotonic clock); PL_FOREVER
 *   means no deadline.
 * - errno: every function here returns with errno as it found it (the system calls inside fail
 *   as part of their work: a wait that times out, a word that changed), and so does every lock
 *   and wait of libparking built on them; on Windows GetLastError() likewise.
 */
#ifndef PARKING_LOT_H
#define PARKING_LOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <parking/export.h>

PARKING_BEGIN_DECLS

/** A deadline that never passes. */
#define PL_FOREVER UINT64_MAX

/** The park token to pass when none is needed.  A park token travels from a parked thread to
 * whoever scans the queue (pl_unpark_filter). */
#define PL_DEFAULT_PARK_TOKEN PL__CAST(uintptr_t, 0)
/** The unpark token to pass when none is needed.  An unpark token travels from the unparker to
 * the thread it wakes (pl_park_result_t::token). */
#define PL_DEFAULT_UNPARK_TOKEN PL__CAST(uintptr_t, 0)

/** How pl_park ended. */
typedef enum pl_park_status {
    PL_PARK_UNPARKED = 0, /**< woken by an unpark call; `token` holds its unpark token */
    PL_PARK_INVALID = 1,  /**< validate returned false; the thread never slept */
    PL_PARK_TIMED_OUT = 2 /**< the deadline passed; the thread removed itself from the queue */
} pl_park_status_t;

/** What pl_park returns. */
typedef struct pl_park_result {
    pl_park_status_t status; /**< how the park ended */
    uintptr_t token;         /**< the unpark token when status is PL_PARK_UNPARKED, else 0 */
    const void *key; /**< the address the thread was last queued on: differs from the address
                         passed to pl_park when the thread was requeued; NULL when INVALID */
} pl_park_result_t;

/** What an unpark call did; also handed to its callback, under the bucket lock. */
typedef struct pl_unpark_result {
    size_t unparked; /**< threads woken by this call */
    size_t requeued; /**< threads moved to another address (pl_unpark_requeue only) */
    bool have_more;  /**< threads remain queued on the source address after this call */
    bool be_fair;    /**< the bucket's fairness deadline has passed and a thread was woken:
                         a lock should hand itself directly to the woken thread */
} pl_unpark_result_t;

/** pl_park's check: returns true to go on and sleep, false to return PL_PARK_INVALID.  Runs
 * under the bucket lock, so an unpark of the same address cannot slip in between. */
typedef bool (*pl_validate_fn)(void *ctx);
/** Runs after the thread is queued and the bucket lock is released, just before sleeping (a
 * condition variable unlocks its mutex here).  May unpark, must not park. */
typedef void (*pl_before_sleep_fn)(void *ctx);
/** Runs under the bucket lock after a timed-out thread left the queue of `key`; was_last_thread
 * says no other thread remains queued on `key`. */
typedef void (*pl_timed_out_fn)(void *ctx, const void *key, bool was_last_thread);
/** Runs under the bucket lock, also when no thread was found; returns the unpark token. */
typedef uintptr_t (*pl_unpark_fn)(void *ctx, pl_unpark_result_t result);

/** Blocks the calling thread on @p addr until an unpark call wakes it or the deadline passes.
 *
 * Takes the bucket lock for addr and calls validate(ctx).  If it returns false, returns
 * PL_PARK_INVALID without sleeping.  Otherwise appends the thread to the FIFO queue of addr,
 * releases the lock, calls before_sleep(ctx), and sleeps until an unpark call wakes it or
 * `deadline` passes.  On time-out the thread removes itself and calls
 * timed_out(ctx, key, was_last_thread) under the bucket lock.  Before sleeping in the OS the
 * thread (with every parker but the POSIX fallback) spins for its wake-up for up to about 10 us
 * (pauses, then yields), unless its recent parks showed that waiting that long is in vain
 * (docs/design.md section 4); a thread woken while it spins costs no system call on either side.
 *
 * A deadline that has already passed (at the call, or once before_sleep returns) is a park that
 * times out at once: validate runs as always (false still means PL_PARK_INVALID), the thread is
 * queued and before_sleep runs, and then, with no spin and no system call, it takes itself off
 * the queue and calls timed_out (was_last_thread as always) and returns PL_PARK_TIMED_OUT; or
 * PL_PARK_UNPARKED if an unparker chose it in that short window.  The spin and the OS wait
 * likewise end as soon as the deadline passes.
 *
 * Blocks: yes.  Ordering: everything the unparker wrote before its unpark call happens-before
 * the return of PL_PARK_UNPARKED.  Misuse: parking from a callback of this header deadlocks
 * (undetected).  Async-signal-safe: no.
 * @param addr the key; never dereferenced.
 * @param validate NULL means "always valid".
 * @param before_sleep may be NULL.
 * @param timed_out may be NULL.
 * @param ctx passed to every callback.
 * @param park_token the value pl_unpark_filter's filter sees for this thread.
 * @param deadline absolute pl_now() ns; PL_FOREVER: none.
 * @return the status, the unpark token and the address the thread was last queued on. */
PARKING_API pl_park_result_t pl_park(const void *addr, pl_validate_fn validate,
                                     pl_before_sleep_fn before_sleep, pl_timed_out_fn timed_out,
                                     void *ctx, uintptr_t park_token, uint64_t deadline);

/** Wakes the oldest thread parked on @p addr, if any.
 *
 * callback(ctx, result) (may be NULL: token 0) runs under the bucket lock even when no thread was
 * found, and returns the unpark token handed to the woken thread.  The wake-up system call is
 * made after the bucket lock is released, and only if the thread is asleep in the OS (not still
 * spinning for its wake-up).
 *
 * Blocks: never (apart from the bucket lock).  Ordering: release towards the woken thread (see
 * pl_park).  Misuse: none detected.  Async-signal-safe: no.
 * @return threads woken (0 or 1), whether more remain, and whether to be fair. */
PARKING_API pl_unpark_result_t pl_unpark_one(const void *addr, pl_unpark_fn callback, void *ctx);

/** Wakes every thread parked on @p addr, each with @p unpark_token.
 *
 * Blocks: never (apart from the bucket lock).  Ordering: release towards the woken threads.
 * Misuse: none detected.  Async-signal-safe: no.
 * @return how many threads were woken. */
PARKING_API size_t pl_unpark_all(const void *addr, uintptr_t unpark_token);

/** What pl_unpark_requeue does, as chosen by its validate callback. */
typedef enum pl_requeue_op {
    PL_REQUEUE_ABORT = 0,                   /**< do nothing */
    PL_REQUEUE_UNPARK_ONE = 1,              /**< wake the oldest; leave the rest on `from` */
    PL_REQUEUE_UNPARK_ONE_REQUEUE_REST = 2, /**< wake the oldest; move the rest to `to` */
    PL_REQUEUE_REQUEUE_ONE = 3,             /**< move the oldest to `to`; wake none */
    PL_REQUEUE_REQUEUE_ALL = 4              /**< move all to `to`; wake none */
} pl_requeue_op_t;

/** Runs under both bucket locks and chooses what pl_unpark_requeue does. */
typedef pl_requeue_op_t (*pl_requeue_validate_fn)(void *ctx);
/** Runs under both bucket locks after the move (not after ABORT); returns the unpark token. */
typedef uintptr_t (*pl_requeue_fn)(void *ctx, pl_requeue_op_t op, pl_unpark_result_t result);

/** Wakes and/or moves threads parked on @p from to the queue of @p to, atomically.
 *
 * With the buckets of `from` and `to` both locked, validate(ctx) (required) picks an operation;
 * threads moved to `to` keep sleeping and are later woken by unparks of `to`.  The order of
 * moved threads is preserved and they go behind threads already queued on `to`.
 * callback(ctx, op, result) (may be NULL: token 0) returns the woken thread's unpark token.
 *
 * Blocks: never (apart from the two bucket locks).  Ordering: release towards a woken thread.
 * Misuse: `from == to` or a NULL validate aborts with a message.  Async-signal-safe: no.
 * @return what was done (all zero on ABORT). */
PARKING_API pl_unpark_result_t pl_unpark_requeue(const void *from, const void *to,
                                                 pl_requeue_validate_fn validate,
                                                 pl_requeue_fn callback, void *ctx);

/** What pl_unpark_filter does with one queued thread, as chosen by its filter. */
typedef enum pl_filter_op {
    PL_FILTER_UNPARK = 0, /**< wake this thread and go on */
    PL_FILTER_SKIP = 1,   /**< leave this thread queued and go on */
    PL_FILTER_STOP = 2    /**< leave this thread queued and stop the scan */
} pl_filter_op_t;

/** Runs under the bucket lock once per thread queued on the address, oldest first. */
typedef pl_filter_op_t (*pl_filter_fn)(void *ctx, uintptr_t park_token);

/** Visits the threads parked on @p addr in FIFO order and wakes those the filter chooses.
 *
 * filter(ctx, park_token) (required) chooses for each.  callback(ctx, result) (may be NULL:
 * token 0) then runs under the bucket lock (also when none was chosen) and returns the unpark
 * token given to every woken thread.  A filter that only counts (always PL_FILTER_SKIP) is a
 * way to observe how many threads wait on an address.
 *
 * Blocks: never (apart from the bucket lock).  Ordering: release towards the woken threads.
 * Misuse: a NULL filter aborts with a message.  Async-signal-safe: no.
 * @return threads woken, whether more remain, and whether to be fair. */
PARKING_API pl_unpark_result_t pl_unpark_filter(const void *addr, pl_filter_fn filter,
                                                pl_unpark_fn callback, void *ctx);

/** Nanoseconds of the monotonic clock (CLOCK_MONOTONIC on POSIX): the clock of every deadline.
 *
 * Blocks: never.  Ordering: none.  Misuse: none.  Async-signal-safe: yes. */
PARKING_API uint64_t pl_now(void);

/** A deadline @p timeout_ns from now; saturates to PL_FOREVER instead of overflowing.
 *
 * Blocks: never.  Ordering: none.  Misuse: none.  Async-signal-safe: yes (it only calls
 * pl_now). */
static inline uint64_t pl_deadline_after(uint64_t timeout_ns)
{
    uint64_t now = pl_now();
    return timeout_ns >= PL_FOREVER - now ? PL_FOREVER : now + timeout_ns;
}

/** State of a bounded spin before parking, shared by every lock's slow path.  Zero-initialise
 * (or PL_SPIN_INIT) before a wait; call pl_spin_reset after a wake-up.  Per thread: keep it on
 * the waiting thread's stack. */
typedef struct pl_spin_state {
    uint32_t counter;
    uint64_t start;
} pl_spin_t;
/** @var pl_spin_t::counter
 * Spins so far; private to pl_spin. */
/** @var pl_spin_t::start
 * pl_now() at the first spin; private to pl_spin (the spin budget is measured in time). */
/** Initialiser of a pl_spin_t that has not spun yet. */
#define PL_SPIN_INIT                                                                               \
  {                                                                                                \
    0, 0                                                                                           \
  }
/** Waits a little (CPU pause bursts that grow, then yields of the processor; no yields for a
 * while once a slow one showed that they hand the processors to other processes).
 *
 * Blocks: only for that short wait; never sleeps.  Ordering: none.  Misuse: none detected.
 * Async-signal-safe: no.
 * @return true while spinning is still worthwhile; once false, the caller should park. */
PARKING_API bool pl_spin(pl_spin_t *spin);
/** Starts @p spin over (after a wake-up).  Blocks: never.  Ordering: none.  Misuse: none.
 * Async-signal-safe: no. */
static inline void pl_spin_reset(pl_spin_t *spin) { spin->counter = 0; }

/** One parked thread, as pl_lot_walk shows it. */
typedef struct pl_parked_thread {
    const void *key;      /**< the address it is queued on now (after any requeue) */
    uintptr_t park_token; /**< its park token */
    uint64_t parked_ns;   /**< pl_now() when it queued (kept across requeues) */
    uint64_t thread_id;   /**< the OS thread id (gettid() on Linux, GetCurrentThreadId() on
                               Windows, pthread_threadid_np on macOS), 0 where unknown */
} pl_parked_thread_t;

/** Called by pl_lot_walk once per parked thread; returns false to stop the walk.  @p t is valid
 * only during the call. */
typedef bool (*pl_walk_fn)(const pl_parked_thread_t *t, void *ctx);

/** Visits every thread parked in the parking lot, for debugging (who waits on what, for how
 * long).
 *
 * Goes through the table one bucket at a time and calls fn(t, ctx) for each queued thread while
 * holding that bucket's lock, so fn must be short and must not park, unpark or take a
 * libparking lock (it would deadlock on the bucket lock), nor allocate if the allocator uses
 * libparking locks.  Parking and unparking go on in the other buckets meanwhile, so the walk is
 * not a snapshot: a thread that stays parked on one address for the whole walk is visited
 * exactly once (also if the table grows during the walk), one that parks, leaves or is requeued
 * meanwhile may be missed or seen twice.
 *
 * Blocks: on each bucket lock in turn.  Ordering: none beyond the bucket locks.  Misuse: calling
 * it from a callback of this header deadlocks (undetected).  Async-signal-safe: no.
 * @param fn the visitor; NULL only counts.
 * @param ctx passed to fn.
 * @return threads visited (counting the one for which fn returned false). */
PARKING_API size_t pl_lot_walk(pl_walk_fn fn, void *ctx);

/** Prints every parked thread to @p out, for debugging a hang (from a debugger:
 * `call pl_lot_dump(0)`).
 *
 * The first line is `libparking: pl_lot_dump: N parked threads`, then one line per thread:
 * `libparking:   addr 0x<key> token 0x<park token> waited <ms, 3 decimals> ms thread <id>`, and a
 * last line only if the count changed during the dump.  Threads are copied 64 at a time into a
 * buffer on the stack under the bucket lock and printed with no lock held; a bucket with more
 * waiters is listed in several rounds, each resuming after the last thread listed (whether or
 * not threads ahead of it left meanwhile) and ending at the threads that queued after the first
 * round; if the table grows between two rounds that bucket is listed again from its start.  A
 * thread that stays parked on one address for the whole dump is listed (once, or twice after a
 * growth); one that parks, leaves or is requeued meanwhile may be missed or listed twice.
 *
 * Blocks: on bucket locks, as pl_lot_walk, and on the stream.  Ordering: none.  Misuse: as
 * pl_lot_walk.  Async-signal-safe: no.
 * @param out the stream; NULL means stderr.
 * @return how many threads were listed. */
PARKING_API size_t pl_lot_dump(FILE *out);

PARKING_END_DECLS

#endif /* PARKING_LOT_H */
