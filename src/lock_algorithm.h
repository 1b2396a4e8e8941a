/* The lock algorithm shared by every two-bit lock in libparking (pl_mutex_t, bit locks,
 * pointer locks): a "locked" bit and a "parked" bit inside a 1-, 2-, 4- or 8-byte word whose
 * other bits belong to the caller and are preserved.  Internal to the library. */
#ifndef PARKING_LOCK_ALGORITHM_H
#define PARKING_LOCK_ALGORITHM_H

#include <stdbool.h>
#include <stdint.h>

#include <parking/mutex.h>

/* Unpark tokens of the lock algorithm. */
#define PL_TOKEN_NORMAL ((uintptr_t)0)  /* the lock was released: compete for it again */
#define PL_TOKEN_HANDOFF ((uintptr_t)1) /* the lock was handed over: the woken thread owns it */
/* Spin for the lock rather than park at once (condition waiters, see cond.c): the unlocker woke
 * this thread just before releasing the lock, or a broadcast woke it to be next in line. */
#define PL_TOKEN_SPIN ((uintptr_t)2)

typedef struct pl_lock_word {
    void *word;      /* the lock's word; also the parking key */
    unsigned size;   /* 1, 2, 4 or 8 */
    uint64_t locked; /* the lock bit */
    uint64_t parked; /* the parked bit */
} pl_lock_word_t;

/* Take the lock, spinning then parking (adding each park to *parks); false if `deadline` (pl_now()) passed first (a deadline
 * already past at the call tries once, without spinning or marking the lock parked).  Waiters
 * park on lw->word with their lock bit | parked bit as park token (where a bit lies above a
 * 32-bit uintptr_t, both bit indexes under a marker), and unlocks wake only waiters carrying
 * their own token; they clear the parked bit only when no queued waiter, theirs or another
 * lock's of the same word, uses it. */
bool pl_lock_slow(const pl_lock_word_t *lw, uint64_t deadline, uint32_t *parks);
/* pl_lock_slow of an exported slow path, reported to the contention hook (contention.h); `site`
 * is that function's return address. */
bool pl_lock_slow_watched(const pl_lock_word_t *lw, uint64_t deadline, unsigned primitive,
                          const void *site);
/* Release the lock, waking one waiter of this lock (handing off if `fair` or time to be fair).
 * With a waiter, the release happens inside the unpark callback under the bucket lock, and the
 * word is not touched after it (the caller may free it as soon as another thread can see it
 * released).
 * `fn` names the public function for the misuse message when the lock is not held.  A condition
 * waiter (park token pl_cond_waiter_token) moved onto the lock, when it is the lock's only
 * waiter, is woken before the lock bit drops, with PL_TOKEN_SPIN (see cond.c for why). */
void pl_unlock_slow(const pl_lock_word_t *lw, bool fair, const char *fn);
/* The unlock inside a condition wait, whose caller is queued and about to sleep: a plain CAS
 * while nobody is parked; else as pl_unlock_slow, except that a condition waiter is woken after
 * the release too (cond.c says why). */
void pl_unlock_before_wait(const pl_lock_word_t *lw, const char *fn);

/* The lock word operations a condition variable needs: the lock algorithm owns the word, so
 * cond.c calls these instead of editing the bits itself.  Each runs under the bucket lock of
 * the word's address, where the parked bit's rules are kept.
 * - pl_lock_mark_parked_if_locked (requeue, under both bucket locks): sets the parked bit if
 *   the lock is held and says whether it is; a held lock's unlock then takes its slow path and
 *   finds the threads moved onto it, a free one has no unlock coming, so the caller wakes one.
 * - pl_lock_mark_parked: threads were queued on a lock that may be free; its next unlock, by
 *   whoever takes it, must take the slow path.
 * - pl_lock_last_waiter_left: the last thread queued on the word left it (timed out, or was
 *   woken by a filter of ours); a locker about to park re-validates under the same bucket lock,
 *   sees the bit clear and sets it again, so no wake-up is lost. */
bool pl_lock_mark_parked_if_locked(const pl_lock_word_t *lw);
void pl_lock_mark_parked(const pl_lock_word_t *lw);
void pl_lock_last_waiter_left(const pl_lock_word_t *lw);

/* The word of a pl_mutex_t, for mutex.c and cond.c. */
static inline pl_lock_word_t pl_mutex_lock_word(pl_mutex_t *m)
{
    pl_lock_word_t lw = {&m->state, 1, PL_MUTEX_LOCKED_BIT, PL_MUTEX_PARKED_BIT};
    return lw;
}
/* The park token of condition waiters, whom a requeue may move onto the lock's queue: the
 * complement of the lock's own waiter token t; never any lock's waiter token, and distinct for
 * distinct locks, whatever the bit positions (bit 63 included).  The unlock wakes these as its
 * own waiters. */
uintptr_t pl_cond_waiter_token(const pl_lock_word_t *lw);

/* Print "libparking: <fn>(<addr>): <what>" and abort. */
_Noreturn void pl_misuse(const char *fn, const void *addr, const char *what);

#endif /* PARKING_LOCK_ALGORITHM_H */
