"""Tokens on CONNECT with python-socketio's connect(auth=...): a valid token
connects and its scenarios claim decides subscriptions (a forbidden
scenario's events never arrive); refused tokens end in connect_error with
the reason. Tokens are made with hmac/hashlib from the standard library."""
import base64
import hashlib
import hmac
import json
import threading
import time

import pytest
import socketio

from conftest import check_lifecycle, unique

SECRET = b"py-e2e-secret-0123456789abcdef0123456789abcdef"


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hs256(claims, key=SECRET, header=None):
    head = b64url(json.dumps(header or {"alg": "HS256", "typ": "JWT"}).encode())
    body = b64url(json.dumps(claims).encode())
    sig = hmac.new(key, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64url(sig)}"


@pytest.fixture
def auth_bridge(bridge_factory, tmp_path):
    secret = tmp_path / "secret"
    secret.write_bytes(SECRET + b"\n")
    return bridge_factory("--auth-jwt-secret", str(secret))


def refused_reason(bridge, auth):
    """Connects with auth; returns the connect_error data (the refusal)."""
    client = socketio.Client(reconnection=False)
    got = {}
    done = threading.Event()

    @client.event
    def connect_error(data):
        got["data"] = data
        done.set()

    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect(bridge.url, transports=["websocket"], auth=auth, wait_timeout=5)
    assert done.wait(5), "no connect_error"
    client.disconnect()
    return got["data"]


def test_valid_token_and_scenario_claims(auth_bridge, client_factory, sim, run_sim):
    beta, gamma = unique("beta-py"), unique("gamma-py")
    token = hs256({"exp": int(time.time()) + 600, "scenarios": ["alpha", "beta-*"]})
    c = client_factory(auth_bridge, auth={"token": token})
    c.subscribe(beta)
    assert c.sio.call("subscribe_training", {"scenario_name": gamma}, timeout=5) == \
        {"ok": False, "error": "forbidden"}
    assert c.sio.call("subscribe_training", {"scenario_name": "*"}, timeout=5) == \
        {"ok": False, "error": "forbidden"}
    g = sim(auth_bridge, gamma, episodes=10, rate=200, trainer="py-g")
    run_sim(auth_bridge, beta, episodes=10, rate=200, trainer="py-b")
    assert g.wait(30) == 0, g.describe()
    events = c.wait_count(12)
    assert [a[1]["scenario_name"] for _, a in events] == [beta] * 12
    check_lifecycle(events, beta, 10, trainer="py-b")


@pytest.mark.parametrize("reason,make", [
    ("missing", lambda: None),
    ("malformed", lambda: {"token": "a.b"}),
    ("signature", lambda: {"token": hs256({"scenarios": ["*"]}, key=b"x" * 40)}),
    ("algorithm", lambda: {"token": hs256({"scenarios": ["*"]}, header={"alg": "none"})}),
    ("expired", lambda: {"token": hs256({"exp": int(time.time()) - 60})}),
    ("not_yet_valid", lambda: {"token": hs256({"nbf": int(time.time()) + 60})}),
])
def test_refused_tokens(auth_bridge, reason, make):
    assert refused_reason(auth_bridge, make()) == \
        {"message": "unauthorized", "data": {"reason": reason}}
    assert auth_bridge.metrics()[f'trainbridge_auth_refused_total{{reason="{reason}"}}'] == 1
