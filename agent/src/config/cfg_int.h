/*
 * cfg_int.h: what the files of the config parser share (folder-private:
 * only the .c files of agent/src/config/ include it).  The parser is split
 * per section of the document, after HAProxy's cfgparse-*.c:
 *   config.c      loading, the top level, policy documents, copying the base
 *                 of a policy config, freeing (the public API, config.h);
 *   cfg_schema.c  error reporting with JSON paths, allocation, validators,
 *                 typed getters, the strict JSON load;
 *   cfg_listen.c  listen addresses, the fetch section;
 *   cfg_issuer.c  credentials and issuers;
 *   cfg_cert.c    a route's client_cert rules;
 *   cfg_route.c   routes, claims rules, claims_to_vars;
 *   cfg_resource.c a route's DPoP settings, resource and its metadata;
 *   cfg_assert.c  identity assertions: the top-level keys, a route's;
 *   cfg_check.c   --check's checks of the files a config names.
 * These files export only cfg_* symbols to each other (declared here) and
 * config_* to the rest of the agent (config.h).  Every function is
 * described where it is defined.
 */
#ifndef SPOA_CFG_INT_H
#define SPOA_CFG_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "config.h"

#define CFG_PATH_MAX      256         /* JSON path buffer */
#define CFG_ERRORS_MAX    256         /* errors stored per parse */
#define CFG_FILE_MAX      (4u << 20)  /* config_parse_file() */
#define CFG_DOC_MAX       (64u << 20) /* any document (max_body_bytes cap) */
#define LISTEN_MAX        16
#define CREDENTIALS_MAX   64
#define ISSUERS_MAX       256
#define ROUTES_MAX        4096
#define CLAIM_VARS_MAX    64
#define CLAIM_NAME_MAX    256
#define NAME_MAX_LEN      64
#define VAR_FULL_PREFIX   "txn.iam."
#define VAR_PREFIX        "claim_"
#define VAR_FULL_MAX      63          /* HAProxy variable names: < 64 */

#define MI_DEFAULT_ENDPOINT \
	"http://169.254.169.254/metadata/identity/oauth2/token"
#define MI_DEFAULT_API_VERSION "2018-02-01"

/* Getter results. */
#define ABSENT   0
#define PRESENT  1
#define BAD      (-1)

/* Parse context: error sink and what issuers/routes need from the rest. */
struct pctx {
	struct config_errors *errs;
	size_t nerr;                  /* errors found (stored or not) */
	size_t nstored;               /* errors stored by this parse */
	const char *doc;              /* "config" or the policy document name */
	bool prefixed;                /* prefix paths with doc */
	bool oom;
	const char *base_dir;
	bool insecure;                /* fetch.insecure_skip_verify_for_tests */
	bool have_client_ca;
	const struct credential *creds;
	size_t ncreds;
	const struct issuer_cfg *issuers;
	size_t nissuers;
	const struct config *top;     /* its top level, parsed (assertions) */
};


/* A quoted value for messages: "\"value\"". */
struct quoted {
	char s[300];
};

/* URL checks. */
enum url_mode {
	URL_HTTPS,        /* https,
	    or http with insecure_skip_verify_for_tests */
	URL_HTTP_OK,      /* http or https */
};

typedef const char *str_check_fn(char *s);

enum {
	SV_PATH = 1,      /* resolve against base_dir */
	SV_LOWER = 2,     /* ASCII lowercase */
};

/* cfg_schema.c */
int cfg_errs_push(struct config_errors *errs, const char *line);
void cfg_perr(struct pctx *c, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void cfg_oom(struct pctx *c);
void cfg_perr_finish(struct pctx *c);
const char *cfg_quote(struct quoted *q, const char *s);
void cfg_path_key(char *out, size_t cap, const char *parent, const char *key);
void cfg_path_idx(char *out, size_t cap, const char *parent, size_t i);
char *cfg_xstrdup(struct pctx *c, const char *s);
void *cfg_xcalloc(struct pctx *c, size_t n, size_t sz);
bool cfg_is_alnum(unsigned char ch);
const char *cfg_check_name(char *s);
const char *cfg_check_env_name(char *s);
const char *cfg_check_guid(char *s);
const char *cfg_check_appid(char *s);
const char *cfg_check_method(char *s);
const char *cfg_check_host(char *s);
const char *cfg_check_serial(char *s);
const char *cfg_claim_path_error(const char *s);
const cJSON *cfg_get(const cJSON *o, const char *key);
size_t cfg_count_children(const cJSON *a);
void cfg_check_keys2(struct pctx *c, const cJSON *o, const char *path,
    const char *const *allowed, const char *const *other,
    const char *other_msg);
void cfg_check_keys(struct pctx *c, const cJSON *o, const char *path,
    const char *const *allowed);
const char *cfg_str_value(struct pctx *c, const cJSON *it, const char *p);
int cfg_get_sval(struct pctx *c, const cJSON *o, const char *path,
    const char *key,
    bool required, const char **out);
int cfg_get_str(struct pctx *c, const cJSON *o, const char *path,
    const char *key,
    bool required, str_check_fn *check, unsigned flags, char **out);
int cfg_get_url(struct pctx *c, const cJSON *o, const char *path,
    const char *key,
    bool required, enum url_mode mode, char **out);
int cfg_get_u32(struct pctx *c, const cJSON *o, const char *path,
    const char *key,
    uint32_t min, uint32_t max, uint32_t *out);
int cfg_get_bool(struct pctx *c, const cJSON *o, const char *path,
    const char *key,
    bool *out);
const cJSON *cfg_get_obj(struct pctx *c, const cJSON *o, const char *path,
    const char *key);
bool cfg_array_ok(struct pctx *c, const cJSON *it, const char *p,
    const char *what,
    size_t min, size_t max, size_t *n);
int cfg_strlist_from(struct pctx *c, const cJSON *it, const char *p, size_t min,
    size_t max, str_check_fn *check, unsigned flags, struct strlist *out);
int cfg_get_strlist(struct pctx *c, const cJSON *o, const char *path,
    const char *key, size_t min, size_t max, str_check_fn *check,
    unsigned flags, struct strlist *out);
int cfg_get_urllist(struct pctx *c, const cJSON *o, const char *path,
    const char *key, enum url_mode mode, struct strlist *out);
void cfg_check_unique(struct pctx *c, const char *arr, const char *field,
    const char *what, const char *const *names, size_t n);
cJSON *cfg_json_load(struct pctx *c, const char *buf, size_t len);

/* cfg_listen.c */
void cfg_parse_listen(struct pctx *c, const char *s, const char *p,
    bool allow_unix,
    struct listen_addr *la);
void cfg_fetch_defaults(struct fetch_cfg *f);
void cfg_parse_fetch(struct pctx *c, const cJSON *o, struct fetch_cfg *f);

/* cfg_issuer.c */
void cfg_parse_credentials(struct pctx *c, const cJSON *root,
    struct config *cfg);
void cfg_get_credential_ref(struct pctx *c, const cJSON *o, const char *path,
    const char *key, char **out);
void cfg_parse_issuers(struct pctx *c, const cJSON *root, struct config *cfg);

/* cfg_cert.c */
void cfg_parse_client_cert(struct pctx *c, const cJSON *o, const char *path,
    struct cert_rule *cr);

/* cfg_route.c */
void cfg_parse_routes(struct pctx *c, const cJSON *it, struct config *cfg);

/* cfg_resource.c */
void cfg_parse_route_pop(struct pctx *c, const cJSON *o, const char *path,
    struct route_cfg *r, bool has_jwt);
void cfg_route_pop_free(struct route_cfg *r);

/* cfg_assert.c */
void cfg_parse_assertion_top(struct pctx *c, const cJSON *root,
    struct config *cfg);
void cfg_parse_route_assertion(struct pctx *c, const cJSON *o,
    const char *path, struct route_cfg *r);
void cfg_copy_assertion_top(struct pctx *c, const struct config *b,
    struct config *d);
void cfg_free_assertion(struct config *cfg);
void cfg_free_route_assertion(struct route_cfg *r);

/* config.c */
void cfg_pctx_init(struct pctx *c, struct config_errors *errs, const char *doc,
    bool prefixed);

#endif /* !SPOA_CFG_INT_H */
