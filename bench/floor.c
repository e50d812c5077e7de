/*
 * bench/floor.c -- the file system's floor under okofdb's operations.
 *
 * Each operation okofdb performs, done with the plain syscalls it cannot
 * avoid (no compression, no checksum, no key codec), so that a benchmark
 * of okofdb can be read as a ratio to this floor measured in the same run
 * on the same directory.
 *
 *   floor [-t TEXTFILE] [-s SIZE:N:ND[,SIZE:N:ND...]] [-i IMPL] DIR
 *
 * A value of SIZE bytes is the first SIZE bytes of TEXTFILE (repeated when
 * the file is shorter; without -t, a fixed pattern of letters). N keys are
 * used by the fast operations, ND by the durable ones (0: none). Keys are
 * "k0000000", "k0000001", ... (printf "k%07d"), as bench/okofdb_bench.lua
 * names them. For each SIZE, three sequences run, each in a new
 * subdirectory of DIR, each starting with syncfs():
 *
 *   fast:    put_fast_new put_fast_over get get_min readdir del_fast
 *   trunc:   trunc_new trunc_over
 *   durable: put_durable_new put_durable_over del_durable
 *
 *   put_fast_*     open(tmp, O_CREAT|O_EXCL) write close rename(tmp, key)
 *   get            open fstat read(st_size) close
 *   get_min        open read(SIZE + 1) close: the reader trusts the short
 *                  read as the end, no fstat
 *   readdir        the whole directory through opendir/readdir, again and
 *                  again until >= 200000 entries and >= 0.05 s, or >= 0.5 s;
 *                  n counts entries, the time is per entry
 *   del_fast       unlink
 *   trunc_*        open(key, O_CREAT|O_TRUNC) write close (not atomic)
 *   put_durable_*  open(tmp) write fsync close rename fsync(dir)
 *   del_durable    unlink fsync(dir)
 *
 * Output, one line per size and operation:
 *   RESULT impl=floor mode=raw fs=FS size=SIZE op=OP n=N total_s=S us_op=US ops_s=R
 * FS is ext4, tmpfs, xfs, btrfs or the statfs magic number in hex.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_SPEC "100:10000:1000,65536:2000:300"
#define NAME_CAP 64

struct bench {
    const char *impl;     /* impl= of the output */
    const char *fs;       /* fs= of the output */
    const char *value;    /* SIZE bytes */
    size_t size;
    char *buf;            /* SIZE + 1 bytes, for reads */
    int dirfd;            /* the sequence's directory */
    char path[4096];      /* its path */
};

static void fail(const char *what, const char *name)
{
    fprintf(stderr, "floor: %s %s: %s\n", what, name ? name : "", strerror(errno));
    exit(1);
}

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void result(const struct bench *b, const char *op, long n, double s)
{
    if (n <= 0)
        return;
    printf("RESULT impl=%s mode=raw fs=%s size=%zu op=%s n=%ld total_s=%.6f us_op=%.3f ops_s=%.0f\n",
           b->impl, b->fs, b->size, op, n, s, s * 1e6 / (double)n, (double)n / s);
    fflush(stdout);
}

static void key_name(char *out, long i)
{
    snprintf(out, NAME_CAP, "k%07ld", i);
}

static void tmp_name(char *out, long i)
{
    snprintf(out, NAME_CAP, ".floor-tmp-%ld-%ld", (long)getpid(), i);
}

static void write_full(int fd, const char *p, size_t len, const char *name)
{
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            fail("write", name);
        p += w;
        len -= (size_t)w;
    }
}

static void close_or_fail(int fd, const char *name)
{
    if (close(fd) != 0)
        fail("close", name);
}

/* The atomic store: a new temporary file renamed over the key. */
static void put_atomic(const struct bench *b, long i, int durable)
{
    char key[NAME_CAP], tmp[NAME_CAP];
    int fd;

    key_name(key, i);
    tmp_name(tmp, i);
    fd = openat(b->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0)
        fail("open", tmp);
    write_full(fd, b->value, b->size, tmp);
    if (durable && fsync(fd) != 0)
        fail("fsync", tmp);
    close_or_fail(fd, tmp);
    if (renameat(b->dirfd, tmp, b->dirfd, key) != 0)
        fail("rename", key);
    if (durable && fsync(b->dirfd) != 0)
        fail("fsync", b->path);
}

/* The naive store: the key's file truncated and written in place. */
static void put_trunc(const struct bench *b, long i)
{
    char key[NAME_CAP];
    int fd;

    key_name(key, i);
    fd = openat(b->dirfd, key, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0)
        fail("open", key);
    write_full(fd, b->value, b->size, key);
    close_or_fail(fd, key);
}

/* Read one value; with_stat: size it by fstat, else read until short. */
static size_t get_one(const struct bench *b, long i, int with_stat)
{
    char key[NAME_CAP];
    size_t want = b->size + 1, got = 0;
    struct stat st;
    int fd;

    key_name(key, i);
    fd = openat(b->dirfd, key, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        fail("open", key);
    if (with_stat) {
        if (fstat(fd, &st) != 0)
            fail("fstat", key);
        want = (size_t)st.st_size;
    }
    for (;;) {
        ssize_t r = read(fd, b->buf + got, want - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            fail("read", key);
        got += (size_t)r;
        /* with fstat: until the size; without: one read, short = the end */
        if (r == 0 || got == want || !with_stat)
            break;
    }
    close_or_fail(fd, key);
    return got;
}

static void del_one(const struct bench *b, long i, int durable)
{
    char key[NAME_CAP];

    key_name(key, i);
    if (unlinkat(b->dirfd, key, 0) != 0)
        fail("unlink", key);
    if (durable && fsync(b->dirfd) != 0)
        fail("fsync", b->path);
}

/* Entries of the directory, "." and ".." left out. */
static long count_entries(const struct bench *b)
{
    DIR *d = opendir(b->path);
    struct dirent *e;
    long n = 0;

    if (d == NULL)
        fail("opendir", b->path);
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

/* ---- the sequences ------------------------------------------------------ */

static void enter_fresh_dir(struct bench *b, const char *dir, const char *tag)
{
    snprintf(b->path, sizeof b->path, "%s/floor.%ld.%zu.%s", dir, (long)getpid(), b->size, tag);
    if (mkdir(b->path, 0777) != 0)
        fail("mkdir", b->path);
    b->dirfd = open(b->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (b->dirfd < 0)
        fail("open", b->path);
    syncfs(b->dirfd);
}

static void leave_dir(struct bench *b)
{
    close_or_fail(b->dirfd, b->path);
    if (rmdir(b->path) != 0)
        fail("rmdir", b->path);
}

typedef void (*op_fn)(const struct bench *b, long i);

static void op_put_fast(const struct bench *b, long i) { put_atomic(b, i, 0); }
static void op_put_durable(const struct bench *b, long i) { put_atomic(b, i, 1); }
static void op_trunc(const struct bench *b, long i) { put_trunc(b, i); }
static void op_del_fast(const struct bench *b, long i) { del_one(b, i, 0); }
static void op_del_durable(const struct bench *b, long i) { del_one(b, i, 1); }

/* Time OP over keys 0 .. n-1 and print its line. */
static void timed(const struct bench *b, const char *name, op_fn op, long n)
{
    double t = seconds();
    long i;

    for (i = 0; i < n; i++)
        op(b, i);
    result(b, name, n, seconds() - t);
}

static void timed_reads(const struct bench *b, const char *name, int with_stat, long n)
{
    double t = seconds();
    size_t total = 0;
    long i;

    for (i = 0; i < n; i++)
        total += get_one(b, i, with_stat);
    result(b, name, n, seconds() - t);
    if (total != (size_t)n * b->size) {
        fprintf(stderr, "floor: %s read %zu bytes, not %zu\n", name, total, (size_t)n * b->size);
        exit(1);
    }
}

static void timed_readdir(const struct bench *b, long n)
{
    double t = seconds(), elapsed;
    long seen = 0;

    do {
        long c = count_entries(b);
        if (c != n) {
            fprintf(stderr, "floor: %s has %ld entries, not %ld\n", b->path, c, n);
            exit(1);
        }
        seen += c;
        elapsed = seconds() - t;
    } while ((seen < 200000 || elapsed < 0.05) && elapsed < 0.5);
    result(b, "readdir", seen, elapsed);
}

static void run_size(struct bench *b, const char *dir, long n, long nd)
{
    enter_fresh_dir(b, dir, "fast");
    timed(b, "put_fast_new", op_put_fast, n);
    timed(b, "put_fast_over", op_put_fast, n);
    timed_reads(b, "get", 1, n);
    timed_reads(b, "get_min", 0, n);
    if (n > 0)
        timed_readdir(b, n);
    timed(b, "del_fast", op_del_fast, n);
    leave_dir(b);

    enter_fresh_dir(b, dir, "trunc");
    timed(b, "trunc_new", op_trunc, n);
    timed(b, "trunc_over", op_trunc, n);
    for (long i = 0; i < n; i++) /* clean-up, not timed */
        del_one(b, i, 0);
    leave_dir(b);

    if (nd <= 0)
        return;
    enter_fresh_dir(b, dir, "durable");
    timed(b, "put_durable_new", op_put_durable, nd);
    timed(b, "put_durable_over", op_put_durable, nd);
    timed(b, "del_durable", op_del_durable, nd);
    leave_dir(b);
}

/* ---- set-up ----------------------------------------------------------------- */

static char *read_text(const char *path, size_t *len)
{
    static const char pattern[] = "the floor of a store is what the kernel costs. ";
    char *text;
    FILE *f;
    long end = 0;

    if (path == NULL) {
        *len = sizeof pattern - 1;
        text = malloc(*len);
        if (text == NULL)
            fail("malloc", NULL);
        memcpy(text, pattern, *len);
        return text;
    }
    f = fopen(path, "rb");
    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (end = ftell(f)) <= 0 || fseek(f, 0, SEEK_SET) != 0)
        fail("read (empty or unreadable)", path);
    *len = (size_t)end;
    text = malloc(*len);
    if (text == NULL)
        fail("malloc", NULL);
    if (fread(text, 1, *len, f) != *len)
        fail("read", path);
    fclose(f);
    return text;
}

/* SIZE bytes: the text, repeated as often as needed. */
static char *make_value(const char *text, size_t len, size_t size)
{
    char *v = malloc(size + 1);
    size_t at;

    if (v == NULL)
        fail("malloc", NULL);
    for (at = 0; at < size; at += len)
        memcpy(v + at, text, size - at < len ? size - at : len);
    return v;
}

static const char *fs_name(const char *dir, char *buf, size_t cap)
{
    struct statfs sf;

    if (statfs(dir, &sf) != 0)
        fail("statfs", dir);
    switch ((unsigned long)sf.f_type) {
    case 0xef53UL: return "ext4";
    case 0x01021994UL: return "tmpfs";
    case 0x58465342UL: return "xfs";
    case 0x9123683eUL: return "btrfs";
    default:
        snprintf(buf, cap, "0x%lx", (unsigned long)sf.f_type);
        return buf;
    }
}

static void usage(const char *argv0)
{
    fprintf(stderr, "usage: %s [-t TEXTFILE] [-s SIZE:N:ND[,...]] [-i IMPL] DIR\n", argv0);
    exit(2);
}

int main(int argc, char **argv)
{
    const char *textfile = NULL, *dir;
    char spec[1024] = DEFAULT_SPEC, fsbuf[32], *item, *save = NULL, *text;
    struct bench b;
    size_t textlen;
    int c;

    memset(&b, 0, sizeof b);
    b.impl = "floor";
    while ((c = getopt(argc, argv, "t:s:i:")) != -1) {
        if (c == 't')
            textfile = optarg;
        else if (c == 's')
            snprintf(spec, sizeof spec, "%s", optarg);
        else if (c == 'i')
            b.impl = optarg;
        else
            usage(argv[0]);
    }
    if (optind != argc - 1)
        usage(argv[0]);
    dir = argv[optind];
    b.fs = fs_name(dir, fsbuf, sizeof fsbuf);
    text = read_text(textfile, &textlen);
    for (item = strtok_r(spec, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        long n, nd;
        if (sscanf(item, "%zu:%ld:%ld", &b.size, &n, &nd) != 3 || n < 0 || nd < 0) {
            fprintf(stderr, "floor: bad SIZE:N:ND item '%s'\n", item);
            return 2;
        }
        b.buf = make_value(text, textlen, b.size);
        b.value = make_value(text, textlen, b.size);
        run_size(&b, dir, n, nd);
        free(b.buf);
        free((char *)b.value);
    }
    free(text);
    return 0;
}
