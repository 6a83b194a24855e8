/* trainsim_config: see trainsim_config.h. */
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
#include "trainevents.h"

#define ENV_PREFIX "TRAINSIM_"

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
    OPT_HEARTBEAT_INTERVAL_MS,
    OPT_SERVER_KEY,
    OPT_CLIENT_CERT,
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
    [OPT_HEARTBEAT_INTERVAL_MS] = {"heartbeat-interval-ms", "MS",
                                   "heartbeat every MS while a run is active, from a\n"
                                   "background thread (default 5000; 100..3600000;\n"
                                   "0: no heartbeats)"},
    [OPT_SERVER_KEY] = {"server-key", "KEY",
                        "CURVE: the bridge's public key (40 Z85 characters or its\n"
                        "public certificate file); needs --client-cert"},
    [OPT_CLIENT_CERT] = {"client-cert", "FILE",
                         "CURVE: this trainer's secret certificate (czmq <name>_secret)"},
};

static void print_usage(FILE *out)
{
    fprintf(out, "usage: trainsim --scenario NAME [options]\n\n"
                 "Publishes simulated training runs (trainbridge events) over ZeroMQ.\n\n");
    for (int i = 0; i < OPT_COUNT; i++) {
        const struct opt_spec *s = &opt_specs[i];
        char left[48];
        snprintf(left, sizeof left, "--%s%s%s", s->flag, s->metavar ? " " : "",
                 s->metavar ? s->metavar : "");
        fprintf(out, "  %-26s ", left);
        for (const char *c = s->help; *c; c++) {
            fputc(*c, out);
            if (*c == '\n')
                fprintf(out, "%29s", "");
        }
        fputc('\n', out);
    }
    fprintf(out, "  %-26s %s\n\n", "--help", "print this help and exit");
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
    case OPT_HEARTBEAT_INTERVAL_MS:
        if (strcmp(text, "0") == 0) {
            cfg->heartbeat_interval_ms = 0;
            return 0;
        }
        return parse_int(src, text, TE_HEARTBEAT_MIN_MS, TE_HEARTBEAT_MAX_MS,
                         &cfg->heartbeat_interval_ms);
    case OPT_SERVER_KEY:
        cfg->server_key = text;
        return 0;
    case OPT_CLIENT_CERT:
        cfg->client_cert = text;
        return 0;
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
    cfg->heartbeat_interval_ms = TE_HEARTBEAT_INTERVAL_MS;
}

void sim_config_fini(struct sim_config *cfg)
{
    for (size_t i = 0; i < cfg->n_owned; i++)
        free(cfg->owned[i]);
    cfg->n_owned = 0;
}
/* Fills cfg from the environment, then argv. Returns -1 to go on, or the
 * exit status (0 after --help, 2 on bad usage). */
int sim_config_load(struct sim_config *cfg, int argc, char **argv)
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
