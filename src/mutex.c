/* pl_mutex_t slow paths: the two-bit lock algorithm on one byte, bits 1 and 2. */
#include <parking/mutex.h>

#include "contention.h"
#include "lock_algorithm.h"
#include "probes.h"
#include <parking/lot.h>

typedef struct watched_lock {
    const pl_lock_word_t *lw;
    uint64_t deadline;
} watched_lock_t;

static bool run_lock(void *ctx, uint32_t *parks)
{
    const watched_lock_t *w = ctx;
    return pl_lock_slow(w->lw, w->deadline, parks);
}

bool pl_lock_slow_watched(const pl_lock_word_t *lw, uint64_t deadline, unsigned primitive,
                          const void *site)
{
    watched_lock_t w = {lw, deadline};
    return pl_contention_run(lw->word, (pl_contention_primitive_t)primitive, PL_MODE_EXCLUSIVE,
                             site, run_lock, &w);
}

bool pl_mutex_lock_slow(pl_mutex_t *m, uint64_t deadline)
{
    pl_lock_word_t lw = pl_mutex_lock_word(m);
    PL_PROBE3(slow_begin, m, PL_PRIM_MUTEX, PL_MODE_EXCLUSIVE);
    if (PL_CONTENTION_WATCHED())
        return pl_lock_slow_watched(&lw, deadline, PL_PRIM_MUTEX, __builtin_return_address(0));
    uint32_t parks = 0;
    return pl_lock_slow(&lw, deadline, &parks);
}

void pl_mutex_unlock_slow(pl_mutex_t *m, bool fair, const char *fn)
{
    pl_lock_word_t lw = pl_mutex_lock_word(m);
    pl_unlock_slow(&lw, fair, fn);
}

void pl_lock_not_held(const void *lock, const char *fn, const char *what)
{
    pl_misuse(fn, lock, what);
}
