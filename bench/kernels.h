/* pl-bench: the inner loops of the mutex and rwlock workloads, written once.
 *
 * Each is an always-inline function that takes the lock operations as function pointers.  An
 * adapter instantiates it (PB_MUTEX_KERNELS / PB_RWLOCK_KERNELS) with its own static functions as
 * constant arguments, so after inlining the compiler sees direct calls and inlines the lock's
 * fast path into the loop, exactly as user code that calls pl_mutex_lock gets it.  Without this,
 * an indirect call per lock would cost as much as the one atomic instruction being measured.
 * Locks whose fast path is out of line (pthread, nsync, Abseil) keep their call, as users do.
 */
#ifndef PL_BENCH_KERNELS_H
#define PL_BENCH_KERNELS_H

#include "bench.h"

#if defined(__GNUC__) || defined(__clang__)
#  define PB_ALWAYS_INLINE static inline __attribute__((always_inline))
#else
#  define PB_ALWAYS_INLINE static inline
#endif

typedef void (*pb_lock_fn)(void *lock);

/* n times { lock; ++*counter; unlock } (uncontended workload). */
PB_ALWAYS_INLINE void pb_pairs_kernel(void *lock, uint64_t *counter, uint64_t n, pb_lock_fn lock_fn,
                                      pb_lock_fn unlock_fn)
{
    for (uint64_t i = 0; i < n; i++) {
        lock_fn(lock);
        /* volatile: the compiler may not merge the increments of consecutive critical sections
         * (it could, legally, for a lock it can see through). */
        ++*(volatile uint64_t *)counter;
        unlock_fn(lock);
    }
}

/* One step of LockSpeedTest's work: a dependent multiply-add chain on doubles, which neither
 * the compiler nor the CPU can shorten. */
#define PB_STEP(acc, v) ((acc) += (v), (acc) *= 1.01, (v) = (acc))

/* LockSpeedTest (WebKit, Rust parking_lot): lock; `in` steps on the shared value; unlock;
 * `out` steps on a private one; until *stop. */
PB_ALWAYS_INLINE void pb_speed_kernel(pb_speed_arg_t *a, pb_lock_fn lock_fn, pb_lock_fn unlock_fn)
{
    void *lock = a->lock;
    double *shared = a->shared_value;
    uint64_t *counter = a->shared_counter;
    const unsigned in = a->in, out = a->out;
    double v = 0.0, local = 0.0;
    uint64_t ops = 0;
    while (!__atomic_load_n(a->stop, __ATOMIC_RELAXED)) {
        lock_fn(lock);
        double s = *shared;
        for (unsigned i = 0; i < in; i++)
            PB_STEP(s, v);
        *shared = s;
        ++*counter;
        unlock_fn(lock);
        for (unsigned i = 0; i < out; i++)
            PB_STEP(local, v);
        ops++;
    }
    a->ops = ops;
    a->sink = v;
}

/* Many locks: pick a random entry, lock it, bump its counter, unlock; until *stop. */
PB_ALWAYS_INLINE void pb_many_kernel(pb_many_arg_t *a, pb_lock_fn lock_fn, pb_lock_fn unlock_fn)
{
    unsigned char *base = a->base;
    const size_t stride = a->stride, off = a->counter_offset, count = a->count;
    uint64_t seed = a->seed, ops = 0;
    while (!__atomic_load_n(a->stop, __ATOMIC_RELAXED)) {
        /* Multiply-shift maps the random word's top 32 bits onto [0, count) without a
         * division (count < 2^32). */
        size_t i = (size_t)(((pb_random(&seed) >> 32) * (uint64_t)count) >> 32);
        unsigned char *entry = base + i * stride;
        lock_fn(entry);
        ++*(uint32_t *)(void *)(entry + off);
        unlock_fn(entry);
        ops++;
    }
    a->ops = ops;
}

/* Readers and writers on one lock.  A write increments pair[0], does a little work, then
 * increments pair[1]; a read loads both and does the same work.  Outside the lock each thread
 * does private work, so that the lock is not hammered back to back. */
enum { PB_RW_INSIDE = 8, PB_RW_OUTSIDE = 32 };

PB_ALWAYS_INLINE void pb_rw_kernel(pb_rw_arg_t *a, pb_lock_fn rdlock, pb_lock_fn rdunlock,
                                   pb_lock_fn wrlock, pb_lock_fn wrunlock)
{
    void *lock = a->lock;
    volatile uint64_t *pair = a->pair;
    const uint64_t threshold = a->read_per_mille;
    uint64_t seed = a->seed, reads = 0, writes = 0, torn = 0;
    double v = 1.0, acc = 0.0;
    while (!__atomic_load_n(a->stop, __ATOMIC_RELAXED)) {
        if (pb_random(&seed) % 1000 < threshold) {
            rdlock(lock);
            uint64_t x = pair[0];
            for (unsigned i = 0; i < PB_RW_INSIDE; i++)
                PB_STEP(acc, v);
            uint64_t y = pair[1];
            rdunlock(lock);
            torn += x != y;
            reads++;
        } else {
            wrlock(lock);
            pair[0] = pair[0] + 1;
            for (unsigned i = 0; i < PB_RW_INSIDE; i++)
                PB_STEP(acc, v);
            pair[1] = pair[1] + 1;
            wrunlock(lock);
            writes++;
        }
        for (unsigned i = 0; i < PB_RW_OUTSIDE; i++)
            PB_STEP(acc, v);
    }
    a->reads = reads;
    a->writes = writes;
    a->torn = torn;
    a->sink = acc;
}

/* Instantiates prefix##_pairs, prefix##_speed and prefix##_many for one mutex. */
#define PB_MUTEX_KERNELS(prefix, lock_fn, unlock_fn)                                               \
  static void prefix##_pairs(void *lock, uint64_t *counter, uint64_t n)                            \
  {                                                                                                \
    pb_pairs_kernel(lock, counter, n, lock_fn, unlock_fn);                                         \
  }                                                                                                \
  static void prefix##_speed(pb_speed_arg_t *a) { pb_speed_kernel(a, lock_fn, unlock_fn); }        \
  static void prefix##_many(pb_many_arg_t *a) { pb_many_kernel(a, lock_fn, unlock_fn); }

/* Instantiates prefix##_rw for one rwlock. */
#define PB_RWLOCK_KERNELS(prefix, rdlock, rdunlock, wrlock, wrunlock)                              \
  static void prefix##_rw(pb_rw_arg_t *a) { pb_rw_kernel(a, rdlock, rdunlock, wrlock, wrunlock); }

#endif /* PL_BENCH_KERNELS_H */
