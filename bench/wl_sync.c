/* pl-bench: the small primitives of parking/{semaphore,barrier,latch,event}.h against their
 * POSIX / pthread equivalents: sem_t, pthread_barrier_t, and a count or flag guarded by a
 * pthread mutex and waited for on a condvar (what code without a latch or event type writes).
 * Ours are reached as the others are, one out-of-line call per operation (calls_parking.h).
 *
 * sem-pingpong: two threads hand a turn back and forth through two semaphores (round trips/s).
 * barrier:      T threads go through phases together, one completion per phase (phases/s).
 * latch:        T threads go through a sequence of fresh latches of count T, each counting
 *               down and waiting on each (latches/s).
 * event:        T threads go through a sequence of fresh events; event i is set by thread
 *               i mod T once it has seen event i - 1, and every thread waits for every event
 *               (events/s: one thread wakes T - 1 each time).
 * Verified: the semaphores end at zero with every turn taken; one completion (serial thread) per
 * phase; every latch at zero and every event set when the run ends.
 *
 * These run at a third of the preset's run length (at least 20 ms), so that the four add little
 * to a --quick run.  Each run does a fixed number of operations (every thread must go through the
 * same sequence), sized at 20 to 50 us per operation, so a run on a busy machine takes longer
 * than its nominal length (a --quick run of this workload took 20 s of wall time with a load
 * average of 35 on 2 CPUs before these sizes, which were 5 to 10 us). */
#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>
#include <string.h>

#include <parking/barrier.h>
#include <parking/event.h>
#include <parking/latch.h>
#include <parking/semaphore.h>

#include "bench.h"
#include "calls_parking.h"

#define CHECK0(call)                                                                               \
  do {                                                                                             \
    if ((call) != 0)                                                                               \
      pb_fatal("%s failed", #call);                                                                \
  } while (0)

enum { OURS, PTHREAD, CONTENDERS };

#ifndef __APPLE__
static const char *const sem_names[CONTENDERS] = {"pl_sem_t", "POSIX sem_t"};
static const char *const barrier_names[CONTENDERS] = {"pl_barrier_t", "pthread_barrier_t"};
#endif
static const char *const latch_names[CONTENDERS] = {"pl_latch_t", "pthread mutex+cond latch"};
static const char *const event_names[CONTENDERS] = {"pl_event_t", "pthread mutex+cond event"};

/* The pthread latch and event: a count or a flag under a mutex, waited for on a condvar. */
typedef struct pt_latch {
    pthread_mutex_t m;
    pthread_cond_t c;
    unsigned count;
} pt_latch_t;

static size_t entries(pb_entry_t *e, const char *const *names, size_t ours, size_t theirs)
{
    e[OURS] = (pb_entry_t){names[OURS], PB_OURS, ours};
    e[PTHREAD] = (pb_entry_t){names[PTHREAD], PB_BASELINE, theirs};
    return CONTENDERS;
}

/* Objects sized so that a run takes about its duration at `ns_each` per object. */
static size_t sized(uint64_t duration_ns, uint64_t ns_each)
{
    uint64_t n = duration_ns / ns_each;
    return n < 256 ? 256 : n > (1u << 18) ? (1u << 18) : (size_t)n;
}

/* ---- semaphore ping-pong ---- */

/* macOS has neither unnamed POSIX semaphores (sem_init is deprecated there and fails with
 * ENOSYS) nor pthread barriers: those two rows are left out of its pl-bench. */
#ifndef __APPLE__
typedef struct sem_run {
    size_t k, trips;
    pl_sem_t pl[2];
    sem_t px[2];
    pb_gate_t *gate;
} sem_run_t;

static void sem_post_k(sem_run_t *r, int i)
{
    if (r->k == OURS)
        CHECK0(pb_call_pl_sem_post(&r->pl[i]));
    else
        CHECK0(sem_post(&r->px[i]));
}

static void sem_wait_k(sem_run_t *r, int i)
{
    if (r->k == OURS)
        pb_call_pl_sem_wait(&r->pl[i]);
    else
        while (sem_wait(&r->px[i]) != 0) {
        }
}

typedef struct sem_arg {
    sem_run_t *r;
    int side;
} sem_arg_t;

static void *sem_side(void *p)
{
    sem_arg_t *a = p;
    sem_run_t *r = a->r;
    pb_gate_wait(r->gate);
    for (size_t i = 0; i < r->trips; i++) {
        if (a->side == 0) {
            sem_post_k(r, 0);
            sem_wait_k(r, 1);
        } else {
            sem_wait_k(r, 0);
            sem_post_k(r, 1);
        }
    }
    return NULL;
}

static void run_sem(void *ctx, size_t k, uint64_t duration_ns, pb_result_t *out)
{
    (void)ctx;
    sem_run_t r;
    memset(&r, 0, sizeof r);
    r.k = k;
    r.trips = sized(duration_ns, 20000);
    if (k == PTHREAD) {
        CHECK0(sem_init(&r.px[0], 0, 0));
        CHECK0(sem_init(&r.px[1], 0, 0));
    }
    r.gate = pb_gate_new();
    sem_arg_t args[2] = {{&r, 0}, {&r, 1}};
    pb_watchdog_arm(duration_ns * 20);
    pb_team_t *team = pb_team_start(2, sem_side, args, sizeof args[0]);
    uint64_t start = pb_gate_open(r.gate, 2);
    pb_team_join(team);
    uint64_t elapsed = pb_now_ns() - start;
    pb_watchdog_disarm();
    if (k == OURS) {
        if (r.pl[0].state != 0 || r.pl[1].state != 0)
            pb_fatal("pl_sem_t: permits left after the ping-pong");
    } else {
        int v0, v1;
        CHECK0(sem_getvalue(&r.px[0], &v0));
        CHECK0(sem_getvalue(&r.px[1], &v1));
        if (v0 != 0 || v1 != 0)
            pb_fatal("sem_t: permits left after the ping-pong");
        CHECK0(sem_destroy(&r.px[0]));
        CHECK0(sem_destroy(&r.px[1]));
    }
    pb_gate_free(r.gate);
    out->value = (double)r.trips * 1e9 / (double)elapsed;
}

/* ---- barrier phases ---- */

typedef struct barrier_run {
    size_t k, phases;
    pl_barrier_t pl;
    pthread_barrier_t px;
    size_t completions; /* ours: by the completion step; pthread: by the serial thread */
    pb_gate_t *gate;
} barrier_run_t;

static void count_completion(void *arg) { ((barrier_run_t *)arg)->completions++; }

static void *barrier_thread(void *p)
{
    barrier_run_t *r = *(barrier_run_t **)p;
    pb_gate_wait(r->gate);
    for (size_t i = 0; i < r->phases; i++) {
        if (r->k == OURS) {
            (void)pb_call_pl_barrier_arrive_and_wait(&r->pl, count_completion, r);
        } else {
            int rc = pthread_barrier_wait(&r->px);
            if (rc == PTHREAD_BARRIER_SERIAL_THREAD)
                r->completions++; /* the others are held until every thread has arrived */
            else if (rc != 0)
                pb_fatal("pthread_barrier_wait failed");
        }
    }
    return NULL;
}

static void run_barrier(void *ctx, size_t k, uint64_t duration_ns, pb_result_t *out)
{
    const unsigned n = *(const unsigned *)ctx;
    barrier_run_t r;
    memset(&r, 0, sizeof r);
    r.k = k;
    r.phases = sized(duration_ns, 50000);
    if (k == OURS)
        CHECK0(pl_barrier_init(&r.pl, n));
    else
        CHECK0(pthread_barrier_init(&r.px, NULL, n));
    r.gate = pb_gate_new();
    barrier_run_t *self[64];
    for (unsigned i = 0; i < n; i++)
        self[i] = &r;
    pb_watchdog_arm(duration_ns * 20);
    pb_team_t *team = pb_team_start(n, barrier_thread, self, sizeof self[0]);
    uint64_t start = pb_gate_open(r.gate, n);
    pb_team_join(team);
    uint64_t elapsed = pb_now_ns() - start;
    pb_watchdog_disarm();
    /* pthread's serial thread counts after the phase, racing with nobody: the next phase needs
     * it to arrive again first. */
    if (r.completions != r.phases)
        pb_fatal("%s: %zu completions for %zu phases", barrier_names[k], r.completions, r.phases);
    if (k == PTHREAD)
        CHECK0(pthread_barrier_destroy(&r.px));
    pb_gate_free(r.gate);
    out->value = (double)r.phases * 1e9 / (double)elapsed;
}
#endif /* !__APPLE__ */

/* ---- latches and events: a sequence of fresh objects ---- */

typedef struct seq_run {
    size_t k, count;
    unsigned threads;
    void *objs;
    pb_gate_t *gate;
} seq_run_t;

typedef struct seq_arg {
    seq_run_t *r;
    unsigned index;
} seq_arg_t;

static void *latch_thread(void *p)
{
    seq_arg_t *a = p;
    seq_run_t *r = a->r;
    pb_gate_wait(r->gate);
    for (size_t i = 0; i < r->count; i++) {
        if (r->k == OURS) {
            pb_call_pl_latch_arrive_and_wait(&((pl_latch_t *)r->objs)[i], 1);
        } else {
            pt_latch_t *l = &((pt_latch_t *)r->objs)[i];
            pthread_mutex_lock(&l->m);
            if (--l->count == 0)
                pthread_cond_broadcast(&l->c);
            while (l->count != 0)
                pthread_cond_wait(&l->c, &l->m);
            pthread_mutex_unlock(&l->m);
        }
    }
    return NULL;
}

static void *event_thread(void *p)
{
    seq_arg_t *a = p;
    seq_run_t *r = a->r;
    pb_gate_wait(r->gate);
    for (size_t i = 0; i < r->count; i++) {
        if (r->k == OURS) {
            pl_event_t *e = &((pl_event_t *)r->objs)[i];
            if (i % r->threads == a->index)
                pb_call_pl_event_set(e);
            else
                pb_call_pl_event_wait(e);
        } else {
            pt_latch_t *e = &((pt_latch_t *)r->objs)[i]; /* count 0: not set, 1: set */
            pthread_mutex_lock(&e->m);
            if (i % r->threads == a->index) {
                e->count = 1;
                pthread_cond_broadcast(&e->c);
            }
            while (e->count == 0)
                pthread_cond_wait(&e->c, &e->m);
            pthread_mutex_unlock(&e->m);
        }
    }
    return NULL;
}

static void run_seq(seq_run_t *r, void *(*fn)(void *), uint64_t duration_ns, pb_result_t *out)
{
    seq_arg_t args[64];
    for (unsigned i = 0; i < r->threads; i++)
        args[i] = (seq_arg_t){r, i};
    r->gate = pb_gate_new();
    pb_watchdog_arm(duration_ns * 20);
    pb_team_t *team = pb_team_start(r->threads, fn, args, sizeof args[0]);
    uint64_t start = pb_gate_open(r->gate, r->threads);
    pb_team_join(team);
    uint64_t elapsed = pb_now_ns() - start;
    pb_watchdog_disarm();
    pb_gate_free(r->gate);
    out->value = (double)r->count * 1e9 / (double)elapsed;
}

static void *seq_alloc(seq_run_t *r, unsigned initial)
{
    if (r->k == OURS)
        return pb_xcalloc(r->count, sizeof(uint32_t)); /* latches set below; events zeroed */
    pt_latch_t *l = pb_xcalloc(r->count, sizeof *l);
    for (size_t i = 0; i < r->count; i++) {
        CHECK0(pthread_mutex_init(&l[i].m, NULL));
        CHECK0(pthread_cond_init(&l[i].c, NULL));
        l[i].count = initial;
    }
    return l;
}

static void seq_free(seq_run_t *r, unsigned expect_ours, unsigned expect_pthread, const char *name)
{
    for (size_t i = 0; i < r->count; i++) {
        if (r->k == OURS) {
            uint32_t v = ((uint32_t *)r->objs)[i];
            if (v != expect_ours)
                pb_fatal("%s %zu ended as 0x%x", name, i, v);
        } else {
            pt_latch_t *l = &((pt_latch_t *)r->objs)[i];
            if (l->count != expect_pthread)
                pb_fatal("%s %zu ended with %u", name, i, l->count);
            CHECK0(pthread_cond_destroy(&l->c));
            CHECK0(pthread_mutex_destroy(&l->m));
        }
    }
    free(r->objs);
}

static void run_latch(void *ctx, size_t k, uint64_t duration_ns, pb_result_t *out)
{
    seq_run_t r = {.k = k, .threads = *(const unsigned *)ctx};
    r.count = sized(duration_ns, 50000);
    r.objs = seq_alloc(&r, r.threads);
    if (k == OURS)
        for (size_t i = 0; i < r.count; i++)
            CHECK0(pl_latch_init(&((pl_latch_t *)r.objs)[i], r.threads));
    run_seq(&r, latch_thread, duration_ns, out);
    seq_free(&r, 0, 0, latch_names[k]);
}

static void run_event(void *ctx, size_t k, uint64_t duration_ns, pb_result_t *out)
{
    seq_run_t r = {.k = k, .threads = *(const unsigned *)ctx};
    r.count = sized(duration_ns, 20000);
    r.objs = seq_alloc(&r, 0);
    run_seq(&r, event_thread, duration_ns, out);
    seq_free(&r, PL_EVENT_SET_BIT, 1, event_names[k]);
}

void pb_wl_sync(const pb_suite_t *s)
{
    unsigned threads = s->once_threads;
    if (threads < 2)
        threads = 2;
    if (threads > 64)
        threads = 64;
    unsigned full = pb_measure_set_duration_ms(0);
    (void)pb_measure_set_duration_ms(full / 3 < 20 ? 20 : full / 3);
    pb_entry_t e[CONTENDERS];

#ifndef __APPLE__
    pb_case_t sem = {
        .workload = "sync",
        .title = "semaphore: two threads hand a turn back and forth (round trips/s)",
        .config = "pingpong",
        .unit = "trips/s",
    };
    pb_measure(&sem, e, entries(e, sem_names, sizeof(pl_sem_t), sizeof(sem_t)), run_sem, NULL);

    pb_case_t bar = {
        .workload = "sync",
        .title = "barrier: T threads through phases, one completion each (phases/s)",
        .config = "phases",
        .threads = threads,
        .unit = "phases/s",
    };
    pb_measure(&bar, e, entries(e, barrier_names, sizeof(pl_barrier_t), sizeof(pthread_barrier_t)),
               run_barrier, &threads);
#endif

    pb_case_t lat = {
        .workload = "sync",
        .title =
            "latch: T threads count down and wait on each of a sequence of latches (latches/s)",
        .config = "fresh latches",
        .threads = threads,
        .unit = "latches/s",
    };
    pb_measure(&lat, e, entries(e, latch_names, sizeof(pl_latch_t), sizeof(pt_latch_t)), run_latch,
               &threads);

    pb_case_t ev = {
        .workload = "sync",
        .title = "event: one of T threads sets each of a sequence of events, the rest wait "
                 "(events/s)",
        .config = "fresh events",
        .threads = threads,
        .unit = "events/s",
    };
    pb_measure(&ev, e, entries(e, event_names, sizeof(pl_event_t), sizeof(pt_latch_t)), run_event,
               &threads);
    (void)pb_measure_set_duration_ms(full);
}
