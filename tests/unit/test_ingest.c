/* ingest: a real ZeroMQ PUB socket feeding the bridge's SUB socket, whose
 * descriptor is adopted into a real lws loop, as in the bridge: good events
 * come out encoded once, bad ones are counted by reason, sequence gaps,
 * reorders and restarts are counted, and a burst larger than the per-wake-up
 * budget still arrives whole and in order. */
#include <criterion/criterion.h>
#include <czmq.h>
#include <libwebsockets.h>
#include <string.h>

#include "config.h"
#include "ingest.h"
#include "metrics.h"

#define DEADLINE_MS 5000
#define MAX_SEEN 4096

static struct lws_context *lws;
static struct lws_protocols protocols[2];
static struct metrics m;
static struct ingest *in;
static zsock_t *pub;
static uint64_t seen_seq[MAX_SEEN];
static size_t n_seen;
static char last_packet[512];

static void on_event(const struct te_event *ev, struct packet *pkt, void *arg)
{
    (void)arg;
    if (n_seen < MAX_SEEN)
        seen_seq[n_seen++] = ev->seq;
    snprintf(last_packet, sizeof last_packet, "%.*s", (int)pkt->len, (char *)packet_data(pkt));
}

/* Services the loop until cond() holds or the deadline passes. */
static bool run_until(bool (*cond)(void))
{
    int64_t deadline = zclock_mono() + DEADLINE_MS;
    while (!cond() && zclock_mono() < deadline)
        lws_service(lws, 0);
    return cond();
}

static bool subscribed;
static bool has_subscription(void)
{
    if (!subscribed && zsock_events(pub) & ZMQ_POLLIN) {
        zframe_t *f = zframe_recv(pub);
        subscribed = f && zframe_size(f) >= 1 && zframe_data(f)[0] == 1;
        zframe_destroy(&f);
    }
    return subscribed;
}

static void setup(void)
{
    zsys_handler_set(NULL);
    memset(&m, 0, sizeof m);
    n_seen = 0;
    subscribed = false;
    protocols[0] = *ingest_protocol(); /* the bridge's own entry; lws keeps the table */
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN_SERVER;
    info.protocols = protocols;
    lws_set_log_level(LLL_ERR, NULL);
    lws = lws_create_context(&info);
    cr_assert_not_null(lws);
    struct cfg cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.zmq_bind[0] = "tcp://127.0.0.1:*";
    cfg.n_zmq_bind = 1;
    in = ingest_new(&cfg, &m, on_event, NULL);
    cr_assert_not_null(in);
    cr_assert_eq(ingest_attach(in, lws, lws_get_vhost_by_name(lws, "default")), 0);
    char endpoint[256];
    cr_assert_gt(ingest_endpoints(in, endpoint, sizeof endpoint), 0);
    pub = zsock_new(ZMQ_XPUB);
    zsock_set_sndhwm(pub, 100000);
    cr_assert_eq(zsock_connect(pub, "%s", endpoint), 0);
    /* the SUB's subscription arrives while its loop runs: the slow joiner */
    cr_assert(run_until(has_subscription), "no subscription from the bridge's SUB socket");
}

static void teardown(void)
{
    zsock_destroy(&pub);
    ingest_destroy(&in);
    lws_context_destroy(lws);
}

TestSuite(ingest, .init = setup, .fini = teardown);

static void send_progress(const char *trainer, uint64_t seq)
{
    struct te_event ev;
    memset(&ev, 0, sizeof ev);
    ev.version = TE_SCHEMA_VERSION;
    ev.type = TE_TRAINING_PROGRESS;
    strcpy(ev.scenario, "alpha");
    snprintf(ev.trainer, sizeof ev.trainer, "%s", trainer);
    ev.seq = seq;
    ev.ts_us = 1;
    ev.data.progress =
        (struct te_progress){.episode = (int64_t)seq, .total_episodes = 9999, .avg_reward = 150.5};
    unsigned char buf[TE_MAX_FRAME_BYTES];
    int n = te_event_encode(&ev, buf, sizeof buf, NULL);
    cr_assert_gt(n, 0);
    zsock_send(pub, "sb", "alpha", buf, (size_t)n);
}

static size_t expected_seen;
static bool seen_enough(void)
{
    return n_seen >= expected_seen;
}

static uint64_t total_rejected(void)
{
    uint64_t n = 0;
    for (int i = 0; i < TE_ERRC_COUNT; i++)
        n += m.rejected[i];
    return n;
}

static bool rejected_three(void)
{
    return total_rejected() >= 3;
}

Test(ingest, delivers_an_event_encoded_once_as_a_socket_io_packet)
{
    send_progress("t1", 1);
    expected_seen = 1;
    cr_assert(run_until(seen_enough));
    const char *prefix = "42[\"training_progress\",{\"episode\":1,";
    cr_assert(strncmp(last_packet, prefix, strlen(prefix)) == 0, "%s", last_packet);
    cr_assert_not_null(
        strstr(last_packet, "{\"scenario_name\":\"alpha\",\"trainer\":\"t1\",\"seq\":1"));
    cr_assert_eq(m.counters[METRIC_INGEST_MESSAGES], 1);
    cr_assert_eq(ingest_n_trainers(in), 1);
}

Test(ingest, burst_larger_than_the_budget_arrives_whole_and_in_order)
{
    const size_t n = 3000; /* many wake-up budgets */
    for (uint64_t i = 1; i <= n; i++)
        send_progress("t1", i);
    expected_seen = n;
    cr_assert(run_until(seen_enough), "got %zu of %zu", n_seen, n);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(seen_seq[i], i + 1);
    cr_assert_eq(m.counters[METRIC_INGEST_GAPS], 0);
}

Test(ingest, counts_gaps_drops_repeats_and_sees_restarts_per_trainer)
{
    uint64_t seqs[] = {1, 2, 5, 4, 5, 1, 2};
    for (size_t i = 0; i < 7; i++)
        send_progress("t1", seqs[i]);
    send_progress("t2", 7); /* first sight of a trainer is never a gap */
    expected_seen = 6;      /* 4 and the second 5 are dropped */
    cr_assert(run_until(seen_enough));
    uint64_t delivered[] = {1, 2, 5, 1, 2, 7};
    for (size_t i = 0; i < 6; i++)
        cr_assert_eq(seen_seq[i], delivered[i], "delivery %zu", i);
    cr_assert_eq(m.counters[METRIC_INGEST_GAPS], 2);
    cr_assert_eq(m.counters[METRIC_INGEST_DUPLICATES], 2);
    cr_assert_eq(m.counters[METRIC_INGEST_RESTARTS], 1);
    cr_assert_eq(ingest_n_trainers(in), 2);
}

Test(ingest, rejects_bad_messages_by_reason_and_keeps_going)
{
    zsock_send(pub, "s", "alpha");                     /* one frame */
    zsock_send(pub, "sss", "alpha", "x", "y");         /* three frames */
    zsock_send(pub, "sb", "alpha", "\xc1", (size_t)1); /* not msgpack */
    send_progress("t1", 1);                            /* still delivered */
    expected_seen = 1;
    cr_assert(run_until(seen_enough));
    cr_assert(run_until(rejected_three));
    cr_assert_eq(m.rejected[TE_E_FRAMES], 2);
    cr_assert_eq(m.rejected[TE_E_MALFORMED], 1);
    cr_assert_eq(m.counters[METRIC_INGEST_MESSAGES], 1);
}

Test(ingest, rejects_a_topic_that_is_not_the_scenario)
{
    struct te_event ev;
    memset(&ev, 0, sizeof ev);
    ev.version = TE_SCHEMA_VERSION;
    ev.type = TE_TRAINING_STOPPED;
    strcpy(ev.scenario, "alpha");
    strcpy(ev.trainer, "t1");
    ev.seq = 1;
    strcpy(ev.data.stopped.scenario_name, "alpha");
    unsigned char buf[512];
    int n = te_event_encode(&ev, buf, sizeof buf, NULL);
    cr_assert_gt(n, 0);
    zsock_send(pub, "sb", "beta", buf, (size_t)n);
    send_progress("t1", 2);
    expected_seen = 1;
    cr_assert(run_until(seen_enough));
    cr_assert_eq(m.rejected[TE_E_TOPIC], 1);
}
