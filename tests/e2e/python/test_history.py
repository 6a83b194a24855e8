"""Run history as a python-socketio client sees it: a client that
subscribes mid-run gets training_started, the curve (increasing episodes,
ending with the exact latest) marked meta["replay"], then live progress from
latest+1 with no gap or duplicate; double subscribe replays once; the
compact and latest forms."""
from conftest import check_event, metric_sum, unique, wait_until, wire_order

META_REPLAY_FIELDS = {"scenario_name", "trainer", "seq", "ts", "replay"}


def progress_episodes(events):
    return [a[0]["episode"] for e, a in events if e == "training_progress"]


def test_join_mid_run_default_transports(bridge, client_factory, sim):
    s = unique("py-late")
    watcher = client_factory(bridge)
    watcher.subscribe(s)
    p = sim(bridge, s, episodes=3000, rate=1000, trainer="py-tr")
    watcher.wait_count(1501, timeout=20)
    late = client_factory(bridge, transports=None)  # polling, then the upgrade
    ack = late.subscribe(s)
    assert ack["runs"] == 1 and ack["replayed"] == len(late.replayed)
    assert p.wait(30) == 0, p.describe()
    watcher.wait_count(3002, timeout=20)
    wait_until(lambda: any(e == "training_completed" for e, _ in late.snapshot()), 20,
               "the late client's training_completed")
    replay = wire_order(late.replayed)  # handlers run in threads: the wire's order
    assert replay[0][0] == "training_started"
    for event, args in replay:
        assert set(args[1]) == META_REPLAY_FIELDS and args[1]["replay"] is True
        check_event(event, (args[0], {k: v for k, v in args[1].items() if k != "replay"}), s)
    live_by_episode = {a[0]["episode"]: a for e, a in watcher.events if e == "training_progress"}
    points = progress_episodes(replay)
    assert 1 <= len(points) <= 500 and points[0] == 1
    assert all(b > a for a, b in zip(points, points[1:]))
    for e, a in replay[1:]:
        assert a[0] == live_by_episode[a[0]["episode"]][0], "a replayed point is the real event"
    latest = points[-1]
    assert latest >= 1500
    live_events = wire_order(late.events)
    live = progress_episodes(live_events)
    assert live == list(range(latest + 1, 3001)), "live continues at latest+1, no gap, no dup"
    assert live_events[-1][0] == "training_completed"


def test_double_subscribe_replays_once_and_compact(bridge, client_factory, run_sim):
    s = unique("py-twice")
    run_sim(bridge, s, episodes=50, trainer="py-tw")
    wait_until(lambda: metric_sum(bridge.metrics(), "trainbridge_ingest_messages_total") >= 52, 10,
               "52 events ingested")
    c = client_factory(bridge)
    assert c.subscribe(s)["replayed"] == 52
    assert c.subscribe(s) == {"ok": True, "scenario_name": s, "runs": 0, "replayed": 0}
    assert len(c.replayed) == 52 and c.events == []
    assert progress_episodes(c.replayed) == list(range(1, 51))

    compact = client_factory(bridge)
    assert compact.subscribe(s, history="compact")["replayed"] == 1
    [(event, (h, meta))] = compact.replayed
    assert event == "training_history"
    assert meta == {"scenario_name": s, "trainer": "py-tw", "replay": True}
    assert h["state"] == "completed"
    assert [row[0] for row in h["points"]] == list(range(1, 51))
    assert h["columns"][:3] == ["episode", "total_episodes", "avg_reward"]
    assert h["latest"]["episode"] == 50 and h["terminal"]["episodes_completed"] == 50

    latest = client_factory(bridge)
    assert latest.subscribe(s, history="latest")["replayed"] == 3
    assert [e for e, _ in latest.replayed] == ["training_started", "training_progress",
                                               "training_completed"]

    bad = client_factory(bridge)
    ack = bad.sio.call("subscribe_training", {"scenario_name": s, "history": "everything"},
                       timeout=5)
    assert ack["ok"] is False and "history" in ack["error"]
    assert bad.all == []


def test_star_with_three_trainers_mid_run(bridge, client_factory, sim):
    names = [unique("py-star-a"), unique("py-star-b"), unique("py-star-c")]
    watcher = client_factory(bridge)
    watcher.subscribe("*")
    procs = [sim(bridge, s, episodes=2000, rate=1000, trainer=f"py-t{i}")
             for i, s in enumerate(names)]
    watcher.wait_count(3 * 700, timeout=20)
    late = client_factory(bridge, transports=None)
    ack = late.subscribe("*")
    assert ack["runs"] >= 3 and ack["replayed"] == len(late.replayed)  # >=: stray publishers
    for p in procs:
        assert p.wait(30) == 0, p.describe()
    wait_until(lambda: sum(e == "training_completed" for e, _ in late.snapshot()) == 3, 20,
               "three training_completed")
    for s in names:  # python-engineio runs handlers in threads: check the wire's order
        replay = wire_order([(e, a) for e, a in late.replayed if a[1]["scenario_name"] == s])
        live = wire_order([(e, a) for e, a in late.events if a[1]["scenario_name"] == s])
        assert replay[0][0] == "training_started"
        points = progress_episodes(replay)
        assert points[0] == 1 and all(b > a for a, b in zip(points, points[1:]))
        assert progress_episodes(live) == list(range(points[-1] + 1, 2001)), s
        assert live[-1][0] == "training_completed"


def test_after_the_end_and_history_none(bridge, client_factory, run_sim):
    s = unique("py-ended")
    watcher = client_factory(bridge)
    watcher.subscribe(s)
    run_sim(bridge, s, episodes=100, trainer="py-end")
    watcher.wait_count(102)
    late = client_factory(bridge, transports=None)
    assert late.subscribe(s) == {"ok": True, "scenario_name": s, "runs": 1, "replayed": 102}
    assert [a[0] for _, a in late.replayed] == [a[0] for _, a in watcher.events]
    assert [{k: v for k, v in a[1].items() if k != "replay"} for _, a in late.replayed] == \
        [a[1] for _, a in watcher.events]
    none = client_factory(bridge)
    assert none.subscribe(s, history="none") == {"ok": True, "scenario_name": s, "runs": 0,
                                                 "replayed": 0}
    assert none.all == []
