/* main: trainbridge's entry point. Parses the configuration, wires the
 * modules together (metrics, rooms, run history, Socket.IO layer, lws
 * server, Engine.IO sessions, ZeroMQ ingest), prints the ready line, runs
 * the loop (with a once-a-second housekeeping tick), and on
 * SIGINT/SIGTERM closes every client and tears down in reverse order. */
#include <czmq.h>
#include <libwebsockets.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "eio.h"
#include "ingest.h"
#include "log.h"
#include "metrics.h"
#include "rooms.h"
#include "runs.h"
#include "server.h"
#include "sio.h"

#define DRAIN_DEADLINE_MS 700
#define HOUSEKEEPING_US LWS_US_PER_SEC

/* What an accepted event goes through, and the periodic housekeeping. */
struct wiring {
    struct sio *sio;
    struct runs *runs;
    struct metrics *m;
    struct eio_server *eio;
    struct lws_context *ctx;
    lws_sorted_usec_list_t sul;
};

extern char **environ;

static volatile sig_atomic_t stop_requested; /* the process's only global */

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

/* Every event joins its run's history, then goes out; the packet carries
 * its run so a laggard's queue can conflate its progress. */
static void on_event(const struct te_event *ev, struct packet *pkt, void *arg)
{
    struct wiring *w = arg;
    int64_t now_us = (int64_t)lws_now_usecs();
    pkt->run_id = runs_record(w->runs, ev, pkt, now_us);
    pkt->is_progress = ev->type == TE_TRAINING_PROGRESS;
    pkt->born_us = now_us;
    runs_stats(w->runs, &w->m->runs);
    sio_broadcast(w->sio, ev->scenario, pkt);
}

/* Once a second: finished runs past their TTL go; client lag snapshot. */
static void on_housekeeping(lws_sorted_usec_list_t *sul)
{
    struct wiring *w = lws_container_of(sul, struct wiring, sul);
    int64_t now_us = (int64_t)lws_now_usecs();
    runs_expire(w->runs, now_us);
    runs_stats(w->runs, &w->m->runs);
    if (w->eio)
        eio_server_observe_lag(w->eio, now_us);
    lws_sul_schedule(w->ctx, 0, sul, on_housekeeping, HOUSEKEEPING_US);
}

static struct runs *runs_from_cfg(const struct cfg *cfg)
{
    struct runs_limits lim = {.max_points = cfg->history_points,
                              .max_finished_per_scenario = cfg->history_runs,
                              .ttl_us = (int64_t)cfg->history_ttl_s * LWS_US_PER_SEC,
                              .max_bytes = cfg->history_bytes};
    return runs_new_memory(&lim);
}

static void print_ready_line(const struct cfg *cfg, const struct server *srv,
                             const struct ingest *ingest)
{
    char endpoints[2048];
    if (ingest_endpoints(ingest, endpoints, sizeof endpoints) < 0)
        strcpy(endpoints, "?");
    printf("trainbridge listening on %s:%d zmq %s\n", cfg->listen_host, server_port(srv),
           endpoints);
    fflush(stdout);
}

static int run(const struct cfg *cfg)
{
    struct metrics m;
    memset(&m, 0, sizeof m);
    struct rooms *rooms = rooms_new();
    struct runs *runs = runs_from_cfg(cfg);
    struct sio *sio = sio_new(rooms, &m, cfg->max_rooms_per_client);
    sio_set_runs(sio, runs);
    struct wiring w = {.sio = sio, .runs = runs, .m = &m};
    struct server_ctx ctx = {.cfg = cfg, .m = &m, .rooms = rooms};
    struct server *srv = server_new(cfg, &ctx);
    int rc = 1;
    if (!srv)
        goto out;
    struct eio_server_opts opts = {.ping_interval_ms = cfg->ping_interval_ms,
                                   .ping_timeout_ms = cfg->ping_timeout_ms,
                                   .max_payload = cfg->max_payload,
                                   .client_queue_bytes = cfg->client_queue_bytes,
                                   .conflate_after = cfg->conflate_after,
                                   .connect_timeout_ms = cfg->connect_timeout_ms,
                                   .allow_polling = cfg->allow_polling,
                                   .allow_websocket = cfg->allow_websocket};
    struct eio_handler handler = sio_eio_handler(sio);
    ctx.eio = eio_server_new(server_lws_context(srv), &opts, &handler, &m);
    ctx.mounts[ctx.n_mounts++] = (struct server_mount){.path = "/socket.io/", .eio = ctx.eio};
    w.eio = ctx.eio;
    w.ctx = server_lws_context(srv);
    lws_sul_schedule(server_lws_context(srv), 0, &w.sul, on_housekeeping, HOUSEKEEPING_US);
    ctx.ingest = ingest_new(cfg, &m, on_event, &w);
    if (!ctx.ingest || ingest_attach(ctx.ingest, server_lws_context(srv), server_vhost(srv),
                                     "trainbridge-zmq") < 0)
        goto out;
    print_ready_line(cfg, srv, ctx.ingest);
    rc = server_run(srv, &stop_requested) < 0 ? 1 : 0;
    log_info("main", "stopping: closing %zu clients", eio_server_n_sessions(ctx.eio));
    server_drain(srv, DRAIN_DEADLINE_MS);
out:
    if (srv)
        lws_sul_cancel(&w.sul);
    ingest_destroy(&ctx.ingest);
    server_destroy(&srv); /* closes what is left; sessions are freed in CLOSED */
    eio_server_destroy(&ctx.eio);
    sio_destroy(&sio);
    runs_destroy(&runs);
    rooms_destroy(&rooms);
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
