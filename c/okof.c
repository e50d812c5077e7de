/* okof.c -- open/close, get/del and sweep (writes are okof_write.c's).
 * Syscalls are okof_io's, bytes on disk okof_frame's, names okof_key's. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "okof.h"
#include "okof_frame.h"
#include "okof_int.h"
#include "okof_io.h"
#include "okof_key.h"
#include "okof_load.h"
#include "okof_ttl.h"

/* okof.h promises that every key of up to OKOF_KEY_SAFE_MAX bytes is
 * accepted: even with every byte escaped (3 bytes of name each) its name
 * fits. */
typedef char okof__key_safe_max_fits[3 * OKOF_KEY_SAFE_MAX <= OKOF__NAME_MAX
                                         ? 1 : -1];

/* ---- handles ------------------------------------------------------------ */

int okof_open(okof_t **dbp, const char *dir, unsigned flags,
              size_t compress_min)
{
    size_t len = strlen(dir);
    okof_t *db = malloc(sizeof *db + len + 1);
    if (db == NULL)
        return -ENOMEM;
    memcpy(db->dir, dir, len + 1);
    db->dfd = okof__io_open_dir(dir, (flags & OKOF_CREATE) != 0,
                                (flags & OKOF_SYNC) != 0);
    if (db->dfd < 0) {
        int rc = db->dfd;
        free(db);
        return rc;
    }
    db->flags = flags;
    db->compress_min = compress_min;
    db->noatime = 1;
    db->scratch = NULL;
    db->reason = OKOF_REASON_CHECK;
    *dbp = db;
    return 0;
}

void okof_close(okof_t *db)
{
    if (db == NULL)
        return;
    okof__io_close(db->dfd);
    free(db->scratch);
    free(db);
}

const char *okof_dir(const okof_t *db)
{
    return db->dir;
}

void okof_free(void *p)
{
    free(p);
}

/* ---- get and del -------------------------------------------------------- */

/* The caller's buffer is split in two: the file is read into the upper
 * half, a compressed value is decoded into the lower one. */
struct split {
    unsigned char *room, *file;
    size_t roomcap, filecap;
};

static void split_buf(void *buf, size_t cap, struct split *s)
{
    size_t half = cap / 2;
    s->room = (unsigned char *)buf;
    s->roomcap = half;
    s->file = buf != NULL ? s->room + half : NULL;
    s->filecap = buf != NULL ? cap - half : 0;
}

/* OKOF_CORRUPT for the decoder's codes of a refused file, remembering
 * which in db->reason. */
static int corrupt(okof_t *db, int rc)
{
    if (rc == OKOF__CORRUPT_RAW)
        db->reason = OKOF_REASON_RAW;
    else if (rc == OKOF__CORRUPT_ZEROS)
        db->reason = OKOF_REASON_ZEROS;
    else if (rc == OKOF_CORRUPT)
        db->reason = OKOF_REASON_CHECK;
    else
        return rc;
    return OKOF_CORRUPT;
}

int okof_corrupt_reason(const okof_t *db)
{
    return db->reason;
}

/* Verify and decode a loaded file into the caller's hands; an expired
 * value is no value. */
static int decode(okof_t *db, struct okof__loaded *l, const struct split *sp,
                  void **val, size_t *vlen, int *allocated)
{
    unsigned char *out = NULL;
    size_t olen = 0;
    int rc = okof__ttl_expired(okof__frame_expiry(l->file, l->len))
                 ? -ENOENT
                 : okof__frame_decode_into(l->file, l->len,
                                           (db->flags & OKOF_LEGACY) != 0,
                                           sp->room, sp->roomcap, &out, &olen);
    if (rc) {
        okof__load_free(l);
        return corrupt(db, rc);
    }
    *allocated = out == l->file ? l->heap : out != sp->room;
    if (out != l->file)
        okof__load_free(l);
    *val = out;
    *vlen = olen;
    return 0;
}

int okof_get_buf(okof_t *db, const void *key, size_t klen, void *buf,
                 size_t cap, void **val, size_t *vlen, int *allocated)
{
    char name[OKOF__NAME_BUF];
    struct okof__loaded l;
    struct split sp;
    int rc = okof__key_encode(key, klen, name), fast;
    *val = NULL;
    *vlen = 0;
    *allocated = 0;
    if (rc < 0)
        return rc;
    split_buf(buf, cap, &sp);
    rc = okof__load(db->dfd, name, &db->noatime, sp.file, sp.filecap, &l);
    fast = rc == 0 && !l.heap;
    if (rc == 0)
        rc = decode(db, &l, &sp, val, vlen, allocated);
    /* A short read mistaken for the end: read again to the real end. */
    if (rc == OKOF_CORRUPT && fast) {
        rc = okof__load(db->dfd, name, &db->noatime, NULL, 0, &l);
        if (rc == 0)
            rc = decode(db, &l, &sp, val, vlen, allocated);
    }
    return rc == -ENOENT ? OKOF_NOTFOUND : rc;
}

int okof_get(okof_t *db, const void *key, size_t klen, void **val,
             size_t *vlen)
{
    int allocated;
    return okof_get_buf(db, key, klen, NULL, 0, val, vlen, &allocated);
}

/* Read and verify the file as get does (so that a file get refuses is
 * refused here too), then tell the time its header leaves. */
int okof_ttl(okof_t *db, const void *key, size_t klen, int64_t *ms_left)
{
    char name[OKOF__NAME_BUF];
    struct okof__loaded l;
    struct split sp;
    void *val = NULL;
    size_t vlen = 0;
    uint64_t expiry;
    int64_t now = 0;
    int rc = okof__key_encode(key, klen, name), allocated = 0;
    *ms_left = -1;
    if (rc < 0)
        return rc;
    split_buf(NULL, 0, &sp);
    rc = okof__load(db->dfd, name, &db->noatime, NULL, 0, &l);
    expiry = rc == 0 ? okof__frame_expiry(l.file, l.len) : 0;
    if (rc == 0)
        rc = decode(db, &l, &sp, &val, &vlen, &allocated);
    if (rc == 0 && allocated)
        okof_free(val);
    if (rc == 0 && expiry != 0 && (rc = okof__io_now_ms(&now)) == 0) {
        if ((uint64_t)now >= expiry)
            return OKOF_NOTFOUND;
        *ms_left = (int64_t)(expiry - (uint64_t)now);
    }
    return rc == -ENOENT ? OKOF_NOTFOUND : rc;
}

int okof_del(okof_t *db, const void *key, size_t klen)
{
    char name[OKOF__NAME_BUF];
    int rc = okof__key_encode(key, klen, name);
    if (rc < 0)
        return rc;
    rc = okof__ttl_del(db, name);
    if (rc)
        return rc == -ENOENT ? OKOF_NOTFOUND : rc;
    return (db->flags & OKOF_SYNC) ? okof__io_fsync_dir(db->dfd) : 0;
}

/* ---- sweep -------------------------------------------------------------- */

/* Unlink a temporary file under the store's lock, when it exists: a
 * removal of an expired value moves a raced put's file to a temporary
 * name, and holds the lock until it is back. */
static int unlink_tmp(okof_t *db, const char *name)
{
    int lock = okof__ttl_lock(db, 0), rc;
    if (lock < 0 && lock != -ENOENT)
        return lock;
    rc = okof__io_unlink(db->dfd, name);
    if (lock >= 0)
        okof__io_close(lock);
    return rc;
}

/* Remove one temporary file if it is old enough; 1 if removed. */
static int sweep_tmp(okof_t *db, const char *name, double max_age)
{
    double age = 0;
    int regular = 0, rc = okof__io_age(db->dfd, name, &age, &regular);
    if (rc == 0 && (!regular || age <= max_age))
        return 0;
    if (rc == 0)
        rc = unlink_tmp(db, name);
    if (rc == -ENOENT) /* renamed by its writer or swept by another */
        return 0;
    return rc ? rc : 1;
}

/* Remove a key's file if its value expired; 1 if removed. */
static int sweep_key(okof_t *db, const char *name)
{
    uint64_t expiry = 0;
    int rc = okof__ttl_peek(db, name, NULL, &expiry);
    if (rc != 0 || !okof__ttl_expired(expiry)) /* unreadable: not ours */
        return 0;
    rc = okof__ttl_remove(db, name);
    return rc == -ENOENT ? 0 : rc;
}

int okof_sweep_counts(okof_t *db, double max_age, size_t *temps,
                      size_t *expired)
{
    okof__dir *d = NULL;
    const char *name;
    size_t count[2] = {0, 0};
    int rc = okof__io_dir_open(db->dfd, &d);
    while (rc == 0 && (rc = okof__io_dir_next(d, &name)) == 1) {
        enum okof__kind kind = okof__classify(name);
        rc = 0;
        if (kind == OKOF__ENTRY_TEMP)
            rc = sweep_tmp(db, name, max_age);
        else if (kind == OKOF__ENTRY_KEY)
            rc = sweep_key(db, name);
        count[kind == OKOF__ENTRY_KEY] += rc == 1;
        rc = rc == 1 ? 0 : rc;
    }
    okof__io_dir_close(d);
    if (temps)
        *temps = count[0];
    if (expired)
        *expired = count[1];
    if (rc == 0 && count[0] + count[1] > 0 && (db->flags & OKOF_SYNC))
        rc = okof__io_fsync_dir(db->dfd);
    return rc;
}

int okof_sweep(okof_t *db, double max_age, size_t *removed)
{
    size_t temps = 0, expired = 0;
    int rc = okof_sweep_counts(db, max_age, &temps, &expired);
    if (removed)
        *removed = temps + expired;
    return rc;
}
