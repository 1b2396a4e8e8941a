/* pl-bench: libparking's operations as out-of-line functions in a shared library of their own
 * (libpb-parking-calls.so), so that pl-bench reaches them exactly as it reaches pthread, nsync,
 * Abseil and parking_lot: one call per operation, through the PLT, into code that holds the
 * whole operation (here the inline fast path of the header and, on contention, the call to
 * libparking's slow path).  The inlined figures are an extra, labelled column. */
#ifndef PL_BENCH_CALLS_PARKING_H
#define PL_BENCH_CALLS_PARKING_H

void pb_call_pl_mutex_lock(void *lock);
void pb_call_pl_mutex_unlock(void *lock);
void pb_call_pl_rwlock_rdlock(void *lock);
void pb_call_pl_rwlock_rdunlock(void *lock);
void pb_call_pl_rwlock_wrlock(void *lock);
void pb_call_pl_rwlock_wrunlock(void *lock);
void pb_call_pl_call_once(void *once, void (*fn)(void *), void *arg);

#endif
