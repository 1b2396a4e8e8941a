/* pl-bench: read-write locks at 90% and 99% reads.  T threads each pick, per operation, a read
 * (with the given probability) or a write; writes bump two words one after the other with work
 * in between, reads load both with the same work in between and count a "torn" read if they
 * differ (a writer was inside with them).  Ops/s counts reads and writes; the run aborts if any
 * read was torn or the written words disagree with the writes the threads report. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

typedef struct rw_ctx {
    unsigned threads, read_per_mille;
} rw_ctx_t;

typedef struct rw_slot {
    _Alignas(128) pb_rw_arg_t arg;
    const pb_rwlock_ops_t *r;
    pb_gate_t *gate;
} rw_slot_t;

static const pb_rwlock_ops_t *rw_at(size_t k) { return pb_rwlocks.items[k]; }

static void *rw_thread(void *p)
{
    rw_slot_t *slot = p;
    pb_gate_wait(slot->gate);
    slot->r->run(&slot->arg);
    return NULL;
}

enum { CELL_BYTES = 128 };

static void run_rw(void *ctx, size_t k, uint64_t duration_ns, pb_result_t *out)
{
    const rw_ctx_t *rc = ctx;
    const pb_rwlock_ops_t *r = rw_at(k);
    const unsigned n = rc->threads;
    /* { lock; pair } in one 128-byte block, as in wl_mutex.c. */
    unsigned char *cell = aligned_alloc(CELL_BYTES, CELL_BYTES);
    if (!cell)
        pb_fatal("out of memory");
    memset(cell, 0xa5, CELL_BYTES);
    size_t off = (r->bytes + 7) & ~(size_t)7;
    if (off + 16 > CELL_BYTES)
        pb_fatal("%s: lock too large for a cell", r->name);
    uint64_t *pair = (uint64_t *)(void *)(cell + off);
    pair[0] = pair[1] = 0;
    r->init(cell);

    int stop = 0;
    pb_gate_t *gate = pb_gate_new();
    rw_slot_t *slots = aligned_alloc(128, sizeof(rw_slot_t) * n);
    if (!slots)
        pb_fatal("out of memory");
    memset(slots, 0, sizeof(rw_slot_t) * n);
    for (unsigned i = 0; i < n; i++) {
        slots[i].arg.lock = cell;
        slots[i].arg.pair = pair;
        slots[i].arg.read_per_mille = rc->read_per_mille;
        slots[i].arg.seed = 0x2545f4914f6cdd1dull * (i + 1) + k;
        slots[i].arg.stop = &stop;
        slots[i].r = r;
        slots[i].gate = gate;
    }
    pb_watchdog_arm(duration_ns);
    pb_team_t *team = pb_team_start(n, rw_thread, slots, sizeof *slots);
    uint64_t start = pb_gate_open(gate, n);
    pb_sleep_until(start + duration_ns);
    __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
    uint64_t elapsed = pb_now_ns() - start;
    pb_team_join(team);
    pb_watchdog_disarm();

    uint64_t reads = 0, writes = 0, torn = 0, min = UINT64_MAX, max = 0;
    for (unsigned i = 0; i < n; i++) {
        uint64_t ops = slots[i].arg.reads + slots[i].arg.writes;
        reads += slots[i].arg.reads;
        writes += slots[i].arg.writes;
        torn += slots[i].arg.torn;
        min = ops < min ? ops : min;
        max = ops > max ? ops : max;
    }
    if (torn || pair[0] != writes || pair[1] != writes)
        pb_fatal("%s, %u threads, %u/1000 reads: %llu torn reads, words %llu/%llu for %llu "
                 "writes: the lock let a writer in with others",
                 r->name, n, rc->read_per_mille, (unsigned long long)torn,
                 (unsigned long long)pair[0], (unsigned long long)pair[1],
                 (unsigned long long)writes);
    r->destroy(cell);
    free(cell);
    pb_gate_free(gate);
    free(slots);
    out->value = (double)(reads + writes) * 1e9 / (double)elapsed;
    out->fairness = max ? (double)min / (double)max : 0.0;
}

void pb_wl_rwlock(const pb_suite_t *s)
{
    pb_entry_t e[16];
    for (size_t k = 0; k < pb_rwlocks.count; k++) {
        e[k].name = rw_at(k)->name;
        e[k].role = rw_at(k)->role;
        e[k].bytes = rw_at(k)->bytes;
    }
    for (size_t i = 0; i < s->nread; i++) {
        for (size_t t = 0; t < s->nrw_threads; t++) {
            rw_ctx_t ctx = {s->rw_threads[t], s->read_per_mille[i]};
            pb_case_t cs = {
                .workload = "rwlock",
                .title = "rwlock: random reads and writes (ops/s, all threads)",
                .threads = s->rw_threads[t],
                .unit = "ops/s",
            };
            snprintf(cs.config, sizeof cs.config, "%u%% reads", s->read_per_mille[i] / 10);
            pb_measure(&cs, e, pb_rwlocks.count, run_rw, &ctx);
        }
    }
}
