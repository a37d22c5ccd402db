/*
 * certcache.c: see certcache.h.
 *
 * The store is a tokcache (the same bounded, CLOCK-evicting map of SHA-256
 * keys the token cache uses), holding one struct entry per certificate;
 * entries never expire by time, only by eviction or a change of CA store.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cert.h"
#include "certcache.h"
#include "crypto.h"
#include "tokcache.h"

struct entry {
	uint64_t gen;                   /* ca_store_gen() at analysis */
	const struct cert_info *ci;     /* NULL: analysis failed, see why */
	const char *why;
};

struct certcache {
	struct tokcache *tc;            /* NULL: the cache keeps nothing */
	uint64_t hits, misses;
};

static void
entry_free(void *p)
{
	struct entry *e = p;

	cert_info_unref(e->ci);
	free(e);
}

struct certcache *
certcache_new(uint32_t max)
{
	struct certcache *cc;

	if ((cc = calloc(1, sizeof(*cc))) == NULL)
		return (NULL);
	if (max > 0 && (cc->tc = tokcache_new(max)) == NULL) {
		free(cc);
		return (NULL);
	}
	return (cc);
}

/* Remember the outcome ${ci}/${why} of ${key} under ${gen}; on failure
 * (no memory) the next request analyses again. */
static void
remember(struct certcache *cc, const uint8_t key[32], uint64_t gen,
    const struct cert_info *ci, const char *why)
{
	struct entry *e;

	if ((e = malloc(sizeof(*e))) == NULL)
		return;
	e->gen = gen;
	e->ci = ci != NULL ? cert_info_ref(ci) : NULL;
	e->why = why;
	(void)tokcache_put(cc->tc, key, e, INT64_MAX, entry_free);
}

const struct cert_info *
certcache_get(struct certcache *cc, const uint8_t *der, size_t len,
    const struct ca_store *cas, const char **why, bool *hit)
{
	const struct cert_info *ci;
	const struct entry *e;
	const char *w = NULL;
	bool temporary = false;
	uint64_t gen = ca_store_gen(cas);
	uint8_t key[32];

	if (hit != NULL)
		*hit = false;
	if (cc->tc == NULL || der == NULL || len == 0 || len > CERT_DER_MAX) {
		cc->misses++;
		return (cert_analyze(der, len, cas, why));
	}
	if (crypto_sha256(der, len, key) != 0) {
		cc->misses++;
		if (why != NULL)
			*why = "digest failed";
		return (NULL);
	}
	e = tokcache_get(cc->tc, key, 0);
	if (e != NULL && e->gen == gen) {
		cc->hits++;
		if (hit != NULL)
			*hit = true;
		if (e->ci == NULL) {
			if (why != NULL)
				*why = e->why;
			return (NULL);
		}
		return (cert_info_ref(e->ci));
	}
	/* Absent, or made with another store (replaced below). */
	cc->misses++;
	ci = cert_analyze_ex(der, len, cas, &w, &temporary);
	/* Cache refusals too, but not a failure that says nothing about the
	 * certificate (memory ran out): the next request analyses again. */
	if (ci != NULL || !temporary)
		remember(cc, key, gen, ci, w);
	if (ci == NULL && why != NULL)
		*why = w;
	return (ci);
}

void
certcache_stats(const struct certcache *cc, struct certcache_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (cc == NULL)
		return;
	out->hits = cc->hits;
	out->misses = cc->misses;
	out->evictions = tokcache_evictions(cc->tc);
	out->entries = tokcache_count(cc->tc);
}

void
certcache_free(struct certcache *cc)
{
	if (cc == NULL)
		return;
	tokcache_free(cc->tc);
	free(cc);
}
