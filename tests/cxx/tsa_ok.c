/* Clang's thread-safety analysis over the C API: correctly locked code compiles clean under
 * clang -Wthread-safety -Wthread-safety-beta -Werror (tests/cxx/CMakeLists.txt). */
#include <parking/parking.h>

#include <stddef.h>

pl_mutex_t mu = PL_MUTEX_INIT;
int counter PL_GUARDED_BY(mu);
pl_rwlock_t rw = PL_RWLOCK_INIT;
int table PL_GUARDED_BY(rw);
pl_remutex_t rm = PL_REMUTEX_INIT;
int depth PL_GUARDED_BY(rm);
pl_cond_t cv = PL_COND_INIT;
pl_ptrlock_t pt = PL_PTRLOCK_INIT;

void inc_locked(void) PL_REQUIRES(mu);
void inc_locked(void) { counter++; }

int read_locked(void) PL_REQUIRES_SHARED(rw);
int read_locked(void) { return table; }

void take(void) PL_ACQUIRE(mu);
void take(void) { pl_mutex_lock(&mu); }

void lock_unlock(void)
{
    pl_mutex_lock(&mu);
    counter++;
    inc_locked();
    pl_mutex_unlock_fair(&mu);
}

void try_and_timed(void)
{
    if (pl_mutex_trylock(&mu)) {
        counter++;
        pl_mutex_unlock(&mu);
    }
    if (pl_mutex_lock_for(&mu, 1000)) {
        counter++;
        pl_mutex_unlock(&mu);
    }
    take();
    counter++;
    pl_mutex_unlock(&mu);
}

void asserted(void)
{
    pl_mutex_assert_held(&mu); /* the caller's promise, checked at run time */
    counter++;
}

int reader(void)
{
    pl_rwlock_rdlock(&rw);
    int v = table + read_locked();
    pl_rwlock_rdunlock(&rw);
    if (pl_rwlock_tryrdlock(&rw)) {
        v += table;
        pl_rwlock_rdunlock(&rw);
    }
    return v;
}

void writer_downgrades(void)
{
    pl_rwlock_wrlock(&rw);
    table++;
    pl_rwlock_downgrade(&rw);
    int v = table;
    (void)v;
    pl_rwlock_rdunlock(&rw);
}

void upgrader(void)
{
    pl_rwlock_uplock(&rw);
    int v = table;
    pl_rwlock_upgrade(&rw);
    table = v + 1;
    pl_rwlock_downgrade_to_upgradable(&rw);
    pl_rwlock_upunlock(&rw);
}

void waiter(void)
{
    pl_mutex_lock(&mu);
    while (counter == 0)
        pl_cond_wait(&cv, &mu);
    counter--;
    pl_mutex_unlock(&mu);
    pl_cond_signal(&cv); /* signalling needs no lock */
}

void reentrant(void)
{
    pl_remutex_lock(&rm);
    depth++;
    pl_remutex_unlock(&rm);
}

void pointer_lock(void)
{
    pl_ptrlock_lock(&pt);
    pl_ptrlock_set(&pt, NULL);
    pl_ptrlock_unlock(&pt);
}
