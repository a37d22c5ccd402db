/*
 * crl.h: certificate revocation lists, as an immutable, reference-counted
 * set looked up by (issuing CA, serial).  Built by the fetcher or at load
 * time from crl_files / crl_urls documents; published inside a snapshot.
 *
 * Scope.  Each CRL must be signed by a CA of the client_ca_file store (the
 * CA whose subject equals the CRL issuer, whose subject key id equals the
 * CRL's authority key id when both exist, with keyUsage cRLSign if it has
 * keyUsage, and whose key verifies the CRL signature).  The CRL then covers
 * every certificate whose issuing CA (found the same way by cert_analyze())
 * is that very CA certificate: entries are keyed by the CA's SHA-256
 * thumbprint, not by its name.  Full CRLs only: delta CRLs, indirect CRLs,
 * and CRLs restricted to CA certificates, attribute certificates or some
 * reasons are refused, as is any unknown critical extension.  A CRL with a
 * distribution point name is taken to cover the whole issuer.  Several
 * CRLs of one CA are merged: a serial listed in any of them is revoked,
 * and the set is stale as soon as one of them is.
 *
 * Policy for the caller (decide.c):
 *  - no CRLs configured (crl_files and crl_urls empty): no check at all;
 *  - CRLs configured but no set built yet: not ready (fail closed);
 *  - CRL_REVOKED: deny, cert_revoked;
 *  - CRL_STALE: crl_stale "deny" (the default) denies, because the
 *    revocation status is unknown (APIM validate-revocation fails when the
 *    CRL cannot be obtained); "allow" lets it pass.  A serial listed in a
 *    stale CRL is still CRL_REVOKED;
 *  - CRL_NO_CRL (the issuing CA has no CRL in the set, or is not in
 *    client_ca_file): deny.  Once an operator turns revocation on, a
 *    certificate whose revocation cannot be checked must not pass; a
 *    forgotten CRL then shows up at once instead of silently disabling the
 *    check for one CA.
 * Suggested reason code for STALE and NO_CRL denials: cert_invalid (the
 * certificate is not revoked as far as we know; its status is unknown),
 * with the cause in the log.
 */
#ifndef SPOA_CRL_H
#define SPOA_CRL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ca_store;
struct cert_info;
struct crlset;

#define CRL_DOC_MAX             (64u << 20)     /* bytes of one document */
#define CRL_ENTRIES_MAX         4000000         /* revoked serials per set */
#define CRL_FUTURE_SKEW_S       86400           /* thisUpdate ahead of now */

/* One CRL document: PEM (one or more X509 CRL blocks) or one DER CRL. */
struct crl_doc {
	const char *name;       /* for messages and crlset_info(): file or URL */
	const uint8_t *buf;
	size_t len;
};

enum crl_status {
	CRL_GOOD = 0,           /* covered by a current CRL, not listed */
	CRL_REVOKED,            /* listed (even in a stale CRL) */
	CRL_STALE,              /* not listed, but a CRL of its CA is past nextUpdate */
	CRL_NO_CRL,             /* no CRL for its issuing CA */
};

/* Per-CRL facts (tests and fuzz_crl's oracle; no endpoint shows them yet);
 * strings owned by the set. */
struct crl_info {
	const char *name;       /* the document's name */
	const char *issuer;     /* RFC 2253, as cert_info.issuer */
	uint8_t issuer_sha256[32];      /* the signing CA's thumbprint */
	int64_t this_update;
	bool has_next_update;
	int64_t next_update;
	size_t entries;
};

/*
 * crlset_build(docs, n, cas, now, out, err, errlen):
 * Parse the ${n} documents ${docs} (each at most CRL_DOC_MAX bytes; a DER
 * document is exactly one CRL, no trailing bytes; a PEM document holds one
 * or more "X509 CRL" blocks), check each CRL as described above against
 * ${cas} (required), refuse a CRL whose thisUpdate is more than
 * CRL_FUTURE_SKEW_S after ${now}, and index their revoked serials.
 * On success return 0 and a new set with one reference in *${out} (${n}
 * may be 0: an empty set).  On any error return -1, leave *${out} NULL and
 * write a message naming the document in ${err}: one bad CRL fails the
 * whole build, so the caller keeps its previous set (and can validate one
 * new document alone by building it with n = 1).
 */
int crlset_build(const struct crl_doc *docs, size_t n,
    const struct ca_store *cas, int64_t now, struct crlset **out, char *err,
    size_t errlen);

/*
 * crlset_check(s, ci, now):
 * The revocation status of ${ci} at ${now}: CRL_REVOKED if its serial is
 * listed by a CRL of its issuing CA, else CRL_STALE if one of those CRLs is
 * past its nextUpdate (a CRL without nextUpdate never goes stale), else
 * CRL_GOOD; CRL_NO_CRL if ${s} is NULL, ${ci} has no issuing CA from the
 * store, or that CA has no CRL in ${s}.  O(log n).  ${ci} must have been
 * analysed with the store the set was built with (or one holding the same
 * CA certificates).
 */
enum crl_status crlset_check(const struct crlset *s,
    const struct cert_info *ci, int64_t now);

/* crlset_status_name(st): "good", "revoked", "stale" or "no_crl". */
const char *crlset_status_name(enum crl_status st);

/* crlset_count(s): number of CRLs in ${s} (0 for NULL). */
size_t crlset_count(const struct crlset *s);

/* crlset_entries(s): number of revoked serials indexed (0 for NULL). */
size_t crlset_entries(const struct crlset *s);

/*
 * crlset_info(s, i, out):
 * Facts about the ${i}-th CRL (document order, then order inside a PEM
 * document) into *${out}; its strings live as long as ${s}.  Return 0, or
 * -1 if ${i} is out of range.
 */
int crlset_info(const struct crlset *s, size_t i, struct crl_info *out);

/* crlset_ref(s): take one more reference (atomic); return ${s}. */
struct crlset *crlset_ref(struct crlset *s);

/* crlset_unref(s): drop one reference; the last frees.  NULL is a no-op. */
void crlset_unref(struct crlset *s);

/*
 * The bytes of the crl_files of one config file, read once (at load) and
 * used for every set built with them: the crl_files set itself, and the
 * crl_urls set, which holds them too.
 *
 * crl_files_read(paths, n, out, err, errlen):
 * Read the ${n} files ${paths} (each at most CRL_DOC_MAX bytes; the paths
 * are kept by reference and must outlive the result) into *${out}.  Return
 * 0, or -1 with a message naming the file in ${err} (*${out} NULL).
 *
 * crl_files_docs(cf, n): the documents (*${n} of them) of ${cf}, for
 * crlset_build(); NULL with *${n} 0 for a NULL ${cf}.
 *
 * crl_files_free(cf): release ${cf}; NULL is a no-op.
 */
struct crl_files;
int crl_files_read(char *const *paths, size_t n, struct crl_files **out,
    char *err, size_t errlen);
const struct crl_doc *crl_files_docs(const struct crl_files *cf, size_t *n);
void crl_files_free(struct crl_files *cf);

#endif /* !SPOA_CRL_H */
