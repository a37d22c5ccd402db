/*
 * admin.c: see admin.h.  Deliberately small: GET only, one request per
 * connection, 8 KiB request cap, 2 s to send it, nothing on it changes
 * state.  The answer is sent as the client takes it, with 2 s at most
 * between two pieces taken and 30 s in all.
 *
 * It cannot be locked out by idle connections: at most ADMIN_CONNS_MAX are
 * open, at most ADMIN_CONNS_PER_ADDR from one address; a connection over
 * either cap takes the place of the oldest one still waiting for its
 * request (the same address's first), and a new connection's request is
 * read at once, so a probe is answered in the loop turn that accepts it.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include "spoe/spop.h"

#include "abuf.h"
#include "admin.h"
#include "jwa.h"
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

#ifndef SPOA_VERSION
#define SPOA_VERSION "dev"
#endif

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
	uint64_t shed, refused;       /* connections closed by the caps */
};

struct aconn {
	struct admin *a;
	struct aconn *next, **pprev;
	int fd;
	ev_io io;
	ev_timer timer;
	struct sockaddr_storage peer; /* its address (the port is ignored) */
	socklen_t peer_len;
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

/* One unlabelled family: HELP, TYPE and the value. */
static void
family(struct abuf *b, const char *name, const char *type, const char *help,
    unsigned long long v)
{
	abuf_printf(b, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name, help,
	    name, type, name, v);
}

/* The label value ${s} escaped for the exposition format. */
static void
label(struct abuf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\' || *s == '"')
			abuf_printf(b, "\\%c", *s);
		else if (*s == '\n')
			abuf_printf(b, "\\n");
		else
			abuf_printf(b, "%c", *s);
	}
}

/*
 * The rows of labelled counters are per block: the same route or issuer
 * may sit in different rows of different blocks.  Collect the distinct
 * names of every block's ${which} table (routes or issuers).
 */
struct names_seen {
	const char *v[STATS_ROUTES * 8];
	size_t n;
};

static void
names_collect(const struct stats_set *s, bool routes, struct names_seen *out)
{
	out->n = 0;
	for (size_t i = 0; i < s->n; i++) {
		const struct stats_names *nm = routes ? &s->v[i]->names_routes :
		    &s->v[i]->names_issuers;
		unsigned n = atomic_load_explicit(&nm->nused,
		    memory_order_acquire);

		for (unsigned r = 2; r < n; r++) {
			size_t k = 0;

			while (k < out->n && strcmp(out->v[k], nm->v[r]) != 0)
				k++;
			if (k == out->n && out->n < ARRAY_SIZE(out->v))
				out->v[out->n++] = nm->v[r];
		}
	}
}

/* The row of ${name} in block ${st}'s table, or -1. */
static int
row_in(const struct stats_names *nm, const char *name)
{
	unsigned n = atomic_load_explicit(&nm->nused, memory_order_acquire);

	if (strcmp(name, "-") == 0)
		return (STATS_ROW_NONE);
	if (strcmp(name, "(other)") == 0)
		return (STATS_ROW_OTHER);
	for (unsigned r = 2; r < n; r++)
		if (strcmp(nm->v[r], name) == 0)
			return ((int)r);
	return (-1);
}

#define LOAD(p) atomic_load_explicit((p), memory_order_relaxed)

static void
render_decisions(const struct stats_set *s, struct abuf *b)
{
	struct names_seen seen;
	const char *fixed[] = { "-", "(other)" };

	names_collect(s, true, &seen);
	abuf_printf(b, "# HELP spoa_iam_decisions_total Decisions by route "
	    "(\"-\": none matched), result and reason code.\n"
	    "# TYPE spoa_iam_decisions_total counter\n");
	for (size_t k = 0; k < seen.n + 2; k++) {
		const char *name = k < 2 ? fixed[k] : seen.v[k - 2];

		for (int r = 0; r < REASON_COUNT; r++) {
			uint64_t sum = 0;

			for (size_t i = 0; i < s->n; i++) {
				int row = row_in(&s->v[i]->names_routes, name);

				if (row >= 0)
					sum += LOAD(&s->v[i]->route_decisions[row][r]);
			}
			if (sum == 0 && !(k == 0 && r == 0))
				continue;
			abuf_printf(b, "spoa_iam_decisions_total{route=\"");
			label(b, name);
			abuf_printf(b, "\",result=\"%s\",reason=\"%s\"} %llu\n",
			    r == REASON_OK ? "allow" : "deny",
			    reason_name((enum reason)r), (unsigned long long)sum);
		}
	}
}

static void
render_verifications(const struct stats_set *s, struct abuf *b)
{
	struct names_seen seen;

	names_collect(s, false, &seen);
	abuf_printf(b, "# HELP spoa_iam_verifications_total Tokens verified "
	    "(verified-token cache misses that reached an issuer) by issuer, "
	    "algorithm and outcome (ok, or the reason code).\n"
	    "# TYPE spoa_iam_verifications_total counter\n");
	for (size_t k = 0; k < seen.n; k++) {
		for (int a = 0; a < STATS_ALGS && a < JWS_ALG_COUNT; a++) {
			for (int r = 0; r < REASON_COUNT; r++) {
				uint64_t sum = 0;

				for (size_t i = 0; i < s->n; i++) {
					int row = row_in(&s->v[i]->names_issuers,
					    seen.v[k]);

					if (row >= 0)
						sum += LOAD(&s->v[i]->
						    verifications[row][a][r]);
				}
				if (sum == 0)
					continue;
				abuf_printf(b, "spoa_iam_verifications_total"
				    "{issuer=\"");
				label(b, seen.v[k]);
				abuf_printf(b, "\",alg=\"%s\",outcome=\"%s\"} "
				    "%llu\n", jwa_name((enum jws_alg)a),
				    reason_name((enum reason)r),
				    (unsigned long long)sum);
			}
		}
	}
}

static void
render_histogram(const struct stats_set *s, struct abuf *b, size_t off,
    const char *name, const char *help)
{
	static const double bounds[] = STATS_BUCKET_BOUNDS;
	uint64_t cum = 0, sum_ns = 0;

	abuf_printf(b, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
	for (int k = 0; k < STATS_BUCKETS; k++) {
		for (size_t i = 0; i < s->n; i++) {
			const struct stats_histogram *h = (const void *)
			    ((const char *)s->v[i] + off);

			cum += LOAD(&h->bucket[k]);
		}
		if (k < STATS_BUCKETS - 1)
			abuf_printf(b, "%s_bucket{le=\"%g\"} %llu\n", name,
			    bounds[k], (unsigned long long)cum);
		else
			abuf_printf(b, "%s_bucket{le=\"+Inf\"} %llu\n", name,
			    (unsigned long long)cum);
	}
	for (size_t i = 0; i < s->n; i++)
		sum_ns += LOAD(&((const struct stats_histogram *)(const void *)
		    ((const char *)s->v[i] + off))->sum_ns);
	abuf_printf(b, "%s_sum %.9f\n%s_count %llu\n", name,
	    (double)sum_ns / 1e9, name, (unsigned long long)cum);
}

static void
render_spop(const struct stats_set *s, struct abuf *b)
{
	static const char *const st_name[STATS_PROTO_STATUS] = {
		"0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11",
		"12", "13", "14", "other",
	};
#define SUM(f) ((unsigned long long)stats_sum_at(s, \
	offsetof(struct agent_stats, f)))

	abuf_printf(b, "# HELP spoa_iam_frames_received_total SPOP frames "
	    "received by type.\n# TYPE spoa_iam_frames_received_total counter\n"
	    "spoa_iam_frames_received_total{type=\"haproxy_hello\"} %llu\n"
	    "spoa_iam_frames_received_total{type=\"notify\"} %llu\n"
	    "spoa_iam_frames_received_total{type=\"haproxy_disconnect\"} %llu\n"
	    "# HELP spoa_iam_frames_sent_total SPOP frames sent by type.\n"
	    "# TYPE spoa_iam_frames_sent_total counter\n"
	    "spoa_iam_frames_sent_total{type=\"agent_hello\"} %llu\n"
	    "spoa_iam_frames_sent_total{type=\"ack\"} %llu\n"
	    "spoa_iam_frames_sent_total{type=\"agent_disconnect\"} %llu\n",
	    SUM(hellos_received), SUM(notify_total), SUM(haproxy_disconnects),
	    SUM(hello_total), SUM(ack_total), SUM(agent_disconnects));
	abuf_printf(b, "# HELP spoa_iam_protocol_errors_total Connections the "
	    "agent closed with an error DISCONNECT, by SPOP status code (the "
	    "10 s HELLO timeout included).\n"
	    "# TYPE spoa_iam_protocol_errors_total counter\n");
	for (int i = 0; i < STATS_PROTO_STATUS; i++) {
		unsigned long long v = (unsigned long long)stats_sum_at(s,
		    offsetof(struct agent_stats, protocol_errors_by_status) +
		    (size_t)i * sizeof(atomic_uint_fast64_t));

		if (v > 0 || i == SPOP_ERR_INVALID)
			abuf_printf(b, "spoa_iam_protocol_errors_total"
			    "{status=\"%s\"} %llu\n", st_name[i], v);
	}
	abuf_printf(b, "# HELP spoa_iam_reloads_total SIGHUP reloads by result "
	    "(failed: the running config was kept).\n"
	    "# TYPE spoa_iam_reloads_total counter\n"
	    "spoa_iam_reloads_total{result=\"ok\"} %llu\n"
	    "spoa_iam_reloads_total{result=\"failed\"} %llu\n",
	    SUM(reloads_ok), SUM(reloads_failed));
#undef SUM
}

/* When the process started (wall clock): /proc/stat's boot time is not
 * visible under systemd's ProcSubset=pid, so it is read once, early. */
static double started_at;

__attribute__((constructor)) static void
note_start(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) == 0)
		started_at = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Seconds since the process started. */
static double
uptime_s(void)
{
	struct timespec ts;

	if (started_at == 0. || clock_gettime(CLOCK_REALTIME, &ts) != 0)
		return (0.);
	return ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9 - started_at);
}

/* process_* metrics, as Prometheus client libraries export them. */
static void
render_process(struct abuf *b)
{
	char buf[1024], *p;
	unsigned long long ut = 0, st = 0, vsize = 0, rss = 0;
	unsigned long long nfd = 0;
	long tck = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
	struct rlimit rl;
	struct dirent *de;
	DIR *d;
	FILE *f;

	if ((f = fopen("/proc/self/stat", "r")) != NULL) {
		size_t n = fread(buf, 1, sizeof(buf) - 1, f);

		buf[n] = '\0';
		fclose(f);
		/* Fields after the command (which may hold spaces and ')'):
		 * 14 utime, 15 stime, 23 vsize, 24 rss. */
		if ((p = strrchr(buf, ')')) != NULL) {
			unsigned long long v[24];
			int k = 0;

			p++;
			while (k < 24 && *p != '\0') {
				char *end;

				while (*p == ' ')
					p++;
				v[k] = strtoull(p, &end, 10);
				if (end == p)
					v[k] = 0;
				p = end;
				while (*p != '\0' && *p != ' ')
					p++;
				k++;
			}
			if (k >= 22) {
				ut = v[11];
				st = v[12];
				vsize = v[20];
				rss = v[21];
			}
		}
	}
	if ((d = opendir("/proc/self/fd")) != NULL) {
		while ((de = readdir(d)) != NULL)
			if (de->d_name[0] != '.')
				nfd++;
		closedir(d);
		if (nfd > 0)
			nfd--;                  /* the directory's own */
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		rl.rlim_cur = 0;
	if (tck <= 0)
		tck = 100;
	abuf_printf(b, "# HELP process_cpu_seconds_total User and system CPU "
	    "time spent, seconds.\n# TYPE process_cpu_seconds_total counter\n"
	    "process_cpu_seconds_total %.2f\n"
	    "# HELP process_start_time_seconds Start time of the process since "
	    "the Unix epoch, seconds.\n# TYPE process_start_time_seconds gauge\n"
	    "process_start_time_seconds %.2f\n"
	    "# HELP process_resident_memory_bytes Resident memory size, bytes.\n"
	    "# TYPE process_resident_memory_bytes gauge\n"
	    "process_resident_memory_bytes %llu\n"
	    "# HELP process_virtual_memory_bytes Virtual memory size, bytes.\n"
	    "# TYPE process_virtual_memory_bytes gauge\n"
	    "process_virtual_memory_bytes %llu\n"
	    "# HELP process_open_fds Open file descriptors.\n"
	    "# TYPE process_open_fds gauge\nprocess_open_fds %llu\n"
	    "# HELP process_max_fds File descriptors the process may open (the "
	    "soft limit, raised to the hard one at start).\n"
	    "# TYPE process_max_fds gauge\nprocess_max_fds %llu\n",
	    (double)(ut + st) / (double)tck, started_at, rss *
	    (unsigned long long)(page > 0 ? page : 4096), vsize, nfd,
	    (unsigned long long)rl.rlim_cur);
}

void
admin_render_metrics(const struct stats_set *s,
    const struct admin_providers *prov, struct abuf *b)
{
	static const struct {
		const char *name, *type, *help;
		size_t off;
	} counters[] = {
#define C(n, f, t, h) { "spoa_iam_" n, t, h, offsetof(struct agent_stats, f) }
		C("connections_accepted_total", conns_accepted, "counter", "SPOP connections accepted."),
		C("connections_active", conns_active, "gauge", "SPOP connections open."),
		C("connections_shed_total", conns_shed, "counter", "SPOP connections closed to make room for a new one (max_connections reached; the longest idle goes)."),
		C("connections_refused_total", conns_refused, "counter", "New SPOP connections closed at once: max_connections reached and none idle."),
		C("idle_timeouts_total", idle_timeouts, "counter", "SPOP connections closed after idle_timeout_ms without a frame."),
		C("frame_timeouts_total", frame_timeouts, "counter", "SPOP connections closed because a frame did not complete within frame_timeout_ms."),
		C("frame_budget_closes_total", frame_budget_closes, "counter", "SPOP connections closed to keep partial frames within partial_frames_max_bytes."),
		C("partial_frame_bytes", partial_frame_bytes, "gauge", "Bytes of SPOP input buffers (frames being received)."),
		C("max_connections", max_connections, "gauge", "SPOP connections kept open at most (max_connections)."),
		C("hello_total", hello_total, "counter", "HELLO handshakes completed (AGENT-HELLO sent; health checks included, refused HELLOs not)."),
		C("healthchecks_total", healthchecks, "counter", "HAProxy health-check HELLOs."),
		C("notify_total", notify_total, "counter", "NOTIFY frames received."),
		C("ack_total", ack_total, "counter", "ACK frames sent."),
		C("haproxy_disconnects_total", haproxy_disconnects, "counter", "HAPROXY-DISCONNECT frames received."),
		C("parked_total", parked_total, "counter", "Requests parked for a key refetch."),
		C("parked_timeouts_total", parked_timeouts, "counter", "Parked requests decided at their deadline (park_timeout_ms)."),
		C("parked_requests", parked_now, "gauge", "Requests parked now."),
		C("kid_asks_total", parked_refetch_asks, "counter", "Unknown kids a worker asked the fetcher about (one per kid and worker, not per request; see spoa_iam_fetch_kid_refetches_total for the fetches they caused)."),
		C("token_cache_hits_total", token_cache_hits, "counter", "Verified-token cache hits."),
		C("token_cache_misses_total", token_cache_misses, "counter", "Verified-token cache misses."),
		C("token_cache_evictions_total", token_cache_evictions, "counter", "Verified tokens dropped to make room."),
		C("token_cache_entries", token_cache_entries, "gauge", "Verified tokens cached (all workers)."),
		C("token_cache_sweeps_total", token_cache_sweeps, "counter", "Snapshots whose changed key sets made a worker sweep its verified-token cache."),
		C("cert_cache_hits_total", cert_cache_hits, "counter", "Client-certificate cache hits."),
		C("cert_cache_misses_total", cert_cache_misses, "counter", "Client-certificate cache misses."),
		C("cert_cache_evictions_total", cert_cache_evictions, "counter", "Analysed certificates dropped to make room."),
		C("cert_cache_entries", cert_cache_entries, "gauge", "Analysed certificates cached (all workers)."),
		C("dpop_replay_entries", dpop_replay_entries, "gauge", "DPoP proofs remembered against replay (all workers)."),
		C("dpop_replay_evictions_total", dpop_replay_evictions, "counter", "DPoP proofs forgotten before their window ended, to make room (a replay of one is no longer detected)."),
		C("assertions_signed_total", assertions_signed, "counter", "Identity assertions signed (cache misses, or a cached one past three quarters of its life)."),
		C("assertions_cached_total", assertions_cached, "counter", "Identity assertions answered from the verified-token cache (no signature)."),
		C("assertion_errors_total", assertion_errors, "counter", "Allowed requests refused because their identity assertion could not be issued (no key, too large, signing failed)."),
#undef C
	};

	if (prov != NULL && prov->build_info != NULL)
		abuf_printf(b, "# HELP spoa_iam_build_info The agent's version "
		    "and the libraries it runs with.\n"
		    "# TYPE spoa_iam_build_info gauge\nspoa_iam_build_info{%s} 1\n",
		    prov->build_info);
	if (prov != NULL && prov->ready != NULL) {
		struct abuf scratch = { 0 };
		bool ok = prov->ready(prov->arg, &scratch);

		abuf_free(&scratch);
		family(b, "spoa_iam_ready", "gauge", "1 when /readyz answers 200: "
		    "every issuer has usable keys and the policy is loaded.", ok);
	}
	for (size_t i = 0; i < ARRAY_SIZE(counters); i++)
		family(b, counters[i].name, counters[i].type, counters[i].help,
		    (unsigned long long)stats_sum_at(s, counters[i].off));
	render_decisions(s, b);
	render_histogram(s, b, offsetof(struct agent_stats, decision_duration),
	    "spoa_iam_decision_duration_seconds", "Time from a NOTIFY to its "
	    "ACK in the agent, parked requests included.");
	render_histogram(s, b, offsetof(struct agent_stats, parked_duration),
	    "spoa_iam_parked_duration_seconds", "Time parked requests waited "
	    "for a key refetch (from the NOTIFY to the ACK).");
	render_verifications(s, b);
	render_spop(s, b);
	family(b, "spoa_iam_log_dropped_total", "counter", "Log lines dropped: "
	    "the log ring was full (stderr slower than the lines).",
	    (unsigned long long)log_dropped());
	family(b, "spoa_iam_log_suppressed_total", "counter", "Log lines not "
	    "written by the per-reason rate limit of deny lines (each burst "
	    "ends with one \"suppressed N\" line).",
	    (unsigned long long)log_suppressed());
	render_process(b);
	if (prov != NULL && prov->metrics != NULL)
		prov->metrics(prov->arg, b);
}

static void
serve(struct aconn *c, const char *path, size_t plen, bool head)
{
	struct admin *a = c->a;
	struct abuf b = { 0 };

	bool health = MEM_EQ_LIT(path, plen, "/healthz");

	if (health || MEM_EQ_LIT(path, plen, "/readyz")) {
		struct abuf src = { 0 };
		bool ok = true;

		/* /healthz: the process answers (always 200, for liveness);
		 * /readyz: 200 only when ready.  The same document. */
		if (a->prov.ready != NULL)
			ok = a->prov.ready(a->prov.arg, &src);
		abuf_printf(&b, "{\"status\":\"%s\",\"ready\":%s,"
		    "\"version\":\"%s\",\"uptime_s\":%.0f,\"sources\":%.*s}\n",
		    ok ? "ok" : "not_ready", ok ? "true" : "false", SPOA_VERSION,
		    uptime_s(), src.len ? (int)src.len : 2,
		    src.len ? src.p : "{}");
		if (b.oom || src.oom)
			reply(c, health ? 200 : 503, "text/plain",
			    "out of memory\n", 14, head);
		else
			reply(c, ok || health ? 200 : 503, "application/json",
			    b.p, b.len, head);
		free(src.p);
	} else if (MEM_EQ_LIT(path, plen, "/metrics")) {
		family(&b, "spoa_iam_admin_connections_shed_total", "counter",
		    "Admin connections closed before their request to make "
		    "room for a new one (per-address or total cap).", a->shed);
		family(&b, "spoa_iam_admin_connections_refused_total",
		    "counter", "Admin connections closed at once: every "
		    "connection in the way was being answered.", a->refused);
		admin_render_metrics(a->stats, &a->prov, &b);
		if (b.oom)
			reply(c, 503, "text/plain", "out of memory\n", 14, head);
		else
			reply(c, 200, "text/plain; version=0.0.4", b.p, b.len, head);
	} else if (MEM_EQ_LIT(path, plen, "/assertion-jwks.json") &&
	    a->prov.assertion_jwks != NULL &&
	    a->prov.assertion_jwks(a->prov.arg, &b)) {
		/* The public keys of the agent's identity assertions. */
		if (b.oom)
			reply(c, 503, "text/plain", "out of memory\n", 14, head);
		else
			reply(c, 200, "application/jwk-set+json", b.p, b.len,
			    head);
	} else {
		reply(c, 404, "text/plain", "not found\n", 10, head);
	}
	free(b.p);
}

/*
 * Read what ${c} sent and answer once its request is whole.  True while
 * ${c} still waits for its request; false once it is being answered or
 * has been closed (and freed).
 */
static bool
aconn_read(struct aconn *c)
{
	const char *path;
	size_t plen;
	bool head = false;
	ssize_t n;
	int r;

	n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return (true);
	if (n <= 0) {
		aconn_free(c);
		return (false);
	}
	c->len += (size_t)n;
	r = admin_parse_request(c->buf, c->len, &path, &plen, &head);
	if (r == 0 && c->len < sizeof(c->buf))
		return (true);
	ev_io_stop(c->a->loop, &c->io); /* one request: no more reading */
	if (r == 1)
		serve(c, path, plen, head);
	else if (r == -2)
		reply(c, 405, "text/plain", "read-only: GET only\n", 20, false);
	else
		reply(c, 400, "text/plain", "bad request\n", 12, false);
	return (false);
}

static void
on_conn_read(struct ev_loop *loop, ev_io *io, int revents)
{
	(void)loop;
	(void)revents;
	(void)aconn_read(container_of(io, struct aconn, io));
}

static void
on_conn_timeout(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	aconn_free(container_of(t, struct aconn, timer));
}

/* Whether ${a} and ${b} come from the same address (ports aside). */
static bool
same_addr(const struct aconn *a, const struct aconn *b)
{
	const struct sockaddr *x = (const void *)&a->peer;
	const struct sockaddr *y = (const void *)&b->peer;

	if (x->sa_family != y->sa_family)
		return (false);
	if (x->sa_family == AF_INET)
		return (((const struct sockaddr_in *)x)->sin_addr.s_addr ==
		    ((const struct sockaddr_in *)y)->sin_addr.s_addr);
	if (x->sa_family == AF_INET6)
		return (memcmp(&((const struct sockaddr_in6 *)x)->sin6_addr,
		    &((const struct sockaddr_in6 *)y)->sin6_addr,
		    sizeof(struct in6_addr)) == 0);
	return (true);                  /* no address: all one client */
}

/* The connection to close for ${c} (not yet listed), NULL if none may go;
 * *${full}: whether one must. */
static struct aconn *
pick_victim(struct admin *a, const struct aconn *c, bool *full)
{
	struct aconn *victim = NULL;
	size_t same = 0, most = 0;

	for (struct aconn *o = a->conns; o != NULL; o = o->next)
		same += same_addr(o, c);
	*full = same >= ADMIN_CONNS_PER_ADDR || a->nconns >= ADMIN_CONNS_MAX;
	if (!*full)
		return (NULL);
	for (struct aconn *o = a->conns; o != NULL; o = o->next) {
		size_t n = 0;

		if (o->out != NULL)
			continue;       /* being answered: it goes soon */
		if (same >= ADMIN_CONNS_PER_ADDR) {
			if (same_addr(o, c))
				victim = o;     /* the last seen is the oldest */
			continue;
		}
		for (const struct aconn *p = a->conns; p != NULL; p = p->next)
			n += same_addr(o, p);
		if (n >= most) {
			most = n;
			victim = o;
		}
	}
	return (victim);
}

/*
 * Make room for ${c}, not yet listed: when its address already holds
 * ADMIN_CONNS_PER_ADDR connections, close that address's oldest one still
 * waiting for its request; when all ADMIN_CONNS_MAX are taken, the oldest
 * such of the address holding the most (a client with one connection, a
 * probe, is the last to lose it).  False when there is no room to make
 * (every connection in the way is being answered).  The list is newest
 * first.  A victim's request that has just arrived is answered first.
 */
static bool
make_room(struct admin *a, const struct aconn *c)
{
	for (int tries = 0; tries < 4; tries++) {
		bool full;
		struct aconn *victim = pick_victim(a, c, &full);

		if (!full)
			return (true);
		if (victim == NULL)
			return (false);
		/* A request that has just arrived is answered, not lost;
		 * whoever is still waiting after that goes. */
		if (tries < 3 && !aconn_read(victim))
			continue;
		a->shed++;
		aconn_free(victim);
		return (true);
	}
	return (false);
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
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return;
	}
	c->a = a;
	c->fd = fd;
	c->peer_len = sizeof(c->peer);
	if (getpeername(fd, (struct sockaddr *)&c->peer, &c->peer_len) != 0)
		c->peer.ss_family = AF_UNSPEC;
	if (!make_room(a, c)) {
		a->refused++;
		close(fd);
		free(c);
		return;
	}
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
	/* A probe's request is usually there already: answer it now, before
	 * later connections can push this one out. */
	(void)aconn_read(c);
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
admin_open(struct ev_loop *loop, const struct listen_addr *addr, bool share,
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
	a->fd = server_listen_tcp(addr, "admin_listen", 64, share);
	if (a->fd == -1) {
		free(a);
		return (NULL);
	}
	server_gate_init(&a->gate, loop, watch_listener, a);
	ev_io_init(&a->io, on_accept, a->fd, EV_READ);
	/* Requests that arrived go before new connections, which may push
	 * their connections out. */
	ev_set_priority(&a->io, EV_MINPRI);
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
