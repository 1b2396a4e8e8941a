/* Debug mode: memory for its tables and per-thread records, from mmap rather than malloc.
 *
 * Why not malloc: a program may guard its allocator with our locks; a hook that called malloc
 * would then re-enter the lock it is checking.  (It also keeps libparking.so free of allocator
 * imports, which tests/CMakeLists.txt checks.)  Only debug mode uses it, always under
 * g_dbg_lock, so it needs no lock of its own.
 *
 * Sizes up to 64 KiB come from power-of-two classes (16 B ... 64 KiB) carved from 1 MiB mapped
 * chunks and recycled through one free list per class; uthash frees with the size it allocated
 * (uthash_free(ptr, size)), so blocks need no header.  Larger blocks are mapped and unmapped
 * on their own.  Chunks are never returned: debug mode's memory peaks at the program's largest
 * lock graph and thread count and is reused after that. */
#include <parking/export.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "debug_internal.h"

#define MIN_SHIFT 4u  /* 16 bytes */
#define MAX_SHIFT 16u /* 64 KiB */
#define CHUNK_BYTES ((size_t)1 << 20)

typedef struct free_block {
    struct free_block *next;
} free_block_t;

static free_block_t *g_free[MAX_SHIFT + 1];
static char *g_chunk; /* the current chunk's unused part */
static size_t g_chunk_left;

_Noreturn void pl_dbg_out_of_memory(const char *what)
{
    fprintf(stderr, "libparking: debug mode: out of memory (%s)\n", what);
    abort();
}

static size_t g_mapped; /* bytes mapped and not unmapped, for pl_debug_get_stats */

static void *map(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        pl_dbg_out_of_memory("mmap");
    g_mapped += size;
    return p;
}

size_t pl_dbg_mapped_bytes(void) { return g_mapped; }

static unsigned class_of(size_t size)
{
    unsigned shift = MIN_SHIFT;
    while (((size_t)1 << shift) < size)
        shift++;
    return shift;
}

void *pl_dbg_alloc(size_t size)
{
    if (size > ((size_t)1 << MAX_SHIFT))
        return map(size); /* zeroed by the kernel */
    unsigned c = class_of(size);
    size_t bytes = (size_t)1 << c;
    void *p;
    if (g_free[c]) {
        p = g_free[c];
        g_free[c] = g_free[c]->next;
    } else {
        if (g_chunk_left < bytes) {
            /* The rest of the old chunk is smaller than this class: leave it (at most 64 KiB
             * per MiB).  Every size is a multiple of 16, so blocks stay 16-byte aligned. */
            g_chunk = map(CHUNK_BYTES);
            g_chunk_left = CHUNK_BYTES;
        }
        p = g_chunk;
        g_chunk += bytes;
        g_chunk_left -= bytes;
    }
    memset(p, 0, bytes);
    return p;
}

void pl_dbg_free(void *ptr, size_t size)
{
    if (ptr == NULL)
        return;
    if (size > ((size_t)1 << MAX_SHIFT)) {
        munmap(ptr, size);
        g_mapped -= size;
        return;
    }
    unsigned c = class_of(size);
    free_block_t *b = ptr;
    b->next = g_free[c];
    g_free[c] = b;
}
