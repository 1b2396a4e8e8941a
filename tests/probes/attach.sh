#!/bin/sh
# attach.sh PERF LIBRARY PROGRAM: attaches a uprobe to libparking:park_begin with perf, runs
# PROGRAM (tests/probes/park_n.c), which parks exactly 250 times, and checks that perf counted
# 250 hits.  Exits 77 (CTest: skipped) with the reason where it cannot attach: not root, no
# perf, no tracefs or no uprobes in the kernel.  The probe is global to the machine, so runs are
# serialised with a lock file, and the probe is removed on every way out.
perf=$1
lib=$2
prog=$3
n=250
skip() {
    echo "SKIP: $*"
    exit 77
}
[ "$(id -u)" -eq 0 ] || skip "not root (adding a uprobe needs CAP_SYS_ADMIN)"
[ -x "$perf" ] || skip "no perf ($perf)"
tracefs=/sys/kernel/tracing
[ -e $tracefs/uprobe_events ] || tracefs=/sys/kernel/debug/tracing
[ -e $tracefs/uprobe_events ] || skip "no tracefs with uprobe_events (kernel without uprobes?)"
command -v flock >/dev/null 2>&1 || skip "no flock to serialise the machine-wide probe"
exec 9>/tmp/libparking-probe-attach.lock
flock -w 60 9 || skip "another run held the probe lock for 60 s"
event=sdt_libparking:park_begin
cleanup() { timeout 30 "$perf" probe -q -d "$event" >/dev/null 2>&1; }
trap cleanup EXIT
cleanup
if ! out=$(timeout 30 "$perf" probe -x "$lib" -a "$event" 2>&1); then
    skip "perf probe could not add $event: $(printf '%s' "$out" | tail -1)"
fi
counts=$(timeout 60 "$perf" stat -x, -e "$event" "$prog" $n 2>&1 >/dev/null) || {
    echo "attach: perf stat failed: $counts" >&2
    exit 1
}
got=$(printf '%s\n' "$counts" | awk -F, -v e="$event" '$3 == e { print $1 }')
echo "attach: $event counted $got hits of $n"
[ "$got" = "$n" ]
