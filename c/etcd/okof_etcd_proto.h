/*
 * okof_etcd_proto.h -- etcd's JSON gateway (v3.4: POST /v3/kv/range, put,
 * deleterange, txn) without I/O: request bodies are built from keys and
 * value bytes, replies (HTTP status + body) are turned into results or
 * okofdb's codes. Keys and values travel in base64, int64 fields as
 * strings, and the gateway leaves out fields holding their zero value.
 * The blocking libcurl transport and OpenResty's cosockets both send what
 * is built here.
 */
#ifndef OKOF_ETCD_PROTO_H
#define OKOF_ETCD_PROTO_H

#include <stddef.h>

/* The gateway's paths. */
#define OKOF__EP_RANGE "/v3/kv/range"
#define OKOF__EP_PUT "/v3/kv/put"
#define OKOF__EP_DELETE "/v3/kv/deleterange"
#define OKOF__EP_TXN "/v3/kv/txn"
#define OKOF__EP_GRANT "/v3/lease/grant"

/* The longest lease etcd grants, in seconds. */
#define OKOF__EP_LEASE_MAX 9000000000LL

/* A growable byte buffer (a request body, a reply, an encoded value). */
typedef struct okof__ebuf {
    unsigned char *p;
    size_t n, cap;
} okof__ebuf;

/* Append len bytes; 0 or -ENOMEM. */
int okof__ebuf_add(okof__ebuf *b, const void *p, size_t len);
void okof__ebuf_free(okof__ebuf *b);

/* One key and value (bytes as stored in etcd) of a request. */
typedef struct okof__ekv {
    const unsigned char *key;
    size_t klen;
    const unsigned char *val;
    size_t vlen;
    long long lease;  /* puts: the lease to attach (0: none) */
} okof__ekv;

/* What a reply says about the request's member, beyond its result. */
enum okof__ep_next {
    OKOF__EP_DONE,   /* an answer: the result is final */
    OKOF__EP_OTHER,  /* this member cannot serve it: try another */
    OKOF__EP_MAYBE   /* it may have been applied (a timeout in the cluster) */
};

/* ---- requests: a malloc'd NUL-terminated JSON body, or NULL (ENOMEM) ---- */

/* A range [key, end) (end NULL: the key alone), at most limit keys
 * (0: all), at revision rev (0: the newest), sorted by key. */
char *okof__ep_range(const okof__ekv *key, const unsigned char *end,
                     size_t elen, long long limit, long long rev,
                     int keys_only);
char *okof__ep_put(const okof__ekv *kv);
/* Deletes the key and asks for the value it had. */
char *okof__ep_delete(const okof__ekv *key);
/* A transaction that puts kv if the key's create revision is 0 (mod_rev
 * 0), or else if its mod revision is mod_rev; when the compare fails it
 * reads the key's value instead (okof__ep_add_reply). */
char *okof__ep_add(const okof__ekv *kv, long long mod_rev);
/* A lease of ttl_s seconds. */
char *okof__ep_grant(long long ttl_s);
/* A transaction of n puts. */
char *okof__ep_puts(const okof__ekv *kvs, size_t n);

/* The bytes a put of this key and value counts for against the cluster's
 * --max-request-bytes (its protobuf size, rounded up). */
size_t okof__ep_put_cost(size_t klen, size_t vlen);
/* The bytes of a request beyond its puts. */
#define OKOF__EP_REQUEST_BASE 64

/* The end of the range of keys starting with prefix, as etcd's clients
 * compute it: the prefix with its last byte below 0xff incremented and
 * what follows dropped; a single 0 byte when every byte is 0xff. end has
 * room for plen bytes (at least 1); returns the end's length. */
size_t okof__ep_prefix_end(const unsigned char *prefix, size_t plen,
                           unsigned char *end);

/* ---- replies ------------------------------------------------------------ */

/*
 * The status of a reply: 0 for an answer to interpret, else a code
 * (OKOF_EUNAVAILABLE, -E2BIG, -EPROTO, -ETIMEDOUT, OKOF_ECOMPACTED); *next
 * says whether another member may do better. The gateway's own words go to
 * msg (msgcap bytes, NUL-terminated).
 */
int okof__ep_status(long status, const unsigned char *body, size_t len,
                    enum okof__ep_next *next, char *msg, size_t msgcap);

/* The key and value of a range's reply, decoded. */
typedef struct okof__erange {
    okof__ebuf *kvs;   /* 2 * n buffers: key, value (each NUL-padded) */
    size_t n;
    int more;          /* more keys in the range than the limit */
    long long rev;     /* the revision the range was read at */
} okof__erange;

/* Interpret a range's reply body; 0, -EPROTO or -ENOMEM. */
int okof__ep_range_reply(const unsigned char *body, size_t len,
                         okof__erange *r);
void okof__ep_range_free(okof__erange *r);
/* deleterange: *deleted is how many keys it removed, prev the value the
 * key had (left empty when the reply has none). */
int okof__ep_delete_reply(const unsigned char *body, size_t len,
                          long long *deleted, okof__ebuf *prev);
/* add's txn: *succeeded; when it failed, cur is the key's value and
 * *mod_rev its mod revision (0 and empty: no value). */
int okof__ep_add_reply(const unsigned char *body, size_t len, int *succeeded,
                       okof__ebuf *cur, long long *mod_rev);
/* lease grant: the lease's id and the seconds it was granted for. */
int okof__ep_grant_reply(const unsigned char *body, size_t len, long long *id,
                         long long *ttl_s);
/* txn: *succeeded is whether its compares held. */
int okof__ep_txn_reply(const unsigned char *body, size_t len, int *succeeded);
/* put: only checks it is a reply. */
int okof__ep_put_reply(const unsigned char *body, size_t len);

#endif
