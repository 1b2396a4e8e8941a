/* The one Linux call of tests/test_*.c that macOS lacks, force-included (-include) into every
 * test source by tests/macos/CMakeLists.txt so the sources stay unchanged: gettid(), as the id
 * pl_lot_walk reports for a thread (pthread_threadid_np on macOS, parking/os_posix.c). */
#ifndef PARKING_TESTS_MACOS_COMPAT_H
#define PARKING_TESTS_MACOS_COMPAT_H

#include <pthread.h>
#include <stdint.h>

static inline uint64_t gettid(void)
{
    uint64_t id = 0;
    (void)pthread_threadid_np(NULL, &id);
    return id;
}

#endif /* PARKING_TESTS_MACOS_COMPAT_H */
