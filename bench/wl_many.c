/* pl-bench: many locks.  One array of a million entries { lock; uint32_t counter } in fresh
 * zeroed pages from mmap; T threads lock random entries and bump their counters.  The figure is
 * ops/s, and beside it the memory the array occupies (its resident pages after the run, by
 * mincore), so the cost of a 40-byte lock shows up both in cache misses and in MiB. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

typedef struct many_ctx {
    unsigned threads;
    size_t count;
} many_ctx_t;

typedef struct many_slot {
    _Alignas(128) pb_many_arg_t arg;
    const pb_mutex_ops_t *m;
    pb_gate_t *gate;
} many_slot_t;

static const pb_mutex_ops_t *mutex_at(size_t k) { return pb_mutexes.items[k]; }

static size_t round_up(size_t x, size_t a) { return (x + a - 1) / a * a; }

static void *many_thread(void *p)
{
    many_slot_t *slot = p;
    pb_gate_wait(slot->gate);
    slot->m->many(&slot->arg);
    return NULL;
}

static void run_many(void *ctx, size_t k, uint64_t duration_ns, pb_result_t *out)
{
    const many_ctx_t *mc = ctx;
    const pb_mutex_ops_t *m = mutex_at(k);
    const unsigned n = mc->threads;
    /* { lock; counter } as a C struct would lay it out. */
    size_t align = m->align > 4 ? m->align : 4;
    size_t off = round_up(m->bytes, 4);
    size_t stride = round_up(off + 4, align);
    size_t bytes = stride * mc->count;
    unsigned char *base = pb_map(bytes);
    /* Fault every page in before the clock starts: the run measures locking in steady state,
     * not first-touch page faults (which would otherwise charge the locks that need no
     * initialisation, and leave the others' pages already faulted by their init). */
    memset(base, 0, bytes);
    for (size_t i = 0; i < mc->count; i++)
        m->init(base + i * stride, true);

    int stop = 0;
    pb_gate_t *gate = pb_gate_new();
    many_slot_t *slots = aligned_alloc(128, sizeof(many_slot_t) * n);
    if (!slots)
        pb_fatal("out of memory");
    memset(slots, 0, sizeof(many_slot_t) * n);
    for (unsigned i = 0; i < n; i++) {
        slots[i].arg.base = base;
        slots[i].arg.stride = stride;
        slots[i].arg.counter_offset = off;
        slots[i].arg.count = mc->count;
        slots[i].arg.seed = 0x9e3779b97f4a7c15ull * (i + 1) + k; /* never 0 */
        slots[i].arg.stop = &stop;
        slots[i].m = m;
        slots[i].gate = gate;
    }
    pb_watchdog_arm(duration_ns);
    pb_team_t *team = pb_team_start(n, many_thread, slots, sizeof *slots);
    uint64_t start = pb_gate_open(gate, n);
    pb_sleep_until(start + duration_ns);
    __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
    uint64_t elapsed = pb_now_ns() - start;
    pb_team_join(team);
    pb_watchdog_disarm();

    size_t resident = pb_resident_bytes(base, bytes);
    uint64_t total = 0, counted = 0, min = UINT64_MAX, max = 0;
    for (unsigned i = 0; i < n; i++) {
        uint64_t ops = slots[i].arg.ops;
        total += ops;
        min = ops < min ? ops : min;
        max = ops > max ? ops : max;
    }
    for (size_t i = 0; i < mc->count; i++) {
        counted += *(uint32_t *)(void *)(base + i * stride + off);
        m->destroy(base + i * stride);
    }
    if (counted != total)
        pb_fatal("%s, many locks, %u threads: the counters add up to %llu but the threads "
                 "report %llu: a lock let two threads in at once",
                 m->name, n, (unsigned long long)counted, (unsigned long long)total);
    pb_unmap(base, bytes);
    pb_gate_free(gate);
    free(slots);
    out->value = (double)total * 1e9 / (double)elapsed;
    out->fairness = max ? (double)min / (double)max : 0.0;
    out->extra = (double)resident / (1024.0 * 1024.0);
}

void pb_wl_many(const pb_suite_t *s)
{
    pb_entry_t e[16];
    for (size_t k = 0; k < pb_mutexes.count; k++) {
        e[k].name = mutex_at(k)->name;
        e[k].role = mutex_at(k)->role;
        e[k].bytes = mutex_at(k)->bytes;
    }
    for (size_t t = 0; t < s->nmany_threads; t++) {
        many_ctx_t ctx = {s->many_threads[t], s->many_locks};
        pb_case_t cs = {
            .workload = "many",
            .title = "many locks: random entries of one array of { lock; uint32_t counter } "
                     "(ops/s; MiB = resident memory of the array)",
            .threads = s->many_threads[t],
            .unit = "ops/s",
            .extra_label = "MiB",
        };
        if (s->many_locks % 1000000 == 0)
            snprintf(cs.config, sizeof cs.config, "%zuM locks", s->many_locks / 1000000);
        else
            snprintf(cs.config, sizeof cs.config, "%zu locks", s->many_locks);
        pb_measure(&cs, e, pb_mutexes.count, run_many, &ctx);
    }
}
