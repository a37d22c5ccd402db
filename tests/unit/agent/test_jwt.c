/*
 * test_jwt.c: the bearer-token decision path end to end, through decide()
 * (and jwt_decide() for RFC 8705 binding, which needs a certificate hash):
 * a config parsed by config_parse(), key files and HMAC secrets loaded by
 * loader_build(), an injected clock, a token cache.
 *
 * One test per attack of shared/reference/jwt.md §3 (S1-S20), each
 * asserting the exact reason code and status, then the functional rules:
 * issuers, algorithm allow-lists, time and skew boundaries, audiences,
 * scopes, roles, claim rules, variables, RFC 6750 challenges, the
 * verified-token cache, readiness; and the RFC 7515 Appendix A examples.
 *
 * Keys are generated here with OpenSSL and every test token is signed with
 * OpenSSL directly (EVP), never with our own code, so a bug in crypto.c
 * cannot be cancelled out by the same bug in the signer.  The base64url
 * encoder below is the test's own for the same reason.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/encoder.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "config.h"
#include "decide.h"
#include "facts.h"
#include "jwa.h"
#include "jwks.h"
#include "jwt.h"
#include "loader.h"
#include "reason.h"
#include "snapshot.h"
#include "stats.h"
#include "testsupport.h"
#define TOKMAX		16384
#include "testjose.h"
#include "tokcache.h"
#include "util.h"
#include "verdict.h"

#define NOW		((int64_t)1700000000)
#define T1		"11111111-2222-3333-4444-555555555555"
#define T2		"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
#define T3		"99999999-8888-7777-6666-555555555555"
#define HS_SECRET	"0123456789abcdef0123456789abcdef-hs-main"
#define HS_OTHER	"another secret, 32 bytes or more, for mixed"

/* Issuer indexes in the config below. */
enum { I_MAIN, I_HS, I_HS_OTHER, I_REMOTE, I_B, I_TYPED, I_ENTRA, I_ENTRA_ONE,
    I_KC, I_COUNT };

/* ---- fixture ------------------------------------------------------------ */

static struct {
	struct tkey rsa, rsa1024, ec, ec_b, ec_evil, ed, ent_t1, ent_any;
	struct tkey hs, hs_other;
	char dir[64];
	char jwks_main[128], jwks_b[128], jwks_entra[128];
	char *rsa_jwk;		/* the public JWK of rsa, as published */
	char *load_log;		/* what loader_build logged */
	const struct config *cfg;	/* borrowed from the snapshot */
	struct snapshot *snap;
} F;

static const char *
hdr(const char *alg, const char *kid)
{
	char *h = jbuf();

	if (kid != NULL)
		snprintf(h, 8192, "{\"alg\":\"%s\",\"kid\":\"%s\",\"typ\":\"JWT\"}",
		    alg, kid);
	else
		snprintf(h, 8192, "{\"alg\":\"%s\",\"typ\":\"JWT\"}", alg);
	return (h);
}

/* Claims: iss, aud (JSON), sub, iat/nbf now-10, exp now+600, then ${extra}
 * (",\"k\":v..." or ""). */
static const char *
claims(const char *iss, const char *aud_json, const char *extra)
{
	char *p = jbuf();

	snprintf(p, 8192, "{\"iss\":\"%s\",\"aud\":%s,\"sub\":\"alice\","
	    "\"iat\":%lld,\"nbf\":%lld,\"exp\":%lld%s}", iss, aud_json,
	    (long long)(NOW - 10), (long long)(NOW - 10),
	    (long long)(NOW + 600), extra);
	return (p);
}

/* Claims without the time members: the caller writes them in ${body}. */
static const char *
claims_raw(const char *body)
{
	char *p = jbuf();

	snprintf(p, 8192, "%s", body);
	return (p);
}

#define MAIN_ISS	"https://idp.example"
#define AUD		"\"api://orders\""
#define MAIN(extra)	claims(MAIN_ISS, AUD, extra)

/* ---- the decision ------------------------------------------------------- */

static struct verdict V;
static struct agent_stats STATS;

/* decide() for "GET api.example.com ${path}" from 127.0.0.1 with the
 * Authorization header ${authz} (NULL: none). */
static enum decide_outcome
decide_authz(struct snapshot *s, const char *path, const char *authz,
    int64_t now, struct tokcache *tc, bool may_park, struct decide_env *envp)
{
	struct facts f;
	struct decide_env local, *env = envp != NULL ? envp : &local;

	memset(&f, 0, sizeof(f));
	f.method.ptr = "GET";
	f.method.len = 3;
	f.host.ptr = "api.example.com";
	f.host.len = strlen(f.host.ptr);
	f.path.ptr = path;
	f.path.len = strlen(path);
	if (authz != NULL) {
		f.authz.ptr = authz;
		f.authz.len = strlen(authz);
	}
	f.src_family = 4;
	f.src[0] = 127;
	f.src[3] = 1;
	memset(env, 0, sizeof(*env));
	env->now = now;
	env->tokcache = tc;
	env->stats = &STATS;
	env->may_park = may_park;
	env->park_issuer = SIZE_MAX;
	return (decide(&f, s, env, &V));
}

static char *
bearer(const char *tok)
{
	size_t n = strlen(tok) + 8;
	char *a = malloc(n);

	assert_non_null(a);
	snprintf(a, n, "Bearer %s", tok);
	return (a);
}

static enum decide_outcome
run_s(struct snapshot *s, const char *path, const char *tok, int64_t now,
    struct tokcache *tc)
{
	char *a = bearer(tok);
	enum decide_outcome o = decide_authz(s, path, a, now, tc, false, NULL);

	free(a);
	return (o);
}

/* The usual case: the fixture's snapshot, no cache, no parking. */
static void
run(const char *path, const char *tok)
{
	assert_int_equal(run_s(F.snap, path, tok, NOW, NULL), DECIDE_DONE);
}

static void
expect_at(int line, enum reason want)
{
	if (V.reason != want)
		fail_msg("line %d: got %s (%s), want %s", line,
		    reason_name(V.reason), V.detail ? V.detail : "-",
		    reason_name(want));
	if (V.status != reason_status(want))
		fail_msg("line %d: status %d, want %d", line, V.status,
		    reason_status(want));
	if (V.allow != (want == REASON_OK))
		fail_msg("line %d: allow %d for %s", line, V.allow,
		    reason_name(want));
	/* A challenge goes with a refusal only, never with a stale one. */
	if (V.allow && V.www_authenticate[0] != '\0')
		fail_msg("line %d: allowed with WWW-Authenticate \"%s\"", line,
		    V.www_authenticate);
}

#define EXPECT(r)		expect_at(__LINE__, (r))
#define EXPECT_TOK(path, tok, r) do { run((path), (tok)); EXPECT(r); } while (0)
#define EXPECT_DETAIL(d) do {						\
	if (V.detail == NULL || strcmp(V.detail, (d)) != 0)		\
		fail_msg("line %d: detail \"%s\", want \"%s\"", __LINE__, \
		    V.detail ? V.detail : "(null)", (d));		\
} while (0)

static const char *
var(const char *name)
{
	static char buf[VERDICT_VALUE_MAX + 1];
	const struct verdict_var *vv = verdict_get(&V, name);

	if (vv == NULL)
		return (NULL);
	memcpy(buf, vv->val, vv->len);
	buf[vv->len] = '\0';
	return (buf);
}

static void
expect_var_at(int line, const char *name, const char *want)
{
	const char *got = var(name);

	if (want == NULL && got != NULL)
		fail_msg("line %d: var %s = \"%s\", want it absent", line, name,
		    got);
	if (want != NULL && got == NULL)
		fail_msg("line %d: var %s absent, want \"%s\"", line, name,
		    want);
	if (want != NULL && strcmp(got, want) != 0)
		fail_msg("line %d: var %s = \"%s\", want \"%s\"", line, name,
		    got, want);
}

#define EXPECT_VAR(name, want)	expect_var_at(__LINE__, (name), (want))

/* ---- fixture ------------------------------------------------------------ */

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	assert_int_equal(fclose(f), 0);
}

/* {"keys":[...]} from NULL-terminated JWK strings (freed). */
static char *
jwks_doc(char **jwks)
{
	size_t cap = 32, n;
	char *doc;

	for (size_t i = 0; jwks[i] != NULL; i++)
		cap += strlen(jwks[i]) + 1;
	doc = malloc(cap);
	assert_non_null(doc);
	n = (size_t)snprintf(doc, cap, "{\"keys\":[");
	for (size_t i = 0; jwks[i] != NULL; i++) {
		n += (size_t)snprintf(doc + n, cap - n, "%s%s", i ? "," : "",
		    jwks[i]);
		free(jwks[i]);
	}
	snprintf(doc + n, cap - n, "]}");
	return (doc);
}

static const char config_fmt[] =
"{\n"
" \"listen\": [\"127.0.0.1:12345\"],\n"
" \"fetch\": {\"max_stale_s\": 3600},\n"
" \"issuers\": [\n"
"  {\"name\": \"main\", \"issuer\": \"https://idp.example\",\n"
"   \"jwks_file\": \"%s\", \"audiences\": [\"api://orders\", \"api://other\"],\n"
"   \"algorithms\": [\"RS256\", \"PS256\", \"PS512\", \"ES256\", \"EdDSA\"]},\n"
"  {\"name\": \"hs\", \"issuer\": \"https://hs.example\",\n"
"   \"algorithms\": [\"HS256\"], \"hmac_secret_env\": \"SPOA_TEST_JWT_HS\",\n"
"   \"audiences\": [\"api://hs\"], \"require_exp\": false},\n"
"  {\"name\": \"hs-other\", \"issuer\": \"https://mixed.example\",\n"
"   \"algorithms\": [\"HS256\"],\n"
"   \"hmac_secret_env\": \"SPOA_TEST_JWT_HS_OTHER\", \"audiences\": [\"api://orders\"]},\n"
"  {\"name\": \"remote\", \"issuer\": \"https://remote.example\",\n"
"   \"jwks_url\": \"https://remote.example/keys\", \"algorithms\": [\"ES256\"],\n"
"   \"audiences\": [\"api://orders\"]},\n"
"  {\"name\": \"b\", \"issuer\": \"https://b.example\", \"jwks_file\": \"%s\",\n"
"   \"algorithms\": [\"ES256\"], \"audiences\": [\"api://orders\"]},\n"
"  {\"name\": \"typed\", \"issuer\": \"https://typed.example\",\n"
"   \"jwks_file\": \"%s\", \"typ\": [\"at+jwt\"], \"audiences\": [\"api://typed\"]},\n"
"  {\"name\": \"entra\", \"issuer\": \"https://login.microsoftonline.com/{tenant}/v2.0\",\n"
"   \"tenants\": [\"" T1 "\", \"" T2 "\"], \"jwks_file\": \"%s\",\n"
"   \"algorithms\": [\"ES256\"], \"audiences\": [\"api://orders\"]},\n"
"  {\"name\": \"entra-one\", \"issuer\": [\"https://login.microsoftonline.com/" T1 "/v2.0\",\n"
"   \"https://sts.windows.net/" T1 "/\"], \"jwks_file\": \"%s\",\n"
"   \"algorithms\": [\"ES256\"], \"audiences\": [\"api://one\"]},\n"
"  {\"name\": \"kc\", \"issuer\": \"https://kc.example/realms/r\", \"jwks_file\": \"%s\",\n"
"   \"audiences\": [\"api://kc\"], \"typ\": [\"at+jwt\", null],\n"
"   \"roles_claim\": [\"/realm_access/roles\", \"/resource_access/my.app/roles\"],\n"
"   \"scopes_claim\": [\"scope\", \"permissions\"]}\n"
" ],\n"
" \"routes\": [\n"
"  {\"name\": \"open\", \"path_prefix\": \"/open\", \"require\": \"none\"},\n"
"  {\"name\": \"api\", \"path_prefix\": \"/api\", \"require\": \"jwt\",\n"
"   \"claims_to_vars\": [\"email\", \"n\", \"frac\", \"flag\", \"groups\", \"org.unit\", \"obj\", \"missing\"]},\n"
"  {\"name\": \"scoped-all\", \"path_prefix\": \"/scoped-all\", \"require\": \"jwt\",\n"
"   \"issuers\": [\"main\"], \"scopes_all\": [\"Orders.Read\"]},\n"
"  {\"name\": \"scoped-any\", \"path_prefix\": \"/scoped-any\", \"require\": \"jwt\",\n"
"   \"scopes_any\": [\"Orders.Read\", \"Orders.All\"]},\n"
"  {\"name\": \"roles\", \"path_prefix\": \"/roles-all\", \"require\": \"jwt\",\n"
"   \"roles_all\": [\"Admin\"]},\n"
"  {\"name\": \"roles-any\", \"path_prefix\": \"/roles-any\", \"require\": \"jwt\",\n"
"   \"roles_any\": [\"Reader\", \"Writer\"]},\n"
"  {\"name\": \"claims\", \"path_prefix\": \"/claims\", \"require\": \"jwt\",\n"
"   \"claims\": {\"ver\": [\"2.0\"], \"org.unit\": [\"blue\", \"green\"],\n"
"               \"n\": [5], \"flag\": [true]}},\n"
"  {\"name\": \"onlyb\", \"path_prefix\": \"/onlyb\", \"require\": \"jwt\",\n"
"   \"issuers\": [\"b\"]},\n"
"  {\"name\": \"remote\", \"path_prefix\": \"/remote\", \"require\": \"jwt\",\n"
"   \"issuers\": [\"remote\"]},\n"
"  {\"name\": \"src\", \"path_prefix\": \"/src\", \"require\": \"jwt\",\n"
"   \"source_cidrs\": [\"10.0.0.0/8\"]},\n"
"  {\"name\": \"bound\", \"path_prefix\": \"/bound\", \"require\": \"jwt+mtls\",\n"
"   \"bound_token\": true},\n"
"  {\"name\": \"one\", \"path_prefix\": \"/one\", \"require\": \"jwt\",\n"
"   \"issuers\": [\"entra-one\"]},\n"
"  {\"name\": \"entra\", \"path_prefix\": \"/entra\", \"require\": \"jwt\",\n"
"   \"issuers\": [\"entra\"]},\n"
"  {\"name\": \"kc\", \"path_prefix\": \"/kc\", \"require\": \"jwt\",\n"
"   \"issuers\": [\"kc\"], \"roles_all\": [\"admin\", \"client-reader\"],\n"
"   \"scopes_any\": [\"read:orders\"],\n"
"   \"claims\": {\"groups\": {\"all\": [\"g1\", \"g2\"]},\n"
"              \"email_verified\": {\"present\": true}},\n"
"   \"claims_to_vars\": [{\"claim\": \"https://example.com/roles\", \"var\": \"app_roles\"},\n"
"                      \"/resource_access/my.app/roles\"]}\n"
" ]\n"
"}\n";

/* The remote issuer's keys, as if fetched: ec with kid "ec-r". */
static struct keyset *
remote_keys(void)
{
	char *jwks[] = { jwk_of(F.ec.pk, "ec-r", ""), NULL };
	char *doc = jwks_doc(jwks);
	struct keyset *ks = NULL;

	assert_int_equal(jwks_parse(doc, strlen(doc), &ks, NULL), 0);
	free(doc);
	return (ks);
}

static int
setup(void **state)
{
	struct config_errors errs = { NULL, 0 };
	struct config *cfg = NULL;
	char *doc, *text;
	size_t cap;

	(void)state;
	memset(&F, 0, sizeof(F));
	F.rsa.pk = keygen("RSA", NULL, 2048);
	F.rsa1024.pk = keygen("RSA", NULL, 1024);
	F.ec.pk = keygen("EC", "P-256", 0);
	F.ec_b.pk = keygen("EC", "P-256", 0);
	F.ec_evil.pk = keygen("EC", "P-256", 0);
	F.ed.pk = keygen("ED25519", NULL, 0);
	F.ent_t1.pk = keygen("EC", "P-256", 0);
	F.ent_any.pk = keygen("EC", "P-256", 0);
	F.hs.secret = HS_SECRET;
	F.hs_other.secret = HS_OTHER;

	snprintf(F.dir, sizeof(F.dir), "/tmp/spoa-test-jwt.XXXXXX");
	assert_non_null(mkdtemp(F.dir));
	snprintf(F.jwks_main, sizeof(F.jwks_main), "%s/main.json", F.dir);
	snprintf(F.jwks_b, sizeof(F.jwks_b), "%s/b.json", F.dir);
	snprintf(F.jwks_entra, sizeof(F.jwks_entra), "%s/entra.json", F.dir);

	F.rsa_jwk = jwk_of(F.rsa.pk, "rsa-a", "");
	{
		/* S17: four keys the loader must skip, next to good ones.
		 * rsa-e1 is rsa's modulus with e = 1. */
		char *e1 = jwk_of(F.rsa.pk, "rsa-e1", ""), *p;

		p = strstr(e1, "\"e\":\"AQAB\"");
		assert_non_null(p);
		memcpy(p, "\"e\":\"AQ\"  ", 10);
		char *jwks[] = {
			jwk_of(F.rsa.pk, "rsa-a", ""),
			jwk_of(F.rsa.pk, "rsa-ps512", ",\"alg\":\"PS512\""),
			jwk_of(F.ec.pk, "ec-a", ",\"use\":\"sig\""),
			jwk_of(F.ed.pk, "ed-a", ""),
			jwk_of(F.rsa1024.pk, "rsa-1024", ""),
			e1,
			jwk_of(F.rsa.pk, "rsa-enc", ",\"use\":\"enc\""),
			jwk_of(F.rsa.pk, "rsa-ops", ",\"key_ops\":[\"sign\"]"),
			NULL
		};
		doc = jwks_doc(jwks);
		write_file(F.jwks_main, doc);
		free(doc);
	}
	{
		char *jwks[] = { jwk_of(F.ec_b.pk, "ec-b", ""), NULL };

		doc = jwks_doc(jwks);
		write_file(F.jwks_b, doc);
		free(doc);
	}
	{
		/* S19: Entra keys scoped by their own "issuer". */
		char *jwks[] = {
			jwk_of(F.ent_t1.pk, "entra-t1", ",\"issuer\":"
			    "\"https://login.microsoftonline.com/" T1 "/v2.0\""),
			jwk_of(F.ent_any.pk, "entra-any", ",\"issuer\":"
			    "\"https://login.microsoftonline.com/{tenantid}/v2.0\""),
			NULL
		};
		doc = jwks_doc(jwks);
		write_file(F.jwks_entra, doc);
		free(doc);
	}

	cap = sizeof(config_fmt) + 7 * sizeof(F.jwks_main);
	text = malloc(cap);
	assert_non_null(text);
	snprintf(text, cap, config_fmt, F.jwks_main, F.jwks_b, F.jwks_main,
	    F.jwks_entra, F.jwks_entra, F.jwks_main);
	assert_int_equal(setenv("SPOA_TEST_JWT_HS", HS_SECRET, 1), 0);
	assert_int_equal(setenv("SPOA_TEST_JWT_HS_OTHER", HS_OTHER, 1), 0);
	if (config_parse(text, strlen(text), NULL, &cfg, &errs) != 0) {
		for (size_t i = 0; i < errs.n; i++)
			fprintf(stderr, "config: %s\n", errs.v[i]);
		fail_msg("config_parse failed");
	}
	free(text);
	ts_log_capture_start();
	if (loader_build(cfg, NULL, &F.snap, &errs) != 0) {
		ts_log_capture_stop();
		for (size_t i = 0; i < errs.n; i++)
			fprintf(stderr, "loader: %s\n", errs.v[i]);
		fail_msg("loader_build failed");
	}
	F.load_log = strdup(ts_log_captured());
	ts_log_capture_stop();
	F.cfg = snapshot_config(F.snap);
	assert_int_equal(F.cfg->nissuers, I_COUNT);
	assert_string_equal(F.cfg->issuers[I_REMOTE].name, "remote");
	/* The remote issuer's keys as the fetcher would install them. */
	{
		struct keyset *ks = remote_keys();

		snapshot_set_keys(F.snap, I_REMOTE, ks, NOW);
		keyset_unref(ks);
	}
	return (0);
}

static int
teardown(void **state)
{
	struct tkey *keys[] = { &F.rsa, &F.rsa1024, &F.ec, &F.ec_b, &F.ec_evil,
	    &F.ed, &F.ent_t1, &F.ent_any };

	(void)state;
	snapshot_unref(F.snap);
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		EVP_PKEY_free(keys[i]->pk);
	unlink(F.jwks_main);
	unlink(F.jwks_b);
	unlink(F.jwks_entra);
	rmdir(F.dir);
	free(F.rsa_jwk);
	free(F.load_log);
	return (0);
}

/* Each test starts from clean counters and a known remote key state. */
static int
reset(void **state)
{
	(void)state;
	memset(&STATS, 0, sizeof(STATS));
	verdict_init(&V);
	snapshot_set_kid_served(F.snap, I_REMOTE, 0);
	snapshot_set_keys(F.snap, I_REMOTE, snapshot_keys(F.snap, I_REMOTE), NOW);
	return (0);
}

/* ---- valid tokens, identity ---------------------------------------------- */

static void
test_valid_tokens(void **state)
{
	(void)state;
	EXPECT_TOK("/api", mint(&F.rsa, JWS_ALG_RS256, hdr("RS256", "rsa-a"),
	    MAIN("")), REASON_OK);
	assert_string_equal(V.route, "api");
	assert_string_equal(V.www_authenticate, "");
	EXPECT_TOK("/api", mint(&F.rsa, JWS_ALG_PS256, hdr("PS256", "rsa-a"),
	    MAIN("")), REASON_OK);
	EXPECT_TOK("/api", mint(&F.rsa, JWS_ALG_PS512, hdr("PS512",
	    "rsa-ps512"), MAIN("")), REASON_OK);
	EXPECT_TOK("/api", mint(&F.ec, JWS_ALG_ES256, hdr("ES256", "ec-a"),
	    MAIN("")), REASON_OK);
	EXPECT_TOK("/api", mint(&F.ed, JWS_ALG_EDDSA, hdr("EdDSA", "ed-a"),
	    MAIN("")), REASON_OK);
	EXPECT_TOK("/api", mint(&F.hs, JWS_ALG_HS256, hdr("HS256", NULL),
	    claims("https://hs.example", "\"api://hs\"", "")), REASON_OK);
	/* Without a kid, the keys that allow the alg are tried. */
	EXPECT_TOK("/api", mint(&F.ec, JWS_ALG_ES256, hdr("ES256", NULL),
	    MAIN("")), REASON_OK);
	EXPECT_TOK("/api", mint(&F.ed, JWS_ALG_EDDSA, hdr("EdDSA", NULL),
	    MAIN("")), REASON_OK);
	/* A route that requires nothing needs no token. */
	assert_int_equal(decide_authz(F.snap, "/open", NULL, NOW, NULL, false,
	    NULL), DECIDE_DONE);
	EXPECT(REASON_OK);
	assert_string_equal(V.route, "open");
}

static void
test_identity_variables(void **state)
{
	(void)state;
	run("/api", mint(&F.ec, JWS_ALG_ES256, hdr("ES256", "ec-a"),
	    MAIN(",\"azp\":\"client-1\",\"appid\":\"app-1\",\"client_id\":\"c\","
	    "\"tid\":\"" T1 "\",\"scp\":\"Orders.Read Orders.Write\","
	    "\"roles\":[\"Admin\",\"User\"],\"email\":\"alice@example.com\","
	    "\"n\":5,\"frac\":1.5,\"flag\":true,\"groups\":[\"g1\",\"g2\",3],"
	    "\"org\":{\"unit\":\"blue\"},\"obj\":null")));
	EXPECT(REASON_OK);
	EXPECT_VAR("sub", "alice");
	EXPECT_VAR("issuer", MAIN_ISS);
	EXPECT_VAR("client_id", "client-1");
	EXPECT_VAR("tenant", T1);
	EXPECT_VAR("scopes", "Orders.Read Orders.Write");
	EXPECT_VAR("roles", "Admin User");
	/* claims_to_vars: string, number, fraction, bool, array joined,
	 * nested a.b; a null or missing claim gives no variable. */
	EXPECT_VAR("claim_email", "alice@example.com");
	EXPECT_VAR("claim_n", "5");
	EXPECT_VAR("claim_frac", "1.5");
	EXPECT_VAR("claim_flag", "true");
	EXPECT_VAR("claim_groups", "g1 g2 3");
	EXPECT_VAR("claim_org_unit", "blue");
	EXPECT_VAR("claim_obj", NULL);
	EXPECT_VAR("claim_missing", NULL);
	/* A mapped claim that cannot be a header value (an object) is never
	 * silently left out: the request is refused, with its reason. */
	run("/api", mint(&F.ec, JWS_ALG_ES256, hdr("ES256", "ec-a"),
	    MAIN(",\"obj\":{\"a\":1}")));
	EXPECT(REASON_IDENTITY_UNSENDABLE);
	assert_int_equal(V.nvars, 0);

	/* client_id falls back azp -> appid -> client_id; scope after scp. */
	run("/api", mint(&F.ec, JWS_ALG_ES256, hdr("ES256", "ec-a"),
	    MAIN(",\"appid\":\"app-1\",\"client_id\":\"c\",\"scope\":\"a b\","
	    "\"roles\":\"R1 R2\"")));
	EXPECT(REASON_OK);
	EXPECT_VAR("client_id", "app-1");
	EXPECT_VAR("scopes", "a b");
	EXPECT_VAR("roles", "R1 R2");
	EXPECT_VAR("tenant", NULL);
	run("/api", mint(&F.ec, JWS_ALG_ES256, hdr("ES256", "ec-a"),
	    MAIN(",\"client_id\":\"c\",\"scp\":[\"x\",\"y\"]")));
	EXPECT(REASON_OK);
	EXPECT_VAR("client_id", "c");
	EXPECT_VAR("scopes", "x y");
	EXPECT_VAR("roles", NULL);
	/* Large values are sent whole (the frame decides, see test_proto):
	 * a 1100-byte client id, and 40 group GUIDs (~1.5 KB, an Entra
	 * token's groups) in claim_groups. */
	{
		char extra[4000];
		char big[1101];
		size_t n;

		memset(big, 'c', 1100);
		big[1100] = '\0';
		snprintf(extra, sizeof(extra), ",\"azp\":\"%s\",\"tid\":\"%s\"",
		    big, T1);
		run("/api", mint(&F.ec, JWS_ALG_ES256, hdr("ES256", "ec-a"),
		    claims(MAIN_ISS, AUD, extra)));
		EXPECT(REASON_OK);
		EXPECT_VAR("client_id", big);
		EXPECT_VAR("tenant", T1);
		n = (size_t)snprintf(extra, sizeof(extra), ",\"groups\":[");
		for (int i = 0; i < 40; i++)
			n += (size_t)snprintf(extra + n, sizeof(extra) - n,
			    "%s\"%08d-1111-2222-3333-444444444444\"", i ? "," : "",
			    i);
		snprintf(extra + n, sizeof(extra) - n, "]");
		run("/api", mint(&F.ec, JWS_ALG_ES256, hdr("ES256", "ec-a"),
		    claims(MAIN_ISS, AUD, extra)));
		EXPECT(REASON_OK);
		assert_int_equal(strlen(var("claim_groups")), 40 * 37 - 1);
	}
	/* A value HAProxy could not carry in a header is never mangled nor
	 * dropped: CR LF in a claim refuses the request. */
	run("/api", mint(&F.ec, JWS_ALG_ES256, hdr("ES256", "ec-a"),
	    MAIN(",\"email\":\"a\\r\\nX-Evil: 1\"")));
	EXPECT(REASON_IDENTITY_UNSENDABLE);
	/* The same in an identity claim (sub), cache hit or not. */
	{
		struct tokcache *tc = tokcache_new(16);
		const char *tok = mint(&F.ec, JWS_ALG_ES256, hdr("ES256",
		    "ec-a"), claims_raw("{\"iss\":\"" MAIN_ISS "\",\"aud\":"
		    "\"api://orders\",\"sub\":\"a\\tb\",\"exp\":1700000600}"));

		for (int i = 0; i < 2; i++) {
			assert_int_equal(run_s(F.snap, "/api", tok, NOW, tc),
			    DECIDE_DONE);
			EXPECT(REASON_IDENTITY_UNSENDABLE);
		}
		tokcache_free(tc);
	}
}

/* ---- S1: alg none -------------------------------------------------------- */

static void
test_s1_alg_none(void **state)
{
	static const char *const hdrs[] = {
		"{\"alg\":\"none\"}", "{\"alg\":\"NONE\"}", "{\"alg\":\"None\"}",
		"{\"alg\":\"none\",\"kid\":\"rsa-a\"}", "{\"alg\":\"nOnE\"}",
		"{\"alg\":\"\"}",
	};
	const uint8_t junk[32] = { 1, 2, 3 };
	char t[TOKMAX];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(hdrs); i++) {
		/* Empty signature, the classic form. */
		size_t n = signing_input(hdrs[i], MAIN(""), t);
		t[n++] = '.';
		t[n] = '\0';
		EXPECT_TOK("/api", t, REASON_TOKEN_UNSUPPORTED_ALG);
		assert_non_null(strstr(V.www_authenticate,
		    "error=\"invalid_token\""));
		/* And with a non-empty signature. */
		EXPECT_TOK("/api", with_sig(hdrs[i], MAIN(""), junk,
		    sizeof(junk)), REASON_TOKEN_UNSUPPORTED_ALG);
	}
	/* Wycheproof tc 341 verbatim. */
	EXPECT_TOK("/api", "eyJhbGciOiJub25lIn0.MTIzNDAw.",
	    REASON_TOKEN_UNSUPPORTED_ALG);
	EXPECT_DETAIL("alg none is never accepted");
}

/* ---- S2: RS/HS confusion ------------------------------------------------- */

static char *
bio_text(BIO *b, size_t *len)
{
	char *p, *out;
	long n = BIO_get_mem_data(b, &p);

	assert_true(n > 0);
	out = malloc((size_t)n + 1);
	assert_non_null(out);
	memcpy(out, p, (size_t)n);
	out[n] = '\0';
	*len = (size_t)n;
	return (out);
}

static void
test_s2_rs_hs_confusion(void **state)
{
	char *forms[8];
	size_t flen[8], nf = 0;
	BIO *b;

	(void)state;
	/* The RSA public key as an attacker can get it: SPKI PEM (as is,
	 * without the final newline, with leading whitespace), PKCS#1 PEM,
	 * SPKI DER, the published JWK text. */
	b = BIO_new(BIO_s_mem());
	assert_int_equal(PEM_write_bio_PUBKEY(b, F.rsa.pk), 1);
	forms[nf] = bio_text(b, &flen[nf]);
	nf++;
	BIO_free(b);
	forms[nf] = strdup(forms[0]);
	flen[nf] = flen[0] - 1;
	nf++;
	flen[nf] = flen[0] + 2;
	forms[nf] = malloc(flen[nf] + 1);
	assert_non_null(forms[nf]);
	snprintf(forms[nf], flen[nf] + 1, "  %s", forms[0]);
	nf++;
	{
		OSSL_ENCODER_CTX *ec = OSSL_ENCODER_CTX_new_for_pkey(F.rsa.pk,
		    OSSL_KEYMGMT_SELECT_PUBLIC_KEY, "PEM", "type-specific", NULL);
		uint8_t *p = NULL;
		size_t n = 0;

		assert_non_null(ec);
		assert_int_equal(OSSL_ENCODER_to_data(ec, &p, &n), 1);
		forms[nf] = malloc(n + 1);
		assert_non_null(forms[nf]);
		memcpy(forms[nf], p, n);
		forms[nf][n] = '\0';
		assert_non_null(strstr(forms[nf], "BEGIN RSA PUBLIC KEY"));
		flen[nf++] = n;
		OPENSSL_free(p);
		OSSL_ENCODER_CTX_free(ec);
	}
	{
		uint8_t *der = NULL;
		int n = i2d_PUBKEY(F.rsa.pk, &der);

		assert_true(n > 0);
		forms[nf] = malloc((size_t)n);
		assert_non_null(forms[nf]);
		memcpy(forms[nf], der, (size_t)n);
		flen[nf++] = (size_t)n;
		OPENSSL_free(der);
	}
	forms[nf] = strdup(F.rsa_jwk);
	flen[nf] = strlen(forms[nf]);
	nf++;

	for (size_t i = 0; i < nf; i++) {
		char t[TOKMAX];
		uint8_t mac[32];
		unsigned int ml = 0;
		size_t n;
		const char *h = hdr("HS256", "rsa-a");

		/* Against an issuer that allows RS256 only. */
		n = signing_input(h, MAIN(""), t);
		assert_non_null(HMAC(EVP_sha256(), forms[i], (int)flen[i],
		    (uint8_t *)t, n, mac, &ml));
		EXPECT_TOK("/api", with_sig(h, MAIN(""), mac, ml),
		    REASON_TOKEN_UNSUPPORTED_ALG);
		EXPECT_DETAIL("algorithm not allowed for this issuer");

		/* Against an HMAC issuer with its own secret: the public
		 * key is never an HMAC key. */
		const char *p = claims("https://mixed.example", AUD, "");
		n = signing_input(h, p, t);
		assert_non_null(HMAC(EVP_sha256(), forms[i], (int)flen[i],
		    (uint8_t *)t, n, mac, &ml));
		EXPECT_TOK("/api", with_sig(h, p, mac, ml),
		    REASON_SIGNATURE_INVALID);
		free(forms[i]);
	}
	/* That issuer takes its own secret, and no RS256 at all. */
	EXPECT_TOK("/api", mint(&F.hs_other, JWS_ALG_HS256, hdr("HS256",
	    "rsa-a"), claims("https://mixed.example", AUD, "")), REASON_OK);
	EXPECT_TOK("/api", mint(&F.rsa, JWS_ALG_RS256, hdr("RS256", "rsa-a"),
	    claims("https://mixed.example", AUD, "")),
	    REASON_TOKEN_UNSUPPORTED_ALG);
	/* And one issuer may not allow both (RFC 8725 §3.1): the config
	 * that would make an RSA key and an HMAC secret share an issuer is
	 * refused. */
	{
		static const char mixed[] = "{\"listen\":[\"127.0.0.1:1\"],"
		    "\"issuers\":[{\"name\":\"m\",\"issuer\":\"https://m\","
		    "\"jwks_url\":\"https://m/keys\",\"audiences\":[\"a\"],"
		    "\"algorithms\":[\"RS256\",\"HS256\"],"
		    "\"hmac_secret_env\":\"X\"}],"
		    "\"routes\":[{\"name\":\"r\",\"require\":\"jwt\"}]}";
		struct config_errors errs = { NULL, 0 };
		struct config *c = NULL;

		assert_int_equal(config_parse(mixed, strlen(mixed), NULL, &c,
		    &errs), -1);
		assert_true(errs.n >= 1);
		assert_non_null(strstr(errs.v[0], "cannot be mixed"));
		config_errors_free(&errs);
	}
	/* Wycheproof's EC variant: HS256 keyed with the EC public key. */
	EXPECT_TOK("/api", mint(&F.hs, JWS_ALG_HS256, hdr("HS256", "ec-a"),
	    MAIN("")), REASON_TOKEN_UNSUPPORTED_ALG);
}

/* ---- S3: alg / key family ------------------------------------------------ */

static void
test_s3_key_alg_binding(void **state)
{
	(void)state;
	/* A key whose JWK says PS512 verifies nothing else, even an RS256
	 * signature made with the same RSA key. */
	EXPECT_TOK("/api", mint(&F.rsa, JWS_ALG_RS256, hdr("RS256",
	    "rsa-ps512"), MAIN("")), REASON_TOKEN_UNSUPPORTED_ALG);
	EXPECT_DETAIL("algorithm not allowed for this key");
	EXPECT_TOK("/api", mint(&F.rsa, JWS_ALG_PS256, hdr("PS256",
	    "rsa-ps512"), MAIN("")), REASON_TOKEN_UNSUPPORTED_ALG);
	EXPECT_TOK("/api", mint(&F.rsa, JWS_ALG_PS512, hdr("PS512",
	    "rsa-ps512"), MAIN("")), REASON_OK);
	/* Key type decides the family. */
	EXPECT_TOK("/api", mint(&F.ec, JWS_ALG_ES256, hdr("ES256", "rsa-a"),
	    MAIN("")), REASON_TOKEN_UNSUPPORTED_ALG);
	EXPECT_TOK("/api", mint(&F.rsa, JWS_ALG_RS256, hdr("RS256", "ec-a"),
	    MAIN("")), REASON_TOKEN_UNSUPPORTED_ALG);
	EXPECT_TOK("/api", mint(&F.ed, JWS_ALG_EDDSA, hdr("EdDSA", "rsa-a"),
	    MAIN("")), REASON_TOKEN_UNSUPPORTED_ALG);
	EXPECT_TOK("/api", mint(&F.ec, JWS_ALG_ES256, hdr("ES256", "ed-a"),
	    MAIN("")), REASON_TOKEN_UNSUPPORTED_ALG);
	/* RS384 is not in the issuer's list at all. */
	EXPECT_TOK("/api", mint(&F.rsa, JWS_ALG_RS384, hdr("RS384", "rsa-a"),
	    MAIN("")), REASON_TOKEN_UNSUPPORTED_ALG);
	EXPECT_DETAIL("algorithm not allowed for this issuer");
	/* ES384 header over a P-256 key (alg/curve mismatch). */
	EXPECT_TOK("/api", mint(&F.ec, JWS_ALG_ES256, hdr("ES384", "ec-a"),
	    MAIN("")), REASON_TOKEN_UNSUPPORTED_ALG);
}

/* ---- S4: ECDSA signature forms ------------------------------------------- */

static const uint8_t p256_n[32] = {
	0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84,
	0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
};

static void
test_s4_ecdsa_forms(void **state)
{
	const char *h = hdr("ES256", "ec-a"), *p = MAIN("");
	uint8_t good[64], s[200], der[80];
	char t[TOKMAX];
	size_t n = signing_input(h, p, t), dl;

	(void)state;
	assert_int_equal(sign(&F.ec, JWS_ALG_ES256, t, n, good), 64);
	EXPECT_TOK("/api", with_sig(h, p, good, 64), REASON_OK);

	/* Psychic signature: all zero, r = s = 0. */
	memset(s, 0, 64);
	EXPECT_TOK("/api", with_sig(h, p, s, 64), REASON_SIGNATURE_INVALID);
	/* r = 0 with the real s; the real r with s = 0. */
	memcpy(s + 32, good + 32, 32);
	EXPECT_TOK("/api", with_sig(h, p, s, 64), REASON_SIGNATURE_INVALID);
	memcpy(s, good, 32);
	memset(s + 32, 0, 32);
	EXPECT_TOK("/api", with_sig(h, p, s, 64), REASON_SIGNATURE_INVALID);
	/* r = s = n, r = s = n - 1, r = n with the real s. */
	memcpy(s, p256_n, 32);
	memcpy(s + 32, p256_n, 32);
	EXPECT_TOK("/api", with_sig(h, p, s, 64), REASON_SIGNATURE_INVALID);
	s[31]--;
	s[63]--;
	EXPECT_TOK("/api", with_sig(h, p, s, 64), REASON_SIGNATURE_INVALID);
	memcpy(s, p256_n, 32);
	memcpy(s + 32, good + 32, 32);
	EXPECT_TOK("/api", with_sig(h, p, s, 64), REASON_SIGNATURE_INVALID);
	/* DER in place of R||S: OpenSSL's own encoding of this very
	 * signature, and Wycheproof's "MAYCAQACAQA" (r = s = 0). */
	{
		ECDSA_SIG *es = ECDSA_SIG_new();
		BIGNUM *r = BN_bin2bn(good, 32, NULL), *ss = BN_bin2bn(good + 32,
		    32, NULL);
		uint8_t *dp = der;

		assert_int_equal(ECDSA_SIG_set0(es, r, ss), 1);
		dl = (size_t)i2d_ECDSA_SIG(es, &dp);
		assert_true(dl >= 8 && dl <= 72);
		ECDSA_SIG_free(es);
		EXPECT_TOK("/api", with_sig(h, p, der, dl),
		    REASON_SIGNATURE_INVALID);
	}
	{
		static const uint8_t zero_der[] = { 0x30, 0x06, 0x02, 0x01, 0x00,
		    0x02, 0x01, 0x00 };
		EXPECT_TOK("/api", with_sig(h, p, zero_der, sizeof(zero_der)),
		    REASON_SIGNATURE_INVALID);
	}
	/* Wrong lengths: 63, 65 (trailing zero), 65 (leading zero), 66,
	 * 128 (doubled), 96 (an ES384 length). */
	EXPECT_TOK("/api", with_sig(h, p, good, 63), REASON_SIGNATURE_INVALID);
	memcpy(s, good, 64);
	s[64] = 0;
	s[65] = 0;
	EXPECT_TOK("/api", with_sig(h, p, s, 65), REASON_SIGNATURE_INVALID);
	EXPECT_TOK("/api", with_sig(h, p, s, 66), REASON_SIGNATURE_INVALID);
	s[0] = 0;
	memcpy(s + 1, good, 64);
	EXPECT_TOK("/api", with_sig(h, p, s, 65), REASON_SIGNATURE_INVALID);
	memcpy(s, good, 64);
	memcpy(s + 64, good, 64);
	EXPECT_TOK("/api", with_sig(h, p, s, 128), REASON_SIGNATURE_INVALID);
	memset(s + 64, 0, 32);
	EXPECT_TOK("/api", with_sig(h, p, s, 96), REASON_SIGNATURE_INVALID);
	/* One bit anywhere. */
	for (size_t i = 0; i < 64; i += 7) {
		memcpy(s, good, 64);
		s[i] ^= 0x10;
		EXPECT_TOK("/api", with_sig(h, p, s, 64),
		    REASON_SIGNATURE_INVALID);
	}
}

/* ---- S5: PKCS#1 v1.5 and PSS malleations ------------------------------- */

/* s = em^d mod n with OpenSSL (no padding): a signature over any EM. */
static void
rsa_raw(const uint8_t em[256], uint8_t sig[256])
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(F.rsa.pk, NULL);
	size_t sl = 256;

	assert_non_null(c);
	assert_int_equal(EVP_PKEY_sign_init(c), 1);
	assert_true(EVP_PKEY_CTX_set_rsa_padding(c, RSA_NO_PADDING) > 0);
	assert_int_equal(EVP_PKEY_sign(c, sig, &sl, em, 256), 1);
	assert_int_equal(sl, 256);
	EVP_PKEY_CTX_free(c);
}

/* EM = 00 ${bt} FF.. 00 ${di} ${h} ${tail}, 256 bytes. */
static void
build_em(uint8_t em[256], uint8_t bt, const uint8_t *di, size_t dil,
    const uint8_t *h, size_t hl, const uint8_t *tail, size_t tl)
{
	size_t ps = 256 - 3 - dil - hl - tl, n = 0;

	em[n++] = 0x00;
	em[n++] = bt;
	memset(em + n, 0xff, ps);
	n += ps;
	em[n++] = 0x00;
	memcpy(em + n, di, dil);
	n += dil;
	memcpy(em + n, h, hl);
	n += hl;
	if (tl > 0)
		memcpy(em + n, tail, tl);
	n += tl;
	assert_int_equal(n, 256);
}

static void
test_s5_rsa_malleations(void **state)
{
	static const uint8_t di[] = { 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60,
	    0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04,
	    0x20 };
	static const uint8_t di_nonull[] = { 0x30, 0x2f, 0x30, 0x0b, 0x06, 0x09,
	    0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x04, 0x20 };
	static const uint8_t di_long[] = { 0x30, 0x81, 0x31, 0x30, 0x0d, 0x06,
	    0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
	    0x00, 0x04, 0x20 };
	static const uint8_t di_sha512oid[] = { 0x30, 0x31, 0x30, 0x0d, 0x06,
	    0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05,
	    0x00, 0x04, 0x20 };
	const char *h = hdr("RS256", "rsa-a"), *p = MAIN("");
	uint8_t em[256], sig[300], hash[32];
	char t[TOKMAX];
	size_t n = signing_input(h, p, t);

	(void)state;
	assert_non_null(EVP_Digest(t, n, hash, NULL, EVP_sha256(), NULL));

	/* The correct encoding, made by hand: verifies (so the cases below
	 * fail for their one change, not for a mistake in build_em). */
	build_em(em, 0x01, di, sizeof(di), hash, 32, NULL, 0);
	rsa_raw(em, sig);
	EXPECT_TOK("/api", with_sig(h, p, sig, 256), REASON_OK);

	/* DigestInfo without the NULL parameters. */
	build_em(em, 0x01, di_nonull, sizeof(di_nonull), hash, 32, NULL, 0);
	rsa_raw(em, sig);
	EXPECT_TOK("/api", with_sig(h, p, sig, 256), REASON_SIGNATURE_INVALID);
	/* BER long-form length of the outer SEQUENCE. */
	build_em(em, 0x01, di_long, sizeof(di_long), hash, 32, NULL, 0);
	rsa_raw(em, sig);
	EXPECT_TOK("/api", with_sig(h, p, sig, 256), REASON_SIGNATURE_INVALID);
	/* Garbage after the hash (Bleichenbacher 2006). */
	build_em(em, 0x01, di, sizeof(di), hash, 32,
	    (const uint8_t *)"GARBAGE!", 8);
	rsa_raw(em, sig);
	EXPECT_TOK("/api", with_sig(h, p, sig, 256), REASON_SIGNATURE_INVALID);
	/* Block type 02 (encryption padding). */
	build_em(em, 0x02, di, sizeof(di), hash, 32, NULL, 0);
	rsa_raw(em, sig);
	EXPECT_TOK("/api", with_sig(h, p, sig, 256), REASON_SIGNATURE_INVALID);
	/* One padding byte not FF. */
	build_em(em, 0x01, di, sizeof(di), hash, 32, NULL, 0);
	em[100] = 0xfe;
	rsa_raw(em, sig);
	EXPECT_TOK("/api", with_sig(h, p, sig, 256), REASON_SIGNATURE_INVALID);
	/* SHA-512's OID around a SHA-256 hash. */
	build_em(em, 0x01, di_sha512oid, sizeof(di_sha512oid), hash, 32, NULL,
	    0);
	rsa_raw(em, sig);
	EXPECT_TOK("/api", with_sig(h, p, sig, 256), REASON_SIGNATURE_INVALID);

	/* Signature-level: a leading zero byte (257 bytes), the last byte
	 * dropped (255), s = n. */
	build_em(em, 0x01, di, sizeof(di), hash, 32, NULL, 0);
	rsa_raw(em, sig + 1);
	sig[0] = 0;
	EXPECT_TOK("/api", with_sig(h, p, sig, 257), REASON_SIGNATURE_INVALID);
	EXPECT_TOK("/api", with_sig(h, p, sig + 1, 255),
	    REASON_SIGNATURE_INVALID);
	assert_int_equal(bn_param(F.rsa.pk, OSSL_PKEY_PARAM_RSA_N, sig, 256),
	    256);
	EXPECT_TOK("/api", with_sig(h, p, sig, 256), REASON_SIGNATURE_INVALID);

	/* PSS: salt length 0 and 64 instead of the hash length (32), and
	 * MGF1 with SHA-1; then the correct one. */
	h = hdr("PS256", "rsa-a");
	n = signing_input(h, p, t);
	assert_int_equal(sign_pss(&F.rsa, JWS_ALG_PS256, t, n, sig, 0, NULL),
	    256);
	EXPECT_TOK("/api", with_sig(h, p, sig, 256), REASON_SIGNATURE_INVALID);
	assert_int_equal(sign_pss(&F.rsa, JWS_ALG_PS256, t, n, sig, 64, NULL),
	    256);
	EXPECT_TOK("/api", with_sig(h, p, sig, 256), REASON_SIGNATURE_INVALID);
	assert_int_equal(sign_pss(&F.rsa, JWS_ALG_PS256, t, n, sig, 32,
	    EVP_sha1()), 256);
	EXPECT_TOK("/api", with_sig(h, p, sig, 256), REASON_SIGNATURE_INVALID);
	assert_int_equal(sign_pss(&F.rsa, JWS_ALG_PS256, t, n, sig, 32, NULL),
	    256);
	EXPECT_TOK("/api", with_sig(h, p, sig, 256), REASON_OK);
	/* A PKCS#1 v1.5 signature under a PS256 header and vice versa. */
	assert_int_equal(sign(&F.rsa, JWS_ALG_RS256, t, n, sig), 256);
	EXPECT_TOK("/api", with_sig(h, p, sig, 256), REASON_SIGNATURE_INVALID);
}

/* ---- S6: kid injection, and when a refetch may be asked for -------------- */

static void
test_s6_kid_injection(void **state)
{
	static const char *const kids[] = {
		"../../../../dev/null", "/dev/null", "x' UNION SELECT 'k",
		"rsa-a%00", "RSA-A", "rsa-a ", " rsa-a", "http://evil/jwks.json",
		"rsa-a\\/", "*",
	};
	struct decide_env env;
	char *a;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(kids); i++) {
		EXPECT_TOK("/api", mint(&F.rsa, JWS_ALG_RS256, hdr("RS256",
		    kids[i]), MAIN("")), REASON_KEY_UNKNOWN);
		EXPECT_DETAIL("kid unknown after refresh; check the token's "
		    "issuer, audience and type");
	}
	/* Traversal kid with an HMAC over an empty key. */
	EXPECT_TOK("/api", with_sig(hdr("HS256", "../../../../dev/null"),
	    MAIN(""), (const uint8_t *)"", 0), REASON_TOKEN_MALFORMED);
	{
		uint8_t mac[32];
		unsigned int ml;
		char t[TOKMAX];
		const char *h = hdr("HS256", "../../../../dev/null");
		size_t n = signing_input(h, MAIN(""), t);

		assert_non_null(HMAC(EVP_sha256(), "", 0, (uint8_t *)t, n, mac,
		    &ml));
		EXPECT_TOK("/api", with_sig(h, MAIN(""), mac, ml),
		    REASON_TOKEN_UNSUPPORTED_ALG);
	}
	/* NUL inside the kid (escaped), and a 10 KB kid: malformed. */
	EXPECT_TOK("/api", mint(&F.rsa, JWS_ALG_RS256, hdr("RS256",
	    "rsa-a\\u0000x"), MAIN("")), REASON_TOKEN_MALFORMED);
	{
		char *big = malloc(5001);
		assert_non_null(big);
		memset(big, 'k', 5000);
		big[5000] = '\0';
		EXPECT_TOK("/api", mint(&F.rsa, JWS_ALG_RS256, hdr("RS256", big),
		    MAIN("")), REASON_TOKEN_MALFORMED);
		free(big);
	}

	/* may_park on a jwks_file issuer: never parked, the file is all
	 * there is. */
	a = bearer(mint(&F.rsa, JWS_ALG_RS256, hdr("RS256", "../x"), MAIN("")));
	assert_int_equal(decide_authz(F.snap, "/api", a, NOW, NULL, true,
	    &env), DECIDE_DONE);
	EXPECT(REASON_KEY_UNKNOWN);
	free(a);

	/* A remote issuer: an unknown kid parks the request (once), when
	 * the refetch gate is open. */
	a = bearer(mint(&F.ec, JWS_ALG_ES256, hdr("ES256", "../../etc/passwd"),
	    claims("https://remote.example", AUD, "")));
	assert_int_equal(decide_authz(F.snap, "/remote", a, NOW, NULL, true,
	    &env), DECIDE_PARK);
	assert_int_equal(env.park_issuer, I_REMOTE);
	/* The kid reported for the refetch is a copy that outlives the
	 * decision (regression: it pointed into the freed token header). */
	assert_int_equal(env.park_kid_len, strlen("../../etc/passwd"));
	{
		char kid[DECIDE_KID_MAX + 1];

		memcpy(kid, env.park_kid, env.park_kid_len);
		kid[env.park_kid_len] = '\0';
		assert_string_equal(kid, "../../etc/passwd");
	}
	/* Not when the request was parked already. */
	assert_int_equal(decide_authz(F.snap, "/remote", a, NOW, NULL, false,
	    &env), DECIDE_DONE);
	EXPECT(REASON_KEY_UNKNOWN);
	/* There is no issuer-wide cooldown any more: a refetch that just
	 * ended does not stop the next unknown kid from parking (the
	 * fetcher paces the fetches, and its negative cache answers repeated
	 * kids; a flood of random kids must not delay a new key). */
	snapshot_set_kid_served(F.snap, I_REMOTE, INT64_MAX);
	assert_int_equal(decide_authz(F.snap, "/remote", a, NOW, NULL, true,
	    &env), DECIDE_PARK);
	snapshot_set_kid_served(F.snap, I_REMOTE, 0);
	free(a);
	/* The remote issuer's known kid verifies. */
	EXPECT_TOK("/remote", mint(&F.ec, JWS_ALG_ES256, hdr("ES256", "ec-r"),
	    claims("https://remote.example", AUD, "")), REASON_OK);
}

/* ---- S7: keys carried by the token are never trusted -------------------- */

static void
test_s7_embedded_keys(void **state)
{
	char *evil = jwk_of(F.ec_evil.pk, "ec-a", "");
	char h[8192];
	struct decide_env env;
	char *a;

	(void)state;
	/* Re-signed with the attacker's key, which it carries in "jwk",
	 * under our kid: the signature is checked with OUR ec-a. */
	snprintf(h, sizeof(h), "{\"alg\":\"ES256\",\"kid\":\"ec-a\",\"jwk\":%s}",
	    evil);
	EXPECT_TOK("/api", mint(&F.ec_evil, JWS_ALG_ES256, h, MAIN("")),
	    REASON_SIGNATURE_INVALID);
	/* Without a kid: our keys for ES256 are tried, not the jwk. */
	snprintf(h, sizeof(h), "{\"alg\":\"ES256\",\"jwk\":%s}", evil);
	EXPECT_TOK("/api", mint(&F.ec_evil, JWS_ALG_ES256, h, MAIN("")),
	    REASON_SIGNATURE_INVALID);
	/* Under its own kid: unknown to us. */
	snprintf(h, sizeof(h), "{\"alg\":\"ES256\",\"kid\":\"evil\",\"jwk\":%s}",
	    evil);
	EXPECT_TOK("/api", mint(&F.ec_evil, JWS_ALG_ES256, h, MAIN("")),
	    REASON_KEY_UNKNOWN);
	/* jku / x5u pointing at the attacker: nothing is fetched, the kid
	 * stays unknown, and no refetch is asked for either. */
	snprintf(h, sizeof(h), "{\"alg\":\"ES256\",\"kid\":\"evil\","
	    "\"jku\":\"http://169.254.169.254/latest/meta-data\","
	    "\"x5u\":\"file:///etc/passwd\"}");
	a = bearer(mint(&F.ec_evil, JWS_ALG_ES256, h, MAIN("")));
	assert_int_equal(decide_authz(F.snap, "/api", a, NOW, NULL, true,
	    &env), DECIDE_DONE);
	EXPECT(REASON_KEY_UNKNOWN);
	free(a);
	/* x5c with a made-up certificate, signed by the attacker under our
	 * kid: signature_invalid. */
	snprintf(h, sizeof(h), "{\"alg\":\"ES256\",\"kid\":\"ec-a\","
	    "\"x5c\":[\"MIIBkTCB+wIJAKHHIG...\"]}");
	EXPECT_TOK("/api", mint(&F.ec_evil, JWS_ALG_ES256, h, MAIN("")),
	    REASON_SIGNATURE_INVALID);
	/* The same headers on a token OUR key signed change nothing. */
	snprintf(h, sizeof(h), "{\"alg\":\"ES256\",\"kid\":\"ec-a\",\"jwk\":%s,"
	    "\"jku\":\"https://evil/\",\"x5u\":\"https://evil/\","
	    "\"x5c\":[\"AAAA\"],\"x5t\":\"AAAA\",\"x5t#S256\":\"AAAA\"}", evil);
	EXPECT_TOK("/api", mint(&F.ec, JWS_ALG_ES256, h, MAIN("")), REASON_OK);
	free(evil);
}

/* ---- S8: crit ------------------------------------------------------------ */

static void
test_s8_crit(void **state)
{
	static const char *const hdrs[] = {
		"{\"alg\":\"RS256\",\"kid\":\"rsa-a\",\"crit\":[\"exp\"],\"exp\":1}",
		"{\"alg\":\"RS256\",\"kid\":\"rsa-a\",\"crit\":[]}",
		"{\"alg\":\"RS256\",\"kid\":\"rsa-a\",\"crit\":\"b64\"}",
		"{\"alg\":\"RS256\",\"kid\":\"rsa-a\",\"crit\":[\"b64\"],\"b64\":false}",
		"{\"alg\":\"RS256\",\"kid\":\"rsa-a\",\"b64\":true}",
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(hdrs); i++)
		EXPECT_TOK("/api", mint(&F.rsa, JWS_ALG_RS256, hdrs[i],
		    MAIN("")), REASON_TOKEN_MALFORMED);
	run("/api", mint(&F.rsa, JWS_ALG_RS256, hdrs[0], MAIN("")));
	EXPECT_DETAIL("crit header is not supported");
}

/* ---- S9, S10: JWE and the JSON serialization ----------------------------- */

static void
test_s9_s10_jwe_json(void **state)
{
	char t[TOKMAX], b[256];

	(void)state;
	/* A 5-part compact JWE. */
	b64u_str("{\"alg\":\"RSA-OAEP\",\"enc\":\"A256GCM\"}", b);
	snprintf(t, sizeof(t), "%s.AAAA.BBBB.CCCC.DDDD", b);
	EXPECT_TOK("/api", t, REASON_TOKEN_MALFORMED);
	EXPECT_DETAIL("five segments: JWE is not supported");
	/* A JWE header in three parts: its alg is no JWS alg. */
	EXPECT_TOK("/api", mint(&F.rsa, JWS_ALG_RS256,
	    "{\"alg\":\"RSA-OAEP\",\"enc\":\"A256GCM\"}", MAIN("")),
	    REASON_TOKEN_UNSUPPORTED_ALG);
	/* A JWS alg with "enc", validly signed. */
	EXPECT_TOK("/api", mint(&F.rsa, JWS_ALG_RS256,
	    "{\"alg\":\"RS256\",\"kid\":\"rsa-a\",\"enc\":\"A256GCM\"}",
	    MAIN("")), REASON_TOKEN_MALFORMED);
	/* S10: JSON serialization, flattened and general, and a hybrid. */
	{
		static const char *const authz[] = {
			("Bearer {\"payload\":\"eyJ9\",\"protected\":\"eyJ9\","
			    "\"signature\":\"AAAA\"}"),
			"Bearer {\"payload\":\"eyJ9\",\"signatures\":[]}",
			"Bearer eyJhbGciOiJSUzI1NiJ9.e30.{\"signature\":\"x\"}",
		};
		for (size_t i = 0; i < ARRAY_SIZE(authz); i++) {
			assert_int_equal(decide_authz(F.snap, "/api", authz[i],
			    NOW, NULL, false, NULL), DECIDE_DONE);
			EXPECT(REASON_TOKEN_MALFORMED);
		}
	}
	/* The JSON form as a token68 (no spaces, no quotes needed): the
	 * parser still refuses it. */
	EXPECT_TOK("/api", "{payload}", REASON_TOKEN_MALFORMED);
}

/* ---- S11: size and depth ------------------------------------------------- */

static void
test_s11_size_bombs(void **state)
{
	char *big, *p;
	size_t n;

	(void)state;
	/* A 1 MB token: refused on length (max_token_bytes 8192). */
	big = malloc(1024 * 1024 + 1);
	assert_non_null(big);
	memset(big, 'A', 1024 * 1024);
	big[1000] = '.';
	big[2000] = '.';
	big[1024 * 1024] = '\0';
	EXPECT_TOK("/api", big, REASON_TOKEN_MALFORMED);
	EXPECT_DETAIL("malformed bearer token");
	free(big);
	/* zip */
	EXPECT_TOK("/api", mint(&F.rsa, JWS_ALG_RS256,
	    "{\"alg\":\"RS256\",\"kid\":\"rsa-a\",\"zip\":\"DEF\"}", MAIN("")),
	    REASON_TOKEN_MALFORMED);
	/* 2000-deep nesting in a validly signed payload. */
	p = jbuf();
	n = (size_t)snprintf(p, 8192, "{\"iss\":\"%s\",\"x\":", MAIN_ISS);
	for (int i = 0; i < 2000; i++)
		p[n++] = '[';
	for (int i = 0; i < 2000; i++)
		p[n++] = ']';
	snprintf(p + n, 8192 - n, "}");
	EXPECT_TOK("/api", mint(&F.ec, JWS_ALG_ES256, hdr("ES256", "ec-a"), p),
	    REASON_TOKEN_MALFORMED);
	EXPECT_DETAIL("payload: nesting too deep");
	/* An aud array past the member cap (2048), validly signed. */
	p = jbuf();
	n = (size_t)snprintf(p, 8192, "{\"iss\":\"%s\",\"aud\":[", MAIN_ISS);
	for (int i = 0; i < 2100; i++)
		n += (size_t)snprintf(p + n, 8192 - n, "%s0", i ? "," : "");
	snprintf(p + n, 8192 - n, "]}");
	EXPECT_TOK("/api", mint(&F.ec, JWS_ALG_ES256, hdr("ES256", "ec-a"), p),
	    REASON_TOKEN_MALFORMED);
	/* 300 audiences (under the cap, over CLAIMS_AUD_MAX 256) with ours
	 * last: not accepted either. */
	p = jbuf();
	n = (size_t)snprintf(p, 8192, "{\"iss\":\"%s\",\"exp\":%lld,\"aud\":[",
	    MAIN_ISS, (long long)NOW + 60);
	for (int i = 0; i < 300; i++)
		n += (size_t)snprintf(p + n, 8192 - n, "\"a\",");
	snprintf(p + n, 8192 - n, "\"api://orders\"]}");
	EXPECT_TOK("/api", mint(&F.ec, JWS_ALG_ES256, hdr("ES256", "ec-a"), p),
	    REASON_AUDIENCE_MISMATCH);
}

/* ---- S12: duplicate keys ------------------------------------------------- */

static void
test_s12_duplicate_keys(void **state)
{
	(void)state;
	/* Payload: sub twice (cJSON would keep the first). */
	EXPECT_TOK("/api", mint(&F.ec, JWS_ALG_ES256, hdr("ES256", "ec-a"),
	    MAIN(",\"sub\":\"admin\"")), REASON_TOKEN_MALFORMED);
	EXPECT_DETAIL("payload: duplicate key");
	/* iss twice, the second one ours. */
	EXPECT_TOK("/api", mint(&F.ec, JWS_ALG_ES256, hdr("ES256", "ec-a"),
	    claims_raw("{\"iss\":\"https://evil\",\"iss\":\"" MAIN_ISS "\"}")),
	    REASON_TOKEN_MALFORMED);
	/* Header: alg twice. */
	EXPECT_TOK("/api", mint(&F.rsa, JWS_ALG_RS256,
	    "{\"alg\":\"RS256\",\"kid\":\"rsa-a\",\"alg\":\"none\"}", MAIN("")),
	    REASON_TOKEN_MALFORMED);
	/* Inside cnf. */
	EXPECT_TOK("/api", mint(&F.ec, JWS_ALG_ES256, hdr("ES256", "ec-a"),
	    MAIN(",\"cnf\":{\"x5t#S256\":\"a\",\"x5t#S256\":\"b\"}")),
	    REASON_TOKEN_MALFORMED);
	/* Same name through an escape: still a duplicate. */
	EXPECT_TOK("/api", mint(&F.ec, JWS_ALG_ES256, hdr("ES256", "ec-a"),
	    MAIN(",\"s\\u0075b\":\"admin\"")), REASON_TOKEN_MALFORMED);
	/* Names differing in case are different claims. */
	EXPECT_TOK("/api", mint(&F.ec, JWS_ALG_ES256, hdr("ES256", "ec-a"),
	    MAIN(",\"SUB\":\"admin\"")), REASON_OK);
	EXPECT_VAR("sub", "alice");
}

/* ---- S13: canonical base64url -------------------------------------------- */

static void
test_s13_noncanonical_b64(void **state)
{
	const char *good = mint(&F.ec, JWS_ALG_ES256, hdr("ES256", "ec-a"),
	    MAIN(""));
	char t[TOKMAX];
	size_t n = strlen(good);

	(void)state;
	memcpy(t, good, n + 1);
	EXPECT_TOK("/api", t, REASON_OK);
	/* '=' padding after the signature (a token68 may end in '='). */
	memcpy(t + n, "==", 3);
	EXPECT_TOK("/api", t, REASON_TOKEN_MALFORMED);
	/* The signature (86 characters for 64 bytes): its last character
	 * carries 4 unused bits; set one. */
	memcpy(t, good, n + 1);
	{
		static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "abcdefghijklmnopqrstuvwxyz0123456789-_";
		const char *pos = strchr(alpha, t[n - 1]);

		assert_non_null(pos);
		t[n - 1] = alpha[((size_t)(pos - alpha)) | 1];
		EXPECT_TOK("/api", t, REASON_TOKEN_MALFORMED);
	}
	/* '+' and '/' in place of '-' and '_'. */
	memcpy(t, good, n + 1);
	for (size_t i = 0; i < n; i++) {
		if (t[i] == '-')
			t[i] = '+';
		else if (t[i] == '_')
			t[i] = '/';
	}
	if (strcmp(t, good) != 0)
		EXPECT_TOK("/api", t, REASON_TOKEN_MALFORMED);
	else
		EXPECT_TOK("/api", "eyJhbGciOiJFUzI1NiJ9+.e30.AAAA",
		    REASON_TOKEN_MALFORMED);
	/* Wycheproof tc 374's payload "AB" (unused bits set). */
	{
		const char *h = hdr("ES256", "ec-a");
		char hb[256];

		b64u_str(h, hb);
		snprintf(t, sizeof(t), "%s.AB.AAAA", hb);
		EXPECT_TOK("/api", t, REASON_TOKEN_MALFORMED);
	}
	/* Whitespace inside the decoded JSON is fine (tc 376). */
	EXPECT_TOK("/api", mint(&F.ec, JWS_ALG_ES256,
	    "{ \"alg\" : \"ES256\" ,\r\n \"kid\" : \"ec-a\" }",
	    claims_raw("{ \"iss\" : \"" MAIN_ISS "\" ,\n\t\"aud\" : \"api://orders\","
	    " \"exp\" : 1700000600 }")), REASON_OK);
}

/* ---- S14: numeric dates ---------------------------------------------------- */

static const char *
dated(const char *members)
{
	char *p = jbuf();

	snprintf(p, 8192, "{\"iss\":\"%s\",\"aud\":\"api://orders\"%s}",
	    MAIN_ISS, members);
	return (p);
}

#define ES_TOK(p)	mint(&F.ec, JWS_ALG_ES256, hdr("ES256", "ec-a"), (p))

static void
test_s14_numeric_dates(void **state)
{
	(void)state;
	EXPECT_TOK("/api", ES_TOK(dated(",\"exp\":\"9999999999\"")),
	    REASON_TOKEN_MALFORMED);
	EXPECT_DETAIL("exp is not a valid NumericDate");
	EXPECT_TOK("/api", ES_TOK(dated(",\"exp\":1e400")),
	    REASON_TOKEN_MALFORMED);
	EXPECT_TOK("/api", ES_TOK(dated(",\"exp\":-1")), REASON_TOKEN_MALFORMED);
	EXPECT_TOK("/api", ES_TOK(dated(",\"exp\":null")),
	    REASON_TOKEN_MALFORMED);
	EXPECT_TOK("/api", ES_TOK(dated(",\"exp\":[1900000000]")),
	    REASON_TOKEN_MALFORMED);
	EXPECT_TOK("/api", ES_TOK(dated(",\"exp\":NaN")),
	    REASON_TOKEN_MALFORMED);
	/* Past 9999-12-31. */
	EXPECT_TOK("/api", ES_TOK(dated(",\"exp\":253402300800")),
	    REASON_TOKEN_MALFORMED);
	/* Fractional, beyond INT_MAX, far future but in range: fine. */
	EXPECT_TOK("/api", ES_TOK(dated(",\"exp\":1700000600.5")), REASON_OK);
	EXPECT_TOK("/api", ES_TOK(dated(",\"exp\":2147483648")), REASON_OK);
	EXPECT_TOK("/api", ES_TOK(dated(",\"exp\":253402300799")), REASON_OK);
	EXPECT_TOK("/api", ES_TOK(dated(",\"exp\":1.7000006e9")), REASON_OK);
	/* A fraction past the boundary: exp + skew = now + 0.5 -> valid
	 * until then. */
	assert_int_equal(run_s(F.snap, "/api", ES_TOK(dated(
	    ",\"exp\":1699999940.5")), NOW, NULL), DECIDE_DONE);
	EXPECT(REASON_OK);
	assert_int_equal(run_s(F.snap, "/api", ES_TOK(dated(
	    ",\"exp\":1699999939.5")), NOW, NULL), DECIDE_DONE);
	EXPECT(REASON_TOKEN_EXPIRED);
	/* In the past, in scientific notation. */
	EXPECT_TOK("/api", ES_TOK(dated(",\"exp\":1.5e9")), REASON_TOKEN_EXPIRED);
	/* exp required (the default) and missing. */
	EXPECT_TOK("/api", ES_TOK(dated("")), REASON_TOKEN_MALFORMED);
	EXPECT_DETAIL("exp missing");
	/* The hs issuer has require_exp false. */
	EXPECT_TOK("/api", mint(&F.hs, JWS_ALG_HS256, hdr("HS256", NULL),
	    claims_raw("{\"iss\":\"https://hs.example\",\"aud\":\"api://hs\"}")),
	    REASON_OK);
	/* nbf and iat are NumericDates too. */
	EXPECT_TOK("/api", ES_TOK(dated(",\"exp\":1700000600,\"nbf\":\"0\"")),
	    REASON_TOKEN_MALFORMED);
	EXPECT_DETAIL("nbf is not a valid NumericDate");
	EXPECT_TOK("/api", ES_TOK(dated(",\"exp\":1700000600,\"iat\":true")),
	    REASON_TOKEN_MALFORMED);
	EXPECT_DETAIL("iat is not a valid NumericDate");
	EXPECT_TOK("/api", ES_TOK(dated(",\"exp\":1700000600,\"nbf\":1e999")),
	    REASON_TOKEN_MALFORMED);
}

/* ---- S15: token type ----------------------------------------------------- */

static void
test_s15_typ_and_id_token(void **state)
{
	const char *p = claims("https://typed.example", "\"api://typed\"", "");

	(void)state;
	EXPECT_TOK("/api", mint(&F.ec, JWS_ALG_ES256,
	    "{\"alg\":\"ES256\",\"kid\":\"ec-a\",\"typ\":\"at+jwt\"}", p),
	    REASON_OK);
	EXPECT_TOK("/api", mint(&F.ec, JWS_ALG_ES256,
	    "{\"alg\":\"ES256\",\"kid\":\"ec-a\",\"typ\":\"application/at+jwt\"}",
	    p), REASON_OK);
	EXPECT_TOK("/api", mint(&F.ec, JWS_ALG_ES256,
	    "{\"alg\":\"ES256\",\"kid\":\"ec-a\",\"typ\":\"AT+JWT\"}", p),
	    REASON_OK);
	EXPECT_TOK("/api", mint(&F.ec, JWS_ALG_ES256,
	    "{\"alg\":\"ES256\",\"kid\":\"ec-a\",\"typ\":\"JWT\"}", p),
	    REASON_TOKEN_MALFORMED);
	EXPECT_DETAIL("typ not accepted");
	EXPECT_TOK("/api", mint(&F.ec, JWS_ALG_ES256,
	    "{\"alg\":\"ES256\",\"kid\":\"ec-a\",\"typ\":\"logout+jwt\"}", p),
	    REASON_TOKEN_MALFORMED);
	EXPECT_TOK("/api", mint(&F.ec, JWS_ALG_ES256,
	    "{\"alg\":\"ES256\",\"kid\":\"ec-a\"}", p), REASON_TOKEN_MALFORMED);
	EXPECT_TOK("/api", mint(&F.ec, JWS_ALG_ES256,
	    "{\"alg\":\"ES256\",\"kid\":\"ec-a\",\"typ\":\"at+jwtx\"}", p),
	    REASON_TOKEN_MALFORMED);
	/* An ID token (aud = the client) presented as an access token. */
	EXPECT_TOK("/api", mint(&F.ec, JWS_ALG_ES256, hdr("ES256", "ec-a"),
	    claims(MAIN_ISS, "\"client-123\"", ",\"azp\":\"client-123\","
	    "\"nonce\":\"n-0S6_WzA2Mj\"")), REASON_AUDIENCE_MISMATCH);
	assert_non_null(strstr(V.www_authenticate, "error=\"invalid_token\""));
}

/* ---- S16: HMAC tags ------------------------------------------------------ */

static void
test_s16_hmac_flips(void **state)
{
	const char *h = hdr("HS256", NULL);
	const char *p = claims("https://hs.example", "\"api://hs\"", "");
	uint8_t mac[64];
	char t[TOKMAX];
	size_t n = signing_input(h, p, t), ml;

	(void)state;
	ml = sign(&F.hs, JWS_ALG_HS256, t, n, mac);
	assert_int_equal(ml, 32);
	EXPECT_TOK("/api", with_sig(h, p, mac, 32), REASON_OK);
	mac[0] ^= 1;
	EXPECT_TOK("/api", with_sig(h, p, mac, 32), REASON_SIGNATURE_INVALID);
	mac[0] ^= 1;
	mac[31] ^= 0x80;
	EXPECT_TOK("/api", with_sig(h, p, mac, 32), REASON_SIGNATURE_INVALID);
	mac[31] ^= 0x80;
	EXPECT_TOK("/api", with_sig(h, p, mac, 31), REASON_SIGNATURE_INVALID);
	mac[32] = 0;
	EXPECT_TOK("/api", with_sig(h, p, mac, 33), REASON_SIGNATURE_INVALID);
	EXPECT_TOK("/api", with_sig(h, p, mac, 1), REASON_SIGNATURE_INVALID);
	/* The right tag under another secret. */
	EXPECT_TOK("/api", mint(&F.hs_other, JWS_ALG_HS256, h, p),
	    REASON_SIGNATURE_INVALID);
	/* HMAC keys have no kid: a kid changes nothing. */
	EXPECT_TOK("/api", mint(&F.hs, JWS_ALG_HS256, hdr("HS256", "any"), p),
	    REASON_OK);
	/* HS512 with a 40-byte secret: the secret is shorter than the hash,
	 * and the issuer allows HS256 only anyway. */
	EXPECT_TOK("/api", mint(&F.hs, JWS_ALG_HS512, hdr("HS512", NULL), p),
	    REASON_TOKEN_UNSUPPORTED_ALG);
}

/* ---- S17: keys skipped at load ----------------------------------------- */

static void
test_s17_weak_keys(void **state)
{
	static const char *const kids[] = {
		"rsa-e1", "rsa-enc", "rsa-ops",
	};
	const char *log = F.load_log;

	(void)state;
	/* Each skipped key was reported by the loader, with its kid. */
	assert_non_null(strstr(log, "(kid \"rsa-1024\") skipped"));
	assert_non_null(strstr(log, "(kid \"rsa-e1\") skipped"));
	assert_non_null(strstr(log, "(kid \"rsa-enc\") skipped"));
	assert_non_null(strstr(log, "(kid \"rsa-ops\") skipped"));
	assert_non_null(strstr(log, "issuer main: jwks_file: 4 keys loaded"));
	/* And tokens naming them find no key. */
	EXPECT_TOK("/api", mint(&F.rsa1024, JWS_ALG_RS256, hdr("RS256",
	    "rsa-1024"), MAIN("")), REASON_KEY_UNKNOWN);
	for (size_t i = 0; i < ARRAY_SIZE(kids); i++)
		EXPECT_TOK("/api", mint(&F.rsa, JWS_ALG_RS256, hdr("RS256",
		    kids[i]), MAIN("")), REASON_KEY_UNKNOWN);
	/* Without a kid, a 1024-bit signature meets only our 2048-bit key. */
	EXPECT_TOK("/api", mint(&F.rsa1024, JWS_ALG_RS256, hdr("RS256", NULL),
	    MAIN("")), REASON_SIGNATURE_INVALID);
}

/* ---- S18: structure ------------------------------------------------------ */

static void
test_s18_structural(void **state)
{
	static const char *const authz[] = {
		"Bearer", "Bearer ", "Bearer  ", "Bearer\tabc", "Bearer a b",
		"bearer a.b.c d",
	};
	static const char *const toks[] = {
		"abc", "a.b", "a.b.c.d", "..", "a..c", ".b.c", "a.b.",
		"eyJhbGciOiJSUzI1NiJ9..AAAA",
	};
	char b[256], t[TOKMAX];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(authz); i++) {
		assert_int_equal(decide_authz(F.snap, "/api", authz[i], NOW,
		    NULL, false, NULL), DECIDE_DONE);
		EXPECT(REASON_TOKEN_MALFORMED);
	}
	for (size_t i = 0; i < ARRAY_SIZE(toks); i++)
		EXPECT_TOK("/api", toks[i], REASON_TOKEN_MALFORMED);
	/* Header not an object, payload not an object, validly signed. */
	EXPECT_TOK("/api", mint(&F.ec, JWS_ALG_ES256, "\"ES256\"", MAIN("")),
	    REASON_TOKEN_MALFORMED);
	EXPECT_TOK("/api", mint(&F.ec, JWS_ALG_ES256, "[\"ES256\"]", MAIN("")),
	    REASON_TOKEN_MALFORMED);
	EXPECT_TOK("/api", mint(&F.ec, JWS_ALG_ES256, hdr("ES256", "ec-a"),
	    "\"foo\""), REASON_TOKEN_MALFORMED);
	EXPECT_TOK("/api", mint(&F.ec, JWS_ALG_ES256, hdr("ES256", "ec-a"),
	    "[1,2]"), REASON_TOKEN_MALFORMED);
	EXPECT_TOK("/api", mint(&F.ec, JWS_ALG_ES256, hdr("ES256", "ec-a"),
	    "foo"), REASON_TOKEN_MALFORMED);
	/* Not UTF-8 inside a claim. */
	EXPECT_TOK("/api", mint(&F.ec, JWS_ALG_ES256, hdr("ES256", "ec-a"),
	    MAIN(",\"name\":\"\xff\xfe\"")), REASON_TOKEN_MALFORMED);
	/* Trailing garbage after the JSON object. */
	snprintf(t, sizeof(t), "%s x", MAIN(""));
	EXPECT_TOK("/api", mint(&F.ec, JWS_ALG_ES256, hdr("ES256", "ec-a"), t),
	    REASON_TOKEN_MALFORMED);
	/* An empty signature on a real alg. */
	b64u_str(hdr("ES256", "ec-a"), b);
	snprintf(t, sizeof(t), "%s.e30.", b);
	EXPECT_TOK("/api", t, REASON_TOKEN_MALFORMED);
	/* No Authorization header, another scheme: token_missing. */
	assert_int_equal(decide_authz(F.snap, "/api", NULL, NOW, NULL, false,
	    NULL), DECIDE_DONE);
	EXPECT(REASON_TOKEN_MISSING);
	assert_int_equal(decide_authz(F.snap, "/api", "Basic YWxpY2U6cHc=", NOW,
	    NULL, false, NULL), DECIDE_DONE);
	EXPECT(REASON_TOKEN_MISSING);
	assert_int_equal(decide_authz(F.snap, "/api", "", NOW, NULL, false,
	    NULL), DECIDE_DONE);
	EXPECT(REASON_TOKEN_MISSING);
}

/* ---- S19: Entra tenants and key scoping ---------------------------------- */

static const char *
entra(const char *tenant_in_iss, const char *tid)
{
	char *p = jbuf();

	snprintf(p, 8192, "{\"iss\":\"https://login.microsoftonline.com/%s/v2.0\","
	    "\"aud\":\"api://orders\",\"sub\":\"alice\",\"tid\":\"%s\","
	    "\"exp\":%lld}", tenant_in_iss, tid, (long long)(NOW + 600));
	return (p);
}

static void
test_s19_entra_scoping(void **state)
{
	(void)state;
	/* T1's key signs for T1; the template key for any listed tenant. */
	EXPECT_TOK("/entra", mint(&F.ent_t1, JWS_ALG_ES256, hdr("ES256",
	    "entra-t1"), entra(T1, T1)), REASON_OK);
	EXPECT_VAR("tenant", T1);
	EXPECT_TOK("/entra", mint(&F.ent_any, JWS_ALG_ES256, hdr("ES256",
	    "entra-any"), entra(T2, T2)), REASON_OK);
	EXPECT_VAR("issuer", "https://login.microsoftonline.com/" T2 "/v2.0");
	/* T2's token signed with the key scoped to T1. */
	EXPECT_TOK("/entra", mint(&F.ent_t1, JWS_ALG_ES256, hdr("ES256",
	    "entra-t1"), entra(T2, T2)), REASON_ISSUER_UNKNOWN);
	EXPECT_DETAIL("key not valid for this issuer");
	/* tid disagrees with the tenant in iss; tid not a GUID; a tenant not
	 * in the issuer's list; the placeholder left in. */
	EXPECT_TOK("/entra", mint(&F.ent_t1, JWS_ALG_ES256, hdr("ES256",
	    "entra-t1"), entra(T1, T2)), REASON_ISSUER_UNKNOWN);
	EXPECT_TOK("/entra", mint(&F.ent_t1, JWS_ALG_ES256, hdr("ES256",
	    "entra-t1"), entra(T1, "not-a-guid")), REASON_ISSUER_UNKNOWN);
	EXPECT_TOK("/entra", mint(&F.ent_any, JWS_ALG_ES256, hdr("ES256",
	    "entra-any"), entra(T3, T3)), REASON_ISSUER_UNKNOWN);
	EXPECT_TOK("/entra", mint(&F.ent_any, JWS_ALG_ES256, hdr("ES256",
	    "entra-any"), entra("{tenant}", "{tenant}")), REASON_ISSUER_UNKNOWN);
	/* Upper-case GUID in iss and tid: the same tenant. */
	EXPECT_TOK("/entra", mint(&F.ent_t1, JWS_ALG_ES256, hdr("ES256",
	    "entra-t1"), entra("AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE",
	    "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee")), REASON_ISSUER_UNKNOWN);
	EXPECT_TOK("/entra", mint(&F.ent_any, JWS_ALG_ES256, hdr("ES256",
	    "entra-any"), entra("AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE",
	    "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee")), REASON_OK);
}

/*
 * A single-tenant config (exact issuers, v2 and v1) with Entra's key set,
 * whose keys carry "issuer": ".../{tenantid}/v2.0": the token's tid is put
 * in the key's template (as Microsoft.IdentityModel does), so T1's tokens
 * pass, v1 and v2, and a token whose tid is another tenant does not.
 */
static const char *
entra_one(const char *iss, const char *tid, const char *aud)
{
	char *p = jbuf();

	snprintf(p, 8192, "{\"iss\":\"%s\",\"aud\":\"%s\",\"sub\":\"alice\","
	    "\"tid\":\"%s\",\"exp\":%lld}", iss, aud, tid,
	    (long long)(NOW + 600));
	return (p);
}

static void
test_entra_single_tenant(void **state)
{
	const char *v2 = "https://login.microsoftonline.com/" T1 "/v2.0";
	const char *v1 = "https://sts.windows.net/" T1 "/";

	(void)state;
	EXPECT_TOK("/one", mint(&F.ent_any, JWS_ALG_ES256, hdr("ES256",
	    "entra-any"), entra_one(v2, T1, "api://one")), REASON_OK);
	EXPECT_VAR("tenant", T1);
	EXPECT_TOK("/one", mint(&F.ent_any, JWS_ALG_ES256, hdr("ES256",
	    "entra-any"), entra_one(v1, T1, "api://one")), REASON_OK);
	EXPECT_TOK("/one", mint(&F.ent_t1, JWS_ALG_ES256, hdr("ES256",
	    "entra-t1"), entra_one(v2, T1, "api://one")), REASON_OK);
	EXPECT_TOK("/one", mint(&F.ent_t1, JWS_ALG_ES256, hdr("ES256",
	    "entra-t1"), entra_one(v1, T1, "api://one")), REASON_OK);
	/* The token's tid is another tenant: the key is not T1's issuer's. */
	EXPECT_TOK("/one", mint(&F.ent_any, JWS_ALG_ES256, hdr("ES256",
	    "entra-any"), entra_one(v2, T2, "api://one")), REASON_ISSUER_UNKNOWN);
	EXPECT_DETAIL("key not valid for this issuer");
	EXPECT_TOK("/one", mint(&F.ent_any, JWS_ALG_ES256, hdr("ES256",
	    "entra-any"), entra_one(v1, T2, "api://one")), REASON_ISSUER_UNKNOWN);
	/* No tid: a templated key cannot be scoped, so it is not used. */
	{
		char *p = jbuf();

		snprintf(p, 8192, "{\"iss\":\"%s\",\"aud\":\"api://one\","
		    "\"sub\":\"alice\",\"exp\":%lld}", v2,
		    (long long)(NOW + 600));
		EXPECT_TOK("/one", mint(&F.ent_any, JWS_ALG_ES256,
		    hdr("ES256", "entra-any"), p), REASON_ISSUER_UNKNOWN);
	}
	/* Another tenant's issuer is not this config's. */
	EXPECT_TOK("/one", mint(&F.ent_any, JWS_ALG_ES256, hdr("ES256",
	    "entra-any"), entra_one("https://login.microsoftonline.com/" T2
	    "/v2.0", T2, "api://one")), REASON_ISSUER_UNKNOWN);
	/* Cache hits keep the same answer (still_valid rechecks the key's
	 * issuer with the cached tid). */
	{
		struct tokcache *tc = tokcache_new(16);
		const char *tok = mint(&F.ent_any, JWS_ALG_ES256, hdr("ES256",
		    "entra-any"), entra_one(v2, T1, "api://one"));

		for (int i = 0; i < 2; i++) {
			assert_int_equal(run_s(F.snap, "/one", tok, NOW, tc),
			    DECIDE_DONE);
			EXPECT(REASON_OK);
		}
		tokcache_free(tc);
	}
}

/*
 * A cached Entra token whose key is republished scoped to another tenant
 * (same kid, same key material, another "issuer"): the sweep of the new
 * key set drops it, and even unswept it is never a hit (still_valid()
 * checks the key's issuer against the record's iss and tid).
 */
static struct snapshot *new_snap(struct cfgref *r);

static void
test_cache_key_issuer_changed(void **state)
{
	struct tokcache *tc = tokcache_new(16);
	const char *tok = mint(&F.ent_t1, JWS_ALG_ES256, hdr("ES256",
	    "entra-t1"), entra(T1, T1));
	struct snapshot *s2 = new_snap(snapshot_cfgref(F.snap));
	char *jwks[] = { jwk_of(F.ent_t1.pk, "entra-t1", ",\"issuer\":"
	    "\"https://login.microsoftonline.com/" T2 "/v2.0\""), NULL };
	char *text = jwks_doc(jwks);
	struct keyset *ks = NULL;
	uint64_t hits;

	(void)state;
	assert_int_equal(jwks_parse(text, strlen(text), &ks, NULL), 0);
	free(text);
	/* The same key material: only its issuer differs. */
	assert_memory_equal(keyset_key(ks, 0)->fp, keyset_find(snapshot_keys(F.snap, I_ENTRA),
	    "entra-t1", 8)->fp, 32);
	for (size_t i = 0; i < I_COUNT; i++) {
		snapshot_set_keys(s2, i, i == I_ENTRA ? ks : snapshot_keys(F.snap, i),
		    snapshot_keys_at(F.snap, i));
		if (snapshot_hmac(F.snap, i) != NULL)
			snapshot_set_hmac(s2, i, keyset_ref(snapshot_hmac(F.snap, i)));
	}
	keyset_unref(ks);
	assert_int_equal(run_s(F.snap, "/entra", tok, NOW, tc), DECIDE_DONE);
	EXPECT(REASON_OK);
	assert_int_equal(tokcache_count(tc), 1);
	/* Unswept: a lookup under the new snapshot is no hit. */
	hits = STAT_GET(&STATS, token_cache_hits);
	assert_int_equal(run_s(s2, "/entra", tok, NOW, tc), DECIDE_DONE);
	EXPECT(REASON_ISSUER_UNKNOWN);
	EXPECT_DETAIL("key not valid for this issuer");
	assert_int_equal(STAT_GET(&STATS, token_cache_hits), hits);
	/* Cached again under the old snapshot, then swept for the new one:
	 * the entra issuer's key set changed, its entry goes. */
	assert_int_equal(run_s(F.snap, "/entra", tok, NOW, tc), DECIDE_DONE);
	EXPECT(REASON_OK);
	assert_int_equal(tokcache_count(tc), 1);
	assert_true(jwt_cache_sweep(tc, F.snap, s2));
	assert_int_equal(tokcache_count(tc), 0);
	snapshot_unref(s2);
	tokcache_free(tc);
}

/*
 * Provider shapes: Keycloak roles under realm_access and resource_access
 * (a client id with a dot), Auth0's URL-named claims and "permissions",
 * Okta's typ-less access tokens (typ [..., null]), APIM-style all/present
 * claim rules, and string claims of the wrong JSON type.
 */
static const char *
kc_claims(const char *extra)
{
	char *p = jbuf();

	snprintf(p, 8192, "{\"iss\":\"https://kc.example/realms/r\","
	    "\"aud\":\"api://kc\",\"sub\":\"u1\",\"exp\":%lld,"
	    "\"realm_access\":{\"roles\":[\"admin\",\"offline_access\"]},"
	    "\"resource_access\":{\"my.app\":{\"roles\":[\"client-reader\"]},"
	    "\"my\":{\"app\":{\"roles\":[\"decoy\"]}}},"
	    "\"scope\":\"openid profile\",\"permissions\":[\"read:orders\"],"
	    "\"https://example.com/roles\":[\"editor\",\"viewer\"],"
	    "\"groups\":[\"g1\",\"g2\",\"g3\"],\"email_verified\":false%s}",
	    (long long)(NOW + 600), extra);
	return (p);
}

static const char *
hdr_typ(const char *typ)
{
	char *h = jbuf();

	if (typ == NULL)
		snprintf(h, 8192, "{\"alg\":\"ES256\",\"kid\":\"ec-a\"}");
	else
		snprintf(h, 8192, "{\"alg\":\"ES256\",\"kid\":\"ec-a\","
		    "\"typ\":\"%s\"}", typ);
	return (h);
}

static void
test_provider_shapes(void **state)
{
	(void)state;
	EXPECT_TOK("/kc", mint(&F.ec, JWS_ALG_ES256, hdr_typ(NULL),
	    kc_claims("")), REASON_OK);
	EXPECT_VAR("roles", "admin offline_access client-reader");
	EXPECT_VAR("scopes", "openid profile read:orders");
	EXPECT_VAR("claim_app_roles", "editor viewer");
	EXPECT_VAR("claim_resource_access_my_app_roles", "client-reader");
	EXPECT_TOK("/kc", mint(&F.ec, JWS_ALG_ES256, hdr_typ("at+jwt"),
	    kc_claims("")), REASON_OK);
	EXPECT_TOK("/kc", mint(&F.ec, JWS_ALG_ES256, hdr_typ("application/at+jwt"),
	    kc_claims("")), REASON_OK);
	/* A typ that is not listed; null accepts only no typ at all. */
	EXPECT_TOK("/kc", mint(&F.ec, JWS_ALG_ES256, hdr_typ("JWT"),
	    kc_claims("")), REASON_TOKEN_MALFORMED);
	EXPECT_DETAIL("typ not accepted");
	EXPECT_TOK("/kc", mint(&F.ec, JWS_ALG_ES256, hdr_typ(""),
	    kc_claims("")), REASON_TOKEN_MALFORMED);
	/* The typed issuer (["at+jwt"]) still refuses a token without typ. */
	{
		char *p = jbuf();

		snprintf(p, 8192, "{\"iss\":\"https://typed.example\","
		    "\"aud\":\"api://typed\",\"exp\":%lld}",
		    (long long)(NOW + 600));
		EXPECT_TOK("/api", mint(&F.ec, JWS_ALG_ES256, hdr_typ(NULL), p),
		    REASON_TOKEN_MALFORMED);
		EXPECT_DETAIL("typ not accepted");
	}
	/* A role only under the decoy path ("my" > "app") is not the role of
	 * client "my.app". */
	{
		char *p = jbuf();

		snprintf(p, 8192, "{\"iss\":\"https://kc.example/realms/r\","
		    "\"aud\":\"api://kc\",\"exp\":%lld,\"realm_access\":"
		    "{\"roles\":[\"admin\"]},\"resource_access\":{\"my\":"
		    "{\"app\":{\"roles\":[\"client-reader\"]}}},"
		    "\"permissions\":[\"read:orders\"],\"groups\":[\"g1\","
		    "\"g2\"],\"email_verified\":true}", (long long)(NOW + 600));
		EXPECT_TOK("/kc", mint(&F.ec, JWS_ALG_ES256, hdr_typ(NULL), p),
		    REASON_ROLE_MISSING);
	}
	/* match all: g2 missing; present: email_verified missing. */
	{
		char *p = jbuf();

		snprintf(p, 8192, "{\"iss\":\"https://kc.example/realms/r\","
		    "\"aud\":\"api://kc\",\"exp\":%lld,\"realm_access\":"
		    "{\"roles\":[\"admin\",\"client-reader\"]},"
		    "\"scope\":\"read:orders\",\"groups\":[\"g1\"],"
		    "\"email_verified\":true}", (long long)(NOW + 600));
		EXPECT_TOK("/kc", mint(&F.ec, JWS_ALG_ES256, hdr_typ(NULL), p),
		    REASON_CLAIM_MISMATCH);
		snprintf(p, 8192, "{\"iss\":\"https://kc.example/realms/r\","
		    "\"aud\":\"api://kc\",\"exp\":%lld,\"realm_access\":"
		    "{\"roles\":[\"admin\",\"client-reader\"]},"
		    "\"scope\":\"read:orders\",\"groups\":[\"g2\",\"g1\"]}",
		    (long long)(NOW + 600));
		EXPECT_TOK("/kc", mint(&F.ec, JWS_ALG_ES256, hdr_typ(NULL), p),
		    REASON_CLAIM_MISMATCH);
	}
	/* RFC 7519: sub, azp, cid, tid of another JSON type. */
	EXPECT_TOK("/kc", mint(&F.ec, JWS_ALG_ES256, hdr_typ(NULL),
	    kc_claims(",\"cid\":12")), REASON_TOKEN_MALFORMED);
	EXPECT_DETAIL("cid is not a string");
	{
		char *p = jbuf();

		snprintf(p, 8192, "{\"iss\":\"https://kc.example/realms/r\","
		    "\"aud\":\"api://kc\",\"sub\":[\"a\",\"b\"],\"exp\":%lld}",
		    (long long)(NOW + 600));
		EXPECT_TOK("/kc", mint(&F.ec, JWS_ALG_ES256, hdr_typ(NULL), p),
		    REASON_TOKEN_MALFORMED);
		EXPECT_DETAIL("sub is not a string");
		snprintf(p, 8192, "{\"iss\":\"https://kc.example/realms/r\","
		    "\"aud\":\"api://kc\",\"sub\":12345,\"exp\":%lld}",
		    (long long)(NOW + 600));
		EXPECT_TOK("/api", mint(&F.ec, JWS_ALG_ES256, hdr_typ(NULL), p),
		    REASON_TOKEN_MALFORMED);
	}
	/* Okta: the client id is cid. */
	EXPECT_TOK("/kc", mint(&F.ec, JWS_ALG_ES256, hdr_typ(NULL),
	    kc_claims(",\"cid\":\"0oa1b2c3\"")), REASON_OK);
	EXPECT_VAR("client_id", "0oa1b2c3");
}

/* ---- S20: RFC 8705 certificate binding ----------------------------------- */

static enum reason
bound_decide(const char *tok, const uint8_t *cert_sha, struct tokcache *tc)
{
	const struct route_cfg *rt = NULL;
	struct decide_env env;
	struct facts f;
	char *a = bearer(tok);

	for (size_t i = 0; i < F.cfg->nroutes; i++)
		if (strcmp(F.cfg->routes[i].name, "bound") == 0)
			rt = &F.cfg->routes[i];
	assert_non_null(rt);
	assert_true(rt->bound_token);
	memset(&f, 0, sizeof(f));
	f.authz.ptr = a;
	f.authz.len = strlen(a);
	memset(&env, 0, sizeof(env));
	env.now = NOW;
	env.tokcache = tc;
	verdict_init(&V);
	assert_int_equal(jwt_decide(&f, F.snap, rt, &env, &V, cert_sha),
	    DECIDE_DONE);
	free(a);
	return (V.reason);
}

static void
test_s20_binding(void **state)
{
	uint8_t cert_a[32], cert_b[32];
	char thumb[64], extra[160];
	const char *tok;
	struct tokcache *tc = tokcache_new(16);

	(void)state;
	assert_non_null(EVP_Digest("certificate A DER", 17, cert_a, NULL,
	    EVP_sha256(), NULL));
	assert_non_null(EVP_Digest("certificate B DER", 17, cert_b, NULL,
	    EVP_sha256(), NULL));
	b64u(cert_a, 32, thumb);
	snprintf(extra, sizeof(extra), ",\"cnf\":{\"x5t#S256\":\"%s\"}", thumb);
	tok = ES_TOK(MAIN(extra));

	assert_int_equal(bound_decide(tok, cert_a, NULL), REASON_OK);
	assert_int_equal(V.status, 200);
	assert_int_equal(bound_decide(tok, cert_b, NULL),
	    REASON_CERT_BINDING_MISMATCH);
	assert_int_equal(V.status, 401);
	assert_int_equal(bound_decide(tok, NULL, NULL),
	    REASON_CERT_BINDING_MISMATCH);
	/* Through the cache: verified once with cert A, replayed with B. */
	assert_int_equal(bound_decide(tok, cert_a, tc), REASON_OK);
	assert_int_equal(tokcache_count(tc), 1);
	assert_int_equal(bound_decide(tok, cert_b, tc),
	    REASON_CERT_BINDING_MISMATCH);
	assert_int_equal(bound_decide(tok, cert_a, tc), REASON_OK);
	/* A bound route takes only bound tokens. */
	assert_int_equal(bound_decide(ES_TOK(MAIN("")), cert_a, NULL),
	    REASON_CERT_BINDING_MISMATCH);
	EXPECT_DETAIL("token is not certificate-bound");
	/* The thumbprint must be a string of 32 bytes of base64url. */
	assert_int_equal(bound_decide(ES_TOK(MAIN(",\"cnf\":{\"x5t#S256\":1}")),
	    cert_a, NULL), REASON_TOKEN_MALFORMED);
	thumb[42] = '\0';	/* 31 bytes */
	snprintf(extra, sizeof(extra), ",\"cnf\":{\"x5t#S256\":\"%s\"}", thumb);
	assert_int_equal(bound_decide(ES_TOK(MAIN(extra)), cert_a, NULL),
	    REASON_CERT_BINDING_MISMATCH);
	/* A bound token on a plain jwt route (decide() passes no
	 * certificate hash): refused, not treated as a bearer token. */
	b64u(cert_a, 32, thumb);
	snprintf(extra, sizeof(extra), ",\"cnf\":{\"x5t#S256\":\"%s\"}", thumb);
	EXPECT_TOK("/api", ES_TOK(MAIN(extra)), REASON_CERT_BINDING_MISMATCH);
	EXPECT_DETAIL("bound token without a client certificate");
	/* A token without x5t#S256 there is fine; one bound to a DPoP key
	 * (cnf.jkt) is no bearer token (RFC 9449 §7.1), on any route. */
	EXPECT_TOK("/api", ES_TOK(MAIN(",\"cnf\":{}")), REASON_OK);
	EXPECT_TOK("/api", ES_TOK(MAIN(",\"cnf\":{\"jkt\":\"x\"}")),
	    REASON_DPOP_BINDING_MISMATCH);
	tokcache_free(tc);
}

/* ---- issuers, algorithms, times, audiences -------------------------------- */

static void
test_issuers(void **state)
{
	(void)state;
	EXPECT_TOK("/api", ES_TOK(claims("https://nobody.example", AUD, "")),
	    REASON_ISSUER_UNKNOWN);
	EXPECT_DETAIL("issuer not accepted here");
	EXPECT_TOK("/api", ES_TOK(claims(MAIN_ISS "/", AUD, "")),
	    REASON_ISSUER_UNKNOWN);
	EXPECT_TOK("/api", ES_TOK(claims("HTTPS://IDP.EXAMPLE", AUD, "")),
	    REASON_ISSUER_UNKNOWN);
	EXPECT_TOK("/api", ES_TOK(claims_raw("{\"aud\":\"api://orders\","
	    "\"exp\":1700000600}")), REASON_ISSUER_UNKNOWN);
	EXPECT_DETAIL("iss missing");
	/* RFC 7519: iss is a string; any other type is malformed. */
	EXPECT_TOK("/api", ES_TOK(claims_raw("{\"iss\":7,\"aud\":\"api://orders\","
	    "\"exp\":1700000600}")), REASON_TOKEN_MALFORMED);
	EXPECT_DETAIL("iss is not a string");
	EXPECT_TOK("/api", ES_TOK(claims("", AUD, "")), REASON_ISSUER_UNKNOWN);
	/* A good issuer that the route does not allow. */
	EXPECT_TOK("/onlyb", ES_TOK(MAIN("")), REASON_ISSUER_UNKNOWN);
	EXPECT_TOK("/onlyb", mint(&F.ec_b, JWS_ALG_ES256, hdr("ES256", "ec-b"),
	    claims("https://b.example", AUD, "")), REASON_OK);
	/* b's key is not main's: issuer b token signed with ec-a's kid. */
	EXPECT_TOK("/onlyb", ES_TOK(claims("https://b.example", AUD, "")),
	    REASON_KEY_UNKNOWN);
	/* Source address before anything about the token. */
	EXPECT_TOK("/src", ES_TOK(MAIN("")), REASON_SOURCE_DENIED);
	/* No route at all. */
	EXPECT_TOK("/nowhere", ES_TOK(MAIN("")), REASON_NO_ROUTE);
}

static void
test_alg_allow_list(void **state)
{
	(void)state;
	/* main: RS256 PS256 PS512 ES256 EdDSA. */
	EXPECT_TOK("/api", mint(&F.rsa, JWS_ALG_RS512, hdr("RS512", "rsa-a"),
	    MAIN("")), REASON_TOKEN_UNSUPPORTED_ALG);
	EXPECT_TOK("/api", mint(&F.rsa, JWS_ALG_PS384, hdr("PS384", "rsa-a"),
	    MAIN("")), REASON_TOKEN_UNSUPPORTED_ALG);
	EXPECT_TOK("/api", mint(&F.hs, JWS_ALG_HS256, hdr("HS256", NULL),
	    MAIN("")), REASON_TOKEN_UNSUPPORTED_ALG);
	/* hs: HS256 only. */
	EXPECT_TOK("/api", ES_TOK(claims("https://hs.example", "\"api://hs\"",
	    "")), REASON_TOKEN_UNSUPPORTED_ALG);
	/* b: ES256 only, and EdDSA is a valid alg name elsewhere. */
	EXPECT_TOK("/onlyb", mint(&F.ed, JWS_ALG_EDDSA, hdr("EdDSA", "ec-b"),
	    claims("https://b.example", AUD, "")), REASON_TOKEN_UNSUPPORTED_ALG);
	/* Unknown alg names, and a lowercase RFC name. */
	EXPECT_TOK("/api", mint(&F.rsa, JWS_ALG_RS256, hdr("rs256", "rsa-a"),
	    MAIN("")), REASON_TOKEN_UNSUPPORTED_ALG);
	EXPECT_TOK("/api", mint(&F.rsa, JWS_ALG_RS256, hdr("RS1", "rsa-a"),
	    MAIN("")), REASON_TOKEN_UNSUPPORTED_ALG);
	/* alg missing or not a string: malformed. */
	EXPECT_TOK("/api", mint(&F.rsa, JWS_ALG_RS256, "{\"kid\":\"rsa-a\"}",
	    MAIN("")), REASON_TOKEN_MALFORMED);
	EXPECT_TOK("/api", mint(&F.rsa, JWS_ALG_RS256, "{\"alg\":256}",
	    MAIN("")), REASON_TOKEN_MALFORMED);
}

static const char *
timed(long long exp, long long nbf, long long iat)
{
	char *p = jbuf(), m[160];
	size_t n = 0;

	m[0] = '\0';
	if (exp != 0)
		n += (size_t)snprintf(m + n, sizeof(m) - n, ",\"exp\":%lld", exp);
	if (nbf != 0)
		n += (size_t)snprintf(m + n, sizeof(m) - n, ",\"nbf\":%lld", nbf);
	if (iat != 0)
		snprintf(m + n, sizeof(m) - n, ",\"iat\":%lld", iat);
	snprintf(p, 8192, "{\"iss\":\"%s\",\"aud\":\"api://orders\"%s}",
	    MAIN_ISS, m);
	return (p);
}

static void
test_time_boundaries(void **state)
{
	const long long now = NOW;

	(void)state;
	/* skew 60: expired once now >= exp + 60. */
	EXPECT_TOK("/api", ES_TOK(timed(now - 59, 0, 0)), REASON_OK);
	EXPECT_TOK("/api", ES_TOK(timed(now - 60, 0, 0)), REASON_TOKEN_EXPIRED);
	EXPECT_DETAIL("token expired");
	assert_non_null(strstr(V.www_authenticate,
	    "error=\"invalid_token\", error_description=\"token expired\""));
	EXPECT_TOK("/api", ES_TOK(timed(now - 3600, 0, 0)),
	    REASON_TOKEN_EXPIRED);
	/* nbf: fine up to now + 60. */
	EXPECT_TOK("/api", ES_TOK(timed(now + 600, now + 60, 0)), REASON_OK);
	EXPECT_TOK("/api", ES_TOK(timed(now + 600, now + 61, 0)),
	    REASON_TOKEN_NOT_YET_VALID);
	/* iat in the future beyond skew. */
	EXPECT_TOK("/api", ES_TOK(timed(now + 600, 0, now + 60)), REASON_OK);
	EXPECT_TOK("/api", ES_TOK(timed(now + 600, 0, now + 61)),
	    REASON_TOKEN_NOT_YET_VALID);
	EXPECT_DETAIL("issued in the future");
	/* The same token at other clocks. */
	{
		const char *t = ES_TOK(timed(now + 100, now, now));

		assert_int_equal(run_s(F.snap, "/api", t, NOW - 60, NULL),
		    DECIDE_DONE);
		EXPECT(REASON_OK);
		assert_int_equal(run_s(F.snap, "/api", t, NOW - 61, NULL),
		    DECIDE_DONE);
		EXPECT(REASON_TOKEN_NOT_YET_VALID);
		assert_int_equal(run_s(F.snap, "/api", t, NOW + 159, NULL),
		    DECIDE_DONE);
		EXPECT(REASON_OK);
		assert_int_equal(run_s(F.snap, "/api", t, NOW + 160, NULL),
		    DECIDE_DONE);
		EXPECT(REASON_TOKEN_EXPIRED);
	}
}

static void
test_audience(void **state)
{
	(void)state;
	EXPECT_TOK("/api", ES_TOK(MAIN("")), REASON_OK);
	EXPECT_TOK("/api", ES_TOK(claims(MAIN_ISS, "\"api://other\"", "")),
	    REASON_OK);
	EXPECT_TOK("/api", ES_TOK(claims(MAIN_ISS, "[\"x\",\"api://orders\"]",
	    "")), REASON_OK);
	EXPECT_TOK("/api", ES_TOK(claims(MAIN_ISS, "[\"x\",\"y\"]", "")),
	    REASON_AUDIENCE_MISMATCH);
	EXPECT_DETAIL("audience not accepted");
	EXPECT_TOK("/api", ES_TOK(claims(MAIN_ISS, "[]", "")),
	    REASON_AUDIENCE_MISMATCH);
	EXPECT_TOK("/api", ES_TOK(claims(MAIN_ISS, "\"API://ORDERS\"", "")),
	    REASON_AUDIENCE_MISMATCH);
	EXPECT_TOK("/api", ES_TOK(claims(MAIN_ISS, "\"api://orders/\"", "")),
	    REASON_AUDIENCE_MISMATCH);
	EXPECT_TOK("/api", ES_TOK(claims(MAIN_ISS, "5", "")),
	    REASON_AUDIENCE_MISMATCH);
	EXPECT_TOK("/api", ES_TOK(claims(MAIN_ISS, "[\"api://orders\",5]", "")),
	    REASON_AUDIENCE_MISMATCH);
	EXPECT_TOK("/api", ES_TOK(claims(MAIN_ISS, "\"api://orders api://x\"",
	    "")), REASON_AUDIENCE_MISMATCH);
	EXPECT_TOK("/api", ES_TOK(claims_raw("{\"iss\":\"" MAIN_ISS "\","
	    "\"exp\":1700000600}")), REASON_AUDIENCE_MISMATCH);
	/* Another issuer's audience. */
	EXPECT_TOK("/api", ES_TOK(claims(MAIN_ISS, "\"api://hs\"", "")),
	    REASON_AUDIENCE_MISMATCH);
}

/* ---- scopes, roles, claim rules, challenges ------------------------------- */

static void
test_scopes(void **state)
{
	(void)state;
	EXPECT_TOK("/scoped-all", ES_TOK(MAIN(",\"scp\":\"Orders.Read "
	    "Orders.Write\"")), REASON_OK);
	EXPECT_TOK("/scoped-all", ES_TOK(MAIN(",\"scp\":[\"Orders.Read\"]")),
	    REASON_OK);
	EXPECT_TOK("/scoped-all", ES_TOK(MAIN(",\"scope\":\"Orders.Read\"")),
	    REASON_OK);
	EXPECT_TOK("/scoped-all", ES_TOK(MAIN(",\"scp\":\"Orders.Write\"")),
	    REASON_SCOPE_MISSING);
	assert_string_equal(V.www_authenticate, "Bearer realm=\"spoa-iam\", "
	    "error=\"insufficient_scope\", error_description=\"required scope "
	    "missing\", scope=\"Orders.Read\"");
	assert_int_equal(V.status, 403);
	EXPECT_TOK("/scoped-all", ES_TOK(MAIN(",\"scp\":\"Orders.ReadX "
	    "xOrders.Read\"")), REASON_SCOPE_MISSING);
	EXPECT_TOK("/scoped-all", ES_TOK(MAIN(",\"scp\":\"orders.read\"")),
	    REASON_SCOPE_MISSING);
	EXPECT_TOK("/scoped-all", ES_TOK(MAIN("")), REASON_SCOPE_MISSING);
	/* "scope" is only looked at without "scp", and must be a string. */
	EXPECT_TOK("/scoped-all", ES_TOK(MAIN(",\"scp\":\"x\",\"scope\":"
	    "\"Orders.Read\"")), REASON_SCOPE_MISSING);
	EXPECT_TOK("/scoped-all", ES_TOK(MAIN(",\"scope\":[\"Orders.Read\"]")),
	    REASON_SCOPE_MISSING);
	/* any-of */
	EXPECT_TOK("/scoped-any", ES_TOK(MAIN(",\"scp\":\"a Orders.All\"")),
	    REASON_OK);
	EXPECT_TOK("/scoped-any", ES_TOK(MAIN(",\"scp\":\"a b\"")),
	    REASON_SCOPE_MISSING);
	assert_string_equal(V.www_authenticate, "Bearer realm=\"spoa-iam\", "
	    "error=\"insufficient_scope\", error_description=\"required scope "
	    "missing\", scope=\"Orders.Read\"");
	/* A scope failure is a 403 for a valid identity: the route name is
	 * known, identity variables are not handed out. */
	assert_string_equal(V.route, "scoped-any");
	EXPECT_VAR("sub", NULL);
}

static void
test_roles(void **state)
{
	(void)state;
	EXPECT_TOK("/roles-all", ES_TOK(MAIN(",\"roles\":[\"User\",\"Admin\"]")),
	    REASON_OK);
	EXPECT_TOK("/roles-all", ES_TOK(MAIN(",\"roles\":\"Admin\"")), REASON_OK);
	EXPECT_TOK("/roles-all", ES_TOK(MAIN(",\"roles\":[\"User\"]")),
	    REASON_ROLE_MISSING);
	assert_int_equal(V.status, 403);
	assert_string_equal(V.www_authenticate, "Bearer realm=\"spoa-iam\", "
	    "error=\"insufficient_scope\", error_description=\"required role "
	    "missing\"");
	EXPECT_TOK("/roles-all", ES_TOK(MAIN(",\"roles\":[\"admin\"]")),
	    REASON_ROLE_MISSING);
	EXPECT_TOK("/roles-all", ES_TOK(MAIN(",\"scp\":\"Admin\"")),
	    REASON_ROLE_MISSING);
	EXPECT_TOK("/roles-any", ES_TOK(MAIN(",\"roles\":[\"Writer\"]")),
	    REASON_OK);
	EXPECT_TOK("/roles-any", ES_TOK(MAIN(",\"roles\":[]")),
	    REASON_ROLE_MISSING);
	EXPECT_TOK("/roles-any", ES_TOK(MAIN(",\"roles\":[[\"Writer\"]]")),
	    REASON_ROLE_MISSING);
}

static void
test_claim_rules(void **state)
{
	(void)state;
	/* claims: ver "2.0", org.unit blue|green, n 5, flag true. */
	EXPECT_TOK("/claims", ES_TOK(MAIN(",\"ver\":\"2.0\",\"org\":{\"unit\":"
	    "\"green\"},\"n\":5,\"flag\":true")), REASON_OK);
	EXPECT_TOK("/claims", ES_TOK(MAIN(",\"ver\":[\"1.0\",\"2.0\"],"
	    "\"org.unit\":\"blue\",\"n\":5.0,\"flag\":true")), REASON_OK);
	EXPECT_TOK("/claims", ES_TOK(MAIN(",\"ver\":\"1.0\",\"org\":{\"unit\":"
	    "\"green\"},\"n\":5,\"flag\":true")), REASON_CLAIM_MISMATCH);
	assert_int_equal(V.status, 403);
	EXPECT_DETAIL("claim value not allowed");
	EXPECT_TOK("/claims", ES_TOK(MAIN(",\"ver\":2.0,\"org\":{\"unit\":"
	    "\"green\"},\"n\":5,\"flag\":true")), REASON_CLAIM_MISMATCH);
	EXPECT_TOK("/claims", ES_TOK(MAIN(",\"ver\":\"2.0\",\"n\":5,"
	    "\"flag\":true")), REASON_CLAIM_MISMATCH);
	EXPECT_TOK("/claims", ES_TOK(MAIN(",\"ver\":\"2.0\",\"org\":{\"unit\":"
	    "\"red\"},\"n\":5,\"flag\":true")), REASON_CLAIM_MISMATCH);
	EXPECT_TOK("/claims", ES_TOK(MAIN(",\"ver\":\"2.0\",\"org\":{\"unit\":"
	    "\"green\"},\"n\":\"5\",\"flag\":true")), REASON_CLAIM_MISMATCH);
	EXPECT_TOK("/claims", ES_TOK(MAIN(",\"ver\":\"2.0\",\"org\":{\"unit\":"
	    "\"green\"},\"n\":5,\"flag\":\"true\"")), REASON_CLAIM_MISMATCH);
	EXPECT_TOK("/claims", ES_TOK(MAIN(",\"ver\":\"2.0\",\"org\":{\"unit\":"
	    "\"green\"},\"n\":5,\"flag\":false")), REASON_CLAIM_MISMATCH);
	EXPECT_TOK("/claims", ES_TOK(MAIN(",\"ver\":\"2.0\",\"org\":\"green\","
	    "\"n\":5,\"flag\":true")), REASON_CLAIM_MISMATCH);
}

static void
test_challenges(void **state)
{
	(void)state;
	assert_int_equal(decide_authz(F.snap, "/api", NULL, NOW, NULL, false,
	    NULL), DECIDE_DONE);
	EXPECT(REASON_TOKEN_MISSING);
	assert_string_equal(V.www_authenticate, "Bearer realm=\"spoa-iam\"");
	EXPECT_TOK("/api", "a.b.c", REASON_TOKEN_MALFORMED);
	assert_string_equal(V.www_authenticate, "Bearer realm=\"spoa-iam\", "
	    "error=\"invalid_token\", error_description=\"header: invalid "
	    "base64url\"");
	EXPECT_TOK("/api", ES_TOK(claims("https://nobody.example", AUD, "")),
	    REASON_ISSUER_UNKNOWN);
	assert_string_equal(V.www_authenticate, "Bearer realm=\"spoa-iam\", "
	    "error=\"invalid_token\", error_description=\"issuer not accepted "
	    "here\"");
	/* 403 for a route refusal without a token problem: no challenge. */
	EXPECT_TOK("/src", ES_TOK(MAIN("")), REASON_SOURCE_DENIED);
	assert_string_equal(V.www_authenticate, "");
	EXPECT_TOK("/nowhere", ES_TOK(MAIN("")), REASON_NO_ROUTE);
	assert_string_equal(V.www_authenticate, "");
}

/* ---- the verified-token cache --------------------------------------------- */

static void
test_cache_hit(void **state)
{
	struct tokcache *tc = tokcache_new(64);
	const char *t = ES_TOK(MAIN(",\"email\":\"a@b\""));

	(void)state;
	assert_int_equal(run_s(F.snap, "/api", t, NOW, tc), DECIDE_DONE);
	EXPECT(REASON_OK);
	assert_int_equal(STAT_GET(&STATS, token_cache_misses), 1);
	assert_int_equal(STAT_GET(&STATS, token_cache_hits), 0);
	assert_int_equal(tokcache_count(tc), 1);
	assert_int_equal(run_s(F.snap, "/api", t, NOW + 1, tc), DECIDE_DONE);
	EXPECT(REASON_OK);
	assert_int_equal(STAT_GET(&STATS, token_cache_hits), 1);
	assert_int_equal(STAT_GET(&STATS, token_cache_misses), 1);
	/* A hit gives the same identity and variables. */
	EXPECT_VAR("sub", "alice");
	EXPECT_VAR("claim_email", "a@b");
	/* Route rules are checked per request, not cached: the same token
	 * on a scoped route is refused, from the cache. */
	assert_int_equal(run_s(F.snap, "/scoped-all", t, NOW + 2, tc),
	    DECIDE_DONE);
	EXPECT(REASON_SCOPE_MISSING);
	assert_int_equal(STAT_GET(&STATS, token_cache_hits), 2);
	/* Failed tokens are never cached. */
	assert_int_equal(run_s(F.snap, "/api", ES_TOK(claims(MAIN_ISS,
	    "\"nope\"", "")), NOW, tc), DECIDE_DONE);
	EXPECT(REASON_AUDIENCE_MISMATCH);
	assert_int_equal(tokcache_count(tc), 1);
	/* The cache key is the whole token: one changed signature byte is
	 * a miss, verified and refused. */
	{
		char bad[TOKMAX];
		size_t n = strlen(t);

		memcpy(bad, t, n + 1);
		bad[n - 5] = bad[n - 5] == 'A' ? 'B' : 'A';
		assert_int_equal(run_s(F.snap, "/api", bad, NOW, tc),
		    DECIDE_DONE);
		EXPECT(REASON_SIGNATURE_INVALID);
	}
	tokcache_free(tc);
}

static void
test_cache_hit_rechecks_exp(void **state)
{
	struct tokcache *tc = tokcache_new(64);
	const char *t = ES_TOK(timed(NOW + 100, NOW - 10, NOW - 10));

	(void)state;
	assert_int_equal(run_s(F.snap, "/api", t, NOW, tc), DECIDE_DONE);
	EXPECT(REASON_OK);
	/* Up to exp + skew: a hit. */
	assert_int_equal(run_s(F.snap, "/api", t, NOW + 159, tc), DECIDE_DONE);
	EXPECT(REASON_OK);
	assert_int_equal(STAT_GET(&STATS, token_cache_hits), 1);
	/* Past it: expired, whether the entry is still there or not. */
	assert_int_equal(run_s(F.snap, "/api", t, NOW + 160, tc), DECIDE_DONE);
	EXPECT(REASON_TOKEN_EXPIRED);
	assert_int_equal(run_s(F.snap, "/api", t, NOW + 100000, tc),
	    DECIDE_DONE);
	EXPECT(REASON_TOKEN_EXPIRED);
	assert_int_equal(tokcache_count(tc), 0);
	/* The clock stepped back (NTP): a cached token whose nbf is now in
	 * the future beyond the skew is refused on the hit path too. */
	t = ES_TOK(timed(NOW + 600, NOW - 10, 0));
	assert_int_equal(run_s(F.snap, "/api", t, NOW, tc), DECIDE_DONE);
	EXPECT(REASON_OK);
	assert_int_equal(run_s(F.snap, "/api", t, NOW - 71, tc), DECIDE_DONE);
	EXPECT(REASON_TOKEN_NOT_YET_VALID);
	assert_int_equal(STAT_GET(&STATS, token_cache_hits), 2);
	assert_int_equal(run_s(F.snap, "/api", t, NOW - 70, tc), DECIDE_DONE);
	EXPECT(REASON_OK);
	assert_int_equal(STAT_GET(&STATS, token_cache_hits), 3);
	/* A token without exp (hs issuer, require_exp false) is cached for
	 * a bounded time only, and still verified again after that. */
	t = mint(&F.hs, JWS_ALG_HS256, hdr("HS256", NULL),
	    claims_raw("{\"iss\":\"https://hs.example\",\"aud\":\"api://hs\"}"));
	assert_int_equal(run_s(F.snap, "/api", t, NOW, tc), DECIDE_DONE);
	EXPECT(REASON_OK);
	assert_int_equal(tokcache_count(tc), 2);
	assert_int_equal(run_s(F.snap, "/api", t, NOW + 100000, tc),
	    DECIDE_DONE);
	EXPECT(REASON_OK);
	assert_int_equal(STAT_GET(&STATS, token_cache_hits), 3);
	tokcache_free(tc);
}

/* snapshot_new() as the loader uses it for a config without policy_url. */
static struct snapshot *
new_snap(struct cfgref *r)
{
	struct snapshot *s = snapshot_new(r);

	assert_non_null(s);
	snapshot_set_policy(s, true, snapshot_policy_at(s));
	return (s);
}

/* A copy of the fixture's snapshot (same config) whose main key set lacks
 * ${drop_kid}. */
static struct snapshot *
snapshot_without(const char *drop_kid)
{
	struct snapshot *s = new_snap(snapshot_cfgref(F.snap));
	char *text, *jwks[8] = { NULL };
	size_t n = 0;
	struct keyset *ks = NULL;

	assert_non_null(s);
	if (strcmp(drop_kid, "rsa-a") != 0)
		jwks[n++] = jwk_of(F.rsa.pk, "rsa-a", "");
	if (strcmp(drop_kid, "ec-a") != 0)
		jwks[n++] = jwk_of(F.ec.pk, "ec-a", "");
	jwks[n++] = jwk_of(F.ed.pk, "ed-a", "");
	text = jwks_doc(jwks);
	assert_int_equal(jwks_parse(text, strlen(text), &ks, NULL), 0);
	free(text);
	for (size_t i = 0; i < I_COUNT; i++) {
		snapshot_set_keys(s, i, i == I_MAIN ? ks : snapshot_keys(F.snap, i),
		    snapshot_keys_at(F.snap, i));
		if (snapshot_hmac(F.snap, i) != NULL)
			snapshot_set_hmac(s, i, keyset_ref(snapshot_hmac(F.snap, i)));
	}
	keyset_unref(ks);
	return (s);
}

static void
test_cache_key_removed(void **state)
{
	struct tokcache *tc = tokcache_new(64);
	const char *te = ES_TOK(MAIN(""));
	const char *tr = mint(&F.rsa, JWS_ALG_RS256, hdr("RS256", "rsa-a"),
	    MAIN(""));
	struct snapshot *s2;

	(void)state;
	assert_int_equal(run_s(F.snap, "/api", te, NOW, tc), DECIDE_DONE);
	EXPECT(REASON_OK);
	assert_int_equal(run_s(F.snap, "/api", tr, NOW, tc), DECIDE_DONE);
	EXPECT(REASON_OK);
	assert_int_equal(tokcache_count(tc), 2);

	/* ec-a leaves the key set (rotation, compromise). */
	s2 = snapshot_without("ec-a");
	/* Even before the sweep, a cached entry whose key is gone is not
	 * used. */
	assert_int_equal(run_s(s2, "/api", te, NOW, tc), DECIDE_DONE);
	EXPECT(REASON_KEY_UNKNOWN);
	assert_int_equal(STAT_GET(&STATS, token_cache_hits), 0);
	/* The sweep drops it and keeps the rsa-a entry. */
	tokcache_sweep(tc, jwt_cache_keep, s2);
	assert_int_equal(tokcache_count(tc), 1);
	assert_int_equal(run_s(s2, "/api", tr, NOW, tc), DECIDE_DONE);
	EXPECT(REASON_OK);
	assert_int_equal(STAT_GET(&STATS, token_cache_hits), 1);
	assert_int_equal(run_s(s2, "/api", te, NOW, tc), DECIDE_DONE);
	EXPECT(REASON_KEY_UNKNOWN);
	snapshot_unref(s2);

	/* Same kid, another key (a re-keyed kid): the fingerprint differs,
	 * the cached rsa-a entry is dropped. */
	{
		struct snapshot *s3 = new_snap(snapshot_cfgref(F.snap));
		char *jwks[] = { jwk_of(F.rsa1024.pk, "rsa-a", ""),
		    jwk_of(F.ec.pk, "ec-a", ""), NULL };
		char *text = jwks_doc(jwks);
		struct keyset *ks = NULL;

		/* The 1024-bit key is refused, only ec-a remains. */
		assert_int_equal(jwks_parse(text, strlen(text), &ks, NULL), 0);
		assert_int_equal(keyset_count(ks), 1);
		free(text);
		snapshot_set_keys(s3, I_MAIN, ks, NOW);
		keyset_unref(ks);
		tokcache_sweep(tc, jwt_cache_keep, s3);
		assert_int_equal(tokcache_count(tc), 0);
		assert_int_equal(run_s(s3, "/api", tr, NOW, tc), DECIDE_DONE);
		EXPECT(REASON_KEY_UNKNOWN);
		snapshot_unref(s3);
	}
	/* A new config (reload) invalidates every entry. */
	assert_int_equal(run_s(F.snap, "/api", tr, NOW, tc), DECIDE_DONE);
	EXPECT(REASON_OK);
	{
		struct config_errors errs = { NULL, 0 };
		struct config *c2 = NULL;
		static const char minimal[] = "{\"listen\":[\"127.0.0.1:1\"],"
		    "\"routes\":[{\"name\":\"x\",\"require\":\"none\"}]}";
		struct cfgref *r;
		struct snapshot *s4;

		assert_int_equal(config_parse(minimal, strlen(minimal), NULL,
		    &c2, &errs), 0);
		r = cfgref_new(c2);
		s4 = new_snap(r);
		cfgref_unref(r);
		tokcache_sweep(tc, jwt_cache_keep, s4);
		assert_int_equal(tokcache_count(tc), 0);
		snapshot_unref(s4);
	}
	tokcache_free(tc);
}

static void
test_cache_issuer_scope(void **state)
{
	struct tokcache *tc = tokcache_new(64);
	const char *t = ES_TOK(MAIN(""));

	(void)state;
	assert_int_equal(run_s(F.snap, "/api", t, NOW, tc), DECIDE_DONE);
	EXPECT(REASON_OK);
	/* Cached for issuer main; /onlyb accepts issuer b only. */
	assert_int_equal(run_s(F.snap, "/onlyb", t, NOW, tc), DECIDE_DONE);
	EXPECT(REASON_ISSUER_UNKNOWN);
	assert_int_equal(STAT_GET(&STATS, token_cache_hits), 0);
	/* ... and /api still takes it from the cache. */
	assert_int_equal(run_s(F.snap, "/api", t, NOW, tc), DECIDE_DONE);
	EXPECT(REASON_OK);
	assert_int_equal(STAT_GET(&STATS, token_cache_hits), 1);
	/* The cache is only a shortcut: cache on and off agree. */
	assert_int_equal(run_s(F.snap, "/scoped-all", t, NOW, NULL),
	    DECIDE_DONE);
	EXPECT(REASON_SCOPE_MISSING);
	tokcache_free(tc);
}

/* ---- readiness ----------------------------------------------------------- */

static void
test_not_ready(void **state)
{
	const char *t = mint(&F.ec, JWS_ALG_ES256, hdr("ES256", "ec-r"),
	    claims("https://remote.example", AUD, ""));
	struct snapshot *s;

	(void)state;
	/* max_stale_s 3600 for remote key sets. */
	snapshot_set_keys(F.snap, I_REMOTE, snapshot_keys(F.snap, I_REMOTE), NOW - 3600);
	EXPECT_TOK("/remote", t, REASON_OK);
	snapshot_set_keys(F.snap, I_REMOTE, snapshot_keys(F.snap, I_REMOTE), NOW - 3601);
	EXPECT_TOK("/remote", t, REASON_NOT_READY);
	assert_int_equal(V.status, 503);
	assert_string_equal(V.www_authenticate, "");
	EXPECT_DETAIL("key set older than max_stale_s");
	/* Local key files never go stale. */
	EXPECT_TOK("/api", ES_TOK(MAIN("")), REASON_OK);
	snapshot_set_keys(F.snap, I_REMOTE, snapshot_keys(F.snap, I_REMOTE), NOW);

	/* No key set for the remote issuer yet (first fetch pending). */
	s = new_snap(snapshot_cfgref(F.snap));
	for (size_t i = 0; i < I_COUNT; i++) {
		if (i != I_REMOTE)
			snapshot_set_keys(s, i, snapshot_keys(F.snap, i), NOW);
		if (snapshot_hmac(F.snap, i) != NULL)
			snapshot_set_hmac(s, i, keyset_ref(snapshot_hmac(F.snap, i)));
	}
	assert_int_equal(run_s(s, "/remote", t, NOW, NULL), DECIDE_DONE);
	EXPECT(REASON_NOT_READY);
	EXPECT_DETAIL("no key set for the issuer yet");
	/* ... but a bad token is still answered for what it is. */
	assert_int_equal(run_s(s, "/remote", "a.b.c", NOW, NULL), DECIDE_DONE);
	EXPECT(REASON_TOKEN_MALFORMED);
	/* Other issuers are unaffected. */
	assert_int_equal(run_s(s, "/api", ES_TOK(MAIN("")), NOW, NULL),
	    DECIDE_DONE);
	EXPECT(REASON_OK);
	snapshot_unref(s);
}

/* Review finding: max_stale_s must end the use of old keys for cached
 * tokens too (a hit used to pass while a miss said not_ready). */
static void
test_stale_keys_cached_token(void **state)
{
	struct tokcache *tc = tokcache_new(64);
	const char *t = mint(&F.ec, JWS_ALG_ES256, hdr("ES256", "ec-r"),
	    claims("https://remote.example", AUD, ""));

	(void)state;
	snapshot_set_keys(F.snap, I_REMOTE, snapshot_keys(F.snap, I_REMOTE), NOW);
	assert_int_equal(run_s(F.snap, "/remote", t, NOW, tc), DECIDE_DONE);
	EXPECT(REASON_OK);
	/* The key set is now older than max_stale_s (3600). */
	snapshot_set_keys(F.snap, I_REMOTE, snapshot_keys(F.snap, I_REMOTE), NOW - 7200);
	assert_int_equal(run_s(F.snap, "/remote", t, NOW, NULL), DECIDE_DONE);
	EXPECT(REASON_NOT_READY);
	assert_int_equal(run_s(F.snap, "/remote", t, NOW, tc), DECIDE_DONE);
	EXPECT(REASON_NOT_READY);
	snapshot_set_keys(F.snap, I_REMOTE, snapshot_keys(F.snap, I_REMOTE), NOW);
	tokcache_free(tc);
}

/* Review finding: two issuers sharing one "iss": every issuer the route
 * allows is tried, so the verdict no longer depends on the cache. */
static void
test_shared_iss_same_with_or_without_cache(void **state)
{
	char cfgtext[2048];
	struct config_errors errs = { NULL, 0 };
	struct config *cfg = NULL;
	struct snapshot *s = NULL;
	struct tokcache *tc = tokcache_new(64);
	const char *t;

	(void)state;
	snprintf(cfgtext, sizeof(cfgtext),
	    "{\"listen\":[\"127.0.0.1:1\"],\"issuers\":["
	    "{\"name\":\"first\",\"issuer\":\"https://dup.example\",\"jwks_file\":\"%s\","
	    "\"algorithms\":[\"ES256\"],\"audiences\":[\"api://first\"]},"
	    "{\"name\":\"second\",\"issuer\":\"https://dup.example\",\"jwks_file\":\"%s\","
	    "\"algorithms\":[\"ES256\"],\"audiences\":[\"api://second\"]}],"
	    "\"routes\":[{\"name\":\"s\",\"path_prefix\":\"/s\",\"require\":\"jwt\",\"issuers\":[\"second\"]},"
	    "{\"name\":\"all\",\"path_prefix\":\"/all\",\"require\":\"jwt\"}]}",
	    F.jwks_main, F.jwks_b);
	assert_int_equal(config_parse(cfgtext, strlen(cfgtext), NULL, &cfg, &errs), 0);
	assert_int_equal(loader_build(cfg, NULL, &s, &errs), 0);
	t = mint(&F.ec_b, JWS_ALG_ES256, hdr("ES256", "ec-b"),
	    claims("https://dup.example", "\"api://second\"", ""));
	/* "first" has no such key; "second" verifies it. */
	assert_int_equal(run_s(s, "/all", t, NOW, tc), DECIDE_DONE);
	EXPECT(REASON_OK);
	assert_int_equal(run_s(s, "/s", t, NOW, tc), DECIDE_DONE);
	EXPECT(REASON_OK);
	assert_int_equal(run_s(s, "/all", t, NOW, NULL), DECIDE_DONE);
	EXPECT(REASON_OK);
	/* A token for audience "first" only, signed by second's key: first
	 * refuses (key unknown), second refuses (audience); the verdict is
	 * the first issuer's. */
	t = mint(&F.ec_b, JWS_ALG_ES256, hdr("ES256", "ec-b"),
	    claims("https://dup.example", "\"api://first\"", ""));
	assert_int_equal(run_s(s, "/all", t, NOW, tc), DECIDE_DONE);
	EXPECT(REASON_KEY_UNKNOWN);
	tokcache_free(tc);
	snapshot_unref(s);
}

static void
test_hs_only_issuer(void **state)
{
	const char *p = claims("https://hs.example", "\"api://hs\"",
	    ",\"client_id\":\"svc\"");

	(void)state;
	assert_int_equal(F.cfg->issuers[I_HS].source, KEYS_NONE);
	assert_null(snapshot_keys(F.snap, I_HS));
	assert_non_null(snapshot_hmac(F.snap, I_HS));
	EXPECT_TOK("/api", mint(&F.hs, JWS_ALG_HS256, hdr("HS256", NULL), p),
	    REASON_OK);
	EXPECT_VAR("client_id", "svc");
	EXPECT_VAR("issuer", "https://hs.example");
	/* Not ready never applies: there is nothing to fetch. */
	snapshot_set_keys(F.snap, I_HS, snapshot_keys(F.snap, I_HS), 0);
	EXPECT_TOK("/api", mint(&F.hs, JWS_ALG_HS256, hdr("HS256", NULL), p),
	    REASON_OK);
}

/* ---- RFC 7515 Appendix A with an injected clock -------------------------- */

/*
 * RFC 7515 Appendix A.1-A.3 and A.5, through decide().  The values (tokens,
 * the A.1 HMAC key, the public parts of the A.2 RSA and A.3 EC keys) are
 * those published in RFC 7515 §A.1.1, §A.2.1, §A.3.1, §A.5.
 * Their payload is {"iss":"joe","exp":1300819380,
 * "http://example.com/is_root":true}: with the clock before exp they pass
 * every check up to the audience (they have none, and an issuer always
 * has audiences), so the verdict is audience_mismatch; at exp + skew they
 * are token_expired; with a changed signature signature_invalid.
 */
#define RFC7515_PAYLOAD \
	"eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxl" \
	"LmNvbS9pc19yb290Ijp0cnVlfQ"
#define RFC7515_A1 \
	"eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9." RFC7515_PAYLOAD \
	".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
#define RFC7515_A1_KEY \
	"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4h" \
	"cgUuTwjAzZr1Z9CAow"
#define RFC7515_A2 \
	"eyJhbGciOiJSUzI1NiJ9." RFC7515_PAYLOAD \
	".cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuH" \
	"Im4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiu" \
	"B--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9" \
	"383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w" \
	"9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw"
#define RFC7515_A3 \
	"eyJhbGciOiJFUzI1NiJ9." RFC7515_PAYLOAD \
	".DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQ" \
	"xfKTUJqPP3-Kg6NU1Q"
#define RFC7515_A5 \
	"eyJhbGciOiJub25lIn0." RFC7515_PAYLOAD "."
#define RFC7515_KEYS \
	"{\"keys\":[{\"kty\":\"RSA\",\"e\":\"AQAB\",\"n\":\"ofgWCuLjybRlzo0tZWJ" \
	"jNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1" \
	"Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzj" \
	"b_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2Ca" \
	"pHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmou" \
	"dF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ\"}," \
	"{\"kty\":\"EC\",\"crv\":\"P-256\"," \
	"\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\"," \
	"\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}]}"
#define RFC7515_EXP	((int64_t)1300819380)

static void
test_rfc7515_examples(void **state)
{
	/* "joe" signs with a secret (A.1) and with keys (A.2, A.3): two
	 * issuers, since one may not mix them; a route for each. */
	static const char cfgtext[] =
	    "{\"listen\":[\"127.0.0.1:1\"],"
	    "\"issuers\":[{\"name\":\"joe-keys\",\"issuer\":\"joe\","
	    "\"jwks_url\":\"https://joe.example/keys\","
	    "\"algorithms\":[\"RS256\",\"ES256\"],"
	    "\"audiences\":[\"api://joe\"]},"
	    "{\"name\":\"joe-hs\",\"issuer\":\"joe\","
	    "\"algorithms\":[\"HS256\"],"
	    "\"hmac_secret_env\":\"SPOA_TEST_RFC7515_UNUSED\","
	    "\"audiences\":[\"api://joe\"]}],"
	    "\"routes\":[{\"name\":\"hs\",\"path_prefix\":\"/hs\","
	    "\"require\":\"jwt\",\"issuers\":[\"joe-hs\"]},"
	    "{\"name\":\"keys\",\"path_prefix\":\"/keys\","
	    "\"require\":\"jwt\",\"issuers\":[\"joe-keys\"]}]}";
	static const char *const toks[] = { RFC7515_A1, RFC7515_A2, RFC7515_A3 };
	static const char *const paths[] = { "/hs", "/keys", "/keys" };
	struct config_errors errs = { NULL, 0 };
	struct config *cfg = NULL;
	struct keyset *ks = NULL;
	struct cfgref *ref;
	struct snapshot *s;
	uint8_t secret[64];
	const char *why = NULL;
	char t[1024];

	(void)state;
	assert_int_equal(config_parse(cfgtext, strlen(cfgtext), NULL, &cfg,
	    &errs), 0);
	ref = cfgref_new(cfg);
	s = new_snap(ref);
	cfgref_unref(ref);
	assert_int_equal(jwks_parse(RFC7515_KEYS, strlen(RFC7515_KEYS), &ks,
	    NULL), 0);
	assert_int_equal(keyset_count(ks), 2);
	snapshot_set_keys(s, 0, ks, RFC7515_EXP - 100);
	keyset_unref(ks);
	assert_int_equal(b64u_decode_test(RFC7515_A1_KEY, secret), 64);
	snapshot_set_hmac(s, 1, keyset_hmac(secret, 64, &why));
	assert_non_null(snapshot_hmac(s, 1));

	for (size_t i = 0; i < ARRAY_SIZE(toks); i++) {
		/* Before exp: everything passes up to the audience. */
		assert_int_equal(run_s(s, paths[i], toks[i], RFC7515_EXP - 100,
		    NULL), DECIDE_DONE);
		EXPECT(REASON_AUDIENCE_MISMATCH);
		/* At exp (+ the default 60 s skew): expired. */
		assert_int_equal(run_s(s, paths[i], toks[i], RFC7515_EXP + 59,
		    NULL), DECIDE_DONE);
		EXPECT(REASON_AUDIENCE_MISMATCH);
		assert_int_equal(run_s(s, paths[i], toks[i], RFC7515_EXP + 60,
		    NULL), DECIDE_DONE);
		EXPECT(REASON_TOKEN_EXPIRED);
		/* A changed signature: refused as such. */
		snprintf(t, sizeof(t), "%s", toks[i]);
		t[strlen(t) - 3] = t[strlen(t) - 3] == 'A' ? 'Q' : 'A';
		assert_int_equal(run_s(s, paths[i], t, RFC7515_EXP - 100, NULL),
		    DECIDE_DONE);
		EXPECT(REASON_SIGNATURE_INVALID);
	}
	/* A.5: the unsecured JWS. */
	assert_int_equal(run_s(s, "/keys", RFC7515_A5, RFC7515_EXP - 100,
	    NULL), DECIDE_DONE);
	EXPECT(REASON_TOKEN_UNSUPPORTED_ALG);
	assert_int_equal(run_s(s, "/hs", RFC7515_A5, RFC7515_EXP - 100, NULL),
	    DECIDE_DONE);
	EXPECT(REASON_TOKEN_UNSUPPORTED_ALG);
	snapshot_unref(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup(f, reset)
		T(test_valid_tokens),
		T(test_identity_variables),
		T(test_s1_alg_none),
		T(test_s2_rs_hs_confusion),
		T(test_s3_key_alg_binding),
		T(test_s4_ecdsa_forms),
		T(test_s5_rsa_malleations),
		T(test_s6_kid_injection),
		T(test_s7_embedded_keys),
		T(test_s8_crit),
		T(test_s9_s10_jwe_json),
		T(test_s11_size_bombs),
		T(test_s12_duplicate_keys),
		T(test_s13_noncanonical_b64),
		T(test_s14_numeric_dates),
		T(test_s15_typ_and_id_token),
		T(test_s16_hmac_flips),
		T(test_s17_weak_keys),
		T(test_s18_structural),
		T(test_s19_entra_scoping),
		T(test_entra_single_tenant),
		T(test_cache_key_issuer_changed),
		T(test_provider_shapes),
		T(test_s20_binding),
		T(test_issuers),
		T(test_alg_allow_list),
		T(test_time_boundaries),
		T(test_audience),
		T(test_scopes),
		T(test_roles),
		T(test_claim_rules),
		T(test_challenges),
		T(test_cache_hit),
		T(test_cache_hit_rechecks_exp),
		T(test_cache_key_removed),
		T(test_cache_issuer_scope),
		T(test_not_ready),
		T(test_stale_keys_cached_token),
		T(test_shared_iss_same_with_or_without_cache),
		T(test_hs_only_issuer),
		T(test_rfc7515_examples),
#undef T
	};

	return (cmocka_run_group_tests(tests, setup, teardown));
}
