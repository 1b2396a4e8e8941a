/* The processor's spin-wait hint, for busy-wait loops inside libparking (pl_spin, chaos mode).
 * Internal.  Each hint tells the core (or its SMT sibling, or the hypervisor) that this thread
 * only waits; where an architecture has none, a compiler barrier keeps the loop a loop. */
#ifndef PARKING_CPU_RELAX_H
#define PARKING_CPU_RELAX_H

static inline void pl_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__) || (defined(__arm__) && defined(__ARM_ARCH) && __ARM_ARCH >= 7)
    __asm__ __volatile__("yield" ::: "memory");
#elif defined(__powerpc__) || defined(__powerpc64__)
    /* The "yield" hint of Power ISA 2.06 (lower this SMT thread's priority while it spins), as
     * glibc's spin loops use it; older processors run it as a plain no-op `or`. */
    __asm__ __volatile__("or 27,27,27" ::: "memory");
#elif defined(__riscv)
    /* Zihintpause's `pause`, written as its encoding (a FENCE with predecessor W and no
     * successor, as Linux's cpu_relax does): assemblers without the extension reject the name,
     * and processors without it run it as a fence hint that orders nothing. */
    __asm__ __volatile__(".4byte 0x0100000f" ::: "memory");
#else
    /* s390x and the rest: no unprivileged spin hint (Linux's cpu_relax is a barrier there). */
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
#endif
}

#endif /* PARKING_CPU_RELAX_H */
