/* pl-bench: Google nsync (Debian libnsync-dev), built only when CMake found it.  nsync_mu is
 * both a mutex and a reader-writer lock; nsync_cv its condition variable.  Zeroed memory is a
 * valid unlocked nsync_mu / empty nsync_cv, as for libparking, and neither needs destroying. */
#include <string.h>

#include <nsync.h>

#include "bench.h"
#include "kernels.h"

static void nsm_init(void *lock, bool zeroed)
{
    if (!zeroed)
        nsync_mu_init(lock);
}

static void nsm_destroy(void *lock)
{
    /* nsync has no destroy; a free mutex takes a trylock (and we give it back). */
    if (!nsync_mu_trylock(lock))
        pb_fatal("nsync_mu %p still locked after all threads finished", lock);
    nsync_mu_unlock(lock);
}

static void nsm_lock(void *lock) { nsync_mu_lock(lock); }
static void nsm_unlock(void *lock) { nsync_mu_unlock(lock); }
PB_MUTEX_KERNELS(nsm, nsm_lock, nsm_unlock)

static const pb_mutex_ops_t nsm = {
    .name = "nsync_mu",
    .role = PB_PEER,
    .bytes = sizeof(nsync_mu),
    .align = _Alignof(nsync_mu),
    .init = nsm_init,
    .destroy = nsm_destroy,
    .lock = nsm_lock,
    .unlock = nsm_unlock,
    .pairs = nsm_pairs,
    .speed = nsm_speed,
    .many = nsm_many,
};

static void nsrw_init(void *lock) { nsync_mu_init(lock); }
static void nsrw_rdlock(void *l) { nsync_mu_rlock(l); }
static void nsrw_rdunlock(void *l) { nsync_mu_runlock(l); }
PB_RWLOCK_KERNELS(nsrw, nsrw_rdlock, nsrw_rdunlock, nsm_lock, nsm_unlock)

static const pb_rwlock_ops_t nsrw = {
    .name = "nsync_mu (reader lock)",
    .role = PB_PEER,
    .bytes = sizeof(nsync_mu),
    .align = _Alignof(nsync_mu),
    .init = nsrw_init,
    .destroy = nsm_destroy,
    .run = nsrw_rw,
};

static void nsc_mutex_init(void *mutex) { nsync_mu_init(mutex); }
static void nsc_cond_init(void *cond) { nsync_cv_init(cond); }
static void nsc_cond_destroy(void *cond) { (void)cond; /* nsync_cv has no destroy */ }

static void nsc_wait(void *cond, void *mutex) { nsync_cv_wait(cond, mutex); }
static void nsc_signal(void *cond) { nsync_cv_signal(cond); }
static void nsc_broadcast(void *cond) { nsync_cv_broadcast(cond); }

static const pb_cond_ops_t nsc = {
    .name = "nsync_cv+nsync_mu",
    .role = PB_PEER,
    .bytes = sizeof(nsync_cv),
    .mutex_bytes = sizeof(nsync_mu),
    .mutex_init = nsc_mutex_init,
    .mutex_destroy = nsm_destroy,
    .cond_init = nsc_cond_init,
    .cond_destroy = nsc_cond_destroy,
    .lock = nsm_lock,
    .unlock = nsm_unlock,
    .wait = nsc_wait,
    .signal = nsc_signal,
    .broadcast = nsc_broadcast,
};

void pb_nsync_register(void)
{
    pb_register_mutex(&nsm);
    pb_register_rwlock(&nsrw);
    pb_register_cond(&nsc);
}
