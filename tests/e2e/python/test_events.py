"""The five events as a python-socketio client sees them: names, exact
fields, Python types (150.0 is a float, 100 an int) and values, published
through trainevents.Publisher."""
import threading

from conftest import check_event, unique, wait_until, wire_order
from zmq_flood import RawPub, envelope

PROGRESS = dict(avg_reward=150.0, avg_duration=45.5, avg_cash=10000.0, avg_invested=0.1,
                stability=0.85, goal_adherence=1.0, elapsed_time=12.5)


def test_training_started(bridge, client_factory, publisher):
    s = unique("py-started")
    c = client_factory(bridge)
    c.subscribe(s)
    publisher(bridge).training_started(s, 100, start_time="2024-01-15T10:30:00")
    [(event, args)] = c.wait_count(1)
    assert event == "training_started"
    check_event(event, args, s)
    assert args[0] == {"scenario_name": s, "num_episodes": 100, "start_time": "2024-01-15T10:30:00"}


def test_training_progress_has_nine_typed_fields(bridge, client_factory, publisher):
    s = unique("py-progress")
    c = client_factory(bridge)
    c.subscribe(s)
    publisher(bridge).training_progress(s, 7, 100, **PROGRESS)
    [(event, args)] = c.wait_count(1)
    check_event(event, args, s)
    payload = args[0]
    assert len(payload) == 9
    assert payload == {"episode": 7, "total_episodes": 100, **PROGRESS}
    assert type(payload["episode"]) is int and type(payload["total_episodes"]) is int
    for k in PROGRESS:
        assert type(payload[k]) is float, f"{k} is {type(payload[k]).__name__}"


def test_integer_values_in_float_fields_arrive_as_floats(bridge, client_factory):
    s = unique("py-intfloat")
    c = client_factory(bridge)
    c.subscribe(s)
    # the msgpack envelope may carry integers in float fields (EVENTS.md);
    # the JSON must still say 150.0, so Python sees a float
    pub = RawPub(bridge.zmq)
    data = {"episode": 1, "total_episodes": 2, "avg_reward": 150, "avg_duration": 0,
            "avg_cash": -3, "avg_invested": 1, "stability": 1, "goal_adherence": 0,
            "elapsed_time": 2}
    try:
        pub.send([s.encode(), envelope("training_progress", s, "int-floats", 1, data)])
    finally:
        pub.close()
    [(event, args)] = c.wait_count(1)
    check_event(event, args, s)
    assert args[0] == data
    assert type(args[0]["avg_reward"]) is float and type(args[0]["avg_cash"]) is float


def test_training_completed_with_final_metrics(bridge, client_factory, publisher):
    s = unique("py-completed")
    c = client_factory(bridge)
    c.subscribe(s)
    fm = {"avg_reward": 150.5, "avg_duration": 40.0, "stability": 0.9}
    publisher(bridge).training_completed(s, 100, final_metrics=fm)
    [(event, args)] = c.wait_count(1)
    check_event(event, args, s)
    assert args[0] == {"scenario_name": s, "episodes_completed": 100, "final_metrics": fm}
    assert all(type(v) is float for v in args[0]["final_metrics"].values())


def test_training_stopped(bridge, client_factory, publisher):
    s = unique("py-stopped")
    c = client_factory(bridge)
    c.subscribe(s)
    publisher(bridge).training_stopped(s, 42)
    [(event, args)] = c.wait_count(1)
    check_event(event, args, s)
    assert args[0] == {"scenario_name": s, "episodes_completed": 42}


def test_training_error_text_round_trips(bridge, client_factory, publisher):
    s = unique("py-error")
    c = client_factory(bridge)
    c.subscribe(s)
    message = 'CUDA out of memory: "quoted", back\\slash, tab\t, é ✓ 日本 😀'
    details = "Traceback (most recent call last):\n  File \"train.py\", line 42\n\x01"
    publisher(bridge).training_error(s, message, details)
    [(event, args)] = c.wait_count(1)
    check_event(event, args, s)
    assert args[0] == {"message": message, "details": details}


def test_five_sequential_progress_updates_in_order(bridge, client_factory, publisher):
    s = unique("py-seq")
    c = client_factory(bridge)
    c.subscribe(s)
    pub = publisher(bridge, trainer="seq-trainer")
    sent = []
    for i in range(1, 6):
        m = dict(avg_reward=100 + i * 10.25, avg_duration=50 - i * 0.5, avg_cash=1000.0 * i,
                 avg_invested=0.1 * i, stability=0.5 + i / 20, goal_adherence=i / 8,
                 elapsed_time=i * 1.5)
        pub.training_progress(s, i, 5, **m)
        sent.append({"episode": i, "total_episodes": 5, **m})
    events = wire_order(c.wait_count(5))
    assert [a[0] for _, a in events] == sent
    seqs = [a[1]["seq"] for _, a in events]
    assert seqs == list(range(seqs[0], seqs[0] + 5))
    assert all(a[1]["trainer"] == "seq-trainer" for _, a in events)


def test_named_handler_gets_payload_and_meta(bridge, client_factory, publisher):
    s = unique("py-handler")
    c = client_factory(bridge)
    got = []
    done = threading.Event()

    def on_started(payload, meta):
        got.append((payload, meta))
        done.set()

    c.sio.on("training_started", on_started)
    c.subscribe(s)
    publisher(bridge, trainer="handler-trainer").training_started(s, 3)
    wait_until(done.is_set, 10, "the training_started handler")
    payload, meta = got[0]
    assert payload["scenario_name"] == s and payload["num_episodes"] == 3
    assert meta["trainer"] == "handler-trainer" and meta["scenario_name"] == s
