/*
 * fuzz_cert.c: cert_analyze() on arbitrary bytes, with and without a CA
 * store, then the checks on what it returns.
 *
 * Invariants (abort on violation):
 *   - a refusal always carries a reason;
 *   - on success the SHA-256 thumbprint is the SHA-256 of the input (computed
 *     here with OpenSSL directly), its base64url form has 43 characters and
 *     binds (cert_binding_ok), its hex form is that digest;
 *   - the subject and issuer strings match their own DN with
 *     cert_dn_match() unless OpenSSL dumped a value as #hex or printed
 *     uniqueIdentifier as "uid" (which we read as RFC 4514's userId);
 *   - a rule built from the certificate's own values passes;
 *   - the certificate cache returns the same object on a second lookup.
 * Leaks are caught by the sanitizer (every reference is released).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

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
		subj[0] = ci->subject;
		r.subjects.v = subj;
		r.subjects.n = 1;
	}
	if (readable(ci->issuer)) {
		iss[0] = ci->issuer;
		r.issuers.v = iss;
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
	    !cert_dn_match(ci->subject, ci->subject_dn)) {
		fprintf(stderr, "subject does not match itself: %s\n",
		    ci->subject);
		abort();
	}
	if (readable(ci->issuer) &&
	    !cert_dn_match(ci->issuer, ci->issuer_dn)) {
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
		CHECK(certcache_get(cache, data, size, cas, &why2) == NULL);
		CHECK(why2 != NULL);
		return (0);
	}
	check(data, size, a);
	CHECK(!a->has_issuer_sha256);
	b = certcache_get(cache, data, size, cas, &why2);
	CHECK(b != NULL);
	check(data, size, b);
	c = certcache_get(cache, data, size, cas, &why2);
	CHECK(c == b);
	cert_info_unref(a);
	cert_info_unref(b);
	cert_info_unref(c);
	return (0);
}
