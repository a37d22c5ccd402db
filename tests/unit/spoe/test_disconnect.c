/*
 * test_disconnect.c: DISCONNECT frames (spop.md §1.10, §1.12).
 */
#include <stdint.h>
#include <string.h>

#include "spoe/spop.h"
#include "spop_golden.h"
#include "testsupport.h"

#define SLICE_EQ(s, lit)						\
	((s).len == sizeof(lit) - 1 && memcmp((s).ptr, lit, (s).len) == 0)

static void
decode_frame(const uint8_t *buf, size_t n, uint8_t type,
    struct spop_disconnect *d)
{
	struct spop_frame f;
	enum spop_err err = SPOP_ERR_NONE;
	uint32_t fl;

	assert_int_equal(spop_frame_peek(buf, n, &fl), 1);
	assert_int_equal(fl, n - 4);
	assert_int_equal(spop_frame_decode(buf + 4, fl, &f, &err), 0);
	assert_int_equal(f.type, type);
	assert_int_equal(f.flags, SPOP_FRM_FL_FIN);
	assert_true(f.stream_id == 0 && f.frame_id == 0);
	assert_int_equal(spop_disconnect_decode(f.payload.ptr, f.payload.len,
	    d, &err), 0);
}

static void
test_golden_agent_disconnect(void **state)
{
	uint8_t want[64], got[64];
	size_t n = ts_hex(GOLDEN_AGENT_DISCONNECT, want, sizeof(want));
	struct spop_disconnect d;

	(void)state;
	assert_int_equal(n, 41);
	decode_frame(want, n, SPOP_FRM_T_AGENT_DISCON, &d);
	assert_true(d.has_status && d.has_message);
	assert_true(d.status == SPOP_ERR_NONE);
	assert_true(SLICE_EQ(d.message, "normal"));
	assert_int_equal(spop_disconnect_encode(got, sizeof(got),
	    SPOP_FRM_T_AGENT_DISCON, SPOP_ERR_NONE,
	    spop_err_message(SPOP_ERR_NONE)), 41);
	assert_memory_equal(got, want, 41);
}

static void
test_golden_haproxy_disconnect(void **state)
{
	uint8_t want[64], got[64];
	size_t n = ts_hex(GOLDEN_HAPROXY_DISCONNECT, want, sizeof(want));
	struct spop_disconnect d;

	(void)state;
	assert_int_equal(n, 44);
	decode_frame(want, n, SPOP_FRM_T_HAPROXY_DISCON, &d);
	assert_true(d.has_status && d.has_message);
	assert_true(d.status == SPOP_ERR_IO);
	assert_true(SLICE_EQ(d.message, "I/O error"));
	/* HAProxy's text is ours too, so the capture re-encodes exactly. */
	assert_int_equal(spop_disconnect_encode(got, sizeof(got),
	    SPOP_FRM_T_HAPROXY_DISCON, SPOP_ERR_IO,
	    spop_err_message(SPOP_ERR_IO)), 44);
	assert_memory_equal(got, want, 44);
}

static int
disc_hex(const char *hex, struct spop_disconnect *d, enum spop_err *err)
{
	/* Static: the decoded slices point into it after return. */
	static uint8_t buf[128];
	size_t n = ts_hex(hex, buf, sizeof(buf));

	*err = SPOP_ERR_NONE;
	return (spop_disconnect_decode(buf, n, d, err));
}

static void
test_lenient_parts(void **state)
{
	struct spop_disconnect d;
	enum spop_err err;

	(void)state;
	/* Missing keys are reported, not refused. */
	assert_int_equal(disc_hex("", &d, &err), 0);
	assert_false(d.has_status || d.has_message);
	assert_int_equal(disc_hex("0b\"status-code\" 03 02", &d, &err), 0);
	assert_true(d.has_status && !d.has_message);
	assert_true(d.status == 2);
	/* Any integer type; unknown keys skipped; any order. */
	assert_int_equal(disc_hex("07\"message\" 08 01\"x\" 03\"foo\" 11"
	    " 0b\"status-code\" 04 63", &d, &err), 0);
	assert_true(d.status == 99);
	assert_true(SLICE_EQ(d.message, "x"));
	assert_int_equal(disc_hex("0b\"status-code\" 05 fc f0 06", &d, &err), 0);
	assert_true(d.status == 16380);
	/* Near-miss names are unknown keys. */
	assert_int_equal(disc_hex("0a\"status-cod\" 08 00 08\"message2\" 03 00",
	    &d, &err), 0);
	assert_false(d.has_status || d.has_message);
}

static void
test_bad_input(void **state)
{
	static const char *const bad[] = {
		"0b\"status-code\" 08 01\"1\"",        /* status as STRING */
		"0b\"status-code\" 00",               /* status NULL */
		"0b\"status-code\" 02 ff f0 fe fe fe fe fe fe fe 0e",  /* -1 */
		"07\"message\" 09 01\"x\"",            /* message as BINARY */
		"07\"message\" 03 00",
		"0b\"status-code\" 03 00 0b\"status-code\" 03 01",
		"07\"message\" 08 00 07\"message\" 08 00",
		"0b\"status-code\" 03",               /* truncated */
		"0b\"status-code\"",
		"0b\"status-co\"",
		"07\"message\" 08 09\"I/O\"",
		"03\"foo\" 0a",                       /* bad type in unknown key */
	};
	struct spop_disconnect d;
	enum spop_err err;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (disc_hex(bad[i], &d, &err) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_int_equal(err, SPOP_ERR_INVALID);
	}
}

static void
test_encode_small_cap(void **state)
{
	uint8_t buf[64];

	(void)state;
	for (size_t cap = 0; cap < 44; cap++)
		assert_int_equal(spop_disconnect_encode(buf, cap,
		    SPOP_FRM_T_HAPROXY_DISCON, SPOP_ERR_IO, "I/O error"), -1);
	assert_int_equal(spop_disconnect_encode(buf, 44,
	    SPOP_FRM_T_HAPROXY_DISCON, SPOP_ERR_IO, "I/O error"), 44);
}

static void
test_err_messages(void **state)
{
	(void)state;
	assert_string_equal(spop_err_message(SPOP_ERR_NONE), "normal");
	assert_string_equal(spop_err_message(SPOP_ERR_TOO_BIG),
	    "frame is too big");
	assert_string_equal(spop_err_message(SPOP_ERR_UNKNOWN),
	    "an unknown error occurred");
	assert_string_equal(spop_err_message((enum spop_err)77),
	    "an unknown error occurred");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden_agent_disconnect),
		cmocka_unit_test(test_golden_haproxy_disconnect),
		cmocka_unit_test(test_lenient_parts),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_encode_small_cap),
		cmocka_unit_test(test_err_messages),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
