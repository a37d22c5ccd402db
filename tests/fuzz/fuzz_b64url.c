/*
 * fuzz_b64url.c: strict base64url.  Invariants: a decode that succeeds
 * re-encodes to exactly the input (one accepted encoding per byte string);
 * any bytes encode and decode back to themselves.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "b64url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t dcap = b64url_decoded_len(size), ecap;
	uint8_t *dec = malloc(dcap ? dcap : 1);
	char *enc;
	ssize_t n;

	if (dec == NULL)
		return (0);
	n = b64url_decode((const char *)data, size, dec, dcap);
	if (n >= 0) {
		if ((size_t)n != dcap)
			abort();
		ecap = b64url_encoded_len((size_t)n) + 1;
		if ((enc = malloc(ecap)) == NULL)
			abort();
		if (b64url_encode(dec, (size_t)n, enc, ecap) != size ||
		    memcmp(enc, data, size) != 0)
			abort();
		free(enc);
		/* One byte short of room must fail, not overflow. */
		if (n > 0 && b64url_decode((const char *)data, size, dec,
		    (size_t)n - 1) != -1)
			abort();
	}
	free(dec);

	/* Bytes -> text -> bytes. */
	ecap = b64url_encoded_len(size) + 1;
	enc = malloc(ecap);
	dec = malloc(size ? size : 1);
	if (enc == NULL || dec == NULL)
		abort();
	if (b64url_encode(data, size, enc, ecap) != ecap - 1)
		abort();
	if (b64url_decode(enc, ecap - 1, dec, size) != (ssize_t)size ||
	    memcmp(dec, data, size) != 0)
		abort();
	free(enc);
	free(dec);
	return (0);
}
