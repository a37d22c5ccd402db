/*
 * test_assertion.c: identity assertions through decide() (decide/
 * assertion.c and its use in jwt.c): a config parsed by config_parse(), a
 * key file loaded by loader_build(), the agent's signing keys in a
 * temporary state_dir (signer.h), an injected clock and a token cache.
 *
 * The assertion's claims (exactly the chosen ones), its lifetime (ttl_s,
 * never past the token's exp), the cache attached to the token's entry (a
 * hit signs nothing: the counter; per route and per certificate; reused
 * until three quarters of its life; at most ASRT_PER_TOKEN per token; not
 * reused once its key left the JWK Set; gone with its entry), and the
 * refusals (no key, claims too large).  On a DPoP route with a resource
 * (RFC 9449, RFC 8707): issued once the proof passed, cached on the token's
 * entry whether it is keyed by the token or by the route's resource, so a
 * new proof for the same token signs nothing and a replayed one gets no
 * assertion.  The leanest answer (answer.c) still sends it.  Signatures
 * themselves are checked against the JWK Set by test_signer (OpenSSL) and
 * test_assertion.py (Python cryptography).
 */
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "spoe/spop.h"

#include "answer.h"
#include "assertion.h"
#include "config.h"
#include "config-t.h"
#include "crypto.h"
#include "decide.h"
#include "facts.h"
#include "loader.h"
#include "reason.h"
#include "signer.h"
#include "snapshot.h"
#include "stats.h"
#include "testsupport.h"
#include "testjose.h"
#include "tokcache.h"
#include "util.h"
#include "verdict.h"

#define NOW	((int64_t)1700000000)
#define ISS	"https://idp.example"
#define ORIGIN	"https://api.example.com"

static struct {
	char dir[64], state[96], jwks[96];
	struct tkey key;
	struct snapshot *snap;
	struct signer *sg;
	struct tokcache *tc;
	struct tokcache *replay;        /* DPoP proofs seen */
} F;

static struct verdict V;
static struct agent_stats STATS;

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static struct signer *
load_signer(int64_t now, uint32_t keep)
{
	struct signer_policy pol = { SIGNER_ES256, 86400, 0, keep };
	char err[256];
	struct signer *s = signer_load(F.state, &pol, now, NULL, err,
	    sizeof(err));

	if (s == NULL)
		fail_msg("%s", err);
	return (s);
}

static int
setup(void **state)
{
	struct config_errors e = { NULL, 0 };
	struct config *cfg;
	char doc[4096], *jwk;

	(void)state;
	snprintf(F.dir, sizeof(F.dir), "/tmp/spoa-test-asrt.XXXXXX");
	assert_non_null(mkdtemp(F.dir));
	snprintf(F.state, sizeof(F.state), "%s/state", F.dir);
	assert_int_equal(mkdir(F.state, 0700), 0);
	snprintf(F.jwks, sizeof(F.jwks), "%s/keys.json", F.dir);
	F.key.pk = keygen("EC", "P-256", 0);
	jwk = jwk_of(F.key.pk, "k1", "");
	snprintf(doc, sizeof(doc), "{\"keys\":[%s]}", jwk);
	free(jwk);
	write_file(F.jwks, doc);
	snprintf(doc, sizeof(doc), "{\"listen\":[\"127.0.0.1:1\"],"
	    "\"state_dir\":\"%s\",\"assertion_issuer\":\"https://agent/\","
	    "\"issuers\":[{\"name\":\"i\",\"issuer\":\"" ISS "\","
	    "\"jwks_file\":\"%s\",\"audiences\":[\"api://orders\"],"
	    "\"algorithms\":[\"ES256\"]}],\"routes\":["
	    "{\"name\":\"a\",\"path_prefix\":\"/a\",\"require\":\"jwt\","
	    "\"assertion\":{\"audience\":\"api://apim-a\",\"ttl_s\":100}},"
	    "{\"name\":\"b\",\"path_prefix\":\"/b\",\"require\":\"jwt\","
	    "\"assertion\":{\"audience\":\"api://apim-b\"}},"
	    "{\"name\":\"t\",\"path_prefix\":\"/t\",\"require\":\"jwt\","
	    "\"assertion\":{\"audience\":\"api://apim-t\",\"request_id\":true}},"
	    "{\"name\":\"p\",\"path_prefix\":\"/p\",\"require\":\"jwt\"},"
	    "{\"name\":\"d\",\"path_prefix\":\"/d\",\"require\":\"jwt\","
	    "\"dpop\":\"required\",\"resource\":\"" ORIGIN "/d\","
	    "\"assertion\":{\"audience\":\"api://apim-d\",\"ttl_s\":100}}]}",
	    F.state, F.jwks);
	assert_int_equal(config_parse(doc, strlen(doc), F.dir, &cfg, &e), 0);
	assert_int_equal(loader_build(cfg, NULL, &F.snap, &e), 0);
	F.sg = load_signer(NOW, 600);
	snapshot_set_signer(F.snap, F.sg);
	F.tc = tokcache_new(64);
	F.replay = tokcache_new(64);
	memset(&STATS, 0, sizeof(STATS));
	return (0);
}

static int
teardown(void **state)
{
	char p[512];
	struct dirent *de;
	DIR *d;

	(void)state;
	tokcache_free(F.tc);
	tokcache_free(F.replay);
	snapshot_unref(F.snap);
	signer_unref(F.sg);
	EVP_PKEY_free(F.key.pk);
	if ((d = opendir(F.state)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			snprintf(p, sizeof(p), "%s/%s", F.state, de->d_name);
			if (de->d_name[0] != '.')
				unlink(p);
		}
		closedir(d);
	}
	rmdir(F.state);
	unlink(F.jwks);
	rmdir(F.dir);
	return (0);
}

/* A token of the test issuer for audience ${aud} with subject ${sub}
 * (JSON text), ${extra} claims (",..."), exp at ${exp}. */
static const char *
token_aud(const char *aud, const char *sub, const char *extra, int64_t exp)
{
	char *p = jbuf();

	snprintf(p, 8192, "{\"iss\":\"" ISS "\",\"aud\":\"%s\","
	    "\"sub\":%s,\"azp\":\"app-1\",\"tid\":\"t-1\","
	    "\"scp\":\"Orders.Read\",\"roles\":[\"Admin\"],\"iat\":%lld,"
	    "\"exp\":%lld%s}", aud, sub, (long long)(NOW - 10),
	    (long long)exp, extra);
	return (mint(&F.key, JWS_ALG_ES256,
	    "{\"alg\":\"ES256\",\"kid\":\"k1\",\"typ\":\"JWT\"}", p));
}

static const char *
token_sub(const char *sub, const char *extra, int64_t exp)
{
	return (token_aud("api://orders", sub, extra, exp));
}

static const char *
token(const char *extra, int64_t exp)
{
	return (token_sub("\"alice\"", extra, exp));
}

/* decide() for GET ${ORIGIN}${path} with "${scheme} ${tok}" and the DPoP
 * proof ${proof} (NULL: none) at ${now}; a client certificate ${cert}
 * (NULL: none) that HAProxy verified when ${verified}. */
static void
run_as(const char *scheme, const char *path, const char *tok,
    const char *proof, int64_t now, const char *cert, bool verified)
{
	char authz[8192];
	struct decide_env env;
	struct facts f;

	snprintf(authz, sizeof(authz), "%s %s", scheme, tok);
	ts_facts_get(&f, ORIGIN, path);
	f.authz.ptr = authz;
	f.authz.len = strlen(authz);
	if (proof != NULL) {
		f.dpop.ptr = proof;
		f.dpop.len = strlen(proof);
		f.dpop_count = 1;
	}
	f.unique_id.ptr = path;         /* a request id per path */
	f.unique_id.len = strlen(path);
	if (cert != NULL) {
		f.cert_der.ptr = cert;
		f.cert_der.len = strlen(cert);
		f.has_cert_verify = true;
		f.cert_verify = verified ? 0 : 20;
	}
	memset(&env, 0, sizeof(env));
	env.now = now;
	env.tokcache = F.tc;
	env.dpop_replay = F.replay;
	env.stats = &STATS;
	assert_int_equal(decide(&f, F.snap, &env, &V), DECIDE_DONE);
}

static void
run(const char *path, const char *tok, int64_t now, const char *cert,
    bool verified)
{
	run_as("Bearer", path, tok, NULL, now, cert, verified);
}

/* The "assertion" variable of the last decision ("" if none). */
static const char *
assertion(void)
{
	static char buf[SIGNER_JWT_MAX];
	const struct verdict_var *v = verdict_get(&V, "assertion");

	if (v == NULL)
		return ("");
	assert_true(v->len < sizeof(buf));
	memcpy(buf, v->val, v->len);
	buf[v->len] = '\0';
	return (buf);
}

/* The leanest ACK of the last decision ("answer": {"on_allow": []},
 * answer.c) carries ${jwt} whole as variable "assertion": its name (a
 * one-byte length, 9, then the bytes), then the token's bytes. */
static void
assert_acked(const char *jwt)
{
	static uint8_t frame[16384];
	struct spop_writer w;
	ssize_t n;

	spop_w_init(&w, frame, sizeof(frame));
	n = answer_encode(&V, 0, 1, 1, &w, 16380);
	assert_true(n > 0);
	assert_non_null(memmem(frame, (size_t)n, "\x09" "assertion", 10));
	assert_non_null(memmem(frame, (size_t)n, jwt, strlen(jwt)));
}

/* The claims of ${jwt}, parsed by cJSON (the test's reader). */
static cJSON *
claims_of(const char *jwt)
{
	const char *d1 = strchr(jwt, '.'), *d2 = strrchr(jwt, '.');
	char seg[8192];
	uint8_t out[8192];
	size_t n;

	assert_non_null(d1);
	assert_true(d2 > d1 && (size_t)(d2 - d1 - 1) < sizeof(seg));
	memcpy(seg, d1 + 1, (size_t)(d2 - d1 - 1));
	seg[d2 - d1 - 1] = '\0';
	n = b64u_decode_test(seg, out);
	out[n] = '\0';
	return (cJSON_Parse((const char *)out));
}

static uint64_t
signed_n(void)
{
	return (STAT_GET(&STATS, assertions_signed));
}

static void
test_claims(void **state)
{
	const char *tok = token(",\"email\":\"a@x\",\"nonce\":\"n1\"", NOW + 3600);
	cJSON *c, *it;
	const char *want[] = { "iss", "aud", "iat", "nbf", "exp", "jti", "sub",
	    "client_id", "tid", "scope", "roles", "route" };
	size_t n = 0;

	(void)state;
	run("/a/1", tok, NOW, NULL, false);
	assert_true(V.allow);
	assert_acked(assertion());
	c = claims_of(assertion());
	assert_non_null(c);
	cJSON_ArrayForEach(it, c) {
		assert_string_equal(it->string, want[n]);
		n++;
	}
	assert_int_equal(n, ARRAY_SIZE(want));
	assert_string_equal(cJSON_GetObjectItem(c, "iss")->valuestring,
	    "https://agent/");
	assert_string_equal(cJSON_GetObjectItem(c, "aud")->valuestring,
	    "api://apim-a");
	assert_int_equal(cJSON_GetObjectItem(c, "iat")->valuedouble, NOW);
	assert_int_equal(cJSON_GetObjectItem(c, "exp")->valuedouble, NOW + 100);
	assert_string_equal(cJSON_GetObjectItem(c, "sub")->valuestring, "alice");
	assert_string_equal(cJSON_GetObjectItem(c, "client_id")->valuestring,
	    "app-1");
	assert_string_equal(cJSON_GetObjectItem(c, "tid")->valuestring, "t-1");
	assert_string_equal(cJSON_GetObjectItem(c, "scope")->valuestring,
	    "Orders.Read");
	assert_string_equal(cJSON_GetObjectItem(c, "roles")->valuestring,
	    "Admin");
	assert_string_equal(cJSON_GetObjectItem(c, "route")->valuestring, "a");
	assert_int_equal(strlen(cJSON_GetObjectItem(c, "jti")->valuestring), 22);
	cJSON_Delete(c);
	/* A route without assertion: none. */
	run("/p/1", tok, NOW, NULL, false);
	assert_true(V.allow);
	assert_string_equal(assertion(), "");
	/* The token's exp comes first: the assertion's exp is the token's. */
	run("/a/2", token("", NOW + 30), NOW, NULL, false);
	c = claims_of(assertion());
	assert_int_equal(cJSON_GetObjectItem(c, "exp")->valuedouble, NOW + 30);
	cJSON_Delete(c);
	/* A JSON-special character in a value is escaped. */
	run("/a/3", token_sub("\"a\\\"b\\\\c\"", "", NOW + 600), NOW, NULL,
	    false);
	c = claims_of(assertion());
	assert_non_null(c);
	assert_string_equal(cJSON_GetObjectItem(c, "sub")->valuestring,
	    "a\"b\\c");
	cJSON_Delete(c);
}

static void
test_cache(void **state)
{
	const char *tok = token("", NOW + 3600);
	char first[SIGNER_JWT_MAX], other[SIGNER_JWT_MAX];
	uint64_t n;

	(void)state;
	run("/a/1", tok, NOW, NULL, false);
	snprintf(first, sizeof(first), "%s", assertion());
	assert_int_equal(signed_n(), 1);
	/* The hit: the same assertion, no signature. */
	run("/a/2", tok, NOW + 10, NULL, false);
	assert_string_equal(assertion(), first);
	assert_int_equal(signed_n(), 1);
	assert_int_equal(STAT_GET(&STATS, assertions_cached), 1);
	/* Another route: its own, then cached too. */
	run("/b/1", tok, NOW + 10, NULL, false);
	snprintf(other, sizeof(other), "%s", assertion());
	assert_string_not_equal(other, first);
	assert_int_equal(signed_n(), 2);
	run("/b/2", tok, NOW + 11, NULL, false);
	assert_string_equal(assertion(), other);
	assert_int_equal(signed_n(), 2);
	/* ttl 100: reused until 75 s, then signed again. */
	run("/a/3", tok, NOW + 74, NULL, false);
	assert_string_equal(assertion(), first);
	run("/a/4", tok, NOW + 75, NULL, false);
	assert_string_not_equal(assertion(), first);
	assert_int_equal(signed_n(), 3);
	/* Cache off: a signature per request. */
	n = signed_n();
	tokcache_free(F.tc);
	F.tc = NULL;
	run("/a/5", tok, NOW + 80, NULL, false);
	run("/a/6", tok, NOW + 80, NULL, false);
	assert_int_equal(signed_n(), n + 2);
}

static void
test_certificates(void **state)
{
	const char *tok = token("", NOW + 3600);
	char a1[SIGNER_JWT_MAX];
	cJSON *c;

	(void)state;
	/* A certificate HAProxy verified: its thumbprint, its own entry. */
	run("/a/1", tok, NOW, "certificate-1", true);
	snprintf(a1, sizeof(a1), "%s", assertion());
	c = claims_of(a1);
	assert_non_null(cJSON_GetObjectItem(c, "x5t#S256"));
	assert_int_equal(strlen(cJSON_GetObjectItem(c, "x5t#S256")->valuestring),
	    43);
	cJSON_Delete(c);
	/* One it could not verify: no thumbprint (and so another entry). */
	run("/a/2", tok, NOW, "certificate-1", false);
	c = claims_of(assertion());
	assert_null(cJSON_GetObjectItem(c, "x5t#S256"));
	cJSON_Delete(c);
	assert_int_equal(signed_n(), 2);
	run("/a/3", tok, NOW, "certificate-1", true);
	assert_string_equal(assertion(), a1);
	assert_int_equal(signed_n(), 2);
	/* Bounded: more certificates than a token keeps assertions for. */
	for (int i = 0; i < 2 * ASRT_PER_TOKEN; i++) {
		char cert[32];

		snprintf(cert, sizeof(cert), "certificate-%d", 100 + i);
		run("/a/4", tok, NOW + 1, cert, true);
		assert_true(V.allow);
	}
	assert_int_equal(signed_n(), 2 + 2 * ASRT_PER_TOKEN);
	{
		uint8_t key[32];
		void *att = NULL;
		size_t len = strlen(tok);

		/* The entry's set (the cache key as jwt.c makes it). */
		assert_int_equal(crypto_cache_key(tok, len, key), 0);
		assert_non_null(tokcache_get_att(F.tc, key, NOW + 1, &att));
		assert_non_null(att);
		assert_int_equal(assertion_set_count(att), ASRT_PER_TOKEN);
	}
}

/* An assertion whose key left the JWK Set is not reused. */
static void
test_key_gone(void **state)
{
	const char *tok = token("", NOW + 7200);
	char a1[SIGNER_JWT_MAX];
	struct signer *next;

	(void)state;
	run("/b/1", tok, NOW, NULL, false);
	snprintf(a1, sizeof(a1), "%s", assertion());
	/* Rotated, the old key still published: reused. */
	next = load_signer(NOW + 86400 - 100, 600);
	snapshot_set_signer(F.snap, next);
	run("/b/2", tok, NOW + 1, NULL, false);
	assert_string_equal(assertion(), a1);
	assert_int_equal(signed_n(), 1);
	signer_unref(next);
	/* The old key retired (keep 0): signed again, with the new key. */
	next = load_signer(NOW + 86400 + 1, 0);
	assert_false(signer_publishes(next, signer_kid(F.sg)));
	snapshot_set_signer(F.snap, next);
	run("/b/3", tok, NOW + 2, NULL, false);
	assert_string_not_equal(assertion(), a1);
	assert_int_equal(signed_n(), 2);
	signer_unref(next);
}

/* "request_id": true: the request id in every assertion, so one
 * signature per request, nothing cached. */
static void
test_request_id(void **state)
{
	const char *tok = token("", NOW + 3600);
	cJSON *c;

	(void)state;
	run("/t/req-1", tok, NOW, NULL, false);
	assert_true(V.allow);
	c = claims_of(assertion());
	assert_string_equal(cJSON_GetObjectItem(c, "rid")->valuestring,
	    "/t/req-1");
	cJSON_Delete(c);
	run("/t/req-2", tok, NOW, NULL, false);
	c = claims_of(assertion());
	assert_string_equal(cJSON_GetObjectItem(c, "rid")->valuestring,
	    "/t/req-2");
	cJSON_Delete(c);
	assert_int_equal(signed_n(), 2);
	assert_int_equal(STAT_GET(&STATS, assertions_cached), 0);
	/* Routes without it never carry one. */
	run("/a/req-3", tok, NOW, NULL, false);
	c = claims_of(assertion());
	assert_null(cJSON_GetObjectItem(c, "rid"));
	cJSON_Delete(c);
}

static void
test_refusals(void **state)
{
	char big[ASRT_CLAIMS_MAX + 64], sub[ASRT_CLAIMS_MAX + 128];

	(void)state;
	/* No key (yet): not_ready, nothing sent. */
	snapshot_set_signer(F.snap, NULL);
	run("/a/1", token("", NOW + 600), NOW, NULL, false);
	assert_int_equal(V.reason, REASON_NOT_READY);
	assert_false(V.allow);
	assert_int_equal(V.nvars, 0);
	assert_int_equal(STAT_GET(&STATS, assertion_errors), 1);
	snapshot_set_signer(F.snap, F.sg);
	/* Claims above ASRT_CLAIMS_MAX: identity_unsendable. */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	snprintf(sub, sizeof(sub), "\"%s\"", big);
	run("/a/2", token_sub(sub, "", NOW + 600), NOW, NULL, false);
	assert_int_equal(V.reason, REASON_IDENTITY_UNSENDABLE);
	assert_false(V.allow);
	assert_int_equal(V.nvars, 0);
	/* The same token on a route without assertion passes. */
	run("/p/1", token_sub(sub, "", NOW + 600), NOW, NULL, false);
	assert_true(V.allow);
}

/*
 * A DPoP route with an assertion: the proof is verified every request,
 * the assertion signed once per token and route.  A token accepted
 * through the route's resource alone is cached under the resource's key
 * (jwt.c resource_key()): its assertions hang on that entry.
 */
static void
test_dpop(void **state)
{
	struct tkey cl = { keygen("EC", "P-256", 0), NULL };
	const char *aud[] = { "api://orders", ORIGIN "/d" };
	char jkt[64], cnf[128], first[SIGNER_JWT_MAX];
	uint64_t hits;
	cJSON *c;

	(void)state;
	ec_jkt(&cl, jkt);
	snprintf(cnf, sizeof(cnf), ",\"cnf\":{\"jkt\":\"%s\"}", jkt);
	for (size_t i = 0; i < ARRAY_SIZE(aud); i++) {
		char *tok = strdup(token_aud(aud[i], "\"alice\"", cnf,
		    NOW + 3600));
		char *p1 = es256_proof(&cl, "GET", ORIGIN "/d/1", tok,
		    i == 0 ? "a1" : "b1", NOW);
		char *p2 = es256_proof(&cl, "GET", ORIGIN "/d/1", tok,
		    i == 0 ? "a2" : "b2", NOW);
		uint64_t n = signed_n();

		assert_non_null(tok);
		run_as("DPoP", "/d/1", tok, p1, NOW, NULL, false);
		if (!V.allow)
			fail_msg("aud %s: %s (%s)", aud[i], reason_name(V.reason),
			    V.detail ? V.detail : "-");
		snprintf(first, sizeof(first), "%s", assertion());
		assert_int_equal(signed_n(), n + 1);
		c = claims_of(first);
		assert_string_equal(cJSON_GetObjectItem(c, "aud")->valuestring,
		    "api://apim-d");
		assert_string_equal(cJSON_GetObjectItem(c, "route")->valuestring,
		    "d");
		assert_null(cJSON_GetObjectItem(c, "cnf"));
		cJSON_Delete(c);
		/* A new proof: a token cache hit, the cached assertion. */
		hits = STAT_GET(&STATS, token_cache_hits);
		run_as("DPoP", "/d/1", tok, p2, NOW + 1, NULL, false);
		assert_true(V.allow);
		assert_int_equal(STAT_GET(&STATS, token_cache_hits), hits + 1);
		assert_string_equal(assertion(), first);
		assert_int_equal(signed_n(), n + 1);
		/* The first proof again: refused, no assertion. */
		run_as("DPoP", "/d/1", tok, p1, NOW + 1, NULL, false);
		assert_int_equal(V.reason, REASON_DPOP_REPLAYED);
		assert_string_equal(assertion(), "");
		assert_int_equal(signed_n(), n + 1);
		free(p1);
		free(p2);
		free(tok);
	}
	assert_int_equal(STAT_GET(&STATS, assertions_cached), 2);
	EVP_PKEY_free(cl.pk);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_claims, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache, setup, teardown),
		cmocka_unit_test_setup_teardown(test_certificates, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_key_gone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_request_id, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dpop, setup, teardown),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
