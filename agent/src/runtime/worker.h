/*
 * worker.h: worker threads.  Each owns one libev loop, its SPOP connections
 * (conn.h), its request handler (handler.h: caches, parked requests, the
 * current snapshot) and its counters; other threads talk to it only
 * through its inbox (a locked queue + ev_async).  worker.c is the
 * composition root of the request path: the only file that knows both
 * connections and the handler, and wires one to the other.
 */
#ifndef SPOA_WORKER_H
#define SPOA_WORKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* How long a closing connection may take to flush its last frame before
 * it is cut (conn.c); bounds a drain. */
#define CONN_LINGER_MS 5000
/* How long a new connection may take to send HAPROXY-HELLO. */
#define CONN_HELLO_TIMEOUT_MS 10000

struct snapshot;
struct worker;
struct agent_stats;
struct conn_limits;

/*
 * worker_start(id, snap, lim):
 * Create worker ${id} and its thread, holding a new reference to ${snap};
 * its SPOP connections live under ${lim} (copied; max_conns is this
 * worker's share).  Return the worker, or NULL on failure (logged).
 */
struct worker *worker_start(unsigned id, struct snapshot *snap,
    const struct conn_limits *lim);

/*
 * worker_stats(w): the counters of ${w}, written by its thread only and
 * read by /metrics; valid until worker_join() frees ${w}.
 */
const struct agent_stats *worker_stats(const struct worker *w);

/*
 * worker_give_conn(w, fd):
 * Hand the connected, non-blocking socket ${fd} to ${w}, which owns it from
 * now on (it is closed if the worker cannot take it).  Thread-safe.
 */
void worker_give_conn(struct worker *w, int fd);

/*
 * worker_publish(w, snap):
 * Send a new reference to ${snap} to ${w}; the worker swaps to it between
 * events and drops its old one.  Thread-safe.
 */
void worker_publish(struct worker *w, struct snapshot *snap);

/*
 * worker_kid_absent(w, issuer, kid, kid_len):
 * Tell ${w} that no refetch will bring the key ${kid} (${kid_len} bytes,
 * copied; at most DECIDE_KID_MAX) of issuer index ${issuer} (negative
 * cache), so the requests parked on that kid of that issuer are answered
 * now (key_unknown).  Requests parked on other kids keep waiting for their
 * own refetch or deadline.  Thread-safe.
 */
void worker_kid_absent(struct worker *w, size_t issuer, const char *kid,
    size_t kid_len);

/*
 * worker_drain(w):
 * Ask ${w} to finish its in-flight requests, send AGENT-DISCONNECT on
 * every connection, close them and end its thread.  Thread-safe.
 */
void worker_drain(struct worker *w);

/*
 * worker_join(w, deadline):
 * Wait until ${deadline} (CLOCK_REALTIME) at the latest for the thread of a
 * draining worker to end, then free it.  Return 0 if it ended in time, -1
 * if it did not (then it is left running and not freed: the process is
 * about to exit anyway).  One deadline serves all workers, so the whole
 * drain is bounded, however many there are.
 */
int worker_join(struct worker *w, const struct timespec *deadline);

#endif /* !SPOA_WORKER_H */
