/* tb_loadgen: N Socket.IO clients for the benchmarks, in one epoll thread.
 *
 * Each client opens a WebSocket at /socket.io/?EIO=4&transport=websocket,
 * waits for the Engine.IO open packet, sends the Socket.IO CONNECT, then
 * `subscribe_training` for scenario (i mod S) with an ack id, and counts
 * itself ready at the ack. It answers Engine.IO pings for as long as it
 * lives. Connections are opened with bounded concurrency. When every client
 * is ready (or failed) one JSON line {"ready":true,...} goes to stdout.
 *
 * Then it counts every event each client receives, measures
 * publish-to-receipt latency (CLOCK_REALTIME at the read minus the meta's
 * "ts", the publisher's CLOCK_REALTIME) into a histogram, and finds losses
 * from gaps in each trainer's sequence numbers per client. A second
 * histogram takes the kernel's arrival time of the data (SO_TIMESTAMPNS)
 * instead of the read: the difference between the two is this program's own
 * delay (it shares the machine's CPUs with the server).
 *
 * Measurement is split into phases. SIGUSR1 ends the current phase: once no
 * event has arrived for --idle-ms (or --drain-ms after the signal at the
 * latest) one JSON line with the phase's figures goes to stdout and the
 * counters start again. SIGTERM/SIGINT report a phase in progress and exit.
 * The figures include the load generator's own CPU use (getrusage) while
 * events flowed, and "saturated" when it neared one core: then the
 * measurement says more about this program than about the server.
 *
 * "Stalled" clients (--stalled K: clients 0..K-1) subscribe and then stop
 * reading (and answering pings); their receive buffer is made small so the
 * server sees them stall soon. They are left out of every count.
 *
 * --timeline prints events and the worst latency per 50 ms on stderr, to tell
 * a steady delay from bursts (e.g. other work on the machine). */

#include "bench_hist.h"
#include "bench_ws.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define EIO_PATH "/socket.io/?EIO=4&transport=websocket"
#define READ_CHUNK (256 * 1024)
#define MAX_MESSAGE (1024 * 1024)
#define MAX_EPOLL_EVENTS 1024
#define TICK_US 50000
#define CPU_WINDOW_US 1000000
#define SATURATED_PCT 90.0
#define SEQ_SLOTS 4
#define MAX_TRAINERS 4096 /* power of two */
#define MAX_NAME 64
#define SIGNAL_TAG UINT32_MAX
#define FD_MARGIN 64
#define EXIT_USAGE 2

enum client_state {
    CS_WAITING,     /* not started yet */
    CS_CONNECTING,  /* TCP connect in progress */
    CS_UPGRADING,   /* HTTP upgrade sent, waiting for 101 */
    CS_EIO_OPEN,    /* waiting for the Engine.IO open packet */
    CS_SIO_CONNECT, /* CONNECT sent, waiting for "40" */
    CS_SUBSCRIBING, /* subscribe sent, waiting for its ack */
    CS_READY,       /* subscribed: counting events */
    CS_STALLED,     /* subscribed and no longer read */
    CS_CLOSED,
};

struct seq_slot {
    uint32_t trainer; /* index into the trainer table */
    uint64_t last_seq;
};

struct client {
    int fd;
    uint32_t idx;
    uint16_t scenario;
    uint8_t state;
    bool is_stalled;
    bool was_ready;
    uint8_t n_seq;
    uint8_t msg_opcode; /* of a fragmented message being put together */
    struct seq_slot seq[SEQ_SLOTS];
    uint64_t n_events; /* this phase */
    uint8_t *rx;       /* bytes of an incomplete frame from the last read */
    size_t rx_len;
    uint8_t *tx; /* bytes the socket did not take yet */
    size_t tx_len;
    uint8_t *msg; /* a fragmented message so far */
    size_t msg_len;
};

struct lg_opts {
    const char *host;
    int port;
    uint32_t n_clients;
    uint32_t n_scenarios;
    const char *prefix;
    uint32_t concurrency;
    uint32_t n_stalled;
    int stalled_rcvbuf;
    int idle_ms;
    int drain_ms;
    int setup_timeout_s;
    bool is_timeline;
};

struct phase {
    int index;
    struct bench_hist hist;        /* publish -> read() by this program */
    struct bench_hist hist_socket; /* publish -> arrival at the client's socket (kernel time) */
    uint64_t n_events, n_lost_gaps, n_dups, n_wrong_room, n_unparsed, n_untracked, n_closed;
    uint64_t *per_scenario;
    int64_t first_recv_us, last_recv_us, min_ts_us; /* CLOCK_REALTIME */
    int64_t mono_first_us, mono_last_us, cpu_first_us, cpu_last_us;
    uint64_t n_events_at_tick;
    double peak_cpu_pct;
    bool is_ending;
    int64_t end_requested_us; /* CLOCK_MONOTONIC */
};

struct lg {
    struct lg_opts o;
    int ep;
    int sigfd;
    struct client *clients;
    char (*scenario_names)[MAX_NAME + 1];
    uint32_t n_started, n_in_flight, n_ready, n_failed, n_closed;
    bool is_ready_reported;
    bool is_exiting;
    int64_t setup_start_us;
    uint8_t *rbuf;
    int64_t rx_kernel_us; /* SO_TIMESTAMPNS of the data last read; 0 if none */
    uint64_t rng;
    char trainers[MAX_TRAINERS][MAX_NAME + 1];
    uint32_t n_trainers;
    struct phase ph;
    int64_t next_tick_us, win_start_us, win_start_cpu_us;
    uint64_t win_start_events;
    int64_t tick_max_lat_us; /* --timeline: worst latency since the last tick */
    uint64_t tick_events;
};

/* ------------------------------------------------------------ clocks */

static int64_t clock_us(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t mono_us(void)
{
    return clock_us(CLOCK_MONOTONIC);
}

static int64_t cpu_used_us(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (int64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 + ru.ru_utime.tv_usec +
           ru.ru_stime.tv_usec;
}

static uint32_t next_mask(struct lg *lg)
{
    lg->rng ^= lg->rng << 13;
    lg->rng ^= lg->rng >> 7;
    lg->rng ^= lg->rng << 17;
    return (uint32_t)lg->rng;
}

/* ------------------------------------------------------------ sockets */

static void set_events(struct lg *lg, struct client *c, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.u32 = c->idx};
    if (epoll_ctl(lg->ep, EPOLL_CTL_MOD, c->fd, &ev) < 0)
        fprintf(stderr, "tb_loadgen: epoll_ctl MOD client %u: %s\n", c->idx, strerror(errno));
}

static void close_client(struct lg *lg, struct client *c, const char *why)
{
    if (c->state == CS_CLOSED)
        return;
    if (c->state < CS_READY) {
        lg->n_in_flight--;
        lg->n_failed++;
        if (lg->n_failed <= 10)
            fprintf(stderr, "tb_loadgen: client %u failed during setup: %s\n", c->idx, why);
    } else if (c->state == CS_READY) {
        lg->n_closed++;
        lg->ph.n_closed++;
        if (lg->n_closed <= 10)
            fprintf(stderr, "tb_loadgen: client %u closed: %s\n", c->idx, why);
    }
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->state = CS_CLOSED;
    free(c->rx);
    free(c->tx);
    free(c->msg);
    c->rx = c->tx = c->msg = NULL;
    c->rx_len = c->tx_len = c->msg_len = 0;
}

static int append(uint8_t **buf, size_t *len, const void *data, size_t n)
{
    uint8_t *grown = realloc(*buf, *len + n);
    if (!grown)
        return -ENOMEM;
    memcpy(grown + *len, data, n);
    *buf = grown;
    *len += n;
    return 0;
}

/* Writes what the socket takes and keeps the rest for EPOLLOUT. */
static void send_bytes(struct lg *lg, struct client *c, const void *data, size_t n)
{
    if (c->tx_len == 0) {
        ssize_t w = send(c->fd, data, n, MSG_NOSIGNAL);
        if (w == (ssize_t)n)
            return;
        if (w < 0 && errno != EAGAIN) {
            close_client(lg, c, strerror(errno));
            return;
        }
        size_t done = w < 0 ? 0 : (size_t)w;
        data = (const uint8_t *)data + done;
        n -= done;
        set_events(lg, c, EPOLLIN | EPOLLOUT);
    }
    if (append(&c->tx, &c->tx_len, data, n) < 0)
        close_client(lg, c, "out of memory");
}

static void flush_tx(struct lg *lg, struct client *c)
{
    ssize_t w = send(c->fd, c->tx, c->tx_len, MSG_NOSIGNAL);
    if (w < 0) {
        if (errno != EAGAIN)
            close_client(lg, c, strerror(errno));
        return;
    }
    memmove(c->tx, c->tx + w, c->tx_len - (size_t)w);
    c->tx_len -= (size_t)w;
    if (c->tx_len == 0)
        set_events(lg, c, EPOLLIN);
}

static void send_text(struct lg *lg, struct client *c, const char *text)
{
    uint8_t frame[512 + BENCH_WS_MAX_HEADER];
    size_t len = strlen(text);
    if (len > 512)
        return;
    size_t n = bench_ws_encode(BENCH_WS_TEXT, text, len, next_mask(lg), frame);
    send_bytes(lg, c, frame, n);
}

static void start_client(struct lg *lg, struct client *c)
{
    lg->n_in_flight++;
    c->state = CS_CONNECTING;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        close_client(lg, c, strerror(errno));
        return;
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(c->fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
    if (c->is_stalled && lg->o.stalled_rcvbuf > 0)
        setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &lg->o.stalled_rcvbuf,
                   sizeof lg->o.stalled_rcvbuf);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)lg->o.port)};
    inet_pton(AF_INET, lg->o.host, &addr.sin_addr);
    if (connect(c->fd, (struct sockaddr *)&addr, sizeof addr) < 0 && errno != EINPROGRESS) {
        close_client(lg, c, strerror(errno));
        return;
    }
    struct epoll_event ev = {.events = EPOLLOUT, .data.u32 = c->idx};
    if (epoll_ctl(lg->ep, EPOLL_CTL_ADD, c->fd, &ev) < 0)
        close_client(lg, c, strerror(errno));
}

static void on_connected(struct lg *lg, struct client *c)
{
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err) {
        close_client(lg, c, strerror(err ? err : errno));
        return;
    }
    char req[512];
    int n = bench_ws_upgrade_request(req, sizeof req, lg->o.host, lg->o.port, EIO_PATH);
    c->state = CS_UPGRADING;
    set_events(lg, c, EPOLLIN);
    send_bytes(lg, c, req, (size_t)n);
}

/* ------------------------------------------------------------ events */

/* Index of a trainer id in the intern table; UINT32_MAX when it is full. */
static uint32_t trainer_index(struct lg *lg, const char *name, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (uint8_t)name[i]) * 16777619u;
    for (uint32_t probe = 0; probe < MAX_TRAINERS; probe++) {
        uint32_t i = (h + probe) & (MAX_TRAINERS - 1);
        char *slot = lg->trainers[i];
        if (slot[0] == '\0') {
            if (lg->n_trainers >= MAX_TRAINERS / 2)
                return UINT32_MAX;
            memcpy(slot, name, len);
            slot[len] = '\0';
            lg->n_trainers++;
            return i;
        }
        if (strncmp(slot, name, len) == 0 && slot[len] == '\0')
            return i;
    }
    return UINT32_MAX;
}

/* Finds "key" in p[0..len) and returns where its value starts (after the
 * colon and blanks), or NULL. */
static const char *find_value(const char *p, size_t len, const char *key)
{
    size_t key_len = strlen(key);
    const char *k = memmem(p, len, key, key_len);
    if (!k)
        return NULL;
    const char *end = p + len;
    const char *v = k + key_len;
    while (v < end && (*v == ' ' || *v == ':'))
        v++;
    return v < end ? v : NULL;
}

static bool parse_int(const char *v, const char *end, int64_t *out)
{
    int64_t n = 0;
    const char *start = v;
    while (v < end && *v >= '0' && *v <= '9')
        n = n * 10 + (*v++ - '0');
    *out = n;
    return v > start;
}

/* The string value at v ("..." without escapes): its start and length. */
static bool parse_name(const char *v, const char *end, const char **name, size_t *len)
{
    if (v >= end || *v != '"')
        return false;
    const char *close = memchr(v + 1, '"', (size_t)(end - v - 1));
    if (!close || close - v - 1 > MAX_NAME)
        return false;
    *name = v + 1;
    *len = (size_t)(close - v - 1);
    return true;
}

struct meta {
    const char *scenario, *trainer;
    size_t scenario_len, trainer_len;
    int64_t seq, ts;
};

/* The last argument of 42["event",{payload},{meta}] is the flat meta object:
 * the text from the last '{' on. Works with and without blanks after ':'. */
static bool parse_meta(const char *p, size_t len, struct meta *m)
{
    const char *brace = memrchr(p, '{', len);
    if (!brace)
        return false;
    size_t n = len - (size_t)(brace - p);
    const char *end = brace + n;
    const char *v_sc = find_value(brace, n, "\"scenario_name\"");
    const char *v_tr = find_value(brace, n, "\"trainer\"");
    const char *v_seq = find_value(brace, n, "\"seq\"");
    const char *v_ts = find_value(brace, n, "\"ts\"");
    return v_sc && v_tr && v_seq && v_ts && parse_name(v_sc, end, &m->scenario, &m->scenario_len) &&
           parse_name(v_tr, end, &m->trainer, &m->trainer_len) && parse_int(v_seq, end, &m->seq) &&
           parse_int(v_ts, end, &m->ts);
}

/* Per-client, per-trainer sequence check: counts events lost in between. */
static void track_seq(struct lg *lg, struct client *c, const struct meta *m)
{
    uint32_t t = trainer_index(lg, m->trainer, m->trainer_len);
    if (t == UINT32_MAX) {
        lg->ph.n_untracked++;
        return;
    }
    uint64_t seq = (uint64_t)m->seq;
    for (uint8_t i = 0; i < c->n_seq; i++) {
        struct seq_slot *s = &c->seq[i];
        if (s->trainer != t)
            continue;
        if (seq > s->last_seq + 1)
            lg->ph.n_lost_gaps += seq - s->last_seq - 1;
        else if (seq <= s->last_seq)
            lg->ph.n_dups++;
        if (seq > s->last_seq)
            s->last_seq = seq;
        return;
    }
    if (c->n_seq == SEQ_SLOTS) {
        lg->ph.n_untracked++;
        return;
    }
    c->seq[c->n_seq++] = (struct seq_slot){.trainer = t, .last_seq = seq};
}

static void on_event(struct lg *lg, struct client *c, const char *p, size_t len, int64_t now_rt)
{
    if (c->state != CS_READY)
        return;
    struct phase *ph = &lg->ph;
    if (ph->n_events == 0) {
        ph->first_recv_us = now_rt;
        ph->mono_first_us = ph->mono_last_us = mono_us();
        ph->cpu_first_us = ph->cpu_last_us = cpu_used_us();
        ph->min_ts_us = INT64_MAX;
    }
    ph->n_events++;
    ph->per_scenario[c->scenario]++;
    ph->last_recv_us = now_rt;
    c->n_events++;
    struct meta m;
    if (!parse_meta(p, len, &m)) {
        ph->n_unparsed++;
        return;
    }
    bench_hist_add(&ph->hist, now_rt - m.ts);
    if (lg->rx_kernel_us)
        bench_hist_add(&ph->hist_socket, lg->rx_kernel_us - m.ts);
    if (now_rt - m.ts > lg->tick_max_lat_us)
        lg->tick_max_lat_us = now_rt - m.ts;
    lg->tick_events++;
    if (m.ts < ph->min_ts_us)
        ph->min_ts_us = m.ts;
    const char *want = lg->scenario_names[c->scenario];
    if (m.scenario_len != strlen(want) || memcmp(m.scenario, want, m.scenario_len) != 0)
        ph->n_wrong_room++;
    track_seq(lg, c, &m);
}

static void become_ready(struct lg *lg, struct client *c)
{
    lg->n_in_flight--;
    lg->n_ready++;
    c->was_ready = true;
    if (!c->is_stalled) {
        c->state = CS_READY;
        return;
    }
    c->state = CS_STALLED; /* stop reading: the server's writes pile up */
    epoll_ctl(lg->ep, EPOLL_CTL_DEL, c->fd, NULL);
}

/* One Socket.IO packet (the Engine.IO message's payload). */
static void on_sio(struct lg *lg, struct client *c, const char *p, size_t len, int64_t now_rt)
{
    char type = len ? p[0] : '?';
    if (type == '2') {
        on_event(lg, c, p, len, now_rt);
    } else if (type == '0' && c->state == CS_SIO_CONNECT) {
        char sub[160];
        snprintf(sub, sizeof sub, "421[\"subscribe_training\",{\"scenario_name\":\"%s\"}]",
                 lg->scenario_names[c->scenario]);
        c->state = CS_SUBSCRIBING;
        send_text(lg, c, sub);
    } else if (type == '3' && c->state == CS_SUBSCRIBING) {
        if (memmem(p, len, "\"ok\":true", 9) || memmem(p, len, "\"ok\": true", 10))
            become_ready(lg, c);
        else
            close_client(lg, c, "subscribe refused");
    } else if (type == '4' || type == '1') {
        close_client(lg, c, "Socket.IO CONNECT_ERROR or DISCONNECT");
    }
}

/* One Engine.IO packet (one WebSocket message). */
static void on_message(struct lg *lg, struct client *c, const uint8_t *data, size_t len,
                       int64_t now_rt)
{
    const char *p = (const char *)data;
    char type = len ? p[0] : '?';
    if (type == '4') {
        on_sio(lg, c, p + 1, len - 1, now_rt);
    } else if (type == '2') { /* ping: answer "3" with the same payload */
        char pong[64] = "3";
        snprintf(pong + 1, sizeof pong - 1, "%.*s", (int)(len - 1 < 60 ? len - 1 : 60), p + 1);
        send_text(lg, c, pong);
    } else if (type == '0' && c->state == CS_EIO_OPEN) {
        c->state = CS_SIO_CONNECT;
        send_text(lg, c, "40");
    } else if (type == '1') {
        close_client(lg, c, "Engine.IO close");
    }
}

/* One WebSocket frame; fragments are put together first. */
static void on_frame(struct lg *lg, struct client *c, const struct bench_ws_frame *f,
                     int64_t now_rt)
{
    if (f->opcode == BENCH_WS_PING) {
        uint8_t frame[125 + BENCH_WS_MAX_HEADER];
        size_t n = bench_ws_encode(BENCH_WS_PONG, f->payload, f->len > 125 ? 125 : f->len,
                                   next_mask(lg), frame);
        send_bytes(lg, c, frame, n);
        return;
    }
    if (f->opcode == BENCH_WS_CLOSE) {
        close_client(lg, c, "WebSocket close");
        return;
    }
    if (f->opcode == BENCH_WS_PONG)
        return;
    if (f->opcode != BENCH_WS_CONTINUATION && f->is_fin && c->msg_len == 0) {
        on_message(lg, c, f->payload, f->len, now_rt);
        return;
    }
    if (f->opcode != BENCH_WS_CONTINUATION)
        c->msg_opcode = f->opcode;
    if (c->msg_len + f->len > MAX_MESSAGE || append(&c->msg, &c->msg_len, f->payload, f->len) < 0) {
        close_client(lg, c, "message too large");
        return;
    }
    if (f->is_fin) {
        on_message(lg, c, c->msg, c->msg_len, now_rt);
        if (c->msg) {
            free(c->msg);
            c->msg = NULL;
            c->msg_len = 0;
        }
    }
}

static bool is_reading(const struct client *c)
{
    return c->state != CS_CLOSED && c->state != CS_STALLED;
}

/* Parses every whole frame in rbuf[0..len); keeps the rest in c->rx. */
static void parse_frames(struct lg *lg, struct client *c, size_t len)
{
    int64_t now_rt = clock_us(CLOCK_REALTIME);
    size_t off = 0;
    if (c->state == CS_UPGRADING) {
        int h = bench_ws_upgrade_response(lg->rbuf, len);
        if (h < 0) {
            close_client(lg, c, "upgrade refused");
            return;
        }
        if (h == 0)
            goto keep;
        off = (size_t)h;
        c->state = CS_EIO_OPEN;
    }
    while (off < len && is_reading(c)) {
        struct bench_ws_frame f;
        long n = bench_ws_parse(lg->rbuf + off, len - off, MAX_MESSAGE, &f);
        if (n < 0) {
            close_client(lg, c, n == -EMSGSIZE ? "frame too large" : "bad frame");
            return;
        }
        if (n == 0)
            break;
        on_frame(lg, c, &f, now_rt);
        off += (size_t)n;
    }
    if (!is_reading(c))
        return;
keep:
    free(c->rx);
    c->rx = NULL;
    c->rx_len = 0;
    if (off < len && append(&c->rx, &c->rx_len, lg->rbuf + off, len - off) < 0)
        close_client(lg, c, "out of memory");
}

static void on_readable(struct lg *lg, struct client *c)
{
    size_t have = c->rx_len;
    if (have)
        memcpy(lg->rbuf, c->rx, have);
    struct iovec iov = {.iov_base = lg->rbuf + have, .iov_len = READ_CHUNK};
    union {
        char buf[CMSG_SPACE(sizeof(struct timespec))];
        struct cmsghdr align;
    } control;
    struct msghdr msg = {.msg_iov = &iov,
                         .msg_iovlen = 1,
                         .msg_control = control.buf,
                         .msg_controllen = sizeof control.buf};
    ssize_t n = recvmsg(c->fd, &msg, 0);
    lg->rx_kernel_us = 0;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); n > 0 && cm; cm = CMSG_NXTHDR(&msg, cm)) {
        if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPNS) {
            struct timespec ts;
            memcpy(&ts, CMSG_DATA(cm), sizeof ts);
            lg->rx_kernel_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
        }
    }
    if (n == 0) {
        close_client(lg, c, "closed by the server");
        return;
    }
    if (n < 0) {
        if (errno != EAGAIN && errno != EINTR)
            close_client(lg, c, strerror(errno));
        return;
    }
    parse_frames(lg, c, have + (size_t)n);
}

static void on_client_event(struct lg *lg, struct client *c, uint32_t events)
{
    if (c->state == CS_CONNECTING) {
        on_connected(lg, c);
        return;
    }
    if ((events & EPOLLOUT) && c->tx_len)
        flush_tx(lg, c);
    if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && is_reading(c))
        on_readable(lg, c);
}

/* ------------------------------------------------------------ phases */

static void print_hist(const struct bench_hist *h)
{
    printf("{\"n\":%" PRIu64 ",\"mean\":%.1f,\"p50\":%" PRId64 ",\"p90\":%" PRId64
           ",\"p99\":%" PRId64 ",\"p999\":%" PRId64 ",\"max\":%" PRId64 "}",
           h->n, bench_hist_mean(h), bench_hist_quantile(h, 0.5), bench_hist_quantile(h, 0.9),
           bench_hist_quantile(h, 0.99), bench_hist_quantile(h, 0.999), h->max_us);
}

static void print_phase(struct lg *lg)
{
    struct phase *ph = &lg->ph;
    uint64_t min_c = UINT64_MAX, max_c = 0;
    uint32_t n_open = 0;
    uint64_t *members = calloc(lg->o.n_scenarios, sizeof *members);
    for (uint32_t i = 0; i < lg->o.n_clients; i++) {
        struct client *c = &lg->clients[i];
        if (c->is_stalled || !c->was_ready)
            continue;
        if (members)
            members[c->scenario]++;
        n_open += c->state == CS_READY;
        min_c = c->n_events < min_c ? c->n_events : min_c;
        max_c = c->n_events > max_c ? c->n_events : max_c;
    }
    int64_t span = ph->mono_last_us - ph->mono_first_us;
    double cpu_pct =
        span > 0 ? 100.0 * (double)(ph->cpu_last_us - ph->cpu_first_us) / (double)span : 0;
    printf("{\"phase\":%d,\"events\":%" PRIu64 ",\"per_scenario\":[", ph->index, ph->n_events);
    for (uint32_t s = 0; s < lg->o.n_scenarios; s++)
        printf("%s%" PRIu64, s ? "," : "", ph->per_scenario[s]);
    printf("],\"members\":[");
    for (uint32_t s = 0; s < lg->o.n_scenarios; s++)
        printf("%s%" PRIu64, s ? "," : "", members ? members[s] : 0);
    printf("],\"lat_us\":");
    print_hist(&ph->hist);
    printf(",\"lat_socket_us\":");
    print_hist(&ph->hist_socket);
    printf(",\"lost_gaps\":%" PRIu64 ",\"dups\":%" PRIu64 ",\"wrong_room\":%" PRIu64
           ",\"unparsed\":%" PRIu64 ",\"untracked\":%" PRIu64 ",\"closed\":%" PRIu64
           ",\"open\":%u,\"per_client_min\":%" PRIu64 ",\"per_client_max\":%" PRIu64,
           ph->n_lost_gaps, ph->n_dups, ph->n_wrong_room, ph->n_unparsed, ph->n_untracked,
           ph->n_closed, n_open, min_c == UINT64_MAX ? 0 : min_c, max_c);
    printf(",\"first_recv_us\":%" PRId64 ",\"last_recv_us\":%" PRId64 ",\"min_ts_us\":%" PRId64
           ",\"cpu_pct\":%.1f,\"cpu_peak_1s_pct\":%.1f,\"saturated\":%s}\n",
           ph->first_recv_us, ph->last_recv_us, ph->n_events ? ph->min_ts_us : 0, cpu_pct,
           ph->peak_cpu_pct,
           (cpu_pct >= SATURATED_PCT || ph->peak_cpu_pct >= SATURATED_PCT) ? "true" : "false");
    fflush(stdout);
    free(members);
}

static void reset_phase(struct lg *lg)
{
    struct phase *ph = &lg->ph;
    uint64_t *per_scenario = ph->per_scenario;
    int index = ph->index;
    memset(ph, 0, sizeof *ph);
    memset(per_scenario, 0, lg->o.n_scenarios * sizeof *per_scenario);
    ph->per_scenario = per_scenario;
    ph->index = index + 1;
    for (uint32_t i = 0; i < lg->o.n_clients; i++) {
        lg->clients[i].n_events = 0;
        lg->clients[i].n_seq = 0;
    }
    memset(lg->trainers, 0, sizeof lg->trainers);
    lg->n_trainers = 0;
}

/* Ends the phase once events stopped for idle_ms after the request (or
 * drain_ms passed). */
static void maybe_end_phase(struct lg *lg, int64_t now)
{
    struct phase *ph = &lg->ph;
    if (!ph->is_ending)
        return;
    int64_t quiet_since = ph->end_requested_us;
    if (ph->n_events && ph->mono_last_us > quiet_since)
        quiet_since = ph->mono_last_us;
    if (now - quiet_since < (int64_t)lg->o.idle_ms * 1000 &&
        now - ph->end_requested_us < (int64_t)lg->o.drain_ms * 1000)
        return;
    print_phase(lg);
    reset_phase(lg);
}

/* Every TICK_US: CPU figures of the phase (last time events flowed, and the
 * busiest one-second window while they did). */
/* --timeline: one stderr line per tick with events, worst latency and CPU. */
static void print_timeline(struct lg *lg, int64_t now)
{
    static int64_t last_cpu_us, last_us;
    int64_t cpu = cpu_used_us();
    if (lg->tick_events)
        fprintf(stderr,
                "timeline t_ms=%" PRId64 " events=%" PRIu64 " max_lat_us=%" PRId64
                " cpu_pct=%.0f\n",
                clock_us(CLOCK_REALTIME) / 1000, lg->tick_events, lg->tick_max_lat_us,
                last_us ? 100.0 * (double)(cpu - last_cpu_us) / (double)(now - last_us) : 0.0);
    last_cpu_us = cpu;
    last_us = now;
    lg->tick_events = 0;
    lg->tick_max_lat_us = 0;
}

static void sample_cpu(struct lg *lg, int64_t now)
{
    struct phase *ph = &lg->ph;
    int64_t cpu = cpu_used_us();
    if (ph->n_events != ph->n_events_at_tick) {
        ph->n_events_at_tick = ph->n_events;
        ph->mono_last_us = now;
        ph->cpu_last_us = cpu;
    }
    if (now - lg->win_start_us < CPU_WINDOW_US)
        return;
    double pct = 100.0 * (double)(cpu - lg->win_start_cpu_us) / (double)(now - lg->win_start_us);
    if (ph->n_events > lg->win_start_events && pct > ph->peak_cpu_pct)
        ph->peak_cpu_pct = pct;
    lg->win_start_us = now;
    lg->win_start_cpu_us = cpu;
    lg->win_start_events = ph->n_events;
}

/* ------------------------------------------------------------ setup */

static void start_more(struct lg *lg)
{
    while (lg->n_started < lg->o.n_clients && lg->n_in_flight < lg->o.concurrency)
        start_client(lg, &lg->clients[lg->n_started++]);
}

static void check_setup(struct lg *lg, int64_t now)
{
    if (lg->is_ready_reported)
        return;
    bool is_late = now - lg->setup_start_us > (int64_t)lg->o.setup_timeout_s * 1000000;
    if (is_late) {
        lg->n_started = lg->o.n_clients; /* start no more */
        for (uint32_t i = 0; i < lg->o.n_clients; i++) {
            struct client *c = &lg->clients[i];
            if (c->state < CS_READY && c->state != CS_WAITING)
                close_client(lg, c, "setup timeout");
            else if (c->state == CS_WAITING) {
                c->state = CS_CLOSED;
                lg->n_failed++;
            }
        }
    }
    if (lg->n_ready + lg->n_failed < lg->o.n_clients)
        return;
    printf("{\"ready\":true,\"clients\":%u,\"subscribed\":%u,\"failed\":%u,\"stalled\":%u,"
           "\"setup_s\":%.3f}\n",
           lg->o.n_clients, lg->n_ready, lg->n_failed, lg->o.n_stalled,
           (double)(now - lg->setup_start_us) / 1e6);
    fflush(stdout);
    lg->is_ready_reported = true;
    lg->win_start_us = now;
    lg->win_start_cpu_us = cpu_used_us();
}

static void on_signal(struct lg *lg)
{
    struct signalfd_siginfo si;
    while (read(lg->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGUSR1 && !lg->ph.is_ending) {
            lg->ph.is_ending = true;
            lg->ph.end_requested_us = mono_us();
        } else if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
            lg->is_exiting = true;
        }
    }
}

static int run(struct lg *lg)
{
    struct epoll_event events[MAX_EPOLL_EVENTS];
    lg->setup_start_us = mono_us();
    start_more(lg);
    while (!lg->is_exiting) {
        int n = epoll_wait(lg->ep, events, MAX_EPOLL_EVENTS, TICK_US / 1000);
        if (n < 0 && errno != EINTR) {
            perror("tb_loadgen: epoll_wait");
            return 1;
        }
        for (int i = 0; i < n; i++) {
            if (events[i].data.u32 == SIGNAL_TAG)
                on_signal(lg);
            else
                on_client_event(lg, &lg->clients[events[i].data.u32], events[i].events);
        }
        start_more(lg);
        int64_t now = mono_us();
        if (now >= lg->next_tick_us) {
            lg->next_tick_us = now + TICK_US;
            check_setup(lg, now);
            sample_cpu(lg, now);
            if (lg->o.is_timeline)
                print_timeline(lg, now);
            maybe_end_phase(lg, now);
        }
    }
    if (lg->ph.n_events || lg->ph.is_ending)
        print_phase(lg);
    return 0;
}

/* ------------------------------------------------------------ main */

static void usage(FILE *out)
{
    fprintf(out,
            "usage: tb_loadgen --port P [options]\n"
            "  --host ADDR             server address (default 127.0.0.1)\n"
            "  --port P                server port (required)\n"
            "  --clients N             WebSocket clients (default 100)\n"
            "  --scenarios S           client i subscribes to <prefix>(i mod S) (default 1)\n"
            "  --prefix NAME           scenario name prefix (default s)\n"
            "  --concurrency C         clients being set up at once (default 200)\n"
            "  --stalled K             clients 0..K-1 stop reading once subscribed (default 0)\n"
            "  --stalled-rcvbuf BYTES  SO_RCVBUF of stalled clients (default 4096; 0 = system)\n"
            "  --idle-ms MS            a phase ends this long after the last event (default 500)\n"
            "  --drain-ms MS           ... or this long after SIGUSR1 (default 10000)\n"
            "  --setup-timeout-s S     give up on clients not subscribed by then (default 120)\n"
            "  --timeline              print events and worst latency per 50 ms on stderr\n"
            "Prints {\"ready\":...} when all are subscribed, one JSON line per phase\n"
            "(SIGUSR1 ends a phase), and exits on SIGTERM/SIGINT.\n");
}

static int parse_args(int argc, char **argv, struct lg_opts *o)
{
    *o = (struct lg_opts){.host = "127.0.0.1",
                          .n_clients = 100,
                          .n_scenarios = 1,
                          .prefix = "s",
                          .concurrency = 200,
                          .stalled_rcvbuf = 4096,
                          .idle_ms = 500,
                          .drain_ms = 10000,
                          .setup_timeout_s = 120};
    static const struct option longs[] = {{"host", 1, 0, 'h'},
                                          {"port", 1, 0, 'p'},
                                          {"clients", 1, 0, 'n'},
                                          {"scenarios", 1, 0, 's'},
                                          {"prefix", 1, 0, 'x'},
                                          {"concurrency", 1, 0, 'c'},
                                          {"stalled", 1, 0, 'k'},
                                          {"stalled-rcvbuf", 1, 0, 'r'},
                                          {"idle-ms", 1, 0, 'i'},
                                          {"drain-ms", 1, 0, 'd'},
                                          {"setup-timeout-s", 1, 0, 't'},
                                          {"timeline", 0, 0, 'T'},
                                          {"help", 0, 0, 'H'},
                                          {0, 0, 0, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        long v = optarg ? strtol(optarg, NULL, 10) : 0;
        switch (ch) {
        case 'h':
            o->host = optarg;
            break;
        case 'p':
            o->port = (int)v;
            break;
        case 'n':
            o->n_clients = (uint32_t)v;
            break;
        case 's':
            o->n_scenarios = (uint32_t)v;
            break;
        case 'x':
            o->prefix = optarg;
            break;
        case 'c':
            o->concurrency = (uint32_t)v;
            break;
        case 'k':
            o->n_stalled = (uint32_t)v;
            break;
        case 'r':
            o->stalled_rcvbuf = (int)v;
            break;
        case 'i':
            o->idle_ms = (int)v;
            break;
        case 'd':
            o->drain_ms = (int)v;
            break;
        case 't':
            o->setup_timeout_s = (int)v;
            break;
        case 'T':
            o->is_timeline = true;
            break;
        case 'H':
            usage(stdout);
            exit(0);
        default:
            return -1;
        }
    }
    bool is_bad = o->port <= 0 || o->port > 65535 || o->n_clients == 0 || o->n_scenarios == 0 ||
                  o->n_scenarios > 65535 || o->concurrency == 0 || o->n_stalled > o->n_clients ||
                  strlen(o->prefix) > 32 || optind != argc;
    return is_bad ? -1 : 0;
}

/* Raises RLIMIT_NOFILE far enough for the clients, up to the hard limit. */
static int raise_fd_limit(uint32_t n_clients)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return -errno;
    rlim_t need = (rlim_t)n_clients + FD_MARGIN;
    if (rl.rlim_cur >= need)
        return 0;
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
        fprintf(stderr, "tb_loadgen: %u clients need %lu descriptors; the hard limit is %lu\n",
                n_clients, (unsigned long)need, (unsigned long)rl.rlim_max);
        return -EMFILE;
    }
    rl.rlim_cur = need;
    return setrlimit(RLIMIT_NOFILE, &rl) < 0 ? -errno : 0;
}

static int setup(struct lg *lg)
{
    const struct lg_opts *o = &lg->o;
    lg->clients = calloc(o->n_clients, sizeof *lg->clients);
    lg->scenario_names = calloc(o->n_scenarios, sizeof *lg->scenario_names);
    lg->ph.per_scenario = calloc(o->n_scenarios, sizeof *lg->ph.per_scenario);
    lg->rbuf = malloc(MAX_MESSAGE + BENCH_WS_MAX_HEADER + READ_CHUNK);
    if (!lg->clients || !lg->scenario_names || !lg->ph.per_scenario || !lg->rbuf)
        return -ENOMEM;
    for (uint32_t s = 0; s < o->n_scenarios; s++)
        snprintf(lg->scenario_names[s], MAX_NAME + 1, "%s%u", o->prefix, s);
    for (uint32_t i = 0; i < o->n_clients; i++) {
        lg->clients[i] = (struct client){.fd = -1,
                                         .idx = i,
                                         .scenario = (uint16_t)(i % o->n_scenarios),
                                         .is_stalled = i < o->n_stalled};
    }
    lg->rng = 0x9E3779B97F4A7C15ULL ^ (uint64_t)getpid();
    lg->ep = epoll_create1(EPOLL_CLOEXEC);
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGUSR1);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    lg->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (lg->ep < 0 || lg->sigfd < 0)
        return -errno;
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = SIGNAL_TAG};
    return epoll_ctl(lg->ep, EPOLL_CTL_ADD, lg->sigfd, &ev) < 0 ? -errno : 0;
}

/* Closes with a reset so that thousands of runs leave no TIME_WAIT behind. */
static void teardown(struct lg *lg)
{
    struct linger lin = {.l_onoff = 1, .l_linger = 0};
    for (uint32_t i = 0; i < lg->o.n_clients; i++) {
        struct client *c = &lg->clients[i];
        if (c->fd >= 0)
            setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lin, sizeof lin);
        c->state = c->state == CS_CLOSED ? CS_CLOSED : CS_STALLED; /* no counting on the way out */
        if (c->fd >= 0)
            close(c->fd);
        free(c->rx);
        free(c->tx);
        free(c->msg);
    }
    free(lg->clients);
    free(lg->scenario_names);
    free(lg->ph.per_scenario);
    free(lg->rbuf);
}

int main(int argc, char **argv)
{
    static struct lg lg; /* large (the trainer table): not on the stack */
    if (parse_args(argc, argv, &lg.o) < 0) {
        usage(stderr);
        return EXIT_USAGE;
    }
    signal(SIGPIPE, SIG_IGN);
    if (raise_fd_limit(lg.o.n_clients) < 0)
        return 1;
    int rc = setup(&lg);
    if (rc < 0) {
        fprintf(stderr, "tb_loadgen: setup failed: %s\n", strerror(-rc));
        return 1;
    }
    rc = run(&lg);
    teardown(&lg);
    return rc;
}
