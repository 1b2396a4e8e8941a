/* Portable parker backend: a mutex and condition variable per thread. */
#include "parker.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "chaos.h"
#include <parking/lot.h>

static void check(int err, const char *what)
{
    if (err != 0) {
        fprintf(stderr, "libparking: %s failed: error %d\n", what, err);
        abort();
    }
}

void pl_parker_init(pl_parker_t *p)
{
    p->state = PL_PARKER_FREE;
    check(pthread_mutex_init(&p->mutex, NULL), "pthread_mutex_init");
    pthread_condattr_t attr;
    check(pthread_condattr_init(&attr), "pthread_condattr_init");
#if !defined(__APPLE__)
    /* Deadlines are pl_now() values: the condition variable must time out on the same clock,
     * or a wall-clock jump would stretch or cut every timed wait. */
    check(pthread_condattr_setclock(&attr, CLOCK_MONOTONIC), "pthread_condattr_setclock");
#endif
    check(pthread_cond_init(&p->cond, &attr), "pthread_cond_init");
    pthread_condattr_destroy(&attr);
}

void pl_parker_destroy(pl_parker_t *p)
{
    pthread_cond_destroy(&p->cond);
    pthread_mutex_destroy(&p->mutex);
}

void pl_parker_prepare(pl_parker_t *p)
{
    __atomic_store_n(&p->state, PL_PARKER_PARKED, __ATOMIC_RELAXED);
}

/* pthread_cond_wait and _timedwait are cancellation points; a park is not (no lock operation
 * is): a cancellation acting here would unwind a thread still queued in the parking lot.  So
 * cancellation is held off while the parker sleeps; it stays pending for the caller's next
 * cancellation point. */
void pl_parker_park(pl_parker_t *p)
{
    int old;
    (void)pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
    pthread_mutex_lock(&p->mutex);
    while (__atomic_load_n(&p->state, __ATOMIC_RELAXED) != PL_PARKER_FREE)
        pthread_cond_wait(&p->cond, &p->mutex);
    pthread_mutex_unlock(&p->mutex);
    (void)pthread_setcancelstate(old, NULL);
}

static struct timespec to_timespec(uint64_t deadline)
{
#if defined(__APPLE__)
    /* No monotonic condition variables on macOS: convert to a wall-clock deadline. */
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    uint64_t rel = deadline - pl_now();
    uint64_t abs = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec + rel;
    deadline = abs;
#endif
    struct timespec ts;
    ts.tv_sec = (time_t)(deadline / 1000000000u);
    ts.tv_nsec = (long)(deadline % 1000000000u);
    return ts;
}

bool pl_parker_park_until(pl_parker_t *p, uint64_t deadline)
{
    if (deadline == PL_FOREVER) {
        pl_parker_park(p);
        return true;
    }
    int old;
    (void)pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
    pthread_mutex_lock(&p->mutex);
    while (__atomic_load_n(&p->state, __ATOMIC_RELAXED) != PL_PARKER_FREE) {
        if (pl_now() >= deadline)
            break;
        struct timespec ts = to_timespec(deadline);
        (void)pthread_cond_timedwait(&p->cond, &p->mutex, &ts);
    }
    bool unparked = __atomic_load_n(&p->state, __ATOMIC_RELAXED) == PL_PARKER_FREE;
    pthread_mutex_unlock(&p->mutex);
    (void)pthread_setcancelstate(old, NULL);
    PL_CHAOS_POINT(); /* timed out and about to relock the bucket: a claim may come first */
    return unparked;
}

bool pl_parker_timed_out(pl_parker_t *p)
{
    return __atomic_load_n(&p->state, __ATOMIC_RELAXED) == PL_PARKER_PARKED;
}

void pl_parker_claim(pl_parker_t *p)
{
    __atomic_store_n(&p->state, PL_PARKER_CLAIMED, __ATOMIC_RELAXED);
}

void pl_parker_wake(pl_parker_t *p)
{
    /* The signal is sent while holding the target's mutex: the target cannot see FREE, return
     * and destroy the condition variable until we unlock, so the signal never touches a dead
     * object.  POSIX allows destroying a mutex as soon as it is unlocked. */
    PL_CHAOS_POINT(); /* claimed, not yet woken */
    pthread_mutex_lock(&p->mutex);
    __atomic_store_n(&p->state, PL_PARKER_FREE, __ATOMIC_RELAXED);
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->mutex);
}
