/*
 * test_b64url.c: strict base64url (jwt.md S13).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "testsupport.h"

#include "b64url.h"

static ssize_t
dec(const char *s, uint8_t *out, size_t cap)
{
	return (b64url_decode(s, strlen(s), out, cap));
}

/* RFC 4648 §10 vectors (no padding), both ways. */
static void
test_rfc4648_vectors(void **state)
{
	static const struct { const char *plain, *enc; } v[] = {
		{ "", "" }, { "f", "Zg" }, { "fo", "Zm8" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg" }, { "fooba", "Zm9vYmE" },
		{ "foobar", "Zm9vYmFy" },
	};
	uint8_t out[16];
	char enc[16];

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		size_t pl = strlen(v[i].plain);
		assert_int_equal(dec(v[i].enc, out, sizeof(out)), (ssize_t)pl);
		assert_memory_equal(out, v[i].plain, pl);
		assert_int_equal(b64url_encode((const uint8_t *)v[i].plain, pl,
		    enc, sizeof(enc)), strlen(v[i].enc));
		assert_string_equal(enc, v[i].enc);
		assert_int_equal(b64url_encoded_len(pl), strlen(v[i].enc));
		assert_int_equal(b64url_decoded_len(strlen(v[i].enc)), pl);
	}
}

/* The URL alphabet: 62 is '-', 63 is '_'. */
static void
test_url_alphabet(void **state)
{
	static const uint8_t b[] = { 0xfb, 0xff, 0xbf };
	uint8_t out[4];
	char enc[8];

	(void)state;
	assert_int_equal(b64url_encode(b, 3, enc, sizeof(enc)), 4);
	assert_string_equal(enc, "-_-_");
	assert_int_equal(dec("-_-_", out, sizeof(out)), 3);
	assert_memory_equal(out, b, 3);
	/* The standard alphabet's characters for the same values. */
	assert_int_equal(dec("+/+/", out, sizeof(out)), -1);
	assert_int_equal(dec("-_-/", out, sizeof(out)), -1);
	assert_int_equal(dec("-_+_", out, sizeof(out)), -1);
}

/* S13: padding, whitespace and foreign characters are all refused. */
static void
test_s13_noncanonical_rejected(void **state)
{
	static const char *const bad[] = {
		"Zg==", "Zg=", "Zm8=", "Zm9vYg==", "=", "====",
		"Zm9 v", " Zm9v", "Zm9v ", "Zm9v\n", "Zm\t9v", "Zm9v\r\n",
		"Zm9?", "Zm9#", "Zm9.", "Zm9,", "Zm9*", "Zm9%", "Zm9\\",
		"Z", "Zm9vY", "Zm9vYmFyZ",	/* length 1 mod 4 */
		"Zh", "Zm9", "Zm+", "AB",	/* non-zero unused bits */
		"Zm9vYh", "Zm9vYmF", "AAB", "AAAAAB",
	};
	uint8_t out[32];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (dec(bad[i], out, sizeof(out)) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
	}
	/* An embedded NUL and bytes >= 0x80. */
	assert_int_equal(b64url_decode("Zm\0v", 4, out, sizeof(out)), -1);
	assert_int_equal(b64url_decode("Zm\xc3\xa9", 4, out, sizeof(out)), -1);
	assert_int_equal(b64url_decode("Zm9v\xff", 5, out, sizeof(out)), -1);
	/* The canonical neighbours of the non-canonical ones pass. */
	assert_int_equal(dec("Zg", out, sizeof(out)), 1);
	assert_int_equal(dec("Zm8", out, sizeof(out)), 2);
	assert_int_equal(dec("AA", out, sizeof(out)), 1);
	assert_int_equal(dec("AAA", out, sizeof(out)), 2);
	assert_int_equal(dec("AAAAAA", out, sizeof(out)), 4);
}

/* Every bit pattern of the last character: exactly one of 16 (or 4) wins. */
static void
test_unused_bits_exhaustive(void **state)
{
	static const char alpha[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	uint8_t out[4];
	char s[4];
	int ok2 = 0, ok3 = 0;

	(void)state;
	for (int i = 0; i < 64; i++) {
		s[0] = 'Q';
		s[1] = alpha[i];
		if (b64url_decode(s, 2, out, sizeof(out)) == 1)
			ok2++;
		s[1] = 'Q';
		s[2] = alpha[i];
		if (b64url_decode(s, 3, out, sizeof(out)) == 2)
			ok3++;
	}
	assert_int_equal(ok2, 4);	/* 2 data bits, 4 unused */
	assert_int_equal(ok3, 16);	/* 4 data bits, 2 unused */
}

static void
test_decode_cap(void **state)
{
	uint8_t out[8];

	(void)state;
	memset(out, 0xaa, sizeof(out));
	assert_int_equal(dec("Zm9v", out, 2), -1);
	assert_int_equal(out[2], 0xaa);	/* nothing written past cap */
	assert_int_equal(dec("Zm9v", out, 3), 3);
	assert_int_equal(dec("Zm9vYg", out, 3), -1);
	assert_int_equal(dec("Zm9vYg", out, 4), 4);
	assert_int_equal(dec("", out, 0), 0);
	assert_int_equal(b64url_decode(NULL, 0, NULL, 0), 0);
}

/* The alphabet's value of ${c}, or -1: a plain reference for the tables. */
static int
ref_val(unsigned char c)
{
	static const char alpha[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	const char *q = c != 0 ? strchr(alpha, c) : NULL;

	return (q != NULL ? (int)(q - alpha) : -1);
}

/*
 * The decoder ORs error bits across blocks (two blocks per step, then
 * single blocks, then a 2- or 3-character tail) and tests them once: every
 * byte value outside the alphabet, put at every position of inputs whose
 * lengths reach each of those paths (first, middle and last block, each of
 * the 4 positions of a block, both tails), must still be refused.
 */
static void
test_bad_char_every_position(void **state)
{
	static const size_t lens[] = { 2, 3, 4, 6, 7, 8, 10, 11, 12, 14, 15,
	    16, 20, 23, 24, 26, 27 };
	uint8_t out[32];
	char s[32];

	(void)state;
	for (size_t li = 0; li < sizeof(lens) / sizeof(lens[0]); li++) {
		size_t len = lens[li];

		/* 'A' everywhere decodes to zeros, unused bits included. */
		memset(s, 'A', len);
		assert_int_equal(b64url_decode(s, len, out, sizeof(out)),
		    (ssize_t)b64url_decoded_len(len));
		for (size_t pos = 0; pos < len; pos++) {
			for (int c = 0; c < 256; c++) {
				if (ref_val((unsigned char)c) >= 0)
					continue;
				memset(s, 'A', len);
				s[pos] = (char)c;
				if (b64url_decode(s, len, out, sizeof(out)) != -1)
					fail_msg("len %zu: byte 0x%02x at %zu "
					    "accepted", len, c, pos);
				/* Also with no slack past the result. */
				if (b64url_decode(s, len, out,
				    b64url_decoded_len(len)) != -1)
					fail_msg("len %zu: byte 0x%02x at %zu "
					    "accepted (exact cap)", len, c, pos);
			}
		}
	}
}

/* Every alphabet character at every position decodes to its bits. */
static void
test_value_every_position(void **state)
{
	uint8_t out[32], want[32];
	char s[24];

	(void)state;
	for (size_t pos = 0; pos < 24; pos++) {
		for (int c = 0; c < 256; c++) {
			int v = ref_val((unsigned char)c);
			size_t bit = pos * 6;

			if (v < 0)
				continue;
			memset(s, 'A', sizeof(s));
			s[pos] = (char)c;
			memset(want, 0, sizeof(want));
			for (int b = 0; b < 6; b++)
				if (v & (0x20 >> b))
					want[(bit + (size_t)b) / 8] |=
					    (uint8_t)(0x80 >> ((bit + (size_t)b) % 8));
			assert_int_equal(b64url_decode(s, 24, out, 18), 18);
			assert_memory_equal(out, want, 18);
		}
	}
}

/* Two blocks per step write 8 bytes: never past ${cap}. */
static void
test_decode_exact_cap_no_overrun(void **state)
{
	uint8_t in[64], buf[80];
	char enc[96];

	(void)state;
	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 29 + 3);
	for (size_t len = 0; len <= 48; len++) {
		size_t n = b64url_encode(in, len, enc, sizeof(enc));

		memset(buf, 0xaa, sizeof(buf));
		assert_int_equal(b64url_decode(enc, n, buf, len),
		    (ssize_t)len);
		assert_memory_equal(buf, in, len);
		for (size_t i = len; i < sizeof(buf); i++)
			if (buf[i] != 0xaa)
				fail_msg("len %zu: byte %zu written", len, i);
	}
}

static void
test_encode_cap(void **state)
{
	char enc[8];

	(void)state;
	memset(enc, 'x', sizeof(enc));
	/* "foo" needs 4 characters and a NUL. */
	assert_int_equal(b64url_encode((const uint8_t *)"foo", 3, enc, 4), 0);
	assert_string_equal(enc, "");
	assert_int_equal(b64url_encode((const uint8_t *)"foo", 3, enc, 5), 4);
	assert_string_equal(enc, "Zm9v");
	assert_int_equal(b64url_encode((const uint8_t *)"f", 1, enc, 0), 0);
	assert_int_equal(b64url_encode(NULL, 0, enc, 1), 0);
	assert_string_equal(enc, "");
}

/* All lengths 0..70 of a byte ramp, and every byte value, round-trip. */
static void
test_roundtrip(void **state)
{
	uint8_t in[256], out[256];
	char enc[400];

	(void)state;
	for (int i = 0; i < 256; i++)
		in[i] = (uint8_t)(i * 37 + 11);
	for (size_t len = 0; len <= 70; len++) {
		size_t n = b64url_encode(in, len, enc, sizeof(enc));
		assert_int_equal(n, b64url_encoded_len(len));
		assert_int_equal(b64url_decoded_len(n), len);
		assert_int_equal(b64url_decode(enc, n, out, sizeof(out)),
		    (ssize_t)len);
		assert_memory_equal(in, out, len);
	}
	for (int i = 0; i < 256; i++)
		in[i] = (uint8_t)i;
	size_t n = b64url_encode(in, 256, enc, sizeof(enc));
	assert_int_equal(n, 342);
	assert_int_equal(b64url_decode(enc, n, out, sizeof(out)), 256);
	assert_memory_equal(in, out, 256);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc4648_vectors),
		cmocka_unit_test(test_url_alphabet),
		cmocka_unit_test(test_s13_noncanonical_rejected),
		cmocka_unit_test(test_unused_bits_exhaustive),
		cmocka_unit_test(test_decode_cap),
		cmocka_unit_test(test_bad_char_every_position),
		cmocka_unit_test(test_value_every_position),
		cmocka_unit_test(test_decode_exact_cap_no_overrun),
		cmocka_unit_test(test_encode_cap),
		cmocka_unit_test(test_roundtrip),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
