#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

#ifndef TB_VERSION
#define TB_VERSION "unknown"
#endif

#define ENV_PREFIX "TRAINBRIDGE_"
#define NAME_CAP 64 /* "--flag", "TRAINBRIDGE_FLAG" */
#define ENDPOINT_MAX_LEN 255
#define HELP_INDENT 6 /* of descriptions in --help */

enum opt_kind {
    OPT_LISTEN,
    OPT_ENDPOINTS,
    OPT_ORIGINS,
    OPT_TRANSPORTS,
    OPT_INT,
    OPT_SIZE,
    OPT_LOG_LEVEL,
    OPT_HELP,
    OPT_VERSION
};

/* Where a value came from; a flag replaces the environment's list. */
enum source { SRC_DEFAULT, SRC_ENV, SRC_FLAG };

/* One option. Its environment variable is TRAINBRIDGE_ + the flag name
 * upper-cased with '-' as '_'. Defaults are text, parsed like any value. */
struct opt {
    const char *flag;    /* long name without "--" */
    const char *alias;   /* short form, or NULL */
    const char *metavar; /* NULL for switches, which take no value */
    enum opt_kind kind;
    const char *default_text; /* "" for an empty list */
    long long min, max;       /* OPT_INT / OPT_SIZE bounds */
    const char *unit;         /* OPT_INT / OPT_SIZE, in error messages */
    size_t offset;            /* the field in struct cfg */
    size_t aux_offset;        /* listen: the port; lists: the count */
    const char *help;         /* lines separated by '\n' */
};

#define FIELD(f) offsetof(struct cfg, f)

static const struct opt options[] = {
    {"listen", NULL, "HOST:PORT", OPT_LISTEN, "0.0.0.0:8080", 0, 65535, NULL, FIELD(listen_host),
     FIELD(listen_port),
     "Where dashboards connect (HTTP long-polling and WebSocket). IPv6 as\n"
     "[::1]:8080; port 0 picks a free port."},
    {"zmq-bind", NULL, "ENDPOINT", OPT_ENDPOINTS, "tcp://*:5556", 0, 0, NULL, FIELD(zmq_bind),
     FIELD(n_zmq_bind),
     "Bind the ZeroMQ SUB socket here for trainers' PUB sockets to connect\n"
     "to. Repeatable. The default applies only when no --zmq-connect is given."},
    {"zmq-connect", NULL, "ENDPOINT", OPT_ENDPOINTS, "", 0, 0, NULL, FIELD(zmq_connect),
     FIELD(n_zmq_connect),
     "Connect the ZeroMQ SUB socket to a trainer's or a proxy's PUB\n"
     "endpoint. Repeatable."},
    {"ping-interval", NULL, "MS", OPT_INT, "25000", 10, 3600000, "ms", FIELD(ping_interval_ms), 0,
     "Engine.IO heartbeat: how often each client is pinged, in milliseconds."},
    {"ping-timeout", NULL, "MS", OPT_INT, "20000", 10, 3600000, "ms", FIELD(ping_timeout_ms), 0,
     "How long a client may take to answer a ping before it is dropped."},
    {"max-payload", NULL, "BYTES", OPT_SIZE, "1000000", 1024, 64LL << 20, "bytes",
     FIELD(max_payload), 0,
     "Largest message a client may send, and largest HTTP long-polling\n"
     "request body (Engine.IO maxPayload)."},
    {"client-queue-bytes", NULL, "BYTES", OPT_SIZE, "1048576", 4096, 1LL << 30, "bytes",
     FIELD(client_queue_bytes), 0,
     "Bound on the data queued for one client. A client whose unsent data\n"
     "would exceed it is disconnected; the others are not slowed."},
    {"max-rooms-per-client", NULL, "N", OPT_SIZE, "64", 1, 4096, "rooms",
     FIELD(max_rooms_per_client), 0, "How many scenario rooms one client may be in at once."},
    {"cors-origin", NULL, "ORIGIN", OPT_ORIGINS, "", 0, 0, NULL, FIELD(cors_origins),
     FIELD(n_cors_origins),
     "Let browser pages from ORIGIN (scheme://host[:port], or * for any) use\n"
     "long-polling across origins (CORS, with credentials). Repeatable. None\n"
     "by default: same origin only."},
    {"transports", NULL, "LIST", OPT_TRANSPORTS, "polling,websocket", 0, 0, NULL,
     FIELD(allow_polling), FIELD(allow_websocket),
     "Engine.IO transports offered: polling, websocket or both, comma-separated."},
    {"connect-timeout", NULL, "MS", OPT_INT, "45000", 0, 3600000, "ms", FIELD(connect_timeout_ms),
     0, "Close a session that has not sent a Socket.IO CONNECT by then (0: never)."},
    {"log-level", NULL, "LEVEL", OPT_LOG_LEVEL, "info", 0, 0, NULL, FIELD(log_level), 0,
     "One of error, warn, info, debug."},
    {"help", "-h", NULL, OPT_HELP, NULL, 0, 0, NULL, 0, 0, "Print this help and exit."},
    {"version", NULL, NULL, OPT_VERSION, NULL, 0, 0, NULL, 0, 0, "Print the version and exit."},
};

#define N_OPTIONS (sizeof options / sizeof options[0])

static const char *const endpoint_schemes[] = {"tcp://",  "ipc://",  "inproc://", "pgm://",
                                               "epgm://", "tipc://", "vmci://"};

/* The parse in progress: the config, the caller's error buffer, and where
 * each option's current value came from. */
struct parse_ctx {
    struct cfg *cfg;
    char *err;
    size_t err_len;
    enum source source[N_OPTIONS];
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

static size_t index_of(const struct opt *o)
{
    return (size_t)(o - options);
}

static void *field(struct cfg *cfg, size_t offset)
{
    return (char *)cfg + offset;
}

static void env_name(const struct opt *o, char *buf, size_t cap)
{
    size_t n = (size_t)snprintf(buf, cap, "%s", ENV_PREFIX);
    for (const char *p = o->flag; *p && n + 1 < cap; p++)
        buf[n++] = (char)(*p == '-' ? '_' : toupper((unsigned char)*p));
    buf[n] = '\0';
}

static const struct opt *find_option(const char *name, size_t len)
{
    for (size_t i = 0; i < N_OPTIONS; i++) {
        if (strlen(options[i].flag) == len && memcmp(options[i].flag, name, len) == 0)
            return &options[i];
    }
    return NULL;
}

/* ---- values */

/* Decimal integer within the option's bounds; nothing else, no sign but '-'. */
static int set_number(struct parse_ctx *ctx, const struct opt *o, const char *text,
                      const char *where)
{
    long long v = 0;
    char *end = NULL;
    bool ok =
        isdigit((unsigned char)text[0]) || (text[0] == '-' && isdigit((unsigned char)text[1]));
    if (ok) {
        errno = 0;
        v = strtoll(text, &end, 10);
        ok = errno == 0 && *end == '\0' && v >= o->min && v <= o->max;
    }
    if (!ok)
        return fail(ctx, "%s: expected an integer from %lld to %lld (%s), got '%s'", where, o->min,
                    o->max, o->unit, text);
    if (o->kind == OPT_INT)
        *(int *)field(ctx->cfg, o->offset) = (int)v;
    else
        *(size_t *)field(ctx->cfg, o->offset) = (size_t)v;
    return 0;
}

/* Host characters: a name or IPv4 address, or inside brackets an IPv6
 * address with an optional %zone. */
static bool host_valid(const char *host, size_t len, bool is_bracketed)
{
    if (len == 0 || len >= sizeof((struct cfg *)0)->listen_host)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)host[i];
        bool ok = isalnum(c) || c == '.' || c == '-' || (!is_bracketed && c == '_') ||
                  (is_bracketed && (c == ':' || c == '%'));
        if (!ok)
            return false;
    }
    return true;
}

/* Splits "host:port" or "[v6]:port". Returns the port text, or NULL. */
static const char *split_listen(const char *text, const char **host, size_t *host_len,
                                bool *is_bracketed)
{
    const char *colon;
    *is_bracketed = text[0] == '[';
    if (*is_bracketed) {
        const char *close = strchr(text, ']');
        if (!close || close[1] != ':')
            return NULL;
        *host = text + 1;
        *host_len = (size_t)(close - text - 1);
        return close + 2;
    }
    colon = strrchr(text, ':');
    if (!colon)
        return NULL;
    *host = text;
    *host_len = (size_t)(colon - text);
    return colon + 1;
}

static int set_listen(struct parse_ctx *ctx, const struct opt *o, const char *text,
                      const char *where)
{
    const char *host = NULL, *port = NULL;
    size_t host_len = 0;
    bool is_bracketed = false;
    port = split_listen(text, &host, &host_len, &is_bracketed);
    if (!port || !host_valid(host, host_len, is_bracketed))
        return fail(ctx, "%s: expected HOST:PORT such as 0.0.0.0:8080 or [::1]:8080, got '%s'",
                    where, text);
    size_t n_digits = strspn(port, "0123456789");
    long v = n_digits > 0 && n_digits <= 5 && port[n_digits] == '\0' ? strtol(port, NULL, 10) : -1;
    if (v < o->min || v > o->max)
        return fail(ctx, "%s: port must be from 0 to 65535, got '%s'", where, port);
    char *dst = field(ctx->cfg, o->offset);
    memcpy(dst, host, host_len);
    dst[host_len] = '\0';
    *(int *)field(ctx->cfg, o->aux_offset) = (int)v;
    return 0;
}

static int set_log_level(struct parse_ctx *ctx, const struct opt *o, const char *text,
                         const char *where)
{
    if (log_level_parse(text, field(ctx->cfg, o->offset)) < 0)
        return fail(ctx, "%s: expected error, warn, info or debug, got '%s'", where, text);
    return 0;
}

/* ---- endpoint lists */

static bool endpoint_valid(const char *s)
{
    size_t len = strlen(s);
    if (len > ENDPOINT_MAX_LEN)
        return false;
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f)
            return false;
    }
    for (size_t i = 0; i < sizeof endpoint_schemes / sizeof endpoint_schemes[0]; i++) {
        size_t n = strlen(endpoint_schemes[i]);
        if (len > n && strncmp(s, endpoint_schemes[i], n) == 0)
            return true;
    }
    return false;
}

/* scheme://host[:port] with scheme http or https and no path, or "*". */
static bool origin_valid(const char *s)
{
    if (strcmp(s, "*") == 0)
        return true;
    const char *rest = strncmp(s, "http://", 7) == 0    ? s + 7
                       : strncmp(s, "https://", 8) == 0 ? s + 8
                                                        : NULL;
    if (!rest || !rest[0] || strlen(s) > ENDPOINT_MAX_LEN)
        return false;
    for (const char *p = rest; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (!isalnum(c) && !strchr(".-:[]_", c))
            return false;
    }
    return true;
}

static bool list_item_valid(const struct opt *o, const char *text)
{
    return o->kind == OPT_ORIGINS ? origin_valid(text) : endpoint_valid(text);
}

static const char *list_item_expected(const struct opt *o)
{
    return o->kind == OPT_ORIGINS
               ? "an origin such as https://dash.example.com:8443 (http:// or https://, no "
                 "path) or *"
               : "a ZeroMQ endpoint such as tcp://*:5556 (tcp://, ipc://, inproc://, pgm://, "
                 "epgm://, tipc://, vmci://)";
}

static void clear_list(struct cfg *cfg, const struct opt *o)
{
    char **items = field(cfg, o->offset);
    size_t *n = field(cfg, o->aux_offset);
    for (size_t i = 0; i < *n; i++) {
        free(items[i]);
        items[i] = NULL;
    }
    *n = 0;
}

static int add_endpoint(struct parse_ctx *ctx, const struct opt *o, const char *text,
                        const char *where)
{
    char **items = field(ctx->cfg, o->offset);
    size_t *n = field(ctx->cfg, o->aux_offset);
    if (!list_item_valid(o, text))
        return fail(ctx, "%s: expected %s, got '%s'", where, list_item_expected(o), text);
    for (size_t i = 0; i < *n; i++) {
        if (strcmp(items[i], text) == 0)
            return fail(ctx, "%s: '%s' given twice", where, text);
    }
    if (*n >= CFG_MAX_ENDPOINTS)
        return fail(ctx, "%s: at most %d values", where, CFG_MAX_ENDPOINTS);
    items[(*n)++] = xstrdup(text);
    return 0;
}

/* Replaces the list with the comma-separated items of text (blanks around
 * items are ignored; an empty item is an error; "" is the empty list). */
static int set_endpoint_list(struct parse_ctx *ctx, const struct opt *o, const char *text,
                             const char *where)
{
    clear_list(ctx->cfg, o);
    if (text[0] == '\0')
        return 0;
    char *copy = xstrdup(text);
    int rc = 0;
    for (char *item = copy, *next; item && rc == 0; item = next) {
        next = strchr(item, ',');
        if (next)
            *next++ = '\0';
        item += strspn(item, " \t");
        item[strcspn(item, " \t")] = '\0';
        if (item[0] == '\0')
            rc = fail(ctx, "%s: empty item in list '%s'", where, text);
        else
            rc = add_endpoint(ctx, o, item, where);
    }
    free(copy);
    return rc;
}

/* "polling", "websocket" or both, comma-separated, each at most once. */
static int set_transports(struct parse_ctx *ctx, const struct opt *o, const char *text,
                          const char *where)
{
    bool *polling = field(ctx->cfg, o->offset), *websocket = field(ctx->cfg, o->aux_offset);
    *polling = *websocket = false;
    for (const char *p = text; *p;) {
        size_t n = strcspn(p, ",");
        bool *flag = n == 7 && strncmp(p, "polling", 7) == 0     ? polling
                     : n == 9 && strncmp(p, "websocket", 9) == 0 ? websocket
                                                                 : NULL;
        bool is_trailing_comma = p[n] == ',' && p[n + 1] == '\0';
        if (!flag || *flag || is_trailing_comma)
            return fail(ctx, "%s: expected polling, websocket or polling,websocket, got '%s'",
                        where, text);
        *flag = true;
        p += n + (p[n] == ',');
    }
    if (!*polling && !*websocket)
        return fail(ctx, "%s: at least one of polling, websocket", where);
    return 0;
}

/* ---- sources */

/* Applies one value. A flag adds to a list (its first use replacing what
 * the environment or default gave); the environment and defaults set it. */
static int apply(struct parse_ctx *ctx, const struct opt *o, const char *text, const char *where,
                 enum source src)
{
    enum source previous = ctx->source[index_of(o)];
    ctx->source[index_of(o)] = src;
    switch (o->kind) {
    case OPT_LISTEN:
        return set_listen(ctx, o, text, where);
    case OPT_ENDPOINTS:
    case OPT_ORIGINS:
        if (src != SRC_FLAG)
            return set_endpoint_list(ctx, o, text, where);
        if (previous != SRC_FLAG)
            clear_list(ctx->cfg, o);
        return add_endpoint(ctx, o, text, where);
    case OPT_INT:
    case OPT_SIZE:
        return set_number(ctx, o, text, where);
    case OPT_LOG_LEVEL:
        return set_log_level(ctx, o, text, where);
    case OPT_TRANSPORTS:
        return set_transports(ctx, o, text, where);
    default:
        return fail(ctx, "%s takes no value", where);
    }
}

static int apply_defaults(struct parse_ctx *ctx)
{
    for (size_t i = 0; i < N_OPTIONS; i++) {
        const struct opt *o = &options[i];
        if (o->metavar && apply(ctx, o, o->default_text, "default", SRC_DEFAULT) < 0)
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

/* Every option's TRAINBRIDGE_* variable; an empty one counts as unset. */
static int apply_env(struct parse_ctx *ctx, char *const envp[])
{
    for (size_t i = 0; i < N_OPTIONS; i++) {
        char name[NAME_CAP];
        if (!options[i].metavar)
            continue;
        env_name(&options[i], name, sizeof name);
        const char *value = find_env(envp, name);
        if (value && value[0] && apply(ctx, &options[i], value, name, SRC_ENV) < 0)
            return -EINVAL;
    }
    return 0;
}

/* Parses args[0] (and its value, args[1], if it takes one from there).
 * Returns the number of arguments used, or -EINVAL. */
static int apply_flag(struct parse_ctx *ctx, int n_left, char *const args[])
{
    const char *arg = args[0];
    if (arg[0] != '-' || arg[1] == '\0')
        return fail(ctx, "unexpected argument '%s' (see --help)", arg);
    if (arg[1] != '-')
        return fail(ctx, "unknown option '%s' (see --help)", arg);
    const char *name = arg + 2, *eq = strchr(name, '=');
    size_t name_len = eq ? (size_t)(eq - name) : strlen(name);
    const struct opt *o = find_option(name, name_len);
    if (!o)
        return fail(ctx, "unknown option '--%.*s' (see --help)", (int)name_len, name);
    char where[NAME_CAP];
    snprintf(where, sizeof where, "--%s", o->flag);
    if (!o->metavar)
        return fail(ctx, "%s takes no value", where);
    if (eq)
        return apply(ctx, o, eq + 1, where, SRC_FLAG) < 0 ? -EINVAL : 1;
    if (n_left < 2 || strncmp(args[1], "--", 2) == 0)
        return fail(ctx, "%s: missing value", where);
    return apply(ctx, o, args[1], where, SRC_FLAG) < 0 ? -EINVAL : 2;
}

/* Every argument is a flag; "--" ends them, and nothing may follow it. */
static int apply_argv(struct parse_ctx *ctx, int argc, char *const argv[])
{
    for (int i = 1; i < argc;) {
        if (strcmp(argv[i], "--") == 0)
            return i + 1 < argc ? fail(ctx, "unexpected argument '%s' (see --help)", argv[i + 1])
                                : 0;
        int used = apply_flag(ctx, argc - i, argv + i);
        if (used < 0)
            return used;
        i += used;
    }
    return 0;
}

/* Rules across options, once every source has been applied. */
static int check_combination(struct parse_ctx *ctx)
{
    const struct opt *bind = find_option("zmq-bind", strlen("zmq-bind"));
    struct cfg *cfg = ctx->cfg;
    if (ctx->source[index_of(bind)] == SRC_DEFAULT && cfg->n_zmq_connect > 0)
        clear_list(cfg, bind);
    if (cfg->n_zmq_bind + cfg->n_zmq_connect == 0)
        return fail(ctx, "no ZeroMQ endpoint: give --zmq-bind or --zmq-connect");
    return 0;
}

/* The first --help, -h or --version before "--", if any. */
static const struct opt *find_switch(int argc, char *const argv[])
{
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
        for (size_t k = 0; k < N_OPTIONS; k++) {
            const struct opt *o = &options[k];
            bool hit = strncmp(argv[i], "--", 2) == 0 && strcmp(argv[i] + 2, o->flag) == 0;
            if (!o->metavar && (hit || (o->alias && strcmp(argv[i], o->alias) == 0)))
                return o;
        }
    }
    return NULL;
}

/* ---- public */

enum cfg_result cfg_parse(struct cfg *cfg, int argc, char *const argv[], char *const envp[],
                          FILE *out, char *err, size_t err_len)
{
    struct parse_ctx ctx = {.cfg = cfg, .err = err, .err_len = err_len};
    memset(cfg, 0, sizeof *cfg);
    if (err && err_len > 0)
        err[0] = '\0';
    const struct opt *sw = find_switch(argc, argv);
    if (sw && sw->kind == OPT_HELP) {
        cfg_print_help(out ? out : stdout);
        return CFG_EXIT_OK;
    }
    if (sw) {
        fprintf(out ? out : stdout, "trainbridge %s\n", TB_VERSION);
        return CFG_EXIT_OK;
    }
    if (apply_defaults(&ctx) < 0 || apply_env(&ctx, envp) < 0 || apply_argv(&ctx, argc, argv) < 0 ||
        check_combination(&ctx) < 0)
        return CFG_EXIT_USAGE;
    return CFG_OK;
}

void cfg_fini(struct cfg *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < N_OPTIONS; i++) {
        if (options[i].kind == OPT_ENDPOINTS || options[i].kind == OPT_ORIGINS)
            clear_list(cfg, &options[i]);
    }
}

/* Prints each of text's lines after indent spaces. */
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
    fprintf(out, "%*senv %s, default %s", HELP_INDENT, "", env,
            o->default_text[0] ? o->default_text : "none");
    if (o->kind == OPT_INT || o->kind == OPT_SIZE)
        fprintf(out, " (%lld..%lld)", o->min, o->max);
    fputc('\n', out);
}

void cfg_print_help(FILE *out)
{
    fputs("Usage: trainbridge [OPTION]...\n"
          "Carries training events from ZeroMQ publishers to Socket.IO dashboards.\n"
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
          "tipc:// or vmci://.\n",
          out);
}
