"""Operations against the real bridge: JSON log lines (--log-format json and
its variable), heartbeats from a real trainsim counted at /metrics and never
forwarded to a python-socketio client."""
import json
import time

import msgpack
import zmq

from conftest import Proc, binary, check_lifecycle, metric_sum, unique, wait_until


def send_raw(endpoint, topic, envelope):
    """One [topic, msgpack(envelope)] message from an XPUB that waits for the
    bridge's subscription first (no slow-joiner sleep)."""
    ctx = zmq.Context.instance()
    pub = ctx.socket(zmq.XPUB)
    try:
        pub.connect(endpoint)
        assert pub.poll(5000), "no subscription from the bridge"
        pub.recv()
        pub.send_multipart([topic.encode(), msgpack.packb(envelope)])
    finally:
        pub.close(linger=2000)


def json_lines(proc):
    lines = [ln for ln in proc.stderr_tail(100000).splitlines() if ln.strip()]
    return [json.loads(ln) for ln in lines]  # every line must be one JSON object


def test_json_log_lines_split_out_their_fields(bridge_factory):
    b = bridge_factory("--log-format", "json")
    scenario = unique("py-log")
    bad = {"v": 3, "event": "heartbeat", "scenario": scenario, "trainer": "t", "seq": 1,
           "ts": 1, "data": {}}
    send_raw(b.zmq, scenario, bad)
    wait_until(lambda: metric_sum(b.metrics(), "trainbridge_ingest_rejected_total") >= 1, 10.0,
               "the bad message to be counted")

    def rejected_line():
        return [ln for ln in json_lines(b.proc) if ln.get("module") == "ingest"]

    wait_until(rejected_line, 10.0, "the ingest's JSON log line", b.proc.describe)
    [line] = rejected_line()
    assert line["level"] == "warn"
    assert line["message"].startswith("rejected message: bad_version: v: unsupported")
    assert line["field"] == "v"
    assert line["ts"].endswith("Z") and "T" in line["ts"]
    assert set(line) == {"ts", "level", "module", "message", "field"}


def test_log_format_variable_and_text_default(bridge_factory):
    b = bridge_factory(env={"TRAINBRIDGE_LOG_FORMAT": "json", "TRAINBRIDGE_LOG_LEVEL": "debug"})
    scenario = unique("py-logenv")
    send_raw(b.zmq, scenario, {"v": 1})
    wait_until(lambda: any(ln.get("module") == "ingest" for ln in json_lines(b.proc)), 10.0,
               "a JSON line from the ingest", b.proc.describe)
    t = bridge_factory()
    send_raw(t.zmq, scenario, {"v": 1})
    wait_until(lambda: "warn ingest: rejected message: missing_field" in t.proc.stderr_tail(),
               10.0, "the text line", t.proc.describe)


def test_heartbeats_are_counted_and_never_reach_clients(bridge, client_factory, run_sim):
    scenario = unique("py-beat")
    c = client_factory(bridge)
    c.subscribe(scenario)
    before = time.monotonic()
    p = run_sim(bridge, scenario, episodes=6, rate=4, trainer="py-beater")
    assert "--heartbeat-interval-ms" not in p.argv  # the default, 5 s
    events = c.wait_count(8)
    time.sleep(0.3)  # anything else would have come by now
    assert len(c.snapshot()) == 8, [e for e, _ in c.snapshot()]
    check_lifecycle(events, scenario, 6, trainer="py-beater")  # seq contiguous
    m = bridge.metrics()
    assert metric_sum(m, "trainbridge_heartbeats_total") >= 1  # right after training_started
    assert metric_sum(m, "trainbridge_ingest_gaps_total") == 0
    assert time.monotonic() - before < 30


def test_trainsim_heartbeats_at_its_interval_while_episodes_are_slow(bridge, client_factory,
                                                                      procs):
    scenario = unique("py-fastbeat")
    c = client_factory(bridge)
    c.subscribe(scenario)
    p = Proc("trainsim", [binary("trainsim"), "--endpoint", bridge.zmq, "--scenario", scenario,
                          "--trainer", "py-fast", "--episodes", "4", "--rate", "2", "--quiet",
                          "--heartbeat-interval-ms", "100"])
    procs.append(p)
    assert p.wait(30) == 0, p.describe()
    events = c.wait_count(6)
    time.sleep(0.3)
    assert len(c.snapshot()) == 6, [e for e, _ in c.snapshot()]
    check_lifecycle(events, scenario, 4, trainer="py-fast")
    beats = metric_sum(bridge.metrics(), "trainbridge_heartbeats_total")
    assert beats >= 5, f"{beats} heartbeats in a 2 s run at 100 ms"
