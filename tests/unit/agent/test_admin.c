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

static void
test_no_read_past_len(void **state)
{
	const char *full = "GET /readyz HTTP/1.1\r\n\r\n";
	size_t n = strlen(full);
	const char *p;
	size_t l;
	bool head;

	(void)state;
	/* Every strict prefix is incomplete, never a success or a crash
	 * (ASan checks the exact-size copies). */
	for (size_t i = 0; i < n; i++) {
		char *copy = malloc(i ? i : 1);
		memcpy(copy, full, i);
		assert_true(admin_parse_request(copy, i, &p, &l, &head) <= 0);
		free(copy);
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
