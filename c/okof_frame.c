/* okof_frame.c -- encode and verify value files (see okof_frame.h). */
#include "okof_frame.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <snappy-c.h>

#include "okof.h"
#include "okof_crc32c.h"

enum {
    FORMAT_LEGACY = 0x00, /* byte 0: raw value follows */
    FORMAT_FRAMED = 0x01, /* byte 0: snappy framing format follows */
    CH_COMPRESSED = 0x00,
    CH_UNCOMPRESSED = 0x01,
    CH_VALUE_HEADER = 0x80,
    CH_PADDING = 0xfe,
    CH_STREAM_ID = 0xff,
    VALUE_HEADER_LEN = 14,
    VALUE_HEADER_LEN_EXPIRY = 22, /* with flag 0x01: the expiry follows */
    VALUE_VERSION = 1,
    FLAG_EXPIRY = 0x01,
    BATCH = 32, /* uncompressed chunks handed to the sink at once */
    /* Most bytes one byte of a snappy block can decode to. The densest
     * element is a copy with a 2-byte offset: 3 bytes for 64 (a literal
     * gives at most 1 byte a byte, a 2-byte copy 11 for 2, a 5-byte copy
     * 64 for 5). So n bytes of elements decode to at most 64 n / 3 <
     * 22 n bytes, and a claimed length beyond that is a lie. */
    SNAPPY_MAX_EXPANSION = 22
};

static const unsigned char stream_id[10] = {
    CH_STREAM_ID, 6, 0, 0, 's', 'N', 'a', 'P', 'p', 'Y'};

/* ---- little-endian fields ---------------------------------------------- */

static void put_le(unsigned char *p, uint64_t v, int n)
{
    int i;
    for (i = 0; i < n; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le(const unsigned char *p, int n)
{
    uint64_t v = 0;
    while (n--)
        v = v << 8 | p[n];
    return v;
}

/* ---- encoding ----------------------------------------------------------- */

/* The iovecs gathered for one call of the sink. */
struct gather {
    struct iovec iov[2 * BATCH + 2];
    unsigned char hdr[BATCH][OKOF__FRAME_CHUNK_HDR];
    int n, chunks;
    okof__sink sink;
    void *ud;
};

static void add(struct gather *b, const void *p, size_t len)
{
    b->iov[b->n].iov_base = (void *)(uintptr_t)p;
    b->iov[b->n].iov_len = len;
    b->n++;
}

static int flush(struct gather *b)
{
    int rc = b->n ? b->sink(b->ud, b->iov, b->n) : 0;
    b->n = 0;
    b->chunks = 0;
    return rc;
}

static void chunk_hdr(unsigned char *h, int type, size_t len, uint32_t crc)
{
    h[0] = (unsigned char)type;
    put_le(h + 1, len + 4, 3);
    put_le(h + 4, crc, 4);
}

/* Writes OKOF__FRAME_PREFIX bytes, or OKOF__FRAME_PREFIX_EXPIRY with an
 * expiry (expiry_ms > 0). */
static size_t write_prefix(unsigned char *p, size_t vlen, uint64_t expiry_ms)
{
    p[0] = FORMAT_FRAMED;
    memcpy(p + 1, stream_id, sizeof stream_id);
    p += 1 + sizeof stream_id;
    p[0] = CH_VALUE_HEADER;
    put_le(p + 1, expiry_ms ? VALUE_HEADER_LEN_EXPIRY : VALUE_HEADER_LEN, 3);
    memcpy(p + 4, "okof", 4);
    p[8] = VALUE_VERSION;
    p[9] = expiry_ms ? FLAG_EXPIRY : 0; /* flags */
    put_le(p + 10, (uint64_t)vlen, 8);
    if (!expiry_ms)
        return OKOF__FRAME_PREFIX;
    put_le(p + OKOF__FRAME_EXPIRY_AT - 11, expiry_ms, 8);
    return OKOF__FRAME_PREFIX_EXPIRY;
}

size_t okof__frame_scratch_size(void)
{
    return OKOF__FRAME_CHUNK_HDR + snappy_max_compressed_length(OKOF__FRAME_CHUNK);
}

/* Compress one chunk into scratch as a complete chunk; its size, or 0 when
 * snappy does not make it smaller. */
static size_t compress_chunk(unsigned char *scratch, const unsigned char *p,
                             size_t n, uint32_t crc)
{
    size_t clen = snappy_max_compressed_length(n);
    if (snappy_compress((const char *)p, n,
                        (char *)scratch + OKOF__FRAME_CHUNK_HDR,
                        &clen) != SNAPPY_OK || clen >= n)
        return 0;
    chunk_hdr(scratch, CH_COMPRESSED, clen, crc);
    return OKOF__FRAME_CHUNK_HDR + clen;
}

int okof__frame_encode(const unsigned char *val, size_t vlen,
                       uint64_t expiry_ms, size_t compress_min,
                       unsigned char *scratch, okof__sink sink, void *ud)
{
    unsigned char prefix[OKOF__FRAME_PREFIX_EXPIRY];
    struct gather b;
    int compress = vlen >= compress_min && scratch != NULL;
    size_t off, n;

    b.n = b.chunks = 0;
    b.sink = sink;
    b.ud = ud;
    add(&b, prefix, write_prefix(prefix, vlen, expiry_ms));
    for (off = 0; off < vlen; off += n) {
        uint32_t crc;
        size_t csize = 0;
        int rc = 0;
        n = vlen - off < OKOF__FRAME_CHUNK ? vlen - off : OKOF__FRAME_CHUNK;
        crc = okof__crc32c_masked(val + off, n);
        if (compress)
            csize = compress_chunk(scratch, val + off, n, crc);
        if (csize) { /* scratch is reused by the next chunk: flush now */
            add(&b, scratch, csize);
            rc = flush(&b);
        } else {
            chunk_hdr(b.hdr[b.chunks], CH_UNCOMPRESSED, n, crc);
            add(&b, b.hdr[b.chunks++], OKOF__FRAME_CHUNK_HDR);
            add(&b, val + off, n);
            if (b.chunks == BATCH)
                rc = flush(&b);
        }
        if (rc)
            return rc;
    }
    return flush(&b);
}

/* ---- verification and decoding ------------------------------------------ */

/* What the first pass learns about a stream. */
struct scan {
    uint64_t total;   /* sum of the data chunks' uncompressed lengths */
    uint64_t declared;/* length in the value header */
    int has_header, chunks, compressed;
};

/* Is p[0..len) a well-formed value header payload? */
static int is_value_header(const unsigned char *p, size_t len)
{
    return (len == VALUE_HEADER_LEN || len == VALUE_HEADER_LEN_EXPIRY) &&
           memcmp(p, "okof", 4) == 0;
}

/* Are the version and flags of a value header payload ones okofdb knows,
 * and does its length match its flags? */
static int known_header(const unsigned char *p, size_t len)
{
    if (p[4] != VALUE_VERSION)
        return 0;
    if (p[5] == 0)
        return len == VALUE_HEADER_LEN;
    return p[5] == FLAG_EXPIRY && len == VALUE_HEADER_LEN_EXPIRY;
}

/* One chunk at p with payload length len; idx counts chunks from 0. */
static int scan_chunk(struct scan *s, int type, const unsigned char *p,
                      size_t len, int idx)
{
    size_t ulen;
    if (idx == 0 && type != CH_STREAM_ID)
        return OKOF_CORRUPT;
    switch (type) {
    case CH_STREAM_ID:
        return len == 6 && memcmp(p, stream_id + 4, 6) == 0 ? 0 : OKOF_CORRUPT;
    case CH_VALUE_HEADER:
        if (idx != 1 || !is_value_header(p, len) || !known_header(p, len))
            return OKOF_CORRUPT;
        s->has_header = 1;
        s->declared = get_le(p + 6, 8);
        return 0;
    case CH_COMPRESSED:
        if (len < 4 || snappy_uncompressed_length((const char *)p + 4, len - 4,
                                                  &ulen) != SNAPPY_OK ||
            ulen > OKOF__FRAME_CHUNK ||
            ulen > (len - 4) * SNAPPY_MAX_EXPANSION)
            return OKOF_CORRUPT;
        s->compressed = 1;
        break;
    case CH_UNCOMPRESSED:
        if (len < 4 || len - 4 > OKOF__FRAME_CHUNK)
            return OKOF_CORRUPT;
        ulen = len - 4;
        break;
    default: /* 0x02-0x7f reserved unskippable; 0x81-0xfe skippable, but
              * not when it carries a value header: its type byte was hit */
        return type < 0x80 || is_value_header(p, len) ? OKOF_CORRUPT : 0;
    }
    s->chunks++;
    s->total += ulen;
    return 0;
}

/* Walk every chunk header; check lengths, order and the value header. */
static int scan_stream(const unsigned char *f, size_t flen, struct scan *s)
{
    size_t pos = 1;
    int idx = 0;
    memset(s, 0, sizeof *s);
    while (pos < flen) {
        size_t len;
        int rc;
        if (flen - pos < 4)
            return OKOF_CORRUPT;
        len = (size_t)get_le(f + pos + 1, 3);
        if (flen - pos - 4 < len)
            return OKOF_CORRUPT;
        rc = scan_chunk(s, f[pos], f + pos + 4, len, idx++);
        if (rc)
            return rc;
        pos += 4 + len;
    }
    if (idx == 0)
        return OKOF_CORRUPT;
    if (s->has_header)
        return s->total == s->declared ? 0 : OKOF_CORRUPT;
    return s->chunks > 0 ? 0 : OKOF_CORRUPT;
}

/* Decode one data chunk's payload p[0..len) to out; check its CRC. */
static int decode_chunk(int type, const unsigned char *p, size_t len,
                        unsigned char *out, size_t *ulen)
{
    uint32_t want = (uint32_t)get_le(p, 4);
    if (type == CH_COMPRESSED) {
        size_t cap = OKOF__FRAME_CHUNK;
        snappy_uncompressed_length((const char *)p + 4, len - 4, &cap);
        if (snappy_uncompress((const char *)p + 4, len - 4, (char *)out,
                              &cap) != SNAPPY_OK)
            return OKOF_CORRUPT;
        *ulen = cap;
    } else {
        memmove(out, p + 4, len - 4);
        *ulen = len - 4;
    }
    return okof__crc32c_masked(out, *ulen) == want ? 0 : OKOF_CORRUPT;
}

/* Second pass: decode every data chunk of a scanned stream into out. */
static int decode_stream(const unsigned char *f, size_t flen,
                         unsigned char *out)
{
    size_t pos = 1, opos = 0;
    while (pos < flen) {
        int type = f[pos];
        size_t len = (size_t)get_le(f + pos + 1, 3), ulen;
        if (type == CH_COMPRESSED || type == CH_UNCOMPRESSED) {
            int rc = decode_chunk(type, f + pos + 4, len, out + opos, &ulen);
            if (rc)
                return rc;
            opos += ulen;
        }
        pos += 4 + len;
    }
    out[opos] = '\0';
    return 0;
}

/* Where the value goes: uncompressed data only ever moves towards the
 * start of the file's buffer, so it is decoded in place; compressed data
 * needs room of its own: the caller's when it fits, else the heap's. */
static unsigned char *destination(unsigned char *file, const struct scan *s,
                                  unsigned char *room, size_t roomcap)
{
    if (!s->compressed)
        return file;
    if (room != NULL && s->total < roomcap)
        return room;
    return malloc((size_t)s->total + 1);
}

static int decode_framed(unsigned char *file, size_t flen, unsigned char *room,
                         size_t roomcap, unsigned char **out, size_t *olen)
{
    struct scan s;
    unsigned char *dst;
    int rc = scan_stream(file, flen, &s);
    if (rc)
        return rc;
    if (s.total > (uint64_t)SIZE_MAX - 1)
        return -ENOMEM;
    if ((dst = destination(file, &s, room, roomcap)) == NULL)
        return -ENOMEM;
    rc = decode_stream(file, flen, dst);
    if (rc) {
        if (dst != file && dst != room)
            free(dst);
        return rc;
    }
    *out = dst;
    *olen = (size_t)s.total;
    return 0;
}

int okof__frame_has_length(const unsigned char *file, size_t flen)
{
    return flen >= OKOF__FRAME_PREFIX && file[0] == FORMAT_FRAMED &&
           memcmp(file + 1, stream_id, sizeof stream_id) == 0 &&
           file[11] == CH_VALUE_HEADER &&
           is_value_header(file + 15, (size_t)get_le(file + 12, 3));
}

void okof__frame_expiry_bytes(unsigned char *p, uint64_t expiry_ms)
{
    put_le(p, expiry_ms, 8);
}

uint64_t okof__frame_expiry(const unsigned char *file, size_t flen)
{
    if (flen < OKOF__FRAME_PREFIX_EXPIRY || !okof__frame_has_length(file, flen))
        return 0;
    if (file[20] != FLAG_EXPIRY || get_le(file + 12, 3) != VALUE_HEADER_LEN_EXPIRY)
        return 0;
    return get_le(file + OKOF__FRAME_EXPIRY_AT, 8);
}

/* A legacy file that holds the start of a stream okofdb wrote is one
 * whose format byte was damaged: no legacy writer produces it. */
static int is_damaged_framed(const unsigned char *file, size_t flen)
{
    unsigned char head[OKOF__FRAME_PREFIX];
    if (flen < OKOF__FRAME_PREFIX)
        return 0;
    memcpy(head, file, sizeof head);
    head[0] = FORMAT_FRAMED;
    return okof__frame_has_length(head, sizeof head);
}

/* Is p[0..n) made only of zero bytes? */
static int all_zero(const unsigned char *p, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (p[i] != 0)
            return 0;
    return 1;
}

/* A 0x00 file: the raw value after byte 0, moved to the buffer's start;
 * only with legacy, and never for a file made only of zeros (a file a
 * crash left full of zeros) or one that starts like an okofdb stream. */
static int decode_raw(unsigned char *file, size_t flen, int legacy,
                      unsigned char **out, size_t *olen)
{
    if (all_zero(file, flen))
        return OKOF__CORRUPT_ZEROS;
    if (is_damaged_framed(file, flen))
        return OKOF_CORRUPT;
    if (!legacy)
        return OKOF__CORRUPT_RAW;
    memmove(file, file + 1, flen - 1);
    file[flen - 1] = '\0';
    *out = file;
    *olen = flen - 1;
    return 0;
}

int okof__frame_decode_into(unsigned char *file, size_t flen, int legacy,
                            unsigned char *room, size_t roomcap,
                            unsigned char **out, size_t *olen)
{
    if (flen == 0)
        return OKOF_CORRUPT;
    if (file[0] == FORMAT_LEGACY)
        return decode_raw(file, flen, legacy, out, olen);
    if (file[0] == FORMAT_FRAMED)
        return decode_framed(file, flen, room, roomcap, out, olen);
    return OKOF_CORRUPT;
}
