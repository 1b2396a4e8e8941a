/* pl-bench: Rust's parking_lot 0.12, the library libparking's design comes from, built only
 * when CMake found cargo and Debian's crate sources (bench/parking_lot.cmake).  Its locks are
 * reached through the extern "C" functions of bench/parking_lot/src/lib.rs, a shared library:
 * one out-of-line call per operation, as for pthread.  A Rust program would inline parking_lot's
 * fast paths; from C, nobody can.  The memory is ours; the Rust side writes its locks in place
 * and allocates nothing.  Sizes come from the Rust side at run time, hence the non-const ops. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "kernels.h"

/* bench/parking_lot/src/lib.rs.  bool and size_t are Rust's bool and usize in the C ABI. */
size_t pb_parking_lot_mutex_bytes(void);
size_t pb_parking_lot_mutex_align(void);
void pb_parking_lot_mutex_init(void *lock);
void pb_parking_lot_mutex_lock(void *lock);
void pb_parking_lot_mutex_unlock(void *lock);
bool pb_parking_lot_mutex_is_locked(void *lock);

size_t pb_parking_lot_rwlock_bytes(void);
size_t pb_parking_lot_rwlock_align(void);
void pb_parking_lot_rwlock_init(void *lock);
void pb_parking_lot_read_lock(void *lock);
void pb_parking_lot_read_unlock(void *lock);
void pb_parking_lot_write_lock(void *lock);
void pb_parking_lot_write_unlock(void *lock);
bool pb_parking_lot_rwlock_is_locked(void *lock);

size_t pb_parking_lot_cond_mutex_bytes(void);
size_t pb_parking_lot_cond_mutex_align(void);
void pb_parking_lot_cond_mutex_init(void *mutex);
void pb_parking_lot_cond_mutex_lock(void *mutex);
void pb_parking_lot_cond_mutex_unlock(void *mutex);
bool pb_parking_lot_cond_mutex_is_locked(void *mutex);
size_t pb_parking_lot_cond_bytes(void);
size_t pb_parking_lot_cond_align(void);
void pb_parking_lot_cond_init(void *cond);
void pb_parking_lot_cond_wait(void *cond, void *mutex);
void pb_parking_lot_cond_notify_one(void *cond);
size_t pb_parking_lot_cond_notify_all(void *cond);

size_t pb_parking_lot_once_bytes(void);
void pb_parking_lot_once_init(void *once);
void pb_parking_lot_once_call(void *once, void (*init)(void));

uint32_t pb_parking_lot_wait_while(void *word, uint32_t expected);
void pb_parking_lot_set_and_wake(void *word, uint32_t value);

/* ---- parking_lot::RawMutex ---- */

static void prlm_init(void *lock, bool zeroed)
{
    (void)zeroed; /* RawMutex::INIT is written either way (lib.rs says why) */
    pb_parking_lot_mutex_init(lock);
}

static void prlm_destroy(void *lock)
{
    /* A RawMutex needs no destroying; this is the "left unlocked" check. */
    if (pb_parking_lot_mutex_is_locked(lock))
        pb_fatal("parking_lot::RawMutex %p still locked after all threads finished", lock);
}

static void prlm_lock(void *lock) { pb_parking_lot_mutex_lock(lock); }
static void prlm_unlock(void *lock) { pb_parking_lot_mutex_unlock(lock); }
PB_MUTEX_KERNELS(prlm, prlm_lock, prlm_unlock)

static pb_mutex_ops_t prlm = {
    .name = "parking_lot::RawMutex",
    .role = PB_PEER,
    .init = prlm_init,
    .destroy = prlm_destroy,
    .lock = prlm_lock,
    .unlock = prlm_unlock,
    .pairs = prlm_pairs,
    .speed = prlm_speed,
    .many = prlm_many,
};

/* ---- parking_lot::RawRwLock ---- */

static void prlrw_init(void *lock) { pb_parking_lot_rwlock_init(lock); }

static void prlrw_destroy(void *lock)
{
    if (pb_parking_lot_rwlock_is_locked(lock))
        pb_fatal("parking_lot::RawRwLock %p still locked after all threads finished", lock);
}

static void prlrw_rdlock(void *l) { pb_parking_lot_read_lock(l); }
static void prlrw_rdunlock(void *l) { pb_parking_lot_read_unlock(l); }
static void prlrw_wrlock(void *l) { pb_parking_lot_write_lock(l); }
static void prlrw_wrunlock(void *l) { pb_parking_lot_write_unlock(l); }
PB_RWLOCK_KERNELS(prlrw, prlrw_rdlock, prlrw_rdunlock, prlrw_wrlock, prlrw_wrunlock)

static pb_rwlock_ops_t prlrw = {
    .name = "parking_lot::RawRwLock",
    .role = PB_PEER,
    .init = prlrw_init,
    .destroy = prlrw_destroy,
    .run = prlrw_rw,
};

/* ---- parking_lot::Condvar with parking_lot::Mutex<()> ---- */

static void prlc_mutex_destroy(void *mutex)
{
    if (pb_parking_lot_cond_mutex_is_locked(mutex))
        pb_fatal("parking_lot::Mutex %p still locked after all threads finished", mutex);
}

static void prlc_cond_destroy(void *cond)
{
    /* parking_lot's Condvar cannot be asked whether anybody waits; a broadcast that wakes
     * somebody answers it (and a correct run has nobody left to wake). */
    if (pb_parking_lot_cond_notify_all(cond) != 0)
        pb_fatal("parking_lot::Condvar %p still had waiters after all threads finished", cond);
}

static void prlc_broadcast(void *cond) { (void)pb_parking_lot_cond_notify_all(cond); }

static pb_cond_ops_t prlc = {
    .name = "parking_lot::Condvar+Mutex",
    .role = PB_PEER,
    .mutex_init = pb_parking_lot_cond_mutex_init,
    .mutex_destroy = prlc_mutex_destroy,
    .cond_init = pb_parking_lot_cond_init,
    .cond_destroy = prlc_cond_destroy,
    .lock = pb_parking_lot_cond_mutex_lock,
    .unlock = pb_parking_lot_cond_mutex_unlock,
    .wait = pb_parking_lot_cond_wait,
    .signal = pb_parking_lot_cond_notify_one,
    .broadcast = prlc_broadcast,
};

/* ---- parking_lot_core::park / unpark_one on the word itself ---- */

static void prlw_init(void *ev) { memset(ev, 0, PB_EVENT_BYTES); }
static void prlw_destroy(void *ev) { (void)ev; }

static const pb_event_ops_t prlw = {
    .name = "parking_lot_core::park",
    .role = PB_PEER,
    .init = prlw_init,
    .destroy = prlw_destroy,
    .wait_while = pb_parking_lot_wait_while,
    .set_and_wake = pb_parking_lot_set_and_wake,
};

/* ---- parking_lot::Once ---- */

static size_t prlo_bytes;

static void *prlo_alloc(size_t count)
{
    unsigned char *onces = pb_xcalloc(count, prlo_bytes);
    for (size_t i = 0; i < count; i++)
        pb_parking_lot_once_init(onces + i * prlo_bytes);
    return onces;
}

static void prlo_call(void *onces, size_t index, void (*fn)(void))
{
    pb_parking_lot_once_call((unsigned char *)onces + index * prlo_bytes, fn);
}

/* The Once of the "done" workload, written by pb_parking_lot_register before any use. */
static _Alignas(16) unsigned char prlo_done[16];
static uint64_t prlo_runs;
static void prlo_count(void) { prlo_runs++; }

static uint64_t prlo_fast(uint64_t n)
{
    uint64_t sum = 0;
    pb_parking_lot_once_call(prlo_done, prlo_count);
    for (uint64_t i = 0; i < n; i++) {
        pb_parking_lot_once_call(prlo_done, prlo_count);
        sum += *(volatile uint64_t *)&prlo_runs;
    }
    return sum;
}

static pb_once_ops_t prlo = {
    .name = "parking_lot::Once",
    .role = PB_PEER,
    .alloc = prlo_alloc,
    .call = prlo_call,
    .fast = prlo_fast,
};

void pb_parking_lot_register(void)
{
    prlm.bytes = pb_parking_lot_mutex_bytes();
    prlm.align = pb_parking_lot_mutex_align();
    prlrw.bytes = pb_parking_lot_rwlock_bytes();
    prlrw.align = pb_parking_lot_rwlock_align();
    prlc.bytes = pb_parking_lot_cond_bytes();
    prlc.mutex_bytes = pb_parking_lot_cond_mutex_bytes();
    prlo.bytes = prlo_bytes = pb_parking_lot_once_bytes();
    /* The workloads place condvars and mutexes in 128-byte-aligned cells, and the done Once in
     * prlo_done: enough for parking_lot's 1-byte and 1-word objects, checked all the same. */
    if (pb_parking_lot_cond_align() > 128 || pb_parking_lot_cond_mutex_align() > 128 ||
        prlo_bytes > sizeof prlo_done)
        pb_fatal("parking_lot's Condvar, Mutex or Once is larger or more aligned than expected");
    pb_parking_lot_once_init(prlo_done);
    pb_register_mutex(&prlm);
    pb_register_rwlock(&prlrw);
    pb_register_cond(&prlc);
    pb_register_event(&prlw);
    pb_register_once(&prlo);
}
