/* The contention hook's side in the primitives (include/parking/profile.h): the state every
 * slow path looks at once, and the run of a slow path under the hook.  Internal to the library.
 *
 * Each exported lock or wait slow path does
 *     if (PL_CONTENTION_WATCHED()) return <its work under pl_contention_run>;
 *     return <its work>;
 * so with no hook installed it pays one relaxed load of a byte that nobody writes and one branch
 * that always goes the same way.  The return address that names the call site is taken in the
 * exported function itself (__builtin_return_address(0)): its caller is the inline fast path,
 * compiled into the user's code. */
#ifndef PARKING_CONTENTION_H
#define PARKING_CONTENTION_H

#include <stdbool.h>
#include <stdint.h>

#include <parking/export.h>
#include <parking/profile.h>

/* UNKNOWN until the first slow path has read the environment (no constructor), then OFF or ON
 * (a hook installed), changed again only by pl_contention_hook. */
enum { PL_CONTENTION_UNKNOWN = 0, PL_CONTENTION_OFF = 1, PL_CONTENTION_ON = 2 };
extern unsigned char pl_contention_state;

#define PL_CONTENTION_WATCHED()                                                                    \
  PARKING_UNLIKELY(__atomic_load_n(&pl_contention_state, __ATOMIC_RELAXED) != PL_CONTENTION_OFF)

/* The slow path's work: returns whether it acquired (or was woken rather than timed out), and
 * adds the thread's parks to *parks. */
typedef bool (*pl_contended_fn)(void *ctx, uint32_t *parks);

/* Runs fn(ctx) and reports it to the hook, if one is installed once the environment is read. */
bool pl_contention_run(const void *addr, pl_contention_primitive_t primitive,
                       pl_contention_mode_t mode, const void *site, pl_contended_fn fn, void *ctx);

#endif /* PARKING_CONTENTION_H */
