/* snappy_time.c -- what libsnappy alone costs on the benchmark's 64 KiB
 * value: compress and decompress the same SIZE bytes of TEXTFILE (repeated
 * if shorter), many times, and print floor-format RESULT lines:
 *   RESULT impl=libsnappy mode=raw fs=<FS> size=<SIZE> op=compress|decompress
 *          n=<count> total_s=<s> us_op=<us> ops_s=<ops/s>
 * Usage: snappy_time [-t TEXTFILE] [-s SIZE] [-f FS] [-m MIN_SECONDS]
 * The fs label is only copied to the output, so that a report can pair this
 * run with the others of the same run and file system. */
#define _POSIX_C_SOURCE 200809L
#include <snappy-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void report(const char *fs, size_t size, const char *op, long n, double secs) {
    printf("RESULT impl=libsnappy mode=raw fs=%s size=%zu op=%s n=%ld total_s=%.6f us_op=%.3f ops_s=%.0f\n",
           fs, size, op, n, secs, secs * 1e6 / (double)n, (double)n / secs);
    fflush(stdout);
}

static char *load_value(const char *file, size_t size) {
    char *v = malloc(size), *t;
    size_t fl = 0, got, p;
    FILE *f;
    if (!v) { perror("malloc"); exit(1); }
    if (!file) { /* no text file: a fixed, mildly compressible filler */
        for (p = 0; p < size; p++) v[p] = "the quick brown fox jumps over a lazy dog\n"[p % 42];
        return v;
    }
    f = fopen(file, "rb");
    if (!f) { perror(file); exit(1); }
    fseek(f, 0, SEEK_END);
    fl = (size_t)ftell(f);
    rewind(f);
    if (fl == 0) { fprintf(stderr, "snappy_time: empty %s\n", file); exit(1); }
    t = malloc(fl);
    got = fread(t, 1, fl, f);
    fclose(f);
    if (got != fl) { fprintf(stderr, "snappy_time: short read of %s\n", file); exit(1); }
    for (p = 0; p < size; p += fl) memcpy(v + p, t, size - p < fl ? size - p : fl);
    free(t);
    return v;
}

int main(int argc, char **argv) {
    const char *text = NULL, *fs = "-";
    size_t size = 65536, clen, cap, olen;
    double min_s = 0.2, t, el;
    long n;
    int c;
    while ((c = getopt(argc, argv, "t:s:f:m:")) != -1) {
        switch (c) {
        case 't': text = optarg; break;
        case 's': size = (size_t)strtoul(optarg, NULL, 10); break;
        case 'f': fs = optarg; break;
        case 'm': min_s = atof(optarg); break;
        default:
            fprintf(stderr, "usage: %s [-t TEXTFILE] [-s SIZE] [-f FS] [-m MIN_SECONDS]\n", argv[0]);
            return 2;
        }
    }
    if (size == 0) { fprintf(stderr, "snappy_time: size must be > 0\n"); return 2; }
    char *val = load_value(text, size);
    cap = snappy_max_compressed_length(size);
    char *comp = malloc(cap), *out = malloc(size);
    if (!comp || !out) { perror("malloc"); return 1; }

    /* Repeat until at least 1000 calls and MIN_SECONDS have passed. */
    n = 0;
    t = now();
    do {
        clen = cap;
        if (snappy_compress(val, size, comp, &clen) != SNAPPY_OK) { fprintf(stderr, "compress failed\n"); return 1; }
        n++;
        el = now() - t;
    } while (n < 1000 || el < min_s);
    report(fs, size, "compress", n, el);

    n = 0;
    t = now();
    do {
        olen = size;
        if (snappy_uncompress(comp, clen, out, &olen) != SNAPPY_OK) { fprintf(stderr, "uncompress failed\n"); return 1; }
        n++;
        el = now() - t;
    } while (n < 1000 || el < min_s);
    report(fs, size, "decompress", n, el);
    if (olen != size || memcmp(out, val, size) != 0) { fprintf(stderr, "snappy_time: round trip differs\n"); return 1; }
    fprintf(stderr, "snappy_time: %zu bytes -> %zu compressed\n", size, clen);
    free(val); free(comp); free(out);
    return 0;
}
