/*
 * floor_spoa.c: the least an SPOE agent can do, for scripts/bench-e2e.sh.
 *
 * It answers every NOTIFY, whatever it carries, with an ACK holding one
 * action: set-var(txn, "allow", true).  It reads no argument, checks no
 * token and keeps no state beyond the connection: what HAProxy spends on a
 * request through it is the cost of the SPOE exchange itself (the floor
 * under any agent), and what it spends itself is the least CPU an agent
 * pays per request.  Not installed; not the product.
 *
 * Protocol: the project's spoe/ codec.  HELLO negotiated like the agent's
 * (version 2.0, the smaller max-frame-size, "pipelining" if HAProxy offers
 * it), a health-check HELLO answered and closed, HAPROXY-DISCONNECT
 * answered with AGENT-DISCONNECT.  One thread, epoll (level-triggered),
 * non-blocking sockets; every NOTIFY found in one read is answered, and
 * the ACKs go out in one send().
 *
 * Usage: bench_floor_spoa [-m MAX_FRAME_SIZE] [-n] [-s USEC] ADDR
 *   ADDR  host:port (IPv4, or "localhost") or unix:/path
 *   -m    the max-frame-size we announce (default 16380)
 *   -n    never offer pipelining (one NOTIFY at a time per connection)
 *   -s    busy-poll: after the last event, poll without sleeping for up
 *         to USEC microseconds before blocking (a study of what waking
 *         the agent costs HAProxy; it burns the agent's CPU)
 * Prints "listening on ADDR" once it listens; on SIGTERM or SIGINT it
 * prints its counters (connections, NOTIFYs, reads, sends) and exits 0.
 */
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "spoe/spop.h"

#define DEFAULT_MAX_FRAME 16380u
#define OUT_FRAMES        8u          /* output buffer, in max-size frames */
#define MAX_EVENTS        64

struct conn {
	int fd;
	bool ready;           /* HELLO answered */
	bool closing;         /* close once the output is sent */
	bool want_out;        /* EPOLLOUT armed */
	bool paused;          /* EPOLLIN off: output full */
	uint32_t mfs;         /* negotiated max-frame-size */
	uint8_t *in;
	size_t in_len, in_cap;
	uint8_t *out;
	size_t out_off, out_len, out_cap;
};

struct counters {
	unsigned long long conns, hellos, checks, notifies, reads, sends;
	unsigned long long max_batch;   /* most NOTIFYs answered by one read */
};

static volatile sig_atomic_t stop;
static uint32_t our_max = DEFAULT_MAX_FRAME;
static bool offer_pipelining = true;
static long spin_us;
static struct counters cnt;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void
usage(void)
{
	fprintf(stderr, "usage: bench_floor_spoa [-m MAX_FRAME_SIZE] [-n] "
	    "host:port|unix:/path\n");
	exit(2);
}

static int
set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl == -1 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)
		return (-1);
	return (0);
}

/* Listen on ${addr}; return the socket or -1 (with a message). */
static int
listen_on(const char *addr)
{
	int fd = -1, one = 1;

	if (strncmp(addr, "unix:", 5) == 0) {
		struct sockaddr_un sun;
		const char *path = addr + 5;

		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		if (strlen(path) == 0 || strlen(path) >= sizeof(sun.sun_path)) {
			fprintf(stderr, "bench_floor_spoa: bad unix path\n");
			return (-1);
		}
		memcpy(sun.sun_path, path, strlen(path));
		if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1)
			goto err;
		(void)unlink(path);
		if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
			goto err;
	} else {
		struct sockaddr_in sin;
		const char *colon = strrchr(addr, ':');
		char host[64], *end;
		unsigned long port;
		size_t hl;

		if (colon == NULL || (hl = (size_t)(colon - addr)) >= sizeof(host))
			usage();
		memcpy(host, addr, hl);
		host[hl] = '\0';
		errno = 0;
		port = strtoul(colon + 1, &end, 10);
		if (errno != 0 || *end != '\0' || port == 0 || port > 65535)
			usage();
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_port = htons((uint16_t)port);
		if (strcmp(host, "localhost") == 0)
			sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		else if (inet_pton(AF_INET, host, &sin.sin_addr) != 1)
			usage();
		if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
			goto err;
		if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1)
			goto err;
		if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
			goto err;
	}
	if (listen(fd, 1024) == -1 || set_nonblock(fd) == -1)
		goto err;
	return (fd);
err:
	fprintf(stderr, "bench_floor_spoa: %s: %s\n", addr, strerror(errno));
	if (fd != -1)
		close(fd);
	return (-1);
}

static void
conn_free(int ep, struct conn *c)
{
	if (c == NULL)
		return;
	(void)epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->in);
	free(c->out);
	free(c);
}

/* Queue an AGENT-DISCONNECT with ${status}; close once it is sent. */
static void
say_goodbye(struct conn *c, enum spop_err status)
{
	ssize_t n;

	n = spop_disconnect_encode(c->out + c->out_len, c->out_cap - c->out_len,
	    SPOP_FRM_T_AGENT_DISCON, status, spop_err_message(status));
	if (n > 0)
		c->out_len += (size_t)n;
	c->closing = true;
}

static void
on_hello(struct conn *c, const struct spop_frame *f)
{
	struct spop_hello h;
	enum spop_err err = SPOP_ERR_INVALID;
	uint32_t mfs;
	bool pipelining;
	ssize_t n;

	if (c->ready || f->stream_id != 0 || f->frame_id != 0 ||
	    spop_hello_decode(f->payload.ptr, f->payload.len, &h, &err) != 0 ||
	    spop_hello_negotiate(&h, our_max, &mfs, &pipelining, &err) != 0) {
		say_goodbye(c, err);
		return;
	}
	n = spop_agent_hello_encode(c->out + c->out_len, c->out_cap - c->out_len,
	    mfs, pipelining && offer_pipelining ? "pipelining" : "");
	if (n < 0) {
		say_goodbye(c, SPOP_ERR_RES);
		return;
	}
	c->out_len += (size_t)n;
	c->mfs = mfs;
	c->ready = true;
	cnt.hellos++;
	if (h.healthcheck) {
		cnt.checks++;
		c->closing = true;      /* SPOE.txt: close without DISCONNECT */
	}
}

static void
on_notify(struct conn *c, const struct spop_frame *f)
{
	static const struct spop_data yes = {
		.type = SPOP_DATA_T_BOOL, .u.b = true,
	};
	struct spop_writer w;

	if (!c->ready || f->stream_id == 0 || f->frame_id == 0) {
		say_goodbye(c, SPOP_ERR_INVALID);
		return;
	}
	spop_w_init(&w, c->out + c->out_len, c->out_cap - c->out_len);
	spop_w_begin(&w, SPOP_FRM_T_AGENT_ACK, SPOP_FRM_FL_FIN, f->stream_id,
	    f->frame_id);
	spop_w_set_var(&w, SPOP_SCOPE_TXN, "allow", 5, &yes);
	if (spop_w_end(&w, c->mfs) < 0) {
		say_goodbye(c, SPOP_ERR_RES);
		return;
	}
	c->out_len += w.len;
	cnt.notifies++;
}

/*
 * Answer every whole frame buffered, while the output has room for a
 * largest frame.  Return the NOTIFYs answered.
 */
static unsigned
process(struct conn *c)
{
	size_t off = 0;
	unsigned notifies = 0;

	while (!c->closing &&
	    c->out_cap - c->out_len >= (size_t)c->mfs + SPOP_FRAME_LEN_SIZE) {
		struct spop_frame f;
		enum spop_err err = SPOP_ERR_INVALID;
		uint32_t flen;

		if (spop_frame_peek(c->in + off, c->in_len - off, &flen) == 0)
			break;
		if (flen == 0 || flen > c->mfs) {
			say_goodbye(c, flen == 0 ? SPOP_ERR_INVALID : SPOP_ERR_TOO_BIG);
			break;
		}
		if (flen > c->in_len - off - SPOP_FRAME_LEN_SIZE)
			break;
		if (spop_frame_decode(c->in + off + SPOP_FRAME_LEN_SIZE, flen, &f,
		    &err) != 0) {
			say_goodbye(c, err);
			break;
		}
		off += SPOP_FRAME_LEN_SIZE + (size_t)flen;
		if (!(f.flags & SPOP_FRM_FL_FIN)) {
			say_goodbye(c, SPOP_ERR_FRAG_NOT_SUP);
			break;
		}
		switch (f.type) {
		case SPOP_FRM_T_HAPROXY_HELLO:
			on_hello(c, &f);
			break;
		case SPOP_FRM_T_HAPROXY_NOTIFY:
			on_notify(c, &f);
			notifies++;
			break;
		case SPOP_FRM_T_HAPROXY_DISCON:
			say_goodbye(c, SPOP_ERR_NONE);
			break;
		default:
			break;          /* unknown types may be skipped */
		}
	}
	memmove(c->in, c->in + off, c->in_len - off);
	c->in_len -= off;
	return (notifies);
}

/* Send what we can.  Return -1 if the connection is gone. */
static int
flush(struct conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off,
		    c->out_len - c->out_off, MSG_NOSIGNAL);

		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return (0);
			return (-1);
		}
		cnt.sends++;
		c->out_off += (size_t)n;
	}
	c->out_off = c->out_len = 0;
	return (0);
}

/* Set the epoll interest of ${c} from its buffers. */
static int
rearm(int ep, struct conn *c)
{
	struct epoll_event ev;
	bool want_out = c->out_len > c->out_off;
	bool paused = c->closing ||
	    c->out_cap - c->out_len < (size_t)c->mfs + SPOP_FRAME_LEN_SIZE;

	if (want_out == c->want_out && paused == c->paused)
		return (0);
	memset(&ev, 0, sizeof(ev));
	ev.events = (paused ? 0 : EPOLLIN) | (want_out ? EPOLLOUT : 0);
	ev.data.ptr = c;
	c->want_out = want_out;
	c->paused = paused;
	return (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev));
}

/* Readable or writable: read, answer, send.  Return -1 to close. */
static int
on_event(int ep, struct conn *c, uint32_t events)
{
	unsigned n;

	if (events & EPOLLOUT && flush(c) == -1)
		return (-1);
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR) && !c->paused &&
	    c->in_len < c->in_cap) {
		ssize_t r = read(c->fd, c->in + c->in_len, c->in_cap - c->in_len);

		if (r == -1 && errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR)
			return (-1);
		if (r == 0)
			return (-1);    /* HAProxy closed: nothing to say */
		if (r > 0) {
			cnt.reads++;
			c->in_len += (size_t)r;
		}
	}
	n = process(c);
	if (n > cnt.max_batch)
		cnt.max_batch = n;
	if (flush(c) == -1)
		return (-1);
	if (c->closing && c->out_len == 0)
		return (-1);
	return (rearm(ep, c));
}

static struct conn *
conn_new(int ep, int fd)
{
	struct conn *c = calloc(1, sizeof(*c));
	struct epoll_event ev;
	int one = 1;

	if (c == NULL)
		goto err0;
	c->fd = fd;
	c->mfs = our_max;
	c->in_cap = (size_t)our_max + SPOP_FRAME_LEN_SIZE;
	c->out_cap = OUT_FRAMES * ((size_t)our_max + SPOP_FRAME_LEN_SIZE);
	if ((c->in = malloc(c->in_cap)) == NULL ||
	    (c->out = malloc(c->out_cap)) == NULL)
		goto err1;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (set_nonblock(fd) == -1)
		goto err1;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = c;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == -1)
		goto err1;
	cnt.conns++;
	return (c);
err1:
	free(c->in);
	free(c->out);
	free(c);
err0:
	close(fd);
	return (NULL);
}

int
main(int argc, char **argv)
{
	struct epoll_event ev, evs[MAX_EVENTS];
	struct sigaction sa;
	int ep, lfd, opt;

	while ((opt = getopt(argc, argv, "m:ns:")) != -1) {
		switch (opt) {
		case 'm': {
			char *end;
			unsigned long v;

			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || v < SPOP_MIN_FRAME_SIZE ||
			    v > SPOP_MAX_FRAME_SIZE)
				usage();
			our_max = (uint32_t)v;
			break;
		}
		case 'n':
			offer_pipelining = false;
			break;
		case 's': {
			char *end;

			errno = 0;
			spin_us = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || spin_us < 0 ||
			    spin_us > 1000000)
				usage();
			break;
		}
		default:
			usage();
		}
	}
	if (optind != argc - 1)
		usage();

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) == -1 ||
	    sigaction(SIGINT, &sa, NULL) == -1)
		return (1);
	sa.sa_handler = SIG_IGN;
	(void)sigaction(SIGPIPE, &sa, NULL);

	if ((lfd = listen_on(argv[optind])) == -1)
		return (1);
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		return (1);
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = NULL;             /* the listener */
	if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) == -1)
		return (1);
	fprintf(stderr, "listening on %s\n", argv[optind]);

	while (!stop) {
		int n = epoll_wait(ep, evs, MAX_EVENTS, spin_us > 0 ? 0 : -1);

		if (n == 0 && spin_us > 0) {
			/* Poll until an event or spin_us after the last one. */
			struct timespec t0, t;

			clock_gettime(CLOCK_MONOTONIC, &t0);
			do {
				n = epoll_wait(ep, evs, MAX_EVENTS, 0);
				clock_gettime(CLOCK_MONOTONIC, &t);
			} while (n == 0 && !stop &&
			    (t.tv_sec - t0.tv_sec) * 1000000L +
			    (t.tv_nsec - t0.tv_nsec) / 1000 < spin_us);
			if (n == 0)
				n = epoll_wait(ep, evs, MAX_EVENTS, -1);
		}

		if (n == -1) {
			if (errno == EINTR)
				continue;
			perror("bench_floor_spoa: epoll_wait");
			return (1);
		}
		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;

			if (c == NULL) {
				int fd;

				while ((fd = accept(lfd, NULL, NULL)) != -1)
					(void)conn_new(ep, fd);
				continue;
			}
			if (on_event(ep, c, evs[i].events) != 0)
				conn_free(ep, c);
		}
	}
	fprintf(stderr, "floor: connections=%llu hellos=%llu healthchecks=%llu "
	    "notifies=%llu reads=%llu sends=%llu max_notifies_per_read=%llu\n",
	    cnt.conns, cnt.hellos, cnt.checks, cnt.notifies, cnt.reads, cnt.sends,
	    cnt.max_batch);
	if (strncmp(argv[optind], "unix:", 5) == 0)
		(void)unlink(argv[optind] + 5);
	return (0);
}
