"""Payload cases shared by the Python-only and the cross-language tests: each
bad case names the code and field that both decoders must report."""

import struct

from helpers import Raw, raw_map, raw_str

SCENARIO = "alpha"
TRAINER = "t-1"

STARTED = [("scenario_name", SCENARIO), ("num_episodes", 10),
           ("start_time", "2024-05-01T12:00:00.123456Z")]
PROGRESS = [("episode", 3), ("total_episodes", 10), ("avg_reward", 150.5),
            ("avg_duration", 0.1), ("avg_cash", 1e300), ("avg_invested", -0.0),
            ("stability", 1 / 3), ("goal_adherence", 1.0), ("elapsed_time", 150.0)]
METRICS = [("avg_reward", 150.5), ("avg_duration", 88.25), ("stability", 0.97)]
COMPLETED = [("scenario_name", SCENARIO), ("episodes_completed", 10),
             ("final_metrics", raw_map(METRICS))]
STOPPED = [("scenario_name", SCENARIO), ("episodes_completed", 4)]
ERROR = [("message", "CUDA out of memory"), ("details", "line 1\nline 2 \"quoted\" é ✓")]
HEARTBEAT = [("scenario_name", SCENARIO), ("episode", 3), ("interval_ms", 5000)]

DATA = {"training_started": STARTED, "training_progress": PROGRESS,
        "training_completed": COMPLETED, "training_stopped": STOPPED,
        "training_error": ERROR, "heartbeat": HEARTBEAT}


def envelope(event="training_started", data=None, replace=None, drop=(), extra=()):
    """An envelope's (key, value) pairs, with some replaced, dropped or added."""
    pairs = [("v", 2 if event == "heartbeat" else 1), ("event", event), ("scenario", SCENARIO), ("trainer", TRAINER),
             ("seq", 7), ("ts", 1714564800123456),
             ("data", raw_map(DATA[event] if data is None else data))]
    replace = replace or {}
    pairs = [(k, replace.get(k, v)) for k, v in pairs if k not in drop]
    return raw_map(pairs + list(extra))


def with_data(event, replace=None, drop=(), extra=()):
    """An envelope whose data map has some fields replaced, dropped or added."""
    replace = replace or {}
    data = [(k, replace.get(k, v)) for k, v in DATA[event] if k not in drop]
    return envelope(event, data + list(extra))


def f32(value):
    return Raw(b"\xca" + struct.pack(">f", value))


def nested_metrics(value):
    return with_data("training_completed",
                     {"final_metrics": raw_map(METRICS[:2] + [("stability", value)])})


GOOD = bytes(envelope())

# (name, topic, payload, code, field)
BAD = [
    ("empty", SCENARIO, b"", "malformed", ""),
    ("never_used_byte", SCENARIO, b"\xc1", "malformed", ""),
    ("truncated", SCENARIO, GOOD[:-1], "malformed", ""),
    ("huge_map_count", SCENARIO, b"\xdf\xff\xff\xff\xff", "malformed", ""),
    ("trailing", SCENARIO, GOOD + b"\x00", "trailing_bytes", ""),
    ("oversize", SCENARIO, b"\xc6" + (65532).to_bytes(4, "big") + b"x" * 65532, "oversize", ""),
    ("array_envelope", SCENARIO, bytes(Raw(b"\x92\x01\x02")), "not_a_map", ""),
    ("deep_arrays", SCENARIO, b"\x91\x91\x91\x91\x01", "too_deep", ""),
    ("map_in_final_metrics", SCENARIO, nested_metrics(raw_map([("x", 1)])), "too_deep", ""),
    ("data_not_map", SCENARIO, envelope(data=None, replace={"data": 5}), "not_a_map", "data"),
    ("final_metrics_not_map", SCENARIO, with_data("training_completed", {"final_metrics": 1}),
     "not_a_map", "data.final_metrics"),
    ("missing_ts", SCENARIO, envelope(drop=("ts",)), "missing_field", "ts"),
    ("missing_v", SCENARIO, envelope(drop=("v",)), "missing_field", "v"),
    ("missing_num_episodes", SCENARIO, with_data("training_started", drop=("num_episodes",)),
     "missing_field", "data.num_episodes"),
    ("missing_metric", SCENARIO, with_data("training_completed", {"final_metrics": raw_map(
        METRICS[:2])}), "missing_field", "data.final_metrics.stability"),
    ("extra_envelope_key", SCENARIO, envelope(extra=[("x", 1)]), "extra_field", "x"),
    ("extra_data_key", SCENARIO, with_data("training_stopped", extra=[("foo", 1)]),
     "extra_field", "data.foo"),
    ("long_extra_key", SCENARIO, with_data("training_stopped", extra=[("k" * 40, 1)]),
     "extra_field", "data." + "k" * 32),  # keys are shown cut to 32 bytes
    ("long_key_in_metrics", SCENARIO, with_data("training_completed", {
        "final_metrics": raw_map(METRICS + [("k" * 40, 1)])}),
     "extra_field", ("data.final_metrics." + "k" * 32)[:47]),  # te_error.field holds 47
    ("odd_bytes_key", SCENARIO, with_data("training_stopped", extra=[(raw_str(b"a b\xff"), 1)]),
     "extra_field", "data.a?b?"),
    ("duplicate_seq", SCENARIO, envelope(extra=[("seq", 8)]), "duplicate_field", "seq"),
    ("duplicate_episode", SCENARIO, with_data("training_progress", extra=[("episode", 4)]),
     "duplicate_field", "data.episode"),
    ("int_key", SCENARIO, envelope(extra=[(5, 1)]), "wrong_type", ""),
    ("int_key_in_data", SCENARIO, with_data("training_stopped", extra=[(5, 1)]),
     "wrong_type", "data"),
    ("seq_string", SCENARIO, envelope(replace={"seq": "7"}), "wrong_type", "seq"),
    ("float_count", SCENARIO, with_data("training_started", {"num_episodes": 10.0}),
     "wrong_type", "data.num_episodes"),
    ("string_float", SCENARIO, with_data("training_progress", {"avg_reward": "1.5"}),
     "wrong_type", "data.avg_reward"),
    ("bool_float", SCENARIO, with_data("training_progress", {"stability": True}),
     "wrong_type", "data.stability"),
    ("nil_string", SCENARIO, with_data("training_error", {"details": None}),
     "wrong_type", "data.details"),
    ("ext_float", SCENARIO, with_data("training_progress", {"avg_cash": Raw(b"\xd4\x05\x01")}),
     "wrong_type", "data.avg_cash"),
    ("bin_scenario", SCENARIO, envelope(replace={"scenario": b"alpha"}), "wrong_type",
     "scenario"),
    ("string_version", SCENARIO, envelope(replace={"v": "1"}), "wrong_type", "v"),
    ("version_3", SCENARIO, envelope(replace={"v": 3}, extra=[("x", 1)]), "bad_version", "v"),
    ("heartbeat_as_v1", SCENARIO, envelope("heartbeat", replace={"v": 1}), "unknown_event",
     "event"),
    ("heartbeat_interval_zero", SCENARIO, with_data("heartbeat", {"interval_ms": 0}),
     "out_of_range", "data.interval_ms"),
    ("heartbeat_interval_99", SCENARIO, with_data("heartbeat", {"interval_ms": 99}),
     "out_of_range", "data.interval_ms"),
    ("heartbeat_interval_over_an_hour", SCENARIO,
     with_data("heartbeat", {"interval_ms": 3600001}), "out_of_range", "data.interval_ms"),
    ("heartbeat_interval_u64", SCENARIO, with_data("heartbeat", {"interval_ms": 2**64 - 1}),
     "out_of_range", "data.interval_ms"),
    ("heartbeat_interval_float", SCENARIO, with_data("heartbeat", {"interval_ms": 5000.0}),
     "wrong_type", "data.interval_ms"),
    ("heartbeat_negative_episode", SCENARIO, with_data("heartbeat", {"episode": -1}),
     "out_of_range", "data.episode"),
    ("heartbeat_scenario_mismatch", SCENARIO, with_data("heartbeat", {"scenario_name": "beta"}),
     "scenario_mismatch", "data.scenario_name"),
    ("heartbeat_extra_field", SCENARIO, with_data("heartbeat", extra=[("num_episodes", 1)]),
     "extra_field", "data.num_episodes"),
    ("version_negative", SCENARIO, envelope(replace={"v": -1}), "bad_version", "v"),
    ("unknown_event", SCENARIO, envelope(replace={"event": "training_paused"}),
     "unknown_event", "event"),
    ("event_int", SCENARIO, envelope(replace={"event": 3}), "wrong_type", "event"),
    ("seq_zero", SCENARIO, envelope(replace={"seq": 0}), "out_of_range", "seq"),
    ("seq_2_53", SCENARIO, envelope(replace={"seq": 2**53}), "out_of_range", "seq"),
    ("seq_u64", SCENARIO, envelope(replace={"seq": 2**64 - 1}), "out_of_range", "seq"),
    ("ts_wrong_before_seq_range", SCENARIO, envelope(replace={"seq": 0, "ts": "x"}),
     "wrong_type", "ts"),
    ("ts_negative", SCENARIO, envelope(replace={"ts": -1}), "out_of_range", "ts"),
    ("negative_count", SCENARIO, with_data("training_stopped", {"episodes_completed": -1}),
     "out_of_range", "data.episodes_completed"),
    ("int_beyond_2_53_in_float", SCENARIO,
     with_data("training_progress", {"avg_reward": 2**53 + 1}), "out_of_range",
     "data.avg_reward"),
    ("nan", SCENARIO, with_data("training_progress", {"avg_reward": float("nan")}),
     "out_of_range", "data.avg_reward"),
    ("inf_float32", SCENARIO, with_data("training_progress", {"elapsed_time": f32(float("inf"))}),
     "out_of_range", "data.elapsed_time"),
    ("metric_infinite", SCENARIO, nested_metrics(float("-inf")), "out_of_range",
     "data.final_metrics.stability"),
    ("long_scenario", "s" * 65, envelope(replace={"scenario": "s" * 65}), "too_long",
     "scenario"),
    ("long_message", SCENARIO, with_data("training_error", {"message": "m" * 4097}),
     "too_long", "data.message"),
    ("long_start_time", SCENARIO, with_data("training_started", {"start_time": "2" * 65}),
     "too_long", "data.start_time"),
    ("bad_utf8_trainer", SCENARIO, envelope(replace={"trainer": raw_str(b"t\xff")}),
     "bad_utf8", "trainer"),
    ("nul_in_details", SCENARIO, with_data("training_error", {"details": "a\x00b"}),
     "bad_utf8", "data.details"),
    ("surrogate", SCENARIO, with_data("training_error", {"message": raw_str(b"\xed\xa0\x80")}),
     "bad_utf8", "data.message"),
    ("overlong", SCENARIO, with_data("training_error", {"message": raw_str(b"\xc0\xaf")}),
     "bad_utf8", "data.message"),
    ("space_in_scenario", "a b", envelope(replace={"scenario": "a b"}), "bad_charset",
     "scenario"),
    ("dot_trainer", SCENARIO, envelope(replace={"trainer": ".t"}), "bad_charset", "trainer"),
    ("type_before_charset", "a b", envelope(replace={"scenario": "a b"}, data=[
        ("scenario_name", "a b"), ("num_episodes", "x"), ("start_time", "2024-05-01T00:00:00Z")]),
     "wrong_type", "data.num_episodes"),
    ("start_time_words", SCENARIO, with_data("training_started", {"start_time": "yesterday"}),
     "bad_charset", "data.start_time"),
    ("start_time_month_13", SCENARIO,
     with_data("training_started", {"start_time": "2024-13-01T00:00:00Z"}), "bad_charset",
     "data.start_time"),
    ("start_time_10_digits", SCENARIO,
     with_data("training_started", {"start_time": "2024-05-01T00:00:00.1234567890Z"}),
     "bad_charset", "data.start_time"),
    ("scenario_name_mismatch", SCENARIO,
     with_data("training_stopped", {"scenario_name": "beta"}), "scenario_mismatch",
     "data.scenario_name"),
    ("bad_scenario_name", SCENARIO,
     with_data("training_stopped", {"scenario_name": "b/c"}), "bad_charset",
     "data.scenario_name"),
    ("topic_other", "beta", GOOD, "topic_mismatch", "topic"),
    ("topic_prefix", "alph", GOOD, "topic_mismatch", "topic"),
]

# Accepted by both decoders: (name, payload)
ACCEPTED = [
    ("int_in_float", with_data("training_progress", {"avg_reward": 150})),
    ("big_int_in_float", with_data("training_progress", {"avg_cash": -(2**53)})),
    ("float32", with_data("training_progress", {"stability": f32(0.5)})),
    ("int64_max_count", with_data("training_stopped", {"episodes_completed": 2**63 - 1})),
    ("int8_encoded_count", with_data("training_stopped", {"episodes_completed": Raw(b"\xd0\x05")})),
    ("max_seq", envelope(replace={"seq": 2**53 - 1})),
    ("time_with_offset", with_data("training_started",
                                   {"start_time": "2024-05-01T12:00:00.123456789+05:30"})),
    ("time_leap_second", with_data("training_started", {"start_time": "2016-12-31T23:59:60Z"})),
    ("keys_in_any_order", raw_map([("data", raw_map(list(reversed(STOPPED)))),
                                   ("ts", 5), ("seq", 1), ("trainer", TRAINER),
                                   ("scenario", SCENARIO), ("event", "training_stopped"),
                                   ("v", 1)])),
    ("stopped_as_v2", envelope("training_stopped", replace={"v": 2})),
    ("heartbeat_interval_limits", with_data("heartbeat", {"interval_ms": 3600000})),
    ("heartbeat_shortest_interval", with_data("heartbeat", {"interval_ms": 100})),
    ("unicode_text", with_data("training_error", {"message": "héllo ✓ 🚀", "details": ""})),
    ("longest_text", with_data("training_error", {"message": "m" * 4096})),
]
