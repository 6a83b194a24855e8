#!/usr/bin/env python3
"""idle_bench: what idle connections cost the bridge (issue "Scale").

Connects as many idle, subscribed WebSocket clients as the descriptor limit
allows (default: up to 19,000; spread over --source-addrs loopback source
addresses so that a machine with a higher limit can pass one address's
~28,000 ephemeral ports), keeps them idle for one full heartbeat round at
the bridge's ping interval, and prints the bridge's CPU over that round,
its CPU per ping and per idle connection, and RSS per connection. Then,
with every idle client still connected, 100 more clients in an active room
receive --rate events/s for --active-s seconds and the publish-to-receipt
latency is printed. Finally the projection to 100,000 clients from the
per-connection figures.

  /usr/bin/python3 tests/bench/idle_bench.py --build-dir build [--bridge PATH]

Loopback only; every process it starts is stopped by PID; every wait has a
deadline. Prints figures, asserts nothing about time.
"""
import argparse
import json
import os
import re
import resource
import select
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from run_bench import proc_cpu_s, proc_status_kib  # noqa: E402

READY = re.compile(r"listening on [^:]+:(\d+) zmq (\S+)")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def raise_fd_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def read_line(proc, timeout_s, what):
    end = time.monotonic() + timeout_s
    buf = b""
    while time.monotonic() < end:
        r, _, _ = select.select([proc.stdout], [], [], max(0.0, end - time.monotonic()))
        if not r:
            break
        ch = os.read(proc.stdout.fileno(), 1)
        if not ch:
            break
        if ch == b"\n":
            return buf.decode()
        buf += ch
    raise RuntimeError(f"no {what} within {timeout_s} s (got {buf[-200:]!r})")


def stop(proc):
    if proc and proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def start_bridge(path, ping_interval_ms):
    proc = subprocess.Popen([path, "--listen", "127.0.0.1:0", "--zmq-bind", "tcp://127.0.0.1:*",
                             "--ping-interval", str(ping_interval_ms), "--log-level", "warn"],
                            stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
    m = READY.search(read_line(proc, 15, "ready line"))
    return proc, int(m.group(1)), m.group(2).split(",")[0].replace("0.0.0.0", "127.0.0.1")


def start_loadgen(bin_dir, port, clients, prefix, scenarios, source_addrs, timeout_s):
    proc = subprocess.Popen([os.path.join(bin_dir, "tb_loadgen"), "--port", str(port),
                             "--clients", str(clients), "--scenarios", str(scenarios),
                             "--prefix", prefix, "--concurrency", "500",
                             "--source-addrs", str(source_addrs),
                             "--setup-timeout-s", str(timeout_s)],
                            stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
    ready = json.loads(read_line(proc, timeout_s + 10, f"{clients} clients ready"))
    return proc, ready


def idle_round(bridge, round_s):
    cpu0, t0 = proc_cpu_s(bridge.pid), time.monotonic()
    time.sleep(round_s)
    return proc_cpu_s(bridge.pid) - cpu0, time.monotonic() - t0


def active_phase(a, port, zmq):
    lg, _ = start_loadgen(a.build_dir_bin, port, a.active_clients, "act", 1, 0, 60)
    try:
        pub = subprocess.run([os.path.join(a.build_dir_bin, "tb_benchpub"), "--endpoint", zmq,
                              "--rate", str(a.rate), "--duration-s", str(a.active_s),
                              "--scenarios", "1", "--prefix", "act"],
                             capture_output=True, text=True, timeout=a.active_s + 60)
        if pub.returncode != 0:
            raise RuntimeError(f"tb_benchpub: {pub.stderr.strip()}")
        lg.send_signal(signal.SIGUSR1)
        return json.loads(read_line(lg, 30, "the active phase's figures"))
    finally:
        stop(lg)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build-dir", default=os.path.join(HERE, "..", "..", "build"))
    ap.add_argument("--bridge", help="trainbridge binary (default: the build's)")
    ap.add_argument("--clients", type=int, default=19000, help="idle clients (capped by the limit)")
    ap.add_argument("--source-addrs", type=int, default=4)
    ap.add_argument("--ping-interval-ms", type=int, default=25000, help="the bridge's default")
    ap.add_argument("--active-clients", type=int, default=100)
    ap.add_argument("--rate", type=int, default=1000)
    ap.add_argument("--active-s", type=float, default=10.0)
    a = ap.parse_args()
    a.build_dir_bin = os.path.join(a.build_dir, "bin")
    bridge_path = a.bridge or os.path.join(a.build_dir_bin, "trainbridge")
    hard = raise_fd_limit()
    n = min(a.clients, hard - 300 - a.active_clients)
    log(f"idle_bench: descriptor limit {hard}: {n} idle clients over {a.source_addrs} source "
        f"addresses, one heartbeat round of {a.ping_interval_ms} ms")
    bridge = lg = None
    try:
        bridge, port, zmq = start_bridge(bridge_path, a.ping_interval_ms)
        time.sleep(0.5)
        rss0 = proc_status_kib(bridge.pid)["VmRSS"]
        t_setup = time.monotonic()
        lg, ready = start_loadgen(a.build_dir_bin, port, n, "idle", 10, a.source_addrs, 300)
        setup_s = time.monotonic() - t_setup
        connected = ready["subscribed"]
        rss1 = proc_status_kib(bridge.pid)["VmRSS"]
        round_s = a.ping_interval_ms / 1000 + 2
        cpu_s, wall_s = idle_round(bridge, round_s)
        act = active_phase(a, port, zmq) if a.active_clients else None
        out = {
            "idle_clients": connected, "setup_s": round(setup_s, 1),
            "rss_per_client_kib": round((rss1 - rss0) / max(connected, 1), 2),
            "idle_cpu_pct": round(100 * cpu_s / wall_s, 3),
            "cpu_us_per_ping": round(1e6 * cpu_s / max(connected, 1), 2),
            "cpu_us_per_idle_client_s": round(1e6 * cpu_s / wall_s / max(connected, 1), 4),
        }
        # 100,000 clients: the same per-connection costs, times 100,000
        out["projected_100k_rss_mib"] = round(out["rss_per_client_kib"] * 1e5 / 1024, 0)
        out["projected_100k_idle_cpu_pct"] = round(out["idle_cpu_pct"] * 1e5 / max(connected, 1), 2)
        if act:
            lat = act["lat_us"]
            out.update(active_clients=a.active_clients, active_rate=a.rate,
                       active_events=act["events"], active_lost=act["lost_gaps"],
                       active_p50_ms=lat["p50"] / 1e3, active_p99_ms=lat["p99"] / 1e3)
        print(json.dumps(out))
        print("| figure | value |\n|---|---|")
        for k, v in out.items():
            print(f"| {k} | {v} |")
    finally:
        stop(lg)
        stop(bridge)


if __name__ == "__main__":
    main()
