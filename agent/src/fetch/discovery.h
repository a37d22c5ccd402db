/*
 * discovery.h: OpenID Connect discovery documents (OpenID Connect
 * Discovery 1.0 §3/§4).  Pure: no I/O.
 *
 * The fetcher needs two members: "issuer", which must match the issuer the
 * config names (else the URL points at another provider and its keys must
 * not be trusted for ours), and "jwks_uri", where the keys are.  Entra's
 * multi-tenant documents (common, organizations) publish the template
 * "https://login.microsoftonline.com/{tenantid}/v2.0", tenant-specific
 * ones the same with the tenant's GUID (tenant.h defines templates).
 */
#ifndef SPOA_DISCOVERY_H
#define SPOA_DISCOVERY_H

#include <stdbool.h>
#include <stddef.h>

struct issuer_cfg;

/* Caps on what a discovery document may hold. */
#define DISCOVERY_DOC_MAX       (1u << 20)
#define DISCOVERY_STR_MAX       4096

struct discovery {
	char *issuer;           /* malloc'd, NUL-terminated */
	char *jwks_uri;         /* malloc'd, NUL-terminated */
};

/*
 * discovery_parse(buf, len, allow_http, d, why):
 * Parse the ${len}-byte document at ${buf} (need not be NUL-terminated;
 * strict JSON: see json_strict.h) into *${d}: "issuer" and "jwks_uri" are
 * required non-empty strings of at most DISCOVERY_STR_MAX bytes without
 * control characters; jwks_uri must start with "https://" (or "http://"
 * when ${allow_http}) and have a host.  Other members are ignored.  On
 * success return 0 (release *${d} with discovery_release()); on failure
 * return -1 with a constant reason in *${why} and *${d} zeroed.
 */
int discovery_parse(const char *buf, size_t len, bool allow_http,
    struct discovery *d, const char **why);

/* discovery_release(d): free the members of ${d}; NULL members are fine. */
void discovery_release(struct discovery *d);

/*
 * discovery_issuer_match(doc_issuer, is):
 * True if ${doc_issuer} names one of the issuer values of ${is}: equal
 * text, or equal templates (a placeholder of either spelling at the same
 * place on both sides), or a configured template with a tenant of
 * ${is}->tenants (any tenant with ${is}->any_tenant) in place of its
 * placeholder (a tenant-specific document), or a configured tenant's value
 * that the document's template yields (a common/organizations document for
 * a single-tenant config).  Case-sensitive outside the GUID, no
 * normalisation (a trailing '/' matters: Entra v1 issuers end with one, v2
 * issuers do not).
 */
bool discovery_issuer_match(const char *doc_issuer,
    const struct issuer_cfg *is);

#endif /* !SPOA_DISCOVERY_H */
