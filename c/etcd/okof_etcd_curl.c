/* okof_etcd_curl.c -- the blocking transport of the etcd store: the
 * attempts an operation (okof_etcd_op.c) asks for, as HTTP/1.1 POSTs with
 * one libcurl easy handle kept alive per store handle (made again in a
 * child after fork), each within the time the operation gives it. */
#define _POSIX_C_SOURCE 200809L
#include "okof_etcd_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

struct okof__etx {
    CURL *curl;
    long pid;                 /* the process that made curl */
    struct curl_slist *hdrs;
    okof__ebuf reply;
    char errbuf[CURL_ERROR_SIZE];
};

void okof__etx_close(okof__etx *t)
{
    if (t == NULL)
        return;
    if (t->curl != NULL)
        curl_easy_cleanup(t->curl);
    curl_slist_free_all(t->hdrs);
    okof__ebuf_free(&t->reply);
    free(t);
}

static size_t on_data(char *p, size_t size, size_t nmemb, void *ud)
{
    return okof__ebuf_add((okof__ebuf *)ud, p, size * nmemb) ? 0 : size * nmemb;
}

/* The easy handle of this process: a child of fork() closes its copy of
 * its parent's connection (the parent's stays open) and makes its own. */
static CURL *easy(okof__etx *t)
{
    long pid = (long)getpid();
    if (t->curl != NULL && t->pid == pid)
        return t->curl;
    if (t->curl != NULL)
        curl_easy_cleanup(t->curl);
    t->curl = curl_easy_init();
    t->pid = pid;
    if (t->curl == NULL)
        return NULL;
    if (t->hdrs == NULL) {
        struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
        t->hdrs = h ? curl_slist_append(h, "Expect:") : NULL;
        if (t->hdrs == NULL) {
            curl_slist_free_all(h);
            curl_easy_cleanup(t->curl);
            t->curl = NULL;
            return NULL;
        }
    }
    if (curl_easy_setopt(t->curl, CURLOPT_NOSIGNAL, 1L) ||
        curl_easy_setopt(t->curl, CURLOPT_HTTPHEADER, t->hdrs) ||
        curl_easy_setopt(t->curl, CURLOPT_WRITEFUNCTION, on_data) ||
        curl_easy_setopt(t->curl, CURLOPT_ERRORBUFFER, t->errbuf) ||
        curl_easy_setopt(t->curl, CURLOPT_PROTOCOLS_STR, "http")) {
        curl_easy_cleanup(t->curl);
        t->curl = NULL;
    }
    return t->curl;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static enum okof__outcome from_curl(CURLcode cc)
{
    switch (cc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
        return OKOF__REFUSED;
    case CURLE_OPERATION_TIMEDOUT:
        return OKOF__TIMED_OUT;
    default:
        return OKOF__LOST;
    }
}

/* One POST of body to member's path within ms milliseconds. */
static void attempt(okof__etx *t, CURL *c, okof__eop *op, const char *member,
                    const char *path, const char *body, long ms)
{
    char url[512];
    long status = 0;
    CURLcode cc;
    t->reply.n = 0;
    t->errbuf[0] = '\0';
    snprintf(url, sizeof url, "http://%s%s", member, path);
    if (curl_easy_setopt(c, CURLOPT_URL, url) ||
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body) ||
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &t->reply) ||
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, ms) ||
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, ms)) {
        okof__eop_done(op, OKOF__REFUSED, 0, NULL, 0, "libcurl refused an option");
        return;
    }
    cc = curl_easy_perform(c);
    if (cc == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        okof__eop_done(op, OKOF__ANSWERED, status, t->reply.p, t->reply.n, NULL);
    } else {
        okof__eop_done(op, from_curl(cc), 0, NULL, 0,
                       t->errbuf[0] ? t->errbuf : curl_easy_strerror(cc));
    }
}

int okof__etcd_run(okof__eop *op)
{
    okof_etcd_t *h = op->h;
    const char *member, *path, *body;
    long ms;
    CURL *c;
    if (op->rc != OKOF__OP_BUSY)
        return op->rc;
    if (h->tx == NULL && (h->tx = (okof__etx *)calloc(1, sizeof *h->tx)) == NULL)
        return op->rc = -ENOMEM;
    if ((c = easy(h->tx)) == NULL)
        return op->rc = -ENOMEM;
    while (okof__eop_next(op, now(), &member, &path, &body, &ms))
        attempt(h->tx, c, op, member, path, body, ms);
    return op->rc;
}
