/*
 * compat.h -- the few shims that let lua_okofdb.c build unchanged on
 * Lua 5.1, 5.2, 5.3, 5.4 and LuaJIT 2.1. Included by the binding only.
 */
#ifndef OKOF_COMPAT_H
#define OKOF_COMPAT_H

#include <lua.h>
#include <lauxlib.h>

/* A full userdata with no user values. */
#if LUA_VERSION_NUM >= 504
#define okof_newudata(L, size) lua_newuserdatauv((L), (size), 0)
#else
#define okof_newudata(L, size) lua_newuserdata((L), (size))
#endif

/* A userdata with one reference to another value (its user value), set
 * from the stack top with okof_setref and pushed back with okof_getref.
 * Before 5.3 a user value must be a table: the value is kept inside one. */
#if LUA_VERSION_NUM >= 504
#define okof_newudata_ref(L, size) lua_newuserdatauv((L), (size), 1)
#define okof_setref(L, idx) ((void)lua_setiuservalue((L), (idx), 1))
#define okof_getref(L, idx) ((void)lua_getiuservalue((L), (idx), 1))
#elif LUA_VERSION_NUM == 503
#define okof_newudata_ref(L, size) lua_newuserdata((L), (size))
#define okof_setref(L, idx) lua_setuservalue((L), (idx))
#define okof_getref(L, idx) ((void)lua_getuservalue((L), (idx)))
#else
#define okof_newudata_ref(L, size) lua_newuserdata((L), (size))
#if LUA_VERSION_NUM == 502
#define okof_setenv_(L, idx) lua_setuservalue((L), (idx))
#define okof_getenv_(L, idx) lua_getuservalue((L), (idx))
#else
#define okof_setenv_(L, idx) ((void)lua_setfenv((L), (idx)))
#define okof_getenv_(L, idx) lua_getfenv((L), (idx))
#endif
static inline void okof_setref(lua_State *L, int idx)
{
    idx = idx < 0 ? lua_gettop(L) + idx + 1 : idx;
    lua_createtable(L, 1, 0);
    lua_insert(L, -2);
    lua_rawseti(L, -2, 1);
    okof_setenv_(L, idx);
}
static inline void okof_getref(lua_State *L, int idx)
{
    okof_getenv_(L, idx);
    if (lua_istable(L, -1))
        lua_rawgeti(L, -1, 1);
    else
        lua_pushnil(L);
    lua_remove(L, -2);
}
#endif

/* A userdata with n (1 or 2) numbered slots for references to other
 * values: its user values on 5.4, a table of n slots (its user value or
 * environment) before. okof_setslot pops a value into slot k of the
 * userdata at idx, okof_getslot pushes it back. Once made, neither call
 * allocates, so neither can raise a memory error. */
#if LUA_VERSION_NUM >= 504
#define okof_newudata_slots(L, size, n) lua_newuserdatauv((L), (size), (n))
#define okof_setslot(L, idx, k) ((void)lua_setiuservalue((L), (idx), (k)))
#define okof_getslot(L, idx, k) ((void)lua_getiuservalue((L), (idx), (k)))
#else
#if LUA_VERSION_NUM >= 502
#define okof_setuv_(L, idx) lua_setuservalue((L), (idx))
#define okof_getuv_(L, idx) ((void)lua_getuservalue((L), (idx)))
#else
#define okof_setuv_(L, idx) ((void)lua_setfenv((L), (idx)))
#define okof_getuv_(L, idx) lua_getfenv((L), (idx))
#endif
static inline void *okof_newudata_slots(lua_State *L, size_t size, int n)
{
    void *p = lua_newuserdata(L, size);
    lua_createtable(L, n, 0);
    okof_setuv_(L, -2);
    return p;
}
static inline void okof_setslot(lua_State *L, int idx, int k)
{
    idx = idx < 0 ? lua_gettop(L) + idx + 1 : idx;
    okof_getuv_(L, idx);
    lua_insert(L, -2);
    lua_rawseti(L, -2, k);
    lua_pop(L, 1);
}
static inline void okof_getslot(lua_State *L, int idx, int k)
{
    okof_getuv_(L, idx);
    lua_rawgeti(L, -1, k);
    lua_remove(L, -2);
}
#endif

/* Lua 5.1 lacks luaL_setfuncs (LuaJIT has it; ours serves both). */
#if LUA_VERSION_NUM < 502
static inline void okof_setfuncs(lua_State *L, const luaL_Reg *l, int nup)
{
    int i;
    for (; l->name != NULL; l++) { /* each function gets the nup upvalues */
        for (i = 0; i < nup; i++)
            lua_pushvalue(L, -nup);
        lua_pushcclosure(L, l->func, nup);
        lua_setfield(L, -(nup + 2), l->name);
    }
    lua_pop(L, nup);
}
#define luaL_setfuncs okof_setfuncs
#endif

#ifndef luaL_newlib /* Lua 5.1; LuaJIT 2.1 has it */
#define luaL_newlibtable(L, l) lua_createtable((L), 0, sizeof(l) / sizeof((l)[0]) - 1)
#define luaL_newlib(L, l) (luaL_newlibtable((L), (l)), luaL_setfuncs((L), (l), 0))
#endif

/* luaL_testudata: a userdata of the named metatable, or NULL. */
#if LUA_VERSION_NUM >= 502
#define okof_testudata luaL_testudata
#else
static inline void *okof_testudata(lua_State *L, int idx, const char *tname)
{
    void *p = lua_touserdata(L, idx);
    int same;
    if (p == NULL || !lua_getmetatable(L, idx))
        return NULL;
    luaL_getmetatable(L, tname);
    same = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    return same ? p : NULL;
}
#endif

/* An integer result: lua_Integer where Lua has one, a number before. */
#if LUA_VERSION_NUM >= 503
#define okof_pushcount(L, n) lua_pushinteger((L), (lua_Integer)(n))
#else
#define okof_pushcount(L, n) lua_pushnumber((L), (lua_Number)(n))
#endif

#endif
