/*
 * test_url.c: query parameters (Entra appid), percent-encoding, redaction.
 */
#include <stdlib.h>
#include <string.h>

#include "testsupport.h"

#include "url.h"

static void
add(const char *url, const char *name, const char *value, const char *want)
{
	char *got = url_add_param(url, name, value);

	if (want == NULL) {
		if (got != NULL)
			fail_msg("\"%s\": expected failure, got \"%s\"", url, got);
		return;
	}
	if (got == NULL)
		fail_msg("\"%s\": failed", url);
	if (strcmp(got, want) != 0)
		fail_msg("\"%s\": got \"%s\", want \"%s\"", url, got, want);
	free(got);
}

static void
test_add_param(void **state)
{
	(void)state;
	add("https://login.example/t/v2.0/.well-known/openid-configuration",
	    "appid", "6731de76-14a6-49ae-97bc-6eba6914391e",
	    "https://login.example/t/v2.0/.well-known/openid-configuration"
	    "?appid=6731de76-14a6-49ae-97bc-6eba6914391e");
	add("https://a/keys?x=1", "appid", "42", "https://a/keys?x=1&appid=42");
	add("https://a/keys?", "appid", "42", "https://a/keys?appid=42");
	add("https://a/keys?x=1&", "appid", "42", "https://a/keys?x=1&appid=42");
	add("https://a/keys#frag", "appid", "42", "https://a/keys?appid=42#frag");
	add("https://a/keys?x#f?g", "appid", "42", "https://a/keys?x&appid=42#f?g");
	/* A '?' inside the query is data, not the query start (fuzz). */
	add("https://a/p?sig=x?#f", "appid", "42", "https://a/p?sig=x?&appid=42#f");
	add("https://a/p?a=b?", "appid", "42", "https://a/p?a=b?&appid=42");
	/* Already present (any value): unchanged. */
	add("https://a/keys?appid=42", "appid", "43", "https://a/keys?appid=42");
	add("https://a/keys?x=1&appid", "appid", "43", "https://a/keys?x=1&appid");
	/* Not the same parameter. */
	add("https://a/keys?myappid=1", "appid", "2",
	    "https://a/keys?myappid=1&appid=2");
	add("https://a/keys#appid=1", "appid", "2", "https://a/keys?appid=2#appid=1");
	/* Values are encoded. */
	add("https://a/k", "appid", "a b&c=d/é", "https://a/k?appid=a%20b%26c%3Dd%2F%C3%A9");
}

static void
test_too_long(void **state)
{
	char *u = malloc(URL_MAX + 2);

	(void)state;
	memset(u, 'a', URL_MAX + 1);
	memcpy(u, "https://", 8);
	u[URL_MAX + 1] = '\0';
	add(u, "appid", "1", NULL);
	u[URL_MAX - 3] = '\0';
	add(u, "appid", "1", NULL);         /* the result would be too long */
	free(u);
}

static void
test_has_param(void **state)
{
	(void)state;
	assert_true(url_has_param("https://a/?appid=1", "appid"));
	assert_true(url_has_param("https://a/?x=1&appid", "appid"));
	assert_false(url_has_param("https://a/?xappid=1", "appid"));
	assert_false(url_has_param("https://a/?appidx=1", "appid"));
	assert_false(url_has_param("https://a/#?appid=1", "appid"));
	assert_false(url_has_param("https://a/appid", "appid"));
	assert_false(url_has_param("https://a/?APPID=1", "appid"));
}

static void
test_encode(void **state)
{
	char out[16];

	(void)state;
	assert_int_equal(url_encode("aZ09-._~", 8, out, sizeof(out)), 8);
	assert_string_equal(out, "aZ09-._~");
	assert_int_equal(url_encode("a+b /", 5, out, sizeof(out)), 11);
	assert_string_equal(out, "a%2Bb%20%2F");
	assert_int_equal(url_encode("\0\xff", 2, out, sizeof(out)), 6);
	assert_string_equal(out, "%00%FF");
	assert_int_equal(url_encode("", 0, out, sizeof(out)), 0);
	assert_string_equal(out, "");
	/* Exact fit and one byte short. */
	assert_int_equal(url_encode("abc", 3, out, 4), 3);
	assert_int_equal(url_encode("abc", 3, out, 3), -1);
	assert_string_equal(out, "");
	assert_int_equal(url_encode(" ", 1, out, 4), 3);
	assert_int_equal(url_encode(" ", 1, out, 3), -1);
	assert_int_equal(url_encode("a", 1, out, 0), -1);
}

static void
redact(const char *url, size_t cap, const char *want)
{
	char out[256];

	assert_true(cap <= sizeof(out));
	url_redact(url, out, cap);
	if (strcmp(out, want) != 0)
		fail_msg("\"%s\": got \"%s\", want \"%s\"", url, out, want);
}

static void
test_redact(void **state)
{
	(void)state;
	redact("https://a.example/keys", 256, "https://a.example/keys");
	redact("https://a/p?sig=SECRET&appid=42&api-version=2018-02-01", 256,
	    "https://a/p?sig=***&appid=42&api-version=2018-02-01");
	redact("https://user:pw@a/p?x", 256, "https://***@a/p?x");
	redact("https://a/p@x", 256, "https://a/p@x");
	redact("https://a/p#token=SECRET", 256, "https://a/p");
	redact("https://a/\x01p", 256, "https://a/?p");
	redact("https://a/p?resource=api%3A%2F%2Fx&client_id=c&k=v", 256,
	    "https://a/p?resource=api%3A%2F%2Fx&client_id=c&k=***");
	redact("https://a.example/keys", 12, "https://...");
	redact("https://a.example/keys", 23, "https://a.example/keys");
	redact("https://a.example/keys", 22, "https://a.example/...");
	redact("noscheme?a=b", 256, "noscheme?a=***");
}

static void
test_check(void **state)
{
	(void)state;
	assert_null(url_check("https://h/k?x=1", false));
	assert_null(url_check("https://h:8443", false));
	assert_null(url_check("http://h/k", true));
	assert_string_equal(url_check("http://h/k", false),
	    "must be an https:// URL");
	assert_string_equal(url_check("ftp://h/k", true),
	    "must be an http:// or https:// URL");
	assert_string_equal(url_check("https:///k", false), "URL has no host");
	assert_string_equal(url_check("https://?q", false), "URL has no host");
	assert_string_equal(url_check("https://u:p@h/k", false),
	    "URL must not contain credentials");
	/* An '@' after the host is a path or query byte, not credentials. */
	assert_null(url_check("https://h/a@b?c=d@e", false));
	assert_string_equal(url_check("https://h/a b", false),
	    "URL must not contain spaces, control or non-ASCII characters");
	assert_string_equal(url_check("https://h/\x7f", false),
	    "URL must not contain spaces, control or non-ASCII characters");
	assert_string_equal(url_check("https://h/\xc3\xa9", false),
	    "URL must not contain spaces, control or non-ASCII characters");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_param),
		cmocka_unit_test(test_too_long),
		cmocka_unit_test(test_has_param),
		cmocka_unit_test(test_encode),
		cmocka_unit_test(test_redact),
		cmocka_unit_test(test_check),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
