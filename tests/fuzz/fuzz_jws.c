/*
 * fuzz_jws.c: compact JWS parsing, the Bearer header, inspect, and the
 * claim checks on whatever parses.  Invariants on success: the signing
 * input is the start of the input and ends before its last byte, the
 * signature is no longer than the input, alg is a known algorithm, kid
 * and typ are NUL-free strings of the announced length.
 *
 * An input that starts with byte 0x01 is "\x01 header-json \n payload-json
 * [\n signature-bytes]": the harness base64url-encodes the parts and parses
 * the token it builds, so that mutations reach the JSON rules (alg, crit,
 * kid, duplicates, claims) instead of dying in base64.  Any other input is
 * the token itself.
 *
 * jws_parse() checks and builds its JSON in one pass of the strict
 * tokenizer (json_doc_parse); json_strict_check() is the reference: for a
 * three-segment token whose header (or payload) decodes, the two must agree
 * on that part (a JSON reason from jws_parse is json_strict's reason for
 * it, and accepted JSON is accepted by both), and cJSON_Parse is the
 * differential oracle for the trees (equal, field for field).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "b64url.h"
#include "claims.h"
#include "json_strict.h"
#include "config.h"
#include "jwa.h"
#include "inspect.h"
#include "jws.h"
#include "reason.h"
#include "tree_diff.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
exercise_claims(const cJSON *payload)
{
	static char *aud_v[] = { "api://orders", "x" };
	static char *sc_v[] = { "Orders.Read" };
	static char *pat_v[] = { "https://login.microsoftonline.com/{tenant}/v2.0",
	    "https://sts.windows.net/{tenantid}/", "https://issuer.example" };
	static const struct strlist auds = { aud_v, 2 }, scs = { sc_v, 1 },
	    none = { NULL, 0 };
	static struct claim_value vals[] = { { CLAIM_VAL_STRING, "x", 0, false },
	    { CLAIM_VAL_NUMBER, NULL, 2, false }, { CLAIM_VAL_BOOL, NULL, 0, true } };
	static const struct claim_rule rules[] = {
		{ "cnf.x5t#S256", CLAIM_MATCH_ANY, vals, 3 },
		{ "/resource_access/my.app/roles", CLAIM_MATCH_ALL, vals, 3 },
		{ "/https:~1~1example.com~1roles", CLAIM_MATCH_PRESENT, NULL, 0 },
	};
	static char *paths_v[] = { "/realm_access/roles", "/a~0b/c~1d", "scope" };
	static const struct strlist paths = { paths_v, 3 };
	static char *tenant_v[] = { "72f988bf-86f1-41af-91ab-2d7cd011db47" };
	static const struct issuer_cfg is = { .issuer = { pat_v, 3 },
	    .tenants = { tenant_v, 1 }, .templated = true };
	char out[1024], tenant[CLAIMS_GUID_LEN + 1];
	const cJSON *cs[CLAIMS_SOURCES_MAX];
	size_t nc;
	const char *s, *iss;
	const cJSON *it;
	enum reason r;
	ssize_t n;

	(void)claims_check_time(payload, 1700000000, 60, true, 3600, &r, &s);
	(void)claims_aud_match(payload, &auds);
	(void)claims_check_types(payload, &s);
	/* The primitives token records are compiled with (fuzz_tokrec
	 * holds the records themselves to the old tree path). */
	nc = claims_words_gather(payload, CLAIMS_SCOPES, &none, cs);
	(void)claims_words_has(cs, nc, scs.v[0]);
	nc = claims_words_gather(payload, CLAIMS_ROLES, &paths, cs);
	(void)claims_words_has(cs, nc, scs.v[0]);
	for (size_t i = 0; i < ARRAY_SIZE(rules); i++) {
		const cJSON *c = claims_get(payload, rules[i].name);

		for (size_t k = 0; k < rules[i].nvalues; k++)
			(void)claims_value_has(c, &rules[i].values[k]);
	}
	n = claims_render_words(payload, CLAIMS_SCOPES, &paths, out, sizeof(out));
	if (n >= 0 && (size_t)n != strlen(out))
		abort();
	(void)claims_client_id(payload);
	if ((iss = claims_string(payload, "iss")) != NULL &&
	    claims_issuer_match(iss, strlen(iss), &is, payload,
	    tenant, sizeof(tenant)) == 0) {
		if (strlen(tenant) != 0 && strlen(tenant) != CLAIMS_GUID_LEN)
			abort();
		(void)claims_key_issuer_ok(
		    "https://login.microsoftonline.com/{tenantid}/v2.0", iss,
		    tenant);
	}
	cJSON_ArrayForEach(it, payload) {
		n = claims_render(it, out, sizeof(out));
		if (n >= 0) {
			if ((size_t)n != strlen(out))
				abort();
			for (ssize_t i = 0; i < n; i++)
				if ((unsigned char)out[i] < 0x20 ||
				    out[i] == 0x7f)
					abort();
		}
	}
}

/*
 * Whether ${p}/${n} has a run of more than 63 number bytes: cJSON's parser
 * reads at most 63 of a number and then refuses the rest.
 */
static int
long_number(const uint8_t *p, size_t n)
{
	size_t run = 0;

	for (size_t i = 0; i < n; i++) {
		if ((p[i] >= '0' && p[i] <= '9') || p[i] == '.' || p[i] == 'e' ||
		    p[i] == 'E' || p[i] == '+' || p[i] == '-') {
			if (++run > 63)
				return (1);
		} else {
			run = 0;
		}
	}
	return (0);
}

/* Decode segment ${i} (0 header, 1 payload) of ${tok} and compare. */
static void
check_tree(const char *tok, size_t len, int i, const cJSON *ours)
{
	const char *s = tok, *e;
	uint8_t *buf;
	ssize_t n;
	cJSON *ref;

	if (i == 1)
		s = (const char *)memchr(tok, '.', len) + 1;
	e = memchr(s, '.', len - (size_t)(s - tok));
	if ((buf = malloc(b64url_decoded_len((size_t)(e - s)) + 1)) == NULL)
		return;
	n = b64url_decode(s, (size_t)(e - s), buf, b64url_decoded_len(
	    (size_t)(e - s)));
	if (n < 0)
		abort();
	ref = cJSON_ParseWithLength((const char *)buf, (size_t)n);
	if (ref == NULL && !long_number(buf, (size_t)n))
		abort();	/* accepted what cJSON refuses */
	if (ref != NULL && tree_diff(ours, ref, 0) != 0)
		abort();
	cJSON_Delete(ref);
	free(buf);
}

/*
 * The JSON reason in ${detail} for the part ${prefix} ("header: "), or
 * NULL if the detail is about something else.
 */
static const char *
json_reason(const char *detail, const char *prefix)
{
	size_t pl = strlen(prefix);

	if (detail == NULL || strncmp(detail, prefix, pl) != 0 ||
	    strcmp(detail + pl, "invalid base64url") == 0)
		return (NULL);
	return (detail + pl);
}

/*
 * json_strict_check() on the decoded part ${s}/${n} with jws_parse's
 * default limits for it: 0, -1 (with *${why}), or 1 if it does not decode.
 */
static int
strict_part(const char *s, size_t n, int header, const char **why)
{
	static const struct jws_limits dl = JWS_LIMITS_DEFAULT;
	struct json_limits jl = { header ? dl.header_max_depth :
	    dl.payload_max_depth, header ? dl.header_max_members :
	    dl.payload_max_members, 1, 0, 0 };
	uint8_t *buf;
	ssize_t dn;
	int rc = 1;

	if ((buf = malloc(b64url_decoded_len(n) + 1)) == NULL)
		abort();
	dn = b64url_decode(s, n, buf, b64url_decoded_len(n));
	if (dn >= 0)
		rc = json_strict_check((const char *)buf, (size_t)dn, &jl, why);
	free(buf);
	return (rc);
}

/* jws_parse's answer ${rc}/${detail} on ${tok} against json_strict's. */
static void
cross_check_strict(const char *tok, size_t len, int rc, const char *detail)
{
	static const struct jws_limits dl = JWS_LIMITS_DEFAULT;
	const char *d1, *d2, *hw = NULL, *pw = NULL, *jr;
	int hs, ps;

	if (len == 0 || len > dl.max_token || tok[0] == '{' ||
	    (d1 = memchr(tok, '.', len)) == NULL ||
	    (d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - tok))) == NULL ||
	    memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - tok)) != NULL ||
	    d1 == tok || d2 == d1 + 1)
		return;		/* refused before any JSON is looked at */
	hs = strict_part(tok, (size_t)(d1 - tok), 1, &hw);
	ps = strict_part(d1 + 1, (size_t)(d2 - d1 - 1), 0, &pw);

	if (rc == 0 && (hs != 0 || ps != 0))
		abort();	/* accepted what json_strict refuses */
	/* The header is read first: its JSON verdict is always json_strict's. */
	jr = json_reason(detail, "header: ");
	if (hs == -1 && (rc == 0 || jr == NULL || strcmp(jr, hw) != 0))
		abort();
	if (hs != -1 && jr != NULL)
		abort();
	/* The payload only after the header and the signature pass. */
	jr = json_reason(detail, "payload: ");
	if (jr != NULL && (ps != -1 || strcmp(jr, pw) != 0))
		abort();
}

/* Build "b64(part1).b64(part2).b64(part3)" from the structured input. */
static char *
build_token(const uint8_t *data, size_t size, size_t *len)
{
	const uint8_t *p = data + 1, *end = data + size, *nl1, *nl2;
	size_t hl, pl, sl, cap, n;
	char *t;

	nl1 = memchr(p, '\n', (size_t)(end - p));
	if (nl1 == NULL)
		return (NULL);
	nl2 = memchr(nl1 + 1, '\n', (size_t)(end - nl1 - 1));
	hl = (size_t)(nl1 - p);
	pl = (size_t)((nl2 ? nl2 : end) - nl1 - 1);
	sl = nl2 ? (size_t)(end - nl2 - 1) : 0;
	cap = b64url_encoded_len(hl) + b64url_encoded_len(pl) +
	    b64url_encoded_len(sl) + 3;
	if ((t = malloc(cap)) == NULL)
		return (NULL);
	n = b64url_encode(p, hl, t, cap);
	t[n++] = '.';
	n += b64url_encode(nl1 + 1, pl, t + n, cap - n);
	t[n++] = '.';
	if (nl2 != NULL)
		n += b64url_encode(nl2 + 1, sl, t + n, cap - n);
	else
		n += b64url_encode((const uint8_t *)"sig", 3, t + n, cap - n);
	*len = n;
	return (t);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *devnull;
	const char *tok = (const char *)data, *detail = NULL, *bt;
	char *built = NULL;
	struct jws j;
	enum reason r;
	size_t btlen;
	int rc;

	if (size > 0 && data[0] == 0x01) {
		if ((built = build_token(data, size, &size)) == NULL)
			return (0);
		tok = built;
	}

	rc = jws_parse(tok, size, NULL, &j, &r, &detail);
	cross_check_strict(tok, size, rc, rc == 0 ? NULL : detail);
	if (rc == 0) {
		if (j.signing_input != tok || j.signing_input_len >= size ||
		    tok[j.signing_input_len] != '.')
			abort();
		if (j.sig == NULL || j.sig_len == 0 || j.sig_len > size)
			abort();
		if ((unsigned)j.alg >= JWS_ALG_COUNT)
			abort();
		if (j.kid != NULL && (j.kid_len == 0 ||
		    j.kid_len > JWS_KID_MAX || strlen(j.kid) != j.kid_len))
			abort();
		if (j.typ != NULL && strlen(j.typ) != j.typ_len)
			abort();
		if (!cJSON_IsObject(j.payload))
			abort();
		if ((j.kid != NULL || j.typ != NULL) != (j.hdr_text != NULL))
			abort();
		check_tree(tok, size, 1, j.payload);
		exercise_claims(j.payload);
		jws_release(&j);
	} else {
		if (detail == NULL || (r != REASON_TOKEN_MALFORMED &&
		    r != REASON_TOKEN_UNSUPPORTED_ALG))
			abort();
		if (j.hdr_text != NULL || j.payload != NULL || j.sig != NULL)
			abort();
	}

	{
		const char *st;
		size_t stlen;
		int rb = jws_bearer(tok, size, &bt, &btlen);
		int rs = jws_bearer_span(tok, size, &st, &stlen);

		if (rb == 0) {
			if (bt < tok || btlen == 0 || btlen > size ||
			    (size_t)(bt - tok) > size - btlen)
				abort();
			/* The cache's span is jws_bearer's token. */
			if (rs != 0 || st != bt || stlen != btlen)
				abort();
		}
		if ((rb == JWS_BEARER_NONE || rs != 0) && rs != rb)
			abort();
		if (rs == 0 && (st < tok || stlen == 0 ||
		    (size_t)(st - tok) > size - stlen))
			abort();
	}

	if (devnull == NULL)
		devnull = fopen("/dev/null", "w");
	if (devnull != NULL)
		(void)inspect_token_at(devnull, tok, size, 1700000000);
	free(built);
	return (0);
}
