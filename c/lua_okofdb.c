/*
 * lua_okofdb.c -- okofdb.core: the module, okofdb.open and its options,
 * and the handle's metatable. The methods live in lua_ops.c and
 * lua_iter.c, values and codecs in lua_values.c and lua_codec.c.
 */
#include <stdlib.h>
#include <string.h>

#include "lua_codec.h"
#include "lua_okofdb.h"
#include "okof_io.h"

#if defined(__GNUC__) || defined(__clang__)
#define OKOF_EXPORT __attribute__((visibility("default")))
#else
#define OKOF_EXPORT
#endif

/* ---- the options of open ------------------------------------------------ */

struct opts {
    unsigned flags;
    size_t compress_min;
    int codec; /* CODEC_*; the codec table itself is at stack index 3 */
};

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
        okof__l_opt_error(L, "create", "a boolean");
    opt_flag(o, OKOF_CREATE, lua_toboolean(L, -1));
}

static void opt_legacy(lua_State *L, struct opts *o)
{
    if (lua_type(L, -1) != LUA_TBOOLEAN)
        okof__l_opt_error(L, "legacy", "a boolean");
    opt_flag(o, OKOF_LEGACY, lua_toboolean(L, -1));
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
        okof__l_opt_error(L, "sync", "\"full\" or \"none\"");
    opt_flag(o, OKOF_SYNC, i == 1);
}

static void opt_compress_min(lua_State *L, struct opts *o)
{
    okof__l_opt_compress_min(L, &o->compress_min);
}

static void opt_codec(lua_State *L, struct opts *o)
{
    o->codec = okof__l_opt_codec(L);
}

typedef void (*opt_fn)(lua_State *L, struct opts *o);

/* Apply the option whose name is at -2 and value at -1. */
static void parse_opt(lua_State *L, struct opts *o)
{
    static const char *const names[] = {"create", "sync", "compress_min",
                                        "codec", "legacy", NULL};
    static const opt_fn fns[] = {opt_create, opt_sync, opt_compress_min,
                                 opt_codec, opt_legacy};
    const char *name;
    int i;
    if (lua_type(L, -2) != LUA_TSTRING)
        okof__l_argerror(L, 2, "open", "opts", "option names must be strings");
    name = lua_tostring(L, -2);
    for (i = 0; names[i] != NULL; i++)
        if (strcmp(name, names[i]) == 0)
            break;
    if (names[i] == NULL)
        okof__l_argerror(L, 2, "open", "opts",
                         lua_pushfstring(L, "unknown option '%s'", name));
    fns[i](L, o);
}

/* Options from the table at index 2; the codec table goes to index 3. */
static void parse_opts(lua_State *L, struct opts *o)
{
    o->flags = OKOF_CREATE | OKOF_SYNC;
    o->compress_min = OKOF_COMPRESS_MIN_DEFAULT;
    o->codec = CODEC_NONE;
    lua_settop(L, 2);
    lua_pushnil(L); /* 3: the codec */
    if (lua_isnil(L, 2))
        return;
    if (!lua_istable(L, 2))
        okof__l_typeerror(L, 2, 2, "open", "opts", "table");
    lua_pushnil(L);
    while (lua_next(L, 2) != 0) {
        parse_opt(L, o);
        lua_pop(L, 1);
    }
}

/* ---- open, close, tostring ---------------------------------------------- */

/* The userdata is made and given its metatable before the store is
 * opened, so a memory error can never leak the directory descriptor. */
static int l_open(lua_State *L)
{
    size_t dlen;
    const char *dir = okof__l_checkstr(L, 1, 1, "open", "dir", &dlen);
    struct opts o;
    ldb *u;
    int rc;
    if (dlen == 0 || strlen(dir) != dlen)
        okof__l_argerror(L, 1, "open", "dir",
                         "not a valid path (empty or holds NUL)");
    parse_opts(L, &o);
    u = okof__l_newhandle(L, sizeof *u, DB_META, o.codec, dir, dlen);
    rc = okof_open(&u->db, dir, o.flags, o.compress_min);
    if (rc != 0)
        return okof__l_fail(L, rc, "open", dir, NULL, 0, NULL);
    return 1;
}

/* The one closer of close(), __close and __gc: a closed handle is fine. */
static int l_close(lua_State *L)
{
    ldb *u = okof__l_toldb(L, "close");
    okof_close(u->db);
    u->db = NULL;
    u->rbuf = NULL; /* its memory is the collector's */
    lua_pushnil(L);
    okof_setslot(L, 1, SLOT_RBUF);
    lua_pushboolean(L, 1);
    return 1;
}

static int l_tostring(lua_State *L)
{
    ldb *u = okof__l_toldb(L, "__tostring");
    if (u->db == NULL)
        lua_pushliteral(L, "okofdb: closed");
    else
        lua_pushfstring(L, "okofdb: %s", u->dir);
    return 1;
}

/* ---- the module --------------------------------------------------------- */

static const luaL_Reg db_methods[] = {
    {"put", okof__l_put},     {"get", okof__l_get},
    {"del", okof__l_del},     {"add", okof__l_add},
    {"put_many", okof__l_put_many}, {"sweep", okof__l_sweep},
    {"ttl", okof__l_ttl},
    {"close", l_close},       {NULL, NULL}};

static const luaL_Reg db_meta[] = {
    {"__gc", l_close},
    {"__close", l_close},
    {"__tostring", l_tostring},
    {NULL, NULL}}; /* __index: the methods table, set in create_metas */

static const luaL_Reg iter_meta[] = {{"__gc", okof__l_iter_close},
                                     {"__close", okof__l_iter_close},
                                     {NULL, NULL}};

/* Every method and metamethod of a handle has its metatable as upvalue 1:
 * checking self is then a comparison, not a lookup in the registry. */
static void create_metas(lua_State *L)
{
    int dbm, itm;
    luaL_newmetatable(L, ITER_META);
    itm = lua_gettop(L);
    luaL_setfuncs(L, iter_meta, 0);
    luaL_newmetatable(L, DB_META);
    dbm = lua_gettop(L);
    lua_pushvalue(L, dbm);
    luaL_setfuncs(L, db_meta, 1);
    lua_createtable(L, 0, 10);
    lua_pushvalue(L, dbm);
    luaL_setfuncs(L, db_methods, 1);
    okof__l_set_walk(L, dbm, itm, "each", okof__l_each, okof__l_each_next);
    okof__l_set_walk(L, dbm, itm, "keys", okof__l_keys, okof__l_keys_next);
    lua_setfield(L, dbm, "__index");
    lua_pop(L, 2);
}

/* isatty(fd): whether descriptor fd (0 stdin, 1 stdout, 2 stderr) is a
 * terminal; for the command-line tool, which must not start a shell to ask. */
static int l_isatty(lua_State *L)
{
    lua_Number fd;
    if (lua_type(L, 1) != LUA_TNUMBER)
        okof__l_typeerror(L, 1, 1, "isatty", "fd", "number");
    fd = lua_tonumber(L, 1);
    if (!(fd >= 0 && fd <= 65536) || fd != (lua_Number)(int)fd)
        okof__l_argerror(L, 1, "isatty", "fd", "must be a descriptor number");
    lua_pushboolean(L, okof__io_isatty((int)fd));
    return 1;
}

static const luaL_Reg module_fns[] = {{"open", l_open}, {"isatty", l_isatty}, {NULL, NULL}};

/* The constants that the Lua module and the command-line tool take from
 * okof.h rather than repeat. */
static void set_constants(lua_State *L)
{
    lua_pushinteger(L, OKOF_CHUNK_MAX);
    lua_setfield(L, -2, "CHUNK_MAX");
    lua_pushinteger(L, OKOF_SWEEP_MAX_AGE_DEFAULT);
    lua_setfield(L, -2, "SWEEP_MAX_AGE_DEFAULT");
    lua_pushinteger(L, OKOF_COMPRESS_MIN_DEFAULT);
    lua_setfield(L, -2, "COMPRESS_MIN_DEFAULT");
}

OKOF_EXPORT int luaopen_okofdb_core(lua_State *L);

int luaopen_okofdb_core(lua_State *L)
{
    create_metas(L);
    luaL_newlib(L, module_fns);
    lua_pushliteral(L, OKOF_VERSION_STRING);
    lua_setfield(L, -2, "_VERSION");
    set_constants(L);
    lua_createtable(L, 0, 1);
    okof__codec_push(L);
    lua_setfield(L, -2, "lua");
    lua_setfield(L, -2, "codec");
    return 1;
}
