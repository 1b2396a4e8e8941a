/* Per-thread parking data: created on a thread's first park, released at its exit. */
#include "thread_data.h"

#include <stdio.h>
#include <stdlib.h>

#include <parking/annotate.h>
#include "chaos.h"
#include "table.h"

#if defined(_WIN32)
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#elif defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#elif defined(__APPLE__)
#include <pthread.h>
#elif defined(__FreeBSD__)
#include <pthread_np.h>
#elif defined(__OpenBSD__)
#include <unistd.h>
#endif

/* The id debuggers and `ps -L` / `top -H` show for the calling thread (pl_lot_walk); 0 where
 * there is no such call. */
static uint64_t os_thread_id(void)
{
#if defined(_WIN32)
    return GetCurrentThreadId();
#elif defined(__linux__)
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

/* Threads holding parking data, counted so the table can keep 3 buckets per thread. */
static size_t g_threads;

size_t pl_thread_count(void) { return __atomic_load_n(&g_threads, __ATOMIC_RELAXED); }

/* Fills in and counts the data; returns the thread count to pass to td_reserve.  Nothing here
 * can allocate or park. */
static size_t td_init(pl_thread_data_t *td)
{
    /* Helgrind and DRD (parking/annotate.h; no-op natively) do not check the data: other threads
     * edit it under bucket locks, which are atomics to them, and the key is read without one. */
    PL__VG_RACY(td, sizeof *td);
    pl_parker_init(&td->parker);
    td->key = NULL;
    td->prev = td->next = NULL;
    td->park_token = td->unpark_token = 0;
    td->parked_ns = 0;
    td->os_tid = os_thread_id();
    return __atomic_add_fetch(&g_threads, 1, __ATOMIC_RELAXED);
}

/* Sizes the table for the thread just counted, creating the process's first table if there is
 * none.  Creating it registers the fork handler, and pthread_atfork allocates, so an allocator
 * guarded by our locks may park right here, nested in this thread's park (parking/fork.c).  So
 * it is called only once a nested pl_thread_data_acquire finds the data live (or, for stack
 * fallback data, builds fallback data of its own). */
static void td_reserve(size_t threads)
{
    /* Counted, not yet reserved for: another thread may grow the table meanwhile. */
    PL_CHAOS_POINT();
    pl_table_reserve(threads);
}

static void td_fini(pl_thread_data_t *td)
{
    pl_parker_destroy(&td->parker);
    __atomic_sub_fetch(&g_threads, 1, __ATOMIC_RELAXED);
}

#if defined(_WIN32)
/* Windows: the data is a small block from the process heap, found through a Win32 TLS slot, and
 * released by a fiber-local-storage callback, which Windows runs at thread exit before any DLL's
 * thread-detach code (so before the TLS destructors of the C runtime and winpthreads).
 *
 * Why not _Thread_local, as on POSIX: mingw-w64's GCC has no native TLS and implements it with
 * emutls, which calls malloc on a thread's first access; a program whose malloc is guarded by
 * our locks would then recurse forever on its first contended park.  HeapAlloc on the process
 * heap never reaches the C runtime's (or a replaced) malloc, and MSVC, clang and GCC behave the
 * same.  The TLS slot holds NULL (no data yet), TD_GONE_MARK (the exit callback ran: later parks
 * use the caller's stack fallback) or the thread's record.
 *
 * Fibers: FLS values belong to the fiber that set them.  The record is per thread, so the
 * callback only frees it on its owner thread; DeleteFiber of that fiber from another thread
 * leaves the record to its thread (it then stays allocated and counted).  After the DLL is
 * unloaded (FreeLibrary) no callback may point into it, so DllMain frees the FLS index; a
 * static libparking.a inside a DLL that is unloaded while threads that parked are still alive
 * has no such hook (docs/windows.md). */
typedef struct win_record {
    pl_thread_data_t td; /* first: the FLS value and the TLS value point at both */
    DWORD owner;         /* GetCurrentThreadId() of the thread it belongs to */
} win_record_t;

static DWORD g_tls_index = TLS_OUT_OF_INDEXES;
static DWORD g_fls_index = FLS_OUT_OF_INDEXES;
static INIT_ONCE g_index_once = INIT_ONCE_STATIC_INIT;
static bool g_unloading; /* set by DllMain before it frees the FLS index */
static char g_gone;
#define TD_GONE_MARK ((void *)&g_gone)

static void WINAPI fls_exit(void *arg)
{
    win_record_t *r = arg;
    if (r == NULL)
        return;
    /* FlsFree at unload runs this for every thread's record, on the unloading thread; nobody
     * may be parked in a DLL that is being unloaded, so all of them can go. */
    if (r->owner != GetCurrentThreadId() && !__atomic_load_n(&g_unloading, __ATOMIC_RELAXED))
        return;
    if (r->owner == GetCurrentThreadId())
        TlsSetValue(g_tls_index, TD_GONE_MARK);
    td_fini(&r->td);
    HeapFree(GetProcessHeap(), 0, r);
}

static BOOL CALLBACK make_indexes(PINIT_ONCE once, void *param, void **ctx)
{
    (void)once, (void)param, (void)ctx;
    g_tls_index = TlsAlloc();
    if (g_tls_index == TLS_OUT_OF_INDEXES)
        return FALSE;
    g_fls_index = FlsAlloc(fls_exit);
    return g_fls_index != FLS_OUT_OF_INDEXES;
}

pl_thread_data_t *pl_thread_data_acquire(pl_thread_data_t *fallback)
{
    /* TlsGetValue resets the thread's last-error value even when it succeeds; a contended lock
     * must not change what GetLastError() tells the application. */
    DWORD saved_error = GetLastError();
    if (!InitOnceExecuteOnce(&g_index_once, make_indexes, NULL, NULL)) {
        fprintf(stderr, "libparking: cannot allocate the per-thread index (TlsAlloc/FlsAlloc)\n");
        abort();
    }
    void *v = TlsGetValue(g_tls_index);
    pl_thread_data_t *td;
    if (v != NULL && v != TD_GONE_MARK) {
        td = &((win_record_t *)v)->td;
    } else if (v == NULL && (v = HeapAlloc(GetProcessHeap(), 0, sizeof(win_record_t))) != NULL) {
        win_record_t *r = v;
        r->owner = GetCurrentThreadId();
        size_t threads = td_init(&r->td);
        /* Live in the TLS slot before anything that may allocate (the hook's FlsSetValue), so
         * that a park nested in it finds ready data; the same order as on POSIX. */
        TlsSetValue(g_tls_index, r);
        td_reserve(threads);
        if (!FlsSetValue(g_fls_index, r)) {
            fprintf(stderr, "libparking: cannot register the thread-exit hook (FlsSetValue)\n");
            abort();
        }
        td = &r->td;
    } else {
        /* After the thread-exit callback, or out of memory (retried at the next park). */
        td_reserve(td_init(fallback));
        td = fallback;
    }
    SetLastError(saved_error);
    return td;
}

#if !defined(PARKING_STATIC)
BOOL WINAPI DllMain(HINSTANCE instance, DWORD reason, LPVOID reserved);

/* libparking.dll's entry point: on FreeLibrary (reserved == NULL; not at process exit) take
 * the FLS callback back before our code is unmapped, or every thread that ever parked would
 * call into the void when it exits. */
BOOL WINAPI DllMain(HINSTANCE instance, DWORD reason, LPVOID reserved)
{
    (void)instance;
    if (reason == DLL_PROCESS_DETACH && reserved == NULL && g_fls_index != FLS_OUT_OF_INDEXES) {
        __atomic_store_n(&g_unloading, true, __ATOMIC_RELAXED);
        FlsFree(g_fls_index);
        TlsFree(g_tls_index);
    }
    return TRUE;
}
#endif

#else /* POSIX: C11 thread-local storage, and a pthread key as the thread-exit hook */

enum { TD_NONE = 0, TD_LIVE = 1, TD_GONE = 2 };

/* The data lives in the thread's own TLS block (no malloc: an allocator guarded by our locks
 * must be able to park).  A thread-exit hook releases it; a park after that hook ran uses the
 * stack fallback. */
static _Thread_local pl_thread_data_t tls_data;
static _Thread_local unsigned char tls_state;

static void on_thread_exit(void *arg)
{
    td_fini((pl_thread_data_t *)arg);
    tls_state = TD_GONE;
}

#include <pthread.h>

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

static void register_exit_hook(pl_thread_data_t *td)
{
    pthread_once(&g_exit_once, make_exit_key);
    PL__VG_ACQUIRE(&g_exit_once);
    /* A non-NULL value is what makes the destructor run at thread exit. */
    if (pthread_setspecific(g_exit_key, td) != 0) {
        fprintf(stderr, "libparking: cannot register the thread-exit hook (pthread_setspecific)\n");
        abort();
    }
}

pl_thread_data_t *pl_thread_data_acquire(pl_thread_data_t *fallback)
{
    if (tls_state == TD_LIVE)
        return &tls_data;
    if (tls_state == TD_NONE) {
        size_t threads = td_init(&tls_data);
        /* Live before anything that may allocate: creating the first table (pthread_atfork,
         * parking/fork.c) and registering the exit hook (pthread_setspecific allocates for keys
         * past glibc's first 32).  An allocator that uses our locks may park right there, nested
         * in this park; that nested park finds ready data instead of starting over (which
         * counted the thread twice and, before the fork handler was registered without
         * pthread_once, waited on its own pthread_once forever).  The outer park has not used
         * the data yet, so the nested one may. */
        tls_state = TD_LIVE;
        /* A compiler barrier: glibc declares pthread_atfork and pthread_setspecific `leaf`
         * (never calling back into the caller's file, which an interposed malloc that parks
         * does), so, were everything between here and them inlined (LTO), the store could be
         * sunk past them, out of the nested park's sight. */
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
        td_reserve(threads);
        register_exit_hook(&tls_data);
        return &tls_data;
    }
    td_reserve(td_init(fallback));
    return fallback;
}

void pl_thread_data_after_fork(void)
{
    /* The child has one thread: the forking one.  Its data, if any, stays valid (the parker is
     * FREE: it was not parked while calling fork); every other thread's count is gone. */
    __atomic_store_n(&g_threads, tls_state == TD_LIVE ? 1 : 0, __ATOMIC_RELAXED);
    if (tls_state == TD_LIVE) {
        pl_parker_init(&tls_data.parker);
        tls_data.os_tid = os_thread_id(); /* the child's thread has an id of its own */
    }
}
#endif

void pl_thread_data_release(pl_thread_data_t *td, pl_thread_data_t *fallback)
{
    if (td == fallback)
        td_fini(fallback);
}
