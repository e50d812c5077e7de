-- spec/support/syscall_shim.lua -- an LD_PRELOAD shim that makes system calls
-- fail, for spec/durability_spec.lua (DESIGN.md: "okofdb's specs use an LD_PRELOAD
-- shim"). The C source below is compiled at test time with the system's C
-- compiler into a temporary directory.
--
-- The shim reads OKOF_FAULTS, a comma-separated list of:
--   write=ERR     write/writev on a regular file fail with ERR
--   fsync=ERR     fsync of a regular file fails with ERR
--   dirfsync=ERR  fsync of a directory fails with ERR
--   rename=ERR    rename/renameat fail with ERR
--   create=ERR    open/openat with O_CREAT fail with ERR
--   read=ERR      read on a regular file fails with ERR
--   limit=N       regular files take N bytes in all: the write that crosses
--                 the limit is cut short, the next ones fail with ENOSPC
--   short=N       a write/writev on a regular file writes at most N bytes
--   shortread=N   a read on a regular file reads at most N bytes
-- ERR is an errno name; EINTR fails every other call (the first, the
-- third, ...) so that a retrying caller goes on. With OKOF_FAULT_LOG set to
-- a path, the shim appends one line per fsync ("fsync-file", "fsync-dir"),
-- rename ("rename") and readdir ("readdir") to it, in call order.
local M = {}

M.source = [=[
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

enum { OP_WRITE, OP_FSYNC, OP_DIRFSYNC, OP_RENAME, OP_CREATE, OP_READ, OP_N };
static const char *const op_names[OP_N] = {
    "write", "fsync", "dirfsync", "rename", "create", "read"};
static int op_err[OP_N];
static unsigned long op_calls[OP_N];
static long long limit = -1, written;
static size_t short_write, short_read;
static int log_fd = -1, ready;

static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_writev)(int, const struct iovec *, int);
static ssize_t (*real_read)(int, void *, size_t);
static int (*real_fsync)(int);
static int (*real_rename)(const char *, const char *);
static int (*real_renameat)(int, const char *, int, const char *);
static int (*real_open)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);
static struct dirent *(*real_readdir)(DIR *);
static struct dirent64 *(*real_readdir64)(DIR *);

static int errno_named(const char *s, size_t n)
{
    static const struct { const char *name; int err; } table[] = {
        {"EIO", EIO}, {"ENOSPC", ENOSPC}, {"EINVAL", EINVAL},
        {"EDQUOT", EDQUOT}, {"EACCES", EACCES}, {"EINTR", EINTR},
        {"EMFILE", EMFILE}, {"EROFS", EROFS}, {"EPERM", EPERM},
        {"ENOMEM", ENOMEM}, {"EFBIG", EFBIG}};
    size_t i;
    for (i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strlen(table[i].name) == n && memcmp(table[i].name, s, n) == 0)
            return table[i].err;
    return EIO;
}

static void parse_item(const char *s, size_t n)
{
    const char *eq = memchr(s, '=', n);
    size_t klen, i;
    if (eq == NULL)
        return;
    klen = (size_t)(eq - s);
    for (i = 0; i < OP_N; i++)
        if (strlen(op_names[i]) == klen && memcmp(op_names[i], s, klen) == 0)
            op_err[i] = errno_named(eq + 1, n - klen - 1);
    if (klen == 5 && memcmp(s, "limit", 5) == 0)
        limit = atoll(eq + 1);
    if (klen == 5 && memcmp(s, "short", 5) == 0)
        short_write = (size_t)atol(eq + 1);
    if (klen == 9 && memcmp(s, "shortread", 9) == 0)
        short_read = (size_t)atol(eq + 1);
}

static void setup(void)
{
    const char *spec, *log;
    if (ready)
        return;
    ready = 1;
    real_write = (ssize_t (*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
    real_writev = (ssize_t (*)(int, const struct iovec *, int))dlsym(RTLD_NEXT, "writev");
    real_read = (ssize_t (*)(int, void *, size_t))dlsym(RTLD_NEXT, "read");
    real_fsync = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    real_rename = (int (*)(const char *, const char *))dlsym(RTLD_NEXT, "rename");
    real_renameat = (int (*)(int, const char *, int, const char *))dlsym(RTLD_NEXT, "renameat");
    real_open = (int (*)(const char *, int, ...))dlsym(RTLD_NEXT, "open");
    real_openat = (int (*)(int, const char *, int, ...))dlsym(RTLD_NEXT, "openat");
    real_readdir = (struct dirent *(*)(DIR *))dlsym(RTLD_NEXT, "readdir");
    real_readdir64 = (struct dirent64 *(*)(DIR *))dlsym(RTLD_NEXT, "readdir64");
    spec = getenv("OKOF_FAULTS");
    while (spec && *spec) {
        const char *end = strchr(spec, ',');
        size_t n = end ? (size_t)(end - spec) : strlen(spec);
        parse_item(spec, n);
        spec = end ? end + 1 : NULL;
    }
    log = getenv("OKOF_FAULT_LOG");
    if (log)
        log_fd = real_open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
}

static void log_line(const char *s)
{
    if (log_fd >= 0) {
        ssize_t r = real_write(log_fd, s, strlen(s));
        (void)r;
    }
}

static int fd_mode(int fd)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return 0;
    return (int)(st.st_mode & S_IFMT);
}

/* The errno to fail this call of op with, or 0. */
static int fail_now(int op)
{
    int err = op_err[op];
    if (err == 0)
        return 0;
    op_calls[op]++;
    if (err == EINTR)
        return op_calls[op] % 2 == 1 ? EINTR : 0;
    return err;
}

/* How many of n bytes a write to a regular file may write; -1: ENOSPC. */
static long long write_allowance(size_t n)
{
    long long allowed = (long long)n;
    if (short_write && allowed > (long long)short_write)
        allowed = (long long)short_write;
    if (limit >= 0) {
        if (written >= limit && n > 0)
            return -1;
        if (written + allowed > limit)
            allowed = limit - written;
    }
    return allowed;
}

ssize_t write(int fd, const void *buf, size_t n)
{
    long long allowed;
    ssize_t r;
    int err;
    setup();
    if (fd_mode(fd) != S_IFREG)
        return real_write(fd, buf, n);
    if ((err = fail_now(OP_WRITE)) != 0) {
        errno = err;
        return -1;
    }
    if ((allowed = write_allowance(n)) < 0) {
        errno = ENOSPC;
        return -1;
    }
    r = real_write(fd, buf, (size_t)allowed);
    if (r > 0)
        written += r;
    return r;
}

ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
    struct iovec cut[1024];
    size_t total = 0;
    long long allowed;
    int i, n = 0, err;
    ssize_t r;
    setup();
    if (fd_mode(fd) != S_IFREG)
        return real_writev(fd, iov, cnt);
    if ((err = fail_now(OP_WRITE)) != 0) {
        errno = err;
        return -1;
    }
    for (i = 0; i < cnt; i++)
        total += iov[i].iov_len;
    if ((allowed = write_allowance(total)) < 0) {
        errno = ENOSPC;
        return -1;
    }
    for (i = 0; i < cnt && i < 1024 && allowed > 0; i++) {
        cut[n] = iov[i];
        if ((long long)cut[n].iov_len > allowed)
            cut[n].iov_len = (size_t)allowed;
        allowed -= (long long)cut[n].iov_len;
        n++;
    }
    r = n ? real_writev(fd, cut, n) : 0;
    if (r > 0)
        written += r;
    return r;
}

ssize_t read(int fd, void *buf, size_t n)
{
    int err;
    setup();
    if (fd_mode(fd) != S_IFREG)
        return real_read(fd, buf, n);
    if ((err = fail_now(OP_READ)) != 0) {
        errno = err;
        return -1;
    }
    if (short_read && n > short_read)
        n = short_read;
    return real_read(fd, buf, n);
}

int fsync(int fd)
{
    int dir, err;
    setup();
    dir = fd_mode(fd) == S_IFDIR;
    log_line(dir ? "fsync-dir\n" : "fsync-file\n");
    if ((err = fail_now(dir ? OP_DIRFSYNC : OP_FSYNC)) != 0) {
        errno = err;
        return -1;
    }
    return real_fsync(fd);
}

int fdatasync(int fd)
{
    return fsync(fd);
}

int rename(const char *from, const char *to)
{
    int err;
    setup();
    log_line("rename\n");
    if ((err = fail_now(OP_RENAME)) != 0) {
        errno = err;
        return -1;
    }
    return real_rename(from, to);
}

int renameat(int dfd1, const char *from, int dfd2, const char *to)
{
    int err;
    setup();
    log_line("rename\n");
    if ((err = fail_now(OP_RENAME)) != 0) {
        errno = err;
        return -1;
    }
    return real_renameat(dfd1, from, dfd2, to);
}

struct dirent *readdir(DIR *d)
{
    setup();
    log_line("readdir\n");
    return real_readdir(d);
}

struct dirent64 *readdir64(DIR *d)
{
    setup();
    log_line("readdir\n");
    return real_readdir64(d);
}

static int mode_arg(int flags, va_list ap)
{
    if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE)
        return va_arg(ap, int);
    return 0;
}

int openat(int dfd, const char *path, int flags, ...)
{
    va_list ap;
    int mode, err;
    setup();
    va_start(ap, flags);
    mode = mode_arg(flags, ap);
    va_end(ap);
    if ((flags & O_CREAT) && (err = fail_now(OP_CREATE)) != 0) {
        errno = err;
        return -1;
    }
    return real_openat(dfd, path, flags, mode);
}

int openat64(int dfd, const char *path, int flags, ...)
{
    va_list ap;
    int mode;
    va_start(ap, flags);
    mode = mode_arg(flags, ap);
    va_end(ap);
    return openat(dfd, path, flags, mode);
}
]=]

-- Compile the shim into dir; returns the path of the .so, or nil, reason.
function M.build(H, dir)
  local src, so = dir .. "/okof_faults.c", dir .. "/okof_faults.so"
  H.write_file(src, M.source)
  local cc = os.getenv("CC") or "cc"
  local log = dir .. "/cc.log"
  if not H.run(cc .. " -shared -fPIC -O1 -o " .. H.q(so) .. " " .. H.q(src) ..
               " -ldl >" .. H.q(log) .. " 2>&1") then
    return nil, "cannot compile the fault shim: " .. tostring(H.read_file(log))
  end
  return so
end

return M
