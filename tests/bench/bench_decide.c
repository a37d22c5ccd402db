/*
 * bench_decide.c: CPU cost of one decide() on the bearer-token path, for a
 * verified-token cache hit and for a miss with RS256 (RSA-2048), ES256
 * (P-256) and EdDSA (Ed25519), next to the bare OpenSSL verification of
 * the same signature measured in the same process (prehashed, context
 * reused: what `openssl speed` measures).  scripts/bench.sh runs it next to
 * `openssl speed` and prints the ratios against the targets.
 *
 * The decision is the real one: a config parsed by config_parse(), the key
 * file loaded by loader_build(), facts as conn.c hands them over (borrowed
 * slices), a route with a scope rule and claims_to_vars, realistic Entra-
 * like claims (an RS256 token of about 1.2 KB; the program prints the
 * sizes and the heap a cached token holds).
 *   hit          token cache on, the same token every time;
 *   miss/off     token cache off (token_cache_entries 0): every request
 *                verified, as the contract defines the cache-off mode;
 *   miss/fresh   token cache on, 256 distinct tokens cycled through a
 *                64-entry cache: every request a miss that also pays the
 *                cache key (SHA-256), the insertion and an eviction.
 *   dpop/<alg>   a DPoP route (RFC 9449): the same RS256 token, bound
 *                to the client's key (cnf.jkt) and a cache hit, with
 *                "Authorization: DPoP" and a new proof signed with <alg>
 *                for every request (a proof cannot be cached: its jti is
 *                used once), checked, bound and remembered in a replay
 *                cache as a worker does; compared with the hit above in
 *                the same run.
 * next to
 *   raw          EVP_PKEY_verify of a prehashed digest (EVP_DigestVerify
 *                for Ed25519), context reused: what `openssl speed` does;
 *   raw+hash     the same plus the SHA-256 of the token's signing input.
 *
 * Then the identity assertion (routes with "assertion"): the RS256 token's
 * miss on a route with an assertion signed by ES256, EdDSA and RS256 next
 * to the same miss on the same route without, and a cache hit with the
 * cached assertion next to a plain hit.
 *
 * Usage: bench_decide [seconds-per-measurement] [runs] [only]
 * ${only} ("hit", "RS256", "ES256", "EdDSA", "dpop-<alg>") runs just that case's
 * decisions, for a profiler (perf record, valgrind --tool=callgrind).
 *
 * Usage: bench_decide rss [tokens] [alg]
 * The memory of a full cache: ${tokens} (default 100000) distinct tokens
 * of the same Entra-like shape, signed with ${alg} (RS256, the default;
 * ES256 or EdDSA sign much faster and make the same records), each decided
 * once through a cache of that size (a miss that caches it), then the
 * process's resident set (VmRSS) and heap in use before and after, per
 * token.  Each token is freed once decided: what stays is the cache.
 * Output: a table, then "RESULT <case> <us>" lines for scripts/bench.sh.
 * Times are thread CPU time (CLOCK_THREAD_CPUTIME_ID) per decision; the
 * median of ${runs} alternating runs is reported.  Tokens are signed here
 * with OpenSSL (a benchmark, not a test).
 */
#include <malloc.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <cjson/cJSON.h>

#include "b64url.h"
#include "config.h"
#include "crypto.h"
#include "decide.h"
#include "dpop.h"
#include "facts.h"
#include "jwks.h"
#include "loader.h"
#include "log.h"
#include "signer.h"
#include "snapshot.h"
#include "stats.h"
#include "tokcache.h"
#include "verdict.h"

#define NFRESH		256
#define NPROOF		1024
#define FRESH_CACHE	64

static void
die(const char *what)
{
	fprintf(stderr, "bench_decide: %s failed\n", what);
	exit(1);
}

static double
cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}

/* The agent's encoder: a benchmark, not a test, so no independent copy. */
static size_t
b64u(const uint8_t *in, size_t len, char *out)
{
	return (b64url_encode(in, len, out, b64url_encoded_len(len) + 1));
}

struct alg {
	const char *name, *jws, *kid;
	EVP_PKEY *pk;
	/* The last signature made, in OpenSSL's encoding (DER for ECDSA),
	 * and the signing input it covers: the raw baseline verifies it. */
	uint8_t raw[600];
	size_t raw_len;
	char *authz;			/* "Bearer <token>" */
	char *fresh[NFRESH];		/* distinct tokens */
};

static char *sign_compact(struct alg *a, const char *prefix, const char *hdr,
    const char *pay, uint8_t *der, size_t *der_len);

/* "Bearer " + a token for ${a} with subject ${sub} and ${extra} claims. */
static char *
mint_x(struct alg *a, int sub, time_t now, const char *extra)
{
	char hdr[128], pay[1280];

	snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\",\"kid\":\"%s\",\"typ\":"
	    "\"JWT\"}", a->jws, a->kid);
	snprintf(pay, sizeof(pay), "{\"aud\":\"api://orders\",\"iss\":"
	    "\"https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-"
	    "2d7cd011db47/v2.0\",\"iat\":%lld,\"nbf\":%lld,\"exp\":%lld,"
	    "\"aio\":\"AWQAm/8TAAAAbFb1Jd0tQHqvN4oaMJ0+YhA1Wq\",\"azp\":"
	    "\"0d4a0e5c-8a7b-4c1e-9c9e-2f6d2a1b3c4d\",\"azpacr\":\"1\","
	    "\"name\":\"Alice Example\",\"oid\":\"6f1c2d3e-4a5b-6c7d-8e9f-"
	    "0a1b2c3d4e5f\",\"preferred_username\":\"alice@example.com\","
	    "\"email\":\"alice@example.com\",\"rh\":\"0.AXEAv4j5cvGGr0GRqy180BHbR1"
	    "wOSg17isZM\",\"roles\":[\"Orders.Admin\",\"Reader\"],\"scp\":"
	    "\"Orders.Read Orders.Write User.Read\",\"sub\":\"user-%06d\","
	    "\"tid\":\"72f988bf-86f1-41af-91ab-2d7cd011db47\",\"uti\":"
	    "\"AbCdEfGhIjKlMnOpQrStUv\",\"ver\":\"2.0\"%s}", (long long)now - 60,
	    (long long)now - 60, (long long)now + 3600, sub, extra);
	return (sign_compact(a, "Bearer ", hdr, pay, a->raw, &a->raw_len));
}

static char *
mint(struct alg *a, int sub, time_t now)
{
	return (mint_x(a, sub, now, ""));
}

/* A compact JWS of ${hdr} and ${pay} signed by ${a}'s key (R||S for
 * ECDSA), malloc'd after ${prefix}; OpenSSL's own encoding of the
 * signature (DER for ECDSA) in ${der}, ${der_len} when not NULL. */
static char *
sign_compact(struct alg *a, const char *prefix, const char *hdr,
    const char *pay, uint8_t *der, size_t *der_len)
{
	size_t pl = strlen(prefix);
	char *t = malloc(pl + strlen(hdr) * 2 + strlen(pay) * 2 + 1024), *si;
	uint8_t raw[600], sig[600];
	size_t n, sl = sizeof(raw);
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	const EVP_MD *md = strcmp(a->jws, "EdDSA") == 0 ? NULL : EVP_sha256();

	if (t == NULL || m == NULL)
		die("malloc");
	memcpy(t, prefix, pl);
	si = t + pl;
	n = b64u((const uint8_t *)hdr, strlen(hdr), si);
	si[n++] = '.';
	n += b64u((const uint8_t *)pay, strlen(pay), si + n);
	if (EVP_DigestSignInit(m, NULL, md, NULL, a->pk) != 1 ||
	    EVP_DigestSign(m, raw, &sl, (const uint8_t *)si, n) != 1)
		die("sign");
	EVP_MD_CTX_free(m);
	if (der != NULL) {
		memcpy(der, raw, sl);
		*der_len = sl;
	}
	if (strcmp(a->jws, "ES256") == 0) {
		const unsigned char *p = raw;
		ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)sl);

		if (es == NULL ||
		    BN_bn2binpad(ECDSA_SIG_get0_r(es), sig, 32) != 32 ||
		    BN_bn2binpad(ECDSA_SIG_get0_s(es), sig + 32, 32) != 32)
			die("R||S");
		ECDSA_SIG_free(es);
		sl = 64;
	} else {
		memcpy(sig, raw, sl);
	}
	si[n++] = '.';
	b64u(sig, sl, si + n);
	return (t);
}

static char *
jwk(struct alg *a)
{
	uint8_t x[600], y[600];
	char ex[900], ey[900], *out = malloc(2048);
	BIGNUM *b1 = NULL, *b2 = NULL;
	size_t l = sizeof(x);

	if (out == NULL)
		die("malloc");
	if (strcmp(a->jws, "RS256") == 0) {
		if (!EVP_PKEY_get_bn_param(a->pk, OSSL_PKEY_PARAM_RSA_N, &b1) ||
		    !EVP_PKEY_get_bn_param(a->pk, OSSL_PKEY_PARAM_RSA_E, &b2))
			die("rsa params");
		b64u(x, (size_t)BN_bn2bin(b1, x), ex);
		b64u(y, (size_t)BN_bn2bin(b2, y), ey);
		snprintf(out, 2048, "{\"kty\":\"RSA\",\"kid\":\"%s\",\"use\":"
		    "\"sig\",\"n\":\"%s\",\"e\":\"%s\"}", a->kid, ex, ey);
	} else if (strcmp(a->jws, "ES256") == 0) {
		if (!EVP_PKEY_get_bn_param(a->pk, OSSL_PKEY_PARAM_EC_PUB_X, &b1) ||
		    !EVP_PKEY_get_bn_param(a->pk, OSSL_PKEY_PARAM_EC_PUB_Y, &b2) ||
		    BN_bn2binpad(b1, x, 32) != 32 || BN_bn2binpad(b2, y, 32) != 32)
			die("ec params");
		b64u(x, 32, ex);
		b64u(y, 32, ey);
		snprintf(out, 2048, "{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":"
		    "\"%s\",\"x\":\"%s\",\"y\":\"%s\"}", a->kid, ex, ey);
	} else {
		if (EVP_PKEY_get_raw_public_key(a->pk, x, &l) != 1)
			die("ed25519 raw");
		b64u(x, l, ex);
		snprintf(out, 2048, "{\"kty\":\"OKP\",\"crv\":\"Ed25519\","
		    "\"kid\":\"%s\",\"x\":\"%s\"}", a->kid, ex);
	}
	BN_free(b1);
	BN_free(b2);
	return (out);
}

static struct verdict V;
/* The request's path: "/orders/..." (route orders), "/asrt/..." (the same
 * route with an identity assertion). */
static const char *req_path = "/orders/12345";

static void
set_facts(struct facts *f, const char *authz)
{
	memset(f, 0, sizeof(*f));
	f->method.ptr = "GET";
	f->method.len = 3;
	f->host.ptr = "api.example.com";
	f->host.len = strlen(f->host.ptr);
	f->path.ptr = req_path;
	f->path.len = strlen(f->path.ptr);
	f->unique_id.ptr = "7F000001:C35A_7F000001:20FB_6543210F_0001:1F2E";
	f->unique_id.len = strlen(f->unique_id.ptr);
	f->src_family = 4;
	f->src[0] = 10;
	f->src[3] = 7;
	f->authz.ptr = authz;
	f->authz.len = strlen(authz);
}

/* Decisions for ${secs} of CPU time; return CPU microseconds per decision. */
static double
run_decide(const struct snapshot *s, struct alg *a, struct tokcache *tc,
    int fresh, double secs, int64_t now)
{
	struct decide_env env;
	struct facts f;
	double t0, t;
	long n = 0;
	int k = 0;

	set_facts(&f, a->authz);
	t0 = cpu_now();
	do {
		for (int i = 0; i < 32; i++, n++) {
			if (fresh) {
				set_facts(&f, a->fresh[k]);
				k = (k + 1) % NFRESH;
			}
			memset(&env, 0, sizeof(env));
			env.now = now;
			env.tokcache = tc;
			if (decide(&f, s, &env, &V) != DECIDE_DONE ||
			    V.reason != REASON_OK) {
				fprintf(stderr, "bench_decide: %s: %s (%s)\n",
				    a->name, reason_name(V.reason),
				    V.detail ? V.detail : "-");
				exit(1);
			}
		}
	} while ((t = cpu_now() - t0) < secs);
	return (t / (double)n * 1e6);
}

/* A DPoP client: its key, the token bound to it, proofs to send. */
struct dpop_client {
	struct alg *key;
	char *authz;                  /* "DPoP <token bound to key>" */
	char *proof[NPROOF];          /* distinct jti each */
};

static void
dpop_client_init(struct dpop_client *c, struct alg *tokalg, struct alg *key,
    time_t now)
{
	char *j = jwk(key), extra[128], hdr[2300], pay[512], b[64], *tok;
	cJSON *tree = cJSON_Parse(j);
	uint8_t tp[32];
	const char *why;

	if (tree == NULL || jwks_thumbprint(tree, tp, &why) != 0)
		die("thumbprint");
	cJSON_Delete(tree);
	b64u(tp, 32, b);
	c->key = key;
	snprintf(extra, sizeof(extra), ",\"cnf\":{\"jkt\":\"%s\"}", b);
	tok = mint_x(tokalg, 424242, now, extra);
	c->authz = malloc(strlen(tok) + 8);
	if (c->authz == NULL)
		die("malloc");
	snprintf(c->authz, strlen(tok) + 8, "DPoP %s", tok + 7);
	snprintf(hdr, sizeof(hdr), "{\"typ\":\"dpop+jwt\",\"alg\":\"%s\","
	    "\"jwk\":%s}", key->jws, j);
	for (int k = 0; k < NPROOF; k++) {
		uint8_t h[32];
		char ath[64];

		if (crypto_sha256(tok + 7, strlen(tok + 7), h) != 0)
			die("ath");
		b64u(h, 32, ath);
		snprintf(pay, sizeof(pay), "{\"jti\":\"bench-%d-%ld\",\"htm\":"
		    "\"GET\",\"htu\":\"https://api.example.com/dpop/12345\","
		    "\"iat\":%lld,\"ath\":\"%s\"}", k, (long)now,
		    (long long)now, ath);
		c->proof[k] = sign_compact(key, "", hdr, pay, NULL, NULL);
	}
	free(tok);
	free(j);
}

/*
 * DPoP decisions for ${secs} of CPU time, each with a new proof, the token
 * a cache hit, a replay cache as a worker keeps it (a new one each time
 * the proofs wrap around, outside the timing); CPU microseconds each.
 */
static double
run_dpop(const struct snapshot *s, struct dpop_client *c, struct tokcache *tc,
    double secs, int64_t now)
{
	struct decide_env env;
	struct facts f;
	struct tokcache *rp = tokcache_new(65536), *keys = dpop_keys_new();
	double t0, t = 0, pause;
	long n = 0;
	int k = 0;

	set_facts(&f, c->authz);
	f.path.ptr = "/dpop/12345";
	f.path.len = strlen(f.path.ptr);
	f.scheme.ptr = "https";
	f.scheme.len = 5;
	f.dpop_count = 1;
	t0 = cpu_now();
	do {
		for (int i = 0; i < 32; i++, n++) {
			if (k == NPROOF) {
				pause = cpu_now();
				tokcache_free(rp);
				rp = tokcache_new(65536);
				k = 0;
				t0 += cpu_now() - pause;
			}
			f.dpop.ptr = c->proof[k];
			f.dpop.len = strlen(c->proof[k++]);
			memset(&env, 0, sizeof(env));
			env.now = now;
			env.tokcache = tc;
			env.dpop_replay = rp;
			env.dpop_keys = keys;
			if (decide(&f, s, &env, &V) != DECIDE_DONE ||
			    V.reason != REASON_OK) {
				fprintf(stderr, "bench_decide: dpop %s: %s (%s)\n",
				    c->key->jws, reason_name(V.reason),
				    V.detail ? V.detail : "-");
				exit(1);
			}
		}
	} while ((t = cpu_now() - t0) < secs);
	tokcache_free(rp);
	tokcache_free(keys);
	return (t / (double)n * 1e6);
}

/*
 * Bare OpenSSL, context reused.  ${hash} 0: prehashed, `openssl speed`'s
 * measure (its RSA and ECDSA verify a fixed digest; Ed25519 has no
 * prehash).  ${hash} 1: the SHA-256 of this token's signing input taken
 * each time too, the least any JWS verifier must do.
 */
static double
run_raw(struct alg *a, double secs, int hash)
{
	const char *si = a->authz + 7, *end = strrchr(si, '.');
	EVP_PKEY_CTX *pc = NULL;
	EVP_MD_CTX *mc = NULL;
	uint8_t h[32];
	unsigned int hl;
	double t0, t;
	long n = 0;
	int r;

	if (strcmp(a->jws, "EdDSA") == 0) {
		if ((mc = EVP_MD_CTX_new()) == NULL ||
		    EVP_DigestVerifyInit(mc, NULL, NULL, NULL, a->pk) != 1)
			die("raw ed init");
	} else {
		if ((pc = EVP_PKEY_CTX_new(a->pk, NULL)) == NULL ||
		    EVP_PKEY_verify_init(pc) != 1 ||
		    EVP_PKEY_CTX_set_signature_md(pc, EVP_sha256()) != 1 ||
		    EVP_Digest(si, (size_t)(end - si), h, &hl, EVP_sha256(),
		    NULL) != 1)
			die("raw init");
	}
	t0 = cpu_now();
	do {
		for (int i = 0; i < 32; i++, n++) {
			if (mc != NULL) {
				r = EVP_DigestVerify(mc, a->raw, a->raw_len,
				    (const uint8_t *)si, (size_t)(end - si));
			} else {
				if (hash && EVP_Digest(si, (size_t)(end - si),
				    h, &hl, EVP_sha256(), NULL) != 1)
					die("digest");
				r = EVP_PKEY_verify(pc, a->raw, a->raw_len, h,
				    32);
			}
			if (r != 1)
				die("raw verify");
		}
	} while ((t = cpu_now() - t0) < secs);
	EVP_PKEY_CTX_free(pc);
	EVP_MD_CTX_free(mc);
	return (t / (double)n * 1e6);
}

/*
 * The signature check alone, as decide() does it (crypto_verify: hash the
 * signing input, then EVP_PKEY_verify on this thread's prepared context):
 * how much of the RS256 miss is the verification rather than the rest.
 */
static double
run_sigcheck(struct alg *a, double secs)
{
	const char *si = a->authz + 7, *end = strrchr(si, '.');
	struct crypto_key *k;
	const char *why;
	BIO *bio = BIO_new(BIO_s_mem());
	char *pem;
	long pl;
	double t0, t;
	long n = 0;

	if (bio == NULL || PEM_write_bio_PUBKEY(bio, a->pk) != 1 ||
	    (pl = BIO_get_mem_data(bio, &pem)) <= 0 ||
	    (k = crypto_key_from_pem(pem, (size_t)pl, &why)) == NULL)
		die("sigcheck key");
	BIO_free(bio);
	t0 = cpu_now();
	do {
		for (int i = 0; i < 32; i++, n++)
			if (crypto_verify(k, JWS_ALG_RS256, (const uint8_t *)si,
			    (size_t)(end - si), a->raw, a->raw_len) != 0)
				die("sigcheck");
	} while ((t = cpu_now() - t0) < secs);
	crypto_key_free(k);
	return (t / (double)n * 1e6);
}

/* VmRSS of this process, in KiB, from /proc/self/status; 0 if unknown. */
static long
rss_kib(void)
{
	char line[256];
	long kib = 0;
	FILE *f = fopen("/proc/self/status", "r");

	if (f == NULL)
		return (0);
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "VmRSS:", 6) == 0)
			kib = strtol(line + 6, NULL, 10);
	fclose(f);
	return (kib);
}

/*
 * rss mode: ${n} distinct tokens of ${a}, each decided once (a miss that
 * fills the cache), then what the full cache costs.
 */
static int
run_rss(const struct snapshot *s, struct alg *a, long n, int64_t now)
{
	struct tokcache *tc = tokcache_new((uint32_t)n);
	struct decide_env env;
	struct facts f;
	size_t heap0, heap1;
	long rss0, rss1;
	double t0 = cpu_now();

	if (tc == NULL)
		die("tokcache");
	heap0 = mallinfo2().uordblks;
	rss0 = rss_kib();
	for (long k = 0; k < n; k++) {
		char *authz = mint(a, (int)(k + 1000000), now);

		set_facts(&f, authz);
		memset(&env, 0, sizeof(env));
		env.now = now;
		env.tokcache = tc;
		if (decide(&f, s, &env, &V) != DECIDE_DONE ||
		    V.reason != REASON_OK)
			die("rss decide");
		free(authz);
	}
	heap1 = mallinfo2().uordblks;
	rss1 = rss_kib();
	if (tokcache_count(tc) != (size_t)n)
		die("rss: cache not full");
	printf("%ld distinct %s tokens cached (%zu bytes each) in %.1f s of "
	    "CPU: VmRSS %.1f MiB -> %.1f MiB (+%.1f MiB, %.0f bytes per "
	    "token); heap in use +%.1f MiB (%.0f bytes per token)\n", n,
	    a->jws, strlen(a->authz) - 7, cpu_now() - t0, rss0 / 1024.0,
	    rss1 / 1024.0, (rss1 - rss0) / 1024.0,
	    (rss1 - rss0) * 1024.0 / (double)n,
	    (double)(heap1 - heap0) / 1048576.0,
	    (double)(heap1 - heap0) / (double)n);
	printf("RESULT rss_mib %.1f\nRESULT rss_token_bytes %.0f\n",
	    rss1 / 1024.0, (rss1 - rss0) * 1024.0 / (double)n);
	tokcache_free(tc);
	return (0);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return ((x > y) - (x < y));
}

static const char config_fmt[] =
    "{\"listen\":[\"127.0.0.1:12345\"],"
    "\"issuers\":[{\"name\":\"entra\",\"issuer\":"
    "\"https://login.microsoftonline.com/{tenant}/v2.0\","
    "\"tenants\":[\"72f988bf-86f1-41af-91ab-2d7cd011db47\"],"
    "\"jwks_file\":\"%s\",\"audiences\":[\"api://orders\"],"
    "\"algorithms\":[\"RS256\",\"ES256\",\"EdDSA\"]}],"
    "\"routes\":[{\"name\":\"health\",\"path_prefix\":\"/healthz\","
    "\"require\":\"none\"},"
    "{\"name\":\"orders\",\"host\":\"api.example.com\",\"path_prefix\":"
    "\"/orders\",\"methods\":[\"GET\",\"POST\"],\"require\":\"jwt\","
    "\"issuers\":[\"entra\"],\"scopes_any\":[\"Orders.Read\"],"
    "\"source_cidrs\":[\"10.0.0.0/8\"],"
    "\"claims_to_vars\":[\"email\",\"oid\"]},"
    "{\"name\":\"dpop\",\"host\":\"api.example.com\",\"path_prefix\":"
    "\"/dpop\",\"methods\":[\"GET\",\"POST\"],\"require\":\"jwt\","
    "\"issuers\":[\"entra\"],\"scopes_any\":[\"Orders.Read\"],"
    "\"source_cidrs\":[\"10.0.0.0/8\"],\"dpop\":\"required\","
    "\"claims_to_vars\":[\"email\",\"oid\"]},"
    "{\"name\":\"orders-asrt\",\"host\":\"api.example.com\",\"path_prefix\":"
    "\"/asrt\",\"methods\":[\"GET\",\"POST\"],\"require\":\"jwt\","
    "\"issuers\":[\"entra\"],\"scopes_any\":[\"Orders.Read\"],"
    "\"source_cidrs\":[\"10.0.0.0/8\"],"
    "\"claims_to_vars\":[\"email\",\"oid\"],"
    "\"assertion\":{\"audience\":\"api://apim-orders\",\"ttl_s\":300}}],"
    "\"state_dir\":\"%s\",\"assertion_issuer\":\"https://agent.example\"}";

/* Load the assertion keys of ${state} for ${alg} into ${snap}. */
static struct signer *
use_signer(struct snapshot *snap, const char *state, enum signer_alg alg,
    int64_t now)
{
	struct signer_policy pol = { alg, 86400, 0, 360 };
	char err[256];
	struct signer *sg = signer_load(state, &pol, now, NULL, err,
	    sizeof(err));

	if (sg == NULL) {
		fprintf(stderr, "bench_decide: %s\n", err);
		die("signer");
	}
	snapshot_set_signer(snap, sg);
	return (sg);
}

/* ${runs} turns of the plain route (${plain}) and the same route with an
 * assertion (${asrt}), with cache ${tc}; each sorted. */
static void
run_pairs(struct snapshot *snap, struct alg *a, struct tokcache *tc,
    double secs, int runs, int64_t now, double *plain, double *asrt)
{
	for (int r = 0; r < runs; r++) {
		req_path = "/orders/12345";
		plain[r] = run_decide(snap, a, tc, 0, secs, now);
		req_path = "/asrt/12345";
		asrt[r] = run_decide(snap, a, tc, 0, secs, now);
	}
	req_path = "/orders/12345";
	qsort(plain, (size_t)runs, sizeof(double), cmp_double);
	qsort(asrt, (size_t)runs, sizeof(double), cmp_double);
}

/*
 * The cost of an identity assertion: the RS256 token's decision on the
 * plain route and on the same route with an assertion signed by each
 * algorithm, cache off (a miss signs) and on (a hit reuses the cached
 * one), medians of ${runs} alternating runs, in this process.
 */
static void
run_assertions(struct snapshot *snap, struct alg *a, const char *state,
    double secs, int runs, int64_t now)
{
	static const enum signer_alg sa[] = { SIGNER_ES256, SIGNER_EDDSA,
	    SIGNER_RS256 };
	struct tokcache *tc = tokcache_new(65536);
	double plain[16], miss[16], hit_p[16], hit_a[16];
	struct signer *sg;
	int m = runs / 2;

	if (tc == NULL)
		die("token cache");
	printf("\nidentity assertion on a cache miss (RS256 token, cache "
	    "off), median of %d runs\n", runs);
	printf("%-8s %10s %12s %10s %9s\n", "signer", "plain", "+assertion",
	    "cost", "ratio");
	for (size_t k = 0; k < sizeof(sa) / sizeof(sa[0]); k++) {
		sg = use_signer(snap, state, sa[k], now);
		run_pairs(snap, a, NULL, secs, runs, now, plain, miss);
		printf("%-8s %8.2fus %10.2fus %8.2fus %9.3f\n",
		    signer_alg_name(sa[k]), plain[m], miss[m], miss[m] - plain[m],
		    miss[m] / plain[m]);
		printf("RESULT asrt_plain_%s %.3f\nRESULT asrt_miss_%s %.3f\n",
		    signer_alg_name(sa[k]), plain[m], signer_alg_name(sa[k]),
		    miss[m]);
		snapshot_set_signer(snap, NULL);
		signer_unref(sg);
	}
	/* Hits: the cached assertion costs a lookup in the token's entry. */
	sg = use_signer(snap, state, SIGNER_ES256, now);
	run_pairs(snap, a, tc, secs, runs, now, hit_p, hit_a);
	printf("cache hit: %.3fus plain, %.3fus with the cached "
	    "assertion (%.3f)\n", hit_p[m], hit_a[m], hit_a[m] / hit_p[m]);
	printf("RESULT asrt_hit_plain %.3f\nRESULT asrt_hit %.3f\n",
	    hit_p[m], hit_a[m]);
	snapshot_set_signer(snap, NULL);
	signer_unref(sg);
	tokcache_free(tc);
}

int
main(int argc, char **argv)
{
	struct alg algs[3] = {
		{ .name = "RS256 (RSA-2048)", .jws = "RS256", .kid = "rsa" },
		{ .name = "ES256 (P-256)", .jws = "ES256", .kid = "ec" },
		{ .name = "EdDSA (Ed25519)", .jws = "EdDSA", .kid = "ed" },
	};
	bool rss = argc > 1 && strcmp(argv[1], "rss") == 0;
	long rss_n = rss && argc > 2 ? strtol(argv[2], NULL, 10) : 100000;
	const char *rss_alg = rss && argc > 3 ? argv[3] : "RS256";
	double secs = argc > 1 && !rss ? strtod(argv[1], NULL) : 1.0;
	int runs = argc > 2 && !rss ? (int)strtol(argv[2], NULL, 10) : 5;
	char dir[] = "/tmp/bench_decide.XXXXXX", path[64], cfgtext[2048];
	char state[64];
	char doc[8192];
	struct config_errors errs = { NULL, 0 };
	struct config *cfg = NULL;
	struct snapshot *snap = NULL;
	struct tokcache *hit_tc, *fresh_tc;
	time_t now = time(NULL);
	FILE *fp;
	double hit[16], hit_med;

	const char *only = argc > 3 && !rss ? argv[3] : NULL;

	if (secs <= 0 || runs < 1 || runs > 15 || rss_n < 1 ||
	    rss_n > UINT32_MAX)
		die("arguments (seconds > 0, 1 <= runs <= 15; rss: tokens >= 1)");
	algs[0].pk = EVP_RSA_gen(2048);
	algs[1].pk = EVP_EC_gen("P-256");
	algs[2].pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	for (int i = 0; i < 3; i++) {
		if (algs[i].pk == NULL)
			die("keygen");
		for (int k = 0; k < (rss ? 0 : NFRESH); k++)
			algs[i].fresh[k] = mint(&algs[i], k + 1, now);
		algs[i].authz = mint(&algs[i], 0, now);
	}

	if (mkdtemp(dir) == NULL)
		die("mkdtemp");
	snprintf(path, sizeof(path), "%s/keys.json", dir);
	{
		char *j0 = jwk(&algs[0]), *j1 = jwk(&algs[1]), *j2 = jwk(&algs[2]);

		snprintf(doc, sizeof(doc), "{\"keys\":[%s,%s,%s]}", j0, j1, j2);
		free(j0);
		free(j1);
		free(j2);
	}
	if ((fp = fopen(path, "w")) == NULL || fputs(doc, fp) < 0 ||
	    fclose(fp) != 0)
		die("write keys");
	snprintf(state, sizeof(state), "%s/state", dir);
	if (mkdir(state, 0700) != 0)
		die("mkdir state");
	snprintf(cfgtext, sizeof(cfgtext), config_fmt, path, state);
	log_set_level(LOG_LVL_WARN);
	if (config_parse(cfgtext, strlen(cfgtext), NULL, &cfg, &errs) != 0 ||
	    loader_build(cfg, NULL, &snap, &errs) != 0) {
		for (size_t i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.v[i]);
		die("config");
	}
	unlink(path);

	if (rss) {
		for (int i = 0; i < 3; i++)
			if (strcmp(rss_alg, algs[i].jws) == 0)
				return (run_rss(snap, &algs[i], rss_n, now));
		die("rss: alg (RS256, ES256 or EdDSA)");
	}
	hit_tc = tokcache_new(65536);
	fresh_tc = tokcache_new(FRESH_CACHE);
	if (hit_tc == NULL || fresh_tc == NULL)
		die("tokcache");
	/* Warm up: first decisions, the cache entry for the hit case. */
	(void)run_decide(snap, &algs[0], hit_tc, 0, 0.05, now);
	if (only != NULL) {
		for (int i = 0; i < 3; i++) {
			if (strcmp(only, algs[i].jws) != 0)
				continue;
			printf("%s miss/off: %.3f us\n", only,
			    run_decide(snap, &algs[i], NULL, 0, secs, now));
			printf("%s miss/fresh: %.3f us\n", only, run_decide(snap,
			    &algs[i], fresh_tc, 1, secs, now));
			printf("%s raw: %.3f us\n", only,
			    run_raw(&algs[i], secs, 0));
		}
		if (strcmp(only, "hit") == 0)
			printf("hit: %.3f us\n", run_decide(snap, &algs[0],
			    hit_tc, 0, secs, now));
		for (int i = 0; i < 3; i++) {
			struct dpop_client dc;
			char name[16];

			snprintf(name, sizeof(name), "dpop-%s", algs[i].jws);
			if (strcmp(only, name) != 0)
				continue;
			dpop_client_init(&dc, &algs[0], &algs[i], now);
			printf("%s: %.3f us\n", name, run_dpop(snap, &dc,
			    hit_tc, secs, now));
		}
		return (0);
	}
	printf("decide() on the bearer-token path: CPU time per decision, "
	    "median of %d runs of %.2f s\n\n", runs, secs);
	printf("%-17s %9s %9s %10s %10s %9s %8s %8s\n", "", "raw",
	    "raw+hash", "miss/off", "miss/fresh", "overhead", "off/raw",
	    "fresh/raw");
	for (int i = 0; i < 3; i++) {
		double raw[16], rawh[16], off[16], fresh[16];
		struct alg *a = &algs[i];
		int m = runs / 2;

		for (int r = 0; r < runs; r++) {
			raw[r] = run_raw(a, secs, 0);
			rawh[r] = run_raw(a, secs, 1);
			off[r] = run_decide(snap, a, NULL, 0, secs, now);
			fresh[r] = run_decide(snap, a, fresh_tc, 1, secs, now);
		}
		qsort(raw, (size_t)runs, sizeof(double), cmp_double);
		qsort(rawh, (size_t)runs, sizeof(double), cmp_double);
		qsort(off, (size_t)runs, sizeof(double), cmp_double);
		qsort(fresh, (size_t)runs, sizeof(double), cmp_double);
		printf("%-17s %7.2fus %7.2fus %8.2fus %8.2fus %7.2fus %8.3f "
		    "%8.3f\n", a->name, raw[m], rawh[m], off[m], fresh[m],
		    off[m] - raw[m], off[m] / raw[m], fresh[m] / raw[m]);
		printf("RESULT raw_%s %.3f\nRESULT rawhash_%s %.3f\n"
		    "RESULT miss_%s %.3f\nRESULT fresh_%s %.3f\n", a->jws,
		    raw[m], a->jws, rawh[m], a->jws, off[m], a->jws, fresh[m]);
	}
	for (int r = 0; r < runs; r++)
		hit[r] = run_decide(snap, &algs[0], hit_tc, 0, secs, now);
	qsort(hit, (size_t)runs, sizeof(double), cmp_double);
	hit_med = hit[runs / 2];
	printf("\n%-18s %8.3fus per decision (RS256 token; target <= 2 us)\n",
	    "cache hit", hit_med);
	{
		double d[16];

		for (int r = 0; r < runs; r++)
			d[r] = run_sigcheck(&algs[0], secs / 2);
		qsort(d, (size_t)runs, sizeof(double), cmp_double);
		printf("\nRS256 signature check alone (crypto_verify, signing "
		    "input hashed): %.2fus\n", d[runs / 2]);
		printf("RESULT sig_RS256 %.3f\n", d[runs / 2]);
	}
	printf("RESULT hit %.3f\n", hit_med);
	run_assertions(snap, &algs[0], state, secs, runs, now);
	if (tokcache_count(hit_tc) != 1)
		die("hit cache");
	{
		/* DPoP: the hit above plus a proof per request, in turns
		 * with a plain hit so that both see the same machine. */
		struct dpop_client dc[3];
		double d[3][16], h2[16];

		printf("\nDPoP route (RS256 token bound by cnf.jkt, a cache hit; "
		    "a new proof each request):\n");
		for (int i = 0; i < 3; i++)
			dpop_client_init(&dc[i], &algs[0], &algs[(i + 1) % 3],
			    now);
		for (int r = 0; r < runs; r++) {
			h2[r] = run_decide(snap, &algs[0], hit_tc, 0, secs, now);
			for (int i = 0; i < 3; i++)
				d[i][r] = run_dpop(snap, &dc[i], hit_tc, secs,
				    now);
		}
		qsort(h2, (size_t)runs, sizeof(double), cmp_double);
		printf("%-24s %8.3fus\n", "bearer cache hit", h2[runs / 2]);
		for (int i = 0; i < 3; i++) {
			qsort(d[i], (size_t)runs, sizeof(double), cmp_double);
			printf("DPoP, %-5s proof %11.3fus  (+%.3fus, %.1f x the "
			    "hit)\n", dc[i].key->jws, d[i][runs / 2],
			    d[i][runs / 2] - h2[runs / 2],
			    d[i][runs / 2] / h2[runs / 2]);
			printf("RESULT dpop_%s %.3f\n", dc[i].key->jws,
			    d[i][runs / 2]);
			free(dc[i].authz);
			for (int k = 0; k < NPROOF; k++)
				free(dc[i].proof[k]);
		}
		printf("RESULT dpop_hit %.3f\n", h2[runs / 2]);
	}
	{
		/* What a cached token holds: heap in use before and after
		 * filling a cache with the ${NFRESH} distinct RS256 tokens. */
		struct tokcache *tc = tokcache_new(NFRESH);
		size_t before, after, n;

		if (tc == NULL)
			die("tokcache");
		before = mallinfo2().uordblks;
		(void)run_decide(snap, &algs[0], tc, 1, 0.05, now);
		after = mallinfo2().uordblks;
		n = tokcache_count(tc);
		if (n != NFRESH)
			die("memory cache not full");
		printf("\ntoken size: RS256 %zu, ES256 %zu, EdDSA %zu bytes; "
		    "heap per cached RS256 token: %zu bytes (%zu entries)\n",
		    strlen(algs[0].authz) - 7, strlen(algs[1].authz) - 7,
		    strlen(algs[2].authz) - 7, (after - before) / n, n);
		printf("RESULT cache_entry_bytes %zu\n", (after - before) / n);
		tokcache_free(tc);
	}

	tokcache_free(hit_tc);
	tokcache_free(fresh_tc);
	snapshot_unref(snap);
	{
		/* The assertion keys the benchmark made. */
		char cmd[256];

		snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "bench_decide: cannot remove %s\n", dir);
	}
	for (int i = 0; i < 3; i++) {
		for (int k = 0; k < NFRESH; k++)
			free(algs[i].fresh[k]);
		free(algs[i].authz);
		EVP_PKEY_free(algs[i].pk);
	}
	return (0);
}
