/* pl-bench: libparking's operations as out-of-line functions in a shared library of their own
 * (libpb-parking-calls.so), so that pl-bench reaches them exactly as it reaches pthread, nsync,
 * Abseil and parking_lot: one call per operation, through the PLT, into code that holds the
 * whole operation (here the inline fast path of the header and, on contention, the call to
 * libparking's slow path).  The inlined figures are an extra, labelled column. */
#ifndef PL_BENCH_CALLS_PARKING_H
#define PL_BENCH_CALLS_PARKING_H

#include <stdbool.h>
#include <stdint.h>

void pb_call_pl_mutex_lock(void *lock);
void pb_call_pl_mutex_unlock(void *lock);
void pb_call_pl_rwlock_rdlock(void *lock);
void pb_call_pl_rwlock_rdunlock(void *lock);
void pb_call_pl_rwlock_wrlock(void *lock);
void pb_call_pl_rwlock_wrunlock(void *lock);
void pb_call_pl_call_once(void *once, void (*fn)(void *), void *arg);
int pb_call_pl_sem_post(void *sem);
void pb_call_pl_sem_wait(void *sem);
bool pb_call_pl_barrier_arrive_and_wait(void *barrier, void (*completion)(void *), void *arg);
void pb_call_pl_latch_arrive_and_wait(void *latch, uint32_t n);
void pb_call_pl_event_set(void *event);
void pb_call_pl_event_wait(void *event);

#endif
