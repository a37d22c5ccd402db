/*
 * statemeta.c: see statemeta.h.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "crypto.h"
#include "statemeta.h"
#include "strnum.h"

/* Year 9999: a bigger "fetched" is a broken file, not a date. */
#define FETCHED_MAX     253402300799ull
/* Bodies are bounded by fetch.max_body_bytes (at most 64 MiB). */
#define BODY_MAX        (64ull << 20)

static bool
printable(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)p[i] < 0x20 || (unsigned char)p[i] > 0x7e)
			return (false);
	return (true);
}

/*
 * The next header line at *${pp} (before ${end}), without its '\n'.  If
 * ${name} is not NULL the line must be "<name> <value>" and ${v} gets the
 * value.  Return 0 and advance *${pp}, or -1 (nothing consumed).
 */
static int
line(const char **pp, const char *end, const char *name,
    struct statemeta_str *v)
{
	const char *p = *pp, *nl;
	size_t nlen, llen;

	nl = memchr(p, '\n', (size_t)(end - p));
	if (nl == NULL)
		return (-1);
	llen = (size_t)(nl - p);
	if (name != NULL) {
		nlen = strlen(name);
		if (llen <= nlen + 1 || memcmp(p, name, nlen) != 0 ||
		    p[nlen] != ' ')
			return (-1);
		v->p = p + nlen + 1;
		v->len = llen - nlen - 1;
		if (v->len > STATEMETA_VALUE_MAX || !printable(v->p, v->len))
			return (-1);
	} else {
		v->p = p;
		v->len = llen;
	}
	*pp = nl + 1;
	return (0);
}

int
statemeta_parse(const char *buf, size_t len, struct statemeta *m,
    const char **why)
{
	const char *p = buf, *end = buf + len;
	struct statemeta_str v;
	uint64_t n;

	memset(m, 0, sizeof(*m));
	*why = "not a state file";
	if (buf == NULL || line(&p, end, NULL, &v) != 0 ||
	    !(v.len == sizeof(STATEMETA_MAGIC) - 1 &&
	    memcmp(v.p, STATEMETA_MAGIC, v.len) == 0))
		goto bad;
	*why = "bad or missing key line";
	if (line(&p, end, "key", &m->key) != 0)
		goto bad;
	*why = "bad or missing url line";
	if (line(&p, end, "url", &m->url) != 0)
		goto bad;
	*why = "bad or missing fetched line";
	if (line(&p, end, "fetched", &v) != 0 ||
	    strnum_u64(v.p, v.len, 0, FETCHED_MAX, &n) != 0)
		goto bad;
	m->fetched = (int64_t)n;
	*why = "bad etag line";
	if (end - p >= 5 && memcmp(p, "etag ", 5) == 0 &&
	    line(&p, end, "etag", &m->etag) != 0)
		goto bad;
	*why = "bad last-modified line";
	if (end - p >= 14 && memcmp(p, "last-modified ", 14) == 0 &&
	    line(&p, end, "last-modified", &m->last_modified) != 0)
		goto bad;
	*why = "bad or missing length line";
	if (line(&p, end, "length", &v) != 0 ||
	    strnum_u64(v.p, v.len, 0, BODY_MAX, &n) != 0)
		goto bad;
	*why = "no empty line after the header";
	if (p >= end || *p != '\n')
		goto bad;
	p++;
	*why = "body length does not match";
	if ((uint64_t)(end - p) != n)
		goto bad;
	m->body = p;
	m->body_len = (size_t)n;
	return (0);
bad:
	memset(m, 0, sizeof(*m));
	return (-1);
}

/* Append "name value\n"; false if it does not fit. */
static bool
put(char *out, size_t cap, size_t *o, const char *name,
    const struct statemeta_str *v)
{
	int n;

	if (*o >= cap)
		return (false);
	n = snprintf(out + *o, cap - *o, "%s %.*s\n", name, (int)v->len, v->p);
	if (n < 0 || (size_t)n >= cap - *o)
		return (false);
	*o += (size_t)n;
	return (true);
}

static bool
value_ok(const struct statemeta_str *v)
{
	return (v->p != NULL && v->len > 0 && v->len <= STATEMETA_VALUE_MAX &&
	    printable(v->p, v->len));
}

ssize_t
statemeta_format(const struct statemeta *m, char *out, size_t cap)
{
	size_t o = 0;
	int n;

	if (!value_ok(&m->key) || !value_ok(&m->url) || m->fetched < 0 ||
	    (uint64_t)m->fetched > FETCHED_MAX || m->body_len > BODY_MAX)
		return (-1);
	n = snprintf(out, cap, "%s\n", STATEMETA_MAGIC);
	if (n < 0 || (size_t)n >= cap)
		return (-1);
	o = (size_t)n;
	if (!put(out, cap, &o, "key", &m->key) ||
	    !put(out, cap, &o, "url", &m->url))
		return (-1);
	n = snprintf(out + o, cap - o, "fetched %lld\n", (long long)m->fetched);
	if (n < 0 || (size_t)n >= cap - o)
		return (-1);
	o += (size_t)n;
	if (value_ok(&m->etag) && !put(out, cap, &o, "etag", &m->etag))
		return (-1);
	if (value_ok(&m->last_modified) &&
	    !put(out, cap, &o, "last-modified", &m->last_modified))
		return (-1);
	n = snprintf(out + o, cap - o, "length %zu\n\n", m->body_len);
	if (n < 0 || (size_t)n >= cap - o)
		return (-1);
	o += (size_t)n;
	return ((ssize_t)o);
}

int
statemeta_name(const char *key, char out[STATEMETA_NAME_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	uint8_t h[32];

	if (crypto_sha256(key, strlen(key), h) != 0)
		return (-1);
	for (size_t i = 0; i < 16; i++) {
		out[2 * i] = hex[h[i] >> 4];
		out[2 * i + 1] = hex[h[i] & 15];
	}
	memcpy(out + 32, ".state", 7);
	return (0);
}
