/*
 * okof_etcd_test.c -- the etcd store from C: the protocol code fed canned
 * replies (no cluster needed), then, when OKOF_ETCD_URL names a store on a
 * running cluster, the C API of okof_etcd.h, a handle used after fork()
 * included. The operations (okof_etcd_op.c) are driven by hand: which
 * member gets which share of the time, failover, and what the outcomes
 * of attempts mean. Run by `make etcd` and under valgrind by `make etcd-valgrind`
 * (spec/etcd/with_cluster.lua starts the cluster).
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "okof_etcd_int.h"

static int failures;

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, \
                    #cond);                                                  \
            failures++;                                                      \
        }                                                                    \
    } while (0)

#define U(s) ((const unsigned char *)(s))

/* The code okof__ep_status gives a reply, and whether to try another. */
static int status_of(long http, const char *body, enum okof__ep_next *next)
{
    char msg[128];
    return okof__ep_status(http, U(body), strlen(body), next, msg, sizeof msg);
}

static void test_status(void)
{
    enum okof__ep_next next;
    CHECK(status_of(200, "{\"header\":{\"revision\":\"2\"}}", &next) == 0);
    CHECK(status_of(503, "{\"error\":\"etcdserver: no leader\",\"code\":14}", &next) ==
          OKOF_EUNAVAILABLE && next == OKOF__EP_OTHER);
    CHECK(status_of(503, "{\"error\":\"etcdserver: request timed out\",\"code\":14}", &next) ==
          -ETIMEDOUT && next == OKOF__EP_MAYBE);
    CHECK(status_of(400, "{\"error\":\"etcdserver: request is too large\",\"code\":3}", &next) ==
          -E2BIG && next == OKOF__EP_DONE);
    CHECK(status_of(400, "{\"error\":\"etcdserver: too many operations in txn request\",\"code\":3}",
                    &next) == -E2BIG);
    CHECK(status_of(429, "{\"error\":\"grpc: received message larger than max\",\"code\":8}",
                    &next) == -E2BIG);
    CHECK(status_of(400, "{\"error\":\"etcdserver: mvcc: required revision has been compacted\","
                         "\"code\":11}", &next) == OKOF_ECOMPACTED);
    CHECK(status_of(404, "Not Found", &next) == -EPROTO);
    CHECK(status_of(200, "[1]", &next) == -EPROTO);
    CHECK(status_of(502, "", &next) == -EPROTO);
}

static void test_replies(void)
{
    okof__erange r;
    long long deleted = -1;
    int ok = -1;
    const char *range = "{\"header\":{\"revision\":\"7\"},\"kvs\":[{\"key\":\"L2EveA==\","
                        "\"value\":\"aGk=\"},{\"key\":\"L2Ev/w==\"}],\"more\":true,\"count\":\"3\"}";
    CHECK(okof__ep_range_reply(U(range), strlen(range), &r) == 0);
    CHECK(r.n == 2 && r.more && r.rev == 7);
    CHECK(r.n == 2 && r.kvs[0].n == 4 && memcmp(r.kvs[0].p, "/a/x", 4) == 0);
    CHECK(r.n == 2 && r.kvs[1].n == 2 && memcmp(r.kvs[1].p, "hi", 2) == 0);
    CHECK(r.n == 2 && r.kvs[2].n == 4 && memcmp(r.kvs[2].p, "/a/\xff", 4) == 0);
    CHECK(r.n == 2 && r.kvs[3].n == 0); /* a value left out is empty */
    okof__ep_range_free(&r);
    CHECK(okof__ep_range_reply(U("{\"header\":{\"revision\":\"3\"}}"), 27, &r) == 0 && r.n == 0);
    CHECK(okof__ep_range_reply(U("{\"header\":{}}"), 13, &r) == -EPROTO);
    CHECK(okof__ep_range_reply(U("{\"header\":{\"revision\":\"3\"},\"kvs\":[{\"key\":\"**\"}]}"), 47,
                               &r) == -EPROTO);
    CHECK(okof__ep_delete_reply(U("{\"header\":{},\"deleted\":\"1\"}"), 27, &deleted, NULL) == 0 &&
          deleted == 1);
    CHECK(okof__ep_delete_reply(U("{\"header\":{}}"), 13, &deleted, NULL) == 0 && deleted == 0);
    CHECK(okof__ep_txn_reply(U("{\"header\":{},\"succeeded\":true}"), 30, &ok) == 0 && ok == 1);
    CHECK(okof__ep_txn_reply(U("{\"header\":{}}"), 13, &ok) == 0 && ok == 0);
    CHECK(okof__ep_put_reply(U("{}"), 2) == -EPROTO);
}

static void test_requests(void)
{
    unsigned char end[8];
    okof__ekv kv = {U("/a/x"), 4, U("hi"), 2, 0};
    char *body = okof__ep_add(&kv, 0);
    CHECK(body != NULL && strstr(body, "\"target\":\"CREATE\"") != NULL &&
          strstr(body, "\"create_revision\":\"0\"") != NULL &&
          strstr(body, "\"key\":\"L2EveA==\"") != NULL && strstr(body, "\"value\":\"aGk=\"") != NULL);
    free(body);
    body = okof__ep_range(&kv, U("/a0"), 3, 100, 42, 1);
    CHECK(body != NULL && strstr(body, "\"limit\":\"100\"") != NULL &&
          strstr(body, "\"revision\":\"42\"") != NULL && strstr(body, "\"keys_only\":true") != NULL &&
          strstr(body, "\"range_end\":\"L2Ew\"") != NULL);
    free(body);
    CHECK(okof__ep_prefix_end(U("/a/"), 3, end) == 3 && memcmp(end, "/a0", 3) == 0);
    CHECK(okof__ep_prefix_end(U("/a\xff\xff"), 4, end) == 2 && memcmp(end, "/b", 2) == 0);
    CHECK(okof__ep_prefix_end(U("\xff\xff"), 2, end) == 1 && end[0] == 0);
}

/* A buffer filled to its capacity still has room for its NUL (valgrind
 * and ASan see the write past the end otherwise). */
static void test_ebuf(void)
{
    okof__ebuf b = {0};
    char chunk[300];
    memset(chunk, 'x', sizeof chunk);
    CHECK(okof__ebuf_add(&b, chunk, 100) == 0);
    CHECK(okof__ebuf_add(&b, chunk, b.cap - b.n) == 0);
    CHECK(b.n < b.cap && b.p[b.n] == '\0');
    CHECK(okof__ebuf_add(&b, chunk, sizeof chunk) == 0 && b.p[b.n] == '\0');
    okof__ebuf_free(&b);
}

static void test_errors(void)
{
    CHECK(strcmp(okof_errname(OKOF_EUNAVAILABLE), "EUNAVAILABLE") == 0);
    CHECK(strcmp(okof_errname(OKOF_ECOMPACTED), "ECOMPACTED") == 0);
    CHECK(strcmp(okof_errname(-EPROTO), "EPROTO") == 0);
    CHECK(strcmp(okof_errname(-ECONNREFUSED), "ECONNREFUSED") == 0);
    CHECK(strstr(okof_strerror(OKOF_EUNAVAILABLE), "quorum") != NULL);
}

static void test_open(void)
{
    okof_etcd_t *h = NULL;
    okof_etcd_opts o;
    CHECK(okof_etcd_open(&h, "etcd://127.0.0.1:1/x", NULL) == 0 && h != NULL);
    CHECK(h != NULL && strcmp(okof_etcd_url(h), "etcd://127.0.0.1:1/x") == 0);
    okof_etcd_close(h);
    CHECK(okof_etcd_open(&h, "etcd://127.0.0.1:1/x/", NULL) == -EINVAL);
    CHECK(okof_etcd_open(&h, "http://127.0.0.1:1/x", NULL) == -EINVAL);
    CHECK(okof_etcd_open(&h, "etcd://127.0.0.1/x", NULL) == -EINVAL);
    okof_etcd_opts_init(&o);
    o.timeout = 0;
    CHECK(okof_etcd_open(&h, "etcd://127.0.0.1:1/x", &o) == -EINVAL);
    okof_etcd_close(NULL);
}

#define OK_PUT "{\"header\":{\"revision\":\"9\"}}"
#define NO_LEADER "{\"error\":\"etcdserver: no leader\",\"code\":14}"

/* The next attempt of op at time t: its member, and its share in *ms. */
static const char *attempt_at(okof__eop *op, double t, long *ms)
{
    const char *member = NULL, *path, *body;
    return okof__eop_next(op, t, &member, &path, &body, ms) ? member : NULL;
}

static void answer(okof__eop *op, long status, const char *body)
{
    okof__eop_done(op, OKOF__ANSWERED, status, U(body), strlen(body), NULL);
}

static void test_ops(void)
{
    okof_etcd_t *h = NULL;
    okof__eop op;
    long ms = 0;
    const char *m;
    if (okof_etcd_open(&h, "etcd://a:1,b:2,c:3/app", NULL) != 0) {
        CHECK(!!0);
        return;
    }
    /* each member gets a share of what is left; refused moves on */
    okof__eop_put(&op, h, "k", 1, "v", 1, 0, 0);
    m = attempt_at(&op, 100.0, &ms);
    CHECK(m && strcmp(m, "a:1") == 0 && ms == 1666);
    okof__eop_done(&op, OKOF__TIMED_OUT, 0, NULL, 0, "timeout");
    m = attempt_at(&op, 101.5, &ms);
    CHECK(m && strcmp(m, "b:2") == 0 && ms == 1750);
    okof__eop_done(&op, OKOF__REFUSED, 0, NULL, 0, "refused");
    m = attempt_at(&op, 102.0, &ms);
    CHECK(m && strcmp(m, "c:3") == 0 && ms == 3000);
    answer(&op, 200, OK_PUT);
    CHECK(attempt_at(&op, 102.5, &ms) == NULL && op.rc == 0);
    okof__eop_free(&op);
    /* the next call starts with the member that answered */
    okof__eop_del(&op, h, "k", 1);
    m = attempt_at(&op, 200.0, &ms);
    CHECK(m && strcmp(m, "c:3") == 0);
    /* a delete that timed out, then "none there": the outcome is unknown */
    okof__eop_done(&op, OKOF__TIMED_OUT, 0, NULL, 0, "timeout");
    CHECK(attempt_at(&op, 201.0, &ms) != NULL);
    answer(&op, 200, OK_PUT);
    CHECK(op.rc == -ETIMEDOUT);
    okof__eop_free(&op);
    /* an add whose connection broke is not sent again */
    okof__eop_put(&op, h, "k", 1, "v", 1, 1, 0);
    CHECK(attempt_at(&op, 300.0, &ms) != NULL);
    okof__eop_done(&op, OKOF__LOST, 0, NULL, 0, "reset");
    CHECK(attempt_at(&op, 300.1, &ms) == NULL && op.rc == -ETIMEDOUT);
    CHECK(strstr(okof_etcd_errmsg(h), "reset") != NULL);
    okof__eop_free(&op);
    /* members without a leader, or refusing: EUNAVAILABLE after all three */
    okof__eop_get(&op, h, "k", 1, 0);
    CHECK(attempt_at(&op, 400.0, &ms) != NULL);
    answer(&op, 503, NO_LEADER);
    CHECK(attempt_at(&op, 400.1, &ms) != NULL);
    okof__eop_done(&op, OKOF__REFUSED, 0, NULL, 0, "refused");
    CHECK(attempt_at(&op, 400.2, &ms) != NULL);
    answer(&op, 503, NO_LEADER);
    CHECK(attempt_at(&op, 400.3, &ms) == NULL && op.rc == OKOF_EUNAVAILABLE);
    okof__eop_free(&op);
    /* all refused: ECONNREFUSED; the time passed: ETIMEDOUT */
    okof__eop_get(&op, h, "k", 1, 0);
    while (attempt_at(&op, 500.0, &ms) != NULL)
        okof__eop_done(&op, OKOF__REFUSED, 0, NULL, 0, "refused");
    CHECK(op.rc == -ECONNREFUSED);
    okof__eop_free(&op);
    okof__eop_get(&op, h, "k", 1, 0);
    CHECK(attempt_at(&op, 600.0, &ms) != NULL);
    okof__eop_done(&op, OKOF__REFUSED, 0, NULL, 0, "refused");
    CHECK(attempt_at(&op, 605.0, &ms) == NULL && op.rc == -ETIMEDOUT);
    okof__eop_free(&op);
    /* a value too big for request_bytes never makes a request */
    {
        static unsigned char big[2000000];
        unsigned long x = 12345;
        size_t i;
        for (i = 0; i < sizeof big; i++) {
            x = x * 1103515245UL + 12345UL;
            big[i] = (unsigned char)(x >> 16);
        }
        okof__eop_put(&op, h, "k", 1, big, sizeof big, 0, 0);
        CHECK(op.rc == -E2BIG && attempt_at(&op, 700.0, &ms) == NULL);
        okof__eop_free(&op);
    }
    okof_etcd_close(h);
}

#define GRANTED "{\"header\":{\"revision\":\"9\"},\"ID\":\"7587\",\"TTL\":\"61\"}"
#define NO_LEASE "{\"error\":\"etcdserver: requested lease not found\",\"code\":5}"

/* The next request's path and body (NULL when the op is over). */
static const char *request_at(okof__eop *op, double t, const char **body)
{
    const char *member = NULL, *path = NULL;
    long ms = 0;
    return okof__eop_next(op, t, &member, &path, body, &ms) ? path : NULL;
}

/* Values with a ttl: a lease is granted once and shared; a lost lease is
 * replaced once; the base64 of values of every length decodes. */
static void test_leases(void)
{
    okof_etcd_t *h = NULL;
    okof__eop op;
    okof_kv item = {"m", 1, "v", 1};
    const char *path, *body = NULL;
    int i;
    if (okof_etcd_open(&h, "etcd://a:1/app", NULL) != 0) {
        CHECK(!!0);
        return;
    }
    /* the first put with a ttl asks for a lease: 60 s + half the 6 s slack */
    okof__eop_put(&op, h, "k", 1, "v", 1, 0, 60000);
    path = request_at(&op, 1.0, &body);
    CHECK(path && strcmp(path, OKOF__EP_GRANT) == 0 && strstr(body, "\"TTL\":\"63\"") != NULL);
    answer(&op, 200, GRANTED);
    path = request_at(&op, 1.1, &body);
    CHECK(path && strcmp(path, OKOF__EP_PUT) == 0 && strstr(body, "\"lease\":\"7587\"") != NULL);
    answer(&op, 200, OK_PUT);
    CHECK(op.rc == 0);
    okof__eop_free(&op);
    /* the next ones use it: no grant (add and put_many too) */
    for (i = 0; i < 3; i++) {
        if (i == 0)
            okof__eop_put(&op, h, "k", 1, "v", 1, 0, 60000);
        else if (i == 1)
            okof__eop_put(&op, h, "k", 1, "v", 1, 1, 60000);
        else
            okof__eop_puts(&op, h, &item, 1, 60000);
        path = request_at(&op, 2.0, &body);
        CHECK(path && strcmp(path, OKOF__EP_GRANT) != 0 && strstr(body, "\"lease\":\"7587\"") != NULL);
        okof__eop_free(&op);
    }
    /* the cluster lost it: forgotten, a new one, the put again; once */
    okof__eop_put(&op, h, "k", 1, "v", 1, 0, 60000);
    CHECK(request_at(&op, 3.0, &body) != NULL);
    answer(&op, 404, NO_LEASE);
    path = request_at(&op, 3.1, &body);
    CHECK(path && strcmp(path, OKOF__EP_GRANT) == 0);
    answer(&op, 200, "{\"header\":{},\"ID\":\"99\",\"TTL\":\"63\"}");
    path = request_at(&op, 3.2, &body);
    CHECK(path && strstr(body, "\"lease\":\"99\"") != NULL);
    answer(&op, 404, NO_LEASE);
    CHECK(request_at(&op, 3.3, &body) == NULL && op.rc == -EPROTO);
    okof__eop_free(&op);
    /* a put without a ttl has no lease; a bad ttl sends nothing */
    okof__eop_put(&op, h, "k", 1, "v", 1, 0, 0);
    path = request_at(&op, 4.0, &body);
    CHECK(path && strstr(body, "lease") == NULL);
    okof__eop_free(&op);
    okof__eop_put(&op, h, "k", 1, "v", 1, 0, -1);
    CHECK(op.rc == -EINVAL && request_at(&op, 4.1, &body) == NULL);
    okof__eop_free(&op);
    okof_etcd_close(h);
}

/* Base64 of every length round trips through a range reply; a bad
 * character or length is EPROTO. */
static void test_base64(void)
{
    static const char *const cases[][2] = {
        {"", ""}, {"Zg==", "f"}, {"Zm8=", "fo"}, {"Zm9v", "foo"},
        {"Zm9vYg==", "foob"}, {"+/+/", "\xfb\xff\xbf"}};
    char body[256];
    size_t i;
    okof__erange r;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t want = strlen(cases[i][1]);
        snprintf(body, sizeof body, "{\"header\":{\"revision\":\"3\"},\"kvs\":[{\"key\":\"YQ==\",\"value\":\"%s\"}]}", cases[i][0]);
        CHECK(okof__ep_range_reply(U(body), strlen(body), &r) == 0 && r.n == 1 &&
              r.kvs[1].n == want && memcmp(r.kvs[1].p, cases[i][1], want) == 0 &&
              r.kvs[1].p[want] == 0);
        okof__ep_range_free(&r);
    }
    for (i = 0; i < 4; i++) {
        static const char *const bad[] = {"Zg=", "Z!==", "Zm9v\200AAA", "====x"};
        snprintf(body, sizeof body, "{\"header\":{\"revision\":\"3\"},\"kvs\":[{\"key\":\"YQ==\",\"value\":\"%s\"}]}", bad[i]);
        CHECK(okof__ep_range_reply(U(body), strlen(body), &r) == -EPROTO);
    }
}

/* The ttl calls on the store at url. */
static void test_store_ttl(okof_etcd_t *h)
{
    okof_kv items[2] = {{"t1", 2, "1", 1}, {"t2", 2, "2", 1}};
    int64_t ms = 0;
    size_t written = 0;
    CHECK(okof_etcd_put_ttl(h, "t", 1, "v", 1, 60000) == 0);
    CHECK(okof_etcd_ttl(h, "t", 1, &ms) == 0 && ms > 0 && ms <= 60000);
    CHECK(okof_etcd_add_ttl(h, "t", 1, "w", 1, 60000) == OKOF_EXISTS);
    CHECK(okof_etcd_put_many_ttl(h, items, 2, 60000, &written) == 0 && written == 2);
    CHECK(okof_etcd_ttl(h, "t2", 2, &ms) == 0 && ms > 0 && ms <= 60000);
    CHECK(okof_etcd_put(h, "t", 1, "v", 1) == 0);
    CHECK(okof_etcd_ttl(h, "t", 1, &ms) == 0 && ms == -1);
    CHECK(okof_etcd_ttl(h, "none", 4, &ms) == OKOF_NOTFOUND);
    CHECK(okof_etcd_put_ttl(h, "t", 1, "v", 1, -5) == -EINVAL);
    CHECK(okof_etcd_add_ttl(h, "u", 1, "v", 1, 60000) == 0);
    CHECK(okof_etcd_del(h, "u", 1) == 0 && okof_etcd_del(h, "t1", 2) == 0 &&
          okof_etcd_del(h, "t2", 2) == 0 && okof_etcd_del(h, "t", 1) == 0);
}

/* put, get, add, del, put_many and a walk on the store at url. */
static void test_store(okof_etcd_t *h)
{
    okof_kv items[3] = {{"b", 1, "2", 1}, {"a", 1, "1", 1}, {"c\xff", 2, "3", 1}};
    okof_etcd_iter_t *it = NULL;
    const char *key;
    const void *val;
    size_t klen, vlen, written = 0, n = 0;
    void *v = NULL;
    int vrc, rc;
    CHECK(okof_etcd_put(h, "k", 1, "value", 5) == 0);
    CHECK(okof_etcd_get(h, "k", 1, &v, &vlen) == 0 && vlen == 5 && memcmp(v, "value", 5) == 0);
    okof_free(v);
    CHECK(okof_etcd_add(h, "k", 1, "other", 5) == OKOF_EXISTS);
    CHECK(okof_etcd_del(h, "k", 1) == 0);
    CHECK(okof_etcd_del(h, "k", 1) == OKOF_NOTFOUND);
    CHECK(okof_etcd_get(h, "k", 1, &v, &vlen) == OKOF_NOTFOUND && v == NULL);
    CHECK(okof_etcd_add(h, "k", 1, "other", 5) == 0);
    CHECK(okof_etcd_put(h, "", 0, "x", 1) == OKOF_EBADKEY);
    CHECK(okof_etcd_put_many(h, items, 3, &written) == 0 && written == 3);
    CHECK(okof_etcd_iter_open(h, "", 0, 1, &it) == 0);
    while (it != NULL && (rc = okof_etcd_iter_next(it, &key, &klen, &val, &vlen, &vrc)) == 0) {
        static const char *const want[] = {"a", "b", "c\xff", "k"};
        CHECK(n < 4 && klen == strlen(want[n]) && memcmp(key, want[n], klen) == 0 && vrc == 0);
        n++;
    }
    CHECK(n == 4);
    okof_etcd_iter_close(it);
}

/* A handle used before fork() is used by the child, then by the parent. */
static void test_fork(okof_etcd_t *h)
{
    void *v = NULL;
    size_t vlen;
    int status = -1;
    pid_t pid;
    CHECK(okof_etcd_put(h, "parent", 6, "1", 1) == 0);
    pid = fork();
    if (pid == 0) {
        int ok = okof_etcd_put(h, "child", 5, "2", 1) == 0;
        okof_etcd_close(h);
        _exit(ok ? 0 : 1);
    }
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
          WEXITSTATUS(status) == 0);
    CHECK(okof_etcd_get(h, "child", 5, &v, &vlen) == 0 && vlen == 1);
    okof_free(v);
}

int main(void)
{
    const char *url = getenv("OKOF_ETCD_URL");
    okof_etcd_t *h = NULL;
    test_ebuf();
    test_status();
    test_replies();
    test_requests();
    test_errors();
    test_open();
    test_ops();
    test_leases();
    test_base64();
    if (url != NULL && okof_etcd_open(&h, url, NULL) == 0) {
        test_store(h);
        test_store_ttl(h);
        test_fork(h);
        okof_etcd_close(h);
    } else if (url != NULL) {
        CHECK(url == NULL); /* okof_etcd_open of OKOF_ETCD_URL failed */
    }
    printf("okof_etcd_test: %s%s\n", failures ? "FAILED" : "ok",
           url ? "" : " (no cluster: OKOF_ETCD_URL unset)");
    return failures ? 1 : 0;
}
