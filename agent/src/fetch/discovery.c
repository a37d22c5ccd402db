/*
 * discovery.c: see discovery.h.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "json_strict.h"
#include "tenant.h"
#include "url.h"
#include "discovery.h"

/* Provider metadata is flat; a few arrays of strings at most. */
static const struct json_limits discovery_limits = { 16, 4096, 1, 0 };

/* A string member: non-empty, bounded, no control characters. */
static const char *
str_member(const cJSON *root, const char *name)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(root, name);
	size_t n;

	if (!cJSON_IsString(it) || it->valuestring == NULL)
		return (NULL);
	n = strlen(it->valuestring);
	if (n == 0 || n > DISCOVERY_STR_MAX)
		return (NULL);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)it->valuestring[i];

		if (c < 0x20 || c == 0x7f)
			return (NULL);
	}
	return (it->valuestring);
}

int
discovery_parse(const char *buf, size_t len, bool allow_http,
    struct discovery *d, const char **why)
{
	cJSON *root = NULL;
	char *copy = NULL;
	const char *iss, *jwks;
	int rc = -1;

	memset(d, 0, sizeof(*d));
	if (buf == NULL || len == 0 || len > DISCOVERY_DOC_MAX) {
		*why = "document empty or too large";
		return (-1);
	}
	if (json_strict_check(buf, len, &discovery_limits, why) != 0)
		return (-1);
	*why = "out of memory";
	if ((copy = malloc(len + 1)) == NULL)
		goto out;
	memcpy(copy, buf, len);
	copy[len] = '\0';
	if ((root = cJSON_ParseWithLength(copy, len)) == NULL) {
		*why = "not valid JSON";
		goto out;
	}
	if ((iss = str_member(root, "issuer")) == NULL) {
		*why = "no valid \"issuer\" string";
		goto out;
	}
	if ((jwks = str_member(root, "jwks_uri")) == NULL) {
		*why = "no valid \"jwks_uri\" string";
		goto out;
	}
	if (url_check(jwks, allow_http) != NULL) {
		*why = allow_http ? "jwks_uri is not an http(s) URL" :
		    "jwks_uri is not an https URL";
		goto out;
	}
	d->issuer = strdup(iss);
	d->jwks_uri = strdup(jwks);
	if (d->issuer == NULL || d->jwks_uri == NULL) {
		*why = "out of memory";
		discovery_release(d);
		goto out;
	}
	rc = 0;
out:
	cJSON_Delete(root);
	free(copy);
	return (rc);
}

void
discovery_release(struct discovery *d)
{
	if (d == NULL)
		return;
	free(d->issuer);
	free(d->jwks_uri);
	d->issuer = d->jwks_uri = NULL;
}

/*
 * Does the document's issuer ${doc} name the configured value ${pat}?  The
 * same template (either spelling), the same text, or one side a template
 * and the other that template with a tenant: a tenant-specific document
 * for a template config (the tenant must be allowed), or a multi-tenant
 * document (common, organizations) for a single-tenant config.
 */
static bool
issuer_names(const char *doc, const char *pat, const struct issuer_cfg *is)
{
	size_t phlen;
	const char *guid;

	if (tenant_template_eq(doc, pat))
		return (true);
	if (tenant_placeholder(pat, &phlen) != NULL) {
		guid = tenant_template_guid(doc, strlen(doc), pat);
		return (guid != NULL && (is->any_tenant ||
		    tenant_in(guid, is->tenants.v, is->tenants.n)));
	}
	return (tenant_template_guid(pat, strlen(pat), doc) != NULL);
}

bool
discovery_issuer_match(const char *doc_issuer, const struct issuer_cfg *is)
{
	for (size_t i = 0; i < is->issuer.n; i++)
		if (issuer_names(doc_issuer, is->issuer.v[i], is))
			return (true);
	return (false);
}
