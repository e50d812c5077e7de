/*
 * okof_test.c -- a plain-C driver of the okofdb core, no Lua.
 *
 *   cc -Ic spec/c/okof_test.c c/okof*.c -lsnappy -o build/okof_test
 *   build/okof_test SCRATCH_DIR
 *
 * Every check counts. Failures are described on stderr; stdout gets one
 * line, "N passed, M failed", and the exit status is 1 when M > 0.
 * The stores live in a fresh directory under SCRATCH_DIR, removed at the
 * end when every check passed and kept for inspection otherwise.
 */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "okof.h"

/* ---- checks --------------------------------------------------------- */

static unsigned n_pass, n_fail;

static int check_(int ok, const char *what, int line)
{
	if (ok) {
		n_pass++;
	} else {
		n_fail++;
		fprintf(stderr, "%s:%d: FAIL: %s\n", __FILE__, line, what);
	}
	return ok;
}

static int rc_(int got, int want, const char *expr, int line)
{
	char gotname[32];

	if (got == want) {
		n_pass++;
		return 1;
	}
	n_fail++;
	/* okof_errname may format unknown codes into a shared buffer. */
	snprintf(gotname, sizeof gotname, "%s", okof_errname(got));
	fprintf(stderr, "%s:%d: FAIL: %s: got %d %s, want %d %s\n", __FILE__,
	        line, expr, got, gotname, want, okof_errname(want));
	return 0;
}

/* CHECK(cond): cond holds. RC(expr, want): expr returns want. E(expr):
 * expr returns 0, as LMDB's mtest.c E() does. */
#define CHECK(cond) check_((cond) ? 1 : 0, #cond, __LINE__)
#define RC(expr, want) rc_((expr), (want), #expr, __LINE__)
#define E(expr) RC((expr), 0)

/* A literal byte string with its length, NULs included. */
#define S(lit) lit, (sizeof(lit) - 1)

/* ---- files ---------------------------------------------------------- */

static char root[4096]; /* this run's directory */

/* A path under the run's directory: sub, or sub/name when name is given.
 * Returns a static buffer (one of a few, used in turn). */
static const char *P(const char *sub, const char *name)
{
	static char bufs[4][4352];
	static unsigned next;
	char *b = bufs[next++ % 4];

	if (name)
		snprintf(b, sizeof bufs[0], "%s/%s/%s", root, sub, name);
	else
		snprintf(b, sizeof bufs[0], "%s/%s", root, sub);
	return b;
}

static long long file_size(const char *path)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return -1;
	return (long long)st.st_size;
}

static int exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static int write_file(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, buf, len);
	if (close(fd) != 0 || n < 0 || (size_t)n != len)
		return -EIO;
	return 0;
}

/* Read a whole file into a malloc'd buffer; NULL on failure. */
static unsigned char *read_file(const char *path, size_t *len)
{
	long long size = file_size(path);
	unsigned char *buf;
	ssize_t n;
	int fd;

	*len = 0;
	if (size < 0 || (fd = open(path, O_RDONLY)) < 0)
		return NULL;
	buf = malloc((size_t)size + 1);
	n = buf ? read(fd, buf, (size_t)size) : -1;
	close(fd);
	if (n != (ssize_t)size) {
		free(buf);
		return NULL;
	}
	*len = (size_t)size;
	return buf;
}

/* Set a file's modification time `age` seconds into the past. */
static int set_age(const char *path, long age)
{
	struct timespec ts[2];

	clock_gettime(CLOCK_REALTIME, &ts[0]);
	ts[0].tv_sec -= age;
	ts[1] = ts[0];
	return utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW);
}

/* How many entries of dir start with prefix. */
static int count_prefixed(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, prefix, strlen(prefix)) == 0)
			n++;
	closedir(d);
	return n;
}

static int rm_rf(const char *path)
{
	struct stat st;
	struct dirent *de;
	char sub[4352];
	DIR *d;
	int rc = 0;

	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode))
		return unlink(path);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(sub, sizeof sub, "%s/%s", path, de->d_name);
		if (rm_rf(sub) != 0)
			rc = -1;
	}
	closedir(d);
	return rmdir(path) != 0 ? -1 : rc;
}

/* Overwrite byte `at` of a file (negative: from the end) with b ^ x. */
static int flip(const char *path, long long at, unsigned char x)
{
	long long size = file_size(path);
	unsigned char c;
	int fd, ok;

	if (size < 0)
		return 0;
	if (at < 0)
		at += size;
	fd = open(path, O_RDWR);
	if (fd < 0)
		return 0;
	ok = pread(fd, &c, 1, (off_t)at) == 1;
	c = (unsigned char)(c ^ x);
	ok = ok && pwrite(fd, &c, 1, (off_t)at) == 1;
	return close(fd) == 0 && ok;
}

/* mkdir -p */
static int mkdirs(const char *path)
{
	char buf[4096];
	size_t i, n = strlen(path);

	if (n == 0 || n >= sizeof buf)
		return errno = ENAMETOOLONG, -1;
	memcpy(buf, path, n + 1);
	for (i = 1; i <= n; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, 0777) != 0 && errno != EEXIST)
			return -1;
		buf[i] = path[i];
	}
	return 0;
}

/* ---- data ----------------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static unsigned char *random_bytes(size_t n)
{
	unsigned char *p = malloc(n ? n : 1);
	size_t i;

	for (i = 0; p && i < n; i++) {
		rng_state ^= rng_state << 13;
		rng_state ^= rng_state >> 7;
		rng_state ^= rng_state << 17;
		p[i] = (unsigned char)(rng_state >> 32);
	}
	return p;
}

/* Text-like bytes that snappy shrinks well. */
static unsigned char *compressible_bytes(size_t n)
{
	static const char words[] = "the quick brown fox jumps over the lazy dog; ";
	unsigned char *p = malloc(n ? n : 1);
	size_t i;

	for (i = 0; p && i < n; i++)
		p[i] = (unsigned char)words[i % (sizeof words - 1)];
	return p;
}

static unsigned char *filled_bytes(size_t n, unsigned char c)
{
	unsigned char *p = malloc(n ? n : 1);

	if (p)
		memset(p, c, n);
	return p;
}

/* CRC-32C (Castagnoli), bitwise, and the snappy framing format's mask. */
static uint32_t crc32c(const unsigned char *p, size_t n)
{
	uint32_t crc = 0xffffffffu;
	size_t i;
	int k;

	for (i = 0; i < n; i++) {
		crc ^= p[i];
		for (k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0x82f63b78u & (0u - (crc & 1u)));
	}
	return crc ^ 0xffffffffu;
}

static uint32_t masked_crc(const unsigned char *p, size_t n)
{
	uint32_t c = crc32c(p, n);

	return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/* A hand-made value file, built chunk by chunk. */
struct vfile {
	unsigned char b[8192];
	size_t n;
};

static void vf_bytes(struct vfile *f, const void *p, size_t n)
{
	if (f->n + n <= sizeof f->b) {
		memcpy(f->b + f->n, p, n);
		f->n += n;
	}
}

static void vf_chunk(struct vfile *f, unsigned type, const void *p, size_t n)
{
	unsigned char h[4];

	h[0] = (unsigned char)type;
	h[1] = (unsigned char)(n & 0xff);
	h[2] = (unsigned char)((n >> 8) & 0xff);
	h[3] = (unsigned char)((n >> 16) & 0xff);
	vf_bytes(f, h, 4);
	vf_bytes(f, p, n);
}

/* An uncompressed data chunk (type 0x01) holding data, with its CRC. */
static void vf_data(struct vfile *f, const void *data, size_t n)
{
	unsigned char body[4096];
	uint32_t crc = masked_crc(data, n);

	body[0] = (unsigned char)(crc & 0xff);
	body[1] = (unsigned char)((crc >> 8) & 0xff);
	body[2] = (unsigned char)((crc >> 16) & 0xff);
	body[3] = (unsigned char)(crc >> 24);
	memcpy(body + 4, data, n);
	vf_chunk(f, 0x01, body, n + 4);
}

/* okofdb's value header chunk (type 0x80). */
static void vf_header(struct vfile *f, unsigned version, unsigned flags,
                      uint64_t len)
{
	unsigned char h[14] = {'o', 'k', 'o', 'f'};
	int i;

	h[4] = (unsigned char)version;
	h[5] = (unsigned char)flags;
	for (i = 0; i < 8; i++)
		h[6 + i] = (unsigned char)((len >> (8 * i)) & 0xff);
	vf_chunk(f, 0x80, h, sizeof h);
}

/* Start a file: the header byte 0x01 and the stream identifier. */
static void vf_start(struct vfile *f)
{
	f->n = 0;
	vf_bytes(f, "\x01\xff\x06\x00\x00sNaPpY", 11);
}

/* ---- helpers over the API ------------------------------------------- */

static okof_t *open_store(const char *sub, unsigned flags, size_t cmin)
{
	okof_t *db = NULL;

	if (!E(okof_open(&db, P(sub, NULL), flags, cmin)))
		return NULL;
	return db;
}

/* put then get: the value comes back byte for byte, NUL-terminated. */
static void roundtrip(okof_t *db, const void *key, size_t klen,
                      const void *val, size_t vlen, int line)
{
	void *got = NULL;
	size_t glen = 0;
	int ok;

	ok = rc_(okof_put(db, key, klen, val, vlen), 0, "roundtrip put", line);
	ok = rc_(okof_get(db, key, klen, &got, &glen), 0, "roundtrip get",
	         line) && ok;
	if (got) {
		ok = check_(glen == vlen, "roundtrip length", line) && ok;
		ok = check_(glen == vlen && memcmp(got, val, vlen) == 0,
		            "roundtrip bytes", line) && ok;
		check_(((unsigned char *)got)[glen] == 0,
		       "roundtrip NUL after the value", line);
	}
	okof_free(got);
	(void)ok;
}

#define ROUNDTRIP(...) roundtrip(__VA_ARGS__, __LINE__)

/* get, expecting the value given as a string of n bytes. */
static int get_is(okof_t *db, const void *key, size_t klen, const void *want,
                  size_t wlen, int line)
{
	void *got = NULL;
	size_t glen = 0;
	int ok = rc_(okof_get(db, key, klen, &got, &glen), 0, "get_is", line);

	if (ok)
		ok = check_(glen == wlen && memcmp(got, want, wlen) == 0,
		            "get_is value", line);
	okof_free(got);
	return ok;
}

#define GET_IS(...) get_is(__VA_ARGS__, __LINE__)

/* get, expecting failure rc; *val must be NULL and *vlen 0 afterwards. */
static void get_fails(okof_t *db, const void *key, size_t klen, int want,
                      int line)
{
	void *got = &got; /* not NULL: the call must reset it */
	size_t glen = 12345;

	rc_(okof_get(db, key, klen, &got, &glen), want, "get_fails", line);
	check_(got == NULL, "get_fails leaves *val NULL", line);
	check_(glen == 0, "get_fails leaves *vlen 0", line);
	if (got != &got)
		okof_free(got);
}

#define GET_FAILS(...) get_fails(__VA_ARGS__, __LINE__)

/* ---- tests ---------------------------------------------------------- */

static void test_errors(void)
{
	char want[256];
	const char *s;

	CHECK(strcmp(okof_errname(0), "OK") == 0);
	CHECK(strcmp(okof_errname(-ENOENT), "ENOENT") == 0);
	CHECK(strcmp(okof_errname(-EACCES), "EACCES") == 0);
	CHECK(strcmp(okof_errname(-ENOTDIR), "ENOTDIR") == 0);
	CHECK(strcmp(okof_errname(-EISDIR), "EISDIR") == 0);
	CHECK(strcmp(okof_errname(-ENOSPC), "ENOSPC") == 0);
	CHECK(strcmp(okof_errname(-EIO), "EIO") == 0);
	CHECK(strcmp(okof_errname(OKOF_CORRUPT), "CORRUPT") == 0);
	CHECK(strcmp(okof_errname(OKOF_NOTFOUND), "NOTFOUND") == 0);
	CHECK(strcmp(okof_errname(OKOF_EBADKEY), "EBADKEY") == 0);
	CHECK(strcmp(okof_errname(-4000), "EUNKNOWN") == 0);

	snprintf(want, sizeof want, "%s", strerror(ENOENT));
	CHECK(strcmp(okof_strerror(-ENOENT), want) == 0);
	snprintf(want, sizeof want, "%s", strerror(EACCES));
	CHECK(strcmp(okof_strerror(-EACCES), want) == 0);
	s = okof_strerror(0);
	CHECK(s != NULL && s[0] != '\0');
	s = okof_strerror(OKOF_CORRUPT);
	CHECK(s != NULL && s[0] != '\0');
	CHECK(s != NULL && strcmp(s, okof_strerror(OKOF_NOTFOUND)) != 0);
	s = okof_strerror(OKOF_EBADKEY);
	CHECK(s != NULL && s[0] != '\0');
	s = okof_strerror(-4000);
	CHECK(s != NULL && s[0] != '\0');
	s = okof_strerror(12345678);
	CHECK(s != NULL);
	s = okof_errname(12345678);
	CHECK(s != NULL && s[0] != '\0');

	CHECK(strcmp(OKOF_VERSION_STRING, "okofdb 0.1.0") == 0);

	/* NULL is accepted by every releasing call. */
	okof_close(NULL);
	okof_iter_close(NULL);
	okof_free(NULL);
}

static void test_open(void)
{
	okof_t *db = NULL, *db2 = NULL;
	struct stat st;

	RC(okof_open(&db, P("missing", NULL), 0, 2048), -ENOENT);
	CHECK(db == NULL);
	CHECK(!exists(P("missing", NULL)));
	RC(okof_open(&db, P("missing/a/b", NULL), OKOF_SYNC, 2048), -ENOENT);
	CHECK(db == NULL);

	/* OKOF_CREATE makes the directory and its parents, 0777 & ~umask. */
	if (E(okof_open(&db, P("made/a/b", NULL), OKOF_CREATE, 2048))) {
		CHECK(db != NULL);
		CHECK(lstat(P("made/a/b", NULL), &st) == 0 &&
		      S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0755);
		CHECK(strcmp(okof_dir(db), P("made/a/b", NULL)) == 0);
		/* Opening needs nothing from the directory's entries. */
		CHECK(count_prefixed(P("made/a/b", NULL), "") == 2);
		okof_close(db);
	}
	db = NULL;
	/* An existing directory opens with and without OKOF_CREATE. */
	if (E(okof_open(&db, P("made/a/b", NULL), OKOF_CREATE | OKOF_SYNC,
	                OKOF_NO_COMPRESS)))
		okof_close(db);
	db = NULL;
	if (E(okof_open(&db, P("made", NULL), 0, 0)))
		okof_close(db);
	db = NULL;
	/* A trailing slash names the same directory. */
	if (E(okof_open(&db, P("made/a/", NULL), 0, 2048)))
		okof_close(db);
	db = NULL;

	/* A file where the directory should be. */
	E(write_file(P("afile", NULL), "x", 1));
	RC(okof_open(&db, P("afile", NULL), 0, 2048), -ENOTDIR);
	CHECK(db == NULL);
	RC(okof_open(&db, P("afile/sub", NULL), OKOF_CREATE, 2048), -ENOTDIR);
	CHECK(db == NULL);
	CHECK(okof_open(&db, P("afile", NULL), OKOF_CREATE, 2048) < 0);
	CHECK(db == NULL);

	/* The path is copied: the caller's buffer may change. */
	{
		char path[4352];

		snprintf(path, sizeof path, "%s", P("made", NULL));
		if (E(okof_open(&db2, path, 0, 2048))) {
			memset(path, 'x', strlen(path));
			CHECK(strcmp(okof_dir(db2), P("made", NULL)) == 0);
			okof_close(db2);
		}
	}
}

static void test_roundtrip(void)
{
	okof_t *db = open_store("rt", OKOF_CREATE | OKOF_SYNC, 2048);
	okof_t *plain = open_store("rt", 0, OKOF_NO_COMPRESS);
	unsigned char all[256], *big = NULL, *rnd = NULL, *zeros = NULL;
	size_t i;
	long long size;

	if (!db || !plain)
		goto out;

	/* Empty value: 29 bytes on disk, as the format says. */
	ROUNDTRIP(db, S("empty"), "", 0);
	CHECK(file_size(P("rt", "empty")) == 29);
	{
		static const unsigned char want[29] = {
			0x01, 0xff, 0x06, 0x00, 0x00, 's', 'N', 'a', 'P', 'p',
			'Y',  0x80, 0x0e, 0x00, 0x00, 'o', 'k', 'o', 'f', 1, 0};
		size_t n;
		unsigned char *got = read_file(P("rt", "empty"), &n);

		CHECK(got && n == 29 && memcmp(got, want, 29) == 0);
		free(got);
	}

	/* Short values, every byte value, NULs inside. */
	ROUNDTRIP(db, S("one"), "1", 1);
	ROUNDTRIP(db, S("nul"), "\0", 1);
	ROUNDTRIP(db, S("nuls"), "a\0b\0\0", 5);
	for (i = 0; i < sizeof all; i++)
		all[i] = (unsigned char)i;
	ROUNDTRIP(db, S("binary"), all, sizeof all);

	/* A short value is one uncompressed chunk whose CRC is ours. */
	{
		size_t n;
		unsigned char *got = read_file(P("rt", "binary"), &n);

		CHECK(got && n == 29 + 8 + 256);
		if (got && n == 29 + 8 + 256) {
			CHECK(got[29] == 0x01);
			CHECK(le32(got + 29) >> 8 == 4 + 256);
			CHECK(le32(got + 33) == masked_crc(all, 256));
			CHECK(memcmp(got + 37, all, 256) == 0);
			/* The header records the length: 256, little-endian. */
			CHECK(got[21] == 0x00 && got[22] == 0x01 && got[23] == 0);
		}
		free(got);
	}

	/* Overwrite, shorter and longer. */
	ROUNDTRIP(db, S("over"), "a long first value", 18);
	ROUNDTRIP(db, S("over"), "short", 5);
	ROUNDTRIP(db, S("over"), "a longer value again", 20);

	/* 200000 compressible bytes: compressed, much smaller on disk. */
	big = compressible_bytes(200000);
	rnd = random_bytes(200000);
	zeros = filled_bytes(70000, 0);
	if (!big || !rnd || !zeros)
		goto out;
	ROUNDTRIP(db, S("big"), big, 200000);
	size = file_size(P("rt", "big"));
	CHECK(size > 29 && size < 100000);
	ROUNDTRIP(plain, S("big-plain"), big, 200000);
	/* 200000 = 3 * 65536 + 3392: four chunks of 8 bytes' overhead. */
	CHECK(file_size(P("rt", "big-plain")) == 29 + 4 * 8 + 200000);
	/* Either handle reads what the other wrote. */
	GET_IS(plain, S("big"), big, 200000);
	GET_IS(db, S("big-plain"), big, 200000);

	/* 200000 random bytes: snappy cannot shrink them, stored plain. */
	ROUNDTRIP(db, S("random"), rnd, 200000);
	CHECK(file_size(P("rt", "random")) == 29 + 4 * 8 + 200000);

	/* Around compress_min = 2048. */
	ROUNDTRIP(db, S("z2047"), zeros, 2047);
	CHECK(file_size(P("rt", "z2047")) == 29 + 8 + 2047);
	ROUNDTRIP(db, S("z2048"), zeros, 2048);
	size = file_size(P("rt", "z2048"));
	CHECK(size > 29 && size < 29 + 8 + 2048);
	ROUNDTRIP(db, S("z2049"), zeros, 2049);
	size = file_size(P("rt", "z2049"));
	CHECK(size > 29 && size < 29 + 8 + 2049);
	ROUNDTRIP(plain, S("p2048"), zeros, 2048);
	CHECK(file_size(P("rt", "p2048")) == 29 + 8 + 2048);
	/* 2048 random bytes: big enough, but snappy cannot shrink them. */
	ROUNDTRIP(db, S("r2048"), rnd, 2048);
	CHECK(file_size(P("rt", "r2048")) == 29 + 8 + 2048);

	/* Chunk boundaries. */
	ROUNDTRIP(db, S("z65535"), zeros, 65535);
	ROUNDTRIP(db, S("z65536"), zeros, 65536);
	ROUNDTRIP(db, S("z65537"), zeros, 65537);
	ROUNDTRIP(plain, S("p65536"), rnd, 65536);
	CHECK(file_size(P("rt", "p65536")) == 29 + 8 + 65536);
	ROUNDTRIP(plain, S("p65537"), rnd, 65537);
	CHECK(file_size(P("rt", "p65537")) == 29 + 2 * 8 + 65537);

	/* A key is pointer + length: bytes after it do not count. */
	E(okof_put(db, "keyXYZ", 3, "v", 1));
	CHECK(exists(P("rt", "key")) && !exists(P("rt", "keyXYZ")));
	GET_IS(db, S("key"), "v", 1);

	/* New files get 0666 & ~umask; no temporary file is left. */
	{
		struct stat st;

		CHECK(lstat(P("rt", "one"), &st) == 0 &&
		      (st.st_mode & 07777) == 0644);
	}
	CHECK(count_prefixed(P("rt", NULL), ".okof-tmp-") == 0);

out:
	free(big);
	free(rnd);
	free(zeros);
	okof_close(plain);
	okof_close(db);
}

/* okof_get_buf: one call, expecting value want[0..wlen) and whether it
 * had to be allocated (-1: either). */
static void get_buf_is(okof_t *db, const char *key, void *buf, size_t cap,
                       const void *want, size_t wlen, int alloc, int line)
{
	void *val = &val;
	size_t vlen = 12345;
	int allocated = -1;

	if (!rc_(okof_get_buf(db, key, strlen(key), buf, cap, &val, &vlen,
	                      &allocated), 0, "get_buf", line))
		return;
	check_(val != NULL && vlen == wlen && memcmp(val, want, wlen) == 0,
	       "get_buf value", line);
	check_(allocated == 0 || allocated == 1, "get_buf *allocated 0 or 1",
	       line);
	if (alloc >= 0)
		check_(allocated == alloc, "get_buf allocated as expected", line);
	if (allocated == 0)
		check_(buf != NULL && (char *)val >= (char *)buf &&
		       (char *)val + vlen <= (char *)buf + cap,
		       "get_buf value inside buf", line);
	if (allocated == 1)
		okof_free(val);
}

#define GET_BUF_IS(...) get_buf_is(__VA_ARGS__, __LINE__)

static void test_get_buf(void)
{
	okof_t *db = open_store("buf", OKOF_CREATE, 2048);
	unsigned char *big = compressible_bytes(100000);
	unsigned char *rnd = random_bytes(3000);
	unsigned char stack[512], *heap = malloc(300000);
	void *val;
	size_t vlen;
	int allocated;

	if (!db || !big || !rnd || !heap)
		goto out;
	E(okof_put(db, S("small"), S("hello")));
	E(okof_put(db, S("empty"), "", 0));
	E(okof_put(db, S("rnd"), rnd, 3000));
	E(okof_put(db, S("big"), big, 100000));
	E(okof_put(db, S("z"), big, 3000)); /* compressed */

	GET_BUF_IS(db, "small", stack, sizeof stack, "hello", 5, 0);
	GET_BUF_IS(db, "empty", stack, sizeof stack, "", 0, -1);
	GET_BUF_IS(db, "small", NULL, 0, "hello", 5, 1);
	GET_BUF_IS(db, "small", stack, 8, "hello", 5, -1);
	GET_BUF_IS(db, "rnd", stack, sizeof stack, rnd, 3000, 1);
	GET_BUF_IS(db, "rnd", heap, 300000, rnd, 3000, 0);
	GET_BUF_IS(db, "z", stack, sizeof stack, big, 3000, -1);
	GET_BUF_IS(db, "z", heap, 300000, big, 3000, 0);
	GET_BUF_IS(db, "big", stack, sizeof stack, big, 100000, 1);
	GET_BUF_IS(db, "big", heap, 300000, big, 100000, -1);

	/* Failures: *val NULL, *vlen 0, nothing to free. */
	val = &val;
	vlen = 1;
	allocated = -1;
	RC(okof_get_buf(db, S("missing"), stack, sizeof stack, &val, &vlen,
	                &allocated), OKOF_NOTFOUND);
	CHECK(val == NULL && vlen == 0 && allocated == 0);
	val = &val;
	RC(okof_get_buf(db, "", 0, stack, sizeof stack, &val, &vlen,
	                &allocated), OKOF_EBADKEY);
	CHECK(val == NULL && vlen == 0 && allocated == 0);
	CHECK(flip(P("buf", "small"), -1, 0x01));
	val = &val;
	RC(okof_get_buf(db, S("small"), stack, sizeof stack, &val, &vlen,
	                &allocated), OKOF_CORRUPT);
	CHECK(val == NULL && vlen == 0 && allocated == 0);
	CHECK(flip(P("buf", "big"), 100, 0x01));
	val = &val;
	RC(okof_get_buf(db, S("big"), heap, 300000, &val, &vlen, &allocated),
	   OKOF_CORRUPT);
	CHECK(val == NULL && vlen == 0 && allocated == 0);
out:
	free(big);
	free(rnd);
	free(heap);
	okof_close(db);
}

/* A get leaves the value file's access time alone where the system
 * allows (Linux's O_NOATIME, for the files' owner): a read then dirties
 * no inode. The file's atime is set older than its mtime, which a
 * relatime mount would otherwise update on the first read. */
static void test_atime(void)
{
#ifdef __linux__
	okof_t *db = open_store("atime", OKOF_CREATE, 2048);
	struct timespec ts[2] = { { 1000000000, 0 }, { 1500000000, 0 } };
	struct stat st;
	void *val = NULL;
	size_t vlen = 0;

	if (!db)
		return;
	E(okof_put(db, S("k"), S("value")));
	E(utimensat(AT_FDCWD, P("atime", "k"), ts, 0));
	E(okof_get(db, S("k"), &val, &vlen));
	CHECK(vlen == 5 && val && memcmp(val, "value", 5) == 0);
	okof_free(val);
	E(stat(P("atime", "k"), &st));
	CHECK(st.st_atime == 1000000000);
	CHECK(st.st_mtime == 1500000000);
	okof_close(db);
#endif
}

static void test_add(void)
{
	okof_t *db = open_store("add", OKOF_CREATE | OKOF_SYNC, 2048);
	unsigned char *big = compressible_bytes(100000);
	int i, n_added = 0, n_exists = 0, n_other = 0;

	if (!db || !big)
		goto out;
	CHECK(strcmp(okof_errname(OKOF_EXISTS), "EXISTS") == 0);
	CHECK(okof_strerror(OKOF_EXISTS)[0] != '\0');

	E(okof_add(db, S("k"), S("first")));
	GET_IS(db, S("k"), S("first"));
	RC(okof_add(db, S("k"), S("second")), OKOF_EXISTS);
	GET_IS(db, S("k"), S("first"));
	E(okof_put(db, S("k"), S("put")));
	RC(okof_add(db, S("k"), S("third")), OKOF_EXISTS);
	GET_IS(db, S("k"), S("put"));
	E(okof_del(db, S("k")));
	E(okof_add(db, S("k"), S("after del")));
	GET_IS(db, S("k"), S("after del"));
	E(okof_add(db, S("big"), big, 100000));
	GET_IS(db, S("big"), big, 100000);
	E(okof_add(db, S("Empty Value"), "", 0));
	GET_IS(db, S("Empty Value"), "", 0);
	RC(okof_add(db, "", 0, S("v")), OKOF_EBADKEY);
	/* Something that is not a value at the name: it is not replaced. */
	CHECK(mkdir(P("add", "adir"), 0755) == 0);
	CHECK(okof_add(db, S("adir"), S("v")) != 0);
	CHECK(count_prefixed(P("add", NULL), ".okof-tmp-") == 0);

	/* Eight processes add one key at once: exactly one succeeds. */
	{
		pid_t pids[8];
		char val[16];
		int status;

		fflush(NULL);
		for (i = 0; i < 8; i++) {
			pids[i] = fork();
			if (pids[i] == 0) {
				int rc;

				snprintf(val, sizeof val, "writer %d", i);
				rc = okof_add(db, S("race"), val, strlen(val));
				okof_close(db);
				free(big);
				_exit(rc == 0 ? 0 : rc == OKOF_EXISTS ? 1 : 2);
			}
		}
		for (i = 0; i < 8; i++) {
			if (pids[i] <= 0 || waitpid(pids[i], &status, 0) != pids[i] ||
			    !WIFEXITED(status))
				n_other++;
			else if (WEXITSTATUS(status) == 0)
				n_added++;
			else if (WEXITSTATUS(status) == 1)
				n_exists++;
			else
				n_other++;
		}
		CHECK(n_added == 1 && n_exists == 7 && n_other == 0);
		{
			void *v = NULL;
			size_t vlen = 0;

			if (E(okof_get(db, S("race"), &v, &vlen)))
				CHECK(vlen >= 8 && memcmp(v, "writer ", 7) == 0);
			okof_free(v);
		}
	}
	CHECK(count_prefixed(P("add", NULL), ".okof-tmp-") == 0);
out:
	free(big);
	okof_close(db);
}

static void test_put_many(void)
{
	okof_t *db = open_store("many", OKOF_CREATE | OKOF_SYNC, 2048);
	okof_t *nosync = open_store("many", 0, OKOF_NO_COMPRESS);
	unsigned char *big = compressible_bytes(100000);
	okof_kv items[4];
	size_t written;

	if (!db || !nosync || !big)
		goto out;
	items[0].key = "a";
	items[0].klen = 1;
	items[0].val = "one";
	items[0].vlen = 3;
	items[1].key = "B b";
	items[1].klen = 3;
	items[1].val = big;
	items[1].vlen = 100000;
	items[2].key = "c";
	items[2].klen = 1;
	items[2].val = "";
	items[2].vlen = 0;
	items[3].key = "d\0";
	items[3].klen = 2;
	items[3].val = "four";
	items[3].vlen = 4;

	written = 99;
	E(okof_put_many(db, items, 4, &written));
	CHECK(written == 4);
	GET_IS(db, S("a"), S("one"));
	GET_IS(db, S("B b"), big, 100000);
	GET_IS(db, S("c"), "", 0);
	GET_IS(db, S("d\0"), S("four"));
	CHECK(count_prefixed(P("many", NULL), ".okof-tmp-") == 0);

	/* Nothing to do; a NULL count; the other handle. */
	written = 99;
	E(okof_put_many(db, items, 0, &written));
	CHECK(written == 0);
	items[0].val = "uno";
	E(okof_put_many(nosync, items, 1, NULL));
	GET_IS(db, S("a"), S("uno"));

	/* A bad key anywhere: nothing is written. */
	items[0].val = "bad batch";
	items[2].klen = 0;
	written = 99;
	RC(okof_put_many(db, items, 4, &written), OKOF_EBADKEY);
	CHECK(written == 0);
	GET_IS(db, S("a"), S("uno"));
	items[2].klen = 1;

	/* A directory at the third key: the first two are renamed into
	 * place, the rest keep their old values, no temporary file stays. */
	E(okof_del(db, S("c")));
	CHECK(mkdir(P("many", "c"), 0755) == 0);
	items[0].val = "new a";
	items[0].vlen = 5;
	items[1].val = "new b";
	items[1].vlen = 5;
	items[3].val = "new d";
	items[3].vlen = 5;
	written = 99;
	RC(okof_put_many(db, items, 4, &written), -EISDIR);
	CHECK(written == 2);
	GET_IS(db, S("a"), S("new a"));
	GET_IS(db, S("B b"), S("new b"));
	GET_IS(db, S("d\0"), S("four"));
	CHECK(count_prefixed(P("many", NULL), ".okof-tmp-") == 0);
out:
	free(big);
	okof_close(nosync);
	okof_close(db);
}

static void test_notfound_del(void)
{
	okof_t *db = open_store("del", OKOF_CREATE, 2048);

	if (!db)
		return;
	GET_FAILS(db, S("nothing"), OKOF_NOTFOUND);
	RC(okof_del(db, S("nothing")), OKOF_NOTFOUND);

	E(okof_put(db, S("k"), S("v")));
	CHECK(exists(P("del", "k")));
	E(okof_del(db, S("k")));
	CHECK(!exists(P("del", "k")));
	RC(okof_del(db, S("k")), OKOF_NOTFOUND);
	GET_FAILS(db, S("k"), OKOF_NOTFOUND);
	/* And back again. */
	E(okof_put(db, S("k"), S("again")));
	GET_IS(db, S("k"), S("again"));
	E(okof_del(db, S("k")));

	/* The same with OKOF_SYNC. */
	okof_close(db);
	if ((db = open_store("del", OKOF_SYNC, 2048)) == NULL)
		return;
	E(okof_put(db, S("s"), S("v")));
	E(okof_del(db, S("s")));
	RC(okof_del(db, S("s")), OKOF_NOTFOUND);
	CHECK(count_prefixed(P("del", NULL), "") == 2);
	okof_close(db);
}

static void test_keys(void)
{
	okof_t *db = open_store("keys", OKOF_CREATE, 2048);
	char k[300];
	void *v;
	size_t vlen;

	if (!db)
		return;

	/* The empty key. */
	RC(okof_put(db, "", 0, "v", 1), OKOF_EBADKEY);
	GET_FAILS(db, "", 0, OKOF_EBADKEY);
	RC(okof_del(db, "", 0), OKOF_EBADKEY);

	/* Plain keys are their own file names, up to 255 bytes. */
	memset(k, 'a', sizeof k);
	ROUNDTRIP(db, k, 255, "long", 4);
	RC(okof_put(db, k, 256, "v", 1), OKOF_EBADKEY);
	GET_FAILS(db, k, 256, OKOF_EBADKEY);
	RC(okof_del(db, k, 256), OKOF_EBADKEY);
	RC(okof_put(db, k, sizeof k, "v", 1), OKOF_EBADKEY);

	/* okof_key_check answers as the operations do, storing nothing. */
	RC(okof_key_check(k, 255), 0);
	RC(okof_key_check(k, 256), OKOF_EBADKEY);
	RC(okof_key_check("", 0), OKOF_EBADKEY);

	/* Every key of up to 80 bytes is accepted, whatever its bytes. */
	memset(k, 0xff, sizeof k);
	RC(okof_key_check(k, OKOF_KEY_SAFE_MAX), 0);
	RC(okof_key_check(k, 85), 0);
	RC(okof_key_check(k, 86), OKOF_EBADKEY);
	ROUNDTRIP(db, k, 80, "ff", 2);
	ROUNDTRIP(db, k, 85, "ff85", 4); /* 85 * 3 = 255 */
	RC(okof_put(db, k, 86, "v", 1), OKOF_EBADKEY);
	GET_FAILS(db, k, 86, OKOF_EBADKEY);
	memset(k, '.', 80);
	ROUNDTRIP(db, k, 80, "dots", 4);
	memset(k, '/', 80);
	ROUNDTRIP(db, k, 80, "slashes", 7);
	memset(k, 0, 80);
	ROUNDTRIP(db, k, 80, "nuls", 4);
	ROUNDTRIP(db, k, 1, "nul", 3);
	memset(k, 'A', 80);
	ROUNDTRIP(db, k, 80, "upper", 5);

	/* Names: plain keys pass through, the rest is %xx, lowercase. */
	E(okof_put(db, S("plain-key_1.txt"), S("v")));
	CHECK(exists(P("keys", "plain-key_1.txt")));
	E(okof_put(db, S("Foo"), S("upper")));
	CHECK(exists(P("keys", "%46oo")));
	E(okof_put(db, S("foo"), S("lower")));
	CHECK(exists(P("keys", "foo")));
	GET_IS(db, S("Foo"), S("upper"));
	GET_IS(db, S("foo"), S("lower"));
	E(okof_put(db, S(".hidden"), S("v")));
	CHECK(exists(P("keys", "%2ehidden")));
	E(okof_put(db, S("a.b"), S("v")));
	CHECK(exists(P("keys", "a.b")));
	E(okof_put(db, S("a/b"), S("v")));
	CHECK(exists(P("keys", "a%2fb")));
	E(okof_put(db, S("a\0b"), S("v")));
	CHECK(exists(P("keys", "a%00b")));
	E(okof_put(db, S("%"), S("v")));
	CHECK(exists(P("keys", "%25")));
	E(okof_put(db, S("."), S("dot")));
	CHECK(exists(P("keys", "%2e")));
	E(okof_put(db, S(".."), S("dotdot")));
	CHECK(exists(P("keys", "%2e%2e")));
	GET_IS(db, S("."), S("dot"));
	GET_IS(db, S(".."), S("dotdot"));
	E(okof_put(db, S("sp ace"), S("v")));
	CHECK(exists(P("keys", "sp%20ace")));
	E(okof_put(db, S("\xc3\xa9t\xc3\xa9"), S("v")));
	CHECK(exists(P("keys", "%c3%a9t%c3%a9")));

	/* Numbers are just bytes. */
	E(okof_put(db, S("42"), S("v")));
	CHECK(exists(P("keys", "42")));

	/* A key that is a temporary file's name is still just a key. */
	E(okof_put(db, S(".okof-tmp-1"), S("not a temp")));
	GET_IS(db, S(".okof-tmp-1"), S("not a temp"));
	CHECK(exists(P("keys", "%2eokof-tmp-1")));

	v = NULL;
	vlen = 0;
	RC(okof_get(db, S("Missing"), &v, &vlen), OKOF_NOTFOUND);
	okof_close(db);
}

struct key {
	const char *p;
	size_t n;
};

/* Walk the keys under prefix; check they are exactly want[0..nwant). */
static void walk_is(okof_t *db, const char *prefix, size_t plen,
                    const struct key *want, size_t nwant, int line)
{
	okof_iter_t *it = NULL;
	unsigned seen[32] = {0};
	const char *k;
	size_t klen, i, n = 0, unknown = 0;
	int rc;

	if (!rc_(okof_iter_open(db, prefix, plen, &it), 0, "iter_open", line))
		return;
	while ((rc = okof_iter_next(it, &k, &klen)) == 0) {
		n++;
		check_(k[klen] == '\0', "key is NUL-terminated", line);
		for (i = 0; i < nwant; i++)
			if (want[i].n == klen && memcmp(want[i].p, k, klen) == 0)
				break;
		if (i < nwant) {
			seen[i]++;
		} else {
			unknown++;
			fprintf(stderr, "%s:%d: unexpected key \"%.*s\" (%zu bytes)\n",
			        __FILE__, line, (int)klen, k, klen);
		}
	}
	rc_(rc, OKOF_NOTFOUND, "iter_next ends with NOTFOUND", line);
	okof_iter_close(it);
	check_(unknown == 0, "no unexpected keys", line);
	check_(n == nwant, "as many keys as expected", line);
	for (i = 0; i < nwant; i++)
		if (!check_(seen[i] == 1, "key seen once", line))
			fprintf(stderr, "%s:%d: key \"%.*s\" seen %u times\n",
			        __FILE__, line, (int)want[i].n, want[i].p, seen[i]);
}

#define K(lit) {lit, sizeof(lit) - 1}
#define WALK_IS(...) walk_is(__VA_ARGS__, __LINE__)

static void test_iter(void)
{
	static char ff[80];
	static const struct key none[1] = {{"", 0}};
	struct key all[] = {
		K("alpha"), K("Alpha"),  K("a/b"),    K(".dot"),
		K("nul\0key"), K("user.1"), K("user.2"), K("\xff\xfe"),
		K("%"),     K("UPPER"),  K("a"),      {ff, sizeof ff},
	};
	static const char *foreign[] = {
		".DS_Store", ".okof-tmp-123-4", ".hidden", "%zz",  "%4",
		"%",         "x%",              "%61",     "a%2eb", "%2Edot",
		"Upper",     "a b",             "%2F",     "%c3%A9",
	};
	const size_t nall = sizeof all / sizeof all[0];
	okof_t *db = open_store("iter", OKOF_CREATE, 2048);
	okof_iter_t *it = NULL;
	const char *k;
	size_t klen, i;

	if (!db)
		return;
	memset(ff, 0xff, sizeof ff);

	/* An empty store. */
	if (E(okof_iter_open(db, NULL, 0, &it))) {
		RC(okof_iter_next(it, &k, &klen), OKOF_NOTFOUND);
		okof_iter_close(it);
	}

	for (i = 0; i < nall; i++)
		E(okof_put(db, all[i].p, all[i].n, "v", 1));
	for (i = 0; i < sizeof foreign / sizeof foreign[0]; i++)
		E(write_file(P("iter", foreign[i]), "\0foreign", 8));

	WALK_IS(db, NULL, 0, all, nall);
	WALK_IS(db, "", 0, all, nall);
	{
		const struct key w[] = {K("user.1"), K("user.2")};
		WALK_IS(db, S("user."), w, 2);
	}
	{
		const struct key w[] = {K("alpha"), K("a/b"), K("a")};
		WALK_IS(db, S("a"), w, 3);
	}
	{
		const struct key w[] = {K("a/b")};
		WALK_IS(db, S("a/"), w, 1);
	}
	{
		const struct key w[] = {K("Alpha")};
		WALK_IS(db, S("A"), w, 1);
	}
	{
		const struct key w[] = {K(".dot")};
		WALK_IS(db, S("."), w, 1);
	}
	{
		const struct key w[] = {K("nul\0key")};
		WALK_IS(db, S("nul\0"), w, 1);
	}
	{
		const struct key w[] = {K("\xff\xfe"), {ff, sizeof ff}};
		WALK_IS(db, S("\xff"), w, 2);
	}
	{
		const struct key w[] = {{ff, sizeof ff}};
		WALK_IS(db, ff, sizeof ff, w, 1);
	}
	{
		const struct key w[] = {K("%")};
		WALK_IS(db, S("%"), w, 1);
	}
	WALK_IS(db, S("zzz"), none, 0);
	WALK_IS(db, S("alphabet"), none, 0);
	WALK_IS(db, S("al\0"), none, 0);

	/* The foreign files are still there, untouched. */
	for (i = 0; i < sizeof foreign / sizeof foreign[0]; i++)
		CHECK(file_size(P("iter", foreign[i])) == 8);

	/* Two walks at once, each with its own directory descriptor. */
	{
		okof_iter_t *a = NULL, *b = NULL;
		size_t na = 0, nb = 0;

		if (E(okof_iter_open(db, NULL, 0, &a)) &&
		    E(okof_iter_open(db, NULL, 0, &b))) {
			while (okof_iter_next(a, &k, &klen) == 0) {
				na++;
				if (okof_iter_next(b, &k, &klen) == 0)
					nb++;
			}
			while (okof_iter_next(b, &k, &klen) == 0)
				nb++;
			CHECK(na == nall && nb == nall);
		}
		okof_iter_close(a);
		okof_iter_close(b);
	}

	/* An abandoned walk releases everything at close. */
	for (i = 0; i < 2000; i++) {
		it = NULL;
		if (okof_iter_open(db, NULL, 0, &it) != 0) {
			E(okof_iter_open(db, NULL, 0, &it));
			break;
		}
		okof_iter_next(it, &k, &klen);
		okof_iter_close(it);
	}
	CHECK(i == 2000);
	okof_close(db);
}

/* Temporary names taken in advance (leftovers of a crashed writer with
 * this process id, in the forms earlier releases used) stop no write. */
static void test_tmp_squat(void)
{
	okof_t *db = open_store("squat", OKOF_CREATE | OKOF_SYNC, 2048);
	okof_kv items[200];
	char keys[200][8], name[64];
	long pid = (long)getpid();
	unsigned long n;
	int i;

	if (!db)
		return;
	for (n = 0; n < 0x40; n++) {
		snprintf(name, sizeof name, ".okof-tmp-%lx-%lx", pid, n);
		CHECK(write_file(P("squat", name), "x", 1) == 0);
		snprintf(name, sizeof name, ".okof-tmp-%ld-%lu", pid, n);
		if (!exists(P("squat", name)))
			CHECK(write_file(P("squat", name), "x", 1) == 0);
	}
	i = count_prefixed(P("squat", NULL), ".okof-tmp-");
	CHECK(i >= 0x40);
	E(okof_put(db, S("p"), S("put")));
	RC(okof_add(db, S("a"), S("add")), 0);
	/* more items than a durable batch flushes at once */
	for (n = 0; n < 200; n++) {
		snprintf(keys[n], sizeof keys[n], "m%lu", n);
		items[n].key = keys[n];
		items[n].klen = strlen(keys[n]);
		items[n].val = keys[n];
		items[n].vlen = strlen(keys[n]);
	}
	E(okof_put_many(db, items, 200, NULL));
	GET_IS(db, S("p"), S("put"));
	GET_IS(db, S("a"), S("add"));
	GET_IS(db, S("m0"), S("m0"));
	GET_IS(db, S("m199"), S("m199"));
	CHECK(count_prefixed(P("squat", NULL), ".okof-tmp-") == i);
	okof_close(db);
}

/* Windows' device names and keys ending in '.' get escaped names; other
 * plain keys keep theirs. */
static void test_reserved_names(void)
{
	okof_t *db = open_store("win", OKOF_CREATE, 2048);
	static const struct {
		const char *key, *name;
	} cases[] = {
		{"con", "%63on"},           {"prn", "%70rn"},
		{"aux.txt", "%61ux.txt"},   {"nul", "%6eul"},
		{"com1", "%63om1"},         {"com9.tar.gz", "%63om9.tar.gz"},
		{"lpt1", "%6cpt1"},         {"lpt9", "%6cpt9"},
		{"a.", "a%2e"},             {"x..", "x.%2e"},
		{"con.", "%63on%2e"},       {"config", "config"},
		{"con1", "con1"},           {"com10", "com10"},
		{"console", "console"},     {"lpt", "lpt"},
		{"com0", "com0"},           {"a.b", "a.b"},
	};
	size_t i, nc = sizeof cases / sizeof cases[0];
	struct key want[32];

	if (!db)
		return;
	for (i = 0; i < nc; i++) {
		size_t kl = strlen(cases[i].key);
		E(okof_put(db, cases[i].key, kl, "v", 1));
		if (!CHECK(exists(P("win", cases[i].name))))
			fprintf(stderr, "  key %s: no file %s\n", cases[i].key,
			        cases[i].name);
		if (strcmp(cases[i].key, cases[i].name) != 0)
			CHECK(!exists(P("win", cases[i].key)));
		GET_IS(db, cases[i].key, kl, S("v"));
		want[i].p = cases[i].key;
		want[i].n = kl;
	}
	WALK_IS(db, "", 0, want, nc);
	/* A file under the name an earlier release gave "con" is no key's. */
	E(okof_del(db, S("con")));
	CHECK(write_file(P("win", "con"), "\1x", 2) == 0);
	{
		static const struct key con[] = {K("con."), K("config"),
		                                  K("con1"), K("console")};
		WALK_IS(db, "con", 3, con, 4);
	}
	{
		void *v = NULL;
		size_t vl = 0;
		RC(okof_get(db, S("con"), &v, &vl), OKOF_NOTFOUND);
		okof_free(v);
	}
	okof_close(db);
}

static void test_sweep(void)
{
	okof_t *db = open_store("sweep", OKOF_CREATE, 2048);
	size_t removed = 99;

	if (!db)
		return;
	/* Nothing to do in an empty store. */
	E(okof_sweep(db, 3600, &removed));
	CHECK(removed == 0);

	E(write_file(P("sweep", ".okof-tmp-x"), "x", 1));
	E(write_file(P("sweep", ".okof-tmp-old2"), "x", 1));
	E(write_file(P("sweep", ".okof-tmp-recent"), "x", 1));
	E(write_file(P("sweep", ".okof-tmp-new"), "x", 1));
	E(write_file(P("sweep", ".DS_Store"), "x", 1));
	E(write_file(P("sweep", ".okof-tmpx"), "x", 1));
	E(write_file(P("sweep", "%zz"), "x", 1));
	E(okof_put(db, S("keep"), S("kept")));
	E(okof_put(db, S(".okof-tmp-key"), S("a key"))); /* %2eokof-tmp-key */
	CHECK(set_age(P("sweep", ".okof-tmp-x"), 7200) == 0);
	CHECK(set_age(P("sweep", ".okof-tmp-old2"), 4000) == 0);
	CHECK(set_age(P("sweep", ".okof-tmp-recent"), 600) == 0);
	CHECK(set_age(P("sweep", ".DS_Store"), 7200) == 0);
	CHECK(set_age(P("sweep", ".okof-tmpx"), 7200) == 0);
	CHECK(set_age(P("sweep", "%zz"), 7200) == 0);
	CHECK(set_age(P("sweep", "keep"), 7200) == 0);
	CHECK(set_age(P("sweep", "%2eokof-tmp-key"), 7200) == 0);

	removed = 99;
	E(okof_sweep(db, 3600, &removed));
	CHECK(removed == 2);
	CHECK(!exists(P("sweep", ".okof-tmp-x")));
	CHECK(!exists(P("sweep", ".okof-tmp-old2")));
	CHECK(exists(P("sweep", ".okof-tmp-recent")));
	CHECK(exists(P("sweep", ".okof-tmp-new")));
	CHECK(exists(P("sweep", ".DS_Store")));
	CHECK(exists(P("sweep", ".okof-tmpx")));
	CHECK(exists(P("sweep", "%zz")));
	GET_IS(db, S("keep"), S("kept"));
	GET_IS(db, S(".okof-tmp-key"), S("a key"));

	/* Again: nothing left that old. */
	removed = 99;
	E(okof_sweep(db, 3600, &removed));
	CHECK(removed == 0);

	/* A smaller max_age reaches the recent one; NULL count is fine. */
	E(okof_sweep(db, 300, NULL));
	CHECK(!exists(P("sweep", ".okof-tmp-recent")));
	CHECK(exists(P("sweep", ".okof-tmp-new")));
	CHECK(count_prefixed(P("sweep", NULL), ".okof-tmp-") == 1);
	GET_IS(db, S("keep"), S("kept"));
	okof_close(db);
}

static void test_corrupt(void)
{
	okof_t *db = open_store("bad", OKOF_CREATE, 2048);
	unsigned char *rnd = random_bytes(70000), *big = compressible_bytes(5000);
	struct vfile f;
	long long size;

	if (!db || !rnd || !big)
		goto out;

	/* A flipped data byte, CRC byte, length byte, header byte. */
	E(okof_put(db, S("data"), rnd, 1000));
	CHECK(flip(P("bad", "data"), -1, 0x01));
	GET_FAILS(db, S("data"), OKOF_CORRUPT);
	E(okof_put(db, S("crc"), rnd, 1000));
	CHECK(flip(P("bad", "crc"), 29 + 4, 0x80));
	GET_FAILS(db, S("crc"), OKOF_CORRUPT);
	E(okof_put(db, S("hdrlen"), rnd, 1000));
	CHECK(flip(P("bad", "hdrlen"), 21, 0x01));
	GET_FAILS(db, S("hdrlen"), OKOF_CORRUPT);
	E(okof_put(db, S("byte0"), rnd, 10));
	CHECK(flip(P("bad", "byte0"), 0, 0x03)); /* 0x01 -> 0x02 */
	GET_FAILS(db, S("byte0"), OKOF_CORRUPT);
	E(okof_put(db, S("streamid"), rnd, 10));
	CHECK(flip(P("bad", "streamid"), 5, 0x20));
	GET_FAILS(db, S("streamid"), OKOF_CORRUPT);
	E(okof_put(db, S("magic"), rnd, 10));
	CHECK(flip(P("bad", "magic"), 15, 0x20));
	GET_FAILS(db, S("magic"), OKOF_CORRUPT);
	/* A compressed chunk with a flipped byte. */
	E(okof_put(db, S("snappy"), big, 5000));
	CHECK(file_size(P("bad", "snappy")) < 5000);
	CHECK(flip(P("bad", "snappy"), -3, 0x10));
	GET_FAILS(db, S("snappy"), OKOF_CORRUPT);

	/* Truncations: by a byte, at a chunk boundary, to nothing. */
	E(okof_put(db, S("short"), rnd, 1000));
	CHECK(truncate(P("bad", "short"), 29 + 8 + 999) == 0);
	GET_FAILS(db, S("short"), OKOF_CORRUPT);
	E(okof_put(db, S("cut"), rnd, 70000));
	CHECK(file_size(P("bad", "cut")) == 29 + 16 + 70000);
	CHECK(truncate(P("bad", "cut"), 29 + 8 + 65536) == 0);
	GET_FAILS(db, S("cut"), OKOF_CORRUPT);
	E(okof_put(db, S("nodata"), rnd, 10));
	CHECK(truncate(P("bad", "nodata"), 29) == 0);
	GET_FAILS(db, S("nodata"), OKOF_CORRUPT);
	E(okof_put(db, S("halfhdr"), rnd, 10));
	CHECK(truncate(P("bad", "halfhdr"), 20) == 0);
	GET_FAILS(db, S("halfhdr"), OKOF_CORRUPT);
	E(write_file(P("bad", "zero"), "", 0));
	GET_FAILS(db, S("zero"), OKOF_CORRUPT);
	E(write_file(P("bad", "one"), "\x01", 1));
	GET_FAILS(db, S("one"), OKOF_CORRUPT);
	/* Every other header byte is refused. */
	E(write_file(P("bad", "hdr02"), "\x02hello", 6));
	GET_FAILS(db, S("hdr02"), OKOF_CORRUPT);
	E(write_file(P("bad", "hdrff"), "\xffhello", 6));
	GET_FAILS(db, S("hdrff"), OKOF_CORRUPT);

	/* Byte 0x00: the raw value, as the Rust crate writes small ones, is
	 * read only by a handle with OKOF_LEGACY (test_legacy). */
	E(write_file(P("bad", "raw"), "\0hello", 6));
	GET_FAILS(db, S("raw"), OKOF_CORRUPT);
	RC(okof_corrupt_reason(db), OKOF_REASON_RAW);
	GET_FAILS(db, S("crc"), OKOF_CORRUPT);
	RC(okof_corrupt_reason(db), OKOF_REASON_CHECK);

	/* Hand-made framing streams. */
	vf_start(&f); /* as the Rust crate writes: no value header */
	vf_data(&f, "hello", 5);
	E(write_file(P("bad", "rust"), f.b, f.n));
	GET_IS(db, S("rust"), S("hello"));
	vf_start(&f);
	vf_data(&f, "hel", 3);
	vf_data(&f, "lo", 2);
	E(write_file(P("bad", "rust2"), f.b, f.n));
	GET_IS(db, S("rust2"), S("hello"));
	vf_start(&f); /* identifier only: no data chunk */
	E(write_file(P("bad", "idonly"), f.b, f.n));
	GET_FAILS(db, S("idonly"), OKOF_CORRUPT);
	vf_start(&f); /* skippable chunks and padding are skipped */
	vf_header(&f, 1, 0, 5);
	vf_chunk(&f, 0xfe, "\0\0\0", 3);
	vf_data(&f, "hel", 3);
	vf_chunk(&f, 0x99, "skip me", 7);
	vf_data(&f, "lo", 2);
	vf_chunk(&f, 0xfd, "", 0);
	E(write_file(P("bad", "skips"), f.b, f.n));
	GET_IS(db, S("skips"), S("hello"));
	vf_start(&f); /* a reserved unskippable chunk */
	vf_header(&f, 1, 0, 5);
	vf_data(&f, "hello", 5);
	vf_chunk(&f, 0x02, "xx", 2);
	E(write_file(P("bad", "unskip"), f.b, f.n));
	GET_FAILS(db, S("unskip"), OKOF_CORRUPT);
	vf_start(&f); /* unknown version */
	vf_header(&f, 2, 0, 5);
	vf_data(&f, "hello", 5);
	E(write_file(P("bad", "version"), f.b, f.n));
	GET_FAILS(db, S("version"), OKOF_CORRUPT);
	vf_start(&f); /* unknown flag bit */
	vf_header(&f, 1, 0x80, 5);
	vf_data(&f, "hello", 5);
	E(write_file(P("bad", "flags"), f.b, f.n));
	GET_FAILS(db, S("flags"), OKOF_CORRUPT);
	vf_start(&f); /* the length does not add up: more data */
	vf_header(&f, 1, 0, 4);
	vf_data(&f, "hello", 5);
	E(write_file(P("bad", "longer"), f.b, f.n));
	GET_FAILS(db, S("longer"), OKOF_CORRUPT);
	vf_start(&f); /* ... less data */
	vf_header(&f, 1, 0, 6);
	vf_data(&f, "hello", 5);
	E(write_file(P("bad", "shorter"), f.b, f.n));
	GET_FAILS(db, S("shorter"), OKOF_CORRUPT);
	vf_start(&f); /* a value header after a data chunk */
	vf_data(&f, "hello", 5);
	vf_header(&f, 1, 0, 5);
	E(write_file(P("bad", "late"), f.b, f.n));
	GET_FAILS(db, S("late"), OKOF_CORRUPT);
	vf_start(&f); /* two value headers */
	vf_header(&f, 1, 0, 5);
	vf_header(&f, 1, 0, 5);
	vf_data(&f, "hello", 5);
	E(write_file(P("bad", "twice"), f.b, f.n));
	GET_FAILS(db, S("twice"), OKOF_CORRUPT);
	vf_start(&f); /* a 0x80 chunk that is not a value header */
	vf_chunk(&f, 0x80, "not okof", 8);
	vf_data(&f, "hello", 5);
	E(write_file(P("bad", "badhdr"), f.b, f.n));
	GET_FAILS(db, S("badhdr"), OKOF_CORRUPT);
	vf_start(&f); /* a data chunk that ends the file early */
	vf_header(&f, 1, 0, 5);
	vf_data(&f, "hello", 5);
	f.n -= 2;
	E(write_file(P("bad", "partial"), f.b, f.n));
	GET_FAILS(db, S("partial"), OKOF_CORRUPT);
	vf_start(&f); /* the header's value length of 0 with an empty chunk */
	vf_header(&f, 1, 0, 0);
	vf_data(&f, "", 0);
	E(write_file(P("bad", "emptychunk"), f.b, f.n));
	GET_IS(db, S("emptychunk"), "", 0);
	f.n = 0; /* a data chunk where the stream identifier belongs */
	vf_bytes(&f, "\x01", 1);
	vf_data(&f, "hello", 5);
	E(write_file(P("bad", "noid"), f.b, f.n));
	GET_FAILS(db, S("noid"), OKOF_CORRUPT);

	/* A corrupt value is still a key: it is listed, deleted, replaced. */
	{
		okof_iter_t *it = NULL;
		const char *k;
		size_t klen;

		if (E(okof_iter_open(db, S("data"), &it))) {
			E(okof_iter_next(it, &k, &klen));
			RC(okof_iter_next(it, &k, &klen), OKOF_NOTFOUND);
			okof_iter_close(it);
		}
	}
	E(okof_put(db, S("crc"), S("fixed")));
	GET_IS(db, S("crc"), S("fixed"));
	E(okof_del(db, S("data")));
	size = file_size(P("bad", "data"));
	CHECK(size == -1);
	CHECK(count_prefixed(P("bad", NULL), ".okof-tmp-") == 0);
out:
	free(rnd);
	free(big);
	okof_close(db);
}

/* A file of n zero bytes at key's name, or of n - 1 zeros and then 0x01
 * with last_one. */
static int write_zeros(const char *path, size_t n, int last_one)
{
	unsigned char *z = calloc(n ? n : 1, 1);
	int rc;

	if (z == NULL)
		return -ENOMEM;
	if (last_one && n)
		z[n - 1] = 1;
	rc = write_file(path, z, n);
	free(z);
	return rc;
}

/* OKOF_LEGACY: raw 0x00 files are values only for a handle opened with
 * it; a file made only of zero bytes (a crash can leave one) never is,
 * through okof_get and okof_get_buf alike. */
static void test_legacy(void)
{
	static const size_t lens[] = {1, 2, 14, 28, 29, 30, 101, 2048, 4096,
	                              65536, 65537, 70000, 1048576};
	okof_t *db = open_store("legacy", OKOF_CREATE, 2048), *ldb = NULL;
	unsigned char buf[4096];
	size_t i;

	if (!db || !E(okof_open(&ldb, P("legacy", NULL), OKOF_LEGACY, 2048)))
		goto out;
	E(write_file(P("legacy", "raw"), "\0hello", 6));
	GET_IS(ldb, S("raw"), S("hello"));
	GET_FAILS(db, S("raw"), OKOF_CORRUPT);
	RC(okof_corrupt_reason(db), OKOF_REASON_RAW);
	GET_BUF_IS(ldb, "raw", buf, sizeof buf, "hello", 5, 0);
	E(write_file(P("legacy", "nulls"), "\0\0\0x\0", 5));
	GET_IS(ldb, S("nulls"), S("\0\0x\0"));
	/* A raw file that starts like an okofdb stream had its byte 0 damaged. */
	E(okof_put(db, S("damaged"), S("value")));
	CHECK(flip(P("legacy", "damaged"), 0, 0x01));
	GET_FAILS(ldb, S("damaged"), OKOF_CORRUPT);
	RC(okof_corrupt_reason(ldb), OKOF_REASON_CHECK);
	for (i = 0; i < sizeof lens / sizeof lens[0]; i++) {
		void *v = NULL;
		size_t vlen = 0;
		int allocated = 0;

		E(write_zeros(P("legacy", "zeros"), lens[i], 0));
		GET_FAILS(db, S("zeros"), OKOF_CORRUPT);
		RC(okof_corrupt_reason(db), OKOF_REASON_ZEROS);
		GET_FAILS(ldb, S("zeros"), OKOF_CORRUPT);
		RC(okof_corrupt_reason(ldb), OKOF_REASON_ZEROS);
		RC(okof_get_buf(ldb, S("zeros"), buf, sizeof buf, &v, &vlen,
		                &allocated), OKOF_CORRUPT);
		CHECK(v == NULL && vlen == 0);
		/* One byte that is not zero makes it a raw value again. */
		E(write_zeros(P("legacy", "zeros"), lens[i] + 1, 1));
		GET_FAILS(db, S("zeros"), OKOF_CORRUPT);
		RC(okof_corrupt_reason(db), OKOF_REASON_RAW);
		if (E(okof_get(ldb, S("zeros"), &v, &vlen))) {
			CHECK(vlen == lens[i] && ((unsigned char *)v)[vlen - 1] == 1);
			okof_free(v);
		}
	}
out:
	okof_close(ldb);
	okof_close(db);
}

/* A file whose compressed chunks claim 64 KiB each in 11 bytes (the
 * snappy length varint alone): reading it allocates no more than its
 * bytes can decode to, so it is OKOF_CORRUPT, never -ENOMEM, however
 * large it is. 20 MB of it claims 120 GB. */
static void test_claims(void)
{
	static const unsigned char claim[11] = {0x00, 7, 0, 0, 0, 0, 0, 0,
	                                        0x80, 0x80, 0x04};
	size_t n = 20u << 20, chunks = (n - 29) / sizeof claim, i;
	okof_t *db = open_store("claims", OKOF_CREATE, 2048);
	unsigned char *file = malloc(n), *p;
	struct vfile f;
	void *v = NULL;
	size_t vlen = 0;

	if (!db || !file)
		goto out;
	vf_start(&f);
	vf_header(&f, 1, 0, (uint64_t)chunks * 65536);
	memcpy(file, f.b, f.n);
	p = file + f.n;
	for (i = 0; i < chunks; i++, p += sizeof claim)
		memcpy(p, claim, sizeof claim);
	E(write_file(P("claims", "k"), file, (size_t)(p - file)));
	RC(okof_get(db, S("k"), &v, &vlen), OKOF_CORRUPT);
	/* Without the value header, as the Rust crate's files are. */
	memmove(file + 11, file + f.n, (size_t)(p - file) - f.n);
	E(write_file(P("claims", "k"), file, (size_t)(p - file) - (f.n - 11)));
	RC(okof_get(db, S("k"), &v, &vlen), OKOF_CORRUPT);
	/* One chunk at the bound: 3 bytes of elements per 64 claimed. */
	vf_start(&f);
	vf_header(&f, 1, 0, 65536);
	{
		unsigned char body[4 + 3 + 2 + 3 * 1024];
		size_t k = 0;

		memset(body, 0, 4); /* a checksum that does not match */
		k = 4;
		body[k++] = 0x80; body[k++] = 0x80; body[k++] = 0x04;
		body[k++] = 0x00; body[k++] = 'd'; /* a literal of 1 byte */
		for (i = 0; i < 1023; i++) { /* copies of 64 at offset 1 */
			body[k++] = (unsigned char)(63 << 2 | 2);
			body[k++] = 1;
			body[k++] = 0;
		}
		body[k++] = (unsigned char)(62 << 2 | 2); /* and one of 63 */
		body[k++] = 1;
		body[k++] = 0;
		vf_chunk(&f, 0x00, body, k);
	}
	E(write_file(P("claims", "dense"), f.b, f.n));
	RC(okof_get(db, S("dense"), &v, &vlen), OKOF_CORRUPT);
	RC(okof_corrupt_reason(db), OKOF_REASON_CHECK);
out:
	free(file);
	okof_close(db);
}

static void test_not_a_file(void)
{
	okof_t *db = open_store("odd", OKOF_CREATE | OKOF_SYNC, 2048);

	if (!db)
		return;
	/* A directory at a key's name. */
	CHECK(mkdir(P("odd", "adir"), 0755) == 0);
	GET_FAILS(db, S("adir"), -EISDIR);
	RC(okof_put(db, S("adir"), S("value")), -EISDIR);
	CHECK(count_prefixed(P("odd", NULL), ".okof-tmp-") == 0);
	RC(okof_del(db, S("adir")), -EISDIR);
	CHECK(exists(P("odd", "adir")));
	/* A big value takes the same way out. */
	{
		unsigned char *big = compressible_bytes(300000);

		if (big)
			RC(okof_put(db, S("adir"), big, 300000), -EISDIR);
		free(big);
	}
	CHECK(count_prefixed(P("odd", NULL), ".okof-tmp-") == 0);

	/* A symbolic link at a key's name is never followed. */
	E(okof_put(db, S("target"), S("secret")));
	CHECK(symlink("target", P("odd", "link")) == 0);
	GET_FAILS(db, S("link"), -ELOOP);
	GET_IS(db, S("target"), S("secret"));
	okof_close(db);
}

static void test_two_handles(void)
{
	okof_t *a = open_store("two", OKOF_CREATE, 2048);
	okof_t *b = open_store("two", 0, OKOF_NO_COMPRESS);
	unsigned char *big = compressible_bytes(100000);
	pid_t pid;
	int status = -1;

	if (!a || !b || !big)
		goto out;
	E(okof_put(a, S("k"), S("from a")));
	GET_IS(b, S("k"), S("from a"));
	E(okof_put(b, S("k"), S("from b")));
	GET_IS(a, S("k"), S("from b"));
	E(okof_put(a, S("big"), big, 100000));
	GET_IS(b, S("big"), big, 100000);
	E(okof_del(b, S("k")));
	GET_FAILS(a, S("k"), OKOF_NOTFOUND);
	RC(okof_del(a, S("k")), OKOF_NOTFOUND);

	/* A write behind the handle's back is seen at once: no caching. */
	{
		struct vfile f;

		vf_start(&f);
		vf_data(&f, "by hand", 7);
		E(write_file(P("two", "outside"), f.b, f.n));
	}
	GET_IS(a, S("outside"), S("by hand"));
	CHECK(unlink(P("two", "outside")) == 0);
	GET_FAILS(a, S("outside"), OKOF_NOTFOUND);

	/* A handle opened before fork() works in the child. */
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		int rc = okof_put(a, S("forked"), S("child"));
		void *v = NULL;
		size_t vlen = 0;

		if (rc == 0)
			rc = okof_get(b, S("big"), &v, &vlen);
		if (rc == 0 && (vlen != 100000 || memcmp(v, big, vlen) != 0))
			rc = OKOF_CORRUPT;
		okof_free(v);
		/* Release everything: valgrind checks the child's leaks too. */
		okof_close(a);
		okof_close(b);
		free(big);
		_exit(rc == 0 ? 0 : 1);
	}
	CHECK(pid > 0);
	if (pid > 0) {
		CHECK(waitpid(pid, &status, 0) == pid);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	GET_IS(a, S("forked"), S("child"));
	GET_IS(b, S("forked"), S("child"));

	/* Closing one handle leaves the other working. */
	okof_close(a);
	a = NULL;
	GET_IS(b, S("forked"), S("child"));
out:
	free(big);
	okof_close(a);
	okof_close(b);
}

/* The store's directory removed under an open handle. */
static void test_dir_gone(void)
{
	okof_t *db = open_store("gone", OKOF_CREATE, 2048);
	okof_iter_t *it = NULL;
	int rc;

	if (!db)
		return;
	E(okof_put(db, S("k"), S("v")));
	CHECK(rm_rf(P("gone", NULL)) == 0);
	GET_FAILS(db, S("k"), OKOF_NOTFOUND);
	rc = okof_put(db, S("k"), S("v"));
	CHECK(rc < 0 && rc != OKOF_CORRUPT);
	rc = okof_iter_open(db, NULL, 0, &it);
	if (rc == 0) {
		const char *k;
		size_t klen;

		RC(okof_iter_next(it, &k, &klen), OKOF_NOTFOUND);
		okof_iter_close(it);
	} else {
		CHECK(rc < 0);
	}
	okof_close(db);
}

/* The descriptor the next open() would get: unchanged if none leaked. */
static int lowest_free_fd(void)
{
	int fd = dup(0);

	if (fd >= 0)
		close(fd);
	return fd;
}

/* ---- expiry (TTL) ---------------------------------------------------- */

/* okofdb's value header with an expiry: 22 bytes, flags as given. */
static void vf_header_exp(struct vfile *f, unsigned flags, uint64_t len,
                          uint64_t expiry, size_t hlen)
{
	unsigned char h[22] = {'o', 'k', 'o', 'f', 1};
	int i;

	h[5] = (unsigned char)flags;
	for (i = 0; i < 8; i++) {
		h[6 + i] = (unsigned char)((len >> (8 * i)) & 0xff);
		h[14 + i] = (unsigned char)((expiry >> (8 * i)) & 0xff);
	}
	vf_chunk(f, 0x80, h, hlen);
}

/* A value file holding val with the given expiry header, at sub/name. */
static int write_expiring(const char *sub, const char *name, const char *val,
                          unsigned flags, uint64_t expiry, size_t hlen)
{
	struct vfile f;

	vf_start(&f);
	vf_header_exp(&f, flags, strlen(val), expiry, hlen);
	vf_data(&f, val, strlen(val));
	return write_file(P(sub, name), f.b, f.n);
}

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t le64(const unsigned char *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* The layout: the header grows to 22 bytes, the data chunks are those of
 * the same value without a ttl, and no ttl writes exactly as before. */
static void ttl_layout(okof_t *db)
{
	unsigned char *a, *b;
	size_t alen = 0, blen = 0;
	uint64_t before = wall_ms(), after, exp;

	E(okof_put_ttl(db, S("t"), S("a value"), 60000));
	after = wall_ms();
	E(okof_put(db, S("p"), S("a value")));
	a = read_file(P("ttl", "t"), &alen);
	b = read_file(P("ttl", "p"), &blen);
	if (CHECK(a && b && alen == blen + 8 && blen == 29 + 8 + 7)) {
		CHECK(memcmp(a, b, 12) == 0);
		CHECK(a[12] == 22 && a[13] == 0 && a[14] == 0 && b[12] == 14);
		CHECK(memcmp(a + 15, "okof\x01\x01", 6) == 0);
		CHECK(b[20] == 0);
		CHECK(memcmp(a + 21, b + 21, 8) == 0); /* the length */
		exp = le64(a + 29);
		CHECK(exp >= before + 60000 && exp <= after + 60000);
		CHECK(memcmp(a + 37, b + 29, blen - 29) == 0);
	}
	free(a);
	free(b);
	/* ttl 0 is never: the same bytes as okof_put. */
	E(okof_put_ttl(db, S("z"), S("a value"), 0));
	a = read_file(P("ttl", "z"), &alen);
	b = read_file(P("ttl", "p"), &blen);
	CHECK(a && b && alen == blen && memcmp(a, b, alen) == 0);
	free(a);
	free(b);
}

static void ttl_left(okof_t *db)
{
	int64_t left = 0;

	E(okof_put_ttl(db, S("t"), S("v"), 60000));
	E(okof_ttl(db, S("t"), &left));
	CHECK(left > 0 && left <= 60000);
	GET_IS(db, S("t"), S("v"));
	/* A put without a ttl stores a value that never expires. */
	E(okof_put(db, S("t"), S("w")));
	E(okof_ttl(db, S("t"), &left));
	CHECK(left == -1);
	RC(okof_ttl(db, S("none"), &left), OKOF_NOTFOUND);
	RC(okof_ttl(db, "", 0, &left), OKOF_EBADKEY);
	/* The largest ttl is taken, one more is not. */
	E(okof_put_ttl(db, S("max"), S("v"), OKOF_TTL_MAX_MS));
	E(okof_ttl(db, S("max"), &left));
	CHECK(left > OKOF_TTL_MAX_MS - 60000 && left <= OKOF_TTL_MAX_MS);
	RC(okof_put_ttl(db, S("bad"), S("v"), OKOF_TTL_MAX_MS + 1), -EINVAL);
	RC(okof_put_ttl(db, S("bad"), S("v"), -1), -EINVAL);
	RC(okof_add_ttl(db, S("bad"), S("v"), -5), -EINVAL);
	RC(okof_ttl(db, S("bad"), &left), OKOF_NOTFOUND);
	CHECK(count_prefixed(P("ttl", NULL), ".okof-tmp-") == 0);
	/* A corrupt file is CORRUPT for ttl as for get. */
	E(write_file(P("ttl", "c"), "\x01\xff\x06\x00\x00sNaPpY\x01", 12));
	RC(okof_ttl(db, S("c"), &left), OKOF_CORRUPT);
}

/* Expired is absent: get, ttl, add, del, sweep; keys still yields it. */
static void ttl_expired(okof_t *db)
{
	okof_iter_t *it = NULL;
	const char *k;
	size_t klen, temps = 9, expired = 9;
	int64_t left;
	int seen = 0;

	E(write_expiring("ttl", "old", "stale", 1, 1000, 22));
	E(write_expiring("ttl", "new", "fresh", 1, (uint64_t)1 << 62, 22));
	GET_FAILS(db, S("old"), OKOF_NOTFOUND);
	RC(okof_ttl(db, S("old"), &left), OKOF_NOTFOUND);
	GET_IS(db, S("new"), S("fresh"));
	E(okof_iter_open(db, S("old"), &it));
	while (okof_iter_next(it, &k, &klen) == 0)
		seen++;
	okof_iter_close(it);
	CHECK(seen == 1);
	/* add takes the place of an expired value. */
	E(okof_add(db, S("old"), S("mine")));
	GET_IS(db, S("old"), S("mine"));
	RC(okof_add(db, S("old"), S("yours")), OKOF_EXISTS);
	RC(okof_add(db, S("new"), S("yours")), OKOF_EXISTS);
	/* del of an expired value removes its file and finds no value. */
	E(write_expiring("ttl", "gone", "stale", 1, 1000, 22));
	RC(okof_del(db, S("gone")), OKOF_NOTFOUND);
	CHECK(!exists(P("ttl", "gone")));
	E(okof_del(db, S("new")));
	RC(okof_del(db, S("new")), OKOF_NOTFOUND);
	/* sweep removes expired values and counts them apart. */
	E(write_expiring("ttl", "s1", "stale", 1, 1000, 22));
	E(write_expiring("ttl", "s2", "stale", 1, wall_ms() - 1, 22));
	E(write_file(P("ttl", ".okof-tmp-left"), "x", 1));
	CHECK(set_age(P("ttl", ".okof-tmp-left"), 7200) == 0);
	E(okof_sweep_counts(db, 3600, &temps, &expired));
	CHECK(temps == 1 && expired == 2);
	CHECK(!exists(P("ttl", "s1")) && !exists(P("ttl", "s2")));
	GET_IS(db, S("old"), S("mine"));
	GET_IS(db, S("p"), S("a value"));
	CHECK(exists(P("ttl", ".okof-lock")));
	E(okof_sweep(db, 0, &temps));
	CHECK(temps == 0);
	CHECK(exists(P("ttl", ".okof-lock")));
}

/* Headers that okofdb does not write are refused. */
static void ttl_bad_headers(okof_t *db)
{
	struct vfile f;

	E(write_expiring("ttl", "b1", "v", 1, 1000, 14)); /* flag, no expiry */
	GET_FAILS(db, S("b1"), OKOF_CORRUPT);
	E(write_expiring("ttl", "b2", "v", 0, 1000, 22)); /* expiry, no flag */
	GET_FAILS(db, S("b2"), OKOF_CORRUPT);
	E(write_expiring("ttl", "b3", "v", 3, (uint64_t)1 << 62, 22));
	GET_FAILS(db, S("b3"), OKOF_CORRUPT);
	E(write_expiring("ttl", "b4", "v", 2, (uint64_t)1 << 62, 22));
	GET_FAILS(db, S("b4"), OKOF_CORRUPT);
	/* A length that does not add up is refused with an expiry too. */
	vf_start(&f);
	vf_header_exp(&f, 1, 5, (uint64_t)1 << 62, 22);
	vf_data(&f, "v", 1);
	E(write_file(P("ttl", "b5"), f.b, f.n));
	GET_FAILS(db, S("b5"), OKOF_CORRUPT);
	/* An unknown flag is not expired and never removed. */
	E(write_expiring("ttl", "b6", "v", 3, 1000, 22));
	E(okof_sweep(db, 3600, NULL));
	CHECK(exists(P("ttl", "b6")));
}

static void ttl_many(okof_t *db)
{
	okof_kv items[2] = {{S("m1"), S("one")}, {S("m2"), S("two")}};
	size_t written = 9;
	int64_t left = 0;

	E(okof_put_many_ttl(db, items, 2, 30000, &written));
	CHECK(written == 2);
	E(okof_ttl(db, S("m2"), &left));
	CHECK(left > 0 && left <= 30000);
	GET_IS(db, S("m1"), S("one"));
	RC(okof_put_many_ttl(db, items, 2, -1, &written), -EINVAL);
	CHECK(written == 0);
	E(okof_put_many_ttl(db, items, 2, 0, &written));
	E(okof_ttl(db, S("m1"), &left));
	CHECK(left == -1);
}

static void test_ttl(void)
{
	okof_t *db = open_store("ttl", OKOF_CREATE | OKOF_SYNC, 2048);

	if (!db)
		return;
	ttl_layout(db);
	ttl_left(db);
	ttl_expired(db);
	ttl_bad_headers(db);
	ttl_many(db);
	okof_close(db);
}

int main(int argc, char **argv)
{
	int fd_before;

	if (argc != 2) {
		fprintf(stderr, "usage: %s SCRATCH_DIR\n", argv[0]);
		return 2;
	}
	umask(022);
	if (mkdirs(argv[1]) != 0) {
		perror(argv[1]);
		return 2;
	}
	snprintf(root, sizeof root, "%s/okof-test-XXXXXX", argv[1]);
	if (strlen(root) > 2048 || mkdtemp(root) == NULL) {
		perror("mkdtemp");
		return 2;
	}

	fd_before = lowest_free_fd();
	test_errors();
	test_open();
	test_roundtrip();
	test_notfound_del();
	test_get_buf();
	test_atime();
	test_add();
	test_put_many();
	test_keys();
	test_iter();
	test_tmp_squat();
	test_reserved_names();
	test_sweep();
	test_corrupt();
	test_legacy();
	test_claims();
	test_not_a_file();
	test_two_handles();
	test_dir_gone();
	test_ttl();
	/* Every handle and walk gave its descriptors back. */
	CHECK(lowest_free_fd() == fd_before);

	if (n_fail == 0)
		rm_rf(root);
	else
		fprintf(stderr, "%s: stores kept in %s\n", argv[0], root);
	printf("%u passed, %u failed\n", n_pass, n_fail);
	return n_fail > 0 ? 1 : 0;
}
