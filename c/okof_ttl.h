/* okof_ttl.h -- values that expire (see okof_ttl.c for how an expired
 * file is removed without removing a live one). For okof.c and
 * okof_write.c only. */
#ifndef OKOF_TTL_H
#define OKOF_TTL_H

#include <stdint.h>

#include "okof.h"

/* The store's lock file: a name that is never a key and never swept. */
#define OKOF__TTL_LOCK ".okof-lock"

/* The expiry of a value written now with ttl_ms (0: never, *expiry 0).
 * -EINVAL for a negative ttl_ms or one over OKOF_TTL_MAX_MS. */
int okof__ttl_expiry(int64_t ttl_ms, uint64_t *expiry);

/* Has a value with this expiry (0: none) expired? */
int okof__ttl_expired(uint64_t expiry);

/* Open `name` and read the expiry its header records (0: none); with fdp
 * the file is left open there, else closed. 0 or -errno. */
int okof__ttl_peek(okof_t *db, const char *name, int *fdp, uint64_t *expiry);

/* Take the store's lock (creating the lock file when create is set);
 * the descriptor, released by okof__io_close, or -errno. */
int okof__ttl_lock(okof_t *db, int create);

/* Remove `name` if it holds an expired value, the lock being held: 1
 * removed, 0 not (live, not a value file, or a put raced in and was put
 * back), -ENOENT (nothing has the name), or another -errno. */
int okof__ttl_remove_locked(okof_t *db, const char *name);

/* okof__ttl_remove_locked under the lock. */
int okof__ttl_remove(okof_t *db, const char *name);

/* add's step: under the lock, link tmp to name, removing an expired value
 * found there first. With a ttl_ms, tmp's expiry is first set anew to
 * ttl_ms from the moment the lock is held, so that an add's value lives
 * its whole ttl from when it can be linked (after a crash the file may
 * keep the expiry it was written with, a little earlier).
 * 0, -EEXIST (a live value is there), or -errno. */
int okof__ttl_link(okof_t *db, const char *tmp, const char *name,
                   int64_t ttl_ms);

/* del's step: remove `name`. 0 when a live value was removed, -ENOENT
 * when there was none (an expired one is removed), or -errno. */
int okof__ttl_del(okof_t *db, const char *name);

#endif
