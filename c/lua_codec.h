/* lua_codec.h -- okofdb.codec.lua, the built-in codec of Lua values. Part
 * of the Lua binding: only lua_*.c files include Lua headers. */
#ifndef OKOF_LUA_CODEC_H
#define OKOF_LUA_CODEC_H

#include <stddef.h>

#include <lua.h>

/* Push the bytes of the value at idx; raises for nil, functions, userdata,
 * threads, tables that contain themselves or nest too deep. The message
 * names argument `arg` of function `fn` when fn is not NULL. */
void okof__codec_encode(lua_State *L, int idx, const char *fn, int arg);

/* Push the value that bytes p[0..n) encode; raises on any malformed
 * input (call it in protected mode). Never runs code. */
void okof__codec_decode(lua_State *L, const void *p, size_t n);

/* How many pairs the table at idx holds (also used by put_many). */
size_t okof__codec_count_pairs(lua_State *L, int idx);

/* Push the codec table {encode, decode, name = "lua"}. */
void okof__codec_push(lua_State *L);

/* Is the codec table at idx the built-in one? */
int okof__codec_is_builtin(lua_State *L, int idx);

#endif
