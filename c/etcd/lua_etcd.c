/*
 * lua_etcd.c -- okofdb.etcd: the Lua handle of a store on etcd, with the
 * methods of a directory's handle. okofdb.open hands it "etcd://" URLs.
 * Arguments, codecs, values and put_many's items go through the shared
 * binding (lua_args.c, lua_values.c, lua_ops.c, lua_codec.c): the handle's
 * userdata starts with the directory handle's, whose store stays NULL.
 */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "lua_codec.h"
#include "lua_okofdb.h"
#include "okof_etcd.h"

#if defined(__GNUC__) || defined(__clang__)
#define OKOF_EXPORT __attribute__((visibility("default")))
#else
#define OKOF_EXPORT
#endif

#define ETCD_META "okofdb.etcd"
#define ETCD_ITER_META "okofdb.etcd.walk"

typedef struct {
    ldb base;        /* codec and name (the URL) for the shared code */
    okof_etcd_t *h;  /* NULL once closed */
} letcd;

typedef struct {
    okof_etcd_iter_t *it; /* NULL once finished or closed */
    const char *fn;       /* "each" or "keys" */
    letcd *e;             /* kept alive by the walk's user value */
} lwalk;

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

/* nil, msg, code for rc: the message of a directory's handle, then for a
 * write that timed out that its outcome is unknown, then what the members
 * said. */
static int fail(lua_State *L, const letcd *e, int rc, const char *fn,
                const char *key, size_t klen, int write)
{
    const char *said = e->h != NULL ? okof_etcd_errmsg(e->h) : "";
    okof__l_fail(L, rc, fn, e->base.dir, key, klen, NULL);
    lua_pushfstring(L, "%s%s%s%s%s", lua_tostring(L, -2),
                    write && rc == -ETIMEDOUT ? "; the write's outcome is unknown" : "",
                    *said ? " (" : "", said, *said ? ")" : "");
    lua_replace(L, -3);
    return 3;
}

static int l_get(lua_State *L)
{
    letcd *e = check_self(L, "get");
    size_t klen, vlen = 0;
    const char *key;
    void *val = NULL;
    int rc, n;
    live(L, e, "get");
    key = check_key(L, 2, "get", &klen);
    lua_settop(L, 2);
    okof__l_push_decoder(L);
    rc = okof_etcd_get(live(L, e, "get"), key, klen, &val, &vlen);
    if (rc == 0) {
        n = okof__l_push_read(L, 1, "get", key, klen, val, vlen, 1);
        return n < 0 ? 3 : 1;
    }
    lua_pop(L, 1);
    if (rc == OKOF_NOTFOUND) {
        lua_pushnil(L);
        return 1;
    }
    return fail(L, e, rc, "get", key, klen, 0);
}

/* put and add. */
static int store(lua_State *L, const char *fn, int add)
{
    letcd *e = check_self(L, fn);
    size_t klen, vlen;
    const char *key, *val;
    int rc;
    live(L, e, fn);
    key = check_key(L, 2, fn, &klen);
    val = okof__l_tobytes(L, 1, 3, 2, fn, &vlen);
    rc = add ? okof_etcd_add(live(L, e, fn), key, klen, val, vlen)
             : okof_etcd_put(live(L, e, fn), key, klen, val, vlen);
    if (rc != 0 && rc != OKOF_EXISTS)
        return fail(L, e, rc, fn, key, klen, 1);
    lua_pushboolean(L, rc == 0);
    return 1;
}

static int l_put(lua_State *L)
{
    return store(L, "put", 0);
}

static int l_add(lua_State *L)
{
    return store(L, "add", 1);
}

static int l_del(lua_State *L)
{
    letcd *e = check_self(L, "del");
    size_t klen;
    const char *key;
    int rc;
    live(L, e, "del");
    key = check_key(L, 2, "del", &klen);
    rc = okof_etcd_del(live(L, e, "del"), key, klen);
    if (rc != 0 && rc != OKOF_NOTFOUND)
        return fail(L, e, rc, "del", key, klen, 1);
    lua_pushboolean(L, rc == 0);
    return 1;
}

static int l_put_many(lua_State *L)
{
    letcd *e = check_self(L, "put_many");
    size_t n, written = 0;
    okof_kv *items;
    int rc;
    live(L, e, "put_many");
    items = okof__l_items(L, "put_many", &n);
    rc = okof_etcd_put_many(live(L, e, "put_many"), items, n, &written);
    if (rc == 0) {
        lua_pushboolean(L, 1);
        return 1;
    }
    fail(L, e, rc, "put_many", NULL, 0, 1);
    okof__l_push_written(L, items, written);
    return 4;
}

/* A cluster has no temporary files: 0, after the checks of a directory. */
static int l_sweep(lua_State *L)
{
    letcd *e = check_self(L, "sweep");
    live(L, e, "sweep");
    if (!lua_isnoneornil(L, 2) && lua_type(L, 2) != LUA_TNUMBER)
        okof__l_typeerror(L, 2, 1, "sweep", "max_age", "number");
    if (!lua_isnoneornil(L, 2) && !(lua_tonumber(L, 2) >= 0))
        okof__l_argerror(L, 1, "sweep", "max_age",
                         "must be a non-negative number");
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

static int walk_close(lua_State *L)
{
    lwalk *w = (lwalk *)okof_testudata(L, 1, ETCD_ITER_META);
    if (w != NULL) {
        okof_etcd_iter_close(w->it);
        w->it = NULL;
    }
    return 0;
}

/* The walk at index 1 (its metatable is upvalue 1), on an open handle. */
static lwalk *check_walk(lua_State *L)
{
    lwalk *w = (lwalk *)lua_touserdata(L, 1);
    int same = 0;
    if (w != NULL && lua_getmetatable(L, 1)) {
        same = lua_rawequal(L, -1, lua_upvalueindex(1));
        lua_pop(L, 1);
    }
    if (!same)
        luaL_error(L, "okofdb iterator called without its walk (got %s)",
                   luaL_typename(L, 1));
    if (w->e->h == NULL)
        luaL_error(L, "calling '%s' iterator on a closed okofdb handle", w->fn);
    return w;
}

/* The next key into key[] (and its value), or 0 at the walk's end; raises
 * when the walk cannot go on. */
static int walk_next(lua_State *L, lwalk *w, char *key, size_t *klen,
                     const void **val, size_t *vlen, int *vrc)
{
    const char *k = NULL;
    int rc = w->it ? okof_etcd_iter_next(w->it, &k, klen, val, vlen, vrc)
                   : OKOF_NOTFOUND;
    if (rc == 0) {
        memcpy(key, k, *klen); /* the walk may be closed while it is pushed */
        return 1;
    }
    okof_etcd_iter_close(w->it);
    w->it = NULL;
    if (rc != OKOF_NOTFOUND) {
        const char *said = okof_etcd_errmsg(w->e->h);
        luaL_error(L, "%s %s: %s%s%s%s", w->fn, w->e->base.dir,
                   okof_strerror(rc), *said ? " (" : "", said, *said ? ")" : "");
    }
    return 0;
}

static int keys_next(lua_State *L)
{
    char key[OKOF_KEY_MAX + 1];
    size_t klen = 0;
    if (!walk_next(L, check_walk(L), key, &klen, NULL, NULL, NULL))
        return 0;
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
    if (!walk_next(L, w, key, &klen, &val, &vlen, &vrc))
        return 0;
    if (vrc != 0) {
        lua_pop(L, 1);
        fail(L, w->e, vrc, "get", key, klen, 0);
        n = -1;
    } else {
        n = okof__l_push_read(L, 2, "get", key, klen, (void *)(size_t)val, vlen, 0);
    }
    lua_pushlstring(L, key, klen);
    lua_insert(L, 3);
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

static void set_walk(lua_State *L, int hm, int wm, const char *name,
                     lua_CFunction method, lua_CFunction next)
{
    lua_pushvalue(L, hm);
    lua_pushvalue(L, wm);
    lua_pushcclosure(L, next, 1);
    lua_pushcclosure(L, method, 2);
    lua_setfield(L, -2, name);
}

/* Every method has the handle's metatable as upvalue 1 (as a directory's
 * handle has its own), the iterators the walk's. */
static void create_metas(lua_State *L)
{
    int hm, wm;
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
    set_walk(L, hm, wm, "each", l_each, each_next);
    set_walk(L, hm, wm, "keys", l_keys, keys_next);
    lua_setfield(L, hm, "__index");
    lua_pop(L, 2);
}

static const luaL_Reg module_fns[] = {{"open", l_open}, {NULL, NULL}};

OKOF_EXPORT int luaopen_okofdb_etcd(lua_State *L);
int luaopen_okofdb_etcd(lua_State *L)
{
    create_metas(L);
    luaL_newlib(L, module_fns);
    lua_pushliteral(L, OKOF_VERSION_STRING);
    lua_setfield(L, -2, "_VERSION");
    return 1;
}
