/*
 * dpop.c: see dpop.h.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "b64url.h"
#include "claims.h"
#include "httpuri.h"
#include "config-t.h"
#include "crypto.h"
#include "jwa.h"
#include "json_doc.h"
#include "jwks.h"
#include "jws.h"
#include "keyset.h"
#include "tokcache.h"
#include "util.h"
#include "dpop.h"

bool
dpop_htu_matches(const char *htu, size_t len, const struct dpop_req *req)
{
	const struct httpuri_req u = {
		.scheme = req->scheme, .scheme_len = req->scheme_len,
		.host = req->host, .host_len = req->host_len,
		.path = req->path, .path_len = req->path_len,
	};

	/* RFC 9449 §4.2: htu has no query and no fragment (the request's
	 * query is ignored): httpuri_names() refuses both. */
	return (httpuri_names(htu, len, &u));
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

/* Keys in the cache live until pushed out: their thumbprint is their
 * identity, they do not expire. */
#define KEY_TTL_S	(INT64_C(1) << 40)

static void
key_free(void *p)
{
	struct jwk *k = p;

	keyset_key_clear(k);
	free(k);
}

struct tokcache *
dpop_keys_new(void)
{
	return (tokcache_new(DPOP_KEYS_MAX));
}

int
dpop_check(const char *proof, size_t len, const struct dpop_req *req,
    struct dpop_proof *out, const char **detail)
{
	static char *dpop_typ_v[] = { "dpop+jwt" };
	static const struct strlist dpop_typ = { dpop_typ_v, 1 };
	struct jws_limits lim = JWS_LIMITS_DEFAULT;
	struct jws j;
	struct jwk k, *kept;
	const struct jwk *cached = NULL;
	const struct crypto_key *key;
	cJSON *hdr = NULL;
	const cJSON *jwk;
	enum reason r;
	const char *why = NULL;
	uint32_t algs;
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
	/* The key: by its RFC 7638 thumbprint from this worker's cache
	 * (the same required members are the same key), its other members
	 * checked again; else built from the jwk. */
	*detail = "DPoP proof: jwk header missing or not a public key";
	hdr = header_tree(&j);
	jwk = cJSON_GetObjectItemCaseSensitive(hdr, "jwk");
	if (!cJSON_IsObject(jwk) || jwks_thumbprint(jwk, out->jkt, &why) != 0)
		goto out;
	if (req->keys != NULL)
		cached = tokcache_get(req->keys, out->jkt, req->now);
	if (cached != NULL) {
		if (jwks_key_check(jwk, crypto_key_algs(cached->key), &algs,
		    &why) != 0)
			goto out;
		key = cached->key;
	} else {
		if (jwks_key_from_json(jwk, &k, &why) != 0)
			goto out;
		algs = k.algs;
		key = k.key;
	}
	*detail = "DPoP proof: the jwk does not allow this alg";
	if ((algs & JWS_ALG_BIT(j.alg)) == 0)
		goto out;
	*detail = "DPoP proof: signature invalid";
	if (crypto_verify(key, j.alg, (const uint8_t *)j.signing_input,
	    j.signing_input_len, j.sig, j.sig_len) != 0)
		goto out;
	if (check_claims(j.payload, req, out, detail) != 0)
		goto out;
	/* A key that verified its proof is kept (the cache owns it). */
	if (cached == NULL && req->keys != NULL &&
	    (kept = malloc(sizeof(*kept))) != NULL) {
		*kept = k;
		memset(&k, 0, sizeof(k));
		(void)tokcache_put(req->keys, out->jkt, kept,
		    req->now + KEY_TTL_S, key_free);
	}
	*detail = NULL;
	rc = 0;
out:
	cJSON_Delete(hdr);
	keyset_key_clear(&k);
	jws_release(&j);
	return (rc);
}
