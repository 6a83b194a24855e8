/* main: trainbridge's entry point. Parses the configuration, wires the
 * modules together (metrics, rooms, run history, Socket.IO layer, lws
 * server, Engine.IO sessions, ZeroMQ ingest), prints the ready line, runs
 * the loop (with a quarter-second tick that stalls silent runs and
 * expires old runs), and on SIGINT/SIGTERM closes every client and tears
 * down in reverse order. */
#include <czmq.h>
#include <errno.h>
#include <libwebsockets.h>
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
#include "runs.h"
#include "server.h"
#include "sio.h"
#include "stop_signal.h"
#include "web.h"

#define DRAIN_DEADLINE_MS 700
#define HOUSEKEEPING_US (LWS_US_PER_SEC / 4) /* stall detection's resolution */

extern char **environ;

/* What main wired together; the gauges of /metrics are read from it. */
struct bridge {
    struct rooms *rooms;
    struct runs *runs;
    struct sio *sio;
    struct eio_server *eio;
    struct ingest *ingest;
    struct web *web; /* the dashboard, or NULL (--no-dashboard) */
    struct lws_context *ctx;
    lws_sorted_usec_list_t sul_housekeeping;
};

struct silence_scan {
    struct metrics *m;
    int64_t now_us;
};

static void observe_silence(const struct run_view *run, void *arg)
{
    const struct silence_scan *scan = arg;
    if (run->state == RUN_RUNNING || run->state == RUN_STALLED)
        metrics_silence_observe(scan->m, (double)(scan->now_us - run->heard_us) / 1e6);
}

static void refresh_gauges(struct metrics *m, void *arg)
{
    const struct bridge *b = arg;
    metrics_set(m, GAUGE_CLIENTS_CONNECTED, (int64_t)eio_server_n_sessions(b->eio));
    metrics_set(m, GAUGE_QUEUED_BYTES, (int64_t)eio_server_queued_bytes(b->eio));
    metrics_set(m, GAUGE_ROOMS, (int64_t)rooms_n_rooms(b->rooms));
    metrics_set(m, GAUGE_TRAINERS, (int64_t)ingest_n_trainers(b->ingest));
    runs_stats(b->runs, &m->runs);
    struct silence_scan scan = {.m = m, .now_us = (int64_t)lws_now_usecs()};
    metrics_silence_reset(m);
    runs_each(b->runs, "*", observe_silence, &scan);
    eio_server_observe_lag(b->eio, (int64_t)lws_now_usecs());
}

/* Every event joins its run's history, then goes out; the packet carries
 * its run so a laggard's queue can conflate its progress. */
static void on_event(const struct te_event *ev, struct packet *pkt, void *arg)
{
    struct bridge *b = arg;
    int64_t now_us = (int64_t)lws_now_usecs();
    pkt->run_id = runs_record(b->runs, ev, pkt, now_us);
    pkt->is_progress = ev->type == TE_TRAINING_PROGRESS;
    pkt->born_us = now_us;
    sio_broadcast(b->sio, ev->scenario, pkt);
}

/* A run stalled or resumed: its room gets the store's packet, shared like
 * any live event (never conflated: it is not progress). */
static void on_liveness(const struct run_view *run, struct packet *pkt, void *arg)
{
    struct bridge *b = arg;
    log_info("runs", "run %s scenario=%s trainer=%s",
             run->state == RUN_STALLED ? "stalled" : "resumed", run->scenario, run->trainer);
    pkt->run_id = run->id;
    pkt->is_progress = false;
    pkt->born_us = (int64_t)lws_now_usecs();
    sio_broadcast(b->sio, run->scenario, pkt);
}

/* A trainer's heartbeat keeps its run live (or resumes it). */
static enum heartbeat_reason on_heartbeat(const struct te_event *hb, void *arg)
{
    struct bridge *b = arg;
    return runs_heartbeat(b->runs, hb, (int64_t)lws_now_usecs());
}

/* Four times a second: silent runs stall or are abandoned, finished runs
 * past their TTL go. */
static void on_housekeeping(lws_sorted_usec_list_t *sul)
{
    struct bridge *b = lws_container_of(sul, struct bridge, sul_housekeeping);
    int64_t now_us = (int64_t)lws_now_usecs();
    runs_watch(b->runs, now_us);
    runs_expire(b->runs, now_us);
    lws_sul_schedule(b->ctx, 0, sul, on_housekeeping, HOUSEKEEPING_US);
}

static struct runs *runs_from_cfg(const struct cfg *cfg)
{
    struct runs_limits lim = {.max_points = cfg->history_points,
                              .max_finished_per_scenario = cfg->history_runs,
                              .ttl_us = (int64_t)cfg->history_ttl_s * LWS_US_PER_SEC,
                              .max_bytes = cfg->history_bytes,
                              .stall_after_us = (int64_t)cfg->stall_after_ms * 1000,
                              .abandon_after_us = (int64_t)cfg->abandon_after_ms * 1000};
    return runs_new_memory(&lim);
}

static struct eio_server_opts eio_opts(const struct cfg *cfg)
{
    return (struct eio_server_opts){.ping_interval_ms = cfg->ping_interval_ms,
                                    .ping_timeout_ms = cfg->ping_timeout_ms,
                                    .max_payload = cfg->max_payload,
                                    .client_queue_bytes = cfg->client_queue_bytes,
                                    .conflate_after = cfg->conflate_after,
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
    if (!cfg->no_dashboard) {
        bool is_any =
            strcmp(cfg->listen_host, "0.0.0.0") == 0 || strcmp(cfg->listen_host, "::") == 0;
        bool is_v6 = strchr(cfg->listen_host, ':') != NULL && !is_any;
        log_info("main", "dashboard: http://%s%s%s:%d/", is_v6 ? "[" : "",
                 is_any ? "127.0.0.1" : cfg->listen_host, is_v6 ? "]" : "", server_port(srv));
    }
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
    struct bridge b = {.rooms = rooms_new(), .runs = runs_from_cfg(cfg)};
    b.sio = sio_new(b.rooms, &m, cfg->max_rooms_per_client);
    sio_set_runs(b.sio, b.runs);
    runs_set_notify(b.runs, on_liveness, &b);
    struct server *srv = NULL;
    struct auth *auth = NULL;
    int rc = 1;
    if (make_auth(cfg, &auth) < 0)
        goto out;
    if (!cfg->no_dashboard && !(b.web = web_new(cfg->web_root)))
        goto out;
    srv = server_new(cfg, &m, ingest_protocol());
    if (!srv)
        goto out;
    server_serve_dashboard(srv, b.web);
    if (auth)
        sio_set_auth(b.sio, auth, server_lws_context(srv));
    sio_set_packet_rate(b.sio, (unsigned)cfg->max_client_packets_per_s);
    struct eio_server_opts opts = eio_opts(cfg);
    struct eio_handler handler = sio_eio_handler(b.sio);
    b.ctx = server_lws_context(srv);
    b.eio = eio_server_new(b.ctx, &opts, &handler, &m);
    server_mount(srv, "/socket.io/", b.eio);
    server_on_metrics(srv, refresh_gauges, &b);
    lws_sul_schedule(b.ctx, 0, &b.sul_housekeeping, on_housekeeping, HOUSEKEEPING_US);
    b.ingest = ingest_new(cfg, &m, on_event, &b);
    if (b.ingest)
        ingest_set_heartbeat_fn(b.ingest, on_heartbeat, &b);
    if (!b.ingest || ingest_attach(b.ingest, server_lws_context(srv), server_vhost(srv)) < 0)
        goto out;
    print_ready_line(cfg, srv, b.ingest, auth);
    rc = server_run(srv, stop_signal_flag()) < 0 ? 1 : 0;
    log_info("main", "stopping: closing %zu clients", eio_server_n_sessions(b.eio));
    server_drain(srv, DRAIN_DEADLINE_MS);
out:
    if (b.ctx)
        lws_sul_cancel(&b.sul_housekeeping);
    ingest_destroy(&b.ingest);
    server_destroy(&srv); /* closes what is left; sessions are freed in CLOSED */
    eio_server_destroy(&b.eio);
    sio_destroy(&b.sio);
    runs_destroy(&b.runs);
    rooms_destroy(&b.rooms);
    web_destroy(&b.web);
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
    log_set_format(cfg.log_format);
    log_attach_lws();
    if (stop_signal_install(true) < 0)
        log_warn("main", "cannot install the signal handlers: %s", strerror(errno));
    int rc = run(&cfg);
    cfg_fini(&cfg);
    zsys_shutdown();
    return rc;
}
