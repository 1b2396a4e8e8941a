/* pl-bench: the out-of-line libparking calls of calls_parking.h, built into their own shared
 * library: what a user would get if libparking exported its fast paths as functions. */
#include "calls_parking.h"

#include <parking/barrier.h>
#include <parking/event.h>
#include <parking/latch.h>
#include <parking/mutex.h>
#include <parking/once.h>
#include <parking/rwlock.h>
#include <parking/semaphore.h>

void pb_call_pl_mutex_lock(void *lock) { pl_mutex_lock(lock); }
void pb_call_pl_mutex_unlock(void *lock) { pl_mutex_unlock(lock); }
void pb_call_pl_rwlock_rdlock(void *lock) { pl_rwlock_rdlock(lock); }
void pb_call_pl_rwlock_rdunlock(void *lock) { pl_rwlock_rdunlock(lock); }
void pb_call_pl_rwlock_wrlock(void *lock) { pl_rwlock_wrlock(lock); }
void pb_call_pl_rwlock_wrunlock(void *lock) { pl_rwlock_wrunlock(lock); }

void pb_call_pl_call_once(void *once, void (*fn)(void *), void *arg)
{
    pl_call_once(once, fn, arg);
}

int pb_call_pl_sem_post(void *sem) { return pl_sem_post(sem); }
void pb_call_pl_sem_wait(void *sem) { pl_sem_wait(sem); }
bool pb_call_pl_barrier_arrive_and_wait(void *barrier, void (*completion)(void *), void *arg)
{
    return pl_barrier_arrive_and_wait(barrier, completion, arg);
}
void pb_call_pl_latch_arrive_and_wait(void *latch, uint32_t n)
{
    pl_latch_arrive_and_wait(latch, n);
}
void pb_call_pl_event_set(void *event) { pl_event_set(event); }
void pb_call_pl_event_wait(void *event) { pl_event_wait(event); }
