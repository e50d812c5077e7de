/* okof_io.c -- POSIX I/O for okofdb (see okof_io.h). The only file that
 * makes syscalls. */
#if defined(__linux__)
#define _GNU_SOURCE /* syncfs */
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

/* mkdir path; EEXIST is success (whatever stands there is checked by the
 * open that follows). */
static int mkdir_one(const char *path)
{
    int rc;
    do
        rc = mkdir(path, 0777);
    while (rc < 0 && errno == EINTR);
    return rc == 0 || errno == EEXIST ? 0 : neg_errno();
}

/* mkdir -p: create every missing component of path. */
static int mkdir_parents(const char *path)
{
    size_t len = strlen(path), i;
    char *p = malloc(len + 1);
    int rc = 0;
    if (p == NULL)
        return -ENOMEM;
    memcpy(p, path, len + 1);
    for (i = 1; i <= len && rc == 0; i++) {
        if (p[i] != '/' && p[i] != '\0')
            continue;
        if (p[i - 1] == '/')
            continue;
        p[i] = '\0';
        rc = mkdir_one(p);
        p[i] = path[i];
    }
    free(p);
    return rc;
}

static int open_dir(const char *path)
{
    int fd;
    do
        fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    return fd < 0 ? neg_errno() : fd;
}

int okof__io_open_dir(const char *path, int create)
{
    int fd = open_dir(path), rc;
    if (fd != -ENOENT || !create)
        return fd;
    rc = mkdir_parents(path);
    return rc ? rc : open_dir(path);
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

int okof__io_syncfs(int fd)
{
#if defined(__linux__)
    int rc;
    do
        rc = syncfs(fd);
    while (rc < 0 && errno == EINTR);
    return rc < 0 ? neg_errno() : 0;
#else
    (void)fd;
    return -ENOSYS;
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

long okof__io_pid(void)
{
    return (long)getpid();
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

int okof__io_same_file(int fd, int dfd, const char *name)
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
