/** @file
 * libparking: debug mode: owner tracking, lock-order checking (lockdep) and a deadlock finder.
 *
 * Debug mode is on in every translation unit compiled against a libparking configured with
 * `-DPARKING_DEBUG=ON` (its generated parking/config.h says `#define PARKING_DEBUG 1`), and in
 * any translation unit that defines PARKING_DEBUG to 1 itself before including a lock header.
 * Then the inline lock and unlock functions of pl_mutex_t, pl_rwlock_t, pl_remutex_t and the
 * waits of pl_cond_t call the four hooks below (through parking/annotate.h) around every
 * acquisition and release, and the library checks, for each lock by address:
 *
 * - **Owner tracking.** Who holds each lock: the owning thread of an exclusive lock, the
 *   number of readers of a shared one, and each thread's own list of held locks.  A blocking
 *   relock of a non-reentrant lock by its holder aborts with
 *   `libparking: <fn>(<lock>): would deadlock: already held by this thread ...`; an unlock by a
 *   thread that does not hold the lock while another thread does aborts with
 *   `... not the owner; held by thread N ...`; a read unlock by a thread that holds no read
 *   lock on it while other threads do aborts with `... not a reader: ...`.  Re-locks of a
 *   pl_remutex_t by its owner, and pl_rwlock_rdlock_recursive, are not errors.
 * - **Lock order (lockdep), by lock class.**  As in Linux lockdep, the order is checked between
 *   classes of locks, not between single locks.  When a thread blocks for a lock of class B
 *   while it holds one of class A, the order "A before B" is recorded, with the locks, the
 *   functions and the call sites of both acquisitions.  An acquisition that would close a cycle
 *   (B before ... before A was recorded earlier, by any thread, with any locks of these classes)
 *   aborts at once with `... lock order inversion: ...`, printing both orders: the deadlock is
 *   reported the first time it becomes possible, not when it happens.  A blocking acquisition of
 *   a lock of the class of a lock the thread holds aborts with `... possible recursive locking:
 *   ...` unless it is annotated with pl_debug_nest (lock coupling).  Try-locks and timed locks
 *   add no order (they cannot block forever; Linux lockdep treats trylocks the same way), nor
 *   does pl_rwlock_rdlock_recursive (it never waits for readers or queued writers).  The
 *   environment variable `PARKING_DEBUG_LOCKDEP` chooses: `abort` (default), `warn` (print
 *   each report once and go on) or `off`.
 * - **pl_deadlock_check().** Finds the threads that are blocked right now in a cycle of lock
 *   waits (a real deadlock) and prints it.
 *
 * Bit locks and pl_ptrlock_t are not tracked (several bit locks share one address, and a bit
 * lock has no owner: unlocking it from another thread is allowed).
 *
 * **Lock classes.**  A lock in static storage (a global or static variable of the program or of
 * a shared library) is a class of its own.  Any other lock (heap, stack) belongs to the class
 * of its first lock's call site: every lock first taken at that line of code is one class, as
 * the pages of a B-tree or the nodes of a list are.  pl_debug_set_class names a class
 * instead (a lock taken through a wrapper function of the program, say, whose call site is
 * the same for every lock).  Debug mode remembers the class of up to PARKING_DEBUG_LOCKS locks
 * (environment, default 65536); past that it forgets the oldest unnamed ones, which get their
 * class again at their next lock.  Held locks are tracked each (owner, threads' lists), but
 * only while held, so memory is bounded by the number of classes, orders and locks held at
 * once, not by the number of locks ever used: pl_debug_get_stats says how much.  Call
 * pl_debug_forget() before freeing memory that held locks which may be reused for other locks,
 * or a new lock inherits the class (and the recorded order) of the old one.
 *
 * Cost: every lock and unlock takes one process-wide internal mutex and looks the lock up in
 * hash tables (docs/design.md §11 has the figures); the tables and per-thread records are
 * allocated (from memory mapped for them, never through malloc, so a program whose allocator
 * uses our locks still works).  In a build
 * where nothing is compiled with PARKING_DEBUG the hooks are never called and cost nothing: no
 * constructor, no memory, no thread-exit hook.  Debug mode is available on POSIX systems; on
 * Windows the functions exist but do nothing (and PARKING_DEBUG=ON is refused by CMake).
 *
 * Messages and their tests: docs/reliability.md; reference: docs/reference/debug.md.
 */
#ifndef PARKING_DEBUG_H
#define PARKING_DEBUG_H

#include <stddef.h>
#include <stdio.h>

#include <parking/export.h>

#if defined(__has_include)
#  if __has_include(<parking/config.h>)
/* PARKING_DEBUG of the build, for the annotations below. */
#    include <parking/config.h>
#  endif
#endif

PARKING_BEGIN_DECLS

/** Debug-mode hook: the calling thread is about to acquire @p lock (and may block after it).
 *
 * Called by the inline lock functions when PARKING_DEBUG is 1, not meant for direct use (but
 * a lock of your own built on parking/lot.h may call the four hooks too).  @p flags are the
 * PL__ANN_* bits of parking/annotate.h (READ: shared or upgradable mode; TRY: a try-lock or
 * timed lock; NEVER_BLOCKS: a try-lock, which never counts as waiting; RECURSIVE: a reentrant
 * relock by the owner, or pl_rwlock_rdlock_recursive; UPGRADABLE and RELEASES_UP: a rwlock's
 * upgradable hold taken, or ended); what a call is comes from these flags alone.  @p fn is the
 * public function's name (not NULL; a string that lives as long as the program, such as
 * __func__), used only in the messages.  Checks self-deadlock and lock order,
 * and marks the thread as waiting for @p lock until pl_debug_lock_post.
 *
 * Blocks: only on the debug mode's internal mutex.  Misuse: aborts with a message on a
 * self-deadlock or a lock-order inversion (see the file description).  Async-signal-safe: no. */
PARKING_API void pl_debug_lock_pre(const void *lock, unsigned flags, const char *fn);

/** Debug-mode hook: the attempt announced by pl_debug_lock_pre is over; @p flags has
 * PL__ANN_FAILED if @p lock was not acquired.  Records the calling thread as a holder.
 *
 * Blocks: only on the internal mutex.  Misuse: none reported.  Async-signal-safe: no. */
PARKING_API void pl_debug_lock_post(const void *lock, unsigned flags, const char *fn);

/** Debug-mode hook: the calling thread is about to release @p lock (PL__ANN_READ: a shared or
 * upgradable hold).  Checks that the calling thread holds it, and forgets the hold.
 *
 * Blocks: only on the internal mutex.  Misuse: aborts with a message if another thread holds
 * @p lock and the caller does not (an unlock of a lock that nobody holds is left to the lock's
 * own check).  Async-signal-safe: no. */
PARKING_API void pl_debug_unlock_pre(const void *lock, unsigned flags, const char *fn);

/** Debug-mode hook: the release announced by pl_debug_unlock_pre is done.
 *
 * Blocks: never.  Misuse: none.  Async-signal-safe: no. */
PARKING_API void pl_debug_unlock_post(const void *lock, unsigned flags, const char *fn);

/** Debug-mode check behind the assert-held functions (pl_mutex_assert_held and the others):
 * aborts unless the calling thread holds @p lock, exclusively, or in any mode if @p flags has
 * PL__ANN_READ.  Exact, as far as the lock's acquisitions went through debug mode's hooks.
 *
 * Blocks: only on the internal mutex.  Misuse: aborts with
 * `libparking: <fn>(<lock>): not held by this thread ...`, naming the holder if there is one.
 * Async-signal-safe: no. */
PARKING_API void pl_debug_assert_held(const void *lock, unsigned flags, const char *fn);

/** As pl_debug_lock_pre, with the call site to report: the caller's return address, or NULL
 * for the return address of this call itself (see pl_debug_lock_pre below).
 *
 * Blocks: only on the internal mutex.  Misuse: as pl_debug_lock_pre.  Async-signal-safe: no. */
PARKING_API void pl_debug_lock_pre_at(const void *lock, unsigned flags, const char *fn, void *site);

/** As pl_debug_lock_post, with the call site to record (NULL: this call's return address).
 *
 * Blocks: only on the internal mutex.  Misuse: none.  Async-signal-safe: no. */
PARKING_API void pl_debug_lock_post_at(const void *lock, unsigned flags, const char *fn,
                                       void *site);

/* Where the program called the lock function, as messages report it.  Optimised code inlines
 * the lock functions into their callers, so the hooks' own return address is in the caller;
 * unoptimised code (-O0) calls the inline functions as real functions, whose return address is
 * then the place to report.  Not for direct use. */
#if (defined(__GNUC__) || defined(__clang__)) && !defined(__OPTIMIZE__)
#  define PL__DBG_SITE() __builtin_return_address(0)
#else
#  define PL__DBG_SITE() PL__NULL
#endif

/** The lock headers' call of pl_debug_lock_pre: passes the call site (PL__DBG_SITE). */
#define pl_debug_lock_pre(lock, flags, fn) pl_debug_lock_pre_at(lock, flags, fn, PL__DBG_SITE())
/** The lock headers' call of pl_debug_lock_post: passes the call site (PL__DBG_SITE). */
#define pl_debug_lock_post(lock, flags, fn) pl_debug_lock_post_at(lock, flags, fn, PL__DBG_SITE())

/** Looks for a deadlock now: a cycle of threads each blocked (between the lock hooks of a
 * blocking or timed acquisition) on a lock that the next one holds, including a thread waiting
 * for a lock it holds itself, and a reader waiting behind a queued writer that waits for it.
 * Prints each cycle to @p out (one line per thread: the lock it waits for, the function and
 * call site, the holder) unless @p out is NULL.
 *
 * Meant for a watchdog thread, a test, or a debugger (`call pl_deadlock_check(stderr)` in gdb).
 * It sees only threads whose lock calls were compiled with PARKING_DEBUG, so in a program
 * without debug mode it returns 0.  If the internal mutex stays taken for a second (a debugger
 * stopped a thread inside a hook), it says so on @p out and returns SIZE_MAX.
 *
 * Blocks: on the internal mutex (up to about a second).  Misuse: none.
 * Async-signal-safe: no.
 * @return the number of threads in deadlock cycles, 0 if none, SIZE_MAX if it could not look. */
PARKING_API size_t pl_deadlock_check(FILE *out);

/** Forgets every lock whose address lies in [@p addr, @p addr + @p size): its recorded lock
 * order and its holders.  Call it before freeing (or reusing) memory that held locks used in
 * debug mode, so that a new lock at the same address starts with no history.  Cheap when debug
 * mode was never used.
 *
 * Blocks: only on the internal mutex.  Misuse: none.  Async-signal-safe: no. */
PARKING_API void pl_debug_forget(const void *addr, size_t size);

/** A lock class named by the program (see "Lock classes" in the file description).  Its
 * address is the class's identity, so it must live as long as any lock of the class is used
 * (a static object, as `static pl_debug_class_t page_class = PL_DEBUG_CLASS_INIT("page");`). */
typedef struct pl_debug_class {
    const char *name; /**< printed in messages: `class "page"`; a string that lives as long */
} pl_debug_class_t;

/** Static initialiser of a pl_debug_class_t named @p name. */
#define PL_DEBUG_CLASS_INIT(name)                                                                  \
  {                                                                                                \
    (name)                                                                                         \
  }

/** The subclasses that pl_debug_nest accepts: 0 (the default) to PL_DEBUG_MAX_SUBCLASS. */
#define PL_DEBUG_MAX_SUBCLASS 7u

/** Puts @p lock in the class @p cls (NULL: back to its default class) for lock-order checks.
 * Call it before the lock's first use, or while no thread holds it: a held lock keeps the class
 * it was taken with until it is released.  The class stays with the lock until
 * pl_debug_forget covers its address.
 *
 * Blocks: only on the internal mutex.  Misuse: none; if the table of remembered locks is full
 * of named ones (PARKING_DEBUG_LOCKS), the lock keeps its default class and debug mode says so
 * once on stderr (counted in pl_debug_stats_t::classes_refused).  Async-signal-safe: no. */
PARKING_API void pl_debug_set_class(const void *lock, const pl_debug_class_t *cls);

/** Lockdep's nesting annotation (Linux's mutex_lock_nested): the calling thread's next
 * acquisition of @p lock is at nesting level @p subclass (1 to PL_DEBUG_MAX_SUBCLASS; larger
 * values count as the largest) of its class, so holding a lock of the class at level 0 while
 * taking this one is an order between two levels, not a lock taken inside itself.  If the
 * thread holds @p lock already, it moves that hold to level @p subclass (lockdep's
 * lock_set_subclass).  When a thread releases a lock, its other held locks of that class at
 * higher levels move down one level: lock coupling (hand over hand: take page i + 1 while
 * holding page i, then release page i) needs the annotation only on the lock taken inside the
 * other, and every step records the same order, level 0 before level 1.
 *
 * Blocks: only on the internal mutex.  Misuse: none.  Async-signal-safe: no. */
PARKING_API void pl_debug_nest(const void *lock, unsigned subclass);

/** What debug mode holds now, and what it left out because a bounded table was full. */
typedef struct pl_debug_stats {
    size_t classes;         /**< lock classes in the order graph (a subclass counts apart) */
    size_t orders;          /**< recorded orders: "a lock of class A, then one of class B" */
    size_t locks_known;     /**< locks whose class is remembered (at most PARKING_DEBUG_LOCKS) */
    size_t locks_forgotten; /**< remembered locks dropped to make room (they get their class
                                 again at their next lock, from its call site) */
    size_t classes_dropped; /**< acquisitions whose class did not fit (not order-checked) */
    size_t orders_dropped;  /**< new orders that did not fit (not recorded, not checked) */
    size_t classes_refused; /**< pl_debug_set_class calls refused: the table was full */
    size_t bytes;           /**< memory debug mode has mapped for its tables */
} pl_debug_stats_t;

/** Fills @p stats (all zero if debug mode was never used).
 *
 * Blocks: only on the internal mutex.  Misuse: none.  Async-signal-safe: no. */
PARKING_API void pl_debug_get_stats(pl_debug_stats_t *stats);

/* Code compiled without debug mode pays nothing for the annotations: no call, no memory. */
#if !(defined(PARKING_DEBUG) && PARKING_DEBUG)
/** Without debug mode: nothing (see the function pl_debug_set_class). */
#  define pl_debug_set_class(lock, cls) ((void)(lock), (void)(cls))
/** Without debug mode: nothing (see the function pl_debug_nest). */
#  define pl_debug_nest(lock, subclass) ((void)(lock), (void)(subclass))
#endif

PARKING_END_DECLS

#endif /* PARKING_DEBUG_H */
