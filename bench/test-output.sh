#!/usr/bin/env bash
# CTest pl-bench-output: what a user's run leaves behind.  A short contended sweep with one
# background thread, written under --out, must produce the CSV with ours (out of line), ours
# inline and the pthread baseline for every configuration, print where it went, report the
# machine's load, and print the summary without any project target verdict.
#   bench/test-output.sh PL_BENCH
set -euo pipefail
bench=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$bench" --smoke --workload contended --threads 1,2 --inouts 1:0 --background 1 \
    --out "$dir/res" >"$dir/stdout"
fail() { echo "pl-bench-output: $*" >&2; cat "$dir/stdout" >&2; exit 1; }
csv=$dir/res/pl-bench.csv
[[ -s $csv ]] || fail "no CSV at $csv"
grep -q "^CSV: $csv" "$dir/stdout" || fail "the CSV's path is not printed"
grep -q "1 busy background thread" "$dir/stdout" || fail "--background not reported"
grep -q "^machine: load average" "$dir/stdout" || fail "no load report"
grep -q "^== summary" "$dir/stdout" || fail "no summary"
grep -Eq "MISSED|target" "$dir/stdout" && fail "a project target is printed"
for threads in 1 2; do
    for role in ours ours-inline baseline; do
        grep -Eq "^contended,\"\\(1,0\\)\",$threads,\"[^\"]+\",$role," "$csv" ||
            fail "no $role row for T = $threads in the CSV"
    done
done
# ours is the out-of-line pl_mutex_t; the inline one is labelled.
grep -q ',"pl_mutex_t",ours,' "$csv" || fail "ours is not named pl_mutex_t"
grep -q ',"pl_mutex_t (inline)",ours-inline,' "$csv" || fail "the inline row is not labelled"
echo "pl-bench-output: passed"
