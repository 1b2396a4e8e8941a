/* pl_version, pl_version_number: the version this library was built as (parking/version.h,
 * kept equal to the CMake project version by cmake/ParkingVersion.cmake). */
#include <parking/version.h>

const char *pl_version(void) { return PARKING_VERSION_STRING; }

unsigned long pl_version_number(void) { return PARKING_VERSION_NUMBER; }
