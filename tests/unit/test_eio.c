/* eio: Engine.IO sessions on their own, over the recording transport of
 * tests/support: the open packet, heartbeats (server ping, pong, ping
 * timeout), the connect timeout, the upgrade state machine, closes from
 * either side, protocol errors and the outbound bound. Timers are real
 * lws_sul timers on a real (listener-less) lws context, run with short
 * intervals; every wait has a deadline and nothing asserts a duration. */
#include <criterion/criterion.h>
#include <errno.h>
#include <libwebsockets.h>
#include <string.h>

#include "eio.h"
#include "fake_transport.h"
#include "metrics.h"

#define DEADLINE_US (5 * LWS_US_PER_SEC)
#define MAX_MESSAGES 16

static struct lws_context *lws;
static struct metrics m;
static struct eio_server *eio;
static char messages[MAX_MESSAGES][64];
static int n_messages, n_opened, n_closed;

static void on_open(struct eio_session *s, void *arg)
{
    (void)s;
    (void)arg;
    n_opened++;
}

static void on_message(struct eio_session *s, const char *data, size_t len, bool is_binary,
                       void *arg)
{
    (void)s;
    (void)arg;
    (void)is_binary;
    if (n_messages < MAX_MESSAGES)
        snprintf(messages[n_messages++], sizeof messages[0], "%.*s", (int)len, data);
}

static void on_close(struct eio_session *s, void *arg)
{
    (void)s;
    (void)arg;
    n_closed++;
}

static void start(int ping_interval_ms, int ping_timeout_ms, int connect_timeout_ms)
{
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    lws_set_log_level(LLL_ERR, NULL);
    lws = lws_create_context(&info);
    cr_assert_not_null(lws);
    memset(&m, 0, sizeof m);
    n_messages = n_opened = n_closed = 0;
    struct eio_server_opts opts = {.ping_interval_ms = ping_interval_ms,
                                   .ping_timeout_ms = ping_timeout_ms,
                                   .max_payload = 1000,
                                   .client_queue_bytes = 256,
                                   .connect_timeout_ms = connect_timeout_ms,
                                   .allow_polling = true,
                                   .allow_websocket = true};
    struct eio_handler h = {
        .on_open = on_open, .on_message = on_message, .on_close = on_close, .arg = NULL};
    eio = eio_server_new(lws, &opts, &h, &m);
}

/* Defaults: no timer fires during a test. */
static void start_default(void)
{
    start(25000, 20000, 0);
}

static void teardown(void)
{
    eio_server_destroy(&eio);
    lws_context_destroy(lws);
}

/* A 5 ms ticker keeps the loop turning: lws 4.1.6's poll loop on a context
 * with no descriptor does not wake for a timer by itself (the bridge has
 * its own periodic wake-up for the same reason). */
static lws_sorted_usec_list_t sul_tick;
static void on_tick(lws_sorted_usec_list_t *sul)
{
    lws_sul_schedule(lws, 0, sul, on_tick, 5 * LWS_US_PER_MS);
}

/* Services the loop until cond(c) holds or the deadline passes. */
static bool run_until(bool (*cond)(struct fake_conn *), struct fake_conn *c)
{
    lws_sul_schedule(lws, 0, &sul_tick, on_tick, 5 * LWS_US_PER_MS);
    lws_usec_t deadline = lws_now_usecs() + DEADLINE_US;
    while (!cond(c) && lws_now_usecs() < deadline) {
        lws_service(lws, 0);
        if (c->s && !c->is_aborted)
            fake_drain(c);
    }
    lws_sul_cancel(&sul_tick);
    return cond(c);
}

static bool last_is_ping(struct fake_conn *c)
{
    return strcmp(fake_last(c), "2") == 0;
}

static int count_pings(const struct fake_conn *c)
{
    int n = 0;
    for (int i = 0; i < c->n_out; i++)
        n += strcmp(c->out[i], "2") == 0;
    return n;
}

static bool has_two_pings(struct fake_conn *c)
{
    return count_pings(c) >= 2;
}

static bool was_aborted(struct fake_conn *c)
{
    return c->is_aborted;
}

static bool last_is_close(struct fake_conn *c)
{
    return strcmp(fake_last(c), "1") == 0;
}

TestSuite(eio, .fini = teardown);

Test(eio, open_packet_first_with_upgrades_only_on_polling)
{
    start_default();
    struct fake_conn ws, poll;
    fake_open(&ws, eio, &fake_ws_ops);
    fake_open(&poll, eio, &fake_poll_ops);
    cr_assert_eq(n_opened, 2);
    cr_assert_eq(eio_server_n_sessions(eio), 2);
    cr_assert(strncmp(ws.out[0], "0{\"sid\":\"", 9) == 0, "got %s", ws.out[0]);
    cr_assert_not_null(strstr(ws.out[0], "\"upgrades\":[]"));
    cr_assert_not_null(strstr(poll.out[0], "\"upgrades\":[\"websocket\"]"));
    cr_assert_str_neq(eio_session_sid(ws.s), eio_session_sid(poll.s));
    cr_assert_eq(eio_server_find(eio, eio_session_sid(ws.s)), ws.s);
    fake_close(&ws);
    fake_close(&poll);
    cr_assert_eq(n_closed, 2);
    cr_assert_eq(eio_server_n_sessions(eio), 0);
}

Test(eio, pings_after_the_interval_and_a_pong_rearms)
{
    start(30, 2000, 0);
    struct fake_conn c;
    fake_open(&c, eio, &fake_ws_ops);
    cr_assert(run_until(last_is_ping, &c), "no ping; last packet %s", fake_last(&c));
    cr_assert_eq(count_pings(&c), 1);
    fake_recv(&c, "3");
    cr_assert(run_until(has_two_pings, &c), "no second ping after a pong");
    cr_assert_not(c.is_aborted);
    fake_close(&c);
}

Test(eio, a_peer_that_never_pongs_is_dropped_and_counted)
{
    start(20, 20, 0);
    struct fake_conn c;
    fake_open(&c, eio, &fake_ws_ops);
    cr_assert(run_until(was_aborted, &c), "not dropped after a missed pong");
    cr_assert_eq(m.counters[METRIC_CLIENTS_PING_TIMEOUT], 1);
    cr_assert(eio_session_should_end(c.s));
    fake_close(&c);
}

Test(eio, client_ping_is_answered_with_its_payload)
{
    start_default();
    struct fake_conn c;
    fake_open(&c, eio, &fake_ws_ops);
    fake_recv(&c, "2hello");
    cr_assert_str_eq(fake_last(&c), "3hello");
    fake_close(&c);
}

Test(eio, connect_timeout_closes_a_session_that_never_connected)
{
    start(25000, 20000, 30);
    struct fake_conn c;
    fake_open(&c, eio, &fake_ws_ops);
    cr_assert(run_until(last_is_close, &c), "no close packet; last %s", fake_last(&c));
    cr_assert(eio_session_is_closing(c.s));
    cr_assert(eio_session_should_end(c.s), "the close packet was flushed: end now");
    fake_close(&c);
}

Test(eio, connect_timeout_is_cancelled_by_mark_connected)
{
    start(25000, 20000, 30);
    struct fake_conn c, probe;
    fake_open(&c, eio, &fake_ws_ops);
    eio_session_mark_connected(c.s);
    fake_open(&probe, eio, &fake_ws_ops); /* not connected: times out */
    cr_assert(run_until(last_is_close, &probe));
    cr_assert_not(eio_session_is_closing(c.s), "the connected session was closed too");
    fake_close(&c);
    fake_close(&probe);
}

Test(eio, messages_reach_the_handler_and_noops_are_ignored)
{
    start_default();
    struct fake_conn c;
    fake_open(&c, eio, &fake_ws_ops);
    fake_recv(&c, "6");
    fake_recv(&c, "4hello");
    fake_recv(&c, "4");
    cr_assert_eq(n_messages, 2);
    cr_assert_str_eq(messages[0], "hello");
    cr_assert_str_eq(messages[1], "");
    fake_close(&c);
}

Test(eio, malformed_and_unexpected_packets_fail_the_session)
{
    start_default();
    const char *bad[] = {"", "9", "x", "0", "5"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct fake_conn c;
        fake_open(&c, eio, &fake_ws_ops);
        fake_recv(&c, bad[i]);
        cr_assert(c.is_aborted, "packet '%s' did not end the session", bad[i]);
        fake_close(&c);
    }
    cr_assert_eq(m.counters[METRIC_CLIENT_PROTOCOL_ERRORS], 5);
}

Test(eio, close_from_the_peer_ends_a_websocket_and_nudges_a_poll)
{
    start_default();
    struct fake_conn ws, poll;
    fake_open(&ws, eio, &fake_ws_ops);
    fake_open(&poll, eio, &fake_poll_ops);
    fake_recv(&ws, "1");
    fake_recv(&poll, "1");
    cr_assert(ws.is_aborted);
    cr_assert_eq(poll.n_nudges, 1, "a held poll is answered (noop) before the end");
    cr_assert(eio_session_should_end(poll.s));
    fake_recv(&poll, "4late");
    cr_assert_eq(n_messages, 0, "nothing is handled after a close");
    fake_close(&ws);
    fake_close(&poll);
}

Test(eio, graceful_close_flushes_then_refuses_further_sends)
{
    start_default();
    struct fake_conn c;
    fake_open(&c, eio, &fake_ws_ops);
    eio_session_send_message(c.s, "queued", 6);
    eio_session_close(c.s, "test");
    cr_assert_not(eio_session_should_end(c.s), "queued packets go first");
    cr_assert_eq(eio_session_send_message(c.s, "after", 5), 0);
    fake_drain(&c);
    cr_assert_str_eq(c.out[c.n_out - 2], "4queued");
    cr_assert_str_eq(fake_last(&c), "1");
    cr_assert(eio_session_should_end(c.s));
    fake_close(&c);
}

Test(eio, the_outbound_bound_refuses_a_send_that_would_pass_it)
{
    start_default();
    struct fake_conn c;
    fake_open(&c, eio, &fake_ws_ops);
    char payload[100];
    memset(payload, 'x', sizeof payload);
    int rc = 0, n = 0;
    while (rc == 0 && n < 100) {
        rc = eio_session_send_message(c.s, payload, sizeof payload);
        n++;
    }
    cr_assert_eq(rc, -ENOBUFS);
    cr_assert_leq(eio_session_queued_bytes(c.s), 256);
    cr_assert_eq(eio_server_queued_bytes(eio), eio_session_queued_bytes(c.s));
    fake_drain(&c);
    cr_assert_eq(eio_server_queued_bytes(eio), 0);
    fake_close(&c);
}

Test(eio, upgrade_moves_a_polling_session_to_the_new_transport)
{
    start_default();
    struct fake_conn poll, ws;
    fake_open(&poll, eio, &fake_poll_ops);
    memset(&ws, 0, sizeof ws);
    int probe = 0;
    cr_assert_eq(eio_session_begin_upgrade(poll.s, &probe, NULL), 0);
    cr_assert(eio_session_is_upgrading(poll.s));
    cr_assert_eq(eio_session_begin_upgrade(poll.s, &probe, NULL), -EBUSY, "one probe at a time");
    eio_session_probe_answered(poll.s);
    cr_assert_eq(poll.n_nudges, 1, "the held poll is answered so the client can pause");
    eio_session_send_message(poll.s, "during", 6);
    eio_session_finish_upgrade(poll.s, &fake_ws_ops, &ws);
    cr_assert(poll.is_released);
    cr_assert_eq(eio_session_transport_kind(poll.s), EIO_TRANSPORT_WEBSOCKET);
    cr_assert_not(eio_session_is_upgrading(poll.s));
    cr_assert_gt(ws.n_want_write, 0, "what was queued is flushed on the new transport");
    ws.s = poll.s;
    fake_drain(&ws);
    cr_assert_str_eq(fake_last(&ws), "4during");
    cr_assert_eq(eio_session_begin_upgrade(ws.s, &probe, NULL), -EBUSY, "not on polling any more");
    fake_close(&ws);
    for (int i = 0; i < poll.n_out; i++)
        free(poll.out[i]);
}

static int n_probes_lost;
static void probe_lost(void *probe)
{
    (void)probe;
    n_probes_lost++;
}

Test(eio, a_session_freed_while_probed_tells_its_probe)
{
    start_default();
    struct fake_conn poll;
    fake_open(&poll, eio, &fake_poll_ops);
    int probe = 0;
    n_probes_lost = 0;
    cr_assert_eq(eio_session_begin_upgrade(poll.s, &probe, probe_lost), 0);
    eio_session_cancel_upgrade(poll.s);
    cr_assert_not(eio_session_is_upgrading(poll.s));
    cr_assert_eq(eio_session_begin_upgrade(poll.s, &probe, probe_lost), 0, "may probe again");
    fake_close(&poll);
    cr_assert_eq(n_probes_lost, 1);
}

Test(eio, close_all_stops_accepting_and_closes_every_session)
{
    start_default();
    struct fake_conn a, b;
    fake_open(&a, eio, &fake_ws_ops);
    fake_open(&b, eio, &fake_poll_ops);
    cr_assert(eio_server_is_accepting(eio));
    eio_server_close_all(eio);
    cr_assert_not(eio_server_is_accepting(eio));
    fake_drain(&a);
    fake_drain(&b);
    cr_assert_str_eq(fake_last(&a), "1");
    cr_assert_str_eq(fake_last(&b), "1");
    fake_close(&a);
    fake_close(&b);
}

Test(eio, fail_counts_and_ends_now_or_gracefully)
{
    start_default();
    struct fake_conn now, graceful;
    fake_open(&now, eio, &fake_ws_ops);
    fake_open(&graceful, eio, &fake_ws_ops);
    eio_session_fail(now.s, EIO_END_NOW, "test");
    eio_session_fail(graceful.s, EIO_END_GRACEFUL, "test");
    cr_assert(now.is_aborted);
    cr_assert_not(graceful.is_aborted);
    fake_drain(&graceful);
    cr_assert_str_eq(fake_last(&graceful), "1");
    cr_assert_eq(m.counters[METRIC_CLIENT_PROTOCOL_ERRORS], 2);
    fake_close(&now);
    fake_close(&graceful);
}
