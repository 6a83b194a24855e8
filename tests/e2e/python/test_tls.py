"""TLS on the dashboard port with python-socketio: a CA and a server
certificate for 127.0.0.1 are made with the openssl CLI; a client whose
requests.Session trusts that CA connects (polling, then the upgrade to
wss) and receives a run; one that trusts another CA does not connect."""
import os
import ssl
import subprocess
import urllib.request

import pytest
import requests
import socketio

from conftest import Proc, READY_RE, binary, check_lifecycle, unique, wait_until


def openssl(args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture
def pki(tmp_path):
    d = str(tmp_path)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    openssl(["req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
             "-subj", "/CN=trainbridge test CA"], d)
    openssl(["req", "-x509", *ec, "-keyout", "other.key", "-out", "other.pem", "-days", "2",
             "-subj", "/CN=another CA"], d)
    openssl(["req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1"], d)
    with open(os.path.join(d, "ext.cnf"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    openssl(["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "ext.cnf"], d)
    return {k: os.path.join(d, f) for k, f in
            (("cert", "server.pem"), ("key", "server.key"), ("ca", "ca.pem"), ("other", "other.pem"))}


@pytest.fixture
def tls_bridge(procs, pki):
    argv = [binary("trainbridge"), "--listen", "127.0.0.1:0", "--zmq-bind", "tcp://127.0.0.1:*",
            "--tls-cert", pki["cert"], "--tls-key", pki["key"]]
    proc = Proc("trainbridge", argv, stdout=subprocess.PIPE)
    procs.append(proc)
    line = proc.popen.stdout.readline().decode().rstrip("\n")
    m = READY_RE.match(line)
    assert m and line.endswith(" tls on"), f"ready line {line!r}\n{proc.describe()}"
    port = int(m.group(1))
    ctx = ssl.create_default_context(cafile=pki["ca"])

    def healthy():
        try:
            with urllib.request.urlopen(f"https://127.0.0.1:{port}/healthz", context=ctx,
                                        timeout=1) as r:
                return r.status == 200
        except OSError:
            return False

    wait_until(healthy, 5.0, "GET https /healthz -> 200", proc.describe)
    zmq = next(e for e in m.group(2).split(",") if e.startswith("tcp://"))
    return {"url": f"https://127.0.0.1:{port}", "zmq": zmq, "proc": proc}


def session_trusting(ca):
    """A requests.Session that trusts exactly ca (trust_env off: a
    REQUESTS_CA_BUNDLE in the environment would replace it)."""
    s = requests.Session()
    s.trust_env = False
    s.verify = ca
    return s


def test_python_socketio_over_tls_with_the_ca(tls_bridge, pki, procs):
    name = unique("py-tls")
    client = socketio.Client(reconnection=False, http_session=session_trusting(pki["ca"]))
    events = []
    client.on("*", lambda event, *args: events.append((event, args)))
    client.connect(tls_bridge["url"], wait_timeout=5)
    try:
        ack = client.call("subscribe_training", {"scenario_name": name}, timeout=5)
        assert (ack["ok"], ack["scenario_name"]) == (True, name), ack
        sim = Proc("trainsim", [binary("trainsim"), "--endpoint", tls_bridge["zmq"], "--scenario",
                                name, "--trainer", "py-tls", "--episodes", "8", "--rate", "50",
                                "--quiet"])
        procs.append(sim)
        assert sim.wait(30) == 0, sim.describe()
        wait_until(lambda: len(events) >= 10, 15.0, "10 events over TLS")
        check_lifecycle(events, name, 8, trainer="py-tls")
        assert client.transport() == "websocket"
    finally:
        client.disconnect()


def test_python_socketio_with_another_ca_fails(tls_bridge, pki):
    client = socketio.Client(reconnection=False, http_session=session_trusting(pki["other"]))
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect(tls_bridge["url"], wait_timeout=5)
    client.disconnect()
