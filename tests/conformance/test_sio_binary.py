"""Socket.IO v5 binary packets (spec: BINARY_EVENT 5 / BINARY_ACK 6,
`<type><n>-[<nsp>,][<id>]<json with placeholders>` + n attachments): over
WebSocket each attachment is a binary frame; over polling a `b<base64>`
packet of the payload (Engine.IO v4 polling encoding)."""
import base64

import pytest

from tb_proto import (RS, Deadline, EioPolling, compact, placeholder, reconstruct, recv_sio,
                      sio_session, split_sio)


def ph(n):
    return placeholder(n)


def test_binary_event_two_attachments_exact(port, transport):
    s = sio_session(transport, port)
    s.send('452-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]',
           bytes([1, 2, 3]), bytes([4, 5, 6]))
    head, atts = recv_sio(s)
    assert head == '452-["message-back",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]'
    assert atts == [bytes([1, 2, 3]), bytes([4, 5, 6])]


def test_binary_ack_exact(port, transport):
    s = sio_session(transport, port)
    s.send('452-789["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]',
           bytes([1, 2, 3]), bytes([4, 5, 6]))
    head, atts = recv_sio(s)
    assert head == '462-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]'
    assert atts == [bytes([1, 2, 3]), bytes([4, 5, 6])]


@pytest.mark.parametrize("args,atts", [
    (["t", ph(0), 3, None], [b"\x00\xff"]),
    ([{"a": [1, ph(0)], "b": {"c": ph(1)}}], [b"first", b"second"]),
    ([ph(1), ph(0)], [b"A", b"B"]),
    ([ph(0)], [b""]),
    ([ph(0)], [bytes(range(256)) * 400]),
    ([ph(0), ph(1), ph(2), ph(3), ph(4)], [bytes([i]) * (i + 1) for i in range(5)]),
], ids=["mixed-args", "nested", "reversed-order", "empty-attachment", "100k-attachment",
        "five-attachments"])
def test_binary_event_round_trip(port, transport, args, atts):
    s = sio_session(transport, port)
    s.send("45%d-" % len(atts) + compact(["message"] + args), *atts)
    head, got = recv_sio(s, 10)
    t, nsp, ack, data = split_sio(head)
    assert (t, nsp, ack) == (5, "/", None), head
    assert len(got) == len(atts)
    assert reconstruct(data, got) == ["message-back"] + reconstruct(args, atts)


def test_binary_event_on_custom_namespace(port, transport):
    s = sio_session(transport, port, "/custom")
    s.send("451-/custom," + compact(["message", ph(0)]), b"\x09\x08")
    head, atts = recv_sio(s)
    assert head == "451-/custom," + compact(["message-back", ph(0)])
    assert atts == [b"\x09\x08"]


def test_binary_ack_on_custom_namespace(port, transport):
    s = sio_session(transport, port, "/custom")
    s.send("451-/custom,42" + compact(["message-with-ack", "txt", ph(0)]), b"\x07")
    head, atts = recv_sio(s)
    assert head == "461-/custom,42" + compact(["txt", ph(0)])
    assert atts == [b"\x07"]


def test_plain_ack_for_binary_event_without_binary_args(port, transport):
    """message-with-ack whose arguments hold no binary: a plain ACK."""
    s = sio_session(transport, port)
    s.send('4211["message-with-ack","only-text"]')
    assert s.recv() == '4311["only-text"]'


def test_binary_then_plain_keep_order(port, transport):
    s = sio_session(transport, port)
    s.send("451-" + compact(["message", ph(0)]), b"\x01", '42["message","after"]',
           "451-" + compact(["message", ph(0)]), b"\x02")
    h1, a1 = recv_sio(s)
    h2, a2 = recv_sio(s)
    h3, a3 = recv_sio(s)
    assert (h1, a1) == ("451-" + compact(["message-back", ph(0)]), [b"\x01"])
    assert (h2, a2) == ('42["message-back","after"]', [])
    assert (h3, a3) == ("451-" + compact(["message-back", ph(0)]), [b"\x02"])


def test_attachments_split_over_several_sends(port, transport):
    """The attachments may come in later payloads / frames than the header."""
    s = sio_session(transport, port)
    s.send("452-" + compact(["message", ph(0), ph(1)]))
    s.send(b"\x0a")
    s.send(b"\x0b")
    head, atts = recv_sio(s)
    assert head == "452-" + compact(["message-back", ph(0), ph(1)])
    assert atts == [b"\x0a", b"\x0b"]


def test_binary_sessions_do_not_mix(port, transport):
    a = sio_session(transport, port)
    b = sio_session(transport, port)
    a.send("451-" + compact(["message", ph(0)]))
    b.send("451-" + compact(["message", ph(0)]), b"B")
    a.send(b"A")
    assert recv_sio(b) == ("451-" + compact(["message-back", ph(0)]), [b"B"])
    assert recv_sio(a) == ("451-" + compact(["message-back", ph(0)]), [b"A"])


def test_polling_attachments_are_base64_packets_on_the_wire(port):
    """Raw check of the polling payload: header, then b<base64> records."""
    s = EioPolling(port, "/socket.io/").open()
    s.send("40")
    dl = Deadline(3)
    while True:  # CONNECT reply and auth event
        p = s.recv(dl.left())
        if p.startswith("42"):
            break
    body = "451-" + compact(["message", ph(0)]) + RS + "b" + base64.b64encode(b"\x01\x02\x03\x04").decode()
    assert s.post_raw(body).body == b"ok"
    raw = ""
    while "bAQIDBA==" not in raw:
        r = s.get(dl.left())
        assert r.status == 200, r
        raw += r.text + RS
    records = [x for x in raw.split(RS) if x and x != "2"]
    assert records[:2] == ["451-" + compact(["message-back", ph(0)]), "bAQIDBA=="], records
