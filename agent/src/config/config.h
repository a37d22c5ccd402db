/*
 * config.h: the JSON configuration and policy documents (config-t.h holds
 * the types), their parser, --check's file checks, and config_free().
 */
#ifndef SPOA_CONFIG_H
#define SPOA_CONFIG_H

#include "config-t.h"

/* Collected errors: "json.path: message" strings. */
struct config_errors {
	char **v;
	size_t n;
};

/*
 * config_parse(buf, len, base_dir, cfg, errs):
 * Parse the configuration document ${buf} of ${len} bytes (not necessarily
 * NUL-terminated).  Relative file paths are resolved against ${base_dir}
 * (may be NULL: leave them as written).  On success store a new config in
 * *${cfg} and return 0.  On failure return -1 and append every error found to
 * ${errs} (which the caller frees with config_errors_free()); *${cfg} is NULL.
 * Errors read "json.path: message" (e.g. "routes[2].source_cidrs[0]: not a
 * CIDR"), or "config: message" for the document as a whole; at most 256
 * are stored, then one "config: N more errors not shown".  "workers": 0 is
 * resolved to the number of online CPUs (capped at 256).  Only the
 * document is checked; files it names are not opened (see
 * config_check_files()).  Not safe to call from two threads at once: cJSON
 * records its last error position in a global.
 */
int config_parse(const char *buf, size_t len, const char *base_dir,
    struct config **cfg, struct config_errors *errs);

/*
 * config_parse_file(path, cfg, errs):
 * Read ${path} (a regular file of at most 4 MiB) and config_parse() it with
 * its directory (made absolute with realpath(3)) as base_dir; the config's
 * path is ${path}.  An unreadable file is one error naming the path.
 */
int config_parse_file(const char *path, struct config **cfg,
    struct config_errors *errs);

/*
 * config_check_files(cfg, errs):
 * For --check: verify that every local file the config names (jwks_file,
 * policy_file, ca files, crl_files, secret files, cert/key files) is
 * readable, and that secret environment variables are set (their values
 * are never printed).  A policy_file is also parsed with
 * config_policy_parse() and the files it names checked.  Append errors
 * with their JSON path; return 0 if none, else -1.
 */
int config_check_files(const struct config *cfg, struct config_errors *errs);

/*
 * config_policy_parse(buf, len, name, base, out, errs):
 * Parse a policy document ({"issuers": [...], "routes": [...]}, optional
 * "version") with the same rules as the config file.  ${name} prefixes
 * error paths (e.g. "policy_url").  On success return 0 and a new config
 * in *${out} that is a deep copy of ${base} (listen, fetch, credentials,
 * ...) with issuers and routes taken from the document and policy_version
 * set.  Credential names, client_ca_file and
 * fetch.insecure_skip_verify_for_tests come from ${base}; relative paths
 * are resolved against ${base}->base_dir.  The document must have a
 * non-empty "routes" and an "issuers" array.  ${base} is unchanged; on
 * failure *${out} is NULL.
 */
int config_policy_parse(const char *buf, size_t len, const char *name,
    const struct config *base, struct config **out, struct config_errors *errs);

/* config_free(cfg): release ${cfg} and all it owns; NULL is a no-op. */
void config_free(struct config *cfg);

/* config_errors_add(errs, line): append a copy of ${line} (errors found
 * outside the parser); -1 when out of memory. */
int config_errors_add(struct config_errors *errs, const char *line);

/* config_errors_free(errs): release the strings; ${errs} becomes empty. */
void config_errors_free(struct config_errors *errs);

/*
 * config_assertion_keep_s(cfg):
 * How long an assertion signing key of ${cfg} stays published after it
 * stopped signing: the longest route ttl_s (300 when no route has an
 * assertion yet) plus a minute of clock skew.
 */
uint32_t config_assertion_keep_s(const struct config *cfg);

/* config_issuer_find(cfg, name): index of the issuer named ${name}, or -1. */
int config_issuer_find(const struct config *cfg, const char *name);

#endif /* !SPOA_CONFIG_H */
