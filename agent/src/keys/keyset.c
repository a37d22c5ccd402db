/*
 * keyset.c: see keyset.h.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "keyset.h"

/* Immutable once returned; shared between threads by reference. */
struct keyset {
	struct jwk *keys;
	size_t n;
	atomic_uint refs;
};

void
keyset_key_clear(struct jwk *k)
{
	free(k->kid);
	free(k->issuer);
	crypto_key_free(k->key);
	memset(k, 0, sizeof(*k));
}

static void
keyset_free(struct keyset *ks)
{
	if (ks == NULL)
		return;
	for (size_t i = 0; i < ks->n; i++)
		keyset_key_clear(&ks->keys[i]);
	free(ks->keys);
	free(ks);
}

struct keyset *
keyset_new(struct jwk *keys, size_t n)
{
	struct keyset *ks = calloc(1, sizeof(*ks));

	if (ks == NULL) {
		for (size_t i = 0; i < n; i++)
			keyset_key_clear(&keys[i]);
		free(keys);
		return (NULL);
	}
	ks->keys = keys;
	ks->n = n;
	atomic_init(&ks->refs, 1);
	return (ks);
}

struct keyset *
keyset_hmac(const uint8_t *secret, size_t len, const char **why)
{
	struct jwk *k = calloc(1, sizeof(*k));
	struct keyset *ks;

	if (k == NULL) {
		*why = "out of memory";
		return (NULL);
	}
	if ((k->key = crypto_key_hmac(secret, len, why)) == NULL) {
		free(k);
		return (NULL);
	}
	k->algs = crypto_key_algs(k->key);
	crypto_key_fingerprint(k->key, k->fp);
	if ((ks = keyset_new(k, 1)) == NULL)
		*why = "out of memory";
	return (ks);
}

size_t
keyset_count(const struct keyset *ks)
{
	return (ks->n);
}

const struct jwk *
keyset_key(const struct keyset *ks, size_t i)
{
	SPOA_ASSERT(i < ks->n);
	return (&ks->keys[i]);
}

const struct jwk *
keyset_find(const struct keyset *ks, const char *kid, size_t kid_len)
{
	if (ks == NULL)
		return (NULL);
	for (size_t i = 0; i < ks->n; i++) {
		const struct jwk *k = &ks->keys[i];

		if (kid == NULL) {
			if (k->kid == NULL)
				return (k);
			continue;
		}
		if (k->kid != NULL && k->kid_len == kid_len &&
		    memcmp(k->kid, kid, kid_len) == 0)
			return (k);
	}
	return (NULL);
}

bool
keyset_key_same(const struct jwk *a, const struct jwk *b)
{
	return (memcmp(a->fp, b->fp, sizeof(a->fp)) == 0 &&
	    a->algs == b->algs && util_streq(a->issuer, b->issuer));
}

bool
keyset_equal(const struct keyset *a, const struct keyset *b)
{
	if (a == NULL || b == NULL || a->n != b->n)
		return (false);
	for (size_t i = 0; i < a->n; i++) {
		const struct jwk *x = &a->keys[i];
		bool found = false;

		for (size_t j = 0; j < b->n && !found; j++) {
			const struct jwk *y = &b->keys[j];

			found = keyset_key_same(x, y) &&
			    x->kid_len == y->kid_len && (x->kid_len == 0 ||
			    memcmp(x->kid, y->kid, x->kid_len) == 0);
		}
		if (!found)
			return (false);
	}
	return (true);
}

struct keyset *
keyset_ref(struct keyset *ks)
{
	atomic_fetch_add_explicit(&ks->refs, 1, memory_order_relaxed);
	return (ks);
}

void
keyset_unref(struct keyset *ks)
{
	if (ks == NULL)
		return;
	if (atomic_fetch_sub_explicit(&ks->refs, 1, memory_order_acq_rel) == 1)
		keyset_free(ks);
}
