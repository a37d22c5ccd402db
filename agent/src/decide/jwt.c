/*
 * jwt.c: see jwt.h.
 *
 * Order of checks on a cache miss (shared/reference/jwt.md §3, §6):
 *   Bearer credential -> strict compact JWS (jws_parse: structure, base64url,
 *   duplicate keys, crit, alg) -> issuer by "iss" among the route's issuers
 *   -> alg in the issuer's allow-list -> key by kid from OUR key set (never
 *   from the token) -> key type and alg agree -> the key's own issuer (Entra)
 *   -> signature -> typ -> exp/nbf/iat -> aud.
 * Then the verified claims are compiled into a token record (tokrec.h)
 * and the payload tree is freed.  Hit or miss, the route's scopes, roles
 * and claims, and the variables, are read from the record.  The cache
 * keeps records only, never a route decision.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "assertion.h"
#include "b64url.h"
#include "cert.h"
#include "claims.h"
#include "config-t.h"
#include "crypto.h"
#include "facts.h"
#include "jws.h"
#include "jwt.h"
#include "keyset.h"
#include "pop.h"
#include "snapshot.h"
#include "stats.h"
#include "tokcache.h"
#include "tokrec.h"
#include "util.h"
#include "verdict.h"

_Static_assert(JWS_KID_MAX <= DECIDE_KID_MAX, "a parked kid must fit");
_Static_assert(TOKREC_VALUE_MAX == VERDICT_VALUE_MAX &&
    TOKREC_RENDER_CAP == VERDICT_ARENA + TOKREC_NIDENT,
    "records are rendered with the answer's bounds");

/* Tokens without kid: how many compatible keys we try at most. */
#define NOKID_MAX_TRIES      4
/* Cached entries without exp live this long. */
#define CACHE_NO_EXP_TTL     300

static const char *const ident_var[TOKREC_NIDENT] = {
	"sub", "issuer", "client_id", "tenant", "scopes", "roles",
};

static void
record_free(void *p)
{
	tokrec_free(p);
}

/* The record schema of ${s}'s config. */
static const struct tokrec_schema *
schema_of(const struct snapshot *s)
{
	return (snapshot_cfgref(s)->rs);
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
	    now - snapshot_keys_at(s, i) > (int64_t)cfg->fetch.max_stale_s);
}

/* The key that verified ${rec} (of issuer ${i}), if ${s} still has it: by
 * kid, or, for a key without kid, by fingerprint. */
static const struct jwk *
find_key(const struct snapshot *s, size_t i, const struct tokrec *rec)
{
	bool hmac = (rec->flags & TOKREC_F_HMAC) != 0;
	const struct keyset *ks = hmac ? snapshot_hmac(s, i) :
	    snapshot_keys(s, i);
	size_t kid_len;
	const char *kid = tokrec_kid(rec, &kid_len);

	if (ks == NULL)
		return (NULL);
	if (kid != NULL || hmac)
		return (keyset_find(ks, kid, kid_len));
	for (size_t k = 0, n = keyset_count(ks); k < n; k++) {
		const struct jwk *key = keyset_key(ks, k);

		if (key->kid == NULL &&
		    memcmp(key->fp, rec->key_fp, TOKREC_KEY_FP_LEN) == 0)
			return (key);
	}
	return (NULL);
}

/*
 * Is the cached ${rec} still good under ${s}?  Some issuer of ${s}'s config
 * has its fingerprint (the config it was compiled under, or one that
 * compiles it the same: tokrec_schema_issuer()), and the key that verified
 * it is still in that issuer's set with the same material, still allows
 * the algorithm, and (Entra) is still scoped to the token's issuer.  On
 * success ${rec}->issuer is that issuer's index in ${s}'s config.
 */
static bool
still_valid(struct tokrec *rec, const struct snapshot *s)
{
	ssize_t i = tokrec_schema_issuer(schema_of(s), rec);
	const struct jwk *k;
	char tenant[CLAIMS_GUID_LEN + 1];

	if (i < 0)
		return (false);
	k = find_key(s, (size_t)i, rec);
	if (k == NULL || memcmp(k->fp, rec->key_fp, TOKREC_KEY_FP_LEN) != 0 ||
	    !(k->algs & JWS_ALG_BIT(rec->alg)))
		return (false);
	if (k->issuer != NULL) {
		tokrec_tenant_guid(rec, tenant);
		if (claims_key_issuer_ok(k->issuer, tokrec_iss(rec),
		    tenant) != 0)
			return (false);
	}
	rec->issuer = (uint32_t)i;
	return (true);
}

/*
 * still_valid(), asked once per snapshot: the worker sweeps its cache at
 * every new snapshot (jwt_cache_keep()), so a hit normally finds the entry
 * already confirmed for the snapshot it is decided under.
 */
static bool
valid_under(struct tokrec *rec, const struct snapshot *s)
{
	if (rec->valid_gen == snapshot_gen(s))
		return (true);
	if (!still_valid(rec, s))
		return (false);
	rec->valid_gen = snapshot_gen(s);
	return (true);
}

bool
jwt_cache_keep(void *val, void *snap)
{
	return (valid_under(val, snap));
}

/* What a sweep keeps: entries of issuers whose key sets are unchanged
 * (${changed} NULL: another config, every entry is checked), and the
 * others still_valid() passes. */
struct sweep {
	const struct snapshot *snap;
	const bool *changed;          /* [nissuers of snap's config] */
};

static bool
keep_unless_changed(void *val, void *arg)
{
	const struct sweep *sw = arg;
	struct tokrec *rec = val;

	/* With the same config, every entry's issuer index is this
	 * config's (a config change checked them all); an entry kept
	 * unchecked is still checked at its next hit (valid_under()). */
	if (sw->changed != NULL &&
	    rec->issuer < snapshot_config(sw->snap)->nissuers &&
	    !sw->changed[rec->issuer])
		return (true);
	return (valid_under(rec, sw->snap));
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
			changed[i] = snapshot_keys(old, i) !=
			    snapshot_keys(s, i) ||
			    snapshot_hmac(old, i) != snapshot_hmac(s, i);
			any = any || changed[i];
		}
		if (!any) {
			free(changed);
			return (false);
		}
		sw.changed = changed;
	}
	/* Otherwise (another config, no issuer, no memory for the diff):
	 * every entry is checked.  Under another config an entry stays when
	 * that config compiles and accepts it the same (its issuer's
	 * fingerprint) and its key is still there: a reload or policy
	 * update that changes nothing it depends on keeps it. */
	tokcache_sweep(tc, keep_unless_changed, &sw);
	free(changed);
	return (true);
}

/* The first 8 bytes of a SHA-256, in hex, for log lines. */
static void
hex8(const uint8_t h[8], char out[17])
{
	static const char x[] = "0123456789abcdef";

	for (int i = 0; i < 8; i++) {
		out[2 * i] = x[h[i] >> 4];
		out[2 * i + 1] = x[h[i] & 15];
	}
	out[16] = '\0';
}

/* A verified identity that cannot reach HAProxy whole: refused, loudly. */
static enum decide_outcome
unsendable(struct verdict *v, const char *detail)
{
	verdict_set(v, REASON_IDENTITY_UNSENDABLE, detail);
	verdict_drop_vars(v);
	return (DECIDE_DONE);
}

/* RFC 6750 §3 challenges: jwt_decide() renders them for the route
 * (pop_challenge()). */
static void
challenge(struct verdict *v, const char *error, const char *desc,
    const char *scope)
{
	verdict_challenge(v, error, desc, scope);
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
route_checks(const struct tokrec *rec, const struct snapshot *s,
    const struct route_cfg *rt, struct verdict *v)
{
	const struct tokrec_schema *rs = schema_of(s);
	const struct config *cfg = snapshot_config(s);
	size_t route = (size_t)(rt - cfg->routes);
	const char *missing = NULL, *name, *val;
	size_t len;

	SPOA_ASSERT(rt >= cfg->routes && route < cfg->nroutes);
	switch (tokrec_route_check(rs, route, rec, &missing)) {
	case TOKREC_PASS:
		break;
	case TOKREC_SCOPE_MISSING:
		verdict_set(v, REASON_SCOPE_MISSING, "required scope missing");
		challenge(v, "insufficient_scope", "required scope missing", missing);
		return (DECIDE_DONE);
	case TOKREC_ROLE_MISSING:
		verdict_set(v, REASON_ROLE_MISSING, "required role missing");
		challenge(v, "insufficient_scope", "required role missing", NULL);
		return (DECIDE_DONE);
	case TOKREC_CLAIM_MISMATCH:
		verdict_set(v, REASON_CLAIM_MISMATCH, "claim value not allowed");
		challenge(v, "insufficient_scope", "claim value not allowed", NULL);
		return (DECIDE_DONE);
	}
	if (rec->flags & TOKREC_F_UNSENDABLE)
		return (unsendable(v, "an identity value cannot be sent whole "
		    "(too large, or a control character)"));
	verdict_set(v, REASON_OK, NULL);
	/* The values were checked for CR, LF and NUL when the record was
	 * compiled: a line break is refused as verdict_add() refuses it. */
	if (rec->flags & TOKREC_F_IDENT_CRLF)
		return (unsendable(v, "identity variables exceed the answer's "
		    "room"));
	for (int i = 0; i < TOKREC_NIDENT; i++)
		if ((val = tokrec_ident(rec, (enum tokrec_ident)i, &len)) !=
		    NULL && verdict_add_clean(v, ident_var[i], val, len) != 0)
			return (unsendable(v, "identity variables exceed the "
			    "answer's room"));
	for (size_t k = 0, n = tokrec_route_nvars(rs, route); k < n; k++) {
		int r = tokrec_route_var(rs, route, k, rec, &name, &val, &len);

		if (r == TOKREC_VAR_ABSENT)
			continue;
		if (r != 0 || verdict_add_clean(v, name, val, len) != 0)
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

/* What verification established, besides the claims (tokrec_in's). */
struct verified {
	size_t issuer;
	bool hmac;                    /* verified with the issuer's secret */
	const struct jwk *key;        /* in the snapshot's key set */
	struct claim_times times;
	bool via_resource;            /* its aud is only the route's resource */
};

/*
 * Verify ${j} with the keys of issuer ${i}.  On success set ${vf}'s key
 * and return 0; else set ${v} and return -1, or return 1 to park.
 */
static int
verify_sig(const struct jws *j, const struct snapshot *s, size_t i, const char *iss, const char *tenant,
    struct decide_env *env, struct verified *vf, struct verdict *v)
{
	const struct config *cfg = snapshot_config(s);
	const struct issuer_cfg *is = &cfg->issuers[i];
	const bool hmac = (JWS_ALG_BIT(j->alg) & JWS_ALG_HMAC_MASK) != 0;
	const struct keyset *ks = hmac ? snapshot_hmac(s, i) :
	    snapshot_keys(s, i);
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
		for (size_t k = 0, n = keyset_count(ks); k < n &&
		    ncands < NOKID_MAX_TRIES; k++)
			if (keyset_key(ks, k)->algs & JWS_ALG_BIT(j->alg))
				cands[ncands++] = keyset_key(ks, k);
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
		if (crypto_verify(k->key, j->alg,
		    (const uint8_t *)j->signing_input, j->signing_input_len,
		    j->sig, j->sig_len) == 0) {
			vf->hmac = hmac;
			vf->key = k;
			return (0);
		}
	}
	deny401(v, REASON_SIGNATURE_INVALID, "signature invalid");
	return (-1);
}

/*
 * Check ${j} as a token of issuer ${i}: algorithm, key and signature, typ,
 * times, audience.  Return 0 with ${vf} filled, -1 with ${v} set, or 1 to
 * park.
 */
static int
try_issuer(struct jws *j, const struct snapshot *s, const struct route_cfg *rt,
    size_t i, const char *iss, const char *tenant, struct decide_env *env,
    struct verdict *v, struct verified *vf)
{
	const struct config *cfg = snapshot_config(s);
	const struct issuer_cfg *is = &cfg->issuers[i];
	enum reason r;
	const char *detail = NULL;
	int rc;

	if (!(is->algorithms & JWS_ALG_BIT(j->alg))) {
		deny401(v, REASON_TOKEN_UNSUPPORTED_ALG,
		    "algorithm not allowed for this issuer");
		return (-1);
	}
	rc = verify_sig(j, s, i, iss, tenant, env, vf, v);
	if (rc != 0)
		return (rc);
	if (is->typ_check && (j->typ == NULL ? !is->typ_absent_ok :
	    is->typ.n == 0 || !jws_typ_allowed(j, &is->typ))) {
		deny401(v, REASON_TOKEN_MALFORMED, "typ not accepted");
		return (-1);
	}
	if (claims_times_extract(j->payload, &vf->times, &r, &detail) != 0 ||
	    claims_times_check(&vf->times, env->now, is->clock_skew_s,
	    is->require_exp, is->max_lifetime_s, &r, &detail) != 0) {
		deny401(v, r, detail);
		return (-1);
	}
	vf->via_resource = false;
	if (!claims_aud_match(j->payload, &is->audiences)) {
		/* RFC 8707: the route's resource identifier is an audience
		 * of its own; such a token is cached for that resource only
		 * (resource_key()). */
		char *res[] = { rt->resource };
		const struct strlist rl = { res, 1 };

		if (rt->resource == NULL || !claims_aud_match(j->payload, &rl)) {
			deny401(v, REASON_AUDIENCE_MISMATCH,
			    "audience not accepted");
			return (-1);
		}
		vf->via_resource = true;
	}
	vf->issuer = i;
	return (0);
}

/*
 * The verified claims of ${j}, compiled into a record for ${s}'s config
 * (the tree is released with ${j}), and the subject's hash for ${v}.
 * NULL if out of memory.
 */
static struct tokrec *
compile(const struct jws *j, const struct snapshot *s,
    const struct verified *vf, struct verdict *v)
{
	const char *sub = claims_string(j->payload, "sub");
	uint8_t h[32];
	bool have_hash = false;
	struct tokrec_in in = {
		.issuer = vf->issuer, .alg = j->alg, .hmac = vf->hmac,
		.key_fp = vf->key->fp, .kid = vf->key->kid,
		.kid_len = vf->key->kid_len, .times = &vf->times,
	};

	/* Logs name the subject by a short hash, never by its value. */
	if (sub != NULL && crypto_sha256(sub, strlen(sub), h) == 0) {
		in.sub_hash = h;
		have_hash = true;
	}
	if (have_hash)
		hex8(h, v->sub_hash);
	return (tokrec_compile(schema_of(s), j->payload, &in));
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
    const struct tokrec *rec)
{
	size_t kid_len;
	const char *kid = tokrec_kid(rec, &kid_len);

	v->issuer = cfg->issuers[rec->issuer].name;
	note_kid(v, kid, kid_len);
	if (rec->flags & TOKREC_F_SUB_HASH)
		hex8(rec->sub_hash, v->sub_hash);
}

/* Full verification of a token not in the cache. */
static enum decide_outcome
verify(const char *tok, size_t len, const struct snapshot *s, const struct route_cfg *rt,
    struct decide_env *env, struct verdict *v, struct tokrec **out,
    bool *via_resource)
{
	const struct config *cfg = snapshot_config(s);
	struct jws_limits lim = JWS_LIMITS_DEFAULT;
	struct jws j;
	struct verified vf;
	bool ok = false;
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
		rc = try_issuer(&j, s, rt, i, iss_item->valuestring,
		    tenant, env, v, &vf);
		if (rc > 0) {
			jws_release(&j);
			return (DECIDE_PARK);
		}
		if (rc == 0) {
			ok = true;
			break;
		}
		if (!matched) {
			first_r = v->reason;
			first_detail = v->detail;
			first_i = i;
		}
		matched = true;
	}
	/* For metrics: the verification's issuer, algorithm and outcome. */
	if (ok || matched) {
		v->issuer = cfg->issuers[ok ? i : first_i].name;
		v->verif_alg = (int)j.alg;
		v->verif_outcome = ok ? REASON_OK : first_r;
	}
	if (!ok) {
		jws_release(&j);
		return (deny401(v, first_r, first_detail));
	}
	/* The claims tree dies here: only the record is kept. */
	*via_resource = vf.via_resource;
	*out = compile(&j, s, &vf, v);
	jws_release(&j);
	if (*out == NULL)
		verdict_set(v, REASON_NOT_READY, "out of memory");
	return (DECIDE_DONE);
}

/* Cache lifetime of a verified token. */
static int64_t
cache_until(const struct tokrec *rec, const struct issuer_cfg *is,
    int64_t now)
{
	double until;

	if (!(rec->flags & TOKREC_F_EXP))
		return (now + CACHE_NO_EXP_TTL);
	until = rec->exp + (double)is->clock_skew_s;
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
binding(const struct tokrec *rec, const struct route_cfg *rt,
    const uint8_t *cert_sha256, const struct facts *f, struct verdict *v)
{
	const uint8_t *x5t;
	enum tokrec_cnf c = tokrec_x5t(rec, &x5t);
	uint8_t sha[32];

	if (c == TOKREC_CNF_ABSENT) {
		if (!rt->bound_token)
			return (DECIDE_DONE);
		return (deny401(v, REASON_CERT_BINDING_MISMATCH,
		    "token is not certificate-bound"));
	}
	if (c == TOKREC_CNF_NOT_STRING)
		return (deny401(v, REASON_TOKEN_MALFORMED, "cnf.x5t#S256 not a string"));
	/* Token-only routes hash the certificate only for bound tokens. */
	if (cert_sha256 == NULL && f->cert_der.ptr != NULL &&
	    crypto_sha256(f->cert_der.ptr, f->cert_der.len, sha) == 0)
		cert_sha256 = sha;
	if (cert_sha256 == NULL)
		return (deny401(v, REASON_CERT_BINDING_MISMATCH,
		    "bound token without a client certificate"));
	/* A thumbprint that is not 43 canonical base64url characters
	 * matches no certificate (cert_x5t_matches()). */
	if (c != TOKREC_CNF_SHA256 || !crypto_memeq(x5t, cert_sha256, 32))
		return (deny401(v, REASON_CERT_BINDING_MISMATCH,
		    "token bound to another certificate"));
	return (DECIDE_DONE);
}

/* After verification or a cache hit: binding, route rules, variables. */
static enum decide_outcome
accept_token(const struct tokrec *rec, const struct snapshot *s,
    const struct route_cfg *rt, const uint8_t *cert_sha256,
    const struct facts *f, const struct pop_req *pr, struct decide_env *env,
    struct verdict *v)
{
	verdict_set(v, REASON_OK, NULL);
	binding(rec, rt, cert_sha256, f, v);
	if (v->reason != REASON_OK)
		return (DECIDE_DONE);
	if (pop_bind(rec, rt, pr, env->dpop_replay, env->now, v) != 0)
		return (DECIDE_DONE);
	return (route_checks(rec, s, rt, v));
}

/*
 * The cache key of a token accepted for route ${rt}'s resource only (its
 * aud is not one of its issuer's audiences): a keyed hash of the token's
 * key and the resource, so that only a route with that resource finds
 * it.  Return 0, or -1.
 */
static int
resource_key(const uint8_t key[32], const struct route_cfg *rt,
    uint8_t out[32])
{
	uint8_t buf[32 + 1 + 1024];
	size_t rl = strlen(rt->resource);

	if (rl > sizeof(buf) - 33)
		return (-1);
	memcpy(buf, key, 32);
	buf[32] = 0xff;
	memcpy(buf + 33, rt->resource, rl);
	return (crypto_cache_key(buf, 33 + rl, out));
}

/*
 * A cached record for ${key}, still good under ${s} and allowed on ${rt},
 * and its entry's attachment in *${att} (the token's assertions, or NULL).
 */
static struct tokrec *
cache_find(struct decide_env *env, const uint8_t key[32],
    const struct snapshot *s, const struct route_cfg *rt, void **att)
{
	struct tokrec *rec = tokcache_get_att(env->tokcache, key, env->now,
	    att);

	if (rec != NULL && valid_under(rec, s) &&
	    route_allows_issuer(rt, rec->issuer))
		return (rec);
	*att = NULL;
	return (NULL);
}

/*
 * The route's identity assertion for an allowed request: reused from the
 * token's cache entry (*${set}: its attachment, or NULL; ${set} NULL: no
 * cache) or signed and kept there.  The client certificate is the one the
 * route checked, or on a token-only route one HAProxy verified.
 */
static void
issue(const struct tokrec *rec, const struct snapshot *s,
    const struct route_cfg *rt, const uint8_t *cert_sha256,
    const struct facts *f, struct decide_env *env, struct asrt_set **set,
    struct verdict *v)
{
	struct asrt_in in = {
		.cfg = snapshot_config(s), .rt = rt, .rec = rec,
		.cert_sha256 = cert_sha256, .now = env->now,
		.rid = f->unique_id.ptr, .rid_len = f->unique_id.len,
	};
	uint8_t sha[32];

	if (in.cert_sha256 == NULL && f->cert_der.ptr != NULL &&
	    f->has_cert_verify && f->cert_verify == 0 &&
	    crypto_sha256(f->cert_der.ptr, f->cert_der.len, sha) == 0)
		in.cert_sha256 = sha;
	assertion_add(&in, snapshot_signer(s), env, set, v);
}

static enum decide_outcome
decide_token(const struct facts *f, const struct snapshot *s,
    const struct route_cfg *rt, struct decide_env *env, struct verdict *v,
    const uint8_t *cert_sha256)
{
	const struct config *cfg = snapshot_config(s);
	const char *tok;
	size_t len;
	uint8_t key[32], rkey[32];
	const uint8_t *ckey;            /* the entry's key: ${key} or ${rkey} */
	bool have_key = false, have_rkey = false, via_resource = false;
	struct tokrec *rec;
	struct pop_req pr;
	struct asrt_set *set = NULL;
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
	 * A DPoP route also takes "Authorization: DPoP <token>" (pop.h).
	 */
	b = pop_credential(f, rt, &tok, &len, &pr);
	if (b == JWS_BEARER_NONE)
		return (deny401(v, REASON_TOKEN_MISSING, "no bearer token"));
	if (b != 0 || len > cfg->max_token_bytes)
		return (deny401(v, REASON_TOKEN_MALFORMED, "malformed bearer token"));
	/* The proof first (RFC 9449 §4.3; it cannot be cached). */
	if (pop_proof(f, rt, tok, len, env->now, env->dpop_keys, &pr, v) != 0)
		return (DECIDE_DONE);

	/* The cache key: a keyed hash of the token (crypto_cache_key()). */
	if (env->tokcache != NULL)
		have_key = crypto_cache_key(tok, len, key) == 0;
	if (have_key) {
		void *att;

		ckey = key;
		rec = cache_find(env, key, s, rt, &att);
		if (rec == NULL && rt->resource != NULL &&
		    (have_rkey = resource_key(key, rt, rkey) == 0)) {
			ckey = rkey;
			rec = cache_find(env, rkey, s, rt, &att);
		}
		if (rec != NULL) {
			const struct issuer_cfg *is = &cfg->issuers[rec->issuer];
			struct claim_times times;

			if (env->stats != NULL)
				STAT_INC(env->stats, token_cache_hits);
			note_cached(v, cfg, rec);
			/* max_stale_s ends the use of old keys for cached
			 * tokens too, not only for new ones. */
			if (!(rec->flags & TOKREC_F_HMAC) &&
			    keys_stale(s, rec->issuer, env->now)) {
				verdict_set(v, REASON_NOT_READY,
				    "key set older than max_stale_s");
				return (DECIDE_DONE);
			}
			tokrec_times(rec, &times);
			if (claims_times_check(&times, env->now, is->clock_skew_s,
			    is->require_exp, is->max_lifetime_s, &r, &detail) != 0)
				return (deny401(v, r, detail));
			o = accept_token(rec, s, rt, cert_sha256, f, &pr, env, v);
			if (rt->assertion != NULL && v->reason == REASON_OK) {
				set = att;
				issue(rec, s, rt, cert_sha256, f, env, &set, v);
				if (set != att)         /* the entry's first */
					(void)tokcache_attach(env->tokcache, ckey,
					    set, assertion_set_free);
			}
			return (o);
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
	rec = NULL;
	o = verify(tok, len, s, rt, env, v, &rec, &via_resource);
	if (rec == NULL)
		return (o);
	rec->valid_gen = snapshot_gen(s); /* compiled under ${s}, its key there */
	o = accept_token(rec, s, rt, cert_sha256, f, &pr, env, v);
	if (via_resource && have_key && !have_rkey)
		have_rkey = resource_key(key, rt, rkey) == 0;
	/* A token accepted through the route's resource is cached under the
	 * resource's key, and its assertions with it. */
	ckey = via_resource ? (have_rkey ? rkey : NULL) :
	    (have_key ? key : NULL);
	if (rt->assertion != NULL && v->reason == REASON_OK)
		issue(rec, s, rt, cert_sha256, f, env, env->tokcache != NULL &&
		    ckey != NULL ? &set : NULL, v);
	if (env->tokcache != NULL && ckey != NULL) {
		/* The cache owns ${rec} from here, even if it refuses it. */
		(void)tokcache_put(env->tokcache, ckey, rec,
		    cache_until(rec, &cfg->issuers[rec->issuer], env->now),
		    record_free);
		if (set != NULL)        /* the assertion, with its token */
			(void)tokcache_attach(env->tokcache, ckey, set,
			    assertion_set_free);
	} else {
		tokrec_free(rec);
	}
	return (o);
}

enum decide_outcome
jwt_decide(const struct facts *f, const struct snapshot *s,
    const struct route_cfg *rt, struct decide_env *env, struct verdict *v,
    const uint8_t *cert_sha256)
{
	enum decide_outcome o = decide_token(f, s, rt, env, v, cert_sha256);

	/* The challenge, for this route (DPoP, resource_metadata). */
	if (o == DECIDE_DONE)
		pop_challenge(v, rt);
	return (o);
}
