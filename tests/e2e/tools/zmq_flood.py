#!/usr/bin/env python3
"""Hostile ZeroMQ publisher for the end-to-end tests.

Connects an XPUB socket to the bridge's SUB endpoint, waits for the bridge's
subscription (no slow-joiner sleep), sends every kind of malformed message
(garbage bytes, wrong frame counts, unknown events, wrong types, oversize
frames, ...) `--repeat` times, then one valid training_started for
`--sentinel-scenario` (so a client that receives the sentinel knows every bad
message before it was processed: one ZeroMQ connection keeps order).

Valid envelopes come from trainevents.encode (the Python twin of the C
encoder) and are then mutated, so each bad message differs from a good one
in one way. The reason the bridge should count it under is what the
reference decoder trainevents.decode_frames says (te_errc_name spelling).

Prints one JSON line: {"bad": N, "cases": {case: {"count": n, "reason": r}},
"by_reason": {reason: n}, "sentinel_scenario": ..., "sentinel_trainer": ...}.
"""
import argparse
import copy
import json
import math
import sys

import msgpack
import zmq

import trainevents

READY_TIMEOUT_S = 5.0


def templates(scenario, trainer):
    """A valid envelope (decoded dict) and its bytes per event, encoded by
    trainevents.encode exactly as the C library writes them."""
    data = {
        "training_started": {"scenario_name": scenario, "num_episodes": 3,
                             "start_time": "2024-01-15T10:30:00Z"},
        "training_progress": {"episode": 1, "total_episodes": 3, "avg_reward": 1.5,
                              "avg_duration": 2.5, "avg_cash": 3.5, "avg_invested": 4.5,
                              "stability": 0.5, "goal_adherence": 0.25, "elapsed_time": 0.125},
        "training_completed": {"scenario_name": scenario, "episodes_completed": 3,
                               "final_metrics": {"avg_reward": 1.5, "avg_duration": 2.5,
                                                 "stability": 0.5}},
        "training_stopped": {"scenario_name": scenario, "episodes_completed": 1},
        "training_error": {"message": "boom", "details": "details"},
    }
    out = {}
    for seq, (event, d) in enumerate(data.items(), start=1):
        raw = trainevents.encode(event, scenario, trainer, seq, trainevents.now_us(), d)
        out[event] = (msgpack.unpackb(raw, raw=False), raw)
    return out


class Keys:
    """The envelope's keys (proto/EVENTS.md)."""
    version, event, scenario, trainer, seq, ts, data = (
        "v", "event", "scenario", "trainer", "seq", "ts", "data")


def expected_reason(frames):
    """The te_errc name the reference decoder (trainevents) gives; None if it accepts."""
    try:
        trainevents.decode_frames(frames)
    except trainevents.ValidationError as e:
        return e.code
    return None


def pack(obj):
    return msgpack.packb(obj, use_bin_type=True)


def pack_pairs(pairs):
    """A msgpack map written pair by pair (allows duplicate keys)."""
    body = msgpack.Packer(use_bin_type=True)
    out = body.pack_map_header(len(pairs))
    for k, v in pairs:
        out += body.pack(k) + body.pack(v)
    return out


def bad_messages(tpl, scenario, trainer):
    """[(case, frames, hint)] -- every message must be rejected. hint names the
    te_errc member meant (documentation; counts use expected_reason)."""
    started_env = tpl["training_started"][0]
    progress_env, progress_raw = tpl["training_progress"]
    completed_env = tpl["training_completed"][0]
    error_env = tpl["training_error"][0]
    k = Keys
    topic = scenario.encode()

    def mutate(env, fn):
        e = copy.deepcopy(env)
        fn(e)
        return pack(e)

    def setk(key, value):
        return lambda e: e.__setitem__(key, value)

    def setd(key, value):
        return lambda e: e[k.data].__setitem__(key, value)

    def deld(key):
        return lambda e: e[k.data].pop(key)

    cases = [
        ("garbage_bytes", [topic, b"\xc1\xc1\xc1 not msgpack at all"], "TE_E_MALFORMED"),
        ("empty_payload", [topic, b""], "TE_E_MALFORMED"),
        ("truncated", [topic, progress_raw[: len(progress_raw) // 2]], "TE_E_MALFORMED"),
        ("trailing_bytes", [topic, progress_raw + b"\x00"], "TE_E_TRAILING"),
        ("oversize_70k", [topic, mutate(error_env, setd("details", "x" * 70000))], "TE_E_OVERSIZE"),
        ("one_frame", [progress_raw], None),
        ("three_frames", [topic, progress_raw, b"extra"], "TE_E_FRAMES"),
        ("envelope_is_array", [topic, pack([1, 2, 3])], "TE_E_NOT_MAP"),
        ("envelope_is_int", [topic, pack(42)], "TE_E_NOT_MAP"),
        ("data_is_string", [topic, mutate(progress_env, setk(k.data, "nope"))], None),
        ("missing_data", [topic, mutate(progress_env, lambda e: e.pop(k.data))], "TE_E_MISSING"),
        ("missing_field", [topic, mutate(progress_env, deld("avg_cash"))], "TE_E_MISSING"),
        ("extra_envelope_field", [topic, mutate(progress_env, setk("extra", 1))], "TE_E_EXTRA"),
        ("extra_data_field", [topic, mutate(progress_env, setd("bonus", 1.0))], "TE_E_EXTRA"),
        ("duplicate_key", [topic, pack_pairs(list(progress_env.items()) + [(k.seq, 7)])],
         "TE_E_DUPLICATE"),
        ("unknown_event", [topic, mutate(progress_env, setk(k.event, "training_paused"))],
         "TE_E_UNKNOWN_EVENT"),
        ("event_not_string", [topic, mutate(progress_env, setk(k.event, 3))], "TE_E_TYPE"),
        ("episode_is_string", [topic, mutate(progress_env, setd("episode", "1"))], "TE_E_TYPE"),
        ("episode_is_float", [topic, mutate(progress_env, setd("episode", 1.5))], "TE_E_TYPE"),
        ("reward_is_string", [topic, mutate(progress_env, setd("avg_reward", "1.5"))], "TE_E_TYPE"),
        ("reward_is_nil", [topic, mutate(progress_env, setd("avg_reward", None))], "TE_E_TYPE"),
        ("reward_is_bool", [topic, mutate(progress_env, setd("avg_reward", True))], "TE_E_TYPE"),
        ("scenario_name_is_int", [topic, mutate(started_env, setd("scenario_name", 5))], "TE_E_TYPE"),
        ("seq_is_string", [topic, mutate(progress_env, setk(k.seq, "2"))], "TE_E_TYPE"),
        ("final_metrics_not_map",
         [topic, mutate(completed_env, setd("final_metrics", [1.0, 2.0, 3.0]))], None),
        ("final_metrics_nested",
         [topic, mutate(completed_env, lambda e: e[k.data]["final_metrics"].__setitem__(
             "stability", {"deep": {"deeper": 1.0}}))], None),
        ("reward_nan", [topic, mutate(progress_env, setd("avg_reward", math.nan))], "TE_E_RANGE"),
        ("reward_inf", [topic, mutate(progress_env, setd("avg_reward", math.inf))], "TE_E_RANGE"),
        ("episode_negative", [topic, mutate(progress_env, setd("episode", -1))], "TE_E_RANGE"),
        ("episode_uint64_max", [topic, mutate(progress_env, setd("episode", 2**64 - 1))], "TE_E_RANGE"),
        ("seq_zero", [topic, mutate(progress_env, setk(k.seq, 0))], "TE_E_RANGE"),
        ("version_99", [topic, mutate(progress_env, setk(k.version, 99))], "TE_E_VERSION"),
        ("topic_mismatch", [b"other-topic", progress_raw], "TE_E_TOPIC"),
        ("scenario_name_mismatch",
         [topic, mutate(started_env, setd("scenario_name", "someone-else"))], "TE_E_MISMATCH"),
        ("scenario_charset",
         [b"bad name!", mutate(started_env, lambda e: (e.__setitem__(k.scenario, "bad name!"),
                                                        e[k.data].__setitem__("scenario_name", "bad name!")))],
         "TE_E_CHARSET"),
        ("trainer_too_long", [topic, mutate(progress_env, setk(k.trainer, "t" * 200))], None),
        ("message_bad_utf8", [topic, mutate(error_env, setd("message", "ok"))
                              .replace(b"\xa2ok", b"\xa2\xff\xfe")], "TE_E_UTF8"),
        ("message_too_long", [topic, mutate(error_env, setd("message", "m" * 5000))], "TE_E_TOO_LONG"),
    ]
    return cases


def wait_subscribed(sock, timeout_s):
    poller = zmq.Poller()
    poller.register(sock, zmq.POLLIN)
    if not poller.poll(int(timeout_s * 1000)):
        raise RuntimeError("the bridge did not subscribe within %.1f s" % timeout_s)
    msg = sock.recv()
    if not msg or msg[0] != 1:
        raise RuntimeError(f"unexpected XPUB message {msg!r}")


class RawPub:
    """An XPUB socket connected to the bridge that has seen its subscription:
    frames sent now are not lost to the slow joiner."""

    def __init__(self, endpoint, timeout_s=READY_TIMEOUT_S):
        self.sock = zmq.Context.instance().socket(zmq.XPUB)
        self.sock.setsockopt(zmq.LINGER, 5000)
        self.sock.setsockopt(zmq.SNDHWM, 100000)
        self.sock.connect(endpoint)
        wait_subscribed(self.sock, timeout_s)

    def send(self, frames):
        self.sock.send_multipart(frames)

    def close(self):
        self.sock.close()  # lingers until sent


def envelope(event, scenario, trainer, seq, data):
    """A msgpack envelope written as given (no coercion: ints stay ints)."""
    return pack({"v": trainevents.SCHEMA_VERSION, "event": event, "scenario": scenario,
                 "trainer": trainer, "seq": seq, "ts": trainevents.now_us(), "data": data})


def flood(endpoint, repeat, sentinel_scenario, trainer="flood-bad"):
    tpl = templates(sentinel_scenario, trainer)
    cases = bad_messages(tpl, sentinel_scenario, trainer)
    reasons = {}
    for case, frames, _ in cases:
        reasons[case] = expected_reason(frames)
        if reasons[case] is None:
            raise RuntimeError(f"case {case} is accepted by the reference decoder")
    pub = RawPub(endpoint)
    summary = {}
    bad = 0
    for _ in range(repeat):
        for case, frames, reason in cases:
            pub.send(frames)
            bad += 1
            entry = summary.setdefault(case, {"count": 0, "reason": reasons[case]})
            entry["count"] += 1
    # the sentinel: a valid event, after every bad one on the same connection
    sentinel = trainevents.encode("training_started", sentinel_scenario, trainer + "-sentinel", 1,
                                  trainevents.now_us(), {"scenario_name": sentinel_scenario,
                                                         "num_episodes": 1,
                                                         "start_time": "2024-01-15T10:30:00Z"})
    pub.send([sentinel_scenario.encode(), sentinel])
    pub.close()
    by_reason = {}
    for entry in summary.values():
        by_reason[entry["reason"]] = by_reason.get(entry["reason"], 0) + entry["count"]
    return {"bad": bad, "cases": summary, "by_reason": by_reason,
            "sentinel_scenario": sentinel_scenario, "sentinel_trainer": trainer + "-sentinel"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--sentinel-scenario", required=True)
    ap.add_argument("--trainer", default="flood-bad")
    args = ap.parse_args()
    result = flood(args.endpoint, args.repeat, args.sentinel_scenario, args.trainer)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
