/*
 * server.h: the SPOP listeners (TCP IPv4/IPv6 and unix sockets).  They run
 * on the main thread's loop and hand each accepted connection to a worker,
 * round robin.
 */
#ifndef SPOA_SERVER_H
#define SPOA_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include <ev.h>

/* Connections accepted per listener wakeup, at most: descriptors that may
 * be open before the workers they go to can shed others (main.c keeps
 * that many free). */
#define SERVER_ACCEPT_BURST 64

struct config;
struct worker;
struct agent_stats;
struct server;

/*
 * server_open(cfg):
 * Bind and listen on every address of ${cfg}->listen.  With
 * ${cfg}->listen_takeover, an address another process listens on is taken
 * over: a TCP address is shared with it (SO_REUSEPORT, server_listen_tcp());
 * a unix socket is bound at "<path>.<pid>.new" and renamed over <path>
 * once every address is bound, so the path always names a listening
 * socket and new connections come here from then on.  Without it, such an
 * address is an error.  A stale unix socket (no process listens on it) is
 * replaced either way; any other existing file is an error.  Return the
 * server, or NULL with the reason logged (nothing stays bound then).
 */
struct server *server_open(const struct config *cfg);

/*
 * server_start(s, loop, workers, n, stats):
 * Start accepting on ${loop}; connections go to ${workers}[0..n), round
 * robin, and are counted in ${stats} (the block of ${loop}'s thread).
 */
void server_start(struct server *s, struct ev_loop *loop,
    struct worker **workers, size_t n, struct agent_stats *stats);

/*
 * server_listen_tcp(a, what, backlog, share):
 * A non-blocking, close-on-exec listening TCP socket bound to ${a}
 * (IPv6 sockets are v6-only); -1 with the reason logged as "${what} ...".
 * With ${share} it has SO_REUSEPORT: a process that already listens on
 * ${a} with SO_REUSEPORT (an older run of the agent, same user) shares it
 * and the kernel spreads new connections over both until it closes its
 * socket; that is logged as a takeover.  A holder without SO_REUSEPORT
 * still makes it fail (EADDRINUSE), as it does without ${share}.
 */
struct listen_addr;
int server_listen_tcp(const struct listen_addr *a, const char *what,
    int backlog, bool share);

/*
 * struct server_gate: the accept side of one or more listening sockets
 * watched on one loop.  When accept() fails for lack of resources (EMFILE,
 * ENFILE, ENOBUFS, ENOMEM) the listener stays readable, so its watchers
 * are stopped for a second instead of being called back at full speed.
 * Set up with server_gate_init(); the fields are private to server.c.
 */
struct server_gate {
	struct ev_loop *loop;
	void (*watch)(void *arg, bool on);
	void *arg;
	ev_timer timer;
	bool paused;
};

/*
 * server_gate_init(g, loop, watch, arg):
 * Prepare ${g} for listeners on ${loop}.  ${watch}(${arg}, on) starts
 * (on = true) or stops (false) the watchers of every listener of the
 * gate; it is called when a pause begins and when it ends.  ${g} must
 * stay at the same address until server_gate_stop().
 */
void server_gate_init(struct server_gate *g, struct ev_loop *loop,
    void (*watch)(void *arg, bool on), void *arg);

/*
 * server_accept(g, lfd, flags, what):
 * accept4(${lfd}, NULL, NULL, ${flags}).  Return the new descriptor, or -1
 * when there is nothing more to accept for now: no pending connection
 * (EAGAIN, EINTR, ECONNABORTED), or a lack of resources, which is logged
 * once as "accept on ${what}" and pauses every listener of ${g} for a
 * second (a paused gate is not paused again).
 */
int server_accept(struct server_gate *g, int lfd, int flags, const char *what);

/*
 * server_gate_stop(g): cancel a pending pause of ${g} (the watchers stay
 * as they are); for closing the listeners.
 */
void server_gate_stop(struct server_gate *g);

/*
 * server_close(s): stop accepting and close.  A unix socket file is
 * removed only if it is still the one ${s} put there (same st_dev and
 * st_ino): a newer process that took the path over keeps its socket.
 * NULL is a no-op.
 */
void server_close(struct server *s);

#endif /* !SPOA_SERVER_H */
