/*
 * test_ack.c: ACK payloads (spop.md §1.9, §1.12).
 */
#include <stdint.h>
#include <string.h>

#include "spoe/spop.h"
#include "spop_golden.h"
#include "testsupport.h"

#define SLICE_EQ(s, lit)						\
	((s).len == sizeof(lit) - 1 && memcmp((s).ptr, lit, (s).len) == 0)

static void
test_golden_decode(void **state)
{
	uint8_t buf[64];
	size_t n = ts_hex(GOLDEN_ACK, buf, sizeof(buf));
	struct spop_frame f;
	struct spop_cursor c;
	struct spop_action a;
	enum spop_err err;

	(void)state;
	assert_int_equal(n, 55);
	assert_int_equal(spop_frame_decode(buf + 4, n - 4, &f, &err), 0);
	assert_int_equal(f.type, SPOP_FRM_T_AGENT_ACK);
	assert_int_equal(f.flags, SPOP_FRM_FL_FIN);
	assert_true(f.stream_id == 300 && f.frame_id == 1);
	spop_cursor_init(&c, f.payload.ptr, f.payload.len);

	assert_int_equal(spop_action_next(&c, &a), 1);
	assert_int_equal(a.type, SPOP_ACT_T_SET_VAR);
	assert_int_equal(a.scope, SPOP_SCOPE_TXN);
	assert_true(SLICE_EQ(a.name, "jwt_ok"));
	assert_int_equal(a.value.type, SPOP_DATA_T_BOOL);
	assert_true(a.value.u.b);

	assert_int_equal(spop_action_next(&c, &a), 1);
	assert_int_equal(a.type, SPOP_ACT_T_SET_VAR);
	assert_true(SLICE_EQ(a.name, "sub"));
	assert_int_equal(a.value.type, SPOP_DATA_T_STR);
	assert_true(SLICE_EQ(a.value.u.bytes, "alice"));

	assert_int_equal(spop_action_next(&c, &a), 1);
	assert_true(SLICE_EQ(a.name, "code"));
	assert_int_equal(a.value.type, SPOP_DATA_T_INT32);
	assert_true(a.value.u.s64 == 401);

	assert_int_equal(spop_action_next(&c, &a), 1);
	assert_int_equal(a.type, SPOP_ACT_T_UNSET_VAR);
	assert_int_equal(a.scope, SPOP_SCOPE_TXN);
	assert_true(SLICE_EQ(a.name, "err"));
	assert_int_equal(a.value.type, SPOP_DATA_T_NULL);

	assert_int_equal(spop_action_next(&c, &a), 0);
	assert_ptr_equal(c.p, buf + n);
}

static void
test_golden_encode(void **state)
{
	uint8_t want[64], got[64];
	size_t n = ts_hex(GOLDEN_ACK, want, sizeof(want));
	struct spop_writer w;
	struct spop_data d;

	(void)state;
	spop_w_init(&w, got, sizeof(got));
	spop_w_begin(&w, SPOP_FRM_T_AGENT_ACK, SPOP_FRM_FL_FIN, 300, 1);
	d = spop_data_bool(true);
	spop_w_set_var(&w, SPOP_SCOPE_TXN, "jwt_ok", 6, &d);
	d = spop_data_str("alice", 5);
	spop_w_set_var(&w, SPOP_SCOPE_TXN, "sub", 3, &d);
	d = spop_data_int32(401);
	spop_w_set_var(&w, SPOP_SCOPE_TXN, "code", 4, &d);
	spop_w_unset_var(&w, SPOP_SCOPE_TXN, "err", 3);
	assert_int_equal(spop_w_end(&w, 16380), 55);
	assert_memory_equal(got, want, n);
	/* The same ACK against a 50-byte limit is refused and rolled back. */
	spop_w_begin(&w, SPOP_FRM_T_AGENT_ACK, SPOP_FRM_FL_FIN, 300, 1);
	d = spop_data_bool(true);
	spop_w_set_var(&w, SPOP_SCOPE_TXN, "jwt_ok", 6, &d);
	d = spop_data_str("alice", 5);
	spop_w_set_var(&w, SPOP_SCOPE_TXN, "sub", 3, &d);
	d = spop_data_int32(401);
	spop_w_set_var(&w, SPOP_SCOPE_TXN, "code", 4, &d);
	spop_w_unset_var(&w, SPOP_SCOPE_TXN, "err", 3);
	assert_int_equal(spop_w_end(&w, 50), -1);
	assert_int_equal(w.len, 55);
}

static void
test_empty_ack(void **state)
{
	uint8_t buf[16];
	size_t n = ts_hex(GOLDEN_EMPTY_ACK, buf, sizeof(buf));
	struct spop_frame f;
	struct spop_cursor c;
	struct spop_action a;
	enum spop_err err;

	(void)state;
	assert_int_equal(spop_frame_decode(buf + 4, n - 4, &f, &err), 0);
	assert_true(f.stream_id == 2 && f.frame_id == 1);
	spop_cursor_init(&c, f.payload.ptr, f.payload.len);
	assert_int_equal(spop_action_next(&c, &a), 0);
}

static void
test_every_scope_and_null_value(void **state)
{
	uint8_t buf[16];
	struct spop_cursor c;
	struct spop_action a;

	(void)state;
	for (unsigned s = 0; s <= 4; s++) {
		size_t n = ts_hex("01 03 00 01\"v\" 00", buf, sizeof(buf));

		buf[2] = (uint8_t)s;
		spop_cursor_init(&c, buf, n);
		assert_int_equal(spop_action_next(&c, &a), 1);
		assert_int_equal(a.scope, s);
		/* SET-VAR NULL: HAProxy unsets; we report it as given. */
		assert_int_equal(a.type, SPOP_ACT_T_SET_VAR);
		assert_int_equal(a.value.type, SPOP_DATA_T_NULL);
	}
}

static void
test_malformed(void **state)
{
	static const char *const bad[] = {
		"03 03 02 01\"v\" 11",          /* unknown action type */
		"00 03 02 01\"v\" 11",
		"ff 02 02 01\"v\"",
		"01 02 02 01\"v\" 11",          /* SET-VAR NB-ARGS 2 */
		"01 04 02 01\"v\" 11",          /* SET-VAR NB-ARGS 4 */
		"02 03 02 01\"v\" 11",          /* UNSET-VAR NB-ARGS 3 */
		"02 01 02 01\"v\"",             /* UNSET-VAR NB-ARGS 1 */
		"01 03 05 01\"v\" 11",          /* scope 5 */
		"02 02 ff 01\"v\"",             /* scope 255 */
		"01",                           /* truncated everywhere */
		"01 03",
		"01 03 02",
		"01 03 02 01",
		"01 03 02 01\"v\"",             /* SET-VAR without value */
		"01 03 02 01\"v\" 08 03\"ab\"",  /* value cut */
		"01 03 02 01\"v\" 0e",          /* value of type 14 */
		"02 02 02 02\"v\"",             /* name cut */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t buf[32];
		size_t n = ts_hex(bad[i], buf, sizeof(buf));
		struct spop_cursor c;
		struct spop_action a;

		spop_cursor_init(&c, buf, n);
		if (spop_action_next(&c, &a) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_ptr_equal(c.p, buf);
	}
}

/* Processing stops at the first bad action; earlier ones were returned. */
static void
test_stop_at_first_bad(void **state)
{
	uint8_t buf[32];
	size_t n = ts_hex("02 02 02 01\"a\" 07 02 02 01\"b\"", buf, sizeof(buf));
	struct spop_cursor c;
	struct spop_action a;

	(void)state;
	spop_cursor_init(&c, buf, n);
	assert_int_equal(spop_action_next(&c, &a), 1);
	assert_int_equal(spop_action_next(&c, &a), -1);
	assert_ptr_equal(c.p, buf + 5);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden_decode),
		cmocka_unit_test(test_golden_encode),
		cmocka_unit_test(test_empty_ack),
		cmocka_unit_test(test_every_scope_and_null_value),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_stop_at_first_bad),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
