/*
 * crypto.c: see crypto.h.
 *
 * Performance notes (OpenSSL 3.0): fetching an algorithm by name and
 * building an EVP_PKEY_CTX from scratch costs several microseconds, about
 * a third of an RSA-2048 verification.  So digests and the HMAC MAC are
 * fetched once (pthread_once), and every key carries, per algorithm it
 * allows, a verify context on which padding, digest, MGF1 and salt length
 * are already set (the template).  Every RSA and ECDSA signature is
 * checked by EVP_PKEY_verify on a copy of that template: each thread keeps
 * a small direct-mapped table from (key serial, algorithm) to its own copy
 * (EVP_PKEY_CTX_dup on first use), which it re-uses for every later
 * verification with that key (a verify context is not changed by
 * EVP_PKEY_verify, whatever the answer; it cannot be shared between
 * threads).  Keys are numbered by a process-wide serial, never re-used,
 * so a slot left behind by a freed key is never mistaken for a new key at
 * the same address; the copy holds a reference to its public key until the
 * slot is taken over or the thread exits.  Ed25519 copies a prepared
 * EVP_MD_CTX and HMAC a prepared EVP_MAC_CTX per call.  The digest of the
 * signing input is computed once by the caller where it can
 * (crypto_verify_sha256()).  tests/bench/bench_crypto.c and
 * tests/bench/bench_decide.c measure the result against `openssl speed`.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "util.h"
#include "crypto.h"

#define CURVE_COUNT	3
#define FIELD_MAX	66
#define RSA_MAX_BYTES	(CRYPTO_RSA_MAX_BITS / 8)
/* Per-thread prepared verify contexts (a power of two). */
#define VCACHE_SLOTS	64

enum ck_type {
	CK_RSA,
	CK_EC,
	CK_ED25519,
	CK_HMAC,
};

struct crypto_key {
	enum ck_type type;
	enum crypto_curve curve;	/* CK_EC */
	uint32_t algs;			/* JWS_ALG_BIT set */
	size_t size;			/* RSA: modulus bytes; HMAC: secret */
	EVP_PKEY *pkey;			/* NULL for CK_HMAC */
	/* Prepared verify contexts, indexed by enum jws_alg. */
	EVP_PKEY_CTX *vctx[JWS_ALG_COUNT];
	EVP_MD_CTX *edctx;		/* CK_ED25519 */
	EVP_MAC_CTX *mac[JWS_ALG_COUNT];	/* CK_HMAC, HS* slots */
	uint64_t serial;		/* unique in the process, never 0 */
	uint8_t fp[32];
	char desc[24];
};

/* Process-wide, fetched once, read-only afterwards. */
static struct {
	int ok;
	EVP_MD *sha1, *sha256, *sha384, *sha512;
	EVP_MAC *hmac;
	EVP_MAC *siphash;		/* NULL: cache keys are SHA-256 */
	uint8_t ckey[16];		/* crypto_cache_key()'s secret */
	uint8_t order[CURVE_COUNT][FIELD_MAX];	/* big-endian, field length */
	pthread_key_t tls;		/* struct crypto_tls, freed at exit */
} cg;
static pthread_once_t cg_once = PTHREAD_ONCE_INIT;

static const struct {
	const char *jwk;
	int nid;
	size_t len;
	enum jws_alg alg;
} curves[CURVE_COUNT] = {
	[CRYPTO_CURVE_P256] = { "P-256", NID_X9_62_prime256v1, 32, JWS_ALG_ES256 },
	[CRYPTO_CURVE_P384] = { "P-384", NID_secp384r1, 48, JWS_ALG_ES384 },
	[CRYPTO_CURVE_P521] = { "P-521", NID_secp521r1, 66, JWS_ALG_ES512 },
};

/* OSSL_PARAM wants non-const strings; these are never written. */
static char group_p256[] = "prime256v1";
static char group_p384[] = "secp384r1";
static char group_p521[] = "secp521r1";
static char *const group_names[CURVE_COUNT] = {
	group_p256, group_p384, group_p521,
};

/* Odd primes below 168: the ROCA fingerprint moduli (and a cheap sieve). */
static const uint8_t small_primes[] = {
	3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67,
	71, 73, 79, 83, 89, 97, 101, 103, 107, 109, 113, 127, 131, 137, 139,
	149, 151, 157, 163, 167,
};

static const char why_internal[] = "OpenSSL error or out of memory";

/* The serial of the next key built (crypto_key.serial). */
static _Atomic uint64_t key_serial = 1;

/*
 * Per-thread scratch: digest contexts (creating one per call costs
 * allocations on every verification and every cache lookup), and this
 * thread's own verify contexts, one slot per (key serial, algorithm) hash
 * (see the file comment).  Freed by the thread-exit destructor.
 */
struct crypto_vslot {
	uint64_t serial;		/* 0: empty */
	int alg;
	EVP_PKEY_CTX *ctx;
};

struct crypto_tls {
	EVP_MD_CTX *md[1];
	EVP_MAC_CTX *ck;		/* SipHash under cg.ckey */
	struct crypto_vslot vc[VCACHE_SLOTS];
};

static void
tls_free(void *p)
{
	struct crypto_tls *t = p;

	if (t == NULL)
		return;
	EVP_MD_CTX_free(t->md[0]);
	EVP_MAC_CTX_free(t->ck);
	for (size_t i = 0; i < VCACHE_SLOTS; i++)
		EVP_PKEY_CTX_free(t->vc[i].ctx);
	free(t);
}

static void
cg_init(void)
{
	EC_GROUP *g = NULL;
	int i;

	if (pthread_key_create(&cg.tls, tls_free) != 0)
		return;

	cg.sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
	cg.sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	cg.sha384 = EVP_MD_fetch(NULL, "SHA384", NULL);
	cg.sha512 = EVP_MD_fetch(NULL, "SHA512", NULL);
	cg.hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (cg.sha1 == NULL || cg.sha256 == NULL || cg.sha384 == NULL ||
	    cg.sha512 == NULL || cg.hmac == NULL)
		goto out;
	/* The cache keys' secret; without SipHash (a FIPS-only provider
	 * set) cache keys are SHA-256, which needs none. */
	if (RAND_bytes(cg.ckey, sizeof(cg.ckey)) != 1)
		goto out;
	cg.siphash = EVP_MAC_fetch(NULL, "SIPHASH", NULL);
	for (i = 0; i < CURVE_COUNT; i++) {
		if ((g = EC_GROUP_new_by_curve_name(curves[i].nid)) == NULL)
			goto out;
		if (BN_bn2binpad(EC_GROUP_get0_order(g), cg.order[i],
		    (int)curves[i].len) != (int)curves[i].len)
			goto out;
		EC_GROUP_free(g);
		g = NULL;
	}
	cg.ok = 1;
out:
	EC_GROUP_free(g);
	ERR_clear_error();
}

static int
cg_ready(void)
{
	if (pthread_once(&cg_once, cg_init) != 0)
		return (0);
	return (cg.ok);
}

static const EVP_MD *
alg_md(enum jws_alg alg)
{
	switch (jwa_hash_len(alg)) {
	case 32:
		return (cg.sha256);
	case 48:
		return (cg.sha384);
	default:
		return (cg.sha512);
	}
}

int
crypto_curve_parse(const char *name, size_t len)
{
	int i;

	for (i = 0; i < CURVE_COUNT; i++)
		if (strlen(curves[i].jwk) == len &&
		    memcmp(curves[i].jwk, name, len) == 0)
			return (i);
	return (-1);
}

size_t
crypto_curve_field_len(enum crypto_curve crv)
{
	if ((unsigned)crv >= CURVE_COUNT)
		return (0);
	return (curves[crv].len);
}

static struct crypto_key *
key_new(enum ck_type type)
{
	struct crypto_key *k;

	if ((k = calloc(1, sizeof(*k))) == NULL)
		return (NULL);
	k->type = type;
	k->serial = atomic_fetch_add_explicit(&key_serial, 1,
	    memory_order_relaxed);
	return (k);
}

void
crypto_key_free(struct crypto_key *k)
{
	int i;

	if (k == NULL)
		return;
	for (i = 0; i < JWS_ALG_COUNT; i++) {
		EVP_PKEY_CTX_free(k->vctx[i]);
		EVP_MAC_CTX_free(k->mac[i]);	/* HMAC provider cleanses */
	}
	EVP_MD_CTX_free(k->edctx);
	EVP_PKEY_free(k->pkey);
	OPENSSL_cleanse(k, sizeof(*k));
	free(k);
}

/* SHA-256 of the DER SubjectPublicKeyInfo of k->pkey into k->fp. */
static int
key_set_fp(struct crypto_key *k)
{
	unsigned char *der = NULL;
	int len;

	if ((len = i2d_PUBKEY(k->pkey, &der)) <= 0)
		return (-1);
	if (crypto_sha256(der, (size_t)len, k->fp) != 0) {
		OPENSSL_free(der);
		return (-1);
	}
	OPENSSL_free(der);
	return (0);
}

/*
 * A verify context for a pre-hashed algorithm: padding, digest, MGF1 and
 * salt length are fixed here, once.  RSA_PSS_SALTLEN_DIGEST on a verify
 * context makes OpenSSL require a salt of exactly the digest length.
 */
static EVP_PKEY_CTX *
prepare_vctx(EVP_PKEY *pkey, enum jws_alg alg)
{
	const EVP_MD *md = alg_md(alg);
	EVP_PKEY_CTX *ctx;

	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) == NULL)
		return (NULL);
	if (EVP_PKEY_verify_init(ctx) != 1)
		goto err;
	switch (alg) {
	case JWS_ALG_RS256: case JWS_ALG_RS384: case JWS_ALG_RS512:
		if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) <= 0)
			goto err;
		break;
	case JWS_ALG_PS256: case JWS_ALG_PS384: case JWS_ALG_PS512:
		if (EVP_PKEY_CTX_set_rsa_padding(ctx,
		    RSA_PKCS1_PSS_PADDING) <= 0)
			goto err;
		break;
	default:
		break;
	}
	if (EVP_PKEY_CTX_set_signature_md(ctx, md) <= 0)
		goto err;
	if (alg == JWS_ALG_PS256 || alg == JWS_ALG_PS384 ||
	    alg == JWS_ALG_PS512) {
		if (EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md) <= 0 ||
		    EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx,
		    RSA_PSS_SALTLEN_DIGEST) <= 0)
			goto err;
	}
	return (ctx);
err:
	EVP_PKEY_CTX_free(ctx);
	return (NULL);
}

/* Prepare a verify context for every algorithm in k->algs. */
static int
key_prepare(struct crypto_key *k)
{
	int a;

	for (a = 0; a < JWS_ALG_COUNT; a++) {
		if ((k->algs & JWS_ALG_BIT(a)) == 0)
			continue;
		if ((k->vctx[a] = prepare_vctx(k->pkey, (enum jws_alg)a)) == NULL)
			return (-1);
	}
	return (0);
}

/* Skip leading zero bytes of a big-endian integer. */
static const uint8_t *
be_strip(const uint8_t *p, size_t *len)
{
	while (*len > 0 && *p == 0) {
		p++;
		(*len)--;
	}
	return (p);
}

static size_t
be_bits(const uint8_t *p, size_t len)
{
	unsigned top;
	size_t bits;

	if (len == 0)
		return (0);
	bits = (len - 1) * 8;
	for (top = p[0]; top != 0; top >>= 1)
		bits++;
	return (bits);
}

static unsigned
be_mod_small(const uint8_t *p, size_t len, unsigned m)
{
	unsigned r = 0;
	size_t i;

	for (i = 0; i < len; i++)
		r = (r * 256 + p[i]) % m;
	return (r);
}

/*
 * Return a reason if the modulus has a small prime factor or the ROCA
 * fingerprint: ROCA primes are k*M + (65537^a mod M), M a primorial, so
 * n mod r lies in the subgroup generated by 65537 mod r for every small
 * prime r.  A random modulus passes all 38 tests with probability ~2^-28.
 */
static const char *
rsa_modulus_weak(const uint8_t *n, size_t len)
{
	size_t i;
	int roca = 1;

	for (i = 0; i < sizeof(small_primes); i++) {
		unsigned p = small_primes[i], r = be_mod_small(n, len, p);
		unsigned g = 65537 % p, x = 1, in_group = 0;

		if (r == 0)
			return ("RSA modulus has a small prime factor");
		do {
			if (x == r) {
				in_group = 1;
				break;
			}
			x = x * g % p;
		} while (x != 1);
		if (!in_group)
			roca = 0;
	}
	if (roca)
		return ("RSA modulus has the ROCA fingerprint (CVE-2017-15361)");
	return (NULL);
}

struct crypto_key *
crypto_key_rsa(const uint8_t *n, size_t n_len, const uint8_t *e,
    size_t e_len, const char **why)
{
	struct crypto_key *k = NULL;
	EVP_PKEY_CTX *fctx = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	BIGNUM *bn_n = NULL, *bn_e = NULL;
	const char *weak;
	uint64_t ev = 0;
	size_t bits, i;
	int a;

	*why = why_internal;
	if (!cg_ready())
		return (NULL);
	n = be_strip(n, &n_len);
	e = be_strip(e, &e_len);
	bits = be_bits(n, n_len);
	if (bits < CRYPTO_RSA_MIN_BITS) {
		*why = "RSA modulus shorter than 2048 bits";
		return (NULL);
	}
	if (bits > CRYPTO_RSA_MAX_BITS) {
		*why = "RSA modulus longer than 8192 bits";
		return (NULL);
	}
	if ((n[n_len - 1] & 1) == 0) {
		*why = "RSA modulus is even";
		return (NULL);
	}
	if (e_len > 4 || e_len == 0) {
		*why = "RSA exponent outside [3, 2^32-1]";
		return (NULL);
	}
	for (i = 0; i < e_len; i++)
		ev = ev << 8 | e[i];
	if (ev < 3) {
		*why = "RSA exponent outside [3, 2^32-1]";
		return (NULL);
	}
	if ((ev & 1) == 0) {
		*why = "RSA exponent is even";
		return (NULL);
	}
	if ((weak = rsa_modulus_weak(n, n_len)) != NULL) {
		*why = weak;
		return (NULL);
	}

	if ((k = key_new(CK_RSA)) == NULL)
		goto err;
	k->size = n_len;
	if ((bn_n = BN_bin2bn(n, (int)n_len, NULL)) == NULL ||
	    (bn_e = BN_bin2bn(e, (int)e_len, NULL)) == NULL ||
	    (bld = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e) ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL)
		goto err;
	if ((fctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(fctx) != 1 ||
	    EVP_PKEY_fromdata(fctx, &k->pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
		goto err;
	for (a = JWS_ALG_RS256; a <= JWS_ALG_PS512; a++)
		k->algs |= JWS_ALG_BIT(a);
	if (key_prepare(k) != 0 || key_set_fp(k) != 0)
		goto err;
	snprintf(k->desc, sizeof(k->desc), "RSA-%zu", bits);
	*why = NULL;
	goto out;
err:
	crypto_key_free(k);
	k = NULL;
out:
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn_n);
	BN_free(bn_e);
	EVP_PKEY_CTX_free(fctx);
	ERR_clear_error();
	return (k);
}

/* A coordinate of ${len} bytes for a field of ${flen}: see crypto_key_ec(). */
static bool
coord_len_ok(enum crypto_curve crv, size_t len, size_t flen)
{
	return (len == flen || (crv == CRYPTO_CURVE_P521 && len + 1 == flen));
}

struct crypto_key *
crypto_key_ec(enum crypto_curve crv, const uint8_t *x, size_t x_len,
    const uint8_t *y, size_t y_len, const char **why)
{
	struct crypto_key *k = NULL;
	EVP_PKEY_CTX *fctx = NULL, *cctx = NULL;
	uint8_t pub[1 + 2 * FIELD_MAX];
	OSSL_PARAM params[3];
	size_t flen;

	*why = why_internal;
	if (!cg_ready())
		return (NULL);
	if ((unsigned)crv >= CURVE_COUNT) {
		*why = "unsupported EC curve";
		return (NULL);
	}
	flen = curves[crv].len;
	/*
	 * RFC 7518 §6.2.1.2: each coordinate has the full field length.  One
	 * exception, P-521 only: a 65-byte coordinate is a 66-byte one whose
	 * leading zero byte an encoder dropped (Keycloak did; the top byte of
	 * a P-521 coordinate is 0 or 1, so it happens to half of all keys).
	 * It is put back; the point is then checked like any other.
	 */
	if (!coord_len_ok(crv, x_len, flen) || !coord_len_ok(crv, y_len, flen)) {
		*why = "EC coordinate length does not match the curve";
		return (NULL);
	}
	pub[0] = POINT_CONVERSION_UNCOMPRESSED;
	memset(pub + 1, 0, 2 * flen);
	memcpy(pub + 1 + (flen - x_len), x, x_len);
	memcpy(pub + 1 + flen + (flen - y_len), y, y_len);
	params[0] = OSSL_PARAM_construct_utf8_string(
	    OSSL_PKEY_PARAM_GROUP_NAME, group_names[crv], 0);
	params[1] = OSSL_PARAM_construct_octet_string(
	    OSSL_PKEY_PARAM_PUB_KEY, pub, 1 + 2 * flen);
	params[2] = OSSL_PARAM_construct_end();

	if ((k = key_new(CK_EC)) == NULL)
		goto err;
	k->curve = crv;
	if ((fctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(fctx) != 1)
		goto err;
	if (EVP_PKEY_fromdata(fctx, &k->pkey, EVP_PKEY_PUBLIC_KEY,
	    params) != 1) {
		/* The decoder refuses points off the curve or >= p. */
		*why = "EC point is not on the curve";
		goto err;
	}
	if ((cctx = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL)) == NULL)
		goto err;
	if (EVP_PKEY_public_check(cctx) != 1) {
		*why = "EC point is not on the curve";
		goto err;
	}
	k->algs = JWS_ALG_BIT(curves[crv].alg);
	if (key_prepare(k) != 0 || key_set_fp(k) != 0) {
		*why = why_internal;
		goto err;
	}
	snprintf(k->desc, sizeof(k->desc), "EC-%s", curves[crv].jwk);
	*why = NULL;
	goto out;
err:
	crypto_key_free(k);
	k = NULL;
out:
	EVP_PKEY_CTX_free(cctx);
	EVP_PKEY_CTX_free(fctx);
	ERR_clear_error();
	return (k);
}

struct crypto_key *
crypto_key_ed25519(const uint8_t *x, size_t x_len, const char **why)
{
	struct crypto_key *k = NULL;

	*why = why_internal;
	if (!cg_ready())
		return (NULL);
	if (x_len != 32) {
		*why = "Ed25519 public key is not 32 bytes";
		return (NULL);
	}
	if ((k = key_new(CK_ED25519)) == NULL)
		goto err;
	if ((k->pkey = EVP_PKEY_new_raw_public_key_ex(NULL, "ED25519", NULL,
	    x, x_len)) == NULL)
		goto err;
	if ((k->edctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit_ex(k->edctx, NULL, NULL, NULL, NULL,
	    k->pkey, NULL) != 1)
		goto err;
	k->algs = JWS_ALG_BIT(JWS_ALG_EDDSA);
	if (key_set_fp(k) != 0)
		goto err;
	snprintf(k->desc, sizeof(k->desc), "Ed25519");
	*why = NULL;
	goto out;
err:
	crypto_key_free(k);
	k = NULL;
out:
	ERR_clear_error();
	return (k);
}

struct crypto_key *
crypto_key_hmac(const uint8_t *secret, size_t len, const char **why)
{
	static const char fp_prefix[] = "spoa-iam hmac key fingerprint";
	static char dn[3][8] = { "SHA256", "SHA384", "SHA512" };
	static const enum jws_alg hs[3] = {
		JWS_ALG_HS256, JWS_ALG_HS384, JWS_ALG_HS512,
	};
	struct crypto_key *k = NULL;
	EVP_MD_CTX *mdc = NULL;
	OSSL_PARAM params[2];
	unsigned int fpl;
	int i;

	*why = why_internal;
	if (!cg_ready())
		return (NULL);
	if (len < CRYPTO_HMAC_MIN_LEN) {
		*why = "HMAC secret shorter than 32 bytes";
		return (NULL);
	}
	if (len > INT32_MAX) {
		*why = "HMAC secret too long";
		return (NULL);
	}
	if ((k = key_new(CK_HMAC)) == NULL)
		goto err;
	k->size = len;
	for (i = 0; i < 3; i++) {
		if (len < jwa_hash_len(hs[i]))
			continue;
		params[0] = OSSL_PARAM_construct_utf8_string(
		    OSSL_MAC_PARAM_DIGEST, dn[i], 0);
		params[1] = OSSL_PARAM_construct_end();
		if ((k->mac[hs[i]] = EVP_MAC_CTX_new(cg.hmac)) == NULL ||
		    EVP_MAC_init(k->mac[hs[i]], secret, len, params) != 1)
			goto err;
		k->algs |= JWS_ALG_BIT(hs[i]);
	}
	/* Domain-separated so the fingerprint is never a bare secret hash. */
	if ((mdc = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(mdc, cg.sha256, NULL) != 1 ||
	    EVP_DigestUpdate(mdc, fp_prefix, sizeof(fp_prefix)) != 1 ||
	    EVP_DigestUpdate(mdc, secret, len) != 1 ||
	    EVP_DigestFinal_ex(mdc, k->fp, &fpl) != 1)
		goto err;
	snprintf(k->desc, sizeof(k->desc), "HMAC-%zu", len);
	*why = NULL;
	goto out;
err:
	crypto_key_free(k);
	k = NULL;
out:
	EVP_MD_CTX_free(mdc);	/* digest provider cleanses its state */
	ERR_clear_error();
	return (k);
}

struct crypto_key *
crypto_key_from_pem(const char *pem, size_t len, const char **why)
{
	struct crypto_key *k = NULL;
	EVP_PKEY *pk = NULL;
	BIGNUM *b1 = NULL, *b2 = NULL;
	BIO *bio = NULL;
	uint8_t c1[RSA_MAX_BYTES + 1], c2[RSA_MAX_BYTES + 1];
	char group[64];
	size_t l1, l2;
	int nid, crv;

	*why = why_internal;
	if (!cg_ready())
		return (NULL);
	if (len == 0 || len > CRYPTO_PEM_MAX_LEN) {
		*why = "PEM key empty or too large";
		return (NULL);
	}
	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL)
		goto out;
	if ((pk = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL)) == NULL) {
		*why = "no PEM PUBLIC KEY block";
		goto out;
	}
	if (EVP_PKEY_is_a(pk, "RSA")) {
		if (!EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_N, &b1) ||
		    !EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_E, &b2))
			goto out;
		if (BN_num_bytes(b1) > (int)sizeof(c1) ||
		    BN_num_bytes(b2) > (int)sizeof(c2)) {
			*why = "RSA modulus longer than 8192 bits";
			goto out;
		}
		l1 = (size_t)BN_bn2bin(b1, c1);
		l2 = (size_t)BN_bn2bin(b2, c2);
		k = crypto_key_rsa(c1, l1, c2, l2, why);
	} else if (EVP_PKEY_is_a(pk, "EC")) {
		if (!EVP_PKEY_get_utf8_string_param(pk,
		    OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), NULL)) {
			*why = "unsupported EC curve";
			goto out;
		}
		nid = OBJ_txt2nid(group);
		for (crv = 0; crv < CURVE_COUNT; crv++)
			if (curves[crv].nid == nid)
				break;
		if (nid == NID_undef || crv == CURVE_COUNT) {
			*why = "unsupported EC curve";
			goto out;
		}
		l1 = curves[crv].len;
		if (!EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_EC_PUB_X, &b1) ||
		    !EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_EC_PUB_Y, &b2) ||
		    BN_bn2binpad(b1, c1, (int)l1) != (int)l1 ||
		    BN_bn2binpad(b2, c2, (int)l1) != (int)l1) {
			*why = "EC point is not on the curve";
			goto out;
		}
		k = crypto_key_ec((enum crypto_curve)crv, c1, l1, c2, l1, why);
	} else if (EVP_PKEY_is_a(pk, "ED25519")) {
		l1 = sizeof(c1);
		if (EVP_PKEY_get_raw_public_key(pk, c1, &l1) != 1)
			goto out;
		k = crypto_key_ed25519(c1, l1, why);
	} else {
		*why = "unsupported key type in PEM";
	}
out:
	BN_free(b1);
	BN_free(b2);
	EVP_PKEY_free(pk);
	BIO_free(bio);
	ERR_clear_error();
	return (k);
}

uint32_t
crypto_key_algs(const struct crypto_key *k)
{
	return (k->algs);
}

int
crypto_key_allows(const struct crypto_key *k, enum jws_alg alg)
{
	if (k == NULL || (unsigned)alg >= JWS_ALG_COUNT)
		return (0);
	return ((k->algs & JWS_ALG_BIT(alg)) != 0);
}

const char *
crypto_key_desc(const struct crypto_key *k)
{
	return (k->desc);
}

void
crypto_key_fingerprint(const struct crypto_key *k, uint8_t out[32])
{
	memcpy(out, k->fp, 32);
}

/* This thread's scratch (cg_ready() first); NULL if out of memory. */
static struct crypto_tls *
thread_tls(void)
{
	struct crypto_tls *t = pthread_getspecific(cg.tls);

	if (t != NULL)
		return (t);
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return (NULL);
	if ((t->md[0] = EVP_MD_CTX_new()) == NULL ||
	    pthread_setspecific(cg.tls, t) != 0) {
		tls_free(t);
		return (NULL);
	}
	return (t);
}

/*
 * This thread's verify context for ${alg} under ${k}: the slot's copy if
 * it is the key's, else a fresh copy of the key's template, which takes
 * the slot over (the previous occupant is freed).  NULL if out of memory.
 */
static EVP_PKEY_CTX *
thread_vctx(const struct crypto_key *k, enum jws_alg alg)
{
	struct crypto_tls *t;
	struct crypto_vslot *v;
	EVP_PKEY_CTX *ctx;
	uint64_t h;

	if ((t = thread_tls()) == NULL)
		return (NULL);
	h = (k->serial * JWS_ALG_COUNT + (uint64_t)alg) *
	    UINT64_C(0x9e3779b97f4a7c15);
	v = &t->vc[h >> 58 & (VCACHE_SLOTS - 1)];
	if (v->serial == k->serial && v->alg == (int)alg)
		return (v->ctx);
	if ((ctx = EVP_PKEY_CTX_dup(k->vctx[alg])) == NULL)
		return (NULL);
	EVP_PKEY_CTX_free(v->ctx);
	v->serial = k->serial;
	v->alg = (int)alg;
	v->ctx = ctx;
	return (ctx);
}

/*
 * Verify the DER (ECDSA) or PKCS#1 (RSA) ${sig} over the ${hl}-byte digest
 * ${h} with EVP_PKEY_verify, on this thread's context for ${k} and ${alg}.
 */
static int
verify_digest(const struct crypto_key *k, enum jws_alg alg, const uint8_t *h,
    size_t hl, const uint8_t *sig, size_t sig_len)
{
	EVP_PKEY_CTX *ctx;

	if ((ctx = thread_vctx(k, alg)) == NULL)
		return (-1);
	return (EVP_PKEY_verify(ctx, sig, sig_len, h, hl) == 1 ? 0 : -1);
}

/*
 * Hash ${msg} (unless ${sha256} already holds its SHA-256 and ${alg} hashes
 * with SHA-256), then verify the DER/PKCS#1 signature over the digest.
 */
static int
verify_prehashed(const struct crypto_key *k, enum jws_alg alg,
    const uint8_t *msg, size_t msg_len, const uint8_t *sha256,
    const uint8_t *sig, size_t sig_len)
{
	uint8_t h[EVP_MAX_MD_SIZE];
	unsigned int hl;
	struct crypto_tls *t;

	if (sha256 != NULL && jwa_hash_len(alg) == 32)
		return (verify_digest(k, alg, sha256, 32, sig, sig_len));
	if ((t = thread_tls()) == NULL ||
	    EVP_DigestInit_ex2(t->md[0], alg_md(alg), NULL) != 1 ||
	    EVP_DigestUpdate(t->md[0], msg, msg_len) != 1 ||
	    EVP_DigestFinal_ex(t->md[0], h, &hl) != 1)
		return (-1);
	return (verify_digest(k, alg, h, hl, sig, sig_len));
}

/* 1 if the big-endian ${len}-byte scalar ${v} is in [1, order-1]. */
static int
scalar_in_range(const uint8_t *v, const uint8_t *order, size_t len)
{
	uint8_t any = 0;
	size_t i;

	for (i = 0; i < len; i++)
		any |= v[i];
	return (any != 0 && memcmp(v, order, len) < 0);
}

/* DER INTEGER of the big-endian, non-zero, unsigned ${len}-byte ${v}. */
static size_t
der_uint(uint8_t *out, const uint8_t *v, size_t len)
{
	size_t pad;

	while (len > 1 && v[0] == 0) {
		v++;
		len--;
	}
	pad = (v[0] & 0x80) ? 1 : 0;	/* keep it positive */
	out[0] = 0x02;
	out[1] = (uint8_t)(len + pad);	/* <= 67: short form */
	out[2] = 0;
	memcpy(out + 2 + pad, v, len);
	return (2 + pad + len);
}

/*
 * JWS ECDSA signatures are R || S, each exactly the field length (RFC 7518
 * §3.4).  The length and the range of R and S are checked here, not left
 * to OpenSSL (CVE-2022-21449 was a missing range check).  The DER form
 * OpenSSL verifies is written here directly (minimal DER: no BIGNUM and no
 * allocation on this path, which every ES* cache miss takes).
 */
static int
verify_ecdsa(const struct crypto_key *k, enum jws_alg alg,
    const uint8_t *msg, size_t msg_len, const uint8_t *sha256,
    const uint8_t *sig, size_t sig_len)
{
	size_t flen = curves[k->curve].len, n, body;
	uint8_t ints[2 * (FIELD_MAX + 3)], der[4 + sizeof(ints)];

	if (sig_len != 2 * flen ||
	    !scalar_in_range(sig, cg.order[k->curve], flen) ||
	    !scalar_in_range(sig + flen, cg.order[k->curve], flen))
		return (-1);
	body = der_uint(ints, sig, flen);
	body += der_uint(ints + body, sig + flen, flen);
	n = 0;
	der[n++] = 0x30;
	if (body >= 0x80)
		der[n++] = 0x81;	/* P-521: up to 138 bytes */
	der[n++] = (uint8_t)body;
	memcpy(der + n, ints, body);
	return (verify_prehashed(k, alg, msg, msg_len, sha256, der, n + body));
}

static int
verify_ed25519(const struct crypto_key *k, const uint8_t *msg,
    size_t msg_len, const uint8_t *sig, size_t sig_len)
{
	EVP_MD_CTX *ctx;
	int r = 0;

	if (sig_len != 64)
		return (-1);
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return (-1);
	if (EVP_MD_CTX_copy_ex(ctx, k->edctx) == 1)
		r = EVP_DigestVerify(ctx, sig, sig_len, msg, msg_len);
	EVP_MD_CTX_free(ctx);
	return (r == 1 ? 0 : -1);
}

static int
verify_hmac(const struct crypto_key *k, enum jws_alg alg,
    const uint8_t *msg, size_t msg_len, const uint8_t *sig, size_t sig_len)
{
	size_t hl = jwa_hash_len(alg), tl = 0;
	uint8_t tag[EVP_MAX_MD_SIZE];
	EVP_MAC_CTX *ctx;
	int rc = -1;

	/* A truncated or extended tag is invalid, whatever its prefix. */
	if (sig_len != hl || k->size < hl)
		return (-1);
	if ((ctx = EVP_MAC_CTX_dup(k->mac[alg])) == NULL)
		return (-1);
	if (EVP_MAC_update(ctx, msg, msg_len) == 1 &&
	    EVP_MAC_final(ctx, tag, &tl, sizeof(tag)) == 1 && tl == hl &&
	    CRYPTO_memcmp(tag, sig, hl) == 0)
		rc = 0;
	EVP_MAC_CTX_free(ctx);
	OPENSSL_cleanse(tag, sizeof(tag));
	return (rc);
}

/* crypto_verify() and its variants; see crypto.h. */
static int
verify_any(const struct crypto_key *k, enum jws_alg alg, const uint8_t *msg,
    size_t msg_len, const uint8_t *sha256, const uint8_t *sig, size_t sig_len)
{
	int rc = -1;

	if (k == NULL || (unsigned)alg >= JWS_ALG_COUNT ||
	    (k->algs & JWS_ALG_BIT(alg)) == 0 ||
	    (msg == NULL && msg_len != 0) || sig == NULL)
		return (-1);
	switch (k->type) {
	case CK_RSA:
		if (sig_len == k->size)
			rc = verify_prehashed(k, alg, msg, msg_len, sha256, sig,
			    sig_len);
		break;
	case CK_EC:
		rc = verify_ecdsa(k, alg, msg, msg_len, sha256, sig, sig_len);
		break;
	case CK_ED25519:
		rc = verify_ed25519(k, msg, msg_len, sig, sig_len);
		break;
	case CK_HMAC:
		rc = verify_hmac(k, alg, msg, msg_len, sig, sig_len);
		break;
	}
	/* Never leave errors behind for the next OpenSSL user on this thread. */
	if (rc != 0)
		ERR_clear_error();
	return (rc);
}

int
crypto_verify(const struct crypto_key *k, enum jws_alg alg,
    const uint8_t *msg, size_t msg_len, const uint8_t *sig, size_t sig_len)
{
	return (verify_any(k, alg, msg, msg_len, NULL, sig, sig_len));
}

int
crypto_verify_sha256(const struct crypto_key *k, enum jws_alg alg,
    const uint8_t *msg, size_t msg_len, const uint8_t *msg_sha256,
    const uint8_t *sig, size_t sig_len)
{
	return (verify_any(k, alg, msg, msg_len, msg_sha256, sig, sig_len));
}

/* SHA-1 or SHA-256 on this thread's digest context (EVP_Digest() would
 * allocate and free one per call: a subject's hash on every cache miss). */
static int
digest(int which, const void *p, size_t len, uint8_t *out, size_t out_len)
{
	struct crypto_tls *t;
	unsigned int ol = 0;

	if (!cg_ready() || (t = thread_tls()) == NULL ||
	    EVP_DigestInit_ex2(t->md[0], which == 1 ? cg.sha1 : cg.sha256,
	    NULL) != 1 || EVP_DigestUpdate(t->md[0], p, len) != 1 ||
	    EVP_DigestFinal_ex(t->md[0], out, &ol) != 1 || ol != out_len) {
		memset(out, 0, out_len);
		ERR_clear_error();
		return (-1);
	}
	return (0);
}

int
crypto_sha256(const void *p, size_t len, uint8_t out[32])
{
	return (digest(256, p, len, out, 32));
}

/* This thread's SipHash context, keyed with the process's secret. */
static EVP_MAC_CTX *
cache_key_ctx(void)
{
	size_t out_len = 16;
	const OSSL_PARAM params[] = {
		OSSL_PARAM_size_t(OSSL_MAC_PARAM_SIZE, &out_len),
		OSSL_PARAM_END
	};
	struct crypto_tls *t = thread_tls();

	if (t == NULL)
		return (NULL);
	if (t->ck != NULL)
		return (EVP_MAC_init(t->ck, NULL, 0, NULL) == 1 ? t->ck : NULL);
	if ((t->ck = EVP_MAC_CTX_new(cg.siphash)) == NULL)
		return (NULL);
	if (EVP_MAC_init(t->ck, cg.ckey, sizeof(cg.ckey), params) != 1) {
		EVP_MAC_CTX_free(t->ck);
		t->ck = NULL;
		return (NULL);
	}
	return (t->ck);
}

int
crypto_cache_key(const void *p, size_t len, uint8_t out[32])
{
	EVP_MAC_CTX *c;
	size_t ol = 0;

	if (!cg_ready())
		goto fail;
	if (cg.siphash == NULL)
		return (crypto_sha256(p, len, out));
	memset(out + 16, 0, 16);
	if ((c = cache_key_ctx()) == NULL || EVP_MAC_update(c, p, len) != 1 ||
	    EVP_MAC_final(c, out, &ol, 16) != 1 || ol != 16)
		goto fail;
	return (0);
fail:
	memset(out, 0, 32);
	ERR_clear_error();
	return (-1);
}

int
crypto_sha1(const void *p, size_t len, uint8_t out[20])
{
	return (digest(1, p, len, out, 20));
}

int
crypto_random(void *buf, size_t len)
{
	if (len > INT32_MAX || RAND_bytes(buf, (int)len) != 1) {
		ERR_clear_error();
		return (-1);
	}
	return (0);
}

bool
crypto_memeq(const void *a, const void *b, size_t len)
{
	return (CRYPTO_memcmp(a, b, len) == 0);
}
