/* Tests of the Check stand-in itself (check_win.c): a runner that passed everything would make
 * every Windows result meaningless.  Each test below has a known verdict; main() runs them and
 * exits non-zero unless the runner counted exactly those verdicts.  The failure lines it prints
 * are expected.  Note that every child runs main() up to srunner_run_all, as with Check, so
 * main() prints nothing before it. */
#include <check.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#ifndef WIN32_LEAN_AND_MEAN
#  define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

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
    Sleep(10000); /* not reached: the failure ends the process */
}
END_TEST

START_TEST(aborts_as_expected) { abort(); }
END_TEST

START_TEST(aborts_unexpectedly) { abort(); }
END_TEST

START_TEST(returns_but_abort_expected) {}
END_TEST

START_TEST(hangs) { Sleep(30000); }
END_TEST

START_TEST(crashes)
{
    volatile int *volatile p = NULL;
    *p = 1;
}
END_TEST

START_TEST(skips_at_pipe)
{
    int fds[2];
    (void)pipe(fds);
}
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
    Suite *s = suite_create("check_win_selftest");
    TCase *tc = tcase_create("verdicts");
    tcase_set_timeout(tc, 2);
    tcase_add_test(tc, passes);                                           /* pass */
    tcase_add_test(tc, fails_in_main_thread);                             /* failure */
    tcase_add_test(tc, fails_in_other_thread);                            /* failure */
    tcase_add_test_raise_signal(tc, aborts_as_expected, SIGABRT);         /* pass */
    tcase_add_test(tc, aborts_unexpectedly);                              /* error */
    tcase_add_test_raise_signal(tc, returns_but_abort_expected, SIGABRT); /* failure */
    tcase_add_test(tc, hangs);                                            /* error (timeout) */
    tcase_add_test(tc, crashes);                                          /* error */
    tcase_add_test(tc, skips_at_pipe);                                    /* skipped */
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
    int ok =
        run == 18 && failures == 4 && errors == 5 && skipped == 1 && failed == 9 && in_parent == 1;
    printf("check_win_selftest: run %d (want 18), failures %d (4), errors %d (5), skipped %d (1): "
           "%s (the failures and errors printed above are expected)\n",
           run, failures, errors, skipped, ok ? "as expected" : "WRONG");
    return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}
