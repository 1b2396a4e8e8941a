// A C++ std::mutex / std::condition_variable bounded queue for bench/programs.sh: fixed work,
// timed from outside.  P producers push ITEMS items in all through a 16-slot FIFO guarded by one
// std::mutex with two std::condition_variable (not full, not empty); C consumers pop them.
// Exits non-zero if an item is lost or duplicated (the sums differ).
//
//   cxx_queue [PRODUCERS CONSUMERS ITEMS]   (default 4 4 500000)
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

int main(int argc, char **argv)
{
    const long producers = argc > 3 ? std::atol(argv[1]) : 4;
    const long consumers = argc > 3 ? std::atol(argv[2]) : 4;
    const long items = argc > 3 ? std::atol(argv[3]) : 500000;
    if (producers < 1 || consumers < 1 || items < producers) {
        std::fprintf(stderr, "usage: cxx_queue [PRODUCERS CONSUMERS ITEMS]\n");
        return 2;
    }
    constexpr size_t capacity = 16;
    std::mutex m;
    std::condition_variable not_full, not_empty;
    std::deque<long> queue;
    long remaining_producers = producers;
    std::vector<long> sums(consumers, 0);
    std::vector<std::thread> threads;
    const long per_producer = items / producers;
    for (long p = 0; p < producers; ++p)
        threads.emplace_back([&, p] {
            for (long i = 0; i < per_producer; ++i) {
                std::unique_lock<std::mutex> l(m);
                not_full.wait(l, [&] { return queue.size() < capacity; });
                queue.push_back(p * per_producer + i);
                l.unlock();
                not_empty.notify_one();
            }
            std::lock_guard<std::mutex> g(m);
            if (--remaining_producers == 0)
                not_empty.notify_all();
        });
    for (long c = 0; c < consumers; ++c)
        threads.emplace_back([&, c] {
            long sum = 0;
            for (;;) {
                std::unique_lock<std::mutex> l(m);
                not_empty.wait(l, [&] { return !queue.empty() || remaining_producers == 0; });
                if (queue.empty())
                    break;
                sum += queue.front();
                queue.pop_front();
                l.unlock();
                not_full.notify_one();
            }
            sums[c] = sum;
        });
    for (auto &t : threads)
        t.join();
    long total = 0;
    for (long s : sums)
        total += s;
    const long n = per_producer * producers;
    if (total != n * (n - 1) / 2) {
        std::fprintf(stderr, "cxx_queue: items lost or duplicated\n");
        return 1;
    }
    return 0;
}
