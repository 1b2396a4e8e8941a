/* tests/test_assert_held.c with debug mode on: the assert-held functions are exact (owner
 * tracking), in every build. */
#define PARKING_DEBUG 1
#include "test_assert_held.c"
