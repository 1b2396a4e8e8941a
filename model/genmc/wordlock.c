/* GenMC client: the bucket lock (parking/word_lock.c, the real file) with three threads, each
 * locking once and incrementing a plain counter.  Checks mutual exclusion (GenMC reports the
 * data race on `counter`, or the assertion), that the waiters' nodes are published to the
 * unlocker that walks them (a race on the node fields otherwise), and that no waiter is left
 * asleep (--check-liveness).  Run by tools/genmc-check. */
#include <assert.h>
#include <pthread.h>

#include "os_model.h"

#include "parking/parker_word.c"
#include "parking/word_lock.c"

#ifndef THREADS
#  define THREADS 3
#endif

static pl_word_lock_t lock;
static int counter;

static void *worker(void *arg)
{
    (void)arg;
    pl_word_lock_lock(&lock);
    counter++;
    pl_word_lock_unlock(&lock);
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
    assert(lock.state == 0);
    return 0;
}
