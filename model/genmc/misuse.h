/* pl_misuse (src/lock_algorithm.c) for the clients that do not include that file: a misuse
 * report is a failed check here. */
#ifndef PL_GENMC_MISUSE_H
#define PL_GENMC_MISUSE_H

#include <assert.h>

#include "src/lock_algorithm.h"

_Noreturn void pl_misuse(const char *fn, const void *addr, const char *what)
{
    (void)fn;
    (void)addr;
    (void)what;
    assert(!"libparking reported a misuse");
    __builtin_unreachable();
}

#endif
