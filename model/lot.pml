/* Promela model of the park / unpark protocol of parking/lot.c and the parker state machine of
 * parking/parker.h + parking/parker_word.c, for one parking address.  Checked with spin through
 * a client that includes it (model/mutex.pml); docs/model.md says what maps to what and what is
 * abstracted away.  Run: tools/model-check.
 *
 * The including model defines NTHREADS (threads are 0 .. NTHREADS-1) before including this file,
 * and these hooks before its first call of pl_park / pl_unpark_one:
 *   inline park_validate(ok)                 pl_park's validate callback, under the bucket lock
 *   inline park_timed_out(last)              pl_park's timed_out callback, under the bucket lock
 *   inline unpark_callback(found, more, be_fair, token)
 *                                            the unpark callback, under the bucket lock;
 *                                            found == NOBODY when no thread was dequeued
 * Every step below is one atomic action of the real code, or a group of actions that only
 * touch data guarded by the bucket lock (d_step): the queue, the parker's PARKED -> CLAIMED
 * claim and the unpark token.  Atomic reads and writes of the client's lock word are separate
 * steps, so they interleave with everything other threads do.
 */

#define NOBODY 255

/* pl_parker_t.state (parking/parker.h). */
#define P_FREE 0
#define P_PARKED 1
#define P_CLAIMED 2
#define P_SLEEPING 4 /* flag on PARKED or CLAIMED: the thread waits in the OS */

/* pl_park_status_t. */
#define PARK_UNPARKED 0
#define PARK_INVALID 1
#define PARK_TIMED_OUT 2

/* The bucket the address hashes to: its word lock (parking/word_lock.c) modelled as one
 * test-and-set lock with an owner, and its queue of parked threads in FIFO order (only threads
 * of the one modelled address, so every entry matches the key). */
byte bucket_owner = NOBODY;
byte queue[NTHREADS];
byte qlen;
bool queued[NTHREADS];

/* Per-thread parking data (parking/thread_data.h): the parker state and the unpark token. */
byte parker[NTHREADS];
byte unpark_token[NTHREADS];
/* Asleep in the OS wait on its parker word (pl_os_wait): only a wake (pl_os_wake_one) ends it. */
bool in_os[NTHREADS];

/* The state without the sleeping flag. */
#define P_STATE(t) (parker[t] & 3)

/* pl_parker_park (parker_word.c): spin for FREE, then announce sleep and wait in the OS until
 * woken, as often as needed.  The spin is a nondeterministic choice: it may see FREE, or give up
 * at any point.  announce_sleep is one read-modify-write (CAS loop): it sees FREE, or sets the
 * flag on whatever state is there.  pl_os_wait compares and sleeps atomically (the kernel does,
 * under its own lock): it returns at once if the word no longer holds the announced value;
 * spurious returns are not modelled (they only add trips around the loop).  `s` is scratch,
 * left 0.
 * The sleeping flag and the OS wait are modelled only with PARKER_DETAIL, which the 2-thread
 * checks define: they are a protocol between the parked thread and the one unparker that
 * claimed it, whatever the number of threads, and with 3 threads they multiply a state space
 * that must stay within the checks' memory.  Without it, parking blocks until FREE. */
#ifdef PARKER_DETAIL
inline parker_park(tid, s)
{
    if
    :: parker[tid] == P_FREE -> skip
    :: true ->
        do
        :: atomic {
               s = parker[tid];
               if
               :: s != P_FREE -> s = s | P_SLEEPING; parker[tid] = s
               :: else
               fi
           };
           if
           :: s == P_FREE -> break
           :: else ->
               atomic {
                   if
                   :: parker[tid] == s -> in_os[tid] = true
                   :: else
                   fi
               };
               !in_os[tid]
           fi
        od
    fi;
    s = 0
}
#else
inline parker_park(tid, s)
{
    parker[tid] == P_FREE
}
#endif

/* pl_bucket_lock / pl_bucket_lock_thread / pl_bucket_unlock.  The table lookup and its
 * re-check against growth, and the key re-check against requeue, are not modelled: one
 * address, one table.
 * Safety checks use a test-and-set lock: any thread may take a free bucket lock, which allows
 * every order the real word lock allows.  The liveness checks need a bucket lock that does not
 * starve a waiter under weak fairness (a test-and-set lock is enabled only now and then for a
 * waiter, and weak fairness promises nothing for that), so there it is a FIFO ticket lock:
 * they assume the word lock lets every waiter in eventually, and check the rest. */
#ifdef FIFO_BUCKET_LOCK
byte bucket_next;            /* next ticket, modulo NTHREADS (never more waiters than that) */
byte bucket_serving;         /* ticket allowed in */
byte bucket_ticket[NTHREADS];

inline bucket_lock(tid)
{
    d_step { bucket_ticket[tid] = bucket_next; bucket_next = (bucket_next + 1) % NTHREADS };
    atomic {
        bucket_serving == bucket_ticket[tid] ->
        assert(bucket_owner == NOBODY);
        bucket_owner = tid;
        bucket_ticket[tid] = 0
    }
}

inline bucket_unlock(tid)
{
    d_step {
        assert(bucket_owner == tid);
        bucket_owner = NOBODY;
        bucket_serving = (bucket_serving + 1) % NTHREADS
    }
}
#else
inline bucket_lock(tid)
{
    atomic { bucket_owner == NOBODY -> bucket_owner = tid }
}

inline bucket_unlock(tid)
{
    d_step { assert(bucket_owner == tid); bucket_owner = NOBODY }
}
#endif

/* DL_APPEND under the bucket lock. */
inline enqueue(tid)
{
    assert(bucket_owner == tid && !queued[tid]);
    queue[qlen] = tid;
    qlen++;
    queued[tid] = true
}

/* DL_DELETE of `who` (anywhere in the queue) under the bucket lock; `i` is scratch, left 0. */
inline dequeue(who, i)
{
    assert(queued[who]);
    i = 0;
    do
    :: queue[i] == who -> break
    :: else -> i++
    od;
    do
    :: i + 1 < qlen -> queue[i] = queue[i + 1]; i++
    :: else -> break
    od;
    qlen--;
    queue[qlen] = 0;
    queued[who] = false;
    i = 0
}

/* pl_park(addr, validate, NULL, timed_out, ctx, token, deadline) = park_with() in lot.c.
 * `timed`: the caller passed a deadline; `expired`: that deadline has passed (set here when the
 * wait times out; the caller may have set it already).  Returns the status in `status`; the
 * unpark token is unpark_token[tid].  `ok` and `i` are scratch. */
inline pl_park(tid, timed, expired, status, ok, i)
{
    bucket_lock(tid);
    park_validate(ok);
    if
    :: !ok ->
        bucket_unlock(tid);
        status = PARK_INVALID
    :: else ->
        /* Record the token, arm the parker, append to the queue: all under the bucket lock. */
        d_step {
            unpark_token[tid] = 0;
            parker[tid] = P_PARKED;
            enqueue(tid)
        };
        bucket_unlock(tid);
        ok = false;
        /* pl_parker_park / pl_parker_park_until: spin, then sleep until FREE. */
        if
        :: !timed ->
            parker_park(tid, i);
            status = PARK_UNPARKED
        :: timed && parker[tid] == P_FREE ->
            status = PARK_UNPARKED
        :: timed ->
            /* The deadline passes while spinning or asleep (a nondeterministic choice: it can
             * happen at any point); park_until then re-reads the state once.  A thread that
             * got as far as the OS wait announced its sleep first: the flag stays set. */
            expired = true;
#ifdef PARKER_DETAIL
            atomic {
                if
                :: parker[tid] != P_FREE -> parker[tid] = parker[tid] | P_SLEEPING
                :: true
                fi
            };
#endif
            if
            :: parker[tid] == P_FREE ->
                status = PARK_UNPARKED
            :: else ->
                bucket_lock(tid);
                /* pl_parker_timed_out: still PARKED (with or without the sleeping flag) under
                 * the lock means nobody chose us. */
                if
                :: P_STATE(tid) == P_PARKED ->
                    d_step { dequeue(tid, i); ok = (qlen == 0) };   /* !others_queued() */
                    park_timed_out(ok);
                    ok = false;
                    bucket_unlock(tid);
                    status = PARK_TIMED_OUT
                :: else ->
                    bucket_unlock(tid);
#ifdef BUG_TIMEOUT_CLAIMED
                    /* BUG: report the time-out although an unparker claimed us. */
                    status = PARK_TIMED_OUT
#else
                    /* Claimed between the time-out and the lock: wait for the wake. */
                    parker_park(tid, i);
                    status = PARK_UNPARKED
#endif
                fi
            fi
        fi
    fi
}

/* pl_unpark_one(addr, callback, ctx), which is also what the lock algorithm's
 * pl_unpark_filter(addr, pick_one_waiter, unlock_decide, ctx) does when one lock owns the
 * address: dequeue the oldest waiter, tell the callback whether another one remains, hand the
 * waiter the callback's token and claim it under the bucket lock; wake it after unlocking.
 * pl_bucket_should_be_fair is a nondeterministic choice, made only when a thread is dequeued.
 * `found`, `more`, `be_fair`, `token` and `i` are scratch, left at their initial values
 * (NOBODY, false, false, 0, 0). */
inline pl_unpark_one(tid, found, more, be_fair, token, i)
{
    bucket_lock(tid);
#ifdef BUG_WAKE_BEFORE_DEQUEUE
    /* BUG: release (FREE) the oldest waiter before it is dequeued, given its token, claimed. */
    if
    :: qlen > 0 -> parker[queue[0]] = P_FREE
    :: else
    fi;
#endif
    d_step {
        if
        :: qlen > 0 ->
            found = queue[0];
            more = (qlen > 1);
            dequeue(found, i)
        :: else ->
            found = NOBODY;
            more = false
        fi
    };
    if
    :: found != NOBODY -> be_fair = true
    :: found != NOBODY -> be_fair = false
    :: else -> be_fair = false
    fi;
    unpark_callback(found, more, be_fair, token);
    if
    :: found != NOBODY ->
        /* pl_parker_claim, with the token, still under the bucket lock: PARKED -> CLAIMED by
         * adding one, which keeps a sleeping flag that the thread may be setting meanwhile. */
        d_step {
            unpark_token[found] = token;
#ifdef BUG_CLAIM_STORE
            /* BUG: claim with a plain store, erasing the sleeping flag. */
            parker[found] = P_CLAIMED
#else
            parker[found] = parker[found] + 1
#endif
        }
    :: else
    fi;
    bucket_unlock(tid);
    /* pl_parker_wake, after the bucket lock: exchange the word for FREE (release), and make the
     * wake-up system call only if the thread announced that it sleeps.  `i` holds the old word. */
    if
    :: found != NOBODY ->
#ifdef PARKER_DETAIL
        d_step { i = parker[found]; parker[found] = P_FREE };
        if
        :: i & P_SLEEPING -> in_os[found] = false
        :: else
        fi;
        i = 0
#else
        parker[found] = P_FREE
#endif
    :: else
    fi;
    d_step { found = NOBODY; more = false; be_fair = false; token = 0 }
}

/* The parking lot's own invariant, for the including model's watcher to check in every
 * reachable state: a queued thread's parker is PARKED, flagged sleeping or not (it is spinning,
 * asleep or about to be, and nobody has chosen or released it). */
#define LOT_QUEUE_OK(t) (!queued[t] || P_STATE(t) == P_PARKED)
