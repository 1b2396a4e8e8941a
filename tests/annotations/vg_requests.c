/* The Valgrind request numbers that include/parking/annotate.h writes down (it includes only
 * valgrind.h: helgrind.h and drd.h define clashing ANNOTATE_* macros) are the ones the tools'
 * own headers define.  Compiled with PARKING_VALGRIND=1 by tests/annotations/CMakeLists.txt;
 * a mismatch fails the build. */
#include <parking/annotate.h>

#include <valgrind/helgrind.h>
#include <valgrind/drd.h> /* designed to follow helgrind.h */

#if !defined(PL__VG) || !PL__VG
#  error "annotate.h did not turn the Valgrind requests on"
#endif

_Static_assert(PL__VG_RWLOCK_ACQUIRED == _VG_USERREQ__HG_PTHREAD_RWLOCK_ACQUIRED, "helgrind");
_Static_assert(PL__VG_RWLOCK_RELEASED == _VG_USERREQ__HG_PTHREAD_RWLOCK_RELEASED, "helgrind");
_Static_assert(PL__VG_HAPPENS_BEFORE == _VG_USERREQ__HG_USERSO_SEND_PRE, "helgrind");
_Static_assert(PL__VG_HAPPENS_AFTER == _VG_USERREQ__HG_USERSO_RECV_POST, "helgrind");
_Static_assert(PL__VG_HG_UNTRACK == _VG_USERREQ__HG_ARANGE_MAKE_UNTRACKED, "helgrind");
_Static_assert(PL__VG_RWLOCK_ACQUIRED == VG_USERREQ__DRD_ANNOTATE_RWLOCK_ACQUIRED, "drd");
_Static_assert(PL__VG_RWLOCK_RELEASED == VG_USERREQ__DRD_ANNOTATE_RWLOCK_RELEASED, "drd");
_Static_assert(PL__VG_HAPPENS_BEFORE == VG_USERREQ__DRD_ANNOTATE_HAPPENS_BEFORE, "drd");
_Static_assert(PL__VG_HAPPENS_AFTER == VG_USERREQ__DRD_ANNOTATE_HAPPENS_AFTER, "drd");
_Static_assert(PL__VG_DRD_SUPPRESS == VG_USERREQ__DRD_START_SUPPRESSION, "drd");

typedef int annot_vg_requests_checked;
