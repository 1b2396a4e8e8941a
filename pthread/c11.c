/* C11 <threads.h> mutexes and condition variables.  glibc 2.34+ implements mtx_* and cnd_* on
 * its internal pthread functions, not the interposable symbols, so a program using them would
 * bypass us; they are defined here on the same implementation.  mtx_t and cnd_t have
 * pthread_mutex_t's and pthread_cond_t's layout (glibc's threads.h). */
#include "pt.h"

#include <errno.h>
#include <threads.h>

_Static_assert(sizeof(mtx_t) == sizeof(pthread_mutex_t), "glibc's mtx_t is a pthread_mutex_t");
_Static_assert(sizeof(cnd_t) == sizeof(pthread_cond_t), "glibc's cnd_t is a pthread_cond_t");

static int thrd_result(int rc)
{
    switch (rc) {
    case 0:
        return thrd_success;
    case EBUSY:
        return thrd_busy;
    case ETIMEDOUT:
        return thrd_timedout;
    case ENOMEM:
        return thrd_nomem;
    default:
        return thrd_error;
    }
}

#define MTX(m) ((pthread_mutex_t *)(void *)(m))
#define CND(c) ((pthread_cond_t *)(void *)(c))

PT_EXPORT int mtx_init(mtx_t *m, int type)
{
    pthread_mutexattr_t attr;
    (void)pthread_mutexattr_init(&attr);
    /* glibc: mtx_plain and mtx_timed are normal mutexes, mtx_recursive a recursive one. */
    if (type & mtx_recursive)
        (void)pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
    int rc = pthread_mutex_init(MTX(m), &attr);
    (void)pthread_mutexattr_destroy(&attr);
    return thrd_result(rc);
}

PT_EXPORT int mtx_lock(mtx_t *m) { return thrd_result(pthread_mutex_lock(MTX(m))); }
PT_EXPORT int mtx_trylock(mtx_t *m) { return thrd_result(pthread_mutex_trylock(MTX(m))); }
PT_EXPORT int mtx_timedlock(mtx_t *restrict m, const struct timespec *restrict ts)
{
    return thrd_result(pthread_mutex_timedlock(MTX(m), ts));
}
PT_EXPORT int mtx_unlock(mtx_t *m) { return thrd_result(pthread_mutex_unlock(MTX(m))); }
PT_EXPORT void mtx_destroy(mtx_t *m) { (void)pthread_mutex_destroy(MTX(m)); }

PT_EXPORT int cnd_init(cnd_t *c) { return thrd_result(pthread_cond_init(CND(c), NULL)); }
PT_EXPORT int cnd_signal(cnd_t *c) { return thrd_result(pthread_cond_signal(CND(c))); }
PT_EXPORT int cnd_broadcast(cnd_t *c) { return thrd_result(pthread_cond_broadcast(CND(c))); }
PT_EXPORT int cnd_wait(cnd_t *c, mtx_t *m) { return thrd_result(pthread_cond_wait(CND(c), MTX(m))); }
PT_EXPORT int cnd_timedwait(cnd_t *restrict c, mtx_t *restrict m, const struct timespec *restrict ts)
{
    return thrd_result(pthread_cond_timedwait(CND(c), MTX(m), ts));
}
PT_EXPORT void cnd_destroy(cnd_t *c) { (void)pthread_cond_destroy(CND(c)); }

PT_COMPAT(mtx_init, "GLIBC_2.34", "GLIBC_2.28");
PT_COMPAT(mtx_lock, "GLIBC_2.34", "GLIBC_2.28");
PT_COMPAT(mtx_trylock, "GLIBC_2.34", "GLIBC_2.28");
PT_COMPAT(mtx_timedlock, "GLIBC_2.34", "GLIBC_2.28");
PT_COMPAT(mtx_unlock, "GLIBC_2.34", "GLIBC_2.28");
PT_COMPAT(mtx_destroy, "GLIBC_2.34", "GLIBC_2.28");
PT_COMPAT(cnd_init, "GLIBC_2.34", "GLIBC_2.28");
PT_COMPAT(cnd_signal, "GLIBC_2.34", "GLIBC_2.28");
PT_COMPAT(cnd_broadcast, "GLIBC_2.34", "GLIBC_2.28");
PT_COMPAT(cnd_wait, "GLIBC_2.34", "GLIBC_2.28");
PT_COMPAT(cnd_timedwait, "GLIBC_2.34", "GLIBC_2.28");
PT_COMPAT(cnd_destroy, "GLIBC_2.34", "GLIBC_2.28");
