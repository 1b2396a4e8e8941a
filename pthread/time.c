/* Absolute timespecs on CLOCK_REALTIME or CLOCK_MONOTONIC, to pl_now() deadlines.
 *
 * The parking lot sleeps on the monotonic clock.  A deadline is the time left on the caller's
 * clock, added to pl_now(); a wait that times out re-checks the caller's clock (pt_reached), so
 * a CLOCK_REALTIME set backwards meanwhile does not end the wait early.  A realtime clock set
 * forwards is not noticed until the monotonic deadline (docs/pthread.md, "Limits"). */
#include "pt.h"

#include <errno.h>

int pt_check_abstime(clockid_t clock, const struct timespec *abs)
{
    if (clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC)
        return EINVAL;
    if (abs->tv_nsec < 0 || abs->tv_nsec >= 1000000000)
        return EINVAL;
    return 0;
}

static int64_t left_ns(clockid_t clock, const struct timespec *abs)
{
    struct timespec now;
    (void)clock_gettime(clock, &now);
    if (abs->tv_sec < now.tv_sec || (abs->tv_sec == now.tv_sec && abs->tv_nsec <= now.tv_nsec))
        return 0;
    /* Seconds far in the future saturate rather than overflow. */
    if (abs->tv_sec - now.tv_sec > (time_t)(INT64_MAX / 1000000000 - 1))
        return INT64_MAX;
    return (int64_t)(abs->tv_sec - now.tv_sec) * 1000000000 + (abs->tv_nsec - now.tv_nsec);
}

uint64_t pt_deadline(clockid_t clock, const struct timespec *abs)
{
    int64_t left = left_ns(clock, abs);
    if (left == 0)
        return 0;
    return pl_deadline_after((uint64_t)left);
}

bool pt_reached(clockid_t clock, const struct timespec *abs) { return left_ns(clock, abs) == 0; }
