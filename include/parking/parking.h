/** @file
 * libparking: every public header in one include.
 */
/** @mainpage libparking API reference
 *
 * libparking is a C11 library of compact locks built on a parking lot: a process-wide hash
 * table of wait queues keyed by address.  A lock word holds only "locked" and "someone may be
 * parked"; waiting threads live in the parking lot.  Every lock is zero-initialisable (all-zero
 * bytes are unlocked), has a PL_*_INIT macro and needs no destroy call; fast paths are static
 * inline in the headers and slow paths are in libparking.so.
 *
 * Every function's comment says whether it blocks, what memory ordering it gives, what it does
 * on misuse (misuse the library can detect aborts with a message naming the function and the
 * address) and whether it is async-signal-safe (none is, except pl_now, pl_deadline_after and
 * the version functions).  Deadlines are absolute pl_now() nanoseconds, PL_FOREVER meaning none;
 * the *_for variants take a relative timeout and saturate.
 *
 * Headers (parking/parking.h includes them all):
 * - parking/mutex.h: pl_mutex_t, the one-byte mutex.
 * - parking/rwlock.h: pl_rwlock_t, a one-word read-write lock with upgradable reads.
 * - parking/cond.h: pl_cond_t, a one-word condition variable for pl_mutex_t.
 * - parking/once.h: pl_once_t, one-byte one-time initialisation.
 * - parking/wait.h: pl_wait, pl_wake_one, pl_wake_all: wait on any 1, 2, 4 or 8-byte value.
 * - parking/bitlock.h: bit locks in two bits of a word you already have; pl_ptrlock_t.
 * - parking/remutex.h: pl_remutex_t, a reentrant mutex.
 * - parking/cond_any.h: waiting on a pl_cond_t with a rwlock, a remutex, a bit lock or any lock.
 * - parking/event.h: pl_event_t, a one-word event (set, reset, wait until set).
 * - parking/semaphore.h: pl_sem_t, a one-word counting semaphore.
 * - parking/latch.h: pl_latch_t, a one-word latch (countdown).
 * - parking/barrier.h: pl_barrier_t, a one-word reusable barrier with a completion step.
 * - parking/lot.h: the parking lot itself, to build your own primitives.
 * - parking/profile.h: the contention profiler and its hook (docs/profiling.md).
 * - parking/version.h: the version of the headers and of the library.
 * - parking/export.h: linkage macros used by every header.
 *
 * Guides (in the source tree): docs/getting-started.md, docs/choosing.md, docs/design.md,
 * docs/reliability.md, docs/benchmarks.md, and the examples in docs/examples/.
 */
#ifndef PARKING_PARKING_H
#define PARKING_PARKING_H

#include <parking/lot.h>
#include <parking/mutex.h>
#include <parking/rwlock.h>
#include <parking/cond.h>
#include <parking/once.h>
#include <parking/wait.h>
#include <parking/bitlock.h>
#include <parking/remutex.h>
#include <parking/cond_any.h>
#include <parking/event.h>
#include <parking/semaphore.h>
#include <parking/latch.h>
#include <parking/barrier.h>
#include <parking/profile.h>
#include <parking/version.h>

#endif /* PARKING_PARKING_H */
