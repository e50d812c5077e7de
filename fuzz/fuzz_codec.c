/*
 * fuzz_codec.c -- libFuzzer target for okofdb.codec.lua's decoder.
 *
 * Each input is given to the decoder as stored bytes. Decoding runs in
 * protected mode and must either fail with an error or produce a value;
 * it must never crash, read out of bounds or leak. A value it produces
 * must encode again, and those bytes must decode again.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "lua_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct input {
    const uint8_t *p;
    size_t n;
};

static int decode_p(lua_State *L)
{
    const struct input *in = (const struct input *)lua_touserdata(L, 1);
    okof__codec_decode(L, in->p, in->n);
    return 1;
}

/* decode(encode(v)) for the value at index 1. */
static int round_trip_p(lua_State *L)
{
    size_t n;
    const char *s;
    okof__codec_encode(L, 1, NULL, 0);
    s = lua_tolstring(L, -1, &n);
    okof__codec_decode(L, s, n);
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lua_State *L = luaL_newstate();
    struct input in;
    if (L == NULL)
        return 0;
    in.p = data;
    in.n = size;
    lua_pushcfunction(L, decode_p);
    lua_pushlightuserdata(L, &in);
    if (lua_pcall(L, 1, 1, 0) == 0) {
        lua_pushcfunction(L, round_trip_p);
        lua_insert(L, -2);
        if (lua_pcall(L, 1, 1, 0) != 0)
            abort(); /* a decoded value must encode and decode again */
    }
    lua_close(L);
    return 0;
}
