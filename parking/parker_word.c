/* The parker state machine shared by every backend that can sleep on a 32-bit word
 * (futex, WaitOnAddress, __ulock, _umtx_op).  The OS primitive is pl_os_wait / pl_os_wake_one. */
#include "parking/parker.h"

#include "parking/annotate.h"
#include "parking/chaos.h"
#include "parking/lot.h"

void pl_parker_init(pl_parker_t *p) { p->state = PL_PARKER_FREE; }

void pl_parker_destroy(pl_parker_t *p) { (void)p; }

void pl_parker_prepare(pl_parker_t *p)
{
    /* Relaxed: the bucket lock that publishes the queue entry also publishes this store. */
    __atomic_store_n(&p->state, PL_PARKER_PARKED, __ATOMIC_RELAXED);
}

void pl_parker_park(pl_parker_t *p)
{
    /* Acquire pairs with the release in pl_parker_wake: the unpark token and key written by
     * the unparker are visible once FREE is seen.  PARKED -> CLAIMED changes the value under
     * a sleeping thread; the OS wait then returns at once (value mismatch) and we wait again on
     * the new value.  Spurious and stale wake-ups only cause another trip around the loop. */
    uint32_t s;
    while ((s = __atomic_load_n(&p->state, __ATOMIC_ACQUIRE)) != PL_PARKER_FREE) {
        PL_CHAOS_POINT(); /* the state read goes stale before the OS compares it */
        (void)pl_os_wait(&p->state, s, PL_FOREVER);
    }
    /* Helgrind and DRD understand neither the atomics nor the futex: a wake is an edge through
     * the parker's address, from what the unparker did (the unpark token, the hand-off of a
     * lock) to the woken thread (parking/annotate.h; no-op natively).  The parker's memory is
     * not checked by them at all (its owner, thread data or a bucket-lock node, says so). */
    PL__VG_ACQUIRE(p);
}

bool pl_parker_park_until(pl_parker_t *p, uint64_t deadline)
{
    uint32_t s;
    while ((s = __atomic_load_n(&p->state, __ATOMIC_ACQUIRE)) != PL_PARKER_FREE) {
        PL_CHAOS_POINT();
        if (!pl_os_wait(&p->state, s, deadline) &&
            __atomic_load_n(&p->state, __ATOMIC_ACQUIRE) != PL_PARKER_FREE)
            return false;
    }
    PL__VG_ACQUIRE(p);
    return true;
}

bool pl_parker_timed_out(pl_parker_t *p)
{
    /* Called under the bucket lock, which every claim also holds, so PARKED here means no
     * unparker has chosen this thread and none can until the lock is released. */
    return __atomic_load_n(&p->state, __ATOMIC_RELAXED) == PL_PARKER_PARKED;
}

void pl_parker_claim(pl_parker_t *p)
{
    __atomic_store_n(&p->state, PL_PARKER_CLAIMED, __ATOMIC_RELAXED);
}

void pl_parker_wake(pl_parker_t *p)
{
    /* Release: everything the unparker wrote for the thread (token, key) happens-before the
     * thread's acquire load of FREE.  After this store the parker's memory may be gone; the
     * wake only uses its address as a key, which the OS tolerates for dead memory. */
    uint32_t *word = &p->state;
    PL__VG_RELEASE(p);
    __atomic_store_n(word, PL_PARKER_FREE, __ATOMIC_RELEASE);
    PL_CHAOS_POINT(); /* FREE: the thread may return and its parker be gone before the wake */
    pl_os_wake_one(word);
}
