#!/bin/bash
# trainbridge-healthcheck: exit 0 when GET /healthz answers 200, else 1.
# Needs only bash (its /dev/tcp), so it runs in the slim image. The address
# is TRAINBRIDGE_HEALTHCHECK (HOST:PORT) if set, else the proxy's
# TRAINBRIDGE_PROXY_HEALTH, else the bridge's TRAINBRIDGE_LISTEN (default
# 0.0.0.0:8080); a wildcard host (0.0.0.0, *, [::]) is checked on loopback.
set -u
addr=${TRAINBRIDGE_HEALTHCHECK:-${TRAINBRIDGE_PROXY_HEALTH:-${TRAINBRIDGE_LISTEN:-0.0.0.0:8080}}}
port=${addr##*:}
host=${addr%:*}
host=${host#[}
host=${host%]}
case $host in
    0.0.0.0 | '*' | '' ) host=127.0.0.1 ;;
    :: ) host=::1 ;;
esac
exec 3<>"/dev/tcp/$host/$port" || exit 1
printf 'GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3
IFS= read -r -t 2 status <&3 || exit 1
exec 3<&-
case $status in
    'HTTP/1.'?' 200'*) exit 0 ;;
    *) echo "trainbridge-healthcheck: $host:$port answered: ${status%$'\r'}" >&2; exit 1 ;;
esac
