"""trainevents.Publisher with CURVE (server_key, client_cert) against a
pyzmq CURVE-server SUB; certificates from zmq.auth (czmq's file format)."""
import threading

import pytest
import zmq
import zmq.auth
from zmq.auth.thread import ThreadAuthenticator

import trainevents as te


@pytest.fixture
def curve_sub(tmp_path):
    ctx = zmq.Context.instance()
    auth = ThreadAuthenticator(ctx)
    auth.start()
    auth.configure_curve(domain="*", location=zmq.auth.CURVE_ALLOW_ANY)
    server_pub, server_secret = zmq.auth.create_certificates(str(tmp_path), "bridge")
    client_pub, client_secret = zmq.auth.create_certificates(str(tmp_path), "trainer")
    public, secret = zmq.auth.load_certificate(server_secret)
    sub = ctx.socket(zmq.SUB)
    sub.curve_secretkey = secret
    sub.curve_publickey = public
    sub.curve_server = True
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    sub.rcvtimeo = 3000
    port = sub.bind_to_random_port("tcp://127.0.0.1")
    received = []
    stop = threading.Event()

    def pump():  # a SUB answers new peers only while someone calls into it
        while not stop.is_set():
            try:
                received.append(sub.recv_multipart())
            except zmq.Again:
                pass

    t = threading.Thread(target=pump, daemon=True)
    t.start()
    yield {"endpoint": f"tcp://127.0.0.1:{port}", "server_pub": server_pub,
           "server_z85": public.decode(), "client_secret": client_secret, "received": received}
    stop.set()
    t.join(5)
    sub.close(linger=0)
    auth.stop()


@pytest.mark.parametrize("key_kind", ["z85", "file"])
def test_curve_publisher_reaches_a_curve_server(curve_sub, key_kind):
    key = curve_sub["server_z85"] if key_kind == "z85" else curve_sub["server_pub"]
    with te.Publisher(curve_sub["endpoint"], trainer="py-curve", ready_timeout=3.0,
                      server_key=key, client_cert=curve_sub["client_secret"]) as pub:
        pub.training_started("alpha", num_episodes=1)
        assert pub.is_ready
    for _ in range(30):
        if curve_sub["received"]:
            break
        threading.Event().wait(0.1)
    assert curve_sub["received"][0][0] == b"alpha"


def test_plaintext_publisher_is_not_heard(curve_sub):
    with te.Publisher(curve_sub["endpoint"], trainer="py-plain", ready_timeout=0.5) as pub:
        pub.training_started("alpha", num_episodes=1)
        assert not pub.is_ready
    threading.Event().wait(0.5)
    assert curve_sub["received"] == []


def test_curve_needs_both_options(curve_sub):
    with pytest.raises(ValueError):
        te.Publisher(curve_sub["endpoint"], server_key=curve_sub["server_z85"])
    with pytest.raises(ValueError):
        te.Publisher(curve_sub["endpoint"], client_cert=curve_sub["client_secret"])
