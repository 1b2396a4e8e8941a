/* errno: no call of the library changes it (include/parking/lot.h).  A lock or wait that times
 * out sleeps in a system call that fails with ETIMEDOUT (the futex's), a contended one in calls
 * that may fail with EAGAIN or EINTR; none of that may reach the caller, whose errno may hold
 * the result of its own last call.  (Windows' GetLastError is kept the same way, by the parker.)
 *
 * Each check sets errno to a sentinel no library call sets, makes the call really sleep (a wait
 * that times out, or a lock another thread holds until the caller is queued) and expects the
 * sentinel back. */
#include "test_util.h"

#include <errno.h>

#include <parking/cond.h>
#include <parking/mutex.h>
#include <parking/once.h>
#include <parking/rwlock.h>
#include <parking/wait.h>

/* Not an errno value of any system call. */
enum { SENTINEL = 12345 };

#define EXPECT_ERRNO_KEPT(what)                                                                    \
  ck_assert_msg(errno == SENTINEL, "%s: errno %d (%s), expected it kept", what, errno,             \
                strerror(errno))

/* A thread that holds a mutex and/or a write lock until `release` is set or, with
 * release_when_queued, until a thread is queued on the lock (so that the caller really parks
 * and is really woken). */
typedef struct holder {
    pl_mutex_t *m;
    pl_rwlock_t *rw;
    bool release_when_queued;
    atomic_bool holding;
    atomic_bool release;
    pthread_t thread;
} holder_t;

static void *holder_main(void *arg)
{
    holder_t *h = arg;
    if (h->m != NULL)
        pl_mutex_lock(h->m);
    if (h->rw != NULL)
        pl_rwlock_wrlock(h->rw);
    atomic_store(&h->holding, true);
    unsigned polls = 0;
    uint64_t limit = pl_now() + TU_WAIT_NS;
    while (!atomic_load(&h->release) && pl_now() < limit) {
        if (h->release_when_queued && h->m != NULL && tu_queued_quiet(h->m) > 0)
            break;
        tu_backoff(&polls);
    }
    if (h->m != NULL)
        pl_mutex_unlock(h->m);
    if (h->rw != NULL)
        pl_rwlock_wrunlock(h->rw);
    return NULL;
}

static void holder_start(holder_t *h, pl_mutex_t *m, pl_rwlock_t *rw, bool release_when_queued)
{
    h->m = m;
    h->rw = rw;
    h->release_when_queued = release_when_queued;
    atomic_init(&h->holding, false);
    atomic_init(&h->release, false);
    tu_spawn(&h->thread, holder_main, h);
    unsigned polls = 0;
    while (!atomic_load(&h->holding))
        tu_backoff(&polls);
}

static void holder_stop(holder_t *h)
{
    atomic_store(&h->release, true);
    tu_join(h->thread);
}

START_TEST(timed_out_locks_keep_errno)
{
    static pl_mutex_t m;
    static pl_rwlock_t rw;
    holder_t h;
    holder_start(&h, &m, &rw, false);

    errno = SENTINEL;
    ck_assert(!pl_mutex_lock_for(&m, 2 * TU_MS));
    EXPECT_ERRNO_KEPT("pl_mutex_lock_for timed out");
    ck_assert(!pl_mutex_lock_until(&m, pl_now() + 2 * TU_MS));
    EXPECT_ERRNO_KEPT("pl_mutex_lock_until timed out");
    ck_assert(!pl_mutex_lock_until(&m, pl_now() - 1));
    EXPECT_ERRNO_KEPT("pl_mutex_lock_until with a past deadline");
    ck_assert(!pl_rwlock_wrlock_for(&rw, 2 * TU_MS));
    EXPECT_ERRNO_KEPT("pl_rwlock_wrlock_for timed out");
    ck_assert(!pl_rwlock_rdlock_for(&rw, 2 * TU_MS));
    EXPECT_ERRNO_KEPT("pl_rwlock_rdlock_for timed out");

    holder_stop(&h);
}
END_TEST

START_TEST(timed_out_waits_keep_errno)
{
    static pl_mutex_t m;
    static pl_cond_t c;
    static uint32_t word = 7;
    uint32_t expected = 7;

    pl_mutex_lock(&m);
    errno = SENTINEL;
    ck_assert(!pl_cond_wait_for(&c, &m, 2 * TU_MS));
    EXPECT_ERRNO_KEPT("pl_cond_wait_for timed out");
    ck_assert(!pl_cond_wait_until(&c, &m, pl_now() - 1));
    EXPECT_ERRNO_KEPT("pl_cond_wait_until with a past deadline");
    pl_mutex_unlock(&m);

    ck_assert_int_eq(pl_wait_for(&word, &expected, sizeof word, 2 * TU_MS), ETIMEDOUT);
    EXPECT_ERRNO_KEPT("pl_wait_for timed out");
    ck_assert_int_eq(pl_wait(&word, &expected, sizeof word, pl_now() + 2 * TU_MS), ETIMEDOUT);
    EXPECT_ERRNO_KEPT("pl_wait timed out");

    /* The raw call, with a deadline that passes while the thread sleeps. */
    ck_assert_int_eq(pl_park(&word, NULL, NULL, NULL, NULL, 0, pl_now() + 2 * TU_MS).status,
                     PL_PARK_TIMED_OUT);
    EXPECT_ERRNO_KEPT("pl_park timed out");
}
END_TEST

/* ---- Contended calls that park and are woken ---- */

static pl_mutex_t contended;

static void *parked_locker_main(void *arg)
{
    int *seen = arg;
    errno = SENTINEL;
    pl_mutex_lock(&contended); /* parks: the main thread holds it */
    pl_mutex_unlock(&contended);
    *seen = errno;
    return NULL;
}

static bool one_queued(void *addr) { return tu_queued(addr, NULL, 0) == 1; }

START_TEST(contended_lock_and_unlock_keep_errno)
{
    /* The main thread's unlock wakes a parked locker, whose lock returns after its park. */
    pl_mutex_lock(&contended);
    int seen = 0;
    pthread_t t;
    tu_spawn(&t, parked_locker_main, &seen);
    ck_assert(tu_wait_until(one_queued, &contended));
    errno = SENTINEL;
    pl_mutex_unlock(&contended);
    EXPECT_ERRNO_KEPT("pl_mutex_unlock waking a parked thread");
    tu_join(t);
    ck_assert_msg(seen == SENTINEL, "parked pl_mutex_lock: errno %d", seen);

    /* The main thread parks, woken by the holder once it is queued. */
    holder_t h;
    holder_start(&h, &contended, NULL, true);
    errno = SENTINEL;
    pl_mutex_lock(&contended);
    EXPECT_ERRNO_KEPT("pl_mutex_lock after a park");
    pl_mutex_unlock(&contended);
    holder_stop(&h);
}
END_TEST

/* ---- A once whose caller waits for another thread's run ---- */

static pl_once_t once;
static atomic_bool once_running;

static void slow_init(void *arg)
{
    (void)arg;
    atomic_store(&once_running, true);
    /* Returns once the main thread waits for it, so that the main thread really parks. */
    (void)tu_poll_queued(&once, 1);
}

static void *once_main(void *arg)
{
    (void)arg;
    pl_call_once(&once, slow_init, NULL);
    return NULL;
}

static void never_called(void *arg)
{
    (void)arg;
    abort();
}

START_TEST(once_waiter_keeps_errno)
{
    pthread_t t;
    tu_spawn(&t, once_main, NULL);
    unsigned polls = 0;
    while (!atomic_load(&once_running))
        tu_backoff(&polls);
    errno = SENTINEL;
    pl_call_once(&once, never_called, NULL); /* parks until slow_init returns */
    EXPECT_ERRNO_KEPT("pl_call_once waiting for another thread's run");
    tu_join(t);
}
END_TEST

/* ---- pl_lot_dump ---- */

static tu_parker_t dumped;

START_TEST(lot_dump_keeps_errno)
{
    static char key;
    atomic_size_t parked = 0;
    tu_parker_start(&dumped, &key, 1, PL_FOREVER, &parked);
    ck_assert(tu_wait_count(&parked, 1));
    FILE *f = tmpfile();
    ck_assert_ptr_nonnull(f);
    errno = SENTINEL;
    ck_assert_uint_eq(pl_lot_dump(f), 1);
    EXPECT_ERRNO_KEPT("pl_lot_dump");
    ck_assert_uint_eq(pl_lot_walk(NULL, NULL), 1);
    EXPECT_ERRNO_KEPT("pl_lot_walk");
    fclose(f);
    tu_unpark_one_expect(&key);
    ck_assert_int_eq(tu_parker_join(&dumped).status, PL_PARK_UNPARKED);
}
END_TEST

static Suite *errno_suite(void)
{
    Suite *s = suite_create("errno");
    TCase *tc = tu_tcase(s, "errno", 60);
    tcase_add_test(tc, timed_out_locks_keep_errno);
    tcase_add_test(tc, timed_out_waits_keep_errno);
    tcase_add_test(tc, contended_lock_and_unlock_keep_errno);
    tcase_add_test(tc, once_waiter_keeps_errno);
    tcase_add_test(tc, lot_dump_keeps_errno);
    return s;
}

int main(void) { return tu_run_suite(errno_suite()); }
