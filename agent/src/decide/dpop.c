/*
 * dpop.c: see dpop.h.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "b64url.h"
#include "claims.h"
#include "config-t.h"
#include "crypto.h"
#include "jwa.h"
#include "json_doc.h"
#include "jwks.h"
#include "jws.h"
#include "route.h"
#include "util.h"
#include "dpop.h"

/* Longest host (with port) compared. */
#define HOST_MAX	256

/* An authority split into a lowercase host and a port (0: default). */
struct authority {
	char host[HOST_MAX + 1];
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
	if (hl == 0 || hl > HOST_MAX)
		return (-1);
	for (size_t i = 0; i < hl; i++)
		a->host[i] = util_ascii_lower(s[i]);
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

bool
dpop_htu_matches(const char *htu, size_t len, const struct dpop_req *req)
{
	static _Thread_local char a[ROUTE_PATH_MAX + 1], b[ROUTE_PATH_MAX + 1];
	const char *end = htu + len, *p, *auth, *path;
	const char *rs = req->scheme != NULL ? req->scheme : "https";
	size_t rsl = req->scheme != NULL ? req->scheme_len : 5, pl;
	struct authority ha, ra;
	unsigned dport, rport;
	int na, nb;

	/* scheme "://" authority path: RFC 9449 §4.2, htu has no query and
	 * no fragment (the request's query is ignored). */
	if (memchr(htu, '?', len) != NULL || memchr(htu, '#', len) != NULL)
		return (false);
	if ((p = memchr(htu, ':', len)) == NULL ||
	    (dport = scheme_port(htu, (size_t)(p - htu))) == 0)
		return (false);
	if ((rport = scheme_port(rs, rsl)) != dport)
		return (false);         /* the scheme differs */
	if (end - p < 3 || p[1] != '/' || p[2] != '/')
		return (false);
	auth = p + 3;
	for (path = auth; path < end && *path != '/' && *path != '?' &&
	    *path != '#'; path++)
		;
	if (authority_parse(auth, (size_t)(path - auth), &ha) != 0 ||
	    req->host == NULL ||
	    authority_parse(req->host, req->host_len, &ra) != 0)
		return (false);
	if (ha.host_len != ra.host_len ||
	    memcmp(ha.host, ra.host, ha.host_len) != 0 ||
	    (ha.port ? ha.port : dport) != (ra.port ? ra.port : rport))
		return (false);
	for (pl = 0; path + pl < end && path[pl] != '?' && path[pl] != '#';
	    pl++)
		;
	if (pl == 0) {
		path = "/";
		pl = 1;
	}
	if (*path != '/' || req->path == NULL)
		return (false);
	na = route_normalize_path(path, pl, a, sizeof(a));
	nb = route_normalize_path(req->path, req->path_len, b, sizeof(b));
	return (na >= 0 && na == nb && memcmp(a, b, (size_t)na) == 0);
}

/* A string claim of ${p}, with its length; NULL if absent or not one. */
static const char *
str_claim(const cJSON *p, const char *name, size_t *len)
{
	const char *s = claims_string(p, name);

	*len = s != NULL ? strlen(s) : 0;
	return (s);
}

/* Check the claims of a verified proof; fill ${out}'s iat. */
static int
check_claims(const cJSON *p, const struct dpop_req *req,
    struct dpop_proof *out, const char **detail)
{
	const char *jti, *htm, *htu, *ath;
	size_t jl, ml, ul, al;
	double iat;

	if ((jti = str_claim(p, "jti", &jl)) == NULL || jl == 0 ||
	    jl > DPOP_JTI_MAX) {
		*detail = "DPoP proof: jti missing or not a string";
		return (-1);
	}
	if ((htm = str_claim(p, "htm", &ml)) == NULL ||
	    ml != req->method_len || memcmp(htm, req->method, ml) != 0) {
		*detail = "DPoP proof: htm is not the request's method";
		return (-1);
	}
	if ((htu = str_claim(p, "htu", &ul)) == NULL ||
	    !dpop_htu_matches(htu, ul, req)) {
		*detail = "DPoP proof: htu is not the request's URI";
		return (-1);
	}
	if (claims_numeric_date(cJSON_GetObjectItemCaseSensitive(p, "iat"),
	    &iat) != 0) {
		*detail = "DPoP proof: iat missing or not a NumericDate";
		return (-1);
	}
	if (iat < (double)req->now - (double)req->max_age_s ||
	    iat > (double)req->now + DPOP_FUTURE_S) {
		*detail = "DPoP proof: iat outside the accepted window";
		return (-1);
	}
	out->iat = (int64_t)iat;
	if (req->token != NULL) {
		uint8_t h[32];
		char want[44];

		ath = str_claim(p, "ath", &al);
		if (ath == NULL || crypto_sha256(req->token, req->token_len,
		    h) != 0 || b64url_encode(h, 32, want, sizeof(want)) != 43 ||
		    al != 43 || !crypto_memeq(ath, want, 43)) {
			*detail = "DPoP proof: ath is not the access token's hash";
			return (-1);
		}
	}
	/* The replay key: the same jti under another key is another proof. */
	{
		uint8_t buf[32 + DPOP_JTI_MAX];

		memcpy(buf, out->jkt, 32);
		memcpy(buf + 32, jti, jl);
		if (crypto_sha256(buf, 32 + jl, out->replay_key) != 0) {
			*detail = "out of memory";
			return (-1);
		}
	}
	return (0);
}

/*
 * The proof's header as a tree (the verifier reads only alg, kid and typ
 * of a header; a proof also carries its key, jwk): the first segment of
 * ${j}'s signing input, decoded and parsed.  NULL if it cannot be had.
 */
static cJSON *
header_tree(const struct jws *j)
{
	static const struct json_limits lim = {
		.max_depth = 4, .max_members = 32, .require_object = 1,
		.max_values = 128,
	};
	const char *dot = memchr(j->signing_input, '.', j->signing_input_len);
	uint8_t buf[DPOP_PROOF_MAX];
	ssize_t n;

	if (dot == NULL)
		return (NULL);
	n = b64url_decode(j->signing_input, (size_t)(dot - j->signing_input),
	    buf, sizeof(buf));
	if (n <= 0)
		return (NULL);
	return (json_doc_parse((const char *)buf, (size_t)n, &lim, NULL));
}

int
dpop_check(const char *proof, size_t len, const struct dpop_req *req,
    struct dpop_proof *out, const char **detail)
{
	static char *dpop_typ_v[] = { "dpop+jwt" };
	static const struct strlist dpop_typ = { dpop_typ_v, 1 };
	struct jws_limits lim = JWS_LIMITS_DEFAULT;
	struct jws j;
	struct jwk k;
	cJSON *hdr = NULL;
	const cJSON *jwk;
	enum reason r;
	const char *why = NULL;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	memset(&k, 0, sizeof(k));
	lim.max_token = DPOP_PROOF_MAX;
	if (proof == NULL || len == 0) {
		*detail = "DPoP proof missing";
		return (-1);
	}
	if (jws_parse(proof, len, &lim, &j, &r, &why) != 0) {
		*detail = "DPoP proof: not a well-formed JWT";
		return (-1);
	}
	*detail = "DPoP proof: typ is not dpop+jwt";
	if (j.typ == NULL || !jws_typ_allowed(&j, &dpop_typ))
		goto out;
	*detail = "DPoP proof: alg not allowed (asymmetric algorithms only)";
	if ((JWS_ALG_BIT(j.alg) & JWS_ALG_HMAC_MASK) != 0 ||
	    (JWS_ALG_BIT(j.alg) & req->algs) == 0)
		goto out;
	*detail = "DPoP proof: jwk header missing or not a public key";
	hdr = header_tree(&j);
	jwk = cJSON_GetObjectItemCaseSensitive(hdr, "jwk");
	if (!cJSON_IsObject(jwk) || jwks_key_from_json(jwk, &k, &why) != 0)
		goto out;
	*detail = "DPoP proof: the jwk does not allow this alg";
	if ((k.algs & JWS_ALG_BIT(j.alg)) == 0)
		goto out;
	*detail = "DPoP proof: signature invalid";
	if (crypto_verify(k.key, j.alg, (const uint8_t *)j.signing_input,
	    j.signing_input_len, j.sig, j.sig_len) != 0)
		goto out;
	*detail = "DPoP proof: jwk has no RFC 7638 thumbprint";
	if (jwks_thumbprint(jwk, out->jkt, &why) != 0)
		goto out;
	if (check_claims(j.payload, req, out, detail) != 0)
		goto out;
	*detail = NULL;
	rc = 0;
out:
	cJSON_Delete(hdr);
	keyset_key_clear(&k);
	jws_release(&j);
	return (rc);
}
