/* No release path touches a lock's memory after another thread can see the lock released
 * (docs/design.md, "The memory of a released lock"; issue 10).
 *
 * How a window is forced without a test hook in the library: every slow release takes the
 * parking lot's bucket lock of the lock's key.  A helper thread holds that bucket lock (it sits
 * inside the callback of its own pl_unpark_filter on the key) while the unlocker runs, so the
 * unlocker stops exactly at the point where it needs the bucket.  Meanwhile the main thread
 * watches the lock word.  A correct release is still pending there: the word keeps showing the
 * lock held.  The old releases (the mutex's subtraction, the last reader's decrement) had
 * already let go, and then wrote the word again once the bucket lock came free.  If the main
 * thread ever sees the lock released during the window, it does what a user may do then: takes
 * the memory over (here: writes a canary, and under AddressSanitizer poisons it as free() would)
 * and the test fails, with a report from ASan of the late write in sanitizer builds.
 *
 * The window is a bounded watch (RELEASE_WATCH_NS): the old code released within microseconds
 * of the unlock call, and a correct one never does while the bucket is held, however long. */
#include "test_util.h"

#include <parking/barrier.h>
#include <parking/bitlock.h>
#include <parking/event.h>
#include <parking/latch.h>
#include <parking/mutex.h>
#include <parking/remutex.h>
#include <parking/rwlock.h>
#include <parking/semaphore.h>

#if defined(__SANITIZE_ADDRESS__)
#  include <sanitizer/asan_interface.h>
#  define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#  define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#  define POISON(p, n) ((void)(p), (void)(n))
#  define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define RELEASE_WATCH_NS (300ull * TU_MS)

/* ---- Holding a bucket lock from a helper thread ---- */

typedef struct hold {
    const void *key;
    pthread_t thread;
    atomic_int holding;
    atomic_int go;
} hold_t;

static pl_filter_op_t skip_all(void *ctx, uintptr_t token)
{
    (void)ctx;
    (void)token;
    return PL_FILTER_SKIP;
}

static uintptr_t hold_callback(void *ctx, pl_unpark_result_t result)
{
    (void)result;
    hold_t *h = ctx;
    atomic_store(&h->holding, 1);
    while (!atomic_load(&h->go))
        sched_yield();
    return 0;
}

static void *hold_main(void *arg)
{
    hold_t *h = arg;
    (void)pl_unpark_filter(h->key, skip_all, hold_callback, h);
    return NULL;
}

static void hold_start(hold_t *h, const void *key)
{
    h->key = key;
    atomic_store(&h->holding, 0);
    atomic_store(&h->go, 0);
    tu_spawn(&h->thread, hold_main, h);
    unsigned polls = 0;
    uint64_t deadline = pl_now() + TU_WAIT_NS;
    while (!atomic_load(&h->holding)) {
        ck_assert_msg(pl_now() < deadline, "the helper never got the bucket lock");
        tu_backoff(&polls);
    }
}

static void hold_end(hold_t *h)
{
    atomic_store(&h->go, 1);
    tu_join(h->thread);
}

/* ---- The unlocker thread: takes the lock, waits for the go, releases ---- */

typedef struct release_case {
    void *lock;                  /* the lock, inside `object` */
    void (*acquire)(void *lock); /* on the unlocker thread */
    void (*release)(void *lock); /* the release under test, on the unlocker thread */
    atomic_int locked, go, entered, done;
} release_case_t;

static void *unlocker_main(void *arg)
{
    release_case_t *c = arg;
    c->acquire(c->lock);
    atomic_store(&c->locked, 1);
    while (!atomic_load(&c->go))
        sched_yield();
    atomic_store(&c->entered, 1);
    c->release(c->lock);
    atomic_store(&c->done, 1);
    return NULL;
}

static void wait_flag(atomic_int *flag, const char *what)
{
    unsigned polls = 0;
    uint64_t deadline = pl_now() + TU_WAIT_NS;
    while (!atomic_load(flag)) {
        ck_assert_msg(pl_now() < deadline, "timed out waiting for %s", what);
        tu_backoff(&polls);
    }
}

/* What the window watch does with the lock word. */
typedef struct word_ops {
    size_t size;                        /* bytes of the word */
    bool (*released)(const void *lock); /* another thread could take it now */
    void (*take_over)(void *lock);      /* a user's reuse of the memory: the canary */
    bool (*canary_intact)(const void *lock);
} word_ops_t;

/* Watches the word for the window while the unlocker is stuck before the bucket lock.  Returns
 * true if the lock showed released (then the memory has been taken over). */
static bool watch_window(void *lock, const word_ops_t *w, release_case_t *c)
{
    uint64_t end = pl_now() + RELEASE_WATCH_NS;
    while (pl_now() < end) {
        if (w->released(lock)) {
            w->take_over(lock);
            POISON(lock, w->size);
            return true;
        }
        ck_assert_msg(!atomic_load(&c->done), "the release finished with the bucket lock held");
        sched_yield();
    }
    return false;
}

/* The common scenario.  `prepare` runs once the unlocker holds the lock (sets a parked bit,
 * starts a waiter); `key` is the address whose bucket the slow release needs; `finish` runs
 * after the unlocker returned (joins waiters).  Fails if the lock was seen released early or if
 * the memory taken over was written afterwards. */
static void run_case_ex(release_case_t *c, const word_ops_t *w, void (*prepare)(void *),
                        const void *key, void (*finish)(void *), void *ctx, bool release_first_ok);

static void run_case(release_case_t *c, const word_ops_t *w, void (*prepare)(void *),
                     const void *key, void (*finish)(void *), void *ctx)
{
    run_case_ex(c, w, prepare, key, finish, ctx, false);
}

/* release_first_ok: a release whose one write comes first and whose wake-up after it is by
 * address only (event set, latch count_down, barrier arrival): the word may show released
 * during the window, but the memory taken over then must stay as the taker left it. */
static void run_case_ex(release_case_t *c, const word_ops_t *w, void (*prepare)(void *),
                        const void *key, void (*finish)(void *), void *ctx, bool release_first_ok)
{
    pthread_t u;
    atomic_store(&c->locked, 0);
    atomic_store(&c->go, 0);
    atomic_store(&c->entered, 0);
    atomic_store(&c->done, 0);
    tu_spawn(&u, unlocker_main, c);
    wait_flag(&c->locked, "the unlocker to take the lock");
    prepare(ctx);
    hold_t h;
    hold_start(&h, key);
    atomic_store(&c->go, 1);
    wait_flag(&c->entered, "the unlocker to start its release");
    bool early = watch_window(c->lock, w, c);
    hold_end(&h);
    tu_join(u);
    bool intact = true;
    if (early) {
        UNPOISON(c->lock, w->size);
        intact = w->canary_intact(c->lock);
    }
    if (finish)
        finish(ctx);
    if (release_first_ok) {
        ck_assert_msg(early, "the release never showed while its wake-up waited for the bucket");
        ck_assert_msg(intact, "the release wrote to the memory after it showed released");
        return;
    }
    ck_assert_msg(!early,
                  "the lock showed released before its release had the bucket lock "
                  "(a late write %s the memory taken over)",
                  intact ? "did not modify" : "modified");
}

/* ---- pl_mutex_t ---- */

typedef struct mutex_obj {
    pl_mutex_t m;
    unsigned char rest[63];
} mutex_obj_t;

#define MUTEX_CANARY ((uint8_t)0xA7) /* every lock bit set: a late clear of any shows */

static bool mutex_released(const void *lock)
{
    return !(__atomic_load_n((const uint8_t *)lock, __ATOMIC_ACQUIRE) & PL_MUTEX_LOCKED_BIT);
}

static void byte_take_over(void *lock)
{
    __atomic_store_n((uint8_t *)lock, MUTEX_CANARY, __ATOMIC_RELAXED);
}

static bool byte_intact(const void *lock)
{
    return __atomic_load_n((const uint8_t *)lock, __ATOMIC_RELAXED) == MUTEX_CANARY;
}

static const word_ops_t mutex_word = {1, mutex_released, byte_take_over, byte_intact};

static void mutex_acquire(void *l) { pl_mutex_lock(l); }
static void mutex_release(void *l) { pl_mutex_unlock(l); }
static void mutex_release_fair(void *l) { pl_mutex_unlock_fair(l); }

/* The parked bit says "a thread may be parked" and may err towards set: setting it sends the
 * unlock to its slow path exactly as a waiter that timed out meanwhile would (issue 10's
 * interleaving). */
static void set_mutex_parked(void *ctx)
{
    (void)__atomic_fetch_or(&((pl_mutex_t *)ctx)->state, PL_MUTEX_PARKED_BIT, __ATOMIC_RELAXED);
}

static void run_mutex(void (*release)(void *))
{
    mutex_obj_t *o = calloc(1, sizeof *o);
    ck_assert_ptr_nonnull(o);
    release_case_t c = {.lock = &o->m, .acquire = mutex_acquire, .release = release};
    run_case(&c, &mutex_word, set_mutex_parked, &o->m, NULL, &o->m);
    /* The release cleared both bits under the bucket lock: nobody was queued. */
    ck_assert_uint_eq(o->m.state, 0);
    free(o);
}

START_TEST(mutex_unlock_no_write_after_release) { run_mutex(mutex_release); }
END_TEST

START_TEST(mutex_unlock_fair_no_write_after_release) { run_mutex(mutex_release_fair); }
END_TEST

/* A real waiter that gave up (a timed lock): its time-out leaves the parked bit for the unlock to
 * find, as in issue 10's crash; then the unlock is watched as above. */
typedef struct timed_waiter {
    pl_mutex_t *m;
    pthread_t thread;
    atomic_int result;
} timed_waiter_t;

static void *timed_waiter_main(void *arg)
{
    timed_waiter_t *t = arg;
    atomic_store(&t->result, pl_mutex_lock_for(t->m, 2 * TU_MS) ? 1 : 0);
    return NULL;
}

/* The waiter marked the mutex parked and, as the last one to time out, cleared the bit: set it
 * again as a second waiter still queued would have it. */
static void time_out_a_waiter(void *ctx)
{
    timed_waiter_t t = {.m = ctx};
    tu_spawn(&t.thread, timed_waiter_main, &t);
    tu_join(t.thread);
    ck_assert_int_eq(atomic_load(&t.result), 0);
    set_mutex_parked(ctx);
}

START_TEST(mutex_unlock_after_waiter_timed_out)
{
    mutex_obj_t *o = calloc(1, sizeof *o);
    ck_assert_ptr_nonnull(o);
    release_case_t c = {.lock = &o->m, .acquire = mutex_acquire, .release = mutex_release};
    run_case(&c, &mutex_word, time_out_a_waiter, &o->m, NULL, &o->m);
    ck_assert_uint_eq(o->m.state, 0);
    free(o);
}
END_TEST

/* ---- pl_remutex_t: its last unlock is the inner mutex's ---- */

static void remutex_acquire(void *l)
{
    pl_remutex_lock(l);
    pl_remutex_lock(l);
}

static void remutex_release(void *l)
{
    pl_remutex_unlock(l);
    pl_remutex_unlock(l);
}

static bool remutex_released(const void *lock)
{
    return mutex_released(&((const pl_remutex_t *)lock)->mutex);
}

static void remutex_take_over(void *lock) { byte_take_over(&((pl_remutex_t *)lock)->mutex); }
static bool remutex_intact(const void *lock)
{
    return byte_intact(&((const pl_remutex_t *)lock)->mutex);
}

static const word_ops_t remutex_word = {sizeof(pl_remutex_t), remutex_released, remutex_take_over,
                                        remutex_intact};

START_TEST(remutex_unlock_no_write_after_release)
{
    pl_remutex_t *r = calloc(1, sizeof *r);
    ck_assert_ptr_nonnull(r);
    release_case_t c = {.lock = r, .acquire = remutex_acquire, .release = remutex_release};
    run_case(&c, &remutex_word, set_mutex_parked, &r->mutex, NULL, &r->mutex);
    ck_assert_uint_eq(r->mutex.state, 0);
    free(r);
}
END_TEST

/* ---- pl_rwlock_t ---- */

#define RW_CANARY (PL_RWLOCK_WRITER_BIT | PL_RWLOCK_WRITER_PARKED_BIT | PL_RWLOCK_PARKED_BIT)

static void rw_take_over(void *lock)
{
    __atomic_store_n(&((pl_rwlock_t *)lock)->state, (uintptr_t)RW_CANARY, __ATOMIC_RELAXED);
}

static bool rw_intact(const void *lock)
{
    return __atomic_load_n(&((const pl_rwlock_t *)lock)->state, __ATOMIC_RELAXED) == RW_CANARY;
}

/* Released for the writer waiting for readers: the reader count reached zero. */
static bool rw_readers_gone(const void *lock)
{
    return !(__atomic_load_n(&((const pl_rwlock_t *)lock)->state, __ATOMIC_ACQUIRE) &
             PL_RWLOCK_READERS_MASK);
}

static bool rw_writer_gone(const void *lock)
{
    return !(__atomic_load_n(&((const pl_rwlock_t *)lock)->state, __ATOMIC_ACQUIRE) &
             (PL_RWLOCK_WRITER_BIT | PL_RWLOCK_UPGRADABLE_BIT));
}

static const word_ops_t rw_read_word = {sizeof(pl_rwlock_t), rw_readers_gone, rw_take_over,
                                        rw_intact};
static const word_ops_t rw_write_word = {sizeof(pl_rwlock_t), rw_writer_gone, rw_take_over,
                                         rw_intact};

static void rd_acquire(void *l) { pl_rwlock_rdlock(l); }
static void rd_release(void *l) { pl_rwlock_rdunlock(l); }
static void rd_release_fair(void *l) { pl_rwlock_rdunlock_fair(l); }
static void wr_acquire(void *l) { pl_rwlock_wrlock(l); }
static void wr_release(void *l) { pl_rwlock_wrunlock(l); }
static void wr_release_fair(void *l) { pl_rwlock_wrunlock_fair(l); }
static void up_acquire(void *l) { pl_rwlock_uplock(l); }
static void up_release(void *l) { pl_rwlock_upunlock(l); }
static void up_release_fair(void *l) { pl_rwlock_upunlock_fair(l); }

/* The last reader's case needs a real writer: it holds the writer bit and sleeps on the second
 * key (address + 1) with WRITER_PARKED set, waiting for the reader. */
typedef struct writer {
    pl_rwlock_t *l;
    pthread_t thread;
    atomic_int got;
} writer_t;

static void *writer_main(void *arg)
{
    writer_t *w = arg;
    pl_rwlock_wrlock(w->l);
    atomic_store(&w->got, 1);
    pl_rwlock_wrunlock(w->l);
    return NULL;
}

static void start_parked_writer(void *ctx)
{
    writer_t *w = ctx;
    tu_spawn(&w->thread, writer_main, w);
    const void *second_key = (const char *)w->l + 1;
    unsigned polls = 0;
    uint64_t deadline = pl_now() + TU_WAIT_NS;
    while (tu_queued(second_key, NULL, 0) != 1) {
        ck_assert_msg(pl_now() < deadline, "the writer never parked waiting for the reader");
        tu_backoff(&polls);
    }
    ck_assert(__atomic_load_n(&w->l->state, __ATOMIC_RELAXED) & PL_RWLOCK_WRITER_PARKED_BIT);
}

static void join_writer(void *ctx)
{
    writer_t *w = ctx;
    tu_join(w->thread);
    ck_assert_int_eq(atomic_load(&w->got), 1);
}

static void run_last_reader(void (*release)(void *))
{
    pl_rwlock_t *l = calloc(1, 64);
    ck_assert_ptr_nonnull(l);
    release_case_t c = {.lock = l, .acquire = rd_acquire, .release = release};
    writer_t w = {.l = l};
    run_case(&c, &rw_read_word, start_parked_writer, (const char *)l + 1, join_writer, &w);
    ck_assert_uint_eq(l->state, 0);
    free(l);
}

START_TEST(rwlock_rdunlock_last_reader) { run_last_reader(rd_release); }
END_TEST

START_TEST(rwlock_rdunlock_fair_last_reader) { run_last_reader(rd_release_fair); }
END_TEST

static void set_rw_parked(void *ctx)
{
    (void)__atomic_fetch_or(&((pl_rwlock_t *)ctx)->state, PL_RWLOCK_PARKED_BIT, __ATOMIC_RELAXED);
}

static void run_rw_main_queue(void (*acquire)(void *), void (*release)(void *))
{
    pl_rwlock_t *l = calloc(1, 64);
    ck_assert_ptr_nonnull(l);
    release_case_t c = {.lock = l, .acquire = acquire, .release = release};
    run_case(&c, &rw_write_word, set_rw_parked, l, NULL, l);
    ck_assert_uint_eq(l->state, 0);
    free(l);
}

START_TEST(rwlock_wrunlock_no_write_after_release)
{
    run_rw_main_queue(wr_acquire, wr_release);
    run_rw_main_queue(wr_acquire, wr_release_fair);
}
END_TEST

START_TEST(rwlock_upunlock_no_write_after_release)
{
    run_rw_main_queue(up_acquire, up_release);
    run_rw_main_queue(up_acquire, up_release_fair);
}
END_TEST

/* ---- Bit locks, on the top bit of every width, and the pointer lock ---- */

static uint64_t g_lock_bit, g_parked_bit;
static unsigned g_width;

static void bit_acquire(void *w)
{
    switch (g_width) {
    case 1: pl_bitlock8_lock(w, (uint8_t)g_lock_bit, (uint8_t)g_parked_bit); break;
    case 2: pl_bitlock16_lock(w, (uint16_t)g_lock_bit, (uint16_t)g_parked_bit); break;
    case 4: pl_bitlock32_lock(w, (uint32_t)g_lock_bit, (uint32_t)g_parked_bit); break;
    default: pl_bitlock64_lock(w, g_lock_bit, g_parked_bit); break;
    }
}

static void bit_release(void *w)
{
    switch (g_width) {
    case 1: pl_bitlock8_unlock(w, (uint8_t)g_lock_bit, (uint8_t)g_parked_bit); break;
    case 2: pl_bitlock16_unlock(w, (uint16_t)g_lock_bit, (uint16_t)g_parked_bit); break;
    case 4: pl_bitlock32_unlock(w, (uint32_t)g_lock_bit, (uint32_t)g_parked_bit); break;
    default: pl_bitlock64_unlock(w, g_lock_bit, g_parked_bit); break;
    }
}

static uint64_t load_word(const void *w)
{
    switch (g_width) {
    case 1: return __atomic_load_n((const uint8_t *)w, __ATOMIC_ACQUIRE);
    case 2: return __atomic_load_n((const uint16_t *)w, __ATOMIC_ACQUIRE);
    case 4: return __atomic_load_n((const uint32_t *)w, __ATOMIC_ACQUIRE);
    default: return __atomic_load_n((const uint64_t *)w, __ATOMIC_ACQUIRE);
    }
}

static void store_word(void *w, uint64_t v)
{
    switch (g_width) {
    case 1: __atomic_store_n((uint8_t *)w, (uint8_t)v, __ATOMIC_RELAXED); break;
    case 2: __atomic_store_n((uint16_t *)w, (uint16_t)v, __ATOMIC_RELAXED); break;
    case 4: __atomic_store_n((uint32_t *)w, (uint32_t)v, __ATOMIC_RELAXED); break;
    default: __atomic_store_n((uint64_t *)w, v, __ATOMIC_RELAXED); break;
    }
}

static bool bit_released(const void *w) { return !(load_word(w) & g_lock_bit); }
static void bit_take_over(void *w) { store_word(w, g_lock_bit | g_parked_bit); }
static bool bit_intact(const void *w) { return load_word(w) == (g_lock_bit | g_parked_bit); }

static void set_bit_parked(void *w)
{
    switch (g_width) {
    case 1: (void)__atomic_fetch_or((uint8_t *)w, (uint8_t)g_parked_bit, __ATOMIC_RELAXED); break;
    case 2: (void)__atomic_fetch_or((uint16_t *)w, (uint16_t)g_parked_bit, __ATOMIC_RELAXED); break;
    case 4: (void)__atomic_fetch_or((uint32_t *)w, (uint32_t)g_parked_bit, __ATOMIC_RELAXED); break;
    default: (void)__atomic_fetch_or((uint64_t *)w, g_parked_bit, __ATOMIC_RELAXED); break;
    }
}

START_TEST(bitlock_top_bit_no_write_after_release)
{
    static const unsigned widths[] = {1, 2, 4, 8};
    for (size_t i = 0; i < sizeof widths / sizeof widths[0]; i++) {
        g_width = widths[i];
        g_lock_bit = (uint64_t)1 << (8 * g_width - 1);
        g_parked_bit = 1;
        uint64_t *word = calloc(1, 64);
        ck_assert_ptr_nonnull(word);
        word_ops_t ops = {g_width, bit_released, bit_take_over, bit_intact};
        release_case_t c = {.lock = word, .acquire = bit_acquire, .release = bit_release};
        run_case(&c, &ops, set_bit_parked, word, NULL, word);
        ck_assert_uint_eq(load_word(word), 0);
        free(word);
    }
}
END_TEST

static void ptr_acquire(void *l) { pl_ptrlock_lock(l); }
static void ptr_release(void *l) { pl_ptrlock_unlock(l); }

START_TEST(ptrlock_no_write_after_release)
{
    g_width = sizeof(uintptr_t);
    g_lock_bit = PL_PTRLOCK_LOCKED_BIT;
    g_parked_bit = PL_PTRLOCK_PARKED_BIT;
    pl_ptrlock_t *p = calloc(1, 64);
    ck_assert_ptr_nonnull(p);
    word_ops_t ops = {sizeof *p, bit_released, bit_take_over, bit_intact};
    release_case_t c = {.lock = p, .acquire = ptr_acquire, .release = ptr_release};
    run_case(&c, &ops, set_bit_parked, p, NULL, p);
    ck_assert_uint_eq(p->word, 0);
    free(p);
}
END_TEST

/* ---- The primitives of issue 15: event, semaphore, latch, barrier ---- */

#define WORD32_CANARY 0xA5A5A5A7u /* every low bit set: a late clear of a parked bit shows */

static void word32_take_over(void *lock)
{
    __atomic_store_n((uint32_t *)lock, WORD32_CANARY, __ATOMIC_RELAXED);
}

static bool word32_intact(const void *lock)
{
    return __atomic_load_n((const uint32_t *)lock, __ATOMIC_RELAXED) == WORD32_CANARY;
}

static void nothing(void *l) { (void)l; }

static void set_u32_bits(void *ctx, uint32_t bits)
{
    (void)__atomic_fetch_or((uint32_t *)ctx, bits, __ATOMIC_RELAXED);
}

/* The parked bit set by hand sends each release to its wake-up, as a waiter that timed out or
 * was woken meanwhile would. */
static void set_event_parked(void *ctx) { set_u32_bits(ctx, PL_EVENT_PARKED_BIT); }
static void set_sem_parked(void *ctx) { set_u32_bits(ctx, PL_SEM_PARKED_BIT); }
static void set_latch_parked(void *ctx) { set_u32_bits(ctx, PL_LATCH_PARKED_BIT); }

static bool event_released(const void *lock)
{
    return __atomic_load_n((const uint32_t *)lock, __ATOMIC_ACQUIRE) & PL_EVENT_SET_BIT;
}

static void event_release(void *l) { pl_event_set(l); }

START_TEST(event_set_no_write_after_release)
{
    pl_event_t *e = calloc(1, 64);
    ck_assert_ptr_nonnull(e);
    word_ops_t ops = {sizeof *e, event_released, word32_take_over, word32_intact};
    release_case_t c = {.lock = e, .acquire = nothing, .release = event_release};
    run_case_ex(&c, &ops, set_event_parked, e, NULL, e, true);
    free(e);
}
END_TEST

/* A post with the parked bit set adds its permit (or hands it over) only under the bucket lock:
 * a trywait could take the permit and free the semaphore the moment it shows. */
static bool sem_released(const void *lock)
{
    return __atomic_load_n((const uint32_t *)lock, __ATOMIC_ACQUIRE) >= PL_SEM_ONE;
}

static void sem_release(void *l) { ck_assert_int_eq(pl_sem_post(l), 0); }

START_TEST(sem_post_no_write_after_release)
{
    pl_sem_t *s = calloc(1, 64);
    ck_assert_ptr_nonnull(s);
    word_ops_t ops = {sizeof *s, sem_released, word32_take_over, word32_intact};
    release_case_t c = {.lock = s, .acquire = nothing, .release = sem_release};
    run_case(&c, &ops, set_sem_parked, s, NULL, s);
    ck_assert_uint_eq(s->state, PL_SEM_ONE); /* nobody queued: permit added, bit cleared */
    free(s);
}
END_TEST

static bool latch_released(const void *lock)
{
    return __atomic_load_n((const uint32_t *)lock, __ATOMIC_ACQUIRE) >> 1 == 0;
}

static void latch_release(void *l) { pl_latch_count_down(l, 1); }

START_TEST(latch_count_down_no_write_after_release)
{
    pl_latch_t *l = calloc(1, 64);
    ck_assert_ptr_nonnull(l);
    ck_assert_int_eq(pl_latch_init(l, 1), 0);
    word_ops_t ops = {sizeof *l, latch_released, word32_take_over, word32_intact};
    release_case_t c = {.lock = l, .acquire = nothing, .release = latch_release};
    run_case_ex(&c, &ops, set_latch_parked, l, NULL, l, true);
    free(l);
}
END_TEST

#define BARRIER_CANARY UINT64_C(0xA5A5A5A5A5A5A5A7)

static bool barrier_released(const void *lock)
{
    return __atomic_load_n((const uint64_t *)lock, __ATOMIC_ACQUIRE) & PL_BARRIER_PHASE_BIT;
}

static void barrier_take_over(void *lock)
{
    __atomic_store_n((uint64_t *)lock, BARRIER_CANARY, __ATOMIC_RELAXED);
}

static bool barrier_intact(const void *lock)
{
    return __atomic_load_n((const uint64_t *)lock, __ATOMIC_RELAXED) == BARRIER_CANARY;
}

static void set_barrier_parked(void *ctx)
{
    (void)__atomic_fetch_or((uint64_t *)ctx, PL_BARRIER_PARKED_BIT, __ATOMIC_RELAXED);
}

static void barrier_release(void *l) { (void)pl_barrier_arrive(l, NULL, NULL); }

START_TEST(barrier_arrive_no_write_after_release)
{
    pl_barrier_t *b = calloc(1, 64);
    ck_assert_ptr_nonnull(b);
    ck_assert_int_eq(pl_barrier_init(b, 1), 0);
    word_ops_t ops = {sizeof *b, barrier_released, barrier_take_over, barrier_intact};
    release_case_t c = {.lock = b, .acquire = nothing, .release = barrier_release};
    run_case_ex(&c, &ops, set_barrier_parked, b, NULL, b, true);
    free(b);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("release");
    TCase *tc = tu_tcase(s, "no_write_after_release", 60);
    tcase_add_test(tc, mutex_unlock_no_write_after_release);
    tcase_add_test(tc, mutex_unlock_fair_no_write_after_release);
    tcase_add_test(tc, mutex_unlock_after_waiter_timed_out);
    tcase_add_test(tc, remutex_unlock_no_write_after_release);
    tcase_add_test(tc, rwlock_rdunlock_last_reader);
    tcase_add_test(tc, rwlock_rdunlock_fair_last_reader);
    tcase_add_test(tc, rwlock_wrunlock_no_write_after_release);
    tcase_add_test(tc, rwlock_upunlock_no_write_after_release);
    tcase_add_test(tc, bitlock_top_bit_no_write_after_release);
    tcase_add_test(tc, ptrlock_no_write_after_release);
    tcase_add_test(tc, event_set_no_write_after_release);
    tcase_add_test(tc, sem_post_no_write_after_release);
    tcase_add_test(tc, latch_count_down_no_write_after_release);
    tcase_add_test(tc, barrier_arrive_no_write_after_release);
    return tu_run_suite(s);
}
