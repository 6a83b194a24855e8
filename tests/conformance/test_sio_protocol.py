"""Socket.IO v5 over both Engine.IO transports (spec: Exchange protocol /
Connection to a namespace, Sending and receiving data, Acknowledgement,
Disconnection from a namespace; Packet encoding), against the fixture on
/socket.io/: namespaces / and /custom, `auth` emitted on CONNECT,
`message` -> `message-back`, `message-with-ack` -> ACK with the arguments."""
import json

import pytest

from tb_proto import (Deadline, ProtoTimeout, SessionGone, WSClosed, compact, sio_connect,
                      sio_open, sio_session, split_sio)

INVALID_NS = '{"message":"Invalid namespace"}'


def assert_works(sess, nsp="/", tag="still-works"):
    prefix = "" if nsp == "/" else nsp + ","
    sess.send('42%s["message","%s"]' % (prefix, tag))
    assert sess.recv(3.0) == '42%s["message-back","%s"]' % (prefix, tag)


def assert_closed(sess, timeout=3.0):
    seen = sess.expect_closed(timeout)
    bad = [p for p in seen if p not in ("1", "6") and not (isinstance(p, str) and p.startswith("44"))]
    assert not bad, "packets before the close: %r" % bad


# ------------------------------------------------------------------ connect


def test_connect_main_namespace(port, transport):
    s = sio_open(transport, port)
    s.send("40")
    reply = s.recv()
    assert reply.startswith("40{"), reply
    data = json.loads(reply[2:])
    assert set(data) == {"sid"} and isinstance(data["sid"], str) and data["sid"]
    assert s.recv() == '42["auth",{}]'


def test_connect_main_namespace_with_auth(port, transport):
    s = sio_open(transport, port)
    s.send('40{"token":"123"}')
    reply = s.recv()
    assert reply.startswith("40{") and set(json.loads(reply[2:])) == {"sid"}, reply
    assert s.recv() == '42["auth",{"token":"123"}]'


def test_connect_auth_payload_any_json_object(port, transport):
    s = sio_open(transport, port)
    auth = {"a": [1, 2.5, None, True], "b": {"c": "\u00e9\u20ac"}, "d": ""}
    sio_connect(s, "/", auth)


def test_connect_custom_namespace(port, transport):
    s = sio_open(transport, port)
    s.send("40/custom,")
    reply = s.recv()
    assert reply.startswith("40/custom,{"), reply
    assert set(json.loads(reply[len("40/custom,"):])) == {"sid"}
    assert s.recv() == '42/custom,["auth",{}]'


def test_connect_custom_namespace_without_trailing_comma(port, transport):
    s = sio_open(transport, port)
    s.send("40/custom")
    reply = s.recv()
    assert reply.startswith("40/custom,{"), reply
    assert s.recv() == '42/custom,["auth",{}]'


def test_connect_custom_namespace_with_auth(port, transport):
    s = sio_open(transport, port)
    s.send('40/custom,{"token":"abc"}')
    reply = s.recv()
    assert reply.startswith("40/custom,{") and set(json.loads(reply[10:])) == {"sid"}, reply
    assert s.recv() == '42/custom,["auth",{"token":"abc"}]'


def test_connect_both_namespaces_on_one_session(port, transport):
    s = sio_open(transport, port)
    sid_main = sio_connect(s, "/")
    sid_custom = sio_connect(s, "/custom")
    assert sid_main != sid_custom
    assert_works(s, "/", "to-main")
    assert_works(s, "/custom", "to-custom")


def test_socket_io_sids_differ_per_connection(port, transport):
    sids = {sio_connect(sio_open(transport, port)) for _ in range(5)}
    assert len(sids) == 5


@pytest.mark.parametrize("packet,nsp", [("40/random,", "/random"), ("40/random", "/random"),
                                        ('40/random,{"token":"x"}', "/random"),
                                        ("40/custom/sub,", "/custom/sub")])
def test_unknown_namespace_is_refused(port, transport, packet, nsp):
    s = sio_open(transport, port)
    s.send(packet)
    assert s.recv() == "44%s,%s" % (nsp, INVALID_NS)
    # The Engine.IO session stays: the main namespace can still be joined.
    sio_connect(s, "/")
    assert_works(s)


def test_unknown_namespace_after_main(port, transport):
    s = sio_session(transport, port)
    s.send("40/nope,")
    assert s.recv() == "44/nope," + INVALID_NS
    assert_works(s)


def test_invalid_handshake_closes(port, transport):
    s = sio_open(transport, port)
    s.send("4abc")
    assert_closed(s)


def test_event_before_connect_closes(port, transport):
    s = sio_open(transport, port)
    s.send('42["message","too-early"]')
    assert_closed(s)


# ------------------------------------------------------------------- events


def test_event_round_trip_exact(port, transport):
    s = sio_session(transport, port)
    s.send('42["message",1,"2",{"3":[true]}]')
    assert s.recv() == '42["message-back",1,"2",{"3":[true]}]'


def test_event_without_arguments(port, transport):
    s = sio_session(transport, port)
    s.send('42["message"]')
    assert s.recv() == '42["message-back"]'


@pytest.mark.parametrize("args", [
    [None, False, 0, -1.5, 1e300, "", "\u00e9\u20ac\U0001F600", [], {}],
    [{"nested": {"deep": [[[1]]]}, "quote": "a\"b\\c", "ctrl": "\n\t\u0001"}],
    ["x" * 100000],
], ids=["scalars", "nested-and-escapes", "long-string"])
def test_event_arguments_round_trip(port, transport, args):
    s = sio_session(transport, port)
    s.send("42" + compact(["message"] + args))
    t, nsp, ack, data = split_sio(s.recv())
    assert (t, nsp, ack) == (2, "/", None)
    assert data == ["message-back"] + args


def test_event_on_custom_namespace(port, transport):
    s = sio_session(transport, port, "/custom")
    s.send('42/custom,["message","hi",{"n":1}]')
    assert s.recv() == '42/custom,["message-back","hi",{"n":1}]'


def test_unknown_event_is_ignored(port, transport):
    s = sio_session(transport, port)
    s.send('42["other-event",1]')
    s.send('42["message","next"]')
    assert s.recv() == '42["message-back","next"]'


def test_several_events_keep_order(port, transport):
    s = sio_session(transport, port)
    s.send(*['42["message",%d]' % i for i in range(30)])
    dl = Deadline(5)
    got = [s.recv(dl.left()) for _ in range(30)]
    assert got == ['42["message-back",%d]' % i for i in range(30)]


# --------------------------------------------------------------------- acks


def test_ack_with_arguments(port, transport):
    s = sio_session(transport, port)
    s.send('42456["message-with-ack",1,"2",{"3":[false]}]')
    assert s.recv() == '43456[1,"2",{"3":[false]}]'


def test_ack_without_arguments_is_empty_array(port, transport):
    s = sio_session(transport, port)
    s.send('427["message-with-ack"]')
    assert s.recv() == "437[]"


def test_ack_id_zero(port, transport):
    s = sio_session(transport, port)
    s.send('420["message-with-ack","z"]')
    assert s.recv() == '430["z"]'


def test_ack_large_id(port, transport):
    s = sio_session(transport, port)
    s.send('422147483647["message-with-ack","big"]')
    assert s.recv() == '432147483647["big"]'


def test_ack_on_custom_namespace(port, transport):
    s = sio_session(transport, port, "/custom")
    s.send('42/custom,13["message-with-ack","bar"]')
    assert s.recv() == '43/custom,13["bar"]'


def test_many_acks_match_their_ids(port, transport):
    s = sio_session(transport, port)
    s.send(*['42%d["message-with-ack",%d]' % (i * 7, i) for i in range(20)])
    dl = Deadline(5)
    got = [s.recv(dl.left()) for _ in range(20)]
    assert got == ['43%d[%d]' % (i * 7, i) for i in range(20)]


def test_message_with_id_is_answered_without_ack(port, transport):
    """An ack id on an event the server does not acknowledge asks nothing of
    the wire format: the event is still delivered."""
    s = sio_session(transport, port)
    s.send('425["message","with-id"]')
    assert s.recv() == '42["message-back","with-id"]'


def test_ack_from_client_for_unknown_id_is_ignored(port, transport):
    s = sio_session(transport, port)
    s.send('4399["stray"]')
    assert_works(s)


# --------------------------------------------------------------- disconnect


def test_disconnect_main_keeps_engine_io_session(port, transport):
    s = sio_session(transport, port)
    s.send("41")
    # Nothing answers a DISCONNECT; the session lives on (pings answered by
    # the pump) and the namespace can be joined again.
    with pytest.raises(ProtoTimeout):
        s.recv(0.7)
    sio_connect(s, "/")
    assert_works(s)


def test_event_after_disconnect_closes(port, transport):
    s = sio_session(transport, port)
    s.send("41")
    s.send('42["message","after-disconnect"]')
    assert_closed(s)


@pytest.mark.parametrize("packet", ["41/custom,", "41/custom"])
def test_disconnect_custom_keeps_main(port, transport, packet):
    s = sio_session(transport, port)
    sio_connect(s, "/custom")
    s.send(packet)
    s.send('42["message","message to main namespace"]')
    assert s.recv() == '42["message-back","message to main namespace"]'


def test_event_on_custom_after_its_disconnect_closes(port, transport):
    s = sio_session(transport, port)
    sio_connect(s, "/custom")
    s.send("41/custom,")
    s.send('42/custom,["message","x"]')
    assert_closed(s)


def test_event_for_namespace_never_connected_closes(port, transport):
    other = sio_session(transport, port)
    s = sio_session(transport, port)
    s.send('42/custom,["message","not-connected"]')
    assert_closed(s)
    assert_works(other)


def test_disconnect_one_session_leaves_others(port, transport):
    a = sio_session(transport, port)
    b = sio_session(transport, port)
    a.send("41")
    assert_works(b)


# ---------------------------------------------------------- malformed input

MALFORMED = [
    ("type-letter", ["4abc"]),
    ("type-7", ['47["message"]']),
    ("type-9", ["49"]),
    ("empty-socket-io-packet", ["4"]),
    ("json-truncated", ['42["message",']),
    ("json-not-json", ["42[message]"]),
    ("json-trailing-garbage", ['42["message"]x']),
    ("payload-object", ['42{"a":1}']),
    ("payload-string", ['42"message"']),
    ("payload-empty-array", ["42[]"]),
    ("payload-missing", ["42"]),
    ("ns-no-slash", ['42custom,["message","x"]']),
    ("ns-no-comma", ['42/custom["message","x"]']),
    ("ns-not-connected", ['42/nope,["message","x"]']),
    ("ack-id-letters", ['42abc["message-with-ack",1]']),
    ("ack-id-negative", ['42-1["message-with-ack",1]']),
    ("ack-id-huge", ["42" + "9" * 30 + '["message-with-ack",1]']),
    ("ack-payload-object", ['431{"a":1}']),
    ("ack-payload-missing", ["431"]),
    ("connect-payload-string", ['40/custom,"str"']),
    ("connect-payload-array", ["40/custom,[1]"]),
    ("connect-error-from-client", ['44{"message":"nope"}']),
    ("binary-count-letters", ['45a-["message",{"_placeholder":true,"num":0}]', b"\x01"]),
    ("binary-count-no-dash", ['451["message",{"_placeholder":true,"num":0}]', b"\x01"]),
    ("binary-placeholder-out-of-range",
     ['451-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]', b"\x01"]),
    ("binary-placeholder-num-string", ['451-["message",{"_placeholder":true,"num":"0"}]', b"\x01"]),
    ("binary-placeholder-num-negative", ['451-["message",{"_placeholder":true,"num":-1}]', b"\x01"]),
    ("binary-frame-without-packet", [b"\x01\x02\x03"]),
    ("text-where-attachment-expected",
     ['452-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]', b"\x01",
      '42["message","x"]']),
    ("binary-ack-payload-object", ['461-5{"a":{"_placeholder":true,"num":0}}', b"\x01"]),
]


@pytest.mark.parametrize("packets", [m[1] for m in MALFORMED], ids=[m[0] for m in MALFORMED])
def test_malformed_closes_only_that_session(port, transport, packets):
    other = sio_session(transport, port)
    s = sio_session(transport, port)
    if any(isinstance(p, str) and p.startswith("4") and "/custom" in p and not p.startswith("40")
           for p in packets):
        sio_connect(s, "/custom")  # the namespace exists: only the syntax is wrong
    try:
        for p in packets:
            s.send(p)
    except (SessionGone, WSClosed, OSError):
        pass  # already refused or closed
    assert_closed(s)
    assert_works(other)


def test_oversize_message_closes_only_that_session(port, transport):
    other = sio_session(transport, port)
    s = sio_session(transport, port)
    big = '42["message","' + "o" * 1000000 + '"]'
    try:
        s.send(big)
    except (SessionGone, WSClosed, OSError):
        pass  # HTTP 413 over polling, or the upload cut short
    assert_closed(s, 5.0)
    assert_works(other)


# ------------------------------------------------------- connect timeout


@pytest.mark.server_args("--connect-timeout", "400")
def test_session_without_connect_is_closed(port, transport):
    """Spec: "If the server does not receive a CONNECT packet first, then it
    MUST close the connection" - after --connect-timeout here."""
    s = sio_open(transport, port)
    assert_closed(s, 0.4 + 2.0)


@pytest.mark.server_args("--connect-timeout", "400")
def test_connected_session_outlives_connect_timeout(port, transport):
    s = sio_session(transport, port)
    with pytest.raises(ProtoTimeout):
        s.recv(0.9)
    assert_works(s)


# ------------------------------------------------------------- many at once


def test_many_concurrent_sessions(port):
    sessions = [sio_session(t, port) for t in ("polling", "websocket") * 15]
    for i, s in enumerate(sessions):
        s.send('42%d["message-with-ack","s%d"]' % (i, i), '42["message","e%d"]' % i)
    for i, s in enumerate(sessions):
        got = {s.recv(5.0), s.recv(5.0)}
        assert got == {'43%d["s%d"]' % (i, i), '42["message-back","e%d"]' % i}


# ------------------------------------------------------------ hostile input
# Beyond the spec's letter: whatever the server decides for these (close the
# session, or answer), it must stay up and keep serving the others.

HOSTILE = [
    ("deep-json", '42["message",' + "[" * 100000 + "]" * 100000 + "]"),
    ("deep-json-objects", '42["message",' + '{"a":' * 50000 + "1" + "}" * 50000 + "]"),
    ("huge-attachment-count", '45' + "9" * 12 + '-["message",{"_placeholder":true,"num":0}]'),
    ("long-namespace", "40/" + "n" * 5000 + ","),
    ("non-ascii-namespace", "40/\u00f1\u20ac,"),
    ("nul-in-namespace", "40/a\u0000b,"),
    ("huge-number", '42["message",1' + "0" * 5000 + "]"),
    ("many-args", '42["message"' + ",1" * 100000 + "]"),
]


@pytest.mark.parametrize("packet", [h[1] for h in HOSTILE], ids=[h[0] for h in HOSTILE])
def test_hostile_packet_leaves_server_serving(port, transport, packet):
    other = sio_session(transport, port)
    s = sio_session(transport, port)
    try:
        s.send(packet)
        s.send('42["message","probe"]')
        # Either the session was closed, or it answered the probe (possibly
        # after answering the hostile packet).
        dl = Deadline(5.0)
        while True:
            p = s.recv(dl.left())
            if p == '42["message-back","probe"]':
                break
    except (SessionGone, WSClosed, OSError):
        pass
    assert_works(other)
