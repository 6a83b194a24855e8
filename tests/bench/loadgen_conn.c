/* loadgen_conn: one load-generator client's connection. The socket
 * (non-blocking connect, writes that keep what the socket did not take), the
 * HTTP upgrade and WebSocket frames, the Engine.IO / Socket.IO handshake up
 * to the subscribe ack, pongs, and every event counted into the current
 * phase: latency from the meta's "ts", per-trainer sequence gaps. */
#include "loadgen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define EIO_PATH "/socket.io/?EIO=4&transport=websocket"

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

void loadgen_conn_close(struct lg *lg, struct client *c, const char *why)
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
            loadgen_conn_close(lg, c, strerror(errno));
            return;
        }
        size_t done = w < 0 ? 0 : (size_t)w;
        data = (const uint8_t *)data + done;
        n -= done;
        set_events(lg, c, EPOLLIN | EPOLLOUT);
    }
    if (append(&c->tx, &c->tx_len, data, n) < 0)
        loadgen_conn_close(lg, c, "out of memory");
}

static void flush_tx(struct lg *lg, struct client *c)
{
    ssize_t w = send(c->fd, c->tx, c->tx_len, MSG_NOSIGNAL);
    if (w < 0) {
        if (errno != EAGAIN)
            loadgen_conn_close(lg, c, strerror(errno));
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

/* With --source-addrs N, client i connects from 127.0.0.(2 + i mod N), so
 * that more than one address's ~28,000 ephemeral ports are available. */
static int bind_source(const struct lg *lg, const struct client *c)
{
    if (lg->o.n_source_addrs == 0)
        return 0;
    struct sockaddr_in src = {.sin_family = AF_INET};
    src.sin_addr.s_addr = htonl(0x7f000002u + c->idx % lg->o.n_source_addrs);
    int one = 1;
    setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    return bind(c->fd, (struct sockaddr *)&src, sizeof src);
}

void loadgen_conn_start(struct lg *lg, struct client *c)
{
    lg->n_in_flight++;
    c->state = CS_CONNECTING;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        loadgen_conn_close(lg, c, strerror(errno));
        return;
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(c->fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
    if (c->is_stalled && lg->o.stalled_rcvbuf > 0)
        setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &lg->o.stalled_rcvbuf,
                   sizeof lg->o.stalled_rcvbuf);
    if (bind_source(lg, c) < 0) {
        loadgen_conn_close(lg, c, strerror(errno));
        return;
    }
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)lg->o.port)};
    inet_pton(AF_INET, lg->o.host, &addr.sin_addr);
    if (connect(c->fd, (struct sockaddr *)&addr, sizeof addr) < 0 && errno != EINPROGRESS) {
        loadgen_conn_close(lg, c, strerror(errno));
        return;
    }
    struct epoll_event ev = {.events = EPOLLOUT, .data.u32 = c->idx};
    if (epoll_ctl(lg->ep, EPOLL_CTL_ADD, c->fd, &ev) < 0)
        loadgen_conn_close(lg, c, strerror(errno));
}

static void on_connected(struct lg *lg, struct client *c)
{
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err) {
        loadgen_conn_close(lg, c, strerror(err ? err : errno));
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
    char type = '?';
    if (len)
        type = p[0];
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
            loadgen_conn_close(lg, c, "subscribe refused");
    } else if (type == '4' || type == '1') {
        loadgen_conn_close(lg, c, "Socket.IO CONNECT_ERROR or DISCONNECT");
    }
}

/* One Engine.IO packet (one WebSocket message). */
static void on_message(struct lg *lg, struct client *c, const uint8_t *data, size_t len,
                       int64_t now_rt)
{
    const char *p = (const char *)data;
    char type = '?';
    if (len)
        type = p[0];
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
        loadgen_conn_close(lg, c, "Engine.IO close");
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
        loadgen_conn_close(lg, c, "WebSocket close");
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
        loadgen_conn_close(lg, c, "message too large");
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
            loadgen_conn_close(lg, c, "upgrade refused");
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
            loadgen_conn_close(lg, c, n == -EMSGSIZE ? "frame too large" : "bad frame");
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
        loadgen_conn_close(lg, c, "out of memory");
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
        loadgen_conn_close(lg, c, "closed by the server");
        return;
    }
    if (n < 0) {
        if (errno != EAGAIN && errno != EINTR)
            loadgen_conn_close(lg, c, strerror(errno));
        return;
    }
    parse_frames(lg, c, have + (size_t)n);
}

void loadgen_conn_on_events(struct lg *lg, struct client *c, uint32_t events)
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
