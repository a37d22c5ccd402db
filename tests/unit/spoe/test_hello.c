/*
 * test_hello.c: HAPROXY-HELLO decoding, negotiation, and both HELLO
 * encoders against the golden frames (spop.md §1.6-1.7, §1.12).
 */
#include <stdint.h>
#include <string.h>

#include "spoe/spop.h"
#include "spop_golden.h"
#include "testsupport.h"

#define SLICE_EQ(s, lit)						\
	((s).len == sizeof(lit) - 1 && memcmp((s).ptr, lit, (s).len) == 0)

/* Frame ${hex} (prefix included) → its payload, checked on the way. */
static struct spop_slice
payload_of(const char *hex, uint8_t *buf, size_t cap, uint8_t type)
{
	size_t n = ts_hex(hex, buf, cap);
	struct spop_frame f;
	enum spop_err err;
	uint32_t fl;

	assert_int_equal(spop_frame_peek(buf, n, &fl), 1);
	assert_int_equal(fl, n - 4);
	assert_int_equal(spop_frame_decode(buf + 4, fl, &f, &err), 0);
	assert_int_equal(f.type, type);
	assert_int_equal(f.flags, SPOP_FRM_FL_FIN);
	assert_true(f.stream_id == 0 && f.frame_id == 0);
	return (f.payload);
}

static int
hello_hex(const char *payload_hex, struct spop_hello *h, enum spop_err *err)
{
	/* Static: the decoded slices point into it after return. */
	static uint8_t buf[512];
	size_t n = ts_hex(payload_hex, buf, sizeof(buf));

	*err = SPOP_ERR_NONE;
	return (spop_hello_decode(buf, n, h, err));
}

/* Payload pieces. */
#define KV_VSN	"12\"supported-versions\" 08 03\"2.0\" "
#define KV_MFS	"0e\"max-frame-size\" 03 fcf006 "
#define KV_CAP	"0c\"capabilities\" 08 0a\"pipelining\" "

static void
test_golden_2x(void **state)
{
	uint8_t buf[256], out[256];
	struct spop_slice p = payload_of(GOLDEN_HELLO_2X, buf, sizeof(buf), 1);
	struct spop_hello h;
	enum spop_err err = SPOP_ERR_NONE;
	uint32_t mfs = 0;
	bool pipe = false;
	ssize_t r;

	(void)state;
	assert_int_equal(spop_hello_decode(p.ptr, p.len, &h, &err), 0);
	assert_true(h.has_versions && h.has_max_frame_size &&
	    h.has_capabilities);
	assert_true(SLICE_EQ(h.versions, "2.0"));
	assert_true(h.max_frame_size == 16380);
	assert_true(SLICE_EQ(h.capabilities, "pipelining,async"));
	assert_true(SLICE_EQ(h.engine_id,
	    "c0f397ef-7909-40f6-a287-2e2f29cd5288"));
	assert_false(h.healthcheck);
	assert_true(h.versions.ptr >= p.ptr &&
	    h.engine_id.ptr + h.engine_id.len == p.ptr + p.len);

	assert_int_equal(spop_hello_negotiate(&h, 65536, &mfs, &pipe, &err), 0);
	assert_int_equal(mfs, 16380);
	assert_true(pipe);
	assert_int_equal(spop_hello_negotiate(&h, 4096, &mfs, &pipe, &err), 0);
	assert_int_equal(mfs, 4096);

	/* Our HAPROXY-HELLO encoder produces the capture byte for byte. */
	r = spop_haproxy_hello_encode(out, sizeof(out), "2.0", 16380,
	    "pipelining,async", false, "c0f397ef-7909-40f6-a287-2e2f29cd5288");
	assert_int_equal(r, 133);
	assert_memory_equal(out, buf, 133);
}

static void
test_golden_3x_check(void **state)
{
	uint8_t buf[128], out[128];
	struct spop_slice p = payload_of(GOLDEN_HELLO_3X_CHECK, buf,
	    sizeof(buf), 1);
	struct spop_hello h;
	enum spop_err err;
	uint32_t mfs = 0;
	bool pipe = true;

	(void)state;
	assert_int_equal(spop_hello_decode(p.ptr, p.len, &h, &err), 0);
	assert_true(SLICE_EQ(h.versions, "2.0"));
	assert_true(h.max_frame_size == 16380);
	assert_true(h.has_capabilities);
	assert_int_equal(h.capabilities.len, 0);
	assert_true(h.healthcheck);
	assert_int_equal(h.engine_id.len, 0);
	assert_int_equal(spop_hello_negotiate(&h, 16380, &mfs, &pipe, &err), 0);
	assert_int_equal(mfs, 16380);
	assert_false(pipe);

	assert_int_equal(spop_haproxy_hello_encode(out, sizeof(out), "2.0",
	    16380, "", true, NULL), 82);
	assert_memory_equal(out, buf, 82);
	assert_int_equal(spop_haproxy_hello_encode(out, 81, "2.0", 16380, "",
	    true, NULL), -1);
}

/* Walk an AGENT-HELLO as HAProxy would: version, max-frame-size, caps. */
static void
check_agent_hello(const uint8_t *buf, size_t n, uint64_t mfs,
    const char *caps)
{
	struct spop_frame f;
	struct spop_cursor c;
	struct spop_slice k;
	struct spop_data v;
	enum spop_err err;

	assert_int_equal(spop_frame_decode(buf + 4, n - 4, &f, &err), 0);
	assert_int_equal(f.type, SPOP_FRM_T_AGENT_HELLO);
	assert_int_equal(f.flags, SPOP_FRM_FL_FIN);
	assert_true(f.stream_id == 0 && f.frame_id == 0);
	spop_cursor_init(&c, f.payload.ptr, f.payload.len);
	assert_int_equal(spop_kv_next(&c, &k, &v), 1);
	assert_true(SLICE_EQ(k, "version"));
	assert_int_equal(v.type, SPOP_DATA_T_STR);
	assert_true(SLICE_EQ(v.u.bytes, "2.0"));
	assert_int_equal(spop_kv_next(&c, &k, &v), 1);
	assert_true(SLICE_EQ(k, "max-frame-size"));
	assert_int_equal(v.type, SPOP_DATA_T_UINT32);
	assert_true(v.u.u64 == mfs);
	assert_int_equal(spop_kv_next(&c, &k, &v), 1);
	assert_true(SLICE_EQ(k, "capabilities"));
	assert_int_equal(v.type, SPOP_DATA_T_STR);
	assert_int_equal(v.u.bytes.len, strlen(caps));
	assert_memory_equal(v.u.bytes.ptr, caps, strlen(caps));
	assert_int_equal(spop_kv_next(&c, &k, &v), 0);
}

static void
test_golden_agent_hello(void **state)
{
	uint8_t want[128], got[128];
	size_t n = ts_hex(GOLDEN_AGENT_HELLO, want, sizeof(want));

	(void)state;
	assert_int_equal(n, 68);
	check_agent_hello(want, n, 16380, "pipelining");
	assert_int_equal(spop_agent_hello_encode(got, sizeof(got), 16380,
	    "pipelining"), 68);
	assert_memory_equal(got, want, 68);
	for (size_t cap = 0; cap < 68; cap++)
		assert_int_equal(spop_agent_hello_encode(got, cap, 16380,
		    "pipelining"), -1);
}

static void
test_golden_agent_hello_vtc(void **state)
{
	uint8_t want[128], got[128];
	size_t n = ts_hex(GOLDEN_AGENT_HELLO_VTC, want, sizeof(want));

	(void)state;
	assert_int_equal(n, 58);
	check_agent_hello(want, n, 16380, "");
	assert_int_equal(spop_agent_hello_encode(got, sizeof(got), 16380, ""),
	    58);
	assert_memory_equal(got, want, 58);
}

static void
test_unknown_keys_skipped(void **state)
{
	struct spop_hello h;
	enum spop_err err;

	(void)state;
	/* Unknown keys of every type, including near-miss names. */
	assert_int_equal(hello_hex(
	    "03\"foo\" 09 02 0000 "
	    "0e\"max-frame-sizf\" 08 01\"x\" "
	    "09\"max-frame\" 03 00 "
	    "0f\"max-frame-size2\" 03 00 "
	    KV_VSN KV_MFS
	    "00 00 "                              /* empty name, NULL */
	    "0b\"capabilitie\" 04 01 "
	    KV_CAP
	    "0a\"healthchec\" 08 00 "
	    "0c\"healthcheckX\" 07 00000000000000000000000000000000",
	    &h, &err), 0);
	assert_true(SLICE_EQ(h.versions, "2.0"));
	assert_true(h.max_frame_size == 16380);
	assert_true(SLICE_EQ(h.capabilities, "pipelining"));
	assert_false(h.healthcheck);
}

static void
test_order_free_and_int_types(void **state)
{
	struct spop_hello h;
	enum spop_err err;

	(void)state;
	assert_int_equal(hello_hex(KV_CAP "09\"engine-id\" 08 01\"e\" "
	    "0b\"healthcheck\" 01 " KV_MFS KV_VSN, &h, &err), 0);
	assert_false(h.healthcheck);
	assert_true(SLICE_EQ(h.engine_id, "e"));
	/* max-frame-size of every integer type. */
	assert_int_equal(hello_hex(KV_VSN KV_CAP "0e\"max-frame-size\" 04 fcf006",
	    &h, &err), 0);
	assert_true(h.max_frame_size == 16380);
	assert_int_equal(hello_hex(KV_VSN KV_CAP "0e\"max-frame-size\" 02 fcf006",
	    &h, &err), 0);
	assert_int_equal(hello_hex(KV_VSN KV_CAP "0e\"max-frame-size\" 05 fcf006",
	    &h, &err), 0);
	assert_int_equal(hello_hex(KV_VSN KV_CAP "0e\"max-frame-size\" 03 00",
	    &h, &err), 0);
	assert_true(h.max_frame_size == 0);   /* negotiate refuses it */
}

static void
test_missing_mandatory(void **state)
{
	struct spop_hello h;
	enum spop_err err;

	(void)state;
	assert_int_equal(hello_hex(KV_MFS KV_CAP, &h, &err), -1);
	assert_int_equal(err, SPOP_ERR_NO_VSN);
	assert_int_equal(hello_hex(KV_VSN KV_CAP, &h, &err), -1);
	assert_int_equal(err, SPOP_ERR_NO_FRAME_SIZE);
	assert_int_equal(hello_hex(KV_VSN KV_MFS, &h, &err), -1);
	assert_int_equal(err, SPOP_ERR_NO_CAP);
	assert_int_equal(hello_hex("", &h, &err), -1);
	assert_int_equal(err, SPOP_ERR_NO_VSN);
	/* Close but not equal names do not count. */
	assert_int_equal(hello_hex("11\"supported-version\" 08 03\"2.0\" "
	    KV_MFS KV_CAP, &h, &err), -1);
	assert_int_equal(err, SPOP_ERR_NO_VSN);
}

static void
test_duplicates_invalid(void **state)
{
	struct spop_hello h;
	enum spop_err err;
	static const char *const dups[] = {
		KV_VSN KV_MFS KV_CAP KV_VSN,
		KV_VSN KV_MFS KV_MFS KV_CAP,
		KV_VSN KV_CAP KV_MFS KV_CAP,
		KV_VSN KV_MFS KV_CAP "0b\"healthcheck\" 11 0b\"healthcheck\" 01",
		KV_VSN KV_MFS KV_CAP "09\"engine-id\" 08 00 09\"engine-id\" 08 00",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(dups) / sizeof(dups[0]); i++) {
		assert_int_equal(hello_hex(dups[i], &h, &err), -1);
		assert_int_equal(err, SPOP_ERR_INVALID);
	}
}

static void
test_wrong_types_invalid(void **state)
{
	struct spop_hello h;
	enum spop_err err;
	static const char *const bad[] = {
		"12\"supported-versions\" 09 03\"2.0\" " KV_MFS KV_CAP,
		"12\"supported-versions\" 00 " KV_MFS KV_CAP,
		KV_VSN "0e\"max-frame-size\" 08 05\"16380\" " KV_CAP,
		KV_VSN "0e\"max-frame-size\" 11 " KV_CAP,
		KV_VSN "0e\"max-frame-size\" 00 " KV_CAP,
		KV_VSN KV_MFS "0c\"capabilities\" 09 00",
		KV_VSN KV_MFS "0c\"capabilities\" 00",
		KV_VSN KV_MFS KV_CAP "0b\"healthcheck\" 03 01",
		KV_VSN KV_MFS KV_CAP "0b\"healthcheck\" 08 04\"true\"",
		KV_VSN KV_MFS KV_CAP "09\"engine-id\" 00",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(hello_hex(bad[i], &h, &err), -1);
		assert_int_equal(err, SPOP_ERR_INVALID);
	}
	/* A negative max-frame-size is "too small", as HAProxy reads it. */
	assert_int_equal(hello_hex(KV_VSN KV_CAP
	    "0e\"max-frame-size\" 04 ff f0 fe fe fe fe fe fe fe 0e", &h, &err),
	    -1);
	assert_int_equal(err, SPOP_ERR_BAD_FRAME_SIZE);
}

static void
test_truncated_invalid(void **state)
{
	uint8_t buf[256];
	size_t n = ts_hex(KV_VSN KV_MFS KV_CAP, buf, sizeof(buf));
	struct spop_hello h;
	enum spop_err err;

	(void)state;
	/* Every cut that is not on a KV boundary is INVALID. */
	for (size_t k = 1; k < n; k++) {
		if (k == 24 || k == 24 + 19)
			continue;   /* clean boundaries: missing keys */
		err = SPOP_ERR_NONE;
		assert_int_equal(spop_hello_decode(buf, k, &h, &err), -1);
		assert_int_equal(err, SPOP_ERR_INVALID);
	}
	assert_int_equal(spop_hello_decode(buf, 24, &h, &err), -1);
	assert_int_equal(err, SPOP_ERR_NO_FRAME_SIZE);
	assert_int_equal(spop_hello_decode(buf, n, &h, &err), 0);
	/* A bad type id inside an unknown key is still malformed. */
	assert_int_equal(hello_hex(KV_VSN KV_MFS KV_CAP "03\"foo\" 0c", &h,
	    &err), -1);
	assert_int_equal(err, SPOP_ERR_INVALID);
}

/* Build a hello with the given versions, size and capabilities. */
static struct spop_hello
mk(const char *vsn, uint64_t mfs, const char *caps)
{
	struct spop_hello h;

	memset(&h, 0, sizeof(h));
	h.has_versions = h.has_max_frame_size = h.has_capabilities = true;
	h.versions.ptr = (const uint8_t *)vsn;
	h.versions.len = strlen(vsn);
	h.max_frame_size = mfs;
	h.capabilities.ptr = (const uint8_t *)caps;
	h.capabilities.len = strlen(caps);
	return (h);
}

static void
test_negotiate_versions(void **state)
{
	static const char *const ok[] = {
		"2.0", "2.1", " 2.0 ", "2 . 0", "1.0,2.0", "1.0, 2.0",
		"garbage,2.0", "2.0,garbage", "3.0, 2.5", "02.0", "2.10",
		",2.0,", "\t2.0",
	};
	static const char *const bad[] = {
		"", "1.0", "1.0,1.5", "garbage", "3.0", "2", "2.", ".0",
		"2.0x", "x2.0", "20.0", "2.0.0", "2,0", "12.0", "2..0", ",",
		"99999999999999999999.0",
	};
	struct spop_hello h;
	enum spop_err err;
	uint32_t mfs;
	bool pipe;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		h = mk(ok[i], 16380, "");
		if (spop_hello_negotiate(&h, 16380, &mfs, &pipe, &err) != 0)
			fail_msg("refused versions \"%s\"", ok[i]);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		h = mk(bad[i], 16380, "");
		err = SPOP_ERR_NONE;
		if (spop_hello_negotiate(&h, 16380, &mfs, &pipe, &err) != -1)
			fail_msg("accepted versions \"%s\"", bad[i]);
		assert_int_equal(err, SPOP_ERR_BAD_VSN);
	}
}

static void
test_negotiate_frame_size(void **state)
{
	struct spop_hello h;
	enum spop_err err;
	uint32_t mfs = 0;
	bool pipe;

	(void)state;
	h = mk("2.0", 255, "");
	assert_int_equal(spop_hello_negotiate(&h, 16380, &mfs, &pipe, &err), -1);
	assert_int_equal(err, SPOP_ERR_BAD_FRAME_SIZE);
	h = mk("2.0", 0, "");
	assert_int_equal(spop_hello_negotiate(&h, 16380, &mfs, &pipe, &err), -1);
	assert_int_equal(err, SPOP_ERR_BAD_FRAME_SIZE);
	h = mk("2.0", 256, "");
	assert_int_equal(spop_hello_negotiate(&h, 16380, &mfs, &pipe, &err), 0);
	assert_int_equal(mfs, 256);
	h = mk("2.0", 1ULL << 40, "");
	assert_int_equal(spop_hello_negotiate(&h, 65536, &mfs, &pipe, &err), 0);
	assert_int_equal(mfs, 65536);
	h = mk("2.0", UINT64_MAX, "");
	assert_int_equal(spop_hello_negotiate(&h, 16380, &mfs, &pipe, &err), 0);
	assert_int_equal(mfs, 16380);
	/* Version is checked before size. */
	h = mk("1.0", 10, "");
	assert_int_equal(spop_hello_negotiate(&h, 16380, &mfs, &pipe, &err), -1);
	assert_int_equal(err, SPOP_ERR_BAD_VSN);
	/* A hello without its mandatory keys is refused here too. */
	h = mk("2.0", 16380, "");
	h.has_capabilities = false;
	assert_int_equal(spop_hello_negotiate(&h, 16380, &mfs, &pipe, &err), -1);
	assert_int_equal(err, SPOP_ERR_NO_CAP);
}

static void
test_negotiate_pipelining(void **state)
{
	static const struct {
		const char *caps;
		bool want;
	} cases[] = {
		{ "pipelining", true },
		{ "pipelining,async", true },
		{ "async,pipelining", true },
		{ " async , pipelining ", true },
		{ "fragmentation,\tpipelining", true },
		{ "", false },
		{ "async", false },
		{ "pipelining2", false },
		{ "xpipelining", false },
		{ "pipe", false },
		{ "pipe lining", false },
		{ "pipelining;async", false },
		{ "PIPELINING", false },
	};
	struct spop_hello h;
	enum spop_err err;
	uint32_t mfs;
	bool pipe;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		h = mk("2.0", 16380, cases[i].caps);
		pipe = !cases[i].want;
		assert_int_equal(spop_hello_negotiate(&h, 16380, &mfs, &pipe,
		    &err), 0);
		if (pipe != cases[i].want)
			fail_msg("capabilities \"%s\"", cases[i].caps);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden_2x),
		cmocka_unit_test(test_golden_3x_check),
		cmocka_unit_test(test_golden_agent_hello),
		cmocka_unit_test(test_golden_agent_hello_vtc),
		cmocka_unit_test(test_unknown_keys_skipped),
		cmocka_unit_test(test_order_free_and_int_types),
		cmocka_unit_test(test_missing_mandatory),
		cmocka_unit_test(test_duplicates_invalid),
		cmocka_unit_test(test_wrong_types_invalid),
		cmocka_unit_test(test_truncated_invalid),
		cmocka_unit_test(test_negotiate_versions),
		cmocka_unit_test(test_negotiate_frame_size),
		cmocka_unit_test(test_negotiate_pipelining),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
