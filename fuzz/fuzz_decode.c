/*
 * fuzz_decode.c -- libFuzzer target for value files (c/okof_frame.c).
 *
 * Each input is used twice:
 *
 *  1. as a value file: okof__frame_decode_into, the decoder of okof_get
 *     and okof_get_buf, with no room and with rooms at the edge of the
 *     value's size, legacy set and not, must never crash, leak or
 *     read or write out of bounds, and their verdict and value must agree
 *     with an independent reference reader written here from docs/format.md
 *     ("Value files") and the snappy framing format (its own CRC-32C,
 *     snappy-c for decompression only); the library's CRC-32C (hardware and
 *     portable) must agree with the reference's on the input;
 *
 *  2. as a value: okof__frame_encode (compress_min chosen by the first
 *     byte: 0, 2048 or none) must produce a file that starts with the
 *     29-byte prefix of docs/format.md, is made of well-formed data chunks of at
 *     most 65536 bytes, compresses exactly where it must, is accepted by the
 *     reference reader, and decodes back to the same bytes; a sink's error
 *     stops the encoder and is returned. (Values of 32 chunks and more are
 *     checked once at start-up: see check_big.)
 *
 * Build: clang -g -O1 -fsanitize=fuzzer,address,undefined -Ic \
 *        fuzz/fuzz_decode.c c/okof_frame.c c/okof_crc32c.c -lsnappy
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <snappy-c.h>

#include "okof.h"
#include "okof_crc32c.h"
#include "okof_frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond))                                                         \
            __builtin_trap();                                                \
    } while (0)

#define CHUNK_MAX 65536u

static const unsigned char stream_id[10] = {0xff, 6,   0,   0,   's',
                                            'N',  'a', 'P', 'p', 'Y'};

/* ---- helpers ------------------------------------------------------------- */

static uint64_t le(const unsigned char *p, int n)
{
    uint64_t v = 0;
    int i;
    for (i = n - 1; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* CRC-32C from a table built here, deliberately not the library's code. */
static uint32_t ref_crc32c(const unsigned char *p, size_t n)
{
    static uint32_t table[256];
    static int ready;
    uint32_t crc = 0xffffffffu;
    size_t i;
    if (!ready) {
        uint32_t b, c;
        int k;
        for (b = 0; b < 256; b++) {
            c = b;
            for (k = 0; k < 8; k++)
                c = (c >> 1) ^ (0x82f63b78u & (0u - (c & 1u)));
            table[b] = c;
        }
        ready = 1;
    }
    for (i = 0; i < n; i++)
        crc = (crc >> 8) ^ table[(crc ^ p[i]) & 0xffu];
    return ~crc;
}

static uint32_t ref_masked(const unsigned char *p, size_t n)
{
    uint32_t c = ref_crc32c(p, n);
    return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

/* Growable byte buffer. */
struct buf {
    unsigned char *p;
    size_t len, cap;
};

static void buf_add(struct buf *b, const void *p, size_t n)
{
    if (n == 0)
        return;
    if (b->cap - b->len < n) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap - b->len < n)
            cap *= 2;
        b->p = realloc(b->p, cap);
        CHECK(b->p != NULL);
        b->cap = cap;
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
}

/* ---- the reference reader ------------------------------------------------ */

/*
 * Is f[0..flen) a file okofdb must accept? On yes, the value is appended to
 * *val. The two refusals marked "okofdb" go beyond the letter of docs/format.md;
 * they are the damage detection documented in c/okof_frame.c, and a file
 * written by okofdb or the Rust crate never triggers them.
 */
/* The payload lengths of okofdb's value header: without and with an
 * expiry. */
static int header_len(uint64_t len)
{
    return len == 14 || len == 22;
}

static int ref_accepts(const unsigned char *f, size_t flen, int legacy,
                       struct buf *val)
{
    static unsigned char tmp[CHUNK_MAX];
    size_t pos = 1, idx = 0, chunks = 0;
    uint64_t total = 0, declared = 0;
    int has_header = 0;

    if (flen == 0)
        return 0;
    if (f[0] == 0x00) {
        size_t i;
        for (i = 1; i < flen && f[i] == 0; i++)
            ;
        if (i == flen || !legacy) /* zeros only; raw files need legacy */
            return 0;
        /* okofdb: a legacy file holding the start of an okofdb stream is
         * an okofdb file whose format byte was damaged. */
        if (flen >= OKOF__FRAME_PREFIX &&
            memcmp(f + 1, stream_id, sizeof stream_id) == 0 &&
            f[11] == 0x80 && header_len(le(f + 12, 3)) &&
            memcmp(f + 15, "okof", 4) == 0)
            return 0;
        buf_add(val, f + 1, flen - 1);
        return 1;
    }
    if (f[0] != 0x01)
        return 0;
    while (pos < flen) {
        unsigned type;
        size_t len;
        const unsigned char *p;
        if (flen - pos < 4)
            return 0; /* truncated chunk header */
        type = f[pos];
        len = (size_t)le(f + pos + 1, 3);
        if (flen - pos - 4 < len)
            return 0; /* truncated chunk */
        p = f + pos + 4;
        if (idx == 0 && type != 0xff)
            return 0; /* a stream starts with its identifier */
        if (type == 0xff) {
            if (len != 6 || memcmp(p, "sNaPpY", 6) != 0)
                return 0;
        } else if (type == 0x80) {
            /* flags 0: 14 bytes; flag 0x01: an expiry follows, 22 bytes */
            if (idx != 1 || !header_len(len) || memcmp(p, "okof", 4) != 0 ||
                p[4] != 1 || p[5] != (len == 22 ? 1 : 0))
                return 0;
            has_header = 1;
            declared = le(p + 6, 8);
        } else if (type == 0x00) {
            size_t ulen;
            if (len < 4 ||
                snappy_uncompressed_length((const char *)p + 4, len - 4,
                                           &ulen) != SNAPPY_OK ||
                ulen > CHUNK_MAX)
                return 0;
            if (snappy_uncompress((const char *)p + 4, len - 4, (char *)tmp,
                                  &ulen) != SNAPPY_OK)
                return 0;
            if (ref_masked(tmp, ulen) != (uint32_t)le(p, 4))
                return 0;
            buf_add(val, tmp, ulen);
            total += ulen;
            chunks++;
        } else if (type == 0x01) {
            if (len < 4 || len - 4 > CHUNK_MAX)
                return 0;
            if (ref_masked(p + 4, len - 4) != (uint32_t)le(p, 4))
                return 0;
            buf_add(val, p + 4, len - 4);
            total += len - 4;
            chunks++;
        } else if (type < 0x80) {
            return 0; /* reserved unskippable */
        } else {
            /* 0x81-0xfe: skippable. okofdb: unless the payload is a value
             * header, which means the type byte of a 0x80 chunk was hit. */
            if (header_len(len) && memcmp(p, "okof", 4) == 0)
                return 0;
        }
        idx++;
        pos += 4 + len;
    }
    if (idx == 0)
        return 0;
    if (has_header)
        return total == declared;
    return chunks > 0;
}

/* ---- 1. arbitrary bytes as a value file ------------------------------------ */

/*
 * Decode a fresh copy of data with okof__frame_decode_into, with no room
 * (roomcap == (size_t)-1) or a heap room of exactly roomcap bytes (so that
 * ASan sees a write past it); check the result against the reference.
 */
static void decode_once(const uint8_t *data, size_t size, int legacy,
                        size_t roomcap, int ok, const struct buf *want)
{
    unsigned char *file = malloc(size + 1), *room = NULL, *out = NULL;
    size_t olen = 0;
    int rc;

    CHECK(file != NULL);
    if (size)
        memcpy(file, data, size);
    file[size] = 0xa5; /* the spare byte: its value must not matter */
    if (roomcap != (size_t)-1) {
        room = malloc(roomcap);
        CHECK(room != NULL || roomcap == 0);
    }
    rc = okof__frame_decode_into(file, size, legacy, room,
                                 room ? roomcap : 0, &out, &olen);
    /* never -ENOMEM: no file allocates more than 22 times its size */
    CHECK(rc == 0 || rc == OKOF_CORRUPT || rc == OKOF__CORRUPT_RAW ||
          rc == OKOF__CORRUPT_ZEROS);
    CHECK((rc == 0) == ok);
    if (rc == OKOF__CORRUPT_RAW) /* a raw file, read only with legacy */
        CHECK(!legacy && data[0] == 0x00);
    if (rc == OKOF__CORRUPT_ZEROS) {
        size_t i;
        for (i = 0; i < size; i++)
            CHECK(data[i] == 0);
    }
    if (rc == 0) {
        CHECK(out != NULL);
        CHECK(olen == want->len);
        CHECK(olen == 0 || memcmp(out, want->p, olen) == 0);
        if (out == room)
            CHECK(olen < roomcap); /* the value and its NUL fitted */
        CHECK(out[olen] == '\0');
        if (data[0] == 0x00)
            CHECK(olen == size - 1);
        if (okof__frame_has_length(data, size))
            CHECK(olen == le(data + 21, 8));
        if (out != file && out != room)
            free(out);
    }
    free(room);
    free(file);
}

static void check_decode(const uint8_t *data, size_t size, int legacy)
{
    struct buf want = {NULL, 0, 0};
    int ok = ref_accepts(data, size, legacy, &want);

    CHECK(okof__frame_has_length(data, size) ==
          (size >= OKOF__FRAME_PREFIX && data[0] == 0x01 &&
           memcmp(data + 1, stream_id, 10) == 0 && data[11] == 0x80 &&
           header_len(le(data + 12, 3)) && memcmp(data + 15, "okof", 4) == 0));
    decode_once(data, size, legacy, (size_t)-1, ok, &want);
    if (ok) { /* the room's edge: one byte short of the NUL, and just enough */
        decode_once(data, size, legacy, want.len, ok, &want);
        decode_once(data, size, legacy, want.len + 1, ok, &want);
    } else {
        decode_once(data, size, legacy, size, ok, &want);
    }
    free(want.p);
}

/* The library's CRC-32C, both paths, at two alignments. */
static void check_crc(const uint8_t *data, size_t size)
{
    size_t off;
    for (off = 0; off < 2 && off <= size; off++) {
        uint32_t c = ref_crc32c(data + off, size - off);
        CHECK(okof__crc32c(data + off, size - off) == c);
        CHECK(okof__crc32c_portable(data + off, size - off) == c);
        CHECK(okof__crc32c_masked(data + off, size - off) ==
              ref_masked(data + off, size - off));
    }
}

/* ---- 2. arbitrary bytes as a value: encode, check, decode ----------------- */

static int sink(void *ud, struct iovec *iov, int iovcnt)
{
    int i;
    for (i = 0; i < iovcnt; i++)
        buf_add(ud, iov[i].iov_base, iov[i].iov_len);
    return 0;
}

/* A sink that fails at its n-th call (counting from 1). */
struct failing {
    int calls, fail_at;
};

static int failing_sink(void *ud, struct iovec *iov, int iovcnt)
{
    struct failing *f = ud;
    (void)iov;
    (void)iovcnt;
    return ++f->calls == f->fail_at ? -EIO : 0;
}

static int counting_sink(void *ud, struct iovec *iov, int iovcnt)
{
    (void)iov;
    (void)iovcnt;
    ++*(int *)ud;
    return 0;
}

/* Walk the data chunks of an encoded file; check each against the value. */
static void check_chunks(const unsigned char *f, size_t flen,
                         const unsigned char *val, size_t vlen, int compress,
                         unsigned char *cbuf, size_t ccap)
{
    size_t pos = OKOF__FRAME_PREFIX, voff = 0;
    while (pos < flen) {
        unsigned type;
        size_t len, n;
        CHECK(flen - pos >= OKOF__FRAME_CHUNK_HDR);
        type = f[pos];
        len = (size_t)le(f + pos + 1, 3);
        CHECK(len >= 4 && flen - pos - 4 >= len);
        CHECK(type == 0x00 || type == 0x01);
        /* Every chunk carries at most 65536 bytes of the value and is
         * never empty. */
        n = vlen - voff < CHUNK_MAX ? vlen - voff : CHUNK_MAX;
        CHECK(n > 0);
        CHECK((uint32_t)le(f + pos + 4, 4) == ref_masked(val + voff, n));
        if (type == 0x00) {
            size_t ulen;
            CHECK(compress);
            CHECK(snappy_uncompressed_length((const char *)f + pos + 8,
                                             len - 4, &ulen) == SNAPPY_OK);
            CHECK(ulen == n);
            CHECK(len - 4 < n); /* compressed only where it is smaller */
        } else {
            CHECK(len - 4 == n);
            CHECK(memcmp(f + pos + 8, val + voff, n) == 0);
            if (compress) { /* ... and wherever it is smaller */
                size_t clen = ccap;
                CHECK(snappy_compress((const char *)val + voff, n,
                                      (char *)cbuf, &clen) == SNAPPY_OK);
                CHECK(clen >= n);
            }
        }
        voff += n;
        pos += 4 + len;
    }
    CHECK(voff == vlen);
}

/* Encode data[0..size) with compress_min; pick selects the sink call that
 * fails in the error test. */
static void check_round_trip(const uint8_t *data, size_t size,
                             size_t compress_min, unsigned pick)
{
    int compress = size >= compress_min;
    size_t ssize = okof__frame_scratch_size();
    /* Scratch may be NULL when the value is not to be compressed. */
    unsigned char *scratch = compress ? malloc(ssize) : NULL;
    static unsigned char cbuf[76 * 1024]; /* > snappy's bound for 64 KiB */
    unsigned char prefix[OKOF__FRAME_PREFIX];
    struct buf enc = {NULL, 0, 0}, want = {NULL, 0, 0};
    unsigned char *file, *out = NULL;
    size_t olen = 0;

    CHECK(snappy_max_compressed_length(CHUNK_MAX) <= sizeof cbuf);
    CHECK(scratch != NULL || !compress);
    CHECK(okof__frame_encode(data, size, 0, compress_min, scratch, sink, &enc) ==
          0);

    /* A sink's error is returned, and stops the encoder at once. */
    {
        int calls = 0;
        struct failing f = {0, 0};
        CHECK(okof__frame_encode(data, size, 0, compress_min, scratch,
                                 counting_sink, &calls) == 0);
        CHECK(calls >= 1);
        f.fail_at = 1 + (int)(pick % (unsigned)calls);
        CHECK(okof__frame_encode(data, size, 0, compress_min, scratch,
                                 failing_sink, &f) == -EIO);
        CHECK(f.calls == f.fail_at);
    }

    /* docs/format.md: format byte, stream identifier, value header. */
    prefix[0] = 0x01;
    memcpy(prefix + 1, stream_id, sizeof stream_id);
    memcpy(prefix + 11, "\x80\x0e\x00\x00okof\x01\x00", 10);
    {
        int i;
        for (i = 0; i < 8; i++)
            prefix[21 + i] = (unsigned char)((uint64_t)size >> (8 * i));
    }
    CHECK(enc.len >= OKOF__FRAME_PREFIX);
    CHECK(memcmp(enc.p, prefix, sizeof prefix) == 0);
    CHECK(size != 0 || enc.len == OKOF__FRAME_PREFIX);
    CHECK(okof__frame_has_length(enc.p, enc.len));
    check_chunks(enc.p, enc.len, data, size, compress, cbuf, sizeof cbuf);

    /* Readable by a framing-format reader, and by okofdb itself. */
    CHECK(ref_accepts(enc.p, enc.len, 0, &want));
    CHECK(want.len == size && (size == 0 || memcmp(want.p, data, size) == 0));
    file = malloc(enc.len + 1);
    CHECK(file != NULL);
    memcpy(file, enc.p, enc.len);
    CHECK(okof__frame_decode_into(file, enc.len, 0, NULL, 0, &out, &olen) == 0);
    CHECK(olen == size);
    CHECK(size == 0 || memcmp(out, data, size) == 0);
    CHECK(out[olen] == '\0');
    if (out != file)
        free(out);
    free(file);
    free(enc.p);
    free(want.p);
    free(scratch);
}

/*
 * Values of 32 uncompressed chunks and more, so that the encoder hands full
 * batches to the sink mid-value (and a sink can fail there). Too slow for
 * every input and independent of the bytes, so checked once per process,
 * at start-up, with the sink failing at each of its calls in turn.
 */
static void check_big(void)
{
    static const size_t lens[] = {32 * (size_t)CHUNK_MAX,
                                  32 * (size_t)CHUNK_MAX + 1,
                                  64 * (size_t)CHUNK_MAX + 4099};
    size_t k, i;
    for (k = 0; k < sizeof lens / sizeof lens[0]; k++) {
        size_t vlen = lens[k];
        unsigned char *val = malloc(vlen);
        unsigned pick;
        uint32_t x = 2463534242u;
        CHECK(val != NULL);
        for (i = 0; i < vlen; i++) { /* xorshift32 */
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            val[i] = (unsigned char)x;
        }
        for (pick = 0; pick < 3; pick++) /* every call of the sink */
            check_round_trip(val, vlen, (size_t)-1, pick);
        check_round_trip(val, vlen, 0, 0); /* noise: snappy declines */
        free(val);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    check_big();
    return 0;
}

static const size_t mins[3] = {0, 2048, (size_t)-1};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_decode(data, size, 0);
    check_decode(data, size, 1);
    check_crc(data, size);
    check_round_trip(data, size, size ? mins[data[0] % 3] : 2048,
                     size > 1 ? data[1] : 0);
    return 0;
}
