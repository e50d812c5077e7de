/* okof_ttl.c -- values that expire: the clock, reading an expiry, and
 * removing an expired value's file without ever removing a live one.
 *
 * POSIX has no "unlink this name if it is still that file". So removing
 * an expired file is done under an exclusive lock on the store's lock
 * file (OKOF__TTL_LOCK), which every add also holds while it links:
 *   1. open the key's file (A) and see from its header that it expired;
 *   2. rename the key's name to a fresh temporary name;
 *   3. if the file now at the temporary name is A, unlink it: done;
 *      otherwise a put renamed its value over the key between 1 and 2,
 *      and that value was moved aside: link it back to the key's name
 *      (EEXIST: an even newer put landed, which rightly wins) and unlink
 *      the temporary name.
 * Puts never take the lock; adds do, so no add can link into the key's
 * name while it is briefly empty in step 3. See docs/ttl.md. */
#include <errno.h>
#include <stdlib.h>

#include "okof.h"
#include "okof_frame.h"
#include "okof_int.h"
#include "okof_io.h"
#include "okof_key.h"
#include "okof_ttl.h"

/* How many taken temporary names, and how many expired values replaced
 * by puts that expired too, are tried before giving up. */
#define TRIES 64

int okof__ttl_expiry(int64_t ttl_ms, uint64_t *expiry)
{
    int64_t now = 0;
    int rc;
    *expiry = 0;
    if (ttl_ms < 0 || ttl_ms > OKOF_TTL_MAX_MS)
        return -EINVAL;
    if (ttl_ms == 0)
        return 0;
    if ((rc = okof__io_now_ms(&now)) != 0)
        return rc;
    *expiry = (uint64_t)now + (uint64_t)ttl_ms;
    return 0;
}

int okof__ttl_expired(uint64_t expiry)
{
    int64_t now = 0;
    if (expiry == 0)
        return 0;
    /* Without a clock nothing is called expired: nothing is removed. */
    if (okof__io_now_ms(&now) != 0)
        return 0;
    return (uint64_t)now >= expiry;
}

/* The expiry recorded in the header of the file open as fd. */
static int read_expiry(int fd, uint64_t *expiry)
{
    unsigned char head[OKOF__FRAME_PREFIX_EXPIRY];
    size_t n = 0, r = 1;
    int rc = 0;
    while (n < sizeof head && r > 0 && rc == 0)
        if ((rc = okof__io_read(fd, head + n, sizeof head - n, &r)) == 0)
            n += r;
    *expiry = rc == 0 ? okof__frame_expiry(head, n) : 0;
    return rc;
}

int okof__ttl_peek(okof_t *db, const char *name, int *fdp, uint64_t *expiry)
{
    int fd = okof__io_open_read(db->dfd, name, &db->noatime), rc;
    *expiry = 0;
    if (fd < 0)
        return fd;
    rc = read_expiry(fd, expiry);
    if (rc != 0 || fdp == NULL)
        okof__io_close(fd);
    else
        *fdp = fd;
    return rc;
}

int okof__ttl_lock(okof_t *db, int create)
{
    return okof__io_lock(db->dfd, OKOF__TTL_LOCK, create);
}

/* Reserve a fresh temporary name (an empty file that step 2 replaces). */
static int reserve_tmp(okof_t *db, char *tmp)
{
    int fd = okof__tmp_create(db, tmp);
    return fd < 0 ? fd : okof__io_close(fd);
}

/* Step 3 for a file that is not A: put it back unless a newer one came. */
static void put_back(okof_t *db, const char *tmp, const char *name)
{
    int rc = okof__io_link(db->dfd, tmp, name);
    if (rc == 0 || rc == -EEXIST)
        okof__io_unlink(db->dfd, tmp);
    else /* no link possible: losing the put would be worse than this */
        okof__io_rename(db->dfd, tmp, name);
}

/* Steps 2 and 3, with A open as fd. */
static int move_aside(okof_t *db, int fd, const char *name)
{
    char tmp[OKOF__NAME_BUF];
    int rc = reserve_tmp(db, tmp), same;
    if (rc)
        return rc;
    if ((rc = okof__io_rename(db->dfd, name, tmp)) != 0) {
        okof__io_unlink(db->dfd, tmp);
        return rc; /* -ENOENT: deleted meanwhile */
    }
    same = okof__io_same_fd(fd, db->dfd, tmp);
    if (same != 1) { /* a put raced in, or no telling: keep what is there */
        put_back(db, tmp, name);
        return 0;
    }
    rc = okof__io_unlink(db->dfd, tmp);
    return rc ? rc : 1;
}

int okof__ttl_remove_locked(okof_t *db, const char *name)
{
    uint64_t expiry = 0;
    int fd = -1, rc = okof__ttl_peek(db, name, &fd, &expiry);
    /* A directory or a link at the name is a value that never expires;
     * gone is -ENOENT; a file that cannot be read is an error: whether it
     * expired is unknown. */
    if (rc)
        return rc == -EISDIR || rc == -ELOOP ? 0 : rc;
    rc = okof__ttl_expired(expiry) ? move_aside(db, fd, name) : 0;
    okof__io_close(fd);
    return rc;
}

int okof__ttl_remove(okof_t *db, const char *name)
{
    int lock = okof__ttl_lock(db, 1), rc;
    if (lock < 0)
        return lock;
    rc = okof__ttl_remove_locked(db, name);
    okof__io_close(lock);
    return rc;
}

/* Count a new value's ttl from now: the moment it may be linked. */
static int restamp(okof_t *db, const char *tmp, int64_t ttl_ms)
{
    unsigned char b[8];
    uint64_t expiry;
    int rc = okof__ttl_expiry(ttl_ms, &expiry);
    if (rc || expiry == 0)
        return rc;
    okof__frame_expiry_bytes(b, expiry);
    return okof__io_patch(db->dfd, tmp, OKOF__FRAME_EXPIRY_AT, b, sizeof b);
}

/* link tmp to name; on EEXIST, whether name is tmp after all: over NFS a
 * retransmitted link(2) answers EEXIST when its first transmission made
 * the link. Then the add succeeded. */
static int link_new(okof_t *db, const char *tmp, const char *name)
{
    int rc = okof__io_link(db->dfd, tmp, name), same;
    if (rc != -EEXIST)
        return rc;
    same = okof__io_same_file(db->dfd, tmp, name);
    return same == 1 ? 0 : same < 0 ? same : -EEXIST;
}

/* Under the lock: link tmp to name, replacing an expired value. */
static int link_locked(okof_t *db, const char *tmp, const char *name,
                       int64_t ttl_ms)
{
    int i, rc = -EEXIST;
    for (i = 0; i < TRIES && rc == -EEXIST; i++) {
        int removed;
        if ((rc = restamp(db, tmp, ttl_ms)) != 0)
            break;
        if ((rc = link_new(db, tmp, name)) != -EEXIST)
            break;
        removed = okof__ttl_remove_locked(db, name);
        if (removed == 0) /* a live value (or any file that is not ours) */
            return -EEXIST;
        if (removed < 0 && removed != -ENOENT)
            return removed;
    }
    return rc;
}

int okof__ttl_link(okof_t *db, const char *tmp, const char *name,
                   int64_t ttl_ms)
{
    int lock = okof__ttl_lock(db, 1), rc;
    if (lock < 0)
        return lock;
    rc = link_locked(db, tmp, name, ttl_ms);
    okof__io_close(lock);
    return rc;
}

/* ---- del ---------------------------------------------------------------- */

/* Unlink a live value's file. ENOENT may be a removal's window moving it
 * aside for a moment: once the lock is ours, the window is closed. No
 * lock file means no removal has begun before the unlink failed. */
static int unlink_live(okof_t *db, const char *name)
{
    int rc = okof__io_unlink(db->dfd, name), lock;
    if (rc != -ENOENT)
        return rc;
    if ((lock = okof__ttl_lock(db, 0)) < 0)
        return lock == -ENOENT ? rc : lock;
    rc = okof__io_unlink(db->dfd, name);
    okof__io_close(lock);
    return rc;
}

int okof__ttl_del(okof_t *db, const char *name)
{
    uint64_t expiry = 0;
    int rc = okof__ttl_peek(db, name, NULL, &expiry);
    /* none, a symbolic link, a directory: unlink tells (as it always did) */
    if (rc == -ENOENT || rc == -ELOOP || rc == -EISDIR)
        return unlink_live(db, name);
    if (rc != 0) /* the file cannot be read: whether it expired is unknown */
        return rc;
    if (!okof__ttl_expired(expiry))
        return unlink_live(db, name);
    rc = okof__ttl_remove(db, name);
    return rc < 0 ? rc : -ENOENT; /* removed or live again: no value seen */
}
