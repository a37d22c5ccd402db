/*
 * test_admin.c: the admin request parser, the metrics renderer, and the
 * listener itself: a large answer reaches a slow client whole, and a
 * client that stops reading is dropped.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include "admin.h"
#include "abuf.h"
#include "jwa.h"
#include "spoe/spop-t.h"
#include "config.h"
#include "stats.h"
#include "testsupport.h"

static int
parse(const char *req, const char **path, size_t *plen, bool *head)
{
	return (admin_parse_request(req, strlen(req), path, plen, head));
}

static void
test_get(void **state)
{
	const char *p;
	size_t l;
	bool head = true;

	(void)state;
	assert_int_equal(parse("GET /readyz HTTP/1.1\r\nHost: a\r\n\r\n", &p, &l, &head), 1);
	assert_int_equal(l, 7);
	assert_memory_equal(p, "/readyz", 7);
	assert_false(head);
	assert_int_equal(parse("GET /metrics?x=1 HTTP/1.0\r\n\r\n", &p, &l, &head), 1);
	assert_int_equal(l, 8);
	assert_int_equal(parse("HEAD /healthz HTTP/1.1\n\n", &p, &l, &head), 1);
	assert_true(head);
}

static void
test_incomplete(void **state)
{
	const char *p;
	size_t l;
	bool head;

	(void)state;
	assert_int_equal(parse("", &p, &l, &head), 0);
	assert_int_equal(parse("GET /readyz HTTP/1.1\r\n", &p, &l, &head), 0);
	assert_int_equal(parse("GET /readyz HTTP/1.1\r\nHost: a\r\n", &p, &l, &head), 0);
}

static void
test_bad(void **state)
{
	const char *p;
	size_t l;
	bool head;

	(void)state;
	assert_int_equal(parse("POST /readyz HTTP/1.1\r\n\r\n", &p, &l, &head), -2);
	assert_int_equal(parse("DELETE / HTTP/1.1\r\n\r\n", &p, &l, &head), -2);
	assert_int_equal(parse("get /readyz HTTP/1.1\r\n\r\n", &p, &l, &head), -1);
	assert_int_equal(parse("GET readyz HTTP/1.1\r\n\r\n", &p, &l, &head), -1);
	assert_int_equal(parse("GET /a\x01 HTTP/1.1\r\n\r\n", &p, &l, &head), -1);
	assert_int_equal(parse("GET /a HTTP/2.0\r\n\r\n", &p, &l, &head), -1);
	assert_int_equal(parse("GET /a\r\n\r\n", &p, &l, &head), -1);
	assert_int_equal(parse(" /a HTTP/1.1\r\n\r\n", &p, &l, &head), -1);
	assert_int_equal(parse("\r\n\r\n", &p, &l, &head), -1);
}

/*
 * admin_parse_request() on an exact-size heap copy of ${len} bytes of
 * ${req} (ASan sees overreads).  On success, the path (at most 15 bytes)
 * is copied to ${path} as a C string.
 */
static int
parse_exact(const char *req, size_t len, char path[16])
{
	char *copy = malloc(len ? len : 1);
	const char *p = NULL;
	size_t l = 0;
	bool head;
	int r;

	assert_non_null(copy);
	memcpy(copy, req, len);
	r = admin_parse_request(copy, len, &p, &l, &head);
	path[0] = '\0';
	if (r == 1) {
		assert_true(l < 16 && p >= copy && p + l <= copy + len);
		memcpy(path, p, l);
		path[l] = '\0';
	}
	free(copy);
	return (r);
}

static void
test_no_read_past_len(void **state)
{
	/* Complete heads, some with a request line cut short, and what the
	 * parser must say of each. */
	static const struct {
		const char *head;
		int want;
		const char *path;
	} cases[] = {
		{ "GET /readyz HTTP/1.1\r\n\r\n", 1, "/readyz" },
		{ "GET\n\n", -1, "" },
		{ "GET /\n\n", -1, "" },
		{ "GET / HTTP/1\n\n", -1, "" },
		{ "GET / HTTP/1.\n\n", -1, "" },
		{ "GET / HTTP/1.1\r\n\r\n", 1, "/" },
		{ "HEAD /m?q HTTP/1.0\n\n", 1, "/m" },
	};
	char path[16];

	(void)state;
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		size_t n = strlen(cases[c].head);
		int r;

		/* No strict prefix holds the blank line: each one is
		 * incomplete (0), never a result, an error or a crash. */
		for (size_t i = 0; i < n; i++) {
			r = parse_exact(cases[c].head, i, path);
			if (r != 0)
				fail_msg("case %zu, prefix %zu: %d, want 0", c, i, r);
		}
		r = parse_exact(cases[c].head, n, path);
		if (r != cases[c].want)
			fail_msg("case %zu: %d, want %d", c, r, cases[c].want);
		assert_string_equal(path, cases[c].path);
	}
}

static void
test_metrics(void **state)
{
	/* Three threads' blocks: /metrics shows their sums. */
	static struct agent_stats s[3];
	const struct agent_stats *v[3] = { &s[0], &s[1], &s[2] };
	struct stats_set set = { v, 3 };
	struct abuf b = { 0 };

	(void)state;
	memset(s, 0, sizeof(s));
	assert_int_equal((uintptr_t)&s[1] % STATS_CACHE_LINE, 0);
	assert_int_equal(sizeof(s[0]) % STATS_CACHE_LINE, 0);
	STAT_ADD(&s[0], notify_total, 40);
	STAT_ADD(&s[2], notify_total, 2);
	/* One route counted by two blocks in different rows, another by one;
	 * a decision without route. */
	{
		unsigned r0 = stats_row(&s[0].names_routes, STATS_ROUTES, "orders");
		unsigned r1a = stats_row(&s[1].names_routes, STATS_ROUTES, "health");
		unsigned r1b = stats_row(&s[1].names_routes, STATS_ROUTES, "orders");

		assert_int_not_equal(r0, r1b);
		STAT_ADD(&s[0], route_decisions[r0][REASON_TOKEN_EXPIRED], 5);
		STAT_ADD(&s[1], route_decisions[r1b][REASON_TOKEN_EXPIRED], 2);
		STAT_ADD(&s[1], route_decisions[r1a][REASON_OK], 3);
		STAT_INC(&s[2], route_decisions[STATS_ROW_NONE][REASON_NO_ROUTE]);
		assert_int_equal(stats_row(&s[1].names_routes, STATS_ROUTES,
		    "health"), r1a);
	}
	{
		unsigned ir = stats_row(&s[2].names_issuers, STATS_ISSUERS, "entra");

		STAT_ADD(&s[2], verifications[ir][JWS_ALG_RS256][REASON_OK], 4);
		STAT_INC(&s[2],
		    verifications[ir][JWS_ALG_RS256][REASON_SIGNATURE_INVALID]);
	}
	stats_observe(&s[0].decision_duration, 800);           /* 0.8 µs */
	stats_observe(&s[1].decision_duration, 3000);          /* 3 µs */
	stats_observe(&s[1].decision_duration, 2000000000);    /* 2 s */
	STAT_INC(&s[0], conns_active);
	STAT_INC(&s[1], conns_active);
	STAT_INC(&s[1], conns_active);
	STAT_DEC(&s[1], conns_active);
	STAT_INC(&s[0], protocol_errors_by_status[SPOP_ERR_TOUT]);
	admin_render_metrics(&set, NULL, &b);
	assert_false(b.oom);
	assert_non_null(strstr(b.p, "\nspoa_iam_notify_total 42\n"));
	assert_non_null(strstr(b.p, "spoa_iam_decisions_total{route=\"orders\","
	    "result=\"deny\",reason=\"token_expired\"} 7\n"));
	assert_non_null(strstr(b.p, "spoa_iam_decisions_total{route=\"health\","
	    "result=\"allow\",reason=\"ok\"} 3\n"));
	assert_non_null(strstr(b.p, "spoa_iam_decisions_total{route=\"-\","
	    "result=\"deny\",reason=\"no_route\"} 1\n"));
	assert_null(strstr(b.p, "route=\"orders\",result=\"allow\""));
	assert_non_null(strstr(b.p, "spoa_iam_verifications_total{issuer=\"entra\","
	    "alg=\"RS256\",outcome=\"ok\"} 4\n"));
	assert_non_null(strstr(b.p, "outcome=\"signature_invalid\"} 1\n"));
	/* Cumulative buckets, +Inf is the count, the sum in seconds. */
	assert_non_null(strstr(b.p, "spoa_iam_decision_duration_seconds_bucket"
	    "{le=\"1e-06\"} 1\n"));
	assert_non_null(strstr(b.p, "spoa_iam_decision_duration_seconds_bucket"
	    "{le=\"5e-06\"} 2\n"));
	assert_non_null(strstr(b.p, "spoa_iam_decision_duration_seconds_bucket"
	    "{le=\"1\"} 2\n"));
	assert_non_null(strstr(b.p, "spoa_iam_decision_duration_seconds_bucket"
	    "{le=\"+Inf\"} 3\n"));
	assert_non_null(strstr(b.p, "spoa_iam_decision_duration_seconds_count 3\n"));
	assert_non_null(strstr(b.p, "spoa_iam_decision_duration_seconds_sum 2.0000038"));
	assert_non_null(strstr(b.p, "# TYPE spoa_iam_connections_active gauge\n"));
	assert_non_null(strstr(b.p, "\nspoa_iam_connections_active 2\n"));
	assert_non_null(strstr(b.p, "spoa_iam_protocol_errors_total{status=\"2\"} 1\n"));
	assert_non_null(strstr(b.p, "\nspoa_iam_log_dropped_total 0\n"));
	assert_non_null(strstr(b.p, "\nprocess_open_fds "));
	assert_non_null(strstr(b.p, "\nprocess_start_time_seconds 1"));
	free(b.p);
}

/* ---- the listener, on its own loop in a thread ---- */

#define BIG_LINES 165000        /* about 4.0 MB of metrics (4 MiB at most) */

static void
big_metrics(void *arg, struct abuf *b)
{
	(void)arg;
	for (int i = 0; i < BIG_LINES; i++)
		abuf_printf(b, "big_metric{n=\"%d\"} 1\n", i);
	abuf_printf(b, "end_marker 1\n");
}

struct live {
	struct ev_loop *loop;
	ev_async stop;
	pthread_t thread;
	struct admin *a;
	struct agent_stats stats;
	const struct agent_stats *blocks[1];
	struct stats_set set;
};

static void
on_stop(struct ev_loop *loop, ev_async *w, int revents)
{
	(void)w;
	(void)revents;
	ev_break(loop, EVBREAK_ALL);
}

static void *
live_main(void *arg)
{
	struct live *l = arg;

	ev_run(l->loop, 0);
	return (NULL);
}

static void
live_start(struct live *l, double idle_s, double send_max_s)
{
	char host[] = "127.0.0.1", text[] = "127.0.0.1:0";
	struct listen_addr addr = { LISTEN_TCP, host, 0, NULL, text };
	struct admin_providers prov = { .metrics = big_metrics };

	memset(l, 0, sizeof(*l));
	assert_non_null(l->loop = ev_loop_new(EVFLAG_AUTO));
	l->blocks[0] = &l->stats;
	l->set.v = l->blocks;
	l->set.n = 1;
	assert_non_null(l->a = admin_open(l->loop, &addr, false, &l->set,
	    &prov));
	assert_int_not_equal(admin_port(l->a), 0);
	admin_set_timeouts(l->a, idle_s, send_max_s);
	ev_async_init(&l->stop, on_stop);
	ev_async_start(l->loop, &l->stop);
	assert_int_equal(pthread_create(&l->thread, NULL, live_main, l), 0);
}

static void
live_end(struct live *l)
{
	ev_async_send(l->loop, &l->stop);
	pthread_join(l->thread, NULL);
	admin_close(l->a);      /* frees connections still open */
	ev_loop_destroy(l->loop);
}

/* A connection with a small receive window that has sent ${req}. */
static int
client(const struct live *l, const char *req)
{
	struct sockaddr_in a;
	int fd = socket(AF_INET, SOCK_STREAM, 0), rcv = 4096;
	struct timeval tv = { 10, 0 };

	assert_true(fd >= 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv,
	    sizeof(rcv)), 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv,
	    sizeof(tv)), 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((uint16_t)admin_port(l->a));
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(send(fd, req, strlen(req), MSG_NOSIGNAL),
	    (ssize_t)strlen(req));
	return (fd);
}

/* Read until the server closes (or 10 s pass without a byte). */
static char *
read_all(int fd, size_t *len, bool *eof)
{
	size_t cap = 1 << 16;
	char *p = malloc(cap);
	ssize_t r;

	assert_non_null(p);
	*len = 0;
	for (;;) {
		if (cap - *len < 4096)
			assert_non_null(p = realloc(p, cap *= 2));
		r = read(fd, p + *len, cap - *len - 1);
		if (r <= 0)
			break;
		*len += (size_t)r;
	}
	*eof = r == 0;
	p[*len] = '\0';
	return (p);
}

/* What a client got for GET /metrics. */
struct got {
	char *resp;             /* head and body, NUL-terminated */
	size_t len;
	bool eof;               /* closed by the agent, not our 10 s timeout */
	double secs;            /* from the request to the end of reading */
	long clen;              /* the head's Content-Length */
	long body;              /* bytes after the head */
};

/*
 * GET /metrics from a listener with these timeouts, on a connection with a
 * small receive window: wait ${pause_ms} before reading anything (sending
 * 5 bytes more halfway through when ${extra}), then read until the end.
 */
static void
get_metrics(struct got *g, double idle_s, double send_max_s, long pause_ms,
    bool extra)
{
	struct live l;
	struct timespec t0, t1;
	const char *cl, *end;
	int fd;

	live_start(&l, idle_s, send_max_s);
	fd = client(&l, "GET /metrics HTTP/1.0\r\n\r\n");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (extra) {
		nanosleep(&(struct timespec){ 0, pause_ms / 2 * 1000000 }, NULL);
		assert_int_equal(send(fd, "extra", 5, MSG_NOSIGNAL), 5);
		pause_ms -= pause_ms / 2;
	}
	nanosleep(&(struct timespec){ pause_ms / 1000,
	    pause_ms % 1000 * 1000000 }, NULL);
	g->resp = read_all(fd, &g->len, &g->eof);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	close(fd);
	live_end(&l);
	g->secs = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	assert_true(strncmp(g->resp, "HTTP/1.1 200 OK\r\n", 17) == 0);
	assert_non_null(cl = strstr(g->resp, "Content-Length: "));
	assert_non_null(end = strstr(g->resp, "\r\n\r\n"));
	g->clen = strtol(cl + 16, NULL, 10);
	g->body = (long)(g->len - (size_t)(end + 4 - g->resp));
}

/*
 * About 4 MB of /metrics to a client that takes its time: more than the
 * socket buffers hold (the agent's send buffer starts near 1.3 MB on
 * loopback; the client's receive buffer is 4 KiB), so the agent must wait
 * for the socket to take the rest.  Every byte the head announces arrives.
 */
static void
test_slow_client_gets_it_all(void **state)
{
	struct got g;

	(void)state;
	get_metrics(&g, 2.0, 30.0, 300, false);
	assert_true(g.eof);
	assert_true(g.clen > 3000000);
	assert_int_equal(g.body, g.clen);
	assert_true(strcmp(g.resp + g.len - 13, "end_marker 1\n") == 0);
	free(g.resp);
}

/*
 * A client that stops reading is dropped ADMIN_TIMEOUT (2 s) later: after
 * 3 s of sleep it finds what was queued, then the end, well before its
 * own 10 s timeout.
 */
static void
test_stalled_client_dropped(void **state)
{
	struct got g;

	(void)state;
	get_metrics(&g, 2.0, 30.0, 3000, false);
	assert_true(g.eof);
	assert_true(g.secs < 6.0);
	assert_true(g.body < g.clen);
	free(g.resp);
}

/*
 * Bytes sent after the request are not read; the agent must not let them
 * turn its close into a reset, which would drop what is still queued of
 * the answer.
 */
static void
test_extra_bytes_after_request(void **state)
{
	struct got g;

	(void)state;
	get_metrics(&g, 2.0, 30.0, 400, true);
	assert_true(g.eof);     /* not a reset */
	assert_int_equal(g.body, g.clen);
	free(g.resp);
}

/*
 * The whole answer's time bounds the wait even when the idle timeout is
 * longer: with 5 s idle and 0.3 s in all, a client that takes nothing is
 * closed at 0.3 s, not at 5 s.  (A client that keeps taking a little at a
 * time meets the same bound: every wait is the shorter of the two.)
 */
static void
test_send_max_bounds_the_wait(void **state)
{
	struct got g;

	(void)state;
	get_metrics(&g, 5.0, 0.3, 1500, false);
	assert_true(g.eof);
	assert_true(g.secs < 4.0);      /* not the 5 s idle */
	assert_true(g.body < g.clen);
	free(g.resp);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get),
		cmocka_unit_test(test_incomplete),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_no_read_past_len),
		cmocka_unit_test(test_metrics),
		cmocka_unit_test(test_slow_client_gets_it_all),
		cmocka_unit_test(test_stalled_client_dropped),
		cmocka_unit_test(test_extra_bytes_after_request),
		cmocka_unit_test(test_send_max_bounds_the_wait),
	};
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
