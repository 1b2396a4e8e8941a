/* Static probes (USDT, SystemTap's <sys/sdt.h>): docs/profiling.md lists them with their
 * arguments.  Each is a single nop in the code and a note in .note.stapsdt that perf, bpftrace
 * and SystemTap read to place a uprobe there; nobody tracing, nothing happens.  Built only where
 * CMake found <sys/sdt.h> (PARKING_PROBES); elsewhere every macro is empty and its arguments
 * are not evaluated.  Probes sit outside bucket locks where they can (a traced probe is a trap
 * into the kernel), and their arguments are values, never memory the probe would read. */
#ifndef PARKING_PROBES_H
#define PARKING_PROBES_H

#ifdef PARKING_PROBES
#  include <sys/sdt.h>
#  define PL_PROBE1(name, a) STAP_PROBE1(libparking, name, a)
#  define PL_PROBE2(name, a, b) STAP_PROBE2(libparking, name, a, b)
#  define PL_PROBE3(name, a, b, c) STAP_PROBE3(libparking, name, a, b, c)
#else
#  define PL_PROBE1(name, a) ((void)0)
#  define PL_PROBE2(name, a, b) ((void)0)
#  define PL_PROBE3(name, a, b, c) ((void)0)
#endif

#endif /* PARKING_PROBES_H */
