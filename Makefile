# okofdb -- build, test and run the demo.
#   make            the Lua module build/okofdb/core.so (Lua 5.4 by default)
#   make test       everything below: C driver and example, specs, specs
#                   under ASan+UBSan, the rock (lint, make, specs against it)
#   make demo       examples/demo.lua: keeps some config in a default dir
#   make asan       the specs against an ASan+UBSan build
#   make valgrind   the C driver and the specs under valgrind memcheck
#   make lint       luarocks lint and cppcheck
#   make faults     every libc call of every operation failed in turn
#   make reliability-check  crash, concurrency, strace, hostile input;
#                   the report in build/RELIABILITY.md
#   make reliability  the same, and updates RELIABILITY.md
#   make powercut   every state a power cut may leave, read back (two models)
#   make fuzz       the libFuzzer targets, FUZZ_SECONDS each
#   make hosts      nginx (OpenResty style), Neovim, embedded Lua
#   make bench      okofdb beside floor.c and its peers; BENCHMARKS.md
#   make docs       check every function is documented; the LDoc reference
#                   of the Lua API in build/docs
#   make install    luarocks make (installs the rock for $(LUA_VERSION))
#   make clean

LUA_VERSION ?= 5.4
LUA         ?= lua$(LUA_VERSION)
BUSTED      ?= /usr/bin/busted
LUAROCKS    ?= luarocks
CC          ?= cc
PKG_CONFIG  ?= pkg-config

LUA_CFLAGS    ?= $(shell $(PKG_CONFIG) --cflags lua$(LUA_VERSION) 2>/dev/null)
LUA_LIBS      ?= $(shell $(PKG_CONFIG) --libs lua$(LUA_VERSION) 2>/dev/null)
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
# The binding in a Lua host whose allocator fails (spec/c/lua_oom.c).
LUAOOM      = build/lua_oom
ASAN_LUAOOM = build-asan/lua_oom

# How the specs find the module under test; SPEC_CPATH is overridden to
# run them against the ASan build or the installed rock.
SPEC_PATH  = lua/?.lua;spec/?.lua;;
SPEC_CPATH = build/?.so;;
SPEC_ENV   = LUA_PATH='$(SPEC_PATH)' LUA_CPATH='$(SPEC_CPATH)' OKOF_LUA=$(LUA)

ASAN_RT   = $(shell $(CC) -print-file-name=libasan.so) $(shell $(CC) -print-file-name=libubsan.so)
ASAN_ENV  = LD_PRELOAD='$(ASAN_RT)' ASAN_OPTIONS=detect_leaks=1:exitcode=86 \
            UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

# The spec files every interpreter runs; spec/faults needs its shim
# preloaded and runs on its own (make faults); spec/etcd (tag etcd) starts
# etcd clusters and runs on its own (make etcd, make etcd-specs).
BUSTED_ARGS = --exclude-pattern=faults_spec --exclude-tags=slow,etcd spec

FAULT_SHIM = build/faults/shim.so

ROCKTREE = build/rocktree
SCRATCH  = build/scratch

# Every Lua the specs run under: those of LUAS that are installed.
LUAS      ?= lua5.1 lua5.2 lua5.3 lua5.4 luajit
HAVE_LUAS  = $(foreach l,$(LUAS),$(if $(shell command -v $(l) 2>/dev/null),$(l)))
pc_name    = $(if $(filter luajit,$(1)),luajit,$(1))

.PHONY: all test docs hosts faults powercut reliability reliability-check bench bench-smoke spec spec-all asan ctest example rock valgrind lint demo install clean etcd-specs

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

$(LUAOOM): spec/c/lua_oom.c $(CORE_SRC) $(BIND_SRC) $(CORE_HDR) $(BIND_HDR)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(LUA_CFLAGS) -o $@ spec/c/lua_oom.c $(CORE_SRC) $(BIND_SRC) \
	  $(LUA_LIBS) $(SNAPPY_LIBS) -lm

$(ASAN_LUAOOM): spec/c/lua_oom.c $(CORE_SRC) $(BIND_SRC) $(CORE_HDR) $(BIND_HDR)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(SAN) $(LUA_CFLAGS) -o $@ spec/c/lua_oom.c $(CORE_SRC) $(BIND_SRC) \
	  $(LUA_LIBS) $(SNAPPY_LIBS) -lm

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

# make test changes no tracked file: reports go to build/ (make reliability
# and make bench are the targets that rewrite RELIABILITY.md, BENCHMARKS.md
# and bench/chart.png).
test: lint docs ctest example spec-all asan faults rock hosts fuzz reliability-check valgrind bench-smoke etcd

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
	$(SPEC_ENV) LD_PRELOAD=$(CURDIR)/$(FAULT_SHIM) $(LUA) $(BUSTED) spec/faults/write_faults_spec.lua spec/faults/faults_spec.lua

PC_SHIM = build/powercut/recorder.so

$(PC_SHIM): spec/powercut/recorder.c
	@mkdir -p $(@D)
	$(CC) -std=c99 $(WARN) -shared -fPIC -O1 -o $@ spec/powercut/recorder.c -ldl

# Power loss: each workload runs under a recorder of its file system
# calls; every crash state of every prefix, under a strict POSIX and an
# ext4 model, is written out and read back (spec/powercut, docs/durability.md).
powercut: $(SO) $(PC_SHIM)
	$(SPEC_ENV) OKOF_PC_RECORDER=$(CURDIR)/$(PC_SHIM) $(LUA) $(BUSTED) --tags=powercut \
	  spec/powercut/powercut_spec.lua

# The real hosts: nginx with the Lua module (2 workers), Neovim, and a C
# program that embeds Lua 5.4 with okofdb linked in.
hosts: build/luajit/okofdb/core.so
	examples/openresty/test.sh
	examples/nvim/test.sh
	examples/embed/test.sh

# The plain-C driver of the core, normal and sanitized; the binding under
# a failing allocator, sanitized (a leak fails it).
ctest: $(CTEST) $(ASAN_CTEST) $(ASAN_LUAOOM)
	rm -rf $(SCRATCH)/ctest && mkdir -p $(SCRATCH)/ctest
	$(CTEST) $(SCRATCH)/ctest/plain
	ASAN_OPTIONS=detect_leaks=1 $(ASAN_CTEST) $(SCRATCH)/ctest/asan
	ASAN_OPTIONS=detect_leaks=1 $(ASAN_LUAOOM) $(SCRATCH)/ctest/oom

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

valgrind: $(SO) $(CTEST) $(LUAOOM)
	rm -rf $(SCRATCH)/vg && mkdir -p $(SCRATCH)/vg
	valgrind --error-exitcode=99 --leak-check=full $(CTEST) $(SCRATCH)/vg/c
	valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
	  $(LUAOOM) $(SCRATCH)/vg/oom
	$(SPEC_ENV) valgrind --error-exitcode=99 --leak-check=full --trace-children=no \
	  $(LUA) $(BUSTED) --exclude-pattern=faults_spec --exclude-tags=slow,gcstress,etcd spec

lint: etcd-lint
	$(LUAROCKS) lint okofdb-scm-1.rockspec
	cppcheck --error-exitcode=1 --enable=warning,portability --std=c99 -q \
	  --suppress=missingIncludeSystem -Ic $(CORE_SRC)
	cppcheck --error-exitcode=1 --enable=warning,portability --std=c99 -q \
	  --suppress=missingIncludeSystem -Ic $(LUA_CFLAGS) $(BIND_SRC)
	cppcheck --error-exitcode=1 --enable=warning,portability --std=c99 -q \
	  --suppress=missingIncludeSystem spec/powercut/recorder.c

# The reference of the Lua API, from the LDoc comments of lua/okofdb.lua,
# after tools/doccheck.lua has checked that every function of the binding
# and of c/okof.h is documented (docs/lua.md, docs/c.md).
# LDoc's markdown comes from lua-markdown, a Lua 5.1 module on Debian.
LDOC ?= lua5.1 $(shell command -v ldoc)
docs:
	$(LUA) tools/doccheck.lua
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
# corruption and fault injection. `make reliability-check` (part of make
# test) runs them and writes the report to build/RELIABILITY.md only;
# `make reliability` runs them and updates the tracked RELIABILITY.md.
REL_LOG = build/reliability.log
REL_OUT = build/RELIABILITY.md
REL_ENV = $(SPEC_ENV) OKOF_RELIABILITY_LOG=$(CURDIR)/$(REL_LOG)
# $(call rel_step,NAME,COMMAND): run it, keep its output, log its status
rel_step = $(2) >build/reliability-$(1).out 2>&1; \
  echo "RELIABILITY run.$(1)=$$?" >>$(REL_LOG); cat build/reliability-$(1).out

reliability-check: $(SO) $(FAULT_SHIM) $(PC_SHIM) build/okofdb/etcd.so
	@mkdir -p build && rm -f $(REL_LOG) $(REL_OUT) build/reliability-*.out
	$(call rel_step,slow,$(REL_ENV) $(LUA) $(BUSTED) --tags=slow spec/reliability)
	$(call rel_step,etcd,$(REL_ENV) $(LUA) $(BUSTED) spec/etcd/race_spec.lua spec/etcd/failover_spec.lua spec/etcd/layout_spec.lua spec/etcd/ttl_spec.lua)
	$(call rel_step,quick,$(REL_ENV) $(LUA) $(BUSTED) --exclude-tags=slow spec/reliability)
	$(call rel_step,corruption,$(REL_ENV) $(LUA) $(BUSTED) spec/corruption_spec.lua)
	$(call rel_step,faults,OKOF_RELIABILITY_LOG=$(CURDIR)/$(REL_LOG) $(MAKE) --no-print-directory faults)
	$(call rel_step,powercut,OKOF_RELIABILITY_LOG=$(CURDIR)/$(REL_LOG) $(MAKE) --no-print-directory powercut)
	$(LUA) tools/reliability_report.lua --log $(REL_LOG) --out $(REL_OUT) \
	  --command 'make reliability' --fuzz-dir build/fuzz \
	  --step slow=build/reliability-slow.out --step quick=build/reliability-quick.out \
	  --step etcd=build/reliability-etcd.out \
	  --step corruption=build/reliability-corruption.out --step faults=build/reliability-faults.out \
	  --step powercut=build/reliability-powercut.out

reliability: reliability-check
	cp $(REL_OUT) RELIABILITY.md
	@echo "reliability: RELIABILITY.md updated"

# make bench: okofdb against the file system's floor and its peers, on
# tmpfs and on the project's disk (bench/run.sh; BENCH_QUICK=1 for a short
# smoke run, BENCH_REPS, BENCH_DIRS...: see its header and BENCHMARKS.md).
bench: $(SO) $(if $(shell command -v luajit 2>/dev/null),build/luajit/okofdb/core.so)
	MAKE='$(MAKE)' bench/run.sh

# libFuzzer targets: the value decoder and the key codec (FUZZ_SECONDS each).
include fuzz/fuzz.mk
include c/etcd/etcd.mk
