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

#define MAX_SCENARIOS 64
#define MAX_ENDPOINTS 16
#define MAX_OWNED 32
#define ENV_PREFIX "TRAINSIM_"
#define EXIT_USAGE 2
#define NS_PER_S 1000000000LL
#define SLEEP_SLICE_NS (100 * 1000000LL) /* longest time a signal may go unnoticed */

static volatile sig_atomic_t stop_requested;

struct sim_config {
    const char *endpoints[MAX_ENDPOINTS];
    size_t n_endpoints;
    const char *scenarios[MAX_SCENARIOS];
    size_t n_scenarios;
    const char *trainer;
    int64_t episodes;
    double rate_hz;
    int64_t stop_at; /* -1: not set */
    int64_t fail_at; /* -1: not set */
    bool is_loop;
    int64_t pause_ms;
    int64_t ready_timeout_ms;
    int64_t seed;
    bool has_seed;
    bool is_quiet;
    char *owned[MAX_OWNED]; /* copies of comma-separated values, freed at exit */
    size_t n_owned;
};

enum opt_id {
    OPT_ENDPOINT,
    OPT_SCENARIO,
    OPT_TRAINER,
    OPT_EPISODES,
    OPT_RATE,
    OPT_STOP_AT,
    OPT_FAIL_AT,
    OPT_LOOP,
    OPT_PAUSE_MS,
    OPT_READY_TIMEOUT_MS,
    OPT_SEED,
    OPT_QUIET,
    OPT_COUNT
};

struct opt_spec {
    const char *flag;    /* without "--"; the variable is TRAINSIM_<FLAG> */
    const char *metavar; /* NULL: a switch without a value */
    const char *help;
};

static const struct opt_spec opt_specs[OPT_COUNT] = {
    [OPT_ENDPOINT] = {"endpoint", "EP",
                      "where to publish, repeatable (default tcp://127.0.0.1:5556);\n"
                      "connects, '@EP' binds; the variable takes a comma list"},
    [OPT_SCENARIO] = {"scenario", "NAME",
                      "scenario to simulate, repeatable, required; the variable\n"
                      "takes a comma list"},
    [OPT_TRAINER] = {"trainer", "ID", "trainer id (default <hostname>-<pid>)"},
    [OPT_EPISODES] = {"episodes", "N", "episodes per run (default 10)"},
    [OPT_RATE] = {"rate", "HZ", "episodes per second per scenario (default 10; 0 = no pause)"},
    [OPT_STOP_AT] = {"stop-at", "K", "end each run with training_stopped after K episodes"},
    [OPT_FAIL_AT] = {"fail-at", "K", "end each run with training_error after K episodes"},
    [OPT_LOOP] = {"loop", NULL, "start new runs after each one until SIGINT/SIGTERM"},
    [OPT_PAUSE_MS] = {"pause-ms", "MS", "pause between runs with --loop (default 2000)"},
    [OPT_READY_TIMEOUT_MS] = {"ready-timeout-ms", "MS",
                              "wait this long for a subscriber before the first event\n"
                              "(default 5000; negative: do not wait)"},
    [OPT_SEED] = {"seed", "S", "random seed for the simulated metrics (default: clock)"},
    [OPT_QUIET] = {"quiet", NULL, "do not print one line per event on stderr"},
};

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

static void print_usage(FILE *out)
{
    fprintf(out, "usage: trainsim --scenario NAME [options]\n\n"
                 "Publishes simulated training runs (trainbridge events) over ZeroMQ.\n\n");
    for (int i = 0; i < OPT_COUNT; i++) {
        const struct opt_spec *s = &opt_specs[i];
        char left[48];
        snprintf(left, sizeof left, "--%s%s%s", s->flag, s->metavar ? " " : "",
                 s->metavar ? s->metavar : "");
        fprintf(out, "  %-24s ", left);
        for (const char *c = s->help; *c; c++) {
            fputc(*c, out);
            if (*c == '\n')
                fprintf(out, "%27s", "");
        }
        fputc('\n', out);
    }
    fprintf(out, "  %-24s %s\n\n", "--help", "print this help and exit");
    fprintf(out, "Every flag can also be set as TRAINSIM_<FLAG> (TRAINSIM_EPISODES=20,\n"
                 "TRAINSIM_SCENARIO=alpha,beta, TRAINSIM_LOOP=1); flags win.\n"
                 "Exit status: 0 done or interrupted, 1 runtime failure (e.g. no subscriber\n"
                 "within the ready timeout), 2 bad usage.\n");
}

static void env_name(const struct opt_spec *s, char *out, size_t cap)
{
    size_t n = (size_t)snprintf(out, cap, ENV_PREFIX "%s", s->flag);
    for (size_t i = 0; i < n && i < cap; i++)
        out[i] = (char)(out[i] == '-' ? '_' : toupper((unsigned char)out[i]));
}

static int parse_int(const char *src, const char *text, int64_t min, int64_t max, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno || end == text || *end || v < min || v > max) {
        fprintf(stderr, "trainsim: %s: expected an integer in %" PRId64 "..%" PRId64 ", got '%s'\n",
                src, min, max, text);
        return -EINVAL;
    }
    *out = v;
    return 0;
}

static int parse_rate(const char *src, const char *text, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (errno || end == text || *end || !isfinite(v) || v < 0 || v > 1e6) {
        fprintf(stderr, "trainsim: %s: expected a number of Hz in 0..1000000, got '%s'\n", src,
                text);
        return -EINVAL;
    }
    *out = v;
    return 0;
}

static int parse_switch(const char *src, const char *text, bool *out)
{
    const char *yes[] = {"1", "true", "yes", "on"}, *no[] = {"0", "false", "no", "off", ""};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
        if (strcasecmp(text, yes[i]) == 0)
            return *out = true, 0;
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        if (strcasecmp(text, no[i]) == 0)
            return *out = false, 0;
    fprintf(stderr, "trainsim: %s: expected 1/0, true/false, yes/no or on/off, got '%s'\n", src,
            text);
    return -EINVAL;
}

/* Appends every comma-separated item of text to list (kept in cfg->owned). */
static int append_items(struct sim_config *cfg, const char *src, const char *text,
                        const char **list, size_t *n, size_t max)
{
    if (cfg->n_owned == MAX_OWNED) {
        fprintf(stderr, "trainsim: %s: too many values\n", src);
        return -EINVAL;
    }
    char *copy = strdup(text);
    if (!copy) {
        fprintf(stderr, "trainsim: out of memory\n");
        return -ENOMEM;
    }
    cfg->owned[cfg->n_owned++] = copy;
    char *save = NULL;
    for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        if (*n == max) {
            fprintf(stderr, "trainsim: %s: at most %zu values\n", src, max);
            return -EINVAL;
        }
        list[(*n)++] = item;
    }
    return 0;
}

/* Sets one option from its text; src names the flag or variable in errors. */
static int apply_option(struct sim_config *cfg, enum opt_id id, const char *src, const char *text)
{
    switch (id) {
    case OPT_ENDPOINT:
        return append_items(cfg, src, text, cfg->endpoints, &cfg->n_endpoints, MAX_ENDPOINTS);
    case OPT_SCENARIO:
        return append_items(cfg, src, text, cfg->scenarios, &cfg->n_scenarios, MAX_SCENARIOS);
    case OPT_TRAINER:
        cfg->trainer = text;
        return 0;
    case OPT_EPISODES:
        return parse_int(src, text, 1, 1000000000, &cfg->episodes);
    case OPT_RATE:
        return parse_rate(src, text, &cfg->rate_hz);
    case OPT_STOP_AT:
        return parse_int(src, text, 0, 1000000000, &cfg->stop_at);
    case OPT_FAIL_AT:
        return parse_int(src, text, 0, 1000000000, &cfg->fail_at);
    case OPT_LOOP:
        return parse_switch(src, text, &cfg->is_loop);
    case OPT_PAUSE_MS:
        return parse_int(src, text, 0, 86400000, &cfg->pause_ms);
    case OPT_READY_TIMEOUT_MS:
        return parse_int(src, text, -1, 3600000, &cfg->ready_timeout_ms);
    case OPT_SEED:
        cfg->has_seed = true;
        return parse_int(src, text, 0, INT64_MAX, &cfg->seed);
    case OPT_QUIET:
        return parse_switch(src, text, &cfg->is_quiet);
    case OPT_COUNT:
        break;
    }
    return -EINVAL;
}

/* Applies every TRAINSIM_<FLAG> that is set and not empty. */
static int apply_environment(struct sim_config *cfg)
{
    for (int i = 0; i < OPT_COUNT; i++) {
        char name[64];
        env_name(&opt_specs[i], name, sizeof name);
        const char *value = getenv(name);
        if (value && *value && apply_option(cfg, (enum opt_id)i, name, value) < 0)
            return -EINVAL;
    }
    return 0;
}

static int find_flag(const char *arg, size_t len)
{
    for (int i = 0; i < OPT_COUNT; i++)
        if (strlen(opt_specs[i].flag) == len && strncmp(opt_specs[i].flag, arg, len) == 0)
            return i;
    return -1;
}

/* The first --endpoint or --scenario flag replaces what the variable said. */
static void forget_env_list(struct sim_config *cfg, enum opt_id id, bool seen[OPT_COUNT])
{
    if (seen[id])
        return;
    seen[id] = true;
    if (id == OPT_ENDPOINT)
        cfg->n_endpoints = 0;
    if (id == OPT_SCENARIO)
        cfg->n_scenarios = 0;
}

/* Parses argv after the environment. 0, 1 (--help printed) or -EINVAL. */
static int apply_arguments(struct sim_config *cfg, int argc, char **argv)
{
    bool seen[OPT_COUNT] = {false};
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)
            return print_usage(stdout), 1;
        const char *name = strncmp(arg, "--", 2) == 0 ? arg + 2 : "";
        const char *eq = strchr(name, '=');
        int id = find_flag(name, eq ? (size_t)(eq - name) : strlen(name));
        if (id < 0) {
            fprintf(stderr, "trainsim: unknown argument '%s' (see --help)\n", arg);
            return -EINVAL;
        }
        const struct opt_spec *s = &opt_specs[id];
        char src[40];
        snprintf(src, sizeof src, "--%s", s->flag);
        const char *value = eq ? eq + 1 : NULL;
        if (!s->metavar && value) {
            fprintf(stderr, "trainsim: %s takes no value\n", src);
            return -EINVAL;
        }
        if (s->metavar && !value && (value = i + 1 < argc ? argv[++i] : NULL) == NULL) {
            fprintf(stderr, "trainsim: %s needs a value (%s)\n", src, s->metavar);
            return -EINVAL;
        }
        forget_env_list(cfg, (enum opt_id)id, seen);
        if (apply_option(cfg, (enum opt_id)id, src, value ? value : "1") < 0)
            return -EINVAL;
    }
    return 0;
}

static int check_name(const char *flag, const char *name)
{
    if (te_name_valid(name, strlen(name)))
        return 0;
    fprintf(stderr,
            "trainsim: %s: '%s' is not a valid name (1..%d bytes of [A-Za-z0-9._:-], "
            "not starting with '.')\n",
            flag, name, TE_MAX_NAME_LEN);
    return -EINVAL;
}

static int check_scenarios(const struct sim_config *cfg)
{
    if (cfg->n_scenarios == 0) {
        fprintf(stderr, "trainsim: --scenario: at least one is required (or TRAINSIM_SCENARIO)\n");
        return -EINVAL;
    }
    for (size_t i = 0; i < cfg->n_scenarios; i++) {
        if (check_name("--scenario", cfg->scenarios[i]) < 0)
            return -EINVAL;
        for (size_t j = 0; j < i; j++) {
            if (strcmp(cfg->scenarios[i], cfg->scenarios[j]) == 0) {
                fprintf(stderr, "trainsim: --scenario: '%s' given twice\n", cfg->scenarios[i]);
                return -EINVAL;
            }
        }
    }
    return 0;
}

/* Checks what single values cannot: names, required and exclusive flags. */
static int check_config(const struct sim_config *cfg)
{
    if (check_scenarios(cfg) < 0)
        return -EINVAL;
    if (cfg->trainer && check_name("--trainer", cfg->trainer) < 0)
        return -EINVAL;
    if (cfg->stop_at >= 0 && cfg->fail_at >= 0) {
        fprintf(stderr, "trainsim: --stop-at and --fail-at exclude each other\n");
        return -EINVAL;
    }
    int64_t k = cfg->stop_at >= 0 ? cfg->stop_at : cfg->fail_at;
    if (k > cfg->episodes) {
        fprintf(stderr, "trainsim: %s: %" PRId64 " is more than --episodes (%" PRId64 ")\n",
                cfg->stop_at >= 0 ? "--stop-at" : "--fail-at", k, cfg->episodes);
        return -EINVAL;
    }
    return 0;
}

static void config_defaults(struct sim_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->episodes = 10;
    cfg->rate_hz = 10;
    cfg->stop_at = -1;
    cfg->fail_at = -1;
    cfg->pause_ms = 2000;
}

static void config_fini(struct sim_config *cfg)
{
    for (size_t i = 0; i < cfg->n_owned; i++)
        free(cfg->owned[i]);
    cfg->n_owned = 0;
}

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
    if (rc == -EINTR && stop_requested)
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
    while (!stop_requested) {
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
    for (int64_t r = 1; r <= n_rounds && st == SIM_OK && !stop_requested; r++) {
        if (cfg->rate_hz > 0)
            sleep_until(t0_ns + (int64_t)((double)r * (double)NS_PER_S / cfg->rate_hz));
        if (!stop_requested)
            st = run_round(s);
    }
    if (stop_requested && st != SIM_FAILED) {
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
        if (stop_requested)
            return SIM_STOPPED;
    }
}

/* ------------------------------------------------------------------- main */

static void on_stop_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void install_signal_handlers(void)
{
    zsys_init();            /* czmq installs its own handlers here ... */
    zsys_handler_set(NULL); /* ... and gives the old ones back here */
    struct sigaction sa = {.sa_handler = on_stop_signal}; /* no SA_RESTART: waits end */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

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

/* Fills cfg from the environment, then argv. Returns -1 to go on, or the
 * exit status (0 after --help, 2 on bad usage). */
static int load_config(struct sim_config *cfg, int argc, char **argv)
{
    config_defaults(cfg);
    if (apply_environment(cfg) < 0)
        return EXIT_USAGE;
    int rc = apply_arguments(cfg, argc, argv);
    if (rc == 1)
        return 0;
    if (rc < 0 || check_config(cfg) < 0)
        return EXIT_USAGE;
    if (!cfg->has_seed)
        cfg->seed = (te_now_us() ^ ((int64_t)getpid() << 32)) & INT64_MAX;
    return -1;
}

int main(int argc, char **argv)
{
    struct sim_config cfg;
    int status = load_config(&cfg, argc, argv);
    if (status >= 0) {
        config_fini(&cfg);
        return status;
    }
    install_signal_handlers();
    struct sim s = {.cfg = &cfg};
    s.pub = open_publisher(&cfg, &status);
    if (s.pub)
        status = simulate(&s) == SIM_FAILED ? EXIT_FAILURE : EXIT_SUCCESS;
    te_publisher_destroy(&s.pub);
    config_fini(&cfg);
    return status;
}
