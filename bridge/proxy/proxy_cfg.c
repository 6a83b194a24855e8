#include "proxy_cfg.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"
#include "xalloc.h"

#ifndef TB_VERSION
#define TB_VERSION "unknown"
#endif

#define FIELD(f) offsetof(struct proxy_cfg, f)

static options_set_fn set_endpoints, set_hostport, set_int;

/* Each option's environment variable is TRAINBRIDGE_PROXY_ + the flag name
 * upper-cased with '-' as '_'. The proxy's endpoints, address and numbers
 * have their own setters (their rules and messages predate options.c). */
static const struct options_opt options[] = {
    {"frontend", NULL, "ENDPOINT", OPTIONS_ENDPOINTS, "tcp://*:5555", 0, PROXY_CFG_MAX_ENDPOINTS,
     NULL, FIELD(frontend), FIELD(n_frontend),
     "XSUB side: trainers connect their PUB sockets here. Repeatable.\n"
     "Binds; a leading '>' connects instead (to an upstream proxy's\n"
     "backend, to build a tree of proxies).",
     set_endpoints},
    {"backend", NULL, "ENDPOINT", OPTIONS_ENDPOINTS, "tcp://*:5557", 0, PROXY_CFG_MAX_ENDPOINTS,
     NULL, FIELD(backend), FIELD(n_backend),
     "XPUB side: bridges connect their SUB sockets here\n"
     "(trainbridge --zmq-connect). Repeatable. Binds; '>' connects.",
     set_endpoints},
    {"health", NULL, "HOST:PORT", OPTIONS_LISTEN, "0.0.0.0:5558", 0, 65535, NULL,
     FIELD(health_host), FIELD(health_port),
     "HTTP address of GET /healthz and GET /metrics. IPv6 as [::1]:5558;\n"
     "port 0 picks a free port.",
     set_hostport},
    {"hwm", NULL, "MESSAGES", OPTIONS_INT, "10000", 1, 10000000, NULL, FIELD(hwm), 0,
     "ZeroMQ high-water mark of both sides: messages queued per peer\n"
     "before ZeroMQ drops (towards a slow bridge) or stops reading.",
     set_int},
    {"zmq-curve-secret", NULL, "FILE", OPTIONS_STRING, "", 0, 0, NULL, FIELD(zmq_curve_secret), 0,
     "Make the frontend a CURVE server with this czmq certificate (the\n"
     "<name>_secret file); needs --zmq-curve-clients.",
     NULL},
    {"zmq-curve-clients", NULL, "DIR", OPTIONS_STRING, "", 0, 0, NULL, FIELD(zmq_curve_clients), 0,
     "Directory of the trainers' public certificates allowed to publish.", NULL},
    {"log-level", NULL, "LEVEL", OPTIONS_LOG_LEVEL, "info", 0, 0, NULL, FIELD(log_level), 0,
     "One of error, warn, info, debug.", NULL},
    {"help", "-h", NULL, OPTIONS_HELP, NULL, 0, 0, NULL, 0, 0, "Print this help and exit.", NULL},
    {"version", NULL, NULL, OPTIONS_VERSION, NULL, 0, 0, NULL, 0, 0, "Print the version and exit.",
     NULL},
};

static const char *const endpoint_schemes[] = {"tcp://",  "ipc://",  "inproc://", "pgm://",
                                               "epgm://", "tipc://", "vmci://"};

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

static int add_endpoint(struct options_parse *p, const struct options_opt *o, const char *text,
                        size_t len, const char *where)
{
    char **items = (char **)((char *)options_cfg(p) + o->offset);
    size_t *n = (size_t *)((char *)options_cfg(p) + o->aux_offset);
    char *ep = xstrndup(text, len);
    if (!endpoint_valid(ep)) {
        options_fail(p, "%s: expected a ZeroMQ endpoint such as tcp://*:5555, got '%s'", where, ep);
        free(ep);
        return -EINVAL;
    }
    if (*n >= PROXY_CFG_MAX_ENDPOINTS) {
        free(ep);
        return options_fail(p, "%s: at most %d endpoints", where, PROXY_CFG_MAX_ENDPOINTS);
    }
    items[(*n)++] = ep;
    return 0;
}

/* Adds text's comma-separated endpoints (env, default; empty items are
 * skipped) or, from a flag, the one endpoint text. */
static int set_endpoints(struct options_parse *p, const struct options_opt *o, const char *text,
                         const char *where, enum options_source src)
{
    if (src == OPTIONS_SRC_FLAG)
        return add_endpoint(p, o, text, strlen(text), where);
    while (*text) {
        size_t len = strcspn(text, ",");
        if (len > 0 && add_endpoint(p, o, text, len, where) < 0)
            return -EINVAL;
        text += len + (text[len] == ',');
    }
    return 0;
}

/* HOST:PORT or [V6]:PORT, the host of any characters but a second ':'. */
static int set_hostport(struct options_parse *p, const struct options_opt *o, const char *text,
                        const char *where, enum options_source src)
{
    struct proxy_cfg *cfg = options_cfg(p);
    const char *host = text, *port;
    size_t host_len;
    (void)o, (void)src;
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (!close || close[1] != ':')
            return options_fail(p, "%s: expected HOST:PORT or [V6]:PORT, got '%s'", where, text);
        host = text + 1;
        host_len = (size_t)(close - host);
        port = close + 2;
    } else {
        const char *colon = strrchr(text, ':');
        if (!colon || memchr(text, ':', (size_t)(colon - text)))
            return options_fail(p, "%s: expected HOST:PORT such as 0.0.0.0:5558, got '%s'", where,
                                text);
        host_len = (size_t)(colon - text);
        port = colon + 1;
    }
    size_t n_digits = strspn(port, "0123456789");
    long v = n_digits > 0 && n_digits <= 5 && port[n_digits] == '\0' ? strtol(port, NULL, 10) : -1;
    if (host_len == 0 || host_len >= sizeof cfg->health_host || v < 0 || v > 65535)
        return options_fail(p, "%s: expected HOST:PORT with a port from 0 to 65535, got '%s'",
                            where, text);
    memcpy(cfg->health_host, host, host_len);
    cfg->health_host[host_len] = '\0';
    cfg->health_port = (int)v;
    return 0;
}

/* strtoll's integers (leading blanks and '+' allowed) within the bounds. */
static int set_int(struct options_parse *p, const struct options_opt *o, const char *text,
                   const char *where, enum options_source src)
{
    char *end = NULL;
    (void)src;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno || end == text || *end != '\0' || v < o->min || v > o->max)
        return options_fail(p, "%s: expected an integer from %lld to %lld, got '%s'", where, o->min,
                            o->max, text);
    *(int *)((char *)options_cfg(p) + o->offset) = (int)v;
    return 0;
}

/* ---- public */

static int check_combination(struct options_parse *p)
{
    const struct proxy_cfg *cfg = options_cfg(p);
    if (cfg->n_frontend == 0)
        return options_fail(p, "--frontend: at least one endpoint is needed");
    if (cfg->n_backend == 0)
        return options_fail(p, "--backend: at least one endpoint is needed");
    if (!cfg->zmq_curve_secret != !cfg->zmq_curve_clients)
        return options_fail(p, "--zmq-curve-secret and --zmq-curve-clients go together");
    return 0;
}

static const struct options_spec spec = {
    .opts = options,
    .n_opts = sizeof options / sizeof options[0],
    .env_prefix = "TRAINBRIDGE_PROXY_",
    .program = "trainbridge-proxy",
    .version = TB_VERSION,
    .usage = "Usage: trainbridge-proxy [OPTION]...\n"
             "Forwards trainers' ZeroMQ events to every bridge: trainers connect their\n"
             "PUB sockets to the frontend (XSUB), bridges their SUB sockets to the\n"
             "backend (XPUB); subscriptions flow back the other way.\n"
             "\n" OPTIONS_HELP_SOURCES "\n"
             "Options:\n",
    .footer = "\nZeroMQ endpoints start with tcp://, ipc://, inproc://, pgm://, epgm://,\n"
              "tipc:// or vmci://. A tcp port of * or 0 picks a free port; the ready line\n"
              "shows the real one.\n",
    .argv_rules = OPTIONS_ARGV_LENIENT,
    .check = check_combination,
};

enum proxy_cfg_result proxy_cfg_parse(struct proxy_cfg *cfg, int argc, char *const argv[],
                                      char *const envp[], FILE *out, char *err, size_t err_len)
{
    memset(cfg, 0, sizeof *cfg);
    return (enum proxy_cfg_result)options_parse(&spec, cfg, argc, argv, envp, out, err, err_len);
}

void proxy_cfg_fini(struct proxy_cfg *cfg)
{
    options_fini(&spec, cfg);
}

void proxy_cfg_print_help(FILE *out)
{
    options_print_help(&spec, out);
}
