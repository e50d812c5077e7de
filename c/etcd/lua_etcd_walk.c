/*
 * lua_etcd_walk.c -- each and keys of a handle on etcd: walks over the
 * store's keys in byte order, read in pages at one revision. A walk reads
 * its pages with libcurl or, deferred (inside nginx), hands the caller an
 * operation for each page, which lua/okofdb/etcd_ngx.lua runs.
 */
#include <string.h>

#include "lua_etcd.h"

static void walk_release(lwalk *w)
{
    okof_etcd_iter_close(w->it);
    w->it = NULL;
}

int okof__le_walk_close(lua_State *L)
{
    lwalk *w = (lwalk *)okof_testudata(L, 1, ETCD_ITER_META);
    if (w != NULL)
        walk_release(w);
    return 0;
}

/* The walk cannot go on: release it and raise. */
int okof__le_walk_fail(lua_State *L, lwalk *w, int rc)
{
    const char *detail = okof__le_said(L, w->e);
    walk_release(w);
    return luaL_error(L, "%s %s: %s%s", w->fn, w->e->base.dir,
                      okof_strerror(rc), detail);
}

/* The walk at index 1 (its metatable is upvalue 1), on an open handle. */
static lwalk *check_walk(lua_State *L)
{
    lwalk *w = (lwalk *)okof__l_towalk(L);
    if (w->e->h == NULL)
        luaL_error(L, "calling '%s' iterator on a closed okofdb handle", w->fn);
    return w;
}

/* Read the walk's next page with libcurl, or raise. */
static void read_page(lua_State *L, lwalk *w)
{
    okof__eop op;
    int rc;
    okof__eop_page(&op, w->it);
    rc = okof__etcd_run(&op);
    okof__eop_free(&op);
    if (rc != 0)
        okof__le_walk_fail(L, w, rc);
}

/* The next key into key[] (and its value): 1; 0 at the walk's end; -1
 * after pushing false and the operation that reads the next page (a
 * deferred walk); raises when the walk cannot go on. */
static int walk_next(lua_State *L, lwalk *w, char *key, size_t *klen,
                     const void **val, size_t *vlen, int *vrc)
{
    const char *k = NULL;
    int rc;
    while ((rc = w->it ? okof__iter_take(w->it, &k, klen, val, vlen, vrc)
                       : OKOF_NOTFOUND) == OKOF__NEED_PAGE) {
        lop *o;
        if (!w->deferred) {
            read_page(L, w);
            continue;
        }
        lua_pushboolean(L, 0);
        okof_getref(L, 1); /* the walk's handle */
        o = okof__le_new_op(L, w->fn, lua_gettop(L));
        okof__le_keep(L, 1, OP_WALK);
        lua_remove(L, -2);
        okof__eop_page(&o->op, w->it);
        o->live = 1;
        return -1;
    }
    if (rc == 0) {
        memcpy(key, k, *klen); /* the walk may be closed while it is pushed */
        return 1;
    }
    if (rc != OKOF_NOTFOUND)
        okof__le_walk_fail(L, w, rc);
    walk_release(w);
    return 0;
}

int okof__le_keys_next(lua_State *L)
{
    char key[OKOF_KEY_MAX + 1];
    size_t klen = 0;
    int n = walk_next(L, check_walk(L), key, &klen, NULL, NULL, NULL);
    if (n <= 0)
        return n < 0 ? 2 : 0;
    lua_pushlstring(L, key, klen);
    return 1;
}

/* key, value; key, nil, msg, code for a value that fails verification or
 * decoding. */
int okof__le_each_next(lua_State *L)
{
    char key[OKOF_KEY_MAX + 1];
    size_t klen = 0, vlen = 0;
    const void *val = NULL;
    int vrc = 0, n;
    lwalk *w = check_walk(L);
    lua_settop(L, 1);
    okof_getref(L, 1); /* the handle, at 2: its codec, if any */
    okof__l_push_decoder(L);
    n = walk_next(L, w, key, &klen, &val, &vlen, &vrc);
    if (n <= 0)
        return n < 0 ? 2 : 0;
    if (vrc != 0) {
        lua_pop(L, 1);
        okof__le_fail(L, w->e, vrc, "get", key, klen, 0);
        n = -1;
    } else {
        n = okof__l_push_read(L, 2, "get", key, klen, (void *)(size_t)val, vlen, 0);
    }
    lua_pushlstring(L, key, klen); /* before the value, or nil, msg, code */
    lua_insert(L, n > 0 ? -2 : -4);
    return n > 0 ? 2 : 4;
}

/* iterator, walk, nil, walk: the walk is also the closer, so a break
 * closes it at once on 5.4; elsewhere its __gc does. */
static int start(lua_State *L, const char *fn, int values)
{
    letcd *e = okof__le_self(L, fn);
    size_t plen = 0;
    const char *prefix;
    lwalk *w;
    int rc;
    okof__le_live(L, e, fn);
    prefix = lua_isnoneornil(L, 2)
                 ? ""
                 : okof__l_checkstr(L, 2, 1, fn, "prefix", &plen);
    lua_settop(L, 2);
    w = (lwalk *)okof_newudata_ref(L, sizeof *w); /* at index 3 */
    w->it = NULL;
    w->fn = fn;
    w->e = e;
    w->deferred = 0;
    luaL_getmetatable(L, ETCD_ITER_META);
    lua_setmetatable(L, 3);
    lua_pushvalue(L, 1);
    okof_setref(L, 3);
    rc = okof_etcd_iter_open(okof__le_live(L, e, fn), prefix, plen, values, &w->it);
    if (rc != 0)
        return luaL_error(L, "%s %s: %s", fn, e->base.dir, okof_strerror(rc));
    lua_pushvalue(L, lua_upvalueindex(2));
    lua_pushvalue(L, 3);
    lua_pushnil(L);
    lua_pushvalue(L, 3);
    return 4;
}

int okof__le_each(lua_State *L)
{
    return start(L, "each", 1);
}

int okof__le_keys(lua_State *L)
{
    return start(L, "keys", 0);
}

/* _defer(walk): its pages are read by the caller (see walk_next). */
int okof__le_defer(lua_State *L)
{
    lwalk *w = (lwalk *)luaL_checkudata(L, 1, ETCD_ITER_META);
    w->deferred = 1;
    return 0;
}
