/*
 * decide.h: the decision for one request, as a pure function of what
 * HAProxy sent (facts), the snapshot (routes, issuers, keys, CRLs), the
 * time, and the worker's caches (which only make it faster).
 */
#ifndef SPOA_DECIDE_H
#define SPOA_DECIDE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct facts;
struct snapshot;
struct verdict;
struct tokcache;
struct certcache;
struct agent_stats;

/* Longest kid a decision reports for a refetch (jws.h JWS_KID_MAX). */
#define DECIDE_KID_MAX	256

struct decide_env {
	int64_t now;                /* seconds since the epoch */
	struct tokcache *tokcache;  /* may be NULL (cache off) */
	struct certcache *certcache;/* may be NULL */
	struct agent_stats *stats;  /* may be NULL */
	bool may_park;              /* false once a request was parked already */
	/* Out, with DECIDE_PARK: the issuer whose keys must be refetched, and
	 * the unknown kid, copied (it is decoded from the token's header,
	 * which does not outlive the decision), NUL-terminated. */
	size_t park_issuer;
	char park_kid[DECIDE_KID_MAX + 1];
	size_t park_kid_len;
};

enum decide_outcome {
	DECIDE_DONE,    /* ${v} holds the answer */
	DECIDE_PARK,    /* a key is unknown: refetch, then decide again */
};

/*
 * decide(f, s, env, v):
 * Fill ${v} (initialised here) with the answer for ${f} under ${s}.  May
 * return DECIDE_PARK only when ${env}->may_park.
 */
enum decide_outcome decide(const struct facts *f, const struct snapshot *s,
    struct decide_env *env, struct verdict *v);

#endif /* !SPOA_DECIDE_H */
