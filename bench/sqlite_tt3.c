/* SQLite's threadtest3 (test/threadtest3.c of SQLite's source tree) with a choice of mutexes,
 * so that one binary runs both and the runs can be interleaved:
 *
 *   sqlite-tt3 [--mutex=pthread|parking] [--ms=N] [-multiplexor] test...
 *
 * --mutex=pthread (the default) leaves SQLite's own mutexes (pthread_mutex_t from glibc);
 * --mutex=parking installs libparking's through SQLITE_CONFIG_MUTEX (bench/sqlite_tt3_mutex.c).
 * --ms=N runs each named test for N milliseconds instead of its built-in duration (stress2 is
 * hard-wired to 60 s); threadtest3 has no such option, so this driver calls the named test
 * functions itself, which it can because it includes threadtest3.c.  Without --ms the
 * arguments go to threadtest3's own main unchanged.
 *
 * SQLite's files stay untouched: threadtest3.c is included with its main renamed.  Built by
 * bench/sqlite-threadtest3.sh against the amalgamation and -I <sqlite>/test. */
#define main tt3_main
#include "threadtest3.c"
#undef main

#include <stdlib.h>

const sqlite3_mutex_methods *tt3_parking_mutex_methods(void);

/* The tests threadtest3 has had for years; --ms works for these. */
static const struct {
    void (*run)(int);
    const char *name;
} tt3_tests[] = {
    {walthread1, "walthread1"},
    {walthread2, "walthread2"},
    {walthread3, "walthread3"},
    {walthread4, "walthread4"},
    {walthread5, "walthread5"},
    {dynamic_triggers, "dynamic_triggers"},
    {checkpoint_starvation_1, "checkpoint_starvation_1"},
    {checkpoint_starvation_2, "checkpoint_starvation_2"},
    {create_drop_index_1, "create_drop_index_1"},
    {lookaside1, "lookaside1"},
    {vacuum1, "vacuum1"},
    {stress1, "stress1"},
    {stress2, "stress2"},
    {shared1, "shared1"},
};

int main(int argc, const char **argv)
{
    const char *mutex = "pthread";
    int ms = -1;
    const char **rest = malloc(sizeof *rest * (size_t)(argc + 1));
    int nrest = 0;
    rest[nrest++] = argv[0];
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--mutex=", 8) == 0)
            mutex = argv[i] + 8;
        else if (strncmp(argv[i], "--ms=", 5) == 0)
            ms = atoi(argv[i] + 5);
        else
            rest[nrest++] = argv[i];
    }
    rest[nrest] = NULL;

    if (strcmp(mutex, "parking") == 0) {
        if (sqlite3_config(SQLITE_CONFIG_MUTEX, tt3_parking_mutex_methods()) != SQLITE_OK) {
            fprintf(stderr, "sqlite-tt3: SQLITE_CONFIG_MUTEX failed\n");
            return 253;
        }
    } else if (strcmp(mutex, "pthread") != 0) {
        fprintf(stderr, "sqlite-tt3: --mutex=pthread or --mutex=parking\n");
        return 254;
    }
    printf("mutex: %s\n", mutex);
    if (ms < 0)
        return tt3_main(nrest, rest);

    sqlite3_config(SQLITE_CONFIG_MULTITHREAD); /* as threadtest3's main does */
    int found = 0;
    for (int a = 1; a < nrest; a++) {
        if (rest[a][0] == '-') {
            if (sqlite3_stricmp(rest[a], "-multiplexor") == 0 &&
                sqlite3_multiplex_initialize(0, 1) != SQLITE_OK)
                return 253;
            continue;
        }
        for (size_t t = 0; t < sizeof tt3_tests / sizeof tt3_tests[0]; t++) {
            if (sqlite3_strglob(rest[a], tt3_tests[t].name) != 0)
                continue;
            printf("Running %s for %d ms...\n", tt3_tests[t].name, ms);
            fflush(stdout);
            tt3_tests[t].run(ms);
            found++;
        }
    }
    if (!found) {
        fprintf(stderr, "sqlite-tt3: no test matched (with --ms, one of:");
        for (size_t t = 0; t < sizeof tt3_tests / sizeof tt3_tests[0]; t++)
            fprintf(stderr, " %s", tt3_tests[t].name);
        fprintf(stderr, ")\n");
        return 254;
    }
    printf("%d errors out of %d tests\n", nGlobalErr, found);
    return nGlobalErr > 0 ? 255 : 0;
}
