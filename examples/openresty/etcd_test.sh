#!/usr/bin/env bash
# examples/openresty/etcd_test.sh -- a store on etcd under nginx with one
# worker: cosockets do not block the worker.
#
#   make build/luajit/okofdb/core.so build/luajit/okofdb/etcd.so
#   examples/openresty/etcd_test.sh
#
# Starts a 3-member etcd cluster (spec/etcd/with_cluster.lua, unless
# OKOF_ETCD_URL, OKOF_ETCD_MEMBERS and OKOF_ETCD_PIDS name one already) and
# nginx (etcd_nginx.conf) with ONE worker on a free loopback port. Checks:
# a value the master wrote in init_by_lua (libcurl, blocking) is read by
# the worker through the handle the master opened (cosockets); a put and a
# walk from the worker; then, with one member stopped (SIGSTOP), a request
# to that member waits while another request on the same worker is
# answered, and once the member continues (SIGCONT) the waiting request is
# answered too. The selftest covers every method, ttls included. Needs
# nginx, libnginx-mod-http-lua, luajit, curl, etcd.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
NGINX=${NGINX:-nginx}
LUAJIT=${LUAJIT:-luajit}

say() { echo "openresty-etcd: $*"; }

if [ -z "${OKOF_ETCD_PIDS:-}" ]; then
  cd "$REPO"
  exec env LUA_PATH="$REPO/lua/?.lua;$REPO/spec/?.lua;;" LUA_CPATH="$REPO/build/luajit/?.so;;" \
    "$LUAJIT" spec/etcd/with_cluster.lua "$HERE/etcd_test.sh"
fi

WORK=
NGINX_PID=
STOPPED_PID=
BG=
OK=0

die() {
  say "FAILED: $*" >&2
  if [ -n "$WORK" ] && [ -f "$WORK/logs/error.log" ]; then
    grep -v '\[notice\]' "$WORK/logs/error.log" | tail -n 20 >&2 || true
  fi
  exit 1
}

cleanup() {
  [ -n "$STOPPED_PID" ] && kill -CONT "$STOPPED_PID" 2>/dev/null || true
  [ -n "$BG" ] && wait "$BG" 2>/dev/null || true
  if [ -n "$NGINX_PID" ]; then
    kill -QUIT "$NGINX_PID" 2>/dev/null || true
    wait "$NGINX_PID" 2>/dev/null || true
  fi
  if [ -n "$WORK" ]; then
    if [ "$OK" = 1 ]; then rm -rf "$WORK"; else say "files kept in $WORK" >&2; fi
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for f in build/luajit/okofdb/core.so build/luajit/okofdb/etcd.so; do
  [ -f "$REPO/$f" ] || die "$f not found: run 'make $f' first"
done
command -v "$NGINX" >/dev/null || die "nginx not found (apt-get install nginx libnginx-mod-http-lua)"

read -r -a MEMBERS <<<"$OKOF_ETCD_MEMBERS"
read -r -a PIDS <<<"$OKOF_ETCD_PIDS"
ALL="etcd://$(IFS=,; echo "${MEMBERS[*]}")/openresty"
STOPPED="etcd://${MEMBERS[2]}/openresty"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/okofdb-openresty-etcd.XXXXXX")
chmod 755 "$WORK"
mkdir -p "$WORK/conf" "$WORK/logs" "$WORK/temp"
USER_LINE=
if [ "$(id -u)" -eq 0 ]; then
  USER_LINE="user nobody $(id -gn nobody);"
fi

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

for ((attempt = 1; attempt <= 8; attempt++)); do
  PORT=$((20000 + RANDOM % 40000))
  port_busy "$PORT" && continue
  sed -e "s|@REPO@|$REPO|g" -e "s|@PORT@|$PORT|g" -e "s|@ALL@|$ALL|g" \
    -e "s|@STOPPED@|$STOPPED|g" -e "s|@USER@|$USER_LINE|g" \
    "$HERE/etcd_nginx.conf" >"$WORK/conf/nginx.conf"
  "$NGINX" -p "$WORK/" -c "$WORK/conf/nginx.conf" -e "$WORK/logs/error.log" \
    </dev/null >>"$WORK/logs/stdout.log" 2>&1 &
  NGINX_PID=$!
  for ((i = 0; i < 100; i++)); do
    kill -0 "$NGINX_PID" 2>/dev/null || break
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$PORT/get/all/greeting" || true)
    [ "$code" = 200 ] && break 2
    sleep 0.1
  done
  kill -0 "$NGINX_PID" 2>/dev/null && die "nginx does not answer on port $PORT"
  wait "$NGINX_PID" || true
  NGINX_PID=
  grep -q "Address already in use" "$WORK/logs/error.log" || die "nginx did not start"
done
[ -n "$NGINX_PID" ] || die "found no free port"
say "nginx $NGINX_PID on 127.0.0.1:$PORT, one worker; etcd members ${MEMBERS[*]}"

get() { curl -sS --max-time "${2:-10}" "http://127.0.0.1:$PORT$1"; }

# The master's put (libcurl), read by the worker over cosockets.
[ "$(get /get/all/greeting)" = "hello from the master" ] || die "the master's value is not read"
# A put and a walk from the worker.
code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 10 --data-binary 'from the worker' \
  "http://127.0.0.1:$PORT/put/all/worker%2Fkey")
[ "$code" = 204 ] || die "put from the worker: HTTP $code"
[ "$(get /get/all/worker%2Fkey)" = "from the worker" ] || die "the worker's value is not read"
[ "$(get /keys/all)" = $'greeting=21\nworker/key=15' ] || die "walk: $(get /keys/all)"

# Every method over cosockets: put_many in transactions, walks in pages.
selftest=$(get /selftest 60)
[ "$selftest" = ok ] || die "selftest: $selftest"
say "every method over cosockets: ok"

# One member stopped: a request to it waits, the worker serves another.
STOPPED_PID=${PIDS[2]}
kill -STOP "$STOPPED_PID"
get /get/stopped/greeting 60 >"$WORK/slow.out" 2>&1 &
BG=$!
sleep 0.5
kill -0 "$BG" 2>/dev/null || die "the request to the stopped member did not wait: $(cat "$WORK/slow.out")"
[ "$(get /get/all/greeting 10)" = "hello from the master" ] ||
  die "the other request was not answered while one waited"
kill -0 "$BG" 2>/dev/null || die "the waiting request ended before the member continued"
say "a request waits on the stopped member; another one was answered meanwhile"
kill -CONT "$STOPPED_PID"
STOPPED_PID=
wait "$BG" || die "the waiting request failed: $(cat "$WORK/slow.out")"
BG=
[ "$(cat "$WORK/slow.out")" = "hello from the master" ] ||
  die "the waiting request got: $(cat "$WORK/slow.out")"
say "the member continued and the waiting request was answered"

if grep -E '\[(error|crit|alert|emerg)\]' "$WORK/logs/error.log" >&2; then
  die "nginx logged errors (above)"
fi
OK=1
say "ok"
