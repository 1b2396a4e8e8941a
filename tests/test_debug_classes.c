/* Tests of debug mode's lock classes (include/parking/debug.h, "Lock classes"): the order is
 * checked between classes of locks, not single locks, so that a program with a million locks
 * runs in bounded memory (docs/design.md §11).
 *
 * Like tests/test_debug.c, this file turns debug mode on for itself, so it runs in every build.
 * The locks here are on the heap (a static lock is a class of its own, which test_debug.c's
 * tests use); each is first taken through a helper that is never inlined, so that every lock
 * taken through one helper has one call site, hence one class.  Tests that need a fresh debug
 * mode (an environment setting, counters from zero) or that end in an abort run in a child. */
#define PARKING_DEBUG 1
#include "test_util.h"

#include <parking/debug.h>
#include <parking/mutex.h>

#if !defined(_WIN32)

/* The tests invert lock orders on purpose: debug mode must report them, not ThreadSanitizer's
 * own deadlock detector (as in tests/test_debug.c). */
#  if defined(__has_feature)
#    if __has_feature(thread_sanitizer)
#      define TEST_TSAN 1
#    endif
#  endif
#  if defined(__SANITIZE_THREAD__) || defined(TEST_TSAN)
const char *__tsan_default_options(void);
const char *__tsan_default_options(void) { return "detect_deadlocks=0"; }
#  endif

#  if defined(TEST_TSAN) || defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#    define TEST_SANITIZER 1
#  elif defined(__has_feature)
#    if __has_feature(address_sanitizer)
#      define TEST_SANITIZER 1
#    endif
#  endif
#  ifndef TEST_SANITIZER
#    define TEST_SANITIZER 0
#  endif

/* ---- Helpers ---- */

/* Runs fn(arg) in a child with stderr (and stdout) on a pipe: the child's exit status and what
 * it printed (as tests/test_debug.c's run_child). */
static int run_child(void (*fn)(void *), void *arg, char *text, size_t size)
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(fds[1], 1);
        dup2(fds[1], 2);
        close(fds[0]);
        fn(arg);
        fflush(stdout);
        fflush(stderr);
        _exit(0);
    }
    close(fds[1]);
    size_t len = 0;
    ssize_t r;
    while (len < size - 1 && (r = read(fds[0], text + len, size - 1 - len)) > 0)
        len += (size_t)r;
    text[len] = '\0';
    close(fds[0]);
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    return status;
}

static bool aborted(int status) { return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT; }
static bool exited_ok(int status) { return WIFEXITED(status) && WEXITSTATUS(status) == 0; }

static size_t count_of(const char *text, const char *needle)
{
    size_t n = 0;
    for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

static char g_addr[2][64];
static const char *addr(int slot, const void *p)
{
    return tu_addr_text(p, g_addr[slot], sizeof g_addr[slot]);
}

/* One call site each: the class of every lock first taken through it.  Each counts in a
 * variable of its own, or the compiler may fold the three identical functions into one. */
static volatile int g_taken_a, g_taken_b, g_taken_page;
__attribute__((noinline)) static void lock_a(pl_mutex_t *m)
{
    pl_mutex_lock(m);
    g_taken_a = g_taken_a + 1;
}
__attribute__((noinline)) static void lock_b(pl_mutex_t *m)
{
    pl_mutex_lock(m);
    g_taken_b = g_taken_b + 1;
}
__attribute__((noinline)) static void lock_page(pl_mutex_t *m)
{
    pl_mutex_lock(m);
    g_taken_page = g_taken_page + 1;
}

static pl_mutex_t *new_locks(size_t n)
{
    pl_mutex_t *m = calloc(n, sizeof *m); /* PL_MUTEX_INIT is all zero */
    ck_assert_ptr_nonnull(m);
    return m;
}

/* ---- Orders between classes ---- */

enum { INSTANCES = 64 };

/* Locks of class A, then of class B, each pair different. */
static void *a_then_b(void *arg)
{
    pl_mutex_t *a = arg, *b = a + INSTANCES;
    for (int i = 0; i < INSTANCES / 2; i++) {
        lock_a(&a[i]);
        lock_b(&b[i]);
        pl_mutex_unlock(&b[i]);
        pl_mutex_unlock(&a[i]);
    }
    return NULL;
}

/* Another thread has taken A then B (gone now); this one takes B then A, with locks that the
 * first thread never touched. */
static void class_inversion(void *arg)
{
    pl_mutex_t *a = arg, *b = a + INSTANCES;
    pthread_t t;
    tu_spawn(&t, a_then_b, a);
    tu_join(t);
    fprintf(stderr, "a then b: no report\n");
    lock_b(&b[INSTANCES - 1]);
    lock_a(&a[INSTANCES - 1]);
}

START_TEST(inversion_between_classes_aborts)
{
    pl_mutex_t *a = new_locks(2 * INSTANCES);
    char text[4096];
    int status = run_child(class_inversion, a, text, sizeof text);
    ck_assert_msg(aborted(status), "no abort: %s", text);
    ck_assert_msg(strstr(text, "a then b: no report"), "reported too early: %s", text);
    const char *needles[] = {"libparking: pl_mutex_lock(",
                             addr(0, &a[INSTANCES - 1]),
                             "): lock order inversion: this thread takes it while holding ",
                             addr(1, &a[2 * INSTANCES - 1]),
                             "but a lock of the class of",
                             "was taken while holding one of the class of this one earlier",
                             "class of the locks first taken at ",
                             "earlier: thread ",
                             NULL};
    for (const char *const *n = needles; *n; n++)
        ck_assert_msg(strstr(text, *n), "message \"%s\" lacks \"%s\"", text, *n);
    free(a);
}
END_TEST

/* The same orders, both threads consistent: never reported. */
START_TEST(consistent_classes_not_reported)
{
    pl_mutex_t *a = new_locks(2 * INSTANCES);
    pthread_t t[2];
    tu_spawn(&t[0], a_then_b, a);
    tu_spawn(&t[1], a_then_b, a);
    tu_join(t[0]);
    tu_join(t[1]);
    pl_debug_stats_t st;
    pl_debug_get_stats(&st);
    ck_assert_uint_eq(st.orders, 1); /* A -> B, whatever the locks */
    free(a);
}
END_TEST

/* ---- Nesting in one class ---- */

enum { PAGES = 1000 };

/* Lock coupling down `n` pages of one class, with or without the annotation. */
static void couple(pl_mutex_t *pages, size_t n, bool annotate)
{
    lock_page(&pages[0]);
    for (size_t i = 0; i + 1 < n; i++) {
        if (annotate)
            pl_debug_nest(&pages[i + 1], 1);
        lock_page(&pages[i + 1]);
        pl_mutex_unlock(&pages[i]);
    }
    pl_mutex_unlock(&pages[n - 1]);
}

static void couple_plain(void *arg) { couple(arg, PAGES, false); }

START_TEST(same_class_nesting_aborts_without_annotation)
{
    pl_mutex_t *pages = new_locks(PAGES);
    char text[4096];
    int status = run_child(couple_plain, pages, text, sizeof text);
    ck_assert_msg(aborted(status), "no abort: %s", text);
    const char *needles[] = {"libparking: pl_mutex_lock(",
                             addr(0, &pages[1]),
                             "): possible recursive locking: this thread holds ",
                             addr(1, &pages[0]),
                             "of the same lock class",
                             "pl_debug_nest(lock, 1)",
                             NULL};
    for (const char *const *n = needles; *n; n++)
        ck_assert_msg(strstr(text, *n), "message \"%s\" lacks \"%s\"", text, *n);
    free(pages);
}
END_TEST

START_TEST(same_class_nesting_annotated_not_reported)
{
    pl_mutex_t *pages = new_locks(PAGES);
    couple(pages, PAGES, true);
    couple(pages, PAGES, true); /* again, now that every page has its class */
    pl_debug_stats_t st;
    pl_debug_get_stats(&st);
    ck_assert_uint_eq(st.classes, 2); /* the page class at levels 0 and 1 */
    ck_assert_uint_eq(st.orders, 1);  /* level 0 before level 1 */
    ck_assert_uint_eq(st.locks_known, PAGES);
    pl_debug_forget(pages, PAGES * sizeof *pages); /* before free: the pages' classes go */
    pl_debug_get_stats(&st);
    ck_assert_uint_eq(st.locks_known, 0);
    ck_assert_uint_eq(st.classes, 2); /* a class of a call site stays */
    free(pages);
}
END_TEST

/* An annotated order is an order like any other: level 1 of a class, then level 0 of it
 * (a child page, then its parent) inverts the coupling's order. */
static void nest_then_reverse(void *arg)
{
    pl_mutex_t *pages = arg;
    couple(pages, 3, true);
    fprintf(stderr, "coupling: no report\n");
    lock_page(&pages[1]);
    pl_debug_nest(&pages[1], 1); /* moves the hold to level 1 */
    lock_page(&pages[0]);        /* level 0 */
}

START_TEST(nested_levels_are_ordered)
{
    pl_mutex_t *pages = new_locks(3);
    char text[4096];
    int status = run_child(nest_then_reverse, pages, text, sizeof text);
    ck_assert_msg(aborted(status), "no abort: %s", text);
    ck_assert_msg(strstr(text, "coupling: no report"), "reported too early: %s", text);
    ck_assert_msg(strstr(text, "lock order inversion") && strstr(text, "nesting level 1"), "%s",
                  text);
    free(pages);
}
END_TEST

/* ---- Named classes ---- */

static pl_debug_class_t g_left = PL_DEBUG_CLASS_INIT("left");
static pl_debug_class_t g_right = PL_DEBUG_CLASS_INIT("right");

/* Two locks of one call site in classes of their own: nesting them is an order, and the
 * reverse order is an inversion that names both classes. */
static void named_inversion(void *arg)
{
    pl_mutex_t *m = arg;
    pl_debug_set_class(&m[0], &g_left);
    pl_debug_set_class(&m[1], &g_right);
    lock_page(&m[0]);
    lock_page(&m[1]);
    pl_mutex_unlock(&m[1]);
    pl_mutex_unlock(&m[0]);
    fprintf(stderr, "left then right: no report\n");
    lock_page(&m[1]);
    lock_page(&m[0]);
}

/* Two locks of different call sites put in one class: nesting them is recursive locking. */
static void named_same_class(void *arg)
{
    pl_mutex_t *m = arg;
    pl_debug_set_class(&m[0], &g_left);
    pl_debug_set_class(&m[1], &g_left);
    lock_a(&m[0]);
    lock_b(&m[1]);
}

START_TEST(named_classes)
{
    pl_mutex_t *m = new_locks(2);
    char text[4096];
    int status = run_child(named_inversion, m, text, sizeof text);
    ck_assert_msg(aborted(status), "no abort: %s", text);
    ck_assert_msg(strstr(text, "left then right: no report"), "reported too early: %s", text);
    ck_assert_msg(strstr(text, "lock order inversion") && strstr(text, "(class \"left\"") &&
                      strstr(text, "(class \"right\""),
                  "%s", text);
    status = run_child(named_same_class, m, text, sizeof text);
    ck_assert_msg(aborted(status), "no abort: %s", text);
    ck_assert_msg(strstr(text, "possible recursive locking") && strstr(text, "(class \"left\""),
                  "%s", text);
    free(m);
}
END_TEST

/* ---- Bounded memory ---- */

/* 100,000 locks coupled (the measurement program bench/debug_coupling.c does 1,000,000): debug
 * mode remembers at most 65,536 of them, and its memory stays a few MiB (it was 80 MB when
 * every lock was a node of the order graph). */
START_TEST(coupling_memory_bounded)
{
    /* Under valgrind 20,000, below the table's size; under a sanitizer just above it. */
    size_t n = TEST_SANITIZER ? 70000 : tu_scaled(100000, 20000);
    size_t known = n < 65536 ? n : 65536;
    pl_mutex_t *pages = new_locks(n);
    long rss0 = tu_rss_kib();
    couple(pages, n, true);
    long rss1 = tu_rss_kib();
    pl_debug_stats_t st;
    pl_debug_get_stats(&st);
    ck_assert_uint_eq(st.classes, 2);
    ck_assert_uint_eq(st.orders, 1);
    ck_assert_uint_eq(st.locks_known, known);
    ck_assert_uint_eq(st.locks_forgotten, n - known);
    ck_assert_msg(st.bytes <= (size_t)8 << 20, "debug mode mapped %zu bytes", st.bytes);
    /* valgrind's and the sanitizers' own memory (shadow of the pages touched) would count too;
     * st.bytes above is the bound there. */
    if (!tu_under_valgrind() && !TEST_SANITIZER && rss0 > 0)
        ck_assert_msg(rss1 - rss0 < 16 * 1024, "RSS grew by %ld KiB", rss1 - rss0);
    free(pages);
}
END_TEST

/* A full table of locks forgets old ones but keeps checking: PARKING_DEBUG_LOCKS=100, and an
 * inversion between classes of locks taken long after is still found. */
static void small_table(void *arg)
{
    (void)arg;
    setenv("PARKING_DEBUG_LOCKS", "100", 1);
    pl_mutex_t *a = new_locks(2000), *b = a + 1000;
    for (int i = 0; i < 1000; i++) {
        lock_a(&a[i]);
        lock_b(&b[i]);
        pl_mutex_unlock(&b[i]);
        pl_mutex_unlock(&a[i]);
    }
    pl_debug_stats_t st;
    pl_debug_get_stats(&st);
    fprintf(stderr, "known %zu forgotten %zu\n", st.locks_known, st.locks_forgotten);
    lock_b(&b[0]);
    lock_a(&a[0]);
}

START_TEST(full_table_forgets_and_counts)
{
    char text[4096];
    int status = run_child(small_table, NULL, text, sizeof text);
    ck_assert_msg(aborted(status), "no abort: %s", text);
    ck_assert_msg(strstr(text, "known 100 forgotten 1900"), "%s", text);
    ck_assert_msg(strstr(text, "lock order inversion"), "%s", text);
}
END_TEST

/* Named locks are never forgotten: with room for 16, the 17th naming is refused, said once,
 * and counted. */
static void named_table_full(void *arg)
{
    (void)arg;
    setenv("PARKING_DEBUG_LOCKS", "16", 1);
    pl_mutex_t *m = new_locks(20);
    for (int i = 0; i < 20; i++)
        pl_debug_set_class(&m[i], &g_left);
    pl_debug_stats_t st;
    pl_debug_get_stats(&st);
    fprintf(stderr, "known %zu refused %zu\n", st.locks_known, st.classes_refused);
    lock_page(&m[19]); /* a lock with its default class still works */
    pl_mutex_unlock(&m[19]);
}

START_TEST(named_table_full_refuses)
{
    char text[4096];
    int status = run_child(named_table_full, NULL, text, sizeof text);
    ck_assert_msg(exited_ok(status), "status %d: %s", status, text);
    ck_assert_msg(strstr(text, "known 16 refused 4"), "%s", text);
    ck_assert_msg(count_of(text, "every remembered lock is a named one") == 1, "%s", text);
}
END_TEST

/* More classes than the graph holds (static locks are a class each): counted, said once, the
 * program goes on. */
enum { MANY_CLASSES = 16500 };
static pl_mutex_t g_many[MANY_CLASSES];
static pl_mutex_t g_outer;

static void too_many_classes(void *arg)
{
    (void)arg;
    pl_mutex_lock(&g_outer);
    for (int i = 0; i < MANY_CLASSES; i++) {
        pl_mutex_lock(&g_many[i]);
        pl_mutex_unlock(&g_many[i]);
    }
    pl_mutex_unlock(&g_outer);
    pl_debug_stats_t st;
    pl_debug_get_stats(&st);
    fprintf(stderr, "classes %zu dropped %zu\n", st.classes, st.classes_dropped);
}

START_TEST(class_table_full_counts)
{
    char text[4096];
    int status = run_child(too_many_classes, NULL, text, sizeof text);
    ck_assert_msg(exited_ok(status), "status %d: %s", status, text);
    ck_assert_msg(strstr(text, "classes 16384 dropped 117"), "%s", text);
    ck_assert_msg(count_of(text, "more than 16384 lock classes") == 1, "%s", text);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("debug_classes");
    TCase *tc = tu_tcase(s, "orders", 60);
    tcase_add_test(tc, inversion_between_classes_aborts);
    tcase_add_test(tc, consistent_classes_not_reported);
    tc = tu_tcase(s, "nesting", 60);
    tcase_add_test(tc, same_class_nesting_aborts_without_annotation);
    tcase_add_test(tc, same_class_nesting_annotated_not_reported);
    tcase_add_test(tc, nested_levels_are_ordered);
    tc = tu_tcase(s, "named", 60);
    tcase_add_test(tc, named_classes);
    tc = tu_tcase(s, "bounds", 120);
    tcase_add_test(tc, coupling_memory_bounded);
    tcase_add_test(tc, full_table_forgets_and_counts);
    tcase_add_test(tc, named_table_full_refuses);
    tcase_add_test(tc, class_table_full_counts);
    return tu_run_suite(s);
}

#else /* _WIN32: debug mode does not exist; the annotations are inert. */

START_TEST(inert_on_windows)
{
    pl_mutex_t m = PL_MUTEX_INIT;
    static pl_debug_class_t c = PL_DEBUG_CLASS_INIT("c");
    pl_debug_set_class(&m, &c);
    pl_debug_nest(&m, 1);
    pl_mutex_lock(&m);
    pl_mutex_unlock(&m);
    pl_debug_stats_t st;
    pl_debug_get_stats(&st);
    ck_assert_uint_eq(st.classes, 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("debug_classes");
    TCase *tc = tu_tcase(s, "windows", 30);
    tcase_add_test(tc, inert_on_windows);
    return tu_run_suite(s);
}

#endif /* !_WIN32 */
