/*
 * fuzz_agent.c: the stateful SPOP path, as HAProxy drives it: bytes ->
 * one connection (conn.c, over a socketpair) -> proto -> handler ->
 * facts -> decide (a fixed snapshot: tests/support/agentrig.c) -> ACK.
 *
 * Input: the first byte chooses how the rest is cut into writes (0: one
 * write; n: writes of n bytes, the loop running between them, so frames
 * arrive in pieces); the rest is what HAProxy sends.  After it, a new
 * snapshot ends the key refetch (every parked request is decided), then
 * the connection is closed.  Invariants checked (abort on violation):
 *   - every NOTIFY the handler accepted gets exactly one ACK, unless its
 *     connection closed first (then it was cancelled): at the end
 *     ACKs + cancelled == accepted, and no id is answered more often than
 *     it was notified, and no ACK carries ids never notified;
 *   - nothing follows an AGENT-DISCONNECT;
 *   - no NOTIFY is delivered while a handler call made from outside a
 *     read runs (no re-entry from the write path);
 *   - a connection still open at the end has no parked request left;
 *   - no leak (LeakSanitizer, in fuzzing and replay builds alike).
 */
#include <sys/ioctl.h>

#include <linux/sockios.h>

#include "../support/agentrig.c"

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: invariant failed: %s\n",	\
		    __FILE__, __LINE__, #cond);				\
		abort();						\
	}								\
} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ev_loop *loop;
static struct snapshot *snap;
static struct rig R;

static const struct conn_limits lim = {
	/* No deadline can pass during a run: the outcome depends on the
	 * bytes only. */
	.max_frame_size = 16380, .max_conns = 0, .hello_timeout = 600.,
	.frame_timeout = 600., .idle_timeout = 0., .linger = 600.,
	.partial_max = 1u << 22,
};

/* Run the loop until the agent has read all we sent and sent nothing more. */
static void
pump(void)
{
	int quiet = 0;

	for (int i = 0; i < 10000 && quiet < 3; i++) {
		size_t before = R.acks + R.disconnects + R.out_len;
		int unread = 0;

		ev_run(loop, EVRUN_NOWAIT);
		rig_drain_peer(&R);
		rig_parse(&R);
		if (R.peer >= 0 && !R.peer_eof &&
		    ioctl(R.peer, SIOCOUTQ, &unread) != 0)
			unread = 0;
		if (unread == 0 && R.acks + R.disconnects + R.out_len == before)
			quiet++;
		else
			quiet = 0;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct snapshot *next;
	size_t step, off;

	if (loop == NULL) {
		log_set_level(LOG_LVL_ERROR);
		loop = ev_loop_new(EVFLAG_AUTO);
		snap = rig_snapshot(1000);
		CHECK(loop != NULL && snap != NULL);
	}
	if (size < 1)
		return (0);
	step = data[0] == 0 ? size : data[0];
	CHECK(rig_open(&R, loop, snap, &lim) == 0);
	for (off = 1; off < size && !R.peer_eof; off += step) {
		size_t n = size - off < step ? size - off : step;

		if (rig_send(&R, data + off, n) != n)
			break;          /* the agent stopped reading: closing */
		pump();
	}
	/* The refetch ends without the key: every parked request is
	 * decided now, answered at the next turn. */
	CHECK((next = rig_refetched(snap)) != NULL);
	R.outside = true;
	handler_set_snapshot(R.h, next);
	R.outside = false;
	pump();

	CHECK(R.reentered == 0);
	CHECK(R.unknown_acks == 0);
	CHECK(R.after_disconnect == 0);
	for (size_t i = 0; i < R.nids; i++)
		CHECK(R.ids[i].acked <= R.ids[i].notified);
	if (R.closed == 0)
		CHECK(handler_parked(R.h) == 0);
	rig_close(&R);
	CHECK(R.acks + R.cancelled == R.accepted);
	return (0);
}
