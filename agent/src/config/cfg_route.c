/*
 * cfg_route.c: routes, their claims rules and claims_to_vars.  See
 * cfg_int.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "b64url.h"
#include "cert.h"
#include "cidr.h"
#include "claims.h"
#include "fileio.h"
#include "json_doc.h"
#include "json_strict.h"
#include "jwa.h"
#include "log.h"
#include "route.h"
#include "strnum.h"
#include "tenant.h"
#include "tokrec.h"
#include "url.h"
#include "util.h"
#include "cfg_int.h"
#include "config.h"

/* routes ---------------------------------------------------------------- */

static const char *const route_keys[] = {
	"name", "host", "path_prefix", "methods", "require", "issuers",
	"scopes_any", "scopes_all", "roles_any", "roles_all", "claims",
	"claims_to_vars", "client_cert", "bound_token", "source_cidrs",
	/* cfg_resource.c */
	"dpop", "dpop_max_age_s", "resource", "resource_documentation",
	/* cfg_assert.c */
	"assertion",
	NULL
};

static void
parse_path_prefix(struct pctx *c, const cJSON *o, const char *path,
    struct route_cfg *r)
{
	char p[CFG_PATH_MAX];
	struct quoted q;
	const char *s;
	char *norm;
	size_t len;
	int n;

	if (cfg_get_sval(c, o, path, "path_prefix", false, &s) != PRESENT) {
		r->path_prefix = cfg_xstrdup(c, "/");
		return;
	}
	cfg_path_key(p, sizeof(p), path, "path_prefix");
	if (s[0] != '/') {
		cfg_perr(c, p, "must start with /");
		return;
	}
	len = strlen(s);
	if ((norm = malloc(len + 1)) == NULL) {
		cfg_oom(c);
		return;
	}
	n = route_normalize_path(s, len, norm, len + 1);
	if (n < 0)
		cfg_perr(c, p, "not a valid path (see route matching rules)");
	else if ((size_t)n != len || memcmp(norm, s, len) != 0)
		cfg_perr(c, p, "not a normalised path (write it as %s)",
		    cfg_quote(&q, norm));
	else {
		r->path_prefix = norm;
		norm = NULL;
	}
	free(norm);
}

static void
parse_route_issuers(struct pctx *c, const cJSON *o, const char *path,
    struct route_cfg *r)
{
	char p[CFG_PATH_MAX], ep[CFG_PATH_MAX];
	const cJSON *it = cfg_get(o, "issuers");
	struct quoted q;
	const char *s;
	size_t n, i = 0, j;

	if (it == NULL)
		return;
	cfg_path_key(p, sizeof(p), path, "issuers");
	if (!cfg_array_ok(c, it, p, "strings", 1, SIZE_MAX, &n))
		return;
	if ((r->issuers = cfg_xcalloc(c, n, sizeof(*r->issuers))) == NULL)
		return;
	for (const cJSON *e = it->child; e != NULL; e = e->next, i++) {
		cfg_path_idx(ep, sizeof(ep), p, i);
		if ((s = cfg_str_value(c, e, ep)) == NULL)
			continue;
		for (j = 0; j < c->nissuers; j++)
			if (c->issuers[j].name != NULL &&
			    strcmp(c->issuers[j].name, s) == 0)
				break;
		if (j == c->nissuers) {
			cfg_perr(c, ep, "no issuer named %s", cfg_quote(&q, s));
			continue;
		}
		r->issuers[r->nissuers++] = j;
	}
}

/* The allowed values of a claims rule, the array ${arr} at ${p}. */
static void
parse_claim_values(struct pctx *c, const cJSON *arr, const char *p,
    struct claim_rule *cr)
{
	char vp[CFG_PATH_MAX];
	size_t nv, k = 0;

	if (!cfg_array_ok(c, arr, p, "strings, numbers or booleans", 1,
	    SIZE_MAX,
	    &nv))
		return;
	if ((cr->values = cfg_xcalloc(c, nv, sizeof(*cr->values))) == NULL)
		return;
	for (const cJSON *v = arr->child; v != NULL; v = v->next, k++) {
		struct claim_value *cv = &cr->values[cr->nvalues];

		cfg_path_idx(vp, sizeof(vp), p, k);
		if (cJSON_IsString(v)) {
			const char *s = cfg_str_value(c, v, vp);

			if (s == NULL || (cv->s = cfg_xstrdup(c, s)) == NULL)
				continue;
			cv->type = CLAIM_VAL_STRING;
		} else if (cJSON_IsNumber(v)) {
			if (!isfinite(v->valuedouble)) {
				cfg_perr(c, vp, "must be a finite number");
				continue;
			}
			cv->type = CLAIM_VAL_NUMBER;
			cv->num = v->valuedouble;
		} else if (cJSON_IsBool(v)) {
			cv->type = CLAIM_VAL_BOOL;
			cv->b = cJSON_IsTrue(v);
		} else {
			cfg_perr(c, vp, "must be a string, number or boolean");
			continue;
		}
		cr->nvalues++;
	}
}

/*
 * One claims rule: an array of values (any of them), or an object with
 * exactly one of "any": [values], "all": [values], "present": true.
 */
static void
parse_claim_rule(struct pctx *c, const cJSON *m, const char *cp,
    struct claim_rule *cr)
{
	static const char *const forms[] = { "any", "all", "present", NULL };
	char fp[CFG_PATH_MAX];
	const cJSON *f = NULL;
	size_t nforms = 0;

	if (cJSON_IsArray(m)) {
		cr->match = CLAIM_MATCH_ANY;
		parse_claim_values(c, m, cp, cr);
		return;
	}
	if (!cJSON_IsObject(m)) {
		cfg_perr(c, cp, "must be an array of values or an object with "
		    "\"any\", \"all\" or \"present\"");
		return;
	}
	cfg_check_keys(c, m, cp, forms);
	for (size_t i = 0; forms[i] != NULL; i++) {
		if (cfg_get(m, forms[i]) != NULL) {
			nforms++;
			f = cfg_get(m, forms[i]);
			cr->match = (enum claim_match)i;
		}
	}
	if (nforms != 1) {
		cfg_perr(c, cp, "exactly one of any, all, present is required");
		return;
	}
	cfg_path_key(fp, sizeof(fp), cp, forms[cr->match]);
	if (cr->match == CLAIM_MATCH_PRESENT) {
		if (!cJSON_IsTrue(f))
			cfg_perr(c, fp, "must be true");
		return;
	}
	parse_claim_values(c, f, fp, cr);
}

static void
parse_claims(struct pctx *c, const cJSON *o, const char *path,
    struct route_cfg *r)
{
	char p[CFG_PATH_MAX], cp[CFG_PATH_MAX];
	const cJSON *it = cfg_get_obj(c, o, path, "claims");
	const char *msg;
	size_t n;

	if (it == NULL || (n = cfg_count_children(it)) == 0)
		return;
	cfg_path_key(p, sizeof(p), path, "claims");
	if ((r->claims = cfg_xcalloc(c, n, sizeof(*r->claims))) == NULL)
		return;
	for (const cJSON *m = it->child; m != NULL; m = m->next) {
		struct claim_rule *cr = &r->claims[r->nclaims];

		cfg_path_key(cp, sizeof(cp), p, m->string);
		if ((msg = cfg_claim_path_error(m->string != NULL ? m->string :
		    "")) != NULL) {
			cfg_perr(c, cp, "%s", msg);
			continue;
		}
		if ((cr->name = cfg_xstrdup(c, m->string)) == NULL)
			continue;
		r->nclaims++;
		parse_claim_rule(c, m, cp, cr);
	}
}

/* A variable name part: [A-Za-z0-9_]+. */
static bool
var_part_ok(const char *s)
{
	if (*s == '\0')
		return (false);
	for (; *s != '\0'; s++)
		if (!cfg_is_alnum((unsigned char)*s) && *s != '_')
			return (false);
	return (true);
}

/*
 * The name "claim_<x>" a claims_to_vars string ${s} gets: a dotted name
 * of [A-Za-z0-9_.-] ('.' and '-' become '_'), or a JSON Pointer whose
 * names are of those characters ('/' between them becomes '_').  NULL for
 * anything else (a URL-named claim): that needs the {"claim", "var"} form.
 */
static char *
derived_var(struct pctx *c, const char *s)
{
	size_t len = strlen(s), o = sizeof(VAR_PREFIX) - 1;
	const char *p = s[0] == '/' ? s + 1 : s;
	char *var;

	for (const char *q = p; *q != '\0'; q++)
		if (!cfg_is_alnum((unsigned char)*q) && *q != '_' &&
		    *q != '.' &&
		    *q != '-' && !(s[0] == '/' && *q == '/'))
			return (NULL);
	if (*p == '\0' || (var = malloc(o + len + 1)) == NULL) {
		if (*p != '\0')
			cfg_oom(c);
		return (NULL);
	}
	memcpy(var, VAR_PREFIX, o);
	for (; *p != '\0'; p++)
		var[o++] = (*p == '.' || *p == '-' || *p == '/') ? '_' : *p;
	var[o] = '\0';
	return (var);
}

static void
parse_claims_to_vars(struct pctx *c, const cJSON *o, const char *path,
    struct route_cfg *r)
{
	static const char *const obj_keys[] = { "claim", "var", NULL };
	char p[CFG_PATH_MAX], ep[CFG_PATH_MAX], kp[CFG_PATH_MAX];
	const char *names[CLAIM_VARS_MAX];
	const cJSON *it = cfg_get(o, "claims_to_vars");
	size_t n, i = 0;

	if (it == NULL)
		return;
	cfg_path_key(p, sizeof(p), path, "claims_to_vars");
	if (!cfg_array_ok(c, it, p, "claim paths or {\"claim\", \"var\"} "
	    "objects", 0, CLAIM_VARS_MAX, &n) || n == 0)
		return;
	if ((r->claims_to_vars = cfg_xcalloc(c, n,
	    sizeof(*r->claims_to_vars))) ==
	    NULL)
		return;
	for (const cJSON *e = it->child; e != NULL; e = e->next, i++) {
		struct claim_var *cv = &r->claims_to_vars[r->nclaims_to_vars];
		const char *s, *vs = NULL, *msg;
		char *var = NULL;
		size_t vlen;

		names[i] = NULL;
		cfg_path_idx(ep, sizeof(ep), p, i);
		if (cJSON_IsObject(e)) {
			cfg_check_keys(c, e, ep, obj_keys);
			s = NULL;
			if (cfg_get_sval(c, e, ep, "claim", true,
			    &s) != PRESENT ||
			    cfg_get_sval(c, e, ep, "var", true, &vs) != PRESENT)
				continue;
			cfg_path_key(kp, sizeof(kp), ep, "claim");
		} else {
			if ((s = cfg_str_value(c, e, ep)) == NULL)
				continue;
			(void)snprintf(kp, sizeof(kp), "%s", ep);
		}
		if ((msg = cfg_claim_path_error(s)) != NULL) {
			cfg_perr(c, kp, "%s", msg);
			continue;
		}
		if (vs != NULL) {
			cfg_path_key(kp, sizeof(kp), ep, "var");
			if (!var_part_ok(vs)) {
				cfg_perr(c, kp, "must match [A-Za-z0-9_]+ (the "
				    "variable is txn.iam.claim_<var>)");
				continue;
			}
			vlen = sizeof(VAR_PREFIX) - 1 + strlen(vs);
			if ((var = malloc(vlen + 1)) == NULL) {
				cfg_oom(c);
				continue;
			}
			(void)snprintf(var, vlen + 1, "%s%s", VAR_PREFIX, vs);
		} else if ((var = derived_var(c, s)) == NULL) {
			cfg_perr(c, kp,
			    "no variable name can be made from this "
			    "claim path: use {\"claim\": \"...\", \"var\": "
			    "\"<name>\"}");
			continue;
		}
		vlen = strlen(var);
		if (sizeof(VAR_FULL_PREFIX) - 1 + vlen > VAR_FULL_MAX) {
			cfg_perr(c, kp,
			    "variable txn.iam.%s would be %zu characters "
			    "(max %d)", var, sizeof(VAR_FULL_PREFIX) - 1 + vlen,
			    VAR_FULL_MAX);
			free(var);
			continue;
		}
		if ((cv->claim = cfg_xstrdup(c, s)) == NULL) {
			free(var);
			continue;
		}
		cv->var = var;
		names[i] = var;
		r->nclaims_to_vars++;
	}
	cfg_check_unique(c, p, NULL, "variable", names, n);
}

static void
parse_source_cidrs(struct pctx *c, const cJSON *o, const char *path,
    struct route_cfg *r)
{
	char p[CFG_PATH_MAX], ep[CFG_PATH_MAX];
	const cJSON *it = cfg_get(o, "source_cidrs");
	const char *s, *why;
	size_t n, i = 0;

	if (it == NULL)
		return;
	cfg_path_key(p, sizeof(p), path, "source_cidrs");
	if (!cfg_array_ok(c, it, p, "strings", 1, SIZE_MAX, &n))
		return;
	if ((r->source_cidrs = cidr_list_new()) == NULL) {
		cfg_oom(c);
		return;
	}
	for (const cJSON *e = it->child; e != NULL; e = e->next, i++) {
		cfg_path_idx(ep, sizeof(ep), p, i);
		if ((s = cfg_str_value(c, e, ep)) == NULL)
			continue;
		if (cidr_list_add(r->source_cidrs, s, strlen(s), &why) != 0)
			cfg_perr(c, ep, "%s", why);
	}
}

static bool
mode_has_jwt(enum require_mode m)
{
	return (m == REQUIRE_JWT || m == REQUIRE_JWT_MTLS);
}

static bool
mode_has_mtls(enum require_mode m)
{
	return (m == REQUIRE_MTLS || m == REQUIRE_JWT_MTLS);
}

static void
parse_route(struct pctx *c, const cJSON *o, const char *path,
    struct route_cfg *r)
{
	static const char *const jwt_keys[] = {
		"issuers", "scopes_any", "scopes_all", "roles_any",
		"roles_all", "claims", "claims_to_vars", "assertion", NULL
	};
	static const char *const list_keys[] = {
		"scopes_any", "scopes_all", "roles_any", "roles_all"
	};
	struct strlist *lists[] = {
		&r->scopes_any, &r->scopes_all, &r->roles_any, &r->roles_all
	};
	char p[CFG_PATH_MAX];
	const char *req = NULL;
	const cJSON *cc;
	struct quoted q;
	bool mode_ok = false;
	size_t i;

	cfg_check_keys(c, o, path, route_keys);
	(void)cfg_get_str(c, o, path, "name", true, cfg_check_name, 0,
	    &r->name);
	(void)cfg_get_str(c, o, path, "host", false, cfg_check_host, 0,
	    &r->host);
	parse_path_prefix(c, o, path, r);
	(void)cfg_get_strlist(c, o, path, "methods", 1, SIZE_MAX,
	    cfg_check_method, 0,
	    &r->methods);

	if (cfg_get_sval(c, o, path, "require", true, &req) == PRESENT) {
		mode_ok = true;
		if (strcmp(req, "none") == 0)
			r->require = REQUIRE_NONE;
		else if (strcmp(req, "jwt") == 0)
			r->require = REQUIRE_JWT;
		else if (strcmp(req, "mtls") == 0)
			r->require = REQUIRE_MTLS;
		else if (strcmp(req, "jwt+mtls") == 0)
			r->require = REQUIRE_JWT_MTLS;
		else {
			mode_ok = false;
			cfg_path_key(p, sizeof(p), path, "require");
			cfg_perr(c, p,
			    "must be one of none, jwt, mtls, jwt+mtls "
			    "(got %s)", cfg_quote(&q, req));
		}
	}
	if (mode_ok && mode_has_jwt(r->require) && c->nissuers == 0) {
		cfg_path_key(p, sizeof(p), path, "require");
		cfg_perr(c, p, "%s needs at least one issuer", cfg_quote(&q,
		    req));
	}

	parse_route_issuers(c, o, path, r);
	for (i = 0; i < ARRAY_SIZE(list_keys); i++)
		(void)cfg_get_strlist(c, o, path, list_keys[i], 0, SIZE_MAX,
		    NULL,
		    0, lists[i]);
	parse_claims(c, o, path, r);
	parse_claims_to_vars(c, o, path, r);

	if ((cc = cfg_get_obj(c, o, path, "client_cert")) != NULL) {
		cfg_path_key(p, sizeof(p), path, "client_cert");
		if ((r->client_cert = cfg_xcalloc(c, 1,
		    sizeof(*r->client_cert))) !=
		    NULL)
			cfg_parse_client_cert(c, cc, p, r->client_cert);
	}
	(void)cfg_get_bool(c, o, path, "bound_token", &r->bound_token);
	parse_source_cidrs(c, o, path, r);
	cfg_parse_route_assertion(c, o, path, r);

	if (!mode_ok)
		return;
	cfg_parse_route_pop(c, o, path, r, mode_has_jwt(r->require));
	if (!mode_has_jwt(r->require)) {
		for (i = 0; jwt_keys[i] != NULL; i++) {
			if (cfg_get(o, jwt_keys[i]) == NULL)
				continue;
			cfg_path_key(p, sizeof(p), path, jwt_keys[i]);
			cfg_perr(c, p, "only allowed when require is jwt or "
			    "jwt+mtls");
		}
	}
	if (!mode_has_mtls(r->require) && cfg_get(o, "client_cert") != NULL) {
		cfg_path_key(p, sizeof(p), path, "client_cert");
		cfg_perr(c, p, "only allowed when require is mtls or jwt+mtls");
	}
	if (r->require != REQUIRE_JWT_MTLS && cfg_get(o,
	    "bound_token") != NULL) {
		cfg_path_key(p, sizeof(p), path, "bound_token");
		cfg_perr(c, p, "only allowed when require is jwt+mtls");
	}
}

/*
 * Every cached token keeps one bit per distinct scope, role, claims rule
 * and rule value the routes name, and one bit and value per claims_to_vars
 * claim (tokrec.h): a bound on them all together bounds what a config adds
 * to each cached token (8 KiB at most).
 */
static void
check_mentions(struct pctx *c, const struct config *cfg)
{
	size_t n = 0;

	for (size_t r = 0; r < cfg->nroutes; r++) {
		const struct route_cfg *rt = &cfg->routes[r];

		n += rt->scopes_any.n + rt->scopes_all.n + rt->roles_any.n +
		    rt->roles_all.n + rt->nclaims + rt->nclaims_to_vars;
		for (size_t k = 0; k < rt->nclaims; k++)
			n += rt->claims[k].nvalues;
	}
	if (n > TOKREC_MENTIONS_MAX)
		cfg_perr(c, "routes", "the routes name %zu scopes, roles, "
		    "claims, claim values and claims_to_vars in all, more "
		    "than %u (each cached token keeps a bit for every "
		    "distinct one)", n, (unsigned)TOKREC_MENTIONS_MAX);
}

void
cfg_parse_routes(struct pctx *c, const cJSON *it, struct config *cfg)
{
	char p[CFG_PATH_MAX];
	const char **names;
	size_t n, i = 0;

	if (!cfg_array_ok(c, it, "routes", "objects", 0, ROUTES_MAX, &n) ||
	    n == 0)
		return;
	if ((cfg->routes = cfg_xcalloc(c, n, sizeof(*cfg->routes))) == NULL)
		return;
	cfg->nroutes = n;
	if ((names = cfg_xcalloc(c, n, sizeof(*names))) == NULL)
		return;
	c->issuers = cfg->issuers;
	c->nissuers = cfg->nissuers;
	c->top = cfg;
	for (const cJSON *e = it->child; e != NULL; e = e->next, i++) {
		cfg_path_idx(p, sizeof(p), "routes", i);
		if (!cJSON_IsObject(e))
			cfg_perr(c, p, "must be an object");
		else
			parse_route(c, e, p, &cfg->routes[i]);
		names[i] = cfg->routes[i].name;
	}
	cfg_check_unique(c, "routes", "name", "name", names, n);
	free(names);
	check_mentions(c, cfg);
}
