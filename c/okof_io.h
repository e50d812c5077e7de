/*
 * okof_io.h -- every syscall okofdb makes. Each function retries EINTR,
 * continues short reads and writes, captures errno at the failing call and
 * returns it negated (0 or a non-negative result on success).
 */
#ifndef OKOF_IO_H
#define OKOF_IO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* Open (creating it and its parents first when create is set) the
 * directory at path; returns a descriptor or -errno. With durable set,
 * every directory it makes is durable when it returns: after each mkdir
 * the parent is fsynced, and the last new directory itself. */
int okof__io_open_dir(const char *path, int create, int durable);

/* Create a new file `name` (O_EXCL, mode 0666 less the umask) in dfd;
 * returns a descriptor or -errno (-EEXIST when the name is taken). */
int okof__io_create(int dfd, const char *name);

/* Write all iovcnt vectors to fd; 0 or -errno. The vectors are changed. */
int okof__io_writev(int fd, struct iovec *iov, int iovcnt);

/* Make fd's data and metadata durable (F_FULLFSYNC where it exists). */
int okof__io_fsync(int fd);

/* Make a directory's entries durable; EINVAL (no directory fsync on
 * this file system) counts as success. */
int okof__io_fsync_dir(int dfd);

/* Start writing fd's dirty pages back without waiting (Linux's
 * sync_file_range, SYNC_FILE_RANGE_WRITE), so that the fsyncs of several
 * files overlap; a hint only: 0 where the system has no such call. It
 * makes nothing durable and is always followed by okof__io_fsync. */
int okof__io_start_writeback(int fd);

/* Close fd; 0 or -errno (EINTR counts as closed, as on Linux). */
int okof__io_close(int fd);

/* renameat(dfd, from, dfd, to), linkat(dfd, from, dfd, to, 0) and
 * unlinkat(dfd, name, 0). */
int okof__io_rename(int dfd, const char *from, const char *to);
int okof__io_link(int dfd, const char *from, const char *to);
int okof__io_unlink(int dfd, const char *name);

/* Whether names a and b in dfd are the same file (st_dev and st_ino, no
 * link followed): 1 or 0 (also when either is missing), or -errno. */
int okof__io_same_file(int dfd, const char *a, const char *b);

/* Open `name` in dfd for reading, never following a symbolic link
 * (-ELOOP) and never blocking on a FIFO. While *noatime is set, the open
 * asks that reads leave the file's access time alone (Linux's O_NOATIME:
 * a read then dirties no inode); the system allows that only to the
 * file's owner, so a refusal (EPERM) clears *noatime and opens again. */
int okof__io_open_read(int dfd, const char *name, int *noatime);

/* The size of the regular file fd; -EISDIR for a directory, -EINVAL for
 * any other kind of file. */
int okof__io_size(int fd, size_t *size);

/* One read(2) of at most cap bytes; *len is 0 at end of file. */
int okof__io_read(int fd, void *buf, size_t cap, size_t *len);

/* A directory walk over dfd's entries with its own descriptor. */
typedef struct okof__dir okof__dir;
int okof__io_dir_open(int dfd, okof__dir **dp);
/* Next entry name: 1 and *name, 0 at the end, or -errno. */
int okof__io_dir_next(okof__dir *d, const char **name);
void okof__io_dir_close(okof__dir *d);

/* Seconds since `name` in dfd was last modified, and whether it is a
 * regular file (no link followed); 0 or -errno. */
int okof__io_age(int dfd, const char *name, double *age, int *regular);

/* n bytes from the kernel's random source (getrandom(2), or /dev/urandom
 * where there is none or it would block); 0 or -errno. Never blocks. */
int okof__io_random(unsigned char *buf, size_t n);

/* 1 when descriptor fd is a terminal, 0 otherwise (isatty(3)). */
int okof__io_isatty(int fd);

/* The wall clock (CLOCK_REALTIME) in milliseconds since the Unix epoch. */
int okof__io_now_ms(int64_t *ms);

/* Open the lock file `name` in dfd (with create set, creating it, mode
 * 0666 less the umask; else -ENOENT when it does not exist) and wait for
 * an exclusive flock(2) on it; returns the descriptor, which
 * okof__io_close releases, or -errno. Each call opens the file anew, so
 * two handles of one process exclude each other too. */
int okof__io_lock(int dfd, const char *name, int create);

/* Overwrite len bytes at offset off of the file `name` in dfd with buf
 * (one pwrite(2); the file is not flushed). 0 or -errno. */
int okof__io_patch(int dfd, const char *name, size_t off, const void *buf,
                   size_t len);

/* Is `name` in dfd (no link followed) the file open as fd? 1 same, 0
 * different, or -errno (-ENOENT when nothing has the name). */
int okof__io_same_fd(int fd, int dfd, const char *name);

#endif
