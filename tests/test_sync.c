/* The small primitives on the parking lot, one suite each, in one program: parking/event.h
 * (tests/sync/event.c), semaphore.h (sync/semaphore.c), latch.h (sync/latch.c) and barrier.h
 * (sync/barrier.c).  One program rather than four because every test program is built and run
 * in every configuration of tools/test (plain, sanitizers, debug, chaos, memcheck, Windows under
 * Wine, each against both parkers), where building it costs more than running it. */
#include "test_util.h"

Suite *event_suite(void);
Suite *semaphore_suite(void);
Suite *latch_suite(void);
Suite *barrier_suite(void);

int main(void)
{
    SRunner *sr = srunner_create(event_suite());
    srunner_add_suite(sr, semaphore_suite());
    srunner_add_suite(sr, latch_suite());
    srunner_add_suite(sr, barrier_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
