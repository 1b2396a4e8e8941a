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
 * `fn` names the public function for the misuse message when the lock is not held. */
void pl_unlock_slow(const pl_lock_word_t *lw, bool fair, const char *fn);

/* Print "libparking: <fn>(<addr>): <what>" and abort. */
_Noreturn void pl_misuse(const char *fn, const void *addr, const char *what);

#endif /* PARKING_LOCK_ALGORITHM_H */
