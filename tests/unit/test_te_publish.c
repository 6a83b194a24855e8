/* Unit tests of te_publish: the publisher against real ZeroMQ sockets on
 * 127.0.0.1 (or inproc), above all the slow-joiner guard: an event sent at
 * once by a fresh publisher must reach a subscriber that was already there;
 * and its heartbeat thread: heartbeats follow training_started, keep coming
 * while the caller blocks, carry the latest episode, and stop at the
 * terminal event and at destroy. */
#include "trainevents.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <czmq.h>
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define RECV_TIMEOUT_MS 5000
#define N_FRESH_PUBLISHERS 50

/* The subscriber lives in its own thread, like the bridge's: a SUB socket
 * only answers a new peer with its subscriptions while its owner calls into
 * it, so a SUB in the test's thread would sit still while the publisher
 * waits. The actor binds, reports its endpoint, then forwards every message
 * it receives down its pipe. */
static void sub_actor(zsock_t *pipe, void *args)
{
    (void)args;
    zsock_t *s = zsock_new(ZMQ_SUB);
    zsock_set_subscribe(s, "");
    int port = zsock_bind(s, "tcp://127.0.0.1:*");
    char *endpoint = port >= 0 ? zsock_last_endpoint(s) : NULL; /* caller frees */
    zsock_signal(pipe, 0);
    zstr_send(pipe, endpoint ? endpoint : "");
    zstr_free(&endpoint);
    zpoller_t *poller = zpoller_new(pipe, s, NULL);
    for (;;) {
        void *which = zpoller_wait(poller, -1);
        if (which != s)
            break; /* $TERM from the pipe, or interrupted */
        zmsg_t *msg = zmsg_recv(s);
        if (msg)
            zmsg_send(&msg, pipe);
    }
    zpoller_destroy(&poller);
    zsock_destroy(&s);
}

static zactor_t *sub;
static char sub_endpoint[256];

static void start_sub(void)
{
    sub = zactor_new(sub_actor, NULL);
    cr_assert_not_null(sub);
    char *endpoint = zstr_recv(sub);
    cr_assert(endpoint && endpoint[0], "the SUB could not bind");
    snprintf(sub_endpoint, sizeof sub_endpoint, "%s", endpoint);
    zstr_free(&endpoint);
    zsock_set_rcvtimeo(zactor_sock(sub), RECV_TIMEOUT_MS);
}

static void stop_sub(void)
{
    zactor_destroy(&sub);
}

TestSuite(te_publish, .init = start_sub, .fini = stop_sub);

static struct te_publisher *new_beating_publisher(const char *endpoint, const char *trainer,
                                                  int ready_timeout_ms, int heartbeat_interval_ms)
{
    const char *eps[] = {endpoint};
    struct te_publisher_opts opts = {.endpoints = eps,
                                     .n_endpoints = 1,
                                     .trainer = trainer,
                                     .ready_timeout_ms = ready_timeout_ms,
                                     .heartbeat_interval_ms = heartbeat_interval_ms};
    struct te_error err;
    struct te_publisher *p = te_publisher_new(&opts, &err);
    cr_assert_not_null(p, "te_publisher_new(%s): %s", endpoint, err.msg);
    return p;
}

/* Heartbeats off: these tests count the messages they send. */
static struct te_publisher *new_publisher(const char *endpoint, const char *trainer,
                                          int ready_timeout_ms)
{
    const char *eps[] = {endpoint};
    struct te_publisher_opts opts = {.endpoints = eps,
                                     .n_endpoints = 1,
                                     .trainer = trainer,
                                     .ready_timeout_ms = ready_timeout_ms,
                                     .heartbeat_interval_ms = -1};
    struct te_error err;
    struct te_publisher *p = te_publisher_new(&opts, &err);
    cr_assert_not_null(p, "te_publisher_new(%s): %s", endpoint, err.msg);
    return p;
}

static struct te_event started_event(const char *scenario)
{
    struct te_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = TE_TRAINING_STARTED;
    snprintf(ev.scenario, sizeof ev.scenario, "%s", scenario);
    snprintf(ev.data.started.scenario_name, sizeof ev.data.started.scenario_name, "%s", scenario);
    ev.data.started.num_episodes = 10;
    snprintf(ev.data.started.start_time, sizeof ev.data.started.start_time,
             "2024-05-01T12:00:00.000000Z");
    return ev;
}

/* Receives one two-frame message from s (a socket or an actor) within
 * RECV_TIMEOUT_MS and decodes it. 0, or -1 with *why filled. */
static int receive_event(void *s, struct te_event *ev, struct te_error *why)
{
    zmsg_t *msg = zmsg_recv(s);
    snprintf(why->msg, sizeof why->msg, "nothing (or not 2 frames) within %d ms", RECV_TIMEOUT_MS);
    if (!msg || zmsg_size(msg) != 2) {
        zmsg_destroy(&msg);
        return -1;
    }
    zframe_t *topic = zmsg_first(msg);
    zframe_t *payload = zmsg_next(msg);
    int rc = te_frames_decode(zframe_data(topic), zframe_size(topic), zframe_data(payload),
                              zframe_size(payload), ev, why);
    zmsg_destroy(&msg);
    return rc < 0 ? -1 : 0;
}

/* receive_event that fails the test. */
#define RECEIVE(s, ev)                                                                             \
    do {                                                                                           \
        struct te_error why_;                                                                      \
        cr_assert_eq(receive_event((s), (ev), &why_), 0, "%s", why_.msg);                          \
    } while (0)

Test(te_publish, first_event_of_a_fresh_publisher_arrives_50_times)
{
    for (int i = 0; i < N_FRESH_PUBLISHERS; i++) {
        char trainer[32];
        snprintf(trainer, sizeof trainer, "fresh-%d", i);
        struct te_publisher *p = new_publisher(sub_endpoint, trainer, 0);
        struct te_event ev = started_event("alpha");
        struct te_error err;
        cr_assert_eq(te_publisher_send(p, &ev, &err), 0, "round %d: %s", i, err.msg);
        struct te_event got;
        RECEIVE(sub, &got);
        cr_assert_str_eq(got.trainer, trainer, "round %d", i);
        cr_assert_eq(got.seq, 1);
        cr_assert_eq(got.type, TE_TRAINING_STARTED);
        te_publisher_destroy(&p);
        cr_assert_null(p);
    }
}

Test(te_publish, seq_counts_up_from_one_and_stamps_the_envelope)
{
    struct te_publisher *p = new_publisher(sub_endpoint, "counter", 0);
    for (uint64_t want = 1; want <= 3; want++) {
        struct te_event ev = started_event("beta");
        ev.seq = 77; /* the publisher overwrites whatever the caller put there */
        int64_t before_us = te_now_us();
        cr_assert_eq(te_publisher_send(p, &ev, NULL), 0);
        cr_assert_eq(te_publisher_sent(p), want);
        struct te_event got;
        RECEIVE(sub, &got);
        cr_assert_eq(got.seq, want);
        cr_assert_eq(got.version, 1); /* training_started is a v1 message */
        cr_assert_str_eq(got.trainer, "counter");
        cr_assert_str_eq(got.scenario, "beta");
        cr_assert_geq(got.ts_us, before_us);
    }
    te_publisher_destroy(&p);
}

Test(te_publish, no_subscriber_times_out_but_still_sends)
{
    /* A port nobody listens on: bind one, read the port, close it again. */
    zsock_t *tmp = zsock_new(ZMQ_SUB);
    cr_assert_geq(zsock_bind(tmp, "tcp://127.0.0.1:*"), 0);
    char *dead = zsock_last_endpoint(tmp);
    zsock_destroy(&tmp);

    struct te_publisher *p = new_publisher(dead, "lonely", 200);
    struct te_event ev = started_event("gamma");
    struct te_error err;
    int64_t t0 = zclock_mono();
    cr_assert_eq(te_publisher_send(p, &ev, &err), -ETIMEDOUT);
    int64_t waited_ms = zclock_mono() - t0;
    cr_assert_geq(waited_ms, 150, "returned after %lld ms", (long long)waited_ms);
    cr_assert_lt(waited_ms, 3000, "returned after %lld ms", (long long)waited_ms);
    cr_assert(strstr(err.msg, "no subscriber at") != NULL, "%s", err.msg);
    cr_assert(strstr(err.msg, "200 ms") != NULL, "%s", err.msg);
    cr_assert_eq(te_publisher_sent(p), 1, "the event counts as sent");
    ev = started_event("gamma");
    cr_assert_eq(te_publisher_send(p, &ev, &err), 0, "later sends do not wait");
    cr_assert_eq(te_publisher_sent(p), 2);
    te_publisher_destroy(&p);
    zstr_free(&dead);
}

Test(te_publish, negative_ready_timeout_never_waits)
{
    struct te_publisher *p = new_publisher("tcp://127.0.0.1:1", "hasty", -1);
    struct te_event ev = started_event("delta");
    cr_assert_eq(te_publisher_send(p, &ev, NULL), 0);
    cr_assert_eq(te_publisher_sent(p), 1);
    te_publisher_destroy(&p);
}

Test(te_publish, wait_ready_sees_an_existing_subscriber)
{
    struct te_publisher *p = new_publisher(sub_endpoint, "waiter", 0);
    cr_assert_eq(te_publisher_wait_ready(p, RECV_TIMEOUT_MS), 0);
    te_publisher_destroy(&p);
}

Test(te_publish, binding_publisher_reaches_a_connecting_subscriber)
{
    struct te_publisher *p = new_publisher("@inproc://te-publish-bind", "binder", 0);
    zsock_t *csub = zsock_new(ZMQ_SUB);
    zsock_set_subscribe(csub, "");
    zsock_set_rcvtimeo(csub, RECV_TIMEOUT_MS);
    cr_assert_eq(zsock_connect(csub, "inproc://te-publish-bind"), 0);
    struct te_event ev = started_event("eps");
    cr_assert_eq(te_publisher_send(p, &ev, NULL), 0);
    struct te_event got;
    RECEIVE(csub, &got);
    cr_assert_str_eq(got.trainer, "binder");
    zsock_destroy(&csub);
    te_publisher_destroy(&p);
}

Test(te_publish, works_through_an_xsub_xpub_proxy)
{
    zactor_t *proxy = zactor_new(zproxy, NULL);
    cr_assert_not_null(proxy);
    zstr_sendx(proxy, "FRONTEND", "XSUB", "inproc://te-proxy-in", NULL);
    zsock_wait(proxy);
    zstr_sendx(proxy, "BACKEND", "XPUB", "inproc://te-proxy-out", NULL);
    zsock_wait(proxy);
    zsock_t *psub = zsock_new(ZMQ_SUB);
    zsock_set_subscribe(psub, "");
    zsock_set_rcvtimeo(psub, RECV_TIMEOUT_MS);
    cr_assert_eq(zsock_connect(psub, "inproc://te-proxy-out"), 0);

    struct te_publisher *p = new_publisher("inproc://te-proxy-in", "proxied", 0);
    struct te_event ev = started_event("zeta");
    cr_assert_eq(te_publisher_send(p, &ev, NULL), 0);
    struct te_event got;
    RECEIVE(psub, &got);
    cr_assert_str_eq(got.trainer, "proxied");
    te_publisher_destroy(&p);
    zsock_destroy(&psub);
    zactor_destroy(&proxy);
}

Test(te_publish, invalid_event_is_refused_without_using_a_seq)
{
    struct te_publisher *p = new_publisher(sub_endpoint, "strict", 0);
    struct te_event ev = started_event("eta");
    ev.data.started.num_episodes = -1;
    struct te_error err;
    cr_assert_eq(te_publisher_send(p, &ev, &err), -EINVAL);
    cr_assert_neq(err.code, TE_OK);
    cr_assert_eq(te_publisher_sent(p), 0);
    te_publisher_destroy(&p);
}

/* Parameters are copied into each test's process: no pointers inside. */
struct bad_endpoint_case {
    char endpoint[64];
};

ParameterizedTestParameters(te_publish, bad_endpoint_gives_null_and_error)
{
    static struct bad_endpoint_case cases[] = {
        {"bogus://nowhere"}, {"tcp://127.0.0.1"}, {"@tcp://256.0.0.1:5556"}, {""}};
    return cr_make_param_array(struct bad_endpoint_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct bad_endpoint_case *c, te_publish, bad_endpoint_gives_null_and_error)
{
    const char *eps[] = {c->endpoint};
    struct te_publisher_opts opts = {.endpoints = eps, .n_endpoints = 1, .trainer = "t"};
    struct te_error err = {0};
    cr_assert_null(te_publisher_new(&opts, &err), "%s", c->endpoint);
    cr_assert_str_eq(err.field, "endpoints");
    cr_assert_neq(err.msg[0], '\0');
}

Test(te_publish, no_endpoints_gives_null)
{
    struct te_publisher_opts opts = {.endpoints = NULL, .n_endpoints = 0};
    struct te_error err;
    cr_assert_null(te_publisher_new(&opts, &err));
    cr_assert_eq(err.code, TE_E_MISSING);
}

struct bad_trainer_case {
    char trainer[80];
    enum te_errc code;
};

ParameterizedTestParameters(te_publish, bad_trainer_gives_null)
{
    static struct bad_trainer_case cases[] = {
        {"", TE_E_CHARSET},
        {".hidden", TE_E_CHARSET},
        {"has space", TE_E_CHARSET},
        {"slash/no", TE_E_CHARSET},
        {"x123456789012345678901234567890123456789012345678901234567890123456", TE_E_TOO_LONG},
    };
    return cr_make_param_array(struct bad_trainer_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct bad_trainer_case *c, te_publish, bad_trainer_gives_null)
{
    const char *eps[] = {sub_endpoint};
    struct te_publisher_opts opts = {.endpoints = eps, .n_endpoints = 1, .trainer = c->trainer};
    struct te_error err;
    cr_assert_null(te_publisher_new(&opts, &err), "'%s'", c->trainer);
    cr_assert_eq(err.code, c->code, "'%s': %s", c->trainer, err.msg);
    cr_assert_str_eq(err.field, "trainer");
}

Test(te_publish, default_trainer_is_host_and_pid)
{
    struct te_publisher *p = new_publisher(sub_endpoint, NULL, 0);
    const char *id = te_publisher_trainer(p);
    cr_assert(te_name_valid(id, strlen(id)), "'%s'", id);
    char suffix[32];
    snprintf(suffix, sizeof suffix, "-%ld", (long)getpid());
    size_t n = strlen(id), m = strlen(suffix);
    cr_assert(n > m && strcmp(id + n - m, suffix) == 0, "'%s' ends in '%s'", id, suffix);
    te_publisher_destroy(&p);
}

Test(te_publish, destroy_is_null_safe)
{
    struct te_publisher *p = NULL;
    te_publisher_destroy(&p);
    te_publisher_destroy(NULL);
    cr_assert_null(p);
}

static void on_signal(int sig)
{
    (void)sig;
}

/* No fixture here: czmq must not have been initialised in this process yet. */
Test(te_publish_signals, leaves_the_application_handlers_alone)
{
    struct sigaction mine = {.sa_handler = on_signal}, after_int, after_term;
    sigemptyset(&mine.sa_mask);
    cr_assert_eq(sigaction(SIGINT, &mine, NULL), 0);
    cr_assert_eq(sigaction(SIGTERM, &mine, NULL), 0);
    struct te_publisher *p = new_publisher("tcp://127.0.0.1:1", "polite", -1);
    sigaction(SIGINT, NULL, &after_int);
    sigaction(SIGTERM, NULL, &after_term);
    cr_assert(after_int.sa_handler == on_signal, "SIGINT handler replaced");
    cr_assert(after_term.sa_handler == on_signal, "SIGTERM handler replaced");
    te_publisher_destroy(&p);
}

/* ------------------------------------------------------------ heartbeats */

#define BEAT_MS 200

static struct te_event progress_event(const char *scenario, int64_t episode)
{
    struct te_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = TE_TRAINING_PROGRESS;
    snprintf(ev.scenario, sizeof ev.scenario, "%s", scenario);
    ev.data.progress.episode = episode;
    ev.data.progress.total_episodes = 10;
    return ev;
}

static struct te_event stopped_event(const char *scenario)
{
    struct te_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = TE_TRAINING_STOPPED;
    snprintf(ev.scenario, sizeof ev.scenario, "%s", scenario);
    snprintf(ev.data.stopped.scenario_name, sizeof ev.data.stopped.scenario_name, "%s", scenario);
    return ev;
}

/* Blocks the calling thread for ms, as a long training step would. */
static void block_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* Receives what arrives within timeout_ms; 0 if nothing did. */
static int receive_within(struct te_event *ev, int timeout_ms)
{
    zsock_set_rcvtimeo(zactor_sock(sub), timeout_ms);
    struct te_error why;
    int rc = receive_event(sub, ev, &why);
    zsock_set_rcvtimeo(zactor_sock(sub), RECV_TIMEOUT_MS);
    return rc == 0;
}

Test(te_publish, heartbeats_follow_started_and_keep_coming_while_the_caller_blocks)
{
    struct te_publisher *p = new_beating_publisher(sub_endpoint, "beater", 0, BEAT_MS);
    struct te_event ev = started_event("alpha");
    cr_assert_eq(te_publisher_send(p, &ev, NULL), 0);
    struct te_event got;
    RECEIVE(sub, &got);
    cr_assert_eq(got.type, TE_TRAINING_STARTED);
    RECEIVE(sub, &got); /* the first heartbeat comes right after training_started */
    cr_assert_eq(got.type, TE_HEARTBEAT);
    cr_assert_eq(got.seq, 1, "a heartbeat repeats the latest event's seq");
    cr_assert_eq(got.version, 2);
    cr_assert_str_eq(got.scenario, "alpha");
    cr_assert_str_eq(got.data.heartbeat.scenario_name, "alpha");
    cr_assert_eq(got.data.heartbeat.episode, 0);
    cr_assert_eq(got.data.heartbeat.interval_ms, BEAT_MS);
    ev = progress_event("alpha", 3);
    cr_assert_eq(te_publisher_send(p, &ev, NULL), 0);
    block_ms(10 * BEAT_MS); /* one long call: no sends from this thread */
    uint64_t last_seq = 1;
    int64_t last_beat_us = got.ts_us;
    int n_beats = 0;
    while (receive_within(&got, 0) || receive_within(&got, 50)) {
        if (got.type != TE_HEARTBEAT) {
            cr_assert_eq(got.seq, last_seq + 1, "events stay contiguous");
            last_seq = got.seq;
            continue;
        }
        cr_assert_eq(got.seq, last_seq, "a heartbeat repeats the latest event's seq");
        n_beats++;
        cr_assert_eq(got.data.heartbeat.episode, 3, "the latest episode");
        cr_assert_geq(got.ts_us - last_beat_us, (BEAT_MS - 20) * 1000, "a heartbeat came early");
        last_beat_us = got.ts_us;
    }
    cr_assert_geq(n_beats, 2, "%d heartbeats while the caller blocked for 10 intervals", n_beats);
    cr_assert_geq(te_publisher_heartbeats(p), (uint64_t)n_beats + 1); /* one more may be out */
    te_publisher_destroy(&p);
}

Test(te_publish, heartbeats_stop_after_the_terminal_event)
{
    struct te_publisher *p = new_beating_publisher(sub_endpoint, "ender", 0, BEAT_MS);
    struct te_event ev = started_event("alpha");
    cr_assert_eq(te_publisher_send(p, &ev, NULL), 0);
    block_ms(2 * BEAT_MS);
    ev = stopped_event("alpha");
    cr_assert_eq(te_publisher_send(p, &ev, NULL), 0);
    uint64_t beats = te_publisher_heartbeats(p);
    cr_assert_geq(beats, 1);
    struct te_event got;
    do
        RECEIVE(sub, &got);
    while (got.type != TE_TRAINING_STOPPED);
    cr_assert_not(receive_within(&got, 4 * BEAT_MS), "%s after the terminal event",
                  te_event_name(got.type));
    cr_assert_eq(te_publisher_heartbeats(p), beats);
    te_publisher_destroy(&p);
}

Test(te_publish, no_heartbeat_after_destroy)
{
    struct te_publisher *p = new_beating_publisher(sub_endpoint, "quitter", 0, TE_HEARTBEAT_MIN_MS);
    struct te_event ev = started_event("alpha");
    cr_assert_eq(te_publisher_send(p, &ev, NULL), 0);
    block_ms(3 * TE_HEARTBEAT_MIN_MS);
    te_publisher_destroy(&p); /* the run is still active */
    cr_assert_null(p);
    struct te_event got;
    uint64_t n = 0;
    while (receive_within(&got, 2 * TE_HEARTBEAT_MIN_MS)) /* what was sent before destroy */
        n++;
    cr_assert_geq(n, 3, "started and at least two heartbeats");
    cr_assert_not(receive_within(&got, 5 * TE_HEARTBEAT_MIN_MS), "a heartbeat after destroy");
}

Test(te_publish, each_active_scenario_beats_on_its_own_topic)
{
    struct te_publisher *p = new_beating_publisher(sub_endpoint, "multi", 0, BEAT_MS);
    struct te_event ev = started_event("alpha");
    cr_assert_eq(te_publisher_send(p, &ev, NULL), 0);
    ev = started_event("beta");
    cr_assert_eq(te_publisher_send(p, &ev, NULL), 0);
    ev = progress_event("beta", 7);
    cr_assert_eq(te_publisher_send(p, &ev, NULL), 0);
    ev = stopped_event("alpha");
    cr_assert_eq(te_publisher_send(p, &ev, NULL), 0);
    block_ms(5 * BEAT_MS);
    struct te_event got;
    int beats[2] = {0, 0};
    bool is_alpha_over = false;
    while (receive_within(&got, 0) || receive_within(&got, 50)) {
        is_alpha_over = is_alpha_over || got.type == TE_TRAINING_STOPPED;
        if (got.type != TE_HEARTBEAT)
            continue;
        bool is_beta = strcmp(got.scenario, "beta") == 0;
        beats[is_beta]++;
        cr_assert_not(!is_beta && is_alpha_over, "alpha beat after its terminal event");
        if (is_beta && beats[1] > 1)
            cr_assert_eq(got.data.heartbeat.episode, 7);
    }
    cr_assert_eq(beats[0], 1, "alpha: only its first heartbeat");
    cr_assert_geq(beats[1], 2, "beta keeps beating");
    te_publisher_destroy(&p);
}

Test(te_publish, negative_interval_turns_heartbeats_off)
{
    struct te_publisher *p = new_beating_publisher(sub_endpoint, "silent", 0, -1);
    struct te_event ev = started_event("alpha");
    cr_assert_eq(te_publisher_send(p, &ev, NULL), 0);
    struct te_event got;
    RECEIVE(sub, &got);
    cr_assert_eq(got.type, TE_TRAINING_STARTED);
    cr_assert_not(receive_within(&got, 2 * BEAT_MS));
    cr_assert_eq(te_publisher_heartbeats(p), 0);
    cr_assert_eq(te_publisher_sent(p), 1);
    te_publisher_destroy(&p);
}

Test(te_publish, refuses_heartbeats_from_the_caller)
{
    struct te_publisher *p = new_beating_publisher(sub_endpoint, "forger", 0, BEAT_MS);
    struct te_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = TE_HEARTBEAT;
    strcpy(ev.scenario, "alpha");
    strcpy(ev.data.heartbeat.scenario_name, "alpha");
    ev.data.heartbeat.interval_ms = BEAT_MS;
    struct te_error err;
    cr_assert_eq(te_publisher_send(p, &ev, &err), -EINVAL);
    cr_assert_eq(err.code, TE_E_UNKNOWN_EVENT);
    cr_assert_eq(te_publisher_sent(p), 0);
    te_publisher_destroy(&p);
}

Test(te_publish, default_interval_is_five_seconds)
{
    struct te_publisher *p = new_beating_publisher(sub_endpoint, "default", 0, 0);
    struct te_event ev = started_event("alpha");
    cr_assert_eq(te_publisher_send(p, &ev, NULL), 0);
    struct te_event got;
    RECEIVE(sub, &got);
    RECEIVE(sub, &got);
    cr_assert_eq(got.type, TE_HEARTBEAT);
    cr_assert_eq(got.data.heartbeat.interval_ms, TE_HEARTBEAT_INTERVAL_MS);
    cr_assert_eq(TE_HEARTBEAT_INTERVAL_MS, 5000);
    te_publisher_destroy(&p);
}

Test(te_publish, out_of_range_interval_gives_null_and_error)
{
    const int bad[] = {1, TE_HEARTBEAT_MIN_MS - 1, TE_HEARTBEAT_MAX_MS + 1};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *eps[] = {sub_endpoint};
        struct te_publisher_opts opts = {
            .endpoints = eps, .n_endpoints = 1, .heartbeat_interval_ms = bad[i]};
        struct te_error err;
        cr_assert_null(te_publisher_new(&opts, &err), "%d ms", bad[i]);
        cr_assert_eq(err.code, TE_E_RANGE);
        cr_assert_str_eq(err.field, "heartbeat_interval_ms");
    }
}
