"""trainevents.Publisher against Python ZeroMQ sockets on 127.0.0.1."""

import logging
import os
import socket
import threading
import time

import pytest
import zmq

import trainevents as te
from helpers import WAIT_S, SubThread

N_FRESH_PUBLISHERS = 50

METRICS = {"avg_reward": 150.5, "avg_duration": 88.25, "avg_cash": 10000.0,
           "avg_invested": 2500.0, "stability": 0.9, "goal_adherence": 0.8,
           "elapsed_time": 12.5}


def dead_endpoint():
    """A 127.0.0.1 TCP endpoint nobody listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"tcp://127.0.0.1:{s.getsockname()[1]}"


def test_first_event_of_a_fresh_publisher_arrives_50_times():
    with SubThread() as sub:
        for i in range(N_FRESH_PUBLISHERS):
            with te.Publisher(sub.endpoint, heartbeat_interval=None,
                              trainer=f"fresh-{i}") as pub:
                pub.training_started("alpha", num_episodes=3)
                assert pub.is_ready
                env = te.decode_frames(sub.get())
                assert (env["trainer"], env["seq"], env["event"]) == (
                    f"fresh-{i}", 1, "training_started")


def test_seq_counts_up_and_envelope_is_stamped():
    with SubThread() as sub, \
            te.Publisher(sub.endpoint, heartbeat_interval=None, trainer="counter") as pub:
        before = te.now_us()
        seqs = [pub.training_stopped("beta", episodes_completed=i) for i in range(3)]
        assert seqs == [1, 2, 3] and pub.seq == 3
        for want in (1, 2, 3):
            env = te.decode_frames(sub.get())
            assert env["seq"] == want and env["trainer"] == "counter"
            assert before <= env["ts"] <= te.now_us()


def test_no_subscriber_warns_and_still_sends(caplog):
    with te.Publisher(dead_endpoint(), heartbeat_interval=None, trainer="lonely",
                      ready_timeout=0.2) as pub:
        start = time.monotonic()
        with caplog.at_level(logging.WARNING, logger="trainevents"):
            assert pub.training_started("gamma", 1) == 1
        assert 0.15 <= time.monotonic() - start < 3.0
        assert not pub.is_ready
        assert "no subscriber" in caplog.text
        start = time.monotonic()
        assert pub.training_started("gamma", 1) == 2  # later sends do not wait
        assert time.monotonic() - start < 0.15


@pytest.mark.parametrize("timeout", [None, 0, -1])
def test_no_ready_timeout_never_waits(timeout):
    with te.Publisher(dead_endpoint(), trainer="hasty", ready_timeout=timeout) as pub:
        start = time.monotonic()
        pub.training_started("delta", 1)
        assert time.monotonic() - start < 0.15


def test_binding_publisher_reaches_a_connecting_subscriber(tmp_path):
    endpoint = f"ipc://{tmp_path}/pub.ipc"
    with te.Publisher("@" + endpoint, heartbeat_interval=None, trainer="binder") as pub:
        with SubThread(connect=endpoint) as sub:
            pub.training_started("eps", 2)
            assert te.decode_frames(sub.get())["trainer"] == "binder"


class Proxy:
    """An XSUB/XPUB forwarder on 127.0.0.1 in its own thread, as a ZeroMQ
    proxy in front of several bridges would be."""

    def __init__(self):
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        assert self._ready.wait(WAIT_S)
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(WAIT_S)

    def _run(self):
        ctx = zmq.Context.instance()
        front, back = ctx.socket(zmq.XSUB), ctx.socket(zmq.XPUB)
        try:
            self.front = f"tcp://127.0.0.1:{front.bind_to_random_port('tcp://127.0.0.1')}"
            self.back = f"tcp://127.0.0.1:{back.bind_to_random_port('tcp://127.0.0.1')}"
            self._ready.set()
            poller = zmq.Poller()
            poller.register(front, zmq.POLLIN)
            poller.register(back, zmq.POLLIN)
            while not self._stop.is_set():
                for sock, _ in poller.poll(20):
                    other = back if sock is front else front
                    other.send_multipart(sock.recv_multipart())
        finally:
            front.close(linger=0)
            back.close(linger=0)


def test_works_through_an_xsub_xpub_proxy():
    with Proxy() as proxy, SubThread(connect=proxy.back) as sub:
        with te.Publisher(proxy.front, heartbeat_interval=None, trainer="proxied") as pub:
            pub.training_started("zeta", 2)
            assert pub.is_ready
            assert te.decode_frames(sub.get())["trainer"] == "proxied"


def test_two_connect_endpoints_wait_for_two_subscribers():
    with SubThread() as a, SubThread() as b:
        with te.Publisher([a.endpoint, b.endpoint], heartbeat_interval=None,
                          trainer="twice") as pub:
            pub.training_started("eta", 1)
            assert pub.subscriptions >= 2
            assert te.decode_frames(a.get())["seq"] == 1
            assert te.decode_frames(b.get())["seq"] == 1


def test_comma_separated_endpoints_are_split():
    with SubThread() as a, SubThread() as b:
        with te.Publisher(f"{a.endpoint},>{b.endpoint}", heartbeat_interval=None,
                          trainer="commas") as pub:
            assert pub.endpoints == [a.endpoint, ">" + b.endpoint]
            assert pub.wait_ready(WAIT_S)


def test_progress_callback_converts_numbers():
    class NumpyLikeInt:
        def __init__(self, v):
            self.v = v

        def __int__(self):
            return self.v

    class NumpyLikeFloat(NumpyLikeInt):
        def __float__(self):
            return float(self.v)

    with SubThread() as sub, te.Publisher(sub.endpoint, heartbeat_interval=None, trainer="cb") as pub:
        report = pub.progress_callback("theta", total_episodes=NumpyLikeInt(2))
        metrics = {k: NumpyLikeFloat(v) for k, v in METRICS.items()}
        assert report(NumpyLikeInt(1), metrics) == 1
        env = te.decode_frames(sub.get())
        assert env["data"] == {"episode": 1, "total_episodes": 2, **METRICS}


def test_training_completed_defaults_to_the_last_progress():
    with SubThread() as sub, te.Publisher(sub.endpoint, heartbeat_interval=None, trainer="last") as pub:
        pub.training_progress("iota", 1, 1, **METRICS)
        pub.training_completed("iota", episodes_completed=1)
        sub.get()
        env = te.decode_frames(sub.get())
        assert env["data"]["final_metrics"] == {
            "avg_reward": 150.5, "avg_duration": 88.25, "stability": 0.9}


def test_training_completed_without_metrics_is_refused():
    with te.Publisher(dead_endpoint(), trainer="none", ready_timeout=None) as pub:
        with pytest.raises(te.ValidationError) as info:
            pub.training_completed("kappa", 1)
        assert info.value.code == "missing_field"
        assert pub.seq == 0


def test_invalid_event_is_refused_without_waiting_or_using_a_seq():
    with te.Publisher(dead_endpoint(), trainer="strict", ready_timeout=5.0) as pub:
        start = time.monotonic()
        with pytest.raises(te.ValidationError) as info:
            pub.training_stopped("lambda", episodes_completed=-1)
        assert info.value.code == "out_of_range"
        assert time.monotonic() - start < 1.0 and pub.seq == 0


@pytest.mark.parametrize("trainer,code", [
    ("", "bad_charset"), (".x", "bad_charset"), ("a b", "bad_charset"),
    ("x" * 65, "too_long")])
def test_bad_trainer_is_refused(trainer, code):
    with pytest.raises(te.ValidationError) as info:
        te.Publisher("tcp://127.0.0.1:1", heartbeat_interval=None, trainer=trainer)
    assert (info.value.code, info.value.field) == (code, "trainer")


def test_bad_endpoint_is_refused():
    with pytest.raises(zmq.ZMQError):
        te.Publisher("bogus://nowhere", heartbeat_interval=None, trainer="t")
    with pytest.raises(ValueError):
        te.Publisher([], heartbeat_interval=None, trainer="t")


def test_default_trainer_is_host_and_pid():
    with te.Publisher("tcp://127.0.0.1:1", ready_timeout=None) as pub:
        assert te.name_valid(pub.trainer)
        assert pub.trainer.endswith(f"-{os.getpid()}")


def test_close_is_idempotent():
    pub = te.Publisher("tcp://127.0.0.1:1", heartbeat_interval=None, trainer="t")
    pub.close()
    assert pub._sock.closed
    pub.close(linger=0)  # a second close is a no-op, not an error
    assert pub._sock.closed
    with pytest.raises(zmq.ZMQError):  # and nothing can be sent any more
        pub.training_started("alpha", 10)


# ------------------------------------------------------------------ heartbeats

BEAT_S = 0.2


def drain(sub, quiet_s=0.3, max_s=5.0):
    """What sub receives until none came for quiet_s (or max_s have passed)."""
    out = []
    deadline = time.monotonic() + max_s
    while time.monotonic() < deadline and (msg := sub.get_or_none(quiet_s)) is not None:
        out.append(te.decode_frames(msg))
    return out


def test_heartbeats_while_the_training_loop_sleeps_in_one_long_call():
    with SubThread() as sub, \
            te.Publisher(sub.endpoint, trainer="sleeper", heartbeat_interval=BEAT_S) as pub:
        pub.training_started("alpha", num_episodes=3)
        pub.training_progress("alpha", 1, 3, **METRICS)
        time.sleep(10 * BEAT_S)  # one long episode: the caller sends nothing
        envs = drain(sub, BEAT_S / 2, max_s=1.0)
        assert [e["event"] for e in envs[:3]] == [
            "training_started", "heartbeat", "training_progress"]
        # events are numbered 1, 2, ...; a heartbeat repeats the latest event's seq
        assert [e["seq"] for e in envs] == [1, 1] + [2] * (len(envs) - 2)
        first = envs[1]
        assert first["v"] == 2 and first["data"] == {
            "scenario_name": "alpha", "episode": 0, "interval_ms": 200}
        beats = [e for e in envs[3:] if e["event"] == "heartbeat"]
        assert len(beats) >= 2, f"{len(beats)} heartbeats while the loop slept 10 intervals"
        assert all(b["data"]["episode"] == 1 for b in beats)
        gaps = [b["ts"] - a["ts"] for a, b in zip(beats, beats[1:])]
        assert all(g >= (BEAT_S - 0.02) * 1e6 for g in gaps), gaps  # never early
        pub.training_completed("alpha", 3)
        n_before = pub.heartbeats
        tail = drain(sub, 4 * BEAT_S)
        assert tail and tail[-1]["event"] == "training_completed", "nothing after the end"
        assert pub.heartbeats == n_before


def test_no_heartbeat_after_close():
    with SubThread() as sub:
        pub = te.Publisher(sub.endpoint, trainer="closer", heartbeat_interval=0.1)
        pub.training_started("alpha", num_episodes=3)
        time.sleep(0.3)
        pub.close()
        assert not pub._beater.is_alive()
        before = drain(sub, 0.3)
        assert [e["event"] for e in before][:2] == ["training_started", "heartbeat"]
        assert drain(sub, 0.5) == [], "a heartbeat after close"


def test_heartbeats_off_and_bad_intervals():
    with SubThread() as sub, \
            te.Publisher(sub.endpoint, trainer="quiet", heartbeat_interval=None) as pub:
        pub.training_started("alpha", num_episodes=3)
        assert [e["event"] for e in drain(sub, 0.4)] == ["training_started"]
        assert pub._beater is None
    for bad in (0.05, 3601, -1):
        with pytest.raises(te.ValidationError) as info:
            te.Publisher("tcp://127.0.0.1:1", heartbeat_interval=bad)
        assert info.value.code == "out_of_range"
    assert te.Publisher("tcp://127.0.0.1:1").heartbeat_interval_ms == 5000
    with pytest.raises(te.ValidationError):
        te.Publisher("tcp://127.0.0.1:1").send("heartbeat", "alpha", {})


def test_publisher_is_safe_to_call_from_several_threads():
    """The lock makes sequence numbers unique across the caller's threads and
    the heartbeat thread."""
    with SubThread() as sub, \
            te.Publisher(sub.endpoint, trainer="busy", heartbeat_interval=0.1) as pub:
        pub.training_started("alpha", num_episodes=1000)

        def loop(offset):
            for i in range(200):
                pub.training_progress("alpha", offset + i, 1000, **METRICS)

        threads = [threading.Thread(target=loop, args=(k * 200,)) for k in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        pub.training_stopped("alpha", 600)
        envs = drain(sub)
        events = [e for e in envs if e["event"] != "heartbeat"]
        assert sorted(e["seq"] for e in events) == list(range(1, pub.seq + 1))
        assert pub.seq == 602
        assert sum(e["event"] == "training_progress" for e in envs) == 600
