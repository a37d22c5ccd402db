/*
 * test_crl.c: CRL sets: building from PEM and DER documents, signature and
 * scope checks, revocation lookups, staleness, admin info.
 *
 * CRLs come from scripts/gen-pki.sh (crl.pem, crl.der, crl-empty.pem,
 * crl-stale.pem, crl-foreign.pem); unusual ones (delta, partial scope,
 * critical extensions, thousands of entries, no nextUpdate, an impostor
 * signer) are built here with the OpenSSL API and the generated int.key.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "testsupport.h"
#include "testpki.h"

#include "cert.h"
#include "crl.h"

static struct ca_store *cas, *cas_foreign;
static const struct cert_info *valid, *revoked, *spiffe, *foreign, *inter;
static int64_t now;

static const struct cert_info *
analyze(const char *name, const struct ca_store *store)
{
	const struct cert_info *ci;
	const char *why = NULL;
	uint8_t *der;
	size_t len;

	der = pki_der(name, &len);
	ci = cert_analyze(der, len, store, &why);
	if (ci == NULL)
		fail_msg("%s: %s", name, why);
	free(der);
	return (ci);
}

static int
setup(void **state)
{
	uint8_t *a, *b, *both;
	size_t la, lb;
	char err[256];

	if (pki_setup(state) != 0)
		return (-1);
	now = (int64_t)time(NULL);
	cas = pki_client_cas();
	a = pki_file("clients-ca.pem", &la);
	b = pki_file("foreign-ca.pem", &lb);
	both = malloc(la + lb);
	memcpy(both, a, la);
	memcpy(both + la, b, lb);
	cas_foreign = ca_store_load_mem(both, la + lb, err, sizeof(err));
	free(a);
	free(b);
	free(both);
	if (cas == NULL || cas_foreign == NULL)
		return (-1);
	valid = analyze("client-valid.pem", cas);
	revoked = analyze("client-revoked.pem", cas);
	spiffe = analyze("client-spiffe.pem", cas);
	foreign = analyze("client-foreign.pem", cas_foreign);
	inter = analyze("int.pem", cas);
	return (0);
}

static int
teardown(void **state)
{
	cert_info_unref(valid);
	cert_info_unref(revoked);
	cert_info_unref(spiffe);
	cert_info_unref(foreign);
	cert_info_unref(inter);
	ca_store_free(cas);
	ca_store_free(cas_foreign);
	return (pki_teardown(state));
}

/* Documents read from PKI files, released by docs_free(). */
struct docs {
	struct crl_doc d[8];
	size_t n;
};

static void
docs_add_buf(struct docs *ds, const char *name, uint8_t *buf, size_t len)
{
	assert_true(ds->n < 8);
	ds->d[ds->n].name = name;
	ds->d[ds->n].buf = buf;
	ds->d[ds->n++].len = len;
}

static void
docs_add(struct docs *ds, const char *name)
{
	size_t len;
	uint8_t *buf = pki_file(name, &len);

	docs_add_buf(ds, name, buf, len);
}

static void
docs_free(struct docs *ds)
{
	for (size_t i = 0; i < ds->n; i++)
		free((void *)(uintptr_t)ds->d[i].buf);
	ds->n = 0;
}

/* Build from files (NULL-terminated list); must succeed. */
static struct crlset *
build_ok(const struct ca_store *store, int64_t at, ...)
{
	struct crlset *s = NULL;
	struct docs ds = { .n = 0 };
	const char *name;
	char err[256] = "";
	va_list ap;

	va_start(ap, at);
	while ((name = va_arg(ap, const char *)) != NULL)
		docs_add(&ds, name);
	va_end(ap);
	if (crlset_build(ds.d, ds.n, store, at, &s, err, sizeof(err)) != 0)
		fail_msg("crlset_build: %s", err);
	assert_non_null(s);
	docs_free(&ds);
	return (s);
}

/* Build ${ds}; must fail with ${want} in the message. */
static void
build_fails(const struct docs *ds, const struct ca_store *store, int64_t at,
    const char *want)
{
	struct crlset *s = (struct crlset *)(uintptr_t)1;
	char err[256] = "";

	assert_int_equal(crlset_build(ds->d, ds->n, store, at, &s, err,
	    sizeof(err)), -1);
	assert_null(s);
	if (strstr(err, want) == NULL)
		fail_msg("expected \"%s\" in \"%s\"", want, err);
}

static void
test_basic_pem(void **state)
{
	struct crlset *s = build_ok(cas, now, "crl.pem", NULL);
	struct crl_info info;
	uint8_t int256[32];

	(void)state;
	assert_int_equal(crlset_count(s), 1);
	assert_int_equal(crlset_entries(s), 1);
	assert_int_equal(crlset_info(s, 0, &info), 0);
	assert_string_equal(info.name, "crl.pem");
	assert_string_equal(info.issuer,
	    "CN=spoa-iam test intermediate,O=spoa-iam tests");
	assert_int_equal(pki_fingerprint("int.pem", "sha256", int256, 32), 32);
	assert_memory_equal(info.issuer_sha256, int256, 32);
	assert_true(info.has_next_update);
	/* openssl reads the clock once per date: a second may tick between. */
	assert_in_range(info.next_update - info.this_update, 30 * 86400,
	    30 * 86400 + 1);
	assert_true(info.this_update <= now + 5 &&
	    info.this_update > now - 3600);
	assert_int_equal(info.entries, 1);
	assert_int_equal(crlset_info(s, 1, &info), -1);

	assert_int_equal(crlset_check(s, revoked, now), CRL_REVOKED);
	assert_int_equal(crlset_check(s, valid, now), CRL_GOOD);
	assert_int_equal(crlset_check(s, spiffe, now), CRL_GOOD);
	/* Issuers without a CRL: the foreign CA, the root (for int.pem). */
	assert_int_equal(crlset_check(s, foreign, now), CRL_NO_CRL);
	assert_int_equal(crlset_check(s, inter, now), CRL_NO_CRL);
	assert_int_equal(crlset_check(NULL, valid, now), CRL_NO_CRL);
	assert_int_equal(crlset_check(s, NULL, now), CRL_NO_CRL);
	/* Past nextUpdate: stale, but the revoked one stays revoked. */
	assert_int_equal(crlset_check(s, valid, info.next_update), CRL_GOOD);
	assert_int_equal(crlset_check(s, valid, info.next_update + 1),
	    CRL_STALE);
	assert_int_equal(crlset_check(s, revoked, info.next_update + 1),
	    CRL_REVOKED);
	crlset_unref(s);
}

static void
test_no_issuer(void **state)
{
	const struct cert_info *ci = analyze("client-revoked.pem", NULL);
	struct crlset *s = build_ok(cas, now, "crl.pem", NULL);

	(void)state;
	/* Analysed without a store: its issuing CA is unknown. */
	assert_int_equal(crlset_check(s, ci, now), CRL_NO_CRL);
	cert_info_unref(ci);
	/* A reloaded store with the same CAs: same thumbprints, same set. */
	ci = analyze("client-revoked.pem", cas_foreign);
	assert_int_equal(crlset_check(s, ci, now), CRL_REVOKED);
	cert_info_unref(ci);
	crlset_unref(s);
}

static void
test_der_and_multi(void **state)
{
	struct crlset *s;
	struct crl_info info;
	struct docs ds = { .n = 0 };
	uint8_t *a, *b, *both;
	size_t la, lb;
	char err[256];

	(void)state;
	s = build_ok(cas, now, "crl.der", NULL);
	assert_int_equal(crlset_count(s), 1);
	assert_int_equal(crlset_check(s, revoked, now), CRL_REVOKED);
	assert_int_equal(crlset_check(s, valid, now), CRL_GOOD);
	crlset_unref(s);

	/* An empty CRL: nothing revoked. */
	s = build_ok(cas, now, "crl-empty.pem", NULL);
	assert_int_equal(crlset_entries(s), 0);
	assert_int_equal(crlset_check(s, revoked, now), CRL_GOOD);
	crlset_unref(s);

	/* Two documents of one CA: merged, a listing in either revokes. */
	s = build_ok(cas, now, "crl-empty.pem", "crl.der", NULL);
	assert_int_equal(crlset_count(s), 2);
	assert_int_equal(crlset_check(s, revoked, now), CRL_REVOKED);
	assert_int_equal(crlset_check(s, valid, now), CRL_GOOD);
	assert_int_equal(crlset_info(s, 1, &info), 0);
	assert_string_equal(info.name, "crl.der");
	crlset_unref(s);

	/* Two CRLs in one PEM document. */
	a = pki_file("crl-empty.pem", &la);
	b = pki_file("crl.pem", &lb);
	both = malloc(la + lb + 2);
	memcpy(both, a, la);
	memcpy(both + la, "\n\n", 2);
	memcpy(both + la + 2, b, lb);
	free(a);
	free(b);
	docs_add_buf(&ds, "bundle", both, la + lb + 2);
	assert_int_equal(crlset_build(ds.d, ds.n, cas, now, &s, err,
	    sizeof(err)), 0);
	assert_int_equal(crlset_count(s), 2);
	assert_int_equal(crlset_entries(s), 1);
	assert_int_equal(crlset_check(s, revoked, now), CRL_REVOKED);
	assert_int_equal(crlset_info(s, 0, &info), 0);
	assert_int_equal(info.entries, 0);
	assert_string_equal(info.name, "bundle");
	assert_int_equal(crlset_info(s, 1, &info), 0);
	assert_int_equal(info.entries, 1);
	crlset_unref(s);
	docs_free(&ds);

	/* No document at all: an empty set. */
	assert_int_equal(crlset_build(NULL, 0, cas, now, &s, err, sizeof(err)),
	    0);
	assert_int_equal(crlset_count(s), 0);
	assert_int_equal(crlset_check(s, valid, now), CRL_NO_CRL);
	assert_ptr_equal(crlset_ref(s), s);
	crlset_unref(s);
	crlset_unref(s);
	crlset_unref(NULL);
}

static void
test_stale(void **state)
{
	struct crlset *s;
	struct crl_info info;
	struct docs ds = { .n = 0 };

	(void)state;
	s = build_ok(cas, now, "crl-stale.pem", NULL);
	assert_int_equal(crlset_info(s, 0, &info), 0);
	assert_int_equal(info.this_update, 1577836800);  /* 2020-01-01 */
	assert_int_equal(info.next_update, 1580515200);  /* 2020-02-01 */
	assert_int_equal(crlset_check(s, valid, now), CRL_STALE);
	assert_int_equal(crlset_check(s, revoked, now), CRL_REVOKED);
	assert_int_equal(crlset_check(s, valid, 1580515200), CRL_GOOD);
	crlset_unref(s);

	/* One stale CRL of a CA makes that CA stale. */
	s = build_ok(cas, now, "crl.pem", "crl-stale.pem", NULL);
	assert_int_equal(crlset_check(s, valid, now), CRL_STALE);
	assert_int_equal(crlset_check(s, revoked, now), CRL_REVOKED);
	crlset_unref(s);

	/* A CRL issued after "now" (beyond a day) is refused. */
	s = build_ok(cas, 1577836800, "crl-stale.pem", NULL);
	crlset_unref(s);
	docs_add(&ds, "crl.pem");
	build_fails(&ds, cas, 1577836800, "crl.pem: CRL 1: thisUpdate is in "
	    "the future");
	docs_free(&ds);
}

static void
test_refused(void **state)
{
	struct docs ds = { .n = 0 };
	uint8_t *der, *buf, rnd[512];
	size_t len;
	struct crlset *s;
	char err[256];

	(void)state;
	/* Signed by a CA outside client_ca_file. */
	docs_add(&ds, "crl-foreign.pem");
	build_fails(&ds, cas, now, "crl-foreign.pem: CRL 1: issuer is not a "
	    "CA of client_ca_file");
	/* ... accepted once that CA is in the store. */
	assert_int_equal(crlset_build(ds.d, ds.n, cas_foreign, now, &s, err,
	    sizeof(err)), 0);
	assert_int_equal(crlset_check(s, foreign, now), CRL_GOOD);
	assert_int_equal(crlset_check(s, valid, now), CRL_NO_CRL);
	crlset_unref(s);
	docs_free(&ds);

	/* A flipped signature bit; with a good document too: all refused. */
	der = pki_file("crl.der", &len);
	buf = malloc(len + 1);
	memcpy(buf, der, len);
	buf[len - 1] ^= 0x01;
	docs_add(&ds, "crl.pem");
	docs_add_buf(&ds, "flipped", buf, len);
	build_fails(&ds, cas, now, "flipped: CRL 2: signature does not verify "
	    "with the issuing CA");
	docs_free(&ds);

	/* Trailing byte after DER; truncated DER. */
	buf = malloc(len + 1);
	memcpy(buf, der, len);
	buf[len] = 0;
	docs_add_buf(&ds, "trailing", buf, len + 1);
	build_fails(&ds, cas, now, "trailing: trailing bytes after the CRL");
	docs_free(&ds);
	for (size_t cut = 1; cut < len; cut += 13) {
		buf = malloc(len);
		memcpy(buf, der, len - cut);
		docs_add_buf(&ds, "cut", buf, len - cut);
		build_fails(&ds, cas, now, "cut: not a DER or PEM CRL");
		docs_free(&ds);
	}
	free(der);

	/* Random bytes, a certificate, nothing. */
	srand(99);
	for (int t = 0; t < 100; t++) {
		size_t n = 1 + (size_t)rand() % sizeof(rnd);

		for (size_t i = 0; i < n; i++)
			rnd[i] = (uint8_t)rand();
		rnd[0] = 0x30;
		buf = malloc(n);
		memcpy(buf, rnd, n);
		docs_add_buf(&ds, "random", buf, n);
		build_fails(&ds, cas, now, "random: not a DER or PEM CRL");
		docs_free(&ds);
	}
	docs_add(&ds, "client-valid.crt");
	build_fails(&ds, cas, now, "client-valid.crt: no CRL found");
	docs_free(&ds);
	buf = malloc(1);
	docs_add_buf(&ds, NULL, buf, 0);
	build_fails(&ds, cas, now, "(unnamed): empty CRL document");
	docs_free(&ds);
	{
		static const char bad[] = "-----BEGIN X509 CRL-----\n!!!!\n"
		    "-----END X509 CRL-----\n";

		buf = malloc(sizeof(bad));
		memcpy(buf, bad, sizeof(bad));
		docs_add_buf(&ds, "badpem", buf, sizeof(bad) - 1);
		build_fails(&ds, cas, now, "badpem: CRL 1: bad PEM or DER");
		docs_free(&ds);
	}
	/* Too large: refused before it is read. */
	buf = calloc(1, (size_t)CRL_DOC_MAX + 1);
	assert_non_null(buf);
	docs_add_buf(&ds, "huge", buf, (size_t)CRL_DOC_MAX + 1);
	build_fails(&ds, cas, now, "huge: CRL document larger than");
	docs_free(&ds);
	/* No CA store. */
	docs_add(&ds, "crl.pem");
	build_fails(&ds, NULL, now, "CRLs need client_ca_file");
	docs_free(&ds);
}

/* ---- CRLs built here ------------------------------------------------ */

struct crlspec {
	EVP_PKEY *key;          /* signer; NULL: int.key */
	long nserials;          /* revoke 1..n (skipping ${skip}) */
	long skip;
	bool no_next;
	int ext_nid;            /* an extension to add (0: none) */
	bool ext_critical;
	const char *ext_value;  /* X509V3 config text */
	bool crl_crit_unknown;  /* a critical extension we do not know */
	bool entry_issuer;      /* certificateIssuer on the first entry */
	bool entry_crit_unknown;
	long extra_serial;      /* also revoke this one (0: none) */
	long neg_serial;        /* also revoke this negative one (0: none) */
	bool akid_other;        /* an authorityKeyIdentifier of another key */
};

static EVP_PKEY *
int_key(void)
{
	BIO *b = BIO_new_file(pki_path("int.key"), "r");
	EVP_PKEY *k;

	assert_non_null(b);
	k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	BIO_free(b);
	assert_non_null(k);
	return (k);
}

static X509 *
int_cert(void)
{
	BIO *b = BIO_new_file(pki_path("int.pem"), "r");
	X509 *x;

	assert_non_null(b);
	x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	assert_non_null(x);
	return (x);
}

/* A critical (or not) extension 1.2.3.4.99 holding NULL. */
static X509_EXTENSION *
unknown_ext(int critical)
{
	ASN1_OBJECT *o = OBJ_txt2obj("1.2.3.4.99", 1);
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	X509_EXTENSION *e;

	ASN1_OCTET_STRING_set(os, (const unsigned char *)"\x05\x00", 2);
	e = X509_EXTENSION_create_by_OBJ(NULL, o, critical, os);
	assert_non_null(e);
	ASN1_OCTET_STRING_free(os);
	ASN1_OBJECT_free(o);
	return (e);
}

static void
add_revoked(X509_CRL *crl, long serial, const struct crlspec *sp, bool first)
{
	X509_REVOKED *r = X509_REVOKED_new();
	ASN1_INTEGER *sn = ASN1_INTEGER_new();
	ASN1_TIME *t = ASN1_TIME_new();

	assert_int_equal(ASN1_INTEGER_set(sn, serial), 1);
	assert_int_equal(X509_REVOKED_set_serialNumber(r, sn), 1);
	assert_non_null(X509_gmtime_adj(t, -60));
	assert_int_equal(X509_REVOKED_set_revocationDate(r, t), 1);
	if (first && sp->entry_issuer) {
		GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
		GENERAL_NAME *g = GENERAL_NAME_new();
		ASN1_IA5STRING *v = ASN1_IA5STRING_new();

		ASN1_STRING_set(v, "ca.example.org", -1);
		GENERAL_NAME_set0_value(g, GEN_DNS, v);
		sk_GENERAL_NAME_push(gens, g);
		assert_int_equal(X509_REVOKED_add1_ext_i2d(r,
		    NID_certificate_issuer, gens, 1, 0), 1);
		GENERAL_NAMES_free(gens);
	}
	if (first && sp->entry_crit_unknown) {
		X509_EXTENSION *e = unknown_ext(1);

		assert_int_equal(X509_REVOKED_add_ext(r, e, -1), 1);
		X509_EXTENSION_free(e);
	}
	assert_int_equal(X509_CRL_add0_revoked(crl, r), 1);
	ASN1_INTEGER_free(sn);
	ASN1_TIME_free(t);
}

/* A DER CRL "issued" by the intermediate per ${sp} (caller frees). */
static uint8_t *
make_crl(const struct crlspec *sp, size_t *len)
{
	X509_CRL *crl = X509_CRL_new();
	X509 *ca = int_cert();
	EVP_PKEY *key = sp->key != NULL ? sp->key : int_key();
	ASN1_TIME *t = ASN1_TIME_new();
	unsigned char *der = NULL;
	uint8_t *out;
	int n;

	assert_int_equal(X509_CRL_set_version(crl, X509_CRL_VERSION_2), 1);
	assert_int_equal(X509_CRL_set_issuer_name(crl,
	    X509_get_subject_name(ca)), 1);
	assert_non_null(X509_gmtime_adj(t, -60));
	assert_int_equal(X509_CRL_set1_lastUpdate(crl, t), 1);
	if (!sp->no_next) {
		assert_non_null(X509_gmtime_adj(t, 3600));
		assert_int_equal(X509_CRL_set1_nextUpdate(crl, t), 1);
	}
	for (long i = 1; i <= sp->nserials; i++)
		if (i != sp->skip)
			add_revoked(crl, i, sp, i == 1);
	if (sp->extra_serial != 0)
		add_revoked(crl, sp->extra_serial, sp, sp->nserials == 0);
	if (sp->neg_serial != 0)
		add_revoked(crl, sp->neg_serial, sp, false);
	if (sp->ext_nid != 0) {
		X509V3_CTX ctx;
		X509_EXTENSION *e;
		char value[256];

		X509V3_set_ctx(&ctx, ca, NULL, NULL, crl, 0);
		snprintf(value, sizeof(value), "%s%s",
		    sp->ext_critical ? "critical," : "", sp->ext_value);
		e = X509V3_EXT_nconf_nid(NULL, &ctx, sp->ext_nid, value);
		if (e == NULL)
			fail_msg("extension %d \"%s\" not built", sp->ext_nid,
			    value);
		assert_int_equal(X509_CRL_add_ext(crl, e, -1), 1);
		X509_EXTENSION_free(e);
	}
	if (sp->akid_other) {
		AUTHORITY_KEYID *ak = AUTHORITY_KEYID_new();
		uint8_t id[20];

		memset(id, 0x42, sizeof(id));
		assert_non_null(ak);
		assert_non_null(ak->keyid = ASN1_OCTET_STRING_new());
		assert_int_equal(ASN1_OCTET_STRING_set(ak->keyid, id,
		    sizeof(id)), 1);
		assert_int_equal(X509_CRL_add1_ext_i2d(crl,
		    NID_authority_key_identifier, ak, 0, 0), 1);
		AUTHORITY_KEYID_free(ak);
	}
	if (sp->crl_crit_unknown) {
		X509_EXTENSION *e = unknown_ext(1);

		assert_int_equal(X509_CRL_add_ext(crl, e, -1), 1);
		X509_EXTENSION_free(e);
	}
	assert_int_equal(X509_CRL_sort(crl), 1);
	assert_true(X509_CRL_sign(crl, key, EVP_sha256()) > 0);
	n = i2d_X509_CRL(crl, &der);
	assert_true(n > 0);
	out = malloc((size_t)n);
	memcpy(out, der, (size_t)n);
	*len = (size_t)n;
	OPENSSL_free(der);
	ASN1_TIME_free(t);
	if (sp->key == NULL)
		EVP_PKEY_free(key);
	X509_free(ca);
	X509_CRL_free(crl);
	return (out);
}

static struct crlset *
build_spec(const struct crlspec *sp, const char *want_err)
{
	struct docs ds = { .n = 0 };
	struct crlset *s = NULL;
	size_t len;
	uint8_t *der = make_crl(sp, &len);
	char err[256] = "";

	docs_add_buf(&ds, "made", der, len);
	if (want_err != NULL) {
		build_fails(&ds, cas, now, want_err);
	} else if (crlset_build(ds.d, ds.n, cas, now, &s, err,
	    sizeof(err)) != 0) {
		fail_msg("crlset_build: %s", err);
	}
	docs_free(&ds);
	return (s);
}

static void
test_many_entries(void **state)
{
	struct crlspec sp;
	struct crlset *s;
	long vserial = (long)valid->serial_bytes[0] << 8 | valid->serial_bytes[1];

	(void)state;
	assert_int_equal(valid->serial_len, 2);
	memset(&sp, 0, sizeof(sp));
	sp.nserials = 20000;
	sp.skip = vserial;
	s = build_spec(&sp, NULL);
	assert_int_equal(crlset_entries(s), 19999);
	assert_int_equal(crlset_check(s, valid, now), CRL_GOOD);
	assert_int_equal(crlset_check(s, revoked, now), CRL_REVOKED);
	assert_int_equal(crlset_check(s, spiffe, now), CRL_REVOKED);
	crlset_unref(s);

	/* Only the valid one; a negative serial of the same magnitude and
	 * serials that differ by length do not collide. */
	memset(&sp, 0, sizeof(sp));
	sp.extra_serial = vserial;
	sp.neg_serial = -(long)((long)revoked->serial_bytes[0] << 8 |
	    revoked->serial_bytes[1]);
	s = build_spec(&sp, NULL);
	assert_int_equal(crlset_entries(s), 2);
	assert_int_equal(crlset_check(s, valid, now), CRL_REVOKED);
	assert_int_equal(crlset_check(s, revoked, now), CRL_GOOD);
	assert_int_equal(crlset_check(s, spiffe, now), CRL_GOOD);
	crlset_unref(s);

	/* No nextUpdate: never stale. */
	memset(&sp, 0, sizeof(sp));
	sp.no_next = true;
	s = build_spec(&sp, NULL);
	assert_int_equal(crlset_check(s, valid, now + 100LL * 365 * 86400),
	    CRL_GOOD);
	crlset_unref(s);
}

static void
test_scope_refused(void **state)
{
	struct crlspec sp;
	struct crlset *s;
	EVP_PKEY *impostor;

	(void)state;
	memset(&sp, 0, sizeof(sp));
	sp.ext_nid = NID_delta_crl;
	sp.ext_value = "DER:02:02:10:00";       /* baseCRLNumber 4096 */
	(void)build_spec(&sp, "made: CRL 1: delta CRLs are not supported");
	sp.ext_critical = true;
	(void)build_spec(&sp, "made: CRL 1: delta CRLs are not supported");

	memset(&sp, 0, sizeof(sp));
	sp.ext_nid = NID_issuing_distribution_point;
	sp.ext_critical = true;
	sp.ext_value = "onlyCA:TRUE";
	(void)build_spec(&sp, "made: CRL 1: indirect or partial-scope CRLs");
	sp.ext_value = "indirectCRL:TRUE";
	(void)build_spec(&sp, "made: CRL 1: indirect or partial-scope CRLs");
	sp.ext_value = "onlysomereasons:keyCompromise";
	(void)build_spec(&sp, "made: CRL 1: indirect or partial-scope CRLs");
	/* A plain distribution point name or user-certs-only: accepted. */
	sp.ext_value = "fullname:URI:http://pki.example.org/int.crl,"
	    "onlyuser:TRUE";
	s = build_spec(&sp, NULL);
	assert_int_equal(crlset_check(s, valid, now), CRL_GOOD);
	crlset_unref(s);

	/* Unknown critical CRL extension: refused (non-critical: fine). */
	memset(&sp, 0, sizeof(sp));
	sp.ext_nid = NID_crl_number;
	sp.ext_critical = true;
	sp.ext_value = "DER:02:01:07";
	s = build_spec(&sp, NULL);      /* crlNumber is known */
	crlset_unref(s);
	memset(&sp, 0, sizeof(sp));
	sp.crl_crit_unknown = true;
	(void)build_spec(&sp, "made: CRL 1: unsupported critical CRL "
	    "extension");
	memset(&sp, 0, sizeof(sp));
	sp.nserials = 1;
	sp.entry_crit_unknown = true;
	(void)build_spec(&sp, "made: CRL 1: unsupported critical entry "
	    "extension");
	memset(&sp, 0, sizeof(sp));
	sp.nserials = 1;
	sp.entry_issuer = true;
	(void)build_spec(&sp, "made: CRL 1: indirect CRLs are not supported");

	/* The intermediate's name, another key. */
	impostor = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	assert_non_null(impostor);
	memset(&sp, 0, sizeof(sp));
	sp.key = impostor;
	(void)build_spec(&sp, "made: CRL 1: signature does not verify with "
	    "the issuing CA");
	EVP_PKEY_free(impostor);
}

/*
 * The signing CA is chosen by name, then by key id (a CRL's
 * authorityKeyIdentifier against the CA's subjectKeyIdentifier), and must
 * have keyUsage cRLSign.  gen-pki.sh's CRLs carry an authorityKeyIdentifier
 * like real ones; these cases make the two refusals observable: each CRL
 * below is signed by the right key, so only the check refuses it.
 */
static void
test_signer_key_id_and_usage(void **state)
{
	struct crlspec sp;
	struct crlset *s;
	struct docs ds = { 0 };
	X509 *x = X509_new(), *inter_x = int_cert();
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509V3_CTX ctx;
	X509_EXTENSION *e;
	BIO *b = BIO_new(BIO_s_mem());
	struct ca_store *nosign;
	char err[256], *pem;
	uint8_t *der;
	size_t len;
	long pl;

	(void)state;
	/* The CA's own key id: accepted. */
	memset(&sp, 0, sizeof(sp));
	sp.ext_nid = NID_authority_key_identifier;
	sp.ext_value = "keyid:always";
	s = build_spec(&sp, NULL);
	assert_int_equal(crlset_count(s), 1);
	crlset_unref(s);
	/* Another key id, though the CA's key signed it: refused. */
	memset(&sp, 0, sizeof(sp));
	sp.akid_other = true;
	(void)build_spec(&sp, "made: CRL 1: authorityKeyIdentifier names no "
	    "CA of client_ca_file with this name");

	/* A CA with the intermediate's name and its own key, but keyUsage
	 * keyCertSign only: its CRL is refused. */
	assert_non_null(x);
	assert_non_null(k);
	assert_non_null(b);
	assert_int_equal(X509_set_version(x, 2), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), 77), 1);
	assert_int_equal(X509_set_subject_name(x,
	    X509_get_subject_name(inter_x)), 1);
	assert_int_equal(X509_set_issuer_name(x,
	    X509_get_subject_name(inter_x)), 1);
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), -3600));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 86400));
	assert_int_equal(X509_set_pubkey(x, k), 1);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	assert_non_null(e = X509V3_EXT_nconf_nid(NULL, &ctx,
	    NID_basic_constraints, "critical,CA:TRUE"));
	assert_int_equal(X509_add_ext(x, e, -1), 1);
	X509_EXTENSION_free(e);
	assert_non_null(e = X509V3_EXT_nconf_nid(NULL, &ctx, NID_key_usage,
	    "critical,keyCertSign"));
	assert_int_equal(X509_add_ext(x, e, -1), 1);
	X509_EXTENSION_free(e);
	assert_true(X509_sign(x, k, EVP_sha256()) > 0);
	assert_int_equal(PEM_write_bio_X509(b, x), 1);
	pl = BIO_get_mem_data(b, &pem);
	nosign = ca_store_load_mem((const uint8_t *)pem, (size_t)pl, err,
	    sizeof(err));
	if (nosign == NULL)
		fail_msg("store: %s", err);
	memset(&sp, 0, sizeof(sp));
	sp.key = k;
	der = make_crl(&sp, &len);
	docs_add_buf(&ds, "made", der, len);
	build_fails(&ds, nosign, now, "made: CRL 1: the issuing CA's keyUsage "
	    "lacks cRLSign");
	docs_free(&ds);
	ca_store_free(nosign);
	BIO_free(b);
	X509_free(x);
	X509_free(inter_x);
	EVP_PKEY_free(k);
}

static void
test_status_names(void **state)
{
	(void)state;
	assert_string_equal(crlset_status_name(CRL_GOOD), "good");
	assert_string_equal(crlset_status_name(CRL_REVOKED), "revoked");
	assert_string_equal(crlset_status_name(CRL_STALE), "stale");
	assert_string_equal(crlset_status_name(CRL_NO_CRL), "no_crl");
	assert_int_equal(crlset_count(NULL), 0);
	assert_int_equal(crlset_entries(NULL), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic_pem),
		cmocka_unit_test(test_no_issuer),
		cmocka_unit_test(test_der_and_multi),
		cmocka_unit_test(test_stale),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_many_entries),
		cmocka_unit_test(test_scope_refused),
		cmocka_unit_test(test_signer_key_id_and_usage),
		cmocka_unit_test(test_status_names),
	};

	return (cmocka_run_group_tests(tests, setup, teardown));
}
