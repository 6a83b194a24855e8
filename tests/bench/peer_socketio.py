#!/usr/bin/python3
"""peer_socketio: trainbridge's job done the way it is usually done today.

A python-socketio AsyncServer on aiohttp. A background task reads a ZeroMQ
SUB socket (zmq.asyncio), decodes each msgpack envelope and emits the event
to the scenario's room and to room "*" with two arguments, the payload and
the metadata, exactly as trainbridge does. `subscribe_training` joins a room
and answers the same acknowledgement; `unsubscribe_training` leaves it.

Everything is left at the libraries' defaults (ZeroMQ's receive high-water
mark of 1000 messages included) except what the benchmark needs: an
OS-chosen port and a listen backlog large enough for thousands of clients.

When ready it prints one line, like trainbridge:
    peer listening on 127.0.0.1:<port> zmq tcp://127.0.0.1:<zport>
SIGTERM/SIGINT stop it. Run it with Debian's /usr/bin/python3
(python3-socketio 5.7, python3-aiohttp, python3-zmq, python3-msgpack).
"""
import argparse
import asyncio
import signal
import socket
import sys

import msgpack
import socketio
import zmq
import zmq.asyncio
from aiohttp import web

ALL_SCENARIOS = "*"


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--listen", default="127.0.0.1:0", help="HOST:PORT (port 0 picks one)")
    ap.add_argument("--zmq-bind", default="tcp://127.0.0.1:*", help="SUB socket binds here")
    ap.add_argument("--backlog", type=int, default=4096, help="listen backlog")
    return ap.parse_args()


def make_server():
    sio = socketio.AsyncServer(async_mode="aiohttp", logger=False, engineio_logger=False)

    def scenario_of(data):
        name = data.get("scenario_name") if isinstance(data, dict) else None
        return name if isinstance(name, str) and 0 < len(name) <= 64 else None

    @sio.on("subscribe_training")
    async def subscribe(sid, data):
        name = scenario_of(data)
        if name is None:
            return {"ok": False, "error": "invalid scenario_name"}
        sio.enter_room(sid, name)
        return {"ok": True, "scenario_name": name}

    @sio.on("unsubscribe_training")
    async def unsubscribe(sid, data):
        name = scenario_of(data)
        if name is None:
            return {"ok": False, "error": "invalid scenario_name"}
        sio.leave_room(sid, name)
        return {"ok": True, "scenario_name": name}

    return sio


async def ingest(sio, sub):
    """Reads [topic, envelope] messages and emits each event to its rooms."""
    while True:
        frames = await sub.recv_multipart()
        if len(frames) != 2:
            continue
        try:
            env = msgpack.unpackb(frames[1], raw=False)
            event, scenario, payload = env["event"], env["scenario"], env["data"]
            meta = {"scenario_name": scenario, "trainer": env["trainer"],
                    "seq": env["seq"], "ts": env["ts"]}
        except Exception as e:  # one bad message never stops the loop
            print(f"peer: rejected message: {e!r}", file=sys.stderr)
            continue
        await sio.emit(event, data=(payload, meta), room=scenario)
        await sio.emit(event, data=(payload, meta), room=ALL_SCENARIOS)


async def serve(args):
    sio = make_server()
    app = web.Application()
    sio.attach(app)

    zctx = zmq.asyncio.Context()
    sub = zctx.socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    sub.bind(args.zmq_bind)
    zmq_endpoint = sub.getsockopt(zmq.LAST_ENDPOINT).decode()

    host, _, port = args.listen.rpartition(":")
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind((host, int(port)))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.SockSite(runner, lsock, backlog=args.backlog)
    await site.start()
    real_port = lsock.getsockname()[1]

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    task = sio.start_background_task(ingest, sio, sub)
    print(f"peer listening on {host}:{real_port} zmq {zmq_endpoint}", flush=True)
    await stop.wait()
    task.cancel()
    await runner.cleanup()
    sub.close()
    zctx.term()


def main():
    args = parse_args()
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
