/* The one-table-per-process check.  Internal. */
#ifndef PARKING_SINGLETON_H
#define PARKING_SINGLETON_H

/* Called by the table code before this copy of the library creates its first parking table.
 * Marks this copy as in use, then aborts with an explanation if another copy of libparking in
 * the process (a static libparking.a inside a plugin next to the shared libparking.so, for
 * example) is in use too.  Costs one walk over the loaded objects, once per copy; a no-op
 * where loaded objects cannot be listed (see docs/design.md, section 8). */
void pl_singleton_claim(void);

#endif /* PARKING_SINGLETON_H */
