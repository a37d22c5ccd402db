/*
 * test_certcache.c: the per-worker analysed-certificate cache: hits do not
 * re-parse, entries are bounded with CLOCK eviction, a new CA store is a
 * miss, refusals are cached, references outlive eviction, max 0 is off.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testsupport.h"
#include "testpki.h"

#include "cert.h"
#include "certcache.h"

static const char *const names[] = {
	"client-valid.pem", "client-spiffe.pem", "client-revoked.pem",
	"client-expired.pem", "client-future.pem", "client-foreign.pem",
	"int.pem", "ca.pem", "server.crt", "foreign-ca.pem",
};
#define NCERTS (sizeof(names) / sizeof(names[0]))

static uint8_t *der[NCERTS];
static size_t len[NCERTS];
static struct ca_store *cas;

static int
setup(void **state)
{
	if (pki_setup(state) != 0)
		return (-1);
	for (size_t i = 0; i < NCERTS; i++)
		der[i] = pki_der(names[i], &len[i]);
	cas = pki_client_cas();
	return (cas == NULL ? -1 : 0);
}

static int
teardown(void **state)
{
	for (size_t i = 0; i < NCERTS; i++)
		free(der[i]);
	ca_store_free(cas);
	return (pki_teardown(state));
}

static struct certcache_stats
stats(const struct certcache *cc)
{
	struct certcache_stats st;

	certcache_stats(cc, &st);
	return (st);
}

static const struct cert_info *
get(struct certcache *cc, size_t i, const struct ca_store *store)
{
	const char *why = NULL;
	const struct cert_info *ci = certcache_get(cc, der[i], len[i], store,
	    &why, NULL);

	if (ci == NULL)
		fail_msg("%s: %s", names[i], why);
	return (ci);
}

static void
test_hit(void **state)
{
	struct certcache *cc = certcache_new(16);
	const struct cert_info *a, *b, *c;
	uint8_t *copy;
	bool hit = true;

	(void)state;
	assert_non_null(cc);
	a = certcache_get(cc, der[0], len[0], cas, NULL, &hit);
	assert_non_null(a);
	assert_false(hit);
	assert_int_equal(stats(cc).misses, 1);
	assert_int_equal(stats(cc).hits, 0);
	/* The same bytes from another buffer: a hit, the same object. */
	copy = malloc(len[0]);
	memcpy(copy, der[0], len[0]);
	b = certcache_get(cc, copy, len[0], cas, NULL, &hit);
	free(copy);
	assert_true(hit);
	assert_ptr_equal(a, b);
	assert_int_equal(stats(cc).misses, 1);
	assert_int_equal(stats(cc).hits, 1);
	assert_string_equal(b->cn, "client-valid");
	/* Different DER, different entry. */
	c = get(cc, 1, cas);
	assert_ptr_not_equal(a, c);
	assert_string_equal(c->cn, "orders-workload");
	assert_int_equal(stats(cc).misses, 2);
	assert_int_equal(stats(cc).entries, 2);
	cert_info_unref(a);
	cert_info_unref(b);
	cert_info_unref(c);
	/* 1000 more lookups: no parse. */
	for (int i = 0; i < 1000; i++)
		cert_info_unref(get(cc, (size_t)i % 2, cas));
	assert_int_equal(stats(cc).misses, 2);
	assert_int_equal(stats(cc).hits, 1001);
	certcache_free(cc);
	certcache_free(NULL);
}

static void
test_eviction(void **state)
{
	struct certcache *cc = certcache_new(4);
	const struct cert_info *held;

	(void)state;
	/* A reference the caller keeps survives eviction. */
	held = get(cc, 0, cas);
	for (size_t i = 0; i < NCERTS; i++) {
		cert_info_unref(get(cc, i, cas));
		assert_true(stats(cc).entries <= 4);
	}
	assert_int_equal(stats(cc).misses, NCERTS);
	assert_int_equal(stats(cc).hits, 1);
	assert_int_equal(stats(cc).evictions, NCERTS - 4);
	assert_int_equal(stats(cc).entries, 4);
	assert_string_equal(held->cn, "client-valid");
	assert_string_equal(held->dns[0], "client-valid.example.org");
	cert_info_unref(held);
	/* Again over the set: at most the 4 kept ones hit. */
	for (size_t i = 0; i < NCERTS; i++)
		cert_info_unref(get(cc, i, cas));
	assert_true(stats(cc).misses >= 2 * NCERTS - 4);
	assert_int_equal(stats(cc).entries, 4);
	certcache_free(cc);
}

static void
test_clock(void **state)
{
	struct certcache *cc = certcache_new(2);

	(void)state;
	cert_info_unref(get(cc, 0, cas));       /* A */
	cert_info_unref(get(cc, 1, cas));       /* B */
	cert_info_unref(get(cc, 0, cas));       /* A used again */
	cert_info_unref(get(cc, 2, cas));       /* C: evicts B, not A */
	assert_int_equal(stats(cc).misses, 3);
	cert_info_unref(get(cc, 0, cas));
	assert_int_equal(stats(cc).misses, 3);  /* A: still there */
	cert_info_unref(get(cc, 1, cas));
	assert_int_equal(stats(cc).misses, 4);  /* B: gone */
	assert_int_equal(stats(cc).entries, 2);
	certcache_free(cc);
}

static void
test_store_generation(void **state)
{
	struct certcache *cc = certcache_new(16);
	struct ca_store *reloaded;
	const struct cert_info *a, *b, *c, *d;

	(void)state;
	reloaded = pki_client_cas();
	assert_non_null(reloaded);
	a = get(cc, 0, NULL);
	assert_false(a->has_issuer_sha256);
	b = get(cc, 0, cas);
	assert_ptr_not_equal(a, b);
	assert_true(b->has_issuer_sha256);
	assert_int_equal(b->ca_gen, ca_store_gen(cas));
	c = get(cc, 0, reloaded);
	assert_ptr_not_equal(b, c);
	assert_int_equal(c->ca_gen, ca_store_gen(reloaded));
	assert_int_equal(stats(cc).misses, 3);
	assert_int_equal(stats(cc).entries, 1);
	d = get(cc, 0, reloaded);
	assert_ptr_equal(c, d);
	assert_int_equal(stats(cc).hits, 1);
	/* The old objects are still valid for whoever holds them. */
	assert_memory_equal(a->sha256, d->sha256, 32);
	assert_memory_equal(b->issuer_sha256, d->issuer_sha256, 32);
	cert_info_unref(a);
	cert_info_unref(b);
	cert_info_unref(c);
	cert_info_unref(d);
	certcache_free(cc);
	ca_store_free(reloaded);
}

static void
test_refusals(void **state)
{
	struct certcache *cc = certcache_new(16);
	uint8_t *bad = malloc(len[0] + 1);
	const char *why = NULL, *why2 = NULL;

	(void)state;
	memcpy(bad, der[0], len[0]);
	bad[len[0]] = 0;
	assert_null(certcache_get(cc, bad, len[0] + 1, cas, &why, NULL));
	assert_string_equal(why, "trailing bytes after the certificate");
	assert_null(certcache_get(cc, bad, len[0] + 1, cas, &why2, NULL));
	assert_ptr_equal(why, why2);
	assert_int_equal(stats(cc).misses, 1);
	assert_int_equal(stats(cc).hits, 1);
	assert_null(certcache_get(cc, bad, len[0] + 1, cas, NULL, NULL));
	/* Bounds are checked before hashing, not cached. */
	why = NULL;
	assert_null(certcache_get(cc, NULL, 0, cas, &why, NULL));
	assert_string_equal(why, "empty certificate");
	assert_null(certcache_get(cc, bad, CERT_DER_MAX + 1, cas, &why, NULL));
	assert_string_equal(why, "certificate larger than 64 KiB");
	assert_int_equal(stats(cc).entries, 1);
	free(bad);
	certcache_free(cc);
}

static void
test_off(void **state)
{
	struct certcache *cc = certcache_new(0);
	const struct cert_info *a, *b;
	const char *why = NULL;

	(void)state;
	assert_non_null(cc);
	a = get(cc, 0, cas);
	b = get(cc, 0, cas);
	assert_ptr_not_equal(a, b);
	assert_memory_equal(a->sha256, b->sha256, 32);
	assert_int_equal(stats(cc).misses, 2);
	assert_int_equal(stats(cc).hits, 0);
	assert_int_equal(stats(cc).entries, 0);
	cert_info_unref(a);
	cert_info_unref(b);
	assert_null(certcache_get(cc, der[0], len[0] - 1, cas, &why, NULL));
	assert_string_equal(why, "not a DER-encoded X.509 certificate");
	certcache_free(cc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hit),
		cmocka_unit_test(test_eviction),
		cmocka_unit_test(test_clock),
		cmocka_unit_test(test_store_generation),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_off),
	};

	return (cmocka_run_group_tests(tests, setup, teardown));
}
