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


def keygen(path, name):
    """trainbridge-keygen PATH NAME: czmq certificate files; returns the Z85 public key."""
    from conftest import binary
    import subprocess
    out = subprocess.run([binary("trainbridge-keygen"), path, name], check=True,
                         capture_output=True, text=True).stdout.strip()
    assert len(out) == 40, out
    return out


def test_trainsim_with_keygen_certificates(bridge_factory, client_factory, sim, tmp_path):
    clients = tmp_path / "clients"
    clients.mkdir()
    bridge_key = keygen(str(tmp_path / "bridge"), "bridge")
    keygen(str(clients / "trainer"), "trainer")
    keygen(str(tmp_path / "stranger"), "stranger")
    (clients / "trainer_secret").rename(tmp_path / "trainer_secret")  # secrets stay out of the store
    bridge = bridge_factory("--zmq-curve-secret", str(tmp_path / "bridge_secret"),
                            "--zmq-curve-clients", str(clients))
    watcher = client_factory(bridge)
    watcher.subscribe("*")
    ok, stranger = unique("ts-curve-ok"), unique("ts-curve-stranger")
    runs = [
        (stranger, ["--server-key", bridge_key, "--client-cert", str(tmp_path / "stranger_secret")]),
        (ok, ["--server-key", str(tmp_path / "bridge"), "--client-cert", str(tmp_path / "trainer_secret")]),
    ]
    for scenario, curve in runs:
        p = sim(bridge, scenario, episodes=3, rate=0, trainer="ts-" + scenario[:20], extra=curve)
        p.wait(30)
    events = watcher.wait_count(5)
    assert {a[1]["scenario_name"] for _, a in events} == {ok}
    assert [e for e, _ in events] == ["training_started"] + ["training_progress"] * 3 + \
        ["training_completed"]


def test_proxy_frontend_with_curve(procs, bridge_factory, client_factory, tmp_path):
    import re
    import subprocess
    from conftest import Proc, binary
    clients = tmp_path / "clients"
    clients.mkdir()
    keygen(str(tmp_path / "proxy"), "proxy")
    keygen(str(clients / "trainer"), "trainer")
    (clients / "trainer_secret").rename(tmp_path / "trainer_secret")
    proxy = Proc("trainbridge-proxy", [binary("trainbridge-proxy"), "--frontend", "tcp://127.0.0.1:*",
                                       "--backend", "tcp://127.0.0.1:*", "--health", "127.0.0.1:0",
                                       "--zmq-curve-secret", str(tmp_path / "proxy_secret"),
                                       "--zmq-curve-clients", str(clients)], stdout=subprocess.PIPE)
    procs.append(proxy)
    line = proxy.popen.stdout.readline().decode()
    m = re.match(r"trainbridge-proxy listening frontend (\S+) backend (\S+) ", line)
    assert m, f"{line!r}\n{proxy.describe()}"
    frontend, backend = m.group(1), m.group(2)
    bridge = bridge_factory("--zmq-connect", backend)
    watcher = client_factory(bridge)
    watcher.subscribe("*")
    ok, plain = unique("px-curve-ok"), unique("px-plain")
    for scenario, curve in ((plain, []), (ok, ["--server-key", str(tmp_path / "proxy"),
                                               "--client-cert", str(tmp_path / "trainer_secret")])):
        p = Proc("trainsim", [binary("trainsim"), "--endpoint", frontend, "--scenario", scenario,
                              "--episodes", "2", "--rate", "0", "--ready-timeout-ms", "3000",
                              "--quiet", *curve])
        procs.append(p)
        p.wait(30)
    events = watcher.wait_count(4)
    assert {a[1]["scenario_name"] for _, a in events} == {ok}
