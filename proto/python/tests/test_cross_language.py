"""Python <-> C over real ZeroMQ on 127.0.0.1: trainevents.py against the
trainsub and trainsim binaries from $TB_BIN_DIR."""

import json
import re

import pytest

import trainevents as te
from cases import ACCEPTED, BAD, GOOD, envelope
from helpers import (bin_path, json_of, parse_rejected, run, spawn, trainsub, xpub_ready,
                     SubThread)

N = 5
METRICS = [{"avg_reward": 150.5 + i, "avg_duration": 0.1 * (i + 1), "avg_cash": 1e300,
            "avg_invested": -0.0, "stability": 1 / 3, "goal_adherence": 1.0,
            "elapsed_time": 150.0 + i} for i in range(N)]
FLOAT_TOKEN = re.compile(r'"(avg_\w+|stability|goal_adherence|elapsed_time)":([^,}]+)')


def trainsim(endpoint, *args):
    return [bin_path("trainsim"), "--endpoint", endpoint, "--rate", "0", "--quiet", *args]


def receive_run(sub, n_messages):
    """Decodes n_messages from sub with trainevents.decode_frames."""
    return [te.decode_frames(sub.get()) for _ in range(n_messages)]


def test_python_publisher_to_c_trainsub_keeps_exact_values():
    with trainsub("--count", str(N + 2)) as (proc, endpoint):
        with te.Publisher(endpoint, heartbeat_interval=None, trainer="py-1") as pub:
            pub.training_started("alpha", N, start_time="2024-05-01T12:00:00.5Z")
            for i, metrics in enumerate(METRICS):
                pub.training_progress("alpha", i + 1, N, **metrics)
            pub.training_completed("alpha", N)
        assert proc.wait() == 0
        lines = proc.out.rest()
    events = [json.loads(line) for line in lines]
    assert [e[0] for e in events] == (["training_started"] + ["training_progress"] * N +
                                      ["training_completed"])
    assert [e[2]["seq"] for e in events] == list(range(1, N + 3))
    assert all(e[2]["trainer"] == "py-1" and e[2]["scenario_name"] == "alpha" for e in events)
    assert events[0][1] == {"scenario_name": "alpha", "num_episodes": N,
                            "start_time": "2024-05-01T12:00:00.5Z"}
    for i, e in enumerate(events[1:-1]):
        assert e[1] == {"episode": i + 1, "total_episodes": N, **METRICS[i]}
    assert events[-1][1]["final_metrics"] == {
        k: METRICS[-1][k] for k in ("avg_reward", "avg_duration", "stability")}
    for line in lines:  # floats always print as floats, exact and short
        for _, token in FLOAT_TOKEN.findall(line):
            assert "." in token or "e" in token, line
    assert '"elapsed_time":150.0' in lines[1] and '"avg_duration":0.1' in lines[1]
    assert '"avg_cash":1e+300' in lines[1] and '"avg_invested":-0.0' in lines[1]


@pytest.mark.parametrize("args,tail", [
    ([], ["training_completed"]),
    (["--stop-at", "2"], ["training_stopped"]),
    (["--fail-at", "3"], ["training_error"]),
])
def test_c_trainsim_to_python_subscriber(args, tail):
    k = int(args[1]) if args else N
    with SubThread() as sub:
        status, _, err = run(trainsim(sub.endpoint, "--scenario", "alpha", "--episodes", str(N),
                                      "--trainer", "sim-1", *args))
        assert status == 0, err
        envs = receive_run(sub, k + 2)
        assert sub.empty_for(0.2)
    assert [e["event"] for e in envs] == ["training_started"] + ["training_progress"] * k + tail
    assert [e["seq"] for e in envs] == list(range(1, k + 3))
    assert {e["trainer"] for e in envs} == {"sim-1"}
    assert envs[0]["data"]["num_episodes"] == N
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", envs[0]["data"]["start_time"])
    progress = [e["data"] for e in envs[1:-1]]
    assert [p["episode"] for p in progress] == list(range(1, k + 1))
    assert all(p["total_episodes"] == N for p in progress)
    assert all(0 <= p["stability"] <= 1 and 0 <= p["goal_adherence"] <= 1 for p in progress)
    times = [p["elapsed_time"] for p in progress]
    assert times == sorted(times) and len(set(times)) == len(times)
    last = envs[-1]["data"]
    if tail == ["training_completed"]:
        assert last["episodes_completed"] == N
        assert last["final_metrics"] == {key: progress[-1][key]
                                         for key in ("avg_reward", "avg_duration", "stability")}
    elif tail == ["training_stopped"]:
        assert last == {"scenario_name": "alpha", "episodes_completed": k}
    else:
        assert str(k) in last["message"] and last["details"]


def test_trainsim_interleaves_scenarios_with_one_sequence():
    with SubThread() as sub:
        status, _, err = run(trainsim(sub.endpoint, "--scenario", "a", "--scenario", "b",
                                      "--episodes", "3"))
        assert status == 0, err
        envs = receive_run(sub, 2 * 5)
    assert [e["seq"] for e in envs] == list(range(1, 11))
    assert [(e["scenario"], e["event"]) for e in envs[:4]] == [
        ("a", "training_started"), ("b", "training_started"),
        ("a", "training_progress"), ("b", "training_progress")]
    for name in ("a", "b"):
        mine = [e for e in envs if e["scenario"] == name]
        assert [e["event"] for e in mine][-1] == "training_completed" and len(mine) == 5


def capture_c_payloads():
    """One raw [topic, payload] of each event type, as trainsim encodes them."""
    frames = {}
    with SubThread() as sub:
        for args in ([], ["--stop-at", "1"], ["--fail-at", "1"]):
            status, _, err = run(trainsim(sub.endpoint, "--scenario", "alpha", "--episodes",
                                          "2", "--heartbeat-interval-ms", "100", *args))
            assert status == 0, err
            event = None
            while event not in te.TERMINAL_EVENTS:
                msg = sub.get()
                event = te.decode_frames(msg)["event"]
                frames[event] = msg
    assert set(frames) == set(te.EVENTS)
    return frames


def test_c_encoded_events_reencode_byte_for_byte_in_python():
    for event, (topic, payload) in capture_c_payloads().items():
        env = te.decode(topic, payload)
        again = te.encode(event, env["scenario"], env["trainer"], env["seq"], env["ts"],
                          env["data"])
        assert again == payload, event


def test_python_encoded_events_mean_the_same_to_trainsub():
    with trainsub("--count", str(len(te.EVENTS))) as (proc, endpoint):
        sock = xpub_ready(endpoint)
        sent = []
        try:
            for i, event in enumerate(sorted(te.EVENTS)):
                data = te.decode(b"alpha", bytes(envelope(event)))["data"]
                payload = te.encode(event, "alpha", "py-2", i + 1, 1714564800000000 + i, data)
                sent.append(te.decode(b"alpha", payload))
                sock.send_multipart([b"alpha", payload])
            assert proc.wait() == 0
        finally:
            sock.close(linger=0)
        got = [json.loads(line) for line in proc.out.rest()]
    assert got == [json_of(env) for env in sent]


def test_fifty_fresh_python_publishers_reach_trainsub():
    with trainsub("--count", "50") as (proc, endpoint):
        for i in range(50):
            with te.Publisher(endpoint, heartbeat_interval=None, trainer=f"fresh-{i}") as pub:
                pub.training_started("alpha", 1)
        assert proc.wait() == 0
        got = [json.loads(line) for line in proc.out.rest()]
    assert [e[2]["trainer"] for e in got] == [f"fresh-{i}" for i in range(50)]
    assert all(e[2]["seq"] == 1 for e in got)


def test_hostile_frames_are_rejected_with_the_python_codes():
    """trainsub (the C decoder) and trainevents.decode agree on every case."""
    with trainsub("--count", "1") as (proc, endpoint):
        sock = xpub_ready(endpoint)
        try:
            for _, topic, payload, _, _ in BAD:
                sock.send_multipart([topic.encode(), bytes(payload)])
            sock.send_multipart([b"alpha"])
            sock.send_multipart([b"alpha", GOOD, b"extra"])
            sock.send_multipart([b"alpha", GOOD])
            assert proc.wait() == 0
        finally:
            sock.close(linger=0)
        out, err = proc.out.rest(), proc.err.rest()
    rejected = [parse_rejected(line) for line in err if "rejected:" in line]
    want = [(code, field) for _, _, _, code, field in BAD] + [("bad_frames", "")] * 2
    assert rejected == want
    assert len(out) == 1 and json.loads(out[0])[2]["seq"] == 7
    assert err[-1] == f"trainsub: 1 events, {len(want)} rejected, 0 gaps"


def test_accepted_edge_cases_are_accepted_by_both():
    with trainsub("--count", str(len(ACCEPTED))) as (proc, endpoint):
        sock = xpub_ready(endpoint)
        try:
            for _, payload in ACCEPTED:
                sock.send_multipart([b"alpha", bytes(payload)])
            assert proc.wait() == 0, proc.err.rest()
        finally:
            sock.close(linger=0)
        got = [json.loads(line) for line in proc.out.rest()]
    assert got == [json_of(te.decode(b"alpha", bytes(p))) for _, p in ACCEPTED]


def test_trainsub_counts_gaps_per_trainer():
    with trainsub("--count", "5") as (proc, endpoint):
        sock = xpub_ready(endpoint)
        try:
            for trainer, seq in (("a", 1), ("a", 2), ("b", 1), ("a", 5), ("b", 2)):
                payload = te.encode("training_stopped", "alpha", trainer, seq, 1,
                                    {"scenario_name": "alpha", "episodes_completed": 0})
                sock.send_multipart([b"alpha", payload])
            assert proc.wait() == 0
        finally:
            sock.close(linger=0)
        assert proc.err.rest()[-1] == "trainsub: 5 events, 0 rejected, 2 gaps"


def test_trainsub_counts_events_lost_before_a_heartbeat():
    """A heartbeat repeats its trainer's latest event's seq: equal is no gap,
    above it the events up to it were lost (then the next event is none)."""
    stopped = {"scenario_name": "alpha", "episodes_completed": 0}
    beat = {"scenario_name": "alpha", "episode": 0, "interval_ms": 5000}
    with trainsub("--count", "6") as (proc, endpoint):
        sock = xpub_ready(endpoint)
        try:
            for event, seq in (("training_stopped", 1), ("heartbeat", 1), ("heartbeat", 1),
                               ("heartbeat", 4), ("training_stopped", 5), ("heartbeat", 2)):
                payload = te.encode(event, "alpha", "a", seq, 1,
                                    stopped if event == "training_stopped" else beat)
                sock.send_multipart([b"alpha", payload])
            assert proc.wait() == 0
        finally:
            sock.close(linger=0)
        assert proc.err.rest()[-1] == "trainsub: 6 events, 0 rejected, 3 gaps"


def test_trainsub_scenario_filter_is_exact():
    with trainsub("--scenario", "alpha", "--count", "1") as (proc, endpoint):
        sock = xpub_ready(endpoint)
        try:
            for name in ("alpha2", "alpha"):
                payload = te.encode("training_stopped", name, "t", 1, 1,
                                    {"scenario_name": name, "episodes_completed": 0})
                sock.send_multipart([name.encode(), payload])
            assert proc.wait() == 0
        finally:
            sock.close(linger=0)
        out = proc.out.rest()
    assert len(out) == 1 and json.loads(out[0])[2]["scenario_name"] == "alpha"


def test_trainsim_to_trainsub_directly():
    with trainsub("--count", "4") as (proc, endpoint):
        status, _, err = run(trainsim(endpoint, "--scenario", "s1", "--episodes", "2"))
        assert status == 0, err
        assert proc.wait() == 0
        got = [json.loads(line)[0] for line in proc.out.rest()]
    assert got == ["training_started", "training_progress", "training_progress",
                   "training_completed"]


def test_trainsub_connects_to_a_binding_publisher(tmp_path):
    endpoint = f"ipc://{tmp_path}/pub.ipc"
    with te.Publisher("@" + endpoint, heartbeat_interval=None, trainer="binder") as pub:
        with spawn([bin_path("trainsub"), "--connect", endpoint, "--count", "1"]) as proc:
            pub.training_started("alpha", 1)
            assert proc.wait() == 0
            assert json.loads(proc.out.rest()[0])[2]["trainer"] == "binder"
