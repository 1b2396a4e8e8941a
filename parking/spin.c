/* Bounded spinning before parking (pl_spin). */
#include "cpu_relax.h"
#include <parking/annotate.h>
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
 * wake-up costs several microseconds, which bounds what spinning may cost.
 *
 * But a yield is only cheap while the threads it lets run are ours.  Under Linux's EEVDF
 * scheduler (CFS's yield was no better) a yield pushes the yielder's deadline a whole slice out,
 * so beside unrelated runnable work the yielder waits behind all of it: SQLite's threadtest3
 * beside six busy loops on 2 cores (docs/benchmarks.md, "SQLite threadtest3") saw yields of
 * 4.3 ms on average, our threads got 0.35 CPUs where glibc's, which never yield, got 0.44, and
 * completed 0.40x glibc's statements.  Without any yield that was 1.27x, but the yields are
 * worth 1.5-8x where a wake-up comes from our own thread on the other core (queue 1P:1C,
 * LockSpeedTest (1,0)).
 *
 * So the yields watch themselves, in two steps that cost nothing while yields are fast.  A yield
 * that keeps the thread away for more than YIELD_SLOW_NS makes the process suspicious for
 * YIELD_OFF_NS; while it is, each yield also reads the process's CPU clock before and after (a
 * system call, beside a yield, which is one already), and a slow yield during which this
 * process's threads together used less than one processor's worth of CPU time gave the
 * processors to work that is not ours: then no thread of the process yields for the next
 * YIELD_OFF_NS.  It pauses, then parks, where the scheduler's preference for a thread that wakes
 * from sleep gives it the processor back.  The CPU test is needed: with more of our own threads
 * than cores (LockSpeedTest at T = 16 on 2 cores) a yield also takes a slice, but our threads
 * ran in it (the holder among them) and the yield is worth 2x there.  The words are process-
 * wide and written only when a yield was slow: the machine's load is not per thread, and a
 * thread that has not yielded yet learns it without a slow yield of its own. */
enum {
    SPIN_PAUSE_NS = 200,
    SPIN_YIELD_NS = 10000,
    SPIN_MAX_BURST = 32,
    YIELD_SLOW_NS = 200000,
    YIELD_OFF_NS = 50000000
};

/* pl_now() values: before watch_until, yields are watched; before no_yield_until, nobody
 * yields.  Relaxed: a stale read costs one yield or one clock read, nothing else. */
static struct {
    uint64_t watch_until, no_yield_until;
} g_yields;

static void yield_watched(uint64_t now)
{
    bool watch = now < __atomic_load_n(&g_yields.watch_until, __ATOMIC_RELAXED);
    uint64_t cpu = watch ? pl_os_process_cpu_ns() : UINT64_MAX;
    pl_os_yield();
    uint64_t after = pl_now();
    if (after - now <= YIELD_SLOW_NS)
        return;
    /* Racy on purpose (relaxed hints, above): Helgrind and DRD, which see plain loads and
     * stores, are told before the first write. */
    PL__VG_RACY(&g_yields, sizeof g_yields);
    __atomic_store_n(&g_yields.watch_until, after + YIELD_OFF_NS, __ATOMIC_RELAXED);
    if (cpu == UINT64_MAX)
        return; /* not watched yet (or no CPU clock): the next slow yield decides */
    uint64_t used = pl_os_process_cpu_ns() - cpu;
    if (used < after - now)
        __atomic_store_n(&g_yields.no_yield_until, after + YIELD_OFF_NS, __ATOMIC_RELAXED);
}

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
    if (elapsed < SPIN_YIELD_NS &&
        now >= __atomic_load_n(&g_yields.no_yield_until, __ATOMIC_RELAXED)) {
        yield_watched(now);
        return true;
    }
    return false;
}
