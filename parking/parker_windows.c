/* Windows word backend: WaitOnAddress / WakeByAddressSingle (Windows 8 and later).
 *
 * The state machine lives in parker_word.c; this file only sleeps on and wakes a 32-bit word.
 * WaitOnAddress is exported by API-MS-Win-Core-Synch-l1-2-0.dll; its import library is
 * `synchronization` (linked by cmake/ParkingLibrary.cmake, and by the pragma below for MSVC).
 *
 * Edge cases handled here:
 * - The timeout is a DWORD of milliseconds, and INFINITE (0xFFFFFFFF) means "never".  The
 *   remaining time is rounded UP to whole milliseconds, so a wait never ends before the
 *   deadline merely because of truncation (rounding down would give 0 ms for anything under a
 *   millisecond, and a zero timeout is a poll: the caller would spin until the deadline).
 * - A remaining time that does not fit below INFINITE (about 49.7 days) is clamped to
 *   INFINITE - 1: the call then times out early, we report a spurious wake-up (true), and the
 *   caller loops and recomputes.  Only PL_FOREVER becomes INFINITE.
 * - Windows wait timeouts follow the interrupt-time tick and may expire a little before
 *   QueryPerformanceCounter (behind pl_now()) says the deadline has come.  So we never trust
 *   ERROR_TIMEOUT alone: false is returned only when pl_now() >= deadline.
 * - WaitOnAddress may return TRUE spuriously (and returns at once when *word != expected);
 *   the caller re-reads the word in either case.
 * - WakeByAddressSingle never dereferences the address: it only hashes it to find waiters, and
 *   does nothing when none waits.  A wake-up aimed at a parker whose thread has already
 *   returned (the word is dead memory) is therefore harmless; at worst a later, unrelated
 *   waiter on a reused address sees one spurious wake-up.
 * - WaitOnAddress sets the thread's last-error value (ERROR_TIMEOUT) when it times out.  A lock
 *   call must not change what GetLastError() reports to the application (Windows' own locks do
 *   not), so pl_os_wait restores it.
 */
#if !defined(_WIN32_WINNT) || _WIN32_WINNT < 0x0602
#  undef _WIN32_WINNT
#  define _WIN32_WINNT 0x0602 /* Windows 8: the first with WaitOnAddress */
#endif
#ifndef WIN32_LEAN_AND_MEAN
#  define WIN32_LEAN_AND_MEAN
#endif
#ifndef NOMINMAX
#  define NOMINMAX
#endif
#include <windows.h>

#include <stdbool.h>
#include <stdint.h>

#include "parker.h"
#include <parking/lot.h>

#if defined(_MSC_VER)
#  pragma comment(lib, "synchronization.lib")
#endif

#if !defined(PARKING_PARKER_WINDOWS)
#  error "parker_windows.c is the PARKING_PARKER_WINDOWS backend"
#endif

/* The longest finite wait we ask for; INFINITE itself is reserved for PL_FOREVER. */
#define PL_WIN_MAX_FINITE_MS ((DWORD)(INFINITE - 1u))

static bool os_wait(uint32_t *word, uint32_t expected, uint64_t deadline)
{
    DWORD timeout_ms;

    if (deadline == PL_FOREVER) {
        timeout_ms = INFINITE;
    } else {
        uint64_t ms;
        if (!pl_parker_time_left(deadline, 1000000u, PL_WIN_MAX_FINITE_MS, &ms))
            return false;
        timeout_ms = (DWORD)ms;
    }

    /* Compares *word with `expected` (4 bytes) and sleeps only while they are equal.  The
     * comparison and the enqueue are atomic with respect to WakeByAddressSingle. */
    if (WaitOnAddress((volatile VOID *)word, &expected, sizeof expected, timeout_ms))
        return true; /* woken, value already different, or spurious */

    /* FALSE: ERROR_TIMEOUT is the only documented failure.  Whatever the reason, decide with
     * the caller's clock, so an early expiry (tick granularity, the clamp above) reads as a
     * spurious wake-up and the caller waits again for what is left. */
    if (deadline != PL_FOREVER && pl_now() >= deadline)
        return false;
    return true;
}

bool pl_os_wait(uint32_t *word, uint32_t expected, uint64_t deadline)
{
    DWORD saved_error = GetLastError();
    bool woken = os_wait(word, expected, deadline);
    SetLastError(saved_error);
    return woken;
}

void pl_os_wake_one(uint32_t *word)
{
    /* No return value, no error: safe on an address nobody waits on or whose memory is gone. */
    WakeByAddressSingle((PVOID)word);
}
