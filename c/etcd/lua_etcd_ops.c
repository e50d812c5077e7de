/*
 * lua_etcd_ops.c -- the methods of a handle on etcd that read and write
 * keys (get, put, add, del, put_many) as operations in userdata: begun,
 * run (with libcurl here, over cosockets by lua/okofdb/etcd_ngx.lua) and
 * finished, so that both transports give the same results.
 */
#include "lua_etcd.h"

/* A key argument that the store accepts, or raise. */
static const char *check_key(lua_State *L, int idx, const char *fn, size_t *klen)
{
    const char *key = okof__l_checkkey(L, idx, idx - 1, fn, klen);
    if (okof_key_check(key, *klen) != 0)
        okof__l_keytoolong(L, idx - 1, fn);
    return key;
}

/* A new operation on the handle at index hidx, on the stack top. */
lop *okof__le_new_op(lua_State *L, const char *fn, int hidx)
{
    lop *o = (lop *)okof_newudata_ref(L, sizeof *o);
    o->live = 0;
    o->fn = fn;
    luaL_getmetatable(L, ETCD_OP_META);
    lua_setmetatable(L, -2);
    lua_createtable(L, 5, 0);
    lua_pushvalue(L, hidx);
    lua_rawseti(L, -2, OP_HANDLE);
    okof_setref(L, -2);
    return o;
}

/* The operation at -1 keeps the value at idx in its table's slot. */
void okof__le_keep(lua_State *L, int idx, int slot)
{
    idx = idx < 0 ? lua_gettop(L) + idx + 1 : idx;
    okof_getref(L, -1);
    lua_pushvalue(L, idx);
    lua_rawseti(L, -2, slot);
    lua_pop(L, 1);
}

static lop *to_op(lua_State *L, int idx)
{
    return (lop *)luaL_checkudata(L, idx, ETCD_OP_META);
}

static void op_release(lop *o)
{
    if (o->live)
        okof__eop_free(&o->op);
    o->live = 0;
}

int okof__le_op_gc(lua_State *L)
{
    op_release(to_op(L, 1));
    return 0;
}

/* The handle of the operation at idx, pushed; raises when it was closed
 * while the operation ran. */
static letcd *op_handle(lua_State *L, int idx, const lop *o)
{
    letcd *e;
    okof_getref(L, idx);
    lua_rawgeti(L, -1, OP_HANDLE);
    lua_remove(L, -2);
    e = (letcd *)lua_touserdata(L, -1);
    if (e == NULL || e->h == NULL || (o->live && e->h != o->op.h))
        luaL_error(L, "calling '%s' on a closed okofdb handle", o->fn);
    return e;
}

/* Begin each method: the arguments as the method takes them, the
 * operation pushed. */
static int begin_read(lua_State *L, const char *fn, int ttl)
{
    letcd *e = okof__le_self(L, fn);
    size_t klen;
    const char *key;
    lop *o;
    okof__le_live(L, e, fn);
    key = check_key(L, 2, fn, &klen);
    lua_settop(L, 2);
    o = okof__le_new_op(L, fn, 1);
    okof__le_keep(L, 2, OP_KEY);
    okof__eop_get(&o->op, okof__le_live(L, e, fn), key, klen, ttl);
    o->live = 1;
    return 1;
}

int okof__le_begin_get(lua_State *L)
{
    return begin_read(L, "get", 0);
}

int okof__le_begin_ttl(lua_State *L)
{
    return begin_read(L, "ttl", 1);
}

static int begin_store(lua_State *L, const char *fn, int add)
{
    letcd *e = okof__le_self(L, fn);
    size_t klen, vlen;
    const char *key, *val;
    int64_t ttl;
    lop *o;
    okof__le_live(L, e, fn);
    key = check_key(L, 2, fn, &klen);
    ttl = okof__l_checkttl(L, 4, 3, fn);
    val = okof__l_tobytes(L, 1, 3, 2, fn, &vlen);
    o = okof__le_new_op(L, fn, 1);
    okof__le_keep(L, 2, OP_KEY);
    okof__eop_put(&o->op, okof__le_live(L, e, fn), key, klen, val, vlen, add, ttl);
    o->live = 1;
    return 1;
}

int okof__le_begin_put(lua_State *L)
{
    return begin_store(L, "put", 0);
}

int okof__le_begin_add(lua_State *L)
{
    return begin_store(L, "add", 1);
}

int okof__le_begin_del(lua_State *L)
{
    letcd *e = okof__le_self(L, "del");
    size_t klen;
    const char *key;
    lop *o;
    okof__le_live(L, e, "del");
    key = check_key(L, 2, "del", &klen);
    lua_settop(L, 2);
    o = okof__le_new_op(L, "del", 1);
    okof__le_keep(L, 2, OP_KEY);
    okof__eop_del(&o->op, okof__le_live(L, e, "del"), key, klen);
    o->live = 1;
    return 1;
}

int okof__le_begin_put_many(lua_State *L)
{
    letcd *e = okof__le_self(L, "put_many");
    size_t n;
    okof_kv *items;
    int64_t ttl;
    lop *o;
    okof__le_live(L, e, "put_many");
    if (!lua_istable(L, 2))
        okof__l_typeerror(L, 2, 1, "put_many", "items", "table");
    ttl = okof__l_checkttl(L, 3, 2, "put_many");
    items = okof__l_items(L, "put_many", &n); /* at 3, strings at 4 */
    o = okof__le_new_op(L, "put_many", 1);
    okof__le_keep(L, 3, OP_ITEMS);
    okof__le_keep(L, 4, OP_ANCHOR);
    okof__eop_puts(&o->op, okof__le_live(L, e, "put_many"), items, n, ttl);
    o->live = 1;
    return 1;
}

/* The key the operation at idx is about, pushed. */
static const char *op_key(lua_State *L, int idx, size_t *klen)
{
    okof_getref(L, idx);
    lua_rawgeti(L, -1, OP_KEY);
    lua_remove(L, -2);
    *klen = 0;
    return lua_isnil(L, -1) ? NULL : lua_tolstring(L, -1, klen);
}

/* ttl's results: seconds left, false (never), nil (no value). */
static int push_ttl(lua_State *L, const letcd *e, int rc, const char *key,
                    size_t klen, uint64_t expiry)
{
    int64_t ms = -1;
    if (rc == 0)
        rc = okof__etcd_ms_left(expiry, &ms);
    if (rc == OKOF_NOTFOUND)
        lua_pushnil(L);
    else if (rc != 0)
        return okof__le_fail(L, e, rc, "ttl", key, klen, 0);
    else if (ms < 0)
        lua_pushboolean(L, 0);
    else
        lua_pushnumber(L, (lua_Number)ms / 1000);
    return 1;
}

/* put_many's failure: nil, msg, code, written. */
static int finish_puts(lua_State *L, int idx, const letcd *e, lop *o)
{
    const okof_kv *items;
    okof_getref(L, idx);
    lua_rawgeti(L, -1, OP_ITEMS);
    items = (const okof_kv *)lua_touserdata(L, -1);
    okof__le_fail(L, e, o->op.rc, "put_many", NULL, 0, 1);
    okof__l_push_written(L, items, o->op.done);
    return 4;
}

/* Push the results of the finished operation at idx, as its method
 * returns them. */
static int results(lua_State *L, int idx)
{
    lop *o = to_op(L, idx);
    letcd *e = op_handle(L, idx, o);
    int hdx = lua_gettop(L), rc = o->op.rc, n;
    size_t klen;
    const char *key = op_key(L, idx, &klen);
    if (rc == OKOF__OP_BUSY)
        return luaL_error(L, "calling '%s': the operation is not over", o->fn);
    switch (o->op.kind) {
    case OKOF__OP_GET:
        if (rc == OKOF_NOTFOUND) {
            lua_pushnil(L);
            return 1;
        }
        if (rc != 0)
            return okof__le_fail(L, e, rc, "get", key, klen, 0);
        okof__l_push_decoder(L);
        n = okof__l_push_read(L, hdx, "get", key, klen, o->op.out, o->op.olen, 0);
        return n < 0 ? 3 : 1;
    case OKOF__OP_TTL:
        return push_ttl(L, e, rc, key, klen, o->op.expiry);
    case OKOF__OP_PUTS:
        if (rc != 0)
            return finish_puts(L, idx, e, o);
        break;
    case OKOF__OP_PAGE:
        okof_getref(L, idx);
        lua_rawgeti(L, -1, OP_WALK);
        if (rc != 0)
            okof__le_walk_fail(L, (lwalk *)lua_touserdata(L, -1), rc);
        return 0;
    default:
        if (rc != 0 && rc != OKOF_EXISTS && rc != OKOF_NOTFOUND)
            return okof__le_fail(L, e, rc, o->fn, key, klen, 1);
    }
    lua_pushboolean(L, rc == 0);
    return 1;
}

/* The results of the operation at idx, which then lets its memory go. */
static int finish(lua_State *L, int idx)
{
    int n = results(L, idx);
    op_release(to_op(L, idx));
    return n;
}

/* Run the operation on the stack top with libcurl; its results. */
static int run(lua_State *L)
{
    int idx = lua_gettop(L);
    okof__etcd_run(&to_op(L, idx)->op);
    return finish(L, idx);
}

int okof__le_get(lua_State *L)
{
    okof__le_begin_get(L);
    return run(L);
}

int okof__le_ttl(lua_State *L)
{
    okof__le_begin_ttl(L);
    return run(L);
}

int okof__le_put(lua_State *L)
{
    okof__le_begin_put(L);
    return run(L);
}

int okof__le_add(lua_State *L)
{
    okof__le_begin_add(L);
    return run(L);
}

int okof__le_del(lua_State *L)
{
    okof__le_begin_del(L);
    return run(L);
}

int okof__le_put_many(lua_State *L)
{
    okof__le_begin_put_many(L);
    return run(L);
}

/* op:next(now) -> member, path, body, ms, or nothing when it is over. */
int okof__le_op_next(lua_State *L)
{
    lop *o = to_op(L, 1);
    const char *member, *path, *body;
    long ms;
    double now = luaL_checknumber(L, 2);
    op_handle(L, 1, o);
    if (!o->live || !okof__eop_next(&o->op, now, &member, &path, &body, &ms))
        return 0;
    lua_pushstring(L, member);
    lua_pushstring(L, path);
    lua_pushstring(L, body);
    lua_pushinteger(L, (lua_Integer)ms);
    return 4;
}

/* op:done(outcome, status, body, said): what the attempt came to;
 * outcome "answered", "refused", "timeout" or "lost". */
int okof__le_op_done(lua_State *L)
{
    static const char *const outcomes[] = {"answered", "refused", "timeout",
                                           "lost", NULL};
    static const enum okof__outcome codes[] = {
        OKOF__ANSWERED, OKOF__REFUSED, OKOF__TIMED_OUT, OKOF__LOST};
    lop *o = to_op(L, 1);
    int i = luaL_checkoption(L, 2, NULL, outcomes);
    long status = (long)luaL_optinteger(L, 3, 0);
    size_t len = 0;
    const char *body = luaL_optlstring(L, 4, "", &len);
    const char *text = luaL_optstring(L, 5, NULL);
    op_handle(L, 1, o);
    if (o->live)
        okof__eop_done(&o->op, codes[i], status, (const unsigned char *)body,
                       len, text);
    return 0;
}

int okof__le_op_finish(lua_State *L)
{
    lua_settop(L, 1);
    return finish(L, 1);
}

/* op:timeout() -> the handle's timeout in seconds. */
int okof__le_op_timeout(lua_State *L)
{
    lop *o = to_op(L, 1);
    op_handle(L, 1, o);
    lua_pushnumber(L, (lua_Number)o->op.h->o.timeout);
    return 1;
}
