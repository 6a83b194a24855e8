"""python-socketio at its default options against the real bridge: it opens
an Engine.IO session by HTTP long-polling and upgrades it to WebSocket, then
subscribes and receives whole training runs. Also a polling-only client,
clients connecting and upgrading while a trainer publishes at 200 episodes/s,
and --connect-timeout.

python-engineio 4.3 (the client under python-socketio 5.7) upgrades inside
connect(), right after the polling handshake and before the Socket.IO CONNECT
is sent, so no Socket.IO packet of its own can be on the polling transport
when it upgrades: "mid-stream" for this client means upgrading while the
bridge is streaming a run to the room it then joins (the Node tests hold the
upgrade back to put it inside a client's own stream)."""
import json
import threading
import time
import urllib.error
import urllib.request

import engineio
import pytest

from conftest import check_lifecycle, check_event, unique, wait_until, wire_order

EPISODES = 400
RATE = 200  # episodes/s: a 2 s stream
RUN = EPISODES + 2


@pytest.fixture
def eio_spy(monkeypatch):
    """Every Engine.IO connection attempt of every client, in order:
    (client, "polling" | "websocket", sid before the attempt, result)."""
    calls = []
    lock = threading.Lock()
    orig = {"polling": engineio.Client._connect_polling,
            "websocket": engineio.Client._connect_websocket}

    def spy(kind):
        def attempt(self, *a, **kw):
            entry = [self, kind, self.sid, None]
            with lock:
                calls.append(entry)  # before the call: the upgrade happens inside the polling one
            entry[3] = orig[kind](self, *a, **kw)
            return entry[3]
        return attempt

    polling, websocket = spy("polling"), spy("websocket")
    monkeypatch.setattr(engineio.Client, "_connect_polling", polling)
    monkeypatch.setattr(engineio.Client, "_connect_websocket", websocket)
    return calls


def attempts(spy, client):
    return [(kind, sid, r) for c, kind, sid, r in spy if c is client.sio.eio]


def assert_polled_then_upgraded(spy, client):
    eio = client.sio.eio
    got = attempts(spy, client)
    assert [k for k, _, _ in got] == ["polling", "websocket"], got
    assert got[0][1] is None, "the polling handshake came first, without a sid"
    assert got[1][1] == eio.sid and got[1][2] is True, f"the websocket upgraded the polling session: {got}"
    assert client.sio.transport() == "websocket"
    assert eio.current_transport == "websocket"


def check_suffix(events, scenario, episodes, trainer):
    """A client that joined mid-run: a contiguous tail of the run, ending
    with training_completed; nothing lost, duplicated or reordered."""
    assert events, f"{scenario}: no events at all"
    events = wire_order(events)
    names = [e for e, _ in events]
    body = names[1:-1] if names[0] == "training_started" else names[:-1]
    assert names[-1] == "training_completed", names[-5:]
    assert all(n == "training_progress" for n in body), names
    for e, a in events:
        check_event(e, a, scenario)
    metas = [a[1] for _, a in events]
    assert all(m["trainer"] == trainer for m in metas)
    seqs = [m["seq"] for m in metas]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), f"seq not contiguous: {seqs}"
    eps = [a[0]["episode"] for e, a in events if e == "training_progress"]
    if eps:
        assert eps == list(range(eps[0], eps[0] + len(eps))), f"episodes: {eps}"
        assert eps[-1] == episodes
    assert events[-1][1][0]["episodes_completed"] == episodes


def test_default_client_polls_upgrades_and_receives_a_whole_run(bridge, client_factory, sim, eio_spy):
    s = unique("py-default")
    c = client_factory(bridge, transports=None)
    assert_polled_then_upgraded(eio_spy, c)
    c.subscribe(s)
    p = sim(bridge, s, episodes=EPISODES, rate=RATE, trainer="py-upgrader")
    assert p.wait(30) == 0, p.describe()
    events = c.wait_count(RUN)
    time.sleep(0.1)  # nothing more may come
    assert len(c.snapshot()) == RUN
    check_lifecycle(events, s, EPISODES, trainer="py-upgrader")
    assert set(c.transports) == {"websocket"}
    assert c.sio.connected and not c.disconnected.is_set()


def test_polling_only_client_receives_a_whole_run_and_never_upgrades(bridge, client_factory, run_sim, eio_spy):
    s = unique("py-poll")
    c = client_factory(bridge, transports=["polling"])
    assert [k for k, _, _ in attempts(eio_spy, c)] == ["polling"]
    assert c.sio.transport() == "polling"
    c.subscribe(s)
    run_sim(bridge, s, episodes=200, rate=RATE, trainer="py-poller")
    events = c.wait_count(202)
    time.sleep(0.1)
    assert len(c.snapshot()) == 202
    check_lifecycle(events, s, 200, trainer="py-poller")
    assert set(c.transports) == {"polling"}
    assert [k for k, _, _ in attempts(eio_spy, c)] == ["polling"], "a polling-only client tried to upgrade"
    assert c.sio.transport() == "polling"


def test_polling_only_client_receives_a_burst(bridge, client_factory, run_sim):
    """A trainer publishing without pause (trainsim --rate 0) queues many
    events for a polling client between two GETs. python-engineio 4.3 refuses
    a polling payload of more than Payload.max_decode_packets = 16 packets
    ("Unexpected packet from server, aborting" -> disconnect), so the bridge
    must answer a GET with at most 16 packets and leave the rest for the
    next one (the JS client takes any number; 16 suits both)."""
    s = unique("py-burst")
    c = client_factory(bridge, transports=["polling"])
    c.subscribe(s)
    run_sim(bridge, s, episodes=100, rate=0, trainer="py-burster")
    wait_until(lambda: len(c.events) >= 102 or c.disconnected.is_set(), 10,
               "102 events (or the client's disconnect)")
    assert not c.disconnected.is_set(), (
        f"the polling client dropped the session after {len(c.events)} of 102 events "
        "(python-engineio: a polling response of more than 16 packets)")
    events = c.wait_count(102)
    check_lifecycle(events, s, 100, trainer="py-burster")
    assert set(c.transports) == {"polling"}
    assert c.sio.connected


def test_clients_polling_and_upgrading_while_a_run_streams(bridge, client_factory, sim, eio_spy):
    """Default and polling-only clients subscribed before the run get all
    of it; default clients that connect (polling handshake, upgrade) while
    the trainer publishes at 200 Hz get an exact tail of it."""
    s = unique("py-stream")
    early = [client_factory(bridge, transports=None) for _ in range(3)]
    early += [client_factory(bridge, transports=["polling"]) for _ in range(2)]
    for c in early:
        c.subscribe(s)
    p = sim(bridge, s, episodes=EPISODES, rate=RATE, trainer="py-streamer")
    wait_until(lambda: len(early[0].events) >= 20, 15, "the run to be streaming")

    late, errors = [], []
    lock = threading.Lock()

    def join():
        try:
            c = client_factory(bridge, transports=None)
            c.subscribe(s)
            with lock:
                late.append(c)
        except Exception as e:  # reported below
            with lock:
                errors.append(repr(e))

    threads = [threading.Thread(target=join) for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(15)
    assert not any(th.is_alive() for th in threads), "a late client did not connect within 15 s"
    assert not errors, errors
    joined_at = len(early[0].events)
    assert joined_at < RUN, "the run was over before the late clients subscribed"

    assert p.wait(30) == 0, p.describe()

    def state():
        return "\n".join(
            f"{kind} {i}: {len(c.events)} events, transport {c.sio.eio.current_transport}, "
            f"connected {c.sio.connected}, disconnected {c.disconnected.is_set()}, "
            f"eio state {c.sio.eio.state}"
            for kind, group in (("early", early), ("late", late)) for i, c in enumerate(group)
        ) + "\n" + bridge.proc.stderr_tail(3000)

    wait_until(lambda: all(len(c.events) >= RUN for c in early), 15,
               f"every early client to receive {RUN} events", state)
    wait_until(lambda: all(c.snapshot() and c.snapshot()[-1][0] == "training_completed" for c in late),
               15, "every late client to receive training_completed", state)
    time.sleep(0.1)
    for i, c in enumerate(early):
        events = c.snapshot()
        assert len(events) == RUN, f"early client {i}: {len(events)} events"
        check_lifecycle(events, s, EPISODES, trainer="py-streamer")
        assert set(c.transports) == ({"websocket"} if i < 3 else {"polling"}), f"early client {i}"
    for i, c in enumerate(late):
        assert_polled_then_upgraded(eio_spy, c)
        check_suffix(c.snapshot(), s, EPISODES, "py-streamer")
        assert set(c.transports) == {"websocket"}
        first_seq = wire_order(c.snapshot())[0][1][1]["seq"]
        assert first_seq > wire_order(early[0].snapshot())[0][1][1]["seq"], f"late client {i} got the start"


def test_connect_timeout_closes_a_silent_polling_session_not_clients(bridge_factory, client_factory, run_sim):
    b = bridge_factory("--connect-timeout", "300")
    t0 = time.monotonic()
    default = client_factory(b, transports=None)
    polling = client_factory(b, transports=["polling"])
    # a raw polling session that never sends "40"
    base = f"http://127.0.0.1:{b.port}/socket.io/?EIO=4&transport=polling"
    with urllib.request.urlopen(base, timeout=3) as r:
        body = r.read().decode()
    assert body.startswith("0{"), body
    sid = json.loads(body[1:])["sid"]
    start = time.monotonic()
    with urllib.request.urlopen(f"{base}&sid={sid}", timeout=5) as r:
        pending = r.read().decode()
    took = time.monotonic() - start
    assert pending == "1", f"the pending GET of a silent session: {pending!r}"
    assert 0.2 <= took <= 2.0, f"closed {took:.3f} s after the handshake"
    try:
        with urllib.request.urlopen(f"{base}&sid={sid}", timeout=3) as r:
            status, text = r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        status, text = e.code, e.read().decode()
    assert status == 400 or (status == 200 and text == "1"), (status, text)
    # the two clients outlive the timeout and still work
    left = 1.0 - (time.monotonic() - t0)
    if left > 0:
        time.sleep(left)
    assert default.sio.connected and polling.sio.connected
    assert not default.disconnected.is_set() and not polling.disconnected.is_set()
    s = unique("py-ct")
    default.subscribe(s)
    polling.subscribe(s)
    run_sim(b, s, episodes=3)
    check_lifecycle(default.wait_count(5), s, 3)
    check_lifecycle(polling.wait_count(5), s, 3)
    assert set(polling.transports) == {"polling"} and set(default.transports) == {"websocket"}
