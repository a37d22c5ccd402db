/*
 * conn.c: one SPOP connection: socket I/O around the pure state machine of
 * proto.c.  Owned by one worker thread; never touched by another.
 *
 * Buffers are bounded: the input buffer never grows past the negotiated
 * max-frame-size (+4), the output buffer past OUT_FRAMES_MAX such frames;
 * when the peer stops reading our ACKs we stop reading its NOTIFYs.  Every
 * frame is built whole in the output buffer before the write that sends it.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "spoe/spop.h"

#include "log.h"
#include "runtime.h"
#include "stats.h"
#include "util.h"
#include "worker.h"

#define IN_INITIAL       4096u
#define OUT_INITIAL      (2 * PROTO_SMALL_ROOM) /* what conn_process asks before HELLO */
#define OUT_FRAMES_MAX   8u       /* output cap, in max-size frames */
#define HELLO_TIMEOUT    10.0     /* seconds to receive HAPROXY-HELLO */
#define LINGER_TIMEOUT   (CONN_LINGER_MS / 1000.0) /* to flush a final frame */

struct conn {
	struct wctx *w;
	int fd;
	struct rt_link link;          /* in w->conns */
	struct rt_link reqs;          /* parked requests (struct req) */
	ev_io rio, wio;
	ev_timer timer;               /* HELLO timeout, then linger */
	struct proto proto;
	uint8_t *in;
	size_t in_len, in_cap;
	uint8_t *out;
	size_t out_off, out_len, out_cap;
	bool reading;                 /* rio started */
	bool draining;
	bool closed;
};

static void conn_process(struct conn *c);

uint32_t
conn_max_frame(const struct conn *c)
{
	return (c->proto.max_frame_size);
}

struct wctx *
conn_wctx(struct conn *c)
{
	return (c->w);
}

static void
reading(struct conn *c, bool on)
{
	if (on && !c->reading)
		ev_io_start(c->w->loop, &c->rio);
	else if (!on && c->reading)
		ev_io_stop(c->w->loop, &c->rio);
	c->reading = on;
}

void
conn_close(struct conn *c)
{
	if (c == NULL || c->closed)
		return;
	c->closed = true;
	/* Cancel parked requests first: they point at us. */
	while (!rt_list_empty(&c->reqs)) {
		struct rt_link *l = c->reqs.next;
		rt_list_del(l);
		handler_cancel(l);
	}
	reading(c, false);
	ev_io_stop(c->w->loop, &c->wio);
	ev_timer_stop(c->w->loop, &c->timer);
	close(c->fd);
	c->fd = -1;
	rt_list_del(&c->link);
	/* Freed by conn_reap() once the current callback stack has unwound:
	 * callers up the stack may still look at ${c}->closed. */
	rt_list_add(&c->w->dead, &c->link);
	STAT_DEC(c->w->stats, conns_active);
	worker_conn_closed(c->w);
}

void
conn_reap(struct wctx *w)
{
	while (!rt_list_empty(&w->dead)) {
		struct conn *c = rt_container(w->dead.next, struct conn, link);

		rt_list_del(&c->link);
		free(c->in);
		free(c->out);
		free(c);
	}
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
	if (c->closed || c->proto.state == PROTO_CLOSING)
		return (-1);
	if (out_reserve(c, proto_out_room(&c->proto)) != 0)
		return (-1);
	spop_w_init(w, c->out + c->out_len, c->out_cap - c->out_len);
	return (0);
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
				ev_io_start(c->w->loop, &c->wio);
				return (0);
			}
			log_debug("spop: write failed on fd %d: %s", c->fd,
			    strerror(errno));
			return (-1);
		}
		c->out_off += (size_t)n;
	}
	c->out_off = c->out_len = 0;
	ev_io_stop(c->w->loop, &c->wio);
	return (0);
}

/* After output was queued: send it, and close if that was the last frame. */
static void
after_output(struct conn *c)
{
	if (flush(c) != 0) {
		conn_close(c);
		return;
	}
	if (c->proto.state == PROTO_CLOSING && c->out_len == 0)
		conn_close(c);
}

/*
 * The final frame is queued: stop reading, and give the peer LINGER_TIMEOUT
 * to take it, so a peer that never reads cannot hold the connection.
 */
static void
enter_closing(struct conn *c)
{
	reading(c, false);
	ev_timer_stop(c->w->loop, &c->timer);
	ev_timer_set(&c->timer, LINGER_TIMEOUT, 0.);
	ev_timer_start(c->w->loop, &c->timer);
}

/*
 * The state machine is PROTO_CLOSING with its final frame (if any) queued:
 * count how it ended, stop reading, flush, close once flushed.
 */
static void
closing(struct conn *c)
{
	if (c->proto.status != SPOP_ERR_NONE)
		STAT_INC(c->w->stats, protocol_errors);
	if (c->proto.peer_disconnected)
		STAT_INC(c->w->stats, haproxy_disconnects);
	enter_closing(c);
	after_output(c);
}

/* Why we end a connection ourselves (queue_final()). */
enum final {
	FINAL_DRAIN,          /* shutting down: DISCONNECT status 0 */
	FINAL_EOF,            /* the peer closed: DISCONNECT if inside a frame */
	FINAL_HELLO_TIMEOUT,  /* no HAPROXY-HELLO in time: DISCONNECT status 2 */
};

/*
 * End the connection for ${why}: queue the final frame (it fits in
 * PROTO_SMALL_ROOM), then closing().  Without room for it, or when a final
 * frame was queued already (the peer closed while it lingered), close at
 * once.
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
	}
	c->out_len += w.len;
	closing(c);
}

void
conn_commit(struct conn *c, const struct spop_writer *w)
{
	SPOA_ASSERT(w->buf == c->out + c->out_len);
	c->out_len += w->len;
	after_output(c);
	/* Output space may have been what held input back. */
	if (!c->closed && !c->reading && c->proto.state != PROTO_CLOSING &&
	    !c->draining)
		conn_process(c);
}

void
conn_req_attach(struct conn *c, struct rt_link *link)
{
	rt_list_add(&c->reqs, link);
}

static void maybe_finish_drain(struct conn *c);

void
conn_req_detach(struct conn *c, struct rt_link *link)
{
	(void)c;
	rt_list_del(link);
}

/* A request was answered: a draining connection may now go. */
void
conn_req_done(struct conn *c)
{
	if (!c->closed)
		maybe_finish_drain(c);
}

static void
maybe_finish_drain(struct conn *c)
{
	if (!c->draining || c->closed || !rt_list_empty(&c->reqs))
		return;
	if (c->proto.state == PROTO_WAIT_HELLO) {
		conn_close(c);
		return;
	}
	if (c->proto.state == PROTO_CLOSING)
		return;                 /* its final frame is lingering already */
	queue_final(c, FINAL_DRAIN);
}

void
conn_drain(struct conn *c)
{
	c->draining = true;
	reading(c, false);
	maybe_finish_drain(c);
}

/*
 * Feed buffered input to the state machine and send the replies, as long
 * as whole frames are buffered.  Output room for two frames is reserved
 * per round so pipelined NOTIFYs are answered in batches, not one write
 * per ACK.  If the peer stops reading our output, we stop reading its
 * input; on_write() resumes.
 */
static void
conn_process(struct conn *c)
{
	for (;;) {
		struct spop_writer w;
		enum proto_state before = c->proto.state;
		size_t used;

		if (out_reserve(c, 2 * proto_out_room(&c->proto)) != 0 &&
		    out_reserve(c, proto_out_room(&c->proto)) != 0) {
			reading(c, false);
			return;
		}
		spop_w_init(&w, c->out + c->out_len, c->out_cap - c->out_len);
		used = proto_feed(&c->proto, c->in, c->in_len, &w);
		c->out_len += w.len;
		if (used > 0) {
			memmove(c->in, c->in + used, c->in_len - used);
			c->in_len -= used;
		}
		if (before == PROTO_WAIT_HELLO && c->proto.state != PROTO_WAIT_HELLO) {
			/* Refused HELLOs leave WAIT_HELLO too: count only
			 * the ones answered with AGENT-HELLO. */
			if (c->proto.hello_sent)
				STAT_INC(c->w->stats, hello_total);
			if (c->proto.healthcheck)
				STAT_INC(c->w->stats, healthchecks);
			ev_timer_stop(c->w->loop, &c->timer);
		}
		if (c->proto.state == PROTO_CLOSING) {
			closing(c);
			return;
		}
		after_output(c);
		if (c->closed)
			return;
		if (used == 0 || c->draining)
			break;          /* the rest of a frame is still on its way */
	}
	reading(c, !c->draining);
}

/* Grow the input buffer so the frame being received fits. */
static int
in_reserve(struct conn *c)
{
	size_t need = c->in_len + 1;
	size_t max = (size_t)c->proto.max_frame_size + SPOP_FRAME_LEN_SIZE;
	uint32_t flen;

	if (c->in_len >= SPOP_FRAME_LEN_SIZE &&
	    spop_frame_peek(c->in, c->in_len, &flen) == 1 &&
	    flen <= c->proto.max_frame_size)
		need = SPOP_FRAME_LEN_SIZE + (size_t)flen;
	if (need <= c->in_cap)
		return (0);
	size_t ncap = c->in_cap ? c->in_cap : IN_INITIAL;
	while (ncap < need)
		ncap *= 2;
	if (ncap > max)
		ncap = max;
	if (ncap < need)
		return (-1);
	uint8_t *n = realloc(c->in, ncap);
	if (n == NULL)
		return (-1);
	c->in = n;
	c->in_cap = ncap;
	return (0);
}

static void
on_read(struct ev_loop *loop, ev_io *io, int revents)
{
	struct conn *c = rt_container(io, struct conn, rio);
	ssize_t n;

	(void)loop;
	(void)revents;
	if (in_reserve(c) != 0) {
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
		/* Peer is gone: answers to parked requests can't be sent. */
		if (!rt_list_empty(&c->reqs)) {
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
	struct conn *c = rt_container(io, struct conn, wio);

	(void)loop;
	(void)revents;
	after_output(c);
	if (!c->closed && !c->reading && !c->draining &&
	    c->proto.state != PROTO_CLOSING)
		conn_process(c);
}

static void
on_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct conn *c = rt_container(t, struct conn, timer);

	(void)loop;
	(void)revents;
	if (c->proto.state == PROTO_WAIT_HELLO) {
		log_info("spop: no HAPROXY-HELLO within %.0f s, closing", HELLO_TIMEOUT);
		queue_final(c, FINAL_HELLO_TIMEOUT);
		return;
	}
	conn_close(c);          /* the final frame's linger is over */
}

struct conn *
conn_new(struct wctx *w, int fd)
{
	struct conn *c;

	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		log_error("spop: out of memory for a connection");
		close(fd);
		return (NULL);
	}
	c->w = w;
	c->fd = fd;
	rt_list_init(&c->reqs);
	proto_init(&c->proto, w->max_frame_size, handler_notify, c);
	ev_io_init(&c->rio, on_read, fd, EV_READ);
	ev_io_init(&c->wio, on_write, fd, EV_WRITE);
	ev_timer_init(&c->timer, on_timer, HELLO_TIMEOUT, 0.);
	ev_timer_start(w->loop, &c->timer);
	rt_list_add(&w->conns, &c->link);
	w->nconns++;
	STAT_INC(w->stats, conns_active);
	reading(c, true);
	return (c);
}

struct conn *
conn_from_link(struct rt_link *l)
{
	return (rt_container(l, struct conn, link));
}
