/* pl-bench: the registry of contenders.  Each adapter family registers what it has; the lists
 * are kept in table order: ours first, then the pthread baseline, then the peers. */
#include <stdio.h>
#include <string.h>

#include "bench.h"

/* Set by CMake to the reason when the peers are left out on purpose (sanitizer builds). */
#ifndef PB_PEERS_NOTE
#  define PB_PEERS_NOTE ""
#endif

enum { MAX_PER_FAMILY = 8 };

typedef struct family {
    const void *items[MAX_PER_FAMILY];
    pb_role_t roles[MAX_PER_FAMILY];
    size_t count;
} family_t;

static family_t mutexes, rwlocks, conds, events, onces;
static unsigned role_mask = PB_ALL_ROLES;
static const char *peer_filter;

pb_list_t pb_mutexes, pb_rwlocks, pb_conds, pb_events, pb_onces;

static void add(family_t *f, pb_list_t *list, const void *item, pb_role_t role, const char *name)
{
    if (!(role_mask & (1u << role)))
        return;
    if (role == PB_PEER && peer_filter && !strstr(name, peer_filter))
        return;
    if (f->count == MAX_PER_FAMILY)
        pb_fatal("too many contenders in %s's family", name);
    /* Insertion by role keeps registration order within a role. */
    size_t i = f->count;
    while (i > 0 && f->roles[i - 1] > role) {
        f->items[i] = f->items[i - 1];
        f->roles[i] = f->roles[i - 1];
        i--;
    }
    f->items[i] = item;
    f->roles[i] = role;
    f->count++;
    list->items = f->items;
    list->count = f->count;
}

void pb_register_mutex(const pb_mutex_ops_t *m) { add(&mutexes, &pb_mutexes, m, m->role, m->name); }

void pb_register_rwlock(const pb_rwlock_ops_t *r)
{
    add(&rwlocks, &pb_rwlocks, r, r->role, r->name);
}

void pb_register_cond(const pb_cond_ops_t *c) { add(&conds, &pb_conds, c, c->role, c->name); }
void pb_register_event(const pb_event_ops_t *e) { add(&events, &pb_events, e, e->role, e->name); }
void pb_register_once(const pb_once_ops_t *o) { add(&onces, &pb_onces, o, o->role, o->name); }

void pb_contenders_setup(unsigned roles, const char *peer)
{
    role_mask = roles;
    peer_filter = peer;
    pb_parking_register();
    pb_pthread_register();
    pb_futex_register();
    if (!(roles & (1u << PB_PEER))) {
        printf("peers left out (--contenders)\n");
        return;
    }
    if (peer)
        printf("peers: only those whose name contains '%s' (--peer)\n", peer);
#ifdef PB_HAVE_NSYNC
    pb_nsync_register();
    printf("peer: Google nsync (nsync_mu, nsync_cv)\n");
#else
    printf("peer skipped: Google nsync: %s\n",
           PB_PEERS_NOTE[0] ? PB_PEERS_NOTE
                            : "not found when pl-bench was configured (Debian: libnsync-dev)");
#endif
#ifdef PB_HAVE_ABSL
    pb_absl_register();
    printf("peer: Abseil (absl::Mutex, absl::CondVar), deadlock detection turned off "
           "(absl::OnDeadlockCycle::kIgnore) as in release builds of Abseil\n");
#else
    printf("peer skipped: Abseil: %s\n",
           PB_PEERS_NOTE[0] ? PB_PEERS_NOTE
                            : "not found when pl-bench was configured (Debian: libabsl-dev, g++)");
#endif
#ifdef PB_HAVE_PARKING_LOT
    pb_parking_lot_register();
    printf("peer: Rust parking_lot 0.12 (RawMutex, RawRwLock, Condvar+Mutex, Once, "
           "parking_lot_core::park), through extern \"C\" calls into a shared library\n");
#else
    printf("peer skipped: Rust parking_lot: %s\n",
           PB_PEERS_NOTE[0] ? PB_PEERS_NOTE
                            : "not found when pl-bench was configured (Debian: cargo, "
                              "librust-parking-lot-dev)");
#endif
}
