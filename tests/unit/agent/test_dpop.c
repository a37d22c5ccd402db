/*
 * test_dpop.c: DPoP proofs (RFC 9449 §4.3) through dpop_check(), signed
 * with OpenSSL by testjose.h (never the agent's code), and RFC 7638
 * thumbprints recomputed here independently.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <openssl/sha.h>

#include "testsupport.h"
#include "testjose.h"

#include "dpop.h"
#include "jwa.h"

#define NOW	((int64_t)1700000000)
#define TOKEN	"eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2ln"

static struct tkey ec, ec_other, rsa;

static int
setup(void **state)
{
	(void)state;
	ec.pk = keygen("EC", "P-256", 0);
	ec_other.pk = keygen("EC", "P-256", 0);
	rsa.pk = keygen("RSA", NULL, 2048);
	return (0);
}

static int
teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(ec.pk);
	EVP_PKEY_free(ec_other.pk);
	EVP_PKEY_free(rsa.pk);
	return (0);
}

/* The public JWK of ${k} without kid, for a proof's header. */
static char *
pub_jwk(const struct tkey *k, const char *extra)
{
	char *j = jwk_of(k->pk, "x", extra);
	char *p = strstr(j, ",\"kid\":\"x\"");

	if (p == NULL)
		p = strstr(j, "\"kid\":\"x\",");
	assert_non_null(p);
	memmove(p, p + 10, strlen(p + 10) + 1);
	return (j);
}

/* base64url(SHA-256(token)) for ath. */
static const char *
ath_of(const char *tok)
{
	static char out[64];
	uint8_t h[32];

	SHA256((const uint8_t *)tok, strlen(tok), h);
	b64u(h, 32, out);
	return (out);
}

/* A proof: header typ/alg/jwk, claims as given ("" leaves one out). */
static const char *
proof(const struct tkey *signer, enum jws_alg alg, const char *typ,
    const char *alg_name, const char *jwk, const char *claims)
{
	char *h = jbuf();

	snprintf(h, 8192, "{\"typ\":\"%s\",\"alg\":\"%s\",\"jwk\":%s}", typ,
	    alg_name, jwk);
	return (mint(signer, alg, h, claims));
}

static const char *
claims_of(const char *htm, const char *htu, long long iat, const char *ath,
    const char *jti)
{
	char *p = jbuf();
	int n = snprintf(p, 8192, "{\"htm\":\"%s\",\"htu\":\"%s\",\"iat\":%lld",
	    htm, htu, iat);

	if (jti != NULL)
		n += snprintf(p + n, 8192 - (size_t)n, ",\"jti\":\"%s\"", jti);
	if (ath != NULL)
		n += snprintf(p + n, 8192 - (size_t)n, ",\"ath\":\"%s\"", ath);
	snprintf(p + n, 8192 - (size_t)n, "}");
	return (p);
}

static struct dpop_req
req(const char *token)
{
	struct dpop_req q;

	memset(&q, 0, sizeof(q));
	q.method = "POST";
	q.method_len = 4;
	q.scheme = "https";
	q.scheme_len = 5;
	q.host = "API.example.com";
	q.host_len = strlen(q.host);
	q.path = "/orders/1?x=1";
	q.path_len = strlen(q.path);
	q.token = token;
	q.token_len = token ? strlen(token) : 0;
	q.now = NOW;
	q.max_age_s = 300;
	q.algs = JWS_ALG_ASYMMETRIC_MASK;
	return (q);
}

static int
check(const char *p, const struct dpop_req *q, struct dpop_proof *out,
    const char **detail)
{
	return (dpop_check(p, strlen(p), q, out, detail));
}

#define GOOD_CLAIMS claims_of("POST", "https://api.example.com/orders/1", \
	NOW - 10, ath_of(TOKEN), "j-1")

static void
test_valid(void **state)
{
	char *jwk = pub_jwk(&ec, "");
	struct dpop_req q = req(TOKEN);
	struct dpop_proof out;
	const char *d = NULL;
	uint8_t want[32];
	char canon[512];
	uint8_t a[32], b[32];
	char xa[64], yb[64];

	(void)state;
	assert_int_equal(check(proof(&ec, JWS_ALG_ES256, "dpop+jwt", "ES256",
	    jwk, GOOD_CLAIMS), &q, &out, &d), 0);
	assert_null(d);
	assert_int_equal(out.iat, NOW - 10);
	/* RFC 7638, recomputed here. */
	bn_param(ec.pk, OSSL_PKEY_PARAM_EC_PUB_X, a, 32);
	bn_param(ec.pk, OSSL_PKEY_PARAM_EC_PUB_Y, b, 32);
	b64u(a, 32, xa);
	b64u(b, 32, yb);
	snprintf(canon, sizeof(canon), "{\"crv\":\"P-256\",\"kty\":\"EC\","
	    "\"x\":\"%s\",\"y\":\"%s\"}", xa, yb);
	SHA256((const uint8_t *)canon, strlen(canon), want);
	assert_memory_equal(out.jkt, want, 32);
	/* typ as a media type; RSA; no access token (no ath needed);
	 * default port and an unreserved escape in htu. */
	assert_int_equal(check(proof(&ec, JWS_ALG_ES256,
	    "application/dpop+jwt", "ES256", jwk, GOOD_CLAIMS), &q, &out, &d),
	    0);
	{
		char *rj = pub_jwk(&rsa, "");

		assert_int_equal(check(proof(&rsa, JWS_ALG_PS256, "dpop+jwt",
		    "PS256", rj, GOOD_CLAIMS), &q, &out, &d), 0);
		free(rj);
	}
	{
		struct dpop_req nt = req(NULL);

		assert_int_equal(check(proof(&ec, JWS_ALG_ES256, "dpop+jwt",
		    "ES256", jwk, claims_of("POST",
		    "HTTPS://api.EXAMPLE.com:443/orders/%31", NOW, NULL, "j")),
		    &nt, &out, &d), 0);
	}
	/* The same jti under another key is another replay key. */
	{
		uint8_t k1[32];
		char *jwk2 = pub_jwk(&ec_other, "");

		assert_int_equal(check(proof(&ec, JWS_ALG_ES256, "dpop+jwt",
		    "ES256", jwk, GOOD_CLAIMS), &q, &out, &d), 0);
		memcpy(k1, out.replay_key, 32);
		assert_int_equal(check(proof(&ec_other, JWS_ALG_ES256,
		    "dpop+jwt", "ES256", jwk2, GOOD_CLAIMS), &q, &out, &d), 0);
		assert_memory_not_equal(k1, out.replay_key, 32);
		free(jwk2);
	}
	free(jwk);
}

static void
test_refused(void **state)
{
	char *jwk = pub_jwk(&ec, ""), *other = pub_jwk(&ec_other, "");
	char *priv = pub_jwk(&ec, ",\"d\":\"AAAA\"");
	struct dpop_req q = req(TOKEN);
	struct dpop_proof out;
	const char *d;
	const struct {
		const char *p, *why;
	} bad[] = {
		{ proof(&ec, JWS_ALG_ES256, "JWT", "ES256", jwk, GOOD_CLAIMS),
		  "typ" },
		{ proof(&ec, JWS_ALG_ES256, "dpop+jwt", "ES256", other,
		  GOOD_CLAIMS), "signature by another key" },
		{ proof(&ec, JWS_ALG_ES256, "dpop+jwt", "ES256", priv,
		  GOOD_CLAIMS), "private key in jwk" },
		{ proof(&ec, JWS_ALG_ES256, "dpop+jwt", "RS256", jwk,
		  GOOD_CLAIMS), "alg the key does not allow" },
		{ proof(&ec, JWS_ALG_ES256, "dpop+jwt", "ES256", "\"x\"",
		  GOOD_CLAIMS), "jwk not an object" },
		{ proof(&ec, JWS_ALG_ES256, "dpop+jwt", "ES256", jwk,
		  claims_of("GET", "https://api.example.com/orders/1", NOW,
		  ath_of(TOKEN), "j")), "htm" },
		{ proof(&ec, JWS_ALG_ES256, "dpop+jwt", "ES256", jwk,
		  claims_of("POST", "https://api.example.com/orders/1?x=1",
		  NOW, ath_of(TOKEN), "j")), "htu with a query" },
		{ proof(&ec, JWS_ALG_ES256, "dpop+jwt", "ES256", jwk,
		  claims_of("POST", "https://api.example.com/orders/1#f", NOW,
		  ath_of(TOKEN), "j")), "htu with a fragment" },
		{ proof(&ec, JWS_ALG_ES256, "dpop+jwt", "ES256", jwk,
		  claims_of("POST", "https://evil.example.com/orders/1", NOW,
		  ath_of(TOKEN), "j")), "htu another host" },
		{ proof(&ec, JWS_ALG_ES256, "dpop+jwt", "ES256", jwk,
		  claims_of("POST", "http://api.example.com/orders/1", NOW,
		  ath_of(TOKEN), "j")), "htu another scheme" },
		{ proof(&ec, JWS_ALG_ES256, "dpop+jwt", "ES256", jwk,
		  claims_of("POST", "https://api.example.com:8443/orders/1",
		  NOW, ath_of(TOKEN), "j")), "htu another port" },
		{ proof(&ec, JWS_ALG_ES256, "dpop+jwt", "ES256", jwk,
		  claims_of("POST", "https://u@api.example.com/orders/1", NOW,
		  ath_of(TOKEN), "j")), "htu with userinfo" },
		{ proof(&ec, JWS_ALG_ES256, "dpop+jwt", "ES256", jwk,
		  claims_of("POST", "https://api.example.com/orders/2", NOW,
		  ath_of(TOKEN), "j")), "htu another path" },
		{ proof(&ec, JWS_ALG_ES256, "dpop+jwt", "ES256", jwk,
		  claims_of("POST", "https://api.example.com/orders/1",
		  NOW - 301, ath_of(TOKEN), "j")), "stale iat" },
		{ proof(&ec, JWS_ALG_ES256, "dpop+jwt", "ES256", jwk,
		  claims_of("POST", "https://api.example.com/orders/1",
		  NOW + 6, ath_of(TOKEN), "j")), "iat in the future" },
		{ proof(&ec, JWS_ALG_ES256, "dpop+jwt", "ES256", jwk,
		  claims_of("POST", "https://api.example.com/orders/1", NOW,
		  NULL, "j")), "ath missing" },
		{ proof(&ec, JWS_ALG_ES256, "dpop+jwt", "ES256", jwk,
		  claims_of("POST", "https://api.example.com/orders/1", NOW,
		  ath_of("another.token.x"), "j")), "ath of another token" },
		{ proof(&ec, JWS_ALG_ES256, "dpop+jwt", "ES256", jwk,
		  claims_of("POST", "https://api.example.com/orders/1", NOW,
		  ath_of(TOKEN), NULL)), "jti missing" },
		{ "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6Im5vbmUifQ.e30.", "alg none" },
		{ "not a jwt", "garbage" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		d = NULL;
		if (check(bad[i].p, &q, &out, &d) != -1 || d == NULL)
			fail_msg("case %zu (%s) passed", i, bad[i].why);
	}
	/* HS256 with a symmetric jwk: never a proof. */
	{
		struct tkey hs = { NULL, "0123456789abcdef0123456789abcdef" };

		d = NULL;
		assert_int_equal(check(proof(&hs, JWS_ALG_HS256, "dpop+jwt",
		    "HS256", "{\"kty\":\"oct\",\"k\":\"AAAA\"}", GOOD_CLAIMS),
		    &q, &out, &d), -1);
	}
	/* An alg outside the route's list. */
	q.algs = JWS_ALG_BIT(JWS_ALG_EDDSA);
	assert_int_equal(check(proof(&ec, JWS_ALG_ES256, "dpop+jwt", "ES256",
	    jwk, GOOD_CLAIMS), &q, &out, &d), -1);
	free(jwk);
	free(other);
	free(priv);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_refused),
	};

	return (cmocka_run_group_tests(tests, setup, teardown));
}
