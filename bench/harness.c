/* pl-bench: the plumbing every workload shares: clock, fatal errors, the watchdog, the start
 * gate, thread teams, the idle thread, and memory accounting.  It uses pthread primitives only,
 * never a contender, so a broken contender cannot break the harness that checks it. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

uint64_t pb_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void pb_sleep_until(uint64_t deadline)
{
    for (uint64_t now = pb_now_ns(); now < deadline; now = pb_now_ns()) {
        uint64_t left = deadline - now;
        struct timespec ts = {(time_t)(left / 1000000000u), (long)(left % 1000000000u)};
        nanosleep(&ts, NULL); /* EINTR: loop */
    }
}

void pb_fatal(const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fputs("\npl-bench: FATAL: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

void *pb_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        pb_fatal("out of memory (%zu x %zu bytes)", n, size);
    return p;
}

void *pb_map(size_t bytes)
{
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        pb_fatal("mmap of %zu bytes: %s", bytes, strerror(errno));
    return p;
}

void pb_unmap(void *p, size_t bytes)
{
    if (munmap(p, bytes) != 0)
        pb_fatal("munmap: %s", strerror(errno));
}

size_t pb_resident_bytes(void *p, size_t bytes)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t pages = (bytes + page - 1) / page;
#if defined(__APPLE__)
    char *vec = pb_xcalloc(pages, 1); /* macOS declares the vector char *, Linux unsigned char * */
#else
    unsigned char *vec = pb_xcalloc(pages, 1);
#endif
    if (mincore(p, bytes, vec) != 0)
        pb_fatal("mincore: %s", strerror(errno));
    size_t resident = 0;
    for (size_t i = 0; i < pages; i++)
        resident += vec[i] & 1;
    free(vec);
    return resident * page;
}

/* ---- watchdog ---- */

/* A run that hangs (a lock that lost a wake-up) ends the program with a message instead of
 * hanging CI.  Only async-signal-safe calls here. */
static void on_watchdog(int sig)
{
    static const char msg[] = "\npl-bench: FATAL: watchdog: a run did not finish in time "
                              "(lost wake-up or deadlock in the lock under test?)\n";
    (void)sig;
    ssize_t ignored = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)ignored;
    _exit(3);
}

void pb_watchdog_arm(uint64_t duration_ns)
{
    static int installed;
    if (!installed) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_watchdog;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGALRM, &sa, NULL);
        installed = 1;
    }
    /* Generous: sanitizer builds and 32 threads on 2 cores stretch set-up and tear-down. */
    alarm((unsigned)(duration_ns / 1000000000u) + 120);
}

void pb_watchdog_disarm(void) { alarm(0); }

/* ---- start gate ---- */

struct pb_gate {
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    unsigned ready;
    int open;
};

pb_gate_t *pb_gate_new(void)
{
    pb_gate_t *g = pb_xcalloc(1, sizeof *g);
    pthread_mutex_init(&g->mutex, NULL);
    pthread_cond_init(&g->cond, NULL);
    return g;
}

void pb_gate_free(pb_gate_t *g)
{
    pthread_cond_destroy(&g->cond);
    pthread_mutex_destroy(&g->mutex);
    free(g);
}

void pb_gate_wait(pb_gate_t *g)
{
    pthread_mutex_lock(&g->mutex);
    g->ready++;
    pthread_cond_broadcast(&g->cond);
    while (!g->open)
        pthread_cond_wait(&g->cond, &g->mutex);
    pthread_mutex_unlock(&g->mutex);
}

uint64_t pb_gate_open(pb_gate_t *g, unsigned n)
{
    pthread_mutex_lock(&g->mutex);
    while (g->ready < n)
        pthread_cond_wait(&g->cond, &g->mutex);
    g->open = 1;
    uint64_t start = pb_now_ns();
    pthread_cond_broadcast(&g->cond);
    pthread_mutex_unlock(&g->mutex);
    return start;
}

/* ---- thread teams ---- */

struct pb_team {
    unsigned n;
    pthread_t tids[];
};

pb_team_t *pb_team_start(unsigned n, void *(*fn)(void *), void *args, size_t arg_size)
{
    pb_team_t *t = pb_xcalloc(1, sizeof *t + n * sizeof(pthread_t));
    t->n = n;
    for (unsigned i = 0; i < n; i++) {
        int rc = pthread_create(&t->tids[i], NULL, fn, (char *)args + i * arg_size);
        if (rc != 0)
            pb_fatal("pthread_create: %s", strerror(rc));
    }
    return t;
}

void pb_team_join(pb_team_t *t)
{
    for (unsigned i = 0; i < t->n; i++)
        pthread_join(t->tids[i], NULL);
    free(t);
}

/* ---- idle thread ---- */

static int idle_pipe[2] = {-1, -1};
static pthread_t idle_thread;

static void *idle_main(void *arg)
{
    char byte;
    (void)arg;
    while (read(idle_pipe[0], &byte, 1) < 0 && errno == EINTR) {
    }
    return NULL;
}

void pb_idle_thread_start(void)
{
    if (pipe(idle_pipe) != 0)
        pb_fatal("pipe: %s", strerror(errno));
    int rc = pthread_create(&idle_thread, NULL, idle_main, NULL);
    if (rc != 0)
        pb_fatal("pthread_create: %s", strerror(rc));
}

void pb_idle_thread_stop(void)
{
    close(idle_pipe[1]); /* read() returns 0 */
    pthread_join(idle_thread, NULL);
    close(idle_pipe[0]);
}
