#!/bin/sh
# render.sh: writes nginx.conf from trainbridge.conf.template and, with
# --exec, starts nginx in the foreground on it (the nginx image's entrypoint).
#
#   TB_NGINX_LISTEN     where nginx listens             (default 8080)
#   TB_NGINX_UPSTREAMS  the bridges, HOST:PORT, separated by spaces or commas
#                       (default "bridge-1:8081 bridge-2:8082")
#   TB_NGINX_RUN_DIR    pid file, temp files, the rendered nginx.conf
#                       (default /tmp/nginx)
#   TB_NGINX_ACCESS_LOG access log                      (default off)
#
#   render.sh [--exec] [TEMPLATE]
set -eu
do_exec=0
if [ "${1:-}" = --exec ]; then do_exec=1; shift; fi
template=${1:-/etc/trainbridge/nginx/trainbridge.conf.template}
listen=${TB_NGINX_LISTEN:-8080}
upstreams=${TB_NGINX_UPSTREAMS:-bridge-1:8081 bridge-2:8082}
run_dir=${TB_NGINX_RUN_DIR:-/tmp/nginx}
access_log=${TB_NGINX_ACCESS_LOG:-off}

mkdir -p "$run_dir"
servers=$run_dir/servers.conf
: > "$servers"
for u in $(printf '%s' "$upstreams" | tr ',' ' '); do
    printf '        server %s max_fails=1 fail_timeout=10s;\n' "$u" >> "$servers"
done
[ -s "$servers" ] || { echo "render.sh: TB_NGINX_UPSTREAMS is empty" >&2; exit 2; }

# sed: @SERVERS@ stands alone on its line; the others are plain values.
sed -e "/^@SERVERS@\$/{
r $servers
d
}" -e "s|@LISTEN@|$listen|g" -e "s|@RUN_DIR@|$run_dir|g" \
    -e "s|@ERROR_LOG@|stderr|g" -e "s|@ACCESS_LOG@|$access_log|g" \
    "$template" > "$run_dir/nginx.conf"

if [ $do_exec = 1 ]; then
    exec nginx -e stderr -c "$run_dir/nginx.conf" -g 'daemon off;'
fi
echo "$run_dir/nginx.conf"
