/*
 * test_discovery.c: OpenID discovery documents and the template-aware
 * issuer check (Entra {tenantid}).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testsupport.h"

#include "config.h"
#include "discovery.h"

#define T1 "72f988bf-86f1-41af-91ab-2d7cd011db47"
#define T2 "9188040d-6c67-4c5b-b112-36a304b66dad"

static int
parse(const char *doc, bool http, struct discovery *d, const char **why)
{
	return (discovery_parse(doc, strlen(doc), http, d, why));
}

static void
test_good(void **state)
{
	struct discovery d;
	const char *why = NULL;
	const char *doc =
	    "{\"token_endpoint\":\"https://login.example/t/oauth2/v2.0/token\","
	    "\"jwks_uri\":\"https://login.example/common/discovery/v2.0/keys\","
	    "\"issuer\":\"https://login.microsoftonline.com/{tenantid}/v2.0\","
	    "\"id_token_signing_alg_values_supported\":[\"RS256\"],"
	    "\"x\":{\"nested\":[1,2,{\"a\":null}]}}";

	(void)state;
	assert_int_equal(parse(doc, false, &d, &why), 0);
	assert_string_equal(d.issuer,
	    "https://login.microsoftonline.com/{tenantid}/v2.0");
	assert_string_equal(d.jwks_uri,
	    "https://login.example/common/discovery/v2.0/keys");
	discovery_release(&d);
	discovery_release(&d);          /* idempotent */
	discovery_release(NULL);
	assert_int_equal(parse("{\"issuer\":\"i\",\"jwks_uri\":\"http://127.0.0.1:1/k\"}",
	    true, &d, &why), 0);
	discovery_release(&d);
	/* Only len bytes are read. */
	assert_int_equal(discovery_parse("{\"issuer\":\"i\",\"jwks_uri\":\"https://h/k\"}xyz",
	    39, false, &d, &why), 0);
	discovery_release(&d);
}

static void
test_bad(void **state)
{
	static const char *const bad[] = {
		"",
		"[]",
		"{}",
		"not json",
		"{\"issuer\":\"i\"}",
		"{\"jwks_uri\":\"https://h/k\"}",
		"{\"issuer\":\"\",\"jwks_uri\":\"https://h/k\"}",
		"{\"issuer\":1,\"jwks_uri\":\"https://h/k\"}",
		"{\"issuer\":\"i\",\"jwks_uri\":\"http://h/k\"}",
		"{\"issuer\":\"i\",\"jwks_uri\":\"ftp://h/k\"}",
		"{\"issuer\":\"i\",\"jwks_uri\":\"https:///k\"}",
		"{\"issuer\":\"i\",\"jwks_uri\":\"https://h/a b\"}",
		"{\"issuer\":\"i\",\"jwks_uri\":\"https://h/\\u0001\"}",
		"{\"issuer\":\"i\",\"jwks_uri\":\"https://u:p@h/k\"}",
		"{\"issuer\":\"i\",\"jwks_uri\":\"https://h/\\u007f\"}",
		"{\"issuer\":\"i\\n\",\"jwks_uri\":\"https://h/k\"}",
		"{\"issuer\":\"i\",\"jwks_uri\":[\"https://h/k\"]}",
		"{\"issuer\":\"i\",\"issuer\":\"j\",\"jwks_uri\":\"https://h/k\"}",
		"{\"issuer\":\"i\",\"jwks_uri\":\"https://h/k\",}",
		"{\"issuer\":\"i\",\"jwks_uri\":\"https://h/k\"} x",
		"{\"issuer\":\"i\\u0000x\",\"jwks_uri\":\"https://h/k\"}",
	};
	struct discovery d;
	const char *why;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		if (parse(bad[i], false, &d, &why) != -1)
			fail_msg("accepted %s", bad[i]);
		assert_non_null(why);
		assert_null(d.issuer);
		assert_null(d.jwks_uri);
	}
	assert_int_equal(discovery_parse(NULL, 0, false, &d, &why), -1);
	/* Over the cap whatever max_body_bytes allows; refused on the length
	 * alone, before a byte is read. */
	assert_int_equal(discovery_parse("{}", DISCOVERY_DOC_MAX + 1, false, &d,
	    &why), -1);
	assert_string_equal(why, "document empty or too large");
}

static void
test_long_values(void **state)
{
	size_t n = DISCOVERY_STR_MAX + 1;
	char *doc = malloc(n + 64);
	struct discovery d;
	const char *why;
	int len;

	(void)state;
	char *v = malloc(n + 1);
	memset(v, 'a', n);
	v[n] = '\0';
	len = snprintf(doc, n + 64, "{\"issuer\":\"%s\",\"jwks_uri\":\"https://h/k\"}", v);
	assert_int_equal(discovery_parse(doc, (size_t)len, false, &d, &why), -1);
	v[n - 1] = '\0';
	len = snprintf(doc, n + 64, "{\"issuer\":\"%s\",\"jwks_uri\":\"https://h/k\"}", v);
	assert_int_equal(discovery_parse(doc, (size_t)len, false, &d, &why), 0);
	discovery_release(&d);
	free(v);
	free(doc);
}

static void
test_issuer_match(void **state)
{
	char *vals[] = {
		"https://login.microsoftonline.com/{tenant}/v2.0",
		"https://sts.windows.net/{tenant}/",
	};
	char *t_v[] = { T1 };
	struct issuer_cfg tmpl = { .issuer = { vals, 2 },
	    .tenants = { t_v, 1 }, .templated = true };
	char *fixed_v[] = { "https://login.example/7c0ab1f2/v2.0" };
	struct issuer_cfg fixed = { .issuer = { fixed_v, 1 } };

	(void)state;
	assert_true(discovery_issuer_match(
	    "https://login.microsoftonline.com/{tenantid}/v2.0", &tmpl));
	assert_true(discovery_issuer_match(
	    "https://login.microsoftonline.com/{tenant}/v2.0", &tmpl));
	assert_true(discovery_issuer_match("https://sts.windows.net/{tenantid}/", &tmpl));
	assert_false(discovery_issuer_match("https://sts.windows.net/{tenantid}", &tmpl));
	/* A placeholder never equals literal text that is not a GUID. */
	assert_false(discovery_issuer_match(
	    "https://login.microsoftonline.com/7c0ab1f2/v2.0", &tmpl));
	assert_false(discovery_issuer_match("https://login.example/{tenantid}/v2.0",
	    &fixed));
	assert_true(discovery_issuer_match("https://login.example/7c0ab1f2/v2.0",
	    &fixed));
	assert_false(discovery_issuer_match("https://login.example/7c0ab1f2/v2.0/",
	    &fixed));
	assert_false(discovery_issuer_match("https://login.example/7c0ab1f2/v2.",
	    &fixed));
	assert_false(discovery_issuer_match("HTTPS://login.example/7c0ab1f2/v2.0",
	    &fixed));
	assert_false(discovery_issuer_match("https://evil.example/{tenantid}/v2.0",
	    &tmpl));
	assert_false(discovery_issuer_match("", &fixed));
	assert_false(discovery_issuer_match("https://login.microsoftonline.com/{tenantid",
	    &tmpl));
}

/*
 * A tenant-specific discovery document (issuer with the tenant's GUID)
 * serves a template config when the tenant is allowed, and a multi-tenant
 * document (common, organizations) serves a single-tenant config.
 */
static void
test_issuer_match_tenant_specific(void **state)
{
	char *vals[] = { "https://login.microsoftonline.com/{tenant}/v2.0",
	    "https://sts.windows.net/{tenantid}/" };
	char *t_v[] = { T1 };
	struct issuer_cfg tmpl = { .issuer = { vals, 2 },
	    .tenants = { t_v, 1 }, .templated = true };
	struct issuer_cfg any = { .issuer = { vals, 2 }, .templated = true,
	    .any_tenant = true };
	char *one_v[] = { "https://login.microsoftonline.com/" T1 "/v2.0" };
	struct issuer_cfg one = { .issuer = { one_v, 1 } };
	char *v1one_v[] = { "https://sts.windows.net/" T1 "/" };
	struct issuer_cfg v1one = { .issuer = { v1one_v, 1 } };

	(void)state;
	assert_true(discovery_issuer_match(
	    "https://login.microsoftonline.com/" T1 "/v2.0", &tmpl));
	assert_true(discovery_issuer_match("https://sts.windows.net/" T1 "/",
	    &tmpl));
	/* Another tenant's document: not for this config. */
	assert_false(discovery_issuer_match(
	    "https://login.microsoftonline.com/" T2 "/v2.0", &tmpl));
	assert_true(discovery_issuer_match(
	    "https://login.microsoftonline.com/" T2 "/v2.0", &any));
	/* Multi-tenant documents for a single-tenant config. */
	assert_true(discovery_issuer_match(
	    "https://login.microsoftonline.com/{tenantid}/v2.0", &one));
	assert_true(discovery_issuer_match("https://sts.windows.net/{tenantid}/",
	    &v1one));
	assert_false(discovery_issuer_match("https://sts.windows.net/{tenantid}/",
	    &one));
	assert_false(discovery_issuer_match(
	    "https://login.microsoftonline.com/{tenantid}/v2", &one));
	assert_false(discovery_issuer_match(
	    "https://login.microsoftonline.com/" T2 "/v2.0", &one));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_long_values),
		cmocka_unit_test(test_issuer_match),
		cmocka_unit_test(test_issuer_match_tenant_specific),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
