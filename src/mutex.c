/* pl_mutex_t slow paths: the two-bit lock algorithm on one byte, bits 1 and 2. */
#include <parking/mutex.h>

#include "lock_algorithm.h"
#include <parking/lot.h>

bool pl_mutex_lock_slow(pl_mutex_t *m, uint64_t deadline)
{
    pl_lock_word_t lw = pl_mutex_lock_word(m);
    return pl_lock_slow(&lw, deadline);
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
