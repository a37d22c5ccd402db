/*
 * snapshot.c: see snapshot.h.
 */
#include <stdlib.h>
#include <string.h>

#include "cert.h"
#include "config.h"
#include "crl.h"
#include "jwks.h"
#include "log.h"
#include "util.h"
#include "signer.h"
#include "snapshot.h"

static atomic_uint_fast64_t snapshot_gen;

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
	s->gen = atomic_fetch_add(&snapshot_gen, 1) + 1;
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
