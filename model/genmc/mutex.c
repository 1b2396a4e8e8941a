/* GenMC client: pl_mutex_t (include/parking/mutex.h and src/lock_algorithm.c, the real files)
 * over the parking lot model (lot_model.h).  Three threads lock, increment a plain counter and
 * unlock; with FAIR the unlocks hand the lock off (the woken thread owns it without touching
 * the word: the parker's release/acquire must carry the critical section over).  Checks mutual
 * exclusion (a data race on `counter`, or the assertion), the parked bit and its unpark
 * callback (no waiter left asleep: --check-liveness; the word ends free and unparked).
 * Run by tools/genmc-check. */
#include <assert.h>
#include <pthread.h>

#include "contention_off.h"
#include "lot_model.h"

#include <parking/mutex.h>
#include "src/lock_algorithm.c"
#include "src/mutex.c"

#ifndef THREADS
#  define THREADS 3
#endif

static pl_mutex_t m = PL_MUTEX_INIT;
static int counter;

static void *worker(void *arg)
{
    (void)arg;
    pl_mutex_lock(&m);
    counter++;
#ifdef FAIR
    pl_mutex_unlock_fair(&m);
#else
    pl_mutex_unlock(&m);
#endif
    return NULL;
}

int main(void)
{
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, worker, NULL);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    assert(counter == THREADS);
    assert(m.state == 0);
    return 0;
}
