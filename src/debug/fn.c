/* Debug mode: what the name of the public function behind a hook says about the call.
 *
 * The hooks get the lock's address, four flag bits and the public function's name (__func__ of
 * the inline header function).  A few distinctions are only in the name: a try-lock never
 * blocks (the TRY flag also marks timed locks, which do wait), the upgradable mode is reported
 * as READ, and bit locks must not be tracked.  The names are string literals, one address per
 * function and program, so each is classified once and cached by address (under g_dbg_lock). */
#include <parking/export.h>

#include <stdint.h>
#include <string.h>

#include "debug_internal.h"

#define CACHE_SIZE 256u /* far more than the public lock functions */

static struct {
    const char *fn;
    unsigned bits;
} g_cache[CACHE_SIZE];

static unsigned classify(const char *fn)
{
    unsigned bits = 0;
    /* pl_mutex_trylock, pl_remutex_trylock, pl_rwlock_tryrdlock / trywrlock / tryuplock /
     * tryupgrade */
    if (strstr(fn, "_try"))
        bits |= PL_DBG_FN_NEVER_BLOCKS;
    /* pl_rwlock_uplock*, tryuplock, downgrade_to_upgradable, and a failed *upgrade*, which takes
     * the upgradable hold back (parking/rwlock.h) */
    if (strstr(fn, "uplock") || strstr(fn, "to_upgradable") ||
        (strstr(fn, "upgrade") && !strstr(fn, "downgrade")))
        bits |= PL_DBG_FN_UPGRADABLE;
    /* pl_rwlock_upunlock*, the upgrades (their READ release), downgrade_upgradable */
    if (strstr(fn, "upunlock") || strstr(fn, "upgrad"))
        bits |= PL_DBG_FN_RELEASES_UP;
    /* several bit locks share an address, and a bit lock has no owner (parking/debug.h) */
    if (strncmp(fn, "pl_bitlock", 10) == 0 || strncmp(fn, "pl_ptrlock", 10) == 0)
        bits |= PL_DBG_FN_UNTRACKED;
    return bits;
}

unsigned pl_dbg_fn_class(const char *fn)
{
    size_t i = ((uintptr_t)fn >> 3) % CACHE_SIZE;
    if (g_cache[i].fn != fn) {
        g_cache[i].fn = fn;
        g_cache[i].bits = classify(fn);
    }
    return g_cache[i].bits;
}

