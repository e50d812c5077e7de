# okofdb -- build, test and run the demo.
#   make            the Lua module build/okofdb/core.so (Lua 5.4 by default)
#   make test       everything below: C driver and example, specs, specs
#                   under ASan+UBSan, the rock (lint, make, specs against it)
#   make demo       examples/demo.lua: keeps some config in a default dir
#   make asan       the specs against an ASan+UBSan build
#   make valgrind   the C driver and the specs under valgrind memcheck
#   make lint       luarocks lint and cppcheck
#   make faults     every libc call of every operation failed in turn
#   make reliability  crash, concurrency, strace, hostile input; RELIABILITY.md
#   make fuzz       the libFuzzer targets, FUZZ_SECONDS each
#   make hosts      nginx (OpenResty style), Neovim, embedded Lua
#   make bench      okofdb beside floor.c and its peers; BENCHMARKS.md
#   make docs       the LDoc reference of the Lua API in build/docs
#   make install    luarocks make (installs the rock for $(LUA_VERSION))
#   make clean

LUA_VERSION ?= 5.4
LUA         ?= lua$(LUA_VERSION)
BUSTED      ?= /usr/bin/busted
LUAROCKS    ?= luarocks
CC          ?= cc
PKG_CONFIG  ?= pkg-config

LUA_CFLAGS    ?= $(shell $(PKG_CONFIG) --cflags lua$(LUA_VERSION) 2>/dev/null)
SNAPPY_DIR    ?=
SNAPPY_CFLAGS ?= $(if $(SNAPPY_DIR),-I$(SNAPPY_DIR)/include)
SNAPPY_LIBS   ?= $(if $(SNAPPY_DIR),-L$(SNAPPY_DIR)/lib) -lsnappy

WARN     = -Wall -Wextra -Wshadow -Wundef -Wwrite-strings -Wmissing-prototypes \
           -Wstrict-prototypes -Wconversion -Werror
CFLAGS  ?= -O2 -g
ALL_CFLAGS = -std=c99 $(WARN) $(CFLAGS) -fPIC -fvisibility=hidden -Ic $(SNAPPY_CFLAGS)
SAN      = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

CORE_SRC = c/okof.c c/okof_crc32c.c c/okof_err.c c/okof_frame.c c/okof_io.c c/okof_load.c \
           c/okof_ttl.c \
           c/okof_iter.c c/okof_key.c c/okof_write.c
CORE_HDR = c/okof.h c/okof_crc32c.h c/okof_crc32c_table.h c/okof_frame.h \
           c/okof_int.h c/okof_io.h c/okof_key.h c/okof_load.h c/okof_ttl.h
BIND_SRC = c/lua_okofdb.c c/lua_args.c c/lua_codec.c c/lua_iter.c c/lua_ops.c \
           c/lua_values.c
BIND_HDR = c/compat.h c/lua_codec.h c/lua_okofdb.h

SO       = build/okofdb/core.so
ASAN_SO  = build-asan/okofdb/core.so
EXAMPLE  = build/example
CTEST    = build/okof_test
ASAN_CTEST = build-asan/okof_test

# How the specs find the module under test; SPEC_CPATH is overridden to
# run them against the ASan build or the installed rock.
SPEC_PATH  = lua/?.lua;spec/?.lua;;
SPEC_CPATH = build/?.so;;
SPEC_ENV   = LUA_PATH='$(SPEC_PATH)' LUA_CPATH='$(SPEC_CPATH)' OKOF_LUA=$(LUA)

ASAN_RT   = $(shell $(CC) -print-file-name=libasan.so) $(shell $(CC) -print-file-name=libubsan.so)
ASAN_ENV  = LD_PRELOAD='$(ASAN_RT)' ASAN_OPTIONS=detect_leaks=1:exitcode=86 \
            UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

# The spec files every interpreter runs; spec/faults needs its shim
# preloaded and runs on its own (make faults).
BUSTED_ARGS = --exclude-pattern=faults_spec --exclude-tags=slow spec

FAULT_SHIM = build/faults/shim.so

ROCKTREE = build/rocktree
SCRATCH  = build/scratch

# Every Lua the specs run under: those of LUAS that are installed.
LUAS      ?= lua5.1 lua5.2 lua5.3 lua5.4 luajit
HAVE_LUAS  = $(foreach l,$(LUAS),$(if $(shell command -v $(l) 2>/dev/null),$(l)))
pc_name    = $(if $(filter luajit,$(1)),luajit,$(1))

.PHONY: all test docs hosts faults reliability bench bench-smoke spec spec-all asan ctest example rock valgrind lint demo install clean

all: $(SO)

$(SO): $(CORE_SRC) $(BIND_SRC) $(CORE_HDR) $(BIND_HDR)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(LUA_CFLAGS) -shared -o $@ $(CORE_SRC) $(BIND_SRC) $(SNAPPY_LIBS) -lm

$(ASAN_SO): $(CORE_SRC) $(BIND_SRC) $(CORE_HDR) $(BIND_HDR)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(SAN) $(LUA_CFLAGS) -shared -o $@ $(CORE_SRC) $(BIND_SRC) $(SNAPPY_LIBS) -lm

$(EXAMPLE): examples/c/example.c $(CORE_SRC) $(CORE_HDR)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ examples/c/example.c $(CORE_SRC) $(SNAPPY_LIBS)

$(CTEST): spec/c/okof_test.c $(CORE_SRC) $(CORE_HDR)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ spec/c/okof_test.c $(CORE_SRC) $(SNAPPY_LIBS)

$(ASAN_CTEST): spec/c/okof_test.c $(CORE_SRC) $(CORE_HDR)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(SAN) -o $@ spec/c/okof_test.c $(CORE_SRC) $(SNAPPY_LIBS)

# The module for one more Lua: build/lua5.1/okofdb/core.so, build/luajit/...
build/%/okofdb/core.so: $(CORE_SRC) $(BIND_SRC) $(CORE_HDR) $(BIND_HDR)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $$($(PKG_CONFIG) --cflags $(call pc_name,$*)) -shared -o $@ \
	  $(CORE_SRC) $(BIND_SRC) $(SNAPPY_LIBS) -lm

# The same, sanitized: build-asan/luajit/okofdb/core.so
build-asan/%/okofdb/core.so: $(CORE_SRC) $(BIND_SRC) $(CORE_HDR) $(BIND_HDR)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(SAN) $$($(PKG_CONFIG) --cflags $(call pc_name,$*)) -shared -o $@ \
	  $(CORE_SRC) $(BIND_SRC) $(SNAPPY_LIBS) -lm

test: lint docs ctest example spec-all asan faults rock hosts fuzz reliability valgrind bench-smoke

# A short run of the benchmark, to keep it working (it asserts no speed).
bench-smoke: $(SO)
	BENCH_QUICK=1 MAKE='$(MAKE)' bench/run.sh >build/bench-smoke.log 2>&1 || \
	  { tail -n 40 build/bench-smoke.log; exit 1; }
	@grep -c '^RESULT' build/bench/results.txt | sed 's/^/bench-smoke: RESULT lines: /' 

$(FAULT_SHIM): spec/faults/shim.c
	@mkdir -p $(@D)
	$(CC) -shared -fPIC -O1 -o $@ spec/faults/shim.c -ldl

# Fault injection: each libc call of open/put/get/del/each/keys/sweep is
# made to fail in turn (ENOSPC, EIO, EACCES, EINTR, short transfers).
faults: $(SO) $(FAULT_SHIM)
	$(SPEC_ENV) LD_PRELOAD=$(CURDIR)/$(FAULT_SHIM) $(LUA) $(BUSTED) spec/faults/faults_spec.lua

# The real hosts: nginx with the Lua module (2 workers), Neovim, and a C
# program that embeds Lua 5.4 with okofdb linked in.
hosts: build/luajit/okofdb/core.so
	examples/openresty/test.sh
	examples/nvim/test.sh
	examples/embed/test.sh

# The plain-C driver of the core, normal and sanitized.
ctest: $(CTEST) $(ASAN_CTEST)
	rm -rf $(SCRATCH)/ctest && mkdir -p $(SCRATCH)/ctest
	$(CTEST) $(SCRATCH)/ctest/plain
	ASAN_OPTIONS=detect_leaks=1 $(ASAN_CTEST) $(SCRATCH)/ctest/asan

example: $(EXAMPLE)
	rm -rf $(SCRATCH)/example
	$(EXAMPLE) $(SCRATCH)/example

spec: $(SO)
	$(SPEC_ENV) $(LUA) $(BUSTED) $(BUSTED_ARGS)

# The whole suite under every installed Lua; fails if any run fails.
spec-all: $(foreach l,$(HAVE_LUAS),build/$(l)/okofdb/core.so)
	@set -e; for l in $(HAVE_LUAS); do \
	  echo "== specs under $$l"; \
	  LUA_PATH='$(SPEC_PATH)' LUA_CPATH="build/$$l/?.so;;" OKOF_LUA=$$l \
	    $$l $(BUSTED) $(BUSTED_ARGS); \
	done

# The specs against the sanitized module, under $(LUA) and under LuaJIT
# (whose C API runs the collector, and finalizers, before it copies a
# string in: spec/finalizer_spec.lua).
ASAN_LUAS = $(LUA) $(filter luajit,$(HAVE_LUAS))
asan: $(ASAN_SO) $(if $(filter luajit,$(HAVE_LUAS)),build-asan/luajit/okofdb/core.so)
	@set -e; for l in $(ASAN_LUAS); do \
	  d=build-asan; [ $$l = luajit ] && d=build-asan/luajit; \
	  echo "== sanitized specs under $$l"; \
	  LUA_PATH='$(SPEC_PATH)' LUA_CPATH="$$d/?.so;;" OKOF_LUA=$$l $(ASAN_ENV) \
	    $$l $(BUSTED) $(BUSTED_ARGS); \
	done

# The rock: lint, build and install it offline into a private tree, then
# run the specs against what was installed; then build and install it for
# every other installed Lua (LuaJIT uses the 5.1 rock) and try it there.
ROCK_LUAS = $(filter-out $(LUA_VERSION),$(patsubst lua%,%,$(filter lua5.%,$(HAVE_LUAS))))
ROCK_SMOKE = local o = require "okofdb"; local d = assert(o.open(os.getenv("ROCK_DIR"))); \
  assert(d:put("k", "v")); assert(d:get("k") == "v"); print(_VERSION, o._VERSION, "rock ok")

rock:
	$(LUAROCKS) lint okofdb-scm-1.rockspec
	rm -rf $(ROCKTREE) $(ROCKTREE)-*
	$(LUAROCKS) --lua-version $(LUA_VERSION) --tree $(ROCKTREE) make --no-doc okofdb-scm-1.rockspec
	LUA_PATH='$(ROCKTREE)/share/lua/$(LUA_VERSION)/?.lua;spec/?.lua;;' \
	LUA_CPATH='$(ROCKTREE)/lib/lua/$(LUA_VERSION)/?.so;;' OKOF_LUA=$(LUA) \
	$(LUA) $(BUSTED) $(BUSTED_ARGS)
	@set -e; for v in $(ROCK_LUAS); do \
	  echo "== the rock for Lua $$v"; \
	  $(LUAROCKS) --lua-version $$v --tree $(ROCKTREE)-$$v make --no-doc okofdb-scm-1.rockspec >/dev/null; \
	  for l in lua$$v $$([ $$v = 5.1 ] && command -v luajit >/dev/null && echo luajit); do \
	    rm -rf $(SCRATCH)/rock-$$l; \
	    LUA_PATH="$(ROCKTREE)-$$v/share/lua/5.1/?.lua;$(ROCKTREE)-$$v/share/lua/$$v/?.lua" \
	    LUA_CPATH="$(ROCKTREE)-$$v/lib/lua/$$v/?.so" \
	      ROCK_DIR=$(SCRATCH)/rock-$$l $$l -e '$(ROCK_SMOKE)'; \
	  done; \
	done
	rm -rf okofdb c/*.o

valgrind: $(SO) $(CTEST)
	rm -rf $(SCRATCH)/vg && mkdir -p $(SCRATCH)/vg
	valgrind --error-exitcode=99 --leak-check=full $(CTEST) $(SCRATCH)/vg/c
	$(SPEC_ENV) valgrind --error-exitcode=99 --leak-check=full --trace-children=no \
	  $(LUA) $(BUSTED) --exclude-pattern=faults_spec --exclude-tags=slow,gcstress spec

lint:
	$(LUAROCKS) lint okofdb-scm-1.rockspec
	cppcheck --error-exitcode=1 --enable=warning,portability --std=c99 -q \
	  --suppress=missingIncludeSystem -Ic $(CORE_SRC)
	cppcheck --error-exitcode=1 --enable=warning,portability --std=c99 -q \
	  --suppress=missingIncludeSystem -Ic $(LUA_CFLAGS) $(BIND_SRC)

# The reference of the Lua API, from the LDoc comments of lua/okofdb.lua.
# LDoc's markdown comes from lua-markdown, a Lua 5.1 module on Debian.
LDOC ?= lua5.1 $(shell command -v ldoc)
docs:
	@lua5.1 -e 'require "markdown"' 2>/dev/null || { echo "make docs needs lua-markdown"; exit 1; }
	$(LDOC) --fatalwarnings .
	@echo "docs: build/docs/index.html"

demo: $(SO)
	LUA_PATH='lua/?.lua;;' LUA_CPATH='build/?.so;;' $(LUA) examples/demo.lua

install:
	$(LUAROCKS) --lua-version $(LUA_VERSION) make okofdb-scm-1.rockspec

clean:
	rm -rf build build-asan okofdb c/*.o

# The reliability run: the slow specs (500 SIGKILLs, 4 writers and 4
# readers for 10 s), strace order, hostile directories, bad input,
# corruption and fault injection; RELIABILITY.md is made from its log.
REL_LOG = build/reliability.log
REL_ENV = $(SPEC_ENV) OKOF_RELIABILITY_LOG=$(CURDIR)/$(REL_LOG)
# $(call rel_step,NAME,COMMAND): run it, keep its output, log its status
rel_step = $(2) >build/reliability-$(1).out 2>&1; \
  echo "RELIABILITY run.$(1)=$$?" >>$(REL_LOG); cat build/reliability-$(1).out

reliability: $(SO) $(FAULT_SHIM)
	@mkdir -p build && rm -f $(REL_LOG) build/reliability-*.out
	$(call rel_step,slow,$(REL_ENV) $(LUA) $(BUSTED) --tags=slow spec/reliability)
	$(call rel_step,quick,$(REL_ENV) $(LUA) $(BUSTED) --exclude-tags=slow spec/reliability)
	$(call rel_step,corruption,$(REL_ENV) $(LUA) $(BUSTED) spec/corruption_spec.lua)
	$(call rel_step,faults,OKOF_RELIABILITY_LOG=$(CURDIR)/$(REL_LOG) $(MAKE) --no-print-directory faults)
	$(LUA) tools/reliability_report.lua --log $(REL_LOG) --out RELIABILITY.md \
	  --command 'make reliability' --fuzz-dir build/fuzz \
	  --step slow=build/reliability-slow.out --step quick=build/reliability-quick.out \
	  --step corruption=build/reliability-corruption.out --step faults=build/reliability-faults.out

# make bench: okofdb against the file system's floor and its peers, on
# tmpfs and on the project's disk (bench/run.sh; BENCH_QUICK=1 for a short
# smoke run, BENCH_REPS, BENCH_DIRS...: see its header and BENCHMARKS.md).
bench: $(SO) $(if $(shell command -v luajit 2>/dev/null),build/luajit/okofdb/core.so)
	MAKE='$(MAKE)' bench/run.sh

# libFuzzer targets: the value decoder and the key codec (FUZZ_SECONDS each).
include fuzz/fuzz.mk
