#!/usr/bin/python3
"""tbwatch: print a trainbridge scenario's events as they arrive.

    python3 deploy/tbwatch.py [URL] [SCENARIO ...]

URL defaults to http://127.0.0.1:8080, SCENARIO to "*" (every scenario).
Uses the official python-socketio client (Debian: python3-socketio)."""
import json
import sys

import socketio

EVENTS = ("training_started", "training_progress", "training_completed",
          "training_stopped", "training_error")


def main(argv):
    url = argv[1] if len(argv) > 1 else "http://127.0.0.1:8080"
    scenarios = argv[2:] or ["*"]
    sio = socketio.Client(reconnection=True)

    @sio.event
    def connect():
        for name in scenarios:
            sio.emit("subscribe_training", {"scenario_name": name},
                     callback=lambda ack, n=name: print(f"# subscribed {n}: {json.dumps(ack)}",
                                                        flush=True))

    @sio.event
    def disconnect():
        print("# disconnected", flush=True)

    def make_handler(event):
        def handler(payload, meta=None):
            meta = meta or {}
            print(f"{meta.get('scenario_name', '?'):<12} {meta.get('trainer', '?')} "
                  f"#{meta.get('seq', '?'):<5} {event:<19} {json.dumps(payload)}", flush=True)
        return handler

    for event in EVENTS:
        sio.on(event, make_handler(event))
    sio.connect(url, transports=["websocket"])
    try:
        sio.wait()
    except KeyboardInterrupt:
        pass
    finally:
        sio.disconnect()


if __name__ == "__main__":
    main(sys.argv)
