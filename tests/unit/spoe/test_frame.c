/*
 * test_frame.c: the frame envelope (spop.md §1.1) and the bounded writer.
 */
#include <stdint.h>
#include <string.h>

#include "spoe/spop.h"
#include "spop_golden.h"
#include "testsupport.h"

struct golden {
	const char *hex;
	size_t total;
	uint8_t type;
	uint64_t sid, fid;
	size_t payload_len;
};

static const struct golden goldens[] = {
	{ GOLDEN_HELLO_2X, 133, 1, 0, 0, 129 - 7 },
	{ GOLDEN_HELLO_3X_CHECK, 82, 1, 0, 0, 78 - 7 },
	{ GOLDEN_AGENT_HELLO, 68, 101, 0, 0, 64 - 7 },
	{ GOLDEN_AGENT_HELLO_VTC, 58, 101, 0, 0, 54 - 7 },
	{ GOLDEN_NOTIFY, 52, 3, 300, 1, 48 - 8 },
	{ GOLDEN_ACK, 55, 103, 300, 1, 51 - 8 },
	{ GOLDEN_AGENT_DISCONNECT, 41, 102, 0, 0, 37 - 7 },
	{ GOLDEN_HAPROXY_DISCONNECT, 44, 2, 0, 0, 40 - 7 },
	{ GOLDEN_EMPTY_ACK, 11, 103, 2, 1, 0 },
};

static void
test_peek(void **state)
{
	uint8_t buf[8] = { 0x00, 0x00, 0x00, 0x40, 0x65 };
	uint32_t fl = 7;

	(void)state;
	for (size_t n = 0; n < 4; n++)
		assert_int_equal(spop_frame_peek(buf, n, &fl), 0);
	assert_int_equal(fl, 7);
	assert_int_equal(spop_frame_peek(buf, 4, &fl), 1);
	assert_int_equal(fl, 64);
	memcpy(buf, "\x01\x02\x03\x04", 4);
	assert_int_equal(spop_frame_peek(buf, 5, &fl), 1);
	assert_int_equal(fl, 0x01020304u);
}

static void
test_golden_headers(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(goldens) / sizeof(goldens[0]); i++) {
		uint8_t buf[256];
		size_t n = ts_hex(goldens[i].hex, buf, sizeof(buf));
		struct spop_frame f;
		enum spop_err err = SPOP_ERR_NONE;
		uint32_t fl;

		assert_int_equal(n, goldens[i].total);
		assert_int_equal(spop_frame_peek(buf, n, &fl), 1);
		assert_int_equal(fl, n - 4);
		assert_int_equal(spop_frame_decode(buf + 4, fl, &f, &err), 0);
		assert_int_equal(f.type, goldens[i].type);
		assert_int_equal(f.flags, SPOP_FRM_FL_FIN);
		assert_true(f.stream_id == goldens[i].sid);
		assert_true(f.frame_id == goldens[i].fid);
		assert_int_equal(f.payload.len, goldens[i].payload_len);
		assert_ptr_equal(f.payload.ptr, buf + n - f.payload.len);
	}
}

/* A complete body that ends inside the header is INVALID, never "more". */
static void
test_truncated_header_invalid(void **state)
{
	uint8_t buf[64];
	size_t n = ts_hex(GOLDEN_NOTIFY, buf, sizeof(buf));
	struct spop_frame f;
	enum spop_err err;

	(void)state;
	assert_int_equal(n, 52);
	/* Header: type 1 + flags 4 + sid 2 + fid 1 = 8 bytes. */
	for (size_t k = 0; k < 8; k++) {
		err = SPOP_ERR_NONE;
		assert_int_equal(spop_frame_decode(buf + 4, k, &f, &err), -1);
		assert_int_equal(err, SPOP_ERR_INVALID);
	}
	assert_int_equal(spop_frame_decode(buf + 4, 8, &f, &err), 0);
	assert_int_equal(f.payload.len, 0);
}

static void
test_bad_ids_invalid(void **state)
{
	uint8_t buf[32];
	size_t n;
	struct spop_frame f;
	enum spop_err err = SPOP_ERR_NONE;

	(void)state;
	/* 11-byte stream-id. */
	n = ts_hex("03 00000001 f0 80 80 80 80 80 80 80 80 80 00 01", buf,
	    sizeof(buf));
	assert_int_equal(spop_frame_decode(buf, n, &f, &err), -1);
	assert_int_equal(err, SPOP_ERR_INVALID);
	/* Overflowing frame-id. */
	err = SPOP_ERR_NONE;
	n = ts_hex("03 00000001 01 ff f0 fe fe fe fe fe fe fe 0f", buf,
	    sizeof(buf));
	assert_int_equal(spop_frame_decode(buf, n, &f, &err), -1);
	assert_int_equal(err, SPOP_ERR_INVALID);
	/* Maximal ids decode. */
	n = ts_hex("03 00000003 ff f0 fe fe fe fe fe fe fe 0e"
	    " ff f0 fe fe fe fe fe fe fe 0e aa", buf, sizeof(buf));
	assert_int_equal(spop_frame_decode(buf, n, &f, &err), 0);
	assert_true(f.stream_id == UINT64_MAX && f.frame_id == UINT64_MAX);
	assert_int_equal(f.flags, 3);
	assert_int_equal(f.payload.len, 1);
	assert_int_equal(f.payload.ptr[0], 0xaa);
}

/* Unknown types and reserved flags are the caller's business. */
static void
test_layout_only(void **state)
{
	uint8_t buf[16];
	size_t n = ts_hex("ee 80000000 00 00", buf, sizeof(buf));
	struct spop_frame f;
	enum spop_err err;

	(void)state;
	assert_int_equal(spop_frame_decode(buf, n, &f, &err), 0);
	assert_int_equal(f.type, 0xee);
	assert_int_equal(f.flags, 0x80000000u);
}

/* ---- writer ------------------------------------------------------------- */

static void
test_writer_notify_golden(void **state)
{
	uint8_t want[64], got[64];
	size_t n = ts_hex(GOLDEN_NOTIFY, want, sizeof(want));
	struct spop_writer w;
	struct spop_data d;
	static const uint8_t ip[4] = { 192, 0, 2, 10 };

	(void)state;
	spop_w_init(&w, got, sizeof(got));
	spop_w_begin(&w, SPOP_FRM_T_HAPROXY_NOTIFY, SPOP_FRM_FL_FIN, 300, 1);
	spop_w_message(&w, "check-id", 3);
	d = spop_data_null();
	d.type = SPOP_DATA_T_IPV4;
	memcpy(d.u.ipv4, ip, 4);
	spop_w_kv(&w, "ip", &d);
	d = spop_data_bool(true);
	spop_w_kv(&w, "tls", &d);
	d = spop_data_str("Bearer abc", 10);
	spop_w_kv(&w, "auth", &d);
	assert_int_equal(spop_w_end(&w, 48), 52);
	assert_int_equal(w.len, n);
	assert_memory_equal(got, want, n);
}

/* Oversize: -1 and the frame rolled back, the writer reusable. */
static void
test_writer_oversize_rollback(void **state)
{
	uint8_t buf[128], want[64];
	size_t n = ts_hex(GOLDEN_AGENT_DISCONNECT, want, sizeof(want));
	struct spop_writer w;
	struct spop_data d;

	(void)state;
	spop_w_init(&w, buf, sizeof(buf));
	/* A first frame stays. */
	spop_w_begin(&w, SPOP_FRM_T_AGENT_DISCON, SPOP_FRM_FL_FIN, 0, 0);
	d = spop_data_uint32(0);
	spop_w_kv(&w, "status-code", &d);
	d = spop_data_str("normal", 6);
	spop_w_kv(&w, "message", &d);
	assert_int_equal(spop_w_end(&w, 37), 41);
	assert_memory_equal(buf, want, n);
	/* A second one whose body is 37 bytes, limit 36: refused. */
	spop_w_begin(&w, SPOP_FRM_T_AGENT_DISCON, SPOP_FRM_FL_FIN, 0, 0);
	assert_int_equal(w.frame_start, 41);
	d = spop_data_uint32(0);
	spop_w_kv(&w, "status-code", &d);
	d = spop_data_str("normal", 6);
	spop_w_kv(&w, "message", &d);
	assert_int_equal(spop_w_end(&w, 36), -1);
	assert_int_equal(w.len, 41);
	assert_false(w.overflow);
	assert_memory_equal(buf, want, n);
	/* The caller writes a smaller frame instead. */
	spop_w_begin(&w, SPOP_FRM_T_AGENT_DISCON, SPOP_FRM_FL_FIN, 0, 0);
	d = spop_data_uint32(0);
	spop_w_kv(&w, "status-code", &d);
	d = spop_data_str("", 0);
	spop_w_kv(&w, "message", &d);
	assert_int_equal(spop_w_end(&w, 36), 35);
	assert_int_equal(w.len, 41 + 35);
	assert_memory_equal(buf + 41, "\x00\x00\x00\x1f\x66", 5);
}

/* Overflow: sticky, nothing written past cap, end fails and rolls back. */
static void
test_writer_overflow(void **state)
{
	uint8_t buf[64];
	struct spop_writer w;
	struct spop_data d;

	(void)state;
	for (size_t cap = 0; cap < 41; cap++) {
		memset(buf, 0xAA, sizeof(buf));
		spop_w_init(&w, buf, cap);
		spop_w_begin(&w, SPOP_FRM_T_AGENT_DISCON, SPOP_FRM_FL_FIN, 0, 0);
		d = spop_data_uint32(0);
		spop_w_kv(&w, "status-code", &d);
		d = spop_data_str("normal", 6);
		spop_w_kv(&w, "message", &d);
		assert_true(w.overflow);
		assert_true(w.len <= cap);
		for (size_t k = cap; k < sizeof(buf); k++)
			assert_int_equal(buf[k], 0xAA);
		/* Writes after the overflow are no-ops. */
		spop_w_u8(&w, 1);
		assert_true(w.len <= cap);
		assert_int_equal(spop_w_end(&w, 1000), -1);
		assert_int_equal(w.len, 0);
		assert_false(w.overflow);
	}
	/* Exactly enough room. */
	spop_w_init(&w, buf, 41);
	assert_int_equal(spop_disconnect_encode(buf, 41,
	    SPOP_FRM_T_AGENT_DISCON, SPOP_ERR_NONE, "normal"), 41);
	assert_int_equal(spop_disconnect_encode(buf, 40,
	    SPOP_FRM_T_AGENT_DISCON, SPOP_ERR_NONE, "normal"), -1);
}

/* A piece that does not fit is not written in part. */
static void
test_writer_piece_atomic(void **state)
{
	uint8_t buf[16];
	struct spop_writer w;
	struct spop_data d = spop_data_str("0123456789", 10);

	(void)state;
	memset(buf, 0xAA, sizeof(buf));
	spop_w_init(&w, buf, 11);
	spop_w_u8(&w, 0x42);
	spop_w_string(&w, "0123456789", 10);   /* needs 11 more */
	assert_true(w.overflow);
	assert_int_equal(w.len, 1);
	assert_int_equal(buf[1], 0xAA);
	spop_w_init(&w, buf, 11);
	spop_w_u8(&w, 0x42);
	spop_w_data(&w, &d);                   /* needs 12 more */
	assert_true(w.overflow);
	assert_int_equal(w.len, 1);
	assert_int_equal(buf[1], 0xAA);
	/* A name that fits but a value that does not: no half pair. */
	spop_w_init(&w, buf, 8);
	spop_w_kv(&w, "abc", &d);
	assert_true(w.overflow);
	assert_int_equal(w.len, 0);
}

/*
 * spop_w_set_var_str() writes exactly what spop_w_set_var() writes for the
 * same STRING, and refuses exactly what it refuses: name and value lengths
 * on both sides of each varint step (240, 2288), every room from none to
 * plenty (the in-place path and the piece-by-piece one), and after an
 * earlier overflow.
 */
static void
test_writer_set_var_str(void **state)
{
	static const size_t lens[] = { 0, 1, 5, 239, 240, 241, 2287, 2288, 2300 };
	static uint8_t val[2400], b1[2500], b2[2500];
	struct spop_writer w1, w2;
	unsigned fast = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(val); i++)
		val[i] = (uint8_t)('a' + i % 26);
	for (size_t ni = 0; ni < 4; ni++) {
		size_t nl = lens[ni];

		for (size_t vi = 0; vi < sizeof(lens) / sizeof(lens[0]); vi++) {
			size_t vl = lens[vi];
			size_t need = 3 + (nl < 240 ? 1 : 2) + nl + 1 +
			    (vl < 240 ? 1 : vl < 2288 ? 2 : 3) + vl;

			for (size_t cap = need > 30 ? need - 30 : 0;
			    cap <= need + 30 && cap <= sizeof(b1); cap++) {
				struct spop_data d = spop_data_str(val, vl);

				memset(b1, 0xAA, sizeof(b1));
				memset(b2, 0xAA, sizeof(b2));
				spop_w_init(&w1, b1, cap);
				spop_w_init(&w2, b2, cap);
				spop_w_set_var(&w1, SPOP_SCOPE_TXN,
				    (const char *)val, nl, &d);
				spop_w_set_var_str(&w2, SPOP_SCOPE_TXN,
				    (const char *)val, nl, val, vl);
				assert_int_equal(w1.overflow, w2.overflow);
				assert_int_equal(w1.len, w2.len);
				assert_memory_equal(b1, b2, sizeof(b1));
				assert_int_equal(w2.overflow, cap < need);
				if (!w2.overflow)
					assert_int_equal(w2.len, need);
				fast += cap >= need + 24;
			}
		}
	}
	assert_true(fast > 0);
	/* Sticky: nothing after an overflow. */
	spop_w_init(&w2, b2, sizeof(b2));
	w2.overflow = true;
	spop_w_set_var_str(&w2, SPOP_SCOPE_TXN, "sub", 3, "x", 1);
	assert_int_equal(w2.len, 0);
}

static void
test_writer_misuse(void **state)
{
	uint8_t buf[64];
	struct spop_writer w;

	(void)state;
	spop_w_init(&w, buf, sizeof(buf));
	/* End without begin. */
	assert_int_equal(spop_w_end(&w, 1000), -1);
	assert_int_equal(w.len, 0);
	/* Begin twice: the open frame can only be rolled back. */
	spop_w_begin(&w, SPOP_FRM_T_AGENT_ACK, SPOP_FRM_FL_FIN, 1, 1);
	spop_w_begin(&w, SPOP_FRM_T_AGENT_ACK, SPOP_FRM_FL_FIN, 3, 1);
	assert_int_equal(spop_w_end(&w, 1000), -1);
	assert_int_equal(w.len, 0);
	/* Names with NUL bytes go through spop_w_kvn(). */
	{
		struct spop_data d = spop_data_null();

		spop_w_kvn(&w, "a\0b", 3, &d);
		assert_int_equal(w.len, 5);
		assert_memory_equal(buf, "\x03" "a\0b" "\x00", 5);
	}
}

/* Several frames back to back in one buffer, as one write. */
static void
test_writer_two_acks(void **state)
{
	uint8_t buf[64];
	struct spop_writer w;
	struct spop_data d = spop_data_bool(true);
	ssize_t a, b;

	(void)state;
	spop_w_init(&w, buf, sizeof(buf));
	spop_w_begin(&w, SPOP_FRM_T_AGENT_ACK, SPOP_FRM_FL_FIN, 1, 1);
	spop_w_set_var(&w, SPOP_SCOPE_TXN, "ok", 2, &d);
	a = spop_w_end(&w, 16380);
	spop_w_begin(&w, SPOP_FRM_T_AGENT_ACK, SPOP_FRM_FL_FIN, 3, 1);
	spop_w_unset_var(&w, SPOP_SCOPE_SESS, "ok", 2);
	b = spop_w_end(&w, 16380);
	assert_int_equal(a, 4 + 7 + 7);
	assert_int_equal(b, 4 + 7 + 6);
	assert_int_equal(w.len, (size_t)(a + b));
	{
		uint8_t want[64];
		size_t n = ts_hex("0000000e 67 00000001 01 01 01 03 02 02\"ok\" 11"
		    " 0000000d 67 00000001 03 01 02 02 01 02\"ok\"", want,
		    sizeof(want));
		assert_int_equal(n, w.len);
		assert_memory_equal(buf, want, n);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_peek),
		cmocka_unit_test(test_golden_headers),
		cmocka_unit_test(test_truncated_header_invalid),
		cmocka_unit_test(test_bad_ids_invalid),
		cmocka_unit_test(test_layout_only),
		cmocka_unit_test(test_writer_notify_golden),
		cmocka_unit_test(test_writer_oversize_rollback),
		cmocka_unit_test(test_writer_overflow),
		cmocka_unit_test(test_writer_piece_atomic),
		cmocka_unit_test(test_writer_set_var_str),
		cmocka_unit_test(test_writer_misuse),
		cmocka_unit_test(test_writer_two_acks),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
