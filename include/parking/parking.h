/* libparking: every public header. */
#ifndef PARKING_PARKING_H
#define PARKING_PARKING_H

#include "parking/lot.h"
#include "parking/mutex.h"

#endif /* PARKING_PARKING_H */
