/*
 * cfg_check.c: --check, the checks of the local files and variables a
 * config names (config_check_files()).  See cfg_int.h.
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
#include "signer.h"
#include "cfg_int.h"
#include "config.h"

/* --check ---------------------------------------------------------------- */

static void
check_file(struct pctx *c, const char *path, const char *file)
{
	struct quoted q;
	struct stat st;
	int fd;

	if (file == NULL)
		return;
	if ((fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) ==
	    -1) {
		cfg_perr(c, path, "cannot read %s: %s", cfg_quote(&q, file),
		    strerror(errno));
		return;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode))
		cfg_perr(c, path, "%s is not a regular file", cfg_quote(&q,
		    file));
	close(fd);
}

static void
check_env(struct pctx *c, const char *path, const char *name)
{
	const char *v;

	if (name == NULL)
		return;
	if ((v = getenv(name)) == NULL || v[0] == '\0')
		cfg_perr(c, path, "environment variable %s is not set", name);
}

static void
check_issuer_files(struct pctx *c, const struct issuer_cfg *is, size_t n)
{
	char p[CFG_PATH_MAX], q[CFG_PATH_MAX];

	for (size_t i = 0; i < n; i++) {
		cfg_path_idx(p, sizeof(p), "issuers", i);
		if (is[i].source == KEYS_JWKS_FILE) {
			cfg_path_key(q, sizeof(q), p, "jwks_file");
			check_file(c, q, is[i].source_location);
		}
		cfg_path_key(q, sizeof(q), p, "hmac_secret_file");
		check_file(c, q, is[i].hmac_secret_file);
		cfg_path_key(q, sizeof(q), p, "hmac_secret_env");
		check_env(c, q, is[i].hmac_secret_env);
		cfg_path_key(q, sizeof(q), p, "ca_file");
		check_file(c, q, is[i].ca_file);
	}
}

int
config_check_files(const struct config *cfg, struct config_errors *errs)
{
	char p[CFG_PATH_MAX], q[CFG_PATH_MAX];
	bool policy_bad = false;
	struct pctx c;
	size_t i;

	cfg_pctx_init(&c, errs, "config", false);
	/* policy_file: read and checked whole below. */
	check_file(&c, "policy_ca_file", cfg->policy_ca_file);
	check_file(&c, "client_ca_file", cfg->client_ca_file);
	check_file(&c, "fetch.ca_file", cfg->fetch.ca_file);
	for (i = 0; i < cfg->crl_files.n; i++) {
		cfg_path_idx(p, sizeof(p), "crl_files", i);
		check_file(&c, p, cfg->crl_files.v[i]);
	}
	for (i = 0; i < cfg->ncredentials; i++) {
		const struct credential *cr = &cfg->credentials[i];

		cfg_path_idx(p, sizeof(p), "credentials", i);
		cfg_path_key(q, sizeof(q), p, "client_secret_file");
		check_file(&c, q, cr->client_secret_file);
		cfg_path_key(q, sizeof(q), p, "client_secret_env");
		check_env(&c, q, cr->client_secret_env);
		cfg_path_key(q, sizeof(q), p, "ca_file");
		check_file(&c, q, cr->ca_file);
		cfg_path_key(q, sizeof(q), p, "cert_file");
		check_file(&c, q, cr->cert_file);
		cfg_path_key(q, sizeof(q), p, "key_file");
		check_file(&c, q, cr->key_file);
	}
	check_issuer_files(&c, cfg->issuers, cfg->nissuers);
	/* The assertion keys the agent would load at start. */
	if (cfg->assertion_issuer != NULL && cfg->state_dir != NULL) {
		char why[512];

		if (signer_check(cfg->state_dir,
		    (enum signer_alg)cfg->assertion_alg, why, sizeof(why)) != 0)
			cfg_perr(&c, "state_dir", "%s", why);
	}

	/* A local policy document: parse it and check what it names. */
	if (cfg->policy_file != NULL) {
		struct config *pol = NULL;
		char why[FILEIO_WHY_MAX];
		struct quoted qp;
		size_t len = 0;
		char *buf;

		/* The loader's limit: what passes here loads there. */
		if (fileio_read(cfg->policy_file, CONFIG_LOCAL_DOC_MAX, &buf,
		    &len, why, sizeof(why)) != 0) {
			cfg_perr(&c, "policy_file", "cannot read %s: %s",
			    cfg_quote(&qp, cfg->policy_file), why);
		} else {
			if (config_policy_parse(buf, len, "policy_file", cfg,
			    &pol, errs) != 0) {
				policy_bad = true;
			} else {
				struct pctx pc;

				cfg_pctx_init(&pc, errs, "policy_file", true);
				check_issuer_files(&pc, pol->issuers,
				    pol->nissuers);
				cfg_perr_finish(&pc);
				policy_bad = pc.nerr > 0;
				config_free(pol);
			}
			free(buf);
		}
	}
	cfg_perr_finish(&c);
	return (c.nerr > 0 || policy_bad ? -1 : 0);
}
