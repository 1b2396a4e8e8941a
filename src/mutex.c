/* pl_mutex_t slow paths: the two-bit lock algorithm on one byte, bits 1 and 2. */
#include <parking/mutex.h>

#include "lock_algorithm.h"
#include <parking/lot.h>

static pl_lock_word_t mutex_word(pl_mutex_t *m)
{
    pl_lock_word_t lw = {&m->state, 1, PL_MUTEX_LOCKED_BIT, PL_MUTEX_PARKED_BIT};
    return lw;
}

bool pl_mutex_lock_slow(pl_mutex_t *m, uint64_t deadline)
{
    pl_lock_word_t lw = mutex_word(m);
    return pl_lock_slow(&lw, deadline);
}

bool pl_mutex_lock_for_slow(pl_mutex_t *m, uint64_t timeout_ns)
{
    return pl_mutex_lock_slow(m, pl_deadline_after(timeout_ns));
}

void pl_mutex_unlocked_slow(pl_mutex_t *m, uint8_t left)
{
    pl_lock_word_t lw = mutex_word(m);
    pl_unlocked_slow(&lw, left, "pl_mutex_unlock");
}

void pl_mutex_unlock_slow(pl_mutex_t *m, bool fair)
{
    pl_lock_word_t lw = mutex_word(m);
    pl_unlock_slow(&lw, fair, fair ? "pl_mutex_unlock_fair" : "pl_mutex_unlock");
}
