"""Malformed publisher messages while trainsim's good traffic flows: each is
dropped and counted under the reference decoder's reason, and a
python-socketio client still receives the good run complete."""
from conftest import check_lifecycle, http_get, metric_by_label, metric_sum, unique
from zmq_flood import flood


def test_malformed_flood_is_counted_and_good_traffic_arrives(bridge, client_factory, sim):
    good, sentinel = unique("py-good"), unique("py-sentinel")
    c = client_factory(bridge)
    c.subscribe(good)
    watcher = client_factory(bridge)
    watcher.subscribe(sentinel)
    p = sim(bridge, good, episodes=200, rate=400, trainer="py-good")
    c.wait_count(1)
    summary = flood(bridge.zmq, 20, sentinel)
    assert p.wait(30) == 0, p.describe()

    events = c.wait_count(202)
    assert len(events) == 202
    check_lifecycle(events, good, 200, trainer="py-good")
    # the sentinel went after every bad message on the same connection
    [(event, _)] = watcher.wait_count(1)
    assert event == "training_started"

    m = bridge.metrics()
    assert metric_sum(m, "trainbridge_ingest_rejected_total") == summary["bad"]
    counted = metric_by_label(m, "trainbridge_ingest_rejected_total", "reason")
    wrong = {r: (counted.get(r, 0), n) for r, n in summary["by_reason"].items()
             if counted.get(r, 0) != n}
    assert wrong == {}, f"reason: (counted, sent) {wrong}"
    assert metric_sum(m, "trainbridge_ingest_messages_total") >= 202 + 1
    assert http_get(bridge.port, "/healthz")[0] == 200
