/*
 * fuzz_tokenresp.c: token endpoint responses on arbitrary bytes.
 * Invariants: success gives a visible-ASCII token of the stated length and
 * a lifetime within (0, TOKENRESP_MAX_TTL]; failure gives a message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tokenresp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *tok = NULL, err[128] = "";
	size_t tlen = 0;
	int64_t exp = 0, now = 1700000000;

	if (tokenresp_parse((const char *)data, size, now, &tok, &tlen, &exp,
	    err, sizeof(err)) != 0) {
		if (tok != NULL || err[0] == '\0')
			abort();
		return (0);
	}
	if (tok == NULL || tlen == 0 || tlen > TOKENRESP_TOKEN_MAX ||
	    strlen(tok) != tlen || exp <= now || exp > now + TOKENRESP_MAX_TTL)
		abort();
	for (size_t i = 0; i < tlen; i++)
		if ((unsigned char)tok[i] <= 0x20 || (unsigned char)tok[i] >= 0x7f)
			abort();
	free(tok);
	return (0);
}
