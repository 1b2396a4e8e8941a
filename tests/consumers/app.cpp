// A C++17 consumer of an installed libparking (tests/consumers/cmake): the headers must give C
// linkage, so a missing extern "C" shows up here as an undefined symbol at link time.
#include <parking/parking.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <thread>
#include <vector>

namespace {

pl_mutex_t lock = PL_MUTEX_INIT;
pl_remutex_t relock = PL_REMUTEX_INIT;
std::uint32_t flag = 0;
std::uint8_t flags_byte = 0; // bit lock on bits 0 and 1, the caller's bits above
long counter = 0;         // under lock
long re_counter = 0;      // under relock
long bit_counter = 0;     // under the bit lock

void work()
{
    for (int i = 0; i < 10000; i++) {
        pl_mutex_lock(&lock);
        counter++;
        pl_mutex_unlock(&lock);
        pl_remutex_lock(&relock);
        pl_remutex_lock(&relock);
        re_counter++;
        pl_remutex_unlock(&relock);
        pl_remutex_unlock(&relock);
        pl_bitlock8_lock(&flags_byte, 1, 2);
        bit_counter++;
        pl_bitlock8_unlock(&flags_byte, 1, 2);
    }
}

} // namespace

int main()
{
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; i++)
        threads.emplace_back(work);
    for (auto &t : threads)
        t.join();

    // pl_wait / pl_wake_one: a waiter that sleeps until the flag changes.
    std::thread waiter([] {
        std::uint32_t expected = 0;
        while (__atomic_load_n(&flag, __ATOMIC_ACQUIRE) == 0)
            pl_wait(&flag, &expected, sizeof flag, PL_FOREVER);
    });
    __atomic_store_n(&flag, 1, __ATOMIC_RELEASE);
    pl_wake_all(&flag);
    waiter.join();

    bool ok = counter == 4L * 10000 && re_counter == 4L * 10000 && bit_counter == 4L * 10000 && std::strcmp(pl_version(), PARKING_VERSION_STRING) == 0;
    std::printf("version: %s\n%s\n", pl_version(), ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}
