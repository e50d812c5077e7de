/*
 * lua_codec.c -- okofdb.codec.lua: Lua values <-> bytes, in C.
 *
 * The bytes: a version byte (0xA1), then one value:
 *   0x01 false | 0x02 true
 *   0x03 integer: zigzag-encoded, as a base-128 varint (Lua 5.3+)
 *   0x04 float: 8 bytes, IEEE 754 binary64, little-endian
 *   0x05 string: varint length, then the bytes
 *   0x06 table: varint count of pairs, then key and value of each pair
 * Decoding checks every length against the input, never runs code, and
 * limits nesting; any table key but nil and NaN is kept.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "compat.h"
#include "lua_codec.h"

enum {
    VERSION = 0xA1,
    T_FALSE = 0x01,
    T_TRUE = 0x02,
    T_INT = 0x03,
    T_FLOAT = 0x04,
    T_STR = 0x05,
    T_TABLE = 0x06,
    MAX_DEPTH = 100
};

/* ---- the output buffer: a userdata at a fixed stack slot ----------------- */

/* Memory owned by Lua, so an error raised while encoding leaks nothing. */
struct wbuf {
    lua_State *L;
    int slot;
    unsigned char *p;
    size_t len, cap;
};

static void wb_init(lua_State *L, struct wbuf *b)
{
    b->L = L;
    b->cap = 256;
    b->len = 0;
    b->p = (unsigned char *)okof_newudata(L, b->cap);
    b->slot = lua_gettop(L);
}

static void wb_reserve(struct wbuf *b, size_t n)
{
    size_t cap = b->cap;
    unsigned char *np;
    if (b->cap - b->len >= n)
        return;
    while (cap - b->len < n) {
        if (cap > ((size_t)-1) / 2)
            luaL_error(b->L, "okofdb.codec.lua: value too large to encode");
        cap *= 2;
    }
    np = (unsigned char *)okof_newudata(b->L, cap);
    memcpy(np, b->p, b->len);
    lua_replace(b->L, b->slot);
    b->p = np;
    b->cap = cap;
}

static void wb_byte(struct wbuf *b, unsigned char c)
{
    wb_reserve(b, 1);
    b->p[b->len++] = c;
}

static void wb_bytes(struct wbuf *b, const void *p, size_t n)
{
    wb_reserve(b, n);
    memcpy(b->p + b->len, p, n);
    b->len += n;
}

static void wb_varint(struct wbuf *b, uint64_t v)
{
    wb_reserve(b, 10);
    while (v >= 0x80) {
        b->p[b->len++] = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    b->p[b->len++] = (unsigned char)v;
}

/* ---- encoding ------------------------------------------------------------ */

struct enc {
    struct wbuf b;
    int seen;       /* stack slot of the table of tables being encoded */
    const char *fn; /* the function whose argument is encoded, or NULL */
    int arg;
};

static int enc_error(struct enc *e, const char *msg)
{
    if (e->fn != NULL)
        return luaL_error(e->b.L, "bad argument #%d to '%s' (value: %s)",
                          e->arg, e->fn, msg);
    return luaL_error(e->b.L, "okofdb.codec.lua: %s", msg);
}

static void encode_value(struct enc *e, int idx, int depth);

static void encode_number(struct enc *e, int idx)
{
    lua_State *L = e->b.L;
#if LUA_VERSION_NUM >= 503
    if (lua_isinteger(L, idx)) {
        lua_Integer i = lua_tointeger(L, idx);
        uint64_t u = (uint64_t)i;
        wb_byte(&e->b, T_INT);
        wb_varint(&e->b, (u << 1) ^ (i < 0 ? UINT64_MAX : 0));
        return;
    }
#endif
    {
        double d = (double)lua_tonumber(L, idx);
        uint64_t bits;
        unsigned char le[8];
        int i;
        memcpy(&bits, &d, 8);
        for (i = 0; i < 8; i++)
            le[i] = (unsigned char)(bits >> (8 * i));
        wb_byte(&e->b, T_FLOAT);
        wb_bytes(&e->b, le, 8);
    }
}

static void encode_string(struct enc *e, int idx)
{
    size_t n;
    const char *s = lua_tolstring(e->b.L, idx, &n);
    wb_byte(&e->b, T_STR);
    wb_varint(&e->b, n);
    wb_bytes(&e->b, s, n);
}

size_t okof__codec_count_pairs(lua_State *L, int idx)
{
    size_t n = 0;
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        lua_pop(L, 1);
        n++;
    }
    return n;
}

static void encode_table(struct enc *e, int idx, int depth)
{
    lua_State *L = e->b.L;
    if (depth >= MAX_DEPTH)
        enc_error(e, "cannot encode tables nested this deep");
    lua_pushvalue(L, idx);
    lua_rawget(L, e->seen);
    if (lua_toboolean(L, -1))
        enc_error(e, "cannot encode a table that contains itself (a cycle)");
    lua_pop(L, 1);
    lua_pushvalue(L, idx);
    lua_pushboolean(L, 1);
    lua_rawset(L, e->seen);
    luaL_checkstack(L, 4, "okofdb.codec.lua: tables nested too deep");
    wb_byte(&e->b, T_TABLE);
    wb_varint(&e->b, okof__codec_count_pairs(L, idx));
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        encode_value(e, lua_gettop(L) - 1, depth + 1);
        encode_value(e, lua_gettop(L), depth + 1);
        lua_pop(L, 1);
    }
    lua_pushvalue(L, idx);
    lua_pushnil(L);
    lua_rawset(L, e->seen);
}

static void encode_value(struct enc *e, int idx, int depth)
{
    lua_State *L = e->b.L;
    switch (lua_type(L, idx)) {
    case LUA_TBOOLEAN:
        wb_byte(&e->b, lua_toboolean(L, idx) ? T_TRUE : T_FALSE);
        break;
    case LUA_TNUMBER:
        encode_number(e, idx);
        break;
    case LUA_TSTRING:
        encode_string(e, idx);
        break;
    case LUA_TTABLE:
        encode_table(e, idx, depth);
        break;
    default:
        enc_error(e, lua_pushfstring(L, "cannot encode a %s",
                                     luaL_typename(L, idx)));
    }
}

void okof__codec_encode(lua_State *L, int idx, const char *fn, int arg)
{
    struct enc e;
    memset(&e, 0, sizeof e);
    idx = idx < 0 ? lua_gettop(L) + idx + 1 : idx;
    e.b.L = L;
    e.fn = fn;
    e.arg = arg;
    if (lua_isnoneornil(L, idx))
        enc_error(&e, "cannot encode nil");
    lua_newtable(L);
    e.seen = lua_gettop(L);
    wb_init(L, &e.b);
    wb_byte(&e.b, VERSION);
    encode_value(&e, idx, 0);
    lua_pushlstring(L, (const char *)e.b.p, e.b.len);
    lua_replace(L, e.seen);
    lua_settop(L, e.seen);
}

/* ---- decoding ------------------------------------------------------------ */

struct dec {
    lua_State *L;
    const unsigned char *p, *end;
};

static int bad(struct dec *d, const char *why)
{
    return luaL_error(d->L, "okofdb.codec.lua: cannot decode: %s", why);
}

static unsigned char get_byte(struct dec *d)
{
    if (d->p >= d->end)
        bad(d, "input ends early");
    return *d->p++;
}

static uint64_t get_varint(struct dec *d)
{
    uint64_t v = 0;
    int shift;
    for (shift = 0; shift < 64; shift += 7) {
        unsigned char c = get_byte(d);
        if (shift == 63 && c > 1)
            bad(d, "varint too long");
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80))
            return v;
    }
    bad(d, "varint too long");
    return 0;
}

static size_t get_len(struct dec *d)
{
    uint64_t n = get_varint(d);
    if (n > (uint64_t)(d->end - d->p))
        bad(d, "a length exceeds the input");
    return (size_t)n;
}

static void decode_value(struct dec *d, int depth);

static void decode_int(struct dec *d)
{
    uint64_t u = get_varint(d);
    int64_t i = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
#if LUA_VERSION_NUM >= 503
    lua_pushinteger(d->L, (lua_Integer)i);
#else
    lua_pushnumber(d->L, (lua_Number)i);
#endif
}

static void decode_float(struct dec *d)
{
    uint64_t bits = 0;
    double v;
    int i;
    if (d->end - d->p < 8)
        bad(d, "input ends early");
    for (i = 0; i < 8; i++)
        bits |= (uint64_t)d->p[i] << (8 * i);
    d->p += 8;
    memcpy(&v, &bits, 8);
    lua_pushnumber(d->L, (lua_Number)v);
}

static int is_nan_key(lua_State *L)
{
    lua_Number n;
    if (lua_type(L, -1) != LUA_TNUMBER)
        return 0;
    n = lua_tonumber(L, -1);
    return n != n;
}

static void decode_table(struct dec *d, int depth)
{
    lua_State *L = d->L;
    uint64_t n = get_varint(d), i;
    if (depth >= MAX_DEPTH)
        bad(d, "tables nested too deep");
    if (n > (uint64_t)(d->end - d->p) / 2) /* a pair takes 2 bytes at least */
        bad(d, "more pairs than the input holds");
    luaL_checkstack(L, 4, "okofdb.codec.lua: tables nested too deep");
    lua_createtable(L, 0, n < 1024 ? (int)n : 1024);
    for (i = 0; i < n; i++) {
        decode_value(d, depth + 1);
        if (is_nan_key(L))
            bad(d, "a table key is NaN");
        decode_value(d, depth + 1);
        lua_rawset(L, -3);
    }
}

static void decode_value(struct dec *d, int depth)
{
    switch (get_byte(d)) {
    case T_FALSE:
        lua_pushboolean(d->L, 0);
        break;
    case T_TRUE:
        lua_pushboolean(d->L, 1);
        break;
    case T_INT:
        decode_int(d);
        break;
    case T_FLOAT:
        decode_float(d);
        break;
    case T_STR: {
        size_t n = get_len(d);
        lua_pushlstring(d->L, (const char *)d->p, n);
        d->p += n;
        break;
    }
    case T_TABLE:
        decode_table(d, depth);
        break;
    default:
        bad(d, "unknown type tag");
    }
}

void okof__codec_decode(lua_State *L, const void *p, size_t n)
{
    struct dec d;
    d.L = L;
    d.p = (const unsigned char *)p;
    d.end = d.p + n;
    if (n == 0 || get_byte(&d) != VERSION)
        bad(&d, "not a value of okofdb.codec.lua");
    decode_value(&d, 0);
    if (d.p != d.end)
        bad(&d, "bytes after the value");
}

/* ---- the codec table ----------------------------------------------------- */

static int l_encode(lua_State *L)
{
    luaL_checkany(L, 1);
    okof__codec_encode(L, 1, NULL, 0);
    return 1;
}

static int l_decode(lua_State *L)
{
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    okof__codec_decode(L, s, n);
    return 1;
}

int okof__codec_is_builtin(lua_State *L, int idx)
{
    int builtin;
    lua_getfield(L, idx, "encode");
    lua_getfield(L, idx, "decode");
    builtin = lua_tocfunction(L, -2) == l_encode &&
              lua_tocfunction(L, -1) == l_decode;
    lua_pop(L, 2);
    return builtin;
}

void okof__codec_push(lua_State *L)
{
    lua_createtable(L, 0, 3);
    lua_pushcfunction(L, l_encode);
    lua_setfield(L, -2, "encode");
    lua_pushcfunction(L, l_decode);
    lua_setfield(L, -2, "decode");
    lua_pushliteral(L, "lua");
    lua_setfield(L, -2, "name");
}
