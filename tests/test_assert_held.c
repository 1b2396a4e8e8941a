/* Tests of the assert-held functions: pl_mutex_assert_held, pl_remutex_assert_held,
 * pl_rwlock_assert_held and pl_rwlock_assert_shared_held.
 *
 * Built twice: as test_assert_held with debug mode forced off (the cheap "locked by someone"
 * check), and as test_assert_held_debug (tests/test_assert_held_debug.c includes this file after
 * defining PARKING_DEBUG 1), where the check is exact.  Each failure runs in a forked child
 * (tu_expect_abort_message) and its message is checked; POSIX only, like the other abort tests. */
#ifndef PARKING_DEBUG
#  define PARKING_DEBUG 0
#endif
#include "test_util.h"

#include <parking/mutex.h>
#include <parking/remutex.h>
#include <parking/rwlock.h>

#define EXACT PARKING_DEBUG

static pl_mutex_t m;
static pl_remutex_t rm;
static pl_rwlock_t rw;

START_TEST(held_passes)
{
    pl_mutex_lock(&m);
    pl_mutex_assert_held(&m);
    pl_mutex_unlock(&m);

    pl_remutex_lock(&rm);
    pl_remutex_lock(&rm);
    pl_remutex_assert_held(&rm);
    pl_remutex_unlock(&rm);
    pl_remutex_assert_held(&rm);
    pl_remutex_unlock(&rm);

    pl_rwlock_wrlock(&rw);
    pl_rwlock_assert_held(&rw);
    pl_rwlock_assert_shared_held(&rw);
    pl_rwlock_wrunlock(&rw);
    pl_rwlock_rdlock(&rw);
    pl_rwlock_assert_shared_held(&rw);
    pl_rwlock_rdunlock(&rw);
    pl_rwlock_uplock(&rw);
    pl_rwlock_assert_shared_held(&rw);
    pl_rwlock_upgrade(&rw);
    pl_rwlock_assert_held(&rw);
    pl_rwlock_downgrade(&rw);
    pl_rwlock_assert_shared_held(&rw);
    pl_rwlock_rdunlock(&rw);
}
END_TEST

/* ---- Failures ---- */

static void mutex_unlocked(void *arg)
{
    (void)arg;
    pl_mutex_assert_held(&m);
}

static void remutex_unlocked(void *arg)
{
    (void)arg;
    pl_remutex_assert_held(&rm);
}

static void rwlock_unlocked(void *arg)
{
    (void)arg;
    pl_rwlock_assert_held(&rw);
}

static void rwlock_shared_unlocked(void *arg)
{
    (void)arg;
    pl_rwlock_assert_shared_held(&rw);
}

static void rwlock_read_not_write(void *arg)
{
    (void)arg;
    pl_rwlock_rdlock(&rw);
    pl_rwlock_assert_held(&rw);
}

/* Another thread takes the locks and exits holding them. */
static void *take_all(void *arg)
{
    (void)arg;
    pl_mutex_lock(&m);
    pl_remutex_lock(&rm);
    pl_rwlock_rdlock(&rw);
    return NULL;
}

static void held_elsewhere(void)
{
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, take_all, NULL), 0);
    ck_assert_int_eq(pthread_join(t, NULL), 0);
}

#if EXACT
static void mutex_other_thread(void *arg)
{
    (void)arg;
    held_elsewhere();
    pl_mutex_assert_held(&m);
}

static void rwlock_shared_other_thread(void *arg)
{
    (void)arg;
    held_elsewhere();
    pl_rwlock_assert_shared_held(&rw);
}
#endif

static void remutex_other_thread(void *arg)
{
    (void)arg;
    held_elsewhere();
    pl_remutex_assert_held(&rm);
}

static const tu_misuse_t misuses[] = {
    {"mutex unlocked",
     mutex_unlocked,
     NULL,
     {&m},
     {"libparking: pl_mutex_assert_held(%p): assertion failed: ",
      EXACT ? "not held by this thread" : "the mutex is not locked"}},
    {"remutex unlocked",
     remutex_unlocked,
     NULL,
     {&rm},
     {"libparking: pl_remutex_assert_held(%p): assertion failed: ", "is not locked"}},
    {"rwlock unlocked",
     rwlock_unlocked,
     NULL,
     {&rw},
     {"libparking: pl_rwlock_assert_held(%p): assertion failed: ",
      EXACT ? "not held by this thread; nobody holds it" : "not write-locked"}},
    {"rwlock shared unlocked",
     rwlock_shared_unlocked,
     NULL,
     {&rw},
     {"libparking: pl_rwlock_assert_shared_held(%p): assertion failed: ",
      EXACT ? "not held by this thread; nobody holds it" : "the rwlock is not locked"}},
    {"rwlock read, not write",
     rwlock_read_not_write,
     NULL,
     {&rw},
     {"libparking: pl_rwlock_assert_held(%p): assertion failed: ",
      EXACT ? "not held by this thread for writing (only for reading); 1 reader holds it"
            : "not write-locked"}},
    {"remutex held by another thread",
     remutex_other_thread,
     NULL,
     {&rm},
     {"libparking: pl_remutex_assert_held(%p): ",
      "assertion failed: held by another thread, not by this one"}},
#if EXACT
    {"mutex held by another thread",
     mutex_other_thread,
     NULL,
     {&m},
     {"libparking: pl_mutex_assert_held(%p): assertion failed: not held by this thread; held by "
      "thread "}},
    {"rwlock read by another thread",
     rwlock_shared_other_thread,
     NULL,
     {&rw},
     {"libparking: pl_rwlock_assert_shared_held(%p): ",
      "assertion failed: not held by this thread; 1 reader holds it"}},
#endif
};

START_TEST(failure_aborts) { tu_expect_misuse(&misuses[_i]); }
END_TEST

/* Without debug mode the check is the documented cheap one: a lock held by ANOTHER thread
 * passes (it is locked by someone). */
START_TEST(cheap_check_sees_only_locked)
{
#if EXACT
    return;
#else
    held_elsewhere();
    pl_mutex_assert_held(&m);
    pl_rwlock_assert_shared_held(&rw);
#endif
}
END_TEST

static Suite *assert_held_suite(void)
{
    Suite *s = suite_create(EXACT ? "assert_held_debug" : "assert_held");
    TCase *tc = tu_tcase(s, "held", 10);
    tcase_add_test(tc, held_passes);
    tcase_add_test(tc, cheap_check_sees_only_locked);
    tc = tu_tcase(s, "failures", 20);
    tcase_add_loop_test(tc, failure_aborts, 0, TU_LEN(misuses));
    return s;
}

int main(void) { return tu_run_suite(assert_held_suite()); }
