/*
 * fuzz_tokrec.c: compiled token records against the old tree path.
 *
 * The input is a JSON payload (after one mode byte: bit 0 picks the issuer,
 * bit 1 a client certificate).  When it is an object, the harness puts
 * "iss" and "aud" first so that mutations reach the claims a route reads
 * rather than dying in verification; it signs the token (HS256, OpenSSL's
 * HMAC) and decides it on every route of a config whose routes use every
 * kind of rule (scopes and roles from the default claims and from
 * Keycloak-style paths, claims rules of every match and value type,
 * claims_to_vars of every claim shape), with the cache off, then on (a
 * miss, then a hit).
 *
 * Invariants: the three answers are the same, and when the token was
 * verified, each is byte for byte the answer of the old path on the
 * payload tree (tests/support/tree_oracle.h: the route checks and the
 * rendering as they were before token records), encoded as an ACK.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "spoe/spop.h"

#include "answer.h"
#include "b64url.h"
#include "config.h"
#include "crypto.h"
#include "decide.h"
#include "facts.h"
#include "json_doc.h"
#include "loader.h"
#include "log.h"
#include "snapshot.h"
#include "tokcache.h"
#include "verdict.h"
#include "../support/tree_oracle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SECRET		"0123456789abcdef0123456789abcdef-fuzz-tokrec"
#define TOKEN_MAX	8192

static const char config[] =
    "{\"listen\": [\"127.0.0.1:1\"], \"max_token_bytes\": 16384,\n"
    " \"issuers\": [\n"
    "  {\"name\": \"hs\", \"issuer\": \"https://hs.example\", \"algorithms\": [\"HS256\"],\n"
    "   \"hmac_secret_env\": \"SPOA_FUZZ_TOKREC\", \"audiences\": [\"api://x\"],\n"
    "   \"require_exp\": false},\n"
    "  {\"name\": \"kc\", \"issuer\": \"https://kc.example\", \"algorithms\": [\"HS256\"],\n"
    "   \"hmac_secret_env\": \"SPOA_FUZZ_TOKREC\", \"audiences\": [\"api://x\"],\n"
    "   \"require_exp\": false,\n"
    "   \"roles_claim\": [\"/realm_access/roles\", \"/resource_access/app/roles\", \"groups\"],\n"
    "   \"scopes_claim\": [\"scope\", \"permissions\", \"a.b\"]}],\n"
    " \"routes\": [\n"
    "  {\"name\": \"vars\", \"path_prefix\": \"/vars\", \"require\": \"jwt\",\n"
    "   \"claims_to_vars\": [\"email\", \"n\", \"f\", \"groups\", \"org.unit\", \"obj\",\n"
    "     \"nul\", \"a.b\", {\"claim\": \"/a~1b/c\", \"var\": \"ab_c\"},\n"
    "     {\"claim\": \"/x~0y\", \"var\": \"xy\"},\n"
    "     {\"claim\": \"https://e.com/r\", \"var\": \"er\"}]},\n"
    "  {\"name\": \"scopes\", \"path_prefix\": \"/scopes\", \"require\": \"jwt\",\n"
    "   \"scopes_all\": [\"read\", \"write\"], \"scopes_any\": [\"a\", \"b\", \"read\"]},\n"
    "  {\"name\": \"roles\", \"path_prefix\": \"/roles\", \"require\": \"jwt\",\n"
    "   \"roles_all\": [\"admin\"], \"roles_any\": [\"x\", \"y\"]},\n"
    "  {\"name\": \"rules\", \"path_prefix\": \"/rules\", \"require\": \"jwt\",\n"
    "   \"claims\": {\"ver\": [\"2.0\", 2], \"n\": [5, 6.5, -0.0, 1e300],\n"
    "     \"flag\": [true], \"org.unit\": {\"all\": [\"blue\", \"green\"]},\n"
    "     \"/resource_access/app/roles\": {\"present\": true},\n"
    "     \"groups\": {\"any\": [\"g1\", false, 0]}}},\n"
    "  {\"name\": \"present\", \"path_prefix\": \"/present\", \"require\": \"jwt\",\n"
    "   \"claims\": {\"nul\": {\"present\": true}, \"cnf.jkt\": {\"present\": true}}},\n"
    "  {\"name\": \"all\", \"path_prefix\": \"/all\", \"require\": \"jwt\",\n"
    "   \"scopes_any\": [\"read\"], \"roles_any\": [\"admin\", \"x\"],\n"
    "   \"claims\": {\"flag\": [true, false], \"n\": {\"all\": [5]}},\n"
    "   \"claims_to_vars\": [\"email\", \"groups\", \"n\"]}]}\n";

static const char *const paths[] = {
	"/vars", "/scopes", "/roles", "/rules", "/present", "/all", "/none",
};

static const uint8_t cert_der[] = "a certificate, only hashed";

static struct snapshot *snap;
static struct tokcache *tc;
static uint8_t cert_sha[32];
static struct verdict V, W;

static void
setup(void)
{
	struct config_errors errs = { NULL, 0 };
	struct config *cfg = NULL;

	log_set_level(LOG_LVL_ERROR);
	if (setenv("SPOA_FUZZ_TOKREC", SECRET, 1) != 0 ||
	    config_parse(config, strlen(config), NULL, &cfg, &errs) != 0 ||
	    loader_build(cfg, NULL, &snap, &errs) != 0 ||
	    crypto_sha256(cert_der, sizeof(cert_der) - 1, cert_sha) != 0 ||
	    (tc = tokcache_new(64)) == NULL) {
		for (size_t i = 0; i < errs.n; i++)
			fprintf(stderr, "fuzz_tokrec: %s\n", errs.v[i]);
		abort();
	}
}

/* "Bearer " + the HS256 token of ${payload} into ${out}; 0 or -1. */
static int
make_token(const char *payload, size_t plen, char *out, size_t cap)
{
	static const char hdr[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
	uint8_t mac[32];
	unsigned int ml = 0;
	size_t n = 7, need;

	need = 7 + b64url_encoded_len(sizeof(hdr) - 1) + 1 +
	    b64url_encoded_len(plen) + 1 + b64url_encoded_len(32) + 1;
	if (need > cap)
		return (-1);
	memcpy(out, "Bearer ", 7);
	n += b64url_encode((const uint8_t *)hdr, sizeof(hdr) - 1, out + n,
	    cap - n);
	out[n++] = '.';
	n += b64url_encode((const uint8_t *)payload, plen, out + n, cap - n);
	if (HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET),
	    (const uint8_t *)out + 7, n - 7, mac, &ml) == NULL || ml != 32)
		return (-1);
	out[n++] = '.';
	n += b64url_encode(mac, 32, out + n, cap - n);
	out[n] = '\0';
	return (0);
}

static void
decide_one(const char *path, const char *authz, bool cert,
    struct tokcache *cache, struct verdict *v)
{
	struct decide_env env;
	struct facts f;

	memset(&f, 0, sizeof(f));
	f.method.ptr = "GET";
	f.method.len = 3;
	f.host.ptr = "h";
	f.host.len = 1;
	f.path.ptr = path;
	f.path.len = strlen(path);
	f.authz.ptr = authz;
	f.authz.len = strlen(authz);
	if (cert) {
		f.cert_der.ptr = (const char *)cert_der;
		f.cert_der.len = sizeof(cert_der) - 1;
	}
	memset(&env, 0, sizeof(env));
	env.now = 1700000000;
	env.tokcache = cache;
	if (decide(&f, snap, &env, v) != DECIDE_DONE)
		abort();
}

static size_t
encode(const struct verdict *v, uint8_t *buf, size_t cap)
{
	struct spop_writer w;
	ssize_t n;

	spop_w_init(&w, buf, cap);
	n = answer_encode(v, ANSWER_ALL, 1, 1, &w, 65532);
	if (n <= 0)
		abort();
	return ((size_t)n);
}

static void
same(const struct verdict *a, const struct verdict *b)
{
	static uint8_t x[1 << 17], y[1 << 17];
	size_t nx = encode(a, x, sizeof(x)), ny = encode(b, y, sizeof(y));

	if (a->reason != b->reason || nx != ny || memcmp(x, y, nx) != 0 ||
	    strcmp(a->detail ? a->detail : "", b->detail ? b->detail : "") != 0)
		abort();
}

static const struct issuer_cfg *
issuer_named(const struct config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->nissuers; i++)
		if (strcmp(cfg->issuers[i].name, name) == 0)
			return (&cfg->issuers[i]);
	abort();
}

static const struct route_cfg *
route_named(const struct config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->nroutes; i++)
		if (strcmp(cfg->routes[i].name, name) == 0)
			return (&cfg->routes[i]);
	abort();
}

/* The answer the old path gave for the payload ${p} of a verified token. */
static void
oracle(const char *payload, size_t plen, bool cert, struct verdict *v)
{
	const struct config *cfg = snapshot_config(snap);
	const struct json_limits lim = { 32, 2048, 1, 0, 0 };
	cJSON *p = json_doc_parse(payload, plen, &lim, NULL);

	if (p == NULL)
		abort();        /* the agent verified it: it parses */
	oracle_accept(p, issuer_named(cfg, V.issuer), route_named(cfg,
	    V.route), cert ? cert_sha : NULL, v);
	cJSON_Delete(p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char payload[TOKEN_MAX], authz[2 * TOKEN_MAX];
	const char *iss;
	bool cert;
	size_t n = 0, rest;

	if (snap == NULL)
		setup();
	if (size < 1 || size > TOKEN_MAX / 2)
		return (0);
	iss = (data[0] & 1) ? "kc" : "hs";
	cert = (data[0] & 2) != 0;
	data++;
	size--;
	/* An object gets iss and aud first; anything else is the payload. */
	if (size > 0 && data[0] == '{') {
		rest = 1;
		while (rest < size && (data[rest] == ' ' || data[rest] == '\n'))
			rest++;
		n = (size_t)snprintf(payload, sizeof(payload),
		    "{\"iss\":\"https://%s.example\",\"aud\":\"api://x\"%s", iss,
		    rest < size && data[rest] != '}' ? "," : "");
		memcpy(payload + n, data + rest, size - rest);
		n += size - rest;
	} else {
		memcpy(payload, data, size);
		n = size;
	}
	if (make_token(payload, n, authz, sizeof(authz)) != 0)
		return (0);
	for (size_t r = 0; r < sizeof(paths) / sizeof(paths[0]); r++) {
		decide_one(paths[r], authz, cert, NULL, &V);
		decide_one(paths[r], authz, cert, tc, &W);
		same(&V, &W);                   /* cache off, a miss */
		decide_one(paths[r], authz, cert, tc, &W);
		same(&V, &W);                   /* a hit */
		if (V.verif_alg < 0 || V.verif_outcome != REASON_OK ||
		    V.issuer == NULL || V.route == NULL)
			continue;               /* not verified: no record */
		oracle(payload, n, cert, &W);
		same(&V, &W);
	}
	return (0);
}
