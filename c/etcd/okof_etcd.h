/*
 * okof_etcd.h -- okofdb on an etcd (v3.4 or later) cluster: the same store
 * as okof.h's directories, kept under a key prefix of the cluster, for
 * config and state that many machines share. It speaks to etcd's JSON
 * gateway (POST /v3/kv/...) over plain HTTP with libcurl.
 *
 * Conventions (those of okof.h)
 * -----------------------------
 * - Every fallible call returns an int: 0, a negative errno value, or one
 *   of okofdb's own codes (okof.h's, and OKOF_EUNAVAILABLE, OKOF_ECOMPACTED
 *   there). okof_strerror() and okof_errname() name every one of them.
 * - The codes of the cluster:
 *     -ECONNREFUSED      no member could be reached;
 *     -ETIMEDOUT         the call's timeout passed (for a write, its outcome
 *                        is unknown: it may or may not have been applied);
 *     OKOF_EUNAVAILABLE  members answered, but the cluster has no leader or
 *                        no quorum;
 *     -E2BIG             a request larger than the cluster accepts;
 *     -EPROTO            a reply okofdb does not understand;
 *     OKOF_CORRUPT       a stored value failed verification;
 *     OKOF_ECOMPACTED    a walk's revision was compacted away.
 *   okof_etcd_errmsg() gives the text of the last failure (the member and
 *   what it said).
 * - Keys follow okof.h's rules (okof_key_check); the etcd key of a key KEY
 *   is "/PATH/" followed by KEY's bytes. Values are stored as exactly the
 *   bytes of the value file okof_put would write, and verified on read.
 * - No call takes longer than the handle's timeout, failover included:
 *   the members are tried in turn, starting with the last that answered,
 *   each with a share of the time left.
 * - A handle may be used by one thread at a time; a handle opened before
 *   fork() may be used in the children (each makes its own connection).
 * - Memory returned to the caller is released with okof_free().
 */
#ifndef OKOF_ETCD_H
#define OKOF_ETCD_H

#include <stddef.h>
#include <stdint.h>

#include "okof.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct okof_etcd okof_etcd_t;           /* an open store on etcd */
typedef struct okof_etcd_iter okof_etcd_iter_t; /* a walk over its keys */

/* The options of okof_etcd_open; okof_etcd_opts_init sets the defaults. */
typedef struct okof_etcd_opts {
    size_t compress_min;  /* as okof_open's (OKOF_COMPRESS_MIN_DEFAULT) */
    double timeout;       /* seconds a call may take (5) */
    size_t txn_ops;       /* the cluster's --max-txn-ops (128) */
    size_t request_bytes; /* the cluster's --max-request-bytes (1572864) */
} okof_etcd_opts;

/* okof_etcd_opts_init -- fill *o with the defaults. */
void okof_etcd_opts_init(okof_etcd_opts *o);

/*
 * okof_etcd_open -- a handle on the store at `url`,
 * "etcd://HOST:PORT[,HOST:PORT...]/PATH" (PATH non-empty, without a
 * trailing '/'). Nothing is sent to the cluster: open never fails because
 * a member is down.
 *   hp    receives the handle (untouched on failure).
 *   url   copied; the caller keeps it.
 *   opts  NULL for the defaults.
 * Errors: -EINVAL (a malformed URL or option), -ENOMEM.
 */
int okof_etcd_open(okof_etcd_t **hp, const char *url, const okof_etcd_opts *opts);

/* okof_etcd_close -- release the handle and its connection; NULL is
 * ignored. Walks opened from it must be closed first. */
void okof_etcd_close(okof_etcd_t *h);

/* okof_etcd_url -- the URL as given to okof_etcd_open (owned by h). */
const char *okof_etcd_url(const okof_etcd_t *h);

/* okof_etcd_errmsg -- a text on the last failure of a call on h: which
 * member said what ("" when there is nothing to add). Owned by h, valid
 * until the next call. */
const char *okof_etcd_errmsg(const okof_etcd_t *h);

/*
 * okof_etcd_get -- read the value of `key` with a linearizable read.
 *   *val receives a malloc'd buffer of *vlen bytes (a NUL byte follows
 *        it, not counted), to be freed with okof_free(); NULL on failure.
 * Returns 0, OKOF_NOTFOUND, OKOF_CORRUPT, OKOF_EBADKEY, -ENOMEM and the
 * codes of the cluster.
 */
int okof_etcd_get(okof_etcd_t *h, const void *key, size_t klen, void **val,
                  size_t *vlen);

/*
 * okof_etcd_put -- store `val` under `key`; returns 0 once the cluster
 * has committed it. Errors: OKOF_EBADKEY, -ENOMEM, -E2BIG (the encoded
 * value is larger than request_bytes allows: nothing was sent), the codes
 * of the cluster (-ETIMEDOUT: the outcome is unknown).
 */
int okof_etcd_put(okof_etcd_t *h, const void *key, size_t klen,
                  const void *val, size_t vlen);

/*
 * okof_etcd_add -- store `val` under `key` only if the key has no value:
 * one transaction comparing the key's create revision with 0, so of any
 * number of writers on any machines exactly one succeeds.
 * Returns 0 (stored), OKOF_EXISTS (a value was there), or the errors of
 * okof_etcd_put. After a timeout the request is not sent to another
 * member (its outcome is unknown: -ETIMEDOUT).
 */
int okof_etcd_add(okof_etcd_t *h, const void *key, size_t klen,
                  const void *val, size_t vlen);

/*
 * okof_etcd_del -- remove the value of `key`.
 * Returns 0 (removed), OKOF_NOTFOUND (there was none, or an expired one:
 * it is removed too), OKOF_EBADKEY, or
 * the codes of the cluster. When a member did not answer in time and the
 * next one finds no value, the first may have removed it: -ETIMEDOUT.
 */
int okof_etcd_del(okof_etcd_t *h, const void *key, size_t klen);

/*
 * okof_etcd_put_many -- store n values, in transactions of at most
 * txn_ops items and request_bytes bytes, sent in the order of items: each
 * transaction is atomic, the batch is not. All of them within the
 * handle's timeout.
 *   written  receives how many items, from the first, were committed (n on
 *            success; may be NULL).
 * Errors: OKOF_EBADKEY and -E2BIG (an item alone is too large) before
 * anything is sent, then those of okof_etcd_put.
 */
int okof_etcd_put_many(okof_etcd_t *h, const okof_kv *items, size_t n,
                       size_t *written);

/*
 * Expiry (TTL) -- as okof.h's: a value stored with ttl_ms > 0 expires
 * ttl_ms milliseconds from now; its value header holds the exact expiry,
 * and from then on get, ttl, add, del and walks with values treat it as
 * no value (a walk of keys alone may still list it). The cluster removes
 * it by itself: each such value is attached to an etcd lease that ends at
 * or after its expiry, within 1 s or a tenth of the ttl. Leases are shared
 * by the values of a handle that fit them (a handle keeps a few), so most
 * writes send no extra request; a lease the cluster has lost is replaced
 * once. A ttl_ms of 0 means never (no lease: a put without ttl over a
 * value with one makes it permanent); a negative ttl_ms or one over
 * OKOF_TTL_MAX_MS is -EINVAL, with nothing sent.
 */

/* okof_etcd_put_ttl -- okof_etcd_put of a value expiring ttl_ms from now. */
int okof_etcd_put_ttl(okof_etcd_t *h, const void *key, size_t klen,
                      const void *val, size_t vlen, int64_t ttl_ms);

/*
 * okof_etcd_add_ttl -- okof_etcd_add of a value expiring ttl_ms from now.
 * An expired value counts as none: when the transaction finds one (its
 * lease has not removed it yet), a second transaction puts the new value
 * only if the key's mod revision is still the expired value's, so of any
 * number of writers exactly one succeeds. okof_etcd_add does the same.
 */
int okof_etcd_add_ttl(okof_etcd_t *h, const void *key, size_t klen,
                      const void *val, size_t vlen, int64_t ttl_ms);

/* okof_etcd_put_many_ttl -- okof_etcd_put_many where every value expires
 * ttl_ms from now (one lease for all of them). */
int okof_etcd_put_many_ttl(okof_etcd_t *h, const okof_kv *items, size_t n,
                           int64_t ttl_ms, size_t *written);

/*
 * okof_etcd_ttl -- how long the value of `key` has left, read from the
 * value's header (the lease is only its removal).
 *   ms_left  receives the milliseconds left (at least 1), or -1 when the
 *            value never expires.
 * The value is verified as by okof_etcd_get. Returns 0, OKOF_NOTFOUND (no
 * value, or an expired one), or the errors of okof_etcd_get.
 */
int okof_etcd_ttl(okof_etcd_t *h, const void *key, size_t klen, int64_t *ms_left);

/*
 * okof_etcd_iter_open -- start a walk over the keys that begin with
 * `prefix` (plen bytes; 0 for every key), in byte order, read in pages all
 * at the revision of the first: the walk sees one snapshot. With
 * `values`, each key comes with its value. Sends nothing yet.
 * Errors: -ENOMEM.
 */
int okof_etcd_iter_open(okof_etcd_t *h, const void *prefix, size_t plen,
                        int values, okof_etcd_iter_t **itp);

/*
 * okof_etcd_iter_next -- the next key. *key points to klen bytes (then a
 * NUL) owned by the walk, valid until the next call on it. With values,
 * *val and *vlen are the verified value (owned by the walk, likewise) and
 * *vrc is 0, or OKOF_CORRUPT when the stored value failed verification
 * (*val is then NULL); val, vlen and vrc may be NULL for a walk without
 * values.
 * Returns 0 (a key), OKOF_NOTFOUND (the walk is over), or a code of the
 * cluster (OKOF_ECOMPACTED: the snapshot's revision was compacted): the
 * walk cannot go on.
 */
int okof_etcd_iter_next(okof_etcd_iter_t *it, const char **key, size_t *klen,
                        const void **val, size_t *vlen, int *vrc);

/* okof_etcd_iter_close -- end a walk; NULL is ignored. */
void okof_etcd_iter_close(okof_etcd_iter_t *it);

#ifdef __cplusplus
}
#endif

#endif /* OKOF_ETCD_H */
