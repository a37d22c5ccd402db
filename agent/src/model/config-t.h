/*
 * config-t.h: the configuration model, the types every layer reads: the
 * JSON configuration and policy documents, parsed into plain immutable
 * structs (config/config.h parses them; see README "Configuration" for
 * every key).  Types only (HAProxy's -t.h rule): the modules that check
 * tokens, certificates and routes use them without depending on the
 * parser.
 *
 * Ownership: config_parse*() return a struct config that owns every string
 * and array below it; config_free() releases it all.  Nothing here is
 * modified after parsing; several threads may read it at once.
 */
#ifndef SPOA_CONFIG_T_H
#define SPOA_CONFIG_T_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>


/* Largest local document (policy_file, jwks_file), for the loader and
 * for --check alike. */
#define CONFIG_LOCAL_DOC_MAX	(16u << 20)

/* A list of NUL-terminated strings. */
struct strlist {
	char **v;
	size_t n;
};

enum listen_kind { LISTEN_TCP, LISTEN_UNIX };

struct listen_addr {
	enum listen_kind kind;
	char *host;            /* TCP: "127.0.0.1", "::1", "localhost" (no brackets) */
	uint16_t port;         /* TCP */
	char *path;            /* UNIX */
	char *text;            /* as written in the config, for logs */
};

/* A unix listener is bound at "<path>.<pid>.new" and then renamed over
 * <path> (runtime/server.c), so a path leaves room for that suffix: a pid
 * has 7 digits at most (Linux's PID_MAX_LIMIT is 4194304). */
#define LISTEN_UNIX_SUFFIX_MAX	12	/* strlen(".4194304.new") */

/* KEYS_NONE: an issuer whose algorithms are all HS* (secret only). */
enum key_source { KEYS_DISCOVERY, KEYS_JWKS_URL, KEYS_JWKS_FILE, KEYS_NONE };

enum cred_type { CRED_MANAGED_IDENTITY, CRED_CLIENT_CREDENTIALS, CRED_CLIENT_CERT };

struct credential {
	char *name;
	enum cred_type type;
	/* managed identity */
	char *endpoint, *resource, *client_id, *api_version;
	/* client credentials (client_id shared with the above) */
	char *token_url, *client_secret_file, *client_secret_env, *scope, *ca_file;
	/* client certificate */
	char *cert_file, *key_file;
};

struct issuer_cfg {
	char *name;
	struct strlist issuer;        /* exact values or templates (tenant.h) */
	bool templated;               /* some value has a tenant placeholder */
	enum key_source source;
	char *source_location;        /* discovery_url, jwks_url or jwks_file (absolute path); NULL with KEYS_NONE */
	char *appid;                  /* NULL if absent */
	struct strlist audiences;
	uint32_t algorithms;          /* JWS_ALG_BIT() set (jwa.h) */
	char *hmac_secret_file, *hmac_secret_env;
	uint32_t clock_skew_s;
	bool require_exp;
	uint32_t max_lifetime_s;      /* 0 = off */
	bool typ_check;               /* "typ" given */
	struct strlist typ;           /* accepted typ values */
	bool typ_absent_ok;           /* null in "typ": no typ header is fine */
	struct strlist scopes_claims; /* claims_get() paths; n == 0: default */
	struct strlist roles_claims;  /* claims_get() paths; n == 0: default */
	struct strlist tenants;       /* lowercase; a template needs them */
	bool any_tenant;              /* "allow_any_tenant": templates only */
	char *ca_file;
	char *credential;             /* name, NULL if absent */
};

enum require_mode { REQUIRE_NONE, REQUIRE_JWT, REQUIRE_MTLS, REQUIRE_JWT_MTLS };

/* A route's "dpop" (RFC 9449). */
enum dpop_mode { DPOP_OFF, DPOP_ALLOWED, DPOP_REQUIRED };

/* One allowed value of a route's claims rule. */
enum claim_val_type { CLAIM_VAL_STRING, CLAIM_VAL_NUMBER, CLAIM_VAL_BOOL };
struct claim_value {
	enum claim_val_type type;
	char *s;
	double num;
	bool b;
};
enum claim_match {
	CLAIM_MATCH_ANY,              /* one of the values (an array in JSON) */
	CLAIM_MATCH_ALL,              /* every value ({"all": [...]}) */
	CLAIM_MATCH_PRESENT,          /* present, any value ({"present": true}) */
};
struct claim_rule {
	char *name;                   /* a claims_get() path */
	enum claim_match match;
	struct claim_value *values;   /* none with CLAIM_MATCH_PRESENT */
	size_t nvalues;
};

struct claim_var {
	char *claim;                  /* a claims_get() path */
	char *var;                    /* "claim_<...>" variable name, without scope/prefix */
};

struct cidr_list;                /* cidr.h */
struct cert_dn_rule;             /* cert.h: a DN compiled by cert_dn_compile() */

/* DNs of a client_cert rule: as written, and compiled (same order). */
struct dnlist {
	char **text;
	struct cert_dn_rule **dn;
	size_t n;
};

struct cert_identity {
	/* NULL = not given.  Thumbprints normalised to 32/20 raw bytes. */
	bool has_sha256, has_sha1, has_issuer_sha256;
	uint8_t sha256[32], sha1[20], issuer_sha256[32];
	char *serial;                 /* lowercase hex, no separators, no leading zeros */
	char *common_name, *subject, *issuer, *dns_name, *uri, *email;
	/* subject and issuer compiled; non-NULL exactly when the text is */
	struct cert_dn_rule *subject_dn, *issuer_dn;
};

struct cert_rule {
	/* lists: each non-empty list must contain the certificate's value */
	uint8_t (*sha256)[32]; size_t nsha256;
	uint8_t (*sha1)[20]; size_t nsha1;
	uint8_t (*issuer_sha256)[32]; size_t nissuer_sha256;
	struct strlist serials;       /* normalised like cert_identity.serial */
	struct strlist common_names, dns_names, uris, emails;
	struct dnlist subjects, issuers;
	struct cert_identity *identities;
	size_t nidentities;
	bool check_validity;
};

/* A route's identity assertion for APIM ("assertion"; cfg_assert.c). */
struct assertion_cfg {
	char *audience;
	uint32_t ttl_s;
	bool request_id;              /* carries the request id: signed per
	                               * request, never cached */
	/* What an assertion of this route depends on (assertion_issuer and
	 * _alg, route name, audience, ttl): the first bytes of their
	 * SHA-256, matched by a cached assertion. */
	uint8_t ctx[16];
};

struct route_cfg {
	char *name;
	char *host;                   /* NULL = any; lowercase; "*.x" wildcard */
	char *path_prefix;            /* never NULL; "/" by default */
	struct strlist methods;       /* n == 0: any */
	enum require_mode require;
	size_t *issuers;              /* indexes into config.issuers; NULL/0 = all */
	size_t nissuers;
	struct strlist scopes_any, scopes_all, roles_any, roles_all;
	struct claim_rule *claims;
	size_t nclaims;
	struct claim_var *claims_to_vars;
	size_t nclaims_to_vars;
	struct cert_rule *client_cert; /* NULL if absent */
	bool bound_token;
	struct cidr_list *source_cidrs; /* NULL = any source */
	/* DPoP (RFC 9449) and protected resource metadata (RFC 9728, RFC
	 * 8707), cfg_resource.c. */
	enum dpop_mode dpop;
	uint32_t dpop_max_age_s;
	uint32_t dpop_algs;           /* JWS_ALG_BIT() set of proofs */
	char *resource;               /* identifier (https URL), or NULL */
	char *resource_documentation; /* URL, or NULL */
	char *metadata_url;           /* where its metadata is served */
	char *metadata_doc;           /* the metadata document (JSON) */
	size_t metadata_doc_len;
	struct assertion_cfg *assertion; /* NULL = no assertion */
};

struct fetch_cfg {
	uint32_t connect_timeout_ms, timeout_ms, max_body_bytes;
	uint32_t refresh_min_s, refresh_max_s, backoff_max_s, max_stale_s;
	char *ca_file;
	bool insecure_skip_verify_for_tests;
};

enum crl_stale_mode { CRL_STALE_DENY, CRL_STALE_ALLOW };

/*
 * "answer": what an allowed answer carries beyond what HAProxy needs
 * (README "What the agent answers").  An allowed answer always has allow,
 * route and the identity; a refusal always allow, status, reason, route
 * (if one matched) and www_authenticate (if any).
 */
#define ANSWER_OK_STATUS   0x1u  /* on_allow "status": 200 on allowed answers */
#define ANSWER_OK_REASON   0x2u  /* on_allow "reason": ok on allowed answers */
#define ANSWER_DEFAULT     ANSWER_OK_REASON
/* Both: what every answer carried before lean answers. */
#define ANSWER_ALL         (ANSWER_OK_STATUS | ANSWER_OK_REASON)

struct config {
	char *path;                   /* file it came from, or NULL */
	struct listen_addr *listen;
	size_t nlisten;
	struct listen_addr *admin_listen; /* NULL if absent */
	bool listen_takeover;         /* share addresses held by an older run */
	uint32_t workers;             /* resolved: never 0 after config_parse_file */
	char *state_dir;
	int log_level;                /* enum log_level */
	int log_format;               /* enum log_format */
	uint32_t token_cache_entries, cert_cache_entries;
	uint32_t max_token_bytes, max_frame_size;
	uint32_t park_timeout_ms;
	uint32_t max_connections;     /* SPOP connections; 0: from the fd limit */
	uint32_t idle_timeout_ms;     /* SPOP connection without a frame; 0: never */
	uint32_t frame_timeout_ms;    /* a started frame must complete */
	uint32_t partial_frames_max_bytes; /* input buffers, all workers */
	uint32_t kid_refetch_interval_ms; /* between two unknown-kid refetches */
	uint32_t kid_negative_ttl_s;  /* a kid a refetch did not bring: refused */
	uint32_t kid_refetch_cooldown_s; /* obsolete (warned about); 0 = absent */
	char *policy_url, *policy_file, *policy_credential, *policy_ca_file;
	char *client_ca_file;
	struct strlist crl_files, crl_urls;
	enum crl_stale_mode crl_stale;
	unsigned answer;              /* ANSWER_* */
	struct fetch_cfg fetch;
	struct credential *credentials;
	size_t ncredentials;
	struct issuer_cfg *issuers;
	size_t nissuers;
	struct route_cfg *routes;
	size_t nroutes;
	char *base_dir;               /* relative paths were resolved against it, or NULL */
	char *policy_version;         /* policy documents: "version", or NULL */
	/* Identity assertions (cfg_assert.c); no issuer: none. */
	char *assertion_issuer;
	int assertion_alg;            /* enum signer_alg */
	uint32_t assertion_key_rotate_s, assertion_key_ahead_s;
	char *assertion_jwks_file;
};

#endif /* !SPOA_CONFIG_T_H */
