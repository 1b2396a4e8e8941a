# The Check programs: tests/<name>.c each, built and run by tests/CMakeLists.txt and, under Wine,
# by tests/windows/CMakeLists.txt.  Listed by hand: a new test file runs once it is named here.
set(PARKING_TESTS
  test_alloc_lock
  test_bitlock
  test_cas
  test_chaos
  test_cond
  test_cond_any
  test_debug
  test_debug_classes
  test_errno
  test_fork
  test_lot
  test_lot_walk
  test_mutex
  test_once
  test_process
  test_profile
  test_release
  test_remutex
  test_rwlock
  test_sync
  test_tokens
  test_wait
)
