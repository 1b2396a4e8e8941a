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

/* cond_any.h: waits under the read lock, the write lock, the reentrant mutex, the pointer lock. */
void wait_read(void)
{
    pl_rwlock_rdlock(&rw);
    while (table == 0)
        pl_cond_wait_read(&cv, &rw);
    (void)pl_cond_wait_read_until(&cv, &rw, pl_deadline_after(1000));
    pl_rwlock_rdunlock(&rw);
}

void wait_write(void)
{
    pl_rwlock_wrlock(&rw);
    while (table == 0)
        pl_cond_wait_write(&cv, &rw);
    table--;
    (void)pl_cond_wait_write_until(&cv, &rw, pl_deadline_after(1000));
    pl_rwlock_wrunlock(&rw);
}

void wait_reentrant(void)
{
    pl_remutex_lock(&rm);
    while (depth == 0)
        pl_cond_wait_remutex(&cv, &rm);
    (void)pl_cond_wait_remutex_until(&cv, &rm, PL_FOREVER);
    pl_remutex_unlock(&rm);
}

void wait_pointer_lock(void)
{
    pl_ptrlock_lock(&pt);
    (void)pl_cond_wait_ptrlock_until(&cv, &pt, pl_deadline_after(1000));
    pl_ptrlock_unlock(&pt);
}

/* Not capabilities: no lock needed around them, none held after. */
pl_sem_t sem = PL_SEM_INIT(1);
pl_event_t ev = PL_EVENT_INIT;

void not_locks(void)
{
    pl_sem_wait(&sem);
    pl_event_set(&ev);
    pl_sem_post(&sem);
}
