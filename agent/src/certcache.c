/*
 * certcache.c: see certcache.h.
 *
 * Layout (as tokcache.c): a slot array of at most ${max} entries, grown
 * geometrically as it fills, and a power-of-two bucket array of chains of
 * slot indexes.  SHA-256 outputs are uniform, so the first 8 bytes of the
 * key pick the bucket.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cert.h"
#include "util.h"
#include "certcache.h"

#define NIL UINT32_MAX

struct slot {
	uint8_t key[32];
	uint64_t gen;                   /* ca_store_gen() at analysis */
	const struct cert_info *ci;     /* NULL: analysis failed, see why */
	const char *why;
	uint32_t next;                  /* chain in the bucket, or free list */
	bool used;
	bool ref;                       /* CLOCK: used since the hand passed */
};

struct certcache {
	struct slot *slots;
	uint32_t max, nslots, cap, count, hand, free_head;
	uint32_t *buckets;
	uint32_t mask;
	uint64_t hits, misses, evictions;
};

static uint32_t
bucket_of(const struct certcache *cc, const uint8_t key[32])
{
	uint64_t h;

	memcpy(&h, key, sizeof(h));
	return ((uint32_t)(h ^ (h >> 32)) & cc->mask);
}

struct certcache *
certcache_new(uint32_t max)
{
	struct certcache *cc;
	uint32_t nb = 16;

	if ((cc = calloc(1, sizeof(*cc))) == NULL)
		return (NULL);
	cc->max = max;
	cc->free_head = NIL;
	if (max == 0)
		return (cc);
	while (nb < max && nb < (1u << 30))
		nb <<= 1;
	if ((cc->buckets = malloc(sizeof(*cc->buckets) * nb)) == NULL) {
		free(cc);
		return (NULL);
	}
	for (uint32_t i = 0; i < nb; i++)
		cc->buckets[i] = NIL;
	cc->mask = nb - 1;
	return (cc);
}

static uint32_t
find(const struct certcache *cc, const uint8_t key[32])
{
	uint32_t i = cc->buckets[bucket_of(cc, key)];

	while (i != NIL && memcmp(cc->slots[i].key, key, 32) != 0)
		i = cc->slots[i].next;
	return (i);
}

/* Unlink slot ${i} from its chain, release its value, free the slot. */
static void
drop(struct certcache *cc, uint32_t i)
{
	struct slot *s = &cc->slots[i];
	uint32_t *p = &cc->buckets[bucket_of(cc, s->key)];

	while (*p != i)
		p = &cc->slots[*p].next;
	*p = s->next;
	cert_info_unref(s->ci);
	s->ci = NULL;
	s->used = false;
	s->next = cc->free_head;
	cc->free_head = i;
	cc->count--;
}

/* A free slot: from the free list, a new one, or the CLOCK victim. */
static uint32_t
take_slot(struct certcache *cc)
{
	uint32_t i;

	if (cc->free_head == NIL && cc->nslots < cc->max) {
		if (cc->nslots == cc->cap) {
			uint32_t ncap = cc->cap ? cc->cap * 2 : 64;
			struct slot *n;

			if (ncap > cc->max)
				ncap = cc->max;
			if ((n = realloc(cc->slots, sizeof(*n) * ncap)) == NULL)
				return (NIL);
			cc->slots = n;
			cc->cap = ncap;
		}
		cc->slots[cc->nslots].used = false;
		return (cc->nslots++);
	}
	if (cc->free_head == NIL) {
		/* Full: every slot is used; some has ref clear by round 2. */
		for (;;) {
			struct slot *s = &cc->slots[cc->hand];

			i = cc->hand;
			cc->hand = (cc->hand + 1) % cc->nslots;
			if (s->ref) {
				s->ref = false;
				continue;
			}
			drop(cc, i);
			cc->evictions++;
			break;
		}
	}
	i = cc->free_head;
	cc->free_head = cc->slots[i].next;
	return (i);
}

const struct cert_info *
certcache_get(struct certcache *cc, const uint8_t *der, size_t len,
    const struct ca_store *cas, const char **why)
{
	const struct cert_info *ci;
	const char *w = NULL;
	bool temporary = false;
	uint64_t gen = ca_store_gen(cas);
	uint8_t key[32];
	struct slot *s;
	uint32_t i, b;

	if (cc->max == 0 || der == NULL || len == 0 || len > CERT_DER_MAX) {
		cc->misses++;
		return (cert_analyze(der, len, cas, why));
	}
	if (cert_sha256(der, len, key) != 0) {
		if (why != NULL)
			*why = "digest failed";
		return (NULL);
	}
	i = find(cc, key);
	if (i != NIL && cc->slots[i].gen == gen) {
		s = &cc->slots[i];
		s->ref = true;
		cc->hits++;
		if (s->ci == NULL) {
			if (why != NULL)
				*why = s->why;
			return (NULL);
		}
		return (cert_info_ref(s->ci));
	}
	cc->misses++;
	ci = cert_analyze_ex(der, len, cas, &w, &temporary);
	if (i != NIL)
		drop(cc, i);    /* made with another store */
	/* Cache refusals too, but not a failure that says nothing about the
	 * certificate (memory ran out): the next request analyses again. */
	if ((ci != NULL || !temporary) && (i = take_slot(cc)) != NIL) {
		s = &cc->slots[i];
		memcpy(s->key, key, 32);
		s->gen = gen;
		s->ci = ci != NULL ? cert_info_ref(ci) : NULL;
		s->why = w;
		s->used = true;
		s->ref = false;
		b = bucket_of(cc, key);
		s->next = cc->buckets[b];
		cc->buckets[b] = i;
		cc->count++;
	}
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
	out->evictions = cc->evictions;
	out->entries = cc->count;
}

void
certcache_free(struct certcache *cc)
{
	if (cc == NULL)
		return;
	for (uint32_t i = 0; i < cc->nslots; i++)
		if (cc->slots[i].used)
			cert_info_unref(cc->slots[i].ci);
	free(cc->slots);
	free(cc->buckets);
	free(cc);
}
