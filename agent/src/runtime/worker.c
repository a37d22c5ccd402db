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

#include "certcache.h"
#include "config.h"
#include "decide.h"
#include "log.h"
#include "runtime.h"
#include "snapshot.h"
#include "stats.h"
#include "tokcache.h"
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
	struct wctx ctx;
	pthread_t thread;
	pthread_mutex_t lock;
	struct msg *head, *tail;
	ev_async wake;
	ev_check reaper;
	bool stopped;                 /* thread finished its loop */
	pthread_mutex_t done_lock;
	pthread_cond_t done_cond;
};

void
rt_list_init(struct rt_link *h)
{
	h->prev = h->next = h;
}

void
rt_list_add(struct rt_link *h, struct rt_link *l)
{
	l->next = h->next;
	l->prev = h;
	h->next->prev = l;
	h->next = l;
}

void
rt_list_del(struct rt_link *l)
{
	l->prev->next = l->next;
	l->next->prev = l->prev;
	l->prev = l->next = l;
}

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
	ev_async_send(w->ctx.loop, &w->wake);
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

/* Called by conn_close(): a draining worker ends with its last connection. */
void
worker_conn_closed(struct wctx *ctx)
{
	ctx->nconns--;
	if (ctx->draining && ctx->nconns == 0)
		ev_break(ctx->loop, EVBREAK_ALL);
}

static void
start_drain(struct worker *w)
{
	struct rt_link *l, *next;

	if (w->ctx.draining)
		return;
	w->ctx.draining = true;
	if (w->ctx.nconns == 0) {
		ev_break(w->ctx.loop, EVBREAK_ALL);
		return;
	}
	for (l = w->ctx.conns.next; l != &w->ctx.conns; l = next) {
		next = l->next;
		conn_drain(conn_from_link(l));
	}
}

static void
on_wake(struct ev_loop *loop, ev_async *a, int revents)
{
	struct worker *w = rt_container(a, struct worker, wake);
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
			if (w->ctx.draining)
				close(m->fd);
			else
				(void)conn_new(&w->ctx, m->fd);
			break;
		case MSG_SNAPSHOT: {
			struct snapshot *old = w->ctx.snap;

			w->ctx.snap = m->snap;
			handler_snapshot_changed(&w->ctx, old);
			snapshot_unref(old);
			break;
		}
		case MSG_KID_ABSENT:
			handler_kid_absent(&w->ctx, m->issuer, m->kid,
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

static void
on_check(struct ev_loop *loop, ev_check *c, int revents)
{
	struct worker *w = rt_container(c, struct worker, reaper);

	(void)loop;
	(void)revents;
	conn_reap(&w->ctx);
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;

	ev_run(w->ctx.loop, 0);
	/* Draining ended: close whatever is left (nothing, normally). */
	while (!rt_list_empty(&w->ctx.conns))
		conn_close(conn_from_link(w->ctx.conns.next));
	conn_reap(&w->ctx);
	pthread_mutex_lock(&w->done_lock);
	w->stopped = true;
	pthread_cond_signal(&w->done_cond);
	pthread_mutex_unlock(&w->done_lock);
	return (NULL);
}

struct worker *
worker_start(unsigned id, struct snapshot *snap, struct agent_stats *stats)
{
	struct worker *w;
	const struct config *cfg = snapshot_config(snap);

	w = calloc(1, sizeof(*w));
	if (w == NULL)
		goto err0;
	w->ctx.loop = ev_loop_new(EVFLAG_AUTO);
	if (w->ctx.loop == NULL)
		goto err1;
	w->ctx.id = id;
	w->ctx.stats = stats;
	w->ctx.max_frame_size = cfg->max_frame_size;
	w->ctx.park_timeout = cfg->park_timeout_ms / 1000.0;
	w->ctx.tokcache = tokcache_new(cfg->token_cache_entries);
	if (w->ctx.tokcache == NULL && cfg->token_cache_entries > 0)
		goto err2;
	w->ctx.certcache = certcache_new(cfg->cert_cache_entries);
	if (w->ctx.certcache == NULL)
		goto err2;
	rt_list_init(&w->ctx.conns);
	rt_list_init(&w->ctx.dead);
	rt_list_init(&w->ctx.parked);
	w->ctx.snap = snapshot_ref(snap);
	pthread_mutex_init(&w->lock, NULL);
	pthread_mutex_init(&w->done_lock, NULL);
	pthread_cond_init(&w->done_cond, NULL);
	ev_async_init(&w->wake, on_wake);
	ev_async_start(w->ctx.loop, &w->wake);
	ev_check_init(&w->reaper, on_check);
	ev_check_start(w->ctx.loop, &w->reaper);
	if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
		log_error("worker %u: cannot create thread", id);
		goto err3;
	}
	return (w);

err3:
	snapshot_unref(w->ctx.snap);
	pthread_mutex_destroy(&w->lock);
	pthread_mutex_destroy(&w->done_lock);
	pthread_cond_destroy(&w->done_cond);
err2:
	tokcache_free(w->ctx.tokcache);
	certcache_free(w->ctx.certcache);
	ev_loop_destroy(w->ctx.loop);
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
	tokcache_free(w->ctx.tokcache);
	certcache_free(w->ctx.certcache);
	snapshot_unref(w->ctx.snap);
	ev_loop_destroy(w->ctx.loop);
	pthread_mutex_destroy(&w->lock);
	pthread_mutex_destroy(&w->done_lock);
	pthread_cond_destroy(&w->done_cond);
	free(w);
	return (0);
}
