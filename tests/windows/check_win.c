/* The runner behind tests/windows/check.h: Check's fork mode, with CreateProcess for fork.
 *
 * The parent (the test program as started) builds its suites as usual and, in srunner_run_all,
 * starts itself once per test and loop iteration, with CK_WIN_CHILD=<suite>:<tcase>:<test>:<i>
 * (indices) in the environment.  The child builds the same suites, finds that one test, runs it
 * and exits; the parent reads the verdict from the exit code:
 *   CK_WIN_EXIT_RETURNED      the test function returned (passed);
 *   other codes               the test called exit() itself: passed when that is the value
 *                             tcase_add_exit_test allows, else an error ("early exit");
 *   CK_WIN_EXIT_FAILED        an assertion failed (the child printed where and why);
 *   CK_WIN_EXIT_SKIPPED       the test called ck_win_skip (the child printed why);
 *   CK_WIN_EXIT_SIGNAL + sig  the child died of signal sig: abort() raises SIGABRT, which the
 *                             child catches; a crash (access violation...) is mapped to the
 *                             signal POSIX would give it (SIGSEGV...).
 * A child still running at its TCase's timeout is killed (TerminateProcess) and counted as an
 * error, as Check does.  Children are put in a job object that is killed when the parent's last
 * handle to it closes, so killing the parent (ctest's own timeout) leaves no test running. */
#ifndef __USE_MINGW_ANSI_STDIO
#  define __USE_MINGW_ANSI_STDIO 1 /* C99 printf: %zu, %jd */
#endif
#ifndef WIN32_LEAN_AND_MEAN
#  define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

#define CK_WIN_CHILD_VAR "CK_WIN_CHILD"

/* Exit codes of a child (see the top of the file). */
enum {
    CK_WIN_EXIT_INTERNAL = 70, /* the runner itself failed (bad spec, CreateProcess) */
    CK_WIN_EXIT_FAILED = 71,
    CK_WIN_EXIT_RETURNED = 72, /* not 0: a test that calls exit(0) halfway must not pass */
    CK_WIN_EXIT_SKIPPED = 77,
    CK_WIN_EXIT_SIGNAL = 128, /* + the signal number, as POSIX shells report it */
    CK_WIN_EXIT_TIMEOUT = 0x7e57,
};

#define CK_RUNNER "check_win"
#include "check_suite.h"

static CK_ATTRIBUTE_NORETURN void child_exit(int code)
{
    fflush(stdout);
    fflush(stderr);
    /* _exit, not exit: other test threads may still run, even hold the CRT's locks. */
    _exit(code);
}

void _ck_assert_failed(const char *file, int line, const char *expr, const char *msg, ...)
{
    char text[2048];
    if (msg != NULL) {
        va_list ap;
        va_start(ap, msg);
        vsnprintf(text, sizeof text, msg, ap);
        va_end(ap);
    } else {
        snprintf(text, sizeof text, "%s", expr);
    }
    fprintf(stderr, "%s:%d:F:%s:%s:%d: %s\n", file, line, g_tcase_name, g_test_name, g_iteration,
            text);
    child_exit(CK_WIN_EXIT_FAILED);
}

void ck_win_skip(const char *why)
{
    fprintf(stderr, "%s:%s:%d: SKIPPED on Windows: %s\n", g_tcase_name, g_test_name, g_iteration,
            why);
    child_exit(CK_WIN_EXIT_SKIPPED);
}

static void on_signal(int sig) { _exit(CK_WIN_EXIT_SIGNAL + sig); }

static LONG WINAPI on_exception(EXCEPTION_POINTERS *info)
{
    DWORD code = info->ExceptionRecord->ExceptionCode;
    int sig;
    switch (code) {
    case EXCEPTION_ACCESS_VIOLATION:
    case EXCEPTION_IN_PAGE_ERROR:
    case EXCEPTION_STACK_OVERFLOW:
    case EXCEPTION_ARRAY_BOUNDS_EXCEEDED:
    case EXCEPTION_DATATYPE_MISALIGNMENT: sig = SIGSEGV; break;
    case EXCEPTION_ILLEGAL_INSTRUCTION:
    case EXCEPTION_PRIV_INSTRUCTION:
    case EXCEPTION_BREAKPOINT: sig = SIGILL; break;
    case EXCEPTION_INT_DIVIDE_BY_ZERO:
    case EXCEPTION_INT_OVERFLOW:
    case EXCEPTION_FLT_DIVIDE_BY_ZERO:
    case EXCEPTION_FLT_INVALID_OPERATION:
    case EXCEPTION_FLT_OVERFLOW: sig = SIGFPE; break;
    default: sig = SIGABRT; break;
    }
    fprintf(stderr, "%s:%s:%d: exception 0x%08lx\n", g_tcase_name, g_test_name, g_iteration,
            (unsigned long)code);
    _exit(CK_WIN_EXIT_SIGNAL + sig);
}

static CK_ATTRIBUTE_NORETURN void run_child(SRunner *sr, const char *spec)
{
    unsigned si, ti, ki;
    int iteration;
    if (sscanf(spec, "%u:%u:%u:%d", &si, &ti, &ki, &iteration) != 4) {
        fprintf(stderr, "check_win: bad %s=%s\n", CK_WIN_CHILD_VAR, spec);
        _exit(CK_WIN_EXIT_INTERNAL);
    }
    Suite *s = sr->first;
    for (unsigned i = 0; s && i < si; i++)
        s = s->next;
    TCase *tc = s ? s->first : NULL;
    for (unsigned i = 0; tc && i < ti; i++)
        tc = tc->next;
    if (tc == NULL || ki >= tc->ntests) {
        fprintf(stderr, "check_win: no test %s\n", spec);
        _exit(CK_WIN_EXIT_INTERNAL);
    }
    const test_entry_t *e = &tc->tests[ki];
    /* A test that starts programs of its own must not make them run this test again. */
    SetEnvironmentVariableW(L"" CK_WIN_CHILD_VAR, NULL);
    g_tcase_name = tc->name;
    g_test_name = e->ttest->name;
    g_iteration = iteration;

    /* No error dialogs, no "abnormal program termination" box: die, report, go on. */
    SetErrorMode(SEM_FAILCRITICALERRORS | SEM_NOGPFAULTERRORBOX | SEM_NOOPENFILEERRORBOX);
    SetUnhandledExceptionFilter(on_exception);
    signal(SIGABRT, on_signal);
    signal(SIGSEGV, on_signal);
    signal(SIGFPE, on_signal);
    signal(SIGILL, on_signal);

    e->ttest->fn(iteration);
    child_exit(CK_WIN_EXIT_RETURNED);
}

/* ---- The parent: start one child per test and iteration ---- */

static HANDLE g_job;

static void make_job(void)
{
    g_job = CreateJobObjectW(NULL, NULL);
    if (g_job == NULL)
        return;
    JOBOBJECT_EXTENDED_LIMIT_INFORMATION info;
    memset(&info, 0, sizeof info);
    info.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
    if (!SetInformationJobObject(g_job, JobObjectExtendedLimitInformation, &info, sizeof info)) {
        CloseHandle(g_job);
        g_job = NULL;
    }
}

/* Starts the child for one test; returns its exit code, CK_WIN_EXIT_TIMEOUT when it was killed
 * at the time limit, or CK_WIN_EXIT_INTERNAL when it could not be started. */
static DWORD spawn_child(unsigned si, unsigned ti, unsigned ki, int iteration, double timeout)
{
    char spec[64];
    snprintf(spec, sizeof spec, "%u:%u:%u:%d", si, ti, ki, iteration);
    wchar_t wspec[64];
    MultiByteToWideChar(CP_ACP, 0, spec, -1, wspec, 64);

    wchar_t exe[MAX_PATH * 2];
    DWORD n = GetModuleFileNameW(NULL, exe, (DWORD)(sizeof exe / sizeof exe[0]));
    if (n == 0 || n >= sizeof exe / sizeof exe[0]) {
        fprintf(stderr, "check_win: GetModuleFileName failed (%lu)\n", GetLastError());
        return CK_WIN_EXIT_INTERNAL;
    }
    /* CreateProcessW may write to the command line buffer: pass a copy. */
    const wchar_t *cl = GetCommandLineW();
    size_t cl_len = wcslen(cl);
    wchar_t *cmdline = xcalloc(cl_len + 1, sizeof *cmdline);
    memcpy(cmdline, cl, (cl_len + 1) * sizeof *cmdline);

    STARTUPINFOW si_info;
    memset(&si_info, 0, sizeof si_info);
    si_info.cb = sizeof si_info;
    si_info.dwFlags = STARTF_USESTDHANDLES;
    si_info.hStdInput = GetStdHandle(STD_INPUT_HANDLE);
    si_info.hStdOutput = GetStdHandle(STD_OUTPUT_HANDLE);
    si_info.hStdError = GetStdHandle(STD_ERROR_HANDLE);
    PROCESS_INFORMATION pi;
    memset(&pi, 0, sizeof pi);

    fflush(stdout);
    fflush(stderr);
    /* The parent runs single-threaded, so setting its own environment for the child is safe. */
    SetEnvironmentVariableW(L"" CK_WIN_CHILD_VAR, wspec);
    BOOL ok = FALSE;
    DWORD err = 0;
    /* Wine fails a process creation now and then (ERROR_INTERNAL_ERROR under load): retry. */
    for (int attempt = 0; attempt < 5 && !ok; attempt++) {
        if (attempt > 0)
            Sleep(100u << attempt);
        ok = CreateProcessW(exe, cmdline, NULL, NULL, TRUE, CREATE_SUSPENDED, NULL, NULL, &si_info,
                            &pi);
        err = GetLastError();
    }
    SetEnvironmentVariableW(L"" CK_WIN_CHILD_VAR, NULL);
    free(cmdline);
    if (!ok) {
        fprintf(stderr, "check_win: CreateProcess failed (%lu)\n", err);
        return CK_WIN_EXIT_INTERNAL;
    }
    if (g_job)
        (void)AssignProcessToJobObject(g_job, pi.hProcess); /* best effort */
    ResumeThread(pi.hThread);
    CloseHandle(pi.hThread);

    DWORD wait_ms = INFINITE;
    if (timeout > 0)
        wait_ms = timeout * 1000.0 >= (double)(INFINITE - 1) ? INFINITE - 1
                                                             : (DWORD)(timeout * 1000.0 + 0.5);
    DWORD code;
    if (WaitForSingleObject(pi.hProcess, wait_ms) == WAIT_TIMEOUT) {
        TerminateProcess(pi.hProcess, CK_WIN_EXIT_TIMEOUT);
        WaitForSingleObject(pi.hProcess, INFINITE);
        code = CK_WIN_EXIT_TIMEOUT;
    } else if (!GetExitCodeProcess(pi.hProcess, &code)) {
        code = CK_WIN_EXIT_INTERNAL;
    }
    CloseHandle(pi.hProcess);
    return code;
}

static const char *signal_name(int sig)
{
    switch (sig) {
    case SIGABRT: return "SIGABRT";
    case SIGSEGV: return "SIGSEGV";
    case SIGFPE: return "SIGFPE";
    case SIGILL: return "SIGILL";
    case SIGINT: return "SIGINT";
    case SIGTERM: return "SIGTERM";
    default: return "?";
    }
}

static bool is_signal_code(DWORD code)
{
    return code > CK_WIN_EXIT_SIGNAL && code < CK_WIN_EXIT_SIGNAL + 64;
}

enum verdict { V_PASS, V_FAIL, V_ERROR, V_SKIP };

static enum verdict judge(const test_entry_t *e, DWORD code, char *why, size_t why_size)
{
    why[0] = '\0';
    if (code == CK_WIN_EXIT_SKIPPED)
        return V_SKIP;
    if (code == CK_WIN_EXIT_FAILED)
        return V_FAIL; /* the child printed the assertion */
    if (code == CK_WIN_EXIT_TIMEOUT) {
        snprintf(why, why_size, "Test timeout expired");
        return V_ERROR;
    }
    if (code == CK_WIN_EXIT_INTERNAL) {
        snprintf(why, why_size, "the runner could not run the test");
        return V_ERROR;
    }
    if (code == CK_WIN_EXIT_RETURNED && e->signal == 0 && e->allowed_exit == 0)
        return V_PASS;
    if (e->signal != 0) {
        if (code == (DWORD)(CK_WIN_EXIT_SIGNAL + e->signal))
            return V_PASS;
        if (is_signal_code(code)) {
            int sig = (int)(code - CK_WIN_EXIT_SIGNAL);
            snprintf(why, why_size, "Received signal %d (%s), expected %d (%s)", sig,
                     signal_name(sig), e->signal, signal_name(e->signal));
            return V_ERROR;
        }
        if (code == CK_WIN_EXIT_RETURNED)
            snprintf(why, why_size, "Test returned but signal %d (%s) was expected", e->signal,
                     signal_name(e->signal));
        else
            snprintf(why, why_size, "Exit value %lu but signal %d (%s) was expected",
                     (unsigned long)code, e->signal, signal_name(e->signal));
        return V_FAIL;
    }
    if (e->allowed_exit != 0 && code == (DWORD)e->allowed_exit)
        return V_PASS;
    if (is_signal_code(code)) {
        int sig = (int)(code - CK_WIN_EXIT_SIGNAL);
        snprintf(why, why_size, "Received signal %d (%s)", sig, signal_name(sig));
    } else if (code == CK_WIN_EXIT_RETURNED) {
        snprintf(why, why_size, "Test returned but exit value %d was expected", e->allowed_exit);
    } else {
        snprintf(why, why_size, "Early exit with return value %lu (0x%lx)", (unsigned long)code,
                 (unsigned long)code);
    }
    return V_ERROR;
}

/* CK_VERBOSITY, when set, wins over the program's mode (Check reads it only for CK_ENV): the
 * test programs all pass CK_NORMAL, and one line per test is what a Windows run needs when a
 * test is slow or hangs. */
static enum print_output verbosity(enum print_output mode)
{
    const char *v = getenv("CK_VERBOSITY");
    if (v == NULL || *v == '\0')
        return mode == CK_ENV ? CK_NORMAL : mode;
    if (strcmp(v, "silent") == 0)
        return CK_SILENT;
    if (strcmp(v, "minimal") == 0)
        return CK_MINIMAL;
    if (strcmp(v, "verbose") == 0)
        return CK_VERBOSE;
    return CK_NORMAL;
}

void srunner_run_all(SRunner *sr, enum print_output print_mode)
{
    const char *child = getenv(CK_WIN_CHILD_VAR);
    if (child != NULL && *child != '\0')
        run_child(sr, child);

    enum print_output mode = verbosity(print_mode);
    const char *only_suite = getenv("CK_RUN_SUITE");
    const char *only_case = getenv("CK_RUN_CASE");
    double multiplier = env_double("CK_TIMEOUT_MULTIPLIER", 1.0);
    const char *fork_env = getenv("CK_FORK");
    if (fork_env != NULL && strcmp(fork_env, "no") == 0)
        fputs("check_win: CK_FORK=no is not supported; every test runs in a child process\n",
              stderr);
    make_job();

    if (mode >= CK_NORMAL && mode != CK_ENV) {
        printf("Running suite(s):");
        for (Suite *s = sr->first; s; s = s->next)
            printf(" %s", s->name);
        printf("\n");
    }
    unsigned si = 0;
    for (Suite *s = sr->first; s; s = s->next, si++) {
        if (only_suite && *only_suite && strcmp(only_suite, s->name) != 0)
            continue;
        unsigned ti = 0;
        for (TCase *tc = s->first; tc; tc = tc->next, ti++) {
            if (only_case && *only_case && strcmp(only_case, tc->name) != 0)
                continue;
            for (unsigned ki = 0; ki < tc->ntests; ki++) {
                const test_entry_t *e = &tc->tests[ki];
                for (int i = e->start; i < e->end; i++) {
                    char why[256];
                    DWORD t0 = GetTickCount();
                    DWORD code = spawn_child(si, ti, ki, i, tc->timeout * multiplier);
                    DWORD ms = GetTickCount() - t0;
                    enum verdict v = judge(e, code, why, sizeof why);
                    sr->checks++;
                    const char *tag = "P";
                    switch (v) {
                    case V_PASS: break;
                    case V_FAIL: sr->failures++, tag = "F"; break;
                    case V_ERROR: sr->errors++, tag = "E"; break;
                    case V_SKIP: sr->skipped++, tag = "S"; break;
                    }
                    if (why[0] != '\0')
                        fprintf(stderr, "%s:%d:%s:%s:%s:%d: %s\n", e->ttest->file, e->ttest->line,
                                tag, tc->name, e->ttest->name, i, why);
                    if (mode >= CK_VERBOSE && mode != CK_ENV)
                        printf("%s:%d:%s:%s:%s:%d: %s (%lu ms)\n", e->ttest->file, e->ttest->line,
                               tag, tc->name, e->ttest->name, i,
                               v == V_PASS   ? "Passed"
                               : v == V_SKIP ? "Skipped"
                                             : "Failed",
                               (unsigned long)ms);
                }
            }
        }
    }
    if (mode >= CK_MINIMAL && mode != CK_ENV) {
        int bad = sr->failures + sr->errors;
        int pct = sr->checks ? (sr->checks - bad) * 100 / sr->checks : 0;
        printf("%d%%: Checks: %d, Failures: %d, Errors: %d\n", pct, sr->checks, sr->failures,
               sr->errors);
        /* One line tools/test-windows collects for its summary. */
        printf("check-win: %s: %d checks, %d passed, %d failed, %d errors, %d skipped\n",
               sr->first ? sr->first->name : "?", sr->checks, sr->checks - bad - sr->skipped,
               sr->failures, sr->errors, sr->skipped);
    }
    fflush(stdout);
    fflush(stderr);
}
