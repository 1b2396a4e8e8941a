/* The lock algorithm shared by every two-bit lock in libparking (pl_mutex_t, bit locks,
 * pointer locks): a "locked" bit and a "parked" bit inside a 1-, 2-, 4- or 8-byte word whose
 * other bits belong to the caller and are preserved.  Internal to the library. */
#ifndef PARKING_LOCK_ALGORITHM_H
#define PARKING_LOCK_ALGORITHM_H

#include <stdbool.h>
#include <stdint.h>

/* Unpark tokens of the lock algorithm. */
#define PL_TOKEN_NORMAL ((uintptr_t)0)  /* the lock was released: compete for it again */
#define PL_TOKEN_HANDOFF ((uintptr_t)1) /* the lock was handed over: the woken thread owns it */
/* Spin for the lock rather than park at once (condition waiters, see cond.c): the unlocker woke
 * this thread just before releasing the lock, or a broadcast woke it to be next in line. */
#define PL_TOKEN_SPIN ((uintptr_t)2)

typedef struct pl_lock_word {
    void *word;        /* the lock's word; also the parking key */
    unsigned size;     /* 1, 2, 4 or 8 */
    uint64_t locked;   /* the lock bit */
    uint64_t parked;   /* the parked bit */
} pl_lock_word_t;

/* Take the lock, spinning then parking; false if `deadline` (pl_now()) passed first.  Waiters
 * park on lw->word with their lock bit as park token (bits above a 32-bit uintptr_t map to
 * 2 * index + 1), and unlocks wake only waiters carrying their own token. */
bool pl_lock_slow(const pl_lock_word_t *lw, uint64_t deadline);
/* Release the lock, waking one waiter of this lock (handing off if `fair` or time to be fair).
 * `fn` names the public function for the misuse message when the lock is not held.  A condition
 * waiter (park token pl_cond_waiter_token) moved onto the lock, when it is the lock's only
 * waiter, is woken before the lock bit drops, with PL_TOKEN_SPIN (see cond.c for why). */
void pl_unlock_slow(const pl_lock_word_t *lw, bool fair, const char *fn);
/* As pl_unlock_slow, but `early_wake` false releases first for condition waiters too: the unlock
 * inside a condition wait, whose caller is about to sleep. */
void pl_unlock_slow_ex(const pl_lock_word_t *lw, bool fair, bool early_wake, const char *fn);
/* The slow path of an unlock whose fast path subtracted the lock bit atomically (one `lock sub`,
 * cheaper than a compare-and-swap) and found the word not zero: `left` is the word it left.
 * Only for words with no other bits (pl_mutex_t): from a clear lock bit the subtraction
 * borrows, which is how an unlock of a lock that is not locked shows (and aborts). */
void pl_unlocked_slow(const pl_lock_word_t *lw, uint64_t left, const char *fn);
/* The park token of condition waiters, whom a requeue may move onto the lock's queue: the lock's
 * own waiter token t (its lock bit, or 2 * index + 1 for bits above a 32-bit uintptr_t) with
 * t << 1 added; never a single bit nor an odd value below 128, so never any lock's waiter token.
 * The unlock wakes these as its own waiters. */
uintptr_t pl_cond_waiter_token(const pl_lock_word_t *lw);

/* Print "libparking: <fn>(<addr>): <what>" and abort. */
_Noreturn void pl_misuse(const char *fn, const void *addr, const char *what);

#endif /* PARKING_LOCK_ALGORITHM_H */
