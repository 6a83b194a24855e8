/* config: command-line flags and TRAINBRIDGE_* environment variables ->
 * struct cfg, from one option table (defaults, validation, --help).
 * Precedence: flag > environment > default. A repeatable flag given on the
 * command line replaces the environment's list (comma-separated there).
 * An empty environment variable counts as unset. At least one ZeroMQ
 * endpoint (bind or connect) is required. --help, -h and --version win over
 * every other argument. Bounds are in the option table (config.c) and --help. */
#ifndef TB_CONFIG_H
#define TB_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "log.h"

#define CFG_MAX_ENDPOINTS 16

struct cfg {
    char listen_host[256]; /* --listen HOST:PORT, default 0.0.0.0:8080; IPv6 without [] */
    int listen_port;       /* 0 = pick a free port */
    char *zmq_bind[CFG_MAX_ENDPOINTS]; /* --zmq-bind, default all interfaces port 5556,
                                          but none when --zmq-connect is given */
    size_t n_zmq_bind;
    char *zmq_connect[CFG_MAX_ENDPOINTS]; /* --zmq-connect, default none */
    size_t n_zmq_connect;
    int ping_interval_ms;                  /* --ping-interval, 25000 */
    int ping_timeout_ms;                   /* --ping-timeout, 20000 */
    size_t max_payload;                    /* --max-payload BYTES, 1000000 */
    size_t client_queue_bytes;             /* --client-queue-bytes, 1048576 */
    size_t max_rooms_per_client;           /* --max-rooms-per-client, 64 */
    char *cors_origins[CFG_MAX_ENDPOINTS]; /* --allowed-origin (and its alias --cors-origin),
                                              default none: same origin only */
    size_t n_cors_origins;
    char *cors_origin_alias[CFG_MAX_ENDPOINTS]; /* --cors-origin, merged into cors_origins */
    size_t n_cors_origin_alias;
    bool allow_polling; /* --transports, both by default */
    bool allow_websocket;
    int connect_timeout_ms;     /* --connect-timeout, 45000; 0 = never */
    size_t history_points;      /* --history-points, 500: stored progress events per run */
    size_t history_runs;        /* --history-runs, 10: finished runs kept per scenario */
    int history_ttl_s;          /* --history-ttl, 86400: how long a finished run is kept */
    size_t history_bytes;       /* --history-bytes, 256 MiB: all history together */
    size_t conflate_after;      /* --conflate-after, 65536; 0 = never conflate */
    int stall_after_ms;         /* --stall-after, 60000: silence that stalls a run
                                   whose trainer announced no heartbeat interval */
    int abandon_after_ms;       /* --abandon-after, 3600000: stalled this long, abandoned */
    enum log_level log_level;   /* --log-level, info */
    enum log_format log_format; /* --log-format, text */
    char *web_root;    /* --web-root DIR: serve the dashboard from there; NULL = embedded */
    bool no_dashboard; /* --no-dashboard: GET / and /dashboard/ answer 404 */
    /* security (README "Security"); NULL paths mean off */
    char *auth_jwt_secret;             /* --auth-jwt-secret FILE (HS256) */
    char *auth_jwt_public_key;         /* --auth-jwt-public-key FILE (RS256/ES256 PEM) */
    char *auth_jwt_previous_secret;    /* --auth-jwt-previous-secret FILE */
    int64_t auth_previous_valid_until; /* --auth-previous-valid-until, unix seconds; 0 unset */
    int auth_leeway_s;                 /* --auth-leeway, 5 */
    char *auth_audience;               /* --auth-audience */
    char *auth_issuer;                 /* --auth-issuer */
    size_t max_connections;            /* --max-connections, 100000 */
    size_t max_connections_per_ip;     /* --max-connections-per-ip, 1000 */
    int max_client_packets_per_s;      /* --max-client-packets-per-s, 100 */
    char *tls_cert;                    /* --tls-cert FILE (PEM chain) */
    char *tls_key;                     /* --tls-key FILE */
    int tls_min_version;               /* --tls-min-version 1.2 | 1.3, stored as 12 | 13 */
    char *zmq_curve_secret;            /* --zmq-curve-secret FILE (zcert secret file) */
    char *zmq_curve_clients;           /* --zmq-curve-clients DIR (zcert public files) */
};

enum cfg_result {
    CFG_OK = 0,        /* run with *cfg */
    CFG_EXIT_OK = 1,   /* --help or --version was printed: exit 0 */
    CFG_EXIT_USAGE = 2 /* bad value: err holds one line naming the flag; exit 2 */
};

/* Fills *cfg from defaults, then envp (NULL-terminated "NAME=value"
 * strings), then argv. --help/--version print to out. On CFG_EXIT_USAGE err
 * holds e.g. "--ping-interval: expected a positive integer, got 'abc'".
 * *cfg owns its strings: release with cfg_fini, whatever the result. */
enum cfg_result cfg_parse(struct cfg *cfg, int argc, char *const argv[], char *const envp[],
                          FILE *out, char *err, size_t err_len);

void cfg_fini(struct cfg *cfg);

/* Prints the usage text: every flag, its environment variable and default. */
void cfg_print_help(FILE *out);

#endif
