/* The typed waits of parking/cond_any.h: a read or write hold of a pl_rwlock_t, a pl_remutex_t
 * at any depth, a bit lock.  The generic wait itself (pl_cond_wait_any_slow) is in cond.c, beside
 * the signal and broadcast that must tell its waiters from pl_mutex_t's. */
#include <parking/cond_any.h>

#include "cond_wait.h"
#include "lock_algorithm.h"
#include <parking/lot.h>

typedef struct rw_wait {
    pl_rwlock_t *l;
    const char *fn;
} rw_wait_t;

/* The raw operations: the caller's inline wrapper annotates the release and re-acquisition. */
static void rd_unlock(void *p)
{
    rw_wait_t *w = p;
    pl_rwlock__rdunlock(w->l, w->fn);
}

static void rd_lock(void *p)
{
    rw_wait_t *w = p;
    (void)pl_rwlock__lock(w->l, PL_RWLOCK__SHARED, PL_FOREVER, w->fn);
}

static void wr_unlock(void *p)
{
    rw_wait_t *w = p;
    pl_rwlock__wrunlock(w->l, false, w->fn);
}

static void wr_lock(void *p)
{
    rw_wait_t *w = p;
    (void)pl_rwlock__lock(w->l, PL_RWLOCK__EXCLUSIVE, PL_FOREVER, w->fn);
}

bool pl_cond_wait_rwlock_slow(pl_cond_t *c, pl_rwlock_t *l, bool exclusive, uint64_t deadline,
                              const char *fn)
{
    rw_wait_t w = {l, fn};
    return pl_cond_wait_any_at(c, &w, exclusive ? wr_lock : rd_lock,
                               exclusive ? wr_unlock : rd_unlock, deadline, fn,
                               __builtin_return_address(0));
}

/* The reentrant mutex is a pl_mutex_t inside, so its waiters take pl_cond_wait's path, requeue
 * included; only the owner and depth are put aside around it (the owner is cleared before the
 * inner mutex is released, as pl_remutex_unlock does). */
bool pl_cond_wait_remutex_slow(pl_cond_t *c, pl_remutex_t *m, uint64_t deadline, const char *fn)
{
    uintptr_t me = pl_thread_id();
    if (!pl_remutex__mine(m, me))
        pl_remutex_bad_unlock(m, fn);
    uint32_t depth = m->count;
    m->count = 0;
    __atomic_store_n(&m->owner, 0, __ATOMIC_RELAXED);
    bool signalled = pl_cond_wait_at(c, &m->mutex, deadline, fn, __builtin_return_address(0));
    pl_remutex__own(m, me);
    m->count = depth;
    return signalled;
}

typedef struct bit_wait {
    pl_lock_word_t lw;
    const char *fn;
} bit_wait_t;

static void bit_unlock(void *p)
{
    bit_wait_t *w = p;
    pl_unlock_slow(&w->lw, false, w->fn);
}

static void bit_lock(void *p)
{
    bit_wait_t *w = p;
    /* The relock after a condition wait: its contention is the wait's, not a lock site's. */
    uint32_t parks = 0;
    (void)pl_lock_slow(&w->lw, PL_FOREVER, &parks);
}

bool pl_cond_wait_bitlock_slow(pl_cond_t *c, void *word, unsigned size, uint64_t lock_bit,
                               uint64_t parked_bit, uint64_t deadline, const char *fn)
{
    if (size != 1 && size != 2 && size != 4 && size != 8)
        pl_misuse(fn, word, "word size must be 1, 2, 4 or 8 bytes");
    if ((uintptr_t)word % size != 0)
        pl_misuse(fn, word, "word is not aligned to its size");
    uint64_t bits = size == 8 ? ~(uint64_t)0 : ((uint64_t)1 << (8 * size)) - 1;
    if (!pl_bitlock__masks_ok(lock_bit, parked_bit) || ((lock_bit | parked_bit) & ~bits) != 0)
        pl_bitlock_bad_masks(word, lock_bit, parked_bit, 0, 0, fn);
    bit_wait_t w = {{word, size, lock_bit, parked_bit}, fn};
    return pl_cond_wait_any_at(c, &w, bit_lock, bit_unlock, deadline, fn,
                               __builtin_return_address(0));
}
