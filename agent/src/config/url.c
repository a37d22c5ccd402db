/*
 * url.c: see url.h.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "url.h"

/* The query of ${url}: [*qs, *qe), or false if it has none. */
static bool
query_span(const char *url, const char **qs, const char **qe)
{
	const char *q = strchr(url, '?'), *h = strchr(url, '#');

	if (q == NULL || (h != NULL && h < q))
		return (false);
	*qs = q + 1;
	*qe = h != NULL ? h : q + strlen(q);
	return (true);
}

const char *
url_check(const char *s, bool allow_http)
{
	const char *auth, *p;

	if (strncmp(s, "https://", 8) == 0)
		auth = s + 8;
	else if (allow_http && strncmp(s, "http://", 7) == 0)
		auth = s + 7;
	else
		return (allow_http ? "must be an http:// or https:// URL" :
		    "must be an https:// URL");
	for (p = s; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return ("URL must not contain spaces, control or "
			    "non-ASCII characters");
	p = auth + strcspn(auth, "/?#");
	if (p == auth)
		return ("URL has no host");
	if (memchr(auth, '@', (size_t)(p - auth)) != NULL)
		return ("URL must not contain credentials");
	return (NULL);
}

bool
url_has_param(const char *url, const char *name)
{
	const char *p, *end;
	size_t nlen = strlen(name);

	if (!query_span(url, &p, &end))
		return (false);
	while (p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *pe = amp != NULL ? amp : end;
		const char *eq = memchr(p, '=', (size_t)(pe - p));
		size_t klen = (size_t)((eq != NULL ? eq : pe) - p);

		if (klen == nlen && memcmp(p, name, nlen) == 0)
			return (true);
		p = amp != NULL ? amp + 1 : end;
	}
	return (false);
}

static bool
unreserved(unsigned char c)
{
	return ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	    c == '~');
}

ssize_t
url_encode(const char *in, size_t len, char *out, size_t cap)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	if (cap == 0)
		return (-1);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];

		if (unreserved(c)) {
			if (cap - o < 2)
				goto full;
			out[o++] = (char)c;
		} else {
			if (cap - o < 4)
				goto full;
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
	return ((ssize_t)o);
full:
	out[0] = '\0';
	return (-1);
}

char *
url_add_param(const char *url, const char *name, const char *value)
{
	size_t ulen = strlen(url), nlen = strlen(name), vlen = strlen(value);
	const char *hash = strchr(url, '#');
	size_t head = hash != NULL ? (size_t)(hash - url) : ulen;
	const char *q = memchr(url, '?', head);
	char enc[URL_MAX];
	ssize_t elen;
	char *out;
	size_t o = 0, need;
	char sep;

	if (url_has_param(url, name))
		return (strdup(url));
	if (ulen > URL_MAX || nlen > URL_MAX || vlen > URL_MAX)
		return (NULL);
	elen = url_encode(value, vlen, enc, sizeof(enc));
	if (elen < 0)
		return (NULL);
	/* "?" for a URL without query, "" right after the query's "?" or
	 * after a trailing "&", else "&". */
	if (q == NULL)
		sep = '?';
	else if (q == url + head - 1 || url[head - 1] == '&')
		sep = '\0';
	else
		sep = '&';
	need = ulen + (sep ? 1 : 0) + nlen + 1 + (size_t)elen;
	if (need > URL_MAX)
		return (NULL);
	out = malloc(need + 1);
	if (out == NULL)
		return (NULL);
	memcpy(out, url, head);
	o = head;
	if (sep)
		out[o++] = sep;
	memcpy(out + o, name, nlen);
	o += nlen;
	out[o++] = '=';
	memcpy(out + o, enc, (size_t)elen);
	o += (size_t)elen;
	memcpy(out + o, url + head, ulen - head);
	o += ulen - head;
	out[o] = '\0';
	return (out);
}

/* Appends for url_redact(): false once ${cap} is reached. */
struct rbuf {
	char *p;
	size_t len, cap;
	bool full;
};

static void
rput(struct rbuf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n && !b->full; i++) {
		unsigned char c = (unsigned char)s[i];

		if (b->len + 1 >= b->cap) {
			b->full = true;
			break;
		}
		b->p[b->len++] = (c >= 0x21 && c < 0x7f) ? (char)c : '?';
	}
}

static bool
public_param(const char *p, size_t len)
{
	static const char *const names[] = {
		"appid", "api-version", "resource", "client_id",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == len && memcmp(names[i], p, len) == 0)
			return (true);
	return (false);
}

char *
url_redact(const char *url, char *out, size_t cap)
{
	struct rbuf b = { out, 0, cap, false };
	const char *hash = strchr(url, '#');
	size_t ulen = hash != NULL ? (size_t)(hash - url) : strlen(url);
	const char *end = url + ulen;
	const char *q = memchr(url, '?', ulen);
	const char *pathend = q != NULL ? q : end;
	const char *auth = url, *at, *slash;
	const char *scheme = memchr(url, ':', (size_t)(pathend - url));

	if (cap < 4) {
		if (cap > 0)
			out[0] = '\0';
		return (out);
	}
	/* scheme://userinfo@host... */
	if (scheme != NULL && end - scheme >= 3 && scheme[1] == '/' &&
	    scheme[2] == '/') {
		auth = scheme + 3;
		rput(&b, url, (size_t)(auth - url));
		slash = memchr(auth, '/', (size_t)(pathend - auth));
		if (slash == NULL)
			slash = pathend;
		at = memchr(auth, '@', (size_t)(slash - auth));
		if (at != NULL) {
			rput(&b, "***@", 4);
			auth = at + 1;
		}
	}
	rput(&b, auth, (size_t)(pathend - auth));
	if (q != NULL) {
		const char *p = q + 1;

		rput(&b, "?", 1);
		while (p < end) {
			const char *amp = memchr(p, '&', (size_t)(end - p));
			const char *pe = amp != NULL ? amp : end;
			const char *eq = memchr(p, '=', (size_t)(pe - p));

			if (eq == NULL || public_param(p, (size_t)(eq - p))) {
				rput(&b, p, (size_t)(pe - p));
			} else {
				rput(&b, p, (size_t)(eq - p) + 1);
				rput(&b, "***", 3);
			}
			if (amp != NULL)
				rput(&b, "&", 1);
			p = amp != NULL ? amp + 1 : end;
		}
	}
	if (b.full) {
		b.len = cap - 4;
		memcpy(out + b.len, "...", 3);
		b.len += 3;
	}
	out[b.len] = '\0';
	return (out);
}
