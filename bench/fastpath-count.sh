#!/usr/bin/env bash
# Instructions per iteration of each uncontended fast path (lock + a counter increment + unlock),
# compiled the way a user compiles: -O2, no NDEBUG.  Counted by callgrind, so the figure is exact
# and does not move with machine load; it answers "did a change make a fast path longer?", which
# a timing on a shared 2-core machine cannot.  Extra compiler flags go in CFLAGS_EXTRA, e.g.
# CFLAGS_EXTRA=-DPARKING_VALGRIND=1 for the fast path with the opt-in Valgrind client requests
# (parking/annotate.h).
#   bench/fastpath-count.sh SOURCE_TREE BUILD_DIR     (the headers of SOURCE_TREE, the library
#                                                     in BUILD_DIR: an older tree compares)
# e.g. bench/fastpath-count.sh . build/test
set -euo pipefail
tree=$(cd "$1" && pwd) build=$(cd "$2" && pwd)
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd) # this program, whatever tree is measured
command -v valgrind >/dev/null || { echo "fastpath-count: needs valgrind" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# shellcheck disable=SC2086
cc -std=c11 -O2 ${CFLAGS_EXTRA:-} -I"$tree/include" -I"$build/include" \
    "$here/fastpath_count.c" -o "$tmp/fp" -L"$build" -Wl,-rpath,"$build" -lparking -pthread
valgrind --tool=callgrind --callgrind-out-file="$tmp/cg" "$tmp/fp" >/dev/null 2>&1
callgrind_annotate --inclusive=yes "$tmp/cg" 2>/dev/null | grep -E 'run_[a-z0-9_]+' |
    sed -E 's/^ *([0-9,]+).*(run_[a-z0-9_]+).*/\2 \1/' | tr -d , |
    awk '{printf "%-16s %.2f\n", $1, $2 / 1000000}' | sort
