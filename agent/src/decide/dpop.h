/*
 * dpop.h: DPoP proofs of possession (RFC 9449).
 *
 * A DPoP proof is a JWT the client signs for each request with a key whose
 * public half it carries in the proof's "jwk" header; the access token is
 * bound to that key by its "cnf": {"jkt": <RFC 7638 thumbprint>}.
 * dpop_check() makes the checks of RFC 9449 §4.3 that need only the proof
 * and the request; the caller adds the two that need state: jti replay
 * (dpop_proof.replay_key in a bounded cache) and the token's cnf.jkt
 * (against dpop_proof.jkt).  Pure: no clock (the caller passes now), no
 * I/O, no allocation that outlives the call.
 */
#ifndef SPOA_DPOP_H
#define SPOA_DPOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest jti accepted, in bytes. */
#define DPOP_JTI_MAX		256
/* Longest proof accepted, in bytes (an RSA-4096 jwk fits). */
#define DPOP_PROOF_MAX		8192
/* A proof may be this far in the future (clocks differ a little). */
#define DPOP_FUTURE_S		5

struct tokcache;

/* Proof keys one worker keeps (dpop_keys_new()). */
#define DPOP_KEYS_MAX		1024

/* The request the proof must be for.  Pointers borrow the caller's bytes;
 * none needs to be NUL-terminated. */
struct dpop_req {
	const char *method;
	size_t method_len;
	const char *scheme;           /* "https" (or "http"); NULL: https */
	size_t scheme_len;
	const char *host;             /* Host header, may carry a port */
	size_t host_len;
	const char *path;             /* path, a "?query" suffix is ignored */
	size_t path_len;
	const char *token;            /* the access token; NULL: none */
	size_t token_len;
	int64_t now;
	uint32_t max_age_s;           /* iat at most this old */
	uint32_t algs;                /* JWS_ALG_BIT set allowed for proofs */
	struct tokcache *keys;        /* proof keys by thumbprint (dpop_keys_new()),
	                               * of this thread only; NULL: none */
};

/* What a good proof yields. */
struct dpop_proof {
	uint8_t jkt[32];              /* RFC 7638 SHA-256 thumbprint of its key */
	uint8_t replay_key[32];       /* SHA-256 over jkt and jti */
	int64_t iat;
};

/*
 * dpop_check(proof, len, req, out, detail):
 * Check the DPoP proof ${proof} (${len} bytes) for the request ${req}
 * (RFC 9449 §4.3): a compact JWS of at most DPOP_PROOF_MAX bytes (jws.h's
 * strict rules) whose header has "typ" "dpop+jwt", an asymmetric "alg" in
 * ${req}->algs, and a "jwk" that is a public key (no private members; the
 * key set rules of jwks.h; built once per ${req}->keys) allowing that alg
 * and verifying the signature;
 * whose claims are "jti" (a string of 1..DPOP_JTI_MAX bytes), "htm"
 * equal to the method, "htu" naming the request's URI (dpop_htu_matches()),
 * "iat" a NumericDate from ${req}->now - max_age_s to ${req}->now +
 * DPOP_FUTURE_S, and, when ${req}->token is set, "ath" equal to the
 * base64url SHA-256 of the token.  On success fill *${out} and return 0;
 * otherwise return -1 with a constant *${detail} (dpop_invalid).
 */
int dpop_check(const char *proof, size_t len, const struct dpop_req *req,
    struct dpop_proof *out, const char **detail);

/*
 * dpop_keys_new(): a cache of proof keys for dpop_req.keys, by their RFC
 * 7638 thumbprint: a client signs its proofs with one key, which is then
 * built (decoded, imported into OpenSSL, checked) once, not per proof.
 * Only keys whose proof verified are kept; at most DPOP_KEYS_MAX, the
 * least recently used go first.  A key found there still has its JWK's
 * other members checked (jwks_key_check()) and verifies the signature of
 * every proof.  Free with tokcache_free().  NULL if out of memory.
 */
struct tokcache *dpop_keys_new(void);

/*
 * dpop_htu_matches(htu, len, req):
 * True if the URI ${htu} (${len} bytes) names the request ${req}, whose
 * query is ignored (RFC 9449 §4.3 item 9; htu itself has neither query nor
 * fragment, §4.2: one that has is refused), after RFC 3986 §6.2.2 and
 * §6.2.3 normalisation: scheme and host compared ignoring case, a
 * default port (443 for https, 80 for http) equal to none, a trailing dot
 * of the host ignored, paths compared after route_normalize_path() (an
 * empty path is "/").  A URI with user information, or that is not
 * absolute http(s), never matches.
 */
bool dpop_htu_matches(const char *htu, size_t len, const struct dpop_req *req);

#endif /* !SPOA_DPOP_H */
