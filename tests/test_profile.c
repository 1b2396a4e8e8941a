/* The contention profiler (include/parking/profile.h, docs/profiling.md): its counts against the
 * program's own, its ranking and call sites, stop / reset, the fixed table's drop count, fork,
 * reports while threads record, and PARKING_PROFILE.
 *
 * A contended acquisition is made deterministic two ways: a lock_until with a deadline already
 * past on a held lock (one thread: the slow path tries once and fails: contended, timed out, no
 * park), and a second thread that locks while the main thread holds the lock, released only
 * once the waiter is seen queued (contended, exactly one park).  The program is linked with
 * -rdynamic (ENABLE_EXPORTS) so that dladdr names its functions.  The waits of the other
 * primitives (semaphore, latch, a condition wait with a read lock) are let go one round at a
 * time, and released once their waiter is seen queued: one wait, one park each. */
#include "test_util.h"

#include <parking/cond_any.h>
#include <parking/latch.h>
#include <parking/mutex.h>
#include <parking/profile.h>
#include <parking/semaphore.h>
#include <sys/wait.h>
#include <unistd.h>

/* The call sites the report must name: kept out of line and exported. */
void take_hot(pl_mutex_t *m);
void take_cold(pl_mutex_t *m);
PARKING_NOINLINE void take_hot(pl_mutex_t *m)
{
    pl_mutex_lock(m);
    pl_mutex_unlock(m);
}
PARKING_NOINLINE void take_cold(pl_mutex_t *m)
{
    pl_mutex_lock(m);
    pl_mutex_unlock(m);
}

/* The whole report in a string (the caller frees it). */
static char *report_string(pl_profile_format_t format, size_t *records)
{
    FILE *f = tmpfile();
    ck_assert_ptr_nonnull(f);
    size_t n = pl_profile_report(f, format, 10);
    if (records != NULL)
        *records = n;
    long len = ftell(f);
    ck_assert_int_ge(len, 0);
    char *buf = malloc((size_t)len + 1);
    ck_assert_ptr_nonnull(buf);
    rewind(f);
    ck_assert_uint_eq(fread(buf, 1, (size_t)len, f), (size_t)len);
    buf[len] = '\0';
    fclose(f);
    return buf;
}

typedef struct csv_sum {
    unsigned long long contended, parks, timed_out, total_ns;
    unsigned rows;
    char frames[512]; /* the frames of the last row seen */
} csv_sum_t;

/* Sums the CSV rows of one lock. */
static csv_sum_t csv_lock(const char *csv, const void *lock)
{
    csv_sum_t s;
    memset(&s, 0, sizeof s);
    char key[40];
    snprintf(key, sizeof key, "%p,", lock);
    for (const char *line = csv; line != NULL && *line != '\0';) {
        const char *end = strchr(line, '\n');
        if (strncmp(line, key, strlen(key)) == 0) {
            /* lock,primitive,mode,site,site_symbol,frames,contended,parks,timed_out,total,... */
            const char *p = line;
            for (int field = 0; field < 4; field++)
                p = strchr(p, ',') + 1;
            p = strchr(p, ',') + 1; /* past site_symbol */
            const char *frames_end = strchr(p, ',');
            size_t n = (size_t)(frames_end - p) < sizeof s.frames ? (size_t)(frames_end - p)
                                                                  : sizeof s.frames - 1;
            memcpy(s.frames, p, n);
            s.frames[n] = 0;
            p = frames_end + 1;
            unsigned long long c, k, t, w;
            ck_assert_int_eq(sscanf(p, "%llu,%llu,%llu,%llu", &c, &k, &t, &w), 4);
            s.contended += c;
            s.parks += k;
            s.timed_out += t;
            s.total_ns += w;
            s.rows++;
        }
        line = end != NULL ? end + 1 : NULL;
    }
    return s;
}

/* ---- Deliberate contention at known rates ---- */

typedef struct contender {
    pl_mutex_t *m;
    void (*take)(pl_mutex_t *);
    unsigned rounds;
    atomic_uint turn; /* rounds the holder has armed */
    atomic_uint done; /* rounds the contender has finished */
} contender_t;

static void *contend(void *arg)
{
    contender_t *c = arg;
    for (unsigned i = 1; i <= c->rounds; i++) {
        unsigned polls = 0;
        while (atomic_load(&c->turn) < i)
            tu_backoff(&polls);
        c->take(c->m);
        atomic_store(&c->done, i);
    }
    return NULL;
}

/* Holds c->m for each round until the contender is queued on it (so that its acquisition is
 * contended and parks exactly once), then `hold_ns` longer. */
static void drive(contender_t *c, uint64_t hold_ns)
{
    pthread_t t;
    tu_spawn(&t, contend, c);
    for (unsigned i = 1; i <= c->rounds; i++) {
        pl_mutex_lock(c->m);
        atomic_store(&c->turn, i);
        tu_wait_queued(c->m, 1);
        if (hold_ns)
            tu_sleep_ns(hold_ns);
        pl_mutex_unlock(c->m);
        unsigned polls = 0;
        while (atomic_load(&c->done) < i)
            tu_backoff(&polls);
    }
    tu_join(t);
}

enum { HOT_ROUNDS = 20, COLD_ROUNDS = 6 };
#define HOT_HOLD_NS (5 * TU_MS)

START_TEST(two_locks_ranked_with_counts_and_sites)
{
    static pl_mutex_t hot, cold;
    pl_profile_reset();
    pl_profile_start();
    contender_t h = {&hot, take_hot, HOT_ROUNDS, 0, 0};
    contender_t c = {&cold, take_cold, COLD_ROUNDS, 0, 0};
    drive(&c, 0);
    drive(&h, HOT_HOLD_NS); /* at least 100 ms waited on `hot` */
    pl_profile_stop();

    char *csv = report_string(PL_PROFILE_CSV, NULL);
    csv_sum_t hs = csv_lock(csv, &hot), cs = csv_lock(csv, &cold);
    /* Every acquisition of the contender was contended and parked once; the holder's never. */
    ck_assert_uint_eq(hs.contended, HOT_ROUNDS);
    ck_assert_uint_eq(hs.parks, HOT_ROUNDS);
    ck_assert_uint_eq(hs.timed_out, 0);
    ck_assert_uint_eq(cs.contended, COLD_ROUNDS);
    ck_assert_uint_eq(cs.parks, COLD_ROUNDS);
    ck_assert_uint_eq(hs.rows, 1);
    ck_assert_uint_eq(cs.rows, 1);
    /* The call site is the first frame with optimisation; without it (a Debug build) the
     * header's inline functions are real functions of this program, the first frames. */
    ck_assert_msg(strstr(hs.frames, "take_hot") != NULL, "frames %s", hs.frames);
    ck_assert_msg(strstr(cs.frames, "take_cold") != NULL, "frames %s", cs.frames);
    ck_assert_uint_ge(hs.total_ns, HOT_ROUNDS * HOT_HOLD_NS);
    free(csv);

    /* The text report ranks by total wait, with each lock's call site.  `hot` waited at least
     * 100 ms; `cold` only as long as the main thread took to see its waiter queued, which is
     * far less, except on a machine so loaded (valgrind, a load average of 30) that a few
     * scheduling delays add up to more: the order checked is the order of the totals. */
    bool hot_first = hs.total_ns > cs.total_ns;
    char *text = report_string(PL_PROFILE_TEXT, NULL);
    char first[64], second[64];
    snprintf(first, sizeof first, "  %d. mutex %p: contended %d,", hot_first ? 1 : 2, (void *)&hot,
             HOT_ROUNDS);
    snprintf(second, sizeof second, "  %d. mutex %p: contended %d,", hot_first ? 2 : 1,
             (void *)&cold, COLD_ROUNDS);
    const char *ph = strstr(text, first), *pc = strstr(text, second);
    ck_assert_msg(ph != NULL && pc != NULL && (ph < pc) == hot_first, "ranking wrong:\n%s", text);
    const char *site_h = strstr(ph, "take_hot+0x"), *site_c = strstr(pc, "take_cold+0x");
    ck_assert_msg(site_h != NULL && site_c != NULL, "call sites wrong:\n%s", text);
    ck_assert_msg(hot_first ? site_h < pc : site_c < ph, "call sites wrong:\n%s", text);
    free(text);

    /* Folded stacks: the caller of the call site above it, the lock as the leaf. */
    char *folded = report_string(PL_PROFILE_FOLDED, NULL);
    char leaf[64];
    snprintf(leaf, sizeof leaf, ";mutex %p ", (void *)&hot);
    const char *line = strstr(folded, leaf);
    ck_assert_msg(line != NULL, "no '%s' in:\n%s", leaf, folded);
    while (line > folded && line[-1] != '\n')
        line--;
    const char *frame = strstr(line, "take_hot;");
    ck_assert_msg(frame != NULL && frame < strstr(line, leaf), "no take_hot frame in:\n%s", folded);
    free(folded);
}
END_TEST

/* ---- The waits of the other primitives: each round parks exactly once ---- */

/* One call site per primitive, as take_hot. */
void wait_sem(void *obj);
void wait_latch(void *obj);
void wait_cond_read(void *obj);
/* The barrier keeps the wait from being a tail call, which would leave no frame of the site. */
PARKING_NOINLINE void wait_sem(void *obj)
{
    pl_sem_wait(obj);
    __asm__ volatile("" ::: "memory");
}
PARKING_NOINLINE void wait_latch(void *obj)
{
    pl_latch_wait(obj);
    __asm__ volatile("" ::: "memory");
}

typedef struct cond_rw {
    pl_cond_t c;
    pl_rwlock_t l;
} cond_rw_t;

PARKING_NOINLINE void wait_cond_read(void *obj)
{
    cond_rw_t *cr = obj;
    pl_rwlock_rdlock(&cr->l);
    pl_cond_wait_read(&cr->c, &cr->l); /* the waiter is queued: no predicate needed */
    pl_rwlock_rdunlock(&cr->l);
}

typedef struct waiter {
    void (*wait)(void *);
    void *obj;
    unsigned rounds;
    atomic_uint turn; /* rounds the main thread has armed */
    atomic_uint done; /* rounds the waiter has finished */
} waiter_t;

static void *wait_rounds(void *arg)
{
    waiter_t *w = arg;
    for (unsigned i = 1; i <= w->rounds; i++) {
        unsigned polls = 0;
        while (atomic_load(&w->turn) < i)
            tu_backoff(&polls);
        w->wait(w->obj);
        atomic_store(&w->done, i);
    }
    return NULL;
}

/* Each round: `arm` (if any) closes the primitive, the waiter is let go and seen queued on
 * `queue` (its one park), then `release` lets it through. */
static void drive_waits(waiter_t *w, const void *queue, void (*arm)(void *),
                        void (*release)(void *))
{
    pthread_t t;
    tu_spawn(&t, wait_rounds, w);
    for (unsigned i = 1; i <= w->rounds; i++) {
        if (arm != NULL)
            arm(w->obj);
        atomic_store(&w->turn, i);
        tu_wait_queued(queue, 1);
        release(w->obj);
        unsigned polls = 0;
        while (atomic_load(&w->done) < i)
            tu_backoff(&polls);
    }
    tu_join(t);
}

static void post_sem(void *obj) { ck_assert_int_eq(pl_sem_post(obj), 0); }
static void arm_latch(void *obj) { ck_assert_int_eq(pl_latch_init(obj, 1), 0); }
static void open_latch(void *obj) { pl_latch_count_down(obj, 1); }
static void signal_cond(void *obj) { ck_assert(pl_cond_signal(&((cond_rw_t *)obj)->c)); }

/* The one CSV row of `addr`: its primitive and mode, and the counts of a wait per round. */
static void check_waits(const char *csv, const void *addr, const char *prim, unsigned rounds,
                        const char *site)
{
    csv_sum_t s = csv_lock(csv, addr);
    ck_assert_uint_eq(s.rows, 1);
    ck_assert_uint_eq(s.contended, rounds);
    ck_assert_uint_eq(s.parks, rounds);
    ck_assert_uint_eq(s.timed_out, 0);
    char key[64];
    snprintf(key, sizeof key, "%p,%s,wait,", addr, prim);
    ck_assert_msg(strstr(csv, key) != NULL, "no '%s' in:\n%s", key, csv);
    ck_assert_msg(strstr(s.frames, site) != NULL, "frames %s", s.frames);
    /* The first frame is the caller's code (or, at -O0, the header's inline functions), never
     * an exported slow path calling another one (pl_cond_wait_rwlock_slow). */
    char first[sizeof s.frames];
    snprintf(first, sizeof first, "%s", s.frames);
    first[strcspn(first, ";")] = '\0';
    ck_assert_msg(strstr(first, "_slow") == NULL, "frames %s", s.frames);
}

enum { WAIT_ROUNDS = 8 };

START_TEST(semaphore_latch_cond_any_waits_recorded)
{
    static pl_sem_t sem;
    static pl_latch_t latch;
    static cond_rw_t cr;
    ck_assert_int_eq(pl_sem_init(&sem, 0), 0);
    pl_profile_reset();
    pl_profile_start();
    waiter_t ws = {wait_sem, &sem, WAIT_ROUNDS, 0, 0};
    waiter_t wl = {wait_latch, &latch, WAIT_ROUNDS, 0, 0};
    waiter_t wc = {wait_cond_read, &cr, WAIT_ROUNDS, 0, 0};
    drive_waits(&ws, &sem, NULL, post_sem);
    drive_waits(&wl, &latch, arm_latch, open_latch);
    drive_waits(&wc, &cr.c, NULL, signal_cond);
    pl_profile_stop();

    char *csv = report_string(PL_PROFILE_CSV, NULL);
    check_waits(csv, &sem, "semaphore", WAIT_ROUNDS, "wait_sem");
    check_waits(csv, &latch, "latch", WAIT_ROUNDS, "wait_latch");
    /* The wait with a read lock is the condition variable's; the call site is the caller's,
     * through pl_cond_wait_rwlock_slow into the generic wait. */
    check_waits(csv, &cr.c, "cond", WAIT_ROUNDS, "wait_cond_read");
    ck_assert_uint_eq(csv_lock(csv, &cr.l).rows, 0); /* the relock was never contended */
    free(csv);

    /* They are waits, not locks: the text report lists them under the waits. */
    char *text = report_string(PL_PROFILE_TEXT, NULL);
    const char *waits = strstr(text, "Waits (");
    char line[64];
    snprintf(line, sizeof line, "semaphore %p: waits %d,", (void *)&sem, WAIT_ROUNDS);
    const char *at = strstr(text, line);
    ck_assert_msg(waits != NULL && at != NULL && at > waits, "semaphore not a wait:\n%s", text);
    free(text);
}
END_TEST

/* ---- One thread: a held lock and a deadline already past ---- */

static void contend_once(pl_mutex_t *m) { ck_assert(!pl_mutex_lock_until(m, 1)); }

START_TEST(stop_and_reset)
{
    static pl_mutex_t m;
    pl_profile_reset();
    pl_mutex_lock(&m);
    pl_profile_start();
    for (int i = 0; i < 5; i++)
        contend_once(&m);
    pl_profile_stop();
    for (int i = 0; i < 3; i++)
        contend_once(&m); /* not recorded */
    char *csv = report_string(PL_PROFILE_CSV, NULL);
    csv_sum_t s = csv_lock(csv, &m);
    ck_assert_uint_eq(s.contended, 5);
    ck_assert_uint_eq(s.timed_out, 5);
    ck_assert_uint_eq(s.parks, 0);
    free(csv);
    pl_profile_reset();
    size_t records = 1;
    free(report_string(PL_PROFILE_TEXT, &records));
    ck_assert_uint_eq(records, 0);
    pl_mutex_unlock(&m);
}
END_TEST

enum { MANY_LOCKS = 1100 }; /* more than the table's 1024 records */

START_TEST(full_table_counts_drops)
{
    static pl_mutex_t locks[MANY_LOCKS];
    pl_profile_reset();
    pl_profile_start();
    for (int i = 0; i < MANY_LOCKS; i++) {
        pl_mutex_lock(&locks[i]);
        contend_once(&locks[i]);
        pl_mutex_unlock(&locks[i]);
    }
    pl_profile_stop();
    size_t records;
    char *text = report_string(PL_PROFILE_TEXT, &records);
    unsigned long long contended, parks, dropped;
    double ms;
    size_t rec2;
    ck_assert_int_eq(sscanf(text,
                            "libparking contention profile (pid %*d): %llu contended acquisitions, "
                            "%llu parks, %lf ms waited; %zu records, %llu events dropped",
                            &contended, &parks, &ms, &rec2, &dropped),
                     5);
    ck_assert_uint_le(records, 1024);
    ck_assert_uint_eq(rec2, records);
    ck_assert_uint_eq(contended, records);
    ck_assert_uint_eq(contended + dropped, MANY_LOCKS);
    free(text);
}
END_TEST

START_TEST(fork_child_starts_empty)
{
    static pl_mutex_t m;
    pl_profile_reset();
    pl_profile_start();
    pl_mutex_lock(&m);
    contend_once(&m);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        size_t before = pl_profile_report(fopen("/dev/null", "w"), PL_PROFILE_CSV, 0);
        pl_mutex_t n = PL_MUTEX_INIT;
        pl_mutex_lock(&n);
        bool failed = pl_mutex_lock_until(&n, 1);
        size_t after = pl_profile_report(fopen("/dev/null", "w"), PL_PROFILE_CSV, 0);
        _exit(before == 0 && after == 1 && !failed ? 0 : 1);
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    size_t records;
    free(report_string(PL_PROFILE_CSV, &records));
    ck_assert_uint_eq(records, 1); /* the parent's own is still there */
    pl_mutex_unlock(&m);
    pl_profile_stop();
}
END_TEST

/* ---- Reports while other threads record ---- */

typedef struct recorder {
    pl_mutex_t *m;
    atomic_bool *stop;
    unsigned long count;
} recorder_t;

static void *record_loop(void *arg)
{
    recorder_t *r = arg;
    while (!atomic_load(r->stop)) {
        if (!pl_mutex_lock_until(r->m, 1))
            r->count++;
        else
            pl_mutex_unlock(r->m);
    }
    return NULL;
}

START_TEST(report_while_recording)
{
    static pl_mutex_t m;
    atomic_bool stop = false;
    pl_profile_reset();
    pl_profile_start();
    pl_mutex_lock(&m);
    recorder_t r[2] = {{&m, &stop, 0}, {&m, &stop, 0}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        tu_spawn(&t[i], record_loop, &r[i]);
    FILE *null = fopen("/dev/null", "w");
    ck_assert_ptr_nonnull(null);
    for (int i = 0; i < 20; i++)
        (void)pl_profile_report(null, (pl_profile_format_t)(i % 3), 5);
    fclose(null);
    atomic_store(&stop, true);
    for (int i = 0; i < 2; i++)
        tu_join(t[i]);
    pl_profile_stop();
    char *csv = report_string(PL_PROFILE_CSV, NULL);
    csv_sum_t s = csv_lock(csv, &m);
    ck_assert_uint_eq(s.contended, r[0].count + r[1].count);
    ck_assert_uint_eq(s.timed_out, s.contended);
    free(csv);
    pl_mutex_unlock(&m);
}
END_TEST

/* ---- PARKING_PROFILE: read at the first slow path, report at exit ---- */

START_TEST(environment_profiles_and_reports_at_exit)
{
    /* The variable is read once per process, at its first slow path: run in a fresh child. */
    char path[] = "/tmp/parking-profile-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        setenv("PARKING_PROFILE", path, 1);
        setenv("PARKING_PROFILE_FORMAT", "csv", 1);
        static pl_mutex_t m;
        pl_mutex_lock(&m);
        for (int i = 0; i < 4; i++)
            (void)pl_mutex_lock_until(&m, 1);
        exit(0); /* atexit: the report */
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    char line[512];
    unsigned long long contended = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        const char *p = line;
        int field = 0;
        while (field < 6 && (p = strchr(p, ',')) != NULL) {
            p++;
            field++;
        }
        unsigned long long c;
        if (p != NULL && field == 6 && sscanf(p, "%llu", &c) == 1)
            contended += c;
    }
    fclose(f);
    unlink(path);
    /* All four, the first too: it reads the environment, which starts the profiler before
     * the slow path looks for the hook. */
    ck_assert_uint_eq(contended, 4);
}
END_TEST

static Suite *profile_suite(void)
{
    Suite *s = suite_create("profile");
    TCase *tc = tu_tcase(s, "profile", 60);
    tcase_add_test(tc, two_locks_ranked_with_counts_and_sites);
    tcase_add_test(tc, semaphore_latch_cond_any_waits_recorded);
    tcase_add_test(tc, stop_and_reset);
    tcase_add_test(tc, full_table_counts_drops);
    tcase_add_test(tc, fork_child_starts_empty);
    tcase_add_test(tc, report_while_recording);
    const char *fork_mode = getenv("CK_FORK");
    if (fork_mode == NULL || strcmp(fork_mode, "no") != 0)
        tcase_add_test(tc, environment_profiles_and_reports_at_exit);
    return s;
}

int main(void) { return tu_run_suite(profile_suite()); }
