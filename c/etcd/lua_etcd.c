/*
 * lua_etcd.c -- okofdb.etcd: the Lua handle of a store on etcd, with the
 * methods of a directory's handle. okofdb.open hands it "etcd://" URLs.
 * Arguments, codecs, values and put_many's items go through the shared
 * binding (lua_args.c, lua_values.c, lua_ops.c, lua_codec.c): the handle's
 * userdata starts with the directory handle's, whose store stays NULL.
 *
 * Every method is an operation (okof_etcd_op.c) in a userdata: begun (the
 * arguments checked, the request made), run, finished (the results
 * pushed). The methods run it with libcurl; inside OpenResty,
 * lua/okofdb/etcd_ngx.lua runs the same operations over cosockets, from
 * the functions of the module's _begin table and the operation's methods.
 */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "lua_codec.h"
#include "lua_okofdb.h"
#include "okof_etcd_int.h"

#if defined(__GNUC__) || defined(__clang__)
#define OKOF_EXPORT __attribute__((visibility("default")))
#else
#define OKOF_EXPORT
#endif

#define ETCD_META "okofdb.etcd"
#define ETCD_ITER_META "okofdb.etcd.walk"
#define ETCD_OP_META "okofdb.etcd.op"

typedef struct {
    ldb base;        /* codec and name (the URL) for the shared code */
    okof_etcd_t *h;  /* NULL once closed */
} letcd;

typedef struct {
    okof_etcd_iter_t *it; /* NULL once finished or closed */
    const char *fn;       /* "each" or "keys" */
    letcd *e;             /* kept alive by the walk's user value */
    int deferred;         /* a page to read is handed to the caller */
} lwalk;

/* An operation in a userdata. Its user value is a table of what it
 * needs: [1] the handle, [2] the key, [3] put_many's items and [4] their
 * strings, [5] the walk of a page. */
typedef struct {
    okof__eop op;
    const char *fn;
    int live;             /* op holds memory: okof__eop_free it */
} lop;

enum { OP_HANDLE = 1, OP_KEY, OP_ITEMS, OP_ANCHOR, OP_WALK };

/* ---- the handle --------------------------------------------------------- */

static letcd *check_self(lua_State *L, const char *fn)
{
    return (letcd *)okof__l_toldb(L, fn);
}

static okof_etcd_t *live(lua_State *L, const letcd *e, const char *fn)
{
    if (e->h == NULL)
        luaL_error(L, "calling '%s' on a closed okofdb handle", fn);
    return e->h;
}

/* A key argument that the store accepts, or raise. */
static const char *check_key(lua_State *L, int idx, const char *fn, size_t *klen)
{
    const char *key = okof__l_checkkey(L, idx, idx - 1, fn, klen);
    if (okof_key_check(key, *klen) != 0)
        okof__l_keytoolong(L, idx - 1, fn);
    return key;
}

/* " (what the members said)", or "". */
static const char *said(lua_State *L, const letcd *e)
{
    const char *text = e->h != NULL ? okof_etcd_errmsg(e->h) : "";
    return *text ? lua_pushfstring(L, " (%s)", text) : "";
}

/* nil, msg, code for rc: the message of a directory's handle, then for a
 * write that timed out that its outcome is unknown, then what the members
 * said. */
static int fail(lua_State *L, const letcd *e, int rc, const char *fn,
                const char *key, size_t klen, int write)
{
    const char *detail = said(L, e);
    okof__l_fail(L, rc, fn, e->base.dir, key, klen, NULL);
    lua_pushfstring(L, "%s%s%s%s", lua_tostring(L, -2),
                    write && rc == -ETIMEDOUT ? "; the write's outcome is unknown" : "",
                    rc == -E2BIG && !*detail ? " (larger than the cluster accepts: "
                                               "request_bytes, txn_ops)" : "",
                    detail);
    lua_replace(L, -3);
    return 3;
}

/* ---- operations ---------------------------------------------------------- */

/* A new operation on the handle at index hidx, on the stack top. */
static lop *new_op(lua_State *L, const char *fn, int hidx)
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
static void keep(lua_State *L, int idx, int slot)
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

static int op_gc(lua_State *L)
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
static int begin_get(lua_State *L)
{
    letcd *e = check_self(L, "get");
    size_t klen;
    const char *key;
    lop *o;
    live(L, e, "get");
    key = check_key(L, 2, "get", &klen);
    lua_settop(L, 2);
    o = new_op(L, "get", 1);
    keep(L, 2, OP_KEY);
    okof__eop_get(&o->op, live(L, e, "get"), key, klen);
    o->live = 1;
    return 1;
}

static int begin_store(lua_State *L, const char *fn, int add)
{
    letcd *e = check_self(L, fn);
    size_t klen, vlen;
    const char *key, *val;
    lop *o;
    live(L, e, fn);
    key = check_key(L, 2, fn, &klen);
    val = okof__l_tobytes(L, 1, 3, 2, fn, &vlen);
    o = new_op(L, fn, 1);
    keep(L, 2, OP_KEY);
    okof__eop_put(&o->op, live(L, e, fn), key, klen, val, vlen, add);
    o->live = 1;
    return 1;
}

static int begin_put(lua_State *L)
{
    return begin_store(L, "put", 0);
}

static int begin_add(lua_State *L)
{
    return begin_store(L, "add", 1);
}

static int begin_del(lua_State *L)
{
    letcd *e = check_self(L, "del");
    size_t klen;
    const char *key;
    lop *o;
    live(L, e, "del");
    key = check_key(L, 2, "del", &klen);
    lua_settop(L, 2);
    o = new_op(L, "del", 1);
    keep(L, 2, OP_KEY);
    okof__eop_del(&o->op, live(L, e, "del"), key, klen);
    o->live = 1;
    return 1;
}

static int begin_put_many(lua_State *L)
{
    letcd *e = check_self(L, "put_many");
    size_t n;
    okof_kv *items;
    lop *o;
    live(L, e, "put_many");
    items = okof__l_items(L, "put_many", &n); /* at 3, strings at 4 */
    o = new_op(L, "put_many", 1);
    keep(L, 3, OP_ITEMS);
    keep(L, 4, OP_ANCHOR);
    okof__eop_puts(&o->op, live(L, e, "put_many"), items, n);
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

/* put_many's failure: nil, msg, code, written. */
static int finish_puts(lua_State *L, int idx, const letcd *e, lop *o)
{
    const okof_kv *items;
    okof_getref(L, idx);
    lua_rawgeti(L, -1, OP_ITEMS);
    items = (const okof_kv *)lua_touserdata(L, -1);
    fail(L, e, o->op.rc, "put_many", NULL, 0, 1);
    okof__l_push_written(L, items, o->op.done);
    return 4;
}

static int walk_fail(lua_State *L, lwalk *w, int rc);

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
            return fail(L, e, rc, "get", key, klen, 0);
        okof__l_push_decoder(L);
        n = okof__l_push_read(L, hdx, "get", key, klen, o->op.out, o->op.olen, 0);
        return n < 0 ? 3 : 1;
    case OKOF__OP_PUTS:
        if (rc != 0)
            return finish_puts(L, idx, e, o);
        break;
    case OKOF__OP_PAGE:
        okof_getref(L, idx);
        lua_rawgeti(L, -1, OP_WALK);
        if (rc != 0)
            walk_fail(L, (lwalk *)lua_touserdata(L, -1), rc);
        return 0;
    default:
        if (rc != 0 && rc != OKOF_EXISTS && rc != OKOF_NOTFOUND)
            return fail(L, e, rc, o->fn, key, klen, 1);
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

static int l_get(lua_State *L)
{
    begin_get(L);
    return run(L);
}

static int l_put(lua_State *L)
{
    begin_put(L);
    return run(L);
}

static int l_add(lua_State *L)
{
    begin_add(L);
    return run(L);
}

static int l_del(lua_State *L)
{
    begin_del(L);
    return run(L);
}

static int l_put_many(lua_State *L)
{
    begin_put_many(L);
    return run(L);
}

/* op:next(now) -> member, path, body, ms, or nothing when it is over. */
static int op_next(lua_State *L)
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
static int op_done(lua_State *L)
{
    static const char *const outcomes[] = {"answered", "refused", "timeout",
                                           "lost", NULL};
    static const enum okof__outcome codes[] = {OKOF__ANSWERED, OKOF__REFUSED, OKOF__TIMED_OUT,
                                OKOF__LOST};
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

static int op_finish(lua_State *L)
{
    lua_settop(L, 1);
    return finish(L, 1);
}

/* op:timeout() -> the handle's timeout in seconds. */
static int op_timeout(lua_State *L)
{
    lop *o = to_op(L, 1);
    op_handle(L, 1, o);
    lua_pushnumber(L, (lua_Number)o->op.h->o.timeout);
    return 1;
}

/* ---- the handle's other methods ----------------------------------------- */

/* A cluster has no temporary files: 0, after the checks of a directory. */
static int l_sweep(lua_State *L)
{
    letcd *e = check_self(L, "sweep");
    live(L, e, "sweep");
    okof__l_max_age(L, 2);
    okof_pushcount(L, 0);
    return 1;
}

/* The one closer of close(), __close and __gc. */
static int l_close(lua_State *L)
{
    letcd *e = check_self(L, "close");
    okof_etcd_close(e->h);
    e->h = NULL;
    lua_pushboolean(L, 1);
    return 1;
}

static int l_tostring(lua_State *L)
{
    letcd *e = check_self(L, "__tostring");
    if (e->h == NULL)
        lua_pushliteral(L, "okofdb: closed");
    else
        lua_pushfstring(L, "okofdb: %s", e->base.dir);
    return 1;
}

/* ---- walks -------------------------------------------------------------- */

static void walk_release(lwalk *w)
{
    okof_etcd_iter_close(w->it);
    w->it = NULL;
}

static int walk_close(lua_State *L)
{
    lwalk *w = (lwalk *)okof_testudata(L, 1, ETCD_ITER_META);
    if (w != NULL)
        walk_release(w);
    return 0;
}

/* The walk cannot go on: release it and raise. */
static int walk_fail(lua_State *L, lwalk *w, int rc)
{
    const char *detail = said(L, w->e);
    walk_release(w);
    return luaL_error(L, "%s %s: %s%s", w->fn, w->e->base.dir,
                      okof_strerror(rc), detail);
}

/* The walk at index 1 (its metatable is upvalue 1), on an open handle. */
static lwalk *check_walk(lua_State *L)
{
    lwalk *w = (lwalk *)okof__l_towalk(L);
    if (w->e->h == NULL)
        luaL_error(L, "calling '%s' iterator on a closed okofdb handle", w->fn);
    return w;
}

/* Read the walk's next page with libcurl, or raise. */
static void read_page(lua_State *L, lwalk *w)
{
    okof__eop op;
    int rc;
    okof__eop_page(&op, w->it);
    rc = okof__etcd_run(&op);
    okof__eop_free(&op);
    if (rc != 0)
        walk_fail(L, w, rc);
}

/* The next key into key[] (and its value): 1; 0 at the walk's end; -1
 * after pushing false and the operation that reads the next page (a
 * deferred walk); raises when the walk cannot go on. */
static int walk_next(lua_State *L, lwalk *w, char *key, size_t *klen,
                     const void **val, size_t *vlen, int *vrc)
{
    const char *k = NULL;
    int rc;
    while ((rc = w->it ? okof__iter_take(w->it, &k, klen, val, vlen, vrc)
                       : OKOF_NOTFOUND) == OKOF__NEED_PAGE) {
        lop *o;
        if (!w->deferred) {
            read_page(L, w);
            continue;
        }
        lua_pushboolean(L, 0);
        okof_getref(L, 1); /* the walk's handle */
        o = new_op(L, w->fn, lua_gettop(L));
        keep(L, 1, OP_WALK);
        lua_remove(L, -2);
        okof__eop_page(&o->op, w->it);
        o->live = 1;
        return -1;
    }
    if (rc == 0) {
        memcpy(key, k, *klen); /* the walk may be closed while it is pushed */
        return 1;
    }
    if (rc != OKOF_NOTFOUND)
        walk_fail(L, w, rc);
    walk_release(w);
    return 0;
}

static int keys_next(lua_State *L)
{
    char key[OKOF_KEY_MAX + 1];
    size_t klen = 0;
    int n = walk_next(L, check_walk(L), key, &klen, NULL, NULL, NULL);
    if (n <= 0)
        return n < 0 ? 2 : 0;
    lua_pushlstring(L, key, klen);
    return 1;
}

/* key, value; key, nil, msg, code for a value that fails verification or
 * decoding. */
static int each_next(lua_State *L)
{
    char key[OKOF_KEY_MAX + 1];
    size_t klen = 0, vlen = 0;
    const void *val = NULL;
    int vrc = 0, n;
    lwalk *w = check_walk(L);
    lua_settop(L, 1);
    okof_getref(L, 1); /* the handle, at 2: its codec, if any */
    okof__l_push_decoder(L);
    n = walk_next(L, w, key, &klen, &val, &vlen, &vrc);
    if (n <= 0)
        return n < 0 ? 2 : 0;
    if (vrc != 0) {
        lua_pop(L, 1);
        fail(L, w->e, vrc, "get", key, klen, 0);
        n = -1;
    } else {
        n = okof__l_push_read(L, 2, "get", key, klen, (void *)(size_t)val, vlen, 0);
    }
    lua_pushlstring(L, key, klen); /* before the value, or nil, msg, code */
    lua_insert(L, n > 0 ? -2 : -4);
    return n > 0 ? 2 : 4;
}

/* iterator, walk, nil, walk: the walk is also the closer, so a break
 * closes it at once on 5.4; elsewhere its __gc does. */
static int start(lua_State *L, const char *fn, int values)
{
    letcd *e = check_self(L, fn);
    size_t plen = 0;
    const char *prefix;
    lwalk *w;
    int rc;
    live(L, e, fn);
    prefix = lua_isnoneornil(L, 2)
                 ? ""
                 : okof__l_checkstr(L, 2, 1, fn, "prefix", &plen);
    lua_settop(L, 2);
    w = (lwalk *)okof_newudata_ref(L, sizeof *w); /* at index 3 */
    w->it = NULL;
    w->fn = fn;
    w->e = e;
    w->deferred = 0;
    luaL_getmetatable(L, ETCD_ITER_META);
    lua_setmetatable(L, 3);
    lua_pushvalue(L, 1);
    okof_setref(L, 3);
    rc = okof_etcd_iter_open(live(L, e, fn), prefix, plen, values, &w->it);
    if (rc != 0)
        return luaL_error(L, "%s %s: %s", fn, e->base.dir, okof_strerror(rc));
    lua_pushvalue(L, lua_upvalueindex(2));
    lua_pushvalue(L, 3);
    lua_pushnil(L);
    lua_pushvalue(L, 3);
    return 4;
}

static int l_each(lua_State *L)
{
    return start(L, "each", 1);
}

static int l_keys(lua_State *L)
{
    return start(L, "keys", 0);
}

/* _defer(walk): its pages are read by the caller (see walk_next). */
static int l_defer(lua_State *L)
{
    lwalk *w = (lwalk *)luaL_checkudata(L, 1, ETCD_ITER_META);
    w->deferred = 1;
    return 0;
}

/* ---- open and its options ----------------------------------------------- */

/* A number option: positive (and an integer when integer is set). */
static lua_Number opt_positive(lua_State *L, const char *name, int integer,
                               lua_Number max)
{
    lua_Number n = lua_type(L, -1) == LUA_TNUMBER ? lua_tonumber(L, -1) : -1;
    if (!(n > 0 && n <= max) || (integer && floor(n) != n))
        okof__l_opt_error(L, name, integer ? "a positive integer"
                                           : "a positive number of seconds");
    return n;
}

/* Apply the option whose name is at -2 and value at -1. */
static void parse_opt(lua_State *L, okof_etcd_opts *o, int *codec)
{
    const char *name;
    if (lua_type(L, -2) != LUA_TSTRING)
        okof__l_argerror(L, 2, "open", "opts", "option names must be strings");
    name = lua_tostring(L, -2);
    if (strcmp(name, "codec") == 0)
        *codec = okof__l_opt_codec(L);
    else if (strcmp(name, "compress_min") == 0)
        okof__l_opt_compress_min(L, &o->compress_min);
    else if (strcmp(name, "timeout") == 0)
        o->timeout = (double)opt_positive(L, name, 0, 1e6);
    else if (strcmp(name, "txn_ops") == 0)
        o->txn_ops = (size_t)opt_positive(L, name, 1, 1e9);
    else if (strcmp(name, "request_bytes") == 0)
        o->request_bytes = (size_t)opt_positive(L, name, 1, 1e15);
    else if (strcmp(name, "create") == 0 || strcmp(name, "legacy") == 0) {
        if (lua_type(L, -1) != LUA_TBOOLEAN)
            okof__l_opt_error(L, name, "a boolean");
    } else if (strcmp(name, "sync") == 0) {
        const char *s = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "";
        if (strcmp(s, "full") != 0 && strcmp(s, "none") != 0)
            okof__l_opt_error(L, "sync", "\"full\" or \"none\"");
    } else {
        okof__l_argerror(L, 2, "open", "opts",
                         lua_pushfstring(L, "unknown option '%s'", name));
    }
}

/* Options from the table at index 2; the codec table goes to index 3. */
static void parse_opts(lua_State *L, okof_etcd_opts *o, int *codec)
{
    okof_etcd_opts_init(o);
    *codec = CODEC_NONE;
    lua_settop(L, 2);
    lua_pushnil(L); /* 3: the codec */
    if (lua_isnil(L, 2))
        return;
    if (!lua_istable(L, 2))
        okof__l_typeerror(L, 2, 2, "open", "opts", "table");
    lua_pushnil(L);
    while (lua_next(L, 2) != 0) {
        parse_opt(L, o, codec);
        lua_pop(L, 1);
    }
    if (o->request_bytes < 1024)
        okof__l_opt_error(L, "request_bytes", "at least 1024");
}

/* The userdata is made and given its metatable before the handle is
 * opened, so a memory error cannot leak it. */
static int l_open(lua_State *L)
{
    size_t ulen;
    const char *url = okof__l_checkstr(L, 1, 1, "open", "url", &ulen);
    okof_etcd_opts o;
    letcd *e;
    int codec, rc;
    parse_opts(L, &o, &codec);
    e = (letcd *)okof_newudata_ref(L, sizeof *e + ulen + 1);
    memset(e, 0, sizeof *e);
    e->base.codec = codec;
    e->base.dir = memcpy(e + 1, url, ulen + 1);
    luaL_getmetatable(L, ETCD_META);
    lua_setmetatable(L, -2);
    lua_pushvalue(L, 3);
    okof_setref(L, -2);
    rc = strlen(url) == ulen ? okof_etcd_open(&e->h, url, &o) : -EINVAL;
    if (rc == -EINVAL)
        okof__l_argerror(L, 1, "open", "url",
                         "not etcd://HOST:PORT[,HOST:PORT...]/PATH");
    if (rc != 0)
        return okof__l_fail(L, rc, "open", url, NULL, 0, NULL);
    return 1;
}

/* ---- the module --------------------------------------------------------- */

static const luaL_Reg methods[] = {
    {"put", l_put},   {"get", l_get},           {"del", l_del},
    {"add", l_add},   {"put_many", l_put_many}, {"sweep", l_sweep},
    {"close", l_close}, {NULL, NULL}};

static const luaL_Reg metamethods[] = {
    {"__gc", l_close}, {"__close", l_close}, {"__tostring", l_tostring},
    {NULL, NULL}};

static const luaL_Reg walk_meta[] = {
    {"__gc", walk_close}, {"__close", walk_close}, {NULL, NULL}};

static const luaL_Reg op_methods[] = {
    {"next", op_next}, {"done", op_done}, {"finish", op_finish},
    {"timeout", op_timeout}, {NULL, NULL}};

/* The operations of the methods, begun: for another transport. */
static const luaL_Reg begins[] = {
    {"get", begin_get}, {"put", begin_put}, {"add", begin_add},
    {"del", begin_del}, {"put_many", begin_put_many}, {NULL, NULL}};

static void create_op_meta(lua_State *L)
{
    luaL_newmetatable(L, ETCD_OP_META);
    lua_pushcfunction(L, op_gc);
    lua_setfield(L, -2, "__gc");
    lua_createtable(L, 0, 4);
    luaL_setfuncs(L, op_methods, 0);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
}

/* Every method has the handle's metatable as upvalue 1 (as a directory's
 * handle has its own), the iterators the walk's. Leaves the methods
 * table on the stack. */
static void create_metas(lua_State *L)
{
    int hm, wm;
    create_op_meta(L);
    luaL_newmetatable(L, ETCD_ITER_META);
    wm = lua_gettop(L);
    luaL_setfuncs(L, walk_meta, 0);
    luaL_newmetatable(L, ETCD_META);
    hm = lua_gettop(L);
    lua_pushvalue(L, hm);
    luaL_setfuncs(L, metamethods, 1);
    lua_createtable(L, 0, 10);
    lua_pushvalue(L, hm);
    luaL_setfuncs(L, methods, 1);
    okof__l_set_walk(L, hm, wm, "each", l_each, each_next);
    okof__l_set_walk(L, hm, wm, "keys", l_keys, keys_next);
    lua_pushvalue(L, -1);
    lua_setfield(L, hm, "__index");
    lua_replace(L, wm);
    lua_settop(L, wm);
}

/* Inside nginx (a global ngx), okofdb.etcd_ngx wraps the methods so that
 * they use cosockets where nginx has them. */
static void hook_ngx(lua_State *L)
{
    lua_getglobal(L, "ngx");
    if (!lua_istable(L, -1)) {
        lua_pop(L, 1);
        return;
    }
    lua_pop(L, 1);
    lua_getglobal(L, "require");
    lua_pushliteral(L, "okofdb.etcd_ngx");
    lua_call(L, 1, 1);
    lua_pushvalue(L, -2);
    lua_call(L, 1, 0);
}

static const luaL_Reg module_fns[] = {
    {"open", l_open}, {"_defer", l_defer}, {NULL, NULL}};

OKOF_EXPORT int luaopen_okofdb_etcd(lua_State *L);
int luaopen_okofdb_etcd(lua_State *L)
{
    create_metas(L);
    luaL_newlib(L, module_fns);
    lua_insert(L, -2);
    lua_setfield(L, -2, "_methods");
    lua_createtable(L, 0, 5);
    luaL_getmetatable(L, ETCD_META); /* upvalue 1, as the methods have */
    luaL_setfuncs(L, begins, 1);
    lua_setfield(L, -2, "_begin");
    lua_pushliteral(L, OKOF_VERSION_STRING);
    lua_setfield(L, -2, "_VERSION");
    hook_ngx(L);
    return 1;
}
