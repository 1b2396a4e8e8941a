/* The public park / unpark operations (include/parking/lot.h). */
#include <parking/lot.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <utlist.h>

#include "chaos.h"
#include "probes.h"
#include "table.h"

static PARKING_NORETURN void misuse(const char *fn, const char *what, const void *addr)
{
    fprintf(stderr, "libparking: %s(%p): %s\n", fn, addr, what);
    abort();
}

static const void *td_key(const pl_thread_data_t *td)
{
    return __atomic_load_n(&td->key, __ATOMIC_RELAXED);
}

/* Appends td to the queue of b (held) with a stamp above every other in that queue: stamps
 * increase along each queue, which lets pl_lot_dump resume a bucket after the last thread it
 * listed however many threads ahead of that one left meanwhile (walk.c).  Removal keeps the
 * order, and growth moves each new bucket's threads out of one old bucket in order (table.c). */
static void enqueue(pl_bucket_t *b, pl_thread_data_t *td)
{
    td->queue_stamp = b->queue != NULL ? b->queue->prev->queue_stamp + 1 : 0;
    DL_APPEND(b->queue, td);
}

static bool others_queued(pl_bucket_t *b, const void *key)
{
    pl_thread_data_t *t;
    DL_FOREACH (b->queue, t) {
        if (td_key(t) == key)
            return true;
    }
    return false;
}

static pl_park_result_t park_with(pl_thread_data_t *td, const void *addr, pl_validate_fn validate,
                                  pl_before_sleep_fn before_sleep, pl_timed_out_fn timed_out,
                                  void *ctx, uintptr_t park_token, uint64_t deadline)
{
    pl_park_result_t r = {PL_PARK_INVALID, 0, NULL};
    PL_CHAOS_POINT(); /* the caller's view of its lock goes stale before validate */
    pl_bucket_t *b = pl_bucket_lock(addr);
    if (validate != NULL && !validate(ctx)) {
        pl_bucket_unlock(b);
        return r;
    }
    PL_CHAOS_POINT(); /* validated, bucket held: unparkers of this bucket wait */
    __atomic_store_n(&td->key, addr, __ATOMIC_RELAXED);
    td->park_token = park_token;
    td->unpark_token = PL_DEFAULT_UNPARK_TOKEN;
    td->parked_ns = pl_now();
    pl_parker_prepare(&td->parker);
    enqueue(b, td);
    pl_bucket_unlock(b);
    PL_PROBE2(park_begin, addr, park_token);

    PL_CHAOS_POINT(); /* queued, before before_sleep: an unpark may come first */
    if (before_sleep != NULL)
        before_sleep(ctx);
    PL_CHAOS_POINT(); /* queued, not asleep yet: claimed and woken before sleeping */

    bool unparked = true;
    if (deadline == PL_FOREVER)
        pl_parker_park(&td->parker);
    else if (pl_now() >= deadline)
        /* Already past (before_sleep took that long, or it was past at the call): no spin and
         * no system call, straight to the time-out check, which also finds a thread that an
         * unparker chose meanwhile.  The park stays a park (validate, queue, before_sleep, then
         * leave) so that callers need no special case for a deadline in the past. */
        unparked = false;
    else
        unparked = pl_parker_park_until(&td->parker, deadline);
    PL_CHAOS_POINT(); /* woken or timed out: the unparker may still be on its way out */

    if (!unparked) {
        const void *key;
        b = pl_bucket_lock_thread(td, &key);
        PL_CHAOS_POINT(); /* timed out, bucket held: a claim can no longer race us */
        if (pl_parker_timed_out(&td->parker)) {
            DL_DELETE(b->queue, td);
            if (timed_out != NULL)
                timed_out(ctx, key, !others_queued(b, key));
            pl_bucket_unlock(b);
            r.status = PL_PARK_TIMED_OUT;
            r.key = key;
            PL_PROBE3(park_end, addr, (int)r.status, pl_now() - td->parked_ns);
            return r;
        }
        /* An unparker dequeued us between the time-out and the lock: its wake is on its way
         * and it may still touch our parker, so wait for it rather than return. */
        pl_bucket_unlock(b);
        PL_CHAOS_POINT(); /* claimed after our time-out: the wake is still to come */
        pl_parker_park(&td->parker);
    }
    r.status = PL_PARK_UNPARKED;
    r.token = td->unpark_token;
    r.key = td_key(td);
    /* A clock read per park in a build with probes: the park slept or spun for far longer. */
    PL_PROBE3(park_end, addr, (int)r.status, pl_now() - td->parked_ns);
    return r;
}

/* errno: every public entry point of the core saves it and puts it back.  The calls below it
 * fail as part of their normal work (a timed futex wait ends with ETIMEDOUT, a wait on a word
 * that changed with EAGAIN, a signal with EINTR; mmap, TLS set-up) and the caller of a lock must
 * find what its own last call left, as it would after a pthread lock that succeeded or timed
 * out.  The primitives in src/ reach the system only through these entry points (pl_spin's
 * yield and pl_now's clock read cannot fail), so saving here covers them all.  (Windows keeps
 * GetLastError the same way where it changes: parker_windows.c, thread_data.c.) */
pl_park_result_t pl_park(const void *addr, pl_validate_fn validate, pl_before_sleep_fn before_sleep,
                         pl_timed_out_fn timed_out, void *ctx, uintptr_t park_token,
                         uint64_t deadline)
{
    int saved_errno = errno;
    pl_thread_data_t fallback;
    pl_thread_data_t *td = pl_thread_data_acquire(&fallback);
    pl_park_result_t r =
        park_with(td, addr, validate, before_sleep, timed_out, ctx, park_token, deadline);
    pl_thread_data_release(td, &fallback);
    errno = saved_errno;
    return r;
}

/* Hand the unpark token to each dequeued thread and claim it, under the bucket lock. */
static void claim_all(pl_thread_data_t *list, uintptr_t token)
{
    pl_thread_data_t *t;
    DL_FOREACH (list, t) {
        t->unpark_token = token;
        pl_parker_claim(&t->parker);
        PL_CHAOS_POINT(); /* claimed under the bucket lock, not yet woken */
    }
}

/* After the bucket lock is released.  `next` is read before the wake: once woken, a thread
 * may return and its data vanish. */
static void wake_all(pl_thread_data_t *list)
{
    pl_thread_data_t *t = list;
    while (t != NULL) {
        pl_thread_data_t *next = t->next;
        PL_CHAOS_POINT(); /* bucket released, claimed threads not yet woken */
        pl_parker_wake(&t->parker);
        t = next;
    }
}

pl_unpark_result_t pl_unpark_one(const void *addr, pl_unpark_fn callback, void *ctx)
{
    int saved_errno = errno; /* see pl_park */
    pl_unpark_result_t res = {0, 0, false, false};
    PL_CHAOS_POINT(); /* the caller's store, not yet its unpark: a parker may validate */
    pl_bucket_t *b = pl_bucket_lock(addr);
    pl_thread_data_t *t, *found = NULL;
    DL_FOREACH (b->queue, t) {
        if (td_key(t) != addr)
            continue;
        if (found != NULL) {
            res.have_more = true;
            break;
        }
        found = t;
    }
    if (found != NULL) {
        DL_DELETE(b->queue, found);
        res.unparked = 1;
        res.be_fair = pl_bucket_should_be_fair(b);
    }
    uintptr_t token = callback != NULL ? callback(ctx, res) : PL_DEFAULT_UNPARK_TOKEN;
    if (found != NULL) {
        found->unpark_token = token;
        pl_parker_claim(&found->parker);
        PL_CHAOS_POINT(); /* claimed, bucket held: its time-out must wait for us */
    }
    pl_bucket_unlock(b);
    if (found != NULL) {
        PL_CHAOS_POINT(); /* claimed and released: the thread may have timed out meanwhile */
        pl_parker_wake(&found->parker);
    }
    PL_PROBE2(unpark, addr, res.unparked);
    errno = saved_errno;
    return res;
}

size_t pl_unpark_all(const void *addr, uintptr_t unpark_token)
{
    int saved_errno = errno; /* see pl_park */
    size_t n = 0;
    pl_thread_data_t *t, *tmp, *woken = NULL;
    PL_CHAOS_POINT();
    pl_bucket_t *b = pl_bucket_lock(addr);
    DL_FOREACH_SAFE (b->queue, t, tmp) {
        if (td_key(t) == addr) {
            DL_DELETE(b->queue, t);
            DL_APPEND(woken, t);
            n++;
        }
    }
    claim_all(woken, unpark_token);
    pl_bucket_unlock(b);
    wake_all(woken);
    PL_PROBE2(unpark, addr, n);
    errno = saved_errno;
    return n;
}

pl_unpark_result_t pl_unpark_filter(const void *addr, pl_filter_fn filter, pl_unpark_fn callback,
                                    void *ctx)
{
    if (filter == NULL)
        misuse("pl_unpark_filter", "filter callback is NULL", addr);
    int saved_errno = errno; /* see pl_park */
    pl_unpark_result_t res = {0, 0, false, false};
    pl_thread_data_t *t, *tmp, *woken = NULL;
    PL_CHAOS_POINT();
    pl_bucket_t *b = pl_bucket_lock(addr);
    DL_FOREACH_SAFE (b->queue, t, tmp) {
        if (td_key(t) != addr)
            continue;
        pl_filter_op_t op = filter(ctx, t->park_token);
        if (op == PL_FILTER_UNPARK) {
            DL_DELETE(b->queue, t);
            DL_APPEND(woken, t);
            res.unparked++;
        } else {
            res.have_more = true;
            if (op == PL_FILTER_STOP)
                break;
        }
    }
    if (res.unparked > 0)
        res.be_fair = pl_bucket_should_be_fair(b);
    uintptr_t token = callback != NULL ? callback(ctx, res) : PL_DEFAULT_UNPARK_TOKEN;
    claim_all(woken, token);
    pl_bucket_unlock(b);
    wake_all(woken);
    PL_PROBE2(unpark, addr, res.unparked);
    errno = saved_errno;
    return res;
}

pl_unpark_result_t pl_unpark_requeue(const void *from, const void *to,
                                     pl_requeue_validate_fn validate, pl_requeue_fn callback,
                                     void *ctx)
{
    if (from == to)
        misuse("pl_unpark_requeue", "source and destination are the same address", from);
    if (validate == NULL)
        misuse("pl_unpark_requeue", "validate callback is NULL", from);

    int saved_errno = errno; /* see pl_park */
    pl_unpark_result_t res = {0, 0, false, false};
    pl_bucket_t *bf, *bt;
    PL_CHAOS_POINT();
    pl_bucket_lock_pair(from, to, &bf, &bt);
    pl_requeue_op_t op = validate(ctx);
    if (op == PL_REQUEUE_ABORT) {
        pl_bucket_unlock_pair(bf, bt);
        errno = saved_errno;
        return res;
    }
    bool wake_first = op == PL_REQUEUE_UNPARK_ONE || op == PL_REQUEUE_UNPARK_ONE_REQUEUE_REST;
    size_t max_requeue = op == PL_REQUEUE_UNPARK_ONE    ? 0
                         : op == PL_REQUEUE_REQUEUE_ONE ? 1
                                                        : SIZE_MAX;
    pl_thread_data_t *t, *tmp, *woken = NULL, *moved = NULL;
    DL_FOREACH_SAFE (bf->queue, t, tmp) {
        if (td_key(t) != from)
            continue;
        if (wake_first && res.unparked == 0) {
            DL_DELETE(bf->queue, t);
            DL_APPEND(woken, t);
            res.unparked = 1;
        } else if (res.requeued < max_requeue) {
            DL_DELETE(bf->queue, t);
            DL_APPEND(moved, t);
            res.requeued++;
        } else {
            res.have_more = true;
            break;
        }
    }
    if (res.unparked > 0)
        res.be_fair = pl_bucket_should_be_fair(bf);
    uintptr_t token = callback != NULL ? callback(ctx, op, res) : PL_DEFAULT_UNPARK_TOKEN;
    claim_all(woken, token);
    /* Moved threads keep sleeping; from now on they are found, woken or timed out under `to`. */
    DL_FOREACH_SAFE (moved, t, tmp) {
        DL_DELETE(moved, t);
        __atomic_store_n(&t->key, to, __ATOMIC_RELAXED);
        enqueue(bt, t);
    }
    PL_CHAOS_POINT(); /* moved, both buckets held */
    pl_bucket_unlock_pair(bf, bt);
    wake_all(woken);
    PL_PROBE2(unpark, from, res.unparked);
    errno = saved_errno;
    return res;
}
