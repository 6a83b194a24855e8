#include "config.h"

#include <errno.h>
#include <string.h>

#include "auth.h"
#include "options.h"
#include "xalloc.h"

#ifndef TB_VERSION
#define TB_VERSION "unknown"
#endif

#define FIELD(f) offsetof(struct cfg, f)

/* --auth-previous-valid-until: unix seconds or an ISO 8601 UTC time. */
static int set_time(struct options_parse *p, const struct options_opt *o, const char *text,
                    const char *where, enum options_source src)
{
    (void)src;
    int64_t *value = (int64_t *)((char *)options_cfg(p) + o->offset);
    *value = 0;
    if (text[0] && auth_parse_time(text, value) < 0)
        return options_fail(p, "%s: expected unix seconds or YYYY-MM-DDTHH:MM:SSZ, got '%s'", where,
                            text);
    return 0;
}

static int set_tls_version(struct options_parse *p, const struct options_opt *o, const char *text,
                           const char *where, enum options_source src)
{
    (void)src;
    int *value = (int *)((char *)options_cfg(p) + o->offset);
    if (strcmp(text, "1.2") == 0)
        *value = 12;
    else if (strcmp(text, "1.3") == 0)
        *value = 13;
    else
        return options_fail(p, "%s: expected 1.2 or 1.3, got '%s'", where, text);
    return 0;
}

/* Each option's environment variable is TRAINBRIDGE_ + the flag name
 * upper-cased with '-' as '_'. Defaults are text, parsed like any value. */
static options_set_fn set_log_format;

static const struct options_opt options[] = {
    {"listen", NULL, "HOST:PORT", OPTIONS_LISTEN, "0.0.0.0:8080", 0, 65535, NULL,
     FIELD(listen_host), FIELD(listen_port),
     "Where dashboards connect (HTTP long-polling and WebSocket). IPv6 as\n"
     "[::1]:8080; port 0 picks a free port.",
     NULL},
    {"zmq-bind", NULL, "ENDPOINT", OPTIONS_ENDPOINTS, "tcp://*:5556", 0, CFG_MAX_ENDPOINTS, NULL,
     FIELD(zmq_bind), FIELD(n_zmq_bind),
     "Bind the ZeroMQ SUB socket here for trainers' PUB sockets to connect\n"
     "to. Repeatable. The default applies only when no --zmq-connect is given.",
     NULL},
    {"zmq-connect", NULL, "ENDPOINT", OPTIONS_ENDPOINTS, "", 0, CFG_MAX_ENDPOINTS, NULL,
     FIELD(zmq_connect), FIELD(n_zmq_connect),
     "Connect the ZeroMQ SUB socket to a trainer's or a proxy's PUB\n"
     "endpoint. Repeatable.",
     NULL},
    {"ping-interval", NULL, "MS", OPTIONS_INT, "25000", 10, 3600000, "ms", FIELD(ping_interval_ms),
     0, "Engine.IO heartbeat: how often each client is pinged, in milliseconds.", NULL},
    {"ping-timeout", NULL, "MS", OPTIONS_INT, "20000", 10, 3600000, "ms", FIELD(ping_timeout_ms), 0,
     "How long a client may take to answer a ping before it is dropped.", NULL},
    {"max-payload", NULL, "BYTES", OPTIONS_SIZE, "1000000", 1024, 64LL << 20, "bytes",
     FIELD(max_payload), 0,
     "Largest message a client may send, and largest HTTP long-polling\n"
     "request body (Engine.IO maxPayload).",
     NULL},
    {"client-queue-bytes", NULL, "BYTES", OPTIONS_SIZE, "1048576", 4096, 1LL << 30, "bytes",
     FIELD(client_queue_bytes), 0,
     "Bound on the data queued for one client. A client whose unsent data\n"
     "would exceed it is disconnected; the others are not slowed.",
     NULL},
    {"max-rooms-per-client", NULL, "N", OPTIONS_SIZE, "64", 1, 4096, "rooms",
     FIELD(max_rooms_per_client), 0, "How many scenario rooms one client may be in at once.", NULL},
    {"allowed-origin", NULL, "ORIGIN", OPTIONS_ORIGINS, "", 0, CFG_MAX_ENDPOINTS, NULL,
     FIELD(cors_origins), FIELD(n_cors_origins),
     "Let browser pages from ORIGIN (scheme://host[:port], or * for any)\n"
     "connect: long-polling across origins (CORS, with credentials) and\n"
     "WebSocket upgrades. Repeatable. A handshake or upgrade whose Origin is\n"
     "neither listed nor the bridge's own gets 403. Requests without Origin\n"
     "(non-browser clients) are not affected.",
     NULL},
    {"cors-origin", NULL, "ORIGIN", OPTIONS_ORIGINS, "", 0, CFG_MAX_ENDPOINTS, NULL,
     FIELD(cors_origin_alias), FIELD(n_cors_origin_alias),
     "Older name of --allowed-origin; its values are added to that list.", NULL},
    {"transports", NULL, "LIST", OPTIONS_TRANSPORTS, "polling,websocket", 0, 0, NULL,
     FIELD(allow_polling), FIELD(allow_websocket),
     "Engine.IO transports offered: polling, websocket or both, comma-separated.", NULL},
    {"connect-timeout", NULL, "MS", OPTIONS_INT, "45000", 0, 3600000, "ms",
     FIELD(connect_timeout_ms), 0,
     "Close a session that has not sent a Socket.IO CONNECT by then (0: never).", NULL},
    {"history-points", NULL, "N", OPTIONS_SIZE, "500", 8, 100000, "points", FIELD(history_points),
     0,
     "Most training_progress events kept per run for late joiners: the\n"
     "learning curve's bound (first, latest, per-bucket last/min/max).",
     NULL},
    {"history-runs", NULL, "N", OPTIONS_SIZE, "10", 0, 100000, "runs", FIELD(history_runs), 0,
     "Finished runs kept per scenario for late joiners (the most recent).", NULL},
    {"history-ttl", NULL, "SECONDS", OPTIONS_INT, "86400", 1, 31536000, "s", FIELD(history_ttl_s),
     0, "How long a finished run is kept after it ended.", NULL},
    {"history-bytes", NULL, "BYTES", OPTIONS_SIZE, "268435456", 65536, 1LL << 40, "bytes",
     FIELD(history_bytes), 0,
     "Bound on all run history together. Past it the oldest finished runs\n"
     "go first, then running runs' curves are thinned (never their\n"
     "training_started or latest progress).",
     NULL},
    {"conflate-after", NULL, "BYTES", OPTIONS_SIZE, "65536", 0, 1LL << 30, "bytes",
     FIELD(conflate_after), 0,
     "Once a client has this much unsent data, a new training_progress of a\n"
     "run replaces that run's older unsent one (lifecycle events are always\n"
     "kept). 0: never conflate.",
     NULL},
    {"stall-after", NULL, "MS", OPTIONS_INT, "60000", 100, 86400000, "ms", FIELD(stall_after_ms), 0,
     "A running run whose trainer sent nothing (event or heartbeat) for this\n"
     "long is marked stalled (training_stalled to its room). Trainers that\n"
     "announce a heartbeat interval get 3 x that interval instead.",
     NULL},
    {"abandon-after", NULL, "MS", OPTIONS_INT, "3600000", 100, 2000000000, "ms",
     FIELD(abandon_after_ms), 0,
     "A stalled run that stays silent this much longer is closed as\n"
     "abandoned (kept in history like a finished run).",
     NULL},
    {"auth-jwt-secret", NULL, "FILE", OPTIONS_STRING, "", 0, 0, NULL, FIELD(auth_jwt_secret), 0,
     "Require a signed token on Socket.IO CONNECT: HS256 with this file's bytes\n"
     "as the key (one trailing newline ignored; at least 32 bytes).",
     NULL},
    {"auth-jwt-public-key", NULL, "FILE", OPTIONS_STRING, "", 0, 0, NULL,
     FIELD(auth_jwt_public_key), 0,
     "Require a signed token on CONNECT, verified with this PEM public key:\n"
     "RSA (>= 2048 bits) accepts RS256 only, P-256 EC accepts ES256 only.",
     NULL},
    {"auth-jwt-previous-secret", NULL, "FILE", OPTIONS_STRING, "", 0, 0, NULL,
     FIELD(auth_jwt_previous_secret), 0,
     "Key rotation: a former HS256 key still accepted until\n"
     "--auth-previous-valid-until.",
     NULL},
    {"auth-previous-valid-until", NULL, "TIME", OPTIONS_STRING, "", 0, 0, NULL,
     FIELD(auth_previous_valid_until), 0,
     "When the previous secret stops being accepted: unix seconds or\n"
     "YYYY-MM-DDTHH:MM:SSZ.",
     set_time},
    {"auth-leeway", NULL, "SECONDS", OPTIONS_INT, "5", 0, 3600, "seconds", FIELD(auth_leeway_s), 0,
     "Clock slack allowed on a token's exp and nbf.", NULL},
    {"auth-audience", NULL, "AUD", OPTIONS_STRING, "", 0, 0, NULL, FIELD(auth_audience), 0,
     "When set, a token's aud must name it.", NULL},
    {"auth-issuer", NULL, "ISS", OPTIONS_STRING, "", 0, 0, NULL, FIELD(auth_issuer), 0,
     "When set, a token's iss must equal it.", NULL},
    {"max-connections", NULL, "N", OPTIONS_SIZE, "100000", 1, 10000000, "connections",
     FIELD(max_connections), 0, "Engine.IO sessions at once; past it a handshake gets HTTP 503.",
     NULL},
    {"max-connections-per-ip", NULL, "N", OPTIONS_SIZE, "1000", 1, 10000000, "connections",
     FIELD(max_connections_per_ip), 0,
     "Engine.IO sessions from one client address; past it HTTP 503.", NULL},
    {"max-client-packets-per-s", NULL, "N", OPTIONS_INT, "100", 1, 1000000, "packets",
     FIELD(max_client_packets_per_s), 0,
     "A client sending more packets per second than this for 5 seconds in a\n"
     "row is disconnected.",
     NULL},
    {"tls-cert", NULL, "FILE", OPTIONS_STRING, "", 0, 0, NULL, FIELD(tls_cert), 0,
     "Serve https/wss on --listen with this PEM certificate (chain); needs\n"
     "--tls-key.",
     NULL},
    {"tls-key", NULL, "FILE", OPTIONS_STRING, "", 0, 0, NULL, FIELD(tls_key), 0,
     "The PEM private key of --tls-cert.", NULL},
    {"tls-min-version", NULL, "VERSION", OPTIONS_STRING, "1.2", 0, 0, NULL, FIELD(tls_min_version),
     0, "Oldest TLS version accepted: 1.2 or 1.3.", set_tls_version},
    {"zmq-curve-secret", NULL, "FILE", OPTIONS_STRING, "", 0, 0, NULL, FIELD(zmq_curve_secret), 0,
     "Make the ZeroMQ SUB socket a CURVE server with this czmq certificate\n"
     "(the <name>_secret file zcert_save writes); needs --zmq-curve-clients.",
     NULL},
    {"zmq-curve-clients", NULL, "DIR", OPTIONS_STRING, "", 0, 0, NULL, FIELD(zmq_curve_clients), 0,
     "Directory of the trainers' public certificates allowed to publish.", NULL},
    {"log-level", NULL, "LEVEL", OPTIONS_LOG_LEVEL, "info", 0, 0, NULL, FIELD(log_level), 0,
     "One of error, warn, info, debug.", NULL},
    {"log-format", NULL, "FORMAT", OPTIONS_LOG_LEVEL, "text", 0, 0, NULL, FIELD(log_format), 0,
     "text (\"level module: message key=value\") or json (one object per line:\n"
     "ts, level, module, message, and each trailing key=value as a field).",
     set_log_format},
    {"web-root", NULL, "DIR", OPTIONS_STRING, "", 0, 0, NULL, FIELD(web_root), 0,
     "Serve the dashboard's files from DIR instead of the copies built into\n"
     "the binary (for working on the page; vendor/ falls back to the built-in\n"
     "libraries).",
     NULL},
    {"no-dashboard", NULL, NULL, OPTIONS_SWITCH, NULL, 0, 0, NULL, FIELD(no_dashboard), 0,
     "Do not serve the dashboard page (GET / and /dashboard/ answer 404).", NULL},
    {"help", "-h", NULL, OPTIONS_HELP, NULL, 0, 0, NULL, 0, 0, "Print this help and exit.", NULL},
    {"version", NULL, NULL, OPTIONS_VERSION, NULL, 0, 0, NULL, 0, 0, "Print the version and exit.",
     NULL},
};

static int set_log_format(struct options_parse *p, const struct options_opt *o, const char *text,
                          const char *where, enum options_source src)
{
    (void)o;
    (void)src;
    struct cfg *cfg = options_cfg(p);
    if (log_format_parse(text, &cfg->log_format) < 0)
        return options_fail(p, "%s: expected text or json, got '%s'", where, text);
    return 0;
}

/* Adds --cors-origin's values to --allowed-origin's list. */
static int merge_origin_alias(struct options_parse *p, struct cfg *cfg)
{
    for (size_t i = 0; i < cfg->n_cors_origin_alias; i++) {
        const char *o = cfg->cors_origin_alias[i];
        bool is_present = false;
        for (size_t k = 0; k < cfg->n_cors_origins; k++)
            is_present = is_present || strcmp(cfg->cors_origins[k], o) == 0;
        if (is_present)
            continue;
        if (cfg->n_cors_origins >= CFG_MAX_ENDPOINTS)
            return options_fail(p, "--allowed-origin: at most %d values", CFG_MAX_ENDPOINTS);
        cfg->cors_origins[cfg->n_cors_origins++] = xstrdup(o);
    }
    return 0;
}

/* Flags that only make sense together. */
static int check_security(struct options_parse *p, struct cfg *cfg)
{
    if (merge_origin_alias(p, cfg) < 0)
        return -EINVAL;
    if (!cfg->tls_cert != !cfg->tls_key)
        return options_fail(p, "--tls-cert and --tls-key go together");
    if (!cfg->zmq_curve_secret != !cfg->zmq_curve_clients)
        return options_fail(p, "--zmq-curve-secret and --zmq-curve-clients go together");
    if (cfg->auth_jwt_previous_secret &&
        (!cfg->auth_jwt_secret || cfg->auth_previous_valid_until == 0))
        return options_fail(p, "--auth-jwt-previous-secret needs --auth-jwt-secret and "
                               "--auth-previous-valid-until");
    bool has_auth = cfg->auth_jwt_secret || cfg->auth_jwt_public_key;
    if (!has_auth && (cfg->auth_audience || cfg->auth_issuer))
        return options_fail(p, "--auth-audience/--auth-issuer need --auth-jwt-secret or "
                               "--auth-jwt-public-key");
    return 0;
}

/* Rules across options, once every source has been applied: the default
 * --zmq-bind gives way to --zmq-connect, and one endpoint is needed. */
static int check_combination(struct options_parse *p)
{
    const struct options_opt *bind = options_find(p, "zmq-bind");
    struct cfg *cfg = options_cfg(p);
    if (options_source_of(p, bind) == OPTIONS_SRC_DEFAULT && cfg->n_zmq_connect > 0)
        options_clear_list(cfg, bind);
    if (cfg->n_zmq_bind + cfg->n_zmq_connect == 0)
        return options_fail(p, "no ZeroMQ endpoint: give --zmq-bind or --zmq-connect");
    return check_security(p, cfg);
}

static const struct options_spec spec = {
    .opts = options,
    .n_opts = sizeof options / sizeof options[0],
    .env_prefix = "TRAINBRIDGE_",
    .program = "trainbridge",
    .version = TB_VERSION,
    .usage = "Usage: trainbridge [OPTION]...\n"
             "Carries training events from ZeroMQ publishers to Socket.IO dashboards.\n"
             "\n" OPTIONS_HELP_SOURCES "\n"
             "Options:\n",
    .footer = "\nZeroMQ endpoints start with tcp://, ipc://, inproc://, pgm://, epgm://,\n"
              "tipc:// or vmci://.\n",
    .argv_rules = OPTIONS_ARGV_STRICT,
    .check = check_combination,
};

_Static_assert(sizeof((struct cfg *)0)->listen_host == OPTIONS_HOST_CAP, "listen_host size");

enum cfg_result cfg_parse(struct cfg *cfg, int argc, char *const argv[], char *const envp[],
                          FILE *out, char *err, size_t err_len)
{
    memset(cfg, 0, sizeof *cfg);
    return (enum cfg_result)options_parse(&spec, cfg, argc, argv, envp, out, err, err_len);
}

void cfg_fini(struct cfg *cfg)
{
    options_fini(&spec, cfg);
}

void cfg_print_help(FILE *out)
{
    options_print_help(&spec, out);
}
