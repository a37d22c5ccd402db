/*
 * test_cert_alloc.c: allocation failures in certificate analysis, and
 * allocations on the request path.
 *
 * The program is linked with -Wl,--wrap=malloc,--wrap=calloc,
 * --wrap=realloc,--wrap=strdup (see tests/CMakeLists.txt): those calls
 * from the agent's code come here first.  OpenSSL's own allocations come
 * here through CRYPTO_set_mem_functions(), set before OpenSSL allocates
 * anything.  So a test can make the k-th allocation of a call fail, wherever
 * it is, or count them.
 *
 * - Failing each allocation of certcache_get() in turn: the answer is
 *   either the right analysis (a failure OpenSSL got over) or NULL with
 *   cert_analyze_ex() saying "temporary", and then nothing is cached and
 *   the next lookup analyses again.  A real refusal is cached.
 * - cert_rule_match() with DN rules allocates nothing.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "testsupport.h"
#include "testpki.h"

#include "cert.h"
#include "certcache.h"
#include "config.h"

/* ---- allocation hooks ---- */

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);

static bool armed;              /* count (and maybe fail) allocations */
static long fail_at = -1;       /* the allocation to fail, -1: none */
static long seen;               /* allocations since arm() */
static bool failed;             /* fail_at was reached */

static void
arm(long k)
{
	fail_at = k;
	seen = 0;
	failed = false;
	armed = true;
}

static void
disarm(void)
{
	armed = false;
}

static bool
refuse(void)
{
	if (!armed)
		return (false);
	if (seen++ == fail_at) {
		failed = true;
		return (true);
	}
	return (false);
}

void *
__wrap_malloc(size_t n)
{
	return (refuse() ? NULL : __real_malloc(n));
}

void *
__wrap_calloc(size_t n, size_t size)
{
	return (refuse() ? NULL : __real_calloc(n, size));
}

void *
__wrap_realloc(void *p, size_t n)
{
	return (refuse() ? NULL : __real_realloc(p, n));
}

char *
__wrap_strdup(const char *s)
{
	return (refuse() ? NULL : __real_strdup(s));
}

static void *
ossl_malloc(size_t n, const char *file, int line)
{
	(void)file;
	(void)line;
	return (refuse() ? NULL : __real_malloc(n));
}

static void *
ossl_realloc(void *p, size_t n, const char *file, int line)
{
	(void)file;
	(void)line;
	return (refuse() ? NULL : __real_realloc(p, n));
}

static void
ossl_free(void *p, const char *file, int line)
{
	(void)file;
	(void)line;
	free(p);
}

/* ---- fixtures ---- */

static struct ca_store *cas;

static int
setup(void **state)
{
	if (pki_setup(state) != 0)
		return (-1);
	cas = pki_client_cas();
	return (cas == NULL ? -1 : 0);
}

static int
teardown(void **state)
{
	ca_store_free(cas);
	return (pki_teardown(state));
}

/* ${text} compiles and matches ${dn}. */
static bool
dn_is(const char *text, const struct cert_dn *dn)
{
	struct cert_dn_rule *r = NULL;
	bool m;

	assert_int_equal(cert_dn_compile(text, &r, NULL), 0);
	m = cert_dn_rule_match(r, dn);
	cert_dn_rule_free(r);
	return (m);
}

static void
same_strv(char *const *a, size_t na, char *const *b, size_t nb)
{
	assert_int_equal(na, nb);
	for (size_t i = 0; i < na; i++)
		assert_string_equal(a[i], b[i]);
}

/* ${ci} is the same analysis as ${ref}, down to the comparable DNs. */
static void
same_as(const struct cert_info *ref, const struct cert_info *ci)
{
	assert_non_null(ci);
	assert_memory_equal(ci->sha256, ref->sha256, 32);
	assert_memory_equal(ci->sha1, ref->sha1, 20);
	assert_string_equal(ci->subject, ref->subject);
	assert_string_equal(ci->issuer, ref->issuer);
	assert_true((ci->cn == NULL) == (ref->cn == NULL));
	if (ref->cn != NULL)
		assert_string_equal(ci->cn, ref->cn);
	assert_string_equal(ci->serial, ref->serial);
	same_strv(ci->dns, ci->ndns, ref->dns, ref->ndns);
	same_strv(ci->uris, ci->nuris, ref->uris, ref->nuris);
	same_strv(ci->emails, ci->nemails, ref->emails, ref->nemails);
	assert_true(ci->not_before == ref->not_before);
	assert_true(ci->not_after == ref->not_after);
	assert_int_equal(ci->has_issuer_sha256, ref->has_issuer_sha256);
	if (ref->has_issuer_sha256)
		assert_memory_equal(ci->issuer_sha256, ref->issuer_sha256, 32);
	assert_true(dn_is(ref->subject, ci->subject_dn));
	assert_true(dn_is(ref->issuer, ci->issuer_dn));
}

/*
 * Fail the k-th allocation of certcache_get() for every k until one runs
 * without reaching it.  Return how many ended in a temporary failure.
 */
static size_t
exhaust(const char *name, const struct ca_store *store)
{
	const struct cert_info *ref, *ci;
	size_t len, ntemp = 0;
	const char *why = NULL;
	uint8_t *der;
	long k;

	der = pki_der(name, &len);
	ref = cert_analyze(der, len, store, &why);   /* also warms OpenSSL up */
	if (ref == NULL)
		fail_msg("%s: %s", name, why);
	if (store != NULL)
		assert_true(ref->has_issuer_sha256);
	for (k = 0;; k++) {
		struct certcache *cc = certcache_new(4);
		struct certcache_stats st;
		bool temporary = false;

		assert_non_null(cc);
		why = NULL;
		arm(k);
		ci = certcache_get(cc, der, len, store, &why, NULL);
		disarm();
		if (!failed) {
			same_as(ref, ci);
			cert_info_unref(ci);
			certcache_free(cc);
			break;
		}
		certcache_stats(cc, &st);
		if (ci == NULL) {
			/* Not the certificate's fault: not remembered. */
			assert_non_null(why);
			if (strcmp(why, "out of memory") != 0 &&
			    strcmp(why, "digest failed") != 0)
				fail_msg("%s: allocation %ld failed, refused "
				    "as \"%s\"", name, k, why);
			assert_int_equal(st.entries, 0);
			/* 0: the cache key's digest failed, before lookup. */
			assert_true(st.misses <= 1);
			ntemp++;
		} else {
			/* OpenSSL got over it: the answer must be whole. */
			same_as(ref, ci);
			cert_info_unref(ci);
		}
		/* With memory back, the next request gets the analysis. */
		ci = certcache_get(cc, der, len, store, &why, NULL);
		same_as(ref, ci);
		cert_info_unref(ci);
		certcache_stats(cc, &st);
		assert_int_equal(st.entries, 1);

		/* The same through cert_analyze_ex(). */
		why = NULL;
		arm(k);
		ci = cert_analyze_ex(der, len, store, &why, &temporary);
		disarm();
		if (ci == NULL) {
			if (!temporary)
				fail_msg("%s: allocation %ld failed, refusal "
				    "\"%s\" not temporary", name, k, why);
		} else {
			same_as(ref, ci);
			cert_info_unref(ci);
		}
		certcache_free(cc);
	}
	cert_info_unref(ref);
	free(der);
	return (ntemp);
}

static void
test_nomem_not_cached(void **state)
{
	(void)state;
	/* client-valid has DNS and email SANs; spiffe a URI; int.pem is a CA
	 * (no store: find_issuer() is not reached). */
	assert_true(exhaust("client-valid.pem", cas) > 20);
	assert_true(exhaust("client-spiffe.pem", cas) > 20);
	assert_true(exhaust("int.pem", NULL) > 20);
}

static void
test_refusal_cached(void **state)
{
	struct certcache *cc = certcache_new(4);
	struct certcache_stats st;
	const char *why = NULL;
	bool temporary = true;
	uint8_t *der, *bad;
	size_t len;

	(void)state;
	assert_non_null(cc);
	der = pki_der("client-valid.pem", &len);
	bad = malloc(len + 1);
	assert_non_null(bad);
	memcpy(bad, der, len);
	bad[len] = 0;

	assert_null(cert_analyze_ex(bad, len + 1, cas, &why, &temporary));
	assert_string_equal(why, "trailing bytes after the certificate");
	assert_false(temporary);

	why = NULL;
	assert_null(certcache_get(cc, bad, len + 1, cas, &why, NULL));
	assert_string_equal(why, "trailing bytes after the certificate");
	certcache_stats(cc, &st);
	assert_int_equal(st.entries, 1);
	assert_int_equal(st.misses, 1);
	/* Answered from the cache, with no allocation at all. */
	why = NULL;
	arm(-1);
	assert_null(certcache_get(cc, bad, len + 1, cas, &why, NULL));
	disarm();
	assert_string_equal(why, "trailing bytes after the certificate");
	certcache_stats(cc, &st);
	assert_int_equal(st.hits, 1);
	assert_int_equal(st.misses, 1);

	certcache_free(cc);
	free(bad);
	free(der);
}

static void
test_rule_match_no_alloc(void **state)
{
	static const char doc[] =
	    "{\"listen\":[\"127.0.0.1:1\"],\"routes\":[{\"name\":\"r\","
	    "\"require\":\"mtls\",\"client_cert\":{"
	    "\"subjects\":[\"CN=other\",\"cn=Client-Valid, OU=orders, "
	    "O=spoa-iam tests\"],"
	    "\"issuers\":[\"CN=spoa-iam test intermediate,O=spoa-iam tests\"],"
	    "\"identities\":[{\"subject\":\"CN=x\"},{\"issuer\":"
	    "\"CN=spoa-iam test intermediate, O=spoa-iam tests\","
	    "\"subject\":\"OU=orders+CN=client-valid,O=spoa-iam tests\"},"
	    "{\"subject\":\"CN=client-valid,OU=orders,O=spoa-iam tests\","
	    "\"issuer\":\"CN=spoa-iam test intermediate,O=spoa-iam tests\"}]"
	    "}}]}";
	struct config_errors e = { NULL, 0 };
	struct config *cfg = NULL;
	const struct cert_info *ci, *other;
	const struct cert_rule *cr;
	const char *why = NULL;
	uint8_t *der;
	size_t len;

	(void)state;
	assert_int_equal(config_parse(doc, sizeof(doc) - 1, NULL, &cfg, &e), 0);
	cr = cfg->routes[0].client_cert;
	assert_non_null(cr);
	der = pki_der("client-valid.pem", &len);
	ci = cert_analyze(der, len, cas, &why);
	assert_non_null(ci);
	free(der);
	der = pki_der("client-spiffe.pem", &len);
	other = cert_analyze(der, len, cas, &why);
	assert_non_null(other);
	free(der);

	arm(-1);
	assert_int_equal(cert_rule_match(cr, ci, &why), 0);
	assert_int_equal(cert_rule_match(cr, other, &why), -1);
	disarm();
	assert_string_equal(why, "subject not allowed");
	assert_int_equal(seen, 0);

	cert_info_unref(ci);
	cert_info_unref(other);
	config_free(cfg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nomem_not_cached),
		cmocka_unit_test(test_refusal_cached),
		cmocka_unit_test(test_rule_match_no_alloc),
	};

	/* Before OpenSSL allocates anything. */
	if (CRYPTO_set_mem_functions(ossl_malloc, ossl_realloc,
	    ossl_free) != 1) {
		fprintf(stderr, "CRYPTO_set_mem_functions failed\n");
		return (1);
	}
	return (cmocka_run_group_tests(tests, setup, teardown));
}
