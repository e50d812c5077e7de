/* lua_ops.c -- the methods that read and write single keys, put_many, and
 * sweep. Each takes its store from okof__l_live after its last allocation:
 * converting a number key, encoding a value or making a list may run a
 * finalizer that closes the handle. */
#include "lua_codec.h"
#include "lua_okofdb.h"

/* After a write: true, or raise for a key too long, or nil, msg, code. */
static int write_result(lua_State *L, int rc, const char *fn, const ldb *u,
                        const char *key, size_t klen)
{
    if (rc == OKOF_EBADKEY)
        okof__l_keytoolong(L, 1, fn);
    if (rc != 0)
        return okof__l_fail(L, rc, fn, u->dir, key, klen, NULL);
    lua_pushboolean(L, 1);
    return 1;
}

int okof__l_put(lua_State *L)
{
    ldb *u = okof__l_toldb(L, "put");
    size_t klen, vlen;
    const char *key, *val;
    int64_t ttl;
    okof__l_live(L, u, "put");
    key = okof__l_checkkey(L, 2, 1, "put", &klen);
    ttl = okof__l_checkttl(L, 4, 3, "put");
    val = okof__l_tobytes(L, 1, 3, 2, "put", &vlen);
    return write_result(
        L, okof_put_ttl(okof__l_live(L, u, "put"), key, klen, val, vlen, ttl),
        "put", u, key, klen);
}

int okof__l_add(lua_State *L)
{
    ldb *u = okof__l_toldb(L, "add");
    size_t klen, vlen;
    const char *key, *val;
    int64_t ttl;
    int rc;
    okof__l_live(L, u, "add");
    key = okof__l_checkkey(L, 2, 1, "add", &klen);
    ttl = okof__l_checkttl(L, 4, 3, "add");
    val = okof__l_tobytes(L, 1, 3, 2, "add", &vlen);
    rc = okof_add_ttl(okof__l_live(L, u, "add"), key, klen, val, vlen, ttl);
    if (rc == OKOF_EXISTS) {
        lua_pushboolean(L, 0);
        return 1;
    }
    return write_result(L, rc, "add", u, key, klen);
}

int okof__l_get(lua_State *L)
{
    size_t klen;
    const char *key;
    int n;
    okof__l_checkdb(L, "get");
    key = okof__l_checkkey(L, 2, 1, "get", &klen);
    n = okof__l_read(L, 1, "get", key, klen);
    if (n == 0)
        lua_pushnil(L);
    return n < 0 ? 3 : 1;
}

int okof__l_del(lua_State *L)
{
    ldb *u = okof__l_toldb(L, "del");
    size_t klen;
    const char *key;
    int rc;
    okof__l_live(L, u, "del");
    key = okof__l_checkkey(L, 2, 1, "del", &klen);
    rc = okof_del(okof__l_live(L, u, "del"), key, klen);
    if (rc == OKOF_EBADKEY)
        okof__l_keytoolong(L, 1, "del");
    if (rc != 0 && rc != OKOF_NOTFOUND)
        return okof__l_fail(L, rc, "del", u->dir, key, klen, NULL);
    lua_pushboolean(L, rc == 0);
    return 1;
}

/* ---- put_many ----------------------------------------------------------- */

/* The key of the pair at -2/-1 as a string, pushed; raises for a key that
 * cannot be stored or that an earlier item had (1 and "1"; two numbers
 * written alike), which the set at index 5 holds. */
static const char *take_key(lua_State *L, size_t *klen)
{
    int t = lua_type(L, -2);
    const char *key;
    if (t != LUA_TSTRING && t != LUA_TNUMBER)
        okof__l_argerror(L, 1, "put_many", "items",
                         lua_pushfstring(L, "keys must be strings, got %s",
                                         luaL_typename(L, -2)));
    lua_pushvalue(L, -2); /* converting a copy keeps lua_next's key intact */
    key = lua_tolstring(L, -1, klen);
    if (*klen == 0)
        okof__l_argerror(L, 1, "put_many", "items", "a key is empty");
    if (okof_key_check(key, *klen) != 0)
        okof__l_itemerror(L, "put_many", key, *klen,
                          "is too long: its file name would exceed 255 bytes");
    lua_pushvalue(L, -1);
    lua_rawget(L, 5);
    if (!lua_isnil(L, -1))
        okof__l_itemerror(L, "put_many", key, *klen,
                          "is given twice (as a number and as a string, or "
                          "as two numbers written alike)");
    lua_pop(L, 1);
    lua_pushvalue(L, -1);
    lua_pushboolean(L, 1);
    lua_rawset(L, 5);
    return key;
}

/* Fill items[i] from the pair at -2/-1; the key's and value's strings are
 * kept alive in the anchor table at index 4. */
static void take_pair(lua_State *L, okof_kv *it, size_t i)
{
    int top = lua_gettop(L);
    it->key = take_key(L, &it->klen);
    lua_rawseti(L, 4, (int)(2 * i + 1));
    it->val = okof__l_tobytes(L, 1, top, 1, "put_many", &it->vlen);
    lua_pushvalue(L, -1);
    lua_rawseti(L, 4, (int)(2 * i + 2));
    lua_settop(L, top);
}

/* The keys of the first n items, as a list. */
void okof__l_push_written(lua_State *L, const okof_kv *items, size_t n)
{
    size_t i;
    lua_createtable(L, (int)n, 0);
    for (i = 0; i < n; i++) {
        lua_pushlstring(L, (const char *)items[i].key, items[i].klen);
        lua_rawseti(L, -2, (int)(i + 1));
    }
}

okof_kv *okof__l_items(lua_State *L, const char *fn, size_t *count)
{
    size_t n, i = 0;
    okof_kv *items;
    if (!lua_istable(L, 2))
        okof__l_typeerror(L, 2, 1, fn, "items", "table");
    lua_settop(L, 2);
    n = okof__codec_count_pairs(L, 2);
    items = (okof_kv *)okof_newudata(L, (n ? n : 1) * sizeof *items); /* 3 */
    lua_createtable(L, (int)(2 * n), 0); /* 4: anchors the strings */
    lua_createtable(L, 0, (int)n);       /* 5: the keys seen */
    lua_pushnil(L);
    while (i < n && lua_next(L, 2) != 0) {
        take_pair(L, &items[i], i);
        lua_pop(L, 1);
        i++;
    }
    *count = i;
    return items;
}

int okof__l_put_many(lua_State *L)
{
    ldb *u = okof__l_toldb(L, "put_many");
    size_t n, written = 0;
    okof_kv *items;
    int64_t ttl;
    int rc;
    okof__l_live(L, u, "put_many");
    if (!lua_istable(L, 2))
        okof__l_typeerror(L, 2, 1, "put_many", "items", "table");
    ttl = okof__l_checkttl(L, 3, 2, "put_many");
    items = okof__l_items(L, "put_many", &n);
    rc = okof_put_many_ttl(okof__l_live(L, u, "put_many"), items, n, ttl,
                           &written);
    if (rc == 0) {
        lua_pushboolean(L, 1);
        return 1;
    }
    okof__l_fail(L, rc, "put_many", u->dir, NULL, 0, NULL);
    okof__l_push_written(L, items, written);
    return 4;
}

/* ---- ttl ---------------------------------------------------------------- */

/* Seconds left, false for a value that never expires, nil for none. */
int okof__l_ttl(lua_State *L)
{
    ldb *u = okof__l_toldb(L, "ttl");
    size_t klen;
    const char *key;
    int64_t ms = -1;
    int rc;
    okof__l_live(L, u, "ttl");
    key = okof__l_checkkey(L, 2, 1, "ttl", &klen);
    rc = okof_ttl(okof__l_live(L, u, "ttl"), key, klen, &ms);
    if (rc == OKOF_EBADKEY)
        okof__l_keytoolong(L, 1, "ttl");
    if (rc == OKOF_NOTFOUND)
        lua_pushnil(L);
    else if (rc != 0)
        return okof__l_fail(L, rc, "ttl", u->dir, key, klen, NULL);
    else if (ms < 0)
        lua_pushboolean(L, 0);
    else
        lua_pushnumber(L, (lua_Number)ms / 1000);
    return 1;
}

/* ---- sweep -------------------------------------------------------------- */

int okof__l_sweep(lua_State *L)
{
    ldb *u = okof__l_toldb(L, "sweep");
    lua_Number max_age = OKOF_SWEEP_MAX_AGE_DEFAULT;
    size_t temps = 0, expired = 0;
    int rc;
    okof__l_live(L, u, "sweep");
    if (!lua_isnoneornil(L, 2)) {
        if (lua_type(L, 2) != LUA_TNUMBER)
            okof__l_typeerror(L, 2, 1, "sweep", "max_age", "number");
        max_age = lua_tonumber(L, 2);
    }
    if (!(max_age >= 0))
        okof__l_argerror(L, 1, "sweep", "max_age",
                         "must be a non-negative number");
    rc = okof_sweep_counts(okof__l_live(L, u, "sweep"), (double)max_age,
                           &temps, &expired);
    if (rc != 0)
        return okof__l_fail(L, rc, "sweep", u->dir, NULL, 0, NULL);
    okof_pushcount(L, temps + expired);
    return 1;
}
