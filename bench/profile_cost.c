/* pl-profile-cost [N]: what the contention profiler adds to one contended acquisition
 * (docs/profiling.md, "Cost").  One thread holds a mutex and calls pl_mutex_lock_until on it N
 * times (default 1,000,000) with a deadline already past: each call fails its inline fast path,
 * enters the slow path, tries once and returns, the cheapest contended acquisition there is, so
 * the difference between runs is the profiler's own cost per event.  Run it with the profiler off
 * (no PARKING_PROFILE) and on (PARKING_PROFILE=/dev/null, PARKING_PROFILE_DEPTH=1 or 4): it
 * prints ns per call. */
#include <parking/mutex.h>
#include <parking/profile.h>

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 1000000;
    static pl_mutex_t m;
    pl_mutex_lock(&m);
    (void)pl_mutex_lock_until(&m, 1); /* the first slow path reads PARKING_PROFILE */
    uint64_t best = UINT64_MAX;
    for (int rep = 0; rep < 5; rep++) {
        uint64_t t0 = pl_now();
        for (long i = 0; i < n; i++) {
            if (pl_mutex_lock_until(&m, 1))
                return 1;
        }
        uint64_t t = pl_now() - t0;
        if (t < best)
            best = t;
    }
    const char *env = getenv("PARKING_PROFILE");
    const char *depth = getenv("PARKING_PROFILE_DEPTH");
    printf("profiler %s (depth %s): %.1f ns per contended lock_until (best of 5 x %ld)\n",
           env != NULL && env[0] != '\0' && env[0] != '0' ? "on" : "off", depth ? depth : "4",
           (double)best / (double)n, n);
    pl_mutex_unlock(&m);
    return 0;
}
