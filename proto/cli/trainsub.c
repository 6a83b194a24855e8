/* trainsub: subscribes to trainbridge events and prints each as one JSON line.
 *
 * A SUB socket binds (by default port 5556 on every interface) and/or
 * connects, subscribed to the given scenarios (ZeroMQ filters by prefix, so the topic is then also
 * compared exactly) or to everything. Each good event goes to stdout as
 * exactly te_event_to_json's text, one flushed line per event; each rejected
 * message goes to stderr as "trainsub: rejected: <code>: <msg> (field <f>)"
 * and the loop goes on. Per-trainer sequence gaps are counted and summed up
 * on exit. A debugging and testing tool: the bridge does the real work. */
#include "stop_signal.h"
#include "trainevents.h"

#include <czmq.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ENDPOINTS 16
#define MAX_SCENARIOS 64
#define MAX_TRAINERS 4096 /* trainers tracked for gaps; later ones are not */
#define RCVHWM 100000
#define POLL_SLICE_MS 100 /* longest time a signal may go unnoticed */
#define EXIT_USAGE 2

struct sub_config {
    const char *binds[MAX_ENDPOINTS];
    size_t n_binds;
    const char *connects[MAX_ENDPOINTS];
    size_t n_connects;
    const char *scenarios[MAX_SCENARIOS];
    size_t n_scenarios;
    int64_t count;      /* 0: no limit */
    int64_t timeout_ms; /* 0: wait forever */
};

struct trainer_seq {
    char trainer[TE_MAX_NAME_LEN + 1];
    uint64_t last_seq;
};

struct sub {
    const struct sub_config *cfg;
    zsock_t *sock;
    uint64_t n_events;
    uint64_t n_rejected;
    uint64_t n_gaps; /* sequence numbers missing between consecutive events */
    struct trainer_seq *trainers;
    size_t n_trainers;
};

/* ---------------------------------------------------------------- options */

static void print_usage(FILE *out)
{
    fprintf(out, "usage: trainsub [--bind EP]... [--connect EP]... [--scenario NAME]...\n"
                 "                [--count N] [--timeout-ms MS]\n\n"
                 "Subscribes to trainbridge events over ZeroMQ and prints each one as a JSON\n"
                 "line on stdout (the bridge's Socket.IO arguments); rejected messages and a\n"
                 "summary go to stderr.\n\n"
                 "  --bind EP          bind the SUB socket, repeatable (default tcp://*:5556 when\n"
                 "                     no --connect is given); the real endpoint (a free port\n"
                 "                     for '*') is printed as 'trainsub: listening on EP'\n"
                 "  --connect EP       connect to a publisher or proxy, repeatable\n"
                 "  --scenario NAME    only this scenario, repeatable (default: every one)\n"
                 "  --count N          exit 0 after N good events\n"
                 "  --timeout-ms MS    exit 1 when no message arrives for MS milliseconds\n"
                 "  --help             print this help and exit\n\n"
                 "Exit status: 0 done or interrupted, 1 timeout or socket failure, 2 bad usage.\n");
}

static int parse_count(const char *flag, const char *text, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno || end == text || *end || v < 1) {
        fprintf(stderr, "trainsub: %s: expected a positive integer, got '%s'\n", flag, text);
        return -EINVAL;
    }
    *out = v;
    return 0;
}

static int append(const char *flag, const char *value, const char **list, size_t *n, size_t max)
{
    if (*n >= max) {
        fprintf(stderr, "trainsub: %s: at most %zu values\n", flag, max);
        return -EINVAL;
    }
    list[(*n)++] = value;
    return 0;
}

static int apply_flag(struct sub_config *cfg, const char *flag, const char *value)
{
    if (strcmp(flag, "--bind") == 0)
        return append(flag, value, cfg->binds, &cfg->n_binds, MAX_ENDPOINTS);
    if (strcmp(flag, "--connect") == 0)
        return append(flag, value, cfg->connects, &cfg->n_connects, MAX_ENDPOINTS);
    if (strcmp(flag, "--scenario") == 0 && !te_name_valid(value, strlen(value))) {
        fprintf(stderr, "trainsub: --scenario: '%s' is not a valid scenario name\n", value);
        return -EINVAL;
    }
    if (strcmp(flag, "--scenario") == 0)
        return append(flag, value, cfg->scenarios, &cfg->n_scenarios, MAX_SCENARIOS);
    if (strcmp(flag, "--count") == 0)
        return parse_count(flag, value, &cfg->count);
    if (strcmp(flag, "--timeout-ms") == 0)
        return parse_count(flag, value, &cfg->timeout_ms);
    fprintf(stderr, "trainsub: unknown argument '%s' (see --help)\n", flag);
    return -EINVAL;
}

/* 0 to go on, 1 after --help, -EINVAL on bad usage (message printed). */
static int parse_arguments(struct sub_config *cfg, int argc, char **argv)
{
    memset(cfg, 0, sizeof *cfg);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return print_usage(stdout), 1;
        char flag[32];
        const char *eq = strchr(argv[i], '=');
        const char *value = eq ? eq + 1 : (i + 1 < argc ? argv[i + 1] : NULL);
        size_t flag_len = eq ? (size_t)(eq - argv[i]) : strlen(argv[i]);
        snprintf(flag, sizeof flag, "%.*s", (int)flag_len, argv[i]);
        if (!value) {
            fprintf(stderr, "trainsub: %s needs a value (or is unknown; see --help)\n", flag);
            return -EINVAL;
        }
        if (!eq)
            i++;
        if (apply_flag(cfg, flag, value) < 0)
            return -EINVAL;
    }
    if (cfg->n_binds == 0 && cfg->n_connects == 0)
        cfg->binds[cfg->n_binds++] = "tcp://*:5556";
    return 0;
}

/* ----------------------------------------------------------------- socket */

static int open_socket(struct sub *s)
{
    const struct sub_config *cfg = s->cfg;
    s->sock = zsock_new(ZMQ_SUB);
    if (!s->sock) {
        fprintf(stderr, "trainsub: cannot create a SUB socket: %s\n", zmq_strerror(errno));
        return -ENOMEM;
    }
    zsock_set_rcvhwm(s->sock, RCVHWM);
    for (size_t i = 0; i < cfg->n_scenarios; i++)
        zsock_set_subscribe(s->sock, cfg->scenarios[i]);
    if (cfg->n_scenarios == 0)
        zsock_set_subscribe(s->sock, "");
    for (size_t i = 0; i < cfg->n_binds; i++) {
        if (zsock_bind(s->sock, "%s", cfg->binds[i]) == -1) {
            fprintf(stderr, "trainsub: cannot bind '%s': %s\n", cfg->binds[i], zmq_strerror(errno));
            return -EINVAL;
        }
        char *endpoint = zsock_last_endpoint(s->sock); /* caller frees */
        fprintf(stderr, "trainsub: listening on %s\n", endpoint ? endpoint : cfg->binds[i]);
        zstr_free(&endpoint);
    }
    for (size_t i = 0; i < cfg->n_connects; i++) {
        if (zsock_connect(s->sock, "%s", cfg->connects[i]) == -1) {
            fprintf(stderr, "trainsub: cannot connect to '%s': %s\n", cfg->connects[i],
                    zmq_strerror(errno));
            return -EINVAL;
        }
    }
    return 0;
}

/* Receives one whole message without blocking: its first two frames into
 * parts (initialised by the caller) and the number of frames into *n.
 * 0, -EAGAIN when nothing is queued, or another negative errno. */
static int receive_message(void *handle, zmq_msg_t parts[2], size_t *n)
{
    *n = 0;
    int more = 1;
    while (more) {
        zmq_msg_t frame;
        zmq_msg_init(&frame);
        if (zmq_msg_recv(&frame, handle, *n == 0 ? ZMQ_DONTWAIT : 0) < 0) {
            int e = errno;
            zmq_msg_close(&frame);
            return -e;
        }
        more = zmq_msg_more(&frame);
        if (*n < 2)
            zmq_msg_move(&parts[*n], &frame);
        zmq_msg_close(&frame);
        (*n)++;
    }
    return 0;
}

/* ---------------------------------------------------------------- events */

static void print_rejected(struct sub *s, const struct te_error *err)
{
    s->n_rejected++;
    fprintf(stderr, "trainsub: rejected: %s: %s", te_errc_name(err->code), err->msg);
    if (err->field[0])
        fprintf(stderr, " (field %s)", err->field);
    fputc('\n', stderr);
}

static bool is_wanted_topic(const struct sub_config *cfg, const zmq_msg_t *topic)
{
    if (cfg->n_scenarios == 0)
        return true;
    size_t len = zmq_msg_size((zmq_msg_t *)topic);
    const void *data = zmq_msg_data((zmq_msg_t *)topic);
    for (size_t i = 0; i < cfg->n_scenarios; i++)
        if (strlen(cfg->scenarios[i]) == len && memcmp(cfg->scenarios[i], data, len) == 0)
            return true;
    return false;
}

static struct trainer_seq *find_trainer(struct sub *s, const char *trainer)
{
    for (size_t i = 0; i < s->n_trainers; i++)
        if (strcmp(s->trainers[i].trainer, trainer) == 0)
            return &s->trainers[i];
    if (s->n_trainers == MAX_TRAINERS)
        return NULL;
    struct trainer_seq *t = &s->trainers[s->n_trainers++];
    snprintf(t->trainer, sizeof t->trainer, "%s", trainer);
    t->last_seq = 0;
    return t;
}

/* A seq above last + 1 counts the numbers skipped; one at or below last
 * means the trainer restarted (a new publisher counts from 1 again). The
 * first event seen from a trainer sets the base and is never a gap. A
 * heartbeat repeats the latest event's seq: above last, the events up to it
 * were lost; at or below, nothing happened. */
static void count_gaps(struct sub *s, const struct te_event *ev)
{
    struct trainer_seq *t = find_trainer(s, ev->trainer);
    if (!t)
        return;
    bool is_heartbeat = ev->type == TE_HEARTBEAT;
    uint64_t expected = is_heartbeat ? t->last_seq : t->last_seq + 1;
    if (t->last_seq != 0 && ev->seq > expected)
        s->n_gaps += ev->seq - expected;
    if (!is_heartbeat || ev->seq > t->last_seq)
        t->last_seq = ev->seq;
}

static void print_event(struct sub *s, const struct te_event *ev)
{
    char json[TE_MAX_JSON_BYTES];
    int len = te_event_to_json(ev, json, sizeof json);
    if (len < 0) {
        fprintf(stderr, "trainsub: cannot print event: %s\n", strerror(-len));
        return;
    }
    fwrite(json, 1, (size_t)len, stdout);
    fputc('\n', stdout);
    fflush(stdout);
    s->n_events++;
}

static void handle_message(struct sub *s, zmq_msg_t parts[2], size_t n_parts)
{
    struct te_error err = {0};
    if (n_parts != 2) {
        err.code = TE_E_FRAMES;
        snprintf(err.msg, sizeof err.msg, "expected 2 frames, got %zu", n_parts);
        print_rejected(s, &err);
        return;
    }
    if (!is_wanted_topic(s->cfg, &parts[0]))
        return; /* a longer scenario name that only shares the prefix */
    struct te_event ev;
    if (te_frames_decode(zmq_msg_data(&parts[0]), zmq_msg_size(&parts[0]), zmq_msg_data(&parts[1]),
                         zmq_msg_size(&parts[1]), &ev, &err) < 0) {
        print_rejected(s, &err);
        return;
    }
    count_gaps(s, &ev);
    print_event(s, &ev);
}

/* ------------------------------------------------------------------- loop */

/* Handles every message already queued. 0, or a negative errno. */
static int drain(struct sub *s)
{
    void *handle = zsock_resolve(s->sock);
    for (;;) {
        if (s->cfg->count && s->n_events >= (uint64_t)s->cfg->count)
            return 0;
        zmq_msg_t parts[2];
        zmq_msg_init(&parts[0]);
        zmq_msg_init(&parts[1]);
        size_t n_parts = 0;
        int rc = receive_message(handle, parts, &n_parts);
        if (rc == 0)
            handle_message(s, parts, n_parts);
        zmq_msg_close(&parts[0]);
        zmq_msg_close(&parts[1]);
        if (rc == -EAGAIN || rc == -EINTR)
            return 0;
        if (rc < 0)
            return rc;
    }
}

/* Waits for input until the --timeout-ms deadline, at most a slice at a
 * time: a signal that lands just before zmq_poll must not be slept through.
 * 1 input, 0 nothing yet (or a signal), negative errno on failure. */
static int wait_for_input(struct sub *s, int64_t deadline_ms)
{
    long wait_ms = POLL_SLICE_MS;
    if (s->cfg->timeout_ms) {
        int64_t left_ms = deadline_ms - zclock_mono();
        if (left_ms <= 0)
            return 0;
        wait_ms = left_ms < POLL_SLICE_MS ? (long)left_ms : POLL_SLICE_MS;
    }
    zmq_pollitem_t item = {.socket = zsock_resolve(s->sock), .events = ZMQ_POLLIN};
    int rc = zmq_poll(&item, 1, wait_ms);
    if (rc < 0)
        return errno == EINTR ? 0 : -errno;
    return rc > 0;
}

/* Receives until --count, --timeout-ms or a signal. Returns the exit status. */
static int run(struct sub *s)
{
    int64_t deadline_ms = zclock_mono() + s->cfg->timeout_ms;
    while (!stop_signal_requested()) {
        if (s->cfg->count && s->n_events >= (uint64_t)s->cfg->count)
            return EXIT_SUCCESS;
        int rc = wait_for_input(s, deadline_ms);
        if (rc < 0) {
            fprintf(stderr, "trainsub: zmq_poll: %s\n", zmq_strerror(-rc));
            return EXIT_FAILURE;
        }
        if (rc == 0 && !stop_signal_requested() && s->cfg->timeout_ms &&
            zclock_mono() >= deadline_ms) {
            fprintf(stderr, "trainsub: no message for %" PRId64 " ms\n", s->cfg->timeout_ms);
            return EXIT_FAILURE;
        }
        if (rc == 0)
            continue;
        deadline_ms = zclock_mono() + s->cfg->timeout_ms;
        rc = drain(s);
        if (rc < 0) {
            fprintf(stderr, "trainsub: zmq_msg_recv: %s\n", zmq_strerror(-rc));
            return EXIT_FAILURE;
        }
    }
    return EXIT_SUCCESS;
}

int main(int argc, char **argv)
{
    struct sub_config cfg;
    int rc = parse_arguments(&cfg, argc, argv);
    if (rc != 0)
        return rc > 0 ? EXIT_SUCCESS : EXIT_USAGE;
    stop_signal_install(false);
    struct sub s = {.cfg = &cfg, .trainers = calloc(MAX_TRAINERS, sizeof(struct trainer_seq))};
    int status = EXIT_FAILURE;
    if (s.trainers && open_socket(&s) == 0)
        status = run(&s);
    fprintf(stderr, "trainsub: %" PRIu64 " events, %" PRIu64 " rejected, %" PRIu64 " gaps\n",
            s.n_events, s.n_rejected, s.n_gaps);
    zsock_destroy(&s.sock);
    free(s.trainers);
    return status;
}
