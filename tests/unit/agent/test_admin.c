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
	struct agent_stats s;
	struct abuf b = { 0 };

	(void)state;
	memset(&s, 0, sizeof(s));
	STAT_ADD(&s, notify_total, 42);
	STAT_ADD(&s, decisions[REASON_TOKEN_EXPIRED], 7);
	admin_render_metrics(&s, NULL, &b);
	assert_false(b.oom);
	assert_non_null(strstr(b.p, "\nspoa_iam_notify_total 42\n"));
	assert_non_null(strstr(b.p,
	    "spoa_iam_decisions_total{reason=\"token_expired\",status=\"401\"} 7\n"));
	assert_non_null(strstr(b.p, "# TYPE spoa_iam_conns_active gauge\n"));
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
	struct admin_providers prov = { NULL, big_metrics, NULL };

	memset(l, 0, sizeof(*l));
	assert_non_null(l->loop = ev_loop_new(EVFLAG_AUTO));
	assert_non_null(l->a = admin_open(l->loop, &addr, &l->stats, &prov));
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

/* The body after the head, and the Content-Length the head announced. */
static const char *
body_of(const char *resp, long *clen)
{
	const char *cl = strstr(resp, "Content-Length: ");
	const char *end = strstr(resp, "\r\n\r\n");

	assert_non_null(cl);
	assert_non_null(end);
	*clen = strtol(cl + 16, NULL, 10);
	return (end + 4);
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
	struct live l;
	size_t len;
	long clen;
	bool eof;
	char *resp;
	const char *body;
	int fd;

	(void)state;
	live_start(&l, 2.0, 30.0);
	fd = client(&l, "GET /metrics HTTP/1.0\r\n\r\n");
	nanosleep(&(struct timespec){ 0, 300000000 }, NULL);
	resp = read_all(fd, &len, &eof);
	close(fd);
	live_end(&l);
	assert_true(eof);
	assert_true(strncmp(resp, "HTTP/1.1 200 OK\r\n", 17) == 0);
	body = body_of(resp, &clen);
	assert_true(clen > 3000000);
	assert_int_equal((long)(len - (size_t)(body - resp)), clen);
	assert_true(strcmp(resp + len - 13, "end_marker 1\n") == 0);
	free(resp);
}

/* A client that stops reading is dropped ADMIN_TIMEOUT (2 s) later. */
static void
test_stalled_client_dropped(void **state)
{
	struct live l;
	struct timespec t0, t1;
	size_t len;
	long clen;
	bool eof;
	char *resp;
	int fd;

	(void)state;
	live_start(&l, 2.0, 30.0);
	fd = client(&l, "GET /metrics HTTP/1.0\r\n\r\n");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	nanosleep(&(struct timespec){ 3, 0 }, NULL);
	resp = read_all(fd, &len, &eof);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	close(fd);
	live_end(&l);
	assert_true(eof);       /* closed by the agent, not our 10 s timeout */
	/* 3 s of sleep, then what was queued: closed after 2 s without
	 * progress, not when the client gave up. */
	assert_true(t1.tv_sec - t0.tv_sec < 6);
	(void)body_of(resp, &clen);
	assert_true(len < (size_t)clen);
	free(resp);
}

/*
 * Bytes sent after the request are not read; the agent must not let them
 * turn its close into a reset, which would drop what is still queued of
 * the answer.
 */
static void
test_extra_bytes_after_request(void **state)
{
	struct live l;
	size_t len;
	long clen;
	bool eof;
	char *resp;
	const char *body;
	int fd;

	(void)state;
	live_start(&l, 2.0, 30.0);
	fd = client(&l, "GET /metrics HTTP/1.0\r\n\r\n");
	/* Once the agent has read the request and is sending. */
	nanosleep(&(struct timespec){ 0, 200000000 }, NULL);
	assert_int_equal(send(fd, "extra", 5, MSG_NOSIGNAL), 5);
	nanosleep(&(struct timespec){ 0, 200000000 }, NULL);
	resp = read_all(fd, &len, &eof);
	close(fd);
	live_end(&l);
	assert_true(eof);       /* not a reset */
	body = body_of(resp, &clen);
	assert_int_equal((long)(len - (size_t)(body - resp)), clen);
	free(resp);
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
	struct live l;
	struct timespec t0, t1;
	size_t len;
	long clen;
	bool eof;
	char *resp;
	int fd;

	(void)state;
	live_start(&l, 5.0, 0.3);
	fd = client(&l, "GET /metrics HTTP/1.0\r\n\r\n");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	nanosleep(&(struct timespec){ 1, 500000000 }, NULL);
	resp = read_all(fd, &len, &eof);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	close(fd);
	live_end(&l);
	assert_true(eof);
	assert_true(t1.tv_sec - t0.tv_sec < 4);        /* not the 5 s idle */
	(void)body_of(resp, &clen);
	assert_true(len < (size_t)clen);
	free(resp);
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
