/*
 * spec/powercut/recorder.c -- an LD_PRELOAD shim that records, in order,
 * every call that changes the file system under one directory, for the
 * power-cut explorer (spec/powercut/explore.lua).
 *
 * Build:  cc -shared -fPIC -O1 -o build/powercut/recorder.so \
 *             spec/powercut/recorder.c -ldl
 * Use:    OKOF_PC_ROOT=/abs/dir OKOF_PC_LOG=/abs/log \
 *         LD_PRELOAD=build/powercut/recorder.so lua5.4 workload.lua
 *
 * Only calls that succeed and name a path under OKOF_PC_ROOT (itself
 * included) are recorded; a descriptor's path is remembered from the open
 * that made it, so fsync, write and close name the file or directory they
 * act on. Each record is one line appended to OKOF_PC_LOG (paths relative
 * to the root, "." for the root itself, bytes outside [A-Za-z0-9._/-]
 * written as %XX):
 *
 *   C path            open with O_CREAT that made or opened a regular file
 *   W path off len    write/writev/pwrite/pwrite64/pwritev of len bytes at
 *                     off (pwrite's offset, or the file position of
 *                     write); the len bytes follow the newline as written
 *   T path len        ftruncate
 *   F path f|d        fsync or fdatasync of a regular file or a directory
 *   Y                 syncfs (every file and directory of the root's
 *                     file system)
 *   R from to         rename, renameat, renameat2 (flags 0)
 *   L from to         link, linkat
 *   U path            unlink, unlinkat (a directory with AT_REMOVEDIR)
 *   D path            mkdir, mkdirat
 *   X path            close
 *
 * The workload appends its own lines to the same log ("M ..." after each
 * API call returns); the log is opened with O_APPEND, so the lines of both
 * stay in the order they happened. Not thread-safe; the workload is not
 * threaded. */
#define _GNU_SOURCE
#undef _FORTIFY_SOURCE

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#define MAX_FDS 4096

static struct {
    int ready;     /* 1: recording; -1: not configured */
    int log;       /* the log's descriptor */
    char root[PATH_MAX];
    size_t rootlen;
    char *path[MAX_FDS]; /* absolute path of each descriptor under the root */
} rec;

/* Where missing, stores dlsym's answer for name in the function pointer
 * at fp (of size bytes), without a cast from void *. */
static void lookup(void *fp, size_t size, int missing, const char *name)
{
    if (missing) {
        void *p = dlsym(RTLD_NEXT, name);
        memcpy(fp, &p, size);
    }
}

/* The real function fp (looked up by name the first time). */
#define REAL(fp, name) lookup(&(fp), sizeof(fp), (fp) == NULL, (name))

/* init(), then the real function fp called with args (in parentheses). */
#define NEXT(fp, name, args) (init(), REAL(fp, name), (fp) args)

static int (*real_open)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);
static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_writev)(int, const struct iovec *, int);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*real_pwrite64)(int, const void *, size_t, off64_t);
static ssize_t (*real_pwritev)(int, const struct iovec *, int, off_t);
static int (*real_ftruncate)(int, off_t);
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static int (*real_syncfs)(int);
static int (*real_close)(int);
static int (*real_closedir)(DIR *);
static int (*real_renameat)(int, const char *, int, const char *);
static int (*real_renameat2)(int, const char *, int, const char *, unsigned);
static int (*real_rename)(const char *, const char *);
static int (*real_linkat)(int, const char *, int, const char *, int);
static int (*real_link)(const char *, const char *);
static int (*real_unlinkat)(int, const char *, int);
static int (*real_unlink)(const char *);
static int (*real_mkdirat)(int, const char *, mode_t);
static int (*real_mkdir)(const char *, mode_t);

static void init(void)
{
    const char *root, *log;
    if (rec.ready)
        return;
    rec.ready = -1;
    root = getenv("OKOF_PC_ROOT");
    log = getenv("OKOF_PC_LOG");
    REAL(real_open, "open");
    if (root == NULL || log == NULL || real_open == NULL ||
        realpath(root, rec.root) == NULL)
        return;
    rec.rootlen = strlen(rec.root);
    rec.log = real_open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
    if (rec.log >= 0)
        rec.ready = 1;
}

/* ---- paths -------------------------------------------------------------- */

/* The absolute path of `path` taken relative to dirfd, in out (PATH_MAX);
 * 0, or -1 when it cannot be known. */
static int absolute(int dirfd, const char *path, char *out)
{
    char base[PATH_MAX];
    if (path[0] == '/') {
        base[0] = '\0';
    } else if (dirfd == AT_FDCWD) {
        if (getcwd(base, sizeof base) == NULL)
            return -1;
    } else if (dirfd >= 0 && dirfd < MAX_FDS && rec.path[dirfd] != NULL) {
        snprintf(base, sizeof base, "%s", rec.path[dirfd]);
    } else {
        return -1;
    }
    if (strcmp(path, ".") == 0)
        path = "";
    if (snprintf(out, PATH_MAX, "%s%s%s", base, base[0] && path[0] ? "/" : "",
                 path) >= PATH_MAX)
        return -1;
    return 0;
}

/* The part of an absolute path below the root ("." for the root), or NULL
 * when it is not under the root. */
static const char *under_root(const char *abs)
{
    if (rec.ready != 1 || strncmp(abs, rec.root, rec.rootlen) != 0)
        return NULL;
    if (abs[rec.rootlen] == '\0')
        return ".";
    if (abs[rec.rootlen] != '/')
        return NULL;
    return abs + rec.rootlen + 1;
}

static const char *fd_rel(int fd)
{
    if (fd < 0 || fd >= MAX_FDS || rec.path[fd] == NULL)
        return NULL;
    return under_root(rec.path[fd]);
}

/* ---- the log ------------------------------------------------------------ */

struct line {
    char buf[3 * PATH_MAX + 64];
    size_t len;
};

static void put_str(struct line *l, const char *s)
{
    if (l->len + strlen(s) < sizeof l->buf) {
        memcpy(l->buf + l->len, s, strlen(s));
        l->len += strlen(s);
    }
}

static void put_path(struct line *l, const char *p)
{
    static const char hex[] = "0123456789ABCDEF";
    put_str(l, " ");
    for (; *p && l->len + 4 < sizeof l->buf; p++) {
        unsigned char c = (unsigned char)*p;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
            (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' ||
            c == '/') {
            l->buf[l->len++] = (char)c;
        } else {
            l->buf[l->len++] = '%';
            l->buf[l->len++] = hex[c >> 4];
            l->buf[l->len++] = hex[c & 15];
        }
    }
}

static void put_num(struct line *l, long long n)
{
    char s[32];
    snprintf(s, sizeof s, " %lld", n);
    put_str(l, s);
}

/* Append the line and then n data vectors, as one write where it can. */
static void emit(struct line *l, const struct iovec *data, int n)
{
    struct iovec v[1 + IOV_MAX];
    int i, cnt = 0;
    ssize_t total = 0, done = 0;
    l->buf[l->len++] = '\n';
    v[cnt].iov_base = l->buf;
    v[cnt++].iov_len = l->len;
    for (i = 0; i < n && cnt < 1 + IOV_MAX; i++)
        v[cnt++] = data[i];
    for (i = 0; i < cnt; i++)
        total += (ssize_t)v[i].iov_len;
    REAL(real_writev, "writev");
    done = real_writev(rec.log, v, cnt);
    if (done != total) /* never expected: make the log unreadable */
        abort();
}

static void record1(const char *op, const char *a, const char *b)
{
    struct line l;
    l.len = 0;
    put_str(&l, op);
    if (a)
        put_path(&l, a);
    if (b)
        put_path(&l, b);
    emit(&l, NULL, 0);
}

/* A two-path call (rename, link) under the root. */
static void record2(const char *op, int fd1, const char *p1, int fd2,
                    const char *p2)
{
    char a[PATH_MAX], b[PATH_MAX];
    const char *ra, *rb;
    if (absolute(fd1, p1, a) || absolute(fd2, p2, b))
        return;
    ra = under_root(a);
    rb = under_root(b);
    if (ra && rb)
        record1(op, ra, rb);
}

static void record_at(const char *op, int dirfd, const char *p)
{
    char a[PATH_MAX];
    const char *r;
    if (absolute(dirfd, p, a) == 0 && (r = under_root(a)) != NULL)
        record1(op, r, NULL);
}

static void record_write(int fd, off_t off, const struct iovec *v, int n)
{
    const char *r = fd_rel(fd);
    struct line l;
    long long len = 0;
    int i;
    if (r == NULL)
        return;
    for (i = 0; i < n; i++)
        len += (long long)v[i].iov_len;
    l.len = 0;
    put_str(&l, "W");
    put_path(&l, r);
    put_num(&l, (long long)off);
    put_num(&l, len);
    emit(&l, v, n);
}

/* ---- descriptors -------------------------------------------------------- */

static void remember(int fd, int dirfd, const char *path, int flags)
{
    char a[PATH_MAX];
    const char *r;
    struct stat st;
    if (fd < 0 || fd >= MAX_FDS || absolute(dirfd, path, a))
        return;
    free(rec.path[fd]);
    rec.path[fd] = NULL;
    if ((r = under_root(a)) == NULL)
        return;
    rec.path[fd] = strdup(a);
    if ((flags & O_CREAT) && fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
        record1("C", r, NULL);
}

static mode_t mode_arg(int flags, va_list ap)
{
    return (flags & O_CREAT) ? (mode_t)va_arg(ap, int) : 0;
}

int open(const char *path, int flags, ...)
{
    va_list ap;
    mode_t mode;
    int fd;
    init();
    va_start(ap, flags);
    mode = mode_arg(flags, ap);
    va_end(ap);
    REAL(real_open, "open");
    fd = real_open(path, flags, mode);
    remember(fd, AT_FDCWD, path, flags);
    return fd;
}

int openat(int dirfd, const char *path, int flags, ...)
{
    va_list ap;
    mode_t mode;
    int fd;
    init();
    va_start(ap, flags);
    mode = mode_arg(flags, ap);
    va_end(ap);
    REAL(real_openat, "openat");
    fd = real_openat(dirfd, path, flags, mode);
    remember(fd, dirfd, path, flags);
    return fd;
}

int close(int fd)
{
    const char *r;
    init();
    REAL(real_close, "close");
    if ((r = fd_rel(fd)) != NULL)
        record1("X", r, NULL);
    if (fd >= 0 && fd < MAX_FDS) {
        free(rec.path[fd]);
        rec.path[fd] = NULL;
    }
    return real_close(fd);
}

/* A directory stream closes its descriptor inside libc: forget its path
 * so that a later descriptor with the same number is not taken for it. */
int closedir(DIR *d)
{
    int fd;
    init();
    REAL(real_closedir, "closedir");
    fd = dirfd(d);
    if (fd >= 0 && fd < MAX_FDS) {
        free(rec.path[fd]);
        rec.path[fd] = NULL;
    }
    return real_closedir(d);
}

/* ---- data --------------------------------------------------------------- */

/* The bytes of iov that a write of w bytes took, in v (at most IOV_MAX
 * entries); returns how many entries. */
static int written_iov(const struct iovec *iov, int cnt, ssize_t w,
                       struct iovec *v)
{
    ssize_t left;
    int i, n = 0;
    for (left = w, i = 0; left > 0 && i < cnt && n < IOV_MAX; i++) {
        v[n] = iov[i];
        if ((ssize_t)v[n].iov_len > left)
            v[n].iov_len = (size_t)left;
        left -= (ssize_t)v[n++].iov_len;
    }
    return n;
}

/* Records a write that took w bytes of buf at off (none where w <= 0). */
static void record_buf(int fd, off_t off, const void *buf, ssize_t w)
{
    struct iovec v;
    if (w <= 0)
        return;
    v.iov_base = (void *)(size_t)buf;
    v.iov_len = (size_t)w;
    record_write(fd, off, &v, 1);
}

ssize_t write(int fd, const void *buf, size_t n)
{
    off_t off;
    ssize_t w;
    init();
    off = fd_rel(fd) ? lseek(fd, 0, SEEK_CUR) : 0;
    w = NEXT(real_write, "write", (fd, buf, n));
    record_buf(fd, off, buf, w);
    return w;
}

ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
    struct iovec v[IOV_MAX];
    off_t off;
    ssize_t w;
    init();
    REAL(real_writev, "writev");
    off = fd_rel(fd) ? lseek(fd, 0, SEEK_CUR) : 0;
    w = real_writev(fd, iov, cnt);
    if (w > 0)
        record_write(fd, off, v, written_iov(iov, cnt, w, v));
    return w;
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
    ssize_t w = NEXT(real_pwrite, "pwrite", (fd, buf, n, off));
    record_buf(fd, off, buf, w);
    return w;
}

/* The same as pwrite where off_t is 64 bits (a caller built with
 * _FILE_OFFSET_BITS=64 calls it by this name). */
ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t off)
{
    ssize_t w = NEXT(real_pwrite64, "pwrite64", (fd, buf, n, off));
    record_buf(fd, off, buf, w);
    return w;
}

ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
    struct iovec v[IOV_MAX];
    ssize_t w;
    init();
    REAL(real_pwritev, "pwritev");
    w = real_pwritev(fd, iov, cnt, off);
    if (w > 0)
        record_write(fd, off, v, written_iov(iov, cnt, w, v));
    return w;
}

int ftruncate(int fd, off_t len)
{
    const char *r;
    int rc = NEXT(real_ftruncate, "ftruncate", (fd, len));
    if (rc == 0 && (r = fd_rel(fd)) != NULL) {
        struct line l;
        l.len = 0;
        put_str(&l, "T");
        put_path(&l, r);
        put_num(&l, (long long)len);
        emit(&l, NULL, 0);
    }
    return rc;
}

/* ---- flushes ------------------------------------------------------------ */

static void record_sync(int fd)
{
    const char *r = fd_rel(fd);
    struct stat st;
    if (r != NULL && fstat(fd, &st) == 0)
        record1("F", r, S_ISDIR(st.st_mode) ? "d" : "f");
}

int fsync(int fd)
{
    int rc = NEXT(real_fsync, "fsync", (fd));
    if (rc == 0)
        record_sync(fd);
    return rc;
}

int fdatasync(int fd)
{
    int rc = NEXT(real_fdatasync, "fdatasync", (fd));
    if (rc == 0)
        record_sync(fd);
    return rc;
}

int syncfs(int fd)
{
    int rc = NEXT(real_syncfs, "syncfs", (fd));
    if (rc == 0 && fd_rel(fd) != NULL)
        record1("Y", NULL, NULL);
    return rc;
}

/* ---- names -------------------------------------------------------------- */

int renameat(int fd1, const char *p1, int fd2, const char *p2)
{
    int rc = NEXT(real_renameat, "renameat", (fd1, p1, fd2, p2));
    if (rc == 0)
        record2("R", fd1, p1, fd2, p2);
    return rc;
}

int renameat2(int fd1, const char *p1, int fd2, const char *p2, unsigned fl)
{
    int rc;
    init();
    REAL(real_renameat2, "renameat2");
    if (real_renameat2 == NULL) {
        errno = ENOSYS;
        return -1;
    }
    rc = real_renameat2(fd1, p1, fd2, p2, fl);
    if (rc == 0 && fl == 0)
        record2("R", fd1, p1, fd2, p2);
    return rc;
}

int rename(const char *p1, const char *p2)
{
    int rc = NEXT(real_rename, "rename", (p1, p2));
    if (rc == 0)
        record2("R", AT_FDCWD, p1, AT_FDCWD, p2);
    return rc;
}

int linkat(int fd1, const char *p1, int fd2, const char *p2, int flags)
{
    int rc = NEXT(real_linkat, "linkat", (fd1, p1, fd2, p2, flags));
    if (rc == 0)
        record2("L", fd1, p1, fd2, p2);
    return rc;
}

int link(const char *p1, const char *p2)
{
    int rc = NEXT(real_link, "link", (p1, p2));
    if (rc == 0)
        record2("L", AT_FDCWD, p1, AT_FDCWD, p2);
    return rc;
}

int unlinkat(int dirfd, const char *p, int flags)
{
    int rc = NEXT(real_unlinkat, "unlinkat", (dirfd, p, flags));
    if (rc == 0)
        record_at("U", dirfd, p);
    return rc;
}

int unlink(const char *p)
{
    int rc = NEXT(real_unlink, "unlink", (p));
    if (rc == 0)
        record_at("U", AT_FDCWD, p);
    return rc;
}

int mkdirat(int dirfd, const char *p, mode_t mode)
{
    int rc = NEXT(real_mkdirat, "mkdirat", (dirfd, p, mode));
    if (rc == 0)
        record_at("D", dirfd, p);
    return rc;
}

int mkdir(const char *p, mode_t mode)
{
    int rc = NEXT(real_mkdir, "mkdir", (p, mode));
    if (rc == 0)
        record_at("D", AT_FDCWD, p);
    return rc;
}
