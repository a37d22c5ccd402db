/*
 * assertion.h: the identity assertion of an allowed request on a route
 * with "assertion" (README "Identity assertions for APIM"): a short-lived
 * JWT signed by the agent's own key (signer.h), carrying the identity the
 * agent established and nothing else of the incoming token, sent to
 * HAProxy as txn.iam.assertion.
 *
 * Claims: iss (assertion_issuer), aud (the route's audience), iat = nbf,
 * exp (iat + ttl_s, never past the token's own exp), jti (random), and,
 * when the token has them, sub, client_id, tid, scope and roles (the
 * values of txn.iam.sub, client_id, tenant, scopes and roles: space-
 * separated strings), route (the route's name), x5t#S256 (base64url
 * SHA-256 of the client certificate HAProxy verified, when there is one),
 * and with "request_id": true, rid (the request's unique-id).
 *
 * Cached with the verified token: a token's cache entry holds a small
 * set of assertions (struct asrt_set, attached to the entry: the token
 * record itself is immutable), one per route and certificate, at most
 * ASRT_PER_TOKEN.  One is reused until three quarters of its lifetime has
 * passed, and only while its key is still published, so that a cache hit
 * costs no signature and the receiver always gets at least a quarter of
 * ttl_s.  A route whose assertions carry the request id signs every
 * request and caches nothing: a request id is the one thing of an
 * assertion that a later request cannot share.
 */
#ifndef SPOA_ASSERTION_H
#define SPOA_ASSERTION_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct asrt_set;
struct config;
struct decide_env;
struct facts;
struct route_cfg;
struct signer;
struct tokrec;
struct verdict;

/* Assertions cached per token (routes x client certificates). */
#define ASRT_PER_TOKEN		4
/* Claims of one assertion, bytes of JSON at most (its JWT is about 4/3
 * of that, plus the header and the signature: one HTTP header). */
#define ASRT_CLAIMS_MAX		4096

/* What an assertion is made of. */
struct asrt_in {
	const struct config *cfg;      /* assertion_issuer */
	const struct route_cfg *rt;    /* has an assertion */
	const struct tokrec *rec;      /* the verified token */
	const uint8_t *cert_sha256;    /* the verified client certificate's,
	                                * or NULL */
	const char *rid;               /* the request id (unique_id), or NULL */
	size_t rid_len;
	int64_t now;
};

/*
 * assertion_claims(in, exp, jti, out, cap):
 * The claims of ${in}'s assertion, issued at ${in}->now and expiring at
 * ${exp}, with ${jti}, as a JSON object into ${out} (${cap} bytes,
 * NUL-terminated).  Return its length, or -1 when it does not fit.  Pure.
 */
ssize_t assertion_claims(const struct asrt_in *in, int64_t exp,
    const char *jti, char *out, size_t cap);

/*
 * assertion_exp(in): when ${in}'s assertion expires: now + ttl_s, or the
 * token's exp if that comes first.
 */
int64_t assertion_exp(const struct asrt_in *in);

/*
 * assertion_add(in, sg, env, set, v):
 * Add variable "assertion" to the allowed verdict ${v}: the one of *${set}
 * (the token's cached set, or NULL) for this route and certificate while
 * it is fresh and its key is published by ${sg}; else a new one signed
 * with ${sg}, kept in *${set} (made if NULL: the caller attaches it to the
 * token's cache entry) unless ${set} itself is NULL (no cache).  Counts
 * signatures and reuses in ${env}->stats.  On failure ${v} becomes a
 * refusal: not_ready (no key yet, OpenSSL failed, out of memory) or
 * identity_unsendable (claims above ASRT_CLAIMS_MAX).
 */
void assertion_add(const struct asrt_in *in, const struct signer *sg,
    struct decide_env *env, struct asrt_set **set, struct verdict *v);

/* assertion_set_free(set): tokcache_free_fn for attached sets; NULL ok. */
void assertion_set_free(void *set);

/* assertion_set_count(set): assertions held (tests). */
size_t assertion_set_count(const struct asrt_set *set);

#endif /* !SPOA_ASSERTION_H */
