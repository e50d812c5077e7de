/* okof_etcd.c -- the store on etcd (okof_etcd.h): open, get, put, add,
 * del and put_many, from the requests of okof_etcd_proto.c sent by the
 * transport of okof_etcd_curl.c. Values are encoded and verified by the
 * core's okof_frame.c, exactly as value files are. */
#include "okof_etcd_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "okof_frame.h"

enum { FORMAT_FRAMED = 0x01, MAX_MEMBERS = 64 };

void okof_etcd_opts_init(okof_etcd_opts *o)
{
    o->compress_min = OKOF_COMPRESS_MIN_DEFAULT;
    o->timeout = 5.0;
    o->txn_ops = 128;
    o->request_bytes = 1572864;
}

/* ---- open and close ----------------------------------------------------- */

/* Split "HOST:PORT,HOST:PORT" (hosts[0..hlen), copied into buf) into
 * members; returns how many, or 0 when one is empty or has no port. */
static size_t split_members(char *buf, const char *hosts, size_t hlen,
                            const char **members)
{
    size_t n = 0;
    char *p = memcpy(buf, hosts, hlen), *end = buf + hlen;
    *end = '\0';
    while (p <= end && n < MAX_MEMBERS) {
        char *comma = strchr(p, ',');
        char *colon;
        if (comma != NULL)
            *comma = '\0';
        colon = strrchr(p, ':');
        if (*p == '\0' || colon == NULL || colon == p || colon[1] == '\0' ||
            strspn(colon + 1, "0123456789") != strlen(colon + 1))
            return 0;
        members[n++] = p;
        if (comma == NULL)
            return n;
        p = comma + 1;
    }
    return 0;
}

/* Check the options; 0 or -EINVAL. */
static int check_opts(const okof_etcd_opts *o)
{
    return o->timeout > 0 && o->timeout < 1e9 && o->txn_ops > 0 &&
                   o->request_bytes > OKOF__EP_REQUEST_BASE + OKOF__FRAME_PREFIX
               ? 0
               : -EINVAL;
}

/* Make the transport and the key prefix of the URL's hosts and path. */
static int open_parts(okof_etcd_t *h, const char *hosts, size_t hlen,
                      const char *path)
{
    const char *members[MAX_MEMBERS];
    char *buf = (char *)malloc(hlen + 1);
    size_t n, plen = strlen(path);
    int rc;
    if (buf == NULL)
        return -ENOMEM;
    n = split_members(buf, hosts, hlen, members);
    rc = n ? okof__etx_open(&h->tx, members, n) : -EINVAL;
    free(buf);
    if (rc)
        return rc;
    if ((h->prefix = (unsigned char *)malloc(plen + 2)) == NULL)
        return -ENOMEM;
    h->prefix[0] = '/';
    memcpy(h->prefix + 1, path, plen);
    h->prefix[plen + 1] = '/';
    h->plen = plen + 2;
    return 0;
}

int okof_etcd_open(okof_etcd_t **hp, const char *url, const okof_etcd_opts *opts)
{
    static const char scheme[] = "etcd://";
    size_t len = strlen(url);
    const char *hosts = url + sizeof scheme - 1, *slash;
    okof_etcd_t *h;
    int rc;
    if (strncmp(url, scheme, sizeof scheme - 1) != 0 ||
        (slash = strchr(hosts, '/')) == NULL || slash[1] == '\0' ||
        url[len - 1] == '/')
        return -EINVAL;
    if ((h = (okof_etcd_t *)calloc(1, sizeof *h + len)) == NULL)
        return -ENOMEM;
    memcpy(h->url, url, len + 1);
    if (opts != NULL)
        h->o = *opts;
    else
        okof_etcd_opts_init(&h->o);
    rc = check_opts(&h->o);
    if (rc == 0)
        rc = open_parts(h, hosts, (size_t)(slash - hosts), slash + 1);
    if (rc) {
        okof_etcd_close(h);
        return rc;
    }
    *hp = h;
    return 0;
}

void okof_etcd_close(okof_etcd_t *h)
{
    if (h == NULL)
        return;
    okof__etx_close(h->tx);
    free(h->scratch);
    free(h->prefix);
    free(h);
}

const char *okof_etcd_url(const okof_etcd_t *h)
{
    return h->url;
}

const char *okof_etcd_errmsg(const okof_etcd_t *h)
{
    return h->msg;
}

/* ---- shared steps ------------------------------------------------------- */

int okof__etcd_key(const okof_etcd_t *h, const void *key, size_t klen,
                   okof__ebuf *b)
{
    b->n = 0;
    if (okof__ebuf_add(b, h->prefix, h->plen) || okof__ebuf_add(b, key, klen))
        return -ENOMEM;
    return 0;
}

int okof__etcd_call(okof_etcd_t *h, const char *path, char *body, int retry,
                    okof__ebuf *reply)
{
    int rc;
    h->msg[0] = '\0';
    if (body == NULL)
        return -ENOMEM;
    rc = okof__etx_call(h->tx, path, body, retry, h->o.timeout, reply, h->msg,
                        sizeof h->msg);
    free(body);
    return rc;
}

int okof__etcd_decode(okof__ebuf *s, unsigned char **val, size_t *vlen,
                      int *fresh)
{
    int rc;
    *fresh = 0;
    if (s->n == 0 || s->p[0] != FORMAT_FRAMED)
        return OKOF_CORRUPT; /* a raw 0x00 value carries no checksum */
    rc = okof__frame_decode(s->p, s->n, val, vlen);
    if (rc == 0)
        *fresh = *val != s->p;
    return rc;
}

static int to_ebuf(void *ud, struct iovec *iov, int iovcnt)
{
    int i;
    for (i = 0; i < iovcnt; i++)
        if (okof__ebuf_add((okof__ebuf *)ud, iov[i].iov_base, iov[i].iov_len))
            return -ENOMEM;
    return 0;
}

/* The bytes of the value file of val, into b. */
static int encode(okof_etcd_t *h, const void *val, size_t vlen, okof__ebuf *b)
{
    b->n = 0;
    if (vlen >= h->o.compress_min && h->scratch == NULL &&
        (h->scratch = (unsigned char *)malloc(okof__frame_scratch_size())) == NULL)
        return -ENOMEM;
    return okof__frame_encode((const unsigned char *)val, vlen,
                              h->o.compress_min, h->scratch, to_ebuf, b);
}

/* Does a request of these bytes of puts fit the cluster? */
static int fits(const okof_etcd_t *h, size_t cost)
{
    return cost <= h->o.request_bytes - OKOF__EP_REQUEST_BASE;
}

/* ---- get, put, add, del ------------------------------------------------- */

int okof_etcd_get(okof_etcd_t *h, const void *key, size_t klen, void **val,
                  size_t *vlen)
{
    okof__ebuf k = {0}, reply = {0};
    okof__ekv kv = {0};
    okof__erange r = {0};
    unsigned char *out;
    int rc = okof_key_check(key, klen), fresh;
    h->msg[0] = '\0';
    *val = NULL;
    *vlen = 0;
    if (rc == 0 && (rc = okof__etcd_key(h, key, klen, &k)) == 0) {
        kv.key = k.p;
        kv.klen = k.n;
        rc = okof__etcd_call(h, OKOF__EP_RANGE, okof__ep_range(&kv, NULL, 0, 0, 0, 0),
                             OKOF__ETX_IDEMPOTENT, &reply);
    }
    if (rc == 0)
        rc = okof__ep_range_reply(reply.p, reply.n, &r);
    if (rc == 0 && r.n == 0)
        rc = OKOF_NOTFOUND;
    if (rc == 0 && (rc = okof__etcd_decode(&r.kvs[1], &out, vlen, &fresh)) == 0) {
        if (!fresh)
            r.kvs[1].p = NULL; /* the value is in it: the caller's now */
        *val = out;
    }
    okof__ep_range_free(&r);
    okof__ebuf_free(&reply);
    okof__ebuf_free(&k);
    return rc;
}

/* put (add = 0) or add (add = 1). */
static int store(okof_etcd_t *h, const void *key, size_t klen, const void *val,
                 size_t vlen, int add)
{
    okof__ebuf k = {0}, v = {0}, reply = {0};
    okof__ekv kv;
    int rc = okof_key_check(key, klen), ok = 0;
    h->msg[0] = '\0';
    if (rc == 0 && (rc = okof__etcd_key(h, key, klen, &k)) == 0)
        rc = encode(h, val, vlen, &v);
    if (rc == 0 && !fits(h, okof__ep_put_cost(k.n, v.n)))
        rc = -E2BIG;
    kv.key = k.p;
    kv.klen = k.n;
    kv.val = v.p;
    kv.vlen = v.n;
    if (rc == 0 && add)
        rc = okof__etcd_call(h, OKOF__EP_TXN, okof__ep_add(&kv), OKOF__ETX_ONCE, &reply);
    else if (rc == 0)
        rc = okof__etcd_call(h, OKOF__EP_PUT, okof__ep_put(&kv), OKOF__ETX_IDEMPOTENT, &reply);
    if (rc == 0 && add && (rc = okof__ep_txn_reply(reply.p, reply.n, &ok)) == 0)
        rc = ok ? 0 : OKOF_EXISTS;
    else if (rc == 0 && !add)
        rc = okof__ep_put_reply(reply.p, reply.n);
    okof__ebuf_free(&reply);
    okof__ebuf_free(&v);
    okof__ebuf_free(&k);
    return rc;
}

int okof_etcd_put(okof_etcd_t *h, const void *key, size_t klen,
                  const void *val, size_t vlen)
{
    return store(h, key, klen, val, vlen, 0);
}

int okof_etcd_add(okof_etcd_t *h, const void *key, size_t klen,
                  const void *val, size_t vlen)
{
    return store(h, key, klen, val, vlen, 1);
}

int okof_etcd_del(okof_etcd_t *h, const void *key, size_t klen)
{
    okof__ebuf k = {0}, reply = {0};
    okof__ekv kv = {0};
    long long deleted = 0;
    int rc = okof_key_check(key, klen);
    h->msg[0] = '\0';
    if (rc == 0 && (rc = okof__etcd_key(h, key, klen, &k)) == 0) {
        kv.key = k.p;
        kv.klen = k.n;
        rc = okof__etcd_call(h, OKOF__EP_DELETE, okof__ep_delete(&kv),
                             OKOF__ETX_IDEMPOTENT, &reply);
    }
    if (rc == 0)
        rc = okof__ep_delete_reply(reply.p, reply.n, &deleted);
    if (rc == 0 && deleted == 0)
        rc = OKOF_NOTFOUND;
    okof__ebuf_free(&reply);
    okof__ebuf_free(&k);
    return rc;
}

/* ---- put_many ----------------------------------------------------------- */

/* Each item's etcd key and value bytes, in bufs[2i], bufs[2i+1]; checks
 * every key and every size before anything is sent. */
static int prepare(okof_etcd_t *h, const okof_kv *items, size_t n,
                   okof__ebuf *bufs, okof__ekv *kvs)
{
    size_t i;
    int rc = 0;
    for (i = 0; i < n && rc == 0; i++)
        rc = okof_key_check(items[i].key, items[i].klen);
    for (i = 0; i < n && rc == 0; i++) {
        if ((rc = okof__etcd_key(h, items[i].key, items[i].klen, &bufs[2 * i])) != 0 ||
            (rc = encode(h, items[i].val, items[i].vlen, &bufs[2 * i + 1])) != 0)
            break;
        kvs[i].key = bufs[2 * i].p;
        kvs[i].klen = bufs[2 * i].n;
        kvs[i].val = bufs[2 * i + 1].p;
        kvs[i].vlen = bufs[2 * i + 1].n;
        if (!fits(h, okof__ep_put_cost(kvs[i].klen, kvs[i].vlen)))
            rc = -E2BIG;
    }
    return rc;
}

/* How many items from kvs[0] go in one transaction (at least one). */
static size_t txn_size(const okof_etcd_t *h, const okof__ekv *kvs, size_t n)
{
    size_t k = 0, cost = 0;
    while (k < n && k < h->o.txn_ops) {
        size_t c = okof__ep_put_cost(kvs[k].klen, kvs[k].vlen);
        if (k > 0 && !fits(h, cost + c))
            break;
        cost += c;
        k++;
    }
    return k;
}

/* Send the prepared items in transactions; *done counts the committed. */
static int send_txns(okof_etcd_t *h, const okof__ekv *kvs, size_t n,
                     size_t *done)
{
    okof__ebuf reply = {0};
    int rc = 0, ok;
    while (*done < n && rc == 0) {
        size_t k = txn_size(h, kvs + *done, n - *done);
        rc = okof__etcd_call(h, OKOF__EP_TXN, okof__ep_puts(kvs + *done, k),
                             OKOF__ETX_IDEMPOTENT, &reply);
        if (rc == 0)
            rc = okof__ep_txn_reply(reply.p, reply.n, &ok);
        if (rc == 0)
            *done += k;
    }
    okof__ebuf_free(&reply);
    return rc;
}

int okof_etcd_put_many(okof_etcd_t *h, const okof_kv *items, size_t n,
                       size_t *written)
{
    okof__ebuf *bufs = (okof__ebuf *)calloc(2 * n + 1, sizeof *bufs);
    okof__ekv *kvs = (okof__ekv *)calloc(n + 1, sizeof *kvs);
    size_t done = 0, i;
    int rc = bufs && kvs ? 0 : -ENOMEM;
    h->msg[0] = '\0';
    if (rc == 0)
        rc = prepare(h, items, n, bufs, kvs);
    if (rc == 0)
        rc = send_txns(h, kvs, n, &done);
    for (i = 0; bufs != NULL && i < 2 * n; i++)
        okof__ebuf_free(&bufs[i]);
    free(bufs);
    free(kvs);
    if (written != NULL)
        *written = done;
    return rc;
}
