/* fork(): the child of a process whose threads use libparking gets an empty, unlocked parking
 * lot and can lock, wait with a timeout and use a condition variable, including the very locks
 * the parent's threads were parked on at the moment of the fork.
 *
 * A child that deadlocks would hang the parent's waitpid, so every child runs under alarm():
 * a hang turns into SIGALRM, which the parent reports as a failure. */
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <parking/cond.h>
#include <parking/mutex.h>

#include "test_util.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
/* Sanitizer runtimes cannot start threads in the child of a multi-threaded fork (TSan refuses,
 * ASan's allocator may be mid-update): the child checks its single-threaded part only. */
#  define CHILD_THREADS 0
#else
#  define CHILD_THREADS 1
#endif

enum { CHILD_ALARM_S = 10 };

#if defined(PARKING_TSAN_ANNOTATIONS) && PARKING_TSAN_ANNOTATIONS
/* TSan follows a fork of a multi-threaded process badly, in two ways that a child using locks
 * the parent's threads were busy with runs into:
 * - it keeps an internal mutex per lock it was told about and does not reset them at fork, so a
 *   hammer that was inside an annotation of hammer_lock (its lock-entry one, say) when fork()
 *   ran leaves that mutex held, and the child's next annotation of hammer_lock blocks forever
 *   (seen: 7 hung children in 120 runs);
 * - it ignores memory accesses while fork() runs the atfork handlers, so it never sees
 *   libparking's child handler empty the bucket queues, and reports the child's first look at
 *   a queue as a race with the dead hammer that last wrote it (seen: 8 in 120 runs).
 * The child is single-threaded, so there is nothing for TSan to check in it: it ignores the
 * child's accesses, and the child takes the hammered locks through the unannotated twins.  What
 * is tested, libparking's reset, runs unchanged. */
void __tsan_ignore_thread_begin(void);
#  define CHILD_BEGIN() __tsan_ignore_thread_begin()
#  define CHILD_LOCK(m) pl_mutex__lock(m)
#  define CHILD_UNLOCK(m) pl_mutex__unlock((m), false, "pl_mutex_unlock")
#  define CHILD_WAIT_UNTIL(c, m, d) pl_cond_wait_slow((c), (m), (d), __func__)
#else
#  define CHILD_LOCK(m) pl_mutex_lock(m)
#  define CHILD_UNLOCK(m) pl_mutex_unlock(m)
#  define CHILD_WAIT_UNTIL(c, m, d) pl_cond_wait_until((c), (m), (d))
#  define CHILD_BEGIN() ((void)0)
#endif

/* Starts a child: arms its hang detector.  The SIGALRM disposition is reset first: the child
 * inherits Check's handler, and under TSan a caught signal is delivered only once the thread
 * leaves the sanitizer's runtime, which a thread hung inside that runtime never does. */
static void child_begin(void)
{
    CHILD_BEGIN();
    signal(SIGALRM, SIG_DFL);
    alarm(CHILD_ALARM_S);
}

/* Waits for a child and asserts that it exited with status 0. */
static void expect_child_ok(pid_t pid)
{
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    if (WIFSIGNALED(status))
        ck_abort_msg("child killed by signal %d (SIGALRM = a hang)", WTERMSIG(status));
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child exited with %d",
                  WEXITSTATUS(status));
}

/* ---- A thread parked in the parent does not exist in the child's queue ---- */

static char parked_key;

START_TEST(child_queue_is_empty)
{
    atomic_size_t parked = 0;
    tu_parker_t p;
    tu_parker_start(&p, &parked_key, 7, PL_FOREVER, &parked);
    ck_assert(tu_wait_count(&parked, 1));

    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        child_begin();
        /* The parent's parked thread was copied into the queue's memory but is not a thread
         * here: it must not be found (waking it would write into a dead thread's data). */
        tu_scan_t scan = {NULL, 0, 0}; /* no ck_assert in a grandchild of Check's runner */
        pl_unpark_result_t r = pl_unpark_filter(&parked_key, tu_scan_filter, NULL, &scan);
        _exit(scan.n == 0 && !r.have_more && pl_unpark_all(&parked_key, 0) == 0 ? 0 : 1);
    }
    expect_child_ok(pid);

    /* The parent still has its parked thread, untouched by the child. */
    ck_assert_uint_eq(tu_queued(&parked_key, NULL, 0), 1);
    tu_unpark_one_expect(&parked_key);
    ck_assert_int_eq(tu_parker_join(&p).status, PL_PARK_UNPARKED);
}
END_TEST

/* ---- Fork while other threads hammer locks ---- */

enum { HAMMERS = 4, FORKS = 40 };

static pl_mutex_t hammer_lock;
static pl_cond_t hammer_cond;
static long hammer_value;
static atomic_bool hammer_stop;

static void *hammer_main(void *arg)
{
    (void)arg;
    /* Contended lock/unlock plus short timed condvar waits keep threads inside the parking
     * lot (bucket locks held, threads queued) at random moments of the forks. */
    for (unsigned i = 0; !atomic_load(&hammer_stop); i++) {
        pl_mutex_lock(&hammer_lock);
        hammer_value++;
        if (i % 64 == 0)
            (void)pl_cond_wait_for(&hammer_cond, &hammer_lock, 20000);
        else if (i % 16 == 0)
            pl_cond_signal(&hammer_cond);
        pl_mutex_unlock(&hammer_lock);
    }
    return NULL;
}

typedef struct child_state {
    pl_mutex_t lock;
    pl_cond_t cond;
    bool ready;
} child_state_t;

static void *child_signaller(void *arg)
{
    child_state_t *s = arg;
    pl_mutex_lock(&s->lock);
    s->ready = true;
    pl_cond_signal(&s->cond);
    pl_mutex_unlock(&s->lock);
    return NULL;
}

/* Threads queued on addr in this process, without Check (the child is not Check's). */
static size_t queued_here(const void *addr)
{
    tu_scan_t scan = {NULL, 0, 0};
    (void)pl_unpark_filter(addr, tu_scan_filter, NULL, &scan);
    return scan.n;
}

/* A lock that only the forking thread and one parked_locker use: at each fork the forking
 * thread holds it and the locker is parked on it, with no unlock anywhere in flight.  (On
 * hammer_lock the same cannot be arranged: an unlock whose lock bit dropped before its wake
 * (a condition waiter's late release) may still dequeue the last queued hammer after the forking
 * thread took the lock and saw that hammer queued, and rightly clear the parked bit.) */
static pl_mutex_t parked_lock;

static void *parked_locker(void *arg)
{
    (void)arg;
    pl_mutex_lock(&parked_lock);
    pl_mutex_unlock(&parked_lock);
    return NULL;
}

static bool parked_locker_queued(void *ctx)
{
    (void)ctx;
    return tu_queued(&parked_lock, NULL, 0) == 1;
}

/* The locks the parent's threads were parked on or hammering.  The forking thread held both, so
 * here it owns them.  parked_lock's parked bit is set for a thread that does not exist, whose
 * bucket was reset: unlocking must find nobody and clear the bit.  hammer_lock's bit may be
 * either way: its unlock must free it all the same.  Both locks, and hammer_lock's condition
 * variable, must then work as new. */
static int child_uses_hammered_locks(void)
{
    if (!(__atomic_load_n(&parked_lock.state, __ATOMIC_RELAXED) & PL_MUTEX_PARKED_BIT))
        return 6; /* the parent forked with parked_locker queued: the bit must have come along */
    if (queued_here(&parked_lock) != 0 || queued_here(&hammer_lock) != 0 ||
        queued_here(&hammer_cond) != 0)
        return 7;
    CHILD_UNLOCK(&parked_lock); /* the slow path, through the reset bucket */
    CHILD_UNLOCK(&hammer_lock);
    if (__atomic_load_n(&parked_lock.state, __ATOMIC_RELAXED) != 0 ||
        __atomic_load_n(&hammer_lock.state, __ATOMIC_RELAXED) != 0)
        return 8;
    CHILD_LOCK(&parked_lock);
    CHILD_UNLOCK(&parked_lock);
    CHILD_LOCK(&hammer_lock);
    uint64_t deadline = pl_now() + 2 * TU_MS;
    if (CHILD_WAIT_UNTIL(&hammer_cond, &hammer_lock, deadline) || pl_now() < deadline)
        return 9;
    pl_cond_signal(&hammer_cond);
    CHILD_UNLOCK(&hammer_lock);
    return 0;
}

/* The child's work: the parent's hammered locks, a timed wait that must time out, a lock held
 * by another thread of the child (so the lock really parks), and a condvar hand-shake. */
static int child_work_fresh(void);

static int child_work(void)
{
    int rc = child_uses_hammered_locks();
    return rc != 0 ? rc : child_work_fresh();
}

static int child_work_fresh(void)
{
    child_state_t s = {PL_MUTEX_INIT, PL_COND_INIT, false};

    pl_mutex_lock(&s.lock);
    uint64_t deadline = pl_now() + 2 * TU_MS;
    if (pl_cond_wait_until(&s.cond, &s.lock, deadline) || pl_now() < deadline)
        return 2; /* nobody signalled: must time out, and not early */

#if CHILD_THREADS
    pthread_t t;
    if (pthread_create(&t, NULL, child_signaller, &s) != 0)
        return 3;
    while (!s.ready)
        pl_cond_wait(&s.cond, &s.lock); /* the signaller must take s.lock: it parks */
    pl_mutex_unlock(&s.lock);
    if (pthread_join(t, NULL) != 0)
        return 4;
#else
    pl_mutex_unlock(&s.lock);
    (void)child_signaller;
#endif

    /* A mutex held by nobody in the child: free after the reset even if the bucket of its
     * address was locked by a parent thread at the moment of the fork. */
    pl_mutex_t fresh = PL_MUTEX_INIT;
    if (!pl_mutex_lock_for(&fresh, 100 * TU_MS))
        return 5;
    pl_mutex_unlock(&fresh);
    return 0;
}

START_TEST(fork_while_threads_hammer)
{
    pthread_t hammers[HAMMERS];
    atomic_store(&hammer_stop, false);
    for (int i = 0; i < HAMMERS; i++)
        tu_spawn(&hammers[i], hammer_main, NULL);

    for (int i = 0; i < FORKS; i++) {
        /* Fork holding parked_lock with parked_locker parked on it, and hammer_lock with (most
         * likely) a hammer parked on it and the others anywhere: spinning, in a bucket lock,
         * in a condvar wait, being woken. */
        pthread_t locker;
        pl_mutex_lock(&parked_lock);
        tu_spawn(&locker, parked_locker, NULL);
        ck_assert(tu_wait_until(parked_locker_queued, NULL));
        ck_assert_msg(__atomic_load_n(&parked_lock.state, __ATOMIC_RELAXED) & PL_MUTEX_PARKED_BIT,
                      "a locker is parked on the held mutex but its parked bit is clear (state %u)",
                      (unsigned)parked_lock.state);
        pl_mutex_lock(&hammer_lock);
        uint64_t limit = pl_now() + TU_WAIT_NS;
        unsigned polls = 0;
        while (tu_queued(&hammer_lock, NULL, 0) == 0 && pl_now() < limit)
            tu_backoff(&polls);
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            child_begin();
            _exit(child_work());
        }
        pl_mutex_unlock(&hammer_lock);
        pl_mutex_unlock(&parked_lock);
        tu_join(locker);
        expect_child_ok(pid);
    }

    atomic_store(&hammer_stop, true);
    /* A hammer may sit in a timed condvar wait; it returns by itself within 20 us. */
    for (int i = 0; i < HAMMERS; i++)
        tu_join(hammers[i]);
    ck_assert_int_gt(hammer_value, 0);
}
END_TEST

/* ---- A condition variable the parent's threads were waiting on, with another mutex ---- */

/* The parent's waiter left fork_cond naming fork_m1 (its word says "waiters use fork_m1") and
 * that waiter does not exist in the child, so the child may use fork_cond with any mutex at
 * once, without reaching the condition variable first: a wait with another mutex must not be
 * taken for "one condvar used with two mutexes", and a signal or broadcast that finds the stale
 * word must neither abort nor lose a later wait's wake-up. */
static pl_mutex_t fork_m1;
static pl_cond_t fork_cond;
static bool fork_go;

static void *fork_cond_waiter(void *arg)
{
    (void)arg;
    pl_mutex_lock(&fork_m1);
    while (!fork_go)
        pl_cond_wait(&fork_cond, &fork_m1);
    pl_mutex_unlock(&fork_m1);
    return NULL;
}

static bool fork_cond_waiter_queued(void *ctx)
{
    (void)ctx;
    return tu_queued(&fork_cond, NULL, 0) == 1;
}

typedef struct child_cond {
    pl_mutex_t m2;
    bool ready;
} child_cond_t;

static void *child_cond_signaller(void *arg)
{
    child_cond_t *s = arg;
    pl_mutex_lock(&s->m2);
    s->ready = true;
    pl_cond_signal(&fork_cond);
    pl_mutex_unlock(&s->m2);
    return NULL;
}

/* notify_first: signal and broadcast on the stale word before the first wait, else after it. */
static int child_uses_cond_with_another_mutex(bool notify_first)
{
    child_cond_t s = {PL_MUTEX_INIT, false};
    if (notify_first && (pl_cond_signal(&fork_cond) || pl_cond_broadcast(&fork_cond) != 0))
        return 20; /* nobody waits here */
    CHILD_LOCK(&s.m2);
    uint64_t deadline = pl_now() + 2 * TU_MS;
    if (CHILD_WAIT_UNTIL(&fork_cond, &s.m2, deadline) || pl_now() < deadline)
        return 21; /* nobody signalled: must time out, and not early */
    if (pl_cond_signal(&fork_cond) || pl_cond_broadcast(&fork_cond) != 0)
        return 22;
#if CHILD_THREADS
    pthread_t t;
    if (pthread_create(&t, NULL, child_cond_signaller, &s) != 0)
        return 23;
    while (!s.ready) /* a lost wake-up hangs here: SIGALRM */
        pl_cond_wait(&fork_cond, &s.m2);
    CHILD_UNLOCK(&s.m2);
    if (pthread_join(t, NULL) != 0)
        return 24;
#else
    CHILD_UNLOCK(&s.m2);
    (void)child_cond_signaller;
#endif
    return 0;
}

START_TEST(child_waits_on_cond_with_another_mutex)
{
    fork_go = false;
    pthread_t waiter;
    tu_spawn(&waiter, fork_cond_waiter, NULL);
    ck_assert(tu_wait_until(fork_cond_waiter_queued, NULL));
    ck_assert_ptr_eq(__atomic_load_n(&fork_cond.mutex, __ATOMIC_RELAXED), &fork_m1);
    for (int notify_first = 0; notify_first < 2; notify_first++) {
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            child_begin();
            _exit(child_uses_cond_with_another_mutex(notify_first != 0));
        }
        expect_child_ok(pid);
    }
    /* The parent's waiter is untouched by its children, and still waits with fork_m1. */
    ck_assert_uint_eq(tu_queued(&fork_cond, NULL, 0), 1);
    pl_mutex_lock(&fork_m1);
    fork_go = true;
    ck_assert(pl_cond_signal(&fork_cond));
    pl_mutex_unlock(&fork_m1);
    tu_join(waiter);
}
END_TEST

/* ---- The application's own pthread_atfork handlers may use our locks ---- */

/* The usual way to fork safely while other threads use a lock: a prepare handler takes it, the
 * parent and child handlers release it.  Here the lock is held by another thread when fork()
 * runs the prepare handler, so the handler parks (while the hammers keep the parking lot busy):
 * that works because libparking has no prepare handler holding bucket locks
 * (docs/design.md section 9).  The child handler, registered after libparking's own (the
 * process parked before), runs after the parking lot was reset. */
static pl_mutex_t app_lock;
static pl_cond_t app_cond;
static atomic_size_t prepare_parked; /* prepare handlers that had to park */
static atomic_bool in_prepare;

static void app_prepare(void)
{
    atomic_store(&in_prepare, true);
    if (!pl_mutex_trylock(&app_lock)) {
        atomic_fetch_add(&prepare_parked, 1);
        pl_mutex_lock(&app_lock);
    }
}

static void app_parent(void) { pl_mutex_unlock(&app_lock); }
static void app_child(void) { pl_mutex_unlock(&app_lock); }

/* Holds app_lock until the forking thread's prepare handler is queued on it. */
static void *app_lock_holder(void *arg)
{
    atomic_bool *holding = arg;
    pl_mutex_lock(&app_lock);
    atomic_store(holding, true);
    uint64_t limit = pl_now() + TU_WAIT_NS;
    unsigned polls = 0;
    while (!(atomic_load(&in_prepare) && queued_here(&app_lock) == 1) && pl_now() < limit)
        tu_backoff(&polls);
    pl_mutex_unlock(&app_lock);
    return NULL;
}

static int child_after_app_handlers(void)
{
    if (queued_here(&app_lock) != 0 || queued_here(&hammer_lock) != 0)
        return 10;
    if (!pl_mutex_lock_for(&app_lock, 100 * TU_MS))
        return 11; /* the child handler released it */
    uint64_t deadline = pl_now() + 2 * TU_MS;
    if (pl_cond_wait_until(&app_cond, &app_lock, deadline) || pl_now() < deadline)
        return 12;
    pl_mutex_unlock(&app_lock);
    return child_work_fresh();
}

START_TEST(application_atfork_handlers_use_our_locks)
{
    /* Parks once first: the table, and with it libparking's own fork handler, exist before the
     * application registers its handlers. */
    (void)pl_park(&parked_key, NULL, NULL, NULL, NULL, 0, 0);
    ck_assert_int_eq(pthread_atfork(app_prepare, app_parent, app_child), 0);
    pthread_t hammers[HAMMERS];
    atomic_store(&hammer_stop, false);
    for (int i = 0; i < HAMMERS; i++)
        tu_spawn(&hammers[i], hammer_main, NULL);
    for (int i = 0; i < FORKS; i++) {
        atomic_bool holding = false;
        atomic_store(&in_prepare, false);
        pthread_t holder;
        tu_spawn(&holder, app_lock_holder, &holding);
        unsigned polls = 0;
        while (!atomic_load(&holding))
            tu_backoff(&polls);
        pid_t pid = fork(); /* the prepare handler parks until the holder lets go */
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            child_begin();
            _exit(child_after_app_handlers());
        }
        tu_join(holder);
        expect_child_ok(pid);
    }
    atomic_store(&hammer_stop, true);
    for (int i = 0; i < HAMMERS; i++)
        tu_join(hammers[i]);
    ck_assert_uint_eq(atomic_load(&prepare_parked), FORKS);
}
END_TEST

static Suite *fork_suite(void)
{
    Suite *s = suite_create("fork");
    TCase *tc = tu_tcase(s, "fork", 120);
    tcase_add_test(tc, child_queue_is_empty);
    tcase_add_test(tc, fork_while_threads_hammer);
    tcase_add_test(tc, child_waits_on_cond_with_another_mutex);
#if !(defined(PARKING_DEBUG) && PARKING_DEBUG)
    /* Not in debug mode: its checker's own fork handler holds the checker's mutex from before
     * the application's prepare handler runs, and the thread that must unlock the lock that
     * handler waits for needs that mutex in its unlock hook (docs/reference/debug.md). */
    tcase_add_test(tc, application_atfork_handlers_use_our_locks);
#else
    (void)application_atfork_handlers_use_our_locks;
#endif
    return s;
}

int main(void) { return tu_run_suite(fork_suite()); }
