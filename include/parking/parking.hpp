/* libparking for C++17: the locks as standard-library-shaped classes, header-only, over the C
 * API of <parking/parking.h> (the fast paths stay inline: each member function is the C inline
 * function it calls).
 *
 *   pl::mutex               1 byte   Lockable, TimedLockable           (pl_mutex_t)
 *   pl::recursive_mutex     16 bytes Lockable, TimedLockable           (pl_remutex_t)
 *   pl::shared_mutex        8 bytes  SharedTimedLockable, + upgradable  (pl_rwlock_t)
 *   pl::condition_variable  8 bytes  over std::unique_lock<pl::mutex>   (pl_cond_t, requeues)
 *   pl::once_flag           1 byte   with pl::call_once                 (pl_once_t)
 *   pl::bit_lock<T>         a view of two bits of a caller's integer    (pl_bitlock*_*)
 *   pl::ptr_lock<T>         8 bytes  a pointer that is its own lock     (pl_ptrlock_t)
 *   pl::condition_variable_any  1 word  waits under a shared_mutex read or write hold, a
 *                           recursive_mutex or any BasicLockable (pl_cond_t, cond_any.h)
 *   pl::event               4 bytes  manual-reset event                 (pl_event_t)
 *   pl::counting_semaphore<N>, pl::binary_semaphore  4 bytes, C++20's   (pl_sem_t)
 *   pl::latch               4 bytes  C++20's std::latch                 (pl_latch_t)
 *   pl::barrier<F>          8 bytes  C++20's std::barrier (+ F if not empty) (pl_barrier_t)
 *   pl::lock_guard, pl::shared_lock_guard, pl::upgradable_lock: RAII guards that Clang's
 *   thread-safety analysis understands (the std:: guards work too, unchecked).
 *
 * Every type is constexpr-constructible (a static one is constant-initialised: no static
 * initialisation order problem), neither copyable nor movable, and noexcept wherever the C call
 * cannot fail; misuse aborts with the C library's message, as in C.  Timed functions take
 * std::chrono durations and time points of any clock: pl_now() is CLOCK_MONOTONIC on Linux (the
 * clock of std::chrono::steady_clock) and QueryPerformanceCounter on Windows.  A deadline of
 * another clock (system_clock) is turned into a timeout when the wait starts, and a lock
 * attempt that times out while that clock says the deadline is still ahead (the clock was set
 * back) tries again, as the standard asks.  Guide: docs/cxx.md.
 */
#ifndef PARKING_PARKING_HPP
#define PARKING_PARKING_HPP

#include <parking/parking.h>
#include <parking/thread_safety.h>

#include <chrono>
#include <condition_variable> // std::cv_status
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <shared_mutex> // std::shared_lock
#include <tuple>
#include <type_traits>
#include <utility>

namespace pl
{

namespace detail
{

/* A duration as the C API's timeout: nanoseconds, rounded up (never wake early), 0 for a
 * negative one, UINT64_MAX (wait forever) for one too long to count. */
template <class Rep, class Period>
inline std::uint64_t timeout_ns(const std::chrono::duration<Rep, Period> &d) noexcept
{
    const long double ns =
        std::chrono::duration_cast<std::chrono::duration<long double, std::nano>>(d).count();
    if (!(ns > 0.0L))
        return 0;
    if (ns >= 18446744073709551615.0L)
        return UINT64_MAX;
    const std::uint64_t whole = static_cast<std::uint64_t>(ns);
    return static_cast<long double>(whole) < ns ? whole + 1 : whole;
}

/* try_lock_until on any clock: `attempt(timeout_ns)` until it succeeds or `Clock` says the
 * deadline has passed (a deadline already past still tries once). */
template <class Clock, class Duration, class Attempt>
inline bool until(const std::chrono::time_point<Clock, Duration> &deadline, Attempt attempt)
{
    for (;;) {
        const auto now = Clock::now();
        if (attempt(now < deadline ? timeout_ns(deadline - now) : 0))
            return true;
        if (!(Clock::now() < deadline))
            return false;
    }
}

} // namespace detail

/* ---- pl::mutex ---- */

/** A one-byte mutex (pl_mutex_t): Lockable and TimedLockable. */
class PL_CAPABILITY("mutex") mutex
{
  public:
    constexpr mutex() noexcept : m_{} {}
    mutex(const mutex &) = delete;
    mutex &operator=(const mutex &) = delete;

    void lock() noexcept PL_ACQUIRE() PL_NO_THREAD_SAFETY_ANALYSIS { pl_mutex_lock(&m_); }
    bool try_lock() noexcept PL_TRY_ACQUIRE(true) PL_NO_THREAD_SAFETY_ANALYSIS
    {
        return pl_mutex_trylock(&m_);
    }
    template <class Rep, class Period>
    bool try_lock_for(const std::chrono::duration<Rep, Period> &timeout) noexcept
        PL_TRY_ACQUIRE(true) PL_NO_THREAD_SAFETY_ANALYSIS
    {
        return pl_mutex_lock_for(&m_, detail::timeout_ns(timeout));
    }
    template <class Clock, class Duration>
    bool try_lock_until(const std::chrono::time_point<Clock, Duration> &deadline)
        PL_TRY_ACQUIRE(true) PL_NO_THREAD_SAFETY_ANALYSIS
    {
        return detail::until(deadline,
                             [this](std::uint64_t ns) { return pl_mutex_lock_for(&m_, ns); });
    }
    /** Aborts if the mutex is not locked (an unlock by a non-owner is not detected). */
    void unlock() noexcept PL_RELEASE() PL_NO_THREAD_SAFETY_ANALYSIS { pl_mutex_unlock(&m_); }
    /** Hands the mutex to the oldest waiter (FIFO), if any. */
    void unlock_fair() noexcept PL_RELEASE() PL_NO_THREAD_SAFETY_ANALYSIS
    {
        pl_mutex_unlock_fair(&m_);
    }
    /** pl_mutex_assert_held: exact in debug mode, "locked by someone" otherwise. */
    void assert_held() const noexcept PL_ASSERT_CAPABILITY(this) PL_NO_THREAD_SAFETY_ANALYSIS
    {
        pl_mutex_assert_held(&m_);
    }
    bool is_locked() const noexcept { return pl_mutex_is_locked(&m_); }
    pl_mutex_t *native_handle() noexcept { return &m_; }

  private:
    pl_mutex_t m_;
};

/* ---- pl::recursive_mutex ---- */

/** A reentrant mutex (pl_remutex_t): Lockable and TimedLockable.  Clang's analysis does not
 * model reentrancy: lock it once per function, or turn the analysis off there. */
class PL_CAPABILITY("mutex") recursive_mutex
{
  public:
    constexpr recursive_mutex() noexcept : m_{} {}
    recursive_mutex(const recursive_mutex &) = delete;
    recursive_mutex &operator=(const recursive_mutex &) = delete;

    void lock() noexcept PL_ACQUIRE() PL_NO_THREAD_SAFETY_ANALYSIS { pl_remutex_lock(&m_); }
    bool try_lock() noexcept PL_TRY_ACQUIRE(true) PL_NO_THREAD_SAFETY_ANALYSIS
    {
        return pl_remutex_trylock(&m_);
    }
    template <class Rep, class Period>
    bool try_lock_for(const std::chrono::duration<Rep, Period> &timeout) noexcept
        PL_TRY_ACQUIRE(true) PL_NO_THREAD_SAFETY_ANALYSIS
    {
        return pl_remutex_lock_for(&m_, detail::timeout_ns(timeout));
    }
    template <class Clock, class Duration>
    bool try_lock_until(const std::chrono::time_point<Clock, Duration> &deadline)
        PL_TRY_ACQUIRE(true) PL_NO_THREAD_SAFETY_ANALYSIS
    {
        return detail::until(deadline,
                             [this](std::uint64_t ns) { return pl_remutex_lock_for(&m_, ns); });
    }
    /** Aborts unless the calling thread holds the mutex. */
    void unlock() noexcept PL_RELEASE() PL_NO_THREAD_SAFETY_ANALYSIS { pl_remutex_unlock(&m_); }
    void unlock_fair() noexcept PL_RELEASE() PL_NO_THREAD_SAFETY_ANALYSIS
    {
        pl_remutex_unlock_fair(&m_);
    }
    /** pl_remutex_assert_held: exact in every build. */
    void assert_held() const noexcept PL_ASSERT_CAPABILITY(this) PL_NO_THREAD_SAFETY_ANALYSIS
    {
        pl_remutex_assert_held(&m_);
    }
    /** Whether the calling thread holds it (exact). */
    bool is_held() const noexcept { return pl_remutex_is_held(&m_); }
    bool is_locked() const noexcept { return pl_remutex_is_locked(&m_); }
    pl_remutex_t *native_handle() noexcept { return &m_; }

  private:
    pl_remutex_t m_;
};

/* ---- pl::shared_mutex ---- */

/** A one-word read-write lock (pl_rwlock_t): SharedTimedLockable, plus the upgradable mode (one
 * holder at a time, beside readers, that can become the writer without letting go: see
 * pl::upgradable_lock).  For Clang's analysis the upgradable hold is a shared one. */
class PL_CAPABILITY("mutex") shared_mutex
{
  public:
    constexpr shared_mutex() noexcept : l_{} {}
    shared_mutex(const shared_mutex &) = delete;
    shared_mutex &operator=(const shared_mutex &) = delete;

    /* Exclusive. */
    void lock() noexcept PL_ACQUIRE() PL_NO_THREAD_SAFETY_ANALYSIS { pl_rwlock_wrlock(&l_); }
    bool try_lock() noexcept PL_TRY_ACQUIRE(true) PL_NO_THREAD_SAFETY_ANALYSIS
    {
        return pl_rwlock_trywrlock(&l_);
    }
    template <class Rep, class Period>
    bool try_lock_for(const std::chrono::duration<Rep, Period> &timeout) noexcept
        PL_TRY_ACQUIRE(true) PL_NO_THREAD_SAFETY_ANALYSIS
    {
        return pl_rwlock_wrlock_for(&l_, detail::timeout_ns(timeout));
    }
    template <class Clock, class Duration>
    bool try_lock_until(const std::chrono::time_point<Clock, Duration> &deadline)
        PL_TRY_ACQUIRE(true) PL_NO_THREAD_SAFETY_ANALYSIS
    {
        return detail::until(deadline,
                             [this](std::uint64_t ns) { return pl_rwlock_wrlock_for(&l_, ns); });
    }
    void unlock() noexcept PL_RELEASE() PL_NO_THREAD_SAFETY_ANALYSIS { pl_rwlock_wrunlock(&l_); }
    void unlock_fair() noexcept PL_RELEASE() PL_NO_THREAD_SAFETY_ANALYSIS
    {
        pl_rwlock_wrunlock_fair(&l_);
    }

    /* Shared. */
    void lock_shared() noexcept PL_ACQUIRE_SHARED() PL_NO_THREAD_SAFETY_ANALYSIS
    {
        pl_rwlock_rdlock(&l_);
    }
    bool try_lock_shared() noexcept PL_TRY_ACQUIRE_SHARED(true) PL_NO_THREAD_SAFETY_ANALYSIS
    {
        return pl_rwlock_tryrdlock(&l_);
    }
    template <class Rep, class Period>
    bool try_lock_shared_for(const std::chrono::duration<Rep, Period> &timeout) noexcept
        PL_TRY_ACQUIRE_SHARED(true) PL_NO_THREAD_SAFETY_ANALYSIS
    {
        return pl_rwlock_rdlock_for(&l_, detail::timeout_ns(timeout));
    }
    template <class Clock, class Duration>
    bool try_lock_shared_until(const std::chrono::time_point<Clock, Duration> &deadline)
        PL_TRY_ACQUIRE_SHARED(true) PL_NO_THREAD_SAFETY_ANALYSIS
    {
        return detail::until(deadline,
                             [this](std::uint64_t ns) { return pl_rwlock_rdlock_for(&l_, ns); });
    }
    void unlock_shared() noexcept PL_RELEASE_SHARED() PL_NO_THREAD_SAFETY_ANALYSIS
    {
        pl_rwlock_rdunlock(&l_);
    }

    /* Upgradable: a shared hold that excludes other upgradable holders and writers. */
    void lock_upgradable() noexcept PL_ACQUIRE_SHARED() PL_NO_THREAD_SAFETY_ANALYSIS
    {
        pl_rwlock_uplock(&l_);
    }
    bool try_lock_upgradable() noexcept PL_TRY_ACQUIRE_SHARED(true) PL_NO_THREAD_SAFETY_ANALYSIS
    {
        return pl_rwlock_tryuplock(&l_);
    }
    template <class Rep, class Period>
    bool try_lock_upgradable_for(const std::chrono::duration<Rep, Period> &timeout) noexcept
        PL_TRY_ACQUIRE_SHARED(true) PL_NO_THREAD_SAFETY_ANALYSIS
    {
        return pl_rwlock_uplock_for(&l_, detail::timeout_ns(timeout));
    }
    void unlock_upgradable() noexcept PL_RELEASE_SHARED() PL_NO_THREAD_SAFETY_ANALYSIS
    {
        pl_rwlock_upunlock(&l_);
    }
    /** Upgradable -> exclusive: waits for the readers to leave (no writer can come between). */
    void upgrade() noexcept PL_RELEASE_SHARED() PL_ACQUIRE() PL_NO_THREAD_SAFETY_ANALYSIS
    {
        pl_rwlock_upgrade(&l_);
    }
    /** Upgradable -> exclusive if no other reader is inside; false: still upgradable.  Not
     * annotated (the analysis cannot say "one mode or the other"). */
    bool try_upgrade() noexcept { return pl_rwlock_tryupgrade(&l_); }
    template <class Rep, class Period>
    bool try_upgrade_for(const std::chrono::duration<Rep, Period> &timeout) noexcept
    {
        return pl_rwlock_upgrade_for(&l_, detail::timeout_ns(timeout));
    }
    /** Exclusive -> shared, atomically. */
    void downgrade() noexcept PL_RELEASE() PL_ACQUIRE_SHARED() PL_NO_THREAD_SAFETY_ANALYSIS
    {
        pl_rwlock_downgrade(&l_);
    }
    /** Exclusive -> upgradable, atomically. */
    void downgrade_to_upgradable() noexcept PL_RELEASE()
        PL_ACQUIRE_SHARED() PL_NO_THREAD_SAFETY_ANALYSIS
    {
        pl_rwlock_downgrade_to_upgradable(&l_);
    }
    /** Upgradable -> plain shared. */
    void downgrade_upgradable() noexcept { pl_rwlock_downgrade_upgradable(&l_); }

    /** pl_rwlock_assert_held (the write lock): exact in debug mode, "write-locked by someone"
     * otherwise. */
    void assert_held() const noexcept PL_ASSERT_CAPABILITY(this) PL_NO_THREAD_SAFETY_ANALYSIS
    {
        pl_rwlock_assert_held(&l_);
    }
    /** pl_rwlock_assert_shared_held (any mode): exact in debug mode, "locked" otherwise. */
    void assert_shared_held() const noexcept
        PL_ASSERT_SHARED_CAPABILITY(this) PL_NO_THREAD_SAFETY_ANALYSIS
    {
        pl_rwlock_assert_shared_held(&l_);
    }
    bool is_locked() const noexcept { return pl_rwlock_is_locked(&l_); }
    bool is_write_locked() const noexcept { return pl_rwlock_is_write_locked(&l_); }
    pl_rwlock_t *native_handle() noexcept { return &l_; }

  private:
    pl_rwlock_t l_;
};

/* ---- Guards that Clang's thread-safety analysis understands ---- */

/** std::lock_guard for the analysis: exclusive for the guard's scope. */
template <class Mutex> class PL_SCOPED_CAPABILITY lock_guard
{
  public:
    explicit lock_guard(Mutex &m) noexcept PL_ACQUIRE(m) : m_(m) { m_.lock(); }
    ~lock_guard() PL_RELEASE() { m_.unlock(); }
    lock_guard(const lock_guard &) = delete;
    lock_guard &operator=(const lock_guard &) = delete;

  private:
    Mutex &m_;
};

/** Shared for the guard's scope (std::shared_lock without its extras). */
template <class Mutex> class PL_SCOPED_CAPABILITY shared_lock_guard
{
  public:
    explicit shared_lock_guard(Mutex &m) noexcept PL_ACQUIRE_SHARED(m) : m_(m) { m_.lock_shared(); }
    ~shared_lock_guard() PL_RELEASE() { m_.unlock_shared(); }
    shared_lock_guard(const shared_lock_guard &) = delete;
    shared_lock_guard &operator=(const shared_lock_guard &) = delete;

  private:
    Mutex &m_;
};

/** The upgradable hold of a pl::shared_mutex for the guard's scope; upgrade() makes it the
 * write lock (and downgrade() the upgradable hold again); the destructor releases whichever it
 * holds.  For the analysis the guard holds the lock shared; an upgraded section that writes
 * guarded data can say so with the mutex's assert_held(). */
class PL_SCOPED_CAPABILITY upgradable_lock
{
  public:
    explicit upgradable_lock(shared_mutex &m) noexcept PL_ACQUIRE_SHARED(m) : m_(m)
    {
        m_.lock_upgradable();
    }
    ~upgradable_lock() PL_RELEASE() PL_NO_THREAD_SAFETY_ANALYSIS
    {
        if (upgraded_)
            m_.unlock();
        else
            m_.unlock_upgradable();
    }
    upgradable_lock(const upgradable_lock &) = delete;
    upgradable_lock &operator=(const upgradable_lock &) = delete;

    void upgrade() noexcept PL_NO_THREAD_SAFETY_ANALYSIS
    {
        m_.upgrade();
        upgraded_ = true;
    }
    bool try_upgrade() noexcept
    {
        upgraded_ = m_.try_upgrade();
        return upgraded_;
    }
    void downgrade() noexcept PL_NO_THREAD_SAFETY_ANALYSIS
    {
        m_.downgrade_to_upgradable();
        upgraded_ = false;
    }
    bool upgraded() const noexcept { return upgraded_; }
    shared_mutex &mutex() const noexcept PL_RETURN_CAPABILITY(m_) { return m_; }

  private:
    shared_mutex &m_;
    bool upgraded_ = false;
};

/* ---- pl::condition_variable ---- */

/** A one-word condition variable (pl_cond_t) for pl::mutex, with std::condition_variable's
 * interface over std::unique_lock<pl::mutex>.  notify_one() with the mutex held moves the
 * waiter onto the mutex's queue instead of waking it (no wake-to-block); notify_all() moves
 * the waiters there rather than waking the herd (pl_cond_broadcast).  Spurious wake-ups are possible, as with the standard one.
 * Waits on a pl::mutex& directly (PL_REQUIRES) are for code checked by Clang's analysis. */
class condition_variable
{
  public:
    constexpr condition_variable() noexcept : c_{} {}
    condition_variable(const condition_variable &) = delete;
    condition_variable &operator=(const condition_variable &) = delete;

    void notify_one() noexcept { (void)pl_cond_signal(&c_); }
    void notify_all() noexcept { (void)pl_cond_broadcast(&c_); }

    /** Aborts if the lock's mutex is not locked. */
    void wait(std::unique_lock<mutex> &lock) noexcept PL_NO_THREAD_SAFETY_ANALYSIS
    {
        wait(*lock.mutex());
    }
    template <class Predicate> void wait(std::unique_lock<mutex> &lock, Predicate stop_waiting)
    {
        while (!stop_waiting())
            wait(lock);
    }
    template <class Rep, class Period>
    std::cv_status wait_for(std::unique_lock<mutex> &lock,
                            const std::chrono::duration<Rep, Period> &timeout) noexcept
        PL_NO_THREAD_SAFETY_ANALYSIS
    {
        return wait_for(*lock.mutex(), timeout);
    }
    template <class Rep, class Period, class Predicate>
    bool wait_for(std::unique_lock<mutex> &lock, const std::chrono::duration<Rep, Period> &timeout,
                  Predicate stop_waiting)
    {
        return wait_until(lock, std::chrono::steady_clock::now() + timeout,
                          std::move(stop_waiting));
    }
    template <class Clock, class Duration>
    std::cv_status wait_until(std::unique_lock<mutex> &lock,
                              const std::chrono::time_point<Clock, Duration> &deadline)
        PL_NO_THREAD_SAFETY_ANALYSIS
    {
        return wait_until(*lock.mutex(), deadline);
    }
    template <class Clock, class Duration, class Predicate>
    bool wait_until(std::unique_lock<mutex> &lock,
                    const std::chrono::time_point<Clock, Duration> &deadline,
                    Predicate stop_waiting)
    {
        while (!stop_waiting())
            if (wait_until(lock, deadline) == std::cv_status::timeout)
                return stop_waiting();
        return true;
    }

    /* The same on the mutex itself, for Clang's analysis. */
    void wait(mutex &m) noexcept PL_REQUIRES(m) PL_NO_THREAD_SAFETY_ANALYSIS
    {
        pl_cond_wait(&c_, m.native_handle());
    }
    template <class Rep, class Period>
    std::cv_status wait_for(mutex &m, const std::chrono::duration<Rep, Period> &timeout) noexcept
        PL_REQUIRES(m) PL_NO_THREAD_SAFETY_ANALYSIS
    {
        return pl_cond_wait_for(&c_, m.native_handle(), detail::timeout_ns(timeout))
                   ? std::cv_status::no_timeout
                   : std::cv_status::timeout;
    }
    template <class Clock, class Duration>
    std::cv_status wait_until(mutex &m, const std::chrono::time_point<Clock, Duration> &deadline)
        PL_REQUIRES(m) PL_NO_THREAD_SAFETY_ANALYSIS
    {
        const auto now = Clock::now();
        (void)pl_cond_wait_for(&c_, m.native_handle(),
                               now < deadline ? detail::timeout_ns(deadline - now) : 0);
        /* A timeout of pl_now() while Clock says the deadline is still ahead is a spurious
         * wake-up, which the caller's loop handles. */
        return Clock::now() < deadline ? std::cv_status::no_timeout : std::cv_status::timeout;
    }

    pl_cond_t *native_handle() noexcept { return &c_; }

  private:
    pl_cond_t c_;
};

/* ---- pl::once_flag, pl::call_once ---- */

/** One-byte once flag (pl_once_t). */
class once_flag
{
  public:
    constexpr once_flag() noexcept : o_{} {}
    once_flag(const once_flag &) = delete;
    once_flag &operator=(const once_flag &) = delete;
    bool is_done() const noexcept { return pl_once_is_done(&o_); }

  private:
    template <class F, class... Args> friend void call_once(once_flag &, F &&, Args &&...);
    pl_once_t o_;
};

/** std::call_once on a pl::once_flag: calls f(args...) unless a call has already returned
 * normally.  If f throws, the flag stays not done, the exception reaches this caller, and the
 * next caller (one that waits, or a later one) runs its own f, as with std::call_once.  When done:
 * one acquire load and a branch. */
template <class F, class... Args> void call_once(once_flag &flag, F &&f, Args &&...args)
{
    if (PARKING_LIKELY(pl_once_is_done(&flag.o_)))
        return;
    struct context {
        F &f;
        std::tuple<Args &&...> args;
        std::exception_ptr error;
    } ctx{f, std::forward_as_tuple(std::forward<Args>(args)...), nullptr};
    /* The C library calls this; an exception must not unwind through it. */
    bool (*run)(void *) = [](void *p) noexcept -> bool {
        context &c = *static_cast<context *>(p);
#if defined(__cpp_exceptions) || defined(__EXCEPTIONS)
        try {
            std::apply(std::forward<F>(c.f), std::move(c.args));
        } catch (...) {
            c.error = std::current_exception();
            return false;
        }
#else
        std::apply(std::forward<F>(c.f), std::move(c.args));
#endif
        return true;
    };
    if (!pl_call_once_try(&flag.o_, run, &ctx) && ctx.error)
        std::rethrow_exception(ctx.error);
}

/* ---- Bit locks and the pointer lock ---- */

namespace detail
{
template <std::size_t Size> struct bitlock_ops;
#define PL__BITLOCK_OPS(S, T)                                                                      \
  template <> struct bitlock_ops<sizeof(T)> {                                                      \
    using word = T;                                                                                \
    static void lock(T *w, T l, T p) noexcept { pl_bitlock##S##_lock(w, l, p); }                   \
    static bool trylock(T *w, T l, T p) noexcept { return pl_bitlock##S##_trylock(w, l, p); }      \
    static bool lock_for(T *w, T l, T p, std::uint64_t ns) noexcept                                \
    {                                                                                              \
      return pl_bitlock##S##_lock_for(w, l, p, ns);                                                \
    }                                                                                              \
    static void unlock(T *w, T l, T p) noexcept { pl_bitlock##S##_unlock(w, l, p); }               \
    static void unlock_fair(T *w, T l, T p) noexcept { pl_bitlock##S##_unlock_fair(w, l, p); }     \
    static bool is_locked(const T *w, T l, T p) noexcept                                           \
    {                                                                                              \
      return pl_bitlock##S##_is_locked(w, l, p);                                                   \
    }                                                                                              \
    static T load(const T *w, T l, T p) noexcept { return pl_bitlock##S##_load(w, l, p); }         \
    static T update(T *w, T l, T p, T clear, T set) noexcept                                       \
    {                                                                                              \
      return pl_bitlock##S##_update(w, l, p, clear, set);                                          \
    }                                                                                              \
  };
PL__BITLOCK_OPS(8, std::uint8_t)
PL__BITLOCK_OPS(16, std::uint16_t)
PL__BITLOCK_OPS(32, std::uint32_t)
PL__BITLOCK_OPS(64, std::uint64_t)
#undef PL__BITLOCK_OPS
} // namespace detail

/** A lock in two bits (lock_bit and parked_bit, one bit each) of an unsigned integer the caller
 * owns (std::uint8_t to std::uint64_t, or std::uintptr_t): a view, which holds the word's
 * address and the bits; the other bits stay the caller's (load() and update()).  Lockable and
 * TimedLockable.  For Clang's analysis the capability is this view object: guard data with the
 * view you lock through (PL_GUARDED_BY(view)). */
template <class T> class PL_CAPABILITY("mutex") bit_lock
{
    using ops = detail::bitlock_ops<sizeof(T)>;
    static_assert(std::is_same<T, typename ops::word>::value,
                  "pl::bit_lock<T>: T is std::uint8_t, uint16_t, uint32_t, uint64_t or uintptr_t");

  public:
    constexpr bit_lock(T &word, T lock_bit, T parked_bit) noexcept
        : w_(&word), l_(lock_bit), p_(parked_bit)
    {
    }
    bit_lock(const bit_lock &) = delete;
    bit_lock &operator=(const bit_lock &) = delete;

    void lock() noexcept PL_ACQUIRE() PL_NO_THREAD_SAFETY_ANALYSIS { ops::lock(w_, l_, p_); }
    bool try_lock() noexcept PL_TRY_ACQUIRE(true) PL_NO_THREAD_SAFETY_ANALYSIS
    {
        return ops::trylock(w_, l_, p_);
    }
    template <class Rep, class Period>
    bool try_lock_for(const std::chrono::duration<Rep, Period> &timeout) noexcept
        PL_TRY_ACQUIRE(true) PL_NO_THREAD_SAFETY_ANALYSIS
    {
        return ops::lock_for(w_, l_, p_, detail::timeout_ns(timeout));
    }
    template <class Clock, class Duration>
    bool try_lock_until(const std::chrono::time_point<Clock, Duration> &deadline)
        PL_TRY_ACQUIRE(true) PL_NO_THREAD_SAFETY_ANALYSIS
    {
        return detail::until(deadline,
                             [this](std::uint64_t ns) { return ops::lock_for(w_, l_, p_, ns); });
    }
    void unlock() noexcept PL_RELEASE() PL_NO_THREAD_SAFETY_ANALYSIS { ops::unlock(w_, l_, p_); }
    void unlock_fair() noexcept PL_RELEASE() PL_NO_THREAD_SAFETY_ANALYSIS
    {
        ops::unlock_fair(w_, l_, p_);
    }
    bool is_locked() const noexcept { return ops::is_locked(w_, l_, p_); }
    /** The word without the two lock bits (acquire load). */
    T load() const noexcept { return ops::load(w_, l_, p_); }
    /** Clears then sets other bits of the word atomically; returns the new value without the
     * lock bits. */
    T update(T clear_mask, T set_mask) noexcept
    {
        return ops::update(w_, l_, p_, clear_mask, set_mask);
    }

  private:
    T *w_;
    T l_, p_;
};

/** A pointer that is its own lock (pl_ptrlock_t, one word): get() at any time, set() with the
 * lock held.  T must be at least 4-byte aligned. */
template <class T> class PL_CAPABILITY("mutex") ptr_lock
{
  public:
    constexpr ptr_lock() noexcept : p_{} {}
    ptr_lock(const ptr_lock &) = delete;
    ptr_lock &operator=(const ptr_lock &) = delete;

    void lock() noexcept PL_ACQUIRE() PL_NO_THREAD_SAFETY_ANALYSIS { pl_ptrlock_lock(&p_); }
    bool try_lock() noexcept PL_TRY_ACQUIRE(true) PL_NO_THREAD_SAFETY_ANALYSIS
    {
        return pl_ptrlock_trylock(&p_);
    }
    template <class Rep, class Period>
    bool try_lock_for(const std::chrono::duration<Rep, Period> &timeout) noexcept
        PL_TRY_ACQUIRE(true) PL_NO_THREAD_SAFETY_ANALYSIS
    {
        return pl_ptrlock_lock_for(&p_, detail::timeout_ns(timeout));
    }
    template <class Clock, class Duration>
    bool try_lock_until(const std::chrono::time_point<Clock, Duration> &deadline)
        PL_TRY_ACQUIRE(true) PL_NO_THREAD_SAFETY_ANALYSIS
    {
        return detail::until(deadline,
                             [this](std::uint64_t ns) { return pl_ptrlock_lock_for(&p_, ns); });
    }
    void unlock() noexcept PL_RELEASE() PL_NO_THREAD_SAFETY_ANALYSIS { pl_ptrlock_unlock(&p_); }
    void unlock_fair() noexcept PL_RELEASE() PL_NO_THREAD_SAFETY_ANALYSIS
    {
        pl_ptrlock_unlock_fair(&p_);
    }
    bool is_locked() const noexcept { return pl_ptrlock_is_locked(&p_); }
    T *get() const noexcept { return static_cast<T *>(pl_ptrlock_get(&p_)); }
    /** Aborts if the lock is not held or @p ptr is not 4-byte aligned. */
    void set(T *ptr) noexcept PL_REQUIRES(this) PL_NO_THREAD_SAFETY_ANALYSIS
    {
        pl_ptrlock_set(&p_, const_cast<void *>(static_cast<const void *>(ptr)));
    }

  private:
    pl_ptrlock_t p_;
};

/* ---- pl::event ---- */

/** A one-word manual-reset event (pl_event_t): set() releases every waiter, now and later,
 * until reset().  Not a lock: no capability for Clang's analysis. */
class event
{
  public:
    constexpr event() noexcept : e_{} {}
    /** Starts set if @p initially_set. */
    constexpr explicit event(bool initially_set) noexcept
        : e_{initially_set ? PL_EVENT_SET_BIT : 0u}
    {
    }
    event(const event &) = delete;
    event &operator=(const event &) = delete;

    void set() noexcept { pl_event_set(&e_); }
    /** @return whether it was set. */
    bool reset() noexcept { return pl_event_reset(&e_); }
    bool is_set() const noexcept { return pl_event_is_set(&e_); }
    void wait() noexcept { pl_event_wait(&e_); }
    /** @return true if set, false on time-out. */
    template <class Rep, class Period>
    bool wait_for(const std::chrono::duration<Rep, Period> &timeout) noexcept
    {
        return pl_event_wait_for(&e_, detail::timeout_ns(timeout));
    }
    template <class Clock, class Duration>
    bool wait_until(const std::chrono::time_point<Clock, Duration> &deadline)
    {
        return detail::until(deadline,
                             [this](std::uint64_t ns) { return pl_event_wait_for(&e_, ns); });
    }
    pl_event_t *native_handle() noexcept { return &e_; }

  private:
    pl_event_t e_;
};

/* ---- pl::counting_semaphore, pl::binary_semaphore ---- */

namespace detail
{
constexpr std::ptrdiff_t sem_value_max = PL_SEM_VALUE_MAX;
constexpr std::ptrdiff_t latch_max = PL_LATCH_MAX;
constexpr std::ptrdiff_t barrier_max = PL_BARRIER_MAX;
} // namespace detail

/** std::counting_semaphore over a one-word pl_sem_t.  Every instance holds up to
 * PL_SEM_VALUE_MAX permits whatever LeastMaxValue says (max() tells).  A release() past max()
 * breaks the standard's precondition: it terminates rather than lose permits.  Not a lock: no
 * capability for Clang's analysis (a permit has no owner; docs/cxx.md). */
template <std::ptrdiff_t LeastMaxValue = PL_SEM_VALUE_MAX> class counting_semaphore
{
    static_assert(LeastMaxValue >= 0 && LeastMaxValue <= detail::sem_value_max,
                  "pl::counting_semaphore: LeastMaxValue from 0 to PL_SEM_VALUE_MAX");

  public:
    static constexpr std::ptrdiff_t max() noexcept { return detail::sem_value_max; }
    /** @p desired permits, 0 to max(). */
    constexpr explicit counting_semaphore(std::ptrdiff_t desired) noexcept
        : s_{static_cast<std::uint32_t>(desired) << 1}
    {
    }
    counting_semaphore(const counting_semaphore &) = delete;
    counting_semaphore &operator=(const counting_semaphore &) = delete;

    /** @p update permits, as that many posts (each wakes a waiter if one sleeps). */
    void release(std::ptrdiff_t update = 1) noexcept
    {
        for (; update > 0; update--)
            if (pl_sem_post(&s_) != 0)
                std::terminate(); // EOVERFLOW: more than max() permits
    }
    void acquire() noexcept { pl_sem_wait(&s_); }
    bool try_acquire() noexcept { return pl_sem_trywait(&s_); }
    template <class Rep, class Period>
    bool try_acquire_for(const std::chrono::duration<Rep, Period> &timeout) noexcept
    {
        return pl_sem_wait_for(&s_, detail::timeout_ns(timeout));
    }
    template <class Clock, class Duration>
    bool try_acquire_until(const std::chrono::time_point<Clock, Duration> &deadline)
    {
        return detail::until(deadline,
                             [this](std::uint64_t ns) { return pl_sem_wait_for(&s_, ns); });
    }
    /** The permits now (a snapshot). */
    std::ptrdiff_t value() const noexcept { return pl_sem_value(&s_); }
    pl_sem_t *native_handle() noexcept { return &s_; }

  private:
    pl_sem_t s_;
};

using binary_semaphore = counting_semaphore<1>;

/* ---- pl::latch ---- */

/** std::latch over a one-word pl_latch_t: count_down() below zero aborts with the C library's
 * message.  Timed waits beside the standard's.  Not a lock: no capability. */
class latch
{
  public:
    static constexpr std::ptrdiff_t max() noexcept { return detail::latch_max; }
    /** @p expected, 0 to max(). */
    constexpr explicit latch(std::ptrdiff_t expected) noexcept
        : l_{static_cast<std::uint32_t>(expected) << 1}
    {
    }
    latch(const latch &) = delete;
    latch &operator=(const latch &) = delete;

    void count_down(std::ptrdiff_t n = 1) noexcept
    {
        pl_latch_count_down(&l_, static_cast<std::uint32_t>(n));
    }
    bool try_wait() const noexcept { return pl_latch_try_wait(&l_); }
    void wait() const noexcept { pl_latch_wait(&l_); }
    void arrive_and_wait(std::ptrdiff_t n = 1) noexcept
    {
        pl_latch_arrive_and_wait(&l_, static_cast<std::uint32_t>(n));
    }
    /** @return true if the count reached zero, false on time-out. */
    template <class Rep, class Period>
    bool wait_for(const std::chrono::duration<Rep, Period> &timeout) const noexcept
    {
        return pl_latch_wait_for(&l_, detail::timeout_ns(timeout));
    }
    template <class Clock, class Duration>
    bool wait_until(const std::chrono::time_point<Clock, Duration> &deadline) const
    {
        return detail::until(deadline,
                             [this](std::uint64_t ns) { return pl_latch_wait_for(&l_, ns); });
    }
    pl_latch_t *native_handle() noexcept { return &l_; }

  private:
    mutable pl_latch_t l_; // the waits are const, as std::latch's; the C calls take a pointer
};

/* ---- pl::barrier ---- */

namespace detail
{
/* The default completion: none (the C call gets NULL). */
struct no_completion {
    void operator()() noexcept {}
};

/* The completion object, as an empty base when it is an empty class (std::barrier<> stays one
 * word, as pl_barrier_t). */
template <class F, bool Empty = std::is_empty<F>::value && !std::is_final<F>::value>
class completion_holder
{
  protected:
    constexpr explicit completion_holder(F &&f) : f_(std::move(f)) {}
    F &completion() noexcept { return f_; }

  private:
    F f_;
};
template <class F> class completion_holder<F, true> : private F
{
  protected:
    constexpr explicit completion_holder(F &&f) : F(std::move(f)) {}
    F &completion() noexcept { return *this; }
};
} // namespace detail

/** std::barrier over a one-word pl_barrier_t (plus the completion object if it has state).
 * The completion runs once per phase, on the last arrival's thread, before any waiter of the
 * phase is released; it must not throw (as the standard asks).  arrive(n) is n arrivals, one
 * compare-and-swap each.  Timed waits beside the standard's.  Not a lock: no capability. */
template <class CompletionFunction = detail::no_completion>
class barrier : private detail::completion_holder<CompletionFunction>
{
    using holder = detail::completion_holder<CompletionFunction>;
    static_assert(std::is_nothrow_invocable<CompletionFunction &>::value,
                  "pl::barrier: the completion is callable, without arguments, noexcept");

  public:
    /** The phase an arrival belongs to, for wait(). */
    class arrival_token
    {
        friend class barrier;
        explicit arrival_token(pl_barrier_token_t t) noexcept : t_(t) {}
        pl_barrier_token_t t_;
    };

    static constexpr std::ptrdiff_t max() noexcept { return detail::barrier_max; }
    /** @p expected arrivals per phase, 1 to max(). */
    constexpr explicit barrier(std::ptrdiff_t expected, CompletionFunction f = CompletionFunction())
        : holder(std::move(f)), b_{(static_cast<std::uint64_t>(expected) << 33) |
                                   (static_cast<std::uint64_t>(expected) << 2)} // PL_BARRIER_INIT
    {
    }
    barrier(const barrier &) = delete;
    barrier &operator=(const barrier &) = delete;

    [[nodiscard]] arrival_token arrive(std::ptrdiff_t n = 1) noexcept
    {
        /* n <= the arrivals still expected (the standard's precondition): only the last of
         * the n can end the phase, so every one returns the same token. */
        pl_barrier_token_t t = 0;
        for (; n > 0; n--)
            t = pl_barrier_arrive(&b_, fn(), arg());
        return arrival_token(t);
    }
    void wait(arrival_token &&token) const noexcept { pl_barrier_wait(&b_, token.t_); }
    /** @return true if the phase of @p token ended, false on time-out (wait again with it). */
    template <class Rep, class Period>
    bool wait_for(const arrival_token &token,
                  const std::chrono::duration<Rep, Period> &timeout) const noexcept
    {
        return pl_barrier_wait_for(&b_, token.t_, detail::timeout_ns(timeout));
    }
    template <class Clock, class Duration>
    bool wait_until(const arrival_token &token,
                    const std::chrono::time_point<Clock, Duration> &deadline) const
    {
        return detail::until(deadline, [this, &token](std::uint64_t ns) {
            return pl_barrier_wait_for(&b_, token.t_, ns);
        });
    }
    void arrive_and_wait() noexcept { (void)pl_barrier_arrive_and_wait(&b_, fn(), arg()); }
    /** Arrives, and expects one arrival fewer in every later phase. */
    void arrive_and_drop() noexcept { pl_barrier_arrive_and_drop(&b_, fn(), arg()); }
    pl_barrier_t *native_handle() noexcept { return &b_; }

  private:
    static void run(void *self) noexcept { static_cast<barrier *>(self)->completion()(); }
    static constexpr auto fn() noexcept -> void (*)(void *)
    {
        if constexpr (std::is_same<CompletionFunction, detail::no_completion>::value)
            return nullptr;
        else
            return &barrier::run;
    }
    void *arg() noexcept { return this; }

    mutable pl_barrier_t b_; // wait() is const, as std::barrier's
};

/* ---- pl::condition_variable_any ---- */

/** std::condition_variable_any over a one-word pl_cond_t (<parking/cond_any.h>): waits with a
 * pl::shared_mutex held for writing (the mutex itself, or std::unique_lock) or for reading
 * (std::shared_lock, or wait_shared* on the mutex), a pl::recursive_mutex (every level released
 * for the wait and retaken), or any BasicLockable (through its lock() and unlock(), which must
 * not throw).  Plain wake (no requeue) except with pl::recursive_mutex.  One instance serves
 * these waits only: for pl::mutex use pl::condition_variable.  The overloads taking a lock
 * itself are annotated for Clang's analysis. */
class condition_variable_any
{
  public:
    constexpr condition_variable_any() noexcept : c_{} {}
    condition_variable_any(const condition_variable_any &) = delete;
    condition_variable_any &operator=(const condition_variable_any &) = delete;

    void notify_one() noexcept { (void)pl_cond_signal(&c_); }
    void notify_all() noexcept { (void)pl_cond_broadcast(&c_); }

    template <class Lock> void wait(Lock &lock) noexcept { (void)wait_ns(lock, PL_FOREVER); }
    template <class Lock, class Predicate> void wait(Lock &lock, Predicate stop_waiting)
    {
        while (!stop_waiting())
            wait(lock);
    }
    template <class Lock, class Rep, class Period>
    std::cv_status wait_for(Lock &lock, const std::chrono::duration<Rep, Period> &timeout) noexcept
    {
        return wait_ns(lock, pl_deadline_after(detail::timeout_ns(timeout)))
                   ? std::cv_status::no_timeout
                   : std::cv_status::timeout;
    }
    template <class Lock, class Rep, class Period, class Predicate>
    bool wait_for(Lock &lock, const std::chrono::duration<Rep, Period> &timeout,
                  Predicate stop_waiting)
    {
        return wait_until(lock, std::chrono::steady_clock::now() + timeout,
                          std::move(stop_waiting));
    }
    template <class Lock, class Clock, class Duration>
    std::cv_status wait_until(Lock &lock, const std::chrono::time_point<Clock, Duration> &deadline)
    {
        const auto now = Clock::now();
        (void)wait_ns(lock,
                      pl_deadline_after(now < deadline ? detail::timeout_ns(deadline - now) : 0));
        /* As pl::condition_variable: a time-out while Clock says the deadline is ahead is a
         * spurious wake-up for the caller's loop. */
        return Clock::now() < deadline ? std::cv_status::no_timeout : std::cv_status::timeout;
    }
    template <class Lock, class Clock, class Duration, class Predicate>
    bool wait_until(Lock &lock, const std::chrono::time_point<Clock, Duration> &deadline,
                    Predicate stop_waiting)
    {
        while (!stop_waiting())
            if (wait_until(lock, deadline) == std::cv_status::timeout)
                return stop_waiting();
        return true;
    }

    /* On the locks themselves, for Clang's analysis: exclusive (write) holds... */
    void wait(shared_mutex &m) noexcept PL_REQUIRES(m) PL_NO_THREAD_SAFETY_ANALYSIS
    {
        (void)wait_ns(m, PL_FOREVER);
    }
    void wait(recursive_mutex &m) noexcept PL_REQUIRES(m) PL_NO_THREAD_SAFETY_ANALYSIS
    {
        (void)wait_ns(m, PL_FOREVER);
    }
    template <class Rep, class Period>
    std::cv_status wait_for(shared_mutex &m,
                            const std::chrono::duration<Rep, Period> &timeout) noexcept
        PL_REQUIRES(m) PL_NO_THREAD_SAFETY_ANALYSIS
    {
        return wait_ns(m, pl_deadline_after(detail::timeout_ns(timeout)))
                   ? std::cv_status::no_timeout
                   : std::cv_status::timeout;
    }
    template <class Rep, class Period>
    std::cv_status wait_for(recursive_mutex &m,
                            const std::chrono::duration<Rep, Period> &timeout) noexcept
        PL_REQUIRES(m) PL_NO_THREAD_SAFETY_ANALYSIS
    {
        return wait_ns(m, pl_deadline_after(detail::timeout_ns(timeout)))
                   ? std::cv_status::no_timeout
                   : std::cv_status::timeout;
    }
    /* ... and the read hold of a pl::shared_mutex. */
    void wait_shared(shared_mutex &m) noexcept PL_REQUIRES_SHARED(m) PL_NO_THREAD_SAFETY_ANALYSIS
    {
        (void)pl_cond_wait_read_until(&c_, m.native_handle(), PL_FOREVER);
    }
    template <class Rep, class Period>
    std::cv_status wait_shared_for(shared_mutex &m,
                                   const std::chrono::duration<Rep, Period> &timeout) noexcept
        PL_REQUIRES_SHARED(m) PL_NO_THREAD_SAFETY_ANALYSIS
    {
        return pl_cond_wait_read_until(&c_, m.native_handle(),
                                       pl_deadline_after(detail::timeout_ns(timeout)))
                   ? std::cv_status::no_timeout
                   : std::cv_status::timeout;
    }

    pl_cond_t *native_handle() noexcept { return &c_; }

  private:
    /* One wait to an absolute pl_now() deadline; true if signalled. */
    bool wait_ns(shared_mutex &m, std::uint64_t deadline) noexcept PL_NO_THREAD_SAFETY_ANALYSIS
    {
        return pl_cond_wait_write_until(&c_, m.native_handle(), deadline);
    }
    bool wait_ns(std::unique_lock<shared_mutex> &l, std::uint64_t deadline) noexcept
    {
        return wait_ns(*l.mutex(), deadline);
    }
    bool wait_ns(std::shared_lock<shared_mutex> &l,
                 std::uint64_t deadline) noexcept PL_NO_THREAD_SAFETY_ANALYSIS
    {
        return pl_cond_wait_read_until(&c_, l.mutex()->native_handle(), deadline);
    }
    bool wait_ns(recursive_mutex &m, std::uint64_t deadline) noexcept PL_NO_THREAD_SAFETY_ANALYSIS
    {
        return pl_cond_wait_remutex_until(&c_, m.native_handle(), deadline);
    }
    bool wait_ns(std::unique_lock<recursive_mutex> &l, std::uint64_t deadline) noexcept
    {
        return wait_ns(*l.mutex(), deadline);
    }
    /* Any BasicLockable: its unlock() runs inside the library (queued, must not block or
     * throw), its lock() after the wake-up. */
    template <class Lock> bool wait_ns(Lock &lock, std::uint64_t deadline) noexcept
    {
        return pl_cond_wait_with(&c_, static_cast<void *>(&lock), &lock_cb<Lock>, &unlock_cb<Lock>,
                                 deadline);
    }
    template <class Lock> static void lock_cb(void *p) noexcept PL_NO_THREAD_SAFETY_ANALYSIS
    {
        static_cast<Lock *>(p)->lock();
    }
    template <class Lock> static void unlock_cb(void *p) noexcept PL_NO_THREAD_SAFETY_ANALYSIS
    {
        static_cast<Lock *>(p)->unlock();
    }

    pl_cond_t c_;
};

} // namespace pl

#endif /* PARKING_PARKING_HPP */
