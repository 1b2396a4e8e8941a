/* Promela model of pl_mutex_t (include/parking/mutex.h fast paths, src/lock_algorithm.c slow
 * paths) on top of the park / unpark model of model/lot.pml.  Checked exhaustively by
 * tools/model-check; docs/model.md maps every part to the code and lists what is abstracted.
 *
 * Macros (spin -D...):
 *   NTHREADS=n   threads, each running `ITERS` lock / critical section / unlock rounds
 *   ITERS=k      rounds per thread; 0 = forever (for the liveness checks)
 *   TIMED=m      bit mask of the threads whose lock attempts may carry a deadline (each attempt
 *                chooses: untimed or timed; the deadline passes at a nondeterministic moment)
 *   LIVENESS     add the LTL property `no_lost_wakeup` (use with ITERS=0 and pan -a -f)
 *   BUG_*        deliberate bugs, to show the checks can fail (docs/model.md has their
 *                counterexamples): BUG_NO_VALIDATE (park without re-checking the state),
 *                BUG_CLEAR_PARKED (unlock clears PARKED with waiters left), BUG_TIMEOUT_NOT_LAST
 *                (a timed-out waiter clears PARKED with waiters left), BUG_TIMEOUT_CLAIMED (a
 *                claimed waiter reports a time-out), BUG_BLIND_UNLOCK (the fast unlock ignores
 *                PARKED), BUG_SUBTRACT_UNLOCK (the old unlock by subtraction: releases, then
 *                writes the byte again in its slow path), BUG_WAKE_BEFORE_DEQUEUE (in
 *                model/lot.pml)
 *   NO_WATCH     leave out the invariant watcher (to see what the other checks find alone)
 *
 * Properties:
 *   - mutual exclusion: assertion in the critical section;
 *   - no write after release: an unlocker never writes the byte once it has let the lock go
 *     (the release is its last write; asserted where the old subtracting unlock wrote);
 *   - the PARKED bit is set whenever a thread is queued on the mutex, and a queued thread's
 *     parker is PARKED: assertions of the `watch` process, which can fire in any state;
 *   - no deadlock and no lost wake-up with bounded rounds: every thread finishes (any thread
 *     left blocked, on the bucket lock or asleep in its parker, is an invalid end state), and at
 *     the end the mutex is unlocked and nobody is queued;
 *   - with ITERS=0 (threads loop forever), under weak fairness: no lost wake-up as "a queued
 *     thread is eventually taken off the queue" (LTL no_lost_wakeup, pan -a -f), and no
 *     deadlock or livelock as "the mutex is acquired again and again" (the progress label at
 *     the critical section, pan -DNP -l -f).
 */

#ifndef NTHREADS
#define NTHREADS 2
#endif
#ifndef ITERS
#define ITERS 1
#endif
#ifndef TIMED
#define TIMED 1
#endif
#if NTHREADS < 2 || NTHREADS > 3
#error "NTHREADS must be 2 or 3 (the watcher and the LTL property name each thread)"
#endif
#if ITERS == 0
#define FIFO_BUCKET_LOCK   /* see bucket_lock in model/lot.pml */
#endif

/* pl_mutex_t.state bits. */
#define LOCKED 1
#define PARKED 2

/* Unpark tokens (src/lock_algorithm.h). */
#define TOKEN_NORMAL 0
#define TOKEN_HANDOFF 1

#include "lot.pml"

byte mstate;   /* the mutex byte */
byte in_cs;    /* threads inside the critical section */

/* validate_parked: park only while the mutex is still LOCKED|PARKED. */
inline park_validate(ok)
{
#ifdef BUG_NO_VALIDATE
    ok = true
#else
    ok = ((mstate & (LOCKED | PARKED)) == (LOCKED | PARKED))
#endif
}

/* timed_out_clear: the last waiter to time out clears PARKED (one atomic fetch_and). */
inline park_timed_out(last)
{
#ifdef BUG_TIMEOUT_NOT_LAST
    mstate = mstate & ~PARKED
#else
    if
    :: last -> mstate = mstate & ~PARKED
    :: else
    fi
#endif
}

/* Set, under BUG_SUBTRACT_UNLOCK only, by a thread whose unlock released the mutex before its
 * slow path: from then on the byte may belong to another object, and any write to it by that
 * thread is a write after release (issue 10). */
bool released[NTHREADS];

/* unlock_decide: hand off (keep LOCKED) if a waiter was dequeued and the unlock is fair or the
 * bucket says be_fair (one nondeterministic choice covers pl_mutex_unlock_fair and
 * pl_bucket_should_be_fair); otherwise clear LOCKED: the release, under the bucket lock, and the
 * unlocker's last access to the byte.  Clear PARKED if no waiter remains.  Each branch is one
 * atomic fetch_and on the lock word. */
inline unpark_callback(found, more, be_fair, token)
{
    d_step {
        if
        :: released[tid] ->
            /* BUG_SUBTRACT_UNLOCK: the old callback would now clear PARKED (no waiter left) or
             * take LOCKED back for a hand-off: a write to a byte it no longer owns. */
            assert(more && !(found != NOBODY && be_fair));
            token = TOKEN_NORMAL
        :: !released[tid] && found != NOBODY && be_fair ->
#ifdef BUG_CLEAR_PARKED
            mstate = mstate & ~PARKED;
#else
            mstate = mstate & ~(more -> 0 : PARKED);
#endif
            token = TOKEN_HANDOFF
        :: !released[tid] && !(found != NOBODY && be_fair) ->
#ifdef BUG_CLEAR_PARKED
            mstate = mstate & ~(LOCKED | PARKED);
#else
            mstate = mstate & ~(LOCKED | (more -> 0 : PARKED));
#endif
            token = TOKEN_NORMAL
        fi
    }
}


/* pl_mutex_lock / pl_mutex_lock_until: the fast CAS 0 -> LOCKED, else pl_lock_slow.
 * On return `got` says whether the lock was taken; locals are reset to canonical values. */
inline mutex_lock(tid, timed, expired, got, state, status, ok, i)
{
    /* pl_mutex__try_fast: one CAS from 0 (a weak CAS failing spuriously only sends the thread
     * to the slow path, which handles a free lock, so it is not modelled). */
    d_step {
        if
        :: mstate == 0 -> mstate = LOCKED; got = true
        :: else -> got = false
        fi
    };
    if
    :: got
    :: else ->
        /* pl_lock_slow.  pl_spin is not modelled: spinning only delays the next load. */
        state = mstate;
lock_loop:
        if
        :: (state & LOCKED) == 0 ->
            /* Free, even with threads parked: barge. */
            d_step {
                if
                :: mstate == state -> mstate = state | LOCKED; got = true
                :: else -> state = mstate
                fi
            };
            if
            :: got -> goto lock_done
            :: else -> goto lock_loop
            fi
        :: else
        fi;
        /* pl_now() >= deadline: a timed attempt's deadline may pass at any moment. */
        if
        :: timed && !expired -> expired = true
        :: true
        fi;
        if
        :: expired -> goto lock_done
        :: else
        fi;
        if
        :: (state & PARKED) == 0 ->
            d_step {
                if
                :: mstate == state -> mstate = state | PARKED; ok = true
                :: else -> state = mstate; ok = false
                fi
            };
            if
            :: ok -> ok = false
            :: else -> goto lock_loop
            fi
        :: else
        fi;
        pl_park(tid, timed, expired, status, ok, i);
        if
        :: status == PARK_UNPARKED && unpark_token[tid] == TOKEN_HANDOFF ->
            got = true; goto lock_done
        :: status == PARK_TIMED_OUT -> goto lock_done
        :: else ->
            status = 0;
            state = mstate;
            goto lock_loop
        fi;
lock_done:
        skip;
        d_step { state = 0; status = 0; expired = false }
    fi
}

/* pl_mutex_unlock and pl_mutex_unlock_fair: the strong CAS LOCKED -> 0, else pl_unlock_slow
 * (misuse assertion, a plain release if PARKED is clear, else unpark one, releasing in the
 * callback).  Fair or not differs only in the callback's hand-off, which be_fair covers. */
inline mutex_unlock(tid, state, done, found, more, be_fair, token, i)
{
#if defined(BUG_SUBTRACT_UNLOCK)
    /* BUG: the old unlock by subtraction releases first, whatever PARKED says; its slow path
     * then wakes a waiter with the lock already released (released[tid]). */
    d_step {
        assert(mstate & LOCKED);
        mstate = mstate - LOCKED;
        done = (mstate == 0);
        released[tid] = !done
    };
#elif defined(BUG_BLIND_UNLOCK)
    /* BUG: the fast path releases whatever the state (a store of 0, parked bit lost). */
    d_step { assert(mstate & LOCKED); mstate = 0; done = true };
#else
    d_step {
        if
        :: mstate == LOCKED -> mstate = 0; done = true
        :: else -> done = false
        fi
    };
#endif
    if
    :: done || released[tid]
    :: else ->
        state = mstate;
        do
        :: assert(state & LOCKED);   /* pl_misuse: unlock of a lock that is not locked */
            if
            :: state & PARKED -> break
            :: else ->
                /* PARKED is clear (the last waiter timed out since the fast path saw it):
                 * a plain release. */
                d_step {
                    if
                    :: mstate == state -> mstate = state & ~LOCKED; done = true
                    :: else -> state = mstate
                    fi
                };
                if
                :: done -> break
                :: else
                fi
            fi
        od
    fi;
    if
    :: done
    :: else -> pl_unpark_one(tid, found, more, be_fair, token, i)
    fi;
    d_step { released[tid] = false; state = 0; done = false }
}

proctype locker(byte tid)
{
    byte n;                       /* rounds done */
    bool timed, expired, got, ok, done, more, be_fair;
    byte state, status, i, token;
    byte found = NOBODY;

#if ITERS == 0
    do
    :: true ->
#else
    do
    :: n < ITERS ->
#endif
        if
        :: (TIMED >> tid) & 1 -> timed = true
        :: true -> timed = false
        fi;
        mutex_lock(tid, timed, expired, got, state, status, ok, i);
        timed = false;
        if
        :: got ->
progress_locked:
            /* The critical section. */
            in_cs++;
            assert(in_cs == 1 && (mstate & LOCKED));
            in_cs--;
            got = false;
            mutex_unlock(tid, state, done, found, more, be_fair, token, i)
        :: else   /* timed out: not progress (see docs/model.md) */
        fi;
#if ITERS != 0
        n++
    :: else -> break
#endif
    od
}

/* Invariants checked in every reachable state: this process can step (and fail) exactly when
 * one is broken; otherwise it stays blocked, which is a valid end state. */
#ifndef NO_WATCH
active proctype watch()
{
    byte t;
end_watch:
    atomic {
        !((qlen == 0 || (mstate & PARKED)) &&
          LOT_QUEUE_OK(0) && LOT_QUEUE_OK(1)
#if NTHREADS > 2
          && LOT_QUEUE_OK(2)
#endif
         ) ->
        assert(qlen == 0 || (mstate & PARKED));
        t = 0;
        do
        :: t < NTHREADS -> assert(LOT_QUEUE_OK(t)); t++
        :: else -> break
        od
    }
}
#define WATCHERS 1
#else
#define WATCHERS 0
#endif

init
{
    byte t;
    atomic {
        t = 0;
        do
        :: t < NTHREADS -> run locker(t); t++
        :: else -> break
        od;
        t = 0
    }
    /* Every thread finished (bounded rounds only): the mutex is free and nobody is queued. */
    (_nr_pr == 1 + WATCHERS) ->
    assert((mstate & LOCKED) == 0 && qlen == 0 && bucket_owner == NOBODY)
}

#ifdef LIVENESS
/* No lost wake-up: a thread in the queue is eventually taken off it, by an unlock (woken) or by
 * its own time-out. */
ltl no_lost_wakeup {
    [] ((queued[0] -> <> !queued[0]) && (queued[1] -> <> !queued[1])
#if NTHREADS > 2
        && (queued[2] -> <> !queued[2])
#endif
       )
}
#endif
