#!/usr/bin/python3
"""run_bench: trainbridge against a python-socketio peer, one table.

Runs the bridge (build/bin/trainbridge) and the peer (peer_socketio.py)
alternately under named configurations, drives each with tb_loadgen (N
Socket.IO clients) and tb_benchpub (training_progress at R events/s over S
scenarios), and prints one Markdown table of medians with min-max over the
runs, then the bridge/peer ratios.

Configurations (issue 5):
  a      100 clients, 1 scenario, 1000 events/s
  b      1000 clients, 10 scenarios, 200 events/s
  c100   saturation at 100 clients (c1000, c5000: at 1000 and 5000; "c" = all
         three), 1 scenario: deliveries/s offered in steps x1.25 from 40k/s
         (peer: 2k/s) until a step is not clean: an event lost, a client
         closed, the publisher short of its rate, or p99 above
         max(--sat-p99-ms, 4x the first step's p99) twice in a row; then one
         step half way. The highest clean step is reported.
  d      10,000 idle subscribed clients: server RSS per connection
  e      as (a) with one client that stops reading, publishing for at least
         20 s so that its kernel buffers and its queue bound fill: the
         others' p99, the server's RSS, and when the bridge cut it off

Columns: deliveries/s = events received by all clients / (first publish to
last receipt); latencies are publish (the trainer's CLOCK_REALTIME stamp) to
the client's read(), "at socket" to the data's arrival in the client's
kernel (SO_TIMESTAMPNS: without the load generator's own delays); loss =
events published x subscribers - events received; CPU % = the server
process's utime+stime over that span (100 = one core); CPU µs/deliv = the
same per delivery; RSS = VmRSS at the end; RSS/conn = (VmRSS with every
client subscribed - VmRSS before any connected) / clients; loadgen CPU % =
tb_loadgen's own use while events flowed (it says "saturated" near 90);
CPU pressure % = the share of time some runnable task waited for a CPU
(/proc/pressure/cpu): high values mean other work competed for the CPUs.

Every process this script starts is stopped by PID at the end (also on
errors and Ctrl-C). Loopback only. Use Debian's /usr/bin/python3.

  /usr/bin/python3 tests/bench/run_bench.py --build-dir build          # all
  /usr/bin/python3 tests/bench/run_bench.py --quick --configs a,e --no-peer
"""
import argparse
import json
import os
import resource
import select
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
CLK_TCK = os.sysconf("SC_CLK_TCK")

CONFIGS = {
    "a": dict(kind="fixed", clients=100, scenarios=1, rate=1000,
              title="a: 100 clients, 1 scenario, 1000 ev/s"),
    "b": dict(kind="fixed", clients=1000, scenarios=10, rate=200,
              title="b: 1000 clients, 10 scenarios, 200 ev/s"),
    "c100": dict(kind="sat", clients=100, scenarios=1, title="c: saturation, 100 clients"),
    "c1000": dict(kind="sat", clients=1000, scenarios=1, title="c: saturation, 1000 clients"),
    "c5000": dict(kind="sat", clients=5000, scenarios=1, title="c: saturation, 5000 clients"),
    "d": dict(kind="idle", clients=10000, scenarios=10, title="d: 10,000 idle subscribed"),
    "e": dict(kind="fixed", clients=100, scenarios=1, rate=1000, stalled=1, min_duration_s=20,
              title="e: as a, 1 of 100 stalled"),
}
DEFAULT_PEER_CONFIGS = "a,b,c100,c1000,d,e"
SAT_START = {"bridge": 40000, "peer": 2000}  # deliveries/s of the first step
SAT_FACTOR = 1.25
SAT_MAX_STEPS = 24
STALL_MS = 50  # a publisher this late at a fixed, light rate means the machine stalled
SAT_KNEE = 4  # a step is not clean once p99 > max(--sat-p99-ms, SAT_KNEE x first step's p99)

_children = []  # every Popen this script started, stopped by PID at exit


# ------------------------------------------------------------ processes

class Child:
    """A child process with line reads that have a deadline."""

    def __init__(self, name, argv, logdir, env=None):
        self.name = name
        self.err_path = os.path.join(logdir, f"{name}.{len(_children)}.stderr")
        self.err = open(self.err_path, "wb")
        self.p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=self.err,
                                  stdin=subprocess.DEVNULL, env=env, preexec_fn=child_setup)
        self.pid = self.p.pid
        self.buf = b""
        _children.append(self)

    def readline(self, timeout_s):
        """The next stdout line (str, without newline); TimeoutError or EOFError."""
        deadline = time.monotonic() + timeout_s
        fd = self.p.stdout.fileno()
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{self.name} (pid {self.pid}): no line in {timeout_s:.0f} s; "
                                   f"see {self.err_path}")
            r, _, _ = select.select([fd], [], [], left)
            if r:
                chunk = os.read(fd, 65536)
                if not chunk:
                    raise EOFError(f"{self.name} (pid {self.pid}) exited "
                                   f"(status {self.p.poll()}); see {self.err_path}")
                self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return line.decode()

    def signal(self, sig):
        if self.p.poll() is None:
            os.kill(self.pid, sig)

    def stop(self, timeout_s=5.0):
        """SIGTERM, then SIGKILL after timeout_s; always by PID."""
        if self.p.poll() is None:
            try:
                os.kill(self.pid, signal.SIGTERM)
                self.p.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.p.wait()
            except ProcessLookupError:
                pass
        self.p.stdout.close()
        self.err.close()
        if self in _children:
            _children.remove(self)


NICE = 0  # --nice: scheduling priority of every process the benchmark starts


def child_setup():
    if NICE:
        os.nice(NICE)


def stop_all():
    for c in list(reversed(_children)):
        try:
            c.stop(timeout_s=3.0)
        except Exception as e:  # keep stopping the others
            print(f"run_bench: stopping {c.name} pid {c.pid}: {e}", file=sys.stderr)


class Sampler(threading.Thread):
    """Samples a process's CPU time (utime+stime) and VmRSS every 100 ms."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid = pid
        self.samples = []  # (CLOCK_REALTIME s, cpu s, rss KiB)
        self.halt = threading.Event()
        self.sample()

    def sample(self):
        try:
            self.samples.append((time.time(), proc_cpu_s(self.pid),
                                 proc_status_kib(self.pid)["VmRSS"], cpu_pressure_s()))
        except (OSError, KeyError, ValueError):
            pass

    def run(self):
        while not self.halt.wait(0.1):
            self.sample()

    def cpu_between(self, t0, t1, col=1):
        """Seconds in [t0, t1] (realtime s), interpolated: the process's CPU
        time (col 1), or the time some runnable task waited for a CPU (col 3,
        PSI). (/proc/stat's machine-wide ticks miss short bursts on this kind
        of VM, so they are not used.)"""
        return self._at(t1, col) - self._at(t0, col)

    def _at(self, t, col):
        s = list(self.samples)
        if not s:
            return 0.0
        if t <= s[0][0]:
            return s[0][col]
        for a, b in zip(s, s[1:]):
            if a[0] <= t <= b[0]:
                return a[col] + (b[col] - a[col]) * (t - a[0]) / (b[0] - a[0]) if b[0] > a[0] else b[col]
        return s[-1][col]

    def peak_rss_kib(self, t0=0.0):
        vals = [x[2] for x in self.samples if x[0] >= t0]
        return max(vals) if vals else 0


class CutOffWatch(threading.Thread):
    """Notes when the bridge's slow-client drop counter first moves."""

    def __init__(self, srv):
        super().__init__(daemon=True)
        self.url = f"http://127.0.0.1:{srv.port}/metrics"
        self.when = None
        self.halt = threading.Event()
        self.start()

    def run(self):
        while not self.halt.wait(0.25) and self.when is None:
            try:
                with urllib.request.urlopen(self.url, timeout=2) as r:
                    for line in r.read().decode().splitlines():
                        if line.startswith("trainbridge_clients_dropped_slow_total ") and \
                                float(line.split()[1]) > 0:
                            self.when = time.time()
            except OSError:
                pass


def proc_cpu_s(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def cpu_pressure_s():
    """PSI: seconds in which some runnable task waited for a CPU, since boot."""
    try:
        with open("/proc/pressure/cpu") as f:
            return int(f.readline().rsplit("total=", 1)[1]) / 1e6
    except (OSError, IndexError, ValueError):
        return 0.0


def proc_status_kib(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                k, v = line.split(":", 1)
                out[k] = int(v.split()[0])
    return out


# ------------------------------------------------------------ servers and runs

class Bench:
    def __init__(self, args):
        self.a = args
        self.bin = os.path.join(os.path.abspath(args.build_dir), "bin")
        self.bridge = getattr(args, "bridge", None) or os.path.join(self.bin, "trainbridge")
        self.logdir = tempfile.mkdtemp(prefix="tb_bench_")
        self.n_pub = 0
        for path in (self.bridge, os.path.join(self.bin, "tb_loadgen"),
                     os.path.join(self.bin, "tb_benchpub")):
            if not os.access(path, os.X_OK):
                sys.exit(f"run_bench: {path} is missing: build first "
                         f"(cmake --build {args.build_dir})")

    def start_server(self, kind):
        if kind == "bridge":
            argv = [self.bridge, "--listen", "127.0.0.1:0",
                    "--zmq-bind", "tcp://127.0.0.1:*", "--log-level", "warn",
                    "--client-queue-bytes", str(self.a.queue_bytes),
                    # every loadgen client comes from 127.0.0.1: lift the per-address bound
                    "--max-connections-per-ip", "10000000"]
        else:
            argv = [sys.executable, os.path.join(HERE, "peer_socketio.py"),
                    "--listen", "127.0.0.1:0", "--zmq-bind", "tcp://127.0.0.1:*"]
        srv = Child(kind, argv, self.logdir)
        line = srv.readline(20)
        # "<name> listening on 127.0.0.1:<port> zmq <endpoint>"
        words = line.split()
        srv.port = int(words[words.index("on") + 1].rsplit(":", 1)[1])
        srv.zmq = words[words.index("zmq") + 1]
        time.sleep(0.3)  # let RSS settle after start-up
        return srv

    def start_loadgen(self, srv, clients, scenarios, stalled=0):
        argv = [os.path.join(self.bin, "tb_loadgen"), "--port", str(srv.port),
                "--clients", str(clients), "--scenarios", str(scenarios),
                "--stalled", str(stalled), "--drain-ms", str(self.a.drain_ms)]
        lg = Child("loadgen", argv, self.logdir)
        ready = json.loads(lg.readline(60 + clients / 50))
        if ready["failed"]:
            raise RuntimeError(f"loadgen: {ready['failed']} of {clients} clients failed to "
                               f"subscribe; see {lg.err_path}")
        return lg, ready

    def publish(self, srv, rate, scenarios, duration_s):
        self.n_pub += 1
        argv = [os.path.join(self.bin, "tb_benchpub"), "--endpoint", srv.zmq,
                "--rate", f"{rate:.3f}", "--duration-s", f"{duration_s:.3f}",
                "--scenarios", str(scenarios), "--trainer-prefix", f"bench{self.n_pub}"]
        r = subprocess.run(argv, capture_output=True, timeout=duration_s + 40, text=True,
                           preexec_fn=child_setup)
        if r.returncode != 0:
            raise RuntimeError(f"tb_benchpub failed ({r.returncode}): {r.stderr.strip()}")
        return json.loads(r.stdout.strip().splitlines()[-1])

    def phase(self, srv, sampler, lg, rate, scenarios, duration_s):
        """One publish run and what the clients saw of it."""
        pub = self.publish(srv, rate, scenarios, duration_s)
        lg.signal(signal.SIGUSR1)
        ph = json.loads(lg.readline(self.a.drain_ms / 1000 + 15))
        return summarize(pub, ph, sampler, rate, duration_s)

    def metrics(self, srv):
        if srv.name != "bridge":
            return {}
        out = {}
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{srv.port}/metrics", timeout=5) as r:
                for line in r.read().decode().splitlines():
                    if line and not line.startswith("#") and "{" not in line:
                        k, v = line.split()
                        out[k] = float(v)
        except OSError as e:
            print(f"run_bench: /metrics: {e}", file=sys.stderr)
        return out

    def session(self, kind, cfg, clients, body):
        """Starts server, sampler and load generator; runs body; stops all."""
        srv = self.start_server(kind)
        sampler = Sampler(srv.pid)
        sampler.start()
        lg = None
        try:
            rss0 = proc_status_kib(srv.pid)["VmRSS"]
            lg, ready = self.start_loadgen(srv, clients, cfg["scenarios"], cfg.get("stalled", 0))
            time.sleep(1.0)
            rss_sub = proc_status_kib(srv.pid)["VmRSS"]
            res = body(srv, sampler, lg)
            status = proc_status_kib(srv.pid)
            res.update(rss_base_kib=rss0, rss_sub_kib=rss_sub, rss_end_kib=status["VmRSS"],
                       rss_hwm_kib=status["VmHWM"], setup_s=ready["setup_s"],
                       rss_per_conn_kib=(rss_sub - rss0) / clients)
            m = self.metrics(srv)
            res["dropped_slow"] = m.get("trainbridge_clients_dropped_slow_total")
            res["ingest_gaps"] = m.get("trainbridge_ingest_gaps_total")
            return res
        finally:
            sampler.halt.set()
            if lg:
                lg.stop()
            srv.stop()

    def run_fixed(self, kind, cfg):
        # (e) runs long enough for the stalled client's kernel buffers and its
        # queue bound (--queue-bytes) to fill at the rate of (a)
        duration_s = max(self.a.duration_s, cfg.get("min_duration_s", 0))

        def body(srv, sampler, lg):
            watch = CutOffWatch(srv) if cfg.get("stalled") and kind == "bridge" else None
            t0 = time.time()
            try:
                res = self.phase(srv, sampler, lg, cfg["rate"], cfg["scenarios"], duration_s)
            finally:
                if watch:
                    watch.halt.set()
            res["cut_off_after_s"] = watch.when - t0 if watch and watch.when else None
            return res
        return self.session(kind, cfg, cfg["clients"], body)

    def run_idle(self, kind, cfg):
        clients = min(cfg["clients"], self.a.max_clients)
        return self.session(kind, cfg, clients, lambda srv, sampler, lg: {"clients": clients})

    def run_sat(self, kind, cfg):
        n = cfg["clients"]

        def step(srv, sampler, lg, deliv, steps):
            res = self.phase(srv, sampler, lg, deliv / n, cfg["scenarios"], self.a.step_s)
            res["offered_deliveries_s"] = deliv
            if not steps and not res["loss"] and not res["closed"]:
                # latency "gives way" against the lightest load's own p99: a fan-out
                # to thousands of clients takes that long even at a trickle
                self.p99_limit_ms = max(self.a.sat_p99_ms, SAT_KNEE * res["p99_ms"])
            res["why_not_clean"] = why_not_clean(res, self.p99_limit_ms)
            steps.append(res)
            log(f"    {kind} {n} clients: offered {deliv:,.0f}/s -> {res['deliveries_s']:,.0f}/s "
                f"p99 {res['p99_ms']:.2f} ms loss {res['loss']} server CPU {res['cpu_pct']:.0f}% "
                f"loadgen CPU {res['lg_cpu_pct']:.0f}% {res['why_not_clean'] or 'clean'}")
            return res

        def body(srv, sampler, lg):
            steps, best, deliv = [], None, SAT_START[kind]
            self.p99_limit_ms = self.a.sat_p99_ms
            for _ in range(SAT_MAX_STEPS):  # up by SAT_FACTOR until a step is not clean
                res = step(srv, sampler, lg, deliv, steps)
                if res["why_not_clean"] and not res["loss"] and not res["closed"]:
                    time.sleep(1.0)  # only latency: once more, so one burst of other work
                    res = step(srv, sampler, lg, deliv, steps)  # on the machine does not end it
                if res["why_not_clean"]:
                    break
                best = res
                deliv *= SAT_FACTOR
            failed = steps[-1]
            if best and failed["why_not_clean"]:  # one more step half way (geometrically)
                time.sleep(1.0)  # let a backlog from the failed step drain
                res = step(srv, sampler, lg, (best["offered_deliveries_s"] * deliv) ** 0.5, steps)
                if not res["why_not_clean"]:
                    best = res
            out = dict(best or steps[0])
            out["clean"] = best is not None
            out["p99_limit_ms"] = self.p99_limit_ms
            if not out["clean"]:
                out["deliveries_s"] = None  # no clean step: nothing to report
            out["limit"] = failed["why_not_clean"]
            out["limit_step"] = {k: failed[k] for k in
                                 ("offered_deliveries_s", "deliveries_s", "p99_ms", "loss",
                                  "lg_cpu_pct", "lg_saturated", "cpu_pct")}
            out["steps"] = steps
            return out
        return self.session(kind, cfg, n, body)


def why_not_clean(res, p99_limit_ms):
    if res["loss"] > 0:
        return f"loss {res['loss']}"
    if res["closed"] > 0:
        return f"{res['closed']} clients closed"
    if res["p99_ms"] > p99_limit_ms:
        return f"p99 {res['p99_ms']:.1f} ms > {p99_limit_ms:g}"
    if res["pub_achieved"] < 0.95 * res["rate"]:
        return f"publisher reached {res['pub_achieved']:.0f} of {res['rate']:.0f} ev/s"
    return ""


def summarize(pub, ph, sampler, rate, duration_s):
    """Figures of one phase: what was sent, received, how late, at what cost."""
    expected = sum(s * m for s, m in zip(pub["per_scenario"], ph["members"]))
    t0 = pub["t0_rt_us"] / 1e6
    t1 = max(ph["last_recv_us"] / 1e6, pub["t1_rt_us"] / 1e6)
    span = max(t1 - t0, 1e-3)
    cpu_s = sampler.cpu_between(t0, t1)
    lat = ph["lat_us"]
    return dict(
        rate=rate, duration_s=duration_s, pub_sent=pub["sent"], pub_achieved=pub["achieved_rate"],
        pub_behind_ms=pub["max_behind_ms"], expected=expected, received=ph["events"],
        loss=max(0, expected - ph["events"]), lost_gaps=ph["lost_gaps"], closed=ph["closed"],
        deliveries_s=ph["events"] / span, p50_ms=lat["p50"] / 1e3, p99_ms=lat["p99"] / 1e3,
        p999_ms=lat["p999"] / 1e3, p99_socket_ms=ph["lat_socket_us"]["p99"] / 1e3, max_ms=lat["max"] / 1e3, mean_ms=lat["mean"] / 1e3,
        cpu_pct=100.0 * cpu_s / span,
        cpu_pressure_pct=100.0 * sampler.cpu_between(t0, t1, 3) / span, cpu_us_per_delivery=1e6 * cpu_s / max(ph["events"], 1),
        lg_cpu_pct=ph["cpu_pct"], lg_peak_cpu_pct=ph["cpu_peak_1s_pct"],
        lg_saturated=ph["saturated"], per_client_min=ph["per_client_min"],
        per_client_max=ph["per_client_max"], wrong_room=ph["wrong_room"], dups=ph["dups"],
        peak_rss_kib=sampler.peak_rss_kib(t0))


# ------------------------------------------------------------ table

COLUMNS = [  # (header, key, format)
    ("deliveries/s", "deliveries_s", "{:,.0f}"),
    ("p50 ms", "p50_ms", "{:.2f}"),
    ("p99 ms", "p99_ms", "{:.2f}"),
    ("p99.9 ms", "p999_ms", "{:.2f}"),
    ("p99 at socket ms", "p99_socket_ms", "{:.2f}"),
    ("max ms", "max_ms", "{:.1f}"),
    ("loss", "loss", "{:,.0f}"),
    ("CPU %", "cpu_pct", "{:.0f}"),
    ("CPU µs/deliv", "cpu_us_per_delivery", "{:.2f}"),
    ("RSS MiB", "rss_end_mib", "{:.1f}"),
    ("RSS/conn KiB", "rss_per_conn_kib", "{:.1f}"),
    ("loadgen CPU %", "lg_cpu_pct", "{:.0f}"),
    ("CPU pressure %", "cpu_pressure_pct", "{:.0f}"),
]
IDLE_KEYS = {"rss_end_mib", "rss_per_conn_kib"}


def cell(runs, key, fmt):
    vals = [r[key] for r in runs if r.get(key) is not None]
    if not vals:
        return "–"
    med = statistics.median(vals)
    if len(vals) == 1 or min(vals) == max(vals):
        return fmt.format(med)
    return f"{fmt.format(med)} ({fmt.format(min(vals))}–{fmt.format(max(vals))})"


def print_table(results, out=sys.stdout):
    head = ["configuration", "server"] + [c[0] for c in COLUMNS]
    print("| " + " | ".join(head) + " |", file=out)
    print("|" + "|".join("---" for _ in head) + "|", file=out)
    for name, cfg in CONFIGS.items():
        for kind in ("bridge", "peer"):
            runs = results.get(name, {}).get(kind)
            if not runs:
                continue
            for r in runs:
                r["rss_end_mib"] = r["rss_end_kib"] / 1024
            cells = []
            for header, key, fmt in COLUMNS:
                if cfg["kind"] == "idle" and key not in IDLE_KEYS:
                    cells.append("–")
                else:
                    cells.append(cell(runs, key, fmt))
            print(f"| {cfg['title']} | {kind} | " + " | ".join(cells) + " |", file=out)


def median_of(runs, key):
    vals = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(vals) if vals else None


def ratio_lines(results):
    """bridge/peer per configuration: each ratio says how many times better
    the bridge is (higher deliveries/s, lower p99, CPU and memory)."""
    lines = []
    for name, cfg in CONFIGS.items():
        b, p = results.get(name, {}).get("bridge"), results.get(name, {}).get("peer")
        if not b or not p:
            continue
        def ratio(label, key, bridge_over_peer):
            vb, vp = median_of(b, key), median_of(p, key)
            if not vb or not vp:
                return f"{label} n/a"
            return f"{label} {(vb / vp if bridge_over_peer else vp / vb):.1f}x"
        if cfg["kind"] == "idle":
            parts = [ratio("RSS per connection peer/bridge", "rss_per_conn_kib", False)]
        else:
            parts = [ratio("deliveries/s bridge/peer", "deliveries_s", True),
                     ratio("p99 peer/bridge", "p99_ms", False),
                     ratio("CPU per delivery peer/bridge", "cpu_us_per_delivery", False),
                     ratio("RSS peer/bridge", "rss_end_kib", False)]
        lines.append(f"{name}: " + ", ".join(parts))
    return lines


def notes(results, args):
    out = []
    for name, cfg in CONFIGS.items():
        for kind in ("bridge", "peer"):
            runs = results.get(name, {}).get(kind) or []
            sat = [r for r in runs if r.get("lg_saturated")]
            if sat:
                cpus = ", ".join(f"{r['lg_cpu_pct']:.0f}%" for r in sat)
                out.append(f"{name}/{kind}: the load generator neared a full core in "
                           f"{len(sat)} of {len(runs)} runs (its CPU {cpus}): "
                           f"figures there are limited by it, not only by the server")
            if cfg["kind"] == "sat":
                for r in runs:
                    ls = r["limit_step"]
                    out.append(f"{name}/{kind}: highest clean {r['deliveries_s']:,.0f}/s "
                               f"(p99 limit {r['p99_limit_ms']:.0f} ms); next step "
                               f"offered {ls['offered_deliveries_s']:,.0f}/s -> "
                               f"{ls['deliveries_s']:,.0f}/s, stopped by: {r['limit']} "
                               f"(server CPU {ls['cpu_pct']:.0f}%, loadgen CPU "
                               f"{ls['lg_cpu_pct']:.0f}%)" if r["clean"] else
                               f"{name}/{kind}: not clean even at the first step: {r['limit']}")
            if cfg["kind"] == "fixed":
                for i, r in enumerate(runs):
                    if r["pub_behind_ms"] > STALL_MS:
                        out.append(f"{name}/{kind} run {i + 1}: the publisher fell "
                                   f"{r['pub_behind_ms']:.0f} ms behind its schedule (at nice "
                                   f"{NICE}): the machine stalled, and that run's latencies show it")
            if name == "e":
                for r in runs:
                    cut = r.get("cut_off_after_s")
                    out.append(f"e/{kind}: stalled client dropped by the server: "
                               f"{'n/a' if r['dropped_slow'] is None else int(r['dropped_slow'])}"
                               f"{f' ({cut:.1f} s after publishing began)' if cut else ''}; "
                               f"RSS subscribed {r['rss_sub_kib'] / 1024:.1f} MiB, peak "
                               f"{r['peak_rss_kib'] / 1024:.1f} MiB, end "
                               f"{r['rss_end_kib'] / 1024:.1f} MiB; others' p99 "
                               f"{r['p99_ms']:.2f} ms")
    a, e = results.get("a", {}), results.get("e", {})
    for kind in ("bridge", "peer"):
        if a.get(kind) and e.get(kind):
            pa = statistics.median([r["p99_ms"] for r in a[kind]])
            pe = statistics.median([r["p99_ms"] for r in e[kind]])
            out.append(f"e vs a ({kind}): p99 of the others {pe:.2f} ms vs {pa:.2f} ms "
                       f"without a stalled client ({pe / max(pa, 1e-6):.2f}x)")
    return out


# ------------------------------------------------------------ main

def log(msg):
    print(msg, file=sys.stderr, flush=True)


def raise_fd_limit(need):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, need)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    if target < need:
        log(f"run_bench: the hard limit on open files is {hard}; (d) needs {need} per process "
            f"and runs with {target - 200} clients instead (raise it: ulimit -Hn, limits.conf)")
        return target - 200
    return need - 200


def parse_args():
    ap = argparse.ArgumentParser(description="trainbridge vs python-socketio benchmarks",
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__)
    ap.add_argument("--build-dir", default=os.path.join(REPO, "build"),
                    help="where bin/tb_loadgen, bin/tb_benchpub and bin/trainbridge are")
    ap.add_argument("--bridge", help="another trainbridge binary to measure (e.g. an older build)")
    ap.add_argument("--configs", default="a,b,c,d,e",
                    help="comma list of a b c c100 c1000 c5000 d e (default all)")
    ap.add_argument("--peer-configs", default=DEFAULT_PEER_CONFIGS,
                    help=f"configurations the peer runs too (default {DEFAULT_PEER_CONFIGS})")
    ap.add_argument("--no-peer", action="store_true", help="bridge only")
    ap.add_argument("--runs", type=int, help="runs per configuration (default 3; --quick 1)")
    ap.add_argument("--quick", action="store_true", help="1 run each, shorter phases")
    ap.add_argument("--duration-s", type=float, help="publish time of a b e (default 10; quick 4)")
    ap.add_argument("--step-s", type=float, help="publish time of a saturation step (4; quick 2)")
    ap.add_argument("--drain-ms", type=int, default=10000,
                    help="after publishing, wait this long at most for the last events")
    ap.add_argument("--sat-p99-ms", type=float, default=50.0, help="saturation: p99 limit")
    ap.add_argument("--queue-bytes", type=int, default=1048576,
                    help="bridge --client-queue-bytes (default 1 MiB, the bridge's default)")
    ap.add_argument("--nice", type=int, default=0,
                    help="run every benchmark process at this nice value (e.g. -10 as root on "
                         "a machine shared with other work; default 0)")
    ap.add_argument("--json", help="also write every figure to this file")
    a = ap.parse_args()
    a.runs = a.runs or (1 if a.quick else 3)
    a.duration_s = a.duration_s or (4.0 if a.quick else 10.0)
    a.step_s = a.step_s or (2.0 if a.quick else 4.0)
    return a


def expand(names):
    out = []
    for n in names.split(","):
        n = n.strip()
        group = ["c100", "c1000", "c5000"] if n == "c" else [n]
        for g in group:
            if g not in CONFIGS:
                sys.exit(f"run_bench: unknown configuration {g!r} (known: {', '.join(CONFIGS)}, c)")
            if g not in out:
                out.append(g)
    return out


def main():
    args = parse_args()
    configs = expand(args.configs)
    peer_configs = [] if args.no_peer else expand(args.peer_configs)
    args.max_clients = raise_fd_limit(CONFIGS["d"]["clients"] + 200)
    global NICE
    NICE = args.nice
    if NICE < 0:
        pid = os.fork()
        if pid == 0:  # a child tries, so this process keeps its own priority
            try:
                os.nice(NICE)
                os._exit(0)
            except PermissionError:
                os._exit(1)
        if os.waitpid(pid, 0)[1] != 0:
            log(f"run_bench: --nice {NICE} needs privileges; running at 0")
            NICE = 0
    bench = Bench(args)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    results = {}
    t_start = time.monotonic()
    load_start = os.getloadavg()
    try:
        for name in configs:
            cfg = CONFIGS[name]
            kinds = ["bridge"] + (["peer"] if name in peer_configs else [])
            for run in range(args.runs):
                for kind in kinds:  # alternately, so drifts hit both alike
                    log(f"[{time.monotonic() - t_start:6.0f} s] {name} run {run + 1}/{args.runs} {kind}")
                    fn = {"fixed": bench.run_fixed, "sat": bench.run_sat, "idle": bench.run_idle}
                    try:
                        res = fn[cfg["kind"]](kind, cfg)
                    except (RuntimeError, TimeoutError, EOFError, subprocess.TimeoutExpired) as e:
                        log(f"run_bench: {name} {kind} run {run + 1} failed: {e}")
                        continue
                    results.setdefault(name, {}).setdefault(kind, []).append(res)
                    log(f"    deliveries/s {res.get('deliveries_s', 0):,.0f} p99 "
                        f"{res.get('p99_ms', 0):.2f} ms loss {res.get('loss', 0)} RSS/conn "
                        f"{res['rss_per_conn_kib']:.1f} KiB")
    except KeyboardInterrupt:
        log("run_bench: interrupted; the table shows what ran")
    finally:
        stop_all()
    print()
    print(f"trainbridge benchmark: {os.cpu_count()} CPUs, {args.runs} run(s) per configuration, "
          f"medians (min–max); publish {args.duration_s:g} s per run, saturation steps "
          f"{args.step_s:g} s x{SAT_FACTOR}, clean = no loss, no client closed, p99 <= "
          f"max({args.sat_p99_ms:g} ms, {SAT_KNEE}x the first step's); load average {load_start[0]:.2f} at the start, "
          f"{os.getloadavg()[0]:.2f} at the end")
    print()
    print_table(results)
    print()
    for line in ratio_lines(results) + notes(results, args):
        print(f"- {line}")
    print(f"\nlogs: {bench.logdir}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "results": results}, f, indent=1)
    return 0 if results else 1


if __name__ == "__main__":
    sys.exit(main())
