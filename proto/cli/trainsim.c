/* trainsim: a simulated trainer. Publishes plausible training runs for one or
 * more scenarios through libtrainevents' publisher, so that the bridge and
 * dashboards can be tried and tested without a real training job.
 *
 * One publisher (one trainer id); each scenario gets its own run and the runs
 * are interleaved: training_started for every scenario, then one
 * training_progress per scenario per episode, then the terminal event. Flags
 * come from the command line or TRAINSIM_<FLAG> environment variables (flags
 * win). SIGINT/SIGTERM end every unfinished run with training_stopped and
 * exit 0. Pacing uses clock_nanosleep: this is a trainer tool, not the bridge. */
#include "trainevents.h"
#include "stop_signal.h"
#include "trainsim_config.h"

#include <ctype.h>
#include <czmq.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define NS_PER_S 1000000000LL
#define SLEEP_SLICE_NS (100 * 1000000LL) /* longest time a signal may go unnoticed */

/* One simulated training run of one scenario. */
struct sim_run {
    const char *scenario;
    uint64_t rng;
    double reward_base;
    double reward_gain;
    int64_t started_mono_us;
    int64_t episodes_done;
    bool is_started;
    bool is_finished;
    struct te_progress last;
};

struct sim {
    const struct sim_config *cfg;
    struct te_publisher *pub;
    struct sim_run runs[MAX_SCENARIOS];
    uint64_t n_runs; /* runs started so far, all scenarios, for seeding */
};

enum sim_status { SIM_OK, SIM_STOPPED, SIM_FAILED };

/* ---------------------------------------------------------------- options */

/* ------------------------------------------------------------- simulation */

static uint64_t next_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL); /* splitmix64 */
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* Uniform in (0, 1]. */
static double next_uniform(uint64_t *state)
{
    return ((double)(next_random(state) >> 11) + 1.0) * 0x1p-53;
}

/* Standard normal (Box-Muller). */
static double next_gauss(uint64_t *state)
{
    double u1 = next_uniform(state), u2 = next_uniform(state);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

static uint64_t hash_name(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
    return h;
}

static double round_to(double v, double scale)
{
    return round(v * scale) / scale;
}

static double clamp01(double v)
{
    return v < 0 ? 0 : v > 1 ? 1 : v;
}

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ISO 8601 UTC with microseconds, e.g. 2024-05-01T12:00:00.123456Z. */
static void format_utc_now(char out[TE_MAX_TIME_LEN + 1])
{
    int64_t now_us = te_now_us();
    time_t secs = (time_t)(now_us / 1000000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char date[32];
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, TE_MAX_TIME_LEN + 1, "%s.%06ldZ", date, (long)(now_us % 1000000));
}

/* The metrics of episode e: reward rising with noise towards a plateau,
 * shorter episodes, more cash invested, stability and adherence in [0, 1]. */
static void simulate_episode(struct sim_run *run, int64_t e, int64_t n_episodes)
{
    struct te_progress *m = &run->last;
    double f = (double)e / (double)n_episodes;
    uint64_t *rng = &run->rng;
    m->episode = e;
    m->total_episodes = n_episodes;
    m->avg_reward = round_to(run->reward_base + run->reward_gain * (1 - exp(-4 * f)) +
                                 8 * (1 - 0.5 * f) * next_gauss(rng),
                             1e4);
    m->avg_duration = round_to(fmax(1, 200 - 120 * f + 10 * next_gauss(rng)), 1e4);
    m->avg_cash = round_to(10000 + 4000 * f + 300 * next_gauss(rng), 1e2);
    m->avg_invested = round_to(fmax(0, 10000 * (0.2 + 0.6 * f) + 200 * next_gauss(rng)), 1e2);
    m->stability = round_to(clamp01(0.4 + 0.55 * f + 0.04 * next_gauss(rng)), 1e4);
    m->goal_adherence = round_to(clamp01(0.2 + 0.7 * f + 0.05 * next_gauss(rng)), 1e4);
    double elapsed_s = round_to((double)(mono_us() - run->started_mono_us) / 1e6, 1e3);
    m->elapsed_time = e == 1 ? fmax(elapsed_s, 0.001) : fmax(elapsed_s, m->elapsed_time + 0.001);
}

static void print_event_line(const struct sim *s, const struct te_event *ev)
{
    if (s->cfg->is_quiet)
        return;
    fprintf(stderr, "trainsim: %s seq=%" PRIu64 " %s %s", ev->trainer, ev->seq, ev->scenario,
            te_event_name(ev->type));
    const struct te_progress *p = &ev->data.progress;
    if (ev->type == TE_TRAINING_PROGRESS)
        fprintf(stderr, " episode=%" PRId64 "/%" PRId64 " avg_reward=%.4f stability=%.4f",
                p->episode, p->total_episodes, p->avg_reward, p->stability);
    fputc('\n', stderr);
}

/* Publishes ev; prints and classifies failures. */
static enum sim_status publish(struct sim *s, struct te_event *ev, const char *scenario)
{
    snprintf(ev->scenario, sizeof ev->scenario, "%s", scenario);
    struct te_error err = {0};
    int rc = te_publisher_send(s->pub, ev, &err);
    if (rc == -EINTR && stop_signal_requested())
        return SIM_STOPPED;
    if (rc == -ETIMEDOUT) {
        fprintf(stderr, "trainsim: %s\n", err.msg);
        return SIM_FAILED;
    }
    if (rc < 0) {
        fprintf(stderr, "trainsim: cannot publish %s: %s\n", te_event_name(ev->type),
                err.msg[0] ? err.msg : strerror(-rc));
        return SIM_FAILED;
    }
    print_event_line(s, ev);
    return SIM_OK;
}

static void begin_run(struct sim *s, struct sim_run *run, const char *scenario)
{
    uint64_t seed =
        (uint64_t)s->cfg->seed ^ hash_name(scenario) ^ (s->n_runs++ * 0xD1B54A32D192ED03ULL);
    memset(run, 0, sizeof *run);
    run->scenario = scenario;
    run->rng = seed;
    run->reward_base = -50 + 40 * next_uniform(&run->rng);
    run->reward_gain = 150 + 100 * next_uniform(&run->rng);
    run->started_mono_us = mono_us();
}

static enum sim_status send_started(struct sim *s, struct sim_run *run)
{
    struct te_event ev = {.type = TE_TRAINING_STARTED};
    struct te_started *d = &ev.data.started;
    snprintf(d->scenario_name, sizeof d->scenario_name, "%s", run->scenario);
    d->num_episodes = s->cfg->episodes;
    format_utc_now(d->start_time);
    enum sim_status st = publish(s, &ev, run->scenario);
    run->is_started = st == SIM_OK;
    return st;
}

static enum sim_status send_progress(struct sim *s, struct sim_run *run)
{
    simulate_episode(run, run->episodes_done + 1, s->cfg->episodes);
    struct te_event ev = {.type = TE_TRAINING_PROGRESS};
    ev.data.progress = run->last;
    enum sim_status st = publish(s, &ev, run->scenario);
    if (st == SIM_OK)
        run->episodes_done++;
    return st;
}

static enum sim_status send_stopped(struct sim *s, struct sim_run *run)
{
    struct te_event ev = {.type = TE_TRAINING_STOPPED};
    snprintf(ev.data.stopped.scenario_name, sizeof ev.data.stopped.scenario_name, "%s",
             run->scenario);
    ev.data.stopped.episodes_completed = run->episodes_done;
    return publish(s, &ev, run->scenario);
}

static enum sim_status send_error(struct sim *s, struct sim_run *run)
{
    struct te_event ev = {.type = TE_TRAINING_ERROR};
    struct te_training_error *d = &ev.data.error;
    snprintf(d->message, sizeof d->message, "simulated failure at episode %" PRId64,
             run->episodes_done);
    snprintf(d->details, sizeof d->details,
             "trainsim --fail-at %" PRId64 ": scenario %s failed after %" PRId64 " of %" PRId64
             " episodes",
             s->cfg->fail_at, run->scenario, run->episodes_done, s->cfg->episodes);
    return publish(s, &ev, run->scenario);
}

static enum sim_status send_completed(struct sim *s, struct sim_run *run)
{
    struct te_event ev = {.type = TE_TRAINING_COMPLETED};
    struct te_completed *d = &ev.data.completed;
    snprintf(d->scenario_name, sizeof d->scenario_name, "%s", run->scenario);
    d->episodes_completed = run->episodes_done;
    d->final_metrics.avg_reward = run->last.avg_reward;
    d->final_metrics.avg_duration = run->last.avg_duration;
    d->final_metrics.stability = run->last.stability;
    return publish(s, &ev, run->scenario);
}

/* Number of progress events a run sends before its terminal event. */
static int64_t episodes_to_send(const struct sim_config *cfg)
{
    if (cfg->stop_at >= 0)
        return cfg->stop_at;
    return cfg->fail_at >= 0 ? cfg->fail_at : cfg->episodes;
}

/* Sends the terminal event of a run once its episodes are done. */
static enum sim_status finish_if_done(struct sim *s, struct sim_run *run)
{
    if (run->is_finished || run->episodes_done < episodes_to_send(s->cfg))
        return SIM_OK;
    run->is_finished = true;
    if (s->cfg->stop_at >= 0)
        return send_stopped(s, run);
    if (s->cfg->fail_at >= 0)
        return send_error(s, run);
    return send_completed(s, run);
}

/* Interrupted: every run that started and did not finish says so. */
static void stop_unfinished_runs(struct sim *s)
{
    for (size_t i = 0; i < s->cfg->n_scenarios; i++) {
        struct sim_run *run = &s->runs[i];
        if (run->is_started && !run->is_finished) {
            run->is_finished = true;
            if (send_stopped(s, run) == SIM_FAILED)
                return;
        }
    }
}

static int64_t mono_ns(void)
{
    return mono_us() * 1000;
}

/* Sleeps until CLOCK_MONOTONIC reaches deadline_ns or a stop is requested,
 * a slice at a time: a signal that lands just before clock_nanosleep must
 * not be slept through. */
static void sleep_until(int64_t deadline_ns)
{
    while (!stop_signal_requested()) {
        int64_t now_ns = mono_ns();
        if (now_ns >= deadline_ns)
            return;
        int64_t until_ns =
            deadline_ns - now_ns > SLEEP_SLICE_NS ? now_ns + SLEEP_SLICE_NS : deadline_ns;
        struct timespec ts = {.tv_sec = until_ns / NS_PER_S, .tv_nsec = until_ns % NS_PER_S};
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
    }
}

/* One round: the next episode of every unfinished run, then any terminal. */
static enum sim_status run_round(struct sim *s)
{
    for (size_t i = 0; i < s->cfg->n_scenarios; i++) {
        struct sim_run *run = &s->runs[i];
        enum sim_status st = SIM_OK;
        if (!run->is_finished && run->episodes_done < episodes_to_send(s->cfg))
            st = send_progress(s, run);
        if (st == SIM_OK)
            st = finish_if_done(s, run);
        if (st != SIM_OK)
            return st;
    }
    return SIM_OK;
}

/* One run per scenario, interleaved, paced at --rate rounds per second. */
static enum sim_status run_all(struct sim *s)
{
    const struct sim_config *cfg = s->cfg;
    enum sim_status st = SIM_OK;
    for (size_t i = 0; i < cfg->n_scenarios && st == SIM_OK; i++) {
        begin_run(s, &s->runs[i], cfg->scenarios[i]);
        st = send_started(s, &s->runs[i]);
    }
    for (size_t i = 0; i < cfg->n_scenarios && st == SIM_OK; i++)
        st = finish_if_done(s, &s->runs[i]); /* --stop-at 0 / --fail-at 0 */
    int64_t t0_ns = mono_ns();
    int64_t n_rounds = episodes_to_send(cfg);
    for (int64_t r = 1; r <= n_rounds && st == SIM_OK && !stop_signal_requested(); r++) {
        if (cfg->rate_hz > 0)
            sleep_until(t0_ns + (int64_t)((double)r * (double)NS_PER_S / cfg->rate_hz));
        if (!stop_signal_requested())
            st = run_round(s);
    }
    if (stop_signal_requested() && st != SIM_FAILED) {
        stop_unfinished_runs(s);
        return SIM_STOPPED;
    }
    return st;
}

static enum sim_status simulate(struct sim *s)
{
    for (;;) {
        enum sim_status st = run_all(s);
        if (st != SIM_OK || !s->cfg->is_loop)
            return st;
        sleep_until(mono_ns() + s->cfg->pause_ms * 1000000);
        if (stop_signal_requested())
            return SIM_STOPPED;
    }
}

/* ------------------------------------------------------------------- main */

/* The publisher, or NULL with the reason printed and *status set: 2 for an
 * endpoint that cannot be attached (a bad --endpoint), 1 otherwise. */
static struct te_publisher *open_publisher(const struct sim_config *cfg, int *status)
{
    static const char *default_endpoint = "tcp://127.0.0.1:5556";
    struct te_publisher_opts opts = {
        .endpoints = cfg->n_endpoints ? cfg->endpoints : &default_endpoint,
        .n_endpoints = cfg->n_endpoints ? cfg->n_endpoints : 1,
        .trainer = cfg->trainer,
        .ready_timeout_ms = (int)cfg->ready_timeout_ms,
        .heartbeat_interval_ms = cfg->heartbeat_interval_ms ? (int)cfg->heartbeat_interval_ms : -1,
        .curve_server_key = cfg->server_key,
        .curve_client_cert = cfg->client_cert,
    };
    struct te_error err = {0};
    struct te_publisher *pub = te_publisher_new(&opts, &err);
    if (pub)
        return pub;
    bool is_usage = err.code == TE_E_MALFORMED && strcmp(err.field, "endpoints") == 0;
    size_t skip = strncmp(err.msg, "endpoints: ", 11) == 0 ? 11 : 0;
    fprintf(stderr, "trainsim: %s%s\n", is_usage ? "--endpoint: " : "", err.msg + skip);
    *status = is_usage ? EXIT_USAGE : EXIT_FAILURE;
    return NULL;
}

int main(int argc, char **argv)
{
    struct sim_config cfg;
    int status = sim_config_load(&cfg, argc, argv);
    if (status >= 0) {
        sim_config_fini(&cfg);
        return status;
    }
    stop_signal_install(false);
    struct sim s = {.cfg = &cfg};
    s.pub = open_publisher(&cfg, &status);
    if (s.pub)
        status = simulate(&s) == SIM_FAILED ? EXIT_FAILURE : EXIT_SUCCESS;
    te_publisher_destroy(&s.pub);
    sim_config_fini(&cfg);
    return status;
}
