#!/usr/bin/env bash
# Counts calls of libparking's slow-path functions with uprobes (root; perf probe), and the
# futex calls and context switches, for one pl-bench run of ours alone:
#   bench/probes.sh LIBPARKING_SO PL_BENCH [pl-bench options selecting ONE configuration]
# Probes are placed on the functions' addresses (not their names, which would also probe the
# PLT stubs and count internal calls twice) and removed afterwards.
set -euo pipefail
lib=$(readlink -f "$1")
bench=$2
shift 2
funcs=(pl_park pl_unpark_one pl_unpark_filter pl_unpark_requeue pl_mutex_lock_slow
       pl_mutex_unlock_slow pl_cond_signal_slow pl_cond_broadcast_slow pl_spin)
events=()
perf probe -q -d 'probe_libparking:*' 2>/dev/null || true
for f in "${funcs[@]}"; do
    addr=$(nm -D --defined-only "$lib" | awk -v f="$f" '{sub(/@.*/, "", $3)} $3 == f {print $1}')
    [[ -n $addr ]] || continue
    perf probe -q -x "$lib" -a "$(printf '0x%x' $((16#$addr)))" >/dev/null
    events+=("probe_libparking:abs_$(printf '%x' $((16#$addr)))")
    names+=("$f")
done
trap 'perf probe -q -d "probe_libparking:*" 2>/dev/null || true' EXIT
ev=$(IFS=,; echo "${events[*]}")
perf stat -x, -e "syscalls:sys_enter_futex,context-switches,$ev" -o /tmp/probes.$$ \
    "$bench" --contenders ours-call --out none --reps 1 "$@" | grep -E '^pl_'
for i in "${!events[@]}"; do
    sed -i "s/${events[$i]}/${names[$i]}/" /tmp/probes.$$
done
awk -F, 'NF > 2 {printf "%12s  %s\n", $1, $3}' /tmp/probes.$$
rm -f /tmp/probes.$$
