/* PL__CAS (<parking/cas.h>), the compare-and-swap every lock word of the library goes through,
 * on words whose top bit is set.  GCC 12 on riscv64 compared a 32-bit word's sign-extended value
 * with an expected value narrowed from 64 bits (so zero-extended): bit 31 set, the CAS skipped
 * its store and reported success anyway (docs/platforms.md, "riscv64").  Every width, signed and
 * unsigned, succeeding and failing, with the expected value in the forms that broke; then
 * threads counting a word up across bit 31. */
#include <check.h>
#include <stdint.h>

#include <parking/cas.h>
#include "test_util.h"

/* Out of line, as the library's generic lock algorithm has it: the word's expected value is a
 * uint64_t narrowed to 32 bits. */
static PARKING_NOINLINE bool cas32_narrowed(uint32_t *w, uint64_t *expected, uint64_t desired)
{
    uint32_t e = (uint32_t)*expected;
    bool ok = PL__CAS(w, &e, (uint32_t)desired, false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
    *expected = e;
    return ok;
}

static PARKING_NOINLINE bool cas32_weak_narrowed(uint32_t *w, uint64_t expected, uint32_t desired)
{
    uint32_t e = (uint32_t)(expected >> 1);
    return PL__CAS(w, &e, desired, true, __ATOMIC_RELEASE, __ATOMIC_RELAXED);
}

static const uint32_t top_values[] = {0x80000000u, 0x80000001u, 0xC0000000u, 0xDEADBEEFu,
                                      0xFFFFFFFFu};

START_TEST(u32_with_bit_31_set_stores)
{
    for (int i = 0; i < TU_LEN(top_values); i++) {
        uint32_t v = top_values[i];
        uint32_t w = v;
        uint64_t e = v;
        ck_assert(cas32_narrowed(&w, &e, 1));
        ck_assert_uint_eq(w, 1);
        ck_assert_uint_eq(e, v);

        w = v;
        bool ok = false;
        for (int tries = 0; tries < 1000 && !ok; tries++)
            ok = cas32_weak_narrowed(&w, (uint64_t)v << 1, 2);
        ck_assert(ok);
        ck_assert_uint_eq(w, 2);

        /* The expected value a plain load gives, and a constant. */
        w = v;
        uint32_t loaded = __atomic_load_n(&w, __ATOMIC_RELAXED);
        ck_assert(PL__CAS(&w, &loaded, 3, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST));
        ck_assert_uint_eq(w, 3);
        w = 0x80000000u;
        uint32_t constant = 0x80000000u;
        ck_assert(PL__CAS(&w, &constant, 4, false, __ATOMIC_ACQUIRE, __ATOMIC_ACQUIRE));
        ck_assert_uint_eq(w, 4);

        int32_t sw = (int32_t)v, se = (int32_t)v;
        ck_assert(PL__CAS(&sw, &se, 5, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE));
        ck_assert_int_eq(sw, 5);
    }
}
END_TEST

/* A failed CAS stores nothing, reports failure and hands back the word as it is. */
START_TEST(u32_with_bit_31_set_fails_when_different)
{
    for (int i = 0; i < TU_LEN(top_values); i++) {
        uint32_t v = top_values[i];
        uint32_t w = v;
        uint64_t e = v ^ 0x40000000u;
        ck_assert(!cas32_narrowed(&w, &e, 1));
        ck_assert_uint_eq(w, v);
        ck_assert_uint_eq(e, v);

        w = v & 0x7FFFFFFFu; /* the same low bits, bit 31 clear */
        e = v;
        ck_assert(!cas32_narrowed(&w, &e, 1));
        ck_assert_uint_eq(w, v & 0x7FFFFFFFu);
        ck_assert_uint_eq(e, v & 0x7FFFFFFFu);

        int32_t sw = (int32_t)v, se = 0;
        ck_assert(!PL__CAS(&sw, &se, 5, false, __ATOMIC_RELEASE, __ATOMIC_RELAXED));
        ck_assert_int_eq(sw, (int32_t)v);
        ck_assert_int_eq(se, (int32_t)v);
    }
}
END_TEST

/* The 64-bit word and a pointer, bits 31 and 63; the 1- and 2-byte words at every place in an
 * 8-byte word (a 32-bit or 64-bit word around them whose top bit is set), the bytes beside them
 * untouched. */
START_TEST(other_widths_with_top_bits_set)
{
    static const uint64_t v64[] = {0x80000000u, 0x8000000000000000u, 0xFFFFFFFF80000000u,
                                   0xFFFFFFFFFFFFFFFFu};
    for (int i = 0; i < TU_LEN(v64); i++) {
        uint64_t w = v64[i], e = v64[i];
        ck_assert(PL__CAS(&w, &e, 1, false, __ATOMIC_RELEASE, __ATOMIC_RELAXED));
        ck_assert_uint_eq(w, 1);
        w = v64[i];
        e = v64[i] ^ 1;
        ck_assert(!PL__CAS(&w, &e, 1, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE));
        ck_assert_uint_eq(e, v64[i]);
    }
    static char a, b;
    char *p = &a, *pe = &a;
    ck_assert(PL__CAS(&p, &pe, &b, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE));
    ck_assert_ptr_eq(p, &b);
    ck_assert(!PL__CAS(&p, &pe, &a, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE));
    ck_assert_ptr_eq(pe, &b);

    union {
        uint64_t all;
        uint8_t b[8];
        uint16_t h[4];
    } u;
    for (int i = 0; i < 8; i++) {
        u.all = UINT64_MAX;
        uint8_t e = 0xFF;
        ck_assert(PL__CAS(&u.b[i], &e, 0x7F, false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED));
        for (int j = 0; j < 8; j++)
            ck_assert_uint_eq(u.b[j], j == i ? 0x7F : 0xFF);
        e = 0xFF;
        ck_assert(!PL__CAS(&u.b[i], &e, 0, false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED));
        ck_assert_uint_eq(e, 0x7F);
    }
    for (int i = 0; i < 4; i++) {
        u.all = UINT64_MAX;
        uint16_t e = 0xFFFF;
        ck_assert(PL__CAS(&u.h[i], &e, 0x7FFF, false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED));
        for (int j = 0; j < 4; j++)
            ck_assert_uint_eq(u.h[j], j == i ? 0x7FFF : 0xFFFF);
    }
}
END_TEST

/* Threads count one word up through bit 31 by CAS with the narrowed expected value: a CAS that
 * reports success without storing loses counts. */
enum { COUNTERS = 4 };
static uint32_t counter;
static size_t per_thread;

static void *count_up(void *arg)
{
    (void)arg;
    uint64_t e = __atomic_load_n(&counter, __ATOMIC_RELAXED);
    for (size_t i = 0; i < per_thread; i++)
        while (!cas32_narrowed(&counter, &e, e + 1)) {
        }
    return NULL;
}

START_TEST(threads_count_across_bit_31)
{
    per_thread = tu_scaled(100000, 2000);
    counter = 0x80000000u - (uint32_t)(COUNTERS * per_thread / 2);
    uint32_t start = counter;
    pthread_t t[COUNTERS];
    for (int i = 0; i < COUNTERS; i++)
        tu_spawn(&t[i], count_up, NULL);
    for (int i = 0; i < COUNTERS; i++)
        tu_join(t[i]);
    ck_assert_uint_eq(counter, start + (uint32_t)(COUNTERS * per_thread));
}
END_TEST

static Suite *cas_suite(void)
{
    Suite *s = suite_create("cas");
    TCase *tc = tu_tcase(s, "basic", 30);
    tcase_add_test(tc, u32_with_bit_31_set_stores);
    tcase_add_test(tc, u32_with_bit_31_set_fails_when_different);
    tcase_add_test(tc, other_widths_with_top_bits_set);
    tc = tu_tcase(s, "threads", 60);
    tcase_add_test(tc, threads_count_across_bit_31);
    return s;
}

int main(void) { return tu_run_suite(cas_suite()); }
