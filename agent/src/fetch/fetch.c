/*
 * fetch.c: see fetch.h; the files of the fetcher and what they share are
 * listed in fetch_int.h.  This one holds the API: the life cycle, the
 * inbox (unknown kids and reloads, from other threads) and the
 * publication of snapshots.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "crl.h"
#include "fetch_int.h"
#include "jwks.h"
#include "loader.h"
#include "log.h"
#include "snapshot.h"
#include "stats.h"

/* Messages waiting for the fetcher; more are dropped (a refetch is
 * single-flight anyway, parked requests have their deadline). */
#define INBOX_MAX               4096
/* Kids longer than a JWKS kid can be cannot be found by any refetch. */
#define KID_MSG_MAX             JWKS_KID_MAX

enum msg_type { MSG_KID, MSG_RELOAD };

struct msg {
	struct msg *next;
	enum msg_type type;
	struct config *cfg;
	char *issuer;
	size_t kid_len;
	char kid[];
};

/* ---- publication ---- */

/*
 * Build a snapshot from the base (config, local keys, secrets) and the
 * sources (remote keys, cooldowns, CRLs) and send it to every worker.
 * Snapshots of the same base share its config, so the workers' caches of
 * verified tokens survive (entries whose key left the set die in their
 * sweep).
 */
static void
publish(struct fetcher *f)
{
	struct snapshot *s;
	const struct config *cfg;
	int64_t policy_at;

	asrtkeys_check(f);      /* a policy may have changed the longest ttl */
	s = snapshot_derive(f->base, snapshot_cfgref(f->base));
	f->dirty = false;
	if (s == NULL) {
		log_error("fetch: out of memory building a snapshot");
		f->dirty = true;
		return;
	}
	cfg = snapshot_config(s);
	for (size_t i = 0; i < cfg->nissuers; i++) {
		const struct issuer_cfg *is = &cfg->issuers[i];
		struct source *src;

		if (is->source != KEYS_DISCOVERY && is->source != KEYS_JWKS_URL)
			continue;
		src = plan_find_jwks(f, is->name);
		snapshot_set_keys(s, i, src ? src->keys : NULL,
		    src && src->keys ? src->st.good_at : 0);
		snapshot_set_kid_served(s, i, src ? src->kid_served_ms : 0);
	}
	/* With crl_urls, only a set built with their documents will do: the
	 * base's holds the crl_files alone. */
	if (file_cfg(f)->crl_urls.n > 0)
		snapshot_set_crls(s, f->crls != NULL ? crlset_ref(f->crls) :
		    NULL);
	snapshot_set_signer(s, f->signer);
	policy_at = snapshot_policy_at(s);
	for (struct source *p = f->sources; p != NULL; p = p->next)
		if (p->kind == SRC_POLICY && p->have)
			policy_at = p->st.good_at;
	snapshot_set_policy(s, snapshot_policy_loaded(f->base), policy_at);
	for (size_t i = 0; i < f->nworkers; i++)
		f->sink.publish(f->targets[i], s);
	snapshot_unref(f->cur);
	f->cur = s;
	status_update_issuers(f, s);
}

/* ---- the inbox ---- */

static void
post(struct fetcher *f, struct msg *m)
{
	bool sent = false;

	m->next = NULL;
	pthread_mutex_lock(&f->inbox_lock);
	if (!f->closed && (m->type != MSG_KID || f->inbox_n < INBOX_MAX)) {
		if (f->tail != NULL)
			f->tail->next = m;
		else
			f->head = m;
		f->tail = m;
		f->inbox_n++;
		sent = true;
	}
	pthread_mutex_unlock(&f->inbox_lock);
	if (sent) {
		ev_async_send(f->loop, &f->wake);
	} else {
		config_free(m->cfg);
		free(m->issuer);
		free(m);
	}
}

void
fetch_refetch(void *arg, const char *issuer, const char *kid, size_t kid_len)
{
	struct fetcher *f = arg;
	struct msg *m;

	if (f == NULL || issuer == NULL || kid == NULL || kid_len == 0 ||
	    kid_len > KID_MSG_MAX)
		return;
	if ((m = calloc(1, sizeof(*m) + kid_len)) == NULL)
		return;
	m->type = MSG_KID;
	if ((m->issuer = strdup(issuer)) == NULL) {
		free(m);
		return;
	}
	memcpy(m->kid, kid, kid_len);
	m->kid_len = kid_len;
	post(f, m);
}

void
fetch_reload(struct fetcher *f, struct config *cfg)
{
	struct msg *m = calloc(1, sizeof(*m));

	if (m == NULL) {
		log_error("reload: out of memory");
		config_free(cfg);
		return;
	}
	m->type = MSG_RELOAD;
	m->cfg = cfg;
	post(f, m);
}

static void
log_reload_errors(const struct config_errors *errs, struct agent_stats *st)
{
	for (size_t i = 0; i < errs->n; i++)
		log_error("reload: %s", errs->v[i]);
	log_error("reload: rejected (%zu error%s); keeping the running "
	    "configuration", errs->n, errs->n == 1 ? "" : "s");
	STAT_INC(st, reloads_failed);
}

static void
on_reload(struct fetcher *f, struct config *cfg)
{
	struct config_errors errs = { 0 };
	struct cfgref *file = cfgref_new(cfg);
	struct snapshot *nb = NULL;
	const char *doc = NULL;
	size_t len = 0;

	if (file == NULL) {
		log_error("reload: out of memory");
		return;
	}
	/* The last good policy document applies to the new file if it
	 * names the same policy_url. */
	if (cfg->policy_url != NULL) {
		for (struct source *s = f->sources; s != NULL; s = s->next)
			if (s->kind == SRC_POLICY && s->have &&
			    strcmp(s->conf_url, cfg->policy_url) == 0) {
				doc = s->doc;
				len = s->doc_len;
			}
	}
	if (loader_build_ref(file, doc, len, f->base, &nb, &errs) != 0) {
		log_reload_errors(&errs, f->stats);
		config_errors_free(&errs);
		cfgref_unref(file);
		return;
	}
	cfgref_unref(f->file);
	f->file = file;
	snapshot_unref(f->base);
	f->base = nb;
	log_set_level((enum log_level)cfg->log_level);
	log_set_format((enum log_format)cfg->log_format);
	statedir_ensure(cfg);
	/* A new policy_url source loads (and applies) its state_dir copy. */
	plan_global(f);
	plan_crls(f);
	plan_issuers(f);
	asrtkeys_refresh(f);
	publish(f);
	STAT_INC(f->stats, reloads_ok);
	log_info("reload: configuration applied");
}

static void
on_wake(struct ev_loop *loop, ev_async *a, int revents)
{
	struct fetcher *f = a->data;
	struct msg *m;
	bool stop;

	(void)revents;
	pthread_mutex_lock(&f->inbox_lock);
	m = f->head;
	f->head = f->tail = NULL;
	f->inbox_n = 0;
	stop = f->stopping;
	pthread_mutex_unlock(&f->inbox_lock);
	while (m != NULL) {
		struct msg *next = m->next;

		/* Stopping: what is queued is dropped. */
		if (!stop && m->type == MSG_KID) {
			source_kid_asked(f, m->issuer, m->kid, m->kid_len);
		} else if (!stop && m->type == MSG_RELOAD) {
			on_reload(f, m->cfg);
			m->cfg = NULL;
		}
		config_free(m->cfg);
		free(m->issuer);
		free(m);
		m = next;
	}
	if (stop)
		ev_break(loop, EVBREAK_ALL);
}

static void
on_prepare(struct ev_loop *loop, ev_prepare *p, int revents)
{
	struct fetcher *f = p->data;

	(void)loop;
	(void)revents;
	if (f->dirty)
		publish(f);
}

/* ---- life cycle ---- */

int
fetch_create(struct config *cfg, struct agent_stats *stats,
    struct fetcher **out, struct config_errors *errs)
{
	struct fetcher *f;
	char err[512];

	*out = NULL;
	if (!transfer_global_init()) {
		config_free(cfg);
		log_error("fetch: libcurl initialisation failed");
		return (-1);
	}
	if ((f = calloc(1, sizeof(*f))) == NULL) {
		config_free(cfg);
		return (-1);
	}
	f->stats = stats;
	pthread_mutex_init(&f->inbox_lock, NULL);
	pthread_mutex_init(&f->lock, NULL);
	if ((f->file = cfgref_new(cfg)) == NULL)
		goto bad;
	if ((f->loop = ev_loop_new(EVFLAG_AUTO)) == NULL ||
	    transfer_multi_init(f) != 0) {
		log_error("fetch: cannot create the event loop or curl handle");
		goto bad;
	}
	ev_async_init(&f->wake, on_wake);
	f->wake.data = f;
	ev_async_start(f->loop, &f->wake);
	ev_prepare_init(&f->prep, on_prepare);
	f->prep.data = f;
	ev_prepare_start(f->loop, &f->prep);
	asrtkeys_init(f);

	if (loader_build_ref(f->file, NULL, 0, NULL, &f->base, errs) != 0)
		goto bad;
	statedir_ensure(cfg);
	/* Cached documents: the policy first (it names the issuers), then
	 * the issuers' discovery documents and key sets, then CRLs. */
	plan_global(f);          /* loads (and applies) a cached policy */
	plan_issuers(f);
	plan_crls(f);
	/* The assertion keys: a key file others may read, or one that is
	 * not a key, stops the start (loudly), not only the assertions. */
	if (asrtkeys_load(f, err, sizeof(err)) != 0) {
		(void)config_errors_add(errs, err);
		goto bad;
	}
	publish(f);
	*out = f;
	return (0);
bad:
	fetch_free(f);
	return (-1);
}

struct snapshot *
fetch_snapshot(struct fetcher *f)
{
	return (snapshot_ref(f->cur));
}

static void *
fetch_main(void *arg)
{
	struct fetcher *f = arg;

	ev_run(f->loop, 0);
	return (NULL);
}

int
fetch_start(struct fetcher *f, const struct fetch_sink *sink,
    void *const *targets, size_t n)
{
	sigset_t all, old;
	int rc;

	if (n > 0) {
		f->targets = calloc(n, sizeof(*f->targets));
		if (f->targets == NULL)
			return (-1);
		memcpy(f->targets, targets, n * sizeof(*targets));
		f->sink = *sink;
		f->nworkers = n;
	}
	/* Everything is fetched at once: cached documents are revalidated
	 * (conditional requests), missing ones are wanted now. */
	for (struct source *s = f->sources; s != NULL; s = s->next)
		if (s->kind != SRC_JWKS || s->url != NULL)
			source_sched(s, 0.);
	f->started = true;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&f->thread, NULL, fetch_main, f);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		f->started = false;
		log_error("fetch: cannot create the fetcher thread");
		return (-1);
	}
	return (0);
}

void
fetch_stop(struct fetcher *f)
{
	if (f == NULL || !f->started)
		return;
	/* A flag, not a message: stopping must not depend on memory. */
	pthread_mutex_lock(&f->inbox_lock);
	f->stopping = true;
	f->closed = true;
	pthread_mutex_unlock(&f->inbox_lock);
	ev_async_send(f->loop, &f->wake);
	pthread_join(f->thread, NULL);
	f->started = false;
}

void
fetch_free(struct fetcher *f)
{
	struct msg *m;

	if (f == NULL)
		return;
	pthread_mutex_lock(&f->inbox_lock);
	f->closed = true;
	m = f->head;
	f->head = f->tail = NULL;
	pthread_mutex_unlock(&f->inbox_lock);
	while (m != NULL) {
		struct msg *n = m->next;

		config_free(m->cfg);
		free(m->issuer);
		free(m);
		m = n;
	}
	plan_clear(f);
	signer_unref(f->signer);
	if (f->multi != NULL)
		curl_multi_cleanup(f->multi);
	if (f->loop != NULL)
		ev_loop_destroy(f->loop);
	for (size_t i = 0; i < f->nistat; i++)
		free(f->istat[i].name);
	free(f->istat);
	crlset_unref(f->crls);
	snapshot_unref(f->cur);
	snapshot_unref(f->base);
	cfgref_unref(f->file);
	free(f->targets);
	pthread_mutex_destroy(&f->inbox_lock);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

bool
fetch_ready(void *arg, struct abuf *body)
{
	return (status_ready(arg, body));
}

void
fetch_metrics(void *arg, struct abuf *body)
{
	status_metrics(arg, body);
}
