/* The core's one seam with the operating system: everything the parking lot needs from it, other
 * than sleeping and waking a thread (that is the parker, parker.h), behind one small interface.
 * parking/os_posix.c and parking/os_windows.c implement it, one of them chosen by the build beside
 * the parker (cmake/ParkingParker.cmake); the rest of the core, and the primitives of src/ that
 * need an OS service (once's per-thread list, debug mode's thread ids), hold no OS `#if`.
 *
 * Nothing here allocates through the C library's malloc: an application whose allocator is
 * guarded by our locks must be able to park from inside it (docs/design.md section 3).  Internal.
 * */
#ifndef PARKING_OS_H
#define PARKING_OS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "thread_data.h"

/* ---- Memory: whole zeroed pages straight from the OS, for the table (table.c) ---- */

/* @p bytes of zeroed memory, or NULL if the OS has none. */
void *pl_os_pages_alloc(size_t bytes);
void pl_os_pages_free(void *pages, size_t bytes);

/* ---- Scheduling ---- */

/* Lets another runnable thread have this processor (pl_spin, a registration wait in fork.c). */
void pl_os_yield(void);
/* Sleeps about @p us microseconds (chaos mode's longest delay; Windows sleeps 0 ms, its best). */
void pl_os_nap(uint32_t us);
/* CPU time used so far by every thread of this process, in nanoseconds; UINT64_MAX where the OS
 * cannot say.  A system call: for pl_spin's slow-yield test only, beside a yield. */
uint64_t pl_os_process_cpu_ns(void);

/* ---- Identity ---- */

/* The id debuggers and `ps -L` / `top -H` show for the calling thread; 0 where there is none. */
uint64_t pl_os_thread_id(void);
uint64_t pl_os_process_id(void);

/* ---- Messages ---- */

/* Writes @p len bytes to standard error at once, with no buffer and no allocation (chaos mode
 * announces its seed from inside lock paths). */
void pl_os_write_err(const char *text, size_t len);

/* ---- Per-thread words, zero in every new thread ----
 *
 * C11 `_Thread_local` where it costs nothing; Windows TLS slots where the compiler would emulate
 * it with malloc (mingw-w64's emutls).  Each user names its words here. */
typedef enum pl_os_word {
    PL_OS_WORD_ONCE_RUN, /* src/once.c: the innermost initialiser this thread is running */
    PL_OS_WORD_ONCE_POS, /* src/once.c: the stack position it was entered at */
    PL_OS_WORD_CHAOS,    /* parking/chaos.c: this thread's random stream */
    PL_OS_WORDS
} pl_os_word_t;

uint64_t pl_os_word_get(pl_os_word_t word);
void pl_os_word_set(pl_os_word_t word, uint64_t value);

/* ---- This thread's parking data (thread_data.c holds the algorithm, this its storage) ----
 *
 * The life of the data: pl_os_td_get finds none; pl_os_td_new gives storage for it; the caller
 * fills it in and pl_os_td_publish makes pl_os_td_get return it, before anything that may
 * allocate (a park nested in that allocation must find it); then pl_os_td_at_exit arranges for
 * pl_thread_data_exit(td) to run when the thread exits, after which pl_os_td_get reports the
 * data gone and later parks use the caller's stack fallback. */

/* This thread's live data, or NULL: none yet (*gone false) or released at exit (*gone true). */
pl_thread_data_t *pl_os_td_get(bool *gone);
/* Storage for this thread's data, zeroed or not; NULL if none can be had now (retried at the
 * next park; meanwhile the caller's fallback serves). */
pl_thread_data_t *pl_os_td_new(void);
void pl_os_td_publish(pl_thread_data_t *td);
void pl_os_td_at_exit(pl_thread_data_t *td);

#endif /* PARKING_OS_H */
