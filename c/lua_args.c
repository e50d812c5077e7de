/* lua_args.c -- checking arguments and making results for the binding. */
#include <math.h>
#include <string.h>

#include "lua_codec.h"
#include "lua_okofdb.h"

/* The function's name is given, not guessed, so messages are right
 * however a method was called (db:put(...), db.put(db, ...), pcall). */
int okof__l_argerror(lua_State *L, int arg, const char *fn, const char *what,
                     const char *msg)
{
    return luaL_error(L, "bad argument #%d to '%s' (%s: %s)", arg, fn, what,
                      msg);
}

int okof__l_typeerror(lua_State *L, int idx, int arg, const char *fn,
                      const char *what, const char *want)
{
    const char *msg = lua_pushfstring(L, "%s expected, got %s", want,
                                      luaL_typename(L, idx));
    return okof__l_argerror(L, arg, fn, what, msg);
}

/* The handle's metatable is upvalue 1 of every method: comparing with it
 * spares a lookup in the registry on every call. */
ldb *okof__l_toldb(lua_State *L, const char *fn)
{
    ldb *u = (ldb *)lua_touserdata(L, 1);
    int same = 0;
    if (u != NULL && lua_getmetatable(L, 1)) {
        same = lua_rawequal(L, -1, lua_upvalueindex(1));
        lua_pop(L, 1);
    }
    if (!same)
        luaL_error(L, "calling '%s' on bad self (okofdb handle expected, got %s)",
                   fn, luaL_typename(L, 1));
    return u;
}

okof_t *okof__l_checkdb(lua_State *L, const char *fn)
{
    return okof__l_live(L, okof__l_toldb(L, fn), fn);
}

okof_t *okof__l_live(lua_State *L, const ldb *u, const char *fn)
{
    if (u->db == NULL)
        luaL_error(L, "calling '%s' on a closed okofdb handle", fn);
    return u->db;
}

const char *okof__l_checkstr(lua_State *L, int idx, int arg, const char *fn,
                             const char *what, size_t *len)
{
    int t = lua_type(L, idx);
    if (t != LUA_TSTRING && t != LUA_TNUMBER)
        okof__l_typeerror(L, idx, arg, fn, what, "string");
    return lua_tolstring(L, idx, len);
}

const char *okof__l_checkkey(lua_State *L, int idx, int arg, const char *fn,
                             size_t *len)
{
    const char *k = okof__l_checkstr(L, idx, arg, fn, "key", len);
    if (*len == 0)
        okof__l_argerror(L, arg, fn, "key", "must not be empty");
    return k;
}

int64_t okof__l_checkttl(lua_State *L, int idx, int arg, const char *fn)
{
    lua_Number ttl, ms;
    if (lua_isnoneornil(L, idx))
        return 0;
    if (lua_type(L, idx) != LUA_TNUMBER)
        okof__l_typeerror(L, idx, arg, fn, "ttl", "number");
    ttl = lua_tonumber(L, idx);
    if (!(ttl > 0)) /* NaN too */
        okof__l_argerror(L, arg, fn, "ttl", "must be a positive number");
    ms = ceil(ttl * 1000);
    if (!(ms <= 4611686018427387904.0)) /* OKOF_TTL_MAX_MS; inf too */
        okof__l_argerror(L, arg, fn, "ttl", "too large to store");
    return (int64_t)ms;
}

int okof__l_keytoolong(lua_State *L, int arg, const char *fn)
{
    return okof__l_argerror(L, arg, fn, "key",
                            "too long: its file name would exceed 255 bytes");
}

/* Append key to b as a quoted, printable string, escaped as the
 * command-line tool writes keys: printable ASCII as it is, \" and \\, and
 * every other byte as \xHH (two lowercase hex digits). */
static void add_quoted(luaL_Buffer *b, const char *k, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t i;
    luaL_addchar(b, '"');
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)k[i];
        char esc[4];
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
            luaL_addchar(b, (char)c);
            continue;
        }
        esc[0] = '\\';
        if (c == '"' || c == '\\') {
            esc[1] = (char)c;
            luaL_addlstring(b, esc, 2);
            continue;
        }
        esc[1] = 'x';
        esc[2] = hex[c >> 4];
        esc[3] = hex[c & 0x0f];
        luaL_addlstring(b, esc, 4);
    }
    luaL_addchar(b, '"');
}

int okof__l_itemerror(lua_State *L, const char *fn, const char *key,
                      size_t klen, const char *msg)
{
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    add_quoted(&b, key, klen > 32 ? 32 : klen);
    if (klen > 32) {
        luaL_addstring(&b, "... (");
        lua_pushinteger(L, (lua_Integer)klen);
        luaL_addvalue(&b);
        luaL_addstring(&b, " bytes)");
    }
    luaL_pushresult(&b);
    return luaL_error(L, "bad argument #1 to '%s' (items: key %s %s)", fn,
                      lua_tostring(L, -1), msg);
}

int okof__l_fail(lua_State *L, int rc, const char *op, const char *dir,
                 const char *key, size_t klen, const char *detail)
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
    luaL_addstring(&b, detail != NULL ? detail : okof_strerror(rc));
    luaL_pushresult(&b);
    lua_pushstring(L, detail != NULL ? "EDECODE" : okof_errname(rc));
    return 3;
}

/* ---- options of open shared by every kind of store ---------------------- */

void okof__l_opt_error(lua_State *L, const char *name, const char *want)
{
    const char *msg = lua_pushfstring(L, "option '%s' must be %s", name, want);
    okof__l_argerror(L, 2, "open", "opts", msg);
}

void okof__l_opt_compress_min(lua_State *L, size_t *compress_min)
{
    lua_Number n;
    if (lua_type(L, -1) == LUA_TBOOLEAN && !lua_toboolean(L, -1)) {
        *compress_min = OKOF_NO_COMPRESS;
        return;
    }
    n = lua_type(L, -1) == LUA_TNUMBER ? lua_tonumber(L, -1) : -1;
    if (!(n >= 0 && floor(n) == n)) /* NaN fails too */
        okof__l_opt_error(L, "compress_min", "a non-negative integer or false");
    /* Beyond any value's size, even math.huge, is the same as never. */
    *compress_min = n >= 1e18 ? OKOF_NO_COMPRESS : (size_t)n;
}

static int has_function(lua_State *L, int idx, const char *name)
{
    int ok;
    lua_getfield(L, idx, name);
    ok = lua_type(L, -1) == LUA_TFUNCTION;
    lua_pop(L, 1);
    return ok;
}

int okof__l_opt_codec(lua_State *L)
{
    int idx = lua_gettop(L);
    if (lua_type(L, idx) == LUA_TBOOLEAN && !lua_toboolean(L, idx))
        return CODEC_NONE;
    if (!lua_istable(L, idx) || !has_function(L, idx, "encode") ||
        !has_function(L, idx, "decode"))
        okof__l_opt_error(L, "codec", "a table with encode and decode functions");
    lua_pushvalue(L, idx);
    lua_replace(L, 3);
    return okof__codec_is_builtin(L, 3) ? CODEC_BUILTIN : CODEC_CUSTOM;
}

/* ---- pieces of the handles of every kind of store ----------------------- */

ldb *okof__l_newhandle(lua_State *L, size_t size, const char *meta, int codec,
                       const char *name, size_t nlen)
{
    ldb *u = (ldb *)okof_newudata_slots(L, size + nlen + 1, 2);
    memset(u, 0, size);
    u->codec = codec;
    u->dir = memcpy((char *)u + size, name, nlen + 1);
    luaL_getmetatable(L, meta);
    lua_setmetatable(L, -2);
    lua_pushvalue(L, 3);
    okof_setslot(L, -2, SLOT_CODEC);
    return u;
}

void okof__l_set_walk(lua_State *L, int dbm, int itm, const char *name,
                      lua_CFunction method, lua_CFunction next)
{
    lua_pushvalue(L, dbm);
    lua_pushvalue(L, itm);
    lua_pushcclosure(L, next, 1);
    lua_pushcclosure(L, method, 2);
    lua_setfield(L, -2, name);
}

void *okof__l_towalk(lua_State *L)
{
    void *w = lua_touserdata(L, 1);
    int same = 0;
    if (w != NULL && lua_getmetatable(L, 1)) {
        same = lua_rawequal(L, -1, lua_upvalueindex(1));
        lua_pop(L, 1);
    }
    if (!same)
        luaL_error(L, "okofdb iterator called without its walk (got %s)",
                   luaL_typename(L, 1));
    return w;
}

lua_Number okof__l_max_age(lua_State *L, int idx)
{
    lua_Number max_age = 3600;
    if (!lua_isnoneornil(L, idx)) {
        if (lua_type(L, idx) != LUA_TNUMBER)
            okof__l_typeerror(L, idx, idx - 1, "sweep", "max_age", "number");
        max_age = lua_tonumber(L, idx);
    }
    if (!(max_age >= 0))
        okof__l_argerror(L, idx - 1, "sweep", "max_age",
                         "must be a non-negative number");
    return max_age;
}
