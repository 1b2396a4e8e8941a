/* A model of the parking lot (parking/lot.c) for the GenMC clients of the primitives: one
 * bucket whose lock is a pthread mutex, a FIFO queue of waiters on their own stacks, and the
 * real parker (parking/parker_word.c) per waiter.  It keeps the contract the primitives rely on
 * (lot.h, docs/design.md §5): validate runs under the bucket lock and the thread is queued,
 * armed (prepare), before the lock is released; the filter and the unpark callback run under
 * the bucket lock; claimed threads get their unpark token before the lock is released and are
 * woken after it.  Not modelled: time-outs, requeue, fairness (be_fair is false), the hash
 * table and its growth; lot.c itself is not checked by these clients. */
#ifndef PL_GENMC_LOT_MODEL_H
#define PL_GENMC_LOT_MODEL_H

#include <pthread.h>
#include <stddef.h>

#include "os_model.h"

#include "parking/parker_word.c"

typedef struct lot_waiter {
    const void *key;
    uintptr_t park_token;
    uintptr_t unpark_token;
    pl_parker_t parker;
} lot_waiter_t;

enum { LOT_MAX = 4 };
static pthread_mutex_t bucket_lock = PTHREAD_MUTEX_INITIALIZER;
static lot_waiter_t *lot_queue[LOT_MAX]; /* FIFO, oldest first */
static int lot_len;

pl_park_result_t pl_park(const void *addr, pl_validate_fn validate, pl_before_sleep_fn before_sleep,
                         pl_timed_out_fn timed_out, void *ctx, uintptr_t park_token,
                         uint64_t deadline)
{
    (void)timed_out;
    (void)deadline;
    /* Field by field: GenMC cannot run the memset an aggregate initialiser may become. */
    lot_waiter_t w;
    w.key = addr;
    w.park_token = park_token;
    w.unpark_token = 0;
    pl_parker_init(&w.parker);
    pl_park_result_t res;
    pthread_mutex_lock(&bucket_lock);
    if (validate && !validate(ctx)) {
        pthread_mutex_unlock(&bucket_lock);
        res.status = PL_PARK_INVALID;
        res.token = 0;
        res.key = NULL;
        return res;
    }
    pl_parker_prepare(&w.parker);
    lot_queue[lot_len++] = &w;
    pthread_mutex_unlock(&bucket_lock);
    if (before_sleep)
        before_sleep(ctx);
    pl_parker_park(&w.parker);
    res.status = PL_PARK_UNPARKED;
    res.token = w.unpark_token;
    res.key = addr;
    return res;
}

static pl_filter_op_t unpark_first(void *ctx, uintptr_t park_token)
{
    (void)park_token;
    int *n = ctx;
    return (*n)++ == 0 ? PL_FILTER_UNPARK : PL_FILTER_STOP;
}

static pl_filter_op_t unpark_every(void *ctx, uintptr_t park_token)
{
    (void)ctx;
    (void)park_token;
    return PL_FILTER_UNPARK;
}

static pl_unpark_result_t unpark(const void *addr, pl_filter_fn filter, void *fctx,
                                 pl_unpark_fn callback, void *ctx, uintptr_t token)
{
    lot_waiter_t *chosen[LOT_MAX];
    int n = 0, kept = 0;
    bool more = false, stop = false;
    pthread_mutex_lock(&bucket_lock);
    for (int i = 0; i < lot_len; i++) {
        lot_waiter_t *w = lot_queue[i];
        if (w->key == addr && !stop) {
            pl_filter_op_t op = filter(fctx, w->park_token);
            if (op == PL_FILTER_UNPARK) {
                chosen[n++] = w;
                continue;
            }
            if (op == PL_FILTER_STOP)
                stop = true;
        }
        if (w->key == addr)
            more = true;
        lot_queue[kept++] = w;
    }
    lot_len = kept;
    pl_unpark_result_t r;
    r.unparked = (size_t)n;
    r.requeued = 0;
    r.have_more = more;
    r.be_fair = false;
    if (callback)
        token = callback(ctx, r);
    for (int i = 0; i < n; i++) {
        chosen[i]->unpark_token = token;
        pl_parker_claim(&chosen[i]->parker);
    }
    pthread_mutex_unlock(&bucket_lock);
    for (int i = 0; i < n; i++)
        pl_parker_wake(&chosen[i]->parker);
    return r;
}

pl_unpark_result_t pl_unpark_filter(const void *addr, pl_filter_fn filter, pl_unpark_fn callback,
                                    void *ctx)
{
    return unpark(addr, filter, ctx, callback, ctx, 0);
}

pl_unpark_result_t pl_unpark_one(const void *addr, pl_unpark_fn callback, void *ctx)
{
    int seen = 0;
    return unpark(addr, unpark_first, &seen, callback, ctx, 0);
}

size_t pl_unpark_all(const void *addr, uintptr_t unpark_token)
{
    return unpark(addr, unpark_every, NULL, NULL, NULL, unpark_token).unparked;
}

#endif
