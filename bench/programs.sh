#!/usr/bin/env bash
# Real programs timed on glibc's pthread locks and on libparking-pthread (LD_PRELOAD), the runs
# interleaved (glibc, ours, ours, glibc, ...), median of --reps runs each with the spread
# ((max - min) / median), and the ratio glibc time / ours (> 1: faster on ours), for the wall
# time and for the CPU time (user + system: on a busy machine the steadier of the two).  Then
# pl-bench's pthread workloads re-run through the interposer, beside the native pl_*_t figure
# of the same process: the cost of the interposition layer.  About 4 minutes on 2 cores.
#
#   bench/programs.sh [--build DIR] [--reps N] [--only LIST] [--preset P]
#     --build DIR  a libparking build (default build/bench, the one tools/bench makes); the
#                  targets it needs (parking_pthread, pl-bench) are built there first
#     --reps N     runs per program and library (default 3)
#     --only LIST  some of: pigz, python-queue, python-lock, cxx-queue, pl-bench (default all)
#     --preset P   pl-bench's preset: quick (default), full, or smoke (a check of this script)
#
#   pigz          pigz -p 8 compressing a 124 MB generated file (seq 1 15000000) to /dev/null
#   python-queue  bench/py_threads.py queue: 4 producers, 4 consumers, queue.Queue, 400k items
#   python-lock   bench/py_threads.py lock: 8 threads, threading.Lock, 4M increments
#   cxx-queue     bench/cxx_queue.cc: std::mutex + 2 std::condition_variable, 4P:4C, 500k items
#   pl-bench      pl-bench --quick --contenders pthread,ours-call over the mutex, rwlock and
#                 condvar workloads, run once as built and once under LD_PRELOAD
# Every program checks its own result; a failure stops the script.  Before its timed runs each
# program runs once on ours with PARKING_PTHREAD_REPORT, which must show locks on the parking
# lot (the timed runs go without it: the report's counters cost a little).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=$repo/build/bench reps=3 only=pigz,python-queue,python-lock,cxx-queue,pl-bench preset=quick
usage() {
    sed -n '8,13p' "$0" >&2
    exit 2
}
while [[ $# -gt 0 ]]; do
    case $1 in
    --build) build=$2 ;;
    --reps) reps=$2 ;;
    --only) only=$2 ;;
    --preset) preset=$2 ;;
    *) usage ;;
    esac
    [[ $# -ge 2 ]] || usage
    shift 2
done
[[ $reps =~ ^[1-9][0-9]*$ && $preset =~ ^(quick|full|smoke)$ ]] || usage
build=$(cd "$build" && pwd)
wants() { [[ ,$only, == *,$1,* ]]; }
# drop_unless <name> <command> <Debian package>: leaves the program out, with a line, when the
# command it needs is missing.
drop_unless() {
    if wants "$1" && ! command -v "$2" >/dev/null 2>&1; then
        echo "programs.sh: $1 left out: no $2 (Debian package $3)" >&2
        only=${only//$1/}
    fi
}
drop_unless pigz pigz pigz
drop_unless cxx-queue c++ g++

cmake --build "$build" --target parking_pthread pl-bench --parallel "$(nproc)" >/dev/null
lib=$(find "$build" -name 'libparking-pthread.so.*.*.*' -type f | head -n 1)
[[ -n $lib ]] || {
    echo "programs.sh: no libparking-pthread.so in $build (PARKING_BUILD_PTHREAD=OFF?)" >&2
    exit 1
}
plbench=$build/bench/pl-bench
# Debian's interpreter, whatever python3 comes first on the PATH.
python=/usr/bin/python3
[[ -x $python ]] || python=$(command -v python3)
work=$(mktemp -d "${TMPDIR:-/tmp}/programs-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

echo "libparking-pthread: $lib"
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')," \
    "load average $(cut -d' ' -f1-3 /proc/loadavg)"

# ---- programs: glibc against ours -------------------------------------------------------------
# run_variant <glibc|ours> <command...>: one run; "variant wall cpu" (seconds; cpu = user +
# system time of the command and its children) appended to $work/times.  The program's own
# standard error goes through fd 4, the time keyword's report into $work/t.
run_variant() {
    local variant=$1 TIMEFORMAT='%3R %3U %3S' wall user sys
    shift
    if [[ $variant == ours ]]; then
        { time LD_PRELOAD=$lib "$@" 2>&4; } 4>&2 2>"$work/t"
    else
        { time "$@" 2>&4; } 4>&2 2>"$work/t"
    fi
    read -r wall user sys <"$work/t"
    echo "$variant $wall $(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.3f", u + s }')" >>"$work/times"
}

# median_spread <variant> <column: 2 wall, 3 cpu>: "median spread%" of that variant's times.
median_spread() {
    awk -v v="$1" -v c="$2" '$1 == v { print $c }' "$work/times" | sort -g |
        awk '{ t[++n] = $1 }
            END { m = n % 2 ? t[(n + 1) / 2] : (t[n / 2] + t[n / 2 + 1]) / 2;
                  printf "%.3f %.0f", m, m ? 100 * (t[n] - t[1]) / m : 0 }'
}

rows=()
# time_program <name> <command...>: the verified run on ours, then the interleaved timed runs.
time_program() {
    local name=$1 report=$work/report
    shift
    wants "$name" || return 0
    rm -f "$report" "$work/times"
    LD_PRELOAD=$lib PARKING_PTHREAD_REPORT=$report "$@"
    local locks
    locks=$(awk '/mutex locks on the parking lot/ { s += $NF } END { print s + 0 }' "$report")
    ((locks > 0)) || {
        echo "programs.sh: $name: no mutex lock on the parking lot in the report" >&2
        exit 1
    }
    for ((r = 1; r <= reps; r++)); do
        if ((r % 2)); then
            run_variant glibc "$@"
            run_variant ours "$@"
        else
            run_variant ours "$@"
            run_variant glibc "$@"
        fi
    done
    local g gs o os gc gcs oc ocs
    read -r g gs <<<"$(median_spread glibc 2)"
    read -r o os <<<"$(median_spread ours 2)"
    read -r gc gcs <<<"$(median_spread glibc 3)"
    read -r oc ocs <<<"$(median_spread ours 3)"
    rows+=("$(printf '%-13s %7s %4s%% %7s %4s%% %6.2fx   %7s %4s%% %7s %4s%% %6.2fx  %9s' \
        "$name" "$g" "$gs" "$o" "$os" "$(awk -v a="$g" -v b="$o" 'BEGIN { print a / b }')" \
        "$gc" "$gcs" "$oc" "$ocs" "$(awk -v a="$gc" -v b="$oc" 'BEGIN { print a / b }')" "$locks")")
    echo "  $name done" >&2
}

if wants pigz; then
    seq 1 15000000 >"$work/data"
fi
time_program pigz sh -c "pigz -p 8 -c '$work/data' > /dev/null"
time_program python-queue "$python" "$repo/bench/py_threads.py" queue
time_program python-lock "$python" "$repo/bench/py_threads.py" lock
if wants cxx-queue; then
    c++ -std=c++17 -O2 -pthread -o "$work/cxx_queue" "$repo/bench/cxx_queue.cc"
fi
time_program cxx-queue "$work/cxx_queue"
rm -f "$work/data"

if ((${#rows[@]})); then
    echo
    echo "== programs: seconds, median of $reps interleaved runs (spread): wall time, then CPU" \
        "time (user + system) =="
    printf '%-13s %-36s %s\n' "" "wall time" "CPU time"
    printf '%-13s %7s %5s %7s %5s %7s   %7s %5s %7s %5s %7s  %9s\n' program glibc spread ours \
        spread ratio glibc spread ours spread ratio "lot locks"
    printf '%s\n' "${rows[@]}"
    echo "(ratio: glibc / ours, > 1: faster, or less CPU, on libparking-pthread; lot locks: the"
    echo " mutex locks on the parking lot in the verified run)"
fi

# ---- pl-bench's pthread contender, as built and interposed --------------------------------------
# pl-bench runs --reps times as built and as many under LD_PRELOAD, interleaved, one repetition
# per process; the figures are the medians over the processes.  In the preloaded processes its
# pthread contender is libparking-pthread, and its ours-call contender (pl_*_t called directly)
# runs beside it: their ratio is the cost of the interposition layer.
if wants pl-bench; then
    workloads=uncontended,contended,rwlock,queue,broadcast,pingpong
    args=(--"$preset" --workload "$workloads" --contenders pthread,ours-call --out none)
    [[ $preset == smoke ]] || args+=(--reps 1)
    for ((r = 1; r <= reps; r++)); do
        for variant in $( ((r % 2)) && echo glibc ours || echo ours glibc); do
            if [[ $variant == ours ]]; then
                LD_PRELOAD=$lib "$plbench" "${args[@]}" --csv "$work/$variant.$r.csv"
            else
                "$plbench" "${args[@]}" --csv "$work/$variant.$r.csv"
            fi >"$work/$variant.$r.txt"
        done
        echo "  pl-bench $r/$reps done" >&2
    done
    echo
    echo "== pl-bench --$preset, pthread contender: glibc (as built) and interposed (LD_PRELOAD)," \
        "native pl_*_t in the interposed processes; median of $reps processes each (spread) =="
    # Every CSV row becomes "variant<TAB>workload|config|threads<TAB>unit<TAB>value": the configs are quoted
    # and may hold commas ("(1,0)"), which become ';' (POSIX awk has no CSV mode) and commas
    # again in the table.
    for f in "$work"/*.csv; do
        variant=${f##*/}
        awk -v variant="${variant%%.*}" 'FNR > 1 {
                out = ""; q = 0
                for (i = 1; i <= length($0); i++) {
                    c = substr($0, i, 1)
                    if (c == "\"") q = !q
                    else out = out (q && c == "," ? ";" : c)
                }
                split(out, f, ",")
                if (variant == "glibc") v = f[5] == "baseline" ? "glibc" : ""
                else v = f[5] == "baseline" ? "inter" : "native"
                if (v != "") print v "\t" f[1] "|" f[2] "|" f[3] "\t" f[7] "\t" f[8]
            }' "$f"
    done >"$work/rows"
    # Speeds: ops/s-like units are higher-better, ns ones lower-better; every ratio printed is a
    # speed ratio (> 1: the first one faster).
    awk -F '\t' '
        { k = $2; unit[k] = $3; n = ++cnt[$1, k]; val[$1, k, n] = $4
          if (!(k in seen)) { seen[k] = 1; order[nk++] = k } }
        function median(v, k,    n, i, j, t, a) {
            n = cnt[v, k]
            for (i = 1; i <= n; i++) a[i] = val[v, k, i]
            for (i = 2; i <= n; i++)
                for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
            med = n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
            spread = med ? 100 * (a[n] - a[1]) / med : 0
            return med
        }
        function speed(a, b, u) { return u ~ /^ns/ ? b / a : a / b }
        function fmt(v, u) {
            if (u ~ /^ns/) return sprintf("%.1f", v)
            return v >= 1e6 ? sprintf("%.2fM", v / 1e6) : sprintf("%.1fk", v / 1e3)
        }
        END {
            printf "%-11s %-10s %3s %-9s %14s %14s %14s %12s %13s\n", "workload", "config", "T",
                   "unit", "glibc", "interposed", "native pl_", "interp/glibc", "interp/native"
            for (i = 0; i < nk; i++) {
                k = order[i]; u = unit[k]
                if (!cnt["glibc", k] || !cnt["inter", k] || !cnt["native", k]) continue
                split(k, p, "|"); gsub(/;/, ",", p[2]); if (p[3] == 0) p[3] = "-"
                g = median("glibc", k); gs = spread
                x = median("inter", k); xs = spread
                m = median("native", k); ms = spread
                printf "%-11s %-10s %3s %-9s %8s (%3.0f%%) %8s (%3.0f%%) %8s (%3.0f%%) %11.2fx %12.2fx\n",
                       p[1], p[2], p[3], u, fmt(g, u), gs, fmt(x, u), xs, fmt(m, u), ms,
                       speed(x, g, u), speed(x, m, u)
            }
        }' "$work/rows"
    echo "(interp/glibc > 1: the interposed pthread object is faster than glibc's; interp/native:"
    echo " the interposed one relative to pl_*_t called directly, 1 = no cost for the layer)"
    grep -hE '^machine:|^WARNING' "$work"/ours.*.txt | sort | uniq -c | sed 's/^ *//' || true
fi
