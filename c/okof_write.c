/* okof_write.c -- put, add and put_many: the order of operations that
 * makes a write atomic and durable. A value is written to a temporary
 * file in the store's directory (made durable with OKOF_SYNC), which is
 * then renamed over the key's file (put) or linked to its name (add);
 * with OKOF_SYNC the directory is made durable last. A durable batch
 * flushes its files with one syncfs(2) where Linux has it. */
#include <errno.h>
#include <stdlib.h>

#include "okof.h"
#include "okof_frame.h"
#include "okof_int.h"
#include "okof_io.h"
#include "okof_key.h"
#include "okof_ttl.h"

/* How many taken temporary names a write tries before giving up. */
#define TMP_TRIES 64

static int sink_fd(void *ud, struct iovec *iov, int iovcnt)
{
    return okof__io_writev(*(int *)ud, iov, iovcnt);
}

/* The compression buffer, when this value will need it. */
static int need_scratch(okof_t *db, size_t vlen)
{
    if (vlen < db->compress_min || db->scratch != NULL)
        return 0;
    db->scratch = malloc(okof__frame_scratch_size());
    return db->scratch ? 0 : -ENOMEM;
}

/* Create a temporary file under a name no other writer uses. */
static int create_tmp(okof_t *db, char *tmp)
{
    long pid = okof__io_pid();
    int i, fd = -EEXIST;
    for (i = 0; i < TMP_TRIES && fd == -EEXIST; i++) {
        okof__tmp_name(tmp, pid, db->serial++);
        fd = okof__io_create(db->dfd, tmp);
    }
    return fd;
}

/* Write the value file, fsync it when durable is set; closes fd. */
static int fill_tmp(okof_t *db, int fd, const void *val, size_t vlen,
                    uint64_t expiry, int durable)
{
    int rc = okof__frame_encode(val, vlen, expiry, db->compress_min,
                                db->scratch, sink_fd, &fd);
    int crc;
    if (rc == 0 && durable)
        rc = okof__io_fsync(fd);
    crc = okof__io_close(fd);
    return rc ? rc : crc;
}

/* A complete temporary file holding val (expiring at expiry, 0: never),
 * named in tmp, fsynced when durable is set; on failure none is left. */
static int write_tmp(okof_t *db, const void *val, size_t vlen,
                     uint64_t expiry, char *tmp, int durable)
{
    int rc = need_scratch(db, vlen), fd;
    if (rc)
        return rc;
    if ((fd = create_tmp(db, tmp)) < 0)
        return fd;
    rc = fill_tmp(db, fd, val, vlen, expiry, durable);
    if (rc)
        okof__io_unlink(db->dfd, tmp);
    return rc;
}

static int sync_dir(okof_t *db)
{
    return (db->flags & OKOF_SYNC) ? okof__io_fsync_dir(db->dfd) : 0;
}

int okof_put(okof_t *db, const void *key, size_t klen, const void *val,
             size_t vlen)
{
    return okof_put_ttl(db, key, klen, val, vlen, 0);
}

int okof_put_ttl(okof_t *db, const void *key, size_t klen, const void *val,
                 size_t vlen, int64_t ttl_ms)
{
    char name[OKOF__NAME_BUF], tmp[OKOF__NAME_BUF];
    uint64_t expiry;
    int rc = okof__key_encode(key, klen, name);
    if (rc < 0)
        return rc;
    if ((rc = okof__ttl_expiry(ttl_ms, &expiry)) != 0)
        return rc;
    if ((rc = write_tmp(db, val, vlen, expiry, tmp,
                        (db->flags & OKOF_SYNC) != 0)))
        return rc;
    if ((rc = okof__io_rename(db->dfd, tmp, name)) != 0) {
        okof__io_unlink(db->dfd, tmp);
        return rc;
    }
    return sync_dir(db);
}

int okof_add(okof_t *db, const void *key, size_t klen, const void *val,
             size_t vlen)
{
    return okof_add_ttl(db, key, klen, val, vlen, 0);
}

/* The new file gets the key's name only if no file has it: link(2) never
 * replaces, so of several writers adding one key exactly one succeeds. An
 * expired value is removed first, under the store's lock (okof_ttl.c). */
int okof_add_ttl(okof_t *db, const void *key, size_t klen, const void *val,
                 size_t vlen, int64_t ttl_ms)
{
    char name[OKOF__NAME_BUF], tmp[OKOF__NAME_BUF];
    uint64_t expiry;
    int rc = okof__key_encode(key, klen, name), urc;
    if (rc < 0)
        return rc;
    if ((rc = okof__ttl_expiry(ttl_ms, &expiry)) != 0)
        return rc;
    if ((rc = write_tmp(db, val, vlen, expiry, tmp,
                        (db->flags & OKOF_SYNC) != 0)))
        return rc;
    rc = okof__ttl_link(db, tmp, name, ttl_ms);
    urc = okof__io_unlink(db->dfd, tmp);
    if (rc)
        return rc == -EEXIST ? OKOF_EXISTS : rc;
    return urc ? urc : sync_dir(db);
}

/* ---- put_many ----------------------------------------------------------- */

/* The temporary file of each item, as the serial in its name: the names
 * themselves are made again when needed (a batch may be large). */
struct batch {
    long pid;
    uint64_t expiry; /* of every value; 0: never */
    unsigned long *serials;
};

static void tmp_of(const struct batch *b, size_t i, char *tmp)
{
    okof__tmp_name(tmp, b->pid, b->serials[i]);
}

static int check_keys(const okof_kv *items, size_t n)
{
    char name[OKOF__NAME_BUF];
    size_t i;
    for (i = 0; i < n; i++) {
        int rc = okof__key_encode(items[i].key, items[i].klen, name);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static void unlink_tmps(okof_t *db, const struct batch *b, size_t from,
                        size_t to)
{
    char tmp[OKOF__NAME_BUF];
    for (; from < to; from++) {
        tmp_of(b, from, tmp);
        okof__io_unlink(db->dfd, tmp);
    }
}

/* Every value to its temporary file, each fsynced when durable is set;
 * on failure, none is left. */
static int write_all(okof_t *db, const okof_kv *items, size_t n,
                     struct batch *b, int durable)
{
    char tmp[OKOF__NAME_BUF];
    size_t i;
    for (i = 0; i < n; i++) {
        int rc = write_tmp(db, items[i].val, items[i].vlen, b->expiry, tmp,
                           durable);
        if (rc) {
            unlink_tmps(db, b, 0, i);
            return rc;
        }
        b->serials[i] = db->serial - 1; /* the name create_tmp took */
    }
    return 0;
}

/* Rename each over its key; on failure the rest are removed. */
static int rename_all(okof_t *db, const okof_kv *items, size_t n,
                      const struct batch *b, size_t *written)
{
    char name[OKOF__NAME_BUF], tmp[OKOF__NAME_BUF];
    size_t i;
    for (i = 0; i < n; i++) {
        int rc;
        okof__key_encode(items[i].key, items[i].klen, name);
        tmp_of(b, i, tmp);
        if ((rc = okof__io_rename(db->dfd, tmp, name)) != 0) {
            unlink_tmps(db, b, i, n);
            return rc;
        }
        *written = i + 1;
    }
    return 0;
}

/* Make the batch's temporary files durable with one flush of the file
 * system instead of an fsync each; -ENOSYS where that cannot be done. */
static int sync_batch(okof_t *db, size_t n, const struct batch *b)
{
    int rc = okof__io_syncfs(db->dfd);
    if (rc && rc != -ENOSYS)
        unlink_tmps(db, b, 0, n);
    return rc;
}

/* A durable batch of several files is flushed once (sync_batch); where
 * the system cannot, or for one file, each file is fsynced. */
static int write_durably(okof_t *db, const okof_kv *items, size_t n,
                         struct batch *b)
{
    int rc;
    if (!(db->flags & OKOF_SYNC))
        return write_all(db, items, n, b, 0);
    if (n == 1)
        return write_all(db, items, n, b, 1);
    rc = write_all(db, items, n, b, 0);
    if (rc == 0)
        rc = sync_batch(db, n, b);
    if (rc == -ENOSYS) { /* no syncfs: start again, an fsync each */
        unlink_tmps(db, b, 0, n);
        rc = write_all(db, items, n, b, 1);
    }
    return rc;
}

int okof_put_many(okof_t *db, const okof_kv *items, size_t n, size_t *written)
{
    return okof_put_many_ttl(db, items, n, 0, written);
}

int okof_put_many_ttl(okof_t *db, const okof_kv *items, size_t n,
                      int64_t ttl_ms, size_t *written)
{
    struct batch b;
    size_t done = 0;
    int rc = check_keys(items, n);
    if (written)
        *written = 0;
    if (rc == 0)
        rc = okof__ttl_expiry(ttl_ms, &b.expiry);
    if (rc || n == 0)
        return rc;
    b.pid = okof__io_pid();
    b.serials = malloc(n * sizeof *b.serials);
    if (b.serials == NULL)
        return -ENOMEM;
    rc = write_durably(db, items, n, &b);
    if (rc == 0)
        rc = rename_all(db, items, n, &b, &done);
    if (rc == 0)
        rc = sync_dir(db);
    free(b.serials);
    if (written)
        *written = done;
    return rc;
}
