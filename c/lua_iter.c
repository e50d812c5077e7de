/* lua_iter.c -- each and keys: walks over a store's keys.
 *
 * A walk is a userdata that holds the core's iterator and, as its user
 * value, the handle's userdata, so the handle outlives the walk. The
 * iterator functions are shared, made once when the module loads: a
 * closure per walk would be kept alive by LuaJIT's traces, and its walk
 * and directory descriptor with it.
 *
 * A finalizer run by an allocation may close the walk or the handle: a
 * key is copied out of the walk before it is pushed, and each checks the
 * handle again before it reads a value. */
#include <string.h>

#include "lua_okofdb.h"

typedef struct {
    okof_iter_t *it; /* NULL once finished or closed */
    const char *fn;  /* "each" or "keys", for messages */
    ldb *u;          /* the handle's userdata, kept alive by the user value */
} liter;

static void release(liter *it)
{
    okof_iter_close(it->it);
    it->it = NULL;
}

int okof__l_iter_close(lua_State *L)
{
    liter *it = (liter *)okof_testudata(L, 1, ITER_META);
    if (it != NULL)
        release(it);
    return 0;
}

/* Raise unless the walk's handle is open. */
static void check_open(lua_State *L, const liter *it)
{
    if (it->u->db == NULL)
        luaL_error(L, "calling '%s' iterator on a closed okofdb handle",
                   it->fn);
}

/* The walk at index 1 (its metatable is upvalue 1), on an open store. */
static liter *check_iter(lua_State *L)
{
    liter *it = (liter *)okof__l_towalk(L);
    check_open(L, it);
    return it;
}

/* Push the next key of the walk and return 1, or return 0 at its end (the
 * walk is released). */
static int push_next_key(lua_State *L, liter *it)
{
    char key[OKOF_KEY_MAX + 1];
    const char *k = NULL;
    size_t klen = 0;
    int rc = it->it ? okof_iter_next(it->it, &k, &klen) : OKOF_NOTFOUND;
    if (rc == 0) {
        memcpy(key, k, klen); /* the walk may be closed while it is pushed */
        lua_pushlstring(L, key, klen);
        return 1;
    }
    release(it);
    if (rc != OKOF_NOTFOUND)
        luaL_error(L, "%s %s: %s", it->fn, it->u->dir, okof_strerror(rc));
    return 0;
}

int okof__l_keys_next(lua_State *L)
{
    return push_next_key(L, check_iter(L));
}

/* key, value; key, nil, msg, code when the value cannot be read; keys
 * deleted since the walk saw them are skipped. */
int okof__l_each_next(lua_State *L)
{
    liter *it = check_iter(L);
    lua_settop(L, 1);
    okof_getref(L, 1); /* the handle, at 2: its codec, if any */
    for (;;) {
        size_t klen;
        const char *key;
        int n;
        lua_settop(L, 2);
        if (!push_next_key(L, it))
            return 0;
        check_open(L, it);
        key = lua_tolstring(L, 3, &klen);
        n = okof__l_read(L, 2, "get", key, klen);
        if (n != 0)
            return n > 0 ? 2 : 4;
    }
}

/* iterator, walk, nil, walk: the walk is also the closer, so a break
 * closes it at once on 5.4; elsewhere its __gc does. */
static int start(lua_State *L, const char *fn)
{
    ldb *u = okof__l_toldb(L, fn);
    size_t plen = 0;
    const char *prefix;
    liter *it;
    int rc;
    okof__l_live(L, u, fn);
    prefix = lua_isnoneornil(L, 2)
                 ? ""
                 : okof__l_checkstr(L, 2, 1, fn, "prefix", &plen);
    lua_settop(L, 2);
    it = (liter *)okof_newudata_ref(L, sizeof *it); /* at index 3 */
    it->it = NULL;
    it->fn = fn;
    it->u = u;
    luaL_getmetatable(L, ITER_META);
    lua_setmetatable(L, 3);
    lua_pushvalue(L, 1);
    okof_setref(L, 3);
    rc = okof_iter_open(okof__l_live(L, u, fn), prefix, plen, &it->it);
    if (rc != 0)
        return luaL_error(L, "%s %s: %s", fn, u->dir, okof_strerror(rc));
    lua_pushvalue(L, lua_upvalueindex(2));
    lua_pushvalue(L, 3);
    lua_pushnil(L);
    lua_pushvalue(L, 3);
    return 4;
}

int okof__l_each(lua_State *L)
{
    return start(L, "each");
}

int okof__l_keys(lua_State *L)
{
    return start(L, "keys");
}
