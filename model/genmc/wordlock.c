/* GenMC client: the bucket lock (parking/word_lock.c, the real file) with THREADS threads (3 by
 * default), each locking ROUNDS times (once by default) and incrementing a plain counter.
 * Checks mutual exclusion (GenMC reports the data race on `counter`, or the assertion), that the
 * waiters' nodes are published to the unlocker that walks them (a race on the node fields
 * otherwise), and that no waiter is left asleep (--check-liveness).  Run by tools/genmc-check. */
#include <assert.h>
#include <pthread.h>

#include "cas_failure.h"
#include "os_model.h"

#include "parking/parker_word.c"
#include "parking/word_lock.c"

#ifndef THREADS
#  define THREADS 3
#endif

static pl_word_lock_t lock;
static int counter;

#ifndef ROUNDS
#  define ROUNDS 1
#endif

static void *worker(void *arg)
{
    (void)arg;
    for (int r = 0; r < ROUNDS; r++) {
        pl_word_lock_lock(&lock);
        counter++;
        pl_word_lock_unlock(&lock);
    }
    return NULL;
}

int main(void)
{
    /* Identical threads: GenMC explores one order of them (symmetry reduction). */
    __VERIFIER_thread_t t[THREADS];
    t[0] = __VERIFIER_spawn(worker, NULL);
    for (int i = 1; i < THREADS; i++)
        t[i] = __VERIFIER_spawn_symmetric(worker, NULL, t[i - 1]);
    for (int i = 0; i < THREADS; i++)
        __VERIFIER_join_symmetric(t[i]);
    assert(counter == THREADS * ROUNDS);
    assert(lock.state == 0);
    return 0;
}
