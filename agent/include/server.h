/*
 * server.h: the SPOP listeners (TCP IPv4/IPv6 and unix sockets).  They run
 * on the main thread's loop and hand each accepted connection to a worker,
 * round robin.
 */
#ifndef SPOA_SERVER_H
#define SPOA_SERVER_H

#include <stddef.h>

struct ev_loop;
struct config;
struct worker;
struct agent_stats;
struct server;

/*
 * server_open(cfg):
 * Bind and listen on every address of ${cfg}->listen.  Stale unix socket
 * files are replaced; any other existing file is an error.  Return the
 * server, or NULL with the reason logged (nothing stays bound then).
 */
struct server *server_open(const struct config *cfg);

/*
 * server_start(s, loop, workers, n, stats):
 * Start accepting on ${loop}; connections go to ${workers}[0..n).
 */
void server_start(struct server *s, struct ev_loop *loop,
    struct worker **workers, size_t n, struct agent_stats *stats);

/*
 * server_listen_tcp(a, what, backlog):
 * A non-blocking, close-on-exec listening TCP socket bound to ${a}
 * (IPv6 sockets are v6-only); -1 with the reason logged as "${what} ...".
 */
struct listen_addr;
int server_listen_tcp(const struct listen_addr *a, const char *what,
    int backlog);

/* server_close(s): stop accepting, close and unlink; NULL is a no-op. */
void server_close(struct server *s);

#endif /* !SPOA_SERVER_H */
