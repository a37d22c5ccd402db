/*
 * test_strnum.c: bounded decimal parsing.
 */
#include <stdint.h>
#include <string.h>

#include "testsupport.h"

#include "strnum.h"

static int
parse(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	return (strnum_u64(s, strlen(s), min, max, out));
}

static void
test_valid(void **state)
{
	uint64_t v = 7;

	(void)state;
	assert_int_equal(parse("0", 0, 10, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(parse("1", 1, 65535, &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(parse("65535", 1, 65535, &v), 0);
	assert_int_equal(v, 65535);
	assert_int_equal(parse("18446744073709551615", 0, UINT64_MAX, &v), 0);
	assert_true(v == UINT64_MAX);
	/* Only len bytes are read. */
	assert_int_equal(strnum_u64("12345", 2, 0, 100, &v), 0);
	assert_int_equal(v, 12);
	assert_int_equal(strnum_u64("80x", 2, 0, 100, &v), 0);
	assert_int_equal(v, 80);
}

static void
test_invalid(void **state)
{
	static const char *const bad[] = {
		"", "-1", "+1", " 1", "1 ", "0x10", "1.0", "1e3", "08", "00",
		"65536", "18446744073709551616", "99999999999999999999",
		"123456789012345678901", "1a", "a1", "٣",
	};
	uint64_t v = 42;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(bad[i], 0, 65535, &v) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_int_equal(v, 42);
	}
	assert_int_equal(parse("0", 1, 65535, &v), -1);
	assert_int_equal(parse("9", 10, 20, &v), -1);
	assert_int_equal(parse("21", 10, 20, &v), -1);
	assert_int_equal(strnum_u64(NULL, 0, 0, 1, &v), -1);
	assert_int_equal(strnum_u64("1\0" "2", 3, 0, 1000, &v), -1);
	assert_int_equal(v, 42);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_invalid),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
