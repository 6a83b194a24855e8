#!/usr/bin/env python3
"""Publishes an exact list of events through trainevents.Publisher.

Used by the Node end-to-end tests to send events with chosen values (the
Python tests call the Publisher directly).

    publish_events.py --endpoint tcp://127.0.0.1:PORT [--trainer ID] CALLS_JSON

CALLS_JSON is a JSON list of [method, kwargs] pairs, e.g.
    [["training_started", {"scenario": "x", "num_episodes": 3}], ...]
JSON cannot tell 150.0 from 150, so values of the float fields are passed
through float() unless kwargs has "__keep_types": true. Exit 0 when every
event was handed to ZeroMQ and the publisher closed (it lingers for them).
"""
import argparse
import json
import sys

from trainevents import Publisher

FLOAT_FIELDS = {
    "avg_reward", "avg_duration", "avg_cash", "avg_invested", "stability",
    "goal_adherence", "elapsed_time",
}


def floats(kwargs):
    out = {}
    for key, value in kwargs.items():
        if key in FLOAT_FIELDS and isinstance(value, (int, float)):
            out[key] = float(value)
        elif key == "final_metrics" and isinstance(value, dict):
            out[key] = floats(value)
        else:
            out[key] = value
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--trainer", default=None)
    ap.add_argument("calls")
    args = ap.parse_args()
    calls = json.loads(args.calls)
    pub = Publisher([args.endpoint], trainer=args.trainer, ready_timeout=5.0)
    try:
        for method, kwargs in calls:
            keep = kwargs.pop("__keep_types", False)
            getattr(pub, method)(**(kwargs if keep else floats(kwargs)))
    finally:
        pub.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
