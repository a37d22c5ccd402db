/*
 * cfg_issuer.c: credentials and issuers.  See cfg_int.h.
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
#include "url.h"
#include "util.h"
#include "cfg_int.h"
#include "config.h"

/* credentials ----------------------------------------------------------- */

static const char *const cred_mi_keys[] = {
	"name", "type", "endpoint", "resource", "client_id", "api_version",
	NULL
};
static const char *const cred_cc_keys[] = {
	"name", "type", "token_url", "client_id", "client_secret_file",
	"client_secret_env", "scope", "ca_file", NULL
};
static const char *const cred_cert_keys[] = {
	"name", "type", "cert_file", "key_file", NULL
};
static const char *const cred_all_keys[] = {
	"name", "type", "endpoint", "resource", "client_id", "api_version",
	"token_url", "client_secret_file", "client_secret_env", "scope",
	"ca_file", "cert_file", "key_file", NULL
};

static void
parse_credential(struct pctx *c, const cJSON *o, const char *path,
    struct credential *cr)
{
	const char *type = NULL;
	char p[CFG_PATH_MAX];
	struct quoted q;
	int rt, nsec;

	(void)cfg_get_str(c, o, path, "name", true, cfg_check_name, 0,
	    &cr->name);
	rt = cfg_get_sval(c, o, path, "type", true, &type);
	if (rt != PRESENT) {
		cfg_check_keys(c, o, path, cred_all_keys);
		return;
	}
	cfg_path_key(p, sizeof(p), path, "type");
	if (strcmp(type, "managed_identity") == 0) {
		cr->type = CRED_MANAGED_IDENTITY;
		cfg_check_keys2(c, o, path, cred_mi_keys, cred_all_keys,
		    "not allowed with type \"managed_identity\"");
		if (cfg_get_url(c, o, path, "endpoint", false, URL_HTTP_OK,
		    &cr->endpoint) == ABSENT)
			cr->endpoint = cfg_xstrdup(c, MI_DEFAULT_ENDPOINT);
		(void)cfg_get_str(c, o, path, "resource", true, NULL, 0,
		    &cr->resource);
		(void)cfg_get_str(c, o, path, "client_id", false, NULL, 0,
		    &cr->client_id);
		if (cfg_get_str(c, o, path, "api_version", false, NULL, 0,
		    &cr->api_version) == ABSENT)
			cr->api_version = cfg_xstrdup(c,
			    MI_DEFAULT_API_VERSION);
	} else if (strcmp(type, "client_credentials") == 0) {
		cr->type = CRED_CLIENT_CREDENTIALS;
		cfg_check_keys2(c, o, path, cred_cc_keys, cred_all_keys,
		    "not allowed with type \"client_credentials\"");
		(void)cfg_get_url(c, o, path, "token_url", true, URL_HTTPS,
		    &cr->token_url);
		(void)cfg_get_str(c, o, path, "client_id", true, NULL, 0,
		    &cr->client_id);
		nsec = (cfg_get(o, "client_secret_file") != NULL) +
		    (cfg_get(o, "client_secret_env") != NULL);
		if (nsec != 1)
			cfg_perr(c, path, "exactly one of client_secret_file, "
			    "client_secret_env is required");
		(void)cfg_get_str(c, o, path, "client_secret_file", false, NULL,
		    SV_PATH, &cr->client_secret_file);
		(void)cfg_get_str(c, o, path, "client_secret_env", false,
		    cfg_check_env_name, 0, &cr->client_secret_env);
		(void)cfg_get_str(c, o, path, "scope", false, NULL, 0,
		    &cr->scope);
		(void)cfg_get_str(c, o, path, "ca_file", false, NULL, SV_PATH,
		    &cr->ca_file);
	} else if (strcmp(type, "client_certificate") == 0) {
		cr->type = CRED_CLIENT_CERT;
		cfg_check_keys2(c, o, path, cred_cert_keys, cred_all_keys,
		    "not allowed with type \"client_certificate\"");
		(void)cfg_get_str(c, o, path, "cert_file", true, NULL, SV_PATH,
		    &cr->cert_file);
		(void)cfg_get_str(c, o, path, "key_file", true, NULL, SV_PATH,
		    &cr->key_file);
	} else {
		cfg_perr(c, p, "unknown credential type %s (managed_identity, "
		    "client_credentials or client_certificate)",
		    cfg_quote(&q, type));
		cfg_check_keys(c, o, path, cred_all_keys);
	}
}

void
cfg_parse_credentials(struct pctx *c, const cJSON *root, struct config *cfg)
{
	const char *names[CREDENTIALS_MAX];
	char p[CFG_PATH_MAX];
	const cJSON *it = cfg_get(root, "credentials");
	size_t n, i = 0;

	if (it == NULL)
		return;
	if (!cfg_array_ok(c, it, "credentials", "objects", 0, CREDENTIALS_MAX,
	    &n) ||
	    n == 0)
		return;
	if ((cfg->credentials = cfg_xcalloc(c, n, sizeof(*cfg->credentials))) ==
	    NULL)
		return;
	cfg->ncredentials = n;
	for (const cJSON *e = it->child; e != NULL; e = e->next, i++) {
		cfg_path_idx(p, sizeof(p), "credentials", i);
		if (!cJSON_IsObject(e))
			cfg_perr(c, p, "must be an object");
		else
			parse_credential(c, e, p, &cfg->credentials[i]);
		names[i] = cfg->credentials[i].name;
	}
	cfg_check_unique(c, "credentials", "name", "name", names, n);
}

static bool
credential_exists(const struct pctx *c, const char *name)
{
	for (size_t i = 0; i < c->ncreds; i++)
		if (c->creds[i].name != NULL &&
		    strcmp(c->creds[i].name, name) == 0)
			return (true);
	return (false);
}

/* ${key} of ${o}: the name of an entry of credentials. */
void
cfg_get_credential_ref(struct pctx *c, const cJSON *o, const char *path,
    const char *key, char **out)
{
	char p[CFG_PATH_MAX];
	struct quoted q;

	if (cfg_get_str(c, o, path, key, false, NULL, 0, out) != PRESENT)
		return;
	if (!credential_exists(c, *out)) {
		cfg_path_key(p, sizeof(p), path, key);
		cfg_perr(c, p, "no credential named %s", cfg_quote(&q, *out));
	}
}

/* issuers --------------------------------------------------------------- */

static const char *const issuer_keys[] = {
	"name", "issuer", "discovery_url", "jwks_url", "jwks_file", "appid",
	"audiences", "algorithms", "hmac_secret_file", "hmac_secret_env",
	"clock_skew_s", "require_exp", "max_lifetime_s", "typ", "tenants",
	"allow_any_tenant", "roles_claim", "scopes_claim", "ca_file",
	"credential", NULL
};

/*
 * "typ": the accepted typ header values; null in the list accepts a token
 * without typ (Okta access tokens carry none), explicitly.
 */
static void
parse_typ(struct pctx *c, const cJSON *o, const char *path,
    struct issuer_cfg *is)
{
	char p[CFG_PATH_MAX], ep[CFG_PATH_MAX];
	const cJSON *it = cfg_get(o, "typ");
	size_t n, i = 0;

	if (it == NULL)
		return;
	cfg_path_key(p, sizeof(p), path, "typ");
	if (!cfg_array_ok(c, it, p, "strings (or null for no typ)", 1, SIZE_MAX,
	    &n))
		return;
	is->typ_check = true;
	if ((is->typ.v = cfg_xcalloc(c, n, sizeof(*is->typ.v))) == NULL)
		return;
	for (const cJSON *e = it->child; e != NULL; e = e->next, i++) {
		const char *v;

		cfg_path_idx(ep, sizeof(ep), p, i);
		if (cJSON_IsNull(e)) {
			if (is->typ_absent_ok)
				cfg_perr(c, ep, "null given twice");
			is->typ_absent_ok = true;
			continue;
		}
		if ((v = cfg_str_value(c, e, ep)) == NULL)
			continue;
		if ((is->typ.v[is->typ.n] = cfg_xstrdup(c, v)) != NULL)
			is->typ.n++;
	}
}

/* "roles_claim" / "scopes_claim": one claim path or an array of them. */
static void
parse_word_claims(struct pctx *c, const cJSON *o, const char *path,
    const char *key, struct strlist *out)
{
	char p[CFG_PATH_MAX], ep[CFG_PATH_MAX];
	const cJSON *it = cfg_get(o, key);
	const char *msg;

	if (it == NULL)
		return;
	cfg_path_key(p, sizeof(p), path, key);
	if (cJSON_IsString(it)) {
		const char *v = cfg_str_value(c, it, p);

		if (v == NULL)
			return;
		if ((msg = cfg_claim_path_error(v)) != NULL) {
			cfg_perr(c, p, "%s", msg);
			return;
		}
		if ((out->v = cfg_xcalloc(c, 1, sizeof(char *))) != NULL &&
		    (out->v[0] = cfg_xstrdup(c, v)) != NULL)
			out->n = 1;
		return;
	}
	if (!cJSON_IsArray(it)) {
		cfg_perr(c, p, "must be a claim path or an array of them");
		return;
	}
	if (cfg_strlist_from(c, it, p, 1, CLAIMS_SOURCES_MAX, NULL, 0, out) !=
	    PRESENT)
		return;
	for (size_t i = 0; i < out->n; i++) {
		if ((msg = cfg_claim_path_error(out->v[i])) != NULL) {
			cfg_path_idx(ep, sizeof(ep), p, i);
			cfg_perr(c, ep, "%s", msg);
		}
	}
}

static void
parse_issuer_values(struct pctx *c, const cJSON *o, const char *path,
    struct issuer_cfg *is)
{
	char p[CFG_PATH_MAX], ep[CFG_PATH_MAX];
	const cJSON *it = cfg_get(o, "issuer");
	const char *s;
	size_t i;

	cfg_path_key(p, sizeof(p), path, "issuer");
	if (it == NULL) {
		cfg_perr(c, p, "required");
		return;
	}
	if (cJSON_IsString(it)) {
		if ((s = cfg_str_value(c, it, p)) == NULL)
			return;
		if ((is->issuer.v = cfg_xcalloc(c, 1,
		    sizeof(char *))) == NULL ||
		    (is->issuer.v[0] = cfg_xstrdup(c, s)) == NULL)
			return;
		is->issuer.n = 1;
	} else if (cJSON_IsArray(it)) {
		if (cfg_strlist_from(c, it, p, 1, SIZE_MAX, NULL, 0,
		    &is->issuer) !=
		    PRESENT)
			return;
	} else {
		cfg_perr(c, p, "must be a string or an array of strings");
		return;
	}
	for (i = 0; i < is->issuer.n; i++) {
		size_t k = tenant_placeholder_count(is->issuer.v[i]);

		if (k > 1) {
			if (cJSON_IsArray(it))
				cfg_path_idx(ep, sizeof(ep), p, i);
			else
				(void)snprintf(ep, sizeof(ep), "%s", p);
			cfg_perr(c, ep, "a tenant placeholder ({tenant} or "
			    "{tenantid}) may appear at most once");
		}
		if (k > 0)
			is->templated = true;
	}
}

static void
parse_issuer(struct pctx *c, const cJSON *o, const char *path,
    struct issuer_cfg *is)
{
	static const char *const src_keys[] = {
		"discovery_url", "jwks_url", "jwks_file"
	};
	char p[CFG_PATH_MAX], ep[CFG_PATH_MAX];
	char *loc[3] = { NULL, NULL, NULL };   /* in enum key_source order */
	const cJSON *algs;
	struct quoted q;
	bool algs_bad = false;
	int nsrc = 0, nsec, rt;
	size_t i;

	cfg_check_keys(c, o, path, issuer_keys);
	(void)cfg_get_str(c, o, path, "name", true, cfg_check_name, 0,
	    &is->name);
	parse_issuer_values(c, o, path, is);

	for (i = 0; i < ARRAY_SIZE(src_keys); i++)
		if (cfg_get(o, src_keys[i]) != NULL)
			nsrc++;
	if (nsrc > 1)
		cfg_perr(c, path, "exactly one of discovery_url, jwks_url, "
		    "jwks_file is required");
	/* Parse each given source (to report its errors); keep the first. */
	(void)cfg_get_url(c, o, path, "discovery_url", false, URL_HTTPS,
	    &loc[0]);
	(void)cfg_get_url(c, o, path, "jwks_url", false, URL_HTTPS, &loc[1]);
	(void)cfg_get_str(c, o, path, "jwks_file", false, NULL, SV_PATH,
	    &loc[2]);
	for (i = 0; i < ARRAY_SIZE(loc); i++) {
		if (loc[i] != NULL && is->source_location == NULL) {
			is->source_location = loc[i];
			is->source = (enum key_source)i;
		} else {
			free(loc[i]);
		}
	}

	(void)cfg_get_str(c, o, path, "appid", false, cfg_check_appid, 0,
	    &is->appid);
	rt = cfg_get_strlist(c, o, path, "audiences", 1, SIZE_MAX, NULL, 0,
	    &is->audiences);
	if (rt == ABSENT) {
		cfg_path_key(p, sizeof(p), path, "audiences");
		cfg_perr(c, p, "required");
	}

	is->algorithms = JWS_ALG_ASYMMETRIC_MASK;
	if ((algs = cfg_get(o, "algorithms")) != NULL) {
		size_t n;

		cfg_path_key(p, sizeof(p), path, "algorithms");
		is->algorithms = 0;
		algs_bad = true;
		if (cfg_array_ok(c, algs, p, "strings", 1, SIZE_MAX, &n)) {
			algs_bad = false;
			i = 0;
			for (const cJSON *e = algs->child; e != NULL;
			    e = e->next, i++) {
				const char *s;
				int a;

				cfg_path_idx(ep, sizeof(ep), p, i);
				if ((s = cfg_str_value(c, e, ep)) == NULL) {
					algs_bad = true;
					continue;
				}
				if ((a = jwa_parse(s, strlen(s))) < 0) {
					cfg_perr(c, ep, "unknown algorithm %s",
					    cfg_quote(&q, s));
					algs_bad = true;
					continue;
				}
				is->algorithms |= JWS_ALG_BIT(a);
			}
		}
	}

	/* A shared secret and public keys never serve one issuer (RFC 8725
	 * §3.1, Wycheproof MixedKeySet): an HS-only issuer takes no key
	 * source, any other needs exactly one. */
	bool hs_only = is->algorithms != 0 && !algs_bad &&
	    (is->algorithms & ~JWS_ALG_HMAC_MASK) == 0;
	if (!algs_bad && (is->algorithms & JWS_ALG_HMAC_MASK) && !hs_only) {
		cfg_path_key(p, sizeof(p), path, "algorithms");
		cfg_perr(c, p,
		    "HS256/HS384/HS512 cannot be mixed with asymmetric "
		    "algorithms in one issuer (use two issuers)");
	} else if (hs_only && nsrc > 0) {
		cfg_perr(c, path,
		    "an issuer with only HS256/HS384/HS512 takes no "
		    "discovery_url, jwks_url or jwks_file");
	} else if (nsrc == 0 && !hs_only) {
		cfg_perr(c, path, "exactly one of discovery_url, jwks_url, "
		    "jwks_file is required");
	}
	if (nsrc == 0)
		is->source = KEYS_NONE;

	nsec = (cfg_get(o, "hmac_secret_file") != NULL) +
	    (cfg_get(o, "hmac_secret_env") != NULL);
	(void)cfg_get_str(c, o, path, "hmac_secret_file", false, NULL, SV_PATH,
	    &is->hmac_secret_file);
	(void)cfg_get_str(c, o, path, "hmac_secret_env", false,
	    cfg_check_env_name, 0,
	    &is->hmac_secret_env);
	if (is->algorithms & JWS_ALG_HMAC_MASK) {
		if (nsec != 1)
			cfg_perr(c, path,
			    "HS256/HS384/HS512 require exactly one "
			    "of hmac_secret_file, hmac_secret_env");
	} else if (nsec > 0 && !algs_bad) {
		cfg_path_key(p, sizeof(p), path, cfg_get(o,
		    "hmac_secret_file") ?
		    "hmac_secret_file" : "hmac_secret_env");
		cfg_perr(c, p, "requires an HS256, HS384 or HS512 algorithm");
	}

	is->clock_skew_s = 60;
	(void)cfg_get_u32(c, o, path, "clock_skew_s", 0, 600,
	    &is->clock_skew_s);
	is->require_exp = true;
	(void)cfg_get_bool(c, o, path, "require_exp", &is->require_exp);
	is->max_lifetime_s = 0;
	(void)cfg_get_u32(c, o, path, "max_lifetime_s", 0, 31536000,
	    &is->max_lifetime_s);
	parse_typ(c, o, path, is);
	parse_word_claims(c, o, path, "roles_claim", &is->roles_claims);
	parse_word_claims(c, o, path, "scopes_claim", &is->scopes_claims);

	/*
	 * A template accepts whichever tenant signs: the allow-list is what
	 * keeps the rest of the world out.  Every tenant is a choice made in
	 * so many words ("allow_any_tenant"), never the default.
	 */
	rt = cfg_get_strlist(c, o, path, "tenants", 1, SIZE_MAX, cfg_check_guid,
	    0,
	    &is->tenants);
	(void)cfg_get_bool(c, o, path, "allow_any_tenant", &is->any_tenant);
	cfg_path_key(p, sizeof(p), path, "tenants");
	cfg_path_key(ep, sizeof(ep), path, "allow_any_tenant");
	if (is->templated && is->any_tenant && rt != ABSENT)
		cfg_perr(c, p, "cannot be combined with allow_any_tenant");
	else if (is->templated && !is->any_tenant && rt == ABSENT)
		cfg_perr(c, p, "required when issuer contains {tenant} or "
		    "{tenantid} (or \"allow_any_tenant\": true to accept "
		    "tokens of every tenant)");
	else if (!is->templated && rt != ABSENT && is->issuer.n > 0)
		cfg_perr(c, p, "only allowed when issuer contains {tenant} or "
		    "{tenantid}");
	if (!is->templated && is->any_tenant && is->issuer.n > 0)
		cfg_perr(c, ep, "only allowed when issuer contains {tenant} or "
		    "{tenantid}");

	(void)cfg_get_str(c, o, path, "ca_file", false, NULL, SV_PATH,
	    &is->ca_file);
	cfg_get_credential_ref(c, o, path, "credential", &is->credential);
	if (nsrc == 1 && cfg_get(o, "jwks_file") != NULL) {
		static const char *const remote_only[] = {
			"appid", "ca_file", "credential"
		};

		for (i = 0; i < ARRAY_SIZE(remote_only); i++) {
			if (cfg_get(o, remote_only[i]) == NULL)
				continue;
			cfg_path_key(p, sizeof(p), path, remote_only[i]);
			cfg_perr(c, p,
			    "only used with discovery_url or jwks_url");
		}
	}
}

void
cfg_parse_issuers(struct pctx *c, const cJSON *root, struct config *cfg)
{
	char p[CFG_PATH_MAX];
	const cJSON *it = cfg_get(root, "issuers");
	const char **names;
	size_t n, i = 0;

	if (it == NULL)
		return;
	if (!cfg_array_ok(c, it, "issuers", "objects", 0, ISSUERS_MAX, &n) ||
	    n == 0)
		return;
	if ((cfg->issuers = cfg_xcalloc(c, n, sizeof(*cfg->issuers))) == NULL)
		return;
	cfg->nissuers = n;
	if ((names = cfg_xcalloc(c, n, sizeof(*names))) == NULL)
		return;
	for (const cJSON *e = it->child; e != NULL; e = e->next, i++) {
		cfg_path_idx(p, sizeof(p), "issuers", i);
		if (!cJSON_IsObject(e))
			cfg_perr(c, p, "must be an object");
		else
			parse_issuer(c, e, p, &cfg->issuers[i]);
		names[i] = cfg->issuers[i].name;
	}
	cfg_check_unique(c, "issuers", "name", "name", names, n);
	free(names);
}
