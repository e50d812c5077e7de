/*
 * okof_frame.h -- value files: the snappy framing format with okofdb's
 * value header, written and verified. No syscalls here: the encoder hands
 * its bytes to a sink, the decoder works on a buffer holding the file.
 *
 * A value file okofdb writes:
 *   0x01                                        format byte
 *   ff 06 00 00 "sNaPpY"                        stream identifier
 *   80 0e 00 00 "okof" 01 00 <u64 LE length>    value header, or with
 *   80 16 00 00 "okof" 01 01 <u64 LE length> <u64 LE expiry, ms since
 *                                               the Unix epoch>  an expiry
 *   data chunks, each of at most 65536 uncompressed bytes:
 *     00 <len:3 LE> <masked crc32c:4 LE> <snappy block>   compressed
 *     01 <len:3 LE> <masked crc32c:4 LE> <raw bytes>      uncompressed
 */
#ifndef OKOF_FRAME_H
#define OKOF_FRAME_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "okof.h"

/* Bytes before the first data chunk: format byte, identifier, header. */
#define OKOF__FRAME_PREFIX 29
/* The same for a value with an expiry (its header's payload is 22 bytes). */
#define OKOF__FRAME_PREFIX_EXPIRY 37
/* Largest uncompressed payload of one data chunk. */
#define OKOF__FRAME_CHUNK OKOF_CHUNK_MAX
/* Bytes of a chunk's type, length and checksum. */
#define OKOF__FRAME_CHUNK_HDR 8

/* Receives encoded bytes in order; returns 0 or a negative error code.
 * The vectors and what they point to are valid only during the call;
 * the sink may change the vectors. */
typedef int (*okof__sink)(void *ud, struct iovec *iov, int iovcnt);

/* Size of the scratch buffer okof__frame_encode needs when compressing. */
size_t okof__frame_scratch_size(void);

/*
 * Encode a value of vlen bytes, expiring at expiry_ms (milliseconds since
 * the Unix epoch; 0: never, and the file is exactly as without expiry).
 * Chunks of a value of at least compress_min
 * bytes are compressed where snappy makes them smaller; scratch must then
 * hold okof__frame_scratch_size() bytes (it may be NULL when vlen <
 * compress_min). Returns 0 or the first error of the sink.
 */
int okof__frame_encode(const unsigned char *val, size_t vlen,
                       uint64_t expiry_ms, size_t compress_min,
                       unsigned char *scratch, okof__sink sink, void *ud);

/* Why a 0x00 file was refused, beside OKOF_CORRUPT (okof.c turns both
 * into OKOF_CORRUPT and remembers which). */
#define OKOF__CORRUPT_RAW (-30101)   /* a raw 0x00 file, legacy not set */
#define OKOF__CORRUPT_ZEROS (-30102) /* a file made only of zero bytes */

/*
 * Verify and decode a whole value file held in file[0..flen) (the buffer
 * must have one spare byte at file[flen]). A 0x00 file (a raw value, no
 * checksum) is read only when legacy is set. room[0..roomcap) takes a
 * compressed value (room may be NULL). On success returns 0 and sets
 * *out to the value, followed by a NUL byte: file itself (decoded in
 * place), room (the value fitted, with its NUL), or a new malloc'd
 * buffer that the caller frees. Whatever the file claims, no more is
 * allocated than its bytes can decode to (22 times its size). Returns
 * OKOF_CORRUPT, OKOF__CORRUPT_RAW or OKOF__CORRUPT_ZEROS when a check
 * fails, -ENOMEM when memory runs out.
 */
int okof__frame_decode_into(unsigned char *file, size_t flen, int legacy,
                            unsigned char *room, size_t roomcap,
                            unsigned char **out, size_t *olen);

/* Does file[0..flen) begin with okofdb's value header, so that decoding
 * proves the file complete? */
int okof__frame_has_length(const unsigned char *file, size_t flen);

/* Where the expiry of a value with one is, from the file's start: bytes
 * OKOF__FRAME_EXPIRY_AT to OKOF__FRAME_PREFIX_EXPIRY, u64 LE. */
#define OKOF__FRAME_EXPIRY_AT 29

/* The 8 bytes of an expiry as the header holds them. */
void okof__frame_expiry_bytes(unsigned char *p, uint64_t expiry_ms);

/* The expiry (ms since the Unix epoch) that the value header at the start
 * of file[0..flen) records; 0 when it records none or the bytes are not
 * such a header. Verifies nothing else: decode the file to trust it. */
uint64_t okof__frame_expiry(const unsigned char *file, size_t flen);

#endif
