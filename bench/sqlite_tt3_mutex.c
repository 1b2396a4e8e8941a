/* SQLite's mutex methods on libparking for the threadtest3 driver (bench/sqlite_tt3.c): the
 * methods of docs/examples/sqlite_mutex.c, included rather than copied, without the example's
 * per-call counters (one shared counter per enter / leave would bounce a cache line between
 * cores and weigh on our side of the comparison only) and with its main renamed away.
 * Built by bench/sqlite-threadtest3.sh, not by CMake (it needs SQLite's amalgamation). */
#define COUNT(field) ((void)0)
#define main sqlite_mutex_example_main
#include "../docs/examples/sqlite_mutex.c"
#undef main

const sqlite3_mutex_methods *tt3_parking_mutex_methods(void);

const sqlite3_mutex_methods *tt3_parking_mutex_methods(void)
{
    for (int i = 0; i < STATIC_MUTEXES; i++)
        static_mutexes[i].kind = KIND_STATIC;
    return &pl_sqlite_methods;
}
