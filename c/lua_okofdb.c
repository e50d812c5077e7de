/*
 * lua_okofdb.c -- the Lua binding: okofdb.core, a userdata per open store.
 * The only file that includes Lua headers. Programming errors raise;
 * operational errors return nil, msg, code. No heap memory is held across
 * a call that can raise: values from the core are pushed in protected mode
 * and freed before any error is rethrown.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compat.h"
#include "okof.h"

#define DB_META "okofdb.db"
/* Each handle's read buffer: a value of up to 64 KiB, compressed or not,
 * is read and decoded in it without an allocation. */
#define READ_BUF (2 * (65536 + 64))
#define ITER_META "okofdb.iter"

#if defined(__GNUC__) || defined(__clang__)
#define OKOF_EXPORT __attribute__((visibility("default")))
#else
#define OKOF_EXPORT
#endif

typedef struct {
    okof_t *db;          /* NULL once closed */
    unsigned char *rbuf; /* READ_BUF bytes, made on first read */
} ldb;

typedef struct {
    okof_iter_t *it; /* NULL once finished or closed */
    const char *fn;  /* "each" or "keys", for messages */
} liter;

/* ---- results ------------------------------------------------------------ */

/* Append key to b as a quoted, printable string. */
static void add_quoted(luaL_Buffer *b, const char *k, size_t n)
{
    size_t i;
    luaL_addchar(b, '"');
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)k[i];
        char esc[8];
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
            luaL_addchar(b, (char)c);
            continue;
        }
        esc[0] = '\\';
        esc[1] = (char)('0' + c / 100);
        esc[2] = (char)('0' + c / 10 % 10);
        esc[3] = (char)('0' + c % 10);
        luaL_addlstring(b, esc, 4);
    }
    luaL_addchar(b, '"');
}

/* nil, "<op> "<key>" in <dir>: <text>", code; key may be NULL. */
static int pushfail(lua_State *L, int rc, const char *op, const char *dir,
                    const char *key, size_t klen)
{
    luaL_Buffer b;
    lua_pushnil(L);
    luaL_buffinit(L, &b);
    luaL_addstring(&b, op);
    luaL_addchar(&b, ' ');
    if (key != NULL) {
        add_quoted(&b, key, klen);
        luaL_addstring(&b, " in ");
    }
    luaL_addstring(&b, dir);
    luaL_addstring(&b, ": ");
    luaL_addstring(&b, okof_strerror(rc));
    luaL_pushresult(&b);
    lua_pushstring(L, okof_errname(rc));
    return 3;
}

struct span {
    const void *p;
    size_t n;
};

static int push_span(lua_State *L)
{
    const struct span *s = (const struct span *)lua_touserdata(L, 1);
    lua_pushlstring(L, (const char *)s->p, s->n);
    return 1;
}

/* Push the core's value p[0..n) and free it, even if pushing fails. The
 * protected function must already be on the stack top (pushed before the
 * value was read, as pushing it may allocate). */
static void push_owned(lua_State *L, void *p, size_t n, int allocated)
{
    struct span s;
    int rc;
    if (!allocated) { /* on the C stack: nothing to free */
        lua_pop(L, 1);
        lua_pushlstring(L, (const char *)p, n);
        return;
    }
    s.p = p;
    s.n = n;
    lua_pushlightuserdata(L, &s);
    rc = lua_pcall(L, 1, 1, 0);
    okof_free(p);
    if (rc != 0)
        lua_error(L);
}

/* ---- arguments ---------------------------------------------------------- */

/* Raise "bad argument #arg to 'fn' (what: msg)". Arguments are counted
 * as in a method call, db:put(key, value): key is #1. The function's name
 * is given, not guessed, so it is right however the method was called. */
static int arg_error(lua_State *L, int arg, const char *fn, const char *what,
                     const char *msg)
{
    return luaL_error(L, "bad argument #%d to '%s' (%s: %s)", arg, fn, what,
                      msg);
}

/* The value at stack index idx, argument number arg, has the wrong type. */
static int type_error(lua_State *L, int idx, int arg, const char *fn,
                      const char *what, const char *want)
{
    const char *msg = lua_pushfstring(L, "%s expected, got %s", want,
                                      luaL_typename(L, idx));
    return arg_error(L, arg, fn, what, msg);
}

static ldb *to_ldb(lua_State *L, const char *fn)
{
    ldb *u = (ldb *)okof_testudata(L, 1, DB_META);
    if (u == NULL)
        luaL_error(L, "calling '%s' on bad self (okofdb handle expected, got %s)",
                   fn, luaL_typename(L, 1));
    return u;
}

static okof_t *check_db(lua_State *L, const char *fn)
{
    ldb *u = to_ldb(L, fn);
    if (u->db == NULL)
        luaL_error(L, "calling '%s' on a closed okofdb handle", fn);
    return u->db;
}

/* A string argument; numbers are converted as Lua does. */
static const char *check_str(lua_State *L, int idx, int arg, const char *fn,
                             const char *what, size_t *len)
{
    int t = lua_type(L, idx);
    if (t != LUA_TSTRING && t != LUA_TNUMBER)
        type_error(L, idx, arg, fn, what, "string");
    return lua_tolstring(L, idx, len);
}

static const char *check_key(lua_State *L, const char *fn, size_t *len)
{
    const char *k = check_str(L, 2, 1, fn, "key", len);
    if (*len == 0)
        arg_error(L, 1, fn, "key", "must not be empty");
    return k;
}

static void key_too_long(lua_State *L, const char *fn)
{
    arg_error(L, 1, fn, "key", "too long: its file name would exceed 255 bytes");
}

/* ---- open and its options ----------------------------------------------- */

struct opts {
    unsigned flags;
    size_t compress_min;
};

static void opt_error(lua_State *L, const char *name, const char *want)
{
    const char *msg = lua_pushfstring(L, "option '%s' must be %s", name, want);
    arg_error(L, 2, "open", "opts", msg);
}

static void opt_flag(struct opts *o, unsigned flag, int on)
{
    if (on)
        o->flags |= flag;
    else
        o->flags &= ~flag;
}

static void opt_create(lua_State *L, struct opts *o)
{
    if (lua_type(L, -1) != LUA_TBOOLEAN)
        opt_error(L, "create", "a boolean");
    opt_flag(o, OKOF_CREATE, lua_toboolean(L, -1));
}

static void opt_sync(lua_State *L, struct opts *o)
{
    static const char *const modes[] = {"none", "full", NULL};
    const char *s = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "";
    int i;
    for (i = 0; modes[i] != NULL; i++)
        if (strcmp(s, modes[i]) == 0)
            break;
    if (modes[i] == NULL)
        opt_error(L, "sync", "\"full\" or \"none\"");
    opt_flag(o, OKOF_SYNC, i == 1);
}

static void opt_compress_min(lua_State *L, struct opts *o)
{
    lua_Number n;
    if (lua_type(L, -1) == LUA_TBOOLEAN && !lua_toboolean(L, -1)) {
        o->compress_min = OKOF_NO_COMPRESS;
        return;
    }
    n = lua_type(L, -1) == LUA_TNUMBER ? lua_tonumber(L, -1) : -1;
    if (!(n >= 0 && floor(n) == n)) /* NaN fails too */
        opt_error(L, "compress_min", "a non-negative integer or false");
    /* Beyond any value's size, even math.huge, is the same as never. */
    o->compress_min = n >= 1e18 ? OKOF_NO_COMPRESS : (size_t)n;
}

typedef void (*opt_fn)(lua_State *L, struct opts *o);

/* Apply the option whose name is at -2 and value at -1. */
static void parse_opt(lua_State *L, struct opts *o)
{
    static const char *const names[] = {"create", "sync", "compress_min", NULL};
    static const opt_fn fns[] = {opt_create, opt_sync, opt_compress_min};
    const char *name;
    int i;
    if (lua_type(L, -2) != LUA_TSTRING)
        arg_error(L, 2, "open", "opts", "option names must be strings");
    name = lua_tostring(L, -2);
    for (i = 0; names[i] != NULL; i++)
        if (strcmp(name, names[i]) == 0)
            break;
    if (names[i] == NULL)
        arg_error(L, 2, "open", "opts",
                  lua_pushfstring(L, "unknown option '%s'", name));
    fns[i](L, o);
}

static void parse_opts(lua_State *L, int arg, struct opts *o)
{
    o->flags = OKOF_CREATE | OKOF_SYNC;
    o->compress_min = OKOF_COMPRESS_MIN_DEFAULT;
    if (lua_isnoneornil(L, arg))
        return;
    if (!lua_istable(L, arg))
        type_error(L, arg, arg, "open", "opts", "table");
    lua_pushnil(L);
    while (lua_next(L, arg) != 0) {
        parse_opt(L, o);
        lua_pop(L, 1);
    }
}

static int l_open(lua_State *L)
{
    size_t dlen;
    const char *dir = check_str(L, 1, 1, "open", "dir", &dlen);
    struct opts o;
    ldb *u;
    int rc;
    if (dlen == 0 || strlen(dir) != dlen)
        arg_error(L, 1, "open", "dir", "not a valid path (empty or holds NUL)");
    parse_opts(L, 2, &o);
    u = (ldb *)okof_newudata(L, sizeof *u);
    u->db = NULL;
    u->rbuf = NULL;
    luaL_getmetatable(L, DB_META);
    lua_setmetatable(L, -2);
    rc = okof_open(&u->db, dir, o.flags, o.compress_min);
    if (rc != 0)
        return pushfail(L, rc, "open", dir, NULL, 0);
    return 1;
}

/* ---- put, get, del ------------------------------------------------------ */

static int l_put(lua_State *L)
{
    okof_t *db = check_db(L, "put");
    size_t klen, vlen;
    const char *key = check_key(L, "put", &klen);
    const char *val = check_str(L, 3, 2, "put", "value", &vlen);
    int rc = okof_put(db, key, klen, val, vlen);
    if (rc == OKOF_EBADKEY)
        key_too_long(L, "put");
    if (rc != 0)
        return pushfail(L, rc, "put", okof_dir(db), key, klen);
    lua_pushboolean(L, 1);
    return 1;
}

/* okof_get_buf through the handle's read buffer (made here on first use;
 * without it, values go through the heap). Returns whether *val was
 * allocated (1) or lies in the buffer (0), or a negative result code. */
static int read_value(lua_State *L, int udx, okof_t *db, const char *key,
                      size_t klen, void **val, size_t *vlen)
{
    ldb *u = (ldb *)lua_touserdata(L, udx);
    int allocated = 0, rc;
    if (u->rbuf == NULL)
        u->rbuf = (unsigned char *)malloc(READ_BUF);
    rc = okof_get_buf(db, key, klen, u->rbuf, u->rbuf ? READ_BUF : 0, val,
                      vlen, &allocated);
    return rc ? rc : allocated;
}

static int l_get(lua_State *L)
{
    okof_t *db = check_db(L, "get");
    size_t klen, vlen = 0;
    const char *key = check_key(L, "get", &klen);
    void *val = NULL;
    int rc;
    luaL_checkstack(L, 4, NULL);
    lua_pushcfunction(L, push_span);
    rc = read_value(L, 1, db, key, klen, &val, &vlen);
    if (rc >= 0) {
        push_owned(L, val, vlen, rc);
        return 1;
    }
    lua_pop(L, 1);
    if (rc == OKOF_EBADKEY)
        key_too_long(L, "get");
    if (rc == OKOF_NOTFOUND) {
        lua_pushnil(L);
        return 1;
    }
    return pushfail(L, rc, "get", okof_dir(db), key, klen);
}

static int l_del(lua_State *L)
{
    okof_t *db = check_db(L, "del");
    size_t klen;
    const char *key = check_key(L, "del", &klen);
    int rc = okof_del(db, key, klen);
    if (rc == OKOF_EBADKEY)
        key_too_long(L, "del");
    if (rc != 0 && rc != OKOF_NOTFOUND)
        return pushfail(L, rc, "del", okof_dir(db), key, klen);
    lua_pushboolean(L, rc == 0);
    return 1;
}

/* ---- each and keys ------------------------------------------------------ */

/* A walk is a userdata that holds the core's iterator and, as its user
 * value, the handle's userdata (so the handle outlives the walk). The
 * iterator functions are shared, made once in luaopen: a closure per
 * walk would be kept alive by LuaJIT's traces, and its walk with it. */

static void iter_release(liter *it)
{
    okof_iter_close(it->it);
    it->it = NULL;
}

static int iter_close(lua_State *L)
{
    liter *it = (liter *)okof_testudata(L, 1, ITER_META);
    if (it != NULL)
        iter_release(it);
    return 0;
}

/* The walk at index 1 and its handle's userdata, pushed at index 2. */
static liter *check_iter(lua_State *L, okof_t **db)
{
    liter *it = (liter *)luaL_checkudata(L, 1, ITER_META);
    ldb *u;
    lua_settop(L, 1);
    okof_getref(L, 1);
    u = (ldb *)lua_touserdata(L, 2);
    if (u == NULL || u->db == NULL)
        luaL_error(L, "calling '%s' iterator on a closed okofdb handle",
                   it->fn);
    *db = u->db;
    return it;
}

/* The next key of the walk, or NULL at its end (the walk is released). */
static const char *iter_key(lua_State *L, liter *it, okof_t *db, size_t *klen)
{
    const char *key = NULL;
    int rc = it->it ? okof_iter_next(it->it, &key, klen) : OKOF_NOTFOUND;
    if (rc == 0)
        return key;
    iter_release(it);
    if (rc != OKOF_NOTFOUND)
        luaL_error(L, "%s %s: %s", it->fn, okof_dir(db), okof_strerror(rc));
    return NULL;
}

static int keys_next(lua_State *L)
{
    okof_t *db;
    liter *it = check_iter(L, &db);
    size_t klen;
    const char *key = iter_key(L, it, db, &klen);
    if (key == NULL)
        return 0;
    lua_pushlstring(L, key, klen);
    return 1;
}

/* Push key's value after the key: 2 results, or 4 (key, nil, msg, code)
 * when it cannot be read; 0 when it was deleted meanwhile. */
static int each_value(lua_State *L, okof_t *db, const char *key, size_t klen)
{
    void *val = NULL;
    size_t vlen = 0;
    int rc;
    lua_pushcfunction(L, push_span);
    rc = read_value(L, 2, db, key, klen, &val, &vlen);
    if (rc >= 0) {
        push_owned(L, val, vlen, rc);
        return 2;
    }
    lua_pop(L, 1);
    if (rc == OKOF_NOTFOUND)
        return 0;
    return 1 + pushfail(L, rc, "get", okof_dir(db), key, klen);
}

static int each_next(lua_State *L)
{
    okof_t *db;
    liter *it = check_iter(L, &db);
    luaL_checkstack(L, 8, NULL);
    for (;;) {
        size_t klen;
        const char *key = iter_key(L, it, db, &klen);
        int n;
        if (key == NULL)
            return 0;
        lua_settop(L, 2);
        lua_pushlstring(L, key, klen);
        n = each_value(L, db, key, klen);
        if (n > 0)
            return n;
    }
}

/* iterator, walk, nil, walk: the walk is the closer, so a break closes
 * it at once on 5.4; elsewhere its __gc does. The shared iterator
 * function is the method's upvalue. */
static int iter_start(lua_State *L, const char *fn)
{
    okof_t *db = check_db(L, fn);
    size_t plen = 0;
    const char *prefix = lua_isnoneornil(L, 2)
                             ? ""
                             : check_str(L, 2, 1, fn, "prefix", &plen);
    liter *it;
    int rc;
    lua_settop(L, 2);
    it = (liter *)okof_newudata_ref(L, sizeof *it); /* at index 3 */
    it->it = NULL;
    it->fn = fn;
    luaL_getmetatable(L, ITER_META);
    lua_setmetatable(L, 3);
    lua_pushvalue(L, 1);
    okof_setref(L, 3);
    rc = okof_iter_open(db, prefix, plen, &it->it);
    if (rc != 0)
        return luaL_error(L, "%s %s: %s", fn, okof_dir(db), okof_strerror(rc));
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushvalue(L, 3);
    lua_pushnil(L);
    lua_pushvalue(L, 3);
    return 4;
}

static int l_each(lua_State *L)
{
    return iter_start(L, "each");
}

static int l_keys(lua_State *L)
{
    return iter_start(L, "keys");
}

/* ---- sweep, close, metamethods ------------------------------------------ */

static int l_sweep(lua_State *L)
{
    okof_t *db = check_db(L, "sweep");
    lua_Number max_age = 3600;
    size_t removed = 0;
    int rc;
    if (!lua_isnoneornil(L, 2)) {
        if (lua_type(L, 2) != LUA_TNUMBER)
            type_error(L, 2, 1, "sweep", "max_age", "number");
        max_age = lua_tonumber(L, 2);
    }
    if (!(max_age >= 0))
        arg_error(L, 1, "sweep", "max_age", "must be a non-negative number");
    rc = okof_sweep(db, (double)max_age, &removed);
    if (rc != 0)
        return pushfail(L, rc, "sweep", okof_dir(db), NULL, 0);
    okof_pushcount(L, removed);
    return 1;
}

/* The one closer of close(), __close and __gc: a closed handle is fine. */
static int l_close(lua_State *L)
{
    ldb *u = to_ldb(L, "close");
    okof_close(u->db);
    u->db = NULL;
    free(u->rbuf);
    u->rbuf = NULL;
    lua_pushboolean(L, 1);
    return 1;
}

static int l_tostring(lua_State *L)
{
    ldb *u = to_ldb(L, "__tostring");
    if (u->db == NULL)
        lua_pushliteral(L, "okofdb: closed");
    else
        lua_pushfstring(L, "okofdb: %s", okof_dir(u->db));
    return 1;
}

static const luaL_Reg db_methods[] = {
    {"put", l_put},     {"get", l_get},     {"del", l_del},
    {"sweep", l_sweep}, {"close", l_close}, {NULL, NULL}};

static const luaL_Reg db_meta[] = {
    {"__gc", l_close},
    {"__close", l_close},
    {"__tostring", l_tostring},
    {NULL, NULL}}; /* __index: the methods table, set in create_metas */

static const luaL_Reg iter_meta[] = {
    {"__gc", iter_close}, {"__close", iter_close}, {NULL, NULL}};

static const luaL_Reg module_fns[] = {{"open", l_open}, {NULL, NULL}};

static void create_metas(lua_State *L)
{
    luaL_newmetatable(L, DB_META);
    luaL_setfuncs(L, db_meta, 0);
    luaL_newlib(L, db_methods);
    lua_pushcfunction(L, each_next);
    lua_pushcclosure(L, l_each, 1);
    lua_setfield(L, -2, "each");
    lua_pushcfunction(L, keys_next);
    lua_pushcclosure(L, l_keys, 1);
    lua_setfield(L, -2, "keys");
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
    luaL_newmetatable(L, ITER_META);
    luaL_setfuncs(L, iter_meta, 0);
    lua_pop(L, 1);
}

OKOF_EXPORT int luaopen_okofdb_core(lua_State *L);

int luaopen_okofdb_core(lua_State *L)
{
    create_metas(L);
    luaL_newlib(L, module_fns);
    lua_pushliteral(L, OKOF_VERSION_STRING);
    lua_setfield(L, -2, "_VERSION");
    return 1;
}
