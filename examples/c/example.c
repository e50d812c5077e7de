/*
 * example.c -- a tour of the okofdb C API.
 *
 *   cc -Ic examples/c/example.c c/okof*.c -lsnappy -o build/example
 *   build/example /tmp/example-store
 *
 * Opens (and creates) a store in the directory given as the only argument,
 * writes a few keys, reads one back, lists the keys under a prefix, deletes
 * one, and shows how failures are reported. Every call returns 0 or an
 * error code; okof_strerror() and okof_errname() turn a code into text.
 */
#include <stdio.h>
#include <string.h>

#include "okof.h"

/* Report a failed call on stderr; return rc so callers can test it. */
static int report(const char *what, int rc)
{
	if (rc != 0)
		fprintf(stderr, "example: %s: %s (%s)\n", what,
		        okof_strerror(rc), okof_errname(rc));
	return rc;
}

/* Store a NUL-terminated value under a NUL-terminated key. */
static int put_str(okof_t *db, const char *key, const char *val)
{
	int rc = okof_put(db, key, strlen(key), val, strlen(val));
	if (rc == 0)
		printf("put  %-14s = %s\n", key, val);
	return report("put", rc);
}

/* Print the value of `key`, or say that there is none. */
static int show(okof_t *db, const char *key)
{
	void *val;
	size_t vlen;
	int rc = okof_get(db, key, strlen(key), &val, &vlen);

	if (rc == OKOF_NOTFOUND) {
		printf("get  %-14s -> no value\n", key);
		return 0; /* not an error: the key simply has no value */
	}
	if (rc != 0)
		return report("get", rc);
	/* The buffer is followed by a NUL, but may hold NULs itself. */
	printf("get  %-14s -> \"%.*s\" (%zu bytes)\n", key, (int)vlen,
	       (const char *)val, vlen);
	okof_free(val);
	return 0;
}

/* List the keys that begin with `prefix`, in directory order. */
static int list(okof_t *db, const char *prefix)
{
	okof_iter_t *it;
	const char *key;
	size_t klen, n = 0;
	int rc = okof_iter_open(db, prefix, strlen(prefix), &it);

	if (rc != 0)
		return report("iter_open", rc);
	printf("keys starting with \"%s\":\n", prefix);
	while ((rc = okof_iter_next(it, &key, &klen)) == 0) {
		printf("  %.*s\n", (int)klen, key);
		n++;
	}
	okof_iter_close(it);
	if (rc != OKOF_NOTFOUND) /* the end of the walk is NOTFOUND */
		return report("iter_next", rc);
	printf("  (%zu keys)\n", n);
	return 0;
}

/* Remove `key`; say whether there was a value. */
static int del(okof_t *db, const char *key)
{
	int rc = okof_del(db, key, strlen(key));

	if (rc == OKOF_NOTFOUND) {
		printf("del  %-14s -> there was no value\n", key);
		return 0;
	}
	if (rc == 0)
		printf("del  %-14s -> removed\n", key);
	return report("del", rc);
}

/* Complain about a call that did not fail the way it should have. */
static int unexpected(const char *what, int rc)
{
	fprintf(stderr, "example: %s: unexpected result %d (%s)\n", what, rc,
	        okof_errname(rc));
	return -1;
}

/* Failures are codes, not crashes: show a few of them. */
static int show_errors(okof_t *db, const char *dir)
{
	char path[4096];
	okof_t *other = NULL;
	int rc, n;

	printf("errors:\n");

	rc = okof_put(db, "", 0, "x", 1); /* keys must not be empty */
	printf("  put of an empty key: %d %s: %s\n", rc, okof_errname(rc),
	       okof_strerror(rc));
	if (rc != OKOF_EBADKEY)
		return unexpected("put of an empty key", rc);

	/* Without OKOF_CREATE a missing directory is an error (-ENOENT). */
	n = snprintf(path, sizeof path, "%s/no/such/dir", dir);
	if (n < 0 || (size_t)n >= sizeof path)
		return unexpected("directory name too long", n);
	rc = okof_open(&other, path, 0, OKOF_COMPRESS_MIN_DEFAULT);
	printf("  open without OKOF_CREATE: %d %s: %s\n", rc,
	       okof_errname(rc), okof_strerror(rc));
	if (rc == 0) {
		okof_close(other);
		return unexpected("open of a missing directory", rc);
	}
	return 0;
}

int main(int argc, char **argv)
{
	okof_t *db = NULL;
	int rc;

	if (argc != 2) {
		fprintf(stderr, "usage: %s DIRECTORY\n", argv[0]);
		return 2;
	}
	printf("%s, store in %s\n", OKOF_VERSION_STRING, argv[1]);

	/* Create the directory if needed; make every write durable. */
	rc = okof_open(&db, argv[1], OKOF_CREATE | OKOF_SYNC,
	               OKOF_COMPRESS_MIN_DEFAULT);
	if (report("open", rc) != 0)
		return 1;

	if ((rc = put_str(db, "user.alice", "Alice Liddell")) != 0 ||
	    (rc = put_str(db, "user.bob", "Bob Cratchit")) != 0 ||
	    (rc = put_str(db, "config.theme", "dark")) != 0 ||
	    (rc = show(db, "user.alice")) != 0 ||
	    (rc = show(db, "user.carol")) != 0 ||
	    (rc = list(db, "user.")) != 0 ||
	    (rc = del(db, "user.bob")) != 0 ||
	    (rc = del(db, "user.bob")) != 0 ||
	    (rc = list(db, "")) != 0 ||
	    (rc = show_errors(db, argv[1])) != 0)
		goto done;

	/* Leave the store empty, so the example can run again. */
	if ((rc = del(db, "user.alice")) != 0 ||
	    (rc = del(db, "config.theme")) != 0)
		goto done;

done:
	okof_close(db);
	printf("%s\n", rc == 0 ? "done" : "failed");
	return rc == 0 ? 0 : 1;
}
