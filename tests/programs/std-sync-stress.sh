#!/usr/bin/env bash
# tests/programs/std_sync_stress.cpp (the C++ standard library's mutexes, condition variable
# and shared mutexes under stress, invariants checked) on libparking-pthread: fails if the
# program fails, or if any of its pthread objects was not ours (nothing is delegated: none is
# process-shared, robust or priority-aware).
#
#   std-sync-stress.sh LIB PROGRAM [SECONDS_PER_PART]
source "$(dirname "${BASH_SOURCE[0]}")/preload.sh"
preload_setup pthread-prog-std-sync-stress "${1:-}"
program=${2:-}
require_program "$program" std_sync_stress "a C++ compiler at configure time: g++"
preloaded "$program" "${3:-0.5}"
require_report "mutex locks on the parking lot" 1000 "condvar waits on the parking lot" 100 \
    "rwlock locks on the parking lot" 1000 "mutex operations delegated" 0 \
    "condvar waits delegated" 0 "rwlock operations delegated" 0
