/* The per-thread parker: the one place a thread really sleeps.  Internal to libparking.
 *
 * Each thread that parks owns one parker; it never sleeps on the parking lot itself.  The state
 * is a 32-bit word:
 *   PARKED  (1)  armed by the thread before it is queued;
 *   CLAIMED (2)  an unparker dequeued the thread under the bucket lock and will release it;
 *   FREE    (0)  released: the thread may return.
 * The split between "claim" (under the bucket lock) and "wake" (after it) keeps the system call
 * out of the lock, and lets an unparker collect any number of threads without storage: a claimed
 * thread cannot return, so its memory stays valid until its wake.  A thread whose timed wait
 * expired checks the word under the bucket lock: still PARKED means nobody will wake it and it
 * may leave; CLAIMED means a wake is on its way and it must wait for it (pl_parker_park).
 * The word backends first spin briefly for FREE and flag the word SLEEPING only before an OS
 * wait, so a thread woken while it still spins costs no system call on either side.
 *
 * One backend per OS, chosen by CMake (PARKING_PARKER_*):
 *   word backends (parker_word.c + one file with the OS wait/wake on a 32-bit word):
 *     linux (futex), windows (WaitOnAddress), macos (__ulock), freebsd (_umtx_op), openbsd (futex)
 *   posix: a mutex + condition variable per thread (parker_posix.c), the portable fallback.
 */
#ifndef PARKING_PARKER_H
#define PARKING_PARKER_H

#include <stdbool.h>
#include <stdint.h>

#include <parking/lot.h>

#if defined(PARKING_PARKER_POSIX)
#  include <pthread.h>
#endif

enum { PL_PARKER_FREE = 0, PL_PARKER_PARKED = 1, PL_PARKER_CLAIMED = 2 };
/* Word backends only: a flag on PARKED or CLAIMED, set by the thread before it sleeps in the OS
 * after spinning in vain; a wake makes the system call only when it is set. */
enum { PL_PARKER_SLEEPING = 4 };

typedef struct pl_parker {
    uint32_t state;
#if !defined(PARKING_PARKER_POSIX)
    /* Only the owning thread reads and writes these (parker_word.c: when to spin). */
    uint8_t spin_misses;  /* spins in a row that ended asleep, up to the limit */
    uint8_t spin_skipped; /* parks since then, wrapping: every so often, spin again */
#endif
#if defined(PARKING_PARKER_POSIX)
    pthread_mutex_t mutex; /* guards `state` transitions to FREE and the condition variable */
    pthread_cond_t cond;   /* on CLOCK_MONOTONIC where the platform allows it */
#endif
} pl_parker_t;

/* Make a parker usable / release what it holds.  Not thread-safe. */
void pl_parker_init(pl_parker_t *p);
void pl_parker_destroy(pl_parker_t *p);

/* Arm the parker (state PARKED) before the thread becomes visible in a queue. */
void pl_parker_prepare(pl_parker_t *p);
/* Sleep until the state is FREE. */
void pl_parker_park(pl_parker_t *p);
/* Sleep until FREE (true) or the absolute pl_now() deadline passes (false). */
bool pl_parker_park_until(pl_parker_t *p, uint64_t deadline);
/* Under the bucket lock, after park_until returned false: true when no unparker has claimed
 * the thread, i.e. it really timed out and must dequeue itself. */
bool pl_parker_timed_out(pl_parker_t *p);
/* Under the bucket lock: mark the thread as being woken (PARKED -> CLAIMED). */
void pl_parker_claim(pl_parker_t *p);
/* After the bucket lock is released: set FREE and make the wake-up system call.  The owner may
 * return and free the parker as soon as FREE is visible, so this touches nothing afterwards but
 * the address as a number (a wake-up reaching a dead word is harmless on every backend). */
void pl_parker_wake(pl_parker_t *p);

#if !defined(PARKING_PARKER_POSIX)
/* The OS primitive behind the word backends, one file per OS.
 * pl_os_wait: sleep while *word == expected, until woken, spuriously, or the deadline passes;
 * returns false only when the deadline has passed.  pl_os_wake_one: wake one sleeper on word. */
bool pl_os_wait(uint32_t *word, uint32_t expected, uint64_t deadline);
void pl_os_wake_one(uint32_t *word);

/* For the OS waits that take a relative time-out: the time from now to @p deadline (not
 * PL_FOREVER) in whole units of @p unit_ns, rounded up, so that a wait never ends before its
 * deadline and is never 0 (which several of them read as "forever"), and clamped to @p max;
 * false if the deadline has passed.  Rounding by division: remaining + unit - 1 could wrap. */
static inline bool pl_parker_time_left(uint64_t deadline, uint64_t unit_ns, uint64_t max,
                                       uint64_t *left)
{
    uint64_t now = pl_now();
    if (now >= deadline)
        return false;
    uint64_t remaining = deadline - now; /* >= 1 ns */
    uint64_t n = remaining / unit_ns + (remaining % unit_ns != 0);
    *left = n > max ? max : n;
    return true;
}
#endif

#endif /* PARKING_PARKER_H */
