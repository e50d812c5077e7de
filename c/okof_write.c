/* okof_write.c -- put, add and put_many: the order of operations that
 * makes a write atomic and durable. A value is written to a temporary
 * file in the store's directory (made durable with OKOF_SYNC), which is
 * then renamed over the key's file (put) or linked to its name (add);
 * with OKOF_SYNC the directory is made durable last. A durable batch
 * starts the write-back of all its files before it fsyncs each, so that
 * the flushes overlap, and makes the directory durable once. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "okof.h"
#include "okof_frame.h"
#include "okof_int.h"
#include "okof_io.h"
#include "okof_key.h"
#include "okof_ttl.h"

/* How many taken temporary names a write tries before giving up: each
 * try draws a new name of 128 random bits, so that a second try is
 * already needed only by a name someone foresaw. */
#define TMP_TRIES 16

/* How many files of a durable batch are flushed together. */
#define SYNC_GROUP 64

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

int okof__tmp_create(okof_t *db, char *tmp)
{
    unsigned char rnd[OKOF__TMP_RANDOM];
    int i, fd = -EEXIST;
    for (i = 0; i < TMP_TRIES && fd == -EEXIST; i++) {
        if ((fd = okof__io_random(rnd, sizeof rnd)) != 0)
            return fd;
        okof__tmp_name(tmp, rnd);
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
    if ((fd = okof__tmp_create(db, tmp)) < 0)
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
    if (rc && rc != -EEXIST)
        return rc;
    if (urc) /* a temporary file stays behind: say so */
        return urc;
    return rc ? OKOF_EXISTS : sync_dir(db);
}

/* ---- put_many ----------------------------------------------------------- */

/* The temporary name of each item, TMP_NAME_LEN bytes apart. */
#define TMP_NAME_LEN (sizeof OKOF__TMP_PREFIX + 2 * OKOF__TMP_RANDOM)

struct tmp_batch {
    char *tmps;
    int *fds; /* each item's open temporary file (durable batches), or -1 */
    uint64_t expiry; /* of every value; 0: never */
};

static char *tmp_of(const struct tmp_batch *b, size_t i)
{
    return b->tmps + i * TMP_NAME_LEN;
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

/* Close the files still open and remove the temporary files from..to. */
static void drop_tmps(okof_t *db, struct tmp_batch *b, size_t from, size_t to)
{
    for (; from < to; from++) {
        if (b->fds[from] >= 0)
            okof__io_close(b->fds[from]);
        b->fds[from] = -1;
        okof__io_unlink(db->dfd, tmp_of(b, from));
    }
}

/* Item i's value to a new temporary file; a durable batch keeps it open
 * (its fsync comes later), any other is closed. On failure none is left. */
static int write_one(okof_t *db, const okof_kv *it, struct tmp_batch *b,
                     size_t i, int durable)
{
    char tmp[OKOF__NAME_BUF];
    int fd, rc = need_scratch(db, it->vlen);
    if (rc)
        return rc;
    if ((fd = okof__tmp_create(db, tmp)) < 0)
        return fd;
    memcpy(tmp_of(b, i), tmp, TMP_NAME_LEN);
    b->fds[i] = fd;
    rc = okof__frame_encode(it->val, it->vlen, b->expiry, db->compress_min,
                            db->scratch, sink_fd, &fd);
    if (rc == 0 && durable)
        rc = okof__io_start_writeback(fd);
    if (rc == 0 && !durable) {
        b->fds[i] = -1;
        rc = okof__io_close(fd);
    }
    if (rc)
        drop_tmps(db, b, i, i + 1);
    return rc;
}

/* fsync and close the files from..to: each fsync reports that file's
 * write-back errors, whatever the kernel. */
static int sync_files(struct tmp_batch *b, size_t from, size_t to)
{
    int rc = 0;
    for (; from < to; from++) {
        int frc = rc ? 0 : okof__io_fsync(b->fds[from]);
        int crc = okof__io_close(b->fds[from]);
        b->fds[from] = -1;
        if (rc == 0)
            rc = frc ? frc : crc;
    }
    return rc;
}

/* Every value to its temporary file. A durable batch works in groups of
 * SYNC_GROUP files (a bound on the descriptors it holds): it writes each
 * and starts its write-back, then fsyncs each, so that the flushes of a
 * group overlap. On failure, no temporary file is left. */
static int write_all(okof_t *db, const okof_kv *items, size_t n,
                     struct tmp_batch *b, int durable)
{
    size_t i, group = 0;
    for (i = 0; i < n; i++) {
        int rc = write_one(db, &items[i], b, i, durable);
        if (rc) {
            drop_tmps(db, b, 0, i);
            return rc;
        }
        if (durable && (i + 1 == n || i + 1 - group == SYNC_GROUP)) {
            rc = sync_files(b, group, i + 1);
            group = i + 1;
        }
        if (rc) {
            drop_tmps(db, b, 0, i + 1);
            return rc;
        }
    }
    return 0;
}

/* Rename each over its key; on failure the rest are removed. */
static int rename_all(okof_t *db, const okof_kv *items, size_t n,
                      struct tmp_batch *b, size_t *written)
{
    char name[OKOF__NAME_BUF];
    size_t i;
    for (i = 0; i < n; i++) {
        int rc;
        okof__key_encode(items[i].key, items[i].klen, name);
        if ((rc = okof__io_rename(db->dfd, tmp_of(b, i), name)) != 0) {
            drop_tmps(db, b, i, n);
            return rc;
        }
        *written = i + 1;
    }
    return 0;
}

static int batch_init(struct tmp_batch *b, size_t n)
{
    size_t i;
    b->tmps = NULL;
    b->fds = NULL;
    if (n > (size_t)-1 / TMP_NAME_LEN)
        return -ENOMEM;
    b->tmps = malloc(n * TMP_NAME_LEN);
    b->fds = malloc(n * sizeof *b->fds);
    if (b->tmps == NULL || b->fds == NULL)
        return -ENOMEM;
    for (i = 0; i < n; i++)
        b->fds[i] = -1;
    return 0;
}

int okof_put_many(okof_t *db, const okof_kv *items, size_t n, size_t *written)
{
    return okof_put_many_ttl(db, items, n, 0, written);
}

int okof_put_many_ttl(okof_t *db, const okof_kv *items, size_t n,
                      int64_t ttl_ms, size_t *written)
{
    struct tmp_batch b;
    size_t done = 0;
    int durable = (db->flags & OKOF_SYNC) != 0;
    int rc = check_keys(items, n);
    if (written)
        *written = 0;
    if (rc == 0)
        rc = okof__ttl_expiry(ttl_ms, &b.expiry);
    if (rc || n == 0)
        return rc;
    rc = batch_init(&b, n);
    if (rc == 0)
        rc = write_all(db, items, n, &b, durable);
    if (rc == 0)
        rc = rename_all(db, items, n, &b, &done);
    if (rc == 0)
        rc = sync_dir(db);
    free(b.tmps);
    free(b.fds);
    if (written)
        *written = done;
    return rc;
}
