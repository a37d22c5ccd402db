/*
 * proto.c: see proto.h.  The rules come from haproxy doc/SPOE.txt and the
 * traps listed in shared/reference/spop.md §1.15: FIN on every frame, ids
 * 0/0 on HELLO and DISCONNECT, frames bounded by the negotiated size, a
 * health-check HELLO answered and then closed, only "pipelining" offered.
 */
#include <string.h>

#include "spoe/spop.h"

#include "log.h"
#include "proto.h"

void
proto_init(struct proto *p, uint32_t our_max, proto_notify_fn *on_notify,
    void *arg)
{
	memset(p, 0, sizeof(*p));
	if (our_max < SPOP_MIN_FRAME_SIZE)
		our_max = SPOP_MIN_FRAME_SIZE;
	if (our_max > SPOP_MAX_FRAME_SIZE)
		our_max = SPOP_MAX_FRAME_SIZE;
	p->state = PROTO_WAIT_HELLO;
	p->our_max = our_max;
	p->max_frame_size = our_max;
	p->on_notify = on_notify;
	p->arg = arg;
}

size_t
proto_out_room(const struct proto *p)
{
	/* Our frames never exceed the negotiated size; HELLO and DISCONNECT
	 * are far below the 256-byte minimum, and nothing else is sent
	 * before READY or once closing. */
	if (p->state != PROTO_READY)
		return (PROTO_SMALL_ROOM);
	return ((size_t)p->max_frame_size + SPOP_FRAME_LEN_SIZE);
}

void
proto_disconnect(struct proto *p, enum spop_err status, const char *message,
    struct spop_writer *out)
{
	uint8_t *dst = out->buf + out->len;
	size_t room = out->cap - out->len;
	ssize_t n;

	if (p->state == PROTO_CLOSING)
		return;
	p->state = PROTO_CLOSING;
	p->status = status;
	n = spop_disconnect_encode(dst, room, SPOP_FRM_T_AGENT_DISCON, status,
	    message ? message : spop_err_message(status));
	if (n > 0) {
		out->len += (size_t)n;
		p->disconnect_sent = true;
	}
}

/* A protocol error: log it once and say goodbye with ${status}. */
static void
fail(struct proto *p, enum spop_err status, const char *why,
    struct spop_writer *out)
{
	log_warn("spop: closing connection: %s (status %d)", why, (int)status);
	proto_disconnect(p, status, why, out);
}

static void
on_hello(struct proto *p, const struct spop_frame *f, struct spop_writer *out)
{
	struct spop_hello h;
	enum spop_err err = SPOP_ERR_INVALID;
	uint32_t mfs;
	bool pipelining;
	ssize_t n;

	p->hello_seen = true;
	if (f->stream_id != 0 || f->frame_id != 0) {
		fail(p, SPOP_ERR_INVALID, "HELLO with non-zero stream or frame id", out);
		return;
	}
	if (spop_hello_decode(f->payload.ptr, f->payload.len, &h, &err) != 0) {
		fail(p, err, spop_err_message(err), out);
		return;
	}
	if (spop_hello_negotiate(&h, p->our_max, &mfs, &pipelining, &err) != 0) {
		fail(p, err, spop_err_message(err), out);
		return;
	}
	n = spop_agent_hello_encode(out->buf + out->len, out->cap - out->len,
	    mfs, pipelining ? "pipelining" : "");
	if (n < 0) {
		fail(p, SPOP_ERR_RES, "no room for AGENT-HELLO", out);
		return;
	}
	out->len += (size_t)n;
	p->hello_sent = true;
	p->max_frame_size = mfs;
	p->pipelining = pipelining;
	p->healthcheck = h.healthcheck;
	if (h.healthcheck) {
		/* SPOE.txt §3.2.5: the agent may close without DISCONNECT. */
		p->state = PROTO_CLOSING;
		return;
	}
	p->state = PROTO_READY;
}

static void
on_haproxy_disconnect(struct proto *p, const struct spop_frame *f,
    struct spop_writer *out)
{
	struct spop_disconnect d;
	enum spop_err err;

	if (spop_disconnect_decode(f->payload.ptr, f->payload.len, &d, &err) != 0) {
		fail(p, err, "malformed HAPROXY-DISCONNECT", out);
		return;
	}
	p->peer_disconnected = true;
	p->peer_status = d.has_status ? d.status : 0;
	/* Status 0 (normal) and 2 (2.6's idle timeout) are routine. */
	if (p->peer_status != SPOP_ERR_NONE && p->peer_status != SPOP_ERR_TOUT)
		log_warn("spop: HAProxy disconnected with status %llu: %.*s",
		    (unsigned long long)p->peer_status,
		    d.has_message ? (int)(d.message.len > 200 ? 200 : d.message.len) : 0,
		    d.has_message ? (const char *)d.message.ptr : "");
	proto_disconnect(p, SPOP_ERR_NONE, "normal", out);
}

/* Handle one complete frame; may change the state. */
static void
on_frame(struct proto *p, const uint8_t *body, size_t len,
    struct spop_writer *out)
{
	struct spop_frame f;
	enum spop_err err = SPOP_ERR_INVALID;

	if (spop_frame_decode(body, len, &f, &err) != 0) {
		fail(p, err, "malformed frame header", out);
		return;
	}
	if (!(f.flags & SPOP_FRM_FL_FIN) || (f.flags & SPOP_FRM_FL_ABRT) ||
	    f.type == SPOP_FRM_T_UNSET) {
		/* We never announce "fragmentation". */
		fail(p, SPOP_ERR_FRAG_NOT_SUP, "fragmented frame", out);
		return;
	}
	switch (f.type) {
	case SPOP_FRM_T_HAPROXY_HELLO:
		if (p->state != PROTO_WAIT_HELLO) {
			fail(p, SPOP_ERR_INVALID, "second HAPROXY-HELLO", out);
			return;
		}
		on_hello(p, &f, out);
		return;
	case SPOP_FRM_T_HAPROXY_DISCON:
		on_haproxy_disconnect(p, &f, out);
		return;
	case SPOP_FRM_T_HAPROXY_NOTIFY:
		if (p->state != PROTO_READY) {
			fail(p, SPOP_ERR_INVALID, "NOTIFY before HELLO", out);
			return;
		}
		if (f.stream_id == 0 && f.frame_id == 0) {
			fail(p, SPOP_ERR_INVALID, "NOTIFY with stream and frame id 0", out);
			return;
		}
		err = p->on_notify(p->arg, f.stream_id, f.frame_id, f.payload.ptr,
		    f.payload.len, out);
		if (err != SPOP_ERR_NONE)
			fail(p, err, err == SPOP_ERR_INVALID ?
			    "malformed NOTIFY payload" : "cannot process NOTIFY", out);
		return;
	default:
		fail(p, SPOP_ERR_INVALID, "unknown or unexpected frame type", out);
		return;
	}
}

size_t
proto_feed(struct proto *p, const uint8_t *buf, size_t len,
    struct spop_writer *out)
{
	size_t off = 0;

	while (p->state != PROTO_CLOSING) {
		uint32_t flen;

		if (out->cap - out->len < proto_out_room(p))
			break;          /* let the caller flush first */
		if (spop_frame_peek(buf + off, len - off, &flen) == 0)
			break;          /* not even a length yet */
		if (flen == 0) {
			fail(p, SPOP_ERR_INVALID, "zero-length frame", out);
			break;
		}
		if (flen > p->max_frame_size) {
			fail(p, SPOP_ERR_TOO_BIG, "frame is too big", out);
			break;
		}
		if (flen > len - off - SPOP_FRAME_LEN_SIZE)
			break;          /* wait for the rest */
		on_frame(p, buf + off + SPOP_FRAME_LEN_SIZE, flen, out);
		off += SPOP_FRAME_LEN_SIZE + (size_t)flen;
	}
	return (off);
}

void
proto_eof(struct proto *p, size_t pending, struct spop_writer *out)
{
	if (p->state == PROTO_CLOSING)
		return;
	if (pending > 0) {
		fail(p, SPOP_ERR_INVALID, "connection closed inside a frame", out);
		return;
	}
	p->state = PROTO_CLOSING;
}
