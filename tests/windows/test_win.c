/* Windows-only tests of libparking: what the portable tests cannot see on Windows.
 *
 *   misuse_message        the abort message names the function, the address and the fault
 *                         (the portable tests read it through fork() and a pipe; here the
 *                         program starts itself with stderr on a pipe);
 *   last_error_kept       a contended lock, its first park on a thread and a timed-out wait
 *                         leave GetLastError() as they found it;
 *   thread_records_freed  each thread's parking record (process heap) is freed at thread exit:
 *                         the heap in use stays flat over thousands of threads;
 *   park_in_fls_callback  a thread may park inside another fiber-local-storage callback at
 *                         exit, whether it runs before or after libparking's own.
 *
 * Waiting for "thread X is parked" polls a counter its validate callback increments just before
 * it is queued (as tests/test_util.h explains), never a fixed sleep. */
#include <check.h>

#include <parking/lot.h>
#include <parking/mutex.h>

#ifndef WIN32_LEAN_AND_MEAN
#  define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MS 1000000ull
#define POLL_LIMIT_NS (20ull * 1000 * MS)

static HANDLE start_thread(LPTHREAD_START_ROUTINE fn, void *arg)
{
    HANDLE h = CreateThread(NULL, 64 * 1024, fn, arg, 0, NULL);
    ck_assert_msg(h != NULL, "CreateThread failed: %lu", GetLastError());
    return h;
}

static void join_thread(HANDLE h)
{
    ck_assert_uint_eq(WaitForSingleObject(h, INFINITE), WAIT_OBJECT_0);
    CloseHandle(h);
}

/* Polls until *counter >= n; false after POLL_LIMIT_NS. */
static bool wait_count(volatile LONG *counter, LONG n)
{
    uint64_t deadline = pl_now() + POLL_LIMIT_NS;
    while (InterlockedCompareExchange(counter, 0, 0) < n) {
        if (pl_now() > deadline)
            return false;
        Sleep(0);
    }
    return true;
}

/* ---- The misuse message, read from a child's stderr ---- */

#define MISUSE_CHILD_VAR "PL_TEST_WIN_MISUSE_CHILD"

static pl_mutex_t misuse_mutex;

/* In the child: say where the mutex is, then unlock it while unlocked (aborts). */
static void misuse_child(void)
{
    fprintf(stderr, "address=%p\n", (void *)&misuse_mutex);
    fflush(stderr);
    pl_mutex_unlock(&misuse_mutex);
    fprintf(stderr, "still alive\n");
    exit(0);
}

START_TEST(misuse_message)
{
    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
    HANDLE rd, wr;
    ck_assert(CreatePipe(&rd, &wr, &sa, 0));
    ck_assert(SetHandleInformation(rd, HANDLE_FLAG_INHERIT, 0));

    wchar_t exe[MAX_PATH];
    DWORD n = GetModuleFileNameW(NULL, exe, MAX_PATH);
    ck_assert(n > 0 && n < MAX_PATH);
    wchar_t cmdline[] = L"test_win";
    STARTUPINFOW si;
    memset(&si, 0, sizeof si);
    si.cb = sizeof si;
    si.dwFlags = STARTF_USESTDHANDLES;
    si.hStdInput = GetStdHandle(STD_INPUT_HANDLE);
    si.hStdOutput = wr;
    si.hStdError = wr;
    PROCESS_INFORMATION pi;
    ck_assert(SetEnvironmentVariableW(L"" MISUSE_CHILD_VAR, L"1"));
    BOOL ok = CreateProcessW(exe, cmdline, NULL, NULL, TRUE, 0, NULL, NULL, &si, &pi);
    SetEnvironmentVariableW(L"" MISUSE_CHILD_VAR, NULL);
    ck_assert_msg(ok, "CreateProcess failed: %lu", GetLastError());
    CloseHandle(wr);

    char text[2048];
    size_t len = 0;
    DWORD got;
    while (len < sizeof text - 1 &&
           ReadFile(rd, text + len, (DWORD)(sizeof text - 1 - len), &got, NULL) && got > 0)
        len += got;
    text[len] = '\0';
    CloseHandle(rd);
    ck_assert_uint_eq(WaitForSingleObject(pi.hProcess, 30000), WAIT_OBJECT_0);
    DWORD code = 0;
    ck_assert(GetExitCodeProcess(pi.hProcess, &code));
    CloseHandle(pi.hProcess);
    CloseHandle(pi.hThread);

    /* The C runtime's abort() ends the process with exit code 3. */
    ck_assert_msg(code == 3, "child exit code %lu, not abort's 3; it said: %s", (unsigned long)code,
                  text);
    const char *at = strstr(text, "address=");
    ck_assert_msg(at != NULL, "no address line in: %s", text);
    char addr[64];
    ck_assert_int_eq(sscanf(at, "address=%63s", addr), 1);
    char expect[160];
    snprintf(expect, sizeof expect, "libparking: pl_mutex_unlock(%s): ", addr);
    ck_assert_msg(strstr(text, expect) != NULL, "expected \"%s\" in: %s", expect, text);
    ck_assert_msg(strstr(text, "not locked") != NULL, "no reason in: %s", text);
    ck_assert_msg(strstr(text, "still alive") == NULL, "the child went on: %s", text);
}
END_TEST

/* ---- GetLastError() survives parking ---- */

typedef struct last_error {
    pl_mutex_t *m;
    volatile LONG queued;
    DWORD after_lock, after_timeout, after_unpark;
} last_error_t;

static bool count_queued(void *ctx)
{
    InterlockedIncrement(&((last_error_t *)ctx)->queued);
    return true;
}

static char last_error_key;

static DWORD WINAPI last_error_thread(void *arg)
{
    last_error_t *le = arg;
    /* This thread's first park: it creates the thread's record (TlsGetValue, HeapAlloc). */
    SetLastError(1234);
    pl_mutex_lock(le->m);
    le->after_lock = GetLastError();
    pl_mutex_unlock(le->m);
    /* A wait that times out in WaitOnAddress (ERROR_TIMEOUT inside). */
    SetLastError(5678);
    (void)pl_park(&last_error_key, NULL, NULL, NULL, NULL, 0, pl_now() + 20 * MS);
    le->after_timeout = GetLastError();
    /* A park ended by an unpark. */
    SetLastError(9012);
    (void)pl_park(&last_error_key, count_queued, NULL, NULL, le, 0, PL_FOREVER);
    le->after_unpark = GetLastError();
    return 0;
}

/* Queued on the mutex: an unlock's pl_unpark_one will find the thread. */
static pl_filter_op_t count_filter(void *ctx, uintptr_t token)
{
    (void)token;
    ++*(size_t *)ctx;
    return PL_FILTER_SKIP;
}

static uintptr_t zero_callback(void *ctx, pl_unpark_result_t r)
{
    (void)ctx, (void)r;
    return 0;
}

static size_t queued_on(const void *addr)
{
    size_t n = 0;
    (void)pl_unpark_filter(addr, count_filter, zero_callback, &n);
    return n;
}

START_TEST(last_error_kept)
{
    pl_mutex_t m = PL_MUTEX_INIT;
    last_error_t le = {&m, 0, 0, 0, 0};
    pl_mutex_lock(&m);
    HANDLE t = start_thread(last_error_thread, &le);
    uint64_t deadline = pl_now() + POLL_LIMIT_NS;
    while (queued_on(&m) == 0) {
        ck_assert_msg(pl_now() < deadline, "the locker never queued");
        Sleep(0);
    }
    pl_mutex_unlock(&m);
    ck_assert(wait_count(&le.queued, 1));
    ck_assert_uint_eq(pl_unpark_one(&last_error_key, NULL, NULL).unparked, 1);
    join_thread(t);
    ck_assert_uint_eq(le.after_lock, 1234);
    ck_assert_uint_eq(le.after_timeout, 5678);
    ck_assert_uint_eq(le.after_unpark, 9012);
}
END_TEST

/* ---- Per-thread records are freed at thread exit ---- */

static char records_key;

static DWORD WINAPI park_once_thread(void *arg)
{
    (void)arg;
    /* A passed deadline: the thread is queued, times out and leaves, but it has a record. */
    pl_park_result_t r = pl_park(&records_key, NULL, NULL, NULL, NULL, 0, 0);
    return r.status == PL_PARK_TIMED_OUT ? 0 : 1;
}

static void run_threads(int n)
{
    enum { BATCH = 64 };
    for (int done = 0; done < n; done += BATCH) {
        HANDLE h[BATCH];
        for (int i = 0; i < BATCH; i++)
            h[i] = start_thread(park_once_thread, NULL);
        for (int i = 0; i < BATCH; i++) {
            DWORD code = 1;
            ck_assert_uint_eq(WaitForSingleObject(h[i], INFINITE), WAIT_OBJECT_0);
            ck_assert(GetExitCodeThread(h[i], &code));
            ck_assert_uint_eq(code, 0);
            CloseHandle(h[i]);
        }
    }
}

/* Bytes in use in the process heap, where libparking keeps the records. */
static size_t heap_in_use(void)
{
    HANDLE heap = GetProcessHeap();
    PROCESS_HEAP_ENTRY e;
    size_t busy = 0;
    e.lpData = NULL;
    ck_assert(HeapLock(heap));
    while (HeapWalk(heap, &e))
        if (e.wFlags & PROCESS_HEAP_ENTRY_BUSY)
            busy += e.cbData;
    HeapUnlock(heap);
    return busy;
}

START_TEST(thread_records_freed)
{
    enum { THREADS = 2048 };
    run_threads(256); /* warm-up: table growth, runtime caches */
    size_t before = heap_in_use();
    run_threads(THREADS);
    size_t after = heap_in_use();
    fprintf(stderr, "thread_records_freed: %d threads, process heap in use %zu -> %zu bytes\n",
            THREADS, before, after);
    /* A record is about 64 bytes: keeping them would add 128 KiB. */
    ck_assert_msg(after < before + 32 * 1024, "process heap grew by %zu bytes over %d threads",
                  after - before, THREADS);
}
END_TEST

/* ---- Parking inside an FLS callback at thread exit ---- */

static char fls_key;
static volatile LONG fls_parked, fls_callbacks;
static pl_park_result_t fls_result;
static DWORD fls_index = FLS_OUT_OF_INDEXES;

static bool fls_validate(void *ctx)
{
    (void)ctx;
    InterlockedIncrement(&fls_parked);
    return true;
}

static void WINAPI fls_callback(void *value)
{
    if (value == NULL)
        return;
    fls_result = pl_park(&fls_key, fls_validate, NULL, NULL, NULL, 0, PL_FOREVER);
    InterlockedIncrement(&fls_callbacks);
}

static DWORD WINAPI fls_thread(void *arg)
{
    (void)arg;
    /* Makes sure this thread has a record (and libparking its FLS index) before exit. */
    (void)pl_park(&fls_key, NULL, NULL, NULL, NULL, 0, 0);
    if (fls_index == FLS_OUT_OF_INDEXES)
        fls_index = FlsAlloc(fls_callback); /* after libparking's index */
    return FlsSetValue(fls_index, &fls_index) ? 0 : 1;
}

/* before: the test's FLS index is allocated before libparking's (this process has not parked
 * yet); otherwise after it.  Which callback Windows runs first is not documented, so either
 * order must work: libparking's record still live, or released and replaced by the fallback. */
static void run_fls_park(bool before)
{
    if (before) {
        fls_index = FlsAlloc(fls_callback);
        ck_assert(fls_index != FLS_OUT_OF_INDEXES);
    }
    HANDLE t = start_thread(fls_thread, NULL);
    ck_assert_msg(wait_count(&fls_parked, 1), "the FLS callback never parked");
    ck_assert_uint_eq(pl_unpark_one(&fls_key, NULL, NULL).unparked, 1);
    DWORD code = 1;
    ck_assert_uint_eq(WaitForSingleObject(t, INFINITE), WAIT_OBJECT_0);
    ck_assert(GetExitCodeThread(t, &code));
    CloseHandle(t);
    ck_assert_uint_eq(code, 0);
    ck_assert_int_eq(fls_callbacks, 1);
    ck_assert_int_eq(fls_result.status, PL_PARK_UNPARKED);
    /* The process goes on parking normally. */
    ck_assert_int_eq(pl_park(&fls_key, NULL, NULL, NULL, NULL, 0, 0).status, PL_PARK_TIMED_OUT);
}

START_TEST(park_in_fls_callback_index_first) { run_fls_park(true); }
END_TEST

START_TEST(park_in_fls_callback_index_last) { run_fls_park(false); }
END_TEST

/* ---- Suite ---- */

static Suite *win_suite(void)
{
    Suite *s = suite_create("windows");
    TCase *tc = tcase_create("windows");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, misuse_message);
    tcase_add_test(tc, last_error_kept);
    tcase_add_test(tc, thread_records_freed);
    tcase_add_test(tc, park_in_fls_callback_index_first);
    tcase_add_test(tc, park_in_fls_callback_index_last);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    if (getenv(MISUSE_CHILD_VAR) != NULL)
        misuse_child();
    SRunner *sr = srunner_create(win_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
