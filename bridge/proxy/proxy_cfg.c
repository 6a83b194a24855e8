#include "proxy_cfg.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

#define ENV_PREFIX "TRAINBRIDGE_PROXY_"
#define NAME_CAP 64
#define HELP_INDENT 6

enum opt_kind { OPT_ENDPOINTS, OPT_HOSTPORT, OPT_INT, OPT_LOG_LEVEL, OPT_HELP, OPT_VERSION };

/* One flag: its name, how its value is parsed, its default and its help. */
struct opt {
    const char *flag;    /* without the leading "--" */
    const char *alias;   /* e.g. "-h", or NULL */
    const char *metavar; /* NULL for switches */
    enum opt_kind kind;
    const char *default_text;
    long long min, max; /* OPT_INT bounds */
    const char *help;   /* lines separated by '\n' */
};

enum opt_index { O_FRONTEND, O_BACKEND, O_HEALTH, O_HWM, O_LOG_LEVEL, O_HELP, O_VERSION };

static const struct opt options[] = {
    [O_FRONTEND] = {"frontend", NULL, "ENDPOINT", OPT_ENDPOINTS, "tcp://*:5555", 0, 0,
                    "XSUB side: trainers connect their PUB sockets here. Repeatable.\n"
                    "Binds; a leading '>' connects instead (to an upstream proxy's\n"
                    "backend, to build a tree of proxies)."},
    [O_BACKEND] = {"backend", NULL, "ENDPOINT", OPT_ENDPOINTS, "tcp://*:5557", 0, 0,
                   "XPUB side: bridges connect their SUB sockets here\n"
                   "(trainbridge --zmq-connect). Repeatable. Binds; '>' connects."},
    [O_HEALTH] = {"health", NULL, "HOST:PORT", OPT_HOSTPORT, "0.0.0.0:5558", 0, 65535,
                  "HTTP address of GET /healthz and GET /metrics. IPv6 as [::1]:5558;\n"
                  "port 0 picks a free port."},
    [O_HWM] = {"hwm", NULL, "MESSAGES", OPT_INT, "10000", 1, 10000000,
               "ZeroMQ high-water mark of both sides: messages queued per peer\n"
               "before ZeroMQ drops (towards a slow bridge) or stops reading."},
    [O_LOG_LEVEL] = {"log-level", NULL, "LEVEL", OPT_LOG_LEVEL, "info", 0, 0,
                     "One of error, warn, info, debug."},
    [O_HELP] = {"help", "-h", NULL, OPT_HELP, NULL, 0, 0, "Print this help and exit."},
    [O_VERSION] = {"version", NULL, NULL, OPT_VERSION, NULL, 0, 0, "Print the version and exit."},
};

#define N_OPTIONS (sizeof options / sizeof options[0])

static const char *const endpoint_schemes[] = {"tcp://",  "ipc://",  "inproc://", "pgm://",
                                               "epgm://", "tipc://", "vmci://"};

/* The parse in progress: the config and the caller's error buffer. */
struct parse_ctx {
    struct proxy_cfg *cfg;
    char *err;
    size_t err_len;
};

__attribute__((format(printf, 2, 3))) static int fail(struct parse_ctx *ctx, const char *fmt, ...)
{
    if (ctx->err && ctx->err_len > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(ctx->err, ctx->err_len, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

static void env_name(const struct opt *o, char *buf, size_t cap)
{
    size_t n = (size_t)snprintf(buf, cap, "%s", ENV_PREFIX);
    for (const char *p = o->flag; *p && n + 1 < cap; p++)
        buf[n++] = (char)(*p == '-' ? '_' : toupper((unsigned char)*p));
    buf[n < cap ? n : cap - 1] = '\0';
}

static const struct opt *find_option(const char *name, size_t len)
{
    for (size_t i = 0; i < N_OPTIONS; i++) {
        if (strlen(options[i].flag) == len && strncmp(options[i].flag, name, len) == 0)
            return &options[i];
    }
    return NULL;
}

/* ---- values */

/* An endpoint with an optional '@' (bind) or '>' (connect) prefix, a known
 * transport, no blanks or commas (zsock_attach splits lists on commas). */
static bool endpoint_valid(const char *s)
{
    size_t len = strlen(s);
    if (len > PROXY_CFG_ENDPOINT_MAX_LEN)
        return false;
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f || s[i] == ',')
            return false;
    }
    if (s[0] == '@' || s[0] == '>')
        s++, len--;
    for (size_t i = 0; i < sizeof endpoint_schemes / sizeof endpoint_schemes[0]; i++) {
        size_t n = strlen(endpoint_schemes[i]);
        if (len > n && strncmp(s, endpoint_schemes[i], n) == 0)
            return true;
    }
    return false;
}

static char **list_items(struct proxy_cfg *cfg, const struct opt *o, size_t **n_out)
{
    bool is_frontend = o == &options[O_FRONTEND];
    *n_out = is_frontend ? &cfg->n_frontend : &cfg->n_backend;
    return is_frontend ? cfg->frontend : cfg->backend;
}

static void clear_list(struct proxy_cfg *cfg, const struct opt *o)
{
    size_t *n;
    char **items = list_items(cfg, o, &n);
    for (size_t i = 0; i < *n; i++) {
        free(items[i]);
        items[i] = NULL;
    }
    *n = 0;
}

static int add_endpoint(struct parse_ctx *ctx, const struct opt *o, const char *text, size_t len,
                        const char *where)
{
    size_t *n;
    char **items = list_items(ctx->cfg, o, &n);
    char *ep = xstrndup(text, len);
    if (!endpoint_valid(ep)) {
        fail(ctx, "%s: expected a ZeroMQ endpoint such as tcp://*:5555, got '%s'", where, ep);
        free(ep);
        return -EINVAL;
    }
    if (*n >= PROXY_CFG_MAX_ENDPOINTS) {
        free(ep);
        return fail(ctx, "%s: at most %d endpoints", where, PROXY_CFG_MAX_ENDPOINTS);
    }
    items[(*n)++] = ep;
    return 0;
}

/* Replaces the list with text's comma-separated endpoints (env, default),
 * or appends one endpoint (a repeated flag: replace_first says whether this
 * is the first occurrence on the command line). */
static int set_endpoints(struct parse_ctx *ctx, const struct opt *o, const char *text,
                         const char *where, bool is_list, bool replace_first)
{
    if (replace_first)
        clear_list(ctx->cfg, o);
    if (!is_list)
        return add_endpoint(ctx, o, text, strlen(text), where);
    while (*text) {
        size_t len = strcspn(text, ",");
        if (len > 0 && add_endpoint(ctx, o, text, len, where) < 0)
            return -EINVAL;
        text += len + (text[len] == ',');
    }
    return 0;
}

static int set_hostport(struct parse_ctx *ctx, const char *text, const char *where)
{
    const char *host = text, *port;
    size_t host_len;
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (!close || close[1] != ':')
            return fail(ctx, "%s: expected HOST:PORT or [V6]:PORT, got '%s'", where, text);
        host = text + 1;
        host_len = (size_t)(close - host);
        port = close + 2;
    } else {
        const char *colon = strrchr(text, ':');
        if (!colon || memchr(text, ':', (size_t)(colon - text)))
            return fail(ctx, "%s: expected HOST:PORT such as 0.0.0.0:5558, got '%s'", where, text);
        host_len = (size_t)(colon - text);
        port = colon + 1;
    }
    size_t n_digits = strspn(port, "0123456789");
    long v = n_digits > 0 && n_digits <= 5 && port[n_digits] == '\0' ? strtol(port, NULL, 10) : -1;
    if (host_len == 0 || host_len >= sizeof ctx->cfg->health_host || v < 0 || v > 65535)
        return fail(ctx, "%s: expected HOST:PORT with a port from 0 to 65535, got '%s'", where,
                    text);
    memcpy(ctx->cfg->health_host, host, host_len);
    ctx->cfg->health_host[host_len] = '\0';
    ctx->cfg->health_port = (int)v;
    return 0;
}

static int set_int(struct parse_ctx *ctx, const struct opt *o, const char *text, const char *where)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno || end == text || *end != '\0' || v < o->min || v > o->max)
        return fail(ctx, "%s: expected an integer from %lld to %lld, got '%s'", where, o->min,
                    o->max, text);
    ctx->cfg->hwm = (int)v;
    return 0;
}

static int apply(struct parse_ctx *ctx, const struct opt *o, const char *text, const char *where,
                 bool is_list, bool replace_first)
{
    switch (o->kind) {
    case OPT_ENDPOINTS:
        return set_endpoints(ctx, o, text, where, is_list, replace_first);
    case OPT_HOSTPORT:
        return set_hostport(ctx, text, where);
    case OPT_INT:
        return set_int(ctx, o, text, where);
    case OPT_LOG_LEVEL:
        if (log_level_parse(text, &ctx->cfg->log_level) < 0)
            return fail(ctx, "%s: expected error, warn, info or debug, got '%s'", where, text);
        return 0;
    default:
        return 0;
    }
}

/* ---- sources */

static int apply_defaults(struct parse_ctx *ctx)
{
    for (size_t i = 0; i < N_OPTIONS; i++) {
        const struct opt *o = &options[i];
        if (o->default_text && apply(ctx, o, o->default_text, o->flag, true, true) < 0)
            return -EINVAL;
    }
    return 0;
}

static const char *find_env(char *const envp[], const char *name)
{
    size_t len = strlen(name);
    for (size_t i = 0; envp && envp[i]; i++) {
        if (strncmp(envp[i], name, len) == 0 && envp[i][len] == '=')
            return envp[i] + len + 1;
    }
    return NULL;
}

static int apply_env(struct parse_ctx *ctx, char *const envp[])
{
    for (size_t i = 0; i < N_OPTIONS; i++) {
        const struct opt *o = &options[i];
        char name[NAME_CAP];
        if (!o->metavar)
            continue;
        env_name(o, name, sizeof name);
        const char *value = find_env(envp, name);
        if (value && *value && apply(ctx, o, value, name, true, true) < 0)
            return -EINVAL;
    }
    return 0;
}

static int apply_argv(struct parse_ctx *ctx, int argc, char *const argv[])
{
    bool seen[N_OPTIONS] = {false};
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strncmp(arg, "--", 2) != 0)
            return fail(ctx, "unexpected argument '%s' (see --help)", arg);
        const char *eq = strchr(arg + 2, '=');
        size_t name_len = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
        const struct opt *o = find_option(arg + 2, name_len);
        if (!o)
            return fail(ctx, "unknown option '%.*s' (see --help)", (int)(name_len + 2), arg);
        if (!o->metavar)
            continue;
        const char *value = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (!value)
            return fail(ctx, "--%s: missing value (%s)", o->flag, o->metavar);
        char where[NAME_CAP];
        snprintf(where, sizeof where, "--%s", o->flag);
        size_t idx = (size_t)(o - options);
        if (apply(ctx, o, value, where, false, !seen[idx]) < 0)
            return -EINVAL;
        seen[idx] = true;
    }
    return 0;
}

/* --help / -h / --version anywhere win over everything else. */
static const struct opt *find_switch(int argc, char *const argv[])
{
    for (int i = 1; i < argc; i++) {
        for (size_t k = 0; k < N_OPTIONS; k++) {
            const struct opt *o = &options[k];
            if (o->metavar)
                continue;
            if ((strncmp(argv[i], "--", 2) == 0 && strcmp(argv[i] + 2, o->flag) == 0) ||
                (o->alias && strcmp(argv[i], o->alias) == 0))
                return o;
        }
    }
    return NULL;
}

static int check_combination(struct parse_ctx *ctx)
{
    if (ctx->cfg->n_frontend == 0)
        return fail(ctx, "--frontend: at least one endpoint is needed");
    if (ctx->cfg->n_backend == 0)
        return fail(ctx, "--backend: at least one endpoint is needed");
    return 0;
}

enum proxy_cfg_result proxy_cfg_parse(struct proxy_cfg *cfg, int argc, char *const argv[],
                                      char *const envp[], FILE *out, char *err, size_t err_len)
{
    struct parse_ctx ctx = {.cfg = cfg, .err = err, .err_len = err_len};
    memset(cfg, 0, sizeof *cfg);
    if (err && err_len)
        err[0] = '\0';
    const struct opt *sw = find_switch(argc, argv);
    if (sw && sw->kind == OPT_HELP) {
        proxy_cfg_print_help(out);
        return PROXY_CFG_EXIT_OK;
    }
    if (sw && sw->kind == OPT_VERSION) {
        fprintf(out, "trainbridge-proxy %s\n", TB_VERSION);
        return PROXY_CFG_EXIT_OK;
    }
    if (apply_defaults(&ctx) < 0 || apply_env(&ctx, envp) < 0 || apply_argv(&ctx, argc, argv) < 0 ||
        check_combination(&ctx) < 0)
        return PROXY_CFG_EXIT_USAGE;
    return PROXY_CFG_OK;
}

void proxy_cfg_fini(struct proxy_cfg *cfg)
{
    clear_list(cfg, &options[O_FRONTEND]);
    clear_list(cfg, &options[O_BACKEND]);
}

/* ---- help */

static void print_lines(FILE *out, const char *text, int indent)
{
    while (*text) {
        size_t n = strcspn(text, "\n");
        fprintf(out, "%*s%.*s\n", indent, "", (int)n, text);
        text += n + (text[n] == '\n');
    }
}

static void print_option(FILE *out, const struct opt *o)
{
    char env[NAME_CAP];
    fprintf(out, "  %s%s--%s%s%s\n", o->alias ? o->alias : "", o->alias ? ", " : "", o->flag,
            o->metavar ? " " : "", o->metavar ? o->metavar : "");
    print_lines(out, o->help, HELP_INDENT);
    if (!o->metavar)
        return;
    env_name(o, env, sizeof env);
    fprintf(out, "%*senv %s, default %s", HELP_INDENT, "", env, o->default_text);
    if (o->kind == OPT_INT)
        fprintf(out, " (%lld..%lld)", o->min, o->max);
    fputc('\n', out);
}

void proxy_cfg_print_help(FILE *out)
{
    fputs("Usage: trainbridge-proxy [OPTION]...\n"
          "Forwards trainers' ZeroMQ events to every bridge: trainers connect their\n"
          "PUB sockets to the frontend (XSUB), bridges their SUB sockets to the\n"
          "backend (XPUB); subscriptions flow back the other way.\n"
          "\n"
          "Each option can also be set by the environment variable shown (lists\n"
          "comma-separated there). A flag wins over the environment, the environment\n"
          "over the default. Values go as --flag VALUE or --flag=VALUE.\n"
          "\n"
          "Options:\n",
          out);
    for (size_t i = 0; i < N_OPTIONS; i++)
        print_option(out, &options[i]);
    fputs("\nZeroMQ endpoints start with tcp://, ipc://, inproc://, pgm://, epgm://,\n"
          "tipc:// or vmci://. A tcp port of * or 0 picks a free port; the ready line\n"
          "shows the real one.\n",
          out);
}
