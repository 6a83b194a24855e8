#!/usr/bin/python3
"""profile_bridge: where the bridge's time goes under a steady fan-out load.

Starts trainbridge, N subscribed clients (tb_loadgen) and a publisher at a
fixed rate (tb_benchpub), and while events flow attaches to the bridge:
  1. `perf stat`: task-clock, context switches and the syscalls it makes,
     divided by the deliveries made in the same window (from /metrics);
  2. `perf record` (cpu-clock, DWARF call graphs) and a summary: share of
     samples per library, per kernel entry point, and the bridge's own
     functions.
Without perf (or with --callgrind) it runs the bridge under
`valgrind --tool=callgrind` instead, on a shorter, slower run.

  /usr/bin/python3 tests/bench/profile_bridge.py --build-dir build \\
      --clients 100 --rate 1500 --out /tmp/tb_profile

Loopback only; every process it starts is stopped by PID.
"""
import argparse
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run_bench  # noqa: E402  (the harness: processes, loadgen, publisher)

SYSCALLS = ["sendto", "poll", "epoll_wait", "epoll_ctl", "read", "write", "recvfrom", "getpid"]
ENTRY_POINTS = ["__x64_sys_sendto", "net_rx_action", "__x64_sys_poll", "sock_poll", "schedule",
                "__x64_sys_epoll_wait", "__x64_sys_recvfrom", "__x64_sys_read",
                "__x64_sys_write", "eio_ws_writeable", "lws_write", "ingest_on_readable",
                "codec_event_packet", "te_event_to_json", "te_frames_decode", "sio_broadcast",
                "rooms_each", "lws_callback_on_writable", "malloc", "free", "_lws_log"]


def deliveries(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        for line in r.read().decode().splitlines():
            if line.startswith("trainbridge_deliveries_total "):
                return float(line.split()[1])
    return 0.0


def perf_works():
    if not shutil.which("perf"):
        return False
    r = subprocess.run(["perf", "stat", "-e", "task-clock", "true"], capture_output=True)
    return r.returncode == 0


def perf_stat(pid, port, seconds, outdir):
    events = ["task-clock", "context-switches", "raw_syscalls:sys_enter"] + \
             [f"syscalls:sys_enter_{s}" for s in SYSCALLS]
    d0 = deliveries(port)
    r = subprocess.run(["perf", "stat", "-x", ",", "-e", ",".join(events), "-p", str(pid),
                        "--", "sleep", str(seconds)], capture_output=True, text=True)
    d1 = deliveries(port)
    n = max(d1 - d0, 1)
    with open(os.path.join(outdir, "perf_stat.txt"), "w") as f:
        f.write(r.stderr)
    print(f"perf stat over {seconds} s: {n:,.0f} deliveries ({n / seconds:,.0f}/s)")
    for line in r.stderr.splitlines():
        parts = line.split(",")
        if len(parts) < 3 or not parts[0].replace(".", "").isdigit():
            continue
        value, name = float(parts[0]), parts[2]
        if name == "task-clock":  # msec
            print(f"  task-clock      {value / seconds / 10:6.1f} % of a core, "
                  f"{1000 * value / n:7.3f} µs per delivery")
        else:
            print(f"  {name:40s} {value / n:8.3f} per delivery ({value / seconds:,.0f}/s)")


def perf_record(pid, seconds, outdir):
    data = os.path.join(outdir, "perf.data")
    subprocess.run(["perf", "record", "-F", "2999", "-e", "cpu-clock", "--call-graph",
                    "dwarf,16384", "-p", str(pid), "-o", data, "--", "sleep", str(seconds)],
                   capture_output=True)
    def report(*extra):
        r = subprocess.run(["perf", "report", "-i", data, "--stdio", "-g", "none"] + list(extra),
                           capture_output=True, text=True)
        return [l for l in r.stdout.splitlines() if l.strip() and not l.startswith("#")]
    by_dso = report("--no-children", "--sort", "dso")
    children = report("--children", "--sort", "sym")
    own = report("--no-children", "--sort", "sym", "--dsos", "trainbridge")
    with open(os.path.join(outdir, "perf_report.txt"), "w") as f:
        f.write("\n".join(["# by library (self)"] + by_dso + ["", "# inclusive by symbol"] +
                          children + ["", "# trainbridge's own functions (self)"] + own))
    print("perf record: share of the bridge's CPU samples")
    print("  by library (self):")
    for l in by_dso[:8]:
        print("   ", l.strip())
    print("  inclusive, selected entry points:")
    for l in children:
        sym = l.split()[-1]
        if sym in ENTRY_POINTS:
            print(f"    {l.split()[0]:>8}  {sym}")
    print("  the bridge's own code (self), top 10:")
    for l in own[:10]:
        print("   ", l.strip())
    print(f"  full reports: {outdir}/perf_report.txt, perf.data")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__)
    ap.add_argument("--build-dir", default=os.path.join(run_bench.REPO, "build"))
    ap.add_argument("--bridge", help="another trainbridge binary to profile")
    ap.add_argument("--clients", type=int, default=100)
    ap.add_argument("--scenarios", type=int, default=1)
    ap.add_argument("--rate", type=float, default=1500, help="events/s (deliveries = rate x clients)")
    ap.add_argument("--seconds", type=float, default=4, help="length of each measurement")
    ap.add_argument("--nice", type=int, default=0)
    ap.add_argument("--callgrind", action="store_true", help="valgrind instead of perf")
    ap.add_argument("--out", default="/tmp/tb_profile")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    run_bench.NICE = a.nice
    use_perf = perf_works() and not a.callgrind
    bargs = argparse.Namespace(build_dir=a.build_dir, bridge=a.bridge, queue_bytes=1048576,
                               drain_ms=10000)
    bench = run_bench.Bench(bargs)
    if not use_perf:
        return callgrind(bench, a)
    srv = bench.start_server("bridge")
    try:
        lg, _ = bench.start_loadgen(srv, a.clients, a.scenarios)
        total_s = 2 * a.seconds + 3
        pub = threading.Thread(target=bench.publish, args=(srv, a.rate, a.scenarios, total_s))
        pub.start()
        time.sleep(1.0)  # steady state first
        perf_stat(srv.pid, srv.port, a.seconds, a.out)
        perf_record(srv.pid, a.seconds, a.out)
        pub.join()
        lg.signal(signal.SIGUSR1)
        print("clients saw:", lg.readline(30)[:300])
    finally:
        run_bench.stop_all()
    return 0


def callgrind(bench, a):
    """The same load (slower: valgrind runs ~50x slower) under callgrind."""
    out = os.path.join(a.out, "callgrind.out")
    real = bench.bridge
    wrapper = os.path.join(a.out, "trainbridge-callgrind")
    with open(wrapper, "w") as f:
        f.write(f"#!/bin/sh\nexec valgrind --tool=callgrind --callgrind-out-file={out} "
                f"{real} \"$@\"\n")
    os.chmod(wrapper, 0o755)
    argv = [wrapper, "--listen", "127.0.0.1:0", "--zmq-bind", "tcp://127.0.0.1:*",
            "--log-level", "warn", "--max-connections-per-ip", "10000000"]
    srv = run_bench.Child("bridge", argv, bench.logdir)
    try:
        words = srv.readline(60).split()
        srv.port = int(words[words.index("on") + 1].rsplit(":", 1)[1])
        srv.zmq = words[words.index("zmq") + 1]
        lg, _ = bench.start_loadgen(srv, a.clients, a.scenarios)
        bench.publish(srv, a.rate / 20, a.scenarios, a.seconds)
        lg.signal(signal.SIGUSR1)
        print("clients saw:", lg.readline(60)[:300])
    finally:
        run_bench.stop_all()
    r = subprocess.run(["callgrind_annotate", "--inclusive=yes", out], capture_output=True,
                       text=True)
    with open(os.path.join(a.out, "callgrind.txt"), "w") as f:
        f.write(r.stdout)
    print("\n".join(r.stdout.splitlines()[:60]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
