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

/* Longest kid a request may park on (a longer one is in no key set). */
#define DECIDE_KID_MAX	256

struct decide_env {
	int64_t now;                /* seconds since the epoch */
	struct tokcache *tokcache;  /* may be NULL (cache off) */
	struct certcache *certcache;/* may be NULL */
	struct tokcache *dpop_replay; /* DPoP proofs seen (pop.h); NULL: no
	                               * replay check (tests, benchmarks) */
	struct tokcache *dpop_keys;   /* DPoP proof keys (dpop_keys_new()) */
	struct agent_stats *stats;  /* may be NULL */
	bool may_park;              /* false once a request was parked already */
	/* Out, with DECIDE_PARK: the issuer whose keys must be refetched, and
	 * the unknown kid (park_kid points to park_kid_buf: the decoded
	 * token header it came from is gone when decide() returns). */
	size_t park_issuer;
	const char *park_kid;
	size_t park_kid_len;
	char park_kid_buf[DECIDE_KID_MAX];
};

enum decide_outcome {
	DECIDE_DONE,    /* ${v} holds the answer */
	DECIDE_PARK,    /* a key is unknown: refetch, then decide again */
};

/*
 * decide(f, s, env, v):
 * Fill ${v} (initialised here) with the answer for ${f} under ${s}.  May
 * return DECIDE_PARK only when ${env}->may_park.  While the config names a
 * policy_url whose document was never loaded (snapshot_policy_loaded()),
 * or whose document is older than fetch.max_stale_s (snapshot_policy_at()),
 * every request is not_ready.
 */
enum decide_outcome decide(const struct facts *f, const struct snapshot *s,
    struct decide_env *env, struct verdict *v);

#endif /* !SPOA_DECIDE_H */
