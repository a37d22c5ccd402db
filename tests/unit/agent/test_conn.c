/*
 * test_conn.c: the completion contract of the runtime — every NOTIFY gets
 * exactly one ACK — over a socketpair and a private ev_loop, with the
 * real conn.c, handler.c and decide(): pipelined NOTIFYs, a request parked
 * on an unknown kid and answered by a new snapshot or at its deadline,
 * cancelled when its connection closes, a drain that waits for it, a
 * HAPROXY-DISCONNECT after which nothing is answered, and answers queued
 * from outside a read that never re-enter the parser nor close anything
 * during the call.  Also the connection limits: the longest-idle
 * connection shed at max_connections, the frame deadline, the idle
 * timeout, the partial-frame budget.
 */
#include "../../support/agentrig.c"

#include "testsupport.h"

static struct ev_loop *LOOP;
static struct snapshot *SNAP;           /* park_timeout_ms 5000 */
static struct rig R;
static uint8_t buf[1u << 20];

static const struct conn_limits LIM = {
	.max_frame_size = 16380, .max_conns = 0, .hello_timeout = 10.,
	.frame_timeout = 5., .idle_timeout = 60., .linger = 1.,
	.partial_max = 1u << 22,
};

static int
setup(void **state)
{
	(void)state;
	LOOP = ev_loop_new(EVFLAG_AUTO);
	SNAP = rig_snapshot(5000);
	return (LOOP == NULL || SNAP == NULL);
}

static int
teardown(void **state)
{
	(void)state;
	snapshot_unref(SNAP);
	ev_loop_destroy(LOOP);
	return (0);
}

/* A connection that said HELLO and got AGENT-HELLO back. */
static void
open_ready(struct snapshot *s, const struct conn_limits *lim)
{
	assert_int_equal(rig_open(&R, LOOP, s, lim), 0);
	assert_int_equal(rig_send(&R, buf, rig_hello(buf, sizeof(buf), 16380)),
	    rig_hello(buf, sizeof(buf), 16380));
	rig_run(&R, 20);
	assert_int_equal(R.disconnects, 0);
	R.out_len = 0;
}

static void
send_notify(uint64_t sid, const char *path, const char *token)
{
	size_t n = rig_notify(buf, sizeof(buf), sid, 1, path, token);

	assert_int_not_equal(n, 0);
	assert_int_equal(rig_send(&R, buf, n), n);
}

/* ${sid} (frame id 1) was answered exactly ${n} times. */
static void
assert_acked(uint64_t sid, unsigned n)
{
	struct rig_id *id = rig_id(&R, sid, 1, false);

	if (id == NULL)
		fail_msg("stream %llu never notified", (unsigned long long)sid);
	if (id->acked != n)
		fail_msg("stream %llu: %u ACKs, want %u",
		    (unsigned long long)sid, id->acked, n);
}

static void
test_pipelined(void **state)
{
	size_t n = 0;

	(void)state;
	open_ready(SNAP, &LIM);
	/* Five NOTIFYs in one write: five ACKs, one per id. */
	for (uint64_t sid = 1; sid <= 9; sid += 2)
		n += rig_notify(buf + n, sizeof(buf) - n, sid, 1, "/open/x", NULL);
	assert_int_equal(rig_send(&R, buf, n), n);
	rig_run(&R, 30);
	assert_int_equal(R.accepted, 5);
	assert_int_equal(R.acks, 5);
	for (uint64_t sid = 1; sid <= 9; sid += 2)
		assert_acked(sid, 1);
	assert_int_equal(R.unknown_acks, 0);
	rig_close(&R);
}

/*
 * HAProxy queues NOTIFYs on a connection while the agent works: one read
 * must take all that are there (up to a frame's room), and one loop turn
 * answer them all.  With a buffer smaller than the batch, the first turn
 * answers only what the first read took.
 */
static void
test_one_read_takes_the_batch(void **state)
{
	char path[1400];
	size_t n = 0;

	(void)state;
	memset(path, 'a', sizeof(path) - 1);
	memcpy(path, "/open/", 6);
	path[sizeof(path) - 1] = '\0';
	open_ready(SNAP, &LIM);
	/* Eight NOTIFYs of ~1.4 KiB (Entra-token sized), ~11.5 KiB, in one
	 * write: less than one 16 KiB frame's room. */
	for (uint64_t sid = 1; sid <= 8; sid++)
		n += rig_notify(buf + n, sizeof(buf) - n, sid, 1, path, NULL);
	assert_in_range(n, 8 * 1400, 16380);
	assert_int_equal(rig_send(&R, buf, n), n);
	ev_run(LOOP, EVRUN_ONCE);
	rig_drain_peer(&R);
	rig_parse(&R);
	assert_int_equal(R.acks, 8);
	for (uint64_t sid = 1; sid <= 8; sid++)
		assert_acked(sid, 1);
	rig_close(&R);
}

static void
test_park_then_snapshot(void **state)
{
	struct snapshot *next;
	char junk[64];

	(void)state;
	open_ready(SNAP, &LIM);
	send_notify(1, "/jwt/a", RIG_PARK_TOKEN);
	send_notify(3, "/open/b", NULL);
	rig_run(&R, 30);
	/* The parked one waits; the other is answered meanwhile. */
	assert_int_equal(handler_parked(R.h), 1);
	assert_acked(1, 0);
	assert_acked(3, 1);
	/* The refetch ended without the key: answered, by the next turn. */
	assert_non_null(next = rig_refetched(SNAP));
	R.outside = true;
	handler_set_snapshot(R.h, next);
	R.outside = false;
	assert_int_equal(handler_parked(R.h), 0);
	assert_int_equal(read(R.peer, junk, sizeof(junk)), -1);  /* not yet sent */
	rig_run(&R, 30);
	assert_acked(1, 1);
	assert_acked(3, 1);
	assert_int_equal(R.acks, 2);
	assert_int_equal(R.reentered, 0);
	assert_int_equal(R.closed, 0);
	rig_close(&R);
}

static void
test_park_timeout(void **state)
{
	struct snapshot *s = rig_snapshot(150);
	uint64_t before = STAT_GET(&rig_stats, parked_timeouts);

	(void)state;
	assert_non_null(s);
	open_ready(s, &LIM);
	send_notify(1, "/jwt/a", RIG_PARK_TOKEN);
	rig_run(&R, 50);
	assert_acked(1, 0);
	rig_run(&R, 250);
	assert_acked(1, 1);
	assert_int_equal(STAT_GET(&rig_stats, parked_timeouts), before + 1);
	assert_int_equal(handler_parked(R.h), 0);
	rig_close(&R);
	snapshot_unref(s);
}

static void
test_cancel_on_close(void **state)
{
	(void)state;
	open_ready(SNAP, &LIM);
	for (uint64_t sid = 1; sid <= 5; sid += 2)
		send_notify(sid, "/jwt/a", RIG_PARK_TOKEN);
	rig_run(&R, 30);
	assert_int_equal(handler_parked(R.h), 3);
	/* HAProxy goes away: the three are cancelled, never answered. */
	close(R.peer);
	R.peer = -1;
	R.no_read = true;
	rig_run(&R, 30);
	assert_int_equal(R.closed, 1);
	assert_int_equal(R.cancelled, 3);
	assert_int_equal(handler_parked(R.h), 0);
	assert_int_equal(conn_set_count(R.set), 0);
	rig_close(&R);
}

static void
test_drain_waits_for_parked(void **state)
{
	(void)state;
	open_ready(SNAP, &LIM);
	send_notify(1, "/jwt/a", RIG_PARK_TOKEN);
	rig_run(&R, 30);
	handler_drain(R.h);
	conn_set_drain(R.set);
	rig_run(&R, 30);
	/* Still waiting for its answer: no DISCONNECT yet. */
	assert_int_equal(R.disconnects, 0);
	assert_int_equal(conn_set_count(R.set), 1);
	R.outside = true;
	handler_kid_absent(R.h, 0, "n", 1);
	R.outside = false;
	/* Nothing is sent or closed during the call. */
	assert_int_equal(R.closed, 0);
	rig_run(&R, 30);
	assert_acked(1, 1);
	assert_int_equal(R.disconnects, 1);
	assert_int_equal(R.after_disconnect, 0);
	assert_true(R.peer_eof);
	assert_int_equal(R.closed, 1);
	assert_int_equal(R.reentered, 0);
	rig_close(&R);
}

/*
 * HAProxy sends NOTIFYs on a connection until it reads our DISCONNECT: a
 * NOTIFY already in the socket when the drain starts, and one that
 * arrives while a parked request holds the drain open, are answered
 * before the DISCONNECT, never dropped with the connection.
 */
static void
test_drain_answers_late_notifies(void **state)
{
	(void)state;
	open_ready(SNAP, &LIM);
	send_notify(1, "/open/a", NULL);        /* not read yet */
	handler_drain(R.h);
	conn_set_drain(R.set);
	rig_run(&R, 30);
	assert_acked(1, 1);
	assert_int_equal(R.disconnects, 1);
	assert_int_equal(R.after_disconnect, 0);
	rig_close(&R);

	open_ready(SNAP, &LIM);
	send_notify(3, "/jwt/a", RIG_PARK_TOKEN);
	rig_run(&R, 30);
	handler_drain(R.h);
	conn_set_drain(R.set);
	rig_run(&R, 30);
	send_notify(5, "/open/b", NULL);        /* during the drain */
	rig_run(&R, 30);
	assert_acked(5, 1);
	assert_int_equal(R.disconnects, 0);     /* 3 is still parked */
	R.outside = true;
	handler_kid_absent(R.h, 0, "n", 1);
	R.outside = false;
	rig_run(&R, 30);
	assert_acked(3, 1);
	assert_int_equal(R.disconnects, 1);
	assert_int_equal(R.after_disconnect, 0);
	assert_int_equal(R.reentered, 0);
	rig_close(&R);
}

/*
 * A peer that keeps sending while the agent drains: its NOTIFYs are
 * answered for DRAIN_BUSY_S (1 s) after the drain began, then it gets the
 * DISCONNECT.  A bound by count of reads cut it after a few hundred ms,
 * with NOTIFYs still crossing the DISCONNECT.
 */
static void
test_drain_busy_peer(void **state)
{
	static size_t ends[1000];
	size_t n = 0, sent = 0, k = 0, whole = 0;
	int64_t t0, cut;

	(void)state;
	/* NOTIFYs back to back; each round sends up to the middle of the
	 * next one, so input is always waiting: the peer never pauses. */
	open_ready(SNAP, &LIM);                 /* (uses buf) */
	for (size_t i = 0; i < 1000; i++) {
		n += rig_notify(buf + n, sizeof(buf) - n, 2 * i + 1, 1,
		    "/open/busy", NULL);
		ends[i] = n;
	}
	t0 = -1;
	while ((t0 < 0 || util_mono_ms() - t0 < 3000) && R.disconnects == 0 &&
	    k < 1000) {
		size_t to = (k == 0 ? 0 : ends[k - 1]) +
		    (ends[k] - (k == 0 ? 0 : ends[k - 1])) / 2;

		assert_int_equal(rig_send(&R, buf + sent, to - sent), to - sent);
		sent = to;
		whole = k;              /* frames 0..k-1 are whole */
		k++;
		rig_run(&R, 5);
		if (k == 3) {           /* busy: now the drain begins */
			handler_drain(R.h);
			conn_set_drain(R.set);
			t0 = util_mono_ms();
		}
	}
	cut = util_mono_ms() - t0;
	assert_int_equal(R.disconnects, 1);
	if (cut < 900 || cut > 2500)
		fail_msg("DISCONNECT after %lld ms, want about 1000",
		    (long long)cut);
	/* Every whole NOTIFY but the last one or two (sent as the agent
	 * stopped reading) was answered, and nothing after the DISCONNECT. */
	assert_in_range(R.acks, whole - 2, whole);
	assert_int_equal(R.after_disconnect, 0);
	rig_close(&R);
}

/*
 * After its final frame the agent shuts its side and waits for the peer's
 * close, reading (and dropping) what still comes: closing with unread
 * input would reset the connection, and HAProxy could lose the
 * DISCONNECT with it.  A NOTIFY that crossed the DISCONNECT is not
 * answered.
 */
static void
test_close_waits_for_peer(void **state)
{
	(void)state;
	open_ready(SNAP, &LIM);
	R.keep_open = true;
	handler_drain(R.h);
	conn_set_drain(R.set);
	rig_run(&R, 30);
	assert_int_equal(R.disconnects, 1);
	assert_true(R.peer_eof);                /* our FIN */
	assert_int_equal(R.closed, 0);          /* waiting for HAProxy */
	send_notify(7, "/open/late", NULL);      /* crossed our DISCONNECT */
	rig_run(&R, 30);
	assert_int_equal(R.closed, 0);
	assert_int_equal(R.after_disconnect, 0);
	(void)shutdown(R.peer, SHUT_WR);         /* HAProxy closes */
	rig_run(&R, 30);
	assert_int_equal(R.closed, 1);
	R.keep_open = false;
	rig_close(&R);
}

static void
test_haproxy_disconnect(void **state)
{
	size_t n = 0;

	(void)state;
	open_ready(SNAP, &LIM);
	n += rig_notify(buf + n, sizeof(buf) - n, 1, 1, "/open/a", NULL);
	n += rig_notify(buf + n, sizeof(buf) - n, 3, 1, "/open/b", NULL);
	n += rig_disconnect(buf + n, sizeof(buf) - n);
	n += rig_notify(buf + n, sizeof(buf) - n, 5, 1, "/open/c", NULL);
	assert_int_equal(rig_send(&R, buf, n), n);
	rig_run(&R, 30);
	/* The two before it are answered, then AGENT-DISCONNECT, then the
	 * end: the NOTIFY after HAPROXY-DISCONNECT is never processed. */
	assert_acked(1, 1);
	assert_acked(3, 1);
	assert_null(rig_id(&R, 5, 1, false));
	assert_int_equal(R.disconnects, 1);
	assert_int_equal(R.after_disconnect, 0);
	assert_true(R.peer_eof);
	rig_close(&R);
}

/*
 * Two parked requests on a connection whose peer stopped reading: the
 * snapshot that answers them finds no room for either ACK.  The
 * connection is closed, but only at the next loop turn: nothing is
 * cancelled or closed during the call (closing there would free the
 * second request while the first is being answered).
 */
static void
test_abort_is_deferred(void **state)
{
	struct snapshot *next;

	(void)state;
	open_ready(SNAP, &LIM);
	send_notify(1, "/jwt/a", RIG_PARK_TOKEN);
	send_notify(3, "/jwt/b", RIG_PARK_TOKEN);
	rig_run(&R, 20);
	assert_int_equal(handler_parked(R.h), 2);
	/* HAProxy stops reading: ACKs pile up until the agent stops reading
	 * too, and our writes block. */
	R.no_read = true;
	for (uint64_t sid = 101; sid < 200001; sid += 2) {
		size_t n = rig_notify(buf, sizeof(buf), sid, 1, "/open/x", NULL);

		if (rig_send(&R, buf, n) != n)
			break;
	}
	assert_non_null(next = rig_refetched(SNAP));
	R.outside = true;
	handler_set_snapshot(R.h, next);
	R.outside = false;
	assert_int_equal(handler_parked(R.h), 0);
	assert_int_equal(R.cancelled, 0);
	assert_int_equal(R.closed, 0);
	assert_int_equal(R.reentered, 0);
	rig_run(&R, 30);
	assert_int_equal(R.closed, 1);
	rig_close(&R);
}

/* ---- limits ---- */

static void
test_shed_longest_idle(void **state)
{
	struct conn_limits lim = LIM;
	int extra[3];

	(void)state;
	lim.max_conns = 3;
	open_ready(SNAP, &lim);
	/* R's connection has carried a NOTIFY: it is never shed first. */
	send_notify(1, "/open/a", NULL);
	rig_run(&R, 20);
	/* Two more that only said HELLO, then a third that says nothing. */
	for (int i = 0; i < 3; i++) {
		int sv[2];

		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK,
		    0, sv), 0);
		extra[i] = sv[1];
		(void)conn_new(R.set, sv[0]);
		if (i < 2) {
			size_t n = rig_hello(buf, sizeof(buf), 16380);

			assert_int_equal(write(sv[1], buf, n), (ssize_t)n);
		}
		rig_run(&R, 20);
	}
	/* The fourth needed room: of the three open then, the oldest of
	 * those that never carried a NOTIFY was shed, not R's. */
	assert_int_equal(conn_set_count(R.set), 3);
	assert_int_equal(STAT_GET(&rig_stats, conns_shed) > 0, 1);
	assert_int_equal(R.closed, 1);
	/* The connection that carried a NOTIFY still answers. */
	send_notify(3, "/open/b", NULL);
	rig_run(&R, 20);
	assert_acked(3, 1);
	for (int i = 0; i < 3; i++)
		close(extra[i]);
	rig_close(&R);
}

static void
test_frame_deadline(void **state)
{
	struct conn_limits lim = LIM;
	size_t n;

	(void)state;
	lim.frame_timeout = 0.2;
	open_ready(SNAP, &lim);
	n = rig_notify(buf, sizeof(buf), 1, 1, "/open/a", NULL);
	/* One byte at a time, slower than the deadline allows in all. */
	for (size_t i = 0; i < n && !R.peer_eof; i++) {
		(void)rig_send(&R, buf + i, 1);
		rig_run(&R, 30);
	}
	assert_int_equal(R.disconnects, 1);
	assert_true(R.peer_eof);
	assert_null(rig_id(&R, 1, 1, false));
	rig_close(&R);
}

static void
test_idle_timeout(void **state)
{
	struct conn_limits lim = LIM;

	(void)state;
	lim.idle_timeout = 0.25;
	open_ready(SNAP, &lim);
	/* Used every 0.1 s for 0.5 s: kept. */
	for (uint64_t sid = 1; sid <= 9; sid += 2) {
		send_notify(sid, "/open/a", NULL);
		rig_run(&R, 100);
	}
	assert_int_equal(R.acks, 5);
	assert_int_equal(R.disconnects, 0);
	/* A parked request keeps it open past the idle time too. */
	send_notify(11, "/jwt/a", RIG_PARK_TOKEN);
	rig_run(&R, 400);
	assert_int_equal(R.disconnects, 0);
	handler_kid_absent(R.h, 0, "n", 1);
	rig_run(&R, 100);
	assert_acked(11, 1);
	/* Then idle: closed, with a DISCONNECT. */
	rig_run(&R, 400);
	assert_int_equal(R.disconnects, 1);
	assert_true(R.peer_eof);
	rig_close(&R);
}

static void
test_partial_budget(void **state)
{
	struct conn_limits lim = LIM;
	uint8_t head[4 + 1024], more[100];
	int sv[2];

	(void)state;
	int extra[2];

	lim.partial_max = 40000;        /* two 16 KiB frames, not three */
	open_ready(SNAP, &lim);
	/* A 16 KiB frame announced, 1 KiB of it sent, then a bit more: the
	 * buffer grows to hold the frame: 16 KiB held. */
	memset(head, 0, sizeof(head));
	memset(more, 0, sizeof(more));
	head[2] = 0x3f;                 /* length 16128 */
	assert_int_equal(rig_send(&R, head, sizeof(head)), sizeof(head));
	rig_run(&R, 20);
	assert_int_equal(rig_send(&R, more, sizeof(more)), sizeof(more));
	rig_run(&R, 20);
	/* Two more connections do the same: the oldest partial frame (the
	 * first connection's) is dropped to make room for the third. */
	for (int i = 0; i < 2; i++) {
		size_t n = rig_hello(buf, sizeof(buf), 16380);

		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK,
		    0, sv), 0);
		(void)conn_new(R.set, sv[0]);
		assert_int_equal(write(sv[1], buf, n), (ssize_t)n);
		rig_run(&R, 20);
		assert_int_equal(write(sv[1], head, sizeof(head)),
		    (ssize_t)sizeof(head));
		rig_run(&R, 20);
		assert_int_equal(write(sv[1], more, sizeof(more)),
		    (ssize_t)sizeof(more));
		rig_run(&R, 20);
		extra[i] = sv[1];
	}
	assert_true(STAT_GET(&rig_stats, frame_budget_closes) > 0);
	assert_true(R.peer_eof);        /* the first connection was closed */
	assert_true(STAT_GET(&rig_stats, partial_frame_bytes) <= 40000);
	rig_close(&R);
	close(extra[0]);
	close(extra[1]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pipelined),
		cmocka_unit_test(test_one_read_takes_the_batch),
		cmocka_unit_test(test_park_then_snapshot),
		cmocka_unit_test(test_park_timeout),
		cmocka_unit_test(test_cancel_on_close),
		cmocka_unit_test(test_drain_waits_for_parked),
		cmocka_unit_test(test_drain_answers_late_notifies),
		cmocka_unit_test(test_drain_busy_peer),
		cmocka_unit_test(test_close_waits_for_peer),
		cmocka_unit_test(test_haproxy_disconnect),
		cmocka_unit_test(test_abort_is_deferred),
		cmocka_unit_test(test_shed_longest_idle),
		cmocka_unit_test(test_frame_deadline),
		cmocka_unit_test(test_idle_timeout),
		cmocka_unit_test(test_partial_budget),
	};

	log_set_level(LOG_LVL_ERROR);
	return (cmocka_run_group_tests(tests, setup, teardown));
}
