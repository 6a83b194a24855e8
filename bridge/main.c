/* main: trainbridge's entry point. Parses the configuration, wires the
 * modules together (metrics, rooms, Socket.IO layer, lws server, Engine.IO
 * sessions, ZeroMQ ingest), prints the ready line, runs the loop, and on
 * SIGINT/SIGTERM closes every client and tears down in reverse order. */
#include <czmq.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "config.h"
#include "eio.h"
#include "ingest.h"
#include "log.h"
#include "metrics.h"
#include "rooms.h"
#include "server.h"
#include "sio.h"

#define DRAIN_DEADLINE_MS 700

extern char **environ;

static volatile sig_atomic_t stop_requested; /* the process's only mutable global */

static void on_stop_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal; /* no SA_RESTART: poll() returns EINTR */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static void on_event(const struct te_event *ev, struct packet *pkt, void *arg)
{
    sio_broadcast(arg, ev->scenario, pkt);
}

/* What main wired together; the gauges of /metrics are read from it. */
struct bridge {
    struct rooms *rooms;
    struct eio_server *eio;
    struct ingest *ingest;
};

static void refresh_gauges(struct metrics *m, void *arg)
{
    const struct bridge *b = arg;
    metrics_set(m, GAUGE_CLIENTS_CONNECTED, (int64_t)eio_server_n_sessions(b->eio));
    metrics_set(m, GAUGE_QUEUED_BYTES, (int64_t)eio_server_queued_bytes(b->eio));
    metrics_set(m, GAUGE_ROOMS, (int64_t)rooms_n_rooms(b->rooms));
    metrics_set(m, GAUGE_TRAINERS, (int64_t)ingest_n_trainers(b->ingest));
}

static struct eio_server_opts eio_opts(const struct cfg *cfg)
{
    return (struct eio_server_opts){.ping_interval_ms = cfg->ping_interval_ms,
                                    .ping_timeout_ms = cfg->ping_timeout_ms,
                                    .max_payload = cfg->max_payload,
                                    .client_queue_bytes = cfg->client_queue_bytes,
                                    .connect_timeout_ms = cfg->connect_timeout_ms,
                                    .allow_polling = cfg->allow_polling,
                                    .allow_websocket = cfg->allow_websocket,
                                    .cors_origins = cfg->cors_origins,
                                    .n_cors_origins = cfg->n_cors_origins,
                                    .is_tls = cfg->tls_cert != NULL,
                                    .max_sessions = cfg->max_connections,
                                    .max_sessions_per_addr = cfg->max_connections_per_ip};
}

static void print_ready_line(const struct cfg *cfg, const struct server *srv,
                             const struct ingest *ingest, const struct auth *auth)
{
    char endpoints[2048];
    if (ingest_endpoints(ingest, endpoints, sizeof endpoints) < 0)
        strcpy(endpoints, "?");
    printf("trainbridge listening on %s:%d zmq %s auth %s%s\n", cfg->listen_host, server_port(srv),
           endpoints, auth ? "on" : "off", cfg->tls_cert ? " tls on" : "");
    fflush(stdout);
}

/* The token verifier, if any flag asks for one; *auth_p stays NULL when
 * auth is off. Returns -EINVAL (logged) when a key cannot be loaded. */
static int make_auth(const struct cfg *cfg, struct auth **auth_p)
{
    struct auth_config acfg = {.secret_path = cfg->auth_jwt_secret,
                               .previous_secret_path = cfg->auth_jwt_previous_secret,
                               .previous_valid_until = cfg->auth_previous_valid_until,
                               .public_key_path = cfg->auth_jwt_public_key,
                               .leeway_s = cfg->auth_leeway_s,
                               .audience = cfg->auth_audience,
                               .issuer = cfg->auth_issuer};
    char err[512];
    *auth_p = NULL;
    if (!auth_config_enabled(&acfg))
        return 0;
    *auth_p = auth_new(&acfg, err, sizeof err);
    if (!*auth_p) {
        log_error("main", "%s", err);
        return -EINVAL;
    }
    return 0;
}

static int run(const struct cfg *cfg)
{
    struct metrics m;
    memset(&m, 0, sizeof m);
    struct bridge b = {.rooms = rooms_new()};
    struct sio *sio = sio_new(b.rooms, &m, cfg->max_rooms_per_client);
    struct auth *auth = NULL;
    struct server *srv = make_auth(cfg, &auth) < 0 ? NULL : server_new(cfg, &m, ingest_protocol());
    int rc = 1;
    if (!srv)
        goto out;
    if (auth)
        sio_set_auth(sio, auth, server_lws_context(srv));
    sio_set_packet_rate(sio, (unsigned)cfg->max_client_packets_per_s);
    struct eio_server_opts opts = eio_opts(cfg);
    struct eio_handler handler = sio_eio_handler(sio);
    b.eio = eio_server_new(server_lws_context(srv), &opts, &handler, &m);
    server_mount(srv, "/socket.io/", b.eio);
    server_on_metrics(srv, refresh_gauges, &b);
    b.ingest = ingest_new(cfg, &m, on_event, sio);
    if (!b.ingest || ingest_attach(b.ingest, server_lws_context(srv), server_vhost(srv)) < 0)
        goto out;
    print_ready_line(cfg, srv, b.ingest, auth);
    rc = server_run(srv, &stop_requested) < 0 ? 1 : 0;
    log_info("main", "stopping: closing %zu clients", eio_server_n_sessions(b.eio));
    server_drain(srv, DRAIN_DEADLINE_MS);
out:
    ingest_destroy(&b.ingest);
    server_destroy(&srv); /* closes what is left; sessions are freed in CLOSED */
    eio_server_destroy(&b.eio);
    sio_destroy(&sio);
    rooms_destroy(&b.rooms);
    auth_destroy(&auth);
    return rc;
}

int main(int argc, char **argv)
{
    zsys_handler_set(NULL); /* our signal handlers, not czmq's */
    struct cfg cfg;
    char err[512];
    enum cfg_result res = cfg_parse(&cfg, argc, argv, environ, stdout, err, sizeof err);
    if (res != CFG_OK) {
        if (res == CFG_EXIT_USAGE)
            fprintf(stderr, "trainbridge: %s\n", err);
        cfg_fini(&cfg);
        return res == CFG_EXIT_OK ? 0 : 2;
    }
    log_set_level(cfg.log_level);
    log_attach_lws();
    install_signals();
    int rc = run(&cfg);
    cfg_fini(&cfg);
    zsys_shutdown();
    return rc;
}
