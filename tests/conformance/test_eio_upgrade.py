"""Engine.IO v4 upgrade from HTTP long-polling to WebSocket (spec: Protocol /
Upgrade): probe 2probe/3probe, the pending GET released with a noop, the
upgrade packet 5, then everything over the WebSocket; the polling side and a
second WebSocket refused afterwards."""
import json
import time

import pytest

from tb_proto import (PING_INTERVAL, PING_TIMEOUT, RS, SLACK, Deadline, EioPolling, WSConn,
                      WSRefused, eio_query, http_request, placeholder, compact)

PATH = "/engine.io/"
BAD_REQUEST = {"code": 3, "message": "Bad request"}


def probe(port, sid, path=PATH):
    """Opens the probing WebSocket and does 2probe/3probe. Sends nothing
    before the probe: no open packet may come on an upgrading WebSocket."""
    ws = WSConn(port, path + eio_query("websocket", sid))
    ws.send_text("2probe")
    assert ws.recv(2.0) == "3probe"
    return ws


def recv_ws(ws, timeout=3.0):
    """Next packet on an upgraded WebSocket, answering pings."""
    dl = Deadline(timeout)
    while True:
        p = ws.recv(dl.left())
        if p == "2":
            ws.send_text("3")
            continue
        return p


def upgraded(port, path=PATH):
    s = EioPolling(port, path).open()
    ws = probe(port, s.sid, path)
    r = s.get(2.0)  # the client drains polling before sending 5
    assert r.status == 200, r
    ws.send_text("5")
    return s, ws


def test_full_upgrade_with_pending_get(port):
    s = EioPolling(port, PATH).open()
    held = s.start_get()
    assert not held.answered(0.05)
    ws = WSConn(port, PATH + eio_query("websocket", s.sid))
    ws.send_text("2probe")
    assert ws.recv(2.0) == "3probe"
    # The server releases the held poll with a noop so the client can pause.
    r = s.get(2.0)
    assert r.status == 200, r
    assert r.text == "6", r
    ws.send_text("5")
    ws.send_text("4hello")
    assert recv_ws(ws) == "4hello"
    ws.send_binary(b"\x01\x02\x03")
    assert recv_ws(ws) == b"\x01\x02\x03"


def test_get_after_probe_gets_noop(port):
    s = EioPolling(port, PATH).open()
    ws = probe(port, s.sid)
    r = s.get(2.0)
    assert r.status == 200 and r.text == "6", r
    ws.send_text("5")
    ws.send_text("4after")
    assert recv_ws(ws) == "4after"


def test_no_open_packet_on_upgrading_websocket(port):
    s = EioPolling(port, PATH).open()
    ws = WSConn(port, PATH + eio_query("websocket", s.sid))
    # Nothing is sent by the server before the probe.
    with pytest.raises(AssertionError):
        ws.recv(0.15)
    ws.send_text("2probe")
    assert ws.recv(2.0) == "3probe"


def test_polling_get_after_upgrade_is_refused(port):
    s, ws = upgraded(port)
    r = http_request(port, "GET", s.url())
    assert r.status == 400, r
    assert r.json() == BAD_REQUEST, r
    ws.send_text("4still")
    assert recv_ws(ws) == "4still"


def test_polling_post_after_upgrade_is_refused(port):
    s, ws = upgraded(port)
    r = http_request(port, "POST", s.url(), "4via-post")
    assert r.status == 400, r
    assert r.json() == BAD_REQUEST, r
    ws.send_text("4still")
    assert recv_ws(ws) == "4still"  # and not "4via-post"


def _refused(port, sid):
    try:
        ws2 = WSConn(port, PATH + eio_query("websocket", sid), timeout=3.0)
    except WSRefused as e:
        assert e.response.status == 400, e.response
        assert e.response.json()["code"] in (1, 3), e.response
        return
    # The spec's other form: the server closes that WebSocket at once.
    assert ws2.wait_closed(2.0) == []


def test_second_websocket_after_upgrade_is_refused(port):
    s, ws = upgraded(port)
    _refused(port, s.sid)
    ws.send_text("4first-still-works")
    assert recv_ws(ws) == "4first-still-works"


def test_second_websocket_after_upgrade_is_http_400(port):
    """The bridge refuses before switching protocols (the brief's choice)."""
    s, ws = upgraded(port)
    with pytest.raises(WSRefused) as e:
        WSConn(port, PATH + eio_query("websocket", s.sid))
    assert e.value.response.status == 400, e.value.response


def test_second_websocket_during_probe_is_refused(port):
    s = EioPolling(port, PATH).open()
    ws = probe(port, s.sid)
    _refused(port, s.sid)
    s.get(2.0)
    ws.send_text("5")
    ws.send_text("4first")
    assert recv_ws(ws) == "4first"


def test_abandoned_probe_leaves_session_on_polling(port):
    s = EioPolling(port, PATH).open()
    ws = probe(port, s.sid)
    ws.close()
    time.sleep(0.05)
    s.send("4still-polling")
    got = []
    dl = Deadline(3.0)
    while "4still-polling" not in got:
        got.append(s.recv(dl.left()))
    assert set(got) <= {"6", "4still-polling"}, got


def test_upgrade_after_abandoned_probe(port):
    s = EioPolling(port, PATH).open()
    probe(port, s.sid).close()
    time.sleep(0.05)
    ws = probe(port, s.sid)
    s.get(2.0)
    ws.send_text("5")
    ws.send_text("4second-try")
    assert recv_ws(ws) == "4second-try"


def test_messages_cross_the_upgrade_once_in_order(port):
    s = EioPolling(port, PATH).open()
    before = ["4b%03d" % i for i in range(300)]
    after = ["4a%03d" % i for i in range(300)]
    for i in range(0, 300, 30):
        s.send(*before[i:i + 30])
    ws = probe(port, s.sid)
    got = []
    r = s.get(2.0)
    assert r.status == 200, r
    got += [p for p in r.packets() if p not in ("6", "2")]
    ws.send_text("5")
    for m in after:
        ws.send_text(m)
    dl = Deadline(5.0)
    while len(got) < 600:
        p = recv_ws(ws, dl.left())
        if p != "6":
            got.append(p)
    assert got == before + after


def test_heartbeat_moves_to_websocket(port):
    s, ws = upgraded(port)
    for _ in range(3):
        p = ws.recv(PING_INTERVAL + SLACK)
        assert p == "2", p
        ws.send_text("3")
    ws.send_text("4alive")
    assert recv_ws(ws) == "4alive"


def test_no_pong_after_upgrade_closes(port):
    s, ws = upgraded(port)
    seen = ws.wait_closed(PING_INTERVAL + PING_TIMEOUT + SLACK + 0.5)
    assert "2" in seen and set(seen) <= {"1", "2", "6"}, seen
    r = http_request(port, "GET", s.url())
    assert r.status == 400 and r.json()["code"] == 1, r


def test_close_packet_after_upgrade(port):
    s, ws = upgraded(port)
    ws.send_text("1")
    assert set(ws.wait_closed(2.0)) <= {"1", "2"}
    r = http_request(port, "GET", s.url())
    assert r.status == 400 and r.json()["code"] == 1, r


def test_socket_io_session_over_upgrade(port):
    """Socket.IO CONNECT over polling, then an event with an ack and a binary
    event over the upgraded WebSocket."""
    s = EioPolling(port, "/socket.io/").open()
    s.send("40")
    got = []
    dl = Deadline(3.0)
    while len(got) < 2:
        got.append(s.recv(dl.left()))
    assert got[0].startswith("40{") and set(json.loads(got[0][2:])) == {"sid"}, got
    assert got[1] == '42["auth",{}]', got
    ws = probe(port, s.sid, "/socket.io/")
    r = s.get(2.0)
    assert r.status == 200 and set(r.packets()) <= {"6", "2"}, r
    ws.send_text("5")
    ws.send_text('4212["message-with-ack","over-ws"]')
    assert recv_ws(ws) == '4312["over-ws"]'
    ws.send_text("451-" + compact(["message", placeholder(0)]))
    ws.send_binary(b"\xff\x00")
    assert recv_ws(ws) == "451-" + compact(["message-back", placeholder(0)])
    assert recv_ws(ws) == b"\xff\x00"


def test_polling_request_for_websocket_session_is_bad_request(port):
    """A WebSocket-only session has nothing to upgrade; a polling request for
    its sid is a transport mismatch."""
    ws = WSConn(port, PATH + eio_query("websocket"))
    hs = json.loads(ws.recv(2.0)[1:])
    r = http_request(port, "GET", PATH + eio_query("polling", hs["sid"]))
    assert r.status == 400 and r.json() == BAD_REQUEST, r
    ws.send_text("4ok")
    assert recv_ws(ws) == "4ok"


def test_payload_with_rs_inside_upgraded_ws_message(port):
    """Over WebSocket there is no payload framing: \\x1e is plain data."""
    s, ws = upgraded(port)
    ws.send_text("4a" + RS + "b")
    assert recv_ws(ws) == "4a" + RS + "b"
