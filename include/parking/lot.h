/* libparking: the parking lot, a global table of wait queues keyed by address.
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
 * - None of these functions is async-signal-safe: do not call them from a signal handler.
 * - Deadlines are absolute values of pl_now() (nanoseconds of the monotonic clock); PL_FOREVER
 *   means no deadline.
 */
#ifndef PARKING_LOT_H
#define PARKING_LOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parking/export.h"

PARKING_BEGIN_DECLS

/* A deadline that never passes. */
#define PL_FOREVER UINT64_MAX

/* Tokens: a park token travels from a parked thread to whoever scans the queue
 * (pl_unpark_filter); an unpark token travels from the unparker to the thread it wakes. */
#define PL_DEFAULT_PARK_TOKEN ((uintptr_t)0)
#define PL_DEFAULT_UNPARK_TOKEN ((uintptr_t)0)

typedef enum pl_park_status {
    PL_PARK_UNPARKED = 0, /* woken by an unpark call; `token` holds its unpark token */
    PL_PARK_INVALID = 1,  /* validate returned false; the thread never slept */
    PL_PARK_TIMED_OUT = 2 /* the deadline passed; the thread removed itself from the queue */
} pl_park_status_t;

typedef struct pl_park_result {
    pl_park_status_t status;
    uintptr_t token;  /* the unpark token when status is PL_PARK_UNPARKED, else 0 */
    const void *key;  /* the address the thread was last queued on: differs from the address
                         passed to pl_park when the thread was requeued; NULL when INVALID */
} pl_park_result_t;

typedef struct pl_unpark_result {
    size_t unparked;  /* threads woken by this call */
    size_t requeued;  /* threads moved to another address (pl_unpark_requeue only) */
    bool have_more;   /* threads remain queued on the source address after this call */
    bool be_fair;     /* the bucket's fairness deadline has passed and a thread was woken:
                         a lock should hand itself directly to the woken thread */
} pl_unpark_result_t;

/* Returns true to go on and sleep, false to return PL_PARK_INVALID.  Under the bucket lock. */
typedef bool (*pl_validate_fn)(void *ctx);
/* Runs after the thread is queued and the bucket lock is released, just before sleeping. */
typedef void (*pl_before_sleep_fn)(void *ctx);
/* Runs under the bucket lock after a timed-out thread left the queue of `key`; was_last_thread
 * says no other thread remains queued on `key`. */
typedef void (*pl_timed_out_fn)(void *ctx, const void *key, bool was_last_thread);
/* Runs under the bucket lock, also when no thread was found; returns the unpark token. */
typedef uintptr_t (*pl_unpark_fn)(void *ctx, pl_unpark_result_t result);

/* pl_park: block the calling thread on `addr`.
 * Takes the bucket lock for addr and calls validate(ctx) (NULL means "always valid").  If it
 * returns false, returns PL_PARK_INVALID without sleeping.  Otherwise appends the thread to the
 * FIFO queue of addr, releases the lock, calls before_sleep(ctx) (may be NULL), and sleeps until
 * an unpark call wakes it or `deadline` passes.  On time-out the thread removes itself and calls
 * timed_out(ctx, key, was_last_thread) (may be NULL) under the bucket lock.
 * `park_token` is the value pl_unpark_filter's filter sees for this thread.
 * Blocking.  Memory ordering: everything the unparker wrote before its unpark call
 * happens-before the return of PL_PARK_UNPARKED.  Not async-signal-safe. */
PARKING_API pl_park_result_t pl_park(const void *addr, pl_validate_fn validate,
                                     pl_before_sleep_fn before_sleep, pl_timed_out_fn timed_out,
                                     void *ctx, uintptr_t park_token, uint64_t deadline);

/* pl_unpark_one: wake the oldest thread parked on addr, if any.
 * callback(ctx, result) (may be NULL: token 0) runs under the bucket lock even when no thread was
 * found, and returns the unpark token handed to the woken thread.  The wake-up system call is
 * made after the bucket lock is released.  Non-blocking apart from the bucket lock. */
PARKING_API pl_unpark_result_t pl_unpark_one(const void *addr, pl_unpark_fn callback, void *ctx);

/* pl_unpark_all: wake every thread parked on addr, each with `unpark_token`; returns how many. */
PARKING_API size_t pl_unpark_all(const void *addr, uintptr_t unpark_token);

typedef enum pl_requeue_op {
    PL_REQUEUE_ABORT = 0,                  /* do nothing */
    PL_REQUEUE_UNPARK_ONE = 1,             /* wake the oldest; leave the rest on `from` */
    PL_REQUEUE_UNPARK_ONE_REQUEUE_REST = 2,/* wake the oldest; move the rest to `to` */
    PL_REQUEUE_REQUEUE_ONE = 3,            /* move the oldest to `to`; wake none */
    PL_REQUEUE_REQUEUE_ALL = 4             /* move all to `to`; wake none */
} pl_requeue_op_t;

/* Runs under both bucket locks and chooses what pl_unpark_requeue does. */
typedef pl_requeue_op_t (*pl_requeue_validate_fn)(void *ctx);
/* Runs under both bucket locks after the move (not after ABORT); returns the unpark token. */
typedef uintptr_t (*pl_requeue_fn)(void *ctx, pl_requeue_op_t op, pl_unpark_result_t result);

/* pl_unpark_requeue: with the buckets of `from` and `to` both locked, validate(ctx) picks an
 * operation; threads moved to `to` keep sleeping and are later woken by unparks of `to`.  The
 * order of moved threads is preserved and they go behind threads already queued on `to`.
 * Returns what was done (all zero on ABORT).  `from` and `to` must differ. */
PARKING_API pl_unpark_result_t pl_unpark_requeue(const void *from, const void *to,
                                                 pl_requeue_validate_fn validate,
                                                 pl_requeue_fn callback, void *ctx);

typedef enum pl_filter_op {
    PL_FILTER_UNPARK = 0, /* wake this thread and go on */
    PL_FILTER_SKIP = 1,   /* leave this thread queued and go on */
    PL_FILTER_STOP = 2    /* leave this thread queued and stop the scan */
} pl_filter_op_t;

/* Runs under the bucket lock once per thread queued on the address, oldest first. */
typedef pl_filter_op_t (*pl_filter_fn)(void *ctx, uintptr_t park_token);

/* pl_unpark_filter: visit the threads parked on addr in FIFO order; filter(ctx, park_token)
 * chooses for each.  callback(ctx, result) then runs under the bucket lock (also when none was
 * chosen) and returns the unpark token given to every woken thread. */
PARKING_API pl_unpark_result_t pl_unpark_filter(const void *addr, pl_filter_fn filter,
                                                pl_unpark_fn callback, void *ctx);

/* pl_now: nanoseconds of the monotonic clock (CLOCK_MONOTONIC on POSIX). Async-signal-safe. */
PARKING_API uint64_t pl_now(void);

/* A deadline `timeout_ns` from now; saturates to PL_FOREVER instead of overflowing. */
static inline uint64_t pl_deadline_after(uint64_t timeout_ns)
{
    uint64_t now = pl_now();
    return timeout_ns >= PL_FOREVER - now ? PL_FOREVER : now + timeout_ns;
}

/* Bounded spinning before parking, shared by every lock's slow path.
 * pl_spin() waits a little (CPU pause bursts that grow, then yields of the processor) and returns
 * true while spinning is still worthwhile; once it returns false the caller should park.
 * Zero-initialise (or PL_SPIN_INIT) before a wait; call pl_spin_reset after a wake-up. */
typedef struct pl_spin_state { uint32_t counter; } pl_spin_t;
#define PL_SPIN_INIT {0}
PARKING_API bool pl_spin(pl_spin_t *spin);
static inline void pl_spin_reset(pl_spin_t *spin) { spin->counter = 0; }

PARKING_END_DECLS

#endif /* PARKING_LOT_H */
