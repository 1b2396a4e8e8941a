/* Per-thread data of a thread that parks.  Internal. */
#ifndef PARKING_THREAD_DATA_H
#define PARKING_THREAD_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "parker.h"

typedef struct pl_thread_data {
    pl_parker_t parker;
    /* The address the thread is queued on.  Atomic: a requeue rewrites it (holding both bucket
     * locks) while the thread, after a time-out, reads it to find which bucket to lock. */
    const void *key;
    /* Links of the bucket queue (utlist DL_* macros: head->prev is the tail).  Owned by the
     * bucket lock while queued, by the unparker after it dequeued the thread. */
    struct pl_thread_data *prev, *next;
    uintptr_t park_token;   /* read by pl_unpark_filter */
    uintptr_t unpark_token; /* written by the unparker before the wake */
    /* For pl_lot_walk, read under the bucket lock: pl_now() when the thread last queued (a
     * requeue keeps it), and the OS thread id, read once when the data is created. */
    uint64_t parked_ns;
    uint64_t os_tid;
    /* Set under the bucket lock each time the thread is appended to a queue (park, requeue):
     * above the stamp of every thread ahead of it, so stamps increase along every queue
     * (lot.c, enqueue).  pl_lot_dump resumes a bucket after the last stamp it listed. */
    uint64_t queue_stamp;
} pl_thread_data_t;

/* The calling thread's data, created (and counted for table sizing) on first use.  When the
 * thread's storage has already been torn down (a lock taken inside a TLS destructor), the
 * caller's `fallback`, on its stack, is initialised, counted and returned instead; pass the
 * result to pl_thread_data_release when the park is over. */
pl_thread_data_t *pl_thread_data_acquire(pl_thread_data_t *fallback);
void pl_thread_data_release(pl_thread_data_t *td, pl_thread_data_t *fallback);

/* Releases @p td at its thread's exit (called by the exit hook of os.h), or a fallback after
 * its park. */
void pl_thread_data_exit(pl_thread_data_t *td);

/* In a child process after fork: only the calling thread still exists (fork.c). */
void pl_thread_data_after_fork(void);

/* Threads that currently hold parking data (for table sizing). */
size_t pl_thread_count(void);

#endif /* PARKING_THREAD_DATA_H */
