#!/usr/bin/env bash
# quickstart.sh - the README's first command: installs what trainbridge needs
# (deploy/install-deps.sh), builds it, and runs the demo: the bridge on
# 127.0.0.1:8080 (ZeroMQ on tcp://127.0.0.1:5556) serving the live dashboard
# at http://127.0.0.1:8080/, a simulated trainer publishing two scenarios in
# a loop, and a Socket.IO client printing every event it receives. Ctrl-C
# stops all three.
#   DEMO_SECONDS=N   stop by itself after N seconds (default: run until Ctrl-C)
#   TB_PORT, TB_ZMQ_PORT   other ports than 8080 / 5556
set -euo pipefail
cd "$(dirname "$0")/.."

py=/usr/bin/python3  # Debian's, which has python3-socketio (not a pyenv one)
port=${TB_PORT:-8080}
zmq_port=${TB_ZMQ_PORT:-5556}
deploy/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc 2>/dev/null || echo 2)"

pids=()
cleanup() {
    local pid
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 0' INT TERM

build/bin/trainbridge --listen "127.0.0.1:$port" --zmq-bind "tcp://127.0.0.1:$zmq_port" &
pids+=($!)
for _ in $(seq 50); do
    curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
    sleep 0.1
done
build/bin/trainsim --endpoint "tcp://127.0.0.1:$zmq_port" --scenario alpha --scenario beta \
    --episodes 20 --rate 4 --loop --pause-ms 2000 --quiet &
pids+=($!)
cat <<EOT

trainbridge is running. Open the dashboard:

    http://127.0.0.1:$port/

Socket.IO on http://127.0.0.1:$port, trainers publish to tcp://127.0.0.1:$zmq_port.
Watching every scenario below; in another terminal:
    deploy/tbwatch.py http://127.0.0.1:$port alpha
metrics: curl http://127.0.0.1:$port/metrics      stop: Ctrl-C

EOT
if [ -n "${DEMO_SECONDS:-}" ]; then
    timeout "$DEMO_SECONDS" "$py" deploy/tbwatch.py "http://127.0.0.1:$port" '*' || true
else
    "$py" deploy/tbwatch.py "http://127.0.0.1:$port" '*'
fi
