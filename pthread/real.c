/* glibc's own functions, for the objects we delegate (pt.h).  Resolved once, on first need, with
 * dlsym(RTLD_NEXT): the next definition after this library in the lookup order, which is the C
 * library's default version (pthread_cond_wait@@GLIBC_2.3.2, not the old condvar's 2.2.5).  A
 * race between two first uses only resolves twice: every thread stores the same table. */
#include "pt.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

const pt_real_t *pt_real_ptr;
static pt_real_t table;

static void *must(const char *name)
{
    void *f = dlsym(RTLD_NEXT, name);
    if (f == NULL) {
        /* No stdio: this may run inside a static constructor, before anything is set up. */
        static const char msg[] = "libparking-pthread: the C library lacks a pthread function\n";
        (void)!write(2, msg, sizeof msg - 1);
        abort();
    }
    return f;
}

#define RESOLVE(field, name) *(void **)(&t.field) = must(name)

const pt_real_t *pt_real_slow(void)
{
    pt_real_t t;
    RESOLVE(mutex_init, "pthread_mutex_init");
    RESOLVE(mutex_destroy, "pthread_mutex_destroy");
    RESOLVE(mutex_lock, "pthread_mutex_lock");
    RESOLVE(mutex_trylock, "pthread_mutex_trylock");
    RESOLVE(mutex_timedlock, "pthread_mutex_timedlock");
    RESOLVE(mutex_clocklock, "pthread_mutex_clocklock");
    RESOLVE(mutex_unlock, "pthread_mutex_unlock");
    RESOLVE(mutex_consistent, "pthread_mutex_consistent");
    RESOLVE(cond_init, "pthread_cond_init");
    RESOLVE(cond_destroy, "pthread_cond_destroy");
    RESOLVE(cond_wait, "pthread_cond_wait");
    RESOLVE(cond_timedwait, "pthread_cond_timedwait");
    RESOLVE(cond_clockwait, "pthread_cond_clockwait");
    RESOLVE(cond_signal, "pthread_cond_signal");
    RESOLVE(cond_broadcast, "pthread_cond_broadcast");
    RESOLVE(rwlock_init, "pthread_rwlock_init");
    RESOLVE(rwlock_destroy, "pthread_rwlock_destroy");
    RESOLVE(rwlock_rdlock, "pthread_rwlock_rdlock");
    RESOLVE(rwlock_tryrdlock, "pthread_rwlock_tryrdlock");
    RESOLVE(rwlock_timedrdlock, "pthread_rwlock_timedrdlock");
    RESOLVE(rwlock_clockrdlock, "pthread_rwlock_clockrdlock");
    RESOLVE(rwlock_wrlock, "pthread_rwlock_wrlock");
    RESOLVE(rwlock_trywrlock, "pthread_rwlock_trywrlock");
    RESOLVE(rwlock_timedwrlock, "pthread_rwlock_timedwrlock");
    RESOLVE(rwlock_clockwrlock, "pthread_rwlock_clockwrlock");
    RESOLVE(rwlock_unlock, "pthread_rwlock_unlock");
    RESOLVE(cancel, "pthread_cancel");
    table = t; /* identical bytes whoever stores them */
    __atomic_store_n(&pt_real_ptr, &table, __ATOMIC_RELEASE);
    return &table;
}
