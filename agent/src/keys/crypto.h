/*
 * crypto.h: verification keys and JWS signature verification (RFC 7515,
 * RFC 7518 §3, RFC 8037), plus the few hashes the agent needs.  crypto.c is
 * the only module of the JWT path that includes OpenSSL headers.
 *
 * A struct crypto_key is built once, when a key set or a config is loaded,
 * and is immutable afterwards: any number of threads may call
 * crypto_verify() on the same key at once.  Everything OpenSSL needs per
 * algorithm (digests, a verify context initialised with padding, digest,
 * MGF1 and salt length) is prepared by the constructor; each thread copies
 * that context once per key and algorithm and re-uses its copy (crypto.c),
 * so a verification looks nothing up.  Every signature is checked by
 * OpenSSL (EVP_PKEY_verify, EVP_DigestVerify, EVP_MAC): there is no other
 * verification road.
 *
 * Key rules (jwt.md §3 S2-S5, S16, S17):
 *  - RSA: modulus 2048..8192 bits, odd, no prime factor below 168, not a
 *    ROCA (CVE-2017-15361) modulus; public exponent odd, 3 <= e <= 2^32-1.
 *    Leading zero bytes of n and e are accepted and ignored.
 *  - EC: P-256, P-384, P-521; x and y exactly the field length; the point
 *    must be on the curve (OpenSSL's public-key check).
 *  - Ed25519: 32-byte public key.
 *  - HMAC: secret of at least 32 bytes; an HS384/HS512 verification also
 *    needs a secret at least as long as the hash (48/64 bytes).
 * Constructors return NULL with a constant, loggable reason in *${why};
 * they never log themselves and never put key bytes in ${why}.
 */
#ifndef SPOA_CRYPTO_H
#define SPOA_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jwa.h"

#define CRYPTO_RSA_MIN_BITS	2048
#define CRYPTO_RSA_MAX_BITS	8192
#define CRYPTO_HMAC_MIN_LEN	32
#define CRYPTO_PEM_MAX_LEN	65536

enum crypto_curve {
	CRYPTO_CURVE_P256,
	CRYPTO_CURVE_P384,
	CRYPTO_CURVE_P521,
};

struct crypto_key;

/*
 * crypto_curve_parse(name, len):
 * Map a JWK "crv" name ("P-256", "P-384", "P-521"; exact, case-sensitive)
 * to enum crypto_curve.  Return -1 for anything else.
 */
int crypto_curve_parse(const char *name, size_t len);

/*
 * crypto_curve_field_len(crv):
 * Byte length of a coordinate (and of R and S) on ${crv}: 32, 48 or 66.
 */
size_t crypto_curve_field_len(enum crypto_curve crv);

/*
 * crypto_key_rsa(n, n_len, e, e_len, why):
 * Build an RSA verification key from the big-endian modulus ${n} and
 * public exponent ${e} (the decoded JWK "n" and "e").  Return the key
 * (caller frees with crypto_key_free()), or NULL and a reason in *${why}.
 * It may verify RS256/384/512 and PS256/384/512.
 */
struct crypto_key *crypto_key_rsa(const uint8_t *n, size_t n_len,
    const uint8_t *e, size_t e_len, const char **why);

/*
 * crypto_key_ec(crv, x, x_len, y, y_len, why):
 * Build an ECDSA verification key on ${crv} from the big-endian affine
 * coordinates ${x}, ${y}, each exactly crypto_curve_field_len(${crv})
 * bytes, except that a P-521 coordinate may be one byte short (a leading
 * zero dropped by the encoder; it is put back).  Return the key, or NULL and a reason in *${why} (wrong length,
 * point not on the curve).  It may verify only the algorithm of its
 * curve: ES256 for P-256, ES384 for P-384, ES512 for P-521.
 */
struct crypto_key *crypto_key_ec(enum crypto_curve crv, const uint8_t *x,
    size_t x_len, const uint8_t *y, size_t y_len, const char **why);

/*
 * crypto_key_ed25519(x, x_len, why):
 * Build an Ed25519 verification key (EdDSA) from the 32-byte public key
 * ${x}.  Return the key, or NULL and a reason in *${why}.
 */
struct crypto_key *crypto_key_ed25519(const uint8_t *x, size_t x_len,
    const char **why);

/*
 * crypto_key_hmac(secret, len, why):
 * Build an HMAC key from the ${len} bytes at ${secret} (copied; the caller
 * keeps and cleanses its own buffer).  ${len} must be at least
 * CRYPTO_HMAC_MIN_LEN.  The key allows HS256, plus HS384 if ${len} >= 48
 * and HS512 if ${len} >= 64.  Return the key, or NULL and *${why}.  The
 * secret lives only inside OpenSSL MAC contexts, which cleanse it when the
 * key is freed; temporary copies are cleansed with OPENSSL_cleanse.
 */
struct crypto_key *crypto_key_hmac(const uint8_t *secret, size_t len,
    const char **why);

/*
 * crypto_key_from_pem(pem, len, why):
 * Build a key from one PEM "PUBLIC KEY" (SubjectPublicKeyInfo) block of
 * ${len} <= CRYPTO_PEM_MAX_LEN bytes (RSA, EC on the three curves, or
 * Ed25519).  The components are extracted and passed through the
 * constructors above, so the same rules apply.  Return the key, or NULL and
 * *${why}.
 */
struct crypto_key *crypto_key_from_pem(const char *pem, size_t len,
    const char **why);

/* crypto_key_free(k): release ${k}; NULL is a no-op. */
void crypto_key_free(struct crypto_key *k);

/*
 * crypto_key_algs(k):
 * The set of JWS_ALG_BIT()s that ${k} may verify, from its type, curve
 * and (HMAC) secret length.  Never 0 for a constructed key.
 */
uint32_t crypto_key_algs(const struct crypto_key *k);

/*
 * crypto_key_allows(k, alg):
 * 1 if ${alg} is compatible with the type of ${k} (RSA: RS and PS; EC:
 * only the ES of its curve; Ed25519: EdDSA; HMAC: HS whose hash length
 * the secret covers), 0 otherwise (also for an out-of-range ${alg}).
 */
int crypto_key_allows(const struct crypto_key *k, enum jws_alg alg);

/*
 * crypto_key_desc(k):
 * A short constant-format description for logs and metrics, e.g.
 * "RSA-2048", "EC-P-256", "Ed25519", "HMAC-32".  Contains no key bytes.
 */
const char *crypto_key_desc(const struct crypto_key *k);

/*
 * crypto_key_fingerprint(k, out):
 * Write into ${out} the SHA-256 of ${k}'s public key as DER
 * SubjectPublicKeyInfo (for HMAC, of a domain-separation prefix and the
 * secret).  Equal keys have equal fingerprints, whichever way they were
 * loaded (JWK or PEM) and however often they are re-fetched.
 */
void crypto_key_fingerprint(const struct crypto_key *k, uint8_t out[32]);

/*
 * crypto_verify(k, alg, msg, msg_len, sig, sig_len):
 * Verify that ${sig} is a valid ${alg} signature (JWS encoding) of the
 * ${msg_len} bytes at ${msg} under ${k}.  Return 0 if it is, -1 otherwise:
 * ${alg} not allowed for ${k} (checked before OpenSSL is touched), wrong
 * signature length (RS/PS: modulus length; ES: exactly 2 x field length,
 * R and S each in [1, n-1]; EdDSA: 64; HS: exactly the hash length),
 * PKCS#1 v1.5 encoding not exactly the expected one, PSS salt length other
 * than the hash length or MGF1 hash other than the signature hash, or a
 * mismatch.  HMAC tags are compared with CRYPTO_memcmp.  The OpenSSL error
 * queue of the calling thread is left empty.  Thread-safe.
 */
int crypto_verify(const struct crypto_key *k, enum jws_alg alg,
    const uint8_t *msg, size_t msg_len, const uint8_t *sig, size_t sig_len);

/*
 * crypto_verify_sha256(k, alg, msg, msg_len, msg_sha256, sig, sig_len):
 * crypto_verify(), for a caller that already holds the SHA-256 of ${msg}
 * in ${msg_sha256} (32 bytes; NULL: none): algorithms that hash with
 * SHA-256 (RS256, PS256, ES256) use it instead of hashing ${msg} again;
 * the others ignore it.  The caller vouches that it is the SHA-256 of
 * exactly these ${msg_len} bytes.
 */
int crypto_verify_sha256(const struct crypto_key *k, enum jws_alg alg,
    const uint8_t *msg, size_t msg_len, const uint8_t *msg_sha256,
    const uint8_t *sig, size_t sig_len);

/*
 * crypto_cache_key(p, len, out):
 * The verified-token cache's key for the ${len} bytes at ${p} (a token):
 * SipHash-2-4 with a 128-bit output, under a secret key drawn once per
 * process from the CSPRNG, then 16 zero bytes.  A keyed hash is enough
 * for a key the cache compares but never shows: nobody who does not know
 * the secret can make two tokens collide (SipHash is a PRF, made for hash
 * tables keyed by input an attacker chooses), and it costs about half a
 * SHA-256 of the same bytes, most of a cache hit.  Where OpenSSL has no
 * SipHash (a FIPS provider only), it is the SHA-256 of the bytes.  The
 * key must never be logged or sent anywhere.  Return 0, or -1 (${out}
 * zeroed).
 */
int crypto_cache_key(const void *p, size_t len, uint8_t out[32])
	__attribute__((warn_unused_result));

/*
 * crypto_sha256(p, len, out), crypto_sha1(p, len, out):
 * Hash ${len} bytes at ${p} into ${out}.  Return 0, or -1 if OpenSSL
 * failed (then ${out} is zeroed and must not be used).
 */
int crypto_sha256(const void *p, size_t len, uint8_t out[32])
	__attribute__((warn_unused_result));
int crypto_sha1(const void *p, size_t len, uint8_t out[20])
	__attribute__((warn_unused_result));

/*
 * crypto_random(buf, len):
 * Fill ${buf} with ${len} bytes from the OpenSSL CSPRNG.  Return 0 or -1.
 */
int crypto_random(void *buf, size_t len) __attribute__((warn_unused_result));

/*
 * crypto_memeq(a, b, len):
 * True if the ${len} bytes at ${a} and ${b} are equal, in time that does
 * not depend on where they differ (CRYPTO_memcmp): for thumbprints bound to
 * tokens and anything secret.
 */
bool crypto_memeq(const void *a, const void *b, size_t len);

#endif /* !SPOA_CRYPTO_H */
