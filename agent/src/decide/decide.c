/*
 * decide.c: see decide.h.  The order of checks is the contract's: route,
 * source address, then what the route requires — the client certificate
 * first (mtls, jwt+mtls), then the bearer token.
 */
#include <string.h>

#include "cert.h"
#include "certcache.h"
#include "cidr.h"
#include "config-t.h"
#include "crl.h"
#include "decide.h"
#include "facts.h"
#include "httpuri.h"
#include "jwt.h"
#include "pop.h"
#include "route.h"
#include "snapshot.h"
#include "stats.h"
#include "util.h"
#include "verdict.h"

/* RFC 9728 §3: where protected resource metadata is asked for. */
#define WELL_KNOWN	"/.well-known/oauth-protected-resource"

/* Clock skew for certificate validity windows (APIM uses none; HAProxy
 * already refused certificates it could not verify). */
#define CERT_SKEW_S 60

/* Analyse the client certificate through the worker's cache. */
static const struct cert_info *
analyse(const struct facts *f, const struct snapshot *s,
    struct decide_env *env, const char **why)
{
	const struct ca_store *cas = snapshot_cfgref(s)->cas;
	const uint8_t *der = (const uint8_t *)f->cert_der.ptr;
	const struct cert_info *ci;
	bool hit;

	if (env->certcache == NULL)
		return (cert_analyze(der, f->cert_der.len, cas, why));
	ci = certcache_get(env->certcache, der, f->cert_der.len, cas, why,
	    &hit);
	if (env->stats != NULL) {
		if (hit)
			STAT_INC(env->stats, cert_cache_hits);
		else
			STAT_INC(env->stats, cert_cache_misses);
	}
	return (ci);
}

/*
 * The certificate requirements of ${rt}.  Return 0 with *${out} (a
 * reference the caller drops) when they are met, else -1 with ${v} set.
 */
static int
check_cert(const struct facts *f, const struct snapshot *s,
    const struct route_cfg *rt, struct decide_env *env, struct verdict *v,
    const struct cert_info **out)
{
	const struct config *cfg = snapshot_config(s);
	const struct cert_info *ci;
	const char *why = NULL;

	*out = NULL;
	if (f->cert_der.ptr == NULL) {
		verdict_set(v, REASON_CERT_REQUIRED, "no client certificate");
		return (-1);
	}
	if (!f->has_cert_verify || f->cert_verify != 0) {
		verdict_set(v, REASON_CERT_INVALID, f->has_cert_verify ?
		    "HAProxy could not verify the certificate" :
		    "no verify result from HAProxy");
		return (-1);
	}
	ci = analyse(f, s, env, &why);
	if (ci == NULL) {
		verdict_set(v, REASON_CERT_INVALID, why ? why : "unreadable certificate");
		return (-1);
	}
	if (verdict_add(v, "cert_sha256", ci->sha256_b64,
	    strlen(ci->sha256_b64)) != 0 || verdict_add(v, "cert_subject",
	    ci->subject, strlen(ci->subject)) != 0) {
		verdict_set(v, REASON_IDENTITY_UNSENDABLE,
		    "certificate identity cannot be sent whole");
		verdict_drop_vars(v);
		goto fail;
	}
	if ((rt->client_cert == NULL || rt->client_cert->check_validity) &&
	    cert_validity(ci, env->now, CERT_SKEW_S) != 0) {
		verdict_set(v, REASON_CERT_INVALID, "certificate outside its validity");
		goto fail;
	}
	if (cfg->crl_files.n > 0 || cfg->crl_urls.n > 0) {
		if (snapshot_crls(s) == NULL) {
			verdict_set(v, REASON_NOT_READY, "CRLs configured but not loaded");
			goto fail;
		}
		switch (crlset_check(snapshot_crls(s), ci, env->now)) {
		case CRL_GOOD:
			break;
		case CRL_REVOKED:
			verdict_set(v, REASON_CERT_REVOKED, "certificate revoked");
			goto fail;
		case CRL_STALE:
			if (cfg->crl_stale == CRL_STALE_DENY) {
				verdict_set(v, REASON_CERT_INVALID,
				    "CRL past its nextUpdate (crl_stale: deny)");
				goto fail;
			}
			break;
		case CRL_NO_CRL:
			verdict_set(v, REASON_CERT_INVALID,
			    "no CRL for the certificate's issuing CA");
			goto fail;
		}
	}
	if (rt->client_cert != NULL && cert_rule_match(rt->client_cert, ci, &why) != 0) {
		verdict_set(v, REASON_CERT_NOT_ALLOWED, why);
		goto fail;
	}
	*out = ci;
	return (0);
fail:
	cert_info_unref(ci);
	return (-1);
}

/*
 * A GET (or HEAD) of the metadata URL of a route's resource (RFC 9728
 * §3.1): answered with the document in the body variable, allowed, before
 * any route is matched (a client asks it before it has a token).
 */
static bool
metadata_request(const struct facts *f, const struct config *cfg,
    struct verdict *v)
{
	const struct httpuri_req u = {
		.scheme = f->scheme.ptr, .scheme_len = f->scheme.len,
		.host = f->host.ptr, .host_len = f->host.len,
		.path = f->path.ptr, .path_len = f->path.len,
	};

	if (f->path.len < sizeof(WELL_KNOWN) - 1 ||
	    memcmp(f->path.ptr, WELL_KNOWN, sizeof(WELL_KNOWN) - 1) != 0 ||
	    !(MEM_EQ_LIT(f->method.ptr, f->method.len, "GET") ||
	    MEM_EQ_LIT(f->method.ptr, f->method.len, "HEAD")))
		return (false);
	for (size_t i = 0; i < cfg->nroutes; i++) {
		const struct route_cfg *rt = &cfg->routes[i];

		if (rt->metadata_doc == NULL || !httpuri_names(rt->metadata_url,
		    strlen(rt->metadata_url), &u))
			continue;
		verdict_set(v, REASON_OK, "protected resource metadata");
		v->route = rt->name;
		if (verdict_add(v, "body", rt->metadata_doc,
		    rt->metadata_doc_len) != 0) {
			verdict_set(v, REASON_IDENTITY_UNSENDABLE,
			    "metadata document too large for the answer");
			verdict_drop_vars(v);
		}
		return (true);
	}
	return (false);
}

enum decide_outcome
decide(const struct facts *f, const struct snapshot *s, struct decide_env *env,
    struct verdict *v)
{
	const struct config *cfg = snapshot_config(s);
	const struct route_cfg *rt;
	const struct cert_info *ci = NULL;
	struct route_req rq = {
		.method = f->method.ptr, .method_len = f->method.len,
		.host = f->host.ptr, .host_len = f->host.len,
		.path = f->path.ptr, .path_len = f->path.len,
	};
	enum decide_outcome o;
	int idx;

	verdict_init(v);
	/* A policy_url that never loaded: its routes are unknown, so no
	 * request can be decided (HAProxy answers 503). */
	if (!snapshot_policy_loaded(s)) {
		verdict_set(v, REASON_NOT_READY, "policy not loaded yet");
		return (DECIDE_DONE);
	}
	/* fetch.max_stale_s ends the use of a policy nobody could refresh. */
	if (cfg->policy_url != NULL && cfg->fetch.max_stale_s > 0 &&
	    env->now - snapshot_policy_at(s) > (int64_t)cfg->fetch.max_stale_s) {
		verdict_set(v, REASON_NOT_READY, "policy older than max_stale_s");
		return (DECIDE_DONE);
	}
	if (f->path.ptr != NULL && metadata_request(f, cfg, v))
		return (DECIDE_DONE);
	idx = route_match(cfg->routes, cfg->nroutes, &rq);
	if (idx < 0) {
		verdict_set(v, REASON_NO_ROUTE, idx == ROUTE_REFUSED ?
		    "path refused" : NULL);
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
		/* A certificate-bound token is checked against the certificate
		 * of the connection even on a token-only route (RFC 8705 §3). */
		return (jwt_decide(f, s, rt, env, v, NULL));
	case REQUIRE_MTLS:
		if (check_cert(f, s, rt, env, v, &ci) == 0)
			verdict_set(v, REASON_OK, NULL);
		cert_info_unref(ci);
		return (DECIDE_DONE);
	case REQUIRE_JWT_MTLS:
		if (check_cert(f, s, rt, env, v, &ci) != 0) {
			pop_challenge(v, rt);   /* resource_metadata in a 401 */
			return (DECIDE_DONE);
		}
		o = jwt_decide(f, s, rt, env, v, ci->sha256);
		cert_info_unref(ci);
		return (o);
	}
	verdict_set(v, REASON_NOT_READY, "unknown requirement");
	return (DECIDE_DONE);
}
