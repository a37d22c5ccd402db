/*
 * pop.h: proof of possession on a route's requests (RFC 9449 §4.3, §7):
 * which authorization scheme carries the token, the DPoP proof of the
 * request, the token's binding to the proof's key (cnf.jkt), replays
 * (a bounded per-worker cache), and the challenges of a DPoP or resource
 * route (RFC 9449 §7.1, RFC 9728 §5.1).  dpop.c checks a proof; this file
 * decides what a route makes of it.
 */
#ifndef SPOA_POP_H
#define SPOA_POP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dpop.h"

struct decide_env;
struct facts;
struct route_cfg;
struct tokcache;
struct tokrec;
struct verdict;

/* Proofs one worker remembers (jti replay cache). */
#define POP_REPLAY_ENTRIES	65536

/* What a request carries, once its credential is read. */
struct pop_req {
	bool dpop_scheme;             /* Authorization: DPoP <token> */
	bool have_proof;              /* a proof was checked and is good */
	struct dpop_proof proof;
};

/*
 * pop_credential(f, rt, tok, len, pr):
 * The access token of ${f}'s Authorization header on route ${rt}: the
 * "Bearer" scheme (jws_bearer_span()'s rules and answers), or, on a route
 * whose dpop is not off, "DPoP" (any case) followed by spaces and the
 * token (RFC 9449 §7.1), which sets ${pr}->dpop_scheme.  Return 0 with
 * *${tok}, *${len} set, JWS_BEARER_NONE or JWS_BEARER_MALFORMED.
 */
int pop_credential(const struct facts *f, const struct route_cfg *rt,
    const char **tok, size_t *len, struct pop_req *pr);

/*
 * pop_proof(f, rt, tok, len, now, keys, pr, v):
 * The DPoP checks a route makes before its token is verified: with the
 * DPoP scheme exactly one DPoP header holding a proof that dpop_check()
 * accepts for this request and token (algorithms and max age of ${rt};
 * ${keys}: the worker's proof keys, dpop_keys_new(), or NULL);
 * with Bearer on a dpop "required" route, a refusal.  Return 0 (with
 * ${pr}->proof when a proof was checked) or -1 with ${v} set
 * (dpop_invalid, 401 with a DPoP challenge).
 */
int pop_proof(const struct facts *f, const struct route_cfg *rt,
    const char *tok, size_t len, int64_t now, struct tokcache *keys,
    struct pop_req *pr, struct verdict *v);

/*
 * pop_bind(rec, rt, pr, replay, now, v):
 * After the token ${rec} is verified (hit or miss): a token bound to a key
 * (cnf.jkt) only with the DPoP scheme and a proof by that key
 * (RFC 7638 thumbprint, constant time); with the DPoP scheme only a bound
 * token; then the proof's jti must not have been seen by this worker within
 * its window (${replay}, a tokcache of replay keys, remembers it until
 * the proof's iat leaves the window).  Return 0, or -1 with ${v} set
 * (dpop_binding_mismatch, dpop_replayed, token_malformed).
 */
int pop_bind(const struct tokrec *rec, const struct route_cfg *rt,
    const struct pop_req *pr, struct tokcache *replay, int64_t now,
    struct verdict *v);

/*
 * pop_challenge(v, rt):
 * Render ${v}'s challenge (the error, description and scope a refusal
 * noted with verdict_challenge()) for route ${rt} into
 * ${v}->www_authenticate: "Bearer" alone as before on a route without
 * DPoP; "DPoP ... algs=" on a dpop "required" route; both on an "allowed"
 * one, the error on the scheme the request used (${v}->ch_dpop); and on a route with a
 * resource, resource_metadata="<url>" in each, for every 401, and the
 * resource_metadata variable.  Never a truncated header: one that does not
 * fit is left empty.  ${rt} NULL or a route with neither leaves ${v} as it
 * is.  May be called again: it renders from the noted parts.
 */
void pop_challenge(struct verdict *v, const struct route_cfg *rt);

#endif /* !SPOA_POP_H */
