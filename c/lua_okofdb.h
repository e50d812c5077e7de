/*
 * lua_okofdb.h -- what the files of the Lua binding share. The binding is
 * the lua_*.c files: the only ones that include Lua headers. Programming
 * errors raise; operational errors return nil, msg, code.
 */
#ifndef OKOF_LUA_OKOFDB_H
#define OKOF_LUA_OKOFDB_H

#include <stddef.h>

#include "compat.h"
#include "okof.h"

#define DB_META "okofdb.db"
#define ITER_META "okofdb.iter"

/* Each handle's read buffer: a value of up to 64 KiB, compressed or not,
 * is read and decoded in it without an allocation. */
#define READ_BUF (2 * (OKOF_CHUNK_MAX + 64))

/* The slots of a handle's userdata (okof_newudata_slots): its codec table,
 * if any, and the userdata whose memory is its read buffer. The buffer is
 * Lua's memory: a read that raises while the buffer is taken from the
 * handle leaves it to the collector, never leaks it. */
enum { SLOT_CODEC = 1, SLOT_RBUF = 2 };

enum { CODEC_NONE, CODEC_BUILTIN, CODEC_CUSTOM };

/* The userdata of a handle; its slots hold the codec and the read buffer.
 *
 * Any allocation through the Lua API may run a finalizer, and a finalizer
 * may close the handle: a method checks db again after its last allocation
 * before the core is called, and names the directory in messages by dir,
 * which lives in the userdata itself (the method's self keeps it alive),
 * never by okof_dir(db). */
typedef struct {
    okof_t *db;          /* NULL once closed */
    unsigned char *rbuf; /* READ_BUF bytes in slot SLOT_RBUF, made on first
                          * read; NULL while a read has it (lua_values.c) */
    int codec;           /* CODEC_* */
    const char *dir;     /* the directory as opened: the bytes that follow */
} ldb;

/* ---- lua_args.c: arguments and results ---------------------------------- */

/* Raise "bad argument #arg to 'fn' (what: msg)"; arguments are counted as
 * in a method call, db:put(key, value): key is #1. */
int okof__l_argerror(lua_State *L, int arg, const char *fn, const char *what,
                     const char *msg);
/* The value at stack index idx (argument number arg) is not a `want`. */
int okof__l_typeerror(lua_State *L, int idx, int arg, const char *fn,
                      const char *what, const char *want);
/* The handle at index 1, open or closed; raises for anything else. Only
 * for functions whose upvalue 1 is the handle's metatable. */
ldb *okof__l_toldb(lua_State *L, const char *fn);
/* The open store of the handle at index 1; raises when it is closed. */
okof_t *okof__l_checkdb(lua_State *L, const char *fn);
/* The store of the handle u, checked again before the core is called;
 * raises when a finalizer closed it. */
okof_t *okof__l_live(lua_State *L, const ldb *u, const char *fn);
/* A string argument; numbers are converted as Lua does. */
const char *okof__l_checkstr(lua_State *L, int idx, int arg, const char *fn,
                             const char *what, size_t *len);
/* A non-empty key at index idx (argument number arg). */
const char *okof__l_checkkey(lua_State *L, int idx, int arg, const char *fn,
                             size_t *len);
/* The ttl at index idx (argument number arg) in milliseconds, rounded up:
 * 0 for none or nil; raises unless it is a positive number of seconds of
 * at most OKOF_TTL_MAX_MS / 1000. */
int64_t okof__l_checkttl(lua_State *L, int idx, int arg, const char *fn);
/* Raise for a key whose file name would be too long. */
int okof__l_keytoolong(lua_State *L, int arg, const char *fn);
/* Raise "bad argument #1 to 'fn' (items: key "<key>" <msg>)", the key
 * quoted and cut after 32 bytes, then followed by its length. */
int okof__l_itemerror(lua_State *L, const char *fn, const char *key,
                      size_t klen, const char *msg);
/* Push nil, "<op> "<key>" in <dir>: <text>", code and return 3; key may
 * be NULL. With detail (a decoding failure), the text is detail and the
 * code "EDECODE". */
int okof__l_fail(lua_State *L, int rc, const char *op, const char *dir,
                 const char *key, size_t klen, const char *detail);

/* ---- lua_args.c: the options every kind of store shares ------------------ */

/* Raise "bad argument #2 to 'open' (opts: option 'name' must be want)". */
void okof__l_opt_error(lua_State *L, const char *name, const char *want);
/* The compress_min option, whose value is on the stack top. */
void okof__l_opt_compress_min(lua_State *L, size_t *compress_min);
/* The codec option, whose value is on the stack top: returns its CODEC_*;
 * a codec table is copied to stack index 3. */
int okof__l_opt_codec(lua_State *L);

/* A handle's userdata, pushed, closed (its store NULL): size bytes that
 * start with an ldb, then name's nlen bytes and a NUL (its dir); its
 * metatable meta, its codec kind codec and, as its user value, the codec
 * table at stack index 3. Made before the store is opened, so that a
 * memory error cannot leak what opening takes (liolib's newprefile). */
ldb *okof__l_newhandle(lua_State *L, size_t size, const char *meta, int codec,
                       const char *name, size_t nlen);
/* each or keys into the table on the stack top: method with upvalues the
 * handle's metatable (at dbm) and the shared iterator function next, whose
 * upvalue is the walk's metatable (at itm). */
void okof__l_set_walk(lua_State *L, int dbm, int itm, const char *name,
                      lua_CFunction method, lua_CFunction next);
/* The walk at index 1 of an iterator function whose upvalue 1 is the
 * walk's metatable; raises for anything else. */
void *okof__l_towalk(lua_State *L);
/* sweep's max_age at idx: 3600 when absent; raises unless a number >= 0. */
lua_Number okof__l_max_age(lua_State *L, int idx);

/* ---- lua_values.c: values through the codec ----------------------------- */

/* The bytes to store for the value at idx: the string itself without a
 * codec, else its encoding, left on the stack top. Raises for a value the
 * codec cannot encode. udx: the handle's userdata. */
const char *okof__l_tobytes(lua_State *L, int udx, int idx, int arg,
                            const char *fn, size_t *len);
/* Read key's value and push it (decoded): returns 1; 0 (nothing pushed)
 * when the key has no value; -1 after pushing nil, msg, code. */
int okof__l_read(lua_State *L, int udx, const char *fn, const char *key,
                 size_t klen);
/* For a store that reads values itself: push the decoder before the read
 * (it may allocate), then okof__l_push_read with the value read: val is
 * freed by it when allocated. Returns as okof__l_read. */
void okof__l_push_decoder(lua_State *L);
int okof__l_push_read(lua_State *L, int udx, const char *fn, const char *key,
                      size_t klen, void *val, size_t vlen, int allocated);

/* ---- lua_ops.c, lua_iter.c: the methods --------------------------------- */

int okof__l_put(lua_State *L);
int okof__l_get(lua_State *L);
int okof__l_del(lua_State *L);
int okof__l_add(lua_State *L);
int okof__l_put_many(lua_State *L);
/* put_many's items: the table at index 2 (of the handle at 1) checked and
 * made a list of n key/value pairs, before anything is written; raises
 * for bad items. Leaves 3 values on the stack that keep them alive. */
okof_kv *okof__l_items(lua_State *L, const char *fn, size_t *n);
/* Push the list of the keys of items[0..n). */
void okof__l_push_written(lua_State *L, const okof_kv *items, size_t n);
int okof__l_sweep(lua_State *L);
int okof__l_ttl(lua_State *L);
/* each and keys: the shared iterator function is upvalue 2; the iterator
 * functions have the walk's metatable as upvalue 1. */
int okof__l_each(lua_State *L);
int okof__l_keys(lua_State *L);
int okof__l_each_next(lua_State *L);
int okof__l_keys_next(lua_State *L);
int okof__l_iter_close(lua_State *L);

#endif
