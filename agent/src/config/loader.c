/*
 * loader.c: see loader.h.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cert.h"
#include "config.h"
#include "crl.h"
#include "fileio.h"
#include "jwks.h"
#include "loader.h"
#include "log.h"
#include "snapshot.h"

/* Local documents are small; refuse anything absurd. */
#define SECRET_MAX      65536

static void
add_error(struct config_errors *errs, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
add_error(struct config_errors *errs, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	char **nv;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	nv = realloc(errs->v, (errs->n + 1) * sizeof(*nv));
	if (nv == NULL)
		return;
	errs->v = nv;
	if ((errs->v[errs->n] = strdup(buf)) != NULL)
		errs->n++;
}

/* ${path} into *${buf} (fileio_read()), the message naming the file. */
static int
read_file(const char *path, size_t max, char **buf, size_t *len, char *err,
    size_t errlen)
{
	char why[FILEIO_WHY_MAX];

	if (fileio_read(path, max, buf, len, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "cannot read \"%s\": %s", path, why);
		return (-1);
	}
	return (0);
}

int
loader_read_secret(const char *file, const char *env, size_t max, char **buf,
    size_t *len, char *err, size_t errlen)
{
	const char *v;

	*buf = NULL;
	*len = 0;
	if (file != NULL) {
		/* The message names the file, never its contents. */
		if (read_file(file, max, buf, len, err, errlen) != 0)
			return (-1);
	} else {
		if (env == NULL || (v = getenv(env)) == NULL) {
			snprintf(err, errlen, "environment variable %s is not set",
			    env != NULL ? env : "(none)");
			return (-1);
		}
		if ((*len = strlen(v)) > max) {
			snprintf(err, errlen, "environment variable %s is longer "
			    "than %zu bytes", env, max);
			*len = 0;
			return (-1);
		}
		if ((*buf = malloc(*len + 1)) == NULL) {
			snprintf(err, errlen, "out of memory reading %s", env);
			*len = 0;
			return (-1);
		}
		memcpy(*buf, v, *len + 1);
	}
	while (*len > 0 && ((*buf)[*len - 1] == '\n' ||
	    (*buf)[*len - 1] == '\r'))
		(*buf)[--*len] = '\0';
	if (*len == 0) {
		snprintf(err, errlen, "the secret is empty");
		free(*buf);
		*buf = NULL;
		return (-1);
	}
	return (0);
}

int
loader_keys_from_doc(const char *what, const char *buf, size_t len,
    struct keyset **out, char *err, size_t errlen)
{
	struct jwks_report rep;

	memset(&rep, 0, sizeof(rep));
	if (jwks_parse(buf, len, out, &rep) != 0) {
		size_t n = (size_t)snprintf(err, errlen, "%s",
		    rep.error ? rep.error : "invalid JWKS");

		/* "No usable key": say why, key by key. */
		for (size_t i = 0; i < rep.n_skipped && i < JWKS_REPORT_MAX &&
		    n < errlen; i++)
			n += (size_t)snprintf(err + n, errlen - n,
			    "%s key %zu (kid \"%s\"): %s", i == 0 ? ":" : ";",
			    rep.skipped[i].index, rep.skipped[i].kid,
			    rep.skipped[i].why);
		if (rep.n_skipped > JWKS_REPORT_MAX && n < errlen)
			(void)snprintf(err + n, errlen - n, "; %zu more",
			    rep.n_skipped - JWKS_REPORT_MAX);
		return (-1);
	}
	for (size_t i = 0; i < rep.n_skipped && i < JWKS_REPORT_MAX; i++)
		log_warn("%s: key %zu (kid \"%s\") skipped: %s", what,
		    rep.skipped[i].index, rep.skipped[i].kid, rep.skipped[i].why);
	if (rep.n_skipped > JWKS_REPORT_MAX)
		log_warn("%s: %zu more keys skipped", what,
		    rep.n_skipped - JWKS_REPORT_MAX);
	log_info("%s: %zu key%s loaded", what, rep.n_kept,
	    rep.n_kept == 1 ? "" : "s");
	return (0);
}

/* The HMAC secret of issuer ${is} (see loader_read_secret()).  Never
 * logged. */
static struct keyset *
load_secret(const struct issuer_cfg *is, size_t idx, struct config_errors *errs)
{
	const char *key = is->hmac_secret_file != NULL ? "hmac_secret_file" :
	    "hmac_secret_env";
	char err[512];
	char *buf;
	size_t len;
	const char *why = NULL;
	struct keyset *ks;

	if (loader_read_secret(is->hmac_secret_file, is->hmac_secret_env,
	    SECRET_MAX, &buf, &len, err, sizeof(err)) != 0) {
		add_error(errs, "issuers[%zu].%s: %s", idx, key, err);
		return (NULL);
	}
	ks = keyset_hmac((const uint8_t *)buf, len, &why);
	explicit_bzero(buf, len);
	free(buf);
	if (ks == NULL)
		add_error(errs, "issuers[%zu].%s: %s", idx, key, why);
	return (ks);
}

static int
load_jwks_file(const struct issuer_cfg *is, size_t idx, struct snapshot *s,
    struct config_errors *errs)
{
	char err[1024], what[256];
	char *buf;
	size_t len;
	struct keyset *ks = NULL;

	if (read_file(is->source_location, CONFIG_LOCAL_DOC_MAX, &buf, &len, err,
	    sizeof(err)) != 0) {
		add_error(errs, "issuers[%zu].jwks_file: %s", idx, err);
		return (-1);
	}
	snprintf(what, sizeof(what), "issuer %s: jwks_file", is->name);
	if (loader_keys_from_doc(what, buf, len, &ks, err, sizeof(err)) != 0) {
		add_error(errs, "issuers[%zu].jwks_file: %s: %s", idx,
		    is->source_location, err);
		free(buf);
		return (-1);
	}
	free(buf);
	snapshot_set_keys(s, idx, ks, (int64_t)time(NULL));
	keyset_unref(ks);
	return (0);
}

/*
 * crl_files: all must load and verify, or nothing changes.  Read and built
 * once per config file (${file}, which also holds the CA store): a policy
 * cannot change them, and the fetcher's crl_urls set reuses the bytes.
 */
static int
load_crl_files(struct snapshot *s, struct cfgref *file,
    struct config_errors *errs)
{
	const struct config *cfg = file->cfg;
	const struct crl_doc *docs;
	char err[512];
	size_t n;

	if (cfg->crl_files.n == 0)
		return (0);
	if (file->cas == NULL) {
		add_error(errs, "crl_files: needs client_ca_file (the CA that "
		    "signs the CRLs)");
		return (-1);
	}
	if (file->crl_files_set == NULL) {
		if (file->crl_files == NULL &&
		    crl_files_read(cfg->crl_files.v, cfg->crl_files.n,
		    &file->crl_files, err, sizeof(err)) != 0) {
			add_error(errs, "crl_files: %s", err);
			return (-1);
		}
		docs = crl_files_docs(file->crl_files, &n);
		if (crlset_build(docs, n, file->cas, (int64_t)time(NULL),
		    &file->crl_files_set, err, sizeof(err)) != 0) {
			add_error(errs, "crl_files: %s", err);
			return (-1);
		}
		log_info("crl_files: %zu CRL%s, %zu revoked serial%s",
		    crlset_count(file->crl_files_set),
		    crlset_count(file->crl_files_set) == 1 ? "" : "s",
		    crlset_entries(file->crl_files_set),
		    crlset_entries(file->crl_files_set) == 1 ? "" : "s");
	}
	snapshot_set_crls(s, crlset_ref(file->crl_files_set));
	return (0);
}

/*
 * The effective config for ${file}: the policy document ${doc} (from
 * policy_url) or the policy_file applied to it, or ${file} itself.  Return
 * a new reference, or NULL with errors appended.
 */
static struct cfgref *
effective(struct cfgref *file, const char *doc, size_t len,
    struct config_errors *errs)
{
	const struct config *cfg = file->cfg;
	const char *name = "policy_url";
	char err[512];
	char *buf = NULL;
	struct config *eff = NULL;

	if (doc == NULL && cfg->policy_file == NULL)
		return (cfgref_ref(file));
	if (doc == NULL) {
		name = "policy_file";
		if (read_file(cfg->policy_file, CONFIG_LOCAL_DOC_MAX, &buf, &len,
		    err, sizeof(err)) != 0) {
			add_error(errs, "policy_file: %s", err);
			return (NULL);
		}
		doc = buf;
	}
	if (config_policy_parse(doc, len, name, cfg, &eff, errs) != 0) {
		free(buf);
		return (NULL);
	}
	free(buf);
	if (eff->policy_version != NULL)
		log_info("%s: version %s", name, eff->policy_version);
	return (cfgref_new(eff));
}

int
loader_build_ref(struct cfgref *file, const char *doc, size_t len,
    const struct snapshot *prev, struct snapshot **out,
    struct config_errors *errs)
{
	struct cfgref *ref;
	const struct config *cfg;
	struct snapshot *s;
	size_t nerr = errs->n;

	*out = NULL;
	if ((ref = effective(file, doc, len, errs)) == NULL)
		return (-1);
	s = prev ? snapshot_derive(prev, ref) : snapshot_new(ref);
	if (s == NULL) {
		cfgref_unref(ref);
		return (-1);
	}
	cfg = ref->cfg;
	snapshot_set_policy(s, doc != NULL || cfg->policy_url == NULL,
	    snapshot_policy_at(s));
	/* client_ca_file is the config file's (a policy cannot change it):
	 * loaded once per file, so a new policy keeps the store, its
	 * generation and the workers' certificate caches. */
	if (cfg->client_ca_file != NULL && file->cas == NULL) {
		char err[512];

		file->cas = ca_store_load(cfg->client_ca_file, err, sizeof(err));
		if (file->cas == NULL)
			add_error(errs, "client_ca_file: %s", err);
	}
	if (ref != file && ref->file == NULL) {
		ref->file = cfgref_ref(file);
		ref->cas = file->cas;
	}
	(void)load_crl_files(s, file, errs);
	if (cfg->kid_refetch_cooldown_s != 0)
		log_warn("kid_refetch_cooldown_s is no longer used and is "
		    "ignored: an unknown kid refetches the key set at most every "
		    "kid_refetch_interval_ms (%u ms), and a kid a refetch did not "
		    "bring is refused for kid_negative_ttl_s (%u s)",
		    cfg->kid_refetch_interval_ms, cfg->kid_negative_ttl_s);
	for (size_t i = 0; i < cfg->nissuers; i++) {
		const struct issuer_cfg *is = &cfg->issuers[i];

		if (is->any_tenant)
			log_warn("issuer %s: allow_any_tenant: tokens of EVERY "
			    "Entra tenant are accepted; list your tenants in "
			    "\"tenants\" unless this is a multi-tenant app that "
			    "checks tid itself", is->name);
		if (is->source == KEYS_JWKS_FILE)
			(void)load_jwks_file(is, i, s, errs);
		if (is->algorithms & JWS_ALG_HMAC_MASK)
			snapshot_set_hmac(s, i, load_secret(is, i, errs));
	}
	cfgref_unref(ref);	/* ${s} holds its own reference */
	if (errs->n > nerr) {
		snapshot_unref(s);
		return (-1);
	}
	*out = s;
	return (0);
}

int
loader_build(struct config *cfg, const struct snapshot *prev,
    struct snapshot **out, struct config_errors *errs)
{
	struct cfgref *file;
	int rc;

	*out = NULL;
	if ((file = cfgref_new(cfg)) == NULL)
		return (-1);
	rc = loader_build_ref(file, NULL, 0, prev, out, errs);
	cfgref_unref(file);
	return (rc);
}
