/* The contention hook (src/contention.c) for the GenMC clients: off, as in a process that never
 * installs one and whose environment asks for no profiler, so every slow path runs its work
 * directly.  The hook's own orderings (the first slow path reading the environment) are not
 * checked here. */
#ifndef PL_GENMC_CONTENTION_OFF_H
#define PL_GENMC_CONTENTION_OFF_H

#include <assert.h>

#include "src/contention.h"

unsigned char pl_contention_state = PL_CONTENTION_OFF;

bool pl_contention_run(const void *addr, pl_contention_primitive_t primitive,
                       pl_contention_mode_t mode, const void *site, pl_contended_fn fn, void *ctx)
{
    (void)addr;
    (void)primitive;
    (void)mode;
    (void)site;
    (void)fn;
    (void)ctx;
    assert(!"the contention hook is off in the model");
    return false;
}

#endif
