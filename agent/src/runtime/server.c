/*
 * server.c: see server.h.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <ev.h>

#include "config.h"
#include "list.h"
#include "log.h"
#include "server.h"
#include "stats.h"
#include "worker.h"

struct listener {
	int fd;
	bool is_unix;
	char *unix_path;
	const char *text;
	ev_io io;
	struct server *srv;
};

struct server {
	struct listener *l;
	size_t n;
	struct server_gate gate;      /* pauses on EMFILE and friends */
	struct ev_loop *loop;
	struct worker **workers;
	size_t nworkers, next;
	struct agent_stats *stats;
};

int
server_listen_tcp(const struct listen_addr *a, const char *what, int backlog)
{
	struct addrinfo hints, *res = NULL, *ai;
	char port[8];
	int fd = -1, one = 1, rc;

	memset(&hints, 0, sizeof(hints));
	/* The config allows IPv4 addresses, "localhost" and bracketed IPv6
	 * literals (stored without brackets).  "localhost" means 127.0.0.1,
	 * as the config says, even where ::1 comes first in /etc/hosts:
	 * only the first address is bound, and HAProxy must find it. */
	hints.ai_family = strchr(a->host, ':') != NULL ? AF_INET6 : AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%u", (unsigned)a->port);
	rc = getaddrinfo(a->host, port, &hints, &res);
	if (rc != 0) {
		log_error("%s %s: %s", what, a->text, gai_strerror(rc));
		return (-1);
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, ai->ai_protocol);
		if (fd == -1)
			continue;
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (ai->ai_family == AF_INET6)
			(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
			    sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(fd, backlog) == 0)
			break;
		log_errorp("%s %s", what, a->text);
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return (fd);
}

/* Open a listening unix socket at ${path}; -1 on error (logged). */
static int
open_unix(const struct listen_addr *a)
{
	struct sockaddr_un sun;
	struct stat st;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(a->path) >= sizeof(sun.sun_path)) {
		log_error("listen %s: path too long", a->text);
		return (-1);
	}
	memcpy(sun.sun_path, a->path, strlen(a->path));
	if (lstat(a->path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			log_error("listen %s: exists and is not a socket", a->text);
			return (-1);
		}
		(void)unlink(a->path);   /* stale socket of an earlier run */
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		log_errorp("listen %s: socket", a->text);
		return (-1);
	}
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0 ||
	    listen(fd, 1024) != 0) {
		log_errorp("listen %s", a->text);
		close(fd);
		return (-1);
	}
	return (fd);
}

struct server *
server_open(const struct config *cfg)
{
	struct server *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return (NULL);
	s->l = calloc(cfg->nlisten, sizeof(*s->l));
	if (s->l == NULL) {
		free(s);
		return (NULL);
	}
	for (size_t i = 0; i < cfg->nlisten; i++) {
		const struct listen_addr *a = &cfg->listen[i];
		struct listener *l = &s->l[s->n];

		l->is_unix = a->kind == LISTEN_UNIX;
		l->fd = l->is_unix ? open_unix(a) : server_listen_tcp(a, "listen", 1024);
		if (l->fd == -1) {
			server_close(s);
			return (NULL);
		}
		l->text = a->text;
		l->srv = s;
		if (l->is_unix && (l->unix_path = strdup(a->path)) == NULL) {
			close(l->fd);
			server_close(s);
			return (NULL);
		}
		s->n++;
		log_info("listening for SPOP on %s", a->text);
	}
	return (s);
}

static void
on_resume(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct server_gate *g = container_of(t, struct server_gate, timer);

	(void)loop;
	(void)revents;
	g->paused = false;
	g->watch(g->arg, true);
}

void
server_gate_init(struct server_gate *g, struct ev_loop *loop,
    void (*watch)(void *arg, bool on), void *arg)
{
	memset(g, 0, sizeof(*g));
	g->loop = loop;
	g->watch = watch;
	g->arg = arg;
	ev_timer_init(&g->timer, on_resume, 1.0, 0.);
}

int
server_accept(struct server_gate *g, int lfd, int flags, const char *what)
{
	int fd = accept4(lfd, NULL, NULL, flags);

	if (fd != -1)
		return (fd);
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ||
	    errno == ECONNABORTED)
		return (-1);
	/* EMFILE, ENFILE, ENOBUFS, ENOMEM: the listener stays readable, so
	 * stop watching it for a while instead of spinning (and logging) at
	 * full speed. */
	if (!g->paused) {
		log_warnp("accept on %s (pausing accepts for 1 s)", what);
		g->paused = true;
		g->watch(g->arg, false);
		ev_timer_set(&g->timer, 1.0, 0.);
		ev_timer_start(g->loop, &g->timer);
	}
	return (-1);
}

void
server_gate_stop(struct server_gate *g)
{
	if (g->loop != NULL)
		ev_timer_stop(g->loop, &g->timer);
	g->paused = false;
}

/* The gate's watch function for the SPOP listeners. */
static void
watch_listeners(void *arg, bool on)
{
	struct server *s = arg;

	for (size_t i = 0; i < s->n; i++) {
		if (on)
			ev_io_start(s->loop, &s->l[i].io);
		else
			ev_io_stop(s->loop, &s->l[i].io);
	}
}

static void
on_accept(struct ev_loop *loop, ev_io *io, int revents)
{
	struct listener *l = container_of(io, struct listener, io);
	struct server *s = l->srv;
	int one = 1;

	(void)loop;
	(void)revents;
	for (int i = 0; i < SERVER_ACCEPT_BURST; i++) {
		int fd = server_accept(&s->gate, l->fd,
		    SOCK_NONBLOCK | SOCK_CLOEXEC, l->text);

		if (fd == -1)
			return;
		if (!l->is_unix)
			(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
			    sizeof(one));
		STAT_INC(s->stats, conns_accepted);   /* main thread's block */
		worker_give_conn(s->workers[s->next], fd);
		s->next = (s->next + 1) % s->nworkers;
	}
}

void
server_start(struct server *s, struct ev_loop *loop, struct worker **workers,
    size_t n, struct agent_stats *stats)
{
	s->loop = loop;
	s->workers = workers;
	s->nworkers = n;
	s->stats = stats;
	server_gate_init(&s->gate, loop, watch_listeners, s);
	for (size_t i = 0; i < s->n; i++) {
		ev_io_init(&s->l[i].io, on_accept, s->l[i].fd, EV_READ);
		ev_io_start(loop, &s->l[i].io);
	}
}

void
server_close(struct server *s)
{
	if (s == NULL)
		return;
	if (s->loop != NULL)
		server_gate_stop(&s->gate);
	for (size_t i = 0; i < s->n; i++) {
		struct listener *l = &s->l[i];

		if (s->loop != NULL)
			ev_io_stop(s->loop, &l->io);
		close(l->fd);
		if (l->unix_path != NULL) {
			(void)unlink(l->unix_path);
			free(l->unix_path);
		}
	}
	free(s->l);
	free(s);
}
