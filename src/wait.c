/* pl_wait / pl_wake_*: a futex-like wait on any address, built on pl_park. */
#include <parking/wait.h>

#include <stdbool.h>
#include <string.h>

#include <parking/lot.h>
#include "chaos.h"
#include "contention.h"
#include "probes.h"

typedef struct wait_ctx {
    const void *addr;
    size_t size;
    uint64_t expected;
} wait_ctx_t;

/* Acquire: when the value differs, the waiter goes on to read what the writer published. */
static uint64_t load_value(const void *addr, size_t size)
{
    switch (size) {
    case 1: return __atomic_load_n((const uint8_t *)addr, __ATOMIC_ACQUIRE);
    case 2: return __atomic_load_n((const uint16_t *)addr, __ATOMIC_ACQUIRE);
    case 4: return __atomic_load_n((const uint32_t *)addr, __ATOMIC_ACQUIRE);
    default: return __atomic_load_n((const uint64_t *)addr, __ATOMIC_ACQUIRE);
    }
}

/* `expected` may be unaligned and is not shared: a plain copy of the right width. */
static uint64_t read_expected(const void *expected, size_t size)
{
    switch (size) {
    case 1: {
        uint8_t v;
        memcpy(&v, expected, 1);
        return v;
    }
    case 2: {
        uint16_t v;
        memcpy(&v, expected, 2);
        return v;
    }
    case 4: {
        uint32_t v;
        memcpy(&v, expected, 4);
        return v;
    }
    default: {
        uint64_t v;
        memcpy(&v, expected, 8);
        return v;
    }
    }
}

/* Under the bucket lock of addr, which every pl_wake_* on addr takes after its store: a store
 * that this load misses is followed by a wake that finds this thread queued. */
static bool still_equal(void *vctx)
{
    const wait_ctx_t *w = vctx;
    return load_value(w->addr, w->size) == w->expected;
}

typedef struct wait_run {
    wait_ctx_t w;
    uint64_t deadline;
} wait_run_t;

static bool run_park(const wait_ctx_t *w, uint64_t deadline, uint32_t *parks)
{
    pl_park_result_t r =
        pl_park(w->addr, still_equal, NULL, NULL, (void *)w, PL_DEFAULT_PARK_TOKEN, deadline);
    if (r.status != PL_PARK_INVALID)
        ++*parks;
    return r.status != PL_PARK_TIMED_OUT;
}

static bool run_wait_ctx(void *ctx, uint32_t *parks)
{
    const wait_run_t *r = ctx;
    return run_park(&r->w, r->deadline, parks);
}

int pl_wait(const void *addr, const void *expected, size_t size, uint64_t deadline)
{
    if (addr == NULL || expected == NULL)
        return EINVAL;
    if (size != 1 && size != 2 && size != 4 && size != 8)
        return EINVAL;
    if (((uintptr_t)addr & (size - 1)) != 0)
        return EINVAL;
    wait_ctx_t w = {addr, size, read_expected(expected, size)};
    if (!still_equal(&w))
        return 0; /* no bucket lock needed to see a change */
    if (deadline != PL_FOREVER && pl_now() >= deadline)
        return ETIMEDOUT;
    PL_CHAOS_POINT(); /* the value may change and its wake come before we validate */
    PL_PROBE3(slow_begin, addr, PL_PRIM_WAIT, PL_MODE_WAIT);
    if (PL_CONTENTION_WATCHED())
        return pl_contention_run(addr, PL_PRIM_WAIT, PL_MODE_WAIT, __builtin_return_address(0),
                                 run_wait_ctx, &(wait_run_t){w, deadline})
                   ? 0
                   : ETIMEDOUT;
    uint32_t parks = 0;
    return run_park(&w, deadline, &parks) ? 0 : ETIMEDOUT;
}

int pl_wait_for(const void *addr, const void *expected, size_t size, uint64_t timeout_ns)
{
    return pl_wait(addr, expected, size, pl_deadline_after(timeout_ns));
}

size_t pl_wake_one(const void *addr)
{
    if (addr == NULL)
        return 0;
    PL_CHAOS_POINT(); /* the caller's store is visible, its wake not yet sent */
    return pl_unpark_one(addr, NULL, NULL).unparked;
}

size_t pl_wake_all(const void *addr)
{
    if (addr == NULL)
        return 0;
    PL_CHAOS_POINT();
    return pl_unpark_all(addr, PL_DEFAULT_UNPARK_TOKEN);
}
