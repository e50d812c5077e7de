/* okof_io.c -- POSIX I/O for okofdb (see okof_io.h). The only file that
 * makes syscalls. */
#if defined(__linux__)
#define _GNU_SOURCE /* sync_file_range */
#else
#define _XOPEN_SOURCE 700
#endif
#if defined(__APPLE__)
#define _DARWIN_C_SOURCE
#endif
#include "okof_io.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#if defined(__linux__) && defined(__GLIBC__) && \
    (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 25))
#include <sys/random.h>
#define OKOF_HAVE_GETRANDOM 1
#endif

#ifndef O_CLOEXEC
#define O_CLOEXEC 0
#endif
#ifndef IOV_MAX
#define IOV_MAX 1024
#endif
#ifndef O_DIRECTORY
#define O_DIRECTORY 0
#endif

/* Negated errno of the call that just failed. */
static int neg_errno(void)
{
    return errno ? -errno : -EIO;
}

/* ---- directories -------------------------------------------------------- */

/* mkdir path: 1 when it made it, 0 when something stood there already
 * (the open that follows checks what), or -errno. */
static int mkdir_one(const char *path)
{
    int rc;
    do
        rc = mkdir(path, 0777);
    while (rc < 0 && errno == EINTR);
    if (rc == 0)
        return 1;
    return errno == EEXIST ? 0 : neg_errno();
}

static int open_dir(const char *path)
{
    int fd;
    do
        fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    return fd < 0 ? neg_errno() : fd;
}

/* fsync the directory at path. */
static int fsync_path(const char *path)
{
    int fd = open_dir(path), rc, crc;
    if (fd < 0)
        return fd;
    rc = okof__io_fsync_dir(fd);
    crc = okof__io_close(fd);
    return rc ? rc : crc;
}

/* fsync the directory that holds the last component of p (p[0..end) is
 * that component's path): "/" for "/x", "." for a relative "x". */
static int fsync_parent(char *p, size_t end)
{
    size_t cut = end;
    char saved;
    int rc;
    while (cut > 0 && p[cut - 1] != '/')
        cut--;
    if (cut == 0)
        return fsync_path(".");
    while (cut > 1 && p[cut - 1] == '/')
        cut--; /* "a//b": the parent is "a" */
    saved = p[cut];
    p[cut] = '\0';
    rc = fsync_path(p);
    p[cut] = saved;
    return rc;
}

/* mkdir -p: create every missing component of path; with durable set,
 * each new directory's entry is made durable (its parent fsynced) before
 * the next level is made. *made is set when the last component was made. */
static int mkdir_parents(const char *path, int durable, int *made)
{
    size_t len = strlen(path), i;
    char *p = malloc(len + 1);
    int rc = 0;
    if (p == NULL)
        return -ENOMEM;
    memcpy(p, path, len + 1);
    for (i = 1; i <= len && rc >= 0; i++) {
        if (p[i] != '/' && p[i] != '\0')
            continue;
        if (p[i - 1] == '/')
            continue;
        p[i] = '\0';
        rc = mkdir_one(p);
        *made = rc == 1;
        if (rc == 1 && durable)
            rc = fsync_parent(p, i);
        p[i] = path[i];
    }
    free(p);
    return rc < 0 ? rc : 0;
}

int okof__io_open_dir(const char *path, int create, int durable)
{
    int fd = open_dir(path), rc, made = 0;
    if (fd != -ENOENT || !create)
        return fd;
    rc = mkdir_parents(path, durable, &made);
    if (rc)
        return rc;
    fd = open_dir(path);
    if (fd < 0 || !(made && durable))
        return fd;
    /* The new directory itself: its inode and (empty) entries. */
    if ((rc = okof__io_fsync_dir(fd)) != 0) {
        okof__io_close(fd);
        return rc;
    }
    return fd;
}

/* ---- writing ------------------------------------------------------------ */

int okof__io_create(int dfd, const char *name)
{
    int fd;
    do
        fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    while (fd < 0 && errno == EINTR);
    return fd < 0 ? neg_errno() : fd;
}

/* Drop n written bytes from the front of the vectors. */
static void advance(struct iovec **iov, int *cnt, size_t n)
{
    while (*cnt > 0 && n >= (*iov)->iov_len) {
        n -= (*iov)->iov_len;
        (*iov)++;
        (*cnt)--;
    }
    if (*cnt > 0) {
        (*iov)->iov_base = (char *)(*iov)->iov_base + n;
        (*iov)->iov_len -= n;
    }
}

int okof__io_writev(int fd, struct iovec *iov, int iovcnt)
{
    while (iovcnt > 0) {
        int cnt = iovcnt < IOV_MAX ? iovcnt : IOV_MAX;
        ssize_t w = cnt == 1 ? write(fd, iov->iov_base, iov->iov_len)
                             : writev(fd, iov, cnt);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return neg_errno();
        }
        advance(&iov, &iovcnt, (size_t)w);
    }
    return 0;
}

int okof__io_fsync(int fd)
{
    int rc;
#ifdef F_FULLFSYNC
    if (fcntl(fd, F_FULLFSYNC) == 0)
        return 0;
#endif
    do
        rc = fsync(fd);
    while (rc < 0 && errno == EINTR);
    return rc < 0 ? neg_errno() : 0;
}

int okof__io_fsync_dir(int dfd)
{
    int rc = okof__io_fsync(dfd);
    return rc == -EINVAL ? 0 : rc;
}

int okof__io_start_writeback(int fd)
{
#if defined(__linux__) && defined(SYNC_FILE_RANGE_WRITE)
    int rc;
    do
        rc = sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
    while (rc < 0 && errno == EINTR);
    /* Refused (ENOSYS: a filter; EINVAL, ESPIPE: a file that cannot): a
     * hint only, the fsync that follows does the work. */
    if (rc < 0 && errno != ENOSYS && errno != EINVAL && errno != ESPIPE)
        return neg_errno();
    return 0;
#else
    (void)fd;
    return 0;
#endif
}

int okof__io_close(int fd)
{
    if (close(fd) == 0 || errno == EINTR)
        return 0;
    return neg_errno();
}

int okof__io_rename(int dfd, const char *from, const char *to)
{
    int rc;
    do
        rc = renameat(dfd, from, dfd, to);
    while (rc < 0 && errno == EINTR);
    return rc < 0 ? neg_errno() : 0;
}

int okof__io_link(int dfd, const char *from, const char *to)
{
    int rc;
    do
        rc = linkat(dfd, from, dfd, to, 0);
    while (rc < 0 && errno == EINTR);
    return rc < 0 ? neg_errno() : 0;
}

static int stat_at(int dfd, const char *name, struct stat *st)
{
    int rc;
    do
        rc = fstatat(dfd, name, st, AT_SYMLINK_NOFOLLOW);
    while (rc < 0 && errno == EINTR);
    return rc < 0 ? neg_errno() : 0;
}

int okof__io_same_file(int dfd, const char *a, const char *b)
{
    struct stat sa, sb;
    int rc = stat_at(dfd, a, &sa);
    if (rc == 0)
        rc = stat_at(dfd, b, &sb);
    if (rc == -ENOENT)
        return 0;
    if (rc < 0)
        return rc;
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

int okof__io_unlink(int dfd, const char *name)
{
    int rc;
    do
        rc = unlinkat(dfd, name, 0);
    while (rc < 0 && errno == EINTR);
    return rc < 0 ? neg_errno() : 0;
}

/* ---- reading ------------------------------------------------------------ */

int okof__io_open_read(int dfd, const char *name, int *noatime)
{
    int flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, fd;
#ifdef O_NOATIME
    if (*noatime)
        flags |= O_NOATIME;
#else
    (void)noatime;
#endif
    do
        fd = openat(dfd, name, flags);
    while (fd < 0 && errno == EINTR);
#ifdef O_NOATIME
    if (fd < 0 && errno == EPERM && *noatime) {
        *noatime = 0; /* not the files' owner: ask no more */
        return okof__io_open_read(dfd, name, noatime);
    }
#endif
    return fd < 0 ? neg_errno() : fd;
}

int okof__io_size(int fd, size_t *size)
{
    struct stat st;
    int rc;
    do
        rc = fstat(fd, &st);
    while (rc < 0 && errno == EINTR);
    if (rc < 0)
        return neg_errno();
    if (S_ISDIR(st.st_mode))
        return -EISDIR;
    if (!S_ISREG(st.st_mode))
        return -EINVAL;
    if ((unsigned long long)st.st_size >= (unsigned long long)SIZE_MAX)
        return -EFBIG;
    *size = (size_t)st.st_size;
    return 0;
}

int okof__io_read(int fd, void *buf, size_t cap, size_t *len)
{
    ssize_t r;
    do
        r = read(fd, buf, cap);
    while (r < 0 && errno == EINTR);
    if (r < 0)
        return neg_errno();
    *len = (size_t)r;
    return 0;
}

/* ---- walking a directory ------------------------------------------------ */

struct okof__dir {
    DIR *dir;
};

int okof__io_dir_open(int dfd, okof__dir **dp)
{
    okof__dir *d = malloc(sizeof *d);
    int fd;
    if (d == NULL)
        return -ENOMEM;
    do
        fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    if (fd < 0 || (d->dir = fdopendir(fd)) == NULL) {
        int rc = neg_errno();
        if (fd >= 0)
            close(fd);
        free(d);
        return rc;
    }
    *dp = d;
    return 0;
}

int okof__io_dir_next(okof__dir *d, const char **name)
{
    struct dirent *e;
    do {
        errno = 0;
        e = readdir(d->dir);
    } while (e == NULL && errno == EINTR);
    if (e == NULL)
        return errno ? -errno : 0;
    *name = e->d_name;
    return 1;
}

void okof__io_dir_close(okof__dir *d)
{
    if (d == NULL)
        return;
    closedir(d->dir);
    free(d);
}

/* ---- metadata ----------------------------------------------------------- */

static double ts_seconds(const struct timespec *ts)
{
    return (double)ts->tv_sec + (double)ts->tv_nsec * 1e-9;
}

int okof__io_age(int dfd, const char *name, double *age, int *regular)
{
    struct stat st;
    struct timespec now;
    int rc;
    do
        rc = fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW);
    while (rc < 0 && errno == EINTR);
    if (rc < 0)
        return neg_errno();
    if (clock_gettime(CLOCK_REALTIME, &now) != 0)
        return neg_errno();
#if defined(__APPLE__)
    *age = ts_seconds(&now) - ts_seconds(&st.st_mtimespec);
#else
    *age = ts_seconds(&now) - ts_seconds(&st.st_mtim);
#endif
    *regular = S_ISREG(st.st_mode) != 0;
    return 0;
}

/* ---- randomness ---------------------------------------------------------- */

/* n bytes from /dev/urandom. */
static int urandom(unsigned char *buf, size_t n)
{
    int fd, rc = 0;
    size_t got = 0;
    do
        fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return neg_errno();
    while (got < n && rc == 0) {
        size_t len = 0;
        rc = okof__io_read(fd, buf + got, n - got, &len);
        if (rc == 0 && len == 0)
            rc = -EIO; /* a random device has no end */
        got += len;
    }
    okof__io_close(fd);
    return rc;
}

int okof__io_random(unsigned char *buf, size_t n)
{
#ifdef OKOF_HAVE_GETRANDOM
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom(buf + got, n - got, GRND_NONBLOCK);
        if (r < 0 && errno == EINTR)
            continue;
        /* ENOSYS: a kernel before 3.17 (or a filter); EAGAIN: early boot,
         * the pool not yet seeded: /dev/urandom answers without waiting
         * (a name need not be secret, only unforeseeable to squatters). */
        if (r < 0 && (errno == ENOSYS || errno == EAGAIN))
            return urandom(buf, n);
        if (r < 0)
            return neg_errno();
        got += (size_t)r;
    }
    return 0;
#else
    return urandom(buf, n);
#endif
}

int okof__io_isatty(int fd)
{
    return isatty(fd) == 1;
}

/* ---- expiry: the clock, the lock, file identity -------------------------- */

int okof__io_now_ms(int64_t *ms)
{
    struct timespec now;
    if (clock_gettime(CLOCK_REALTIME, &now) != 0)
        return neg_errno();
    *ms = (int64_t)now.tv_sec * 1000 + (int64_t)(now.tv_nsec / 1000000);
    return 0;
}

int okof__io_lock(int dfd, const char *name, int create)
{
    int flags = O_RDWR | O_CLOEXEC | O_NOFOLLOW | (create ? O_CREAT : 0);
    int fd, rc;
    do
        fd = openat(dfd, name, flags, 0666);
    while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return neg_errno();
    do
        rc = flock(fd, LOCK_EX);
    while (rc < 0 && errno == EINTR);
    if (rc < 0) {
        rc = neg_errno();
        close(fd);
        return rc;
    }
    return fd;
}

int okof__io_same_fd(int fd, int dfd, const char *name)
{
    struct stat a, b;
    int rc;
    do
        rc = fstat(fd, &a);
    while (rc < 0 && errno == EINTR);
    if (rc == 0)
        do
            rc = fstatat(dfd, name, &b, AT_SYMLINK_NOFOLLOW);
        while (rc < 0 && errno == EINTR);
    if (rc < 0)
        return neg_errno();
    return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

int okof__io_patch(int dfd, const char *name, size_t off, const void *buf,
                   size_t len)
{
    ssize_t w;
    int fd, rc;
    do
        fd = openat(dfd, name, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
    while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return neg_errno();
    do
        w = pwrite(fd, buf, len, (off_t)off);
    while (w < 0 && errno == EINTR);
    rc = w < 0 ? neg_errno() : (size_t)w != len ? -EIO : 0;
    if (close(fd) != 0 && errno != EINTR && rc == 0)
        rc = neg_errno();
    return rc;
}
