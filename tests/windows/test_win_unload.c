/* libparking.dll can be unloaded (FreeLibrary) while threads that parked through it live on.
 *
 * Every thread that parks registers a fiber-local-storage callback to free its record at exit.
 * If the DLL left that callback registered when unloaded, each such thread would call into
 * unmapped memory when it exits.  This program does not link libparking: it loads the DLL with
 * LoadLibrary, parks a thread through it, unloads it, checks that it is really gone, lets the
 * thread exit, then loads it again and parks once more. */
#include <check.h>

#include <parking/lot.h>

#ifndef WIN32_LEAN_AND_MEAN
#  define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include <stdbool.h>
#include <stdlib.h>

typedef pl_park_result_t (*park_fn)(const void *, pl_validate_fn, pl_before_sleep_fn,
                                    pl_timed_out_fn, void *, uintptr_t, uint64_t);

static park_fn g_park;
static HANDLE g_parked, g_may_exit;
static char g_key;

static DWORD WINAPI parker_thread(void *arg)
{
    (void)arg;
    /* A passed deadline: queued, timed out, dequeued; the thread now has its record and its
     * FLS callback armed. */
    pl_park_result_t r = g_park(&g_key, NULL, NULL, NULL, NULL, 0, 0);
    SetEvent(g_parked);
    WaitForSingleObject(g_may_exit, INFINITE);
    return r.status == PL_PARK_TIMED_OUT ? 0 : 1;
}

static HMODULE load(void)
{
    HMODULE dll = LoadLibraryW(L"libparking.dll");
    ck_assert_msg(dll != NULL, "LoadLibrary(libparking.dll) failed: %lu", GetLastError());
    /* A pointer cast between function types: the way GetProcAddress is meant to be used. */
    FARPROC p = GetProcAddress(dll, "pl_park");
    ck_assert_msg(p != NULL, "no pl_park in libparking.dll");
    memcpy(&g_park, &p, sizeof g_park);
    return dll;
}

START_TEST(unload_while_parked_threads_live)
{
    g_parked = CreateEventW(NULL, TRUE, FALSE, NULL);
    g_may_exit = CreateEventW(NULL, TRUE, FALSE, NULL);
    ck_assert(g_parked && g_may_exit);

    HMODULE dll = load();
    /* The main thread parks too: FlsFree at unload calls the callback on its own record. */
    ck_assert_int_eq(g_park(&g_key, NULL, NULL, NULL, NULL, 0, 0).status, PL_PARK_TIMED_OUT);
    HANDLE t = CreateThread(NULL, 0, parker_thread, NULL, 0, NULL);
    ck_assert(t != NULL);
    ck_assert_uint_eq(WaitForSingleObject(g_parked, 20000), WAIT_OBJECT_0);

    ck_assert(FreeLibrary(dll));
    ck_assert_msg(GetModuleHandleW(L"libparking.dll") == NULL,
                  "libparking.dll is still loaded: the test proves nothing");

    /* The thread exits with the DLL gone: no callback of it may run now. */
    SetEvent(g_may_exit);
    ck_assert_uint_eq(WaitForSingleObject(t, 20000), WAIT_OBJECT_0);
    DWORD code = 1;
    ck_assert(GetExitCodeThread(t, &code));
    ck_assert_uint_eq(code, 0);
    CloseHandle(t);

    /* A fresh load starts over and works. */
    dll = load();
    ck_assert_int_eq(g_park(&g_key, NULL, NULL, NULL, NULL, 0, 0).status, PL_PARK_TIMED_OUT);
    ResetEvent(g_parked);
    t = CreateThread(NULL, 0, parker_thread, NULL, 0, NULL);
    ck_assert(t != NULL);
    ck_assert_uint_eq(WaitForSingleObject(g_parked, 20000), WAIT_OBJECT_0);
    ck_assert_uint_eq(WaitForSingleObject(t, 20000), WAIT_OBJECT_0);
    CloseHandle(t);
    ck_assert(FreeLibrary(dll));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("windows_unload");
    TCase *tc = tcase_create("unload");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, unload_while_parked_threads_live);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
