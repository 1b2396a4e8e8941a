// The C++ header <parking/parking.hpp>: the classes meet the standard's named requirements (the
// std:: lock wrappers and std::condition_variable_any work with them), keep the C types' sizes
// and invariants (exclusion, readers against writers, condition variable hand-over, once; and
// those of tests/sync: semaphore permits, latch, barrier phases, event wake-ups, condition
// waits under a read lock), take std::chrono timeouts on steady_clock and system_clock, and
// abort on misuse as in C.
// A plain program, no Check: every failure prints its line and exits 1 (CHECK), and ctest runs
// it in the plain, ThreadSanitizer and AddressSanitizer builds.
#include <parking/parking.hpp>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <shared_mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

#define CHECK(cond)                                                                                \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);                \
      std::exit(1);                                                                                \
    }                                                                                              \
  } while (0)

using namespace std::chrono_literals;

// ---- Layout and type properties, checked at compile time ----
static_assert(sizeof(pl::mutex) == 1, "pl::mutex is one byte");
static_assert(sizeof(pl::shared_mutex) == sizeof(void *), "pl::shared_mutex is one word");
static_assert(sizeof(pl::condition_variable) == sizeof(void *), "one word");
static_assert(sizeof(pl::recursive_mutex) == 16 || sizeof(void *) != 8, "16 bytes on 64-bit");
static_assert(sizeof(pl::once_flag) == 1, "pl::once_flag is one byte");
static_assert(sizeof(pl::ptr_lock<int>) == sizeof(void *), "pl::ptr_lock is one word");
static_assert(!std::is_copy_constructible<pl::mutex>::value, "not copyable");
static_assert(!std::is_move_constructible<pl::shared_mutex>::value, "not movable");
static_assert(!std::is_copy_assignable<pl::condition_variable>::value, "not copyable");
static_assert(std::is_nothrow_default_constructible<pl::recursive_mutex>::value, "noexcept");
static_assert(noexcept(std::declval<pl::mutex &>().lock()), "lock is noexcept");
static_assert(noexcept(std::declval<pl::mutex &>().unlock()), "unlock is noexcept");
static_assert(noexcept(std::declval<pl::shared_mutex &>().try_lock_shared()), "noexcept");
// constexpr constructors: each can be built in a constant expression (constant initialisation
// of statics, no start-up order problem).
static_assert((pl::mutex(), pl::recursive_mutex(), pl::shared_mutex(), pl::condition_variable(),
               pl::once_flag(), pl::ptr_lock<int>(), true),
              "constexpr constructors");
// The primitives of <parking/event.h>, semaphore.h, latch.h, barrier.h and cond_any.h.
static_assert(sizeof(pl::event) == 4 && sizeof(pl::counting_semaphore<>) == 4, "one int");
static_assert(sizeof(pl::binary_semaphore) == 4 && sizeof(pl::latch) == 4, "one int");
static_assert(sizeof(pl::barrier<>) == 8, "no completion: the 8-byte pl_barrier_t only");
static_assert(sizeof(pl::condition_variable_any) == sizeof(void *), "one word");
static_assert(pl::counting_semaphore<>::max() == PL_SEM_VALUE_MAX &&
                  pl::binary_semaphore::max() >= 1,
              "max() at least LeastMaxValue");
static_assert(!std::is_copy_constructible<pl::barrier<>>::value, "not copyable");
static_assert(!std::is_move_constructible<pl::latch>::value, "not movable");
static_assert(noexcept(std::declval<pl::binary_semaphore &>().release()), "noexcept");
static_assert(noexcept(std::declval<pl::event &>().wait()), "noexcept");
static_assert((pl::event(), pl::event(true), pl::binary_semaphore(1), pl::latch(2),
               pl::barrier<>(3), pl::condition_variable_any(), true),
              "constexpr constructors");

static pl::mutex g_mutex; // constant-initialised
static pl::once_flag g_once;

// ---- The std:: wrappers over each type ----
static void std_wrappers()
{
    pl::mutex a, b;
    {
        std::lock_guard<pl::mutex> g(a);
        CHECK(a.is_locked());
        a.assert_held();
    }
    CHECK(!a.is_locked());
    {
        std::unique_lock<pl::mutex> u(a, std::defer_lock);
        CHECK(u.try_lock_for(1ms));
        u.unlock();
        CHECK(u.try_lock_until(std::chrono::steady_clock::now() + 1ms));
    }
    {
        std::scoped_lock both(a, b); // std::lock: lock, try_lock, unlock
        CHECK(a.is_locked() && b.is_locked());
    }
    CHECK(!a.is_locked() && !b.is_locked());

    pl::recursive_mutex r;
    {
        std::lock_guard<pl::recursive_mutex> g1(r);
        std::unique_lock<pl::recursive_mutex> g2(r, 1ms);
        CHECK(g2.owns_lock() && r.is_held());
        r.assert_held();
    }
    CHECK(!r.is_locked());

    pl::shared_mutex s;
    {
        std::shared_lock<pl::shared_mutex> r1(s);
        std::shared_lock<pl::shared_mutex> r2(s, 1ms);
        CHECK(r2.owns_lock());
        s.assert_shared_held();
        CHECK(!s.try_lock());
    }
    {
        std::unique_lock<pl::shared_mutex> w(s, std::chrono::system_clock::now() + 1ms);
        CHECK(w.owns_lock() && s.is_write_locked());
        s.assert_held();
    }
    {
        pl::upgradable_lock up(s);
        CHECK(s.try_lock_shared()); // a reader beside the upgradable holder
        CHECK(!up.try_upgrade());   // ... blocks an upgrade without waiting
        s.unlock_shared();
        up.upgrade();
        CHECK(s.is_write_locked());
        up.downgrade();
        CHECK(!s.is_write_locked() && s.is_locked());
    }
    CHECK(!s.is_locked());

    // std::condition_variable_any over pl::mutex and pl::shared_mutex.
    std::condition_variable_any cva;
    {
        std::unique_lock<pl::mutex> u(a);
        CHECK(cva.wait_for(u, 1ms) == std::cv_status::timeout);
        CHECK(u.owns_lock() && a.is_locked());
    }
    {
        std::unique_lock<pl::shared_mutex> u(s);
        CHECK(!cva.wait_for(u, 1ms, [] { return false; }));
    }

    int x = 0;
    pl::ptr_lock<int> p;
    {
        std::lock_guard<pl::ptr_lock<int>> g(p);
        p.set(&x);
    }
    CHECK(p.get() == &x && !p.is_locked());

    std::uint8_t word = 0x80; // bit 7 is the caller's
    pl::bit_lock<std::uint8_t> bl(word, 1, 2);
    {
        std::unique_lock<pl::bit_lock<std::uint8_t>> g(bl, 1ms);
        CHECK(g.owns_lock() && bl.is_locked() && bl.load() == 0x80);
        CHECK(bl.update(0x80, 0x40) == 0x40);
    }
    CHECK(!bl.is_locked() && word == 0x40);
}

// ---- Timeouts ----
static void timeouts()
{
    pl::mutex m;
    pl::shared_mutex s;
    m.lock();
    s.lock();
    std::thread t([&] {
        auto t0 = std::chrono::steady_clock::now();
        CHECK(!m.try_lock_for(20ms));
        CHECK(std::chrono::steady_clock::now() - t0 >= 20ms);
        t0 = std::chrono::steady_clock::now();
        CHECK(!m.try_lock_until(std::chrono::system_clock::now() + 20ms));
        CHECK(std::chrono::steady_clock::now() - t0 >= 19ms); // system_clock: converted once
        CHECK(!s.try_lock_shared_until(std::chrono::steady_clock::now() + 5ms));
        CHECK(!m.try_lock_for(-1s)); // past: one try, fails
        CHECK(!m.try_lock_until(std::chrono::steady_clock::time_point::min()));
    });
    t.join();
    m.unlock();
    s.unlock();
    CHECK(m.try_lock_for(std::chrono::hours::max())); // saturates to "forever": takes it
    m.unlock();

    pl::condition_variable cv;
    std::unique_lock<pl::mutex> u(m);
    auto t0 = std::chrono::steady_clock::now();
    CHECK(cv.wait_for(u, 10ms) == std::cv_status::timeout);
    CHECK(std::chrono::steady_clock::now() - t0 >= 10ms);
    CHECK(!cv.wait_until(u, std::chrono::system_clock::now() + 5ms, [] { return false; }));
    CHECK(cv.wait_for(u, 1h, [] { return true; }));
    CHECK(u.owns_lock() && m.is_locked());
}

// ---- Exclusion and hand-over under contention ----
static constexpr int kThreads = 4;
static constexpr int kIters = 20000;

template <class Mutex> static void exclusion()
{
    Mutex m;
    long counter = 0; // plain: a race here is a lock bug (and a TSan report)
    std::vector<std::thread> ts;
    for (int i = 0; i < kThreads; i++)
        ts.emplace_back([&] {
            for (int k = 0; k < kIters; k++) {
                std::lock_guard<Mutex> g(m);
                counter++;
            }
        });
    for (auto &t : ts)
        t.join();
    CHECK(counter == long{kThreads} * kIters);
}

static void readers_writers()
{
    pl::shared_mutex s;
    long a = 0, b = 0; // equal whenever no writer holds s
    std::atomic<bool> bad{false};
    std::vector<std::thread> ts;
    for (int i = 0; i < kThreads; i++)
        ts.emplace_back([&, i] {
            for (int k = 0; k < kIters / 4; k++) {
                if ((k + i) % 4 == 0) {
                    std::unique_lock<pl::shared_mutex> w(s);
                    a++;
                    b++;
                } else if ((k + i) % 4 == 1) {
                    pl::upgradable_lock up(s);
                    long seen = a;
                    up.upgrade();
                    if (a != seen)
                        bad = true; // nobody wrote between the upgradable read and the upgrade
                    a++;
                    b++;
                } else {
                    std::shared_lock<pl::shared_mutex> r(s);
                    if (a != b)
                        bad = true;
                }
            }
        });
    for (auto &t : ts)
        t.join();
    CHECK(!bad && a == b);
}

static void condition_variable_queue()
{
    pl::mutex m;
    pl::condition_variable not_empty, not_full;
    std::deque<int> q;
    constexpr int kItems = 20000, kProducers = 2, kConsumers = 2;
    long sum = 0;
    std::vector<std::thread> ts;
    for (int p = 0; p < kProducers; p++)
        ts.emplace_back([&] {
            for (int i = 1; i <= kItems; i++) {
                std::unique_lock<pl::mutex> u(m);
                not_full.wait(u, [&] { return q.size() < 8; });
                q.push_back(i);
                not_empty.notify_one(); // with the mutex held: requeued, not woken
            }
        });
    for (int c = 0; c < kConsumers; c++)
        ts.emplace_back([&] {
            for (int i = 0; i < kItems * kProducers / kConsumers; i++) {
                std::unique_lock<pl::mutex> u(m);
                not_empty.wait(u, [&] { return !q.empty(); });
                sum += q.front();
                q.pop_front();
                not_full.notify_all();
            }
        });
    for (auto &t : ts)
        t.join();
    CHECK(q.empty() && sum == long{kProducers} * kItems * (kItems + 1) / 2);
}

static void once()
{
    static std::atomic<int> runs{0};
    std::vector<std::thread> ts;
    for (int i = 0; i < kThreads; i++)
        ts.emplace_back([] {
            pl::call_once(
                g_once, [](int by) { runs += by; }, 1);
        });
    for (auto &t : ts)
        t.join();
    CHECK(runs == 1 && g_once.is_done());

    // An initialiser that throws leaves the flag not done; the next call runs its own.
    pl::once_flag f;
    bool threw = false;
    try {
        pl::call_once(f, [] { throw std::runtime_error("first"); });
    } catch (const std::runtime_error &e) {
        threw = std::strcmp(e.what(), "first") == 0;
    }
    CHECK(threw && !f.is_done());
    int value = 0;
    pl::call_once(
        f, [&value](int v) { value = v; }, 7);
    pl::call_once(
        f, [&value](int v) { value = v; }, 8);
    CHECK(f.is_done() && value == 7);
}

static void bit_and_pointer_locks()
{
    std::uint32_t word = 0;
    long counter = 0;
    int objects[2] = {0, 0};
    pl::ptr_lock<int> p;
    std::vector<std::thread> ts;
    for (int i = 0; i < kThreads; i++)
        ts.emplace_back([&] {
            pl::bit_lock<std::uint32_t> bl(word, 1u << 30, 1u << 31);
            for (int k = 0; k < kIters / 4; k++) {
                {
                    std::lock_guard<pl::bit_lock<std::uint32_t>> g(bl);
                    counter++;
                }
                std::lock_guard<pl::ptr_lock<int>> g(p);
                p.set(&objects[k & 1]);
            }
        });
    for (auto &t : ts)
        t.join();
    CHECK(counter == long{kThreads} * (kIters / 4) && word == 0);
    CHECK(p.get() == &objects[1]);
}

// ---- Misuse aborts with the C library's message ----
static void misuse_aborts()
{
    int fds[2];
    CHECK(pipe(fds) == 0);
    std::fflush(stderr);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], 2);
        pl::mutex m;
        m.unlock(); // not locked
        _exit(0);
    }
    close(fds[1]);
    char text[512];
    ssize_t n = read(fds[0], text, sizeof text - 1);
    close(fds[0]);
    text[n > 0 ? n : 0] = '\0';
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
    CHECK(std::strstr(text, "libparking: pl_mutex_unlock(") != nullptr);
}

// ---- Event, semaphore, latch, barrier, condition_variable_any (as tests/sync/*.c) ----
static void sync_timeouts()
{
    using std::chrono::steady_clock;
    using std::chrono::system_clock;
    pl::event e;
    pl::binary_semaphore sem(0);
    pl::latch l(1);
    pl::barrier<> b(2);
    auto t0 = steady_clock::now();
    CHECK(!e.wait_for(10ms) && steady_clock::now() - t0 >= 10ms);
    t0 = steady_clock::now();
    CHECK(!sem.try_acquire_for(10ms) && steady_clock::now() - t0 >= 10ms);
    t0 = steady_clock::now();
    CHECK(!l.wait_for(10ms) && steady_clock::now() - t0 >= 10ms);
    CHECK(!e.wait_until(system_clock::now() + 5ms) && !sem.try_acquire_until(system_clock::now()));
    CHECK(!l.wait_until(steady_clock::now() + 1ms) && !l.try_wait());
    auto token = b.arrive();
    t0 = steady_clock::now();
    CHECK(!b.wait_for(token, 10ms) && steady_clock::now() - t0 >= 10ms);
    CHECK(!b.wait_until(token, system_clock::now() + 1ms));
    b.arrive_and_drop(); // ends the phase: the token's wait returns at once
    CHECK(b.wait_for(token, 1h) && b.wait_until(token, system_clock::time_point::min()));

    e.set();
    CHECK(e.is_set() && e.wait_for(1h) && e.wait_until(system_clock::time_point::min()));
    CHECK(e.reset() && !e.reset() && !e.is_set());
    sem.release();
    CHECK(sem.try_acquire_until(steady_clock::time_point::min()) && !sem.try_acquire());
    l.count_down();
    CHECK(l.try_wait() && l.wait_for(-1s));
    l.wait();

    pl::condition_variable_any cv;
    pl::shared_mutex s;
    {
        std::shared_lock<pl::shared_mutex> r(s);
        t0 = steady_clock::now();
        CHECK(cv.wait_for(r, 10ms) == std::cv_status::timeout && steady_clock::now() - t0 >= 10ms);
        CHECK(!cv.wait_until(r, system_clock::now() + 2ms, [] { return false; }));
        CHECK(r.owns_lock() && s.is_locked() && !s.is_write_locked());
    }
    {
        std::unique_lock<pl::shared_mutex> w(s);
        CHECK(!cv.wait_for(w, 2ms, [] { return false; }) && s.is_write_locked());
    }
    pl::recursive_mutex rm;
    rm.lock();
    rm.lock();
    CHECK(cv.wait_for(rm, 2ms) == std::cv_status::timeout && rm.is_held()); // both levels back
    rm.unlock();
    CHECK(rm.is_held());
    rm.unlock();
    CHECK(!rm.is_locked());
    pl::mutex m; // any BasicLockable, through its lock() and unlock()
    std::unique_lock<pl::mutex> u(m);
    CHECK(cv.wait_until(u, steady_clock::now() + 2ms) == std::cv_status::timeout);
    CHECK(u.owns_lock() && m.is_locked());
}

// Permits are conserved: never more holders than permits, all back at the end.
static void semaphore_permits()
{
    constexpr int kPermits = 2;
    pl::counting_semaphore<kPermits> sem(kPermits);
    std::atomic<int> inside{0};
    std::atomic<bool> bad{false};
    std::vector<std::thread> ts;
    for (int i = 0; i < kThreads; i++)
        ts.emplace_back([&, i] {
            for (int k = 0; k < kIters / 20; k++) {
                if ((k + i) % 8 == 0) {
                    while (!sem.try_acquire_for(1ms)) {
                    }
                } else {
                    sem.acquire();
                }
                if (inside.fetch_add(1) >= kPermits)
                    bad = true;
                inside.fetch_sub(1);
                sem.release();
            }
        });
    for (auto &t : ts)
        t.join();
    CHECK(!bad && sem.value() == kPermits);
    sem.release(3);
    CHECK(sem.value() == kPermits + 3);
}

// No waiter passes the latch before every count_down has happened.
static void latch_no_early_release()
{
    for (int round = 0; round < 10; round++) {
        pl::latch done(kThreads);
        std::atomic<int> work{0};
        std::atomic<bool> bad{false};
        std::vector<std::thread> ts;
        for (int i = 0; i < kThreads; i++)
            ts.emplace_back([&, i] {
                work.fetch_add(1);
                if (i % 2 == 0) {
                    done.arrive_and_wait();
                } else {
                    done.count_down();
                    done.wait();
                }
                if (work.load() != kThreads)
                    bad = true;
            });
        done.wait();
        CHECK(work.load() == kThreads);
        for (auto &t : ts)
            t.join();
        CHECK(!bad && done.try_wait());
    }
}

// Every phase: the completion runs once, after all arrivals, before any thread is released.
struct phase_check {
    std::atomic<int> *slots;
    int *phases; // written by the completion only; read by threads after it
    std::atomic<bool> *bad;
    void operator()() noexcept
    {
        for (int i = 0; i < kThreads; i++)
            if (slots[i].load() != *phases)
                *bad = true;
        ++*phases;
    }
};

static void barrier_phases()
{
    constexpr int kPhases = 100;
    std::atomic<int> slots[kThreads] = {};
    int phases = 0;
    std::atomic<bool> bad{false};
    pl::barrier<phase_check> b(kThreads, phase_check{slots, &phases, &bad});
    std::vector<std::thread> ts;
    for (int i = 0; i < kThreads; i++)
        ts.emplace_back([&, i] {
            for (int p = 0; p < kPhases; p++) {
                slots[i].store(p);
                if ((p + i) % 2 == 0)
                    b.arrive_and_wait();
                else
                    b.wait(b.arrive());
                if (phases != p + 1)
                    bad = true;
            }
        });
    for (auto &t : ts)
        t.join();
    CHECK(!bad && phases == kPhases);

    // arrive(n) counts n arrivals; arrive_and_drop lowers later phases' count.
    pl::barrier<> two(2);
    two.wait(two.arrive(2));
    two.arrive_and_drop();
    two.arrive_and_wait(); // a phase of one now
}

// Waiters go through a sequence of fresh events set in order at varied moments (as
// tests/sync/event.c): a lost wake-up hangs the join (ctest's timeout), and each waiter sees
// what was written before its set.  Not one event reset and set again: a wait that begins
// after a set and its reset but before that set's wake-up may return true (primitives.md).
static void event_no_lost_wake()
{
    constexpr int kRounds = 100, kWaiters = 3;
    std::vector<pl::event> events(kRounds);
    std::vector<int> data(kRounds, 0); // plain: ordered by each event's set and wait
    std::atomic<bool> bad{false};
    std::vector<std::thread> ts;
    for (int k = 0; k < kWaiters; k++)
        ts.emplace_back([&] {
            for (int i = 0; i < kRounds; i++) {
                events[static_cast<std::size_t>(i)].wait();
                if (data[static_cast<std::size_t>(i)] != i + 1)
                    bad = true;
            }
        });
    for (int i = 0; i < kRounds; i++) {
        for (int y = 0; y < i % 3; y++)
            std::this_thread::yield();
        data[static_cast<std::size_t>(i)] = i + 1;
        events[static_cast<std::size_t>(i)].set();
    }
    for (auto &t : ts)
        t.join();
    CHECK(!bad);
}

// Readers wait under a read lock for each round; the writer waits under the write lock for
// every reader to have seen it.  A lost wake-up on either side hangs (ctest's timeout).
static void condition_variable_any_waits()
{
    constexpr int kReaders = 3, kRounds = 100;
    pl::shared_mutex s;
    pl::condition_variable_any round_started, round_seen;
    int round = 0, seen = 0; // guarded by s
    std::vector<std::thread> ts;
    for (int i = 0; i < kReaders; i++)
        ts.emplace_back([&] {
            for (int k = 1; k <= kRounds; k++) {
                {
                    std::shared_lock<pl::shared_mutex> r(s);
                    round_started.wait(r, [&] { return round >= k; });
                }
                std::unique_lock<pl::shared_mutex> w(s);
                seen++;
                round_seen.notify_one();
            }
        });
    {
        std::unique_lock<pl::shared_mutex> w(s);
        for (int k = 1; k <= kRounds; k++) {
            round = k;
            round_started.notify_all();
            round_seen.wait(w, [&] { return seen == kReaders * k; });
        }
    }
    for (auto &t : ts)
        t.join();
    CHECK(round == kRounds && seen == kReaders * kRounds);
}

int main()
{
    misuse_aborts(); // first: fork before any thread exists
    g_mutex.lock();
    g_mutex.unlock();
    std_wrappers();
    timeouts();
    exclusion<pl::mutex>();
    exclusion<pl::recursive_mutex>();
    exclusion<pl::shared_mutex>();
    readers_writers();
    condition_variable_queue();
    once();
    bit_and_pointer_locks();
    sync_timeouts();
    semaphore_permits();
    latch_no_early_release();
    barrier_phases();
    event_no_lost_wake();
    condition_variable_any_waits();
    std::puts("test_cxx: all checks passed");
    return 0;
}
