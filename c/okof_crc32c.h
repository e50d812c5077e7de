/* okof_crc32c.h -- CRC-32C (Castagnoli) and the snappy framing mask. */
#ifndef OKOF_CRC32C_H
#define OKOF_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* CRC-32C of n bytes at p, using the CPU's instruction when it has one
 * (SSE4.2 on x86-64, the CRC extension on ARMv8), a table otherwise: the
 * result is the same either way. */
uint32_t okof__crc32c(const void *p, size_t n);

/* The same, always with the portable table code (for tests). */
uint32_t okof__crc32c_portable(const void *p, size_t n);

/* The masked CRC that the snappy framing format stores in each chunk. */
uint32_t okof__crc32c_masked(const void *p, size_t n);

#endif
