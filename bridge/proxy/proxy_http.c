#include "proxy_http.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include "log.h"
#include "xalloc.h"

#define REQUEST_MAX 2048
#define PATH_MAX_LEN 256
#define HEAD_MAX 256
#define LISTEN_BACKLOG 32
#define TEXT_PLAIN "text/plain; charset=utf-8"

enum conn_state { CONN_FREE, CONN_READING, CONN_WRITING };

/* One client connection: the request as read so far, then the answer. */
struct conn {
    int fd;
    enum conn_state state;
    long long deadline_ms;
    size_t in_len;
    char in[REQUEST_MAX];
    size_t out_len, out_off;
    char out[HEAD_MAX + PROXY_HTTP_BODY_MAX];
};

struct proxy_http {
    int listen_fd;
    int port;
    struct proxy_http_stats stats;
    struct conn conns[PROXY_HTTP_MAX_CONNS];
    char body[PROXY_HTTP_BODY_MAX];
};

static const char *status_text(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 431:
        return "Request Header Fields Too Large";
    case 503:
        return "Service Unavailable";
    default:
        return "Unknown";
    }
}

static void close_conn(struct conn *c)
{
    if (c->state == CONN_FREE)
        return;
    close(c->fd);
    c->fd = -1;
    c->state = CONN_FREE;
}

static int listen_on(const char *host, int port)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    char port_text[8];
    snprintf(port_text, sizeof port_text, "%d", port);
    int rc = getaddrinfo(host, port_text, &hints, &res);
    if (rc != 0) {
        log_error("http", "cannot resolve %s: %s", host, gai_strerror(rc));
        return -1;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, LISTEN_BACKLOG) < 0) {
        log_error("http", "cannot listen on %s:%d: %s", host, port, strerror(errno));
        if (fd >= 0)
            close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    return fd;
}

static int bound_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
        return -1;
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/* Formats the whole answer into c->out and switches to writing. */
static void set_answer(struct conn *c, int status, const char *content_type, const char *body,
                       bool is_head)
{
    size_t body_len = strlen(body);
    int n = snprintf(c->out, HEAD_MAX,
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Cache-Control: no-store\r\nConnection: close\r\n\r\n",
                     status, status_text(status), content_type, body_len);
    c->out_len = n > 0 && n < HEAD_MAX ? (size_t)n : 0;
    if (!is_head) {
        memcpy(c->out + c->out_len, body, body_len);
        c->out_len += body_len;
    }
    c->out_off = 0;
    c->state = CONN_WRITING;
}

/* Parses "METHOD SP /path[?query] SP HTTP/x" and asks route for the body. */
static void answer_request(struct proxy_http *h, struct conn *c, proxy_http_route_fn *route,
                           void *arg)
{
    char method[8], target[PATH_MAX_LEN];
    if (sscanf(c->in, "%7s %255s HTTP/", method, target) != 2 || target[0] != '/') {
        h->stats.n_bad++;
        set_answer(c, 400, TEXT_PLAIN, "bad request\n", false);
        return;
    }
    bool is_head = strcmp(method, "HEAD") == 0;
    if (!is_head && strcmp(method, "GET") != 0) {
        set_answer(c, 405, TEXT_PLAIN, "only GET and HEAD\n", false);
        return;
    }
    target[strcspn(target, "?#")] = '\0';
    const char *content_type = TEXT_PLAIN;
    h->body[0] = '\0';
    h->stats.n_requests++;
    int status = route(target, h->body, sizeof h->body, &content_type, arg);
    h->body[sizeof h->body - 1] = '\0';
    set_answer(c, status, content_type, h->body, is_head);
}

/* Reads and drops what the peer sent beyond the request, so that closing
 * sends a FIN rather than a reset that could destroy the answer in flight. */
static void discard_input(int fd)
{
    char sink[4096];
    for (int i = 0; i < 16; i++) {
        if (recv(fd, sink, sizeof sink, 0) <= 0)
            return;
    }
}

static void on_writable(struct conn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            return;
        if (n <= 0) {
            close_conn(c);
            return;
        }
        c->out_off += (size_t)n;
    }
    discard_input(c->fd);
    close_conn(c);
}

static void on_readable(struct proxy_http *h, struct conn *c, proxy_http_route_fn *route, void *arg)
{
    ssize_t n = recv(c->fd, c->in + c->in_len, sizeof c->in - 1 - c->in_len, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n <= 0) { /* closed or failed before a whole request */
        close_conn(c);
        return;
    }
    c->in_len += (size_t)n;
    c->in[c->in_len] = '\0';
    if (strstr(c->in, "\r\n\r\n") || strstr(c->in, "\n\n")) {
        answer_request(h, c, route, arg);
        on_writable(c);
    } else if (c->in_len >= sizeof c->in - 1) {
        h->stats.n_bad++;
        set_answer(c, 431, TEXT_PLAIN, "request too large\n", false);
        on_writable(c);
    }
}

/* A free slot, or else the slot of the oldest connection, closed: idle or
 * slow peers can delay /healthz by one connection's worth, never lock it. */
static struct conn *take_slot(struct proxy_http *h)
{
    struct conn *oldest = &h->conns[0];
    for (size_t i = 0; i < PROXY_HTTP_MAX_CONNS; i++) {
        if (h->conns[i].state == CONN_FREE)
            return &h->conns[i];
        if (h->conns[i].deadline_ms < oldest->deadline_ms)
            oldest = &h->conns[i];
    }
    h->stats.n_evicted++;
    LOG_LIMITED_(LOG_LEVEL_WARN, "http", "%d connections open: closing the oldest",
                 PROXY_HTTP_MAX_CONNS);
    close_conn(oldest);
    return oldest;
}

static void accept_all(struct proxy_http *h, long long now_ms)
{
    for (;;) {
        int fd = accept(h->listen_fd, NULL, NULL);
        if (fd >= 0 && (fcntl(fd, F_SETFL, O_NONBLOCK) < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)) {
            close(fd);
            continue;
        }
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                LOG_LIMITED_(LOG_LEVEL_WARN, "http", "accept: %s", strerror(errno));
            return;
        }
        struct conn *c = take_slot(h);
        c->fd = fd;
        c->state = CONN_READING;
        c->deadline_ms = now_ms + PROXY_HTTP_DEADLINE_MS;
        c->in_len = 0;
        c->out_len = c->out_off = 0;
    }
}

static struct conn *conn_by_fd(struct proxy_http *h, int fd)
{
    for (size_t i = 0; i < PROXY_HTTP_MAX_CONNS; i++) {
        if (h->conns[i].state != CONN_FREE && h->conns[i].fd == fd)
            return &h->conns[i];
    }
    return NULL;
}

struct proxy_http *proxy_http_new(const char *host, int port)
{
    int fd = listen_on(host, port);
    if (fd < 0)
        return NULL;
    struct proxy_http *h = xcalloc(1, sizeof *h);
    h->listen_fd = fd;
    h->port = bound_port(fd);
    for (size_t i = 0; i < PROXY_HTTP_MAX_CONNS; i++)
        h->conns[i].fd = -1;
    return h;
}

void proxy_http_destroy(struct proxy_http **h_p)
{
    struct proxy_http *h = h_p ? *h_p : NULL;
    if (!h)
        return;
    for (size_t i = 0; i < PROXY_HTTP_MAX_CONNS; i++)
        close_conn(&h->conns[i]);
    close(h->listen_fd);
    free(h);
    *h_p = NULL;
}

int proxy_http_port(const struct proxy_http *h)
{
    return h->port;
}

size_t proxy_http_fill_poll(const struct proxy_http *h, zmq_pollitem_t *items, size_t cap)
{
    size_t n = 0;
    if (cap == 0)
        return 0;
    items[n++] = (zmq_pollitem_t){.socket = NULL, .fd = h->listen_fd, .events = ZMQ_POLLIN};
    for (size_t i = 0; i < PROXY_HTTP_MAX_CONNS && n < cap; i++) {
        const struct conn *c = &h->conns[i];
        if (c->state == CONN_FREE)
            continue;
        short events = c->state == CONN_READING ? ZMQ_POLLIN : ZMQ_POLLOUT;
        items[n++] = (zmq_pollitem_t){.socket = NULL, .fd = c->fd, .events = events};
    }
    return n;
}

void proxy_http_handle(struct proxy_http *h, const zmq_pollitem_t *items, size_t n_items,
                       long long now_ms, proxy_http_route_fn *route, void *arg)
{
    bool is_listener_ready = false;
    for (size_t i = 0; i < n_items; i++) {
        if (items[i].revents == 0)
            continue;
        if (items[i].fd == h->listen_fd) {
            is_listener_ready = true;
            continue;
        }
        struct conn *c = conn_by_fd(h, items[i].fd);
        if (c && c->state == CONN_READING)
            on_readable(h, c, route, arg);
        else if (c && c->state == CONN_WRITING)
            on_writable(c);
    }
    if (is_listener_ready)
        accept_all(h, now_ms);
    for (size_t i = 0; i < PROXY_HTTP_MAX_CONNS; i++) {
        struct conn *c = &h->conns[i];
        if (c->state != CONN_FREE && now_ms > c->deadline_ms) {
            h->stats.n_bad++;
            close_conn(c);
        }
    }
}

const struct proxy_http_stats *proxy_http_stats(const struct proxy_http *h)
{
    return &h->stats;
}
