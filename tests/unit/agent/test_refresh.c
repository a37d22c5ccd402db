/*
 * test_refresh.c: Cache-Control parsing, refresh intervals with jitter,
 * backoff.
 */
#include <stdint.h>
#include <string.h>

#include "testsupport.h"

#include "refresh.h"

static int
cc(const char *s, struct refresh_cc *out)
{
	return (refresh_parse_cc(s, strlen(s), out));
}

static void
test_max_age(void **state)
{
	struct refresh_cc c;

	(void)state;
	assert_int_equal(cc("max-age=3600", &c), 0);
	assert_true(c.has_max_age);
	assert_false(c.stale);
	assert_int_equal(c.max_age, 3600);
	assert_int_equal(cc("public, max-age=86400, must-revalidate", &c), 0);
	assert_true(c.has_max_age);
	assert_int_equal(c.max_age, 86400);
	assert_int_equal(cc("MAX-AGE=5", &c), 0);
	assert_int_equal(c.max_age, 5);
	assert_int_equal(cc("max-age=\"60\"", &c), 0);
	assert_true(c.has_max_age);
	assert_int_equal(c.max_age, 60);
	assert_int_equal(cc("  ,max-age=7 ,, private ,", &c), 0);
	assert_int_equal(c.max_age, 7);
	/* Overflow saturates (RFC 9111 §1.2.2). */
	assert_int_equal(cc("max-age=99999999999999999999999", &c), 0);
	assert_true(c.has_max_age);
	assert_true(c.max_age == REFRESH_DELTA_MAX);
	/* s-maxage is for shared caches: ignored. */
	assert_int_equal(cc("s-maxage=10", &c), 0);
	assert_false(c.has_max_age);
	assert_false(c.stale);
	/* Only ${len} bytes are read. */
	assert_int_equal(refresh_parse_cc("max-age=12345", 10, &c), 0);
	assert_int_equal(c.max_age, 12);
	assert_int_equal(refresh_parse_cc(NULL, 0, &c), 0);
	assert_false(c.has_max_age);
}

static void
test_stale(void **state)
{
	static const char *const stale[] = {
		"no-cache", "no-store", "max-age=1, no-cache", "NO-STORE",
		"max-age=abc", "max-age=-1", "max-age", "max-age=1.5",
		"max-age=1, max-age=2", "max-age=\"1\\0\"", "no-cache=\"set-cookie\"",
		"max-age=\"\"",
	};
	struct refresh_cc c;

	(void)state;
	for (size_t i = 0; i < sizeof(stale) / sizeof(stale[0]); i++) {
		if (cc(stale[i], &c) != 0)
			fail_msg("refused \"%s\"", stale[i]);
		if (!c.stale || c.has_max_age)
			fail_msg("\"%s\" not stale", stale[i]);
	}
	assert_int_equal(cc("max-age=0", &c), 0);
	assert_true(c.has_max_age);
	assert_int_equal(c.max_age, 0);
}

static void
test_bad_syntax(void **state)
{
	static const char *const bad[] = {
		"=5", "max-age=", "max-age =5", "max-age= 5", "max age=5",
		"max-age=\"5", "max-age=5 x", "max-age=5;x", "\x01", "a\"b",
		"max-age=\"a\x01\"", "max-age=\"\\", "ma\x7fx",
	};
	struct refresh_cc c;
	char big[REFRESH_CC_MAX + 2];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&c, 0xa5, sizeof(c));
		if (cc(bad[i], &c) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_false(c.has_max_age);
		assert_false(c.stale);
	}
	memset(big, ' ', sizeof(big));
	memcpy(big, "max-age=5", 9);
	assert_int_equal(refresh_parse_cc(big, sizeof(big), &c), -1);
}

static void
test_interval(void **state)
{
	struct refresh_cc c = { .has_max_age = true, .max_age = 600 };
	struct refresh_cc stale = { .stale = true };
	struct refresh_cc none = { 0 };

	(void)state;
	/* rnd % 1001 == 0: no jitter. */
	assert_int_equal(refresh_interval(&c, 300, 86400, 0), 600);
	assert_int_equal(refresh_interval(&c, 300, 86400, 1001), 600);
	/* Maximal jitter: 10 % earlier. */
	assert_int_equal(refresh_interval(&c, 300, 86400, 1000), 540);
	/* Clamped. */
	c.max_age = 10;
	assert_int_equal(refresh_interval(&c, 300, 86400, 0), 300);
	assert_int_equal(refresh_interval(&c, 300, 86400, 1000), 300);
	c.max_age = REFRESH_DELTA_MAX;
	assert_int_equal(refresh_interval(&c, 300, 86400, 0), 86400);
	assert_int_equal(refresh_interval(&c, 300, 86400, 1000), 77760);
	/* Stale: the floor.  No header or no max-age: the default. */
	assert_int_equal(refresh_interval(&stale, 300, 86400, 12345), 300);
	assert_int_equal(refresh_interval(NULL, 300, 86400, 0), REFRESH_DEFAULT_S);
	assert_int_equal(refresh_interval(&none, 300, 86400, 0), REFRESH_DEFAULT_S);
	assert_int_equal(refresh_interval(NULL, 1, 10, 0), 10);
	assert_int_equal(refresh_interval(NULL, 7200, 86400, 0), 7200);
	/* min > max: max wins. */
	assert_int_equal(refresh_interval(NULL, 500, 100, 0), 100);
	/* Every random value stays within bounds. */
	for (uint32_t r = 0; r < 5000; r += 7) {
		uint32_t v;

		c.max_age = 1000;
		v = refresh_interval(&c, 900, 2000, r * 2654435761u);
		assert_true(v >= 900 && v <= 1000);
	}
}

static void
test_backoff(void **state)
{
	(void)state;
	/* [d/2, d] with d = min(cap, 2^(n-1)). */
	assert_true(refresh_backoff(1, 300, 0) == 0.5);
	assert_true(refresh_backoff(0, 300, 0) == 0.5);
	assert_true(refresh_backoff(2, 300, 0) == 1.0);
	assert_true(refresh_backoff(3, 300, 0) == 2.0);
	assert_true(refresh_backoff(10, 300, 0) == 150.0);
	assert_true(refresh_backoff(10, 300, UINT32_MAX) < 300.0);
	assert_true(refresh_backoff(10, 300, UINT32_MAX) > 299.9);
	assert_true(refresh_backoff(100000, 300, 0) == 150.0);
	assert_true(refresh_backoff(UINT32_MAX, 7, UINT32_MAX) <= 7.0);
	assert_true(refresh_backoff(5, 0, 0) == 0.5);
	for (unsigned n = 1; n < 70; n++) {
		double d = refresh_backoff(n, 86400, 0x80000000u);

		assert_true(d > 0 && d <= 86400.0);
		assert_true(refresh_backoff(n + 1, 86400, 0x80000000u) >= d);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_max_age),
		cmocka_unit_test(test_stale),
		cmocka_unit_test(test_bad_syntax),
		cmocka_unit_test(test_interval),
		cmocka_unit_test(test_backoff),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
