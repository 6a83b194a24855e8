"""Engine.IO v4 over HTTP long-polling (spec: Transports / HTTP long-polling,
Protocol / Handshake, Heartbeat, Message; Packet encoding / HTTP long-polling),
against the echo server on /engine.io/."""
import json
import time

import pytest

from tb_proto import (MAX_PAYLOAD, PING_INTERVAL, PING_TIMEOUT, RS, SLACK, Deadline,
                      EioPolling, HTTPConn, PendingRequest, eio_query, http_request)

PATH = "/engine.io/"


def polling(port, **kw):
    return EioPolling(port, PATH, **kw).open()


def collect(sess, n, timeout=3.0):
    """n non-ping packets, answering pings."""
    dl = Deadline(timeout)
    return [sess.recv(dl.left()) for _ in range(n)]


# ---------------------------------------------------------------- handshake


def test_handshake_open_packet(port):
    r = http_request(port, "GET", PATH + eio_query("polling"))
    assert r.status == 200, r
    assert r.headers.get("content-type", "").startswith("text/plain"), r.headers
    assert r.text.startswith("0"), r
    hs = json.loads(r.text[1:])
    assert set(hs) == {"sid", "upgrades", "pingInterval", "pingTimeout", "maxPayload"}, hs
    assert isinstance(hs["sid"], str) and hs["sid"]
    assert hs["upgrades"] == ["websocket"]
    assert hs["pingInterval"] == 300
    assert hs["pingTimeout"] == 200
    assert hs["maxPayload"] == MAX_PAYLOAD


def test_handshake_sids_are_distinct(port):
    sids = {polling(port).sid for _ in range(20)}
    assert len(sids) == 20


def test_handshake_query_in_any_order(port):
    r = http_request(port, "GET", PATH + "?transport=polling&EIO=4")
    assert r.status == 200 and r.text.startswith("0"), r


def test_requests_with_sid_first_in_query(port):
    s = polling(port)
    r = http_request(port, "POST", PATH + "?sid=%s&transport=polling&EIO=4" % s.sid, "4q")
    assert r.status == 200 and r.body == b"ok", r
    assert collect(s, 1) == ["4q"]


def test_handshake_ignores_cache_buster_param(port):
    # Clients add t=<random> to defeat caches; it is not an error.
    r = http_request(port, "GET", PATH + eio_query("polling", extra="t=N8hyd6w"))
    assert r.status == 200 and r.text.startswith("0"), r


# ----------------------------------------------------------------- messages


def test_text_message_echo(port):
    s = polling(port)
    r = s.post_raw("4hello")
    assert r.status == 200 and r.body == b"ok", r
    r = s.get()
    assert r.status == 200, r
    assert r.text == "4hello"
    assert r.headers.get("content-type", "").startswith("text/plain"), r.headers


def test_several_text_packets_in_one_payload(port):
    s = polling(port)
    s.send("4test1", "4test2", "4test3")
    assert collect(s, 3) == ["4test1", "4test2", "4test3"]


def test_queued_packets_joined_with_record_separator(port):
    s = polling(port)
    s.send("4a", "4b", "4c")
    time.sleep(0.05)  # let the echoes queue up before the poll
    r = s.get()
    assert r.status == 200
    # Everything queued comes in one response, separated by \x1e.
    assert RS in r.text, r
    assert [p for p in r.packets() if p != "2"] == ["4a", "4b", "4c"], r


def test_text_and_binary_packets(port):
    s = polling(port)
    r = s.post_raw("4hello" + RS + "bAQIDBA==")
    assert r.status == 200 and r.body == b"ok", r
    got = collect(s, 2)
    assert got == ["4hello", b"\x01\x02\x03\x04"]


def test_binary_echo_is_base64_with_b_prefix(port):
    s = polling(port)
    s.post_raw("bAQIDBA==")
    r = s.get()
    assert r.status == 200
    parts = r.text.split(RS)
    assert "bAQIDBA==" in parts, r


def test_binary_all_byte_values(port):
    s = polling(port)
    data = bytes(range(256))
    s.send(data)
    assert collect(s, 1) == [data]


def test_empty_message(port):
    s = polling(port)
    s.send("4")
    assert collect(s, 1) == ["4"]


def test_utf8_message(port):
    s = polling(port)
    msg = "4h\u00e9llo \u20ac \U0001F600 \u4e2d\u6587"
    s.send(msg)
    assert collect(s, 1) == [msg]


def test_order_kept_across_many_posts(port):
    s = polling(port)
    sent = ["4m%d" % i for i in range(50)]
    for i in range(0, 50, 5):
        s.send(*sent[i:i + 5])
    assert collect(s, 50, timeout=10) == sent


def test_get_is_held_until_there_is_data(port):
    s = polling(port)
    p = s.start_get()
    assert not p.answered(0.1), "an empty poll must be held"
    s.send("4late")
    r = s.get(2.0)
    assert r.status == 200
    packets = r.packets()
    assert "4late" in packets and set(packets) <= {"4late", "2"}, r


def test_post_and_get_on_one_keep_alive_connection(port):
    s = polling(port)
    c = HTTPConn(port)
    try:
        c.send_request("POST", s.url(), "4ka")
        r = c.read_response()
        assert r.status == 200 and r.body == b"ok", r
        c.send_request("GET", s.url())
        r = c.read_response()
        assert r.status == 200 and "4ka" in r.packets(), r
    finally:
        c.close()


def test_max_payload_exactly_is_accepted(port):
    s = polling(port)
    body = "4" + "x" * (MAX_PAYLOAD - 1)
    r = s.post_raw(body, timeout=10)
    assert r.status == 200 and r.body == b"ok", r
    assert collect(s, 1, timeout=10) == [body]


# ---------------------------------------------------------------- heartbeat


def test_ping_pong_keeps_the_session(port):
    s = polling(port, auto_pong=False)
    t0 = time.monotonic()
    for _ in range(3):
        r = s.get(PING_INTERVAL + SLACK)
        assert r.status == 200, r
        assert r.text == "2", r
        assert s.post_raw("3").body == b"ok"
    # Three pings took about three intervals, not more.
    assert time.monotonic() - t0 < 3 * PING_INTERVAL + SLACK
    s.send("4alive")
    assert collect(s, 1) == ["4alive"]


def test_first_ping_after_ping_interval(port):
    s = polling(port, auto_pong=False)
    t0 = time.monotonic()
    r = s.get(PING_INTERVAL + SLACK)
    dt = time.monotonic() - t0
    assert r.text == "2"
    assert dt >= PING_INTERVAL * 0.8, "ping came after %.3fs" % dt


def test_no_pong_closes_the_session(port):
    s = polling(port, auto_pong=False)
    r = s.get(PING_INTERVAL + SLACK)
    assert r.text == "2"
    # Not answering: closed within pingTimeout (+ slack). A held poll may be
    # answered (close packet) or cut; afterwards the sid is unknown.
    seen = s.expect_closed(PING_TIMEOUT + PING_INTERVAL + SLACK)
    assert set(seen) <= {"1", "2", "6"}, seen
    r = http_request(port, "GET", s.url())
    assert r.status == 400 and r.json() == {"code": 1, "message": "Session ID unknown"}, r


def test_session_unknown_after_idle_timeout_without_polling(port):
    s = polling(port)
    time.sleep(PING_INTERVAL + PING_TIMEOUT + 0.3)
    r = http_request(port, "GET", s.url())
    assert r.status == 400, r
    assert r.json() == {"code": 1, "message": "Session ID unknown"}


def test_pong_without_ping_is_harmless(port):
    s = polling(port)
    s.send("3")
    s.send("4still")
    assert collect(s, 1) == ["4still"]


def test_noop_from_client_is_ignored(port):
    s = polling(port)
    s.send("6")
    s.send("4after-noop")
    assert collect(s, 1) == ["4after-noop"]


# -------------------------------------------------------------------- close


def test_close_packet_releases_pending_get_and_ends_session(port):
    s = polling(port)
    p = s.start_get()
    assert not p.answered(0.05)
    r = s.post_raw("1")
    assert r.status == 200, r  # "ok"; the session then ends
    got = s.get(2.0)
    assert got.status == 200, got
    assert got.text == "6", got  # the held poll ends with a noop
    r = http_request(port, "GET", s.url())
    assert r.status == 400 and r.json()["code"] == 1, r


def test_close_packet_without_pending_get(port):
    s = polling(port)
    s.post_raw("1")
    r = http_request(port, "POST", s.url(), "4x")
    assert r.status == 400 and r.json() == {"code": 1, "message": "Session ID unknown"}, r


def test_close_packet_after_message_in_same_payload(port):
    s = polling(port)
    r = s.post_raw("4bye" + RS + "1")
    assert r.status == 200, r
    s.expect_closed()


# ------------------------------------------- one GET at a time, one POST at a time


def test_second_concurrent_get_closes_the_session(port):
    s = polling(port)
    first = s.start_get()
    assert not first.answered(0.05)
    s.pending = None
    second = PendingRequest(port, "GET", s.url(extra="t=burst"))
    r2 = second.response(2.0)
    assert r2.status == 400, r2
    r1 = first.response(2.0)
    assert r1.status == 200, r1
    assert r1.packets()[-1] == "1", r1  # the first poll gets the close packet
    r = http_request(port, "GET", s.url())
    assert r.status == 400 and r.json() == {"code": 1, "message": "Session ID unknown"}, r


def test_second_get_does_not_disturb_other_sessions(port):
    a = polling(port)
    b = polling(port).pump()
    a.start_get()
    a.pending = None
    PendingRequest(port, "GET", a.url()).response(2.0)
    b.send("4b-alive")
    assert collect(b, 1) == ["4b-alive"]


def test_second_concurrent_post_closes_the_session(port):
    s = polling(port)
    body = "4" + "y" * 1000
    slow = HTTPConn(port)
    try:
        # A POST whose body is still arriving is active.
        slow.send_request("POST", s.url(), body, body_part=body[:10].encode())
        time.sleep(0.1)
        r = http_request(port, "POST", s.url(), "4second")
        assert r.status == 400, r
    finally:
        slow.close()
    s.expect_closed()


def test_aborted_poll_closes_the_session(port):
    s = polling(port)
    p = s.start_get()
    assert not p.answered(0.05)
    p.abort()
    s.pending = None
    dl = Deadline(2.0)
    while True:
        r = http_request(port, "GET", s.url(), timeout=2.0)
        if r.status == 400:
            assert r.json()["code"] in (1, 3), r
            break
        assert not dl.expired(), "session kept after its poll was aborted: %r" % r
    r = http_request(port, "GET", s.url(), timeout=2.0)
    assert r.status == 400 and r.json()["code"] == 1, r


# ------------------------------------------------------------ bad payloads


BAD_PAYLOADS = pytest.mark.parametrize(
    "body", ["abc", "7", "9hello", "4ok" + RS + "x", "b!!notbase64", ""],
    ids=["letters", "type7", "type9", "bad-second-packet", "bad-base64", "empty"])


@BAD_PAYLOADS
def test_invalid_payload_post_is_refused(port, body):
    """The reference test suite: the POST is answered 400 (or cut)."""
    s = polling(port)
    try:
        r = s.post_raw(body)
    except ConnectionError:
        return
    assert r.status == 400, r


@BAD_PAYLOADS
def test_invalid_payload_closes_the_session(port, body):
    s = polling(port)
    other = polling(port).pump()
    try:
        s.post_raw(body)
    except ConnectionError:
        pass
    r = http_request(port, "GET", s.url())
    assert r.status == 400, r
    assert r.json() == {"code": 1, "message": "Session ID unknown"}
    other.send("4other")
    assert collect(other, 1) == ["4other"]


def test_post_over_max_payload_gets_413_and_closes(port):
    s = polling(port)
    other = polling(port).pump()
    c = HTTPConn(port, timeout=10)
    try:
        c.send_request("POST", s.url(), "4" + "z" * MAX_PAYLOAD, keep_alive=False)
        r = c.read_response(10)
        assert r.status == 413, r
    finally:
        c.close()
    s.expect_closed()
    other.send("4other")
    assert collect(other, 1) == ["4other"]


def test_post_over_max_payload_refused_from_header(port):
    """The Content-Length alone is enough to refuse: no need to read 10 MB."""
    s = polling(port)
    c = HTTPConn(port)
    try:
        c.send_request("POST", s.url(), "", content_length=10 * MAX_PAYLOAD, body_part=b"4abc")
        r = c.read_response(5)
        assert r.status == 413, r
    finally:
        c.close()
    s.expect_closed()
