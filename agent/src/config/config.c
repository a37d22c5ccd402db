/*
 * config.c: see config.h.  With the cfg_*.c files of this folder (one per
 * section of the document, cfg_int.h), the only cJSON user among the
 * configuration modules.
 *
 * Shape of the parser: a document goes through the strict tokenizer, which
 * builds its cJSON tree (json_doc_parse: UTF-8, control bytes, "\u0000",
 * duplicate keys, grammar; an error names its line and column), then is
 * walked by one function per object kind.  Every function reports what it
 * finds through cfg_perr() with the JSON path of the offending value and
 * carries on, so one pass reports every error.  The
 * struct being filled owns everything stored so far, so failure is a plain
 * config_free().  Issuers and routes are parsed by the same functions for
 * the config file and for policy documents; the context (struct pctx)
 * carries what they need from the rest of the configuration.
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

/* Top level ------------------------------------------------------------- */

/* Top-level integer keys: default and range (README "Top level"). */
static const struct {
	const char *key;
	uint32_t def, min, max;
	size_t off;
} top_u32[] = {
#define U32(k, d, lo, hi) { #k, d, lo, hi, offsetof(struct config, k) }
	U32(token_cache_entries, 65536, 0, 16777216),
	U32(cert_cache_entries, 4096, 0, 1048576),
	U32(max_token_bytes, 8192, 512, 65536),
	U32(max_frame_size, 65532, 256, 16777215),
	U32(park_timeout_ms, 1500, 0, 10000),
	U32(max_connections, 0, 0, 1048576),
	U32(idle_timeout_ms, 60000, 0, 86400000),
	U32(frame_timeout_ms, 5000, 100, 600000),
	U32(partial_frames_max_bytes, 16777216, 262144, 1073741824),
	U32(kid_refetch_interval_ms, 1000, 100, 600000),
	U32(kid_negative_ttl_s, 60, 1, 3600),
	/* Replaced by the two above; parsed only to be warned about (0: not
	 * given). */
	U32(kid_refetch_cooldown_s, 0, 1, 3600),
#undef U32
};

static const char *const top_keys[] = {
	"listen", "admin_listen", "listen_takeover", "workers", "state_dir",
	"log_level", "log_format",
	"token_cache_entries", "cert_cache_entries", "max_token_bytes",
	"max_frame_size", "park_timeout_ms", "kid_refetch_interval_ms",
	"max_connections", "idle_timeout_ms", "frame_timeout_ms",
	"partial_frames_max_bytes",
	"kid_negative_ttl_s", "kid_refetch_cooldown_s",
	"policy_url", "policy_file", "policy_credential", "policy_ca_file",
	"client_ca_file", "crl_files", "crl_urls", "crl_stale", "fetch",
	"credentials", "issuers", "routes", "answer",
	"assertion_issuer", "assertion_alg", "assertion_key_rotate_s",
	"assertion_key_publish_ahead_s", "assertion_jwks_file",
	NULL
};

/*
 * "answer": {"on_allow": [...]}: what an allowed answer carries beyond
 * what HAProxy needs (ANSWER_*, README "What the agent answers").
 */
static void
parse_answer(struct pctx *c, const cJSON *root, struct config *cfg)
{
	static const char *const keys[] = { "on_allow", NULL };
	static const struct { const char *name; unsigned bit; } opt[] = {
		{ "status", ANSWER_OK_STATUS }, { "reason", ANSWER_OK_REASON },
	};
	char ep[CFG_PATH_MAX];
	const cJSON *o, *it;
	const char *s;
	struct quoted q;
	size_t n, i = 0, k;

	cfg->answer = ANSWER_DEFAULT;
	if ((o = cfg_get_obj(c, root, "", "answer")) == NULL)
		return;
	cfg_check_keys(c, o, "answer", keys);
	if ((it = cfg_get(o, "on_allow")) == NULL ||
	    !cfg_array_ok(c, it, "answer.on_allow", "strings", 0,
	    ARRAY_SIZE(opt), &n))
		return;
	cfg->answer = 0;
	for (const cJSON *e = it->child; e != NULL; e = e->next, i++) {
		cfg_path_idx(ep, sizeof(ep), "answer.on_allow", i);
		if ((s = cfg_str_value(c, e, ep)) == NULL)
			continue;
		for (k = 0; k < ARRAY_SIZE(opt); k++)
			if (strcmp(s, opt[k].name) == 0)
				break;
		if (k == ARRAY_SIZE(opt))
			cfg_perr(c, ep, "must be status or reason (got %s)",
			    cfg_quote(&q, s));
		else if (cfg->answer & opt[k].bit)
			cfg_perr(c, ep, "%s is listed twice", opt[k].name);
		else
			cfg->answer |= opt[k].bit;
	}
}

static void
parse_listens(struct pctx *c, const cJSON *root, struct config *cfg)
{
	char ep[CFG_PATH_MAX];
	const cJSON *it = cfg_get(root, "listen");
	const char *s;
	size_t n, i = 0;

	if (it == NULL) {
		cfg_perr(c, "listen", "required");
		return;
	}
	if (!cfg_array_ok(c, it, "listen", "strings", 1, LISTEN_MAX, &n))
		return;
	if ((cfg->listen = cfg_xcalloc(c, n, sizeof(*cfg->listen))) == NULL)
		return;
	for (const cJSON *e = it->child; e != NULL; e = e->next, i++) {
		cfg_path_idx(ep, sizeof(ep), "listen", i);
		if ((s = cfg_str_value(c, e, ep)) == NULL)
			continue;
		cfg_parse_listen(c, s, ep, true, &cfg->listen[cfg->nlisten++]);
	}
}

static uint32_t
online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		return (1);
	if (n > 256)
		return (256);
	return ((uint32_t)n);
}

static void
parse_config(struct pctx *c, const cJSON *root, struct config *cfg)
{
	const cJSON *fetch, *routes;
	const char *s;
	struct quoted q;
	enum log_level lvl;
	enum log_format fmt;
	int r;

	cfg_check_keys(c, root, "", top_keys);
	parse_listens(c, root, cfg);
	if (cfg_get_sval(c, root, "", "admin_listen", false, &s) == PRESENT) {
		if ((cfg->admin_listen = cfg_xcalloc(c, 1,
		    sizeof(*cfg->admin_listen))) != NULL)
			cfg_parse_listen(c, s, "admin_listen", false,
			    cfg->admin_listen);
	}
	cfg->listen_takeover = true;
	(void)cfg_get_bool(c, root, "", "listen_takeover",
	    &cfg->listen_takeover);
	cfg->workers = 0;
	(void)cfg_get_u32(c, root, "", "workers", 0, 256, &cfg->workers);
	if (cfg->workers == 0)
		cfg->workers = online_cpus();
	(void)cfg_get_str(c, root, "", "state_dir", false, NULL, SV_PATH,
	    &cfg->state_dir);
	cfg->log_level = LOG_LVL_INFO;
	if (cfg_get_sval(c, root, "", "log_level", false, &s) == PRESENT) {
		if (log_level_parse(s, &lvl) != 0)
			cfg_perr(c, "log_level", "must be one of error, warn, "
			    "info, debug (got %s)", cfg_quote(&q, s));
		else
			cfg->log_level = (int)lvl;
	}
	cfg->log_format = LOG_FMT_TEXT;
	if (cfg_get_sval(c, root, "", "log_format", false, &s) == PRESENT) {
		if (log_format_parse(s, &fmt) != 0)
			cfg_perr(c, "log_format", "must be text or json (got %s)",
			    cfg_quote(&q, s));
		else
			cfg->log_format = (int)fmt;
	}
	for (size_t k = 0; k < ARRAY_SIZE(top_u32); k++) {
		uint32_t *f = (uint32_t *)(void *)((char *)cfg + top_u32[k].off);

		*f = top_u32[k].def;
		(void)cfg_get_u32(c, root, "", top_u32[k].key, top_u32[k].min,
		    top_u32[k].max, f);
	}

	parse_answer(c, root, cfg);
	cfg_fetch_defaults(&cfg->fetch);
	if ((fetch = cfg_get_obj(c, root, "", "fetch")) != NULL)
		cfg_parse_fetch(c, fetch, &cfg->fetch);
	c->insecure = cfg->fetch.insecure_skip_verify_for_tests;
	cfg_parse_credentials(c, root, cfg);
	c->creds = cfg->credentials;
	c->ncreds = cfg->ncredentials;

	(void)cfg_get_url(c, root, "", "policy_url", false, URL_HTTPS,
	    &cfg->policy_url);
	(void)cfg_get_str(c, root, "", "policy_file", false, NULL, SV_PATH,
	    &cfg->policy_file);
	if (cfg_get(root, "policy_url") != NULL && cfg_get(root,
	    "policy_file") != NULL)
		cfg_perr(c, "policy_file", "policy_url and policy_file are "
		    "mutually exclusive");
	cfg_get_credential_ref(c, root, "", "policy_credential",
	    &cfg->policy_credential);
	(void)cfg_get_str(c, root, "", "policy_ca_file", false, NULL, SV_PATH,
	    &cfg->policy_ca_file);
	if (cfg_get(root, "policy_url") == NULL) {
		if (cfg_get(root, "policy_credential") != NULL)
			cfg_perr(c, "policy_credential", "requires policy_url");
		if (cfg_get(root, "policy_ca_file") != NULL)
			cfg_perr(c, "policy_ca_file", "requires policy_url");
	}

	r = cfg_get_str(c, root, "", "client_ca_file", false, NULL, SV_PATH,
	    &cfg->client_ca_file);
	c->have_client_ca = (r == PRESENT);
	(void)cfg_get_strlist(c, root, "", "crl_files", 0, SIZE_MAX, NULL,
	    SV_PATH,
	    &cfg->crl_files);
	(void)cfg_get_urllist(c, root, "", "crl_urls", URL_HTTP_OK,
	    &cfg->crl_urls);
	cfg->crl_stale = CRL_STALE_DENY;
	if (cfg_get_sval(c, root, "", "crl_stale", false, &s) == PRESENT) {
		if (strcmp(s, "deny") == 0)
			cfg->crl_stale = CRL_STALE_DENY;
		else if (strcmp(s, "allow") == 0)
			cfg->crl_stale = CRL_STALE_ALLOW;
		else
			cfg_perr(c, "crl_stale",
			    "must be deny or allow (got %s)",
			    cfg_quote(&q, s));
	}

	cfg_parse_assertion_top(c, root, cfg);
	cfg_parse_issuers(c, root, cfg);
	routes = cfg_get(root, "routes");
	if (routes != NULL && cfg_get(root, "policy_file") != NULL)
		cfg_perr(c, "routes",
		    "not allowed with policy_file (the policy "
		    "document holds the routes)");
	if (routes != NULL)
		cfg_parse_routes(c, routes, cfg);
	if (cfg->nroutes == 0 && cfg_get(root, "policy_url") == NULL &&
	    cfg_get(root, "policy_file") == NULL &&
	    (routes == NULL || (cJSON_IsArray(routes) &&
	    routes->child == NULL)))
		cfg_perr(c, "routes", "at least one route is required unless "
		    "policy_url or policy_file is set");
}

/* Copying the base of a policy config ---------------------------------- */

static int
strlist_copy(struct pctx *c, struct strlist *dst, const struct strlist *src)
{
	if (src->n == 0)
		return (0);
	if ((dst->v = cfg_xcalloc(c, src->n, sizeof(*dst->v))) == NULL)
		return (-1);
	for (size_t i = 0; i < src->n; i++) {
		if ((dst->v[i] = cfg_xstrdup(c, src->v[i])) == NULL)
			return (-1);
		dst->n++;
	}
	return (0);
}

static void
listen_copy(struct pctx *c, struct listen_addr *dst,
    const struct listen_addr *src)
{
	dst->kind = src->kind;
	dst->port = src->port;
	dst->host = cfg_xstrdup(c, src->host);
	dst->path = cfg_xstrdup(c, src->path);
	dst->text = cfg_xstrdup(c, src->text);
}

static void
copy_base(struct pctx *c, const struct config *b, struct config *d)
{
	size_t i;

	d->path = cfg_xstrdup(c, b->path);
	d->base_dir = cfg_xstrdup(c, b->base_dir);
	if (b->nlisten > 0 &&
	    (d->listen = cfg_xcalloc(c, b->nlisten,
	    sizeof(*d->listen))) != NULL) {
		for (i = 0; i < b->nlisten; i++)
			listen_copy(c, &d->listen[i], &b->listen[i]);
		d->nlisten = b->nlisten;
	}
	if (b->admin_listen != NULL &&
	    (d->admin_listen = cfg_xcalloc(c, 1,
	    sizeof(*d->admin_listen))) != NULL)
		listen_copy(c, d->admin_listen, b->admin_listen);
	d->listen_takeover = b->listen_takeover;
	d->workers = b->workers;
	d->state_dir = cfg_xstrdup(c, b->state_dir);
	d->log_level = b->log_level;
	d->log_format = b->log_format;
	d->answer = b->answer;
	d->token_cache_entries = b->token_cache_entries;
	d->cert_cache_entries = b->cert_cache_entries;
	d->max_token_bytes = b->max_token_bytes;
	d->max_frame_size = b->max_frame_size;
	d->park_timeout_ms = b->park_timeout_ms;
	d->max_connections = b->max_connections;
	d->idle_timeout_ms = b->idle_timeout_ms;
	d->frame_timeout_ms = b->frame_timeout_ms;
	d->partial_frames_max_bytes = b->partial_frames_max_bytes;
	d->kid_refetch_interval_ms = b->kid_refetch_interval_ms;
	d->kid_negative_ttl_s = b->kid_negative_ttl_s;
	d->kid_refetch_cooldown_s = b->kid_refetch_cooldown_s;
	d->policy_url = cfg_xstrdup(c, b->policy_url);
	d->policy_file = cfg_xstrdup(c, b->policy_file);
	d->policy_credential = cfg_xstrdup(c, b->policy_credential);
	d->policy_ca_file = cfg_xstrdup(c, b->policy_ca_file);
	d->client_ca_file = cfg_xstrdup(c, b->client_ca_file);
	(void)strlist_copy(c, &d->crl_files, &b->crl_files);
	(void)strlist_copy(c, &d->crl_urls, &b->crl_urls);
	d->crl_stale = b->crl_stale;
	d->fetch = b->fetch;
	d->fetch.ca_file = cfg_xstrdup(c, b->fetch.ca_file);
	if (b->ncredentials > 0 && (d->credentials = cfg_xcalloc(c,
	    b->ncredentials, sizeof(*d->credentials))) != NULL) {
		d->ncredentials = b->ncredentials;
		for (i = 0; i < b->ncredentials; i++) {
			const struct credential *s = &b->credentials[i];
			struct credential *t = &d->credentials[i];

			t->name = cfg_xstrdup(c, s->name);
			t->type = s->type;
			t->endpoint = cfg_xstrdup(c, s->endpoint);
			t->resource = cfg_xstrdup(c, s->resource);
			t->client_id = cfg_xstrdup(c, s->client_id);
			t->api_version = cfg_xstrdup(c, s->api_version);
			t->token_url = cfg_xstrdup(c, s->token_url);
			t->client_secret_file = cfg_xstrdup(c,
			    s->client_secret_file);
			t->client_secret_env = cfg_xstrdup(c,
			    s->client_secret_env);
			t->scope = cfg_xstrdup(c, s->scope);
			t->ca_file = cfg_xstrdup(c, s->ca_file);
			t->cert_file = cfg_xstrdup(c, s->cert_file);
			t->key_file = cfg_xstrdup(c, s->key_file);
		}
	}
	cfg_copy_assertion_top(c, b, d);
}

/* Public API ------------------------------------------------------------ */

void
cfg_pctx_init(struct pctx *c, struct config_errors *errs, const char *doc,
    bool prefixed)
{
	memset(c, 0, sizeof(*c));
	c->errs = errs;
	c->doc = doc;
	c->prefixed = prefixed;
}

int
config_parse(const char *buf, size_t len, const char *base_dir,
    struct config **cfgp, struct config_errors *errs)
{
	struct config *cfg = NULL;
	struct pctx c;
	cJSON *root;

	*cfgp = NULL;
	cfg_pctx_init(&c, errs, "config", false);
	c.base_dir = base_dir;
	if ((root = cfg_json_load(&c, buf, len)) != NULL) {
		if ((cfg = cfg_xcalloc(&c, 1, sizeof(*cfg))) != NULL) {
			if (base_dir != NULL)
				cfg->base_dir = cfg_xstrdup(&c, base_dir);
			parse_config(&c, root, cfg);
		}
		cJSON_Delete(root);
	}
	cfg_perr_finish(&c);
	if (c.nerr > 0) {
		config_free(cfg);
		return (-1);
	}
	*cfgp = cfg;
	return (0);
}

int
config_parse_file(const char *path, struct config **cfgp,
    struct config_errors *errs)
{
	char *buf, *dir = NULL, *base = NULL, *slash;
	char why[FILEIO_WHY_MAX];
	size_t len = 0;
	struct pctx c;
	int r = -1;

	*cfgp = NULL;
	if (fileio_read(path, CFG_FILE_MAX, &buf, &len, why,
	    sizeof(why)) != 0) {
		char line[512];
		struct quoted q;

		(void)snprintf(line, sizeof(line), "%s: cannot read: %s",
		    cfg_quote(&q, path), why);
		(void)cfg_errs_push(errs, line);
		return (-1);
	}
	cfg_pctx_init(&c, errs, "config", false);
	if ((dir = cfg_xstrdup(&c, path)) == NULL)
		goto out;
	if ((slash = strrchr(dir, '/')) == NULL) {
		free(dir);
		dir = cfg_xstrdup(&c, ".");
	} else if (slash == dir) {
		slash[1] = '\0';
	} else {
		*slash = '\0';
	}
	if (dir == NULL)
		goto out;
	base = realpath(dir, NULL);
	r = config_parse(buf, len, base != NULL ? base : dir, cfgp, errs);
	if (r == 0 && ((*cfgp)->path = strdup(path)) == NULL) {
		config_free(*cfgp);
		*cfgp = NULL;
		(void)cfg_errs_push(errs, "config: out of memory");
		r = -1;
	}
out:
	if (c.nerr > 0)
		r = -1;
	free(base);
	free(dir);
	free(buf);
	return (r);
}

int
config_policy_parse(const char *buf, size_t len, const char *name,
    const struct config *base, struct config **out,
    struct config_errors *errs)
{
	static const char *const keys[] = {
		"version", "issuers", "routes", NULL
	};
	struct config *cfg = NULL;
	const cJSON *it;
	struct pctx c;
	cJSON *root;

	*out = NULL;
	cfg_pctx_init(&c, errs, (name != NULL && name[0] != '\0') ? name :
	    "policy", true);
	if ((root = cfg_json_load(&c, buf, len)) != NULL) {
		if ((cfg = cfg_xcalloc(&c, 1, sizeof(*cfg))) == NULL)
			goto done;
		copy_base(&c, base, cfg);
		c.base_dir = cfg->base_dir;
		c.insecure = base->fetch.insecure_skip_verify_for_tests;
		c.have_client_ca = base->client_ca_file != NULL;
		c.creds = cfg->credentials;
		c.ncreds = cfg->ncredentials;
		cfg_check_keys(&c, root, "", keys);
		(void)cfg_get_str(&c, root, "", "version", false, NULL, 0,
		    &cfg->policy_version);
		if (cfg_get(root, "issuers") == NULL)
			cfg_perr(&c, "issuers", "required");
		cfg_parse_issuers(&c, root, cfg);
		if ((it = cfg_get(root, "routes")) == NULL)
			cfg_perr(&c, "routes", "required");
		else if (cJSON_IsArray(it) && it->child == NULL)
			cfg_perr(&c, "routes", "must not be empty");
		else
			cfg_parse_routes(&c, it, cfg);
done:
		cJSON_Delete(root);
	}
	cfg_perr_finish(&c);
	if (c.nerr > 0) {
		config_free(cfg);
		return (-1);
	}
	*out = cfg;
	return (0);
}

/* Freeing ---------------------------------------------------------------- */

static void
strlist_free(struct strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static void
dnlist_free(struct dnlist *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->text[i]);
		cert_dn_rule_free(l->dn[i]);
	}
	free(l->text);
	free(l->dn);
	memset(l, 0, sizeof(*l));
}

static void
listen_free(struct listen_addr *la)
{
	free(la->host);
	free(la->path);
	free(la->text);
}

static void
issuer_free(struct issuer_cfg *is)
{
	free(is->name);
	strlist_free(&is->issuer);
	free(is->source_location);
	free(is->appid);
	strlist_free(&is->audiences);
	free(is->hmac_secret_file);
	free(is->hmac_secret_env);
	strlist_free(&is->typ);
	strlist_free(&is->scopes_claims);
	strlist_free(&is->roles_claims);
	strlist_free(&is->tenants);
	free(is->ca_file);
	free(is->credential);
}

static void
cert_rule_free(struct cert_rule *cr)
{
	if (cr == NULL)
		return;
	free(cr->sha256);
	free(cr->sha1);
	free(cr->issuer_sha256);
	strlist_free(&cr->serials);
	strlist_free(&cr->common_names);
	dnlist_free(&cr->subjects);
	dnlist_free(&cr->issuers);
	strlist_free(&cr->dns_names);
	strlist_free(&cr->uris);
	strlist_free(&cr->emails);
	for (size_t i = 0; i < cr->nidentities; i++) {
		struct cert_identity *id = &cr->identities[i];

		free(id->serial);
		free(id->common_name);
		free(id->subject);
		free(id->issuer);
		cert_dn_rule_free(id->subject_dn);
		cert_dn_rule_free(id->issuer_dn);
		free(id->dns_name);
		free(id->uri);
		free(id->email);
	}
	free(cr->identities);
	free(cr);
}

static void
route_free(struct route_cfg *r)
{
	size_t i, j;

	free(r->name);
	free(r->host);
	free(r->path_prefix);
	strlist_free(&r->methods);
	free(r->issuers);
	strlist_free(&r->scopes_any);
	strlist_free(&r->scopes_all);
	strlist_free(&r->roles_any);
	strlist_free(&r->roles_all);
	for (i = 0; i < r->nclaims; i++) {
		for (j = 0; j < r->claims[i].nvalues; j++)
			free(r->claims[i].values[j].s);
		free(r->claims[i].values);
		free(r->claims[i].name);
	}
	free(r->claims);
	for (i = 0; i < r->nclaims_to_vars; i++) {
		free(r->claims_to_vars[i].claim);
		free(r->claims_to_vars[i].var);
	}
	free(r->claims_to_vars);
	cert_rule_free(r->client_cert);
	cidr_list_free(r->source_cidrs);
	cfg_route_pop_free(r);
	cfg_free_route_assertion(r);
}

void
config_free(struct config *cfg)
{
	size_t i;

	if (cfg == NULL)
		return;
	free(cfg->path);
	for (i = 0; i < cfg->nlisten; i++)
		listen_free(&cfg->listen[i]);
	free(cfg->listen);
	if (cfg->admin_listen != NULL)
		listen_free(cfg->admin_listen);
	free(cfg->admin_listen);
	free(cfg->state_dir);
	free(cfg->policy_url);
	free(cfg->policy_file);
	free(cfg->policy_credential);
	free(cfg->policy_ca_file);
	free(cfg->client_ca_file);
	strlist_free(&cfg->crl_files);
	strlist_free(&cfg->crl_urls);
	free(cfg->fetch.ca_file);
	for (i = 0; i < cfg->ncredentials; i++) {
		struct credential *cr = &cfg->credentials[i];

		free(cr->name);
		free(cr->endpoint);
		free(cr->resource);
		free(cr->client_id);
		free(cr->api_version);
		free(cr->token_url);
		free(cr->client_secret_file);
		free(cr->client_secret_env);
		free(cr->scope);
		free(cr->ca_file);
		free(cr->cert_file);
		free(cr->key_file);
	}
	free(cfg->credentials);
	for (i = 0; i < cfg->nissuers; i++)
		issuer_free(&cfg->issuers[i]);
	free(cfg->issuers);
	for (i = 0; i < cfg->nroutes; i++)
		route_free(&cfg->routes[i]);
	free(cfg->routes);
	free(cfg->base_dir);
	free(cfg->policy_version);
	cfg_free_assertion(cfg);
	free(cfg);
}

int
config_errors_add(struct config_errors *errs, const char *line)
{
	return (cfg_errs_push(errs, line));
}

void
config_errors_free(struct config_errors *errs)
{
	if (errs == NULL)
		return;
	for (size_t i = 0; i < errs->n; i++)
		free(errs->v[i]);
	free(errs->v);
	errs->v = NULL;
	errs->n = 0;
}

int
config_issuer_find(const struct config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->nissuers && i < INT32_MAX; i++)
		if (cfg->issuers[i].name != NULL &&
		    strcmp(cfg->issuers[i].name, name) == 0)
			return ((int)i);
	return (-1);
}
