/* The condition waits of cond.c with the call site given: for the exported slow paths of
 * cond_any.c, which wait through them and must report their own caller's site to the contention
 * hook (contention.h), not their own.  Internal to the library. */
#ifndef PARKING_COND_WAIT_H
#define PARKING_COND_WAIT_H

#include <stdbool.h>
#include <stdint.h>

#include <parking/cond.h>

/* pl_cond_wait_slow, `site` being the return address of the exported function called. */
bool pl_cond_wait_at(pl_cond_t *c, pl_mutex_t *m, uint64_t deadline, const char *fn,
                     const void *site);
/* pl_cond_wait_any_slow, likewise. */
bool pl_cond_wait_any_at(pl_cond_t *c, void *lock, void (*lock_fn)(void *),
                         void (*unlock_fn)(void *), uint64_t deadline, const char *fn,
                         const void *site);

#endif /* PARKING_COND_WAIT_H */
