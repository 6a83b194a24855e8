"""encode/decode/validation of trainevents.py, without sockets or binaries."""

import datetime
import re
import fractions
import math

import msgpack
import pytest

import trainevents as te
from cases import ACCEPTED, BAD, DATA, SCENARIO, TRAINER, envelope
from helpers import raw_map

GOOD_DATA = {
    "training_started": {"scenario_name": SCENARIO, "num_episodes": 10,
                         "start_time": "2024-05-01T12:00:00.123456Z"},
    "training_progress": {"episode": 3, "total_episodes": 10, "avg_reward": 150.5,
                          "avg_duration": 0.1, "avg_cash": 1e300, "avg_invested": -0.0,
                          "stability": 1 / 3, "goal_adherence": 1.0, "elapsed_time": 150.0},
    "training_completed": {"scenario_name": SCENARIO, "episodes_completed": 10,
                           "final_metrics": {"avg_reward": 150.5, "avg_duration": 88.25,
                                             "stability": 0.97}},
    "training_stopped": {"scenario_name": SCENARIO, "episodes_completed": 4},
    "training_error": {"message": "CUDA out of memory",
                       "details": "line 1\nline 2 \"quoted\" é ✓"},
    "heartbeat": {"scenario_name": SCENARIO, "episode": 3, "interval_ms": 5000},
}


@pytest.mark.parametrize("event", sorted(te.EVENTS))
def test_round_trip_keeps_every_value(event):
    payload = te.encode(event, SCENARIO, TRAINER, 42, 1714564800123456, GOOD_DATA[event])
    env = te.decode(SCENARIO.encode(), payload)
    assert env == {"v": te.MIN_VERSION[event], "event": event, "scenario": SCENARIO, "trainer": TRAINER,
                   "seq": 42, "ts": 1714564800123456, "data": GOOD_DATA[event]}


@pytest.mark.parametrize("event", sorted(te.EVENTS))
def test_encoding_is_canonical(event):
    """Envelope keys, then data keys in schema order, floats as float64: the
    bytes te_event_encode writes (tests/unit checks the C side)."""
    payload = te.encode(event, SCENARIO, TRAINER, 7, 1714564800123456,
                        dict(reversed(list(GOOD_DATA[event].items()))))
    assert payload == bytes(envelope(event, DATA[event]))


@pytest.mark.parametrize("name,topic,payload,code,field", BAD, ids=[c[0] for c in BAD])
def test_decode_rejects(name, topic, payload, code, field):
    with pytest.raises(te.ValidationError) as info:
        te.decode(topic.encode(), bytes(payload))
    assert (info.value.code, info.value.field) == (code, field), str(info.value)


@pytest.mark.parametrize("name,payload", ACCEPTED, ids=[c[0] for c in ACCEPTED])
def test_decode_accepts(name, payload):
    env = te.decode(SCENARIO.encode(), bytes(payload))
    assert env["scenario"] == SCENARIO


def test_ints_in_float_fields_decode_as_floats():
    env = te.decode(SCENARIO.encode(), bytes(ACCEPTED[0][1]))
    assert env["data"]["avg_reward"] == 150.0
    assert isinstance(env["data"]["avg_reward"], float)


def test_missing_topic_is_a_topic_mismatch():
    with pytest.raises(te.ValidationError) as info:
        te.decode(None, bytes(envelope()))
    assert info.value.code == "topic_mismatch"


@pytest.mark.parametrize("n", [0, 1, 3])
def test_decode_frames_wants_two(n):
    with pytest.raises(te.ValidationError) as info:
        te.decode_frames([SCENARIO.encode()] * n)
    assert info.value.code == "bad_frames"


def test_decode_frames_accepts_a_good_message():
    assert te.decode_frames([SCENARIO.encode(), bytes(envelope())])["seq"] == 7


def encode_started(**overrides):
    data = dict(GOOD_DATA["training_started"])
    meta = {"scenario": SCENARIO, "trainer": TRAINER, "seq": 1, "ts": 5}
    meta.update({k: overrides.pop(k) for k in list(overrides) if k in meta})
    data.update(overrides)
    return te.encode("training_started", meta["scenario"], meta["trainer"], meta["seq"],
                     meta["ts"], data)


@pytest.mark.parametrize("overrides,code,field", [
    ({"scenario": "a b", "scenario_name": "a b"}, "bad_charset", "scenario"),
    ({"trainer": "x" * 65}, "too_long", "trainer"),
    ({"seq": 0}, "out_of_range", "seq"),
    ({"seq": 2**64}, "out_of_range", ""),
    ({"ts": -5}, "out_of_range", "ts"),
    ({"num_episodes": -1}, "out_of_range", "data.num_episodes"),
    ({"num_episodes": 2.0}, "wrong_type", "data.num_episodes"),
    ({"num_episodes": True}, "wrong_type", "data.num_episodes"),
    ({"start_time": "soon"}, "bad_charset", "data.start_time"),
    ({"scenario_name": "beta"}, "scenario_mismatch", "data.scenario_name"),
    ({"surplus": 1}, "extra_field", "data.surplus"),
    ({"start_time": "\udcff"}, "bad_utf8", ""),
    ({"start_time": object()}, "wrong_type", ""),
])
def test_encode_validates_like_the_c_encoder(overrides, code, field):
    with pytest.raises(te.ValidationError) as info:
        encode_started(**overrides)
    assert (info.value.code, info.value.field) == (code, field), str(info.value)


def test_encode_rejects_unknown_event_and_non_dict_data():
    with pytest.raises(te.ValidationError) as info:
        te.encode("training_paused", SCENARIO, TRAINER, 1, 1, {})
    assert info.value.code == "unknown_event"
    with pytest.raises(te.ValidationError) as info:
        te.encode("training_stopped", SCENARIO, TRAINER, 1, 1, [1])
    assert info.value.code == "not_a_map"


def test_encode_rejects_missing_and_non_finite_metrics():
    data = dict(GOOD_DATA["training_progress"])
    del data["elapsed_time"]
    with pytest.raises(te.ValidationError) as info:
        te.encode("training_progress", SCENARIO, TRAINER, 1, 1, data)
    assert (info.value.code, info.value.field) == ("missing_field", "data.elapsed_time")
    data["elapsed_time"] = math.inf
    with pytest.raises(te.ValidationError) as info:
        te.encode("training_progress", SCENARIO, TRAINER, 1, 1, data)
    assert (info.value.code, info.value.field) == ("out_of_range", "data.elapsed_time")


def test_encode_converts_number_like_values():
    data = dict(GOOD_DATA["training_progress"], avg_reward=fractions.Fraction(1, 4),
                avg_duration=7)
    env = te.decode(SCENARIO.encode(),
                    te.encode("training_progress", SCENARIO, TRAINER, 1, 1, data))
    assert env["data"]["avg_reward"] == 0.25 and env["data"]["avg_duration"] == 7.0


def test_encode_refuses_frames_over_64_kib():
    # Each text is at most 4096 bytes, so an event stays small; check the
    # decoder-side limit directly through a padded payload instead.
    payload = te.encode("training_stopped", SCENARIO, TRAINER, 1, 1,
                        GOOD_DATA["training_stopped"])
    with pytest.raises(te.ValidationError) as info:
        te.decode(SCENARIO.encode(), payload + b"\x00" * te.MAX_FRAME_BYTES)
    assert info.value.code == "oversize"


@pytest.mark.parametrize("name,ok", [
    ("alpha", True), ("a.b_c:d-e", True), ("A" * 64, True), ("", False), (".x", False),
    ("A" * 65, False), ("a b", False), ("ä", False), ("a/b", False), ("x.", True)])
def test_name_valid(name, ok):
    assert te.name_valid(name) is ok


def test_utc_now_iso_is_a_valid_start_time():
    before = datetime.datetime.now(datetime.timezone.utc)
    text = te.utc_now_iso()
    after = datetime.datetime.now(datetime.timezone.utc)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", text), text
    stamp = datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc)
    assert before <= stamp <= after
    envelope = msgpack.unpackb(encode_started(start_time=text))
    assert envelope["data"]["start_time"] == text


def test_msgpack_of_the_python_library_reads_our_payloads():
    """Any msgpack reader sees the documented envelope."""
    payload = te.encode("training_stopped", SCENARIO, TRAINER, 3, 9,
                        GOOD_DATA["training_stopped"])
    assert msgpack.unpackb(payload) == {"v": 1, "event": "training_stopped",
                                        "scenario": SCENARIO, "trainer": TRAINER, "seq": 3,
                                        "ts": 9, "data": GOOD_DATA["training_stopped"]}
    assert raw_map([("a", 1)]) == msgpack.packb({"a": 1})
