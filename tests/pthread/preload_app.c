/* An ordinary pthread program, built against glibc alone (no libparking at all): run under
 * LD_PRELOAD=libparking-pthread.so (run-preload.sh), its calls must land in our library.
 * It locks in a static constructor (before anything is initialised), uses the C11 functions,
 * dlopen()s a plugin that locks, forks, and exits 0 when every check passed. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <threads.h>
#include <unistd.h>

static pthread_mutex_t early = PTHREAD_MUTEX_INITIALIZER;
static int early_ok;

__attribute__((constructor)) static void lock_early(void)
{
    early_ok = pthread_mutex_lock(&early) == 0 && pthread_mutex_trylock(&early) != 0 &&
               pthread_mutex_unlock(&early) == 0;
}

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static int turn, rounds = 2000;

static void *ping(void *arg)
{
    int me = (int)(long)arg;
    for (int i = 0; i < rounds; i++) {
        pthread_mutex_lock(&m);
        while (turn != me)
            pthread_cond_wait(&c, &m);
        turn = 1 - me;
        pthread_cond_broadcast(&c);
        pthread_mutex_unlock(&m);
        pthread_rwlock_rdlock(&rw);
        pthread_rwlock_unlock(&rw);
    }
    return NULL;
}

#define CHECK(x)                                                                                   \
  do {                                                                                             \
    if (!(x)) {                                                                                    \
      fprintf(stderr, "preload_app: failed: %s\n", #x);                                            \
      return 1;                                                                                    \
    }                                                                                              \
  } while (0)

int main(int argc, char **argv)
{
    CHECK(early_ok);
    pthread_t a, b;
    CHECK(pthread_create(&a, NULL, ping, (void *)0L) == 0);
    CHECK(pthread_create(&b, NULL, ping, (void *)1L) == 0);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    CHECK(pthread_rwlock_wrlock(&rw) == 0);
    CHECK(pthread_rwlock_unlock(&rw) == 0);

    mtx_t cm;
    cnd_t cc;
    CHECK(mtx_init(&cm, mtx_timed) == thrd_success && cnd_init(&cc) == thrd_success);
    CHECK(mtx_lock(&cm) == thrd_success);
    struct timespec until;
    timespec_get(&until, TIME_UTC);
    until.tv_nsec = until.tv_nsec >= 999000000 ? 999999999 : until.tv_nsec + 1000000;
    int rc;
    while ((rc = cnd_timedwait(&cc, &cm, &until)) == thrd_success) {
    }
    CHECK(rc == thrd_timedout);
    CHECK(mtx_unlock(&cm) == thrd_success);

    if (argc > 1) {
        void *h = dlopen(argv[1], RTLD_NOW);
        CHECK(h != NULL);
        int (*plugin_run)(void) = (int (*)(void))dlsym(h, "plugin_run");
        CHECK(plugin_run != NULL && plugin_run() == 0);
        CHECK(dlclose(h) == 0);
    }

    pthread_mutex_lock(&m);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        pthread_mutex_unlock(&m);
        pthread_mutex_lock(&m);
        pthread_mutex_unlock(&m);
        _exit(0);
    }
    pthread_mutex_unlock(&m);
    int status;
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    return 0;
}
