#!/usr/bin/env bash
# examples/openresty/test.sh -- okofdb under nginx + ngx_http_lua_module.
#
#   make build/luajit/okofdb/core.so && examples/openresty/test.sh
#
# Starts nginx (Debian's nginx and libnginx-mod-http-lua) with 2 worker
# processes on a free loopback port, in a temporary prefix, with the store
# opened once in the master (init_by_lua_block) and used by both workers.
# Then: an empty-store round (client 0), OKOF_CLIENTS (6) concurrent curl
# clients of OKOF_REQUESTS (200) requests each -- puts and gets of a few
# shared keys, values below and above compress_min and one above 1 MiB per
# client, put/get/delete rounds on keys of their own -- and a final round.
# Every answer is checked (examples/openresty/harness.lua), then, with nginx
# stopped, the store on disk: each key holds the value the final round was
# served, every file decodes, no temporary file is left, both workers
# answered. Between the load and the final round, a lock (POST /lock/test,
# db:add with a ttl): taken in one worker, refused in the other, free
# once its ttl has passed, to exactly one of 8 requests at once. Needs nginx, libnginx-mod-http-lua, luajit and curl >= 7.84.
# OKOF_KEEP=1 keeps the temporary prefix; it is kept anyway on failure.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
CLIENTS=${OKOF_CLIENTS:-6}
REQUESTS=${OKOF_REQUESTS:-200}
NGINX=${NGINX:-nginx}
LUAJIT=${LUAJIT:-luajit}
LUA_MODULES=/usr/lib/nginx/modules

WORK=
NGINX_PID=
OK=0
START=$SECONDS

say() { echo "openresty: $*"; }

die() {
  say "FAILED: $*" >&2
  if [ -n "$WORK" ] && grep -qv '\[notice\]' "$WORK/logs/error.log" 2>/dev/null; then
    echo "--- $WORK/logs/error.log, last lines but notices:" >&2
    grep -v '\[notice\]' "$WORK/logs/error.log" | tail -n 20 >&2
  fi
  exit 1
}

# Stop nginx gracefully (QUIT), harder if it does not go within 10 s.
stop_nginx() {
  [ -n "$NGINX_PID" ] || return 0
  local pid=$NGINX_PID i
  NGINX_PID=
  kill -QUIT "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    say "nginx did not stop on QUIT; killing it" >&2
    kill -TERM "$pid" 2>/dev/null || true
    sleep 1
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  stop_nginx
  if [ -n "$WORK" ]; then
    if [ "$OK" = 1 ] && [ -z "${OKOF_KEEP:-}" ]; then
      rm -rf "$WORK"
    else
      say "files kept in $WORK" >&2
    fi
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- prerequisites -----------------------------------------------------------

command -v "$NGINX" >/dev/null || die "nginx not found (apt-get install nginx libnginx-mod-http-lua)"
command -v curl >/dev/null || die "curl not found (apt-get install curl)"
command -v "$LUAJIT" >/dev/null || die "luajit not found (apt-get install luajit2)"
for m in ndk_http_module.so ngx_http_lua_module.so; do
  [ -f "$LUA_MODULES/$m" ] || die "$LUA_MODULES/$m not found (apt-get install libnginx-mod-http-lua)"
done
[ -f "$REPO/build/luajit/okofdb/core.so" ] ||
  die "build/luajit/okofdb/core.so not found: run 'make build/luajit/okofdb/core.so' first"
curl_version=$(curl --version | awk 'NR == 1 { print $2 }')
case $curl_version in
  7.[0-9].* | 7.[0-7][0-9].* | 7.8[0-3].*) die "curl $curl_version is too old: need 7.84 or later (-w %header{})" ;;
esac
[ "$CLIENTS" -ge 4 ] || die "OKOF_CLIENTS must be at least 4"

# ---- the prefix ----------------------------------------------------------------

WORK=$(mktemp -d "${TMPDIR:-/tmp}/okofdb-openresty.XXXXXX")
# The workers spool large request bodies to temp/body: they must reach it.
chmod 755 "$WORK"
mkdir -p "$WORK/conf" "$WORK/logs" "$WORK/temp" "$WORK/store" "$WORK/v" "$WORK/r"

# As root, nginx runs its workers as another user: nobody, who must be able
# to write the store (the master opens it, the workers write to it). As
# anyone else, nginx stays that user and ignores "user", so leave it out.
USER_LINE=
if [ "$(id -u)" -eq 0 ]; then
  group=$(id -gn nobody) || die "no user 'nobody' to run the workers as"
  USER_LINE="user nobody $group;"
  chown nobody:"$group" "$WORK/store"
fi

# ---- start nginx on a free port ----------------------------------------------------

port_busy() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

start_nginx() {
  local attempt i code
  for ((attempt = 1; attempt <= 8; attempt++)); do
    PORT=$((20000 + RANDOM % 40000))
    port_busy "$PORT" && continue
    sed -e "s|@REPO@|$REPO|g" -e "s|@STORE@|$WORK/store|g" -e "s|@PORT@|$PORT|g" \
      -e "s|@USER@|$USER_LINE|g" "$HERE/nginx.conf" >"$WORK/conf/nginx.conf"
    : >"$WORK/logs/error.log"
    "$NGINX" -p "$WORK/" -c "$WORK/conf/nginx.conf" -e "$WORK/logs/error.log" \
      </dev/null >>"$WORK/logs/stdout.log" 2>&1 &
    NGINX_PID=$!
    for ((i = 0; i < 100; i++)); do
      if ! kill -0 "$NGINX_PID" 2>/dev/null; then
        break
      fi
      code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$PORT/keys" || true)
      if [ "$code" = 200 ]; then
        return 0
      fi
      sleep 0.1
    done
    if kill -0 "$NGINX_PID" 2>/dev/null; then
      die "nginx (pid $NGINX_PID) does not answer on port $PORT after 10 s"
    fi
    wait "$NGINX_PID" || true
    NGINX_PID=
    if grep -q "Address already in use" "$WORK/logs/error.log"; then
      continue
    fi
    cat "$WORK/logs/stdout.log" >&2 || true
    die "nginx did not start"
  done
  die "found no free port in $attempt attempts"
}

start_nginx
grep -o 'start worker process [0-9]*' "$WORK/logs/error.log" | awk '{ print $4 }' >"$WORK/workers"
say "nginx $NGINX_PID on 127.0.0.1:$PORT, workers $(tr '\n' ' ' <"$WORK/workers")(as $(id -un)${USER_LINE:+, workers as nobody})"
[ "$(wc -l <"$WORK/workers")" -eq 2 ] || die "expected 2 worker processes, the log shows: $(cat "$WORK/workers")"

# ---- drive it ------------------------------------------------------------------------

plan_summary=$("$LUAJIT" "$HERE/harness.lua" plan "$WORK" "$PORT" "$CLIENTS" "$REQUESTS") ||
  die "harness.lua plan failed"

# Run one client: its requests in order, one line per answer.
run_client() {
  local name=$1 rc=0
  curl -sS -K "$WORK/$name.curl" >"$WORK/$name.out" 2>"$WORK/$name.err" || rc=$?
  if [ "$rc" -ne 0 ]; then
    say "curl of $name exited with $rc: $(head -n 3 "$WORK/$name.err" | tr '\n' ' ')" >&2
  fi
  return 0
}

run_client setup
load_start=$SECONDS
pids=()
for ((n = 1; n <= CLIENTS; n++)); do
  run_client "client-$n" &
  pids+=($!)
done
for pid in "${pids[@]}"; do
  wait "$pid"
done
say "load: $plan_summary in $((SECONDS - load_start)) s"

# ---- a lock across the workers ---------------------------------------------------

# POST /lock/test: "status worker-pid" of the answer (a new connection
# each time, so that reuseport spreads them over the workers).
try_lock() {
  curl -sS -o /dev/null -X POST -w '%{http_code} %header{x-worker-pid}\n' \
    "http://127.0.0.1:$PORT/lock/test?ttl=$1&id=$2"
}
now() { date +%s.%N; }
LOCK_TTL=3
taken_at=$(now)
read -r code holder < <(try_lock "$LOCK_TTL" first)
[ "$code" = 201 ] || die "lock: the first POST /lock/test answered $code, expected 201"
refused_other=0
for ((i = 0; i < 60 && refused_other < 3; i++)); do
  read -r code pid < <(try_lock "$LOCK_TTL" "second-$i")
  if [ "$code" = 201 ]; then
    # taken again: only right once the ttl has passed (a very slow run)
    awk -v a="$taken_at" -v b="$(now)" -v t="$LOCK_TTL" 'BEGIN { exit !(b - a >= t) }' ||
      die "lock: taken again by worker $pid within its ttl"
    die "lock: the ttl passed before another worker was asked (machine too slow?)"
  fi
  [ "$code" = 409 ] || die "lock: POST answered $code, expected 409"
  [ "$pid" != "$holder" ] && refused_other=$((refused_other + 1))
done
[ "$refused_other" -ge 1 ] || die "lock: no answer came from the worker that did not take it"
# Free once the ttl has passed: of 8 requests at once, exactly one takes it.
sleep "$(awk -v a="$taken_at" -v b="$(now)" -v t="$LOCK_TTL" 'BEGIN { d = a + t - b + 0.2; print (d > 0 ? d : 0) }')"
lock_pids=()
for ((i = 0; i < 8; i++)); do
  try_lock 30 "third-$i" >"$WORK/lock-$i" &
  lock_pids+=($!)
done
for pid in "${lock_pids[@]}"; do
  wait "$pid"
done
won=$(cat "$WORK"/lock-* | grep -c '^201 ' || true)
refused=$(cat "$WORK"/lock-* | grep -c '^409 ' || true)
[ "$won" = 1 ] && [ "$refused" = 7 ] ||
  die "lock: after the ttl, $won of 8 requests took it and $refused were refused (want 1 and 7)"
code=$(curl -sS -o /dev/null -w '%{http_code}' -X DELETE "http://127.0.0.1:$PORT/kv/lock.test")
[ "$code" = 204 ] || die "lock: DELETE /kv/lock.test answered $code"
say "lock: taken by worker $holder, refused $refused_other times by the other, free after ${LOCK_TTL} s to exactly 1 of 8"

run_client final

stop_nginx

# nginx itself must not have logged any error (a crashed worker is an alert).
if grep -E '\[(error|crit|alert|emerg)\]' "$WORK/logs/error.log" >&2; then
  die "nginx logged errors (above)"
fi
# Each client's big put went through a temporary body file.
spooled=$(grep -c 'a client request body is buffered to a temporary file' "$WORK/logs/error.log" || true)
[ "$spooled" -ge "$CLIENTS" ] ||
  die "only $spooled request bodies were spooled to a file, expected $CLIENTS"

# ---- check every answer and the store -------------------------------------------

# Before the checker, whose db:sweep(0) would remove them.
leftovers=$(find "$WORK/store" -name '.okof-tmp-*' | wc -l)
[ "$leftovers" -eq 0 ] || die "$leftovers temporary files left in the store"
say "nginx stopped after $((SECONDS - START)) s; checking the answers and the store"
if ! LUA_PATH="$REPO/lua/?.lua;;" LUA_CPATH="$REPO/build/luajit/?.so;;" \
  "$LUAJIT" "$HERE/harness.lua" check "$WORK" "$WORK/store" "$CLIENTS" "$REQUESTS" "$WORK/workers"; then
  die "bad answers or a bad store (above)"
fi
OK=1
