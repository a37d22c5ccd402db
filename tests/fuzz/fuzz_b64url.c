/*
 * fuzz_b64url.c: strict base64url.  Invariants: a decode that succeeds
 * re-encodes to exactly the input (one accepted encoding per byte string);
 * any bytes encode and decode back to themselves; the table-driven
 * decoder agrees with a plain one, character by character, on every input
 * (accept or refuse, and the bytes).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "b64url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One character at a time, the rules of b64url.h spelled out. */
static ssize_t
ref_decode(const uint8_t *in, size_t len, uint8_t *out)
{
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t n = 0;
	int v;

	if (len % 4 == 1)
		return (-1);
	for (size_t i = 0; i < len; i++) {
		uint8_t c = in[i];

		if (c >= 'A' && c <= 'Z')
			v = c - 'A';
		else if (c >= 'a' && c <= 'z')
			v = c - 'a' + 26;
		else if (c >= '0' && c <= '9')
			v = c - '0' + 52;
		else if (c == '-')
			v = 62;
		else if (c == '_')
			v = 63;
		else
			return (-1);
		acc = (acc << 6 | (uint32_t)v) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (uint8_t)(acc >> bits);
		}
	}
	/* The bits left over must be zero. */
	if ((acc & ((1u << bits) - 1)) != 0)
		return (-1);
	return ((ssize_t)n);
}

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
	{
		uint8_t *rd = malloc(dcap ? dcap : 1);
		ssize_t rn;

		if (rd == NULL)
			abort();
		rn = ref_decode(data, size, rd);
		if (rn != n || (n > 0 && memcmp(rd, dec, (size_t)n) != 0))
			abort();
		free(rd);
	}
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
