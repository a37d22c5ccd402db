/*
 * test_facts.c: a check-request's arguments as the handler takes them
 * (facts_arg(), one argument at a time while the message is validated):
 * names, types HAProxy sends when a fetch fails, integers of every SPOP
 * integer type, saturation, repeated arguments.
 */
#include <stdint.h>
#include <string.h>

#include "spoe/spop.h"
#include "testsupport.h"

#include "facts.h"

static void
arg(struct facts *f, const char *name, struct spop_data d)
{
	struct spop_slice n = { (const uint8_t *)name, strlen(name) };

	facts_arg(f, &n, &d);
}

static void
test_init(void **state)
{
	struct facts f;

	(void)state;
	memset(&f, 0xAA, sizeof(f));
	facts_init(&f);
	assert_null(f.authz.ptr);
	assert_null(f.cert_der.ptr);
	assert_int_equal(f.src_family, 0);
	assert_false(f.has_cert_verify);
	assert_int_equal(f.dpop_count, -1);     /* not sent */
}

/* Strings: present, present but empty, absent (NULL), the last one wins;
 * unknown names change nothing. */
static void
test_strings(void **state)
{
	struct facts f, g;

	(void)state;
	facts_init(&f);
	arg(&f, "authz", spop_data_str("Bearer x", 8));
	arg(&f, "path", spop_data_str("", 0));
	arg(&f, "host", spop_data_null());
	arg(&f, "method", spop_data_str("GET", 3));
	arg(&f, "method", spop_data_str("POST", 4));
	assert_int_equal(f.authz.len, 8);
	assert_memory_equal(f.authz.ptr, "Bearer x", 8);
	assert_non_null(f.path.ptr);
	assert_int_equal(f.path.len, 0);
	assert_null(f.host.ptr);
	assert_int_equal(f.method.len, 4);
	memcpy(&g, &f, sizeof(g));
	arg(&f, "authorization", spop_data_str("Bearer y", 8));
	arg(&f, "", spop_data_str("z", 1));
	assert_memory_equal(&f, &g, sizeof(f));
	/* A certificate only as non-empty binary. */
	arg(&f, "cert_der", spop_data_str("abc", 3));
	assert_null(f.cert_der.ptr);
	arg(&f, "cert_der", spop_data_bin("", 0));
	assert_null(f.cert_der.ptr);
	arg(&f, "cert_der", spop_data_bin("\x30\x00", 2));
	assert_int_equal(f.cert_der.len, 2);
}

/* Integers of the four SPOP types; unsigned ones above INT64_MAX
 * saturate; a negative DPoP header count is none; other types are absent. */
static void
test_integers(void **state)
{
	struct facts f;

	(void)state;
	facts_init(&f);
	arg(&f, "dpop_count", spop_data_str("2", 1));
	assert_int_equal(f.dpop_count, -1);
	arg(&f, "dpop_count", spop_data_int32(-3));
	assert_int_equal(f.dpop_count, 0);
	arg(&f, "dpop_count", spop_data_uint32(2));
	assert_int_equal(f.dpop_count, 2);
	arg(&f, "dpop_count", spop_data_int64(7));
	assert_int_equal(f.dpop_count, 7);
	arg(&f, "dpop_count", spop_data_uint64(UINT64_MAX));
	assert_true(f.dpop_count == INT64_MAX);

	arg(&f, "cert_verify", spop_data_null());
	assert_false(f.has_cert_verify);
	arg(&f, "cert_verify", spop_data_int32(-1));
	assert_true(f.has_cert_verify);
	assert_true(f.cert_verify == -1);
	arg(&f, "cert_verify", spop_data_uint64((uint64_t)INT64_MAX + 1));
	assert_true(f.cert_verify == INT64_MAX);
	arg(&f, "cert_verify", spop_data_uint32(0));
	assert_true(f.cert_verify == 0);
}

static void
test_src(void **state)
{
	struct facts f;
	struct spop_data d = spop_data_null();

	(void)state;
	facts_init(&f);
	arg(&f, "src", spop_data_str("10.0.0.1", 8));
	assert_int_equal(f.src_family, 0);
	d.type = SPOP_DATA_T_IPV4;
	memcpy(d.u.ipv4, "\x0a\x00\x00\x01", 4);
	arg(&f, "src", d);
	assert_int_equal(f.src_family, 4);
	assert_memory_equal(f.src, "\x0a\x00\x00\x01", 4);
	d.type = SPOP_DATA_T_IPV6;
	memset(d.u.ipv6, 0, 16);
	d.u.ipv6[15] = 1;
	arg(&f, "src", d);
	assert_int_equal(f.src_family, 6);
	assert_int_equal(f.src[15], 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_integers),
		cmocka_unit_test(test_src),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
