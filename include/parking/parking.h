/* libparking: every public header. */
#ifndef PARKING_PARKING_H
#define PARKING_PARKING_H

#include "parking/lot.h"
#include "parking/mutex.h"
#include "parking/rwlock.h"
#include "parking/cond.h"
#include "parking/once.h"
#include "parking/wait.h"
#include "parking/bitlock.h"
#include "parking/remutex.h"

#endif /* PARKING_PARKING_H */
