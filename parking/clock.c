/* pl_now(): the monotonic clock every deadline in libparking is measured on. */
#include <parking/lot.h>

#if defined(_WIN32)
#include <windows.h>

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
#elif defined(__APPLE__)
#include <time.h>

uint64_t pl_now(void)
{
    /* CLOCK_UPTIME_RAW does not advance while the machine sleeps, as __ulock_wait's relative
     * timeouts do not; it is immune to wall-clock changes. */
    return clock_gettime_nsec_np(CLOCK_UPTIME_RAW);
}
#else
#include <time.h>

uint64_t pl_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
#endif
