/*
 * pop.c: see pop.h.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "config-t.h"
#include "crypto.h"
#include "facts.h"
#include "jwa.h"
#include "jws.h"
#include "tokcache.h"
#include "tokrec.h"
#include "util.h"
#include "verdict.h"
#include "pop.h"

/* What the replay cache keeps: only keys matter. */
static char seen;

static void
seen_free(void *p)
{
	(void)p;
}

int
pop_credential(const struct facts *f, const struct route_cfg *rt,
    const char **tok, size_t *len, struct pop_req *pr)
{
	const char *p = f->authz.ptr, *end;

	memset(pr, 0, sizeof(*pr));
	if (rt->dpop != DPOP_OFF && p != NULL) {
		end = p + f->authz.len;
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (end - p > 4 && util_mem_caseeq(p, "DPoP", 4) &&
		    p[4] == ' ') {
			for (p += 4; p < end && *p == ' '; p++)
				;
			while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
				end--;
			if (end == p)
				return (JWS_BEARER_MALFORMED);
			*tok = p;
			*len = (size_t)(end - p);
			pr->dpop_scheme = true;
			return (0);
		}
	}
	return (jws_bearer_span(f->authz.ptr, f->authz.len, tok, len));
}

/* A refusal of the proof: 401 with an invalid_dpop_proof challenge. */
static int
bad_proof(struct verdict *v, enum reason r, const char *detail)
{
	verdict_set(v, r, detail);
	verdict_challenge(v, "invalid_dpop_proof", detail, NULL);
	return (-1);
}

/* A refusal of the token's binding: 401, invalid_token. */
static int
bad_binding(struct verdict *v, enum reason r, const char *detail)
{
	verdict_set(v, r, detail);
	verdict_challenge(v, "invalid_token", detail, NULL);
	return (-1);
}

int
pop_proof(const struct facts *f, const struct route_cfg *rt,
    const char *tok, size_t len, int64_t now, struct tokcache *keys,
    struct pop_req *pr, struct verdict *v)
{
	struct dpop_req q = {
		.method = f->method.ptr, .method_len = f->method.len,
		.scheme = f->scheme.ptr, .scheme_len = f->scheme.len,
		.host = f->host.ptr, .host_len = f->host.len,
		.path = f->path.ptr, .path_len = f->path.len,
		.token = tok, .token_len = len, .now = now,
		.max_age_s = rt->dpop_max_age_s, .algs = rt->dpop_algs,
		.keys = keys,
	};
	const char *detail = NULL;

	v->ch_dpop = pr->dpop_scheme;
	if (rt->dpop == DPOP_OFF)
		return (0);
	if (!pr->dpop_scheme) {
		if (rt->dpop == DPOP_REQUIRED)
			return (bad_proof(v, REASON_DPOP_INVALID, "this route "
			    "requires DPoP: Authorization: DPoP and a proof"));
		return (0);     /* a Bearer token; pop_bind() refuses a bound one */
	}
	/* RFC 9449 §4.3 check 1: one DPoP header.  Without the count
	 * (an iam.spoe.conf without dpop_count) two cannot be told from
	 * one: refused. */
	if (f->dpop_count < 0)
		return (bad_proof(v, REASON_DPOP_INVALID, "HAProxy sent no "
		    "dpop_count (add it to iam.spoe.conf)"));
	if (f->dpop_count > 1)
		return (bad_proof(v, REASON_DPOP_INVALID,
		    "more than one DPoP header"));
	if (f->dpop.ptr == NULL || f->dpop.len == 0)
		return (bad_proof(v, REASON_DPOP_INVALID, "no DPoP proof"));
	if (f->method.ptr == NULL)
		return (bad_proof(v, REASON_DPOP_INVALID, "no method"));
	if (dpop_check(f->dpop.ptr, f->dpop.len, &q, &pr->proof,
	    &detail) != 0)
		return (bad_proof(v, REASON_DPOP_INVALID, detail));
	pr->have_proof = true;
	return (0);
}

int
pop_bind(const struct tokrec *rec, const struct route_cfg *rt,
    const struct pop_req *pr, struct tokcache *replay, int64_t now,
    struct verdict *v)
{
	const uint8_t *jkt = NULL;
	enum tokrec_cnf c = tokrec_jkt(rec, &jkt);

	if (c == TOKREC_CNF_NOT_STRING)
		return (bad_binding(v, REASON_TOKEN_MALFORMED,
		    "cnf.jkt not a string"));
	if (!pr->dpop_scheme) {
		/* RFC 9449 §7.1: a DPoP-bound token is no bearer token, on
		 * any route (a stolen one would pass where DPoP is off). */
		if (c != TOKREC_CNF_ABSENT)
			return (bad_binding(v, REASON_DPOP_BINDING_MISMATCH,
			    "a DPoP-bound token sent as a Bearer token"));
		return (0);
	}
	if (!pr->have_proof)
		return (bad_proof(v, REASON_DPOP_INVALID, "no DPoP proof"));
	if (c == TOKREC_CNF_ABSENT)
		return (bad_binding(v, REASON_DPOP_BINDING_MISMATCH,
		    "token is not DPoP-bound (no cnf.jkt)"));
	/* An undecodable jkt matches no key. */
	if (c != TOKREC_CNF_SHA256 || !crypto_memeq(jkt, pr->proof.jkt, 32))
		return (bad_binding(v, REASON_DPOP_BINDING_MISMATCH,
		    "token bound to another key than the proof's"));
	/* RFC 9449 §11.1: a proof is used once within its window.  Kept
	 * until its iat leaves the window, when the iat check refuses it. */
	if (replay != NULL) {
		if (tokcache_get(replay, pr->proof.replay_key, now) != NULL)
			return (bad_proof(v, REASON_DPOP_REPLAYED,
			    "DPoP proof already used (jti seen)"));
		(void)tokcache_put(replay, pr->proof.replay_key, &seen,
		    pr->proof.iat + (int64_t)rt->dpop_max_age_s + 1,
		    seen_free);
	}
	return (0);
}

/* ---- challenges --------------------------------------------------------- */

/* A bounded text being appended to; full once anything did not fit. */
struct out {
	char *buf;
	size_t cap, n;
	bool full;
};

static void __attribute__((format(printf, 2, 3)))
put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int w;

	if (o->full)
		return;
	va_start(ap, fmt);
	w = vsnprintf(o->buf + o->n, o->cap - o->n, fmt, ap);
	va_end(ap);
	if (w < 0 || (size_t)w >= o->cap - o->n)
		o->full = true;
	else
		o->n += (size_t)w;
}

/* A value that can be a quoted-string without escapes. */
static bool
quotable(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s == '"' || *s == '\\' || (unsigned char)*s < 0x20)
			return (false);
	return (true);
}

/* One scheme's challenge: realm, the error parts if ${err}, the extras. */
static void
scheme(struct out *o, const struct verdict *v, const char *name, bool err,
    const char *algs, const char *rm)
{
	put(o, "%s%s realm=\"spoa-iam\"", o->n > 0 ? ", " : "", name);
	if (err && v->ch_set) {
		if (v->ch_error != NULL)
			put(o, ", error=\"%s\"", v->ch_error);
		if (v->ch_desc != NULL && quotable(v->ch_desc))
			put(o, ", error_description=\"%s\"", v->ch_desc);
		if (v->ch_scope != NULL && quotable(v->ch_scope))
			put(o, ", scope=\"%s\"", v->ch_scope);
	}
	if (algs != NULL)
		put(o, ", algs=\"%s\"", algs);
	if (rm != NULL)
		put(o, ", resource_metadata=\"%s\"", rm);
}

void
pop_challenge(struct verdict *v, const struct route_cfg *rt)
{
	struct out o = { v->www_authenticate, sizeof(v->www_authenticate), 0,
	    false };
	enum dpop_mode mode = rt != NULL ? rt->dpop : DPOP_OFF;
	const char *rm = rt != NULL && v->status == 401 ? rt->metadata_url :
	    NULL;
	char algs[128];
	struct out a = { algs, sizeof(algs), 0, false };

	if (!v->ch_set && rm == NULL)
		return;
	algs[0] = '\0';
	if (mode != DPOP_OFF)
		for (int g = 0; g < JWS_ALG_COUNT; g++)
			if (rt->dpop_algs & JWS_ALG_BIT(g))
				put(&a, "%s%s", a.n > 0 ? " " : "",
				    jwa_name((enum jws_alg)g));
	v->www_authenticate[0] = '\0';
	if (mode != DPOP_REQUIRED)
		scheme(&o, v, "Bearer", mode == DPOP_OFF || !v->ch_dpop, NULL,
		    rm);
	if (mode != DPOP_OFF)
		scheme(&o, v, "DPoP", mode == DPOP_REQUIRED || v->ch_dpop,
		    a.full ? NULL : algs, rm);
	if (o.full)
		v->www_authenticate[0] = '\0';  /* never a truncated header */
	if (rm != NULL && verdict_get(v, "resource_metadata") == NULL)
		(void)verdict_add(v, "resource_metadata", rm, strlen(rm));
}
