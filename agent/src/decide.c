/*
 * decide.c: see decide.h.  The order of checks is the contract's: route,
 * source address, then what the route requires.
 */
#include <string.h>

#include "cidr.h"
#include "config.h"
#include "decide.h"
#include "facts.h"
#include "jwt.h"
#include "route.h"
#include "snapshot.h"
#include "verdict.h"

enum decide_outcome
decide(const struct facts *f, const struct snapshot *s, struct decide_env *env,
    struct verdict *v)
{
	const struct config *cfg = snapshot_config(s);
	const struct route_cfg *rt;
	struct route_req rq = {
		.method = f->method.ptr, .method_len = f->method.len,
		.host = f->host.ptr, .host_len = f->host.len,
		.path = f->path.ptr, .path_len = f->path.len,
	};
	int idx;

	verdict_init(v);
	/* A policy_url that never loaded: its routes are unknown, so no
	 * request can be decided (HAProxy answers 503). */
	if (cfg->policy_url != NULL && !s->policy_loaded) {
		verdict_set(v, REASON_NOT_READY, "policy not loaded yet");
		return (DECIDE_DONE);
	}
	/* fetch.max_stale_s ends the use of a policy nobody could refresh. */
	if (cfg->policy_url != NULL && cfg->fetch.max_stale_s > 0 &&
	    env->now - s->policy_at > (int64_t)cfg->fetch.max_stale_s) {
		verdict_set(v, REASON_NOT_READY, "policy older than max_stale_s");
		return (DECIDE_DONE);
	}
	idx = route_match(cfg->routes, cfg->nroutes, &rq);
	if (idx < 0) {
		verdict_set(v, REASON_NO_ROUTE, idx == -2 ? "path refused" : NULL);
		return (DECIDE_DONE);
	}
	rt = &cfg->routes[idx];
	v->route = rt->name;

	if (rt->source_cidrs != NULL) {
		bool ok = false;

		if (f->src_family == 4)
			ok = cidr_list_match_v4(rt->source_cidrs, f->src);
		else if (f->src_family == 6)
			ok = cidr_list_match_v6(rt->source_cidrs, f->src);
		if (!ok) {
			verdict_set(v, REASON_SOURCE_DENIED,
			    f->src_family ? "source not allowed" : "no source address");
			return (DECIDE_DONE);
		}
	}

	switch (rt->require) {
	case REQUIRE_NONE:
		verdict_set(v, REASON_OK, NULL);
		return (DECIDE_DONE);
	case REQUIRE_JWT:
		return (jwt_decide(f, s, rt, env, v, NULL));
	case REQUIRE_MTLS:
	case REQUIRE_JWT_MTLS:
		break;
	}
	/* Certificate checks are not wired yet: fail closed. */
	verdict_set(v, REASON_NOT_READY, "requirement not supported yet");
	return (DECIDE_DONE);
}
