/*
 * test_varint.c: the SPOP "peers" varint (spop.md §1.2).
 */
#include <stdint.h>
#include <string.h>

#include "spoe/spop.h"
#include "testsupport.h"

struct vec {
	uint64_t v;
	const char *hex;
};

/* The table of spop.md §1.2, plus the boundaries the brief lists. */
static const struct vec vectors[] = {
	{ 0, "00" },
	{ 239, "ef" },
	{ 240, "f0 00" },
	{ 300, "fc 03" },
	{ 401, "f1 0a" },
	{ 2287, "ff 7f" },
	{ 2288, "f0 80 00" },
	{ 16380, "fc f0 06" },
	{ 264431, "ff ff 7f" },
	{ 264432, "f0 80 80 00" },
	{ 33818863, "ff ff ff 7f" },
	{ 33818864, "f0 80 80 80 00" },
	{ UINT64_MAX, "ff f0 fe fe fe fe fe fe fe 0e" },
};

/* First value of each encoded length n (2..10): x-1 takes n-1 bytes. */
static const struct {
	uint64_t first;
	int len;
} bounds[] = {
	{ 240ULL, 2 },
	{ 2288ULL, 3 },
	{ 264432ULL, 4 },
	{ 33818864ULL, 5 },
	{ 4328786160ULL, 6 },
	{ 554084600048ULL, 7 },
	{ 70922828777712ULL, 8 },
	{ 9078122083518704ULL, 9 },
	{ 1161999626690365680ULL, 10 },
};

static void
test_vectors_both_ways(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		uint8_t want[16], got[16];
		size_t n = ts_hex(vectors[i].hex, want, sizeof(want));
		uint64_t v = 0;

		assert_int_equal(spop_varint_encode(vectors[i].v, got,
		    sizeof(got)), (int)n);
		assert_memory_equal(got, want, n);
		assert_int_equal(spop_varint_decode(want, n, &v), (int)n);
		assert_true(v == vectors[i].v);
		/* Trailing bytes are not consumed. */
		want[n] = 0x55;
		assert_int_equal(spop_varint_decode(want, n + 1, &v), (int)n);
		assert_true(v == vectors[i].v);
	}
}

static void
test_boundaries(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bounds) / sizeof(bounds[0]); i++) {
		uint64_t x[2] = { bounds[i].first - 1, bounds[i].first };
		int want[2] = { bounds[i].len - 1, bounds[i].len };

		for (int j = 0; j < 2; j++) {
			uint8_t buf[16];
			uint64_t v = 0;
			int n = spop_varint_encode(x[j], buf, sizeof(buf));

			assert_int_equal(n, want[j]);
			assert_int_equal(spop_varint_decode(buf, (size_t)n, &v), n);
			assert_true(v == x[j]);
		}
	}
}

static void
test_max_round_trip(void **state)
{
	uint8_t buf[10];
	uint64_t v = 0;

	(void)state;
	assert_int_equal(spop_varint_encode(UINT64_MAX, buf, sizeof(buf)), 10);
	assert_int_equal(spop_varint_decode(buf, sizeof(buf), &v), 10);
	assert_true(v == UINT64_MAX);
	assert_int_equal(spop_varint_encode(UINT64_MAX - 1, buf, sizeof(buf)), 10);
	assert_int_equal(spop_varint_decode(buf, sizeof(buf), &v), 10);
	assert_true(v == UINT64_MAX - 1);
}

/* A pseudo-random sweep over all magnitudes: decode(encode(x)) == x. */
static void
test_random_round_trip(void **state)
{
	uint64_t s = 0x9E3779B97F4A7C15ULL;

	(void)state;
	for (int i = 0; i < 200000; i++) {
		uint8_t buf[10];
		uint64_t v = 0, x;
		int n;

		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		x = s >> (s % 64);
		n = spop_varint_encode(x, buf, sizeof(buf));
		assert_true(n >= 1 && n <= 10);
		assert_int_equal(spop_varint_decode(buf, (size_t)n, &v), n);
		assert_true(v == x);
	}
}

/*
 * Every encoding of 1 to 3 bytes that decodes re-encodes to the same
 * bytes: the encoding is canonical (PROTOCOL.md), which the fuzz target
 * relies on.
 */
static void
test_canonical_short(void **state)
{
	uint8_t in[3], out[10];
	uint64_t v;

	(void)state;
	for (unsigned b0 = 0; b0 < 256; b0++) {
		in[0] = (uint8_t)b0;
		if (b0 < 240) {
			assert_int_equal(spop_varint_decode(in, 1, &v), 1);
			assert_int_equal(spop_varint_encode(v, out, sizeof(out)), 1);
			assert_int_equal(out[0], in[0]);
			continue;
		}
		for (unsigned b1 = 0; b1 < 256; b1++) {
			in[1] = (uint8_t)b1;
			if (b1 < 128) {
				assert_int_equal(spop_varint_decode(in, 2, &v), 2);
				assert_int_equal(spop_varint_encode(v, out,
				    sizeof(out)), 2);
				assert_memory_equal(out, in, 2);
				continue;
			}
			for (unsigned b2 = 0; b2 < 128; b2++) {
				in[2] = (uint8_t)b2;
				assert_int_equal(spop_varint_decode(in, 3, &v), 3);
				assert_int_equal(spop_varint_encode(v, out,
				    sizeof(out)), 3);
				assert_memory_equal(out, in, 3);
			}
		}
	}
}

static void
test_truncation_need_more(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		uint8_t buf[16];
		size_t n = ts_hex(vectors[i].hex, buf, sizeof(buf));

		for (size_t k = 0; k < n; k++) {
			uint64_t v = 12345;

			assert_int_equal(spop_varint_decode(buf, k, &v),
			    SPOP_NEED_MORE);
			assert_true(v == 12345);   /* untouched */
		}
	}
	/* 9 continuation bytes: the 10th is still to come. */
	{
		uint8_t buf[9];
		uint64_t v;

		memset(buf, 0x80, sizeof(buf));
		buf[0] = 0xf0;
		assert_int_equal(spop_varint_decode(buf, 9, &v), SPOP_NEED_MORE);
	}
}

static void
test_too_long_invalid(void **state)
{
	uint8_t buf[11];
	uint64_t v;

	(void)state;
	/* An 11-byte run: the 10th byte still says "more". */
	buf[0] = 0xf0;
	memset(buf + 1, 0x80, 9);
	buf[10] = 0x00;
	assert_int_equal(spop_varint_decode(buf, 11, &v), SPOP_INVALID);
	/* Same with exactly 10 bytes available: INVALID, not NEED_MORE. */
	assert_int_equal(spop_varint_decode(buf, 10, &v), SPOP_INVALID);
	/* 10th byte 0xfe (continuation and too big). */
	buf[9] = 0xfe;
	assert_int_equal(spop_varint_decode(buf, 11, &v), SPOP_INVALID);
}

static void
test_overflow_invalid(void **state)
{
	static const char *const bad[] = {
		/* 2^64-1 is ...0e; 0f carries a bit beyond 64. */
		"ff f0 fe fe fe fe fe fe fe 0f",
		/* 10th byte > 15: bits beyond 64 whatever the rest. */
		"f0 80 80 80 80 80 80 80 80 10",
		"f0 80 80 80 80 80 80 80 80 7f",
		/* 10th byte fits, but the sum wraps. */
		"ff ff ff ff ff ff ff ff ff 0e",
		"f0 fe fe fe fe fe fe fe fe 0e",
	};
	uint8_t buf[16];
	uint64_t v = 7;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t n = ts_hex(bad[i], buf, sizeof(buf));

		assert_int_equal(spop_varint_decode(buf, n, &v), SPOP_INVALID);
	}
	assert_true(v == 7);
	/* The largest 10-byte encoding that does not wrap decodes. */
	ts_hex("ff f0 fe fe fe fe fe fe fe 0e", buf, sizeof(buf));
	assert_int_equal(spop_varint_decode(buf, 10, &v), 10);
	assert_true(v == UINT64_MAX);
}

static void
test_encode_small_cap(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		uint8_t want[16], buf[16];
		size_t n = ts_hex(vectors[i].hex, want, sizeof(want));

		for (size_t cap = 0; cap < n; cap++) {
			memset(buf, 0xAA, sizeof(buf));
			assert_int_equal(spop_varint_encode(vectors[i].v, buf,
			    cap), -1);
			for (size_t k = 0; k < sizeof(buf); k++)
				assert_int_equal(buf[k], 0xAA);
		}
		assert_int_equal(spop_varint_encode(vectors[i].v, buf, n),
		    (int)n);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors_both_ways),
		cmocka_unit_test(test_boundaries),
		cmocka_unit_test(test_max_round_trip),
		cmocka_unit_test(test_random_round_trip),
		cmocka_unit_test(test_canonical_short),
		cmocka_unit_test(test_truncation_need_more),
		cmocka_unit_test(test_too_long_invalid),
		cmocka_unit_test(test_overflow_invalid),
		cmocka_unit_test(test_encode_small_cap),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
