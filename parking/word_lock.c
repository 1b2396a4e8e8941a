/* Slow paths of the bucket lock (see word_lock.h). */
#include "word_lock.h"

#include <stddef.h>

#include <parking/annotate.h>
#include <parking/cas.h>
#include "chaos.h"
#include "invariant.h"
#include <parking/lot.h>
#include "parker.h"

/* A waiter, on the waiting thread's stack.  New waiters push at the head with one CAS; the
 * unlocker walks from the head to fill in `prev` links lazily and wakes the tail (the oldest),
 * so the queue is FIFO.  The head caches the tail in `queue_tail` so later unlockers stop early. */
typedef struct wl_node {
    struct wl_node *queue_tail; /* set on the head once the walk reached the tail */
    struct wl_node *prev;       /* towards the head (newer); filled in by the unlocker */
    struct wl_node *next;       /* towards the tail (older) */
    pl_parker_t parker;
} wl_node_t;

/* 64-byte alignment of the nodes is not needed; 4-byte alignment is, for the two flag bits. */
_Static_assert(_Alignof(wl_node_t) >= 4, "word lock nodes must leave two low bits free");

void pl_word_lock_lock_slow(pl_word_lock_t *l)
{
    pl_spin_t spin = PL_SPIN_INIT;
    wl_node_t node;
    /* Unlockers edit the waiting nodes under the queue bit, synchronised by atomics that
     * Helgrind and DRD do not understand: they do not check the node (parking/annotate.h;
     * no-op natively). */
    PL__VG_RACY(&node, sizeof node);
    pl_parker_init(&node.parker);
    uintptr_t state = __atomic_load_n(&l->state, __ATOMIC_RELAXED);
    for (;;) {
        if (!(state & PL_WL_LOCKED)) {
            if (PL__CAS(&l->state, &state, state | PL_WL_LOCKED, true, __ATOMIC_ACQUIRE,
                        __ATOMIC_RELAXED))
                break;
            continue;
        }
        /* Spin only while nobody is queued: with a queue, the lock goes to the queue first. */
        if ((state & PL_WL_QUEUE_MASK) == 0 && pl_spin(&spin)) {
            state = __atomic_load_n(&l->state, __ATOMIC_RELAXED);
            continue;
        }
        pl_parker_prepare(&node.parker);
        wl_node_t *head = (wl_node_t *)(state & PL_WL_QUEUE_MASK);
        node.prev = NULL;
        node.next = head;
        node.queue_tail = head ? NULL : &node;
        PL_CHAOS_POINT(); /* the state read above goes stale */
        /* Release publishes the node's fields to the unlocker that reads the head. */
        if (!PL__CAS(&l->state, &state, (state & ~PL_WL_QUEUE_MASK) | (uintptr_t)&node, true,
                     __ATOMIC_RELEASE, __ATOMIC_RELAXED))
            continue;
        PL_CHAOS_POINT(); /* queued, not yet asleep: the unlocker may wake us first */
        pl_parker_park(&node.parker);
        PL_CHAOS_POINT(); /* woken: a barger may take the lock before we retry */
        pl_spin_reset(&spin);
        state = __atomic_load_n(&l->state, __ATOMIC_RELAXED);
    }
    pl_parker_destroy(&node.parker);
}

void pl_word_lock_unlock_slow(pl_word_lock_t *l)
{
    uintptr_t state = __atomic_load_n(&l->state, __ATOMIC_RELAXED);
    for (;;) {
        /* Someone else edits the queue, or nobody waits: nothing to do. */
        if ((state & PL_WL_QUEUE_LOCKED) || (state & PL_WL_QUEUE_MASK) == 0)
            return;
        if (PL__CAS(&l->state, &state, state | PL_WL_QUEUE_LOCKED, true, __ATOMIC_ACQUIRE,
                    __ATOMIC_RELAXED))
            break;
    }
    for (;;) {
        PL_CHAOS_POINT(); /* queue bit held: new nodes pushed, the lock re-taken */
        wl_node_t *head = (wl_node_t *)(state & PL_WL_QUEUE_MASK);
        /* Only an unlock that saw waiters takes the queue bit, and nodes leave only under it. */
        PL_ASSERT(head != NULL);
        wl_node_t *cur = head, *tail;
        while ((tail = cur->queue_tail) == NULL) {
            wl_node_t *next = cur->next;
            /* A node without a known tail was pushed in front of one: the first node pushed
             * onto an empty queue is its own tail, so the walk ends before running off. */
            PL_ASSERT(next != NULL);
            next->prev = cur;
            cur = next;
        }
        head->queue_tail = tail;

        /* The lock was taken again meanwhile: its owner will wake the next waiter. */
        if (state & PL_WL_LOCKED) {
            /* On failure new nodes may have been pushed: the acquire failure ordering makes
             * their contents visible before we walk again.  (A load, not a fence: TSan
             * understands the one and not the other.) */
            if (PL__CAS(&l->state, &state, state & ~(uintptr_t)PL_WL_QUEUE_LOCKED, true,
                        __ATOMIC_RELEASE, __ATOMIC_ACQUIRE))
                return;
            continue;
        }

        wl_node_t *new_tail = tail->prev;
        if (new_tail == NULL) {
            /* The tail is the only waiter: empty the queue, unless a node was pushed since. */
            for (;;) {
                if (PL__CAS(&l->state, &state, state & PL_WL_LOCKED, true, __ATOMIC_RELEASE,
                            __ATOMIC_ACQUIRE))
                    break;
                /* Failed because of a new node (walk again) or a change of the lock bit. */
                if ((state & PL_WL_QUEUE_MASK) == 0)
                    continue;
                goto again;
            }
        } else {
            head->queue_tail = new_tail;
            __atomic_fetch_and(&l->state, ~(uintptr_t)PL_WL_QUEUE_LOCKED, __ATOMIC_RELEASE);
        }
        /* The tail is off the queue; nobody else can reach it, so no claim is needed. */
        PL_CHAOS_POINT(); /* dequeued, not yet woken */
        pl_parker_wake(&tail->parker);
        return;
    again:;
    }
}
