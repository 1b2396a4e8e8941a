#!/usr/bin/env bash
# Counts per operation, which machine load does not distort the way it distorts timings:
# futex system calls and context switches (a perf tracepoint and a software counter, so no
# ptrace slow-down as under strace), for ours and for pthread alone, one pl-bench run each, and
# for each peer named in PEERS (pl-bench --peer: nsync, absl, parking_lot, adaptive).
#   [PEERS="nsync absl"] bench/counts.sh PL_BENCH [pl-bench options selecting ONE configuration]
# e.g. bench/counts.sh build/rel/bench/pl-bench --workload queue --queues 2:2 --duration-ms 500
# Prints per contender: its figure (a rate: ops/s, items/s, rounds/s, trips/s), operations in
# the run (figure x duration) and futex calls and context switches per operation.  The counts
# include the run's set-up (thread starts, the gate): compare like with like.
set -euo pipefail
bench=$1
shift
ms=300
prev=
for a in "$@"; do
    [[ $prev == --duration-ms ]] && ms=$a
    prev=$a
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '%-24s %12s %12s %10s %10s\n' contender figure ops futex/op cs/op
for role in ours-call pthread ${PEERS:-}; do
    case $role in
    ours-call) select=(--contenders ours-call) pattern='^pl_' ;;
    pthread) select=(--contenders pthread) pattern='^pthread' ;;
    *) select=(--contenders peers --peer "$role") pattern=$role ;;
    esac
    perf stat -x, -e syscalls:sys_enter_futex,context-switches -o "$tmp/perf" \
        "$bench" "${select[@]}" --out none --reps 1 --duration-ms "$ms" "$@" >"$tmp/out"
    # The contender's row: name, bytes, config, threads, figure ...
    row=$(grep -E '^.{26} +[0-9]+ ' "$tmp/out" | grep -E -- "$pattern" | tail -1)
    name=$(awk '{print $1}' <<<"$row")
    fig=$(sed -E 's/^.{26} +[0-9]+ +[^ ]+( [^ ]+)? +[^ ]+ +([0-9.]+[kMG]?) .*/\2/' <<<"$row")
    futex=$(awk -F, '/sys_enter_futex/ {print $1}' "$tmp/perf")
    cs=$(awk -F, '/context-switches/ {print $1}' "$tmp/perf")
    awk -v n="$name" -v f="$fig" -v ms="$ms" -v fu="$futex" -v cs="$cs" 'BEGIN {
        m = 1; v = f
        if (f ~ /k$/) m = 1e3; if (f ~ /M$/) m = 1e6; if (f ~ /G$/) m = 1e9
        sub(/[kMG]$/, "", v); ops = v * m * ms / 1000
        printf "%-24s %12s %12.0f %10.3f %10.3f\n", n, f, ops, fu / ops, cs / ops }'
done
