/* TEMPORARY: replaced by the crypto branch at merge. */
#ifndef SPOA_JWKS_H
#define SPOA_JWKS_H
struct keyset;
struct keyset *keyset_ref(struct keyset *k);
void keyset_unref(struct keyset *k);
#endif
