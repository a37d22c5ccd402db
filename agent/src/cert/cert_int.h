/*
 * cert_int.h: the types and helpers the files of cert/ share (cert.c,
 * cert_dn.c, cert_rule.c, ca_store.c, crl.c).  Private to the folder.
 */
#ifndef SPOA_CERT_INT_H
#define SPOA_CERT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <stdatomic.h>

#include <openssl/x509.h>

#include "cert.h"

/* A DN in comparable form (canonical values, DER order). */
struct cert_dn_ent {
	int nid;                /* NID_undef if OpenSSL does not know it */
	char *oid;              /* dotted OID, only when nid is NID_undef */
	int set;                /* RDN index, DER order */
	uint8_t *canon;         /* NULL: not a string type, never matches */
	size_t canon_len;
};

struct cert_dn {
	struct cert_dn_ent *e;  /* DER order, so sets are non-decreasing */
	size_t n;
	int nrdn;
};

/* The object behind a struct cert_info: the public part, its reference
 * count and the two DNs in comparable form. */
struct cert_obj {
	struct cert_info pub;   /* first: a cert_info pointer converts back */
	atomic_uint refs;
	struct cert_dn sdn, idn;
};

struct ca_ent {
	X509 *x;
	uint8_t sha256[32];
};

struct ca_store {
	struct ca_ent *v;
	size_t n;
	uint64_t gen;
};

/* ${n} bytes of ${in} as lowercase hex, NUL-terminated, into ${out}. */
void cert_hex_encode(const uint8_t *in, size_t n, char *out);

/*
 * cert_dn_canon(in, len, out):
 * The canonical form of a DN value (OpenSSL's asn1_string_canon): trim
 * whitespace, collapse inner runs to one space, lowercase ASCII.  ${out}
 * holds ${len} bytes; return the length written.
 */
size_t cert_dn_canon(const uint8_t *in, size_t len, uint8_t *out);

/*
 * cert_ossl_nomem():
 * Whether OpenSSL's error queue holds an allocation failure (its own
 * ERR_R_MALLOC_FAILURE, or ENOMEM); empties the queue.  Called after an
 * OpenSSL call failed, to tell "out of memory" from "bad certificate".
 */
bool cert_ossl_nomem(void);

/*
 * cert_dn_build(name, dn, nomem):
 * ${name} in comparable form into ${dn} (released with cert_dn_clear()).
 * Return 0, or -1 with *${nomem} set if memory ran out.
 */
int cert_dn_build(const X509_NAME *name, struct cert_dn *dn, bool *nomem);

/* cert_dn_clear(dn): release what cert_dn_build() allocated. */
void cert_dn_clear(struct cert_dn *dn);

/*
 * cert_dn_x509_text_ex(name, out, nomem):
 * cert_dn_x509_text(), and *${nomem} set if it failed for lack of memory.
 */
int cert_dn_x509_text_ex(const X509_NAME *name, char **out, bool *nomem);

/*
 * ca_store_cert(cas, i):
 * The ${i}-th CA certificate of ${cas}, borrowed for the life of ${cas}.
 * Its extensions are already cached, its names already canonicalised, so
 * read-only calls (X509_NAME_cmp, X509_check_issued, X509_get0_pubkey,
 * X509_CRL_verify with its key) are safe from several threads.  NULL if
 * ${i} is out of range.
 */
X509 *ca_store_cert(const struct ca_store *cas, size_t i);

/*
 * cert_x509_time(t, out):
 * ${t} as epoch seconds in *${out}.  Return 0, or -1 if ${t} is not a valid
 * UTCTime/GeneralizedTime.
 */
int cert_x509_time(const ASN1_TIME *t, int64_t *out);

/*
 * cert_dn_x509_text(name, out):
 * ${name} in the RFC 2253 form of cert.h (UTF-8, at most CERT_DN_TEXT_MAX
 * bytes) as a new NUL-terminated string in *${out} (caller frees).
 * Return 0, or -1 (too long, or allocation failure).
 */
int cert_dn_x509_text(const X509_NAME *name, char **out);

/*
 * cert_serial_key(sn, p, len, neg):
 * The key a serial number is compared by, for certificates and CRL entries
 * alike: its magnitude without leading zero bytes (*${p}, *${len}; 0 bytes
 * for zero) and its sign (*${neg}).  Return 0, or -1 if longer than
 * CERT_SERIAL_MAX bytes.
 */
int cert_serial_key(const ASN1_INTEGER *sn, const uint8_t **p, size_t *len,
    bool *neg);

/* cert_set_err(err, errlen, fmt, ...): format into ${err} if not NULL. */
void cert_set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* cert_no_passphrase(): PEM callback that never prompts for a pass phrase. */
int cert_no_passphrase(char *buf, int size, int rwflag, void *u);

#endif /* !SPOA_CERT_INT_H */
