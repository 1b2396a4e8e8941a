#!/bin/sh
# run-preload.sh LIB PARKING_RUN APP PLUGIN REPORT_DIR: runs the unmodified glibc program APP
# under LD_PRELOAD=LIB and under the parking-run wrapper, and checks from the report
# (PARKING_PTHREAD_REPORT=<file>) that its calls ran on our locks.
set -eu
lib=$1 run=$2 app=$3 plugin=$4 dir=$5
mkdir -p "$dir"
# The program binds to glibc's versioned symbols...
nm -D "$app" | grep -q 'pthread_mutex_lock@GLIBC_2.2.5' || { echo "no versioned reference" >&2; exit 1; }

check() {
    report=$1
    for what in "mutex locks on the parking lot" "condvar waits on the parking lot" \
                "rwlock locks on the parking lot"; do
        n=$(grep "  $what " "$report" | awk '{print $NF}' | sort -n | tail -1)
        if [ -z "$n" ] || [ "$n" -eq 0 ]; then
            echo "run-preload.sh: '$what' is ${n:-missing} in $report:" >&2
            cat "$report" >&2
            exit 1
        fi
    done
}

# ...and under LD_PRELOAD they reach ours.
rm -f "$dir/preload.txt"
LD_PRELOAD=$lib PARKING_PTHREAD_REPORT="$dir/preload.txt" "$app" "$plugin"
check "$dir/preload.txt"
rm -f "$dir/run.txt"
PARKING_PTHREAD_REPORT="$dir/run.txt" "$run" "$app" "$plugin"
check "$dir/run.txt"
# Without it, no report: the program alone runs on glibc.
rm -f "$dir/none.txt"
PARKING_PTHREAD_REPORT="$dir/none.txt" "$app" "$plugin"
test ! -e "$dir/none.txt"
echo "run-preload.sh: ok"
