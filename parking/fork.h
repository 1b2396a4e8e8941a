/* Keeping the parking lot usable in a child process after fork().  Internal. */
#ifndef PARKING_FORK_H
#define PARKING_FORK_H

/* Registers the fork handler, once per process; called before the first table is created.
 * Returns once it is registered, or, nested in the registration's own allocation on the
 * registering thread, at once; see fork.c. */
void pl_fork_register(void);

#endif /* PARKING_FORK_H */
