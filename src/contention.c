/* The contention hook (include/parking/profile.h, src/contention.h). */
#include "contention.h"

#include <parking/cas.h>
#include <parking/lot.h>

unsigned char pl_contention_state;
static pl_contention_fn hook;

pl_contention_fn pl_contention_hook(pl_contention_fn fn)
{
    pl_contention_fn old = __atomic_exchange_n(&hook, fn, __ATOMIC_ACQ_REL);
    __atomic_store_n(&pl_contention_state, fn != NULL ? PL_CONTENTION_ON : PL_CONTENTION_OFF,
                     __ATOMIC_RELEASE);
    return old;
}

/* The first slow path of the process: the environment may ask for the profiler, which installs
 * its hook.  Threads racing here run unwatched until it is decided (a few slow paths at most);
 * a hook installed meanwhile by the program is kept. */
static void setup(void)
{
    (void)pl_profile_from_env();
    unsigned char unknown = PL_CONTENTION_UNKNOWN;
    (void)PL__CAS(&pl_contention_state, &unknown, PL_CONTENTION_OFF, false, __ATOMIC_ACQ_REL,
                  __ATOMIC_RELAXED);
}

bool pl_contention_run(const void *addr, pl_contention_primitive_t primitive,
                       pl_contention_mode_t mode, const void *site, pl_contended_fn fn, void *ctx)
{
    if (__atomic_load_n(&pl_contention_state, __ATOMIC_ACQUIRE) == PL_CONTENTION_UNKNOWN)
        setup();
    pl_contention_fn h = __atomic_load_n(&hook, __ATOMIC_ACQUIRE);
    uint32_t parks = 0;
    if (h == NULL)
        return fn(ctx, &parks);
    pl_contention_t ev = {addr, site, pl_now(), 0, 0, (uint8_t)primitive, (uint8_t)mode, false};
    ev.acquired = fn(ctx, &parks);
    ev.end_ns = pl_now();
    ev.parks = parks;
    h(&ev);
    return ev.acquired;
}
