/*
 * httpuri.c: see httpuri.h.
 */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "route.h"
#include "util.h"
#include "httpuri.h"

/* An authority split into a lowercase host and a port (0: default). */
struct authority {
	char host[HTTPURI_HOST_MAX + 1];
	size_t host_len;
	unsigned port;
};

/* Parse "host[:port]" or "[v6][:port]" (${n} bytes) into ${a}. */
static int
authority_parse(const char *s, size_t n, struct authority *a)
{
	const char *end = s + n, *colon = NULL;
	size_t hl;

	if (n == 0 || memchr(s, '@', n) != NULL)
		return (-1);
	if (s[0] == '[') {
		const char *rb = memchr(s, ']', n);

		if (rb == NULL)
			return (-1);
		hl = (size_t)(rb - s) + 1;
		if (rb + 1 < end) {
			if (rb[1] != ':')
				return (-1);
			colon = rb + 1;
		}
	} else {
		colon = memchr(s, ':', n);
		hl = colon != NULL ? (size_t)(colon - s) : n;
	}
	if (hl > 1 && s[hl - 1] == '.')
		hl--;                   /* "example.com." is "example.com" */
	if (hl == 0 || hl > HTTPURI_HOST_MAX)
		return (-1);
	for (size_t i = 0; i < hl; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch <= 0x20 || ch >= 0x7f)
			return (-1);
		a->host[i] = util_ascii_lower(s[i]);
	}
	a->host[hl] = '\0';
	a->host_len = hl;
	a->port = 0;
	if (colon != NULL) {
		const char *p = colon + 1;

		if (p == end)
			return (-1);
		for (; p < end; p++) {
			if (*p < '0' || *p > '9' || a->port > 6553)
				return (-1);
			a->port = a->port * 10 + (unsigned)(*p - '0');
		}
		if (a->port == 0 || a->port > 65535)
			return (-1);
	}
	return (0);
}

/* Scheme "http" or "https" (any case) of ${n} bytes: its default port. */
static unsigned
scheme_port(const char *s, size_t n)
{
	if (n == 5 && util_mem_caseeq(s, "https", 5))
		return (443);
	if (n == 4 && util_mem_caseeq(s, "http", 4))
		return (80);
	return (0);
}

unsigned
httpuri_split(const char *uri, size_t len, const char **auth,
    size_t *auth_len, const char **path, size_t *path_len)
{
	const char *end = uri + len, *p, *a, *q;
	unsigned dport;
	struct authority tmp;

	if ((p = memchr(uri, ':', len)) == NULL ||
	    (dport = scheme_port(uri, (size_t)(p - uri))) == 0)
		return (0);
	if (end - p < 3 || p[1] != '/' || p[2] != '/')
		return (0);
	a = p + 3;
	for (q = a; q < end && *q != '/' && *q != '?' && *q != '#'; q++)
		;
	if (authority_parse(a, (size_t)(q - a), &tmp) != 0)
		return (0);
	*auth = a;
	*auth_len = (size_t)(q - a);
	*path = q;
	*path_len = (size_t)(end - q);
	return (dport);
}

bool
httpuri_names(const char *uri, size_t len, const struct httpuri_req *req)
{
	static _Thread_local char a[ROUTE_PATH_MAX + 1], b[ROUTE_PATH_MAX + 1];
	const char *rs = req->scheme != NULL ? req->scheme : "https";
	size_t rsl = req->scheme != NULL ? req->scheme_len : 5, al, pl;
	const char *auth, *path;
	struct authority ha, ra;
	unsigned dport, rport;
	int na, nb;

	if (memchr(uri, '?', len) != NULL || memchr(uri, '#', len) != NULL)
		return (false);
	if ((dport = httpuri_split(uri, len, &auth, &al, &path, &pl)) == 0 ||
	    (rport = scheme_port(rs, rsl)) != dport)
		return (false);         /* not http(s), or the scheme differs */
	if (req->host == NULL || req->path == NULL ||
	    authority_parse(auth, al, &ha) != 0 ||
	    authority_parse(req->host, req->host_len, &ra) != 0)
		return (false);
	if (ha.host_len != ra.host_len ||
	    memcmp(ha.host, ra.host, ha.host_len) != 0 ||
	    (ha.port ? ha.port : dport) != (ra.port ? ra.port : rport))
		return (false);
	if (pl == 0) {
		path = "/";
		pl = 1;
	}
	na = route_normalize_path(path, pl, a, sizeof(a));
	nb = route_normalize_path(req->path, req->path_len, b, sizeof(b));
	return (na >= 0 && na == nb && memcmp(a, b, (size_t)na) == 0);
}
