/* The OS seam (os.h) on POSIX systems: Linux, macOS, the BSDs, and any other with pthreads.  The
 * few differences among them (the thread id call, the clock) are settled here and nowhere else. */
#include "os.h"

#include <parking/annotate.h>
#include <parking/lot.h>

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#if defined(__linux__)
#  include <sys/syscall.h>
#elif defined(__FreeBSD__)
#  include <pthread_np.h>
#endif

void *pl_os_pages_alloc(size_t bytes)
{
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void pl_os_pages_free(void *pages, size_t bytes) { munmap(pages, bytes); }

void pl_os_yield(void) { sched_yield(); }

uint64_t pl_os_process_cpu_ns(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0)
        return UINT64_MAX;
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void pl_os_nap(uint32_t us)
{
    /* nanosleep is a cancellation point, and no lock operation may be one: a thread with a
     * cancellation pending would unwind from inside the parking lot (queued, or holding a
     * bucket), so the nap (chaos mode's delays) runs with cancellation held off. */
    int old;
    (void)pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
    struct timespec ts = {(time_t)(us / 1000000u), (long)(us % 1000000u) * 1000};
    (void)nanosleep(&ts, NULL);
    (void)pthread_setcancelstate(old, NULL);
}

uint64_t pl_os_thread_id(void)
{
#if defined(__linux__)
    return (uint64_t)syscall(SYS_gettid);
#elif defined(__APPLE__)
    uint64_t id = 0;
    (void)pthread_threadid_np(NULL, &id);
    return id;
#elif defined(__FreeBSD__)
    return (uint64_t)pthread_getthreadid_np();
#elif defined(__OpenBSD__)
    return (uint64_t)getthrid();
#else
    return 0;
#endif
}

uint64_t pl_os_process_id(void) { return (uint64_t)getpid(); }

void pl_os_write_err(const char *text, size_t len)
{
    while (len > 0) {
        ssize_t w = write(2, text, len);
        if (w <= 0)
            return;
        text += w;
        len -= (size_t)w;
    }
}

uint64_t pl_now(void)
{
#if defined(__APPLE__)
    /* CLOCK_UPTIME_RAW does not advance while the machine sleeps, as __ulock_wait's relative
     * timeouts do not; it is immune to wall-clock changes. */
    return clock_gettime_nsec_np(CLOCK_UPTIME_RAW);
#else
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
#endif
}

/* ---- Per-thread words ---- */

static _Thread_local uint64_t tls_words[PL_OS_WORDS];

uint64_t pl_os_word_get(pl_os_word_t word) { return tls_words[word]; }
void pl_os_word_set(pl_os_word_t word, uint64_t value) { tls_words[word] = value; }

/* ---- Parking data: C11 thread-local storage, and a pthread key as the thread-exit hook ----
 *
 * The data lives in the thread's own TLS block (no malloc: an allocator guarded by our locks
 * must be able to park). */

enum { TD_NONE = 0, TD_LIVE = 1, TD_GONE = 2 };

static _Thread_local pl_thread_data_t tls_data;
static _Thread_local unsigned char tls_state;

pl_thread_data_t *pl_os_td_get(bool *gone)
{
    if (tls_state == TD_LIVE)
        return &tls_data;
    *gone = tls_state == TD_GONE;
    return NULL;
}

pl_thread_data_t *pl_os_td_new(void) { return &tls_data; }

void pl_os_td_publish(pl_thread_data_t *td)
{
    (void)td; /* always tls_data */
    tls_state = TD_LIVE;
    /* A compiler barrier: glibc declares pthread_atfork and pthread_setspecific `leaf` (never
     * calling back into the caller's file, which an interposed malloc that parks does), so, were
     * everything between here and them inlined (LTO), the store could be sunk past them, out of
     * the nested park's sight (thread_data.c). */
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
}

static void on_thread_exit(void *arg)
{
    pl_thread_data_exit((pl_thread_data_t *)arg);
    tls_state = TD_GONE;
}

static pthread_key_t g_exit_key;
static pthread_once_t g_exit_once = PTHREAD_ONCE_INIT;

static void make_exit_key(void)
{
    if (pthread_key_create(&g_exit_key, on_thread_exit) != 0) {
        fprintf(stderr, "libparking: cannot create the thread-exit key (pthread_key_create)\n");
        abort();
    }
    /* Helgrind and DRD do not see pthread_once's own edge (glibc makes it with atomics and a
     * futex): say it (no-op natively; parking/annotate.h). */
    PL__VG_RELEASE(&g_exit_once);
}

void pl_os_td_at_exit(pl_thread_data_t *td)
{
    pthread_once(&g_exit_once, make_exit_key);
    PL__VG_ACQUIRE(&g_exit_once);
    /* A non-NULL value is what makes the destructor run at thread exit. */
    if (pthread_setspecific(g_exit_key, td) != 0) {
        fprintf(stderr, "libparking: cannot register the thread-exit hook (pthread_setspecific)\n");
        abort();
    }
}
