/* TEMPORARY link stubs until the jwks and crl modules are merged. */
#include <stddef.h>
#include "crl.h"
struct keyset;
struct keyset *keyset_ref(struct keyset *k);
void keyset_unref(struct keyset *k);
struct keyset *keyset_ref(struct keyset *k) { return (k); }
void keyset_unref(struct keyset *k) { (void)k; }
struct crlset *crlset_ref(struct crlset *s) { return (s); }
void crlset_unref(struct crlset *s) { (void)s; }
