"""Starts sio-conformance-server on 127.0.0.1:0 for each test.

The binary comes from $TB_BIN_DIR (set by ctest), else from build/bin of the
source tree. Each test gets its own server process (a crash or a sanitizer
report is pinned to the test that caused it); teardown sends SIGTERM to that
PID and requires exit status 0.
"""
import os
import re
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from tb_proto import HOST  # noqa: E402

NAME = "sio-conformance-server"
READY = re.compile(rb"sio-conformance-server listening on 127\.0\.0\.1:(\d+)")
ARGS = ["--ping-interval", "300", "--ping-timeout", "200", "--max-payload", "1000000"]


def _find_binary():
    env = os.environ.get("TB_BIN_DIR")
    if env:
        path = os.path.join(env, NAME)
        if not os.access(path, os.X_OK):
            pytest.fail("%s not found in TB_BIN_DIR=%s (build it first)" % (NAME, env))
        return path
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
    path = os.path.join(root, "build", "bin", NAME)
    if os.access(path, os.X_OK):
        return path
    pytest.skip("%s not built (set TB_BIN_DIR)" % NAME)


class Server:
    def __init__(self, proc, port, errfile):
        self.proc = proc
        self.port = port
        self.errfile = errfile

    def alive(self):
        return self.proc.poll() is None

    def stderr_tail(self, n=4000):
        try:
            with open(self.errfile.name, "rb") as f:
                return f.read()[-n:].decode("utf-8", "replace")
        except OSError:
            return ""


def _start(extra_args=()):
    binary = _find_binary()
    errfile = tempfile.NamedTemporaryFile(prefix="sio-conf-", suffix=".log", delete=False)
    proc = subprocess.Popen([binary, "--listen", "%s:0" % HOST] + ARGS + list(extra_args),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errfile)
    buf = b""
    end = time.monotonic() + 10.0
    port = None
    while port is None:
        left = end - time.monotonic()
        if left <= 0 or proc.poll() is not None:
            break
        r, _, _ = select.select([proc.stdout], [], [], left)
        if not r:
            continue
        chunk = os.read(proc.stdout.fileno(), 4096)
        if not chunk:
            break
        buf += chunk
        m = READY.search(buf)
        if m:
            port = int(m.group(1))
    srv = Server(proc, port, errfile)
    if port is None:
        _stop(srv, check=False)
        pytest.fail("%s did not print its ready line within 10 s; stdout %r; stderr:\n%s"
                    % (NAME, buf[-500:], srv.stderr_tail()))

    # Keep draining stdout so the server never blocks on a full pipe.
    def drain():
        try:
            while os.read(proc.stdout.fileno(), 4096):
                pass
        except OSError:
            pass

    threading.Thread(target=drain, daemon=True).start()
    return srv


def _stop(srv, check=True):
    proc = srv.proc
    crashed = proc.poll()
    if crashed is None:
        try:
            os.kill(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            rc = proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
            rc = "hung after SIGTERM (killed)"
    else:
        rc = crashed
    tail = srv.stderr_tail()
    srv.errfile.close()
    try:
        os.unlink(srv.errfile.name)
    except OSError:
        pass
    if check:
        if crashed is not None:
            pytest.fail("server died during the test (status %r); stderr:\n%s" % (crashed, tail))
        if rc != 0:
            pytest.fail("server exit status after SIGTERM: %r; stderr:\n%s" % (rc, tail))


def pytest_configure(config):
    config.addinivalue_line("markers", "server_args(*args): extra command-line options for "
                            "this test's sio-conformance-server")


@pytest.fixture
def server(request):
    marker = request.node.get_closest_marker("server_args")
    srv = _start(marker.args if marker else ())
    yield srv
    _stop(srv)


@pytest.fixture
def port(server):
    return server.port


@pytest.fixture(params=["polling", "websocket"])
def transport(request):
    return request.param
