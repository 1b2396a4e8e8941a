// The C++ standard library's locks under stress, checking their invariants.  libstdc++ builds
// std::mutex, std::recursive_mutex and std::timed_mutex on pthread_mutex_t (the timed waits on
// pthread_mutex_clocklock), std::condition_variable on pthread_cond_t (wait_for on
// pthread_cond_clockwait), std::shared_mutex and std::shared_timed_mutex on pthread_rwlock_t (the
// timed ones on pthread_rwlock_clock*lock): run under LD_PRELOAD=libparking-pthread.so, every
// one of those calls lands on the parking lot.  Written to fail loudly: a broken exclusion, a
// lost or duplicated item, a timed wait that lies about its timeout, or a lost wake-up (caught
// by the watchdog: every wait here is bounded by the whole program's deadline) exits non-zero.
//
//   std_sync_stress [SECONDS_PER_PART]   (default 0.5; 8 threads on however many CPUs)
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <type_traits>
#include <unistd.h>
#include <vector>

namespace
{

using Clock = std::chrono::steady_clock;
constexpr int kThreads = 8;
double part_seconds = 0.5;
int failures = 0;

void fail(const char *part, const std::string &what)
{
    std::fprintf(stderr, "FAIL %s: %s\n", part, what.c_str());
    ++failures;
}

// Runs body(thread index, stop flag) on n threads for the part's duration.
template <typename Body> void run_threads(int n, Body body)
{
    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    for (int i = 0; i < n; ++i)
        threads.emplace_back([&, i] { body(i, stop); });
    std::this_thread::sleep_for(std::chrono::duration<double>(part_seconds));
    stop.store(true);
    for (auto &t : threads)
        t.join();
}

// Exclusion witness: entered while another thread is inside is a failure.  The data the lock
// protects is plain (non-atomic) so that a lock letting two threads in also loses updates.
struct Witness {
    std::atomic<int> inside{0};
    std::atomic<bool> broken{false};
    void enter()
    {
        if (inside.fetch_add(1, std::memory_order_relaxed) != 0)
            broken.store(true);
    }
    void leave() { inside.fetch_sub(1, std::memory_order_relaxed); }
};

void part_mutex()
{
    std::mutex m;
    Witness w;
    long counter = 0;
    std::vector<long> mine(kThreads, 0);
    run_threads(kThreads, [&](int i, std::atomic<bool> &stop) {
        while (!stop.load(std::memory_order_relaxed)) {
            std::lock_guard<std::mutex> g(m);
            w.enter();
            ++counter;
            w.leave();
            ++mine[i];
        }
    });
    long sum = 0;
    for (long c : mine)
        sum += c;
    if (w.broken || counter != sum)
        fail("std::mutex", "exclusion broken: counter " + std::to_string(counter) + ", " +
                               std::to_string(sum) + " increments");
    if (!m.try_lock())
        fail("std::mutex", "try_lock failed on a free mutex");
    std::thread([&] {
        if (m.try_lock())
            fail("std::mutex", "try_lock succeeded on a held mutex");
    }).join();
    m.unlock();
    std::printf("std::mutex: %ld critical sections\n", counter);
}

void part_recursive_mutex()
{
    std::recursive_mutex m;
    Witness w;
    long counter = 0;
    std::vector<long> mine(kThreads, 0);
    run_threads(kThreads, [&](int i, std::atomic<bool> &stop) {
        for (unsigned n = 0; !stop.load(std::memory_order_relaxed); ++n) {
            const int depth = 1 + n % 4;
            for (int d = 0; d < depth; ++d)
                m.lock();
            w.enter();
            ++counter;
            w.leave();
            // Still held after releasing all but one level: nobody else may be inside.
            for (int d = 1; d < depth; ++d)
                m.unlock();
            w.enter();
            ++counter;
            w.leave();
            m.unlock();
            mine[i] += 2;
        }
    });
    long sum = 0;
    for (long c : mine)
        sum += c;
    if (w.broken || counter != sum)
        fail("std::recursive_mutex", "exclusion broken: counter " + std::to_string(counter) + ", " +
                                         std::to_string(sum) + " increments");
    std::printf("std::recursive_mutex: %ld critical sections\n", counter);
}

void part_timed_mutex()
{
    std::timed_mutex m;
    Witness w;
    long counter = 0;
    std::vector<long> mine(kThreads, 0);
    std::atomic<long> timeouts{0};
    run_threads(kThreads, [&](int i, std::atomic<bool> &stop) {
        for (unsigned n = 0; !stop.load(std::memory_order_relaxed); ++n) {
            bool got;
            if (n % 3 == 0)
                got = m.try_lock_for(std::chrono::microseconds(50));
            else if (n % 3 == 1)
                got = m.try_lock_until(Clock::now() + std::chrono::microseconds(200));
            else
                got = (m.lock(), true);
            if (!got) {
                timeouts.fetch_add(1, std::memory_order_relaxed);
                continue;
            }
            w.enter();
            ++counter;
            w.leave();
            m.unlock();
            ++mine[i];
        }
    });
    long sum = 0;
    for (long c : mine)
        sum += c;
    if (w.broken || counter != sum)
        fail("std::timed_mutex", "exclusion broken: counter " + std::to_string(counter) + ", " +
                                     std::to_string(sum) + " increments");
    // A timed lock on a mutex held throughout must time out, and not before its time.
    m.lock();
    std::thread([&] {
        const auto t0 = Clock::now();
        if (m.try_lock_for(std::chrono::milliseconds(20)))
            fail("std::timed_mutex", "try_lock_for succeeded on a held mutex");
        if (Clock::now() - t0 < std::chrono::milliseconds(20))
            fail("std::timed_mutex", "try_lock_for returned before its timeout");
    }).join();
    m.unlock();
    std::printf("std::timed_mutex: %ld critical sections, %ld timeouts\n", counter,
                timeouts.load());
}

// Bounded FIFO, P producers and C consumers, two condition variables: every item is delivered
// exactly once (the sums and counts match), and nobody sleeps through a notification (a lost
// wake-up leaves a thread waiting forever: the watchdog fails the program).
void part_condition_variable()
{
    constexpr int kProducers = 4, kConsumers = 4;
    constexpr size_t kCapacity = 16;
    std::mutex m;
    std::condition_variable not_full, not_empty;
    std::deque<long> queue;
    bool done = false;
    std::atomic<long> produced_sum{0}, consumed_sum{0}, produced{0}, consumed{0};
    std::atomic<bool> stop{false};
    std::vector<std::thread> producers, consumers;
    for (int p = 0; p < kProducers; ++p)
        producers.emplace_back([&, p] {
            for (long n = 0; !stop.load(std::memory_order_relaxed); ++n) {
                const long item = n * kProducers + p + 1;
                std::unique_lock<std::mutex> l(m);
                // Alternate untimed and timed waits: both paths of libstdc++ (pthread_cond_wait,
                // pthread_cond_clockwait).
                if (n % 2)
                    not_full.wait(l, [&] { return queue.size() < kCapacity; });
                else
                    while (queue.size() >= kCapacity)
                        not_full.wait_for(l, std::chrono::seconds(30));
                queue.push_back(item);
                l.unlock();
                not_empty.notify_one();
                produced_sum += item;
                ++produced;
            }
        });
    for (int c = 0; c < kConsumers; ++c)
        consumers.emplace_back([&, c] {
            for (long n = 0;; ++n) {
                std::unique_lock<std::mutex> l(m);
                if ((n + c) % 2)
                    not_empty.wait(l, [&] { return !queue.empty() || done; });
                else
                    while (queue.empty() && !done)
                        not_empty.wait_for(l, std::chrono::seconds(30));
                if (queue.empty())
                    return; // done and drained
                const long item = queue.front();
                queue.pop_front();
                l.unlock();
                not_full.notify_one();
                consumed_sum += item;
                ++consumed;
            }
        });
    std::this_thread::sleep_for(std::chrono::duration<double>(part_seconds));
    stop = true;
    for (auto &t : producers)
        t.join();
    {
        std::lock_guard<std::mutex> g(m);
        done = true;
    }
    not_empty.notify_all();
    for (auto &t : consumers)
        t.join();
    if (produced != consumed || produced_sum != consumed_sum)
        fail("std::condition_variable", "queue lost or duplicated items: produced " +
                                            std::to_string(produced) + " consumed " +
                                            std::to_string(consumed));

    // Ping-pong: two threads hand a turn back and forth with notify_one; every hand-off needs
    // its wake-up.
    int turn = 0;
    long trips = 0;
    stop = false;
    std::thread other([&] {
        std::unique_lock<std::mutex> l(m);
        for (;;) {
            not_empty.wait(l, [&] { return turn == 1 || stop; });
            if (turn != 1)
                return;
            turn = 0;
            not_full.notify_one();
        }
    });
    const auto end = Clock::now() + std::chrono::duration<double>(part_seconds / 2);
    {
        std::unique_lock<std::mutex> l(m);
        while (Clock::now() < end) {
            turn = 1;
            not_empty.notify_one();
            not_full.wait(l, [&] { return turn == 0; });
            ++trips;
        }
        stop = true;
    }
    not_empty.notify_one();
    other.join();

    // A wait that nobody notifies times out, not before its time, with the mutex held.
    {
        std::unique_lock<std::mutex> l(m);
        const auto t0 = Clock::now();
        // Spurious wake-ups are allowed: wait again until the wait itself reports the timeout.
        while (not_full.wait_until(l, t0 + std::chrono::milliseconds(20)) !=
               std::cv_status::timeout) {
        }
        if (Clock::now() - t0 < std::chrono::milliseconds(20))
            fail("std::condition_variable", "wait_for returned timeout before its time");
        if (!l.owns_lock() || m.try_lock())
            fail("std::condition_variable", "the mutex is not held after a timed-out wait");
    }
    std::printf("std::condition_variable: %ld items through the queue, %ld ping-pong trips\n",
                consumed.load(), trips);
}

// Readers check a pair that writers keep equal; a writer must be alone, readers may share.
template <typename SharedMutex> void part_shared(const char *name)
{
    constexpr bool timed = std::is_same<SharedMutex, std::shared_timed_mutex>::value;
    SharedMutex m;
    std::atomic<int> readers{0}, writers{0};
    std::atomic<bool> broken{false};
    std::atomic<long> reads{0}, max_readers{0}, timeouts{0};
    long a = 0, b = 0, writes = 0;
    std::vector<long> mine(kThreads, 0);
    run_threads(kThreads, [&](int i, std::atomic<bool> &stop) {
        for (unsigned n = 0; !stop.load(std::memory_order_relaxed); ++n) {
            if (n % 8 == (unsigned)i % 8) { // one operation in 8 writes
                bool got = true;
                if constexpr (timed) {
                    if (n % 2)
                        got = m.try_lock_for(std::chrono::microseconds(100));
                    else
                        m.lock();
                } else {
                    m.lock();
                }
                if (!got) {
                    ++timeouts;
                    continue;
                }
                if (writers.fetch_add(1) != 0 || readers.load() != 0)
                    broken = true;
                ++a;
                ++b;
                ++writes;
                writers.fetch_sub(1);
                m.unlock();
                ++mine[i];
            } else {
                bool got = true;
                if constexpr (timed) {
                    if (n % 2)
                        got =
                            m.try_lock_shared_until(Clock::now() + std::chrono::microseconds(100));
                    else
                        m.lock_shared();
                } else {
                    m.lock_shared();
                }
                if (!got) {
                    ++timeouts;
                    continue;
                }
                const int r = readers.fetch_add(1) + 1;
                if (writers.load() != 0 || a != b)
                    broken = true;
                long prev = max_readers.load();
                while (r > prev && !max_readers.compare_exchange_weak(prev, r)) {
                }
                readers.fetch_sub(1);
                m.unlock_shared();
                ++reads;
            }
        }
    });
    long sum = 0;
    for (long c : mine)
        sum += c;
    if (broken || writes != sum || a != writes || b != writes)
        fail(name, "a writer was not alone, or a reader saw a half-done write");
    // try_lock on a shared-locked mutex fails; try_lock_shared succeeds beside it.
    m.lock_shared();
    std::thread([&] {
        if (m.try_lock())
            fail(name, "try_lock succeeded on a read-locked mutex");
        if (!m.try_lock_shared())
            fail(name, "try_lock_shared failed beside a reader");
        else
            m.unlock_shared();
    }).join();
    m.unlock_shared();
    if constexpr (timed) {
        m.lock();
        std::thread([&] {
            const auto t0 = Clock::now();
            if (m.try_lock_shared_for(std::chrono::milliseconds(20)))
                fail(name, "try_lock_shared_for succeeded on a write-locked mutex");
            if (Clock::now() - t0 < std::chrono::milliseconds(20))
                fail(name, "try_lock_shared_for returned before its timeout");
        }).join();
        m.unlock();
    }
    std::printf("%s: %ld writes, %ld reads (up to %ld readers at once), %ld timeouts\n", name,
                writes, reads.load(), max_readers.load(), timeouts.load());
}

extern "C" void watchdog(int)
{
    static const char msg[] = "FAIL: the watchdog fired: a thread is stuck (lost wake-up or "
                              "deadlock)\n";
    (void)!write(2, msg, sizeof msg - 1);
    _exit(3);
}

} // namespace

int main(int argc, char **argv)
{
    if (argc > 1)
        part_seconds = std::atof(argv[1]);
    if (!(part_seconds > 0 && part_seconds <= 60)) {
        std::fprintf(stderr, "usage: std_sync_stress [SECONDS_PER_PART in (0, 60]]\n");
        return 2;
    }
    // Seven parts of part_seconds each: anything past 10x that plus a margin is stuck.
    std::signal(SIGALRM, watchdog);
    alarm(static_cast<unsigned>(70 * part_seconds) + 30);

    part_mutex();
    part_recursive_mutex();
    part_timed_mutex();
    part_condition_variable();
    part_shared<std::shared_mutex>("std::shared_mutex");
    part_shared<std::shared_timed_mutex>("std::shared_timed_mutex");
    if (failures) {
        std::fprintf(stderr, "std_sync_stress: %d failure(s)\n", failures);
        return 1;
    }
    std::printf("std_sync_stress: all invariants held\n");
    return 0;
}
