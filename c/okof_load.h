/* okof_load.h -- bring a whole value file into memory: into the caller's
 * buffer when it fits (no fstat, no allocation), else onto the heap. */
#ifndef OKOF_LOAD_H
#define OKOF_LOAD_H

#include <stddef.h>

struct okof__loaded {
    unsigned char *file; /* sbuf, or a malloc'd buffer when heap is set */
    size_t len;          /* bytes of the file; file[len] may be written */
    int heap;
};

/* Load file `name` of directory dfd. sbuf (cap bytes) is tried first;
 * with cap 0 (sbuf may be NULL) the file is sized with fstat and read to
 * its end. Errors: -ENOENT, -ELOOP, -EISDIR, -EINVAL (not a regular file),
 * -ENOMEM, errnos of open/read/close. *noatime is okof__io_open_read's. */
int okof__load(int dfd, const char *name, int *noatime, unsigned char *sbuf,
               size_t cap, struct okof__loaded *out);

void okof__load_free(struct okof__loaded *l);

#endif
