/* okof_crc32c.c -- CRC-32C: slicing-by-8 tables, and the CPU's own crc32
 * instruction picked at run time. */
#include "okof_crc32c.h"

#include <string.h>

#include "okof_crc32c_table.h"

#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#endif

static uint32_t load_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static uint32_t crc_bytes(uint32_t c, const unsigned char *p, size_t n)
{
    while (n--)
        c = okof_crc32c_table[0][(c ^ *p++) & 0xff] ^ (c >> 8);
    return c;
}

static uint32_t crc_portable(uint32_t c, const unsigned char *p, size_t n)
{
    const uint32_t (*t)[256] = okof_crc32c_table;
    while (n >= 8) {
        uint32_t lo = load_le32(p) ^ c, hi = load_le32(p + 4);
        c = t[7][lo & 0xff] ^ t[6][(lo >> 8) & 0xff] ^
            t[5][(lo >> 16) & 0xff] ^ t[4][lo >> 24] ^
            t[3][hi & 0xff] ^ t[2][(hi >> 8) & 0xff] ^
            t[1][(hi >> 16) & 0xff] ^ t[0][hi >> 24];
        p += 8;
        n -= 8;
    }
    return crc_bytes(c, p, n);
}

uint32_t okof__crc32c_portable(const void *p, size_t n)
{
    return ~crc_portable(0xffffffffu, p, n);
}

#if (defined(__x86_64__) || defined(__i386__)) && \
    (defined(__GNUC__) || defined(__clang__))
#include <nmmintrin.h>
#define OKOF_HAVE_HWCRC 1

static uint32_t shift_by(const uint32_t t[4][256], uint32_t v)
{
    return t[0][v & 0xff] ^ t[1][(v >> 8) & 0xff] ^ t[2][(v >> 16) & 0xff] ^
           t[3][v >> 24];
}

#if defined(__x86_64__)
/* Three stripes at once: the crc32 instruction has a latency of three
 * cycles but issues every cycle. The stripes' CRCs are joined with the
 * zero-extension tables: crc(A B C) = shift2(crc(A)) ^ shift1(crc'(B)) ^
 * crc'(C), where crc' starts from a zero register. */
__attribute__((target("sse4.2"))) static uint32_t
crc_hw_stripes(uint32_t c, const unsigned char **pp, size_t *np)
{
    const unsigned char *p = *pp;
    size_t n = *np, i;
    while (n >= 3 * OKOF_CRC_STRIPE) {
        uint64_t a = c, b = 0, d = 0, va, vb, vd;
        for (i = 0; i < OKOF_CRC_STRIPE; i += 8) {
            memcpy(&va, p + i, 8);
            memcpy(&vb, p + OKOF_CRC_STRIPE + i, 8);
            memcpy(&vd, p + 2 * OKOF_CRC_STRIPE + i, 8);
            a = _mm_crc32_u64(a, va);
            b = _mm_crc32_u64(b, vb);
            d = _mm_crc32_u64(d, vd);
        }
        c = shift_by(okof_crc32c_shift[1], (uint32_t)a) ^
            shift_by(okof_crc32c_shift[0], (uint32_t)b) ^ (uint32_t)d;
        p += 3 * OKOF_CRC_STRIPE;
        n -= 3 * OKOF_CRC_STRIPE;
    }
    *pp = p;
    *np = n;
    return c;
}
#endif

__attribute__((target("sse4.2"))) static uint32_t
crc_hw(uint32_t c, const unsigned char *p, size_t n)
{
#if defined(__x86_64__)
    uint64_t c64;
    c = crc_hw_stripes(c, &p, &n);
    c64 = c;
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c64 = _mm_crc32_u64(c64, v);
        p += 8;
        n -= 8;
    }
    c = (uint32_t)c64;
#endif
    while (n--)
        c = _mm_crc32_u8(c, *p++);
    return c;
}

static int have_hw(void)
{
    return __builtin_cpu_supports("sse4.2");
}

#elif defined(__aarch64__) && defined(__linux__) && \
    (defined(__GNUC__) || defined(__clang__))
#include <arm_acle.h>
#define OKOF_HAVE_HWCRC 1

__attribute__((target("+crc"))) static uint32_t
crc_hw(uint32_t c, const unsigned char *p, size_t n)
{
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c = __crc32cd(c, v);
        p += 8;
        n -= 8;
    }
    while (n--)
        c = __crc32cb(c, *p++);
    return c;
}

static int have_hw(void)
{
    return (getauxval(AT_HWCAP) & HWCAP_CRC32) != 0;
}
#endif

uint32_t okof__crc32c(const void *p, size_t n)
{
#ifdef OKOF_HAVE_HWCRC
    if (have_hw())
        return ~crc_hw(0xffffffffu, p, n);
#endif
    return ~crc_portable(0xffffffffu, p, n);
}

uint32_t okof__crc32c_masked(const void *p, size_t n)
{
    uint32_t c = okof__crc32c(p, n);
    return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}
