#!/usr/bin/env bash
# examples/nvim/test.sh -- test the okofstate Neovim plugin against okofdb.
#
#   make build/luajit/okofdb/core.so && examples/nvim/test.sh
#
# Every Neovim runs headless with --clean and with HOME and the XDG
# directories in a temporary directory, so the user's own configuration and
# state are neither read nor touched. The Neovim side of each step is in
# examples/nvim/test/steps.lua.
#   1. a first run sets values (:OkofSet, the Lua API) and counts the run;
#   2. a second run finds them, with okofdb found through LUA_CPATH instead
#      of g:okofdb_cpath;
#   3. a run without okofdb reports the error instead of raising, and
#      works once okofdb.core alone (no okofdb.lua) can be found;
#   4. two Neovims at once each count their own key and put their own key
#      and a shared key N times; afterwards each own key holds its final
#      value and the shared key one whole value, the last of one of them.
# Prints "nvim: N passed, M failed"; exits non-zero when anything failed.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 2
TOP=$PWD
SO=build/luajit/okofdb/core.so
NVIM_BIN=${OKOF_NVIM:-nvim}
N=${OKOF_N:-200}

if ! command -v "$NVIM_BIN" >/dev/null 2>&1; then
  echo "nvim: $NVIM_BIN not found (apt-get install neovim)" >&2
  exit 2
fi
if [ ! -f "$SO" ]; then
  echo "nvim: $SO not found; build it first: make $SO" >&2
  exit 2
fi

passed=0
failed=0
pass() {
  passed=$((passed + 1))
  echo "ok - $*"
}
fail() {
  failed=$((failed + 1))
  echo "not ok - $*"
}

T=$(mktemp -d "${TMPDIR:-/tmp}/okofstate-test.XXXXXX") || exit 2
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null
  done
  rm -rf "$T"
}
trap cleanup EXIT

# An isolated Neovim: nothing of the user's is read or written.
export HOME="$T/home"
export XDG_CONFIG_HOME="$T/config" XDG_DATA_HOME="$T/data"
export XDG_STATE_HOME="$T/state" XDG_CACHE_HOME="$T/cache"
export XDG_RUNTIME_DIR="$T/run"
unset VIMINIT MYVIMRC NVIM NVIM_APPNAME NVIM_LISTEN_ADDRESS NVIM_LOG_FILE
unset LUA_CPATH LUA_PATH
mkdir -p "$HOME" "$XDG_RUNTIME_DIR" "$T/sync"
chmod 700 "$XDG_RUNTIME_DIR"

export OKOF_RTP="$TOP/examples/nvim"
export OKOF_STEPS="$TOP/examples/nvim/test/steps.lua"
export OKOF_N="$N"

# run_nvim STEP LOG [how]: one headless Neovim running steps.lua's STEP;
# how is "g" (g:okofdb_cpath/g:okofdb_path), "env" (LUA_CPATH/LUA_PATH)
# or "none" (okofdb not findable). Its results go to $T/results.STEP*.
run_nvim() {
  local step=$1 log=$2 how=${3:-g} cpath="" path=""
  local -a env=(OKOF_STEP="$step" OKOF_RESULTS="$T/results.$log"
    OKOF_LATE_CPATH="$TOP/build/luajit/?.so")
  case $how in
    g)
      cpath="$TOP/build/luajit/?.so"
      path="$TOP/lua/?.lua"
      ;;
    env)
      env+=(LUA_CPATH="$TOP/build/luajit/?.so;;" LUA_PATH="$TOP/lua/?.lua;;")
      ;;
  esac
  env "${env[@]}" OKOF_TEST_CPATH="$cpath" OKOF_TEST_PATH="$path" \
    timeout 45 "$NVIM_BIN" --headless --clean \
    --cmd 'lua vim.opt.runtimepath:prepend(os.getenv("OKOF_RTP"))' \
    --cmd 'lua if os.getenv("OKOF_TEST_CPATH") ~= "" then vim.g.okofdb_cpath = os.getenv("OKOF_TEST_CPATH") end' \
    --cmd 'lua if os.getenv("OKOF_TEST_PATH") ~= "" then vim.g.okofdb_path = os.getenv("OKOF_TEST_PATH") end' \
    --cmd 'lua dofile(os.getenv("OKOF_STEPS"))' \
    -c 'lua OkofTest.run()' \
    -c 'qa!' </dev/null >"$T/log.$log" 2>&1
}

# check_run LOG RC: count the results of a run; show its log on failure.
check_run() {
  local log=$1 rc=$2 line bad=0
  if [ -f "$T/results.$log" ]; then
    while IFS= read -r line; do
      case $line in
        "ok "*) pass "${line#ok }" ;;
        "not ok "*) fail "${line#not ok }"; bad=1 ;;
        "# "*) echo "$line" ;;
      esac
    done <"$T/results.$log"
  fi
  if grep -qx "done ${log%%.*}" "$T/results.$log" 2>/dev/null; then
    pass "$log: the step ran to its end"
  else
    fail "$log: the step did not run to its end"
    bad=1
  fi
  if [ "$rc" -eq 0 ]; then
    pass "$log: nvim exited with 0"
  else
    fail "$log: nvim exited with $rc"
    bad=1
  fi
  if [ "$bad" -ne 0 ]; then
    sed 's/^/#   nvim: /' "$T/log.$log"
  fi
}

start=$SECONDS

# ---- 1 and 2: state persists across runs ------------------------------------

run_nvim first first g
check_run first $?

# The store is under stdpath("state"), or stdpath("data") before 0.8.
version=$("$NVIM_BIN" --version | sed -n '1s/^NVIM v\([0-9]*\)\.\([0-9]*\).*/\1 \2/p')
read -r major minor <<<"$version"
if [ "${major:-0}" -eq 0 ] && [ "${minor:-0}" -lt 8 ]; then
  store="$XDG_DATA_HOME/nvim/okofstate"
else
  store="$XDG_STATE_HOME/nvim/okofstate"
fi
if [ -f "$store/runs" ] && [ -f "$store/user.color" ]; then
  pass "the store is $store (Neovim ${major:-?}.${minor:-?})"
else
  fail "no store in $store (Neovim ${major:-?}.${minor:-?}): $(cd "$T" && find . -path ./run -prune -o -print | tr '\n' ' ')"
fi

run_nvim second second env
check_run second $?

run_nvim nomodule nomodule none
check_run nomodule $?

# ---- 3: two Neovims at once ---------------------------------------------------

OKOF_WORKER=A OKOF_SYNCDIR="$T/sync" run_nvim worker worker.A g &
pids+=($!)
OKOF_WORKER=B OKOF_SYNCDIR="$T/sync" run_nvim worker worker.B g &
pids+=($!)
for _ in $(seq 400); do
  [ -f "$T/sync/ready.A" ] && [ -f "$T/sync/ready.B" ] && break
  sleep 0.05
done
touch "$T/sync/go"
rc_a=0
wait "${pids[0]}" || rc_a=$?
rc_b=0
wait "${pids[1]}" || rc_b=$?
pids=()
check_run worker.A "$rc_a"
check_run worker.B "$rc_b"

run_nvim verify verify g
check_run verify $?

elapsed=$((SECONDS - start))
if [ "$elapsed" -lt 60 ]; then
  pass "finished in ${elapsed} s"
else
  fail "took ${elapsed} s, more than 60"
fi

echo "nvim: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
