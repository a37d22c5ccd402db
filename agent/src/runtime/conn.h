/*
 * conn.h: SPOP connections: socket I/O around the pure state machine of
 * proto.c, and the set of connections one event loop serves.
 *
 * A connection knows nothing above it.  Its creator hands the set a table
 * of callbacks (struct conn_ops): each NOTIFY goes to ops->notify, which
 * answers it now (into the output it is given) or later (conn_writer() +
 * conn_commit()), tracking the pending request on the connection with
 * conn_track() so that a close cancels it (ops->cancel).  Output committed
 * from outside a read (a parked request answered later) is sent, and
 * input held back meanwhile is processed, from the set's ev_prepare
 * watcher: on the next loop turn, never by re-entering the parser from
 * the write path; a connection that fails there is closed there too, so
 * conn_commit() and conn_abort() never close or free anything.
 *
 * Limits (struct conn_limits): HAPROXY-HELLO within hello_timeout; a
 * frame, once its first byte is in, within frame_timeout; no frame for
 * idle_timeout (nothing pending) closes it; input buffers of the set hold
 * at most partial_max bytes (the oldest partial frames give way); at most
 * max_conns connections: a new one sheds the longest-idle one (those that
 * have not said HELLO first, then those that never carried a NOTIFY, then
 * the others; never one with a request pending), or is closed if none is
 * idle.  Owned by one thread; nothing here is thread-safe.
 */
#ifndef SPOA_CONN_H
#define SPOA_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "spoe/spop-t.h"

#include "list.h"

struct ev_loop;
struct conn;
struct conn_set;
struct agent_stats;

struct conn_ops {
	/*
	 * notify(arg, c, sid, fid, payload, len, out): a NOTIFY on ${c}, as
	 * proto_notify_fn (proto.h): ${payload} is borrowed for the call;
	 * the ACK goes into ${out} now, or later through conn_writer(); the
	 * return value is SPOP_ERR_NONE or the status to disconnect with.
	 * Must not close ${c}.
	 */
	enum spop_err (*notify)(void *arg, struct conn *c, uint64_t sid,
	    uint64_t fid, const uint8_t *payload, size_t len,
	    struct spop_writer *out);
	/*
	 * cancel(arg, link): ${link} was tracked on a connection that is
	 * closing; it is unlinked already.  Its request will never be
	 * answered: forget it.  Must not touch the connection.
	 */
	void (*cancel)(void *arg, struct list *link);
	/* closed(arg, set): one connection of ${set} closed (after its
	 * tracked links were cancelled). */
	void (*closed)(void *arg, struct conn_set *set);
};

struct conn_limits {
	uint32_t max_frame_size;      /* our max-frame-size cap */
	size_t max_conns;             /* 0: no cap */
	double hello_timeout;         /* seconds to receive HAPROXY-HELLO */
	double frame_timeout;         /* seconds for a started frame */
	double idle_timeout;          /* seconds without a frame; 0: never */
	double linger;                /* seconds to flush a final frame */
	size_t partial_max;           /* bytes of input buffers in the set */
};

/*
 * conn_set_new(loop, lim, ops, arg, stats):
 * An empty set of connections served on ${loop} under ${lim} (copied),
 * calling ${ops} (borrowed, must outlive the set) with ${arg}, counting in
 * ${stats} (the loop thread's own block).  NULL on allocation failure.
 */
struct conn_set *conn_set_new(struct ev_loop *loop,
    const struct conn_limits *lim, const struct conn_ops *ops, void *arg,
    struct agent_stats *stats);

/*
 * conn_set_free(set): close every connection of ${set} (their tracked
 * links are cancelled), stop its watchers and free it.  NULL is a no-op.
 */
void conn_set_free(struct conn_set *set);

/* conn_set_count(set): open connections of ${set} (closing ones included). */
size_t conn_set_count(const struct conn_set *set);

/*
 * conn_set_drain(set): stop reading new requests on every connection of
 * ${set}; each sends AGENT-DISCONNECT and closes once its tracked requests
 * are answered.  Connections added later are drained at once.
 */
void conn_set_drain(struct conn_set *set);

/*
 * conn_new(set, fd): take ownership of the connected, non-blocking socket
 * ${fd} and serve SPOP on it.  At max_conns, the longest-idle connection
 * is closed first (or ${fd} is, when none is idle).  Return the
 * connection, or NULL (${fd} closed).
 */
struct conn *conn_new(struct conn_set *set, int fd);

/*
 * conn_writer(c, w): point ${w} at the free space of ${c}'s output buffer,
 * with room for one frame of the negotiated size.  Return 0, or -1 when
 * ${c} is closing or the buffer cannot grow (the peer stopped reading).
 * After encoding one frame, conn_commit(${c}, ${w}).
 */
int conn_writer(struct conn *c, struct spop_writer *w);

/*
 * conn_commit(c, w): queue the frame written through ${w} (from
 * conn_writer()).  It is sent before the loop next sleeps; nothing is
 * sent, read or closed during the call.
 */
void conn_commit(struct conn *c, const struct spop_writer *w);

/*
 * conn_abort(c): close ${c} before the loop next sleeps (its tracked
 * requests are then cancelled); nothing is closed during the call.
 */
void conn_abort(struct conn *c);

/* conn_max_frame(c): the negotiated max-frame-size of ${c}. */
uint32_t conn_max_frame(const struct conn *c);

/*
 * conn_track(c, link) / conn_untrack(c, link): a request answered later
 * is pending on ${c}: closing ${c} hands ${link} to ops->cancel.  Untrack
 * it before answering it.  A connection with tracked requests is never
 * idle: no idle timeout, not shed.
 */
void conn_track(struct conn *c, struct list *link);
void conn_untrack(struct conn *c, struct list *link);

#endif /* !SPOA_CONN_H */
