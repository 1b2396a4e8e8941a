/* GenMC client: pl_once_t (include/parking/once.h and src/once.c, the real files) over the
 * parking lot model (lot_model.h).  THREADS threads (3 by default) call it at once; the
 * initialiser writes plain data.  Checks that it runs exactly once and that every caller sees
 * its writes on return (a data race on `data` otherwise), and that no waiter sleeps for ever
 * (--check-liveness).  With TRY the first run fails: the turn passes to a waiter under the
 * bucket lock, or to a newcomer, which must see what the failed run wrote (a race on `runs`).
 * Run by tools/genmc-check.
 *
 * Stand-ins: the recursion check's per-thread list (pl_os_word_get/set) is always empty and the
 * stack position is a constant, so recursion detection itself is not modelled. */
#include <assert.h>
#include <pthread.h>

#include "lot_model.h"

#define __builtin_dwarf_cfa() ((void *)0)

#include <parking/once.h>
#include "misuse.h"
#include "src/once.c"

uint64_t pl_os_word_get(pl_os_word_t word)
{
    (void)word;
    return 0;
}
void pl_os_word_set(pl_os_word_t word, uint64_t value)
{
    (void)word;
    (void)value;
}

#ifndef THREADS
#  define THREADS 3
#endif

static pl_once_t once = PL_ONCE_INIT;
static int runs;
static int data;

#ifdef TRY
static bool init(void *arg)
{
    (void)arg;
    runs++;
    data = runs; /* 1 from the failed run, then 2 */
    return runs == 2;
}
#else
static void init(void *arg)
{
    (void)arg;
    runs++;
    data = 42;
}
#endif

static void *worker(void *arg)
{
    (void)arg;
#ifdef TRY
    if (pl_call_once_try(&once, init, NULL))
        assert(data == 2);
#else
    pl_call_once(&once, init, NULL);
    assert(data == 42);
#endif
    return NULL;
}

int main(void)
{
    /* Identical threads: GenMC explores one order of them (symmetry reduction), which needs the
     * spawns with no memory access between them (pthread_create stores each id). */
    __VERIFIER_thread_t t[THREADS];
    t[0] = __VERIFIER_spawn(worker, NULL);
    for (int i = 1; i < THREADS; i++)
        t[i] = __VERIFIER_spawn_symmetric(worker, NULL, t[i - 1]);
    for (int i = 0; i < THREADS; i++)
        __VERIFIER_join_symmetric(t[i]);
#ifdef TRY
    assert(runs <= 2);
#else
    assert(runs == 1);
#endif
    return 0;
}
