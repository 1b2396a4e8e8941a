/* GenMC client: the parker word protocol (parking/parker_word.c, the real file), one sleeper
 * and one waker, as the parking lot drives them: the sleeper arms its parker (prepare) and
 * becomes visible (a release store standing for the bucket lock), then parks; the waker finds
 * it, writes the unpark token (a plain variable), claims it, and wakes it.  Checks that the
 * token is visible to the woken thread (a data race on `token` otherwise) and that the wake is
 * never lost (the sleeping flag against the claim and the wake; --check-liveness).
 * Run by tools/genmc-check. */
#include <assert.h>
#include <pthread.h>

#include "os_model.h"

#include "parking/parker_word.c"

static pl_parker_t parker;
static int queued;
static int token;

static void *sleeper(void *arg)
{
    (void)arg;
    pl_parker_prepare(&parker);
    __atomic_store_n(&queued, 1, __ATOMIC_RELEASE);
    pl_parker_park(&parker);
    assert(token == 42);
    return NULL;
}

static void *waker(void *arg)
{
    (void)arg;
    AWAIT(__atomic_load_n(&queued, __ATOMIC_ACQUIRE));
    token = 42;
    pl_parker_claim(&parker);
    pl_parker_wake(&parker);
    return NULL;
}

int main(void)
{
    pthread_t a, b;
    pl_parker_init(&parker);
    pthread_create(&a, NULL, sleeper, NULL);
    pthread_create(&b, NULL, waker, NULL);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    return 0;
}
