"""A python-socketio client's life (connect, subscribe ack, disconnect) and
training runs from trainsim (completed, stopped early, failed)."""
import os
import signal
import time

import pytest
import socketio

from conftest import check_lifecycle, metric_sum, unique, wait_until, wire_order


def test_connect_and_clean_disconnect(bridge, client_factory):
    c = client_factory(bridge)
    assert c.sio.connected and c.sio.sid
    wait_until(lambda: metric_sum(bridge.metrics(), "trainbridge_clients_connected") == 1, 5,
               "trainbridge_clients_connected == 1")
    c.sio.disconnect()
    assert c.disconnected.wait(5), "no disconnect event"
    wait_until(lambda: metric_sum(bridge.metrics(), "trainbridge_clients_connected") == 0, 5,
               "trainbridge_clients_connected == 0")


def test_subscribe_acks(bridge, client_factory):
    c = client_factory(bridge)
    s = unique("py-ack")
    assert c.sio.call("subscribe_training", {"scenario_name": s}, timeout=5) == \
        {"ok": True, "scenario_name": s, "runs": 0, "replayed": 0}
    assert c.sio.call("unsubscribe_training", {"scenario_name": s}, timeout=5) == \
        {"ok": True, "scenario_name": s}
    for bad in ({}, {"scenario_name": 7}, {"scenario_name": "a b"}, {"scenario_name": ""},
                "alpha", None):
        ack = c.sio.call("subscribe_training", bad, timeout=5)
        assert isinstance(ack, dict) and ack.get("ok") is False, f"{bad!r} -> {ack!r}"
        assert isinstance(ack.get("error"), str) and ack["error"]
    assert c.sio.connected


def test_unknown_namespace_is_refused(bridge):
    sio = socketio.Client(reconnection=False)
    errors = []
    sio.on("connect_error", lambda data=None: errors.append(data), namespace="/admin")
    try:
        with pytest.raises(socketio.exceptions.ConnectionError):
            sio.connect(bridge.url, namespaces=["/admin"], transports=["websocket"],
                        wait_timeout=5)
        assert errors and errors[0] == {"message": "Invalid namespace"}, errors
    finally:
        sio.disconnect()


def test_full_lifecycle_twelve_events(bridge, client_factory, run_sim):
    s = unique("py-life")
    c = client_factory(bridge)
    c.subscribe(s)
    run_sim(bridge, s, episodes=10, rate=200, trainer="py-life")
    events = wire_order(c.wait_count(12))
    assert len(events) == 12
    check_lifecycle(events, s, 10, trainer="py-life")
    assert events[0][1][1]["seq"] == 1


def test_early_stop_seven_events(bridge, client_factory, run_sim):
    s = unique("py-stop")
    c = client_factory(bridge)
    c.subscribe(s)
    run_sim(bridge, s, episodes=10, stop_at=5)
    events = c.wait_count(7)
    assert len(events) == 7
    check_lifecycle(events, s, 10, progress=5, terminal="stopped")
    assert events[-1][1][0] == {"scenario_name": s, "episodes_completed": 5}


def test_failure_ends_with_training_error(bridge, client_factory, run_sim):
    s = unique("py-fail")
    c = client_factory(bridge)
    c.subscribe(s)
    run_sim(bridge, s, episodes=10, fail_at=2)
    events = c.wait_count(4)
    check_lifecycle(events, s, 10, progress=2, terminal="error")


def test_sigterm_disconnects_clients_and_exits_zero(bridge, client_factory):
    clients = [client_factory(bridge) for _ in range(3)]
    for c in clients:
        c.subscribe("*")
    t0 = time.monotonic()
    os.kill(bridge.proc.pid, signal.SIGTERM)
    status = bridge.proc.wait(5)
    elapsed = time.monotonic() - t0
    assert status == 0, bridge.proc.describe()
    assert elapsed < 1.5, f"exited {elapsed:.2f} s after SIGTERM"
    for c in clients:
        assert c.disconnected.wait(5), "a client saw no disconnect"
