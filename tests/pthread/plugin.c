#define _GNU_SOURCE
/* Loaded and unloaded by preload_app with dlopen/dlclose: its locks bind to the preloaded
 * library like the program's. */
#include <pthread.h>

int plugin_run(void);

static pthread_mutex_t pm = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
static pthread_cond_t pc = PTHREAD_COND_INITIALIZER;

int plugin_run(void)
{
    if (pthread_mutex_lock(&pm) || pthread_mutex_lock(&pm))
        return 1;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    int rc;
    while ((rc = pthread_cond_timedwait(&pc, &pm, &until)) == 0) {
    }
    pthread_mutex_unlock(&pm);
    pthread_mutex_unlock(&pm);
    return rc == 110 /* ETIMEDOUT */ ? 0 : 1;
}
