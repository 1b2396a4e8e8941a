/* Per-thread parking data: created on a thread's first park, released at its exit. */
#include "parking/thread_data.h"

#include <stdio.h>
#include <stdlib.h>

#include "parking/table.h"

/* Threads holding parking data, counted so the table can keep 3 buckets per thread. */
static size_t g_threads;

size_t pl_thread_count(void) { return __atomic_load_n(&g_threads, __ATOMIC_RELAXED); }

enum { TD_NONE = 0, TD_LIVE = 1, TD_GONE = 2 };

/* The data lives in the thread's own TLS block (no malloc: an allocator guarded by our locks
 * must be able to park).  A thread-exit hook releases it; a park after that hook ran uses the
 * stack fallback. */
static _Thread_local pl_thread_data_t tls_data;
static _Thread_local unsigned char tls_state;

static void td_init(pl_thread_data_t *td)
{
    pl_parker_init(&td->parker);
    td->key = NULL;
    td->prev = td->next = NULL;
    td->park_token = td->unpark_token = 0;
    size_t threads = __atomic_add_fetch(&g_threads, 1, __ATOMIC_RELAXED);
    pl_table_reserve(threads);
}

static void td_fini(pl_thread_data_t *td)
{
    pl_parker_destroy(&td->parker);
    __atomic_sub_fetch(&g_threads, 1, __ATOMIC_RELAXED);
}

static void on_thread_exit(void *arg)
{
    td_fini((pl_thread_data_t *)arg);
    tls_state = TD_GONE;
}

#if defined(_WIN32)
#include <windows.h>

static DWORD g_fls_index = FLS_OUT_OF_INDEXES;
static INIT_ONCE g_fls_once = INIT_ONCE_STATIC_INIT;

static void WINAPI fls_exit(void *arg)
{
    if (arg != NULL)
        on_thread_exit(arg);
}

static BOOL CALLBACK fls_make(PINIT_ONCE once, void *param, void **ctx)
{
    (void)once, (void)param, (void)ctx;
    g_fls_index = FlsAlloc(fls_exit);
    return g_fls_index != FLS_OUT_OF_INDEXES;
}

static void register_exit_hook(pl_thread_data_t *td)
{
    if (!InitOnceExecuteOnce(&g_fls_once, fls_make, NULL, NULL) || !FlsSetValue(g_fls_index, td)) {
        fprintf(stderr, "libparking: cannot register the thread-exit hook (FlsAlloc)\n");
        abort();
    }
}
#else
#include <pthread.h>

static pthread_key_t g_exit_key;
static pthread_once_t g_exit_once = PTHREAD_ONCE_INIT;

static void make_exit_key(void)
{
    if (pthread_key_create(&g_exit_key, on_thread_exit) != 0) {
        fprintf(stderr, "libparking: cannot create the thread-exit key (pthread_key_create)\n");
        abort();
    }
}

static void register_exit_hook(pl_thread_data_t *td)
{
    pthread_once(&g_exit_once, make_exit_key);
    /* A non-NULL value is what makes the destructor run at thread exit. */
    if (pthread_setspecific(g_exit_key, td) != 0) {
        fprintf(stderr, "libparking: cannot register the thread-exit hook (pthread_setspecific)\n");
        abort();
    }
}
#endif

pl_thread_data_t *pl_thread_data_acquire(pl_thread_data_t *fallback)
{
    if (tls_state == TD_LIVE)
        return &tls_data;
    if (tls_state == TD_NONE) {
        td_init(&tls_data);
        /* Live before the hook is registered: registering may allocate, and an allocator that
         * uses our locks may park right here; that nested park finds ready data. */
        tls_state = TD_LIVE;
        register_exit_hook(&tls_data);
        return &tls_data;
    }
    td_init(fallback);
    return fallback;
}

void pl_thread_data_release(pl_thread_data_t *td, pl_thread_data_t *fallback)
{
    if (td == fallback)
        td_fini(fallback);
}
