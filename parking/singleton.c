/* Exactly one parking table per process (docs/design.md, section 8).
 *
 * Two copies of the library in one process (libparking.a linked into a plugin, libparking.so in
 * the program) each have their own table, and a lock used through both can lose wake-ups.  The
 * copies cannot find each other through symbols: a plugin loaded with RTLD_LOCAL, or linked with
 * --exclude-libs or a version script, hides its copy from dlsym.  What every copy can see is the
 * list of loaded objects (dl_iterate_phdr) and their program headers, which no linker option
 * removes.  So every copy carries an ELF note, found through the PT_NOTE segment of whatever
 * object it was linked into, that leads to the copy's claim word; before a copy creates its first
 * table it sets its own word and reads everybody else's.
 *
 * The note (name "libparking", type PL_SINGLETON_NOTE_TYPE) has a 4-byte descriptor: the signed
 * distance from the descriptor to the copy's claim word, a link-time constant, so the note needs
 * no relocation at load time and can live in read-only memory.  Later versions of the library
 * must keep this format (or use a new note type and read both), or two versions in one process
 * would not see each other. */
#include "singleton.h"

#if defined(__linux__) && defined(__ELF__) && (defined(__GNUC__) || defined(__clang__))

#  include <link.h>
#  include <stdint.h>
#  include <stdio.h>
#  include <stdlib.h>
#  include <string.h>

#  define PL_SINGLETON_NOTE_NAME "libparking"
#  define PL_SINGLETON_NOTE_TYPE 0x4c500001 /* "LP", format 1 */
#  define PL_SINGLETON_STR2(x) #  x
#  define PL_SINGLETON_STR(x) PL_SINGLETON_STR2(x)

/* Non-zero once this copy has, or is about to create, a parking table.  Not static, so that the
 * note can name it from assembly whatever the compiler does to static names (LTO renames them);
 * hidden, so that it stays private to the object the copy is linked into. */
extern __attribute__((visibility("hidden"))) uint32_t pl__singleton_claim;
__attribute__((visibility("hidden"), used)) uint32_t pl__singleton_claim;

/* The note's descriptor, defined below.  Referring to it from code also keeps the note when a
 * program that links libparking.a garbage-collects unreferenced sections. */
extern __attribute__((visibility("hidden"))) const int32_t pl__singleton_note_desc[1];

/* "%note" rather than "@note": '@' starts a comment in ARM assembly. */
__asm__(".pushsection .note.libparking,\"a\",%note\n"
        "\t.balign 4\n"
        "\t.long 2f - 1f\n" /* namesz, with the NUL */
        "\t.long 4f - 3f\n" /* descsz */
        "\t.long " PL_SINGLETON_STR(PL_SINGLETON_NOTE_TYPE) "\n"
                                                            "1:\t.asciz \"" PL_SINGLETON_NOTE_NAME
                                                            "\"\n"
                                                            "2:\t.balign 4\n"
                                                            "3:\n"
                                                            "\t.globl pl__singleton_note_desc\n"
                                                            "\t.hidden pl__singleton_note_desc\n"
                                                            "pl__singleton_note_desc:\n"
                                                            "\t.long pl__singleton_claim - .\n"
                                                            "4:\n"
                                                            "\t.popsection\n");

struct scan {
    const uint32_t *own; /* this copy's claim word */
    char self[512];      /* object holding this copy */
    char other[512];     /* object holding another copy in use; "" while none */
};

static void object_name(char *out, size_t size, const struct dl_phdr_info *info)
{
    /* The main program has an empty name in the list. */
    snprintf(out, size, "%s",
             info->dlpi_name && info->dlpi_name[0] ? info->dlpi_name : "the main program");
}

static size_t align_up(size_t n, size_t align) { return (n + align - 1) & ~(align - 1); }

static void scan_notes(struct scan *s, const struct dl_phdr_info *info, const ElfW(Phdr) * ph)
{
    const unsigned char *p = (const unsigned char *)(info->dlpi_addr + ph->p_vaddr);
    size_t left = ph->p_memsz;
    /* Notes in a segment aligned to 8 are padded to 8 (gABI); every other is padded to 4. */
    size_t align = ph->p_align == 8 ? 8 : 4;
    while (left >= sizeof(ElfW(Nhdr))) {
        const ElfW(Nhdr) *n = (const ElfW(Nhdr) *)(const void *)p;
        size_t desc_off = align_up(sizeof *n + n->n_namesz, align);
        size_t next = align_up(desc_off + n->n_descsz, align);
        if (next > left)
            return; /* malformed: stop rather than read past the segment */
        if (n->n_type == PL_SINGLETON_NOTE_TYPE && n->n_namesz == sizeof PL_SINGLETON_NOTE_NAME &&
            n->n_descsz >= sizeof(int32_t) &&
            memcmp(p + sizeof *n, PL_SINGLETON_NOTE_NAME, sizeof PL_SINGLETON_NOTE_NAME) == 0) {
            const unsigned char *desc = p + desc_off;
            int32_t distance;
            memcpy(&distance, desc, sizeof distance);
            const uint32_t *claim = (const uint32_t *)(const void *)(desc + distance);
            if (claim == s->own) {
                object_name(s->self, sizeof s->self, info);
            } else if (s->other[0] == '\0' && __atomic_load_n(claim, __ATOMIC_SEQ_CST) != 0) {
                object_name(s->other, sizeof s->other, info);
            }
        }
        p += next;
        left -= next;
    }
}

static int visit(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    for (ElfW(Half) i = 0; i < info->dlpi_phnum; i++) {
        if (info->dlpi_phdr[i].p_type == PT_NOTE)
            scan_notes(arg, info, &info->dlpi_phdr[i]);
    }
    return 0;
}

void pl_singleton_claim(void)
{
    /* Store our claim before reading the others', both sequentially consistent (Dekker): of two
     * copies creating their first tables at the same moment, at least one sees the other.
     * Once the word is set another thread of this copy has done, or is doing, the check. */
    if (__atomic_exchange_n(&pl__singleton_claim, 1, __ATOMIC_SEQ_CST) != 0)
        return;

    struct scan s;
    s.own = &pl__singleton_claim;
    snprintf(s.self, sizeof s.self, "%s", "an unknown object");
    s.other[0] = '\0';
    /* Keeps the note alive under --gc-sections; its value is checked by the scan itself. */
    __asm__ volatile("" : : "r"(pl__singleton_note_desc));
    dl_iterate_phdr(visit, &s);
    if (s.other[0] == '\0')
        return;

    fprintf(stderr,
            "libparking: fatal: two copies of libparking are in use in this process: the copy "
            "in %s is starting while the copy in %s is already in use.\n"
            "libparking: each copy has its own parking lot, so a lock used through both could "
            "lose wake-ups and hang.\n"
            "libparking: fix: link every module that uses libparking (the program, its libraries "
            "and plugins) against the shared library libparking.so (CMake: parking::parking; "
            "pkg-config: parking without --static), not the static libparking.a. "
            "See docs/consuming.md.\n",
            s.self, s.other);
    abort();
}

#else /* no dl_iterate_phdr or no ELF notes: nothing to check with */

void pl_singleton_claim(void) {}

#endif
