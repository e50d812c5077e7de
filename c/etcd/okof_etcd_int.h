/* okof_etcd_int.h -- what the files of the etcd store share: the handle's
 * layout, the operations (okof_etcd_op.c) that say which request to send
 * to which member and what the answers mean, and the blocking transport
 * (okof_etcd_curl.c) that carries them. OpenResty's cosockets carry the
 * same operations from Lua (lua_etcd.c, lua/okofdb/etcd_ngx.lua). */
#ifndef OKOF_ETCD_INT_H
#define OKOF_ETCD_INT_H

#include <stddef.h>
#include <stdint.h>

#include "okof_etcd.h"
#include "okof_etcd_proto.h"

#define OKOF__ETCD_MSG 256

/* Leases a handle keeps for values with a ttl. */
#define OKOF__ETCD_LEASES 8

/* A lease granted to the handle: the cluster removes its keys at the
 * latest some time after expiry (ms since the Unix epoch: when it was
 * asked for, plus the seconds granted). */
typedef struct okof__elease {
    long long id;       /* 0: a free slot */
    uint64_t expiry;
} okof__elease;

/* The blocking transport: one connection kept alive. */
typedef struct okof__etx okof__etx;

struct okof_etcd {
    okof__etx *tx;           /* made on first use */
    okof_etcd_opts o;
    unsigned char *scratch;  /* compression buffer, made on first need */
    unsigned char *prefix;   /* "/PATH/": every etcd key starts with it */
    size_t plen;
    char **members;          /* "HOST:PORT" each */
    size_t nmembers, cur;    /* cur: the last member that answered */
    okof__elease leases[OKOF__ETCD_LEASES]; /* by expiry bucket */
    char msg[OKOF__ETCD_MSG]; /* the last failure's detail */
    char url[1];              /* as given, NUL-terminated */
};

/* ---- operations: sans-I/O ------------------------------------------------ */

enum okof__op_kind {
    OKOF__OP_GET, OKOF__OP_PUT, OKOF__OP_ADD, OKOF__OP_DEL, OKOF__OP_PUTS,
    OKOF__OP_PAGE, OKOF__OP_TTL
};

/* What one attempt on one member came to. */
enum okof__outcome {
    OKOF__ANSWERED,  /* an HTTP reply: status and body */
    OKOF__REFUSED,   /* no connection: the request was not sent */
    OKOF__TIMED_OUT, /* its share of the time passed */
    OKOF__LOST       /* the connection broke: it may have been applied */
};

/* The result of an operation still running. */
#define OKOF__OP_BUSY 1

/* An operation: one or more requests (put_many's transactions), each
 * tried on the members in turn, from the last that answered, within the
 * handle's timeout. */
typedef struct okof__eop {
    okof_etcd_t *h;
    int kind;
    int rc;                 /* OKOF__OP_BUSY, then the result */
    /* the request being tried */
    const char *path;
    char *body;             /* NULL: the next request is still to make */
    size_t tries;           /* members tried */
    double deadline;        /* 0 before its first attempt */
    int timed_out, unavailable;
    /* get, put, add, del */
    okof__ebuf key, val;    /* etcd key; encoded value */
    okof__erange range;     /* get: the reply, holding the value */
    unsigned char *out;     /* get: the value (in range or fresh) */
    size_t olen;
    int fresh;              /* out is its own allocation */
    okof__ekv kv;           /* put, add: key and value bytes, lease */
    /* values with a ttl */
    uint64_t expiry;        /* put, add, put_many: the values' (0: none);
                               get, ttl: the value read's */
    int64_t ttl_ms;
    long long lease;        /* the lease the values are put with (0: none) */
    int granting;           /* the request is a lease grant */
    int regranted;          /* a lease the cluster had lost was replaced */
    uint64_t asked_at;      /* the wall clock when the grant was made */
    int rounds;             /* add: transactions over expired values */
    okof__ebuf cur;         /* add, del: the value the key had */
    /* put_many */
    okof__ebuf *bufs;
    okof__ekv *kvs;
    size_t n, done, batch;  /* items; committed; in the transaction sent */
    /* a walk's page */
    okof_etcd_iter_t *it;
} okof__eop;

/* Start an operation. The result is in op->rc when it fails at once (bad
 * key, too big, no memory): then okof__eop_next returns 0. */
/* get, and ttl (ttl set): the value's expiry is left in op->expiry; an
 * expired value is OKOF_NOTFOUND. */
void okof__eop_get(okof__eop *op, okof_etcd_t *h, const void *key, size_t klen,
                   int ttl);
/* put and add of a value that expires ttl_ms from now (0: never). */
void okof__eop_put(okof__eop *op, okof_etcd_t *h, const void *key, size_t klen,
                   const void *val, size_t vlen, int add, int64_t ttl_ms);
void okof__eop_del(okof__eop *op, okof_etcd_t *h, const void *key, size_t klen);
void okof__eop_puts(okof__eop *op, okof_etcd_t *h, const okof_kv *items,
                    size_t n, int64_t ttl_ms);
void okof__eop_page(okof__eop *op, okof_etcd_iter_t *it);

/*
 * The next attempt, at time now (a monotonic clock, in seconds): returns
 * 1 with the member ("HOST:PORT"), the path, the body and the
 * milliseconds it may take; 0 when the operation is over (op->rc).
 */
int okof__eop_next(okof__eop *op, double now, const char **member,
                   const char **path, const char **body, long *ms);

/* The outcome of the attempt okof__eop_next asked for; for an answer its
 * HTTP status and body; said: the transport's words on a failure. */
void okof__eop_done(okof__eop *op, enum okof__outcome outcome, long status,
                    const unsigned char *body, size_t len, const char *said);

void okof__eop_free(okof__eop *op);

/* ---- leases (okof_etcd_lease.c) ----------------------------------------- */

/* A lease of the handle that ends at or after expiry, within the slack
 * of ttl_ms; 0 when none fits. */
long long okof__lease_find(const okof_etcd_t *h, uint64_t expiry, int64_t ttl_ms);
/* The seconds to ask for a lease for a value expiring at expiry, ttl_ms
 * after now (ms since the Unix epoch). */
long long okof__lease_seconds(uint64_t expiry, int64_t ttl_ms, uint64_t now);
/* Remember a lease granted at asked_at for ttl_s seconds. */
void okof__lease_keep(okof_etcd_t *h, long long id, uint64_t asked_at,
                      long long ttl_s);
/* Forget a lease (the cluster no longer has it). */
void okof__lease_drop(okof_etcd_t *h, long long id);

/* ---- the blocking transport ---------------------------------------------- */

/* Run op to its end with libcurl; returns op->rc. */
int okof__etcd_run(okof__eop *op);
void okof__etx_close(okof__etx *t);

/* ---- shared steps -------------------------------------------------------- */

/* The etcd key of key: prefix + key, into b. 0 or -ENOMEM. */
int okof__etcd_key(const okof_etcd_t *h, const void *key, size_t klen,
                   okof__ebuf *b);

/* Verify and decode stored bytes s (s->n bytes, one spare byte after):
 * *val is s->p itself or a new buffer (then *fresh is 1). */
int okof__etcd_decode(okof__ebuf *s, unsigned char **val, size_t *vlen,
                      int *fresh);

/* The encoded bytes of the value file of val expiring at expiry (ms since
 * the Unix epoch, 0: never), into b. */
int okof__etcd_encode(okof_etcd_t *h, const void *val, size_t vlen,
                      uint64_t expiry, okof__ebuf *b);

/* The ms left before expiry (-1: 0, never); OKOF_NOTFOUND once passed. */
int okof__etcd_ms_left(uint64_t expiry, int64_t *ms_left);

/* Has the value whose stored bytes are s[0..n) expired by its header? */
int okof__etcd_expired(const unsigned char *s, size_t n);

/* Walks: the request of the next page, and its reply. */
char *okof__iter_request(okof_etcd_iter_t *it);
int okof__iter_reply(okof_etcd_iter_t *it, const unsigned char *body,
                     size_t len);
/* The next key of the walk without I/O: 0, OKOF_NOTFOUND (the walk is
 * over), OKOF__NEED_PAGE (send okof__eop_page first), or an error. */
#define OKOF__NEED_PAGE 2
int okof__iter_take(okof_etcd_iter_t *it, const char **key, size_t *klen,
                    const void **val, size_t *vlen, int *vrc);
okof_etcd_t *okof__iter_handle(const okof_etcd_iter_t *it);

#endif
