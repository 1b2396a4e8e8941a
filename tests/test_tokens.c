/* The park tokens of the two-bit lock algorithm (src/lock_algorithm.c), checked white-box for
 * every width and every pair of lock and parked bits: a condition waiter's token is never any
 * lock's waiter token in the same word (issue 17: for a lock on bit 63, t | t << 1 was t itself,
 * every ordinary waiter was taken for a condition waiter, and the unlock took a late-release
 * path that wrote the word after releasing it).
 *
 * The file is compiled into this test under other names, so that it calls the real token
 * functions without exporting them from the library. */
#include "test_util.h"

#define pl_misuse tok_misuse
#define pl_cond_waiter_token tok_cond_waiter_token
#define pl_lock_slow tok_lock_slow
#define pl_unlock_slow tok_unlock_slow
#define pl_unlock_slow_ex tok_unlock_slow_ex
#define pl_unlocked_slow tok_unlocked_slow
#include "../src/lock_algorithm.c"

static int cmp_token(const void *a, const void *b)
{
    uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
    return x < y ? -1 : x > y;
}

/* Every (lock bit, parked bit) pair of a `size`-byte word. */
static void check_width(unsigned size)
{
    unsigned bits = 8 * size;
    size_t n = (size_t)bits * (bits - 1);
    uintptr_t *waiters = malloc(n * sizeof *waiters);
    uintptr_t *all = malloc(2 * n * sizeof *all);
    ck_assert_ptr_nonnull(waiters);
    ck_assert_ptr_nonnull(all);
    size_t k = 0;
    uint64_t word = 0;
    for (unsigned i = 0; i < bits; i++) {
        for (unsigned j = 0; j < bits; j++) {
            if (i == j)
                continue;
            pl_lock_word_t lw = {&word, size, (uint64_t)1 << i, (uint64_t)1 << j};
            uintptr_t t = waiter_token(&lw), c = tok_cond_waiter_token(&lw);
            ck_assert_msg(c != t,
                          "%u-byte word, lock bit %u, parked bit %u: condition token "
                          "0x%jx equals the waiter token",
                          size, i, j, (uintmax_t)c);
            waiters[k] = t;
            all[2 * k] = t;
            all[2 * k + 1] = c;
            k++;
        }
    }
    /* Nor is it the waiter token of any other lock of the word. */
    qsort(waiters, n, sizeof *waiters, cmp_token);
    for (size_t x = 0; x < n; x++) {
        uintptr_t c = all[2 * x + 1];
        ck_assert_msg(!bsearch(&c, waiters, n, sizeof *waiters, cmp_token),
                      "%u-byte word: condition token 0x%jx is another lock's waiter token", size,
                      (uintmax_t)c);
    }
    free(waiters);
    free(all);
}

START_TEST(condition_token_never_a_waiter_token)
{
    check_width(1);
    check_width(2);
    check_width(4);
    check_width(8);
}
END_TEST

/* The mutex's tokens, which tests/test_cond.c relies on: lock | parked, and its complement. */
START_TEST(mutex_tokens)
{
    uint8_t byte = 0;
    pl_lock_word_t lw = {&byte, 1, 1, 2};
    ck_assert_uint_eq(waiter_token(&lw), 3);
    ck_assert_uint_eq(tok_cond_waiter_token(&lw), ~(uintptr_t)3);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("tokens");
    TCase *tc = tu_tcase(s, "tokens", 30);
    tcase_add_test(tc, condition_token_never_a_waiter_token);
    tcase_add_test(tc, mutex_tokens);
    return tu_run_suite(s);
}
