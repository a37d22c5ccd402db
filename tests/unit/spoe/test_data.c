/*
 * test_data.c: TYPED-DATA and STRING (spop.md §1.3).
 */
#include <stdint.h>
#include <string.h>

#include "spoe/spop.h"
#include "testsupport.h"

static const uint8_t v6[16] = {
	0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01
};

struct sample {
	const char *hex;
	struct spop_data d;
};

static void
samples(struct sample *s, size_t *n)
{
	size_t i = 0;

	s[i].hex = "00";
	s[i++].d = spop_data_null();
	s[i].hex = "11";
	s[i++].d = spop_data_bool(true);
	s[i].hex = "01";
	s[i++].d = spop_data_bool(false);
	s[i].hex = "02 f1 0a";
	s[i++].d = spop_data_int32(401);
	s[i].hex = "02 ff f0 fe fe fe fe fe fe fe 0e";   /* -1: 10 bytes */
	s[i++].d = spop_data_int32(-1);
	s[i].hex = "02 f0 f1 fe fe be fe fe fe fe 0e";
	s[i++].d = spop_data_int32(INT32_MIN);
	s[i].hex = "03 fc f0 06";
	s[i++].d = spop_data_uint32(16380);
	s[i].hex = "03 ff f0 fe fe 7e";
	s[i++].d = spop_data_uint32(UINT32_MAX);
	s[i].hex = "04 00";
	s[i++].d = spop_data_int64(0);
	s[i].hex = "04 ff f0 fe fe fe fe fe fe fe 0e";
	s[i++].d = spop_data_int64(-1);
	s[i].hex = "04 f0 f1 fe fe fe fe fe fe fe 06";
	s[i++].d = spop_data_int64(INT64_MIN);
	s[i].hex = "05 ff f0 fe fe fe fe fe fe fe 0e";
	s[i++].d = spop_data_uint64(UINT64_MAX);
	s[i].hex = "06 c0 00 02 0a";
	s[i].d = spop_data_null();
	s[i].d.type = SPOP_DATA_T_IPV4;
	memcpy(s[i++].d.u.ipv4, "\xc0\x00\x02\x0a", 4);
	s[i].hex = "07 20010db8 00000000 00000000 00000001";
	s[i].d = spop_data_null();
	s[i].d.type = SPOP_DATA_T_IPV6;
	memcpy(s[i++].d.u.ipv6, v6, 16);
	s[i].hex = "08 05 \"alice\"";
	s[i++].d = spop_data_str("alice", 5);
	s[i].hex = "08 00";
	s[i++].d = spop_data_str("", 0);
	s[i].hex = "09 03 00 01 ff";
	s[i++].d = spop_data_bin("\x00\x01\xff", 3);
	*n = i;
}

static void
assert_data_eq(const struct spop_data *a, const struct spop_data *b)
{
	assert_int_equal(a->type, b->type);
	switch (a->type) {
	case SPOP_DATA_T_NULL:
		break;
	case SPOP_DATA_T_BOOL:
		assert_int_equal(a->u.b, b->u.b);
		break;
	case SPOP_DATA_T_INT32:
	case SPOP_DATA_T_INT64:
		assert_true(a->u.s64 == b->u.s64);
		break;
	case SPOP_DATA_T_UINT32:
	case SPOP_DATA_T_UINT64:
		assert_true(a->u.u64 == b->u.u64);
		break;
	case SPOP_DATA_T_IPV4:
		assert_memory_equal(a->u.ipv4, b->u.ipv4, 4);
		break;
	case SPOP_DATA_T_IPV6:
		assert_memory_equal(a->u.ipv6, b->u.ipv6, 16);
		break;
	case SPOP_DATA_T_STR:
	case SPOP_DATA_T_BIN:
		assert_int_equal(a->u.bytes.len, b->u.bytes.len);
		if (a->u.bytes.len > 0)
			assert_memory_equal(a->u.bytes.ptr, b->u.bytes.ptr,
			    a->u.bytes.len);
		break;
	default:
		fail_msg("unexpected type %d", a->type);
	}
}

static void
test_every_type_both_ways(void **state)
{
	struct sample s[32];
	size_t n;

	(void)state;
	samples(s, &n);
	for (size_t i = 0; i < n; i++) {
		uint8_t want[64], got[64];
		size_t wl = ts_hex(s[i].hex, want, sizeof(want));
		struct spop_data d;

		assert_int_equal(spop_data_encode(got, sizeof(got), &s[i].d),
		    (ssize_t)wl);
		assert_memory_equal(got, want, wl);
		memset(&d, 0xEE, sizeof(d));
		assert_int_equal(spop_data_decode(want, wl, &d), (ssize_t)wl);
		assert_data_eq(&d, &s[i].d);
		if (d.type == SPOP_DATA_T_STR || d.type == SPOP_DATA_T_BIN)
			assert_ptr_equal(d.u.bytes.ptr, want + wl - d.u.bytes.len);
	}
}

static void
test_negative_ints(void **state)
{
	uint8_t buf[16];
	struct spop_data d;
	size_t n;

	(void)state;
	n = ts_hex("04 fe f0 fe fe fe fe fe fe fe 0e", buf, sizeof(buf));
	assert_int_equal(spop_data_decode(buf, n, &d), (ssize_t)n);
	assert_int_equal(d.type, SPOP_DATA_T_INT64);
	assert_true(d.u.s64 == -2);
	/* A UINT64 with the same bits is not negative. */
	buf[0] = 0x05;
	assert_int_equal(spop_data_decode(buf, n, &d), (ssize_t)n);
	assert_true(d.u.u64 == UINT64_MAX - 1);
	{
		struct spop_data m = spop_data_int32(INT32_MIN);
		struct spop_data back;
		ssize_t r = spop_data_encode(buf, sizeof(buf), &m);

		assert_int_equal(r, 11);
		assert_int_equal(spop_data_decode(buf, (size_t)r, &back), r);
		assert_true(back.u.s64 == INT32_MIN);
	}
}

/*
 * HAProxy reads every integer type into 64 bits: an INT32/UINT32 outside
 * the 32-bit range is kept as sent (PROTOCOL.md).
 */
static void
test_int32_out_of_range_kept(void **state)
{
	uint8_t buf[16];
	struct spop_data d;
	size_t n;

	(void)state;
	/* UINT32 carrying 2^32 (5-byte varint). */
	buf[0] = 0x03;
	n = 1 + (size_t)spop_varint_encode(4294967296ULL, buf + 1, 15);
	assert_int_equal(spop_data_decode(buf, n, &d), (ssize_t)n);
	assert_int_equal(d.type, SPOP_DATA_T_UINT32);
	assert_true(d.u.u64 == 4294967296ULL);
	/* INT32 carrying 2^32 and INT64_MIN. */
	buf[0] = 0x02;
	assert_int_equal(spop_data_decode(buf, n, &d), (ssize_t)n);
	assert_int_equal(d.type, SPOP_DATA_T_INT32);
	assert_true(d.u.s64 == 4294967296LL);
	n = ts_hex("02 f0 f1 fe fe fe fe fe fe fe 06", buf, sizeof(buf));
	assert_int_equal(spop_data_decode(buf, n, &d), (ssize_t)n);
	assert_true(d.u.s64 == INT64_MIN);
	/* A negative INT32 sent as uint32 two's complement stays positive. */
	n = ts_hex("02 ff f0 fe fe 7e", buf, sizeof(buf));
	assert_int_equal(spop_data_decode(buf, n, &d), (ssize_t)n);
	assert_true(d.u.s64 == 4294967295LL);
}

static void
test_bad_types(void **state)
{
	struct spop_data d;

	(void)state;
	for (unsigned t = 10; t <= 15; t++) {
		for (unsigned fl = 0; fl <= 0xF0; fl += 0x10) {
			uint8_t buf[4] = { (uint8_t)(fl | t), 0, 0, 0 };

			assert_int_equal(spop_data_decode(buf, sizeof(buf), &d),
			    SPOP_INVALID);
		}
	}
	{
		struct spop_data e = spop_data_null();
		uint8_t out[8];

		e.type = (enum spop_data_type)10;
		assert_int_equal(spop_data_encode(out, sizeof(out), &e), -1);
	}
}

/* Flags other than BOOL's true bit are ignored, as HAProxy does. */
static void
test_flags(void **state)
{
	uint8_t buf[4];
	struct spop_data d;

	(void)state;
	buf[0] = 0x31;
	assert_int_equal(spop_data_decode(buf, 1, &d), 1);
	assert_int_equal(d.type, SPOP_DATA_T_BOOL);
	assert_true(d.u.b);
	buf[0] = 0x21;
	assert_int_equal(spop_data_decode(buf, 1, &d), 1);
	assert_false(d.u.b);
	buf[0] = 0x12;
	buf[1] = 0xf1;
	buf[2] = 0x0a;
	assert_int_equal(spop_data_decode(buf, 3, &d), 3);
	assert_int_equal(d.type, SPOP_DATA_T_INT32);
	assert_true(d.u.s64 == 401);
	buf[0] = 0x80;
	assert_int_equal(spop_data_decode(buf, 1, &d), 1);
	assert_int_equal(d.type, SPOP_DATA_T_NULL);
}

static void
test_truncation(void **state)
{
	struct sample s[32];
	size_t n;

	(void)state;
	samples(s, &n);
	for (size_t i = 0; i < n; i++) {
		uint8_t want[64];
		size_t wl = ts_hex(s[i].hex, want, sizeof(want));
		struct spop_data d;

		for (size_t k = 0; k < wl; k++)
			assert_int_equal(spop_data_decode(want, k, &d),
			    SPOP_NEED_MORE);
	}
}

static void
test_string_past_end(void **state)
{
	uint8_t buf[32];
	struct spop_data d;
	struct spop_slice sl;
	size_t n;

	(void)state;
	n = ts_hex("08 05 \"abc\"", buf, sizeof(buf));
	assert_int_equal(spop_data_decode(buf, n, &d), SPOP_NEED_MORE);
	n = ts_hex("09 f0", buf, sizeof(buf));
	assert_int_equal(spop_data_decode(buf, n, &d), SPOP_NEED_MORE);
	/* A length of 2^64-1 must not wrap any pointer arithmetic. */
	n = ts_hex("08 ff f0 fe fe fe fe fe fe fe 0e \"x\"", buf, sizeof(buf));
	assert_int_equal(spop_data_decode(buf, n, &d), SPOP_NEED_MORE);
	/* An 11-byte length is invalid, whatever follows. */
	n = ts_hex("08 f0 80 80 80 80 80 80 80 80 80 00", buf, sizeof(buf));
	assert_int_equal(spop_data_decode(buf, n, &d), SPOP_INVALID);
	/* STRING without type byte. */
	n = ts_hex("05 \"hello\" ff", buf, sizeof(buf));
	assert_int_equal(spop_string_decode(buf, n, &sl), 6);
	assert_int_equal(sl.len, 5);
	assert_ptr_equal(sl.ptr, buf + 1);
	assert_int_equal(spop_string_decode(buf, 5, &sl), SPOP_NEED_MORE);
	assert_int_equal(spop_string_decode(buf, 0, &sl), SPOP_NEED_MORE);
	buf[0] = 0;
	assert_int_equal(spop_string_decode(buf, 1, &sl), 1);
	assert_int_equal(sl.len, 0);
}

static void
test_encode_small_cap(void **state)
{
	struct sample s[32];
	size_t n;

	(void)state;
	samples(s, &n);
	for (size_t i = 0; i < n; i++) {
		uint8_t want[64], got[64];
		size_t wl = ts_hex(s[i].hex, want, sizeof(want));

		for (size_t cap = 0; cap < wl; cap++) {
			memset(got, 0xAA, sizeof(got));
			assert_int_equal(spop_data_encode(got, cap, &s[i].d), -1);
			for (size_t k = 0; k < sizeof(got); k++)
				assert_int_equal(got[k], 0xAA);
		}
	}
}

static void
test_get_uint(void **state)
{
	struct spop_data d;
	uint64_t v = 0;

	(void)state;
	d = spop_data_int32(-1);
	assert_int_equal(spop_data_get_uint(&d, &v), -1);
	d = spop_data_int64(INT64_MIN);
	assert_int_equal(spop_data_get_uint(&d, &v), -1);
	d = spop_data_int64(16380);
	assert_int_equal(spop_data_get_uint(&d, &v), 0);
	assert_true(v == 16380);
	d = spop_data_int32(0);
	assert_int_equal(spop_data_get_uint(&d, &v), 0);
	assert_true(v == 0);
	d = spop_data_uint32(256);
	assert_int_equal(spop_data_get_uint(&d, &v), 0);
	assert_true(v == 256);
	d = spop_data_uint64(UINT64_MAX);
	assert_int_equal(spop_data_get_uint(&d, &v), 0);
	assert_true(v == UINT64_MAX);
	d = spop_data_str("1", 1);
	assert_int_equal(spop_data_get_uint(&d, &v), -1);
	d = spop_data_bool(true);
	assert_int_equal(spop_data_get_uint(&d, &v), -1);
	d = spop_data_null();
	assert_int_equal(spop_data_get_uint(&d, &v), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_type_both_ways),
		cmocka_unit_test(test_negative_ints),
		cmocka_unit_test(test_int32_out_of_range_kept),
		cmocka_unit_test(test_bad_types),
		cmocka_unit_test(test_flags),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_string_past_end),
		cmocka_unit_test(test_encode_small_cap),
		cmocka_unit_test(test_get_uint),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
