/* okof_etcd_iter.c -- walks over a store on etcd: the prefix's range read
 * in pages sorted by key, every page at the revision of the first. */
#include "okof_etcd_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Keys a page holds: fewer with values, which may each be as large as a
 * request (1.5 MiB by default). */
enum { PAGE_KEYS = 128, PAGE_VALUES = 32 };

struct okof_etcd_iter {
    okof_etcd_t *h;
    okof__ebuf from;   /* the next page's first etcd key */
    okof__ebuf end;    /* the range's end */
    long long rev;     /* the snapshot's revision; 0 before the first page */
    int values, last;  /* last: this page ends the range */
    okof__erange page;
    size_t pos;        /* the next of page's keys */
    unsigned char *val; /* the current value, when not in the page */
};

int okof_etcd_iter_open(okof_etcd_t *h, const void *prefix, size_t plen,
                        int values, okof_etcd_iter_t **itp)
{
    okof_etcd_iter_t *it = (okof_etcd_iter_t *)calloc(1, sizeof *it);
    int rc = it ? okof__etcd_key(h, prefix, plen, &it->from) : -ENOMEM;
    if (rc == 0 && okof__ebuf_add(&it->end, it->from.p, it->from.n))
        rc = -ENOMEM;
    if (rc) {
        okof_etcd_iter_close(it);
        return rc;
    }
    it->end.n = okof__ep_prefix_end(it->from.p, it->from.n, it->end.p);
    it->h = h;
    it->values = values;
    *itp = it;
    return 0;
}

void okof_etcd_iter_close(okof_etcd_iter_t *it)
{
    if (it == NULL)
        return;
    okof__ebuf_free(&it->from);
    okof__ebuf_free(&it->end);
    okof__ep_range_free(&it->page);
    free(it->val);
    free(it);
}

okof_etcd_t *okof__iter_handle(const okof_etcd_iter_t *it)
{
    return it->h;
}

char *okof__iter_request(okof_etcd_iter_t *it)
{
    okof__ekv kv = {0};
    kv.key = it->from.p;
    kv.klen = it->from.n;
    return okof__ep_range(&kv, it->end.p, it->end.n,
                          it->values ? PAGE_VALUES : PAGE_KEYS, it->rev, !it->values);
}

/* The reply of a page; the one after it starts just after its last key. */
int okof__iter_reply(okof_etcd_iter_t *it, const unsigned char *body, size_t len)
{
    okof__ebuf *lastkey;
    int rc;
    okof__ep_range_free(&it->page);
    it->pos = 0;
    if ((rc = okof__ep_range_reply(body, len, &it->page)) != 0)
        return rc;
    if (it->rev == 0)
        it->rev = it->page.rev;
    it->last = !it->page.more || it->page.n == 0;
    if (it->page.n == 0)
        return 0;
    lastkey = &it->page.kvs[2 * (it->page.n - 1)];
    it->from.n = 0;
    if (okof__ebuf_add(&it->from, lastkey->p, lastkey->n) ||
        okof__ebuf_add(&it->from, "", 1))
        return -ENOMEM;
    return 0;
}

int okof__iter_take(okof_etcd_iter_t *it, const char **key, size_t *klen,
                    const void **val, size_t *vlen, int *vrc)
{
    okof__ebuf *k;
    unsigned char *out = NULL;
    size_t olen = 0;
    int rc, fresh = 0;
    free(it->val);
    it->val = NULL;
    for (;;) {
        if (it->pos == it->page.n)
            return it->last && it->rev != 0 ? OKOF_NOTFOUND : OKOF__NEED_PAGE;
        k = &it->page.kvs[2 * it->pos];
        if (k->n < it->h->plen || memcmp(k->p, it->h->prefix, it->h->plen) != 0)
            return -EPROTO; /* a key outside the range asked for */
        if (okof_key_check(k->p + it->h->plen, k->n - it->h->plen) == 0 &&
            !(it->values && okof__etcd_expired(k[1].p, k[1].n)))
            break;
        /* not a key of the store ("/PATH/" alone, too long), or a value
         * that has expired */
        it->pos++;
    }
    *key = (const char *)k->p + it->h->plen;
    *klen = k->n - it->h->plen;
    if (it->values) {
        rc = okof__etcd_decode(&it->page.kvs[2 * it->pos + 1], &out, &olen, &fresh);
        if (fresh)
            it->val = out;
        if (val != NULL)
            *val = rc ? NULL : out;
        if (vlen != NULL)
            *vlen = rc ? 0 : olen;
        if (vrc != NULL)
            *vrc = rc;
    }
    it->pos++;
    return 0;
}

int okof_etcd_iter_next(okof_etcd_iter_t *it, const char **key, size_t *klen,
                        const void **val, size_t *vlen, int *vrc)
{
    int rc;
    while ((rc = okof__iter_take(it, key, klen, val, vlen, vrc)) == OKOF__NEED_PAGE) {
        okof__eop op;
        okof__eop_page(&op, it);
        rc = okof__etcd_run(&op);
        okof__eop_free(&op);
        if (rc != 0)
            return rc;
    }
    return rc;
}
