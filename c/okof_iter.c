/* okof_iter.c -- the walk over a store's keys. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "okof.h"
#include "okof_int.h"
#include "okof_io.h"
#include "okof_key.h"

struct okof_iter {
    okof__dir *dir;
    size_t plen;
    unsigned char key[OKOF__NAME_BUF]; /* the current key, NUL-terminated */
    unsigned char prefix[];            /* plen bytes */
};

int okof_iter_open(okof_t *db, const void *prefix, size_t plen,
                   okof_iter_t **itp)
{
    okof_iter_t *it = malloc(sizeof *it + plen);
    int rc;
    if (it == NULL)
        return -ENOMEM;
    rc = okof__io_dir_open(db->dfd, &it->dir);
    if (rc) {
        free(it);
        return rc;
    }
    it->plen = plen;
    if (plen)
        memcpy(it->prefix, prefix, plen);
    *itp = it;
    return 0;
}

/* Decode name into it->key if it is a key that starts with the prefix. */
static int take(okof_iter_t *it, const char *name, size_t *klen)
{
    int n;
    if (strlen(name) > OKOF__NAME_MAX)
        return 0;
    n = okof__key_decode(name, it->key);
    if (n < 0 || (size_t)n < it->plen ||
        memcmp(it->key, it->prefix, it->plen) != 0)
        return 0;
    it->key[n] = '\0';
    *klen = (size_t)n;
    return 1;
}

int okof_iter_next(okof_iter_t *it, const char **key, size_t *klen)
{
    const char *name;
    int rc;
    while ((rc = okof__io_dir_next(it->dir, &name)) == 1) {
        if (name[0] != '.' && take(it, name, klen)) {
            *key = (const char *)it->key;
            return 0;
        }
    }
    return rc == 0 ? OKOF_NOTFOUND : rc;
}

void okof_iter_close(okof_iter_t *it)
{
    if (it == NULL)
        return;
    okof__io_dir_close(it->dir);
    free(it);
}
