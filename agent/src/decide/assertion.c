/*
 * assertion.c: see assertion.h.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assertion.h"
#include "b64url.h"
#include "config-t.h"
#include "crypto.h"
#include "decide.h"
#include "signer.h"
#include "stats.h"
#include "tokrec.h"
#include "util.h"
#include "verdict.h"

struct asrt_one {
	uint8_t ctx[16];              /* the route's assertion_cfg.ctx */
	uint8_t cert[32];             /* client certificate, if has_cert */
	bool has_cert;
	int64_t reuse_until;          /* then signed again */
	char kid[44];                 /* of the key that signed it */
	char *jwt;
	size_t len;
};

struct asrt_set {
	size_t n;
	struct asrt_one v[ASRT_PER_TOKEN];
};

/* Claims writer: bounded, JSON-escaped. */
struct jw {
	char *p;
	size_t n, cap;
	bool full;
};

static void
jw_raw(struct jw *w, const char *s, size_t len)
{
	if (w->full || len >= w->cap - w->n) {
		w->full = true;
		return;
	}
	memcpy(w->p + w->n, s, len);
	w->n += len;
}

static void
jw_str(struct jw *w, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";

	jw_raw(w, "\"", 1);
	for (size_t i = 0; i < len && !w->full; i++) {
		unsigned char c = (unsigned char)s[i];
		char e[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };

		if (c == '"' || c == '\\') {
			e[1] = (char)c;
			jw_raw(w, e, 2);
		} else if (c < 0x20 || c == 0x7f) {
			jw_raw(w, e, 6);
		} else {
			jw_raw(w, (const char *)&c, 1);
		}
	}
	jw_raw(w, "\"", 1);
}

/* ,"name":"value" (or the first member, with "{"). */
static void
jw_member(struct jw *w, const char *name, const char *val, size_t len)
{
	jw_raw(w, w->n == 0 ? "{" : ",", 1);
	jw_str(w, name, strlen(name));
	jw_raw(w, ":", 1);
	jw_str(w, val, len);
}

static void
jw_num(struct jw *w, const char *name, int64_t v)
{
	char b[32];
	int k = snprintf(b, sizeof(b), "%lld", (long long)v);

	jw_raw(w, w->n == 0 ? "{" : ",", 1);
	jw_str(w, name, strlen(name));
	jw_raw(w, ":", 1);
	jw_raw(w, b, (size_t)k);
}

int64_t
assertion_exp(const struct asrt_in *in)
{
	int64_t exp = in->now + (int64_t)in->rt->assertion->ttl_s;
	struct claim_times t;

	tokrec_times(in->rec, &t);
	/* Never past the token's own exp (a token accepted within its
	 * issuer's clock skew gets its own exp: already past). */
	if (t.has_exp && t.exp < (double)exp)
		exp = t.exp > (double)in->now ? (int64_t)t.exp : in->now;
	return (exp);
}

ssize_t
assertion_claims(const struct asrt_in *in, int64_t exp, const char *jti,
    char *out, size_t cap)
{
	static const struct {
		enum tokrec_ident id;
		const char *claim;
	} ident[] = {
		{ TOKREC_SUB, "sub" }, { TOKREC_CLIENT, "client_id" },
		{ TOKREC_TENANT, "tid" }, { TOKREC_SCOPES, "scope" },
		{ TOKREC_ROLES, "roles" },
	};
	struct jw w = { out, 0, cap, false };
	const char *val;
	size_t len;
	char x5t[48];

	if (cap == 0)
		return (-1);
	jw_member(&w, "iss", in->cfg->assertion_issuer,
	    strlen(in->cfg->assertion_issuer));
	jw_member(&w, "aud", in->rt->assertion->audience,
	    strlen(in->rt->assertion->audience));
	jw_num(&w, "iat", in->now);
	jw_num(&w, "nbf", in->now);
	jw_num(&w, "exp", exp);
	jw_member(&w, "jti", jti, strlen(jti));
	for (size_t i = 0; i < ARRAY_SIZE(ident); i++)
		if ((val = tokrec_ident(in->rec, ident[i].id, &len)) != NULL)
			jw_member(&w, ident[i].claim, val, len);
	jw_member(&w, "route", in->rt->name, strlen(in->rt->name));
	if (in->cert_sha256 != NULL) {
		len = b64url_encode(in->cert_sha256, 32, x5t, sizeof(x5t));
		jw_member(&w, "x5t#S256", x5t, len);
	}
	if (in->rt->assertion->request_id && in->rid != NULL)
		jw_member(&w, "rid", in->rid, in->rid_len);
	jw_raw(&w, "}", 1);
	if (w.full)
		return (-1);
	out[w.n] = '\0';
	return ((ssize_t)w.n);
}

static bool
same_cert(const struct asrt_one *a, const uint8_t *cert)
{
	if (cert == NULL)
		return (!a->has_cert);
	return (a->has_cert && memcmp(a->cert, cert, 32) == 0);
}

/* A cached assertion for ${in}, fresh and of a published key. */
static const struct asrt_one *
find(const struct asrt_set *set, const struct asrt_in *in,
    const struct signer *sg)
{
	const uint8_t *ctx = in->rt->assertion->ctx;

	for (size_t i = 0; set != NULL && i < set->n; i++) {
		const struct asrt_one *a = &set->v[i];

		if (memcmp(a->ctx, ctx, sizeof(a->ctx)) == 0 &&
		    same_cert(a, in->cert_sha256) && in->now < a->reuse_until &&
		    (strcmp(a->kid, signer_kid(sg)) == 0 ||
		    signer_publishes(sg, a->kid)))
			return (a);
	}
	return (NULL);
}

/* Keep ${jwt} in ${set}: in the slot of the same route and certificate,
 * else a free one, else the one reused the shortest. */
static void
keep(struct asrt_set *set, const struct asrt_in *in, const struct signer *sg,
    char *jwt, size_t len, int64_t reuse_until)
{
	const uint8_t *ctx = in->rt->assertion->ctx;
	struct asrt_one *a = NULL;

	for (size_t i = 0; i < set->n && a == NULL; i++)
		if (memcmp(set->v[i].ctx, ctx, sizeof(set->v[i].ctx)) == 0 &&
		    same_cert(&set->v[i], in->cert_sha256))
			a = &set->v[i];
	if (a == NULL && set->n < ASRT_PER_TOKEN)
		a = &set->v[set->n++];
	if (a == NULL) {
		a = &set->v[0];
		for (size_t i = 1; i < set->n; i++)
			if (set->v[i].reuse_until < a->reuse_until)
				a = &set->v[i];
	}
	free(a->jwt);
	memcpy(a->ctx, ctx, sizeof(a->ctx));
	a->has_cert = in->cert_sha256 != NULL;
	if (a->has_cert)
		memcpy(a->cert, in->cert_sha256, 32);
	a->reuse_until = reuse_until;
	(void)snprintf(a->kid, sizeof(a->kid), "%s", signer_kid(sg));
	a->jwt = jwt;
	a->len = len;
}

static void
refuse(struct decide_env *env, struct verdict *v, enum reason r,
    const char *detail)
{
	if (env->stats != NULL)
		STAT_INC(env->stats, assertion_errors);
	verdict_set(v, r, detail);
	verdict_drop_vars(v);
}

void
assertion_add(const struct asrt_in *in, const struct signer *sg,
    struct decide_env *env, struct asrt_set **set, struct verdict *v)
{
	const struct asrt_one *a;
	char claims[ASRT_CLAIMS_MAX + 1], jti[24], jwt[SIGNER_JWT_MAX];
	char *copy;
	uint8_t rnd[16];
	ssize_t cl, jl;
	int64_t exp, reuse;

	if (sg == NULL)
		return (refuse(env, v, REASON_NOT_READY,
		    "no assertion signing key"));
	if (in->rt->assertion->request_id)
		set = NULL;             /* one per request: never cached */
	if (set != NULL && (a = find(*set, in, sg)) != NULL) {
		if (env->stats != NULL)
			STAT_INC(env->stats, assertions_cached);
		if (verdict_add_clean(v, "assertion", a->jwt, a->len) != 0)
			refuse(env, v, REASON_IDENTITY_UNSENDABLE,
			    "the assertion exceeds the answer's room");
		return;
	}
	exp = assertion_exp(in);
	if (crypto_random(rnd, sizeof(rnd)) != 0)
		return (refuse(env, v, REASON_NOT_READY, "no random jti"));
	(void)b64url_encode(rnd, sizeof(rnd), jti, sizeof(jti));
	if ((cl = assertion_claims(in, exp, jti, claims, sizeof(claims))) < 0)
		return (refuse(env, v, REASON_IDENTITY_UNSENDABLE,
		    "assertion claims above 4 KiB"));
	if ((jl = signer_sign_jwt(sg, claims, (size_t)cl, jwt,
	    sizeof(jwt))) < 0)
		return (refuse(env, v, REASON_NOT_READY,
		    "the assertion could not be signed"));
	if (env->stats != NULL)
		STAT_INC(env->stats, assertions_signed);
	if (verdict_add_clean(v, "assertion", jwt, (size_t)jl) != 0)
		return (refuse(env, v, REASON_IDENTITY_UNSENDABLE,
		    "the assertion exceeds the answer's room"));
	/* Reused until three quarters of its life, so that it always
	 * reaches APIM with a quarter left. */
	reuse = in->now + (exp - in->now) * 3 / 4;
	if (set == NULL || reuse <= in->now ||
	    (copy = malloc((size_t)jl + 1)) == NULL)
		return;
	if (*set == NULL && (*set = calloc(1, sizeof(**set))) == NULL) {
		free(copy);
		return;
	}
	memcpy(copy, jwt, (size_t)jl + 1);
	keep(*set, in, sg, copy, (size_t)jl, reuse);
}

void
assertion_set_free(void *p)
{
	struct asrt_set *set = p;

	if (set == NULL)
		return;
	for (size_t i = 0; i < set->n; i++)
		free(set->v[i].jwt);
	free(set);
}

size_t
assertion_set_count(const struct asrt_set *set)
{
	return (set == NULL ? 0 : set->n);
}
