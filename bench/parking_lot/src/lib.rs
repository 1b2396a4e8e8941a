//! pl-bench's Rust parking_lot contender: parking_lot 0.12's locks behind `extern "C"` functions,
//! built as a cdylib that pl-bench links like any C library (bench/adapt_parking_lot.c).
//!
//! The C side owns every lock's memory (stack, arrays of a million locks in mmap'ed pages,
//! 128-byte cells): it asks for the size and alignment here, places the lock, and passes its
//! address to each call.  So nothing is allocated on the Rust side, per lock or per operation:
//! the locks are parking_lot's own types written in place (`ptr::write` of their `INIT` / `new`),
//! used through shared references, as a Rust program uses a lock inside a struct.  Each C call is
//! one out-of-line call into this library, the way pl-bench reaches pthread, nsync and Abseil; a
//! Rust program would inline parking_lot's fast paths, so these numbers are those of parking_lot
//! reached from C, not of parking_lot in Rust.
//!
//! Every function is `unsafe`: the pointer must be to memory that the matching `*_init` wrote,
//! still live, and the caller must follow the lock's rules (unlock only what it holds).

use parking_lot::lock_api::{RawMutex as _, RawRwLock as _};
use parking_lot::{Condvar, Mutex, MutexGuard, Once, RawMutex, RawRwLock};
use parking_lot_core::{DEFAULT_PARK_TOKEN, DEFAULT_UNPARK_TOKEN};
use std::mem::{self, ManuallyDrop};
use std::ptr;
use std::sync::atomic::{AtomicU32, Ordering};

// ---- parking_lot::RawMutex (1 byte): the mutex workloads ----

#[no_mangle]
pub extern "C" fn pb_parking_lot_mutex_bytes() -> usize {
    mem::size_of::<RawMutex>()
}

#[no_mangle]
pub extern "C" fn pb_parking_lot_mutex_align() -> usize {
    mem::align_of::<RawMutex>()
}

/// Written even on zeroed memory: that parking_lot's unlocked state is all zero bytes is an
/// implementation detail, not a promise of its API.
#[no_mangle]
pub unsafe extern "C" fn pb_parking_lot_mutex_init(lock: *mut RawMutex) {
    ptr::write(lock, RawMutex::INIT);
}

#[no_mangle]
pub unsafe extern "C" fn pb_parking_lot_mutex_lock(lock: *const RawMutex) {
    (*lock).lock();
}

#[no_mangle]
pub unsafe extern "C" fn pb_parking_lot_mutex_unlock(lock: *const RawMutex) {
    (*lock).unlock();
}

/// For the check after a run that nobody left the mutex locked.
#[no_mangle]
pub unsafe extern "C" fn pb_parking_lot_mutex_is_locked(lock: *const RawMutex) -> bool {
    (*lock).is_locked()
}

// ---- parking_lot::RawRwLock (1 word): the rwlock workload ----

#[no_mangle]
pub extern "C" fn pb_parking_lot_rwlock_bytes() -> usize {
    mem::size_of::<RawRwLock>()
}

#[no_mangle]
pub extern "C" fn pb_parking_lot_rwlock_align() -> usize {
    mem::align_of::<RawRwLock>()
}

#[no_mangle]
pub unsafe extern "C" fn pb_parking_lot_rwlock_init(lock: *mut RawRwLock) {
    ptr::write(lock, RawRwLock::INIT);
}

#[no_mangle]
pub unsafe extern "C" fn pb_parking_lot_read_lock(lock: *const RawRwLock) {
    (*lock).lock_shared();
}

#[no_mangle]
pub unsafe extern "C" fn pb_parking_lot_read_unlock(lock: *const RawRwLock) {
    (*lock).unlock_shared();
}

#[no_mangle]
pub unsafe extern "C" fn pb_parking_lot_write_lock(lock: *const RawRwLock) {
    (*lock).lock_exclusive();
}

#[no_mangle]
pub unsafe extern "C" fn pb_parking_lot_write_unlock(lock: *const RawRwLock) {
    (*lock).unlock_exclusive();
}

/// Locked in any way (shared or exclusive): a try-lock, as lock_api defines it.
#[no_mangle]
pub unsafe extern "C" fn pb_parking_lot_rwlock_is_locked(lock: *const RawRwLock) -> bool {
    (*lock).is_locked()
}

// ---- parking_lot::Condvar with parking_lot::Mutex<()>: the condvar workloads ----
//
// Condvar::wait takes the MutexGuard of a parking_lot::Mutex, so the mutex here is a Mutex<()>
// (the RawMutex's byte and no data), not a bare RawMutex.  A guard cannot cross into C: lock
// forgets the guard it got, unlock releases with force_unlock, and wait makes a guard for the
// mutex the caller holds and forgets it again after the wait (which returns with the mutex
// locked, as the caller expects).

#[no_mangle]
pub extern "C" fn pb_parking_lot_cond_mutex_bytes() -> usize {
    mem::size_of::<Mutex<()>>()
}

#[no_mangle]
pub extern "C" fn pb_parking_lot_cond_mutex_align() -> usize {
    mem::align_of::<Mutex<()>>()
}

#[no_mangle]
pub unsafe extern "C" fn pb_parking_lot_cond_mutex_init(mutex: *mut Mutex<()>) {
    ptr::write(mutex, Mutex::new(()));
}

#[no_mangle]
pub unsafe extern "C" fn pb_parking_lot_cond_mutex_lock(mutex: *const Mutex<()>) {
    mem::forget((*mutex).lock());
}

#[no_mangle]
pub unsafe extern "C" fn pb_parking_lot_cond_mutex_unlock(mutex: *const Mutex<()>) {
    (*mutex).force_unlock();
}

#[no_mangle]
pub unsafe extern "C" fn pb_parking_lot_cond_mutex_is_locked(mutex: *const Mutex<()>) -> bool {
    (*mutex).is_locked()
}

/// The guard of a mutex that the calling thread holds, without locking it again.  lock_api 0.4.10
/// has Mutex::make_guard_unchecked for this; Debian 12 ships lock_api 0.4.9, where the guard's
/// constructor is private.  A MutexGuard is a reference to its Mutex plus zero-sized markers:
/// transmute only compiles when the two have the same size, and a guard as large as the
/// reference has the reference at offset 0, so the transmute builds exactly that guard.
unsafe fn held_guard(mutex: &Mutex<()>) -> ManuallyDrop<MutexGuard<'_, ()>> {
    ManuallyDrop::new(mem::transmute::<&Mutex<()>, MutexGuard<'_, ()>>(mutex))
}

#[no_mangle]
pub extern "C" fn pb_parking_lot_cond_bytes() -> usize {
    mem::size_of::<Condvar>()
}

#[no_mangle]
pub extern "C" fn pb_parking_lot_cond_align() -> usize {
    mem::align_of::<Condvar>()
}

#[no_mangle]
pub unsafe extern "C" fn pb_parking_lot_cond_init(cond: *mut Condvar) {
    ptr::write(cond, Condvar::new());
}

/// The caller holds `mutex`; returns holding it again.  The guard stays ManuallyDrop: dropping it
/// would unlock, and the C caller unlocks later through pb_parking_lot_cond_mutex_unlock.
#[no_mangle]
pub unsafe extern "C" fn pb_parking_lot_cond_wait(cond: *const Condvar, mutex: *const Mutex<()>) {
    let mut guard = held_guard(&*mutex);
    (*cond).wait(&mut guard);
}

#[no_mangle]
pub unsafe extern "C" fn pb_parking_lot_cond_notify_one(cond: *const Condvar) {
    (*cond).notify_one();
}

/// Returns how many threads it woke: with nobody waiting (the check before the condvar's memory
/// is reused), 0.  parking_lot's Condvar has no other way to ask whether anybody waits.
#[no_mangle]
pub unsafe extern "C" fn pb_parking_lot_cond_notify_all(cond: *const Condvar) -> usize {
    (*cond).notify_all()
}

// ---- parking_lot::Once (1 byte): the once workloads ----

#[no_mangle]
pub extern "C" fn pb_parking_lot_once_bytes() -> usize {
    mem::size_of::<Once>()
}

#[no_mangle]
pub unsafe extern "C" fn pb_parking_lot_once_init(once: *mut Once) {
    ptr::write(once, Once::new());
}

/// call_once with a C initialiser.  A done Once returns after call_once's inline check of its
/// byte, so the "done" workload measures that check plus this out-of-line call.
#[no_mangle]
pub unsafe extern "C" fn pb_parking_lot_once_call(once: *const Once, init: extern "C" fn()) {
    (*once).call_once(|| init());
}

// ---- wait-on-address: parking_lot_core::park / unpark_one on a 32-bit word ----
//
// The same protocol as pl_wait / pl_wake_one: park checks, under the lock of the parking lot's
// bucket for this address, that the word still holds `expected`; the waker stores the new value
// before it takes that bucket lock to unpark.  So either the waiter sees the new value and does
// not sleep, or it is queued before the waker looks: no wake-up is lost.

#[no_mangle]
pub unsafe extern "C" fn pb_parking_lot_wait_while(word: *const AtomicU32, expected: u32) -> u32 {
    let word = &*word;
    loop {
        let v = word.load(Ordering::Acquire);
        if v != expected {
            return v;
        }
        parking_lot_core::park(
            word as *const AtomicU32 as usize,
            || word.load(Ordering::Relaxed) == expected,
            || {},
            |_, _| {},
            DEFAULT_PARK_TOKEN,
            None,
        );
    }
}

#[no_mangle]
pub unsafe extern "C" fn pb_parking_lot_set_and_wake(word: *const AtomicU32, value: u32) {
    let word = &*word;
    word.store(value, Ordering::Release);
    parking_lot_core::unpark_one(word as *const AtomicU32 as usize, |_| DEFAULT_UNPARK_TOKEN);
}
