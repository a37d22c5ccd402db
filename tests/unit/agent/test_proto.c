/*
 * test_proto.c: the SPOP connection state machine without sockets, and
 * the ACK built from a verdict.
 */
#include <stdlib.h>
#include <string.h>

#include "spoe/spop.h"

#include "answer.h"
#include "config-t.h"
#include "log.h"
#include "proto.h"
#include "verdict.h"
#include "util.h"
#include "testsupport.h"

struct seen {
	int calls;
	uint64_t sid, fid;
	enum spop_err ret;
};

static enum spop_err
on_notify(void *arg, uint64_t sid, uint64_t fid, const uint8_t *p, size_t len,
    struct spop_writer *out)
{
	struct seen *s = arg;
	struct verdict v;

	(void)p;
	(void)len;
	s->calls++;
	s->sid = sid;
	s->fid = fid;
	if (s->ret != SPOP_ERR_NONE)
		return (s->ret);
	verdict_init(&v);
	verdict_set(&v, REASON_OK, NULL);
	return (answer_encode(&v, ANSWER_DEFAULT, sid, fid, out, 16380) > 0 ? SPOP_ERR_NONE :
	    SPOP_ERR_RES);
}

/* The 2.x HAPROXY-HELLO of shared/reference/spop.md §1.12. */
static const char *hello_hex =
    "00000081 01 00000001 00 00"
    "12 \"supported-versions\" 08 03 \"2.0\""
    "0e \"max-frame-size\" 03 fc f0 06"
    "0c \"capabilities\" 08 10 \"pipelining,async\""
    "09 \"engine-id\" 08 24 \"c0f397ef-7909-40f6-a287-2e2f29cd5288\"";

/* Its answer, the 68-byte AGENT-HELLO of §1.12. */
static const char *agent_hello_hex =
    "00000040 65 00000001 00 00"
    "07 \"version\" 08 03 \"2.0\""
    "0e \"max-frame-size\" 03 fc f0 06"
    "0c \"capabilities\" 08 0a \"pipelining\"";

static uint8_t outbuf[65536];

static void
setup(struct proto *p, struct seen *s, struct spop_writer *w)
{
	memset(s, 0, sizeof(*s));
	proto_init(p, 65532, on_notify, s);
	spop_w_init(w, outbuf, sizeof(outbuf));
}

static void
test_hello(void **state)
{
	uint8_t in[256], want[128];
	size_t n = ts_hex(hello_hex, in, sizeof(in));
	size_t wn = ts_hex(agent_hello_hex, want, sizeof(want));
	struct proto p;
	struct seen s;
	struct spop_writer w;

	(void)state;
	setup(&p, &s, &w);
	/* Byte by byte: nothing happens until the frame is whole. */
	for (size_t i = 0; i < n - 1; i++)
		assert_int_equal(proto_feed(&p, in, i, &w), 0);
	assert_int_equal(proto_feed(&p, in, n, &w), n);
	assert_int_equal(p.state, PROTO_READY);
	assert_true(p.hello_sent);
	assert_int_equal(p.max_frame_size, 16380);
	assert_true(p.pipelining);
	assert_int_equal(w.len, wn);
	assert_memory_equal(outbuf, want, wn);
}

static size_t
do_hello(struct proto *p, struct spop_writer *w)
{
	uint8_t in[256];
	size_t n = ts_hex(hello_hex, in, sizeof(in));

	assert_int_equal(proto_feed(p, in, n, w), n);
	w->len = 0;
	return (n);
}

static void
test_notify_ack(void **state)
{
	uint8_t in[64];
	/* NOTIFY sid 300 fid 1, message check-request with no args. */
	size_t n = ts_hex("00000017 03 00000001 fc03 01 0d \"check-request\" 00",
	    in, sizeof(in));
	struct proto p;
	struct seen s;
	struct spop_writer w;
	struct spop_frame f;
	enum spop_err err;

	(void)state;
	setup(&p, &s, &w);
	do_hello(&p, &w);
	assert_int_equal(proto_feed(&p, in, n, &w), n);
	assert_int_equal(s.calls, 1);
	assert_int_equal(s.sid, 300);
	assert_int_equal(s.fid, 1);
	assert_int_equal(spop_frame_decode(outbuf + 4, w.len - 4, &f, &err), 0);
	assert_int_equal(f.type, SPOP_FRM_T_AGENT_ACK);
	assert_int_equal(f.flags, SPOP_FRM_FL_FIN);
	assert_int_equal(f.stream_id, 300);
	assert_int_equal(f.frame_id, 1);
}

static void
expect_disconnect(const struct spop_writer *w, size_t off, enum spop_err want)
{
	struct spop_frame f;
	struct spop_disconnect d;
	enum spop_err err;
	uint32_t flen;

	assert_int_equal(spop_frame_peek(outbuf + off, w->len - off, &flen), 1);
	assert_int_equal(spop_frame_decode(outbuf + off + 4, flen, &f, &err), 0);
	assert_int_equal(f.type, SPOP_FRM_T_AGENT_DISCON);
	assert_int_equal(spop_disconnect_decode(f.payload.ptr, f.payload.len, &d,
	    &err), 0);
	assert_true(d.has_status);
	assert_int_equal(d.status, want);
}

static void
test_errors(void **state)
{
	static const struct {
		const char *hex;
		bool hello;
		enum spop_err want;
	} cases[] = {
		{ "00000000", true, SPOP_ERR_INVALID },                 /* zero length */
		{ "00003ffd 03", true, SPOP_ERR_TOO_BIG },              /* 16381 > 16380 */
		{ "00000016 03 00000003 01 01 0d \"check-request\" 00", true,
		  SPOP_ERR_FRAG_NOT_SUP },                              /* ABORT */
		{ "00000007 01 00000001 00 00", true, SPOP_ERR_INVALID },  /* 2nd HELLO */
		{ "00000007 2a 00000001 00 00", true, SPOP_ERR_INVALID },    /* unknown type */
		{ "00000016 03 00000000 01 01 0d \"check-request\" 00", true,
		  SPOP_ERR_FRAG_NOT_SUP },                              /* FIN clear */
		{ "00000016 03 00000001 01 01 0d \"check-request\" 00", false,
		  SPOP_ERR_INVALID },                                   /* NOTIFY first */
		{ "0000000f 03 00000001 ffffffffffffffffffff", true, SPOP_ERR_INVALID },
	};
	uint8_t in[128];

	(void)state;
	ts_log_capture_start();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct proto p;
		struct seen s;
		struct spop_writer w;
		size_t n = ts_hex(cases[i].hex, in, sizeof(in));

		setup(&p, &s, &w);
		if (cases[i].hello)
			do_hello(&p, &w);
		(void)proto_feed(&p, in, n, &w);
		if (p.state != PROTO_CLOSING)
			fail_msg("case %zu: not closing", i);
		expect_disconnect(&w, 0, cases[i].want);
		assert_int_equal(s.calls, 0);
	}
	ts_log_capture_stop();
}

static void
test_callback_status(void **state)
{
	uint8_t in[64];
	size_t n = ts_hex("00000016 03 00000001 05 01 0d \"check-request\" 00",
	    in, sizeof(in));
	struct proto p;
	struct seen s;
	struct spop_writer w;

	(void)state;
	ts_log_capture_start();
	setup(&p, &s, &w);
	do_hello(&p, &w);
	s.ret = SPOP_ERR_INVALID;
	(void)proto_feed(&p, in, n, &w);
	expect_disconnect(&w, 0, SPOP_ERR_INVALID);
	ts_log_capture_stop();
}

static void
test_eof_and_disconnect(void **state)
{
	uint8_t in[64];
	size_t n = ts_hex("00000025 02 00000001 00 00 0b \"status-code\" 03 00"
	    "07 \"message\" 08 06 \"normal\"", in, sizeof(in));
	struct proto p;
	struct seen s;
	struct spop_writer w;

	(void)state;
	ts_log_capture_start();
	/* HAPROXY-DISCONNECT: answered with status 0, then closing. */
	setup(&p, &s, &w);
	do_hello(&p, &w);
	(void)proto_feed(&p, in, n, &w);
	assert_true(p.peer_disconnected);
	expect_disconnect(&w, 0, SPOP_ERR_NONE);

	/* EOF inside a frame: invalid; EOF between frames: just closing. */
	setup(&p, &s, &w);
	do_hello(&p, &w);
	proto_eof(&p, 3, &w);
	expect_disconnect(&w, 0, SPOP_ERR_INVALID);
	setup(&p, &s, &w);
	do_hello(&p, &w);
	proto_eof(&p, 0, &w);
	assert_int_equal(p.state, PROTO_CLOSING);
	assert_int_equal(w.len, 0);
	ts_log_capture_stop();
}

static void
test_healthcheck(void **state)
{
	uint8_t in[128];
	/* The 82-byte 3.x spop-check HELLO (spop.md §1.12). */
	size_t n = ts_hex("0000004e 01 00000001 00 00 12 \"supported-versions\" 08 03"
	    " \"2.0\" 0e \"max-frame-size\" 03 fcf006 0c \"capabilities\" 08 00"
	    " 0b \"healthcheck\" 11", in, sizeof(in));
	struct proto p;
	struct seen s;
	struct spop_writer w;

	(void)state;
	setup(&p, &s, &w);
	assert_int_equal(proto_feed(&p, in, n, &w), n);
	assert_true(p.healthcheck);
	assert_true(p.hello_sent);
	assert_int_equal(p.state, PROTO_CLOSING);
	assert_int_equal(outbuf[4], SPOP_FRM_T_AGENT_HELLO);
	assert_false(p.pipelining);
}

static void
test_output_room(void **state)
{
	uint8_t in[256];
	size_t one = ts_hex("00000016 03 00000001 01 01 0d \"check-request\" 00",
	    in, sizeof(in));
	struct proto p;
	struct seen s;
	struct spop_writer w;

	(void)state;
	memcpy(in + one, in, one);
	setup(&p, &s, &w);
	do_hello(&p, &w);
	/* Room for one frame only: the second NOTIFY waits for a flush. */
	w.cap = proto_out_room(&p) + 10;
	assert_int_equal(proto_feed(&p, in, 2 * one, &w), one);
	assert_int_equal(s.calls, 1);
	w.len = 0;
	assert_int_equal(proto_feed(&p, in + one, one, &w), one);
	assert_int_equal(s.calls, 2);
}

/*
 * Before HELLO and once closing only AGENT-HELLO or AGENT-DISCONNECT can
 * be sent: the room asked is small (not the configured max-frame-size, up
 * to 16 MiB) and is enough for them.
 */
static void
test_small_room(void **state)
{
	uint8_t in[256], want[128], buf[PROTO_SMALL_ROOM];
	size_t n = ts_hex(hello_hex, in, sizeof(in));
	size_t wn = ts_hex(agent_hello_hex, want, sizeof(want));
	static const enum spop_err statuses[] = { SPOP_ERR_NONE, SPOP_ERR_IO,
	    SPOP_ERR_TOUT, SPOP_ERR_TOO_BIG, SPOP_ERR_INVALID,
	    SPOP_ERR_NO_VSN, SPOP_ERR_NO_FRAME_SIZE, SPOP_ERR_NO_CAP,
	    SPOP_ERR_BAD_VSN, SPOP_ERR_BAD_FRAME_SIZE, SPOP_ERR_FRAG_NOT_SUP,
	    SPOP_ERR_INTERLACED, SPOP_ERR_FRAMEID_NOTFND, SPOP_ERR_RES,
	    SPOP_ERR_UNKNOWN };
	struct proto p;
	struct seen s;
	struct spop_writer w;
	struct spop_frame f;
	enum spop_err err;

	(void)state;
	assert_int_equal(PROTO_SMALL_ROOM, 260);
	memset(&s, 0, sizeof(s));
	proto_init(&p, SPOP_MAX_FRAME_SIZE, on_notify, &s);
	assert_int_equal(proto_out_room(&p), PROTO_SMALL_ROOM);
	/* The HELLO is answered within exactly that room. */
	spop_w_init(&w, buf, sizeof(buf));
	assert_int_equal(proto_feed(&p, in, n, &w), n);
	assert_int_equal(p.state, PROTO_READY);
	assert_int_equal(w.len, wn);
	assert_memory_equal(buf, want, wn);
	/* Ready: the negotiated size (16380), not our 16 MiB. */
	assert_int_equal(proto_out_room(&p), 16380 + 4);
	/* Closing: small again. */
	spop_w_init(&w, buf, sizeof(buf));
	proto_disconnect(&p, SPOP_ERR_NONE, "agent is shutting down", &w);
	assert_int_equal(p.state, PROTO_CLOSING);
	assert_int_equal(proto_out_room(&p), PROTO_SMALL_ROOM);
	assert_true(w.len > 0);

	/* Every DISCONNECT we send fits: each status with its own text, and
	 * the longest reason proto.c gives. */
	for (size_t i = 0; i <= sizeof(statuses) / sizeof(statuses[0]); i++) {
		bool ours = i == sizeof(statuses) / sizeof(statuses[0]);

		proto_init(&p, 65532, on_notify, &s);
		spop_w_init(&w, buf, sizeof(buf));
		proto_disconnect(&p, ours ? SPOP_ERR_INVALID : statuses[i],
		    ours ? "HELLO with non-zero stream or frame id" : NULL, &w);
		if (w.len == 0)
			fail_msg("status %d: no room for the DISCONNECT",
			    ours ? -1 : (int)statuses[i]);
		assert_int_equal(spop_frame_decode(buf + 4, w.len - 4, &f, &err), 0);
		assert_int_equal(f.type, SPOP_FRM_T_AGENT_DISCON);
	}
	/* A NOTIFY before HELLO is refused within the small room too. */
	n = ts_hex("00000016 03 00000001 01 01 0d \"check-request\" 00", in,
	    sizeof(in));
	ts_log_capture_start();
	proto_init(&p, 65532, on_notify, &s);
	spop_w_init(&w, buf, sizeof(buf));
	assert_int_equal(proto_feed(&p, in, n, &w), n);
	ts_log_capture_stop();
	assert_int_equal(p.state, PROTO_CLOSING);
	assert_int_equal(p.status, SPOP_ERR_INVALID);
	assert_false(p.hello_sent);
	assert_true(w.len > 0);
}

/* A refused HELLO is no handshake (conn.c counts hello_total by it). */
static void
test_hello_refused(void **state)
{
	uint8_t in[256];
	size_t n = ts_hex(hello_hex, in, sizeof(in));
	struct proto p;
	struct seen s;
	struct spop_writer w;

	(void)state;
	ts_log_capture_start();
	/* Stream id 1 instead of 0. */
	in[9] = 1;
	setup(&p, &s, &w);
	assert_int_equal(proto_feed(&p, in, n, &w), n);
	assert_int_equal(p.state, PROTO_CLOSING);
	assert_false(p.hello_sent);
	expect_disconnect(&w, 0, SPOP_ERR_INVALID);
	/* max-frame-size 100, below the protocol minimum. */
	n = ts_hex("0000003f 01 00000001 00 00"
	    "12 \"supported-versions\" 08 03 \"2.0\""
	    "0e \"max-frame-size\" 03 64"
	    "0c \"capabilities\" 08 00", in, sizeof(in));
	setup(&p, &s, &w);
	assert_int_equal(proto_feed(&p, in, n, &w), n);
	assert_int_equal(p.state, PROTO_CLOSING);
	assert_false(p.hello_sent);
	expect_disconnect(&w, 0, SPOP_ERR_BAD_FRAME_SIZE);
	ts_log_capture_stop();
}

static void
test_answer_fallback(void **state)
{
	struct verdict v;
	uint8_t buf[4096];
	struct spop_writer w;
	struct spop_frame f;
	struct spop_cursor c;
	struct spop_action a;
	enum spop_err err;
	char big[1000];
	int nact = 0;
	ssize_t n;

	(void)state;
	verdict_init(&v);
	verdict_set(&v, REASON_SCOPE_MISSING, NULL);
	v.route = "orders";
	memset(big, 'x', sizeof(big));
	for (int i = 0; i < 3; i++)
		assert_int_equal(verdict_add(&v, "sub", big, sizeof(big)), 0);
	assert_int_equal(verdict_add(&v, "bad", "a\r\nb", 4), -1);

	/* Enough room: every variable. */
	spop_w_init(&w, buf, sizeof(buf));
	n = answer_encode(&v, ANSWER_DEFAULT, 5, 1, &w, 4000);
	assert_true(n > 3000);
	/* Frame size 300: only allow/status/reason/route. */
	ts_log_capture_start();
	spop_w_init(&w, buf, sizeof(buf));
	n = answer_encode(&v, ANSWER_DEFAULT, 5, 1, &w, 300);
	ts_log_capture_stop();
	assert_true(n > 0 && n < 300);
	assert_int_equal(spop_frame_decode(buf + 4, (size_t)n - 4, &f, &err), 0);
	spop_cursor_init(&c, f.payload.ptr, f.payload.len);
	while (spop_action_next(&c, &a) == 1) {
		nact++;
		assert_int_equal(a.scope, SPOP_SCOPE_TXN);
		if (MEM_EQ_LIT(a.name.ptr, a.name.len, "status"))
			assert_int_equal(a.value.u.s64, 403);
		if (MEM_EQ_LIT(a.name.ptr, a.name.len, "allow"))
			assert_false(a.value.u.b);
	}
	assert_int_equal(nact, 4);

	/* A 500-byte challenge in a 300-byte frame: allow, status, reason. */
	memset(v.www_authenticate, 'c', 500);
	v.www_authenticate[500] = '\0';
	ts_log_capture_start();
	spop_w_init(&w, buf, sizeof(buf));
	n = answer_encode(&v, ANSWER_DEFAULT, 5, 1, &w, 300);
	ts_log_capture_stop();
	assert_true(n > 0 && n < 300);
	assert_int_equal(spop_frame_decode(buf + 4, (size_t)n - 4, &f, &err), 0);
	spop_cursor_init(&c, f.payload.ptr, f.payload.len);
	nact = 0;
	while (spop_action_next(&c, &a) == 1)
		nact++;
	assert_int_equal(nact, 3);

	/* An allowed answer is whole or nothing: its identity never loses a
	 * variable to the frame size (the caller refuses the request). */
	verdict_init(&v);
	verdict_set(&v, REASON_OK, NULL);
	v.route = "orders";
	for (int i = 0; i < 3; i++)
		assert_int_equal(verdict_add(&v, "sub", big, sizeof(big)), 0);
	spop_w_init(&w, buf, sizeof(buf));
	assert_int_equal(answer_encode(&v, ANSWER_DEFAULT, 5, 1, &w, 3000), -1);
	spop_w_init(&w, buf, sizeof(buf));
	n = answer_encode(&v, ANSWER_DEFAULT, 5, 1, &w, 3200);
	assert_true(n > 3000 && n <= 3204);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hello),
		cmocka_unit_test(test_notify_ack),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_callback_status),
		cmocka_unit_test(test_eof_and_disconnect),
		cmocka_unit_test(test_healthcheck),
		cmocka_unit_test(test_output_room),
		cmocka_unit_test(test_small_room),
		cmocka_unit_test(test_hello_refused),
		cmocka_unit_test(test_answer_fallback),
	};
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
