/*
 * url.c: see url.h.  URLs are read by libcurl's own parser (curl_url()),
 * the one that fetches them, so what is checked here is what is fetched.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "url.h"

/* ${url} parsed by libcurl, or NULL (not a URL libcurl reads, or out of
 * memory; *${rc} says which, if ${rc} is not NULL). */
static CURLU *
parse(const char *url, CURLUcode *rc)
{
	CURLU *h = curl_url();
	CURLUcode r = CURLUE_OUT_OF_MEMORY;

	if (h != NULL && (r = curl_url_set(h, CURLUPART_URL, url, 0)) !=
	    CURLUE_OK) {
		curl_url_cleanup(h);
		h = NULL;
	}
	if (rc != NULL)
		*rc = r;
	return (h);
}

/* True if the URL ${h} has the part ${what}, even empty ("https://@h"). */
static bool
has_part(CURLU *h, CURLUPart what)
{
	char *v = NULL;

	if (curl_url_get(h, what, &v, 0) != CURLUE_OK)
		return (false);
	curl_free(v);
	return (true);
}

/* True if ${s} is visible ASCII only: libcurl decodes a percent-encoded
 * host ("ex%c3%a9mple", "%e2%80%8bexample", "ex%7fample") into the bytes
 * it connects to and presents the certificate check with. */
static bool
visible_ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return (false);
	return (true);
}

/* Why libcurl refused a URL, in url_check()'s words. */
static const char *
parse_error(CURLUcode rc, bool allow_http)
{
	switch (rc) {
	case CURLUE_NO_HOST:
		return ("URL has no host");
	case CURLUE_BAD_HOSTNAME:
	case CURLUE_BAD_IPV6:
		return ("URL has an invalid host");
	case CURLUE_BAD_PORT_NUMBER:
		return ("URL has an invalid port");
	case CURLUE_BAD_LOGIN:
	case CURLUE_BAD_USER:
	case CURLUE_BAD_PASSWORD:
		return ("URL must not contain credentials");
	case CURLUE_BAD_SCHEME:
	case CURLUE_UNSUPPORTED_SCHEME:
	case CURLUE_NO_SCHEME:
		return (allow_http ? "must be an http:// or https:// URL" :
		    "must be an https:// URL");
	case CURLUE_OUT_OF_MEMORY:
		return ("out of memory");
	default:
		return ("not a valid URL");
	}
}

const char *
url_check(const char *s, bool allow_http)
{
	const char *auth, *p, *why = NULL;
	char *scheme = NULL, *host = NULL, *port = NULL;
	CURLUcode rc;
	CURLU *h;

	/* The written form first: a lower-case scheme, "//" and something
	 * after it (libcurl would also read "HTTPS:", "https:/h" or
	 * "https:///h"; refusing more than it does opens no gap). */
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
	if (*auth == '/' || *auth == '\\')
		return ("URL has no host");
	/* Then what libcurl reads: the scheme, the host, and no login. */
	if ((h = parse(s, &rc)) == NULL)
		return (parse_error(rc, allow_http));
	if (curl_url_get(h, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    (strcmp(scheme, "https") != 0 &&
	    (!allow_http || strcmp(scheme, "http") != 0)))
		why = allow_http ? "must be an http:// or https:// URL" :
		    "must be an https:// URL";
	else if (has_part(h, CURLUPART_USER) ||
	    has_part(h, CURLUPART_PASSWORD) || has_part(h, CURLUPART_OPTIONS))
		why = "URL must not contain credentials";
	else if (curl_url_get(h, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    host[0] == '\0')
		why = "URL has no host";
	else if (!visible_ascii(host))
		why = "URL has an invalid host";
	else if (has_part(h, CURLUPART_ZONEID))
		why = "URL must not have an IPv6 zone id";
	else if (curl_url_get(h, CURLUPART_PORT, &port, 0) == CURLUE_OK &&
	    strcmp(port, "0") == 0)
		why = "URL has an invalid port";
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(h);
	return (why);
}

/* True if the query ${q} (${len} bytes) has a parameter named ${name}. */
static bool
query_has(const char *q, size_t len, const char *name)
{
	const char *p = q, *end = q + len;
	size_t nlen = strlen(name);

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

/* True if the URL ${h} has a query with a parameter named ${name}. */
static bool
handle_has_param(CURLU *h, const char *name)
{
	char *q = NULL;
	bool has;

	if (curl_url_get(h, CURLUPART_QUERY, &q, 0) != CURLUE_OK)
		return (false);
	has = query_has(q, strlen(q), name);
	curl_free(q);
	return (has);
}

bool
url_has_param(const char *url, const char *name)
{
	CURLU *h = parse(url, NULL);
	bool has;

	if (h == NULL)
		return (false);
	has = handle_has_param(h, name);
	curl_url_cleanup(h);
	return (has);
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
	size_t nlen = strlen(name), vlen = strlen(value);
	char *param = NULL, *built = NULL, *out = NULL;
	CURLU *h;

	if (strlen(url) > URL_MAX || nlen > URL_MAX || vlen > URL_MAX ||
	    (h = parse(url, NULL)) == NULL)
		return (NULL);
	if (handle_has_param(h, name)) {
		out = strdup(url);
		goto done;
	}
	if ((param = malloc(nlen + 1 + vlen + 1)) == NULL)
		goto done;
	memcpy(param, name, nlen);
	param[nlen] = '=';
	memcpy(param + nlen + 1, value, vlen + 1);
	/* URLENCODE: every byte but the first '=' that is not unreserved
	 * becomes %xx (a space '+'); APPENDQUERY adds the '&' if needed. */
	if (curl_url_set(h, CURLUPART_QUERY, param, CURLU_APPENDQUERY |
	    CURLU_URLENCODE) != CURLUE_OK ||
	    curl_url_get(h, CURLUPART_URL, &built, 0) != CURLUE_OK ||
	    strlen(built) > URL_MAX)
		goto done;
	out = strdup(built);
done:
	curl_free(built);
	free(param);
	curl_url_cleanup(h);
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
