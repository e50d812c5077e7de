/* okof_etcd_op.c -- the operations of the etcd store without I/O
 * (okof_etcd_int.h): which request goes to which member within what time,
 * failover from member to member, and what the answers mean. A transport
 * (libcurl, OpenResty's cosockets) only makes the attempts it is asked
 * for, so every transport ends in the same results and codes. */
#include "okof_etcd_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "okof_frame.h"
#include "okof_io.h"
#include "okof_ttl.h"

/* ---- starting ------------------------------------------------------------ */

static void start(okof__eop *op, okof_etcd_t *h, int kind)
{
    memset(op, 0, sizeof *op);
    op->h = h;
    op->kind = kind;
    op->rc = OKOF__OP_BUSY;
    h->msg[0] = '\0';
}

/* Does a request of these bytes of puts fit the cluster? */
static int fits(const okof_etcd_t *h, size_t cost)
{
    return cost <= h->o.request_bytes - OKOF__EP_REQUEST_BASE;
}

/* The etcd key of key into op->key, and kv pointing at it; 0 or an error. */
static int take_key(okof__eop *op, const void *key, size_t klen, okof__ekv *kv)
{
    int rc = okof_key_check(key, klen);
    if (rc == 0)
        rc = okof__etcd_key(op->h, key, klen, &op->key);
    kv->key = op->key.p;
    kv->klen = op->key.n;
    return rc;
}

/* The first request's body, or the failure to make it. */
static void first(okof__eop *op, int rc, const char *path, char *body)
{
    op->path = path;
    op->body = body;
    if (rc == 0 && body == NULL)
        rc = -ENOMEM;
    if (rc != 0) {
        free(body);
        op->body = NULL;
        op->rc = rc;
    }
}

void okof__eop_get(okof__eop *op, okof_etcd_t *h, const void *key, size_t klen,
                   int ttl)
{
    okof__ekv kv = {0};
    int rc;
    start(op, h, ttl ? OKOF__OP_TTL : OKOF__OP_GET);
    rc = take_key(op, key, klen, &kv);
    first(op, rc, OKOF__EP_RANGE, rc ? NULL : okof__ep_range(&kv, NULL, 0, 0, 0, 0));
}

/* The request that writes the op's values, with op->lease. */
static char *write_request(okof__eop *op, const char **path)
{
    size_t i;
    op->kv.lease = op->lease;
    *path = op->kind == OKOF__OP_PUT ? OKOF__EP_PUT : OKOF__EP_TXN;
    if (op->kind == OKOF__OP_PUT)
        return okof__ep_put(&op->kv);
    if (op->kind == OKOF__OP_ADD)
        return okof__ep_add(&op->kv, 0);
    for (i = 0; i < op->n; i++)
        op->kvs[i].lease = op->lease;
    return NULL; /* put_many: next_txn makes each transaction */
}

/* The first request of a write: a lease grant when the values expire
 * and no lease of the handle fits them, else the write itself. */
static char *first_write(okof__eop *op, const char **path)
{
    int64_t now = 0;
    op->lease = op->expiry ? okof__lease_find(op->h, op->expiry, op->ttl_ms) : 0;
    op->granting = op->expiry != 0 && op->lease == 0;
    if (!op->granting)
        return write_request(op, path);
    if (okof__io_now_ms(&now) != 0)
        now = 0;
    op->asked_at = (uint64_t)now;
    *path = OKOF__EP_GRANT;
    return okof__ep_grant(okof__lease_seconds(op->expiry, op->ttl_ms, op->asked_at));
}

void okof__eop_put(okof__eop *op, okof_etcd_t *h, const void *key, size_t klen,
                   const void *val, size_t vlen, int add, int64_t ttl_ms)
{
    const char *path = NULL;
    char *body = NULL;
    int rc;
    start(op, h, add ? OKOF__OP_ADD : OKOF__OP_PUT);
    rc = take_key(op, key, klen, &op->kv);
    if (rc == 0)
        rc = okof__ttl_expiry(ttl_ms, &op->expiry);
    op->ttl_ms = ttl_ms;
    if (rc == 0)
        rc = okof__etcd_encode(h, val, vlen, op->expiry, &op->val);
    if (rc == 0 && !fits(h, okof__ep_put_cost(op->key.n, op->val.n)))
        rc = -E2BIG;
    op->kv.val = op->val.p;
    op->kv.vlen = op->val.n;
    if (rc == 0 && (body = first_write(op, &path)) == NULL)
        rc = -ENOMEM;
    first(op, rc, path, body);
}

void okof__eop_del(okof__eop *op, okof_etcd_t *h, const void *key, size_t klen)
{
    okof__ekv kv = {0};
    int rc;
    start(op, h, OKOF__OP_DEL);
    rc = take_key(op, key, klen, &kv);
    first(op, rc, OKOF__EP_DELETE, rc ? NULL : okof__ep_delete(&kv));
}

/* Each item's etcd key and value bytes; checks every key and every size
 * before anything is sent. */
static int prepare(okof__eop *op, const okof_kv *items, size_t n)
{
    size_t i;
    int rc = 0;
    for (i = 0; i < n && rc == 0; i++)
        rc = okof_key_check(items[i].key, items[i].klen);
    for (i = 0; i < n && rc == 0; i++) {
        okof__ebuf *k = &op->bufs[2 * i], *v = &op->bufs[2 * i + 1];
        if ((rc = okof__etcd_key(op->h, items[i].key, items[i].klen, k)) != 0 ||
            (rc = okof__etcd_encode(op->h, items[i].val, items[i].vlen,
                                    op->expiry, v)) != 0)
            break;
        op->kvs[i].key = k->p;
        op->kvs[i].klen = k->n;
        op->kvs[i].val = v->p;
        op->kvs[i].vlen = v->n;
        if (!fits(op->h, okof__ep_put_cost(k->n, v->n)))
            rc = -E2BIG;
    }
    return rc;
}

void okof__eop_puts(okof__eop *op, okof_etcd_t *h, const okof_kv *items,
                    size_t n, int64_t ttl_ms)
{
    int rc;
    start(op, h, OKOF__OP_PUTS);
    op->n = n;
    op->ttl_ms = ttl_ms;
    op->bufs = (okof__ebuf *)calloc(2 * n + 1, sizeof *op->bufs);
    op->kvs = (okof__ekv *)calloc(n + 1, sizeof *op->kvs);
    rc = op->bufs && op->kvs ? okof__ttl_expiry(ttl_ms, &op->expiry) : -ENOMEM;
    if (rc == 0)
        rc = prepare(op, items, n);
    if (rc == 0 && n == 0)
        op->rc = 0;
    else if (rc != 0)
        op->rc = rc;
    else if (op->expiry != 0) /* a grant first, when no lease fits */
        op->body = first_write(op, &op->path);
    else
        write_request(op, &op->path);
    if (op->rc == OKOF__OP_BUSY && op->granting && op->body == NULL)
        op->rc = -ENOMEM;
}

void okof__eop_page(okof__eop *op, okof_etcd_iter_t *it)
{
    start(op, okof__iter_handle(it), OKOF__OP_PAGE);
    op->it = it;
    first(op, 0, OKOF__EP_RANGE, okof__iter_request(it));
}

void okof__eop_free(okof__eop *op)
{
    size_t i;
    free(op->body);
    okof__ebuf_free(&op->key);
    okof__ebuf_free(&op->val);
    okof__ebuf_free(&op->cur);
    okof__ep_range_free(&op->range);
    if (op->fresh)
        free(op->out);
    for (i = 0; op->bufs != NULL && i < 2 * op->n; i++)
        okof__ebuf_free(&op->bufs[i]);
    free(op->bufs);
    free(op->kvs);
    memset(op, 0, sizeof *op);
}

/* ---- attempts ------------------------------------------------------------ */

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

/* Make the body of put_many's next transaction. */
static void next_txn(okof__eop *op)
{
    op->batch = txn_size(op->h, op->kvs + op->done, op->n - op->done);
    op->path = OKOF__EP_TXN;
    if ((op->body = okof__ep_puts(op->kvs + op->done, op->batch)) == NULL)
        op->rc = -ENOMEM;
}

/* The end of a request: the code when every attempt failed. */
static int give_up(const okof__eop *op)
{
    if (op->timed_out)
        return -ETIMEDOUT;
    return op->unavailable ? OKOF_EUNAVAILABLE : -ECONNREFUSED;
}

static void finish(okof__eop *op, int rc)
{
    free(op->body);
    op->body = NULL;
    op->rc = rc;
}

int okof__eop_next(okof__eop *op, double now, const char **member,
                   const char **path, const char **body, long *ms)
{
    okof_etcd_t *h = op->h;
    double left;
    long share;
    if (op->rc == OKOF__OP_BUSY && op->body == NULL && op->kind == OKOF__OP_PUTS)
        next_txn(op);
    if (op->rc != OKOF__OP_BUSY)
        return 0;
    if (op->deadline == 0.0)
        op->deadline = now + h->o.timeout;
    left = op->deadline - now;
    if (left <= 0.0)
        op->timed_out = 1;
    if (left <= 0.0 || op->tries == h->nmembers) {
        finish(op, give_up(op));
        return 0;
    }
    share = (long)(left * 1000 / (double)(h->nmembers - op->tries));
    *member = h->members[(h->cur + op->tries) % h->nmembers];
    *path = op->path;
    *body = op->body;
    *ms = share > 0 ? share : 1;
    return 1;
}

/* Append "member: text" to the handle's message, cut where it is full. */
static void note(okof_etcd_t *h, const char *member, const char *text)
{
    const char *parts[4];
    size_t len = strlen(h->msg), i;
    parts[0] = len ? "; " : "";
    parts[1] = member;
    parts[2] = ": ";
    parts[3] = text;
    for (i = 0; i < 4; i++) {
        size_t n = strlen(parts[i]);
        if (n > sizeof h->msg - 1 - len)
            n = sizeof h->msg - 1 - len;
        memcpy(h->msg + len, parts[i], n);
        len += n;
    }
    h->msg[len] = '\0';
}

/* Send body to path next, within the same time, from the first member. */
static void again(okof__eop *op, const char *path, char *body)
{
    op->path = path;
    op->body = body;
    op->tries = 0;
    op->timed_out = op->unavailable = 0;
    if (body == NULL && op->kind != OKOF__OP_PUTS)
        op->rc = -ENOMEM;
}

/* A grant's answer: the lease is kept, the write comes next. */
static int granted(okof__eop *op, const unsigned char *body, size_t len)
{
    long long id = 0, ttl_s = 0;
    const char *path = NULL;
    char *req;
    int rc = okof__ep_grant_reply(body, len, &id, &ttl_s);
    if (rc != 0)
        return rc;
    okof__lease_keep(op->h, id, op->asked_at, ttl_s);
    op->lease = id;
    op->granting = 0;
    req = write_request(op, &path);
    again(op, path, req);
    return op->rc;
}

/* add's answer. When a value was there but has expired (its lease did
 * not remove it yet), the put is tried again in a transaction comparing
 * the key's mod revision with that value's: of many writers, the one
 * whose transaction comes first wins. */
static int added(okof__eop *op, const unsigned char *body, size_t len)
{
    long long rev = 0;
    int ok = 0, rc = okof__ep_add_reply(body, len, &ok, &op->cur, &rev);
    if (rc != 0 || ok)
        return rc;
    if (op->rounds == 8 || (rev != 0 && !okof__etcd_expired(op->cur.p, op->cur.n)))
        return OKOF_EXISTS;
    op->rounds++; /* expired, or removed since the compare */
    again(op, OKOF__EP_TXN, okof__ep_add(&op->kv, rev));
    return op->rc;
}

/* get's and ttl's answer: the value, unless it has expired. */
static int got(okof__eop *op, const unsigned char *body, size_t len)
{
    okof__ebuf *v;
    int rc = okof__ep_range_reply(body, len, &op->range);
    if (rc == 0 && op->range.n == 0)
        return OKOF_NOTFOUND;
    if (rc != 0)
        return rc;
    v = &op->range.kvs[1];
    op->expiry = okof__frame_expiry(v->p, v->n);
    if (okof__ttl_expired(op->expiry))
        return OKOF_NOTFOUND;
    return okof__etcd_decode(v, &op->out, &op->olen, &op->fresh);
}

/* del's answer: removing an expired value removes no value. */
static int deleted(okof__eop *op, const unsigned char *body, size_t len)
{
    long long n = 0;
    int rc = okof__ep_delete_reply(body, len, &n, &op->cur);
    if (rc == 0 && n == 0)
        /* none left: but an attempt that timed out may have removed it */
        rc = op->timed_out ? -ETIMEDOUT : OKOF_NOTFOUND;
    if (rc == 0 && okof__etcd_expired(op->cur.p, op->cur.n))
        rc = OKOF_NOTFOUND;
    return rc;
}

/* The answer of a cluster to the op's request: its result, or the next
 * request (a write after its lease, put_many's next transaction, add
 * over an expired value). */
static void interpret(okof__eop *op, const unsigned char *body, size_t len)
{
    int rc = 0, ok = 0;
    free(op->body);
    op->body = NULL;
    if (op->granting) {
        op->rc = granted(op, body, len);
        return;
    }
    switch (op->kind) {
    case OKOF__OP_GET:
    case OKOF__OP_TTL:
        rc = got(op, body, len);
        break;
    case OKOF__OP_PUT:
        rc = okof__ep_put_reply(body, len);
        break;
    case OKOF__OP_ADD:
        rc = added(op, body, len);
        break;
    case OKOF__OP_DEL:
        rc = deleted(op, body, len);
        break;
    case OKOF__OP_PUTS:
        if ((rc = okof__ep_txn_reply(body, len, &ok)) == 0)
            op->done += op->batch;
        if (rc == 0 && op->done < op->n) {
            op->tries = 0; /* the next transaction, within the same time */
            op->timed_out = op->unavailable = 0;
            return;
        }
        break;
    default:
        rc = okof__iter_reply(op->it, body, len);
    }
    op->rc = rc;
}

/* A write refused because the cluster no longer has its lease: once, a
 * new lease and the write again. 1 when so. */
static int regrant(okof__eop *op, int rc, const char *text)
{
    const char *path = NULL;
    char *body;
    if (rc == 0 || op->lease == 0 || op->regranted || op->granting ||
        strstr(text, "lease not found") == NULL)
        return 0;
    okof__lease_drop(op->h, op->lease);
    op->regranted = 1;
    free(op->body);
    body = first_write(op, &path);
    again(op, path, body);
    if (op->kind == OKOF__OP_PUTS && !op->granting)
        op->path = OKOF__EP_TXN;
    if (op->granting && body == NULL)
        op->rc = -ENOMEM;
    return 1;
}

void okof__eop_done(okof__eop *op, enum okof__outcome outcome, long status,
                    const unsigned char *body, size_t len, const char *said)
{
    okof_etcd_t *h = op->h;
    size_t i = (h->cur + op->tries) % h->nmembers;
    char text[OKOF__ETCD_MSG];
    enum okof__ep_next next = OKOF__EP_DONE;
    int rc = 0;
    if (op->rc != OKOF__OP_BUSY)
        return;
    if (outcome == OKOF__ANSWERED) {
        rc = okof__ep_status(status, body, len, &next, text, sizeof text);
        if (next == OKOF__EP_DONE)
            h->msg[0] = '\0'; /* an answer: what others said is moot */
        if (rc != 0)
            note(h, h->members[i], text);
        if (next == OKOF__EP_DONE) {
            h->cur = i;
            if (regrant(op, rc, text))
                return;
            if (rc != 0)
                finish(op, rc);
            else
                interpret(op, body, len);
            return;
        }
        outcome = next == OKOF__EP_MAYBE ? OKOF__TIMED_OUT : OKOF__REFUSED;
        op->unavailable |= next == OKOF__EP_OTHER;
    } else {
        note(h, h->members[i], said != NULL ? said : "failed");
    }
    op->timed_out |= outcome == OKOF__TIMED_OUT || outcome == OKOF__LOST;
    op->tries++;
    /* An add that may have been applied is not sent again: of two
     * attempts, the second could see the first's value. */
    if (op->kind == OKOF__OP_ADD && !op->granting && (outcome == OKOF__TIMED_OUT || outcome == OKOF__LOST))
        finish(op, -ETIMEDOUT);
}
