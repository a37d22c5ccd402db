/*
 * fuzz_jwks.c: jwks_parse() on arbitrary bytes.  On success the set must
 * hold at least one key, each with a usable algorithm set, a crypto key,
 * the fingerprint of that key, and a kid (if any) within bounds and
 * findable; the report must be consistent.  On failure the output pointer
 * must be untouched and a reason given.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "jwks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct keyset *sentinel = (struct keyset *)(uintptr_t)0x10;
	struct keyset *ks = sentinel;
	struct jwks_report rep;
	uint8_t fp[32];
	size_t i;

	if (jwks_parse((const char *)data, size, &ks, &rep) != 0) {
		if (ks != sentinel || rep.error == NULL)
			abort();
		return (0);
	}
	if (ks == NULL || ks == sentinel || keyset_count(ks) < 1 ||
	    keyset_count(ks) > JWKS_MAX_KEYS || rep.error != NULL ||
	    rep.n_kept != keyset_count(ks) || rep.n_kept + rep.n_skipped != rep.n_in)
		abort();
	for (i = 0; i < keyset_count(ks); i++) {
		const struct jwk *k = keyset_key(ks, i);

		if (k->key == NULL || k->algs == 0 ||
		    (k->algs & ~crypto_key_algs(k->key)) != 0 ||
		    (k->algs & JWS_ALG_HMAC_MASK) != 0)
			abort();
		crypto_key_fingerprint(k->key, fp);
		if (memcmp(fp, k->fp, sizeof(fp)) != 0)
			abort();
		if (k->kid != NULL) {
			if (k->kid_len == 0 || k->kid_len > JWKS_KID_MAX ||
			    strlen(k->kid) != k->kid_len)
				abort();
			/* Kids are unique after parsing. */
			if (keyset_find(ks, k->kid, k->kid_len) != k)
				abort();
		}
	}
	keyset_unref(ks);
	return (0);
}
