/*
 * test_util.c: the small helpers of util.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "util.h"

static void
test_printable(void **state)
{
	char out[8];

	(void)state;
	/* Quotes, backslashes, controls, DEL and non-ASCII become '?'. */
	assert_int_equal(util_printable(out, sizeof(out), "a\"b\\\x01\x7f\xc3",
	    7), 7);
	assert_string_equal(out, "a?b????");
	/* Cut to cap - 1, always NUL-terminated; NUL inside is replaced. */
	assert_int_equal(util_printable(out, sizeof(out), "0123456789", 10), 7);
	assert_string_equal(out, "0123456");
	assert_int_equal(util_printable(out, sizeof(out), "x\0y", 3), 3);
	assert_string_equal(out, "x?y");
	assert_int_equal(util_printable(out, 1, "abc", 3), 0);
	assert_string_equal(out, "");
	assert_int_equal(util_printable(out, sizeof(out), "", 0), 0);
	assert_string_equal(out, "");
}

static void
test_hexval(void **state)
{
	(void)state;
	assert_int_equal(util_hexval('0'), 0);
	assert_int_equal(util_hexval('9'), 9);
	assert_int_equal(util_hexval('a'), 10);
	assert_int_equal(util_hexval('F'), 15);
	assert_int_equal(util_hexval('g'), -1);
	assert_int_equal(util_hexval('/'), -1);
	assert_int_equal(util_hexval(0xff), -1);
}

static void
test_ascii_case(void **state)
{
	(void)state;
	assert_int_equal(util_ascii_lower('A'), 'a');
	assert_int_equal(util_ascii_lower('Z'), 'z');
	assert_int_equal(util_ascii_lower('a'), 'a');
	assert_int_equal(util_ascii_lower('@'), '@');
	assert_int_equal(util_ascii_lower('['), '[');
	assert_int_equal(util_ascii_lower((char)0xc3), (char)0xc3);
	assert_true(util_mem_caseeq("Api.Example.COM", "api.example.com", 15));
	assert_false(util_mem_caseeq("api", "apj", 3));
	/* Only ASCII letters fold: '@' is not '`', 0xc3 is not 0xe3. */
	assert_false(util_mem_caseeq("@", "`", 1));
	assert_false(util_mem_caseeq("\xc3", "\xe3", 1));
	assert_true(util_mem_caseeq("x", "y", 0));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_printable),
		cmocka_unit_test(test_hexval),
		cmocka_unit_test(test_ascii_case),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
