/*
 * lua_etcd.h -- what the files of okofdb.etcd, the Lua handle of a store
 * on etcd, share: lua_etcd.c (the module, open, the handle),
 * lua_etcd_ops.c (the methods as operations) and lua_etcd_walk.c (each
 * and keys). The handle's userdata starts with a directory handle's (ldb),
 * whose store stays NULL, so the shared binding (lua_args.c,
 * lua_values.c, lua_ops.c, lua_codec.c) serves it as it is.
 */
#ifndef OKOF_LUA_ETCD_H
#define OKOF_LUA_ETCD_H

#include <stddef.h>

#include "lua_okofdb.h"
#include "okof_etcd_int.h"

#define ETCD_META "okofdb.etcd"
#define ETCD_ITER_META "okofdb.etcd.walk"
#define ETCD_OP_META "okofdb.etcd.op"

typedef struct {
    ldb base;        /* codec and name (the URL) for the shared code */
    okof_etcd_t *h;  /* NULL once closed */
} letcd;

typedef struct {
    okof_etcd_iter_t *it; /* NULL once finished or closed */
    const char *fn;       /* "each" or "keys" */
    letcd *e;             /* kept alive by the walk's user value */
    int deferred;         /* a page to read is handed to the caller */
} lwalk;

/* An operation in a userdata. Its user value is a table of what it
 * needs: [1] the handle, [2] the key, [3] put_many's items and [4] their
 * strings, [5] the walk of a page. */
typedef struct {
    okof__eop op;
    const char *fn;
    int live;             /* op holds memory: okof__eop_free it */
} lop;

enum { OP_HANDLE = 1, OP_KEY, OP_ITEMS, OP_ANCHOR, OP_WALK };

/* ---- lua_etcd.c: the handle ---------------------------------------------- */

/* The handle at index 1, open or closed (its metatable is upvalue 1). */
letcd *okof__le_self(lua_State *L, const char *fn);
/* The open store of e; raises when it is closed. */
okof_etcd_t *okof__le_live(lua_State *L, const letcd *e, const char *fn);
/* " (what the members said)" pushed, or "" (nothing pushed). */
const char *okof__le_said(lua_State *L, const letcd *e);
/* nil, msg, code for rc, as a directory's handle words it, then for a
 * write that timed out that its outcome is unknown, then what the
 * members said; returns 3. */
int okof__le_fail(lua_State *L, const letcd *e, int rc, const char *fn,
                  const char *key, size_t klen, int write);

/* ---- lua_etcd_ops.c: the methods as operations --------------------------- */

/* A new operation on the handle at index hidx, on the stack top. */
lop *okof__le_new_op(lua_State *L, const char *fn, int hidx);
/* The operation at -1 keeps the value at idx in its table's slot. */
void okof__le_keep(lua_State *L, int idx, int slot);
int okof__le_get(lua_State *L);
int okof__le_ttl(lua_State *L);
int okof__le_put(lua_State *L);
int okof__le_add(lua_State *L);
int okof__le_del(lua_State *L);
int okof__le_put_many(lua_State *L);
/* Begin get, put, add, del, put_many: the method's arguments checked, the
 * operation pushed, for another transport (_begin in the module). */
int okof__le_begin_get(lua_State *L);
int okof__le_begin_ttl(lua_State *L);
int okof__le_begin_put(lua_State *L);
int okof__le_begin_add(lua_State *L);
int okof__le_begin_del(lua_State *L);
int okof__le_begin_put_many(lua_State *L);
/* An operation's methods: next(now), done(outcome, status, body, said),
 * finish(), timeout(), and its __gc. */
int okof__le_op_next(lua_State *L);
int okof__le_op_done(lua_State *L);
int okof__le_op_finish(lua_State *L);
int okof__le_op_timeout(lua_State *L);
int okof__le_op_gc(lua_State *L);

/* ---- lua_etcd_walk.c: each and keys -------------------------------------- */

int okof__le_each(lua_State *L);
int okof__le_keys(lua_State *L);
int okof__le_each_next(lua_State *L);
int okof__le_keys_next(lua_State *L);
int okof__le_walk_close(lua_State *L);
/* _defer(walk): its pages are read by the caller. */
int okof__le_defer(lua_State *L);
/* The walk cannot go on: release it and raise. */
int okof__le_walk_fail(lua_State *L, lwalk *w, int rc);

#endif
