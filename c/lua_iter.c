/* lua_iter.c -- each and keys: walks over a store's keys.
 *
 * A walk is a userdata that holds the core's iterator and, as its user
 * value, the handle's userdata, so the handle outlives the walk. The
 * iterator functions are shared, made once when the module loads: a
 * closure per walk would be kept alive by LuaJIT's traces, and its walk
 * and directory descriptor with it. */
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

/* The walk at index 1 (its metatable is upvalue 1) and its open store. */
static liter *check_iter(lua_State *L, okof_t **db)
{
    liter *it = (liter *)lua_touserdata(L, 1);
    int same = 0;
    if (it != NULL && lua_getmetatable(L, 1)) {
        same = lua_rawequal(L, -1, lua_upvalueindex(1));
        lua_pop(L, 1);
    }
    if (!same)
        luaL_error(L, "okofdb iterator called without its walk (got %s)",
                   luaL_typename(L, 1));
    if (it->u->db == NULL)
        luaL_error(L, "calling '%s' iterator on a closed okofdb handle",
                   it->fn);
    *db = it->u->db;
    return it;
}

/* The next key of the walk, or NULL at its end (the walk is released). */
static const char *next_key(lua_State *L, liter *it, okof_t *db, size_t *klen)
{
    const char *key = NULL;
    int rc = it->it ? okof_iter_next(it->it, &key, klen) : OKOF_NOTFOUND;
    if (rc == 0)
        return key;
    release(it);
    if (rc != OKOF_NOTFOUND)
        luaL_error(L, "%s %s: %s", it->fn, okof_dir(db), okof_strerror(rc));
    return NULL;
}

int okof__l_keys_next(lua_State *L)
{
    okof_t *db;
    liter *it = check_iter(L, &db);
    size_t klen;
    const char *key = next_key(L, it, db, &klen);
    if (key == NULL)
        return 0;
    lua_pushlstring(L, key, klen);
    return 1;
}

/* key, value; key, nil, msg, code when the value cannot be read; keys
 * deleted since the walk saw them are skipped. */
int okof__l_each_next(lua_State *L)
{
    okof_t *db;
    liter *it = check_iter(L, &db);
    lua_settop(L, 1);
    okof_getref(L, 1); /* the handle, at 2: its codec, if any */
    for (;;) {
        size_t klen;
        const char *key = next_key(L, it, db, &klen);
        int n;
        if (key == NULL)
            return 0;
        lua_settop(L, 2);
        lua_pushlstring(L, key, klen);
        n = okof__l_read(L, 2, "get", key, klen);
        if (n != 0)
            return n > 0 ? 2 : 4;
    }
}

/* iterator, walk, nil, walk: the walk is also the closer, so a break
 * closes it at once on 5.4; elsewhere its __gc does. */
static int start(lua_State *L, const char *fn)
{
    okof_t *db = okof__l_checkdb(L, fn);
    size_t plen = 0;
    const char *prefix =
        lua_isnoneornil(L, 2) ? ""
                              : okof__l_checkstr(L, 2, 1, fn, "prefix", &plen);
    liter *it;
    int rc;
    lua_settop(L, 2);
    it = (liter *)okof_newudata_ref(L, sizeof *it); /* at index 3 */
    it->it = NULL;
    it->fn = fn;
    it->u = (ldb *)lua_touserdata(L, 1);
    luaL_getmetatable(L, ITER_META);
    lua_setmetatable(L, 3);
    lua_pushvalue(L, 1);
    okof_setref(L, 3);
    rc = okof_iter_open(db, prefix, plen, &it->it);
    if (rc != 0)
        return luaL_error(L, "%s %s: %s", fn, okof_dir(db), okof_strerror(rc));
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
