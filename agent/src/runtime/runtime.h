/*
 * runtime.h: types shared by the libev runtime files (worker.c, conn.c,
 * handler.c).  Not for pure modules: it pulls in <ev.h>.
 */
#ifndef SPOA_RUNTIME_H
#define SPOA_RUNTIME_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <ev.h>

#include "proto.h"

struct snapshot;
struct agent_stats;
struct conn;
struct req;
struct tokcache;
struct certcache;

/* Doubly linked list head/links (intrusive). */
struct rt_link {
	struct rt_link *prev, *next;
};

/* What one worker thread owns. */
struct wctx {
	struct ev_loop *loop;
	unsigned id;
	struct snapshot *snap;        /* current; swapped between events */
	struct agent_stats *stats;
	struct tokcache *tokcache;    /* verified tokens, this worker only */
	struct certcache *certcache;  /* analysed client certificates */
	struct rt_link conns;         /* struct conn.link */
	struct rt_link dead;          /* closed conns, freed by conn_reap() */
	unsigned nconns;
	struct rt_link parked;        /* struct req.wlink */
	unsigned nparked;
	bool draining;
	uint32_t max_frame_size;      /* config: our cap */
	double park_timeout;          /* seconds */
};

void rt_list_init(struct rt_link *h);
void rt_list_add(struct rt_link *h, struct rt_link *l);
void rt_list_del(struct rt_link *l);
#define rt_list_empty(h) ((h)->next == (h))
#define rt_container(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/* ---- conn.c ---- */

/*
 * conn_new(w, fd): take ownership of the connected, non-blocking socket
 * ${fd} (server.c accepts with SOCK_NONBLOCK) and start serving SPOP on
 * it.  Return the connection or NULL (then ${fd} is closed).
 */
struct conn *conn_new(struct wctx *w, int fd);

/*
 * conn_writer(c, w): point ${w} at the free space of ${c}'s output buffer,
 * with room for at least one frame of the negotiated size; return -1 if
 * the connection is closing or the buffer cannot grow (the peer stopped
 * reading).  After writing a frame, call conn_commit(c, w).
 */
int conn_writer(struct conn *c, struct spop_writer *w);
void conn_commit(struct conn *c, const struct spop_writer *w);

/* conn_max_frame(c): the negotiated max-frame-size. */
uint32_t conn_max_frame(const struct conn *c);

/*
 * conn_req_attach(c, link) / conn_req_detach(link):
 * Track a parked request on ${c}, so closing ${c} cancels it (see
 * handler_cancel()).
 */
void conn_req_attach(struct conn *c, struct rt_link *link);
void conn_req_detach(struct conn *c, struct rt_link *link);
void conn_req_done(struct conn *c);

/* conn_drain(c): finish in-flight requests, then DISCONNECT and close. */
void conn_drain(struct conn *c);

/*
 * conn_close(c): close now; pending requests are cancelled.  The memory is
 * released by conn_reap(), which the worker calls between loop iterations,
 * so code up the stack may still look at ${c}.
 */
void conn_close(struct conn *c);
void conn_reap(struct wctx *w);
/* conn_from_link(l): the connection whose wctx.conns link is ${l}. */
struct conn *conn_from_link(struct rt_link *l);

/* ---- handler.c ---- */

/* The proto NOTIFY callback; ${arg} is the struct conn. */
enum spop_err handler_notify(void *arg, uint64_t sid, uint64_t fid,
    const uint8_t *payload, size_t len, struct spop_writer *out);

/* handler_cancel(link): a parked request whose connection closed. */
void handler_cancel(struct rt_link *link);

/*
 * handler_snapshot_changed(w, old): ${w}->snap was just replaced by a newer
 * snapshot; drop cache entries it invalidates and decide parked requests
 * again (those still waiting for a refetch stay parked until their
 * deadline).  ${old} is still referenced during the call.
 */
void handler_snapshot_changed(struct wctx *w, const struct snapshot *old);

/*
 * handler_kid_absent(w, issuer, kid, kid_len): answer the requests parked
 * on the kid ${kid} (${kid_len} bytes) of issuer index ${issuer} of ${w}'s
 * current snapshot: the fetcher says no refetch will bring that key
 * (negative cache), so they are decided without further parking.  Requests
 * parked on other kids, even of the same issuer, are left alone: their own
 * refetch or deadline decides them.
 */
void handler_kid_absent(struct wctx *w, size_t issuer, const char *kid,
    size_t kid_len);

/* ---- worker.c ---- */
struct wctx *conn_wctx(struct conn *c);
void worker_conn_closed(struct wctx *w);

#endif /* !SPOA_RUNTIME_H */
