/* Chaos mode: random delays at the points of the park / unpark protocol where a race can hide.
 * Internal; a test hook, not a core API.
 *
 * Built with -DPARKING_CHAOS=ON, every PL_CHAOS_POINT() randomly does nothing, yields the
 * processor, spins for a few microseconds or sleeps for tens of microseconds, so interleavings
 * that a normal run almost never produces (an unlock landing between a validate and the sleep,
 * a time-out racing a claim, growth during a lookup) become common.  The choices come from a
 * 64-bit seed (PARKING_CHAOS_SEED, else random, printed once on stderr) and a per-thread stream
 * derived from it, so a failing run can be replayed as closely as thread scheduling allows.
 *
 * In every other build PL_CHAOS_POINT() is nothing at all: no call, no load, no code.
 *
 * The primitives in src/ include this header too: with os.h, one of the two core headers they use
 * beyond <parking/lot.h> (docs/design.md, "The map" and "Chaos mode"); each of them says so here,
 * once, rather than at every include. */
#ifndef PARKING_CHAOS_H
#define PARKING_CHAOS_H

#if defined(PARKING_CHAOS)
/* Hidden (the library is built with hidden visibility and this is not PARKING_API). */
void pl_chaos_point(void);
#  define PL_CHAOS_POINT() pl_chaos_point()
#else
#  define PL_CHAOS_POINT() ((void)0)
#endif

#endif /* PARKING_CHAOS_H */
