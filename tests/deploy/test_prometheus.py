"""The bridge's /metrics against Debian's Prometheus (package `prometheus`):

- the text a real bridge serves, after real traffic (trainsim with
  heartbeats, a python-socketio client, a rejected message), passes
  `promtool check metrics` without a single complaint;
- deploy/prometheus/alerts.yml passes `promtool check rules`, and
  `promtool test rules` proves each alert fires on the series it is for
  (deploy/prometheus/alerts.test.yml);
- a real Prometheus server on 127.0.0.1 (its own temporary config and data
  directory, a free port, killed by PID) scrapes the real bridge, and two
  series queried through its HTTP API hold the bridge's own values.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from deploycheck import BIN_DIR, DEPLOY, binary

DEADLINE_S = 30.0


def wait_for(pred, what, timeout=DEADLINE_S, detail=lambda: ""):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = pred()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}\n{detail()}")


def http_get(url, timeout=3.0):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.read().decode()


def free_port():
    """A port the OS picked for a moment; Prometheus takes flags, not port 0."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Child:
    """A process of this test, stderr in a temp file, killed by PID."""

    def __init__(self, argv, **kwargs):
        self.err = tempfile.TemporaryFile()
        self.popen = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stderr=self.err, **kwargs)

    def stderr(self):
        self.err.seek(0)
        return self.err.read().decode(errors="replace")[-4000:]

    def stop(self):
        if self.popen.poll() is None:
            os.kill(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(self.popen.pid, signal.SIGKILL)
                self.popen.wait(5)
        if self.popen.stdout:
            self.popen.stdout.close()
        self.err.close()


@pytest.fixture
def children():
    made = []
    yield made
    for c in reversed(made):
        c.stop()


def start_bridge(children):
    argv = [str(binary("trainbridge")), "--listen", "127.0.0.1:0", "--zmq-bind",
            "tcp://127.0.0.1:*"]
    bridge = Child(argv, stdout=subprocess.PIPE)
    children.append(bridge)
    line = bridge.popen.stdout.readline().decode()  # the ready line
    parts = line.split()
    assert parts[:2] == ["trainbridge", "listening"], f"{line!r}\n{bridge.stderr()}"
    port = int(parts[3].rsplit(":", 1)[1])  # "trainbridge listening on H:P zmq EPS"
    zmq_ep = next(e for e in parts[5].split(",") if e.startswith("tcp://"))
    wait_for(lambda: http_get(f"http://127.0.0.1:{port}/healthz")[0] == 200, "/healthz")
    return port, zmq_ep


def metrics_of(port):
    status, body = http_get(f"http://127.0.0.1:{port}/metrics")
    assert status == 200
    return body


def sample(body, name):
    for line in body.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics")


def make_traffic(children, port, zmq_ep):
    """A whole trainsim run with heartbeats, a rejected message, one client
    left connected (returned; the caller disconnects it)."""
    import socketio
    import zmq

    sim = subprocess.run([str(binary("trainsim")), "--endpoint", zmq_ep, "--scenario", "prom",
                          "--episodes", "5", "--rate", "10", "--heartbeat-interval-ms", "100",
                          "--quiet"], timeout=DEADLINE_S, capture_output=True)
    assert sim.returncode == 0, sim.stderr
    pub = zmq.Context.instance().socket(zmq.XPUB)
    pub.connect(zmq_ep)
    assert pub.poll(5000), "no subscription from the bridge"
    pub.recv()
    pub.send_multipart([b"prom", b"\xc1"])  # not msgpack: rejected as malformed
    pub.close(linger=2000)
    client = socketio.Client(reconnection=False)
    client.connect(f"http://127.0.0.1:{port}", transports=["websocket"], wait_timeout=10)
    wait_for(lambda: sample(metrics_of(port), "trainbridge_clients_connected") == 1,
             "the client to count")
    wait_for(lambda: "reason=\"malformed\"} 1" in metrics_of(port), "the reject to count")
    return client


def need(*tools):
    missing = [t for t in tools if not shutil.which(t)]
    if missing:
        # tests/run.sh installs them (deploy/install-deps.sh): missing is a defect
        pytest.fail(f"{', '.join(missing)} missing: apt-get install prometheus")


def test_metrics_pass_promtool_check_metrics(children):
    need("promtool")
    port, zmq_ep = start_bridge(children)
    client = make_traffic(children, port, zmq_ep)
    try:
        body = metrics_of(port)
    finally:
        client.disconnect()
    assert sample(body, "trainbridge_heartbeats_total") >= 2
    assert sample(body, "trainbridge_ingest_messages_total") == 7
    check = subprocess.run(["promtool", "check", "metrics"], input=body.encode(),
                           capture_output=True, timeout=DEADLINE_S)
    assert check.returncode == 0 and check.stdout == b"" and check.stderr == b"", (
        check.stdout.decode() + check.stderr.decode())
    histograms = set(re.findall(r"^# TYPE (\S+) histogram$", body, re.M))
    for line in body.splitlines():  # every family documented and typed
        if line and not line.startswith("#"):
            family = line.split("{")[0].split()[0]
            for suffix in ("_bucket", "_sum", "_count"):  # a histogram's series
                if family.endswith(suffix) and family[: -len(suffix)] in histograms:
                    family = family[: -len(suffix)]
            assert f"# HELP {family} " in body and f"# TYPE {family} " in body, family


def test_alert_rules_pass_promtool():
    need("promtool")
    check = subprocess.run(["promtool", "check", "rules", "alerts.yml"], cwd=DEPLOY / "prometheus",
                           capture_output=True, timeout=DEADLINE_S, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "SUCCESS: 5 rules found" in check.stdout
    test = subprocess.run(["promtool", "test", "rules", "alerts.test.yml"],
                          cwd=DEPLOY / "prometheus", capture_output=True, timeout=DEADLINE_S,
                          text=True)
    assert test.returncode == 0, test.stdout + test.stderr
    assert "SUCCESS" in test.stdout


def query(prom_port, promql):
    url = f"http://127.0.0.1:{prom_port}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    status, body = http_get(url)
    answer = json.loads(body)
    assert status == 200 and answer["status"] == "success", body
    return answer["data"]["result"]


def test_real_prometheus_scrapes_the_bridge(children, tmp_path):
    need("prometheus", "promtool")
    port, zmq_ep = start_bridge(children)
    client = make_traffic(children, port, zmq_ep)
    try:
        config = tmp_path / "prometheus.yml"
        config.write_text(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            f"rule_files: ['{DEPLOY / 'prometheus' / 'alerts.yml'}']\n"
            "scrape_configs:\n  - job_name: trainbridge\n"
            f"    static_configs:\n      - targets: ['127.0.0.1:{port}']\n")
        prom_port = free_port()
        prom = Child(["prometheus", f"--config.file={config}",
                      f"--storage.tsdb.path={tmp_path / 'data'}",
                      f"--web.listen-address=127.0.0.1:{prom_port}", "--log.level=warn"],
                     stdout=subprocess.DEVNULL)
        children.append(prom)

        def ready():
            try:
                return http_get(f"http://127.0.0.1:{prom_port}/-/ready")[0] == 200
            except OSError:
                return False

        wait_for(ready, "Prometheus to be ready", detail=prom.stderr)
        want_messages = sample(metrics_of(port), "trainbridge_ingest_messages_total")
        got = wait_for(lambda: query(prom_port, 'trainbridge_ingest_messages_total{job="trainbridge"}'),
                       "a scrape of trainbridge_ingest_messages_total", detail=prom.stderr)
        assert float(got[0]["value"][1]) == want_messages == 7
        got = query(prom_port, "trainbridge_clients_connected")
        assert len(got) == 1 and float(got[0]["value"][1]) == 1
        assert got[0]["metric"]["instance"] == f"127.0.0.1:{port}"
        up = query(prom_port, 'up{job="trainbridge"}')
        assert float(up[0]["value"][1]) == 1
        rules = json.loads(http_get(f"http://127.0.0.1:{prom_port}/api/v1/rules")[1])
        names = {r["name"] for g in rules["data"]["groups"] for r in g["rules"]}
        assert "TrainbridgeDown" in names and len(names) == 5, names
    finally:
        client.disconnect()


if __name__ == "__main__":
    from deploycheck import run_pytest_or_skip

    missing = None if (BIN_DIR / "trainbridge").exists() else f"no binaries in {BIN_DIR}"
    run_pytest_or_skip(__file__, missing)
