#!/usr/bin/env bash
# Python 3's own threading tests (Debian's libpython3.11-testsuite) on libparking-pthread: the
# interpreter lock, threading.Lock/RLock/Condition/Event and queue.Queue all sit on pthread
# mutexes and condition variables.  Fails if a test fails or if the run did not lock on the
# parking lot.
#
#   python-threading.sh LIB PYTHON [SET]
#     SET  quick (default, the CTest): test_threading test_thread test_queue, then
#          test_concurrent_futures' thread-pool tests (-m '*ThreadPool*'): about 1 minute here
#          full: the four modules whole, process pools included: about 3 minutes here
source "$(dirname "${BASH_SOURCE[0]}")/preload.sh"
preload_setup pthread-prog-python-threading "${1:-}"
python=${2:-}
set_name=${3:-quick}
require_program "$python" "python3" python3
"$python" -c 'import test.test_threading, test.test_concurrent_futures' 2>/dev/null || {
    echo "$test_name: skipped: $python has no test.test_threading (Debian package" \
         "libpython3.11-testsuite; tools/setup-deps installs it)"
    exit "$skip_status"
}

# --timeout: a hung test dumps its threads' stacks and fails instead of waiting for CTest.
# The tests run in the temporary folder: some write files into the current one.
regrtest=("$python" -m test --timeout=300)
cd "$work"
case $set_name in
quick)
    preloaded "${regrtest[@]}" test_threading test_thread test_queue
    preloaded "${regrtest[@]}" test_concurrent_futures -m '*ThreadPool*'
    ;;
full)
    preloaded "${regrtest[@]}" test_threading test_thread test_queue test_concurrent_futures
    ;;
*)
    echo "python-threading.sh: unknown set '$set_name' (quick or full)" >&2
    exit 2
    ;;
esac

# The interpreter lock alone is a mutex and a condition variable taken at every switch.
require_report "mutex locks on the parking lot" 1000 "condvar waits on the parking lot" 100
