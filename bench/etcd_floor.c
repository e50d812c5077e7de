/*
 * etcd_floor.c -- the floor of okofdb's operations on an etcd cluster: the
 * same HTTP requests to etcd's JSON gateway that an okofdb store on etcd
 * makes, over one kept-alive libcurl connection, with the least work
 * around them (bodies assembled from a base64 value encoded once, replies
 * scanned for the fields that matter, no JSON library).
 *
 *   etcd_floor -e HOST:PORT -p /PATH -s SIZE:N:VALUEFILE[,...] [-i IMPL]
 *
 * VALUEFILE holds the bytes okofdb stores for a value of SIZE bytes (the
 * value file it writes in a directory). Keys are /PATH/k%07d, i = 0..N-1.
 * Per item, in order, each timed over the N keys:
 *
 *   put   POST /v3/kv/put    {"key":K,"value":V}              (new keys)
 *   get   POST /v3/kv/range  {"key":K}; the value decoded from base64
 *   keys  POST /v3/kv/range  {"key":FROM,"range_end":END,"limit":"128",
 *         ["revision":REV,]"sort_order":"ASCEND","sort_target":"KEY",
 *         "keys_only":true}, pages of 128 (as okofdb's keys() asks) read
 *         at the first page's revision, each from the last key + "\0"; the
 *         whole prefix walked again and again (>= 2000 entries and
 *         >= 0.2 s, or >= 1 s);
 *         n = entries, us_op = per entry
 *   del   POST /v3/kv/deleterange {"key":K}
 *   add   POST /v3/kv/txn {"compare":[{"key":K,"target":"CREATE",
 *         "result":"EQUAL","create_revision":"0"}],
 *         "success":[{"request_put":{"key":K,"value":V}}]}   (absent keys)
 *   (then the keys are deleted again, untimed)
 *
 * Output, one line per (size, op), in the format bench/report.lua reads:
 *   RESULT impl=etcd-floor mode=etcd fs=etcd size=S op=OP n=N total_s=...
 *          us_op=... ops_s=...
 * Exits non-zero when a request fails or a reply is not what it should be.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

/* keys per page of a walk without values, as okofdb's keys() asks */
#define PAGE "128"

typedef struct buf {
    char *p;
    size_t n, cap;
} buf;

typedef struct bench {
    CURL *curl;
    struct curl_slist *hdrs;
    const char *base;  /* http://HOST:PORT */
    const char *path;  /* /PATH */
    const char *impl;
    buf reply, body, tmp;
    char url[512];
} bench;

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "etcd_floor: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    exit(1);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void buf_reserve(buf *b, size_t more)
{
    if (b->cap - b->n > more)
        return;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap - b->n <= more)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p)
        die("out of memory", NULL);
    b->p = p;
    b->cap = cap;
}

static void buf_add(buf *b, const char *p, size_t n)
{
    buf_reserve(b, n);
    memcpy(b->p + b->n, p, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static void buf_str(buf *b, const char *s)
{
    buf_add(b, s, strlen(s));
}

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Append the base64 of p[0..n) to b. */
static void b64_add(buf *b, const unsigned char *p, size_t n)
{
    buf_reserve(b, (n + 2) / 3 * 4);
    char *o = b->p + b->n;
    size_t i;
    for (i = 0; i + 2 < n; i += 3) {
        unsigned long v = (unsigned long)p[i] << 16 | (unsigned long)p[i + 1] << 8 | p[i + 2];
        *o++ = B64[v >> 18 & 63];
        *o++ = B64[v >> 12 & 63];
        *o++ = B64[v >> 6 & 63];
        *o++ = B64[v & 63];
    }
    if (i < n) {
        unsigned long v = (unsigned long)p[i] << 16 | (i + 1 < n ? (unsigned long)p[i + 1] << 8 : 0);
        *o++ = B64[v >> 18 & 63];
        *o++ = B64[v >> 12 & 63];
        *o++ = i + 1 < n ? B64[v >> 6 & 63] : '=';
        *o++ = '=';
    }
    b->n = (size_t)(o - b->p);
    b->p[b->n] = '\0';
}

static signed char B64_VAL[256];

static void b64_init(void)
{
    memset(B64_VAL, -1, sizeof B64_VAL);
    for (int i = 0; i < 64; i++)
        B64_VAL[(unsigned char)B64[i]] = (signed char)i;
}

/* Decode the base64 text s[0..n) (padded) into b (emptied first); -1 on a
 * bad character or length. */
static int b64_decode(const char *s, size_t n, buf *b)
{
    b->n = 0;
    if (n % 4)
        return -1;
    buf_reserve(b, n / 4 * 3);
    unsigned char *o = (unsigned char *)b->p;
    for (size_t i = 0; i < n; i += 4) {
        int v[4], k, pad = 0;
        for (k = 0; k < 4; k++) {
            unsigned char c = (unsigned char)s[i + (size_t)k];
            if (c == '=' && i + 4 == n && k >= 2) {
                v[k] = 0;
                pad++;
            } else if ((v[k] = B64_VAL[c]) < 0) {
                return -1;
            }
        }
        *o++ = (unsigned char)(v[0] << 2 | v[1] >> 4);
        if (pad < 2)
            *o++ = (unsigned char)((v[1] & 15) << 4 | v[2] >> 2);
        if (pad < 1)
            *o++ = (unsigned char)((v[2] & 3) << 6 | v[3]);
    }
    b->n = (size_t)(o - (unsigned char *)b->p);
    return 0;
}

static size_t on_data(char *p, size_t size, size_t nmemb, void *ud)
{
    buf_add((buf *)ud, p, size * nmemb);
    return size * nmemb;
}

/* POST body to endpoint; the reply lands in b->reply. */
static void post(bench *b, const char *endpoint)
{
    snprintf(b->url, sizeof b->url, "%s%s", b->base, endpoint);
    b->reply.n = 0;
    curl_easy_setopt(b->curl, CURLOPT_URL, b->url);
    curl_easy_setopt(b->curl, CURLOPT_POSTFIELDS, b->body.p);
    curl_easy_setopt(b->curl, CURLOPT_POSTFIELDSIZE, (long)b->body.n);
    CURLcode rc = curl_easy_perform(b->curl);
    if (rc != CURLE_OK)
        die(endpoint, curl_easy_strerror(rc));
    long status = 0;
    curl_easy_getinfo(b->curl, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200)
        die(endpoint, b->reply.p ? b->reply.p : "no reply");
}

/* The etcd key of key number i, base64, appended to b. */
static void key_add(bench *b, buf *to, long i)
{
    char k[300];
    int n = snprintf(k, sizeof k, "%s/k%07ld", b->path, i);
    b64_add(to, (const unsigned char *)k, (size_t)n);
}

static void report(const bench *b, size_t size, const char *op, long n, double secs)
{
    printf("RESULT impl=%s mode=etcd fs=etcd size=%zu op=%s n=%ld total_s=%.6f us_op=%.3f ops_s=%.0f\n",
           b->impl, size, op, n, secs, secs * 1e6 / (double)n, (double)n / secs);
    fflush(stdout);
}

/* The string value of "name":"..." in the reply from `from` on, or NULL;
 * *len is its length. */
static const char *field(const char *from, const char *name, size_t *len)
{
    const char *p = strstr(from, name);
    if (!p)
        return NULL;
    p += strlen(name);
    const char *e = strchr(p, '"');
    if (!e)
        return NULL;
    *len = (size_t)(e - p);
    return p;
}

static void put_all(bench *b, long n, const char *vb64, const char *endpoint, int add)
{
    for (long i = 0; i < n; i++) {
        b->body.n = 0;
        if (add) {
            buf_str(&b->body, "{\"compare\":[{\"key\":\"");
            key_add(b, &b->body, i);
            buf_str(&b->body, "\",\"target\":\"CREATE\",\"result\":\"EQUAL\",\"create_revision\":\"0\"}],"
                              "\"success\":[{\"request_put\":{\"key\":\"");
        } else {
            buf_str(&b->body, "{\"key\":\"");
        }
        key_add(b, &b->body, i);
        buf_str(&b->body, "\",\"value\":\"");
        buf_str(&b->body, vb64);
        buf_str(&b->body, add ? "\"}}]}" : "\"}");
        post(b, endpoint);
        if (add && !strstr(b->reply.p, "\"succeeded\":true"))
            die("add did not succeed", b->reply.p);
    }
}

static void get_all(bench *b, long n, size_t vlen)
{
    for (long i = 0; i < n; i++) {
        b->body.n = 0;
        buf_str(&b->body, "{\"key\":\"");
        key_add(b, &b->body, i);
        buf_str(&b->body, "\"}");
        post(b, "/v3/kv/range");
        size_t len;
        const char *v = field(b->reply.p, "\"value\":\"", &len);
        if (!v || b64_decode(v, len, &b->tmp) || b->tmp.n != vlen)
            die("get: not the value", b->reply.p);
    }
}

static void del_all(bench *b, long n)
{
    for (long i = 0; i < n; i++) {
        b->body.n = 0;
        buf_str(&b->body, "{\"key\":\"");
        key_add(b, &b->body, i);
        buf_str(&b->body, "\"}");
        post(b, "/v3/kv/deleterange");
        if (!strstr(b->reply.p, "\"deleted\":\"1\""))
            die("del: nothing deleted", b->reply.p);
    }
}

/* Walk the store's keys once in pages; returns the number of keys. */
static long walk(bench *b, const char *prefix64, const char *end64)
{
    long count = 0;
    char rev[32] = "";
    buf from = {0};
    buf_str(&from, prefix64);
    for (;;) {
        b->body.n = 0;
        buf_str(&b->body, "{\"key\":\"");
        buf_add(&b->body, from.p, from.n);
        buf_str(&b->body, "\",\"range_end\":\"");
        buf_str(&b->body, end64);
        buf_str(&b->body, "\",\"limit\":\"" PAGE "\"");
        if (rev[0]) {
            buf_str(&b->body, ",\"revision\":\"");
            buf_str(&b->body, rev);
            buf_str(&b->body, "\"");
        }
        buf_str(&b->body, ",\"sort_order\":\"ASCEND\",\"sort_target\":\"KEY\",\"keys_only\":true}");
        post(b, "/v3/kv/range");
        size_t len;
        if (!rev[0]) {
            const char *r = field(b->reply.p, "\"revision\":\"", &len);
            if (!r || len >= sizeof rev)
                die("keys: no revision", b->reply.p);
            memcpy(rev, r, len);
            rev[len] = '\0';
        }
        const char *p = b->reply.p, *last = NULL;
        size_t lastlen = 0;
        long page = 0;
        while ((p = field(p, "\"key\":\"", &len)) != NULL) {
            last = p;
            lastlen = len;
            page++;
            p += len;
        }
        count += page;
        if (page == 0 || !strstr(b->reply.p, "\"more\":true"))
            break;
        /* the next page starts just after the last key: key + "\0" */
        if (b64_decode(last, lastlen, &b->tmp))
            die("keys: bad key", b->reply.p);
        buf_add(&b->tmp, "", 1);
        from.n = 0;
        b64_add(&from, (const unsigned char *)b->tmp.p, b->tmp.n);
    }
    free(from.p);
    return count;
}

static void keys_bench(bench *b, size_t size, long n)
{
    char prefix[300], end[300];
    int plen = snprintf(prefix, sizeof prefix, "%s/", b->path);
    memcpy(end, prefix, (size_t)plen);
    end[plen - 1]++; /* "/PATH/" -> "/PATH0": the end of the prefix's range */
    buf p64 = {0}, e64 = {0};
    b64_add(&p64, (const unsigned char *)prefix, (size_t)plen);
    b64_add(&e64, (const unsigned char *)end, (size_t)plen);
    long entries = 0;
    double t = now(), el;
    do {
        long c = walk(b, p64.p, e64.p);
        if (c != n) {
            fprintf(stderr, "etcd_floor: keys saw %ld of %ld\n", c, n);
            exit(1);
        }
        entries += c;
        el = now() - t;
    } while ((entries < 2000 || el < 0.2) && el < 1.0);
    report(b, size, "keys", entries, el);
    free(p64.p);
    free(e64.p);
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        die("cannot open", path);
    buf b = {0};
    char chunk[65536];
    size_t r;
    buf_reserve(&b, 1);
    while ((r = fread(chunk, 1, sizeof chunk, f)) > 0)
        buf_add(&b, chunk, r);
    if (ferror(f))
        die("cannot read", path);
    fclose(f);
    *len = b.n;
    return b.p;
}

static void run_item(bench *b, size_t size, long n, const char *file)
{
    size_t vlen;
    char *v = read_file(file, &vlen);
    buf vb64 = {0};
    b64_add(&vb64, (const unsigned char *)v, vlen);
    buf_reserve(&vb64, 1);
    double t = now();
    put_all(b, n, vb64.p, "/v3/kv/put", 0);
    report(b, size, "put", n, now() - t);
    t = now();
    get_all(b, n, vlen);
    report(b, size, "get", n, now() - t);
    keys_bench(b, size, n);
    t = now();
    del_all(b, n);
    report(b, size, "del", n, now() - t);
    t = now();
    put_all(b, n, vb64.p, "/v3/kv/txn", 1);
    report(b, size, "add", n, now() - t);
    del_all(b, n);
    free(vb64.p);
    free(v);
}

int main(int argc, char **argv)
{
    const char *endpoint = NULL, *path = NULL, *spec = NULL;
    bench b;
    memset(&b, 0, sizeof b);
    b.impl = "etcd-floor";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "-e")) endpoint = argv[i + 1];
        else if (!strcmp(argv[i], "-p")) path = argv[i + 1];
        else if (!strcmp(argv[i], "-s")) spec = argv[i + 1];
        else if (!strcmp(argv[i], "-i")) b.impl = argv[i + 1];
        else die("unknown option", argv[i]);
    }
    if (!endpoint || !path || !spec || path[0] != '/')
        die("usage: etcd_floor -e HOST:PORT -p /PATH -s SIZE:N:VALUEFILE[,...] [-i IMPL]", NULL);
    b64_init();
    char base[300];
    snprintf(base, sizeof base, "http://%s", endpoint);
    b.base = base;
    b.path = path;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
        die("curl_global_init failed", NULL);
    b.curl = curl_easy_init();
    b.hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    b.hdrs = curl_slist_append(b.hdrs, "Expect:");
    if (!b.curl || !b.hdrs)
        die("curl setup failed", NULL);
    curl_easy_setopt(b.curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(b.curl, CURLOPT_HTTPHEADER, b.hdrs);
    curl_easy_setopt(b.curl, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(b.curl, CURLOPT_WRITEDATA, &b.reply);
    curl_easy_setopt(b.curl, CURLOPT_TIMEOUT_MS, 30000L);

    char *items = strdup(spec), *save = NULL;
    if (!items)
        die("out of memory", NULL);
    for (char *it = strtok_r(items, ",", &save); it; it = strtok_r(NULL, ",", &save)) {
        unsigned long size;
        long n;
        int off = 0;
        if (sscanf(it, "%lu:%ld:%n", &size, &n, &off) != 2 || off == 0 || n <= 0)
            die("bad item", it);
        run_item(&b, (size_t)size, n, it + off);
    }
    free(items);
    free(b.reply.p);
    free(b.body.p);
    free(b.tmp.p);
    curl_slist_free_all(b.hdrs);
    curl_easy_cleanup(b.curl);
    curl_global_cleanup();
    return 0;
}
