/*
 * spec/faults/shim.c -- an LD_PRELOAD fault-injection shim for okofdb's
 * specs, and the Lua module `okoffault` that drives it.
 *
 * Build:  cc -shared -fPIC -O1 -o build/faults/shim.so spec/faults/shim.c -ldl
 * Use:    LD_PRELOAD=build/faults/shim.so lua5.4 busted spec/faults
 *         F = package.loadlib("build/faults/shim.so", "luaopen_okoffault")()
 *
 * The shim defines the libc functions through which okofdb reaches the
 * kernel (open, read, write, fsync, close, rename, unlink, stat, mkdir,
 * link, sync_file_range and the directory stream functions). Preloaded, its definitions come first
 * in the symbol lookup, so okofdb's calls land here; each hook forwards to
 * the real function found with dlsym(RTLD_NEXT, ...).
 *
 * While disarmed a hook only forwards. Armed, a hook counts the call by
 * kind -- but only when it comes straight from an object whose file name
 * contains the filter (by default "okofdb/core.so"), so that calls of the
 * interpreter, of the garbage collector or of libc itself are never counted
 * -- and makes the Nth call of the armed kind fail once:
 *   - an errno (ENOSPC, EIO, EACCES, ...): the call returns -1 (or NULL)
 *     with that errno and does nothing, except close and closedir, which
 *     release the descriptor first and then report the error, as Linux's
 *     close(2) does;
 *   - EINTR: the same, once; a caller that retries then goes through;
 *   - SHORT (read and write only): the call transfers only part of what it
 *     could, as a signal or a full pipe can make it do;
 *   - EEXIST_DONE (link only): the link is made, and then EEXIST is
 *     reported, as NFS does when the reply to a link(2) is lost and the
 *     retransmitted request finds the name taken.
 *
 * The same file, loaded again with package.loadlib, is the control module:
 * dlopen finds the preloaded object and returns it, so both share one
 * state. It uses no Lua header: the few Lua API functions it needs are
 * looked up at run time, and they have the same signatures in Lua 5.1 to
 * 5.4 and LuaJIT. Nothing here is thread-safe; the specs are not threaded.
 */
#define _GNU_SOURCE
#undef _FORTIFY_SOURCE

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

/* ---- what is counted ---------------------------------------------------- */

enum kind {
    K_OPEN,     /* open open64 openat openat64 __open_2 ... */
    K_READ,     /* read __read_chk */
    K_WRITE,    /* write writev */
    K_FSYNC,    /* fsync fdatasync */
    K_CLOSE,    /* close */
    K_RENAME,   /* rename renameat renameat2 */
    K_UNLINK,   /* unlink unlinkat */
    K_STAT,     /* fstat fstatat stat lstat and their 64 forms */
    K_MKDIR,    /* mkdir mkdirat */
    K_OPENDIR,  /* opendir fdopendir */
    K_READDIR,  /* readdir readdir64 getdents64 */
    K_CLOSEDIR, /* closedir */
    K_LINK,     /* link linkat */
    K_SYNCRANGE, /* sync_file_range */
    K_NKINDS
};

static const char *const kind_names[K_NKINDS] = {
    "open",   "read",  "write",   "fsync",   "close",   "rename",
    "unlink", "stat",  "mkdir",   "opendir", "readdir", "closedir",
    "link",   "syncrange"};

/* What an armed fault does besides failing with an errno. */
#define SHORT_IO (-1)
#define EEXIST_DONE (-2)

struct errname {
    const char *name;
    int value;
};

static const struct errname errnames[] = {
    {"ENOSPC", ENOSPC}, {"EIO", EIO},         {"EACCES", EACCES},
    {"EINTR", EINTR},   {"EINVAL", EINVAL},   {"EDQUOT", EDQUOT},
    {"EROFS", EROFS},   {"EPERM", EPERM},     {"EMFILE", EMFILE},
    {"ENFILE", ENFILE}, {"ENOMEM", ENOMEM},   {"ENOENT", ENOENT},
    {"EEXIST", EEXIST}, {"EBADF", EBADF},     {"EXDEV", EXDEV},
    {"ENOTDIR", ENOTDIR}, {"EISDIR", EISDIR}, {"ELOOP", ELOOP},
    {"EFBIG", EFBIG},   {"ESTALE", ESTALE},   {"EAGAIN", EAGAIN},
    {"ENAMETOOLONG", ENAMETOOLONG},           {"SHORT", SHORT_IO},
    {"EEXIST_DONE", EEXIST_DONE},
    {NULL, 0}};

#define TRACE_MAX 512
#define TRACE_LEN 80
#define FILTER_LEN 256

static struct {
    int armed;
    enum kind kind;  /* the kind to fail */
    long nth;        /* which call of it, from 1; 0: count only */
    int err;         /* errno to fail with, or SHORT_IO */
    int fired;       /* the fault has been injected */
    long counts[K_NKINDS];
    long ntrace;     /* calls seen, traced or not */
    char trace[TRACE_MAX][TRACE_LEN];
    char filter[FILTER_LEN]; /* caller's file name must contain this */
} st = {0, K_OPEN, 0, 0, 0, {0}, 0, {{0}}, "okofdb/core.so"};

/* ---- the real functions ------------------------------------------------- */

/* dlsym's answer as a function pointer, without a cast from void *. */
#define REAL(fp, name)                                  \
    do {                                                \
        if ((fp) == NULL) {                             \
            void *p_ = dlsym(RTLD_NEXT, (name));        \
            memcpy(&(fp), &p_, sizeof(fp));             \
        }                                               \
    } while (0)

/* A real function that is missing (an older libc): fail with ENOSYS. */
#define REAL_OR_ENOSYS(fp, name, failval) \
    do {                                  \
        REAL(fp, name);                   \
        if ((fp) == NULL) {               \
            errno = ENOSYS;               \
            return failval;               \
        }                                 \
    } while (0)

static int (*real_open)(const char *, int, ...);
static int (*real_open64)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);
static int (*real_openat64)(int, const char *, int, ...);
static int (*real___open_2)(const char *, int);
static int (*real___open64_2)(const char *, int);
static int (*real___openat_2)(int, const char *, int);
static int (*real___openat64_2)(int, const char *, int);
static ssize_t (*real_read)(int, void *, size_t);
static ssize_t (*real___read_chk)(int, void *, size_t, size_t);
static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_writev)(int, const struct iovec *, int);
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static int (*real_close)(int);
static int (*real_rename)(const char *, const char *);
static int (*real_renameat)(int, const char *, int, const char *);
static int (*real_renameat2)(int, const char *, int, const char *, unsigned);
static int (*real_link)(const char *, const char *);
static int (*real_linkat)(int, const char *, int, const char *, int);
static int (*real_sync_file_range)(int, off_t, off_t, unsigned int);
static int (*real_unlink)(const char *);
static int (*real_unlinkat)(int, const char *, int);
static int (*real_fstat)(int, struct stat *);
static int (*real_fstat64)(int, struct stat64 *);
static int (*real_fstatat)(int, const char *, struct stat *, int);
static int (*real_fstatat64)(int, const char *, struct stat64 *, int);
static int (*real_stat)(const char *, struct stat *);
static int (*real_stat64)(const char *, struct stat64 *);
static int (*real_lstat)(const char *, struct stat *);
static int (*real_lstat64)(const char *, struct stat64 *);
static int (*real_mkdir)(const char *, mode_t);
static int (*real_mkdirat)(int, const char *, mode_t);
static DIR *(*real_opendir)(const char *);
static DIR *(*real_fdopendir)(int);
static struct dirent *(*real_readdir)(DIR *);
static struct dirent64 *(*real_readdir64)(DIR *);
static ssize_t (*real_getdents64)(int, void *, size_t);
static int (*real_closedir)(DIR *);

/* ---- deciding ----------------------------------------------------------- */

/* Does the call come from the code under test? */
static int from_target(const void *caller)
{
    Dl_info info;
    if (st.filter[0] == '\0')
        return 1;
    if (caller == NULL || dladdr(caller, &info) == 0 || info.dli_fname == NULL)
        return 0;
    return strstr(info.dli_fname, st.filter) != NULL;
}

/* The last part of a path, at most TRACE_LEN/2 bytes of it. */
static const char *tail(const char *path)
{
    size_t n;
    if (path == NULL)
        return "(null)";
    n = strlen(path);
    return n > TRACE_LEN / 2 ? path + n - TRACE_LEN / 2 : path;
}

static void record(const char *sym, const char *path, long num, int fired)
{
    char *t;
    if (st.ntrace < TRACE_MAX) {
        t = st.trace[st.ntrace];
        if (path != NULL)
            snprintf(t, TRACE_LEN, "%s(%s)%s", sym, tail(path),
                     fired ? " <- fault" : "");
        else
            snprintf(t, TRACE_LEN, "%s(%ld)%s", sym, num,
                     fired ? " <- fault" : "");
    }
    st.ntrace++;
}

/*
 * Count a call of kind k made through symbol sym and say what to do with
 * it: 0 to forward it, an errno to fail it with, SHORT_IO to shorten it.
 * path or num describe the call in the trace. Leaves errno alone.
 */
static int decide(enum kind k, const char *sym, const void *caller,
                  const char *path, long num)
{
    int saved = errno, act = 0;
    if (!st.armed || !from_target(caller)) {
        errno = saved;
        return 0;
    }
    st.counts[k]++;
    if (!st.fired && st.nth > 0 && k == st.kind && st.counts[k] == st.nth) {
        st.fired = 1;
        act = st.err;
    }
    record(sym, path, num, act != 0);
    errno = saved;
    return act;
}

#define CALLER __builtin_return_address(0)

/* Fail with e: set errno and return failval. */
#define FAIL_WITH(e, failval) \
    do {                      \
        errno = (e);          \
        return failval;       \
    } while (0)

/* The mode argument of open when the flags say there is one. */
static mode_t open_mode(int flags, va_list ap)
{
#ifdef O_TMPFILE
    if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE)
#else
    if (flags & O_CREAT)
#endif
        return (mode_t)va_arg(ap, unsigned int);
    return 0;
}

/* ---- open --------------------------------------------------------------- */

int open(const char *path, int flags, ...)
{
    va_list ap;
    mode_t mode;
    int act;
    va_start(ap, flags);
    mode = open_mode(flags, ap);
    va_end(ap);
    act = decide(K_OPEN, "open", CALLER, path, 0);
    REAL_OR_ENOSYS(real_open, "open", -1);
    if (act > 0)
        FAIL_WITH(act, -1);
    return real_open(path, flags, mode);
}

int open64(const char *path, int flags, ...)
{
    va_list ap;
    mode_t mode;
    int act;
    va_start(ap, flags);
    mode = open_mode(flags, ap);
    va_end(ap);
    act = decide(K_OPEN, "open64", CALLER, path, 0);
    REAL_OR_ENOSYS(real_open64, "open64", -1);
    if (act > 0)
        FAIL_WITH(act, -1);
    return real_open64(path, flags, mode);
}

int openat(int dfd, const char *path, int flags, ...)
{
    va_list ap;
    mode_t mode;
    int act;
    va_start(ap, flags);
    mode = open_mode(flags, ap);
    va_end(ap);
    act = decide(K_OPEN, "openat", CALLER, path, 0);
    REAL_OR_ENOSYS(real_openat, "openat", -1);
    if (act > 0)
        FAIL_WITH(act, -1);
    return real_openat(dfd, path, flags, mode);
}

int openat64(int dfd, const char *path, int flags, ...)
{
    va_list ap;
    mode_t mode;
    int act;
    va_start(ap, flags);
    mode = open_mode(flags, ap);
    va_end(ap);
    act = decide(K_OPEN, "openat64", CALLER, path, 0);
    REAL_OR_ENOSYS(real_openat64, "openat64", -1);
    if (act > 0)
        FAIL_WITH(act, -1);
    return real_openat64(dfd, path, flags, mode);
}

/* What a build with _FORTIFY_SOURCE calls instead of open and openat. */
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dfd, const char *path, int flags);
int __openat64_2(int dfd, const char *path, int flags);

int __open_2(const char *path, int flags)
{
    int act = decide(K_OPEN, "__open_2", CALLER, path, 0);
    REAL_OR_ENOSYS(real___open_2, "__open_2", -1);
    if (act > 0)
        FAIL_WITH(act, -1);
    return real___open_2(path, flags);
}

int __open64_2(const char *path, int flags)
{
    int act = decide(K_OPEN, "__open64_2", CALLER, path, 0);
    REAL_OR_ENOSYS(real___open64_2, "__open64_2", -1);
    if (act > 0)
        FAIL_WITH(act, -1);
    return real___open64_2(path, flags);
}

int __openat_2(int dfd, const char *path, int flags)
{
    int act = decide(K_OPEN, "__openat_2", CALLER, path, 0);
    REAL_OR_ENOSYS(real___openat_2, "__openat_2", -1);
    if (act > 0)
        FAIL_WITH(act, -1);
    return real___openat_2(dfd, path, flags);
}

int __openat64_2(int dfd, const char *path, int flags)
{
    int act = decide(K_OPEN, "__openat64_2", CALLER, path, 0);
    REAL_OR_ENOSYS(real___openat64_2, "__openat64_2", -1);
    if (act > 0)
        FAIL_WITH(act, -1);
    return real___openat64_2(dfd, path, flags);
}

/* ---- read and write ----------------------------------------------------- */

/* A short read: read, then give back the second half of what came. */
static ssize_t short_read(int fd, void *buf, size_t n)
{
    ssize_t r = real_read(fd, buf, n), keep;
    if (r < 2)
        return r;
    keep = r / 2;
    if (lseek(fd, (off_t)(keep - r), SEEK_CUR) < 0)
        return r; /* not seekable: no shortening possible */
    return keep;
}

ssize_t read(int fd, void *buf, size_t n)
{
    int act = decide(K_READ, "read", CALLER, NULL, fd);
    REAL_OR_ENOSYS(real_read, "read", -1);
    if (act == SHORT_IO)
        return short_read(fd, buf, n);
    if (act > 0)
        FAIL_WITH(act, -1);
    return real_read(fd, buf, n);
}

ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen);

ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
    int act = decide(K_READ, "__read_chk", CALLER, NULL, fd);
    REAL_OR_ENOSYS(real___read_chk, "__read_chk", -1);
    REAL_OR_ENOSYS(real_read, "read", -1);
    if (act == SHORT_IO && n <= buflen)
        return short_read(fd, buf, n);
    if (act > 0)
        FAIL_WITH(act, -1);
    return real___read_chk(fd, buf, n, buflen);
}

ssize_t write(int fd, const void *buf, size_t n)
{
    int act = decide(K_WRITE, "write", CALLER, NULL, fd);
    REAL_OR_ENOSYS(real_write, "write", -1);
    if (act == SHORT_IO && n > 1)
        return real_write(fd, buf, n / 2);
    if (act > 0)
        FAIL_WITH(act, -1);
    return real_write(fd, buf, n);
}

ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
    int act = decide(K_WRITE, "writev", CALLER, NULL, fd);
    REAL_OR_ENOSYS(real_writev, "writev", -1);
    REAL_OR_ENOSYS(real_write, "write", -1);
    if (act == SHORT_IO && cnt > 0) /* half of the first vector at most */
        return real_write(fd, iov[0].iov_base,
                          iov[0].iov_len > 1 ? iov[0].iov_len / 2 : iov[0].iov_len);
    if (act > 0)
        FAIL_WITH(act, -1);
    return real_writev(fd, iov, cnt);
}

/* ---- fsync and close ---------------------------------------------------- */

int fsync(int fd)
{
    int act = decide(K_FSYNC, "fsync", CALLER, NULL, fd);
    REAL_OR_ENOSYS(real_fsync, "fsync", -1);
    if (act > 0)
        FAIL_WITH(act, -1);
    return real_fsync(fd);
}

int fdatasync(int fd)
{
    int act = decide(K_FSYNC, "fdatasync", CALLER, NULL, fd);
    REAL_OR_ENOSYS(real_fdatasync, "fdatasync", -1);
    if (act > 0)
        FAIL_WITH(act, -1);
    return real_fdatasync(fd);
}

/* Linux releases the descriptor whatever close(2) then reports. */
int close(int fd)
{
    int act = decide(K_CLOSE, "close", CALLER, NULL, fd);
    int rc;
    REAL_OR_ENOSYS(real_close, "close", -1);
    rc = real_close(fd);
    if (act > 0 && rc == 0)
        FAIL_WITH(act, -1);
    return rc;
}

/* ---- names -------------------------------------------------------------- */

int rename(const char *from, const char *to)
{
    int act = decide(K_RENAME, "rename", CALLER, to, 0);
    REAL_OR_ENOSYS(real_rename, "rename", -1);
    if (act > 0)
        FAIL_WITH(act, -1);
    return real_rename(from, to);
}

int renameat(int fdfrom, const char *from, int fdto, const char *to)
{
    int act = decide(K_RENAME, "renameat", CALLER, to, 0);
    REAL_OR_ENOSYS(real_renameat, "renameat", -1);
    if (act > 0)
        FAIL_WITH(act, -1);
    return real_renameat(fdfrom, from, fdto, to);
}

int renameat2(int fdfrom, const char *from, int fdto, const char *to,
              unsigned flags)
{
    int act = decide(K_RENAME, "renameat2", CALLER, to, 0);
    REAL_OR_ENOSYS(real_renameat2, "renameat2", -1);
    if (act > 0)
        FAIL_WITH(act, -1);
    return real_renameat2(fdfrom, from, fdto, to, flags);
}

/* EEXIST_DONE: the link is made, then EEXIST is reported. */
static int link_result(int act, int rc)
{
    if (act == EEXIST_DONE && rc == 0)
        FAIL_WITH(EEXIST, -1);
    return rc;
}

int link(const char *from, const char *to)
{
    int act = decide(K_LINK, "link", CALLER, to, 0);
    REAL_OR_ENOSYS(real_link, "link", -1);
    if (act > 0)
        FAIL_WITH(act, -1);
    return link_result(act, real_link(from, to));
}

int linkat(int fdfrom, const char *from, int fdto, const char *to, int flags)
{
    int act = decide(K_LINK, "linkat", CALLER, to, 0);
    REAL_OR_ENOSYS(real_linkat, "linkat", -1);
    if (act > 0)
        FAIL_WITH(act, -1);
    return link_result(act, real_linkat(fdfrom, from, fdto, to, flags));
}

int sync_file_range(int fd, off_t off, off_t n, unsigned int flags)
{
    int act = decide(K_SYNCRANGE, "sync_file_range", CALLER, NULL, fd);
    REAL_OR_ENOSYS(real_sync_file_range, "sync_file_range", -1);
    if (act > 0)
        FAIL_WITH(act, -1);
    return real_sync_file_range(fd, off, n, flags);
}

int unlink(const char *path)
{
    int act = decide(K_UNLINK, "unlink", CALLER, path, 0);
    REAL_OR_ENOSYS(real_unlink, "unlink", -1);
    if (act > 0)
        FAIL_WITH(act, -1);
    return real_unlink(path);
}

int unlinkat(int dfd, const char *path, int flags)
{
    int act = decide(K_UNLINK, "unlinkat", CALLER, path, 0);
    REAL_OR_ENOSYS(real_unlinkat, "unlinkat", -1);
    if (act > 0)
        FAIL_WITH(act, -1);
    return real_unlinkat(dfd, path, flags);
}

int mkdir(const char *path, mode_t mode)
{
    int act = decide(K_MKDIR, "mkdir", CALLER, path, 0);
    REAL_OR_ENOSYS(real_mkdir, "mkdir", -1);
    if (act > 0)
        FAIL_WITH(act, -1);
    return real_mkdir(path, mode);
}

int mkdirat(int dfd, const char *path, mode_t mode)
{
    int act = decide(K_MKDIR, "mkdirat", CALLER, path, 0);
    REAL_OR_ENOSYS(real_mkdirat, "mkdirat", -1);
    if (act > 0)
        FAIL_WITH(act, -1);
    return real_mkdirat(dfd, path, mode);
}

/* ---- stat: glibc 2.33 and later export these names themselves ---------- */

int fstat(int fd, struct stat *sb)
{
    int act = decide(K_STAT, "fstat", CALLER, NULL, fd);
    REAL_OR_ENOSYS(real_fstat, "fstat", -1);
    if (act > 0)
        FAIL_WITH(act, -1);
    return real_fstat(fd, sb);
}

int fstat64(int fd, struct stat64 *sb)
{
    int act = decide(K_STAT, "fstat64", CALLER, NULL, fd);
    REAL_OR_ENOSYS(real_fstat64, "fstat64", -1);
    if (act > 0)
        FAIL_WITH(act, -1);
    return real_fstat64(fd, sb);
}

int fstatat(int dfd, const char *path, struct stat *sb, int flags)
{
    int act = decide(K_STAT, "fstatat", CALLER, path, 0);
    REAL_OR_ENOSYS(real_fstatat, "fstatat", -1);
    if (act > 0)
        FAIL_WITH(act, -1);
    return real_fstatat(dfd, path, sb, flags);
}

int fstatat64(int dfd, const char *path, struct stat64 *sb, int flags)
{
    int act = decide(K_STAT, "fstatat64", CALLER, path, 0);
    REAL_OR_ENOSYS(real_fstatat64, "fstatat64", -1);
    if (act > 0)
        FAIL_WITH(act, -1);
    return real_fstatat64(dfd, path, sb, flags);
}

int stat(const char *path, struct stat *sb)
{
    int act = decide(K_STAT, "stat", CALLER, path, 0);
    REAL_OR_ENOSYS(real_stat, "stat", -1);
    if (act > 0)
        FAIL_WITH(act, -1);
    return real_stat(path, sb);
}

int stat64(const char *path, struct stat64 *sb)
{
    int act = decide(K_STAT, "stat64", CALLER, path, 0);
    REAL_OR_ENOSYS(real_stat64, "stat64", -1);
    if (act > 0)
        FAIL_WITH(act, -1);
    return real_stat64(path, sb);
}

int lstat(const char *path, struct stat *sb)
{
    int act = decide(K_STAT, "lstat", CALLER, path, 0);
    REAL_OR_ENOSYS(real_lstat, "lstat", -1);
    if (act > 0)
        FAIL_WITH(act, -1);
    return real_lstat(path, sb);
}

int lstat64(const char *path, struct stat64 *sb)
{
    int act = decide(K_STAT, "lstat64", CALLER, path, 0);
    REAL_OR_ENOSYS(real_lstat64, "lstat64", -1);
    if (act > 0)
        FAIL_WITH(act, -1);
    return real_lstat64(path, sb);
}

/* ---- directory streams --------------------------------------------------
 * glibc's readdir reads with an internal getdents64 that no preload can
 * reach, so the stream functions themselves are the fault points. */

DIR *opendir(const char *path)
{
    int act = decide(K_OPENDIR, "opendir", CALLER, path, 0);
    REAL_OR_ENOSYS(real_opendir, "opendir", NULL);
    if (act > 0)
        FAIL_WITH(act, NULL);
    return real_opendir(path);
}

/* A failed fdopendir leaves the descriptor open, as POSIX says. */
DIR *fdopendir(int fd)
{
    int act = decide(K_OPENDIR, "fdopendir", CALLER, NULL, fd);
    REAL_OR_ENOSYS(real_fdopendir, "fdopendir", NULL);
    if (act > 0)
        FAIL_WITH(act, NULL);
    return real_fdopendir(fd);
}

struct dirent *readdir(DIR *d)
{
    int act = decide(K_READDIR, "readdir", CALLER, NULL, 0);
    REAL_OR_ENOSYS(real_readdir, "readdir", NULL);
    if (act > 0)
        FAIL_WITH(act, NULL);
    return real_readdir(d);
}

struct dirent64 *readdir64(DIR *d)
{
    int act = decide(K_READDIR, "readdir64", CALLER, NULL, 0);
    REAL_OR_ENOSYS(real_readdir64, "readdir64", NULL);
    if (act > 0)
        FAIL_WITH(act, NULL);
    return real_readdir64(d);
}

ssize_t getdents64(int fd, void *buf, size_t n)
{
    int act = decide(K_READDIR, "getdents64", CALLER, NULL, fd);
    REAL_OR_ENOSYS(real_getdents64, "getdents64", -1);
    if (act > 0)
        FAIL_WITH(act, -1);
    return real_getdents64(fd, buf, n);
}

/* Like close: the stream is released whatever is reported. */
int closedir(DIR *d)
{
    int act = decide(K_CLOSEDIR, "closedir", CALLER, NULL, 0);
    int rc;
    REAL_OR_ENOSYS(real_closedir, "closedir", -1);
    rc = real_closedir(d);
    if (act > 0 && rc == 0)
        FAIL_WITH(act, -1);
    return rc;
}

/* ---- the Lua module: no Lua header, API looked up at run time ---------- */

typedef struct lua_State lua_State;
typedef int (*lua_CFunction)(lua_State *L);

#define T_NIL 0
#define T_NUMBER 3
#define T_STRING 4

static struct {
    int (*type)(lua_State *, int);
    const char *(*tolstring)(lua_State *, int, size_t *);
    void (*pushnumber)(lua_State *, double);
    void (*pushboolean)(lua_State *, int);
    const char *(*pushstring)(lua_State *, const char *);
    void (*pushnil)(lua_State *);
    void (*createtable)(lua_State *, int, int);
    void (*settable)(lua_State *, int);
    void (*setfield)(lua_State *, int, const char *);
    void (*pushcclosure)(lua_State *, lua_CFunction, int);
    int (*error)(lua_State *);
} lua;

#define LOOKUP(field, name)                                 \
    do {                                                    \
        void *p_ = dlsym(RTLD_DEFAULT, (name));             \
        if (p_ == NULL)                                     \
            return 0;                                       \
        memcpy(&lua.field, &p_, sizeof lua.field);          \
    } while (0)

static int lookup_lua(void)
{
    LOOKUP(type, "lua_type");
    LOOKUP(tolstring, "lua_tolstring");
    LOOKUP(pushnumber, "lua_pushnumber");
    LOOKUP(pushboolean, "lua_pushboolean");
    LOOKUP(pushstring, "lua_pushstring");
    LOOKUP(pushnil, "lua_pushnil");
    LOOKUP(createtable, "lua_createtable");
    LOOKUP(settable, "lua_settable");
    LOOKUP(setfield, "lua_setfield");
    LOOKUP(pushcclosure, "lua_pushcclosure");
    LOOKUP(error, "lua_error");
    return 1;
}

static int lraise(lua_State *L, const char *msg)
{
    lua.pushstring(L, msg);
    return lua.error(L);
}

/* String argument i (numbers are converted), or NULL when absent/nil. */
static const char *opt_str(lua_State *L, int i)
{
    int t = lua.type(L, i);
    if (t != T_STRING && t != T_NUMBER)
        return NULL;
    return lua.tolstring(L, i, NULL);
}

static int find_kind(const char *name)
{
    int k;
    for (k = 0; name != NULL && k < K_NKINDS; k++)
        if (strcmp(name, kind_names[k]) == 0)
            return k;
    return -1;
}

static const struct errname *find_err(const char *name)
{
    const struct errname *e;
    for (e = errnames; name != NULL && e->name != NULL; e++)
        if (strcmp(name, e->name) == 0)
            return e;
    return NULL;
}

/* arm(kind, n, errname): count every kind from now on; fail the nth call
 * of kind once with errname. arm() or arm(kind, 0): count only. */
static int l_arm(lua_State *L)
{
    const char *kname = opt_str(L, 1), *nstr = opt_str(L, 2);
    const char *ename = opt_str(L, 3);
    const struct errname *e = NULL;
    long n = nstr ? strtol(nstr, NULL, 10) : 0;
    int k = kname ? find_kind(kname) : 0;
    if (k < 0)
        return lraise(L, "okoffault.arm: unknown call kind");
    if (n < 0)
        return lraise(L, "okoffault.arm: position must be >= 0");
    if (n > 0 && (e = find_err(ename)) == NULL)
        return lraise(L, "okoffault.arm: unknown errno name");
    if (e != NULL && e->value == SHORT_IO && k != K_READ && k != K_WRITE)
        return lraise(L, "okoffault.arm: SHORT applies to read and write only");
    if (e != NULL && e->value == EEXIST_DONE && k != K_LINK)
        return lraise(L, "okoffault.arm: EEXIST_DONE applies to link only");
    memset(st.counts, 0, sizeof st.counts);
    st.ntrace = 0;
    st.fired = 0;
    st.kind = (enum kind)k;
    st.nth = n;
    st.err = e ? e->value : 0;
    st.armed = 1;
    return 0;
}

/* disarm() -> whether the armed fault was injected. */
static int l_disarm(lua_State *L)
{
    st.armed = 0;
    lua.pushboolean(L, st.fired);
    return 1;
}

static int l_fired(lua_State *L)
{
    lua.pushboolean(L, st.fired);
    return 1;
}

/* count(kind) -> calls of kind seen since arm. */
static int l_count(lua_State *L)
{
    int k = find_kind(opt_str(L, 1));
    if (k < 0)
        return lraise(L, "okoffault.count: unknown call kind");
    lua.pushnumber(L, (double)st.counts[k]);
    return 1;
}

/* counts() -> { kind = n, ... } for every kind seen since arm. */
static int l_counts(lua_State *L)
{
    int k;
    lua.createtable(L, 0, K_NKINDS);
    for (k = 0; k < K_NKINDS; k++) {
        if (st.counts[k] == 0)
            continue;
        lua.pushnumber(L, (double)st.counts[k]);
        lua.setfield(L, -2, kind_names[k]);
    }
    return 1;
}

/* kinds() -> { "open", "read", ... } */
static int l_kinds(lua_State *L)
{
    int k;
    lua.createtable(L, K_NKINDS, 0);
    for (k = 0; k < K_NKINDS; k++) {
        lua.pushnumber(L, (double)(k + 1));
        lua.pushstring(L, kind_names[k]);
        lua.settable(L, -3);
    }
    return 1;
}

/* trace() -> { "openat(.okof-tmp-1-0)", "writev(5)", ... } since arm. */
static int l_trace(lua_State *L)
{
    long i, n = st.ntrace < TRACE_MAX ? st.ntrace : TRACE_MAX;
    lua.createtable(L, (int)n, 0);
    for (i = 0; i < n; i++) {
        lua.pushnumber(L, (double)(i + 1));
        lua.pushstring(L, st.trace[i]);
        lua.settable(L, -3);
    }
    if (st.ntrace > n) {
        lua.pushnumber(L, (double)(n + 1));
        lua.pushstring(L, "...");
        lua.settable(L, -3);
    }
    return 1;
}

/* filter(s): count only calls made from an object whose file name holds
 * s; filter("") counts every caller. Returns the previous filter. */
static int l_filter(lua_State *L)
{
    const char *s = opt_str(L, 1);
    lua.pushstring(L, st.filter);
    if (s != NULL) {
        if (strlen(s) >= FILTER_LEN)
            return lraise(L, "okoffault.filter: too long");
        strcpy(st.filter, s);
    }
    return 1;
}

/* strerror(name) -> the C library's text for an errno name; errno(name)
 * -> its number. */
static int l_strerror(lua_State *L)
{
    const struct errname *e = find_err(opt_str(L, 1));
    if (e == NULL || e->value <= 0)
        return lraise(L, "okoffault.strerror: unknown errno name");
    lua.pushstring(L, strerror(e->value));
    return 1;
}

static int l_errno(lua_State *L)
{
    const struct errname *e = find_err(opt_str(L, 1));
    if (e == NULL || e->value <= 0)
        return lraise(L, "okoffault.errno: unknown errno name");
    lua.pushnumber(L, (double)e->value);
    return 1;
}

/* fds() -> { [fd] = target, ... } of this process, read without a hook;
 * the descriptor that reads /proc/self/fd is left out. */
static int l_fds(lua_State *L)
{
    DIR *d;
    struct dirent *e;
    int own;
    REAL(real_opendir, "opendir");
    REAL(real_readdir, "readdir");
    REAL(real_closedir, "closedir");
    d = real_opendir ? real_opendir("/proc/self/fd") : NULL;
    if (d == NULL)
        return lraise(L, "okoffault.fds: cannot read /proc/self/fd");
    own = dirfd(d);
    lua.createtable(L, 0, 16);
    while ((e = real_readdir(d)) != NULL) {
        char path[64], target[512];
        ssize_t n;
        long fd;
        if (e->d_name[0] == '.')
            continue;
        fd = strtol(e->d_name, NULL, 10);
        if (fd == own)
            continue;
        snprintf(path, sizeof path, "/proc/self/fd/%ld", fd);
        n = readlink(path, target, sizeof target - 1);
        target[n > 0 ? n : 0] = '\0';
        lua.pushnumber(L, (double)fd);
        lua.pushstring(L, target);
        lua.settable(L, -3);
    }
    real_closedir(d);
    return 1;
}

/* ls(dir) -> { name, ... } (not "." or ".."), read without a hook; nil,
 * message when the directory cannot be opened. */
static int l_ls(lua_State *L)
{
    const char *path = opt_str(L, 1);
    DIR *d;
    struct dirent *e;
    double i = 0;
    if (path == NULL)
        return lraise(L, "okoffault.ls: directory expected");
    REAL(real_opendir, "opendir");
    REAL(real_readdir, "readdir");
    REAL(real_closedir, "closedir");
    d = real_opendir ? real_opendir(path) : NULL;
    if (d == NULL) {
        lua.pushnil(L);
        lua.pushstring(L, strerror(errno));
        return 2;
    }
    lua.createtable(L, 8, 0);
    while ((e = real_readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        lua.pushnumber(L, ++i);
        lua.pushstring(L, e->d_name);
        lua.settable(L, -3);
    }
    real_closedir(d);
    return 1;
}

/* The object that holds address p. */
static const void *object_of(const void *p)
{
    Dl_info info;
    return p != NULL && dladdr(p, &info) ? info.dli_fbase : NULL;
}

/* preloaded() -> true when this object's hooks are the ones every other
 * object binds to (it was preloaded), false, and a reason, otherwise. */
static int l_preloaded(lua_State *L)
{
    static const char *const names[] = {"open", "openat", "read", "write",
                                        "writev", "fsync", "close",
                                        "renameat", "unlinkat", "linkat",
                                        "sync_file_range", "fstat",
                                        "fstatat", "mkdir", "fdopendir",
                                        "readdir", "closedir", NULL};
    const void *self = object_of((const void *)&st);
    int i;
    for (i = 0; names[i] != NULL; i++) {
        if (object_of(dlsym(RTLD_DEFAULT, names[i])) != self) {
            lua.pushboolean(L, 0);
            lua.pushstring(L, names[i]);
            return 2;
        }
    }
    lua.pushboolean(L, 1);
    return 1;
}

struct reg {
    const char *name;
    lua_CFunction fn;
};

static const struct reg fns[] = {
    {"arm", l_arm},       {"disarm", l_disarm},     {"fired", l_fired},
    {"count", l_count},   {"counts", l_counts},     {"kinds", l_kinds},
    {"trace", l_trace},   {"filter", l_filter},     {"strerror", l_strerror},
    {"errno", l_errno},   {"fds", l_fds},           {"ls", l_ls},
    {"preloaded", l_preloaded}, {NULL, NULL}};

int luaopen_okoffault(lua_State *L);

int luaopen_okoffault(lua_State *L)
{
    const struct reg *r;
    if (!lookup_lua())
        return 0; /* no Lua API in this process: nothing to return */
    lua.createtable(L, 0, (int)(sizeof fns / sizeof fns[0]));
    for (r = fns; r->name != NULL; r++) {
        lua.pushcclosure(L, r->fn, 0);
        lua.setfield(L, -2, r->name);
    }
    return 1;
}
