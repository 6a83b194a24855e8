/* ingest: a real ZeroMQ PUB socket feeding the bridge's SUB socket, whose
 * descriptor is adopted into a real lws loop, as in the bridge: good events
 * come out encoded once, bad ones are counted by reason, sequence gaps,
 * reorders and restarts are counted, and a burst larger than the per-wake-up
 * budget still arrives whole and in order. Heartbeats are counted, handed to
 * the heartbeat callback and never forwarded; a heartbeat flood from one
 * trainer does not keep another trainer's run from arriving whole. */
#include <criterion/criterion.h>
#include <czmq.h>
#include <libwebsockets.h>
#include <msgpack.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
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
/* A 5 ms ticker keeps the loop turning while the test waits for things
 * outside it (the publisher's side): the bridge itself never needs one. */
static lws_sorted_usec_list_t sul_tick;
static void on_tick(lws_sorted_usec_list_t *sul)
{
    lws_sul_schedule(lws, 0, sul, on_tick, 5 * LWS_US_PER_MS);
}

/* Services the loop until cond() holds or the deadline passes. */
static bool run_until(bool (*cond)(void))
{
    lws_sul_schedule(lws, 0, &sul_tick, on_tick, 5 * LWS_US_PER_MS);
    int64_t deadline = zclock_mono() + DEADLINE_MS;
    while (!cond() && zclock_mono() < deadline)
        lws_service(lws, 0);
    lws_sul_cancel(&sul_tick);
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

/* ------------------------------------------------------------ heartbeats */

static struct te_event heartbeat_event(const char *scenario, const char *trainer, uint64_t seq)
{
    struct te_event ev;
    memset(&ev, 0, sizeof ev);
    ev.version = 2;
    ev.type = TE_HEARTBEAT;
    snprintf(ev.scenario, sizeof ev.scenario, "%s", scenario);
    snprintf(ev.trainer, sizeof ev.trainer, "%s", trainer);
    ev.seq = seq;
    ev.ts_us = 1;
    snprintf(ev.data.heartbeat.scenario_name, sizeof ev.data.heartbeat.scenario_name, "%s",
             scenario);
    ev.data.heartbeat.episode = 4;
    ev.data.heartbeat.interval_ms = 1000;
    return ev;
}

/* Encodes a heartbeat into buf; returns its length. */
static size_t encode_heartbeat(const char *scenario, const char *trainer, uint64_t seq,
                               unsigned char *buf, size_t cap)
{
    struct te_event ev = heartbeat_event(scenario, trainer, seq);
    int n = te_event_encode(&ev, buf, cap, NULL);
    cr_assert_gt(n, 0);
    return (size_t)n;
}

static void send_heartbeat(const char *scenario, const char *trainer, uint64_t seq)
{
    unsigned char buf[512];
    size_t n = encode_heartbeat(scenario, trainer, seq, buf, sizeof buf);
    zsock_send(pub, "sb", scenario, buf, n);
}

static bool counted_heartbeats_3(void)
{
    return m.counters[METRIC_HEARTBEATS] >= 3;
}

static bool counted_heartbeats_5(void)
{
    return m.counters[METRIC_HEARTBEATS] >= 5;
}

/* A heartbeat repeats its trainer's latest seq: never a repeat to drop,
 * and one above the last event reveals lost events at once. */
Test(ingest, heartbeats_are_counted_and_never_forwarded)
{
    send_progress("t1", 1);
    send_heartbeat("alpha", "t1", 1);
    send_heartbeat("alpha", "t1", 1);
    send_progress("t1", 2);
    send_heartbeat("alpha", "t1", 2);
    send_heartbeat("alpha", "t1", 5); /* events 3..5 were lost */
    send_progress("t1", 6);
    send_heartbeat("alpha", "t1", 4); /* late: changes nothing */
    expected_seen = 3;
    cr_assert(run_until(seen_enough));
    cr_assert(run_until(counted_heartbeats_5));
    cr_assert_eq(n_seen, 3, "a heartbeat reached the event callback");
    cr_assert_eq(seen_seq[0], 1);
    cr_assert_eq(seen_seq[1], 2);
    cr_assert_eq(seen_seq[2], 6);
    cr_assert_eq(m.counters[METRIC_HEARTBEATS], 5);
    cr_assert_eq(m.counters[METRIC_INGEST_MESSAGES], 3, "heartbeats are not events");
    cr_assert_eq(m.counters[METRIC_INGEST_GAPS], 3, "counted once, at the heartbeat");
    cr_assert_eq(m.counters[METRIC_INGEST_DUPLICATES], 0);
}

static struct te_event hb_got[8];
static size_t n_hb_got;

/* A stand-in run store: alpha has t1's run, beta has runs but not t2's,
 * gamma has none. */
static enum heartbeat_reason judge_heartbeat(const struct te_event *hb, void *arg)
{
    cr_assert_eq(arg, &hb_got);
    if (n_hb_got < 8)
        hb_got[n_hb_got++] = *hb;
    if (strcmp(hb->scenario, "alpha") == 0)
        return HEARTBEAT_TAKEN;
    return strcmp(hb->scenario, "beta") == 0 ? HEARTBEAT_NO_RUN : HEARTBEAT_UNKNOWN_SCENARIO;
}

Test(ingest, heartbeat_callback_sees_each_and_its_verdict_is_counted)
{
    n_hb_got = 0;
    ingest_set_heartbeat_fn(in, judge_heartbeat, &hb_got);
    send_heartbeat("alpha", "t1", 1);
    send_heartbeat("beta", "t2", 1);
    send_heartbeat("gamma", "t3", 1);
    cr_assert(run_until(counted_heartbeats_3));
    cr_assert_eq(n_hb_got, 3);
    cr_assert_str_eq(hb_got[0].scenario, "alpha");
    cr_assert_eq(hb_got[0].data.heartbeat.episode, 4);
    cr_assert_eq(hb_got[0].data.heartbeat.interval_ms, 1000);
    cr_assert_eq(m.heartbeats_ignored[HEARTBEAT_NO_RUN], 1);
    cr_assert_eq(m.heartbeats_ignored[HEARTBEAT_UNKNOWN_SCENARIO], 1);
    cr_assert_eq(n_seen, 0);
    size_t len;
    char *text = metrics_render_new(&m, &len);
    cr_expect_not_null(strstr(text, "trainbridge_heartbeats_total 3\n"), "%s", text);
    cr_expect_not_null(strstr(text, "trainbridge_heartbeats_ignored_total{reason=\"no_run\"} 1\n"));
    cr_expect_not_null(
        strstr(text, "trainbridge_heartbeats_ignored_total{reason=\"unknown_scenario\"} 1\n"));
    free(text);
}

static int write_raw(void *data, const char *buf, size_t len)
{
    zchunk_t *chunk = data;
    zchunk_extend(chunk, buf, len);
    return 0;
}

/* A heartbeat written field by field, so that it can break the rules. */
static void send_raw_heartbeat(unsigned v, const char *name, int64_t episode, int64_t interval_ms)
{
    zchunk_t *chunk = zchunk_new(NULL, 256);
    msgpack_packer pk;
    msgpack_packer_init(&pk, chunk, write_raw);
    const char *keys[] = {"v", "event", "scenario", "trainer", "seq", "ts", "data"};
    msgpack_pack_map(&pk, 7);
    for (int k = 0; k < 7; k++) {
        msgpack_pack_str_with_body(&pk, keys[k], strlen(keys[k]));
        switch (k) {
        case 0:
            msgpack_pack_unsigned_int(&pk, v);
            break;
        case 1:
            msgpack_pack_str_with_body(&pk, "heartbeat", 9);
            break;
        case 2:
            msgpack_pack_str_with_body(&pk, "alpha", 5);
            break;
        case 3:
            msgpack_pack_str_with_body(&pk, "t9", 2);
            break;
        case 4:
            msgpack_pack_int(&pk, 1);
            break;
        case 5:
            msgpack_pack_int(&pk, 1);
            break;
        default:
            msgpack_pack_map(&pk, 3);
            msgpack_pack_str_with_body(&pk, "scenario_name", 13);
            msgpack_pack_str_with_body(&pk, name, strlen(name));
            msgpack_pack_str_with_body(&pk, "episode", 7);
            msgpack_pack_int64(&pk, episode);
            msgpack_pack_str_with_body(&pk, "interval_ms", 11);
            msgpack_pack_int64(&pk, interval_ms);
        }
    }
    zsock_send(pub, "sb", "alpha", zchunk_data(chunk), zchunk_size(chunk));
    zchunk_destroy(&chunk);
}

static bool rejected_five(void)
{
    return total_rejected() >= 5;
}

Test(ingest, bad_heartbeats_are_rejected_by_reason)
{
    send_raw_heartbeat(2, "alpha", -1, 1000);   /* negative episode */
    send_raw_heartbeat(2, "beta", 1, 1000);     /* scenario_name is not the scenario */
    send_raw_heartbeat(2, "alpha", 1, 0);       /* no interval */
    send_raw_heartbeat(2, "alpha", 1, 7200000); /* longer than an hour */
    send_raw_heartbeat(1, "alpha", 1, 1000);    /* v1 has no heartbeat */
    send_raw_heartbeat(2, "alpha", 1, 1000);    /* good */
    cr_assert(run_until(rejected_five));
    cr_assert_eq(m.rejected[TE_E_RANGE], 3);
    cr_assert_eq(m.rejected[TE_E_MISMATCH], 1);
    cr_assert_eq(m.rejected[TE_E_UNKNOWN_EVENT], 1);
    int64_t deadline = zclock_mono() + DEADLINE_MS;
    while (m.counters[METRIC_HEARTBEATS] < 1 && zclock_mono() < deadline)
        lws_service(lws, 0);
    cr_assert_eq(m.counters[METRIC_HEARTBEATS], 1);
    cr_assert_eq(n_seen, 0);
}

/* The flood: one trainer sending heartbeats from its own socket and thread
 * as fast as ZeroMQ takes them, until told to stop. */
struct flood {
    char endpoint[256];
    atomic_bool is_stopping;
    atomic_ullong n_sent;
    double seconds;
};

static void *run_flood(void *arg)
{
    struct flood *f = arg;
    zsock_t *sock = zsock_new(ZMQ_PUB);
    zsock_set_sndhwm(sock, 100000);
    cr_assert_eq(zsock_connect(sock, "%s", f->endpoint), 0);
    unsigned char buf[512];
    int64_t start = zclock_usecs();
    for (uint64_t seq = 1; !atomic_load(&f->is_stopping) && seq < 50000000; seq++) {
        size_t n = encode_heartbeat("flood", "flooder", seq, buf, sizeof buf);
        if (zmq_send(zsock_resolve(sock), "flood", 5, ZMQ_SNDMORE) == 5 &&
            zmq_send(zsock_resolve(sock), buf, n, 0) == (int)n)
            atomic_fetch_add(&f->n_sent, 1);
    }
    f->seconds = (double)(zclock_usecs() - start) / 1e6;
    zsock_set_linger(sock, 0);
    zsock_destroy(&sock);
    return NULL;
}

static bool flood_is_flowing(void)
{
    return m.counters[METRIC_HEARTBEATS] >= 20000;
}

/* Sends a whole run from t1: started, n_progress progress, completed. */
static void send_run(size_t n_progress)
{
    for (uint64_t seq = 1; seq <= n_progress + 2; seq++) {
        if (seq == 1 || seq == n_progress + 2) {
            struct te_event ev;
            memset(&ev, 0, sizeof ev);
            ev.version = 1;
            ev.type = seq == 1 ? TE_TRAINING_STARTED : TE_TRAINING_COMPLETED;
            strcpy(ev.scenario, "alpha");
            strcpy(ev.trainer, "t1");
            ev.seq = seq;
            if (seq == 1) {
                strcpy(ev.data.started.scenario_name, "alpha");
                strcpy(ev.data.started.start_time, "2024-05-01T12:00:00Z");
            } else {
                strcpy(ev.data.completed.scenario_name, "alpha");
            }
            unsigned char buf[512];
            int n = te_event_encode(&ev, buf, sizeof buf, NULL);
            cr_assert_gt(n, 0);
            zsock_send(pub, "sb", "alpha", buf, (size_t)n);
        } else {
            send_progress("t1", seq);
        }
    }
}

/* A flood of 10^5 and more heartbeats per second from one trainer while
 * another trainer's run arrives: the run arrives whole and in order while
 * the flood is still going. Rates are printed, never asserted. */
Test(ingest, heartbeat_flood_does_not_starve_a_run, .timeout = 60)
{
    static struct flood f;
    memset(&f, 0, sizeof f);
    cr_assert_gt(ingest_endpoints(in, f.endpoint, sizeof f.endpoint), 0);
    pthread_t thread;
    cr_assert_eq(pthread_create(&thread, NULL, run_flood, &f), 0);
    bool is_flowing = run_until(flood_is_flowing);
    uint64_t hb_before = m.counters[METRIC_HEARTBEATS];
    int64_t run_start = zclock_usecs();
    const size_t n_progress = 1000;
    send_run(n_progress);
    expected_seen = n_progress + 2;
    bool is_whole = run_until(seen_enough);
    int64_t run_us = zclock_usecs() - run_start;
    uint64_t hb_during = m.counters[METRIC_HEARTBEATS] - hb_before;
    bool was_flooding = !atomic_load(&f.is_stopping);
    atomic_store(&f.is_stopping, true);
    pthread_join(thread, NULL);
    cr_assert(is_flowing, "the flood never reached the bridge");
    cr_assert(is_whole, "the run arrived with %zu of %zu events", n_seen, expected_seen);
    cr_assert(was_flooding);
    for (size_t i = 0; i < expected_seen; i++)
        cr_assert_eq(seen_seq[i], i + 1, "event %zu", i);
    cr_assert_gt(hb_during, 0, "the flood did not go on while the run arrived");
    fprintf(stderr,
            "heartbeat flood: %.0f sent/s by the flooder; the bridge counted %" PRIu64
            " heartbeats while the %zu-event run arrived in %.1f ms (%.0f heartbeats/s)\n",
            (double)atomic_load(&f.n_sent) / f.seconds, hb_during, expected_seen,
            (double)run_us / 1000.0, (double)hb_during * 1e6 / (double)run_us);
}
