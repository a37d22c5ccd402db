/*
 * admin.h: the read-only admin listener (admin_listen): GET /healthz,
 * GET /readyz, GET /metrics, GET /assertion-jwks.json.  HTTP/1.0-style: one request per connection,
 * answered (at the pace the client takes it, 2 s at most without progress,
 * 30 s in all) and closed; accepts paused for a second when out of
 * descriptors.  Runs on the main thread's loop, never a worker's.
 *
 * Idle connections cannot lock it out: at most ADMIN_CONNS_MAX at a time
 * and ADMIN_CONNS_PER_ADDR from one address; a new connection over a cap
 * replaces the oldest one that has not sent its request yet (that
 * address's own first), and is closed at once only when every connection
 * in its way is being answered.  A new connection's request is read as
 * soon as it is accepted.
 */
#ifndef SPOA_ADMIN_H
#define SPOA_ADMIN_H

#include <stdbool.h>
#include <stddef.h>

/* Admin connections open at once, at most (each holds a descriptor). */
#define ADMIN_CONNS_MAX 32
/* ... and from one client address (a probe and a scraper are two). */
#define ADMIN_CONNS_PER_ADDR 8

struct ev_loop;
struct listen_addr;
struct stats_set;
struct admin;
struct abuf;


/*
 * Providers, called on the main thread for each request:
 * ready(arg, body): append a JSON object describing each source to ${body}
 *   and return true when every issuer has usable keys and the policy (if
 *   any) is loaded.  /readyz and /healthz show it.
 * metrics(arg, body): append Prometheus text lines of the provider.
 * assertion_jwks(arg, body): append the JWK Set of the assertion keys and
 *   return true, or false when assertions are off (404).  May be NULL.
 */
struct admin_providers {
	bool (*ready)(void *arg, struct abuf *body);
	void (*metrics)(void *arg, struct abuf *body);
	bool (*assertion_jwks)(void *arg, struct abuf *body);
	void *arg;
	/* The labels of spoa_iam_build_info ("version=\"..\",openssl=..."),
	 * or NULL. */
	const char *build_info;
};

/*
 * admin_open(loop, addr, share, stats, prov):
 * Listen on ${addr}, shared with other processes (SO_REUSEPORT) if
 * ${share} (server_listen_tcp()); NULL with the reason logged on failure.
 * /metrics
 * sums the counter blocks of ${stats} (borrowed until admin_close(); its
 * blocks may be filled in after this call, before the loop runs).
 */
struct admin *admin_open(struct ev_loop *loop, const struct listen_addr *addr,
    bool share, const struct stats_set *stats,
    const struct admin_providers *prov);

/*
 * admin_set_timeouts(a, idle_s, send_max_s): a client has ${idle_s} to send
 * its request and then to take each next piece of the answer, and
 * ${send_max_s} to take all of it (2 s and 30 s unless set; for tests).
 */
void admin_set_timeouts(struct admin *a, double idle_s, double send_max_s);

/* admin_port(a): the TCP port ${a} listens on (tests listen on port 0). */
unsigned admin_port(const struct admin *a);

/* admin_close(a): stop and free; NULL is a no-op. */
void admin_close(struct admin *a);

/*
 * admin_parse_request(buf, len, path, path_len):
 * Pure, bounded parser of an HTTP request head in ${buf}.  Return 1 when a
 * complete head (up to the blank line) is present and its method is GET or
 * HEAD, with *${path} pointing into ${buf} (query string excluded); 0 if
 * more bytes are needed; -1 if malformed; -2 for another method.
 */
int admin_parse_request(const char *buf, size_t len, const char **path,
    size_t *path_len, bool *head);

/*
 * admin_render_metrics(stats, prov, out): the /metrics body: every counter
 * summed over the blocks of ${stats}, the log ring's counters, then
 * ${prov}'s lines (tests).
 */
void admin_render_metrics(const struct stats_set *stats,
    const struct admin_providers *prov, struct abuf *out);

#endif /* !SPOA_ADMIN_H */
