# Every source and public header of the library, listed by hand (no glob: a file added to the tree
# is not built or installed until it is named here).  Paths are relative to the repository root.

# The parking lot core (parking/): the table of wait queues, per-thread data, the bucket word lock,
# spinning.  What differs by OS is in two files chosen in cmake/ParkingParker.cmake: the parker
# and the OS seam (parking/os.h: os_posix.c or os_windows.c).
set(PARKING_CORE_SOURCES
  parking/spin.c
  parking/word_lock.c
  parking/table.c
  parking/thread_data.c
  parking/lot.c
  parking/singleton.c
  parking/walk.c
)
if(NOT WIN32)
  list(APPEND PARKING_CORE_SOURCES parking/fork.c) # Windows has no fork(): os_windows.c's stub
endif()
if(PARKING_CHAOS)
  list(APPEND PARKING_CORE_SOURCES parking/chaos.c)
endif()
# Every primitive is one file in src/ (talking to the core only through include/parking/lot.h).
set(PARKING_PRIMITIVE_SOURCES
  src/lock_algorithm.c
  src/mutex.c
  src/remutex.c
  src/bitlock.c
  src/rwlock.c
  src/cond.c
  src/cond_any.c
  src/event.c
  src/semaphore.c
  src/latch.c
  src/barrier.c
  src/once.c
  src/wait.c
  src/version.c
  src/contention.c
)
# The contention profiler (include/parking/profile.h): one layer above src/, on the public
# headers and the contention hook only (docs/profiling.md).
set(PARKING_PROFILE_SOURCES profile/profile.c)
# Debug mode (include/parking/debug.h) sits on the primitives.  It is POSIX-only; on Windows its
# functions are stubs, so that the exported ABI is the same everywhere.
if(WIN32)
  set(PARKING_DEBUG_SOURCES src/debug/windows_stubs.c)
else()
  set(PARKING_DEBUG_SOURCES
    src/debug/hooks.c
    src/debug/owner.c
    src/debug/lockdep.c
    src/debug/classes.c
    src/debug/deadlock.c
    src/debug/thread.c
    src/debug/alloc.c
    src/debug/report.c
  )
endif()

# The public headers (include/parking/), each compiled alone by tests/headers and documented by
# Doxygen; the generated parking/config.h is added where it is needed.
set(PARKING_PUBLIC_HEADERS
  include/parking/annotate.h
  include/parking/barrier.h
  include/parking/bitlock.h
  include/parking/cas.h
  include/parking/cond.h
  include/parking/cond_any.h
  include/parking/debug.h
  include/parking/event.h
  include/parking/export.h
  include/parking/latch.h
  include/parking/lot.h
  include/parking/mutex.h
  include/parking/once.h
  include/parking/parking.h
  include/parking/profile.h
  include/parking/remutex.h
  include/parking/rwlock.h
  include/parking/semaphore.h
  include/parking/thread_safety.h
  include/parking/version.h
  include/parking/wait.h
)
# The C++ header (docs/cxx.md): installed beside them; checked as C++ only.
set(PARKING_PUBLIC_CXX_HEADERS include/parking/parking.hpp)
