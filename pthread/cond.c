/* pthread_cond_* on pl_cond_t (layout: pt.h).
 *
 * Our pl_cond_t word sits on glibc's __g_refs[2]: glibc's per-group counts of waiters inside a
 * futex wait, zero whenever no glibc waiter is inside.  Bit 0 of __wrefs, glibc's
 * "process-shared" bit, is our "delegated" mark: set by glibc's init for a process-shared
 * condvar, and set by us (once, for good) when a private condvar is first waited on with a
 * delegated mutex (robust, priority-inheritance...), since glibc's wait must then unlock and
 * relock that mutex itself.  For glibc the bit only means "use shared futexes", which works on
 * private memory too, so a private condvar marked that way stays correct under glibc.
 *
 * The mark is set by a waiter that holds the mutex, before glibc's wait releases it, so every
 * signaller that changed the predicate under the mutex sees it.  A delegated condvar cannot wait
 * with one of our mutexes (glibc's wait would unlock our byte with its own protocol): that wait
 * returns EINVAL, POSIX's answer for a condvar used with two mutexes (docs/pthread.md). */
#include "pt.h"

#include <errno.h>

static bool delegated(pthread_cond_t *c)
{
    return (__atomic_load_n(pt_cond_wrefs(c), __ATOMIC_RELAXED) & PT_COND_SHARED) != 0;
}

PT_EXPORT int pthread_cond_init(pthread_cond_t *c, const pthread_condattr_t *attr)
{
    int rc = pt_real()->cond_init(c, attr);
    if (rc != 0)
        return rc;
    pt_count(delegated(c) ? PT_COND_DELEGATED_PSHARED : PT_COND_INIT);
    return 0;
}

PT_EXPORT int pthread_cond_destroy(pthread_cond_t *c)
{
    if (delegated(c))
        return pt_real()->cond_destroy(c);
    return 0; /* nothing to free; a pl_cond_t with waiters is the caller's bug, as in POSIX */
}

PT_EXPORT int pthread_cond_signal(pthread_cond_t *c)
{
    if (delegated(c))
        return pt_real()->cond_signal(c);
    (void)pl_cond_signal(pt_cond_pl(c));
    return 0;
}

PT_EXPORT int pthread_cond_broadcast(pthread_cond_t *c)
{
    if (delegated(c))
        return pt_real()->cond_broadcast(c);
    (void)pl_cond_broadcast(pt_cond_pl(c));
    return 0;
}

/* A wait with a delegated mutex: glibc's, on a condvar marked delegated first. */
static int delegated_wait(pthread_cond_t *c, pthread_mutex_t *m, int how, clockid_t clock,
                          const struct timespec *abs)
{
    if (!delegated(c)) {
        if (__atomic_load_n(&pt_cond_pl(c)->mutex, __ATOMIC_RELAXED) != NULL)
            return EINVAL; /* our waiters are inside with another mutex */
        unsigned old = __atomic_fetch_or(pt_cond_wrefs(c), PT_COND_SHARED, __ATOMIC_SEQ_CST);
        if (!(old & PT_COND_SHARED))
            pt_count(PT_COND_DELEGATED_BY_MUTEX);
    }
    pt_count_op(PT_COND_DELEGATED_WAITS);
    const pt_real_t *r = pt_real();
    if (how == 0)
        return r->cond_wait(c, m);
    if (how == 1)
        return r->cond_timedwait(c, m, abs);
    return r->cond_clockwait(c, m, clock, abs);
}

/* how: 0 wait, 1 timedwait (the condvar's clock), 2 clockwait (`clock`). */
static int wait(pthread_cond_t *c, pthread_mutex_t *m, int how, clockid_t clock,
                const struct timespec *abs)
{
    int kind = pt_mutex_kind(m);
    if (kind & PT_KIND_DELEGATED)
        return delegated_wait(c, m, how, clock, abs);
    if (delegated(c)) {
        pt_count(PT_COND_MIXED_EINVAL);
        return EINVAL;
    }
    if (how == 1)
        clock = (__atomic_load_n(pt_cond_wrefs(c), __ATOMIC_RELAXED) & PT_COND_MONOTONIC)
                    ? CLOCK_MONOTONIC
                    : CLOCK_REALTIME;
    if (how != 0) {
        int rc = pt_check_abstime(clock, abs);
        if (rc != 0)
            return rc;
    }
    int type = kind & PT_KIND_TYPE;
    bool owned = type == PTHREAD_MUTEX_RECURSIVE || type == PTHREAD_MUTEX_ERRORCHECK;
    uintptr_t self = pt_self();
    if (owned && __atomic_load_n(pt_mutex_owner(m), __ATOMIC_RELAXED) != self)
        return EPERM;
    /* A cancellation point: a pending cancellation acts before sleeping, here or once the wait
     * is registered for pthread_cancel (pt_cancel_enter), with the mutex held and its owner
     * still recorded, as glibc's cleanup handlers expect. */
    pthread_testcancel();
    pt_slot_t *slot = pt_cancel_enter(c, m);
    /* From here until the owner is recorded again, no cancellation may act (its handlers would
     * find the mutex held but not owned, and unwind a thread still queued in the parking lot):
     * it is held off, stays pending, and acts below (woken by pthread_cancel) or at the next
     * cancellation point.  The parking lot itself has none on Linux; chaos mode's runs showed
     * one acting in there all the same (handler found the mutex locked, owner 0). */
    int cancel_state;
    (void)pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel_state);
    unsigned count = 0;
    if (owned) {
        /* The wait releases every hold of a recursive mutex and gives them back after. */
        count = m->__data.__count;
        m->__data.__count = 0;
        __atomic_store_n(pt_mutex_owner(m), 0, __ATOMIC_RELAXED);
    }
    pt_count(PT_COND_WAITS);
    bool signalled;
    if (how == 0) {
        pl_cond_wait(pt_cond_pl(c), pt_mutex_pl(m));
        signalled = true;
    } else {
        signalled = pl_cond_wait_until(pt_cond_pl(c), pt_mutex_pl(m), pt_deadline(clock, abs));
    }
    if (owned) {
        __atomic_store_n(pt_mutex_owner(m), self, __ATOMIC_RELAXED);
        m->__data.__count = count;
    }
    (void)pthread_setcancelstate(cancel_state, NULL);
    if (pt_cancel_leave(slot)) {
        /* Woken by pthread_cancel: the wake-up may have taken a signal meant for another
         * waiter; pass one on (a spurious wake-up at worst), then unwind with the mutex held. */
        (void)pl_cond_signal(pt_cond_pl(c));
        pthread_testcancel();
    }
    if (signalled)
        return 0;
    /* Timed out on the monotonic clock.  If the caller's clock has not reached the deadline
     * (CLOCK_REALTIME set backwards), return as a spurious wake-up, which POSIX allows and the
     * caller's loop handles; waiting again here could miss a signal sent while we relocked. */
    return pt_reached(clock, abs) ? ETIMEDOUT : 0;
}

PT_EXPORT int pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m)
{
    return wait(c, m, 0, CLOCK_REALTIME, NULL);
}

PT_EXPORT int pthread_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m,
                                     const struct timespec *abs)
{
    return wait(c, m, 1, CLOCK_REALTIME, abs);
}

PT_EXPORT int pthread_cond_clockwait(pthread_cond_t *c, pthread_mutex_t *m, clockid_t clock,
                                     const struct timespec *abs)
{
    return wait(c, m, 2, clock, abs);
}

PT_COMPAT(pthread_cond_clockwait, "GLIBC_2.34", "GLIBC_2.30");
