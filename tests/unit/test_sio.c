/* sio: the bridge's Socket.IO layer, driven through real Engine.IO sessions
 * (eio.c) and rooms (rooms.c) over a recording transport instead of lws
 * connections. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <libwebsockets.h>
#include <string.h>

#include "eio.h"
#include "fake_transport.h"
#include "metrics.h"
#include "rooms.h"
#include "sample_event.h"
#include "runs.h"
#include "sio.h"

static struct lws_context *lws;
static struct metrics m;
static struct rooms *rooms;
static struct sio *sio;
static struct eio_server *eio;

static void setup(void)
{
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    lws_set_log_level(LLL_ERR, NULL);
    lws = lws_create_context(&info);
    cr_assert_not_null(lws);
    memset(&m, 0, sizeof m);
    rooms = rooms_new();
    sio = sio_new(rooms, &m, 4);
    struct eio_server_opts opts = {.ping_interval_ms = 25000,
                                   .ping_timeout_ms = 20000,
                                   .max_payload = 1000,
                                   .client_queue_bytes = 4096};
    struct eio_handler h = sio_eio_handler(sio);
    eio = eio_server_new(lws, &opts, &h, &m);
}

static void teardown(void)
{
    eio_server_destroy(&eio);
    sio_destroy(&sio);
    rooms_destroy(&rooms);
    lws_context_destroy(lws);
}

static void open_conn(struct fake_conn *c)
{
    fake_open(c, eio, &fake_ws_ops);
}

static void connect_and_subscribe(struct fake_conn *c, const char *scenario)
{
    open_conn(c);
    fake_recv(c, "40");
    char msg[128];
    snprintf(msg, sizeof msg, "421[\"subscribe_training\",{\"scenario_name\":\"%s\"}]", scenario);
    fake_recv(c, msg);
}

static size_t broadcast(const char *scenario, const char *text)
{
    struct packet *p = packet_from_text(text, strlen(text));
    size_t n = sio_broadcast(sio, scenario, p);
    packet_unref(&p);
    return n;
}

TestSuite(sio, .init = setup, .fini = teardown);

Test(sio, open_packet_comes_first_with_sid_and_no_upgrades)
{
    struct fake_conn c;
    open_conn(&c);
    cr_assert_eq(c.n_out, 1);
    cr_assert(strncmp(c.out[0], "0{\"sid\":\"", 9) == 0, "got %s", c.out[0]);
    cr_assert_not_null(strstr(c.out[0], "\"upgrades\":[]"));
    cr_assert_not_null(strstr(c.out[0], "\"pingInterval\":25000"));
    cr_assert_not_null(strstr(c.out[0], "\"maxPayload\":1000"));
    fake_close(&c);
}

Test(sio, connect_to_root_answers_a_socket_id)
{
    struct fake_conn c;
    open_conn(&c);
    fake_recv(&c, "40{\"token\":\"abc\"}");
    cr_assert(strncmp(fake_last(&c), "40{\"sid\":\"", 10) == 0, "got %s", fake_last(&c));
    cr_assert_eq(strlen(fake_last(&c)), strlen("40{\"sid\":\"\"}") + EIO_SID_LEN);
    fake_close(&c);
}

Test(sio, connect_to_other_namespace_is_refused)
{
    struct fake_conn c;
    open_conn(&c);
    fake_recv(&c, "40/admin,");
    cr_assert_str_eq(fake_last(&c), "44/admin,{\"message\":\"Invalid namespace\"}");
    cr_assert_not(eio_session_is_closing(c.s));
    fake_close(&c);
}

Test(sio, subscribe_is_acknowledged)
{
    struct fake_conn c;
    connect_and_subscribe(&c, "alpha");
    cr_assert_str_eq(fake_last(&c),
                     "431[{\"ok\":true,\"scenario_name\":\"alpha\",\"runs\":0,\"replayed\":0}]");
    cr_assert_eq(rooms_n_members(rooms, "alpha"), 1);
    cr_assert_eq(m.counters[METRIC_SUBSCRIBES], 1);
    fake_close(&c);
    cr_assert_eq(rooms_n_rooms(rooms), 0);
}

/* Criterion runs each parameter in a fresh process: no pointers in params. */
struct bad_subscribe {
    char packet[96];
    char error_part[32];
};

ParameterizedTestParameters(sio, bad_subscribe_payload_gets_error_ack)
{
    static struct bad_subscribe cases[] = {
        {"427[\"subscribe_training\"]", "must be an object"},
        {"427[\"subscribe_training\",\"alpha\"]", "must be an object"},
        {"427[\"subscribe_training\",{}]", "must be a string"},
        {"427[\"subscribe_training\",{\"scenario_name\":5}]", "must be a string"},
        {"427[\"subscribe_training\",{\"scenario_name\":\"\"}]", "invalid scenario_name"},
        {"427[\"subscribe_training\",{\"scenario_name\":\"a b\"}]", "invalid scenario_name"},
        {"427[\"nonsense\",{}]", "unknown event"},
        {"427[\"subscribe_training\",{\"scenario_name\":\"a\\u0000b\"}]", "invalid scenario_name"},
        {"427[\"subscribe_training\\u0000x\",{}]", "unknown event"},
        {"427[\"subscribe_training\",{\"scenario_name\":\"a\",\"history\":\"all\"}]",
         "history must be one of"},
        {"427[\"subscribe_training\",{\"scenario_name\":\"a\",\"history\":1}]",
         "history must be one of"},
        {"427[\"subscribe_training\",{\"scenario_name\":\"a\",\"history\":null}]",
         "history must be one of"},
    };
    return cr_make_param_array(struct bad_subscribe, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct bad_subscribe *tc, sio, bad_subscribe_payload_gets_error_ack)
{
    struct fake_conn c;
    open_conn(&c);
    fake_recv(&c, "40");
    fake_recv(&c, tc->packet);
    cr_assert(strncmp(fake_last(&c), "437[{\"ok\":false,\"error\":\"", 25) == 0, "got %s",
              fake_last(&c));
    cr_assert_not_null(strstr(fake_last(&c), tc->error_part), "got %s", fake_last(&c));
    cr_assert_eq(rooms_n_rooms(rooms), 0);
    cr_assert_not(eio_session_is_closing(c.s));
    fake_close(&c);
}

Test(sio, events_reach_only_their_room_and_star)
{
    struct fake_conn a, b, star;
    connect_and_subscribe(&a, "alpha");
    connect_and_subscribe(&b, "beta");
    connect_and_subscribe(&star, "*");
    int na = a.n_out, nb = b.n_out, ns = star.n_out;
    cr_assert_eq(broadcast("alpha", "42[\"training_started\"]"), 2);
    fake_drain(&a);
    fake_drain(&b);
    fake_drain(&star);
    cr_assert_eq(a.n_out, na + 1);
    cr_assert_eq(b.n_out, nb);
    cr_assert_eq(star.n_out, ns + 1);
    cr_assert_str_eq(fake_last(&a), "42[\"training_started\"]");
    cr_assert_eq(m.counters[METRIC_DELIVERIES], 2);
    fake_close(&a);
    fake_close(&b);
    fake_close(&star);
}

Test(sio, client_in_room_and_star_gets_each_event_once)
{
    struct fake_conn c;
    connect_and_subscribe(&c, "alpha");
    fake_recv(&c, "422[\"subscribe_training\",{\"scenario_name\":\"*\"}]");
    int n = c.n_out;
    cr_assert_eq(broadcast("alpha", "42[\"x\"]"), 1);
    cr_assert_eq(broadcast("alpha", "42[\"y\"]"), 1);
    fake_drain(&c);
    cr_assert_eq(c.n_out, n + 2);
    fake_close(&c);
}

Test(sio, unsubscribe_stops_delivery)
{
    struct fake_conn c;
    connect_and_subscribe(&c, "alpha");
    fake_recv(&c, "423[\"unsubscribe_training\",{\"scenario_name\":\"alpha\"}]");
    cr_assert_str_eq(fake_last(&c), "433[{\"ok\":true,\"scenario_name\":\"alpha\"}]");
    cr_assert_eq(broadcast("alpha", "42[\"x\"]"), 0);
    fake_close(&c);
}

Test(sio, rooms_per_client_are_limited)
{
    struct fake_conn c;
    open_conn(&c);
    fake_recv(&c, "40");
    const char *names[] = {"a", "b", "c", "d", "e"};
    for (int i = 0; i < 5; i++) {
        char msg[128];
        snprintf(msg, sizeof msg, "429[\"subscribe_training\",{\"scenario_name\":\"%s\"}]",
                 names[i]);
        fake_recv(&c, msg);
    }
    cr_assert_not_null(strstr(fake_last(&c), "too many subscriptions"), "got %s", fake_last(&c));
    cr_assert_eq(rooms_n_of_session(rooms, c.s), 4);
    fake_close(&c);
}

Test(sio, event_before_connect_closes_the_session)
{
    struct fake_conn c;
    open_conn(&c);
    fake_recv(&c, "421[\"subscribe_training\",{\"scenario_name\":\"alpha\"}]");
    cr_assert(eio_session_is_closing(c.s));
    cr_assert_str_eq(fake_last(&c), "1");
    cr_assert_eq(rooms_n_rooms(rooms), 0);
    fake_close(&c);
}

struct malformed {
    char text[64];
};

ParameterizedTestParameters(sio, malformed_packet_closes_only_that_session)
{
    static struct malformed cases[] = {{"4"},
                                       {"49"},
                                       {"42["},
                                       {"42{}"},
                                       {"42[]"},
                                       {"42[1]"},
                                       {"44{}"},
                                       {"4x"},
                                       {"42[\"a\"]junk"},
                                       {"40/a b"},
                                       {"9"},
                                       {""},
                                       {"42[\"subscribe_training\"]"},
                                       {"41"}};
    return cr_make_param_array(struct malformed, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct malformed *tc, sio, malformed_packet_closes_only_that_session)
{
    struct fake_conn bad, good;
    connect_and_subscribe(&good, "alpha");
    open_conn(&bad);
    fake_recv(&bad, tc->text);
    cr_assert(eio_session_is_closing(bad.s), "packet '%s' did not close the session", tc->text);
    cr_assert_eq(m.counters[METRIC_CLIENT_PROTOCOL_ERRORS], 1);
    cr_assert_not(eio_session_is_closing(good.s));
    cr_assert_eq(broadcast("alpha", "42[\"x\"]"), 1);
    fake_close(&bad);
    fake_close(&good);
}

Test(sio, binary_event_waits_for_its_attachment_then_answers)
{
    struct fake_conn c;
    open_conn(&c);
    fake_recv(&c, "40");
    fake_recv(&c, "451-5[\"subscribe_training\",{\"_placeholder\":true,\"num\":0}]");
    int n = c.n_out;
    eio_session_on_packet(c.s, "\x01\x02", 2, true);
    fake_drain(&c);
    cr_assert_eq(c.n_out, n + 1);
    cr_assert(strncmp(fake_last(&c), "435[{\"ok\":false", 15) == 0, "got %s", fake_last(&c));
    cr_assert_not(eio_session_is_closing(c.s));
    fake_close(&c);
}

Test(sio, stray_binary_frame_is_a_protocol_error)
{
    struct fake_conn c;
    open_conn(&c);
    fake_recv(&c, "40");
    eio_session_on_packet(c.s, "\x01", 1, true);
    cr_assert(eio_session_is_closing(c.s));
    fake_close(&c);
}

Test(sio, slow_client_is_dropped_at_its_bound_and_others_go_on)
{
    struct fake_conn slow, fast;
    connect_and_subscribe(&slow, "alpha");
    connect_and_subscribe(&fast, "alpha");
    char event[600];
    memset(event, 'x', sizeof event - 1);
    event[sizeof event - 1] = '\0';
    for (int i = 0; i < 20; i++) { /* 20 x 600 bytes > the 4096-byte bound */
        broadcast("alpha", event);
        fake_drain(&fast);
    }
    cr_assert(slow.is_aborted);
    cr_assert_eq(m.counters[METRIC_CLIENTS_DROPPED_SLOW], 1);
    cr_assert_not(fast.is_aborted);
    cr_assert_eq(m.counters[METRIC_DELIVERIES], 20 + 6); /* fast: 20; slow: 6 before the bound */
    fake_close(&slow);
    fake_close(&fast);
}

Test(sio, engine_io_ping_probe_is_answered)
{
    struct fake_conn c;
    open_conn(&c);
    fake_recv(&c, "2probe");
    cr_assert_str_eq(fake_last(&c), "3probe");
    fake_close(&c);
}

Test(sio, engine_io_close_from_client_ends_the_session)
{
    struct fake_conn c;
    open_conn(&c);
    fake_recv(&c, "1");
    cr_assert(c.is_aborted);
    cr_assert(eio_session_should_end(c.s));
    fake_close(&c);
}

Test(sio, graceful_close_sends_close_packet_then_ends)
{
    struct fake_conn c;
    connect_and_subscribe(&c, "alpha");
    eio_server_close_all(eio);
    cr_assert_not(eio_session_should_end(c.s));
    fake_drain(&c);
    cr_assert_str_eq(fake_last(&c), "1");
    cr_assert(eio_session_should_end(c.s));
    cr_assert_eq(broadcast("alpha", "42[\"x\"]"), 0);
    fake_close(&c);
}

/* ------------------------------------------------------------ history */

static struct runs *history;

static void setup_history(void)
{
    setup();
    struct runs_limits lim = {.max_points = 8,
                              .max_finished_per_scenario = 10,
                              .ttl_us = INT64_MAX,
                              .max_bytes = 1 << 30};
    history = runs_new_memory(&lim);
    sio_set_runs(sio, history);
}

static void teardown_history(void)
{
    teardown();
    runs_destroy(&history);
}

TestSuite(sio_history, .init = setup_history, .fini = teardown_history);

/* Records an event in the store and broadcasts it, as main.c does. */
static void publish(enum te_event_type type, const char *scenario, const char *trainer,
                    uint64_t seq)
{
    struct te_event ev = type == TE_TRAINING_PROGRESS
                             ? sample_progress(scenario, trainer, seq, (int64_t)seq - 1)
                             : sample_event(type, scenario, trainer, seq);
    struct packet *pkt = codec_event_packet(&ev);
    pkt->run_id = runs_record(history, &ev, pkt, 1);
    pkt->is_progress = type == TE_TRAINING_PROGRESS;
    sio_broadcast(sio, scenario, pkt);
    packet_unref(&pkt);
}

static int count_with(const struct fake_conn *c, const char *part)
{
    int n = 0;
    for (int i = 0; i < c->n_out; i++)
        n += strstr(c->out[i], part) != NULL;
    return n;
}

Test(sio_history, subscribe_replays_history_before_the_ack_then_live)
{
    publish(TE_TRAINING_STARTED, "alpha", "t1", 1);
    for (uint64_t seq = 2; seq <= 40; seq++)
        publish(TE_TRAINING_PROGRESS, "alpha", "t1", seq);
    struct fake_conn c;
    connect_and_subscribe(&c, "alpha");
    int n_replayed = count_with(&c, "\"replay\":true}]");
    cr_assert_geq(n_replayed, 3);
    cr_assert_leq(n_replayed, 9, "started + at most 8 points");
    cr_assert_not_null(strstr(c.out[2], "training_started"), "got %s", c.out[2]);
    cr_assert_not_null(strstr(c.out[c.n_out - 2], "\"episode\":39"), "ends with the latest");
    char ack[128];
    snprintf(ack, sizeof ack,
             "431[{\"ok\":true,\"scenario_name\":\"alpha\",\"runs\":1,\"replayed\":%d}]",
             n_replayed);
    cr_assert_str_eq(fake_last(&c), ack);
    publish(TE_TRAINING_PROGRESS, "alpha", "t1", 41);
    fake_drain(&c);
    cr_assert_not_null(strstr(fake_last(&c), "\"episode\":40"));
    cr_assert_null(strstr(fake_last(&c), "replay"));
    cr_assert_eq(m.counters[METRIC_REPLAYED_EVENTS], (uint64_t)n_replayed);
    fake_close(&c);
}

Test(sio_history, subscribing_again_replays_nothing)
{
    publish(TE_TRAINING_STARTED, "alpha", "t1", 1);
    struct fake_conn c;
    connect_and_subscribe(&c, "alpha");
    int before = c.n_out;
    fake_recv(&c, "422[\"subscribe_training\",{\"scenario_name\":\"alpha\"}]");
    cr_assert_eq(c.n_out, before + 1);
    cr_assert_str_eq(fake_last(&c),
                     "432[{\"ok\":true,\"scenario_name\":\"alpha\",\"runs\":0,\"replayed\":0}]");
    fake_close(&c);
}

Test(sio_history, star_does_not_replay_rooms_already_joined)
{
    publish(TE_TRAINING_STARTED, "alpha", "t1", 1);
    publish(TE_TRAINING_STARTED, "beta", "t1", 1);
    struct fake_conn c;
    connect_and_subscribe(&c, "alpha");
    fake_recv(&c, "422[\"subscribe_training\",{\"scenario_name\":\"*\"}]");
    cr_assert_str_eq(fake_last(&c),
                     "432[{\"ok\":true,\"scenario_name\":\"*\",\"runs\":1,\"replayed\":1}]");
    cr_assert_eq(count_with(&c, "\"beta\""), 1, "only beta is replayed");
    cr_assert_not_null(strstr(c.out[c.n_out - 2], "\"replay\":true"));
    fake_recv(&c, "423[\"subscribe_training\",{\"scenario_name\":\"beta\"}]");
    cr_assert_str_eq(fake_last(&c),
                     "433[{\"ok\":true,\"scenario_name\":\"beta\",\"runs\":0,\"replayed\":0}]");
    fake_close(&c);
}

Test(sio_history, history_modes_none_and_compact)
{
    publish(TE_TRAINING_STARTED, "alpha", "t1", 1);
    publish(TE_TRAINING_PROGRESS, "alpha", "t1", 2);
    struct fake_conn c;
    open_conn(&c);
    fake_recv(&c, "40");
    fake_recv(&c, "421[\"subscribe_training\",{\"scenario_name\":\"alpha\",\"history\":\"none\"}]");
    cr_assert_str_eq(fake_last(&c),
                     "431[{\"ok\":true,\"scenario_name\":\"alpha\",\"runs\":0,\"replayed\":0}]");
    fake_recv(&c, "422[\"unsubscribe_training\",{\"scenario_name\":\"alpha\"}]");
    fake_recv(&c,
              "423[\"subscribe_training\",{\"scenario_name\":\"alpha\",\"history\":\"compact\"}]");
    cr_assert(strncmp(c.out[c.n_out - 2], "42[\"training_history\",", 22) == 0, "got %s",
              c.out[c.n_out - 2]);
    cr_assert_str_eq(fake_last(&c),
                     "433[{\"ok\":true,\"scenario_name\":\"alpha\",\"runs\":1,\"replayed\":1}]");
    fake_close(&c);
}

static void setup_conflation(void)
{
    eio_server_destroy(&eio); /* the suite's setup ran first */
    struct eio_server_opts opts = {.ping_interval_ms = 25000,
                                   .ping_timeout_ms = 20000,
                                   .max_payload = 1000,
                                   .client_queue_bytes = 4096,
                                   .conflate_after = 300};
    struct eio_handler h = sio_eio_handler(sio);
    eio = eio_server_new(lws, &opts, &h, &m);
}

Test(sio_history, a_laggards_progress_is_conflated_and_counted, .init = setup_conflation)
{
    struct fake_conn c;
    connect_and_subscribe(&c, "alpha");
    publish(TE_TRAINING_STARTED, "alpha", "t1", 1);
    for (uint64_t seq = 2; seq <= 500; seq++) /* ~100 KB, far past the 4 KB bound */
        publish(TE_TRAINING_PROGRESS, "alpha", "t1", seq);
    publish(TE_TRAINING_STOPPED, "alpha", "t1", 501);
    cr_assert_not(eio_session_is_closing(c.s), "conflated, not dropped");
    cr_assert_gt(m.counters[METRIC_PROGRESS_CONFLATED], 400);
    cr_assert_eq(m.counters[METRIC_CLIENTS_DROPPED_SLOW], 0);
    fake_drain(&c);
    cr_assert_lt(c.n_out, FAKE_MAX_OUT);
    cr_assert_eq(count_with(&c, "training_started"), 1);
    cr_assert_eq(count_with(&c, "training_stopped"), 1);
    cr_assert_not_null(strstr(c.out[c.n_out - 2], "\"episode\":499"), "the latest survives");
    cr_assert_not_null(strstr(fake_last(&c), "training_stopped"));
    fake_close(&c);
}

Test(sio_history, a_client_piling_up_replays_without_reading_is_dropped)
{
    publish(TE_TRAINING_STARTED, "alpha", "t1", 1);
    for (uint64_t seq = 2; seq <= 40; seq++)
        publish(TE_TRAINING_PROGRESS, "alpha", "t1", seq);
    struct fake_conn c;
    open_conn(&c);
    fake_recv(&c, "40");
    const char *sub = "42[\"subscribe_training\",{\"scenario_name\":\"alpha\"}]";
    const char *unsub = "42[\"unsubscribe_training\",{\"scenario_name\":\"alpha\"}]";
    int i = 0;
    for (; i < 1000 && !eio_session_is_closing(c.s); i++) {
        eio_session_on_packet(c.s, sub, strlen(sub), false);
        eio_session_on_packet(c.s, unsub, strlen(unsub), false);
    }
    cr_assert(eio_session_is_closing(c.s), "still open after %d subscribes", i);
    cr_assert_gt(i, 50, "the replay bound is 64 x --client-queue-bytes (closed after %d)", i);
    cr_assert_eq(m.counters[METRIC_CLIENTS_DROPPED_SLOW], 1);
    fake_close(&c);
}
