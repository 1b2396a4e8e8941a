#!/usr/bin/env bash
# SQLite's threadtest3 with glibc's mutexes (SQLite's default pthread_mutex_t) against
# libparking's (docs/examples/sqlite_mutex.c through SQLITE_CONFIG_MUTEX), interleaved in one
# binary: glibc, ours, glibc, ours, ...  Prints per run the work completed (for stress2: the
# statements its worker threads completed, the X of their "ok X/Y") and at the end the median of
# the per-round ratios ours / glibc.
#
#   bench/sqlite-threadtest3.sh SQLITE_SRC_DIR [options]
#     --build DIR    libparking build to link (default build/rel: a Release build, shared library)
#     --test NAME    threadtest3 test (default stress2)
#     --reps N       rounds, each one glibc run and one of ours (default 3)
#     --ms N         run the test N ms instead of its built-in duration (stress2: 60 s)
#     --busy B       B busy-loop processes run beside the test (oversubscription), killed at exit
#     --wrap CMD     put CMD before each run (e.g. "perf stat -e context-switches"); its output
#                    lands in the run's log
#     --logs DIR     keep the runs' output there (default: a temporary folder, removed)
#
# SQLITE_SRC_DIR is a checkout of SQLite's source (github.com/sqlite/sqlite); the amalgamation
# (sqlite3.c) is taken from there if present, else generated with SQLite's configure and
# `make sqlite3.c` under build/sqlite-tt3/.  The test runs in a temporary folder
# (stress2 writes test.db in the current folder).
set -euo pipefail

usage() {
    sed -n '8,16p' "$0" >&2
    exit 2
}
[[ $# -ge 1 && $1 != -* ]] || usage
src=$(cd "$1" && pwd)
shift
repo=$(cd "$(dirname "$0")/.." && pwd)
build=$repo/build/rel test=stress2 reps=3 ms="" busy=0 wrap="" logs=""
while [[ $# -gt 0 ]]; do
    case $1 in
    --build) build=$(cd "$2" && pwd) ;;
    --test) test=$2 ;;
    --reps) reps=$2 ;;
    --ms) ms=$2 ;;
    --busy) busy=$2 ;;
    --wrap) wrap=$2 ;;
    --logs) logs=$2 ;;
    *) usage ;;
    esac
    shift 2
done
[[ -f $src/test/threadtest3.c ]] || {
    echo "no test/threadtest3.c under $src" >&2
    exit 2
}
ls "$build"/libparking.so* > /dev/null 2>&1 || {
    echo "no libparking.so in $build (configure it with -DCMAKE_BUILD_TYPE=Release)" >&2
    exit 2
}

# ---- build: the amalgamation and sqlite3.o once for all library builds (in build/sqlite-tt3),
# the driver every time (it is small, and the library may have changed)
cache=$repo/build/sqlite-tt3 out=$build/sqlite-tt3
mkdir -p "$cache" "$out"
amalg=$src
if [[ ! -f $src/sqlite3.c ]]; then
    amalg=$cache/amalgamation
    if [[ ! -f $amalg/sqlite3.c ]]; then
        echo "generating the amalgamation in $amalg ..." >&2
        mkdir -p "$amalg"
        (cd "$amalg" && "$src/configure" --disable-tcl > configure.log 2>&1 &&
            make sqlite3.c > make.log 2>&1) || {
            echo "amalgamation failed: see $amalg/*.log" >&2
            exit 1
        }
    fi
fi
# SQLite's own default: SQLITE_THREADSAFE=1, its mutexes from pthreads.
if [[ ! -f $cache/sqlite3.o || $amalg/sqlite3.c -nt $cache/sqlite3.o ]]; then
    echo "compiling sqlite3.c ..." >&2
    cc -O2 -DSQLITE_THREADSAFE=1 -I"$amalg" -c "$amalg/sqlite3.c" -o "$cache/sqlite3.o"
fi
cc -O2 -I"$amalg" -I"$src/test" -I"$src/src" -I"$repo/include" -I"$build/include" \
    -o "$out/sqlite-tt3" "$repo/bench/sqlite_tt3.c" "$repo/bench/sqlite_tt3_mutex.c" \
    "$src/src/test_multiplex.c" "$cache/sqlite3.o" -L"$build" -Wl,-rpath,"$build" -lparking \
    -lpthread -ldl -lm -w
bin=$out/sqlite-tt3

# ---- run
work=$(mktemp -d)
[[ -n $logs ]] || logs=$work/logs
mkdir -p "$logs"
busy_pids=()
cleanup() {
    for p in "${busy_pids[@]}"; do kill "$p" 2> /dev/null || true; done
    wait 2> /dev/null || true
    rm -rf "$work/db"
    [[ $logs == "$work/logs" ]] && rm -rf "$work" || rmdir "$work" 2> /dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM
for ((i = 0; i < busy; i++)); do
    bash -c 'while :; do :; done' &
    busy_pids+=($!)
done

echo "threadtest3 $test${ms:+ for $ms ms}, $reps rounds, $busy busy loops, $(nproc) CPUs," \
    "library $build; load average $(cut -d' ' -f1-3 /proc/loadavg)"
# The work a run completed: for stress2 the sum of X over the threads' "ok X/Y"; for the other
# tests the sum of the numbers each thread reports (iterations, transactions, ...).
count() {
    awk '/Thread [0-9]+ says:/ {
            sub(/.*says: /, "")
            if (match($0, /^ok [0-9]+\//)) { split(substr($0, 4), a, "/"); n += a[1]; next }
            while (match($0, /[0-9]+/)) { n += substr($0, RSTART, RLENGTH); $0 = substr($0, RSTART + RLENGTH) }
         }
         END { print n + 0 }' "$1"
}
declare -a g o r
for ((k = 1; k <= reps; k++)); do
    for m in pthread parking; do
        log=$logs/$test-$k-$m.log
        rm -rf "$work/db" && mkdir "$work/db"
        rc=0
        # shellcheck disable=SC2086
        (cd "$work/db" && $wrap "$bin" --mutex=$m ${ms:+--ms=$ms} "$test") > "$log" 2>&1 || rc=$?
        n=$(count "$log")
        label=glibc
        [[ $m == parking ]] && label=ours
        printf "round %d %-5s %10d%s   (load %s)\n" "$k" "$label" "$n" \
            "$([[ $rc == 0 ]] || echo "  exit $rc, see $log")" "$(cut -d' ' -f1 /proc/loadavg)"
        if [[ $m == pthread ]]; then g+=("$n"); else o+=("$n"); fi
    done
    r+=("$(awk -v a="${o[-1]}" -v b="${g[-1]}" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }')")
done
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
echo "median glibc $(median "${g[@]}"), ours $(median "${o[@]}");" \
    "ours/glibc per round: ${r[*]}; median $(median "${r[@]}")x"
[[ $logs == "$work/logs" ]] || echo "logs in $logs"
