/* Bounded spinning before parking (pl_spin). */
#include "cpu_relax.h"
#include <parking/lot.h>

#include "os.h"

/* The budget is time, not a count of pauses: a pause costs 10 to 140 cycles depending on the
 * x86 part (and "yield" on Arm differs again), so a pause count tuned on one machine spins ten
 * times too long or too short on another.
 *
 * Measured with the LockSpeedTest workload on a 2-core machine with 4 to 16 threads (see
 * docs/benchmarks.md): pausing for 1 to 4 us instead of about 0.2 us cost 15-25% of the (1,0)
 * throughput when threads outnumber cores, because the spinner keeps the core from the thread
 * that holds the lock; yielding lets that thread run.  So: pause in growing bursts for
 * SPIN_PAUSE_NS (a lock released within a few hundred cycles is caught without a context
 * switch), then yield the processor until SPIN_YIELD_NS have passed, then park.  A park and
 * wake-up costs several microseconds, which bounds what spinning may cost. */
enum { SPIN_PAUSE_NS = 200, SPIN_YIELD_NS = 10000, SPIN_MAX_BURST = 32 };

bool pl_spin(pl_spin_t *spin)
{
    uint64_t now = pl_now();
    if (spin->counter == 0)
        spin->start = now;
    uint64_t elapsed = now - spin->start;
    spin->counter++;
    if (elapsed < SPIN_PAUSE_NS) {
        uint32_t burst = spin->counter < 5 ? 1u << spin->counter : SPIN_MAX_BURST;
        for (uint32_t i = 0; i < burst; i++)
            pl_cpu_relax();
        return true;
    }
    if (elapsed < SPIN_YIELD_NS) {
        pl_os_yield();
        return true;
    }
    return false;
}
