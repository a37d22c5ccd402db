/*
 * tenant.h: issuer templates with a tenant placeholder (Entra ID).
 *
 * Microsoft's multi-tenant discovery documents and key sets spell the
 * placeholder "{tenantid}" ("https://login.microsoftonline.com/{tenantid}/v2.0",
 * "https://sts.windows.net/{tenantid}/"); our documentation writes
 * "{tenant}".  Both spellings are one placeholder, everywhere: the config
 * (a template issuer needs a tenant allow-list), the token path (a token's
 * "iss" against a configured template, a key's "issuer" against the
 * token), and discovery (a document's issuer against the config).  This
 * file is the one definition of what a template is.  Pure: no I/O, no
 * allocation.
 */
#ifndef SPOA_TENANT_H
#define SPOA_TENANT_H

#include <stdbool.h>
#include <stddef.h>

/* Length of a tenant GUID "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx". */
#define TENANT_GUID_LEN		36

/*
 * tenant_placeholder(s, len):
 * The first tenant placeholder ("{tenant}" or "{tenantid}") in the
 * NUL-terminated ${s}, with its length in *${len}; NULL if there is none.
 * Anything else in braces is literal text.
 */
const char *tenant_placeholder(const char *s, size_t *len);

/* tenant_placeholder_count(s): how many placeholders ${s} holds. */
size_t tenant_placeholder_count(const char *s);

/*
 * tenant_is_guid(s, n):
 * True if the ${n} bytes at ${s} are a GUID in its 8-4-4-4-12 hex form
 * (either case).
 */
bool tenant_is_guid(const char *s, size_t n);

/*
 * tenant_template_guid(iss, iss_len, pat):
 * If the ${iss_len} bytes at ${iss} are the template ${pat} with a GUID in
 * place of its (first) placeholder, return a pointer to that GUID inside
 * ${iss}; else NULL (also when ${pat} has no placeholder).  Byte-exact,
 * case-sensitive outside the GUID.
 */
const char *tenant_template_guid(const char *iss, size_t iss_len,
    const char *pat);

/*
 * tenant_template_eq(a, b):
 * True if ${a} and ${b} are equal, a placeholder (either spelling) on one
 * side being equal to a placeholder at the same place on the other and to
 * nothing else.
 */
bool tenant_template_eq(const char *a, const char *b);

/*
 * tenant_in(guid, tenants, n):
 * True if the GUID at ${guid} (TENANT_GUID_LEN bytes) is one of the ${n}
 * NUL-terminated GUIDs of ${tenants}, ignoring case.  An empty list holds
 * nothing: whether "any tenant" is allowed is the caller's decision.
 */
bool tenant_in(const char *guid, char *const *tenants, size_t n);

#endif /* !SPOA_TENANT_H */
