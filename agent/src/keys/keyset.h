/*
 * keyset.h: immutable, reference-counted sets of verification keys (one
 * issuer's keys: a JWK Set parsed by jwks.c, or its HMAC secret).
 *
 * A set is built once (keyset_new(), keyset_hmac()) and never changed
 * after: any thread may read it and take or drop references.  Its fields
 * are private; callers read the keys through keyset_count() and
 * keyset_key(), or look one up with keyset_find().
 */
#ifndef SPOA_KEYSET_H
#define SPOA_KEYSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto.h"

/* One verification key of a set. */
struct jwk {
	char *kid;		/* NUL-terminated; NULL if absent */
	size_t kid_len;
	char *issuer;		/* Entra per-key "issuer"; NULL if absent */
	uint32_t algs;		/* JWS_ALG_BIT set this key may verify */
	struct crypto_key *key;
	uint8_t fp[32];		/* crypto_key_fingerprint() */
};

struct keyset;

/*
 * keyset_new(keys, n):
 * A set of the ${n} keys of the array ${keys} (malloc'd; the set takes it
 * and the keys in it, whatever the result), with one reference.  NULL on
 * allocation failure (the keys are then released).
 */
struct keyset *keyset_new(struct jwk *keys, size_t n);

/*
 * keyset_hmac(secret, len, why):
 * Make a one-key set (kid NULL, issuer NULL) for an issuer's HMAC
 * ${secret} of ${len} bytes (copied; see crypto_key_hmac()).  Return the
 * set with one reference, or NULL and a constant reason in *${why}.
 */
struct keyset *keyset_hmac(const uint8_t *secret, size_t len,
    const char **why);

/* keyset_count(ks): the number of keys of ${ks} (at least 1). */
size_t keyset_count(const struct keyset *ks);

/*
 * keyset_key(ks, i):
 * Key ${i} (< keyset_count()) of ${ks}, in the order of its document.
 * It lives as long as the caller's reference on ${ks}.
 */
const struct jwk *keyset_key(const struct keyset *ks, size_t i);

/*
 * keyset_find(ks, kid, kid_len):
 * The key of ${ks} whose kid is exactly the ${kid_len} bytes at ${kid}, or
 * NULL.  A NULL ${kid} finds only a key without kid (the HMAC set).  A
 * NULL ${ks} finds nothing.  The result lives as long as the caller's
 * reference on ${ks}.
 */
const struct jwk *keyset_find(const struct keyset *ks, const char *kid,
    size_t kid_len);

/*
 * keyset_key_same(a, b):
 * True if keys ${a} and ${b} are the same key for the same algorithms and
 * issuer scoping (their kids are not compared).
 */
bool keyset_key_same(const struct jwk *a, const struct jwk *b);

/*
 * keyset_equal(a, b):
 * True if ${a} and ${b} (neither NULL) hold the same keys, in any order:
 * same public key, kid, allowed algorithms and issuer scoping.  A refetch
 * that changes nothing then publishes nothing.  O(n^2), n <= 256.
 */
bool keyset_equal(const struct keyset *a, const struct keyset *b);

/* keyset_ref(ks): take one more reference on ${ks}; returns ${ks}. */
struct keyset *keyset_ref(struct keyset *ks);

/*
 * keyset_unref(ks):
 * Drop one reference; the last one frees the set and its keys.  NULL is a
 * no-op.  Any thread may drop the last reference.
 */
void keyset_unref(struct keyset *ks);

/*
 * keyset_key_clear(k):
 * Release what ${k} holds (kid, issuer, key) and zero it; a zeroed key is
 * a no-op.
 */
void keyset_key_clear(struct jwk *k);

#endif /* !SPOA_KEYSET_H */
