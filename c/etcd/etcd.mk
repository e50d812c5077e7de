# The store on etcd: the plug-in okofdb.etcd (build/okofdb/etcd.so, and
# build/<lua>/okofdb/etcd.so for the other Luas), its specs on a real
# 3-member cluster (make etcd), sanitized (make etcd-asan), and its C API
# under valgrind (make etcd-valgrind). Included by the Makefile.
ETCD_SRC  = c/etcd/okof_etcd.c c/etcd/okof_etcd_iter.c c/etcd/okof_etcd_op.c c/etcd/okof_etcd_proto.c \
            c/etcd/okof_etcd_curl.c c/etcd/okof_etcd_lease.c
ETCD_HDR  = c/etcd/okof_etcd.h c/etcd/okof_etcd_int.h c/etcd/okof_etcd_proto.h c/etcd/lua_etcd.h
# The shared binding: arguments, codecs, values, put_many's items.
ETCD_BIND = c/etcd/lua_etcd.c c/etcd/lua_etcd_ops.c c/etcd/lua_etcd_walk.c c/lua_args.c c/lua_codec.c c/lua_values.c c/lua_ops.c
ETCD_LIBS ?= $(shell $(PKG_CONFIG) --libs libcurl libcjson 2>/dev/null || echo -lcurl -lcjson)
ETCD_CFLAGS = -Ic/etcd $(shell $(PKG_CONFIG) --cflags libcurl libcjson 2>/dev/null)
ETCD_ALL  = $(CORE_SRC) $(CORE_HDR) $(ETCD_SRC) $(ETCD_HDR) $(ETCD_BIND) $(BIND_HDR)
ETCD_SO   = build/okofdb/etcd.so
ETCD_CTEST = build/okof_etcd_test
ETCD_LUAS = $(LUA) $(filter luajit,$(HAVE_LUAS))

.PHONY: etcd etcd-specs etcd-asan etcd-valgrind etcd-lint etcd-rock etcd-openresty

$(ETCD_SO): $(ETCD_ALL)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ETCD_CFLAGS) $(LUA_CFLAGS) -shared -o $@ $(ETCD_SRC) \
	  $(ETCD_BIND) $(CORE_SRC) $(ETCD_LIBS) $(SNAPPY_LIBS) -lm

build/%/okofdb/etcd.so: $(ETCD_ALL)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ETCD_CFLAGS) $$($(PKG_CONFIG) --cflags $(call pc_name,$*)) \
	  -shared -o $@ $(ETCD_SRC) $(ETCD_BIND) $(CORE_SRC) $(ETCD_LIBS) $(SNAPPY_LIBS) -lm

build-asan/okofdb/etcd.so: $(ETCD_ALL)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(SAN) $(ETCD_CFLAGS) $(LUA_CFLAGS) -shared -o $@ $(ETCD_SRC) \
	  $(ETCD_BIND) $(CORE_SRC) $(ETCD_LIBS) $(SNAPPY_LIBS) -lm

build-asan/%/okofdb/etcd.so: $(ETCD_ALL)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(SAN) $(ETCD_CFLAGS) $$($(PKG_CONFIG) --cflags $(call pc_name,$*)) \
	  -shared -o $@ $(ETCD_SRC) $(ETCD_BIND) $(CORE_SRC) $(ETCD_LIBS) $(SNAPPY_LIBS) -lm

build/etcd_example: examples/c/etcd_example.c $(CORE_SRC) $(CORE_HDR) $(ETCD_SRC) $(ETCD_HDR)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ETCD_CFLAGS) -o $@ examples/c/etcd_example.c $(ETCD_SRC) \
	  $(CORE_SRC) $(ETCD_LIBS) $(SNAPPY_LIBS)

$(ETCD_CTEST): spec/etcd/okof_etcd_test.c $(CORE_SRC) $(CORE_HDR) $(ETCD_SRC) $(ETCD_HDR)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ETCD_CFLAGS) -o $@ spec/etcd/okof_etcd_test.c $(ETCD_SRC) \
	  $(CORE_SRC) $(ETCD_LIBS) $(SNAPPY_LIBS)

# make etcd: the C test (the protocol on canned replies, then the C API
# on a cluster), the C example (examples/c/etcd_example.c), the specs of spec/etcd under Lua 5.4 and LuaJIT (each
# spec file on a 3-member cluster of its own, spec/support/etcd_cluster.lua;
# pending when etcd is not installed), and nginx over cosockets.
etcd: $(ETCD_CTEST) build/etcd_example etcd-specs
	$(ETCD_CTEST)
	$(LUA) spec/etcd/with_cluster.lua $(ETCD_CTEST)
	$(LUA) spec/etcd/with_cluster.lua sh -c 'build/etcd_example "$$OKOF_ETCD_URL"'
	$(MAKE) --no-print-directory etcd-openresty

etcd-specs: $(ETCD_SO) $(SO) $(if $(filter luajit,$(HAVE_LUAS)),build/luajit/okofdb/etcd.so build/luajit/okofdb/core.so)
	@set -e; for l in $(ETCD_LUAS); do \
	  d=build; [ $$l = luajit ] && d=build/luajit; \
	  echo "== etcd specs under $$l"; \
	  LUA_PATH='$(SPEC_PATH)' LUA_CPATH="$$d/?.so;;" OKOF_LUA=$$l \
	    $$l $(BUSTED) spec/etcd; \
	done

# nginx with one worker: a request waiting on a stopped member does not
# keep the worker from answering another (cosockets).
etcd-openresty: build/luajit/okofdb/core.so build/luajit/okofdb/etcd.so
	examples/openresty/etcd_test.sh

# The etcd specs against the sanitized modules, under $(LUA) and LuaJIT.
etcd-asan: build-asan/okofdb/etcd.so $(ASAN_SO) $(if $(filter luajit,$(HAVE_LUAS)),build-asan/luajit/okofdb/etcd.so build-asan/luajit/okofdb/core.so)
	@set -e; for l in $(ETCD_LUAS); do \
	  d=build-asan; [ $$l = luajit ] && d=build-asan/luajit; \
	  echo "== sanitized etcd specs under $$l"; \
	  LUA_PATH='$(SPEC_PATH)' LUA_CPATH="$$d/?.so;;" OKOF_LUA=$$l $(ASAN_ENV) \
	    $$l $(BUSTED) spec/etcd; \
	done

# The C API (the test, a forked child included) and the Lua handle (the
# API spec) under valgrind memcheck.
etcd-valgrind: $(ETCD_CTEST) $(ETCD_SO) $(SO)
	$(LUA) spec/etcd/with_cluster.lua valgrind --error-exitcode=99 --leak-check=full \
	  --trace-children=yes $(ETCD_CTEST)
	$(SPEC_ENV) valgrind --error-exitcode=99 --leak-check=full --trace-children=no -q \
	  $(LUA) $(BUSTED) spec/etcd/api_spec.lua

etcd-lint:
	$(LUAROCKS) lint okofdb-etcd-scm-1.rockspec
	cppcheck --error-exitcode=1 --enable=warning,portability --std=c99 -q \
	  --suppress=missingIncludeSystem -Ic -Ic/etcd $(LUA_CFLAGS) $(ETCD_SRC) c/etcd/lua_etcd.c c/etcd/lua_etcd_ops.c c/etcd/lua_etcd_walk.c \
	  examples/c/etcd_example.c

# The rock okofdb-etcd: lint it, install it with okofdb into a private
# tree, run the etcd specs against what was installed.
ETCD_ROCKTREE = build/rocktree-etcd
etcd-rock:
	$(LUAROCKS) lint okofdb-etcd-scm-1.rockspec
	rm -rf $(ETCD_ROCKTREE)
	$(LUAROCKS) --lua-version $(LUA_VERSION) --tree $(ETCD_ROCKTREE) make --no-doc okofdb-scm-1.rockspec
	$(LUAROCKS) --lua-version $(LUA_VERSION) --tree $(ETCD_ROCKTREE) make --no-doc okofdb-etcd-scm-1.rockspec
	rm -rf okofdb c/*.o c/etcd/*.o
	LUA_PATH='$(ETCD_ROCKTREE)/share/lua/$(LUA_VERSION)/?.lua;spec/?.lua;;' \
	LUA_CPATH='$(ETCD_ROCKTREE)/lib/lua/$(LUA_VERSION)/?.so;;' OKOF_LUA=$(LUA) \
	  $(LUA) $(BUSTED) spec/etcd
