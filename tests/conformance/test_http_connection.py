"""HTTP/1.1 connection management of every response the server sends
(RFC 9112 §9.3 persistence, §9.6 tear-down), over raw sockets.

A connection is kept after a response unless the client said
"Connection: close" or spoke HTTP/1.0 without "Connection: keep-alive"; a
response after which the server closes says "Connection: close"; a kept
HTTP/1.0 connection is announced with "Connection: keep-alive". Clients
with keep-alive agents (Node 20's, node-fetch) rely on exactly this.
"""
import socket

import pytest

from tb_proto import HOST, HTTPConn, encode_payload, eio_query, parse_open

SIO = "/socket.io/"


def handshake_target():
    return SIO + eio_query()


def raw_exchange(port, data, half_close=False, timeout=3.0):
    """Writes data on a fresh connection, reads until EOF or timeout.
    Returns (bytes read, whether the server closed)."""
    s = socket.create_connection((HOST, port), timeout=timeout)
    try:
        s.sendall(data)
        if half_close:
            s.shutdown(socket.SHUT_WR)
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                return out, False
            if not chunk:
                return out, True
            out += chunk
    finally:
        s.close()


def heads(raw):
    """The header blocks (lower-cased) of the responses in raw, in order."""
    blocks = []
    while b"\r\n\r\n" in raw:
        head, raw = raw.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip().lower()
        length = int(headers.get("content-length", "0"))
        raw = raw[length:]
        blocks.append((lines[0], headers))
    return blocks


def test_one_connection_carries_handshake_post_and_poll(server):
    c = HTTPConn(server.port)
    try:
        c.send_request("GET", handshake_target())
        r = c.read_response()
        assert r.status == 200 and "connection" not in r.headers, r.headers
        sid = parse_open(r.packets()[0])["sid"]
        c.send_request("POST", SIO + eio_query(sid=sid), encode_payload(["40"]))
        r = c.read_response()
        assert (r.status, r.text) == (200, "ok") and "connection" not in r.headers
        c.send_request("GET", SIO + eio_query(sid=sid))
        r = c.read_response()
        assert r.status == 200 and r.packets()[0].startswith("40{"), r
        c.send_request("GET", "/healthz")
        assert c.read_response().status == 200
        assert not c.wait_eof(0.3), "the server closed a kept-alive connection"
    finally:
        c.close()


@pytest.mark.parametrize("target,status", [
    ("/healthz", 200),
    ("/metrics", 200),
    ("/nowhere", 404),
    (SIO + "?EIO=3&transport=polling", 400),
    (SIO + "?EIO=4&transport=polling&sid=AAAAAAAAAAAAAAAAAAAA", 400),
    (handshake_target(), 200),
])
def test_connection_close_is_honoured_and_announced(server, target, status):
    c = HTTPConn(server.port)
    try:
        c.send_request("GET", target, keep_alive=False)
        r = c.read_response()
        assert r.status == status, r
        assert r.headers.get("connection", "").lower() == "close", r.headers
        assert c.wait_eof(3.0), "the server announced close but kept the connection"
    finally:
        c.close()


def test_post_and_preflight_announce_close(server):
    c = HTTPConn(server.port)
    c.send_request("GET", handshake_target())
    sid = parse_open(c.read_response().packets()[0])["sid"]
    c.close()
    for method, body in (("POST", encode_payload(["40"])), ("OPTIONS", b"")):
        c = HTTPConn(server.port)
        try:
            c.send_request(method, SIO + eio_query(sid=sid), body, keep_alive=False,
                           headers={"Origin": "http://example.test"})
            r = c.read_response()
            assert r.status in (200, 204), r
            assert r.headers.get("connection", "").lower() == "close", (method, r.headers)
            assert c.wait_eof(3.0)
        finally:
            c.close()


def test_held_poll_answer_announces_close(server):
    c = HTTPConn(server.port)
    c.send_request("GET", handshake_target())
    sid = parse_open(c.read_response().packets()[0])["sid"]
    c.close()
    poll = HTTPConn(server.port)
    post = HTTPConn(server.port)
    try:
        poll.send_request("GET", SIO + eio_query(sid=sid), keep_alive=False)
        assert not poll.answered(0.2), "the poll was answered with nothing to say"
        post.send_request("POST", SIO + eio_query(sid=sid), encode_payload(["40"]))
        assert post.read_response().status == 200
        r = poll.read_response()
        assert r.packets()[0].startswith("40{") and r.headers.get("connection") == "close"
        assert poll.wait_eof(3.0)
    finally:
        poll.close()
        post.close()


def test_http10_without_keep_alive_closes_with_announcement(server):
    raw, closed = raw_exchange(server.port, b"GET /healthz HTTP/1.0\r\n\r\n")
    (status, headers), = heads(raw)
    assert status.startswith("HTTP/1.0 200") and headers.get("connection") == "close"
    assert closed


def test_http10_keep_alive_is_kept_and_announced(server):
    req = b"GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
    raw, closed = raw_exchange(server.port, req + req, timeout=1.0)
    blocks = heads(raw)
    assert len(blocks) == 2, raw
    assert all(h.get("connection") == "keep-alive" for _, h in blocks), blocks
    assert not closed


def test_pipelined_requests_are_answered_in_order(server):
    req = ("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % handshake_target()).encode()
    req += b"GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n"
    req += b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    raw, closed = raw_exchange(server.port, req)
    statuses = [s.split(" ")[1] for s, _ in heads(raw)]
    assert statuses == ["200", "404", "200"], raw[:400]
    assert heads(raw)[-1][1].get("connection") == "close" and closed


def test_request_after_an_error_response_on_the_same_connection(server):
    c = HTTPConn(server.port)
    try:
        c.send_request("GET", SIO + "?EIO=3&transport=polling")
        r = c.read_response()
        assert r.status == 400 and r.json()["code"] == 5
        c.send_request("GET", handshake_target())
        r = c.read_response()
        assert r.status == 200 and parse_open(r.packets()[0])["sid"]
    finally:
        c.close()


def test_half_closed_client_still_gets_its_answer(server):
    raw, closed = raw_exchange(server.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
                               half_close=True)
    (status, _), = heads(raw)
    assert status.startswith("HTTP/1.1 200") and raw.endswith(b"ok\n")
    assert closed
