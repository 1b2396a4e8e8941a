/* The model's stand-in for the CMake-generated <parking/config.h>: debug mode (the owner
 * tables of parking/debug.h) off.  The PL_ASSERT invariants are on: the clients build with
 * PARKING_CHAOS, whose chaos points are empty here (os_model.h). */
#ifndef PARKING_CONFIG_H
#define PARKING_CONFIG_H
#define PARKING_DEBUG 0
#endif
