/*
 * cert_rule.c: see cert.h (client_cert rules against an analysed
 * certificate: APIM validate-client-certificate parity).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "config-t.h"
#include "util.h"
#include "cert_int.h"
#include "cert.h"

/* ---- checks --------------------------------------------------------- */

static bool
bytes_in(const uint8_t *v, size_t n, size_t width, const uint8_t *val)
{
	for (size_t i = 0; i < n; i++)
		if (memcmp(v + i * width, val, width) == 0)
			return (true);
	return (false);
}

static bool
str_in(const struct strlist *l, const char *s)
{
	if (s == NULL)
		return (false);
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return (true);
	return (false);
}

/* Some certificate name of ${v} equals ${s}. */
static bool
name_is(char *const *v, size_t n, const char *s, bool nocase)
{
	for (size_t i = 0; i < n; i++)
		if (nocase ? util_str_caseeq(v[i], s) : strcmp(v[i], s) == 0)
			return (true);
	return (false);
}

/* Some certificate name of ${v} is in ${l}. */
static bool
names_in(const struct strlist *l, char *const *v, size_t n, bool nocase)
{
	for (size_t i = 0; i < l->n; i++)
		if (name_is(v, n, l->v[i], nocase))
			return (true);
	return (false);
}

static bool
dn_in(const struct dnlist *l, const struct cert_dn *dn)
{
	for (size_t i = 0; i < l->n; i++)
		if (cert_dn_rule_match(l->dn[i], dn))
			return (true);
	return (false);
}

/* Every attribute given in ${id} matches (and at least one is given). */
static bool
identity_matches(const struct cert_identity *id, const struct cert_info *ci)
{
	size_t given = 0;

#define ATTR(cond, ok) do {						\
	if (cond) {							\
		given++;						\
		if (!(ok))						\
			return (false);					\
	}								\
} while (0)
	ATTR(id->has_sha256, memcmp(id->sha256, ci->sha256, 32) == 0);
	ATTR(id->has_sha1, memcmp(id->sha1, ci->sha1, 20) == 0);
	ATTR(id->has_issuer_sha256, ci->has_issuer_sha256 &&
	    memcmp(id->issuer_sha256, ci->issuer_sha256, 32) == 0);
	ATTR(id->serial != NULL, strcmp(id->serial, ci->serial) == 0);
	ATTR(id->common_name != NULL,
	    ci->cn != NULL && strcmp(id->common_name, ci->cn) == 0);
	ATTR(id->subject_dn != NULL, cert_dn_rule_match(id->subject_dn,
	    ci->subject_dn));
	ATTR(id->issuer_dn != NULL, cert_dn_rule_match(id->issuer_dn,
	    ci->issuer_dn));
	ATTR(id->dns_name != NULL, name_is(ci->dns, ci->ndns, id->dns_name,
	    true));
	ATTR(id->uri != NULL, name_is(ci->uris, ci->nuris, id->uri, false));
	ATTR(id->email != NULL, name_is(ci->emails, ci->nemails, id->email,
	    false));
#undef ATTR
	return (given > 0);
}

int
cert_rule_match(const struct cert_rule *rule, const struct cert_info *ci,
    const char **why)
{
	const char *w = NULL;
	size_t i;

	if (rule->nsha256 > 0 && !bytes_in((const uint8_t *)rule->sha256,
	    rule->nsha256, 32, ci->sha256))
		w = "certificate thumbprint not allowed";
	else if (rule->nsha1 > 0 && !bytes_in((const uint8_t *)rule->sha1,
	    rule->nsha1, 20, ci->sha1))
		w = "certificate SHA-1 thumbprint not allowed";
	else if (rule->nissuer_sha256 > 0 && (!ci->has_issuer_sha256 ||
	    !bytes_in((const uint8_t *)rule->issuer_sha256,
	    rule->nissuer_sha256, 32, ci->issuer_sha256)))
		w = "issuing CA not allowed";
	else if (rule->serials.n > 0 && !str_in(&rule->serials, ci->serial))
		w = "serial number not allowed";
	else if (rule->common_names.n > 0 &&
	    !str_in(&rule->common_names, ci->cn))
		w = "common name not allowed";
	else if (rule->subjects.n > 0 && !dn_in(&rule->subjects,
	    ci->subject_dn))
		w = "subject not allowed";
	else if (rule->issuers.n > 0 && !dn_in(&rule->issuers, ci->issuer_dn))
		w = "issuer not allowed";
	else if (rule->dns_names.n > 0 && !names_in(&rule->dns_names, ci->dns,
	    ci->ndns, true))
		w = "DNS name not allowed";
	else if (rule->uris.n > 0 && !names_in(&rule->uris, ci->uris,
	    ci->nuris, false))
		w = "URI not allowed";
	else if (rule->emails.n > 0 && !names_in(&rule->emails, ci->emails,
	    ci->nemails, false))
		w = "email not allowed";
	else if (rule->nidentities > 0) {
		for (i = 0; i < rule->nidentities; i++)
			if (identity_matches(&rule->identities[i], ci))
				break;
		if (i == rule->nidentities)
			w = "no identity matches";
	}
	if (w == NULL)
		return (0);
	if (why != NULL)
		*why = w;
	return (-1);
}

