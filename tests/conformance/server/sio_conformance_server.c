/* sio-conformance-server: the Socket.IO project's protocol test fixture,
 * built from the bridge's own modules (tbcore: server, eio, eio_ws/poll,
 * sio_packet), so raw Engine.IO v4 / Socket.IO v5 tests exercise the very
 * code the bridge runs. Two Engine.IO servers share one lws listener:
 *   /engine.io/  plain Engine.IO, every message echoed (conformance_echo)
 *   /socket.io/  the Socket.IO fixture (conformance_sio)
 * Parses its flags, wires the modules, prints the ready line, runs the loop,
 * and on SIGINT/SIGTERM closes every client and exits 0. */
#include <czmq.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conformance_echo.h"
#include "conformance_sio.h"
#include "config.h"
#include "eio.h"
#include "log.h"
#include "metrics.h"
#include "server.h"
#include "stop_signal.h"

#define PROGRAM "sio-conformance-server"
#define DEFAULT_HOST "127.0.0.1"
#define DEFAULT_PORT 3000
#define DEFAULT_PING_INTERVAL_MS 300
#define DEFAULT_PING_TIMEOUT_MS 200
#define DEFAULT_MAX_PAYLOAD 1000000
#define DEFAULT_CONNECT_TIMEOUT_MS 45000
#define MAX_MS 3600000
#define MAX_PAYLOAD_LIMIT 100000000
#define DRAIN_DEADLINE_MS 700
/* Outbound bound per session: a reply may carry max_payload of frames plus
 * a re-encoded text packet a few times its input, and pings. */
#define QUEUE_PAYLOADS 4
#define QUEUE_SLACK_BYTES ((size_t)1024 * 1024)

struct options {
    struct cfg cfg; /* filled by hand: listen address, heartbeat, max payload */
    int connect_timeout_ms;
};

enum parse_result { PARSE_RUN, PARSE_EXIT_OK, PARSE_EXIT_USAGE };

/* ------------------------------------------------------------ flags */

static void print_help(FILE *out)
{
    (void)fprintf(
        out,
        "Usage: " PROGRAM " [options]\n"
        "The Socket.IO protocol test fixture on the bridge's modules:\n"
        "plain Engine.IO echo on /engine.io/, Socket.IO fixture on /socket.io/.\n\n"
        "  --listen HOST:PORT       address to listen on (default %s:%d; port 0 picks\n"
        "                           one; IPv6 as [::1]:3000)\n"
        "  --ping-interval MS       Engine.IO pingInterval (default %d)\n"
        "  --ping-timeout MS        Engine.IO pingTimeout (default %d)\n"
        "  --max-payload BYTES      Engine.IO maxPayload (default %d)\n"
        "  --connect-timeout MS     close a /socket.io/ session with no CONNECT after MS;\n"
        "                           0 = never (default %d)\n"
        "  --log-level LEVEL        error, warn, info or debug (default warn)\n"
        "  --help                   this text\n\n"
        "Prints '" PROGRAM " listening on HOST:PORT' when ready; SIGINT/SIGTERM exit 0.\n",
        DEFAULT_HOST, DEFAULT_PORT, DEFAULT_PING_INTERVAL_MS, DEFAULT_PING_TIMEOUT_MS,
        DEFAULT_MAX_PAYLOAD, DEFAULT_CONNECT_TIMEOUT_MS);
}

/* Parses a whole decimal number in [min, max]. Returns 0 or -EINVAL. */
static int parse_number(const char *text, long long min, long long max, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno || end == text || *end != '\0' || text[0] == '-' || text[0] == '+' ||
        text[0] == ' ' || v < min || v > max)
        return -EINVAL;
    *out = v;
    return 0;
}

/* "HOST:PORT" or "[V6]:PORT" into cfg (the host without brackets). */
static int parse_listen(const char *text, struct cfg *cfg)
{
    const char *colon = strrchr(text, ':');
    if (!colon || colon == text)
        return -EINVAL;
    const char *host = text;
    size_t host_len = (size_t)(colon - text);
    if (host[0] == '[') {
        if (host_len < 3 || host[host_len - 1] != ']')
            return -EINVAL;
        host++;
        host_len -= 2;
    } else if (memchr(host, ':', host_len)) {
        return -EINVAL; /* IPv6 needs brackets */
    }
    long long port;
    if (host_len >= sizeof cfg->listen_host || parse_number(colon + 1, 0, 65535, &port) < 0)
        return -EINVAL;
    memcpy(cfg->listen_host, host, host_len);
    cfg->listen_host[host_len] = '\0';
    cfg->listen_port = (int)port;
    return 0;
}

static void set_defaults(struct options *o)
{
    memset(o, 0, sizeof *o);
    strcpy(o->cfg.listen_host, DEFAULT_HOST);
    o->cfg.listen_port = DEFAULT_PORT;
    o->cfg.ping_interval_ms = DEFAULT_PING_INTERVAL_MS;
    o->cfg.ping_timeout_ms = DEFAULT_PING_TIMEOUT_MS;
    o->cfg.max_payload = DEFAULT_MAX_PAYLOAD;
    o->cfg.log_level = LOG_LEVEL_WARN;
    o->connect_timeout_ms = DEFAULT_CONNECT_TIMEOUT_MS;
}

/* Applies one flag and its value. Returns 0 or -EINVAL (bad value), or
 * -ENOENT (unknown flag). */
static int apply_flag(struct options *o, const char *flag, const char *value)
{
    long long v;
    if (strcmp(flag, "--listen") == 0)
        return parse_listen(value, &o->cfg);
    if (strcmp(flag, "--log-level") == 0)
        return log_level_parse(value, &o->cfg.log_level) < 0 ? -EINVAL : 0;
    if (strcmp(flag, "--ping-interval") == 0 && parse_number(value, 1, MAX_MS, &v) == 0)
        o->cfg.ping_interval_ms = (int)v;
    else if (strcmp(flag, "--ping-timeout") == 0 && parse_number(value, 1, MAX_MS, &v) == 0)
        o->cfg.ping_timeout_ms = (int)v;
    else if (strcmp(flag, "--connect-timeout") == 0 && parse_number(value, 0, MAX_MS, &v) == 0)
        o->connect_timeout_ms = (int)v;
    else if (strcmp(flag, "--max-payload") == 0 &&
             parse_number(value, 1, MAX_PAYLOAD_LIMIT, &v) == 0)
        o->cfg.max_payload = (size_t)v;
    else if (strcmp(flag, "--ping-interval") == 0 || strcmp(flag, "--ping-timeout") == 0 ||
             strcmp(flag, "--connect-timeout") == 0 || strcmp(flag, "--max-payload") == 0)
        return -EINVAL;
    else
        return -ENOENT;
    return 0;
}

/* Splits "--flag=value" or "--flag value" (consuming the next argument). */
static enum parse_result parse_args(struct options *o, int argc, char **argv)
{
    set_defaults(o);
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            print_help(stdout);
            return PARSE_EXIT_OK;
        }
    for (int i = 1; i < argc; i++) {
        char flag[64];
        const char *eq = strchr(argv[i], '=');
        size_t flag_len = eq ? (size_t)(eq - argv[i]) : strlen(argv[i]);
        const char *value = eq ? eq + 1 : (i + 1 < argc ? argv[i + 1] : NULL);
        (void)snprintf(flag, sizeof flag, "%.*s", (int)flag_len, argv[i]);
        int rc = apply_flag(o, flag, value ? value : "");
        if (rc == -ENOENT) {
            (void)fprintf(stderr, PROGRAM ": unknown flag '%s' (see --help)\n", flag);
            return PARSE_EXIT_USAGE;
        }
        if (rc < 0) {
            (void)fprintf(stderr, PROGRAM ": %s: %s\n", flag,
                          value ? "invalid value" : "missing value");
            return PARSE_EXIT_USAGE;
        }
        if (!eq)
            i++;
    }
    return PARSE_RUN;
}

/* ------------------------------------------------------------ running */

/* Returns 0, or -errno if a handler could not be installed. */
static struct eio_server_opts eio_opts(const struct cfg *cfg)
{
    return (struct eio_server_opts){.ping_interval_ms = cfg->ping_interval_ms,
                                    .ping_timeout_ms = cfg->ping_timeout_ms,
                                    .max_payload = cfg->max_payload,
                                    .client_queue_bytes = cfg->client_queue_bytes,
                                    .allow_polling = true,
                                    .allow_websocket = true};
}

/* Returns 0, or -EIO if stdout failed (a harness would never see it). */
static int print_ready_line(const struct cfg *cfg, const struct server *srv)
{
    bool is_v6 = strchr(cfg->listen_host, ':') != NULL;
    if (printf(PROGRAM " listening on %s%s%s:%d\n", is_v6 ? "[" : "", cfg->listen_host,
               is_v6 ? "]" : "", server_port(srv)) < 0 ||
        fflush(stdout) == EOF) {
        log_error("main", "cannot print the ready line: %s", strerror(errno));
        return -EIO;
    }
    return 0;
}

/* Wires metrics, the lws server and both Engine.IO servers, runs the loop
 * until a signal, then tears down in reverse order. Returns the exit code. */
static int run(const struct options *o)
{
    const struct cfg *cfg = &o->cfg;
    struct metrics m;
    memset(&m, 0, sizeof m);
    struct conformance_sio *cs = conformance_sio_new(&m, cfg->max_payload);
    struct server *srv = server_new(cfg, &m, NULL);
    struct eio_server *sio = NULL, *echo = NULL;
    int rc = 1;
    if (!srv)
        goto out;
    struct eio_server_opts opts = eio_opts(cfg);
    struct eio_handler handler = conformance_sio_handler(cs);
    opts.connect_timeout_ms = o->connect_timeout_ms;
    sio = eio_server_new(server_lws_context(srv), &opts, &handler, &m);
    handler = conformance_echo_handler(&m);
    opts.connect_timeout_ms = 0;
    echo = eio_server_new(server_lws_context(srv), &opts, &handler, &m);
    server_mount(srv, "/socket.io/", sio);
    server_mount(srv, "/engine.io/", echo);
    if (print_ready_line(cfg, srv) < 0)
        goto out;
    rc = server_run(srv, stop_signal_flag()) < 0 ? 1 : 0;
    server_drain(srv, DRAIN_DEADLINE_MS); /* closes the sessions of every mount */
out:
    server_destroy(&srv); /* closes what is left; sessions are freed in CLOSED */
    eio_server_destroy(&echo);
    eio_server_destroy(&sio);
    conformance_sio_destroy(&cs);
    return rc;
}

int main(int argc, char **argv)
{
    zsys_handler_set(NULL); /* our signal handlers, not czmq's */
    struct options o;
    enum parse_result res = parse_args(&o, argc, argv);
    if (res != PARSE_RUN)
        return res == PARSE_EXIT_OK ? 0 : 2;
    o.cfg.client_queue_bytes = QUEUE_PAYLOADS * o.cfg.max_payload + QUEUE_SLACK_BYTES;
    log_set_level(o.cfg.log_level);
    log_attach_lws();
    int rc = stop_signal_install(true);
    if (rc < 0) {
        log_error("main", "cannot install signal handlers: %s", strerror(-rc));
        return 1;
    }
    rc = run(&o);
    zsys_shutdown();
    return rc;
}
