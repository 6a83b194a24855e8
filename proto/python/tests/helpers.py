"""Shared helpers of the trainevents tests: the C binaries, processes that are
always killed by PID, pipes read line by line with deadlines, a SUB socket
serviced by its own thread, and hand-built msgpack for hostile payloads."""

import contextlib
import os
import pathlib
import queue
import signal
import subprocess
import threading
import time

import msgpack
import pytest
import zmq

WAIT_S = 10.0  # the deadline of every wait in these tests


def bin_path(name):
    """Path of a C binary from $TB_BIN_DIR; skips the test when it is not set."""
    bin_dir = os.environ.get("TB_BIN_DIR")
    if not bin_dir:
        pytest.skip("TB_BIN_DIR is not set (run through ctest)")
    path = pathlib.Path(bin_dir) / name
    if not path.exists():
        pytest.fail(f"{path} does not exist: build first")
    return str(path)


class Lines:
    """Reads a pipe line by line in a thread; get/wait_for have deadlines."""

    def __init__(self, pipe):
        self._queue = queue.Queue()
        self.seen = []
        self._thread = threading.Thread(target=self._pump, args=(pipe,), daemon=True)
        self._thread.start()

    def _pump(self, pipe):
        for raw in iter(pipe.readline, b""):
            self._queue.put(raw.decode("utf-8", "replace").rstrip("\n"))
        self._queue.put(None)

    def get(self, timeout=WAIT_S):
        """The next line, or None at EOF; fails the test after timeout."""
        try:
            line = self._queue.get(timeout=timeout)
        except queue.Empty:
            pytest.fail(f"no line within {timeout} s (seen so far: {self.seen[-5:]})")
        if line is not None:
            self.seen.append(line)
        return line

    def wait_for(self, predicate, timeout=WAIT_S):
        """Reads lines until one satisfies predicate; returns it."""
        deadline = time.monotonic() + timeout
        while True:
            line = self.get(max(deadline - time.monotonic(), 0.01))
            if line is None:
                pytest.fail(f"EOF before the expected line (seen: {self.seen[-5:]})")
            if predicate(line):
                return line

    def rest(self, timeout=WAIT_S):
        """Every line up to EOF."""
        out = []
        while (line := self.get(timeout)) is not None:
            out.append(line)
        return out


class Proc:
    """A started binary with its stdout and stderr as Lines."""

    def __init__(self, args, env=None):
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("TRAINSIM_")}
        # These tests count trainsim's messages: no heartbeats unless a test
        # asks for them (--heartbeat-interval-ms, which wins over this).
        full_env["TRAINSIM_HEARTBEAT_INTERVAL_MS"] = "0"
        full_env.update(env or {})
        self.popen = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, env=full_env)
        self.pid = self.popen.pid
        self.out = Lines(self.popen.stdout)
        self.err = Lines(self.popen.stderr)

    def wait(self, timeout=WAIT_S):
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"pid {self.pid} still running after {timeout} s")

    def signal(self, sig):
        os.kill(self.pid, sig)

    def kill(self):
        if self.popen.poll() is None:
            os.kill(self.pid, signal.SIGKILL)
        self.popen.wait(timeout=WAIT_S)
        self.popen.stdout.close()
        self.popen.stderr.close()


@contextlib.contextmanager
def spawn(args, env=None):
    """Starts a process and kills it by PID however the test ends."""
    proc = Proc(args, env)
    try:
        yield proc
    finally:
        proc.kill()


@contextlib.contextmanager
def trainsub(*args):
    """Runs trainsub bound on 127.0.0.1 with an OS-chosen port; yields (proc, endpoint)."""
    with spawn([bin_path("trainsub"), "--bind", "tcp://127.0.0.1:*", *args]) as proc:
        line = proc.err.wait_for(lambda s: s.startswith("trainsub: listening on "))
        yield proc, line.split("listening on ", 1)[1]


def run(args, env=None, timeout=WAIT_S):
    """Runs a binary to completion; returns (exit status, stdout, stderr)."""
    with spawn(args, env) as proc:
        status = proc.wait(timeout)
        return status, proc.out.rest(), proc.err.rest()


def parse_rejected(line):
    """(code, field) of a 'trainsub: rejected: ...' line."""
    body = line.split("trainsub: rejected: ", 1)[1]
    code, msg = body.split(": ", 1)
    field = ""
    if msg.endswith(")") and " (field " in msg:
        field = msg.rsplit(" (field ", 1)[1][:-1]
    return code, field


class SubThread:
    """A SUB socket bound on 127.0.0.1 (or connected) and serviced by its own
    thread, as a real subscriber is: a bound SUB only sends its subscriptions
    to a new publisher while its owner calls into it."""

    def __init__(self, connect=None, topics=(b"",)):
        self._connect = connect
        self._topics = topics
        self._messages = queue.Queue()
        self._ready = threading.Event()
        self._stop = threading.Event()
        self.endpoint = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        if not self._ready.wait(WAIT_S):
            pytest.fail("the SUB thread did not start")
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(WAIT_S)

    def _run(self):
        sock = zmq.Context.instance().socket(zmq.SUB)
        try:
            for topic in self._topics:
                sock.setsockopt(zmq.SUBSCRIBE, topic)
            if self._connect:
                sock.connect(self._connect)
                self.endpoint = self._connect
            else:
                port = sock.bind_to_random_port("tcp://127.0.0.1")
                self.endpoint = f"tcp://127.0.0.1:{port}"
            self._ready.set()
            while not self._stop.is_set():
                if sock.poll(20):
                    self._messages.put(sock.recv_multipart())
        finally:
            sock.close(linger=0)

    def get(self, timeout=WAIT_S):
        """The next message's frames; fails the test after timeout."""
        try:
            return self._messages.get(timeout=timeout)
        except queue.Empty:
            pytest.fail(f"no message within {timeout} s")

    def get_or_none(self, timeout):
        """The next message's frames, or None if none arrives within timeout."""
        try:
            return self._messages.get(timeout=timeout)
        except queue.Empty:
            return None

    def empty_for(self, seconds):
        """True if nothing arrives within seconds."""
        try:
            self._messages.get(timeout=seconds)
        except queue.Empty:
            return True
        return False


def xpub_ready(endpoint, timeout=WAIT_S):
    """A raw XPUB connected to endpoint, returned once a subscription arrived."""
    sock = zmq.Context.instance().socket(zmq.XPUB)
    sock.setsockopt(zmq.LINGER, 2000)
    sock.connect(endpoint)
    if not sock.poll(int(timeout * 1000)):
        sock.close(linger=0)
        pytest.fail(f"no subscription from {endpoint} within {timeout} s")
    sock.recv()
    return sock


def json_of(env):
    """The JSON te_event_to_json prints for a decoded envelope, as Python data."""
    meta = {"scenario_name": env["scenario"], "trainer": env["trainer"], "seq": env["seq"],
            "ts": env["ts"]}
    return [env["event"], env["data"], meta]


# ------------------------------------------------------- hand-built msgpack

class Raw(bytes):
    """Bytes that are already msgpack (not to be packed again)."""


def pack(value):
    return bytes(value) if isinstance(value, Raw) else msgpack.packb(value, use_bin_type=True)


def raw_map(pairs):
    """A msgpack map from (key, value) pairs, duplicates and odd keys allowed."""
    n = len(pairs)
    head = bytes([0x80 | n]) if n < 16 else b"\xde" + n.to_bytes(2, "big")
    return Raw(head + b"".join(pack(k) + pack(v) for k, v in pairs))


def raw_str(data):
    """A msgpack str holding arbitrary bytes (maybe not UTF-8)."""
    return Raw((bytes([0xA0 | len(data)]) if len(data) < 32 else
                b"\xd9" + bytes([len(data)])) + data)
