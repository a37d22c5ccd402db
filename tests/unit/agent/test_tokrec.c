/*
 * test_tokrec.c: compiled token records (token/tokrec.c) and their use by
 * the decision (decide/jwt.c).
 *
 *  - Every answer a record gives is the old tree path's answer, byte for
 *    byte (tests/support/tree_oracle.h): for a table of payloads (strings,
 *    integers, fractions, large and negative numbers, booleans, arrays of
 *    each, mixed arrays, objects, null, empty values, control characters,
 *    absent claims, dotted names and JSON Pointers, cnf thumbprints) under
 *    two issuers (default scope and role claims, and Keycloak-style paths),
 *    on every route of the config (scopes, roles, claims rules of every
 *    kind, claims_to_vars), with and without a client certificate, cache
 *    off, then a miss and a hit with the cache on.
 *  - More scope and role names than one 64-bit word holds.
 *  - What a record holds, read back directly, and its size for an
 *    Entra-sized token.
 *  - Records under a reload: kept when nothing they depend on changed
 *    (same text, issuers reordered, routes reordered, variables renamed,
 *    clock skew changed), dropped when it did (a new scope name, a new
 *    rule value, the issuer's audiences, its secret).
 *
 * Tokens are HS256, signed by OpenSSL (testjose.h).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "spoe/spop.h"

#include "answer.h"
#include "claims.h"
#include "config.h"
#include "crypto.h"
#include "decide.h"
#include "facts.h"
#include "json_doc.h"
#include "jwt.h"
#include "loader.h"
#include "log.h"
#include "reason.h"
#include "snapshot.h"
#include "stats.h"
#include "testsupport.h"
#define TOKMAX		16384
#include "testjose.h"
#include "tokcache.h"
#include "tokrec.h"
#include "tree_oracle.h"
#include "util.h"
#include "verdict.h"

#define NOW		((int64_t)1700000000)
#define SECRET		"0123456789abcdef0123456789abcdef-tokrec"
#define SECRET2		"another secret of 32 bytes or more, rotated"
#define HDR		"{\"alg\":\"HS256\",\"typ\":\"JWT\"}"

static const struct tkey HS = { NULL, SECRET };
static const struct tkey HS2 = { NULL, SECRET2 };

/* ---- configs ----------------------------------------------------------- */

#define ISSUER_HS							\
    "  {\"name\": \"hs\", \"issuer\": \"https://hs.example\",\n"	\
    "   \"algorithms\": [\"HS256\"], \"hmac_secret_env\": \"SPOA_TEST_TOKREC\",\n" \
    "   \"require_exp\": false %s}"
#define AUD_X		",\"audiences\": [\"api://x\"]"
#define ISSUER_KC							\
    "  {\"name\": \"kc\", \"issuer\": \"https://kc.example\",\n"	\
    "   \"algorithms\": [\"HS256\"], \"hmac_secret_env\": \"SPOA_TEST_TOKREC\",\n" \
    "   \"audiences\": [\"api://x\"], \"require_exp\": false,\n"	\
    "   \"roles_claim\": [\"/realm_access/roles\", \"/resource_access/app/roles\", \"groups\"],\n" \
    "   \"scopes_claim\": [\"scope\", \"permissions\"]}"

/* Routes: claims_to_vars of every kind; scopes; roles; claims rules of
 * every kind; all of them together. */
#define ROUTES								\
    "  {\"name\": \"vars\", \"path_prefix\": \"/vars\", \"require\": \"jwt\",\n" \
    "   \"claims_to_vars\": [\"email\", \"n\", \"frac\", \"big\", \"neg\", \"flag\",\n" \
    "     \"off\", \"groups\", \"mixed\", \"org.unit\",\n" \
    "     {\"claim\": \"/a~1b/c\", \"var\": \"ab_c\"}, \"obj\",\n" \
    "     \"nested\", \"nul\", \"empty\", \"earr\", \"ctl\", \"missing\", \"deep.x\",\n" \
    "     {\"claim\": \"https://example.com/roles\", \"var\": \"app_roles\"}]},\n" \
    "  {\"name\": \"scopes\", \"path_prefix\": \"/scopes\", \"require\": \"jwt\",\n" \
    "   \"scopes_all\": [\"read\", \"write\"], \"scopes_any\": [\"a\", \"b\"]},\n" \
    "  {\"name\": \"scopes-any\", \"path_prefix\": \"/scopes-any\", \"require\": \"jwt\",\n" \
    "   \"scopes_any\": [\"a\", \"read\", \" \"]},\n"		\
    "  {\"name\": \"roles\", \"path_prefix\": \"/roles\", \"require\": \"jwt\",\n" \
    "   \"roles_all\": [\"admin\"], \"roles_any\": [\"x\", \"y\"]},\n" \
    "  {\"name\": \"rules\", \"path_prefix\": \"/rules\", \"require\": \"jwt\",\n" \
    "   \"claims\": {\"ver\": [\"2.0\", 2], \"n\": [5, 6.5, -0.0],\n" \
    "     \"flag\": [true], \"org.unit\": {\"all\": [\"blue\", \"green\"]},\n" \
    "     \"/resource_access/app/roles\": {\"present\": true},\n"	\
    "     \"groups\": {\"any\": [\"g1\", false, 0]}}},\n"		\
    "  {\"name\": \"present\", \"path_prefix\": \"/present\", \"require\": \"jwt\",\n" \
    "   \"claims\": {\"nul\": {\"present\": true}, \"obj\": {\"present\": true}}},\n" \
    "  {\"name\": \"all\", \"path_prefix\": \"/all\", \"require\": \"jwt\",\n" \
    "   \"scopes_any\": [\"read\"], \"roles_any\": [\"admin\", \"x\"],\n" \
    "   \"claims\": {\"flag\": [true, false], \"n\": {\"all\": [5]}},\n" \
    "   \"claims_to_vars\": [\"email\", \"groups\", \"n\"]}"

static const char *const route_paths[] = {
	"/vars", "/scopes", "/scopes-any", "/roles", "/rules", "/present",
	"/all",
};

/* The config: ${extra_hs} inside the hs issuer (with "audiences"; AUD_X
 * when NULL), issuers in order (kc first when ${kc_first}), ${more_routes}
 * appended. */
static char *
config_text(const char *extra_hs, bool kc_first, const char *more_routes)
{
	static char text[16384];
	char hs[2048];

	snprintf(hs, sizeof(hs), ISSUER_HS, extra_hs != NULL ? extra_hs : AUD_X);
	snprintf(text, sizeof(text), "{\"listen\": [\"127.0.0.1:1\"],\n"
	    " \"issuers\": [\n%s,\n%s],\n \"routes\": [\n" ROUTES "%s]}\n",
	    kc_first ? ISSUER_KC : hs, kc_first ? hs : ISSUER_KC,
	    more_routes);
	return (text);
}

/* A snapshot of ${text}, after ${prev} (NULL: none), as a reload builds it. */
static struct snapshot *
snap_of(const char *text, const struct snapshot *prev)
{
	struct config_errors errs = { NULL, 0 };
	struct config *cfg = NULL;
	struct snapshot *s = NULL;

	if (config_parse(text, strlen(text), NULL, &cfg, &errs) != 0 ||
	    loader_build(cfg, prev, &s, &errs) != 0) {
		for (size_t i = 0; i < errs.n; i++)
			fprintf(stderr, "config: %s\n", errs.v[i]);
		fail_msg("config refused");
	}
	config_errors_free(&errs);
	return (s);
}

/* ---- deciding ---------------------------------------------------------- */

static struct verdict V, W;
static struct agent_stats STATS;

/* A token of issuer ${iss} ("hs", "kc") with ${body} after iss and aud. */
static const char *
token(const struct tkey *k, const char *iss, const char *body)
{
	char *p = jbuf();

	snprintf(p, 8192, "{\"iss\":\"https://%s.example\",\"aud\":\"api://x\"%s%s}",
	    iss, body[0] != '\0' ? "," : "", body);
	return (mint(k, JWS_ALG_HS256, HDR, p));
}

static const uint8_t cert_der[] = "not a real certificate, only hashed";

/* decide() for GET ${path} with ${tok}, and a client certificate. */
static enum decide_outcome
decide_tok(struct snapshot *s, const char *path, const char *tok,
    struct tokcache *tc, bool cert)
{
	static char authz[TOKMAX + 16];
	struct decide_env env;
	struct facts f;

	snprintf(authz, sizeof(authz), "Bearer %s", tok);
	memset(&f, 0, sizeof(f));
	f.method.ptr = "GET";
	f.method.len = 3;
	f.host.ptr = "api.example.com";
	f.host.len = strlen(f.host.ptr);
	f.path.ptr = path;
	f.path.len = strlen(path);
	f.authz.ptr = authz;
	f.authz.len = strlen(authz);
	if (cert) {
		f.cert_der.ptr = (const char *)cert_der;
		f.cert_der.len = sizeof(cert_der) - 1;
	}
	f.src_family = 4;
	f.src[0] = 127;
	f.src[3] = 1;
	memset(&env, 0, sizeof(env));
	env.now = NOW;
	env.tokcache = tc;
	env.stats = &STATS;
	return (decide(&f, s, &env, &V));
}

/* The ACK bytes of ${v}. */
static size_t
encode(const struct verdict *v, uint8_t *buf, size_t cap)
{
	struct spop_writer w;
	ssize_t n;

	spop_w_init(&w, buf, cap);
	n = answer_encode(v, ANSWER_ALL, 1, 1, &w, 65532);
	assert_true(n > 0);
	return ((size_t)n);
}

static const struct route_cfg *
route_named(const struct config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->nroutes; i++)
		if (strcmp(cfg->routes[i].name, name) == 0)
			return (&cfg->routes[i]);
	fail_msg("no route %s", name);
	return (NULL);
}

static const struct issuer_cfg *
issuer_named(const struct config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->nissuers; i++)
		if (strcmp(cfg->issuers[i].name, name) == 0)
			return (&cfg->issuers[i]);
	fail_msg("no issuer %s", name);
	return (NULL);
}

/* The payload of ${tok}, as the agent's parser builds it. */
static cJSON *
payload_of(const char *tok)
{
	const char *a = strchr(tok, '.') + 1, *b = strchr(a, '.');
	uint8_t buf[TOKMAX];
	size_t n;
	char seg[TOKMAX];
	struct json_limits lim = { 32, 2048, 1, 0, 0 };
	cJSON *p;

	memcpy(seg, a, (size_t)(b - a));
	seg[b - a] = '\0';
	n = b64u_decode_test(seg, buf);
	p = json_doc_parse((const char *)buf, n, &lim, NULL);
	assert_non_null(p);
	return (p);
}

/*
 * The answer V (just decided for ${tok} on ${path}) is the old tree path's
 * answer for the same verified claims, byte for byte.
 */
static void
same_as_oracle(int line, const struct snapshot *s, const char *tok,
    bool cert)
{
	static uint8_t a[1 << 17], b[1 << 17];
	const struct config *cfg = snapshot_config(s);
	uint8_t sha[32];
	cJSON *p;
	size_t na, nb;

	if (V.issuer == NULL || V.route == NULL)
		fail_msg("line %d: not verified: %s (%s)", line,
		    reason_name(V.reason), V.detail ? V.detail : "-");
	p = payload_of(tok);
	if (cert)
		assert_int_equal(crypto_sha256(cert_der, sizeof(cert_der) - 1,
		    sha), 0);
	oracle_accept(p, issuer_named(cfg, V.issuer), route_named(cfg,
	    V.route), cert ? sha : NULL, &W);
	cJSON_Delete(p);
	if (V.reason != W.reason)
		fail_msg("line %d: route %s: %s (%s), the tree path says %s (%s)",
		    line, V.route, reason_name(V.reason), V.detail ? V.detail :
		    "-", reason_name(W.reason), W.detail ? W.detail : "-");
	na = encode(&V, a, sizeof(a));
	nb = encode(&W, b, sizeof(b));
	if (na != nb || memcmp(a, b, na) != 0) {
		for (size_t i = 0; i < V.nvars || i < W.nvars; i++)
			fprintf(stderr, "  %s=%.*s | %s=%.*s\n",
			    i < V.nvars ? V.vars[i].name : "-",
			    i < V.nvars ? (int)V.vars[i].len : 0,
			    i < V.nvars ? V.vars[i].val : "",
			    i < W.nvars ? W.vars[i].name : "-",
			    i < W.nvars ? (int)W.vars[i].len : 0,
			    i < W.nvars ? W.vars[i].val : "");
		fail_msg("line %d: route %s: the answers differ (%s / %s)",
		    line, V.route, V.www_authenticate, W.www_authenticate);
	}
	if (strcmp(V.detail ? V.detail : "", W.detail ? W.detail : "") != 0)
		fail_msg("line %d: detail \"%s\", the tree path's \"%s\"", line,
		    V.detail ? V.detail : "", W.detail ? W.detail : "");
}

#define SAME_AS_ORACLE(s, tok, cert) same_as_oracle(__LINE__, (s), (tok), (cert))

/* ---- payloads ----------------------------------------------------------- */

/* "AAAA...": the SHA-256 of cert_der as x5t#S256 is computed in setup. */
static char x5t_good[64];

static const char *const bodies[] = {
	"",
	"\"sub\":\"alice\",\"email\":\"a@example.com\"",
	/* numbers for vars and rules */
	"\"n\":5,\"frac\":0.25,\"big\":1e300,\"neg\":-7,\"flag\":true,"
	    "\"off\":false,\"ver\":\"2.0\"",
	"\"n\":6.5,\"ver\":2,\"flag\":false,\"groups\":[0,\"g2\"]",
	"\"n\":-0,\"ver\":\"2\",\"flag\":[true,false],\"groups\":[false]",
	"\"n\":[5,7],\"flag\":[1,true]",
	"\"n\":9007199254740993,\"big\":-1.5e-300,\"frac\":123456789.125",
	/* arrays, mixed, nested, objects, null, empty */
	"\"groups\":[\"g1\",\"g2\",\"g3\"],\"mixed\":[\"x\",1,true,2.5]",
	"\"groups\":[],\"earr\":[],\"empty\":\"\",\"nul\":null",
	"\"obj\":{\"k\":1},\"nested\":[[1]],\"mixed\":[{\"a\":1}]",
	"\"groups\":[null],\"mixed\":[null,1]",
	"\"ctl\":\"line\\nbreak\",\"email\":\"tab\\there\"",
	"\"ctl\":\"c1 \\u0085 control\"",
	"\"email\":\"caf\\u00e9 \\u2603\"",
	/* dotted names and pointers */
	"\"org.unit\":\"blue\",\"a/b\":{\"c\":\"slash\"},\"deep\":{\"x\":[1,2]}",
	"\"org\":{\"unit\":[\"blue\",\"green\",\"red\"]}",
	"\"org\":{\"unit\":[\"blue\"]},\"org.unit\":[\"green\"]",
	"\"https://example.com/roles\":[\"r1\",\"r2\"]",
	/* scopes and roles, default claims */
	"\"scp\":\"read write a\",\"roles\":[\"admin\",\"y\"]",
	"\"scp\":[\"read\",\"write\",\"b\"],\"roles\":\"admin x\"",
	"\"scp\":\"read  write\",\"scope\":\"a b\",\"roles\":[\"admin\"]",
	"\"scope\":\"read write b\",\"roles\":[\"admin \",\"x\"]",
	"\"scope\":[\"read\"],\"roles\":[1,\"admin\",\"y\"]",
	"\"scp\":[\"read write\",\"\"],\"roles\":[\"x\"]",
	"\"scp\":\"\",\"roles\":[]",
	/* scopes and roles, Keycloak-style claims */
	"\"realm_access\":{\"roles\":[\"admin\"]},\"resource_access\":{\"app\":"
	    "{\"roles\":[\"x\"]}},\"scope\":\"read write a\"",
	"\"resource_access\":{\"app\":{\"roles\":\"y admin\"}},"
	    "\"permissions\":[\"read\",\"write\",\"b\"],\"groups\":[\"g1\"]",
	"\"realm_access\":{\"roles\":null},\"resource_access\":{\"app\":{}},"
	    "\"groups\":\"admin x\"",
	/* identity values */
	"\"sub\":\"bob\",\"azp\":\"app-1\",\"tid\":\"72f988bf-86f1-41af-91ab-"
	    "2d7cd011db47\",\"scp\":\"read\"",
	"\"sub\":\"\",\"appid\":\"app-2\",\"tid\":\"not-a-guid\"",
	"\"sub\":\"x\\u0001y\",\"client_id\":\"cli\",\"cid\":\"okta\"",
	"\"azp\":\"\",\"appid\":\"\",\"cid\":\"okta-only\"",
	/* a line break in a value taken as it is (client id, tenant) */
	"\"azp\":\"a\\r\\nb\",\"sub\":\"s\"",
	"\"tid\":\"x\\ny\",\"scp\":\"read\"",
	"\"client_id\":\"tab\\tok\",\"tid\":\"del\\u007f\"",
	/* cnf */
	"\"cnf\":{\"x5t#S256\":\"%X5T%\"}",
	"\"cnf\":{\"x5t#S256\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}",
	"\"cnf\":{\"x5t#S256\":\"too short\"}",
	"\"cnf\":{\"x5t#S256\":7}",
	"\"cnf\":{\"x5t#S256\":null}",
	"\"cnf\":{\"jkt\":\"0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I\"}",
	"\"cnf\":\"x5t#S256\"",
	/* everything at once */
	"\"sub\":\"carol\",\"email\":\"c@example.com\",\"scp\":\"read\","
	    "\"roles\":[\"admin\"],\"flag\":true,\"n\":5,\"groups\":[\"g1\"],"
	    "\"realm_access\":{\"roles\":[\"x\"]},\"exp\":1700000600,"
	    "\"nbf\":1699999990,\"iat\":1699999990",
};

/* ${body} with %X5T% replaced by the certificate's thumbprint. */
static const char *
body_of(const char *body)
{
	static char out[4096];
	const char *m = strstr(body, "%X5T%");

	if (m == NULL)
		return (body);
	snprintf(out, sizeof(out), "%.*s%s%s", (int)(m - body), body, x5t_good,
	    m + 5);
	return (out);
}

static int
setup(void **state)
{
	uint8_t sha[32];

	(void)state;
	assert_int_equal(setenv("SPOA_TEST_TOKREC", SECRET, 1), 0);
	assert_int_equal(crypto_sha256(cert_der, sizeof(cert_der) - 1, sha), 0);
	b64u(sha, 32, x5t_good);
	log_set_level(LOG_LVL_ERROR);
	return (0);
}

/* ---- tests -------------------------------------------------------------- */

/*
 * Every payload, both issuers, every route, with and without a
 * certificate: the record's answer is the tree path's, cache off, on a
 * miss and on a hit.
 */
static void
test_same_answers(void **state)
{
	struct snapshot *s = snap_of(config_text(NULL, false, ""), NULL);
	static const char *const issuers[] = { "hs", "kc" };

	(void)state;
	for (size_t b = 0; b < ARRAY_SIZE(bodies); b++) {
		for (size_t i = 0; i < ARRAY_SIZE(issuers); i++) {
			const char *tok = token(&HS, issuers[i],
			    body_of(bodies[b]));

			for (int cert = 0; cert < 2; cert++) {
				struct tokcache *tc = tokcache_new(8);

				for (size_t r = 0; r < ARRAY_SIZE(route_paths); r++) {
					assert_int_equal(decide_tok(s,
					    route_paths[r], tok, NULL, cert),
					    DECIDE_DONE);
					SAME_AS_ORACLE(s, tok, cert);
					assert_int_equal(decide_tok(s,
					    route_paths[r], tok, tc, cert),
					    DECIDE_DONE);
					SAME_AS_ORACLE(s, tok, cert);
					assert_int_equal(decide_tok(s,
					    route_paths[r], tok, tc, cert),
					    DECIDE_DONE);
					SAME_AS_ORACLE(s, tok, cert);
					assert_int_equal(V.verif_alg, -1);
				}
				tokcache_free(tc);
			}
		}
	}
	snapshot_unref(s);
}

/* A few answers spelled out, so the oracle itself is held to them. */
static void
test_known_answers(void **state)
{
	struct snapshot *s = snap_of(config_text(NULL, false, ""), NULL);
	const struct verdict_var *vv;

	(void)state;
#define VAR_IS(name, want) do {						\
	vv = verdict_get(&V, (name));					\
	assert_non_null(vv);						\
	assert_int_equal(vv->len, strlen(want));			\
	assert_memory_equal(vv->val, (want), vv->len);			\
} while (0)
	decide_tok(s, "/vars", token(&HS, "hs", "\"sub\":\"alice\",\"n\":5,"
	    "\"frac\":0.25,\"flag\":false,\"groups\":[\"g1\",2,true],"
	    "\"org\":{\"unit\":\"blue\"},\"nul\":null,\"empty\":\"\","
	    "\"earr\":[],\"scp\":\"read write\",\"roles\":[\"r\"]"), NULL,
	    false);
	assert_int_equal(V.reason, REASON_OK);
	VAR_IS("sub", "alice");
	VAR_IS("issuer", "https://hs.example");
	VAR_IS("scopes", "read write");
	VAR_IS("roles", "r");
	VAR_IS("claim_n", "5");
	VAR_IS("claim_frac", "0.25");
	VAR_IS("claim_flag", "false");
	VAR_IS("claim_groups", "g1 2 true");
	VAR_IS("claim_org_unit", "blue");
	assert_null(verdict_get(&V, "claim_nul"));
	assert_null(verdict_get(&V, "claim_empty"));
	assert_null(verdict_get(&V, "claim_earr"));
	assert_null(verdict_get(&V, "claim_missing"));
	assert_null(verdict_get(&V, "client_id"));

	/* An object for a variable: refused whole. */
	decide_tok(s, "/vars", token(&HS, "hs", "\"obj\":{}"), NULL, false);
	assert_int_equal(V.reason, REASON_IDENTITY_UNSENDABLE);
	assert_int_equal(V.nvars, 0);

	/* Scopes: "all" first, the first missing one named. */
	decide_tok(s, "/scopes", token(&HS, "hs", "\"scp\":\"read b\""), NULL,
	    false);
	assert_int_equal(V.reason, REASON_SCOPE_MISSING);
	assert_non_null(strstr(V.www_authenticate, "scope=\"write\""));
	decide_tok(s, "/scopes", token(&HS, "hs", "\"scp\":\"read write\""),
	    NULL, false);
	assert_int_equal(V.reason, REASON_SCOPE_MISSING);
	assert_non_null(strstr(V.www_authenticate, "scope=\"a\""));
	decide_tok(s, "/scopes", token(&HS, "hs", "\"scp\":[\"write\","
	    "\"read\",\"b\"]"), NULL, false);
	assert_int_equal(V.reason, REASON_OK);
	/* Keycloak paths for kc, not the default claims. */
	decide_tok(s, "/roles", token(&HS, "kc", "\"roles\":[\"admin\",\"x\"]"),
	    NULL, false);
	assert_int_equal(V.reason, REASON_ROLE_MISSING);
	decide_tok(s, "/roles", token(&HS, "kc", "\"realm_access\":{\"roles\":"
	    "[\"admin\"]},\"groups\":\"y\""), NULL, false);
	assert_int_equal(V.reason, REASON_OK);
	VAR_IS("roles", "admin y");

	/* Rules by type: "2.0" and 2 are allowed for ver, "2" is not. */
	decide_tok(s, "/rules", token(&HS, "kc", "\"ver\":2,\"n\":-0,"
	    "\"flag\":true,\"org\":{\"unit\":[\"green\",\"blue\"]},"
	    "\"resource_access\":{\"app\":{\"roles\":0}},\"groups\":[false]"),
	    NULL, false);
	assert_int_equal(V.reason, REASON_OK);
	decide_tok(s, "/rules", token(&HS, "kc", "\"ver\":\"2\",\"n\":-0,"
	    "\"flag\":true,\"org\":{\"unit\":[\"green\",\"blue\"]},"
	    "\"resource_access\":{\"app\":{\"roles\":0}},\"groups\":[false]"),
	    NULL, false);
	assert_int_equal(V.reason, REASON_CLAIM_MISMATCH);
	/* "present" takes an object, never null. */
	decide_tok(s, "/present", token(&HS, "hs", "\"nul\":0,\"obj\":{}"),
	    NULL, false);
	assert_int_equal(V.reason, REASON_OK);
	decide_tok(s, "/present", token(&HS, "hs", "\"nul\":null,\"obj\":{}"),
	    NULL, false);
	assert_int_equal(V.reason, REASON_CLAIM_MISMATCH);

	/* cnf.x5t#S256: bound to the certificate presented, or refused. */
	decide_tok(s, "/vars", token(&HS, "hs", body_of("\"cnf\":"
	    "{\"x5t#S256\":\"%X5T%\"}")), NULL, true);
	assert_int_equal(V.reason, REASON_OK);
	decide_tok(s, "/vars", token(&HS, "hs", body_of("\"cnf\":"
	    "{\"x5t#S256\":\"%X5T%\"}")), NULL, false);
	assert_int_equal(V.reason, REASON_CERT_BINDING_MISMATCH);
	decide_tok(s, "/vars", token(&HS, "hs", "\"cnf\":{\"x5t#S256\":1}"),
	    NULL, true);
	assert_int_equal(V.reason, REASON_TOKEN_MALFORMED);
#undef VAR_IS
	snapshot_unref(s);
}

/* Names beyond a 64-bit word: 200 scopes, 150 roles, ordered by the
 * config's sort, with tokens holding some at word boundaries. */
static void
test_many_names(void **state)
{
	static char routes[16384], scp[4096];
	size_t n = 0;
	struct snapshot *s;
	const char *tok;

	(void)state;
	n += (size_t)snprintf(routes + n, sizeof(routes) - n, ",\n  {\"name\": "
	    "\"every\", \"path_prefix\": \"/every\", \"require\": \"jwt\", "
	    "\"scopes_any\": [");
	for (int i = 0; i < 200; i++)
		n += (size_t)snprintf(routes + n, sizeof(routes) - n,
		    "%s\"s%03d\"", i ? "," : "", i);
	n += (size_t)snprintf(routes + n, sizeof(routes) - n,
	    "], \"roles_any\": [");
	for (int i = 0; i < 150; i++)
		n += (size_t)snprintf(routes + n, sizeof(routes) - n,
		    "%s\"r%03d\"", i ? "," : "", i);
	snprintf(routes + n, sizeof(routes) - n, "]},\n"
	    "  {\"name\": \"edges\", \"path_prefix\": \"/edges\", \"require\": "
	    "\"jwt\", \"scopes_all\": [\"s199\", \"s000\", \"s063\", \"s064\", "
	    "\"s127\", \"s128\"], \"roles_all\": [\"r149\", \"r063\", "
	    "\"r064\"]},\n"
	    "  {\"name\": \"last\", \"path_prefix\": \"/last\", \"require\": "
	    "\"jwt\", \"scopes_any\": [\"s198\", \"s199\"], \"roles_any\": "
	    "[\"r000\"]},\n"
	    "  {\"name\": \"wide\", \"path_prefix\": \"/wide\", \"require\": "
	    "\"jwt\", \"claims_to_vars\": [\"v00\", \"v01\", \"v02\", \"v03\", "
	    "\"v04\", \"v05\", \"v06\", \"v07\", \"v08\", \"v09\", \"v10\", "
	    "\"v11\", \"v12\", \"v13\", \"v14\", \"v15\", \"v16\", \"v17\", "
	    "\"v18\", \"v19\", \"v20\", \"v21\", \"v22\", \"v23\", \"v24\", "
	    "\"v25\", \"v26\", \"v27\", \"v28\", \"v29\"]}\n");
	s = snap_of(config_text(NULL, false, routes), NULL);

	tok = token(&HS, "hs", "\"scp\":\"s000 s063 s064 s127 s128 s199\","
	    "\"roles\":[\"r063\",\"r064\",\"r149\"]");
	decide_tok(s, "/edges", tok, NULL, false);
	assert_int_equal(V.reason, REASON_OK);
	SAME_AS_ORACLE(s, tok, false);
	decide_tok(s, "/last", tok, NULL, false);
	assert_int_equal(V.reason, REASON_ROLE_MISSING);
	SAME_AS_ORACLE(s, tok, false);

	/* More claims_to_vars claims than a record's plan sizes on the
	 * stack: every value where it belongs. */
	tok = token(&HS, "hs", "\"v00\":0,\"v07\":\"seven\",\"v13\":[1,2],"
	    "\"v29\":true,\"email\":\"e\"");
	decide_tok(s, "/wide", tok, NULL, false);
	assert_int_equal(V.reason, REASON_OK);
	assert_int_equal(V.nvars, 5);   /* issuer and 4 claims */
	SAME_AS_ORACLE(s, tok, false);
	tok = token(&HS, "hs", "\"v03\":{},\"v29\":1");
	decide_tok(s, "/wide", tok, NULL, false);
	assert_int_equal(V.reason, REASON_IDENTITY_UNSENDABLE);
	SAME_AS_ORACLE(s, tok, false);
	/* Each one missing in turn is named. */
	for (int drop = 0; drop < 6; drop++) {
		static const char *const all[] = { "s000", "s063", "s064",
		    "s127", "s128", "s199" };
		size_t m = 0;

		m += (size_t)snprintf(scp + m, sizeof(scp) - m, "\"scp\":\"");
		for (int i = 0; i < 6; i++)
			if (i != drop)
				m += (size_t)snprintf(scp + m, sizeof(scp) - m,
				    "%s ", all[i]);
		snprintf(scp + m, sizeof(scp) - m, "\",\"roles\":[\"r063\","
		    "\"r064\",\"r149\"]");
		tok = token(&HS, "hs", scp);
		decide_tok(s, "/edges", tok, NULL, false);
		assert_int_equal(V.reason, REASON_SCOPE_MISSING);
		SAME_AS_ORACLE(s, tok, false);
	}
	/* Every name alone passes "every", none of another case does. */
	for (int i = 0; i < 200; i += 7) {
		snprintf(scp, sizeof(scp), "\"scp\":\"s%03d\",\"roles\":"
		    "[\"r000\"]", i);
		tok = token(&HS, "hs", scp);
		decide_tok(s, "/every", tok, NULL, false);
		assert_int_equal(V.reason, REASON_OK);
		snprintf(scp, sizeof(scp), "\"scp\":\"S%03d\",\"roles\":"
		    "[\"r000\"]", i);
		tok = token(&HS, "hs", scp);
		decide_tok(s, "/every", tok, NULL, false);
		assert_int_equal(V.reason, REASON_SCOPE_MISSING);
		SAME_AS_ORACLE(s, tok, false);
	}
	for (int i = 0; i < 150; i += 11) {
		snprintf(scp, sizeof(scp), "\"roles\":[\"r%03d\"],\"scp\":\"s001\"",
		    i);
		tok = token(&HS, "hs", scp);
		decide_tok(s, "/every", tok, NULL, false);
		assert_int_equal(V.reason, REASON_OK);
		SAME_AS_ORACLE(s, tok, false);
	}
	snapshot_unref(s);
}

/* What tokrec_compile() keeps, read back directly. */
static void
test_record_fields(void **state)
{
	struct snapshot *s = snap_of(config_text(NULL, false, ""), NULL);
	const struct config *cfg = snapshot_config(s);
	const struct tokrec_schema *rs = snapshot_cfgref(s)->rs;
	uint8_t fp[32] = { 1, 2, 3 }, h[8] = { 0xab };
	struct claim_times t = { true, true, false, 1700000600.5, 1.0, 0 }, t2;
	struct tokrec_in in = {
		.issuer = 1, .alg = JWS_ALG_HS256, .hmac = true, .key_fp = fp,
		.kid = "k1", .kid_len = 2, .times = &t, .sub_hash = h,
	};
	cJSON *p = cJSON_Parse("{\"iss\":\"https://kc.example\",\"sub\":\"s\","
	    "\"tid\":\"72F988BF-86F1-41AF-91AB-2D7CD011DB47\",\"email\":\"e\","
	    "\"cnf\":{\"x5t#S256\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	    "E\",\"jkt\":\"0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I\"},"
	    "\"obj\":{}}");
	struct tokrec *rec;
	const uint8_t *sha;
	const char *v, *name;
	char guid[CLAIMS_GUID_LEN + 1];
	size_t len, r = (size_t)(route_named(cfg, "vars") - cfg->routes);

	(void)state;
	assert_non_null(p);
	assert_non_null(rec = tokrec_compile(rs, p, &in));
	assert_int_equal(rec->issuer, 1);
	assert_int_equal(tokrec_schema_issuer(rs, rec), 1);
	assert_int_equal(rec->alg, JWS_ALG_HS256);
	assert_true(rec->flags & TOKREC_F_HMAC);
	assert_memory_equal(rec->key_fp, fp, TOKREC_KEY_FP_LEN);
	assert_memory_equal(rec->sub_hash, h, 8);
	tokrec_times(rec, &t2);
	assert_true(t2.has_exp && t2.has_nbf && !t2.has_iat);
	assert_true(t2.exp == 1700000600.5 && t2.nbf == 1.0);
	assert_string_equal(tokrec_kid(rec, &len), "k1");
	assert_int_equal(len, 2);
	assert_string_equal(tokrec_iss(rec), "https://kc.example");
	assert_string_equal(tokrec_ident(rec, TOKREC_ISS, &len),
	    "https://kc.example");
	assert_string_equal(tokrec_ident(rec, TOKREC_TENANT, &len),
	    "72F988BF-86F1-41AF-91AB-2D7CD011DB47");
	tokrec_tenant_guid(rec, guid);
	assert_string_equal(guid, "72f988bf-86f1-41af-91ab-2d7cd011db47");
	assert_null(tokrec_ident(rec, TOKREC_CLIENT, &len));
	assert_null(tokrec_ident(rec, TOKREC_SCOPES, &len));
	assert_int_equal(tokrec_x5t(rec, &sha), TOKREC_CNF_SHA256);
	assert_int_equal(sha[31], 1);
	assert_int_equal(sha[0], 0);
	assert_int_equal(tokrec_jkt(rec, &sha), TOKREC_CNF_SHA256);
	assert_int_equal(sha[0], 0xd1);
	/* claims_to_vars of route "vars": email, then obj refused. */
	assert_int_equal(tokrec_route_var(rs, r, 0, rec, &name, &v, &len), 0);
	assert_string_equal(name, "claim_email");
	assert_string_equal(v, "e");
	assert_int_equal(tokrec_route_var(rs, r, 11, rec, &name, &v, &len),
	    TOKREC_VAR_UNSENDABLE);
	assert_string_equal(name, "claim_obj");
	assert_int_equal(tokrec_route_var(rs, r, 1, rec, &name, &v, &len),
	    TOKREC_VAR_ABSENT);
	tokrec_free(rec);

	/* An iss that cannot be sent is still kept for key checks; no kid,
	 * no sub hash, no cnf. */
	cJSON_Delete(p);
	p = cJSON_Parse("{\"iss\":\"https://x\\u0007\",\"cnf\":{}}");
	in.kid = NULL;
	in.sub_hash = NULL;
	assert_non_null(rec = tokrec_compile(rs, p, &in));
	assert_true(rec->flags & TOKREC_F_UNSENDABLE);
	assert_null(tokrec_ident(rec, TOKREC_ISS, &len));
	assert_string_equal(tokrec_iss(rec), "https://x\a");
	assert_null(tokrec_kid(rec, &len));
	assert_false(rec->flags & TOKREC_F_SUB_HASH);
	assert_int_equal(tokrec_x5t(rec, &sha), TOKREC_CNF_ABSENT);
	assert_null(sha);
	assert_int_equal(tokrec_jkt(rec, &sha), TOKREC_CNF_ABSENT);
	tokrec_free(rec);
	cJSON_Delete(p);
	snapshot_unref(s);
}

/* The benchmark's Entra-sized token (1.2 KB with RS256, 20 claims): its
 * record stays within the README's figure. */
static void
test_record_size(void **state)
{
	static const char entra[] = "{\"listen\": [\"127.0.0.1:1\"],"
	    "\"issuers\": [{\"name\": \"entra\", \"issuer\": "
	    "\"https://login.microsoftonline.com/{tenant}/v2.0\", \"tenants\": "
	    "[\"72f988bf-86f1-41af-91ab-2d7cd011db47\"], \"algorithms\": "
	    "[\"HS256\"], \"hmac_secret_env\": \"SPOA_TEST_TOKREC\", "
	    "\"audiences\": [\"api://orders\"]}],"
	    "\"routes\": [{\"name\": \"orders\", \"path_prefix\": \"/orders\", "
	    "\"require\": \"jwt\", \"scopes_any\": [\"Orders.Read\"], "
	    "\"claims_to_vars\": [\"email\", \"oid\"]}]}";
	struct snapshot *s = snap_of(entra, NULL);
	uint8_t fp[32] = { 0 }, h[8] = { 0 };
	struct claim_times t = { true, true, true, 1, 1, 1 };
	struct tokrec_in in = {
		.issuer = 0, .alg = JWS_ALG_RS256, .key_fp = fp,
		.kid = "nOo3ZDrODXEK1jKWhXslHR_KXEg", .kid_len = 27,
		.times = &t, .sub_hash = h,
	};
	cJSON *p = cJSON_Parse("{\"aud\":\"api://orders\",\"iss\":"
	    "\"https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-"
	    "2d7cd011db47/v2.0\",\"iat\":1,\"nbf\":1,\"exp\":2,"
	    "\"aio\":\"AWQAm/8TAAAAbFb1Jd0tQHqvN4oaMJ0+YhA1Wq\",\"azp\":"
	    "\"0d4a0e5c-8a7b-4c1e-9c9e-2f6d2a1b3c4d\",\"azpacr\":\"1\","
	    "\"name\":\"Alice Example\",\"oid\":\"6f1c2d3e-4a5b-6c7d-8e9f-"
	    "0a1b2c3d4e5f\",\"preferred_username\":\"alice@example.com\","
	    "\"email\":\"alice@example.com\",\"rh\":\"0.AXEAv4j5cvGGr0GRqy180BHbR1"
	    "wOSg17isZM\",\"roles\":[\"Orders.Admin\",\"Reader\"],\"scp\":"
	    "\"Orders.Read Orders.Write User.Read\",\"sub\":\"AAAAAAAAAAAAAAAAAAAA"
	    "AIkzqFVrSaSaFHy782bbtaQ\",\"tid\":\"72f988bf-86f1-41af-91ab-"
	    "2d7cd011db47\",\"uti\":\"AbCdEfGhIjKlMnOpQrStUv\",\"ver\":\"2.0\"}");
	struct tokrec *rec;

	(void)state;
	assert_non_null(p);
	assert_non_null(rec = tokrec_compile(snapshot_cfgref(s)->rs, p, &in));
	/* With malloc's 8-byte header rounded to 16 and the cache slot's
	 * 64 bytes, 432 is the 512 bytes per cached token of the README;
	 * this one (a real Entra sub and kid) needs 411. */
	if (tokrec_bytes(rec) > 432)
		fail_msg("record of %zu bytes", tokrec_bytes(rec));
	/* The tenant is read from the issuer, not kept twice. */
	assert_true(rec->flags & TOKREC_F_TID_IN_ISS);
	{
		size_t len;
		const char *tid = tokrec_ident(rec, TOKREC_TENANT, &len);

		assert_int_equal(len, CLAIMS_GUID_LEN);
		assert_memory_equal(tid, "72f988bf-86f1-41af-91ab-2d7cd011db47",
		    len);
	}
	tokrec_free(rec);
	cJSON_Delete(p);
	snapshot_unref(s);
}

/*
 * A reload from ${old} to ${text}: the sweep runs as a worker runs it,
 * then the token cached under ${old} is decided under the new snapshot.
 * Return true if that was a cache hit (the record survived).
 */
static char survivor_issuer[64];

static bool
survives(struct snapshot *old, const char *text, const char *tok,
    const char *path, enum reason want)
{
	struct tokcache *tc = tokcache_new(8);
	struct snapshot *s = snap_of(text, old);
	uint64_t hits;
	bool hit;

	assert_int_equal(decide_tok(old, path, tok, tc, false), DECIDE_DONE);
	assert_int_equal(V.reason, REASON_OK);
	assert_int_equal(tokcache_count(tc), 1);
	(void)jwt_cache_sweep(tc, old, s);
	hits = STAT_GET(&STATS, token_cache_hits);
	assert_int_equal(decide_tok(s, path, tok, tc, false), DECIDE_DONE);
	hit = STAT_GET(&STATS, token_cache_hits) == hits + 1;
	if (V.reason != want)
		fail_msg("after the reload: %s (%s), want %s",
		    reason_name(V.reason), V.detail ? V.detail : "-",
		    reason_name(want));
	/* A hit and a miss give the same answer. */
	if (hit)
		SAME_AS_ORACLE(s, tok, false);
	assert_int_equal(hit, tokcache_count(tc) == 1 && V.verif_alg == -1);
	snprintf(survivor_issuer, sizeof(survivor_issuer), "%s",
	    V.issuer != NULL ? V.issuer : "");
	tokcache_free(tc);
	snapshot_unref(s);
	return (hit);
}

static void
test_reload(void **state)
{
	static char base[16384];
	struct snapshot *s;
	const char *hs = token(&HS, "hs", "\"sub\":\"alice\",\"scp\":\"read "
	    "write a\",\"roles\":[\"admin\",\"x\"],\"flag\":true,\"n\":5,"
	    "\"email\":\"a@example.com\"");
	const char *kc = token(&HS, "kc", "\"sub\":\"bob\",\"scope\":\"read\","
	    "\"realm_access\":{\"roles\":[\"admin\"]},\"flag\":false,\"n\":5");
	char *t;

	(void)state;
	snprintf(base, sizeof(base), "%s", config_text(NULL, false, ""));
	s = snap_of(base, NULL);

	/* Nothing changed: the same text read again. */
	assert_true(survives(s, base, hs, "/all", REASON_OK));
	assert_true(survives(s, base, kc, "/all", REASON_OK));
	/* Issuers swapped: the record finds its issuer by fingerprint. */
	assert_true(survives(s, config_text(NULL, true, ""), hs, "/all",
	    REASON_OK));
	assert_string_equal(survivor_issuer, "hs");
	assert_true(survives(s, config_text(NULL, true, ""), kc, "/all",
	    REASON_OK));
	assert_string_equal(survivor_issuer, "kc");
	/* A setting a hit checks again: kept. */
	assert_true(survives(s, config_text(AUD_X ",\"clock_skew_s\": 5", false, ""),
	    hs, "/all", REASON_OK));
	/* Another route, a renamed variable, the routes in another order:
	 * the names and claims mentioned are the same, kept. */
	t = config_text(NULL, false, ",\n  {\"name\": \"more\", \"path_prefix\": "
	    "\"/more\", \"require\": \"jwt\", \"scopes_any\": [\"b\", \"a\"], "
	    "\"claims\": {\"flag\": [false]}, \"claims_to_vars\": [{\"claim\": "
	    "\"email\", \"var\": \"mail\"}]}");
	assert_true(survives(s, t, hs, "/all", REASON_OK));

	/* A scope name no route named before: every record is compiled
	 * again (a miss), the answer unchanged. */
	t = config_text(NULL, false, ",\n  {\"name\": \"new\", \"path_prefix\": "
	    "\"/new\", \"require\": \"jwt\", \"scopes_any\": [\"brand-new\"]}");
	assert_false(survives(s, t, hs, "/all", REASON_OK));
	/* A new value for a rule. */
	t = config_text(NULL, false, ",\n  {\"name\": \"new\", \"path_prefix\": "
	    "\"/new\", \"require\": \"jwt\", \"claims\": {\"n\": [42]}}");
	assert_false(survives(s, t, kc, "/all", REASON_OK));
	/* A new claims_to_vars claim. */
	t = config_text(NULL, false, ",\n  {\"name\": \"new\", \"path_prefix\": "
	    "\"/new\", \"require\": \"jwt\", \"claims_to_vars\": [\"upn\"]}");
	assert_false(survives(s, t, kc, "/all", REASON_OK));
	/* The hs issuer's audiences: its records go, kc's stay. */
	t = config_text(",\"audiences\": [\"api://x\", \"api://y\"]", false, "");
	assert_false(survives(s, t, hs, "/all", REASON_OK));
	t = config_text(",\"audiences\": [\"api://x\", \"api://y\"]", false, "");
	assert_true(survives(s, t, kc, "/all", REASON_OK));
	/* An audience the token lacks: refused after the reload, as a fresh
	 * verification refuses it. */
	t = config_text(",\"audiences\": [\"api://y\"]", false, "");
	assert_false(survives(s, t, hs, "/all", REASON_AUDIENCE_MISMATCH));
	snapshot_unref(s);

	/* The secret rotated with the reload: the key's fingerprint differs,
	 * the record goes and the token is refused. */
	s = snap_of(base, NULL);
	assert_int_equal(setenv("SPOA_TEST_TOKREC", SECRET2, 1), 0);
	assert_false(survives(s, base, hs, "/all", REASON_SIGNATURE_INVALID));
	/* ... and a token of the new secret is good. */
	snapshot_unref(s);
	s = snap_of(base, NULL);
	assert_true(survives(s, base, token(&HS2, "hs", "\"scp\":\"read\","
	    "\"roles\":[\"x\"],\"flag\":true,\"n\":5"), "/all", REASON_OK));
	assert_int_equal(setenv("SPOA_TEST_TOKREC", SECRET, 1), 0);
	snapshot_unref(s);
}

/*
 * The cache answers only for the very bytes it verified: a token that
 * differs from a cached one in its last character (a signature that is
 * still canonical base64url, and wrong) is verified, and refused.
 */
static void
test_not_a_hit(void **state)
{
	struct snapshot *s = snap_of(config_text(NULL, false, ""), NULL);
	struct tokcache *tc = tokcache_new(8);
	char *tok = strdup(token(&HS, "hs", "\"sub\":\"alice\""));
	size_t n;
	uint64_t hits;
	static const char flip[] = "AEIMQUYcgkosw048";

	(void)state;
	assert_non_null(tok);
	n = strlen(tok);
	assert_int_equal(decide_tok(s, "/vars", tok, tc, false), DECIDE_DONE);
	assert_int_equal(V.reason, REASON_OK);
	/* 32 bytes of HMAC end in a character holding 4 bits and 2 zeros:
	 * its next canonical neighbour flips the last bit of the MAC. */
	for (size_t i = 0; i < sizeof(flip) - 1; i++) {
		if (tok[n - 1] == flip[i]) {
			tok[n - 1] = flip[(i + 1) % (sizeof(flip) - 1)];
			break;
		}
	}
	hits = STAT_GET(&STATS, token_cache_hits);
	assert_int_equal(decide_tok(s, "/vars", tok, tc, false), DECIDE_DONE);
	assert_int_equal(V.reason, REASON_SIGNATURE_INVALID);
	assert_int_equal(STAT_GET(&STATS, token_cache_hits), hits);
	free(tok);
	tokcache_free(tc);
	snapshot_unref(s);
}

/* More mentions than a record may hold bits for: the config is refused. */
static void
test_mentions_cap(void **state)
{
	size_t cap = 16 + (size_t)TOKREC_MENTIONS_MAX * 8, n = 0;
	char *routes = malloc(cap);
	struct config_errors errs = { NULL, 0 };
	struct config *cfg = NULL;
	const char *text;
	bool found = false;

	(void)state;
	assert_non_null(routes);
	n += (size_t)snprintf(routes + n, cap - n, ",{\"name\": \"big\", "
	    "\"path_prefix\": \"/big\", \"require\": \"jwt\", \"scopes_any\": [");
	for (int i = 0; i <= TOKREC_MENTIONS_MAX; i++)
		n += (size_t)snprintf(routes + n, cap - n, "%s\"%d\"",
		    i ? "," : "", i);
	snprintf(routes + n, cap - n, "]}");
	{
		/* config_text's buffer is too small for this one. */
		size_t tcap = cap + 8192;
		char *big = malloc(tcap), hs[2048];

		assert_non_null(big);
		snprintf(hs, sizeof(hs), ISSUER_HS, AUD_X);
		snprintf(big, tcap, "{\"listen\": [\"127.0.0.1:1\"], \"issuers\": "
		    "[%s,%s], \"routes\": [" ROUTES "%s]}", hs, ISSUER_KC,
		    routes);
		text = big;
		assert_int_not_equal(config_parse(text, strlen(text), NULL,
		    &cfg, &errs), 0);
		for (size_t i = 0; i < errs.n; i++)
			if (strstr(errs.v[i], "more than 65535") != NULL)
				found = true;
		assert_true(found);
		config_errors_free(&errs);
		free(big);
	}
	free(routes);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_answers),
		cmocka_unit_test(test_same_answers),
		cmocka_unit_test(test_many_names),
		cmocka_unit_test(test_record_fields),
		cmocka_unit_test(test_record_size),
		cmocka_unit_test(test_reload),
		cmocka_unit_test(test_not_a_hit),
		cmocka_unit_test(test_mentions_cap),
	};

	return (cmocka_run_group_tests(tests, setup, NULL));
}
