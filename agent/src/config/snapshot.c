/*
 * snapshot.c: see snapshot.h.
 */
#include <stdlib.h>
#include <string.h>

#include "cert.h"
#include "config.h"
#include "crl.h"
#include "keyset.h"
#include "log.h"
#include "util.h"
#include "signer.h"
#include "snapshot.h"

/* See snapshot.h: written only before publication. */
struct snapshot {
	atomic_uint refs;
	uint64_t gen;                 /* increases with every publication */
	struct cfgref *cfg;
	struct keyset **keys;         /* [cfg->nissuers]; NULL = no key set yet */
	int64_t *keys_at;             /* [cfg->nissuers]: when each set was last
	                               * fetched or revalidated */
	struct keyset **hmac;         /* [cfg->nissuers]: HS* secret, or NULL */
	int64_t *kid_served_ms;       /* [cfg->nissuers]: util_mono_ms() start
	                               * of the last finished key set fetch;
	                               * requests parked before it are
	                               * decided without waiting more */
	struct crlset *crls;          /* NULL = none configured / loaded */
	bool policy_loaded;           /* routes come from a loaded policy */
	int64_t policy_at;            /* policy_url: when the document in use
	                               * was fetched or revalidated */
	struct signer *signer;        /* assertion keys (signer.h), or NULL */
};

static atomic_uint_fast64_t snapshot_gens;

struct snapshot *
snapshot_new(struct cfgref *cfg)
{
	struct snapshot *s = calloc(1, sizeof(*s));
	size_t n = cfg->cfg->nissuers;

	if (s == NULL)
		return (NULL);
	s->keys = calloc(n ? n : 1, sizeof(*s->keys));
	s->keys_at = calloc(n ? n : 1, sizeof(*s->keys_at));
	s->hmac = calloc(n ? n : 1, sizeof(*s->hmac));
	s->kid_served_ms = calloc(n ? n : 1, sizeof(*s->kid_served_ms));
	if (s->keys == NULL || s->keys_at == NULL || s->hmac == NULL ||
	    s->kid_served_ms == NULL) {
		free(s->keys);
		free(s->keys_at);
		free(s->hmac);
		free(s->kid_served_ms);
		free(s);
		return (NULL);
	}
	atomic_init(&s->refs, 1);
	s->gen = atomic_fetch_add(&snapshot_gens, 1) + 1;
	s->cfg = cfgref_ref(cfg);
	return (s);
}

/* Same issuer, same key source: its keys carry over. */
static bool
same_source(const struct issuer_cfg *a, const struct issuer_cfg *b)
{
	return (strcmp(a->name, b->name) == 0 && a->source == b->source &&
	    util_streq(a->source_location, b->source_location) &&
	    util_streq(a->appid, b->appid));
}

struct snapshot *
snapshot_derive(const struct snapshot *old, struct cfgref *cfg)
{
	struct snapshot *s = snapshot_new(cfg);
	const struct config *oc = old->cfg->cfg, *nc = cfg->cfg;

	if (s == NULL)
		return (NULL);
	for (size_t i = 0; i < nc->nissuers; i++) {
		for (size_t j = 0; j < oc->nissuers; j++) {
			if (old->keys[j] != NULL &&
			    same_source(&nc->issuers[i], &oc->issuers[j])) {
				snapshot_set_keys(s, i, old->keys[j], old->keys_at[j]);
				s->kid_served_ms[i] = old->kid_served_ms[j];
				break;
			}
		}
	}
	/* HMAC secrets: same issuer, same secret source. */
	for (size_t i = 0; i < nc->nissuers; i++) {
		for (size_t j = 0; j < oc->nissuers; j++) {
			const struct issuer_cfg *a = &nc->issuers[i], *b = &oc->issuers[j];

			if (old->hmac[j] != NULL && strcmp(a->name, b->name) == 0 &&
			    util_streq(a->hmac_secret_file, b->hmac_secret_file) &&
			    util_streq(a->hmac_secret_env, b->hmac_secret_env)) {
				snapshot_set_hmac(s, i, keyset_ref(old->hmac[j]));
				break;
			}
		}
	}
	/* The CRL set belongs to the config it was built for: a new config
	 * (reload, policy) gets its own from its crl_files (loader.c) and
	 * crl_urls (fetch.c), never the previous one's. */
	if (old->crls != NULL && old->cfg == cfg)
		s->crls = crlset_ref(old->crls);
	if (old->signer != NULL)
		s->signer = signer_ref(old->signer);
	s->policy_loaded = old->policy_loaded && old->cfg == cfg;
	s->policy_at = old->policy_at;
	return (s);
}

void
snapshot_set_keys(struct snapshot *s, size_t issuer, struct keyset *ks,
    int64_t now)
{
	if (issuer >= s->cfg->cfg->nissuers)
		return;
	if (ks != NULL)
		keyset_ref(ks);
	keyset_unref(s->keys[issuer]);
	s->keys[issuer] = ks;
	s->keys_at[issuer] = now;
}

void
snapshot_set_hmac(struct snapshot *s, size_t issuer, struct keyset *ks)
{
	if (issuer >= s->cfg->cfg->nissuers) {
		keyset_unref(ks);
		return;
	}
	keyset_unref(s->hmac[issuer]);
	s->hmac[issuer] = ks;
}

void
snapshot_set_crls(struct snapshot *s, struct crlset *crls)
{
	crlset_unref(s->crls);
	s->crls = crls;
}

void
snapshot_set_signer(struct snapshot *s, struct signer *sg)
{
	if (sg != NULL)
		(void)signer_ref(sg);
	signer_unref(s->signer);
	s->signer = sg;
}

struct snapshot *
snapshot_ref(struct snapshot *s)
{
	atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
	return (s);
}

void
snapshot_unref(struct snapshot *s)
{
	if (s == NULL)
		return;
	if (atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
		return;
	for (size_t i = 0; i < s->cfg->cfg->nissuers; i++) {
		keyset_unref(s->keys[i]);
		keyset_unref(s->hmac[i]);
	}
	crlset_unref(s->crls);
	signer_unref(s->signer);
	cfgref_unref(s->cfg);
	free(s->keys);
	free(s->keys_at);
	free(s->hmac);
	free(s->kid_served_ms);
	free(s);
}

const struct config *
snapshot_config(const struct snapshot *s)
{
	return (s->cfg->cfg);
}

struct cfgref *
snapshot_cfgref(const struct snapshot *s)
{
	return (s->cfg);
}

uint64_t
snapshot_gen(const struct snapshot *s)
{
	return (s->gen);
}

struct keyset *
snapshot_keys(const struct snapshot *s, size_t issuer)
{
	SPOA_ASSERT(issuer < s->cfg->cfg->nissuers);
	return (s->keys[issuer]);
}

struct keyset *
snapshot_hmac(const struct snapshot *s, size_t issuer)
{
	SPOA_ASSERT(issuer < s->cfg->cfg->nissuers);
	return (s->hmac[issuer]);
}

int64_t
snapshot_keys_at(const struct snapshot *s, size_t issuer)
{
	SPOA_ASSERT(issuer < s->cfg->cfg->nissuers);
	return (s->keys_at[issuer]);
}

void
snapshot_set_kid_served(struct snapshot *s, size_t issuer, int64_t ms)
{
	if (issuer < s->cfg->cfg->nissuers)
		s->kid_served_ms[issuer] = ms;
}

int64_t
snapshot_kid_served(const struct snapshot *s, size_t issuer)
{
	SPOA_ASSERT(issuer < s->cfg->cfg->nissuers);
	return (s->kid_served_ms[issuer]);
}

const struct crlset *
snapshot_crls(const struct snapshot *s)
{
	return (s->crls);
}

void
snapshot_set_policy(struct snapshot *s, bool loaded, int64_t at)
{
	s->policy_loaded = loaded;
	s->policy_at = at;
}

bool
snapshot_policy_loaded(const struct snapshot *s)
{
	return (s->policy_loaded);
}

int64_t
snapshot_policy_at(const struct snapshot *s)
{
	return (s->policy_at);
}

struct signer *
snapshot_signer(const struct snapshot *s)
{
	return (s->signer);
}
