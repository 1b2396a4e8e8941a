/* PL_ASSERT(cond): an invariant the design relies on (the comment beside each names why it
 * holds), checked in debug-mode (PARKING_DEBUG) and chaos (PARKING_CHAOS) builds, which the test
 * suite runs, and compiled to nothing in the build users get, so a release fast or slow path pays
 * nothing for it.  A failed check prints the condition and where, then aborts: it is a bug in
 * libparking (or memory corrupted by the program), never a misuse to recover from.  Internal. */
#ifndef PARKING_INVARIANT_H
#define PARKING_INVARIANT_H

#include <parking/config.h>

#if defined(PARKING_CHAOS) || (defined(PARKING_DEBUG) && PARKING_DEBUG)
#  include <stdio.h>
#  include <stdlib.h>
#  define PL_ASSERT(cond)                                                                          \
    ((cond) ? (void)0                                                                              \
            : (fprintf(stderr, "libparking: invariant broken at %s:%d: %s\n", __FILE__, __LINE__,  \
                       #cond),                                                                     \
               abort()))
#else
/* sizeof: the condition still compiles (no unused-variable warnings, no rot), but never runs. */
#  define PL_ASSERT(cond) ((void)sizeof(!(cond)))
#endif

#endif /* PARKING_INVARIANT_H */
