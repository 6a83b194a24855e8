/* tb_benchpub: publishes training_progress events at a fixed rate for the
 * benchmarks, through libtrainevents' publisher.
 *
 * One te_publisher (one trainer id, "<trainer-prefix>-<k>") per scenario
 * <prefix>k, so that every scenario's sequence numbers run 1, 2, 3, ... and
 * a client in one room can tell a lost event from a gap in the numbering.
 * Every publisher waits for its subscriber first; then event j (0-based) of
 * R * D goes to scenario j mod S at t0 + j / R, paced with clock_nanosleep
 * on absolute CLOCK_MONOTONIC deadlines (a late wake-up sends what is due at
 * once: the average rate holds). The publisher library stamps seq and ts.
 *
 * Prints one JSON line: events sent per scenario, send errors, the achieved
 * rate and how far behind its schedule it fell at worst. */

#include "trainevents.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#define MAX_SCENARIOS 1024
#define NS_PER_S 1000000000LL
#define EXIT_USAGE 2

static volatile sig_atomic_t stop_requested;

struct pub_opts {
    const char *endpoint;
    double rate;
    double duration_s;
    uint32_t n_scenarios;
    const char *prefix;
    const char *trainer_prefix;
    int ready_timeout_ms;
    int sndhwm;
};

struct pub_result {
    uint64_t sent[MAX_SCENARIOS];
    uint64_t n_sent, n_errors;
    int64_t t0_rt_us, t1_rt_us;
    double elapsed_s;
    int64_t max_behind_ns;
};

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

static void usage(FILE *out)
{
    fprintf(out, "usage: tb_benchpub --endpoint EP --rate R --duration-s D [options]\n"
                 "  --endpoint EP          where to publish (connects; '@EP' binds)\n"
                 "  --rate R               events per second, all scenarios together\n"
                 "  --duration-s D         seconds to publish\n"
                 "  --scenarios S          scenarios <prefix>0 .. <prefix>S-1 (default 1)\n"
                 "  --prefix NAME          scenario name prefix (default s)\n"
                 "  --trainer-prefix NAME  trainer ids NAME-0 .. NAME-(S-1) (default bench)\n"
                 "  --ready-timeout-ms MS  wait for a subscriber (default 10000)\n"
                 "  --sndhwm N             ZeroMQ send high-water mark (default: library's)\n");
}

static int parse_args(int argc, char **argv, struct pub_opts *o)
{
    *o = (struct pub_opts){
        .n_scenarios = 1, .prefix = "s", .trainer_prefix = "bench", .ready_timeout_ms = 10000};
    static const struct option longs[] = {{"endpoint", 1, 0, 'e'},
                                          {"rate", 1, 0, 'r'},
                                          {"duration-s", 1, 0, 'd'},
                                          {"scenarios", 1, 0, 's'},
                                          {"prefix", 1, 0, 'x'},
                                          {"trainer-prefix", 1, 0, 't'},
                                          {"ready-timeout-ms", 1, 0, 'w'},
                                          {"sndhwm", 1, 0, 'h'},
                                          {"help", 0, 0, 'H'},
                                          {0, 0, 0, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (ch) {
        case 'e':
            o->endpoint = optarg;
            break;
        case 'r':
            o->rate = strtod(optarg, NULL);
            break;
        case 'd':
            o->duration_s = strtod(optarg, NULL);
            break;
        case 's':
            o->n_scenarios = (uint32_t)strtoul(optarg, NULL, 10);
            break;
        case 'x':
            o->prefix = optarg;
            break;
        case 't':
            o->trainer_prefix = optarg;
            break;
        case 'w':
            o->ready_timeout_ms = (int)strtol(optarg, NULL, 10);
            break;
        case 'h':
            o->sndhwm = (int)strtol(optarg, NULL, 10);
            break;
        case 'H':
            usage(stdout);
            exit(0);
        default:
            return -1;
        }
    }
    bool is_bad = !o->endpoint || o->rate <= 0 || o->duration_s <= 0 || o->n_scenarios == 0 ||
                  o->n_scenarios > MAX_SCENARIOS || optind != argc;
    return is_bad ? -1 : 0;
}

/* One publisher per scenario, each waited on until its subscriber is there. */
static int open_publishers(const struct pub_opts *o, struct te_publisher **pubs)
{
    const char *eps[1] = {o->endpoint};
    for (uint32_t k = 0; k < o->n_scenarios; k++) {
        char trainer[TE_MAX_NAME_LEN + 1];
        snprintf(trainer, sizeof trainer, "%s-%u", o->trainer_prefix, k);
        struct te_publisher_opts po = {.endpoints = eps,
                                       .n_endpoints = 1,
                                       .trainer = trainer,
                                       .ready_timeout_ms = o->ready_timeout_ms,
                                       .sndhwm = o->sndhwm};
        struct te_error err;
        pubs[k] = te_publisher_new(&po, &err);
        if (!pubs[k]) {
            fprintf(stderr, "tb_benchpub: publisher %u: %s\n", k, err.msg);
            return -EINVAL;
        }
    }
    for (uint32_t k = 0; k < o->n_scenarios; k++) {
        if (te_publisher_wait_ready(pubs[k], o->ready_timeout_ms) < 0) {
            fprintf(stderr, "tb_benchpub: no subscriber on %s within %d ms\n", o->endpoint,
                    o->ready_timeout_ms);
            return -ETIMEDOUT;
        }
    }
    return 0;
}

static void fill_progress(struct te_event *ev, uint64_t j, uint64_t total)
{
    struct te_progress *p = &ev->data.progress;
    p->episode = (int64_t)j;
    p->total_episodes = (int64_t)total;
    p->avg_reward = 150.5 + (double)(j % 1000) * 0.25;
    p->avg_duration = 12.75;
    p->avg_cash = 10234.5;
    p->avg_invested = 0.625;
    p->stability = 0.875;
    p->goal_adherence = 0.5;
    p->elapsed_time = (double)j * 0.001;
}

static void publish(const struct pub_opts *o, struct te_publisher **pubs, struct pub_result *r)
{
    uint64_t total = (uint64_t)(o->rate * o->duration_s + 0.5);
    double ns_per_event = (double)NS_PER_S / o->rate;
    struct te_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = TE_TRAINING_PROGRESS;
    r->t0_rt_us = te_now_us();
    int64_t t0 = mono_ns();
    for (uint64_t j = 0; j < total && !stop_requested; j++) {
        int64_t deadline = t0 + (int64_t)((double)j * ns_per_event);
        int64_t now = mono_ns();
        if (now < deadline) {
            struct timespec ts = {.tv_sec = deadline / NS_PER_S, .tv_nsec = deadline % NS_PER_S};
            while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR &&
                   !stop_requested) {
            }
        } else if (now - deadline > r->max_behind_ns) {
            r->max_behind_ns = now - deadline;
        }
        uint32_t k = (uint32_t)(j % o->n_scenarios);
        snprintf(ev.scenario, sizeof ev.scenario, "%s%u", o->prefix, k);
        fill_progress(&ev, j, total);
        struct te_error err;
        if (te_publisher_send(pubs[k], &ev, &err) < 0) {
            r->n_errors++;
            continue;
        }
        r->sent[k]++;
        r->n_sent++;
    }
    r->elapsed_s = (double)(mono_ns() - t0) / (double)NS_PER_S;
    r->t1_rt_us = te_now_us();
}

static void print_result(const struct pub_opts *o, const struct pub_result *r)
{
    printf("{\"rate\":%.3f,\"duration_s\":%.3f,\"sent\":%" PRIu64 ",\"errors\":%" PRIu64
           ",\"elapsed_s\":%.6f,\"achieved_rate\":%.1f,\"max_behind_ms\":%.3f,\"t0_rt_us\":%" PRId64
           ",\"t1_rt_us\":%" PRId64 ",\"per_scenario\":[",
           o->rate, o->duration_s, r->n_sent, r->n_errors, r->elapsed_s,
           r->elapsed_s > 0 ? (double)r->n_sent / r->elapsed_s : 0.0,
           (double)r->max_behind_ns / 1e6, r->t0_rt_us, r->t1_rt_us);
    for (uint32_t k = 0; k < o->n_scenarios; k++)
        printf("%s%" PRIu64, k ? "," : "", r->sent[k]);
    printf("]}\n");
    fflush(stdout);
}

int main(int argc, char **argv)
{
    struct pub_opts o;
    if (parse_args(argc, argv, &o) < 0) {
        usage(stderr);
        return EXIT_USAGE;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL); /* wake at the deadline, not 50 µs after */
    static struct te_publisher *pubs[MAX_SCENARIOS];
    static struct pub_result result;
    int rc = open_publishers(&o, pubs);
    if (rc == 0) {
        publish(&o, pubs, &result);
        print_result(&o, &result);
    }
    for (uint32_t k = 0; k < o.n_scenarios; k++)
        te_publisher_destroy(&pubs[k]);
    return rc == 0 ? 0 : 1;
}
