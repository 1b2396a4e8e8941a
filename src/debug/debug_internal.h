/* Debug mode (include/parking/debug.h): state shared by the files of src/debug/.  Internal.
 *
 * Everything is guarded by one process-wide recursive mutex, g_dbg_lock: the per-thread
 * records (which another thread's pl_deadlock_check reads), the owner table and the lock-order
 * graph.  Hooks never block on anything else while they hold it, and never call back into a
 * libparking lock, so it cannot take part in a deadlock of the program's locks.
 *
 * Memory comes from pl_dbg_alloc (debug_alloc.c: mmap, never malloc), so the hooks work in a
 * program whose malloc is guarded by our locks, and libparking.so still imports no allocator. */
#ifndef PARKING_DEBUG_INTERNAL_H
#define PARKING_DEBUG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <parking/annotate.h>
#include <parking/debug.h>

/* The flag bits of the hooks (parking/annotate.h), under short names. */
#define DBG_READ PL__ANN_READ
#define DBG_TRY PL__ANN_TRY
#define DBG_FAILED PL__ANN_FAILED
#define DBG_RECURSIVE PL__ANN_RECURSIVE
#define DBG_NEVER_BLOCKS                                                                           \
  PL__ANN_NEVER_BLOCKS /* a try-lock: never "waiting" for pl_deadlock_check */
#define DBG_UPGRADABLE                                                                             \
  PL__ANN_UPGRADABLE                        /* takes the upgradable mode (a READ hold that
                                               * excludes another upgradable holder) */
#define DBG_RELEASES_UP PL__ANN_RELEASES_UP /* a READ release that ends the upgradable hold */
/* In a held entry only: the upgradable hold of a pl_rwlock_t (also DBG_READ). */
#define DBG_HELD_UP 0x100u

/* ---- debug_alloc.c: memory for the tables, from mmap; call with g_dbg_lock held ---- */
void *pl_dbg_alloc(size_t size); /* zeroed; aborts when out of memory */
void pl_dbg_free(void *ptr, size_t size);
_Noreturn void pl_dbg_out_of_memory(const char *what);

/* uthash and utlist allocate through these (the includers get the same definitions). */
#define uthash_malloc(sz) pl_dbg_alloc(sz)
#define uthash_free(ptr, sz) pl_dbg_free((ptr), (sz))
#define uthash_fatal(msg) pl_dbg_out_of_memory(msg)

/* ---- debug_thread.c: the per-thread records and the internal mutex ---- */

/* A lock class (classes.c): what the lock-order graph has nodes for.  `key` is the lock itself
 * for a lock in static storage, the call site of its first lock for any other, or the
 * program's pl_debug_class_t; the three never coincide (data, code, the program's object). */
typedef enum { DBG_CLASS_STATIC = 1, DBG_CLASS_SITE, DBG_CLASS_USER } pl_dbg_class_kind_t;
typedef struct pl_dbg_class {
    const void *key;
    unsigned kind; /* pl_dbg_class_kind_t; 0: none (no class could be remembered) */
    unsigned sub;  /* the nesting level (pl_debug_nest) */
} pl_dbg_class_t;

/* One lock the thread holds (one entry per acquisition, except a reentrant relock, which
 * counts in `depth`). */
typedef struct pl_dbg_held {
    const void *lock;
    const char *fn; /* the public function that took it */
    void *site;     /* return address of its hook: the caller's code */
    unsigned flags; /* DBG_READ for a shared hold, | DBG_HELD_UP for the upgradable one */
    unsigned depth; /* 1, or more for a pl_remutex_t relocked by its owner */
    pl_dbg_class_t cls;
} pl_dbg_held_t;

typedef struct pl_dbg_thread {
    struct pl_dbg_thread *prev, *next; /* registry (utlist DL), guarded by g_dbg_lock */
    unsigned long id;                  /* 1, 2, ... in order of first use: "thread N" */
    long tid;                          /* pl_os_thread_id(): the OS's id, or 0 */
    bool exited;                       /* the thread ended while holding locks */
    pl_dbg_held_t *held;               /* oldest first */
    size_t nheld, cap;
    /* What the thread is blocked on, between the lock hooks of a blocking or timed acquisition
     * (NULL when it is not). */
    const void *waiting;
    unsigned waiting_flags;
    const char *waiting_fn;
    void *waiting_site;
    size_t index; /* scratch of pl_deadlock_check */
    /* pl_debug_nest's annotation of the next acquisition of `nest_lock` (NULL: none). */
    const void *nest_lock;
    unsigned nest_sub;
    /* The class lock_pre found for `pending_lock`, for lock_post (NULL: none). */
    const void *pending_lock;
    pl_dbg_class_t pending_cls;
} pl_dbg_thread_t;

/* The registry of threads that used debug mode (plus exited ones that still hold locks). */
extern pl_dbg_thread_t *pl_dbg_threads;

/* The lockdep mode, read once from PARKING_DEBUG_LOCKDEP. */
typedef enum {
    PL_DBG_LOCKDEP_ABORT,
    PL_DBG_LOCKDEP_WARN,
    PL_DBG_LOCKDEP_OFF
} pl_dbg_lockdep_mode_t;
extern pl_dbg_lockdep_mode_t pl_dbg_lockdep_mode;

/* Takes g_dbg_lock (initialising debug mode on first use) and returns the calling thread's
 * record, created on first use. */
pl_dbg_thread_t *pl_dbg_enter(void);
void pl_dbg_leave(void);
/* Takes g_dbg_lock and returns 1, unless debug mode was never used (0, nothing taken) or the
 * mutex stays taken for `timeout_ms` (-1, after printing why to `out` if not NULL). */
int pl_dbg_enter_existing(unsigned timeout_ms, FILE *out);
/* Takes g_dbg_lock unless debug mode was never used (then false, nothing taken). */
bool pl_dbg_enter_if_used(void);

/* The calling thread's entry for `lock`: the newest one with the given mode (`mode` DBG_READ
 * or 0), or of any mode if `any`. */
pl_dbg_held_t *pl_dbg_find_held(pl_dbg_thread_t *t, const void *lock, unsigned mode, bool any);
void pl_dbg_push_held(pl_dbg_thread_t *t, const pl_dbg_held_t *h);
void pl_dbg_remove_held(pl_dbg_thread_t *t, pl_dbg_held_t *h);
pl_dbg_thread_t *pl_dbg_thread_by_id(unsigned long id);

/* ---- debug_owner.c: the owner table (lock address -> exclusive owner, reader count) ---- */
typedef struct pl_dbg_owner pl_dbg_owner_t;
void pl_dbg_owner_acquired(const void *lock, unsigned flags, unsigned long thread);
void pl_dbg_owner_released(const void *lock, unsigned flags);
/* The exclusive owner's id (0: none) and the number of readers; false if nobody holds it. */
bool pl_dbg_owner_get(const void *lock, unsigned long *owner, size_t *readers);
void pl_dbg_owner_forget(const void *addr, size_t size);
/* A thread (other than `except`) that holds `lock` in read mode, or NULL. */
pl_dbg_thread_t *pl_dbg_find_reader(const void *lock, const pl_dbg_thread_t *except);

/* ---- debug_report.c: messages ---- */
/* A growing text, formatted into a fixed buffer (messages are short; overflow truncates). */
typedef struct pl_dbg_text {
    char buf[4096];
    size_t len;
} pl_dbg_text_t;
void pl_dbg_text_add(pl_dbg_text_t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* " at <site> (<object>+0x<offset>)": where in the program a call was made. */
void pl_dbg_text_site(pl_dbg_text_t *t, void *site);
/* "thread N" plus " (tid T)" / " (exited)" where known. */
void pl_dbg_text_thread(pl_dbg_text_t *t, unsigned long id);
/* Prints "libparking: <fn>(<lock>): <text>" to stderr and aborts. */
_Noreturn void pl_dbg_fail(const char *fn, const void *lock, const pl_dbg_text_t *text);
/* The same without aborting. */
void pl_dbg_warn(const char *fn, const void *lock, const pl_dbg_text_t *text);

/* ---- classes.c: which class each lock is in (a bounded table of locks) ---- */
/* The remembered class of `lock` (sub 0), if any. */
bool pl_dbg_class_find(const void *lock, pl_dbg_class_t *cls);
/* Whether `lock` lies in a loaded object (its data or bss): a global or static variable.  Call
 * it WITHOUT g_dbg_lock: dladdr takes the dynamic loader's lock. */
bool pl_dbg_in_static_storage(const void *lock);
/* The class of a lock not remembered yet, taken at `site` now; remembers it if it can. */
pl_dbg_class_t pl_dbg_class_add(const void *lock, void *site, bool in_static);
/* pl_debug_set_class's work; false if the table is full of named locks. */
bool pl_dbg_class_set(const void *lock, const void *user_class);
void pl_dbg_class_forget(const void *addr, size_t size);
/* " (class \"name\")" or " (class of locks first taken at <site>)"; nothing for a static
 * lock, which is its own class. */
void pl_dbg_text_class(pl_dbg_text_t *t, const pl_dbg_class_t *cls);
void pl_dbg_class_stats(pl_debug_stats_t *stats);
/* Prints "libparking: debug mode: <what>" to stderr, once per `*said` flag. */
void pl_dbg_note_once(bool *said, const char *what);

/* ---- debug_lockdep.c: the lock-order graph (nodes: classes, with their nesting level) ---- */
/* `t` is about to block for `lock` of class `cls` (taken with `fn` at `site`) while holding
 * t->held. */
void pl_dbg_lockdep_acquire(pl_dbg_thread_t *t, const void *lock, const pl_dbg_class_t *cls,
                            unsigned flags, const char *fn, void *site);
/* Forgets the classes whose key lies in the range (static locks, the program's class objects). */
void pl_dbg_lockdep_forget(const void *addr, size_t size);
void pl_dbg_lockdep_stats(pl_debug_stats_t *stats);
/* alloc.c: bytes mapped so far. */
size_t pl_dbg_mapped_bytes(void);

#endif /* PARKING_DEBUG_INTERNAL_H */
