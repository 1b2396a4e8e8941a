/* pl-bench: one-time initialisation, pl_call_once against pthread_once.
 *
 * done:      the call every user of a lazily initialised object makes after the first: ns per
 *            call on a once that is already done (inline for pl_call_once).
 * contended: T threads call once on the same sequence of fresh onces, in order; the first to
 *            arrive runs an initialiser of about a microsecond while the others wait for it.
 *            Onces completed per second.  Verified: every initialiser ran exactly once, and every
 *            caller saw its result on return. */
#include <stdlib.h>
#include <string.h>

#include "bench.h"

static const pb_once_ops_t *once_at(size_t k) { return pb_onces.items[k]; }

static size_t once_entries(pb_entry_t *e)
{
    for (size_t k = 0; k < pb_onces.count; k++) {
        e[k].name = once_at(k)->name;
        e[k].role = once_at(k)->role;
        e[k].bytes = once_at(k)->bytes;
    }
    return pb_onces.count;
}

/* ---- done fast path ---- */

enum { FAST_BATCH = 1 << 16 };

static void run_fast(void *ctx, size_t k, uint64_t duration_ns, pb_result_t *out)
{
    const pb_once_ops_t *o = once_at(k);
    uint64_t calls = 0, start = pb_now_ns(), now;
    (void)ctx;
    do {
        /* The initialiser counts its runs and every call adds the count: exactly n. */
        if (o->fast(FAST_BATCH) != FAST_BATCH)
            pb_fatal("%s: the initialiser ran more than once", o->name);
        calls += FAST_BATCH;
        now = pb_now_ns();
    } while (now - start < duration_ns);
    out->value = (double)(now - start) / (double)calls;
}

/* ---- contended first call ---- */

/* pthread_once's initialiser takes no argument: the caller names its once in a thread-local,
 * which only the thread that runs the initialiser reads. */
static _Thread_local size_t current;
static uint32_t *runs;    /* initialiser runs per once */
static uint64_t *results; /* what each initialiser wrote */

static void initialiser(void)
{
    size_t i = current;
    __atomic_fetch_add(&runs[i], 1, __ATOMIC_RELAXED);
    /* About a microsecond of work, so that the other callers really wait. */
    double v = 1.0, acc = (double)i;
    for (unsigned j = 0; j < 250; j++)
        acc += v, acc *= 1.0001, v = acc;
    results[i] = (uint64_t)i + 1 + (acc < 0); /* (acc < 0) is 0; keeps the work alive */
}

typedef struct once_run {
    const pb_once_ops_t *o;
    void *onces;
    size_t count;
    pb_gate_t *gate;
} once_run_t;

static void *once_thread(void *p)
{
    once_run_t *r = p;
    pb_gate_wait(r->gate);
    for (size_t i = 0; i < r->count; i++) {
        current = i;
        r->o->call(r->onces, i, initialiser);
        if (results[i] != i + 1)
            pb_fatal("%s: returned before the initialiser of once %zu finished", r->o->name, i);
    }
    return NULL;
}

static void run_contended(void *ctx, size_t k, uint64_t duration_ns, pb_result_t *out)
{
    const unsigned n = *(const unsigned *)ctx;
    once_run_t r;
    r.o = once_at(k);
    /* Sized so that a run takes about its duration at ~2 us per once. */
    r.count = (size_t)(duration_ns / 2000);
    r.count = r.count < 256 ? 256 : r.count > (1u << 20) ? (1u << 20) : r.count;
    r.onces = r.o->alloc(r.count);
    r.gate = pb_gate_new();
    runs = pb_xcalloc(r.count, sizeof *runs);
    results = pb_xcalloc(r.count, sizeof *results);

    pb_watchdog_arm(duration_ns * 4);
    /* Every thread gets the same once_run_t. */
    pb_team_t *team = pb_team_start(n, once_thread, &r, 0);
    uint64_t start = pb_gate_open(r.gate, n);
    pb_team_join(team);
    uint64_t elapsed = pb_now_ns() - start;
    pb_watchdog_disarm();

    for (size_t i = 0; i < r.count; i++)
        if (runs[i] != 1)
            pb_fatal("%s: the initialiser of once %zu ran %u times", r.o->name, i, runs[i]);
    free(runs);
    free(results);
    free(r.onces);
    pb_gate_free(r.gate);
    out->value = (double)r.count * 1e9 / (double)elapsed;
}

void pb_wl_once(const pb_suite_t *s)
{
    pb_entry_t e[16];
    size_t n = once_entries(e);
    pb_case_t fast = {
        .workload = "once",
        .title = "once: call on a done once (ns per call, lower is better)",
        .config = "done",
        .unit = "ns/call",
        .lower_is_better = true,
    };
    pb_measure(&fast, e, n, run_fast, NULL);
    unsigned threads = s->once_threads;
    pb_case_t first = {
        .workload = "once",
        .title = "once: T threads race through fresh onces, ~1 us initialiser (onces/s)",
        .config = "first call",
        .threads = threads,
        .unit = "onces/s",
    };
    pb_measure(&first, e, n, run_contended, &threads);
}
