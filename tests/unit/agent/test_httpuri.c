/*
 * test_httpuri.c: does an absolute URI name the request (httpuri.c)?
 * Normalisation (RFC 3986 §6.2.2, §6.2.3) that must match, and bad or
 * foreign URIs that must not, with the split's results.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "testsupport.h"

#include "httpuri.h"
#include "util.h"

static bool
names(const char *uri, const char *scheme, const char *host, const char *path)
{
	struct httpuri_req r = {
		scheme, scheme ? strlen(scheme) : 0, host, host ? strlen(host) : 0,
		path, path ? strlen(path) : 0,
	};

	return (httpuri_names(uri, strlen(uri), &r));
}

static void
test_match(void **state)
{
	(void)state;
	assert_true(names("https://api.example.com/a/b", "https",
	    "api.example.com", "/a/b"));
	assert_true(names("HTTPS://API.Example.COM:443/a/b", "https",
	    "api.example.com", "/a/b?x=1"));
	assert_true(names("https://api.example.com./a", NULL,
	    "api.example.com:443", "/a"));
	assert_true(names("http://h:80", "http", "h", "/"));
	assert_true(names("http://h:8080/", "HTTP", "H:8080", "/"));
	assert_true(names("https://[::1]:8443/x", "https", "[::1]:8443", "/x"));
	assert_true(names("https://h/a/%62", "https", "h", "/a/b"));
}

static void
test_no_match(void **state)
{
	static const char *const bad[] = {
		"", "https", "https:", "https:/h/a", "https//h/a", "ftp://h/a",
		"https://", "https:///a", "https://h:/a", "https://h:0/a",
		"https://h:65536/a", "https://h:99999999999999999999/a",
		"https://h:44x/a", "https://u@h/a", "https://u:p@h/a",
		"https://h/a?x=1", "https://h/a#f", "https://h/a?", "https://[::1/a",
		"https://[::1]x/a", "https://h h/a", "https://h\x01/a",
		"https://h\x7f/a", "https://h:443/b", "https://other/a",
		"http://h/a", "https://h:8443/a", "https://h/a/../../x",
		"https://h/A",
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		if (names(bad[i], "https", "h", "/a"))
			fail_msg("\"%s\" named the request", bad[i]);
	/* The request's own parts: no Host, a bad Host, no path, another
	 * scheme than http(s). */
	assert_false(names("https://h/a", "https", NULL, "/a"));
	assert_false(names("https://h/a", "https", "h:0", "/a"));
	assert_false(names("https://h/a", "https", "u@h", "/a"));
	assert_false(names("https://h/a", "https", "h", NULL));
	assert_false(names("https://h/a", "wss", "h", "/a"));
	assert_false(names("https://h/a", "https", "h", "a"));
	{
		char host[HTTPURI_HOST_MAX + 16], uri[HTTPURI_HOST_MAX + 32];

		memset(host, 'a', sizeof(host) - 1);
		host[sizeof(host) - 1] = '\0';
		snprintf(uri, sizeof(uri), "https://%s/a", host);
		assert_false(names(uri, "https", host, "/a"));
	}
}

static void
test_split(void **state)
{
	const char *u = "https://h.example:8443/p/q?x#f", *a, *p;
	size_t al, pl;

	(void)state;
	assert_int_equal(httpuri_split(u, strlen(u), &a, &al, &p, &pl), 443);
	assert_int_equal(al, strlen("h.example:8443"));
	assert_memory_equal(a, "h.example:8443", al);
	assert_int_equal(pl, strlen("/p/q?x#f"));
	u = "http://h";
	assert_int_equal(httpuri_split(u, strlen(u), &a, &al, &p, &pl), 80);
	assert_int_equal(pl, 0);
	/* Only as many bytes as given: "https://h" inside a longer text. */
	u = "https://h/abc";
	assert_int_equal(httpuri_split(u, 9, &a, &al, &p, &pl), 443);
	assert_int_equal(al, 1);
	assert_int_equal(pl, 0);
	assert_int_equal(httpuri_split("urn:x", 5, &a, &al, &p, &pl), 0);
	assert_int_equal(httpuri_split("https://@h", 10, &a, &al, &p, &pl), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_no_match),
		cmocka_unit_test(test_split),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
