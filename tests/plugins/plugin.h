/* The interface of the test plugins of one_table_test.c (tests/plugins/plugin.c), each built
 * against a different copy of libparking.  The host calls the plugin only through this table of
 * functions, so every lock operation runs the plugin's own code and reaches whichever copy of
 * libparking the plugin is bound to. */
#ifndef PARKING_TEST_PLUGIN_H
#define PARKING_TEST_PLUGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <parking/mutex.h>

struct pl_test_plugin {
    const char *name; /* PL_PLUGIN_NAME */
    void (*lock)(pl_mutex_t *m);
    bool (*lock_for)(pl_mutex_t *m, uint64_t timeout_ns);
    void (*unlock)(pl_mutex_t *m);
    /* Threads queued on addr now (pl_unpark_filter with a counting filter: wakes nobody). */
    size_t (*queued)(const void *addr);
    /* The pl_park this plugin's calls reach (after symbol interposition, if any). */
    void *(*park_fn)(void);
    const char *(*version)(void);
};

/* The one exported function of every plugin. */
typedef const struct pl_test_plugin *(*pl_test_plugin_fn)(void);
#define PL_TEST_PLUGIN_SYMBOL "pl_test_plugin"

#endif /* PARKING_TEST_PLUGIN_H */
