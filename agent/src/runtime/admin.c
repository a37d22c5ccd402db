/*
 * admin.c: see admin.h.  Deliberately small: GET only, one request per
 * connection, 8 KiB request cap, 2 s to send it, at most ADMIN_CONNS_MAX
 * connections at a time (more are closed at once), nothing on it changes
 * state.  The answer is sent as the client takes it, with 2 s at most
 * between two pieces taken and 30 s in all.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ev.h>

#include "abuf.h"
#include "admin.h"
#include "config.h"
#include "list.h"
#include "log.h"
#include "reason.h"
#include "server.h"
#include "stats.h"
#include "util.h"

#define ADMIN_REQ_MAX    8192
#define ADMIN_TIMEOUT    2.0
#define ADMIN_SEND_MAX   30.0         /* to send a whole answer */

struct aconn;

struct admin {
	struct ev_loop *loop;
	int fd;
	struct aconn *conns;          /* open connections, freed on close */
	size_t nconns;                /* ... and how many (<= ADMIN_CONNS_MAX) */
	ev_io io;
	struct server_gate gate;      /* pauses on EMFILE and friends */
	const struct stats_set *stats;
	struct admin_providers prov;
	double idle_s, send_max_s;    /* ADMIN_TIMEOUT, ADMIN_SEND_MAX */
};

struct aconn {
	struct admin *a;
	struct aconn *next, **pprev;
	int fd;
	ev_io io;
	ev_timer timer;
	size_t len;
	char buf[ADMIN_REQ_MAX];
	char *out;                    /* the answer, head and body ... */
	size_t out_len, out_off;      /* ... its size, and how much is sent */
	ev_tstamp send_by;            /* ... and when it must be sent */
};

int
admin_parse_request(const char *buf, size_t len, const char **path,
    size_t *path_len, bool *head)
{
	const char *p = buf, *end = buf + len, *sp, *q;
	size_t mlen;

	/* The head ends with an empty line. */
	if (len < 4)
		return (0);
	bool complete = false;
	for (size_t i = 0; i + 3 < len; i++) {
		if (buf[i] == '\r' && buf[i + 1] == '\n' && buf[i + 2] == '\r' &&
		    buf[i + 3] == '\n') {
			complete = true;
			break;
		}
	}
	if (!complete) {
		for (size_t i = 0; i + 1 < len; i++)
			if (buf[i] == '\n' && buf[i + 1] == '\n')
				complete = true;
		if (!complete)
			return (0);
	}
	sp = memchr(p, ' ', (size_t)(end - p));
	if (sp == NULL)
		return (-1);
	mlen = (size_t)(sp - p);
	if (MEM_EQ_LIT(p, mlen, "GET"))
		*head = false;
	else if (MEM_EQ_LIT(p, mlen, "HEAD"))
		*head = true;
	else {
		for (size_t i = 0; i < mlen; i++)
			if (p[i] < 'A' || p[i] > 'Z')
				return (-1);
		return (mlen ? -2 : -1);
	}
	p = sp + 1;
	if (p >= end || *p != '/')
		return (-1);
	sp = p;
	while (sp < end && *sp != ' ' && *sp != '\r' && *sp != '\n') {
		if ((unsigned char)*sp < 0x21 || (unsigned char)*sp > 0x7e)
			return (-1);
		sp++;
	}
	if (sp >= end || *sp != ' ')
		return (-1);
	q = memchr(p, '?', (size_t)(sp - p));
	*path = p;
	*path_len = (size_t)((q ? q : sp) - p);
	p = sp + 1;
	if ((size_t)(end - p) < 8 || memcmp(p, "HTTP/1.", 7) != 0 ||
	    (p[7] != '0' && p[7] != '1'))
		return (-1);
	return (1);
}

static void
aconn_free(struct aconn *c)
{
	char junk[4096];

	/* Bytes the client sent after its request would make close() reset
	 * the connection, and lose what is still queued of the answer. */
	for (int i = 0; i < 16 && c->out != NULL &&
	    recv(c->fd, junk, sizeof(junk), MSG_DONTWAIT) > 0; i++)
		continue;
	*c->pprev = c->next;
	if (c->next != NULL)
		c->next->pprev = c->pprev;
	ev_io_stop(c->a->loop, &c->io);
	ev_timer_stop(c->a->loop, &c->timer);
	close(c->fd);
	c->a->nconns--;
	free(c->out);
	free(c);
}

static void on_conn_write(struct ev_loop *loop, ev_io *io, int revents);

/*
 * Send what the socket takes of the answer; when it takes no more, wait
 * for it to be writable again (ADMIN_TIMEOUT at most).  Frees ${c} when
 * the answer is sent, or cannot be.
 */
static void
aconn_send(struct aconn *c)
{
	struct ev_loop *loop = c->a->loop;
	bool moved = false;

	while (c->out_off < c->out_len) {
		ssize_t w = send(c->fd, c->out + c->out_off,
		    c->out_len - c->out_off, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (ev_cb(&c->io) != on_conn_write) {
				ev_io_stop(loop, &c->io);
				ev_io_set(&c->io, c->fd, EV_WRITE);
				ev_set_cb(&c->io, on_conn_write);
				ev_io_start(loop, &c->io);
				moved = true;
			}
			if (moved) {    /* the timeout counts from progress */
				ev_tstamp left = c->send_by - ev_now(loop);
				double idle = c->a->idle_s;

				if (left <= 0.)
					break;  /* too slow in all */
				ev_timer_stop(loop, &c->timer);
				ev_timer_set(&c->timer, left < idle ? left : idle,
				    0.);
				ev_timer_start(loop, &c->timer);
			}
			return;
		}
		if (w <= 0)
			break;          /* the client went away */
		c->out_off += (size_t)w;
		moved = true;
	}
	aconn_free(c);
}

static void
on_conn_write(struct ev_loop *loop, ev_io *io, int revents)
{
	(void)loop;
	(void)revents;
	aconn_send(container_of(io, struct aconn, io));
}

/* Answer and close: the head and ${body} (not for HEAD) are copied. */
static void
reply(struct aconn *c, int status, const char *ctype, const char *body,
    size_t len, bool head)
{
	char hdr[256];
	const char *text = status == 200 ? "OK" : status == 404 ? "Not Found" :
	    status == 405 ? "Method Not Allowed" : status == 503 ?
	    "Service Unavailable" : "Bad Request";
	int n = snprintf(hdr, sizeof(hdr),
	    "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
	    "Cache-Control: no-store\r\nConnection: close\r\n\r\n",
	    status, text, ctype, len);
	size_t blen = head ? 0 : len;

	if (n <= 0 || (size_t)n >= sizeof(hdr)) {
		aconn_free(c);
		return;
	}
	if ((c->out = malloc((size_t)n + blen)) == NULL) {
		static const char oom[] = "HTTP/1.1 503 Service Unavailable\r\n"
		    "Content-Length: 0\r\nConnection: close\r\n\r\n";

		/* Best effort, like the rest of an out-of-memory path. */
		if (send(c->fd, oom, sizeof(oom) - 1, MSG_NOSIGNAL) < 0)
			log_debug("admin: no memory for an answer, nor room "
			    "to say so: %s", strerror(errno));
		aconn_free(c);
		return;
	}
	memcpy(c->out, hdr, (size_t)n);
	if (blen > 0)
		memcpy(c->out + n, body, blen);
	c->out_len = (size_t)n + blen;
	c->out_off = 0;
	c->send_by = ev_now(c->a->loop) + c->a->send_max_s;
	aconn_send(c);
}

static const char *const metric_reason_help =
    "# HELP spoa_iam_decisions_total Decisions by reason code.\n"
    "# TYPE spoa_iam_decisions_total counter\n";

void
admin_render_metrics(const struct stats_set *s,
    const struct admin_providers *prov, struct abuf *b)
{
	static const struct {
		const char *name, *type, *help;
		size_t off;
	} counters[] = {
#define C(n, t, h) { "spoa_iam_" #n, t, h, offsetof(struct agent_stats, n) }
		C(conns_accepted, "counter", "SPOP connections accepted."),
		C(conns_active, "gauge", "SPOP connections open."),
		C(hello_total, "counter", "HELLO handshakes completed (AGENT-HELLO sent; health checks included, refused HELLOs not)."),
		C(healthchecks, "counter", "HAProxy health-check HELLOs."),
		C(notify_total, "counter", "NOTIFY frames received."),
		C(ack_total, "counter", "ACK frames sent."),
		C(protocol_errors, "counter", "Connections closed with an error DISCONNECT."),
		C(haproxy_disconnects, "counter", "HAPROXY-DISCONNECT frames received."),
		C(parked_total, "counter", "Requests parked for a key refetch."),
		C(parked_timeouts, "counter", "Parked requests decided at their deadline."),
		C(parked_refetch_asks, "counter", "Unknown-kid refetches asked of the fetcher by workers (one per kid a worker starts waiting on)."),
		C(token_cache_hits, "counter", "Verified-token cache hits."),
		C(token_cache_misses, "counter", "Verified-token cache misses."),
		C(token_cache_sweeps, "counter", "Snapshots whose changed key sets made a worker sweep its verified-token cache."),
		C(cert_cache_hits, "counter", "Client-certificate cache hits."),
		C(cert_cache_misses, "counter", "Client-certificate cache misses."),
		C(reloads_ok, "counter", "Successful SIGHUP reloads."),
		C(reloads_failed, "counter", "Rejected SIGHUP reloads (old config kept)."),
		C(conns_shed, "counter", "SPOP connections closed to make room for a new one (max_connections reached; the longest idle goes)."),
		C(conns_refused, "counter", "New SPOP connections closed at once: max_connections reached and none idle."),
		C(idle_timeouts, "counter", "SPOP connections closed after idle_timeout_ms without a frame."),
		C(frame_timeouts, "counter", "SPOP connections closed because a frame did not complete within frame_timeout_ms."),
		C(frame_budget_closes, "counter", "SPOP connections closed to keep partial frames within partial_frames_max_bytes."),
		C(partial_frame_bytes, "gauge", "Bytes of SPOP input buffers (frames being received)."),
		C(fd_limit, "gauge", "The process's file-descriptor limit (RLIMIT_NOFILE soft limit, raised to the hard limit at start)."),
		C(max_connections, "gauge", "SPOP connections kept open at most (max_connections)."),
#undef C
	};

	for (size_t i = 0; i < ARRAY_SIZE(counters); i++)
		abuf_printf(b, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n",
		    counters[i].name, counters[i].help, counters[i].name,
		    counters[i].type, counters[i].name, (unsigned long long)
		    stats_sum_at(s, counters[i].off));
	abuf_printf(b, "%s", metric_reason_help);
	for (int r = 0; r < REASON_COUNT; r++)
		abuf_printf(b, "spoa_iam_decisions_total{reason=\"%s\",status=\"%d\"} %llu\n",
		    reason_name((enum reason)r), reason_status((enum reason)r),
		    (unsigned long long)stats_sum_at(s,
		    offsetof(struct agent_stats, decisions) +
		    (size_t)r * sizeof(atomic_uint_fast64_t)));
	abuf_printf(b, "# HELP spoa_iam_log_dropped_total Log lines dropped: the "
	    "log ring was full (stderr slower than the lines).\n"
	    "# TYPE spoa_iam_log_dropped_total counter\n"
	    "spoa_iam_log_dropped_total %llu\n"
	    "# HELP spoa_iam_log_suppressed_total Log lines not written by the "
	    "per-reason rate limit of deny lines (each burst ends with one "
	    "\"suppressed N\" line).\n"
	    "# TYPE spoa_iam_log_suppressed_total counter\n"
	    "spoa_iam_log_suppressed_total %llu\n",
	    (unsigned long long)log_dropped(),
	    (unsigned long long)log_suppressed());
	if (prov != NULL && prov->metrics != NULL)
		prov->metrics(prov->arg, b);
}

static void
serve(struct aconn *c, const char *path, size_t plen, bool head)
{
	struct admin *a = c->a;
	struct abuf b = { 0 };

	if (MEM_EQ_LIT(path, plen, "/healthz")) {
		reply(c, 200, "text/plain", "ok\n", 3, head);
	} else if (MEM_EQ_LIT(path, plen, "/readyz")) {
		struct abuf src = { 0 };
		bool ok = true;

		if (a->prov.ready != NULL)
			ok = a->prov.ready(a->prov.arg, &src);
		abuf_printf(&b, "{\"ready\":%s,\"sources\":%.*s}\n",
		    ok ? "true" : "false", src.len ? (int)src.len : 2,
		    src.len ? src.p : "{}");
		if (b.oom || src.oom)
			reply(c, 503, "text/plain", "out of memory\n", 14, head);
		else
			reply(c, ok ? 200 : 503, "application/json", b.p,
			    b.len, head);
		free(src.p);
	} else if (MEM_EQ_LIT(path, plen, "/metrics")) {
		admin_render_metrics(a->stats, &a->prov, &b);
		if (b.oom)
			reply(c, 503, "text/plain", "out of memory\n", 14, head);
		else
			reply(c, 200, "text/plain; version=0.0.4", b.p, b.len, head);
	} else {
		reply(c, 404, "text/plain", "not found\n", 10, head);
	}
	free(b.p);
}

static void
on_conn_read(struct ev_loop *loop, ev_io *io, int revents)
{
	struct aconn *c = container_of(io, struct aconn, io);
	const char *path;
	size_t plen;
	bool head = false;
	ssize_t n;
	int r;

	(void)revents;
	n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		aconn_free(c);
		return;
	}
	c->len += (size_t)n;
	r = admin_parse_request(c->buf, c->len, &path, &plen, &head);
	if (r == 0 && c->len < sizeof(c->buf))
		return;
	ev_io_stop(loop, &c->io);       /* one request: no more reading */
	if (r == 1)
		serve(c, path, plen, head);
	else if (r == -2)
		reply(c, 405, "text/plain", "read-only: GET only\n", 20, false);
	else
		reply(c, 400, "text/plain", "bad request\n", 12, false);
}

static void
on_conn_timeout(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	aconn_free(container_of(t, struct aconn, timer));
}

static void
on_accept(struct ev_loop *loop, ev_io *io, int revents)
{
	struct admin *a = container_of(io, struct admin, io);
	struct aconn *c;
	int fd;

	(void)revents;
	fd = server_accept(&a->gate, a->fd, SOCK_NONBLOCK | SOCK_CLOEXEC,
	    "admin_listen");
	if (fd == -1)
		return;
	if (a->nconns >= ADMIN_CONNS_MAX || (c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);              /* refused: too many at once */
		return;
	}
	c->a = a;
	c->fd = fd;
	c->next = a->conns;
	c->pprev = &a->conns;
	if (a->conns != NULL)
		a->conns->pprev = &c->next;
	a->conns = c;
	a->nconns++;
	ev_io_init(&c->io, on_conn_read, fd, EV_READ);
	ev_io_start(loop, &c->io);
	ev_timer_init(&c->timer, on_conn_timeout, a->idle_s, 0.);
	ev_timer_start(loop, &c->timer);
}

/* The gate's watch function: the one admin listener. */
static void
watch_listener(void *arg, bool on)
{
	struct admin *a = arg;

	if (on)
		ev_io_start(a->loop, &a->io);
	else
		ev_io_stop(a->loop, &a->io);
}

struct admin *
admin_open(struct ev_loop *loop, const struct listen_addr *addr,
    const struct stats_set *stats, const struct admin_providers *prov)
{
	struct admin *a;

	a = calloc(1, sizeof(*a));
	if (a == NULL)
		return (NULL);
	a->loop = loop;
	a->stats = stats;
	a->idle_s = ADMIN_TIMEOUT;
	a->send_max_s = ADMIN_SEND_MAX;
	if (prov != NULL)
		a->prov = *prov;
	a->fd = server_listen_tcp(addr, "admin_listen", 64);
	if (a->fd == -1) {
		free(a);
		return (NULL);
	}
	server_gate_init(&a->gate, loop, watch_listener, a);
	ev_io_init(&a->io, on_accept, a->fd, EV_READ);
	ev_io_start(loop, &a->io);
	log_info("admin endpoints on http://%s (/healthz /readyz /metrics)",
	    addr->text);
	return (a);
}

void
admin_set_timeouts(struct admin *a, double idle_s, double send_max_s)
{
	a->idle_s = idle_s;
	a->send_max_s = send_max_s;
}

unsigned
admin_port(const struct admin *a)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (getsockname(a->fd, (struct sockaddr *)&ss, &sl) != 0)
		return (0);
	if (ss.ss_family == AF_INET)
		return (ntohs(((struct sockaddr_in *)&ss)->sin_port));
	if (ss.ss_family == AF_INET6)
		return (ntohs(((struct sockaddr_in6 *)&ss)->sin6_port));
	return (0);
}

void
admin_close(struct admin *a)
{
	if (a == NULL)
		return;
	while (a->conns != NULL)
		aconn_free(a->conns);
	server_gate_stop(&a->gate);
	ev_io_stop(a->loop, &a->io);
	close(a->fd);
	free(a);
}
