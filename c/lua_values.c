/* lua_values.c -- values between Lua and the store: strings as they are,
 * or through the handle's codec. No heap memory is held across a call
 * that can raise: a value the core allocated is pushed in protected mode
 * and freed before any error goes on, and the handle's read buffer is
 * Lua's memory, anchored on the stack while a read has it. */

#include "lua_codec.h"
#include "lua_okofdb.h"

/* Encode the value at idx with the codec table that is the user value of
 * the handle at udx; leaves the bytes on the stack top. */
static void encode_custom(lua_State *L, int udx, int idx, const char *fn)
{
    okof_getslot(L, udx, SLOT_CODEC);
    lua_getfield(L, -1, "encode");
    lua_pushvalue(L, idx);
    lua_call(L, 1, 1);
    lua_remove(L, -2);
    if (lua_type(L, -1) != LUA_TSTRING)
        luaL_error(L, "%s: the codec's encode returned a %s, not a string", fn,
                   luaL_typename(L, -1));
}

const char *okof__l_tobytes(lua_State *L, int udx, int idx, int arg,
                            const char *fn, size_t *len)
{
    ldb *u = (ldb *)lua_touserdata(L, udx);
    if (u->codec == CODEC_NONE)
        return okof__l_checkstr(L, idx, arg, fn, "value", len);
    if (lua_isnoneornil(L, idx))
        okof__l_argerror(L, arg, fn, "value", "must not be nil");
    if (u->codec == CODEC_BUILTIN)
        okof__codec_encode(L, idx, fn, arg);
    else
        encode_custom(L, udx, idx, fn);
    return lua_tolstring(L, -1, len);
}

struct span {
    const void *p;
    size_t n;
};

/* Protected: (span, handle) -> the value, decoded by the handle's codec. */
static int push_value(lua_State *L)
{
    const struct span *s = (const struct span *)lua_touserdata(L, 1);
    ldb *u = (ldb *)lua_touserdata(L, 2);
    if (u->codec == CODEC_BUILTIN) {
        okof__codec_decode(L, s->p, s->n);
        return 1;
    }
    if (u->codec == CODEC_CUSTOM) {
        okof_getslot(L, 2, SLOT_CODEC);
        lua_getfield(L, -1, "decode");
    }
    lua_pushlstring(L, (const char *)s->p, s->n);
    if (u->codec == CODEC_NONE)
        return 1;
    lua_call(L, 1, 2);
    if (lua_isnil(L, -2)) /* a stored value is never nil: a failure */
        return lua_error(L);
    lua_pop(L, 1);
    return 1;
}

/* Push the text of the decoding failure on the stack top: the codec's
 * message, or what it gave instead of one. */
static void decode_error(lua_State *L)
{
    if (lua_type(L, -1) == LUA_TSTRING)
        lua_pushvalue(L, -1);
    else if (lua_isnil(L, -1))
        lua_pushliteral(L, "the codec's decode returned nil");
    else
        lua_pushfstring(L, "the codec's decode raised a %s",
                        luaL_typename(L, -1));
}

/* Give the handle its read buffer if it has none: a userdata in its slot
 * SLOT_RBUF. May raise, so it comes before the store is checked live. */
static void make_rbuf(lua_State *L, int udx, ldb *u)
{
    unsigned char *p;
    if (u->rbuf != NULL || u->db == NULL)
        return;
    p = (unsigned char *)okof_newudata(L, READ_BUF);
    okof_setslot(L, udx, SLOT_RBUF);
    u->rbuf = p;
}

/* okof_get_buf through the handle's read buffer (without it, values come
 * from the heap). */
static int get(ldb *u, const char *key, size_t klen, void **val, size_t *vlen,
               int *allocated)
{
    return okof_get_buf(u->db, key, klen, u->rbuf, u->rbuf ? READ_BUF : 0,
                        val, vlen, allocated);
}

/* Take the handle's read buffer for a value in it, and push its userdata:
 * while the value is pushed or decoded, code run by an allocation (a
 * finalizer, a custom decode) may read through the handle or close it,
 * and an error may be raised; the stack keeps the buffer alive meanwhile
 * and the collector takes it after an error. Allocates nothing. */
static unsigned char *detach(lua_State *L, int udx, ldb *u)
{
    unsigned char *held = u->rbuf;
    okof_getslot(L, udx, SLOT_RBUF);
    lua_pushnil(L);
    okof_setslot(L, udx, SLOT_RBUF);
    u->rbuf = NULL;
    return held;
}

/* Give the handle back the read buffer `held` (its userdata at index hidx,
 * which is removed), unless the handle was closed or made a new one
 * meanwhile. Allocates nothing. */
static void reattach(lua_State *L, int udx, ldb *u, int hidx,
                     unsigned char *held)
{
    if (u->rbuf == NULL && u->db != NULL) {
        lua_pushvalue(L, hidx);
        okof_setslot(L, udx, SLOT_RBUF);
        u->rbuf = held;
    }
    lua_remove(L, hidx);
}

/* A plain string in the handle's read buffer: the one read that needs no
 * protected call. */
static int push_plain(lua_State *L, int udx, ldb *u, const void *val,
                      size_t vlen)
{
    unsigned char *held;
    lua_pop(L, 1); /* push_value */
    held = detach(L, udx, u);
    lua_pushlstring(L, (const char *)val, vlen);
    reattach(L, udx, u, -2, held);
    return 1;
}

/* The protected push of a value read; decoding errors become results.
 * A value in the handle's read buffer is decoded from the buffer detached
 * from the handle (held). */
int okof__l_push_read(lua_State *L, int udx, const char *fn, const char *key,
                      size_t klen, void *val, size_t vlen, int allocated)
{
    ldb *u = (ldb *)lua_touserdata(L, udx);
    unsigned char *held = NULL;
    struct span s;
    int rc, top = lua_gettop(L) - 1; /* below push_value */
    if (!allocated) {
        held = detach(L, udx, u);
        lua_insert(L, top + 1); /* the buffer under push_value */
    }
    s.p = val;
    s.n = vlen;
    lua_pushlightuserdata(L, &s);
    lua_pushvalue(L, udx);
    rc = lua_pcall(L, 2, 1, 0);
    if (allocated)
        okof_free(val);
    else
        reattach(L, udx, u, top + 1, held);
    if (rc == 0)
        return 1;
    if (u->codec == CODEC_NONE) /* out of memory for a plain string */
        lua_error(L);
    lua_settop(L, top + 1); /* the error, and nothing above it */
    decode_error(L);
    lua_replace(L, top + 1);
    okof__l_fail(L, 0, fn, u->dir, key, klen, lua_tostring(L, top + 1));
    lua_remove(L, top + 1); /* the error message under nil, msg, code */
    return -1;
}

/* What a message about a corrupt file adds for the core's reason. */
static const char *corrupt_note(int reason)
{
    if (reason == OKOF_REASON_RAW)
        return "a raw 0x00 file: open with legacy = true to read values of "
               "okofdb 0.1.x";
    if (reason == OKOF_REASON_ZEROS)
        return "a file made only of zero bytes, as a crash can leave one";
    return NULL;
}

void okof__l_push_decoder(lua_State *L)
{
    luaL_checkstack(L, 8, NULL);
    lua_pushcfunction(L, push_value);
}

int okof__l_read(lua_State *L, int udx, const char *fn, const char *key,
                 size_t klen)
{
    ldb *u = (ldb *)lua_touserdata(L, udx);
    void *val = NULL;
    size_t vlen = 0;
    int allocated = 0, rc;
    const char *note;
    luaL_checkstack(L, 8, NULL);
    make_rbuf(L, udx, u); /* these may allocate: before the read */
    lua_pushcfunction(L, push_value);
    okof__l_live(L, u, fn);
    rc = get(u, key, klen, &val, &vlen, &allocated);
    if (rc == 0 && !allocated && u->codec == CODEC_NONE)
        return push_plain(L, udx, u, val, vlen);
    if (rc == 0)
        return okof__l_push_read(L, udx, fn, key, klen, val, vlen, allocated);
    lua_pop(L, 1);
    if (rc == OKOF_EBADKEY)
        okof__l_keytoolong(L, 1, fn);
    if (rc == OKOF_NOTFOUND)
        return 0;
    note = rc == OKOF_CORRUPT ? corrupt_note(okof_corrupt_reason(u->db)) : NULL;
    okof__l_fail(L, rc, fn, u->dir, key, klen, NULL);
    if (note != NULL) { /* msg (note) in place of msg */
        lua_pushfstring(L, "%s (%s)", lua_tostring(L, -2), note);
        lua_replace(L, -3);
    }
    return -1;
}
