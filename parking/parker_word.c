/* The parker state machine shared by every backend that can sleep on a 32-bit word
 * (futex, WaitOnAddress, __ulock, _umtx_op).  The OS primitive is pl_os_wait / pl_os_wake_one. */
#include "parker.h"

#include <parking/annotate.h>
#include <parking/cas.h>
#include "chaos.h"
#include <parking/lot.h>

void pl_parker_init(pl_parker_t *p)
{
    p->state = PL_PARKER_FREE;
    p->spin_misses = 0;
    p->spin_skipped = 0;
}

void pl_parker_destroy(pl_parker_t *p) { (void)p; }

void pl_parker_prepare(pl_parker_t *p)
{
    /* Relaxed: the bucket lock that publishes the queue entry also publishes this store. */
    __atomic_store_n(&p->state, PL_PARKER_PARKED, __ATOMIC_RELAXED);
}

/* Spins for the wake-up before sleeping: a thread woken within a few microseconds (a hand-off
 * between two threads on two processors, a consumer that an item reaches at once) costs neither
 * side a system call, since the unparker makes one only for a thread that announced it sleeps
 * (PL_PARKER_SLEEPING).  The budget is pl_spin's, in time: pauses for a fraction of a
 * microsecond, then yields (which hands the processor to a runnable thread, the one that will
 * wake us perhaps), then gives up.
 *
 * Adaptive, per parker: after SPIN_MISSES spins in a row that ended asleep anyway, the thread
 * sleeps at once, and tries a spin again only every SPIN_RETRY-th park.  A thread whose waits are
 * long (a mutex locker that already spun in the lock before parking, a broadcast waiter, an
 * oversubscribed machine) then stops paying for a spin that never pays, and one whose waits
 * become short again finds out within SPIN_RETRY parks.  Returns true once FREE is seen; false
 * when the spin is skipped, or its budget or the deadline runs out first. */
enum { SPIN_MISSES = 8, SPIN_RETRY = 8 };

static bool spin_until_free(pl_parker_t *p, uint64_t deadline)
{
    if (p->spin_misses >= SPIN_MISSES && ++p->spin_skipped % SPIN_RETRY != 0)
        return false;
    pl_spin_t spin = PL_SPIN_INIT;
    while (__atomic_load_n(&p->state, __ATOMIC_ACQUIRE) != PL_PARKER_FREE) {
        /* The deadline first: one already past must not buy a round of spinning. */
        if ((deadline != PL_FOREVER && pl_now() >= deadline) || !pl_spin(&spin)) {
            if (p->spin_misses < SPIN_MISSES)
                p->spin_misses++;
            return false;
        }
    }
    p->spin_misses = 0;
    return true;
}

/* Announces sleep on a state `s` other than FREE, or sees FREE: returns the value to sleep on,
 * or FREE.  The flag must be set by a read-modify-write, as pl_parker_claim's is, so that
 * neither loses the other's change; and before the OS compares the word, so that a wake that
 * sees no flag (and skips the system call) finds us not yet asleep: our compare then sees its
 * FREE and returns at once. */
static uint32_t announce_sleep(pl_parker_t *p, uint32_t s)
{
    while (s != PL_PARKER_FREE && !(s & PL_PARKER_SLEEPING)) {
        if (PL__CAS(&p->state, &s, s | PL_PARKER_SLEEPING, true, __ATOMIC_ACQUIRE,
                    __ATOMIC_ACQUIRE))
            return s | PL_PARKER_SLEEPING;
    }
    return s;
}

bool pl_parker_park_until(pl_parker_t *p, uint64_t deadline)
{
    /* Acquire pairs with the release in pl_parker_wake: the unpark token and key written by
     * the unparker are visible once FREE is seen.  PARKED -> CLAIMED changes the value under
     * a sleeping thread; the OS wait then returns at once (value mismatch) and we wait again on
     * the new value.  Spurious and stale wake-ups only cause another trip around the loop. */
    if (!spin_until_free(p, deadline)) {
        uint32_t s;
        while ((s = __atomic_load_n(&p->state, __ATOMIC_ACQUIRE)) != PL_PARKER_FREE) {
            /* A deadline that passed during the spin (or before the park): no system call just
             * to hear so, and no flag that would cost a waker one. */
            if (deadline != PL_FOREVER && pl_now() >= deadline)
                return false;
            if ((s = announce_sleep(p, s)) == PL_PARKER_FREE)
                break;
            PL_CHAOS_POINT(); /* the state read goes stale before the OS compares it */
            if (!pl_os_wait(&p->state, s, deadline) &&
                __atomic_load_n(&p->state, __ATOMIC_ACQUIRE) != PL_PARKER_FREE)
                return false;
        }
    }
    /* Helgrind and DRD understand neither the atomics nor the futex: a wake is an edge through
     * the parker's address, from what the unparker did (the unpark token, the hand-off of a
     * lock) to the woken thread (parking/annotate.h; no-op natively).  The parker's memory is
     * not checked by them at all (its owner, thread data or a bucket-lock node, says so). */
    PL__VG_ACQUIRE(p);
    return true;
}

/* pl_os_wait never reports a PL_FOREVER deadline as passed, so this returns only once FREE. */
void pl_parker_park(pl_parker_t *p) { (void)pl_parker_park_until(p, PL_FOREVER); }

bool pl_parker_timed_out(pl_parker_t *p)
{
    /* Called under the bucket lock, which every claim also holds, so PARKED here means no
     * unparker has chosen this thread and none can until the lock is released. */
    return (__atomic_load_n(&p->state, __ATOMIC_RELAXED) & ~(uint32_t)PL_PARKER_SLEEPING) ==
           PL_PARKER_PARKED;
}

void pl_parker_claim(pl_parker_t *p)
{
    /* PARKED -> CLAIMED by adding one, keeping the sleeping flag that the thread may be setting
     * at this very moment (a plain store could erase it, and the wake would then skip the
     * system call that the sleeper needs). */
    (void)__atomic_fetch_add(&p->state, PL_PARKER_CLAIMED - PL_PARKER_PARKED, __ATOMIC_RELAXED);
}

void pl_parker_wake(pl_parker_t *p)
{
    /* Release: everything the unparker wrote for the thread (token, key) happens-before the
     * thread's acquire load of FREE.  After this exchange the parker's memory may be gone; the
     * wake only uses its address as a key, which the OS tolerates for dead memory. */
    uint32_t *word = &p->state;
    PL__VG_RELEASE(p);
    uint32_t was = __atomic_exchange_n(word, PL_PARKER_FREE, __ATOMIC_RELEASE);
    PL_CHAOS_POINT(); /* FREE: the thread may return and its parker be gone before the wake */
    if (was & PL_PARKER_SLEEPING)
        pl_os_wake_one(word);
}
