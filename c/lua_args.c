/* lua_args.c -- checking arguments and making results for the binding. */
#include <math.h>
#include <string.h>

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

/* Append key to b as a quoted, printable string. */
static void add_quoted(luaL_Buffer *b, const char *k, size_t n)
{
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
        esc[1] = (char)('0' + c / 100);
        esc[2] = (char)('0' + c / 10 % 10);
        esc[3] = (char)('0' + c % 10);
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
