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
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
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

/* ---- Event, semaphore, latch, barrier ----
 * The small primitives of issue 15 (part 5) get their classes here, one per C type, in the
 * style above: constexpr constructor, not copyable, noexcept where the C call cannot fail,
 * std::chrono timeouts through detail::timeout_ns / detail::until. */

} // namespace pl

#endif /* PARKING_PARKING_HPP */
