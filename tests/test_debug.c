/* Tests of debug mode: include/parking/debug.h (owner tracking, lock order, pl_deadlock_check).
 *
 * This file turns debug mode on for itself (PARKING_DEBUG 1 before any lock header), so it runs
 * in every build, not only in a PARKING_DEBUG=ON one: the hooks are compiled into the caller,
 * and the library always has the checker (POSIX).  On Windows, where debug mode does not exist,
 * it only checks that the functions are inert.
 *
 * Every message has a test that runs the misuse in a forked child (tu_expect_abort_message),
 * expects SIGABRT and checks the text: the function, the lock's address, what went wrong, and
 * the other party where there is one.  Tests that must see a state of debug mode from scratch
 * (environment settings, "never used") run in a child of their own too (run_child), since the
 * environment is read on first use.
 *
 * Knowing that a thread is blocked: a pl_mutex_t parks its waiters on its own address, a
 * pl_rwlock_t its readers and would-be writers on its address and a writer waiting for readers
 * on address + 1; tu_queued sees them there.  A thread marks itself waiting in debug mode (its
 * lock hook) before it can park, so once it is queued, pl_deadlock_check sees it waiting. */
#define PARKING_DEBUG 1
#include "test_util.h"

#include <parking/cond.h>
#include <parking/debug.h>
#include <parking/mutex.h>
#include <parking/remutex.h>
#include <parking/rwlock.h>

#if defined(_WIN32)

START_TEST(inert_on_windows)
{
    pl_mutex_t m = PL_MUTEX_INIT;
    pl_mutex_lock(&m);
    pl_mutex_lock_for(&m, 1000); /* times out: no debug abort */
    pl_mutex_unlock(&m);
    ck_assert_uint_eq(pl_deadlock_check(NULL), 0);
    pl_debug_forget(&m, sizeof m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("debug");
    TCase *tc = tu_tcase(s, "windows", 30);
    tcase_add_test(tc, inert_on_windows);
    return tu_run_suite(s);
}

#else

/* The tests invert lock orders and deadlock on purpose: debug mode must report them, not
 * ThreadSanitizer's own deadlock detector (which would stop the child first). */
#  if defined(__has_feature)
#    if __has_feature(thread_sanitizer)
#      define TEST_TSAN 1
#    endif
#  endif
#  if defined(__SANITIZE_THREAD__) || defined(TEST_TSAN)
const char *__tsan_default_options(void);
const char *__tsan_default_options(void) { return "detect_deadlocks=0"; }
#  endif

/* ---- Helpers ---- */

static char g_text[3][64];
/* The address as the messages print it; three buffers, for three addresses in one needle list. */
static const char *addr(int slot, const void *p)
{
    return tu_addr_text(p, g_text[slot], sizeof g_text[slot]);
}

/* Runs fn(arg) in a child with stderr (and stdout) on a pipe: the child's exit status and what
 * it printed.  For the tests that need a fresh debug mode (PARKING_DEBUG_LOCKDEP is read on
 * first use) or a process that ends with threads blocked forever. */
static int run_child(void (*fn)(void *), void *arg, char *text, size_t size)
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(fds[1], 1);
        dup2(fds[1], 2);
        close(fds[0]);
        fn(arg);
        fflush(stdout);
        fflush(stderr);
        _exit(0);
    }
    close(fds[1]);
    size_t len = 0;
    ssize_t r;
    while (len < size - 1 && (r = read(fds[0], text + len, size - 1 - len)) > 0)
        len += (size_t)r;
    text[len] = '\0';
    close(fds[0]);
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    return status;
}

static size_t count_of(const char *text, const char *needle)
{
    size_t n = 0;
    for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

/* A thread that takes `first` then `second` (blocking), then releases both. */
typedef struct pair {
    pl_mutex_t *first, *second;
} pair_t;

static void *take_pair(void *arg)
{
    pair_t *p = arg;
    pl_mutex_lock(p->first);
    pl_mutex_lock(p->second);
    pl_mutex_unlock(p->second);
    pl_mutex_unlock(p->first);
    return NULL;
}

static void run_pair_thread(pl_mutex_t *first, pl_mutex_t *second)
{
    pair_t p = {first, second};
    pthread_t t;
    tu_spawn(&t, take_pair, &p);
    tu_join(t);
}

/* A thread that takes a lock (via `lock`), says so, and keeps it until told to release it. */
typedef struct holder {
    void *lock;
    void (*take)(void *);
    void (*release)(void *);
    atomic_bool held, release_now;
    pthread_t thread;
} holder_t;

static void *holder_main(void *arg)
{
    holder_t *h = arg;
    h->take(h->lock);
    atomic_store(&h->held, true);
    while (!atomic_load(&h->release_now))
        sched_yield();
    if (h->release)
        h->release(h->lock);
    return NULL;
}

static void holder_start(holder_t *h, void *lock, void (*take)(void *), void (*release)(void *))
{
    h->lock = lock;
    h->take = take;
    h->release = release;
    atomic_init(&h->held, false);
    atomic_init(&h->release_now, false);
    tu_spawn(&h->thread, holder_main, h);
    tu_wait_flag(&h->held, "the holder");
}

static void holder_stop(holder_t *h)
{
    atomic_store(&h->release_now, true);
    tu_join(h->thread);
}

static void mutex_take(void *m) { pl_mutex_lock(m); }
static void mutex_release(void *m) { pl_mutex_unlock(m); }
static void wr_take(void *l) { pl_rwlock_wrlock(l); }
static void rd_take(void *l) { pl_rwlock_rdlock(l); }

/* ---- Self-deadlock: a blocking relock of a non-reentrant lock by its holder ---- */

static pl_mutex_t g_m = PL_MUTEX_INIT;
static pl_rwlock_t g_rw = PL_RWLOCK_INIT;

static void relock_mutex(void *arg)
{
    (void)arg;
    pl_mutex_lock(&g_m);
    pl_mutex_lock(&g_m);
}

static void relock_wrlock(void *arg)
{
    (void)arg;
    pl_rwlock_wrlock(&g_rw);
    pl_rwlock_wrlock(&g_rw);
}

static void rdlock_under_wrlock(void *arg)
{
    (void)arg;
    pl_rwlock_wrlock(&g_rw);
    pl_rwlock_rdlock(&g_rw);
}

static void wrlock_under_rdlock(void *arg)
{
    (void)arg;
    pl_rwlock_rdlock(&g_rw);
    pl_rwlock_wrlock(&g_rw);
}

static void recursive_read_under_wrlock(void *arg)
{
    (void)arg;
    pl_rwlock_wrlock(&g_rw);
    pl_rwlock_rdlock_recursive(&g_rw);
}

static void uplock_twice(void *arg)
{
    (void)arg;
    pl_rwlock_uplock(&g_rw);
    pl_rwlock_uplock(&g_rw);
}

/* What is not a self-deadlock: try-locks fail, timed locks time out (documented), reentrant
 * and recursive-read relocks succeed, upgrade and downgrade change modes. */
START_TEST(relocks_that_are_fine)
{
    pl_mutex_t m = PL_MUTEX_INIT;
    pl_mutex_lock(&m);
    ck_assert(!pl_mutex_trylock(&m));
    ck_assert(!pl_mutex_lock_for(&m, 1000000));
    ck_assert(!pl_mutex_lock_until(&m, pl_now()));
    pl_mutex_unlock(&m);

    pl_remutex_t r = PL_REMUTEX_INIT;
    pl_remutex_lock(&r);
    pl_remutex_lock(&r);
    ck_assert(pl_remutex_trylock(&r));
    ck_assert(pl_remutex_lock_for(&r, 1000));
    pl_remutex_unlock(&r);
    pl_remutex_unlock(&r);
    pl_remutex_unlock_fair(&r);
    pl_remutex_unlock(&r);
    ck_assert(!pl_remutex_is_locked(&r));

    pl_rwlock_t l = PL_RWLOCK_INIT;
    pl_rwlock_rdlock(&l);
    pl_rwlock_rdlock_recursive(&l);
    ck_assert(!pl_rwlock_trywrlock(&l));
    ck_assert(!pl_rwlock_wrlock_for(&l, 1000000));
    pl_rwlock_rdunlock(&l);
    pl_rwlock_rdunlock(&l);
    pl_rwlock_uplock(&l);
    pl_rwlock_rdlock(&l); /* a read lock beside one's own upgradable lock never waits */
    pl_rwlock_rdunlock(&l);
    pl_rwlock_upgrade(&l);
    pl_rwlock_downgrade_to_upgradable(&l);
    ck_assert(pl_rwlock_tryupgrade(&l));
    pl_rwlock_downgrade(&l);
    pl_rwlock_rdunlock(&l);
    pl_rwlock_uplock(&l);
    pl_rwlock_downgrade_upgradable(&l);
    pl_rwlock_rdunlock(&l);
    ck_assert(!pl_rwlock_is_locked(&l));
}
END_TEST

/* ---- Unlock by a thread that does not hold the lock ---- */

static void unlock_other_threads_mutex(void *arg)
{
    holder_t *h = arg;
    holder_start(h, &g_m, mutex_take, NULL);
    pl_mutex_unlock(&g_m);
}

static void unlock_other_threads_wrlock(void *arg)
{
    holder_t *h = arg;
    holder_start(h, &g_rw, wr_take, NULL);
    pl_rwlock_wrunlock(&g_rw);
}

static void rdunlock_other_threads_rdlock(void *arg)
{
    holder_t *h = arg;
    holder_start(h, &g_rw, rd_take, NULL);
    pl_rwlock_rdunlock(&g_rw);
}

static void rdunlock_other_threads_wrlock(void *arg)
{
    holder_t *h = arg;
    holder_start(h, &g_rw, wr_take, NULL);
    pl_rwlock_rdunlock(&g_rw);
}

static void cond_wait_other_threads_mutex(void *arg)
{
    holder_t *h = arg;
    pl_cond_t c = PL_COND_INIT;
    holder_start(h, &g_m, mutex_take, NULL);
    pl_cond_wait_for(&c, &g_m, 1000);
}

static void *lock_and_exit(void *m)
{
    pl_mutex_lock(m);
    return NULL;
}

static void unlock_exited_threads_mutex(void *arg)
{
    (void)arg;
    pthread_t t;
    tu_spawn(&t, lock_and_exit, &g_m);
    tu_join(t);
    pl_mutex_unlock(&g_m);
}

/* An unlock of a lock that nobody holds is left to the lock's own check and message. */
static void unlock_unlocked(void *arg)
{
    (void)arg;
    pl_mutex_unlock(&g_m);
}

/* ---- The table of the misuses above: each aborts with its message ---- */

static holder_t g_holder; /* the holder thread of the non-owner cases, in the forked child */

#  define HELD_BY_THIS_THREAD "would deadlock: already held by this thread"

static const tu_misuse_t misuses[] = {
    {"relock_mutex",
     relock_mutex,
     NULL,
     {&g_m},
     {"libparking: pl_mutex_lock(", "%p", "): " HELD_BY_THIS_THREAD, "(taken by pl_mutex_lock at ",
      "test_debug"}},
    {"relock_wrlock",
     relock_wrlock,
     NULL,
     {&g_rw},
     {"pl_rwlock_wrlock(", "%p", HELD_BY_THIS_THREAD, "taken by pl_rwlock_wrlock"}},
    {"rdlock_under_wrlock",
     rdlock_under_wrlock,
     NULL,
     {&g_rw},
     {"pl_rwlock_rdlock(", "%p", HELD_BY_THIS_THREAD, "taken by pl_rwlock_wrlock"}},
    {"wrlock_under_rdlock",
     wrlock_under_rdlock,
     NULL,
     {&g_rw},
     {"pl_rwlock_wrlock(", "%p", "would deadlock: this thread holds a read lock",
      "taken by pl_rwlock_rdlock", "a writer waits until every reader"}},
    {"recursive_read_under_wrlock",
     recursive_read_under_wrlock,
     NULL,
     {&g_rw},
     {"pl_rwlock_rdlock_recursive(", "%p", "would deadlock: this thread holds it for writing"}},
    {"uplock_twice",
     uplock_twice,
     NULL,
     {&g_rw},
     {"pl_rwlock_uplock(", "%p", "would deadlock: this thread already holds its upgradable lock",
      "taken by pl_rwlock_uplock"}},
    {"unlock_other_threads_mutex",
     unlock_other_threads_mutex,
     &g_holder,
     {&g_m},
     {"libparking: pl_mutex_unlock(", "%p", "): not the owner; held by thread ",
      "(taken by pl_mutex_lock at ", ", unlocked by thread "}},
    {"unlock_other_threads_wrlock",
     unlock_other_threads_wrlock,
     &g_holder,
     {&g_rw},
     {"libparking: pl_rwlock_wrunlock(", "%p", "): not the owner; held by thread",
      "taken by pl_rwlock_wrlock"}},
    {"rdunlock_other_threads_rdlock",
     rdunlock_other_threads_rdlock,
     &g_holder,
     {&g_rw},
     {"libparking: pl_rwlock_rdunlock(", "%p",
      "): not a reader: this thread holds no read lock on it; 1 other thread does, such as "
      "thread ",
      "taken by pl_rwlock_rdlock"}},
    {"rdunlock_other_threads_wrlock",
     rdunlock_other_threads_wrlock,
     &g_holder,
     {&g_rw},
     {"libparking: pl_rwlock_rdunlock(", "%p",
      "): not a reader: this thread holds no read lock on it, and it is write-locked by "
      "thread "}},
    {"cond_wait_other_threads_mutex",
     cond_wait_other_threads_mutex,
     &g_holder,
     {&g_m},
     {"libparking: pl_cond_wait_for(", "%p", "): not the owner; held by thread "}},
    {"unlock_exited_threads_mutex",
     unlock_exited_threads_mutex,
     NULL,
     {&g_m},
     {"pl_mutex_unlock(", "%p", "not the owner; held by thread ", " (exited)"}},
    /* An unlock of a free lock keeps the library's own message. */
    {"unlock_unlocked",
     unlock_unlocked,
     NULL,
     {&g_m},
     {"libparking: pl_mutex_unlock(", "%p", "): unlock of a lock that is not locked"}},
};

START_TEST(misuse_messages) { tu_expect_misuse(&misuses[_i]); }
END_TEST

/* ---- Lock order (lockdep) ---- */

static pl_mutex_t g_a = PL_MUTEX_INIT, g_b = PL_MUTEX_INIT, g_c = PL_MUTEX_INIT;

/* Thread 1 takes A then B and is gone; then this thread takes B then A: reported at the second
 * order, although no deadlock can happen any more. */
static void inversion_two_threads(void *arg)
{
    (void)arg;
    run_pair_thread(&g_a, &g_b);
    pl_mutex_lock(&g_b);
    pl_mutex_lock(&g_a);
}

static void inversion_one_thread(void *arg)
{
    (void)arg;
    pl_mutex_lock(&g_a);
    pl_mutex_lock(&g_b);
    pl_mutex_unlock(&g_b);
    pl_mutex_unlock(&g_a);
    pl_mutex_lock(&g_b);
    pl_mutex_lock(&g_a);
}

START_TEST(inversion_aborts)
{
    const char *a = addr(0, &g_a), *b = addr(1, &g_b);
    /* Where A is taken now (this thread, holding B), and the earlier order, B under A. */
    const char *needles[] = {"libparking: pl_mutex_lock(",
                             a,
                             "): lock order inversion: "
                             "this thread takes it while holding ",
                             b,
                             "was taken while holding it earlier; the two orders can deadlock",
                             "now:     thread ",
                             " holds ",
                             " then takes ",
                             "earlier: thread ",
                             " then took ",
                             "(taken by pl_mutex_lock at ",
                             "test_debug",
                             NULL};
    tu_expect_abort_message(inversion_two_threads, NULL, needles);
    tu_expect_abort_message(inversion_one_thread, NULL, needles);
}
END_TEST

/* A -> B, B -> C, then C -> A: the cycle closes through a chain. */
static void inversion_chain(void *arg)
{
    (void)arg;
    run_pair_thread(&g_a, &g_b);
    run_pair_thread(&g_b, &g_c);
    pl_mutex_lock(&g_c);
    pl_mutex_lock(&g_a);
}

START_TEST(inversion_through_chain_aborts)
{
    const char *needles[] = {"pl_mutex_lock(",
                             addr(0, &g_a),
                             "lock order inversion",
                             "a chain of 2 earlier orders leads from it to ",
                             addr(1, &g_c),
                             "earlier: ",
                             "and:     ",
                             addr(2, &g_b),
                             NULL};
    tu_expect_abort_message(inversion_chain, NULL, needles);
}
END_TEST

/* A read lock orders like any lock: rwlock R read-held, then M; later M, then R write. */
static void *read_then_mutex(void *arg)
{
    (void)arg;
    pl_rwlock_rdlock(&g_rw);
    pl_mutex_lock(&g_m);
    pl_mutex_unlock(&g_m);
    pl_rwlock_rdunlock(&g_rw);
    return NULL;
}

static void inversion_rwlock(void *arg)
{
    (void)arg;
    pthread_t t;
    tu_spawn(&t, read_then_mutex, NULL);
    tu_join(t);
    pl_mutex_lock(&g_m);
    pl_rwlock_wrlock(&g_rw);
}

START_TEST(inversion_rwlock_aborts)
{
    const char *needles[] = {"pl_rwlock_wrlock(",
                             addr(0, &g_rw),
                             "lock order inversion",
                             addr(1, &g_m),
                             "holds ",
                             "for reading",
                             NULL};
    tu_expect_abort_message(inversion_rwlock, NULL, needles);
}
END_TEST

/* Consistent orders, from several threads at once, many times: never reported. */
enum { ORDER_THREADS = 4, ORDER_ROUNDS = 2000 };
static pl_mutex_t g_order[3];
static pl_rwlock_t g_order_rw;
static long g_inside;

static void *consistent_orders(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg;
    for (int i = 0; i < ORDER_ROUNDS; i++) {
        seed = seed * 1103515245u + 12345u;
        unsigned pick = (seed >> 16) % 4;
        if (pick == 0) { /* all three, then the rwlock */
            pl_mutex_lock(&g_order[0]);
            pl_mutex_lock(&g_order[1]);
            pl_mutex_lock(&g_order[2]);
            pl_rwlock_wrlock(&g_order_rw);
            g_inside++;
            pl_rwlock_wrunlock(&g_order_rw);
            pl_mutex_unlock(&g_order[1]); /* releases need not be nested */
            pl_mutex_unlock(&g_order[2]);
            pl_mutex_unlock(&g_order[0]);
        } else if (pick == 1) { /* a subsequence of the same order */
            pl_mutex_lock(&g_order[0]);
            pl_mutex_lock(&g_order[2]);
            g_inside++;
            pl_mutex_unlock(&g_order[2]);
            pl_mutex_unlock(&g_order[0]);
        } else if (pick == 2) {
            pl_mutex_lock(&g_order[1]);
            pl_rwlock_rdlock(&g_order_rw);
            pl_rwlock_rdunlock(&g_order_rw);
            pl_mutex_unlock(&g_order[1]);
        } else { /* any one alone */
            pl_mutex_lock(&g_order[seed % 3]);
            pl_mutex_unlock(&g_order[seed % 3]);
        }
    }
    return NULL;
}

START_TEST(consistent_orders_not_reported)
{
    pthread_t t[ORDER_THREADS];
    for (uintptr_t i = 0; i < ORDER_THREADS; i++)
        tu_spawn(&t[i], consistent_orders, (void *)(i + 1));
    for (int i = 0; i < ORDER_THREADS; i++)
        tu_join(t[i]);
    ck_assert_int_gt(g_inside, 0);
    ck_assert_uint_eq(pl_deadlock_check(NULL), 0);
}
END_TEST

/* Try-locks and timed locks add no order: A then try B; later B then A is fine.  And a lock
 * held through a try-lock orders what is taken after it like any other hold. */
static void trylock_orders(void *arg)
{
    (void)arg;
    pl_mutex_lock(&g_a);
    ck_assert(pl_mutex_trylock(&g_b));
    pl_mutex_unlock(&g_b);
    ck_assert(pl_mutex_lock_for(&g_c, 1000000));
    pl_mutex_unlock(&g_c);
    pl_mutex_unlock(&g_a);
    pl_mutex_lock(&g_b);
    pl_mutex_lock(&g_a); /* fine: A -> B was a try-lock */
    pl_mutex_unlock(&g_a);
    pl_mutex_lock(&g_c);
    pl_mutex_lock(&g_a); /* fine: A -> C was a timed lock */
    pl_mutex_unlock(&g_a);
    pl_mutex_unlock(&g_c);
    pl_mutex_unlock(&g_b);
    fprintf(stderr, "trylock orders: no report\n");
    /* D held through a try-lock, then a blocking E: D -> E is recorded, so E then D inverts. */
    static pl_mutex_t d, e;
    ck_assert(pl_mutex_trylock(&d));
    pl_mutex_lock(&e);
    pl_mutex_unlock(&e);
    pl_mutex_unlock(&d);
    pl_mutex_lock(&e);
    pl_mutex_lock(&d);
}

START_TEST(trylocks_add_no_order)
{
    char text[4096];
    int status = run_child(trylock_orders, NULL, text, sizeof text);
    ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT, "no SIGABRT: %s", text);
    ck_assert_msg(strstr(text, "trylock orders: no report"), "reported too early: %s", text);
    ck_assert_msg(strstr(text, "pl_mutex_lock(") && strstr(text, "lock order inversion"),
                  "not reported: %s", text);
}
END_TEST

/* A reentrant relock is no order at all, and a pl_remutex_t orders like a mutex. */
static void remutex_orders(void *arg)
{
    (void)arg;
    static pl_remutex_t r = PL_REMUTEX_INIT;
    pl_remutex_lock(&r);
    pl_mutex_lock(&g_a);
    pl_remutex_lock(&r); /* R held, A held, R again: no A -> R order */
    pl_remutex_unlock(&r);
    pl_mutex_unlock(&g_a);
    pl_remutex_unlock(&r);
    fprintf(stderr, "remutex relock: no report\n");
    pl_mutex_lock(&g_a);
    pl_remutex_lock(&r); /* A -> R inverts R -> A */
}

START_TEST(remutex_relock_adds_no_order)
{
    char text[4096];
    int status = run_child(remutex_orders, NULL, text, sizeof text);
    ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT, "no SIGABRT: %s", text);
    ck_assert_msg(strstr(text, "remutex relock: no report"), "reported too early: %s", text);
    ck_assert_msg(strstr(text, "pl_remutex_lock(") && strstr(text, "lock order inversion"),
                  "not reported: %s", text);
}
END_TEST

static void inversion_warn_twice(void *arg)
{
    (void)arg;
    setenv("PARKING_DEBUG_LOCKDEP", "warn", 1);
    for (int i = 0; i < 2; i++) {
        pl_mutex_lock(&g_a);
        pl_mutex_lock(&g_b);
        pl_mutex_unlock(&g_b);
        pl_mutex_unlock(&g_a);
        pl_mutex_lock(&g_b);
        pl_mutex_lock(&g_a);
        pl_mutex_unlock(&g_a);
        pl_mutex_unlock(&g_b);
    }
    printf("went on\n");
}

static void inversion_off(void *arg)
{
    (void)arg;
    setenv("PARKING_DEBUG_LOCKDEP", "off", 1);
    inversion_one_thread(NULL);
    printf("went on\n");
}

START_TEST(lockdep_warn_and_off)
{
    char text[8192];
    int status = run_child(inversion_warn_twice, NULL, text, sizeof text);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "did not go on: %s", text);
    ck_assert_msg(count_of(text, "lock order inversion") == 1, "not reported once: %s", text);
    ck_assert_msg(strstr(text, "PARKING_DEBUG_LOCKDEP=warn: going on") && strstr(text, "went on"),
                  "%s", text);
    status = run_child(inversion_off, NULL, text, sizeof text);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "did not go on: %s", text);
    ck_assert_msg(!strstr(text, "lock order inversion") && strstr(text, "went on"), "%s", text);
}
END_TEST

/* pl_debug_forget: a lock that reuses forgotten memory starts with no history. */
static void forget_then_reverse(void *arg)
{
    pl_mutex_t *pair = arg;
    pl_mutex_lock(&pair[0]);
    pl_mutex_lock(&pair[1]);
    pl_mutex_unlock(&pair[1]);
    pl_mutex_unlock(&pair[0]);
    pl_debug_forget(pair, 2 * sizeof *pair);
    pl_mutex_lock(&pair[1]);
    pl_mutex_lock(&pair[0]);
    pl_mutex_unlock(&pair[0]);
    pl_mutex_unlock(&pair[1]);
    printf("no report after forget\n");
}

START_TEST(forget_clears_history)
{
    static pl_mutex_t pair[2];
    char text[4096];
    int status = run_child(forget_then_reverse, pair, text, sizeof text);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s", text);
    ck_assert_msg(strstr(text, "no report after forget"), "%s", text);
}
END_TEST

/* Many locks held at once (the held list grows), released in another order. */
START_TEST(many_held_locks)
{
    enum { N = 300 };
    static pl_mutex_t ms[N];
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < N; i++)
            pl_mutex_lock(&ms[i]);
        for (int i = 0; i < N; i += 2)
            pl_mutex_unlock(&ms[i]);
        for (int i = 1; i < N; i += 2)
            pl_mutex_unlock(&ms[i]);
    }
    for (int i = 0; i < N; i++)
        ck_assert(!pl_mutex_is_locked(&ms[i]));
}
END_TEST

/* ---- Concurrency: the bookkeeping keeps up with real contention ---- */

enum { HAMMER_THREADS = 4, HAMMER_ROUNDS = 20000 };
static pl_mutex_t g_hm;
static pl_rwlock_t g_hrw;
static long g_hcount, g_hwrite;
static atomic_bool g_hwriter_in;
static atomic_int g_hreaders_bad;

static void *hammer(void *arg)
{
    (void)arg;
    for (int i = 0; i < HAMMER_ROUNDS; i++) {
        pl_mutex_lock(&g_hm);
        g_hcount++;
        pl_mutex_unlock(&g_hm);
        if (i % 8 == 0) {
            pl_rwlock_wrlock(&g_hrw);
            atomic_store(&g_hwriter_in, true);
            g_hwrite++;
            atomic_store(&g_hwriter_in, false);
            pl_rwlock_wrunlock(&g_hrw);
        } else {
            pl_rwlock_rdlock(&g_hrw);
            if (atomic_load(&g_hwriter_in))
                atomic_fetch_add(&g_hreaders_bad, 1); /* a writer inside with a reader */
            pl_rwlock_rdunlock(&g_hrw);
        }
    }
    return NULL;
}

START_TEST(contention_no_false_reports)
{
    pthread_t t[HAMMER_THREADS];
    for (int i = 0; i < HAMMER_THREADS; i++)
        tu_spawn(&t[i], hammer, NULL);
    for (int i = 0; i < HAMMER_THREADS; i++)
        tu_join(t[i]);
    ck_assert_int_eq(g_hcount, (long)HAMMER_THREADS * HAMMER_ROUNDS);
    ck_assert_int_eq(g_hwrite, (long)HAMMER_THREADS * (HAMMER_ROUNDS / 8));
    ck_assert_int_eq(atomic_load(&g_hreaders_bad), 0);
}
END_TEST

/* Condition variables: the wait releases and retakes the mutex in debug mode's books. */
static pl_mutex_t g_cm;
static pl_cond_t g_cv;
static int g_items, g_consumed;

static void *consumer(void *arg)
{
    (void)arg;
    pl_mutex_lock(&g_cm);
    while (g_consumed < 1000) {
        while (g_items == 0)
            pl_cond_wait(&g_cv, &g_cm);
        g_items--;
        g_consumed++;
        pl_mutex_unlock(&g_cm);
        pl_mutex_lock(&g_cm);
    }
    pl_mutex_unlock(&g_cm);
    return NULL;
}

START_TEST(condvar_not_reported)
{
    pthread_t t;
    tu_spawn(&t, consumer, NULL);
    for (int i = 0; i < 1000; i++) {
        pl_mutex_lock(&g_cm);
        g_items++;
        pl_cond_signal(&g_cv);
        pl_mutex_unlock(&g_cm);
    }
    tu_join(t);
    ck_assert_int_eq(g_consumed, 1000);
}
END_TEST

/* ---- pl_deadlock_check ---- */

static void *lock_a_then_b(void *arg)
{
    atomic_bool *have_a = arg;
    pl_mutex_lock(&g_a);
    atomic_store(have_a, true);
    tu_wait_queued(&g_a, 1); /* the other thread holds B and waits for A */
    pl_mutex_lock(&g_b);     /* deadlock */
    return NULL;
}

static void *watchdog(void *arg)
{
    (void)arg;
    tu_wait_queued(&g_b, 1);
    tu_wait_queued(&g_a, 1);
    size_t n = pl_deadlock_check(stdout);
    fflush(stdout);
    _exit((int)n);
}

static void deadlock_with_watchdog(void *arg)
{
    (void)arg;
    setenv("PARKING_DEBUG_LOCKDEP", "off", 1);
    printf("before: %zu\n", pl_deadlock_check(stdout));
    pthread_t w;
    tu_spawn(&w, watchdog, NULL);
    atomic_bool have_a;
    atomic_init(&have_a, false);
    pthread_t t1;
    tu_spawn(&t1, lock_a_then_b, &have_a);
    tu_wait_flag(&have_a, "A");
    pl_mutex_lock(&g_b);
    pl_mutex_lock(&g_a); /* deadlock: the watchdog reports and ends the process */
    printf("unreachable\n");
}

START_TEST(deadlock_check_finds_two_threads)
{
    char text[8192];
    int status = run_child(deadlock_with_watchdog, NULL, text, sizeof text);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 2, "status %d: %s", status, text);
    ck_assert_msg(strstr(text, "before: 0\n"), "%s", text);
    const char *needles[] = {"libparking: pl_deadlock_check: deadlock: 2 threads wait for each "
                             "other:",
                             "waits in pl_mutex_lock(",
                             addr(0, &g_a),
                             addr(1, &g_b),
                             "which holds it (taken by pl_mutex_lock at ",
                             NULL};
    for (const char *const *n = needles; *n; n++)
        ck_assert_msg(strstr(text, *n), "\"%s\" lacks \"%s\"", text, *n);
    ck_assert_msg(count_of(text, " waits in pl_mutex_lock(") == 2, "%s", text);
    ck_assert_msg(!strstr(text, "unreachable"), "%s", text);
}
END_TEST

/* A reader that nests a plain read lock behind a queued writer: the writer waits for the
 * reader, the reader for the writer (the documented pl_rwlock_rdlock hazard). */
static void *writer(void *arg)
{
    (void)arg;
    pl_rwlock_wrlock(&g_rw);
    return NULL;
}

static void *rw_watchdog(void *arg)
{
    (void)arg;
    tu_wait_queued((const char *)&g_rw + 1, 1); /* the writer waits for readers to leave */
    tu_wait_queued(&g_rw, 1);                   /* the nested reader waits behind it */
    size_t n = pl_deadlock_check(stdout);
    fflush(stdout);
    _exit((int)n);
}

static void nested_read_deadlock(void *arg)
{
    (void)arg;
    pthread_t w, d;
    pl_rwlock_rdlock(&g_rw);
    tu_spawn(&d, rw_watchdog, NULL);
    tu_spawn(&w, writer, NULL);
    tu_wait_queued((const char *)&g_rw + 1, 1);
    pl_rwlock_rdlock(&g_rw);
    printf("unreachable\n");
}

START_TEST(deadlock_check_finds_reader_writer_cycle)
{
    char text[8192];
    int status = run_child(nested_read_deadlock, NULL, text, sizeof text);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 2, "status %d: %s", status, text);
    const char *needles[] = {"deadlock: 2 threads wait for each other:",
                             "waits in pl_rwlock_wrlock(",
                             "which holds it for reading",
                             "waits in pl_rwlock_rdlock(",
                             addr(0, &g_rw),
                             "which waits to write-lock it",
                             NULL};
    for (const char *const *n = needles; *n; n++)
        ck_assert_msg(strstr(text, *n), "\"%s\" lacks \"%s\"", text, *n);
}
END_TEST

/* A timed relock waits for the thread itself: a cycle of one, while it lasts. */
static void *self_watchdog(void *arg)
{
    (void)arg;
    tu_wait_queued(&g_m, 1);
    size_t n = pl_deadlock_check(stdout);
    fflush(stdout);
    _exit((int)n);
}

static void timed_self_wait(void *arg)
{
    (void)arg;
    pthread_t d;
    pl_mutex_lock(&g_m);
    tu_spawn(&d, self_watchdog, NULL);
    (void)pl_mutex_lock_for(&g_m, 60 * TU_S);
    printf("unreachable\n");
}

START_TEST(deadlock_check_finds_self_wait)
{
    char text[8192];
    int status = run_child(timed_self_wait, NULL, text, sizeof text);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 1, "status %d: %s", status, text);
    ck_assert_msg(strstr(text, "deadlock: 1 thread waits for itself:") &&
                      strstr(text, "waits in pl_mutex_lock_for("),
                  "%s", text);
}
END_TEST

/* No cycle: threads blocked on a lock whose holder runs (or on a holder that waits on a lock
 * nobody holds in a cycle) are not a deadlock. */
START_TEST(deadlock_check_zero_without_cycle)
{
    ck_assert_uint_eq(pl_deadlock_check(stdout), 0); /* nothing at all yet */
    holder_t h;
    holder_start(&h, &g_a, mutex_take, mutex_release);
    pthread_t t[2];
    pair_t p0 = {&g_a, &g_c};
    tu_spawn(&t[0], take_pair, &p0);
    pair_t p1 = {&g_b, &g_a};
    tu_spawn(&t[1], take_pair, &p1); /* holds B, waits for A */
    tu_wait_queued(&g_a, 2);
    ck_assert_uint_eq(pl_deadlock_check(stdout), 0);
    holder_stop(&h);
    tu_join(t[1]);
    tu_join(t[0]);
    ck_assert_uint_eq(pl_deadlock_check(NULL), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("debug");
    TCase *tc = tu_tcase(s, "self_deadlock", 60);
    tcase_add_test(tc, relocks_that_are_fine);
    tc = tu_tcase(s, "misuse", 60);
    tcase_add_loop_test(tc, misuse_messages, 0, TU_LEN(misuses));
    tc = tu_tcase(s, "lockdep", 60);
    tcase_add_test(tc, inversion_aborts);
    tcase_add_test(tc, inversion_through_chain_aborts);
    tcase_add_test(tc, inversion_rwlock_aborts);
    tcase_add_test(tc, consistent_orders_not_reported);
    tcase_add_test(tc, trylocks_add_no_order);
    tcase_add_test(tc, remutex_relock_adds_no_order);
    tcase_add_test(tc, lockdep_warn_and_off);
    tcase_add_test(tc, forget_clears_history);
    tcase_add_test(tc, many_held_locks);
    tc = tu_tcase(s, "concurrency", 120);
    tcase_add_test(tc, contention_no_false_reports);
    tcase_add_test(tc, condvar_not_reported);
    tc = tu_tcase(s, "deadlock_check", 60);
    tcase_add_test(tc, deadlock_check_finds_two_threads);
    tcase_add_test(tc, deadlock_check_finds_reader_writer_cycle);
    tcase_add_test(tc, deadlock_check_finds_self_wait);
    tcase_add_test(tc, deadlock_check_zero_without_cycle);
    return tu_run_suite(s);
}

#endif /* !_WIN32 */
