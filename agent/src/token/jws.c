/*
 * jws.c: see jws.h.
 */
#include <ctype.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "b64url.h"
#include "claims.h"
#include "config-t.h"
#include "json_doc.h"
#include "json_strict.h"
#include "jwa.h"
#include "reason.h"
#include "util.h"
#include "jws.h"

/* json_strict reasons, plain and prefixed with the part they were found in. */
static const char *const jws_json_plain[] = {
#define X_PLAIN(id, text) text,
	JSON_STRICT_REASONS(X_PLAIN)
#undef X_PLAIN
};
static const char *const jws_json_header[] = {
#define X_HDR(id, text) "header: " text,
	JSON_STRICT_REASONS(X_HDR)
#undef X_HDR
};
static const char *const jws_json_payload[] = {
#define X_PAY(id, text) "payload: " text,
	JSON_STRICT_REASONS(X_PAY)
#undef X_PAY
};

static const char *
json_detail(const char *why, int in_header)
{
	for (size_t i = 0; i < ARRAY_SIZE(jws_json_plain); i++)
		if (why != NULL && strcmp(why, jws_json_plain[i]) == 0)
			return (in_header ? jws_json_header[i] :
			    jws_json_payload[i]);
	return (in_header ? "header: invalid JSON" : "payload: invalid JSON");
}

/* RFC 7235 token68 characters before the '=' tail (ASCII, any locale).
 * Only jws_bearer() scans with it (inspect); requests take
 * jws_bearer_span() and jws_parse(). */
static const uint8_t token68[256] = {
	['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1,
	['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1,
	['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1,
	['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1,
	['Y'] = 1, ['Z'] = 1,
	['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1,
	['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1,
	['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1,
	['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1,
	['y'] = 1, ['z'] = 1,
	['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1,
	['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1,
	['-'] = 1, ['.'] = 1, ['_'] = 1, ['~'] = 1, ['+'] = 1, ['/'] = 1,
};

/* The end of the run of token68 characters starting at ${p}. */
static const char *
token68_span(const char *p, const char *end)
{
	while (p < end && token68[(unsigned char)*p])
		p++;
	return (p);
}

/*
 * The scheme part of jws_bearer(): return 0 and set *${rest} to the first
 * byte after "Bearer" and its spaces, or a JWS_BEARER_* answer.
 */
static int
bearer_scheme(const char *authz, size_t len, const char **rest)
{
	const char *p, *end;

	if (authz == NULL || len == 0)
		return (JWS_BEARER_NONE);
	p = authz;
	end = authz + len;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if ((size_t)(end - p) < 6 || strncasecmp(p, "Bearer", 6) != 0)
		return (JWS_BEARER_NONE);
	p += 6;
	if (p == end) {
		/* "Bearer" and nothing else. */
		return (JWS_BEARER_MALFORMED);
	}
	if (*p != ' ') {
		/* "Bearerx ...": another scheme; "Bearer\t...": malformed. */
		return (*p == '\t' ? JWS_BEARER_MALFORMED : JWS_BEARER_NONE);
	}
	while (p < end && *p == ' ')
		p++;
	*rest = p;
	return (0);
}

int
jws_bearer(const char *authz, size_t len, const char **tok, size_t *tok_len)
{
	const char *p, *end = authz + len, *t;
	int r;

	if ((r = bearer_scheme(authz, len, &p)) != 0)
		return (r);
	t = p;
	p = token68_span(p, end);
	if (p == t)
		return (JWS_BEARER_MALFORMED);
	while (p < end && *p == '=')
		p++;
	*tok_len = (size_t)(p - t);
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p != end)
		return (JWS_BEARER_MALFORMED);
	*tok = t;
	return (0);
}

int
jws_bearer_span(const char *authz, size_t len, const char **tok,
    size_t *tok_len)
{
	const char *p, *end = authz + len;
	int r;

	if ((r = bearer_scheme(authz, len, &p)) != 0)
		return (r);
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (end == p)
		return (JWS_BEARER_MALFORMED);
	*tok = p;
	*tok_len = (size_t)(end - p);
	return (0);
}

void
jws_release(struct jws *j)
{
	if (j == NULL)
		return;
	free(j->hdr_text);
	cJSON_Delete(j->payload);       /* before the text it points into */
	free(j->payload_text);
	free(j->sig);
	memset(j, 0, sizeof(*j));
}

/*
 * Decode segment ${seg}/${seglen} into ${buf} (${cap} bytes), then check
 * it and build its tree in one pass of the strict tokenizer (json_doc.h),
 * its names and strings in one block returned in *${text}.  Return the
 * tree or NULL with *${detail} set.  (The payload's; the header is read
 * without a tree, read_header().)
 */
static cJSON *
decode_json_part(const char *seg, size_t seglen, uint8_t *buf, size_t cap,
    unsigned max_depth, unsigned max_members, int in_header,
    const char **detail, char **text)
{
	const struct json_limits lim = { max_depth, max_members, 1, 0, 0 };
	struct json_error err;
	ssize_t n;
	cJSON *tree;

	n = b64url_decode(seg, seglen, buf, cap);
	if (n < 0) {
		*detail = in_header ? "header: invalid base64url" :
		    "payload: invalid base64url";
		return (NULL);
	}
	if ((tree = json_doc_parse_ref((const char *)buf, (size_t)n, &lim,
	    &err, text)) == NULL) {
		*detail = json_detail(err.why, in_header);
		return (NULL);
	}
	return (tree);
}

/* ---- the header, read from the tokenizer's events ---------------------- */

#define HDR_ALG_MAX	16	/* longer than any name jwa_parse() knows */
#define HDR_TYP_INLINE	64

/*
 * What jws_parse() needs from the header, taken from the strict
 * tokenizer's events as they go by (no tree: the header is read once and
 * dropped).  Kinds: 0 absent, JSON_EV_STRING, or -1 for any other type.
 * Duplicates never reach here (the tokenizer refuses them).
 */
struct hdr_read {
	int alg_kind, kid_kind, typ_kind;
	bool crit, b64, enc, zip;
	size_t alg_len, kid_len, typ_len;
	char alg[HDR_ALG_MAX + 1];	/* cut at HDR_ALG_MAX (alg_len is whole) */
	char kid[JWS_KID_MAX + 1];	/* if kid_len <= JWS_KID_MAX */
	char typ_inline[HDR_TYP_INLINE];
	char *typ;			/* typ_inline, or malloc'd if longer */
};

#define KEY_IS(ev, lit)	((ev)->key_len == sizeof(lit) - 1 &&		\
	memcmp((ev)->key, (lit), sizeof(lit) - 1) == 0)

/* A json_event_fn: the header's top-level members that matter. */
static const char *
hdr_event(void *arg, const struct json_event *ev)
{
	struct hdr_read *h = arg;
	int kind;

	if (ev->depth != 1 || ev->key == NULL)
		return (NULL);
	kind = ev->type == JSON_EV_STRING ? JSON_EV_STRING : -1;
	if (KEY_IS(ev, "alg")) {
		h->alg_kind = kind;
		if (kind == JSON_EV_STRING) {
			h->alg_len = ev->len;
			memcpy(h->alg, ev->str, ev->len < HDR_ALG_MAX ? ev->len :
			    HDR_ALG_MAX);
			h->alg[ev->len < HDR_ALG_MAX ? ev->len : HDR_ALG_MAX] =
			    '\0';
		}
	} else if (KEY_IS(ev, "kid")) {
		h->kid_kind = kind;
		if (kind == JSON_EV_STRING) {
			h->kid_len = ev->len;
			if (ev->len <= JWS_KID_MAX)
				memcpy(h->kid, ev->str, ev->len + 1);
		}
	} else if (KEY_IS(ev, "typ")) {
		h->typ_kind = kind;
		if (kind == JSON_EV_STRING) {
			h->typ_len = ev->len;
			if (ev->len < sizeof(h->typ_inline))
				h->typ = h->typ_inline;
			else if ((h->typ = malloc(ev->len + 1)) == NULL)
				return ("out of memory");
			memcpy(h->typ, ev->str, ev->len + 1);
		}
	} else if (KEY_IS(ev, "crit")) {
		h->crit = true;
	} else if (KEY_IS(ev, "b64")) {
		h->b64 = true;
	} else if (KEY_IS(ev, "enc")) {
		h->enc = true;
	} else if (KEY_IS(ev, "zip")) {
		h->zip = true;
	}
	return (NULL);
}

#undef KEY_IS

/*
 * Check and read the decoded header ${buf}/${n} into ${h} (zeroed by the
 * caller) in one pass of the strict tokenizer.  0, or -1 with *${detail}.
 */
static int
read_header(const uint8_t *buf, size_t n, const struct jws_limits *lim,
    struct hdr_read *h, const char **detail)
{
	const struct json_limits jl = { lim->header_max_depth,
	    lim->header_max_members, 1, 0, 0 };
	struct json_error err;

	if (json_strict_parse((const char *)buf, n, &jl, hdr_event, h,
	    &err) != 0) {
		*detail = json_detail(err.why, 1);
		return (-1);
	}
	return (0);
}

/* Header rules once "alg" is known good; see jws.h.  Fills kid and typ. */
static int
check_header(struct jws *out, const struct hdr_read *h, const char **detail)
{
	char *t;

	if (h->crit) {
		*detail = "crit header is not supported";
		return (-1);
	}
	if (h->b64) {
		*detail = "b64 header is not supported";
		return (-1);
	}
	if (h->enc) {
		*detail = "enc header: JWE is not supported";
		return (-1);
	}
	if (h->zip) {
		*detail = "zip header is not supported";
		return (-1);
	}
	if (h->kid_kind < 0) {
		*detail = "kid is not a string";
		return (-1);
	}
	if (h->kid_kind != 0 && (h->kid_len == 0 || h->kid_len > JWS_KID_MAX)) {
		*detail = "kid length out of range";
		return (-1);
	}
	if (h->typ_kind < 0) {
		*detail = "typ is not a string";
		return (-1);
	}
	if (h->kid_kind == 0 && h->typ_kind == 0)
		return (0);
	/* One block for both: kid, NUL, typ, NUL. */
	if ((t = malloc(h->kid_len + h->typ_len + 2)) == NULL) {
		*detail = "out of memory";
		return (-1);
	}
	out->hdr_text = t;
	if (h->kid_kind != 0) {
		memcpy(t, h->kid, h->kid_len + 1);
		out->kid = t;
		out->kid_len = h->kid_len;
	}
	t += h->kid_len + 1;
	if (h->typ_kind != 0) {
		memcpy(t, h->typ, h->typ_len + 1);
		out->typ = t;
		out->typ_len = h->typ_len;
	}
	return (0);
}

int
jws_parse(const char *tok, size_t len, const struct jws_limits *lim,
    struct jws *out, enum reason *reason, const char **detail)
{
	static const struct jws_limits deflim = JWS_LIMITS_DEFAULT;
	const char *dots[2] = { NULL, NULL }, *dummy, *sseg;
	size_t ndots = 0, hlen, plen, slen, cap;
	uint8_t *buf = NULL;
	struct hdr_read h;
	ssize_t n;
	int a;

	if (detail == NULL)
		detail = &dummy;
	memset(out, 0, sizeof(*out));
	memset(&h, 0, sizeof(h));
	*reason = REASON_TOKEN_MALFORMED;
	if (lim == NULL)
		lim = &deflim;

	if (len == 0) {
		*detail = "empty token";
		goto fail;
	}
	if (len > lim->max_token) {
		*detail = "token too long";
		goto fail;
	}
	if (tok[0] == '{') {
		*detail = "JWS JSON serialization is not supported";
		goto fail;
	}
	/* memchr: this runs over every token that is not in the cache. */
	for (const char *q = tok, *end = tok + len, *dot;
	    q < end && (dot = memchr(q, '.', (size_t)(end - q))) != NULL;
	    q = dot + 1) {
		if (ndots < 2)
			dots[ndots] = dot;
		ndots++;
	}
	if (ndots == 4) {
		*detail = "five segments: JWE is not supported";
		goto fail;
	}
	if (ndots != 2) {
		*detail = "token does not have three segments";
		goto fail;
	}
	hlen = (size_t)(dots[0] - tok);
	plen = (size_t)(dots[1] - dots[0] - 1);
	sseg = dots[1] + 1;
	slen = (size_t)(tok + len - sseg);
	if (hlen == 0) {
		*detail = "header segment is empty";
		goto fail;
	}
	if (plen == 0 && !lim->payload_opaque) {
		*detail = "payload segment is empty";
		goto fail;
	}

	cap = b64url_decoded_len(hlen > plen ? hlen : plen);
	if ((buf = malloc(cap + 1)) == NULL) {
		*detail = "out of memory";
		goto fail;
	}

	/* Header first: alg decides before anything else is looked at. */
	if ((n = b64url_decode(tok, hlen, buf, cap)) < 0) {
		*detail = "header: invalid base64url";
		goto fail;
	}
	if (read_header(buf, (size_t)n, lim, &h, detail) != 0)
		goto fail;
	if (h.alg_kind == 0) {
		*detail = "alg missing";
		goto fail;
	}
	if (h.alg_kind < 0) {
		*detail = "alg is not a string";
		goto fail;
	}
	a = h.alg_len > HDR_ALG_MAX ? -1 : jwa_parse(h.alg, h.alg_len);
	if (a < 0) {
		*reason = REASON_TOKEN_UNSUPPORTED_ALG;
		*detail = h.alg_len == 4 && strcasecmp(h.alg, "none") == 0 ?
		    "alg none is never accepted" : "alg not supported";
		goto fail;
	}
	out->alg = (enum jws_alg)a;
	if (check_header(out, &h, detail) != 0)
		goto fail;

	/* Signature: present and canonical; its length is the verifier's. */
	if (slen == 0) {
		*detail = "signature segment is empty";
		goto fail;
	}
	if ((out->sig = malloc(b64url_decoded_len(slen) + 1)) == NULL) {
		*detail = "out of memory";
		goto fail;
	}
	n = b64url_decode(sseg, slen, out->sig, b64url_decoded_len(slen));
	if (n <= 0) {
		*detail = "signature: invalid base64url";
		goto fail;
	}
	out->sig_len = (size_t)n;

	if (lim->payload_opaque) {
		/* Octets, not JSON (tests of the JWS layer only, see jws.h). */
		if (b64url_decode(dots[0] + 1, plen, buf, cap) < 0) {
			*detail = "payload: invalid base64url";
			goto fail;
		}
	} else {
		out->payload = decode_json_part(dots[0] + 1, plen, buf, cap,
		    lim->payload_max_depth, lim->payload_max_members, 0,
		    detail, &out->payload_text);
		if (out->payload == NULL)
			goto fail;
	}

	out->signing_input = tok;
	out->signing_input_len = (size_t)(dots[1] - tok);
	*reason = REASON_OK;
	*detail = NULL;
	if (h.typ != h.typ_inline)
		free(h.typ);
	free(buf);
	return (0);

fail:
	if (h.typ != h.typ_inline)
		free(h.typ);
	free(buf);
	jws_release(out);
	return (-1);
}

/* Compare typ values ignoring case and an "application/" prefix. */
static bool
typ_equal(const char *a, size_t alen, const char *b, size_t blen)
{
	static const char app[] = "application/";
	size_t applen = sizeof(app) - 1;

	if (alen > applen && strncasecmp(a, app, applen) == 0) {
		a += applen;
		alen -= applen;
	}
	if (blen > applen && strncasecmp(b, app, applen) == 0) {
		b += applen;
		blen -= applen;
	}
	return (alen == blen && strncasecmp(a, b, alen) == 0);
}

bool
jws_typ_allowed(const struct jws *j, const struct strlist *allowed)
{
	if (allowed == NULL || allowed->n == 0)
		return (true);
	if (j->typ == NULL)
		return (false);
	for (size_t i = 0; i < allowed->n; i++)
		if (typ_equal(j->typ, j->typ_len, allowed->v[i],
		    strlen(allowed->v[i])))
			return (true);
	return (false);
}
