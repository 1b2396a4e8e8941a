/* SQLite with every one of its locks from libparking, through its pluggable mutex layer.
 *
 * sqlite3_config(SQLITE_CONFIG_MUTEX, &methods) replaces SQLite's mutex implementation.  SQLite
 * asks for three kinds of mutex: SQLITE_MUTEX_RECURSIVE (a connection's lock in serialized mode,
 * which SQLite re-enters), SQLITE_MUTEX_FAST (need not be recursive) and a dozen static mutexes
 * (the allocator, the page cache, the PRNG, ...; never re-entered).  Here the recursive kind is a
 * pl_remutex_t and the others are a one-byte pl_mutex_t; the static ones are a zeroed array, so
 * they need no initialisation at all.
 *
 * xMutexHeld / xMutexNotheld only feed assert()s in debug builds of SQLite.  A pl_remutex_t
 * knows its owner, so the recursive kind answers exactly; a pl_mutex_t has no owner, so the fast
 * kinds answer "held" when the mutex is locked at all and "not held" always, the conservative
 * answers SQLite's documentation asks for when the owner is unknown.
 *
 * The program runs SQLite in SQLITE_CONFIG_SERIALIZED mode: THREADS threads insert rows through
 * one shared in-memory connection (SQLite serializes them with the connection's recursive
 * mutex), then each thread fills a private in-memory database (the static mutexes of the
 * allocator and the caches are then contended, and its shared-cache b-tree has a fast mutex).
 * It checks the row counts, that SQLite used all three kinds of our mutexes (each method counts
 * its calls), that enters and successful tries balance leaves for each kind, and that every
 * mutex SQLite allocated was freed by sqlite3_shutdown.  Exit status 0 means every check passed.
 */
#define _POSIX_C_SOURCE 200809L

#include <parking/mutex.h>
#include <parking/remutex.h>

#include <sqlite3.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define THREADS 4
#define SHARED_ROWS 5000   /* per thread, through the shared connection */
#define PRIVATE_ROWS 20000 /* per thread, in its own database */

/* SQLite declares struct sqlite3_mutex and never looks inside: the implementation defines it. */
struct sqlite3_mutex {
    pl_remutex_t recursive; /* SQLITE_MUTEX_RECURSIVE */
    pl_mutex_t fast;        /* SQLITE_MUTEX_FAST and the static mutexes */
    uint8_t kind;           /* KIND_* below */
};

enum { KIND_FAST, KIND_RECURSIVE, KIND_STATIC, KINDS };
static const char *const kind_names[KINDS] = {"fast", "recursive", "static"};

/* Static mutex i has id SQLITE_MUTEX_STATIC_MAIN + i.  Zeroed: unlocked, nothing to set up,
 * except the kind, filled in before SQLite is initialised. */
#define STATIC_MUTEXES (SQLITE_MUTEX_STATIC_VFS3 - SQLITE_MUTEX_STATIC_MAIN + 1)
static struct sqlite3_mutex static_mutexes[STATIC_MUTEXES];

/* Call counts, to prove that SQLite used these methods and nothing else.  A benchmark that
 * includes this file for its methods (bench/sqlite_tt3_mutex.c) defines COUNT away first: one
 * shared counter per call would make every enter and leave bounce a cache line between cores. */
static struct {
    unsigned long init, end, alloc[KINDS], freed, enter[KINDS], try_ok[KINDS], try_busy,
        leave[KINDS], held, notheld;
} calls;
#ifndef COUNT
#  define COUNT(field) __atomic_fetch_add(&calls.field, 1, __ATOMIC_RELAXED)
#endif

/* SQLite may call xMutexInit many times (it must then do nothing): nothing to do anyway. */
static int pl_sqlite_init(void)
{
    COUNT(init);
    return SQLITE_OK;
}

static int pl_sqlite_end(void)
{
    COUNT(end);
    return SQLITE_OK;
}

static sqlite3_mutex *pl_sqlite_alloc(int id)
{
    if (id == SQLITE_MUTEX_FAST || id == SQLITE_MUTEX_RECURSIVE) {
        /* calloc: a zeroed pl_mutex_t / pl_remutex_t is an unlocked one. */
        struct sqlite3_mutex *m = calloc(1, sizeof *m);
        if (!m)
            return NULL;
        m->kind = id == SQLITE_MUTEX_RECURSIVE ? KIND_RECURSIVE : KIND_FAST;
        COUNT(alloc[m->kind]);
        return m;
    }
    if (id < SQLITE_MUTEX_STATIC_MAIN || id > SQLITE_MUTEX_STATIC_VFS3)
        return NULL;
    COUNT(alloc[KIND_STATIC]);
    return &static_mutexes[id - SQLITE_MUTEX_STATIC_MAIN];
}

static void pl_sqlite_free(sqlite3_mutex *m)
{
    if (m->kind == KIND_STATIC)
        return; /* SQLite does not free static mutexes, but be safe */
    COUNT(freed);
    free(m);
}

static void pl_sqlite_enter(sqlite3_mutex *m)
{
    COUNT(enter[m->kind]);
    if (m->kind == KIND_RECURSIVE)
        pl_remutex_lock(&m->recursive);
    else
        pl_mutex_lock(&m->fast);
}

static int pl_sqlite_try(sqlite3_mutex *m)
{
    int ok =
        m->kind == KIND_RECURSIVE ? pl_remutex_trylock(&m->recursive) : pl_mutex_trylock(&m->fast);
    if (ok)
        COUNT(try_ok[m->kind]);
    else
        COUNT(try_busy);
    return ok ? SQLITE_OK : SQLITE_BUSY;
}

static void pl_sqlite_leave(sqlite3_mutex *m)
{
    COUNT(leave[m->kind]);
    if (m->kind == KIND_RECURSIVE)
        pl_remutex_unlock(&m->recursive);
    else
        pl_mutex_unlock(&m->fast);
}

static int pl_sqlite_held(sqlite3_mutex *m)
{
    COUNT(held);
    if (m->kind == KIND_RECURSIVE)
        return pl_remutex_is_held(&m->recursive);
    return pl_mutex_is_locked(&m->fast); /* locked by someone: may be us */
}

static int pl_sqlite_notheld(sqlite3_mutex *m)
{
    COUNT(notheld);
    if (m->kind == KIND_RECURSIVE)
        return !pl_remutex_is_held(&m->recursive);
    return 1; /* no owner to compare with: never claim we hold it */
}

static const sqlite3_mutex_methods pl_sqlite_methods = {
    pl_sqlite_init, pl_sqlite_end,   pl_sqlite_alloc, pl_sqlite_free,    pl_sqlite_enter,
    pl_sqlite_try,  pl_sqlite_leave, pl_sqlite_held,  pl_sqlite_notheld,
};

/* ---- the workload ---- */

static sqlite3 *shared_db;
static const char *failure; /* first failure seen by a thread; NULL while all is well */

static void fail(const char *what, sqlite3 *db)
{
    fprintf(stderr, "sqlite_mutex: %s: %s\n", what, db ? sqlite3_errmsg(db) : "");
    const char *expected = NULL;
    __atomic_compare_exchange_n(&failure, &expected, what, false, __ATOMIC_RELAXED,
                                __ATOMIC_RELAXED);
}

static int64_t query_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *stmt;
    int64_t value = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK) {
        fail("prepare query", db);
        return -1;
    }
    if (sqlite3_step(stmt) == SQLITE_ROW)
        value = sqlite3_column_int64(stmt, 0);
    else
        fail("query", db);
    sqlite3_finalize(stmt);
    return value;
}

static void insert_rows(sqlite3 *db, int thread, int rows)
{
    sqlite3_stmt *stmt;
    if (sqlite3_prepare_v2(db, "INSERT INTO t(thread, i) VALUES(?, ?)", -1, &stmt, NULL) !=
        SQLITE_OK) {
        fail("prepare insert", db);
        return;
    }
    for (int i = 0; i < rows; i++) {
        sqlite3_bind_int(stmt, 1, thread);
        sqlite3_bind_int(stmt, 2, i);
        if (sqlite3_step(stmt) != SQLITE_DONE) {
            fail("insert", db);
            break;
        }
        sqlite3_reset(stmt);
    }
    sqlite3_finalize(stmt);
}

static void *worker(void *arg)
{
    int thread = (int)(intptr_t)arg;

    /* 1. Everyone through the shared connection: SQLite serializes the calls. */
    insert_rows(shared_db, thread, SHARED_ROWS);

    /* 2. A private database: the connection is ours alone, the static mutexes are not.  It is
     * opened in shared-cache mode only so that SQLite also allocates a SQLITE_MUTEX_FAST mutex
     * (one per shared b-tree); no other connection uses that cache. */
    char name[64];
    snprintf(name, sizeof name, "file:private%d?mode=memory&cache=shared", thread);
    sqlite3 *db;
    if (sqlite3_open_v2(name, &db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI |
                            SQLITE_OPEN_SHAREDCACHE,
                        NULL) != SQLITE_OK) {
        fail("open private", db);
        sqlite3_close(db);
        return NULL;
    }
    if (sqlite3_exec(db, "CREATE TABLE t(thread INTEGER, i INTEGER); BEGIN", NULL, NULL, NULL) !=
        SQLITE_OK)
        fail("create private", db);
    insert_rows(db, thread, PRIVATE_ROWS);
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        fail("commit private", db);
    if (query_int(db, "SELECT COUNT(*) FROM t") != PRIVATE_ROWS)
        fail("private row count", NULL);
    sqlite3_close(db);
    return NULL;
}

/* The connection's mutex is one of ours, and xMutexHeld / xMutexNotheld tell the truth. */
static int check_db_mutex(sqlite3 *db)
{
    sqlite3_mutex *m = sqlite3_db_mutex(db);
    if (!m || m->kind != KIND_RECURSIVE)
        return 0;
    int ok = !pl_sqlite_held(m) && pl_sqlite_notheld(m);
    sqlite3_mutex_enter(m);
    sqlite3_mutex_enter(m); /* recursive: SQLite itself relies on that */
    ok = ok && pl_sqlite_held(m) && !pl_sqlite_notheld(m);
    sqlite3_mutex_leave(m);
    ok = ok && pl_sqlite_held(m);
    sqlite3_mutex_leave(m);
    return ok && !pl_sqlite_held(m);
}

int main(void)
{
    if (!sqlite3_threadsafe()) {
        fprintf(stderr, "sqlite_mutex: this SQLite was built without thread support\n");
        return 1;
    }
    for (int i = 0; i < STATIC_MUTEXES; i++)
        static_mutexes[i].kind = KIND_STATIC;
    /* Both before sqlite3_initialize: SQLite copies the methods when it initialises. */
    if (sqlite3_config(SQLITE_CONFIG_SERIALIZED) != SQLITE_OK ||
        sqlite3_config(SQLITE_CONFIG_MUTEX, &pl_sqlite_methods) != SQLITE_OK ||
        sqlite3_initialize() != SQLITE_OK) {
        fprintf(stderr, "sqlite_mutex: cannot configure SQLite\n");
        return 1;
    }

    if (sqlite3_open(":memory:", &shared_db) != SQLITE_OK ||
        sqlite3_exec(shared_db, "CREATE TABLE t(thread INTEGER, i INTEGER)", NULL, NULL, NULL) !=
            SQLITE_OK) {
        fail("open shared", shared_db);
        return 1;
    }
    int db_mutex_ok = check_db_mutex(shared_db);

    pthread_t threads[THREADS];
    for (int t = 0; t < THREADS; t++)
        if (pthread_create(&threads[t], NULL, worker, (void *)(intptr_t)t) != 0)
            return 1;
    for (int t = 0; t < THREADS; t++)
        pthread_join(threads[t], NULL);

    int64_t rows = query_int(shared_db, "SELECT COUNT(*) FROM t");
    int64_t distinct =
        query_int(shared_db, "SELECT COUNT(*) FROM (SELECT DISTINCT thread, i FROM t)");
    int64_t threads_seen = query_int(shared_db, "SELECT COUNT(DISTINCT thread) FROM t");
    sqlite3_close(shared_db);
    int shutdown_ok = sqlite3_shutdown() == SQLITE_OK;

    printf("sqlite_mutex: SQLite %s, %d threads, serialized mode, every mutex from libparking\n",
           sqlite3_libversion(), THREADS);
    printf("  shared connection: %lld rows (%lld distinct) from %lld threads; "
           "%d private databases of %d rows\n",
           (long long)rows, (long long)distinct, (long long)threads_seen, THREADS, PRIVATE_ROWS);
    int balanced = 1, all_kinds_used = 1;
    for (int k = 0; k < KINDS; k++) {
        printf("  %-9s mutexes: %6lu %s, %7lu enters + %6lu tries = %7lu leaves\n", kind_names[k],
               calls.alloc[k], k == KIND_STATIC ? "looked up" : "allocated", calls.enter[k],
               calls.try_ok[k], calls.leave[k]);
        balanced = balanced && calls.enter[k] + calls.try_ok[k] == calls.leave[k];
        all_kinds_used = all_kinds_used && calls.enter[k] + calls.try_ok[k] > 0;
    }
    printf("  busy tries %lu; held %lu, notheld %lu; freed %lu; init %lu, end %lu\n",
           calls.try_busy, calls.held, calls.notheld, calls.freed, calls.init, calls.end);

    const int64_t expected_rows = (int64_t)THREADS * SHARED_ROWS;
    int ok = !failure && db_mutex_ok && shutdown_ok && rows == expected_rows &&
             distinct == expected_rows && threads_seen == THREADS && calls.init >= 1 &&
             calls.end == 1 && all_kinds_used && balanced &&
             calls.freed == calls.alloc[KIND_FAST] + calls.alloc[KIND_RECURSIVE];
    for (int i = 0; i < STATIC_MUTEXES; i++)
        ok = ok && !pl_mutex_is_locked(&static_mutexes[i].fast);
    if (!ok) {
        fprintf(stderr, "sqlite_mutex: FAILED%s%s\n", failure ? ": " : "", failure ? failure : "");
        return 1;
    }
    printf("sqlite_mutex: OK\n");
    return 0;
}
