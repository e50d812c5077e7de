/*
 * okof_key.h -- keys <-> file names, temporary names, and telling a
 * directory entry's kind from its name.
 *
 * The codec: a key byte that is a lowercase ASCII letter, a digit, '-',
 * '_' or '.' stands for itself, except a '.' in first place; every other
 * byte is written as '%' and two lowercase hex digits. A name therefore
 * never holds '/', NUL or an uppercase letter, never starts with '.', and
 * two different keys never have names that differ only in ASCII case.
 * Decoding accepts exactly the names encoding produces.
 */
#ifndef OKOF_KEY_H
#define OKOF_KEY_H

#include <stddef.h>

/* Longest file name okofdb writes or reads, NUL excluded. */
#define OKOF__NAME_MAX 255
/* Buffer size that holds any name with its NUL. */
#define OKOF__NAME_BUF (OKOF__NAME_MAX + 1)

/* Prefix of every temporary file name. */
#define OKOF__TMP_PREFIX ".okof-tmp-"

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

/* Write a temporary name for (pid, serial) into buf (OKOF__NAME_BUF). */
void okof__tmp_name(char *buf, long pid, unsigned long serial);

#endif
