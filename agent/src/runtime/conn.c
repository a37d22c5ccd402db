/*
 * conn.c: see conn.h.  Owned by one loop thread; never touched by another.
 *
 * Buffers are bounded: the input buffer never grows past the negotiated
 * max-frame-size (+4), and all input buffers of a set together past
 * partial_max; the output buffer past OUT_FRAMES_MAX such frames; when the
 * peer stops reading our ACKs we stop reading its NOTIFYs.  An empty input
 * buffer is given up (kept as the set's one spare for the next read), so an
 * idle connection holds none.  Every frame is built
 * whole in the output buffer before the write that sends it.
 *
 * Timers: one per connection, armed lazily for the earliest of its
 * deadlines (HELLO, the frame being received, idle); activity only moves
 * time stamps, and a timer that fires early re-arms for what is left.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ev.h>

#include "spoe/spop.h"

#include "conn.h"
#include "list.h"
#include "log.h"
#include "proto.h"
#include "stats.h"
#include "util.h"

#define OUT_INITIAL      (2 * PROTO_SMALL_ROOM) /* what conn_process asks before HELLO */
#define OUT_FRAMES_MAX   8u       /* output cap, in max-size frames */

/* Which connections go first when one must be shed: the lower tier, then
 * the longest idle within it. */
enum tier {
	TIER_HELLO,     /* no HAPROXY-HELLO yet */
	TIER_QUIET,     /* HELLO done, never a NOTIFY */
	TIER_USED,      /* has carried NOTIFYs */
	TIER_COUNT,
};

struct conn_set {
	struct ev_loop *loop;
	struct conn_limits lim;
	const struct conn_ops *ops;
	void *arg;
	struct agent_stats *stats;
	struct list all;              /* open connections (conn.link) */
	struct list dead;             /* closed, freed at the next turn */
	struct list lru[TIER_COUNT];  /* not closing, by last frame (conn.lru) */
	struct list partial;          /* holding input, by frame start */
	struct list pending;          /* work for the next turn (conn.pend) */
	size_t n;                     /* in ${all} */
	size_t in_bytes;              /* input buffers of the set */
	uint8_t *spare;               /* one emptied input buffer, kept */
	size_t spare_cap;
	bool draining;
	ev_tstamp drain_start;        /* when conn_set_drain() was called */
	ev_prepare prepare;
};

struct conn {
	struct conn_set *set;
	int fd;
	struct list link;             /* in set->all, then set->dead */
	struct list lru;              /* in set->lru[tier] */
	struct list partial;          /* in set->partial while in_cap > 0 */
	struct list pend;             /* in set->pending */
	struct list reqs;             /* tracked requests (conn_track()) */
	ev_io rio, wio;
	ev_timer timer;               /* deadlines, then the final linger */
	ev_tstamp accepted, last_frame, frame_start, timer_at;
	struct proto proto;
	uint8_t *in;
	size_t in_len, in_cap;
	uint8_t *out;
	size_t out_off, out_len, out_cap;
	bool reading;                 /* rio started */
	bool notified;                /* carried a NOTIFY (TIER_USED) */
	bool draining;
	bool shut;                    /* final frame sent, write side shut */
	bool aborted;                 /* conn_abort(): close at the next turn */
	bool pending;                 /* in set->pending */
	bool closed;
};

/* Why we end a connection ourselves (queue_final()). */
enum final {
	FINAL_DRAIN,          /* shutting down: DISCONNECT status 0 */
	FINAL_EOF,            /* the peer closed: DISCONNECT if inside a frame */
	FINAL_HELLO_TIMEOUT,  /* no HAPROXY-HELLO in time: status 2 */
	FINAL_FRAME_TIMEOUT,  /* a frame did not complete in time: status 2 */
	FINAL_IDLE,           /* idle_timeout: status 0 */
	FINAL_SHED,           /* room for a new connection: status 0, now */
	FINAL_BUDGET,         /* partial-frame memory: status 13, now */
};

static void conn_process(struct conn *c);
static void after_output(struct conn *c);
static void arm(struct conn *c);

uint32_t
conn_max_frame(const struct conn *c)
{
	return (c->proto.max_frame_size);
}

size_t
conn_set_count(const struct conn_set *set)
{
	return (set->n);
}

static void
reading(struct conn *c, bool on)
{
	if (on && !c->reading)
		ev_io_start(c->set->loop, &c->rio);
	else if (!on && c->reading)
		ev_io_stop(c->set->loop, &c->rio);
	c->reading = on;
}

/* Account ${c}'s input buffer going from ${was} to its current capacity. */
static void
in_account(struct conn *c, size_t was)
{
	struct conn_set *set = c->set;

	set->in_bytes = set->in_bytes - was + c->in_cap;
	STAT_ADD(set->stats, partial_frame_bytes,
	    (uint_fast64_t)c->in_cap - (uint_fast64_t)was);
}

/*
 * Free ${c}'s input buffer (it holds nothing we still need), or keep it as
 * the set's spare: connections are read one after another, so one spare
 * serves them all, without an allocation and a free per read (freeing a
 * frame-sized buffer per read also made glibc trim and regrow its heap).
 */
static void
in_release(struct conn *c)
{
	struct conn_set *set = c->set;
	size_t was = c->in_cap;

	if (c->in != NULL) {
		free(set->spare);       /* one spare: the last one kept */
		set->spare = c->in;
		set->spare_cap = c->in_cap;
		c->in = NULL;
	}
	c->in_len = c->in_cap = 0;
	list_del(&c->partial);
	in_account(c, was);
}

static void
conn_close(struct conn *c)
{
	struct conn_set *set = c->set;

	if (c->closed)
		return;
	c->closed = true;
	/* Cancel tracked requests first: they point at us. */
	while (!list_empty(&c->reqs)) {
		struct list *l = c->reqs.next;

		list_del(l);
		set->ops->cancel(set->arg, l);
	}
	reading(c, false);
	ev_io_stop(set->loop, &c->wio);
	ev_timer_stop(set->loop, &c->timer);
	close(c->fd);
	c->fd = -1;
	in_release(c);
	FREE_AND_NULL(c->out);
	c->out_off = c->out_len = c->out_cap = 0;
	list_del(&c->lru);
	list_del(&c->pend);
	c->pending = false;
	list_del(&c->link);
	/* Freed at the next loop turn: code up the stack may still look at
	 * ${c}->closed. */
	list_add_tail(&set->dead, &c->link);
	set->n--;
	STAT_DEC(set->stats, conns_active);
	set->ops->closed(set->arg, set);
}

static void
reap(struct conn_set *set)
{
	struct list *l;

	while ((l = list_first(&set->dead)) != NULL) {
		list_del(l);
		free(container_of(l, struct conn, link));
	}
}

/* Work for ${c} at the next loop turn (send, resume input, close). */
static void
mark_pending(struct conn *c)
{
	if (c->pending || c->closed)
		return;
	c->pending = true;
	list_add_tail(&c->set->pending, &c->pend);
}

/*
 * Make room for one frame of ${room} bytes at the end of the output buffer:
 * compact, then grow up to the cap.  Return 0, or -1 when the cap is hit.
 */
static int
out_reserve(struct conn *c, size_t room)
{
	size_t cap_max = OUT_FRAMES_MAX * ((size_t)c->proto.max_frame_size +
	    SPOP_FRAME_LEN_SIZE);

	if (c->out_off > 0) {
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	if (c->out_cap - c->out_len >= room)
		return (0);
	if (c->out_len + room > cap_max)
		return (-1);
	size_t ncap = c->out_cap ? c->out_cap : OUT_INITIAL;
	while (ncap < c->out_len + room)
		ncap *= 2;
	if (ncap > cap_max)
		ncap = cap_max;
	uint8_t *n = realloc(c->out, ncap);
	if (n == NULL)
		return (-1);
	c->out = n;
	c->out_cap = ncap;
	return (0);
}

int
conn_writer(struct conn *c, struct spop_writer *w)
{
	if (c->closed || c->aborted || c->proto.state == PROTO_CLOSING)
		return (-1);
	if (out_reserve(c, proto_out_room(&c->proto)) != 0)
		return (-1);
	spop_w_init(w, c->out + c->out_len, c->out_cap - c->out_len);
	return (0);
}

void
conn_commit(struct conn *c, const struct spop_writer *w)
{
	SPOA_ASSERT(w->buf == c->out + c->out_len);
	c->out_len += w->len;
	mark_pending(c);
}

void
conn_abort(struct conn *c)
{
	c->aborted = true;
	mark_pending(c);
}

void
conn_track(struct conn *c, struct list *link)
{
	list_add_tail(&c->reqs, link);
}

void
conn_untrack(struct conn *c, struct list *link)
{
	list_del(link);
	/* A draining connection may now go; an idle deadline may apply. */
	mark_pending(c);
}

/* Write what we can; arm the write watcher for the rest. */
static int
flush(struct conn *c)
{
	while (c->out_off < c->out_len) {
		/* MSG_NOSIGNAL: a peer gone away is an error here, not a
		 * SIGPIPE, whatever the process does with that signal. */
		ssize_t n = send(c->fd, c->out + c->out_off,
		    c->out_len - c->out_off, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				ev_io_start(c->set->loop, &c->wio);
				return (0);
			}
			log_debug("spop: write failed on fd %d: %s", c->fd,
			    strerror(errno));
			return (-1);
		}
		c->out_off += (size_t)n;
	}
	c->out_off = c->out_len = 0;
	ev_io_stop(c->set->loop, &c->wio);
	return (0);
}

/* After output was queued: send it, and close if that was the last frame. */
/*
 * The final frame is sent: shut the write side and read (and drop) what
 * the peer still sends until it closes too, or the linger ends.  Closing
 * with unread input would reset the connection, and the peer could lose
 * the final frame with it: HAProxy would then see an I/O error instead of
 * our DISCONNECT for the requests it sent meanwhile.
 */
static void
shut_and_wait(struct conn *c)
{
	if (c->shut)
		return;
	c->shut = true;
	if (shutdown(c->fd, SHUT_WR) != 0) {
		conn_close(c);
		return;
	}
	reading(c, true);
}

/* Input after our final frame: dropped; the peer's close ends it all. */
static void
read_after_shut(struct conn *c)
{
	uint8_t junk[4096];

	for (int i = 0; i < 16; i++) {
		ssize_t n = recv(c->fd, junk, sizeof(junk), MSG_DONTWAIT);

		if (n > 0)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == EINTR))
			return;
		conn_close(c);          /* EOF or an error */
		return;
	}
	/* More is coming: the next wakeup reads on (the linger bounds it). */
}

static void
after_output(struct conn *c)
{
	if (flush(c) != 0) {
		conn_close(c);
		return;
	}
	if (c->proto.state == PROTO_CLOSING && c->out_len == 0)
		shut_and_wait(c);
}

/*
 * The state machine is PROTO_CLOSING with its final frame (if any) queued:
 * count how it ended, stop reading, give the peer the linger time to take
 * the frame (a peer that never reads cannot hold the connection), flush,
 * close once flushed.
 */
static void
closing(struct conn *c)
{
	struct ev_loop *loop = c->set->loop;

	if (c->proto.status != SPOP_ERR_NONE) {
		unsigned st = (unsigned)c->proto.status;

		STAT_INC(c->set->stats, protocol_errors);
		STAT_INC(c->set->stats, protocol_errors_by_status[
		    st < STATS_PROTO_STATUS ? st : STATS_PROTO_STATUS - 1]);
	}
	if (c->proto.disconnect_sent)
		STAT_INC(c->set->stats, agent_disconnects);
	if (c->proto.peer_disconnected)
		STAT_INC(c->set->stats, haproxy_disconnects);
	reading(c, false);
	list_del(&c->lru);              /* neither idle nor shed any more */
	ev_timer_stop(loop, &c->timer);
	ev_timer_set(&c->timer, c->set->lim.linger, 0.);
	ev_timer_start(loop, &c->timer);
	after_output(c);
}

/*
 * End the connection for ${why}: queue the final frame (it fits in
 * PROTO_SMALL_ROOM), then closing().  Without room for it, or when a final
 * frame was queued already (the peer closed while it lingered), close at
 * once.  FINAL_SHED and FINAL_BUDGET close at once in any case: the
 * descriptor or the memory is needed now; the frame is sent if the socket
 * takes it.
 */
static void
queue_final(struct conn *c, enum final why)
{
	struct spop_writer w;

	if (c->proto.state == PROTO_CLOSING ||
	    out_reserve(c, PROTO_SMALL_ROOM) != 0) {
		conn_close(c);
		return;
	}
	spop_w_init(&w, c->out + c->out_len, c->out_cap - c->out_len);
	switch (why) {
	case FINAL_DRAIN:
		proto_disconnect(&c->proto, SPOP_ERR_NONE,
		    "agent is shutting down", &w);
		break;
	case FINAL_EOF:
		proto_eof(&c->proto, c->in_len, &w);
		break;
	case FINAL_HELLO_TIMEOUT:
		proto_disconnect(&c->proto, SPOP_ERR_TOUT, NULL, &w);
		break;
	case FINAL_FRAME_TIMEOUT:
		proto_disconnect(&c->proto, SPOP_ERR_TOUT,
		    "frame not received within frame_timeout_ms", &w);
		break;
	case FINAL_IDLE:
		proto_disconnect(&c->proto, SPOP_ERR_NONE, "idle timeout", &w);
		break;
	case FINAL_SHED:
		proto_disconnect(&c->proto, SPOP_ERR_NONE,
		    "too many connections: the longest idle one is closed", &w);
		break;
	case FINAL_BUDGET:
		proto_disconnect(&c->proto, SPOP_ERR_RES,
		    "memory for partial frames exhausted", &w);
		break;
	}
	c->out_len += w.len;
	closing(c);
	if (!c->closed && (why == FINAL_SHED || why == FINAL_BUDGET))
		conn_close(c);
}

/*
 * A draining connection ends with AGENT-DISCONNECT once nothing is in
 * flight.  HAProxy keeps sending NOTIFYs on it until it reads that frame,
 * and a NOTIFY lost with the connection fails its request: so a draining
 * connection still reads and answers, and goes only when nothing is in
 * flight and nothing has arrived (a look at the socket).  DRAIN_BUSY_S
 * after the drain began it stops reading, so a peer that never pauses
 * cannot hold the drain open (well inside main.c's drain deadline, which
 * is at least CONN_LINGER_MS + 2 s).  A bound in time, not in reads: with
 * 64 reads, a connection carrying steady load (HAProxy 3.0, 20 clients)
 * was cut while NOTIFYs were still crossing the DISCONNECT, and a few
 * requests per rolling restart failed.
 */
#define DRAIN_BUSY_S 1.0

/* Whether draining ${c} may still read and answer late NOTIFYs. */
static bool
drain_reads(const struct conn *c)
{
	return (ev_now(c->set->loop) - c->set->drain_start < DRAIN_BUSY_S);
}

static void
maybe_finish_drain(struct conn *c)
{
	uint8_t b;

	if (!c->draining || c->closed || !list_empty(&c->reqs))
		return;
	if (c->proto.state == PROTO_WAIT_HELLO) {
		conn_close(c);
		return;
	}
	if (c->proto.state == PROTO_CLOSING)
		return;                 /* its final frame is lingering already */
	/* A peer that does not take our output gets no more answers: the
	 * final frame's linger cuts it. */
	if (c->out_len == 0 && drain_reads(c) &&
	    (c->in_len > 0 ||
	    recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) == 1)) {
		reading(c, true);       /* on_read() answers it */
		return;
	}
	queue_final(c, FINAL_DRAIN);
}

void
conn_set_drain(struct conn_set *set)
{
	struct list *l, *t;

	set->draining = true;
	set->drain_start = ev_now(set->loop);
	list_for_each_safe(l, t, &set->all) {
		struct conn *c = container_of(l, struct conn, link);

		c->draining = true;
		maybe_finish_drain(c);
	}
}

/* A whole frame was consumed: ${c} is active now, in its tier. */
static void
touch(struct conn *c)
{
	enum tier t;

	c->last_frame = ev_now(c->set->loop);
	if (c->proto.state == PROTO_CLOSING)
		return;
	t = c->proto.state == PROTO_WAIT_HELLO ? TIER_HELLO :
	    c->notified ? TIER_USED : TIER_QUIET;
	list_move_tail(&c->set->lru[t], &c->lru);
}

/*
 * Feed buffered input to the state machine and send the replies, as long
 * as whole frames are buffered.  Output room for two frames is reserved
 * per round so pipelined NOTIFYs are answered in batches, not one write
 * per ACK.  If the peer stops reading our output, we stop reading its
 * input; on_write() or the next turn resumes.
 */
static void
conn_process(struct conn *c)
{
	struct conn_set *set = c->set;

	for (;;) {
		struct spop_writer w;
		enum proto_state before = c->proto.state;
		size_t used;

		if (out_reserve(c, 2 * proto_out_room(&c->proto)) != 0 &&
		    out_reserve(c, proto_out_room(&c->proto)) != 0) {
			reading(c, false);
			arm(c);
			return;
		}
		spop_w_init(&w, c->out + c->out_len, c->out_cap - c->out_len);
		used = proto_feed(&c->proto, c->in, c->in_len, &w);
		c->out_len += w.len;
		if (used > 0) {
			memmove(c->in, c->in + used, c->in_len - used);
			c->in_len -= used;
			touch(c);
			if (c->in_len > 0) {
				/* The rest is the start of the next frame. */
				c->frame_start = ev_now(set->loop);
				list_move_tail(&set->partial, &c->partial);
			}
		}
		if (before == PROTO_WAIT_HELLO && c->proto.state != PROTO_WAIT_HELLO) {
			if (c->proto.hello_seen)
				STAT_INC(set->stats, hellos_received);
			/* Refused HELLOs leave WAIT_HELLO too: count only
			 * the ones answered with AGENT-HELLO. */
			if (c->proto.hello_sent)
				STAT_INC(set->stats, hello_total);
			if (c->proto.healthcheck)
				STAT_INC(set->stats, healthchecks);
		}
		if (c->proto.state == PROTO_CLOSING) {
			closing(c);
			return;
		}
		after_output(c);
		if (c->closed)
			return;
		if (used == 0)
			break;          /* the rest of a frame is still on its way */
	}
	if (c->in_len == 0)
		in_release(c);
	/* Draining: input is still read (see maybe_finish_drain()) for a
	 * while; the next turn decides whether the connection may go. */
	reading(c, !c->draining || c->in_len > 0 || drain_reads(c));
	if (c->draining)
		mark_pending(c);
	arm(c);
}

/*
 * Close connections holding partial frames, the oldest frame first, other
 * than ${keep}, until ${need} more bytes fit in the set's partial_max.
 * Return 0 if they fit then.
 */
static int
evict_partial(struct conn_set *set, struct conn *keep, size_t need)
{
	struct list *l, *t;

	list_for_each_safe(l, t, &set->partial) {
		struct conn *v = container_of(l, struct conn, partial);

		if (set->in_bytes + need <= set->lim.partial_max)
			break;
		if (v == keep)
			continue;
		STAT_INC(set->stats, frame_budget_closes);
		log_info_limited(LOG_KEY_FRAME_BUDGET, "spop: partial frames",
		    "spop: partial frames hold %zu bytes (partial_frames_max_bytes "
		    "%zu): closing the connection with the oldest one",
		    set->in_bytes, set->lim.partial_max);
		queue_final(v, FINAL_BUDGET);
	}
	return (set->in_bytes + need <= set->lim.partial_max ? 0 : -1);
}

/* Grow the input buffer so the frame being received fits: 0, -1 (out of
 * memory), or -2 (over the set's partial_max, nothing left to evict). */
static int
in_reserve(struct conn *c)
{
	struct conn_set *set = c->set;
	size_t need = c->in_len + 1;
	size_t max = (size_t)c->proto.max_frame_size + SPOP_FRAME_LEN_SIZE;
	size_t was = c->in_cap;
	uint32_t flen;

	if (c->in_len >= SPOP_FRAME_LEN_SIZE &&
	    spop_frame_peek(c->in, c->in_len, &flen) == 1 &&
	    flen <= c->proto.max_frame_size)
		need = SPOP_FRAME_LEN_SIZE + (size_t)flen;
	if (need <= c->in_cap)
		return (0);
	/* A buffer takes a whole frame's room at once: HAProxy pipelines
	 * NOTIFYs, and one read then takes all that are queued (a 4 KiB
	 * buffer took two or three 1.5 KiB NOTIFYs per read, so a read and a
	 * send for every two requests). */
	size_t ncap = max;
	if (ncap < need)
		return (-1);
	if (set->lim.partial_max > 0 &&
	    set->in_bytes + (ncap - was) > set->lim.partial_max &&
	    evict_partial(set, c, ncap - was) != 0)
		return (-2);
	uint8_t *n;
	if (c->in == NULL && set->spare != NULL && set->spare_cap == ncap) {
		n = set->spare;
		set->spare = NULL;
	} else if ((n = realloc(c->in, ncap)) == NULL)
		return (-1);
	c->in = n;
	c->in_cap = ncap;
	in_account(c, was);
	if (was == 0) {
		c->frame_start = ev_now(set->loop);
		list_add_tail(&set->partial, &c->partial);
	}
	return (0);
}

static void
on_read(struct ev_loop *loop, ev_io *io, int revents)
{
	struct conn *c = container_of(io, struct conn, rio);
	ssize_t n;

	(void)loop;
	(void)revents;
	if (c->shut) {
		read_after_shut(c);
		return;
	}
	switch (in_reserve(c)) {
	case 0:
		break;
	case -2:
		STAT_INC(c->set->stats, frame_budget_closes);
		queue_final(c, FINAL_BUDGET);
		return;
	default:
		conn_close(c);
		return;
	}
	if (c->in_cap == c->in_len) {
		/* A full buffer means proto found a frame it rejects: it
		 * already said so.  Nothing to read. */
		conn_process(c);
		return;
	}
	n = read(c->fd, c->in + c->in_len, c->in_cap - c->in_len);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		log_debug("spop: read failed on fd %d: %s", c->fd, strerror(errno));
		conn_close(c);
		return;
	}
	if (n == 0) {
		/* Peer is gone: answers to tracked requests can't be sent. */
		if (!list_empty(&c->reqs)) {
			conn_close(c);
			return;
		}
		queue_final(c, FINAL_EOF);
		return;
	}
	c->in_len += (size_t)n;
	conn_process(c);
}

static void
on_write(struct ev_loop *loop, ev_io *io, int revents)
{
	struct conn *c = container_of(io, struct conn, wio);

	(void)loop;
	(void)revents;
	after_output(c);
	if (!c->closed && !c->reading && !c->draining &&
	    c->proto.state != PROTO_CLOSING)
		conn_process(c);
}

/* The earliest deadline of ${c} in its state, or 0 for none. */
static ev_tstamp
deadline(const struct conn *c)
{
	const struct conn_limits *lim = &c->set->lim;

	if (c->proto.state == PROTO_WAIT_HELLO)
		return (c->accepted + lim->hello_timeout);
	if (c->in_len > 0)
		return (c->frame_start + lim->frame_timeout);
	if (list_empty(&c->reqs) && lim->idle_timeout > 0)
		return (c->last_frame + lim->idle_timeout);
	return (0.);
}

/* (Re)arm ${c}'s timer for its earliest deadline, lazily: a timer set for
 * later than now needed is moved; one set earlier fires and re-arms. */
static void
arm(struct conn *c)
{
	struct ev_loop *loop = c->set->loop;
	ev_tstamp d, now;

	if (c->closed || c->proto.state == PROTO_CLOSING)
		return;
	d = deadline(c);
	if (d == 0.) {
		ev_timer_stop(loop, &c->timer);
		return;
	}
	if (ev_is_active(&c->timer) && c->timer_at <= d)
		return;
	now = ev_now(loop);
	ev_timer_stop(loop, &c->timer);
	ev_timer_set(&c->timer, d > now ? d - now : 0., 0.);
	ev_timer_start(loop, &c->timer);
	c->timer_at = d;
}

static void
on_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct conn *c = container_of(t, struct conn, timer);
	const struct conn_limits *lim = &c->set->lim;
	ev_tstamp d;

	(void)revents;
	if (c->proto.state == PROTO_CLOSING) {
		conn_close(c);          /* the final frame's linger is over */
		return;
	}
	d = deadline(c);
	if (d == 0.)
		return;
	if (d > ev_now(loop)) {
		arm(c);                 /* activity moved it */
		return;
	}
	if (c->proto.state == PROTO_WAIT_HELLO) {
		log_info("spop: no HAPROXY-HELLO within %.0f s, closing",
		    lim->hello_timeout);
		queue_final(c, FINAL_HELLO_TIMEOUT);
	} else if (c->in_len > 0) {
		STAT_INC(c->set->stats, frame_timeouts);
		log_info_limited(LOG_KEY_FRAME_TIMEOUT, "spop: slow frames",
		    "spop: a frame did not arrive whole within %.1f s "
		    "(frame_timeout_ms), closing", lim->frame_timeout);
		queue_final(c, FINAL_FRAME_TIMEOUT);
	} else {
		STAT_INC(c->set->stats, idle_timeouts);
		log_debug("spop: no frame for %.1f s (idle_timeout_ms), closing",
		    lim->idle_timeout);
		queue_final(c, FINAL_IDLE);
	}
}

/*
 * Before the loop sleeps: send what was committed, resume input held
 * back, finish drains and aborts, free the closed connections.  The one
 * place where output queued from outside a read leads to more work.
 */
static void
on_prepare(struct ev_loop *loop, ev_prepare *p, int revents)
{
	struct conn_set *set = container_of(p, struct conn_set, prepare);
	struct list *l;

	(void)loop;
	(void)revents;
	while ((l = list_first(&set->pending)) != NULL) {
		struct conn *c = container_of(l, struct conn, pend);

		list_del(l);
		c->pending = false;
		if (c->aborted) {
			conn_close(c);
			continue;
		}
		after_output(c);
		if (c->closed)
			continue;
		if (c->draining) {
			maybe_finish_drain(c);
			continue;
		}
		if (!c->reading && c->proto.state != PROTO_CLOSING)
			conn_process(c);
		else
			arm(c);
	}
	reap(set);
}

/* Close the longest-idle connection of the lowest tier that has one not
 * waiting for an answer; -1 if there is none. */
static int
shed_one(struct conn_set *set)
{
	for (int t = 0; t < TIER_COUNT; t++) {
		struct list *l;

		for (l = set->lru[t].next; l != &set->lru[t]; l = l->next) {
			struct conn *c = container_of(l, struct conn, lru);

			if (!list_empty(&c->reqs) || c->aborted)
				continue;
			STAT_INC(set->stats, conns_shed);
			log_info_limited(LOG_KEY_CONN_SHED, "spop: connections shed",
			    "spop: max_connections reached (%zu on this worker): "
			    "closing the longest idle connection",
			    set->lim.max_conns);
			queue_final(c, FINAL_SHED);
			return (0);
		}
	}
	return (-1);
}

static enum spop_err
on_notify(void *arg, uint64_t sid, uint64_t fid, const uint8_t *payload,
    size_t len, struct spop_writer *out)
{
	struct conn *c = arg;

	c->notified = true;
	return (c->set->ops->notify(c->set->arg, c, sid, fid, payload, len,
	    out));
}

struct conn *
conn_new(struct conn_set *set, int fd)
{
	struct conn *c;

	if (set->lim.max_conns > 0 && set->n >= set->lim.max_conns &&
	    shed_one(set) != 0) {
		STAT_INC(set->stats, conns_refused);
		log_info_limited(LOG_KEY_CONN_SHED, "spop: connections shed",
		    "spop: max_connections reached (%zu on this worker) and "
		    "none idle: closing the new connection", set->lim.max_conns);
		close(fd);
		return (NULL);
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		log_error("spop: out of memory for a connection");
		close(fd);
		return (NULL);
	}
	c->set = set;
	c->fd = fd;
	c->accepted = c->last_frame = ev_now(set->loop);
	list_init(&c->reqs);
	list_init(&c->partial);
	list_init(&c->pend);
	proto_init(&c->proto, set->lim.max_frame_size, on_notify, c);
	ev_io_init(&c->rio, on_read, fd, EV_READ);
	ev_io_init(&c->wio, on_write, fd, EV_WRITE);
	ev_timer_init(&c->timer, on_timer, 0., 0.);
	list_add_tail(&set->all, &c->link);
	list_add_tail(&set->lru[TIER_HELLO], &c->lru);
	set->n++;
	STAT_INC(set->stats, conns_active);
	if (set->draining) {
		c->draining = true;
		maybe_finish_drain(c);  /* before HELLO: closes at once */
		return (NULL);
	}
	reading(c, true);
	arm(c);
	return (c);
}

struct conn_set *
conn_set_new(struct ev_loop *loop, const struct conn_limits *lim,
    const struct conn_ops *ops, void *arg, struct agent_stats *stats)
{
	struct conn_set *set = calloc(1, sizeof(*set));

	if (set == NULL)
		return (NULL);
	set->loop = loop;
	set->lim = *lim;
	set->ops = ops;
	set->arg = arg;
	set->stats = stats;
	list_init(&set->all);
	list_init(&set->dead);
	for (int t = 0; t < TIER_COUNT; t++)
		list_init(&set->lru[t]);
	list_init(&set->partial);
	list_init(&set->pending);
	ev_prepare_init(&set->prepare, on_prepare);
	ev_prepare_start(loop, &set->prepare);
	return (set);
}

void
conn_set_free(struct conn_set *set)
{
	struct list *l;

	if (set == NULL)
		return;
	while ((l = list_first(&set->all)) != NULL)
		conn_close(container_of(l, struct conn, link));
	reap(set);
	ev_prepare_stop(set->loop, &set->prepare);
	free(set->spare);
	free(set);
}
