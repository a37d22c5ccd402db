/*
 * test_cidr.c: CIDR list parsing and matching.
 *
 * Decisions pinned here: a bare address is /32 or /128; host bits set are
 * refused; the prefix is canonical decimal ("/08" refused like any leading
 * zero, "/" with nothing after refused); no spaces; the address is what
 * inet_pton accepts (so "1.2.3", "01.2.3.4" and zone ids are refused); an
 * IPv4-mapped address matches only through the IPv4 entries.
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "testsupport.h"

#include "cidr.h"

static struct cidr_list *
list_of(const char *const *v, size_t n)
{
	struct cidr_list *l = cidr_list_new();
	const char *why = "unset";

	assert_non_null(l);
	for (size_t i = 0; i < n; i++) {
		if (cidr_list_add(l, v[i], strlen(v[i]), &why) != 0)
			fail_msg("refused \"%s\": %s", v[i], why);
		assert_null(why);
	}
	return (l);
}

static bool
match(const struct cidr_list *l, const char *addr)
{
	uint8_t a[16];

	if (strchr(addr, ':') != NULL) {
		assert_int_equal(inet_pton(AF_INET6, addr, a), 1);
		return (cidr_list_match_v6(l, a));
	}
	assert_int_equal(inet_pton(AF_INET, addr, a), 1);
	return (cidr_list_match_v4(l, a));
}

static void
test_v4(void **state)
{
	static const char *const v[] = {
		"10.0.0.0/8", "192.168.1.7", "172.16.0.0/12", "100.64.0.0/10",
	};
	struct cidr_list *l = list_of(v, 4);

	(void)state;
	assert_int_equal(cidr_list_count(l), 4);
	assert_true(match(l, "10.0.0.0"));
	assert_true(match(l, "10.255.255.255"));
	assert_false(match(l, "11.0.0.0"));
	assert_false(match(l, "9.255.255.255"));
	assert_true(match(l, "192.168.1.7"));
	assert_false(match(l, "192.168.1.6"));
	assert_false(match(l, "192.168.1.8"));
	assert_true(match(l, "172.31.255.255"));
	assert_false(match(l, "172.32.0.0"));
	assert_true(match(l, "100.127.0.1"));
	assert_false(match(l, "100.128.0.1"));
	/* IPv4-mapped IPv6 addresses match IPv4 entries. */
	assert_true(match(l, "::ffff:10.1.2.3"));
	assert_true(match(l, "::ffff:192.168.1.7"));
	assert_false(match(l, "::ffff:11.1.2.3"));
	/* Not the IPv4-compatible or NAT64 forms. */
	assert_false(match(l, "::10.1.2.3"));
	assert_false(match(l, "64:ff9b::10.1.2.3"));
	cidr_list_free(l);
}

static void
test_v6(void **state)
{
	static const char *const v[] = {
		"2001:db8::/32", "::1", "fd00::/8", "2001:db8:1:2:3:4:5:0/125",
	};
	struct cidr_list *l = list_of(v, 4);

	(void)state;
	assert_true(match(l, "2001:db8::1"));
	assert_true(match(l, "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"));
	assert_false(match(l, "2001:db9::"));
	assert_true(match(l, "::1"));
	assert_false(match(l, "::2"));
	assert_true(match(l, "fdff::1"));
	assert_false(match(l, "fe00::1"));
	/* No IPv4 entry: IPv4 addresses never match IPv6 entries. */
	assert_false(match(l, "127.0.0.1"));
	assert_false(match(l, "::ffff:127.0.0.1"));
	cidr_list_free(l);
}

static void
test_zero_prefix_and_mapped_entries(void **state)
{
	static const char *const any6[] = { "::/0" };
	static const char *const any4[] = { "0.0.0.0/0" };
	static const char *const mapped[] = { "::ffff:10.0.0.0/104" };
	struct cidr_list *l;

	(void)state;
	l = list_of(any6, 1);
	assert_true(match(l, "2001:db8::1"));
	assert_false(match(l, "1.2.3.4"));
	/* A mapped address is an IPv4 client: only IPv4 entries apply. */
	assert_false(match(l, "::ffff:1.2.3.4"));
	cidr_list_free(l);

	l = list_of(any4, 1);
	assert_true(match(l, "1.2.3.4"));
	assert_true(match(l, "::ffff:1.2.3.4"));
	assert_false(match(l, "2001:db8::1"));
	cidr_list_free(l);

	/* An entry written in the mapped form is the IPv4 network. */
	l = list_of(mapped, 1);
	assert_true(match(l, "10.9.8.7"));
	assert_true(match(l, "::ffff:10.9.8.7"));
	assert_false(match(l, "11.0.0.0"));
	cidr_list_free(l);
}

static void
test_bad(void **state)
{
	static const struct {
		const char *s;
		const char *why;
	} bad[] = {
		{ "10.0.0.1/8", "host bits set" },
		{ "192.168.1.1/31", "host bits set" },
		{ "2001:db8::1/32", "host bits set" },
		{ "::1/0", "host bits set" },
		{ "1.2.3.4/33", "prefix length out of range" },
		{ "::/129", "prefix length out of range" },
		{ "1.2.3.4/999", "prefix length out of range" },
		{ "", "not a CIDR" },
		{ "1.2.3", "not a CIDR" },
		{ " 1.2.3.4", "not a CIDR" },
		{ "1.2.3.4 ", "not a CIDR" },
		{ "1.2.3.4/", "not a CIDR" },
		{ "1.2.3.0/08", "not a CIDR" },
		{ "1.2.3.0/+8", "not a CIDR" },
		{ "1.2.3.0/-8", "not a CIDR" },
		{ "1.2.3.0/8/8", "not a CIDR" },
		{ "/8", "not a CIDR" },
		{ "01.2.3.4", "not a CIDR" },
		{ "1.2.3.256", "not a CIDR" },
		{ "0x01020304", "not a CIDR" },
		{ "fe80::1%eth0", "not a CIDR" },
		{ "[::1]", "not a CIDR" },
		{ ":::1", "not a CIDR" },
		{ "banana", "not a CIDR" },
		{ "1.2.3.4/24 ", "not a CIDR" },
		{ "1111:2222:3333:4444:5555:6666:7777:8888:9999/128", "not a CIDR" },
		{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "not a CIDR" },
	};
	struct cidr_list *l = cidr_list_new();
	const char *why;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		if (cidr_list_add(l, bad[i].s, strlen(bad[i].s), &why) != -1)
			fail_msg("accepted \"%s\"", bad[i].s);
		assert_non_null(why);
		if (strcmp(why, bad[i].why) != 0)
			fail_msg("\"%s\": got \"%s\", want \"%s\"", bad[i].s,
			    why, bad[i].why);
	}
	/* An embedded NUL, and bytes after len, are not read as text. */
	assert_int_equal(cidr_list_add(l, "10.0.0.0\0/8", 11, &why), -1);
	assert_int_equal(cidr_list_add(l, "10.0.0.0/8 junk", 10, &why), 0);
	assert_int_equal(cidr_list_count(l), 1);
	assert_int_equal(cidr_list_add(NULL, "1.2.3.4", 7, &why), -1);
	cidr_list_free(l);
	cidr_list_free(NULL);
	assert_int_equal(cidr_list_count(NULL), 0);
	assert_false(cidr_list_match_v4(NULL, (const uint8_t *)"\1\2\3\4"));
}

static void
test_many(void **state)
{
	struct cidr_list *l = cidr_list_new();
	const char *why;
	char buf[32];

	(void)state;
	for (int i = 0; i < 256; i++) {
		int n = snprintf(buf, sizeof(buf), "10.%d.0.0/16", i);
		assert_int_equal(cidr_list_add(l, buf, (size_t)n, &why), 0);
	}
	assert_int_equal(cidr_list_count(l), 256);
	assert_true(match(l, "10.200.1.1"));
	assert_false(match(l, "11.200.1.1"));
	cidr_list_free(l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v4),
		cmocka_unit_test(test_v6),
		cmocka_unit_test(test_zero_prefix_and_mapped_entries),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_many),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
