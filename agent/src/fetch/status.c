/*
 * status.c: what /readyz and /metrics show of the fetcher (see
 * fetch_int.h): the display fields that the fetcher thread writes under
 * f->lock, read by the admin thread under it.  The /readyz document is
 * written with cJSON.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "abuf.h"
#include "fetch_int.h"
#include "json_strict.h"

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
		st[i].has_keys = (is->source == KEYS_NONE ?
		    snapshot_hmac(s, i) : snapshot_keys(s, i)) != NULL;
		st[i].keys_at = snapshot_keys_at(s, i);
	}
	pthread_mutex_lock(&f->lock);
	old = f->istat;
	nold = f->nistat;
	f->istat = st;
	f->nistat = cfg->nissuers;
	f->policy_configured = file_cfg(f)->policy_url != NULL;
	f->policy_loaded = snapshot_policy_loaded(s);
	f->policy_at = snapshot_policy_at(s);
	f->max_stale_s = fcfg(f)->max_stale_s;
	pthread_mutex_unlock(&f->lock);
	for (size_t i = 0; i < nold; i++)
		free(old[i].name);
	free(old);
}

/*
 * The length of the character at ${p} (${n} > 0 bytes left): 1 for
 * ASCII, 2 to 4 for a well-formed UTF-8 sequence, 0 for a byte that
 * starts none.
 */
static size_t
char_len(const char *p, size_t n)
{
	const uint8_t *u = (const uint8_t *)p;

	return (u[0] < 0x80 ? 1 : json_strict_utf8_len(u, n));
}

/*
 * Add member ${key} to ${o}: null if ${s} is NULL or empty, else the
 * string.  cJSON escapes what JSON requires ('"', '\', control bytes) and
 * nothing else, so UTF-8 passes through; a byte that is not part of
 * well-formed UTF-8 becomes U+FFFD, so the text stays valid JSON.  False
 * if out of memory.
 */
static bool
add_str(cJSON *o, const char *key, const char *s)
{
	size_t len, i, w = 0;
	char *fixed;
	bool ok;

	if (s == NULL || *s == '\0')
		return (cJSON_AddNullToObject(o, key) != NULL);
	len = strlen(s);
	for (i = 0; i < len && char_len(s + i, len - i) > 0;)
		i += char_len(s + i, len - i);
	if (i == len)
		return (cJSON_AddStringToObject(o, key, s) != NULL);
	if ((fixed = malloc(3 * len + 1)) == NULL)
		return (false);
	for (i = 0; i < len;) {
		size_t n = char_len(s + i, len - i);

		if (n == 0) {
			memcpy(fixed + w, "\xef\xbf\xbd", 3);
			w += 3;
			i++;
		} else {
			memcpy(fixed + w, s + i, n);
			w += n;
			i += n;
		}
	}
	fixed[w] = '\0';
	ok = cJSON_AddStringToObject(o, key, fixed) != NULL;
	free(fixed);
	return (ok);
}

/* Add member ${key} to ${o}: the number ${v}, or null unless ${have}. */
static bool
add_num(cJSON *o, const char *key, bool have, double v)
{
	return ((have ? cJSON_AddNumberToObject(o, key, v) :
	    cJSON_AddNullToObject(o, key)) != NULL);
}

/* A new object, member "${prefix}${name}" of ${root}; NULL if out of
 * memory. */
static cJSON *
add_entry(cJSON *root, const char *prefix, const char *name)
{
	char key[256];
	cJSON *o;
	int n = snprintf(key, sizeof(key), "%s%s", prefix, name);

	if (n < 0 || (size_t)n >= sizeof(key) ||
	    (o = cJSON_CreateObject()) == NULL)
		return (NULL);
	if (!cJSON_AddItemToObject(root, key, o)) {
		cJSON_Delete(o);
		return (NULL);
	}
	return (o);
}

static bool
issuer_ready(const struct issuer_stat *is, uint32_t max_stale, int64_t now)
{
	if (!is->has_keys)
		return (false);
	return (!is->remote || max_stale == 0 ||
	    now - is->keys_at <= (int64_t)max_stale);
}

/* The /readyz entry of the source ${s}; false if out of memory. */
static bool
ready_source(cJSON *root, const struct source *s, int64_t now)
{
	const struct srcstat *st = &s->st;
	cJSON *o = add_entry(root, "", s->id);

	return (o != NULL &&
	    add_str(o, "kind", source_kind_name[s->kind]) &&
	    add_str(o, "url", st->url) &&
	    add_str(o, "state", state_name[st->state]) &&
	    add_num(o, "age_s", st->good_at > 0, (double)(now - st->good_at)) &&
	    add_str(o, "last_error", st->last_error) &&
	    add_num(o, "fetches", true, (double)st->fetches) &&
	    add_num(o, "failures", true, (double)st->failures) &&
	    add_num(o, "not_modified", true, (double)st->not_modified) &&
	    add_num(o, "rejected", true, (double)st->rejected) &&
	    (s->kind != SRC_JWKS || add_num(o, "kid_refetches", true,
	    (double)st->kid_refetches)) &&
	    add_num(o, "next_refresh_s", st->next_at > 0,
	    (double)(st->next_at > now ? st->next_at - now : 0)));
}

/* The /readyz entry of the credential ${c}; false if out of memory. */
static bool
ready_cred(cJSON *root, const struct cred *c, int64_t now)
{
	static const char *const tname[] = {
		"managed_identity", "client_credentials", "client_certificate",
	};
	const struct credstat *st = &c->st;
	cJSON *o = add_entry(root, "credential:", c->c.name);

	if (o == NULL || !add_str(o, "kind", tname[c->c.type]) ||
	    !add_str(o, "state", c->c.type == CRED_CLIENT_CERT ? "ok" :
	    st->failed ? "error" : st->expires_at > now ? "ok" : "pending"))
		return (false);
	if (c->c.type == CRED_CLIENT_CERT)
		return (true);
	return (add_num(o, "token_expires_in_s", st->expires_at > now,
	    (double)(st->expires_at - now)) &&
	    add_num(o, "fetches", true, (double)st->fetches) &&
	    add_num(o, "failures", true, (double)st->failures) &&
	    add_str(o, "last_error", st->last_error));
}

/* The /readyz entry of the issuer ${is}, ready or not (${r}); false if
 * out of memory. */
static bool
ready_issuer(cJSON *root, const struct issuer_stat *is, bool r, int64_t now)
{
	cJSON *o = add_entry(root, "issuer:", is->name);

	return (o != NULL && add_str(o, "kind", "issuer") &&
	    add_str(o, "keys_from", is->keys_from) &&
	    add_str(o, "state", r ? "ok" : is->has_keys ? "stale" : "pending") &&
	    (!is->remote || add_num(o, "keys_age_s", is->has_keys,
	    (double)(now - is->keys_at))));
}

/*
 * The tree is built under f->lock (no I/O, a few small allocations); the
 * text is printed from it once the lock is released.
 */
bool
status_ready(struct fetcher *f, struct abuf *b)
{
	int64_t now = now_s();
	cJSON *root = cJSON_CreateObject();
	bool ok = true, built = root != NULL;
	char *text;

	pthread_mutex_lock(&f->lock);
	for (const struct source *s = f->sources; s != NULL && built;
	    s = s->next)
		built = ready_source(root, s, now);
	for (const struct cred *c = f->creds; c != NULL && built; c = c->next)
		built = ready_cred(root, c, now);
	for (size_t i = 0; i < f->nistat && built; i++) {
		const struct issuer_stat *is = &f->istat[i];
		bool r = issuer_ready(is, f->max_stale_s, now);

		built = ready_issuer(root, is, r, now);
		ok = ok && r;
	}
	if (f->policy_configured && (!f->policy_loaded || (f->max_stale_s > 0 &&
	    now - f->policy_at > (int64_t)f->max_stale_s)))
		ok = false;
	if (built)
		built = (f->policy_configured ? cJSON_AddBoolToObject(root,
		    "policy_loaded", f->policy_loaded) :
		    cJSON_AddNullToObject(root, "policy_loaded")) != NULL;
	pthread_mutex_unlock(&f->lock);
	text = built ? cJSON_PrintUnformatted(root) : NULL;
	cJSON_Delete(root);
	if (text == NULL) {
		b->oom = true;          /* the admin endpoint answers 503 */
		return (false);
	}
	abuf_printf(b, "%s", text);
	cJSON_free(text);
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
	M_UP, M_NEXT, M_LAST, M_KEYS, M_COUNT };

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
		{ "spoa_iam_fetch_last_success_timestamp_seconds", "gauge",
		  "When the document in use was last fetched or revalidated, "
		  "Unix time (0: none yet)." },
		{ "spoa_iam_fetch_keys", "gauge",
		  "Keys in the key set in use (key sets only)." },
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
			case M_LAST: v = st->good_at; break;
			case M_KEYS:
				if (s->kind != SRC_JWKS)
					continue;
				v = (long long)st->nkeys;
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
	abuf_printf(b, "# HELP spoa_iam_fetch_max_stale_seconds fetch.max_stale_s: "
	    "past this age a key set is no longer used (0: no limit).\n"
	    "# TYPE spoa_iam_fetch_max_stale_seconds gauge\n"
	    "spoa_iam_fetch_max_stale_seconds %u\n", (unsigned)f->max_stale_s);
	abuf_printf(b, "# HELP spoa_iam_policy_loaded 1 once the policy_url "
	    "document is applied (1 without policy_url).\n# TYPE "
	    "spoa_iam_policy_loaded gauge\nspoa_iam_policy_loaded %d\n",
	    !f->policy_configured || f->policy_loaded);
	asrtkeys_metrics(f, b);
	pthread_mutex_unlock(&f->lock);
}
