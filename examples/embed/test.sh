#!/usr/bin/env bash
# examples/embed/test.sh -- build and test the embedding example.
#
#   examples/embed/test.sh        (from the repository's top directory)
#
# Builds build/embed: Lua 5.4 with okofdb compiled in (c/okof*.c and
# the binding c/lua_*.c), then checks that
#   - c/okof*.c is exactly the core library (the Makefile's CORE_SRC);
#   - the binary has no dynamic dependency on an okofdb shared object;
#   - examples/embed/config.lua run twice on a temporary store: the second
#     run sees the first run's writes, and the host reads values back;
#   - errors (a script that cannot be loaded or fails, a store that cannot
#     be opened, bad usage) go to stderr with a non-zero exit;
#   - lua/okofdb.lua works on top of the linked-in okofdb.core;
#   - under valgrind (when installed), nothing leaks.
# Prints "embed: N passed, M failed"; exits non-zero when anything failed.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 2
CC=${CC:-cc}
BIN=build/embed
WARN=(-Wall -Wextra -Wshadow -Wundef -Wwrite-strings -Wmissing-prototypes
      -Wstrict-prototypes -Wconversion -Werror)

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
show() { # show FILE: a file's lines, indented, after a failure
  sed 's/^/#   /' "$1"
}
summary() {
  echo "embed: $passed passed, $failed failed"
  [ "$failed" -eq 0 ]
}

T=$(mktemp -d "${TMPDIR:-/tmp}/okofdb-embed.XXXXXX") || exit 2
trap 'rm -rf "$T"' EXIT

# ---- build ------------------------------------------------------------------

# The glob the build uses must be the core library and nothing else.
glob=$(printf '%s\n' c/okof*.c | sort | tr '\n' ' ')
# shellcheck disable=SC2016 # $(CORE_SRC) is for make, not the shell
core=$(printf 'print-core-src:\n\t@echo $(CORE_SRC)\n' |
  make --no-print-directory -s -f Makefile -f - print-core-src 2>/dev/null |
  tr ' ' '\n' | sed '/^$/d' | sort | tr '\n' ' ')
if [ -n "$core" ] && [ "$glob" = "$core" ]; then
  pass "c/okof*.c is the core library: $glob"
else
  fail "c/okof*.c is '$glob', the Makefile's CORE_SRC '$core'"
fi

mkdir -p build
# shellcheck disable=SC2046 # pkg-config's output is meant to be split
if "$CC" -std=c99 "${WARN[@]}" -Ic examples/embed/main.c c/okof*.c c/lua_*.c \
  $(pkg-config --cflags --libs lua5.4) -lsnappy -lm -o "$BIN" 2>"$T/cc.err"; then
  pass "built $BIN with $CC, no warnings"
else
  fail "building $BIN with $CC"
  show "$T/cc.err"
  summary
  exit 1
fi

if ldd "$BIN" >"$T/ldd" 2>&1 && ! grep -qi okof "$T/ldd"; then
  pass "no dynamic dependency on an okofdb shared object"
else
  fail "ldd $BIN mentions okofdb or failed"
  show "$T/ldd"
fi
if nm "$BIN" >"$T/nm" 2>&1 && grep -q ' T luaopen_okofdb_core$' "$T/nm"; then
  pass "luaopen_okofdb_core is linked into the binary"
else
  fail "luaopen_okofdb_core is not defined in $BIN"
fi

# ---- runs -------------------------------------------------------------------

# run NAME ARGS...: run the binary; stdout, stderr and status in $T/NAME.*
run() {
  local name=$1
  shift
  "$BIN" "$@" >"$T/$name.out" 2>"$T/$name.err"
  echo $? >"$T/$name.rc"
}

# expect_ok NAME: the run exited 0 with nothing on stderr.
expect_ok() {
  if [ "$(cat "$T/$1.rc")" = 0 ] && [ ! -s "$T/$1.err" ]; then
    pass "$1: exit 0, nothing on stderr"
  else
    fail "$1: exit $(cat "$T/$1.rc")"
    show "$T/$1.err"
  fi
}

# expect_fail NAME RC TEXT: the run exited RC with TEXT on stderr.
expect_fail() {
  if [ "$(cat "$T/$1.rc")" = "$2" ] && grep -qF -- "$3" "$T/$1.err"; then
    pass "$1: exit $2, stderr says: $3"
  else
    fail "$1: want exit $2 and '$3' on stderr, got exit $(cat "$T/$1.rc")"
    show "$T/$1.err"
  fi
}

# expect_line NAME LINE / expect_no_line NAME TEXT: in the run's stdout.
expect_line() {
  if grep -qxF -- "$2" "$T/$1.out"; then
    pass "$1: '$2'"
  else
    fail "$1: no line '$2'"
    show "$T/$1.out"
  fi
}
expect_no_line() {
  if ! grep -qF -- "$2" "$T/$1.out"; then
    pass "$1: nothing like '$2'"
  else
    fail "$1: unexpected '$2'"
    show "$T/$1.out"
  fi
}

store="$T/store"
config=examples/embed/config.lua

run first "$config" "$store" theme=dark font_size=14
expect_ok first
expect_line first "run 1, store $store"
expect_line first "changed theme: light -> dark"
expect_line first "changed font_size: 12 -> 14"
expect_line first "  editor    = vi     (default)"
expect_line first "  theme     = dark   (stored)"
expect_line first "stored: setting.font_size=14 setting.theme=dark"
expect_line first "host: the script says theme = dark"
expect_line first "host: the store says setting.theme = dark"

run second "$config" "$store"
expect_ok second
expect_line second "run 2, store $store"
expect_no_line second "changed"
expect_line second "  font_size = 14     (stored)"
expect_line second "  theme     = dark   (stored)"
expect_line second "stored: setting.font_size=14 setting.theme=dark"
expect_line second "host: the script says theme = dark"
expect_line second "host: the store says setting.theme = dark"

# shellcheck disable=SC2012 # the names are plain: that is the point
files=$(cd "$store" && ls -A | tr '\n' ' ')
if [ "$files" = "runs setting.font_size setting.theme " ]; then
  pass "one file per key, named as the key: $files"
else
  fail "the store holds: $files"
fi

run third "$config" "$store" theme= editor=vi
expect_ok third
expect_line third "run 3, store $store"
expect_line third "reset theme: dark -> light"
expect_no_line third "changed editor"
expect_line third "  theme     = light  (default)"
expect_line third "stored: setting.font_size=14"
expect_line third "host: the store says setting.theme = (not stored)"

# ---- errors -----------------------------------------------------------------

run unknown "$config" "$store" colour=red
expect_fail unknown 1 'unknown setting "colour"'
run noscript "$T/missing.lua" "$store"
expect_fail noscript 1 "cannot open $T/missing.lua"
printf 'return {\n' >"$T/syntax.lua"
run syntax "$T/syntax.lua" "$store"
expect_fail syntax 1 "syntax.lua:"
printf 'return 42\n' >"$T/number.lua"
run number "$T/number.lua" "$store"
expect_fail number 1 "returned number, not a table"
: >"$T/file"
run notdir "$config" "$T/file/store"
expect_fail notdir 1 "[ENOTDIR]"
printf 'return {}\n' >"$T/empty.lua"
run nostore "$T/empty.lua" "$T/absent" # the host opens it without create
expect_fail nostore 1 "reading the store back: open $T/absent: No such file or directory [ENOENT]"
run usage "$config"
expect_fail usage 2 "usage:"
run badarg "$config" "$store" =x
expect_fail badarg 2 "not NAME=VALUE: =x"

# ---- lua/okofdb.lua on top of the linked-in okofdb.core ---------------------

cat >"$T/wrapper.lua" <<'EOF'
local dir = ...
local core = require("okofdb.core")
assert(core == require("okofdb"), "okofdb and okofdb.core differ")
package.loaded.okofdb = nil
package.path = "lua/?.lua" -- the repository's okofdb.lua ...
package.cpath = ""         -- ... and no shared object at all
local okofdb = require("okofdb")
assert(okofdb ~= core, "lua/okofdb.lua was not loaded")
assert(type(okofdb.open) == "function" and okofdb._VERSION == core._VERSION)
local db <close> = assert(okofdb.open(dir))
assert(db:get("setting.font_size") == "14", "the earlier runs' value")
for line in io.lines("/proc/self/maps") do
  assert(not line:find("okofdb[^/]*%.so") and not line:find("/core%.so"), line)
end
print("lua/okofdb.lua: " .. okofdb._VERSION .. ", " .. tostring(db))
return { theme = db:get("setting.theme") or "light" }
EOF
run wrapper "$T/wrapper.lua" "$store"
expect_ok wrapper
expect_line wrapper "lua/okofdb.lua: okofdb 0.1.0, okofdb: $store"
expect_line wrapper "host: the script says theme = light"

# ---- memory -----------------------------------------------------------------

# vg ARGS...: the binary under valgrind's memcheck.
vg() {
  valgrind -q --leak-check=full --show-leak-kinds=all --errors-for-leak-kinds=all \
    --error-exitcode=99 "$BIN" "$@" >/dev/null 2>"$T/vg.err"
  if [ $? -ne 99 ] && ! grep -q '^==[0-9]*==' "$T/vg.err"; then
    pass "valgrind: no errors, nothing leaked: embed ${*:2}"
  else
    fail "valgrind: embed $*"
    show "$T/vg.err"
  fi
}
if command -v valgrind >/dev/null 2>&1; then
  vg "$config" "$T/vg" theme=dark font_size=9
  vg "$config" "$T/vg" theme=
  vg "$config" "$T/vg" colour=red
  vg "$T/empty.lua" "$T/absent"
else
  echo "# valgrind not installed: memory checks skipped"
fi

summary
