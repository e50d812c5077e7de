/*
 * etcd_example.c -- a tour of the C API of stores on etcd (okof_etcd.h).
 *
 *   cc -Ic -Ic/etcd examples/c/etcd_example.c c/etcd/okof_etcd*.c c/okof*.c \
 *      -lcurl -lcjson -lsnappy -o build/etcd_example
 *   build/etcd_example etcd://127.0.0.1:2379/example
 *
 * Opens the store at the URL given as the only argument, writes a few keys
 * (one batch in a transaction), claims a key with add, walks the keys and
 * values in byte order, deletes one, and shows how failures are reported:
 * every call returns 0 or a code that okof_strerror() and okof_errname()
 * name, and okof_etcd_errmsg() tells what the members said.
 */
#include <stdio.h>
#include <string.h>

#include "okof_etcd.h"

static int report(okof_etcd_t *h, const char *what, int rc)
{
    if (rc != 0)
        fprintf(stderr, "etcd_example: %s: %s (%s) %s\n", what,
                okof_strerror(rc), okof_errname(rc), h ? okof_etcd_errmsg(h) : "");
    return rc;
}

/* Print every key under prefix with its value. */
static int list(okof_etcd_t *h, const char *prefix)
{
    okof_etcd_iter_t *it = NULL;
    const char *key;
    const void *val;
    size_t klen, vlen;
    int vrc, rc = okof_etcd_iter_open(h, prefix, strlen(prefix), 1, &it);
    while (rc == 0 && (rc = okof_etcd_iter_next(it, &key, &klen, &val, &vlen, &vrc)) == 0) {
        if (vrc != 0)
            printf("  %.*s: %s\n", (int)klen, key, okof_strerror(vrc));
        else
            printf("  %.*s = %.*s\n", (int)klen, key, (int)vlen, (const char *)val);
    }
    okof_etcd_iter_close(it);
    return rc == OKOF_NOTFOUND ? 0 : report(h, "walk", rc);
}

int main(int argc, char **argv)
{
    okof_kv batch[2] = {{"user.ada", 8, "Ada", 3}, {"user.bob", 8, "Bob", 3}};
    okof_etcd_opts o;
    okof_etcd_t *h = NULL;
    void *val = NULL;
    size_t vlen = 0, written = 0;
    int rc;
    if (argc != 2) {
        fprintf(stderr, "usage: etcd_example etcd://HOST:PORT[,HOST:PORT...]/PATH\n");
        return 2;
    }
    okof_etcd_opts_init(&o);
    o.timeout = 2.0; /* seconds a call may take, failover included */
    if (report(NULL, "open", okof_etcd_open(&h, argv[1], &o)))
        return 1;
    if (report(h, "put", okof_etcd_put(h, "theme", 5, "dark", 4)) ||
        report(h, "put_many", okof_etcd_put_many(h, batch, 2, &written)))
        goto fail;
    rc = okof_etcd_add(h, "leader", 6, "example", 7);
    printf("add leader: %s\n", rc == 0 ? "won" : rc == OKOF_EXISTS ? "taken" : okof_strerror(rc));
    if (report(h, "get", okof_etcd_get(h, "theme", 5, &val, &vlen)))
        goto fail;
    printf("theme = %.*s\n", (int)vlen, (const char *)val);
    okof_free(val);
    printf("users:\n");
    if (list(h, "user."))
        goto fail;
    rc = okof_etcd_del(h, "user.bob", 8);
    printf("del user.bob: %s\n", rc == 0 ? "removed" : okof_strerror(rc));
    okof_etcd_close(h);
    return 0;
fail:
    okof_etcd_close(h);
    return 1;
}
