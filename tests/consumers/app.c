/* A consumer of an installed libparking (tests/consumers/run-consumers.sh, run-deb.sh): it
 * compiles against the installed headers only, links the installed library, runs a little
 * contended work through several primitives, checks that the library it runs with matches the
 * headers, and prints "library: <file that provides pl_version>" so the script can tell which
 * copy was used. */
#define _GNU_SOURCE /* dladdr */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <parking/parking.h>

#if !PARKING_VERSION_AT_LEAST(0, 1, 0)
#  error "parking/version.h is missing or too old"
#endif

enum { THREADS = 4, ROUNDS = 20000 };

static pl_mutex_t lock = PL_MUTEX_INIT;
static pl_cond_t turn_changed = PL_COND_INIT;
static pl_rwlock_t table_lock = PL_RWLOCK_INIT;
static pl_once_t once = PL_ONCE_INIT;
static long counter, table_value, inits;
static int turn; /* ping-pong through the condition variable */

static void init_once(void *arg)
{
    (void)arg;
    inits++;
}

static void *worker(void *arg)
{
    int id = (int)(long)arg;
    pl_call_once(&once, init_once, NULL);
    for (int i = 0; i < ROUNDS; i++) {
        pl_mutex_lock(&lock);
        counter++;
        pl_mutex_unlock(&lock);
        if (i % 64 == 0) {
            pl_rwlock_wrlock(&table_lock);
            table_value++;
            pl_rwlock_wrunlock(&table_lock);
        } else {
            pl_rwlock_rdlock(&table_lock);
            (void)table_value;
            pl_rwlock_rdunlock(&table_lock);
        }
    }
    /* Each thread waits for its turn: a real wait on the condition variable. */
    pl_mutex_lock(&lock);
    while (turn != id)
        pl_cond_wait(&turn_changed, &lock);
    turn++;
    pl_cond_broadcast(&turn_changed);
    pl_mutex_unlock(&lock);
    return NULL;
}

int main(void)
{
    pthread_t t[THREADS];
    for (long i = 0; i < THREADS; i++) {
        if (pthread_create(&t[i], NULL, worker, (void *)i) != 0) {
            fprintf(stderr, "pthread_create failed\n");
            return 1;
        }
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);

    int ok = 1;
    if (counter != (long)THREADS * ROUNDS || inits != 1 || turn != THREADS ||
        table_value != (long)THREADS * ((ROUNDS + 63) / 64)) {
        fprintf(stderr, "wrong results: counter %ld, inits %ld, turn %d, table %ld\n", counter,
                inits, turn, table_value);
        ok = 0;
    }
    if (strcmp(pl_version(), PARKING_VERSION_STRING) != 0 ||
        pl_version_number() != PARKING_VERSION_NUMBER) {
        fprintf(stderr, "headers say %s, library says %s\n", PARKING_VERSION_STRING, pl_version());
        ok = 0;
    }
    Dl_info info;
    union {
        const char *(*fn)(void);
        void *p;
    } u;
    u.p = NULL;
    u.fn = pl_version;
    if (dladdr(u.p, &info) == 0 || info.dli_fname == NULL) {
        fprintf(stderr, "dladdr(pl_version) failed\n");
        ok = 0;
    } else {
        printf("library: %s\n", info.dli_fname);
    }
    printf("version: %s\n", pl_version());
    printf("%s\n", ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}
