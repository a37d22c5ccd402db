/*
 * cert.h: client certificate analysis, identity rules (APIM
 * validate-client-certificate parity) and RFC 8705 certificate-bound
 * tokens.
 *
 * HAProxy terminates TLS and sends the leaf certificate as DER; the agent
 * never builds chains itself.  cert_analyze() turns those bytes into a
 * struct cert_info: plain C data, no OpenSSL objects, immutable once
 * returned, reference-counted (atomically, so a reference may cross threads,
 * though each worker normally keeps its own through certcache.h).
 *
 * A struct ca_store is the client_ca_file: immutable once loaded, shared by
 * every thread.  It is used only to name the issuing CA of a leaf (for
 * issuer_thumbprints_sha256 rules and for CRL lookups); trust is HAProxy's
 * cert_verify result, not ours.
 */
#ifndef SPOA_CERT_H
#define SPOA_CERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cert_rule;

/* Bounds: a certificate that exceeds one is refused by cert_analyze(). */
#define CERT_DER_MAX            65536   /* bytes of DER */
#define CERT_SAN_MAX            64      /* names of each SAN kind */
#define CERT_NAME_MAX           1024    /* bytes of one SAN or of the CN */
#define CERT_DN_TEXT_MAX        4096    /* bytes of a DN in RFC 2253 form */
#define CERT_DN_ENTRIES_MAX     64      /* attributes in one DN */
#define CERT_SERIAL_MAX         64      /* bytes of serial number */

struct cert_dn;                 /* a DN in comparable form (private) */

struct cert_info {
	/* Digests of the exact DER bytes given to cert_analyze(). */
	uint8_t sha256[32];
	uint8_t sha1[20];
	char sha256_b64[44];    /* base64url, no padding: 43 chars (x5t#S256) */
	char sha256_hex[65];    /* lowercase hex */
	char sha1_hex[41];

	/*
	 * Subject and issuer DN, RFC 2253 order (most specific first), UTF-8,
	 * as OpenSSL prints them with XN_FLAG_RFC2253 minus
	 * ASN1_STRFLGS_ESC_MSB: attributes by short name, "," between RDNs,
	 * "+" inside one, no spaces added, and ,+"\<>; escaped with '\'.
	 * E.g. "CN=client-valid,OU=orders,O=spoa-iam tests".
	 */
	char *subject;
	char *issuer;
	char *cn;               /* first CN in DER order, UTF-8; NULL if none */

	/* Serial: lowercase hex, no separators, no leading zeros ("0" for
	 * zero), "-" first if negative (a negative serial never matches a
	 * configured one).  serial_bytes: the magnitude, no leading zeros. */
	char *serial;
	uint8_t serial_bytes[CERT_SERIAL_MAX];
	size_t serial_len;
	bool serial_neg;

	/* subjectAltName entries, as written in the certificate (no NUL nor
	 * other control character: such a certificate is refused). */
	char **dns;    size_t ndns;     /* dNSName */
	char **uris;   size_t nuris;    /* uniformResourceIdentifier (SPIFFE) */
	char **emails; size_t nemails;  /* rfc822Name */

	int64_t not_before, not_after;  /* epoch seconds */

	/* The CA of the ca_store that signed this certificate, if any. */
	bool has_issuer_sha256;
	uint8_t issuer_sha256[32];
	uint64_t ca_gen;        /* ca_store_gen() of the store used, or 0 */

	const struct cert_dn *subject_dn, *issuer_dn;   /* for rules */
};

/* ---- CA store (client_ca_file) ------------------------------------- */

struct ca_store;

/*
 * ca_store_load(path, err, errlen):
 * Read the PEM bundle at ${path} (at most 16 MiB, 4096 certificates; other
 * PEM blocks are skipped): one or more certificates, each of which must be
 * a CA as X509_check_ca() sees it (basicConstraints CA:TRUE, a self-signed
 * v1 root, or keyUsage keyCertSign); one leaf fails the whole bundle.  On
 * success return a new store (caller frees with ca_store_free()).  On
 * failure return NULL and a message naming the problem in ${err}.
 */
struct ca_store *ca_store_load(const char *path, char *err, size_t errlen);

/*
 * ca_store_load_mem(buf, len, err, errlen):
 * Like ca_store_load() for a PEM bundle in memory (${len} bytes).
 */
struct ca_store *ca_store_load_mem(const uint8_t *buf, size_t len, char *err,
    size_t errlen);

/*
 * ca_store_gen(cas):
 * A number unique to ${cas} among the stores of this process (never 0), so
 * caches can tell a reloaded store from the one they analysed with.  0 for
 * NULL.
 */
uint64_t ca_store_gen(const struct ca_store *cas);

/* ca_store_count(cas): number of CA certificates; 0 for NULL. */
size_t ca_store_count(const struct ca_store *cas);

/*
 * ca_store_sha256(cas, i): the SHA-256 thumbprint of the ${i}-th CA
 * certificate (in file order): the key CRLs are grouped by (crl.c), also
 * read by tests; NULL if ${i} is out of range.
 */
const uint8_t *ca_store_sha256(const struct ca_store *cas, size_t i);

/* ca_store_free(cas): release ${cas}; NULL is a no-op. */
void ca_store_free(struct ca_store *cas);

/* ---- analysis ------------------------------------------------------- */

/*
 * cert_analyze(der, len, cas, why):
 * Parse the leaf certificate in the ${len} bytes at ${der}: exactly one
 * DER-encoded X.509 certificate (at most CERT_DER_MAX bytes; trailing
 * bytes, PEM text and non-DER re-encodings are refused).  If ${cas} is not
 * NULL, look for the CA that signed it (issuer name equal, authority key id
 * equal to the CA's subject key id when both are present, and the
 * signature verifies with the CA's key) and record its thumbprint.
 * Return a new cert_info with one reference (release with
 * cert_info_unref()), or NULL with a constant reason in *${why} (if
 * ${why} is not NULL) for a certificate that cannot be analysed: bad
 * encoding, invalid extensions (OpenSSL's EXFLAG_INVALID: duplicate or
 * undecodable ones), a bound exceeded, a NUL or control character in a SAN
 * or the CN.
 */
const struct cert_info *cert_analyze(const uint8_t *der, size_t len,
    const struct ca_store *cas, const char **why);

/*
 * cert_analyze_ex(der, len, cas, why, temporary):
 * cert_analyze(), and on failure *${temporary} (if ${temporary} is not
 * NULL) tells a refusal of the certificate (false) from a failure that
 * says nothing about it (true: an allocation failed, here or inside
 * OpenSSL as its error queue reports it, or a digest could not be
 * computed; *${why} is then "out of memory" or "digest failed").  The same
 * bytes may well pass next time: a cache must not remember that failure.
 * *${temporary} is left alone on success.
 */
const struct cert_info *cert_analyze_ex(const uint8_t *der, size_t len,
    const struct ca_store *cas, const char **why, bool *temporary);

/* cert_info_ref(ci): take one more reference; return ${ci}. */
const struct cert_info *cert_info_ref(const struct cert_info *ci);

/* cert_info_unref(ci): drop one reference; the last frees.  NULL is a no-op. */
void cert_info_unref(const struct cert_info *ci);

/* ---- checks --------------------------------------------------------- */

/*
 * cert_rule_match(rule, ci, why):
 * Apply a route's client_cert ${rule} to ${ci}.  Every non-empty list of
 * ${rule} must contain the certificate's value:
 *  - thumbprints_sha256 / _sha1, issuer_thumbprints_sha256: raw bytes (the
 *    issuer thumbprint needs a ca_store in cert_analyze(), else it fails);
 *  - serials: the normalised hex of config.c against cert_info.serial;
 *  - common_names: byte-exact against the first CN;
 *  - dns_names: any dNSName SAN, ASCII case-insensitive, literal (a
 *    "*.x" SAN matches only the text "*.x");
 *  - uris, emails: any SAN of that kind, byte-exact;
 *  - subjects, issuers: compiled DNs, compared as cert_dn_rule_match()
 *    says.
 * If ${rule}'s identities list is non-empty, at least one identity must
 * have ALL of its given attributes matching (same comparisons).
 * ${rule}->check_validity is not applied here: see cert_validity().
 * Return 0 if the certificate passes, else -1 with a constant reason in
 * *${why} (if ${why} is not NULL).
 */
int cert_rule_match(const struct cert_rule *rule, const struct cert_info *ci,
    const char **why);

struct cert_dn_rule;            /* a compiled DN rule (private) */

/*
 * cert_dn_compile(text, out, why):
 * Compile a DN written by a user (${text}, RFC 4514/2253 order: most
 * specific RDN first) for cert_dn_rule_match().
 * ${text}: RDNs separated by ',' (or ';'), attributes of one RDN by '+',
 * each "type=value".  type: a usual name, case-insensitive (CN, O, OU, C,
 * L, ST or S, STREET, DC, UID (userId), E or emailAddress, serialNumber,
 * title, GN, SN (surname), and their long forms), else any other short or
 * long name OpenSSL knows (case-sensitive), or a dotted OID, optionally
 * prefixed "OID.".  value: '\' escapes one special character or two hex
 * digits; a value may be "quoted" (APIM style O="Contoso, Inc.").  Spaces
 * around separators and around '=' are ignored.  Refused: an empty text,
 * an attribute without '=', an unknown type, "#hex" (BER) values, an
 * unterminated quote, text after a closing quote, a bare '"', a trailing
 * '\', more than CERT_DN_ENTRIES_MAX attributes, values of more than
 * CERT_DN_TEXT_MAX bytes in all.
 * Types are resolved and values canonicalised here, once, so matching
 * parses nothing and allocates nothing.  On success store a new rule in
 * *${out} (free with cert_dn_rule_free()) and return 0.  On failure set
 * *${out} to NULL and return -1, with in *${why} (if ${why} is not NULL)
 * a constant reason if ${text} is not a DN, or NULL if memory ran out.
 */
int cert_dn_compile(const char *text, struct cert_dn_rule **out,
    const char **why);

/*
 * cert_dn_rule_match(rule, dn):
 * Compare a compiled ${rule} with ${dn} (cert_info.subject_dn or
 * issuer_dn).  The DNs match if they have the same RDNs in the same order,
 * each with the same attribute types (in any order inside one RDN), and
 * values equal after OpenSSL's canonical form (the one X509_NAME_cmp()
 * compares): UTF-8, leading and trailing whitespace removed, internal
 * whitespace runs collapsed to one space, ASCII letters lowercased.  So
 * "CN=a,O=b", "CN=a, O=b", "cn = A ,o=B" match the certificate DN
 * CN=a,O=b, but "O=b,CN=a" does not.  Return true if they match; false if
 * not, or if either is NULL.  Reads only; no allocation.
 */
bool cert_dn_rule_match(const struct cert_dn_rule *rule,
    const struct cert_dn *dn);

/* cert_dn_rule_free(rule): release ${rule}; NULL is a no-op. */
void cert_dn_rule_free(struct cert_dn_rule *rule);

/*
 * cert_validity(ci, now, skew_s):
 * Return 0 if ${now} lies within [not_before - ${skew_s},
 * not_after + ${skew_s}], else -1 (not yet valid or expired).
 */
int cert_validity(const struct cert_info *ci, int64_t now, uint32_t skew_s);

/*
 * cert_x5t_matches(sha256, x5t_s256, len):
 * 1 if the ${len} characters at ${x5t_s256} are exactly the canonical
 * base64url (43 characters, no padding) of the 32 bytes ${sha256}, compared
 * in constant time; else 0.  cert_binding_ok() for a bare thumbprint.
 */
int cert_x5t_matches(const uint8_t sha256[32], const char *x5t_s256,
    size_t len);

/*
 * cert_binding_ok(ci, x5t_s256, len):
 * RFC 8705 §3.1: ${x5t_s256} (${len} bytes, the token's cnf.x5t#S256) must
 * be exactly 43 canonical base64url characters (no padding, unused bits
 * zero) whose 32 decoded bytes equal the SHA-256 of the certificate
 * (compared with CRYPTO_memcmp).  Return 1 if the token is bound to this
 * certificate, 0 otherwise (including a NULL ${ci} or ${x5t_s256}).
 */
int cert_binding_ok(const struct cert_info *ci, const char *x5t_s256,
    size_t len);

#endif /* !SPOA_CERT_H */
