/* The processor's spin-wait hint, for busy-wait loops inside libparking (pl_spin, chaos mode).
 * Internal. */
#ifndef PARKING_CPU_RELAX_H
#define PARKING_CPU_RELAX_H

static inline void pl_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#else
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
#endif
}

#endif /* PARKING_CPU_RELAX_H */
