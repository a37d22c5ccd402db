/*
 * jwt.c: see jwt.h.
 *
 * Order of checks on a cache miss (shared/reference/jwt.md §3, §6):
 *   Bearer credential -> strict compact JWS (jws_parse: structure, base64url,
 *   duplicate keys, crit, alg) -> issuer by "iss" among the route's issuers
 *   -> alg in the issuer's allow-list -> key by kid from OUR key set (never
 *   from the token) -> key type and alg agree -> the key's own issuer (Entra)
 *   -> signature -> typ -> exp/nbf/iat -> aud.
 * Then, hit or miss: the route's scopes, roles and claims, and the
 * variables.  The cache keeps verified claims only, never a route decision.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "b64url.h"
#include "cert.h"
#include "claims.h"
#include "config-t.h"
#include "crypto.h"
#include "facts.h"
#include "jwks.h"
#include "jws.h"
#include "jwt.h"
#include "snapshot.h"
#include "stats.h"
#include "tokcache.h"
#include "util.h"
#include "verdict.h"

_Static_assert(JWS_KID_MAX <= DECIDE_KID_MAX, "a parked kid must fit");

/* Tokens without kid: how many compatible keys we try at most. */
#define NOKID_MAX_TRIES      4
/* Cached entries without exp live this long. */
#define CACHE_NO_EXP_TTL     300

enum ident { ID_SUB, ID_ISS, ID_CLIENT, ID_TENANT, ID_SCOPES, ID_ROLES, ID_COUNT };
static const char *const ident_var[ID_COUNT] = {
	"sub", "issuer", "client_id", "tenant", "scopes", "roles",
};

/* A verified token: what the cache keeps. */
struct verified {
	cJSON *payload;
	const struct config *cfg;     /* verified under this config */
	uint64_t valid_gen;           /* snapshot still_valid() last passed */
	size_t issuer;                /* index in cfg->issuers */
	bool hmac;                    /* verified with the issuer's secret */
	char *kid;                    /* NULL without kid */
	size_t kid_len;
	uint8_t fp[32];               /* fingerprint of the verifying key */
	enum jws_alg alg;             /* the token's algorithm */
	char tenant[CLAIMS_GUID_LEN + 1]; /* the token's tid (a GUID), or "" */
	struct claim_times times;
	const char *ident_unsendable; /* identity variable that cannot be sent */
	char sub_hash[17];            /* hex of SHA-256(sub), 8 bytes, or "" */
	const char *ident[ID_COUNT];  /* rendered identity values, or NULL; */
	size_t ident_len[ID_COUNT];   /* in ident_buf (one allocation) */
	char *ident_buf;
};

static void
verified_free(void *p)
{
	struct verified *vf = p;

	if (vf == NULL)
		return;
	jws_tree_free(vf->payload);
	free(vf->kid);
	free(vf->ident_buf);
	free(vf);
}

static bool
remote_source(const struct issuer_cfg *is)
{
	return (is->source == KEYS_DISCOVERY || is->source == KEYS_JWKS_URL);
}

/* Issuer ${i}'s fetched key set is older than fetch.max_stale_s. */
static bool
keys_stale(const struct snapshot *s, size_t i, int64_t now)
{
	const struct config *cfg = snapshot_config(s);

	return (remote_source(&cfg->issuers[i]) && cfg->fetch.max_stale_s > 0 &&
	    now - s->keys_at[i] > (int64_t)cfg->fetch.max_stale_s);
}

/* The key that verified ${vf}, if ${s} still has it: by kid, or, for a
 * key without kid, by fingerprint. */
static const struct jwk *
find_key(const struct snapshot *s, const struct verified *vf)
{
	const struct keyset *ks = vf->hmac ? s->hmac[vf->issuer] :
	    s->keys[vf->issuer];

	if (ks == NULL)
		return (NULL);
	if (vf->kid != NULL || vf->hmac)
		return (keyset_find(ks, vf->kid, vf->kid_len));
	for (size_t k = 0; k < ks->n; k++)
		if (ks->keys[k].kid == NULL &&
		    memcmp(ks->keys[k].fp, vf->fp, sizeof(vf->fp)) == 0)
			return (&ks->keys[k]);
	return (NULL);
}

/*
 * Is the cached ${vf} still good under ${s}?  Same config, and the key
 * that verified it is still in the set with the same material, still
 * allows the algorithm, and (Entra) is still scoped to the token's issuer.
 */
static bool
still_valid(const struct verified *vf, const struct snapshot *s)
{
	const struct jwk *k;

	if (vf->cfg != snapshot_config(s))
		return (false);
	k = find_key(s, vf);
	if (k == NULL || memcmp(k->fp, vf->fp, sizeof(vf->fp)) != 0 ||
	    !(k->algs & JWS_ALG_BIT(vf->alg)))
		return (false);
	if (k->issuer != NULL) {
		const cJSON *iss = claims_get(vf->payload, "iss");

		if (!cJSON_IsString(iss) ||
		    claims_key_issuer_ok(k->issuer, iss->valuestring, vf->tenant) != 0)
			return (false);
	}
	return (true);
}

/*
 * still_valid(), asked once per snapshot: the worker sweeps its cache at
 * every new snapshot (jwt_cache_keep()), so a hit normally finds the entry
 * already confirmed for the snapshot it is decided under.
 */
static bool
valid_under(struct verified *vf, const struct snapshot *s)
{
	if (vf->valid_gen == s->gen)
		return (true);
	if (!still_valid(vf, s))
		return (false);
	vf->valid_gen = s->gen;
	return (true);
}

bool
jwt_cache_keep(void *val, void *snap)
{
	return (valid_under(val, snap));
}

/* What a sweep keeps: entries of issuers whose key sets are unchanged
 * (${changed} NULL: none is), and the others still_valid() passes. */
struct sweep {
	const struct snapshot *snap;
	const bool *changed;          /* [nissuers of snap's config] */
};

static bool
keep_unless_changed(void *val, void *arg)
{
	const struct sweep *sw = arg;
	struct verified *vf = val;

	if (sw->changed != NULL && vf->cfg == snapshot_config(sw->snap) &&
	    !sw->changed[vf->issuer])
		return (true);
	return (valid_under(vf, sw->snap));
}

bool
jwt_cache_sweep(struct tokcache *tc, const struct snapshot *old,
    const struct snapshot *s)
{
	const struct config *cfg = snapshot_config(s);
	struct sweep sw = { s, NULL };
	bool *changed = NULL, any = false;

	if (tc == NULL)
		return (false);
	/* Both snapshots are alive: equal key set pointers are the same
	 * key set, unchanged (a 304 revalidation republishes it as is). */
	if (old != NULL && snapshot_config(old) == cfg && cfg->nissuers > 0 &&
	    (changed = calloc(cfg->nissuers, sizeof(*changed))) != NULL) {
		for (size_t i = 0; i < cfg->nissuers; i++) {
			changed[i] = old->keys[i] != s->keys[i] ||
			    old->hmac[i] != s->hmac[i];
			any = any || changed[i];
		}
		if (!any) {
			free(changed);
			return (false);
		}
		sw.changed = changed;
	}
	/* Otherwise (another config, no issuer, no memory for the diff):
	 * every entry is checked. */
	tokcache_sweep(tc, keep_unless_changed, &sw);
	free(changed);
	return (true);
}

/*
 * Values are rendered into this per-thread buffer first (every identity
 * value of a token together is at most one answer's arena), then copied.
 */
static _Thread_local char render_buf[VERDICT_ARENA + ID_COUNT];

/* Rendering results besides a length. */
#define R_ABSENT	(-1)            /* no such claim: no variable */
#define R_UNSENDABLE	(-2)            /* present, cannot be sent whole */

/* Render a claim for a variable into ${buf} (${cap} bytes). */
static ssize_t
render(const cJSON *item, char *buf, size_t cap)
{
	ssize_t n;

	if (item == NULL || cJSON_IsNull(item))
		return (R_ABSENT);
	n = claims_render(item, buf, cap);
	return (n < 0 ? R_UNSENDABLE : n);
}

/* A plain string claim (client id, tenant) as a value. */
static ssize_t
plain(const char *s, char *buf, size_t cap)
{
	size_t n;

	if (s == NULL)
		return (R_ABSENT);
	if ((n = strlen(s)) >= cap)
		return (R_UNSENDABLE);
	memcpy(buf, s, n);
	return ((ssize_t)n);
}

/*
 * The identity variables, rendered once per verified token, in one block.
 * A value that is present but cannot be sent whole (too large, a control
 * character, an object) marks the token: its requests are refused
 * (identity_unsendable), never answered without it.  -1 if out of memory.
 */
static int
fill_identity(struct verified *vf)
{
	const cJSON *p = vf->payload;
	const struct issuer_cfg *is = &vf->cfg->issuers[vf->issuer];
	char *buf = render_buf;
	ssize_t n[ID_COUNT];
	size_t at[ID_COUNT], off = 0, cap = sizeof(render_buf);
	const char *sub = claims_string(p, "sub");
	uint8_t h[32];

	/* Logs name the subject by a short hash, never by its value. */
	if (sub != NULL && crypto_sha256(sub, strlen(sub), h) == 0)
		for (int i = 0; i < 8; i++)
			(void)snprintf(vf->sub_hash + 2 * i, 3, "%02x", h[i]);

	for (int i = 0; i < ID_COUNT; i++) {
		char *o = buf + off;
		size_t room = cap - off;

		switch (i) {
		case ID_SUB:
			n[i] = render(claims_get(p, "sub"), o, room);
			break;
		case ID_ISS:
			n[i] = render(claims_get(p, "iss"), o, room);
			break;
		case ID_CLIENT:
			n[i] = plain(claims_client_id(p), o, room);
			break;
		case ID_TENANT:
			n[i] = plain(claims_tenant(p), o, room);
			break;
		case ID_SCOPES:
			n[i] = claims_render_words(p, CLAIMS_SCOPES,
			    &is->scopes_claims, o, room);
			break;
		default:
			n[i] = claims_render_words(p, CLAIMS_ROLES,
			    &is->roles_claims, o, room);
			break;
		}
		if (n[i] == R_UNSENDABLE || (n[i] >= 0 &&
		    (size_t)n[i] > VERDICT_VALUE_MAX)) {
			vf->ident_unsendable = ident_var[i];
			n[i] = R_ABSENT;
		}
		if (n[i] <= 0)
			continue;       /* absent or empty: no variable */
		at[i] = off;
		off += (size_t)n[i] + 1;
		buf[off - 1] = '\0';
	}
	if (off == 0)
		return (0);
	if ((vf->ident_buf = malloc(off)) == NULL)
		return (-1);
	memcpy(vf->ident_buf, buf, off);
	for (int i = 0; i < ID_COUNT; i++) {
		if (n[i] <= 0)
			continue;
		vf->ident[i] = vf->ident_buf + at[i];
		vf->ident_len[i] = (size_t)n[i];
	}
	return (0);
}

/* A verified identity that cannot reach HAProxy whole: refused, loudly. */
static enum decide_outcome
unsendable(struct verdict *v, const char *detail)
{
	verdict_set(v, REASON_IDENTITY_UNSENDABLE, detail);
	verdict_drop_vars(v);
	return (DECIDE_DONE);
}

/* RFC 6750 §3 challenges.  ${detail} and ${scope} come from constant texts
 * or the config; anything that would need escaping is left out. */
static bool
quotable(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s == '"' || *s == '\\' || (unsigned char)*s < 0x20)
			return (false);
	return (true);
}

static void
challenge(struct verdict *v, const char *error, const char *desc,
    const char *scope)
{
	int n = snprintf(v->www_authenticate, sizeof(v->www_authenticate),
	    "Bearer realm=\"spoa-iam\"");
	size_t len = n > 0 ? (size_t)n : 0;

	if (error != NULL && len < sizeof(v->www_authenticate)) {
		n = snprintf(v->www_authenticate + len,
		    sizeof(v->www_authenticate) - len, ", error=\"%s\"", error);
		len += n > 0 ? (size_t)n : 0;
	}
	if (desc != NULL && quotable(desc) && len < sizeof(v->www_authenticate)) {
		n = snprintf(v->www_authenticate + len,
		    sizeof(v->www_authenticate) - len,
		    ", error_description=\"%s\"", desc);
		len += n > 0 ? (size_t)n : 0;
	}
	if (scope != NULL && quotable(scope) && len < sizeof(v->www_authenticate))
		(void)snprintf(v->www_authenticate + len,
		    sizeof(v->www_authenticate) - len, ", scope=\"%s\"", scope);
	if (len >= sizeof(v->www_authenticate))
		v->www_authenticate[0] = '\0';  /* never a truncated header */
}

/* A failed token: 401 with an invalid_token challenge. */
static enum decide_outcome
deny401(struct verdict *v, enum reason r, const char *detail)
{
	verdict_set(v, r, detail);
	if (r == REASON_TOKEN_MISSING)
		challenge(v, NULL, NULL, NULL);
	else if (reason_status(r) == 401)
		challenge(v, "invalid_token", detail ? detail : reason_name(r), NULL);
	return (DECIDE_DONE);
}

/* Route rules that a verified token must also meet, and the variables. */
static enum decide_outcome
route_checks(const struct verified *vf, const struct route_cfg *rt,
    struct verdict *v)
{
	const struct issuer_cfg *is = &vf->cfg->issuers[vf->issuer];
	const char *missing = NULL;

	if (claims_check_words(vf->payload, CLAIMS_SCOPES, &is->scopes_claims,
	    &rt->scopes_any, &rt->scopes_all, &missing) != 0) {
		verdict_set(v, REASON_SCOPE_MISSING, "required scope missing");
		challenge(v, "insufficient_scope", "required scope missing", missing);
		return (DECIDE_DONE);
	}
	if (claims_check_words(vf->payload, CLAIMS_ROLES, &is->roles_claims,
	    &rt->roles_any, &rt->roles_all, &missing) != 0) {
		verdict_set(v, REASON_ROLE_MISSING, "required role missing");
		challenge(v, "insufficient_scope", "required role missing", NULL);
		return (DECIDE_DONE);
	}
	if (claims_check_rules(vf->payload, rt->claims, rt->nclaims, &missing) != 0) {
		verdict_set(v, REASON_CLAIM_MISMATCH, "claim value not allowed");
		challenge(v, "insufficient_scope", "claim value not allowed", NULL);
		return (DECIDE_DONE);
	}
	if (vf->ident_unsendable != NULL)
		return (unsendable(v, "an identity value cannot be sent whole "
		    "(too large, or a control character)"));
	verdict_set(v, REASON_OK, NULL);
	for (int i = 0; i < ID_COUNT; i++)
		if (vf->ident[i] != NULL && verdict_add(v, ident_var[i],
		    vf->ident[i], vf->ident_len[i]) != 0)
			return (unsendable(v, "identity variables exceed the "
			    "answer's room"));
	for (size_t i = 0; i < rt->nclaims_to_vars; i++) {
		const cJSON *item = claims_get(vf->payload,
		    rt->claims_to_vars[i].claim);
		ssize_t n = render(item, render_buf, sizeof(render_buf));

		if (n == R_ABSENT || n == 0)
			continue;
		if (n < 0 || verdict_add(v, rt->claims_to_vars[i].var,
		    render_buf, (size_t)n) != 0)
			return (unsendable(v, "a claims_to_vars value cannot be "
			    "sent whole (too large, a control character, an "
			    "object)"));
	}
	return (DECIDE_DONE);
}

/* Is issuer ${i} allowed on route ${rt}? */
static bool
route_allows_issuer(const struct route_cfg *rt, size_t i)
{
	if (rt->nissuers == 0)
		return (true);
	for (size_t k = 0; k < rt->nissuers; k++)
		if (rt->issuers[k] == i)
			return (true);
	return (false);
}

/*
 * Verify ${j} with the keys of issuer ${i}.  On success fill ${vf}'s key
 * fields and return 0; else set ${v} and return -1, or return 1 to park.
 */
static int
verify_sig(const struct jws *j, const uint8_t *si_sha256,
    const struct snapshot *s, size_t i, const char *iss, const char *tenant,
    struct decide_env *env, struct verified *vf, struct verdict *v)
{
	const struct config *cfg = snapshot_config(s);
	const struct issuer_cfg *is = &cfg->issuers[i];
	const bool hmac = (JWS_ALG_BIT(j->alg) & JWS_ALG_HMAC_MASK) != 0;
	const struct keyset *ks = hmac ? s->hmac[i] : s->keys[i];
	const struct jwk *cands[NOKID_MAX_TRIES];
	size_t ncands = 0;

	if (ks == NULL) {
		if (hmac) {
			deny401(v, REASON_TOKEN_UNSUPPORTED_ALG, "no secret for HMAC");
			return (-1);
		}
		verdict_set(v, REASON_NOT_READY, "no key set for the issuer yet");
		return (-1);
	}
	if (!hmac && keys_stale(s, i, env->now)) {
		verdict_set(v, REASON_NOT_READY, "key set older than max_stale_s");
		return (-1);
	}
	if (hmac) {
		/* The secret set has one key without kid: the kid is ignored. */
		cands[ncands++] = keyset_find(ks, NULL, 0);
	} else if (j->kid != NULL) {
		const struct jwk *k = keyset_find(ks, j->kid, j->kid_len);

		if (k == NULL) {
			if (env->may_park && remote_source(is) &&
			    j->kid_len <= sizeof(env->park_kid_buf)) {
				/* j->kid dies with the header tree: copy. */
				memcpy(env->park_kid_buf, j->kid, j->kid_len);
				env->park_issuer = i;
				env->park_kid = env->park_kid_buf;
				env->park_kid_len = j->kid_len;
				return (1);
			}
			deny401(v, REASON_KEY_UNKNOWN, "kid unknown after refresh; "
			    "check the token's issuer, audience and type");
			return (-1);
		}
		cands[ncands++] = k;
	} else {
		for (size_t k = 0; k < ks->n && ncands < NOKID_MAX_TRIES; k++)
			if (ks->keys[k].algs & JWS_ALG_BIT(j->alg))
				cands[ncands++] = &ks->keys[k];
		if (ncands == 0) {
			deny401(v, REASON_KEY_UNKNOWN, "no key for this algorithm");
			return (-1);
		}
	}
	for (size_t c = 0; c < ncands; c++) {
		const struct jwk *k = cands[c];

		if (k == NULL)
			continue;
		if (!(k->algs & JWS_ALG_BIT(j->alg))) {
			/* S3: the key decides the algorithm family, not the token. */
			deny401(v, REASON_TOKEN_UNSUPPORTED_ALG,
			    "algorithm not allowed for this key");
			return (-1);
		}
		if (k->issuer != NULL &&
		    claims_key_issuer_ok(k->issuer, iss, tenant) != 0) {
			/* S19: an Entra key scoped to another tenant. */
			deny401(v, REASON_ISSUER_UNKNOWN, "key not valid for this issuer");
			return (-1);
		}
		if (crypto_verify_sha256(k->key, j->alg,
		    (const uint8_t *)j->signing_input, j->signing_input_len,
		    si_sha256, j->sig, j->sig_len) == 0) {
			vf->hmac = hmac;
			memcpy(vf->fp, k->fp, sizeof(vf->fp));
			if (k->kid != NULL) {
				vf->kid = strndup(k->kid, k->kid_len);
				if (vf->kid == NULL) {
					verdict_set(v, REASON_NOT_READY, "out of memory");
					return (-1);
				}
				vf->kid_len = k->kid_len;
			}
			return (0);
		}
	}
	deny401(v, REASON_SIGNATURE_INVALID, "signature invalid");
	return (-1);
}

/*
 * Check ${j} as a token of issuer ${i}: algorithm, key and signature, typ,
 * times, audience.  Return 0 with *${out} (the verified claims, which take
 * ${j}'s payload), -1 with ${v} set, or 1 to park.
 */
static int
try_issuer(struct jws *j, const uint8_t *si_sha256, const struct snapshot *s,
    size_t i, const char *iss, const char *tenant, struct decide_env *env,
    struct verdict *v, struct verified **out)
{
	const struct config *cfg = snapshot_config(s);
	const struct issuer_cfg *is = &cfg->issuers[i];
	struct verified *vf;
	enum reason r;
	const char *detail = NULL;
	struct claim_times times;
	int rc;

	*out = NULL;
	if (!(is->algorithms & JWS_ALG_BIT(j->alg))) {
		deny401(v, REASON_TOKEN_UNSUPPORTED_ALG,
		    "algorithm not allowed for this issuer");
		return (-1);
	}
	vf = calloc(1, sizeof(*vf));
	if (vf == NULL) {
		verdict_set(v, REASON_NOT_READY, "out of memory");
		return (-1);
	}
	rc = verify_sig(j, si_sha256, s, i, iss, tenant, env, vf, v);
	if (rc != 0) {
		verified_free(vf);
		return (rc);
	}
	if (is->typ_check && (j->typ == NULL ? !is->typ_absent_ok :
	    is->typ.n == 0 || !jws_typ_allowed(j, &is->typ))) {
		verified_free(vf);
		deny401(v, REASON_TOKEN_MALFORMED, "typ not accepted");
		return (-1);
	}
	if (claims_times_extract(j->payload, &times, &r, &detail) != 0 ||
	    claims_times_check(&times, env->now, is->clock_skew_s,
	    is->require_exp, is->max_lifetime_s, &r, &detail) != 0) {
		verified_free(vf);
		deny401(v, r, detail);
		return (-1);
	}
	if (!claims_aud_match(j->payload, &is->audiences)) {
		verified_free(vf);
		deny401(v, REASON_AUDIENCE_MISMATCH, "audience not accepted");
		return (-1);
	}
	/* From here on the payload is the verified claims: keep it. */
	vf->payload = j->payload;
	j->payload = NULL;
	vf->cfg = cfg;
	vf->valid_gen = s->gen;
	vf->issuer = i;
	vf->alg = j->alg;
	vf->times = times;
	snprintf(vf->tenant, sizeof(vf->tenant), "%s", tenant);
	*out = vf;
	return (0);
}

/* The token's kid, printable, for the decision's log line. */
static void
note_kid(struct verdict *v, const char *kid, size_t len)
{
	if (kid == NULL || util_printable(v->kid, sizeof(v->kid), kid,
	    len) == 0)
		v->kid[0] = '\0';
}

/* A cached token's issuer, kid and subject hash, for metrics and logs. */
static void
note_cached(struct verdict *v, const struct config *cfg,
    const struct verified *vf)
{
	v->issuer = cfg->issuers[vf->issuer].name;
	note_kid(v, vf->kid, vf->kid_len);
	memcpy(v->sub_hash, vf->sub_hash, sizeof(v->sub_hash));
}

/*
 * Full verification of a token not in the cache.  ${si_sha256}, if not
 * NULL, is the SHA-256 of the token's first ${si_len} bytes (taken with the
 * cache key); used only if that is exactly the signing input.
 */
static enum decide_outcome
verify(const char *tok, size_t len, const uint8_t *si_sha256, size_t si_len,
    const struct snapshot *s, const struct route_cfg *rt,
    struct decide_env *env, struct verdict *v, struct verified **out)
{
	const struct config *cfg = snapshot_config(s);
	struct jws_limits lim = JWS_LIMITS_DEFAULT;
	struct jws j;
	struct verified *vf = NULL;
	enum reason r;
	const char *detail = NULL;
	const cJSON *iss_item;
	char tenant[CLAIMS_GUID_LEN + 1] = "";
	size_t i;
	int rc;

	*out = NULL;
	lim.max_token = cfg->max_token_bytes;
	if (jws_parse(tok, len, &lim, &j, &r, &detail) != 0)
		return (deny401(v, r, detail));
	if (si_sha256 != NULL && (j.signing_input != tok ||
	    j.signing_input_len != si_len))
		si_sha256 = NULL;

	if (claims_check_types(j.payload, &detail) != 0) {
		jws_release(&j);
		return (deny401(v, REASON_TOKEN_MALFORMED, detail));
	}
	iss_item = claims_get(j.payload, "iss");
	if (!cJSON_IsString(iss_item) || iss_item->valuestring[0] == '\0') {
		jws_release(&j);
		return (deny401(v, REASON_ISSUER_UNKNOWN, "iss missing"));
	}
	/*
	 * Several issuers may share one "iss" (e.g. different audiences):
	 * try each the route allows, in order, until one accepts the token.
	 * A cache hit accepts any allowed issuer that verified it, so hits and
	 * misses agree.  The verdict of a refusal is the first issuer's.
	 */
	bool matched = false;
	enum reason first_r = REASON_ISSUER_UNKNOWN;
	const char *first_detail = "issuer not accepted here";
	size_t first_i = 0;

	note_kid(v, j.kid, j.kid_len);
	for (i = 0; i < cfg->nissuers; i++) {
		if (!route_allows_issuer(rt, i) ||
		    claims_issuer_match(iss_item->valuestring,
		    strlen(iss_item->valuestring), &cfg->issuers[i], j.payload,
		    tenant, sizeof(tenant)) != 0)
			continue;
		rc = try_issuer(&j, si_sha256, s, i, iss_item->valuestring,
		    tenant, env, v, &vf);
		if (rc > 0) {
			jws_release(&j);
			return (DECIDE_PARK);
		}
		if (rc == 0)
			break;
		if (!matched) {
			first_r = v->reason;
			first_detail = v->detail;
			first_i = i;
		}
		matched = true;
	}
	/* For metrics: the verification's issuer, algorithm and outcome. */
	if (vf != NULL || matched) {
		v->issuer = cfg->issuers[vf != NULL ? i : first_i].name;
		v->verif_alg = (int)j.alg;
		v->verif_outcome = vf != NULL ? REASON_OK : first_r;
	}
	jws_release(&j);
	if (vf == NULL)
		return (deny401(v, first_r, first_detail));
	if (fill_identity(vf) != 0) {
		verified_free(vf);
		verdict_set(v, REASON_NOT_READY, "out of memory");
		return (DECIDE_DONE);
	}
	memcpy(v->sub_hash, vf->sub_hash, sizeof(v->sub_hash));
	*out = vf;
	return (DECIDE_DONE);
}

/* Cache lifetime of a verified token. */
static int64_t
cache_until(const struct verified *vf, const struct issuer_cfg *is, int64_t now)
{
	double until;

	if (!vf->times.has_exp)
		return (now + CACHE_NO_EXP_TTL);
	until = vf->times.exp + (double)is->clock_skew_s;
	if (!isfinite(until) || until > (double)now + 86400.0)
		until = (double)now + 86400.0;
	return ((int64_t)until);
}

/*
 * RFC 8705 §3: a token bound to a certificate (cnf.x5t#S256) is good only
 * on a connection presenting that certificate; a bound_token route takes
 * only such tokens.
 */
static enum decide_outcome
binding(const struct verified *vf, const struct route_cfg *rt,
    const uint8_t *cert_sha256, const struct facts *f, struct verdict *v)
{
	const cJSON *cnf = claims_get(vf->payload, "cnf");
	const cJSON *x5t = claims_get(cnf, "x5t#S256");
	uint8_t sha[32];

	if (x5t == NULL) {
		if (!rt->bound_token)
			return (DECIDE_DONE);
		return (deny401(v, REASON_CERT_BINDING_MISMATCH,
		    "token is not certificate-bound"));
	}
	if (!cJSON_IsString(x5t))
		return (deny401(v, REASON_TOKEN_MALFORMED, "cnf.x5t#S256 not a string"));
	/* Token-only routes hash the certificate only for bound tokens. */
	if (cert_sha256 == NULL && f->cert_der.ptr != NULL &&
	    crypto_sha256(f->cert_der.ptr, f->cert_der.len, sha) == 0)
		cert_sha256 = sha;
	if (cert_sha256 == NULL)
		return (deny401(v, REASON_CERT_BINDING_MISMATCH,
		    "bound token without a client certificate"));
	if (!cert_x5t_matches(cert_sha256, x5t->valuestring,
	    strlen(x5t->valuestring)))
		return (deny401(v, REASON_CERT_BINDING_MISMATCH,
		    "token bound to another certificate"));
	return (DECIDE_DONE);
}

/* After verification or a cache hit: binding, route rules, variables. */
static enum decide_outcome
accept_token(const struct verified *vf, const struct route_cfg *rt,
    const uint8_t *cert_sha256, const struct facts *f, struct verdict *v)
{
	verdict_set(v, REASON_OK, NULL);
	binding(vf, rt, cert_sha256, f, v);
	if (v->reason != REASON_OK)
		return (DECIDE_DONE);
	return (route_checks(vf, rt, v));
}

enum decide_outcome
jwt_decide(const struct facts *f, const struct snapshot *s,
    const struct route_cfg *rt, struct decide_env *env, struct verdict *v,
    const uint8_t *cert_sha256)
{
	const struct config *cfg = snapshot_config(s);
	const char *tok, *dot;
	size_t len, si_len = 0;
	uint8_t key[32], si_sha256[32];
	bool have_si = false;
	struct verified *vf;
	enum decide_outcome o;
	enum reason r;
	const char *detail;
	int b;

	if (f->authz.ptr == NULL)
		return (deny401(v, REASON_TOKEN_MISSING, "no Authorization header"));
	/*
	 * The cache is looked up with the credential's span before its bytes
	 * are checked: only tokens that passed jws_parse() are ever cached, so
	 * a hit proves the credential well-formed (see jws_bearer_span()).
	 */
	b = jws_bearer_span(f->authz.ptr, f->authz.len, &tok, &len);
	if (b == JWS_BEARER_NONE)
		return (deny401(v, REASON_TOKEN_MISSING, "no bearer token"));
	if (b != 0 || len > cfg->max_token_bytes)
		return (deny401(v, REASON_TOKEN_MALFORMED, "malformed bearer token"));

	/*
	 * The cache key is the SHA-256 of the token.  The signing input (up to
	 * the last '.') is hashed on the way, so that a miss verifying an
	 * RS256/PS256/ES256 token does not hash those bytes a second time.
	 */
	if (env->tokcache != NULL) {
		dot = memrchr(tok, '.', len);
		si_len = dot != NULL ? (size_t)(dot - tok) : 0;
		have_si = crypto_sha256_split(tok, len, si_len, key,
		    si_sha256) == 0;
	}
	if (have_si) {
		vf = tokcache_get(env->tokcache, key, env->now);
		if (vf != NULL && valid_under(vf, s) &&
		    route_allows_issuer(rt, vf->issuer)) {
			const struct issuer_cfg *is = &cfg->issuers[vf->issuer];

			if (env->stats != NULL)
				STAT_INC(env->stats, token_cache_hits);
			note_cached(v, cfg, vf);
			/* max_stale_s ends the use of old keys for cached
			 * tokens too, not only for new ones. */
			if (!vf->hmac && keys_stale(s, vf->issuer, env->now)) {
				verdict_set(v, REASON_NOT_READY,
				    "key set older than max_stale_s");
				return (DECIDE_DONE);
			}
			if (claims_times_check(&vf->times, env->now, is->clock_skew_s,
			    is->require_exp, is->max_lifetime_s, &r, &detail) != 0)
				return (deny401(v, r, detail));
			return (accept_token(vf, rt, cert_sha256, f, v));
		}
	}
	if (env->stats != NULL)
		STAT_INC(env->stats, token_cache_misses);
	/*
	 * Not from the cache.  The span is not re-scanned as a token68 here:
	 * jws_parse() accepts only three canonical base64url segments, a
	 * strict subset of token68, so every byte jws_bearer() would refuse
	 * (spaces, '=', '+', '/', '~') is refused there, as token_malformed.
	 */
	o = verify(tok, len, have_si ? si_sha256 : NULL, si_len, s, rt, env, v,
	    &vf);
	if (vf == NULL)
		return (o);
	o = accept_token(vf, rt, cert_sha256, f, v);
	if (env->tokcache != NULL && have_si) {
		/* The cache owns ${vf} from here, even if it refuses it. */
		(void)tokcache_put(env->tokcache, key, vf,
		    cache_until(vf, &cfg->issuers[vf->issuer], env->now),
		    verified_free);
	} else {
		verified_free(vf);
	}
	return (o);
}
