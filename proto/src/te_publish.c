/* te_publish: the trainer-side publisher (struct te_publisher).
 *
 * Owns one czmq XPUB socket, the trainer id it stamps and the sequence
 * counter. XPUB rather than PUB so that the publisher sees its subscribers'
 * subscription messages (ZMQ_XPUB_VERBOSE passes every one of them, also
 * repeats and those a proxy forwards upstream): that is what the slow-joiner
 * guard waits for before the first event leaves, so that training_started is
 * not lost to a connection that is still being set up.
 *
 * Readiness is counted in subscription messages, not in peers (an XPUB cannot
 * tell peers apart): the guard waits for max(1, number of connect endpoints)
 * of them. One subscriber with several topics can therefore satisfy a
 * publisher that connects to several endpoints; any topic counts, also one
 * that does not match the scenario being sent.
 *
 * Heartbeats (te_pulse.c): while a run is active, a background thread sends
 * its heartbeats on the same socket. ZeroMQ sockets are not thread-safe, so
 * one mutex guards the socket and every field below that either thread
 * touches: te_publisher_send and te_publisher_wait_ready hold it for their
 * whole call (a mutex hand-over is the full memory barrier libzmq asks for
 * when a socket changes threads), and the timer thread holds it for each
 * round of heartbeats. The application may call the publisher from any one
 * thread at a time, as before; it never sees the timer thread. */
#include "trainevents.h"

#include "te_internal.h"
#include "te_pulse.h"

#include <czmq.h>
#include <pthread.h>
#include <stdatomic.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_SNDHWM 10000
#define LINGER_MS 2000
#define ENDPOINTS_TEXT_LEN 120 /* for error messages; longer lists are cut */
#define SUBSCRIBE_BYTE 0x01

struct te_publisher {
    zsock_t *sock;
    char trainer[TE_MAX_NAME_LEN + 1];
    char endpoints_text[ENDPOINTS_TEXT_LEN + 1];
    size_t n_connects;        /* endpoints we connect to (not bind) */
    uint64_t n_subscriptions; /* subscribe messages seen so far */
    int ready_timeout_ms;     /* from opts; negative = never wait */
    bool is_ready_checked;    /* the slow-joiner wait has run */
    _Atomic uint64_t seq;     /* last seq stamped; 0 before the first send */
    pthread_mutex_t lock;     /* the socket and the fields above; see the top */
    bool has_lock;
    int64_t heartbeat_interval_ms; /* 0: heartbeats off */
    struct te_pulse pulse;         /* the heartbeat timer (its thread) */
    atomic_uint_fast64_t n_heartbeats;
};

static bool is_name_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == ':' || c == '-';
}

/* "<hostname>-<pid>" in the name charset, at most TE_MAX_NAME_LEN bytes; the
 * host part is cut so that the pid always survives. */
static void pick_default_trainer(char out[TE_MAX_NAME_LEN + 1])
{
    char host[256] = "";
    if (gethostname(host, sizeof host - 1) != 0 || host[0] == '\0')
        snprintf(host, sizeof host, "trainer");
    char suffix[24];
    int suffix_len = snprintf(suffix, sizeof suffix, "-%ld", (long)getpid());
    size_t host_max = TE_MAX_NAME_LEN - (size_t)suffix_len;
    size_t n = strnlen(host, host_max);
    for (size_t i = 0; i < n; i++)
        out[i] = (char)(is_name_char(host[i]) ? host[i] : '_');
    if (out[0] == '.')
        out[0] = '_';
    memcpy(out + n, suffix, (size_t)suffix_len + 1);
}

static int copy_trainer(struct te_publisher *p, const char *trainer, struct te_error *err)
{
    if (!trainer) {
        pick_default_trainer(p->trainer);
        return 0;
    }
    size_t len = strlen(trainer);
    if (len > TE_MAX_NAME_LEN) {
        te_err_set(err, TE_E_TOO_LONG, "trainer", "%zu bytes, at most %d allowed", len,
                   TE_MAX_NAME_LEN);
        return -EINVAL;
    }
    if (!te_name_valid(trainer, len)) {
        te_err_set(err, TE_E_CHARSET, "trainer",
                   "'%s' is not 1..64 bytes of [A-Za-z0-9._:-] not starting with '.'", trainer);
        return -EINVAL;
    }
    memcpy(p->trainer, trainer, len + 1);
    return 0;
}

/* czmq would install its own SIGINT/SIGTERM handlers when it initialises;
 * a library must leave the application's handlers alone. */
static zsock_t *new_xpub_keeping_signals(void)
{
    struct sigaction old_int, old_term;
    sigaction(SIGINT, NULL, &old_int);
    sigaction(SIGTERM, NULL, &old_term);
    zsock_t *sock = zsock_new(ZMQ_XPUB);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    return sock;
}

static void append_endpoint_text(struct te_publisher *p, const char *ep)
{
    size_t used = strlen(p->endpoints_text);
    snprintf(p->endpoints_text + used, sizeof p->endpoints_text - used, "%s%s", used ? "," : "",
             ep);
}

/* Attaches one endpoint: '@' binds, '>' or nothing connects. */
static int attach_one(struct te_publisher *p, const char *ep, struct te_error *err)
{
    bool is_bind = ep[0] == '@';
    const char *addr = (ep[0] == '@' || ep[0] == '>') ? ep + 1 : ep;
    int rc = is_bind ? zsock_bind(p->sock, "%s", addr) : zsock_connect(p->sock, "%s", addr);
    if (rc == -1) {
        te_err_set(err, TE_E_MALFORMED, "endpoints", "cannot %s '%s': %s",
                   is_bind ? "bind" : "connect", addr, zmq_strerror(errno));
        return -EINVAL;
    }
    if (!is_bind)
        p->n_connects++;
    append_endpoint_text(p, addr);
    return 0;
}

/* Each opts entry may itself be a comma-separated list, as in zsock_attach. */
static int attach_endpoints(struct te_publisher *p, const struct te_publisher_opts *opts,
                            struct te_error *err)
{
    for (size_t i = 0; i < opts->n_endpoints; i++) {
        const char *list = opts->endpoints[i];
        if (!list || !*list) {
            te_err_set(err, TE_E_MALFORMED, "endpoints", "endpoint %zu is empty", i);
            return -EINVAL;
        }
        char *copy = strdup(list);
        if (!copy) {
            te_err_set(err, TE_OK, "endpoints", "out of memory");
            return -ENOMEM;
        }
        int rc = 0;
        char *save = NULL;
        for (char *ep = strtok_r(copy, ",", &save); ep && rc == 0; ep = strtok_r(NULL, ",", &save))
            rc = attach_one(p, ep, err);
        free(copy);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* The bridge's public key as Z85 text: given as such, or read from a
 * certificate file. Returns 0 or -EINVAL. */
static int curve_server_key(const char *key, char out[41], struct te_error *err)
{
    struct stat st;
    if (strlen(key) == 40 && stat(key, &st) != 0) {
        memcpy(out, key, 41);
        return 0;
    }
    zcert_t *cert = zcert_load(key);
    if (!cert) {
        te_err_set(err, TE_E_MALFORMED, "curve_server_key",
                   "neither 40 Z85 characters nor a readable certificate: %s", key);
        return -EINVAL;
    }
    memcpy(out, zcert_public_txt(cert), 41);
    zcert_destroy(&cert);
    return 0;
}

/* Makes the socket a CURVE client when both CURVE options are given. */
static int apply_curve(struct te_publisher *p, const struct te_publisher_opts *opts,
                       struct te_error *err)
{
    if (!opts->curve_server_key && !opts->curve_client_cert)
        return 0;
    if (!opts->curve_server_key || !opts->curve_client_cert) {
        te_err_set(err, TE_E_MISSING, "curve", "CURVE needs a server key and a client certificate");
        return -EINVAL;
    }
    char server_key[41];
    if (curve_server_key(opts->curve_server_key, server_key, err) < 0)
        return -EINVAL;
    zcert_t *client = zcert_load(opts->curve_client_cert);
    static const byte zeros[32];
    if (!client || memcmp(zcert_secret_key(client), zeros, sizeof zeros) == 0) {
        zcert_destroy(&client);
        te_err_set(err, TE_E_MALFORMED, "curve_client_cert", "not a secret certificate: %s",
                   opts->curve_client_cert);
        return -EINVAL;
    }
    zcert_apply(client, p->sock);
    zsock_set_curve_serverkey(p->sock, server_key);
    zcert_destroy(&client);
    return 0;
}

static int configure_socket(struct te_publisher *p, const struct te_publisher_opts *opts,
                            struct te_error *err)
{
    p->sock = new_xpub_keeping_signals();
    if (!p->sock) {
        te_err_set(err, TE_OK, "", "cannot create an XPUB socket: %s", zmq_strerror(errno));
        return -ENOMEM;
    }
    zsock_set_xpub_verbose(p->sock, 1);
    zsock_set_sndhwm(p->sock, opts->sndhwm > 0 ? opts->sndhwm : DEFAULT_SNDHWM);
    zsock_set_linger(p->sock, LINGER_MS);
    if (apply_curve(p, opts, err) < 0)
        return -EINVAL;
    return attach_endpoints(p, opts, err);
}

/* Reads every subscription message already queued, without blocking. */
static void drain_subscriptions(struct te_publisher *p)
{
    void *handle = zsock_resolve(p->sock);
    unsigned char first[8];
    for (;;) {
        int n = zmq_recv(handle, first, sizeof first, ZMQ_DONTWAIT);
        if (n < 0)
            return; /* EAGAIN: nothing more queued (or EINTR: try next time) */
        if (n >= 1 && first[0] == SUBSCRIBE_BYTE)
            p->n_subscriptions++;
    }
}

static uint64_t subscriptions_needed(const struct te_publisher *p)
{
    return p->n_connects > 1 ? p->n_connects : 1;
}

/* One zmq_poll for input until deadline_ms (zclock_mono). 0, -ETIMEDOUT,
 * -EINTR or another negative errno. */
static int poll_until(struct te_publisher *p, int64_t deadline_ms)
{
    int64_t left_ms = deadline_ms - zclock_mono();
    if (left_ms <= 0)
        return -ETIMEDOUT;
    zmq_pollitem_t item = {.socket = zsock_resolve(p->sock), .events = ZMQ_POLLIN};
    int rc = zmq_poll(&item, 1, (long)left_ms);
    if (rc < 0)
        return -errno;
    return rc == 0 ? -ETIMEDOUT : 0;
}

/* Stamps everything the publisher owns in an envelope. */
static void stamp_event(const struct te_publisher *p, struct te_event *ev)
{
    ev->version = te_event_min_version(ev->type); /* the lowest version that has it */
    memcpy(ev->trainer, p->trainer, sizeof ev->trainer);
    ev->seq = ev->type == TE_HEARTBEAT ? p->seq : p->seq + 1; /* a heartbeat takes none */
    ev->ts_us = te_now_us();
}

/* Sends the two frames [scenario, payload]. 0 or a negative errno. */
static int send_frames(struct te_publisher *p, const char *scenario, const void *payload,
                       size_t len, struct te_error *err)
{
    void *handle = zsock_resolve(p->sock);
    if (zmq_send(handle, scenario, strlen(scenario), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(handle, payload, len, ZMQ_DONTWAIT) < 0) {
        int e = errno;
        te_err_set(err, TE_OK, "", "zmq_send failed: %s", zmq_strerror(e));
        return e == EAGAIN ? -EAGAIN : -e;
    }
    return 0;
}

/* Stamps, validates, encodes and sends ev without any wait (lock held).
 * 0 or a negative errno; err filled. */
static int send_stamped(struct te_publisher *p, struct te_event *ev, struct te_error *err)
{
    stamp_event(p, ev);
    unsigned char buf[TE_MAX_FRAME_BYTES];
    int len = te_event_encode(ev, buf, sizeof buf, err);
    if (len < 0)
        return len;
    int rc = send_frames(p, ev->scenario, buf, (size_t)len, err);
    if (rc == 0 && ev->type != TE_HEARTBEAT)
        p->seq = ev->seq;
    return rc;
}

/* te_pulse_send_fn: one heartbeat for scenario (lock held). */
static int send_heartbeat(void *arg, const char *scenario, int64_t episode, int64_t interval_ms)
{
    struct te_publisher *p = arg;
    struct te_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = TE_HEARTBEAT;
    snprintf(ev.scenario, sizeof ev.scenario, "%s", scenario);
    memcpy(ev.data.heartbeat.scenario_name, ev.scenario, sizeof ev.scenario);
    ev.data.heartbeat.episode = episode;
    ev.data.heartbeat.interval_ms = interval_ms;
    drain_subscriptions(p);
    int rc = send_stamped(p, &ev, NULL);
    if (rc == 0)
        atomic_fetch_add(&p->n_heartbeats, 1);
    return rc;
}

/* The heartbeat interval opts ask for: 0 (off), or a valid interval. */
static int pick_heartbeat_interval(const struct te_publisher_opts *opts, int64_t *interval_ms,
                                   struct te_error *err)
{
    int ms = opts->heartbeat_interval_ms;
    *interval_ms = ms < 0 ? 0 : ms == 0 ? TE_HEARTBEAT_INTERVAL_MS : ms;
    if (ms > 0 && (ms < TE_HEARTBEAT_MIN_MS || ms > TE_HEARTBEAT_MAX_MS)) {
        te_err_set(err, TE_E_RANGE, "heartbeat_interval_ms", "must be %d..%d ms, got %d",
                   TE_HEARTBEAT_MIN_MS, TE_HEARTBEAT_MAX_MS, ms);
        return -EINVAL;
    }
    return 0;
}

/* Creates the lock and, if heartbeats are on, the timer thread. */
static int start_heartbeats(struct te_publisher *p, const struct te_publisher_opts *opts,
                            struct te_error *err)
{
    int rc = pick_heartbeat_interval(opts, &p->heartbeat_interval_ms, err);
    if (rc < 0)
        return rc;
    if (pthread_mutex_init(&p->lock, NULL) != 0) {
        te_err_set(err, TE_OK, "", "cannot create the publisher's mutex");
        return -ENOMEM;
    }
    p->has_lock = true;
    if (p->heartbeat_interval_ms == 0)
        return 0;
    rc = te_pulse_start(&p->pulse, &p->lock, p->heartbeat_interval_ms, send_heartbeat, p);
    if (rc < 0)
        te_err_set(err, TE_OK, "", "cannot start the heartbeat thread: %s", strerror(-rc));
    return rc;
}

static int wait_ready_locked(struct te_publisher *p, int timeout_ms);

/* The slow-joiner guard of the first send: 0, -ETIMEDOUT, -EINTR or another
 * negative errno. Only the first send waits, whatever the outcome but -EINTR. */
static int first_send_wait(struct te_publisher *p, int *timeout_ms_out)
{
    *timeout_ms_out = 0;
    if (p->is_ready_checked)
        return 0;
    if (p->ready_timeout_ms < 0) {
        p->is_ready_checked = true;
        return 0;
    }
    *timeout_ms_out = p->ready_timeout_ms ? p->ready_timeout_ms : TE_PUBLISHER_READY_TIMEOUT_MS;
    return wait_ready_locked(p, *timeout_ms_out);
}

/* ------------------------------------------------------------------ public */

struct te_publisher *te_publisher_new(const struct te_publisher_opts *opts, struct te_error *err)
{
    if (!opts || !opts->endpoints || opts->n_endpoints == 0) {
        te_err_set(err, TE_E_MISSING, "endpoints", "a publisher needs at least one endpoint");
        return NULL;
    }
    struct te_publisher *p = calloc(1, sizeof *p);
    if (!p) {
        te_err_set(err, TE_OK, "", "out of memory");
        return NULL;
    }
    p->ready_timeout_ms = opts->ready_timeout_ms;
    if (copy_trainer(p, opts->trainer, err) < 0 || configure_socket(p, opts, err) < 0 ||
        start_heartbeats(p, opts, err) < 0) {
        if (p->sock)
            zsock_set_linger(p->sock, 0);
        te_publisher_destroy(&p);
        return NULL;
    }
    return p;
}

void te_publisher_destroy(struct te_publisher **p_ptr)
{
    if (!p_ptr || !*p_ptr)
        return;
    struct te_publisher *p = *p_ptr;
    te_pulse_stop(&p->pulse); /* joins the timer: no heartbeat after this */
    zsock_destroy(&p->sock);  /* linger (LINGER_MS) flushes queued events */
    if (p->has_lock)
        pthread_mutex_destroy(&p->lock);
    free(p);
    *p_ptr = NULL;
}

/* Counts subscription messages until enough have arrived or timeout_ms
 * (<= 0: only what has already arrived) has passed. Returns 0, -ETIMEDOUT,
 * -EINTR if a signal interrupted the wait, or another negative errno from
 * zmq_poll. A completed wait (0 or -ETIMEDOUT) replaces the first send's. */
int te_publisher_wait_ready(struct te_publisher *p, int timeout_ms)
{
    if (!p)
        return -EINVAL;
    pthread_mutex_lock(&p->lock);
    int rc = wait_ready_locked(p, timeout_ms);
    pthread_mutex_unlock(&p->lock);
    return rc;
}

static int wait_ready_locked(struct te_publisher *p, int timeout_ms)
{
    int64_t deadline_ms = zclock_mono() + (timeout_ms > 0 ? timeout_ms : 0);
    int rc = 0;
    for (;;) {
        drain_subscriptions(p);
        if (p->n_subscriptions >= subscriptions_needed(p)) {
            rc = 0;
            break;
        }
        rc = poll_until(p, deadline_ms);
        if (rc < 0)
            break;
    }
    if (rc == 0 || rc == -ETIMEDOUT)
        p->is_ready_checked = true;
    return rc;
}

static int send_locked(struct te_publisher *p, struct te_event *ev, struct te_error *err)
{
    drain_subscriptions(p);
    stamp_event(p, ev);
    if (te_event_validate(ev, err) < 0)
        return -EINVAL; /* before any wait: a bad event fails at once */
    int timeout_ms;
    int wait_rc = first_send_wait(p, &timeout_ms);
    if (wait_rc < 0 && wait_rc != -ETIMEDOUT) {
        te_err_set(err, TE_OK, "", "waiting for a subscriber: %s", strerror(-wait_rc));
        return wait_rc; /* interrupted: nothing sent, the next send waits again */
    }
    int rc = send_stamped(p, ev, err); /* stamps ts again: the wait may have been long */
    if (rc < 0)
        return rc;
    if (te_pulse_note(&p->pulse, ev)) /* a run began: its first heartbeat now */
        send_heartbeat(p, ev->scenario, 0, p->heartbeat_interval_ms);
    if (wait_rc == -ETIMEDOUT)
        te_err_set(err, TE_OK, "", "no subscriber at %s within %d ms", p->endpoints_text,
                   timeout_ms);
    return wait_rc;
}

int te_publisher_send(struct te_publisher *p, struct te_event *ev, struct te_error *err)
{
    if (!p || !ev) {
        te_err_set(err, TE_OK, "", "te_publisher_send needs a publisher and an event");
        return -EINVAL;
    }
    if (ev->type == TE_HEARTBEAT) {
        te_err_set(err, TE_E_UNKNOWN_EVENT, "event", "heartbeats are the publisher's own");
        return -EINVAL;
    }
    pthread_mutex_lock(&p->lock);
    int rc = send_locked(p, ev, err);
    pthread_mutex_unlock(&p->lock);
    return rc;
}

const char *te_publisher_trainer(const struct te_publisher *p)
{
    return p ? p->trainer : NULL;
}

uint64_t te_publisher_sent(const struct te_publisher *p)
{
    return p ? atomic_load(&p->seq) : 0;
}

uint64_t te_publisher_heartbeats(const struct te_publisher *p)
{
    return p ? (uint64_t)atomic_load(&p->n_heartbeats) : 0;
}
