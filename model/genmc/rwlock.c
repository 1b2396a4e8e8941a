/* GenMC client: pl_rwlock_t (include/parking/rwlock.h and src/rwlock.c, the real files) over
 * the parking lot model (lot_model.h).  One writer writes two plain fields under the write
 * lock; NREADERS readers (tools/genmc-check: 1) read them under the read lock and must see both old or both new.  Checks
 * the reader/writer handover both ways (a data race on the fields otherwise: a reader let in
 * before the writer's release, or a writer before the last reader left), including the last
 * reader waking the writer that waits for the readers inside (the second key), and that nobody
 * sleeps for ever (--check-liveness).  With UPGRADE the writer takes an upgradable lock first and
 * upgrades it.  Run by tools/genmc-check. */
#include <assert.h>
#include <pthread.h>

#include "contention_off.h"
#include "lot_model.h"

#include <parking/rwlock.h>
#include "misuse.h"

/* GenMC's interpreter has no llvm.uadd.with.overflow: the same test on the unsigned words
 * src/rwlock.c adds (uintptr_t). */
static inline bool pl_genmc_add_overflow(uintptr_t a, uintptr_t b, uintptr_t *sum)
{
    *sum = a + b;
    return *sum < a;
}
#define __builtin_add_overflow(a, b, sum) pl_genmc_add_overflow((a), (b), (sum))
#include "src/rwlock.c"

#ifndef NREADERS
#  define NREADERS 2
#endif

static pl_rwlock_t lock = PL_RWLOCK_INIT;
static int a, b;

static void *writer(void *arg)
{
    (void)arg;
#ifdef UPGRADE
    pl_rwlock_uplock(&lock);
    pl_rwlock_upgrade(&lock);
#else
    pl_rwlock_wrlock(&lock);
#endif
    a = 1;
    b = 1;
    pl_rwlock_wrunlock(&lock);
    return NULL;
}

static void *reader(void *arg)
{
    (void)arg;
    pl_rwlock_rdlock(&lock);
    int x = a, y = b;
    pl_rwlock_rdunlock(&lock);
    assert(x == y);
    return NULL;
}

int main(void)
{
    pthread_t w, r[NREADERS];
    pthread_create(&r[0], NULL, reader, NULL);
    pthread_create(&w, NULL, writer, NULL);
    for (int i = 1; i < NREADERS; i++)
        pthread_create(&r[i], NULL, reader, NULL);
    pthread_join(w, NULL);
    for (int i = 0; i < NREADERS; i++)
        pthread_join(r[i], NULL);
    assert(lock.state == 0);
    return 0;
}
