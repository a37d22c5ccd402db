/*
 * jwa.c: see jwa.h.
 */
#include <string.h>

#include "jwa.h"

static const char *const jwa_names[JWS_ALG_COUNT] = {
	"RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
	"ES256", "ES384", "ES512", "EdDSA", "HS256", "HS384", "HS512",
};

int
jwa_parse(const char *s, size_t len)
{
	for (int i = 0; i < JWS_ALG_COUNT; i++)
		if (strlen(jwa_names[i]) == len && memcmp(jwa_names[i], s, len) == 0)
			return (i);
	return (-1);
}

const char *
jwa_name(enum jws_alg a)
{
	if ((unsigned)a >= JWS_ALG_COUNT)
		return ("?");
	return (jwa_names[a]);
}

size_t
jwa_hash_len(enum jws_alg a)
{
	switch (a) {
	case JWS_ALG_RS256: case JWS_ALG_PS256: case JWS_ALG_ES256:
	case JWS_ALG_HS256:
		return (32);
	case JWS_ALG_RS384: case JWS_ALG_PS384: case JWS_ALG_ES384:
	case JWS_ALG_HS384:
		return (48);
	default:
		return (64);
	}
}
