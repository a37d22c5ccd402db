/*
 * cfg_resource.c: a route's DPoP settings (RFC 9449) and its protected
 * resource identifier (RFC 8707, RFC 9728): "dpop", "dpop_max_age_s",
 * "resource", "resource_documentation", and the metadata document and URL
 * derived from them once, at parse time.  See cfg_int.h.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "httpuri.h"
#include "jwa.h"
#include "tenant.h"
#include "util.h"
#include "cfg_int.h"
#include "config.h"

/* The well-known path of RFC 9728 §3. */
#define WELL_KNOWN	"/.well-known/oauth-protected-resource"
/* Longest resource identifier accepted, bytes. */
#define RESOURCE_MAX	2048

/*
 * RFC 9728 §3.1: the metadata URL of ${res} (checked: https, an authority,
 * no query, no fragment): the well-known path inserted between the host
 * and the path, a path of "/" counting as none.  NULL if out of memory.
 */
static char *
metadata_url(const char *res)
{
	const char *auth, *path;
	size_t al, pl, n;
	char *out;

	if (httpuri_split(res, strlen(res), &auth, &al, &path, &pl) == 0)
		return (NULL);
	if (pl == 1)
		pl = 0;                 /* "https://host/" is "https://host" */
	n = (size_t)(auth - res) + al + sizeof(WELL_KNOWN) - 1 + pl + 1;
	if ((out = malloc(n)) == NULL)
		return (NULL);
	(void)snprintf(out, n, "%.*s%s%.*s", (int)((size_t)(auth - res) + al),
	    res, WELL_KNOWN, (int)pl, path);
	return (out);
}

/* Add the string ${s} to the array ${a} unless it is there already. */
static bool
add_distinct(cJSON *a, const char *s)
{
	const cJSON *e;

	cJSON_ArrayForEach(e, a)
		if (strcmp(e->valuestring, s) == 0)
			return (true);
	return (cJSON_AddItemToArray(a, cJSON_CreateString(s)) != 0);
}

/* The issuer identifiers of issuer ${is}: a template once per tenant of
 * its list (one that takes any tenant names no single server). */
static bool
add_issuer(cJSON *a, const struct issuer_cfg *is)
{
	char buf[RESOURCE_MAX];

	for (size_t i = 0; i < is->issuer.n; i++) {
		const char *v = is->issuer.v[i], *ph;
		size_t pl;

		if ((ph = tenant_placeholder(v, &pl)) == NULL) {
			if (!add_distinct(a, v))
				return (false);
			continue;
		}
		for (size_t t = 0; t < is->tenants.n; t++) {
			int w = snprintf(buf, sizeof(buf), "%.*s%s%s",
			    (int)(ph - v), v, is->tenants.v[t], ph + pl);

			if (w > 0 && (size_t)w < sizeof(buf) &&
			    tenant_placeholder_count(buf) == 0 &&
			    !add_distinct(a, buf))
				return (false);
		}
	}
	return (true);
}

/* The protected resource metadata document of ${r} (RFC 9728 §2). */
static char *
metadata_doc(const struct pctx *c, const struct route_cfg *r)
{
	const struct strlist *sc[] = { &r->scopes_all, &r->scopes_any };
	cJSON *d = cJSON_CreateObject(), *a;
	char *text = NULL;
	bool ok = d != NULL &&
	    cJSON_AddStringToObject(d, "resource", r->resource) != NULL;

	if (ok && (a = cJSON_AddArrayToObject(d, "authorization_servers")) !=
	    NULL) {
		for (size_t k = 0; ok && k < c->nissuers; k++) {
			bool on = r->nissuers == 0;

			for (size_t j = 0; j < r->nissuers; j++)
				on = on || r->issuers[j] == k;
			if (on)
				ok = add_issuer(a, &c->issuers[k]);
		}
		if (cJSON_GetArraySize(a) == 0)
			cJSON_DeleteItemFromObjectCaseSensitive(d,
			    "authorization_servers");
	} else {
		ok = false;
	}
	if (ok && r->scopes_all.n + r->scopes_any.n > 0) {
		ok = (a = cJSON_AddArrayToObject(d, "scopes_supported")) != NULL;
		for (size_t l = 0; ok && l < ARRAY_SIZE(sc); l++)
			for (size_t i = 0; ok && i < sc[l]->n; i++)
				ok = add_distinct(a, sc[l]->v[i]);
	}
	if (ok) {
		ok = (a = cJSON_AddArrayToObject(d, "bearer_methods_supported")) !=
		    NULL && add_distinct(a, "header");
	}
	if (ok && r->dpop != DPOP_OFF) {
		ok = (a = cJSON_AddArrayToObject(d,
		    "dpop_signing_alg_values_supported")) != NULL;
		for (int g = 0; ok && g < JWS_ALG_COUNT; g++)
			if (r->dpop_algs & JWS_ALG_BIT(g))
				ok = add_distinct(a, jwa_name((enum jws_alg)g));
		ok = ok && cJSON_AddBoolToObject(d,
		    "dpop_bound_access_tokens_required",
		    r->dpop == DPOP_REQUIRED) != NULL;
	}
	if (ok && r->resource_documentation != NULL)
		ok = cJSON_AddStringToObject(d, "resource_documentation",
		    r->resource_documentation) != NULL;
	if (ok)
		text = cJSON_PrintUnformatted(d);
	cJSON_Delete(d);
	return (text);
}

/* "resource": an https URL with an authority, no query, no fragment, no
 * user information (RFC 8707 §2, RFC 9728 §1.2). */
static void
parse_resource(struct pctx *c, const cJSON *o, const char *path,
    struct route_cfg *r)
{
	char p[CFG_PATH_MAX];
	const char *auth, *rp;
	size_t al, pl, n;

	if (cfg_get_url(c, o, path, "resource", false, URL_HTTPS,
	    &r->resource) != PRESENT)
		return;
	cfg_path_key(p, sizeof(p), path, "resource");
	n = strlen(r->resource);
	if (strncmp(r->resource, "https://", 8) != 0)
		cfg_perr(c, p, "must be an https:// URL");
	else if (n > RESOURCE_MAX)
		cfg_perr(c, p, "longer than %u bytes", (unsigned)RESOURCE_MAX);
	else if (memchr(r->resource, '?', n) != NULL ||
	    memchr(r->resource, '#', n) != NULL)
		cfg_perr(c, p, "must have no query and no fragment (RFC 8707 "
		    "§2)");
	else if (httpuri_split(r->resource, n, &auth, &al, &rp, &pl) == 0)
		cfg_perr(c, p, "must be an https URL with a host and no user "
		    "information");
	else if ((r->metadata_url = metadata_url(r->resource)) == NULL)
		cfg_oom(c);
}

void
cfg_parse_route_pop(struct pctx *c, const cJSON *o, const char *path,
    struct route_cfg *r, bool has_jwt)
{
	static const char *const keys[] = {
		"dpop", "dpop_max_age_s", "resource", "resource_documentation"
	};
	char p[CFG_PATH_MAX];
	const char *s;
	struct quoted q;

	r->dpop = DPOP_OFF;
	r->dpop_max_age_s = 300;
	r->dpop_algs = JWS_ALG_ASYMMETRIC_MASK;
	if (cfg_get_sval(c, o, path, "dpop", false, &s) == PRESENT) {
		if (strcmp(s, "off") == 0)
			r->dpop = DPOP_OFF;
		else if (strcmp(s, "allowed") == 0)
			r->dpop = DPOP_ALLOWED;
		else if (strcmp(s, "required") == 0)
			r->dpop = DPOP_REQUIRED;
		else {
			cfg_path_key(p, sizeof(p), path, "dpop");
			cfg_perr(c, p, "must be one of off, allowed, required "
			    "(got %s)", cfg_quote(&q, s));
		}
	}
	(void)cfg_get_u32(c, o, path, "dpop_max_age_s", 1, 86400,
	    &r->dpop_max_age_s);
	parse_resource(c, o, path, r);
	(void)cfg_get_url(c, o, path, "resource_documentation", false,
	    URL_HTTP_OK, &r->resource_documentation);
	if (!has_jwt) {
		for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
			if (cfg_get(o, keys[i]) == NULL)
				continue;
			cfg_path_key(p, sizeof(p), path, keys[i]);
			cfg_perr(c, p, "only allowed when require is jwt or "
			    "jwt+mtls");
		}
		return;
	}
	if (r->resource_documentation != NULL && r->resource == NULL) {
		cfg_path_key(p, sizeof(p), path, "resource_documentation");
		cfg_perr(c, p, "needs resource");
	}
	if (r->metadata_url != NULL && c->nerr == 0) {
		if ((r->metadata_doc = metadata_doc(c, r)) == NULL)
			cfg_oom(c);
		else
			r->metadata_doc_len = strlen(r->metadata_doc);
	}
}

void
cfg_route_pop_free(struct route_cfg *r)
{
	free(r->resource);
	free(r->resource_documentation);
	free(r->metadata_url);
	cJSON_free(r->metadata_doc);
}
