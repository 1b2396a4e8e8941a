/* Bit lock and pointer lock slow paths: the shared two-bit lock algorithm (lock_algorithm.c) on
 * the caller's word and bits, after checking what the inline fast paths could not. */
#include <parking/bitlock.h>

#include <inttypes.h>
#include <stdio.h>

#include "contention.h"
#include "lock_algorithm.h"
#include <parking/lot.h>
#include "chaos.h"
#include "probes.h"

void pl_bitlock_bad_masks(const void *word, uint64_t lock_bit, uint64_t parked_bit,
                          uint64_t clear_mask, uint64_t set_mask, const char *fn)
{
    char what[200];
    if (!pl_bitlock__masks_ok(lock_bit, parked_bit))
        snprintf(what, sizeof what,
                 "lock_bit 0x%" PRIx64 " and parked_bit 0x%" PRIx64
                 " must each be a single bit of the word, and differ",
                 lock_bit, parked_bit);
    else
        snprintf(what, sizeof what,
                 "clear_mask 0x%" PRIx64 " / set_mask 0x%" PRIx64
                 " touch the lock's own bits 0x%" PRIx64 " (only the caller's bits may change)",
                 clear_mask, set_mask, lock_bit | parked_bit);
    pl_misuse(fn, word, what);
}

void pl_ptrlock_bad_set(const pl_ptrlock_t *pl, const void *ptr, const char *fn)
{
    char what[160];
    if ((uintptr_t)ptr & PL_PTRLOCK_BITS)
        snprintf(what, sizeof what,
                 "pointer %p is not 4-aligned (the two low bits of the word are the lock)", ptr);
    else
        snprintf(what, sizeof what, "the pointer lock is not locked (set needs the lock held)");
    pl_misuse(fn, pl, what);
}

/* Checks what the slow paths are reached with: a direct caller of these exported functions,
 * or masks wider than the word (the inline functions cannot pass those), must not corrupt
 * memory next to the word. */
static pl_lock_word_t make_word(void *word, unsigned size, uint64_t lock_bit, uint64_t parked_bit,
                                const char *fn)
{
    if (size != 1 && size != 2 && size != 4 && size != 8)
        pl_misuse(fn, word, "word size must be 1, 2, 4 or 8 bytes");
    if ((uintptr_t)word % size != 0)
        pl_misuse(fn, word, "the word is not naturally aligned (atomic access needs it)");
    if (!pl_bitlock__masks_ok(lock_bit, parked_bit))
        pl_bitlock_bad_masks(word, lock_bit, parked_bit, 0, 0, fn);
    uint64_t width = size == 8 ? UINT64_MAX : ((uint64_t)1 << (8 * size)) - 1;
    if ((lock_bit | parked_bit) & ~width) {
        char what[160];
        snprintf(what, sizeof what,
                 "lock_bit 0x%" PRIx64 " or parked_bit 0x%" PRIx64 " lies outside the %u-byte word",
                 lock_bit, parked_bit, size);
        pl_misuse(fn, word, what);
    }
    pl_lock_word_t lw = {word, size, lock_bit, parked_bit};
    return lw;
}

bool pl_bitlock_lock_slow(void *word, unsigned size, uint64_t lock_bit, uint64_t parked_bit,
                          uint64_t deadline, const char *fn)
{
    pl_lock_word_t lw = make_word(word, size, lock_bit, parked_bit, fn);
    PL_CHAOS_POINT(); /* the fast path's failed attempt goes stale */
    PL_PROBE3(slow_begin, word, PL_PRIM_BITLOCK, PL_MODE_EXCLUSIVE);
    if (PL_CONTENTION_WATCHED())
        return pl_lock_slow_watched(&lw, deadline, PL_PRIM_BITLOCK, __builtin_return_address(0));
    uint32_t parks = 0;
    return pl_lock_slow(&lw, deadline, &parks);
}

void pl_bitlock_unlock_slow(void *word, unsigned size, uint64_t lock_bit, uint64_t parked_bit,
                            bool fair, const char *fn)
{
    pl_lock_word_t lw = make_word(word, size, lock_bit, parked_bit, fn);
    PL_CHAOS_POINT();
    pl_unlock_slow(&lw, fair, fn);
}
