/*
 * testjose.h: keys, signatures and tokens for the unit tests, made with
 * OpenSSL and this file's own base64url only (never the agent's code), so
 * that a bug in the agent cannot cancel itself out.  Header-only
 * (static inline); cmocka asserts.
 */
#ifndef SPOA_TESTJOSE_H
#define SPOA_TESTJOSE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>

#include "testsupport.h"
#include "jwa.h"

#ifndef TOKMAX
#define TOKMAX 65536
#endif


struct tkey {
	EVP_PKEY *pk;		/* NULL for an HMAC secret */
	const char *secret;
};


/* Test tokens are encoded by this copy, not by b64url.c, so a bug in the
 * agent's encoder cannot cancel one in its decoder. */
static inline size_t
b64u(const uint8_t *in, size_t len, char *out)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789-_";
	size_t n = 0, i = 0;

	for (; i + 2 < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 |
		    in[i + 2];
		out[n++] = a[v >> 18];
		out[n++] = a[(v >> 12) & 63];
		out[n++] = a[(v >> 6) & 63];
		out[n++] = a[v & 63];
	}
	if (len - i == 1) {
		out[n++] = a[in[i] >> 2];
		out[n++] = a[(in[i] & 3) << 4];
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)in[i] << 8 | in[i + 1];
		out[n++] = a[v >> 10];
		out[n++] = a[(v >> 4) & 63];
		out[n++] = a[(v & 15) << 2];
	}
	out[n] = '\0';
	return (n);
}

/* Decode unpadded base64url (test constants only); returns the length. */
static inline size_t
b64u_decode_test(const char *in, uint8_t *out)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789-_";
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t n = 0;

	for (; *in != '\0'; in++) {
		const char *p = strchr(a, *in);

		assert_non_null(p);
		acc = (acc << 6 | (uint32_t)(p - a)) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (uint8_t)(acc >> bits);
		}
	}
	return (n);
}

static inline size_t
b64u_str(const char *s, char *out)
{
	return (b64u((const uint8_t *)s, strlen(s), out));
}

static inline EVP_PKEY *
keygen(const char *type, const char *arg, size_t bits)
{
	EVP_PKEY *k;

	if (strcmp(type, "RSA") == 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", bits);
	else if (arg != NULL)
		k = EVP_PKEY_Q_keygen(NULL, NULL, type, arg);
	else
		k = EVP_PKEY_Q_keygen(NULL, NULL, type);
	assert_non_null(k);
	return (k);
}

static inline size_t
bn_param(EVP_PKEY *k, const char *name, uint8_t *out, int pad)
{
	BIGNUM *bn = NULL;
	int n;

	assert_int_equal(EVP_PKEY_get_bn_param(k, name, &bn), 1);
	n = pad > 0 ? BN_bn2binpad(bn, out, pad) : BN_bn2bin(bn, out);
	BN_free(bn);
	assert_true(n > 0);
	return ((size_t)n);
}

/* The public JWK of ${k} with ${kid} and ${extra} members ("" or ",..."). */
static inline char *
jwk_of(EVP_PKEY *k, const char *kid, const char *extra)
{
	uint8_t a[1024], b[1024];
	char ea[1400], eb[1400], *out = malloc(4096);
	size_t al, bl;

	assert_non_null(out);
	if (EVP_PKEY_is_a(k, "RSA")) {
		al = bn_param(k, OSSL_PKEY_PARAM_RSA_N, a, 0);
		bl = bn_param(k, OSSL_PKEY_PARAM_RSA_E, b, 0);
		b64u(a, al, ea);
		b64u(b, bl, eb);
		snprintf(out, 4096, "{\"kty\":\"RSA\",\"kid\":\"%s\",\"n\":\"%s\","
		    "\"e\":\"%s\"%s}", kid, ea, eb, extra);
	} else if (EVP_PKEY_is_a(k, "EC")) {
		bn_param(k, OSSL_PKEY_PARAM_EC_PUB_X, a, 32);
		bn_param(k, OSSL_PKEY_PARAM_EC_PUB_Y, b, 32);
		b64u(a, 32, ea);
		b64u(b, 32, eb);
		snprintf(out, 4096, "{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":"
		    "\"%s\",\"x\":\"%s\",\"y\":\"%s\"%s}", kid, ea, eb, extra);
	} else {
		al = sizeof(a);
		assert_int_equal(EVP_PKEY_get_raw_public_key(k, a, &al), 1);
		b64u(a, al, ea);
		snprintf(out, 4096, "{\"kty\":\"OKP\",\"crv\":\"Ed25519\","
		    "\"kid\":\"%s\",\"x\":\"%s\"%s}", kid, ea, extra);
	}
	return (out);
}

/* ECDSA DER -> JWS R||S (32 + 32). */
static inline size_t
der_to_rs(const uint8_t *der, size_t len, uint8_t *out)
{
	const unsigned char *p = der;
	ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)len);

	assert_non_null(es);
	assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_r(es), out, 32), 32);
	assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_s(es), out + 32, 32), 32);
	ECDSA_SIG_free(es);
	return (64);
}

/* Sign ${msg} for ${alg} with OpenSSL; ${pss_salt} < -2 means "the hash
 * length" (the JWS rule), else an explicit salt length for PS*. */
static inline size_t
sign_pss(const struct tkey *k, enum jws_alg alg, const char *msg,
    size_t len, uint8_t *sig, int pss_salt, const EVP_MD *mgf1)
{
	const EVP_MD *md = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	EVP_MD_CTX *m;
	uint8_t der[600];
	size_t sl = 600;

	switch (alg) {
	case JWS_ALG_RS256: case JWS_ALG_PS256: case JWS_ALG_ES256:
	case JWS_ALG_HS256:
		md = EVP_sha256();
		break;
	case JWS_ALG_RS384: case JWS_ALG_PS384: case JWS_ALG_ES384:
	case JWS_ALG_HS384:
		md = EVP_sha384();
		break;
	case JWS_ALG_RS512: case JWS_ALG_PS512: case JWS_ALG_ES512:
	case JWS_ALG_HS512:
		md = EVP_sha512();
		break;
	default:
		break;
	}
	if (k->pk == NULL) {
		unsigned int hl = 0;

		assert_non_null(HMAC(md, k->secret, (int)strlen(k->secret),
		    (const uint8_t *)msg, len, sig, &hl));
		return (hl);
	}
	m = EVP_MD_CTX_new();
	assert_non_null(m);
	assert_int_equal(EVP_DigestSignInit(m, &pctx, md, NULL, k->pk), 1);
	if (alg >= JWS_ALG_PS256 && alg <= JWS_ALG_PS512) {
		assert_true(EVP_PKEY_CTX_set_rsa_padding(pctx,
		    RSA_PKCS1_PSS_PADDING) > 0);
		assert_true(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx,
		    pss_salt < -2 ? RSA_PSS_SALTLEN_DIGEST : pss_salt) > 0);
		assert_true(EVP_PKEY_CTX_set_rsa_mgf1_md(pctx,
		    mgf1 != NULL ? mgf1 : md) > 0);
	}
	assert_int_equal(EVP_DigestSign(m, der, &sl, (const uint8_t *)msg,
	    len), 1);
	EVP_MD_CTX_free(m);
	if (alg == JWS_ALG_ES256)
		return (der_to_rs(der, sl, sig));
	memcpy(sig, der, sl);
	return (sl);
}

static inline size_t
sign(const struct tkey *k, enum jws_alg alg, const char *msg, size_t len,
    uint8_t *sig)
{
	return (sign_pss(k, alg, msg, len, sig, -3, NULL));
}

/* Rotating token buffers: a result lives for the next three calls. */
static inline char *
tokbuf(void)
{
	static char bufs[4][TOKMAX];
	static int i;

	i = (i + 1) % 4;
	return (bufs[i]);
}

/* b64(hdr) "." b64(payload): the signing input, into ${out}. */
static inline size_t
signing_input(const char *hdr, const char *payload, char *out)
{
	size_t n = b64u_str(hdr, out);

	assert_true(strlen(hdr) * 4 / 3 + strlen(payload) * 4 / 3 + 8 < TOKMAX);
	out[n++] = '.';
	n += b64u_str(payload, out + n);
	return (n);
}

/* A token with the given signature bytes. */
static inline const char *
with_sig(const char *hdr, const char *payload, const uint8_t *sig, size_t sl)
{
	char *t = tokbuf();
	size_t n = signing_input(hdr, payload, t);

	t[n++] = '.';
	assert_true(n + sl * 4 / 3 + 4 < TOKMAX);
	b64u(sig, sl, t + n);
	return (t);
}

/* A token signed by ${k} for ${alg} (whatever the header says). */
static inline const char *
mint(const struct tkey *k, enum jws_alg alg, const char *hdr,
    const char *payload)
{
	char *t = tokbuf();
	uint8_t sig[1024];
	size_t n = signing_input(hdr, payload, t), sl;

	sl = sign(k, alg, t, n, sig);
	t[n++] = '.';
	b64u(sig, sl, t + n);
	return (t);
}

/* Rotating JSON buffers. */
static inline char *
jbuf(void)
{
	static char bufs[6][8192];
	static int i;

	i = (i + 1) % 6;
	return (bufs[i]);
}

/* DPoP (RFC 9449) ------------------------------------------------------ */

/* The public JWK of ${k} without kid, for a proof's header. */
static inline char *
pub_jwk(const struct tkey *k, const char *extra)
{
	char *j = jwk_of(k->pk, "x", extra);
	char *p = strstr(j, ",\"kid\":\"x\"");

	if (p == NULL)
		p = strstr(j, "\"kid\":\"x\",");
	assert_non_null(p);
	memmove(p, p + 10, strlen(p + 10) + 1);
	return (j);
}

/* base64url(SHA-256(token)) for ath. */
static inline const char *
ath_of(const char *tok)
{
	static char out[64];
	uint8_t h[32];

	SHA256((const uint8_t *)tok, strlen(tok), h);
	b64u(h, 32, out);
	return (out);
}

/* The RFC 7638 thumbprint of P-256 key ${k}, base64url, into ${out}
 * (44 bytes), for cnf.jkt. */
static inline void
ec_jkt(const struct tkey *k, char *out)
{
	char *jwk = pub_jwk(k, "");
	char *x = strstr(jwk, "\"x\":\""), *y = strstr(jwk, "\"y\":\"");
	char canon[512];
	uint8_t h[32];

	assert_non_null(x);
	assert_non_null(y);
	snprintf(canon, sizeof(canon), "{\"crv\":\"P-256\",\"kty\":\"EC\","
	    "\"x\":\"%.43s\",\"y\":\"%.43s\"}", x + 5, y + 5);
	SHA256((const uint8_t *)canon, strlen(canon), h);
	b64u(h, 32, out);
	free(jwk);
}

/* An ES256 proof by P-256 key ${k} for ${htm} ${htu}, ath of ${tok}
 * (NULL: none), ${jti} and ${iat}; allocated. */
static inline char *
es256_proof(const struct tkey *k, const char *htm, const char *htu,
    const char *tok, const char *jti, long long iat)
{
	char *jwk = pub_jwk(k, ""), *h = jbuf(), *c = jbuf(), *p;
	int n;

	snprintf(h, 8192, "{\"typ\":\"dpop+jwt\",\"alg\":\"ES256\","
	    "\"jwk\":%s}", jwk);
	n = snprintf(c, 8192, "{\"htm\":\"%s\",\"htu\":\"%s\",\"iat\":%lld,"
	    "\"jti\":\"%s\"", htm, htu, iat, jti);
	if (tok != NULL)
		n += snprintf(c + n, 8192 - (size_t)n, ",\"ath\":\"%s\"",
		    ath_of(tok));
	snprintf(c + n, 8192 - (size_t)n, "}");
	p = strdup(mint(k, JWS_ALG_ES256, h, c));
	assert_non_null(p);
	free(jwk);
	return (p);
}

#endif /* !SPOA_TESTJOSE_H */
