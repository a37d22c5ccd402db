/*
 * fuzz_cert.c: cert_analyze() on arbitrary bytes, with and without a CA
 * store, then the checks on what it returns.
 *
 * Invariants (abort on violation):
 *   - a refusal always carries a reason;
 *   - on success the SHA-256 thumbprint is the SHA-256 of the input (computed
 *     here with OpenSSL directly), its base64url form has 43 characters and
 *     binds (cert_binding_ok), its hex form is that digest;
 *   - the subject and issuer strings compile (cert_dn_compile) and match
 *     their own DN unless OpenSSL dumped a value as #hex or printed
 *     uniqueIdentifier as "uid" (which we read as RFC 4514's userId);
 *   - a rule built from the certificate's own values passes;
 *   - the certificate cache returns the same object on a second lookup.
 * Input that is not a certificate is also tried as DN text (up to its
 * first NUL): cert_dn_compile() either refuses it with a reason or
 * compiles a rule that can be matched against the seed certificate's DNs.
 * Leaks are caught by the sanitizer (every reference is released).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "cert.h"
#include "certcache.h"
#include "config.h"
#include "seed_pki.h"

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: invariant failed: %s\n",	\
		    __FILE__, __LINE__, #cond);				\
		abort();						\
	}								\
} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ca_store *cas;
static struct certcache *cache;
static const struct cert_info *seed;     /* a client certificate */

static void
init(void)
{
	char err[256];

	if (cas != NULL)
		return;
	cas = ca_store_load_mem((const uint8_t *)seed_clients_ca_pem,
	    sizeof(seed_clients_ca_pem) - 1, err, sizeof(err));
	CHECK(cas != NULL);
	cache = certcache_new(8);
	CHECK(cache != NULL);
	{
		BIO *b = BIO_new_mem_buf(seed_valid_pem,
		    (int)sizeof(seed_valid_pem) - 1);
		X509 *x = b != NULL ? PEM_read_bio_X509(b, NULL, NULL, NULL) :
		    NULL;
		unsigned char *der = NULL;
		int n = x != NULL ? i2d_X509(x, &der) : -1;

		CHECK(n > 0);
		seed = cert_analyze(der, (size_t)n, NULL, NULL);
		CHECK(seed != NULL);
		OPENSSL_free(der);
		X509_free(x);
		BIO_free(b);
	}
}

/* ${text} compiles and matches ${dn}. */
static bool
dn_matches(const char *text, const struct cert_dn *dn)
{
	struct cert_dn_rule *r = NULL;
	const char *why = NULL;
	bool m;

	if (cert_dn_compile(text, &r, &why) != 0) {
		fprintf(stderr, "does not compile: %s: %s\n", text,
		    why != NULL ? why : "out of memory");
		return (false);
	}
	m = cert_dn_rule_match(r, dn);
	cert_dn_rule_free(r);
	return (m);
}

/* The input as DN text: refused with a reason, or a usable rule. */
static void
check_dn_text(const uint8_t *data, size_t size)
{
	static char sentinel;
	struct cert_dn_rule *r = (struct cert_dn_rule *)(void *)&sentinel;
	const char *why = NULL;
	char *text;

	if (size > 2 * CERT_DN_TEXT_MAX)
		size = 2 * CERT_DN_TEXT_MAX;
	CHECK((text = malloc(size + 1)) != NULL);
	memcpy(text, data, size);
	text[size] = '\0';
	if (cert_dn_compile(text, &r, &why) != 0) {
		CHECK(r == NULL && why != NULL && why[0] != '\0');
	} else {
		CHECK(r != NULL);
		(void)cert_dn_rule_match(r, seed->subject_dn);
		(void)cert_dn_rule_match(r, seed->issuer_dn);
		CHECK(!cert_dn_rule_match(r, NULL));
		cert_dn_rule_free(r);
	}
	free(text);
}

/* A DN text we can read back (see the header comment). */
static bool
readable(const char *dn)
{
	return (strstr(dn, "=#") == NULL && strncmp(dn, "uid=", 4) != 0 &&
	    strstr(dn, ",uid=") == NULL && strstr(dn, "+uid=") == NULL);
}

static void
check_rule(const struct cert_info *ci)
{
	struct cert_rule r;
	struct cert_dn_rule *sdn[1] = { NULL }, *idn[1] = { NULL };
	char *subj[1], *iss[1], *serial[1], *cn[1];
	uint8_t sha256[1][32], sha1[1][20], issuer[1][32];
	const char *why = NULL;

	memset(&r, 0, sizeof(r));
	memcpy(sha256[0], ci->sha256, 32);
	memcpy(sha1[0], ci->sha1, 20);
	r.sha256 = sha256;
	r.nsha256 = 1;
	r.sha1 = sha1;
	r.nsha1 = 1;
	serial[0] = ci->serial;
	r.serials.v = serial;
	r.serials.n = ci->serial[0] == '-' ? 0 : 1;
	if (ci->cn != NULL) {
		cn[0] = ci->cn;
		r.common_names.v = cn;
		r.common_names.n = 1;
	}
	if (readable(ci->subject)) {
		CHECK(cert_dn_compile(ci->subject, &sdn[0], NULL) == 0);
		subj[0] = ci->subject;
		r.subjects.text = subj;
		r.subjects.dn = sdn;
		r.subjects.n = 1;
	}
	if (readable(ci->issuer)) {
		CHECK(cert_dn_compile(ci->issuer, &idn[0], NULL) == 0);
		iss[0] = ci->issuer;
		r.issuers.text = iss;
		r.issuers.dn = idn;
		r.issuers.n = 1;
	}
	if (ci->ndns > 0) {
		r.dns_names.v = ci->dns;
		r.dns_names.n = ci->ndns;
	}
	if (ci->nuris > 0) {
		r.uris.v = ci->uris;
		r.uris.n = ci->nuris;
	}
	if (ci->nemails > 0) {
		r.emails.v = ci->emails;
		r.emails.n = ci->nemails;
	}
	if (ci->has_issuer_sha256) {
		memcpy(issuer[0], ci->issuer_sha256, 32);
		r.issuer_sha256 = issuer;
		r.nissuer_sha256 = 1;
		CHECK(cert_rule_match(&r, ci, &why) == 0);
	}
	if (cert_rule_match(&r, ci, &why) != 0) {
		fprintf(stderr, "own rule failed: %s (subject %s, issuer %s)\n",
		    why, ci->subject, ci->issuer);
		abort();
	}
	/* One changed byte of the thumbprint: refused. */
	sha256[0][31] ^= 1;
	CHECK(cert_rule_match(&r, ci, &why) == -1);
	cert_dn_rule_free(sdn[0]);
	cert_dn_rule_free(idn[0]);
}

static void
check(const uint8_t *data, size_t size, const struct cert_info *ci)
{
	uint8_t md[32];
	unsigned int mdlen = 0;
	char hex[65];

	CHECK(EVP_Digest(data, size, md, &mdlen, EVP_sha256(), NULL) == 1);
	CHECK(mdlen == 32);
	CHECK(memcmp(md, ci->sha256, 32) == 0);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	CHECK(strcmp(hex, ci->sha256_hex) == 0);
	CHECK(strlen(ci->sha256_b64) == 43);
	CHECK(cert_binding_ok(ci, ci->sha256_b64, 43) == 1);
	CHECK(strlen(ci->sha1_hex) == 40);
	CHECK(ci->subject != NULL && ci->issuer != NULL && ci->serial != NULL);
	CHECK(ci->ndns <= CERT_SAN_MAX && ci->nuris <= CERT_SAN_MAX &&
	    ci->nemails <= CERT_SAN_MAX);
	if (readable(ci->subject) &&
	    !dn_matches(ci->subject, ci->subject_dn)) {
		fprintf(stderr, "subject does not match itself: %s\n",
		    ci->subject);
		abort();
	}
	if (readable(ci->issuer) &&
	    !dn_matches(ci->issuer, ci->issuer_dn)) {
		fprintf(stderr, "issuer does not match itself: %s\n",
		    ci->issuer);
		abort();
	}
	(void)cert_validity(ci, ci->not_before, 0);
	CHECK(cert_validity(ci, ci->not_before, 0) == 0 ||
	    ci->not_after < ci->not_before);
	check_rule(ci);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct cert_info *a, *b, *c;
	const char *why = NULL, *why2 = NULL;

	init();
	a = cert_analyze(data, size, NULL, &why);
	if (a == NULL) {
		CHECK(why != NULL);
		/* The cache agrees, and answers a refusal from memory. */
		CHECK(certcache_get(cache, data, size, cas, &why2, NULL) == NULL);
		CHECK(why2 != NULL);
		check_dn_text(data, size);
		return (0);
	}
	check(data, size, a);
	CHECK(!a->has_issuer_sha256);
	b = certcache_get(cache, data, size, cas, &why2, NULL);
	CHECK(b != NULL);
	check(data, size, b);
	c = certcache_get(cache, data, size, cas, &why2, NULL);
	CHECK(c == b);
	cert_info_unref(a);
	cert_info_unref(b);
	cert_info_unref(c);
	return (0);
}
