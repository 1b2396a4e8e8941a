/* Tests of the POSIX Check stand-in itself (check_posix.c), as check_win_selftest.c does for the
 * Windows one: each test below has a known verdict; main() runs them and exits non-zero unless
 * the runner counted exactly those verdicts.  The failure lines it prints are expected. */
#include <check.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int in_parent = 1; /* the parent never runs a test; a child sets this to 0 */

START_TEST(passes)
{
    in_parent = 0;
    ck_assert_int_eq(1 + 1, 2);
    ck_assert_ptr_nonnull(&in_parent);
}
END_TEST

START_TEST(fails_in_main_thread) { ck_assert_uint_eq(1, 2); }
END_TEST

static void *failing_thread(void *arg)
{
    (void)arg;
    ck_abort_msg("a failure in another thread");
    return NULL;
}

START_TEST(fails_in_other_thread)
{
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, failing_thread, NULL), 0);
    pthread_join(t, NULL);
    sleep(10); /* not reached: the failure ends the process */
}
END_TEST

START_TEST(aborts_as_expected) { abort(); }
END_TEST

START_TEST(aborts_unexpectedly) { abort(); }
END_TEST

START_TEST(returns_but_abort_expected) {}
END_TEST

START_TEST(hangs) { sleep(30); }
END_TEST

/* A process the test started must not outlive the test's time-out: the runner kills the test's
 * process group.  The grandchild writes to this pipe (made by main) if it survives. */
static int survivor_pipe[2];

START_TEST(hangs_with_a_child)
{
    if (fork() == 0) {
        sleep(3);
        (void)write(survivor_pipe[1], "!", 1);
        _exit(0);
    }
    sleep(30);
}
END_TEST

START_TEST(crashes)
{
    volatile int *volatile p = NULL;
    *p = 1;
}
END_TEST

START_TEST(skips) { ck_win_skip("as intended"); }
END_TEST

START_TEST(loop_fails_at_two) { ck_assert_int_ne(_i, 2); }
END_TEST

START_TEST(exits_with_five) { exit(5); }
END_TEST

START_TEST(exits_early_with_zero)
{
    exit(0); /* a test that ends the process early has not passed */
}
END_TEST

START_TEST(returns_but_exit_expected) {}
END_TEST

START_TEST(fresh_process_each_time)
{
    /* Static state starts over in every child. */
    static int runs;
    ck_assert_int_eq(++runs, 1);
}
END_TEST

int main(void)
{
    if (pipe(survivor_pipe) != 0 || fcntl(survivor_pipe[0], F_SETFL, O_NONBLOCK) != 0) {
        perror("check_posix_selftest: pipe");
        return EXIT_FAILURE;
    }
    /* The verdicts depend on the 2 s limit itself (the grandchild's 3 s), not a multiple of it:
     * tools/test-cross multiplies every other test's limit. */
    unsetenv("CK_TIMEOUT_MULTIPLIER");
    Suite *s = suite_create("check_posix_selftest");
    TCase *tc = tcase_create("verdicts");
    tcase_set_timeout(tc, 2);
    tcase_add_test(tc, passes);                                           /* pass */
    tcase_add_test(tc, fails_in_main_thread);                             /* failure */
    tcase_add_test(tc, fails_in_other_thread);                            /* failure */
    tcase_add_test_raise_signal(tc, aborts_as_expected, SIGABRT);         /* pass */
    tcase_add_test(tc, aborts_unexpectedly);                              /* error */
    tcase_add_test_raise_signal(tc, returns_but_abort_expected, SIGABRT); /* failure */
    tcase_add_test(tc, hangs);                                            /* error (timeout) */
    tcase_add_test(tc, hangs_with_a_child);                               /* error (timeout) */
    tcase_add_test(tc, crashes);                                          /* error */
    tcase_add_test(tc, skips);                                            /* skipped */
    tcase_add_loop_test(tc, loop_fails_at_two, 0, 4);                     /* 3 pass, 1 failure */
    tcase_add_exit_test(tc, exits_with_five, 5);                          /* pass */
    tcase_add_test(tc, exits_early_with_zero);                            /* error */
    tcase_add_exit_test(tc, returns_but_exit_expected, 5);                /* error */
    tcase_add_loop_test(tc, fresh_process_each_time, 0, 2);               /* 2 pass */
    suite_add_tcase(s, tc);

    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failures, errors, skipped;
    ck_win_counts(sr, &failures, &errors, &skipped);
    int run = srunner_ntests_run(sr), failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    /* Long enough for a surviving grandchild (3 s after its start) to have written. */
    sleep(4);
    char c;
    bool survivor = read(survivor_pipe[0], &c, 1) == 1;
    int ok = run == 19 && failures == 4 && errors == 6 && skipped == 1 && failed == 10 &&
             in_parent == 1 && !survivor;
    printf("check_posix_selftest: run %d (want 19), failures %d (4), errors %d (6), skipped %d "
           "(1), grandchild survived: %s: %s (the failures and errors printed above are "
           "expected)\n",
           run, failures, errors, skipped, survivor ? "yes" : "no", ok ? "as expected" : "WRONG");
    return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}
