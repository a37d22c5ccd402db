/*
 * fuzz_crl.c: crlset_build() on arbitrary bytes, against a fixed CA store
 * (the seed PKI's intermediate and root, embedded in seed_pki.h), so the
 * corpus CRLs, which that intermediate signed, build successfully and
 * mutations exercise the PEM/DER parsers, the scope and extension checks
 * and the signature check.  The input is one document; if it contains the
 * byte sequence "\n--SPLIT--\n", the two halves are two documents.
 *
 * Invariants (abort on violation):
 *   - a failed build leaves no set and writes a message;
 *   - a built set has at least one CRL per document, per-CRL entry counts
 *     that add up, and lookups consistent with the per-CRL info: a
 *     certificate is NO_CRL iff no CRL was signed by its issuing CA,
 *     REVOKED only if such a CRL has entries, STALE only if such a CRL is
 *     past nextUpdate; a certificate without issuing CA is NO_CRL.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cert.h"
#include "crl.h"
#include "seed_pki.h"

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: invariant failed: %s\n",	\
		    __FILE__, __LINE__, #cond);				\
		abort();						\
	}								\
} while (0)

/* A fixed "now" inside the seeds' validity (thisUpdate 26 Nov 2026,
 * nextUpdate 26 Dec 2026; crl-stale.pem ended in 2020), so GOOD and STALE
 * answers both occur. */
#define FUZZ_NOW 1796000000       /* 2026-11-30 */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ca_store *cas;
static const struct cert_info *revoked, *valid, *orphan;

/* DER of the first certificate of a PEM string (via cert's own loader:
 * a one-certificate store would refuse a leaf, so decode by hand). */
static const struct cert_info *
analyze_pem(const char *pem, const struct ca_store *store)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p = strstr(pem, "-----\n"), *end;
	uint8_t der[4096];
	size_t n = 0;
	uint32_t acc = 0;
	int bits = 0;
	const char *why = NULL;
	const struct cert_info *ci;

	CHECK(p != NULL);
	p += 6;
	end = strstr(p, "-----END");
	CHECK(end != NULL);
	for (; p < end; p++) {
		const char *q = memchr(b64, *p, 64);

		if (q == NULL)
			continue;
		acc = acc << 6 | (uint32_t)(q - b64);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			CHECK(n < sizeof(der));
			der[n++] = (uint8_t)(acc >> bits);
		}
	}
	ci = cert_analyze(der, n, store, &why);
	CHECK(ci != NULL);
	return (ci);
}

static void
init(void)
{
	char err[256];

	if (cas != NULL)
		return;
	cas = ca_store_load_mem((const uint8_t *)seed_clients_ca_pem,
	    sizeof(seed_clients_ca_pem) - 1, err, sizeof(err));
	CHECK(cas != NULL);
	revoked = analyze_pem(seed_revoked_pem, cas);
	valid = analyze_pem(seed_valid_pem, cas);
	orphan = analyze_pem(seed_valid_pem, NULL);
	CHECK(revoked->has_issuer_sha256 && valid->has_issuer_sha256);
}

/* crlset_check() of ${ci} agrees with what crlset_info() says. */
static void
check_status(const struct crlset *s, const struct cert_info *ci)
{
	enum crl_status st = crlset_check(s, ci, FUZZ_NOW);
	bool covered = false, entries = false, stale = false;

	for (size_t i = 0; i < crlset_count(s); i++) {
		struct crl_info info;

		CHECK(crlset_info(s, i, &info) == 0);
		if (memcmp(info.issuer_sha256, ci->issuer_sha256, 32) != 0)
			continue;
		covered = true;
		entries |= info.entries > 0;
		stale |= info.has_next_update && info.next_update < FUZZ_NOW;
	}
	CHECK((st == CRL_NO_CRL) == !covered);
	CHECK(st != CRL_REVOKED || entries);
	CHECK(st != CRL_STALE || stale);
	CHECK(st != CRL_GOOD || !stale);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char split[] = "\n--SPLIT--\n";
	struct crl_doc docs[2];
	struct crlset *s = NULL;
	size_t ndocs = 1, total = 0;
	const uint8_t *cut;
	char err[256];

	init();
	docs[0].name = "fuzz";
	docs[0].buf = data;
	docs[0].len = size;
	cut = memmem(data, size, split, sizeof(split) - 1);
	if (cut != NULL) {
		docs[0].len = (size_t)(cut - data);
		docs[1].name = "fuzz2";
		docs[1].buf = cut + sizeof(split) - 1;
		docs[1].len = size - docs[0].len - (sizeof(split) - 1);
		ndocs = 2;
	}
	err[0] = '\0';
	if (crlset_build(docs, ndocs, cas, FUZZ_NOW, &s, err,
	    sizeof(err)) != 0) {
		CHECK(s == NULL);
		CHECK(err[0] != '\0');
		return (0);
	}
	CHECK(s != NULL);
	CHECK(crlset_count(s) >= ndocs);
	for (size_t i = 0; i < crlset_count(s); i++) {
		struct crl_info info;

		CHECK(crlset_info(s, i, &info) == 0);
		CHECK(info.name != NULL && info.issuer != NULL);
		total += info.entries;
	}
	CHECK(total == crlset_entries(s));
	{
		struct crl_info info;

		CHECK(crlset_info(s, crlset_count(s), &info) == -1);
	}
	check_status(s, revoked);
	check_status(s, valid);
	CHECK(crlset_check(s, orphan, FUZZ_NOW) == CRL_NO_CRL);
	crlset_unref(crlset_ref(s));
	crlset_unref(s);
	return (0);
}
