/* pl-bench: shared declarations (contenders, workloads, helpers). */
#ifndef PL_BENCH_H
#define PL_BENCH_H

#include <stddef.h>
#include <stdint.h>

/* Alignment and size of the block holding the lock under test: two 64-byte lines, so that
 * adjacent-line prefetch cannot drag anything else into it. */
#define PB_CELL_BYTES 128
/* Largest lock a contender may declare (pthread_mutex_t is 40 bytes on x86-64 glibc). */
#define PB_MAX_LOCK_BYTES 64

/* The data the lock protects.  It sits right after the lock (rounded up to its alignment), as
 * in a user's struct { lock; data; }, on the lock's own cache line. */
typedef struct pb_shared {
    double value;      /* LockSpeedTest's shared value */
    uint64_t counter;  /* plain, non-atomic count of critical sections, verified after a run */
} pb_shared_t;

/* One lock implementation under test. */
typedef struct pb_contender {
    const char *name;
    size_t bytes;                     /* sizeof one lock */
    void (*init)(void *lock);         /* on PB_MAX_LOCK_BYTES of garbage-filled memory */
    void (*lock)(void *lock);
    void (*unlock)(void *lock);
    void (*destroy)(void *lock);      /* aborts if the lock was not left clean and unlocked */
    /* n times {lock; shared->counter++; unlock} with the lock calls compiled inline, exactly as
     * user code gets them (used by the uncontended workload, where an indirect call would
     * dominate the cost of a one-instruction fast path). */
    void (*pairs)(void *lock, pb_shared_t *shared, uint64_t n);
} pb_contender_t;

/* contenders.c: every contender, the baseline (pthread_mutex_t) last. */
extern const pb_contender_t *const pb_contenders[];
extern const size_t pb_ncontenders;
const pb_contender_t *pb_baseline(void);

/* One measurement.  value: ns per lock+unlock pair (uncontended) or ops/s (contended).
 * fairness: min/max per-thread ops (contended only). */
typedef struct pb_result {
    double value;
    double fairness;
    uint64_t ops;
} pb_result_t;

/* workloads.c */
pb_result_t pb_run_uncontended(const pb_contender_t *c, uint64_t duration_ns);
pb_result_t pb_run_contended(const pb_contender_t *c, unsigned threads, unsigned in,
                             unsigned out, uint64_t duration_ns);
/* A thread blocked in read() for the whole program: keeps glibc off its single-threaded
 * shortcuts so that the uncontended numbers are those of a multi-threaded program. */
void pb_idle_thread_start(void);
void pb_idle_thread_stop(void);

/* Monotonic clock in nanoseconds. */
uint64_t pb_now_ns(void);
/* Prints "pl-bench: FATAL: ..." to stderr and aborts. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((noreturn, format(printf, 1, 2)))
#endif
void pb_fatal(const char *fmt, ...);

#endif /* PL_BENCH_H */
