/*
 * okof_key.h -- keys <-> file names, temporary names, and telling a
 * directory entry's kind from its name.
 *
 * The codec: a key byte that is a lowercase ASCII letter, a digit, '-',
 * '_' or '.' stands for itself, except a '.' in first place; every other
 * byte is written as '%' and two lowercase hex digits. Two more bytes get
 * that %xx form, so that every OS takes the name as it is:
 *   - the first byte of a key that is one of Windows' device names (con,
 *     prn, aux, nul, com1-com9, lpt1-lpt9) alone or followed by '.' and
 *     anything: "con" is the file %63on, "com1.tar.gz" %63om1.tar.gz;
 *   - a '.' that ends the key (Windows drops it): "a." is a%2e, "x.." is
 *     x.%2e (and "." is %2e, its first byte).
 * A name therefore never holds '/', NUL or an uppercase letter, never
 * starts with '.', and two different keys never have names that differ
 * only in ASCII case. Decoding accepts exactly the names encoding
 * produces: a file named "con" or "a." (written before these two rules)
 * is no key's file.
 */
#ifndef OKOF_KEY_H
#define OKOF_KEY_H

#include <stddef.h>

/* Longest file name okofdb writes or reads, NUL excluded. */
#define OKOF__NAME_MAX 255
/* Buffer size that holds any name with its NUL. */
#define OKOF__NAME_BUF (OKOF__NAME_MAX + 1)

/* Prefix of every temporary file name; OKOF__TMP_RANDOM random bytes
 * follow it, as lowercase hex. */
#define OKOF__TMP_PREFIX ".okof-tmp-"
#define OKOF__TMP_RANDOM 16

enum okof__kind {
    OKOF__ENTRY_KEY,     /* the name of a key's file */
    OKOF__ENTRY_TEMP,    /* an okofdb temporary file */
    OKOF__ENTRY_FOREIGN  /* anything else: never touched */
};

/* Encode key into name (OKOF__NAME_BUF bytes, NUL-terminated).
 * Returns the name's length, or OKOF_EBADKEY for an empty key or a name
 * longer than OKOF__NAME_MAX. */
int okof__key_encode(const unsigned char *key, size_t klen, char *name);

/* Decode a NUL-terminated name into key (room for strlen(name) bytes).
 * Returns the key's length, or -1 when the name is not one that
 * okof__key_encode produces. */
int okof__key_decode(const char *name, unsigned char *key);

/* The kind of a directory entry, from its name alone. */
enum okof__kind okof__classify(const char *name);

/* Write the temporary name made of the random bytes rnd into buf
 * (OKOF__NAME_BUF bytes). */
void okof__tmp_name(char *buf, const unsigned char rnd[OKOF__TMP_RANDOM]);

#endif
