/* The self-test of tools/test-memcheck: a Check program whose test cases each hide one memory
 * error where a harness that only looked at exit statuses would miss it.  tools/test-memcheck
 * runs each case alone (CK_RUN_CASE) under valgrind and requires each error to fail the run,
 * and the clean case to pass.  Not part of the library's test suite: these tests are meant to
 * look fine to Check.
 *
 *   leak_in_passing_test        a definite leak in a test that passes: Check's child exits 99
 *                               (--error-exitcode), which Check reports as an early exit;
 *   uninit_in_abort_test        a branch on uninitialised memory in a test that is expected to
 *                               die of SIGABRT: Check is satisfied, only the child's log shows it;
 *   invalid_read_in_grandchild  a read of freed memory in a process the test forks, which then
 *                               dies of SIGABRT as the test expects (the pattern of
 *                               tu_expect_abort_message): only the grandchild's log shows it;
 *   clean                       no error: must pass. */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

/* Out of the optimiser's sight, so the errors stay in the compiled code. */
static void *volatile sink;

START_TEST(leak)
{
    sink = malloc(48);
    sink = NULL; /* the only pointer is gone: definitely lost */
}
END_TEST

START_TEST(uninit_then_abort)
{
    sink = malloc(sizeof(int) * 4);
    int *p = sink;  /* through the volatile: the compiler cannot see it is uninitialised */
    if (p[2] == 42) /* memcheck reports the conditional jump on uninitialised memory */
        puts("unlikely");
    free(p);
    abort();
}
END_TEST

START_TEST(invalid_read_grandchild)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int *p = malloc(sizeof *p);
        *p = 1;
        sink = p;
        free(p);
        if (((volatile int *)sink)[0] == 7) /* read after free */
            _exit(3);
        abort(); /* as tests/test_util.h's tu_expect_abort_message children do */
    }
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
}
END_TEST

START_TEST(no_error)
{
    char *p = malloc(16);
    p[0] = 'x';
    sink = p;
    ck_assert_int_eq(p[0], 'x');
    free(p);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("memcheck-selftest");
    TCase *tc = tcase_create("leak_in_passing_test");
    tcase_add_test(tc, leak);
    suite_add_tcase(s, tc);
    tc = tcase_create("uninit_in_abort_test");
    tcase_add_test_raise_signal(tc, uninit_then_abort, SIGABRT);
    suite_add_tcase(s, tc);
    tc = tcase_create("invalid_read_in_grandchild");
    tcase_add_test(tc, invalid_read_grandchild);
    suite_add_tcase(s, tc);
    tc = tcase_create("clean");
    tcase_add_test(tc, no_error);
    suite_add_tcase(s, tc);

    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
