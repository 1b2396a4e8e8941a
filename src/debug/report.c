/* Debug mode: formatting its messages (call sites, threads) and printing them.
 *
 * A message is built whole in a buffer and written with one call, so that lines of two reports
 * (or of a report and the program's own output) do not interleave. */
#include <parking/export.h>

#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "debug_internal.h"

void pl_dbg_text_add(pl_dbg_text_t *t, const char *fmt, ...)
{
    if (t->len >= sizeof t->buf - 1)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->buf + t->len, sizeof t->buf - t->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        t->len += (size_t)n;
    if (t->len >= sizeof t->buf)
        t->len = sizeof t->buf - 1; /* truncated */
}

void pl_dbg_text_site(pl_dbg_text_t *t, void *site)
{
    pl_dbg_text_add(t, " at %p", site);
    /* The object and the offset in it are what addr2line needs (-e <object> <offset - 1>: a
     * return address points just after the call).  dladdr reads the loader's tables only. */
    Dl_info info;
    if (site && dladdr(site, &info) && info.dli_fname && info.dli_fbase) {
        const char *base = strrchr(info.dli_fname, '/');
        base = base ? base + 1 : info.dli_fname;
        pl_dbg_text_add(t, " (%s+0x%lx", base,
                        (unsigned long)((const char *)site - (const char *)info.dli_fbase));
        if (info.dli_sname && info.dli_saddr)
            pl_dbg_text_add(t, ", %s+0x%lx", info.dli_sname,
                            (unsigned long)((const char *)site - (const char *)info.dli_saddr));
        pl_dbg_text_add(t, ")");
    }
}

void pl_dbg_text_thread(pl_dbg_text_t *t, unsigned long id)
{
    pl_dbg_text_add(t, "thread %lu", id);
    pl_dbg_thread_t *th = pl_dbg_thread_by_id(id);
    if (th == NULL)
        pl_dbg_text_add(t, " (gone)");
    else if (th->exited)
        pl_dbg_text_add(t, " (exited)");
    else if (th->tid)
        pl_dbg_text_add(t, " (tid %ld)", th->tid);
}

static void print(const char *fn, const void *lock, const pl_dbg_text_t *text)
{
    char line[sizeof text->buf + 256];
    int n = snprintf(line, sizeof line, "libparking: %s(%p): %.*s\n", fn, lock, (int)text->len,
                     text->buf);
    if (n > (int)sizeof line - 1)
        n = (int)sizeof line - 1;
    fwrite(line, 1, (size_t)n, stderr);
    fflush(stderr);
}

_Noreturn void pl_dbg_fail(const char *fn, const void *lock, const pl_dbg_text_t *text)
{
    print(fn, lock, text);
    abort();
}

void pl_dbg_warn(const char *fn, const void *lock, const pl_dbg_text_t *text)
{
    print(fn, lock, text);
}
