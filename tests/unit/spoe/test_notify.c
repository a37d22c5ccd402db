/*
 * test_notify.c: NOTIFY payloads (spop.md §1.4, §1.12).
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
	size_t n = ts_hex(GOLDEN_NOTIFY, buf, sizeof(buf));
	struct spop_frame f;
	struct spop_cursor c;
	struct spop_message m;
	struct spop_slice k;
	struct spop_data v;
	enum spop_err err;
	uint32_t fl;

	(void)state;
	assert_int_equal(n, 52);
	assert_int_equal(spop_frame_peek(buf, n, &fl), 1);
	assert_int_equal(fl, 48);
	assert_int_equal(spop_frame_decode(buf + 4, fl, &f, &err), 0);
	assert_int_equal(f.type, SPOP_FRM_T_HAPROXY_NOTIFY);
	assert_int_equal(f.flags, SPOP_FRM_FL_FIN);
	assert_true(f.stream_id == 300 && f.frame_id == 1);

	spop_cursor_init(&c, f.payload.ptr, f.payload.len);
	assert_int_equal(spop_message_next(&c, &m), 1);
	assert_true(SLICE_EQ(m.name, "check-id"));
	assert_int_equal(m.nargs, 3);
	assert_ptr_equal(m.args.end, buf + n);

	assert_int_equal(spop_kv_next(&m.args, &k, &v), 1);
	assert_true(SLICE_EQ(k, "ip"));
	assert_int_equal(v.type, SPOP_DATA_T_IPV4);
	assert_memory_equal(v.u.ipv4, "\xc0\x00\x02\x0a", 4);
	assert_int_equal(spop_kv_next(&m.args, &k, &v), 1);
	assert_true(SLICE_EQ(k, "tls"));
	assert_int_equal(v.type, SPOP_DATA_T_BOOL);
	assert_true(v.u.b);
	assert_int_equal(spop_kv_next(&m.args, &k, &v), 1);
	assert_true(SLICE_EQ(k, "auth"));
	assert_int_equal(v.type, SPOP_DATA_T_STR);
	assert_true(SLICE_EQ(v.u.bytes, "Bearer abc"));
	assert_int_equal(spop_kv_next(&m.args, &k, &v), 0);

	assert_int_equal(spop_message_next(&c, &m), 0);
	assert_ptr_equal(c.p, buf + n);
}

/* Encoding side is in test_frame.c (test_writer_notify_golden). */

static void
test_empty_notify(void **state)
{
	uint8_t buf[16];
	size_t n = ts_hex("00000007 03 00000001 01 01", buf, sizeof(buf));
	struct spop_frame f;
	struct spop_cursor c;
	struct spop_message m;
	enum spop_err err;

	(void)state;
	assert_int_equal(spop_frame_decode(buf + 4, n - 4, &f, &err), 0);
	assert_int_equal(f.payload.len, 0);
	spop_cursor_init(&c, f.payload.ptr, f.payload.len);
	assert_int_equal(spop_message_next(&c, &m), 0);
}

static void
test_several_messages(void **state)
{
	uint8_t buf[64];
	size_t n = ts_hex("01\"a\" 00  01\"b\" 01 00 00  00 02 01\"x\" 11 01\"y\" 01",
	    buf, sizeof(buf));
	struct spop_cursor c;
	struct spop_message m;
	struct spop_slice k;
	struct spop_data v;

	(void)state;
	spop_cursor_init(&c, buf, n);
	assert_int_equal(spop_message_next(&c, &m), 1);
	assert_true(SLICE_EQ(m.name, "a"));
	assert_int_equal(m.nargs, 0);
	assert_int_equal(spop_kv_next(&m.args, &k, &v), 0);
	assert_int_equal(spop_message_next(&c, &m), 1);
	assert_true(SLICE_EQ(m.name, "b"));
	assert_int_equal(m.nargs, 1);
	assert_int_equal(spop_kv_next(&m.args, &k, &v), 1);
	assert_int_equal(k.len, 0);   /* argument without name */
	assert_int_equal(v.type, SPOP_DATA_T_NULL);
	assert_int_equal(spop_kv_next(&m.args, &k, &v), 0);
	/* An empty message name is accepted too. */
	assert_int_equal(spop_message_next(&c, &m), 1);
	assert_int_equal(m.name.len, 0);
	assert_int_equal(m.nargs, 2);
	assert_int_equal(spop_message_next(&c, &m), 0);
}

/* NB-ARGS is an unsigned byte: 128..255 arguments work. */
static void
test_many_args(void **state)
{
	static const unsigned counts[] = { 127, 128, 200, 255 };
	uint8_t buf[4096];

	(void)state;
	for (size_t t = 0; t < sizeof(counts) / sizeof(counts[0]); t++) {
		struct spop_writer w;
		struct spop_cursor c;
		struct spop_message m;
		struct spop_slice k;
		struct spop_data v;
		unsigned i;

		spop_w_init(&w, buf, sizeof(buf));
		spop_w_message(&w, "m", (uint8_t)counts[t]);
		for (i = 0; i < counts[t]; i++) {
			struct spop_data d = spop_data_int32((int32_t)i - 100);

			spop_w_kv(&w, "", &d);
		}
		assert_false(w.overflow);
		spop_cursor_init(&c, buf, w.len);
		assert_int_equal(spop_message_next(&c, &m), 1);
		assert_int_equal(m.nargs, counts[t]);
		for (i = 0; spop_kv_next(&m.args, &k, &v) == 1; i++) {
			assert_int_equal(k.len, 0);
			assert_true(v.u.s64 == (int64_t)i - 100);
		}
		assert_int_equal(i, counts[t]);
		assert_int_equal(spop_message_next(&c, &m), 0);
	}
}

static void
test_malformed(void **state)
{
	static const char *const bad[] = {
		"03\"chk\"",                        /* no NB-ARGS */
		"05\"chk\"",                        /* name past end */
		"03\"chk\" 03 02\"ip\" 00 01\"x\" 00",    /* NB-ARGS 3, 2 given */
		"03\"chk\" 01 02\"ip\"",                /* arg without value */
		"03\"chk\" 01 02\"ip\" 0c",             /* arg of type 12 */
		"03\"chk\" 02 02\"ip\" 00 01\"x\" 08 05\"ab\"",   /* 2nd arg cut */
		"03\"chk\" 01 02\"ip\" 06 c0 00",       /* IPv4 cut */
		"f0 80 80 80 80 80 80 80 80 80 00",  /* 11-byte name length */
		"03\"chk\" 01 f0",                    /* arg name length cut */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t buf[64];
		size_t n = ts_hex(bad[i], buf, sizeof(buf));
		struct spop_cursor c;
		struct spop_message m;

		spop_cursor_init(&c, buf, n);
		if (spop_message_next(&c, &m) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_ptr_equal(c.p, buf);   /* cursor unchanged */
	}
}

/*
 * An error in a later argument is reported by spop_message_next(), not
 * discovered half-way through the argument walk; the first message of the
 * payload is still delivered.
 */
static void
test_error_in_second_message(void **state)
{
	uint8_t buf[64];
	size_t n = ts_hex("01\"a\" 01 01\"x\" 11  01\"b\" 02 01\"y\" 11 01\"z\" 0d",
	    buf, sizeof(buf));
	struct spop_cursor c;
	struct spop_message m;

	(void)state;
	spop_cursor_init(&c, buf, n);
	assert_int_equal(spop_message_next(&c, &m), 1);
	assert_true(SLICE_EQ(m.name, "a"));
	assert_int_equal(spop_message_next(&c, &m), -1);
}

/* NB-ARGS 0 followed by stray bytes: those must form a valid message. */
static void
test_trailing_garbage(void **state)
{
	uint8_t buf[16];
	size_t n = ts_hex("01\"a\" 00 ff", buf, sizeof(buf));
	struct spop_cursor c;
	struct spop_message m;

	(void)state;
	spop_cursor_init(&c, buf, n);
	assert_int_equal(spop_message_next(&c, &m), 1);
	assert_int_equal(spop_message_next(&c, &m), -1);
}

/* What a spop_arg_fn saw: each argument's message, name and value. */
struct seen {
	unsigned n;
	const uint8_t *msg[8];
	struct spop_slice name[8];
	struct spop_data val[8];
	unsigned nargs[8];
};

static void
see(void *arg, const struct spop_message *m, const struct spop_slice *name,
    const struct spop_data *value)
{
	struct seen *s = arg;

	assert_true(s->n < 8);
	s->msg[s->n] = m->name.ptr;
	s->nargs[s->n] = m->nargs;
	s->name[s->n] = *name;
	s->val[s->n] = *value;
	s->n++;
}

/*
 * spop_message_walk() hands over, in order, exactly the arguments that
 * walking m->args afterwards yields, each with its message's name and
 * count set, and leaves the cursor and the message as spop_message_next()
 * does.
 */
static void
test_walk_matches_next(void **state)
{
	uint8_t buf[64];
	size_t n = ts_hex("01\"a\" 02 01\"x\" 11 01\"y\" 03 2a  01\"b\" 00 "
	    "01\"c\" 01 00 00", buf, sizeof(buf));
	struct spop_cursor c1, c2;
	struct spop_message m1, m2;
	struct seen s = { 0 };
	struct spop_slice k;
	struct spop_data v;
	unsigned seen_at = 0;
	int r1, r2;

	(void)state;
	spop_cursor_init(&c1, buf, n);
	spop_cursor_init(&c2, buf, n);
	do {
		r1 = spop_message_next(&c1, &m1);
		r2 = spop_message_walk(&c2, &m2, see, &s);
		assert_int_equal(r1, r2);
		assert_ptr_equal(c1.p, c2.p);
		if (r1 != 1)
			break;
		assert_true(m1.name.ptr == m2.name.ptr &&
		    m1.name.len == m2.name.len && m1.nargs == m2.nargs);
		assert_ptr_equal(m1.args.p, m2.args.p);
		assert_ptr_equal(m1.args.end, m2.args.end);
		while (spop_kv_next(&m1.args, &k, &v) == 1) {
			assert_true(seen_at < s.n);
			assert_ptr_equal(s.msg[seen_at], m1.name.ptr);
			assert_int_equal(s.nargs[seen_at], m1.nargs);
			assert_ptr_equal(s.name[seen_at].ptr, k.ptr);
			assert_int_equal(s.name[seen_at].len, k.len);
			assert_int_equal(s.val[seen_at].type, v.type);
			seen_at++;
		}
	} while (r1 == 1);
	assert_int_equal(r1, 0);
	assert_int_equal(s.n, 3);               /* x, y, and c's empty name */
	assert_int_equal(seen_at, 3);
	assert_true(SLICE_EQ(s.name[1], "y") && s.val[1].type == SPOP_DATA_T_UINT32 &&
	    s.val[1].u.u64 == 42);
	assert_int_equal(s.name[2].len, 0);
	assert_int_equal(s.val[2].type, SPOP_DATA_T_NULL);
}

/*
 * A bad argument fails the walk: -1, the cursor unchanged, and the
 * callback has seen only the valid arguments before it (the caller drops
 * them); a NULL callback is spop_message_next().
 */
static void
test_walk_error(void **state)
{
	uint8_t buf[32];
	/* Three arguments announced: a good one, one whose type is 0x0d
	 * (no such type), one never reached. */
	size_t n = ts_hex("01\"a\" 03 01\"x\" 11 01\"y\" 0d 01\"z\" 00",
	    buf, sizeof(buf));
	struct spop_cursor c;
	struct spop_message m;
	struct seen s = { 0 };

	(void)state;
	spop_cursor_init(&c, buf, n);
	assert_int_equal(spop_message_walk(&c, &m, see, &s), -1);
	assert_ptr_equal(c.p, buf);
	assert_int_equal(s.n, 1);
	assert_true(SLICE_EQ(s.name[0], "x"));
	/* Fewer arguments than announced: the same. */
	s.n = 0;
	n = ts_hex("01\"a\" 02 01\"x\" 11", buf, sizeof(buf));
	spop_cursor_init(&c, buf, n);
	assert_int_equal(spop_message_walk(&c, &m, see, &s), -1);
	assert_ptr_equal(c.p, buf);
	assert_int_equal(s.n, 1);
	assert_int_equal(spop_message_walk(&c, &m, NULL, NULL), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden_decode),
		cmocka_unit_test(test_empty_notify),
		cmocka_unit_test(test_several_messages),
		cmocka_unit_test(test_many_args),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_error_in_second_message),
		cmocka_unit_test(test_trailing_garbage),
		cmocka_unit_test(test_walk_matches_next),
		cmocka_unit_test(test_walk_error),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
