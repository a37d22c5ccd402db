/*
 * test_dpop.c: DPoP proofs (RFC 9449 §4.3) through dpop_check(), signed
 * with OpenSSL by testjose.h (never the agent's code), and RFC 7638
 * thumbprints recomputed here independently.  Then what routes make of
 * them through decide() (pop.c): the DPoP scheme, binding, replays, the
 * challenges, protected resource metadata (RFC 9728) and the route's
 * resource as an audience (RFC 8707), and the config keys that set them.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "testsupport.h"
#include "testjose.h"

#include <cjson/cJSON.h>

#include "config.h"
#include "decide.h"
#include "dpop.h"
#include "facts.h"
#include "jwa.h"
#include "loader.h"
#include "pop.h"
#include "reason.h"
#include "snapshot.h"
#include "stats.h"
#include "tokcache.h"
#include "util.h"
#include "verdict.h"

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

/* Proof keys kept by thumbprint: built once, their members checked and
 * every signature verified each time. */
static void
test_key_cache(void **state)
{
	struct tokcache *keys = dpop_keys_new();
	char *jwk = pub_jwk(&ec, ""), *priv = pub_jwk(&ec, ",\"d\":\"AAAA\"");
	char *alg384 = pub_jwk(&ec, ",\"alg\":\"ES384\"");
	char *other = pub_jwk(&ec_other, "");
	struct dpop_req q = req(TOKEN);
	struct dpop_proof out;
	const char *d;
	char *p;

	(void)state;
	assert_non_null(keys);
	q.keys = keys;
	/* A proof whose signature fails: its key is not kept. */
	assert_int_equal(check(proof(&ec_other, JWS_ALG_ES256, "dpop+jwt",
	    "ES256", jwk, GOOD_CLAIMS), &q, &out, &d), -1);
	assert_int_equal(tokcache_count(keys), 0);
	assert_int_equal(check(proof(&ec, JWS_ALG_ES256, "dpop+jwt", "ES256",
	    jwk, GOOD_CLAIMS), &q, &out, &d), 0);
	assert_int_equal(tokcache_count(keys), 1);
	/* Found again: the same answer, the same thumbprint. */
	{
		uint8_t jkt[32];

		memcpy(jkt, out.jkt, 32);
		assert_int_equal(check(proof(&ec, JWS_ALG_ES256, "dpop+jwt",
		    "ES256", jwk, GOOD_CLAIMS), &q, &out, &d), 0);
		assert_memory_equal(jkt, out.jkt, 32);
		assert_int_equal(tokcache_count(keys), 1);
	}
	/* The same key material (thumbprint) with a private member, or an
	 * alg member the proof's alg is not: refused though cached. */
	assert_int_equal(check(proof(&ec, JWS_ALG_ES256, "dpop+jwt", "ES256",
	    priv, GOOD_CLAIMS), &q, &out, &d), -1);
	assert_int_equal(check(proof(&ec, JWS_ALG_ES256, "dpop+jwt", "ES256",
	    alg384, GOOD_CLAIMS), &q, &out, &d), -1);
	/* A cached key's proof signed by someone else: refused. */
	p = strdup(proof(&ec_other, JWS_ALG_ES256, "dpop+jwt", "ES256", jwk,
	    GOOD_CLAIMS));
	assert_int_equal(check(p, &q, &out, &d), -1);
	assert_string_equal(d, "DPoP proof: signature invalid");
	free(p);
	/* Another key: a second entry. */
	assert_int_equal(check(proof(&ec_other, JWS_ALG_ES256, "dpop+jwt",
	    "ES256", other, GOOD_CLAIMS), &q, &out, &d), 0);
	assert_int_equal(tokcache_count(keys), 2);
	free(jwk);
	free(priv);
	free(alg384);
	free(other);
	tokcache_free(keys);
}

/* ---- routes: decide() with DPoP, resources, metadata (pop.c) ----------- */

#define SECRET	"a secret of at least 32 bytes for the test issuer"
#define ORIGIN	"https://api.example.com"
#define WK	"/.well-known/oauth-protected-resource"
#define ROUTES_CFG							\
    "{\"listen\": [\"127.0.0.1:1\"],\n"					\
    " \"issuers\": [{\"name\": \"hs\", \"issuer\": \"https://hs.example\",\n" \
    "   \"algorithms\": [\"HS256\"], \"hmac_secret_env\": \"SPOA_TEST_DPOP\",\n" \
    "   \"audiences\": [\"api://x\"]}],\n"				\
    " \"routes\": [\n"							\
    "  {\"name\": \"req\", \"path_prefix\": \"/req\", \"require\": \"jwt\",\n" \
    "   \"dpop\": \"required\", \"dpop_max_age_s\": 60,\n"		\
    "   \"resource\": \"" ORIGIN "/req\", \"scopes_any\": [\"read\"]},\n" \
    "  {\"name\": \"opt\", \"path_prefix\": \"/opt\", \"require\": \"jwt\",\n" \
    "   \"dpop\": \"allowed\"},\n"					\
    "  {\"name\": \"off\", \"path_prefix\": \"/off\", \"require\": \"jwt\"},\n" \
    "  {\"name\": \"res\", \"path_prefix\": \"/res\", \"require\": \"jwt\",\n" \
    "   \"resource\": \"" ORIGIN "/res\"}]}\n"

static struct tkey hs = { NULL, SECRET };
static struct verdict V;
static struct agent_stats STATS;

static struct snapshot *
routes_snap(void)
{
	struct config_errors errs = { NULL, 0 };
	struct config *cfg = NULL;
	struct snapshot *s = NULL;
	const char *text = ROUTES_CFG;

	assert_int_equal(setenv("SPOA_TEST_DPOP", SECRET, 1), 0);
	if (config_parse(text, strlen(text), NULL, &cfg, &errs) != 0 ||
	    loader_build(cfg, NULL, &s, &errs) != 0) {
		for (size_t i = 0; i < errs.n; i++)
			fprintf(stderr, "config: %s\n", errs.v[i]);
		fail_msg("config refused");
	}
	config_errors_free(&errs);
	return (s);
}

/* An access token (HS256) with ${extra} claims, copied. */
static char *
access_token(const char *extra)
{
	char *p = jbuf();

	snprintf(p, 8192, "{\"iss\":\"https://hs.example\",\"aud\":\"api://x\","
	    "\"sub\":\"alice\",\"scp\":\"read\",\"exp\":%lld%s}",
	    (long long)NOW + 600, extra);
	return (strdup(mint(&hs, JWS_ALG_HS256,
	    "{\"alg\":\"HS256\",\"typ\":\"JWT\"}", p)));
}

/* ",\"cnf\":{\"jkt\":<thumbprint of ${k}>}" */
static const char *
cnf_of(const struct tkey *k)
{
	char b[64], *out = jbuf();

	ec_jkt(k, b);
	snprintf(out, 8192, ",\"cnf\":{\"jkt\":\"%s\"}", b);
	return (out);
}

/* A proof by ${k} for ${method} ${ORIGIN}${path} and ${tok}, copied. */
static char *
proof_for(const struct tkey *k, const char *method, const char *path,
    const char *tok, const char *jti, long long iat)
{
	char htu[512];

	snprintf(htu, sizeof(htu), ORIGIN "%s", path);
	return (es256_proof(k, method, htu, tok, jti, iat));
}

struct rq {
	const char *method, *path, *authz, *dpop, *host, *scheme;
	int64_t dpop_count;             /* 0: 1 when dpop is set */
};

/* decide() for ${q} with the caches of one worker. */
static enum decide_outcome
run_q(struct snapshot *s, const struct rq *q, struct tokcache *tc,
    struct tokcache *replay)
{
	struct facts f;
	struct decide_env env;

	memset(&f, 0, sizeof(f));
#define SL(field, v) do { if ((v) != NULL) { f.field.ptr = (v); \
	f.field.len = strlen(v); } } while (0)
	SL(method, q->method ? q->method : "GET");
	SL(host, q->host ? q->host : "api.example.com");
	SL(path, q->path);
	SL(authz, q->authz);
	SL(dpop, q->dpop);
	SL(scheme, q->scheme ? q->scheme : "https");
#undef SL
	f.dpop_count = q->dpop_count != 0 ? q->dpop_count : q->dpop != NULL;
	memset(&env, 0, sizeof(env));
	env.now = NOW;
	env.tokcache = tc;
	env.dpop_replay = replay;
	env.stats = &STATS;
	return (decide(&f, s, &env, &V));
}

#define EXPECT(r) do {							\
	if (V.reason != (r))						\
		fail_msg("line %d: got %s (%s), want %s", __LINE__,	\
		    reason_name(V.reason), V.detail ? V.detail : "-",	\
		    reason_name(r));					\
} while (0)

/* "${scheme} ${tok}", in one of four buffers of its own (jbuf() turns
 * over with every proof minted). */
static char *
authz(const char *scheme, const char *tok)
{
	static char bufs[4][8192];
	static int i;
	char *a = bufs[i++ % 4];

	snprintf(a, 8192, "%s %s", scheme, tok);
	return (a);
}

static void
test_route_valid_and_replay(void **state)
{
	struct snapshot *s = routes_snap();
	struct tokcache *tc = tokcache_new(64), *rp = tokcache_new(64),
	    *rp2 = tokcache_new(64);
	char *tok = access_token(cnf_of(&ec));
	char *p1 = proof_for(&ec, "GET", "/req/a", tok, "j1", NOW - 5);
	char *p2 = proof_for(&ec, "GET", "/req/a", tok, "j2", NOW);
	struct rq q = { .path = "/req/a", .authz = authz("DPoP", tok),
	    .dpop = p1 };
	uint64_t hits;

	(void)state;
	run_q(s, &q, tc, rp);
	EXPECT(REASON_OK);
	assert_string_equal(V.www_authenticate, "");
	assert_non_null(verdict_get(&V, "sub"));
	/* RFC 9449 §11.1: the same proof again, on the same worker. */
	run_q(s, &q, tc, rp);
	EXPECT(REASON_DPOP_REPLAYED);
	assert_int_equal(V.status, 401);
	/* Another worker has its own cache (README: multi-node). */
	run_q(s, &q, tc, rp2);
	EXPECT(REASON_OK);
	/* A new proof for the same token: a token cache hit, a proof
	 * verified again. */
	hits = STATS.token_cache_hits;
	q.dpop = p2;
	run_q(s, &q, tc, rp);
	EXPECT(REASON_OK);
	assert_int_equal(STATS.token_cache_hits, hits + 1);
	/* The scheme's name in any case (RFC 9110 §11.1). */
	free(p2);
	p2 = proof_for(&ec, "GET", "/req/a", tok, "j3", NOW);
	q.dpop = p2;
	q.authz = authz("dpop", tok);
	run_q(s, &q, tc, rp);
	EXPECT(REASON_OK);
	/* Once its iat leaves the window, the entry is gone and the iat
	 * check refuses the proof. */
	assert_int_equal(tokcache_count(rp), 3);
	{
		struct dpop_req dq = req(tok);
		struct dpop_proof pf;
		const char *d;

		dq.method = "GET";
		dq.method_len = 3;
		dq.path = "/req/a";
		dq.path_len = 6;
		dq.max_age_s = 60;
		assert_int_equal(dpop_check(p1, strlen(p1), &dq, &pf, &d), 0);
		assert_non_null(tokcache_get(rp, pf.replay_key, NOW - 5 + 60));
		assert_null(tokcache_get(rp, pf.replay_key, NOW - 5 + 61));
	}
	free(tok);
	free(p1);
	free(p2);
	tokcache_free(tc);
	tokcache_free(rp);
	tokcache_free(rp2);
	snapshot_unref(s);
}

static void
test_route_binding(void **state)
{
	struct snapshot *s = routes_snap();
	struct tokcache *rp = tokcache_new(64);
	char *bound_other = access_token(cnf_of(&ec_other));
	char *unbound = access_token("");
	char *bad_jkt = access_token(",\"cnf\":{\"jkt\":\"not-a-thumbprint\"}");
	char *num_jkt = access_token(",\"cnf\":{\"jkt\":7}");
	char *bound = access_token(cnf_of(&ec));
	const struct {
		const char *path, *scheme, *tok;
		enum reason want;
	} cases[] = {
		{ "/req/b1", "DPoP", bound_other, REASON_DPOP_BINDING_MISMATCH },
		{ "/req/b2", "DPoP", unbound, REASON_DPOP_BINDING_MISMATCH },
		{ "/req/b3", "DPoP", bad_jkt, REASON_DPOP_BINDING_MISMATCH },
		{ "/req/b4", "DPoP", num_jkt, REASON_TOKEN_MALFORMED },
		{ "/opt/b5", "Bearer", bound, REASON_DPOP_BINDING_MISMATCH },
		{ "/off/b6", "Bearer", bound, REASON_DPOP_BINDING_MISMATCH },
		{ "/opt/b7", "Bearer", unbound, REASON_OK },
		{ "/opt/b8", "DPoP", bound, REASON_OK },
		{ "/off/b9", "Bearer", unbound, REASON_OK },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char jti[16];
		char *p;
		struct rq q = { .path = cases[i].path };

		snprintf(jti, sizeof(jti), "b%zu", i);
		p = proof_for(&ec, "GET", cases[i].path, cases[i].tok, jti, NOW);
		q.authz = authz(cases[i].scheme, cases[i].tok);
		q.dpop = p;
		run_q(s, &q, NULL, rp);
		if (V.reason != cases[i].want)
			fail_msg("case %zu (%s): got %s (%s), want %s", i,
			    cases[i].path, reason_name(V.reason),
			    V.detail ? V.detail : "-",
			    reason_name(cases[i].want));
		free(p);
	}
	free(bound_other);
	free(unbound);
	free(bad_jkt);
	free(num_jkt);
	free(bound);
	tokcache_free(rp);
	snapshot_unref(s);
}

static void
test_route_scheme(void **state)
{
	struct snapshot *s = routes_snap();
	struct tokcache *rp = tokcache_new(64);
	char *tok = access_token(cnf_of(&ec));
	char *p = proof_for(&ec, "GET", "/req/s", tok, "s1", NOW);
	char *p_off = proof_for(&ec, "GET", "/off/s", tok, "s2", NOW);
	struct rq q = { .path = "/req/s", .dpop = p };

	(void)state;
	/* Bearer on a required route, with or without a proof. */
	q.authz = authz("Bearer", tok);
	run_q(s, &q, NULL, rp);
	EXPECT(REASON_DPOP_INVALID);
	/* DPoP and nothing after it. */
	q.authz = "DPoP   ";
	run_q(s, &q, NULL, rp);
	EXPECT(REASON_TOKEN_MALFORMED);
	/* Two DPoP headers; a count HAProxy did not send; no proof. */
	q.authz = authz("DPoP", tok);
	q.dpop_count = 2;
	run_q(s, &q, NULL, rp);
	EXPECT(REASON_DPOP_INVALID);
	q.dpop_count = -1;
	run_q(s, &q, NULL, rp);
	EXPECT(REASON_DPOP_INVALID);
	q.dpop_count = 0;
	q.dpop = NULL;
	run_q(s, &q, NULL, rp);
	EXPECT(REASON_DPOP_INVALID);
	/* The proof names the request: another method, http, another
	 * host. */
	q.dpop = p;
	q.method = "POST";
	run_q(s, &q, NULL, rp);
	EXPECT(REASON_DPOP_INVALID);
	q.method = NULL;
	q.scheme = "http";
	run_q(s, &q, NULL, rp);
	EXPECT(REASON_DPOP_INVALID);
	q.scheme = NULL;
	q.host = "api.example.com:8443";
	run_q(s, &q, NULL, rp);
	EXPECT(REASON_DPOP_INVALID);
	q.host = "API.example.com:443";
	run_q(s, &q, NULL, rp);
	EXPECT(REASON_OK);
	/* dpop off: the DPoP scheme is no credential. */
	q.path = "/off/s";
	q.dpop = p_off;
	run_q(s, &q, NULL, rp);
	EXPECT(REASON_TOKEN_MISSING);
	free(tok);
	free(p);
	free(p_off);
	tokcache_free(rp);
	snapshot_unref(s);
}

#define ALGS	"algs=\"RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 " \
		"ES512 EdDSA\""
#define RM(p)	"resource_metadata=\"" ORIGIN WK p "\""

static void
test_route_challenges(void **state)
{
	struct snapshot *s = routes_snap();
	char *tok = access_token(cnf_of(&ec)), *unbound = access_token("");
	struct rq q = { .path = "/req/c" };
	const struct verdict_var *rm;

	(void)state;
	run_q(s, &q, NULL, NULL);
	EXPECT(REASON_TOKEN_MISSING);
	assert_string_equal(V.www_authenticate, "DPoP realm=\"spoa-iam\", "
	    ALGS ", " RM("/req"));
	rm = verdict_get(&V, "resource_metadata");
	assert_non_null(rm);
	assert_int_equal(rm->len, strlen(ORIGIN WK "/req"));
	assert_memory_equal(rm->val, ORIGIN WK "/req", rm->len);
	q.authz = authz("Bearer", tok);
	run_q(s, &q, NULL, NULL);
	assert_string_equal(V.www_authenticate, "DPoP realm=\"spoa-iam\", "
	    "error=\"invalid_dpop_proof\", error_description=\"this route "
	    "requires DPoP: Authorization: DPoP and a proof\", " ALGS ", "
	    RM("/req"));
	/* allowed: both schemes, the error on the one used. */
	q.path = "/opt/c";
	q.authz = NULL;
	run_q(s, &q, NULL, NULL);
	assert_string_equal(V.www_authenticate, "Bearer realm=\"spoa-iam\", "
	    "DPoP realm=\"spoa-iam\", " ALGS);
	assert_null(verdict_get(&V, "resource_metadata"));
	q.authz = authz("DPoP", unbound);
	run_q(s, &q, NULL, NULL);
	EXPECT(REASON_DPOP_INVALID);
	assert_string_equal(V.www_authenticate, "Bearer realm=\"spoa-iam\", "
	    "DPoP realm=\"spoa-iam\", error=\"invalid_dpop_proof\", "
	    "error_description=\"no DPoP proof\", " ALGS);
	q.authz = authz("Bearer", tok);
	run_q(s, &q, NULL, NULL);
	EXPECT(REASON_DPOP_BINDING_MISMATCH);
	assert_string_equal(V.www_authenticate, "Bearer realm=\"spoa-iam\", "
	    "error=\"invalid_token\", error_description=\"a DPoP-bound token "
	    "sent as a Bearer token\", DPoP realm=\"spoa-iam\", " ALGS);
	/* off and no resource: as before; resource only: Bearer with it. */
	q.path = "/off/c";
	q.authz = NULL;
	run_q(s, &q, NULL, NULL);
	assert_string_equal(V.www_authenticate, "Bearer realm=\"spoa-iam\"");
	q.path = "/res/c";
	run_q(s, &q, NULL, NULL);
	assert_string_equal(V.www_authenticate, "Bearer realm=\"spoa-iam\", "
	    RM("/res"));
	/* A 403 (a DPoP request without the route's scope) carries no
	 * resource_metadata. */
	{
		struct tokcache *rp = tokcache_new(8);
		char *p = jbuf(), *noscope, *pf;

		snprintf(p, 8192, "{\"iss\":\"https://hs.example\",\"aud\":"
		    "\"api://x\",\"sub\":\"a\",\"exp\":%lld%s}",
		    (long long)NOW + 600, cnf_of(&ec));
		noscope = strdup(mint(&hs, JWS_ALG_HS256,
		    "{\"alg\":\"HS256\",\"typ\":\"JWT\"}", p));
		pf = proof_for(&ec, "GET", "/req/c", noscope, "c1", NOW);
		q.path = "/req/c";
		q.authz = authz("DPoP", noscope);
		q.dpop = pf;
		q.dpop_count = 1;
		run_q(s, &q, NULL, rp);
		EXPECT(REASON_SCOPE_MISSING);
		assert_int_equal(V.status, 403);
		assert_null(verdict_get(&V, "resource_metadata"));
		assert_null(strstr(V.www_authenticate, "resource_metadata"));
		free(noscope);
		free(pf);
		tokcache_free(rp);
	}
	free(tok);
	free(unbound);
	snapshot_unref(s);
}

static void
test_metadata(void **state)
{
	struct snapshot *s = routes_snap();
	const struct route_cfg *rt = &snapshot_config(s)->routes[0];
	struct rq q = { .path = WK "/req" };
	const struct verdict_var *b;
	cJSON *doc, *a;

	(void)state;
	assert_string_equal(rt->metadata_url, ORIGIN WK "/req");
	run_q(s, &q, NULL, NULL);
	EXPECT(REASON_OK);
	assert_true(V.allow);
	assert_string_equal(V.route, "req");
	b = verdict_get(&V, "body");
	assert_non_null(b);
	doc = cJSON_ParseWithLength(b->val, b->len);
	assert_non_null(doc);
	assert_string_equal(cJSON_GetObjectItem(doc, "resource")->valuestring,
	    ORIGIN "/req");
	a = cJSON_GetObjectItem(doc, "authorization_servers");
	assert_int_equal(cJSON_GetArraySize(a), 1);
	assert_string_equal(cJSON_GetArrayItem(a, 0)->valuestring,
	    "https://hs.example");
	a = cJSON_GetObjectItem(doc, "scopes_supported");
	assert_string_equal(cJSON_GetArrayItem(a, 0)->valuestring, "read");
	a = cJSON_GetObjectItem(doc, "dpop_signing_alg_values_supported");
	assert_int_equal(cJSON_GetArraySize(a), 10);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(doc,
	    "dpop_bound_access_tokens_required")));
	a = cJSON_GetObjectItem(doc, "bearer_methods_supported");
	assert_string_equal(cJSON_GetArrayItem(a, 0)->valuestring, "header");
	cJSON_Delete(doc);
	/* HEAD, an explicit default port, a query: the same document. */
	q.method = "HEAD";
	q.host = "API.EXAMPLE.COM:443";
	q.path = WK "/req?x=1";
	run_q(s, &q, NULL, NULL);
	assert_non_null(verdict_get(&V, "body"));
	/* Not metadata: POST, another host or port, http, another path. */
	{
		const struct rq no[] = {
			{ .method = "POST", .path = WK "/req" },
			{ .host = "other.example", .path = WK "/req" },
			{ .host = "api.example.com:8443", .path = WK "/req" },
			{ .scheme = "http", .path = WK "/req" },
			{ .path = WK "/req/more" },
			{ .path = WK },
			{ .path = WK "/off" },
			{ .path = "/req" WK },
		};

		for (size_t i = 0; i < ARRAY_SIZE(no); i++) {
			run_q(s, &no[i], NULL, NULL);
			if (verdict_get(&V, "body") != NULL)
				fail_msg("case %zu answered with metadata", i);
		}
	}
	snapshot_unref(s);
}

static void
test_resource_audience(void **state)
{
	struct snapshot *s = routes_snap();
	struct tokcache *tc = tokcache_new(64);
	char *tok;
	struct rq q = { .path = "/res/a" };
	uint64_t hits;

	(void)state;
	/* aud: the route's resource only, not the issuer's audience. */
	{
		char *p = jbuf();

		snprintf(p, 8192, "{\"iss\":\"https://hs.example\",\"aud\":"
		    "\"" ORIGIN "/res\",\"sub\":\"bob\",\"exp\":%lld}",
		    (long long)NOW + 600);
		tok = strdup(mint(&hs, JWS_ALG_HS256,
		    "{\"alg\":\"HS256\",\"typ\":\"JWT\"}", p));
	}
	q.authz = authz("Bearer", tok);
	run_q(s, &q, tc, NULL);
	EXPECT(REASON_OK);
	hits = STATS.token_cache_hits;
	run_q(s, &q, tc, NULL);
	EXPECT(REASON_OK);
	assert_int_equal(STATS.token_cache_hits, hits + 1);
	/* Cached for that resource only: a route without it verifies the
	 * token and refuses its audience, hit or not. */
	q.path = "/off/a";
	run_q(s, &q, tc, NULL);
	EXPECT(REASON_AUDIENCE_MISMATCH);
	run_q(s, &q, NULL, NULL);
	EXPECT(REASON_AUDIENCE_MISMATCH);
	q.path = "/opt/a";
	run_q(s, &q, tc, NULL);
	EXPECT(REASON_AUDIENCE_MISMATCH);
	/* Another resource: refused too. */
	q.path = "/req/a";
	q.authz = authz("DPoP", tok);
	run_q(s, &q, tc, NULL);
	assert_int_not_equal(V.reason, REASON_OK);
	free(tok);
	tokcache_free(tc);
	snapshot_unref(s);
}

static void
test_replay_bounded(void **state)
{
	struct snapshot *s = routes_snap();
	struct tokcache *rp = tokcache_new(8);
	char *tok = access_token(cnf_of(&ec));
	char *first = NULL;
	struct rq q = { .path = "/req/r", .authz = authz("DPoP", tok) };

	(void)state;
	for (int i = 0; i < 40; i++) {
		char jti[16];
		char *p;

		snprintf(jti, sizeof(jti), "r%d", i);
		p = proof_for(&ec, "GET", "/req/r", tok, jti, NOW);
		q.dpop = p;
		run_q(s, &q, NULL, rp);
		EXPECT(REASON_OK);
		if (first == NULL)
			first = p;
		else
			free(p);
	}
	/* Bounded, the oldest forgotten and counted. */
	assert_true(tokcache_count(rp) <= 8);
	assert_true(tokcache_evictions(rp) >= 32);
	q.dpop = first;
	run_q(s, &q, NULL, rp);
	EXPECT(REASON_OK);              /* forgotten: a known limit */
	free(first);
	free(tok);
	tokcache_free(rp);
	snapshot_unref(s);
}

/* A route document with ${route} members, parsed: 0 or -1 with the first
 * error containing ${want}. */
static void
cfg_case(const char *route, const char *want)
{
	char text[4096];
	struct config_errors errs = { NULL, 0 };
	struct config *cfg = NULL;
	int rc;

	snprintf(text, sizeof(text), "{\"listen\": [\"127.0.0.1:1\"],"
	    "\"issuers\": [{\"name\": \"e\", \"issuer\": \"https://login.example/"
	    "{tenant}/v2.0\", \"tenants\": [\"11111111-2222-3333-4444-"
	    "555555555555\"], \"jwks_file\": \"/nonexistent\","
	    "\"audiences\": [\"a\"]}],"
	    "\"routes\": [{\"name\": \"r\", %s}]}", route);
	rc = config_parse(text, strlen(text), NULL, &cfg, &errs);
	if (want == NULL) {
		if (rc != 0)
			fail_msg("%s: refused: %s", route, errs.n ? errs.v[0] :
			    "-");
	} else {
		bool found = false;

		for (size_t i = 0; i < errs.n; i++)
			found = found || strstr(errs.v[i], want) != NULL;
		if (rc == 0 || !found)
			fail_msg("%s: want an error with \"%s\" (%s)", route,
			    want, errs.n ? errs.v[0] : "accepted");
	}
	config_errors_free(&errs);
	config_free(cfg);
}

static void
test_config_keys(void **state)
{
	static const struct {
		const char *res, *url;
	} urls[] = {
		{ "https://h.example", "https://h.example" WK },
		{ "https://h.example/", "https://h.example" WK },
		{ "https://h.example:8443/a/b", "https://h.example:8443" WK "/a/b" },
		{ "https://[::1]/x", "https://[::1]" WK "/x" },
	};
	char route[512];

	(void)state;
	cfg_case("\"require\": \"jwt\", \"dpop\": \"required\", "
	    "\"dpop_max_age_s\": 30, \"resource\": \"https://a.example/x\", "
	    "\"resource_documentation\": \"https://docs.example\"", NULL);
	cfg_case("\"require\": \"jwt\", \"dpop\": \"maybe\"", "off, allowed, "
	    "required");
	cfg_case("\"require\": \"jwt\", \"dpop\": true", "dpop");
	cfg_case("\"require\": \"jwt\", \"dpop_max_age_s\": 0", "1 to 86400");
	cfg_case("\"require\": \"jwt\", \"dpop_max_age_s\": 1.5", "integer");
	cfg_case("\"require\": \"none\", \"dpop\": \"allowed\"",
	    "only allowed when require is jwt");
	cfg_case("\"require\": \"mtls\", \"resource\": \"https://a.example\"",
	    "only allowed when require is jwt");
	cfg_case("\"require\": \"jwt\", \"resource\": \"http://a.example\"",
	    "https");
	cfg_case("\"require\": \"jwt\", \"resource\": \"https://a.example/?q\"",
	    "no query and no fragment");
	cfg_case("\"require\": \"jwt\", \"resource\": \"https://a.example/#f\"",
	    "no query and no fragment");
	cfg_case("\"require\": \"jwt\", \"resource\": \"https://u@a.example/\"",
	    "resource");
	cfg_case("\"require\": \"jwt\", \"resource\": \"urn:x\"", "resource");
	cfg_case("\"require\": \"jwt\", \"resource_documentation\": "
	    "\"https://d.example\"", "needs resource");
	for (size_t i = 0; i < ARRAY_SIZE(urls); i++) {
		struct config_errors errs = { NULL, 0 };
		struct config *cfg = NULL;
		char text[1024];
		cJSON *doc;

		snprintf(route, sizeof(route), "\"require\": \"jwt\", "
		    "\"resource\": \"%s\"", urls[i].res);
		snprintf(text, sizeof(text), "{\"listen\": [\"127.0.0.1:1\"],"
		    "\"issuers\": [{\"name\": \"e\", \"issuer\": "
		    "\"https://login.example/{tenant}/v2.0\", \"tenants\": "
		    "[\"11111111-2222-3333-4444-555555555555\"], \"jwks_file\": "
		    "\"/nonexistent\", \"audiences\": [\"a\"]}],"
		    "\"routes\": [{\"name\": \"r\", %s}]}", route);
		assert_int_equal(config_parse(text, strlen(text), NULL, &cfg,
		    &errs), 0);
		assert_string_equal(cfg->routes[0].metadata_url, urls[i].url);
		doc = cJSON_Parse(cfg->routes[0].metadata_doc);
		assert_non_null(doc);
		assert_string_equal(cJSON_GetObjectItem(doc,
		    "resource")->valuestring, urls[i].res);
		/* A template issuer: once per tenant of its list. */
		assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(doc,
		    "authorization_servers"), 0)->valuestring,
		    "https://login.example/11111111-2222-3333-4444-555555555555"
		    "/v2.0");
		assert_null(cJSON_GetObjectItem(doc,
		    "dpop_signing_alg_values_supported"));
		cJSON_Delete(doc);
		config_free(cfg);
		config_errors_free(&errs);
	}
}


int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_key_cache),
		cmocka_unit_test(test_route_valid_and_replay),
		cmocka_unit_test(test_route_binding),
		cmocka_unit_test(test_route_scheme),
		cmocka_unit_test(test_route_challenges),
		cmocka_unit_test(test_metadata),
		cmocka_unit_test(test_resource_audience),
		cmocka_unit_test(test_replay_bounded),
		cmocka_unit_test(test_config_keys),
	};

	return (cmocka_run_group_tests(tests, setup, teardown));
}
