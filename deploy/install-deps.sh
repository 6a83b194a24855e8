#!/usr/bin/env bash
# install-deps.sh - installs everything trainbridge needs to build, run and
# test on Debian 12, non-interactively and idempotently: Debian packages
# (compilers, libraries, Python modules, clang for fuzzing, chromium for the
# dashboard's browser tests), Node.js if it is missing, and the pinned npm
# modules: the dashboard's libraries (bridge/web/package-lock.json, embedded
# in the binary at build time) and the end-to-end tests' (tests/e2e).
# Runs as root, or through sudo.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
    build-essential cmake pkg-config git curl ca-certificates
    libzmq3-dev libczmq-dev libwebsockets-dev libwebsockets-evlib-uv libuv1-dev libmsgpack-dev libjansson-dev libcriterion-dev
    libssl-dev openssl
    python3 python3-zmq python3-msgpack python3-pytest
    python3-socketio python3-engineio python3-websocket python3-requests python3-aiohttp
    clang libclang-rt-14-dev clang-format clang-tidy
    python3-yaml systemd locales
    zlib1g-dev chromium
)

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

missing_packages() {
    local p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || echo "$p"
    done
}

install_apt() {
    mapfile -t missing < <(missing_packages "${APT_PACKAGES[@]}")
    if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
        missing+=(nodejs npm)
    fi
    if [ ${#missing[@]} -eq 0 ]; then
        echo "install-deps: Debian packages already installed"
        return
    fi
    echo "install-deps: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get update -qq
    as_root apt-get install -y -qq "${missing[@]}" >/dev/null
}

# nginx for the load-balancer test, installed without letting Debian start
# it on port 80 (a policy-rc.d that refuses service starts, for the install).
install_nginx() {
    if command -v nginx >/dev/null || [ -x /usr/sbin/nginx ]; then
        return
    fi
    local created=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' | as_root tee /usr/sbin/policy-rc.d >/dev/null
        as_root chmod 0755 /usr/sbin/policy-rc.d
        created=1
    fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null
    if [ "$created" = 1 ]; then as_root rm -f /usr/sbin/policy-rc.d; fi
    if [ -d /run/systemd/system ]; then as_root systemctl disable --now nginx >/dev/null 2>&1 || true; fi
}

# Prometheus (promtool and the server) for tests/deploy/test_prometheus.py,
# installed without letting Debian start its service (as nginx above).
install_prometheus() {
    if command -v promtool >/dev/null && command -v prometheus >/dev/null; then
        return
    fi
    local created=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' | as_root tee /usr/sbin/policy-rc.d >/dev/null
        as_root chmod 0755 /usr/sbin/policy-rc.d
        created=1
    fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        prometheus >/dev/null
    if [ "$created" = 1 ]; then as_root rm -f /usr/sbin/policy-rc.d; fi
    if [ -d /run/systemd/system ]; then as_root systemctl disable --now prometheus >/dev/null 2>&1 || true; fi
}

# A locale with a decimal comma, so the JSON float test can prove that
# output does not depend on the process's locale.
install_test_locale() {
    if locale -a 2>/dev/null | grep -qi '^de_DE\.utf-\?8$'; then
        return
    fi
    as_root sed -i 's/^# *\(de_DE.UTF-8 UTF-8\)/\1/' /etc/locale.gen
    grep -q '^de_DE.UTF-8 UTF-8' /etc/locale.gen || echo 'de_DE.UTF-8 UTF-8' | as_root tee -a /etc/locale.gen >/dev/null
    as_root locale-gen >/dev/null
}

# npm ci in dir when its lock file is newer than what is installed there.
npm_ci() {
    local dir=$1
    [ -f "$dir/package-lock.json" ] || return 0
    if [ -d "$dir/node_modules" ] && [ "$dir/node_modules/.package-lock.json" -nt "$dir/package-lock.json" ]; then
        echo "install-deps: npm modules in $dir already installed"
        return
    fi
    echo "install-deps: npm ci in $dir"
    npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error
}

install_npm() {
    npm_ci bridge/web
    npm_ci tests/e2e
}

install_apt
install_test_locale
install_nginx
install_prometheus
install_npm
