/*
 * test_crypto.c: keys and JWS signature verification (crypto.c), with the
 * malicious inputs of jwt.md §3: S2 (RS/HS confusion), S3 (alg/key
 * mismatch), S4 (ECDSA psychic signatures and encodings), S5 (PSS salt),
 * S16 (HMAC compare), S17 (weak keys).  Signatures are made here with
 * OpenSSL directly (tests may; agent modules other than crypto.c may not).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "b64url.h"
#include "crypto.h"
#include "jwa.h"
#include "testsupport.h"
#include "util.h"

static EVP_PKEY *rsa2048, *ec256, *ec384, *ec521, *ed25519;

static const uint8_t msg[] =
    "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJhbGljZSJ9";
#define MSG_LEN (sizeof(msg) - 1)

static const EVP_MD *
md_of(enum jws_alg alg)
{
	switch (jwa_hash_len(alg)) {
	case 32:
		return (EVP_sha256());
	case 48:
		return (EVP_sha384());
	default:
		return (EVP_sha512());
	}
}

/*
 * Sign ${m} with ${pk} as JWS ${alg} would, into ${sig}.  For PS*,
 * ${saltlen} and ${mgf1} override the salt length and MGF1 digest (use
 * -1/NULL for the JWS values) so tests can make wrong-parameter
 * signatures.  For ES*, the DER signature is kept in ${der} if not NULL.
 */
static size_t
sign_ex(EVP_PKEY *pk, enum jws_alg alg, const uint8_t *m, size_t mlen,
    uint8_t *sig, size_t cap, int saltlen, const EVP_MD *mgf1,
    uint8_t *der, size_t *der_len)
{
	EVP_MD_CTX *mc = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pc = NULL;
	uint8_t raw[1024];
	size_t rl = sizeof(raw), flen;

	assert_non_null(mc);
	assert_int_equal(EVP_DigestSignInit(mc, &pc,
	    alg == JWS_ALG_EDDSA ? NULL : md_of(alg), NULL, pk), 1);
	if (alg >= JWS_ALG_PS256 && alg <= JWS_ALG_PS512) {
		assert_true(EVP_PKEY_CTX_set_rsa_padding(pc,
		    RSA_PKCS1_PSS_PADDING) > 0);
		assert_true(EVP_PKEY_CTX_set_rsa_pss_saltlen(pc,
		    saltlen >= 0 ? saltlen : (int)jwa_hash_len(alg)) > 0);
		assert_true(EVP_PKEY_CTX_set_rsa_mgf1_md(pc,
		    mgf1 != NULL ? mgf1 : md_of(alg)) > 0);
	}
	assert_int_equal(EVP_DigestSign(mc, raw, &rl, m, mlen), 1);
	EVP_MD_CTX_free(mc);
	if (alg >= JWS_ALG_ES256 && alg <= JWS_ALG_ES512) {
		const unsigned char *p = raw;
		ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)rl);

		flen = alg == JWS_ALG_ES256 ? 32 : alg == JWS_ALG_ES384 ? 48 : 66;
		assert_non_null(es);
		assert_true(cap >= 2 * flen);
		assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_r(es), sig,
		    (int)flen), (int)flen);
		assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_s(es), sig + flen,
		    (int)flen), (int)flen);
		ECDSA_SIG_free(es);
		if (der != NULL) {
			memcpy(der, raw, rl);
			*der_len = rl;
		}
		return (2 * flen);
	}
	assert_true(rl <= cap);
	memcpy(sig, raw, rl);
	return (rl);
}

static size_t
sign(EVP_PKEY *pk, enum jws_alg alg, uint8_t *sig, size_t cap)
{
	return (sign_ex(pk, alg, msg, MSG_LEN, sig, cap, -1, NULL, NULL, NULL));
}

static size_t
bn_out(const EVP_PKEY *pk, const char *param, uint8_t *out, size_t pad)
{
	BIGNUM *bn = NULL;
	int n;

	assert_int_equal(EVP_PKEY_get_bn_param(pk, param, &bn), 1);
	n = pad ? BN_bn2binpad(bn, out, (int)pad) : BN_bn2bin(bn, out);
	BN_free(bn);
	assert_true(n > 0);
	return ((size_t)n);
}

/* The public half of ${pk} as a crypto_key, from its raw components. */
static struct crypto_key *
pub(EVP_PKEY *pk)
{
	uint8_t a[1100], b[1100];
	struct crypto_key *k;
	const char *why = NULL;
	size_t la, lb, flen;

	if (EVP_PKEY_is_a(pk, "RSA")) {
		la = bn_out(pk, OSSL_PKEY_PARAM_RSA_N, a, 0);
		lb = bn_out(pk, OSSL_PKEY_PARAM_RSA_E, b, 0);
		k = crypto_key_rsa(a, la, b, lb, &why);
	} else if (EVP_PKEY_is_a(pk, "EC")) {
		int crv = pk == ec256 ? CRYPTO_CURVE_P256 :
		    pk == ec384 ? CRYPTO_CURVE_P384 : CRYPTO_CURVE_P521;

		flen = crypto_curve_field_len((enum crypto_curve)crv);
		bn_out(pk, OSSL_PKEY_PARAM_EC_PUB_X, a, flen);
		bn_out(pk, OSSL_PKEY_PARAM_EC_PUB_Y, b, flen);
		k = crypto_key_ec((enum crypto_curve)crv, a, flen, b, flen, &why);
	} else {
		la = sizeof(a);
		assert_int_equal(EVP_PKEY_get_raw_public_key(pk, a, &la), 1);
		k = crypto_key_ed25519(a, la, &why);
	}
	if (k == NULL)
		fail_msg("key rejected: %s", why);
	return (k);
}

static char *
pem_of(EVP_PKEY *pk, size_t *len)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *out;
	long n;

	assert_non_null(bio);
	assert_int_equal(PEM_write_bio_PUBKEY(bio, pk), 1);
	n = BIO_get_mem_data(bio, &data);
	assert_true(n > 0);
	out = malloc((size_t)n + 1);
	assert_non_null(out);
	memcpy(out, data, (size_t)n);
	out[n] = '\0';
	*len = (size_t)n;
	BIO_free(bio);
	return (out);
}

static int
group_setup(void **state)
{
	(void)state;
	rsa2048 = EVP_RSA_gen(2048);
	ec256 = EVP_EC_gen("P-256");
	ec384 = EVP_EC_gen("P-384");
	ec521 = EVP_EC_gen("P-521");
	ed25519 = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	return (rsa2048 && ec256 && ec384 && ec521 && ed25519 ? 0 : -1);
}

static int
group_teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(rsa2048);
	EVP_PKEY_free(ec256);
	EVP_PKEY_free(ec384);
	EVP_PKEY_free(ec521);
	EVP_PKEY_free(ed25519);
	return (0);
}

/* Every failing verification must leave the OpenSSL error queue empty. */
static int
verify(const struct crypto_key *k, enum jws_alg alg, const uint8_t *m,
    size_t ml, const uint8_t *s, size_t sl)
{
	int r = crypto_verify(k, alg, m, ml, s, sl);

	assert_int_equal(ERR_peek_error(), 0);
	return (r);
}

static void
test_rsa_roundtrip(void **state)
{
	struct crypto_key *k = pub(rsa2048);
	uint8_t sig[512], bad[513];
	size_t sl;
	int a, b;

	(void)state;
	assert_string_equal(crypto_key_desc(k), "RSA-2048");
	assert_int_equal(crypto_key_algs(k), JWS_ALG_BIT(JWS_ALG_RS256) |
	    JWS_ALG_BIT(JWS_ALG_RS384) | JWS_ALG_BIT(JWS_ALG_RS512) |
	    JWS_ALG_BIT(JWS_ALG_PS256) | JWS_ALG_BIT(JWS_ALG_PS384) |
	    JWS_ALG_BIT(JWS_ALG_PS512));
	for (a = JWS_ALG_RS256; a <= JWS_ALG_PS512; a++) {
		sl = sign(rsa2048, (enum jws_alg)a, sig, sizeof(sig));
		assert_int_equal(sl, 256);
		assert_int_equal(verify(k, (enum jws_alg)a, msg, MSG_LEN, sig,
		    sl), 0);
		/* Another RSA alg never accepts it (hash or padding differ). */
		for (b = JWS_ALG_RS256; b <= JWS_ALG_PS512; b++)
			if (b != a)
				assert_int_equal(verify(k, (enum jws_alg)b,
				    msg, MSG_LEN, sig, sl), -1);
		/* Flipped bit in the signature, or in the message. */
		memcpy(bad, sig, sl);
		bad[sl / 2] ^= 0x01;
		assert_int_equal(verify(k, (enum jws_alg)a, msg, MSG_LEN, bad,
		    sl), -1);
		assert_int_equal(verify(k, (enum jws_alg)a, msg, MSG_LEN - 1,
		    sig, sl), -1);
		/* Wrong lengths: one byte short, a leading zero added. */
		assert_int_equal(verify(k, (enum jws_alg)a, msg, MSG_LEN, sig,
		    sl - 1), -1);
		bad[0] = 0;
		memcpy(bad + 1, sig, sl);
		assert_int_equal(verify(k, (enum jws_alg)a, msg, MSG_LEN, bad,
		    sl + 1), -1);
		assert_int_equal(verify(k, (enum jws_alg)a, msg, MSG_LEN, sig,
		    0), -1);
	}
	crypto_key_free(k);
}

/* S5: PS* takes exactly salt = hash length and MGF1 with the same hash. */
static void
test_pss_parameters(void **state)
{
	struct crypto_key *k = pub(rsa2048);
	uint8_t sig[512];
	size_t sl;
	int saltlens[] = { 0, 20, 31, 33, 48, 64 };
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(saltlens); i++) {
		sl = sign_ex(rsa2048, JWS_ALG_PS256, msg, MSG_LEN, sig,
		    sizeof(sig), saltlens[i], NULL, NULL, NULL);
		assert_int_equal(verify(k, JWS_ALG_PS256, msg, MSG_LEN, sig,
		    sl), -1);
	}
	sl = sign_ex(rsa2048, JWS_ALG_PS256, msg, MSG_LEN, sig, sizeof(sig),
	    32, NULL, NULL, NULL);
	assert_int_equal(verify(k, JWS_ALG_PS256, msg, MSG_LEN, sig, sl), 0);
	sl = sign_ex(rsa2048, JWS_ALG_PS384, msg, MSG_LEN, sig, sizeof(sig),
	    32, NULL, NULL, NULL);
	assert_int_equal(verify(k, JWS_ALG_PS384, msg, MSG_LEN, sig, sl), -1);
	/* MGF1 over another hash. */
	sl = sign_ex(rsa2048, JWS_ALG_PS256, msg, MSG_LEN, sig, sizeof(sig),
	    32, EVP_sha1(), NULL, NULL);
	assert_int_equal(verify(k, JWS_ALG_PS256, msg, MSG_LEN, sig, sl), -1);
	sl = sign_ex(rsa2048, JWS_ALG_PS512, msg, MSG_LEN, sig, sizeof(sig),
	    64, EVP_sha256(), NULL, NULL);
	assert_int_equal(verify(k, JWS_ALG_PS512, msg, MSG_LEN, sig, sl), -1);
	crypto_key_free(k);
}

static void
test_ec_roundtrip(void **state)
{
	EVP_PKEY *pks[3] = { ec256, ec384, ec521 };
	enum jws_alg algs[3] = { JWS_ALG_ES256, JWS_ALG_ES384, JWS_ALG_ES512 };
	const char *descs[3] = { "EC-P-256", "EC-P-384", "EC-P-521" };
	uint8_t sig[200], bad[200];
	size_t sl;
	int i, j;

	(void)state;
	for (i = 0; i < 3; i++) {
		struct crypto_key *k = pub(pks[i]);

		assert_string_equal(crypto_key_desc(k), descs[i]);
		assert_int_equal(crypto_key_algs(k), JWS_ALG_BIT(algs[i]));
		sl = sign(pks[i], algs[i], sig, sizeof(sig));
		assert_int_equal(sl, 2 * crypto_curve_field_len(
		    (enum crypto_curve)i));
		assert_int_equal(verify(k, algs[i], msg, MSG_LEN, sig, sl), 0);
		memcpy(bad, sig, sl);
		bad[sl - 1] ^= 0x80;
		assert_int_equal(verify(k, algs[i], msg, MSG_LEN, bad, sl), -1);
		/* S3: a curve verifies only its own ES alg. */
		for (j = 0; j < 3; j++)
			if (j != i) {
				assert_int_equal(crypto_key_allows(k, algs[j]), 0);
				assert_int_equal(verify(k, algs[j], msg, MSG_LEN,
				    sig, sl), -1);
			}
		crypto_key_free(k);
	}
}

/* Write the big-endian P-256 order n (+ ${add}) into ${out}. */
static void
p256_order(uint8_t out[32], int add)
{
	EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
	BIGNUM *n;

	assert_non_null(g);
	n = BN_dup(EC_GROUP_get0_order(g));
	assert_non_null(n);
	if (add > 0)
		assert_int_equal(BN_add_word(n, (BN_ULONG)add), 1);
	else if (add < 0)
		assert_int_equal(BN_sub_word(n, (BN_ULONG)-add), 1);
	assert_int_equal(BN_bn2binpad(n, out, 32), 32);
	BN_free(n);
	EC_GROUP_free(g);
}

/* S4: CVE-2022-21449 and friends, all on a key that verifies its own sig. */
static void
test_ecdsa_malicious(void **state)
{
	struct crypto_key *k = pub(ec256);
	uint8_t sig[64], s2[200], n[32], der[80];
	uint8_t der00[] = { 0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00 };
	size_t sl, dl = 0, l;

	(void)state;
	sl = sign_ex(ec256, JWS_ALG_ES256, msg, MSG_LEN, sig, sizeof(sig), -1,
	    NULL, der, &dl);
	assert_int_equal(verify(k, JWS_ALG_ES256, msg, MSG_LEN, sig, sl), 0);

	/* All zero: r = s = 0. */
	memset(s2, 0, 64);
	assert_int_equal(verify(k, JWS_ALG_ES256, msg, MSG_LEN, s2, 64), -1);
	/* r = 0 with the real s; s = 0 with the real r. */
	memcpy(s2, sig, 64);
	memset(s2, 0, 32);
	assert_int_equal(verify(k, JWS_ALG_ES256, msg, MSG_LEN, s2, 64), -1);
	memcpy(s2, sig, 64);
	memset(s2 + 32, 0, 32);
	assert_int_equal(verify(k, JWS_ALG_ES256, msg, MSG_LEN, s2, 64), -1);
	/* r = n, s = n, r = n + 1, and r = s = n - 1 (in range, wrong). */
	p256_order(n, 0);
	memcpy(s2, n, 32);
	memcpy(s2 + 32, sig + 32, 32);
	assert_int_equal(verify(k, JWS_ALG_ES256, msg, MSG_LEN, s2, 64), -1);
	memcpy(s2, sig, 32);
	memcpy(s2 + 32, n, 32);
	assert_int_equal(verify(k, JWS_ALG_ES256, msg, MSG_LEN, s2, 64), -1);
	memcpy(s2, n, 32);
	memcpy(s2 + 32, n, 32);
	assert_int_equal(verify(k, JWS_ALG_ES256, msg, MSG_LEN, s2, 64), -1);
	p256_order(n, 1);
	memcpy(s2, n, 32);
	memcpy(s2 + 32, sig + 32, 32);
	assert_int_equal(verify(k, JWS_ALG_ES256, msg, MSG_LEN, s2, 64), -1);
	p256_order(n, -1);
	memcpy(s2, n, 32);
	memcpy(s2 + 32, n, 32);
	assert_int_equal(verify(k, JWS_ALG_ES256, msg, MSG_LEN, s2, 64), -1);
	/* r + n wraps to the valid r if someone reduces mod n: never. */
	memset(s2, 0xff, 64);
	assert_int_equal(verify(k, JWS_ALG_ES256, msg, MSG_LEN, s2, 64), -1);

	/* DER in place of R||S: the real one, and "MAYCAQACAQA" (r=s=0). */
	assert_int_equal(verify(k, JWS_ALG_ES256, msg, MSG_LEN, der, dl), -1);
	assert_int_equal(verify(k, JWS_ALG_ES256, msg, MSG_LEN, der00,
	    sizeof(der00)), -1);
	l = (size_t)b64url_decode("MAYCAQACAQA", 11, s2, sizeof(s2));
	assert_int_equal(l, sizeof(der00));
	assert_memory_equal(s2, der00, l);

	/* Lengths: 63 (truncated), 65 (trailing zero), 65 (leading zero). */
	assert_int_equal(verify(k, JWS_ALG_ES256, msg, MSG_LEN, sig, 63), -1);
	memcpy(s2, sig, 64);
	s2[64] = 0;
	assert_int_equal(verify(k, JWS_ALG_ES256, msg, MSG_LEN, s2, 65), -1);
	s2[0] = 0;
	memcpy(s2 + 1, sig, 64);
	assert_int_equal(verify(k, JWS_ALG_ES256, msg, MSG_LEN, s2, 65), -1);
	/* 66 bytes: R and S each with a leading zero. */
	s2[0] = 0;
	memcpy(s2 + 1, sig, 32);
	s2[33] = 0;
	memcpy(s2 + 34, sig + 32, 32);
	assert_int_equal(verify(k, JWS_ALG_ES256, msg, MSG_LEN, s2, 66), -1);
	/* An ES512-sized all-zero signature. */
	memset(s2, 0, 132);
	assert_int_equal(verify(k, JWS_ALG_ES256, msg, MSG_LEN, s2, 132), -1);
	crypto_key_free(k);
}

static void
test_ed25519(void **state)
{
	/* RFC 8032 §7.1 TEST 1: empty message. */
	static const char pk_hex[] =
	    "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
	static const char sig_hex[] =
	    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
	    "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";
	uint8_t pk[32], sig[64], big[65];
	struct crypto_key *k, *k2;
	const char *why;

	(void)state;
	ts_hex(pk_hex, pk, sizeof(pk));
	ts_hex(sig_hex, sig, sizeof(sig));
	k = crypto_key_ed25519(pk, 32, &why);
	assert_non_null(k);
	assert_string_equal(crypto_key_desc(k), "Ed25519");
	assert_int_equal(crypto_key_algs(k), JWS_ALG_BIT(JWS_ALG_EDDSA));
	assert_int_equal(verify(k, JWS_ALG_EDDSA, NULL, 0, sig, 64), 0);
	assert_int_equal(verify(k, JWS_ALG_EDDSA, (const uint8_t *)"", 0, sig,
	    64), 0);
	assert_int_equal(verify(k, JWS_ALG_EDDSA, msg, 1, sig, 64), -1);
	assert_int_equal(verify(k, JWS_ALG_EDDSA, NULL, 0, sig, 63), -1);
	memcpy(big, sig, 64);
	big[64] = 0;
	assert_int_equal(verify(k, JWS_ALG_EDDSA, NULL, 0, big, 65), -1);
	sig[0] ^= 1;
	assert_int_equal(verify(k, JWS_ALG_EDDSA, NULL, 0, sig, 64), -1);
	crypto_key_free(k);

	assert_null(crypto_key_ed25519(pk, 31, &why));
	assert_string_equal(why, "Ed25519 public key is not 32 bytes");
	assert_null(crypto_key_ed25519(pk, 33, &why));

	/* A generated key, and a signature by another key. */
	k = pub(ed25519);
	assert_int_equal(sign(ed25519, JWS_ALG_EDDSA, sig, sizeof(sig)), 64);
	assert_int_equal(verify(k, JWS_ALG_EDDSA, msg, MSG_LEN, sig, 64), 0);
	k2 = crypto_key_ed25519(pk, 32, &why);
	assert_non_null(k2);
	assert_int_equal(verify(k2, JWS_ALG_EDDSA, msg, MSG_LEN, sig, 64), -1);
	crypto_key_free(k);
	crypto_key_free(k2);
}

/* S3: a key verifies only the algorithms of its type. */
static void
test_alg_key_mismatch(void **state)
{
	struct crypto_key *rsa = pub(rsa2048), *ec = pub(ec256);
	struct crypto_key *ed = pub(ed25519), *hm;
	uint8_t secret[64], sig[512];
	const char *why;
	size_t sl;
	int a;

	(void)state;
	memset(secret, 0x5a, sizeof(secret));
	hm = crypto_key_hmac(secret, sizeof(secret), &why);
	assert_non_null(hm);
	for (a = 0; a < JWS_ALG_COUNT; a++) {
		assert_int_equal(crypto_key_allows(rsa, (enum jws_alg)a),
		    a <= JWS_ALG_PS512);
		assert_int_equal(crypto_key_allows(ec, (enum jws_alg)a),
		    a == JWS_ALG_ES256);
		assert_int_equal(crypto_key_allows(ed, (enum jws_alg)a),
		    a == JWS_ALG_EDDSA);
		assert_int_equal(crypto_key_allows(hm, (enum jws_alg)a),
		    a >= JWS_ALG_HS256);
	}
	assert_int_equal(crypto_key_allows(rsa, JWS_ALG_COUNT), 0);
	assert_int_equal(crypto_key_allows(rsa, (enum jws_alg)-1), 0);
	assert_int_equal(crypto_key_allows(NULL, JWS_ALG_RS256), 0);

	/* A valid ES256 signature presented to the other key types. */
	sl = sign(ec256, JWS_ALG_ES256, sig, sizeof(sig));
	assert_int_equal(verify(rsa, JWS_ALG_ES256, msg, MSG_LEN, sig, sl), -1);
	assert_int_equal(verify(ed, JWS_ALG_ES256, msg, MSG_LEN, sig, sl), -1);
	assert_int_equal(verify(hm, JWS_ALG_ES256, msg, MSG_LEN, sig, sl), -1);
	assert_int_equal(verify(ec, JWS_ALG_ES256, msg, MSG_LEN, sig, sl), 0);
	/* A valid RS256 signature under EC/Ed/HMAC keys. */
	sl = sign(rsa2048, JWS_ALG_RS256, sig, sizeof(sig));
	assert_int_equal(verify(ec, JWS_ALG_RS256, msg, MSG_LEN, sig, sl), -1);
	assert_int_equal(verify(ed, JWS_ALG_RS256, msg, MSG_LEN, sig, sl), -1);
	assert_int_equal(verify(hm, JWS_ALG_RS256, msg, MSG_LEN, sig, sl), -1);
	/* Out-of-range alg values and NULL arguments. */
	assert_int_equal(verify(rsa, JWS_ALG_COUNT, msg, MSG_LEN, sig, sl), -1);
	assert_int_equal(verify(rsa, (enum jws_alg)99, msg, MSG_LEN, sig, sl),
	    -1);
	assert_int_equal(verify(NULL, JWS_ALG_RS256, msg, MSG_LEN, sig, sl), -1);
	assert_int_equal(verify(rsa, JWS_ALG_RS256, msg, MSG_LEN, NULL, sl), -1);
	assert_int_equal(verify(rsa, JWS_ALG_RS256, NULL, 5, sig, sl), -1);
	crypto_key_free(rsa);
	crypto_key_free(ec);
	crypto_key_free(ed);
	crypto_key_free(hm);
}

/*
 * S2: CVE-2016-10555.  The attacker HMACs the token with the RSA public
 * key bytes they know (PEM with and without a trailing newline, DER, the
 * modulus, the JWK-ish text).  The tag is genuine for an HMAC key made of
 * those bytes, but our RSA key never verifies HS*.
 */
static void
test_rs_hs_confusion(void **state)
{
	struct crypto_key *rsa = pub(rsa2048), *as_hmac;
	uint8_t tag[32], der_buf[600], n[300];
	unsigned char *der = der_buf;
	const char *why;
	size_t pem_len, nl;
	char *pem = pem_of(rsa2048, &pem_len);
	struct { const void *p; size_t len; } secrets[4];
	unsigned int tl;
	int dl, i;

	(void)state;
	dl = i2d_PUBKEY(rsa2048, &der);
	assert_true(dl > 0 && (size_t)dl <= sizeof(der_buf));
	nl = bn_out(rsa2048, OSSL_PKEY_PARAM_RSA_N, n, 0);
	secrets[0].p = pem; secrets[0].len = pem_len;
	secrets[1].p = pem; secrets[1].len = pem_len - 1;	/* no '\n' */
	secrets[2].p = der_buf; secrets[2].len = (size_t)dl;
	secrets[3].p = n; secrets[3].len = nl;
	for (i = 0; i < 4; i++) {
		assert_non_null(HMAC(EVP_sha256(), secrets[i].p,
		    (int)secrets[i].len, msg, MSG_LEN, tag, &tl));
		assert_int_equal(tl, 32);
		/* The forgery is a real HS256 tag for those bytes... */
		as_hmac = crypto_key_hmac(secrets[i].p, secrets[i].len, &why);
		assert_non_null(as_hmac);
		assert_int_equal(verify(as_hmac, JWS_ALG_HS256, msg, MSG_LEN,
		    tag, 32), 0);
		crypto_key_free(as_hmac);
		/* ...but the RSA key refuses HS256 outright. */
		assert_int_equal(crypto_key_allows(rsa, JWS_ALG_HS256), 0);
		assert_int_equal(verify(rsa, JWS_ALG_HS256, msg, MSG_LEN, tag,
		    32), -1);
	}
	free(pem);
	crypto_key_free(rsa);
}

/* S16 and RFC 4231 §4.7 (131-byte key), RFC 7515 A.1. */
static void
test_hmac(void **state)
{
	static const char *const tags[3] = {
	    "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
	    "4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c6"
	    "0c2ef6ab4030fe8296248df163f44952",
	    "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f352"
	    "6b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598",
	};
	static const char data[] =
	    "Test Using Larger Than Block-Size Key - Hash Key First";
	static const char a1_k[] = "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr"
	    "_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";
	static const char a1_tok[] = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
	    ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcG"
	    "xlLmNvbS9pc19yb290Ijp0cnVlfQ";
	static const char a1_sig[] = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
	uint8_t key[131], tag[64], t2[65], a1key[64], a1tag[32];
	struct crypto_key *k;
	const char *why;
	size_t hl;
	int i;

	(void)state;
	memset(key, 0xaa, sizeof(key));
	k = crypto_key_hmac(key, sizeof(key), &why);
	assert_non_null(k);
	assert_string_equal(crypto_key_desc(k), "HMAC-131");
	for (i = 0; i < 3; i++) {
		enum jws_alg alg = (enum jws_alg)(JWS_ALG_HS256 + i);

		hl = ts_hex(tags[i], tag, sizeof(tag));
		assert_int_equal(hl, jwa_hash_len(alg));
		assert_int_equal(verify(k, alg, (const uint8_t *)data,
		    strlen(data), tag, hl), 0);
		/* First and last byte flipped. */
		memcpy(t2, tag, hl);
		t2[0] ^= 0x01;
		assert_int_equal(verify(k, alg, (const uint8_t *)data,
		    strlen(data), t2, hl), -1);
		memcpy(t2, tag, hl);
		t2[hl - 1] ^= 0x80;
		assert_int_equal(verify(k, alg, (const uint8_t *)data,
		    strlen(data), t2, hl), -1);
		/* Truncated (even to the prefix that matches), extended. */
		assert_int_equal(verify(k, alg, (const uint8_t *)data,
		    strlen(data), tag, hl - 1), -1);
		assert_int_equal(verify(k, alg, (const uint8_t *)data,
		    strlen(data), tag, 16), -1);
		assert_int_equal(verify(k, alg, (const uint8_t *)data,
		    strlen(data), tag, 0), -1);
		memcpy(t2, tag, hl);
		t2[hl] = 0;
		assert_int_equal(verify(k, alg, (const uint8_t *)data,
		    strlen(data), t2, hl + 1), -1);
		/* The HS256 tag is not an HS384 tag prefix or vice versa. */
		if (i > 0)
			assert_int_equal(verify(k, JWS_ALG_HS256,
			    (const uint8_t *)data, strlen(data), tag, 32), -1);
	}
	crypto_key_free(k);

	/* RFC 7515 A.1 (64-byte key; CR LF inside the JSON). */
	assert_int_equal(b64url_decode(a1_k, strlen(a1_k), a1key,
	    sizeof(a1key)), 64);
	assert_int_equal(b64url_decode(a1_sig, strlen(a1_sig), a1tag,
	    sizeof(a1tag)), 32);
	k = crypto_key_hmac(a1key, 64, &why);
	assert_non_null(k);
	assert_int_equal(verify(k, JWS_ALG_HS256, (const uint8_t *)a1_tok,
	    strlen(a1_tok), a1tag, 32), 0);
	assert_int_equal(verify(k, JWS_ALG_HS512, (const uint8_t *)a1_tok,
	    strlen(a1_tok), a1tag, 32), -1);
	crypto_key_free(k);
}

/* S17 (HMAC part): secrets shorter than 32 bytes, or than the hash. */
static void
test_hmac_key_length(void **state)
{
	uint8_t s[64], tag[64];
	struct crypto_key *k;
	const char *why = NULL;
	unsigned int tl;

	(void)state;
	memset(s, 0x11, sizeof(s));
	assert_null(crypto_key_hmac(s, 0, &why));
	assert_string_equal(why, "HMAC secret shorter than 32 bytes");
	assert_null(crypto_key_hmac(s, 31, &why));
	assert_string_equal(why, "HMAC secret shorter than 32 bytes");

	/* 32 bytes: HS256 only; a correct HS384 tag is still refused. */
	k = crypto_key_hmac(s, 32, &why);
	assert_non_null(k);
	assert_int_equal(crypto_key_algs(k), JWS_ALG_BIT(JWS_ALG_HS256));
	assert_non_null(HMAC(EVP_sha384(), s, 32, msg, MSG_LEN, tag, &tl));
	assert_int_equal(verify(k, JWS_ALG_HS384, msg, MSG_LEN, tag, 48), -1);
	assert_non_null(HMAC(EVP_sha256(), s, 32, msg, MSG_LEN, tag, &tl));
	assert_int_equal(verify(k, JWS_ALG_HS256, msg, MSG_LEN, tag, 32), 0);
	crypto_key_free(k);

	/* 47 bytes: no HS384; 48: HS384 but not HS512; 64: all. */
	k = crypto_key_hmac(s, 47, &why);
	assert_int_equal(crypto_key_algs(k), JWS_ALG_BIT(JWS_ALG_HS256));
	crypto_key_free(k);
	k = crypto_key_hmac(s, 48, &why);
	assert_int_equal(crypto_key_algs(k), JWS_ALG_BIT(JWS_ALG_HS256) |
	    JWS_ALG_BIT(JWS_ALG_HS384));
	assert_non_null(HMAC(EVP_sha384(), s, 48, msg, MSG_LEN, tag, &tl));
	assert_int_equal(verify(k, JWS_ALG_HS384, msg, MSG_LEN, tag, 48), 0);
	crypto_key_free(k);
	k = crypto_key_hmac(s, 64, &why);
	assert_int_equal(crypto_key_algs(k), JWS_ALG_HMAC_MASK);
	assert_non_null(HMAC(EVP_sha512(), s, 64, msg, MSG_LEN, tag, &tl));
	assert_int_equal(verify(k, JWS_ALG_HS512, msg, MSG_LEN, tag, 64), 0);
	crypto_key_free(k);
}

/* The Wycheproof ROCA modulus (json_web_key_test.json, tc 7). */
static const char roca_n[] =
    "AanFpofbj7KjD4Lf-N2hVMKR7yewSyXhhbirIMTGpfYEhZ_lnt5UoK98DnKIgArXGTu3Ma"
    "W_HhFw16HGaTDUHqPrId7fe4r11CqRw09yBFuW79V8sYIwHdzCaWflUI6auImYbVfoN9_n"
    "D5n8N8SY9DwXw7mwZM9wREPXoDPgOoIWl6q_MPsp7n0zs3Z5ZaiQWOOzl1S9OhwAfSiiOw"
    "z6efnXEaxuTEtPd7BjSx7NaFka8Dx9U7YqXy2RFj1O9PjyaDGuRh7YXsX3iMUSP_wSyHQg"
    "_c_qHRtKUsNSGCT7OZg0hzm2KphtjnayKJvC64vAbROBR4Ubg6Bxg9IQVZ-QYyE";

/* S17 (RSA part). */
static void
test_rsa_weak_keys(void **state)
{
	static const uint8_t e65537[] = { 0x01, 0x00, 0x01 };
	uint8_t n[1100], e[8];
	EVP_PKEY *small;
	struct crypto_key *k;
	const char *why = NULL;
	size_t nl, i;
	ssize_t rl;

	(void)state;
	/* 1024-bit key. */
	small = EVP_RSA_gen(1024);
	assert_non_null(small);
	nl = bn_out(small, OSSL_PKEY_PARAM_RSA_N, n, 0);
	assert_null(crypto_key_rsa(n, nl, e65537, 3, &why));
	assert_string_equal(why, "RSA modulus shorter than 2048 bits");
	EVP_PKEY_free(small);

	/* A real 2048-bit modulus with bad exponents. */
	nl = bn_out(rsa2048, OSSL_PKEY_PARAM_RSA_N, n, 0);
	e[0] = 1;
	assert_null(crypto_key_rsa(n, nl, e, 1, &why));	/* e = 1 */
	assert_string_equal(why, "RSA exponent outside [3, 2^32-1]");
	e[0] = 0;
	assert_null(crypto_key_rsa(n, nl, e, 1, &why));	/* e = 0 */
	assert_null(crypto_key_rsa(n, nl, e, 0, &why));	/* empty */
	e[0] = 2;
	assert_null(crypto_key_rsa(n, nl, e, 1, &why));
	assert_string_equal(why, "RSA exponent outside [3, 2^32-1]");
	memcpy(e, "\x01\x00\x00", 3);			/* 65536 */
	assert_null(crypto_key_rsa(n, nl, e, 3, &why));
	assert_string_equal(why, "RSA exponent is even");
	memcpy(e, "\x01\x00\x00\x00\x01", 5);			/* 2^32 + 1 */
	assert_null(crypto_key_rsa(n, nl, e, 5, &why));
	assert_string_equal(why, "RSA exponent outside [3, 2^32-1]");
	/* Leading zeros are tolerated on both. */
	memcpy(e, "\x00\x00\x01\x00\x01", 5);
	k = crypto_key_rsa(n, nl, e, 5, &why);
	assert_non_null(k);
	crypto_key_free(k);
	e[0] = 3;						/* e = 3 */
	k = crypto_key_rsa(n, nl, e, 1, &why);
	assert_non_null(k);
	crypto_key_free(k);
	memcpy(e, "\xff\xff\xff\xff", 4);			/* 2^32 - 1 */
	k = crypto_key_rsa(n, nl, e, 4, &why);
	assert_non_null(k);
	crypto_key_free(k);

	/* Even modulus; modulus with factor 3; too long; empty. */
	n[nl - 1] &= 0xfe;
	assert_null(crypto_key_rsa(n, nl, e65537, 3, &why));
	assert_string_equal(why, "RSA modulus is even");
	memset(n, 0xff, 256);		/* 2^2048 - 1 = 3 * 5 * 17 * ... */
	assert_null(crypto_key_rsa(n, 256, e65537, 3, &why));
	assert_string_equal(why, "RSA modulus has a small prime factor");
	memset(n, 0xff, 1025);
	assert_null(crypto_key_rsa(n, 1025, e65537, 3, &why));
	assert_string_equal(why, "RSA modulus longer than 8192 bits");
	assert_null(crypto_key_rsa(n, 0, e65537, 3, &why));
	assert_string_equal(why, "RSA modulus shorter than 2048 bits");
	for (i = 0; i < 300; i++)
		n[i] = 0;
	assert_null(crypto_key_rsa(n, 300, e65537, 3, &why));

	/* ROCA (CVE-2017-15361). */
	rl = b64url_decode(roca_n, strlen(roca_n), n, sizeof(n));
	assert_true(rl > 256);
	assert_null(crypto_key_rsa(n, (size_t)rl, e65537, 3, &why));
	assert_string_equal(why,
	    "RSA modulus has the ROCA fingerprint (CVE-2017-15361)");
	assert_int_equal(ERR_peek_error(), 0);
}

/*
 * P-521 coordinates one byte short (the leading zero byte dropped, seen
 * from Keycloak): the same key as the full form; two bytes short, or a
 * short coordinate whose value is not the key's, is refused.
 */
static void
test_ec_p521_short_coordinate(void **state)
{
	uint8_t x[66], y[66], fp_full[32], fp_short[32];
	struct crypto_key *k;
	const char *why = NULL;
	EVP_PKEY *pk = NULL;
	int tries;

	(void)state;
	/* A key whose x starts with a zero byte: half of them do. */
	for (tries = 0; tries < 200; tries++) {
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
		assert_non_null(pk);
		bn_out(pk, OSSL_PKEY_PARAM_EC_PUB_X, x, 66);
		bn_out(pk, OSSL_PKEY_PARAM_EC_PUB_Y, y, 66);
		if (x[0] == 0)
			break;
		EVP_PKEY_free(pk);
		pk = NULL;
	}
	assert_non_null(pk);
	k = crypto_key_ec(CRYPTO_CURVE_P521, x, 66, y, 66, &why);
	assert_non_null(k);
	crypto_key_fingerprint(k, fp_full);
	crypto_key_free(k);
	k = crypto_key_ec(CRYPTO_CURVE_P521, x + 1, 65, y, 66, &why);
	assert_non_null(k);
	crypto_key_fingerprint(k, fp_short);
	crypto_key_free(k);
	assert_memory_equal(fp_full, fp_short, 32);
	/* Two bytes short: refused by length. */
	assert_null(crypto_key_ec(CRYPTO_CURVE_P521, x + 2, 64, y, 66, &why));
	assert_string_equal(why, "EC coordinate length does not match the curve");
	/* 65 bytes that are not the key's x with a zero in front (the last
	 * 65 bytes of y's place): not on the curve. */
	assert_null(crypto_key_ec(CRYPTO_CURVE_P521, x, 65, y, 66, &why));
	assert_string_equal(why, "EC point is not on the curve");
	EVP_PKEY_free(pk);
}

static void
test_ec_bad_points(void **state)
{
	uint8_t x[66], y[66];
	struct crypto_key *k;
	const char *why = NULL;

	(void)state;
	bn_out(ec256, OSSL_PKEY_PARAM_EC_PUB_X, x, 32);
	bn_out(ec256, OSSL_PKEY_PARAM_EC_PUB_Y, y, 32);
	k = crypto_key_ec(CRYPTO_CURVE_P256, x, 32, y, 32, &why);
	assert_non_null(k);
	crypto_key_free(k);
	/* Wrong length for the curve, either coordinate (one byte short is
	 * a P-521 leniency only). */
	assert_null(crypto_key_ec(CRYPTO_CURVE_P256, x, 31, y, 32, &why));
	assert_string_equal(why, "EC coordinate length does not match the curve");
	assert_null(crypto_key_ec(CRYPTO_CURVE_P256, x, 32, y, 33, &why));
	assert_null(crypto_key_ec(CRYPTO_CURVE_P384, x, 32, y, 32, &why));
	assert_null(crypto_key_ec((enum crypto_curve)7, x, 32, y, 32, &why));
	assert_string_equal(why, "unsupported EC curve");
	/* Off the curve (invalid-curve attack input). */
	y[31] ^= 1;
	assert_null(crypto_key_ec(CRYPTO_CURVE_P256, x, 32, y, 32, &why));
	assert_string_equal(why, "EC point is not on the curve");
	/* (0, 0) and coordinates >= p. */
	memset(x, 0, 32);
	memset(y, 0, 32);
	assert_null(crypto_key_ec(CRYPTO_CURVE_P256, x, 32, y, 32, &why));
	memset(x, 0xff, 32);
	memset(y, 0xff, 32);
	assert_null(crypto_key_ec(CRYPTO_CURVE_P256, x, 32, y, 32, &why));
	assert_int_equal(ERR_peek_error(), 0);

	assert_int_equal(crypto_curve_parse("P-256", 5), CRYPTO_CURVE_P256);
	assert_int_equal(crypto_curve_parse("P-521", 5), CRYPTO_CURVE_P521);
	assert_int_equal(crypto_curve_parse("P-25", 4), -1);
	assert_int_equal(crypto_curve_parse("p-256", 5), -1);
	assert_int_equal(crypto_curve_parse("secp256k1", 9), -1);
	assert_int_equal(crypto_curve_field_len(CRYPTO_CURVE_P521), 66);
}

static void
test_pem(void **state)
{
	EVP_PKEY *pks[5] = { rsa2048, ec256, ec384, ec521, ed25519 };
	struct crypto_key *a, *b;
	const char *why = NULL;
	uint8_t fa[32], fb[32];
	EVP_PKEY *other;
	size_t len;
	char *pem;
	int i;

	(void)state;
	for (i = 0; i < 5; i++) {
		pem = pem_of(pks[i], &len);
		a = crypto_key_from_pem(pem, len, &why);
		assert_non_null(a);
		b = pub(pks[i]);
		crypto_key_fingerprint(a, fa);
		crypto_key_fingerprint(b, fb);
		assert_memory_equal(fa, fb, 32);
		assert_int_equal(crypto_key_algs(a), crypto_key_algs(b));
		assert_string_equal(crypto_key_desc(a), crypto_key_desc(b));
		crypto_key_free(a);
		crypto_key_free(b);
		/* Truncated PEM. */
		assert_null(crypto_key_from_pem(pem, len / 2, &why));
		assert_string_equal(why, "no PEM PUBLIC KEY block");
		free(pem);
	}
	assert_null(crypto_key_from_pem("", 0, &why));
	assert_null(crypto_key_from_pem("garbage", 7, &why));
	assert_string_equal(why, "no PEM PUBLIC KEY block");

	/* Weak or unsupported keys in PEM: same rules as components. */
	other = EVP_RSA_gen(1024);
	pem = pem_of(other, &len);
	assert_null(crypto_key_from_pem(pem, len, &why));
	assert_string_equal(why, "RSA modulus shorter than 2048 bits");
	free(pem);
	EVP_PKEY_free(other);
	other = EVP_EC_gen("secp256k1");
	pem = pem_of(other, &len);
	assert_null(crypto_key_from_pem(pem, len, &why));
	assert_string_equal(why, "unsupported EC curve");
	free(pem);
	EVP_PKEY_free(other);
	other = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
	pem = pem_of(other, &len);
	assert_null(crypto_key_from_pem(pem, len, &why));
	assert_string_equal(why, "unsupported key type in PEM");
	free(pem);
	EVP_PKEY_free(other);
	assert_int_equal(ERR_peek_error(), 0);
}

static void
test_fingerprint(void **state)
{
	struct crypto_key *a = pub(rsa2048), *b = pub(rsa2048), *c = pub(ec256);
	uint8_t fa[32], fb[32], fc[32], h[32], s[40];
	unsigned char *der = NULL;
	const char *why;
	int dl;

	(void)state;
	crypto_key_fingerprint(a, fa);
	crypto_key_fingerprint(b, fb);
	crypto_key_fingerprint(c, fc);
	assert_memory_equal(fa, fb, 32);
	assert_memory_not_equal(fa, fc, 32);
	/* It is the SHA-256 of the DER SubjectPublicKeyInfo. */
	dl = i2d_PUBKEY(rsa2048, &der);
	assert_true(dl > 0);
	assert_int_equal(crypto_sha256(der, (size_t)dl, h), 0);
	assert_memory_equal(fa, h, 32);
	OPENSSL_free(der);
	crypto_key_free(a);
	crypto_key_free(b);
	crypto_key_free(c);

	/* HMAC: stable, secret-dependent, and not the bare secret hash. */
	memset(s, 7, sizeof(s));
	a = crypto_key_hmac(s, sizeof(s), &why);
	b = crypto_key_hmac(s, sizeof(s), &why);
	s[39] = 8;
	c = crypto_key_hmac(s, sizeof(s), &why);
	crypto_key_fingerprint(a, fa);
	crypto_key_fingerprint(b, fb);
	crypto_key_fingerprint(c, fc);
	assert_memory_equal(fa, fb, 32);
	assert_memory_not_equal(fa, fc, 32);
	s[39] = 7;
	assert_int_equal(crypto_sha256(s, sizeof(s), h), 0);
	assert_memory_not_equal(fa, h, 32);
	crypto_key_free(a);
	crypto_key_free(b);
	crypto_key_free(c);
}

static void
test_hashes_random(void **state)
{
	uint8_t h[32], h1[20], want[32], r1[32], r2[32];

	(void)state;
	assert_int_equal(crypto_sha256("abc", 3, h), 0);
	ts_hex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
	    want, sizeof(want));
	assert_memory_equal(h, want, 32);
	assert_int_equal(crypto_sha256(NULL, 0, h), 0);
	ts_hex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	    want, sizeof(want));
	assert_memory_equal(h, want, 32);
	assert_int_equal(crypto_sha1("abc", 3, h1), 0);
	ts_hex("a9993e364706816aba3e25717850c26c9cd0d89d", want, sizeof(want));
	assert_memory_equal(h1, want, 20);
	assert_int_equal(crypto_random(r1, sizeof(r1)), 0);
	assert_int_equal(crypto_random(r2, sizeof(r2)), 0);
	assert_memory_not_equal(r1, r2, 32);
	assert_int_equal(crypto_random(r1, 0), 0);
}


/*
 * crypto_verify_sha256: the caller's digest is used for SHA-256 algorithms
 * (a wrong one fails a valid signature: proof it is used, not recomputed)
 * and ignored for the others.
 */
static void
test_verify_sha256_digest(void **state)
{
	EVP_PKEY *pk = EVP_RSA_gen(2048);
	static const uint8_t si[] = "header.payload";
	uint8_t sig[256], h[32], bad[32];
	size_t sl = sizeof(sig);
	struct crypto_key *k;
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	const char *why;
	BIO *bio = BIO_new(BIO_s_mem());
	char *pem;
	long pl;

	(void)state;
	assert_non_null(pk);
	assert_non_null(m);
	assert_non_null(bio);
	assert_int_equal(PEM_write_bio_PUBKEY(bio, pk), 1);
	pl = BIO_get_mem_data(bio, &pem);
	k = crypto_key_from_pem(pem, (size_t)pl, &why);
	assert_non_null(k);
	assert_int_equal(EVP_DigestSignInit(m, NULL, EVP_sha256(), NULL, pk), 1);
	assert_int_equal(EVP_DigestSign(m, sig, &sl, si, sizeof(si) - 1), 1);
	assert_int_equal(crypto_sha256(si, sizeof(si) - 1, h), 0);
	memcpy(bad, h, 32);
	bad[31] ^= 1;
	assert_int_equal(crypto_verify_sha256(k, JWS_ALG_RS256, si,
	    sizeof(si) - 1, h, sig, sl), 0);
	assert_int_equal(crypto_verify_sha256(k, JWS_ALG_RS256, si,
	    sizeof(si) - 1, NULL, sig, sl), 0);
	assert_int_equal(crypto_verify_sha256(k, JWS_ALG_RS256, si,
	    sizeof(si) - 1, bad, sig, sl), -1);
	/* RS384: the SHA-256 digest is not its hash and is ignored. */
	EVP_MD_CTX_reset(m);
	sl = sizeof(sig);
	assert_int_equal(EVP_DigestSignInit(m, NULL, EVP_sha384(), NULL, pk), 1);
	assert_int_equal(EVP_DigestSign(m, sig, &sl, si, sizeof(si) - 1), 1);
	assert_int_equal(crypto_verify_sha256(k, JWS_ALG_RS384, si,
	    sizeof(si) - 1, bad, sig, sl), 0);
	crypto_key_free(k);
	BIO_free(bio);
	EVP_MD_CTX_free(m);
	EVP_PKEY_free(pk);
}

/*
 * RFC 8017 §5.2.2 step 1: a signature representative s' = s + n has the
 * same s'^e mod n as a valid s, so only the range check refuses it.  Keys
 * are drawn until n leaves room (top byte <= 0xf0), then messages until
 * s + n still fits in k bytes (each try succeeds with p >= 1/16).
 */
static void
test_rsa_signature_not_reduced(void **state)
{
	EVP_PKEY *pk = NULL;
	BIGNUM *n = NULL, *sn = BN_new();
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	uint8_t text[32], sig[256], big[256];
	struct crypto_key *k;
	size_t sl = 0;
	int tries;

	(void)state;
	assert_non_null(sn);
	assert_non_null(m);
	for (tries = 0; tries < 50; tries++) {
		EVP_PKEY_free(pk);
		BN_free(n);
		n = NULL;
		assert_non_null(pk = EVP_RSA_gen(2048));
		assert_int_equal(EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_N,
		    &n), 1);
		assert_int_equal(BN_bn2binpad(n, big, 256), 256);
		if (big[0] <= 0xf0)
			break;
	}
	assert_true(big[0] <= 0xf0);
	k = pub(pk);
	for (tries = 0; tries < 1000; tries++) {
		int len = snprintf((char *)text, sizeof(text), "h.p%d", tries);

		EVP_MD_CTX_reset(m);
		sl = sizeof(sig);
		assert_int_equal(EVP_DigestSignInit(m, NULL, EVP_sha256(), NULL,
		    pk), 1);
		assert_int_equal(EVP_DigestSign(m, sig, &sl, text, (size_t)len), 1);
		assert_non_null(BN_bin2bn(sig, (int)sl, sn));
		assert_int_equal(BN_add(sn, sn, n), 1);
		if (BN_num_bytes(sn) <= 256)
			break;
	}
	assert_true(BN_num_bytes(sn) <= 256);
	assert_int_equal(BN_bn2binpad(sn, big, 256), 256);
	assert_int_equal(crypto_verify(k, JWS_ALG_RS256, text,
	    strlen((char *)text), sig, sl), 0);
	assert_int_equal(crypto_verify(k, JWS_ALG_RS256, text,
	    strlen((char *)text), big, sizeof(big)), -1);
	crypto_key_free(k);
	BN_free(sn);
	BN_free(n);
	EVP_MD_CTX_free(m);
	EVP_PKEY_free(pk);
}

/*
 * Each thread re-uses one verify context per key and algorithm (crypto.c
 * thread_vctx()).  A re-used context must answer as a fresh one would:
 * after a failure, after another algorithm on the same key, and for a new
 * key that malloc places where a freed one was (slots are matched by the
 * key's serial, never by its address: a slot found by address would still
 * verify with the freed key's public key).
 */
static void
test_verify_context_reuse(void **state)
{
	EVP_PKEY *other = EVP_RSA_gen(2048);
	uint8_t s_a[512], s_b[512], s_ps[512], s_es[128];
	size_t la, lb, lps, les;
	struct crypto_key *k, *k2;
	const void *old;
	int i, same_addr = 0;

	(void)state;
	assert_non_null(other);
	la = sign(rsa2048, JWS_ALG_RS256, s_a, sizeof(s_a));
	lps = sign(rsa2048, JWS_ALG_PS256, s_ps, sizeof(s_ps));
	lb = sign(other, JWS_ALG_RS256, s_b, sizeof(s_b));
	les = sign(ec256, JWS_ALG_ES256, s_es, sizeof(s_es));
	k = pub(rsa2048);
	for (i = 0; i < 4; i++) {
		s_a[10] ^= 1;
		assert_int_equal(verify(k, JWS_ALG_RS256, msg, MSG_LEN, s_a, la),
		    -1);
		s_a[10] ^= 1;
		assert_int_equal(verify(k, JWS_ALG_RS256, msg, MSG_LEN, s_a, la),
		    0);
		assert_int_equal(verify(k, JWS_ALG_PS256, msg, MSG_LEN, s_ps,
		    lps), 0);
		assert_int_equal(verify(k, JWS_ALG_PS256, msg, MSG_LEN, s_a, la),
		    -1);
		assert_int_equal(verify(k, JWS_ALG_RS256, msg, MSG_LEN, s_b, lb),
		    -1);
	}
	/* Free and rebuild until a key lands at the old address. */
	for (i = 0; i < 8 && !same_addr; i++) {
		old = k;
		crypto_key_free(k);
		k2 = pub(other);
		same_addr = ((const void *)k2 == old);
		assert_int_equal(verify(k2, JWS_ALG_RS256, msg, MSG_LEN, s_a,
		    la), -1);
		assert_int_equal(verify(k2, JWS_ALG_RS256, msg, MSG_LEN, s_b,
		    lb), 0);
		crypto_key_free(k2);
		k = pub(rsa2048);
		assert_int_equal(verify(k, JWS_ALG_RS256, msg, MSG_LEN, s_a, la),
		    0);
	}
	if (!same_addr)
		print_message("note: no key landed at a freed key's address\n");
	crypto_key_free(k);
	/* Many keys: slots are taken over, answers stay right. */
	for (i = 0; i < 200; i++) {
		struct crypto_key *e = pub(ec256);

		assert_int_equal(verify(e, JWS_ALG_ES256, msg, MSG_LEN, s_es,
		    les), 0);
		s_es[0] ^= 0x40;
		assert_int_equal(verify(e, JWS_ALG_ES256, msg, MSG_LEN, s_es,
		    les), -1);
		s_es[0] ^= 0x40;
		crypto_key_free(e);
	}
	EVP_PKEY_free(other);
}

/* One key, several threads verifying at once (the worker model). */
struct thr_arg {
	const struct crypto_key *k;
	enum jws_alg alg;
	const uint8_t *sig;
	size_t sl;
	int failures;
};

static void *
thr_main(void *p)
{
	struct thr_arg *a = p;
	uint8_t bad[512];
	int i;

	memcpy(bad, a->sig, a->sl);
	bad[3] ^= 4;
	for (i = 0; i < 100; i++) {
		if (crypto_verify(a->k, a->alg, msg, MSG_LEN, a->sig, a->sl) != 0)
			a->failures++;
		if (crypto_verify(a->k, a->alg, msg, MSG_LEN, bad, a->sl) != -1)
			a->failures++;
		if (ERR_peek_error() != 0)
			a->failures++;
	}
	return (NULL);
}

static void
test_threads(void **state)
{
	struct crypto_key *keys[3] = { pub(rsa2048), pub(ec256), pub(ed25519) };
	enum jws_alg algs[3] = { JWS_ALG_PS256, JWS_ALG_ES256, JWS_ALG_EDDSA };
	EVP_PKEY *pks[3] = { rsa2048, ec256, ed25519 };
	uint8_t sigs[3][512];
	struct thr_arg args[6];
	pthread_t th[6];
	int i;

	(void)state;
	for (i = 0; i < 6; i++) {
		int j = i % 3;

		if (i < 3)
			args[j].sl = sign(pks[j], algs[j], sigs[j], 512);
		args[i] = args[j];
		args[i].k = keys[j];
		args[i].alg = algs[j];
		args[i].sig = sigs[j];
		args[i].failures = 0;
		assert_int_equal(pthread_create(&th[i], NULL, thr_main,
		    &args[i]), 0);
	}
	for (i = 0; i < 6; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(args[i].failures, 0);
	}
	for (i = 0; i < 3; i++)
		crypto_key_free(keys[i]);
	crypto_key_free(NULL);
}

/*
 * crypto_cache_key: the same bytes give the same key in every thread (one
 * secret per process), any other bytes another key (a flipped bit, one
 * byte more or less), and it is not the bytes' SHA-256, which anyone can
 * compute: SipHash-2-4 under the process's secret, 16 bytes then zeros.
 */
static void *
cache_key_thread(void *arg)
{
	static uint8_t out[32];

	if (crypto_cache_key(arg, 1236, out) != 0)
		return (NULL);
	return (out);
}

static void
test_cache_key(void **state)
{
	uint8_t tok[1237], k0[32], k1[32], sha[32], zero[16] = { 0 };
	pthread_t th;
	void *other;
	EVP_MAC *sip = EVP_MAC_fetch(NULL, "SIPHASH", NULL);

	(void)state;
	for (size_t i = 0; i < sizeof(tok); i++)
		tok[i] = (uint8_t)('A' + i % 26);
	assert_int_equal(crypto_cache_key(tok, 1236, k0), 0);
	assert_int_equal(crypto_cache_key(tok, 1236, k1), 0);
	assert_memory_equal(k0, k1, 32);
	assert_int_equal(pthread_create(&th, NULL, cache_key_thread, tok), 0);
	assert_int_equal(pthread_join(th, &other), 0);
	assert_non_null(other);
	assert_memory_equal(k0, other, 32);
	tok[700] ^= 1;
	assert_int_equal(crypto_cache_key(tok, 1236, k1), 0);
	assert_memory_not_equal(k0, k1, 16);
	tok[700] ^= 1;
	assert_int_equal(crypto_cache_key(tok, 1235, k1), 0);
	assert_memory_not_equal(k0, k1, 16);
	assert_int_equal(crypto_cache_key(tok, 1237, k1), 0);
	assert_memory_not_equal(k0, k1, 16);
	/* The first and the last byte count too. */
	tok[0] ^= 0x80;
	assert_int_equal(crypto_cache_key(tok, 1236, k1), 0);
	assert_memory_not_equal(k0, k1, 16);
	tok[0] ^= 0x80;
	tok[1235] ^= 1;
	assert_int_equal(crypto_cache_key(tok, 1236, k1), 0);
	assert_memory_not_equal(k0, k1, 16);
	tok[1235] ^= 1;
	assert_int_equal(crypto_cache_key(tok, 0, k1), 0);
	assert_int_equal(crypto_sha256(tok, 1236, sha), 0);
	if (sip == NULL) {
		/* No SipHash in this OpenSSL: the SHA-256. */
		assert_memory_equal(k0, sha, 32);
		return;
	}
	EVP_MAC_free(sip);
	assert_memory_not_equal(k0, sha, 16);
	assert_memory_equal(k0 + 16, zero, 16);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cache_key),
		cmocka_unit_test(test_rsa_roundtrip),
		cmocka_unit_test(test_pss_parameters),
		cmocka_unit_test(test_ec_roundtrip),
		cmocka_unit_test(test_ecdsa_malicious),
		cmocka_unit_test(test_ed25519),
		cmocka_unit_test(test_alg_key_mismatch),
		cmocka_unit_test(test_rs_hs_confusion),
		cmocka_unit_test(test_hmac),
		cmocka_unit_test(test_hmac_key_length),
		cmocka_unit_test(test_rsa_weak_keys),
		cmocka_unit_test(test_ec_bad_points),
		cmocka_unit_test(test_ec_p521_short_coordinate),
		cmocka_unit_test(test_pem),
		cmocka_unit_test(test_fingerprint),
		cmocka_unit_test(test_hashes_random),
		cmocka_unit_test(test_verify_sha256_digest),
		cmocka_unit_test(test_rsa_signature_not_reduced),
		cmocka_unit_test(test_verify_context_reuse),
		cmocka_unit_test(test_threads),
	};

	return (cmocka_run_group_tests(tests, group_setup, group_teardown));
}
