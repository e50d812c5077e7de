/* okof_etcd_curl.c -- the blocking transport of the etcd store: HTTP/1.1
 * POSTs with one libcurl easy handle kept alive per store handle (made
 * again in a child after fork), failover from member to member within one
 * deadline. */
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
    size_t n, cur;            /* members; the last that answered */
    char errbuf[CURL_ERROR_SIZE];
    char *members[1];         /* n "HOST:PORT" strings follow */
};

/* What one member's attempt came to. */
enum outcome { ANSWERED, REFUSED, UNAVAILABLE, TIMED_OUT, LOST };

int okof__etx_open(okof__etx **tp, const char *const *members, size_t n)
{
    okof__etx *t;
    size_t i;
    if (n == 0)
        return -EINVAL;
    t = (okof__etx *)calloc(1, sizeof *t + n * sizeof t->members[0]);
    if (t == NULL)
        return -ENOMEM;
    t->n = n;
    for (i = 0; i < n; i++)
        if ((t->members[i] = strdup(members[i])) == NULL) {
            okof__etx_close(t);
            return -ENOMEM;
        }
    *tp = t;
    return 0;
}

void okof__etx_close(okof__etx *t)
{
    size_t i;
    if (t == NULL)
        return;
    if (t->curl != NULL)
        curl_easy_cleanup(t->curl);
    curl_slist_free_all(t->hdrs);
    for (i = 0; i < t->n; i++)
        free(t->members[i]);
    free(t);
}

static size_t on_data(char *p, size_t size, size_t nmemb, void *ud)
{
    return okof__ebuf_add((okof__ebuf *)ud, p, nmemb) ? 0 : size * nmemb;
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

/* Append "HOST:PORT: text" to msg, after a "; " when it holds some. */
static void note(char *msg, size_t cap, const char *member, const char *text)
{
    size_t len = strlen(msg);
    if (len + 1 < cap)
        snprintf(msg + len, cap - len, "%s%s: %s", len ? "; " : "", member,
                 text);
}

static enum outcome from_curl(CURLcode cc)
{
    switch (cc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
        return REFUSED;
    case CURLE_OPERATION_TIMEDOUT:
        return TIMED_OUT;
    default:
        return LOST;
    }
}

/* One POST to member i within ms milliseconds. *rc: the reply's code. */
static enum outcome attempt(okof__etx *t, CURL *c, size_t i, const char *path,
                            const char *body, long ms, okof__ebuf *reply,
                            int *rc, char *msg, size_t cap)
{
    char url[512], said[OKOF__ETCD_MSG];
    enum okof__ep_next next;
    long status = 0;
    CURLcode cc;
    reply->n = 0;
    t->errbuf[0] = '\0';
    snprintf(url, sizeof url, "http://%s%s", t->members[i], path);
    if (curl_easy_setopt(c, CURLOPT_URL, url) ||
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body) ||
        curl_easy_setopt(c, CURLOPT_WRITEDATA, reply) ||
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, ms) ||
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, ms))
        return *rc = -ENOMEM, ANSWERED;
    cc = curl_easy_perform(c);
    if (cc == CURLE_WRITE_ERROR || cc == CURLE_OUT_OF_MEMORY)
        return *rc = -ENOMEM, ANSWERED;
    if (cc != CURLE_OK) {
        note(msg, cap, t->members[i], t->errbuf[0] ? t->errbuf : curl_easy_strerror(cc));
        return from_curl(cc);
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    *rc = okof__ep_status(status, reply->p, reply->n, &next, said, sizeof said);
    if (*rc != 0)
        note(msg, cap, t->members[i], said);
    if (next == OKOF__EP_OTHER)
        return UNAVAILABLE;
    return next == OKOF__EP_MAYBE ? TIMED_OUT : ANSWERED;
}

/* The code of a call whose every attempt failed. */
static int give_up(int timed_out, int unavailable)
{
    if (timed_out)
        return -ETIMEDOUT;
    return unavailable ? OKOF_EUNAVAILABLE : -ECONNREFUSED;
}

int okof__etx_call(okof__etx *t, const char *path, const char *body,
                   int retry, double timeout, okof__ebuf *reply, char *msg,
                   size_t msgcap)
{
    double deadline = now() + timeout;
    int timed_out = 0, unavailable = 0, rc = 0;
    size_t k;
    CURL *c = easy(t);
    msg[0] = '\0';
    if (c == NULL)
        return -ENOMEM;
    for (k = 0; k < t->n; k++) {
        size_t i = (t->cur + k) % t->n;
        double left = deadline - now();
        long ms = (long)(left * 1000 / (double)(t->n - k));
        enum outcome out;
        if (left <= 0.0) {
            timed_out = 1;
            break;
        }
        out = attempt(t, c, i, path, body, ms > 0 ? ms : 1, reply, &rc, msg, msgcap);
        if (out == ANSWERED) {
            t->cur = i;
            return rc;
        }
        timed_out |= out == TIMED_OUT || out == LOST;
        unavailable |= out == UNAVAILABLE;
        if (retry == OKOF__ETX_ONCE && (out == TIMED_OUT || out == LOST))
            break;
    }
    return give_up(timed_out, unavailable);
}
