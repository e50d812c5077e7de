/* okof_int.h -- the handle's layout, shared by okof.c and okof_iter.c
 * only; callers of the library see an opaque okof_t. */
#ifndef OKOF_INT_H
#define OKOF_INT_H

#include <stddef.h>

#include "okof.h"

struct okof {
    int dfd;                /* the store's directory, for every *at call */
    unsigned flags;         /* OKOF_CREATE | OKOF_SYNC | OKOF_LEGACY */
    size_t compress_min;    /* OKOF_NO_COMPRESS: never */
    int noatime;            /* reads ask for O_NOATIME (okof__io_open_read) */
    unsigned char *scratch; /* compression buffer, made on first need */
    int reason;             /* OKOF_REASON_* of the last OKOF_CORRUPT */
    char dir[];             /* the path as given, NUL-terminated */
};

/* Create an empty temporary file in the store under a fresh random name
 * (written to tmp, OKOF__NAME_BUF bytes): its descriptor, or -errno
 * (okof_write.c). */
int okof__tmp_create(okof_t *db, char *tmp);

#endif
