/* TEMPORARY link stubs until the jwks module is merged. */
#include <stddef.h>
struct keyset;
struct keyset *keyset_ref(struct keyset *k);
void keyset_unref(struct keyset *k);
struct keyset *keyset_ref(struct keyset *k) { return (k); }
void keyset_unref(struct keyset *k) { (void)k; }
