/*
 * tokcache.c: see tokcache.h.
 *
 * Layout: a slot array of at most ${max} entries, allocated as it fills,
 * and a power-of-two bucket array of chains (slot indexes).  SHA-256
 * outputs are uniform, so the first 8 bytes of the key pick the bucket.
 */
#include <stdlib.h>
#include <string.h>

#include "tokcache.h"

#define NIL UINT32_MAX

struct slot {
	uint8_t key[32];
	uint32_t next;          /* chain in the bucket, or free list */
	bool used;
	bool ref;               /* CLOCK: used since the hand last passed */
	int64_t expires;
	void *val;
	tokcache_free_fn *free_fn;
	void *att;              /* attachment (tokcache_attach()), or NULL */
};

struct tokcache {
	struct slot *slots;
	uint32_t max, nslots, cap, count, hand, free_head;	/* cap: slots allocated */
	uint32_t *buckets;
	uint32_t mask;
	uint64_t evictions;
	tokcache_free_fn *att_free;     /* of every attachment */
};

static uint32_t
bucket_of(const struct tokcache *tc, const uint8_t key[32])
{
	uint64_t h;

	memcpy(&h, key, sizeof(h));
	return ((uint32_t)(h ^ (h >> 32)) & tc->mask);
}

struct tokcache *
tokcache_new(uint32_t max)
{
	struct tokcache *tc;
	uint32_t nb = 16;

	if (max == 0)
		return (NULL);
	while (nb < max && nb < (1u << 30))
		nb <<= 1;
	tc = calloc(1, sizeof(*tc));
	if (tc == NULL)
		return (NULL);
	tc->buckets = malloc(sizeof(*tc->buckets) * nb);
	if (tc->buckets == NULL) {
		free(tc);
		return (NULL);
	}
	for (uint32_t i = 0; i < nb; i++)
		tc->buckets[i] = NIL;
	tc->mask = nb - 1;
	tc->max = max;
	tc->free_head = NIL;
	return (tc);
}

/* Unlink slot ${i} from its chain and release its value. */
static void
drop(struct tokcache *tc, uint32_t i)
{
	struct slot *s = &tc->slots[i];
	uint32_t *p = &tc->buckets[bucket_of(tc, s->key)];

	while (*p != i)
		p = &tc->slots[*p].next;
	*p = s->next;
	if (s->free_fn != NULL)
		s->free_fn(s->val);
	if (s->att != NULL)
		tc->att_free(s->att);
	s->used = false;
	s->val = NULL;
	s->att = NULL;
	s->next = tc->free_head;
	tc->free_head = i;
	tc->count--;
}

static uint32_t
find(const struct tokcache *tc, const uint8_t key[32])
{
	uint32_t i = tc->buckets[bucket_of(tc, key)];

	while (i != NIL && memcmp(tc->slots[i].key, key, 32) != 0)
		i = tc->slots[i].next;
	return (i);
}

void *
tokcache_get_att(struct tokcache *tc, const uint8_t key[32], int64_t now,
    void **att)
{
	uint32_t i;

	if (att != NULL)
		*att = NULL;
	if (tc == NULL)
		return (NULL);
	i = find(tc, key);
	if (i == NIL)
		return (NULL);
	if (now >= tc->slots[i].expires) {
		drop(tc, i);
		return (NULL);
	}
	tc->slots[i].ref = true;
	if (att != NULL)
		*att = tc->slots[i].att;
	return (tc->slots[i].val);
}

void *
tokcache_get(struct tokcache *tc, const uint8_t key[32], int64_t now)
{
	return (tokcache_get_att(tc, key, now, NULL));
}

int
tokcache_attach(struct tokcache *tc, const uint8_t key[32], void *att,
    tokcache_free_fn *free_fn)
{
	uint32_t i;

	if (tc == NULL || (i = find(tc, key)) == NIL) {
		free_fn(att);
		return (-1);
	}
	tc->att_free = free_fn;
	if (tc->slots[i].att != NULL && tc->slots[i].att != att)
		free_fn(tc->slots[i].att);
	tc->slots[i].att = att;
	return (0);
}

/* A free slot: from the free list, a new one, or the CLOCK victim. */
static uint32_t
take_slot(struct tokcache *tc)
{
	uint32_t i;

	if (tc->free_head != NIL) {
		i = tc->free_head;
		tc->free_head = tc->slots[i].next;
		return (i);
	}
	if (tc->nslots < tc->max) {
		if (tc->nslots == tc->cap) {
			/* Grow geometrically up to max. */
			uint32_t ncap = tc->cap > tc->max / 2 ? tc->max :
			    tc->cap != 0 ? tc->cap * 2 : 64;
			struct slot *n;

			if (ncap > tc->max)
				ncap = tc->max;
			if ((n = realloc(tc->slots, sizeof(*n) * ncap)) == NULL)
				return (NIL);
			tc->slots = n;
			tc->cap = ncap;
		}
		return (tc->nslots++);
	}
	for (;;) {
		struct slot *s = &tc->slots[tc->hand];
		i = tc->hand;
		tc->hand = (tc->hand + 1) % tc->nslots;
		if (s->used && s->ref) {
			s->ref = false;
			continue;
		}
		if (s->used) {
			drop(tc, i);
			tc->evictions++;
			tc->free_head = tc->slots[i].next;  /* take it back */
		}
		return (i);
	}
}

int
tokcache_put(struct tokcache *tc, const uint8_t key[32], void *val,
    int64_t expires, tokcache_free_fn *free_fn)
{
	uint32_t i, b;

	if (tc == NULL) {
		if (free_fn != NULL)
			free_fn(val);
		return (-1);
	}
	i = find(tc, key);
	if (i != NIL)
		drop(tc, i);
	i = take_slot(tc);
	if (i == NIL) {
		if (free_fn != NULL)
			free_fn(val);
		return (-1);
	}
	struct slot *s = &tc->slots[i];
	memcpy(s->key, key, 32);
	s->used = true;
	s->ref = false;
	s->expires = expires;
	s->val = val;
	s->free_fn = free_fn;
	s->att = NULL;
	b = bucket_of(tc, key);
	s->next = tc->buckets[b];
	tc->buckets[b] = i;
	tc->count++;
	return (0);
}

void
tokcache_sweep(struct tokcache *tc, tokcache_keep_fn *keep, void *arg)
{
	if (tc == NULL)
		return;
	for (uint32_t i = 0; i < tc->nslots; i++)
		if (tc->slots[i].used && !keep(tc->slots[i].val, arg))
			drop(tc, i);
}

size_t
tokcache_count(const struct tokcache *tc)
{
	return (tc == NULL ? 0 : tc->count);
}

uint64_t
tokcache_evictions(const struct tokcache *tc)
{
	return (tc == NULL ? 0 : tc->evictions);
}

void
tokcache_free(struct tokcache *tc)
{
	if (tc == NULL)
		return;
	for (uint32_t i = 0; i < tc->nslots; i++) {
		if (tc->slots[i].used && tc->slots[i].free_fn != NULL)
			tc->slots[i].free_fn(tc->slots[i].val);
		if (tc->slots[i].used && tc->slots[i].att != NULL)
			tc->att_free(tc->slots[i].att);
	}
	free(tc->slots);
	free(tc->buckets);
	free(tc);
}
