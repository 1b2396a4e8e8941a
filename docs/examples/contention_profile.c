/* The contention profiler on a program with two locks contended at different rates
 * (docs/profiling.md): four threads move money between accounts under one lock (`accounts`,
 * taken on every step, held for a little work) and append to an audit log under another
 * (`audit`, one step in 4, held briefly).  The program counts its own contended acquisitions
 * (a failed trylock before the lock) and compares them with the profile:
 * - the report names the call sites: transfer() for `accounts`, audit() for `audit`, and
 *   `accounts`, taken four times as often and held longer, is the more contended;
 * - for each lock the profiler's count is at most the program's, which also counts the
 *   acquisitions whose lock was released between the failed trylock and the lock (the profiler
 *   counts an acquisition when the lock's own fast path finds it held: every one, no sampling).
 * Then it prints the text report. */
#define _GNU_SOURCE /* open_memstream under -std=c11 */
#include <parking/mutex.h>
#include <parking/profile.h>

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { THREADS = 4, STEPS = 100000, ACCOUNTS = 64 };

static pl_mutex_t accounts_lock, audit_lock;
static long balance[ACCOUNTS];
static unsigned long audit_entries;
static atomic_ulong accounts_contended, audit_contended;
static atomic_int started;

static void lock_counting(pl_mutex_t *m, atomic_ulong *contended)
{
    if (pl_mutex_trylock(m))
        return;
    atomic_fetch_add(contended, 1);
    pl_mutex_lock(m);
}

/* Kept out of line and exported (the program is linked -rdynamic): the report names these
 * functions as the call sites. */
void transfer(unsigned from, unsigned to, long amount);
void audit(void);
__attribute__((noinline)) void transfer(unsigned from, unsigned to, long amount)
{
    lock_counting(&accounts_lock, &accounts_contended);
    for (int i = 0; i < 50; i++) { /* a little work under the lock */
        balance[from] -= amount;
        balance[to] += amount;
        __asm__ volatile("" ::: "memory");
        balance[from] += amount;
        balance[to] -= amount;
    }
    balance[from] -= amount;
    balance[to] += amount;
    pl_mutex_unlock(&accounts_lock);
}

__attribute__((noinline)) void audit(void)
{
    lock_counting(&audit_lock, &audit_contended);
    audit_entries++;
    pl_mutex_unlock(&audit_lock);
}

static void *worker(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg;
    /* Start together, so that the threads overlap. */
    atomic_fetch_add(&started, 1);
    while (atomic_load(&started) < THREADS)
        sched_yield();
    for (int i = 0; i < STEPS; i++) {
        seed = seed * 1103515245u + 12345u;
        transfer(seed % ACCOUNTS, (seed >> 8) % ACCOUNTS, 1);
        if (i % 4 == 0)
            audit();
    }
    return NULL;
}

/* The CSV rows of one lock: contended acquisitions, and whether each row's frames name `site`. */
static unsigned long profiled(const char *csv, const void *lock, const char *site, int *ok)
{
    char key[40];
    snprintf(key, sizeof key, "%p,", lock);
    unsigned long total = 0;
    for (const char *line = csv; *line != '\0';) {
        const char *end = strchr(line, '\n');
        if (strncmp(line, key, strlen(key)) == 0) {
            const char *p = line;
            for (int field = 0; field < 5; field++)
                p = strchr(p, ',') + 1;
            /* The frames, innermost first: the site itself with optimisation; in a build
             * without, the header's inline functions and lock_counting come first. */
            const char *frames_end = strchr(p, ',');
            const char *hit = strstr(p, site);
            if (hit == NULL || hit > frames_end)
                *ok = 0;
            p = frames_end + 1;
            total += strtoul(p, NULL, 10);
        }
        line = end != NULL ? end + 1 : line + strlen(line);
    }
    return total;
}

int main(void)
{
    pl_profile_start();
    pthread_t t[THREADS];
    for (uintptr_t i = 0; i < THREADS; i++)
        if (pthread_create(&t[i], NULL, worker, (void *)(i + 1)) != 0)
            return 1;
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    pl_profile_stop();

    char *csv = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&csv, &len);
    if (f == NULL)
        return 1;
    (void)pl_profile_report(f, PL_PROFILE_CSV, 0);
    fclose(f);
    int sites_ok = 1;
    unsigned long acc = profiled(csv, &accounts_lock, "transfer", &sites_ok);
    unsigned long aud = profiled(csv, &audit_lock, "audit", &sites_ok);
    free(csv);

    long sum = 0;
    for (int i = 0; i < ACCOUNTS; i++)
        sum += balance[i];
    printf("accounts: contended %lu by the program's count, %lu profiled\n",
           (unsigned long)atomic_load(&accounts_contended), acc);
    printf("audit:    contended %lu by the program's count, %lu profiled\n",
           (unsigned long)atomic_load(&audit_contended), aud);
    printf("balance sum %ld (0), audit entries %lu (%d)\n\n", sum, audit_entries,
           THREADS * ((STEPS + 3) / 4));
    (void)pl_profile_report(stdout, PL_PROFILE_TEXT, 5);

    int ok = sum == 0 && audit_entries == (unsigned long)THREADS * ((STEPS + 3) / 4) && sites_ok &&
             acc <= atomic_load(&accounts_contended) && aud <= atomic_load(&audit_contended) &&
             acc >= aud;
    if (!ok)
        fprintf(stderr, "contention_profile: FAILED (sites %s)\n", sites_ok ? "ok" : "wrong");
    return ok ? 0 : 1;
}
