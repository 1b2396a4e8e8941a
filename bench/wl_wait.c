/* pl-bench: wait-on-address against its closest pthread equivalent (a word guarded by a mutex
 * and waited for on a condvar) and a raw futex.
 *
 * wait-pingpong: two threads take turns on one 32-bit word: each sets it to the next number and
 *                wakes the other, then waits for the word to move on.  Round trips/s.
 *                Verified: every value seen is exactly the next one.
 * wake-nowaiter: one thread sets the word and wakes, with nobody waiting: the price a producer
 *                pays on every update when consumers are usually busy.  ns per call. */
#include <stdlib.h>
#include <string.h>

#include "bench.h"

enum { STOP_VALUE = 0xffffffffu };

static const pb_event_ops_t *event_at(size_t k) { return pb_events.items[k]; }

static size_t event_entries(pb_entry_t *e)
{
    for (size_t k = 0; k < pb_events.count; k++) {
        e[k].name = event_at(k)->name;
        e[k].role = event_at(k)->role;
        e[k].bytes = 4; /* the word waited on; the pthread event adds a mutex and a condvar */
    }
    return pb_events.count;
}

typedef struct ev_run {
    const pb_event_ops_t *ev;
    void *obj;
    pb_gate_t *gate;
    int stop;
    uint64_t trips; /* out, first thread */
} ev_run_t;

/* The second thread answers each odd value v with v + 1 until the first one says stop. */
static void *answerer(void *p)
{
    ev_run_t *r = p;
    uint32_t expected = 0;
    pb_gate_wait(r->gate);
    for (;;) {
        uint32_t v = r->ev->wait_while(r->obj, expected);
        if (v == STOP_VALUE)
            break;
        if (v != expected + 1)
            pb_fatal("%s: answerer saw %u after %u", r->ev->name, v, expected);
        expected = v + 1;
        r->ev->set_and_wake(r->obj, expected);
    }
    return NULL;
}

static void *asker(void *p)
{
    ev_run_t *r = p;
    uint32_t v = 0;
    uint64_t trips = 0;
    pb_gate_wait(r->gate);
    while (!__atomic_load_n(&r->stop, __ATOMIC_RELAXED)) {
        r->ev->set_and_wake(r->obj, v + 1);
        uint32_t got = r->ev->wait_while(r->obj, v + 1);
        if (got != v + 2)
            pb_fatal("%s: asker saw %u after %u", r->ev->name, got, v + 1);
        v = got;
        trips++;
    }
    r->ev->set_and_wake(r->obj, STOP_VALUE);
    r->trips = trips;
    return NULL;
}

static void *new_event(const pb_event_ops_t *ev)
{
    void *obj = aligned_alloc(128, PB_EVENT_BYTES);
    if (!obj)
        pb_fatal("out of memory");
    memset(obj, 0, PB_EVENT_BYTES);
    ev->init(obj);
    return obj;
}

static void run_pingpong(void *ctx, size_t k, uint64_t duration_ns, pb_result_t *out)
{
    ev_run_t r;
    (void)ctx;
    memset(&r, 0, sizeof r);
    r.ev = event_at(k);
    r.obj = new_event(r.ev);
    r.gate = pb_gate_new();
    pb_watchdog_arm(duration_ns);
    /* Both threads share one ev_run_t: a team of one each. */
    pb_team_t *a = pb_team_start(1, asker, &r, 0);
    pb_team_t *b = pb_team_start(1, answerer, &r, 0);
    uint64_t start = pb_gate_open(r.gate, 2);
    pb_sleep_until(start + duration_ns);
    __atomic_store_n(&r.stop, 1, __ATOMIC_RELAXED);
    pb_team_join(a);
    uint64_t elapsed = pb_now_ns() - start;
    pb_team_join(b);
    pb_watchdog_disarm();
    r.ev->destroy(r.obj);
    free(r.obj);
    pb_gate_free(r.gate);
    out->value = (double)r.trips * 1e9 / (double)elapsed;
}

enum { WAKE_BATCH = 1 << 12 };

static void run_wake(void *ctx, size_t k, uint64_t duration_ns, pb_result_t *out)
{
    const pb_event_ops_t *ev = event_at(k);
    void *obj = new_event(ev);
    uint64_t calls = 0, start = pb_now_ns(), now;
    uint32_t v = 0;
    (void)ctx;
    do {
        for (unsigned i = 0; i < WAKE_BATCH; i++)
            ev->set_and_wake(obj, ++v);
        calls += WAKE_BATCH;
        now = pb_now_ns();
    } while (now - start < duration_ns);
    ev->destroy(obj);
    free(obj);
    out->value = (double)(now - start) / (double)calls;
}

void pb_wl_wait(const pb_suite_t *s)
{
    pb_entry_t e[16];
    size_t n = event_entries(e);
    (void)s;
    pb_case_t pp = {
        .workload = "wait",
        .title = "wait on address: two threads take turns on one word (round trips/s)",
        .config = "ping-pong",
        .unit = "trips/s",
    };
    pb_measure(&pp, e, n, run_pingpong, NULL);
    pb_case_t wake = {
        .workload = "wake",
        .title = "wake with nobody waiting: set the word and wake (ns per call, lower is better)",
        .config = "no waiter",
        .unit = "ns/call",
        .lower_is_better = true,
    };
    pb_measure(&wake, e, n, run_wake, NULL);
}
