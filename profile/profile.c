/* The contention profiler (include/parking/profile.h, docs/profiling.md): a fixed table of
 * (lock, call site) records fed by the contention hook, and its reports.
 *
 * One layer above src/: it uses the public headers only, and sees the slow paths through the
 * hook they report to.  The hook runs in the thread that waited, after its wait, with no lock
 * of the library held, so the table is updated with atomics alone: no lock, no allocation, and
 * a report may read it while other threads record.  Records are claimed in an open-addressing
 * table of PROFILE_SLOTS slots (a slot goes EMPTY -> FILLING -> READY once, until a reset);
 * an event whose record finds no slot within PROFILE_PROBES steps is counted as dropped. */
#include <parking/cas.h>
#include <parking/lot.h>
#include <parking/profile.h>

#include <stdlib.h>
#include <string.h>

#ifndef _WIN32
#  include <dlfcn.h>
#  include <pthread.h>
#  include <unistd.h>
#  define PROFILE_POSIX 1
#else
#  include <process.h>
#endif
/* backtrace() for the frames past the slow path's caller: glibc's, not musl's (musl has no
 * <execinfo.h>), where a record keeps the caller alone, as with PARKING_PROFILE_DEPTH=1. */
#if defined(PROFILE_POSIX) && defined(__has_include)
#  if __has_include(<execinfo.h>)
#    include <execinfo.h>
#    define PROFILE_BACKTRACE 1
#  endif
#endif

enum {
    PROFILE_SLOTS = 1024, /* power of two */
    PROFILE_PROBES = 32,
    PROFILE_MAX_DEPTH = 8,
    PROFILE_HIST = 32, /* log2 buckets of the wait in ns; the last holds 2^30 ns (1 s) and up */
    PROFILE_SITES_SHOWN = 8
};
enum { SLOT_EMPTY = 0, SLOT_FILLING = 1, SLOT_READY = 2 };

typedef struct slot {
    unsigned state;
    uint8_t primitive, mode, depth;
    const void *addr;
    void *frames[PROFILE_MAX_DEPTH]; /* innermost first: frames[0] is the slow path's caller */
    uint64_t contended, parks, failed, total_ns, max_ns;
    uint32_t hist[PROFILE_HIST];
} slot_t;

static slot_t table[PROFILE_SLOTS];
static uint64_t dropped;
static unsigned depth_setting = 4;

/* ---- Recording ---- */

#ifdef PROFILE_BACKTRACE
/* backtrace() loads the unwinder (and allocates) at its first call: a lock of ours taken
 * inside it must not capture again in the same thread. */
static _Thread_local unsigned char capturing;
#endif

static unsigned capture(const void *site, void **frames)
{
    frames[0] = (void *)site;
    unsigned depth = __atomic_load_n(&depth_setting, __ATOMIC_RELAXED);
#ifdef PROFILE_BACKTRACE
    if (depth <= 1 || capturing)
        return 1;
    capturing = 1;
    void *bt[PROFILE_MAX_DEPTH + 12];
    int n = backtrace(bt, (int)(depth + 12));
    capturing = 0;
    /* The frames inside the library (this hook, the slow path) come first, their number
     * depending on inlining: start at the site the slow path itself saw. */
    for (int i = 0; i < n; i++) {
        if (bt[i] != site)
            continue;
        unsigned k = 0;
        while (k < depth && i + (int)k < n) {
            frames[k] = bt[i + (int)k];
            k++;
        }
        return k;
    }
#endif
    (void)depth;
    return 1;
}

static uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v;
    h *= UINT64_C(0x9E3779B97F4A7C15);
    return h ^ (h >> 29);
}

static bool same_key(const slot_t *s, const pl_contention_t *ev, void *const *frames,
                     unsigned depth)
{
    return s->addr == ev->addr && s->primitive == ev->primitive && s->mode == ev->mode &&
           s->depth == depth && memcmp(s->frames, frames, depth * sizeof *frames) == 0;
}

static slot_t *find_slot(const pl_contention_t *ev, void *const *frames, unsigned depth)
{
    uint64_t h = mix(mix(0, (uintptr_t)ev->addr), (uint64_t)ev->primitive << 8 | ev->mode);
    for (unsigned i = 0; i < depth; i++)
        h = mix(h, (uintptr_t)frames[i]);
    for (unsigned p = 0; p < PROFILE_PROBES; p++) {
        slot_t *s = &table[(h + p) & (PROFILE_SLOTS - 1)];
        unsigned st = __atomic_load_n(&s->state, __ATOMIC_ACQUIRE);
        if (st == SLOT_EMPTY) {
            if (PL__CAS(&s->state, &st, SLOT_FILLING, false, __ATOMIC_ACQUIRE, __ATOMIC_ACQUIRE)) {
                s->addr = ev->addr;
                s->primitive = ev->primitive;
                s->mode = ev->mode;
                s->depth = (uint8_t)depth;
                memcpy(s->frames, frames, depth * sizeof *frames);
                __atomic_store_n(&s->state, SLOT_READY, __ATOMIC_RELEASE);
                return s;
            }
        }
        /* Another thread is writing this slot's key: a few stores. */
        while (st == SLOT_FILLING)
            st = __atomic_load_n(&s->state, __ATOMIC_ACQUIRE);
        if (st == SLOT_READY && same_key(s, ev, frames, depth))
            return s;
    }
    return NULL;
}

static unsigned hist_bucket(uint64_t ns)
{
    unsigned b = ns == 0 ? 0 : 64 - (unsigned)__builtin_clzll(ns);
    return b < PROFILE_HIST ? b : PROFILE_HIST - 1;
}

static void record(const pl_contention_t *ev)
{
    void *frames[PROFILE_MAX_DEPTH];
    unsigned depth = capture(ev->site, frames);
    slot_t *s = find_slot(ev, frames, depth);
    if (s == NULL) {
        __atomic_fetch_add(&dropped, 1, __ATOMIC_RELAXED);
        return;
    }
    uint64_t wait = ev->end_ns - ev->begin_ns;
    __atomic_fetch_add(&s->contended, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&s->parks, ev->parks, __ATOMIC_RELAXED);
    if (!ev->acquired)
        __atomic_fetch_add(&s->failed, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&s->total_ns, wait, __ATOMIC_RELAXED);
    uint64_t max = __atomic_load_n(&s->max_ns, __ATOMIC_RELAXED);
    while (wait > max &&
           !PL__CAS(&s->max_ns, &max, wait, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
    }
    __atomic_fetch_add(&s->hist[hist_bucket(wait)], 1, __ATOMIC_RELAXED);
}

/* ---- Start, stop, reset, fork ---- */

static void reset_table(void)
{
    for (unsigned i = 0; i < PROFILE_SLOTS; i++) {
        slot_t *s = &table[i];
        __atomic_store_n(&s->state, SLOT_FILLING, __ATOMIC_RELAXED);
        memset((char *)s + sizeof s->state, 0, sizeof *s - sizeof s->state);
        __atomic_store_n(&s->state, SLOT_EMPTY, __ATOMIC_RELEASE);
    }
    __atomic_store_n(&dropped, 0, __ATOMIC_RELAXED);
}

#ifdef PROFILE_POSIX
/* The child of a fork starts with an empty profile: the parent's counts are the parent's. */
static void child_after_fork(void) { reset_table(); }
#endif

void pl_profile_start(void)
{
#ifdef PROFILE_POSIX
    static unsigned char armed;
    if (!__atomic_exchange_n(&armed, 1, __ATOMIC_ACQ_REL)) {
        (void)pthread_atfork(NULL, NULL, child_after_fork);
#  ifdef PROFILE_BACKTRACE
        /* The unwinder's first load (and allocation) here, not inside a slow path. */
        void *bt[2];
        (void)backtrace(bt, 2);
#  endif
    }
#endif
    (void)pl_contention_hook(record);
}

void pl_profile_stop(void)
{
    /* Only our own hook: another one installed since is not ours to remove. */
    pl_contention_fn prev = pl_contention_hook(NULL);
    if (prev != NULL && prev != record)
        (void)pl_contention_hook(prev);
}

void pl_profile_reset(void) { reset_table(); }

/* ---- Reports ---- */

typedef struct totals {
    uint64_t contended, parks, failed, total_ns, max_ns;
    uint32_t hist[PROFILE_HIST];
} totals_t;

static uint64_t ld(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }

static bool ready(const slot_t *s)
{
    return __atomic_load_n(&s->state, __ATOMIC_ACQUIRE) == SLOT_READY;
}

static void add_slot(totals_t *t, const slot_t *s)
{
    t->contended += ld(&s->contended);
    t->parks += ld(&s->parks);
    t->failed += ld(&s->failed);
    t->total_ns += ld(&s->total_ns);
    uint64_t m = ld(&s->max_ns);
    if (m > t->max_ns)
        t->max_ns = m;
    for (unsigned b = 0; b < PROFILE_HIST; b++)
        t->hist[b] += __atomic_load_n(&s->hist[b], __ATOMIC_RELAXED);
}

static const char *primitive_name(unsigned p)
{
    static const char *const names[] = {"mutex", "bitlock",   "rwlock", "cond",   "wait",
                                        "event", "semaphore", "latch",  "barrier"};
    _Static_assert(sizeof names / sizeof *names == PL_PRIM_BARRIER + 1, "a primitive unnamed");
    return p < sizeof names / sizeof *names ? names[p] : "?";
}

static const char *mode_name(unsigned m)
{
    static const char *const names[] = {"exclusive", "shared", "upgradable", "upgrade", "wait"};
    return m < sizeof names / sizeof *names ? names[m] : "?";
}

static bool is_lock(const slot_t *s) { return s->primitive <= PL_PRIM_RWLOCK; }

#ifdef PROFILE_POSIX
static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash != NULL ? slash + 1 : path;
}
#endif

/* Whether a frame lies in libparking or libparking-pthread (the site shown is the first frame
 * outside them: under libparking-pthread the slow path's caller is pthread_mutex_lock). */
static bool in_library(const void *pc)
{
#ifdef PROFILE_POSIX
    Dl_info di;
    if (dladdr((const char *)pc - 1, &di) && di.dli_fname != NULL)
        return strncmp(base_name(di.dli_fname), "libparking", 10) == 0;
#endif
    (void)pc;
    return false;
}

/* "symbol+0xoff (object)", or "object+0xoff", or the address; `bare`: the symbol alone (flame
 * graphs merge the frames of one function). */
static void print_frame(FILE *out, const void *pc, bool bare)
{
#ifdef PROFILE_POSIX
    Dl_info di;
    /* pc - 1: a return address may lie just past the end of its function. */
    if (dladdr((const char *)pc - 1, &di)) {
        const char *obj = di.dli_fname != NULL ? base_name(di.dli_fname) : "?";
        if (di.dli_sname != NULL && bare)
            fprintf(out, "%s", di.dli_sname);
        else if (di.dli_sname != NULL)
            fprintf(out, "%s+0x%lx (%s)", di.dli_sname,
                    (unsigned long)((const char *)pc - (const char *)di.dli_saddr), obj);
        else
            fprintf(out, "%s+0x%lx", obj,
                    (unsigned long)((const char *)pc - (const char *)di.dli_fbase));
        return;
    }
#endif
    (void)bare;
    fprintf(out, "%p", pc);
}

static unsigned first_user_frame(const slot_t *s)
{
    for (unsigned i = 0; i < s->depth; i++) {
        if (!in_library(s->frames[i]))
            return i;
    }
    return 0;
}

static void print_ms(FILE *out, const char *label, uint64_t ns)
{
    fprintf(out, "%s%.3f ms", label, (double)ns / 1e6);
}

static void print_hist(FILE *out, const uint32_t *hist)
{
    static const char *const units[] = {"ns", "us", "ms", "s"};
    fprintf(out, "      wait histogram:");
    for (unsigned b = 0; b < PROFILE_HIST; b++) {
        if (hist[b] == 0)
            continue;
        /* Bucket b holds waits in [2^(b-1), 2^b) ns. */
        uint64_t lo = b == 0 ? 0 : (uint64_t)1 << (b - 1);
        unsigned u = 0;
        uint64_t scale = 1;
        while (u < 3 && lo >= scale * 1000) {
            scale *= 1000;
            u++;
        }
        fprintf(out, " %s%llu%s:%u", b == PROFILE_HIST - 1 ? ">=" : "",
                (unsigned long long)(lo / scale), units[u], hist[b]);
    }
    fprintf(out, "\n");
}

/* The records of one lock (address and primitive), largest total wait first. */
static unsigned lock_sites(const slot_t *head, unsigned *idx)
{
    unsigned n = 0;
    for (unsigned i = 0; i < PROFILE_SLOTS; i++) {
        const slot_t *s = &table[i];
        if (ready(s) && s->addr == head->addr && s->primitive == head->primitive)
            idx[n++] = i;
    }
    for (unsigned i = 1; i < n; i++) {
        for (unsigned j = i; j > 0 && ld(&table[idx[j]].total_ns) > ld(&table[idx[j - 1]].total_ns);
             j--) {
            unsigned t = idx[j];
            idx[j] = idx[j - 1];
            idx[j - 1] = t;
        }
    }
    return n;
}

/* One entry per lock: the first slot holding its (address, primitive). */
static bool is_head(unsigned i)
{
    const slot_t *s = &table[i];
    if (!ready(s))
        return false;
    for (unsigned j = 0; j < i; j++) {
        const slot_t *o = &table[j];
        if (ready(o) && o->addr == s->addr && o->primitive == s->primitive)
            return false;
    }
    return true;
}

static uint64_t lock_total(const slot_t *head)
{
    uint64_t t = 0;
    for (unsigned i = 0; i < PROFILE_SLOTS; i++) {
        const slot_t *s = &table[i];
        if (ready(s) && s->addr == head->addr && s->primitive == head->primitive)
            t += ld(&s->total_ns);
    }
    return t;
}

static void report_section(FILE *out, bool locks, unsigned top)
{
    uint16_t heads[PROFILE_SLOTS];
    uint64_t totals[PROFILE_SLOTS];
    unsigned n = 0;
    for (unsigned i = 0; i < PROFILE_SLOTS; i++) {
        if (is_head(i) && is_lock(&table[i]) == locks) {
            heads[n] = (uint16_t)i;
            totals[n++] = lock_total(&table[i]);
        }
    }
    fprintf(out, "%s (%u), top %u by total wait:\n",
            locks ? "Contended locks"
                  : "Waits (condition variables, pl_wait, events, semaphores, latches, barriers)",
            n, n < top ? n : top);
    unsigned sites[PROFILE_SLOTS];
    for (unsigned rank = 0; rank < top && rank < n; rank++) {
        unsigned best = rank;
        for (unsigned j = rank + 1; j < n; j++) {
            if (totals[j] > totals[best])
                best = j;
        }
        uint16_t h = heads[best];
        uint64_t tt = totals[best];
        heads[best] = heads[rank];
        totals[best] = totals[rank];
        heads[rank] = h;
        totals[rank] = tt;

        const slot_t *head = &table[h];
        unsigned ns = lock_sites(head, sites);
        totals_t t;
        memset(&t, 0, sizeof t);
        for (unsigned k = 0; k < ns; k++)
            add_slot(&t, &table[sites[k]]);
        fprintf(out, "%3u. %s %p: %s %llu, parks %llu, timed out %llu, ", rank + 1,
                primitive_name(head->primitive), head->addr, locks ? "contended" : "waits",
                (unsigned long long)t.contended, (unsigned long long)t.parks,
                (unsigned long long)t.failed);
        print_ms(out, "wait total ", t.total_ns);
        print_ms(out, ", max ", t.max_ns);
        print_ms(out, ", mean ", t.contended ? t.total_ns / t.contended : 0);
        fprintf(out, "\n");
        print_hist(out, t.hist);
        for (unsigned k = 0; k < ns && k < PROFILE_SITES_SHOWN; k++) {
            const slot_t *s = &table[sites[k]];
            fprintf(out, "      %llu (%s, ", (unsigned long long)ld(&s->contended),
                    mode_name(s->mode));
            print_ms(out, "", ld(&s->total_ns));
            fprintf(out, ") at ");
            for (unsigned f = first_user_frame(s); f < s->depth; f++) {
                if (f > first_user_frame(s))
                    fprintf(out, " <- ");
                print_frame(out, s->frames[f], false);
            }
            fprintf(out, "\n");
        }
        if (ns > PROFILE_SITES_SHOWN)
            fprintf(out, "      ... %u more call sites\n", ns - PROFILE_SITES_SHOWN);
    }
}

static void report_text(FILE *out, unsigned top, size_t records)
{
    totals_t all;
    memset(&all, 0, sizeof all);
    for (unsigned i = 0; i < PROFILE_SLOTS; i++) {
        if (ready(&table[i]) && is_lock(&table[i]))
            add_slot(&all, &table[i]);
    }
#ifdef PROFILE_POSIX
    long pid = (long)getpid();
#else
    long pid = (long)_getpid();
#endif
    fprintf(out,
            "libparking contention profile (pid %ld): %llu contended acquisitions, %llu parks, ",
            pid, (unsigned long long)all.contended, (unsigned long long)all.parks);
    print_ms(out, "", all.total_ns);
    fprintf(out, " waited; %zu records, %llu events dropped (table full)\n", records,
            (unsigned long long)ld(&dropped));
    report_section(out, true, top);
    report_section(out, false, top);
}

static void report_csv(FILE *out)
{
    fprintf(out, "lock,primitive,mode,site,site_symbol,frames,contended,parks,timed_out,"
                 "wait_total_ns,wait_max_ns,wait_log2_histogram\n");
    for (unsigned i = 0; i < PROFILE_SLOTS; i++) {
        const slot_t *s = &table[i];
        if (!ready(s))
            continue;
        unsigned u = first_user_frame(s);
        fprintf(out, "%p,%s,%s,%p,", s->addr, primitive_name(s->primitive), mode_name(s->mode),
                s->frames[u]);
        print_frame(out, s->frames[u], true);
        fprintf(out, ",");
        for (unsigned f = 0; f < s->depth; f++) {
            if (f > 0)
                fprintf(out, ";");
            print_frame(out, s->frames[f], true);
        }
        fprintf(out, ",%llu,%llu,%llu,%llu,%llu,", (unsigned long long)ld(&s->contended),
                (unsigned long long)ld(&s->parks), (unsigned long long)ld(&s->failed),
                (unsigned long long)ld(&s->total_ns), (unsigned long long)ld(&s->max_ns));
        for (unsigned b = 0; b < PROFILE_HIST; b++)
            fprintf(out, "%s%u", b ? " " : "", __atomic_load_n(&s->hist[b], __ATOMIC_RELAXED));
        fprintf(out, "\n");
    }
}

static void report_folded(FILE *out)
{
    for (unsigned i = 0; i < PROFILE_SLOTS; i++) {
        const slot_t *s = &table[i];
        if (!ready(s))
            continue;
        for (unsigned f = s->depth; f-- > 0;) {
            print_frame(out, s->frames[f], true);
            fprintf(out, ";");
        }
        uint64_t us = (ld(&s->total_ns) + 999) / 1000;
        fprintf(out, "%s %p %llu\n", primitive_name(s->primitive), s->addr,
                (unsigned long long)(us ? us : 1));
    }
}

size_t pl_profile_report(FILE *out, pl_profile_format_t format, unsigned top)
{
    if (out == NULL)
        out = stderr;
    size_t records = 0;
    for (unsigned i = 0; i < PROFILE_SLOTS; i++)
        records += ready(&table[i]);
    switch (format) {
    case PL_PROFILE_CSV: report_csv(out); break;
    case PL_PROFILE_FOLDED: report_folded(out); break;
    default: report_text(out, top ? top : 10, records); break;
    }
    fflush(out);
    return records;
}

/* ---- PARKING_PROFILE ---- */

static char env_path[4096];
static pl_profile_format_t env_format;
static unsigned env_top;

static void report_at_exit(void)
{
    FILE *out = stderr;
    if (env_path[0] != '\0') {
        out = fopen(env_path, "a");
        if (out == NULL)
            out = stderr;
    }
    (void)pl_profile_report(out, env_format, env_top);
    if (out != stderr)
        fclose(out);
}

bool pl_profile_from_env(void)
{
    static unsigned char claimed;
    if (__atomic_exchange_n(&claimed, 1, __ATOMIC_ACQ_REL) != 0)
        return false;
    const char *v = getenv("PARKING_PROFILE");
    if (v == NULL || v[0] == '\0' || strcmp(v, "0") == 0)
        return false;
    if (strcmp(v, "1") != 0 && strlen(v) < sizeof env_path)
        memcpy(env_path, v, strlen(v) + 1);
    const char *f = getenv("PARKING_PROFILE_FORMAT");
    if (f != NULL && strcmp(f, "csv") == 0)
        env_format = PL_PROFILE_CSV;
    else if (f != NULL && strcmp(f, "folded") == 0)
        env_format = PL_PROFILE_FOLDED;
    const char *d = getenv("PARKING_PROFILE_DEPTH");
    if (d != NULL) {
        long n = strtol(d, NULL, 10);
        if (n >= 1 && n <= PROFILE_MAX_DEPTH)
            __atomic_store_n(&depth_setting, (unsigned)n, __ATOMIC_RELAXED);
    }
    const char *t = getenv("PARKING_PROFILE_TOP");
    if (t != NULL && strtol(t, NULL, 10) > 0)
        env_top = (unsigned)strtol(t, NULL, 10);
    (void)atexit(report_at_exit);
    pl_profile_start();
    return true;
}
