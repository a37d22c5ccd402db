/*
 * status.c: what /readyz and /metrics show of the fetcher (see
 * fetch_int.h): the display fields that the fetcher thread writes under
 * f->lock, read by the admin thread under it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abuf.h"
#include "fetch_int.h"

static const char *const state_name[] = { "pending", "ok", "stale", "error" };

static const char *
keys_from(enum key_source s)
{
	switch (s) {
	case KEYS_DISCOVERY:
		return ("discovery");
	case KEYS_JWKS_URL:
		return ("jwks_url");
	case KEYS_JWKS_FILE:
		return ("jwks_file");
	case KEYS_NONE:
		return ("hmac");
	}
	return ("?");
}

void
status_update_issuers(struct fetcher *f, const struct snapshot *s)
{
	const struct config *cfg = snapshot_config(s);
	struct issuer_stat *st = calloc(cfg->nissuers ? cfg->nissuers : 1,
	    sizeof(*st)), *old;
	size_t nold;

	if (st == NULL)
		return;
	for (size_t i = 0; i < cfg->nissuers; i++) {
		const struct issuer_cfg *is = &cfg->issuers[i];

		st[i].name = strdup(is->name);
		st[i].keys_from = keys_from(is->source);
		st[i].remote = is->source == KEYS_DISCOVERY ||
		    is->source == KEYS_JWKS_URL;
		st[i].has_keys = is->source == KEYS_NONE ? s->hmac[i] != NULL :
		    s->keys[i] != NULL;
		st[i].keys_at = s->keys_at[i];
	}
	pthread_mutex_lock(&f->lock);
	old = f->istat;
	nold = f->nistat;
	f->istat = st;
	f->nistat = cfg->nissuers;
	f->policy_configured = file_cfg(f)->policy_url != NULL;
	f->policy_loaded = s->policy_loaded;
	f->policy_at = s->policy_at;
	f->max_stale_s = fcfg(f)->max_stale_s;
	pthread_mutex_unlock(&f->lock);
	for (size_t i = 0; i < nold; i++)
		free(old[i].name);
	free(old);
}

static void
json_str(struct abuf *b, const char *s)
{
	if (s == NULL || *s == '\0') {
		abuf_printf(b, "null");
		return;
	}
	abuf_printf(b, "\"");
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			abuf_printf(b, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			abuf_printf(b, "\\u%04x", c);
		else
			abuf_printf(b, "%c", c);
	}
	abuf_printf(b, "\"");
}

static bool
issuer_ready(const struct issuer_stat *is, uint32_t max_stale, int64_t now)
{
	if (!is->has_keys)
		return (false);
	return (!is->remote || max_stale == 0 ||
	    now - is->keys_at <= (int64_t)max_stale);
}

bool
status_ready(struct fetcher *f, struct abuf *b)
{
	int64_t now = now_s();
	bool ok = true, first = true;

	pthread_mutex_lock(&f->lock);
	abuf_printf(b, "{");
	for (struct source *s = f->sources; s != NULL; s = s->next) {
		const struct srcstat *st = &s->st;

		abuf_printf(b, "%s", first ? "" : ",");
		first = false;
		json_str(b, s->id);
		abuf_printf(b, ":{\"kind\":\"%s\",\"url\":", source_kind_name[s->kind]);
		json_str(b, st->url);
		abuf_printf(b, ",\"state\":\"%s\",\"age_s\":", state_name[st->state]);
		if (st->good_at > 0)
			abuf_printf(b, "%lld", (long long)(now - st->good_at));
		else
			abuf_printf(b, "null");
		abuf_printf(b, ",\"last_error\":");
		json_str(b, st->last_error);
		abuf_printf(b, ",\"fetches\":%llu,\"failures\":%llu,"
		    "\"not_modified\":%llu,\"rejected\":%llu",
		    (unsigned long long)st->fetches,
		    (unsigned long long)st->failures,
		    (unsigned long long)st->not_modified,
		    (unsigned long long)st->rejected);
		if (s->kind == SRC_JWKS)
			abuf_printf(b, ",\"kid_refetches\":%llu",
			    (unsigned long long)st->kid_refetches);
		abuf_printf(b, ",\"next_refresh_s\":");
		if (st->next_at > 0)
			abuf_printf(b, "%lld", (long long)(st->next_at > now ?
			    st->next_at - now : 0));
		else
			abuf_printf(b, "null");
		abuf_printf(b, "}");
	}
	for (const struct cred *c = f->creds; c != NULL; c = c->next) {
		static const char *const tname[] = {
			"managed_identity", "client_credentials", "client_certificate",
		};
		const struct credstat *st = &c->st;

		abuf_printf(b, "%s\"credential:%s\":{\"kind\":\"%s\",\"state\":\"%s\"",
		    first ? "" : ",", c->c.name, tname[c->c.type],
		    c->c.type == CRED_CLIENT_CERT ? "ok" : st->failed ? "error" :
		    st->expires_at > now ? "ok" : "pending");
		first = false;
		if (c->c.type != CRED_CLIENT_CERT) {
			abuf_printf(b, ",\"token_expires_in_s\":");
			if (st->expires_at > now)
				abuf_printf(b, "%lld", (long long)(st->expires_at - now));
			else
				abuf_printf(b, "null");
			abuf_printf(b, ",\"fetches\":%llu,\"failures\":%llu,"
			    "\"last_error\":", (unsigned long long)st->fetches,
			    (unsigned long long)st->failures);
			json_str(b, st->last_error);
		}
		abuf_printf(b, "}");
	}
	for (size_t i = 0; i < f->nistat; i++) {
		const struct issuer_stat *is = &f->istat[i];
		bool r = issuer_ready(is, f->max_stale_s, now);

		abuf_printf(b, "%s\"issuer:%s\":{\"kind\":\"issuer\",\"keys_from\":\"%s\","
		    "\"state\":\"%s\"", first ? "" : ",", is->name, is->keys_from,
		    r ? "ok" : is->has_keys ? "stale" : "pending");
		first = false;
		if (is->remote) {
			abuf_printf(b, ",\"keys_age_s\":");
			if (is->has_keys)
				abuf_printf(b, "%lld", (long long)(now - is->keys_at));
			else
				abuf_printf(b, "null");
		}
		abuf_printf(b, "}");
		ok = ok && r;
	}
	if (f->policy_configured && (!f->policy_loaded || (f->max_stale_s > 0 &&
	    now - f->policy_at > (int64_t)f->max_stale_s)))
		ok = false;
	abuf_printf(b, "%s\"policy_loaded\":%s}", first ? "" : ",",
	    !f->policy_configured ? "null" : f->policy_loaded ? "true" : "false");
	pthread_mutex_unlock(&f->lock);
	return (ok);
}

static void
prom_label(struct abuf *b, const char *s)
{
	abuf_printf(b, "\"");
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			abuf_printf(b, "\\%c", *s);
		else if (*s == '\n')
			abuf_printf(b, "\\n");
		else
			abuf_printf(b, "%c", *s);
	}
	abuf_printf(b, "\"");
}

enum metric { M_FETCHES, M_FAILURES, M_NOT_MODIFIED, M_REJECTED, M_KID, M_AGE,
	M_UP, M_NEXT, M_COUNT };

void
status_metrics(struct fetcher *f, struct abuf *b)
{
	static const struct {
		const char *name, *type, *help;
	} m[M_COUNT] = {
		{ "spoa_iam_fetch_requests_total", "counter",
		  "Fetches started, per source." },
		{ "spoa_iam_fetch_failures_total", "counter",
		  "Failed fetches (transport, HTTP status, refused document)." },
		{ "spoa_iam_fetch_not_modified_total", "counter",
		  "Fetches answered 304 Not Modified." },
		{ "spoa_iam_fetch_rejected_total", "counter",
		  "Documents refused for their content (last good one kept)." },
		{ "spoa_iam_fetch_kid_refetches_total", "counter",
		  "Key-set refetches triggered by an unknown kid." },
		{ "spoa_iam_fetch_age_seconds", "gauge",
		  "Age of the document in use (-1: none yet)." },
		{ "spoa_iam_fetch_up", "gauge",
		  "1 if the last fetch of the source succeeded." },
		{ "spoa_iam_fetch_next_refresh_seconds", "gauge",
		  "Seconds until the next planned fetch (-1: none planned)." },
	};
	int64_t now = now_s();

	pthread_mutex_lock(&f->lock);
	for (int k = 0; k < M_COUNT; k++) {
		abuf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", m[k].name,
		    m[k].help, m[k].name, m[k].type);
		for (struct source *s = f->sources; s != NULL; s = s->next) {
			const struct srcstat *st = &s->st;
			long long v = 0;

			switch (k) {
			case M_FETCHES: v = (long long)st->fetches; break;
			case M_FAILURES: v = (long long)st->failures; break;
			case M_NOT_MODIFIED: v = (long long)st->not_modified; break;
			case M_REJECTED: v = (long long)st->rejected; break;
			case M_KID:
				if (s->kind != SRC_JWKS)
					continue;
				v = (long long)st->kid_refetches;
				break;
			case M_AGE:
				v = st->good_at > 0 ? now - st->good_at : -1;
				break;
			case M_UP: v = st->state == ST_OK; break;
			case M_NEXT:
				v = st->next_at > 0 ? (st->next_at > now ?
				    st->next_at - now : 0) : -1;
				break;
			}
			abuf_printf(b, "%s{source=", m[k].name);
			prom_label(b, s->id);
			abuf_printf(b, "} %lld\n", v);
		}
	}
	abuf_printf(b, "# HELP spoa_iam_fetch_token_requests_total Token "
	    "requests per credential.\n# TYPE spoa_iam_fetch_token_requests_total "
	    "counter\n");
	for (const struct cred *c = f->creds; c != NULL; c = c->next)
		if (c->c.type != CRED_CLIENT_CERT)
			abuf_printf(b, "spoa_iam_fetch_token_requests_total"
			    "{credential=\"%s\"} %llu\n", c->c.name,
			    (unsigned long long)c->st.fetches);
	abuf_printf(b, "# HELP spoa_iam_fetch_token_failures_total Failed token "
	    "requests per credential.\n# TYPE spoa_iam_fetch_token_failures_total "
	    "counter\n");
	for (const struct cred *c = f->creds; c != NULL; c = c->next)
		if (c->c.type != CRED_CLIENT_CERT)
			abuf_printf(b, "spoa_iam_fetch_token_failures_total"
			    "{credential=\"%s\"} %llu\n", c->c.name,
			    (unsigned long long)c->st.failures);
	abuf_printf(b, "# HELP spoa_iam_issuer_keys_age_seconds Age of each "
	    "issuer's key set in use (-1: none).\n# TYPE "
	    "spoa_iam_issuer_keys_age_seconds gauge\n");
	for (size_t i = 0; i < f->nistat; i++) {
		const struct issuer_stat *is = &f->istat[i];

		abuf_printf(b, "spoa_iam_issuer_keys_age_seconds{issuer=\"%s\"} "
		    "%lld\n", is->name, (long long)(!is->has_keys ? -1 :
		    is->remote ? now - is->keys_at : 0));
	}
	abuf_printf(b, "# HELP spoa_iam_policy_loaded 1 once the policy_url "
	    "document is applied (1 without policy_url).\n# TYPE "
	    "spoa_iam_policy_loaded gauge\nspoa_iam_policy_loaded %d\n",
	    !f->policy_configured || f->policy_loaded);
	pthread_mutex_unlock(&f->lock);
}
