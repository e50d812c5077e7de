/*
 * okof.h -- the okofdb C API: a key/value store where one key is one file.
 *
 * A store is a directory. Each key's value lives in its own file, written
 * to a temporary file in the same directory and renamed over the key's
 * file, so a reader in any process sees the old value or the new one,
 * never a mix. Values are checksummed (CRC-32C) and snappy-compressed when
 * large enough; see README.md for the on-disk format.
 *
 * Conventions
 * -----------
 * - Every fallible call returns an int: 0 on success, a negative errno
 *   value (-ENOENT, -EACCES, -ENOSPC, ...) for an operating-system error,
 *   or one of okofdb's own codes below. okof_strerror() turns any of them
 *   into text, okof_errname() into a short name ("ENOENT", "CORRUPT").
 * - Keys and values are byte strings given as pointer + length; they may
 *   contain any byte, NUL included. A key must be non-empty; every key of
 *   up to OKOF_KEY_SAFE_MAX bytes is accepted, a longer one only while its
 *   file name fits in 255 bytes (otherwise OKOF_EBADKEY).
 * - Memory returned to the caller (values) is allocated with malloc() and
 *   released with okof_free(). Nothing else is owned by the caller.
 * - A handle may be used by one thread at a time. Any number of handles,
 *   threads and processes may use one directory at once; a handle opened
 *   before fork() may be used in the children.
 * - The library never aborts and never prints; out of memory is -ENOMEM.
 */
#ifndef OKOF_H
#define OKOF_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define OKOF_VERSION_MAJOR 0
#define OKOF_VERSION_MINOR 1
#define OKOF_VERSION_PATCH 0
#define OKOF_VERSION_STRING "okofdb 0.1.0"

/* okofdb's own result codes, outside the range of errno values. */
#define OKOF_NOTFOUND (-30001) /* no value for the key / end of iteration */
#define OKOF_CORRUPT (-30002)  /* a value file failed verification */
#define OKOF_EBADKEY (-30003)  /* empty key, or its file name is too long */
#define OKOF_EXISTS (-30004)   /* okof_add: the key already has a value */
/* Codes of stores on etcd (okof_etcd.h). */
#define OKOF_EUNAVAILABLE (-30005) /* the cluster has no leader or quorum */
#define OKOF_ECOMPACTED (-30006)   /* a walk's revision was compacted */

/* The longest ttl okof_put_ttl and friends take, in milliseconds (2^62:
 * over a hundred million years). */
#define OKOF_TTL_MAX_MS ((int64_t)1 << 62)

/* Keys up to this many bytes are always accepted, whatever their bytes. */
#define OKOF_KEY_SAFE_MAX 80
/* No key is longer than this: its file name would exceed 255 bytes. */
#define OKOF_KEY_MAX 255

/* Flags of okof_open(). */
#define OKOF_CREATE 0x1u /* create the directory and missing parents */
#define OKOF_SYNC 0x2u   /* durable put/del: fsync file, rename, fsync dir */
#define OKOF_LEGACY 0x4u /* also read raw 0x00 value files (okofdb 0.1.x) */

/* What okof_corrupt_reason() says about the last OKOF_CORRUPT. */
#define OKOF_REASON_CHECK 0 /* a checksum, length or structure check failed */
#define OKOF_REASON_RAW 1   /* a raw 0x00 file, and no OKOF_LEGACY */
#define OKOF_REASON_ZEROS 2 /* a file made only of zero bytes */

/* compress_min value that turns compression off. */
#define OKOF_NO_COMPRESS ((size_t)-1)

/* The default compress_min of the Lua module and the Rust crate. */
#define OKOF_COMPRESS_MIN_DEFAULT 2048

/* The most uncompressed bytes one data chunk of a value file holds. */
#define OKOF_CHUNK_MAX 65536

/* The max_age of okof_sweep that the Lua module and the CLI use when none
 * is given: temporary files older than an hour are leftovers. */
#define OKOF_SWEEP_MAX_AGE_DEFAULT 3600

typedef struct okof okof_t;           /* an open store */
typedef struct okof_iter okof_iter_t; /* a walk over a store's keys */

/*
 * okof_open -- open the store in directory `dir`.
 *   dbp           receives the handle on success (untouched on failure).
 *   dir           path of the directory; copied, the caller keeps it.
 *   flags         OKOF_CREATE: create `dir` and missing parents (mode 0777
 *                 less the umask) if it does not exist; with OKOF_SYNC
 *                 each new directory is durable (its parent fsynced after
 *                 its mkdir, the last one fsynced itself) before return.
 *                 OKOF_SYNC: put and del return only once the change has
 *                 reached stable storage.
 *                 OKOF_LEGACY: also read raw value files, byte 0x00 then
 *                 the value with no checksum, as the Rust crate okofdb
 *                 0.1.x writes values under 2048 bytes. Without it such a
 *                 file is OKOF_CORRUPT (reason OKOF_REASON_RAW): a file
 *                 that a crash left full of zeros starts with 0x00 too.
 *                 With it, a file made only of zero bytes is still
 *                 OKOF_CORRUPT (reason OKOF_REASON_ZEROS).
 *   compress_min  values of at least this many bytes are snappy-compressed
 *                 where that makes them smaller; OKOF_NO_COMPRESS for never.
 * Does not read the directory's entries: its cost does not depend on the
 * number of keys.
 * Errors: -ENOENT (no such directory and no OKOF_CREATE), -ENOTDIR,
 * -EACCES, -ENOMEM, other errnos of mkdir(2) and open(2).
 */
int okof_open(okof_t **dbp, const char *dir, unsigned flags,
              size_t compress_min);

/*
 * okof_close -- release the handle and its directory descriptor.
 * NULL is accepted and ignored. Values and keys obtained earlier stay valid;
 * iterators opened from the handle must be closed first.
 */
void okof_close(okof_t *db);

/* okof_dir -- the directory path as given to okof_open (owned by db). */
const char *okof_dir(const okof_t *db);

/*
 * okof_put -- store `val` (vlen bytes) under `key`, replacing any value.
 * Atomic: readers see the old or the new value, never a mix. With
 * OKOF_SYNC the new value is on stable storage when 0 is returned.
 * On failure the previous value is intact and no temporary file remains,
 * except when only the final directory fsync fails: the new value is then
 * in place but its durability is unknown, and the error is returned.
 * Errors: OKOF_EBADKEY, -ENOSPC, -EIO, -EACCES, -EDQUOT, -ENOMEM, -EISDIR
 * (a directory stands at the key's name), other errnos of open/write/
 * fsync/rename.
 */
int okof_put(okof_t *db, const void *key, size_t klen, const void *val,
             size_t vlen);

/*
 * okof_add -- store `val` under `key` only if the key has no value: the
 * value appears atomically, and of several writers (in any processes)
 * adding one key at once exactly one succeeds. Durable as okof_put.
 * Returns 0 (stored), OKOF_EXISTS (the key already had a value; nothing
 * changed), or the errors of okof_put; -EPERM or -ENOTSUP where the file
 * system has no hard links. A link(2) that answers EEXIST although it made
 * the link (a retransmitted request over NFS) is seen for what it is: the
 * key's name is then the new file itself, and the add succeeded.
 */
int okof_add(okof_t *db, const void *key, size_t klen, const void *val,
             size_t vlen);

/*
 * okof_key_check -- whether `key` can be stored: 0, or OKOF_EBADKEY when it
 * is empty or its file name would exceed 255 bytes. Keys of up to
 * OKOF_KEY_SAFE_MAX bytes always can.
 */
int okof_key_check(const void *key, size_t klen);

/*
 * Expiry (TTL)
 * ------------
 * A value may be stored with a ttl: it then expires ttl_ms milliseconds
 * after the write, on the wall clock (CLOCK_REALTIME; a clock change moves
 * every expiry with it). The expiry is written in the value file's header.
 * An expired value is no value: okof_get gives OKOF_NOTFOUND, okof_add
 * replaces it, okof_del removes its file and gives OKOF_NOTFOUND, and
 * okof_sweep removes its file; okof_iter_next may still yield its key.
 * A ttl_ms of 0 means never: the value is written exactly as by okof_put.
 * A negative ttl_ms or one over OKOF_TTL_MAX_MS is -EINVAL.
 *
 * Removing an expired file (okof_add, okof_del, okof_sweep) takes an
 * exclusive flock(2) on the file ".okof-lock" in the store (created when
 * first needed, never a key, never swept), and so does every okof_add; a
 * put or get never does. While such a removal runs, a put of the same
 * key that lands in its window is moved aside and put back: a reader may
 * then briefly find no value (see docs/ttl.md).
 */

/* okof_put_ttl -- okof_put of a value that expires ttl_ms milliseconds
 * from now (0: never). Errors: those of okof_put; -EINVAL for a bad ttl. */
int okof_put_ttl(okof_t *db, const void *key, size_t klen, const void *val,
                 size_t vlen, int64_t ttl_ms);

/* okof_add_ttl -- okof_add of a value that expires ttl_ms milliseconds
 * (0: never) from the moment the add holds the store's lock, just before
 * the value is linked into place: a lock taken this way lasts its whole
 * ttl. An expired value counts as none: it is removed and the new one
 * stored. Of several writers adding one key that is absent or
 * expired, exactly one succeeds. Errors: those of okof_add, -EINVAL for a
 * bad ttl, and the errnos of opening and locking ".okof-lock". */
int okof_add_ttl(okof_t *db, const void *key, size_t klen, const void *val,
                 size_t vlen, int64_t ttl_ms);

/*
 * okof_ttl -- how long the value of `key` has left.
 *   ms_left  receives the milliseconds left (at least 1), or -1 when the
 *            value never expires.
 * The file is verified as by okof_get. Returns 0, OKOF_NOTFOUND (no value,
 * or an expired one), or the errors of okof_get.
 */
int okof_ttl(okof_t *db, const void *key, size_t klen, int64_t *ms_left);

/* One key and its value, for okof_put_many. */
typedef struct okof_kv {
    const void *key;
    size_t klen;
    const void *val;
    size_t vlen;
} okof_kv;

/*
 * okof_put_many -- store n values at once. Every value is written to its
 * temporary file; with OKOF_SYNC the write-back of the files is started
 * together (Linux's sync_file_range) and each is then fsynced, so that
 * every file's write-back error is reported and the flushes overlap (in
 * groups of 64 files, a bound on the descriptors held); then each is
 * renamed over its key, then (OKOF_SYNC) the directory is made durable
 * once: each key is atomic as with okof_put, the batch is durable when 0
 * is returned, and a batch costs one directory flush instead of one per
 * key. The keys are not changed as one unit: a crash may leave some
 * renamed and some not.
 *   written  receives how many items, from the first, were renamed into
 *            place (n on success; may be NULL). On failure the others keep
 *            their old values and no temporary file remains; only when the
 *            final directory fsync fails is *written == n with an error.
 * Errors: OKOF_EBADKEY (nothing written), and those of okof_put.
 */
int okof_put_many(okof_t *db, const okof_kv *items, size_t n,
                  size_t *written);

/* okof_put_many_ttl -- okof_put_many where every value expires ttl_ms
 * milliseconds from the start of the call (0: never). Errors: those of
 * okof_put_many; -EINVAL for a bad ttl (nothing written). */
int okof_put_many_ttl(okof_t *db, const okof_kv *items, size_t n,
                      int64_t ttl_ms, size_t *written);

/*
 * okof_get -- read the value of `key`.
 *   *val   receives a malloc'd buffer of *vlen bytes (one extra NUL byte
 *          follows it, not counted); free it with okof_free(). On any
 *          result but 0, *val is set to NULL and *vlen to 0.
 * Every checksum and length in the file is verified first: a value is never
 * returned unless it is exactly the one that was stored. Whatever a file
 * claims, no more memory is allocated than its bytes can decode to (at
 * most 22 times the file's size, plus the file itself): a crafted file is
 * OKOF_CORRUPT, not -ENOMEM.
 * Returns 0, OKOF_NOTFOUND (no value, or an expired one: see Expiry),
 * OKOF_CORRUPT (the file failed verification), OKOF_EBADKEY, -ELOOP (a
 * symbolic link stands at the key's name; links are never followed),
 * -EISDIR, -EIO, -EACCES, -ENOMEM.
 */
int okof_get(okof_t *db, const void *key, size_t klen, void **val,
             size_t *vlen);

/*
 * okof_get_buf -- okof_get that spares the allocation for small values.
 *   buf, cap   memory of the caller's (a stack buffer, say) that is tried
 *              first; buf may be NULL when cap is 0.
 *   *allocated 0 when the value was decoded inside buf: *val then points
 *              into buf and stays valid as long as buf does; 1 when *val is
 *              a malloc'd buffer, to be freed with okof_free().
 * The file is read into the upper half of buf and a compressed value is
 * decoded into the lower half: with cap of twice a file's size, a value
 * of up to 64 KiB needs no allocation. A file that fits is read with a
 * single read(2) and no fstat(2).
 * Returns the same codes as okof_get.
 */
int okof_get_buf(okof_t *db, const void *key, size_t klen, void *buf,
                 size_t cap, void **val, size_t *vlen, int *allocated);

/*
 * okof_corrupt_reason -- after okof_get or okof_get_buf returned
 * OKOF_CORRUPT on db, why: OKOF_REASON_RAW (a raw 0x00 file read by a
 * handle without OKOF_LEGACY), OKOF_REASON_ZEROS (a file made only of zero
 * bytes), or OKOF_REASON_CHECK (any other failed check). Undefined after
 * any other result.
 */
int okof_corrupt_reason(const okof_t *db);

/*
 * okof_del -- remove the value of `key`. With OKOF_SYNC the removal is on
 * stable storage when the call returns. The header of the key's file is
 * read first: an expired value is removed and counts as none.
 * Returns 0 (removed), OKOF_NOTFOUND (there was none, or an expired one),
 * OKOF_EBADKEY, -EACCES, -EISDIR, -EIO (also when the file cannot be
 * read: whether it expired is then unknown, and it is left), other errnos
 * of unlink(2) and fsync(2).
 */
int okof_del(okof_t *db, const void *key, size_t klen);

/*
 * okof_sweep -- remove okofdb's temporary files (names starting with
 * ".okof-tmp-") last modified more than `max_age` seconds ago: what writers
 * that crashed left behind; and the files of expired values, whatever
 * their age. Never touches a live value's file or a foreign file.
 *   removed  receives how many files were removed (may be NULL).
 * Errors: errnos of opening and reading the directory and of unlink(2).
 */
int okof_sweep(okof_t *db, double max_age, size_t *removed);

/* okof_sweep_counts -- okof_sweep that tells the two kinds apart:
 * *temps receives how many temporary files were removed, *expired how
 * many expired values (either may be NULL). */
int okof_sweep_counts(okof_t *db, double max_age, size_t *temps,
                      size_t *expired);

/*
 * okof_iter_open -- start a walk over the keys that begin with `prefix`
 * (plen bytes; plen 0 for every key), in no particular order. The walk
 * holds its own directory descriptor until okof_iter_close. Temporary
 * and foreign files are never yielded.
 * Errors: -ENOMEM, -EMFILE, errnos of opening the directory.
 */
int okof_iter_open(okof_t *db, const void *prefix, size_t plen,
                   okof_iter_t **itp);

/*
 * okof_iter_next -- the next key. *key points to klen bytes (followed by a
 * NUL) owned by the iterator, valid until the next call on it.
 * Returns 0 (a key), OKOF_NOTFOUND (the walk is over), or an errno of
 * readdir(3).
 */
int okof_iter_next(okof_iter_t *it, const char **key, size_t *klen);

/* okof_iter_close -- end a walk; NULL is accepted and ignored. */
void okof_iter_close(okof_iter_t *it);

/* okof_free -- release a value returned by okof_get; NULL is ignored. */
void okof_free(void *p);

/*
 * okof_strerror -- a static English text for any result code: the OS's own
 * text for a negative errno, okofdb's for its own codes. Never NULL.
 */
const char *okof_strerror(int rc);

/*
 * okof_errname -- a static short name: "ENOENT", "EACCES", ... for negative
 * errnos ("EUNKNOWN" for one it does not know), "CORRUPT",
 * "NOTFOUND", "EBADKEY" for okofdb's codes, "OK" for 0. Never NULL.
 */
const char *okof_errname(int rc);

#ifdef __cplusplus
}
#endif

#endif /* OKOF_H */
