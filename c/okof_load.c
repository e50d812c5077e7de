/* okof_load.c -- read a value file into memory (see okof_load.h).
 *
 * A value file never changes once it has been renamed into place, so the
 * fast path reads it with one read(2) into the caller's buffer and takes a
 * short read as its end, as a regular file's read does. Files okofdb
 * wrote carry their length, so the decoder catches a read that stopped
 * early; for files without it, reading goes on until read(2) says end of
 * file. A file that does not fit is sized with fstat and read to the end. */
#include "okof_load.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "okof_frame.h"
#include "okof_io.h"

/* Read until end of file or until n reaches cap; *eof tells which. With
 * trust_short, a short read of a file that records its length ends it. */
static int fill(int fd, unsigned char *buf, size_t cap, size_t *n, int *eof,
                int trust_short)
{
    *eof = 0;
    while (*n < cap) {
        size_t r = 0;
        int rc = okof__io_read(fd, buf + *n, cap - *n, &r);
        if (rc)
            return rc;
        if (r == 0) {
            *eof = 1;
            return 0;
        }
        *n += r;
        if (trust_short && *n < cap && okof__frame_has_length(buf, *n))
            return *eof = 1, 0; /* short read of a file with its length */
    }
    return 0;
}

/* The file did not fit in have[0..n): size it and read the rest. */
static int load_heap(int fd, const unsigned char *have, size_t n,
                     struct okof__loaded *out)
{
    size_t size = 0, got;
    int rc = okof__io_size(fd, &size), eof = 0;
    if (rc)
        return rc;
    if (size < n)
        size = n;
    out->file = malloc(size + 1);
    if (out->file == NULL)
        return -ENOMEM;
    out->heap = 1;
    if (n)
        memcpy(out->file, have, n);
    got = n;
    rc = fill(fd, out->file, size, &got, &eof, 0);
    out->len = got;
    return rc;
}

static int load_fd(int fd, unsigned char *sbuf, size_t cap,
                   struct okof__loaded *out)
{
    size_t n = 0;
    int eof = 0, rc = 0;
    if (cap > 1)
        rc = fill(fd, sbuf, cap - 1, &n, &eof, 1);
    if (rc)
        return rc;
    if (eof && n > 0) {
        out->file = sbuf;
        out->len = n;
        return 0;
    }
    /* Full, empty, or no buffer: an empty file is no value file, but
     * fstat tells a FIFO or a device from a regular file first. */
    return load_heap(fd, sbuf, n, out);
}

int okof__load(int dfd, const char *name, int *noatime, unsigned char *sbuf,
               size_t cap, struct okof__loaded *out)
{
    int fd = okof__io_open_read(dfd, name, noatime), rc, closed;
    out->file = NULL;
    out->len = 0;
    out->heap = 0;
    if (fd < 0)
        return fd;
    rc = load_fd(fd, sbuf, cap, out);
    closed = okof__io_close(fd);
    if (rc == 0)
        rc = closed;
    if (rc)
        okof__load_free(out);
    return rc;
}

void okof__load_free(struct okof__loaded *l)
{
    if (l->heap)
        free(l->file);
    l->file = NULL;
    l->heap = 0;
}
