/*
 * tokrec.h: compiled token records.  What the verified-token cache keeps of
 * a token is not its claims but a record compiled once, on the cache miss
 * that verified it, against the config current then: the identity values
 * already rendered as the answer sends them, the token's scopes, roles and
 * claim-rule values as bits against the names the config mentions, the
 * values of the claims some route's claims_to_vars sends, the times, the
 * verifying key's identity and the cnf thumbprints.  One allocation; no
 * cJSON tree outlives the miss, and no claim that no route reads is kept.
 *
 * The record schema (struct tokrec_schema) is that config compiled for
 * records, once per config (cfgref_new()): the sorted vocabularies (scope
 * names, role names, rule claims, rule values, claims_to_vars claims) that
 * give every bit and value its place, every route's rules as bit indexes,
 * and per issuer a fingerprint of everything a record of that issuer
 * depends on (the vocabularies, and the issuer's own settings that decide
 * whether a token is accepted or how its record is compiled).  A record
 * carries its issuer's fingerprint: under another config it is good as it
 * is exactly when some issuer there has the same fingerprint, so a reload
 * or policy update that changes nothing a record depends on keeps it
 * (tokrec_schema_issuer()).
 *
 * Pure: no I/O, no clock, no locks.  A schema is immutable once built and
 * shared by every worker; a record is immutable once compiled, except for
 * its two bookkeeping fields, which only the worker whose cache holds it
 * writes.
 */
#ifndef SPOA_TOKREC_H
#define SPOA_TOKREC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "claims.h"
#include "jwa.h"

struct cJSON;
struct config;
struct tokrec_schema;

/*
 * Most scope names, role names, claims rules, rule values and
 * claims_to_vars entries all the routes of one config may name together
 * (config parsing refuses more).  Every distinct one costs each record one
 * bit (claims_to_vars: one bit and one value), so this bounds what a
 * config can add to every cached token.
 */
#define TOKREC_MENTIONS_MAX	65535

/* The answer's bounds (verdict.h, which jwt.c checks they match): one
 * value at most TOKREC_VALUE_MAX bytes; the identity values of one token
 * rendered together into TOKREC_RENDER_CAP bytes, as are claims_to_vars
 * values one by one. */
#define TOKREC_VALUE_MAX	65536
#define TOKREC_RENDER_CAP	(TOKREC_VALUE_MAX + TOKREC_NIDENT)

/* Bytes of an issuer fingerprint kept in a record (of a SHA-256), and of
 * the verifying key's (of crypto_key_fingerprint(), also a SHA-256). */
#define TOKREC_FP_LEN		16
#define TOKREC_KEY_FP_LEN	16

/* The identity variables, in the answer's order. */
enum tokrec_ident {
	TOKREC_SUB, TOKREC_ISS, TOKREC_CLIENT, TOKREC_TENANT, TOKREC_SCOPES,
	TOKREC_ROLES, TOKREC_NIDENT
};

/* What a token's cnf says of one thumbprint (RFC 8705 x5t#S256, RFC 9449
 * jkt). */
enum tokrec_cnf {
	TOKREC_CNF_ABSENT,        /* no cnf object or no such member */
	TOKREC_CNF_NOT_STRING,    /* present, not a string (null included) */
	TOKREC_CNF_UNDECODABLE,   /* a string that is not 43 canonical
	                           * base64url characters: matches nothing */
	TOKREC_CNF_SHA256,        /* 32 bytes, decoded */
};

/* Results of tokrec_route_check(). */
enum tokrec_check {
	TOKREC_PASS, TOKREC_SCOPE_MISSING, TOKREC_ROLE_MISSING,
	TOKREC_CLAIM_MISMATCH
};

/* Results of tokrec_route_var() besides 0. */
#define TOKREC_VAR_ABSENT	(-1)    /* absent, null or empty: no variable */
#define TOKREC_VAR_UNSENDABLE	(-2)    /* present, cannot be sent whole */

/* struct tokrec flags. */
#define TOKREC_F_HMAC		0x0001  /* verified with the issuer's secret */
#define TOKREC_F_EXP		0x0002
#define TOKREC_F_NBF		0x0004
#define TOKREC_F_IAT		0x0008
#define TOKREC_F_SUB_HASH	0x0010  /* sub_hash is set */
#define TOKREC_F_UNSENDABLE	0x0020  /* an identity value cannot be sent */
#define TOKREC_F_ISS_SENT	0x0040  /* the iss value is also a variable */
#define TOKREC_F_WIDE		0x0080  /* 32-bit text offsets (else 16) */
#define TOKREC_F_X5T_SHIFT	8       /* enum tokrec_cnf of x5t#S256 */
#define TOKREC_F_JKT_SHIFT	10      /* enum tokrec_cnf of jkt */
#define TOKREC_F_TID_IN_ISS	0x1000  /* the tenant value is the GUID in
                                         * iss, at tid_at (Entra's) */
#define TOKREC_F_IDENT_CRLF	0x2000  /* an identity value holds CR or LF
                                         * (client id or tenant: the others
                                         * are rendered without controls):
                                         * no answer can carry it */

/*
 * A record: this fixed part, then in data[] the bits (nwords words), the
 * decoded thumbprints (32 bytes each, x5t#S256 then jkt, only those that
 * are TOKREC_CNF_SHA256), the text offsets (one per slot and one more, of
 * 16 bits, or of 32 with TOKREC_F_WIDE: a token's text rarely needs them)
 * and the text: the issuer, identity values, kid and nvars claims_to_vars
 * values, each NUL-terminated.  An Entra tenant id is not kept twice: it
 * is read from the issuer (TOKREC_F_TID_IN_ISS).  Read the variable part
 * through the functions below.
 */
struct tokrec {
	/* Bookkeeping of the cache that holds the record: written only by
	 * its worker, never part of what was compiled. */
	uint64_t valid_gen;        /* snapshot it was last found good under */
	uint32_t issuer;           /* its issuer's index in that config */
	/* Compiled; immutable. */
	uint16_t flags;            /* TOKREC_F_* */
	uint8_t alg;               /* enum jws_alg it was verified with */
	uint8_t fp[TOKREC_FP_LEN]; /* its issuer's fingerprint */
	double exp, nbf, iat;      /* when TOKREC_F_EXP, _NBF, _IAT */
	uint8_t key_fp[TOKREC_KEY_FP_LEN]; /* the verifying key's, first bytes */
	uint8_t sub_hash[8];       /* SHA-256(sub), first bytes, for logs */
	uint16_t nwords, nvars;
	uint16_t tid_at;
	uint16_t offs_at;          /* where the text offsets start in data[] */
	uint64_t data[];
};

/* A digest function: crypto_sha256(). */
typedef int tokrec_digest_fn(const void *p, size_t len, uint8_t out[32]);

/*
 * tokrec_schema_new(cfg, digest):
 * The record schema of ${cfg}, which it borrows (names, paths, values,
 * routes: the schema must be freed before ${cfg}).  ${digest} (SHA-256)
 * makes the issuers' fingerprints.  Return it, or NULL when out of memory,
 * when ${digest} fails, or when the routes name more than
 * TOKREC_MENTIONS_MAX scopes, roles, rules, values and claims_to_vars
 * together (config parsing refuses such a config first).
 */
struct tokrec_schema *tokrec_schema_new(const struct config *cfg,
    tokrec_digest_fn *digest);

/* tokrec_schema_free(rs): NULL is a no-op. */
void tokrec_schema_free(struct tokrec_schema *rs);

/*
 * tokrec_schema_issuer(rs, rec):
 * The index in ${rs}'s config of the issuer whose fingerprint ${rec}
 * carries (${rec}->issuer is tried first), or -1: a record is good under
 * a config exactly when this finds its issuer there (and that issuer's
 * key set still has its key: the caller's check).
 */
ssize_t tokrec_schema_issuer(const struct tokrec_schema *rs,
    const struct tokrec *rec);

/* What verification established of a token, besides its claims. */
struct tokrec_in {
	size_t issuer;                 /* index in the schema's config */
	enum jws_alg alg;
	bool hmac;                     /* verified with the issuer's secret */
	const uint8_t *key_fp;         /* 32 bytes: the verifying key's
	                                * fingerprint (the record keeps
	                                * TOKREC_KEY_FP_LEN of them) */
	const char *kid;               /* the key's kid, or NULL */
	size_t kid_len;
	const struct claim_times *times;
	const uint8_t *sub_hash;       /* 8 bytes, or NULL (no sub) */
};

/*
 * tokrec_compile(rs, payload, in):
 * Compile the verified claims ${payload} of a token of issuer
 * ${in}->issuer into a record for ${rs}; ${payload} is not kept.  The
 * identity values are rendered as the answer sends them, with their
 * bounds (a value that is present but cannot be sent whole, too large or
 * holding a control character, marks the record TOKREC_F_UNSENDABLE and is
 * left out), and so are the claims_to_vars values.  Return the record
 * (one allocation; tokrec_free()), or NULL when out of memory.
 */
struct tokrec *tokrec_compile(const struct tokrec_schema *rs,
    const struct cJSON *payload, const struct tokrec_in *in);

/* tokrec_free(rec): NULL is a no-op. */
void tokrec_free(struct tokrec *rec);

/* tokrec_bytes(rec): the size of ${rec}'s allocation, as requested. */
size_t tokrec_bytes(const struct tokrec *rec);

/*
 * tokrec_ident(rec, i, len):
 * Identity value ${i} as the answer sends it, and its length in *${len};
 * NULL when the token has none (absent, empty, or not sendable).  It
 * lives as long as ${rec}, and holds no CR, LF or NUL unless the record
 * says TOKREC_F_IDENT_CRLF; claims_to_vars values never do.
 */
const char *tokrec_ident(const struct tokrec *rec, enum tokrec_ident i,
    size_t *len);

/* tokrec_iss(rec): the token's "iss", NUL-terminated, sendable or not. */
const char *tokrec_iss(const struct tokrec *rec);

/* tokrec_kid(rec, len): the verifying key's kid, or NULL. */
const char *tokrec_kid(const struct tokrec *rec, size_t *len);

/*
 * tokrec_tenant_guid(rec, out):
 * The tenant a key's own issuer is checked with (claims_key_issuer_ok()):
 * the token's tid, lowercased, if it is a GUID, else "".
 */
void tokrec_tenant_guid(const struct tokrec *rec,
    char out[CLAIMS_GUID_LEN + 1]);

/* tokrec_times(rec, t): the token's exp, nbf and iat. */
void tokrec_times(const struct tokrec *rec, struct claim_times *t);

/*
 * tokrec_x5t(rec, sha), tokrec_jkt(rec, sha):
 * What cnf says of x5t#S256 (RFC 8705) and jkt (RFC 9449); with
 * TOKREC_CNF_SHA256, *${sha} points to the 32 decoded bytes.
 */
enum tokrec_cnf tokrec_x5t(const struct tokrec *rec, const uint8_t **sha);
enum tokrec_cnf tokrec_jkt(const struct tokrec *rec, const uint8_t **sha);

/*
 * tokrec_route_check(rs, route, rec, missing):
 * Route ${route} (an index in ${rs}'s config)'s scopes, roles and claims
 * rules on ${rec} (compiled for ${rs}, or for a schema with the same
 * fingerprint), in that order, with claims_check_words() and
 * claims_check_rules()'s meaning: TOKREC_PASS, or the first that fails,
 * with *${missing} set as they set it (the first missing entry of the
 * "all" list, else the first of the "any" list; for a rule, its claim).
 * Bit tests only: no string is compared.
 */
enum tokrec_check tokrec_route_check(const struct tokrec_schema *rs,
    size_t route, const struct tokrec *rec, const char **missing);

/* tokrec_route_nvars(rs, route): how many claims_to_vars ${route} has. */
size_t tokrec_route_nvars(const struct tokrec_schema *rs, size_t route);

/*
 * tokrec_route_var(rs, route, k, rec, name, val, len):
 * The ${k}th claims_to_vars entry of ${route} for ${rec}: set *${name} to
 * its variable name and return 0 with the rendered value in *${val},
 * *${len}; or return TOKREC_VAR_ABSENT (no variable) or
 * TOKREC_VAR_UNSENDABLE (the request must be refused).
 */
int tokrec_route_var(const struct tokrec_schema *rs, size_t route, size_t k,
    const struct tokrec *rec, const char **name, const char **val,
    size_t *len);

#endif /* !SPOA_TOKREC_H */
