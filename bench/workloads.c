/* pl-bench: the workloads.
 *
 * uncontended: one thread, lock+unlock pairs in batches until the duration has passed.
 * contended:   the LockSpeedTest of WebKit / Rust parking_lot: T threads loop
 *                  { lock; `in` steps on the shared value; unlock; `out` steps on a private one }
 *              for a fixed duration; ops = critical sections completed.
 * Both count their critical sections in a plain counter inside the lock and abort if it does not
 * match the ops they report: a broken lock must never post a fast number. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

/* ---- helpers ---- */

uint64_t pb_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void pb_fatal(const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fputs("pl-bench: FATAL: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

static void sleep_until(uint64_t deadline)
{
    for (uint64_t now = pb_now_ns(); now < deadline; now = pb_now_ns()) {
        uint64_t left = deadline - now;
        struct timespec ts = {(time_t)(left / 1000000000u), (long)(left % 1000000000u)};
        nanosleep(&ts, NULL); /* EINTR: loop */
    }
}

/* A hung run (a lock that lost a wake-up) ends the program with a message instead of hanging. */
static void on_watchdog(int sig)
{
    static const char msg[] = "pl-bench: FATAL: watchdog: a run did not finish in time "
                              "(lost wake-up or deadlock in the lock under test?)\n";
    (void)sig;
    ssize_t ignored = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)ignored;
    _exit(3);
}

static void watchdog_arm(uint64_t duration_ns)
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
    alarm((unsigned)(duration_ns / 1000000000u) + 60);
}

static void watchdog_disarm(void) { alarm(0); }

/* The lock and its data, alone on PB_CELL_BYTES of memory. */
typedef struct cell {
    unsigned char *mem;
    void *lock;
    pb_shared_t *shared;
} cell_t;

static cell_t cell_new(const pb_contender_t *c)
{
    size_t off = (c->bytes + _Alignof(pb_shared_t) - 1) / _Alignof(pb_shared_t) *
                 _Alignof(pb_shared_t);
    if (c->bytes > PB_MAX_LOCK_BYTES || off + sizeof(pb_shared_t) > PB_CELL_BYTES)
        pb_fatal("%s: lock of %zu bytes does not fit a cell", c->name, c->bytes);
    cell_t cell;
    cell.mem = aligned_alloc(PB_CELL_BYTES, PB_CELL_BYTES);
    if (!cell.mem)
        pb_fatal("out of memory");
    memset(cell.mem, 0xa5, PB_CELL_BYTES); /* init must not rely on zeroed memory */
    cell.lock = cell.mem;
    cell.shared = (pb_shared_t *)(void *)(cell.mem + off);
    cell.shared->value = 0.0;
    cell.shared->counter = 0;
    c->init(cell.lock);
    return cell;
}

static void cell_free(const pb_contender_t *c, cell_t *cell)
{
    c->destroy(cell->lock);
    free(cell->mem);
}

static void verify(const pb_contender_t *c, const char *what, uint64_t counted, uint64_t ops)
{
    if (counted != ops)
        pb_fatal("%s, %s: critical-section counter is %llu but threads report %llu ops: the "
                 "lock let two threads in at once", c->name, what, (unsigned long long)counted,
                 (unsigned long long)ops);
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

/* ---- uncontended ---- */

enum { UNCONTENDED_BATCH = 1 << 16 };

pb_result_t pb_run_uncontended(const pb_contender_t *c, uint64_t duration_ns)
{
    cell_t cell = cell_new(c);
    c->pairs(cell.lock, cell.shared, UNCONTENDED_BATCH); /* warm up */
    uint64_t ops = 0, start = pb_now_ns(), now;
    do {
        c->pairs(cell.lock, cell.shared, UNCONTENDED_BATCH);
        ops += UNCONTENDED_BATCH;
        now = pb_now_ns();
    } while (now - start < duration_ns);
    verify(c, "uncontended", cell.shared->counter, ops + UNCONTENDED_BATCH);
    cell_free(c, &cell);
    pb_result_t r = {(double)(now - start) / (double)ops, 1.0, ops};
    return r;
}

/* ---- contended (LockSpeedTest) ---- */

typedef struct slot {
    _Alignas(PB_CELL_BYTES) uint64_t ops;
    double value;
} slot_t;

typedef struct speed_test {
    const pb_contender_t *c;
    cell_t cell;
    unsigned in, out;
    atomic_bool stop;
    pthread_mutex_t gate_mutex; /* start gate: every thread ready before the clock starts */
    pthread_cond_t gate_cond;
    unsigned ready;
    int go;
    slot_t *slots;
} speed_test_t;

typedef struct worker_arg {
    speed_test_t *t;
    unsigned index;
} worker_arg_t;

static void *speed_worker(void *p)
{
    worker_arg_t *arg = p;
    speed_test_t *t = arg->t;
    const pb_contender_t *c = t->c;
    void *lock = t->cell.lock;
    pb_shared_t *shared = t->cell.shared;
    const unsigned in = t->in, out = t->out;
    double value = 0.0, local = 0.0;
    uint64_t ops = 0;

    pthread_mutex_lock(&t->gate_mutex);
    t->ready++;
    pthread_cond_broadcast(&t->gate_cond);
    while (!t->go)
        pthread_cond_wait(&t->gate_cond, &t->gate_mutex);
    pthread_mutex_unlock(&t->gate_mutex);

    while (!atomic_load_explicit(&t->stop, memory_order_relaxed)) {
        c->lock(lock);
        double s = shared->value;
        for (unsigned i = 0; i < in; i++) {
            s += value;
            s *= 1.01;
            value = s;
        }
        shared->value = s;
        shared->counter++;
        c->unlock(lock);
        for (unsigned i = 0; i < out; i++) {
            local += value;
            local *= 1.01;
            value = local;
        }
        ops++;
    }
    t->slots[arg->index].ops = ops;
    t->slots[arg->index].value = value; /* keeps the private work alive */
    return NULL;
}

pb_result_t pb_run_contended(const pb_contender_t *c, unsigned threads, unsigned in,
                             unsigned out, uint64_t duration_ns)
{
    speed_test_t t;
    memset(&t, 0, sizeof t);
    t.c = c;
    t.cell = cell_new(c);
    t.in = in;
    t.out = out;
    atomic_init(&t.stop, false);
    pthread_mutex_init(&t.gate_mutex, NULL);
    pthread_cond_init(&t.gate_cond, NULL);
    t.slots = aligned_alloc(PB_CELL_BYTES, sizeof(slot_t) * threads);
    pthread_t *tids = calloc(threads, sizeof *tids);
    worker_arg_t *args = calloc(threads, sizeof *args);
    if (!t.slots || !tids || !args)
        pb_fatal("out of memory");
    memset(t.slots, 0, sizeof(slot_t) * threads);

    watchdog_arm(duration_ns);
    for (unsigned i = 0; i < threads; i++) {
        args[i].t = &t;
        args[i].index = i;
        int rc = pthread_create(&tids[i], NULL, speed_worker, &args[i]);
        if (rc != 0)
            pb_fatal("pthread_create: %s", strerror(rc));
    }
    pthread_mutex_lock(&t.gate_mutex);
    while (t.ready < threads)
        pthread_cond_wait(&t.gate_cond, &t.gate_mutex);
    t.go = 1;
    uint64_t start = pb_now_ns();
    pthread_cond_broadcast(&t.gate_cond);
    pthread_mutex_unlock(&t.gate_mutex);

    sleep_until(start + duration_ns);
    atomic_store_explicit(&t.stop, true, memory_order_relaxed);
    uint64_t elapsed = pb_now_ns() - start;
    for (unsigned i = 0; i < threads; i++)
        pthread_join(tids[i], NULL);
    watchdog_disarm();

    uint64_t total = 0, min = UINT64_MAX, max = 0;
    for (unsigned i = 0; i < threads; i++) {
        uint64_t ops = t.slots[i].ops;
        total += ops;
        min = ops < min ? ops : min;
        max = ops > max ? ops : max;
    }
    char what[64];
    snprintf(what, sizeof what, "%u threads, (in,out)=(%u,%u)", threads, in, out);
    verify(c, what, t.cell.shared->counter, total);
    cell_free(c, &t.cell);
    pthread_cond_destroy(&t.gate_cond);
    pthread_mutex_destroy(&t.gate_mutex);
    free(args);
    free(tids);
    free(t.slots);

    pb_result_t r;
    r.value = (double)total * 1e9 / (double)elapsed;
    r.fairness = max ? (double)min / (double)max : 0.0;
    r.ops = total;
    return r;
}
