"""Engine.IO v4 over WebSocket only (spec: Transports / WebSocket, Handshake,
Heartbeat, Message; Packet encoding / WebSocket), against the echo server on
/engine.io/, with RFC 6455 framing details a client may use."""
import time

import pytest

from tb_proto import (MAX_PAYLOAD, OP_BIN, OP_CONT, OP_PING, OP_TEXT, PING_INTERVAL,
                      PING_TIMEOUT, SLACK, Deadline, EioWebSocket, WSClosed, WSConn, eio_query,
                      parse_open)

PATH = "/engine.io/"


def ws_session(port, **kw):
    return EioWebSocket(port, PATH, **kw).open()


def test_handshake_open_packet(port):
    ws = WSConn(port, PATH + eio_query("websocket"))
    first = ws.recv(2.0)
    assert isinstance(first, str)
    hs = parse_open(first)
    assert set(hs) == {"sid", "upgrades", "pingInterval", "pingTimeout", "maxPayload"}, hs
    assert isinstance(hs["sid"], str) and hs["sid"]
    assert hs["upgrades"] == []
    assert hs["pingInterval"] == 300
    assert hs["pingTimeout"] == 200
    assert hs["maxPayload"] == MAX_PAYLOAD
    ws.close()


def test_text_echo(port):
    s = ws_session(port)
    s.send("4hello")
    assert s.recv() == "4hello"


def test_binary_echo_is_a_binary_frame(port):
    s = ws_session(port)
    s.send(b"\x01\x02\x03\x04")
    got = s.recv()
    assert got == b"\x01\x02\x03\x04" and isinstance(got, bytes)


def test_binary_all_byte_values_and_empty(port):
    s = ws_session(port)
    s.send(bytes(range(256)))
    assert s.recv() == bytes(range(256))
    s.send(b"")
    assert s.recv() == b""


def test_utf8_text_echo(port):
    s = ws_session(port)
    msg = "4h\u00e9llo \u20ac \U0001F600"
    s.send(msg)
    assert s.recv() == msg


def test_empty_message(port):
    s = ws_session(port)
    s.send("4")
    assert s.recv() == "4"


def test_each_packet_in_its_own_frame_in_order(port):
    s = ws_session(port)
    sent = ["4m%d" % i for i in range(100)]
    for m in sent:
        s.send(m)
    dl = Deadline(5)
    assert [s.recv(dl.left()) for _ in sent] == sent


def test_large_message_echo(port):
    s = ws_session(port)
    msg = "4" + "L" * 200000
    s.send(msg)
    assert s.recv(10) == msg


def test_max_payload_exactly_is_accepted(port):
    s = ws_session(port)
    msg = "4" + "M" * (MAX_PAYLOAD - 1)
    s.send(msg)
    assert s.recv(10) == msg


def test_fragmented_text_message(port):
    s = ws_session(port)
    s.ws.send_frame(OP_TEXT, "4hel", fin=False)
    s.ws.send_frame(OP_CONT, "lo wo", fin=False)
    s.ws.send_frame(OP_CONT, "rld", fin=True)
    assert s.recv() == "4hello world"


def test_fragmented_binary_message(port):
    s = ws_session(port)
    s.ws.send_frame(OP_BIN, b"\x01\x02", fin=False)
    s.ws.send_frame(OP_CONT, b"\x03\x04", fin=True)
    assert s.recv() == b"\x01\x02\x03\x04"


def test_websocket_ping_frame_gets_pong(port):
    s = ws_session(port)
    s.ws.send_frame(OP_PING, b"hi")
    assert s.ws.recv_pong(2.0) == b"hi"


def test_control_frame_between_fragments(port):
    s = ws_session(port)
    s.ws.send_frame(OP_TEXT, "4ab", fin=False)
    s.ws.send_frame(OP_PING, b"x")
    s.ws.send_frame(OP_CONT, "cd", fin=True)
    assert s.recv() == "4abcd"


# ---------------------------------------------------------------- heartbeat


def test_ping_pong_keeps_the_session(port):
    s = ws_session(port, auto_pong=False)
    t0 = time.monotonic()
    for _ in range(3):
        assert s.recv(PING_INTERVAL + SLACK, skip_ping=False) == "2"
        s.send("3")
    assert time.monotonic() - t0 < 3 * PING_INTERVAL + SLACK
    s.send("4alive")
    assert s.recv(skip_ping=False) == "4alive"


def test_first_ping_after_ping_interval(port):
    t0 = time.monotonic()
    s = ws_session(port, auto_pong=False)
    assert s.recv(PING_INTERVAL + SLACK, skip_ping=False) == "2"
    dt = time.monotonic() - t0
    assert dt >= PING_INTERVAL * 0.8, "ping came after %.3fs" % dt


def test_no_pong_closes_the_connection(port):
    t0 = time.monotonic()
    s = ws_session(port, auto_pong=False)
    seen = s.expect_closed(PING_INTERVAL + PING_TIMEOUT + SLACK)
    dt = time.monotonic() - t0
    assert seen[:1] == ["2"] and set(seen) <= {"1", "2"}, seen
    assert dt >= PING_INTERVAL + PING_TIMEOUT * 0.8, "closed after only %.3fs" % dt


def test_pong_without_ping_is_harmless(port):
    s = ws_session(port)
    s.send("3")
    s.send("4still")
    assert s.recv() == "4still"


def test_noop_from_client_is_ignored(port):
    s = ws_session(port)
    s.send("6")
    s.send("4after-noop")
    assert s.recv() == "4after-noop"


# -------------------------------------------------------------------- close


def test_close_packet_closes(port):
    s = ws_session(port)
    s.send("1")
    assert set(s.expect_closed(2.0)) <= {"1", "2"}


def test_websocket_close_frame_ends_session(port):
    s = ws_session(port)
    sid = s.sid
    s.ws.close()
    # The session is gone: its sid is unknown to polling.
    dl = Deadline(2.0)
    from tb_proto import http_request
    while True:
        r = http_request(port, "GET", PATH + eio_query("polling", sid))
        if r.status == 400 and r.json()["code"] == 1:
            return
        assert not dl.expired(), r
        time.sleep(0.02)


# ------------------------------------------------------------ bad input


@pytest.mark.parametrize("packet", ["abc", "7", "9x", ""],
                         ids=["letters", "type7", "type9", "empty"])
def test_invalid_packet_closes(port, packet):
    other = ws_session(port).pump()
    s = ws_session(port)
    s.send(packet)
    assert set(s.expect_closed(2.0)) <= {"1", "2"}
    other.send("4other")
    assert other.recv() == "4other"


@pytest.mark.parametrize("kind", ["text", "binary"])
def test_message_over_max_payload_closes(port, kind):
    other = ws_session(port).pump()
    s = ws_session(port)
    try:
        s.send("4" + "O" * MAX_PAYLOAD if kind == "text" else b"O" * (MAX_PAYLOAD + 1))
    except WSClosed:
        pass
    seen = s.expect_closed(5.0)
    assert not any(len(x) > 1000 for x in seen), "the oversize message was echoed"
    other.send("4other")
    assert other.recv() == "4other"


def test_invalid_utf8_text_frame_closes(port):
    other = ws_session(port).pump()
    s = ws_session(port)
    s.ws.send_frame(OP_TEXT, b"4\xff\xfe\xc3")
    seen = s.expect_closed(2.0)
    assert set(seen) <= {"1", "2"}, seen
    other.send("4other")
    assert other.recv() == "4other"
