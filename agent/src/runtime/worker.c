/*
 * worker.c: worker threads (see worker.h).  The inbox is the only way in:
 * a mutex-protected FIFO of messages plus an ev_async that wakes the loop.
 * The mutex is held only to link or unlink messages, never per request.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include "conn.h"
#include "decide.h"
#include "handler.h"
#include "list.h"
#include "log.h"
#include "snapshot.h"
#include "stats.h"
#include "worker.h"

enum msg_type { MSG_CONN, MSG_SNAPSHOT, MSG_KID_ABSENT, MSG_DRAIN };

struct msg {
	enum msg_type type;
	int fd;
	struct snapshot *snap;
	size_t issuer;
	struct msg *next;
	size_t kid_len;                 /* MSG_KID_ABSENT */
	char kid[];
};

struct worker {
	struct ev_loop *loop;
	unsigned id;
	struct agent_stats *stats;    /* cache-line aligned, this thread's */
	struct handler *handler;
	struct conn_set *conns;
	bool draining;
	pthread_t thread;
	pthread_mutex_t lock;
	struct msg *head, *tail;
	ev_async wake;
	bool stopped;                 /* thread finished its loop */
	pthread_mutex_t done_lock;
	pthread_cond_t done_cond;
};

/* ---- the composition: connections call the handler ---- */

static enum spop_err
on_notify(void *arg, struct conn *c, uint64_t sid, uint64_t fid,
    const uint8_t *payload, size_t len, struct spop_writer *out)
{
	struct worker *w = arg;

	return (handler_notify(w->handler, c, sid, fid, payload, len, out));
}

static void
on_cancel(void *arg, struct list *link)
{
	struct worker *w = arg;

	handler_cancel(w->handler, link);
}

/* A draining worker ends with its last connection. */
static void
on_closed(void *arg, struct conn_set *set)
{
	struct worker *w = arg;

	if (w->draining && conn_set_count(set) == 0)
		ev_break(w->loop, EVBREAK_ALL);
}

static const struct conn_ops worker_conn_ops = {
	.notify = on_notify, .cancel = on_cancel, .closed = on_closed,
};

/* ---- the inbox ---- */

static void
post(struct worker *w, struct msg *m)
{
	m->next = NULL;
	pthread_mutex_lock(&w->lock);
	if (w->tail != NULL)
		w->tail->next = m;
	else
		w->head = m;
	w->tail = m;
	pthread_mutex_unlock(&w->lock);
	ev_async_send(w->loop, &w->wake);
}

static struct msg *
msg_new(enum msg_type t, size_t extra)
{
	struct msg *m = calloc(1, sizeof(*m) + extra);

	if (m == NULL)
		log_error("worker: out of memory for an inbox message");
	else
		m->type = t;
	return (m);
}

void
worker_give_conn(struct worker *w, int fd)
{
	struct msg *m = msg_new(MSG_CONN, 0);

	if (m == NULL) {
		close(fd);
		return;
	}
	m->fd = fd;
	post(w, m);
}

void
worker_publish(struct worker *w, struct snapshot *snap)
{
	struct msg *m = msg_new(MSG_SNAPSHOT, 0);

	if (m == NULL)
		return;
	m->snap = snapshot_ref(snap);
	post(w, m);
}

void
worker_kid_absent(struct worker *w, size_t issuer, const char *kid,
    size_t kid_len)
{
	struct msg *m;

	if (kid_len == 0 || kid_len > DECIDE_KID_MAX ||
	    (m = msg_new(MSG_KID_ABSENT, kid_len)) == NULL)
		return;
	m->issuer = issuer;
	memcpy(m->kid, kid, kid_len);
	m->kid_len = kid_len;
	post(w, m);
}

void
worker_drain(struct worker *w)
{
	struct msg *m = msg_new(MSG_DRAIN, 0);

	if (m != NULL)
		post(w, m);
}

const struct agent_stats *
worker_stats(const struct worker *w)
{
	return (w->stats);
}

static void
start_drain(struct worker *w)
{
	if (w->draining)
		return;
	w->draining = true;
	handler_drain(w->handler);
	if (conn_set_count(w->conns) == 0) {
		ev_break(w->loop, EVBREAK_ALL);
		return;
	}
	conn_set_drain(w->conns);
}

static void
on_wake(struct ev_loop *loop, ev_async *a, int revents)
{
	struct worker *w = container_of(a, struct worker, wake);
	struct msg *m;

	(void)loop;
	(void)revents;
	pthread_mutex_lock(&w->lock);
	m = w->head;
	w->head = w->tail = NULL;
	pthread_mutex_unlock(&w->lock);

	while (m != NULL) {
		struct msg *next = m->next;

		switch (m->type) {
		case MSG_CONN:
			if (w->draining)
				close(m->fd);
			else
				(void)conn_new(w->conns, m->fd);
			break;
		case MSG_SNAPSHOT:
			handler_set_snapshot(w->handler, m->snap);
			break;
		case MSG_KID_ABSENT:
			handler_kid_absent(w->handler, m->issuer, m->kid,
			    m->kid_len);
			break;
		case MSG_DRAIN:
			start_drain(w);
			break;
		}
		free(m);
		m = next;
	}
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;

	ev_run(w->loop, 0);
	/* Draining ended: close whatever is left (nothing, normally), then
	 * the handler, which no connection can reach any more. */
	conn_set_free(w->conns);
	w->conns = NULL;
	handler_free(w->handler);
	w->handler = NULL;
	log_limited_flush();
	pthread_mutex_lock(&w->done_lock);
	w->stopped = true;
	pthread_cond_signal(&w->done_cond);
	pthread_mutex_unlock(&w->done_lock);
	return (NULL);
}

struct worker *
worker_start(unsigned id, struct snapshot *snap, const struct conn_limits *lim)
{
	struct worker *w;
	void *p;

	w = calloc(1, sizeof(*w));
	if (w == NULL)
		goto err0;
	if (posix_memalign(&p, STATS_CACHE_LINE, sizeof(*w->stats)) != 0)
		goto err1;
	w->stats = memset(p, 0, sizeof(*w->stats));
	w->loop = ev_loop_new(EVFLAG_AUTO);
	if (w->loop == NULL)
		goto err2;
	w->id = id;
	w->handler = handler_new(w->loop, snap, w->stats);
	if (w->handler == NULL)
		goto err3;
	w->conns = conn_set_new(w->loop, lim, &worker_conn_ops, w, w->stats);
	if (w->conns == NULL)
		goto err4;
	pthread_mutex_init(&w->lock, NULL);
	pthread_mutex_init(&w->done_lock, NULL);
	pthread_cond_init(&w->done_cond, NULL);
	ev_async_init(&w->wake, on_wake);
	ev_async_start(w->loop, &w->wake);
	if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
		log_error("worker %u: cannot create thread", id);
		goto err5;
	}
	return (w);

err5:
	ev_async_stop(w->loop, &w->wake);
	pthread_mutex_destroy(&w->lock);
	pthread_mutex_destroy(&w->done_lock);
	pthread_cond_destroy(&w->done_cond);
	conn_set_free(w->conns);
err4:
	handler_free(w->handler);
err3:
	ev_loop_destroy(w->loop);
err2:
	free(w->stats);
err1:
	free(w);
err0:
	log_error("worker %u: cannot start", id);
	return (NULL);
}

int
worker_join(struct worker *w, const struct timespec *deadline)
{
	int rc = 0;

	pthread_mutex_lock(&w->done_lock);
	while (!w->stopped && rc == 0)
		rc = pthread_cond_timedwait(&w->done_cond, &w->done_lock,
		    deadline);
	pthread_mutex_unlock(&w->done_lock);
	if (!w->stopped)
		return (-1);
	pthread_join(w->thread, NULL);

	/* Drop what is still queued (a snapshot published during drain). */
	while (w->head != NULL) {
		struct msg *m = w->head;
		w->head = m->next;
		if (m->type == MSG_CONN)
			close(m->fd);
		snapshot_unref(m->snap);
		free(m);
	}
	ev_loop_destroy(w->loop);
	pthread_mutex_destroy(&w->lock);
	pthread_mutex_destroy(&w->done_lock);
	pthread_cond_destroy(&w->done_cond);
	free(w->stats);
	free(w);
	return (0);
}
