/* pthread_mutex_* on pl_mutex_t (layout: pt.h).
 *
 * The type comes from __kind, written by glibc's static initialisers and by glibc's own
 * pthread_mutex_init (called from ours, so that the attributes land exactly as glibc puts them).
 * A normal mutex takes the inline pl_mutex fast path after one test of __kind.  Recursive and
 * error-checking mutexes record their owner (pthread_self()) and count; robust, priority-
 * inheritance, priority-protection and process-shared ones go to glibc whole (delegated). */
#include "pt.h"

#include <errno.h>

PT_EXPORT int pthread_mutex_init(pthread_mutex_t *m, const pthread_mutexattr_t *attr)
{
    int rc = pt_real()->mutex_init(m, attr);
    if (rc != 0)
        return rc;
    int kind = pt_mutex_kind(m);
    if (kind & PT_KIND_PI)
        pt_count(PT_MUTEX_DELEGATED_PI);
    else if (kind & PT_KIND_PP)
        pt_count(PT_MUTEX_DELEGATED_PP);
    else if (kind & PT_KIND_ROBUST) /* glibc also sets the process-shared bit of robust ones */
        pt_count(PT_MUTEX_DELEGATED_ROBUST);
    else if (kind & PT_KIND_PSHARED)
        pt_count(PT_MUTEX_DELEGATED_PSHARED);
    else
        pt_count((enum pt_counter)(PT_MUTEX_INIT_NORMAL + (kind & PT_KIND_TYPE)));
    return 0;
}

PT_EXPORT int pthread_mutex_destroy(pthread_mutex_t *m)
{
    int kind = pt_mutex_kind(m);
    if (kind & PT_KIND_DELEGATED)
        return pt_real()->mutex_destroy(m);
    /* Only a read: the memory is the caller's the moment the last unlock returned. */
    return pl_mutex_is_locked(pt_mutex_pl(m)) ? EBUSY : 0;
}

enum how { LOCK, TRY, TIMED };

/* Recursive and error-checking types: the owner's re-entry.  Returns -1 to go on locking. */
static int reenter(pthread_mutex_t *m, int type, enum how how, uintptr_t self)
{
    if (type != PTHREAD_MUTEX_RECURSIVE && type != PTHREAD_MUTEX_ERRORCHECK)
        return -1;
    if (__atomic_load_n(pt_mutex_owner(m), __ATOMIC_RELAXED) != self)
        return -1;
    if (type == PTHREAD_MUTEX_ERRORCHECK)
        return how == TRY ? EBUSY : EDEADLK; /* glibc's trylock says EBUSY */
    if (m->__data.__count + 1 == 0)
        return EAGAIN;
    m->__data.__count++;
    return 0;
}

static void take_ownership(pthread_mutex_t *m, int type, uintptr_t self)
{
    if (type == PTHREAD_MUTEX_RECURSIVE || type == PTHREAD_MUTEX_ERRORCHECK) {
        __atomic_store_n(pt_mutex_owner(m), self, __ATOMIC_RELAXED);
        m->__data.__count = 1;
    }
}

static int timed_lock(pthread_mutex_t *m, clockid_t clock, const struct timespec *abs)
{
    pl_mutex_t *pm = pt_mutex_pl(m);
    /* POSIX: the timespec need not be checked when the mutex is free (glibc does not). */
    if (pl_mutex_trylock(pm))
        return 0;
    int rc = pt_check_abstime(clock, abs);
    if (rc != 0)
        return rc;
    do {
        if (pl_mutex_lock_until(pm, pt_deadline(clock, abs)))
            return 0;
    } while (!pt_reached(clock, abs));
    return ETIMEDOUT;
}

static int acquire(pthread_mutex_t *m, int kind, enum how how, clockid_t clock,
                   const struct timespec *abs)
{
    int type = kind & PT_KIND_TYPE;
    uintptr_t self = pt_self();
    int rc = reenter(m, type, how, self);
    if (rc >= 0)
        return rc;
    switch (how) {
    case LOCK: pl_mutex_lock(pt_mutex_pl(m)); break;
    case TRY:
        if (!pl_mutex_trylock(pt_mutex_pl(m)))
            return EBUSY;
        break;
    case TIMED:
        rc = timed_lock(m, clock, abs);
        if (rc != 0)
            return rc;
        break;
    }
    pt_count_op(PT_MUTEX_LOCKS);
    take_ownership(m, type, self);
    return 0;
}

/* Not inlined into pthread_mutex_lock: its frame (four saved registers) would be the fast
 * path's too. */
__attribute__((noinline)) int pt_mutex_lock_slow(pthread_mutex_t *m, int kind)
{
    if (kind & PT_KIND_DELEGATED) {
        pt_count_op(PT_MUTEX_DELEGATED_OPS);
        return pt_real()->mutex_lock(m);
    }
    return acquire(m, kind, LOCK, CLOCK_REALTIME, NULL);
}

PT_EXPORT int pthread_mutex_lock(pthread_mutex_t *m)
{
    pt_prefetchw(m);
    int kind = pt_mutex_kind(m);
    if (PARKING_LIKELY((kind & PT_KIND_SLOW) == 0)) {
        pl_mutex_lock(pt_mutex_pl(m));
        pt_count_op(PT_MUTEX_LOCKS);
        return 0;
    }
    return pt_mutex_lock_slow(m, kind);
}

PT_EXPORT int pthread_mutex_trylock(pthread_mutex_t *m)
{
    int kind = pt_mutex_kind(m);
    if (kind & PT_KIND_DELEGATED) {
        pt_count_op(PT_MUTEX_DELEGATED_OPS);
        return pt_real()->mutex_trylock(m);
    }
    return acquire(m, kind, TRY, CLOCK_REALTIME, NULL);
}

PT_EXPORT int pthread_mutex_clocklock(pthread_mutex_t *m, clockid_t clock,
                                      const struct timespec *abs)
{
    int kind = pt_mutex_kind(m);
    if (kind & PT_KIND_DELEGATED) {
        pt_count_op(PT_MUTEX_DELEGATED_OPS);
        return pt_real()->mutex_clocklock(m, clock, abs);
    }
    /* glibc refuses an unsupported clock before anything else. */
    if (clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC)
        return EINVAL;
    return acquire(m, kind, TIMED, clock, abs);
}

PT_EXPORT int pthread_mutex_timedlock(pthread_mutex_t *m, const struct timespec *abs)
{
    int kind = pt_mutex_kind(m);
    if (kind & PT_KIND_DELEGATED) {
        pt_count_op(PT_MUTEX_DELEGATED_OPS);
        return pt_real()->mutex_timedlock(m, abs);
    }
    return acquire(m, kind, TIMED, CLOCK_REALTIME, abs);
}

int pt_mutex_unlock_slow(pthread_mutex_t *m, int kind)
{
    if (kind & PT_KIND_DELEGATED) {
        pt_count_op(PT_MUTEX_DELEGATED_OPS);
        return pt_real()->mutex_unlock(m);
    }
    int type = kind & PT_KIND_TYPE;
    if (type == PTHREAD_MUTEX_RECURSIVE || type == PTHREAD_MUTEX_ERRORCHECK) {
        if (__atomic_load_n(pt_mutex_owner(m), __ATOMIC_RELAXED) != pt_self())
            return EPERM;
        if (--m->__data.__count != 0)
            return 0;
        /* Before the release: afterwards the memory may already be someone else's. */
        __atomic_store_n(pt_mutex_owner(m), 0, __ATOMIC_RELAXED);
    }
    pl_mutex_unlock(pt_mutex_pl(m));
    return 0;
}

PT_EXPORT int pthread_mutex_unlock(pthread_mutex_t *m)
{
    pt_prefetchw(m);
    int kind = pt_mutex_kind(m);
    if (PARKING_LIKELY((kind & PT_KIND_SLOW) == 0)) {
        pl_mutex_unlock(pt_mutex_pl(m));
        return 0;
    }
    return pt_mutex_unlock_slow(m, kind);
}

PT_EXPORT int pthread_mutex_consistent(pthread_mutex_t *m)
{
    if (pt_mutex_kind(m) & PT_KIND_DELEGATED)
        return pt_real()->mutex_consistent(m);
    return EINVAL; /* not robust: glibc says the same */
}

PT_COMPAT(pthread_mutex_trylock, "GLIBC_2.34", "GLIBC_2.2.5");
PT_COMPAT(pthread_mutex_timedlock, "GLIBC_2.34", "GLIBC_2.2.5");
PT_COMPAT(pthread_mutex_clocklock, "GLIBC_2.34", "GLIBC_2.30");
PT_COMPAT(pthread_mutex_consistent, "GLIBC_2.34", "GLIBC_2.12");
