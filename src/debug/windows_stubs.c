/* Debug mode on Windows: not available (docs/reliability.md), but its functions exist so that
 * the exported ABI is the same on every platform.  The build compiles this file instead of the
 * rest of src/debug/ there. */
#include <parking/debug.h>

#include <stdio.h>

/* The functions themselves, not the macros that add the call site. */
#undef pl_debug_lock_pre
#undef pl_debug_lock_post
#undef pl_debug_set_class
#undef pl_debug_nest

#include <string.h>

void pl_debug_lock_pre(const void *lock, unsigned flags, const char *fn)
{
    (void)lock, (void)flags, (void)fn;
}
void pl_debug_lock_post(const void *lock, unsigned flags, const char *fn)
{
    (void)lock, (void)flags, (void)fn;
}
void pl_debug_lock_pre_at(const void *lock, unsigned flags, const char *fn, void *site)
{
    (void)lock, (void)flags, (void)fn, (void)site;
}
void pl_debug_lock_post_at(const void *lock, unsigned flags, const char *fn, void *site)
{
    (void)lock, (void)flags, (void)fn, (void)site;
}
void pl_debug_unlock_pre(const void *lock, unsigned flags, const char *fn)
{
    (void)lock, (void)flags, (void)fn;
}
void pl_debug_unlock_post(const void *lock, unsigned flags, const char *fn)
{
    (void)lock, (void)flags, (void)fn;
}
void pl_debug_assert_held(const void *lock, unsigned flags, const char *fn)
{
    (void)lock, (void)flags, (void)fn;
}
void pl_debug_forget(const void *addr, size_t size) { (void)addr, (void)size; }
void pl_debug_set_class(const void *lock, const pl_debug_class_t *cls) { (void)lock, (void)cls; }
void pl_debug_nest(const void *lock, unsigned subclass) { (void)lock, (void)subclass; }
void pl_debug_get_stats(pl_debug_stats_t *stats) { memset(stats, 0, sizeof *stats); }

size_t pl_deadlock_check(FILE *out)
{
    if (out)
        fprintf(out, "libparking: pl_deadlock_check: debug mode is not available on Windows\n");
    return 0;
}
