/*
 * test_admin.c: the admin request parser and the metrics renderer.
 */
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "stats.h"
#include "testsupport.h"

static int
parse(const char *req, const char **path, size_t *plen, bool *head)
{
	return (admin_parse_request(req, strlen(req), path, plen, head));
}

static void
test_get(void **state)
{
	const char *p;
	size_t l;
	bool head = true;

	(void)state;
	assert_int_equal(parse("GET /readyz HTTP/1.1\r\nHost: a\r\n\r\n", &p, &l, &head), 1);
	assert_int_equal(l, 7);
	assert_memory_equal(p, "/readyz", 7);
	assert_false(head);
	assert_int_equal(parse("GET /metrics?x=1 HTTP/1.0\r\n\r\n", &p, &l, &head), 1);
	assert_int_equal(l, 8);
	assert_int_equal(parse("HEAD /healthz HTTP/1.1\n\n", &p, &l, &head), 1);
	assert_true(head);
}

static void
test_incomplete(void **state)
{
	const char *p;
	size_t l;
	bool head;

	(void)state;
	assert_int_equal(parse("", &p, &l, &head), 0);
	assert_int_equal(parse("GET /readyz HTTP/1.1\r\n", &p, &l, &head), 0);
	assert_int_equal(parse("GET /readyz HTTP/1.1\r\nHost: a\r\n", &p, &l, &head), 0);
}

static void
test_bad(void **state)
{
	const char *p;
	size_t l;
	bool head;

	(void)state;
	assert_int_equal(parse("POST /readyz HTTP/1.1\r\n\r\n", &p, &l, &head), -2);
	assert_int_equal(parse("DELETE / HTTP/1.1\r\n\r\n", &p, &l, &head), -2);
	assert_int_equal(parse("get /readyz HTTP/1.1\r\n\r\n", &p, &l, &head), -1);
	assert_int_equal(parse("GET readyz HTTP/1.1\r\n\r\n", &p, &l, &head), -1);
	assert_int_equal(parse("GET /a\x01 HTTP/1.1\r\n\r\n", &p, &l, &head), -1);
	assert_int_equal(parse("GET /a HTTP/2.0\r\n\r\n", &p, &l, &head), -1);
	assert_int_equal(parse("GET /a\r\n\r\n", &p, &l, &head), -1);
	assert_int_equal(parse(" /a HTTP/1.1\r\n\r\n", &p, &l, &head), -1);
	assert_int_equal(parse("\r\n\r\n", &p, &l, &head), -1);
}

/*
 * admin_parse_request() on an exact-size heap copy of ${len} bytes of
 * ${req} (ASan sees overreads).  On success, the path (at most 15 bytes)
 * is copied to ${path} as a C string.
 */
static int
parse_exact(const char *req, size_t len, char path[16])
{
	char *copy = malloc(len ? len : 1);
	const char *p = NULL;
	size_t l = 0;
	bool head;
	int r;

	assert_non_null(copy);
	memcpy(copy, req, len);
	r = admin_parse_request(copy, len, &p, &l, &head);
	path[0] = '\0';
	if (r == 1) {
		assert_true(l < 16 && p >= copy && p + l <= copy + len);
		memcpy(path, p, l);
		path[l] = '\0';
	}
	free(copy);
	return (r);
}

static void
test_no_read_past_len(void **state)
{
	/* Complete heads, some with a request line cut short, and what the
	 * parser must say of each. */
	static const struct {
		const char *head;
		int want;
		const char *path;
	} cases[] = {
		{ "GET /readyz HTTP/1.1\r\n\r\n", 1, "/readyz" },
		{ "GET\n\n", -1, "" },
		{ "GET /\n\n", -1, "" },
		{ "GET / HTTP/1\n\n", -1, "" },
		{ "GET / HTTP/1.\n\n", -1, "" },
		{ "GET / HTTP/1.1\r\n\r\n", 1, "/" },
		{ "HEAD /m?q HTTP/1.0\n\n", 1, "/m" },
	};
	char path[16];

	(void)state;
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		size_t n = strlen(cases[c].head);
		int r;

		/* No strict prefix holds the blank line: each one is
		 * incomplete (0), never a result, an error or a crash. */
		for (size_t i = 0; i < n; i++) {
			r = parse_exact(cases[c].head, i, path);
			if (r != 0)
				fail_msg("case %zu, prefix %zu: %d, want 0", c, i, r);
		}
		r = parse_exact(cases[c].head, n, path);
		if (r != cases[c].want)
			fail_msg("case %zu: %d, want %d", c, r, cases[c].want);
		assert_string_equal(path, cases[c].path);
	}
}

static void
test_metrics(void **state)
{
	struct agent_stats s;
	struct abuf b = { 0 };

	(void)state;
	memset(&s, 0, sizeof(s));
	STAT_ADD(&s, notify_total, 42);
	STAT_ADD(&s, decisions[REASON_TOKEN_EXPIRED], 7);
	admin_render_metrics(&s, NULL, &b);
	assert_false(b.oom);
	assert_non_null(strstr(b.p, "\nspoa_iam_notify_total 42\n"));
	assert_non_null(strstr(b.p,
	    "spoa_iam_decisions_total{reason=\"token_expired\",status=\"401\"} 7\n"));
	assert_non_null(strstr(b.p, "# TYPE spoa_iam_conns_active gauge\n"));
	free(b.p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get),
		cmocka_unit_test(test_incomplete),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_no_read_past_len),
		cmocka_unit_test(test_metrics),
	};
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
