"""Harness for the Python end-to-end tests (pytest fixtures).

Starts the real trainbridge on 127.0.0.1 port 0 with its ZeroMQ SUB bound on
a free port, parses the ready line, waits for /healthz with a deadline,
starts trainsim publishers, connects python-socketio clients over WebSocket
only, and kills every process it started by PID at fixture teardown, also
when the test failed. Every wait has a deadline; nothing synchronises on a
fixed sleep.

Environment: TB_BIN_DIR (default <repo>/build/bin); PYTHONPATH must reach
proto/python (trainevents), as ctest sets it.
"""
import itertools
import json
import os
import re
import select
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

import pytest
import socketio

HERE = os.path.dirname(os.path.abspath(__file__))
E2E_DIR = os.path.dirname(HERE)
REPO_DIR = os.path.dirname(os.path.dirname(E2E_DIR))
BIN_DIR = os.environ.get("TB_BIN_DIR") or os.path.join(REPO_DIR, "build", "bin")
sys.path.insert(0, os.path.join(E2E_DIR, "tools"))
sys.path.insert(0, os.path.join(REPO_DIR, "proto", "python"))

READY_RE = re.compile(r"^trainbridge listening on 127\.0\.0\.1:(\d+) zmq (\S+)(?: .+)?$")

PAYLOAD_FIELDS = {
    "training_started": {"scenario_name": str, "num_episodes": int, "start_time": str},
    "training_progress": {"episode": int, "total_episodes": int, "avg_reward": float,
                          "avg_duration": float, "avg_cash": float, "avg_invested": float,
                          "stability": float, "goal_adherence": float, "elapsed_time": float},
    "training_completed": {"scenario_name": str, "episodes_completed": int,
                           "final_metrics": {"avg_reward": float, "avg_duration": float,
                                             "stability": float}},
    "training_stopped": {"scenario_name": str, "episodes_completed": int},
    "training_error": {"message": str, "details": str},
}
META_FIELDS = {"scenario_name": str, "trainer": str, "seq": int, "ts": int}

_names = itertools.count(1)


def unique(prefix):
    """A scenario name no other test uses."""
    return f"{prefix}-{os.getpid()}-{next(_names)}"


def wait_until(pred, timeout=10.0, what="a condition", detail=None):
    """Polls pred() every 10 ms until truthy (returned); fails after timeout."""
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= end:
            extra = f"\n{detail()}" if detail else ""
            pytest.fail(f"timed out after {timeout} s waiting for {what}{extra}")
        time.sleep(0.01)


def binary(name):
    path = os.path.join(BIN_DIR, name)
    if not os.path.exists(path):
        pytest.fail(f"{path} does not exist: build first (cmake --build build) or set TB_BIN_DIR")
    return path


# ------------------------------------------------------------------ processes

class Proc:
    """A child process; stderr goes to a temp file (never a full pipe)."""

    def __init__(self, name, argv, env=None, stdout=subprocess.DEVNULL):
        self.name = name
        self.argv = argv
        self.err = tempfile.TemporaryFile()
        self.popen = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=stdout,
                                      stderr=self.err, env={**os.environ, **(env or {})})
        self.pid = self.popen.pid

    def stderr_tail(self, n=4000):
        self.err.seek(0)
        return self.err.read().decode(errors="replace")[-n:]

    def describe(self):
        return f"--- {self.name} pid {self.pid}: {' '.join(self.argv)}\n--- stderr:\n{self.stderr_tail()}"

    def wait(self, timeout):
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{self.name} did not exit within {timeout} s\n{self.describe()}")

    def kill(self):
        if self.popen.poll() is None:
            try:
                os.kill(self.pid, 9)
            except ProcessLookupError:
                pass
            self.popen.wait(timeout=5)
        if self.popen.stdout:
            self.popen.stdout.close()
        self.err.close()


def http_get(port, path, timeout=3.0):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def parse_metrics(text):
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)", line)
        if m:
            out[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    return out


def metric_sum(metrics, name):
    return sum(v for k, v in metrics.items() if k == name or k.startswith(name + "{"))


def metric_by_label(metrics, name, label):
    out = {}
    for k, v in metrics.items():
        m = re.match(re.escape(name) + r"\{.*" + label + r'="([^"]*)"', k)
        if m:
            out[m.group(1)] = out.get(m.group(1), 0) + v
    return out


class Bridge:
    def __init__(self, proc, port, endpoints):
        self.proc = proc
        self.port = port
        self.endpoints = endpoints
        self.zmq = next(e for e in endpoints if e.startswith("tcp://"))
        self.url = f"http://127.0.0.1:{port}"

    def metrics(self):
        status, body = http_get(self.port, "/metrics")
        assert status == 200, f"GET /metrics -> {status}"
        return parse_metrics(body)


def start_bridge(procs, args=(), env=None, ready_timeout=10.0):
    argv = [binary("trainbridge"), "--listen", "127.0.0.1:0", "--zmq-bind", "tcp://127.0.0.1:*",
            *args]
    proc = Proc("trainbridge", argv, env=env, stdout=subprocess.PIPE)
    procs.append(proc)
    out = proc.popen.stdout
    line = b""
    end = time.monotonic() + ready_timeout
    while not line.endswith(b"\n"):
        left = end - time.monotonic()
        if left <= 0:
            pytest.fail(f"no ready line from trainbridge within {ready_timeout} s\n{proc.describe()}")
        ready, _, _ = select.select([out], [], [], left)
        if ready:
            b = os.read(out.fileno(), 1)
            if not b:
                pytest.fail(f"trainbridge exited before its ready line "
                            f"(status {proc.popen.wait(5)})\n{proc.describe()}")
            line += b
    m = READY_RE.match(line.decode().rstrip("\n"))
    assert m, f"unexpected ready line {line!r}"
    bridge = Bridge(proc, int(m.group(1)), m.group(2).split(","))

    def healthy():
        try:
            return http_get(bridge.port, "/healthz", timeout=1.0)[0] == 200
        except OSError:
            return False

    wait_until(healthy, 5.0, "GET /healthz -> 200", proc.describe)
    return bridge


# ------------------------------------------------------------------ clients

class Client:
    """A python-socketio client over WebSocket that records every server
    event as (event, args) in arrival order, and in self.transports the
    Engine.IO transport each one arrived on. transports=None: the library's
    default (long-polling, then the upgrade to WebSocket)."""

    def __init__(self, url, transports=("websocket",), auth=None, **connect_kwargs):
        self.sio = socketio.Client(reconnection=False)
        self.events = []  # live events
        self.replayed = []  # history replayed on subscribe (meta "replay": true)
        self.all = []  # both, in arrival order
        self.transports = []
        self.disconnected = threading.Event()
        self.lock = threading.Lock()

        @self.sio.on("*")
        def catch_all(event, *args):
            with self.lock:
                self.all.append((event, args))
                if len(args) > 1 and isinstance(args[1], dict) and args[1].get("replay") is True:
                    self.replayed.append((event, args))
                    return
                self.events.append((event, args))
                self.transports.append(self.sio.transport())

        @self.sio.event
        def disconnect():
            self.disconnected.set()

        self.sio.connect(url, transports=list(transports) if transports else None, wait_timeout=5,
                         auth=auth, **connect_kwargs)

    def subscribe(self, scenario, event="subscribe_training", history=None):
        req = {"scenario_name": scenario}
        if history is not None:
            req["history"] = history
        ack = self.sio.call(event, req, timeout=5)
        want = {"ok": True, "scenario_name": scenario}
        if event == "subscribe_training":
            assert isinstance(ack, dict) and isinstance(ack.get("runs"), int) \
                and isinstance(ack.get("replayed"), int), f"{event} {scenario}: {ack!r}"
            want.update(runs=ack["runs"], replayed=ack["replayed"])
        assert ack == want, f"{event} {scenario}: {ack!r}"
        return ack

    def unsubscribe(self, scenario):
        return self.subscribe(scenario, "unsubscribe_training")

    def snapshot(self):
        with self.lock:
            return list(self.events)

    def wait_count(self, n, timeout=15.0):
        wait_until(lambda: len(self.events) >= n, timeout, f"{n} events",
                   lambda: f"have {len(self.events)}: {[e for e, _ in self.snapshot()[:20]]}")
        return self.snapshot()

    def close(self):
        if self.sio.connected:
            self.sio.disconnect()


# ------------------------------------------------------------------ checks

def check_shape(obj, shape, where):
    assert isinstance(obj, dict), f"{where}: not an object: {obj!r}"
    assert sorted(obj) == sorted(shape), f"{where}: fields {sorted(obj)} != {sorted(shape)}"
    for k, t in shape.items():
        if isinstance(t, dict):
            check_shape(obj[k], t, f"{where}.{k}")
        else:
            v = obj[k]
            ok = isinstance(v, t) and not isinstance(v, bool)
            assert ok, f"{where}.{k}: want {t.__name__}, got {type(v).__name__} {v!r}"


def check_event(event, args, scenario=None):
    assert event in PAYLOAD_FIELDS, f"unknown event {event}"
    assert len(args) == 2, f"{event}: want (payload, meta), got {len(args)} arguments"
    payload, meta = args
    check_shape(payload, PAYLOAD_FIELDS[event], f"{event} payload")
    check_shape(meta, META_FIELDS, f"{event} meta")
    assert abs(meta["ts"] / 1e6 - time.time()) < 86400, f"meta.ts {meta['ts']} not µs since epoch"
    if scenario is not None:
        assert meta["scenario_name"] == scenario
        if "scenario_name" in payload:
            assert payload["scenario_name"] == scenario


def wire_order(events):
    """Events in the order the bridge sent them (one trainer: by meta.seq).
    python-engineio 4.x runs every message handler in a thread of its own, so
    the order in which handlers run is not the order on the wire; the Node
    tests check arrival order itself."""
    return sorted(events, key=lambda e: e[1][1]["seq"] if len(e[1]) == 2 else -1)


def check_lifecycle(events, scenario, episodes, progress=None, terminal="completed",
                    trainer=None, contiguous=True):
    progress = episodes if progress is None else progress
    events = wire_order(events)
    names = [e for e, _ in events]
    assert names == (["training_started"] + ["training_progress"] * progress
                     + [f"training_{terminal}"]), f"{scenario}: {names}"
    for e, a in events:
        check_event(e, a, scenario)
    payloads = [a[0] for _, a in events]
    metas = [a[1] for _, a in events]
    assert payloads[0]["num_episodes"] == episodes
    for i, p in enumerate(payloads[1:1 + progress], start=1):
        assert p["episode"] == i and p["total_episodes"] == episodes
    if terminal == "completed":
        assert payloads[-1]["episodes_completed"] == episodes
    if terminal == "stopped":
        assert payloads[-1]["episodes_completed"] == progress
    trainer = trainer or metas[0]["trainer"]
    for i, m in enumerate(metas):
        assert m["trainer"] == trainer
        if contiguous:
            assert m["seq"] == metas[0]["seq"] + i, f"seq at {i}: {[x['seq'] for x in metas]}"
        elif i:
            assert m["seq"] > metas[i - 1]["seq"]
        if i:
            assert m["ts"] >= metas[i - 1]["ts"]


# ------------------------------------------------------------------ fixtures

@pytest.fixture
def procs():
    """Every process a test starts; killed by PID at teardown."""
    started = []
    yield started
    for p in started:
        p.kill()


@pytest.fixture
def bridge_factory(procs):
    def make(*args, env=None):
        return start_bridge(procs, args, env=env)
    return make


@pytest.fixture
def bridge(bridge_factory):
    return bridge_factory()


@pytest.fixture
def client_factory():
    made = []

    def make(b, transports=("websocket",), auth=None, **connect_kwargs):
        c = Client(b.url, transports, auth=auth, **connect_kwargs)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


@pytest.fixture
def sim(procs):
    """sim(bridge, scenario(s), episodes=.., rate=.., ...) -> Proc (running)."""
    def start(b, scenarios, episodes=10, rate=0, trainer=None, stop_at=None, fail_at=None,
              extra=()):
        argv = [binary("trainsim"), "--endpoint", b.zmq]
        for s in [scenarios] if isinstance(scenarios, str) else scenarios:
            argv += ["--scenario", s]
        if trainer:
            argv += ["--trainer", trainer]
        argv += ["--episodes", str(episodes), "--rate", str(rate), "--quiet"]
        if stop_at is not None:
            argv += ["--stop-at", str(stop_at)]
        if fail_at is not None:
            argv += ["--fail-at", str(fail_at)]
        argv += list(extra)
        p = Proc("trainsim", argv)
        procs.append(p)
        return p
    return start


@pytest.fixture
def run_sim(sim):
    """Like sim, but waits for exit 0."""
    def run(*args, timeout=30.0, **kwargs):
        p = sim(*args, **kwargs)
        assert p.wait(timeout) == 0, p.describe()
        return p
    return run


@pytest.fixture
def publisher():
    """publisher(bridge, trainer=...) -> trainevents.Publisher, closed at teardown."""
    from trainevents import Publisher
    made = []

    def make(b, trainer="py-e2e"):
        p = Publisher([b.zmq], trainer=trainer, ready_timeout=5.0)
        made.append(p)
        return p

    yield make
    for p in made:
        p.close()


def dumps(obj):
    return json.dumps(obj, sort_keys=True)
