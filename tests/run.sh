#!/usr/bin/env bash
# run.sh - the whole trainbridge test suite, from a clean checkout:
# installs what the tests need (deploy/install-deps.sh), builds twice (a
# normal build in build/ and an ASan+UBSan build in build-asan/), and runs
# every ctest test in both: Criterion unit tests, fuzz-corpus replays, the
# Python publisher and cross-language tests, and the end-to-end tests against
# the real binary with real ZeroMQ publishers and real Socket.IO clients.
# Benchmarks are not part of it (see README, "Performance").
#   tests/run.sh            everything, both builds
#   TB_SKIP_ASAN=1 tests/run.sh   the normal build only (quicker, local use)
set -euo pipefail
cd "$(dirname "$0")/.."

jobs=$(nproc 2>/dev/null || echo 2)
deploy/install-deps.sh
# podman + podman-compose + a locally made debian:bookworm base image for the
# compose stack test (../shared/tools/compose-local.sh; idempotent; needs root)
compose_local=${TB_COMPOSE_LOCAL:-../shared/tools/compose-local.sh}
if [ "$(id -u)" = 0 ] && [ -x "$compose_local" ]; then
    "$compose_local" setup
fi

run_suite() { # $1: build dir, $2: labels to leave out, rest: cmake options
    local dir=$1 exclude=$2
    shift 2
    echo "== build $dir"
    cmake -S . "$@" >/dev/null
    cmake --build "$dir" -j"$jobs"
    echo "== test $dir"
    ctest --test-dir "$dir" --output-on-failure -LE "$exclude"
}

# The container stack test builds its own images: once, in the normal pass.
run_suite build bench -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
if [ "${TB_SKIP_ASAN:-0}" != 1 ]; then
    # a small quarantine keeps RSS meaningful for the tests that bound it
    export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:quarantine_size_mb=16}
    export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
    # the asan preset (CMakePresets.json) builds into build-asan; the lint
    # label (format, clang-tidy) already ran in the normal pass
    run_suite build-asan 'bench|compose|lint' --preset asan
fi
