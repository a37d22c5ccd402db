/*
 * test_url.c: query parameters (Entra appid), percent-encoding, redaction,
 * and the check of fetchable URLs, which reads them with libcurl's parser:
 * the tricky inputs say what libcurl decides.
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
	/* Values are encoded by libcurl (CURLU_URLENCODE: lower-case hex, a
	 * space as '+'). */
	add("https://a/k", "appid", "a b&c=d/é", "https://a/k?appid=a+b%26c%3dd%2f%c3%a9");
	add("https://a/k", "appid", "a+b%", "https://a/k?appid=a%2bb%25");
	/* The URL as libcurl writes it back. */
	add("https://a", "appid", "42", "https://a/?appid=42");
	add("https://a/x/../k?", "appid", "42", "https://a/k?appid=42");
	add("https://ex%61mple.com/k", "appid", "42",
	    "https://example.com/k?appid=42");
	add("https://[::1]:8443/k", "appid", "42", "https://[::1]:8443/k?appid=42");
	/* Not a URL libcurl parses. */
	add("/keys", "appid", "42", NULL);
	add("noscheme?x=1", "appid", "42", NULL);
	add("https://h:99999/k", "appid", "42", NULL);
}

static void
test_too_long(void **state)
{
	char *u = malloc(URL_MAX + 2);

	(void)state;
	memset(u, 'a', URL_MAX + 1);
	memcpy(u, "https://h/", 10);
	u[URL_MAX + 1] = '\0';
	add(u, "appid", "1", NULL);
	u[URL_MAX - 3] = '\0';
	add(u, "appid", "1", NULL);         /* the result would be too long */
	/* "?appid=1" is 8 bytes: the result is exactly URL_MAX long. */
	u[URL_MAX - 8] = '\0';
	{
		char *got = url_add_param(u, "appid", "1");

		assert_non_null(got);
		assert_int_equal(strlen(got), URL_MAX);
		free(got);
	}
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
	assert_true(url_has_param("https://a?appid=1", "appid"));
	/* Not a URL libcurl parses: no query to look at. */
	assert_false(url_has_param("noscheme?appid=1", "appid"));
	assert_false(url_has_param("?appid=1", "appid"));
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
	/* The written form: libcurl would read these, but as other URLs. */
	assert_string_equal(url_check("HTTPS://h/k", false),
	    "must be an https:// URL");
	assert_string_equal(url_check("https:/h/k", false),
	    "must be an https:// URL");
	assert_string_equal(url_check("https:\\\\h/k", false),
	    "must be an https:// URL");
	assert_string_equal(url_check("https://\\h/k", false),
	    "URL has no host");
}

/* What libcurl decides, for the inputs where parsers disagree. */
static void
test_check_tricky(void **state)
{
	static const char creds[] = "URL must not contain credentials";
	static const char bad_host[] = "URL has an invalid host";
	static const char bad_port[] = "URL has an invalid port";
	static const char zone[] = "URL must not have an IPv6 zone id";

	(void)state;
	/* Backslashes: libcurl reads "h\" as a user name before '@'; in the
	 * host it is refused; in the path it is a path byte. */
	assert_string_equal(url_check("https://h\\@evil/k", false), creds);
	assert_string_equal(url_check("https://h\\/k", false), bad_host);
	assert_string_equal(url_check("https://h.\\/k", false), bad_host);
	assert_null(url_check("https://h/a\\b", false));
	/* Userinfo, even empty, or with options. */
	assert_string_equal(url_check("https://@h/", false), creds);
	assert_string_equal(url_check("https://:@h/", false), creds);
	assert_string_equal(url_check("https://u;o@h/", false), creds);
	assert_string_equal(url_check("https://h%2f@x/", false), creds);
	assert_string_equal(url_check("http://u:p@h/", true), creds);
	assert_string_equal(url_check("https://u@/", false), "URL has no host");
	assert_string_equal(url_check("https://:8443/", false),
	    "URL has no host");
	/* Ports: libcurl takes 1..65535, leading zeros and an empty port
	 * (none); port 0 is refused here. */
	assert_null(url_check("https://h:65535/", false));
	assert_null(url_check("https://h:08443/", false));
	assert_null(url_check("https://h:/k", false));
	assert_string_equal(url_check("https://h:0/", false), bad_port);
	assert_string_equal(url_check("https://h:65536/", false), bad_port);
	assert_string_equal(url_check("https://h:-1/", false), bad_port);
	assert_string_equal(url_check("https://h:+1/", false), bad_port);
	assert_string_equal(url_check("https://h:8443:1/", false), bad_port);
	assert_string_equal(url_check("https://h:abc/", false), bad_port);
	/* IPv6: literals yes, zone ids (libcurl takes "%25eth0" and even
	 * "%eth0") no; an IPv4 literal in brackets is not an IPv6 one. */
	assert_null(url_check("https://[::1]:8443/k", false));
	assert_string_equal(url_check("https://[fe80::1%25eth0]/k", false),
	    zone);
	assert_string_equal(url_check("https://[fe80::1%eth0]/k", false),
	    zone);
	assert_string_equal(url_check("https://[::1%25eth0]:8443/", false),
	    zone);
	assert_string_equal(url_check("https://[1.2.3.4]/", false), bad_host);
	/* Percent-encoded host bytes: letters are decoded (libcurl connects
	 * to example.com); libcurl refuses a '/', '@', ':' or NUL. */
	assert_null(url_check("https://ex%61mple.com/", false));
	assert_string_equal(url_check("https://ex%2fample/", false), bad_host);
	assert_string_equal(url_check("https://h%40evil/", false), bad_host);
	assert_string_equal(url_check("https://h%3a99/", false), bad_host);
	assert_string_equal(url_check("https://h%00x/", false), bad_host);
	/* Other bytes are decoded into the host libcurl connects to: only
	 * visible ASCII may come out (fuzz_url found %91 going through). */
	assert_string_equal(url_check("https://ex%91mple.com/", false),
	    bad_host);
	assert_string_equal(url_check("https://ex%c3%a9mple.com/", false),
	    bad_host);
	assert_string_equal(url_check("https://%e2%80%8bexample.com/", false),
	    bad_host);
	assert_string_equal(url_check("https://ex%7fample/", false), bad_host);
	/* Fragments: never sent, never the host. */
	assert_null(url_check("https://h/k#frag", false));
	assert_null(url_check("https://h#@evil", false));
	assert_null(url_check("https://h?a@b", false));
	/* What url_add_param() gives back still passes. */
	{
		char *u = url_add_param("https://ex%61mple.com:08443/a/../k#f",
		    "appid", "x y");

		assert_non_null(u);
		assert_string_equal(u, "https://example.com:8443/k?appid=x+y#f");
		assert_null(url_check(u, false));
		free(u);
	}
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
		cmocka_unit_test(test_check_tricky),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
