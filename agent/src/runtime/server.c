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
	/* Unix: bound at tmp_path until server_open() renames it over
	 * unix_path (NULL then); dev/ino name the socket file it put there. */
	char *tmp_path;
	dev_t dev;
	ino_t ino;
	bool took_over;               /* a process listened at unix_path */
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

/*
 * A TCP socket for ${ai}, bound, and listening if ${backlog} > 0; -1 with
 * errno set.  SO_REUSEADDR lets a restart bind while the connections of
 * the previous run linger (TIME_WAIT, or still draining); it never lets
 * two sockets listen on one address.  SO_REUSEPORT (${share}) does, for
 * sockets of one user that all set it.
 */
static int
tcp_bind(const struct addrinfo *ai, bool share, int backlog)
{
	int fd, one = 1, e;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, ai->ai_protocol);
	if (fd == -1)
		return (-1);
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ai->ai_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
		    sizeof(one));
	if (share && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one,
	    sizeof(one)) != 0)
		goto fail;
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0)
		goto fail;
	if (backlog > 0 && listen(fd, backlog) != 0)
		goto fail;
	return (fd);
fail:
	e = errno;
	close(fd);
	errno = e;
	return (-1);
}

/*
 * Whether another socket listens on ${ai}'s address: a bind without
 * SO_REUSEPORT then fails with EADDRINUSE.  The probe is closed before it
 * listens, so it never takes a connection.
 */
static bool
tcp_held(const struct addrinfo *ai)
{
	int fd = tcp_bind(ai, false, 0);

	if (fd != -1) {
		close(fd);
		return (false);
	}
	return (errno == EADDRINUSE);
}

int
server_listen_tcp(const struct listen_addr *a, const char *what, int backlog,
    bool share)
{
	struct addrinfo hints, *res = NULL, *ai;
	char port[8];
	int fd = -1, rc;
	bool held;

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
		held = share && tcp_held(ai);
		fd = tcp_bind(ai, share, backlog);
		if (fd != -1) {
			if (held)
				log_warn("%s %s: another process listens here "
				    "too (SO_REUSEPORT): taking over; stop the "
				    "old one (SIGTERM) to let it drain", what,
				    a->text);
			break;
		}
		if (share && errno == EADDRINUSE)
			log_errorp("%s %s: another process listens here and "
			    "does not share the address (no SO_REUSEPORT, or "
			    "another user)", what, a->text);
		else
			log_errorp("%s %s", what, a->text);
	}
	freeaddrinfo(res);
	return (fd);
}

/*
 * Whether a process accepts on the unix socket ${sun}: a connect succeeds,
 * or finds the backlog full (EAGAIN).  ECONNREFUSED is a stale socket, no
 * listener.  The holder sees a connection closed before its HELLO.
 */
static bool
unix_live(const struct sockaddr_un *sun)
{
	int fd;
	bool live;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return (false);
	live = connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0 ||
	    errno == EAGAIN;
	close(fd);
	return (live);
}

/* ${path} into ${sun}; -1 if it does not fit. */
static int
unix_addr(struct sockaddr_un *sun, const char *path)
{
	size_t len = strlen(path);

	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (len >= sizeof(sun->sun_path))
		return (-1);
	memcpy(sun->sun_path, path, len);
	return (0);
}

/* Whether ${path} is the socket file ${dev}/${ino}. */
static bool
same_file(const char *path, dev_t dev, ino_t ino)
{
	struct stat st;

	return (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode) &&
	    st.st_dev == dev && st.st_ino == ino);
}

/*
 * Bind and listen on the unix socket of ${a} at its temporary name,
 * "<path>.<pid>.new" in the same directory (so that rename() can move it
 * over the path), and fill ${l} in; unix_publish() renames it.  The
 * socket file's mode is 0777 less the umask, as bind() makes it; rename()
 * keeps the file, so its mode and owner are those of a plain bind().
 * -1 on error (logged; nothing is left behind).
 */
static int
unix_bind(struct listener *l, const struct listen_addr *a, bool share)
{
	struct sockaddr_un sun, tmp;
	struct stat st;
	char name[sizeof(tmp.sun_path)];
	int fd, n;

	n = snprintf(name, sizeof(name), "%s.%ld.new", a->path,
	    (long)getpid());
	if (unix_addr(&sun, a->path) != 0 || n < 0 ||
	    (size_t)n >= sizeof(name) || unix_addr(&tmp, name) != 0) {
		log_error("listen %s: path too long", a->text);
		return (-1);
	}
	if (lstat(a->path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			log_error("listen %s: exists and is not a socket",
			    a->text);
			return (-1);
		}
		l->took_over = unix_live(&sun);
		if (l->took_over && !share) {
			log_error("listen %s: another process listens on this "
			    "socket (listen_takeover is false)", a->text);
			return (-1);
		}
	}
	/* A temporary socket left by a run that died before its rename
	 * (in a container, every run has the same pid). */
	if (lstat(name, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			log_error("listen %s: %s exists and is not a socket",
			    a->text, name);
			return (-1);
		}
		(void)unlink(name);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		log_errorp("listen %s: socket", a->text);
		return (-1);
	}
	if (bind(fd, (struct sockaddr *)&tmp, sizeof(tmp)) != 0) {
		log_errorp("listen %s: bind %s", a->text, name);
		close(fd);
		return (-1);
	}
	if (listen(fd, 1024) != 0 || lstat(name, &st) != 0 ||
	    (l->tmp_path = strdup(name)) == NULL) {
		log_errorp("listen %s: %s", a->text, name);
		(void)unlink(name);
		close(fd);
		return (-1);
	}
	l->dev = st.st_dev;
	l->ino = st.st_ino;
	return (fd);
}

/*
 * Move the socket of ${l} from its temporary name over its path.  rename()
 * replaces the path in one step: a client finds the old socket or the new
 * one, never nothing.  An older process keeps its own socket (and accept
 * queue) under no name, and drains.  -1 on error (logged).
 */
static int
unix_publish(struct listener *l)
{
	if (rename(l->tmp_path, l->unix_path) != 0) {
		log_errorp("listen %s: rename %s", l->text, l->tmp_path);
		return (-1);
	}
	free(l->tmp_path);
	l->tmp_path = NULL;
	if (l->took_over)
		log_warn("listen %s: another process listens here too: taking "
		    "over (new connections come here); stop the old one "
		    "(SIGTERM) to let it drain", l->text);
	return (0);
}

/*
 * Remove the socket file of ${l} if it is still ours.  Checked while our
 * socket is open: the file it was bound to cannot be freed meanwhile, so
 * its inode number cannot have gone to another file.  (A rename by another
 * process between the check and the unlink would still lose its socket:
 * that window is a few system calls wide.)
 */
static void
unix_release(const struct listener *l)
{
	const char *path = l->tmp_path != NULL ? l->tmp_path : l->unix_path;

	if (same_file(path, l->dev, l->ino))
		(void)unlink(path);
	else if (l->tmp_path == NULL && access(path, F_OK) == 0)
		log_info("listen %s: the socket file is another process's "
		    "now; left in place", l->text);
}

static int
listener_open(struct listener *l, const struct listen_addr *a, bool share,
    struct server *s)
{
	l->is_unix = a->kind == LISTEN_UNIX;
	l->text = a->text;
	l->srv = s;
	if (!l->is_unix) {
		l->fd = server_listen_tcp(a, "listen", 1024, share);
		return (l->fd == -1 ? -1 : 0);
	}
	if ((l->unix_path = strdup(a->path)) == NULL) {
		log_error("listen %s: out of memory", a->text);
		return (-1);
	}
	l->fd = unix_bind(l, a, share);
	if (l->fd == -1) {
		free(l->unix_path);
		l->unix_path = NULL;
		return (-1);
	}
	return (0);
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
	/* Everything is bound before any unix path is taken over, so a
	 * start that fails leaves an older process its paths. */
	for (size_t i = 0; i < cfg->nlisten; i++) {
		if (listener_open(&s->l[s->n], &cfg->listen[i],
		    cfg->listen_takeover, s) != 0) {
			server_close(s);
			return (NULL);
		}
		s->n++;
	}
	for (size_t i = 0; i < s->n; i++) {
		if (s->l[i].is_unix && unix_publish(&s->l[i]) != 0) {
			server_close(s);
			return (NULL);
		}
	}
	for (size_t i = 0; i < s->n; i++)
		log_info("listening for SPOP on %s", s->l[i].text);
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
		if (l->is_unix) {
			unix_release(l);
			free(l->tmp_path);
			free(l->unix_path);
		}
		close(l->fd);
	}
	free(s->l);
	free(s);
}
