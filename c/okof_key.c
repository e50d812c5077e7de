/* okof_key.c -- the key <-> file name codec (see okof_key.h). */
#include "okof_key.h"

#include <string.h>

#include "okof.h"

static const char hexdigits[] = "0123456789abcdef";

/* Does byte c stand for itself at position pos of a name? */
static int is_plain(unsigned char c, size_t pos)
{
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
        return 1;
    if (c == '-' || c == '_')
        return 1;
    return c == '.' && pos > 0;
}

/* Is key[0..n) one of Windows' device names (con, prn, aux, nul,
 * com1-com9, lpt1-lpt9), in lowercase? */
static int is_device(const unsigned char *key, size_t n)
{
    static const char *const three[] = {"con", "prn", "aux", "nul"};
    size_t i;
    if (n == 3) {
        for (i = 0; i < sizeof three / sizeof three[0]; i++)
            if (memcmp(key, three[i], 3) == 0)
                return 1;
        return 0;
    }
    if (n != 4 || key[3] < '1' || key[3] > '9')
        return 0;
    return memcmp(key, "com", 3) == 0 || memcmp(key, "lpt", 3) == 0;
}

/* A device name alone or followed by '.' and anything ("con.txt"). */
static int is_reserved_start(const unsigned char *key, size_t klen)
{
    const unsigned char *dot = memchr(key, '.', klen);
    return is_device(key, dot ? (size_t)(dot - key) : klen);
}

/* Does byte i of key get the %xx form? Bytes that are not plain do; so
 * do the first byte of a key a Windows device name starts and the '.'
 * that ends a key (see okof_key.h). */
static int escaped(const unsigned char *key, size_t klen, size_t i)
{
    if (!is_plain(key[i], i))
        return 1;
    if (i == 0 && is_reserved_start(key, klen))
        return 1;
    return i + 1 == klen && key[i] == '.';
}

int okof__key_encode(const unsigned char *key, size_t klen, char *name)
{
    size_t i, n = 0;
    if (klen == 0)
        return OKOF_EBADKEY;
    for (i = 0; i < klen; i++) {
        unsigned char c = key[i];
        if (!escaped(key, klen, i)) {
            if (n + 1 > OKOF__NAME_MAX)
                return OKOF_EBADKEY;
            name[n++] = (char)c;
            continue;
        }
        if (n + 3 > OKOF__NAME_MAX)
            return OKOF_EBADKEY;
        name[n++] = '%';
        name[n++] = hexdigits[c >> 4];
        name[n++] = hexdigits[c & 15];
    }
    name[n] = '\0';
    return (int)n;
}

int okof_key_check(const void *key, size_t klen)
{
    char name[OKOF__NAME_BUF];
    int n = okof__key_encode((const unsigned char *)key, klen, name);
    return n < 0 ? n : 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* The byte of the escape at name (which starts with '%'), or -1. */
static int decode_escape(const char *name)
{
    int hi = hexval(name[1]), lo;
    if (hi < 0)
        return -1;
    lo = hexval(name[2]);
    if (lo < 0)
        return -1;
    return hi * 16 + lo;
}

/* Is name exactly what encoding key[0..klen) gives? Walks both at once:
 * every byte must be written the one way the encoder writes it. */
static int canonical(const char *name, const unsigned char *key, size_t klen)
{
    size_t i;
    for (i = 0; i < klen; i++) {
        int esc = escaped(key, klen, i);
        if ((*name == '%') != esc)
            return 0;
        name += esc ? 3 : 1;
    }
    return 1;
}

int okof__key_decode(const char *name, unsigned char *key)
{
    const char *p = name;
    size_t n = 0;
    if (*p == '\0')
        return -1;
    while (*p) {
        unsigned char c = (unsigned char)*p;
        if (c == '%') {
            int b = decode_escape(p);
            if (b < 0)
                return -1;
            key[n++] = (unsigned char)b;
            p += 3;
        } else if (is_plain(c, n)) {
            key[n++] = c;
            p++;
        } else {
            return -1;
        }
    }
    return canonical(name, key, n) ? (int)n : -1;
}

enum okof__kind okof__classify(const char *name)
{
    unsigned char scratch[OKOF__NAME_BUF];
    if (strncmp(name, OKOF__TMP_PREFIX, sizeof OKOF__TMP_PREFIX - 1) == 0)
        return OKOF__ENTRY_TEMP;
    if (strlen(name) > OKOF__NAME_MAX || okof__key_decode(name, scratch) < 0)
        return OKOF__ENTRY_FOREIGN;
    return OKOF__ENTRY_KEY;
}

void okof__tmp_name(char *buf, const unsigned char rnd[OKOF__TMP_RANDOM])
{
    size_t i, n = sizeof OKOF__TMP_PREFIX - 1;
    memcpy(buf, OKOF__TMP_PREFIX, n);
    for (i = 0; i < OKOF__TMP_RANDOM; i++) {
        buf[n++] = hexdigits[rnd[i] >> 4];
        buf[n++] = hexdigits[rnd[i] & 15];
    }
    buf[n] = '\0';
}
