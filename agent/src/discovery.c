/*
 * discovery.c: see discovery.h.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "json_strict.h"
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

/* Length of a tenant placeholder at ${p}, or 0. */
static size_t
placeholder(const char *p)
{
	if (strncmp(p, "{tenantid}", 10) == 0)
		return (10);
	if (strncmp(p, "{tenant}", 8) == 0)
		return (8);
	return (0);
}

static bool
template_eq(const char *a, const char *b)
{
	while (*a != '\0' && *b != '\0') {
		size_t pa = placeholder(a), pb = placeholder(b);

		if (pa != 0 || pb != 0) {
			if (pa == 0 || pb == 0)
				return (false);
			a += pa;
			b += pb;
			continue;
		}
		if (*a != *b)
			return (false);
		a++;
		b++;
	}
	return (*a == '\0' && *b == '\0');
}

bool
discovery_issuer_match(const char *doc_issuer, const struct strlist *configured)
{
	for (size_t i = 0; i < configured->n; i++)
		if (template_eq(doc_issuer, configured->v[i]))
			return (true);
	return (false);
}
