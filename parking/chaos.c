/* Chaos mode (parking/chaos.h): the random delay behind every PL_CHAOS_POINT().
 *
 * Constraints, because a chaos point may sit anywhere, bucket locks held or not:
 * - no allocation and no lock: the seed is set up lazily with atomics (no global constructor),
 *   and a thread that finds another one setting it up simply skips that point;
 * - only OS calls a signal handler could make too (getenv at setup aside), all through the
 *   core's OS seam (os.h): the seed line to standard error, yield, a short nap, the clock;
 * - replayable: one seed, from PARKING_CHAOS_SEED or random, and a per-thread stream drawn from
 *   it with the number of threads that reached a chaos point before (so a replay matches as far
 *   as the threads arrive in the same order). */
#include "chaos.h"

#if !defined(PARKING_CHAOS)
#  error "parking/chaos.c is compiled only with -DPARKING_CHAOS=ON (cmake/ParkingLibrary.cmake)"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "cpu_relax.h"
#include "os.h"
#include <parking/cas.h>
#include <parking/lot.h>

enum { SEED_NONE = 0, SEED_CLAIMED = 1, SEED_READY = 2 };
static unsigned g_seed_state;
static uint64_t g_seed;
static uint64_t g_streams; /* per-thread streams handed out so far */

/* What a point does, out of 256: most do nothing, so the code also runs at its normal pace. */
enum { P_NOTHING = 152, P_YIELD = 64, P_SPIN = 36 /* the rest (4): sleep */ };
/* A sleep lasts at least the timer slack (50 us by default on Linux) on top of this. */
enum { SPIN_MAX_NS = 10000, SLEEP_MAX_US = 50 };

/* splitmix64's finaliser: a bijection that spreads every input bit over the output. */
static uint64_t mix(uint64_t z)
{
    z += UINT64_C(0x9E3779B97F4A7C15);
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static size_t put_str(char *buf, size_t at, const char *s)
{
    while (*s)
        buf[at++] = *s++;
    return at;
}

static size_t put_u64(char *buf, size_t at, uint64_t v)
{
    char digits[20];
    size_t n = 0;
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    while (n > 0)
        buf[at++] = digits[--n];
    return at;
}

/* Decimal digits only; false for anything else (then the seed is random, and says so). */
static bool parse_seed(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    if (s == NULL || *s == '\0')
        return false;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return false;
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

static uint64_t random_seed(void)
{
    int local;
    uint64_t x = pl_now() ^ ((uint64_t)(uintptr_t)&local << 17);
    x ^= pl_os_process_id() << 40;
    /* Keep it short enough to type: 10 decimal digits. */
    return mix(x) % UINT64_C(10000000000);
}

/* False while the seed is not ready (another thread is setting it up: skip this point). */
static bool seed_ready(void)
{
    unsigned state = __atomic_load_n(&g_seed_state, __ATOMIC_ACQUIRE);
    if (state == SEED_READY)
        return true;
    if (state != SEED_NONE)
        return false;
    if (!PL__CAS(&g_seed_state, &state, SEED_CLAIMED, false, __ATOMIC_ACQUIRE, __ATOMIC_ACQUIRE))
        return state == SEED_READY;
    const char *env = getenv("PARKING_CHAOS_SEED");
    uint64_t seed;
    bool given = parse_seed(env, &seed);
    if (!given)
        seed = random_seed();
    char line[200];
    size_t n = 0;
    if (env != NULL && *env != '\0' && !given)
        n = put_str(line, n, "libparking: PARKING_CHAOS_SEED is not a decimal number; ");
    n = put_str(line, n, "libparking: chaos seed ");
    n = put_u64(line, n, seed);
    n = put_str(line, n, " (replay with PARKING_CHAOS_SEED=");
    n = put_u64(line, n, seed);
    n = put_str(line, n, ")\n");
    pl_os_write_err(line, n);
    g_seed = seed;
    __atomic_store_n(&g_seed_state, SEED_READY, __ATOMIC_RELEASE);
    return true;
}

static uint64_t new_stream(void)
{
    uint64_t index = __atomic_fetch_add(&g_streams, 1, __ATOMIC_RELAXED);
    uint64_t s = mix(g_seed ^ mix(index + 1));
    return s != 0 ? s : 1;
}

/* This thread's xorshift64 state lives in the OS seam's per-thread word PL_OS_WORD_CHAOS (0: no
 * stream yet), because mingw would emulate a _Thread_local with malloc. */
static uint64_t next_random(void)
{
    uint64_t x = pl_os_word_get(PL_OS_WORD_CHAOS);
    if (x == 0) {
        if (!seed_ready())
            return 0;
        x = new_stream();
    }
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    pl_os_word_set(PL_OS_WORD_CHAOS, x);
    return x * UINT64_C(0x2545F4914F6CDD1D);
}

void pl_chaos_point(void)
{
    uint64_t r = next_random();
    if (r == 0)
        return;
    unsigned pick = (unsigned)(r >> 56);
    uint64_t amount = r & 0xFFFFFFFFu;
    if (pick < P_NOTHING)
        return;
    if (pick < P_NOTHING + P_YIELD) {
        pl_os_yield();
        return;
    }
    if (pick < P_NOTHING + P_YIELD + P_SPIN) {
        uint64_t until = pl_now() + amount % SPIN_MAX_NS;
        while (pl_now() < until)
            pl_cpu_relax();
        return;
    }
    pl_os_nap((uint32_t)(1 + amount % SLEEP_MAX_US));
}
