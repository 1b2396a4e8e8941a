/* pthread_rwlock_* on pl_rwlock_t (layout: pt.h).
 *
 * Kinds (__flags, from pthread_rwlockattr_setkind_np or the static initialisers):
 * PTHREAD_RWLOCK_PREFER_READER_NP (the default) and PREFER_WRITER_NP, which glibc treats as the
 * reader-preferring one, let a reader in while a writer waits for its turn as long as other
 * readers hold the lock (pl_rwlock's recursive read): POSIX lets a thread take a read lock it
 * already holds, and that must not deadlock against a queued writer.  PREFER_WRITER_NONRECURSIVE
 * holds new readers back behind a waiting writer (pl_rwlock's plain read), where, as glibc
 * documents, a recursive read lock may deadlock.  Process-shared rwlocks are delegated.
 * The writer is recorded (pthread_self()) for glibc's EDEADLK and for unlock to know which hold
 * it releases. */
#include "pt.h"

#include <errno.h>

static bool delegated(const pthread_rwlock_t *l)
{
    return __atomic_load_n(&l->__data.__shared, __ATOMIC_RELAXED) != 0;
}

static bool nonrecursive(const pthread_rwlock_t *l)
{
    return l->__data.__flags == PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP;
}

static uintptr_t writer(pthread_rwlock_t *l)
{
    return __atomic_load_n(pt_rwlock_writer(l), __ATOMIC_RELAXED);
}

PT_EXPORT int pthread_rwlock_init(pthread_rwlock_t *l, const pthread_rwlockattr_t *attr)
{
    int rc = pt_real()->rwlock_init(l, attr);
    if (rc != 0)
        return rc;
    pt_count(delegated(l) ? PT_RWLOCK_DELEGATED_PSHARED : PT_RWLOCK_INIT);
    return 0;
}

PT_EXPORT int pthread_rwlock_destroy(pthread_rwlock_t *l)
{
    if (delegated(l))
        return pt_real()->rwlock_destroy(l);
    return 0;
}

/* A read lock until `deadline` (PL_FOREVER: none; 0: one try), of the lock's kind. */
static bool read_until(pthread_rwlock_t *l, uint64_t deadline)
{
    pl_rwlock_t *p = pt_rwlock_pl(l);
    if (nonrecursive(l))
        return pl_rwlock_rdlock_until(p, deadline);
    /* pl_rwlock_rdlock_recursive with a deadline: the same fast path, the recursive slow
     * path, annotated as the public functions are. */
    PL__ANN_LOCK_PRE(p, PL_RWLOCK__ANN_R | PL__ANN_RECURSIVE | PL__ANN_TRY);
    bool ok = pl_rwlock__try_fast(p, PL_RWLOCK__SHARED) ||
              PL__ANN_SLOW_BOOL(p, pl_rwlock_lock_slow(p, PL_RWLOCK__RECURSIVE, deadline,
                                                         "pthread_rwlock_rdlock"));
    PL__ANN_LOCK_POST(p, PL__ANN_RESULT(PL_RWLOCK__ANN_R | PL__ANN_RECURSIVE | PL__ANN_TRY, ok));
    return ok;
}

static int timed(pthread_rwlock_t *l, bool write, clockid_t clock, const struct timespec *abs)
{
    if (writer(l) == pt_self())
        return EDEADLK;
    pl_rwlock_t *p = pt_rwlock_pl(l);
    /* A free lock is taken without looking at the timespec, as glibc does. */
    if (write ? pl_rwlock_trywrlock(p) : read_until(l, 0))
        goto taken;
    int rc = pt_check_abstime(clock, abs);
    if (rc != 0)
        return rc;
    do {
        uint64_t deadline = pt_deadline(clock, abs);
        if (write ? pl_rwlock_wrlock_until(p, deadline) : read_until(l, deadline))
            goto taken;
    } while (!pt_reached(clock, abs));
    return ETIMEDOUT;
taken:
    if (write)
        __atomic_store_n(pt_rwlock_writer(l), pt_self(), __ATOMIC_RELAXED);
    pt_count_op(PT_RWLOCK_LOCKS);
    return 0;
}

#define DELEGATE(call)                                                                             \
  do {                                                                                             \
    if (delegated(l)) {                                                                            \
      pt_count_op(PT_RWLOCK_DELEGATED_OPS);                                                        \
      return pt_real()->call;                                                                      \
    }                                                                                              \
  } while (0)

PT_EXPORT int pthread_rwlock_rdlock(pthread_rwlock_t *l)
{
    DELEGATE(rwlock_rdlock(l));
    if (writer(l) == pt_self())
        return EDEADLK;
    (void)read_until(l, PL_FOREVER);
    pt_count_op(PT_RWLOCK_LOCKS);
    return 0;
}

PT_EXPORT int pthread_rwlock_tryrdlock(pthread_rwlock_t *l)
{
    DELEGATE(rwlock_tryrdlock(l));
    if (!read_until(l, 0))
        return EBUSY;
    pt_count_op(PT_RWLOCK_LOCKS);
    return 0;
}

PT_EXPORT int pthread_rwlock_timedrdlock(pthread_rwlock_t *l, const struct timespec *abs)
{
    DELEGATE(rwlock_timedrdlock(l, abs));
    return timed(l, false, CLOCK_REALTIME, abs);
}

PT_EXPORT int pthread_rwlock_clockrdlock(pthread_rwlock_t *l, clockid_t clock,
                                         const struct timespec *abs)
{
    DELEGATE(rwlock_clockrdlock(l, clock, abs));
    if (clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC)
        return EINVAL;
    return timed(l, false, clock, abs);
}

PT_EXPORT int pthread_rwlock_wrlock(pthread_rwlock_t *l)
{
    DELEGATE(rwlock_wrlock(l));
    uintptr_t self = pt_self();
    if (writer(l) == self)
        return EDEADLK;
    pl_rwlock_wrlock(pt_rwlock_pl(l));
    __atomic_store_n(pt_rwlock_writer(l), self, __ATOMIC_RELAXED);
    pt_count_op(PT_RWLOCK_LOCKS);
    return 0;
}

PT_EXPORT int pthread_rwlock_trywrlock(pthread_rwlock_t *l)
{
    DELEGATE(rwlock_trywrlock(l));
    if (!pl_rwlock_trywrlock(pt_rwlock_pl(l)))
        return EBUSY;
    __atomic_store_n(pt_rwlock_writer(l), pt_self(), __ATOMIC_RELAXED);
    pt_count_op(PT_RWLOCK_LOCKS);
    return 0;
}

PT_EXPORT int pthread_rwlock_timedwrlock(pthread_rwlock_t *l, const struct timespec *abs)
{
    DELEGATE(rwlock_timedwrlock(l, abs));
    return timed(l, true, CLOCK_REALTIME, abs);
}

PT_EXPORT int pthread_rwlock_clockwrlock(pthread_rwlock_t *l, clockid_t clock,
                                         const struct timespec *abs)
{
    DELEGATE(rwlock_clockwrlock(l, clock, abs));
    if (clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC)
        return EINVAL;
    return timed(l, true, clock, abs);
}

PT_EXPORT int pthread_rwlock_unlock(pthread_rwlock_t *l)
{
    DELEGATE(rwlock_unlock(l));
    if (writer(l) == pt_self()) {
        /* Cleared before the release: afterwards the memory may be someone else's. */
        __atomic_store_n(pt_rwlock_writer(l), 0, __ATOMIC_RELAXED);
        pl_rwlock_wrunlock(pt_rwlock_pl(l));
    } else {
        pl_rwlock_rdunlock(pt_rwlock_pl(l));
    }
    return 0;
}

PT_COMPAT(pthread_rwlock_init, "GLIBC_2.34", "GLIBC_2.2.5");
PT_COMPAT(pthread_rwlock_destroy, "GLIBC_2.34", "GLIBC_2.2.5");
PT_COMPAT(pthread_rwlock_rdlock, "GLIBC_2.34", "GLIBC_2.2.5");
PT_COMPAT(pthread_rwlock_tryrdlock, "GLIBC_2.34", "GLIBC_2.2.5");
PT_COMPAT(pthread_rwlock_timedrdlock, "GLIBC_2.34", "GLIBC_2.2.5");
PT_COMPAT(pthread_rwlock_wrlock, "GLIBC_2.34", "GLIBC_2.2.5");
PT_COMPAT(pthread_rwlock_trywrlock, "GLIBC_2.34", "GLIBC_2.2.5");
PT_COMPAT(pthread_rwlock_timedwrlock, "GLIBC_2.34", "GLIBC_2.2.5");
PT_COMPAT(pthread_rwlock_unlock, "GLIBC_2.34", "GLIBC_2.2.5");
PT_COMPAT(pthread_rwlock_clockrdlock, "GLIBC_2.34", "GLIBC_2.30");
PT_COMPAT(pthread_rwlock_clockwrlock, "GLIBC_2.34", "GLIBC_2.30");
