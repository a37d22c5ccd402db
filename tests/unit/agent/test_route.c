/*
 * test_route.c: path normalisation and first-match route selection.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testsupport.h"

#include "config.h"
#include "route.h"

/* Normalise ${in}; check idempotence and the length bound on success. */
static int
norm(const char *in, char *out, size_t cap)
{
	char again[ROUTE_PATH_MAX + 1];
	size_t len = strlen(in);
	const char *q = memchr(in, '?', len);
	int n, m;

	n = route_normalize_path(in, len, out, cap);
	if (n < 0)
		return (n);
	assert_int_equal((size_t)n, strlen(out));
	assert_true((size_t)n <= (q != NULL ? (size_t)(q - in) : len));
	m = route_normalize_path(out, (size_t)n, again, sizeof(again));
	assert_int_equal(m, n);
	assert_string_equal(again, out);
	return (n);
}

static void
expect_norm(const char *in, const char *want)
{
	char out[ROUTE_PATH_MAX + 1];

	if (norm(in, out, sizeof(out)) < 0)
		fail_msg("refused \"%s\", want \"%s\"", in, want);
	if (strcmp(out, want) != 0)
		fail_msg("\"%s\" -> \"%s\", want \"%s\"", in, out, want);
}

static void
expect_refused(const char *in, size_t len)
{
	char out[ROUTE_PATH_MAX + 1];

	if (route_normalize_path(in, len, out, sizeof(out)) != -1)
		fail_msg("accepted \"%.*s\" as \"%s\"", (int)len, in, out);
}

static void
test_normalize(void **state)
{
	static const char *const ok[][2] = {
		{ "/", "/" },
		{ "/a", "/a" },
		{ "/a/", "/a/" },
		{ "/a/./b", "/a/b" },
		{ "/a/b/../c", "/a/c" },
		{ "/public/../admin", "/admin" },
		{ "/public/%2e%2e/admin", "/admin" },
		{ "/public/%2E%2E/admin", "/admin" },
		{ "/public/.%2e/admin", "/admin" },
		{ "/public/%2e/admin", "/public/admin" },
		{ "//admin", "/admin" },
		{ "///a//b///", "/a/b/" },
		{ "/a/.", "/a/" },
		{ "/a/..", "/" },
		{ "/a/b/..", "/a/" },
		{ "/.", "/" },
		{ "/./", "/" },
		{ "/a/./", "/a/" },
		{ "/...", "/..." },
		{ "/..a/.b/a..", "/..a/.b/a.." },
		{ "/a?x=/../b", "/a" },
		{ "/a/..?x", "/" },
		{ "/%41%7e%2d%5F%2E%30", "/A~-_.0" },
		{ "/%c3%a9", "/%C3%A9" },
		{ "/%20x", "/%20x" },
		{ "/%3f%23%25", "/%3F%23%25" },
		{ "/caf\xc3\xa9", "/caf\xc3\xa9" },
		{ "/a/b/c/../../d/./e/../f", "/a/d/f" },
	};
	static const char *const bad[] = {
		"", "a/b", "*", "?x", "http://h/a",
		"/..", "/../a", "/a/../..", "/%2e%2e", "/a/%2e%2e/%2E%2E/b",
		"/a%2Fb", "/a%2fb", "/a%5cb", "/a%5Cb", "/a%00b",
		"/a\\b", "/a\\..\\b", "/a\x01", "/a b", "/a#b", "/a\x7f", "/a\tb",
		"/%zz", "/%4", "/%", "/a%g0",
		"/..;/admin", "/public/..;/admin", "/.;/x", "/x/.;a",
		/* Path parameters: servlet containers strip them per segment. */
		"/admin;jsessionid=x/users", "/admin;", "/a/b;c", "/admin%3bx/users",
		"/admin%3Bx", "/..%3b/x",
	};
	char out[16];

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		expect_norm(ok[i][0], ok[i][1]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_refused(bad[i], strlen(bad[i]));
	/* A raw NUL is refused; bytes past len are not read. */
	expect_refused("/a\0b", 4);
	assert_int_equal(route_normalize_path("/a/bXXXX", 4, out, sizeof(out)), 4);
	assert_string_equal(out, "/a/b");
	/* cap must exceed the path length. */
	assert_int_equal(route_normalize_path("/abc", 4, out, 4), -1);
	assert_int_equal(route_normalize_path("/abc", 4, out, 5), 4);
	assert_int_equal(route_normalize_path(NULL, 0, out, 5), -1);
}

static void
test_long_paths(void **state)
{
	char *in = malloc(ROUTE_PATH_MAX + 64);
	char *out = malloc(ROUTE_PATH_MAX + 1);

	(void)state;
	assert_non_null(in);
	assert_non_null(out);
	in[0] = '/';
	memset(in + 1, 'a', ROUTE_PATH_MAX + 62);
	assert_int_equal(route_normalize_path(in, ROUTE_PATH_MAX, out,
	    ROUTE_PATH_MAX + 1), ROUTE_PATH_MAX);
	expect_refused(in, ROUTE_PATH_MAX + 1);
	/* A long query does not count. */
	in[10] = '?';
	assert_int_equal(route_normalize_path(in, ROUTE_PATH_MAX + 60, out,
	    ROUTE_PATH_MAX + 1), 10);
	/* Many dot segments, all the way down. */
	for (size_t i = 0; i + 2 < ROUTE_PATH_MAX; i += 2)
		memcpy(in + i, "/.", 2);
	assert_int_equal(route_normalize_path(in, ROUTE_PATH_MAX - 2, out,
	    ROUTE_PATH_MAX + 1), 1);
	assert_string_equal(out, "/");
	free(in);
	free(out);
}

static void
test_host(void **state)
{
	(void)state;
	assert_true(route_host_match(NULL, NULL, 0));
	assert_true(route_host_match(NULL, "x", 1));
	assert_false(route_host_match("a.example.com", NULL, 0));
	assert_false(route_host_match("a.example.com", "", 0));
#define H(p, h) route_host_match((p), (h), strlen(h))
	assert_true(H("a.example.com", "a.example.com"));
	assert_true(H("a.example.com", "A.Example.COM"));
	assert_true(H("a.example.com", "a.example.com:8443"));
	assert_true(H("a.example.com", "a.example.com."));
	assert_true(H("a.example.com", "a.example.com.:443"));
	assert_true(H("a.example.com", "a.example.com:"));
	assert_false(H("a.example.com", "a.example.com.."));
	assert_false(H("a.example.com", "a.example.co"));
	assert_false(H("a.example.com", "xa.example.com"));
	assert_false(H("a.example.com", "a.example.com:abc"));
	assert_false(H("a.example.com", "a.example.com:80:80"));
	assert_false(H("a.example.com", "a.example.com:123456"));
	assert_false(H("a.example.com", ":80"));
	assert_false(H("a.example.com", "."));
	assert_true(H("*.example.com", "a.example.com"));
	assert_true(H("*.example.com", "a.b.example.com"));
	assert_true(H("*.example.com", "A.B.EXAMPLE.COM:1"));
	assert_false(H("*.example.com", "example.com"));
	assert_false(H("*.example.com", ".example.com"));
	assert_false(H("*.example.com", "aexample.com"));
	assert_false(H("*.example.com", "a.example.com.evil"));
	assert_true(H("[::1]", "[::1]"));
	assert_true(H("[::1]", "[::1]:8080"));
	assert_false(H("[::1]", "[::1]x"));
	assert_false(H("[::1]", "[::1"));
	assert_false(H("[::1]", "::1"));
	assert_true(H("[2001:db8::a]", "[2001:DB8::A]:443"));
#undef H
}

static void
test_path_match(void **state)
{
#define P(p, s) route_path_match((p), (s), strlen(s))
	(void)state;
	assert_true(P("/", "/"));
	assert_true(P("/", "/anything/at/all"));
	assert_true(P("/orders", "/orders"));
	assert_true(P("/orders", "/orders/"));
	assert_true(P("/orders", "/orders/1"));
	assert_false(P("/orders", "/ordersX"));
	assert_false(P("/orders", "/order"));
	assert_false(P("/orders", "/"));
	assert_true(P("/orders/", "/orders/"));
	assert_true(P("/orders/", "/orders/1"));
	assert_false(P("/orders/", "/orders"));
	assert_true(P("/a/b", "/a/b/c"));
	assert_false(P("/a/b", "/a/bc"));
	/* Case-insensitive: a route on /admin also catches /ADMIN. */
	assert_true(P("/admin", "/ADMIN/x"));
	assert_true(P("/Orders", "/orders"));
	assert_false(P("/ADMIN", "/ADMINX"));
#undef P
}

static const char routes_doc[] =
    "{\"listen\":[\"127.0.0.1:1\"],\"routes\":["
    "{\"name\":\"admin-post\",\"host\":\"api.example.com\",\"path_prefix\":\"/admin\",\"methods\":[\"POST\"],\"require\":\"none\"},"
    "{\"name\":\"admin\",\"host\":\"api.example.com\",\"path_prefix\":\"/admin\",\"require\":\"none\"},"
    "{\"name\":\"orders\",\"host\":\"*.example.com\",\"path_prefix\":\"/orders\",\"methods\":[\"GET\",\"HEAD\"],\"require\":\"none\"},"
    "{\"name\":\"pub\",\"path_prefix\":\"/pub/\",\"require\":\"none\"},"
    "{\"name\":\"v6\",\"host\":\"[::1]\",\"require\":\"none\"},"
    "{\"name\":\"public\",\"path_prefix\":\"/public\",\"require\":\"none\"}"
    "]}";

static int
m(const struct config *cfg, const char *method, const char *host,
    const char *path)
{
	struct route_req req = {
		method, method != NULL ? strlen(method) : 0,
		host, host != NULL ? strlen(host) : 0,
		path, path != NULL ? strlen(path) : 0,
	};

	return (route_match(cfg->routes, cfg->nroutes, &req));
}

static void
test_match(void **state)
{
	struct config_errors e = { NULL, 0 };
	struct config *cfg = NULL;

	(void)state;
	assert_int_equal(config_parse(routes_doc, strlen(routes_doc), NULL,
	    &cfg, &e), 0);
	assert_int_equal(cfg->nroutes, 6);

	/* First match wins. */
	assert_int_equal(m(cfg, "POST", "api.example.com", "/admin"), 0);
	assert_int_equal(m(cfg, "GET", "api.example.com", "/admin"), 1);
	assert_int_equal(m(cfg, "post", "api.example.com", "/admin"), 1);
	assert_int_equal(m(cfg, NULL, "api.example.com", "/admin/x"), 1);
	/* Host rules. */
	assert_int_equal(m(cfg, "GET", "API.EXAMPLE.COM:8443", "/admin"), 1);
	assert_int_equal(m(cfg, "GET", "api.example.com.", "/admin/"), 1);
	assert_int_equal(m(cfg, "GET", "other.example.com", "/admin"), ROUTE_NONE);
	assert_int_equal(m(cfg, "GET", NULL, "/admin"), ROUTE_NONE);
	assert_int_equal(m(cfg, "GET", "a.b.example.com", "/orders/1"), 2);
	assert_int_equal(m(cfg, "HEAD", "api.example.com", "/orders"), 2);
	assert_int_equal(m(cfg, "GET", "example.com", "/orders"), ROUTE_NONE);
	assert_int_equal(m(cfg, "DELETE", "a.example.com", "/orders"), ROUTE_NONE);
	assert_int_equal(m(cfg, NULL, "a.example.com", "/orders"), ROUTE_NONE);
	assert_int_equal(m(cfg, "GET", "a.example.com", "/ordersX"), ROUTE_NONE);
	assert_int_equal(m(cfg, "GET", "[::1]:8080", "/anything"), 4);
	assert_int_equal(m(cfg, "GET", "api.example.com", "/ADMIN/Users"), 1);
	/* A Host that is not a host name matches only routes without host. */
	assert_int_equal(m(cfg, "GET", "api.example.com:80x", "/admin"), ROUTE_NONE);
	assert_int_equal(m(cfg, "GET", "api.example.com:80x", "/pub/x"), 3);
	assert_int_equal(m(cfg, "GET", "[::1", "/pub/x"), 3);
	assert_int_equal(m(cfg, "GET", ":443", "/admin"), ROUTE_NONE);
	assert_int_equal(m(cfg, "GET", NULL, "/pub/x"), 3);
	assert_int_equal(m(cfg, "GET", NULL, "/pub"), ROUTE_NONE);
	assert_int_equal(m(cfg, "GET", NULL, "/public"), 5);
	assert_int_equal(m(cfg, "GET", NULL, "/public?x=1"), 5);
	assert_int_equal(m(cfg, "GET", NULL, "/publicity"), ROUTE_NONE);

	/* Normalisation attacks never reach the /public route. */
	assert_int_equal(m(cfg, "GET", "api.example.com", "/public/../admin"), 1);
	assert_int_equal(m(cfg, "GET", "api.example.com", "/public/%2e%2e/admin"), 1);
	assert_int_equal(m(cfg, "GET", "api.example.com", "/public/%2E./admin"), 1);
	assert_int_equal(m(cfg, "GET", "api.example.com", "//admin"), 1);
	assert_int_equal(m(cfg, "GET", "api.example.com", "/./admin"), 1);
	assert_int_equal(m(cfg, "GET", "api.example.com", "/%61dmin"), 1);
	assert_int_equal(m(cfg, "GET", NULL, "/public/../admin"), ROUTE_NONE);
	assert_int_equal(m(cfg, "GET", NULL, "/a/./b/../../public/x"), 5);
	assert_int_equal(m(cfg, "GET", NULL, "/public%2F..%2Fadmin"), ROUTE_REFUSED);
	assert_int_equal(m(cfg, "GET", NULL, "/public%2f..%2fadmin"), ROUTE_REFUSED);
	assert_int_equal(m(cfg, "GET", NULL, "/public%5c..%5cadmin"), ROUTE_REFUSED);
	assert_int_equal(m(cfg, "GET", NULL, "/public\\..\\admin"), ROUTE_REFUSED);
	assert_int_equal(m(cfg, "GET", NULL, "/public%00/x"), ROUTE_REFUSED);
	assert_int_equal(m(cfg, "GET", NULL, "/public/..;/admin"), ROUTE_REFUSED);
	assert_int_equal(m(cfg, "GET", NULL, "/public/../../admin"), ROUTE_REFUSED);
	assert_int_equal(m(cfg, "GET", NULL, "public"), ROUTE_REFUSED);
	assert_int_equal(m(cfg, "GET", NULL, NULL), ROUTE_REFUSED);
	assert_int_equal(m(cfg, "GET", NULL, ""), ROUTE_REFUSED);
	{
		char *longp = malloc(ROUTE_PATH_MAX + 2);

		assert_non_null(longp);
		memcpy(longp, "/public/", 8);
		memset(longp + 8, 'x', ROUTE_PATH_MAX - 7);
		longp[ROUTE_PATH_MAX + 1] = '\0';
		assert_int_equal(m(cfg, "GET", NULL, longp), ROUTE_REFUSED);
		longp[ROUTE_PATH_MAX] = '\0';
		assert_int_equal(m(cfg, "GET", NULL, longp), 5);
		free(longp);
	}
	assert_int_equal(route_match(cfg->routes, 0, &(struct route_req){
	    "GET", 3, NULL, 0, "/", 1 }), ROUTE_NONE);
	config_free(cfg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normalize),
		cmocka_unit_test(test_long_paths),
		cmocka_unit_test(test_host),
		cmocka_unit_test(test_path_match),
		cmocka_unit_test(test_match),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
