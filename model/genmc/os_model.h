/* GenMC stand-ins for the OS layer under the real parker (parking/parker_word.c).
 *
 * GenMC runs C11 threads and atomics but has no futex, clock or scheduler, so:
 * - pl_os_wait / pl_os_wake_one model a futex exactly as the kernel specifies it: the compare
 *   of the word and the queueing of the sleeper happen under one kernel lock (a pthread mutex
 *   here), and so does a wake.  A sleeper then waits for its own `woken` flag; a wake that never
 *   comes leaves that wait blocked for good, which `genmc --check-liveness` reports: that is
 *   how a lost wake-up shows.  The kernel's compare is a seq_cst load: the futex system calls
 *   are full barriers on every architecture Linux supports.
 * - pl_now is 0 and every wait is PL_FOREVER: the time-outs are not modelled.
 * - pl_spin gives up at once: spinning only delays a park, and every interleaving of the park
 *   itself is explored anyway. */
#ifndef PL_GENMC_OS_MODEL_H
#define PL_GENMC_OS_MODEL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <genmc.h>
#include <parking/lot.h>

/* Waits until `cond` holds, as a loop GenMC knows is a spin: an iteration that sees `cond`
 * false ends the execution (nothing is lost: it would only read the same values again), and
 * with --check-liveness a wait that no thread can ever end is reported.  tools/genmc-check runs
 * with --disable-spin-assume, so that only these loops are treated so: GenMC's automatic
 * detection took a loop of the real code for a spin (announce_sleep in parker_word.c, whose
 * failed compare-and-swap changes a local that ends the loop) and reported a false
 * non-terminating loop.  The loops of the real code are all bounded by other threads' writes. */
#define AWAIT(cond)                                                                                \
  do {                                                                                             \
    int await_ok_ = 0;                                                                             \
    for (__VERIFIER_loop_begin();                                                                  \
         __VERIFIER_spin_start(), await_ok_ = (cond), __VERIFIER_spin_end(await_ok_), !await_ok_;) \
      ;                                                                                            \
  } while (0)

/* Chaos builds turn the PL_ASSERT invariants on; their delays are GenMC's job. */
void pl_chaos_point(void) {}
uint64_t pl_now(void) { return 0; }
bool pl_spin(pl_spin_t *spin)
{
    (void)spin;
    return false;
}

enum { KSLOTS = 4 };
static pthread_mutex_t kernel_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ksleeper {
    uint32_t *word; /* NULL: free slot */
    int woken;
} ksleepers[KSLOTS];

bool pl_os_wait(uint32_t *word, uint32_t expected, uint64_t deadline)
{
    (void)deadline;
    pthread_mutex_lock(&kernel_lock);
    if (__atomic_load_n(word, __ATOMIC_SEQ_CST) != expected) {
        pthread_mutex_unlock(&kernel_lock);
        return true;
    }
    int i = 0;
    while (ksleepers[i].word != NULL)
        i++;
    ksleepers[i].word = word;
    __atomic_store_n(&ksleepers[i].woken, 0, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&kernel_lock);
    AWAIT(__atomic_load_n(&ksleepers[i].woken, __ATOMIC_ACQUIRE));
    pthread_mutex_lock(&kernel_lock);
    ksleepers[i].word = NULL;
    pthread_mutex_unlock(&kernel_lock);
    return true;
}

void pl_os_wake_one(uint32_t *word)
{
    pthread_mutex_lock(&kernel_lock);
    for (int i = 0; i < KSLOTS; i++) {
        if (ksleepers[i].word == word && !__atomic_load_n(&ksleepers[i].woken, __ATOMIC_RELAXED)) {
            __atomic_store_n(&ksleepers[i].woken, 1, __ATOMIC_RELEASE);
            break;
        }
    }
    pthread_mutex_unlock(&kernel_lock);
}

#endif
