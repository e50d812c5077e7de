/*
 * fuzz_key.c -- libFuzzer target for the key <-> file name codec
 * (c/okof_key.c), checked against docs/format.md "Keys and file names".
 *
 * Each input is used three ways:
 *
 *  1. as a key: okof__key_encode refuses it (OKOF_EBADKEY) only when it is
 *     empty or its name would pass 255 bytes, and accepts every key of
 *     1..80 bytes; an accepted key's name holds no '/', NUL or uppercase
 *     ASCII letter, is not "." or "..", does not start with '.', decodes
 *     back to exactly the key, is classified as a key's file, and is the
 *     key itself when the key is plain ([a-z0-9._-], no leading '.') and
 *     not one that some OS refuses (a Windows device name alone or before
 *     a '.', or ending in '.'), which is never its own name;
 *
 *  2. as two keys (split by the first byte): their names are equal ignoring
 *     ASCII case only when the keys are equal;
 *
 *  3. as a file name (cut at the first NUL): when okof__key_decode accepts
 *     it, encoding the decoded key gives back exactly that name (one name
 *     per key), and okof__classify agrees with the decoder;
 *
 *  4. as random bytes: okof__tmp_name gives a temporary name of the
 *     prefix and at least 16 lowercase hex digits (64 bits), different
 *     for different bytes, that okof__classify reports as one.
 *
 * Build: clang -g -O1 -fsanitize=fuzzer,address,undefined -Ic \
 *        fuzz/fuzz_key.c c/okof_key.c
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "okof.h"
#include "okof_key.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond))                                                         \
            __builtin_trap();                                                \
    } while (0)

static int is_lower_alnum(unsigned c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* docs/format.md "Keys and file names": a key that must be its own file name. */
static int is_plain_key(const unsigned char *k, size_t n)
{
    size_t i;
    if (n == 0 || k[0] == '.')
        return 0;
    for (i = 0; i < n; i++)
        if (!is_lower_alnum(k[i]) && k[i] != '-' && k[i] != '_' && k[i] != '.')
            return 0;
    return 1;
}

/* docs/format.md (Keys and file names)'s exceptions: con, prn, aux, nul, com1-com9, lpt1-lpt9
 * alone or followed by '.' and anything. */
static int is_device_start(const unsigned char *k, size_t n)
{
    static const char *const names[] = {"con", "prn", "aux", "nul"};
    size_t base = 0, i;
    while (base < n && k[base] != '.')
        base++;
    for (i = 0; i < 4; i++)
        if (base == 3 && memcmp(k, names[i], 3) == 0)
            return 1;
    return base == 4 && (memcmp(k, "com", 3) == 0 || memcmp(k, "lpt", 3) == 0)
           && k[3] >= '1' && k[3] <= '9';
}

/* Length of the name okof_key.h describes: one byte for a byte that stands
 * for itself, three ("%xx") for any other, for the first byte of a device
 * name and for a '.' that ends the key. */
static size_t name_len_of(const unsigned char *k, size_t n)
{
    size_t i, len = 0;
    for (i = 0; i < n; i++) {
        unsigned c = k[i];
        int plain = is_lower_alnum(c) || c == '-' || c == '_' ||
                    (c == '.' && i > 0);
        if (i == 0 && is_device_start(k, n))
            plain = 0;
        if (i + 1 == n && c == '.')
            plain = 0;
        len += plain ? 1 : 3;
    }
    return len;
}

static unsigned char ascii_lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

static int equal_ignoring_case(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (ascii_lower((unsigned char)*a) != ascii_lower((unsigned char)*b))
            return 0;
    return *a == *b;
}

/* Encode key into a fresh heap buffer of exactly OKOF__NAME_BUF bytes, so
 * that ASan sees any write past it; returns the code, *name is NULL unless
 * it was accepted. */
static int encode(const unsigned char *key, size_t klen, char **name)
{
    char *buf = malloc(OKOF__NAME_BUF);
    int rc;
    CHECK(buf != NULL);
    memset(buf, 0x5a, OKOF__NAME_BUF); /* a missing NUL is then caught */
    rc = okof__key_encode(key, klen, buf);
    if (rc < 0) {
        free(buf);
        *name = NULL;
    } else {
        *name = buf;
    }
    return rc;
}

/* ---- 1. arbitrary bytes as a key ------------------------------------------- */

static void check_key(const unsigned char *key, size_t klen)
{
    char *name;
    unsigned char *back;
    size_t nlen, i, want = name_len_of(key, klen);
    int rc = encode(key, klen, &name);

    if (klen == 0 || want > OKOF__NAME_MAX) {
        CHECK(rc == OKOF_EBADKEY);
        CHECK(klen == 0 || klen > 80); /* keys of 1..80 bytes pass */
        return;
    }
    CHECK(rc >= 0);
    nlen = strlen(name);
    CHECK((size_t)rc == nlen && nlen == want);
    CHECK(nlen >= 1 && nlen <= OKOF__NAME_MAX);
    /* Rule 1: stays inside the directory. NUL: strlen covers the key. */
    CHECK(strchr(name, '/') == NULL);
    CHECK(name[0] != '.'); /* also excludes "." and ".." */
    CHECK(strcmp(name, ".") != 0 && strcmp(name, "..") != 0);
    /* Rule 2: no uppercase, so names differ ignoring case too (given 4). */
    for (i = 0; i < nlen; i++)
        CHECK(!(name[i] >= 'A' && name[i] <= 'Z'));
    /* Rule 3: plain keys are their own names, but those some OS refuses
     * or changes never are; no name ends in '.'. */
    if (is_plain_key(key, klen) && !is_device_start(key, klen) &&
        key[klen - 1] != '.')
        CHECK(nlen == klen && memcmp(name, key, klen) == 0);
    if (is_device_start(key, klen))
        CHECK(name[0] == '%');
    CHECK(name[nlen - 1] != '.');
    /* Rule 4: decodes back to exactly the key. */
    back = malloc(nlen); /* the decoder's contract: strlen(name) bytes */
    CHECK(back != NULL);
    CHECK(okof__key_decode(name, back) == (int)klen);
    CHECK(memcmp(back, key, klen) == 0);
    free(back);
    CHECK(okof__classify(name) == OKOF__ENTRY_KEY);
    free(name);
}

/* ---- 2. two keys: no case-insensitive collisions --------------------------- */

static void check_pair(const uint8_t *data, size_t size)
{
    const unsigned char *k1 = data + 1, *k2;
    size_t n1, n2;
    char *a, *b;

    if (size < 3)
        return;
    n1 = 1 + (size_t)data[0] % (size - 2); /* 1..size-2 bytes */
    k2 = k1 + n1;
    n2 = size - 1 - n1; /* at least 1 byte */
    if (encode(k1, n1, &a) < 0)
        return;
    if (encode(k2, n2, &b) >= 0) {
        if (equal_ignoring_case(a, b))
            CHECK(n1 == n2 && memcmp(k1, k2, n1) == 0);
        free(b);
    }
    free(a);
}

/* ---- 3. arbitrary bytes as a file name --------------------------------------- */

static void check_name(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t nlen = nul ? (size_t)(nul - data) : size;
    char *name = malloc(nlen + 1), *again;
    unsigned char *key = malloc(nlen); /* exactly the room the contract gives */
    enum okof__kind kind;
    int klen;

    CHECK(name != NULL && key != NULL);
    memcpy(name, data, nlen);
    name[nlen] = '\0';
    klen = okof__key_decode(name, key);
    kind = okof__classify(name);
    if (klen < 0) {
        CHECK(klen == -1);
        CHECK(kind == (strncmp(name, OKOF__TMP_PREFIX,
                               strlen(OKOF__TMP_PREFIX)) == 0
                           ? OKOF__ENTRY_TEMP
                           : OKOF__ENTRY_FOREIGN));
    } else {
        int rc;
        CHECK(klen >= 1 && (size_t)klen <= nlen);
        rc = encode(key, (size_t)klen, &again);
        if (nlen <= OKOF__NAME_MAX) {
            /* The only name of this key is the one decoded. */
            CHECK(rc >= 0 && (size_t)rc == nlen);
            CHECK(strcmp(again, name) == 0);
            CHECK(kind == OKOF__ENTRY_KEY);
            free(again);
        } else {
            /* Longer than any name okofdb writes: not a key's file. */
            CHECK(rc == OKOF_EBADKEY);
            CHECK(kind == OKOF__ENTRY_FOREIGN);
        }
    }
    free(name);
    free(key);
}

/* ---- 4. temporary names ------------------------------------------------------ */

static void check_tmp_name(const uint8_t *data, size_t size)
{
    unsigned char rnd[OKOF__TMP_RANDOM], other[OKOF__TMP_RANDOM];
    char *name = malloc(OKOF__NAME_BUF), *name2 = malloc(OKOF__NAME_BUF);
    size_t i, plen = strlen(OKOF__TMP_PREFIX);

    CHECK(name != NULL && name2 != NULL);
    CHECK(OKOF__TMP_RANDOM >= 8); /* at least 64 bits */
    for (i = 0; i < OKOF__TMP_RANDOM; i++)
        rnd[i] = i < size ? data[i] : 0;
    memcpy(other, rnd, sizeof other);
    other[size % OKOF__TMP_RANDOM] ^= 1;
    okof__tmp_name(name, rnd);
    okof__tmp_name(name2, other);
    CHECK(strlen(name) == plen + 2 * OKOF__TMP_RANDOM);
    CHECK(strncmp(name, OKOF__TMP_PREFIX, plen) == 0);
    for (i = plen; name[i]; i++)
        CHECK((name[i] >= '0' && name[i] <= '9') ||
              (name[i] >= 'a' && name[i] <= 'f'));
    CHECK(strcmp(name, name2) != 0);
    CHECK(okof__classify(name) == OKOF__ENTRY_TEMP);
    free(name);
    free(name2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_key(data, size);
    check_pair(data, size);
    check_name(data, size);
    check_tmp_name(data, size);
    return 0;
}
