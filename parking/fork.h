/* Keeping the parking lot usable in a child process after fork().  Internal. */
#ifndef PARKING_FORK_H
#define PARKING_FORK_H

/* Registers the fork handler, once per process; called when the first table is created. */
void pl_fork_register(void);

#endif /* PARKING_FORK_H */
