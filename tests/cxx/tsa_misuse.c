/* Clang's thread-safety analysis over the C API: each misuse below is an error under
 * clang -Wthread-safety -Werror.  Run with -Xclang -verify: clang checks that the diagnostic
 * written in the comment of each misuse is reported on its line, and that nothing else is. */
/* The expected diagnostics stay one line each: */
/* clang-format off */
#include <parking/parking.h>

#include <stddef.h>

pl_mutex_t mu = PL_MUTEX_INIT;
int counter PL_GUARDED_BY(mu);
pl_rwlock_t rw = PL_RWLOCK_INIT;
int table PL_GUARDED_BY(rw);
pl_cond_t cv = PL_COND_INIT;
pl_ptrlock_t pt = PL_PTRLOCK_INIT;

void inc_locked(void) PL_REQUIRES(mu);

void unlocked_write(void)
{
    // expected-error@+1 {{writing variable 'counter' requires holding mutex 'mu' exclusively}}
    counter++;
}

int unlocked_read(void)
{
    // expected-error@+1 {{reading variable 'table' requires holding mutex 'rw'}}
    return table;
}

void write_under_read_lock(void)
{
    pl_rwlock_rdlock(&rw);
    // expected-error@+1 {{writing variable 'table' requires holding mutex 'rw' exclusively}}
    table = 1;
    pl_rwlock_rdunlock(&rw);
}

void forgot_unlock(void)
{
    pl_mutex_lock(&mu);
    // expected-error@+1 {{mutex 'mu' is still held at the end of function}}
}

void unlock_not_held(void)
{
    // expected-error@+1 {{releasing mutex 'mu' that was not held}}
    pl_mutex_unlock(&mu);
}

void call_requires(void)
{
    // expected-error@+1 {{calling function 'inc_locked' requires holding mutex 'mu' exclusively}}
    inc_locked();
}

void wait_without_mutex(void)
{
    // expected-error@+1 {{calling function 'pl_cond_wait' requires holding mutex 'mu' exclusively}}
    pl_cond_wait(&cv, &mu);
}

void double_lock(void)
{
    pl_mutex_lock(&mu);
    // expected-error@+1 {{acquiring mutex 'mu' that is already held}}
    pl_mutex_lock(&mu);
    pl_mutex_unlock(&mu);
}

void failed_trylock(void)
{
    if (!pl_mutex_trylock(&mu)) {
        // expected-error@+1 {{writing variable 'counter' requires holding mutex 'mu' exclusively}}
        counter++;
        return;
    }
    pl_mutex_unlock(&mu);
}

void set_without_lock(void)
{
    // expected-error@+1 {{calling function 'pl_ptrlock_set' requires holding mutex 'pt' exclusively}}
    pl_ptrlock_set(&pt, NULL);
}

void wrong_unlock_mode(void)
{
    pl_rwlock_rdlock(&rw);
    // expected-error@+1 {{releasing mutex 'rw' using exclusive access, expected shared access}}
    pl_rwlock_wrunlock(&rw);
}

void wait_read_unlocked(void)
{
    // expected-error@+1 {{calling function 'pl_cond_wait_read' requires holding mutex 'rw'}}
    pl_cond_wait_read(&cv, &rw);
}

void wait_write_under_read_lock(void)
{
    pl_rwlock_rdlock(&rw);
    // expected-error@+1 {{calling function 'pl_cond_wait_write_until' requires holding mutex 'rw' exclusively}}
    (void)pl_cond_wait_write_until(&cv, &rw, PL_FOREVER);
    pl_rwlock_rdunlock(&rw);
}

pl_remutex_t rm = PL_REMUTEX_INIT;

void wait_remutex_unlocked(void)
{
    // expected-error@+1 {{calling function 'pl_cond_wait_remutex' requires holding mutex 'rm' exclusively}}
    pl_cond_wait_remutex(&cv, &rm);
}

void wait_wrong_lock(void)
{
    pl_ptrlock_lock(&pt);
    // expected-error@+1 {{calling function 'pl_cond_wait_remutex_until' requires holding mutex 'rm' exclusively}}
    (void)pl_cond_wait_remutex_until(&cv, &rm, PL_FOREVER);
    pl_ptrlock_unlock(&pt);
}
