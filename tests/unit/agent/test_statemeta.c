/*
 * test_statemeta.c: state_dir file header format (round trip, bad files).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testsupport.h"

#include "statemeta.h"

#define S(x) { (x), sizeof(x) - 1 }

static void
test_round_trip(void **state)
{
	struct statemeta m = {
		.key = S("jwks entra https://login.example/keys"),
		.url = S("https://login.example/keys?appid=1"),
		.etag = S("W/\"abc\""),
		.last_modified = S("Thu, 01 Jan 2026 00:00:00 GMT"),
		.fetched = 1767225600,
		.body_len = 5,
	};
	struct statemeta p;
	char buf[1024];
	const char *why = NULL;
	ssize_t n;

	(void)state;
	n = statemeta_format(&m, buf, sizeof(buf));
	assert_true(n > 0);
	assert_string_equal(buf,
	    "spoa-iam-state 1\n"
	    "key jwks entra https://login.example/keys\n"
	    "url https://login.example/keys?appid=1\n"
	    "fetched 1767225600\n"
	    "etag W/\"abc\"\n"
	    "last-modified Thu, 01 Jan 2026 00:00:00 GMT\n"
	    "length 5\n\n");
	memcpy(buf + n, "hello", 5);
	assert_int_equal(statemeta_parse(buf, (size_t)n + 5, &p, &why), 0);
	assert_int_equal(p.key.len, m.key.len);
	assert_memory_equal(p.key.p, m.key.p, m.key.len);
	assert_memory_equal(p.url.p, m.url.p, m.url.len);
	assert_memory_equal(p.etag.p, m.etag.p, m.etag.len);
	assert_memory_equal(p.last_modified.p, m.last_modified.p,
	    m.last_modified.len);
	assert_true(p.fetched == 1767225600);
	assert_int_equal(p.body_len, 5);
	assert_memory_equal(p.body, "hello", 5);

	/* Without validators; an empty body. */
	m.etag.p = NULL;
	m.last_modified.p = NULL;
	m.body_len = 0;
	n = statemeta_format(&m, buf, sizeof(buf));
	assert_true(n > 0);
	assert_null(strstr(buf, "etag"));
	assert_int_equal(statemeta_parse(buf, (size_t)n, &p, &why), 0);
	assert_null(p.etag.p);
	assert_null(p.last_modified.p);
	assert_int_equal(p.body_len, 0);

	/* A validator that could not be sent back is left out. */
	m.etag.p = "a\nb";
	m.etag.len = 3;
	n = statemeta_format(&m, buf, sizeof(buf));
	assert_true(n > 0);
	assert_null(strstr(buf, "etag"));
}

static void
test_format_fails(void **state)
{
	struct statemeta m = {
		.key = S("k"), .url = S("u"), .fetched = 1, .body_len = 1,
	};
	char buf[256];

	(void)state;
	assert_true(statemeta_format(&m, buf, sizeof(buf)) > 0);
	assert_int_equal(statemeta_format(&m, buf, 20), -1);
	assert_int_equal(statemeta_format(&m, buf, 0), -1);
	m.fetched = -1;
	assert_int_equal(statemeta_format(&m, buf, sizeof(buf)), -1);
	m.fetched = 1;
	m.key.p = "a\nkey x";
	m.key.len = 7;
	assert_int_equal(statemeta_format(&m, buf, sizeof(buf)), -1);
	m.key.len = 0;
	assert_int_equal(statemeta_format(&m, buf, sizeof(buf)), -1);
}

static void
test_bad_files(void **state)
{
	static const char *const bad[] = {
		"",
		"spoa-iam-state 2\nkey k\nurl u\nfetched 1\nlength 0\n\n",
		"spoa-iam-state 1\nurl u\nfetched 1\nlength 0\n\n",
		"spoa-iam-state 1\nkey k\nfetched 1\nlength 0\n\n",
		"spoa-iam-state 1\nkey k\nurl u\nlength 0\n\n",
		"spoa-iam-state 1\nkey k\nurl u\nfetched 1\n\n",
		"spoa-iam-state 1\nkey k\nurl u\nfetched 1\nlength 0\n",
		"spoa-iam-state 1\nkey k\nurl u\nfetched 1\nlength 0\nx",
		"spoa-iam-state 1\nkey k\nurl u\nfetched 1\nlength 1\n\n",
		"spoa-iam-state 1\nkey k\nurl u\nfetched 1\nlength 0\n\nx",
		"spoa-iam-state 1\nkey k\nurl u\nfetched -1\nlength 0\n\n",
		"spoa-iam-state 1\nkey k\nurl u\nfetched 01\nlength 0\n\n",
		"spoa-iam-state 1\nkey k\nurl u\nfetched 99999999999999\nlength 0\n\n",
		"spoa-iam-state 1\nkey k\nurl u\nfetched 1\nlength 99999999999\n\n",
		"spoa-iam-state 1\nkey \nurl u\nfetched 1\nlength 0\n\n",
		"spoa-iam-state 1\nkey k\x01\nurl u\nfetched 1\nlength 0\n\n",
		"spoa-iam-state 1\nkey k\nurl u\nfetched 1\netag \nlength 0\n\n",
		"spoa-iam-state 1\nkey k\nurl u\nfetched 1\netag a\x80\nlength 0\n\n",
		"spoa-iam-state 1\nkey k\nurl u\nfetched 1\nlast-modified x\netag y\nlength 0\n\n",
		"spoa-iam-state 1\r\nkey k\nurl u\nfetched 1\nlength 0\n\n",
		"spoa-iam-state 1\nkey k\nurl u\nfetched 1\nlength 0\r\n\n",
		"spoa-iam-state 1\nkeyk\nurl u\nfetched 1\nlength 0\n\n",
		"spoa-iam-state 1\nkey k\nurl u\nfetched 1\nlength 0",
	};
	struct statemeta m;
	const char *why;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		if (statemeta_parse(bad[i], strlen(bad[i]), &m, &why) != -1)
			fail_msg("accepted case %zu", i);
		assert_non_null(why);
		assert_null(m.key.p);
		assert_null(m.body);
	}
	assert_int_equal(statemeta_parse(NULL, 0, &m, &why), -1);
	/* Binary bodies are fine, NUL included. */
	const char ok[] = "spoa-iam-state 1\nkey k\nurl u\nfetched 0\nlength 3\n\n\0\n\xff";
	assert_int_equal(statemeta_parse(ok, sizeof(ok) - 1, &m, &why), 0);
	assert_int_equal(m.body_len, 3);
	/* Every strict prefix of a good file is refused. */
	for (size_t i = 0; i + 1 < sizeof(ok) - 1; i++) {
		char *copy = malloc(i ? i : 1);

		memcpy(copy, ok, i);
		assert_int_equal(statemeta_parse(copy, i, &m, &why), -1);
		free(copy);
	}
}

static void
test_name(void **state)
{
	char a[STATEMETA_NAME_LEN + 1], b[STATEMETA_NAME_LEN + 1];

	(void)state;
	assert_int_equal(statemeta_name("jwks e https://a/k", a), 0);
	assert_int_equal(strlen(a), STATEMETA_NAME_LEN);
	assert_string_equal(a + 32, ".state");
	for (int i = 0; i < 32; i++)
		assert_true(strchr("0123456789abcdef", a[i]) != NULL);
	assert_int_equal(statemeta_name("jwks e https://a/k2", b), 0);
	assert_string_not_equal(a, b);
	assert_int_equal(statemeta_name("jwks e https://a/k", b), 0);
	assert_string_equal(a, b);
	/* SHA-256("") = e3b0c442 98fc1c14 9afbf4c8 996fb924 ... */
	assert_int_equal(statemeta_name("", a), 0);
	assert_string_equal(a, "e3b0c44298fc1c149afbf4c8996fb924.state");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_format_fails),
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_name),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
