/*
 * source.c: the life of a source (see fetch_int.h).
 *
 * Sources.  Per remote issuer: a JWKS source, plus a discovery source for
 * discovery_url issuers (the JWKS source then learns its URL from the
 * document).  Globally: the policy_url source and one source per
 * crl_urls entry (plan.c makes them).  Each has a timer for its next
 * periodic fetch (Cache-Control max-age clamped, jitter; exponential
 * backoff after a failure), its validators (ETag, Last-Modified), and its
 * last good document, also kept in state_dir.  A document is accepted off
 * to the side; a refused one changes nothing but the source's state,
 * counters and backoff.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crl.h"
#include "discovery.h"
#include "fetch_int.h"
#include "jwks.h"
#include "loader.h"
#include "log.h"
#include "statemeta.h"
#include "url.h"
#include "util.h"

const char *const source_kind_name[] = { "discovery", "jwks", "policy", "crl" };
/* The most each kind's parser takes (policy: max_body_bytes alone). */
static const struct {
	size_t max;
	const char *what;
} doc_max[] = {
	[SRC_DISCOVERY] = { DISCOVERY_DOC_MAX, "a discovery document" },
	[SRC_JWKS] = { JWKS_MAX_DOC, "a key set" },
	[SRC_POLICY] = { SIZE_MAX, "a policy document" },
	[SRC_CRL] = { CRL_DOC_MAX, "a CRL" },
};

void
source_set_error(struct fetcher *f, struct source *src,
    enum src_state st, const char *err)
{
	pthread_mutex_lock(&f->lock);
	src->st.state = st;
	if (err != NULL)
		snprintf(src->st.last_error, sizeof(src->st.last_error), "%s", err);
	else
		src->st.last_error[0] = '\0';
	pthread_mutex_unlock(&f->lock);
}

void
source_set_display_url(struct fetcher *f, struct source *src)
{
	char red[sizeof(src->st.url)];

	url_redact(src->url != NULL ? src->url : src->conf_url, red, sizeof(red));
	STAT_LOCKED(f, memcpy(src->st.url, red, sizeof(red)));
}

/* ---- sources: scheduling and failures ---- */

void
source_sched(struct source *src, double delay)
{
	struct fetcher *f = src->f;

	ev_timer_stop(f->loop, &src->timer);
	ev_timer_set(&src->timer, delay, 0.);
	ev_timer_start(f->loop, &src->timer);
	STAT_LOCKED(f, src->st.next_at = now_s() + (int64_t)(delay + 0.5));
}

/* Is ${h} in ${src}'s negative cache? */
static bool
neg_has(const struct source *src, const uint8_t h[16], int64_t now)
{
	for (size_t i = 0; i < NEG_MAX; i++)
		if (src->neg[i].until > now && memcmp(src->neg[i].h, h, 16) == 0)
			return (true);
	return (false);
}

static void
neg_add(struct fetcher *f, struct source *src, const uint8_t h[16],
    int64_t now)
{
	int64_t ttl = (int64_t)file_cfg(f)->kid_negative_ttl_s;

	if (neg_has(src, h, now))
		return;
	memcpy(src->neg[src->neg_next].h, h, 16);
	src->neg[src->neg_next].until = now + ttl;
	src->neg_next = (src->neg_next + 1) % NEG_MAX;
}

static int
kid_hash(const char *kid, size_t len, uint8_t h[16])
{
	uint8_t full[32];

	if (crypto_sha256(kid, len, full) != 0)
		return (-1);
	memcpy(h, full, 16);
	return (0);
}

/*
 * Start a refetch for the pending kids of ${src} now, or once
 * kid_refetch_interval_ms has passed since the last attempt made for kids
 * (on the source's timer), unless an attempt runs (its end calls this
 * again).  An attacker's random kids thus cost one fetch per interval at
 * most, while a newly published key waits at most one interval.
 */
static void
kid_schedule(struct source *src)
{
	int64_t wait = src->kid_attempt_ms +
	    (int64_t)file_cfg(src->f)->kid_refetch_interval_ms - util_mono_ms();

	if (!src->kid_wanted || src->xfer != NULL || src->wait_token)
		return;
	if (src->kid_attempt_ms == 0 || wait <= 0)
		source_start(src);
	else
		source_sched(src, (double)wait / 1000.0);
}

/*
 * An attempt of ${src} that started at ${start_ms} ended (${answered}: 200
 * or 304).  The kids asked before it started are answered: after a good
 * answer those still unknown go to the negative cache; either way the next
 * snapshot carries kid_served_ms = ${start_ms}, which decides every
 * request parked before then.  Kids asked since wait for the next attempt.
 */
static void
kid_resolve(struct source *src, int64_t start_ms, bool answered)
{
	struct fetcher *f = src->f;
	int64_t now = now_s();
	size_t w = 0;

	for (size_t i = 0; i < src->npending; i++) {
		if (src->pending[i].at_ms <= start_ms) {
			if (answered)
				neg_add(f, src, src->pending[i].h, now);
			continue;
		}
		src->pending[w++] = src->pending[i];
	}
	src->npending = w;
	if (start_ms > src->kid_served_ms) {
		src->kid_served_ms = start_ms;
		f->dirty = true;
	}
	src->kid_wanted = w > 0;
	kid_schedule(src);
}

/* An attempt of ${src} ended: answer the kids it covers. */
static void
end_attempt(struct source *src, bool answered)
{
	if (src->kind == SRC_JWKS)
		kid_resolve(src, src->attempt_ms, answered);
}

void
source_fail(struct source *src, const char *err, bool bad_doc)
{
	struct fetcher *f = src->f;
	double delay;

	src->failures++;
	delay = refresh_backoff(src->failures, fcfg(f)->backoff_max_s, rnd32());
	STAT_LOCKED(f, {
		src->st.failures++;
		if (bad_doc)
			src->st.rejected++;
	});
	source_set_error(f, src, src->have ? ST_STALE : ST_ERROR, err);
	log_warn("%s: %s (failure %u in a row; %s; retry in %.1f s)", src->id,
	    err, src->failures, src->have ? "keeping the last good document" :
	    "no document yet", delay);
	source_sched(src, delay);
	end_attempt(src, false);
	if (src->kind == SRC_DISCOVERY && src->jwks != NULL &&
	    src->jwks->url == NULL)
		kid_resolve(src->jwks, util_mono_ms(), false);
}

/* ---- accepting documents ---- */

static int
accept_jwks(struct fetcher *f, struct source *src, const char *body,
    size_t len, char *err, size_t errlen)
{
	struct keyset *ks = NULL;

	if (loader_keys_from_doc(src->id, body, len, &ks, err, errlen) != 0)
		return (-1);
	if (keyset_equal(ks, src->keys)) {
		keyset_unref(ks);
		return (0);
	}
	keyset_unref(src->keys);
	src->keys = ks;
	STAT_LOCKED(f, src->st.nkeys = keyset_count(ks));
	f->dirty = true;
	return (0);
}

static void
set_jwks_url(struct fetcher *f, struct source *jw, const char *url)
{
	if (util_streq(jw->url, url))
		return;
	free(jw->url);
	jw->url = strdup(url);
	FREE_AND_NULL(jw->etag);
	FREE_AND_NULL(jw->last_modified);
	jw->fetched_run = false;
	source_set_display_url(f, jw);
}

int
source_accept_discovery(struct fetcher *f, struct source *src,
    const char *body, size_t len, char *err, size_t errlen)
{
	const struct issuer_cfg *is = plan_issuer_by_name(
	    snapshot_config(f->base), src->issuer, NULL);
	struct discovery d;
	const char *why;
	char *jw;

	if (is == NULL) {
		snprintf(err, errlen, "issuer no longer configured");
		return (-1);
	}
	if (discovery_parse(body, len, fcfg(f)->insecure_skip_verify_for_tests,
	    &d, &why) != 0) {
		snprintf(err, errlen, "bad discovery document: %s", why);
		return (-1);
	}
	if (!discovery_issuer_match(d.issuer, is)) {
		char shown[160];

		url_redact(d.issuer, shown, sizeof(shown));
		snprintf(err, errlen, "discovery document issuer \"%s\" does not "
		    "match the configured issuer", shown);
		discovery_release(&d);
		return (-1);
	}
	jw = src->appid != NULL ? url_add_param(d.jwks_uri, "appid", src->appid) :
	    strdup(d.jwks_uri);
	discovery_release(&d);
	if (jw == NULL) {
		snprintf(err, errlen, "jwks_uri too long");
		return (-1);
	}
	if (src->jwks != NULL) {
		if (src->jwks->url != NULL && !util_streq(src->jwks->url, jw))
			log_info("%s: jwks_uri changed", src->jwks->id);
		set_jwks_url(f, src->jwks, jw);
	}
	free(jw);
	return (0);
}

/*
 * Rebuild the CRL set from the crl_files and the crl_urls documents, with
 * ${cand} as ${src}'s document (NULL: the documents as they are).  One bad
 * document fails the whole build (crlset_build()), which is what keeps a
 * bad download from replacing a good one.
 */
int
source_accept_crl(struct fetcher *f, struct source *src, const char *cand,
    size_t cand_len, char *err, size_t errlen)
{
	const struct config *cfg = snapshot_config(f->base);
	const struct ca_store *cas = snapshot_cfgref(f->base)->cas;
	const struct crl_doc *fdocs;
	struct crl_doc *docs = NULL;
	struct crlset *cs = NULL;
	size_t n, cap;
	int rc = -1;

	if (cas == NULL) {
		snprintf(err, errlen, "crl_urls need client_ca_file (the CA "
		    "that signs the CRLs)");
		return (-1);
	}
	/* The crl_files, as the loader read them for this config file. */
	fdocs = crl_files_docs(f->file->crl_files, &n);
	if (n != cfg->crl_files.n) {
		snprintf(err, errlen, "crl_files not loaded");
		return (-1);
	}
	cap = n;
	for (struct source *s = f->sources; s != NULL; s = s->next)
		if (s->kind == SRC_CRL)
			cap++;
	if ((docs = calloc(cap ? cap : 1, sizeof(*docs))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return (-1);
	}
	if (n > 0)
		memcpy(docs, fdocs, n * sizeof(*docs));
	for (struct source *s = f->sources; s != NULL; s = s->next) {
		if (s->kind != SRC_CRL)
			continue;
		if (s == src && cand != NULL) {
			docs[n].name = s->st.url;    /* no query secret */
			docs[n].buf = (const uint8_t *)cand;
			docs[n++].len = cand_len;
		} else if (s->have) {
			docs[n].name = s->st.url;    /* no query secret */
			docs[n].buf = (const uint8_t *)s->doc;
			docs[n++].len = s->doc_len;
		}
	}
	err[0] = '\0';
	if (crlset_build(docs, n, cas, now_s(), &cs, err, errlen) != 0) {
		if (err[0] == '\0')
			snprintf(err, errlen, "CRL refused");
		goto out;
	}
	crlset_unref(f->crls);
	f->crls = cs;
	f->dirty = true;
	log_info("crl_urls: %zu CRL%s, %zu revoked serial%s", crlset_count(cs),
	    crlset_count(cs) == 1 ? "" : "s", crlset_entries(cs),
	    crlset_entries(cs) == 1 ? "" : "s");
	rc = 0;
out:
	free(docs);
	return (rc);
}

/*
 * Apply a policy document: build the base snapshot from the config file
 * and it.  Errors are logged, one per line; the first is returned.
 */
static int
accept_policy(struct fetcher *f, const char *body, size_t len, char *err,
    size_t errlen)
{
	struct config_errors errs = { 0 };
	struct snapshot *nb = NULL;
	const struct config *c;

	if (loader_build_ref(f->file, body, len, f->base, &nb, &errs) != 0) {
		for (size_t i = 0; i < errs.n; i++)
			log_error("policy_url: %s", errs.v[i]);
		log_error("policy_url: document rejected (%zu error%s); keeping "
		    "the policy in use", errs.n, errs.n == 1 ? "" : "s");
		snprintf(err, errlen, "policy document rejected: %s",
		    errs.n ? errs.v[0] : "out of memory");
		config_errors_free(&errs);
		return (-1);
	}
	snapshot_unref(f->base);
	f->base = nb;
	c = snapshot_config(nb);
	log_info("policy_url: policy applied%s%s (%zu issuer%s, %zu route%s)",
	    c->policy_version ? ", version " : "",
	    c->policy_version ? c->policy_version : "",
	    c->nissuers, c->nissuers == 1 ? "" : "s",
	    c->nroutes, c->nroutes == 1 ? "" : "s");
	f->dirty = true;
	plan_issuers(f);
	return (0);
}

static int
accept_doc(struct fetcher *f, struct source *src, const char *body,
    size_t len, char *err, size_t errlen)
{
	/* The document in use, byte for byte (a server without validators
	 * answers 200 each time): nothing to check, rebuild or publish. */
	if (src->have && src->doc_len == len && memcmp(src->doc, body, len) == 0)
		return (0);
	switch (src->kind) {
	case SRC_DISCOVERY:
		return (source_accept_discovery(f, src, body, len, err,
		    errlen));
	case SRC_JWKS:
		return (accept_jwks(f, src, body, len, err, errlen));
	case SRC_POLICY:
		return (accept_policy(f, body, len, err, errlen));
	case SRC_CRL:
		return (source_accept_crl(f, src, body, len, err, errlen));
	}
	return (-1);
}

/*
 * A NUL-terminated copy of the ${len} bytes at ${body}, made before the
 * document is accepted: a document is accepted only if it can be kept, so
 * ${src}->doc is always the one in use (CRL rebuilds, state_dir, the
 * unchanged-bytes check of accept_doc()).  NULL if out of memory.
 */
static char *
doc_copy(const char *body, size_t len)
{
	char *d = malloc(len + 1);

	if (d != NULL) {
		memcpy(d, body, len);
		d[len] = '\0';
	}
	return (d);
}

/* Make the accepted ${copy} (from doc_copy()) ${src}'s document. */
static void
keep_doc(struct source *src, char *copy, size_t len)
{
	free(src->doc);
	src->doc = copy;
	src->doc_len = len;
	src->have = true;
}

static void
set_validators(struct source *src, const char *etag, size_t elen,
    const char *lm, size_t llen, bool replace)
{
	if (elen > 0 || replace) {
		free(src->etag);
		src->etag = elen > 0 ? strndup(etag, elen) : NULL;
	}
	if (llen > 0 || replace) {
		free(src->last_modified);
		src->last_modified = llen > 0 ? strndup(lm, llen) : NULL;
	}
}

/* Load ${src}'s state file, if any; true if a document was taken. */
bool
source_load_state(struct fetcher *f, struct source *src)
{
	struct statemeta m;
	char *buf = NULL, *copy, err[ERR_MAX];
	int64_t now = now_s();

	if (statedir_read(f, src, &buf, &m) != 0)
		return (false);
	/* Behind discovery, a key set is only as good as the discovery
	 * document that named its URL: without one accepted (loaded just
	 * before), or for another jwks_uri, the file is not used. */
	if (src->kind == SRC_JWKS && src->disc != NULL && (src->url == NULL ||
	    m.url.len != strlen(src->url) ||
	    memcmp(m.url.p, src->url, m.url.len) != 0)) {
		log_info("%s: state_dir document not used: %s", src->id,
		    src->url == NULL ? "no accepted discovery document names "
		    "its URL" : "discovery now names another jwks_uri");
		free(buf);
		return (false);
	}
	if ((copy = doc_copy(m.body, m.body_len)) == NULL) {
		log_warn("%s: state_dir document not used: out of memory",
		    src->id);
		free(buf);
		return (false);
	}
	/* CRLs are built together once all are loaded (see callers). */
	if (src->kind != SRC_CRL &&
	    accept_doc(f, src, m.body, m.body_len, err, sizeof(err)) != 0) {
		log_warn("%s: state_dir document not used: %s", src->id, err);
		free(copy);
		free(buf);
		return (false);
	}
	keep_doc(src, copy, m.body_len);
	/* Validators only apply to the URL they came from. */
	if (src->url != NULL && m.url.len == strlen(src->url) &&
	    memcmp(m.url.p, src->url, m.url.len) == 0)
		set_validators(src, m.etag.p, m.etag.p ? m.etag.len : 0,
		    m.last_modified.p, m.last_modified.p ? m.last_modified.len : 0,
		    true);
	STAT_LOCKED(f, {
		src->st.good_at = m.fetched > now ? now : m.fetched;
		src->st.state = ST_STALE;
		snprintf(src->st.last_error, sizeof(src->st.last_error),
		    "loaded from state_dir; not revalidated yet");
	});
	log_info("%s: loaded from state_dir (%lld s old)", src->id,
	    (long long)(now - src->st.good_at));
	source_set_display_url(f, src);
	f->dirty = true;
	free(buf);
	return (true);
}

/* ---- sources: completion ---- */

void
source_done(struct xfer *x, CURLcode res)
{
	struct source *src = x->src;
	struct fetcher *f = x->f;
	struct refresh_cc cc, *ccp = NULL;
	char err[ERR_MAX];
	long code = 0;
	int64_t now = now_s();
	bool not_modified = false;
	uint32_t next;

	src->xfer = NULL;
	if (!util_streq(x->url, src->url)) {
		/* Discovery named another jwks_uri while this ran: whatever
		 * came back is not the document of the URL now in use. */
		log_debug("%s: URL changed during the fetch; fetching again",
		    src->id);
		source_start(src);
		return;
	}
	if (res != CURLE_OK) {
		source_fail(src, transfer_error(x, res, err, sizeof(err)),
		    false);
		return;
	}
	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
	if (code == 401 && src->cred != NULL) {
		struct cred *c = cred_find(f, src->cred);

		/* The token may have been revoked: get a new one next time. */
		if (c != NULL && cred_has_token(c))
			cred_drop_token(f, c);
	}
	if (code == 304) {
		if (!src->have) {
			source_fail(src, "304 Not Modified without a cached document",
			    false);
			return;
		}
		not_modified = true;
		set_validators(src, x->etag, strlen(x->etag), x->lastmod,
		    strlen(x->lastmod), false);
		if (src->kind == SRC_JWKS || src->kind == SRC_POLICY)
			f->dirty = true;        /* keys_at / policy_at move */
	} else if (code == 200) {
		const char *body = x->body ? x->body : "";
		char *copy = doc_copy(body, x->len);

		if (copy == NULL) {
			source_fail(src, "out of memory", false);
			return;
		}
		if (accept_doc(f, src, body, x->len, err, sizeof(err)) != 0) {
			free(copy);
			source_fail(src, err, true);
			return;
		}
		keep_doc(src, copy, x->len);
		set_validators(src, x->etag, strlen(x->etag), x->lastmod,
		    strlen(x->lastmod), true);
		if (src->kind == SRC_JWKS || src->kind == SRC_POLICY)
			f->dirty = true;
	} else {
		snprintf(err, sizeof(err), "HTTP status %ld", code);
		source_fail(src, err, false);
		return;
	}
	src->failures = 0;
	src->fetched_run = true;
	STAT_LOCKED(f, {
		src->st.good_at = now;
		if (not_modified)
			src->st.not_modified++;
	});
	source_set_error(f, src, ST_OK, NULL);
	if (x->cc_seen && !x->cc_over && refresh_parse_cc(x->cc, x->cc_len,
	    &cc) == 0)
		ccp = &cc;
	next = refresh_interval(ccp, fcfg(f)->refresh_min_s,
	    fcfg(f)->refresh_max_s, rnd32());
	log_debug("%s: %s; next refresh in %u s", src->id, not_modified ?
	    "not modified" : "fetched", next);
	source_sched(src, next);
	statedir_save(f, src);
	end_attempt(src, true);
	/* A new (or first) jwks_uri: fetch the keys now. */
	if (src->kind == SRC_DISCOVERY && src->jwks != NULL &&
	    !src->jwks->fetched_run && src->jwks->xfer == NULL)
		source_start(src->jwks);
}

/* ---- sources: starting a fetch ---- */

void
source_start(struct source *src)
{
	struct fetcher *f = src->f;
	struct cred *c = cred_find(f, src->cred);
	struct xfer *x = NULL;
	char err[ERR_MAX];
	const char *accept;

	if (src->xfer != NULL || src->wait_token)
		return;
	if (src->kind == SRC_JWKS && src->url == NULL) {
		/* Its URL comes from discovery, which will start it. */
		if (src->disc != NULL && src->disc->xfer == NULL &&
		    !src->disc->wait_token)
			source_start(src->disc);
		return;
	}
	if (c != NULL && cred_has_token(c) && !cred_token_fresh(c, now_s())) {
		if (c->token != NULL)
			cred_drop_token(f, c);
		if (cred_request(f, c, err, sizeof(err)) != 0) {
			char msg[2 * ERR_MAX];

			STAT_LOCKED(f, {
				c->st.failures++;
				c->st.failed = true;
				snprintf(c->st.last_error, sizeof(c->st.last_error),
				    "%s", err);
			});
			snprintf(msg, sizeof(msg), "credential %s: %s", c->c.name, err);
			source_fail(src, msg, false);
			return;
		}
		src->wait_token = true;
		return;
	}
	/* CRL distribution points are usually plain http, and a CRL is
	 * signed (checked against client_ca_file): http is fine there.
	 * Everything else is https only. */
	x = transfer_new(f, src->url, src->ca_file, src->kind == SRC_CRL,
	    doc_max[src->kind].max, doc_max[src->kind].what);
	if (x == NULL)
		goto bad;
	x->src = src;
	if ((x->url = strdup(src->url)) == NULL)
		goto bad;
	accept = src->kind == SRC_CRL ?
	    "application/pkix-crl, application/x-pem-file, */*" :
	    "application/json";
	if (transfer_add_header(x, "Accept", accept) != 0)
		goto bad;
	if (src->have && src->etag != NULL &&
	    transfer_add_header(x, "If-None-Match", src->etag) != 0)
		goto bad;
	if (src->have && src->last_modified != NULL &&
	    transfer_add_header(x, "If-Modified-Since", src->last_modified) != 0)
		goto bad;
	if (c != NULL && c->c.type == CRED_CLIENT_CERT) {
		curl_easy_setopt(x->easy, CURLOPT_SSLCERT, c->c.cert_file);
		curl_easy_setopt(x->easy, CURLOPT_SSLKEY, c->c.key_file);
	} else if (c != NULL) {
		size_t n = 7 + c->token_len + 1;
		char *v = malloc(n);

		if (v == NULL)
			goto bad;
		snprintf(v, n, "Bearer %s", c->token);
		if (transfer_add_header(x, "Authorization", v) != 0) {
			wipe_free(v, n);
			goto bad;
		}
		wipe_free(v, n);
	}
	if (transfer_go(x) != 0)
		goto bad;
	src->xfer = x;
	src->attempt_ms = util_mono_ms();
	if (src->kid_wanted)
		src->kid_attempt_ms = src->attempt_ms;
	STAT_LOCKED(f, {
		src->st.fetches++;
		src->st.next_at = 0;
	});
	ev_timer_stop(f->loop, &src->timer);
	log_debug("%s: fetching", src->id);
	return;
bad:
	if (x != NULL)
		x->src = NULL;
	transfer_free(x);
	source_fail(src, "cannot start the transfer", false);
}

void
source_on_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct source *src = t->data;

	(void)loop;
	(void)revents;
	source_start(src);
}

/* ---- unknown kids ---- */

void
source_kid_asked(struct fetcher *f, const char *issuer, const char *kid,
    size_t kid_len)
{
	struct source *src = plan_find_jwks(f, issuer);
	int64_t now = now_s();
	uint8_t h[16];
	size_t idx;
	bool dup = false;

	if (src == NULL || kid_hash(kid, kid_len, h) != 0)
		return;
	/* Already known (the worker's snapshot was older): the snapshot
	 * that has it is published or about to be. */
	if (src->keys != NULL && keyset_find(src->keys, kid, kid_len) != NULL)
		return;
	if (neg_has(src, h, now)) {
		/* Known to be absent: answer the requests parked on this kid
		 * now.  Requests parked on other kids keep waiting. */
		if (plan_issuer_by_name(snapshot_config(f->cur), issuer,
		    &idx) != NULL)
			for (size_t i = 0; i < f->nworkers; i++)
				f->sink.kid_absent(f->targets[i], idx, kid,
				    kid_len);
		return;
	}
	for (size_t i = 0; i < src->npending && !dup; i++)
		dup = memcmp(src->pending[i].h, h, 16) == 0;
	if (!dup && src->npending < PENDING_MAX) {
		memcpy(src->pending[src->npending].h, h, 16);
		src->pending[src->npending++].at_ms = util_mono_ms();
	}
	if (src->kid_wanted)
		return;         /* single flight: the next attempt serves it */
	src->kid_wanted = true;
	STAT_LOCKED(f, src->st.kid_refetches++);
	{
		char shown[65];

		(void)util_printable(shown, sizeof(shown), kid, kid_len);
		log_info("%s: unknown kid \"%s\": refetching the key set",
		    src->id, shown);
	}
	kid_schedule(src);
}
