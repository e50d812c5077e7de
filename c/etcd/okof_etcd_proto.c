/* okof_etcd_proto.c -- etcd's JSON gateway without I/O (okof_etcd_proto.h):
 * bodies made and replies read with cJSON, bytes in base64. */
#include "okof_etcd_proto.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "okof.h"

/* gRPC's status codes that the gateway reports in "code". */
enum {
    GRPC_INVALID_ARGUMENT = 3,
    GRPC_DEADLINE_EXCEEDED = 4,
    GRPC_RESOURCE_EXHAUSTED = 8,
    GRPC_OUT_OF_RANGE = 11,
    GRPC_UNAVAILABLE = 14
};

/* ---- buffers ------------------------------------------------------------ */

int okof__ebuf_add(okof__ebuf *b, const void *p, size_t len)
{
    if (b->p == NULL || len >= b->cap - b->n) { /* room for len and a NUL */
        size_t cap = b->cap ? b->cap : 256;
        unsigned char *np;
        while (cap - b->n <= len) {
            if (cap > ((size_t)-1) / 2)
                return -ENOMEM;
            cap *= 2;
        }
        if ((np = (unsigned char *)realloc(b->p, cap)) == NULL)
            return -ENOMEM;
        b->p = np;
        b->cap = cap;
    }
    if (len)
        memcpy(b->p + b->n, p, len);
    b->n += len;
    b->p[b->n] = '\0'; /* always room: cap > n */
    return 0;
}

void okof__ebuf_free(okof__ebuf *b)
{
    free(b->p);
    b->p = NULL;
    b->n = b->cap = 0;
}

/* ---- base64 (RFC 4648, with padding, as the gateway writes it) ---------- */

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* A malloc'd NUL-terminated encoding of p[0..n), or NULL. */
static char *b64_encode(const unsigned char *p, size_t n)
{
    size_t i, o = 0;
    char *s;
    if (n > ((size_t)-1 - 1) / 4 * 3 - 3)
        return NULL;
    if ((s = (char *)malloc((n + 2) / 3 * 4 + 1)) == NULL)
        return NULL;
    for (i = 0; i + 2 < n; i += 3) {
        unsigned long v = (unsigned long)p[i] << 16 |
                          (unsigned long)p[i + 1] << 8 | p[i + 2];
        s[o++] = b64[v >> 18 & 63];
        s[o++] = b64[v >> 12 & 63];
        s[o++] = b64[v >> 6 & 63];
        s[o++] = b64[v & 63];
    }
    if (i < n) {
        unsigned long v = (unsigned long)p[i] << 16 |
                          (i + 1 < n ? (unsigned long)p[i + 1] << 8 : 0);
        s[o++] = b64[v >> 18 & 63];
        s[o++] = b64[v >> 12 & 63];
        s[o++] = i + 1 < n ? b64[v >> 6 & 63] : '=';
        s[o++] = '=';
    }
    s[o] = '\0';
    return s;
}

/* The value of each base64 character, -1 for any other byte: one load
 * per character (a 64 KiB value has 87,384 of them). */
static const signed char b64_values[256] = {
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 62, -1, -1, -1, 63,
    52, 53, 54, 55, 56, 57, 58, 59, 60, 61, -1, -1, -1, -1, -1, -1,
    -1, 0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14,
    15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, -1, -1, -1, -1, -1,
    -1, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
    41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1};

/* Room in b for need bytes and a NUL; 0 or -ENOMEM. */
static int reserve(okof__ebuf *b, size_t need)
{
    unsigned char *np;
    if (b->p != NULL && need < b->cap)
        return 0;
    if (need == (size_t)-1 || (np = (unsigned char *)realloc(b->p, need + 1)) == NULL)
        return -ENOMEM;
    b->p = np;
    b->cap = need + 1;
    return 0;
}

/* Decode the NUL-terminated s into b (emptied first); -EPROTO for
 * anything but a padded encoding. */
static int b64_decode(const char *s, okof__ebuf *b)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t len = strlen(s), pad = 0, i, o = 0;
    b->n = 0;
    if (len % 4)
        return -EPROTO;
    if (len > 0 && s[len - 1] == '=')
        pad = len > 1 && s[len - 2] == '=' ? 2 : 1;
    /* room for the bytes and the NUL, written in place */
    if (reserve(b, len / 4 * 3))
        return -ENOMEM;
    for (i = 0; i < len; i += 4) {
        int v[4], k, bad = 0;
        for (k = 0; k < 4; k++) {
            size_t at = i + (size_t)k;
            v[k] = at >= len - pad ? 0 : b64_values[u[at]];
            bad |= v[k];
        }
        if (bad < 0)
            return -EPROTO;
        b->p[o++] = (unsigned char)(v[0] << 2 | v[1] >> 4);
        b->p[o++] = (unsigned char)((v[1] & 15) << 4 | v[2] >> 2);
        b->p[o++] = (unsigned char)((v[2] & 3) << 6 | v[3]);
    }
    b->n = o - (len ? pad : 0);
    b->p[b->n] = '\0';
    return 0;
}

/* ---- requests ----------------------------------------------------------- */

/* Add name: base64(p[0..n)) to obj; 0 or -1. */
static int add_bytes(cJSON *obj, const char *name, const unsigned char *p,
                     size_t n)
{
    char *s = b64_encode(p, n);
    int ok = s != NULL && cJSON_AddStringToObject(obj, name, s) != NULL;
    free(s);
    return ok ? 0 : -1;
}

/* Add name: "v", an int64 as the gateway wants it. */
static int add_int(cJSON *obj, const char *name, long long v)
{
    char s[24];
    snprintf(s, sizeof s, "%lld", v);
    return cJSON_AddStringToObject(obj, name, s) ? 0 : -1;
}

/* The body of obj, which is freed; NULL if building it failed (bad). */
static char *finish(cJSON *obj, int bad)
{
    char *s = bad || obj == NULL ? NULL : cJSON_PrintUnformatted(obj);
    cJSON_Delete(obj);
    return s;
}

char *okof__ep_range(const okof__ekv *key, const unsigned char *end,
                     size_t elen, long long limit, long long rev,
                     int keys_only)
{
    cJSON *o = cJSON_CreateObject();
    int bad = o == NULL || add_bytes(o, "key", key->key, key->klen);
    if (!bad && end != NULL)
        bad = add_bytes(o, "range_end", end, elen);
    if (!bad && limit > 0)
        bad = add_int(o, "limit", limit);
    if (!bad && rev > 0)
        bad = add_int(o, "revision", rev);
    if (!bad && end != NULL)
        bad = !cJSON_AddStringToObject(o, "sort_order", "ASCEND") ||
              !cJSON_AddStringToObject(o, "sort_target", "KEY");
    if (!bad && keys_only)
        bad = !cJSON_AddBoolToObject(o, "keys_only", 1);
    return finish(o, bad);
}

static int fill_put(cJSON *o, const okof__ekv *kv)
{
    return add_bytes(o, "key", kv->key, kv->klen) ||
           add_bytes(o, "value", kv->val, kv->vlen) ||
           (kv->lease != 0 && add_int(o, "lease", kv->lease));
}

char *okof__ep_put(const okof__ekv *kv)
{
    cJSON *o = cJSON_CreateObject();
    return finish(o, o == NULL || fill_put(o, kv));
}

char *okof__ep_delete(const okof__ekv *key)
{
    cJSON *o = cJSON_CreateObject();
    return finish(o, o == NULL || add_bytes(o, "key", key->key, key->klen) ||
                         !cJSON_AddBoolToObject(o, "prev_kv", 1));
}

char *okof__ep_grant(long long ttl_s)
{
    cJSON *o = cJSON_CreateObject();
    return finish(o, o == NULL || add_int(o, "TTL", ttl_s));
}

/* Append {"request_put": kv} to the array ops. */
static int add_put_op(cJSON *ops, const okof__ekv *kv)
{
    cJSON *op = cJSON_CreateObject(), *put;
    if (op == NULL)
        return -1;
    cJSON_AddItemToArray(ops, op);
    put = cJSON_AddObjectToObject(op, "request_put");
    return put == NULL || fill_put(put, kv);
}

/* Append {"request_range": {"key": key}} to the array ops. */
static int add_range_op(cJSON *ops, const okof__ekv *kv)
{
    cJSON *op = cJSON_CreateObject(), *range;
    if (op == NULL)
        return -1;
    cJSON_AddItemToArray(ops, op);
    range = cJSON_AddObjectToObject(op, "request_range");
    return range == NULL || add_bytes(range, "key", kv->key, kv->klen);
}

char *okof__ep_add(const okof__ekv *kv, long long mod_rev)
{
    cJSON *o = cJSON_CreateObject(), *cmps, *cmp, *ops;
    int bad = o == NULL || (cmps = cJSON_AddArrayToObject(o, "compare")) == NULL ||
              (cmp = cJSON_CreateObject()) == NULL;
    if (bad)
        return finish(o, bad);
    cJSON_AddItemToArray(cmps, cmp);
    bad = add_bytes(cmp, "key", kv->key, kv->klen) ||
          !cJSON_AddStringToObject(cmp, "target", mod_rev ? "MOD" : "CREATE") ||
          !cJSON_AddStringToObject(cmp, "result", "EQUAL") ||
          add_int(cmp, mod_rev ? "mod_revision" : "create_revision", mod_rev) ||
          (ops = cJSON_AddArrayToObject(o, "success")) == NULL ||
          add_put_op(ops, kv) ||
          (ops = cJSON_AddArrayToObject(o, "failure")) == NULL ||
          add_range_op(ops, kv);
    return finish(o, bad);
}

char *okof__ep_puts(const okof__ekv *kvs, size_t n)
{
    cJSON *o = cJSON_CreateObject(), *ops;
    size_t i;
    int bad = o == NULL || (ops = cJSON_AddArrayToObject(o, "success")) == NULL;
    for (i = 0; !bad && i < n; i++)
        bad = add_put_op(ops, &kvs[i]);
    return finish(o, bad);
}

size_t okof__ep_put_cost(size_t klen, size_t vlen)
{
    /* Tags and lengths of the op, the put, its key and its value. */
    return klen + vlen + 32;
}

size_t okof__ep_prefix_end(const unsigned char *prefix, size_t plen,
                           unsigned char *end)
{
    size_t i = plen;
    while (i > 0 && prefix[i - 1] == 0xff)
        i--;
    if (i == 0) {
        end[0] = 0;
        return 1;
    }
    memcpy(end, prefix, i);
    end[i - 1]++;
    return i;
}

/* ---- replies ------------------------------------------------------------ */

/* The reply's JSON object, or NULL. */
static cJSON *parse(const unsigned char *body, size_t len)
{
    cJSON *o = cJSON_ParseWithLength((const char *)body, len);
    if (o != NULL && !cJSON_IsObject(o)) {
        cJSON_Delete(o);
        o = NULL;
    }
    return o;
}

/* An int64 field, given as a string (or, leniently, a number); absent is
 * 0. Returns -1 for anything else. */
static int get_int(const cJSON *o, const char *name, long long *v)
{
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, name);
    char *end;
    *v = 0;
    if (f == NULL)
        return 0;
    if (cJSON_IsNumber(f)) {
        *v = (long long)f->valuedouble;
        return 0;
    }
    if (!cJSON_IsString(f) || f->valuestring[0] == '\0')
        return -1;
    errno = 0;
    *v = strtoll(f->valuestring, &end, 10);
    return *end != '\0' || errno ? -1 : 0;
}

static int classify(long long code, const char *text, enum okof__ep_next *next)
{
    *next = OKOF__EP_DONE;
    if (code == GRPC_UNAVAILABLE && strstr(text, "timed out") != NULL) {
        *next = OKOF__EP_MAYBE;
        return -ETIMEDOUT;
    }
    if (code == GRPC_UNAVAILABLE) {
        *next = OKOF__EP_OTHER;
        return OKOF_EUNAVAILABLE;
    }
    if (code == GRPC_DEADLINE_EXCEEDED) {
        *next = OKOF__EP_MAYBE;
        return -ETIMEDOUT;
    }
    if (code == GRPC_RESOURCE_EXHAUSTED || (code == GRPC_INVALID_ARGUMENT &&
        (strstr(text, "too large") || strstr(text, "too many operations"))))
        return -E2BIG;
    if (code == GRPC_OUT_OF_RANGE && strstr(text, "compacted") != NULL)
        return OKOF_ECOMPACTED;
    return -EPROTO;
}

int okof__ep_status(long status, const unsigned char *body, size_t len,
                    enum okof__ep_next *next, char *msg, size_t msgcap)
{
    cJSON *o = parse(body, len);
    const cJSON *err = o ? cJSON_GetObjectItemCaseSensitive(o, "error") : NULL;
    const char *text = cJSON_IsString(err) ? err->valuestring : NULL;
    long long code = 0;
    int rc;
    *next = OKOF__EP_DONE;
    msg[0] = '\0';
    if (status == 200 && o != NULL && text == NULL) {
        cJSON_Delete(o);
        return 0;
    }
    if (text != NULL && get_int(o, "code", &code) == 0) {
        rc = classify(code, text, next);
        snprintf(msg, msgcap, "%s", text);
    } else {
        rc = status == 413 ? -E2BIG : status == 503 ? OKOF_EUNAVAILABLE : -EPROTO;
        *next = status == 503 ? OKOF__EP_OTHER : OKOF__EP_DONE;
        snprintf(msg, msgcap, "HTTP status %ld", status);
    }
    cJSON_Delete(o);
    return rc;
}

/* Decode the base64 field name of o into b ("" when absent). */
static int get_bytes(const cJSON *o, const char *name, okof__ebuf *b)
{
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, name);
    if (f == NULL)
        return b64_decode("", b);
    return cJSON_IsString(f) ? b64_decode(f->valuestring, b) : -EPROTO;
}

static int read_kvs(const cJSON *kvs, okof__erange *r)
{
    int n = cJSON_GetArraySize(kvs), i = 0, rc = 0;
    const cJSON *kv;
    if (n == 0)
        return 0;
    r->kvs = (okof__ebuf *)calloc(2 * (size_t)n, sizeof *r->kvs);
    if (r->kvs == NULL)
        return -ENOMEM;
    cJSON_ArrayForEach(kv, kvs) {
        if (i == n || !cJSON_IsObject(kv))
            return -EPROTO;
        r->n = (size_t)i + 1;
        if ((rc = get_bytes(kv, "key", &r->kvs[2 * i])) != 0 ||
            (rc = get_bytes(kv, "value", &r->kvs[2 * i + 1])) != 0)
            return rc;
        if (r->kvs[2 * i].n == 0)
            return -EPROTO;
        i++;
    }
    return 0;
}

int okof__ep_range_reply(const unsigned char *body, size_t len,
                         okof__erange *r)
{
    cJSON *o = parse(body, len);
    const cJSON *kvs, *hdr, *more;
    int rc = -EPROTO;
    memset(r, 0, sizeof *r);
    if (o == NULL)
        return -EPROTO;
    kvs = cJSON_GetObjectItemCaseSensitive(o, "kvs");
    hdr = cJSON_GetObjectItemCaseSensitive(o, "header");
    more = cJSON_GetObjectItemCaseSensitive(o, "more");
    if (cJSON_IsObject(hdr) && get_int(hdr, "revision", &r->rev) == 0 &&
        r->rev > 0 && (kvs == NULL || cJSON_IsArray(kvs)) &&
        (more == NULL || cJSON_IsBool(more))) {
        r->more = cJSON_IsTrue(more);
        rc = kvs ? read_kvs(kvs, r) : 0;
    }
    cJSON_Delete(o);
    if (rc)
        okof__ep_range_free(r);
    return rc;
}

void okof__ep_range_free(okof__erange *r)
{
    size_t i;
    for (i = 0; r->kvs != NULL && i < 2 * r->n; i++)
        okof__ebuf_free(&r->kvs[i]);
    free(r->kvs);
    memset(r, 0, sizeof *r);
}

/* The reply's object if it has a header, else NULL. */
static cJSON *parse_reply(const unsigned char *body, size_t len)
{
    cJSON *o = parse(body, len);
    if (o != NULL && !cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(o, "header"))) {
        cJSON_Delete(o);
        o = NULL;
    }
    return o;
}

/* The value and mod revision of the first kv of the array kvs (none:
 * empty and 0). */
static int first_kv(const cJSON *kvs, okof__ebuf *val, long long *mod_rev)
{
    const cJSON *kv = cJSON_IsArray(kvs) ? cJSON_GetArrayItem(kvs, 0) : NULL;
    val->n = 0;
    *mod_rev = 0;
    if (kvs != NULL && !cJSON_IsArray(kvs))
        return -EPROTO;
    if (kv == NULL)
        return 0;
    if (!cJSON_IsObject(kv) || get_int(kv, "mod_revision", mod_rev) != 0)
        return -EPROTO;
    return get_bytes(kv, "value", val);
}

int okof__ep_delete_reply(const unsigned char *body, size_t len,
                          long long *deleted, okof__ebuf *prev)
{
    cJSON *o = parse_reply(body, len);
    long long rev = 0;
    int rc = o && get_int(o, "deleted", deleted) == 0 && *deleted >= 0 ? 0 : -EPROTO;
    if (rc == 0 && prev != NULL)
        rc = first_kv(cJSON_GetObjectItemCaseSensitive(o, "prev_kvs"), prev, &rev);
    cJSON_Delete(o);
    return rc;
}

int okof__ep_add_reply(const unsigned char *body, size_t len, int *succeeded,
                       okof__ebuf *cur, long long *mod_rev)
{
    cJSON *o = parse_reply(body, len);
    const cJSON *s = o ? cJSON_GetObjectItemCaseSensitive(o, "succeeded") : NULL;
    const cJSON *rs = o ? cJSON_GetObjectItemCaseSensitive(o, "responses") : NULL;
    const cJSON *r = cJSON_IsArray(rs) ? cJSON_GetArrayItem(rs, 0) : NULL;
    int rc = o && (s == NULL || cJSON_IsBool(s)) ? 0 : -EPROTO;
    *succeeded = cJSON_IsTrue(s);
    cur->n = 0;
    *mod_rev = 0;
    if (rc == 0 && !*succeeded) {
        r = r ? cJSON_GetObjectItemCaseSensitive(r, "response_range") : NULL;
        rc = r ? first_kv(cJSON_GetObjectItemCaseSensitive(r, "kvs"), cur, mod_rev)
               : -EPROTO;
    }
    cJSON_Delete(o);
    return rc;
}

int okof__ep_grant_reply(const unsigned char *body, size_t len, long long *id,
                         long long *ttl_s)
{
    cJSON *o = parse_reply(body, len);
    int rc = o && get_int(o, "ID", id) == 0 && get_int(o, "TTL", ttl_s) == 0 &&
                     *id != 0 && *ttl_s > 0
                 ? 0
                 : -EPROTO;
    cJSON_Delete(o);
    return rc;
}

int okof__ep_txn_reply(const unsigned char *body, size_t len, int *succeeded)
{
    cJSON *o = parse_reply(body, len);
    const cJSON *s = o ? cJSON_GetObjectItemCaseSensitive(o, "succeeded") : NULL;
    int rc = o && (s == NULL || cJSON_IsBool(s)) ? 0 : -EPROTO;
    *succeeded = cJSON_IsTrue(s);
    cJSON_Delete(o);
    return rc;
}

int okof__ep_put_reply(const unsigned char *body, size_t len)
{
    cJSON *o = parse_reply(body, len);
    int rc = o ? 0 : -EPROTO;
    cJSON_Delete(o);
    return rc;
}
