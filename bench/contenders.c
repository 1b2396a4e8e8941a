/* pl-bench: the locks under test, behind pb_contender_t.
 *
 * Each adapter function wraps the lock's public API, so pl_mutex_t goes through the static
 * inline fast paths of parking/mutex.h and out-of-line slow paths of the shared libparking. */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "bench.h"
#include "parking/mutex.h"

/* ---- pl_mutex_t ---- */

static void plm_init(void *lock)
{
    pl_mutex_t init = PL_MUTEX_INIT;
    memcpy(lock, &init, sizeof init);
}

static void plm_lock(void *lock) { pl_mutex_lock(lock); }
static void plm_unlock(void *lock) { pl_mutex_unlock(lock); }

static void plm_destroy(void *lock)
{
    /* Nothing to free; but once every thread is gone the byte must be back to 0: a lingering
     * parked bit would send every later lock down the slow path. */
    uint8_t state = __atomic_load_n(&((pl_mutex_t *)lock)->state, __ATOMIC_ACQUIRE);
    if (state != 0)
        pb_fatal("pl_mutex_t state is 0x%02x after all threads finished (expected 0)", state);
}

static void plm_pairs(void *lock, pb_shared_t *shared, uint64_t n)
{
    pl_mutex_t *m = lock;
    for (uint64_t i = 0; i < n; i++) {
        pl_mutex_lock(m);
        shared->counter++;
        pl_mutex_unlock(m);
    }
}

static const pb_contender_t plm = {
    .name = "pl_mutex_t",
    .bytes = sizeof(pl_mutex_t),
    .init = plm_init,
    .lock = plm_lock,
    .unlock = plm_unlock,
    .destroy = plm_destroy,
    .pairs = plm_pairs,
};

/* ---- pthread_mutex_t (default attributes), the baseline ---- */

static void ptm_init(void *lock)
{
    int rc = pthread_mutex_init(lock, NULL);
    if (rc != 0)
        pb_fatal("pthread_mutex_init: %s", strerror(rc));
}

static void ptm_lock(void *lock)
{
    if (pthread_mutex_lock(lock) != 0)
        pb_fatal("pthread_mutex_lock failed");
}

static void ptm_unlock(void *lock)
{
    if (pthread_mutex_unlock(lock) != 0)
        pb_fatal("pthread_mutex_unlock failed");
}

static void ptm_destroy(void *lock)
{
    int rc = pthread_mutex_destroy(lock);
    if (rc != 0)
        pb_fatal("pthread_mutex_destroy: %s", strerror(rc));
}

static void ptm_pairs(void *lock, pb_shared_t *shared, uint64_t n)
{
    pthread_mutex_t *m = lock;
    for (uint64_t i = 0; i < n; i++) {
        pthread_mutex_lock(m);
        shared->counter++;
        pthread_mutex_unlock(m);
    }
}

static const pb_contender_t ptm = {
    .name = "pthread_mutex_t",
    .bytes = sizeof(pthread_mutex_t),
    .init = ptm_init,
    .lock = ptm_lock,
    .unlock = ptm_unlock,
    .destroy = ptm_destroy,
    .pairs = ptm_pairs,
};

_Static_assert(sizeof(pl_mutex_t) <= PB_MAX_LOCK_BYTES, "pl_mutex_t too large");
_Static_assert(sizeof(pthread_mutex_t) <= PB_MAX_LOCK_BYTES, "pthread_mutex_t too large");

const pb_contender_t *const pb_contenders[] = {&plm, &ptm};
const size_t pb_ncontenders = sizeof pb_contenders / sizeof pb_contenders[0];

const pb_contender_t *pb_baseline(void) { return &ptm; }
