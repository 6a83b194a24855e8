"""CURVE for trainers (--zmq-curve-secret, --zmq-curve-clients): a trainer
whose certificate is allowed publishes a run that a python-socketio client
receives; a plaintext trainer, a trainer with an unknown key and one that
has the wrong server key deliver nothing, and the refused handshakes are
counted. Certificates are made with pyzmq's zmq.auth (czmq's file format)."""
import pytest
import zmq.auth

from conftest import unique, wait_until
from trainevents import Publisher


@pytest.fixture
def certs(tmp_path):
    clients = tmp_path / "clients"
    clients.mkdir()
    paths = {}
    for name in ("bridge", "trainer", "stranger"):
        public, secret = zmq.auth.create_certificates(str(tmp_path), name)
        paths[name] = (public, secret)
    (clients / "trainer.key").write_bytes(open(paths["trainer"][0], "rb").read())
    return paths, str(clients)


def publish_run(bridge, scenario, trainer, **curve):
    pub = Publisher([bridge.zmq], trainer=trainer, ready_timeout=2.0, **curve)
    try:
        pub.training_started(scenario, num_episodes=1)
        pub.training_completed(scenario, episodes_completed=1,
                               final_metrics={"avg_reward": 1.0, "avg_duration": 2.0,
                                              "stability": 0.5})
        return pub.is_ready
    finally:
        pub.close()


def test_curve_lets_only_allowed_trainers_publish(bridge_factory, client_factory, certs):
    paths, clients = certs
    bridge = bridge_factory("--zmq-curve-secret", paths["bridge"][1],
                            "--zmq-curve-clients", clients)
    watcher = client_factory(bridge)
    watcher.subscribe("*")
    bad = {
        "plain": {},
        "unknown-key": {"server_key": paths["bridge"][0], "client_cert": paths["stranger"][1]},
        "wrong-server-key": {"server_key": paths["stranger"][0],
                             "client_cert": paths["trainer"][1]},
    }
    for kind, curve in bad.items():
        assert publish_run(bridge, unique(f"curve-{kind}"), f"t-{kind}", **curve) is False, kind
    server_key_z85 = open(paths["bridge"][0]).read().split('public-key = "')[1][:40]
    good = unique("curve-ok")
    assert publish_run(bridge, good, "t-ok", server_key=server_key_z85,
                       client_cert=paths["trainer"][1]) is True
    events = watcher.wait_count(2)
    assert [(e, a[1]["scenario_name"]) for e, a in events] == \
        [("training_started", good), ("training_completed", good)]
    wait_until(lambda: bridge.metrics().get("trainbridge_zmq_auth_failures_total", 0) >= 3,
               5.0, "3 refused handshakes counted")
    assert bridge.metrics()["trainbridge_ingest_messages_total"] == 2


def test_curve_flags_refuse_unusable_files(procs, tmp_path):
    from conftest import Proc, binary
    p = Proc("trainbridge", [binary("trainbridge"), "--listen", "127.0.0.1:0",
                             "--zmq-bind", "tcp://127.0.0.1:*",
                             "--zmq-curve-secret", str(tmp_path / "nope"),
                             "--zmq-curve-clients", str(tmp_path)])
    procs.append(p)
    assert p.wait(10) != 0
    assert "--zmq-curve-secret" in p.describe()
