/* okof_key.c -- the key <-> file name codec (see okof_key.h). */
#include "okof_key.h"

#include <stdio.h>
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

int okof__key_encode(const unsigned char *key, size_t klen, char *name)
{
    size_t i, n = 0;
    if (klen == 0)
        return OKOF_EBADKEY;
    for (i = 0; i < klen; i++) {
        unsigned char c = key[i];
        if (is_plain(c, i)) {
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

/* Decode the escape at name (which starts with '%'); -1 if not canonical
 * for key position pos. */
static int decode_escape(const char *name, size_t pos)
{
    int hi = hexval(name[1]), lo;
    if (hi < 0)
        return -1;
    lo = hexval(name[2]);
    if (lo < 0)
        return -1;
    if (is_plain((unsigned char)(hi * 16 + lo), pos))
        return -1;
    return hi * 16 + lo;
}

int okof__key_decode(const char *name, unsigned char *key)
{
    size_t n = 0;
    if (*name == '\0')
        return -1;
    while (*name) {
        unsigned char c = (unsigned char)*name;
        if (c == '%') {
            int b = decode_escape(name, n);
            if (b < 0)
                return -1;
            key[n++] = (unsigned char)b;
            name += 3;
        } else if (is_plain(c, n)) {
            key[n++] = c;
            name++;
        } else {
            return -1;
        }
    }
    return (int)n;
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

void okof__tmp_name(char *buf, long pid, unsigned long serial)
{
    snprintf(buf, OKOF__NAME_BUF, OKOF__TMP_PREFIX "%lx-%lx", pid, serial);
}
