/* pl-bench: the mutex workloads that use one lock.
 *
 * uncontended: one thread locks and unlocks one mutex in batches; ns per lock+unlock pair.
 * contended:   the LockSpeedTest of WebKit and Rust parking_lot: T threads loop
 *                  { lock; `in` steps on the shared value; unlock; `out` steps on a private one }
 *              for the run's duration; critical sections per second and fairness.
 * Both count their critical sections in a plain counter inside the lock and abort if it
 * disagrees with the threads' own counts: a broken lock must never post a fast number. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

/* The lock and what it protects share one 128-byte block (two cache lines, so adjacent-line
 * prefetch drags nothing else in): { lock; value; counter }, as in a user's struct. */
enum { CELL_BYTES = 128 };

typedef struct cell {
    unsigned char *mem;
    double *value;
    uint64_t *counter;
} cell_t;

static cell_t cell_new(const pb_mutex_ops_t *m)
{
    size_t off = (m->bytes + 7) & ~(size_t)7;
    if (off + 16 > CELL_BYTES)
        pb_fatal("%s: a %zu-byte lock does not fit a cell", m->name, m->bytes);
    cell_t c;
    c.mem = aligned_alloc(CELL_BYTES, CELL_BYTES);
    if (!c.mem)
        pb_fatal("out of memory");
    memset(c.mem, 0xa5, CELL_BYTES); /* init must not rely on zeroed memory */
    c.value = (double *)(void *)(c.mem + off);
    c.counter = (uint64_t *)(void *)(c.mem + off + 8);
    *c.value = 0.0;
    *c.counter = 0;
    m->init(c.mem, false);
    return c;
}

static void cell_free(const pb_mutex_ops_t *m, cell_t *c)
{
    m->destroy(c->mem);
    free(c->mem);
}

static const pb_mutex_ops_t *mutex_at(size_t k) { return pb_mutexes.items[k]; }

static size_t mutex_entries(pb_entry_t *e)
{
    for (size_t k = 0; k < pb_mutexes.count; k++) {
        e[k].name = mutex_at(k)->name;
        e[k].role = mutex_at(k)->role;
        e[k].bytes = mutex_at(k)->bytes;
    }
    return pb_mutexes.count;
}

/* ---- uncontended ---- */

enum { BATCH = 1 << 14 };

static void run_uncontended(void *ctx, size_t k, uint64_t duration_ns, pb_result_t *out)
{
    const pb_mutex_ops_t *m = mutex_at(k);
    (void)ctx;
    cell_t c = cell_new(m);
    m->pairs(c.mem, c.counter, BATCH); /* warm up: caches, branch predictors, lazy binding */
    uint64_t ops = 0, start = pb_now_ns(), now;
    do {
        m->pairs(c.mem, c.counter, BATCH);
        ops += BATCH;
        now = pb_now_ns();
    } while (now - start < duration_ns);
    if (*c.counter != ops + BATCH)
        pb_fatal("%s uncontended: counter %llu, expected %llu", m->name,
                 (unsigned long long)*c.counter, (unsigned long long)(ops + BATCH));
    cell_free(m, &c);
    out->value = (double)(now - start) / (double)ops;
}

void pb_wl_uncontended(const pb_suite_t *s)
{
    pb_entry_t e[16];
    size_t n = mutex_entries(e);
    pb_case_t cs = {
        .workload = "uncontended",
        .title = "uncontended lock+unlock, 1 thread (ns per pair, lower is better)",
        .unit = "ns/op",
        .lower_is_better = true,
    };
    (void)s;
    pb_measure(&cs, e, n, run_uncontended, NULL);
}

/* ---- contended (LockSpeedTest) ---- */

typedef struct speed_ctx {
    unsigned threads;
    pb_inout_t io;
} speed_ctx_t;

/* Per-thread arguments, each on its own cache lines so that the threads' result writes do not
 * disturb one another. */
typedef struct speed_slot {
    _Alignas(128) pb_speed_arg_t arg;
    const pb_mutex_ops_t *m;
    pb_gate_t *gate;
} speed_slot_t;

static void *speed_thread(void *p)
{
    speed_slot_t *slot = p;
    pb_gate_wait(slot->gate);
    slot->m->speed(&slot->arg);
    return NULL;
}

static void run_contended(void *ctx, size_t k, uint64_t duration_ns, pb_result_t *out)
{
    const speed_ctx_t *sc = ctx;
    const pb_mutex_ops_t *m = mutex_at(k);
    const unsigned n = sc->threads;
    cell_t c = cell_new(m);
    int stop = 0;
    pb_gate_t *gate = pb_gate_new();
    speed_slot_t *slots = aligned_alloc(128, sizeof(speed_slot_t) * n);
    if (!slots)
        pb_fatal("out of memory");
    memset(slots, 0, sizeof(speed_slot_t) * n);
    for (unsigned i = 0; i < n; i++) {
        slots[i].arg.lock = c.mem;
        slots[i].arg.shared_value = c.value;
        slots[i].arg.shared_counter = c.counter;
        slots[i].arg.in = sc->io.in;
        slots[i].arg.out = sc->io.out;
        slots[i].arg.stop = &stop;
        slots[i].m = m;
        slots[i].gate = gate;
    }
    pb_watchdog_arm(duration_ns);
    pb_team_t *team = pb_team_start(n, speed_thread, slots, sizeof *slots);
    uint64_t start = pb_gate_open(gate, n);
    pb_sleep_until(start + duration_ns);
    __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
    uint64_t elapsed = pb_now_ns() - start;
    pb_team_join(team);
    pb_watchdog_disarm();

    uint64_t total = 0, min = UINT64_MAX, max = 0;
    for (unsigned i = 0; i < n; i++) {
        uint64_t ops = slots[i].arg.ops;
        total += ops;
        min = ops < min ? ops : min;
        max = ops > max ? ops : max;
    }
    if (*c.counter != total)
        pb_fatal("%s, %u threads, (in,out)=(%u,%u): critical-section counter is %llu but the "
                 "threads report %llu: the lock let two threads in at once",
                 m->name, n, sc->io.in, sc->io.out, (unsigned long long)*c.counter,
                 (unsigned long long)total);
    cell_free(m, &c);
    pb_gate_free(gate);
    free(slots);
    out->value = (double)total * 1e9 / (double)elapsed;
    out->fairness = max ? (double)min / (double)max : 0.0;
}

void pb_wl_contended(const pb_suite_t *s)
{
    pb_entry_t e[16];
    size_t n = mutex_entries(e);
    for (size_t i = 0; i < s->ninouts; i++) {
        pb_inout_t io = s->inouts[i];
        for (size_t t = 0; t < s->nthreads; t++) {
            speed_ctx_t ctx = {s->threads[t], io};
            pb_case_t cs = {
                .workload = "contended",
                .title = "contended throughput, LockSpeedTest (critical sections/s, all "
                         "threads; fairness = min/max per-thread ops)",
                .threads = s->threads[t],
                .unit = "ops/s",
            };
            snprintf(cs.config, sizeof cs.config, "(%u,%u)", io.in, io.out);
            pb_measure(&cs, e, n, run_contended, &ctx);
        }
    }
}
