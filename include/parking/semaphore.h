/** @file
 * libparking: pl_sem_t, a one-word counting semaphore (POSIX sem_t, C++20 counting_semaphore).
 *
 * sizeof(pl_sem_t) == 4 and all-zero bytes are a semaphore with no permits: static, calloc'ed and
 * memset memory need no initialisation, and there is nothing to destroy.  PL_SEM_INIT(n) or
 * pl_sem_init give it n permits to start with.
 *
 * pl_sem_post adds a permit, or hands it directly to the oldest waiter; a wait takes a permit,
 * blocking while there is none.  Fast paths, inline: pl_sem_trywait and a wait that finds a
 * permit are one compare-and-swap; pl_sem_post with nobody parked is one compare-and-swap, no
 * system call.  Only a post that finds the parked bit set goes to the parking lot: it wakes the
 * oldest waiter and gives it the permit (a hand-off: the count does not change, so no running
 * thread can take the permit from the thread woken for it), or, if nobody is queued any more,
 * adds the permit and clears the bit.  Waiters spin briefly before they park.
 *
 * Memory: the semaphore belongs to the caller again as soon as no call on it is in flight: a
 * post's last write is its compare-and-swap, or the hand-off made under the parking lot's bucket
 * lock before the waiter is woken, so a waiter that frees the semaphore right after its wait
 * returns does not race with the post that woke it.
 *
 * Limits: at most PL_SEM_VALUE_MAX permits; a post beyond returns EOVERFLOW and changes nothing
 * (POSIX sem_post).  C++'s release(n) is n posts.
 *
 * Orderings: a post is a release operation, a wait or trywait that takes a permit an acquire
 * operation (everything a poster wrote before its post happens-before the return of the wait that
 * takes that permit, at least).  None of these functions is async-signal-safe (unlike POSIX
 * sem_post).  errno is left as it was: results are return values.
 *
 * Bit layout of `state` (for debuggers and tests; use the functions):
 * @verbatim
   bit 0      PARKED  threads are (or may be) queued on the semaphore's address
   bits 1..31 the number of permits
   @endverbatim
 *
 * Race detectors: ThreadSanitizer, Helgrind and DRD see the edge from a post to the wait that
 * takes a permit, through the hooks of parking/annotate.h.
 */
#ifndef PARKING_SEMAPHORE_H
#define PARKING_SEMAPHORE_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include <parking/annotate.h>
#include <parking/cas.h>
#include <parking/export.h>
#include <parking/lot.h>

PARKING_BEGIN_DECLS

/** A one-word counting semaphore; all-zero bytes (PL_SEM_INIT(0)) have no permits. */
typedef struct pl_sem {
    uint32_t state;
} pl_sem_t;
/** @var pl_sem_t::state
 * The permit count times 2, plus PL_SEM_PARKED_BIT; changed only by atomic operations. */

/** pl_sem_t::state bit: threads are (or may be) parked on the semaphore's address. */
#define PL_SEM_PARKED_BIT PL__CAST(uint32_t, 1)
/** One permit in pl_sem_t::state. */
#define PL_SEM_ONE PL__CAST(uint32_t, 2)
/** The most permits a pl_sem_t holds (2^31 - 1). */
#define PL_SEM_VALUE_MAX PL__CAST(uint32_t, 0x7FFFFFFF)
/** Initialiser of a semaphore with @p n permits (n <= PL_SEM_VALUE_MAX). */
#define PL_SEM_INIT(n)                                                                             \
  {                                                                                                \
    PL__CAST(uint32_t, n) << 1                                                                     \
  }

/* Slow paths, out of line.  Not for direct use. */
PARKING_API bool pl_sem_wait_slow(pl_sem_t *s, uint64_t deadline);
PARKING_API int pl_sem_post_slow(pl_sem_t *s);

/** Gives @p s @p n permits and no waiters, as PL_SEM_INIT(n).  Not for a semaphore in use.
 *
 * Blocks: never.  Ordering: none.  Misuse: none.  Async-signal-safe: no.
 * @return 0, or EINVAL if n > PL_SEM_VALUE_MAX (then @p s is unchanged). */
static inline int pl_sem_init(pl_sem_t *s, uint32_t n)
{
    if (n > PL_SEM_VALUE_MAX)
        return EINVAL;
    __atomic_store_n(&s->state, n << 1, __ATOMIC_RELAXED);
    return 0;
}

/* Takes a permit if there is one: a compare-and-swap per attempt, no annotation. */
static inline bool pl_sem__try(pl_sem_t *s)
{
    uint32_t v = __atomic_load_n(&s->state, __ATOMIC_RELAXED);
    while (v >= PL_SEM_ONE) {
        if (PL__CAS(&s->state, &v, v - PL_SEM_ONE, true, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
            return true;
    }
    return false;
}

/** Takes a permit of @p s if one is available now (POSIX sem_trywait, whose EAGAIN is false).
 *
 * Blocks: never.  Ordering: acquire when true.  Misuse: none.  Async-signal-safe: no.
 * @return true if a permit was taken. */
static inline bool pl_sem_trywait(pl_sem_t *s)
{
    PL__VG_RACY(&s->state, sizeof s->state);
    bool ok = pl_sem__try(s);
    if (ok)
        PL__ANN_ACQUIRE(s);
    return ok;
}

/** Takes a permit of @p s, blocking until one is posted or the absolute @p deadline (pl_now()
 * ns; PL_FOREVER: none) passes (POSIX sem_timedwait, on the monotonic clock).  A deadline
 * already past only tries.
 *
 * Blocks: until a permit or the deadline.  Ordering: acquire when true.  Misuse: none.
 * Async-signal-safe: no.
 * @return true if a permit was taken, false once the deadline has passed. */
static inline bool pl_sem_wait_until(pl_sem_t *s, uint64_t deadline)
{
    PL__VG_RACY(&s->state, sizeof s->state);
    bool ok = PARKING_LIKELY(pl_sem__try(s)) || pl_sem_wait_slow(s, deadline);
    if (ok)
        PL__ANN_ACQUIRE(s);
    return ok;
}

/** Takes a permit of @p s, blocking until one is posted (POSIX sem_wait).
 *
 * Blocks: until a permit.  Ordering: acquire.  Misuse: none.  Async-signal-safe: no. */
static inline void pl_sem_wait(pl_sem_t *s) { (void)pl_sem_wait_until(s, PL_FOREVER); }

/** As pl_sem_wait_until with a deadline @p timeout_ns from now (saturating); the clock is read
 * only when no permit is available at once.
 *
 * Blocks: up to @p timeout_ns.  Ordering: acquire when true.  Misuse: none.
 * Async-signal-safe: no.
 * @return true if a permit was taken, false if the timeout expired first. */
static inline bool pl_sem_wait_for(pl_sem_t *s, uint64_t timeout_ns)
{
    PL__VG_RACY(&s->state, sizeof s->state);
    if (PARKING_LIKELY(pl_sem__try(s))) {
        PL__ANN_ACQUIRE(s);
        return true;
    }
    return pl_sem_wait_until(s, pl_deadline_after(timeout_ns));
}

/** Adds a permit to @p s, or hands it to the oldest waiter (POSIX sem_post).
 *
 * Blocks: never (apart from the parking lot's bucket lock when threads are parked).  Ordering:
 * release.  Misuse: none.  Async-signal-safe: no.
 * @return 0, or EOVERFLOW if @p s already holds PL_SEM_VALUE_MAX permits (nothing changes). */
static inline int pl_sem_post(pl_sem_t *s)
{
    PL__VG_RACY(&s->state, sizeof s->state);
    PL__ANN_RELEASE(s);
    uint32_t v = __atomic_load_n(&s->state, __ATOMIC_RELAXED);
    for (;;) {
        if (PARKING_UNLIKELY(v & PL_SEM_PARKED_BIT))
            return pl_sem_post_slow(s);
        if (PARKING_UNLIKELY(v >> 1 == PL_SEM_VALUE_MAX))
            return EOVERFLOW;
        if (PARKING_LIKELY(
                PL__CAS(&s->state, &v, v + PL_SEM_ONE, true, __ATOMIC_RELEASE, __ATOMIC_RELAXED)))
            return 0;
    }
}

/** The number of permits of @p s now (POSIX sem_getvalue with no waiter count): a snapshot.
 *
 * Blocks: never.  Ordering: none (relaxed load).  Misuse: none.  Async-signal-safe: no. */
static inline uint32_t pl_sem_value(const pl_sem_t *s)
{
    return __atomic_load_n(&s->state, __ATOMIC_RELAXED) >> 1;
}

PARKING_END_DECLS

#endif /* PARKING_SEMAPHORE_H */
