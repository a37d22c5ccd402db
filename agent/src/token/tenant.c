/*
 * tenant.c: see tenant.h.
 */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "util.h"
#include "tenant.h"

/* Length of a placeholder starting at ${p}, or 0. */
static size_t
placeholder_at(const char *p)
{
	if (strncmp(p, "{tenantid}", 10) == 0)
		return (10);
	if (strncmp(p, "{tenant}", 8) == 0)
		return (8);
	return (0);
}

const char *
tenant_placeholder(const char *s, size_t *len)
{
	for (const char *p = strchr(s, '{'); p != NULL; p = strchr(p + 1, '{')) {
		size_t n = placeholder_at(p);

		if (n != 0) {
			*len = n;
			return (p);
		}
	}
	return (NULL);
}

size_t
tenant_placeholder_count(const char *s)
{
	size_t n = 0, len;

	while ((s = tenant_placeholder(s, &len)) != NULL) {
		n++;
		s += len;
	}
	return (n);
}

bool
tenant_is_guid(const char *s, size_t n)
{
	if (n != TENANT_GUID_LEN)
		return (false);
	for (size_t i = 0; i < n; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return (false);
		} else if (util_hexval((unsigned char)s[i]) < 0) {
			return (false);
		}
	}
	return (true);
}

const char *
tenant_template_guid(const char *iss, size_t iss_len, const char *pat)
{
	const char *ph;
	size_t phlen, pre, suf;

	if ((ph = tenant_placeholder(pat, &phlen)) == NULL)
		return (NULL);
	pre = (size_t)(ph - pat);
	suf = strlen(ph + phlen);
	if (iss_len != pre + TENANT_GUID_LEN + suf)
		return (NULL);
	if (memcmp(iss, pat, pre) != 0 ||
	    memcmp(iss + pre + TENANT_GUID_LEN, ph + phlen, suf) != 0)
		return (NULL);
	if (!tenant_is_guid(iss + pre, TENANT_GUID_LEN))
		return (NULL);
	return (iss + pre);
}

bool
tenant_template_eq(const char *a, const char *b)
{
	while (*a != '\0' && *b != '\0') {
		size_t pa = placeholder_at(a), pb = placeholder_at(b);

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
tenant_in(const char *guid, char *const *tenants, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(tenants[i]) == TENANT_GUID_LEN &&
		    util_mem_caseeq(guid, tenants[i], TENANT_GUID_LEN))
			return (true);
	return (false);
}
