/*
 * test_jwks.c: JWK Set parsing (jwks.c): real-looking sets (Entra, Okta,
 * EC, OKP), every reason a key is skipped (S3, S17), document-level
 * failures (duplicate members, caps, bare JWK, truncation), duplicate
 * kids, lookup, refcounting, the HMAC set, and RS/HS confusion through a
 * set (S2).  Keys are generated here with OpenSSL (tests may include it).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "b64url.h"
#include "crypto.h"
#include "jwa.h"
#include "jwks.h"
#include "testsupport.h"
#include "util.h"

static EVP_PKEY *rsa_a, *rsa_b, *rsa_small, *ec256, *ec384, *ed;
static char n_a[400], n_b[400], n_small[200];
static char x256[64], y256[64], y256_bad[64], x384[80], y384[80], x_ed[64];
static uint8_t nbytes_a[300];
static size_t nbytes_a_len;

#define GOOD_EC	"{\"kty\":\"EC\",\"kid\":\"good\",\"crv\":\"P-256\"," \
		"\"x\":\"%s\",\"y\":\"%s\"}"

static void
b64_bn(const EVP_PKEY *pk, const char *param, size_t pad, char *out,
    size_t cap, uint8_t *raw, size_t *raw_len)
{
	uint8_t b[600];
	BIGNUM *bn = NULL;
	int n;

	assert_int_equal(EVP_PKEY_get_bn_param(pk, param, &bn), 1);
	n = pad ? BN_bn2binpad(bn, b, (int)pad) : BN_bn2bin(bn, b);
	BN_free(bn);
	assert_true(n > 0);
	assert_true(b64url_encode(b, (size_t)n, out, cap) > 0);
	if (raw != NULL) {
		memcpy(raw, b, (size_t)n);
		*raw_len = (size_t)n;
	}
}

static int
group_setup(void **state)
{
	uint8_t raw[64];
	size_t rl = sizeof(raw);

	(void)state;
	rsa_a = EVP_RSA_gen(2048);
	rsa_b = EVP_RSA_gen(2048);
	rsa_small = EVP_RSA_gen(1024);
	ec256 = EVP_EC_gen("P-256");
	ec384 = EVP_EC_gen("P-384");
	ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (!rsa_a || !rsa_b || !rsa_small || !ec256 || !ec384 || !ed)
		return (-1);
	b64_bn(rsa_a, OSSL_PKEY_PARAM_RSA_N, 0, n_a, sizeof(n_a), nbytes_a,
	    &nbytes_a_len);
	b64_bn(rsa_b, OSSL_PKEY_PARAM_RSA_N, 0, n_b, sizeof(n_b), NULL, NULL);
	b64_bn(rsa_small, OSSL_PKEY_PARAM_RSA_N, 0, n_small, sizeof(n_small),
	    NULL, NULL);
	b64_bn(ec256, OSSL_PKEY_PARAM_EC_PUB_X, 32, x256, sizeof(x256), NULL,
	    NULL);
	b64_bn(ec256, OSSL_PKEY_PARAM_EC_PUB_Y, 32, y256, sizeof(y256), raw,
	    &rl);
	raw[31] ^= 1;
	b64url_encode(raw, 32, y256_bad, sizeof(y256_bad));
	b64_bn(ec384, OSSL_PKEY_PARAM_EC_PUB_X, 48, x384, sizeof(x384), NULL,
	    NULL);
	b64_bn(ec384, OSSL_PKEY_PARAM_EC_PUB_Y, 48, y384, sizeof(y384), NULL,
	    NULL);
	rl = sizeof(raw);
	if (EVP_PKEY_get_raw_public_key(ed, raw, &rl) != 1)
		return (-1);
	b64url_encode(raw, rl, x_ed, sizeof(x_ed));
	return (0);
}

static int
group_teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(rsa_a);
	EVP_PKEY_free(rsa_b);
	EVP_PKEY_free(rsa_small);
	EVP_PKEY_free(ec256);
	EVP_PKEY_free(ec384);
	EVP_PKEY_free(ed);
	return (0);
}

/* printf into a static 128 KiB buffer; the test fails on truncation. */
static char *
fmt(const char *f, ...)
{
	static char buf[128 * 1024];
	va_list ap;
	int n;

	va_start(ap, f);
	n = vsnprintf(buf, sizeof(buf), f, ap);
	va_end(ap);
	assert_true(n > 0 && (size_t)n < sizeof(buf));
	return (buf);
}

static struct keyset *
parse_ok(const char *doc, struct jwks_report *rep)
{
	struct keyset *ks = NULL;

	if (jwks_parse(doc, strlen(doc), &ks, rep) != 0)
		fail_msg("jwks_parse failed: %s", rep->error);
	assert_non_null(ks);
	assert_null(rep->error);
	assert_int_equal(rep->n_kept, keyset_count(ks));
	return (ks);
}

static void
parse_fails(const char *doc, size_t len, const char *error)
{
	struct keyset *sentinel = (struct keyset *)(uintptr_t)0x1;
	struct keyset *ks = sentinel;
	struct jwks_report rep;

	assert_int_equal(jwks_parse(doc, len, &ks, &rep), -1);
	assert_ptr_equal(ks, sentinel);
	assert_non_null(rep.error);
	if (error != NULL && strcmp(rep.error, error) != 0)
		fail_msg("error \"%s\", expected \"%s\" for: %.200s", rep.error,
		    error, doc);
}

#define RSA_ALGS (JWS_ALG_BIT(JWS_ALG_RS256) | JWS_ALG_BIT(JWS_ALG_RS384) | \
	JWS_ALG_BIT(JWS_ALG_RS512) | JWS_ALG_BIT(JWS_ALG_PS256) | \
	JWS_ALG_BIT(JWS_ALG_PS384) | JWS_ALG_BIT(JWS_ALG_PS512))

/* An Entra-shaped document: x5t, x5c, per-key issuer, no alg. */
static void
test_entra_like(void **state)
{
	static const char iss[] =
	    "https://login.microsoftonline.com/{tenantid}/v2.0";
	struct jwks_report rep;
	struct keyset *ks;
	const struct jwk *k;
	struct crypto_key *pk;
	const char *why;
	uint8_t fp[32];
	size_t len;
	char *pem;
	BIO *bio;

	(void)state;
	ks = parse_ok(fmt("{\"keys\":["
	    "{\"kty\":\"RSA\",\"use\":\"sig\",\"kid\":\"L1KfKFI_jnXbwWc22xZxw1sUHH0\","
	    "\"x5t\":\"L1KfKFI_jnXbwWc22xZxw1sUHH0\",\"n\":\"%s\",\"e\":\"AQAB\","
	    "\"x5c\":[\"MIIC/TCCAeWgAwIBAgIIUd7j/OIahkYwDQYJKoZIhvcNAQELBQAw\"],"
	    "\"cloud_instance_name\":\"microsoftonline.com\",\"issuer\":\"%s\"},"
	    "{\"kty\":\"RSA\",\"use\":\"sig\",\"kid\":\"MGLqj98VNLoXaFfpJCBpgB4JaKs\","
	    "\"x5t\":\"MGLqj98VNLoXaFfpJCBpgB4JaKs\",\"n\":\"%s\",\"e\":\"AQAB\","
	    "\"x5c\":[\"MIIC/TCCAeWgAwIBAgIIUd7j\"],\"issuer\":\"%s\"}"
	    "]}\n", n_a, iss, n_b, iss), &rep);
	assert_int_equal(keyset_count(ks), 2);
	assert_int_equal(rep.n_in, 2);
	assert_int_equal(rep.n_skipped, 0);
	k = keyset_find(ks, "MGLqj98VNLoXaFfpJCBpgB4JaKs", 27);
	assert_non_null(k);
	assert_ptr_equal(k, keyset_key(ks, 1));
	assert_string_equal(k->issuer, iss);
	assert_int_equal(k->algs, RSA_ALGS);
	assert_int_equal(k->kid_len, 27);
	assert_string_equal(crypto_key_desc(k->key), "RSA-2048");

	/* The fingerprint is the key's, whichever way it was loaded. */
	k = keyset_key(ks, 0);
	bio = BIO_new(BIO_s_mem());
	assert_int_equal(PEM_write_bio_PUBKEY(bio, rsa_a), 1);
	len = (size_t)BIO_get_mem_data(bio, &pem);
	pk = crypto_key_from_pem(pem, len, &why);
	assert_non_null(pk);
	crypto_key_fingerprint(pk, fp);
	assert_memory_equal(fp, k->fp, 32);
	crypto_key_free(pk);
	BIO_free(bio);
	keyset_unref(ks);
}

/* Okta-shaped (alg RS256) plus EC and OKP keys. */
static void
test_key_types(void **state)
{
	struct jwks_report rep;
	struct keyset *ks;
	const struct jwk *k;

	(void)state;
	ks = parse_ok(fmt("{\"keys\":["
	    "{\"kty\":\"RSA\",\"alg\":\"RS256\",\"kid\":\"okta1\",\"use\":\"sig\","
	    "\"e\":\"AQAB\",\"n\":\"%s\"},"
	    "{\"kty\":\"EC\",\"kid\":\"ec256\",\"crv\":\"P-256\",\"x\":\"%s\","
	    "\"y\":\"%s\",\"alg\":\"ES256\",\"key_ops\":[\"verify\"]},"
	    "{\"kty\":\"EC\",\"kid\":\"ec384\",\"crv\":\"P-384\",\"x\":\"%s\","
	    "\"y\":\"%s\"},"
	    "{\"kty\":\"OKP\",\"kid\":\"ed\",\"crv\":\"Ed25519\",\"x\":\"%s\","
	    "\"alg\":\"EdDSA\",\"use\":\"sig\",\"key_ops\":[\"sign\",\"verify\"]},"
	    "{\"kty\":\"RSA\",\"kid\":\"ps\",\"alg\":\"PS384\",\"e\":\"AAEAAQ\","
	    "\"n\":\"%s\"}"
	    "],\"extra\":{\"ignored\":[1,2,3]}}", n_a, x256, y256, x384, y384,
	    x_ed, n_b), &rep);
	assert_int_equal(keyset_count(ks), 5);
	assert_int_equal(keyset_find(ks, "okta1", 5)->algs,
	    JWS_ALG_BIT(JWS_ALG_RS256));
	assert_int_equal(keyset_find(ks, "ec256", 5)->algs,
	    JWS_ALG_BIT(JWS_ALG_ES256));
	assert_int_equal(keyset_find(ks, "ec384", 5)->algs,
	    JWS_ALG_BIT(JWS_ALG_ES384));
	assert_int_equal(keyset_find(ks, "ed", 2)->algs,
	    JWS_ALG_BIT(JWS_ALG_EDDSA));
	k = keyset_find(ks, "ps", 2);
	assert_int_equal(k->algs, JWS_ALG_BIT(JWS_ALG_PS384));
	assert_null(k->issuer);
	keyset_unref(ks);
}

struct skip_case {
	const char *jwk;	/* format with %s slots filled from args */
	int args;		/* which key material: see skip_jwk() */
	const char *why;
};

enum { A_NONE, A_N, A_XY, A_XY384, A_ED, A_NSMALL, A_XYBAD, A_X256_384 };

static const struct skip_case skips[] = {
	{ "{\"kty\":\"oct\",\"kid\":\"bad\",\"k\":"
	  "\"-ebuDNsVZ2iJtoZ-akfXTSCt4UO2cruLCsbWlBinggE\",\"alg\":\"HS256\"}",
	  A_NONE, "symmetric (oct) keys are not taken from a key set" },
	{ "{\"kid\":\"bad\",\"n\":\"%s\",\"e\":\"AQAB\"}", A_N,
	  "kty missing or not a string" },
	{ "{\"kty\":5,\"kid\":\"bad\",\"n\":\"%s\",\"e\":\"AQAB\"}", A_N,
	  "kty missing or not a string" },
	{ "{\"kty\":\"rsa\",\"kid\":\"bad\",\"n\":\"%s\",\"e\":\"AQAB\"}", A_N,
	  "unsupported kty" },
	{ "{\"kty\":\"RSA-PSS\",\"kid\":\"bad\",\"n\":\"%s\",\"e\":\"AQAB\"}", A_N,
	  "unsupported kty" },
	{ "{\"kty\":\"RSA\",\"kid\":\"bad\",\"use\":\"enc\",\"n\":\"%s\","
	  "\"e\":\"AQAB\"}", A_N, "use is not \"sig\"" },
	{ "{\"kty\":\"RSA\",\"kid\":\"bad\",\"use\":[\"sig\"],\"n\":\"%s\","
	  "\"e\":\"AQAB\"}", A_N, "use is not \"sig\"" },
	{ "{\"kty\":\"RSA\",\"kid\":\"bad\",\"key_ops\":[\"sign\"],\"n\":\"%s\","
	  "\"e\":\"AQAB\"}", A_N, "key_ops does not allow verify" },
	{ "{\"kty\":\"RSA\",\"kid\":\"bad\",\"key_ops\":[],\"n\":\"%s\","
	  "\"e\":\"AQAB\"}", A_N, "key_ops does not allow verify" },
	{ "{\"kty\":\"RSA\",\"kid\":\"bad\",\"key_ops\":\"verify\",\"n\":\"%s\","
	  "\"e\":\"AQAB\"}", A_N, "key_ops does not allow verify" },
	{ "{\"kty\":\"RSA\",\"kid\":\"bad\",\"key_ops\":[\"verify\",\"verify\"],"
	  "\"n\":\"%s\",\"e\":\"AQAB\"}", A_N, "key_ops does not allow verify" },
	{ "{\"kty\":\"RSA\",\"kid\":\"bad\",\"key_ops\":[\"verify\",1],"
	  "\"n\":\"%s\",\"e\":\"AQAB\"}", A_N, "key_ops does not allow verify" },
	{ "{\"kty\":\"RSA\",\"kid\":\"bad\",\"alg\":\"RSA-OAEP\",\"n\":\"%s\","
	  "\"e\":\"AQAB\"}", A_N, "alg is not a supported JWS algorithm" },
	{ "{\"kty\":\"RSA\",\"kid\":\"bad\",\"alg\":\"none\",\"n\":\"%s\","
	  "\"e\":\"AQAB\"}", A_N, "alg is not a supported JWS algorithm" },
	{ "{\"kty\":\"RSA\",\"kid\":\"bad\",\"alg\":\"rs256\",\"n\":\"%s\","
	  "\"e\":\"AQAB\"}", A_N, "alg is not a supported JWS algorithm" },
	{ "{\"kty\":\"RSA\",\"kid\":\"bad\",\"alg\":256,\"n\":\"%s\","
	  "\"e\":\"AQAB\"}", A_N, "alg is not a string" },
	{ "{\"kty\":\"RSA\",\"kid\":\"bad\",\"alg\":\"HS256\",\"n\":\"%s\","
	  "\"e\":\"AQAB\"}", A_N, "alg does not match the key type or curve" },
	{ "{\"kty\":\"RSA\",\"kid\":\"bad\",\"alg\":\"ES256\",\"n\":\"%s\","
	  "\"e\":\"AQAB\"}", A_N, "alg does not match the key type or curve" },
	{ "{\"kty\":\"EC\",\"kid\":\"bad\",\"crv\":\"P-256\",\"x\":\"%s\","
	  "\"y\":\"%s\",\"alg\":\"ES384\"}", A_XY,
	  "alg does not match the key type or curve" },
	{ "{\"kty\":\"EC\",\"kid\":\"bad\",\"crv\":\"P-256\",\"x\":\"%s\","
	  "\"y\":\"%s\",\"alg\":\"ES521\"}", A_XY,
	  "alg is not a supported JWS algorithm" },
	{ "{\"kty\":\"OKP\",\"kid\":\"bad\",\"crv\":\"Ed25519\",\"x\":\"%s\","
	  "\"alg\":\"ES256\"}", A_ED, "alg does not match the key type or curve" },
	{ "{\"kty\":\"RSA\",\"kid\":\"bad\",\"n\":\"%s\",\"e\":\"AQAB\","
	  "\"d\":\"AQ\"}", A_N, "private key material in a public key set" },
	{ "{\"kty\":\"RSA\",\"kid\":\"bad\",\"n\":\"%s\",\"e\":\"AQAB\","
	  "\"p\":null}", A_N, "private key material in a public key set" },
	{ "{\"kty\":\"EC\",\"kid\":\"bad\",\"crv\":\"P-256\",\"x\":\"%s\","
	  "\"y\":\"%s\",\"d\":\"yy49oPcINGK2ps0LmtxpB6UTEOiITghHBif6wDqmJ3c\"}",
	  A_XY, "private key material in a public key set" },
	{ "{\"kty\":\"OKP\",\"kid\":\"bad\",\"crv\":\"Ed25519\",\"x\":\"%s\","
	  "\"d\":\"AAAA\"}", A_ED, "private key material in a public key set" },
	{ "{\"kty\":\"RSA\",\"kid\":5,\"n\":\"%s\",\"e\":\"AQAB\"}", A_N,
	  "kid is not a string" },
	{ "{\"kty\":\"RSA\",\"kid\":\"\",\"n\":\"%s\",\"e\":\"AQAB\"}", A_N,
	  "kid empty or longer than 256 bytes" },
	{ "{\"kty\":\"RSA\",\"kid\":\"bad\",\"e\":\"AQAB\"}", A_NONE,
	  "RSA n missing, not base64url or too long" },
	{ "{\"kty\":\"RSA\",\"kid\":\"bad\",\"n\":\"%s=\",\"e\":\"AQAB\"}", A_N,
	  "RSA n missing, not base64url or too long" },
	{ "{\"kty\":\"RSA\",\"kid\":\"bad\",\"n\":\" %s\",\"e\":\"AQAB\"}", A_N,
	  "RSA n missing, not base64url or too long" },
	{ "{\"kty\":\"RSA\",\"kid\":\"bad\",\"n\":\"+%s\",\"e\":\"AQAB\"}", A_N,
	  "RSA n missing, not base64url or too long" },
	{ "{\"kty\":\"RSA\",\"kid\":\"bad\",\"n\":\"%s\",\"e\":\"AQAB=\"}", A_N,
	  "RSA e missing, not base64url or too long" },
	{ "{\"kty\":\"RSA\",\"kid\":\"bad\",\"n\":\"%s\",\"e\":65537}", A_N,
	  "RSA e missing, not base64url or too long" },
	{ "{\"kty\":\"RSA\",\"kid\":\"bad\",\"n\":\"%s\",\"e\":\"AQ\"}", A_N,
	  "RSA exponent outside [3, 2^32-1]" },
	{ "{\"kty\":\"RSA\",\"kid\":\"bad\",\"n\":\"%s\",\"e\":\"AQAB\"}",
	  A_NSMALL, "RSA modulus shorter than 2048 bits" },
	{ "{\"kty\":\"EC\",\"kid\":\"bad\",\"crv\":\"P-384\",\"x\":\"%s\","
	  "\"y\":\"%s\"}", A_XY, "EC coordinate length does not match the curve" },
	{ "{\"kty\":\"EC\",\"kid\":\"bad\",\"crv\":\"P-256\",\"x\":\"%s\","
	  "\"y\":\"%s\"}", A_X256_384,
	  "EC coordinate length does not match the curve" },
	{ "{\"kty\":\"EC\",\"kid\":\"bad\",\"crv\":\"secp256k1\",\"x\":\"%s\","
	  "\"y\":\"%s\"}", A_XY, "EC crv missing or not P-256/P-384/P-521" },
	{ "{\"kty\":\"EC\",\"kid\":\"bad\",\"x\":\"%s\",\"y\":\"%s\"}", A_XY,
	  "EC crv missing or not P-256/P-384/P-521" },
	{ "{\"kty\":\"EC\",\"kid\":\"bad\",\"crv\":\"P-256\",\"x\":\"%s\"}",
	  A_ED, "EC x/y missing, not base64url or too long" },
	{ "{\"kty\":\"EC\",\"kid\":\"bad\",\"crv\":\"P-256\",\"x\":\"%s\","
	  "\"y\":\"%s\"}", A_XYBAD, "EC point is not on the curve" },
	{ "{\"kty\":\"OKP\",\"kid\":\"bad\",\"crv\":\"X25519\",\"x\":\"%s\"}",
	  A_ED, "OKP crv missing or not Ed25519" },
	{ "{\"kty\":\"OKP\",\"kid\":\"bad\",\"crv\":\"Ed448\",\"x\":\"%s\"}",
	  A_ED, "OKP crv missing or not Ed25519" },
	{ "{\"kty\":\"OKP\",\"kid\":\"bad\",\"crv\":\"Ed25519\","
	  "\"x\":\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg\"}", A_NONE,
	  "Ed25519 public key is not 32 bytes" },
	{ "{\"kty\":\"OKP\",\"kid\":\"bad\",\"crv\":\"Ed25519\"}", A_NONE,
	  "OKP x missing, not base64url or too long" },
	{ "{\"kty\":\"RSA\",\"kid\":\"bad\",\"issuer\":5,\"n\":\"%s\","
	  "\"e\":\"AQAB\"}", A_N, "issuer is not a string or too long" },
};

static char *
skip_jwk(const struct skip_case *c)
{
	static char buf[4096];
	int n = 0;

	switch (c->args) {
	case A_NONE:
		n = snprintf(buf, sizeof(buf), "%s", c->jwk);
		break;
	case A_N:
		n = snprintf(buf, sizeof(buf), c->jwk, n_a);
		break;
	case A_NSMALL:
		n = snprintf(buf, sizeof(buf), c->jwk, n_small);
		break;
	case A_XY:
		n = snprintf(buf, sizeof(buf), c->jwk, x256, y256);
		break;
	case A_XYBAD:
		n = snprintf(buf, sizeof(buf), c->jwk, x256, y256_bad);
		break;
	case A_XY384:
		n = snprintf(buf, sizeof(buf), c->jwk, x384, y384);
		break;
	case A_X256_384:
		n = snprintf(buf, sizeof(buf), c->jwk, x256, y384);
		break;
	case A_ED:
		n = snprintf(buf, sizeof(buf), c->jwk, x_ed);
		break;
	}
	assert_true(n > 0 && (size_t)n < sizeof(buf));
	return (buf);
}

/* Each bad key is skipped with its reason; the good key next to it stays. */
static void
test_skipped_keys(void **state)
{
	struct jwks_report rep;
	struct keyset *ks;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(skips); i++) {
		const char *bad = skip_jwk(&skips[i]);

		ks = parse_ok(fmt("{\"keys\":[%s," GOOD_EC "]}", bad, x256,
		    y256), &rep);
		if (keyset_count(ks) != 1 || rep.n_skipped != 1 ||
		    strcmp(rep.skipped[0].why, skips[i].why) != 0)
			fail_msg("case %zu: n=%zu skipped=%zu why=\"%s\", "
			    "expected \"%s\"", i, keyset_count(ks), rep.n_skipped,
			    rep.n_skipped ? rep.skipped[0].why : "",
			    skips[i].why);
		assert_int_equal(rep.skipped[0].index, 0);
		assert_string_equal(rep.skipped[0].kid,
		    strstr(bad, "\"kid\":\"bad\"") != NULL ? "bad" : "");
		assert_string_equal(keyset_key(ks, 0)->kid, "good");
		keyset_unref(ks);
		/* Alone in a set, the bad key leaves nothing: failure. */
		bad = fmt("{\"keys\":[%s]}", skip_jwk(&skips[i]));
		parse_fails(bad, strlen(bad), "no usable key");
	}
}

static void
test_report(void **state)
{
	char kid300[301], doc_kids[1024], *doc;
	struct jwks_report rep;
	struct keyset *ks;
	size_t i, off;

	(void)state;
	/* Elements that are not objects; non-printable and long kids. */
	memset(kid300, 'k', 300);
	kid300[300] = '\0';
	ks = parse_ok(fmt("{\"keys\":[42,\"x\",null,"
	    "{\"kty\":\"oct\",\"kid\":\"a\\u0001b\\n\"},"
	    "{\"kty\":\"oct\",\"kid\":\"%s\"}," GOOD_EC "]}", kid300, x256, y256),
	    &rep);
	assert_int_equal(keyset_count(ks), 1);
	assert_int_equal(rep.n_in, 6);
	assert_int_equal(rep.n_skipped, 5);
	assert_string_equal(rep.skipped[0].why, "key is not a JSON object");
	assert_string_equal(rep.skipped[0].kid, "");
	assert_int_equal(rep.skipped[2].index, 2);
	assert_string_equal(rep.skipped[3].kid, "a?b?");
	assert_int_equal(strlen(rep.skipped[4].kid), JWKS_REPORT_KID + 3);
	assert_memory_equal(rep.skipped[4].kid + JWKS_REPORT_KID, "...", 4);
	keyset_unref(ks);

	/* A kid of 256 bytes is fine, 257 is not. */
	kid300[256] = '\0';
	ks = parse_ok(fmt("{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"%s\","
	    "\"n\":\"%s\",\"e\":\"AQAB\"}]}", kid300, n_a), &rep);
	assert_int_equal(keyset_key(ks, 0)->kid_len, 256);
	assert_non_null(keyset_find(ks, kid300, 256));
	keyset_unref(ks);
	kid300[256] = 'k';
	kid300[257] = '\0';
	ks = parse_ok(fmt("{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"%s\","
	    "\"n\":\"%s\",\"e\":\"AQAB\"}," GOOD_EC "]}", kid300, n_a, x256,
	    y256), &rep);
	assert_string_equal(rep.skipped[0].why,
	    "kid empty or longer than 256 bytes");
	keyset_unref(ks);

	/* More skipped keys than the report holds: all counted. */
	for (i = 0, off = 0; i < 20; i++)
		off += (size_t)snprintf(doc_kids + off, sizeof(doc_kids) - off,
		    "{\"kty\":\"oct\",\"kid\":\"%02zu\"},", i);
	assert_true(off < sizeof(doc_kids));
	doc = fmt("{\"keys\":[%s" GOOD_EC "]}", doc_kids, x256, y256);
	ks = parse_ok(doc, &rep);
	assert_int_equal(rep.n_skipped, 20);
	assert_int_equal(rep.n_in, 21);
	assert_string_equal(rep.skipped[JWKS_REPORT_MAX - 1].kid, "15");
	keyset_unref(ks);

	/* A NULL report is allowed. */
	assert_int_equal(jwks_parse(doc, strlen(doc), &ks, NULL), 0);
	keyset_unref(ks);
}

static void
test_document_failures(void **state)
{
	char good[1024], *doc;
	size_t i, glen;
	struct keyset *ks;
	struct jwks_report rep;

	(void)state;
	glen = (size_t)snprintf(good, sizeof(good), "{\"keys\":[" GOOD_EC "]}",
	    x256, y256);
	parse_fails(good, 0, "document empty or too large");
	parse_fails(NULL, 5, "document empty or too large");
	parse_fails("not json", 8,
	    "not a JWK Set (top-level value is not an object)");
	parse_fails("{not json}", 10, "not valid JSON: object key expected");
	parse_fails("{\"keys\":[", 9, "not valid JSON: unexpected character");
	doc = fmt("%s x", good);
	parse_fails(doc, strlen(doc), "not valid JSON: data after the JSON value");
	doc = fmt("%s{}", good);
	parse_fails(doc, strlen(doc), "not valid JSON: data after the JSON value");
	/* A NUL inside the length is data, not an end; raw controls fail. */
	memcpy(good + glen, "\0 ", 2);
	parse_fails(good, glen + 2, "not valid JSON: data after the JSON value");
	good[glen] = '\0';
	doc = fmt("{\"keys\":[{\"kty\":\"EC\",\"kid\":\"go\x01od\","
	    "\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\"}]}", x256, y256);
	parse_fails(doc, strlen(doc),
	    "not valid JSON: control character in string");
	/* Not RFC 8259, though cJSON would take some of it. */
	doc = fmt("{\"keys\":[" GOOD_EC ",]}", x256, y256);
	parse_fails(doc, strlen(doc), "not valid JSON: trailing comma");
	parse_fails("\xef\xbb\xbf{\"keys\":[]}", 14,
	    "not valid JSON: byte-order mark");
	parse_fails("{\"keys\":[],\"n\":01}", 18,
	    "not valid JSON: number with a leading zero");
	/* Trailing whitespace is fine, and len excludes anything beyond. */
	doc = fmt("%s \r\n\t", good);
	ks = parse_ok(doc, &rep);
	keyset_unref(ks);
	doc = fmt("%sGARBAGE", good);
	assert_int_equal(jwks_parse(doc, glen, &ks, &rep), 0);
	keyset_unref(ks);

	/* Not a JWK Set. */
	doc = fmt("[" GOOD_EC "]", x256, y256);
	parse_fails(doc, strlen(doc),
	    "not a JWK Set (top-level value is not an object)");
	doc = fmt(GOOD_EC, x256, y256);		/* a bare JWK */
	parse_fails(doc, strlen(doc), "not a JWK Set (no \"keys\" array)");
	parse_fails("{\"keys\":{}}", 11, "not a JWK Set (no \"keys\" array)");
	parse_fails("{\"Keys\":[]}", 11, "not a JWK Set (no \"keys\" array)");
	parse_fails("\"keys\"", 6,
	    "not a JWK Set (top-level value is not an object)");
	parse_fails("{\"keys\":[]}", 11, "no usable key");

	/*
	 * Duplicate member names, at any depth (S12): the set (depth 1), a
	 * key (depth 3), deep in an ignored member, and spelled differently
	 * ("\u0079" is "y").
	 */
	doc = fmt("{\"keys\":[" GOOD_EC "],\"keys\":[]}", x256, y256);
	parse_fails(doc, strlen(doc), "not valid JSON: duplicate key");
	doc = fmt("{\"keys\":[" GOOD_EC "],\"x\":1,\"x\":1}", x256, y256);
	parse_fails(doc, strlen(doc), "not valid JSON: duplicate key");
	doc = fmt("{\"keys\":[{\"kty\":\"EC\",\"kid\":\"good\",\"crv\":\"P-256\","
	    "\"x\":\"%s\",\"y\":\"%s\",\"y\":\"%s\"}]}", x256, y256_bad, y256);
	parse_fails(doc, strlen(doc), "not valid JSON: duplicate key");
	doc = fmt("{\"keys\":[{\"kty\":\"EC\",\"kid\":\"good\",\"crv\":\"P-256\","
	    "\"x\":\"%s\",\"y\":\"%s\",\"\\u0079\":\"%s\"}]}", x256, y256_bad,
	    y256);
	parse_fails(doc, strlen(doc), "not valid JSON: duplicate key");
	doc = fmt("{\"keys\":[" GOOD_EC "],\"x\":[{\"a\":{\"b\":1,\"b\":2}}]}",
	    x256, y256);
	parse_fails(doc, strlen(doc), "not valid JSON: duplicate key");
	/* The same name in different objects is no duplicate. */
	doc = fmt("{\"keys\":[" GOOD_EC "],\"kty\":{\"kty\":{\"kty\":1}}}",
	    x256, y256);
	ks = parse_ok(doc, &rep);
	keyset_unref(ks);

	/* An escaped NUL would truncate the kid in cJSON: refused. */
	doc = fmt("{\"keys\":[{\"kty\":\"EC\",\"kid\":\"good\\u0000evil\","
	    "\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\"}]}", x256, y256);
	parse_fails(doc, strlen(doc), "not valid JSON: \\u0000 in string");
	/* Non-ASCII kids are kept byte for byte. */
	doc = fmt("{\"keys\":[{\"kty\":\"EC\",\"kid\":\"k\\u00e9\xc3\xa9\","
	    "\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\"}]}", x256, y256);
	ks = parse_ok(doc, &rep);
	assert_non_null(keyset_find(ks, "k\xc3\xa9\xc3\xa9", 5));
	keyset_unref(ks);

	/* Every truncation of a good document fails cleanly. */
	for (i = 1; i < glen; i++)
		parse_fails(good, i, NULL);
}

/* Wide objects: a duplicate among many names is still found. */
static void
test_large_objects(void **state)
{
	char members[4096];
	struct jwks_report rep;
	struct keyset *ks;
	size_t off = 0;
	char *doc;
	int i;

	(void)state;
	for (i = 0; i < 100; i++)
		off += (size_t)snprintf(members + off, sizeof(members) - off,
		    "\"m%03d\":%d,", i, i);
	doc = fmt("{%s\"keys\":[" GOOD_EC "]}", members, x256, y256);
	ks = parse_ok(doc, &rep);
	keyset_unref(ks);
	doc = fmt("{%s\"m050\":0,\"keys\":[" GOOD_EC "]}", members, x256, y256);
	parse_fails(doc, strlen(doc), "not valid JSON: duplicate key");
}

static void
test_key_cap(void **state)
{
	static char doc[256 * 20 + 64];
	size_t off;
	int i, n;

	(void)state;
	for (n = 256; n <= 257; n++) {
		struct jwks_report rep;
		struct keyset *ks = NULL;

		off = (size_t)snprintf(doc, sizeof(doc), "{\"keys\":[");
		for (i = 0; i < n; i++)
			off += (size_t)snprintf(doc + off, sizeof(doc) - off,
			    "%s{\"kty\":\"oct\"}", i ? "," : "");
		off += (size_t)snprintf(doc + off, sizeof(doc) - off, "]}");
		assert_true(off < sizeof(doc));
		assert_int_equal(jwks_parse(doc, off, &ks, &rep), -1);
		assert_string_equal(rep.error, n == 256 ? "no usable key" :
		    "JSON object or array with more than 256 members");
		if (n == 256)
			assert_int_equal(rep.n_skipped, 256);
	}
}

/*
 * Width and depth are refused by json_strict_check() before cJSON builds
 * anything: a flat array of 4 MiB of zeros in an ignored member used to
 * become a cJSON node per zero.
 */
static void
test_json_limits(void **state)
{
	static char doc[JWKS_MAX_DOC];
	struct jwks_report rep;
	struct keyset *ks;
	size_t off, i;
	int n, d;

	(void)state;
	/* 256 members in an array or object pass, 257 do not. */
	for (n = 256; n <= 257; n++) {
		off = (size_t)snprintf(doc, sizeof(doc), "{\"keys\":["
		    GOOD_EC "],\"x\":[", x256, y256);
		for (i = 0; i < (size_t)n; i++)
			off += (size_t)snprintf(doc + off, sizeof(doc) - off,
			    "%s0", i ? "," : "");
		off += (size_t)snprintf(doc + off, sizeof(doc) - off, "]}");
		if (n == 256) {
			ks = parse_ok(doc, &rep);
			keyset_unref(ks);
		} else
			parse_fails(doc, off, "JSON object or array with more "
			    "than 256 members");
	}
	off = (size_t)snprintf(doc, sizeof(doc), "{\"keys\":[" GOOD_EC "]",
	    x256, y256);
	for (i = 0; i < 256; i++)
		off += (size_t)snprintf(doc + off, sizeof(doc) - off,
		    ",\"m%zu\":0", i);
	off += (size_t)snprintf(doc + off, sizeof(doc) - off, "}");
	parse_fails(doc, off, "JSON object or array with more than 256 members");
	/* In a key object too (x5c is an array in a key). */
	off = (size_t)snprintf(doc, sizeof(doc), "{\"keys\":[{\"kty\":\"EC\","
	    "\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\",\"x5c\":[", x256,
	    y256);
	for (i = 0; i < 257; i++)
		off += (size_t)snprintf(doc + off, sizeof(doc) - off,
		    "%s\"MA\"", i ? "," : "");
	off += (size_t)snprintf(doc + off, sizeof(doc) - off, "]}]}");
	parse_fails(doc, off, "JSON object or array with more than 256 members");

	/* The 4 MiB flat array: refused, quickly, whatever its length. */
	off = (size_t)snprintf(doc, sizeof(doc), "{\"keys\":[],\"x\":[0");
	while (off + 3 < sizeof(doc)) {
		memcpy(doc + off, ",0", 2);
		off += 2;
	}
	memcpy(doc + off, "]}", 2);
	off += 2;
	assert_true(off <= JWKS_MAX_DOC);
	parse_fails(doc, off, "JSON object or array with more than 256 members");

	/*
	 * Wide and deep: every array within the caps, but together more
	 * values than a set has (~2 million cJSON nodes at 4 MiB before the
	 * cap).  200 x 256 passes, 256 x 256 does not.
	 */
	for (n = 200; n <= 256; n += 56) {
		off = (size_t)snprintf(doc, sizeof(doc), "{\"keys\":["
		    GOOD_EC "],\"x\":[", x256, y256);
		for (i = 0; i < (size_t)n * 256; i++) {
			if (i % 256 == 0)
				off += (size_t)snprintf(doc + off,
				    sizeof(doc) - off, "%s[", i ? "]," : "");
			else
				doc[off++] = ',';
			doc[off++] = '0';
		}
		off += (size_t)snprintf(doc + off, sizeof(doc) - off, "]]}");
		if (n == 200) {
			ks = parse_ok(doc, &rep);
			keyset_unref(ks);
		} else
			parse_fails(doc, off,
			    "JSON document with more than 65536 values");
	}

	/*
	 * Depth: a key's x5c strings are at depth 4; 8 levels pass, 9 do
	 * not, in an ignored member or inside a key.
	 */
	for (d = 8; d <= 9; d++) {
		off = (size_t)snprintf(doc, sizeof(doc), "{\"keys\":["
		    GOOD_EC "],\"x\":", x256, y256);
		for (i = 2; i < (size_t)d; i++)
			doc[off++] = '[';
		doc[off++] = '{';
		doc[off++] = '}';
		for (i = 2; i < (size_t)d; i++)
			doc[off++] = ']';
		doc[off++] = '}';
		doc[off] = '\0';
		if (d == 8) {
			ks = parse_ok(doc, &rep);
			keyset_unref(ks);
		} else
			parse_fails(doc, off,
			    "JSON nested deeper than 8 levels");
	}
	off = (size_t)snprintf(doc, sizeof(doc), "{\"keys\":[{\"kty\":\"EC\","
	    "\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\","
	    "\"ext\":{\"a\":[{\"b\":[[{}]]}]}}]}", x256, y256);
	parse_fails(doc, off, "JSON nested deeper than 8 levels");
	/* The Entra shape at its deepest: x5c and key_ops, depth 4. */
	ks = parse_ok(fmt("{\"keys\":[{\"kty\":\"EC\",\"kid\":\"c\","
	    "\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\","
	    "\"key_ops\":[\"verify\"],\"x5c\":[\"MA\",\"MB\"]}]}", x256, y256),
	    &rep);
	assert_int_equal(keyset_count(ks), 1);
	keyset_unref(ks);
}

/* The text must be UTF-8; a kid with invalid bytes refuses the set. */
static void
test_utf8(void **state)
{
	static const char *const bad[] = {
		"\xff",		/* never in UTF-8 */
		"\xc3",		/* truncated sequence */
		"\xc0\xaf",	/* overlong '/' */
		"\xed\xa0\x80",	/* encoded surrogate */
		"\xf4\x90\x80\x80",	/* above U+10FFFF */
		"\\ud800",	/* unpaired surrogate escape */
	};
	struct jwks_report rep;
	struct keyset *ks;
	size_t i;
	char *doc;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		doc = fmt("{\"keys\":[{\"kty\":\"EC\",\"kid\":\"k%s\","
		    "\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\"}]}", bad[i],
		    x256, y256);
		parse_fails(doc, strlen(doc), i + 1 < ARRAY_SIZE(bad) ?
		    "not valid JSON: invalid UTF-8" :
		    "not valid JSON: unpaired surrogate escape");
	}
	/* Also where jwks_parse never looks: in a member name. */
	doc = fmt("{\"keys\":[" GOOD_EC "],\"\xfe\":1}", x256, y256);
	parse_fails(doc, strlen(doc), "not valid JSON: invalid UTF-8");
	/* Four-byte characters and escaped pairs are kids like any other. */
	doc = fmt("{\"keys\":[{\"kty\":\"EC\",\"kid\":\"\xf0\x9f\x94\x91"
	    "\\ud83d\\udd11\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\"}]}",
	    x256, y256);
	ks = parse_ok(doc, &rep);
	assert_non_null(keyset_find(ks, "\xf0\x9f\x94\x91\xf0\x9f\x94\x91", 8));
	keyset_unref(ks);
}

/* Wycheproof DuplicateKid, and what identical duplicates do. */
static void
test_duplicate_kids(void **state)
{
	struct jwks_report rep;
	struct keyset *ks;
	const char *rsa = "{\"kty\":\"RSA\",\"kid\":\"k\",\"n\":\"%s\","
	    "\"e\":\"AQAB\"%s}";
	char a[1024], b[1024], c[1024], *doc;

	(void)state;
	/* Two different keys under one kid: both go, the rest stays. */
	snprintf(a, sizeof(a), rsa, n_a, "");
	snprintf(b, sizeof(b), rsa, n_b, "");
	ks = parse_ok(fmt("{\"keys\":[%s," GOOD_EC ",%s]}", a, x256, y256, b),
	    &rep);
	assert_int_equal(keyset_count(ks), 1);
	assert_null(keyset_find(ks, "k", 1));
	assert_int_equal(rep.n_skipped, 2);
	assert_string_equal(rep.skipped[0].why, "kid shared by different keys");
	assert_int_equal(rep.skipped[0].index, 0);
	assert_int_equal(rep.skipped[1].index, 2);
	assert_string_equal(rep.skipped[1].kid, "k");
	keyset_unref(ks);
	/* Only the clashing pair: nothing usable. */
	doc = fmt("{\"keys\":[%s,%s]}", a, b);
	parse_fails(doc, strlen(doc), "no usable key");

	/* The same key twice under one kid: one is kept. */
	ks = parse_ok(fmt("{\"keys\":[%s,%s]}", a, a), &rep);
	assert_int_equal(keyset_count(ks), 1);
	assert_non_null(keyset_find(ks, "k", 1));
	assert_string_equal(rep.skipped[0].why,
	    "identical duplicate of an earlier key");
	assert_int_equal(rep.skipped[0].index, 1);
	keyset_unref(ks);

	/* Same key, different alg narrowing: ambiguous, both go. */
	snprintf(c, sizeof(c), rsa, n_a, ",\"alg\":\"PS256\"");
	doc = fmt("{\"keys\":[%s,%s]}", a, c);
	parse_fails(doc, strlen(doc), "no usable key");
	/* A, A, B: all three go. */
	ks = parse_ok(fmt("{\"keys\":[%s,%s,%s," GOOD_EC "]}", a, a, b, x256,
	    y256), &rep);
	assert_int_equal(keyset_count(ks), 1);
	assert_int_equal(rep.n_skipped, 3);
	keyset_unref(ks);

	/* The same key under two kids is fine; a skipped key's kid is free. */
	snprintf(c, sizeof(c), "{\"kty\":\"RSA\",\"kid\":\"k2\",\"n\":\"%s\","
	    "\"e\":\"AQAB\"}", n_a);
	ks = parse_ok(fmt("{\"keys\":[%s,%s,{\"kty\":\"RSA\",\"kid\":\"k\","
	    "\"use\":\"enc\",\"n\":\"%s\",\"e\":\"AQAB\"}]}", a, c, n_b), &rep);
	assert_int_equal(keyset_count(ks), 2);
	assert_memory_equal(keyset_key(ks, 0)->fp, keyset_key(ks, 1)->fp, 32);
	assert_int_equal(rep.n_skipped, 1);
	keyset_unref(ks);

	/* Keys without kid never clash. */
	ks = parse_ok(fmt("{\"keys\":[{\"kty\":\"RSA\",\"n\":\"%s\","
	    "\"e\":\"AQAB\"},{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB\"}]}",
	    n_a, n_b), &rep);
	assert_int_equal(keyset_count(ks), 2);
	assert_ptr_equal(keyset_find(ks, NULL, 0), keyset_key(ks, 0));
	keyset_unref(ks);
}

static void
test_find(void **state)
{
	struct jwks_report rep;
	struct keyset *ks;

	(void)state;
	ks = parse_ok(fmt("{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"abc\","
	    "\"n\":\"%s\",\"e\":\"AQAB\"},{\"kty\":\"EC\",\"kid\":\"ab\","
	    "\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\"}]}", n_a, x256, y256),
	    &rep);
	assert_ptr_equal(keyset_find(ks, "abc", 3), keyset_key(ks, 0));
	assert_ptr_equal(keyset_find(ks, "ab", 2), keyset_key(ks, 1));
	assert_ptr_equal(keyset_find(ks, "abcd", 3), keyset_key(ks, 0));
	assert_null(keyset_find(ks, "a", 1));
	assert_null(keyset_find(ks, "abcd", 4));
	assert_null(keyset_find(ks, "ABC", 3));
	assert_null(keyset_find(ks, "abc\0", 4));
	assert_null(keyset_find(ks, "", 0));
	assert_null(keyset_find(ks, NULL, 0));
	assert_null(keyset_find(NULL, "abc", 3));
	assert_null(keyset_find(ks, "../../../../dev/null", 20));
	keyset_unref(ks);
}

/* keyset_equal: same keys in any order; kid, alg and issuer count. */
static void
test_equal(void **state)
{
	static const char rsa[] = "{\"kty\":\"RSA\",\"kid\":\"%s\","
	    "\"n\":\"%s\",\"e\":\"AQAB\"%s}";
	char ra[2048], rb[2048], ec[1024];
	struct jwks_report rep;
	struct keyset *a, *b;

	(void)state;
	snprintf(ra, sizeof(ra), rsa, "k1", n_a, "");
	snprintf(rb, sizeof(rb), rsa, "k2", n_b, "");
	snprintf(ec, sizeof(ec), "{\"kty\":\"EC\",\"kid\":\"e\","
	    "\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\"}", x256, y256);
	a = parse_ok(fmt("{\"keys\":[%s,%s,%s]}", ra, rb, ec), &rep);
	b = parse_ok(fmt("{\"keys\":[%s,%s,%s]}", ec, ra, rb), &rep);
	assert_true(keyset_equal(a, b));
	assert_true(keyset_equal(b, a));
	keyset_unref(b);
	/* One key fewer; another kid; another alg; an issuer scope. */
	b = parse_ok(fmt("{\"keys\":[%s,%s]}", ra, rb), &rep);
	assert_false(keyset_equal(a, b));
	keyset_unref(b);
	snprintf(rb, sizeof(rb), rsa, "k3", n_b, "");
	b = parse_ok(fmt("{\"keys\":[%s,%s,%s]}", ra, rb, ec), &rep);
	assert_false(keyset_equal(a, b));
	keyset_unref(b);
	snprintf(rb, sizeof(rb), rsa, "k2", n_b, ",\"alg\":\"RS256\"");
	b = parse_ok(fmt("{\"keys\":[%s,%s,%s]}", ra, rb, ec), &rep);
	assert_false(keyset_equal(a, b));
	keyset_unref(b);
	snprintf(rb, sizeof(rb), rsa, "k2", n_b, ",\"issuer\":\"https://i\"");
	b = parse_ok(fmt("{\"keys\":[%s,%s,%s]}", ra, rb, ec), &rep);
	assert_false(keyset_equal(a, b));
	keyset_unref(b);
	/* The same kid on another key. */
	snprintf(rb, sizeof(rb), rsa, "k2", n_a, "");
	snprintf(ra, sizeof(ra), rsa, "k1", n_b, "");
	b = parse_ok(fmt("{\"keys\":[%s,%s,%s]}", ra, rb, ec), &rep);
	assert_false(keyset_equal(a, b));
	keyset_unref(b);
	assert_false(keyset_equal(a, NULL));
	keyset_unref(a);
}

/*
 * S2 through a set: a token {"alg":"HS256","kid":"<rsa kid>"} HMAC'd
 * with the key's published bytes (the JWKS text, the modulus) finds the
 * RSA key by kid, but that key never allows HS256.
 */
static void
test_rs_hs_confusion(void **state)
{
	static const char input[] = "eyJhbGciOiJIUzI1NiIsImtpZCI6InJzYSJ9.e30";
	struct jwks_report rep;
	struct keyset *ks;
	const struct jwk *k;
	uint8_t tag[32];
	unsigned int tl;
	char *doc;

	(void)state;
	doc = fmt("{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"rsa\",\"n\":\"%s\","
	    "\"e\":\"AQAB\"}]}", n_a);
	ks = parse_ok(doc, &rep);
	k = keyset_find(ks, "rsa", 3);
	assert_non_null(k);
	assert_int_equal(k->algs & JWS_ALG_HMAC_MASK, 0);
	assert_non_null(HMAC(EVP_sha256(), doc, (int)strlen(doc),
	    (const uint8_t *)input, strlen(input), tag, &tl));
	assert_int_equal(crypto_verify(k->key, JWS_ALG_HS256,
	    (const uint8_t *)input, strlen(input), tag, 32), -1);
	assert_non_null(HMAC(EVP_sha256(), nbytes_a, (int)nbytes_a_len,
	    (const uint8_t *)input, strlen(input), tag, &tl));
	assert_int_equal(crypto_verify(k->key, JWS_ALG_HS256,
	    (const uint8_t *)input, strlen(input), tag, 32), -1);
	keyset_unref(ks);
}

/* Wycheproof jws_mixedSymmetryKeyset: the oct key never enters a set. */
static void
test_mixed_symmetry(void **state)
{
	static const char doc[] = "{\"keys\":[{\"alg\":\"HS256\",\"use\":\"sig\","
	    "\"k\":\"-ebuDNsVZ2iJtoZ-akfXTSCt4UO2cruLCsbWlBinggE\","
	    "\"kid\":\"kid-aes-sign\",\"kty\":\"oct\"},{\"alg\":\"ES256\","
	    "\"use\":\"sig\",\"x\":\"04N0xi21hshyvBp7I167sbE_bXqyqkAPfefdklMO7wY\","
	    "\"y\":\"UI8exy-C06a7DUnjIdENkxeFtHM4-l_41LqEw9nVgmw\","
	    "\"crv\":\"P-256\",\"kid\":\"kid-ec-sign\",\"kty\":\"EC\"}]}";
	struct jwks_report rep;
	struct keyset *ks;

	(void)state;
	ks = parse_ok(doc, &rep);
	assert_int_equal(keyset_count(ks), 1);
	assert_null(keyset_find(ks, "kid-aes-sign", 12));
	assert_non_null(keyset_find(ks, "kid-ec-sign", 11));
	assert_string_equal(rep.skipped[0].kid, "kid-aes-sign");
	assert_string_equal(rep.skipped[0].why,
	    "symmetric (oct) keys are not taken from a key set");
	keyset_unref(ks);
}

/* RFC 7638 §3.1's example key and thumbprint; the member order and the
 * extra members do not matter; a bad member refuses it. */
static void
test_thumbprint(void **state)
{
	static const char n[] = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78Lh"
	    "Wx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMs"
	    "tn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2Qv"
	    "zqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08q"
	    "NLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF4"
	    "4-csFCur-kEgU8awapJzKnqDKgw";
	char doc[1024], b64[64];
	uint8_t tp[32];
	const char *why;
	cJSON *j;

	(void)state;
	snprintf(doc, sizeof(doc), "{\"kid\":\"2011-04-29\",\"e\":\"AQAB\","
	    "\"n\":\"%s\",\"kty\":\"RSA\",\"alg\":\"RS256\"}", n);
	j = cJSON_Parse(doc);
	assert_non_null(j);
	assert_int_equal(jwks_thumbprint(j, tp, &why), 0);
	assert_int_equal(b64url_encode(tp, 32, b64, sizeof(b64)), 43);
	assert_string_equal(b64, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
	cJSON_Delete(j);
	/* Not base64url, a member missing, an unknown kty. */
	j = cJSON_Parse("{\"kty\":\"RSA\",\"e\":\"AQ+B\",\"n\":\"AAAA\"}");
	assert_int_equal(jwks_thumbprint(j, tp, &why), -1);
	cJSON_Delete(j);
	j = cJSON_Parse("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AAAA\"}");
	assert_int_equal(jwks_thumbprint(j, tp, &why), -1);
	cJSON_Delete(j);
	j = cJSON_Parse("{\"kty\":\"oct\",\"k\":\"AAAA\"}");
	assert_int_equal(jwks_thumbprint(j, tp, &why), -1);
	cJSON_Delete(j);
	j = cJSON_Parse("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}");
	assert_int_equal(jwks_thumbprint(j, tp, &why), 0);
	cJSON_Delete(j);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_entra_like),
		cmocka_unit_test(test_key_types),
		cmocka_unit_test(test_skipped_keys),
		cmocka_unit_test(test_report),
		cmocka_unit_test(test_document_failures),
		cmocka_unit_test(test_large_objects),
		cmocka_unit_test(test_key_cap),
		cmocka_unit_test(test_json_limits),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_duplicate_kids),
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_equal),
		cmocka_unit_test(test_rs_hs_confusion),
		cmocka_unit_test(test_mixed_symmetry),
		cmocka_unit_test(test_thumbprint),
	};

	return (cmocka_run_group_tests(tests, group_setup, group_teardown));
}
