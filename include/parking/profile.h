/** @file
 * libparking: the contention profiler, and the hook it is built on (docs/profiling.md).
 *
 * Every contended acquisition of every lock, and every wait, passes through a slow path of the
 * library: the inline fast paths never leave the caller's code when the lock is free.  Those
 * slow paths report each contended acquisition (and each wait) to one process-wide hook, which
 * the profiler below installs.  Nothing is added to any fast path; with no hook installed each
 * slow path pays one load and one predictable branch.
 *
 * The profiler keeps, per lock address and per call site (the return address into the code that
 * called the lock, and a few frames above it), the number of contended acquisitions, the parks,
 * the acquisitions that timed out, the total and longest wait, and a log2 histogram of the
 * waits, in a fixed table (no allocation; what does not fit is counted as dropped).
 *
 * With no code change: `PARKING_PROFILE=1` (or a file name) in the environment starts it at the
 * first contended acquisition of the process and prints the report at exit (standard error, or
 * appended to the file).  `PARKING_PROFILE_FORMAT` = `text` (default), `csv` or `folded`;
 * `PARKING_PROFILE_DEPTH` = frames kept per site, 1 to 8 (default 4; 1 takes no backtrace);
 * `PARKING_PROFILE_TOP` = how many locks the text report lists (default 10).
 */
#ifndef PARKING_PROFILE_H
#define PARKING_PROFILE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <parking/export.h>

PARKING_BEGIN_DECLS

/** Which primitive a contention event is about. */
typedef enum pl_contention_primitive {
    PL_PRIM_MUTEX = 0,     /**< pl_mutex_t (and pl_remutex_t, which waits in it) */
    PL_PRIM_BITLOCK = 1,   /**< a bit lock or pointer lock */
    PL_PRIM_RWLOCK = 2,    /**< pl_rwlock_t */
    PL_PRIM_COND = 3,      /**< a pl_cond_t wait, with any lock (a wait for a signal) */
    PL_PRIM_WAIT = 4,      /**< a pl_wait on an address (a wait for a wake) */
    PL_PRIM_EVENT = 5,     /**< a pl_event_t wait (for a set) */
    PL_PRIM_SEMAPHORE = 6, /**< a pl_sem_t wait (for a permit) */
    PL_PRIM_LATCH = 7,     /**< a pl_latch_t wait (for the count to reach zero) */
    PL_PRIM_BARRIER = 8    /**< a pl_barrier_t wait (for the phase to end) */
} pl_contention_primitive_t;

/** The mode of a contended acquisition. */
typedef enum pl_contention_mode {
    PL_MODE_EXCLUSIVE = 0,  /**< a mutex, bit lock, or a rwlock's write lock */
    PL_MODE_SHARED = 1,     /**< a rwlock's read lock (recursive read included) */
    PL_MODE_UPGRADABLE = 2, /**< a rwlock's upgradable lock */
    PL_MODE_UPGRADE = 3,    /**< a rwlock's upgrade from upgradable to write */
    PL_MODE_WAIT = 4        /**< a wait: condition, address, event, semaphore, latch, barrier */
} pl_contention_mode_t;

/** One contended acquisition or wait, as a slow path reports it to the hook. */
typedef struct pl_contention {
    const void *addr;  /**< the lock (or condition variable, or waited address) */
    const void *site;  /**< the return address into the caller of the slow path */
    uint64_t begin_ns; /**< pl_now() when the slow path was entered */
    uint64_t end_ns;   /**< pl_now() when it returned */
    uint32_t parks;    /**< how many times the thread parked (slept in the parking lot) */
    uint8_t primitive; /**< a pl_contention_primitive_t */
    uint8_t mode;      /**< a pl_contention_mode_t */
    bool acquired;     /**< false: a timed acquisition or wait ran out of time */
} pl_contention_t;

/** The hook: called by the thread that waited, after the wait, with no lock of the library held
 * (it may allocate, and may take libparking locks: a contended one reports to the hook again,
 * nested).  It must be thread-safe. */
typedef void (*pl_contention_fn)(const pl_contention_t *event);

/** Installs @p fn as the process's contention hook (NULL: none), replacing any other.
 *
 * Slow paths that are already running may still report to the previous hook for a moment.
 * Blocks: never.  Ordering: release.  Misuse: none.  Async-signal-safe: no.
 * @return the previous hook. */
PARKING_API pl_contention_fn pl_contention_hook(pl_contention_fn fn);

/** Output formats of pl_profile_report. */
typedef enum pl_profile_format {
    PL_PROFILE_TEXT = 0,  /**< the top locks by total wait, with their call sites, for people */
    PL_PROFILE_CSV = 1,   /**< one line per lock and call site, every column (docs/profiling.md) */
    PL_PROFILE_FOLDED = 2 /**< "frame;frame;...;lock count" lines for flame-graph tools; the
                               count is the total wait in microseconds */
} pl_profile_format_t;

/** Starts (or resumes) the contention profiler: installs its hook.  Counts already taken are
 * kept (see pl_profile_reset).
 *
 * Blocks: never.  Misuse: none.  Async-signal-safe: no. */
PARKING_API void pl_profile_start(void);

/** Stops the profiler (removes its hook); its counts stay, to be reported.
 *
 * Blocks: never.  Misuse: none.  Async-signal-safe: no. */
PARKING_API void pl_profile_stop(void);

/** Forgets every count.  Events recorded by other threads at the same moment may be kept or
 * lost.  Blocks: never.  Misuse: none.  Async-signal-safe: no. */
PARKING_API void pl_profile_reset(void);

/** Writes the profile to @p out (NULL: stderr) in @p format.  Safe while other threads record:
 * each count is read atomically, the whole is not a snapshot.
 *
 * Blocks: on the stream.  Misuse: none.  Async-signal-safe: no.
 * @param out the stream; NULL means stderr.
 * @param format PL_PROFILE_TEXT, PL_PROFILE_CSV or PL_PROFILE_FOLDED (docs/profiling.md).
 * @param top how many locks the text report lists (0: 10); ignored by the other formats.
 * @return the number of (lock, call site) records the table holds. */
PARKING_API size_t pl_profile_report(FILE *out, pl_profile_format_t format, unsigned top);

/** Reads `PARKING_PROFILE` and, if it asks for a profile, starts the profiler and arranges the
 * report at exit (atexit).  The library calls it at the process's first contended acquisition;
 * a program may call it earlier.  Only the first call does anything.
 *
 * Blocks: never.  Misuse: none.  Async-signal-safe: no.
 * @return whether the environment turned the profiler on. */
PARKING_API bool pl_profile_from_env(void);

PARKING_END_DECLS

#endif /* PARKING_PROFILE_H */
