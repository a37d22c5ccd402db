/*
 * cert_int.h: helpers that cert.c shares with crl.c, the only other file
 * that may include OpenSSL headers.  Not for other modules.
 */
#ifndef SPOA_CERT_INT_H
#define SPOA_CERT_INT_H

#include <stdbool.h>
#include <stddef.h>
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
