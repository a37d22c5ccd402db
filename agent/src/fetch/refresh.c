/*
 * refresh.c: see refresh.h.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "refresh.h"

/* RFC 9110 §5.6.2 tchar. */
static bool
is_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z'))
		return (true);
	return (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static bool
is_ows(unsigned char c)
{
	return (c == ' ' || c == '\t');
}

/* Case-insensitive comparison of ${len} bytes with a lowercase literal. */
static bool
name_is(const char *p, size_t len, const char *lit)
{
	size_t n = strlen(lit);

	if (len != n)
		return (false);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		if (c != (unsigned char)lit[i])
			return (false);
	}
	return (true);
}

/*
 * delta-seconds (RFC 9111 §1.2.2): 1*DIGIT; an overflowing value is taken
 * as REFRESH_DELTA_MAX.  Return 0, or -1 if not all digits.
 */
static int
delta_seconds(const char *p, size_t len, uint64_t *out)
{
	uint64_t v = 0;

	if (len == 0)
		return (-1);
	for (size_t i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return (-1);
		if (v < REFRESH_DELTA_MAX)
			v = v * 10 + (uint64_t)(p[i] - '0');
	}
	*out = v > REFRESH_DELTA_MAX ? REFRESH_DELTA_MAX : v;
	return (0);
}

int
refresh_parse_cc(const char *buf, size_t len, struct refresh_cc *cc)
{
	const char *p = buf, *end = buf + len;
	unsigned n_max_age = 0;

	memset(cc, 0, sizeof(*cc));
	if (buf == NULL || len > REFRESH_CC_MAX)
		return (len == 0 ? 0 : -1);
	while (p < end) {
		const char *name, *val = NULL;
		size_t nlen, vlen = 0;
		bool quoted_escape = false;

		while (p < end && (is_ows((unsigned char)*p) || *p == ','))
			p++;
		if (p == end)
			break;
		name = p;
		while (p < end && is_tchar((unsigned char)*p))
			p++;
		nlen = (size_t)(p - name);
		if (nlen == 0)
			goto bad;
		if (p < end && *p == '=') {
			p++;
			if (p < end && *p == '"') {
				p++;
				val = p;
				while (p < end && *p != '"') {
					unsigned char c = (unsigned char)*p;

					if (c == '\\') {
						quoted_escape = true;
						if (end - p < 2)
							goto bad;
						c = (unsigned char)p[1];
						if (c != '\t' && (c < 0x20 || c == 0x7f))
							goto bad;
						p += 2;
						continue;
					}
					if (c != '\t' && (c < 0x20 || c == 0x7f))
						goto bad;
					p++;
				}
				if (p == end)
					goto bad;
				vlen = (size_t)(p - val);
				p++;            /* closing quote */
			} else {
				val = p;
				while (p < end && is_tchar((unsigned char)*p))
					p++;
				vlen = (size_t)(p - val);
				if (vlen == 0)
					goto bad;
			}
		}
		while (p < end && is_ows((unsigned char)*p))
			p++;
		if (p < end && *p != ',')
			goto bad;

		if (name_is(name, nlen, "max-age")) {
			uint64_t v;

			n_max_age++;
			if (val == NULL || quoted_escape ||
			    delta_seconds(val, vlen, &v) != 0) {
				cc->stale = true;
			} else {
				cc->max_age = v;
			}
		} else if (name_is(name, nlen, "no-cache") ||
		    name_is(name, nlen, "no-store")) {
			cc->stale = true;
		}
	}
	if (n_max_age > 1)
		cc->stale = true;       /* RFC 9111 §4.2.1: consider it stale */
	cc->has_max_age = n_max_age == 1 && !cc->stale;
	if (!cc->has_max_age)
		cc->max_age = 0;
	return (0);
bad:
	memset(cc, 0, sizeof(*cc));
	return (-1);
}

uint32_t
refresh_interval(const struct refresh_cc *cc, uint32_t min_s, uint32_t max_s,
    uint32_t rnd)
{
	uint64_t v, j;

	if (min_s > max_s)
		min_s = max_s;
	if (cc == NULL || (!cc->has_max_age && !cc->stale))
		v = REFRESH_DEFAULT_S;
	else if (cc->stale)
		v = 0;
	else
		v = cc->max_age;
	if (v < min_s)
		v = min_s;
	if (v > max_s)
		v = max_s;
	/* Up to 10 % earlier, never below the floor. */
	j = v * (uint64_t)(rnd % 1001u) / 10000u;
	v -= j;
	if (v < min_s)
		v = min_s;
	return ((uint32_t)v);
}

double
refresh_backoff(unsigned failures, uint32_t cap_s, uint32_t rnd)
{
	uint64_t d = REFRESH_BACKOFF_BASE_S;

	if (failures == 0)
		failures = 1;
	if (cap_s == 0)
		cap_s = 1;
	for (unsigned i = 1; i < failures && d < cap_s; i++)
		d *= 2;
	if (d > cap_s)
		d = cap_s;
	return ((double)d / 2.0 + ((double)d / 2.0) *
	    ((double)rnd / 4294967296.0));
}
