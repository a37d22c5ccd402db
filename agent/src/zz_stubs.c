/* TEMPORARY link stubs until the crl module is merged. */
#include <stddef.h>
#include "crl.h"
struct crlset *crlset_ref(struct crlset *s) { return (s); }
void crlset_unref(struct crlset *s) { (void)s; }
