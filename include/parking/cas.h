/** @file
 * libparking: the compare-and-swap that every lock word of the library goes through.
 *
 * Not for direct use: PL__CAS takes the arguments of GCC's __atomic_compare_exchange_n and is
 * exactly that builtin everywhere but RISC-V 64 with GCC, where GCC 12's builtin is wrong in two
 * ways (docs/platforms.md, "riscv64"):
 *  - a 32-bit CAS compares the sign-extended word that lr.w loads with the expected value as it
 *    sits in its register, which may be zero-extended (narrowed from a 64-bit value): bit 31
 *    set, the CAS skips its store and still reports success;
 *  - a CAS whose success order is release or acq_rel gets no release ordering at all (no fence,
 *    no .rl bit) unless its failure order is seq_cst: an unlock by CAS would let the critical
 *    section's stores pass it on RVWMO hardware.
 * There the 32- and 64-bit CAS is an LR/SC loop of our own, with the sign-extended expected
 * value and the ISA manual's (Table A.6) mapping of a seq_cst CAS, lr.aqrl / sc.rl, which is at
 * least as strong as any pair of orders.  1- and 2-byte CAS stay GCC's: it calls libatomic,
 * whose 8-byte LR/SC loop is fenced on both sides.  Only GCC 12 could be checked here, so every
 * GCC takes this path; Clang's expansion sign-extends and orders correctly. */
#ifndef PARKING_CAS_H
#define PARKING_CAS_H

#include <stdbool.h>
#include <stdint.h>

#include <parking/export.h>

#if defined(__riscv) && defined(__GNUC__) && !defined(__clang__)
#  if __riscv_xlen == 64
#    define PL__CAS_LRSC 1
#  endif
#endif

#ifdef PL__CAS_LRSC
PARKING_BEGIN_DECLS

/* One LR/SC compare-and-swap of a T-sized word (lr.w / lr.d: `sfx`).  The words are moved with
 * memcpy so that one function serves every type of their size (unsigned, signed, pointers);
 * `lr` sign-extends the word into a register, so the expected value is held as the signed T,
 * which the conversion to long sign-extends the same way. */
#  define PL__CAS_LRSC_FN(name, T, sfx)                                                            \
    static inline bool name(void *word, void *expected, const void *desired)                       \
    {                                                                                              \
      T e_t, d_t;                                                                                  \
      __builtin_memcpy(&e_t, expected, sizeof e_t);                                                \
      __builtin_memcpy(&d_t, desired, sizeof d_t);                                                 \
      long e = e_t, old, failed;                                                                   \
      __asm__ __volatile__("1: lr." sfx ".aqrl %0, %2\n\t"                                         \
                           "bne %0, %3, 2f\n\t"                                                    \
                           "sc." sfx ".rl %1, %z4, %2\n\t"                                         \
                           "bnez %1, 1b\n"                                                         \
                           "2:"                                                                    \
                           : "=&r"(old), "=&r"(failed), "+A"(*PL__CAST(T *, word))                 \
                           : "r"(e), "rJ"(d_t)                                                     \
                           : "memory");                                                            \
      if (old == e)                                                                                \
        return true;                                                                               \
      e_t = PL__CAST(T, old);                                                                      \
      __builtin_memcpy(expected, &e_t, sizeof e_t);                                                \
      return false;                                                                                \
    }
PL__CAS_LRSC_FN(pl__cas32_lrsc, int32_t, "w")
PL__CAS_LRSC_FN(pl__cas64_lrsc, long, "d")
#  undef PL__CAS_LRSC_FN

PARKING_END_DECLS

/* A strong CAS is a valid weak one, and the orders are all covered by aqrl/rl. */
#  define PL__CAS(p, e, d, weak, success, failure)                                                 \
    __extension__({                                                                                \
__typeof__(*(p)) pl__cas_d = (d);                                                                  \
sizeof pl__cas_d == 4 ? pl__cas32_lrsc((p), (e), &pl__cas_d)                                       \
: sizeof pl__cas_d == 8                                                                            \
    ? pl__cas64_lrsc((p), (e), &pl__cas_d)                                                         \
    : __atomic_compare_exchange_n((p), (e), pl__cas_d, (weak), (success), (failure));              \
    })
#else
/** __atomic_compare_exchange_n(p, e, d, weak, success, failure), worked around where the
 * compiler gets it wrong (above).  Not for direct use. */
#  define PL__CAS(p, e, d, weak, success, failure)                                                 \
    __atomic_compare_exchange_n(p, e, d, weak, success, failure)
#endif

#endif /* PARKING_CAS_H */
