/*
 * claims.h: checks on the claims of a JWT payload (RFC 7519 §4.1, RFC 9068,
 * Entra ID and Okta specifics, jwt.md §3 S14, S19).
 *
 * Pure functions of (payload, configuration, now): no clock, no I/O, no
 * allocation except where said.  The payload is the cJSON object of a token
 * whose signature has been verified (jws_parse() made sure it has no
 * duplicate keys).  Object members are always looked up case-sensitively;
 * numbers are read from valuedouble only, never valueint (which saturates
 * at INT_MAX).
 */
#ifndef SPOA_CLAIMS_H
#define SPOA_CLAIMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "reason.h"
#include "tenant.h"

struct cJSON;
struct strlist;
struct claim_value;
struct issuer_cfg;

/* Largest NumericDate accepted: 9999-12-31T23:59:59Z. */
#define CLAIMS_DATE_MAX		253402300799.0

/* Most elements of an aud array that claims_aud_match() looks at. */
#define CLAIMS_AUD_MAX		256

/* Longest claim path (a dotted name or a JSON Pointer). */
#define CLAIMS_PATH_MAX		256

/* Most claims one issuer's scopes or roles may be gathered from. */
#define CLAIMS_SOURCES_MAX	8

/* Which multi-valued identity claim: scopes or roles. */
enum claims_words { CLAIMS_SCOPES, CLAIMS_ROLES };

/* Length of a tenant GUID "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx". */
#define CLAIMS_GUID_LEN		TENANT_GUID_LEN

/*
 * claims_get(payload, path):
 * The member of ${payload} named by ${path}, one of two syntaxes:
 *  - a path starting with '/' is an RFC 6901 JSON Pointer into objects
 *    ("/resource_access/my.app/roles": member "roles" of member "my.app"
 *    of "resource_access"; "~1" is a '/' and "~0" a '~' inside a name,
 *    so "/https:~1~1example.com~1roles" is the member
 *    "https://example.com/roles"); array indexes are not supported;
 *  - any other path is dotted: at each object level the whole remaining
 *    path is first tried as one member name, so a claim whose name
 *    contains dots ("https://example.com/roles") is found; otherwise the
 *    path is split at its first '.' and the walk descends into the object
 *    member named by the part before it ("cnf.x5t#S256" is member
 *    "x5t#S256" of object "cnf").
 * Return a pointer into ${payload}, or NULL if there is no such member, a
 * step is not an object, or the pointer is malformed.
 */
const struct cJSON *claims_get(const struct cJSON *payload, const char *path);

/*
 * claims_path_valid(path):
 * True if ${path} is a claim path claims_get() can follow: 1 to
 * CLAIMS_PATH_MAX bytes; a JSON Pointer whose '~' are all "~0" or "~1"; or
 * a dotted path without an empty segment (no leading, trailing or double
 * '.').  For the config parser, so that a typo is an error, not a claim
 * that is never found.
 */
bool claims_path_valid(const char *path);

/*
 * claims_check_types(payload, detail):
 * The claims RFC 7519 and the providers define as strings (iss, sub, jti,
 * azp, appid, client_id, cid, tid) are strings when present: return 0;
 * else -1 with *${detail} naming the first that is not (token_malformed).
 */
int claims_check_types(const struct cJSON *payload, const char **detail);

/*
 * claims_numeric_date(item, out):
 * If ${item} is a JSON number (not a string such as "9999999999") that is
 * finite and within 0 .. CLAIMS_DATE_MAX, store it in *${out} and return 0.
 * Fractions are kept.  Otherwise return -1.
 */
int claims_numeric_date(const struct cJSON *item, double *out);

/* The registered time claims of a payload, read once. */
struct claim_times {
	bool has_exp, has_nbf, has_iat;
	double exp, nbf, iat;
};

/*
 * claims_times_extract(payload, t, r, detail):
 * Read exp, nbf and iat (each optional) into ${t}.  A present claim that
 * is not a valid NumericDate (claims_numeric_date()) fails with
 * token_malformed.  Return 0 or -1.
 */
int claims_times_extract(const struct cJSON *payload, struct claim_times *t,
    enum reason *r, const char **detail);

/*
 * claims_times_check(t, now, skew_s, require_exp, max_lifetime_s, r, detail):
 * The checks of claims_check_time() on already extracted times, so a
 * cached verified token is re-checked at every use without touching JSON.
 */
int claims_times_check(const struct claim_times *t, int64_t now,
    uint32_t skew_s, bool require_exp, uint32_t max_lifetime_s,
    enum reason *r, const char **detail);

/*
 * claims_check_time(payload, now, skew_s, require_exp, max_lifetime_s, r,
 *     detail):
 * Check exp, nbf and iat of ${payload} against the clock ${now} (Unix
 * seconds) with ${skew_s} seconds of tolerance:
 *  - each of them, when present, is a NumericDate (claims_numeric_date),
 *    else token_malformed;
 *  - exp must be present if ${require_exp} or ${max_lifetime_s} > 0, else
 *    token_malformed ("exp missing");
 *  - ${now} >= exp + ${skew_s}: token_expired;
 *  - nbf > ${now} + ${skew_s}: token_not_yet_valid;
 *  - iat > ${now} + ${skew_s}: token_not_yet_valid ("issued in the future");
 *  - ${max_lifetime_s} > 0 and exp - (iat if present, else ${now}) >
 *    ${max_lifetime_s}: token_expired ("lifetime exceeds max_lifetime_s").
 * Checks run in that order.  Return 0 if all pass, else -1 with *${r} and
 * *${detail} (a constant string; ${detail} may be NULL) set.
 */
int claims_check_time(const struct cJSON *payload, int64_t now,
    uint32_t skew_s, bool require_exp, uint32_t max_lifetime_s,
    enum reason *r, const char **detail);

/*
 * claims_issuer_match(iss, iss_len, is, payload, tenant_out, tenant_cap):
 * Return 0 if the token issuer ${iss} (${iss_len} bytes) is accepted by one
 * of the issuer values of ${is}, else -1.  A value without a placeholder
 * must equal ${iss} exactly.  A value with a placeholder (tenant.h: either
 * spelling) is a template: ${iss} must be the text before the placeholder,
 * a GUID, then the text after it; that GUID must be in ${is}->tenants
 * (ignoring case) unless ${is}->any_tenant (an empty list allows nothing),
 * and the payload's "tid" claim must be a string equal to it ignoring case
 * (jwt.md S19: the tenant in iss and tid agree).
 * On a match write to ${tenant_out} (CLAIMS_GUID_LEN + 1 bytes at least,
 * else -1) the tenant a key's own issuer is checked with
 * (claims_key_issuer_ok()): the token's "tid", lowercased, if it is a GUID,
 * else "" (only possible with an exact value).
 */
int claims_issuer_match(const char *iss, size_t iss_len,
    const struct issuer_cfg *is, const struct cJSON *payload,
    char *tenant_out, size_t tenant_cap);

/*
 * claims_key_issuer_ok(key_issuer, iss, tenant):
 * Entra key sets may give a key its own "issuer" (a concrete tenant's
 * issuer, or a template with "{tenantid}"/"{tenant}"); such a key signs only
 * for that issuer (jwt.md S19).  Return 0 if ${key_issuer} is NULL (the key
 * is not scoped), or equals the token issuer ${iss} once its placeholder is
 * replaced by ${tenant} (the token's tid, from claims_issuer_match(), as
 * Microsoft.IdentityModel substitutes it; the GUID part is compared
 * ignoring case).  One more pair is accepted, as
 * Microsoft.IdentityModel does: Entra's v1 key endpoint attaches no issuer
 * to keys, so a v1 token ("https://sts.windows.net/T/") checked against the
 * v2 key set meets the v2 issuer "https://login.microsoftonline.com/T/v2.0"
 * (or its template): accepted when T is the same tenant (global cloud
 * only).  Return -1 otherwise, including a template with no ${tenant}
 * (NULL or "").
 */
int claims_key_issuer_ok(const char *key_issuer, const char *iss,
    const char *tenant);

/*
 * claims_aud_match(payload, audiences):
 * True if the payload's "aud" is a string equal to one of ${audiences}, or
 * an array of at most CLAIMS_AUD_MAX strings of which one is equal to one
 * of ${audiences} (exact, case-sensitive comparison).  False for any other
 * shape (absent, a number, an array holding a non-string or more than
 * CLAIMS_AUD_MAX elements) and when ${audiences} is empty.
 */
bool claims_aud_match(const struct cJSON *payload,
    const struct strlist *audiences);

/*
 * claims_words_gather(payload, which, paths, out):
 * The claims holding the token's scopes (${which} CLAIMS_SCOPES) or roles
 * (CLAIMS_ROLES): those at ${paths} (claims_get() paths, at most
 * CLAIMS_SOURCES_MAX are looked at; e.g. Keycloak's "/realm_access/roles"
 * and "/resource_access/my.app/roles"), or, when ${paths} is NULL or
 * empty, the default ones: for scopes "scp" (a space-separated string as
 * Entra writes it, or an array of strings as Okta does) or, only when
 * there is no "scp", "scope" if it is a string (RFC 8693 §4.2); for roles
 * "roles" (an array of strings as Entra writes it, or a space-separated
 * string).  Store pointers into ${payload} in ${out} and return how many
 * were found.
 */
size_t claims_words_gather(const struct cJSON *payload,
    enum claims_words which, const struct strlist *paths,
    const struct cJSON *out[CLAIMS_SOURCES_MAX]);

/*
 * claims_words_has(cs, n, word):
 * True if one of the ${n} claims ${cs} (from claims_words_gather()) holds
 * ${word}: a string claim as one of its space-separated words, an array
 * as one of its string elements (exact, case-sensitive comparison; an
 * empty ${word} is never among a string's words).
 */
bool claims_words_has(const struct cJSON *const *cs, size_t n,
    const char *word);

/*
 * claims_value_has(claim, v):
 * True if ${claim} (a scalar, or an array: any of its elements) equals the
 * rule value ${v} by type: a string exactly, a number as a double, a bool
 * as a bool (a string never equals a number: "1" is not 1).  This is what
 * a claims rule compares; a rule's claim must also be present and not
 * null (claims rules: CLAIM_MATCH_ANY, one of the rule's values is among
 * the claim's; CLAIM_MATCH_ALL, every one is (APIM's match="all"), and
 * there is at least one; CLAIM_MATCH_PRESENT, presence is enough).
 */
bool claims_value_has(const struct cJSON *claim,
    const struct claim_value *v);

/*
 * claims_render_words(payload, which, paths, out, cap):
 * The scopes or roles of claims_words_gather() rendered for a variable: each
 * claim found rendered by claims_render() (a string as is, an array joined
 * by spaces), joined by single spaces.  Return the length; -1 (with "" in
 * ${out}) when no claim is found; -2 (with "") when one is found but
 * claims_render() refuses it or the whole does not fit in ${cap} bytes.
 */
ssize_t claims_render_words(const struct cJSON *payload,
    enum claims_words which, const struct strlist *paths, char *out,
    size_t cap);

/*
 * claims_render(item, out, cap):
 * Render a claim for an HAProxy variable: a string as is; a number that is
 * integral with |v| < 2^53 as an integer without exponent, any other finite
 * number with "%.17g"; true/false; an array of those joined by single
 * spaces (an empty array renders as "").  Write it NUL-terminated into
 * ${out} and return its length.  Return -1 (with "" in ${out} when ${cap} >
 * 0) for objects, null, nested arrays, non-finite numbers, when it would not
 * fit in ${cap} bytes with its NUL, and when a string holds a control
 * character (C0 0x00-0x1f including TAB, DEL 0x7f, or a UTF-8 encoded C1
 * U+0080-U+009F): the value ends up in an HTTP header, so CR, LF and NUL
 * must never reach it, and the other controls are refused alike rather
 * than silently rewritten.  Other UTF-8 passes through unchanged.
 */
ssize_t claims_render(const struct cJSON *item, char *out, size_t cap);

/*
 * claims_client_id(payload):
 * The client (application) id: the first of "azp" (Entra v2, OIDC),
 * "appid" (Entra v1), "client_id" (RFC 9068) and "cid" (Okta) that is a
 * non-empty string.  Return a pointer into ${payload}, or NULL.
 */
const char *claims_client_id(const struct cJSON *payload);

/*
 * claims_tenant(payload):
 * The "tid" claim (Entra tenant id) if it is a non-empty string, else NULL.
 * Not validated here: see claims_issuer_match() for the tenant check.
 */
const char *claims_tenant(const struct cJSON *payload);

/*
 * claims_string(payload, name):
 * The top-level claim ${name} if it is a string, else NULL ("sub", "iss").
 */
const char *claims_string(const struct cJSON *payload, const char *name);

#endif /* !SPOA_CLAIMS_H */
