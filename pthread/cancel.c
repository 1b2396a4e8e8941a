/* pthread_cancel of a thread blocked in one of our condition waits.
 *
 * glibc's cancellation of a blocked thread works through SIGCANCEL, sent to threads blocked in
 * glibc's own cancellable system calls; a thread parked in the parking lot is not one of those
 * (deferred cancellation only sets a flag), so it would sleep on.  So pthread_cancel is
 * interposed too: it calls glibc's, then wakes the target if it waits on one of our condvars,
 * and the woken waiter relocks the mutex and calls pthread_testcancel (cond.c), which unwinds
 * through the cleanup handlers with the mutex held, as glibc does.
 *
 * The waiters are found from their pthread_t in a fixed table (no malloc), claimed for the
 * duration of each wait.  A slot's state tells the canceller whether it may use the condvar and
 * mutex named there: WAITING while the waiter is inside the wait; the canceller moves it to
 * WAKING while it uses them and to WOKEN after, and the leaving waiter waits for WOKEN, so the
 * canceller never touches a condvar or mutex its waiter may already have freed.
 *
 * The race: between claiming its slot (and testing for cancellation) and being queued on the
 * condvar, the waiter holds the mutex, and a broadcast in that gap finds nobody.  The canceller
 * therefore retries until it can take the mutex itself (then the waiter, which held it in the
 * gap, is queued), up to a bound: if the canceller holds the mutex itself the waiter cannot be
 * in the gap, and if a third thread holds it for all of that bound a wake-up can be missed and
 * the cancellation acts at the waiter's next wake-up (docs/pthread.md, "Limits"). */
#include "pt.h"

#include <sched.h>

#define PT_SLOTS 1024u
#define RETRIES 2000

enum { FREE = 0, CLAIMING, WAITING, WAKING, WOKEN };

struct pt_slot {
    uintptr_t thread; /* pthread_t of the waiter; 0: free */
    int state;
    int leaving; /* the waiter is back, mutex held: the canceller stops retrying */
    pthread_cond_t *cond;
    pthread_mutex_t *mutex;
};

static pt_slot_t slots[PT_SLOTS];

static unsigned hash(uintptr_t t) { return (unsigned)((t >> 12) ^ (t >> 22)) % PT_SLOTS; }

static void leave_on_unwind(void *s) { (void)pt_cancel_leave(s); }

pt_slot_t *pt_cancel_enter(pthread_cond_t *c, pthread_mutex_t *m)
{
    uintptr_t self = pt_self();
    unsigned h = hash(self);
    for (unsigned i = 0; i < PT_SLOTS; i++) {
        pt_slot_t *s = &slots[(h + i) % PT_SLOTS];
        int expected = FREE;
        if (__atomic_load_n(&s->state, __ATOMIC_RELAXED) != FREE ||
            !__atomic_compare_exchange_n(&s->state, &expected, CLAIMING, false, __ATOMIC_ACQUIRE,
                                         __ATOMIC_RELAXED))
            continue;
        s->cond = c;
        s->mutex = m;
        s->leaving = 0;
        __atomic_store_n(&s->thread, self, __ATOMIC_RELAXED);
        __atomic_store_n(&s->state, WAITING, __ATOMIC_SEQ_CST);
        /* A cancellation requested before the slot was visible is acted on here; unwinding
         * from here frees the slot. */
        pthread_cleanup_push(leave_on_unwind, s);
        pthread_testcancel();
        pthread_cleanup_pop(0);
        return s;
    }
    return NULL; /* table full: this wait cannot be woken by a cancellation (docs) */
}

bool pt_cancel_leave(pt_slot_t *s)
{
    if (s == NULL)
        return false;
    int expected = WAITING;
    if (__atomic_compare_exchange_n(&s->state, &expected, FREE, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE))
        return false;
    /* A canceller is using (or has used) our condvar and mutex: let it finish first. */
    __atomic_store_n(&s->leaving, 1, __ATOMIC_RELAXED);
    while (__atomic_load_n(&s->state, __ATOMIC_ACQUIRE) != WOKEN)
        sched_yield();
    __atomic_store_n(&s->thread, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&s->state, FREE, __ATOMIC_RELEASE);
    return true;
}

static void wake(pt_slot_t *s)
{
    pl_cond_t *c = pt_cond_pl(s->cond);
    pl_mutex_t *m = pt_mutex_pl(s->mutex);
    pt_count(PT_COND_CANCEL_WAKES);
    (void)pl_cond_broadcast(c); /* waking the others too is a spurious wake-up for them */
    for (int i = 0; i < RETRIES && !__atomic_load_n(&s->leaving, __ATOMIC_RELAXED); i++) {
        if (pl_mutex_trylock(m)) {
            (void)pl_cond_broadcast(c);
            pl_mutex_unlock(m);
            return;
        }
        sched_yield();
        (void)pl_cond_broadcast(c);
    }
}

static void wake_waiter(uintptr_t target)
{
    unsigned h = hash(target);
    for (unsigned i = 0; i < PT_SLOTS; i++) {
        pt_slot_t *s = &slots[(h + i) % PT_SLOTS];
        if (__atomic_load_n(&s->thread, __ATOMIC_SEQ_CST) != target)
            continue;
        int expected = WAITING;
        if (!__atomic_compare_exchange_n(&s->state, &expected, WAKING, false, __ATOMIC_ACQ_REL,
                                         __ATOMIC_RELAXED))
            continue; /* not (or no longer) waiting there */
        if (__atomic_load_n(&s->thread, __ATOMIC_RELAXED) == target)
            wake(s);
        __atomic_store_n(&s->state, WOKEN, __ATOMIC_RELEASE);
        return;
    }
}

PT_EXPORT int pthread_cancel(pthread_t t)
{
    int rc = pt_real()->cancel(t);
    if (rc == 0 && t != pthread_self())
        wake_waiter((uintptr_t)t);
    return rc;
}

PT_COMPAT(pthread_cancel, "GLIBC_2.34", "GLIBC_2.2.5");
