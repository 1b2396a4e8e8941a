/* pl-bench: declarations shared by the harness, the adapters and the workloads.
 *
 * Layout of the program:
 *   harness.c      clock, fatal errors, watchdog, start gate, idle thread, memory accounting
 *   measure.c      the interleaved repetitions, medians, the plan (dry run) and progress line
 *   report.c       aligned tables, the summary table, CSV and gnuplot plots
 *   kernels.h      the inner loops of the mutex and rwlock workloads, as always-inline
 *                  "templates" that every adapter instantiates with its own lock calls
 *   adapt_*.c      one family of contenders each: libparking, pthread, nsync, Abseil,
 *                  Rust parking_lot
 *   calls_parking.c  libparking's operations as out-of-line functions, in a shared library of
 *                  their own, so that ours are called the way every other contender is
 *   absl_glue.cc   extern "C" wrappers around absl::Mutex / absl::CondVar
 *   parking_lot/   a Rust cdylib of extern "C" wrappers around parking_lot (parking_lot.cmake)
 *   background.c   --background: busy threads of unrelated work
 *   machine.c      load average and other processes' CPU time, before and after
 *   contenders.c   the registry: which contenders exist for which workload family
 *   wl_*.c         one workload family each
 *   main.c         options, presets, the suite
 */
#ifndef PL_BENCH_H
#define PL_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- contenders ---- */

/* Who a contender is, for ratios and the summary: ours (libparking, reached like every other
 * contender: one out-of-line call per operation), ours-inline (the same locks with the fast
 * path inlined into the loop, as user code compiles them: an extra column, never compared
 * with the peers), the pthread baseline of its family (ratios are taken against it), or a peer
 * (another library, or another pthread flavour). */
typedef enum pb_role { PB_OURS, PB_OURS_INLINE, PB_BASELINE, PB_PEER } pb_role_t;

/* Arguments of the LockSpeedTest thread body (kernels.h). */
typedef struct pb_speed_arg {
    void *lock;
    double *shared_value;     /* beside the lock, on its cache line */
    uint64_t *shared_counter; /* plain count of critical sections, checked after the run */
    unsigned in, out;
    const int *stop; /* set (relaxed atomic store) when the run ends */
    uint64_t ops;    /* out: critical sections done by this thread */
    double sink;     /* out: keeps the private work alive */
} pb_speed_arg_t;

/* Arguments of the many-locks thread body: `count` entries of `stride` bytes, the lock at
 * offset 0 and a uint32_t counter at `counter_offset`. */
typedef struct pb_many_arg {
    unsigned char *base;
    size_t stride, counter_offset, count;
    uint64_t seed;
    const int *stop; /* set (relaxed atomic store) when the run ends */
    uint64_t ops;    /* out */
} pb_many_arg_t;

/* Arguments of the rwlock thread body.  The shared data is a pair of words that writers
 * increment one after the other; a reader that sees them differ caught a writer inside. */
typedef struct pb_rw_arg {
    void *lock;
    uint64_t *pair;          /* pair[0] == pair[1] outside write sections */
    unsigned read_per_mille; /* 900 or 990 */
    uint64_t seed;
    const int *stop;        /* set (relaxed atomic store) when the run ends */
    uint64_t reads, writes; /* out */
    uint64_t torn;          /* out: reads that saw pair[0] != pair[1] (must stay 0) */
    double sink;
} pb_rw_arg_t;

/* A mutex.  pairs / speed / many are the workload loops compiled with this lock's calls
 * inline (kernels.h), as user code gets them; lock / unlock are for everything else. */
typedef struct pb_mutex_ops {
    const char *name;
    pb_role_t role;
    size_t bytes, align;
    /* On memory that is either zero-filled (zeroed = true: fresh pages, where a lock that
     * needs no initialisation must not touch it) or garbage-filled. */
    void (*init)(void *lock, bool zeroed);
    /* Aborts unless the lock was left unlocked and clean; frees what init allocated. */
    void (*destroy)(void *lock);
    void (*lock)(void *lock);
    void (*unlock)(void *lock);
    void (*pairs)(void *lock, uint64_t *counter, uint64_t n);
    void (*speed)(pb_speed_arg_t *arg);
    void (*many)(pb_many_arg_t *arg);
} pb_mutex_ops_t;

typedef struct pb_rwlock_ops {
    const char *name;
    pb_role_t role;
    size_t bytes, align;
    void (*init)(void *lock);
    void (*destroy)(void *lock);
    void (*run)(pb_rw_arg_t *arg);
} pb_rwlock_ops_t;

/* A mutex + condition variable pair, through function pointers: every condvar workload costs
 * microseconds per hand-off, where one indirect call is noise. */
typedef struct pb_cond_ops {
    const char *name;
    pb_role_t role;
    size_t bytes; /* sizeof the condition variable (the mutex is listed apart) */
    size_t mutex_bytes;
    void (*mutex_init)(void *mutex);
    void (*mutex_destroy)(void *mutex); /* aborts unless unlocked and clean */
    void (*cond_init)(void *cond);
    void (*cond_destroy)(void *cond); /* aborts unless nobody waits */
    void (*lock)(void *mutex);
    void (*unlock)(void *mutex);
    void (*wait)(void *cond, void *mutex);
    void (*signal)(void *cond);
    void (*broadcast)(void *cond);
} pb_cond_ops_t;

/* Wait on a 32-bit word until it changes; set it and wake.  The object is PB_EVENT_BYTES of
 * zeroed memory, the word at offset 0. */
#define PB_EVENT_BYTES 128
typedef struct pb_event_ops {
    const char *name;
    pb_role_t role;
    void (*init)(void *ev);
    void (*destroy)(void *ev);
    /* Returns the word's new value once it differs from expected (acquire). */
    uint32_t (*wait_while)(void *ev, uint32_t expected);
    void (*set_and_wake)(void *ev, uint32_t value); /* word = value; wake one waiter */
} pb_event_ops_t;

/* One-time initialisation: `fast` calls a done once n times (inline where the API allows);
 * `contended` makes every caller go through `count` fresh onces in order. */
typedef struct pb_once_ops {
    const char *name;
    pb_role_t role;
    size_t bytes;
    void *(*alloc)(size_t count); /* count fresh onces */
    void (*call)(void *onces, size_t index, void (*fn)(void));
    uint64_t (*fast)(uint64_t n); /* returns a checksum */
} pb_once_ops_t;

/* contenders.c: the registry.  Each list is in table order, ours first. */
typedef struct pb_list {
    const void *const *items;
    size_t count;
} pb_list_t;
extern pb_list_t pb_mutexes, pb_rwlocks, pb_conds, pb_events, pb_onces;
/* Registers the optional peers found at build time and prints what is skipped and why. */
/* Registers the contenders whose role bit (1 << pb_role_t) is in `roles`; with `peer` non-NULL,
 * only the peers whose name contains it. */
#define PB_ALL_ROLES                                                                               \
  ((1u << PB_OURS) | (1u << PB_OURS_INLINE) | (1u << PB_BASELINE) | (1u << PB_PEER))
void pb_contenders_setup(unsigned roles, const char *peer);

/* Adapter families (adapt_*.c): each appends its contenders through pb_register_*. */
void pb_register_mutex(const pb_mutex_ops_t *m);
void pb_register_rwlock(const pb_rwlock_ops_t *r);
void pb_register_cond(const pb_cond_ops_t *c);
void pb_register_event(const pb_event_ops_t *e);
void pb_register_once(const pb_once_ops_t *o);
void pb_parking_register(void);
void pb_pthread_register(void);
void pb_futex_register(void);
#ifdef PB_HAVE_NSYNC
void pb_nsync_register(void);
#endif
#ifdef PB_HAVE_ABSL
void pb_absl_register(void);
#endif
#ifdef PB_HAVE_PARKING_LOT
void pb_parking_lot_register(void);
#endif

/* ---- measurement (measure.c) ---- */

typedef struct pb_result {
    double value;    /* in the case's unit */
    double fairness; /* min/max per-thread ops, or -1 when it does not apply */
    double extra;    /* a second figure (the case's extra_label), or -1 */
} pb_result_t;

/* One configuration of one workload, measured for every contender of its family. */
typedef struct pb_case {
    const char *workload; /* --workload name, e.g. "contended" */
    const char *title;    /* table heading (a new heading starts when it changes) */
    char config[40];      /* e.g. "(1,0)", "90% reads", "2P:2C", "" */
    unsigned threads;     /* 0 when not a thread-count sweep */
    const char *unit;     /* e.g. "ns/op", "ops/s" */
    bool lower_is_better;
    const char *extra_label; /* column for pb_result_t.extra, or NULL */
} pb_case_t;

typedef struct pb_entry {
    const char *name;
    pb_role_t role;
    size_t bytes;
} pb_entry_t;

/* Runs one repetition of contender k for about duration_ns; fills *out. */
typedef void (*pb_run_fn)(void *ctx, size_t k, uint64_t duration_ns, pb_result_t *out);

/* Interleaves `reps` repetitions of every contender (A B C A B C ...), then reports the medians.
 * In a dry run (the plan), only counts. */
void pb_measure(const pb_case_t *cs, const pb_entry_t *entries, size_t n, pb_run_fn fn, void *ctx);
void pb_measure_setup(unsigned reps, unsigned duration_ms, bool progress);
void pb_measure_begin_plan(void);
void pb_measure_end_plan(double *seconds, unsigned *runs);
uint64_t pb_measure_duration_ns(void);
/* Sets the length of the following runs (0: unchanged); returns the previous one. */
unsigned pb_measure_set_duration_ms(unsigned ms);

/* ---- reporting (report.c) ---- */

typedef struct pb_summary {
    double median, min, max, fairness, extra;
} pb_summary_t;

void pb_report_legend(void);
bool pb_report_open_csv(const char *path);
void pb_report_case(const pb_case_t *cs, const pb_entry_t *entries, size_t n,
                    const pb_summary_t *sums, unsigned reps, unsigned duration_ms);
void pb_report_summary(void);
/* Writes one PNG per thread sweep into dir with gnuplot; false if gnuplot is missing. */
bool pb_report_plots(const char *dir);
bool pb_report_close(void);

/* ---- harness (harness.c) ---- */

uint64_t pb_now_ns(void);
void pb_sleep_until(uint64_t deadline_ns);
#if defined(__GNUC__) || defined(__clang__)
__attribute__((noreturn, format(printf, 1, 2)))
#endif
void pb_fatal(const char *fmt, ...);
void *pb_xcalloc(size_t n, size_t size);
/* Fresh zeroed pages straight from mmap (nothing touched yet), and their release. */
void *pb_map(size_t bytes);
void pb_unmap(void *p, size_t bytes);
/* Bytes of [p, p + bytes) resident in memory now (mincore). */
size_t pb_resident_bytes(void *p, size_t bytes);

/* Ends the program with a message if a run hangs (a lost wake-up) for duration + a margin. */
void pb_watchdog_arm(uint64_t duration_ns);
void pb_watchdog_disarm(void);

/* Start gate: threads wait at the gate, the main thread opens it once all are there. */
typedef struct pb_gate pb_gate_t;
pb_gate_t *pb_gate_new(void);
void pb_gate_free(pb_gate_t *g);
void pb_gate_wait(pb_gate_t *g);
/* Waits until n threads are at the gate, opens it and returns the time it opened. */
uint64_t pb_gate_open(pb_gate_t *g, unsigned n);

/* Starts n threads running fn(args + i * arg_size); pb_team_join waits for them. */
typedef struct pb_team pb_team_t;
pb_team_t *pb_team_start(unsigned n, void *(*fn)(void *), void *args, size_t arg_size);
void pb_team_join(pb_team_t *t);

/* A thread blocked in read() for the whole program: keeps glibc off its single-threaded
 * shortcuts, so uncontended numbers are those of a multi-threaded program. */
void pb_idle_thread_start(void);
void pb_idle_thread_stop(void);

/* xorshift64*: each thread's own random stream. */
static inline uint64_t pb_random(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545f4914f6cdd1dull;
}

/* ---- the machine (machine.c) and unrelated load (background.c) ---- */

typedef struct pb_machine {
    double load1;             /* 1-minute load average, -1 if unknown */
    bool have_ticks;          /* the three below were read (Linux) */
    double busy, total, self; /* clock ticks: all CPUs busy, all CPUs, this process */
} pb_machine_t;
void pb_machine_sample(pb_machine_t *m);
/* Prints the load before and after and what other processes took; true if it warned. */
bool pb_machine_report(const pb_machine_t *before, const pb_machine_t *after);

/* One step of the background threads' arithmetic (as PB_STEP in kernels.h). */
#define PB_BUSY_STEP(acc, v) ((acc) += (v), (acc) *= 1.0001, (v) = (acc))
void pb_background_start(unsigned n);
void pb_background_stop(void);

/* ---- workloads (wl_*.c) ---- */

typedef struct pb_inout {
    unsigned in, out;
} pb_inout_t;
typedef struct pb_pc {
    unsigned producers, consumers;
} pb_pc_t;

/* What to run: filled by main.c from the preset and the options. */
typedef struct pb_suite {
    unsigned threads[16];
    size_t nthreads; /* contended */
    pb_inout_t inouts[4];
    size_t ninouts;
    unsigned many_threads[16];
    size_t nmany_threads;
    unsigned rw_threads[16];
    size_t nrw_threads;
    unsigned read_per_mille[4];
    size_t nread;
    pb_pc_t queues[8];
    size_t nqueues;
    unsigned waiters[8];
    size_t nwaiters; /* broadcast */
    unsigned once_threads;
    size_t many_locks; /* locks in the many-locks array */
} pb_suite_t;

void pb_wl_uncontended(const pb_suite_t *s);
void pb_wl_contended(const pb_suite_t *s);
void pb_wl_many(const pb_suite_t *s);
void pb_wl_rwlock(const pb_suite_t *s);
void pb_wl_queue(const pb_suite_t *s);
void pb_wl_broadcast(const pb_suite_t *s);
void pb_wl_pingpong(const pb_suite_t *s);
void pb_wl_wait(const pb_suite_t *s);
void pb_wl_once(const pb_suite_t *s);
void pb_wl_sync(const pb_suite_t *s);

#endif /* PL_BENCH_H */
