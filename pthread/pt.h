/* libparking-pthread internals: where our state lives inside glibc's x86-64 objects, the real
 * (glibc) functions for delegated objects, and the report's counters.
 *
 * Layouts (glibc x86-64, bits/struct_mutex.h, struct_rwlock.h, thread-shared-types.h):
 *   pthread_mutex_t (40): __lock @0, __count @4, __owner @8, __nusers @12, __kind @16.
 *     Ours: the pl_mutex_t byte @0, the recursion count in __count (glibc's convention: holds,
 *     1 when held once), the owner's pthread_self() in the 8 bytes @8 (recursive and
 *     error-checking types only).  __kind is glibc's, written by its static initialisers and by
 *     its pthread_mutex_init, and only read here.
 *   pthread_cond_t (48): __g_refs[2] @16 (glibc's per-group waiter references: zero whenever no
 *     glibc waiter is inside), __wrefs @36 (bit 0 process-shared, bit 1 CLOCK_MONOTONIC).
 *     Ours: the pl_cond_t word @16.  Bit 0 of __wrefs means "delegated" (see cond.c).
 *   pthread_rwlock_t (56): ours: the pl_rwlock_t word @0 (__readers, __writers), the writer's
 *     pthread_self() @40 (__pad2); glibc's __shared @28 and __flags @48 (the kind) only read.
 * The library is compiled with -fno-strict-aliasing: these views alias glibc's unions. */
#ifndef PARKING_PTHREAD_PT_H
#define PARKING_PTHREAD_PT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <parking/cond.h>
#include <parking/mutex.h>
#include <parking/rwlock.h>

#if !defined(__x86_64__) || !defined(__GLIBC__)
#  error "libparking-pthread knows only glibc's x86-64 object layouts"
#endif

#define PT_EXPORT __attribute__((visibility("default")))

/* A function glibc also exports under an older version (parking-pthread.map): ours as
 * fn@@current and, through an alias, as fn@older.  The default is set here too, not by the
 * version script alone: the linker drops a plain `fn` that has a versioned twin in its object. */
#define PT_COMPAT(fn, current, older)                                                              \
  PT_EXPORT extern __typeof(fn) pt_compat_##fn __attribute__((alias(#fn), copy(fn)));              \
  __asm__(".symver " #fn ", " #fn "@@@" current);                                                  \
  __asm__(".symver pt_compat_" #fn ", " #fn "@" older ", remove")

/* __kind: the type (0 normal, 1 recursive, 2 error-checking, 3 adaptive), glibc's flags that
 * make us delegate (robust 16, priority inheritance 32, priority protection 64, process-shared
 * 128) and its elision hints (256, 512), which do not concern us. */
#define PT_KIND_TYPE 3
#define PT_KIND_ROBUST 16
#define PT_KIND_PI 32
#define PT_KIND_PP 64
#define PT_KIND_PSHARED 128
#define PT_KIND_DELEGATED (PT_KIND_ROBUST | PT_KIND_PI | PT_KIND_PP | PT_KIND_PSHARED)
/* Anything but a plain normal mutex of ours leaves the inline fast path. */
#define PT_KIND_SLOW (PT_KIND_DELEGATED | PT_KIND_TYPE)

/* Asks for the object's cache line in the exclusive state before its first plain load: the
 * fields read before the lock's compare-and-swap share the lock word's line, and a plain load
 * would fetch that line shared, leaving the CAS to fetch it again for ownership (two transfers
 * per contended acquisition; docs/benchmarks.md).  PREFETCHW is in every AMD64 CPU and Intel's
 * since Broadwell; the earlier Intel 64 CPUs decode it as a no-op. */
static inline void pt_prefetchw(const void *p)
{
#if defined(__x86_64__) || defined(__i386__)
    __asm__ volatile("prefetchw %0" : : "m"(*(const char *)p));
#else
    __builtin_prefetch(p, 1, 3);
#endif
}
static inline int pt_mutex_kind(const pthread_mutex_t *m)
{
    return __atomic_load_n(&m->__data.__kind, __ATOMIC_RELAXED);
}
static inline pl_mutex_t *pt_mutex_pl(pthread_mutex_t *m) { return (pl_mutex_t *)(void *)m; }
static inline uintptr_t *pt_mutex_owner(pthread_mutex_t *m)
{
    return (uintptr_t *)(void *)((char *)m + 8);
}

#define PT_COND_SHARED 1u    /* __wrefs bit 0: process-shared, or delegated by us */
#define PT_COND_MONOTONIC 2u /* __wrefs bit 1 */
static inline unsigned *pt_cond_wrefs(pthread_cond_t *c) { return &c->__data.__wrefs; }
static inline pl_cond_t *pt_cond_pl(pthread_cond_t *c)
{
    return (pl_cond_t *)(void *)((char *)c + 16);
}

static inline pl_rwlock_t *pt_rwlock_pl(pthread_rwlock_t *l) { return (pl_rwlock_t *)(void *)l; }
static inline uintptr_t *pt_rwlock_writer(pthread_rwlock_t *l)
{
    return (uintptr_t *)(void *)((char *)l + 40);
}

static inline uintptr_t pt_self(void) { return (uintptr_t)pthread_self(); }

/* glibc's functions, found with dlsym(RTLD_NEXT) on first need. */
typedef struct pt_real {
    int (*mutex_init)(pthread_mutex_t *, const pthread_mutexattr_t *);
    int (*mutex_destroy)(pthread_mutex_t *);
    int (*mutex_lock)(pthread_mutex_t *);
    int (*mutex_trylock)(pthread_mutex_t *);
    int (*mutex_timedlock)(pthread_mutex_t *, const struct timespec *);
    int (*mutex_clocklock)(pthread_mutex_t *, clockid_t, const struct timespec *);
    int (*mutex_unlock)(pthread_mutex_t *);
    int (*mutex_consistent)(pthread_mutex_t *);
    int (*cond_init)(pthread_cond_t *, const pthread_condattr_t *);
    int (*cond_destroy)(pthread_cond_t *);
    int (*cond_wait)(pthread_cond_t *, pthread_mutex_t *);
    int (*cond_timedwait)(pthread_cond_t *, pthread_mutex_t *, const struct timespec *);
    int (*cond_clockwait)(pthread_cond_t *, pthread_mutex_t *, clockid_t, const struct timespec *);
    int (*cond_signal)(pthread_cond_t *);
    int (*cond_broadcast)(pthread_cond_t *);
    int (*rwlock_init)(pthread_rwlock_t *, const pthread_rwlockattr_t *);
    int (*rwlock_destroy)(pthread_rwlock_t *);
    int (*rwlock_rdlock)(pthread_rwlock_t *);
    int (*rwlock_tryrdlock)(pthread_rwlock_t *);
    int (*rwlock_timedrdlock)(pthread_rwlock_t *, const struct timespec *);
    int (*rwlock_clockrdlock)(pthread_rwlock_t *, clockid_t, const struct timespec *);
    int (*rwlock_wrlock)(pthread_rwlock_t *);
    int (*rwlock_trywrlock)(pthread_rwlock_t *);
    int (*rwlock_timedwrlock)(pthread_rwlock_t *, const struct timespec *);
    int (*rwlock_clockwrlock)(pthread_rwlock_t *, clockid_t, const struct timespec *);
    int (*rwlock_unlock)(pthread_rwlock_t *);
    int (*cancel)(pthread_t);
} pt_real_t;

const pt_real_t *pt_real_slow(void);
extern const pt_real_t *pt_real_ptr;
static inline const pt_real_t *pt_real(void)
{
    const pt_real_t *r = __atomic_load_n(&pt_real_ptr, __ATOMIC_ACQUIRE);
    return r ? r : pt_real_slow();
}

/* The report's counters (report.c).  pt_count always counts (inits, delegations, waits: off the
 * fast path); pt_count_op only while the report is on (lock operations). */
enum pt_counter {
    PT_MUTEX_INIT_NORMAL,
    PT_MUTEX_INIT_RECURSIVE,
    PT_MUTEX_INIT_ERRORCHECK,
    PT_MUTEX_INIT_ADAPTIVE,
    PT_MUTEX_DELEGATED_PSHARED,
    PT_MUTEX_DELEGATED_ROBUST,
    PT_MUTEX_DELEGATED_PI,
    PT_MUTEX_DELEGATED_PP,
    PT_MUTEX_LOCKS,
    PT_MUTEX_DELEGATED_OPS,
    PT_COND_INIT,
    PT_COND_DELEGATED_PSHARED,
    PT_COND_DELEGATED_BY_MUTEX,
    PT_COND_WAITS,
    PT_COND_DELEGATED_WAITS,
    PT_COND_MIXED_EINVAL,
    PT_COND_CANCEL_WAKES,
    PT_RWLOCK_INIT,
    PT_RWLOCK_DELEGATED_PSHARED,
    PT_RWLOCK_LOCKS,
    PT_RWLOCK_DELEGATED_OPS,
    PT_COUNTERS
};
/* Whether the report is on: PT_REPORT_UNKNOWN until the first counted operation reads the
 * environment (report.c: no constructor), then OFF or ON for good. */
enum { PT_REPORT_UNKNOWN, PT_REPORT_OFF, PT_REPORT_ON };
extern unsigned char pt_report_state;
extern uint64_t pt_counters[PT_COUNTERS];
/* Reads PARKING_PTHREAD_REPORT once, at the first count of any kind: a process that only
 * initialises objects gets its report too. */
void pt_report_setup(void);
static inline void pt_count(enum pt_counter c)
{
    if (PARKING_UNLIKELY(__atomic_load_n(&pt_report_state, __ATOMIC_RELAXED) == PT_REPORT_UNKNOWN))
        pt_report_setup();
    __atomic_fetch_add(&pt_counters[c], 1, __ATOMIC_RELAXED);
}
void pt_count_op_slow(enum pt_counter c);
/* One load and one branch that is never taken once the report is known to be off. */
static inline void pt_count_op(enum pt_counter c)
{
    if (PARKING_UNLIKELY(__atomic_load_n(&pt_report_state, __ATOMIC_RELAXED) != PT_REPORT_OFF))
        pt_count_op_slow(c);
}

/* Deadlines (time.c).  EINVAL for an unsupported clock or a tv_nsec outside [0, 1e9). */
int pt_check_abstime(clockid_t clock, const struct timespec *abs);
/* pl_now() deadline for `abs` on `clock`: 0 when already past. */
uint64_t pt_deadline(clockid_t clock, const struct timespec *abs);
/* Whether `abs` on `clock` has been reached (a timed-out wait re-checks it: CLOCK_REALTIME may
 * have been set backwards meanwhile). */
bool pt_reached(clockid_t clock, const struct timespec *abs);

/* The mutex operations shared with cond.c and c11.c. */
int pt_mutex_lock_slow(pthread_mutex_t *m, int kind);
int pt_mutex_unlock_slow(pthread_mutex_t *m, int kind);

/* Cancellation of a thread blocked in one of our condition waits (cancel.c). */
typedef struct pt_slot pt_slot_t;
pt_slot_t *pt_cancel_enter(pthread_cond_t *c, pthread_mutex_t *m);
/* Returns whether a pthread_cancel woke this wait. */
bool pt_cancel_leave(pt_slot_t *slot);

#endif /* PARKING_PTHREAD_PT_H */
