/* The Valgrind client requests stay out of a user's inline fast paths unless asked for with
 * -DPARKING_VALGRIND=1 (issue 12): this file is compiled without PARKING_VALGRIND and without
 * NDEBUG (-UNDEBUG, whatever the build type), in a build where <valgrind/valgrind.h> is
 * installed, which is where 0.2.0 and earlier turned them on by default.  A build error here
 * means every plain -O2 user pays 22 instructions per lock + unlock again. */
#ifdef PARKING_VALGRIND
#  error "compile this check without PARKING_VALGRIND"
#endif
#include <parking/parking.h>

#if defined(PL__VG) && PL__VG
#  error "the Valgrind client requests are compiled into the default build of the headers"
#endif
#ifdef RUNNING_ON_VALGRIND
#  error "<valgrind/valgrind.h> was included by the default build of the headers"
#endif

typedef int pl_vg_default_off_check;
