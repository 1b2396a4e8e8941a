/** @file
 * libparking internal: the annotation hub.  Not for direct use; included by mutex.h, rwlock.h,
 * remutex.h and cond.h.
 *
 * Every public acquire and release function of those headers calls the four hooks below around
 * the operation.  They are macros expanded in the caller's translation unit, so what they do is
 * decided by how the USER compiles, not by how libparking.so was built: a program compiled with
 * -fsanitize=thread gets the ThreadSanitizer annotations even against the plain library.
 *
 *   PL__ANN_LOCK_PRE(lock, flags)    before the thread tries to acquire `lock` (may block after)
 *   PL__ANN_LOCK_POST(lock, flags)   after the attempt; flags | PL__ANN_FAILED if not acquired
 *   PL__ANN_UNLOCK_PRE(lock, flags)  before a release
 *   PL__ANN_UNLOCK_POST(lock, flags) after a release
 *
 * `lock` is the lock object's address.  Mode changes are a release then an acquisition: an
 * upgrade is UNLOCK(READ) then LOCK(write); a downgrade is UNLOCK(write) then LOCK(READ | TRY),
 * TRY because taking the new mode cannot block or deadlock (it is part of one atomic step).  A
 * condition variable wait is UNLOCK(mutex) before it sleeps and LOCK(mutex) after.
 *
 * Each hook has three independent parts, each of which compiles to nothing unless its option is
 * on, so a normal build's fast paths are exactly what they would be without this header:
 * - PL__TSAN_*: ThreadSanitizer (when the including code is compiled with -fsanitize=thread);
 * - PL__VG_*: Valgrind Helgrind / DRD client requests;
 * - PL__DBG_*: debug mode (PARKING_DEBUG, see parking/debug.h).
 */
#ifndef PARKING_ANNOTATE_H
#define PARKING_ANNOTATE_H

#include <stdbool.h>
#include <stdint.h>

#include <parking/export.h>

/* Flags of the hooks. */
#define PL__ANN_READ 1u      /* shared (reader / upgradable) mode */
#define PL__ANN_TRY 2u       /* a try-lock or timed lock: may fail */
#define PL__ANN_FAILED 4u    /* in POST only: the lock was NOT acquired */
#define PL__ANN_RECURSIVE 8u /* remutex relock by its owner, or rdlock_recursive */
/* What only debug mode needs to know of a call (the race detectors ignore these): */
#define PL__ANN_NEVER_BLOCKS 16u /* a try-lock (TRY alone also marks the timed locks, which wait) */
#define PL__ANN_UPGRADABLE 32u   /* takes or keeps a rwlock's upgradable hold */
#define PL__ANN_RELEASES_UP 64u  /* a READ release (or upgrade) that ends the upgradable hold */

/* ---- ThreadSanitizer ----
 * On when the including code is compiled with -fsanitize=thread (GCC defines __SANITIZE_THREAD__,
 * Clang has __has_feature(thread_sanitizer)), unless PARKING_TSAN_ANNOTATIONS is defined to 0.
 * The library itself is usually NOT instrumented (a distribution's libparking.so), so the
 * happens-before its slow paths create (parking, hand-off to a woken thread) is invisible to
 * ThreadSanitizer; these calls, compiled into the user's code, say what a lock operation does:
 * the lock's address is a ThreadSanitizer mutex, created lazily by its first use (all-zero
 * locks have no init call), acquired by LOCK_POST and released by UNLOCK_PRE.
 *
 * Between __tsan_mutex_pre_X and __tsan_mutex_post_X ThreadSanitizer ignores memory accesses and
 * synchronisation: the atomic operations on the lock word in the header fast paths then give no
 * happens-before of their own, so ThreadSanitizer sees exactly a lock's semantics (two readers
 * of a pl_rwlock_t are not ordered by it: a write under a read lock is reported, as with
 * pthread_rwlock_t).  Calls into the library's slow paths are "diverted" out of that window
 * (PL__ANN_SLOW, __tsan_mutex_pre_divert / post_divert): where libparking itself is
 * instrumented, the parking lot's internal synchronisation must stay visible, or a bucket lock
 * taken inside one window and released outside would leave ThreadSanitizer with a broken
 * happens-before chain and false reports.  pre_lock comes before the thread may block, so a
 * lock-order inversion is reported before it can hang.
 *
 * The functions are declared here with the signatures of <sanitizer/tsan_interface.h> (which a
 * user may include too: the declarations agree) and the flag values it documents, so nothing
 * depends on that header being installed. */
#if !defined(PARKING_TSAN_ANNOTATIONS)
#  if defined(__SANITIZE_THREAD__)
#    define PARKING_TSAN_ANNOTATIONS 1
#  elif defined(__has_feature)
#    if __has_feature(thread_sanitizer)
#      define PARKING_TSAN_ANNOTATIONS 1
#    endif
#  endif
#endif
#if defined(PARKING_TSAN_ANNOTATIONS) && PARKING_TSAN_ANNOTATIONS
PARKING_BEGIN_DECLS
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
void __tsan_mutex_pre_lock(void *addr, unsigned flags);
void __tsan_mutex_post_lock(void *addr, unsigned flags, int recursion);
int __tsan_mutex_pre_unlock(void *addr, unsigned flags);
void __tsan_mutex_post_unlock(void *addr, unsigned flags);
void __tsan_mutex_pre_divert(void *addr, unsigned flags);
void __tsan_mutex_post_divert(void *addr, unsigned flags);
PARKING_END_DECLS
/* __tsan_mutex_read_lock, __tsan_mutex_try_lock, __tsan_mutex_try_lock_failed. */
#  define PL__TSAN_FLAGS(f)                                                                        \
    ((((f)&PL__ANN_READ) ? 1u << 3 : 0u) | (((f)&PL__ANN_TRY) ? 1u << 4 : 0u) |                    \
     (((f)&PL__ANN_FAILED) ? 1u << 5 : 0u))
#  define PL__TSAN_ADDR(l) PL__ITOP(PL__PTOI(l))
#  define PL__TSAN_LOCK_PRE(l, f) __tsan_mutex_pre_lock(PL__TSAN_ADDR(l), PL__TSAN_FLAGS(f))
#  define PL__TSAN_LOCK_POST(l, f) __tsan_mutex_post_lock(PL__TSAN_ADDR(l), PL__TSAN_FLAGS(f), 0)
#  define PL__TSAN_UNLOCK_PRE(l, f)                                                                \
    ((void)__tsan_mutex_pre_unlock(PL__TSAN_ADDR(l), PL__TSAN_FLAGS(f)))
#  define PL__TSAN_UNLOCK_POST(l, f) __tsan_mutex_post_unlock(PL__TSAN_ADDR(l), PL__TSAN_FLAGS(f))
/* Plain happens-before edges, for what is not a lock (pl_once_t, pl_wait / pl_wake_*). */
#  define PL__TSAN_RELEASE(a) __tsan_release(PL__TSAN_ADDR(a))
#  if !defined(PARKING_BUILDING) /* the library's own calls are in no window */
static inline bool pl__tsan_divert_end(void *addr, bool result)
{
    __tsan_mutex_post_divert(addr, 0);
    return result;
}
#    define PL__TSAN_SLOW(l, call)                                                                 \
      (__tsan_mutex_pre_divert(PL__TSAN_ADDR(l), 0), (call),                                       \
       __tsan_mutex_post_divert(PL__TSAN_ADDR(l), 0))
#    define PL__TSAN_SLOW_BOOL(l, call)                                                            \
      (__tsan_mutex_pre_divert(PL__TSAN_ADDR(l), 0), pl__tsan_divert_end(PL__TSAN_ADDR(l), (call)))
#  endif
#  define PL__TSAN_ACQUIRE(a) __tsan_acquire(PL__TSAN_ADDR(a))
#else
#  define PL__TSAN_LOCK_PRE(l, f) ((void)0)
#  define PL__TSAN_LOCK_POST(l, f) ((void)0)
#  define PL__TSAN_UNLOCK_PRE(l, f) ((void)0)
#  define PL__TSAN_UNLOCK_POST(l, f) ((void)0)
#  define PL__TSAN_RELEASE(a) ((void)0)
#  define PL__TSAN_ACQUIRE(a) ((void)0)
#endif
#if !defined(PL__TSAN_SLOW)
#  define PL__TSAN_SLOW(l, call) (call)
#  define PL__TSAN_SLOW_BOOL(l, call) (call)
#endif

/* ---- Valgrind: Helgrind and DRD ----
 * Client requests (<valgrind/valgrind.h>): a short sequence of instructions that does nothing
 * natively (about 12 instructions and a stack buffer each, a few percent of an uncontended
 * lock + unlock) and tells the tool running the program what happened.  Compiled in:
 * - in the user's code: only when asked, with -DPARKING_VALGRIND=1.  Not by default, NDEBUG or
 *   not: plain -O2 is what most users build, and six stores and a magic sequence per lock and
 *   unlock took an uncontended mutex from 9 to 31 instructions, slower than pthread's.  Helgrind
 *   and DRD users add the one flag (docs/reliability.md).
 * - in libparking itself (PARKING_BUILDING): whenever the header is installed at build time,
 *   unless PARKING_VALGRIND is 0; they sit on slow paths only (bucket locks, sleep and wake-up),
 *   where a user who asked for them in the fast paths needs them too, and nobody else pays.
 *
 * Every lock is described to both tools as a user-defined reader-writer lock at its address
 * (ANNOTATE_RWLOCK_ACQUIRED / ANNOTATE_RWLOCK_RELEASED, write mode unless PL__ANN_READ).  Both
 * tools create such a lock on its first use, so the all-zero locks need no creation call.  A
 * remutex's nested locks and unlocks by its owner (RECURSIVE without READ) are not reported:
 * only its first lock and last unlock change anything.  Helgrind and DRD use the same request
 * numbers for these and for ANNOTATE_HAPPENS_BEFORE / _AFTER (drd.h says so); each tool
 * ignores the other's private requests (DRD_START_SUPPRESSION, HG_ARANGE_MAKE_UNTRACKED), and
 * both are no-ops natively.  Only <valgrind/valgrind.h> is included: helgrind.h and drd.h
 * define clashing ANNOTATE_* macros, and a user's code may include either.  The numbers are
 * checked against both headers by tests/annotations/vg_requests.c. */
#if defined(PARKING_VALGRIND)
#  define PL__VG PARKING_VALGRIND
#elif defined(PARKING_BUILDING) && defined(__has_include)
#  if __has_include(<valgrind/valgrind.h>)
#    define PL__VG 1
#  endif
#endif
#if defined(PL__VG) && PL__VG
#  include <valgrind/valgrind.h>
#  define PL__VG_HG_BASE (VG_USERREQ_TOOL_BASE('H', 'G') + 256)
#  define PL__VG_RWLOCK_ACQUIRED (PL__VG_HG_BASE + 17)             /* lock, is_w */
#  define PL__VG_RWLOCK_RELEASED (PL__VG_HG_BASE + 18)             /* lock, is_w */
#  define PL__VG_HAPPENS_BEFORE (PL__VG_HG_BASE + 33)              /* tag */
#  define PL__VG_HAPPENS_AFTER (PL__VG_HG_BASE + 34)               /* tag */
#  define PL__VG_HG_UNTRACK (PL__VG_HG_BASE + 39)                  /* Helgrind: start, length */
#  define PL__VG_DRD_SUPPRESS (VG_USERREQ_TOOL_BASE('D', 'R') + 2) /* DRD: start, length */
#  define PL__VG_REQ(code, a, b) VALGRIND_DO_CLIENT_REQUEST_STMT((code), PL__PTOI(a), (b), 0, 0, 0)
/* Reported: everything but an owner's nested remutex lock or unlock, and a failed attempt. */
#  define PL__VG_REPORTED(f)                                                                       \
    (((f) & (PL__ANN_RECURSIVE | PL__ANN_READ)) != PL__ANN_RECURSIVE && !((f)&PL__ANN_FAILED))
#  define PL__VG_LOCK_PRE(l, f) ((void)0)
#  define PL__VG_LOCK_POST(l, f)                                                                   \
    do {                                                                                           \
      if (PL__VG_REPORTED(f))                                                                      \
        PL__VG_REQ(PL__VG_RWLOCK_ACQUIRED, l, ((f)&PL__ANN_READ) ? 0 : 1);                         \
    } while (0)
#  define PL__VG_UNLOCK_PRE(l, f)                                                                  \
    do {                                                                                           \
      if (PL__VG_REPORTED(f))                                                                      \
        PL__VG_REQ(PL__VG_RWLOCK_RELEASED, l, ((f)&PL__ANN_READ) ? 0 : 1);                         \
    } while (0)
#  define PL__VG_UNLOCK_POST(l, f) ((void)0)
/* Happens-before edges for what is not a lock, and words that are read without the lock that
 * guards their writes (by design: relaxed atomics, which the tools do not understand). */
#  define PL__VG_RELEASE(a) PL__VG_REQ(PL__VG_HAPPENS_BEFORE, a, 0)
#  define PL__VG_ACQUIRE(a) PL__VG_REQ(PL__VG_HAPPENS_AFTER, a, 0)
#  define PL__VG_RACY(a, n)                                                                        \
    do {                                                                                           \
      PL__VG_REQ(PL__VG_HG_UNTRACK, a, n);                                                         \
      PL__VG_REQ(PL__VG_DRD_SUPPRESS, a, n);                                                       \
    } while (0)
#else
#  define PL__VG_LOCK_PRE(l, f) ((void)0)
#  define PL__VG_LOCK_POST(l, f) ((void)0)
#  define PL__VG_UNLOCK_PRE(l, f) ((void)0)
#  define PL__VG_UNLOCK_POST(l, f) ((void)0)
#  define PL__VG_RELEASE(a) ((void)0)
#  define PL__VG_ACQUIRE(a) ((void)0)
#  define PL__VG_RACY(a, n) ((void)0)
#endif

/* ---- Debug mode ---- */
#if defined(__has_include)
#  if __has_include(<parking/config.h>)
/* Generated by CMake into the build and install include dirs; defines PARKING_DEBUG 0 or 1. */
#    include <parking/config.h>
#  endif
#endif
#if defined(PARKING_DEBUG) && PARKING_DEBUG
#  include <parking/debug.h>
#  define PL__DBG_LOCK_PRE(l, f) pl_debug_lock_pre((l), (f), __func__)
#  define PL__DBG_LOCK_POST(l, f) pl_debug_lock_post((l), (f), __func__)
#  define PL__DBG_UNLOCK_PRE(l, f) pl_debug_unlock_pre((l), (f), __func__)
#  define PL__DBG_UNLOCK_POST(l, f) pl_debug_unlock_post((l), (f), __func__)
#  define PL__DBG_ON 1
#else
#  define PL__DBG_ON 0
#  define PL__DBG_LOCK_PRE(l, f) ((void)0)
#  define PL__DBG_LOCK_POST(l, f) ((void)0)
#  define PL__DBG_UNLOCK_PRE(l, f) ((void)0)
#  define PL__DBG_UNLOCK_POST(l, f) ((void)0)
#endif

/* ---- The hooks ---- */
#define PL__ANN_LOCK_PRE(l, f)                                                                     \
  do {                                                                                             \
    PL__TSAN_LOCK_PRE(l, f);                                                                       \
    PL__VG_LOCK_PRE(l, f);                                                                         \
    PL__DBG_LOCK_PRE(l, f);                                                                        \
  } while (0)
#define PL__ANN_LOCK_POST(l, f)                                                                    \
  do {                                                                                             \
    PL__TSAN_LOCK_POST(l, f);                                                                      \
    PL__VG_LOCK_POST(l, f);                                                                        \
    PL__DBG_LOCK_POST(l, f);                                                                       \
  } while (0)
#define PL__ANN_UNLOCK_PRE(l, f)                                                                   \
  do {                                                                                             \
    PL__TSAN_UNLOCK_PRE(l, f);                                                                     \
    PL__VG_UNLOCK_PRE(l, f);                                                                       \
    PL__DBG_UNLOCK_PRE(l, f);                                                                      \
  } while (0)
#define PL__ANN_UNLOCK_POST(l, f)                                                                  \
  do {                                                                                             \
    PL__TSAN_UNLOCK_POST(l, f);                                                                    \
    PL__VG_UNLOCK_POST(l, f);                                                                      \
    PL__DBG_UNLOCK_POST(l, f);                                                                     \
  } while (0)

/* A happens-before edge through address `a`, for synchronisation that is not a lock
 * (pl_once_t, pl_wait / pl_wake_*): RELEASE before, ACQUIRE after. */
#define PL__ANN_RELEASE(a)                                                                         \
  do {                                                                                             \
    PL__TSAN_RELEASE(a);                                                                           \
    PL__VG_RELEASE(a);                                                                             \
  } while (0)
#define PL__ANN_ACQUIRE(a)                                                                         \
  do {                                                                                             \
    PL__TSAN_ACQUIRE(a);                                                                           \
    PL__VG_ACQUIRE(a);                                                                             \
  } while (0)
/* Whether PL__ANN_RELEASE / _ACQUIRE do anything: the wrappers that carry them are compiled
 * only then. */
#if (defined(PARKING_TSAN_ANNOTATIONS) && PARKING_TSAN_ANNOTATIONS) || (defined(PL__VG) && PL__VG)
#  define PL__ANN_EDGES 1
#else
#  define PL__ANN_EDGES 0
#endif

/* A call from a fast path (between the hooks) into the library's slow path `call` (void, or
 * returning bool): see the ThreadSanitizer part.  Just `call` unless under ThreadSanitizer. */
#define PL__ANN_SLOW(l, call) PL__TSAN_SLOW(l, call)
#define PL__ANN_SLOW_BOOL(l, call) PL__TSAN_SLOW_BOOL(l, call)

/* Aborts with `libparking: <fn>(<lock>): <what>`: the assert-held functions' failure, kept out
 * of line.  Not for direct use. */
PARKING_BEGIN_DECLS
PARKING_API PARKING_NORETURN void pl_lock_not_held(const void *lock, const char *fn,
                                                   const char *what);
PARKING_END_DECLS

/* The POST flags of an attempt that may fail. */
#define PL__ANN_RESULT(f, ok) ((ok) ? ((f) | 0u) : ((f) | PL__ANN_FAILED))

#endif /* PARKING_ANNOTATE_H */
