/* A test plugin (see plugin.h).  The same source is built several times, each linked to a
 * different copy of libparking: the shared library, or libparking.a linked into the plugin. */
#include "plugin.h"

#include <parking/lot.h>
#include <parking/version.h>

#ifndef PL_PLUGIN_NAME
#  error "PL_PLUGIN_NAME must be defined"
#endif

static void plugin_lock(pl_mutex_t *m) { pl_mutex_lock(m); }
static bool plugin_lock_for(pl_mutex_t *m, uint64_t timeout_ns)
{
    return pl_mutex_lock_for(m, timeout_ns);
}
static void plugin_unlock(pl_mutex_t *m) { pl_mutex_unlock(m); }

static pl_filter_op_t count_one(void *ctx, uintptr_t park_token)
{
    (void)park_token;
    ++*(size_t *)ctx;
    return PL_FILTER_SKIP;
}

static size_t plugin_queued(const void *addr)
{
    size_t n = 0;
    pl_unpark_filter(addr, count_one, NULL, &n);
    return n;
}

static void *plugin_park_fn(void)
{
    /* An object pointer through a union: ISO C has no function-to-object pointer cast. */
    union {
        pl_park_result_t (*fn)(const void *, pl_validate_fn, pl_before_sleep_fn, pl_timed_out_fn,
                               void *, uintptr_t, uint64_t);
        void *p;
    } u;
    u.p = NULL;
    u.fn = pl_park;
    return u.p;
}

static const struct pl_test_plugin api = {
    PL_PLUGIN_NAME, plugin_lock,    plugin_lock_for, plugin_unlock,
    plugin_queued,  plugin_park_fn, pl_version,
};

__attribute__((visibility("default"))) const struct pl_test_plugin *pl_test_plugin(void);
const struct pl_test_plugin *pl_test_plugin(void) { return &api; }
