/*
 * test_wycheproof.c: every case of the Wycheproof signature files that
 * match a JWS algorithm, through crypto_verify() (jwt.md §4), and every case
 * of json_web_key_test.json through jwks_parse() + crypto_verify().
 *
 * "valid" must verify, "invalid" must fail, "acceptable" may do either (it
 * is counted).  Each group's key is built once, from the hex components,
 * and cross-checked against the same key loaded from its JWK (jwks_parse)
 * and from its PEM (crypto_key_from_pem): all three must have the same
 * fingerprint.  Skips, with ts_vectors_path()'s message, when the vectors
 * folder is absent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "b64url.h"
#include "crypto.h"
#include "jwa.h"
#include "jwks.h"
#include "testsupport.h"

enum wp_kind { WP_RSA, WP_PSS, WP_EC, WP_ED };

struct wp_file {
	const char *name;
	enum wp_kind kind;
	enum jws_alg alg;
	const char *sha;	/* the group "sha" we expect */
};

struct wp_counts {
	size_t valid, invalid, acceptable, acc_passed;
	size_t groups, bad_key_groups, bad_key_tests;
	size_t param_mismatch_groups;
	size_t failures;
};

static cJSON *
load_json(const char *rel)
{
	const char *path = ts_vectors_path(rel);
	cJSON *root;
	char *buf;
	size_t len;

	if (path == NULL)
		return (NULL);
	if ((buf = ts_read_file(path, &len)) == NULL)
		fail_msg("cannot read %s", path);
	root = cJSON_ParseWithLength(buf, len);
	free(buf);
	if (root == NULL)
		fail_msg("%s: not JSON", rel);
	return (root);
}

static const char *
jstr(const cJSON *obj, const char *name)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, name);

	return (cJSON_IsString(m) ? m->valuestring : NULL);
}

/* Hex string -> malloc'd bytes (never NULL; *len may be 0). */
static uint8_t *
hex_dup(const char *hex, size_t *len)
{
	size_t cap = strlen(hex) / 2 + 1;
	uint8_t *p = malloc(cap);

	assert_non_null(p);
	*len = ts_hex(hex, p, cap);
	return (p);
}

/* Big-endian hex integer (maybe with a leading 00) -> exactly flen bytes. */
static int
hex_coord(const char *hex, uint8_t *out, size_t flen)
{
	size_t len, off = 0;
	uint8_t *b = hex_dup(hex, &len);
	int rc = -1;

	while (off < len && b[off] == 0)
		off++;
	if (len - off <= flen) {
		memset(out, 0, flen);
		memcpy(out + flen - (len - off), b + off, len - off);
		rc = 0;
	}
	free(b);
	return (rc);
}

/* The fingerprint of the one key jwks_parse() makes of {"keys":[jwk]}. */
static int
jwk_fp(const cJSON *jwk, uint8_t fp[32], uint32_t *algs)
{
	struct jwks_report rep;
	struct keyset *ks = NULL;
	cJSON *doc = cJSON_CreateObject(), *arr = cJSON_CreateArray();
	char *text;
	int rc;

	assert_non_null(doc);
	assert_non_null(arr);
	cJSON_AddItemToArray(arr, cJSON_Duplicate(jwk, 1));
	cJSON_AddItemToObject(doc, "keys", arr);
	text = cJSON_PrintUnformatted(doc);
	assert_non_null(text);
	rc = jwks_parse(text, strlen(text), &ks, &rep);
	if (rc == 0) {
		assert_int_equal(keyset_count(ks), 1);
		memcpy(fp, keyset_key(ks, 0)->fp, 32);
		*algs = keyset_key(ks, 0)->algs;
		keyset_unref(ks);
	}
	cJSON_free(text);
	cJSON_Delete(doc);
	return (rc);
}

static struct crypto_key *
group_key(const struct wp_file *f, const cJSON *g, const char **why)
{
	const cJSON *pk = cJSON_GetObjectItemCaseSensitive(g, "publicKey");
	struct crypto_key *k = NULL;
	uint8_t *a, x[66], y[66];
	size_t al, bl, flen;
	const char *curve;
	uint8_t *b;
	int crv;

	*why = "group has no publicKey";
	if (!cJSON_IsObject(pk))
		return (NULL);
	switch (f->kind) {
	case WP_RSA:
	case WP_PSS:
		a = hex_dup(jstr(pk, "modulus"), &al);
		b = hex_dup(jstr(pk, "publicExponent"), &bl);
		k = crypto_key_rsa(a, al, b, bl, why);
		free(a);
		free(b);
		break;
	case WP_EC:
		curve = jstr(pk, "curve");
		crv = strcmp(curve, "secp256r1") == 0 ? CRYPTO_CURVE_P256 :
		    strcmp(curve, "secp384r1") == 0 ? CRYPTO_CURVE_P384 :
		    strcmp(curve, "secp521r1") == 0 ? CRYPTO_CURVE_P521 : -1;
		if (crv < 0) {
			*why = "curve not supported";
			return (NULL);
		}
		flen = crypto_curve_field_len((enum crypto_curve)crv);
		if (hex_coord(jstr(pk, "wx"), x, flen) != 0 ||
		    hex_coord(jstr(pk, "wy"), y, flen) != 0) {
			*why = "coordinate longer than the field";
			return (NULL);
		}
		k = crypto_key_ec((enum crypto_curve)crv, x, flen, y, flen, why);
		break;
	case WP_ED:
		a = hex_dup(jstr(pk, "pk"), &al);
		k = crypto_key_ed25519(a, al, why);
		free(a);
		break;
	}
	return (k);
}

/* The same key via JWK and PEM must have the same fingerprint. */
static void
cross_check(const struct wp_file *f, const cJSON *g, struct crypto_key *k)
{
	const cJSON *jwk = cJSON_GetObjectItemCaseSensitive(g, "publicKeyJwk");
	const char *pem = jstr(g, "publicKeyPem"), *why;
	struct crypto_key *pk;
	uint8_t fp[32], fp2[32];
	uint32_t algs = 0;

	if (jwk == NULL)
		jwk = cJSON_GetObjectItemCaseSensitive(g, "keyJwk");
	crypto_key_fingerprint(k, fp);
	if (jwk != NULL) {
		assert_int_equal(jwk_fp(jwk, fp2, &algs), 0);
		assert_memory_equal(fp, fp2, 32);
		/* A JWK with "alg" is narrowed to it; without, the type's set. */
		if (jstr(jwk, "alg") != NULL)
			assert_int_equal(algs, JWS_ALG_BIT(f->alg));
		else
			assert_true((algs & JWS_ALG_BIT(f->alg)) != 0);
	}
	if (pem != NULL) {
		pk = crypto_key_from_pem(pem, strlen(pem), &why);
		assert_non_null(pk);
		crypto_key_fingerprint(pk, fp2);
		assert_memory_equal(fp, fp2, 32);
		crypto_key_free(pk);
	}
}

/*
 * PS* fixes MGF1 to the signature hash and the salt length to the hash
 * length (RFC 7518 §3.5).  A group with other parameters holds signatures
 * that our PS* must reject, whatever Wycheproof says about them under the
 * group's own parameters.
 */
static int
pss_params_match(const struct wp_file *f, const cJSON *g)
{
	const cJSON *slen = cJSON_GetObjectItemCaseSensitive(g, "sLen");
	const char *mgf = jstr(g, "mgf"), *mgfsha = jstr(g, "mgfSha");

	return (cJSON_IsNumber(slen) &&
	    slen->valuedouble == (double)jwa_hash_len(f->alg) &&
	    mgf != NULL && strcmp(mgf, "MGF1") == 0 &&
	    mgfsha != NULL && strcmp(mgfsha, f->sha) == 0);
}

static void
run_file(const struct wp_file *f, struct wp_counts *c)
{
	cJSON *root = load_json(f->name);
	const cJSON *groups, *g, *tests, *t;
	size_t gi = 0;

	memset(c, 0, sizeof(*c));
	if (root == NULL)
		skip();
	groups = cJSON_GetObjectItemCaseSensitive(root, "testGroups");
	assert_true(cJSON_IsArray(groups));
	cJSON_ArrayForEach(g, groups) {
		const char *why = NULL, *sha = jstr(g, "sha");
		struct crypto_key *k;
		int strict_reject = 0;

		gi++;
		c->groups++;
		tests = cJSON_GetObjectItemCaseSensitive(g, "tests");
		assert_true(cJSON_IsArray(tests));
		if (f->kind != WP_ED)
			assert_string_equal(sha, f->sha);
		if (f->kind == WP_PSS && !pss_params_match(f, g)) {
			c->param_mismatch_groups++;
			strict_reject = 1;
		}
		if ((k = group_key(f, g, &why)) == NULL) {
			c->bad_key_groups++;
			c->bad_key_tests += (size_t)cJSON_GetArraySize(tests);
			printf("  %s group %zu: key not constructible (%s); "
			    "%d tests not run\n", f->name, gi, why,
			    cJSON_GetArraySize(tests));
			continue;
		}
		cross_check(f, g, k);
		cJSON_ArrayForEach(t, tests) {
			const char *res = jstr(t, "result");
			const cJSON *id = cJSON_GetObjectItemCaseSensitive(t, "tcId");
			size_t ml, sl;
			uint8_t *msg = hex_dup(jstr(t, "msg"), &ml);
			uint8_t *sig = hex_dup(jstr(t, "sig"), &sl);
			int r = crypto_verify(k, f->alg, msg, ml, sig, sl);
			int want;

			free(msg);
			free(sig);
			if (strcmp(res, "acceptable") == 0) {
				c->acceptable++;
				if (r == 0)
					c->acc_passed++;
				if (!strict_reject)
					continue;
			}
			if (strcmp(res, "valid") == 0)
				c->valid++;
			else if (strcmp(res, "invalid") == 0)
				c->invalid++;
			want = (strcmp(res, "valid") == 0 && !strict_reject) ?
			    0 : -1;
			if (r != want) {
				c->failures++;
				printf("  FAIL %s tcId %d (%s): expected %s, got %s\n",
				    f->name, (int)id->valuedouble,
				    jstr(t, "comment"), res,
				    r == 0 ? "valid" : "invalid");
			}
		}
		crypto_key_free(k);
	}
	cJSON_Delete(root);
	printf("  %s: %zu groups, checked valid %zu, invalid %zu, "
	    "acceptable %zu (%zu verified); groups with PSS parameters "
	    "other than the alg's: %zu (all rejected); unconstructible keys: "
	    "%zu groups / %zu tests\n", f->name, c->groups, c->valid,
	    c->invalid, c->acceptable, c->acc_passed,
	    c->param_mismatch_groups, c->bad_key_groups, c->bad_key_tests);
	assert_int_equal(c->failures, 0);
}

#define WP_TEST(fn, file, kind, alg, sha)				\
static void								\
fn(void **state)							\
{									\
	static const struct wp_file f = { file, kind, alg, sha };	\
	struct wp_counts c;						\
									\
	(void)state;							\
	run_file(&f, &c);						\
	/* Every group's key must be usable: these are all valid keys. */ \
	assert_int_equal(c.bad_key_groups, 0);				\
	assert_true(c.valid > 0 && c.invalid > 0);			\
}

WP_TEST(test_rs256, "wycheproof/rsa_signature_2048_sha256_test.json",
    WP_RSA, JWS_ALG_RS256, "SHA-256")
WP_TEST(test_rs384, "wycheproof/rsa_signature_2048_sha384_test.json",
    WP_RSA, JWS_ALG_RS384, "SHA-384")
WP_TEST(test_rs512, "wycheproof/rsa_signature_2048_sha512_test.json",
    WP_RSA, JWS_ALG_RS512, "SHA-512")
WP_TEST(test_ps256, "wycheproof/rsa_pss_2048_sha256_mgf1_32_test.json",
    WP_PSS, JWS_ALG_PS256, "SHA-256")
WP_TEST(test_ps384, "wycheproof/rsa_pss_2048_sha384_mgf1_48_test.json",
    WP_PSS, JWS_ALG_PS384, "SHA-384")
WP_TEST(test_es256, "wycheproof/ecdsa_secp256r1_sha256_p1363_test.json",
    WP_EC, JWS_ALG_ES256, "SHA-256")
WP_TEST(test_es384, "wycheproof/ecdsa_secp384r1_sha384_p1363_test.json",
    WP_EC, JWS_ALG_ES384, "SHA-384")
WP_TEST(test_es512, "wycheproof/ecdsa_secp521r1_sha512_p1363_test.json",
    WP_EC, JWS_ALG_ES512, "SHA-512")
WP_TEST(test_eddsa, "wycheproof/ed25519_test.json",
    WP_ED, JWS_ALG_EDDSA, NULL)

/*
 * json_web_key_test.json: each case is a compact JWS and the key set that
 * should (or should not) verify it.  Our model:
 *  - asymmetric keys come from the set through jwks_parse(); the token's
 *    kid selects the key, whose algs must include the token's alg;
 *  - "oct" keys are never taken from a set (jwks_parse skips them); HMAC
 *    secrets come from the issuer config.  So for a set's oct keys this
 *    test plays the config: the oct key whose kid is the token's kid
 *    (exactly one; two are as ambiguous as in a set), whose "alg" is the
 *    token's alg, becomes keyset_hmac(k).  Only for a set made of oct
 *    keys alone: an issuer whose keys would mix a secret with public keys
 *    (Wycheproof MixedKeySet) is refused, so the config must not allow
 *    an HMAC secret next to an asymmetric key source either.
 */
static int
jws_split(const char *jws, const char **dot1, const char **dot2)
{
	*dot1 = strchr(jws, '.');
	if (*dot1 == NULL)
		return (-1);
	*dot2 = strchr(*dot1 + 1, '.');
	if (*dot2 == NULL || strchr(*dot2 + 1, '.') != NULL)
		return (-1);
	return (0);
}

static int
oct_verify(const cJSON *keys, const char *kid, int alg, const uint8_t *msg,
    size_t ml, const uint8_t *sig, size_t sl)
{
	const cJSON *k, *match = NULL;
	struct keyset *ks;
	const char *why, *kalg, *kk;
	uint8_t secret[256];
	ssize_t n;
	int found = 0, r;

	cJSON_ArrayForEach(k, keys) {
		const char *kty = jstr(k, "kty"), *kkid = jstr(k, "kid");

		if (kty == NULL || strcmp(kty, "oct") != 0)
			return (-1);	/* mixed symmetric and public keys */
		if (kid == NULL || kkid == NULL || strcmp(kkid, kid) != 0)
			continue;
		match = k;
		found++;
	}
	if (found != 1)
		return (-1);
	kalg = jstr(match, "alg");
	if (kalg == NULL || jwa_parse(kalg, strlen(kalg)) != alg ||
	    (JWS_ALG_BIT(alg) & JWS_ALG_HMAC_MASK) == 0)
		return (-1);
	if ((kk = jstr(match, "k")) == NULL ||
	    (n = b64url_decode(kk, strlen(kk), secret, sizeof(secret))) < 0)
		return (-1);
	ks = keyset_hmac(secret, (size_t)n, &why);
	if (ks == NULL)
		return (-1);
	r = crypto_verify(keyset_key(ks, 0)->key, (enum jws_alg)alg, msg, ml, sig, sl);
	keyset_unref(ks);
	return (r);
}

static int
jwk_case(const cJSON *g, const char *jws, size_t *skipped_keys)
{
	const cJSON *set = cJSON_GetObjectItemCaseSensitive(g, "public");
	const char *dot1, *dot2, *kid, *alg_s;
	struct jwks_report rep;
	struct keyset *ks = NULL;
	const struct jwk *k;
	uint8_t hdr[1024], sig[1024];
	ssize_t hl, sl;
	cJSON *h;
	char *text;
	int alg, r = -1;

	if (set == NULL)
		set = cJSON_GetObjectItemCaseSensitive(g, "private");
	assert_non_null(set);
	if (jws_split(jws, &dot1, &dot2) != 0)
		return (-1);
	if ((hl = b64url_decode(jws, (size_t)(dot1 - jws), hdr,
	    sizeof(hdr) - 1)) < 0)
		return (-1);
	if ((sl = b64url_decode(dot2 + 1, strlen(dot2 + 1), sig,
	    sizeof(sig))) < 0)
		return (-1);
	if ((h = cJSON_ParseWithLength((const char *)hdr, (size_t)hl)) == NULL)
		return (-1);
	alg_s = jstr(h, "alg");
	kid = jstr(h, "kid");
	alg = alg_s != NULL ? jwa_parse(alg_s, strlen(alg_s)) : -1;
	if (alg < 0)
		goto out;

	text = cJSON_PrintUnformatted(set);
	assert_non_null(text);
	if (jwks_parse(text, strlen(text), &ks, &rep) == 0) {
		k = keyset_find(ks, kid, kid != NULL ? strlen(kid) : 0);
		if (k != NULL && (k->algs & JWS_ALG_BIT(alg)) != 0)
			r = crypto_verify(k->key, (enum jws_alg)alg,
			    (const uint8_t *)jws, (size_t)(dot2 - jws), sig,
			    (size_t)sl);
		keyset_unref(ks);
	}
	*skipped_keys += rep.n_skipped;
	cJSON_free(text);
	if (r != 0 && (JWS_ALG_BIT(alg) & JWS_ALG_HMAC_MASK) != 0)
		r = oct_verify(cJSON_GetObjectItemCaseSensitive(set, "keys"),
		    kid, alg, (const uint8_t *)jws, (size_t)(dot2 - jws), sig,
		    (size_t)sl);
out:
	cJSON_Delete(h);
	return (r);
}

static void
test_json_web_key(void **state)
{
	cJSON *root = load_json("wycheproof/json_web_key_test.json");
	const cJSON *g, *t;
	size_t valid = 0, invalid = 0, failures = 0, skipped_keys = 0;

	(void)state;
	if (root == NULL)
		skip();
	cJSON_ArrayForEach(g, cJSON_GetObjectItemCaseSensitive(root,
	    "testGroups")) {
		cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(g,
		    "tests")) {
			const char *res = jstr(t, "result");
			int want = strcmp(res, "valid") == 0 ? 0 : -1;
			int r = jwk_case(g, jstr(t, "jws"), &skipped_keys);

			assert_true(strcmp(res, "acceptable") != 0);
			if (want == 0)
				valid++;
			else
				invalid++;
			if (r != want) {
				failures++;
				printf("  FAIL json_web_key tcId %d (%s, %s): "
				    "expected %s\n", (int)cJSON_GetObjectItem(t,
				    "tcId")->valuedouble, jstr(g, "comment"),
				    jstr(t, "comment"), res);
			}
		}
	}
	cJSON_Delete(root);
	printf("  json_web_key_test.json: checked valid %zu, invalid %zu "
	    "(keys skipped by jwks_parse along the way: %zu)\n", valid,
	    invalid, skipped_keys);
	assert_int_equal(failures, 0);
	assert_int_equal(valid + invalid, 26);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rs256),
		cmocka_unit_test(test_rs384),
		cmocka_unit_test(test_rs512),
		cmocka_unit_test(test_ps256),
		cmocka_unit_test(test_ps384),
		cmocka_unit_test(test_es256),
		cmocka_unit_test(test_es384),
		cmocka_unit_test(test_es512),
		cmocka_unit_test(test_eddsa),
		cmocka_unit_test(test_json_web_key),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
