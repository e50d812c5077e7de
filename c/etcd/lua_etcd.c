/*
 * lua_etcd.c -- okofdb.etcd: the Lua handle of a store on etcd, with the
 * methods of a directory's handle; okofdb.open hands it "etcd://" URLs.
 * This file: the module, open and its options, close, tostring, sweep,
 * and the failures' messages. The methods that read and write are
 * operations (lua_etcd_ops.c); each and keys are walks (lua_etcd_walk.c).
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

#include "lua_etcd.h"

#if defined(__GNUC__) || defined(__clang__)
#define OKOF_EXPORT __attribute__((visibility("default")))
#else
#define OKOF_EXPORT
#endif

/* ---- the handle --------------------------------------------------------- */

letcd *okof__le_self(lua_State *L, const char *fn)
{
    return (letcd *)okof__l_toldb(L, fn);
}

okof_etcd_t *okof__le_live(lua_State *L, const letcd *e, const char *fn)
{
    if (e->h == NULL)
        luaL_error(L, "calling '%s' on a closed okofdb handle", fn);
    return e->h;
}

/* " (what the members said)", or "". */
const char *okof__le_said(lua_State *L, const letcd *e)
{
    const char *text = e->h != NULL ? okof_etcd_errmsg(e->h) : "";
    return *text ? lua_pushfstring(L, " (%s)", text) : "";
}

/* nil, msg, code for rc: the message of a directory's handle, then for a
 * write that timed out that its outcome is unknown, then what the members
 * said. */
int okof__le_fail(lua_State *L, const letcd *e, int rc, const char *fn,
                  const char *key, size_t klen, int write)
{
    const char *detail = okof__le_said(L, e);
    okof__l_fail(L, rc, fn, e->base.dir, key, klen, NULL);
    lua_pushfstring(L, "%s%s%s%s", lua_tostring(L, -2),
                    write && rc == -ETIMEDOUT ? "; the write's outcome is unknown" : "",
                    rc == -E2BIG && !*detail ? " (larger than the cluster accepts: "
                                               "request_bytes, txn_ops)" : "",
                    detail);
    lua_replace(L, -3);
    return 3;
}

/* ---- the handle's other methods ----------------------------------------- */

/* A cluster has no temporary files: 0, after the checks of a directory. */
static int l_sweep(lua_State *L)
{
    letcd *e = okof__le_self(L, "sweep");
    okof__le_live(L, e, "sweep");
    okof__l_max_age(L, 2);
    okof_pushcount(L, 0);
    return 1;
}

/* The one closer of close(), __close and __gc. */
static int l_close(lua_State *L)
{
    letcd *e = okof__le_self(L, "close");
    okof_etcd_close(e->h);
    e->h = NULL;
    lua_pushboolean(L, 1);
    return 1;
}

static int l_tostring(lua_State *L)
{
    letcd *e = okof__le_self(L, "__tostring");
    if (e->h == NULL)
        lua_pushliteral(L, "okofdb: closed");
    else
        lua_pushfstring(L, "okofdb: %s", e->base.dir);
    return 1;
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
    e = (letcd *)okof__l_newhandle(L, sizeof *e, ETCD_META, codec, url, ulen);
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
    {"put", okof__le_put},   {"get", okof__le_get},           {"del", okof__le_del},
    {"add", okof__le_add},   {"put_many", okof__le_put_many}, {"sweep", l_sweep},
    {"ttl", okof__le_ttl},   {"close", l_close}, {NULL, NULL}};

static const luaL_Reg metamethods[] = {
    {"__gc", l_close}, {"__close", l_close}, {"__tostring", l_tostring},
    {NULL, NULL}};

static const luaL_Reg walk_meta[] = {
    {"__gc", okof__le_walk_close}, {"__close", okof__le_walk_close}, {NULL, NULL}};

static const luaL_Reg op_methods[] = {
    {"next", okof__le_op_next}, {"done", okof__le_op_done}, {"finish", okof__le_op_finish},
    {"timeout", okof__le_op_timeout}, {NULL, NULL}};

/* The operations of the methods, begun: for another transport. */
static const luaL_Reg begins[] = {
    {"get", okof__le_begin_get}, {"put", okof__le_begin_put}, {"add", okof__le_begin_add},
    {"del", okof__le_begin_del}, {"put_many", okof__le_begin_put_many},
    {"ttl", okof__le_begin_ttl}, {NULL, NULL}};

static void create_op_meta(lua_State *L)
{
    luaL_newmetatable(L, ETCD_OP_META);
    lua_pushcfunction(L, okof__le_op_gc);
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
    okof__l_set_walk(L, hm, wm, "each", okof__le_each, okof__le_each_next);
    okof__l_set_walk(L, hm, wm, "keys", okof__le_keys, okof__le_keys_next);
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
    {"open", l_open}, {"_defer", okof__le_defer}, {NULL, NULL}};

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
