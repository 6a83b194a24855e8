/* tb_loadgen: N Socket.IO clients for the benchmarks, in one epoll thread.
 *
 * Each client opens a WebSocket at /socket.io/?EIO=4&transport=websocket,
 * waits for the Engine.IO open packet, sends the Socket.IO CONNECT, then
 * `subscribe_training` for scenario (i mod S) with an ack id, and counts
 * itself ready at the ack. It answers Engine.IO pings for as long as it
 * lives. Connections are opened with bounded concurrency. When every client
 * is ready (or failed) one JSON line {"ready":true,...} goes to stdout.
 *
 * Then it counts every event each client receives, measures
 * publish-to-receipt latency (CLOCK_REALTIME at the read minus the meta's
 * "ts", the publisher's CLOCK_REALTIME) into a histogram, and finds losses
 * from gaps in each trainer's sequence numbers per client. A second
 * histogram takes the kernel's arrival time of the data (SO_TIMESTAMPNS)
 * instead of the read: the difference between the two is this program's own
 * delay (it shares the machine's CPUs with the server).
 *
 * Measurement is split into phases. SIGUSR1 ends the current phase: once no
 * event has arrived for --idle-ms (or --drain-ms after the signal at the
 * latest) one JSON line with the phase's figures goes to stdout and the
 * counters start again. SIGTERM/SIGINT report a phase in progress and exit.
 * The figures include the load generator's own CPU use (getrusage) while
 * events flowed, and "saturated" when it neared one core: then the
 * measurement says more about this program than about the server.
 *
 * "Stalled" clients (--stalled K: clients 0..K-1) subscribe and then stop
 * reading (and answering pings); their receive buffer is made small so the
 * server sees them stall soon. They are left out of every count.
 *
 * --timeline prints events and the worst latency per 50 ms on stderr, to tell
 * a steady delay from bursts (e.g. other work on the machine).
 *
 * This file runs the loop, the phases and the options; loadgen_conn.c owns
 * one client's connection and protocol, loadgen.h the state they share. */
#include "loadgen.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_EPOLL_EVENTS 1024
#define TICK_US 50000
#define CPU_WINDOW_US 1000000
#define SATURATED_PCT 90.0
#define FD_MARGIN 64
#define EXIT_USAGE 2

/* ------------------------------------------------------------ phases */

static void print_hist(const struct bench_hist *h)
{
    printf("{\"n\":%" PRIu64 ",\"mean\":%.1f,\"p50\":%" PRId64 ",\"p90\":%" PRId64
           ",\"p99\":%" PRId64 ",\"p999\":%" PRId64 ",\"max\":%" PRId64 "}",
           h->n, bench_hist_mean(h), bench_hist_quantile(h, 0.5), bench_hist_quantile(h, 0.9),
           bench_hist_quantile(h, 0.99), bench_hist_quantile(h, 0.999), h->max_us);
}

static void print_phase(struct lg *lg)
{
    struct phase *ph = &lg->ph;
    uint64_t min_c = UINT64_MAX, max_c = 0;
    uint32_t n_open = 0;
    uint64_t *members = calloc(lg->o.n_scenarios, sizeof *members);
    for (uint32_t i = 0; i < lg->o.n_clients; i++) {
        struct client *c = &lg->clients[i];
        if (c->is_stalled || !c->was_ready)
            continue;
        if (members)
            members[c->scenario]++;
        n_open += c->state == CS_READY;
        min_c = c->n_events < min_c ? c->n_events : min_c;
        max_c = c->n_events > max_c ? c->n_events : max_c;
    }
    int64_t span = ph->mono_last_us - ph->mono_first_us;
    double cpu_pct =
        span > 0 ? 100.0 * (double)(ph->cpu_last_us - ph->cpu_first_us) / (double)span : 0;
    printf("{\"phase\":%d,\"events\":%" PRIu64 ",\"per_scenario\":[", ph->index, ph->n_events);
    for (uint32_t s = 0; s < lg->o.n_scenarios; s++)
        printf("%s%" PRIu64, s ? "," : "", ph->per_scenario[s]);
    printf("],\"members\":[");
    for (uint32_t s = 0; s < lg->o.n_scenarios; s++)
        printf("%s%" PRIu64, s ? "," : "", members ? members[s] : 0);
    printf("],\"lat_us\":");
    print_hist(&ph->hist);
    printf(",\"lat_socket_us\":");
    print_hist(&ph->hist_socket);
    printf(",\"lost_gaps\":%" PRIu64 ",\"dups\":%" PRIu64 ",\"wrong_room\":%" PRIu64
           ",\"unparsed\":%" PRIu64 ",\"untracked\":%" PRIu64 ",\"closed\":%" PRIu64
           ",\"open\":%u,\"per_client_min\":%" PRIu64 ",\"per_client_max\":%" PRIu64,
           ph->n_lost_gaps, ph->n_dups, ph->n_wrong_room, ph->n_unparsed, ph->n_untracked,
           ph->n_closed, n_open, min_c == UINT64_MAX ? 0 : min_c, max_c);
    printf(",\"first_recv_us\":%" PRId64 ",\"last_recv_us\":%" PRId64 ",\"min_ts_us\":%" PRId64
           ",\"cpu_pct\":%.1f,\"cpu_peak_1s_pct\":%.1f,\"saturated\":%s}\n",
           ph->first_recv_us, ph->last_recv_us, ph->n_events ? ph->min_ts_us : 0, cpu_pct,
           ph->peak_cpu_pct,
           (cpu_pct >= SATURATED_PCT || ph->peak_cpu_pct >= SATURATED_PCT) ? "true" : "false");
    fflush(stdout);
    free(members);
}

static void reset_phase(struct lg *lg)
{
    struct phase *ph = &lg->ph;
    uint64_t *per_scenario = ph->per_scenario;
    int index = ph->index;
    memset(ph, 0, sizeof *ph);
    memset(per_scenario, 0, lg->o.n_scenarios * sizeof *per_scenario);
    ph->per_scenario = per_scenario;
    ph->index = index + 1;
    for (uint32_t i = 0; i < lg->o.n_clients; i++) {
        lg->clients[i].n_events = 0;
        lg->clients[i].n_seq = 0;
    }
    memset(lg->trainers, 0, sizeof lg->trainers);
    lg->n_trainers = 0;
}

/* Ends the phase once events stopped for idle_ms after the request (or
 * drain_ms passed). */
static void maybe_end_phase(struct lg *lg, int64_t now)
{
    struct phase *ph = &lg->ph;
    if (!ph->is_ending)
        return;
    int64_t quiet_since = ph->end_requested_us;
    if (ph->n_events && ph->mono_last_us > quiet_since)
        quiet_since = ph->mono_last_us;
    if (now - quiet_since < (int64_t)lg->o.idle_ms * 1000 &&
        now - ph->end_requested_us < (int64_t)lg->o.drain_ms * 1000)
        return;
    print_phase(lg);
    reset_phase(lg);
}

/* Every TICK_US: CPU figures of the phase (last time events flowed, and the
 * busiest one-second window while they did). */
/* --timeline: one stderr line per tick with events, worst latency and CPU. */
static void print_timeline(struct lg *lg, int64_t now)
{
    static int64_t last_cpu_us, last_us;
    int64_t cpu = cpu_used_us();
    if (lg->tick_events)
        fprintf(stderr,
                "timeline t_ms=%" PRId64 " events=%" PRIu64 " max_lat_us=%" PRId64
                " cpu_pct=%.0f\n",
                clock_us(CLOCK_REALTIME) / 1000, lg->tick_events, lg->tick_max_lat_us,
                last_us ? 100.0 * (double)(cpu - last_cpu_us) / (double)(now - last_us) : 0.0);
    last_cpu_us = cpu;
    last_us = now;
    lg->tick_events = 0;
    lg->tick_max_lat_us = 0;
}

static void sample_cpu(struct lg *lg, int64_t now)
{
    struct phase *ph = &lg->ph;
    int64_t cpu = cpu_used_us();
    if (ph->n_events != ph->n_events_at_tick) {
        ph->n_events_at_tick = ph->n_events;
        ph->mono_last_us = now;
        ph->cpu_last_us = cpu;
    }
    if (now - lg->win_start_us < CPU_WINDOW_US)
        return;
    double pct = 100.0 * (double)(cpu - lg->win_start_cpu_us) / (double)(now - lg->win_start_us);
    if (ph->n_events > lg->win_start_events && pct > ph->peak_cpu_pct)
        ph->peak_cpu_pct = pct;
    lg->win_start_us = now;
    lg->win_start_cpu_us = cpu;
    lg->win_start_events = ph->n_events;
}

/* ------------------------------------------------------------ setup */

static void start_more(struct lg *lg)
{
    while (lg->n_started < lg->o.n_clients && lg->n_in_flight < lg->o.concurrency)
        loadgen_conn_start(lg, &lg->clients[lg->n_started++]);
}

static void check_setup(struct lg *lg, int64_t now)
{
    if (lg->is_ready_reported)
        return;
    bool is_late = now - lg->setup_start_us > (int64_t)lg->o.setup_timeout_s * 1000000;
    if (is_late) {
        lg->n_started = lg->o.n_clients; /* start no more */
        for (uint32_t i = 0; i < lg->o.n_clients; i++) {
            struct client *c = &lg->clients[i];
            if (c->state < CS_READY && c->state != CS_WAITING)
                loadgen_conn_close(lg, c, "setup timeout");
            else if (c->state == CS_WAITING) {
                c->state = CS_CLOSED;
                lg->n_failed++;
            }
        }
    }
    if (lg->n_ready + lg->n_failed < lg->o.n_clients)
        return;
    printf("{\"ready\":true,\"clients\":%u,\"subscribed\":%u,\"failed\":%u,\"stalled\":%u,"
           "\"setup_s\":%.3f}\n",
           lg->o.n_clients, lg->n_ready, lg->n_failed, lg->o.n_stalled,
           (double)(now - lg->setup_start_us) / 1e6);
    fflush(stdout);
    lg->is_ready_reported = true;
    lg->win_start_us = now;
    lg->win_start_cpu_us = cpu_used_us();
}

static void on_signal(struct lg *lg)
{
    struct signalfd_siginfo si;
    while (read(lg->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGUSR1 && !lg->ph.is_ending) {
            lg->ph.is_ending = true;
            lg->ph.end_requested_us = mono_us();
        } else if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
            lg->is_exiting = true;
        }
    }
}

static int run(struct lg *lg)
{
    struct epoll_event events[MAX_EPOLL_EVENTS];
    lg->setup_start_us = mono_us();
    start_more(lg);
    while (!lg->is_exiting) {
        int n = epoll_wait(lg->ep, events, MAX_EPOLL_EVENTS, TICK_US / 1000);
        if (n < 0 && errno != EINTR) {
            perror("tb_loadgen: epoll_wait");
            return 1;
        }
        for (int i = 0; i < n; i++) {
            if (events[i].data.u32 == SIGNAL_TAG)
                on_signal(lg);
            else
                loadgen_conn_on_events(lg, &lg->clients[events[i].data.u32], events[i].events);
        }
        start_more(lg);
        int64_t now = mono_us();
        if (now >= lg->next_tick_us) {
            lg->next_tick_us = now + TICK_US;
            check_setup(lg, now);
            sample_cpu(lg, now);
            if (lg->o.is_timeline)
                print_timeline(lg, now);
            maybe_end_phase(lg, now);
        }
    }
    if (lg->ph.n_events || lg->ph.is_ending)
        print_phase(lg);
    return 0;
}

/* ------------------------------------------------------------ main */

static void usage(FILE *out)
{
    fprintf(out,
            "usage: tb_loadgen --port P [options]\n"
            "  --host ADDR             server address (default 127.0.0.1)\n"
            "  --port P                server port (required)\n"
            "  --clients N             WebSocket clients (default 100)\n"
            "  --scenarios S           client i subscribes to <prefix>(i mod S) (default 1)\n"
            "  --prefix NAME           scenario name prefix (default s)\n"
            "  --concurrency C         clients being set up at once (default 200)\n"
            "  --stalled K             clients 0..K-1 stop reading once subscribed (default 0)\n"
            "  --stalled-rcvbuf BYTES  SO_RCVBUF of stalled clients (default 4096; 0 = system)\n"
            "  --idle-ms MS            a phase ends this long after the last event (default 500)\n"
            "  --drain-ms MS           ... or this long after SIGUSR1 (default 10000)\n"
            "  --setup-timeout-s S     give up on clients not subscribed by then (default 120)\n"
            "  --source-addrs N        client i connects from 127.0.0.(2 + i mod N) (default 0:\n"
            "                          the kernel picks; N > 1 passes one address's port range)\n"
            "  --timeline              print events and worst latency per 50 ms on stderr\n"
            "Prints {\"ready\":...} when all are subscribed, one JSON line per phase\n"
            "(SIGUSR1 ends a phase), and exits on SIGTERM/SIGINT.\n");
}

static int parse_args(int argc, char **argv, struct lg_opts *o)
{
    *o = (struct lg_opts){.host = "127.0.0.1",
                          .n_clients = 100,
                          .n_scenarios = 1,
                          .prefix = "s",
                          .concurrency = 200,
                          .stalled_rcvbuf = 4096,
                          .idle_ms = 500,
                          .drain_ms = 10000,
                          .setup_timeout_s = 120};
    static const struct option longs[] = {{"host", 1, 0, 'h'},
                                          {"port", 1, 0, 'p'},
                                          {"clients", 1, 0, 'n'},
                                          {"scenarios", 1, 0, 's'},
                                          {"prefix", 1, 0, 'x'},
                                          {"concurrency", 1, 0, 'c'},
                                          {"stalled", 1, 0, 'k'},
                                          {"stalled-rcvbuf", 1, 0, 'r'},
                                          {"idle-ms", 1, 0, 'i'},
                                          {"drain-ms", 1, 0, 'd'},
                                          {"setup-timeout-s", 1, 0, 't'},
                                          {"source-addrs", 1, 0, 'a'},
                                          {"timeline", 0, 0, 'T'},
                                          {"help", 0, 0, 'H'},
                                          {0, 0, 0, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        long v = optarg ? strtol(optarg, NULL, 10) : 0;
        switch (ch) {
        case 'h':
            o->host = optarg;
            break;
        case 'p':
            o->port = (int)v;
            break;
        case 'n':
            o->n_clients = (uint32_t)v;
            break;
        case 's':
            o->n_scenarios = (uint32_t)v;
            break;
        case 'x':
            o->prefix = optarg;
            break;
        case 'c':
            o->concurrency = (uint32_t)v;
            break;
        case 'k':
            o->n_stalled = (uint32_t)v;
            break;
        case 'r':
            o->stalled_rcvbuf = (int)v;
            break;
        case 'i':
            o->idle_ms = (int)v;
            break;
        case 'd':
            o->drain_ms = (int)v;
            break;
        case 'a':
            o->n_source_addrs = (uint32_t)v;
            break;
        case 't':
            o->setup_timeout_s = (int)v;
            break;
        case 'T':
            o->is_timeline = true;
            break;
        case 'H':
            usage(stdout);
            exit(0);
        default:
            return -1;
        }
    }
    bool is_bad = o->port <= 0 || o->port > 65535 || o->n_clients == 0 || o->n_scenarios == 0 ||
                  o->n_scenarios > 65535 || o->concurrency == 0 || o->n_stalled > o->n_clients ||
                  strlen(o->prefix) > 32 || optind != argc;
    return is_bad ? -1 : 0;
}

/* Raises RLIMIT_NOFILE far enough for the clients, up to the hard limit. */
static int raise_fd_limit(uint32_t n_clients)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return -errno;
    rlim_t need = (rlim_t)n_clients + FD_MARGIN;
    if (rl.rlim_cur >= need)
        return 0;
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
        fprintf(stderr, "tb_loadgen: %u clients need %lu descriptors; the hard limit is %lu\n",
                n_clients, (unsigned long)need, (unsigned long)rl.rlim_max);
        return -EMFILE;
    }
    rl.rlim_cur = need;
    return setrlimit(RLIMIT_NOFILE, &rl) < 0 ? -errno : 0;
}

static int setup(struct lg *lg)
{
    const struct lg_opts *o = &lg->o;
    lg->clients = calloc(o->n_clients, sizeof *lg->clients);
    lg->scenario_names = calloc(o->n_scenarios, sizeof *lg->scenario_names);
    lg->ph.per_scenario = calloc(o->n_scenarios, sizeof *lg->ph.per_scenario);
    lg->rbuf = malloc(MAX_MESSAGE + BENCH_WS_MAX_HEADER + READ_CHUNK);
    if (!lg->clients || !lg->scenario_names || !lg->ph.per_scenario || !lg->rbuf)
        return -ENOMEM;
    for (uint32_t s = 0; s < o->n_scenarios; s++)
        snprintf(lg->scenario_names[s], MAX_NAME + 1, "%s%u", o->prefix, s);
    for (uint32_t i = 0; i < o->n_clients; i++) {
        lg->clients[i] = (struct client){.fd = -1,
                                         .idx = i,
                                         .scenario = (uint16_t)(i % o->n_scenarios),
                                         .is_stalled = i < o->n_stalled};
    }
    lg->rng = 0x9E3779B97F4A7C15ULL ^ (uint64_t)getpid();
    lg->ep = epoll_create1(EPOLL_CLOEXEC);
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGUSR1);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    lg->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (lg->ep < 0 || lg->sigfd < 0)
        return -errno;
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = SIGNAL_TAG};
    return epoll_ctl(lg->ep, EPOLL_CTL_ADD, lg->sigfd, &ev) < 0 ? -errno : 0;
}

/* Closes with a reset so that thousands of runs leave no TIME_WAIT behind. */
static void teardown(struct lg *lg)
{
    struct linger lin = {.l_onoff = 1, .l_linger = 0};
    for (uint32_t i = 0; i < lg->o.n_clients; i++) {
        struct client *c = &lg->clients[i];
        if (c->fd >= 0)
            setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lin, sizeof lin);
        c->state = c->state == CS_CLOSED ? CS_CLOSED : CS_STALLED; /* no counting on the way out */
        if (c->fd >= 0)
            close(c->fd);
        free(c->rx);
        free(c->tx);
        free(c->msg);
    }
    free(lg->clients);
    free(lg->scenario_names);
    free(lg->ph.per_scenario);
    free(lg->rbuf);
}

int main(int argc, char **argv)
{
    static struct lg lg; /* large (the trainer table): not on the stack */
    if (parse_args(argc, argv, &lg.o) < 0) {
        usage(stderr);
        return EXIT_USAGE;
    }
    signal(SIGPIPE, SIG_IGN);
    if (raise_fd_limit(lg.o.n_clients) < 0)
        return 1;
    int rc = setup(&lg);
    if (rc < 0) {
        fprintf(stderr, "tb_loadgen: setup failed: %s\n", strerror(-rc));
        return 1;
    }
    rc = run(&lg);
    teardown(&lg);
    return rc;
}
