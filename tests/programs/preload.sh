# Shared by the tests/programs scripts; sourced, never run.  A program runs under
# LD_PRELOAD=libparking-pthread.so with PARKING_PTHREAD_REPORT pointing at a file: every process
# of the run (children included) appends its report there at exit, so the test checks that the
# program really locked on the parking lot, and the program's own standard error stays its own
# (Python's tests compare their subprocesses' stderr word for word).
# shellcheck shell=bash
set -euo pipefail

# Exit status CTest reads as "skipped" (SKIP_RETURN_CODE in tests/programs/CMakeLists.txt).
skip_status=77

# preload_setup <test name> <libparking-pthread.so path, empty when the target was not built>:
# skips when the library is missing; makes `work` (a temporary folder, removed at exit) and
# `report` (the report file inside it).
preload_setup() {
    test_name=$1 lib=$2
    if [[ -z $lib || ! -f $lib ]]; then
        echo "$test_name: skipped: libparking-pthread.so was not built in this configuration"
        exit "$skip_status"
    fi
    work=$(mktemp -d "${TMPDIR:-/tmp}/$test_name.XXXXXX")
    trap 'rm -rf "$work"' EXIT
    report=$work/report
}

# require_program <path or empty> <what> <Debian package>: skips when the program is missing.
require_program() {
    if [[ -z $1 || ! -x $1 ]]; then
        echo "$test_name: skipped: $2 not found (Debian package $3; tools/setup-deps installs it)"
        exit "$skip_status"
    fi
}

# preloaded <command...>: runs the command on our locks, its report appended to `report`.
preloaded() {
    LD_PRELOAD=$lib${LD_PRELOAD:+:$LD_PRELOAD} PARKING_PTHREAD_REPORT=$report "$@"
}

# report_total <counter label>: the counter summed over every process's report.
report_total() {
    awk -v label="$1" '
        { line = $0; sub(/^ +/, "", line) }
        index(line, label) == 1 { n = $NF; rest = substr(line, length(label) + 1);
                                  if (rest ~ /^ +[0-9]+$/) total += n }
        END { print total + 0 }' "$report"
}

# require_report <label> <min|0=exactly zero> ...: fails unless every named counter, summed over
# the run's processes, is at least <min> (or exactly zero when <min> is 0); prints them.
require_report() {
    [[ -s $report ]] || {
        echo "$test_name: FAIL: no libparking-pthread report: the library was not loaded" >&2
        exit 1
    }
    echo "$test_name: $(grep -c '^libparking-pthread report' "$report") process report(s):"
    local bad=0 label min value
    while (($#)); do
        label=$1 min=$2
        shift 2
        value=$(report_total "$label")
        echo "  $label: $value"
        if { ((min > 0)) && ((value < min)); } || { ((min == 0)) && ((value != 0)); }; then
            echo "$test_name: FAIL: '$label' is $value, expected $( ((min > 0)) &&
                echo "at least $min" || echo 0)" >&2
            bad=1
        fi
    done
    ((bad == 0)) || exit 1
}
