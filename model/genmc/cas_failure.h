/* GenMC v0.10.3 gives the read of a compare-and-swap the success ordering even when the swap
 * fails (its visitAtomicCmpXchgInst), so a failure ordering stronger than the success one (the
 * release, acquire pairs of parking/word_lock.c) is lost: a failed CAS that should synchronise
 * with the push it read does not, and GenMC reports the unlocker walking an unpublished node.
 * Included before the real code, this gives such a CAS its failure ordering back: the swap with
 * a relaxed failure, then, if it failed, an acquire fence (a relaxed read followed by an acquire
 * fence synchronises with the release it read, as an acquire read would; the fence also orders
 * the thread's earlier relaxed reads, slightly stronger).  A mutant that weakens the failure
 * ordering to relaxed drops the fence, so GenMC can see it. */
#ifndef PL_GENMC_CAS_FAILURE_H
#define PL_GENMC_CAS_FAILURE_H

#include <stdbool.h>

static inline bool pl_genmc_cas_failed_acquire(bool ok, int fail)
{
    if (!ok && (fail == __ATOMIC_ACQUIRE || fail == __ATOMIC_SEQ_CST))
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
    return ok;
}

/* The builtin inside is not expanded again (a macro does not expand within itself). */
#define __atomic_compare_exchange_n(p, e, d, weak, succ, fail)                                     \
  pl_genmc_cas_failed_acquire(__atomic_compare_exchange_n(p, e, d, weak, succ, __ATOMIC_RELAXED),  \
                              (fail))

#endif
