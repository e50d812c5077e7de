#!/usr/bin/env bash
# bench/run.sh -- `make bench`: okofdb next to the file system's floor and
# its peers, on tmpfs and on the project's disk, then the report.
#
#   bench/run.sh            build, run everything, report
#   bench/run.sh report     only the report, from build/bench/results.txt
#
# Knobs (environment):
#   BENCH_REPS=5        interleaved repetitions (1 with BENCH_QUICK=1)
#   BENCH_QUICK=1       a short smoke run (CI): small N, one repetition,
#                       smaller memory and concurrency runs; it never
#                       rewrites BENCHMARKS.md or bench/chart.png
#   BENCH_DIRS="/dev/shm <repo>/build/benchdisk"
#                       where to run; a directory under each is made per run
#   BENCH_SPEC="100:10000:1000,65536:2000:300"
#                       SIZE:N:ND items, as floor's -s, on tmpfs
#   BENCH_DISK_SPEC="100:3000:500,65536:600:150"
#                       the same on any other file system: a disk is ~10x
#                       slower per op, and on ext4 a del right after a
#                       put_fast_over waits for the writeback that the
#                       rename-over started (auto_da_alloc), ~3 ms a file
#                       here, so the full N would not fit in ~10 minutes
#   BENCH_NOCOMP=0      no okofdb-nocomp columns (okofdb under Lua 5.4 and
#                       LuaJIT with compress_min = false: the cost of
#                       compression told from the rest, and the column the
#                       "faster than luaatomic" target is judged on)
#   BENCH_MEMORY=0      skip bench/memory.lua
#   BENCH_CONC=0        skip bench/concurrency.lua
#   BENCH_CONC_SECONDS  seconds per concurrency case (1; quick 0.3)
#   BENCH_ETCD=0        skip okofdb on etcd (bench/etcd_bench.lua: a 3-member
#                       cluster on loopback, okofdb's get, put, add, del and
#                       keys beside bench/etcd_floor.c); skipped with a note
#                       when etcd or etcdctl is not installed
#   BENCH_ETCD_SPEC="100:2000,65536:300"
#                       SIZE:N items of the etcd rows (quick: 100:200,65536:30)
#   BENCH_UPDATE_DOCS=0 a full run without rewriting BENCHMARKS.md and
#                       bench/chart.png (it writes build/bench/ only)
#   BENCH_ROCK=1        drive the installed rock instead of this checkout's
#                       build: okofdb found through `luarocks path` for Lua
#                       5.4 and 5.1 (LuaJIT), in the tree BENCH_ROCKTREE
#                       (and BENCH_ROCKTREE-5.1 for LuaJIT) when set
#   BENCH_TEXT          the value text (bench/text64k.txt, made by
#                       bench/gen_text.lua)
#   BENCH_FLOOR_SRC     floor's source (bench/floor.c)
# Output: build/bench/results.txt (every RESULT/METRIC line), and
# build/bench/report.md (the tables), also printed.
# The bench never fails on speed: only a broken build or a failing
# operation makes it exit non-zero.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO=$(pwd)

QUICK=${BENCH_QUICK:-0}
[ "$QUICK" = 0 ] && QUICK=
if [ -n "$QUICK" ]; then
  REPS=${BENCH_REPS:-1}
  SPEC=${BENCH_SPEC:-100:1000:100,65536:200:30}
  DISK_SPEC=${BENCH_DISK_SPEC:-100:500:50,65536:100:20}
  CONC_SECONDS=${BENCH_CONC_SECONDS:-0.3}
  CONC_PROCS="1 2"
  NOCOMP=${BENCH_NOCOMP:-1}
  ETCD_SPEC=${BENCH_ETCD_SPEC:-100:200,65536:30}
else
  REPS=${BENCH_REPS:-5}
  SPEC=${BENCH_SPEC:-100:10000:1000,65536:2000:300}
  DISK_SPEC=${BENCH_DISK_SPEC:-100:3000:500,65536:600:150}
  CONC_SECONDS=${BENCH_CONC_SECONDS:-1}
  CONC_PROCS="1 2 4"
  NOCOMP=${BENCH_NOCOMP:-1}
  ETCD_SPEC=${BENCH_ETCD_SPEC:-100:2000,65536:300}
fi
DIRS=${BENCH_DIRS:-"/dev/shm $REPO/build/benchdisk"}
TEXT=${BENCH_TEXT:-bench/text64k.txt}
FLOOR_SRC=${BENCH_FLOOR_SRC:-bench/floor.c}
CC=${CC:-gcc}
MAKE=${MAKE:-make}
OUT=build/bench
RESULTS=$OUT/results.txt

LUA54=${BENCH_LUA:-lua5.4}
LUAJIT=${BENCH_LUAJIT:-luajit}
command -v "$LUAJIT" >/dev/null 2>&1 || LUAJIT=

ROCK=${BENCH_ROCK:-0}
[ "$ROCK" = 0 ] && ROCK=
# where okofdb comes from: this checkout's build, or the installed rock
rock_paths() { # lua-version tree -> "LUA_PATH;;" "LUA_CPATH" for okofdb
  local tree=()
  [ -n "$2" ] && tree=(--tree "$2")
  luarocks --lua-version "$1" "${tree[@]}" path --lr-path
  luarocks --lua-version "$1" "${tree[@]}" path --lr-cpath
}
if [ -n "$ROCK" ]; then
  mapfile -t p54 < <(rock_paths 5.4 "${BENCH_ROCKTREE:-}")
  mapfile -t pjit < <(rock_paths 5.1 "${BENCH_ROCKTREE:+$BENCH_ROCKTREE-5.1}")
  env54=(env "LUA_PATH=${p54[0]};;" "LUA_CPATH=$OUT/?.so;${p54[1]};;")
  envjit=(env "LUA_PATH=${pjit[0]};;" "LUA_CPATH=$OUT/luajit/?.so;${pjit[1]};;")
else
  env54=(env "LUA_PATH=lua/?.lua;;" "LUA_CPATH=$OUT/?.so;build/?.so;;")
  envjit=(env "LUA_PATH=lua/?.lua;;" "LUA_CPATH=$OUT/luajit/?.so;build/luajit/?.so;;")
fi

say() { echo "bench: $*" >&2; }

report() {
  local args=(--out "$OUT/report.md" --chart-data "$OUT/chart.dat")
  if [ -z "$QUICK" ] && [ "${BENCH_UPDATE_DOCS:-1}" != 0 ] && ! grep -q '^BENCH info .*quick=1' "$RESULTS"; then
    args+=(--update BENCHMARKS.md --chart bench/chart.png)
  else
    args+=(--chart "$OUT/chart.png")
  fi
  "$LUA54" bench/report.lua "${args[@]}" "$RESULTS"
}

if [ "${1:-}" = report ]; then
  report
  exit 0
fi

# ---- build --------------------------------------------------------------
mkdir -p "$OUT" "$OUT/luajit"
say "building"
if [ -z "$ROCK" ]; then
  "$MAKE" -s build/okofdb/core.so
  [ -z "$LUAJIT" ] || "$MAKE" -s build/luajit/okofdb/core.so
fi
"$CC" -O2 -o "$OUT/floor" "$FLOOR_SRC"
"$CC" -O2 -Wall -Wextra -o "$OUT/snappy_time" bench/snappy_time.c -lsnappy
# shellcheck disable=SC2046
"$CC" -O2 -Wall -Wextra -shared -fPIC $(pkg-config --cflags lua5.4) -o "$OUT/clock.so" bench/clock.c
if [ -n "$LUAJIT" ]; then
  # shellcheck disable=SC2046
  "$CC" -O2 -Wall -Wextra -shared -fPIC $(pkg-config --cflags luajit) -o "$OUT/luajit/clock.so" bench/clock.c
fi

HAVE_ETCD=
if [ "${BENCH_ETCD:-1}" = 0 ]; then
  say "BENCH_ETCD=0: no etcd rows"
elif ! command -v etcd >/dev/null 2>&1 || ! command -v etcdctl >/dev/null 2>&1; then
  say "etcd or etcdctl not installed (Debian: etcd-server, etcd-client): no etcd rows"
elif ! pkg-config --exists libcurl; then
  say "libcurl not found (Debian: libcurl4-openssl-dev): no etcd rows"
else
  HAVE_ETCD=1
  # shellcheck disable=SC2046
  "$CC" -O2 -Wall -Wextra -o "$OUT/etcd_floor" bench/etcd_floor.c $(pkg-config --cflags --libs libcurl)
  # the plug-in okofdb.etcd (without it only the floor runs)
  if [ -z "$ROCK" ]; then
    "$MAKE" -s build/okofdb/etcd.so || say "okofdb.etcd did not build: only the etcd floor runs"
    [ -z "$LUAJIT" ] || "$MAKE" -s build/luajit/okofdb/etcd.so || say "okofdb.etcd for LuaJIT did not build"
  fi
fi

HAVE_DBI=
if "$LUA54" -e 'require "DBI"; require "dbd.sqlite3"' 2>/dev/null; then
  HAVE_DBI=1
else
  say "LuaDBI with SQLite (lua-dbi-sqlite3) not found: no sqlite peers"
fi

# ---- where ----------------------------------------------------------------
# floor's names for file system types
fsname() {
  case "$(stat -f -c %t "$1")" in
    ef53) echo ext4 ;;
    1021994) echo tmpfs ;;
    58465342) echo xfs ;;
    9123683e) echo btrfs ;;
    *) echo "0x$(stat -f -c %t "$1")" ;;
  esac
}

TMPROOTS=()
cleanup() {
  local d
  for d in "${TMPROOTS[@]}"; do rm -rf "$d"; done
}
trap cleanup EXIT

ROOTS=()
FSES=()
SPECS=()
for d in $DIRS; do
  mkdir -p "$d"
  d=$(cd "$d" && pwd -P)
  # one root per run under shared places like /dev/shm; a project dir is ours
  case "$d" in
    "$REPO"/*) root=$d ;;
    *) root=$(mktemp -d "$d/okofdb-bench.XXXXXX"); TMPROOTS+=("$root") ;;
  esac
  # ext4 without a journal: fresh dirs under a chattr +T dir get their own
  # block group (BENCHMARKS.md, "Measuring"); harmless elsewhere, may fail
  chattr +T "$root" 2>/dev/null || true
  ROOTS+=("$root")
  FSES+=("$(fsname "$root")")
  if [ "${FSES[-1]}" = tmpfs ]; then SPECS+=("$SPEC"); else SPECS+=("$DISK_SPEC"); fi
done

# ---- the run ----------------------------------------------------------------
: >"$RESULTS"
log() { tee -a "$RESULTS"; }
note() { echo "NOTE $*" | log >/dev/null; }

commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git status --porcelain -- c lua 2>/dev/null | wc -l)
echo "BENCH info date=$(date -u +%Y-%m-%dT%H:%MZ) commit=$commit dirty_core_files=$dirty quick=${QUICK:-0} reps=$REPS module=$([ -n "$ROCK" ] && echo rock || echo build)" | log
modpath() { "$@" -e 'print((package.searchpath("okofdb.core", package.cpath)))' 2>/dev/null || echo '?'; }
note "okofdb module: $(modpath "${env54[@]}" "$LUA54")${LUAJIT:+, $(modpath "${envjit[@]}" "$LUAJIT")}"
note "nproc: $(nproc); CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'); RAM: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
note "kernel: $(uname -sr); $("$LUA54" -v 2>&1 | awk 'NR==1 {print $1, $2}')${LUAJIT:+; $("$LUAJIT" -v 2>&1 | awk 'NR==1 {print $1, $2}')}; gcc $("$CC" -dumpfullversion); snappy $(dpkg-query -W -f='${Version}' libsnappy-dev 2>/dev/null || echo '?'); SQLite $(dpkg-query -W -f='${Version}' libsqlite3-0 2>/dev/null || echo '?')"
for i in "${!ROOTS[@]}"; do
  r=${ROOTS[$i]}
  src=$(df --output=source "$r" | tail -n1)
  extra=""
  if [ "${FSES[$i]}" = ext4 ]; then
    dev=$(basename "$src")
    if compgen -G "/proc/fs/jbd2/$dev-*" >/dev/null; then
      extra=", with a journal"
    else
      extra=", no journal"
    fi
    lsattr -d "$r" 2>/dev/null | grep -q T && extra="$extra, chattr +T"
  fi
  rel=${r#"$REPO"/}
  case "$r" in /dev/shm/*) rel=/dev/shm ;; esac
  note "${FSES[$i]} at $rel: $src$extra"
  echo "BENCH dir fs=${FSES[$i]} path=$rel spec=${SPECS[$i]}" | log >/dev/null
done

note "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg) (the machine may be shared: compare ratios, not absolute times)"
t0=$(date +%s)
# Run one tool on one size in a fresh directory under the root; the
# directory gets chattr +T too, so that on ext4 each sequence directory the
# tool makes in it lands in a block group of its own, away from the inodes
# the previous tool (and the tool's previous sequence) deleted.
run_one() { # impl-name cmd...
  local name=$1
  shift
  local d="$root/run.$$.$rep.$size.$name"
  mkdir "$d"
  chattr +T "$d" 2>/dev/null || true
  "$@" "$d" | log
  rmdir "$d" 2>/dev/null || rm -rf "$d"
}

for rep in $(seq 1 "$REPS"); do
  for i in "${!ROOTS[@]}"; do
    root=${ROOTS[$i]}
    fs=${FSES[$i]}
    say "rep $rep/$REPS on $fs ($(($(date +%s) - t0)) s)"
    echo "BENCH rep=$rep fs=$fs" | log >/dev/null
    # one size at a time, every tool in turn
    for item in ${SPECS[$i]//,/ }; do
      size=${item%%:*}
      bench() { "${env54[@]}" "$LUA54" bench/okofdb_bench.lua -t "$TEXT" -s "$item" -f "$fs" -i "$@"; }
      benchjit() { "${envjit[@]}" "$LUAJIT" bench/okofdb_bench.lua -t "$TEXT" -s "$item" -f "$fs" -i "$@"; }
      run_one floor "$OUT/floor" -t "$TEXT" -s "$item"
      run_one okofdb54 bench okofdb
      [ -z "$LUAJIT" ] || run_one okofdbjit benchjit okofdb
      [ "$NOCOMP" = 0 ] || run_one okofdbnocomp bench okofdb -c off
      [ "$NOCOMP" = 0 ] || [ -z "$LUAJIT" ] || run_one okofdbnocompjit benchjit okofdb -c off
      run_one atomic54 bench luaatomic
      [ -z "$LUAJIT" ] || run_one atomicjit benchjit luaatomic
      run_one naive54 bench luanaive
      if [ -n "$HAVE_DBI" ]; then
        run_one sqlitefast bench sqlite-fast
        run_one sqlitedurable bench sqlite-durable
      fi
    done
    "$OUT/snappy_time" -t "$TEXT" -s 65536 -f "$fs" -m "$([ -n "$QUICK" ] && echo 0.05 || echo 0.2)" 2>/dev/null | log
  done
done

if [ -n "$HAVE_ETCD" ]; then
  say "okofdb on etcd ($(($(date +%s) - t0)) s)"
  etcd_clients=(-a "okofdb-lua5.4=${env54[*]} $LUA54")
  [ -z "$LUAJIT" ] || etcd_clients+=(-a "okofdb-luajit=${envjit[*]} $LUAJIT")
  "${env54[@]}" "$LUA54" bench/etcd_bench.lua run -F "$OUT/etcd_floor" -t "$TEXT" \
    -s "$ETCD_SPEC" -r "$REPS" "${etcd_clients[@]}" | log
else
  note "etcd: not measured (see the bench's messages)"
fi

if [ "${BENCH_MEMORY:-1}" != 0 ]; then
  say "memory and scale on ${FSES[0]} ($(($(date +%s) - t0)) s)"
  echo "BENCH memory fs=${FSES[0]}" | log >/dev/null
  d="${ROOTS[0]}/mem.$$"
  mkdir -p "$d"
  chattr +T "$d" 2>/dev/null || true
  "${env54[@]}" "$LUA54" bench/memory.lua ${QUICK:+-q} -f "${FSES[0]}" -t "$TEXT" "$d" | log
  rm -rf "$d"
fi

for i in "${!ROOTS[@]}"; do
  say "batch writes on ${FSES[$i]} ($(($(date +%s) - t0)) s)"
  d="${ROOTS[$i]}/batch.$$"
  mkdir -p "$d"
  chattr +T "$d" 2>/dev/null || true
  "${env54[@]}" "$LUA54" bench/batch.lua ${QUICK:+-q} -f "${FSES[$i]}" "$d" | log
  rm -rf "$d"
done

if [ "${BENCH_CONC:-1}" != 0 ] && [ -n "$HAVE_DBI" ]; then
  for i in "${!ROOTS[@]}"; do
    [ -n "$QUICK" ] && [ "$i" -gt 0 ] && break
    say "concurrency on ${FSES[$i]} ($(($(date +%s) - t0)) s)"
    echo "BENCH conc fs=${FSES[$i]}" | log >/dev/null
    d="${ROOTS[$i]}/conc.$$"
    mkdir -p "$d"
    chattr +T "$d" 2>/dev/null || true
    "${env54[@]}" "$LUA54" bench/concurrency.lua -d "$CONC_SECONDS" -p "$CONC_PROCS" -f "${FSES[$i]}" -t "$TEXT" "$d" | log
    rm -rf "$d"
  done
fi
note "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg); measured in $(($(date +%s) - t0)) s"
say "measured in $(($(date +%s) - t0)) s; results in $RESULTS"

report
