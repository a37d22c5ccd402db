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
	jws_tree_free(j->header);
	jws_tree_free(j->payload);
	free(j->sig);
	memset(j, 0, sizeof(*j));
}

/* The member ${name} of object ${obj}, matched case-sensitively. */
static const cJSON *
member(const cJSON *obj, const char *name)
{
	return (cJSON_GetObjectItemCaseSensitive(obj, name));
}

void
jws_tree_free(struct cJSON *tree)
{
	cJSON_Delete(tree);
}

/*
 * Decode segment ${seg}/${seglen} into ${buf} (${cap} bytes), then check
 * it and build its tree in one pass of the strict tokenizer (json_doc.h).
 * Return the tree or NULL with *${detail} set.
 */
static cJSON *
decode_json_part(const char *seg, size_t seglen, uint8_t *buf, size_t cap,
    unsigned max_depth, unsigned max_members, int in_header,
    const char **detail)
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
	if ((tree = json_doc_parse((const char *)buf, (size_t)n, &lim,
	    &err)) == NULL) {
		*detail = json_detail(err.why, in_header);
		return (NULL);
	}
	return (tree);
}

/* Header rules once "alg" is known good; see jws.h. */
static int
check_header(struct jws *out, const char **detail)
{
	const cJSON *h = out->header, *it;

	if (member(h, "crit") != NULL) {
		*detail = "crit header is not supported";
		return (-1);
	}
	if (member(h, "b64") != NULL) {
		*detail = "b64 header is not supported";
		return (-1);
	}
	if (member(h, "enc") != NULL) {
		*detail = "enc header: JWE is not supported";
		return (-1);
	}
	if (member(h, "zip") != NULL) {
		*detail = "zip header is not supported";
		return (-1);
	}
	if ((it = member(h, "kid")) != NULL) {
		if (!cJSON_IsString(it) || it->valuestring == NULL) {
			*detail = "kid is not a string";
			return (-1);
		}
		out->kid = it->valuestring;
		out->kid_len = strlen(it->valuestring);
		if (out->kid_len == 0 || out->kid_len > JWS_KID_MAX) {
			*detail = "kid length out of range";
			return (-1);
		}
	}
	if ((it = member(h, "typ")) != NULL) {
		if (!cJSON_IsString(it) || it->valuestring == NULL) {
			*detail = "typ is not a string";
			return (-1);
		}
		out->typ = it->valuestring;
		out->typ_len = strlen(it->valuestring);
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
	const cJSON *alg;
	ssize_t n;
	int a;

	if (detail == NULL)
		detail = &dummy;
	memset(out, 0, sizeof(*out));
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
	out->header = decode_json_part(tok, hlen, buf, cap,
	    lim->header_max_depth, lim->header_max_members, 1, detail);
	if (out->header == NULL)
		goto fail;
	alg = member(out->header, "alg");
	if (alg == NULL) {
		*detail = "alg missing";
		goto fail;
	}
	if (!cJSON_IsString(alg) || alg->valuestring == NULL) {
		*detail = "alg is not a string";
		goto fail;
	}
	a = jwa_parse(alg->valuestring, strlen(alg->valuestring));
	if (a < 0) {
		*reason = REASON_TOKEN_UNSUPPORTED_ALG;
		*detail = strcasecmp(alg->valuestring, "none") == 0 ?
		    "alg none is never accepted" : "alg not supported";
		goto fail;
	}
	out->alg = (enum jws_alg)a;
	if (check_header(out, detail) != 0)
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
		    detail);
		if (out->payload == NULL)
			goto fail;
	}

	out->signing_input = tok;
	out->signing_input_len = (size_t)(dots[1] - tok);
	*reason = REASON_OK;
	*detail = NULL;
	free(buf);
	return (0);

fail:
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
