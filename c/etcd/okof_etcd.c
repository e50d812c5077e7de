/* okof_etcd.c -- the store on etcd (okof_etcd.h): open and close, and
 * get, put, add, del and put_many as operations of okof_etcd_op.c run by
 * the blocking transport of okof_etcd_curl.c. Values are encoded and
 * verified by the core's okof_frame.c, exactly as value files are. */
#include "okof_etcd_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "okof_frame.h"
#include "okof_io.h"
#include "okof_ttl.h"

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

/* The members and the key prefix of the URL's hosts and path. */
static int open_parts(okof_etcd_t *h, const char *hosts, size_t hlen,
                      const char *path)
{
    const char *members[MAX_MEMBERS];
    char *buf = (char *)malloc(hlen + 1);
    size_t n, i, plen = strlen(path);
    int rc = 0;
    if (buf == NULL)
        return -ENOMEM;
    n = split_members(buf, hosts, hlen, members);
    if (n == 0)
        rc = -EINVAL;
    else if ((h->members = (char **)calloc(n, sizeof *h->members)) == NULL)
        rc = -ENOMEM;
    for (i = 0; rc == 0 && i < n; i++, h->nmembers++)
        if ((h->members[i] = (char *)malloc(strlen(members[i]) + 1)) == NULL)
            rc = -ENOMEM;
        else
            strcpy(h->members[i], members[i]);
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
    size_t i;
    if (h == NULL)
        return;
    okof__etx_close(h->tx);
    for (i = 0; i < h->nmembers; i++)
        free(h->members[i]);
    free(h->members);
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

int okof__etcd_decode(okof__ebuf *s, unsigned char **val, size_t *vlen,
                      int *fresh)
{
    int rc;
    *fresh = 0;
    if (s->n == 0 || s->p[0] != FORMAT_FRAMED)
        return OKOF_CORRUPT; /* a raw 0x00 value carries no checksum */
    rc = okof__frame_decode_into(s->p, s->n, 0, NULL, 0, val, vlen);
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

int okof__etcd_expired(const unsigned char *s, size_t n)
{
    return okof__ttl_expired(okof__frame_expiry(s, n));
}

int okof__etcd_encode(okof_etcd_t *h, const void *val, size_t vlen,
                      uint64_t expiry, okof__ebuf *b)
{
    b->n = 0;
    if (vlen >= h->o.compress_min && h->scratch == NULL &&
        (h->scratch = (unsigned char *)malloc(okof__frame_scratch_size())) == NULL)
        return -ENOMEM;
    return okof__frame_encode((const unsigned char *)val, vlen, expiry,
                              h->o.compress_min, h->scratch, to_ebuf, b);
}

/* ---- the blocking calls ------------------------------------------------- */

int okof_etcd_get(okof_etcd_t *h, const void *key, size_t klen, void **val,
                  size_t *vlen)
{
    okof__eop op;
    int rc;
    okof__eop_get(&op, h, key, klen, 0);
    rc = okof__etcd_run(&op);
    *val = NULL;
    *vlen = 0;
    if (rc == 0) {
        if (!op.fresh)
            op.range.kvs[1].p = NULL; /* the value is in it: the caller's now */
        op.fresh = 0;
        *val = op.out;
        *vlen = op.olen;
    }
    okof__eop_free(&op);
    return rc;
}

/* Run a write operation to its end; its result. */
static int run(okof__eop *op)
{
    int rc = okof__etcd_run(op);
    okof__eop_free(op);
    return rc;
}

int okof_etcd_put(okof_etcd_t *h, const void *key, size_t klen,
                  const void *val, size_t vlen)
{
    return okof_etcd_put_ttl(h, key, klen, val, vlen, 0);
}

int okof_etcd_put_ttl(okof_etcd_t *h, const void *key, size_t klen,
                      const void *val, size_t vlen, int64_t ttl_ms)
{
    okof__eop op;
    okof__eop_put(&op, h, key, klen, val, vlen, 0, ttl_ms);
    return run(&op);
}

int okof_etcd_add(okof_etcd_t *h, const void *key, size_t klen,
                  const void *val, size_t vlen)
{
    return okof_etcd_add_ttl(h, key, klen, val, vlen, 0);
}

int okof_etcd_add_ttl(okof_etcd_t *h, const void *key, size_t klen,
                      const void *val, size_t vlen, int64_t ttl_ms)
{
    okof__eop op;
    okof__eop_put(&op, h, key, klen, val, vlen, 1, ttl_ms);
    return run(&op);
}

int okof_etcd_del(okof_etcd_t *h, const void *key, size_t klen)
{
    okof__eop op;
    okof__eop_del(&op, h, key, klen);
    return run(&op);
}

int okof_etcd_put_many(okof_etcd_t *h, const okof_kv *items, size_t n,
                       size_t *written)
{
    return okof_etcd_put_many_ttl(h, items, n, 0, written);
}

int okof_etcd_put_many_ttl(okof_etcd_t *h, const okof_kv *items, size_t n,
                           int64_t ttl_ms, size_t *written)
{
    okof__eop op;
    int rc;
    okof__eop_puts(&op, h, items, n, ttl_ms);
    rc = okof__etcd_run(&op);
    if (written != NULL)
        *written = op.done;
    okof__eop_free(&op);
    return rc;
}

int okof__etcd_ms_left(uint64_t expiry, int64_t *ms_left)
{
    int64_t now = 0;
    int rc;
    *ms_left = -1;
    if (expiry == 0)
        return 0;
    if ((rc = okof__io_now_ms(&now)) != 0)
        return rc;
    if ((uint64_t)now >= expiry)
        return OKOF_NOTFOUND;
    *ms_left = (int64_t)(expiry - (uint64_t)now);
    return 0;
}

int okof_etcd_ttl(okof_etcd_t *h, const void *key, size_t klen, int64_t *ms_left)
{
    okof__eop op;
    int rc;
    okof__eop_get(&op, h, key, klen, 1);
    rc = okof__etcd_run(&op);
    *ms_left = -1;
    if (rc == 0)
        rc = okof__etcd_ms_left(op.expiry, ms_left);
    okof__eop_free(&op);
    return rc;
}
