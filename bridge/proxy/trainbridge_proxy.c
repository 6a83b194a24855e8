/* trainbridge-proxy: one ZeroMQ stream for several bridges. Trainers connect
 * their PUB sockets to the frontend (XSUB), bridges their SUB sockets to the
 * backend (XPUB); every event reaches every bridge, and the bridges'
 * subscriptions flow back to the trainers (so a trainer's wait for a
 * subscriber still works through the proxy).
 *
 * The forwarding is czmq's zproxy actor (its own thread, zmq_msg passing
 * without copies). This file wires it up and keeps the counters: zproxy
 * copies every message it switches to our inproc PULL "capture" socket, and
 * the main thread counts them (events one way, subscriptions the other)
 * while it also serves GET /healthz and GET /metrics (proxy_http) from the
 * same zmq_poll loop. The capture costs one extra message copy per event;
 * it stays inside the process.
 *
 * zproxy asserts when it cannot bind, so every tcp bind endpoint is first
 * tried here with a plain socket: a port in use is a clear error and exit 1,
 * and a port of * or 0 is resolved to a free port that the ready line shows.
 * (An interface name as host, tcp://eth0:5555, is left to ZeroMQ.)
 * SIGINT/SIGTERM: stop the proxy, close everything, exit 0. */
#include <arpa/inet.h>
#include <czmq.h>
#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "proxy_cfg.h"
#include "proxy_http.h"
#include "stop_signal.h"
#include "zcurve.h"

#define CAPTURE_ENDPOINT "inproc://trainbridge-proxy-capture"
#define CAPTURE_RCVHWM 100000
#define DRAIN_BUDGET 4096 /* capture messages per loop turn; then serve HTTP */
#define POLL_TIMEOUT_MS 250
#define ENDPOINT_CAP 320
#define LIST_CAP (PROXY_CFG_MAX_ENDPOINTS * ENDPOINT_CAP)

extern char **environ;

/* What has passed through zproxy, as seen on the capture socket. */
struct counters {
    uint64_t n_events;      /* multi-frame messages: trainers -> bridges */
    uint64_t event_bytes;   /* all their frames */
    uint64_t n_subscribe;   /* one frame starting 0x01: bridges -> trainers */
    uint64_t n_unsubscribe; /* one frame starting 0x00 */
    double last_event_s;    /* wall clock of the latest event, 0 = none yet */
};

/* A message being read off the capture socket, frame by frame. */
struct capture_msg {
    size_t n_frames;
    size_t n_bytes;
    int first_byte; /* -1: empty first frame */
};

struct proxy_app {
    const struct proxy_cfg *cfg;
    struct zcurve *curve; /* --zmq-curve-secret: zauth and the frontend's keys */
    zactor_t *proxy;
    zsock_t *capture;
    struct proxy_http *http;
    struct counters n;
    struct capture_msg msg;
    char frontend[LIST_CAP]; /* comma lists as given to zproxy, ports resolved */
    char backend[LIST_CAP];
    double start_s;
    bool is_stopping;
};

static long long monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- bind endpoints: probe, resolve wildcard ports */

/* Splits "tcp://HOST:PORT" (HOST may be *, a name, an address or [v6]). */
static int split_tcp(const char *ep, char *host, size_t host_cap, const char **port)
{
    const char *hp = ep + strlen("tcp://");
    const char *colon = strrchr(hp, ':');
    if (!colon || colon == hp)
        return -EINVAL;
    size_t len = (size_t)(colon - hp);
    if (hp[0] == '[' && len >= 2 && hp[len - 1] == ']')
        hp++, len -= 2;
    if (len >= host_cap)
        return -EINVAL;
    memcpy(host, hp, len);
    host[len] = '\0';
    *port = colon + 1;
    return 0;
}

/* Binds a plain TCP socket to host:port and closes it again: fails the way
 * the proxy's bind would, and picks the port for "*" or 0. Returns the port,
 * -EADDRINUSE and friends, or -ENOENT when host is not an address (an
 * interface name, left for ZeroMQ to resolve). */
static int probe_tcp_port(const char *host, int port)
{
    bool is_wildcard = strcmp(host, "*") == 0; /* ZeroMQ's * is IPv4 unless ZMQ_IPV6 */
    struct addrinfo hints = {.ai_family = is_wildcard ? AF_INET : AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV | AI_NUMERICHOST};
    struct addrinfo *res = NULL;
    char port_text[8];
    snprintf(port_text, sizeof port_text, "%d", port);
    if (getaddrinfo(is_wildcard ? NULL : host, port_text, &hints, &res) != 0)
        return -ENOENT;
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1, rc = -errno;
    if (fd >= 0) {
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        rc = bind(fd, res->ai_addr, res->ai_addrlen) < 0 ? -errno : 0;
    }
    if (rc == 0) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof ss;
        rc = getsockname(fd, (struct sockaddr *)&ss, &len) < 0 ? -errno
             : ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                        : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    }
    if (fd >= 0)
        close(fd);
    freeaddrinfo(res);
    return rc;
}

/* "*" or "0" -> 0 (any port), "1".."65535" -> that port, else -EINVAL. */
static int parse_port(const char *text)
{
    if (strcmp(text, "*") == 0)
        return 0;
    char *end = NULL;
    long v = strtol(text, &end, 10);
    if (end == text || *end != '\0' || v < 0 || v > 65535)
        return -EINVAL;
    return (int)v;
}

/* Appends ep to the comma list out, with its tcp port probed (and chosen,
 * for * or 0). Connect endpoints ('>') and other transports pass as given. */
static int add_bind_endpoint(const char *flag, const char *ep, char *out, size_t cap)
{
    char resolved[ENDPOINT_CAP];
    const char *bare = ep[0] == '@' ? ep + 1 : ep;
    snprintf(resolved, sizeof resolved, "%s", ep);
    if (ep[0] != '>' && strncmp(bare, "tcp://", 6) == 0) {
        char host[256];
        const char *port_text = NULL;
        int port = split_tcp(bare, host, sizeof host, &port_text) == 0 ? parse_port(port_text) : -1;
        if (port < 0) {
            log_error("proxy", "%s %s: expected tcp://HOST:PORT with a port, * or 0", flag, ep);
            return -EINVAL;
        }
        int rc = probe_tcp_port(host, port);
        if (rc == -ENOENT && port == 0) {
            log_error("proxy", "%s %s: a free port (* or 0) needs an IP address or *", flag, ep);
            return rc;
        }
        if (rc < 0 && rc != -ENOENT) {
            log_error("proxy", "%s %s: cannot bind: %s", flag, ep, strerror(-rc));
            return rc;
        }
        if (port == 0)
            snprintf(resolved, sizeof resolved, "%.*s%d", (int)(port_text - ep), ep, rc);
    }
    size_t used = strlen(out);
    if (used + strlen(resolved) + 2 > cap)
        return -ENOSPC;
    snprintf(out + used, cap - used, "%s%s", used ? "," : "", resolved);
    return 0;
}

static int resolve_endpoints(const char *flag, char *const *eps, size_t n, char *out, size_t cap)
{
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (add_bind_endpoint(flag, eps[i], out, cap) < 0)
            return -1;
    }
    return 0;
}

/* ---- the zproxy actor */

static bool uses_ipv6(const struct proxy_cfg *cfg)
{
    for (size_t i = 0; i < cfg->n_frontend; i++) {
        if (strstr(cfg->frontend[i], "://["))
            return true;
    }
    for (size_t i = 0; i < cfg->n_backend; i++) {
        if (strstr(cfg->backend[i], "://["))
            return true;
    }
    return false;
}

/* With --zmq-curve-secret the frontend is a CURVE server and zauth lets in
 * only the trainers in --zmq-curve-clients (zcurve.c; before the bind). */
static int secure_frontend(struct proxy_app *app)
{
    char err[512];
    if (!app->cfg->zmq_curve_secret)
        return 0;
    app->curve =
        zcurve_new(app->cfg->zmq_curve_secret, app->cfg->zmq_curve_clients, err, sizeof err);
    if (!app->curve) {
        log_error("proxy", "%s", err);
        return -EINVAL;
    }
    zstr_sendx(app->proxy, "CURVE", "FRONTEND", zcurve_public_key(app->curve),
               zcurve_secret_key(app->curve), NULL);
    return zsock_wait(app->proxy) < 0 ? -EIO : 0;
}

static int start_proxy(struct proxy_app *app)
{
    app->capture = zsock_new(ZMQ_PULL);
    if (!app->capture)
        return -ENOMEM;
    zsock_set_rcvhwm(app->capture, CAPTURE_RCVHWM);
    if (zsock_bind(app->capture, CAPTURE_ENDPOINT) < 0) {
        log_error("proxy", "capture socket: %s", zmq_strerror(errno));
        return -EIO;
    }
    app->proxy = zactor_new(zproxy, NULL);
    if (!app->proxy)
        return -ENOMEM;
    if (log_enabled(LOG_LEVEL_DEBUG)) {
        zstr_send(app->proxy, "VERBOSE");
        zsock_wait(app->proxy);
    }
    zstr_sendx(app->proxy, "CAPTURE", CAPTURE_ENDPOINT, NULL);
    zsock_wait(app->proxy);
    if (secure_frontend(app) < 0)
        return -EINVAL;
    zstr_sendx(app->proxy, "FRONTEND", "XSUB", app->frontend, NULL);
    zsock_wait(app->proxy);
    zstr_sendx(app->proxy, "BACKEND", "XPUB", app->backend, NULL);
    zsock_wait(app->proxy);
    return 0;
}

/* ---- counting what zproxy switched */

static void count_message(struct proxy_app *app)
{
    const struct capture_msg *m = &app->msg;
    if (m->n_frames == 1 && m->n_bytes >= 1 && (m->first_byte == 0 || m->first_byte == 1)) {
        if (m->first_byte == 1)
            app->n.n_subscribe++;
        else
            app->n.n_unsubscribe++;
        return;
    }
    app->n.n_events++;
    app->n.event_bytes += m->n_bytes;
    app->n.last_event_s = wall_s();
}

static void drain_capture(struct proxy_app *app)
{
    void *sock = zsock_resolve(app->capture);
    zmq_msg_t frame;
    zmq_msg_init(&frame);
    for (int i = 0; i < DRAIN_BUDGET;) {
        if (zmq_msg_recv(&frame, sock, ZMQ_DONTWAIT) < 0)
            break; /* EAGAIN (or EINTR: next turn) */
        size_t size = zmq_msg_size(&frame);
        if (app->msg.n_frames == 0)
            app->msg.first_byte = size ? ((const unsigned char *)zmq_msg_data(&frame))[0] : -1;
        app->msg.n_frames++;
        app->msg.n_bytes += size;
        if (!zmq_msg_more(&frame)) {
            count_message(app);
            memset(&app->msg, 0, sizeof app->msg);
            i++;
        }
    }
    zmq_msg_close(&frame);
}

/* ---- /healthz and /metrics */

#define APPEND(...)                                                                                \
    do {                                                                                           \
        int n_ = snprintf(body + len, len < cap ? cap - len : 0, __VA_ARGS__);                     \
        len += n_ > 0 ? (size_t)n_ : 0;                                                            \
    } while (0)

static void write_metrics(const struct proxy_app *app, char *body, size_t cap)
{
    const struct proxy_http_stats *hs = proxy_http_stats(app->http);
    size_t len = 0;
    APPEND("# HELP trainbridge_proxy_up 1 while forwarding, 0 while shutting down.\n"
           "# TYPE trainbridge_proxy_up gauge\ntrainbridge_proxy_up %d\n",
           app->is_stopping ? 0 : 1);
    APPEND("# HELP trainbridge_proxy_events_total Messages forwarded from trainers (frontend) "
           "to bridges (backend).\n# TYPE trainbridge_proxy_events_total counter\n"
           "trainbridge_proxy_events_total %llu\n",
           (unsigned long long)app->n.n_events);
    APPEND("# HELP trainbridge_proxy_event_bytes_total Bytes of those messages, all frames.\n"
           "# TYPE trainbridge_proxy_event_bytes_total counter\n"
           "trainbridge_proxy_event_bytes_total %llu\n",
           (unsigned long long)app->n.event_bytes);
    APPEND("# HELP trainbridge_proxy_subscriptions_total Subscription changes passed from bridges "
           "to trainers (XPUB passes a topic's first subscribe and last unsubscribe).\n"
           "# TYPE trainbridge_proxy_subscriptions_total counter\n"
           "trainbridge_proxy_subscriptions_total{kind=\"subscribe\"} %llu\n"
           "trainbridge_proxy_subscriptions_total{kind=\"unsubscribe\"} %llu\n",
           (unsigned long long)app->n.n_subscribe, (unsigned long long)app->n.n_unsubscribe);
    APPEND("# HELP trainbridge_proxy_last_event_timestamp_seconds When the latest event passed "
           "(0: none yet).\n# TYPE trainbridge_proxy_last_event_timestamp_seconds gauge\n"
           "trainbridge_proxy_last_event_timestamp_seconds %.3f\n",
           app->n.last_event_s);
    APPEND("# HELP trainbridge_proxy_start_time_seconds When the proxy started.\n"
           "# TYPE trainbridge_proxy_start_time_seconds gauge\n"
           "trainbridge_proxy_start_time_seconds %.3f\n",
           app->start_s);
    APPEND("# HELP trainbridge_proxy_http_requests_total HTTP requests answered.\n"
           "# TYPE trainbridge_proxy_http_requests_total counter\n"
           "trainbridge_proxy_http_requests_total %llu\n"
           "# HELP trainbridge_proxy_http_rejected_total HTTP connections closed unanswered: "
           "oldest of too many (busy), or malformed, oversize or too slow (bad).\n"
           "# TYPE trainbridge_proxy_http_rejected_total counter\n"
           "trainbridge_proxy_http_rejected_total{reason=\"busy\"} %llu\n"
           "trainbridge_proxy_http_rejected_total{reason=\"bad\"} %llu\n",
           (unsigned long long)hs->n_requests, (unsigned long long)hs->n_evicted,
           (unsigned long long)hs->n_bad);
}

static int route(const char *path, char *body, size_t cap, const char **content_type, void *arg)
{
    struct proxy_app *app = arg;
    if (strcmp(path, "/healthz") == 0) {
        snprintf(body, cap, "%s\n", app->is_stopping ? "stopping" : "ok");
        return app->is_stopping ? 503 : 200;
    }
    if (strcmp(path, "/metrics") == 0) {
        *content_type = "text/plain; version=0.0.4; charset=utf-8";
        write_metrics(app, body, cap);
        return 200;
    }
    snprintf(body, cap, "not found\n");
    return 404;
}

/* ---- main loop */

static int serve(struct proxy_app *app)
{
    zmq_pollitem_t items[1 + 1 + PROXY_HTTP_MAX_CONNS];
    items[0] = (zmq_pollitem_t){.socket = zsock_resolve(app->capture), .events = ZMQ_POLLIN};
    while (!stop_signal_requested()) {
        size_t n =
            1 + proxy_http_fill_poll(app->http, items + 1, sizeof items / sizeof items[0] - 1);
        int rc = zmq_poll(items, (int)n, POLL_TIMEOUT_MS);
        if (rc < 0 && errno != EINTR) {
            log_error("proxy", "zmq_poll: %s", zmq_strerror(errno));
            return -1;
        }
        if (rc < 0)
            continue;
        if (items[0].revents & ZMQ_POLLIN)
            drain_capture(app);
        proxy_http_handle(app->http, items + 1, n - 1, monotonic_ms(), route, app);
    }
    return 0;
}

static void print_ready_line(const struct proxy_app *app)
{
    const char *host = app->cfg->health_host;
    bool is_v6 = strchr(host, ':') != NULL;
    printf("trainbridge-proxy listening frontend %s backend %s health %s%s%s:%d\n", app->frontend,
           app->backend, is_v6 ? "[" : "", host, is_v6 ? "]" : "", proxy_http_port(app->http));
    fflush(stdout);
}

static int run(const struct proxy_cfg *cfg)
{
    struct proxy_app app = {.cfg = cfg, .start_s = wall_s()};
    int rc = 1;
    zsys_set_sndhwm((size_t)cfg->hwm);
    zsys_set_rcvhwm((size_t)cfg->hwm);
    zsys_set_linger(0);
    if (uses_ipv6(cfg))
        zsys_set_ipv6(1);
    app.http = proxy_http_new(cfg->health_host, cfg->health_port);
    if (!app.http)
        goto out;
    if (resolve_endpoints("--frontend", cfg->frontend, cfg->n_frontend, app.frontend,
                          sizeof app.frontend) < 0 ||
        resolve_endpoints("--backend", cfg->backend, cfg->n_backend, app.backend,
                          sizeof app.backend) < 0)
        goto out;
    if (start_proxy(&app) < 0)
        goto out;
    print_ready_line(&app);
    log_info("proxy", "forwarding frontend=%s backend=%s hwm=%d", app.frontend, app.backend,
             cfg->hwm);
    rc = serve(&app) < 0 ? 1 : 0;
    app.is_stopping = true;
    log_info("proxy", "stopping events=%llu", (unsigned long long)app.n.n_events);
out:
    zactor_destroy(&app.proxy); /* stops the switching thread, closes both sides */
    zsock_destroy(&app.capture);
    zcurve_destroy(&app.curve);
    proxy_http_destroy(&app.http);
    return rc;
}

int main(int argc, char **argv)
{
    zsys_handler_set(NULL); /* our own SIGINT/SIGTERM handling, before any czmq socket */
    if (stop_signal_install(true) < 0)
        log_warn("proxy", "cannot install the signal handlers: %s", strerror(errno));
    struct proxy_cfg cfg;
    char err[512];
    enum proxy_cfg_result res = proxy_cfg_parse(&cfg, argc, argv, environ, stdout, err, sizeof err);
    if (res != PROXY_CFG_OK) {
        if (res == PROXY_CFG_EXIT_USAGE)
            fprintf(stderr, "trainbridge-proxy: %s\n", err);
        proxy_cfg_fini(&cfg);
        return res == PROXY_CFG_EXIT_OK ? 0 : 2;
    }
    log_set_level(cfg.log_level);
    int rc = run(&cfg);
    proxy_cfg_fini(&cfg);
    zsys_shutdown();
    return rc;
}
