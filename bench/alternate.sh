#!/usr/bin/env bash
# Compares builds or settings of libparking by their ratio to pthread, interleaved: each round
# runs every variant once (A B C A B C ...), so that a slow phase of a shared machine lands on
# all of them; prints per variant and configuration the median ratio over the rounds, its range,
# and the median fairness where there is one.  Within each run the pthread baseline is measured
# in the same process, interleaved with ours (pl-bench's own method).
#   bench/alternate.sh ROUNDS VARIANT... -- [pl-bench options]
# VARIANT: "[@PATH/TO/pl-bench] [NAME=VALUE ...]" (environment for that run; the default binary
# is $BENCH or build/rel/bench/pl-bench).  $NICE is put before each run, e.g. NICE="nice -n -19"
# to take precedence over other work on the machine.  Example:
#   NICE="nice -n -19" bench/alternate.sh 7 "@/tmp/old/bench/pl-bench" "@build/rel/bench/pl-bench" \
#       -- --workload queue,pingpong --queues 1:1,2:2,4:4 --duration-ms 300 --reps 1
set -euo pipefail
rounds=$1
shift
variants=()
while [[ $# -gt 0 && $1 != -- ]]; do
    variants+=("$1")
    shift
done
[[ $# -gt 0 ]] && shift
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for _ in $(seq "$rounds"); do
    for v in "${variants[@]}"; do
        bench=${BENCH:-build/rel/bench/pl-bench}
        envs=()
        for w in $v; do
            if [[ $w == @* ]]; then bench=${w#@}; else envs+=("$w"); fi
        done
        # shellcheck disable=SC2086
        env "${envs[@]}" ${NICE:-} "$bench" --contenders ours-call,pthread --out none "$@" 2>/dev/null |
            awk -v v="$v" '
            /^== summary/ { s = 1; next }
            s && $1 ~ /^(uncontended|contended|many|rwlock|queue|broadcast|pingpong|wait|wake|once)$/ {
                ratio = ""; fair = "-"
                for (i = 1; i <= NF; i++) {
                    if (ratio == "" && $i ~ /^[0-9.]+x$/) ratio = $i
                    if ($i ~ /^\([0-9.]+\)$/) fair = $i
                }
                cfg = $1 " " $2 " " $3
                if ($3 == "waiters") cfg = $1 " " $2 " " $3
                if ($1 == "rwlock") cfg = $1 " " $2 " " $3 " T=" $4
                sub(/x$/, "", ratio); gsub(/[()]/, "", fair)
                print v "\t" cfg "\t" ratio "\t" fair
            }' >>"$out"
    done
done
python3 - "$out" <<'PY'
import collections, statistics, sys
ratios, fairs = collections.defaultdict(list), collections.defaultdict(list)
for line in open(sys.argv[1]):
    v, c, r, f = line.rstrip("\n").split("\t")
    if r:
        ratios[(c, v)].append(float(r))
    if f not in ("-", ""):
        fairs[(c, v)].append(float(f))
for (c, v), xs in sorted(ratios.items()):
    fs = fairs.get((c, v))
    fair = f"  fairness {statistics.median(fs):.2f}" if fs else ""
    print(f"{c:28s} {v[-36:]:36s} {statistics.median(xs):5.2f}x "
          f"[{min(xs):.2f}..{max(xs):.2f}] n={len(xs)}{fair}")
PY
