/* The uncontended fast paths, one loop of a million iterations each, for bench/fastpath-count.sh
 * (callgrind counts their instructions: exact and repeatable on a loaded machine, unlike time). */
#include <parking/parking.h>
#include <stdio.h>
#include <stdlib.h>

#define N 1000000
static pl_mutex_t m;
static pl_rwlock_t rw;
static pl_remutex_t rm;
static uint64_t bits64;
static uint8_t bits8;
static pl_once_t once;
static pl_cond_t cv;
static int counter;
static void init(void *arg)
{
    (void)arg;
    counter++;
}

__attribute__((noinline)) static void run_mutex(void)
{
    for (int i = 0; i < N; i++) {
        pl_mutex_lock(&m);
        counter++;
        pl_mutex_unlock(&m);
    }
}
__attribute__((noinline)) static void run_mutex_fair(void)
{
    for (int i = 0; i < N; i++) {
        pl_mutex_lock(&m);
        counter++;
        pl_mutex_unlock_fair(&m);
    }
}
__attribute__((noinline)) static void run_mutex_try(void)
{
    for (int i = 0; i < N; i++) {
        if (pl_mutex_trylock(&m)) {
            counter++;
            pl_mutex_unlock(&m);
        }
    }
}
__attribute__((noinline)) static void run_mutex_for(void)
{
    for (int i = 0; i < N; i++) {
        if (pl_mutex_lock_for(&m, 1000000)) {
            counter++;
            pl_mutex_unlock(&m);
        }
    }
}
__attribute__((noinline)) static void run_rd(void)
{
    for (int i = 0; i < N; i++) {
        pl_rwlock_rdlock(&rw);
        counter++;
        pl_rwlock_rdunlock(&rw);
    }
}
__attribute__((noinline)) static void run_wr(void)
{
    for (int i = 0; i < N; i++) {
        pl_rwlock_wrlock(&rw);
        counter++;
        pl_rwlock_wrunlock(&rw);
    }
}
__attribute__((noinline)) static void run_rd_for(void)
{
    for (int i = 0; i < N; i++) {
        if (pl_rwlock_rdlock_for(&rw, 1000000)) {
            counter++;
            pl_rwlock_rdunlock(&rw);
        }
    }
}
__attribute__((noinline)) static void run_up(void)
{
    for (int i = 0; i < N; i++) {
        pl_rwlock_uplock(&rw);
        pl_rwlock_upgrade(&rw);
        counter++;
        pl_rwlock_downgrade(&rw);
        pl_rwlock_rdunlock(&rw);
    }
}
__attribute__((noinline)) static void run_remutex(void)
{
    for (int i = 0; i < N; i++) {
        pl_remutex_lock(&rm);
        counter++;
        pl_remutex_unlock(&rm);
    }
}
__attribute__((noinline)) static void run_bit64(void)
{
    for (int i = 0; i < N; i++) {
        pl_bitlock64_lock(&bits64, (uint64_t)1 << 63, (uint64_t)1 << 62);
        counter++;
        pl_bitlock64_unlock(&bits64, (uint64_t)1 << 63, (uint64_t)1 << 62);
    }
}
__attribute__((noinline)) static void run_bit8(void)
{
    for (int i = 0; i < N; i++) {
        pl_bitlock8_lock(&bits8, 1, 2);
        counter++;
        pl_bitlock8_unlock(&bits8, 1, 2);
    }
}
__attribute__((noinline)) static void run_once(void)
{
    for (int i = 0; i < N; i++)
        pl_call_once(&once, init, NULL);
}
__attribute__((noinline)) static void run_signal(void)
{
    for (int i = 0; i < N; i++) {
        pl_cond_signal(&cv);
        counter++;
    }
}

int main(void)
{
    run_mutex();
    run_mutex_fair();
    run_mutex_try();
    run_mutex_for();
    run_rd();
    run_wr();
    run_rd_for();
    run_up();
    run_remutex();
    run_bit64();
    run_bit8();
    run_once();
    run_signal();
    printf("%d\n", counter);
    return 0;
}
