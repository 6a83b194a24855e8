"""Engine.IO v4 error answers: HTTP 400 with a JSON body {"code", "message"}
(the codes of the reference server: 0 Transport unknown, 1 Session ID
unknown, 2 Bad handshake method, 3 Bad request, 5 Unsupported protocol
version), for polling requests and for WebSocket handshakes. The spec:
"If a mandatory query parameter is missing, then the server MUST respond
with an HTTP 400 error status" (polling) / "MUST close the WebSocket
connection" (websocket)."""
import pytest

from tb_proto import EioPolling, WSConn, WSRefused, eio_query, http_request

TRANSPORT_UNKNOWN = {"code": 0, "message": "Transport unknown"}
SID_UNKNOWN = {"code": 1, "message": "Session ID unknown"}
BAD_METHOD = {"code": 2, "message": "Bad handshake method"}
BAD_REQUEST = {"code": 3, "message": "Bad request"}
BAD_VERSION = {"code": 5, "message": "Unsupported protocol version"}


def assert_error(r, body):
    assert r.status == 400, r
    assert r.headers.get("content-type", "").startswith("application/json"), r.headers
    assert r.json() == body, r


def ws_refused(port, target):
    """The WebSocket handshake is refused: an HTTP error answer, or a 101
    followed by a close without any Engine.IO packet. Returns the HTTP
    answer, or None for the second form."""
    try:
        ws = WSConn(port, target, timeout=3.0)
    except WSRefused as e:
        assert 400 <= e.response.status < 500, e.response
        return e.response
    seen = ws.wait_closed(2.0)
    assert seen == [], "a refused WebSocket sent %r" % seen
    return None


@pytest.mark.parametrize("path", ["/engine.io/", "/socket.io/"])
@pytest.mark.parametrize("query,body", [
    ("?EIO=4", TRANSPORT_UNKNOWN),
    ("?EIO=4&transport=abc", TRANSPORT_UNKNOWN),
    ("?EIO=4&transport=", TRANSPORT_UNKNOWN),
    ("?EIO=4&transport=flashsocket", TRANSPORT_UNKNOWN),
    ("?transport=polling", BAD_VERSION),
    ("?EIO=abc&transport=polling", BAD_VERSION),
    ("?EIO=3&transport=polling", BAD_VERSION),
    ("?EIO=5&transport=polling", BAD_VERSION),
    ("?EIO=&transport=polling", BAD_VERSION),
], ids=["no-transport", "transport-abc", "transport-empty", "transport-flashsocket",
        "no-EIO", "EIO-abc", "EIO-3", "EIO-5", "EIO-empty"])
def test_polling_handshake_errors(port, path, query, body):
    assert_error(http_request(port, "GET", path + query), body)


def test_no_query_at_all(port):
    r = http_request(port, "GET", "/engine.io/")
    assert r.status == 400, r
    assert r.json()["code"] in (0, 5), r


@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_handshake_with_bad_method(port, method):
    assert_error(http_request(port, method, "/engine.io/" + eio_query("polling"), "4x"),
                 BAD_METHOD)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_unknown_sid(port, method):
    r = http_request(port, method, "/engine.io/" + eio_query("polling", "nosuchsid00000000000"),
                     "4x" if method == "POST" else b"")
    assert_error(r, SID_UNKNOWN)


def test_sid_of_other_path_is_unknown(port):
    """/engine.io/ and /socket.io/ are separate servers."""
    s = EioPolling(port, "/socket.io/").open()
    r = http_request(port, "GET", "/engine.io/" + eio_query("polling", s.sid))
    assert_error(r, SID_UNKNOWN)


def test_unknown_path_is_not_engine_io(port):
    r = http_request(port, "GET", "/other/" + eio_query("polling"))
    assert r.status == 404, r


def test_polling_request_with_wrong_version_on_live_session(port):
    s = EioPolling(port, "/engine.io/").open()
    r = http_request(port, "GET", "/engine.io/?EIO=3&transport=polling&sid=" + s.sid)
    assert_error(r, BAD_VERSION)


# ------------------------------------------------------- WebSocket handshakes


@pytest.mark.parametrize("query,body", [
    ("?EIO=4", TRANSPORT_UNKNOWN),
    ("?EIO=4&transport=abc", TRANSPORT_UNKNOWN),
    ("?transport=websocket", BAD_VERSION),
    ("?EIO=abc&transport=websocket", BAD_VERSION),
    ("?EIO=3&transport=websocket", BAD_VERSION),
], ids=["no-transport", "transport-abc", "no-EIO", "EIO-abc", "EIO-3"])
def test_websocket_handshake_errors(port, query, body):
    r = ws_refused(port, "/engine.io/" + query)
    if r is not None:
        assert_error(r, body)


def test_websocket_with_unknown_sid(port):
    r = ws_refused(port, "/engine.io/" + eio_query("websocket", "nosuchsid00000000000"))
    if r is not None:
        assert_error(r, SID_UNKNOWN)


def test_websocket_with_unknown_sid_is_http_400(port):
    """The bridge answers before switching protocols (brief: 400 on the upgrade)."""
    with pytest.raises(WSRefused) as e:
        WSConn(port, "/engine.io/" + eio_query("websocket", "nosuchsid00000000000"))
    assert_error(e.value.response, SID_UNKNOWN)


def test_websocket_upgrade_on_polling_transport_query(port):
    """Upgrade headers on a transport=polling request open no WebSocket session
    (answering it as a plain polling handshake is fine: Upgrade is optional)."""
    try:
        ws = WSConn(port, "/engine.io/" + eio_query("polling"), timeout=3.0)
    except WSRefused as e:
        assert e.response.status in (200, 400), e.response
        return
    assert ws.wait_closed(2.0) == []


def test_server_survives_garbage_request(port):
    import socket
    with socket.create_connection(("127.0.0.1", port), timeout=2) as c:
        c.sendall(b"\x00\x01GARBAGE\r\n\r\n")
        try:
            c.recv(100)
        except OSError:
            pass
    r = http_request(port, "GET", "/engine.io/" + eio_query("polling"))
    assert r.status == 200, r
