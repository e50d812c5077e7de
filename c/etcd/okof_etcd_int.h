/* okof_etcd_int.h -- what the files of the etcd store share: the handle's
 * layout and the transport (okof_etcd_curl.c) that carries the requests
 * okof_etcd_proto.c builds. */
#ifndef OKOF_ETCD_INT_H
#define OKOF_ETCD_INT_H

#include <stddef.h>

#include "okof_etcd.h"
#include "okof_etcd_proto.h"

/* The blocking transport: the members, and a connection to one of them. */
typedef struct okof__etx okof__etx;

/* members: n "HOST:PORT" strings (copied). 0 or -ENOMEM. */
int okof__etx_open(okof__etx **tp, const char *const *members, size_t n);
void okof__etx_close(okof__etx *t);

/* How a request may be sent again to another member after a timeout. */
enum { OKOF__ETX_ONCE = 0, OKOF__ETX_IDEMPOTENT = 1 };

/*
 * POST body to path, trying the members in turn from the last that
 * answered, within timeout seconds in all. Returns 0 with the reply's body
 * in *reply (an answer of the cluster), or a code: -ECONNREFUSED,
 * -ETIMEDOUT, OKOF_EUNAVAILABLE, or what okof__ep_status made of a reply.
 * A request sent OKOF__ETX_ONCE is not sent again after a timeout or a
 * reply saying it may have been applied. What went wrong goes to msg.
 */
int okof__etx_call(okof__etx *t, const char *path, const char *body,
                   int retry, double timeout, okof__ebuf *reply, char *msg,
                   size_t msgcap);

#define OKOF__ETCD_MSG 256

struct okof_etcd {
    okof__etx *tx;
    okof_etcd_opts o;
    unsigned char *scratch; /* compression buffer, made on first need */
    unsigned char *prefix;  /* "/PATH/": every etcd key starts with it */
    size_t plen;
    char msg[OKOF__ETCD_MSG]; /* the last failure's detail */
    char url[1];              /* as given, NUL-terminated */
};

/* The etcd key of key: prefix + key, malloc'd into b. 0 or -ENOMEM. */
int okof__etcd_key(const okof_etcd_t *h, const void *key, size_t klen,
                   okof__ebuf *b);

/* POST body (freed here; NULL means out of memory) and give the reply. */
int okof__etcd_call(okof_etcd_t *h, const char *path, char *body, int retry,
                    okof__ebuf *reply);

/* Verify and decode stored bytes s (s->n bytes, one spare byte after):
 * *val is s->p itself or a new buffer (then *fresh is 1). */
int okof__etcd_decode(okof__ebuf *s, unsigned char **val, size_t *vlen,
                      int *fresh);

#endif
