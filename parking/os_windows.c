/* The OS seam (os.h) on Windows.
 *
 * Per-thread storage uses Win32 TLS slots, never C11 `_Thread_local`: mingw-w64's GCC has no
 * native TLS and emulates it (emutls) with a malloc on a thread's first access, and a program
 * whose malloc is guarded by our locks would then recurse forever on its first contended park.
 * HeapAlloc on the process heap never reaches the C runtime's (or a replaced) malloc, and MSVC,
 * clang and GCC behave the same.  Every TLS call here keeps the thread's last-error value, which
 * TlsGetValue resets even when it succeeds: a contended lock must not change what GetLastError()
 * tells the application. */
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include "fork.h"
#include "os.h"

#include <parking/lot.h>

#include <stdio.h>
#include <stdlib.h>

void *pl_os_pages_alloc(size_t bytes)
{
    DWORD saved_error = GetLastError();
    void *p = VirtualAlloc(NULL, bytes, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE);
    SetLastError(saved_error);
    return p;
}

void pl_os_pages_free(void *pages, size_t bytes)
{
    (void)bytes;
    VirtualFree(pages, 0, MEM_RELEASE);
}

void pl_os_yield(void) { Sleep(0); }

uint64_t pl_os_process_cpu_ns(void)
{
    FILETIME created, exited, kernel, user;
    if (!GetProcessTimes(GetCurrentProcess(), &created, &exited, &kernel, &user))
        return UINT64_MAX;
    /* 100 ns units. */
    uint64_t k = ((uint64_t)kernel.dwHighDateTime << 32) | kernel.dwLowDateTime;
    uint64_t u = ((uint64_t)user.dwHighDateTime << 32) | user.dwLowDateTime;
    return (k + u) * 100u;
}

void pl_os_nap(uint32_t us)
{
    (void)us;
    Sleep(0); /* Windows sleeps in whole milliseconds at best */
}

uint64_t pl_os_thread_id(void) { return GetCurrentThreadId(); }

uint64_t pl_os_process_id(void) { return GetCurrentProcessId(); }

void pl_os_write_err(const char *text, size_t len)
{
    fwrite(text, 1, len, stderr);
    fflush(stderr);
}

uint64_t pl_now(void)
{
    /* QueryPerformanceFrequency is fixed at boot; reading it each time avoids a global that
     * would need initialising.  Split the multiplication so ticks * 1e9 cannot overflow. */
    LARGE_INTEGER freq, count;
    QueryPerformanceFrequency(&freq);
    QueryPerformanceCounter(&count);
    uint64_t f = (uint64_t)freq.QuadPart, c = (uint64_t)count.QuadPart;
    return (c / f) * 1000000000u + (c % f) * 1000000000u / f;
}

/* Windows has no fork(): nothing to register (parking/fork.c is built on POSIX only). */
void pl_fork_register(void) {}

/* ---- Per-thread words: TLS slots (two per word where a pointer is narrower than 64 bits) ---- */

enum { SLOTS_PER_WORD = sizeof(void *) < sizeof(uint64_t) ? 2 : 1 };
static DWORD g_word_slots[PL_OS_WORDS][SLOTS_PER_WORD];
static INIT_ONCE g_word_once = INIT_ONCE_STATIC_INIT;

static BOOL CALLBACK make_word_slots(PINIT_ONCE once, void *param, void **ctx)
{
    (void)once, (void)param, (void)ctx;
    for (int w = 0; w < PL_OS_WORDS; w++)
        for (int s = 0; s < SLOTS_PER_WORD; s++)
            if ((g_word_slots[w][s] = TlsAlloc()) == TLS_OUT_OF_INDEXES)
                return FALSE;
    return TRUE;
}

static void word_slots(void)
{
    if (!InitOnceExecuteOnce(&g_word_once, make_word_slots, NULL, NULL)) {
        fprintf(stderr, "libparking: cannot allocate its per-thread words (TlsAlloc)\n");
        abort();
    }
}

uint64_t pl_os_word_get(pl_os_word_t word)
{
    DWORD saved_error = GetLastError();
    word_slots();
    uint64_t v = (uintptr_t)TlsGetValue(g_word_slots[word][0]);
    if (SLOTS_PER_WORD == 2)
        v |= (uint64_t)(uintptr_t)TlsGetValue(g_word_slots[word][SLOTS_PER_WORD - 1]) << 32;
    SetLastError(saved_error);
    return v;
}

void pl_os_word_set(pl_os_word_t word, uint64_t value)
{
    DWORD saved_error = GetLastError();
    word_slots();
    TlsSetValue(g_word_slots[word][0], (void *)(uintptr_t)value);
    if (SLOTS_PER_WORD == 2)
        TlsSetValue(g_word_slots[word][SLOTS_PER_WORD - 1], (void *)(uintptr_t)(value >> 32));
    SetLastError(saved_error);
}

/* ---- Parking data: a block of the process heap, found through a TLS slot, released by a
 * fiber-local-storage callback, which Windows runs at thread exit before any DLL's
 * thread-detach code (so before the TLS destructors of the C runtime and winpthreads).
 *
 * The TLS slot holds NULL (no data yet), TD_GONE_MARK (the exit callback ran: later parks use
 * the caller's stack fallback) or the thread's record.
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
    pl_thread_data_exit(&r->td);
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

pl_thread_data_t *pl_os_td_get(bool *gone)
{
    DWORD saved_error = GetLastError();
    if (!InitOnceExecuteOnce(&g_index_once, make_indexes, NULL, NULL)) {
        fprintf(stderr, "libparking: cannot allocate the per-thread index (TlsAlloc/FlsAlloc)\n");
        abort();
    }
    void *v = TlsGetValue(g_tls_index);
    SetLastError(saved_error);
    *gone = v == TD_GONE_MARK;
    return v != NULL && v != TD_GONE_MARK ? &((win_record_t *)v)->td : NULL;
}

pl_thread_data_t *pl_os_td_new(void)
{
    DWORD saved_error = GetLastError();
    win_record_t *r = HeapAlloc(GetProcessHeap(), 0, sizeof(win_record_t));
    SetLastError(saved_error);
    if (r == NULL)
        return NULL;
    r->owner = GetCurrentThreadId();
    return &r->td;
}

void pl_os_td_publish(pl_thread_data_t *td)
{
    DWORD saved_error = GetLastError();
    TlsSetValue(g_tls_index, td);
    SetLastError(saved_error);
}

void pl_os_td_at_exit(pl_thread_data_t *td)
{
    DWORD saved_error = GetLastError();
    if (!FlsSetValue(g_fls_index, td)) {
        fprintf(stderr, "libparking: cannot register the thread-exit hook (FlsSetValue)\n");
        abort();
    }
    SetLastError(saved_error);
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
