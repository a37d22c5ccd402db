/*
 * crlset.c: see crl.h (CRL sets: crlset_*).
 *
 * Layout of a set: one sorted array of revoked serials for all CRLs, keyed
 * by (group, sign, length, bytes), where a group is one signing CA (by
 * thumbprint; groups sorted by thumbprint).  The serial bytes live in one
 * blob.  A lookup is a binary search for the group, then one for the
 * serial inside the group's slice.
 *
 * Build order: parse every document, check each CRL's structure, find and
 * verify its signer, and only then index.  Structural checks come before
 * the signature so that the fuzz target reaches them with mutated input;
 * nothing is trusted before the whole build succeeds.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cert.h"
#include "cert_int.h"
#include "fileio.h"
#include "util.h"
#include "crl.h"

struct crl_ent {
	const uint8_t *p;       /* serial magnitude, no leading zeros */
	uint32_t group;
	uint8_t len;
	bool neg;
};

struct crl_group {
	uint8_t sha256[32];     /* the signing CA */
	const struct crl_ent *ents;
	size_t nents;
	bool has_next;
	int64_t next_update;    /* earliest nextUpdate of its CRLs */
};

struct crl_one {
	char *name;
	char *issuer;
	uint8_t sha256[32];
	int64_t this_update, next_update;
	bool has_next;
	size_t entries;
};

struct crlset {
	atomic_uint refs;
	struct crl_one *crls;
	size_t ncrls;
	struct crl_group *groups;
	size_t ngroups;
	struct crl_ent *ents;
	size_t nents;
	uint8_t *blob;
};

/* A CRL being built: parsed object plus where it came from. */
struct pending {
	X509_CRL *crl;
	size_t doc;
	X509 *signer;
	const uint8_t *sha256;
	uint32_t group;
};


static const char *
doc_name(const struct crl_doc *d)
{
	return (d->name != NULL ? d->name : "(unnamed)");
}

static int
push(struct pending **v, size_t *n, size_t *cap, X509_CRL *crl, size_t doc)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 8;
		struct pending *nv = realloc(*v, ncap * sizeof(**v));

		if (nv == NULL)
			return (-1);
		*v = nv;
		*cap = ncap;
	}
	memset(&(*v)[*n], 0, sizeof(**v));
	(*v)[*n].crl = crl;
	(*v)[(*n)++].doc = doc;
	return (0);
}

static bool
looks_pem(const uint8_t *p, size_t len)
{
	static const char begin[] = "-----BEGIN";

	while (len > 0 && (*p == ' ' || *p == '\t' || *p == '\r' ||
	    *p == '\n')) {
		p++;
		len--;
	}
	return (len >= sizeof(begin) - 1 &&
	    memcmp(p, begin, sizeof(begin) - 1) == 0);
}

/* Parse document ${i} into CRLs appended to ${v}. */
static int
parse_doc(const struct crl_doc *d, size_t i, struct pending **v, size_t *n,
    size_t *cap, char *err, size_t errlen)
{
	size_t before = *n;
	X509_CRL *crl;
	BIO *b;

	if (d->buf == NULL || d->len == 0) {
		cert_set_err(err, errlen, "%s: empty CRL document", doc_name(d));
		return (-1);
	}
	if (d->len > CRL_DOC_MAX) {
		cert_set_err(err, errlen, "%s: CRL document larger than %u bytes",
		    doc_name(d), CRL_DOC_MAX);
		return (-1);
	}
	if (!looks_pem(d->buf, d->len)) {
		const unsigned char *p = d->buf;

		crl = d2i_X509_CRL(NULL, &p, (long)d->len);
		if (crl == NULL) {
			cert_set_err(err, errlen, "%s: not a DER or PEM CRL",
			    doc_name(d));
			return (-1);
		}
		if ((size_t)(p - d->buf) != d->len) {
			X509_CRL_free(crl);
			cert_set_err(err, errlen, "%s: trailing bytes after the CRL",
			    doc_name(d));
			return (-1);
		}
		if (push(v, n, cap, crl, i) != 0) {
			X509_CRL_free(crl);
			cert_set_err(err, errlen, "out of memory");
			return (-1);
		}
		return (0);
	}
	if ((b = BIO_new_mem_buf(d->buf, (int)d->len)) == NULL) {
		cert_set_err(err, errlen, "out of memory");
		return (-1);
	}
	for (;;) {
		ERR_clear_error();
		crl = PEM_read_bio_X509_CRL(b, NULL, cert_no_passphrase, NULL);
		if (crl == NULL) {
			unsigned long e = ERR_peek_last_error();

			if (ERR_GET_LIB(e) == ERR_LIB_PEM &&
			    ERR_GET_REASON(e) == PEM_R_NO_START_LINE)
				break;
			cert_set_err(err, errlen, "%s: CRL %zu: bad PEM or DER",
			    doc_name(d), *n - before + 1);
			BIO_free(b);
			return (-1);
		}
		if (push(v, n, cap, crl, i) != 0) {
			X509_CRL_free(crl);
			BIO_free(b);
			cert_set_err(err, errlen, "out of memory");
			return (-1);
		}
	}
	BIO_free(b);
	if (*n == before) {
		cert_set_err(err, errlen, "%s: no CRL found", doc_name(d));
		return (-1);
	}
	return (0);
}

/* Scope and extensions of one CRL; NULL if we can use it. */
static const char *
check_structure(X509_CRL *crl, int64_t now, size_t *nents, size_t *nbytes)
{
	STACK_OF(X509_REVOKED) *revs;
	ISSUING_DIST_POINT *idp;
	int64_t t;
	int crit = -1;

	if (cert_x509_time(X509_CRL_get0_lastUpdate(crl), &t) != 0)
		return ("bad thisUpdate");
	if (t > now + CRL_FUTURE_SKEW_S)
		return ("thisUpdate is in the future");
	if (X509_CRL_get0_nextUpdate(crl) != NULL &&
	    cert_x509_time(X509_CRL_get0_nextUpdate(crl), &t) != 0)
		return ("bad nextUpdate");
	for (int i = 0; i < X509_CRL_get_ext_count(crl); i++) {
		X509_EXTENSION *ext = X509_CRL_get_ext(crl, i);
		int nid = OBJ_obj2nid(X509_EXTENSION_get_object(ext));

		if (nid == NID_delta_crl)
			return ("delta CRLs are not supported");
		if (X509_EXTENSION_get_critical(ext) &&
		    nid != NID_issuing_distribution_point &&
		    nid != NID_crl_number &&
		    nid != NID_authority_key_identifier)
			return ("unsupported critical CRL extension");
	}
	idp = X509_CRL_get_ext_d2i(crl, NID_issuing_distribution_point, &crit,
	    NULL);
	if (idp == NULL && crit != -1) {
		ERR_clear_error();
		return ("bad issuingDistributionPoint");
	}
	if (idp != NULL) {
		bool partial = idp->onlyCA > 0 || idp->onlyattr > 0 ||
		    idp->indirectCRL > 0 || idp->onlysomereasons != NULL;

		ISSUING_DIST_POINT_free(idp);
		if (partial)
			return ("indirect or partial-scope CRLs are not supported");
	}
	revs = X509_CRL_get_REVOKED(crl);
	for (int i = 0; i < sk_X509_REVOKED_num(revs); i++) {
		const X509_REVOKED *r = sk_X509_REVOKED_value(revs, i);
		const uint8_t *p;
		size_t len;
		bool neg;

		for (int j = 0; j < X509_REVOKED_get_ext_count(r); j++) {
			X509_EXTENSION *ext = X509_REVOKED_get_ext(r, j);
			int nid = OBJ_obj2nid(X509_EXTENSION_get_object(ext));

			if (nid == NID_certificate_issuer)
				return ("indirect CRLs are not supported");
			if (X509_EXTENSION_get_critical(ext) &&
			    nid != NID_crl_reason &&
			    nid != NID_invalidity_date &&
			    nid != NID_hold_instruction_code)
				return ("unsupported critical entry extension");
		}
		if (cert_serial_key(X509_REVOKED_get0_serialNumber(r), &p, &len,
		    &neg) != 0)
			return ("revoked serial number too long");
		(*nents)++;
		*nbytes += len;
	}
	return (NULL);
}

/* The CA of ${cas} that signed ${crl}, with its thumbprint. */
static const char *
find_signer(X509_CRL *crl, const struct ca_store *cas, struct pending *pc)
{
	const X509_NAME *in = X509_CRL_get_issuer(crl);
	ASN1_OCTET_STRING *akid_os = NULL;
	AUTHORITY_KEYID *akid;
	/* How far the best candidate got, for the reason of a refusal. */
	static const char *const why[] = {
		"issuer is not a CA of client_ca_file",
		("authorityKeyIdentifier names no CA of client_ca_file with "
		    "this name"),
		"the issuing CA's keyUsage lacks cRLSign",
		"signature does not verify with the issuing CA",
	};
	int stage = 0;
	int crit = -1;

	akid = X509_CRL_get_ext_d2i(crl, NID_authority_key_identifier, &crit,
	    NULL);
	if (akid == NULL && crit != -1) {
		ERR_clear_error();
		return ("bad authorityKeyIdentifier");
	}
	if (akid != NULL)
		akid_os = akid->keyid;
	for (size_t i = 0; i < ca_store_count(cas); i++) {
		X509 *ca = ca_store_cert(cas, i);
		const ASN1_OCTET_STRING *skid;
		EVP_PKEY *k;

		if (X509_NAME_cmp(in, X509_get_subject_name(ca)) != 0)
			continue;
		stage = stage > 1 ? stage : 1;
		skid = X509_get0_subject_key_id(ca);
		if (akid_os != NULL && skid != NULL &&
		    ASN1_OCTET_STRING_cmp(akid_os, skid) != 0)
			continue;
		stage = stage > 2 ? stage : 2;
		if ((X509_get_key_usage(ca) & KU_CRL_SIGN) == 0)
			continue;
		stage = 3;
		if ((k = X509_get0_pubkey(ca)) == NULL ||
		    X509_CRL_verify(crl, k) != 1)
			continue;
		pc->signer = ca;
		pc->sha256 = ca_store_sha256(cas, i);
		break;
	}
	AUTHORITY_KEYID_free(akid);
	ERR_clear_error();
	if (pc->signer != NULL)
		return (NULL);
	return (why[stage]);
}

static int
cmp_sha(const void *a, const void *b)
{
	return (memcmp(a, b, 32));
}

/* Serial order within a group (see cert_serial_key()). */
static int
cmp_serial(bool na, const uint8_t *pa, size_t la, bool nb,
    const uint8_t *pb, size_t lb)
{
	if (na != nb)
		return (na ? -1 : 1);
	if (la != lb)
		return (la < lb ? -1 : 1);
	return (la == 0 ? 0 : memcmp(pa, pb, la));
}

static int
cmp_ent(const void *a, const void *b)
{
	const struct crl_ent *x = a, *y = b;

	/* By group (the slices of crlset_check()), then by serial. */
	if (x->group != y->group)
		return (x->group < y->group ? -1 : 1);
	return (cmp_serial(x->neg, x->p, x->len, y->neg, y->p, y->len));
}

static void
set_free(struct crlset *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->ncrls; i++) {
		free(s->crls[i].name);
		free(s->crls[i].issuer);
	}
	free(s->crls);
	free(s->groups);
	free(s->ents);
	free(s->blob);
	free(s);
}

/* Index the checked CRLs ${pc} into ${s}. */
static int
index_set(struct crlset *s, struct pending *pc, size_t npc, size_t nents,
    size_t nbytes)
{
	uint8_t (*shas)[32];
	size_t nsha = 0, e = 0, off = 0;

	if ((shas = calloc(npc ? npc : 1, 32)) == NULL)
		return (-1);
	for (size_t i = 0; i < npc; i++)
		memcpy(shas[i], pc[i].sha256, 32);
	qsort(shas, npc, 32, cmp_sha);
	for (size_t i = 0; i < npc; i++)
		if (nsha == 0 || memcmp(shas[nsha - 1], shas[i], 32) != 0)
			memmove(shas[nsha++], shas[i], 32);
	s->groups = calloc(nsha ? nsha : 1, sizeof(*s->groups));
	s->ents = calloc(nents ? nents : 1, sizeof(*s->ents));
	s->blob = malloc(nbytes ? nbytes : 1);
	if (s->groups == NULL || s->ents == NULL || s->blob == NULL) {
		free(shas);
		return (-1);
	}
	s->ngroups = nsha;
	for (size_t g = 0; g < nsha; g++)
		memcpy(s->groups[g].sha256, shas[g], 32);
	free(shas);

	for (size_t i = 0; i < npc; i++) {
		const struct crl_one *one = &s->crls[i];
		STACK_OF(X509_REVOKED) *revs = X509_CRL_get_REVOKED(pc[i].crl);
		struct crl_group *g = bsearch(pc[i].sha256, s->groups,
		    s->ngroups, sizeof(*s->groups), cmp_sha);

		SPOA_ASSERT(g != NULL);
		pc[i].group = (uint32_t)(g - s->groups);
		if (one->has_next && (!g->has_next ||
		    one->next_update < g->next_update)) {
			g->has_next = true;
			g->next_update = one->next_update;
		}
		for (int j = 0; j < sk_X509_REVOKED_num(revs); j++) {
			const X509_REVOKED *r = sk_X509_REVOKED_value(revs, j);
			struct crl_ent *ent = &s->ents[e++];
			const uint8_t *p;
			size_t len;
			bool neg;

			(void)cert_serial_key(X509_REVOKED_get0_serialNumber(r), &p,
			    &len, &neg);
			if (len > 0)
				memcpy(s->blob + off, p, len);
			ent->p = s->blob + off;
			ent->len = (uint8_t)len;
			ent->neg = neg;
			ent->group = pc[i].group;
			off += len;
		}
	}
	SPOA_ASSERT(e == nents && off == nbytes);
	s->nents = nents;
	qsort(s->ents, nents, sizeof(*s->ents), cmp_ent);
	for (size_t i = 0, g = 0; g < s->ngroups; g++) {
		s->groups[g].ents = &s->ents[i];
		while (i < nents && s->ents[i].group == g)
			i++;
		s->groups[g].nents = (size_t)(&s->ents[i] - s->groups[g].ents);
	}
	return (0);
}

int
crlset_build(const struct crl_doc *docs, size_t n,
    const struct ca_store *cas, int64_t now, struct crlset **out, char *err,
    size_t errlen)
{
	struct pending *pc = NULL;
	size_t npc = 0, cap = 0, nents = 0, nbytes = 0;
	struct crlset *s = NULL;
	int ret = -1;

	*out = NULL;
	if (cas == NULL) {
		cert_set_err(err, errlen, "CRLs need client_ca_file");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (parse_doc(&docs[i], i, &pc, &npc, &cap, err, errlen) != 0)
			goto out;
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->crls = calloc(npc ? npc : 1, sizeof(*s->crls))) == NULL) {
		cert_set_err(err, errlen, "out of memory");
		goto out;
	}
	atomic_init(&s->refs, 1);
	for (size_t i = 0; i < npc; i++) {
		const struct crl_doc *d = &docs[pc[i].doc];
		struct crl_one *one = &s->crls[i];
		size_t before = nents;
		const char *w;

		if ((w = check_structure(pc[i].crl, now, &nents, &nbytes)) ==
		    NULL)
			w = find_signer(pc[i].crl, cas, &pc[i]);
		if (w == NULL && nents > CRL_ENTRIES_MAX)
			w = "too many revoked serials in all CRLs";
		if (w != NULL) {
			cert_set_err(err, errlen, "%s: CRL %zu: %s", doc_name(d),
			    i + 1, w);
			goto out;
		}
		s->ncrls++;
		one->entries = nents - before;
		memcpy(one->sha256, pc[i].sha256, 32);
		(void)cert_x509_time(X509_CRL_get0_lastUpdate(pc[i].crl),
		    &one->this_update);
		if (X509_CRL_get0_nextUpdate(pc[i].crl) != NULL) {
			one->has_next = true;
			(void)cert_x509_time(
			    X509_CRL_get0_nextUpdate(pc[i].crl),
			    &one->next_update);
		}
		if ((one->name = strdup(doc_name(d))) == NULL ||
		    cert_dn_x509_text(X509_CRL_get_issuer(pc[i].crl),
		    &one->issuer) != 0) {
			cert_set_err(err, errlen, "%s: CRL %zu: issuer name too large",
			    doc_name(d), i + 1);
			goto out;
		}
	}
	if (index_set(s, pc, npc, nents, nbytes) != 0) {
		cert_set_err(err, errlen, "out of memory");
		goto out;
	}
	*out = s;
	s = NULL;
	ret = 0;
out:
	for (size_t i = 0; i < npc; i++)
		X509_CRL_free(pc[i].crl);
	free(pc);
	set_free(s);
	ERR_clear_error();
	return (ret);
}

enum crl_status
crlset_check(const struct crlset *s, const struct cert_info *ci, int64_t now)
{
	const struct crl_group *g;
	size_t lo, hi;

	if (s == NULL || ci == NULL || !ci->has_issuer_sha256)
		return (CRL_NO_CRL);
	g = bsearch(ci->issuer_sha256, s->groups, s->ngroups,
	    sizeof(*s->groups), cmp_sha);
	if (g == NULL)
		return (CRL_NO_CRL);
	lo = 0;
	hi = g->nents;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct crl_ent *e = &g->ents[mid];
		int c = cmp_serial(e->neg, e->p, e->len, ci->serial_neg,
		    ci->serial_bytes, ci->serial_len);

		if (c == 0)
			return (CRL_REVOKED);
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (g->has_next && now > g->next_update)
		return (CRL_STALE);
	return (CRL_GOOD);
}

const char *
crlset_status_name(enum crl_status st)
{
	switch (st) {
	case CRL_GOOD:
		return ("good");
	case CRL_REVOKED:
		return ("revoked");
	case CRL_STALE:
		return ("stale");
	case CRL_NO_CRL:
		return ("no_crl");
	}
	return ("unknown");
}

size_t
crlset_count(const struct crlset *s)
{
	return (s == NULL ? 0 : s->ncrls);
}

size_t
crlset_entries(const struct crlset *s)
{
	return (s == NULL ? 0 : s->nents);
}

int
crlset_info(const struct crlset *s, size_t i, struct crl_info *out)
{
	const struct crl_one *one;

	if (s == NULL || i >= s->ncrls)
		return (-1);
	one = &s->crls[i];
	out->name = one->name;
	out->issuer = one->issuer;
	memcpy(out->issuer_sha256, one->sha256, 32);
	out->this_update = one->this_update;
	out->has_next_update = one->has_next;
	out->next_update = one->next_update;
	out->entries = one->entries;
	return (0);
}

struct crlset *
crlset_ref(struct crlset *s)
{
	atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
	return (s);
}

void
crlset_unref(struct crlset *s)
{
	if (s == NULL)
		return;
	if (atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
		return;
	set_free(s);
}
