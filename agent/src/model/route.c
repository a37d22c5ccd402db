/*
 * route.c: see route.h.
 */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "config-t.h"
#include "util.h"
#include "route.h"

/* RFC 3986 §2.3 unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~" */
static bool
is_unreserved(unsigned char c)
{
	return ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	    c == '~');
}

int
route_normalize_path(const char *in, size_t len, char *out, size_t cap)
{
	static const char hexdig[] = "0123456789ABCDEF";
	const char *q;
	size_t i = 0, o = 0;
	bool trail = false;

	if (in == NULL || out == NULL)
		return (-1);
	if ((q = memchr(in, '?', len)) != NULL)
		len = (size_t)(q - in);
	if (len == 0 || len > ROUTE_PATH_MAX || cap <= len || in[0] != '/')
		return (-1);

	/*
	 * The output is "/seg1/seg2" with no trailing slash (o == 0 for the
	 * root); ${trail} says whether a "/" ends it.  Each segment is decoded
	 * after a "/" written at out[o].  Decoding never grows a segment and o
	 * never passes the "/" just consumed, so the write index stays <= the
	 * read index, hence < cap.
	 */
	while (i < len) {
		size_t seg, w;

		while (i < len && in[i] == '/')
			i++;
		if (i == len) {
			trail = true;
			break;
		}
		out[o] = '/';
		seg = w = o + 1;
		while (i < len && in[i] != '/') {
			unsigned char c = (unsigned char)in[i];

			if (c == '%') {
				int hi, lo;
				unsigned char v;

				if (2 > len - i - 1 ||
				    (hi = util_hexval((unsigned char)in[i + 1])) < 0 ||
				    (lo = util_hexval((unsigned char)in[i + 2])) < 0)
					return (-1);
				v = (unsigned char)(hi << 4 | lo);
				if (v == '/' || v == '\\' || v == '\0' || v == ';')
					return (-1);
				if (is_unreserved(v)) {
					out[w++] = (char)v;
				} else {
					out[w++] = '%';
					out[w++] = hexdig[v >> 4];
					out[w++] = hexdig[v & 15];
				}
				i += 3;
				continue;
			}
			/* ';' starts path parameters that Java servlet
			 * containers strip per segment ("/admin;x/users" is
			 * "/admin/users" to them): refused, raw or encoded. */
			if (c < 0x20 || c == 0x7f || c == ' ' || c == '\\' ||
			    c == '#' || c == ';')
				return (-1);
			out[w++] = (char)c;
			i++;
		}
		SPOA_ASSERT(w <= i);
		if (w - seg == 1 && out[seg] == '.') {
			trail = true;
		} else if (w - seg == 2 && out[seg] == '.' &&
		    out[seg + 1] == '.') {
			if (o == 0)
				return (-1);
			while (out[--o] != '/')
				;
			trail = true;
		} else {
			o = w;
			trail = false;
		}
	}
	if (trail || o == 0)
		out[o++] = '/';
	SPOA_ASSERT(o <= len && o < cap);
	out[o] = '\0';
	return ((int)o);
}

/* Digits only (possibly none): the port part of a Host header. */
static bool
is_port(const char *p, size_t n)
{
	size_t i;

	if (n > 5)
		return (false);
	for (i = 0; i < n; i++)
		if (p[i] < '0' || p[i] > '9')
			return (false);
	return (true);
}

/*
 * The host name of a Host header value ${host}/${len}: without its port
 * (digits only), an IPv6 literal keeping its brackets, a trailing dot
 * dropped.  Return its length (> 0), or 0 if the value is not a host.
 */
static size_t
host_name_len(const char *host, size_t len)
{
	const char *colon;

	if (host == NULL || len == 0)
		return (0);
	if (host[0] == '[') {
		const char *rb = memchr(host, ']', len);
		size_t hl;

		if (rb == NULL)
			return (0);
		hl = (size_t)(rb - host) + 1;
		if (hl < len && (host[hl] != ':' ||
		    !is_port(host + hl + 1, len - hl - 1)))
			return (0);
		return (hl);
	}
	if ((colon = memchr(host, ':', len)) != NULL) {
		size_t hl = (size_t)(colon - host);

		if (!is_port(colon + 1, len - hl - 1))
			return (0);
		len = hl;
	}
	if (len > 0 && host[len - 1] == '.')
		len--;
	return (len);
}

/* ${pattern} against a host name already reduced by host_name_len(). */
static bool
host_name_match(const char *pattern, const char *host, size_t len)
{
	size_t plen;

	if (pattern == NULL)
		return (true);
	if (len == 0)
		return (false);
	plen = strlen(pattern);
	if (plen >= 2 && pattern[0] == '*' && pattern[1] == '.') {
		const char *suffix = pattern + 1;     /* ".example.com" */
		size_t slen = plen - 1;

		return (len > slen &&
		    util_mem_caseeq(host + len - slen, suffix, slen));
	}
	return (len == plen && util_mem_caseeq(host, pattern, len));
}

bool
route_host_match(const char *pattern, const char *host, size_t len)
{
	return (host_name_match(pattern, host, host_name_len(host, len)));
}

bool
route_path_match(const char *prefix, const char *path, size_t len)
{
	size_t plen = strlen(prefix);

	/* Case-insensitive, like APIM's URL templates: a stricter route on
	 * /admin must also catch /ADMIN. */
	if (plen > len || strncasecmp(prefix, path, plen) != 0)
		return (false);
	if (plen == len || prefix[plen - 1] == '/')
		return (true);
	return (path[plen] == '/');
}

static bool
method_match(const struct strlist *methods, const char *m, size_t len)
{
	size_t i;

	if (methods->n == 0)
		return (true);
	if (m == NULL || len == 0)
		return (false);
	for (i = 0; i < methods->n; i++)
		if (strlen(methods->v[i]) == len &&
		    memcmp(methods->v[i], m, len) == 0)
			return (true);
	return (false);
}

int
route_match(const struct route_cfg *routes, size_t n,
    const struct route_req *req)
{
	char path[ROUTE_PATH_MAX + 1];
	size_t i, hlen;
	int plen;

	if (req->path == NULL)
		return (ROUTE_REFUSED);
	plen = route_normalize_path(req->path, req->path_len, path,
	    sizeof(path));
	if (plen < 0)
		return (ROUTE_REFUSED);
	/* The Host value is reduced to its name once, not once per route. */
	hlen = host_name_len(req->host, req->host_len);
	for (i = 0; i < n && i < (size_t)INT32_MAX; i++) {
		const struct route_cfg *r = &routes[i];

		if (method_match(&r->methods, req->method, req->method_len) &&
		    host_name_match(r->host, req->host, hlen) &&
		    route_path_match(r->path_prefix, path, (size_t)plen))
			return ((int)i);
	}
	return (ROUTE_NONE);
}
