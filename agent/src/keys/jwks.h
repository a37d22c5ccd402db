/*
 * jwks.h: JSON Web Key Sets (RFC 7517 §5) -> immutable, refcounted key
 * sets of verification keys (keyset.h).
 *
 * Policy (jwt.md §3 S2, S3, S17; Wycheproof json_web_key_test):
 *  - The document must be a JWK Set: an object with a "keys" array of at
 *    most JWKS_MAX_KEYS members.  A bare JWK object is refused: JWKS URIs
 *    publish sets (RFC 7517 §5, OIDC jwks_uri) and every Wycheproof key
 *    vector is a set, so accepting both would only make the input
 *    ambiguous.  Other top-level members are ignored.
 *  - The text must pass json_strict_check() (json_strict.h) or the whole
 *    document is refused before any tree is built: strict RFC 8259 JSON
 *    with nothing after the value, valid UTF-8, no \u0000 escape (cJSON
 *    would cut a kid there), no duplicate member names at any depth (cJSON
 *    would silently keep the first one), nesting at most 8 deep (x5c needs
 *    4) and no object or array with more than JWKS_MAX_KEYS members; and
 *    at most 65536 values in all, so a large document of tiny values
 *    never becomes millions of cJSON nodes.
 *  - Each key: "kty" RSA, EC or OKP (crv Ed25519) only.  "oct" keys and
 *    every other type are skipped: HMAC secrets come only from the issuer
 *    config (keyset_hmac()), never from a fetched document, so a key set
 *    can never mix symmetric and public keys.
 *  - "use", if present, must be "sig"; "key_ops", if present, must be an
 *    array of distinct strings containing "verify"; "alg", if present,
 *    must be a JWS algorithm compatible with kty/crv and narrows the key
 *    to it.  "kid", if present, is a non-empty string of at most
 *    JWKS_KID_MAX bytes; "issuer" (Entra) a string of at most
 *    JWKS_ISSUER_MAX bytes.  Key members are strict base64url.
 *  - A key that carries private members (d, p, q, dp, dq, qi, oth, k) is
 *    skipped: a published private key is compromised, anyone can sign
 *    with it.
 *  - Keys that share a kid are all skipped (Wycheproof DuplicateKid:
 *    ambiguous keys must not verify), unless they are identical (same key,
 *    same algorithms, same issuer), in which case one is kept.
 *  - Skipped keys are reported (position, kid, constant reason) and the
 *    others kept.  A document that fails the JSON rules above, has no
 *    "keys" array, or ends with no usable key fails as a whole, so it
 *    never replaces a good set.
 * x5c, x5t, x5t#S256 and x5u are ignored (never fetched, never trusted).
 */
#ifndef SPOA_JWKS_H
#define SPOA_JWKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "keyset.h"

#define JWKS_MAX_KEYS		256
#define JWKS_KID_MAX		256
#define JWKS_ISSUER_MAX		2048
#define JWKS_MAX_DOC		(4u << 20)	/* defensive; callers cap lower */
#define JWKS_REPORT_MAX		16
#define JWKS_REPORT_KID		64

struct cJSON;

struct jwks_skipped {
	size_t index;		/* position in "keys" */
	char kid[JWKS_REPORT_KID + 4];	/* printable, truncated; "" if none */
	const char *why;	/* constant */
};

struct jwks_report {
	size_t n_in;		/* members of "keys" */
	size_t n_kept;
	size_t n_skipped;	/* may exceed JWKS_REPORT_MAX */
	struct jwks_skipped skipped[JWKS_REPORT_MAX];
	const char *error;	/* constant; set when jwks_parse fails */
};

/*
 * jwks_parse(buf, len, out, rep):
 * Parse the ${len}-byte JWK Set at ${buf} (need not be NUL-terminated;
 * never read past ${len}).  On success store a new set with one reference
 * in *${out} (release with keyset_unref()) and return 0.  Otherwise return
 * -1 and leave *${out} untouched.  If ${rep} is not NULL it receives the
 * counts, the first JWKS_REPORT_MAX skipped keys with their reasons, and
 * on failure the reason in ${rep}->error; the caller logs them.  Nothing is
 * logged here.  Memory: a copy of the text and at most 65536 cJSON nodes,
 * freed before returning, besides the set itself.
 */
int jwks_parse(const char *buf, size_t len, struct keyset **out,
    struct jwks_report *rep);

/*
 * jwks_key_from_json(el, out, why):
 * One JWK (the JSON object ${el}) checked and built as jwks_parse() builds
 * each key of a set: public keys only, kty/crv/alg/use/key_ops rules, RSA
 * >= 2048 bits.  For a key a request carries (a DPoP proof's "jwk"), never
 * for a token's own header.  Return 0 with *${out} filled (release with
 * keyset_key_clear()), or -1 with a constant reason in *${why}.
 */
int jwks_key_from_json(const struct cJSON *el, struct jwk *out,
    const char **why);

/*
 * jwks_key_check(el, key_algs, algs, why):
 * The checks jwks_key_from_json() makes of ${el}'s members other than the
 * key material (kty, no private member, kid, use, key_ops, issuer, alg),
 * for a JWK whose key was built before from the same material (a DPoP
 * key found by its RFC 7638 thumbprint): set *${algs} to what a key
 * allowing ${key_algs} may verify under ${el}'s "alg" and return 0, or
 * return -1 with a constant reason in *${why}.
 */
int jwks_key_check(const struct cJSON *el, uint32_t key_algs, uint32_t *algs,
    const char **why);

/*
 * jwks_thumbprint(el, out, why):
 * The RFC 7638 JWK thumbprint of ${el}: SHA-256 over its required members
 * (RSA: e, kty, n; EC: crv, kty, x, y; OKP: crv, kty, x) in that order,
 * as JSON without whitespace, each value as written (it must be base64url
 * characters).  Return 0 with the 32 bytes in ${out}, or -1 with *${why}.
 */
int jwks_thumbprint(const struct cJSON *el, uint8_t out[32],
    const char **why);

#endif /* !SPOA_JWKS_H */
