/* okof_etcd_op.c -- the operations of the etcd store without I/O
 * (okof_etcd_int.h): which request goes to which member within what time,
 * failover from member to member, and what the answers mean. A transport
 * (libcurl, OpenResty's cosockets) only makes the attempts it is asked
 * for, so every transport ends in the same results and codes. */
#include "okof_etcd_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

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

void okof__eop_get(okof__eop *op, okof_etcd_t *h, const void *key, size_t klen)
{
    okof__ekv kv = {0};
    int rc;
    start(op, h, OKOF__OP_GET);
    rc = take_key(op, key, klen, &kv);
    first(op, rc, OKOF__EP_RANGE, rc ? NULL : okof__ep_range(&kv, NULL, 0, 0, 0, 0));
}

void okof__eop_put(okof__eop *op, okof_etcd_t *h, const void *key, size_t klen,
                   const void *val, size_t vlen, int add)
{
    okof__ekv kv = {0};
    int rc;
    start(op, h, add ? OKOF__OP_ADD : OKOF__OP_PUT);
    rc = take_key(op, key, klen, &kv);
    if (rc == 0)
        rc = okof__etcd_encode(h, val, vlen, &op->val);
    if (rc == 0 && !fits(h, okof__ep_put_cost(op->key.n, op->val.n)))
        rc = -E2BIG;
    kv.val = op->val.p;
    kv.vlen = op->val.n;
    if (add)
        first(op, rc, OKOF__EP_TXN, rc ? NULL : okof__ep_add(&kv));
    else
        first(op, rc, OKOF__EP_PUT, rc ? NULL : okof__ep_put(&kv));
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
            (rc = okof__etcd_encode(op->h, items[i].val, items[i].vlen, v)) != 0)
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
                    size_t n)
{
    int rc;
    start(op, h, OKOF__OP_PUTS);
    op->n = n;
    op->bufs = (okof__ebuf *)calloc(2 * n + 1, sizeof *op->bufs);
    op->kvs = (okof__ekv *)calloc(n + 1, sizeof *op->kvs);
    rc = op->bufs && op->kvs ? prepare(op, items, n) : -ENOMEM;
    if (rc == 0 && n == 0)
        op->rc = 0;
    else if (rc != 0)
        op->rc = rc;
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

/* The answer of a cluster to the op's request: its result, or the next
 * request (put_many). */
static void interpret(okof__eop *op, const unsigned char *body, size_t len)
{
    long long deleted = 0;
    int rc = 0, ok = 0;
    free(op->body);
    op->body = NULL;
    switch (op->kind) {
    case OKOF__OP_GET:
        rc = okof__ep_range_reply(body, len, &op->range);
        if (rc == 0 && op->range.n == 0)
            rc = OKOF_NOTFOUND;
        if (rc == 0)
            rc = okof__etcd_decode(&op->range.kvs[1], &op->out, &op->olen, &op->fresh);
        break;
    case OKOF__OP_PUT:
        rc = okof__ep_put_reply(body, len);
        break;
    case OKOF__OP_ADD:
        if ((rc = okof__ep_txn_reply(body, len, &ok)) == 0 && !ok)
            rc = OKOF_EXISTS;
        break;
    case OKOF__OP_DEL:
        if ((rc = okof__ep_delete_reply(body, len, &deleted)) == 0 && deleted == 0)
            /* none left: but an attempt that timed out may have removed it */
            rc = op->timed_out ? -ETIMEDOUT : OKOF_NOTFOUND;
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
    if (op->kind == OKOF__OP_ADD && (outcome == OKOF__TIMED_OUT || outcome == OKOF__LOST))
        finish(op, -ETIMEDOUT);
}
