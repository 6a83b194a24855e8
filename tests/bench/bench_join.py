#!/usr/bin/env python3
"""bench_join: what late join costs the bridge (issue 11). Prints figures,
never asserts on them.

1. Join cost: a scenario holds RUNS finished runs of POINTS stored progress
   events each (fewer episodes than --history-points, so every one is kept);
   CLIENTS WebSocket clients (tests/bench tb_loadgen) connect and subscribe at
   once. Reported: the time until every client has its whole replay (the ack
   comes after it on the wire), the bridge's CPU and the growth of its peak
   RSS (VmHWM), against the same join to a scenario with no history.
2. Memory of retained finished runs: trainsim --loop publishes short runs
   of one scenario until the bridge holds RETAINED finished runs
   (--history-runs RETAINED); reported: RSS growth and
   trainbridge_history_bytes, per run.

Loopback only, OS-chosen ports; every process it starts is stopped by PID.
Usage: /usr/bin/python3 tests/bench/bench_join.py [--build-dir build]
       [--clients 1000] [--runs 10] [--points 499] [--retained 10000]
"""
import argparse
import json
import os
import re
import select
import signal
import subprocess
import sys
import time
import urllib.request

READY_RE = re.compile(r"^trainbridge listening on [^ ]+:(\d+) zmq (\S+)")


def read_line(proc, timeout):
    end = time.monotonic() + timeout
    line = b""
    while not line.endswith(b"\n"):
        left = end - time.monotonic()
        if left <= 0 or not select.select([proc.stdout], [], [], left)[0]:
            raise TimeoutError("no line in time")
        b = os.read(proc.stdout.fileno(), 1)
        if not b:
            raise EOFError("process ended")
        line += b
    return line.decode()


class Bridge:
    def __init__(self, bin_dir, args):
        self.proc = subprocess.Popen(
            [os.path.join(bin_dir, "trainbridge"), "--listen", "127.0.0.1:0",
             "--zmq-bind", "tcp://127.0.0.1:*", "--log-level", "warn", *args],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        m = READY_RE.match(read_line(self.proc, 10))
        self.port = int(m.group(1))
        self.zmq = m.group(2).split(",")[0]

    def metrics(self):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=5) as r:
            text = r.read().decode()
        out = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                k, v = line.rsplit(" ", 1)
                out[k] = float(v)
        return out

    def status(self, key):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])  # kB
        return 0

    def cpu_s(self):
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def wait_until(pred, timeout, what):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    raise TimeoutError(what)


def run_sim(bin_dir, bridge, scenario, trainer, episodes, extra=(), rate=0):
    return subprocess.Popen(
        [os.path.join(bin_dir, "trainsim"), "--endpoint", bridge.zmq, "--scenario", scenario,
         "--trainer", trainer, "--episodes", str(episodes), "--rate", str(rate), "--quiet",
         *extra],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def join(bin_dir, bridge, prefix, clients):
    """Seconds until every client is subscribed (replay included)."""
    cpu0, t0 = bridge.cpu_s(), time.monotonic()
    lg = subprocess.Popen(
        [os.path.join(bin_dir, "tb_loadgen"), "--port", str(bridge.port), "--clients",
         str(clients), "--concurrency", str(clients), "--prefix", prefix, "--scenarios", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        while True:
            line = read_line(lg, 120)
            if line.startswith('{"ready"'):
                break
        elapsed = time.monotonic() - t0
        return elapsed, bridge.cpu_s() - cpu0, json.loads(line)
    finally:
        lg.send_signal(signal.SIGTERM)
        try:
            lg.wait(10)
        except subprocess.TimeoutExpired:
            lg.kill()
            lg.wait(5)


def bench_join_cost(a):
    bridge = Bridge(a.bin_dir, ["--history-runs", str(a.runs)])
    try:
        sims = [run_sim(a.bin_dir, bridge, "hist0", f"tr-{i}", a.points) for i in range(a.runs)]
        for s in sims:
            s.wait(120)
        want = a.runs * (a.points + 2)
        wait_until(lambda: bridge.metrics().get("trainbridge_ingest_messages_total", 0) >= want,
                   60, f"{want} events ingested")
        hwm0 = bridge.status("VmHWM")
        base_s, base_cpu, _ = join(a.bin_dir, bridge, "empty", a.clients)
        hwm1 = bridge.status("VmHWM")
        hist_s, hist_cpu, ready = join(a.bin_dir, bridge, "hist", a.clients)
        hwm2 = bridge.status("VmHWM")
        m = bridge.metrics()
        replayed = m.get("trainbridge_replayed_events_total", 0)
        print(f"join cost: {a.clients} clients, {a.runs} runs x {a.points} points "
              f"({a.runs * (a.points + 2)} events each)")
        print(f"  no history:   all subscribed in {base_s:.2f} s, bridge CPU {base_cpu:.2f} s, "
              f"peak RSS +{hwm1 - hwm0} KiB")
        print(f"  with history: all replayed+subscribed in {hist_s:.2f} s, bridge CPU "
              f"{hist_cpu:.2f} s, peak RSS +{hwm2 - hwm1} KiB; replayed {int(replayed)} events "
              f"({replayed / max(hist_s, 1e-9):,.0f} events/s into clients)")
        print(f"  history bytes {int(m.get('trainbridge_history_bytes', 0))}, ready line {ready}")
    finally:
        bridge.stop()


def bench_retained(a):
    bridge = Bridge(a.bin_dir, ["--history-runs", str(a.retained),
                                "--history-bytes", str(8 << 30)])
    sim = None
    try:
        rss0 = bridge.status("VmRSS")
        sim = run_sim(a.bin_dir, bridge, "mem0", "tr-mem", a.retained_points,
                      ["--loop", "--pause-ms", "0"], rate=20000)  # paced: no HWM drops
        key = 'trainbridge_runs{state="completed"}'
        wait_until(lambda: bridge.metrics().get(key, 0) >= a.retained, 600,
                   f"{a.retained} completed runs")
        sim.send_signal(signal.SIGTERM)
        sim.wait(10)
        time.sleep(0.5)
        m = bridge.metrics()
        runs = sum(v for k, v in m.items() if k.startswith("trainbridge_runs{"))
        rss = bridge.status("VmRSS")
        hist = m.get("trainbridge_history_bytes", 0)
        print(f"retained runs: {int(runs)} runs of {a.retained_points} progress events "
              f"(+ started, completed; gaps {int(m.get('trainbridge_ingest_gaps_total', 0))})")
        print(f"  RSS +{(rss - rss0) / 1024:.1f} MiB ({(rss - rss0) * 1024 / max(runs, 1):,.0f} "
              f"bytes/run), trainbridge_history_bytes {hist / 1048576:.1f} MiB "
              f"({hist / max(runs, 1):,.0f} bytes/run)")
    finally:
        if sim and sim.poll() is None:
            sim.kill()
            sim.wait(5)
        bridge.stop()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--build-dir", default="build")
    p.add_argument("--clients", type=int, default=1000)
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--points", type=int, default=499)
    p.add_argument("--retained", type=int, default=10000)
    p.add_argument("--retained-points", type=int, default=20)
    p.add_argument("--skip-retained", action="store_true")
    a = p.parse_args()
    a.bin_dir = os.path.join(a.build_dir, "bin")
    bench_join_cost(a)
    if not a.skip_retained:
        bench_retained(a)


if __name__ == "__main__":
    sys.exit(main())
