/*
 * tree_oracle.h: how the agent checked a route and rendered its answer
 * before token records, straight on the verified payload tree, kept for
 * the tests only.  It is the reference: test_claims.c holds it to the
 * rules' meaning, and test_tokrec.c and fuzz_tokrec.c hold compiled
 * records to it (an answer from a record must be the answer this gives on
 * the tree the record was compiled from, byte for byte).
 *
 * The code is the old path's (claims.c's claims_check_words/rules and
 * their helpers, jwt.c's fill_identity/binding/route_checks), on its own
 * copies of the helpers: a bug in the agent's primitives cannot cancel
 * itself out here.  Header-only (static functions) so that a fuzz target,
 * which links the agent but no test library, can include it.
 */
#ifndef SPOA_TREE_ORACLE_H
#define SPOA_TREE_ORACLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "cert.h"
#include "claims.h"
#include "config-t.h"
#include "reason.h"
#include "verdict.h"

/* ---- claims checks (claims.c) ------------------------------------------ */

/* True if ${word} is one of the space-separated words of ${s}. */
static bool
oracle_in_words(const char *s, const char *word)
{
	size_t wl = strlen(word);

	if (wl == 0)
		return (false);
	while (*s != '\0') {
		while (*s == ' ')
			s++;
		const char *w = s;
		while (*s != '\0' && *s != ' ')
			s++;
		if ((size_t)(s - w) == wl && memcmp(w, word, wl) == 0)
			return (true);
	}
	return (false);
}

/* True if the claim ${c} (string of words or array of strings) has ${w}. */
static bool
oracle_claim_has(const cJSON *c, const char *w)
{
	const cJSON *it;

	if (cJSON_IsString(c) && c->valuestring != NULL)
		return (oracle_in_words(c->valuestring, w));
	if (cJSON_IsArray(c)) {
		cJSON_ArrayForEach(it, c)
			if (cJSON_IsString(it) && it->valuestring != NULL &&
			    strcmp(it->valuestring, w) == 0)
				return (true);
	}
	return (false);
}

/* The claims holding the token's scopes or roles. */
static size_t
oracle_word_claims(const cJSON *payload, enum claims_words which,
    const struct strlist *paths, const cJSON *out[CLAIMS_SOURCES_MAX])
{
	size_t n = 0;
	const cJSON *c;

	if (paths != NULL && paths->n > 0) {
		for (size_t i = 0; i < paths->n && i < CLAIMS_SOURCES_MAX; i++)
			if ((c = claims_get(payload, paths->v[i])) != NULL)
				out[n++] = c;
		return (n);
	}
	if (!cJSON_IsObject(payload))
		return (0);
	if (which == CLAIMS_ROLES) {
		c = cJSON_GetObjectItemCaseSensitive(payload, "roles");
	} else if ((c = cJSON_GetObjectItemCaseSensitive(payload, "scp")) ==
	    NULL) {
		c = cJSON_GetObjectItemCaseSensitive(payload, "scope");
		if (c != NULL && !cJSON_IsString(c))
			c = NULL;	/* RFC 8693: scope is a string */
	}
	if (c != NULL)
		out[n++] = c;
	return (n);
}

static bool
oracle_any_has(const cJSON *const *cs, size_t n, const char *w)
{
	for (size_t i = 0; i < n; i++)
		if (oracle_claim_has(cs[i], w))
			return (true);
	return (false);
}

/*
 * oracle_check_words(payload, which, paths, any, all, missing):
 * Every entry of ${all} is among the token's scopes (${which}
 * CLAIMS_SCOPES) or roles (CLAIMS_ROLES) gathered from ${paths} (the
 * default claims when NULL or empty) and, when ${any} is not empty, at
 * least one entry of ${any} is: return 0.  Otherwise return -1 and set
 * *${missing} (if not NULL) to the first missing entry of ${all}, or else
 * the first entry of ${any}.
 */
static __attribute__((unused)) int
oracle_check_words(const cJSON *payload, enum claims_words which,
    const struct strlist *paths, const struct strlist *any,
    const struct strlist *all, const char **missing)
{
	const cJSON *cs[CLAIMS_SOURCES_MAX];
	size_t n = oracle_word_claims(payload, which, paths, cs);
	const char *dummy;

	if (missing == NULL)
		missing = &dummy;
	*missing = NULL;
	if (all != NULL) {
		for (size_t i = 0; i < all->n; i++) {
			if (!oracle_any_has(cs, n, all->v[i])) {
				*missing = all->v[i];
				return (-1);
			}
		}
	}
	if (any != NULL && any->n > 0) {
		for (size_t i = 0; i < any->n; i++)
			if (oracle_any_has(cs, n, any->v[i]))
				return (0);
		*missing = any->v[0];
		return (-1);
	}
	return (0);
}

static __attribute__((unused)) int
oracle_check_scopes(const cJSON *payload, const struct strlist *any,
    const struct strlist *all, const char **missing)
{
	return (oracle_check_words(payload, CLAIMS_SCOPES, NULL, any, all,
	    missing));
}

static __attribute__((unused)) int
oracle_check_roles(const cJSON *payload, const struct strlist *any,
    const struct strlist *all, const char **missing)
{
	return (oracle_check_words(payload, CLAIMS_ROLES, NULL, any, all,
	    missing));
}

static bool
oracle_value_equal(const cJSON *it, const struct claim_value *v)
{
	switch (v->type) {
	case CLAIM_VAL_STRING:
		return (cJSON_IsString(it) && it->valuestring != NULL &&
		    v->s != NULL && strcmp(it->valuestring, v->s) == 0);
	case CLAIM_VAL_NUMBER:
		return (cJSON_IsNumber(it) && it->valuedouble == v->num);
	case CLAIM_VAL_BOOL:
		return (cJSON_IsBool(it) && (cJSON_IsTrue(it) != 0) == v->b);
	}
	return (false);
}

/* True if ${c} (a scalar, or an array: any element) equals ${v}. */
static bool
oracle_has_value(const cJSON *c, const struct claim_value *v)
{
	const cJSON *it;

	if (!cJSON_IsArray(c))
		return (oracle_value_equal(c, v));
	cJSON_ArrayForEach(it, c)
		if (oracle_value_equal(it, v))
			return (true);
	return (false);
}

static bool
oracle_rule_match(const cJSON *c, const struct claim_rule *rule)
{
	switch (rule->match) {
	case CLAIM_MATCH_PRESENT:
		return (true);
	case CLAIM_MATCH_ALL:
		for (size_t k = 0; k < rule->nvalues; k++)
			if (!oracle_has_value(c, &rule->values[k]))
				return (false);
		return (rule->nvalues > 0);
	case CLAIM_MATCH_ANY:
		break;
	}
	for (size_t k = 0; k < rule->nvalues; k++)
		if (oracle_has_value(c, &rule->values[k]))
			return (true);
	return (false);
}

/*
 * oracle_check_rules(payload, rules, n, failed):
 * Each of the ${n} ${rules} names a claim (a claims_get() path) that must
 * be present and not null and match: return 0 if all pass, else -1 and
 * set *${failed} (if not NULL) to the name of the first failing rule.
 */
static __attribute__((unused)) int
oracle_check_rules(const cJSON *payload, const struct claim_rule *rules,
    size_t n, const char **failed)
{
	const cJSON *c;

	for (size_t i = 0; i < n; i++) {
		c = claims_get(payload, rules[i].name);
		if (c == NULL || cJSON_IsNull(c) ||
		    !oracle_rule_match(c, &rules[i])) {
			if (failed != NULL)
				*failed = rules[i].name;
			return (-1);
		}
	}
	return (0);
}

/* ---- the answer (jwt.c) ------------------------------------------------ */

#define ORACLE_NIDENT		6
#define ORACLE_ABSENT		(-1)
#define ORACLE_UNSENDABLE	(-2)

static const char *const oracle_ident_var[ORACLE_NIDENT] = {
	"sub", "issuer", "client_id", "tenant", "scopes", "roles",
};

static char oracle_buf[VERDICT_ARENA + ORACLE_NIDENT];

static ssize_t
oracle_render(const cJSON *item, char *buf, size_t cap)
{
	ssize_t n;

	if (item == NULL || cJSON_IsNull(item))
		return (ORACLE_ABSENT);
	n = claims_render(item, buf, cap);
	return (n < 0 ? ORACLE_UNSENDABLE : n);
}

static ssize_t
oracle_plain(const char *s, char *buf, size_t cap)
{
	size_t n;

	if (s == NULL)
		return (ORACLE_ABSENT);
	if ((n = strlen(s)) >= cap)
		return (ORACLE_UNSENDABLE);
	memcpy(buf, s, n);
	return ((ssize_t)n);
}

/* The identity values of ${p} rendered one after another in oracle_buf:
 * their lengths (or < 0) and offsets; true if one is not sendable. */
static bool
oracle_identity(const cJSON *p, const struct issuer_cfg *is,
    ssize_t n[ORACLE_NIDENT], size_t at[ORACLE_NIDENT])
{
	size_t off = 0, cap = sizeof(oracle_buf);
	bool unsendable = false;

	for (int i = 0; i < ORACLE_NIDENT; i++) {
		char *o = oracle_buf + off;
		size_t room = cap - off;

		switch (i) {
		case 0:
			n[i] = oracle_render(claims_get(p, "sub"), o, room);
			break;
		case 1:
			n[i] = oracle_render(claims_get(p, "iss"), o, room);
			break;
		case 2:
			n[i] = oracle_plain(claims_client_id(p), o, room);
			break;
		case 3:
			n[i] = oracle_plain(claims_tenant(p), o, room);
			break;
		case 4:
			n[i] = claims_render_words(p, CLAIMS_SCOPES,
			    &is->scopes_claims, o, room);
			break;
		default:
			n[i] = claims_render_words(p, CLAIMS_ROLES,
			    &is->roles_claims, o, room);
			break;
		}
		if (n[i] == ORACLE_UNSENDABLE || (n[i] >= 0 &&
		    (size_t)n[i] > VERDICT_VALUE_MAX)) {
			unsendable = true;
			n[i] = ORACLE_ABSENT;
		}
		if (n[i] <= 0)
			continue;
		at[i] = off;
		off += (size_t)n[i] + 1;
		oracle_buf[off - 1] = '\0';
	}
	return (unsendable);
}

static bool
oracle_quotable(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s == '"' || *s == '\\' || (unsigned char)*s < 0x20)
			return (false);
	return (true);
}

/* The RFC 6750 challenge the old path wrote. */
static void
oracle_challenge(struct verdict *v, const char *error, const char *desc,
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
	if (desc != NULL && oracle_quotable(desc) &&
	    len < sizeof(v->www_authenticate)) {
		n = snprintf(v->www_authenticate + len,
		    sizeof(v->www_authenticate) - len,
		    ", error_description=\"%s\"", desc);
		len += n > 0 ? (size_t)n : 0;
	}
	if (scope != NULL && oracle_quotable(scope) &&
	    len < sizeof(v->www_authenticate))
		(void)snprintf(v->www_authenticate + len,
		    sizeof(v->www_authenticate) - len, ", scope=\"%s\"", scope);
	if (len >= sizeof(v->www_authenticate))
		v->www_authenticate[0] = '\0';
}

/* A refusal after verification: 401 ones carry invalid_token. */
static void
oracle_deny(struct verdict *v, enum reason r, const char *detail)
{
	verdict_set(v, r, detail);
	if (reason_status(r) == 401)
		oracle_challenge(v, "invalid_token", detail, NULL);
}

/* RFC 8705 binding on the tree. */
static void
oracle_binding(const cJSON *p, const struct route_cfg *rt,
    const uint8_t *cert_sha256, struct verdict *v)
{
	const cJSON *cnf = claims_get(p, "cnf");
	const cJSON *x5t = claims_get(cnf, "x5t#S256");

	if (x5t == NULL) {
		if (rt->bound_token)
			oracle_deny(v, REASON_CERT_BINDING_MISMATCH,
			    "token is not certificate-bound");
		return;
	}
	if (!cJSON_IsString(x5t)) {
		oracle_deny(v, REASON_TOKEN_MALFORMED,
		    "cnf.x5t#S256 not a string");
		return;
	}
	if (cert_sha256 == NULL) {
		oracle_deny(v, REASON_CERT_BINDING_MISMATCH,
		    "bound token without a client certificate");
		return;
	}
	if (!cert_x5t_matches(cert_sha256, x5t->valuestring,
	    strlen(x5t->valuestring)))
		oracle_deny(v, REASON_CERT_BINDING_MISMATCH,
		    "token bound to another certificate");
}

/*
 * oracle_accept(p, is, rt, cert_sha256, v):
 * The answer the agent gave for route ${rt} once the token with the
 * verified claims ${p} was accepted for issuer ${is}: binding, scopes,
 * roles, claims rules, identity and claims_to_vars variables.  ${v} is
 * initialised here; its route, reason, allow, status, detail,
 * WWW-Authenticate challenge and variables are what the old path set, so
 * answer_encode() gives the old answer's bytes.  ${cert_sha256}: the
 * certificate's SHA-256, or NULL.
 */
static __attribute__((unused)) void
oracle_accept(const cJSON *p, const struct issuer_cfg *is,
    const struct route_cfg *rt, const uint8_t *cert_sha256,
    struct verdict *v)
{
	ssize_t n[ORACLE_NIDENT];
	size_t at[ORACLE_NIDENT];
	bool unsendable = oracle_identity(p, is, n, at);
	static char val[VERDICT_ARENA + ORACLE_NIDENT];
	const char *missing;

	verdict_init(v);
	v->route = rt->name;
	verdict_set(v, REASON_OK, NULL);
	oracle_binding(p, rt, cert_sha256, v);
	if (v->reason != REASON_OK)
		return;
	/* RFC 9449: a DPoP-bound token is no bearer token (these tokens
	 * come as Bearer). */
	if (claims_get(claims_get(p, "cnf"), "jkt") != NULL) {
		if (!cJSON_IsString(claims_get(claims_get(p, "cnf"), "jkt")))
			oracle_deny(v, REASON_TOKEN_MALFORMED,
			    "cnf.jkt not a string");
		else
			oracle_deny(v, REASON_DPOP_BINDING_MISMATCH,
			    "a DPoP-bound token sent as a Bearer token");
		return;
	}
	if (oracle_check_words(p, CLAIMS_SCOPES, &is->scopes_claims,
	    &rt->scopes_any, &rt->scopes_all, &missing) != 0) {
		verdict_set(v, REASON_SCOPE_MISSING, "required scope missing");
		oracle_challenge(v, "insufficient_scope",
		    "required scope missing", missing);
		return;
	}
	if (oracle_check_words(p, CLAIMS_ROLES, &is->roles_claims,
	    &rt->roles_any, &rt->roles_all, &missing) != 0) {
		verdict_set(v, REASON_ROLE_MISSING, "required role missing");
		oracle_challenge(v, "insufficient_scope",
		    "required role missing", NULL);
		return;
	}
	if (oracle_check_rules(p, rt->claims, rt->nclaims, &missing) != 0) {
		verdict_set(v, REASON_CLAIM_MISMATCH, "claim value not allowed");
		oracle_challenge(v, "insufficient_scope",
		    "claim value not allowed", NULL);
		return;
	}
	if (unsendable) {
		oracle_deny(v, REASON_IDENTITY_UNSENDABLE, "an identity value "
		    "cannot be sent whole (too large, or a control character)");
		verdict_drop_vars(v);
		return;
	}
	for (int i = 0; i < ORACLE_NIDENT; i++) {
		if (n[i] <= 0)
			continue;
		if (verdict_add(v, oracle_ident_var[i], oracle_buf + at[i],
		    (size_t)n[i]) != 0) {
			oracle_deny(v, REASON_IDENTITY_UNSENDABLE, "identity "
			    "variables exceed the answer's room");
			verdict_drop_vars(v);
			return;
		}
	}
	for (size_t i = 0; i < rt->nclaims_to_vars; i++) {
		ssize_t r = oracle_render(claims_get(p,
		    rt->claims_to_vars[i].claim), val, sizeof(val));

		if (r == ORACLE_ABSENT || r == 0)
			continue;
		if (r < 0 || verdict_add(v, rt->claims_to_vars[i].var, val,
		    (size_t)r) != 0) {
			oracle_deny(v, REASON_IDENTITY_UNSENDABLE, "a "
			    "claims_to_vars value cannot be sent whole (too "
			    "large, a control character, an object)");
			verdict_drop_vars(v);
			return;
		}
	}
}

#endif /* !SPOA_TREE_ORACLE_H */
