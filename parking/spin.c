/* Bounded spinning before parking (pl_spin). */
#include "parking/lot.h"

#if defined(_WIN32)
#include <windows.h>
#else
#include <sched.h>
#endif

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#else
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
#endif
}

/* Three rounds of 2, 4 and 8 pauses catch a lock released within a few hundred cycles, the
 * common case for short critical sections; then a few yields give the holder a chance to run
 * when threads outnumber cores.  Past that, sleeping in the kernel is cheaper than burning the
 * core. */
enum { SPIN_PAUSE_ROUNDS = 3, SPIN_LIMIT = 10 };

bool pl_spin(pl_spin_t *spin)
{
    if (spin->counter >= SPIN_LIMIT)
        return false;
    spin->counter++;
    if (spin->counter <= SPIN_PAUSE_ROUNDS) {
        for (uint32_t i = 0; i < (1u << spin->counter); i++)
            cpu_relax();
    } else {
#if defined(_WIN32)
        Sleep(0);
#else
        sched_yield();
#endif
    }
    return true;
}
