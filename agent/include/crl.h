/*
 * crl.h: certificate revocation lists, as an immutable, reference-counted
 * set looked up by (issuer, serial).  Built by the fetcher or at load time.
 */
#ifndef SPOA_CRL_H
#define SPOA_CRL_H

struct crlset;

struct crlset *crlset_ref(struct crlset *s);
/* crlset_unref(s): NULL is a no-op. */
void crlset_unref(struct crlset *s);

#endif /* !SPOA_CRL_H */
