/* A countdown latch (and, with a count of 1, a one-shot event) in a dozen lines of pl_wait and
 * pl_wake_all: no lock, no condition variable, four bytes.
 *
 * latch_wait sleeps while the count is not zero; latch_count_down decrements it and the thread
 * that reaches zero wakes every waiter.  pl_wait compares the count under the parking lot's
 * bucket lock, the same lock pl_wake_all takes, so a waiter cannot miss the last count-down.
 * Ordering: each count-down is a release operation and the waiter's load that sees zero an
 * acquire, so everything the counting threads wrote before counting down is visible to the
 * waiters when latch_wait returns.
 *
 * The program runs ROUNDS rounds with WORKERS threads: in each round the main thread publishes
 * an input, opens that round's gate (an event), and waits on that round's latch; the workers wait
 * at the gate, compute, count down.  The main thread checks the results right after its wait,
 * with no join in between, so a lost wake-up hangs the test and a missing ordering shows as a
 * wrong value.  Exit status 0 means every check passed.
 */
#define _POSIX_C_SOURCE 200809L

#include <parking/wait.h>

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

/* ---- the latch ---- */
typedef struct {
    uint32_t count;
} latch_t; /* count-downs still to come; 0 = open */

static void latch_count_down(latch_t *l)
{
    if (__atomic_sub_fetch(&l->count, 1, __ATOMIC_RELEASE) == 0)
        pl_wake_all(&l->count); /* after the store: late waiters see 0 */
}

static void latch_wait(latch_t *l)
{
    uint32_t v;
    while ((v = __atomic_load_n(&l->count, __ATOMIC_ACQUIRE)) != 0)
        pl_wait(&l->count, &v, sizeof v, PL_FOREVER); /* returns at once if v is stale */
}
/* ---- end of the latch ---- */

#define WORKERS 4
#define ROUNDS 500

static latch_t gate[ROUNDS];             /* events: count 1, opened by main */
static latch_t done[ROUNDS];             /* latches: count WORKERS */
static uint64_t input[ROUNDS];           /* written by main before opening the gate */
static uint64_t result[ROUNDS][WORKERS]; /* written by workers before counting down */

static void *worker(void *arg)
{
    unsigned w = (unsigned)(uintptr_t)arg;
    for (unsigned r = 0; r < ROUNDS; r++) {
        latch_wait(&gate[r]);
        result[r][w] = input[r] * (w + 1); /* plain accesses: the latches order them */
        latch_count_down(&done[r]);
    }
    return NULL;
}

int main(void)
{
    for (unsigned r = 0; r < ROUNDS; r++) {
        gate[r].count = 1;
        done[r].count = WORKERS;
    }
    pthread_t threads[WORKERS];
    for (unsigned w = 0; w < WORKERS; w++)
        if (pthread_create(&threads[w], NULL, worker, (void *)(uintptr_t)w) != 0)
            return 1;

    unsigned wrong = 0;
    for (unsigned r = 0; r < ROUNDS; r++) {
        input[r] = 1000u + r;
        latch_count_down(&gate[r]); /* open the gate: every worker may go */
        latch_wait(&done[r]);       /* all results of round r are visible now */
        for (unsigned w = 0; w < WORKERS; w++)
            wrong += result[r][w] != (1000u + r) * (w + 1);
    }
    for (unsigned w = 0; w < WORKERS; w++)
        pthread_join(threads[w], NULL);

    printf("latch: %u rounds of %u workers behind a gate event and a countdown latch of %zu "
           "bytes each: %u wrong results\n",
           ROUNDS, WORKERS, sizeof(latch_t), wrong);
    if (wrong) {
        fprintf(stderr, "latch: FAILED\n");
        return 1;
    }
    printf("latch: OK\n");
    return 0;
}
