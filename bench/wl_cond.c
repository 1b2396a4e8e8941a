/* pl-bench: condition variable workloads, each a mutex + condvar pair of one family.
 *
 * queue:     a bounded FIFO (16 slots) with P producers and C consumers, the textbook two-condvar
 *            queue (not_empty, not_full; signal one per push / pop).  Items/s.  Verified: the sum
 *            and count of items consumed equal those produced, and every consumer sees each
 *            producer's sequence numbers in increasing order (the queue is FIFO).
 * broadcast: N waiters; the main thread bumps a generation counter and broadcasts, every waiter
 *            wakes, takes the mutex, checks the generation moved by exactly one, acknowledges and
 *            waits again; the last to acknowledge signals the main thread, which starts the next
 *            round.  Rounds/s.  Verified: every waiter saw every round.
 * pingpong:  two threads hand a turn back and forth under the mutex, each waiting on its own
 *            condvar.  Round trips/s.  Verified: the hand-off counts and the final turn agree.
 * The harness stops each run by setting a flag under the mutex and broadcasting. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

static const pb_cond_ops_t *cond_at(size_t k) { return pb_conds.items[k]; }

static size_t cond_entries(pb_entry_t *e)
{
    for (size_t k = 0; k < pb_conds.count; k++) {
        e[k].name = cond_at(k)->name;
        e[k].role = cond_at(k)->role;
        e[k].bytes = cond_at(k)->bytes;
    }
    return pb_conds.count;
}

/* Storage for a mutex or a condvar of any family, each on its own cache lines. */
typedef struct obj {
    _Alignas(128) unsigned char bytes[128];
} obj_t;

static void check_fits(const pb_cond_ops_t *c)
{
    if (c->bytes > sizeof(obj_t) || c->mutex_bytes > sizeof(obj_t))
        pb_fatal("%s: objects too large", c->name);
}

/* ---- bounded queue ---- */

enum { QCAP = 16, MAX_PRODUCERS = 64 };

typedef struct queue {
    obj_t mutex, not_empty, not_full;
    const pb_cond_ops_t *c;
    pb_gate_t *gate;
    uint64_t buf[QCAP];
    unsigned head, count;
    int closed;
} queue_t;

typedef struct q_slot {
    _Alignas(128) queue_t *q;
    unsigned index;      /* producer number, for the item tags */
    uint64_t items, sum; /* out */
} q_slot_t;

/* An item: producer number in the top 16 bits, sequence number below. */
static void *producer(void *p)
{
    q_slot_t *s = p;
    queue_t *q = s->q;
    const pb_cond_ops_t *c = q->c;
    uint64_t seq = 0, sum = 0;
    pb_gate_wait(q->gate);
    for (;;) {
        uint64_t item = (uint64_t)s->index << 48 | seq;
        c->lock(&q->mutex);
        while (q->count == QCAP && !q->closed)
            c->wait(&q->not_full, &q->mutex);
        if (q->closed) {
            c->unlock(&q->mutex);
            break;
        }
        q->buf[(q->head + q->count) % QCAP] = item;
        q->count++;
        c->signal(&q->not_empty);
        c->unlock(&q->mutex);
        sum += item;
        seq++;
    }
    s->items = seq;
    s->sum = sum;
    return NULL;
}

static void *consumer(void *p)
{
    q_slot_t *s = p;
    queue_t *q = s->q;
    const pb_cond_ops_t *c = q->c;
    uint64_t items = 0, sum = 0, next[MAX_PRODUCERS] = {0};
    pb_gate_wait(q->gate);
    for (;;) {
        c->lock(&q->mutex);
        while (q->count == 0 && !q->closed)
            c->wait(&q->not_empty, &q->mutex);
        if (q->count == 0) { /* closed and drained */
            c->unlock(&q->mutex);
            break;
        }
        uint64_t item = q->buf[q->head];
        q->head = (q->head + 1) % QCAP;
        q->count--;
        c->signal(&q->not_full);
        c->unlock(&q->mutex);
        unsigned from = (unsigned)(item >> 48);
        uint64_t seq = item & ((1ull << 48) - 1);
        if (from >= MAX_PRODUCERS || seq < next[from])
            pb_fatal("%s queue: item %u:%llu after %u:%llu: the queue lost FIFO order", c->name,
                     from, (unsigned long long)seq, from,
                     (unsigned long long)next[from % MAX_PRODUCERS]);
        next[from] = seq + 1;
        items++;
        sum += item;
    }
    s->items = items;
    s->sum = sum;
    return NULL;
}

static void run_queue(void *ctx, size_t k, uint64_t duration_ns, pb_result_t *out)
{
    const pb_pc_t *pc = ctx;
    const pb_cond_ops_t *c = cond_at(k);
    check_fits(c);
    queue_t *q = aligned_alloc(128, sizeof *q);
    if (!q)
        pb_fatal("out of memory");
    memset(q, 0, sizeof *q);
    q->c = c;
    q->gate = pb_gate_new();
    c->mutex_init(&q->mutex);
    c->cond_init(&q->not_empty);
    c->cond_init(&q->not_full);

    unsigned n = pc->producers + pc->consumers;
    q_slot_t *slots = aligned_alloc(128, sizeof(q_slot_t) * n);
    if (!slots)
        pb_fatal("out of memory");
    memset(slots, 0, sizeof(q_slot_t) * n);
    for (unsigned i = 0; i < n; i++) {
        slots[i].q = q;
        slots[i].index = i;
    }
    pb_watchdog_arm(duration_ns);
    pb_team_t *producers = pb_team_start(pc->producers, producer, slots, sizeof *slots);
    pb_team_t *consumers =
        pb_team_start(pc->consumers, consumer, slots + pc->producers, sizeof *slots);
    uint64_t start = pb_gate_open(q->gate, n);
    pb_sleep_until(start + duration_ns);
    c->lock(&q->mutex);
    q->closed = 1;
    c->broadcast(&q->not_full);
    c->broadcast(&q->not_empty);
    c->unlock(&q->mutex);
    pb_team_join(producers);
    pb_team_join(consumers);
    uint64_t elapsed = pb_now_ns() - start;
    pb_watchdog_disarm();

    uint64_t made = 0, made_sum = 0, got = 0, got_sum = 0;
    for (unsigned i = 0; i < pc->producers; i++)
        made += slots[i].items, made_sum += slots[i].sum;
    for (unsigned i = pc->producers; i < n; i++)
        got += slots[i].items, got_sum += slots[i].sum;
    if (made != got || made_sum != got_sum || q->count != 0)
        pb_fatal("%s queue %uP:%uC: %llu items produced, %llu consumed (sums %llx, %llx), %u "
                 "left: items were lost or duplicated",
                 c->name, pc->producers, pc->consumers, (unsigned long long)made,
                 (unsigned long long)got, (unsigned long long)made_sum, (unsigned long long)got_sum,
                 q->count);
    c->cond_destroy(&q->not_full);
    c->cond_destroy(&q->not_empty);
    c->mutex_destroy(&q->mutex);
    pb_gate_free(q->gate);
    free(q);
    free(slots);
    out->value = (double)got * 1e9 / (double)elapsed;
}

void pb_wl_queue(const pb_suite_t *s)
{
    pb_entry_t e[16];
    size_t n = cond_entries(e);
    for (size_t i = 0; i < s->nqueues; i++) {
        pb_pc_t pc = s->queues[i];
        if (pc.producers > MAX_PRODUCERS)
            pb_fatal("at most %d producers", MAX_PRODUCERS);
        pb_case_t cs = {
            .workload = "queue",
            .title = "condvar: bounded queue, P producers : C consumers (items/s)",
            .unit = "items/s",
        };
        snprintf(cs.config, sizeof cs.config, "%uP:%uC", pc.producers, pc.consumers);
        pb_measure(&cs, e, n, run_queue, &pc);
    }
}

/* ---- broadcast ---- */

typedef struct bcast {
    obj_t mutex, go, done;
    const pb_cond_ops_t *c;
    pb_gate_t *gate;
    uint64_t generation;
    unsigned acks, waiters;
    int stop;
} bcast_t;

typedef struct b_slot {
    _Alignas(128) bcast_t *b;
    uint64_t rounds; /* out */
} b_slot_t;

static void *bcast_waiter(void *p)
{
    b_slot_t *s = p;
    bcast_t *b = s->b;
    const pb_cond_ops_t *c = b->c;
    uint64_t seen = 0, rounds = 0;
    pb_gate_wait(b->gate);
    c->lock(&b->mutex);
    for (;;) {
        while (b->generation == seen && !b->stop)
            c->wait(&b->go, &b->mutex);
        if (b->generation == seen) /* stopped */
            break;
        /* The main thread waits for every acknowledgement before the next round, so the
         * generation can only have moved by one. */
        if (b->generation != seen + 1)
            pb_fatal("%s broadcast: a waiter saw generation %llu after %llu: a wake-up was "
                     "lost",
                     c->name, (unsigned long long)b->generation, (unsigned long long)seen);
        seen = b->generation;
        rounds++;
        if (++b->acks == b->waiters)
            c->signal(&b->done);
    }
    c->unlock(&b->mutex);
    s->rounds = rounds;
    return NULL;
}

static void run_broadcast(void *ctx, size_t k, uint64_t duration_ns, pb_result_t *out)
{
    const unsigned n = *(const unsigned *)ctx;
    const pb_cond_ops_t *c = cond_at(k);
    check_fits(c);
    bcast_t *b = aligned_alloc(128, sizeof *b);
    if (!b)
        pb_fatal("out of memory");
    memset(b, 0, sizeof *b);
    b->c = c;
    b->gate = pb_gate_new();
    b->waiters = n;
    c->mutex_init(&b->mutex);
    c->cond_init(&b->go);
    c->cond_init(&b->done);
    b_slot_t *slots = aligned_alloc(128, sizeof(b_slot_t) * n);
    if (!slots)
        pb_fatal("out of memory");
    memset(slots, 0, sizeof(b_slot_t) * n);
    for (unsigned i = 0; i < n; i++)
        slots[i].b = b;

    pb_watchdog_arm(duration_ns);
    pb_team_t *team = pb_team_start(n, bcast_waiter, slots, sizeof *slots);
    uint64_t start = pb_gate_open(b->gate, n), now, rounds = 0;
    c->lock(&b->mutex);
    do {
        b->acks = 0;
        b->generation++;
        c->broadcast(&b->go);
        while (b->acks < n)
            c->wait(&b->done, &b->mutex);
        rounds++;
        now = pb_now_ns();
    } while (now - start < duration_ns);
    b->stop = 1;
    c->broadcast(&b->go);
    c->unlock(&b->mutex);
    pb_team_join(team);
    pb_watchdog_disarm();

    for (unsigned i = 0; i < n; i++)
        if (slots[i].rounds != rounds)
            pb_fatal("%s broadcast to %u: waiter %u saw %llu of %llu rounds", c->name, n, i,
                     (unsigned long long)slots[i].rounds, (unsigned long long)rounds);
    c->cond_destroy(&b->done);
    c->cond_destroy(&b->go);
    c->mutex_destroy(&b->mutex);
    pb_gate_free(b->gate);
    free(b);
    free(slots);
    out->value = (double)rounds * 1e9 / (double)(now - start);
}

void pb_wl_broadcast(const pb_suite_t *s)
{
    pb_entry_t e[16];
    size_t n = cond_entries(e);
    for (size_t i = 0; i < s->nwaiters; i++) {
        unsigned waiters = s->waiters[i];
        pb_case_t cs = {
            .workload = "broadcast",
            .title = "condvar: broadcast to N waiters, all wake and check in (rounds/s)",
            .unit = "rounds/s",
        };
        snprintf(cs.config, sizeof cs.config, "%u waiters", waiters);
        pb_measure(&cs, e, n, run_broadcast, &waiters);
    }
}

/* ---- ping-pong ---- */

typedef struct pingpong {
    obj_t mutex, cond[2];
    const pb_cond_ops_t *c;
    pb_gate_t *gate;
    unsigned turn;
    int stop;
} pingpong_t;

typedef struct pp_slot {
    _Alignas(128) pingpong_t *pp;
    unsigned me;
    uint64_t handoffs; /* out */
} pp_slot_t;

static void *pp_thread(void *p)
{
    pp_slot_t *s = p;
    pingpong_t *pp = s->pp;
    const pb_cond_ops_t *c = pp->c;
    const unsigned me = s->me;
    uint64_t handoffs = 0;
    pb_gate_wait(pp->gate);
    c->lock(&pp->mutex);
    for (;;) {
        while (pp->turn != me && !pp->stop)
            c->wait(&pp->cond[me], &pp->mutex);
        if (pp->stop)
            break;
        pp->turn = 1 - me;
        handoffs++;
        c->signal(&pp->cond[1 - me]);
    }
    c->unlock(&pp->mutex);
    s->handoffs = handoffs;
    return NULL;
}

static void run_pingpong(void *ctx, size_t k, uint64_t duration_ns, pb_result_t *out)
{
    const pb_cond_ops_t *c = cond_at(k);
    (void)ctx;
    check_fits(c);
    pingpong_t *pp = aligned_alloc(128, sizeof *pp);
    if (!pp)
        pb_fatal("out of memory");
    memset(pp, 0, sizeof *pp);
    pp->c = c;
    pp->gate = pb_gate_new();
    c->mutex_init(&pp->mutex);
    c->cond_init(&pp->cond[0]);
    c->cond_init(&pp->cond[1]);
    pp_slot_t slots[2];
    memset(slots, 0, sizeof slots);
    for (unsigned i = 0; i < 2; i++) {
        slots[i].pp = pp;
        slots[i].me = i;
    }
    pb_watchdog_arm(duration_ns);
    pb_team_t *team = pb_team_start(2, pp_thread, slots, sizeof slots[0]);
    uint64_t start = pb_gate_open(pp->gate, 2);
    pb_sleep_until(start + duration_ns);
    c->lock(&pp->mutex);
    pp->stop = 1;
    uint64_t elapsed = pb_now_ns() - start;
    c->broadcast(&pp->cond[0]);
    c->broadcast(&pp->cond[1]);
    c->unlock(&pp->mutex);
    pb_team_join(team);
    pb_watchdog_disarm();

    uint64_t a = slots[0].handoffs, b = slots[1].handoffs;
    if (!(a == b || a == b + 1) || pp->turn != (unsigned)((a + b) & 1))
        pb_fatal("%s ping-pong: hand-offs %llu and %llu, turn %u: a hand-off was lost or "
                 "doubled",
                 c->name, (unsigned long long)a, (unsigned long long)b, pp->turn);
    c->cond_destroy(&pp->cond[1]);
    c->cond_destroy(&pp->cond[0]);
    c->mutex_destroy(&pp->mutex);
    pb_gate_free(pp->gate);
    free(pp);
    out->value = (double)(a + b) / 2.0 * 1e9 / (double)elapsed;
}

void pb_wl_pingpong(const pb_suite_t *s)
{
    pb_entry_t e[16];
    size_t n = cond_entries(e);
    pb_case_t cs = {
        .workload = "pingpong",
        .title = "condvar: ping-pong hand-off between two threads (round trips/s)",
        .unit = "trips/s",
    };
    (void)s;
    pb_measure(&cs, e, n, run_pingpong, NULL);
}
