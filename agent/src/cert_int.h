/*
 * cert_int.h: helpers that cert.c shares with crl.c, the only other file
 * that may include OpenSSL headers.  Not for other modules.
 */
#ifndef SPOA_CERT_INT_H
#define SPOA_CERT_INT_H

#include <stdint.h>

#include <openssl/x509.h>

struct ca_store;

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
 * cert_x509_name_text(name, out):
 * ${name} in the RFC 2253 form of cert.h (UTF-8, at most CERT_DN_TEXT_MAX
 * bytes) as a new NUL-terminated string in *${out} (caller frees).
 * Return 0, or -1 (too long, or allocation failure).
 */
int cert_x509_name_text(const X509_NAME *name, char **out);

#endif /* !SPOA_CERT_INT_H */
