/*
 * test_keyset.c: key sets (keys/keyset.c): building one from keys, the
 * HMAC set, lookups by kid, equality, and references.  Key sets parsed
 * from JWK Set documents are test_jwks.c's.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "crypto.h"
#include "jwa.h"
#include "keyset.h"
#include "testsupport.h"

/* An HMAC key of 32 bytes of ${fill}, with ${kid} (or none) and ${algs}. */
static struct jwk
hmac_key(uint8_t fill, const char *kid, uint32_t algs)
{
	uint8_t secret[32];
	const char *why = NULL;
	struct jwk k;

	memset(&k, 0, sizeof(k));
	memset(secret, fill, sizeof(secret));
	k.key = crypto_key_hmac(secret, sizeof(secret), &why);
	assert_non_null(k.key);
	crypto_key_fingerprint(k.key, k.fp);
	k.algs = algs;
	if (kid != NULL) {
		k.kid_len = strlen(kid);
		assert_non_null(k.kid = strdup(kid));
	}
	return (k);
}

/* A set of ${n} keys: ${fills}[i] with ${kids}[i]. */
static struct keyset *
make_set(size_t n, const uint8_t *fills, const char *const *kids)
{
	struct jwk *keys = calloc(n, sizeof(*keys));
	struct keyset *ks;

	assert_non_null(keys);
	for (size_t i = 0; i < n; i++)
		keys[i] = hmac_key(fills[i], kids[i], JWS_ALG_BIT(JWS_ALG_HS256));
	assert_non_null(ks = keyset_new(keys, n));
	return (ks);
}

static void
test_new_and_find(void **state)
{
	static const uint8_t fills[] = { 1, 2, 3 };
	static const char *const kids[] = { "abc", "ab", NULL };
	struct keyset *ks;
	const struct jwk *k;

	(void)state;
	ks = make_set(3, fills, kids);
	assert_int_equal(keyset_count(ks), 3);
	/* The document's order. */
	assert_string_equal(keyset_key(ks, 0)->kid, "abc");
	assert_string_equal(keyset_key(ks, 1)->kid, "ab");
	assert_null(keyset_key(ks, 2)->kid);
	/* By kid: exact bytes and length; NULL finds the key without. */
	assert_ptr_equal(keyset_find(ks, "abc", 3), keyset_key(ks, 0));
	assert_ptr_equal(keyset_find(ks, "ab", 2), keyset_key(ks, 1));
	assert_ptr_equal(keyset_find(ks, "abcd", 3), keyset_key(ks, 0));
	assert_null(keyset_find(ks, "abcd", 4));
	assert_null(keyset_find(ks, "a", 1));
	assert_ptr_equal(keyset_find(ks, NULL, 0), keyset_key(ks, 2));
	assert_null(keyset_find(NULL, "abc", 3));
	k = keyset_key(ks, 1);
	assert_true(keyset_key_same(k, k));
	assert_false(keyset_key_same(keyset_key(ks, 0), k));
	keyset_unref(ks);
}

static void
test_equal(void **state)
{
	static const uint8_t f1[] = { 1, 2 }, f2[] = { 2, 1 }, f3[] = { 1, 3 };
	static const char *const k1[] = { "a", "b" };
	static const char *const k2[] = { "b", "a" };
	static const char *const k3[] = { "a", "c" };
	struct keyset *a = make_set(2, f1, k1);
	struct keyset *b = make_set(2, f2, k2);     /* same keys, other order */
	struct keyset *c = make_set(2, f3, k1);     /* another key */
	struct keyset *d = make_set(2, f1, k3);     /* another kid */
	struct keyset *e = make_set(1, f1, k1);     /* fewer keys */

	(void)state;
	assert_true(keyset_equal(a, a));
	assert_true(keyset_equal(a, b));
	assert_true(keyset_equal(b, a));
	assert_false(keyset_equal(a, c));
	assert_false(keyset_equal(a, d));
	assert_false(keyset_equal(a, e));
	assert_false(keyset_equal(e, a));
	assert_false(keyset_equal(a, NULL));
	assert_false(keyset_equal(NULL, a));
	keyset_unref(a);
	keyset_unref(b);
	keyset_unref(c);
	keyset_unref(d);
	keyset_unref(e);
}

/* References: the last unref frees (the ASan tree reports a use after
 * free or a leak if the count is wrong). */
static void
test_refcount(void **state)
{
	static const uint8_t fills[] = { 7 };
	static const char *const kids[] = { "kept" };
	struct keyset *ks;

	(void)state;
	ks = make_set(1, fills, kids);
	assert_ptr_equal(keyset_ref(ks), ks);
	assert_ptr_equal(keyset_ref(ks), ks);
	keyset_unref(ks);
	keyset_unref(ks);
	/* One reference left: the set and its key are whole. */
	assert_int_equal(keyset_count(ks), 1);
	assert_string_equal(keyset_find(ks, "kept", 4)->kid, "kept");
	keyset_unref(ks);	/* freed: ASan reports any use after this */
	keyset_unref(NULL);
}

static void
test_hmac_set(void **state)
{
	uint8_t s[64], tag[64];
	struct keyset *ks;
	const struct jwk *k;
	const char *why = NULL;
	unsigned int tl;

	(void)state;
	memset(s, 0x42, sizeof(s));
	ks = keyset_hmac(s, 32, &why);
	assert_non_null(ks);
	assert_int_equal(keyset_count(ks), 1);
	k = keyset_find(ks, NULL, 0);
	assert_ptr_equal(k, keyset_key(ks, 0));
	assert_null(k->kid);
	assert_null(k->issuer);
	assert_int_equal(k->algs, JWS_ALG_BIT(JWS_ALG_HS256));
	assert_null(keyset_find(ks, "k", 1));
	assert_non_null(HMAC(EVP_sha256(), s, 32, (const uint8_t *)"a.b", 3,
	    tag, &tl));
	assert_int_equal(crypto_verify(k->key, JWS_ALG_HS256,
	    (const uint8_t *)"a.b", 3, tag, 32), 0);
	keyset_unref(ks);

	ks = keyset_hmac(s, 64, &why);
	assert_int_equal(keyset_key(ks, 0)->algs, JWS_ALG_HMAC_MASK);
	keyset_unref(ks);
	assert_null(keyset_hmac(s, 31, &why));
	assert_string_equal(why, "HMAC secret shorter than 32 bytes");
	assert_null(keyset_hmac(s, 0, &why));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_and_find),
		cmocka_unit_test(test_equal),
		cmocka_unit_test(test_refcount),
		cmocka_unit_test(test_hmac_set),
	};
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
