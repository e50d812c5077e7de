/*
 * lua_oom.c -- the Lua binding under an allocator that runs out of memory.
 *
 *   build/lua_oom SCRATCH_DIR
 *
 * A C host of Lua 5.4 with okofdb.core linked in, whose lua_Alloc fails
 * every allocation from the Nth on. Each read of the binding (get of a
 * small value, of a compressed one, of one larger than the read buffer,
 * through the built-in codec and a custom one, and a walk with each) is
 * run for N = 0, 1, 2, ... until it no longer meets the failure: every run
 * must either succeed with the right value or raise Lua's memory error,
 * and the handle must read correctly afterwards. The binding must hold no
 * heap memory across a call that can raise (DESIGN.md): run under ASan
 * (make ctest) or valgrind (make valgrind), a buffer lost to a raised
 * memory error is reported as a leak. The Lua heap itself must be empty
 * after lua_close.
 *
 * Stdout gets "N passed, M failed"; the exit status is 1 when M > 0.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

int luaopen_okofdb_core(lua_State *L);

static unsigned n_pass, n_fail;

#define CHECK(cond) check_((cond) ? 1 : 0, #cond, __LINE__)

static int check_(int ok, const char *what, int line)
{
	if (ok) {
		n_pass++;
	} else {
		n_fail++;
		fprintf(stderr, "%s:%d: FAIL: %s\n", __FILE__, line, what);
	}
	return ok;
}

/* The allocator's state: bytes live, and a countdown of growing
 * allocations before it starts failing (-1: never). */
struct arena {
	size_t live;
	long countdown;
	unsigned long failed;
};

static void *arena_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	struct arena *a = (struct arena *)ud;
	size_t old = ptr ? osize : 0;
	void *p;

	if (nsize == 0) {
		free(ptr);
		a->live -= old;
		return NULL;
	}
	/* Lua requires that shrinking never fails. */
	if (nsize > old && a->countdown >= 0 && a->countdown-- == 0) {
		a->countdown = 0; /* and every later one fails too */
		a->failed++;
		return NULL;
	}
	p = realloc(ptr, nsize);
	if (p != NULL)
		a->live = a->live - old + nsize;
	return p;
}

/* The Lua side: handles on a store, values and the reads to run. */
static const char *setup =
    "local okofdb = require('okofdb.core')\n"
    "local dir = ...\n"
    "local function bytes(n, seed)\n"
    "  local t = {}\n"
    "  for i = 1, n do seed = (seed * 1103515245 + 12345) % 2147483648;"
    " t[i] = string.char(seed % 256) end\n"
    "  return table.concat(t)\n"
    "end\n"
    "V = { small = 'a small value', comp = string.rep('compressible ', 400),\n"
    "      big = bytes(200000, 7), table = { 1, 'two', { three = 3 } } }\n"
    "db = assert(okofdb.open(dir))\n"
    "lua = assert(okofdb.open(dir, { codec = okofdb.codec.lua }))\n"
    "custom = assert(okofdb.open(dir, { codec = { encode = function(v)\n"
    "  return '<' .. v .. '>' end, decode = function(s)\n"
    "  return (s:gsub('^<(.*)>$', '%1')) end } }))\n"
    "for _, k in ipairs({ 'small', 'comp', 'big' }) do\n"
    "  assert(db:put(k, V[k]))\n"
    "  assert(custom:put('c' .. k, V[k]))\n"
    "end\n"
    "assert(lua:put('table', V.table))\n"
    "function walk(h)\n"
    "  local n = 0\n"
    "  for k, v in h:each() do n = n + 1 end\n"
    "  return n\n"
    "end\n";

/* Is the value on the stack top what handle h must read for key? */
static const char *expect =
    "local h, key, got = ...\n"
    "if h == lua then return type(got) == 'table' and got[2] == 'two'"
    " and got[3].three == 3 end\n"
    "if h == custom then return got == V[key:sub(2)] end\n"
    "return got == V[key]\n";

/* Call h:get(key) (or walk(h) when key is NULL) with the allocator failing
 * from its nth allocation on; returns the status of lua_pcall and leaves
 * the results on the stack above base. */
static int call_failing(lua_State *L, struct arena *a, const char *h,
                        const char *key, long n)
{
	int rc;

	if (key != NULL) {
		lua_getglobal(L, h);
		lua_getfield(L, -1, "get");
		lua_insert(L, -2);
		lua_pushstring(L, key);
	} else {
		lua_getglobal(L, "walk");
		lua_getglobal(L, h);
	}
	a->countdown = n;
	a->failed = 0;
	rc = lua_pcall(L, key != NULL ? 2 : 1, 1, 0);
	a->countdown = -1;
	return rc;
}

/* Is the result at index idx what h must read for key? */
static int is_expected(lua_State *L, const char *h, const char *key, int idx)
{
	int ok;

	idx = lua_absindex(L, idx);
	if (luaL_loadstring(L, expect) != LUA_OK)
		return 0;
	lua_getglobal(L, h);
	lua_pushstring(L, key);
	lua_pushvalue(L, idx);
	if (lua_pcall(L, 3, 1, 0) != LUA_OK)
		return 0;
	ok = lua_toboolean(L, -1);
	lua_pop(L, 1);
	return ok;
}

/* Run one read for every n until it meets no failure. */
static void read_failing(lua_State *L, struct arena *a, const char *h,
                         const char *key)
{
	long n;

	for (n = 0; n < 100000; n++) {
		int rc = call_failing(L, a, h, key, n);
		int met = a->failed > 0;

		if (rc == LUA_OK && key != NULL)
			CHECK(is_expected(L, h, key, -1));
		else if (rc == LUA_OK)
			CHECK(lua_tointeger(L, -1) == 7);
		else if (!CHECK(rc == LUA_ERRMEM && met))
			fprintf(stderr, "  %s %s, n = %ld: %s\n", h, key ? key : "each",
			        n, lua_tostring(L, -1));
		lua_settop(L, 0);
		/* The handle still reads right. */
		if (key != NULL) {
			CHECK(call_failing(L, a, h, key, -1) == LUA_OK &&
			      is_expected(L, h, key, -1));
			lua_settop(L, 0);
		}
		if (!met)
			return;
	}
	check_(0, "the read kept meeting the failure", __LINE__);
}

int main(int argc, char **argv)
{
	static const char *const plain[] = {"small", "comp", "big"};
	static const char *const custom[] = {"csmall", "ccomp", "cbig"};
	struct arena a = {0, -1, 0};
	lua_State *L;
	size_t i;

	if (argc != 2) {
		fprintf(stderr, "usage: %s SCRATCH_DIR\n", argv[0]);
		return 2;
	}
	L = lua_newstate(arena_alloc, &a);
	if (L == NULL)
		return 2;
	luaL_openlibs(L);
	luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
	lua_pushcfunction(L, luaopen_okofdb_core);
	lua_setfield(L, -2, "okofdb.core");
	lua_pop(L, 1);
	if (luaL_loadstring(L, setup) != LUA_OK ||
	    (lua_pushstring(L, argv[1]), lua_pcall(L, 1, 0, 0)) != LUA_OK) {
		fprintf(stderr, "setup: %s\n", lua_tostring(L, -1));
		lua_close(L);
		return 2;
	}
	for (i = 0; i < 3; i++) {
		read_failing(L, &a, "db", plain[i]);
		read_failing(L, &a, "custom", custom[i]);
	}
	read_failing(L, &a, "lua", "table");
	read_failing(L, &a, "db", NULL);
	read_failing(L, &a, "lua", NULL);
	lua_close(L);
	CHECK(a.live == 0);
	printf("%u passed, %u failed\n", n_pass, n_fail);
	return n_fail > 0 ? 1 : 0;
}
