/* pl-bench: command line, presets (quick, full, smoke) and the order of the suite. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"

enum {
    W_UNCONTENDED = 1 << 0,
    W_CONTENDED = 1 << 1,
    W_MANY = 1 << 2,
    W_RWLOCK = 1 << 3,
    W_QUEUE = 1 << 4,
    W_BROADCAST = 1 << 5,
    W_PINGPONG = 1 << 6,
    W_WAIT = 1 << 7,
    W_ONCE = 1 << 8,
    W_SYNC = 1 << 9,
    W_ALL = (1 << 10) - 1,
};

static const struct {
    const char *name;
    unsigned mask;
} workload_names[] = {
    {"uncontended", W_UNCONTENDED},
    {"contended", W_CONTENDED},
    {"many", W_MANY},
    {"rwlock", W_RWLOCK},
    {"queue", W_QUEUE},
    {"broadcast", W_BROADCAST},
    {"pingpong", W_PINGPONG},
    {"wait", W_WAIT},
    {"once", W_ONCE},
    {"sync", W_SYNC},
    {"mutex", W_UNCONTENDED | W_CONTENDED | W_MANY},
    {"condvar", W_QUEUE | W_BROADCAST | W_PINGPONG},
    {"all", W_ALL},
};

typedef enum preset { QUICK, FULL, SMOKE } preset_t;

typedef struct options {
    preset_t preset;
    unsigned duration_ms, reps; /* 0: the preset's */
    unsigned threads[16];
    size_t nthreads; /* 0: the preset's */
    pb_pc_t queues[8];
    size_t nqueues; /* 0: the preset's */
    pb_inout_t inouts[4];
    size_t ninouts; /* 0: the preset's */
    unsigned waiters[8];
    size_t nwaiters; /* 0: the preset's */
    unsigned workloads;
    unsigned roles;
    const char *peer;    /* --peer: only the peers whose name holds it */
    unsigned background; /* busy threads of unrelated work */
    const char *out, *csv, *plots;
} options_t;

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define SET(dst, ndst, ...)                                                                        \
  do {                                                                                             \
    static const __typeof__((dst)[0]) v_[] = {__VA_ARGS__};                                        \
    memcpy(dst, v_, sizeof v_);                                                                    \
    ndst = COUNT(v_);                                                                              \
  } while (0)

static void usage(FILE *f)
{
    fputs(
        "Usage: pl-bench [OPTION]...\n"
        "Benchmarks libparking's locks against pthread (the baseline of every ratio) and, when "
        "they\n"
        "were found at build time, Google nsync, Abseil and Rust parking_lot.  Abseil runs with "
        "its\n"
        "deadlock detection turned off (absl::OnDeadlockCycle::kIgnore), as in its release "
        "builds.\n"
        "Every contender, ours included, is reached the same way: one out-of-line call per "
        "operation\n"
        "into a shared library.  Rows marked (inline) are ours with the fast path inlined into "
        "the\n"
        "loop, as user code compiles it: an extra figure, never the one compared with peers.\n"
        "\n"
        "Workloads (--workload names; mutex = the first three, condvar = "
        "queue,broadcast,pingpong)\n"
        "  uncontended  One thread locks and unlocks one mutex.\n"
        "               ns/op: nanoseconds per lock+unlock pair (lower is better).\n"
        "  contended    LockSpeedTest (WebKit, Rust parking_lot): T threads loop { lock; `in` "
        "steps\n"
        "               of dependent arithmetic on shared data; unlock; `out` steps on private "
        "data }.\n"
        "               (in,out) = (1,0): pure hand-off; (10,40): moderate; (1,100): light.\n"
        "               ops/s: critical sections per second, all threads.  fairness: min/max of "
        "the\n"
        "               per-thread counts (1 = even, 0 = a thread starved).\n"
        "  many         1,000,000 locks in one array of { lock; uint32_t counter } (fresh zeroed\n"
        "               pages); T threads lock random entries.  ops/s, bytes per lock, and MiB: "
        "the\n"
        "               array's resident memory after the run (mincore).\n"
        "  rwlock       T threads, each operation a read (90% or 99%) or a write of a shared pair "
        "of\n"
        "               words, with work inside and outside the lock.  ops/s (reads + writes).\n"
        "               pl_rwlock_t vs pthread_rwlock_t, nsync/Abseil reader locks.\n"
        "  queue        Condvar: bounded 16-slot FIFO, P producers : C consumers, two condvars.\n"
        "               items/s through the queue.\n"
        "  broadcast    Condvar: the main thread bumps a generation and broadcasts to N waiters;\n"
        "               each wakes, takes the mutex, checks the generation and waits again; the "
        "last\n"
        "               one signals the main thread.  rounds/s.\n"
        "  pingpong     Condvar: two threads hand a turn back and forth.  trips/s (round trips).\n"
        "  wait         Wait-on-address (pl_wait/pl_wake_one) vs a pthread mutex+condvar event and "
        "a\n"
        "               raw futex: two threads take turns on one word (trips/s), and the cost of "
        "a\n"
        "               set-and-wake with nobody waiting (ns/call, lower is better).\n"
        "  once         pl_call_once vs pthread_once: a call on a done once (ns/call, lower is\n"
        "               better), and T threads racing through fresh onces with a ~1 us "
        "initialiser\n"
        "               (onces/s).\n"
        "  sync         pl_sem_t vs sem_t: two threads hand a turn back and forth (trips/s);\n"
        "               pl_barrier_t vs pthread_barrier_t: T threads through phases (phases/s);\n"
        "               pl_latch_t / pl_event_t vs a pthread mutex+condvar count / flag: T "
        "threads\n"
        "               through fresh latches (count down, wait) and fresh events (one sets, the\n"
        "               rest wait), per second.  Runs a third of the preset's run length.\n"
        "\n"
        "Figures and method\n"
        "  Every contender runs in this process, interleaved across repetitions (A B C A B C "
        "...);\n"
        "  tables show the median of the repetitions.  vs pthread: speed relative to the pthread\n"
        "  baseline of the family (> 1 = faster; for ns figures, pthread's time / ours).  spread:\n"
        "  (max - min) / median of the repetitions, flagged ! over 10%.  Every run checks its\n"
        "  counters (critical\n"
        "  sections, items, wake-ups, initialiser runs) and aborts on a mismatch: a broken lock "
        "never\n"
        "  posts a number.  An idle extra thread lives throughout (glibc's single-thread "
        "shortcuts\n"
        "  stay off); nothing is pinned.  The summary lists, per configuration, our ratio, the "
        "inlined\n"
        "  one, the best peer's, and ours relative to the best peer.  The load average before "
        "and after\n"
        "  and the CPU time other processes took are printed, with a warning when the machine "
        "was busy.\n"
        "\n"
        "Presets\n"
        "  --quick     (default) 300 ms runs, 3 reps: contended T=1,4,16; many T=2; rwlock "
        "T=4,16;\n"
        "              queue 1P:1C, 2P:2C, 4P:4C; broadcast to 16; once with 4 threads.  Drops "
        "from\n"
        "              --full: T=2,8,32 (contended), the many/rwlock sweeps, queues 1P:4C and "
        "4P:1C,\n"
        "              broadcasts to 4 and 64.  About 2 minutes on 2 cores.\n"
        "  --full      800 ms runs, 3 reps: T=1,2,4,8,16,32 for contended, many and rwlock; "
        "queues\n"
        "              1P:1C, 2P:2C, 4P:4C, 1P:4C, 4P:1C; broadcast to 4, 16, 64.  About 10 "
        "minutes\n"
        "              with every peer.\n"
        "  --smoke     every workload once (1 rep, 20 ms runs, few configurations): about 10 s; a\n"
        "              check that every contender still passes its verification, not a "
        "measurement.\n"
        "\n"
        "Options (given after or before a preset, they override it)\n"
        "  --workload NAME[,NAME]  run only these workloads (default all)\n"
        "  --threads LIST          thread counts for contended, many and rwlock, e.g. 1,2,4\n"
        "  --inouts LIST           (in,out) steps for contended, as IN:OUT, e.g. 1:0,10:40\n"
        "  --queues LIST           producer:consumer counts for queue, e.g. 2:2,4:1\n"
        "  --waiters LIST          waiter counts for broadcast, e.g. 4,64\n"
        "  --duration-ms N         length of one run\n"
        "  --reps N                repetitions per contender and configuration (median reported)\n"
        "  --contenders LIST       roles to run: ours (ours-call and ours-inline), pthread (the\n"
        "                          baseline), peers (default all); e.g. ours-call,pthread for\n"
        "                          tuning runs (without pthread the ratios are not computed)\n"
        "  --peer NAME             only the peers whose name contains NAME (nsync, absl,\n"
        "                          parking_lot, adaptive): one peer's counts under perf\n"
        "  --background N          N busy threads of unrelated arithmetic run throughout: a "
        "loaded\n"
        "                          machine, where lock holders are preempted (e.g. 2 x the "
        "CPUs)\n"
        "  --out DIR               where the CSV (DIR/pl-bench.csv) and the plots (DIR/plots) "
        "go:\n"
        "                          default pl-bench-results, except --smoke; none: no files\n"
        "  --csv FILE              the CSV here instead: one row per contender and "
        "configuration\n"
        "  --plots DIR             the PNG plots here instead (ops/s against threads, a line per\n"
        "                          contender, every thread sweep; needs gnuplot)\n"
        "  -h, --help              this text\n"
        "A progress line goes to stderr while it runs, when stderr is a terminal.\n",
        f);
}

static unsigned parse_uint(const char *opt, const char *s, unsigned min, unsigned max)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || *s == '-' || v < min || v > max) {
        fprintf(stderr, "pl-bench: %s: expected an integer in [%u, %u], got '%s'\n", opt, min, max,
                s);
        exit(2);
    }
    return (unsigned)v;
}

/* The next item of a comma-separated list, cut in place; NULL after the last. */
static char *next_item(char **cursor)
{
    char *s = *cursor;
    if (!s)
        return NULL;
    char *comma = strchr(s, ',');
    if (comma)
        *comma = '\0';
    *cursor = comma ? comma + 1 : NULL;
    return s;
}

static void parse_threads(options_t *o, char *list)
{
    o->nthreads = 0;
    for (char *item; (item = next_item(&list));) {
        if (o->nthreads == COUNT(o->threads)) {
            fprintf(stderr, "pl-bench: --threads: at most %zu counts\n", COUNT(o->threads));
            exit(2);
        }
        o->threads[o->nthreads++] = parse_uint("--threads", item, 1, 1024);
    }
}

static void parse_inouts(options_t *o, char *list)
{
    o->ninouts = 0;
    for (char *item; (item = next_item(&list));) {
        char *colon = strchr(item, ':');
        if (!colon || o->ninouts == COUNT(o->inouts)) {
            fprintf(stderr, "pl-bench: --inouts: expected at most %zu items IN:OUT, got '%s'\n",
                    COUNT(o->inouts), item);
            exit(2);
        }
        *colon = '\0';
        o->inouts[o->ninouts].in = parse_uint("--inouts", item, 0, 100000);
        o->inouts[o->ninouts].out = parse_uint("--inouts", colon + 1, 0, 100000);
        o->ninouts++;
    }
}

static void parse_queues(options_t *o, char *list)
{
    o->nqueues = 0;
    for (char *item; (item = next_item(&list));) {
        char *colon = strchr(item, ':');
        if (!colon || o->nqueues == COUNT(o->queues)) {
            fprintf(stderr, "pl-bench: --queues: expected at most %zu items P:C, got '%s'\n",
                    COUNT(o->queues), item);
            exit(2);
        }
        *colon = '\0';
        o->queues[o->nqueues].producers = parse_uint("--queues", item, 1, 64);
        o->queues[o->nqueues].consumers = parse_uint("--queues", colon + 1, 1, 64);
        o->nqueues++;
    }
}

static void parse_waiters(options_t *o, char *list)
{
    o->nwaiters = 0;
    for (char *item; (item = next_item(&list));) {
        if (o->nwaiters == COUNT(o->waiters)) {
            fprintf(stderr, "pl-bench: --waiters: at most %zu counts\n", COUNT(o->waiters));
            exit(2);
        }
        o->waiters[o->nwaiters++] = parse_uint("--waiters", item, 1, 1024);
    }
}

static void parse_workloads(options_t *o, char *list)
{
    o->workloads = 0;
    for (char *item; (item = next_item(&list));) {
        size_t i = 0;
        while (i < COUNT(workload_names) && strcmp(workload_names[i].name, item) != 0)
            i++;
        if (i == COUNT(workload_names)) {
            fprintf(stderr, "pl-bench: --workload: unknown workload '%s' (see --help)\n", item);
            exit(2);
        }
        o->workloads |= workload_names[i].mask;
    }
}

static void parse_roles(options_t *o, char *list)
{
    static const struct {
        const char *name;
        unsigned roles;
    } names[] = {
        {"ours", (1u << PB_OURS) | (1u << PB_OURS_INLINE)},
        {"ours-call", 1u << PB_OURS},
        {"ours-inline", 1u << PB_OURS_INLINE},
        {"pthread", 1u << PB_BASELINE},
        {"peers", 1u << PB_PEER},
    };
    o->roles = 0;
    for (char *item; (item = next_item(&list));) {
        size_t i = 0;
        while (i < COUNT(names) && strcmp(names[i].name, item) != 0)
            i++;
        if (i == COUNT(names)) {
            fprintf(stderr,
                    "pl-bench: --contenders: expected ours, ours-call, ours-inline, pthread or "
                    "peers, got '%s'\n",
                    item);
            exit(2);
        }
        o->roles |= names[i].roles;
    }
}

static void parse_options(options_t *o, int argc, char **argv)
{
    enum {
        O_QUICK = 256,
        O_FULL,
        O_SMOKE,
        O_WORKLOAD,
        O_THREADS,
        O_DURATION,
        O_REPS,
        O_CSV,
        O_PLOTS,
        O_CONTENDERS,
        O_PEER,
        O_QUEUES,
        O_WAITERS,
        O_INOUTS,
        O_BACKGROUND,
        O_OUT
    };
    static const struct option longopts[] = {
        {"quick", no_argument, NULL, O_QUICK},
        {"full", no_argument, NULL, O_FULL},
        {"smoke", no_argument, NULL, O_SMOKE},
        {"workload", required_argument, NULL, O_WORKLOAD},
        {"threads", required_argument, NULL, O_THREADS},
        {"inouts", required_argument, NULL, O_INOUTS},
        {"queues", required_argument, NULL, O_QUEUES},
        {"waiters", required_argument, NULL, O_WAITERS},
        {"duration-ms", required_argument, NULL, O_DURATION},
        {"reps", required_argument, NULL, O_REPS},
        {"contenders", required_argument, NULL, O_CONTENDERS},
        {"peer", required_argument, NULL, O_PEER},
        {"csv", required_argument, NULL, O_CSV},
        {"plots", required_argument, NULL, O_PLOTS},
        {"out", required_argument, NULL, O_OUT},
        {"background", required_argument, NULL, O_BACKGROUND},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    o->preset = QUICK;
    o->workloads = W_ALL;
    o->roles = PB_ALL_ROLES;
    int c;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case O_QUICK: o->preset = QUICK; break;
        case O_FULL: o->preset = FULL; break;
        case O_SMOKE: o->preset = SMOKE; break;
        case O_WORKLOAD: parse_workloads(o, optarg); break;
        case O_THREADS: parse_threads(o, optarg); break;
        case O_INOUTS: parse_inouts(o, optarg); break;
        case O_QUEUES: parse_queues(o, optarg); break;
        case O_WAITERS: parse_waiters(o, optarg); break;
        case O_DURATION: o->duration_ms = parse_uint("--duration-ms", optarg, 1, 600000); break;
        case O_REPS: o->reps = parse_uint("--reps", optarg, 1, 101); break;
        case O_CONTENDERS: parse_roles(o, optarg); break;
        case O_PEER: o->peer = optarg; break;
        case O_CSV: o->csv = optarg; break;
        case O_PLOTS: o->plots = optarg; break;
        case O_OUT: o->out = optarg; break;
        case O_BACKGROUND: o->background = parse_uint("--background", optarg, 0, 1024); break;
        case 'h': usage(stdout); exit(0);
        default: usage(stderr); exit(2);
        }
    }
    if (optind < argc) {
        fprintf(stderr, "pl-bench: unexpected argument '%s' (see --help)\n", argv[optind]);
        exit(2);
    }
}

/* The preset's suite, then the explicit options on top. */
static void build_suite(const options_t *o, pb_suite_t *s, unsigned *duration_ms, unsigned *reps)
{
    memset(s, 0, sizeof *s);
    SET(s->inouts, s->ninouts, {1, 0}, {10, 40}, {1, 100});
    SET(s->read_per_mille, s->nread, 900, 990);
    s->many_locks = 1000000;
    s->once_threads = 4;
    switch (o->preset) {
    case QUICK:
        *duration_ms = 300, *reps = 3;
        SET(s->threads, s->nthreads, 1, 4, 16);
        SET(s->many_threads, s->nmany_threads, 2);
        SET(s->rw_threads, s->nrw_threads, 4, 16);
        SET(s->queues, s->nqueues, {1, 1}, {2, 2}, {4, 4});
        SET(s->waiters, s->nwaiters, 16);
        break;
    case FULL:
        *duration_ms = 800, *reps = 3;
        SET(s->threads, s->nthreads, 1, 2, 4, 8, 16, 32);
        SET(s->many_threads, s->nmany_threads, 1, 2, 4, 8, 16, 32);
        SET(s->rw_threads, s->nrw_threads, 1, 2, 4, 8, 16, 32);
        SET(s->queues, s->nqueues, {1, 1}, {2, 2}, {4, 4}, {1, 4}, {4, 1});
        SET(s->waiters, s->nwaiters, 4, 16, 64);
        break;
    case SMOKE:
        *duration_ms = 20, *reps = 1;
        SET(s->threads, s->nthreads, 1, 4);
        SET(s->many_threads, s->nmany_threads, 2);
        SET(s->rw_threads, s->nrw_threads, 4);
        SET(s->queues, s->nqueues, {1, 1}, {2, 2}, {4, 1});
        SET(s->waiters, s->nwaiters, 4, 16);
        break;
    }
    if (o->nthreads) {
        memcpy(s->threads, o->threads, o->nthreads * sizeof o->threads[0]);
        memcpy(s->many_threads, o->threads, o->nthreads * sizeof o->threads[0]);
        memcpy(s->rw_threads, o->threads, o->nthreads * sizeof o->threads[0]);
        s->nthreads = s->nmany_threads = s->nrw_threads = o->nthreads;
    }
    if (o->ninouts) {
        memcpy(s->inouts, o->inouts, o->ninouts * sizeof o->inouts[0]);
        s->ninouts = o->ninouts;
    }
    if (o->nqueues) {
        memcpy(s->queues, o->queues, o->nqueues * sizeof o->queues[0]);
        s->nqueues = o->nqueues;
    }
    if (o->nwaiters) {
        memcpy(s->waiters, o->waiters, o->nwaiters * sizeof o->waiters[0]);
        s->nwaiters = o->nwaiters;
    }
    if (o->duration_ms)
        *duration_ms = o->duration_ms;
    if (o->reps)
        *reps = o->reps;
}

static void run_suite(const pb_suite_t *s, unsigned w)
{
    if (w & W_UNCONTENDED)
        pb_wl_uncontended(s);
    if (w & W_CONTENDED)
        pb_wl_contended(s);
    if (w & W_MANY)
        pb_wl_many(s);
    if (w & W_RWLOCK)
        pb_wl_rwlock(s);
    if (w & W_QUEUE)
        pb_wl_queue(s);
    if (w & W_BROADCAST)
        pb_wl_broadcast(s);
    if (w & W_PINGPONG)
        pb_wl_pingpong(s);
    if (w & W_WAIT)
        pb_wl_wait(s);
    if (w & W_ONCE)
        pb_wl_once(s);
    if (w & W_SYNC)
        pb_wl_sync(s);
}

/* Where the CSV and the plots go: --csv / --plots, else under --out (default pl-bench-results,
 * except for --smoke, which is a check and writes nothing unless asked).  "--out none" writes
 * nothing. */
static void output_paths(options_t *o)
{
    static char csv[4096], plots[4096];
    const char *out = o->out ? o->out : o->preset == SMOKE ? "none" : "pl-bench-results";
    if (strcmp(out, "none") == 0)
        return;
    if (mkdir(out, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "pl-bench: --out %s: %s\n", out, strerror(errno));
        exit(2);
    }
    if (!o->csv) {
        snprintf(csv, sizeof csv, "%s/pl-bench.csv", out);
        o->csv = csv;
    }
    if (!o->plots) {
        snprintf(plots, sizeof plots, "%s/plots", out);
        o->plots = plots;
    }
}

static void print_legend(unsigned w)
{
    static const struct {
        unsigned mask;
        const char *line;
    } lines[] = {
        {W_UNCONTENDED, "uncontended  one thread: lock, increment, unlock (ns per pair)"},
        {W_CONTENDED, "contended    LockSpeedTest: T threads, `in` steps inside one lock, `out` "
                      "outside (critical sections/s)"},
        {W_MANY, "many         1,000,000 locks in an array, T threads lock random ones (ops/s; "
                 "MiB resident)"},
        {W_RWLOCK, "rwlock       T threads, 90% or 99% of operations reads of shared data, the "
                   "rest writes (ops/s)"},
        {W_QUEUE, "queue        condvar: a bounded 16-slot FIFO, P producers : C consumers "
                  "(items/s)"},
        {W_BROADCAST, "broadcast    condvar: one thread wakes N waiters each round (rounds/s)"},
        {W_PINGPONG, "pingpong     condvar: two threads hand a turn back and forth "
                     "(round trips/s)"},
        {W_WAIT, "wait         wait-on-address: two threads take turns on a word (trips/s); a "
                 "wake with nobody waiting (ns)"},
        {W_ONCE, "once         a call on a done once (ns); T threads through fresh onces "
                 "(onces/s)"},
        {W_SYNC, "sync         semaphore ping-pong (trips/s); T threads through barrier phases, "
                 "fresh latches, fresh events (per s)"},
    };
    printf("\nworkloads:\n");
    for (size_t i = 0; i < COUNT(lines); i++)
        if (w & lines[i].mask)
            printf("  %s\n", lines[i].line);
    pb_report_legend();
}

int main(int argc, char **argv)
{
    options_t o;
    pb_suite_t suite;
    unsigned duration_ms = 0, reps = 0;
    parse_options(&o, argc, argv);
    build_suite(&o, &suite, &duration_ms, &reps);
    output_paths(&o);
    if (o.csv && !pb_report_open_csv(o.csv))
        return 2;

    static const char *const preset_names[] = {"quick", "full", "smoke"};
    printf("pl-bench --%s: %ld online CPUs, %u ms per run, %u rep%s per contender and "
           "configuration",
           preset_names[o.preset], sysconf(_SC_NPROCESSORS_ONLN), duration_ms, reps,
           reps == 1 ? "" : "s");
    if (o.background)
        printf(", %u busy background thread%s throughout", o.background,
               o.background == 1 ? "" : "s");
    printf("\n");
    pb_contenders_setup(o.roles, o.peer);

    pb_measure_setup(reps, duration_ms, isatty(STDERR_FILENO));
    pb_measure_begin_plan();
    run_suite(&suite, o.workloads);
    double planned;
    unsigned runs;
    pb_measure_end_plan(&planned, &runs);
    printf("%u runs, about %.0f s of measurement plus set-up\n", runs, planned);
    if (o.preset == SMOKE || reps < 3)
        printf("(fewer than 3 reps: a correctness check, not a measurement)\n");
    print_legend(o.workloads);
    fflush(stdout);

    pb_machine_t before, after;
    pb_machine_sample(&before);
    pb_idle_thread_start();
    pb_background_start(o.background);
    uint64_t start = pb_now_ns();
    run_suite(&suite, o.workloads);
    double wall = (double)(pb_now_ns() - start) / 1e9;
    pb_background_stop();
    pb_machine_sample(&after);
    pb_report_summary();
    int rc = 0;
    if (o.plots)
        (void)pb_report_plots(o.plots); /* a missing gnuplot is reported, not fatal */
    if (!pb_report_close()) {
        fprintf(stderr, "pl-bench: %s: write error\n", o.csv);
        rc = 1;
    } else if (o.csv) {
        printf("CSV: %s (every contender and configuration: median, min, max, spread)\n", o.csv);
    }
    (void)pb_machine_report(&before, &after);
    printf("total wall time: %.1f s\n", wall);
    pb_idle_thread_stop();
    return rc;
}
