/*
 * plan.c: which sources and credentials the fetcher has (see
 * fetch_int.h).  They are planned from the config file (credentials,
 * policy_url, crl_urls) and from the base config (the remote issuers,
 * which a policy document may change), and re-planned after a policy or a
 * reload: sources whose identity (issuer name, kind, URL with appid) is
 * unchanged keep their documents and timers, credentials that are
 * unchanged keep their token, new sources load their state_dir file.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crl.h"
#include "fetch_int.h"
#include "jwks.h"
#include "log.h"
#include "url.h"
#include "util.h"

/* ---- the fetcher's view of the config ---- */

const struct issuer_cfg *
plan_issuer_by_name(const struct config *cfg, const char *name, size_t *idx)
{
	for (size_t i = 0; i < cfg->nissuers; i++) {
		if (strcmp(cfg->issuers[i].name, name) == 0) {
			if (idx != NULL)
				*idx = i;
			return (&cfg->issuers[i]);
		}
	}
	return (NULL);
}

struct source *
plan_find_jwks(struct fetcher *f, const char *issuer)
{
	for (struct source *s = f->sources; s != NULL; s = s->next)
		if (s->kind == SRC_JWKS && strcmp(s->issuer, issuer) == 0)
			return (s);
	return (NULL);
}

/* ---- planning sources ---- */

static void
src_free(struct fetcher *f, struct source *src)
{
	if (src == NULL)
		return;
	if (src->xfer != NULL) {
		src->xfer->src = NULL;
		transfer_free(src->xfer);
	}
	if (f->loop != NULL)
		ev_timer_stop(f->loop, &src->timer);
	keyset_unref(src->keys);
	free(src->id);
	free(src->key);
	free(src->issuer);
	free(src->conf_url);
	free(src->url);
	free(src->appid);
	free(src->ca_file);
	free(src->cred);
	free(src->doc);
	free(src->etag);
	free(src->last_modified);
	free(src);
}

static struct source *
src_new(struct fetcher *f, enum src_kind kind, const char *issuer,
    const char *conf_url)
{
	struct source *src = calloc(1, sizeof(*src));
	char red[200], *id = NULL, *key = NULL;
	size_t n;

	if (src == NULL)
		return (NULL);
	src->f = f;
	src->kind = kind;
	src->keep = true;
	n = strlen(conf_url) + (issuer ? strlen(issuer) : 0) + 32;
	id = malloc(n + sizeof(red));
	key = malloc(n);
	if (id == NULL || key == NULL)
		goto bad;
	if (kind == SRC_CRL)
		snprintf(id, n + sizeof(red), "crl:%s",
		    url_redact(conf_url, red, sizeof(red)));
	else if (issuer != NULL)
		snprintf(id, n + sizeof(red), "%s:%s", source_kind_name[kind],
		    issuer);
	else
		snprintf(id, n + sizeof(red), "%s", source_kind_name[kind]);
	snprintf(key, n, "%s %s %s", source_kind_name[kind],
	    issuer ? issuer : "-", conf_url);
	src->id = id;
	src->key = key;
	src->issuer = dup_or_null(issuer);
	src->conf_url = strdup(conf_url);
	if ((issuer != NULL && src->issuer == NULL) || src->conf_url == NULL)
		goto bad2;
	ev_timer_init(&src->timer, source_on_timer, 0., 0.);
	src->timer.data = src;
	snprintf(src->st.url, sizeof(src->st.url), "%s",
	    url_redact(conf_url, red, sizeof(red)));
	return (src);
bad:
	free(id);
	free(key);
	free(src);
	return (NULL);
bad2:
	src_free(f, src);
	return (NULL);
}

static void
src_link(struct fetcher *f, struct source *src)
{
	STAT_LOCKED(f, {
		src->next = f->sources;
		f->sources = src;
	});
}

static void
set_src_opts(struct source *src, const char *ca, const char *cred)
{
	if (!util_streq(src->ca_file, ca)) {
		free(src->ca_file);
		src->ca_file = dup_or_null(ca);
	}
	if (!util_streq(src->cred, cred)) {
		free(src->cred);
		src->cred = dup_or_null(cred);
		/* It waited for a token of the old credential, whose completion
		 * no longer wakes it: fetch again with the new one. */
		if (src->wait_token) {
			src->wait_token = false;
			if (src->f->started)
				source_sched(src, 0.);
		}
	}
}

/* Unlink and free the sources not marked to keep. */
static void
sweep_sources(struct fetcher *f, bool issuers)
{
	struct source **pp = &f->sources, *dead = NULL;

	pthread_mutex_lock(&f->lock);
	while (*pp != NULL) {
		struct source *s = *pp;
		bool mine = issuers == (s->kind == SRC_DISCOVERY ||
		    s->kind == SRC_JWKS);

		if (mine && !s->keep) {
			*pp = s->next;
			s->next = dead;
			dead = s;
		} else {
			pp = &s->next;
		}
	}
	pthread_mutex_unlock(&f->lock);
	while (dead != NULL) {
		struct source *n = dead->next;

		log_info("%s: no longer configured", dead->id);
		src_free(f, dead);
		dead = n;
	}
}

/* Drop ${src}'s document, validators and keys (they no longer apply). */
static void
src_forget(struct fetcher *f, struct source *src)
{
	src->have = false;
	FREE_AND_NULL(src->doc);
	src->doc_len = 0;
	FREE_AND_NULL(src->etag);
	FREE_AND_NULL(src->last_modified);
	keyset_unref(src->keys);
	src->keys = NULL;
	src->fetched_run = false;
	STAT_LOCKED(f, {
		src->st.good_at = 0;
		src->st.nkeys = 0;
	});
	f->dirty = true;
}

/*
 * A discovery source kept by a re-plan: its document must still name the
 * issuer as configured now (a reload or policy may change the issuer but
 * not the URL, and a 304 never checks again).  If it does not, the
 * document, the jwks_uri it gave and the keys from there are dropped, and
 * the document is fetched again (whole).
 */
static void
disc_recheck(struct fetcher *f, struct source *di)
{
	struct source *jw = di->jwks;
	char err[ERR_MAX];

	if (!di->have || source_accept_discovery(f, di, di->doc, di->doc_len,
	    err, sizeof(err)) == 0)
		return;
	log_warn("%s: %s; its jwks_uri and keys are no longer used", di->id,
	    err);
	STAT_LOCKED(f, di->st.rejected++);
	source_set_error(f, di, ST_ERROR, err);
	src_forget(f, di);
	if (jw != NULL) {
		src_forget(f, jw);
		FREE_AND_NULL(jw->url);
		source_set_display_url(f, jw);
		source_set_error(f, jw, ST_ERROR, "no jwks_uri: the discovery "
		    "document does not match the issuer");
	}
	if (f->started)
		source_sched(di, 0.);
}

/*
 * Sources for the remote issuers of the base config.  Sources whose
 * identity (issuer name, kind, URL with appid) is unchanged keep their
 * documents and schedule; new ones load their state_dir file.
 */
void
plan_issuers(struct fetcher *f)
{
	const struct config *cfg = snapshot_config(f->base);
	const struct fetch_cfg *fc = fcfg(f);

	for (struct source *s = f->sources; s != NULL; s = s->next)
		if (s->kind == SRC_DISCOVERY || s->kind == SRC_JWKS)
			s->keep = false;
	for (size_t i = 0; i < cfg->nissuers; i++) {
		const struct issuer_cfg *is = &cfg->issuers[i];
		const char *ca = is->ca_file != NULL ? is->ca_file : fc->ca_file;
		struct source *jw, *di = NULL;
		char *conf;

		if (is->source != KEYS_DISCOVERY && is->source != KEYS_JWKS_URL)
			continue;
		conf = is->appid != NULL ? url_add_param(is->source_location,
		    "appid", is->appid) : strdup(is->source_location);
		if (conf == NULL) {
			log_error("issuer %s: key source URL too long", is->name);
			continue;
		}
		jw = plan_find_jwks(f, is->name);
		if (jw != NULL && util_streq(jw->conf_url, conf) &&
		    (jw->disc != NULL) == (is->source == KEYS_DISCOVERY)) {
			jw->keep = true;
			if (jw->disc != NULL)
				jw->disc->keep = true;
			set_src_opts(jw, ca, is->credential);
			if (jw->disc != NULL) {
				set_src_opts(jw->disc, ca, is->credential);
				disc_recheck(f, jw->disc);
			}
			free(conf);
			continue;
		}
		/* New (or changed) source. */
		jw = src_new(f, SRC_JWKS, is->name, conf);
		if (jw == NULL)
			goto oom;
		if (is->source == KEYS_DISCOVERY) {
			di = src_new(f, SRC_DISCOVERY, is->name, conf);
			if (di == NULL) {
				src_free(f, jw);
				goto oom;
			}
			di->url = strdup(conf);
			di->appid = dup_or_null(is->appid);
			di->jwks = jw;
			jw->disc = di;
			set_src_opts(di, ca, is->credential);
		} else {
			jw->url = strdup(conf);
		}
		set_src_opts(jw, ca, is->credential);
		/* Identity changed: the old pair (if any) goes; mark it. */
		if (di != NULL)
			src_link(f, di);
		src_link(f, jw);
		if (di != NULL)
			(void)source_load_state(f, di);
		(void)source_load_state(f, jw);
		if (f->started) {
			if (di != NULL)
				source_sched(di, 0.);
			source_sched(jw, 0.);
		}
		free(conf);
		continue;
oom:
		free(conf);
		log_error("issuer %s: out of memory planning its sources", is->name);
	}
	/* A kept pair found by plan_find_jwks() above may shadow an older one
	 * of the same issuer: only the first match is kept, the rest swept. */
	sweep_sources(f, true);
	f->dirty = true;
}

/* Credentials, policy and CRL sources of the config file. */
void
plan_global(struct fetcher *f)
{
	const struct config *cfg = file_cfg(f);
	const struct fetch_cfg *fc = &cfg->fetch;
	struct cred **cp, *dead = NULL;
	bool found;

	/* Credentials: unchanged ones keep their token. */
	for (struct cred *c = f->creds; c != NULL; c = c->next)
		c->keep = false;
	for (size_t i = 0; i < cfg->ncredentials; i++) {
		struct cred *c;

		found = false;
		for (c = f->creds; c != NULL && !found; c = c->next) {
			if (cred_same(&c->c, &cfg->credentials[i])) {
				c->keep = true;
				found = true;
			}
		}
		if (found)
			continue;
		if ((c = calloc(1, sizeof(*c))) == NULL)
			continue;
		cred_copy(&c->c, &cfg->credentials[i]);
		c->keep = true;
		STAT_LOCKED(f, {
			c->next = f->creds;
			f->creds = c;
		});
	}
	pthread_mutex_lock(&f->lock);
	for (cp = &f->creds; *cp != NULL;) {
		struct cred *c = *cp;

		if (!c->keep) {
			*cp = c->next;
			c->next = dead;
			dead = c;
		} else {
			cp = &c->next;
		}
	}
	pthread_mutex_unlock(&f->lock);
	while (dead != NULL) {
		struct cred *n = dead->next;

		/* Sources waiting for it fail and retry with the new one. */
		for (struct source *s = f->sources; s != NULL; s = s->next)
			if (s->wait_token && util_streq(s->cred, dead->c.name)) {
				s->wait_token = false;
				if (f->started)
					source_sched(s, 0.);
			}
		cred_free(dead);
		dead = n;
	}

	/* Policy and CRL sources. */
	for (struct source *s = f->sources; s != NULL; s = s->next)
		if (s->kind == SRC_POLICY || s->kind == SRC_CRL)
			s->keep = false;
	for (size_t i = 0; i < cfg->crl_urls.n + 1; i++) {
		bool policy = i == cfg->crl_urls.n;
		const char *url = policy ? cfg->policy_url : cfg->crl_urls.v[i];
		enum src_kind kind = policy ? SRC_POLICY : SRC_CRL;
		const char *ca = policy && cfg->policy_ca_file ?
		    cfg->policy_ca_file : fc->ca_file;
		const char *cred = policy ? cfg->policy_credential : NULL;
		struct source *src = NULL;

		if (url == NULL)
			continue;
		for (struct source *s = f->sources; s != NULL; s = s->next)
			if (s->kind == kind && !s->keep &&
			    strcmp(s->conf_url, url) == 0) {
				src = s;
				break;
			}
		if (src != NULL) {
			src->keep = true;
			set_src_opts(src, ca, cred);
			continue;
		}
		if ((src = src_new(f, kind, NULL, url)) == NULL) {
			char red[200];

			log_error("%s: out of memory",
			    url_redact(url, red, sizeof(red)));
			continue;
		}
		src->url = strdup(url);
		set_src_opts(src, ca, cred);
		src_link(f, src);
		(void)source_load_state(f, src);
		if (f->started)
			source_sched(src, 0.);
	}
	sweep_sources(f, false);
	f->dirty = true;
}

/*
 * The CRL set after the base changed (start, reload) or CRL documents came
 * from state_dir: built from the crl_files and crl_urls documents of the
 * config now in use only.  Without crl_urls the base's (crl_files) set is
 * published; with crl_urls and no set built (no document yet, or the
 * documents kept from before do not build under this config), none is:
 * mTLS routes answer not_ready until one is.
 */
void
plan_crls(struct fetcher *f)
{
	char err[ERR_MAX];

	crlset_unref(f->crls);
	f->crls = NULL;
	f->dirty = true;
	if (file_cfg(f)->crl_urls.n == 0)
		return;
	for (struct source *s = f->sources; s != NULL; s = s->next) {
		if (s->kind == SRC_CRL && s->have) {
			if (source_accept_crl(f, s, NULL, 0, err,
			    sizeof(err)) == 0)
				return;
			log_warn("crl_urls: CRLs not used: %s", err);
			break;
		}
	}
	/* Documents that do not build (say, client_ca_file changed): fetch
	 * them whole again, not just revalidate them (a 304 builds nothing). */
	for (struct source *s = f->sources; s != NULL; s = s->next) {
		if (s->kind != SRC_CRL || !s->have)
			continue;
		FREE_AND_NULL(s->etag);
		FREE_AND_NULL(s->last_modified);
		if (f->started)
			source_sched(s, 0.);
	}
}

void
plan_clear(struct fetcher *f)
{
	while (f->sources != NULL) {
		struct source *s = f->sources;

		f->sources = s->next;
		src_free(f, s);
	}
	while (f->creds != NULL) {
		struct cred *c = f->creds;

		f->creds = c->next;
		cred_free(c);
	}
}
