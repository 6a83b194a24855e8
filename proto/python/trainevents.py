"""trainevents: publish trainbridge training events from a Python trainer.

The wire contract is proto/EVENTS.md: a ZeroMQ message of two frames
[topic = scenario, payload = msgpack envelope]. This module mirrors the C
library (libtrainevents): `encode` and `decode` apply exactly the C
decoder's rules and report the same error codes, and `Publisher` is an XPUB
socket with the same slow-joiner guard as te_publisher.

    from trainevents import Publisher
    with Publisher("tcp://127.0.0.1:5556", trainer="gpu-7") as pub:
        pub.training_started("alpha", num_episodes=100)
        report = pub.progress_callback("alpha", total_episodes=100)
        for episode in range(1, 101):
            report(episode, {"avg_reward": r, ...})   # after every episode
        pub.training_completed("alpha", episodes_completed=100)

Needs only python3-zmq and python3-msgpack.
"""

import datetime
import logging
import math
import numbers
import os
import re
import socket
import struct
import threading
import time

import msgpack
import zmq

__all__ = [
    "SCHEMA_VERSION", "EVENTS", "ValidationError", "encode", "decode", "decode_frames",
    "name_valid", "now_us", "utc_now_iso", "Publisher", "MIN_VERSION", "TERMINAL_EVENTS",
    "HEARTBEAT_INTERVAL",
]

SCHEMA_VERSION = 2  # the newest version read and written; see MIN_VERSION
MAX_FRAME_BYTES = 65536
MAX_NAME_LEN = 64
MAX_TIME_LEN = 64
MAX_TEXT_LEN = 4096
MAX_SEQ = 2**53 - 1
MAX_EXACT_INT = 2**53
HEARTBEAT_MIN_MS = 100
HEARTBEAT_MAX_MS = 3600000
HEARTBEAT_INTERVAL = 5.0  # seconds, the publisher's default
READY_TIMEOUT = 5.0
DEFAULT_SNDHWM = 10000
LINGER_MS = 2000

_log = logging.getLogger("trainevents")

# ------------------------------------------------------------------ schema

_INT, _FLOAT, _METRICS = "int", "float", "metrics"
_SCENARIO, _TIME, _TEXT = "scenario", "time", "text"
_INTERVAL = "interval"  # int, milliseconds, HEARTBEAT_MIN_MS..HEARTBEAT_MAX_MS
_MAX_LEN = {_SCENARIO: MAX_NAME_LEN, _TIME: MAX_TIME_LEN, _TEXT: MAX_TEXT_LEN}

_METRICS_FIELDS = (("avg_reward", _FLOAT), ("avg_duration", _FLOAT), ("stability", _FLOAT))

#: Each event's data fields in wire order (the C library's schema tables).
EVENTS = {
    "training_started": (("scenario_name", _SCENARIO), ("num_episodes", _INT),
                         ("start_time", _TIME)),
    "training_progress": (("episode", _INT), ("total_episodes", _INT), ("avg_reward", _FLOAT),
                          ("avg_duration", _FLOAT), ("avg_cash", _FLOAT),
                          ("avg_invested", _FLOAT), ("stability", _FLOAT),
                          ("goal_adherence", _FLOAT), ("elapsed_time", _FLOAT)),
    "training_completed": (("scenario_name", _SCENARIO), ("episodes_completed", _INT),
                           ("final_metrics", _METRICS)),
    "training_stopped": (("scenario_name", _SCENARIO), ("episodes_completed", _INT)),
    "training_error": (("message", _TEXT), ("details", _TEXT)),
    "heartbeat": (("scenario_name", _SCENARIO), ("episode", _INT), ("interval_ms", _INTERVAL)),
}

#: The lowest schema version that has each event; messages carry it as "v".
MIN_VERSION = {name: 2 if name == "heartbeat" else 1 for name in EVENTS}

#: The events that end a run.
TERMINAL_EVENTS = frozenset(("training_completed", "training_stopped", "training_error"))

_ENVELOPE_KEYS = ("v", "event", "scenario", "trainer", "seq", "ts", "data")
_MAX_DEPTH = 3  # envelope > data > final_metrics
_FIELD_CAP = 47  # struct te_error.field holds 47 bytes

_NAME_RE = re.compile(rb"[A-Za-z0-9._:-]{1,64}")
_TIME_RE = re.compile(rb"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(\.\d{1,9})?"
                      rb"(Z|[+-](\d\d):(\d\d))?")


class ValidationError(ValueError):
    """An event the C decoder would reject: code (te_errc_name), field, message."""

    def __init__(self, code, field, message):
        super().__init__(f"{code}: {field + ': ' if field else ''}{message}")
        self.code = code
        self.field = field
        self.message = message


def name_valid(name):
    """True if name (str or bytes) is a valid scenario name or trainer id."""
    raw = name.encode("utf-8", "surrogateescape") if isinstance(name, str) else bytes(name)
    return _NAME_RE.fullmatch(raw) is not None and not raw.startswith(b".")


def _time_valid(raw):
    m = _TIME_RE.fullmatch(raw)
    if not m:
        return False
    month, day, hour, minute, sec = (int(m.group(i)) for i in range(2, 7))
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour <= 23 and minute <= 59 and sec <= 60):
        return False
    return m.group(9) is None or (int(m.group(9)) <= 23 and int(m.group(10)) <= 59)


def _utf8_valid(raw):
    if b"\x00" in raw:
        return False
    try:
        raw.decode("utf-8")  # strict: no overlongs, no surrogates, nothing above U+10FFFF
    except UnicodeDecodeError:
        return False
    return True


# ---------------------------------------------- msgpack reader (C pre-scan)

class _Obj:
    """One msgpack object, typed as msgpack-c types it."""

    __slots__ = ("kind", "value")

    def __init__(self, kind, value):
        self.kind = kind
        self.value = value


_TYPE_NAMES = {"nil": "nil", "bool": "boolean", "int": "integer", "float": "float",
               "str": "string", "bin": "binary", "array": "array", "map": "map",
               "ext": "extension"}

_FIXED = {0xC0: ("nil", 0), 0xC2: ("bool", 0), 0xC3: ("bool", 0), 0xCA: ("f32", 4),
          0xCB: ("f64", 8), 0xCC: ("u", 1), 0xCD: ("u", 2), 0xCE: ("u", 4), 0xCF: ("u", 8),
          0xD0: ("i", 1), 0xD1: ("i", 2), 0xD2: ("i", 4), 0xD3: ("i", 8), 0xD4: ("ext", 2),
          0xD5: ("ext", 3), 0xD6: ("ext", 5), 0xD7: ("ext", 9), 0xD8: ("ext", 17)}
_SIZED = {0xC4: ("bin", 1, 0), 0xC5: ("bin", 2, 0), 0xC6: ("bin", 4, 0), 0xC7: ("ext", 1, 1),
          0xC8: ("ext", 2, 1), 0xC9: ("ext", 4, 1), 0xD9: ("str", 1, 0), 0xDA: ("str", 2, 0),
          0xDB: ("str", 4, 0)}
_CONTAINERS = {0xDC: ("array", 2), 0xDD: ("array", 4), 0xDE: ("map", 2), 0xDF: ("map", 4)}


class _Malformed(Exception):
    pass


class _Reader:
    """Reads one msgpack object in byte order, failing where the C pre-scan
    fails and for the same reason (first problem in byte order wins)."""

    def __init__(self, buf):
        self.buf = buf
        self.pos = 0

    def take(self, n):
        if n > len(self.buf) - self.pos:
            raise _Malformed
        chunk = self.buf[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def header(self):
        """Returns (shape, detail, count) and leaves pos after the header."""
        b = self.take(1)[0]
        if b <= 0x7F:
            return "int", b, 0
        if b >= 0xE0:
            return "int", b - 0x100, 0
        if b <= 0x8F:
            return "map", None, b & 0x0F
        if b <= 0x9F:
            return "array", None, b & 0x0F
        if b <= 0xBF:
            return "str", 0, b & 0x1F
        if b in _CONTAINERS:
            shape, width = _CONTAINERS[b]
            return shape, None, int.from_bytes(self.take(width), "big")
        if b in _SIZED:
            shape, width, extra = _SIZED[b]
            return shape, extra, int.from_bytes(self.take(width), "big")
        if b in _FIXED:
            return "fixed", b, _FIXED[b][1]
        raise _Malformed  # 0xC1

    def read(self, depth):
        start = self.pos
        if self.pos >= len(self.buf):
            raise _Malformed
        shape, detail, n = self.header()
        if shape in ("map", "array"):
            if (2 * n if shape == "map" else n) > len(self.buf) - self.pos:
                raise _Malformed
            if depth == _MAX_DEPTH:
                raise ValidationError("too_deep", "", f"nested deeper than {_MAX_DEPTH} levels")
            if shape == "array":
                return _Obj("array", [self.read(depth + 1) for _ in range(n)])
            return _Obj("map", [(self.read(depth + 1), self.read(depth + 1)) for _ in range(n)])
        if shape == "int":
            return _Obj("int", detail)
        if shape in ("str", "bin"):
            return _Obj(shape, self.take(n))
        if shape == "ext":
            return _Obj("ext", self.take(detail + n))
        return self.fixed(detail, start)

    def fixed(self, b, start):
        kind, size = _FIXED[b]
        body = self.take(size)
        if kind == "nil":
            return _Obj("nil", None)
        if kind == "bool":
            return _Obj("bool", b == 0xC3)
        if kind in ("f32", "f64"):
            return _Obj("float", struct.unpack(">f" if kind == "f32" else ">d", body)[0])
        if kind == "ext":
            return _Obj("ext", body)
        return _Obj("int", int.from_bytes(body, "big", signed=kind == "i"))


def _parse(payload):
    reader = _Reader(payload)
    try:
        obj = reader.read(0)
    except _Malformed:
        raise ValidationError("malformed", "",
                              f"not msgpack, or truncated at byte {reader.pos}") from None
    if reader.pos < len(payload):
        raise ValidationError("trailing_bytes", "",
                              f"{len(payload) - reader.pos} bytes after the envelope")
    return obj


# ------------------------------------------------------------------ decoder

def _join(prefix, raw_name):
    shown = "".join(chr(c) if 0x21 <= c <= 0x7E else "?" for c in raw_name[:32])
    return (f"{prefix}.{shown}" if prefix else shown)[:_FIELD_CAP]


def _type_error(path, what, obj):
    return ValidationError("wrong_type", path, f"expected {what}, got {_TYPE_NAMES[obj.kind]}")


def _collect(obj, names, prefix):
    """Matches a map's keys to names: missing, extra, duplicate, non-string keys."""
    slots = {}
    for key, val in obj.value:
        if key.kind != "str":
            raise ValidationError("wrong_type", prefix[:_FIELD_CAP],
                                  f"keys must be strings, got {_TYPE_NAMES[key.kind]}")
        path = _join(prefix, key.value)
        name = key.value.decode("latin-1")
        if name not in names:
            raise ValidationError("extra_field", path, "not a field of the schema")
        if name in slots:
            raise ValidationError("duplicate_field", path, "appears more than once")
        slots[name] = val
    for name in names:
        if name not in slots:
            raise ValidationError("missing_field", _join(prefix, name.encode()),
                                  "required field is missing")
    return slots


def _read_int(obj, path):
    if obj.kind != "int":
        raise _type_error(path, "an integer", obj)
    if obj.value > 2**63 - 1:
        raise ValidationError("out_of_range", path,
                              f"{obj.value} does not fit a signed 64-bit integer")
    return obj.value


def _read_float(obj, path):
    if obj.kind == "float":
        if not math.isfinite(obj.value):
            raise ValidationError("out_of_range", path, "must be a finite number")
        return obj.value
    if obj.kind != "int":
        raise _type_error(path, "a number", obj)
    if abs(obj.value) > MAX_EXACT_INT:
        raise ValidationError("out_of_range", path, "integer beyond 2^53 is not exact as a float")
    return float(obj.value)


def _read_string(obj, path, max_len):
    if obj.kind != "str":
        raise _type_error(path, "a string", obj)
    if len(obj.value) > max_len:
        raise ValidationError("too_long", path, f"longer than {max_len} bytes")
    if not _utf8_valid(obj.value):
        raise ValidationError("bad_utf8", path, "not valid UTF-8 (or contains NUL)")
    return obj.value.decode("utf-8")


def _decode_map(obj, fields, path):
    if obj.kind != "map":
        raise ValidationError("not_a_map", path, f"expected a map, got {_TYPE_NAMES[obj.kind]}")
    slots = _collect(obj, [name for name, _ in fields], path)
    out = {}
    for name, kind in fields:
        field_path = _join(path, name.encode())
        if kind in (_INT, _INTERVAL):
            out[name] = _read_int(slots[name], field_path)
        elif kind == _FLOAT:
            out[name] = _read_float(slots[name], field_path)
        elif kind == _METRICS:
            out[name] = _decode_map(slots[name], _METRICS_FIELDS, field_path)
        else:
            out[name] = _read_string(slots[name], field_path, _MAX_LEN[kind])
    return out


def _check_version(obj):
    for key, val in obj.value:
        if key.kind != "str" or key.value != b"v":
            continue
        if val.kind == "int" and 1 <= val.value <= SCHEMA_VERSION:
            return val.value
        if val.kind == "int":
            raise ValidationError("bad_version", "v", f"unsupported schema version {val.value} "
                                  f"(want 1..{SCHEMA_VERSION})")
        raise _type_error("v", "an integer", val)
    return None  # absent: _collect reports it


def _decode_envelope(obj):
    if obj.kind != "map":
        raise ValidationError("not_a_map", "",
                              f"envelope: expected a map, got {_TYPE_NAMES[obj.kind]}")
    version = _check_version(obj)
    slots = _collect(obj, _ENVELOPE_KEYS, "")
    event = slots["event"]
    if event.kind != "str":
        raise _type_error("event", "a string", event)
    name = event.value.decode("latin-1")
    if name not in EVENTS:
        raise ValidationError("unknown_event", "event", f'unknown event "{_join("", event.value)}"')
    if version < MIN_VERSION[name]:
        raise ValidationError("unknown_event", "event", f'"{name}" needs schema version '
                              f"{MIN_VERSION[name]}, the message says {version}")
    env = {"v": version, "event": name,
           "scenario": _read_string(slots["scenario"], "scenario", MAX_NAME_LEN),
           "trainer": _read_string(slots["trainer"], "trainer", MAX_NAME_LEN)}
    seq = _read_int(slots["seq"], "seq")
    env["ts"] = _read_int(slots["ts"], "ts")
    if not 1 <= seq <= MAX_SEQ:
        raise ValidationError("out_of_range", "seq", f"must be 1..2^53-1, got {seq}")
    env["seq"] = seq
    env["data"] = _decode_map(slots["data"], EVENTS[name], "data")
    return {k: env[k] for k in _ENVELOPE_KEYS}


def _validate_fields(data, fields, prefix, scenario):
    for name, kind in fields:
        path = f"{prefix}.{name}"[:_FIELD_CAP]
        value = data[name]
        if kind == _INT and value < 0:
            raise ValidationError("out_of_range", path, f"must be >= 0, got {value}")
        if kind == _INTERVAL and not HEARTBEAT_MIN_MS <= value <= HEARTBEAT_MAX_MS:
            raise ValidationError("out_of_range", path, f"must be {HEARTBEAT_MIN_MS}.."
                                  f"{HEARTBEAT_MAX_MS} ms, got {value}")
        if kind == _SCENARIO and not name_valid(value):
            raise ValidationError("bad_charset", path, "must be 1..64 bytes of [A-Za-z0-9._:-], "
                                  "not starting with '.'")
        if kind == _SCENARIO and value != scenario:
            raise ValidationError("scenario_mismatch", path, "differs from the envelope's scenario")
        if kind == _TIME and not _time_valid(value.encode("utf-8")):
            raise ValidationError("bad_charset", path,
                                  "expected an ISO 8601 date-time like 2024-05-01T12:00:00Z")
        if kind == _METRICS:
            _validate_fields(value, _METRICS_FIELDS, path, scenario)


def _validate(env):
    """The value checks of te_event_validate, after types and structure."""
    for key in ("scenario", "trainer"):
        if not name_valid(env[key]):
            raise ValidationError("bad_charset", key, "must be 1..64 bytes of [A-Za-z0-9._:-], "
                                  "not starting with '.'")
    if not 0 <= env["ts"] <= MAX_SEQ:
        raise ValidationError("out_of_range", "ts", f"must be 0..2^53-1, got {env['ts']}")
    _validate_fields(env["data"], EVENTS[env["event"]], "data", env["scenario"])


def _decode_payload(payload):
    payload = bytes(payload)
    if len(payload) > MAX_FRAME_BYTES:
        raise ValidationError("oversize", "",
                              f"frame of {len(payload)} bytes exceeds {MAX_FRAME_BYTES}")
    env = _decode_envelope(_parse(payload))
    _validate(env)
    return env


def decode(topic, payload):
    """Decodes and validates [topic, payload] like te_frames_decode.

    Returns {"v", "event", "scenario", "trainer", "seq", "ts", "data"}; float
    fields are floats even when the wire carried an integer. Raises
    ValidationError. topic=None skips nothing: it is a topic_mismatch."""
    env = _decode_payload(payload)
    if topic is None or bytes(topic) != env["scenario"].encode("utf-8"):
        raise ValidationError("topic_mismatch", "topic",
                              f"the topic frame is not the envelope's scenario "
                              f"\"{env['scenario']}\"")
    return env


def decode_frames(frames):
    """Decodes a whole ZeroMQ message (a list of frames); bad_frames unless two."""
    if len(frames) != 2:
        raise ValidationError("bad_frames", "", f"expected 2 frames, got {len(frames)}")
    return decode(frames[0], frames[1])


# ------------------------------------------------------------------ encoder

def _coerce(value, kind):
    """Numbers as the C encoder writes them: ints as ints, floats as doubles."""
    if isinstance(value, bool):
        return value  # the decoder calls it wrong_type
    if kind in (_INT, _INTERVAL) and isinstance(value, numbers.Integral):
        return int(value)
    if kind == _FLOAT and isinstance(value, numbers.Integral):
        return float(value) if abs(int(value)) <= MAX_EXACT_INT else int(value)
    if kind == _FLOAT and isinstance(value, numbers.Real):
        return float(value)
    if kind == _METRICS and isinstance(value, dict):
        return _coerce_map(value, _METRICS_FIELDS)
    return value


def _coerce_map(data, fields):
    kinds = dict(fields)
    return {k: _coerce(v, kinds[k]) if k in kinds else v for k, v in data.items()}


def _ordered(data, fields):
    """Schema order first (as the C encoder writes), then anything else."""
    names = [name for name, _ in fields]
    out = {k: data[k] for k in names if k in data}
    out.update((k, v) for k, v in data.items() if k not in out)
    return out


def encode(event, scenario, trainer, seq, ts_us, data, version=None):
    """Encodes one envelope as msgpack bytes, exactly as te_event_encode would.

    version defaults to the lowest that has the event (MIN_VERSION), as the
    C publisher stamps it. Checks it with the decoder's rules first; raises
    ValidationError."""
    fields = EVENTS.get(event)
    if fields is None:
        raise ValidationError("unknown_event", "event", f"unknown event {event!r}")
    if not isinstance(data, dict):
        raise ValidationError("not_a_map", "data", f"expected a dict, got {type(data).__name__}")
    body = _ordered(_coerce_map(data, fields), fields)
    if isinstance(body.get("final_metrics"), dict):
        body["final_metrics"] = _ordered(body["final_metrics"], _METRICS_FIELDS)
    env = {"v": MIN_VERSION[event] if version is None else version, "event": event,
           "scenario": scenario, "trainer": trainer,
           "seq": _coerce(seq, _INT), "ts": _coerce(ts_us, _INT), "data": body}
    try:
        payload = msgpack.packb(env, use_bin_type=True)
    except UnicodeEncodeError as e:
        raise ValidationError("bad_utf8", "", f"not encodable as UTF-8: {e}") from None
    except OverflowError as e:
        raise ValidationError("out_of_range", "", str(e)) from None
    except (TypeError, ValueError) as e:
        raise ValidationError("wrong_type", "", str(e)) from None
    _decode_payload(payload)
    return payload


# ---------------------------------------------------------------- publisher

def now_us():
    """Microseconds since the Unix epoch (CLOCK_REALTIME), as the envelope's ts."""
    return time.time_ns() // 1000


def utc_now_iso():
    """Now as ISO 8601 UTC with microseconds, e.g. 2024-05-01T12:00:00.123456Z."""
    now = datetime.datetime.now(datetime.timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _default_trainer():
    suffix = f"-{os.getpid()}"
    host = socket.gethostname() or "trainer"
    host = re.sub(r"[^A-Za-z0-9._:-]", "_", host)[:MAX_NAME_LEN - len(suffix)]
    if host.startswith("."):
        host = "_" + host[1:]
    return host + suffix


def _heartbeat_ms(interval):
    """Seconds -> the interval_ms heartbeats announce; None or 0: off (0)."""
    if interval is None or interval == 0:
        return 0
    ms = round(float(interval) * 1000)
    if not HEARTBEAT_MIN_MS <= ms <= HEARTBEAT_MAX_MS:
        raise ValidationError("out_of_range", "heartbeat_interval",
                              f"must be {HEARTBEAT_MIN_MS / 1000}..{HEARTBEAT_MAX_MS // 1000} s "
                              f"(or None), got {interval}")
    return ms


def _split_endpoints(endpoints):
    items = [endpoints] if isinstance(endpoints, str) else list(endpoints)
    out = [ep for item in items for ep in item.split(",") if ep]
    if not out:
        raise ValueError("a publisher needs at least one endpoint")
    return out


def _curve_server_key(server_key):
    """The bridge's public key as bytes: 40 Z85 characters, or read from a
    certificate file."""
    if isinstance(server_key, bytes):
        server_key = server_key.decode()
    if len(server_key) == 40 and not os.path.exists(server_key):
        return server_key.encode()
    import zmq.auth
    public, _ = zmq.auth.load_certificate(server_key)
    return public


def _apply_curve(sock, server_key, client_cert):
    """Makes sock a CURVE client of the bridge (both arguments or neither)."""
    if server_key is None and client_cert is None:
        return
    if server_key is None or client_cert is None:
        raise ValueError("CURVE needs both server_key and client_cert")
    import zmq.auth
    public, secret = zmq.auth.load_certificate(client_cert)
    if not secret:
        raise ValueError(f"{client_cert} holds no secret key")
    sock.curve_serverkey = _curve_server_key(server_key)
    sock.curve_publickey = public
    sock.curve_secretkey = secret


class Publisher:
    """An XPUB socket that publishes events as one trainer (see te_publisher).

    endpoints: one string or a list, czmq notation: "tcp://host:5556" or
    ">tcp://..." connects, "@tcp://*:5556" binds. The first send waits up to
    ready_timeout seconds (None or <= 0: never) until max(1, number of
    connect endpoints) subscriptions have arrived, so that the first event is
    not lost to a slow joiner; if none arrives it logs a warning and sends
    anyway.

    Heartbeats: from training_started to the run's terminal event the
    publisher sends a heartbeat on the run's topic every heartbeat_interval
    seconds (default 5; 0.1 .. 3600; None or 0 turns them off), the first
    right after training_started. They come from a daemon thread of the
    publisher's own, started with the first run, so a training loop that
    blocks in one long call (time.sleep, I/O, a GPU step or any C extension
    that releases the GIL) still beats; one that holds the GIL for longer
    than the interval delays them. The socket is used by the caller's thread
    and the heartbeat thread, never at once: a lock inside the publisher
    guards it and the sequence counter. The methods may be called from any
    thread; close() stops the heartbeat thread before it closes the socket,
    so nothing is sent after it.

    CURVE (a bridge run with --zmq-curve-secret): server_key is the bridge's
    public key, 40 Z85 characters or the path of its public certificate
    file; client_cert is the path of this trainer's secret certificate (the
    czmq <name>_secret file, or pyzmq's <name>.key_secret)."""

    def __init__(self, endpoints, trainer=None, ready_timeout=READY_TIMEOUT,
                 sndhwm=DEFAULT_SNDHWM, context=None, heartbeat_interval=HEARTBEAT_INTERVAL,
                 server_key=None, client_cert=None):
        self.trainer = _default_trainer() if trainer is None else trainer
        if len(self.trainer.encode("utf-8", "surrogateescape")) > MAX_NAME_LEN:
            raise ValidationError("too_long", "trainer", f"longer than {MAX_NAME_LEN} bytes")
        if not name_valid(self.trainer):
            raise ValidationError("bad_charset", "trainer", f"{self.trainer!r} is not 1..64 "
                                  "bytes of [A-Za-z0-9._:-] not starting with '.'")
        self.endpoints = _split_endpoints(endpoints)
        self.ready_timeout = ready_timeout
        self.seq = 0
        self.subscriptions = 0
        self.is_ready = False
        self._is_ready_checked = ready_timeout is None or ready_timeout <= 0
        self._last_progress = {}
        self.heartbeat_interval_ms = _heartbeat_ms(heartbeat_interval)
        self.heartbeats = 0  # heartbeats sent
        self._lock = threading.RLock()  # the socket, seq and the runs below
        self._wake = threading.Condition(self._lock)
        self._runs = {}  # active scenario -> [latest episode, monotonic time the next beat is due]
        self._beater = None
        self._is_closing = False
        self._sock = (context or zmq.Context.instance()).socket(zmq.XPUB)
        try:
            _apply_curve(self._sock, server_key, client_cert)
            self._configure(sndhwm)
        except Exception:
            self._sock.close(linger=0)
            raise

    def _configure(self, sndhwm):
        self._sock.setsockopt(zmq.XPUB_VERBOSE, 1)
        self._sock.setsockopt(zmq.SNDHWM, sndhwm)
        self._sock.setsockopt(zmq.LINGER, LINGER_MS)
        self._n_connects = 0
        for ep in self.endpoints:
            if ep.startswith("@"):
                self._sock.bind(ep[1:])
            else:
                self._sock.connect(ep[1:] if ep.startswith(">") else ep)
                self._n_connects += 1

    def _drain(self):
        while True:
            try:
                msg = self._sock.recv(zmq.NOBLOCK)
            except zmq.Again:
                return
            if msg[:1] == b"\x01":
                self.subscriptions += 1

    def wait_ready(self, timeout):
        """Waits up to timeout seconds for subscribers; returns True if they came."""
        deadline = time.monotonic() + max(timeout or 0, 0)
        needed = max(1, self._n_connects)
        while True:
            self._drain()
            if self.subscriptions >= needed:
                self.is_ready = True
                break
            left_ms = int((deadline - time.monotonic()) * 1000)
            if left_ms <= 0 or not self._sock.poll(left_ms, zmq.POLLIN):
                break
        self._is_ready_checked = True
        return self.is_ready

    def send(self, event, scenario, data):
        """Stamps trainer, seq and ts, validates and sends; returns the seq.
        After training_started also sends the run's first heartbeat.
        Heartbeats are the publisher's own: event "heartbeat" is refused."""
        if event == "heartbeat":
            raise ValidationError("unknown_event", "event", "heartbeats are the publisher's own")
        with self._lock:
            seq = self._send_locked(event, scenario, data)
            self._note(event, scenario, data)
            return seq

    def _send_locked(self, event, scenario, data):
        self._drain()
        seq = self.seq if event == "heartbeat" else self.seq + 1  # a heartbeat takes none
        payload = encode(event, scenario, self.trainer, seq, now_us(), data)
        if not self._is_ready_checked:
            if not self.wait_ready(self.ready_timeout):
                _log.warning("no subscriber at %s within %s s; sending anyway",
                             ",".join(self.endpoints), self.ready_timeout)
            payload = encode(event, scenario, self.trainer, seq, now_us(), data)
        self._sock.send_multipart([scenario.encode("utf-8"), payload], zmq.NOBLOCK)
        self.seq = seq
        return seq  # (for a heartbeat: unchanged)

    def _note(self, event, scenario, data):
        """Keeps the table of active runs the heartbeat thread reads (lock held)."""
        if not self.heartbeat_interval_ms:
            return
        if event == "training_started":
            self._runs[scenario] = [0, time.monotonic() + self.heartbeat_interval_ms / 1000]
            self._beat(scenario, 0)
            if self._beater is None:
                self._beater = threading.Thread(target=self._beat_forever, daemon=True,
                                                name=f"trainevents-heartbeat-{self.trainer}")
                self._beater.start()
            self._wake.notify()
        elif event == "training_progress" and scenario in self._runs:
            self._runs[scenario][0] = data["episode"]
        elif event in TERMINAL_EVENTS:
            self._runs.pop(scenario, None)

    def _beat(self, scenario, episode):
        try:
            self._send_locked("heartbeat", scenario, {
                "scenario_name": scenario, "episode": episode,
                "interval_ms": self.heartbeat_interval_ms})
            self.heartbeats += 1
        except zmq.ZMQError as e:  # the high-water mark: the next one may pass
            _log.debug("heartbeat for %s not sent: %s", scenario, e)

    def _beat_forever(self):
        """The heartbeat thread: sleeps until the earliest run is due."""
        with self._lock:
            while not self._is_closing:
                now = time.monotonic()
                for scenario, run in list(self._runs.items()):
                    if run[1] <= now:
                        self._beat(scenario, run[0])
                        run[1] = now + self.heartbeat_interval_ms / 1000
                due = min((run[1] for run in self._runs.values()), default=None)
                self._wake.wait(None if due is None else max(due - time.monotonic(), 0))

    def training_started(self, scenario, num_episodes, start_time=None):
        """Sends training_started; start_time defaults to now (UTC)."""
        return self.send("training_started", scenario, {
            "scenario_name": scenario, "num_episodes": num_episodes,
            "start_time": start_time or utc_now_iso()})

    def training_progress(self, scenario, episode, total_episodes, **metrics):
        """Sends training_progress; metrics are avg_reward, avg_duration, avg_cash,
        avg_invested, stability, goal_adherence and elapsed_time."""
        data = {"episode": episode, "total_episodes": total_episodes, **metrics}
        seq = self.send("training_progress", scenario, data)
        self._last_progress[scenario] = metrics
        return seq

    def training_completed(self, scenario, episodes_completed, final_metrics=None):
        """Sends training_completed; final_metrics ({avg_reward, avg_duration,
        stability}) defaults to those of the last progress sent for scenario."""
        if final_metrics is None:
            last = self._last_progress.get(scenario, {})
            final_metrics = {k: last[k] for k, _ in _METRICS_FIELDS if k in last}
        return self.send("training_completed", scenario, {
            "scenario_name": scenario, "episodes_completed": episodes_completed,
            "final_metrics": final_metrics})

    def training_stopped(self, scenario, episodes_completed):
        """Sends training_stopped."""
        return self.send("training_stopped", scenario, {
            "scenario_name": scenario, "episodes_completed": episodes_completed})

    def training_error(self, scenario, message, details=""):
        """Sends training_error."""
        return self.send("training_error", scenario, {"message": message, "details": details})

    def progress_callback(self, scenario, total_episodes):
        """Returns cb(episode, metrics) for a training loop to call after every
        episode; numpy-like numbers are converted with int() and float()."""
        total = int(total_episodes)

        def report(episode, metrics):
            floats = {k: float(v) for k, v in metrics.items()}
            return self.training_progress(scenario, int(episode), total, **floats)

        return report

    def close(self, linger=None):
        """Stops the heartbeat thread, then closes the socket, lingering up to
        2 s (or linger ms) for queued events."""
        with self._lock:
            self._is_closing = True
            self._wake.notify()
        if self._beater is not None and self._beater is not threading.current_thread():
            self._beater.join()
        with self._lock:
            if not self._sock.closed:
                self._sock.close(linger=LINGER_MS if linger is None else linger)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
