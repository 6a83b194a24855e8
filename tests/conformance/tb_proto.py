"""Raw protocol helpers for the Engine.IO v4 / Socket.IO v5 conformance tests.

Only the standard library: HTTP/1.1 and WebSocket (RFC 6455) are spoken over
plain sockets so that every byte on the wire is the test's own. Every wait
has a deadline; every socket connects to 127.0.0.1 only.
"""
import base64
import hashlib
import json
import os
import queue
import select
import socket
import struct
import threading
import time
from collections import deque

HOST = "127.0.0.1"
RS = "\x1e"  # Engine.IO v4 polling record separator

# Timing of the fixture (--ping-interval 300 --ping-timeout 200).
PING_INTERVAL = 0.300
PING_TIMEOUT = 0.200
MAX_PAYLOAD = 1000000
# Slack for scheduling and sanitizer builds on a loaded machine.
SLACK = 1.0


class ProtoTimeout(AssertionError):
    """A wait passed its deadline."""


class Deadline:
    def __init__(self, seconds):
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def left(self):
        return max(0.0, self.end - time.monotonic())

    def expired(self):
        return time.monotonic() >= self.end

    def check(self, what):
        if self.expired():
            raise ProtoTimeout("no %s within %.2fs" % (what, self.seconds))


def _recv_some(sock, deadline, what):
    """Up to 64 KiB from sock before deadline; b'' on EOF."""
    left = deadline.left()
    if left <= 0:
        raise ProtoTimeout("no %s within %.2fs" % (what, deadline.seconds))
    sock.settimeout(left)
    try:
        return sock.recv(65536)
    except socket.timeout:
        raise ProtoTimeout("no %s within %.2fs" % (what, deadline.seconds))
    except (ConnectionResetError, ConnectionAbortedError):
        return b""


# --------------------------------------------------------------------- HTTP


class HTTPResponse:
    def __init__(self, status, reason, headers, body):
        self.status = status
        self.reason = reason
        self.headers = headers  # lower-case name -> value (last one wins)
        self.body = body

    @property
    def text(self):
        return self.body.decode("utf-8")

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def packets(self):
        return decode_payload(self.text)

    def __repr__(self):
        b = self.body if len(self.body) <= 200 else self.body[:200] + b"..."
        return "HTTP %d %r" % (self.status, b)


class HTTPConn:
    """One HTTP/1.1 connection; requests may be written before answers are read."""

    def __init__(self, port, timeout=5.0):
        self.port = port
        self.sock = socket.create_connection((HOST, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.send_error = None
        self.methods = deque()

    def send_request(self, method, target, body=b"", headers=None, keep_alive=True,
                     content_length=None, body_part=None):
        """Writes a request. content_length/body_part allow writing a head
        that announces more body than is sent (an unfinished request)."""
        if isinstance(body, str):
            body = body.encode("utf-8")
        h = {"Host": "%s:%d" % (HOST, self.port)}
        if not keep_alive:
            h["Connection"] = "close"
        if method in ("POST", "PUT") or body:
            h["Content-Type"] = "text/plain;charset=UTF-8"
            h["Content-Length"] = str(len(body) if content_length is None else content_length)
        if headers:
            h.update(headers)
        head = "%s %s HTTP/1.1\r\n" % (method, target)
        head += "".join("%s: %s\r\n" % kv for kv in h.items()) + "\r\n"
        data = head.encode("latin-1") + (body if body_part is None else body_part)
        self.methods.append(method)
        try:
            self.sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError, socket.timeout) as e:
            # The server may answer (e.g. 413) and close before reading all.
            self.send_error = e

    def send_more(self, data):
        try:
            self.sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError) as e:
            self.send_error = e

    def answered(self, wait=0.0):
        """True if some bytes of an answer (or EOF) are readable within wait."""
        if self.buf:
            return True
        r, _, _ = select.select([self.sock], [], [], wait)
        return bool(r)

    def _fill(self, deadline, what):
        data = _recv_some(self.sock, deadline, what)
        if not data:
            raise ConnectionError("connection closed before the %s" % what)
        self.buf += data

    def read_response(self, timeout=5.0):
        dl = Deadline(timeout)
        method = self.methods.popleft() if self.methods else "GET"
        while b"\r\n\r\n" not in self.buf:
            self._fill(dl, "HTTP response head")
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        assert parts[0].startswith("HTTP/1."), "bad status line %r" % lines[0]
        status = int(parts[1])
        reason = parts[2] if len(parts) > 2 else ""
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            return HTTPResponse(status, reason, headers, b"")
        if "chunked" in headers.get("transfer-encoding", "").lower():
            body = b""
            while True:
                while b"\r\n" not in self.buf:
                    self._fill(dl, "chunk size")
                line, self.buf = self.buf.split(b"\r\n", 1)
                size = int(line.split(b";")[0].strip(), 16)
                while len(self.buf) < size + 2:
                    self._fill(dl, "chunk data")
                body += self.buf[:size]
                self.buf = self.buf[size + 2:]
                if size == 0:
                    break
        elif "content-length" in headers:
            n = int(headers["content-length"])
            while len(self.buf) < n:
                self._fill(dl, "HTTP body")
            body, self.buf = self.buf[:n], self.buf[n:]
        else:
            while True:
                data = _recv_some(self.sock, dl, "end of HTTP body")
                if not data:
                    break
                self.buf += data
            body, self.buf = self.buf, b""
        return HTTPResponse(status, reason, headers, body)

    def wait_eof(self, timeout):
        """True if the server closes the connection within timeout."""
        dl = Deadline(timeout)
        while True:
            try:
                data = _recv_some(self.sock, dl, "EOF")
            except ProtoTimeout:
                return False
            if not data:
                return True

    def close(self, reset=False):
        try:
            if reset:
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.sock.close()
        except OSError:
            pass


def http_request(port, method, target, body=b"", headers=None, timeout=5.0):
    c = HTTPConn(port, timeout)
    try:
        c.send_request(method, target, body, headers, keep_alive=False)
        return c.read_response(timeout)
    finally:
        c.close()


class PendingRequest:
    """A request written on its own connection whose answer is read later."""

    def __init__(self, port, method, target, body=b"", headers=None):
        self.conn = HTTPConn(port)
        self.conn.send_request(method, target, body, headers, keep_alive=False)
        self._resp = None

    def answered(self, wait=0.0):
        return self._resp is not None or self.conn.answered(wait)

    def response(self, timeout=5.0):
        if self._resp is None:
            self._resp = self.conn.read_response(timeout)
            self.conn.close()
        return self._resp

    def abort(self):
        self.conn.close(reset=True)


# ------------------------------------------------------------ Engine.IO codec


def encode_payload(packets):
    """Polling payload: text packets as they are, binary ones as b<base64>."""
    out = []
    for p in packets:
        if isinstance(p, (bytes, bytearray)):
            out.append("b" + base64.b64encode(bytes(p)).decode("ascii"))
        else:
            out.append(p)
    return RS.join(out)


def decode_payload(text):
    out = []
    for part in text.split(RS):
        if part.startswith("b"):
            out.append(base64.b64decode(part[1:], validate=True))
        else:
            out.append(part)
    return out


def parse_open(packet):
    assert isinstance(packet, str) and packet.startswith("0"), "not an open packet: %r" % (packet,)
    return json.loads(packet[1:])


def eio_query(transport="polling", sid=None, eio="4", extra=None):
    q = []
    if eio is not None:
        q.append("EIO=%s" % eio)
    if transport is not None:
        q.append("transport=%s" % transport)
    if sid is not None:
        q.append("sid=%s" % sid)
    if extra:
        q.append(extra)
    return "?" + "&".join(q)


# ---------------------------------------------------------------- WebSocket


class WSRefused(Exception):
    def __init__(self, response):
        super().__init__("WebSocket handshake refused: %r" % (response,))
        self.response = response


class WSClosed(Exception):
    def __init__(self, code=None, reason=b"", how="close frame"):
        super().__init__("WebSocket closed (%s, code %r, %r)" % (how, code, reason))
        self.code = code
        self.reason = reason
        self.how = how


OP_CONT, OP_TEXT, OP_BIN, OP_CLOSE, OP_PING, OP_PONG = 0, 1, 2, 8, 9, 10
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class WSConn:
    """A client WebSocket over a raw socket."""

    def __init__(self, port, target, timeout=5.0, headers=None):
        self.port = port
        self.sock = socket.create_connection((HOST, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.closed = False
        self.close_sent = False
        key = base64.b64encode(os.urandom(16)).decode("ascii")
        h = {
            "Host": "%s:%d" % (HOST, port),
            "Upgrade": "websocket",
            "Connection": "Upgrade",
            "Sec-WebSocket-Key": key,
            "Sec-WebSocket-Version": "13",
        }
        if headers:
            h.update(headers)
        req = "GET %s HTTP/1.1\r\n" % target + "".join("%s: %s\r\n" % kv for kv in h.items()) + "\r\n"
        self.sock.sendall(req.encode("latin-1"))
        http = HTTPConn.__new__(HTTPConn)
        http.sock, http.buf, http.port, http.send_error = self.sock, b"", port, None
        http.methods = deque(["GET"])
        dl = Deadline(timeout)
        while b"\r\n\r\n" not in http.buf:
            http._fill(dl, "WebSocket handshake answer")
        head = http.buf.split(b"\r\n\r\n", 1)[0].decode("latin-1")
        status = int(head.split("\r\n")[0].split(" ")[1])
        if status != 101:
            try:
                resp = http.read_response(dl.left() or 0.5)
            except (ConnectionError, ProtoTimeout):
                resp = HTTPResponse(status, "", {}, b"")
            self.sock.close()
            raise WSRefused(resp)
        _, self.buf = http.buf.split(b"\r\n\r\n", 1)
        headers_ = {}
        for line in head.split("\r\n")[1:]:
            n, _, v = line.partition(":")
            headers_[n.strip().lower()] = v.strip()
        self.headers = headers_
        want = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
        assert headers_.get("sec-websocket-accept") == want, "bad Sec-WebSocket-Accept"

    # -- writing
    def send_frame(self, opcode, payload=b"", fin=True, mask=True, rsv=0):
        if isinstance(payload, str):
            payload = payload.encode("utf-8")
        b0 = (0x80 if fin else 0) | (rsv << 4) | opcode
        n = len(payload)
        mbit = 0x80 if mask else 0
        if n < 126:
            head = struct.pack("!BB", b0, mbit | n)
        elif n < 65536:
            head = struct.pack("!BBH", b0, mbit | 126, n)
        else:
            head = struct.pack("!BBQ", b0, mbit | 127, n)
        if mask:
            key = os.urandom(4)
            k = (key * (n // 4 + 1))[:n]
            payload = bytes(a ^ b for a, b in zip(payload, k)) if n < 4096 else _xor_fast(payload, key)
            head += key
        try:
            self.sock.sendall(head + payload)
        except (BrokenPipeError, ConnectionResetError) as e:
            raise WSClosed(None, b"", "send failed: %s" % e)

    def send_text(self, s):
        self.send_frame(OP_TEXT, s.encode("utf-8") if isinstance(s, str) else s)

    def send_binary(self, b):
        self.send_frame(OP_BIN, bytes(b))

    def send(self, packet):
        if isinstance(packet, (bytes, bytearray)):
            self.send_binary(packet)
        else:
            self.send_text(packet)

    def close(self, code=1000):
        if not self.closed and not self.close_sent:
            try:
                self.send_frame(OP_CLOSE, struct.pack("!H", code))
            except (WSClosed, OSError):
                pass
            self.close_sent = True
        try:
            self.sock.close()
        except OSError:
            pass
        self.closed = True

    # -- reading
    def _need(self, n, dl):
        while len(self.buf) < n:
            data = _recv_some(self.sock, dl, "WebSocket frame")
            if not data:
                self.closed = True
                raise WSClosed(None, b"", "EOF")
            self.buf += data

    def recv_frame(self, timeout):
        dl = Deadline(timeout)
        self._need(2, dl)
        b0, b1 = self.buf[0], self.buf[1]
        assert not (b1 & 0x80), "server frames must not be masked"
        n = b1 & 0x7F
        off = 2
        if n == 126:
            self._need(4, dl)
            n = struct.unpack("!H", self.buf[2:4])[0]
            off = 4
        elif n == 127:
            self._need(10, dl)
            n = struct.unpack("!Q", self.buf[2:10])[0]
            off = 10
        self._need(off + n, dl)
        payload = self.buf[off:off + n]
        self.buf = self.buf[off + n:]
        return b0 & 0x0F, payload, bool(b0 & 0x80)

    def recv(self, timeout=5.0):
        """Next data message: str for text, bytes for binary. Raises WSClosed."""
        if self.closed:
            raise WSClosed(None, b"", "already closed")
        dl = Deadline(timeout)
        parts, first_op = [], None
        while True:
            try:
                op, payload, fin = self.recv_frame(dl.left())
            except ProtoTimeout:
                raise ProtoTimeout("no WebSocket message within %.2fs" % timeout)
            if op == OP_PING:
                self.send_frame(OP_PONG, payload)
                continue
            if op == OP_PONG:
                continue
            if op == OP_CLOSE:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                if not self.close_sent:
                    try:
                        self.send_frame(OP_CLOSE, payload[:2])
                    except (WSClosed, OSError):
                        pass
                    self.close_sent = True
                self.closed = True
                raise WSClosed(code, payload[2:])
            if op in (OP_TEXT, OP_BIN):
                assert first_op is None, "new data frame inside a fragmented message"
                first_op = op
            else:
                assert op == OP_CONT and first_op is not None, "unexpected opcode %d" % op
            parts.append(payload)
            if fin:
                data = b"".join(parts)
                return data.decode("utf-8") if first_op == OP_TEXT else data

    def recv_pong(self, timeout=5.0):
        dl = Deadline(timeout)
        while True:
            op, payload, fin = self.recv_frame(dl.left())
            if op == OP_PONG:
                return payload
            if op == OP_CLOSE:
                raise WSClosed(None, payload, "close frame")

    def wait_closed(self, timeout):
        """Reads until the server closes; returns the messages seen before."""
        seen = []
        dl = Deadline(timeout)
        while True:
            try:
                seen.append(self.recv(dl.left()))
            except WSClosed:
                return seen
            except ProtoTimeout:
                raise ProtoTimeout("WebSocket not closed within %.2fs (saw %r)" % (timeout, seen[:10]))


def _xor_fast(payload, key):
    n = len(payload)
    k = int.from_bytes((key * (n // 4 + 1))[:n], "big")
    return (int.from_bytes(payload, "big") ^ k).to_bytes(n, "big")


# ------------------------------------------------- Engine.IO client sessions


class SessionGone(AssertionError):
    pass


_GONE = object()


class _Pumped:
    """Background mode shared by both transports: a thread reads every
    packet, answers pings at once (the fixture's 300+200 ms heartbeat kills
    a session left alone for half a second), and queues the rest."""

    def pump(self):
        self.q = queue.Queue()
        self.gone_info = None
        self.stopping = False
        self.thread = threading.Thread(target=self._pump_loop, daemon=True)
        self.thread.start()
        return self

    def _put_gone(self, info):
        self.gone_info = info
        self.q.put(_GONE)

    def _pumped_recv(self, timeout):
        try:
            item = self.q.get(timeout=timeout)
        except queue.Empty:
            raise ProtoTimeout("no packet within %.2fs" % timeout)
        if item is _GONE:
            self.q.put(_GONE)
            raise SessionGone("session closed: %s" % (self.gone_info,))
        return item

    def _pumped_closed(self, timeout):
        seen = []
        dl = Deadline(timeout)
        while True:
            try:
                item = self.q.get(timeout=dl.left())
            except queue.Empty:
                raise ProtoTimeout("session not closed within %.2fs (saw %r)" % (timeout, seen[:10]))
            if item is _GONE:
                self.q.put(_GONE)
                return seen
            seen.append(item)


class EioPolling(_Pumped):
    """An Engine.IO session over raw HTTP long-polling."""

    transport = "polling"

    def __init__(self, port, path="/engine.io/", auto_pong=True):
        self.port = port
        self.path = path
        self.auto_pong = auto_pong
        self.sid = None
        self.handshake = None
        self.inbox = deque()
        self.pending = None  # a GET whose answer has not been read yet
        self.closed = False
        self.q = None
        self.post_lock = threading.Lock()  # one POST at a time (spec)

    def url(self, sid=True, extra=None):
        return self.path + eio_query("polling", self.sid if sid else None, extra=extra)

    def open(self, timeout=5.0):
        r = http_request(self.port, "GET", self.url(sid=False), timeout=timeout)
        assert r.status == 200, "handshake: %r" % r
        self.handshake = parse_open(r.text)
        self.sid = self.handshake["sid"]
        return self

    def post_raw(self, body, timeout=5.0, headers=None):
        with self.post_lock:
            return http_request(self.port, "POST", self.url(), body, headers=headers,
                                timeout=timeout)

    def send(self, *packets):
        r = self.post_raw(encode_payload(packets))
        if r.status != 200:
            raise SessionGone("POST answered %r" % r)
        assert r.body == b"ok", "POST answered %r" % r
        return r

    def start_get(self):
        assert self.pending is None, "a GET is already pending"
        self.pending = PendingRequest(self.port, "GET", self.url())
        return self.pending

    def get(self, timeout=5.0):
        """One poll (reusing a pending GET): the HTTP response."""
        if self.pending is None:
            self.start_get()
        p = self.pending
        r = p.response(timeout)  # ProtoTimeout leaves it pending
        self.pending = None
        return r

    def _pump_loop(self):
        try:
            while not self.stopping:
                try:
                    r = self.get(1.0)
                except ProtoTimeout:
                    continue
                except (ConnectionError, OSError) as e:
                    # A held poll cut without an answer: the session ended
                    # (or the server misbehaved); a fresh poll tells.
                    self.pending = None
                    try:
                        r = http_request(self.port, "GET", self.url(), timeout=2.0)
                    except (ConnectionError, OSError, ProtoTimeout):
                        self._put_gone("poll failed: %s" % e)
                        return
                    if r.status != 200:
                        self._put_gone(r)
                        return
                    for p in r.packets():
                        self.q.put(p)
                    continue
                if r.status != 200:
                    self._put_gone(r)
                    return
                for p in r.packets():
                    if p == "2" and self.auto_pong:
                        try:
                            self.post_raw("3")
                        except (ConnectionError, OSError):
                            pass
                        continue
                    self.q.put(p)
        except Exception as e:  # noqa: BLE001 - reported through the queue
            self._put_gone("pump error: %r" % e)

    def recv(self, timeout=5.0, skip_ping=True):
        if self.q is not None:
            return self._pumped_recv(timeout)
        dl = Deadline(timeout)
        while True:
            while self.inbox:
                p = self.inbox.popleft()
                if p == "2" and skip_ping:
                    if self.auto_pong:
                        self.send("3")
                    continue
                return p
            if self.closed:
                raise SessionGone("session closed")
            if dl.expired():
                raise ProtoTimeout("no packet within %.2fs" % timeout)
            r = self.get(dl.left())
            if r.status != 200:
                self.closed = True
                raise SessionGone("GET answered %r" % r)
            self.inbox.extend(r.packets())

    def expect_closed(self, timeout=3.0):
        """The session ends: polls until HTTP 400; returns the packets seen."""
        if self.q is not None:
            seen = self._pumped_closed(timeout)
            info = self.gone_info
            assert isinstance(info, HTTPResponse) and info.status == 400, info
            assert info.json().get("code") in (1, 3), info
            return seen
        dl = Deadline(timeout)
        seen = list(self.inbox)
        self.inbox.clear()
        while True:
            if dl.expired():
                raise ProtoTimeout("session not closed within %.2fs (saw %r)" % (timeout, seen[:10]))
            try:
                r = self.get(dl.left())
            except ProtoTimeout:
                raise ProtoTimeout("session not closed within %.2fs (saw %r)" % (timeout, seen[:10]))
            except ConnectionError:
                self.pending = None
                continue
            if r.status == 400:
                body = r.json()
                assert body.get("code") in (1, 3), "closed session answered %r" % r
                self.closed = True
                return seen
            assert r.status == 200, "unexpected %r" % r
            seen.extend(r.packets())

    def close(self):
        self.stopping = True
        if self.pending is not None:
            self.pending.abort()


class EioWebSocket(_Pumped):
    """An Engine.IO session over a raw WebSocket."""

    transport = "websocket"

    def __init__(self, port, path="/engine.io/", auto_pong=True):
        self.port = port
        self.path = path
        self.auto_pong = auto_pong
        self.ws = None
        self.sid = None
        self.handshake = None
        self.q = None
        self.send_lock = threading.Lock()

    def open(self, timeout=5.0, sid=None):
        self.ws = WSConn(self.port, self.path + eio_query("websocket", sid), timeout)
        if sid is None:
            self.handshake = parse_open(self.ws.recv(timeout))
            self.sid = self.handshake["sid"]
        else:
            self.sid = sid
        return self

    def send(self, *packets):
        with self.send_lock:
            for p in packets:
                self.ws.send(p)

    def _pump_loop(self):
        try:
            while not self.stopping:
                try:
                    p = self.ws.recv(1.0)
                except ProtoTimeout:
                    continue
                except (WSClosed, OSError) as e:
                    self._put_gone(str(e))
                    return
                if p == "2" and self.auto_pong:
                    try:
                        self.send("3")
                    except (WSClosed, OSError):
                        pass
                    continue
                self.q.put(p)
        except Exception as e:  # noqa: BLE001
            self._put_gone("pump error: %r" % e)

    def recv(self, timeout=5.0, skip_ping=True):
        if self.q is not None:
            return self._pumped_recv(timeout)
        dl = Deadline(timeout)
        while True:
            try:
                p = self.ws.recv(dl.left())
            except WSClosed as e:
                raise SessionGone(str(e))
            if p == "2" and skip_ping:
                if self.auto_pong:
                    self.send("3")
                continue
            return p

    def expect_closed(self, timeout=3.0):
        if self.q is not None:
            return self._pumped_closed(timeout)
        return self.ws.wait_closed(timeout)

    def close(self):
        self.stopping = True
        if self.ws is not None:
            self.ws.close()


def open_session(transport, port, path="/engine.io/", auto_pong=True, pump=False):
    cls = EioPolling if transport == "polling" else EioWebSocket
    s = cls(port, path, auto_pong).open()
    return s.pump() if pump else s


# ----------------------------------------------------------- Socket.IO helpers


def sio_connect(sess, nsp="/", auth=None, timeout=5.0):
    """CONNECT to nsp; checks the CONNECT reply and the fixture's auth event.
    Returns the Socket.IO sid."""
    prefix = "" if nsp == "/" else nsp + ","
    sess.send("40" + prefix + ("" if auth is None else json.dumps(auth, separators=(",", ":"))))
    reply = sess.recv(timeout)
    assert isinstance(reply, str) and reply.startswith("40" + prefix), "CONNECT reply %r" % (reply,)
    data = json.loads(reply[2 + len(prefix):])
    assert set(data) == {"sid"} and isinstance(data["sid"], str) and data["sid"], reply
    ev = sess.recv(timeout)
    want_auth = {} if auth is None else auth
    assert ev.startswith("42" + prefix), "auth event %r" % (ev,)
    assert json.loads(ev[2 + len(prefix):]) == ["auth", want_auth], ev
    return data["sid"]


def sio_session(transport, port, nsp="/", auth=None):
    s = open_session(transport, port, "/socket.io/", pump=True)
    sio_connect(s, nsp, auth)
    return s


def placeholder(n):
    return {"_placeholder": True, "num": n}


def compact(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def sio_open(transport, port):
    """An Engine.IO session on /socket.io/ (pumped), not yet CONNECTed."""
    return open_session(transport, port, "/socket.io/", pump=True)


def attachment_count(packet):
    """For a Socket.IO BINARY_EVENT/BINARY_ACK in an Engine.IO message
    ('45N-...' / '46N-...'): N; else 0."""
    if isinstance(packet, str) and len(packet) > 2 and packet[1] in "56":
        dash = packet.index("-")
        return int(packet[2:dash])
    return 0


def recv_sio(sess, timeout=5.0):
    """One whole Socket.IO packet: (text, [attachments])."""
    dl = Deadline(timeout)
    head = sess.recv(dl.left())
    assert isinstance(head, str), "binary packet where a Socket.IO packet was expected: %r" % (head,)
    atts = []
    for _ in range(attachment_count(head)):
        a = sess.recv(dl.left())
        assert isinstance(a, bytes), "text %r where an attachment was expected" % (a,)
        atts.append(a)
    return head, atts


def split_sio(packet):
    """'4<type>[N-][/nsp,][id][json]' -> (type, nsp, id, data)."""
    assert packet[0] == "4", packet
    s = packet[1:]
    t = int(s[0])
    i = 1
    if t in (5, 6):
        i = s.index("-") + 1
    nsp = "/"
    if i < len(s) and s[i] == "/":
        j = s.index(",", i)
        nsp = s[i:j]
        i = j + 1
    j = i
    while j < len(s) and s[j].isdigit():
        j += 1
    ack = int(s[i:j]) if j > i else None
    data = json.loads(s[j:]) if j < len(s) else None
    return t, nsp, ack, data


def reconstruct(data, atts):
    """Replaces placeholders by their attachments."""
    if isinstance(data, dict):
        if data.get("_placeholder") is True and isinstance(data.get("num"), int):
            return atts[data["num"]]
        return {k: reconstruct(v, atts) for k, v in data.items()}
    if isinstance(data, list):
        return [reconstruct(v, atts) for v in data]
    return data
