/* The bucket lock: a one-word lock whose waiters queue inside the word itself.  Internal.
 *
 * Bit 0 is "locked", bit 1 "the queue is being edited", the rest points to the newest waiting
 * node.  Waiting threads put a node on their own stack and sleep on its parker, so the lock
 * that guards the parking lot never parks in the parking lot, and nothing is allocated. */
#ifndef PARKING_WORD_LOCK_H
#define PARKING_WORD_LOCK_H

#include <stdbool.h>
#include <stdint.h>

#include <parking/cas.h>

typedef struct pl_word_lock {
    uintptr_t state;
} pl_word_lock_t;

enum { PL_WL_LOCKED = 1, PL_WL_QUEUE_LOCKED = 2 };
#define PL_WL_QUEUE_MASK (~(uintptr_t)3)

void pl_word_lock_lock_slow(pl_word_lock_t *l);
void pl_word_lock_unlock_slow(pl_word_lock_t *l);

static inline void pl_word_lock_lock(pl_word_lock_t *l)
{
    uintptr_t expected = 0;
    if (!PL__CAS(&l->state, &expected, PL_WL_LOCKED, true, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
        pl_word_lock_lock_slow(l);
}

static inline void pl_word_lock_unlock(pl_word_lock_t *l)
{
    /* Unlocking never waits for the queue editor: if someone is editing or nobody waits, the
     * lock is simply free now and a waiter (if any) is woken by whoever edits next. */
    uintptr_t state = __atomic_fetch_sub(&l->state, PL_WL_LOCKED, __ATOMIC_RELEASE);
    if ((state & PL_WL_QUEUE_LOCKED) || (state & PL_WL_QUEUE_MASK) == 0)
        return;
    pl_word_lock_unlock_slow(l);
}

#endif /* PARKING_WORD_LOCK_H */
