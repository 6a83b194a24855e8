"""Liveness with the Python publisher against the real bridge: its heartbeat
thread keeps a run alive while the training loop sleeps in one long call;
once the publisher is gone without a terminal event, the room gets
training_stalled, and a python-socketio late joiner sees it replayed."""
import time

from trainevents import Publisher

from conftest import metric_by_label, unique, wait_until

PROGRESS = dict(avg_reward=1.5, avg_duration=2.0, avg_cash=3.0, avg_invested=0.5,
                stability=0.9, goal_adherence=1.0, elapsed_time=4.0)


def names(client):
    return [e for e, _ in client.snapshot()]


def test_python_publisher_beats_through_one_long_call_and_stalls_when_gone(
        bridge_factory, client_factory):
    b = bridge_factory("--stall-after", "500")
    scenario = unique("py-live")
    c = client_factory(b)
    c.subscribe(scenario)
    pub = Publisher([b.zmq], trainer="py-live-1", ready_timeout=5.0, heartbeat_interval=0.3)
    try:
        pub.training_started(scenario, num_episodes=10)
        pub.training_progress(scenario, 1, 10, **PROGRESS)
        time.sleep(3.0)  # one long episode: over 3 x the threshold of 3 x 300 ms
        pub.training_progress(scenario, 2, 10, **PROGRESS)
        c.wait_count(3)
        assert names(c) == ["training_started", "training_progress", "training_progress"], names(c)
    finally:
        pub.close()  # no terminal event: the heartbeats stop, the run goes silent

    wait_until(lambda: "training_stalled" in names(c), 5.0, "training_stalled",
               lambda: str(names(c)))
    event, args = c.snapshot()[-1]
    assert event == "training_stalled"
    payload, meta = args[0], args[1]
    assert list(payload) == ["scenario_name", "episodes_completed", "silent_ms"]
    assert payload["scenario_name"] == scenario
    assert payload["episodes_completed"] == 2
    assert payload["silent_ms"] >= 900
    assert meta["trainer"] == "py-live-1" and meta["scenario_name"] == scenario
    states = metric_by_label(b.metrics(), "trainbridge_runs", "state")
    assert states.get("stalled") == 1 and states.get("running") == 0, states

    late = client_factory(b)
    ack = late.subscribe(scenario, history="latest")
    assert ack["runs"] == 1
    replayed = [e for e, _ in late.replayed]
    assert replayed == ["training_started", "training_progress", "training_stalled"], replayed
    assert late.replayed[-1][1][0] == payload
